/* The API's table (brain/apiops.h): one row per operation, routes unique,
 * and the maestro's access check it feeds (role, CSRF). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "apiops.h"

#define CSRF	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"
#define OTHER	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdee"

static void
test_one_row_per_op(void **state)
{
#define COUNT_ROW(...) + 1
	const int	rows = 0 API_OPS(COUNT_ROW);
#undef COUNT_ROW
	uint32_t	i, j;

	assert_int_equal(rows, API_OP_MAX - 1);
	assert_null(api_op_get(API_OP_NONE));
	assert_null(api_op_get(API_OP_MAX));
	assert_null(api_op_get(UINT32_MAX));
	for (i = 1; i < API_OP_MAX; i++) {
		assert_non_null(api_op_get(i));
		assert_int_equal(api_op_get(i)->op, i);
		assert_non_null(api_ops[i].name);
		assert_non_null(api_ops[i].route);
		for (j = 1; j < i; j++)
			assert_string_not_equal(api_ops[i].name,
			    api_ops[j].name);
	}
}

static void
test_routes_unique(void **state)
{
	const char	*why = NULL;
	uint32_t	 i, j;

	for (i = 1; i < API_OP_MAX; i++)
		for (j = 1; j < i; j++)
			assert_false(api_ops[i].method == api_ops[j].method &&
			    strcmp(api_ops[i].route, api_ops[j].route) == 0);
	assert_int_equal(api_ops_check(api_ops, API_OP_MAX, &why), 0);
}

/* What api_ops_check refuses, on copies of the table. */
static void
test_check_refuses(void **state)
{
	struct api_op_def	 t[API_OP_MAX];
	const char		*why;

	memcpy(t, api_ops, sizeof(t));
	t[API_RUNS].route = t[API_RUN_CREATE].route;
	t[API_RUNS].method = t[API_RUN_CREATE].method;
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_TOKEN_CREATE].mutating = 0;	/* a POST without CSRF */
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_HEALTH].mutating = 1;		/* a GET that changes */
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_RESULT].args = API_ARGS_NONE;	/* {id} goes nowhere */
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_USER_DELETE].args = API_ARGS_ID;	/* {name} is no ID */
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_AUDIT].route = "/audit";
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_USERS].min_role = ROLE_INVALID;
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);

	memcpy(t, api_ops, sizeof(t));
	t[API_AUDIT].op = API_USERS;		/* a row out of place */
	assert_int_equal(api_ops_check(t, API_OP_MAX, &why), -1);
	assert_non_null(why);
}

static void
test_mutating_needs_csrf(void **state)
{
	const struct api_op_def	*d;
	uint32_t		 i, mutating = 0;

	for (i = 1; i < API_OP_MAX; i++) {
		d = &api_ops[i];
		assert_int_equal(d->mutating, d->method != API_METHOD_GET);
		if (!d->mutating) {
			assert_int_equal(api_op_allowed(d, "admin", "", CSRF),
			    API_ALLOWED);
			continue;
		}
		mutating++;
		assert_int_equal(api_op_allowed(d, "admin", "", CSRF),
		    API_DENIED_CSRF);
		assert_int_equal(api_op_allowed(d, "admin", OTHER, CSRF),
		    API_DENIED_CSRF);
		assert_int_equal(api_op_allowed(d, "admin", "0123", CSRF),
		    API_DENIED_CSRF);
		assert_int_equal(api_op_allowed(d, "admin", "", ""),
		    API_DENIED_CSRF);
		assert_int_equal(api_op_allowed(d, "admin", CSRF, CSRF),
		    API_ALLOWED);
	}
	assert_true(mutating > 0);
}

/* Before its TOTP is set up (totp_required), a session reaches only what
 * setting it up needs. */
static void
test_before_totp(void **state)
{
	uint32_t	i, n = 0;

	for (i = 0; i <= API_OP_MAX; i++)
		n += api_op_before_totp(i);
	assert_int_equal(n, 4);
	assert_true(api_op_before_totp(API_SESSION));
	assert_true(api_op_before_totp(API_LOGOUT));
	assert_true(api_op_before_totp(API_TOTP_ENROL));
	assert_true(api_op_before_totp(API_TOTP_CONFIRM));
	assert_false(api_op_before_totp(API_TOTP_REMOVE));
	assert_false(api_op_before_totp(API_USER_PASSWORD));
	assert_false(api_op_before_totp(API_OP_NONE));
}

static void
test_roles(void **state)
{
	const struct api_op_def	*d;
	uint32_t		 i;

	for (i = 1; i < API_OP_MAX; i++) {
		d = &api_ops[i];
		assert_int_equal(api_op_allowed(d, "admin", CSRF, CSRF),
		    API_ALLOWED);
		assert_int_equal(api_op_allowed(d, "root", CSRF, CSRF),
		    API_DENIED_ROLE);
		assert_int_equal(api_op_allowed(d, "", CSRF, CSRF),
		    API_DENIED_ROLE);
		assert_int_equal(api_op_allowed(d, "viewer", CSRF, CSRF),
		    d->min_role <= ROLE_VIEWER ? API_ALLOWED :
		    API_DENIED_ROLE);
	}
	d = api_op_get(API_RUN_CREATE);
	assert_int_equal(api_op_allowed(d, "operator", CSRF, CSRF),
	    API_ALLOWED);
	assert_int_equal(api_op_allowed(d, "viewer", CSRF, CSRF),
	    API_DENIED_ROLE);
	d = api_op_get(API_TOKEN_CREATE);
	assert_int_equal(api_op_allowed(d, "operator", CSRF, CSRF),
	    API_DENIED_ROLE);
	/* The role is checked before the token: a viewer learns nothing
	 * about CSRF from an admin's operation. */
	assert_int_equal(api_op_allowed(d, "viewer", "", CSRF),
	    API_DENIED_ROLE);
	assert_int_equal(role_parse("Admin"), ROLE_INVALID);
	assert_int_equal(role_parse("operator"), ROLE_OPERATOR);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_row_per_op),
		cmocka_unit_test(test_routes_unique),
		cmocka_unit_test(test_check_refuses),
		cmocka_unit_test(test_mutating_needs_csrf),
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_before_totp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
