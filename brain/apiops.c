/*
 * The API's table (apiops.h) as data, and the checks that need nothing
 * but it: plain data and pure functions, linked by the webserv (routes)
 * and the maestro (access control).
 */
#include <string.h>

#include "apiops.h"
#include "crypto.h"

const struct api_op_def api_ops[API_OP_MAX] = {
#define API_OP_ROW(op, name, method, route, role, mutating, args, handler) \
	[API_##op] = { API_##op, name, API_METHOD_##method, route,	\
	    ROLE_##role, mutating, API_ARGS_##args },
	API_OPS(API_OP_ROW)
#undef API_OP_ROW
};

const struct api_op_def *
api_op_get(uint32_t op)
{
	if (op == API_OP_NONE || op >= API_OP_MAX)
		return NULL;
	return &api_ops[op];
}

/* What the route's path parameters must be for the shape. */
static int
route_fits_shape(const struct api_op_def *d)
{
	int	id = strstr(d->route, "{id}") != NULL;
	int	name = strstr(d->route, "{name}") != NULL;

	switch (d->args) {
	case API_ARGS_ID:
	case API_ARGS_RUN:
	case API_ARGS_RESULTS:
		return id && !name;
	case API_ARGS_USER:
	case API_ARGS_PASSWORD:
	case API_ARGS_TOTP_CODE:
		return name && !id;
	case API_ARGS_BODY:
		return !name;
	default:
		return !id && !name;
	}
}

int
api_ops_check(const struct api_op_def *ops, size_t n, const char **why)
{
	const struct api_op_def	*d, *e;
	size_t			 i, j;

	for (i = 1; i < n; i++) {
		d = &ops[i];
		if (d->op != i || d->name == NULL || d->route == NULL) {
			*why = "an operation without its row";
			return -1;
		}
		if (strncmp(d->route, "/api/", 5) != 0) {
			*why = "a route outside /api/";
			return -1;
		}
		if (d->mutating != (d->method != API_METHOD_GET)) {
			*why = "an operation is mutating but not POST, PUT or DELETE, "
			    "or the other way round";
			return -1;
		}
		if (d->min_role == ROLE_INVALID) {
			*why = "an operation without a role";
			return -1;
		}
		if (!route_fits_shape(d)) {
			*why = "a route's parameters do not fit its arguments";
			return -1;
		}
		for (j = 1; j < i; j++) {
			e = &ops[j];
			if (e->method == d->method &&
			    strcmp(e->route, d->route) == 0) {
				*why = "two operations on one method and route";
				return -1;
			}
		}
	}
	return 0;
}

enum role
role_parse(const char *s)
{
	if (strcmp(s, "admin") == 0)
		return ROLE_ADMIN;
	if (strcmp(s, "operator") == 0)
		return ROLE_OPERATOR;
	if (strcmp(s, "viewer") == 0)
		return ROLE_VIEWER;
	return ROLE_INVALID;
}

enum api_verdict
api_op_allowed(const struct api_op_def *d, const char *role,
    const char *csrf, const char *session_csrf)
{
	size_t	len = strlen(session_csrf);

	if (role_parse(role) < d->min_role)
		return API_DENIED_ROLE;
	if (d->mutating && (len == 0 || strlen(csrf) != len ||
	    !crypto_equal(csrf, session_csrf, len)))
		return API_DENIED_CSRF;
	return API_ALLOWED;
}

int
api_op_before_totp(uint32_t op)
{
	switch (op) {
	case API_SESSION:
	case API_LOGOUT:
	case API_TOTP_ENROL:
	case API_TOTP_CONFIRM:
		return 1;
	default:
		return 0;
	}
}
