/*
 * The JSON request bodies of the API, parsed and checked by pure functions
 * (so that unit tests and the fuzzer call what the webserv calls). Each
 * returns 0, or -1 with a message for the client in *why.
 */
#ifndef OCTO_APIBODY_H
#define OCTO_APIBODY_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"
#include "proto.h"

struct login_body {
	char	user[OCTO_NAME_MAX];
	char	password[OCTO_PASSWORD_MAX + 1];
	char	totp[OCTO_TOTP_CODE_MAX + 1];	/* "" when absent */
};

struct enrol_body {
	char		address[OCTO_ADDR_MAX];
	uint32_t	port;		/* default 7000 */
	/* The tentacle's pairing code, canonical (proto_pairing_parse);
	 * "" when none was given. Wipe it. */
	char		code[PROTO_PAIRING_LEN + 1];
};

struct token_body {
	uint64_t	expires_in;	/* default one day */
	uint32_t	uses;		/* default 1 */
};

struct run_body {
	char		 script[64];
	uint32_t	 ntentacles;	/* 0: "all", or labels */
	uint64_t	*tentacles;	/* malloc'd; free it */
	struct proto_labels labels;	/* "labels": n > 0 */
	uint64_t	 expires_in;	/* default RUN_EXPIRES_DEFAULT */
};

/* Users: names of 1..USER_NAME_MAX characters A-Za-z0-9 . _ -, not
 * starting with '.' or '-'; passwords of PASSWORD_MIN..OCTO_PASSWORD_MAX
 * bytes. */
#define USER_NAME_MAX	32
#define PASSWORD_MIN	10

struct user_body {
	char	name[USER_NAME_MAX + 1];
	char	password[OCTO_PASSWORD_MAX + 1];
	char	role[16];		/* admin, operator, viewer */
};

struct password_body {
	char	password[OCTO_PASSWORD_MAX + 1];
	char	current[OCTO_PASSWORD_MAX + 1];	/* "" when absent */
};

/* -1 and status 400 for a malformed body; for login, a well-formed body
 * whose values cannot be right (too long; a "totp" that is not up to
 * OCTO_TOTP_CODE_MAX digits) gets *status 401, the same as a wrong
 * password. {"username", "password", "totp"?} */
int	apibody_login(const char *, size_t, struct login_body *, int *status,
	    const char **why);
int	apibody_enrol(const char *, size_t, struct enrol_body *,
	    const char **why);
int	apibody_token(const char *, size_t, struct token_body *,
	    const char **why);
/* {"script": name, "tentacles": "all" | [id, ...] | "labels": [...],
 * "expires_in"?: seconds} */
int	apibody_run(const char *, size_t, struct run_body *,
	    const char **why);

/* {"name", "password", "role"} */
int	apibody_user(const char *, size_t, struct user_body *,
	    const char **why);
/* {"password", "current_password"?} */
int	apibody_password(const char *, size_t, struct password_body *,
	    const char **why);
int	apibody_user_name_valid(const char *);
/* {"code": "123456"}: a TOTP code of TOTP_DIGITS digits (brain/totp.h),
 * into code (at least OCTO_TOTP_CODE_MAX + 1 bytes). */
int	apibody_totp_code(const char *, size_t, char *code,
	    const char **why);

/*
 * Scripts managed by the brain (issue 14): POST /api/scripts {"name",
 * "description"?, "body"}, PUT /api/scripts/{name} {"description"?,
 * "body"} (create: name required; update: no name). A name as a
 * tentacle's script (proto_script_name_valid); a description of at most
 * SCRIPT_DESC_MAX bytes without control characters; a body of 3 to
 * SCRIPT_BODY_MAX bytes that starts with "#!", without NUL. The body is
 * malloc'd (NUL-terminated): free it.
 */
struct script_body {
	char	 name[PROTO_SCRIPT_NAME_MAX];
	int	 has_description;
	char	 description[SCRIPT_DESC_MAX + 1];
	char	*body;
	size_t	 body_len;
};

int	apibody_script(const char *, size_t, int create, struct script_body *,
	    const char **why);
/* The checks of those fields, for the maestro's decoder too. */
int	apibody_script_check(const char *name, const char *description,
	    const char *body, size_t body_len, const char **why);

/* ---- compliance and waivers (issue 16)--------------------------------- */
#define WAIVER_REASON_MAX	500	/* bytes of UTF-8 */
#define WAIVER_EXPIRES_MAX	(366L * 86400)	/* a year, leap or not */

/* A query's "a,b": at most PROTO_LABELS_MAX labels (proto_label_valid),
 * no empty one, no space; "" is none. */
int	apibody_labels_valid(const char *);
/* An RFC 3339 time ("2026-12-04T01:09:34Z", "...+02:00", fractions of a
 * second dropped) into *t. 0 or -1. */
int	apibody_time(const char *, int64_t *t);

struct waiver_body {
	uint64_t	tentacle;	/* 0: label */
	char		label[PROTO_LABEL_MAX + 1];
	char		script[PROTO_SCRIPT_NAME_MAX];
	char		check[FINDING_CHECK_MAX + 1];	/* "": the script */
	char		reason[WAIVER_REASON_MAX + 1];
	int64_t		expires_at;
};
/* {"tentacle": ID | "label": NAME (exactly one), "script", "check"?,
 * "reason", "expires_at": RFC 3339}; nothing else. */
int	apibody_waiver(const char *, size_t, struct waiver_body *,
	    const char **why);
/* Whether a waiver may expire at t, now: in the future, at most
 * WAIVER_EXPIRES_MAX ahead. 0, or -1 with the reason. */
int	apibody_waiver_expiry(int64_t t, int64_t now, const char **why);

#endif
