/*
 * Typed marshalling: big-endian integers, u32-length-prefixed strings.
 * Every read checks the remaining length first; errors are sticky.
 */
#include <string.h>

#include "pack.h"

void
pack_init(struct packer *pk, struct buf *b)
{
	pk->b = b;
	pk->err = 0;
}

static void
pack_raw(struct packer *pk, const void *p, size_t n)
{
	if (pk->err)
		return;
	if (buf_append(pk->b, p, n) == -1)
		pk->err = 1;
}

void
pack_u8(struct packer *pk, uint8_t v)
{
	pack_raw(pk, &v, 1);
}

void
pack_u32(struct packer *pk, uint32_t v)
{
	uint8_t	b[4];

	b[0] = v >> 24;
	b[1] = v >> 16;
	b[2] = v >> 8;
	b[3] = v;
	pack_raw(pk, b, sizeof(b));
}

void
pack_u64(struct packer *pk, uint64_t v)
{
	pack_u32(pk, (uint32_t)(v >> 32));
	pack_u32(pk, (uint32_t)v);
}

void
pack_bytes(struct packer *pk, const void *p, size_t n)
{
	if (pk->err)
		return;
	if (n > UINT32_MAX || (n > 0 && p == NULL)) {
		pk->err = 1;
		return;
	}
	/* Reserve the whole field so a failure leaves no half field. */
	if (buf_reserve(pk->b, 4 + n) == -1) {
		pk->err = 1;
		return;
	}
	pack_u32(pk, (uint32_t)n);
	pack_raw(pk, p, n);
}

void
pack_str(struct packer *pk, const char *s)
{
	if (s == NULL)
		s = "";
	pack_bytes(pk, s, strlen(s));
}

int
pack_error(const struct packer *pk)
{
	return pk->err ? -1 : 0;
}

void
unpack_init(struct unpacker *u, const void *p, size_t len)
{
	u->p = p;
	u->len = p == NULL ? 0 : len;
	u->off = 0;
	u->err = 0;
}

/* Point at the next n bytes and step over them, or fail. */
static const uint8_t *
unpack_take(struct unpacker *u, size_t n)
{
	const uint8_t	*p;

	if (u->err)
		return NULL;
	if (u->off > u->len || n > u->len - u->off) {
		u->err = 1;
		return NULL;
	}
	p = u->p + u->off;
	u->off += n;
	return p;
}

int
unpack_u8(struct unpacker *u, uint8_t *v)
{
	const uint8_t	*p;

	if ((p = unpack_take(u, 1)) == NULL)
		return -1;
	*v = p[0];
	return 0;
}

int
unpack_u32(struct unpacker *u, uint32_t *v)
{
	const uint8_t	*p;

	if ((p = unpack_take(u, 4)) == NULL)
		return -1;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
	return 0;
}

int
unpack_u64(struct unpacker *u, uint64_t *v)
{
	uint32_t	hi, lo;

	if (unpack_u32(u, &hi) == -1 || unpack_u32(u, &lo) == -1)
		return -1;
	*v = (uint64_t)hi << 32 | lo;
	return 0;
}

/* A length-prefixed field of at most max bytes, without copying. */
static const uint8_t *
unpack_field(struct unpacker *u, size_t *len, size_t max)
{
	const uint8_t	*p;
	uint32_t	 n;
	size_t		 save;

	if (u->err)
		return NULL;
	save = u->off;
	if (unpack_u32(u, &n) == -1)
		return NULL;
	if (n > max || (p = unpack_take(u, n)) == NULL) {
		u->off = save;
		u->err = 1;
		return NULL;
	}
	*len = n;
	return p;
}

int
unpack_str(struct unpacker *u, char *dst, size_t dstsz)
{
	const uint8_t	*p;
	size_t		 n;

	if (dstsz == 0) {
		u->err = 1;
		return -1;
	}
	dst[0] = '\0';
	if ((p = unpack_field(u, &n, dstsz - 1)) == NULL)
		return -1;
	if (memchr(p, '\0', n) != NULL) {
		u->err = 1;
		return -1;
	}
	memcpy(dst, p, n);
	dst[n] = '\0';
	return 0;
}

int
unpack_str_ref(struct unpacker *u, const char **out, size_t *outlen,
    size_t max)
{
	const uint8_t	*p;
	size_t		 n;

	if ((p = unpack_field(u, &n, max)) == NULL)
		return -1;
	/* A string never holds a NUL: it would cut it short later. */
	if (memchr(p, '\0', n) != NULL) {
		u->err = 1;
		return -1;
	}
	*out = (const char *)p;
	*outlen = n;
	return 0;
}

int
unpack_bytes_ref(struct unpacker *u, const uint8_t **out, size_t *outlen,
    size_t max)
{
	const uint8_t	*p;
	size_t		 n;

	if ((p = unpack_field(u, &n, max)) == NULL)
		return -1;
	*out = p;
	*outlen = n;
	return 0;
}

int
unpack_fixed(struct unpacker *u, void *dst, size_t n)
{
	const uint8_t	*p;
	size_t		 got;

	if ((p = unpack_field(u, &got, n)) == NULL)
		return -1;
	if (got != n) {
		u->err = 1;
		return -1;
	}
	if (n > 0)
		memcpy(dst, p, n);
	return 0;
}

int
unpack_end(struct unpacker *u)
{
	if (u->err || u->off != u->len)
		return -1;
	return 0;
}
