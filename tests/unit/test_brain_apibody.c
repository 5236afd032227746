/* The API's JSON request bodies: what is accepted, defaults, and every
 * kind of bad input refused with a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "apibody.h"
#include "brain.h"

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
	/* TOTP: absent or null is "", digits pass, the rest is refused. */
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"password\":"
	    "\"x\"}"), &lb, &status, &why), 0);
	assert_string_equal(lb.totp, "");
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"password\":"
	    "\"x\",\"totp\":null}"), &lb, &status, &why), 0);
	assert_string_equal(lb.totp, "");
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"password\":"
	    "\"x\",\"totp\":\"287082\"}"), &lb, &status, &why), 0);
	assert_string_equal(lb.totp, "287082");
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"password\":"
	    "\"x\",\"totp\":287082}"), &lb, &status, &why), -1);
	assert_int_equal(status, 400);
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"password\":"
	    "\"x\",\"totp\":\"28708a\"}"), &lb, &status, &why), -1);
	assert_int_equal(status, 401);
	assert_int_equal(apibody_login(S("{\"username\":\"a\",\"password\":"
	    "\"x\",\"totp\":\"123456789\"}"), &lb, &status, &why), -1);
	assert_int_equal(status, 401);
}

static void
test_totp_code(void **state)
{
	char		code[OCTO_TOTP_CODE_MAX + 1];
	const char	*why;

	assert_int_equal(apibody_totp_code(S("{\"code\":\"012345\"}"), code,
	    &why), 0);
	assert_string_equal(code, "012345");
	assert_int_equal(apibody_totp_code(S("{\"code\":12345}"), code,
	    &why), -1);
	assert_int_equal(apibody_totp_code(S("{\"code\":\"12345\"}"), code,
	    &why), -1);
	assert_int_equal(apibody_totp_code(S("{\"code\":\"1234567\"}"), code,
	    &why), -1);
	assert_int_equal(apibody_totp_code(S("{\"code\":\"12345x\"}"), code,
	    &why), -1);
	assert_int_equal(apibody_totp_code(S("{}"), code, &why), -1);
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
	/* The pairing code: optional, canonical once parsed. */
	assert_string_equal(eb.code, "");
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":\"abcd-efgh-2345\"}"), &eb, &why), 0);
	assert_string_equal(eb.code, "ABCDEFGH2345");
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":null}"), &eb, &why), 0);
	assert_string_equal(eb.code, "");
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":\"\"}"), &eb, &why), 0);
	assert_string_equal(eb.code, "");
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":\"ABCD-EFGH-2341\"}"), &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":\"ABCD-EFGH-234\"}"), &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":123}"), &eb, &why), -1);
	assert_int_equal(apibody_enrol(S("{\"address\":\"192.0.2.1\","
	    "\"code\":\"ABCD\\u0000EFGH2345\"}"), &eb, &why), -1);
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

static void
test_user(void **state)
{
	struct user_body	ub;
	const char		*why;

	assert_int_equal(apibody_user(S("{\"name\":\"alice.b-c_1\","
	    "\"password\":\"0123456789\",\"role\":\"viewer\"}"), &ub,
	    &why), 0);
	assert_string_equal(ub.name, "alice.b-c_1");
	assert_string_equal(ub.role, "viewer");
	assert_string_equal(ub.password, "0123456789");
	/* Nine characters: too short; and the refusal wipes the body. */
	assert_int_equal(apibody_user(S("{\"name\":\"al\",\"password\":"
	    "\"012345678\",\"role\":\"viewer\"}"), &ub, &why), -1);
	assert_non_null(strstr(why, "password"));
	assert_int_equal(ub.name[0], 0);
	assert_int_equal(apibody_user(S("{\"name\":\"-x\",\"password\":"
	    "\"0123456789\",\"role\":\"viewer\"}"), &ub, &why), -1);
	assert_int_equal(apibody_user(S("{\"name\":\"a b\",\"password\":"
	    "\"0123456789\",\"role\":\"viewer\"}"), &ub, &why), -1);
	assert_int_equal(apibody_user(S("{\"name\":\"ab\",\"password\":"
	    "\"0123456789\",\"role\":\"Admin\"}"), &ub, &why), -1);
	assert_int_equal(apibody_user(S("{\"name\":\"a\\u0000b\","
	    "\"password\":\"0123456789\",\"role\":\"admin\"}"), &ub,
	    &why), -1);

	assert_true(apibody_user_name_valid("a"));
	assert_true(apibody_user_name_valid("12345678901234567890123456789012"));
	assert_false(apibody_user_name_valid(
	    "123456789012345678901234567890123"));
	assert_false(apibody_user_name_valid(""));
	assert_false(apibody_user_name_valid(".."));
	assert_false(apibody_user_name_valid("a/b"));
}

static void
test_password(void **state)
{
	struct password_body	pb;
	const char		*why;

	assert_int_equal(apibody_password(S("{\"password\":\"0123456789\"}"),
	    &pb, &why), 0);
	assert_string_equal(pb.current, "");
	assert_int_equal(apibody_password(S("{\"password\":\"0123456789\","
	    "\"current_password\":\"x\"}"), &pb, &why), 0);
	assert_string_equal(pb.current, "x");
	assert_int_equal(apibody_password(S("{\"password\":\"0123456789\","
	    "\"current_password\":5}"), &pb, &why), -1);
	assert_int_equal(pb.password[0], 0);
	assert_int_equal(apibody_password(S("{\"password\":\"short\"}"),
	    &pb, &why), -1);
	assert_int_equal(apibody_password(S("[]"), &pb, &why), -1);
}

/* Runs: on "all", IDs or labels (issue 16), with how long jobs wait for
 * offline tentacles. */
static void
test_run(void **state)
{
	struct run_body	rb;
	const char	*why;

	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"tentacles\":"
	    "\"all\"}"), &rb, &why), 0);
	assert_int_equal(rb.ntentacles, 0);
	assert_int_equal(rb.labels.n, 0);
	assert_int_equal(rb.expires_in, RUN_EXPIRES_DEFAULT);
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"labels\":"
	    "[\"web\",\"db\",\"web\"],\"expires_in\":60}"), &rb, &why), 0);
	assert_int_equal(rb.labels.n, 2);
	assert_string_equal(rb.labels.v[1], "db");
	assert_int_equal(rb.expires_in, 60);
	assert_null(rb.tentacles);
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"tentacles\":"
	    "[2,1],\"expires_in\":31622400}"), &rb, &why), 0);
	assert_int_equal(rb.ntentacles, 2);
	free(rb.tentacles);
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"labels\":"
	    "[\"web\"],\"tentacles\":\"all\"}"), &rb, &why), -1);
	assert_non_null(strstr(why, "not both"));
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"labels\":[]}"),
	    &rb, &why), -1);
	assert_non_null(strstr(why, "at least one"));
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"labels\":"
	    "[\"Web\"]}"), &rb, &why), -1);
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"labels\":"
	    "\"web\"}"), &rb, &why), -1);
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"tentacles\":"
	    "\"all\",\"expires_in\":0}"), &rb, &why), -1);
	assert_non_null(strstr(why, "expires_in"));
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"tentacles\":"
	    "\"all\",\"expires_in\":31622401}"), &rb, &why), -1);
	assert_int_equal(apibody_run(S("{\"script\":\"a\",\"tentacles\":"
	    "\"all\",\"expires_in\":\"60\"}"), &rb, &why), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_login),
		cmocka_unit_test(test_totp_code),
		cmocka_unit_test(test_enrol),
		cmocka_unit_test(test_token),
		cmocka_unit_test(test_user),
		cmocka_unit_test(test_password),
		cmocka_unit_test(test_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
