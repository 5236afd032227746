/* utf8_sanitize / utf8_json: whatever the bytes, valid UTF-8 comes out and
 * jansson can encode it. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "utf8.h"

#define FFFD	"\xef\xbf\xbd"

static void
check(const char *in, size_t n, int flags, const char *want)
{
	char	out[64];
	size_t	len;

	assert_true(n * 3 <= sizeof(out));
	len = utf8_sanitize(out, (const uint8_t *)in, n, flags);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(out, want, len);
}

static void
test_valid_kept(void **state)
{
	check("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x99", 10, 0,
	    "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x90\x99");
	check("\xf4\x8f\xbf\xbf", 4, 0, "\xf4\x8f\xbf\xbf");	/* U+10FFFF */
	check("a\nb\tc", 5, UTF8_KEEP_CONTROLS, "a\nb\tc");
	check("a\nb\tc", 5, 0, "a" FFFD "b\tc");
}

static void
test_invalid_replaced(void **state)
{
	check("\xed\xa0\x80", 3, 0, FFFD FFFD FFFD);	/* surrogate */
	check("\xe0\x80\x80", 3, 0, FFFD FFFD FFFD);	/* overlong */
	check("\xc0\xaf", 2, 0, FFFD FFFD);		/* overlong */
	check("\xf4\x90\x80\x80", 4, 0, FFFD FFFD FFFD FFFD);
	check("\xff\x80", 2, 0, FFFD FFFD);
	check("\xe2\x82", 2, 0, FFFD FFFD);		/* cut short */
	check("x\xc3", 2, 0, "x" FFFD);
}

static void
test_json_encodes(void **state)
{
	uint8_t	 all[256 * 4];
	json_t	*j;
	char	*s;
	size_t	 i;

	for (i = 0; i < sizeof(all); i++)
		all[i] = (uint8_t)(i * 7 + i / 256);
	assert_non_null(j = utf8_json(all, sizeof(all), UTF8_KEEP_CONTROLS));
	assert_non_null(s = json_dumps(j, JSON_ENCODE_ANY));
	free(s);
	json_decref(j);
	assert_non_null(j = utf8_json("", 0, 0));
	assert_string_equal(json_string_value(j), "");
	json_decref(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_kept),
		cmocka_unit_test(test_invalid_replaced),
		cmocka_unit_test(test_json_encodes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
