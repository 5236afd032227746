/*
 * The fleet: enrolment requests from the registerer, enrolment by address
 * (offers; the key delivered wrapped for the tentacle), what a tentacle
 * reports of itself (inventory) when its keepalive is answered. The
 * keepalive and the welcome ping are in keepalive.c, the handshakes'
 * proofs in proofs.c.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "buf.h"
#include "crypto.h"
#include "enrol.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"
#include "net.h"
#include "proto.h"
#include "refusals.h"
#include "wire.h"

/* Enrolments by address in progress: the webserv request waits for the
 * registerer's IPC_ENROL_OFFER_DONE. */
#define OFFERS_MAX		64
#define OFFER_TIMEOUT_S		120	/* the registerer times out first */

struct offer {
	uint32_t	number;		/* 0 = free */
	uint32_t	reqid;		/* webserv request */
	unsigned	generation;	/* of that webserv */
	char		user[OCTO_NAME_MAX];
	char		client[OCTO_ADDR_MAX];
	char		target[OCTO_ADDR_MAX + 8];	/* "addr:port" */
	time_t		since;
	/* The pairing code's key (proto_pairing_key), when one was given:
	 * its proofs are made once (offer_pairing_proofs). */
	int		has_code;
	int		proofs_made;
	uint8_t		pairing_key[PROTO_KEY_LEN];
};

static struct offer	offers[OFFERS_MAX];
static uint32_t		next_offer;

/* The tentacle's own account of its scripts, checked before storing. */
static json_t *
inventory_scripts(const char *text, size_t len)
{
	json_t	*list, *v, *name, *sha, *desc, *ver;
	size_t	 i;

	list = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(list) || json_array_size(list) > 1000)
		goto bad;
	json_array_foreach(list, i, v) {
		name = json_object_get(v, "name");
		sha = json_object_get(v, "sha256");
		desc = json_object_get(v, "description");
		/* A managed script's version (issue 14); none: local. */
		ver = json_object_get(v, "version");
		if (!json_is_string(name) || !json_is_string(sha) ||
		    (desc && !json_is_string(desc)) ||
		    (ver && (!json_is_integer(ver) ||
		    json_integer_value(ver) < 0 ||
		    json_integer_value(ver) > (1LL << 53))) ||
		    !proto_script_name_valid(json_string_value(name)) ||
		    !proto_fingerprint_valid(json_string_value(sha)) ||
		    (desc && json_string_length(desc) > 200))
			goto bad;
		if (desc == NULL)
			json_object_set_new(v, "description", json_string(""));
	}
	return list;
bad:
	json_decref(list);
	return NULL;
}

/*
 * Keepalive answers are stored in batches (issue 18: at 10,000 tentacles,
 * 333 a second, each was three write transactions of its own): queued
 * here, parsed, and stored together in one transaction SEEN_FLUSH_MS
 * later, or at once when SEEN_BATCH_MAX wait. Each answer's writes are
 * a savepoint of their own: one that fails is undone alone, as its own
 * transaction was. The ping itself is answered at once (keepalive.c).
 */
#define SEEN_BATCH_MAX	256
#define SEEN_FLUSH_MS	100

struct seen {
	uint64_t	 tentacle;
	char		*facts;		/* the tentacle's text, or NULL */
	json_t		*fj;		/* facts parsed (an object), or NULL */
	json_t		*scripts;	/* its script list, or NULL */
};

static struct seen	 seen_batch[SEEN_BATCH_MAX];
static int		 seen_n;
static struct event	*seen_ev;

/* One answer's writes, in the batch's transaction (in_tx) or not. */
static void
seen_store(struct seen *a, int in_tx)
{
	int64_t		 tid = (int64_t)a->tentacle;
	json_int_t	 uptime;
	int		 ok;
	struct timespec	 now;

	/* Its command worker started after it acknowledged these. The
	 * tentacle tells its uptime, not a time: clocks of two hosts may
	 * differ, a duration does not. The margin covers the answer's
	 * journey (and its wait in this batch); a job it wrongly catches
	 * is put right by its result. */
	uptime = json_integer_value(json_object_get(a->fj, "uptime_ms"));
	if (a->facts && uptime > 0 && uptime < 100LL * 365 * 86400 * 1000) {
		clock_gettime(CLOCK_REALTIME, &now);
		jobs_lost(tid, (int64_t)now.tv_sec * 1000 +
		    now.tv_nsec / 1000000 - uptime - 100 - SEEN_FLUSH_MS,
		    "the tentacle restarted during the run");
	}
	if ((in_tx ? db_savepoint(m.db) : db_begin(m.db)) == 0) {
		tentacle_seen_event(tid);
		ok = db_tentacle_seen(m.db, tid, a->facts) != -1 &&
		    (a->scripts == NULL || db_tentacle_scripts_set(m.db, tid,
		    a->scripts) != -1);
		if (ok && a->facts)
			groups_propose(tid, a->fj);
		if (in_tx)
			db_savepoint_end(m.db, ok);
		else if (!ok || db_commit(m.db) == -1)
			db_rollback(m.db);
	}
	/* Managed scripts it lacks (issue 14). */
	push_reconcile(tid, a->facts ? a->fj : NULL, a->scripts);
	groups_tentacle_back(tid);
}

static void
seen_flush(evutil_socket_t fd, short events, void *arg)
{
	struct seen	*a;
	int		 i, in_tx;

	if (seen_n == 0)
		return;
	in_tx = db_begin(m.db) == 0;
	for (i = 0; i < seen_n; i++)
		seen_store(&seen_batch[i], in_tx);
	if (in_tx && db_commit(m.db) == -1) {
		log_warnx("keepalive: %d answers not stored", seen_n);
		db_rollback(m.db);
	}
	for (i = 0; i < seen_n; i++) {
		a = &seen_batch[i];
		free(a->facts);
		json_decref(a->fj);
		json_decref(a->scripts);
		memset(a, 0, sizeof(*a));
	}
	seen_n = 0;
}

void
seen_stop(void)
{
	seen_flush(-1, 0, NULL);
	if (seen_ev != NULL)
		event_free(seen_ev);
	seen_ev = NULL;
}

void
handle_tentacle_seen(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_tentacle_seen ts;
	struct wire_frame	 f;
	struct msg_inventory	 inv;
	struct seen		*a;
	struct timeval		 tv = { 0, SEEN_FLUSH_MS * 1000 };
	uint64_t		 tid;
	const char		*why;

	if (ipcmsg_decode_tentacle_seen(msg->payload, msg->hdr.len, &ts,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed keepalive answer");
		return;
	}
	tid = ts.tentacle;
	keepalive_answered(tid);
	if (seen_n >= SEEN_BATCH_MAX)
		seen_flush(-1, 0, NULL);
	a = &seen_batch[seen_n++];
	memset(a, 0, sizeof(*a));
	a->tentacle = tid;
	if (ts.inventory_len > 0) {
		f.type = WIRE_INVENTORY;
		f.len = (uint32_t)ts.inventory_len;
		f.payload = ts.inventory;
		if (proto_decode_inventory(&f, &inv, &why) == 0) {
			a->fj = json_loads(inv.facts, JSON_REJECT_DUPLICATES,
			    NULL);
			if (json_is_object(a->fj) &&
			    (a->facts = strdup(inv.facts)) == NULL)
				log_warnx("tentacle %llu: out of memory: its "
				    "facts wait for the next keepalive",
				    (unsigned long long)tid);
			a->scripts = inventory_scripts(inv.scripts,
			    inv.scripts_len);
			if (a->scripts == NULL)
				log_warnx("tentacle %llu: malformed script "
				    "list ignored", (unsigned long long)tid);
		} else
			log_warnx("tentacle %llu: inventory: %s",
			    (unsigned long long)tid, why);
	}
	if (seen_ev == NULL && (seen_ev = evtimer_new(m.base, seen_flush,
	    NULL)) == NULL) {
		seen_flush(-1, 0, NULL);
		return;
	}
	if (!evtimer_pending(seen_ev, NULL))
		evtimer_add(seen_ev, &tv);
}

void
handle_tentacle_missed(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_tentacle_missed	 tm;
	uint64_t			 tid;
	const char			*why, *reason;
	int				 offline;

	if (ipcmsg_decode_tentacle_missed(msg->payload, msg->hdr.len, &tm,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed keepalive miss");
		return;
	}
	tid = tm.tentacle;
	reason = tm.reason;
	keepalive_answered(tid);
	if (db_tentacle_missed(m.db, (int64_t)tid, m.conf.keepalive_misses,
	    &offline) == 0 && offline) {
		log_warnx("tentacle %llu is offline (%lld pings missed; last: "
		    "%s)", (unsigned long long)tid, m.conf.keepalive_misses,
		    reason);
		tentacle_event("tentacle.offline", (int64_t)tid, json_pack(
		    "{s:I,s:s}", "misses", (json_int_t)m.conf.keepalive_misses,
		    "reason", reason));
		jobs_lost((int64_t)tid, INT64_MAX, "the tentacle went "
		    "offline during the run");
	}
}

/* ---- the API's fleet operations: tentacles and enrolment tokens ------ */

/* Approve or reject a tentacle that enrolled. */
void
api_tentacle_decide(const struct api_req *r)
{
	struct db_tentacle	 t;
	const char		*user = r->s->user;
	char			 detail[96];
	int64_t			 tid = api_id(r->a);
	int			 approve = r->def->op == API_TENTACLE_APPROVE;
	int			 rc;

	if ((rc = db_tentacle_get(m.db, tid, &t)) != 0) {
		api_error(r, rc == -1 ? 500 : 404, rc == -1 ?
		    "database error" : "no such tentacle");
		return;
	}
	crypto_wipe(t.key_hex, sizeof(t.key_hex));
	if (!approve && strcmp(t.enrolment, "pending") != 0) {
		api_error(r, 409, "only a pending tentacle can be rejected; "
		    "revoke it instead");
		return;
	}
	if (db_tentacle_set_enrolment(m.db, tid, approve ? "accepted" :
	    "rejected") != 0) {
		api_error(r, 500, "database error");
		return;
	}
	snprintf(detail, sizeof(detail), "tentacle %lld (%s)",
	    (long long)tid, t.hostname);
	db_audit(m.db, user, approve ? "approve" : "reject", r->client, detail);
	log_info("%s %s %s", user, approve ? "approved" : "rejected", detail);
	tentacle_addresses_changed();
	if (approve)
		welcome_soon();
	api_reply(r, 200, json_pack("{s:o}", "tentacle",
	    view_tentacle(m.db, tid)));
}

/* Revoke a tentacle or a token: deleted, audited, {"ok": true}. 0 when
 * done (detail says what), -1 when the reply was an error. */
static int
revoke(const struct api_req *r, int (*del)(struct db *, int64_t),
    const char *what, const char *action, char *detail, size_t len)
{
	char	nosuch[32];
	int64_t	id = api_id(r->a);
	int	rc;

	if ((rc = del(m.db, id)) != 0) {
		snprintf(nosuch, sizeof(nosuch), "no such %s", what);
		api_error(r, rc == -1 ? 500 : 404, rc == -1 ?
		    "database error" : nosuch);
		return -1;
	}
	snprintf(detail, len, "%s %lld", what, (long long)id);
	db_audit(m.db, r->s->user, action, r->client, detail);
	api_reply(r, 200, json_pack("{s:b}", "ok", 1));
	return 0;
}

void
api_tentacle_revoke(const struct api_req *r)
{
	char	detail[96];

	if (revoke(r, db_tentacle_delete, "tentacle", "revoke", detail,
	    sizeof(detail)) == 0) {
		log_info("%s revoked %s: its key is refused from now on",
		    r->s->user, detail);
		tentacle_addresses_changed();
	}
}

void
api_tokens(const struct api_req *r)
{
	api_reply_or_error(r, json_pack("{s:o*}", "tokens",
	    view_tokens(m.db)), "tokens");
}

void
api_token_create(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	json_t			*j;
	char			 detail[96];

	if (a->expires_in < 1 || a->expires_in > TOKEN_EXPIRES_MAX ||
	    a->uses < 1 || a->uses > TOKEN_USES_MAX) {
		api_error(r, 400, "expires_in or uses out of range");
		return;
	}
	if ((j = enrol_token_create(m.db, r->s->user, (long)a->expires_in,
	    (long)a->uses, m.brain_fpr)) == NULL) {
		api_error(r, 500, "database error");
		return;
	}
	snprintf(detail, sizeof(detail), "token %lld: %u uses, %llu s",
	    (long long)json_integer_value(json_object_get(j, "id")),
	    a->uses, (unsigned long long)a->expires_in);
	db_audit(m.db, r->s->user, "token_create", r->client, detail);
	api_reply(r, 201, j);
}

void
api_token_revoke(const struct api_req *r)
{
	char	detail[96];

	revoke(r, db_token_delete, "token", "token_revoke", detail,
	    sizeof(detail));
}

/* Every script any tentacle has, or one tentacle's. */
void
api_scripts(const struct api_req *r)
{
	uint8_t	pub[PROTO_SIGN_PUB_LEN];
	char	hex[2 * PROTO_SIGN_PUB_LEN + 1];
	json_t	*j;

	j = json_pack("{s:o*}", "scripts", r->def->op == API_SCRIPTS ?
	    view_scripts_fleet(m.db) : view_scripts(m.db, api_id(r->a)));
	/* The key the managed scripts' signatures check with (issue 14). */
	if (j != NULL && r->def->op == API_SCRIPTS &&
	    scriptkey_public(pub) == 0) {
		hex_encode(pub, sizeof(pub), hex);
		json_object_set_new(j, "signing_key", json_string(hex));
	}
	api_reply_or_error(r, j, "scripts");
}

/* ---- enrolment by address -------------------------------------------- */

void
api_tentacle_enrol(const struct api_req *r)
{
	struct child	*c = r->c, *reg = &children[CHILD_REGISTERER];
	const struct api_args *a = r->a;
	const char	*user = r->s->user, *client = r->client;
	uint32_t	 reqid = r->id;
	struct offer	*o = NULL;
	struct ipc_enrol_offer eo;
	size_t		 i;

	if (!net_addr_valid(a->address) || a->port == 0 || a->port > 65535) {
		reply_error(reqid, c->generation, 400,
		    "address must be a numeric IP address, port 1-65535");
		return;
	}
	if (reg->chan == NULL) {
		reply_error(reqid, c->generation, 503,
		    "the registerer is restarting; try again");
		return;
	}
	for (i = 0; i < OFFERS_MAX; i++)
		if (offers[i].number == 0) {
			o = &offers[i];
			break;
		}
	if (o == NULL) {
		reply_error(reqid, c->generation, 503,
		    "too many enrolments in progress");
		return;
	}
	if (++next_offer == 0)
		next_offer = 1;
	o->number = next_offer;
	o->reqid = reqid;
	o->generation = c->generation;
	o->since = time(NULL);
	strlcpy(o->user, user, sizeof(o->user));
	strlcpy(o->client, client, sizeof(o->client));
	snprintf(o->target, sizeof(o->target), "%s:%u", a->address, a->port);
	o->has_code = a->pairing_code[0] != '\0';
	o->proofs_made = 0;
	if (o->has_code && proto_pairing_key(a->pairing_code, o->pairing_key) == -1) {
		o->number = 0;
		reply_error(reqid, c->generation, 500, "internal error");
		return;
	}

	memset(&eo, 0, sizeof(eo));
	strlcpy(eo.address, a->address, sizeof(eo.address));
	eo.port = a->port;
	eo.pairing = o->has_code ? 1 : 0;
	if (ipcmsg_send_enrol_offer(reg->chan, IPC_ENROL_OFFER, o->number,
	    &eo) == -1) {
		crypto_wipe(o->pairing_key, sizeof(o->pairing_key));
		o->number = 0;
		reply_error(reqid, c->generation, 500, "internal error");
	} else
		log_info("%s asked to enrol the host at %s", user, o->target);
}

static struct offer *
offer_find(uint32_t number)
{
	size_t	i;

	for (i = 0; i < OFFERS_MAX; i++)
		if (number != 0 && offers[i].number == number)
			return &offers[i];
	return NULL;
}

static void
offer_finish(struct offer *o, int status, json_t *body, const char *error)
{
	char	detail[OCTO_ADDR_MAX + 8 + 200];

	snprintf(detail, sizeof(detail), "%s: %s", o->target,
	    error ? error : "enrolled");
	db_audit(m.db, o->user, error ? "enrol_failed" : "enrol", o->client,
	    detail);
	if (error) {
		log_warnx("enrolment of %s failed: %s", o->target, error);
		json_decref(body);
		reply_error(o->reqid, o->generation, status, error);
	} else
		reply_send(o->reqid, o->generation, status, body, NULL);
	crypto_wipe(o->pairing_key, sizeof(o->pairing_key));
	o->has_code = o->proofs_made = 0;
	o->number = 0;
}

/*
 * The pairing code's proofs for an offer's session (IPC_PAIR_MAKE): ours
 * and the tentacle's, once per offer (a child cannot use the code against
 * another session). 0, 1 if that offer has no code or its proofs were
 * made (the child asked for what it may not), -1 if it has gone.
 */
int
offer_pairing_proofs(uint32_t number,
    const uint8_t exporter[PROTO_EXPORTER_LEN],
    uint8_t ours[PROTO_MAC_LEN], uint8_t theirs[PROTO_MAC_LEN])
{
	struct offer	*o;

	if ((o = offer_find(number)) == NULL)
		return -1;
	if (!o->has_code || o->proofs_made)
		return 1;
	o->proofs_made = 1;
	if (proto_pairing_proof(o->pairing_key, PAIRING_BRAIN, exporter,
	    ours) == -1 || proto_pairing_proof(o->pairing_key,
	    PAIRING_TENTACLE, exporter, theirs) == -1)
		return -1;
	crypto_wipe(o->pairing_key, sizeof(o->pairing_key));
	return 0;
}

/* The registerer died or an offer got no answer: fail what waits. */
void
offers_expire(int all)
{
	time_t	now = time(NULL);
	size_t	i;

	for (i = 0; i < OFFERS_MAX; i++)
		if (offers[i].number != 0 && (all ||
		    now - offers[i].since > OFFER_TIMEOUT_S))
			offer_finish(&offers[i], 504, NULL, all ?
			    "the registerer restarted during the enrolment" :
			    "no answer from the registerer");
}

void
handle_offer_done(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_enrol_offer_done	 d;
	struct offer			*o;
	const char			*why;

	if (ipcmsg_decode_enrol_offer_done(msg->payload, msg->hdr.len, &d,
	    &why) == -1 || (!d.ok && d.http_status < 400)) {
		child_misbehaved(c, "sent a malformed enrolment outcome");
		return;
	}
	if ((o = offer_find(msg->hdr.id)) == NULL)
		return;		/* expired meanwhile */
	if (d.ok)
		offer_finish(o, 201, json_pack("{s:o*}", "tentacle",
		    view_tentacle(m.db, (int64_t)d.tentacle)), NULL);
	else
		offer_finish(o, (int)d.http_status, NULL, d.error);
}

/* ---- enrolment: the registerer asks ---------------------------------- */

/*
 * The registerer relays a tentacle's ENROL_REQUEST. The maestro decodes
 * it again (it trusts no child with what goes into the database), decides,
 * and answers with the key wrapped for the tentacle under a fresh X25519
 * key of its own (proto_enrol_wrap): the registerer never sees it.
 */
void
handle_enrol_request(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_enrol_request ir;
	struct ipc_enrol_reply	 out;
	struct wire_frame	 f;
	struct msg_enrol_request req;
	struct msg_enrol_reply	 reply;
	uint8_t			 key[PROTO_KEY_LEN];
	char			 detail[OCTO_NAME_MAX + NET_PEER_MAX + 96];
	char			 actor[32];
	const char		*why = NULL;
	int			 ok, rc = ENROL_REFUSED;

	if (ipcmsg_decode_enrol_request(msg->payload, msg->hdr.len, &ir,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed enrolment request");
		return;
	}
	f.type = WIRE_ENROL_REQUEST;
	f.len = (uint32_t)ir.frame_len;
	f.payload = ir.frame;
	memset(&req, 0, sizeof(req));
	memset(&reply, 0, sizeof(reply));
	memset(key, 0, sizeof(key));
	if (proto_decode_enrol_request(&f, &req, &why) == -1)
		ok = 0;
	else if (!proto_enrol_pub_valid(req.enrol_pub)) {
		why = "bad enrolment public key";
		ok = 0;
	} else if (!crypto_equal(req.fingerprint, ir.fingerprint,
	    OCTO_FPR_HEX_LEN)) {
		why = "the announced fingerprint is not the TLS certificate's";
		ok = 0;
	} else
		ok = (rc = enrol_tentacle(m.db, &(struct enrol_policy){
		    strcmp(m.conf.enrolment_without_token, "refuse") == 0,
		    m.conf.pending_max, m.conf.enrolment_rate }, &req,
		    ir.offer != 0, ir.source, &reply, key, &why, detail,
		    sizeof(detail))) == ENROL_OK;
	crypto_wipe(req.token, sizeof(req.token));
	/* The script-signing key goes with it, covered by the wrapping
	 * (issue 14): the tentacle pins it. */
	if (ok && scriptkey_public(reply.sign_pub) == 0)
		reply.has_sign_pub = 1;
	if (ok && proto_enrol_wrap(req.enrol_pub, ir.exporter, key,
	    &reply) == -1) {
		/* The row made is useless to anyone: no key known outside
		 * (the admin revokes it). */
		why = "internal error";
		ok = 0;
	}
	crypto_wipe(key, sizeof(key));
	crypto_wipe(ir.exporter, sizeof(ir.exporter));

	if (ok) {
		snprintf(actor, sizeof(actor), "tentacle:%llu",
		    (unsigned long long)reply.id);
		db_audit(m.db, actor, "enrolled", ir.source, detail);
		event_emit("tentacle.enrolled", (int64_t)reply.id,
		    req.hostname, NULL, json_pack("{s:s,s:s}", "source",
		    ir.source, "enrolment",
		    proto_enrolment_str(reply.status)));
		log_info("tentacle %llu enrolled: %s",
		    (unsigned long long)reply.id, detail);
		if (reply.status == ENROLMENT_ACCEPTED) {
			tentacle_addresses_changed();
			welcome_soon();
		}
	} else if (rc == ENROL_THROTTLED) {
		/* As many as a stranger likes: one audit row per address
		 * and minute with a count, one log line. */
		m.refused_handshakes++;
		snprintf(detail, sizeof(detail), "enrolment refused: %s", why);
		if (refusal_audit(m.db, time(NULL), "system",
		    "enrolment_refused", ir.source, detail) == 1)
			log_warnx("%s: %s (limit %lld a minute; the next "
			    "ones this minute are counted in the audit log "
			    "only)", ir.source, detail, m.conf.enrolment_rate);
	} else {
		m.refused_handshakes++;
		snprintf(detail, sizeof(detail), "enrolment refused: %s", why);
		db_audit(m.db, "system", "enrolment_refused", ir.source,
		    detail);
		log_warnx("%s: %s", ir.source, detail);
	}
	memset(&out, 0, sizeof(out));
	out.ok = ok;
	if (ok) {
		out.status = reply.status;
		out.id = reply.id;
		memcpy(out.brain_pub, reply.brain_pub, sizeof(out.brain_pub));
		memcpy(out.wrapped_key, reply.wrapped_key,
		    sizeof(out.wrapped_key));
		out.has_sign_pub = reply.has_sign_pub;
		memcpy(out.sign_pub, reply.sign_pub, sizeof(out.sign_pub));
	} else
		ipcmsg_text(out.error, sizeof(out.error), why);
	ipcmsg_send_enrol_reply(c->chan, IPC_ENROL_REPLY, msg->hdr.id, &out);
	crypto_wipe(&reply, sizeof(reply));
}
