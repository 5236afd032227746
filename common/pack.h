/*
 * Typed marshalling for the payloads of wire frames and IPC messages
 * (after OpenSMTPD's m_add_* / m_get_*). Integers are big-endian; strings
 * and byte strings are a u32 length then the bytes (strings carry no NUL
 * and must not contain one). Errors are sticky: check once at the end.
 */
#ifndef OCTO_PACK_H
#define OCTO_PACK_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

struct packer {
	struct buf	*b;
	int		 err;	/* nonzero once anything failed */
};

void	pack_init(struct packer *, struct buf *);
void	pack_u8(struct packer *, uint8_t);
void	pack_u32(struct packer *, uint32_t);
void	pack_u64(struct packer *, uint64_t);
void	pack_str(struct packer *, const char *);	/* NULL packs "" */
void	pack_bytes(struct packer *, const void *, size_t);
int	pack_error(const struct packer *);		/* 0 if all went in */

struct unpacker {
	const uint8_t	*p;
	size_t		 len;
	size_t		 off;
	int		 err;
};

void	unpack_init(struct unpacker *, const void *, size_t);
int	unpack_u8(struct unpacker *, uint8_t *);
int	unpack_u32(struct unpacker *, uint32_t *);
int	unpack_u64(struct unpacker *, uint64_t *);
/* Copy a string into dst (NUL-terminated). Fails if it does not fit in
 * dstsz-1 bytes, contains a NUL, or the input is short. */
int	unpack_str(struct unpacker *, char *dst, size_t dstsz);
/* Point into the input (no copy) at a string of at most max bytes;
 * for large fields such as script output. *out is NOT NUL-terminated. */
int	unpack_str_ref(struct unpacker *, const char **out, size_t *outlen,
	    size_t max);
/* Same for a byte string (pack_bytes): may contain NUL bytes. */
int	unpack_bytes_ref(struct unpacker *, const uint8_t **out,
	    size_t *outlen, size_t max);
/* A byte string (packed with pack_bytes) of exactly n bytes: fixed-size
 * fields such as nonces. Any other length is an error. */
int	unpack_fixed(struct unpacker *, void *dst, size_t n);
/* 0 if no error happened and every byte was consumed. */
int	unpack_end(struct unpacker *);

#endif
