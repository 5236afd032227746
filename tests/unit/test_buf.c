#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"

static void
test_append_consume(void **state)
{
	struct buf	b;

	buf_init(&b, 16);
	assert_int_equal(buf_append(&b, "hello", 5), 0);
	assert_int_equal(buf_append(&b, " world", 6), 0);
	assert_int_equal(b.len, 11);
	assert_memory_equal(b.data, "hello world", 11);
	buf_consume(&b, 6);
	assert_int_equal(b.len, 5);
	assert_memory_equal(b.data, "world", 5);
	buf_consume(&b, 100);
	assert_int_equal(b.len, 0);
	buf_free(&b);
	buf_free(&b);	/* safe twice */
	assert_null(b.data);
}

static void
test_limit(void **state)
{
	struct buf	b;
	uint8_t		big[32];

	memset(big, 'x', sizeof(big));
	buf_init(&b, 16);
	assert_int_equal(buf_append(&b, big, 16), 0);
	assert_int_equal(buf_append(&b, big, 1), -1);
	assert_int_equal(b.len, 16);
	assert_int_equal(buf_reserve(&b, SIZE_MAX), -1);
	buf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_int_equal(buf_append(&b, big, 17), -1);
	assert_int_equal(buf_append(&b, big, 16), 0);
	assert_true(b.cap <= b.max);
	buf_free(&b);
}

static void
test_grow(void **state)
{
	struct buf	b;
	uint8_t		c;
	size_t		i;

	buf_init(&b, 100000);
	for (i = 0; i < 100000; i++) {
		c = (uint8_t)i;
		assert_int_equal(buf_append(&b, &c, 1), 0);
	}
	assert_int_equal(buf_append(&b, &c, 1), -1);
	for (i = 0; i < 100000; i++)
		assert_int_equal(b.data[i], (uint8_t)i);
	buf_free(&b);
}

static void
test_zero_max(void **state)
{
	struct buf	b;

	buf_init(&b, 0);
	assert_int_equal(buf_append(&b, "", 0), 0);
	assert_int_equal(buf_append(&b, "a", 1), -1);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_append_consume),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_zero_max),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
