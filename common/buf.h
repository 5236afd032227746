/*
 * A growable byte buffer with a hard limit: appending past the limit fails
 * instead of growing, so no peer can make us allocate without bound.
 */
#ifndef OCTO_BUF_H
#define OCTO_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
	uint8_t	*data;
	size_t	 len;	/* bytes used */
	size_t	 cap;	/* bytes allocated */
	size_t	 max;	/* hard limit on len */
};

void	buf_init(struct buf *, size_t max);
void	buf_free(struct buf *);		/* wipes then frees; safe twice */
void	buf_reset(struct buf *);	/* len = 0, keeps the allocation */
/* 0 on success, -1 if it would pass max or allocation failed. */
int	buf_append(struct buf *, const void *, size_t);
int	buf_reserve(struct buf *, size_t extra);
/* Remove n bytes from the front. */
void	buf_consume(struct buf *, size_t n);

#endif
