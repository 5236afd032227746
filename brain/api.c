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

#include <bsd/string.h>
#include <jansson.h>

#include "buf.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"

/* ---- replies to the webserv ------------------------------------------ */

void
reply_send(uint32_t id, unsigned generation, int status, json_t *body,
    const char *cookie)
{
	char	*text;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		/* Views make their text valid UTF-8: this is memory (or a
		 * bug). Answer anyway, the client must not wait for nothing. */
		log_warnx("cannot encode the reply to request %u", id);
		reply_send_text(id, generation, 500, "{\"error\":\"cannot "
		    "encode the reply\"}", NULL);
		return;
	}
	reply_send_text(id, generation, status, text, cookie);
	free(text);
}

void
reply_send_text(uint32_t id, unsigned generation, int status,
    const char *text, const char *cookie)
{
	struct child		*ws = &children[CHILD_WEBSERV];
	struct ipc_api_reply	 r;
	struct buf		 b;
	int			 rc;

	/* The webserv that asked may have died since: drop the reply. */
	if (ws->chan == NULL || ws->generation != generation)
		return;
	memset(&r, 0, sizeof(r));
	r.status = (uint32_t)status;
	r.json = text;
	r.json_len = strlen(text);
	rc = -1;
	buf_init(&b, IPC_PAYLOAD_MAX);
	/* Room for it all at once: a page of the fleet is copied once, not
	 * again at each doubling (a reply too large fails below). */
	(void)buf_reserve(&b, r.json_len + sizeof(r.cookie) + 64);
	if (strlcpy(r.cookie, cookie ? cookie : "", sizeof(r.cookie)) <
	    sizeof(r.cookie) && (rc = ipcmsg_encode_api_reply(&b, &r)) == 0)
		ipc_send(ws->chan, IPC_API_REPLY, id, b.data, b.len);
	buf_free(&b);		/* wipes the session key */
	crypto_wipe(r.cookie, sizeof(r.cookie));
	if (rc == -1) {
		/* Too large (or a bug): a small answer, never twice. */
		log_warnx("reply %u does not fit IPC_API_REPLY", id);
		if (status != 500)
			reply_error(id, generation, 500, "the answer is too "
			    "large");
	}
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
		if (c->generation == 0 && c->state == CHILD_DOWN)
			continue;	/* the exporter, with no target */
		json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:I}",
		    "name", c->name,
		    "state", c->state == CHILD_UP ? "up" : "restarting",
		    "pid", (json_int_t)(c->state == CHILD_UP ? c->pid : 0),
		    "restarts", (json_int_t)c->restarts));
	}
	return json_pack("{s:o,s:I,s:I,s:s,s:I,s:o*,s:o*}", "children", list,
	    "refused_handshakes", (json_int_t)m.refused_handshakes,
	    "protocol_errors", (json_int_t)m.protocol_errors,
	    "version", OCTO_VERSION,
	    "uptime", (json_int_t)(time(NULL) - m.started),
	    "keepalive", keepalive_json(), "ledger", ledger_check_json());
}

int64_t
api_id(const struct api_args *a)
{
	return a->id > INT64_MAX ? 0 : (int64_t)a->id;
}

void
api_reply(const struct api_req *r, int status, json_t *body)
{
	reply_send(r->id, r->c->generation, status, body, NULL);
}

void
api_error(const struct api_req *r, int status, const char *msg)
{
	reply_error(r->id, r->c->generation, status, msg);
}

/* 200 with j; NULL is "not found", or a database error when the reply
 * wraps a list (member names it). */
void
api_reply_or_error(const struct api_req *r, json_t *j, const char *member)
{
	if (j == NULL || (member && json_object_get(j, member) == NULL)) {
		json_decref(j);
		api_error(r, member ? 500 : 404, member ? "database error" :
		    "not found");
	} else
		api_reply(r, 200, j);
}

void
api_session(const struct api_req *r)
{
	/* brain_address: where tentacles enrol (the page writes the
	 * octoTentacle -b command); null when listening on every address
	 * (the page uses its own host then). */
	api_reply(r, 200, json_pack("{s:{s:s,s:s,s:b},s:s,s:I,s:s?,s:I,s:b}",
	    "user", "name", r->s->user, "role", r->s->role, "totp",
	    r->s->totp, "csrf", r->s->csrf,
	    "session_timeout", (json_int_t)m.conf.session_timeout,
	    "brain_address", m.conf.advertise_address[0] == '\0' ? NULL :
	    m.conf.advertise_address, "registerer_port",
	    (json_int_t)m.conf.registerer_port, "totp_setup_required",
	    totp_must_set_up(r->s)));
}

void
api_health(const struct api_req *r)
{
	api_reply(r, 200, health_json());
}

void
api_logout(const struct api_req *r)
{
	db_session_delete(m.db, r->key_hash);
	db_audit(m.db, r->s->user, "logout", r->client, "");
	log_info("user %s logged out", r->s->user);
	reply_send(r->id, r->c->generation, 200, json_pack("{s:b}", "ok", 1),
	    "-");
}

/* The handler column of apiops.h's table. */
static api_handler *const api_handlers[API_OP_MAX] = {
#define API_OP_HANDLER(op, name, method, route, role, mutating, args, fn) \
	[API_##op] = fn,
	API_OPS(API_OP_HANDLER)
#undef API_OP_HANDLER
};

void
handle_api(struct child *c, const struct ipc_msg *msg)
{
	struct api_call		 call;
	struct db_session	 s;
	struct api_req		 r;
	const struct api_op_def	*def;
	const char		*key = call.session, *why;
	char			 key_hash[SHA256_LEN * 2 + 1];
	uint8_t			 digest[SHA256_LEN];
	uint32_t		 id = msg->hdr.id;
	time_t			 now = time(NULL);
	int			 rc;

	if (apicall_decode(msg->payload, msg->hdr.len, &call, &why) == -1) {
		log_warnx("webserv: API call: %s", why);
		child_misbehaved(c, "sent a malformed API call");
		return;
	}
	def = api_op_get(call.op);	/* not NULL: apicall_decode checked */

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
	switch (api_op_allowed(def, s.role, call.csrf, s.csrf)) {
	case API_ALLOWED:
		break;
	case API_DENIED_ROLE:
		reply_error(id, c->generation, 403,
		    "your role does not allow this");
		goto out;
	case API_DENIED_CSRF:
		log_warnx("%s: %s by %s without a valid CSRF token",
		    call.client, def->name, s.user);
		reply_error(id, c->generation, 403,
		    "missing or wrong CSRF token");
		goto out;
	}
	/* totp_required: a user without a TOTP sets one up first. */
	if (totp_must_set_up(&s) && !api_op_before_totp(def->op)) {
		reply_send(id, c->generation, 403, json_pack("{s:s,s:b}",
		    "error", "your account needs two-factor authentication: "
		    "set up a TOTP first (Account page)",
		    "totp_setup_required", 1), NULL);
		goto out;
	}
	/* The page's own refreshes do not keep an idle session alive. */
	if (!call.background && now != s.last_active)
		db_session_touch(m.db, key_hash, now);

	r.c = c;
	r.id = id;
	r.def = def;
	r.a = &call.args;
	r.s = &s;
	r.key_hash = key_hash;
	r.client = call.client;
	api_handlers[def->op](&r);
out:
	apicall_clear(&call);
}
