/*
 * commander: on an admin's request connects to tentacles' 7001 to order a
 * script run, then disconnects; listens on 6001 for tentacles that deliver
 * results and hands them to the maestro for storage (report 2.4, 3.3).
 *
 * Orders fan out without blocking: at most COMMANDER_IN_FLIGHT connections
 * at once, each bounded by io_timeout per step, so a slow or dead tentacle
 * never holds up the others; it is reported unreachable.
 * 6001 also serves the authenticated PING of `octoTentacle --ping`.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <bsd/string.h>

#include "brain.h"
#include "buf.h"
#include "child.h"
#include "crypto.h"
#include "log.h"
#include "pack.h"
#include "peer.h"

/* Connections to tentacles at once: enough to keep a fleet busy, few
 * enough that a burst of orders cannot exhaust descriptors. */
#define COMMANDER_IN_FLIGHT	64

struct order {
	uint64_t		 job;
	uint64_t		 tentacle;
	char			 address[OCTO_ADDR_MAX];
	uint32_t		 port;
	char			 fingerprint[OCTO_FPR_HEX_LEN + 1];
	uint8_t			 key[PROTO_KEY_LEN];
	char			 script[PROTO_SCRIPT_NAME_MAX];
	int			 reported;
	TAILQ_ENTRY(order)	 entry;
};

static struct child_loop	 loop;
static struct child_env		*env;
static TAILQ_HEAD(, order)	 queue = TAILQ_HEAD_INITIALIZER(queue);
static int			 in_flight;

static void	pump(void);

/* A keepalive (job 0) answered: pass its inventory on (may be empty). */
static void
tentacle_seen(struct order *o, const void *inventory, size_t len)
{
	struct buf	b;
	struct packer	p;

	if (o->reported)
		return;
	o->reported = 1;
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u64(&p, o->tentacle);
	pack_bytes(&p, inventory, len);
	if (pack_error(&p) == 0)
		ipc_send(loop.chan, IPC_TENTACLE_SEEN, 0, b.data, b.len);
	buf_free(&b);
}

static void
job_state(struct order *o, const char *state, const char *message)
{
	struct buf	b;
	struct packer	p;

	if (o->reported)
		return;
	if (o->job == 0) {
		/* A keepalive that did not get its answer. */
		o->reported = 1;
		buf_init(&b, 1024);
		pack_init(&p, &b);
		pack_u64(&p, o->tentacle);
		pack_str(&p, message);
		if (pack_error(&p) == 0)
			ipc_send(loop.chan, IPC_TENTACLE_MISSED, 0, b.data,
			    b.len);
		buf_free(&b);
		return;
	}
	o->reported = 1;
	buf_init(&b, 1024);
	pack_init(&p, &b);
	pack_u64(&p, o->job);
	pack_str(&p, state);
	pack_str(&p, message);
	if (pack_error(&p) == 0)
		ipc_send(loop.chan, IPC_JOB_STATE, 0, b.data, b.len);
	buf_free(&b);
}

/* ---- orders out -------------------------------------------------------- */

static int
order_authenticated(struct peer *p)
{
	struct order		*o = p->data;
	struct msg_order	 m;
	struct buf		 out;
	int			 rc;

	if (o->job == 0)
		return 0;	/* keepalive: the tentacle answers first */
	memset(&m, 0, sizeof(m));
	m.job = o->job;
	strlcpy(m.script, o->script, sizeof(m.script));
	buf_init(&out, WIRE_PAYLOAD_MAX);
	rc = proto_encode_order(&out, &m) == 0 ? peer_send(p, &out) : -1;
	buf_free(&out);
	if (rc == -1) {
		job_state(o, "failed", "cannot encode the order");
		return -1;
	}
	return 0;		/* wait for ORDER_ACK */
}

static int
order_frame(struct peer *p, const struct wire_frame *f)
{
	struct order		*o = p->data;
	struct msg_order_ack	 ack;
	const char		*why;

	if (o->job == 0 && (f->type == WIRE_INVENTORY ||
	    f->type == WIRE_STATUS)) {
		/* A STATUS answer carries no inventory: still alive. */
		if (f->type == WIRE_INVENTORY)
			tentacle_seen(o, f->payload, f->len);
		else
			tentacle_seen(o, NULL, 0);
		return -1;
	}
	if (f->type == WIRE_ERROR) {
		char	reason[PROTO_MESSAGE_MAX], msg[PROTO_MESSAGE_MAX + 16];

		proto_decode_error(f, reason, sizeof(reason));
		snprintf(msg, sizeof(msg), "refused: %s", reason);
		job_state(o, "failed", msg);
		return -1;
	}
	if (proto_decode_order_ack(f, &ack, &why) == -1 || ack.job != o->job) {
		job_state(o, "failed", "the tentacle's answer was malformed");
		conn_fail(p->conn, "bad order acknowledgement");
		return -1;
	}
	if (ack.accepted)
		job_state(o, "running", "");
	else
		job_state(o, "failed", ack.message[0] ? ack.message :
		    "the tentacle refused the order");
	return -1;		/* done: the tentacle runs it on its own */
}

static void
order_closed(struct peer *p, const char *reason)
{
	struct order	*o = p->data;

	if (o == NULL)
		return;
	if (!o->reported && o->job == 0)
		log_debug("tentacle %llu at %s:%u: keepalive missed: %s",
		    (unsigned long long)o->tentacle, o->address, o->port,
		    reason);
	else if (!o->reported)
		log_warnx("job %llu: tentacle %llu at %s:%u unreachable: %s",
		    (unsigned long long)o->job,
		    (unsigned long long)o->tentacle, o->address, o->port,
		    reason);
	job_state(o, "unreachable", reason);
	crypto_wipe(o, sizeof(*o));
	free(o);
	p->data = NULL;
	in_flight--;
	pump();
}

static const struct peer_role order_role = {
	.purposes = (1u << PURPOSE_ORDER) | (1u << PURPOSE_PING),
	.on_authenticated = order_authenticated,
	.on_frame = order_frame,
	.on_close = order_closed,
};

/* Start queued orders while there is room. */
static void
pump(void)
{
	struct order	*o;
	char		 err[256];

	while (in_flight < COMMANDER_IN_FLIGHT &&
	    (o = TAILQ_FIRST(&queue)) != NULL) {
		TAILQ_REMOVE(&queue, o, entry);
		if (peer_connect_tentacle(&loop, env, &order_role, o->address,
		    (int)o->port, o->fingerprint, o->tentacle, o->key,
		    o->job ? PURPOSE_ORDER : PURPOSE_PING, o, err,
		    sizeof(err)) == NULL) {
			job_state(o, "unreachable", err);
			crypto_wipe(o, sizeof(*o));
			free(o);
			continue;
		}
		crypto_wipe(o->key, sizeof(o->key));
		in_flight++;
	}
}

static void
run_order(const struct ipc_msg *msg)
{
	struct unpacker	 u;
	struct order	*o;
	const uint8_t	*key;
	size_t		 keylen;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		log_warnx("out of memory: order dropped");
		return;
	}
	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &o->job);
	unpack_u64(&u, &o->tentacle);
	unpack_str(&u, o->address, sizeof(o->address));
	unpack_u32(&u, &o->port);
	unpack_str(&u, o->fingerprint, sizeof(o->fingerprint));
	unpack_bytes_ref(&u, &key, &keylen, PROTO_KEY_LEN);
	unpack_str(&u, o->script, sizeof(o->script));
	if (unpack_end(&u) == -1 || keylen != PROTO_KEY_LEN ||
	    o->port == 0 || o->port > 65535) {
		log_warnx("malformed order from the maestro");
		free(o);
		return;
	}
	memcpy(o->key, key, sizeof(o->key));
	/* Its result comes back on 6001 with this key (peer.h). */
	if (o->job != 0)
		peer_key_remember(o->tentacle, o->fingerprint, o->key);
	TAILQ_INSERT_TAIL(&queue, o, entry);
	pump();
}

/* ---- results in, and pings ------------------------------------------- */

static int
inbound_authenticated(struct peer *p)
{
	if (p->hs.purpose == PURPOSE_PING)
		return peer_send_status(p);
	if (p->enrolment != ENROLMENT_ACCEPTED) {
		peer_refuse(p, "results are taken from accepted tentacles only");
		return -1;
	}
	return 0;		/* a RESULT follows */
}

/* IPC_RESULT_STORED's status (brain.h). */
#define STORED_OK	0	/* committed */
#define STORED_RETRY	1	/* not now (database error) */
#define STORED_REFUSED	2	/* never: the reason says why */

/* Tell the tentacle its result is refused for good, then close. */
static void
result_refused(struct peer *p, uint64_t job, const char *reason)
{
	struct msg_result_ack	ack;
	struct buf		out;

	memset(&ack, 0, sizeof(ack));
	ack.job = job;
	ack.status = RESULT_ACK_REFUSED;
	strlcpy(ack.reason, reason[0] ? reason : "refused",
	    sizeof(ack.reason));
	buf_init(&out, WIRE_PAYLOAD_MAX);
	if (proto_encode_result_ack(&out, &ack) == 0 &&
	    peer_send(p, &out) == 0)
		conn_shutdown(p->conn);
	else
		conn_fail(p->conn, reason);
	buf_free(&out);
}

static int
inbound_frame(struct peer *p, const struct wire_frame *f)
{
	struct msg_result	 r;
	struct unpacker		 u;
	const char		*why;
	char			 reason[PROTO_MESSAGE_MAX];
	uint64_t		 job = 0;
	struct buf		 b;
	struct packer		 pk;

	if (p->data != NULL) {
		peer_refuse(p, "one result per connection");
		return -1;
	}
	if (f->type == WIRE_RESULT && proto_decode_result(f, &r, &why) == -1) {
		/* Sending it again will not mend it: if it names a job,
		 * refuse that job's result for good. */
		unpack_init(&u, f->payload, f->len);
		unpack_u64(&u, &job);
		snprintf(reason, sizeof(reason), "malformed result: %s", why);
		if (u.err || job == 0 || job > INT64_MAX) {
			peer_refuse(p, "malformed result");
			return -1;
		}
		log_warnx("%s: tentacle %llu: job %llu: result refused: %s",
		    conn_peer(p->conn), (unsigned long long)p->id,
		    (unsigned long long)job, reason);
		result_refused(p, job, reason);
		p->data = p;
		return 0;
	}
	if (f->type != WIRE_RESULT) {
		peer_refuse(p, "malformed result");
		return -1;
	}
	/* The maestro decodes it again before anything is stored. */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&pk, &b);
	pack_u64(&pk, p->id);
	pack_bytes(&pk, f->payload, f->len);
	if (pack_error(&pk) || ipc_send(loop.chan, IPC_RESULT_STORE,
	    p->number, b.data, b.len) == -1) {
		buf_free(&b);
		conn_fail(p->conn, "internal error");
		return -1;
	}
	buf_free(&b);
	p->data = p;		/* asked: wait for the maestro */
	return 0;
}

static void
result_stored(const struct ipc_msg *msg)
{
	struct unpacker		u;
	struct peer		*p;
	struct msg_result_ack	ack;
	struct buf		out;
	uint8_t			status;
	char			error[PROTO_MESSAGE_MAX];

	if ((p = peer_find(msg->hdr.id)) == NULL)
		return;		/* it left: it will deliver again */
	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u8(&u, &status);
	unpack_u64(&u, &ack.job);
	unpack_str(&u, error, sizeof(error));
	if (unpack_end(&u) == -1 || status > STORED_REFUSED ||
	    (status == STORED_OK && (ack.job == 0 || ack.job > INT64_MAX))) {
		log_warnx("malformed RESULT_STORED from the maestro");
		conn_fail(p->conn, "internal error");
		return;
	}
	if (status == STORED_RETRY) {
		/* WIRE_ERROR: the tentacle keeps it and tries again. */
		log_warnx("%s: tentacle %llu: result not stored (%s): it will "
		    "be sent again", conn_peer(p->conn),
		    (unsigned long long)p->id, error);
		conn_fail(p->conn, error[0] ? error : "not stored");
		return;
	}
	if (status == STORED_REFUSED) {
		/* The maestro logged and audited it. */
		if (ack.job == 0 || ack.job > INT64_MAX)
			conn_fail(p->conn, error[0] ? error : "refused");
		else
			result_refused(p, ack.job, error);
		return;
	}
	memset(ack.reason, 0, sizeof(ack.reason));
	ack.status = RESULT_ACK_STORED;
	buf_init(&out, WIRE_PAYLOAD_MAX);
	if (proto_encode_result_ack(&out, &ack) == 0 && peer_send(p, &out) == 0)
		conn_shutdown(p->conn);
	else
		conn_fail(p->conn, "internal error");
	buf_free(&out);
}

static const struct peer_role inbound_role = {
	.purposes = (1u << PURPOSE_PING) | (1u << PURPOSE_RESULT),
	.known_purposes = 1u << PURPOSE_RESULT,
	.on_authenticated = inbound_authenticated,
	.on_frame = inbound_frame,
};

static void
maestro_says(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	switch (msg->hdr.type) {
	case IPC_TENTACLE_KEY:
		peer_key_reply(msg);
		break;
	case IPC_RUN_ORDER:
	case IPC_KEEPALIVE:
		run_order(msg);
		break;
	case IPC_RESULT_STORED:
		result_stored(msg);
		break;
	default:
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(msg->hdr.type));
	}
}

int
commander_main(struct child_env *e)
{
	env = e;
	if (child_loop_init(&loop, env, "commander", maestro_says, NULL) ==
	    -1 || peer_listen(&loop, env, &inbound_role) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->commander_port);
	return child_loop_run(&loop);
}
