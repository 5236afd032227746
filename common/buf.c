/*
 * Growable byte buffer with a hard maximum.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		/* The buffer may have held keys or passwords. */
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
}

int
buf_reserve(struct buf *b, size_t extra)
{
	size_t	 need, ncap;
	uint8_t	*n;

	if (b->len > b->max || extra > b->max - b->len)
		return -1;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;
	/* Double, but never past max (no overflow: cap <= max). */
	ncap = b->cap < 256 ? 256 : b->cap;
	while (ncap < need) {
		if (ncap > b->max / 2) {
			ncap = b->max;
			break;
		}
		ncap *= 2;
	}
	if (ncap > b->max)
		ncap = b->max;
	if (ncap < need)
		return -1;
	/* Not realloc: the old block must be wiped before it is released. */
	if ((n = malloc(ncap == 0 ? 1 : ncap)) == NULL)
		return -1;
	if (b->data != NULL) {
		memcpy(n, b->data, b->len);
		OPENSSL_cleanse(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	if (n == 0)
		return 0;
	if (buf_reserve(b, n) == -1)
		return -1;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

void
buf_consume(struct buf *b, size_t n)
{
	if (n >= b->len) {
		b->len = 0;
		return;
	}
	memmove(b->data, b->data + n, b->len - n);
	b->len -= n;
}
