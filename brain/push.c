/*
 * Managed scripts to the tentacles (issue 14). At each keepalive answer,
 * the tentacle's inventory says whether it takes managed scripts
 * (facts "managed_scripts"), which signing key it pinned (facts
 * "script_signing_key", hex; "" none) and which version of each it holds; what it lacks or
 * holds older is pushed (a SIGNKEY first if it has no key), and what was
 * deleted is deleted, through the commander over one PURPOSE_SCRIPT
 * connection (IPC_SCRIPT_PUSH): the frames are encoded and signed here,
 * the commander only carries them. A copy at the latest version whose
 * hash is not the one signed was changed on the host: it is evidence, not
 * pushed over (the view shows it tampered). One push per tentacle at a
 * time; a tentacle offline gets its push when it answers again.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"
#include "proto.h"
#include "wire.h"

/* Pushes at once (each one connection of the commander's); a push whose
 * end never came is forgotten after PUSH_TIMEOUT_S. */
#define PUSHES_MAX	256
#define PUSH_TIMEOUT_S	300

struct push {
	int64_t	tentacle;	/* 0: free */
	time_t	since;
	int	installed;	/* a put acknowledged: jobs may be ready */
};

static struct push	pushes[PUSHES_MAX];

static struct push *
push_find(int64_t tentacle)
{
	time_t	now = time(NULL);
	size_t	i;

	for (i = 0; i < PUSHES_MAX; i++)
		if (pushes[i].tentacle == tentacle) {
			if (now - pushes[i].since <= PUSH_TIMEOUT_S)
				return &pushes[i];
			pushes[i].tentacle = 0;
		}
	return NULL;
}

static struct push *
push_new(int64_t tentacle)
{
	time_t	now = time(NULL);
	size_t	i;

	for (i = 0; i < PUSHES_MAX; i++)
		if (pushes[i].tentacle == 0 ||
		    now - pushes[i].since > PUSH_TIMEOUT_S) {
			pushes[i].tentacle = tentacle;
			pushes[i].since = now;
			pushes[i].installed = 0;
			return &pushes[i];
		}
	return NULL;
}

/* The commander died: its pushes with it (the next keepalive retries). */
void
push_commander_gone(void)
{
	memset(pushes, 0, sizeof(pushes));
}

/* A tentacle's copies as its last inventory gave them. */
static void
copy_json(const struct db_script_row *r, void *arg)
{
	json_array_append_new(arg, json_pack("{s:s,s:s,s:I}", "name",
	    r->name, "sha256", r->sha256, "version", (json_int_t)r->version));
}

static void
managed_one(int64_t tentacle, const char *facts, void *arg)
{
	json_array_append_new(arg, json_pack("[I,s]", (json_int_t)tentacle,
	    facts));
}

static void
push_now(evutil_socket_t fd, short events, void *arg)
{
	json_t	*list = json_array(), *t, *f, *scripts;
	int64_t	 tid;
	size_t	 i;

	/* Listed first: push_reconcile writes to the tentacles' rows. */
	if (list == NULL ||
	    db_tentacles_managed_each(m.db, managed_one, list) == -1) {
		json_decref(list);
		return;
	}
	json_array_foreach(list, i, t) {
		tid = (int64_t)json_integer_value(json_array_get(t, 0));
		f = json_loads(json_string_value(json_array_get(t, 1)),
		    JSON_REJECT_DUPLICATES, NULL);
		scripts = json_array();
		if (json_is_object(f) && scripts != NULL &&
		    db_scripts_each(m.db, tid, copy_json, scripts) == 0)
			push_reconcile(tid, f, scripts);
		json_decref(scripts);
		json_decref(f);
	}
	json_decref(list);
}

/* A script changed: push it now to the tentacles that take managed
 * scripts, from what their last inventories said (those that lack a
 * push at the next keepalive get it then). */
void
push_soon(void)
{
	struct timeval	tv = { 0, 0 };

	event_base_once(m.base, -1, EV_TIMEOUT, push_now, NULL, &tv);
}

/* ---- what a tentacle lacks ------------------------------------------- */

struct wants {
	int64_t		 tentacle;
	json_t		*scripts;	/* its inventory's */
	json_t		*puts;		/* [[name, version]] to send */
	struct buf	 frames;
	int		 full;
};

/* The inventory's entry of name: its version (0: local or none) and
 * hash (NULL: none). */
static int64_t
held(json_t *scripts, const char *name, const char **sha)
{
	json_t	*v;
	size_t	 i;

	*sha = NULL;
	json_array_foreach(scripts, i, v)
		if (strcmp(json_string_value(json_object_get(v, "name")),
		    name) == 0) {
			*sha = json_string_value(json_object_get(v, "sha256"));
			return json_integer_value(json_object_get(v,
			    "version"));
		}
	return 0;
}

static void
want_put(const struct db_managed_row *r, void *arg)
{
	struct wants	*w = arg;
	const char	*sha;
	int64_t		 v = held(w->scripts, r->name, &sha);

	if (sha != NULL && v == 0)
		return;		/* a local script of that name: its own */
	if (v >= r->version) {
		if (v == r->version && strcmp(sha, r->sha256) != 0)
			log_debug("tentacle %lld: %s version %lld is not "
			    "the one signed: not pushed over",
			    (long long)w->tentacle, r->name,
			    (long long)v);
		return;
	}
	json_array_append_new(w->puts, json_pack("[s,I]", r->name,
	    (json_int_t)r->version));
}

static void
encode_put(const struct db_managed_row *r, void *arg)
{
	struct wants		*w = arg;
	struct msg_script_put	 p;
	size_t			 before = w->frames.len;

	memset(&p, 0, sizeof(p));
	strlcpy(p.name, r->name, sizeof(p.name));
	p.version = (uint32_t)r->version;
	ipcmsg_text(p.description, sizeof(p.description), r->description);
	strlcpy(p.sha256, r->sha256, sizeof(p.sha256));
	p.body = r->body;
	p.body_len = r->body_len;
	if (strlen(r->signature) != 2 * sizeof(p.sig) ||
	    hex_decode(r->signature, p.sig, sizeof(p.sig)) == -1) {
		log_warnx("script %s version %lld has no signature: not "
		    "pushed", r->name, (long long)r->version);
		return;
	}
	if (w->frames.len + r->body_len + 1024 > IPCMSG_PUSH_MAX ||
	    proto_encode_script_put(&w->frames, &p) == -1) {
		/* The rest at the next keepalive. */
		w->frames.len = before;
		w->full = 1;
	}
}

static void
want_delete(const struct db_managed_row *r, void *arg)
{
	struct wants		*w = arg;
	struct msg_script_delete d;
	const char		*sha;
	int64_t			 v = held(w->scripts, r->name, &sha);

	if (v == 0 || v >= r->version || w->full)
		return;
	memset(&d, 0, sizeof(d));
	strlcpy(d.name, r->name, sizeof(d.name));
	d.version = (uint32_t)r->version;
	if (strlen(r->signature) != 2 * sizeof(d.sig) ||
	    hex_decode(r->signature, d.sig, sizeof(d.sig)) == -1 ||
	    w->frames.len + 1024 > IPCMSG_PUSH_MAX ||
	    proto_encode_script_delete(&w->frames, &d) == -1)
		return;
}

/* The key a tentacle pinned (its facts' "script_signing_key", hex): 0
 * none, 1 ours, 2 another (never replaced: pushes would be refused). */
static int
pinned_key(const char *hex)
{
	uint8_t	pub[PROTO_SIGN_PUB_LEN];
	char	ours[2 * PROTO_SIGN_PUB_LEN + 1];

	if (hex == NULL || hex[0] == '\0')
		return 0;
	if (scriptkey_public(pub) == -1)
		return 2;
	hex_encode(pub, sizeof(pub), ours);
	return strcmp(hex, ours) == 0 ? 1 : 2;
}

void
push_reconcile(int64_t tentacle, json_t *facts, json_t *scripts)
{
	struct child		*cmd = &children[CHILD_COMMANDER];
	struct wants		 w;
	struct db_tentacle	 t;
	struct ipc_script_push	 ip;
	json_t			*ms, *p;
	int			 managed, key;
	size_t			 i;

	if (facts == NULL)
		return;
	ms = json_object_get(facts, "managed_scripts");
	managed = json_is_boolean(ms) ? json_is_true(ms) : -1;
	key = pinned_key(json_string_value(json_object_get(facts,
	    "script_signing_key")));
	if (db_tentacle_set_managed(m.db, tentacle, managed, key) == -1 ||
	    managed != 1 || key == 2 || scripts == NULL ||
	    cmd->chan == NULL || push_find(tentacle) != NULL)
		return;

	memset(&w, 0, sizeof(w));
	w.tentacle = tentacle;
	w.scripts = scripts;
	w.puts = json_array();
	buf_init(&w.frames, IPC_PAYLOAD_MAX);
	if (w.puts == NULL || db_managed_each(m.db, want_put, &w) == -1)
		goto out;
	json_array_foreach(w.puts, i, p)
		if (!w.full)
			db_script_read(m.db, json_string_value(json_array_get(p,
			    0)), json_integer_value(json_array_get(p, 1)),
			    encode_put, &w);
	if (db_managed_deleted_each(m.db, want_delete, &w) == -1)
		goto out;
	if (w.frames.len == 0 && key) {
		/* It holds them all: what waited for them can go (a push
		 * whose end we missed, a brain restarted meanwhile). */
		dispatch_waiting(tentacle);
		goto out;
	}

	memset(&t, 0, sizeof(t));
	if (db_tentacle_get(m.db, tentacle, &t) != 0 ||
	    strcmp(t.enrolment, "accepted") != 0) {
		crypto_wipe(t.key_hex, sizeof(t.key_hex));
		goto out;
	}
	crypto_wipe(t.key_hex, sizeof(t.key_hex));
	memset(&ip, 0, sizeof(ip));
	ip.tentacle = (uint64_t)tentacle;
	strlcpy(ip.address, t.address, sizeof(ip.address));
	ip.port = t.port > 0 ? (uint32_t)t.port : 0;
	strlcpy(ip.fingerprint, t.fingerprint, sizeof(ip.fingerprint));
	ip.signkey = !key;
	if (ip.signkey && scriptkey_public(ip.pub) == -1)
		goto out;
	ip.frames = w.frames.data;
	ip.frames_len = w.frames.len;
	if (push_new(tentacle) == NULL)
		goto out;	/* busy: at the next keepalive */
	if ((ip.ticket = proofs_ticket_script(tentacle, ip.signkey)) == 0 ||
	    ipcmsg_send_script_push(cmd->chan, IPC_SCRIPT_PUSH, 0, &ip) ==
	    -1) {
		log_warnx("tentacle %lld: cannot hand the script push to the "
		    "commander", (long long)tentacle);
		push_find(tentacle)->tentacle = 0;
	} else
		log_debug("tentacle %lld: pushing %zu script%s%s",
		    (long long)tentacle, json_array_size(w.puts),
		    json_array_size(w.puts) == 1 ? "" : "s",
		    ip.signkey ? " after the signing key" : "");
out:
	json_decref(w.puts);
	buf_free(&w.frames);
}

/* ---- what the tentacle said ------------------------------------------ */

static void
put_sha(const struct db_managed_row *r, void *arg)
{
	strlcpy(arg, r->sha256, OCTO_FPR_HEX_LEN + 1);
}

void
handle_script_acked(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_script_acked	 a;
	struct msg_script_ack	 ack;
	struct wire_frame	 f;
	struct push		*p;
	const char		*why;
	char			 sha[OCTO_FPR_HEX_LEN + 1] = "";
	char			 actor[32], detail[PROTO_SCRIPT_NAME_MAX +
				    PROTO_MESSAGE_MAX + 64];
	int64_t			 tid;

	if (ipcmsg_decode_script_acked(msg->payload, msg->hdr.len, &a,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed script acknowledgement");
		return;
	}
	tid = (int64_t)a.tentacle;
	if ((p = push_find(tid)) == NULL) {
		/* None in progress (forgotten after PUSH_TIMEOUT_S, or the
		 * commander is wrong): what it says is not taken. */
		log_debug("tentacle %lld: script acknowledgement without a "
		    "push: ignored", (long long)tid);
		return;
	}
	if (a.final) {
		if (a.reason[0] != '\0')
			log_warnx("tentacle %lld: script push ended early: %s",
			    (long long)tid, a.reason);
		p->tentacle = 0;
		if (p->installed)
			dispatch_waiting(tid);
		return;
	}
	f.type = WIRE_SCRIPT_ACK;
	f.len = (uint32_t)a.ack_len;
	f.payload = a.ack;
	if (proto_decode_script_ack(&f, &ack, &why) == -1) {
		log_warnx("tentacle %lld: malformed SCRIPT_ACK: %s",
		    (long long)tid, why);
		return;
	}
	snprintf(actor, sizeof(actor), "tentacle:%lld", (long long)tid);
	if (ack.status != SCRIPT_ACK_OK) {
		if (ack.name[0] != '\0')
			snprintf(detail, sizeof(detail), "script %s version %u "
			    "refused: %s", ack.name, ack.version, ack.message);
		else
			snprintf(detail, sizeof(detail), "the script-signing "
			    "key refused: %s", ack.message);
		log_warnx("tentacle %lld: %s", (long long)tid, detail);
		db_audit(m.db, actor, "script_refused", "", detail);
		return;
	}
	if (ack.name[0] == '\0') {
		db_tentacle_set_script_key(m.db, tid);
		log_info("tentacle %lld pinned the script-signing key",
		    (long long)tid);
		return;
	}
	/* A put (its version exists) or the deletion. */
	if (db_script_read(m.db, ack.name, ack.version, put_sha, sha) == 0) {
		db_tentacle_script_held(m.db, tid, ack.name, ack.version, sha);
		p->installed = 1;
		log_info("tentacle %lld holds script %s version %u",
		    (long long)tid, ack.name, ack.version);
	} else {
		db_tentacle_script_held(m.db, tid, ack.name, ack.version,
		    NULL);
		log_info("tentacle %lld deleted script %s (version %u)",
		    (long long)tid, ack.name, ack.version);
	}
}
