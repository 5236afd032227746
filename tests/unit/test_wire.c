#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "limits.h"
#include "wire.h"

static void
test_roundtrip(void **state)
{
	struct buf		b;
	struct wire_frame	f;
	size_t			used = 0, cut;

	buf_init(&b, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	assert_int_equal(wire_encode(&b, WIRE_HELLO, "abc", 3), 0);
	assert_int_equal(b.len, WIRE_HDR_LEN + 3);
	assert_int_equal(wire_decode(b.data, b.len, &f, &used), WIRE_OK);
	assert_int_equal(f.type, WIRE_HELLO);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.payload, "abc", 3);
	assert_int_equal(used, b.len);

	/* truncated at every length: need more, never an error */
	for (cut = 0; cut < b.len; cut++)
		assert_int_equal(wire_decode(b.data, cut, &f, &used),
		    WIRE_NEED_MORE);
	buf_free(&b);
}

static void
test_empty_and_max(void **state)
{
	struct buf		 b;
	struct wire_frame	 f;
	size_t			 used;
	static uint8_t		 big[WIRE_PAYLOAD_MAX + 1];

	buf_init(&b, 2 * (WIRE_HDR_LEN + WIRE_PAYLOAD_MAX));
	assert_int_equal(wire_encode(&b, WIRE_HELLO_ACK, NULL, 0), 0);
	assert_int_equal(wire_decode(b.data, b.len, &f, &used), WIRE_OK);
	assert_int_equal(f.len, 0);
	buf_reset(&b);
	assert_int_equal(wire_encode(&b, WIRE_ERROR, big, WIRE_PAYLOAD_MAX),
	    0);
	assert_int_equal(wire_decode(b.data, b.len, &f, &used), WIRE_OK);
	assert_int_equal(f.len, WIRE_PAYLOAD_MAX);
	buf_reset(&b);
	assert_int_equal(wire_encode(&b, WIRE_ERROR, big,
	    WIRE_PAYLOAD_MAX + 1), -1);
	assert_int_equal(b.len, 0);
	assert_int_equal(wire_encode(&b, 0, "x", 1), -1);
	assert_int_equal(wire_encode(&b, WIRE_TYPE_MAX, "x", 1), -1);
	buf_free(&b);

	/* out's limit */
	buf_init(&b, 10);
	assert_int_equal(wire_encode(&b, WIRE_HELLO, "abc", 3), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_malformed(void **state)
{
	struct wire_frame	f;
	size_t			used;
	uint8_t			h[WIRE_HDR_LEN];
	uint32_t		n = WIRE_PAYLOAD_MAX + 1;

	memcpy(h, "OC\x02\x02\0\0\0\0", 8);
	h[2] = WIRE_VERSION;
	/* bad magic from the first byte on */
	assert_int_equal(wire_decode((const uint8_t *)"G", 1, &f, &used),
	    WIRE_BAD_MAGIC);
	assert_int_equal(wire_decode((const uint8_t *)"GET / HTTP/1.0", 14,
	    &f, &used), WIRE_BAD_MAGIC);
	assert_int_equal(wire_decode((const uint8_t *)"OX", 2, &f, &used),
	    WIRE_BAD_MAGIC);
	assert_int_equal(wire_decode((const uint8_t *)"O", 1, &f, &used),
	    WIRE_NEED_MORE);
	assert_int_equal(wire_decode(h, 0, &f, &used), WIRE_NEED_MORE);
	/* bad version at 3 bytes (1: the protocol before issue 12) */
	h[2] = WIRE_VERSION + 1;
	assert_int_equal(wire_decode(h, 3, &f, &used), WIRE_BAD_VERSION);
	h[2] = 1;
	assert_int_equal(wire_decode(h, 3, &f, &used), WIRE_BAD_VERSION);
	h[2] = 0;
	assert_int_equal(wire_decode(h, 8, &f, &used), WIRE_BAD_VERSION);
	h[2] = WIRE_VERSION;
	/* unknown types at 4 bytes */
	h[3] = 0;
	assert_int_equal(wire_decode(h, 4, &f, &used), WIRE_BAD_TYPE);
	h[3] = WIRE_TYPE_MAX;
	assert_int_equal(wire_decode(h, 4, &f, &used), WIRE_BAD_TYPE);
	h[3] = 0xff;
	assert_int_equal(wire_decode(h, 8, &f, &used), WIRE_BAD_TYPE);
	h[3] = WIRE_HELLO;
	/* oversized length at 8 bytes */
	h[4] = n >> 24;
	h[5] = n >> 16;
	h[6] = n >> 8;
	h[7] = n;
	assert_int_equal(wire_decode(h, 7, &f, &used), WIRE_NEED_MORE);
	assert_int_equal(wire_decode(h, 8, &f, &used), WIRE_TOO_LONG);
	memset(h + 4, 0xff, 4);
	assert_int_equal(wire_decode(h, 8, &f, &used), WIRE_TOO_LONG);
	/* the largest allowed length only needs more */
	n = WIRE_PAYLOAD_MAX;
	h[4] = n >> 24;
	h[5] = n >> 16;
	h[6] = n >> 8;
	h[7] = n;
	assert_int_equal(wire_decode(h, 8, &f, &used), WIRE_NEED_MORE);
}

static void
test_back_to_back(void **state)
{
	struct buf		b;
	struct wire_frame	f;
	size_t			used, off = 0;

	buf_init(&b, 1024);
	assert_int_equal(wire_encode(&b, WIRE_HELLO, "one", 3), 0);
	assert_int_equal(wire_encode(&b, WIRE_HELLO_ACK, "two!", 4), 0);
	assert_int_equal(wire_decode(b.data, b.len, &f, &used), WIRE_OK);
	assert_int_equal(f.type, WIRE_HELLO);
	assert_memory_equal(f.payload, "one", 3);
	off += used;
	assert_int_equal(wire_decode(b.data + off, b.len - off, &f, &used),
	    WIRE_OK);
	assert_int_equal(f.type, WIRE_HELLO_ACK);
	assert_memory_equal(f.payload, "two!", 4);
	off += used;
	assert_int_equal(off, b.len);
	/* the second one cut short */
	assert_int_equal(wire_decode(b.data + WIRE_HDR_LEN + 3,
	    b.len - (WIRE_HDR_LEN + 3) - 1, &f, &used), WIRE_NEED_MORE);
	buf_free(&b);
}

static void
test_strings(void **state)
{
	assert_string_equal(wire_type_str(WIRE_HELLO), "HELLO");
	assert_string_equal(wire_type_str(0), "UNKNOWN");
	assert_string_equal(wire_status_str(WIRE_BAD_MAGIC), "bad magic");
	assert_non_null(wire_status_str((enum wire_status)99));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_and_max),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_back_to_back),
		cmocka_unit_test(test_strings),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
