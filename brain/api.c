/*
 * The maestro's side of the API: every IPC_API_CALL from the webserv is
 * checked here (session, role, CSRF for what changes anything), then
 * dispatched; replies go back as IPC_API_REPLY.
 */
#include <sys/types.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "crypto.h"
#include "enrol.h"
#include "log.h"
#include "maestro.h"
#include "pack.h"

struct api_op_rule {
	const char	*name;
	enum role	 min_role;
	int		 mutating;	/* needs the CSRF token */
};

static const struct api_op_rule api_rules[API_OP_MAX] = {
	[API_SESSION] = { "session", ROLE_VIEWER, 0 },
	[API_HEALTH] = { "health", ROLE_VIEWER, 0 },
	[API_LOGOUT] = { "logout", ROLE_VIEWER, 1 },
	[API_TENTACLES] = { "list tentacles", ROLE_VIEWER, 0 },
	[API_TENTACLE_ENROL] = { "enrol a tentacle", ROLE_ADMIN, 1 },
	[API_TENTACLE_APPROVE] = { "approve a tentacle", ROLE_ADMIN, 1 },
	[API_TENTACLE_REJECT] = { "reject a tentacle", ROLE_ADMIN, 1 },
	[API_TENTACLE_REVOKE] = { "revoke a tentacle", ROLE_ADMIN, 1 },
	[API_TOKENS] = { "list tokens", ROLE_ADMIN, 0 },
	[API_TOKEN_CREATE] = { "create a token", ROLE_ADMIN, 1 },
	[API_TOKEN_REVOKE] = { "revoke a token", ROLE_ADMIN, 1 },
	[API_RUN_CREATE] = { "start a run", ROLE_OPERATOR, 1 },
	[API_RUNS] = { "list runs", ROLE_VIEWER, 0 },
	[API_RUN] = { "read a run", ROLE_VIEWER, 0 },
	[API_TENTACLE_RESULTS] = { "list results", ROLE_VIEWER, 0 },
	[API_RESULT] = { "read a result", ROLE_VIEWER, 0 },
	[API_SCRIPTS] = { "list scripts", ROLE_VIEWER, 0 },
	[API_TENTACLE_SCRIPTS] = { "list a tentacle's scripts", ROLE_VIEWER, 0 },
	[API_USERS] = { "list users", ROLE_ADMIN, 0 },
	[API_USER_CREATE] = { "add a user", ROLE_ADMIN, 1 },
	[API_USER_DELETE] = { "remove a user", ROLE_ADMIN, 1 },
	/* Anyone for their own password; admins for others' (checked). */
	[API_USER_PASSWORD] = { "change a password", ROLE_VIEWER, 1 },
	[API_AUDIT] = { "read the audit log", ROLE_ADMIN, 0 },
};

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

/* ---- replies to the webserv ------------------------------------------ */

void
reply_send(uint32_t id, unsigned generation, int status, json_t *body,
    const char *cookie)
{
	struct child	*ws = &children[CHILD_WEBSERV];
	struct buf	 b;
	struct packer	 p;
	char		*text;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		log_warnx("out of memory encoding a reply");
		return;
	}
	/* The webserv that asked may have died since: drop the reply. */
	if (ws->chan == NULL || ws->generation != generation) {
		free(text);
		return;
	}
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u32(&p, status);
	pack_str(&p, text);
	pack_str(&p, cookie ? cookie : "");
	if (pack_error(&p) == 0)
		ipc_send(ws->chan, IPC_API_REPLY, id, b.data, b.len);
	else
		log_warnx("reply %u too large for IPC", id);
	buf_free(&b);
	free(text);
}

void
reply_error(uint32_t id, unsigned generation, int status, const char *msg)
{
	reply_send(id, generation, status, json_pack("{s:s}", "error", msg),
	    NULL);
}

/* ---- API calls ------------------------------------------------------- */

static json_t *
health_json(void)
{
	json_t		*list = json_array();
	struct child	*c;
	int		 i;

	for (i = 0; i < CHILD_COUNT; i++) {
		c = &children[i];
		json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:I}",
		    "name", c->name,
		    "state", c->state == CHILD_UP ? "up" : "restarting",
		    "pid", (json_int_t)(c->state == CHILD_UP ? c->pid : 0),
		    "restarts", (json_int_t)c->restarts));
	}
	return json_pack("{s:o,s:I,s:I,s:s,s:I}", "children", list,
	    "refused_handshakes", (json_int_t)m.refused_handshakes,
	    "protocol_errors", (json_int_t)m.protocol_errors,
	    "version", OCTO_VERSION,
	    "uptime", (json_int_t)(time(NULL) - m.started));
}

static int64_t
api_id(const struct api_args *a)
{
	return a->id > INT64_MAX ? 0 : (int64_t)a->id;
}

/* 200 with j; NULL is "not found", or a database error when the reply
 * wraps a list (member names it). */
void
reply_json_or_error(struct child *c, uint32_t id, json_t *j,
    const char *member)
{
	if (j == NULL || (member && json_object_get(j, member) == NULL)) {
		json_decref(j);
		reply_error(id, c->generation, member ? 500 : 404, member ?
		    "database error" : "not found");
	} else
		reply_send(id, c->generation, 200, j, NULL);
}

/* Fleet management: tentacles and enrolment tokens. */
static void
api_manage(struct child *c, uint32_t id, uint32_t op,
    const struct api_args *a, const char *user, const char *client)
{
	json_t		*j;
	char		 detail[96];
	int		 rc;
	int64_t		 tid = api_id(a);
	struct db_tentacle t;

	switch (op) {
	case API_TENTACLES:
		if ((j = db_tentacle_list(m.db)) == NULL)
			reply_error(id, c->generation, 500, "database error");
		else
			reply_send(id, c->generation, 200,
			    json_pack("{s:o}", "tentacles", j), NULL);
		return;
	case API_TENTACLE_ENROL:
		offer_start(c, id, a, user, client);
		return;
	case API_TENTACLE_APPROVE:
	case API_TENTACLE_REJECT:
		if ((rc = db_tentacle_get(m.db, tid, &t)) != 0) {
			reply_error(id, c->generation, rc == -1 ? 500 : 404,
			    rc == -1 ? "database error" : "no such tentacle");
			return;
		}
		crypto_wipe(t.key_hex, sizeof(t.key_hex));
		if (op == API_TENTACLE_REJECT &&
		    strcmp(t.enrolment, "pending") != 0) {
			reply_error(id, c->generation, 409, "only a pending "
			    "tentacle can be rejected; revoke it instead");
			return;
		}
		if (db_tentacle_set_enrolment(m.db, tid, op ==
		    API_TENTACLE_APPROVE ? "accepted" : "rejected") != 0) {
			reply_error(id, c->generation, 500, "database error");
			return;
		}
		snprintf(detail, sizeof(detail), "tentacle %lld (%s)",
		    (long long)tid, t.hostname);
		db_audit(m.db, user, op == API_TENTACLE_APPROVE ? "approve" :
		    "reject", client, detail);
		log_info("%s %s %s", user, op == API_TENTACLE_APPROVE ?
		    "approved" : "rejected", detail);
		if (op == API_TENTACLE_APPROVE)
			welcome_soon();
		reply_send(id, c->generation, 200, json_pack("{s:o}",
		    "tentacle", db_tentacle_json(m.db, tid)), NULL);
		return;
	case API_TENTACLE_REVOKE:
		if ((rc = db_tentacle_delete(m.db, tid)) != 0) {
			reply_error(id, c->generation, rc == -1 ? 500 : 404,
			    rc == -1 ? "database error" : "no such tentacle");
			return;
		}
		snprintf(detail, sizeof(detail), "tentacle %lld", (long long)tid);
		db_audit(m.db, user, "revoke", client, detail);
		log_info("%s revoked %s: its key is refused from now on", user,
		    detail);
		reply_send(id, c->generation, 200, json_pack("{s:b}", "ok", 1),
		    NULL);
		return;
	case API_TOKENS:
		if ((j = db_token_list(m.db)) == NULL)
			reply_error(id, c->generation, 500, "database error");
		else
			reply_send(id, c->generation, 200,
			    json_pack("{s:o}", "tokens", j), NULL);
		return;
	case API_TOKEN_CREATE:
		if (a->expires_in < 1 || a->expires_in > TOKEN_EXPIRES_MAX ||
		    a->uses < 1 || a->uses > TOKEN_USES_MAX) {
			reply_error(id, c->generation, 400, "expires_in or uses "
			    "out of range");
			return;
		}
		if ((j = enrol_token_create(m.db, user, (long)a->expires_in,
		    (long)a->uses, m.brain_fpr)) == NULL) {
			reply_error(id, c->generation, 500, "database error");
			return;
		}
		snprintf(detail, sizeof(detail), "token %lld: %u uses, %llu s",
		    (long long)json_integer_value(json_object_get(j, "id")),
		    a->uses, (unsigned long long)a->expires_in);
		db_audit(m.db, user, "token_create", client, detail);
		reply_send(id, c->generation, 201, j, NULL);
		return;
	case API_RUN_CREATE:
		run_create(c, id, a, user, client);
		return;
	case API_RUNS:
		reply_json_or_error(c, id, json_pack("{s:o*}", "runs",
		    db_run_list(m.db, api_id(a))), "runs");
		return;
	case API_RUN:
		reply_json_or_error(c, id, db_run_json(m.db, tid,
		    a->with_output, m.checks), NULL);
		return;
	case API_TENTACLE_RESULTS:
		reply_json_or_error(c, id, json_pack("{s:o*}", "results",
		    db_tentacle_results(m.db, tid, a->with_output,
		    m.checks)), "results");
		return;
	case API_RESULT:
		reply_json_or_error(c, id, db_result_json(m.db, tid, m.checks),
		    NULL);
		return;
	case API_SCRIPTS:
	case API_TENTACLE_SCRIPTS:
		reply_json_or_error(c, id, json_pack("{s:o*}", "scripts",
		    db_scripts_json(m.db, op == API_SCRIPTS ? 0 : tid)),
		    "scripts");
		return;
	case API_TOKEN_REVOKE:
		if ((rc = db_token_delete(m.db, tid)) != 0) {
			reply_error(id, c->generation, rc == -1 ? 500 : 404,
			    rc == -1 ? "database error" : "no such token");
			return;
		}
		snprintf(detail, sizeof(detail), "token %lld", (long long)tid);
		db_audit(m.db, user, "token_revoke", client, detail);
		reply_send(id, c->generation, 200, json_pack("{s:b}", "ok", 1),
		    NULL);
		return;
	}
}

/* 0.0.0.0, ::, or none: every address of the host. */
static int
addr_is_any(const char *a)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (a[0] == '\0')
		return 1;
	if (inet_pton(AF_INET, a, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	if (inet_pton(AF_INET6, a, &a6) == 1)
		return IN6_IS_ADDR_UNSPECIFIED(&a6);
	return 0;
}

void
handle_api(struct child *c, const struct ipc_msg *msg)
{
	struct api_call		 call;
	struct db_session	 s;
	const struct api_op_rule *rule;
	struct api_args		*a = &call.args;
	const char		*key = call.session, *csrf = call.csrf;
	const char		*client = call.client, *why;
	char			 key_hash[SHA256_LEN * 2 + 1];
	uint8_t			 digest[SHA256_LEN];
	uint32_t		 op, id = msg->hdr.id;
	time_t			 now = time(NULL);
	int			 rc;

	if (apicall_decode(msg->payload, msg->hdr.len, &call, &why) == -1) {
		log_warnx("webserv: API call: %s", why);
		child_misbehaved(c, "sent a malformed API call");
		return;
	}
	if (api_rules[call.op].name == NULL) {
		apicall_clear(&call);
		child_misbehaved(c, "sent a malformed API call");
		return;
	}
	op = call.op;
	rule = &api_rules[op];

	/* Session: looked up by the hash of its key. */
	if (strlen(key) != OCTO_TOKEN_HEX_LEN ||
	    crypto_sha256(key, strlen(key), digest) == -1) {
		reply_error(id, c->generation, 401, "not logged in");
		goto out;
	}
	crypto_wipe(call.session, sizeof(call.session));
	hex_encode(digest, sizeof(digest), key_hash);
	if ((rc = db_session_get(m.db, key_hash, &s)) == -1) {
		reply_error(id, c->generation, 500, "database error");
		goto out;
	}
	if (rc == DB_NOTFOUND) {
		reply_error(id, c->generation, 401, "not logged in");
		goto out;
	}
	if (now - s.last_active >= m.conf.session_timeout) {
		db_session_delete(m.db, key_hash);
		log_info("session of %s expired", s.user);
		reply_error(id, c->generation, 401,
		    "session expired: please log in again");
		goto out;
	}
	if (role_parse(s.role) < rule->min_role) {
		reply_error(id, c->generation, 403,
		    "your role does not allow this");
		goto out;
	}
	if (rule->mutating && (strlen(csrf) != strlen(s.csrf) ||
	    !crypto_equal(csrf, s.csrf, strlen(s.csrf)))) {
		log_warnx("%s: %s by %s without a valid CSRF token", client,
		    rule->name, s.user);
		reply_error(id, c->generation, 403,
		    "missing or wrong CSRF token");
		goto out;
	}
	/* The page's own refreshes do not keep an idle session alive. */
	if (!call.background && now != s.last_active)
		db_session_touch(m.db, key_hash, now);

	switch (op) {
	case API_SESSION:
		/* brain_address: where tentacles enrol (the page writes the
		 * octoTentacle -b command); null when listening on every
		 * address (the page uses its own host then). */
		reply_send(id, c->generation, 200, json_pack(
		    "{s:{s:s,s:s},s:s,s:I,s:s?,s:I}", "user", "name", s.user,
		    "role", s.role, "csrf", s.csrf, "session_timeout",
		    (json_int_t)m.conf.session_timeout, "brain_address",
		    addr_is_any(m.conf.listen_address) ? NULL :
		    m.conf.listen_address, "registerer_port",
		    (json_int_t)m.conf.registerer_port), NULL);
		break;
	case API_HEALTH:
		reply_send(id, c->generation, 200, health_json(), NULL);
		break;
	case API_LOGOUT:
		db_session_delete(m.db, key_hash);
		db_audit(m.db, s.user, "logout", client, "");
		log_info("user %s logged out", s.user);
		reply_send(id, c->generation, 200, json_pack("{s:b}", "ok", 1),
		    "-");
		break;
	case API_USERS:
	case API_USER_CREATE:
	case API_USER_DELETE:
	case API_USER_PASSWORD:
	case API_AUDIT:
		api_users(c, id, op, a, &s, key_hash, client);
		break;
	default:
		api_manage(c, id, op, a, s.user, client);
	}
out:
	apicall_clear(&call);
}
