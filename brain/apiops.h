/*
 * The API's operations, in one table: each row is an operation's HTTP
 * method and route (the webserv matches requests against them), the
 * weakest role that may call it and whether it changes anything (then the
 * maestro wants the CSRF token), the shape of its arguments in
 * IPC_API_CALL (apicall.c), and the maestro's handler (api.c expands that
 * column; the webserv never sees it).
 *
 * Adding an operation is one row here plus its handler. enum api_op is
 * made from the rows, so an operation without a row cannot exist, and a
 * row whose handler is missing does not link. api_ops_check() checks the
 * rest at start-up (routes unique, the CSRF rule).
 *
 * Routes: "{id}" is a decimal integer from 1 to 2^53, "{name}" a user
 * name, "{script}" a script name (webserv.c route_match). Arguments, by shape:
 *	NONE		nothing
 *	ID		u64 id ({id} of the route)
 *	TENTACLES	u32 limit, u64 after, u8 sort, u8 desc, str state,
 *			str enrolment, str q (query string; listargs.h)
 *	RUNS		u64 tentacle (?tentacle=ID; 0: every run), u32 limit,
 *			u64 after
 *	RUN		u64 id, u8 with outputs (?output=0|1, default 1),
 *			u32 limit, u64 after (its jobs), u32 wait (seconds)
 *	RESULTS		u64 id, u8 with findings (?findings=0|1, default 1)
 *	ENROL		str address, u32 port (body)
 *	TOKEN		u64 expires_in, u32 uses (body)
 *	RUN_CREATE	str script, u32 n, n x u64 tentacle IDs (n = 0: all
 *			accepted) (body)
 *	USER_CREATE	str name, str password, str role (body)
 *	USER		str name ({name})
 *	PASSWORD	str name ({name}), str password, str current ("" =
 *			none) (body)
 *	AUDIT		str actor, str action, u32 limit (query string)
 *	TOTP_CODE	str name ({name}), str code (body: 6 digits)
 *	SCRIPT		str script ({script}: a script name)
 *	SCRIPT_VERSION	str script ({script}), u64 id ({id}: the version)
 *	SCRIPT_CREATE	str script, str description, bytes body (body)
 *	SCRIPT_UPDATE	str script ({script}), u8 has description, str
 *			description, bytes body (body)
 *	BODY		u64 id ({id} of the route, or 0), str body (the JSON
 *			body as the client sent it: the maestro's handler
 *			parses and checks it with groupbody.h's pure functions)
 *
 * RUN_CREATE also carries str labels ("a,b": the tentacles with any of
 * them, when no ID is listed) and u64 expires_in (seconds a job waits
 * for an offline tentacle).
 *
 *	COMPLIANCE	u64 as_of (0: now), str labels ("a,b"), u8 by (0
 *			script, 1 check), u32 limit, u64 after (query)
 *	HISTORY		u32 days, str labels (query)
 *	TIMELINE	u64 id (?tentacle=ID), str script, u32 limit (query)
 *	WAIVER		u64 id (tentacle, 0: label), str label, str script,
 *			str check, str reason, u64 expires_at (body)
 */
#ifndef OCTO_APIOPS_H
#define OCTO_APIOPS_H

#include <stddef.h>
#include <stdint.h>

/*	op			name (logs)		method	route					role	 mutating args		handler */
#define API_OPS(X)							\
	X(SESSION,		"session",		GET,	"/api/session",			VIEWER,	0, NONE,	api_session)	\
	X(HEALTH,		"health",		GET,	"/api/health",			VIEWER,	0, NONE,	api_health)	\
	X(LOGOUT,		"logout",		POST,	"/api/logout",			VIEWER,	1, NONE,	api_logout)	\
	X(TENTACLES,		"list tentacles",	GET,	"/api/tentacles",		VIEWER,	0, TENTACLES,	api_tentacles)	\
	X(TENTACLE_ENROL,	"enrol a tentacle",	POST,	"/api/tentacles",		ADMIN,	1, ENROL,	api_tentacle_enrol) \
	X(TENTACLE_APPROVE,	"approve a tentacle",	POST,	"/api/tentacles/{id}/approve",	ADMIN,	1, ID,		api_tentacle_decide) \
	X(TENTACLE_REJECT,	"reject a tentacle",	POST,	"/api/tentacles/{id}/reject",	ADMIN,	1, ID,		api_tentacle_decide) \
	X(TENTACLE_REVOKE,	"revoke a tentacle",	DELETE,	"/api/tentacles/{id}",		ADMIN,	1, ID,		api_tentacle_revoke) \
	X(TOKENS,		"list tokens",		GET,	"/api/tokens",			ADMIN,	0, NONE,	api_tokens)	\
	X(TOKEN_CREATE,		"create a token",	POST,	"/api/tokens",			ADMIN,	1, TOKEN,	api_token_create) \
	X(TOKEN_REVOKE,		"revoke a token",	DELETE,	"/api/tokens/{id}",		ADMIN,	1, ID,		api_token_revoke) \
	X(RUN_CREATE,		"start a run",		POST,	"/api/runs",			OPERATOR, 1, RUN_CREATE, api_run_create) \
	X(RUNS,			"list runs",		GET,	"/api/runs",			VIEWER,	0, RUNS,	api_runs)	\
	X(RUN,			"read a run",		GET,	"/api/runs/{id}",		VIEWER,	0, RUN,		api_run)	\
	X(TENTACLE_RESULTS,	"list results",		GET,	"/api/tentacles/{id}/results",	VIEWER,	0, RESULTS,	api_tentacle_results) \
	X(RESULT,		"read a result",	GET,	"/api/results/{id}",		VIEWER,	0, ID,		api_result)	\
	X(SCRIPTS,		"list scripts",		GET,	"/api/scripts",			VIEWER,	0, NONE,	api_scripts)	\
	X(TENTACLE_SCRIPTS,	"list a tentacle's scripts", GET, "/api/tentacles/{id}/scripts", VIEWER, 0, ID,		api_scripts)	\
	X(USERS,		"list users",		GET,	"/api/users",			ADMIN,	0, NONE,	api_users_list)	\
	X(USER_CREATE,		"add a user",		POST,	"/api/users",			ADMIN,	1, USER_CREATE,	api_user_create) \
	X(USER_DELETE,		"remove a user",	DELETE,	"/api/users/{name}",		ADMIN,	1, USER,	api_user_delete) \
	/* Anyone for their own password; admins for others' (checked). */ \
	X(USER_PASSWORD,	"change a password",	POST,	"/api/users/{name}/password",	VIEWER,	1, PASSWORD,	api_user_password) \
	X(AUDIT,		"read the audit log",	GET,	"/api/audit",			ADMIN,	0, AUDIT,	api_audit) \
	/* TOTP: set up and confirm one's own (checked); remove one's own, \
	 * or an admin anyone's (checked). */ \
	X(TOTP_ENROL,		"set up TOTP",		POST,	"/api/users/{name}/totp",	VIEWER,	1, USER,	api_totp_enrol)	\
	X(TOTP_CONFIRM,		"confirm TOTP",		POST,	"/api/users/{name}/totp/confirm", VIEWER, 1, TOTP_CODE,	api_totp_confirm) \
	X(TOTP_REMOVE,		"remove TOTP",		DELETE,	"/api/users/{name}/totp",	VIEWER,	1, USER,	api_totp_remove) \
	/* Scripts managed by the brain (issue 14): read by all, changed \
	 * by admins. */ \
	X(SCRIPT,		"read a script",	GET,	"/api/scripts/{script}",	VIEWER,	0, SCRIPT,	api_script_get)	\
	X(SCRIPT_VERSION,	"read a script version", GET,	"/api/scripts/{script}/versions/{id}", VIEWER, 0, SCRIPT_VERSION, api_script_version) \
	X(SCRIPT_CREATE,	"create a script",	POST,	"/api/scripts",			ADMIN,	1, SCRIPT_CREATE, api_script_create) \
	X(SCRIPT_UPDATE,	"change a script",	PUT,	"/api/scripts/{script}",	ADMIN,	1, SCRIPT_UPDATE, api_script_update) \
	X(SCRIPT_DELETE,	"delete a script",	DELETE,	"/api/scripts/{script}",	ADMIN,	1, SCRIPT,	api_script_delete) \
	/* export (issue 17): the targets' state; a test event. */ \
	X(EXPORT,		"read the export",	GET,	"/api/export",			ADMIN,	0, NONE,	api_export)	\
	X(EXPORT_TEST,		"send a test event",	POST,	"/api/export/test",		ADMIN,	1, NONE,	api_export_test) \
	/* Groups and schedules (issue 16: brain/groups.c, schedules.c). */ \
	X(TENTACLE_LABELS,	"set a tentacle's labels", PUT,	"/api/tentacles/{id}/labels",	ADMIN,	1, BODY,	api_tentacle_labels) \
	X(SCHEDULES,		"list schedules",	GET,	"/api/schedules",		VIEWER,	0, NONE,	api_schedules)	\
	X(SCHEDULE,		"read a schedule",	GET,	"/api/schedules/{id}",		VIEWER,	0, ID,		api_schedule)	\
	X(SCHEDULE_CREATE,	"create a schedule",	POST,	"/api/schedules",		ADMIN,	1, BODY,	api_schedule_create) \
	X(SCHEDULE_UPDATE,	"change a schedule",	PUT,	"/api/schedules/{id}",		ADMIN,	1, BODY,	api_schedule_update) \
	X(SCHEDULE_DELETE,	"delete a schedule",	DELETE,	"/api/schedules/{id}",		ADMIN,	1, ID,		api_schedule_delete) \
	/* Compliance and waivers (h16b, brain/compliance.c). */ \
	X(COMPLIANCE,		"read the compliance matrix", GET, "/api/compliance",	VIEWER,	0, COMPLIANCE,	api_compliance) \
	X(COMPLIANCE_HISTORY,	"read the compliance history", GET, "/api/compliance/history", VIEWER, 0, HISTORY, api_compliance_history) \
	X(COMPLIANCE_TIMELINE,	"read a host's timeline", GET,	"/api/compliance/timeline",	VIEWER,	0, TIMELINE,	api_compliance_timeline) \
	X(WAIVERS,		"list waivers",		GET,	"/api/waivers",			VIEWER,	0, NONE,	api_waivers)	\
	X(WAIVER_CREATE,	"add a waiver",		POST,	"/api/waivers",			ADMIN,	1, WAIVER,	api_waiver_create) \
	X(WAIVER_DELETE,	"remove a waiver",	DELETE,	"/api/waivers/{id}",		ADMIN,	1, ID,		api_waiver_delete)

enum api_op {
	API_OP_NONE = 0,	/* no operation has 0 on the wire */
#define API_OP_ENUM(op, name, method, route, role, mutating, args, handler) \
	API_##op,
	API_OPS(API_OP_ENUM)
#undef API_OP_ENUM
	API_OP_MAX
};

enum api_method { API_METHOD_GET, API_METHOD_POST, API_METHOD_DELETE,
	API_METHOD_PUT };

/* Roles, weakest first; an operation names the weakest it allows. An
 * unknown role is below every other. */
enum role { ROLE_INVALID, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

enum api_args_shape {
	API_ARGS_NONE,
	API_ARGS_ID,
	API_ARGS_RUNS,
	API_ARGS_RUN,
	API_ARGS_RESULTS,
	API_ARGS_ENROL,
	API_ARGS_TOKEN,
	API_ARGS_RUN_CREATE,
	API_ARGS_USER_CREATE,
	API_ARGS_USER,
	API_ARGS_PASSWORD,
	API_ARGS_AUDIT,
	API_ARGS_TOTP_CODE,
	API_ARGS_SCRIPT,
	API_ARGS_SCRIPT_VERSION,
	API_ARGS_SCRIPT_CREATE,
	API_ARGS_SCRIPT_UPDATE,
	API_ARGS_BODY,
	API_ARGS_TENTACLES,
	API_ARGS_COMPLIANCE,
	API_ARGS_HISTORY,
	API_ARGS_TIMELINE,
	API_ARGS_WAIVER,
};

struct api_op_def {
	enum api_op		 op;
	const char		*name;
	enum api_method		 method;
	const char		*route;
	enum role		 min_role;
	int			 mutating;	/* needs the CSRF token */
	enum api_args_shape	 args;
};

/* Indexed by op; row 0 is empty. */
extern const struct api_op_def	api_ops[API_OP_MAX];

/* The row of op, or NULL if op is none. */
const struct api_op_def *api_op_get(uint32_t op);
/* A table's own consistency (api_ops, API_OP_MAX at start-up): row i is
 * op i, every route under /api/, each (method, route) once, mutating
 * exactly when the method is not GET, a role, path parameters as the
 * arguments want them. 0, or -1 with the reason. */
int	api_ops_check(const struct api_op_def *, size_t n, const char **why);

enum role role_parse(const char *);

/* Whether a session that must set up TOTP first (totp_required, none set
 * up) may call op: only what setting it up needs (the session, logout,
 * TOTP enrol and confirm). */
int	api_op_before_totp(uint32_t op);

/* Whether a session of that role, whose CSRF token is session_csrf, may
 * call the operation with the token csrf (what the request carried). */
enum api_verdict { API_ALLOWED, API_DENIED_ROLE, API_DENIED_CSRF };
enum api_verdict api_op_allowed(const struct api_op_def *, const char *role,
	    const char *csrf, const char *session_csrf);

#endif
