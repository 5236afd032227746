/* The API's JSON request bodies: what is accepted, defaults, and every
 * kind of bad input refused with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apibody.h"

#define S(x)	x, sizeof(x) - 1

static void
test_login(void **state)
{
	struct login_body	lb;
	const char		*why;
	int			status;
	char			big[400];

	assert_int_equal(apibody_login(S("{\"username\":\"admin\","
	    "\"password\":\"pw\"}"), &lb, &status, &why), 0);
	assert_string_equal(lb.user, "admin");
	assert_string_equal(lb.password, "pw");
	assert_int_equal(apibody_login(S("not json"), &lb, &status, &why), -1);
	assert_int_equal(status, 400);
	assert_int_equal(apibody_login(S("[1]"), &lb, &status, &why), -1);
	assert_int_equal(apibody_login(S("{\"username\":\"a\"}"), &lb, &status,
	    &why), -1);
	assert_int_equal(apibody_login(S("{\"username\":1,\"password\":\"x\"}"),
	    &lb, &status, &why), -1);
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"username\":"
	    "\"b\",\"password\":\"x\"}"), &lb, &status, &why), -1);
	/* A NUL inside a string is refused, not cut. */
	assert_int_equal(apibody_login(S("{\"username\":\"ad\\u0000min\","
	    "\"password\":\"x\"}"), &lb, &status, &why), -1);
	/* Too long: the same answer as a wrong password. */
	memset(big, 'a', sizeof(big));
	memcpy(big, "{\"username\":\"a\",\"password\":\"",
	    strlen("{\"username\":\"a\",\"password\":\""));
	memcpy(big + sizeof(big) - 3, "\"}", 3);
	assert_int_equal(apibody_login(big, strlen(big), &lb, &status, &why),
	    -1);
	assert_int_equal(status, 401);
	assert_int_equal(apibody_login(S("{\"username\":\"\",\"password\":"
	    "\"x\"}"), &lb, &status, &why), -1);
	assert_int_equal(status, 401);
}

static void
test_enrol(void **state)
{
	struct enrol_body	eb;
	const char		*why;

	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\"}"), &eb,
	    &why), 0);
	assert_int_equal(eb.port, 7000);
	assert_int_equal(apibody_enrol(S("{\"address\":\"::1\",\"port\":"
	    "17000}"), &eb, &why), 0);
	assert_int_equal(eb.port, 17000);
	assert_int_equal(apibody_enrol(S("{\"address\":\"host.example\"}"),
	    &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{\"address\":\"1.2.3.4\",\"port\":"
	    "0}"), &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{\"address\":\"1.2.3.4\",\"port\":"
	    "65536}"), &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{\"address\":\"1.2.3.4\",\"port\":"
	    "\"7000\"}"), &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{}"), &eb, &why), -1);
}

static void
test_token(void **state)
{
	struct token_body	tb;
	const char		*why;

	assert_int_equal(apibody_token(S("{}"), &tb, &why), 0);
	assert_int_equal(tb.uses, 1);
	assert_int_equal(tb.expires_in, 86400);
	assert_int_equal(apibody_token(S("{\"expires_in\":60,\"uses\":5}"),
	    &tb, &why), 0);
	assert_int_equal(tb.uses, 5);
	assert_int_equal(apibody_token(S("{\"expires_in\":0}"), &tb, &why),
	    -1);
	assert_int_equal(apibody_token(S("{\"expires_in\":-5}"), &tb, &why),
	    -1);
	assert_int_equal(apibody_token(S("{\"uses\":0}"), &tb, &why), -1);
	assert_int_equal(apibody_token(S("{\"uses\":1.5}"), &tb, &why), -1);
	assert_int_equal(apibody_token(S("{\"expires_in\":99999999999}"), &tb,
	    &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_token),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
