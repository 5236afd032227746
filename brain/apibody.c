/*
 * API request bodies (see apibody.h): strict JSON objects, duplicate keys
 * refused, types and ranges checked, strings without NUL bytes.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <jansson.h>

#include "apibody.h"
#include "brain.h"
#include "crypto.h"
#include "findings.h"
#include "net.h"
#include "groupbody.h"
#include "proto.h"
#include "totp.h"

static json_t *
load_object_max(const char *body, size_t len, size_t max, const char **why)
{
	json_t		*j;
	json_error_t	 err;

	if (len > max) {
		*why = "request body too large";
		return NULL;
	}
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, &err);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		*why = "the body must be a JSON object";
		return NULL;
	}
	return j;
}

static json_t *
load_object(const char *body, size_t len, const char **why)
{
	return load_object_max(body, len, HTTP_BODY_MAX, why);
}

/* A string member without NUL bytes, or NULL. */
static const char *
member_string(json_t *o, const char *name)
{
	json_t		*v = json_object_get(o, name);
	const char	*s = json_string_value(v);

	if (s == NULL || strlen(s) != json_string_length(v))
		return NULL;
	return s;
}

/* An integer member in [min, max]; absent gives def. -1 if present but
 * not such an integer. */
static int
member_int(json_t *o, const char *name, json_int_t min, json_int_t max,
    json_int_t def, json_int_t *out)
{
	json_t	*v = json_object_get(o, name);

	if (v == NULL) {
		*out = def;
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max)
		return -1;
	*out = json_integer_value(v);
	return 0;
}

int
apibody_login(const char *body, size_t len, struct login_body *lb,
    int *status, const char **why)
{
	json_t		*j;
	const char	*user, *password, *totp = "";
	int		 rc = -1;

	*status = 400;
	if ((j = load_object(body, len, why)) == NULL) {
		if (len > HTTP_BODY_MAX)
			*status = 413;
		return -1;
	}
	user = member_string(j, "username");
	password = member_string(j, "password");
	if (json_object_get(j, "totp") != NULL &&
	    !json_is_null(json_object_get(j, "totp")))
		totp = member_string(j, "totp");
	if (user == NULL || password == NULL)
		*why = "username and password are required";
	else if (totp == NULL)
		*why = "totp must be a string of digits";
	else if (user[0] == '\0' ||
	    strlcpy(lb->user, user, sizeof(lb->user)) >= sizeof(lb->user) ||
	    strlcpy(lb->password, password, sizeof(lb->password)) >=
	    sizeof(lb->password) ||
	    strlcpy(lb->totp, totp, sizeof(lb->totp)) >= sizeof(lb->totp) ||
	    strspn(lb->totp, "0123456789") != strlen(lb->totp)) {
		/* Same answer as a wrong password: no hint about limits. */
		*status = 401;
		*why = "wrong user name or password";
	} else
		rc = 0;
	json_decref(j);
	if (rc == -1)
		crypto_wipe(lb, sizeof(*lb));
	return rc;
}

int
apibody_enrol(const char *body, size_t len, struct enrol_body *eb,
    const char **why)
{
	json_t		*j;
	const char	*addr, *code;
	json_t		*cv;
	json_int_t	 port;
	int		 rc = -1;

	memset(eb, 0, sizeof(*eb));
	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	addr = member_string(j, "address");
	cv = json_object_get(j, "code");
	code = member_string(j, "code");
	if (addr == NULL || !net_addr_valid(addr) ||
	    strlcpy(eb->address, addr, sizeof(eb->address)) >=
	    sizeof(eb->address))
		*why = "address must be a numeric IPv4 or IPv6 address";
	else if (member_int(j, "port", 1, 65535, 7000, &port) == -1)
		*why = "port must be an integer from 1 to 65535";
	else if (cv != NULL && !json_is_null(cv) && (code == NULL ||
	    (code[0] != '\0' && proto_pairing_parse(code, eb->code) == -1)))
		*why = "code must be the tentacle's pairing code: 12 letters "
		    "and digits, XXXX-XXXX-XXXX (octoTentacle --pairing-code)";
	else {
		eb->port = (uint32_t)port;
		rc = 0;
	}
	json_decref(j);
	return rc;
}

int
apibody_token(const char *body, size_t len, struct token_body *tb,
    const char **why)
{
	json_t		*j;
	json_int_t	 expires, uses;
	int		 rc = -1;

	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	if (member_int(j, "expires_in", 1, TOKEN_EXPIRES_MAX, 86400,
	    &expires) == -1)
		*why = "expires_in must be a number of seconds, at most a year";
	else if (member_int(j, "uses", 1, TOKEN_USES_MAX, 1, &uses) == -1)
		*why = "uses must be a positive integer";
	else {
		tb->expires_in = (uint64_t)expires;
		tb->uses = (uint32_t)uses;
		rc = 0;
	}
	json_decref(j);
	return rc;
}

int
apibody_run(const char *body, size_t len, struct run_body *rb,
    const char **why)
{
	json_t		*j, *t, *v, *l, *ex;
	const char	*script;
	size_t		 i, n;
	int		 rc = -1;

	memset(rb, 0, sizeof(*rb));
	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	script = member_string(j, "script");
	t = json_object_get(j, "tentacles");
	if (script == NULL || !proto_script_name_valid(script) ||
	    strlcpy(rb->script, script, sizeof(rb->script)) >=
	    sizeof(rb->script)) {
		*why = "script must be the name of a script (letters, digits, "
		    ". _ -)";
		goto out;
	}
	ex = json_object_get(j, "expires_in");
	if (ex == NULL)
		rb->expires_in = RUN_EXPIRES_DEFAULT;
	else if (!json_is_integer(ex) || json_integer_value(ex) < 1 ||
	    json_integer_value(ex) > RUN_EXPIRES_MAX) {
		*why = "expires_in: seconds, from 1 to a year";
		goto out;
	} else
		rb->expires_in = (uint64_t)json_integer_value(ex);
	if ((l = json_object_get(j, "labels")) != NULL) {
		if (t != NULL) {
			*why = "tentacles or labels: give one, not both";
			goto out;
		}
		if (groupbody_labels(l, &rb->labels, why) == 0 &&
		    rb->labels.n == 0)
			*why = "labels: at least one label";
		else if (rb->labels.n > 0)
			rc = 0;
		goto out;
	}
	if (json_is_string(t) && strcmp(json_string_value(t), "all") == 0) {
		rc = 0;
		goto out;
	}
	if (!json_is_array(t) || (n = json_array_size(t)) == 0 ||
	    n > RUN_TENTACLES_MAX) {
		*why = "tentacles must be \"all\" or a list of tentacle IDs";
		goto out;
	}
	if ((rb->tentacles = calloc(n, sizeof(*rb->tentacles))) == NULL) {
		*why = "out of memory";
		goto out;
	}
	json_array_foreach(t, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1) {
			*why = "tentacle IDs are positive integers";
			free(rb->tentacles);
			rb->tentacles = NULL;
			goto out;
		}
		rb->tentacles[i] = (uint64_t)json_integer_value(v);
	}
	rb->ntentacles = (uint32_t)n;
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
apibody_user_name_valid(const char *s)
{
	size_t	i, n = strlen(s);

	if (n == 0 || n > USER_NAME_MAX || s[0] == '.' || s[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			return 0;
	return 1;
}

/* A password member: a string of PASSWORD_MIN..OCTO_PASSWORD_MAX bytes
 * without NUL. */
static int
member_password(json_t *o, const char *name, char *out, size_t outsz)
{
	const char	*s = member_string(o, name);
	size_t		 n;

	if (s == NULL || (n = strlen(s)) < PASSWORD_MIN ||
	    n > OCTO_PASSWORD_MAX || n >= outsz)
		return -1;
	memcpy(out, s, n + 1);
	return 0;
}

int
apibody_user(const char *body, size_t len, struct user_body *ub,
    const char **why)
{
	json_t		*j;
	const char	*name, *role;
	int		 rc = -1;

	memset(ub, 0, sizeof(*ub));
	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	name = member_string(j, "name");
	role = member_string(j, "role");
	if (name == NULL || !apibody_user_name_valid(name))
		*why = "name must be 1 to 32 letters, digits, . _ - (not "
		    "starting with . or -)";
	else if (member_password(j, "password", ub->password,
	    sizeof(ub->password)) == -1)
		*why = "password must be a string of 10 to 256 characters";
	else if (role == NULL || (strcmp(role, "admin") &&
	    strcmp(role, "operator") && strcmp(role, "viewer")))
		*why = "role must be admin, operator or viewer";
	else {
		strlcpy(ub->name, name, sizeof(ub->name));
		strlcpy(ub->role, role, sizeof(ub->role));
		rc = 0;
	}
	if (rc == -1)
		explicit_bzero(ub, sizeof(*ub));
	json_decref(j);
	return rc;
}

int
apibody_password(const char *body, size_t len, struct password_body *pb,
    const char **why)
{
	json_t		*j, *cur;
	int		 rc = -1;

	memset(pb, 0, sizeof(*pb));
	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	cur = json_object_get(j, "current_password");
	if (member_password(j, "password", pb->password,
	    sizeof(pb->password)) == -1)
		*why = "password must be a string of 10 to 256 characters";
	else if (cur != NULL && (member_string(j, "current_password") ==
	    NULL || strlcpy(pb->current, json_string_value(cur),
	    sizeof(pb->current)) >= sizeof(pb->current)))
		*why = "current_password must be a string";
	else
		rc = 0;
	if (rc == -1)
		explicit_bzero(pb, sizeof(*pb));
	json_decref(j);
	return rc;
}

int
apibody_totp_code(const char *body, size_t len, char *code, const char **why)
{
	json_t		*j;
	const char	*c;
	int		 rc = -1;

	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	c = member_string(j, "code");
	if (c == NULL || strlen(c) != TOTP_DIGITS ||
	    strspn(c, "0123456789") != TOTP_DIGITS)
		*why = "code must be the 6 digits your authenticator shows";
	else {
		strlcpy(code, c, OCTO_TOTP_CODE_MAX + 1);
		rc = 0;
	}
	json_decref(j);
	return rc;
}

/* ---- scripts managed by the brain ------------------------------------ */

int
apibody_script_check(const char *name, const char *description,
    const char *body, size_t body_len, const char **why)
{
	const unsigned char	*d;

	if (!proto_script_name_valid(name)) {
		*why = "name must be a script name: 1-63 letters, digits, "
		    ". _ -, not starting with a dot";
		return -1;
	}
	if (strlen(description) > SCRIPT_DESC_MAX) {
		*why = "description is at most 200 bytes";
		return -1;
	}
	for (d = (const unsigned char *)description; *d; d++)
		if (*d < 0x20 || *d == 0x7f) {
			*why = "description must be one line of text";
			return -1;
		}
	if (body_len > SCRIPT_BODY_MAX) {
		*why = "body is at most 256 KiB";
		return -1;
	}
	if (body_len < 3 || body[0] != '#' || body[1] != '!') {
		*why = "body must start with #! (the interpreter)";
		return -1;
	}
	if (memchr(body, '\0', body_len) != NULL) {
		*why = "body must be text without NUL bytes";
		return -1;
	}
	return 0;
}

int
apibody_script(const char *in, size_t len, int create,
    struct script_body *sb, const char **why)
{
	json_t		*j, *v;
	const char	*name, *desc, *body, *key;
	int		 rc = -1;

	memset(sb, 0, sizeof(*sb));
	if ((j = load_object_max(in, len, HTTP_SCRIPT_BODY_MAX, why)) == NULL)
		return -1;
	json_object_foreach(j, key, v)
		if (strcmp(key, "description") && strcmp(key, "body") &&
		    (!create || strcmp(key, "name"))) {
			*why = create ? "a script takes name, description and "
			    "body only" : "a new version takes description "
			    "and body only (the name is in the path)";
			goto out;
		}
	name = create ? member_string(j, "name") : "x";
	desc = json_object_get(j, "description") ? member_string(j,
	    "description") : "";
	body = member_string(j, "body");
	if (name == NULL || desc == NULL || body == NULL) {
		*why = create ? "name and body must be strings (description "
		    "too, if given)" : "body must be a string (description "
		    "too, if given)";
		goto out;
	}
	sb->body_len = json_string_length(json_object_get(j, "body"));
	if (apibody_script_check(name, desc, body, sb->body_len, why) == -1)
		goto out;
	if ((sb->body = malloc(sb->body_len + 1)) == NULL) {
		*why = "out of memory";
		goto out;
	}
	memcpy(sb->body, body, sb->body_len + 1);
	strlcpy(sb->name, create ? name : "", sizeof(sb->name));
	sb->has_description = json_object_get(j, "description") != NULL;
	strlcpy(sb->description, desc, sizeof(sb->description));
	rc = 0;
out:
	json_decref(j);
	return rc;
}

/* ---- compliance and waivers (issue 16)--------------------------------- */

int
apibody_labels_valid(const char *s)
{
	char	one[PROTO_LABEL_MAX + 1];
	size_t	n, count = 0;

	while (*s != '\0') {
		n = strcspn(s, ",");
		if (n == 0 || n > PROTO_LABEL_MAX ||
		    ++count > PROTO_LABELS_MAX)
			return 0;
		memcpy(one, s, n);
		one[n] = '\0';
		if (!proto_label_valid(one))
			return 0;
		s += n;
		if (*s == ',' && *++s == '\0')
			return 0;	/* "a," */
	}
	return 1;
}

/* n decimal digits at s into *v. */
static int
digits(const char *s, size_t n, int *v)
{
	size_t	i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

int
apibody_time(const char *s, int64_t *t)
{
	static const int mdays[12] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	struct tm	 tm;
	int		 y, mo, d, h, mi, sec, oh, om, leap;
	const char	*p;
	time_t		 v;

	/* YYYY-MM-DDTHH:MM:SS */
	if (strlen(s) < 20 || digits(s, 4, &y) || s[4] != '-' ||
	    digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
	    (s[10] != 'T' && s[10] != 't') || digits(s + 11, 2, &h) ||
	    s[13] != ':' || digits(s + 14, 2, &mi) || s[16] != ':' ||
	    digits(s + 17, 2, &sec))
		return -1;
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 60)
		return -1;
	p = s + 19;
	if (*p == '.') {
		if (p[1] < '0' || p[1] > '9')
			return -1;
		for (p++; *p >= '0' && *p <= '9'; p++)
			;
	}
	oh = om = 0;
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-') {
		if (digits(p + 1, 2, &oh) || p[3] != ':' ||
		    digits(p + 4, 2, &om) || oh > 23 || om > 59)
			return -1;
		if (*p == '-') {
			oh = -oh;
			om = -om;
		}
		p += 6;
	} else
		return -1;
	if (*p != '\0')
		return -1;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec == 60 ? 59 : sec;	/* a leap second */
	if ((v = timegm(&tm)) == (time_t)-1)
		return -1;
	*t = (int64_t)v - (int64_t)oh * 3600 - (int64_t)om * 60;
	return *t < 0 ? -1 : 0;
}

int
apibody_waiver(const char *body, size_t len, struct waiver_body *wb,
    const char **why)
{
	static const char *const known[] = { "tentacle", "label", "script",
	    "check", "reason", "expires_at" };
	json_t		*j, *v;
	const char	*key, *s;
	size_t		 i, n;
	int		 rc = -1;

	memset(wb, 0, sizeof(*wb));
	if ((j = load_object(body, len, why)) == NULL)
		return -1;
	json_object_foreach(j, key, v) {
		for (i = 0; i < sizeof(known) / sizeof(known[0]); i++)
			if (strcmp(key, known[i]) == 0)
				break;
		if (i == sizeof(known) / sizeof(known[0])) {
			*why = "a waiver has tentacle or label, script, check, "
			    "reason and expires_at only";
			goto out;
		}
	}
	if ((json_object_get(j, "tentacle") == NULL) ==
	    (json_object_get(j, "label") == NULL)) {
		*why = "a waiver is for exactly one of tentacle and label";
		goto out;
	}
	if ((v = json_object_get(j, "tentacle")) != NULL) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (json_int_t)1 << 53) {
			*why = "tentacle must be a tentacle ID";
			goto out;
		}
		wb->tentacle = (uint64_t)json_integer_value(v);
	} else if ((s = member_string(j, "label")) == NULL ||
	    !proto_label_valid(s)) {
		*why = "label must be 1 to 32 of a-z 0-9 . _ -";
		goto out;
	} else
		strlcpy(wb->label, s, sizeof(wb->label));
	if ((s = member_string(j, "script")) == NULL ||
	    !proto_script_name_valid(s)) {
		*why = "script must be the name of a script (letters, digits, "
		    ". _ -)";
		goto out;
	}
	strlcpy(wb->script, s, sizeof(wb->script));
	if (json_object_get(j, "check") != NULL &&
	    ((s = member_string(j, "check")) == NULL ||
	    !finding_check_valid(s, strlen(s)))) {
		*why = "check must be a CHECK-ID (a letter, then letters, "
		    "digits and . _ - / : + = @)";
		goto out;
	}
	if (json_object_get(j, "check") != NULL)
		strlcpy(wb->check, s, sizeof(wb->check));
	s = member_string(j, "reason");
	n = s ? strlen(s) : 0;
	if (s == NULL || strspn(s, " \t\r\n") == n) {
		*why = "reason is required: say why the finding is accepted";
		goto out;
	}
	if (n > WAIVER_REASON_MAX) {
		*why = "reason is at most 500 bytes";
		goto out;
	}
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t') {
			*why = "reason must be one line of text";
			goto out;
		}
	strlcpy(wb->reason, s, sizeof(wb->reason));
	if ((s = member_string(j, "expires_at")) == NULL ||
	    apibody_time(s, &wb->expires_at) == -1) {
		*why = "expires_at is required, an RFC 3339 time "
		    "(2027-01-31T00:00:00Z)";
		goto out;
	}
	rc = 0;
out:
	json_decref(j);
	return rc;
}

int
apibody_waiver_expiry(int64_t t, int64_t now, const char **why)
{
	if (t <= now) {
		*why = "expires_at must be in the future";
		return -1;
	}
	if (t - now > WAIVER_EXPIRES_MAX) {
		*why = "expires_at must be at most a year ahead";
		return -1;
	}
	return 0;
}
