/* webpath_resolve: what the webserv serves, and every way out refused. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "webpath.h"

static int
resolve(const char *path, char *out)
{
	return webpath_resolve(path, strlen(path), out, WEBPATH_MAX + 16);
}

static void
test_serves(void **state)
{
	char	out[WEBPATH_MAX + 16];

	assert_int_equal(resolve("/", out), 0);
	assert_string_equal(out, "index.html");
	assert_int_equal(resolve("/app.js", out), 0);
	assert_string_equal(out, "app.js");
	assert_int_equal(resolve("/img/logo-1_b.svg", out), 0);
	assert_string_equal(out, "img/logo-1_b.svg");
}

static void
test_refuses(void **state)
{
	static const char *bad[] = {
		"", "app.js", "/..", "/../brain.conf", "/img/../../x",
		"/./app.js", "//etc/passwd", "/img//x", "/.hidden",
		"/img/.git/config", "/dir/", "/a\\b", "/a b", "/a%2fb",
		"/a:b", "/\xc3\xa9",
	};
	char	out[WEBPATH_MAX + 16];
	size_t	i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(resolve(bad[i], out), -1);
	/* An embedded NUL is refused, not cut. */
	assert_int_equal(webpath_resolve("/a\0/../x", 8, out, sizeof(out)),
	    -1);
}

static void
test_limits(void **state)
{
	char	path[WEBPATH_MAX + 2], out[8];

	memset(path, 'a', sizeof(path));
	path[0] = '/';
	assert_int_equal(webpath_resolve(path, sizeof(path), out,
	    sizeof(out)), -1);
	/* Output buffer too small: refused, never truncated. */
	assert_int_equal(webpath_resolve("/abcdefgh.js", 12, out, sizeof(out)),
	    -1);
	assert_int_equal(webpath_resolve("/", 1, out, 4), -1);
}

static void
test_content_types(void **state)
{
	assert_string_equal(webpath_content_type("index.html"),
	    "text/html; charset=utf-8");
	assert_string_equal(webpath_content_type("app.js"),
	    "text/javascript; charset=utf-8");
	assert_string_equal(webpath_content_type("a.svg"), "image/svg+xml");
	assert_null(webpath_content_type("brain.db"));
	assert_null(webpath_content_type("Makefile"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_serves),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_content_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
