/*
 * The unpacker (pack.h) driven by a little program, so every unpack path
 * meets hostile lengths in any order.
 *
 * Input: n = byte 0, then n program bytes, then the data the program reads
 * (copied to a buffer of exactly its size, so any over-read trips ASan).
 * Each program byte is an operation (low 3 bits) and an argument (high 5
 * bits: the destination size or the maximum, from the tables of
 * fuzz_pack.h):
 *
 *	0 u8	1 u32	2 u64	3 str	4 str_ref	5 bytes_ref
 *	6 fixed	7 end
 *
 * Invariants: a read that succeeds consumes exactly its field, stays in
 * the input and respects its maximum; strings are NUL-terminated and hold
 * no NUL; a failure is sticky (every later read fails and moves nothing);
 * unpack_end says 0 exactly when nothing failed and all was read; and
 * packing again everything read gives back the bytes read.
 */
#include <string.h>

#include "fuzz.h"
#include "fuzz_pack.h"
#include "pack.h"

static uint32_t
be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* One operation; returns its result (0 or -1). */
static int
run_op(struct unpacker *u, uint8_t op, struct packer *pk)
{
	const uint8_t	*in = u->p, *bref;
	const char	*sref;
	size_t		 off0 = u->off, n, max, sz, outlen;
	int		 err0 = u->err, r = -1;
	uint8_t		 v8;
	uint32_t	 v32;
	uint64_t	 v64;
	char		*dst;
	uint8_t		*fixed;

	switch (op & 7) {
	case OP_U8:
		if ((r = unpack_u8(u, &v8)) == 0) {
			FUZZ_CHECK(u->off == off0 + 1 && v8 == in[off0]);
			pack_u8(pk, v8);
		}
		break;
	case OP_U32:
		if ((r = unpack_u32(u, &v32)) == 0) {
			FUZZ_CHECK(u->off == off0 + 4);
			FUZZ_CHECK(v32 == be32(in + off0));
			pack_u32(pk, v32);
		}
		break;
	case OP_U64:
		if ((r = unpack_u64(u, &v64)) == 0) {
			FUZZ_CHECK(u->off == off0 + 8);
			FUZZ_CHECK(v64 == ((uint64_t)be32(in + off0) << 32 |
			    be32(in + off0 + 4)));
			pack_u64(pk, v64);
		}
		break;
	case OP_STR:
		sz = PICK(str_sizes, op >> 3);
		/* Exactly sz bytes, full of junk: a write past the end or a
		 * missing NUL shows. */
		dst = malloc(sz ? sz : 1);
		FUZZ_CHECK(dst != NULL);
		memset(dst, 'J', sz ? sz : 1);
		r = unpack_str(u, dst, sz);
		if (sz > 0)
			FUZZ_CHECK(memchr(dst, '\0', sz) != NULL);
		if (r == 0) {
			n = strlen(dst);
			FUZZ_CHECK(n < sz);
			FUZZ_CHECK(u->off == off0 + 4 + n);
			FUZZ_CHECK(be32(in + off0) == n);
			FUZZ_CHECK(memcmp(dst, in + off0 + 4, n) == 0);
			pack_str(pk, dst);
		}
		free(dst);
		break;
	case OP_STR_REF:
		max = PICK(ref_maxes, op >> 3);
		if ((r = unpack_str_ref(u, &sref, &outlen, max)) == 0) {
			FUZZ_CHECK(outlen <= max);
			FUZZ_CHECK((const uint8_t *)sref == in + off0 + 4);
			FUZZ_CHECK(u->off == off0 + 4 + outlen);
			FUZZ_CHECK(be32(in + off0) == outlen);
			FUZZ_CHECK(memchr(sref, '\0', outlen) == NULL);
			pack_bytes(pk, sref, outlen);
		}
		break;
	case OP_BYTES_REF:
		max = PICK(ref_maxes, op >> 3);
		if ((r = unpack_bytes_ref(u, &bref, &outlen, max)) == 0) {
			FUZZ_CHECK(outlen <= max);
			FUZZ_CHECK(bref == in + off0 + 4);
			FUZZ_CHECK(u->off == off0 + 4 + outlen);
			FUZZ_CHECK(be32(in + off0) == outlen);
			pack_bytes(pk, bref, outlen);
		}
		break;
	case OP_FIXED:
		n = PICK(fixed_sizes, op >> 3);
		fixed = malloc(n ? n : 1);
		FUZZ_CHECK(fixed != NULL);
		if ((r = unpack_fixed(u, fixed, n)) == 0) {
			FUZZ_CHECK(u->off == off0 + 4 + n);
			FUZZ_CHECK(be32(in + off0) == n);
			FUZZ_CHECK(n == 0 ||
			    memcmp(fixed, in + off0 + 4, n) == 0);
			pack_bytes(pk, fixed, n);
		}
		free(fixed);
		break;
	case OP_END:
		r = unpack_end(u);
		FUZZ_CHECK((r == 0) == (!u->err && u->off == u->len));
		FUZZ_CHECK(u->off == off0 && u->err == err0);
		return r;
	}

	FUZZ_CHECK(r == 0 || r == -1);
	FUZZ_CHECK(u->off <= u->len);
	if (r == 0)
		FUZZ_CHECK(!err0 && !u->err);
	else
		FUZZ_CHECK(u->err);
	/* Sticky: once failed, nothing moves. */
	if (err0)
		FUZZ_CHECK(r == -1 && u->off == off0);
	return r;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct unpacker	 u;
	struct packer	 pk;
	struct buf	 again;
	const uint8_t	*prog;
	uint8_t		*input;
	size_t		 nprog, inlen, good = 0, i;

	if (size == 0)
		return 0;
	nprog = data[0];
	if (nprog > size - 1)
		nprog = size - 1;
	prog = data + 1;
	inlen = size - 1 - nprog;
	if ((input = malloc(inlen ? inlen : 1)) == NULL)
		return 0;
	if (inlen > 0)
		memcpy(input, prog + nprog, inlen);

	buf_init(&again, inlen + 64);
	pack_init(&pk, &again);
	unpack_init(&u, input, inlen);
	FUZZ_CHECK(u.off == 0 && u.len == inlen && !u.err);
	for (i = 0; i < nprog; i++)
		if (run_op(&u, prog[i], &pk) == 0 && (prog[i] & 7) != OP_END)
			good = u.off;

	/* Everything read, packed again, is the input read. */
	FUZZ_CHECK(pack_error(&pk) == 0);
	FUZZ_CHECK(again.len == good);
	FUZZ_CHECK(good == 0 || memcmp(again.data, input, good) == 0);

	buf_free(&again);
	free(input);
	return 0;
}
