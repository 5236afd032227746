#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pack.h"

static void
test_roundtrip(void **state)
{
	struct buf	 b;
	struct packer	 pk;
	struct unpacker	 u;
	uint8_t		 v8, fixed[4], nonce[4] = { 1, 2, 3, 4 };
	uint32_t	 v32;
	uint64_t	 v64;
	char		 s[16];
	const char	*ref;
	const uint8_t	*bref;
	size_t		 reflen;

	buf_init(&b, 1024);
	pack_init(&pk, &b);
	pack_u8(&pk, 0xab);
	pack_u32(&pk, 0xdeadbeef);
	pack_u64(&pk, 0x0102030405060708ULL);
	pack_str(&pk, "hello");
	pack_str(&pk, NULL);
	pack_bytes(&pk, nonce, sizeof(nonce));
	pack_str(&pk, "output");
	pack_bytes(&pk, "a\0b", 3);
	assert_int_equal(pack_error(&pk), 0);
	/* big-endian on the wire */
	assert_int_equal(b.data[1], 0xde);
	assert_int_equal(b.data[5], 0x01);

	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_u8(&u, &v8), 0);
	assert_int_equal(v8, 0xab);
	assert_int_equal(unpack_u32(&u, &v32), 0);
	assert_int_equal(v32, 0xdeadbeef);
	assert_int_equal(unpack_u64(&u, &v64), 0);
	assert_true(v64 == 0x0102030405060708ULL);
	assert_int_equal(unpack_str(&u, s, sizeof(s)), 0);
	assert_string_equal(s, "hello");
	assert_int_equal(unpack_str(&u, s, sizeof(s)), 0);
	assert_string_equal(s, "");
	assert_int_equal(unpack_fixed(&u, fixed, sizeof(fixed)), 0);
	assert_memory_equal(fixed, nonce, 4);
	assert_int_equal(unpack_str_ref(&u, &ref, &reflen, 100), 0);
	assert_int_equal(reflen, 6);
	assert_memory_equal(ref, "output", 6);
	assert_int_equal(unpack_bytes_ref(&u, &bref, &reflen, 3), 0);
	assert_int_equal(reflen, 3);
	assert_memory_equal(bref, "a\0b", 3);
	assert_int_equal(unpack_end(&u), 0);
	buf_free(&b);
}

static void
test_truncated(void **state)
{
	struct buf	 b;
	struct packer	 pk;
	struct unpacker	 u;
	uint32_t	 v32;
	uint64_t	 v64;
	char		 s[16];
	size_t		 cut;
	int		 r;

	buf_init(&b, 1024);
	pack_init(&pk, &b);
	pack_u32(&pk, 7);
	pack_u64(&pk, 9);
	pack_str(&pk, "abcdef");
	assert_int_equal(pack_error(&pk), 0);
	for (cut = 0; cut < b.len; cut++) {
		unpack_init(&u, b.data, cut);
		r = unpack_u32(&u, &v32);
		r |= unpack_u64(&u, &v64);
		r |= unpack_str(&u, s, sizeof(s));
		assert_int_equal(r, -1);
		assert_int_equal(unpack_end(&u), -1);
	}
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_u32(&u, &v32), 0);
	assert_int_equal(unpack_u64(&u, &v64), 0);
	assert_int_equal(unpack_str(&u, s, sizeof(s)), 0);
	assert_int_equal(unpack_end(&u), 0);
	/* reading past the end is an error, and sticky */
	assert_int_equal(unpack_u32(&u, &v32), -1);
	assert_int_equal(unpack_end(&u), -1);
	buf_free(&b);
}

static void
test_str_limits(void **state)
{
	struct buf	 b;
	struct packer	 pk;
	struct unpacker	 u;
	char		 s[6];
	const char	*ref;
	size_t		 len;
	uint8_t		 fixed[8];

	buf_init(&b, 1024);
	pack_init(&pk, &b);
	pack_str(&pk, "abcdef");		/* 6 bytes: too long for s[6] */
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str(&u, s, sizeof(s)), -1);
	assert_string_equal(s, "");
	assert_int_equal(unpack_end(&u), -1);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str(&u, s, 0), -1);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str_ref(&u, &ref, &len, 5), -1);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str_ref(&u, &ref, &len, 6), 0);
	/* fixed needs the exact length */
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_fixed(&u, fixed, 8), -1);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_fixed(&u, fixed, 5), -1);

	/* embedded NUL refused */
	buf_reset(&b);
	pack_init(&pk, &b);
	pack_bytes(&pk, "ab\0c", 4);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str(&u, s, sizeof(s)), -1);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str_ref(&u, &ref, &len, 100), -1);

	/* a length larger than the input */
	buf_reset(&b);
	pack_init(&pk, &b);
	pack_u32(&pk, 0xffffffff);
	pack_str(&pk, "x");
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_str_ref(&u, &ref, &len, SIZE_MAX), -1);
	buf_free(&b);
}

static void
test_trailing(void **state)
{
	struct buf	 b;
	struct packer	 pk;
	struct unpacker	 u;
	uint32_t	 v;

	buf_init(&b, 64);
	pack_init(&pk, &b);
	pack_u32(&pk, 1);
	pack_u8(&pk, 2);
	unpack_init(&u, b.data, b.len);
	assert_int_equal(unpack_u32(&u, &v), 0);
	assert_int_equal(unpack_end(&u), -1);
	buf_free(&b);
}

static void
test_pack_limit(void **state)
{
	struct buf	 b;
	struct packer	 pk;

	buf_init(&b, 8);
	pack_init(&pk, &b);
	pack_u32(&pk, 1);
	pack_str(&pk, "hello");		/* 9 bytes: does not fit */
	assert_int_equal(pack_error(&pk), -1);
	assert_int_equal(b.len, 4);	/* no half field */
	pack_u8(&pk, 1);		/* sticky */
	assert_int_equal(pack_error(&pk), -1);
	assert_int_equal(b.len, 4);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_str_limits),
		cmocka_unit_test(test_trailing),
		cmocka_unit_test(test_pack_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
