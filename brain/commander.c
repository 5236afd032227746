/*
 * commander: on an admin's request connects to tentacles' 7001 to order a
 * script run, then disconnects; listens on 6001 for tentacles that deliver
 * results and hands them to the maestro for storage (report 2.4, 3.3).
 *
 * Orders fan out without blocking: at most COMMANDER_IN_FLIGHT connections
 * at once, each bounded by io_timeout per step, so a slow or dead tentacle
 * never holds up the others; it is reported unreachable. Once the
 * tentacle acknowledged an order, its connection gives its slot to the
 * next order and stays open for the result (issue 18: one connection a
 * round trip, not two), at most ORDER_RESULT_WAIT_S and ORDER_AWAIT_MAX
 * (limits.h); a result that comes later comes over 6001.
 * Orders wait in one queue per run, taken in turn (a run on many dead
 * tentacles, each holding a slot for io_timeout, does not hold up a run
 * started after it), at most ORDERS_WAITING_MAX in all: past it an order
 * is reported unreachable at once, counted and logged once a minute.
 * Keepalive pings have a queue of their own and KEEPALIVE_IN_FLIGHT
 * connections of their own, taken after the orders': a fleet of dead
 * tentacles delays no run (the maestro hands over at most that many
 * pings at once, one per tentacle, spread over the interval: keepalive.c).
 * 6001 also serves the authenticated PING of `octoTentacle --ping`.
 *
 * It holds no key: the maestro makes the handshake's proofs for the orders
 * and pings it issued (their tickets) and checks those of the tentacles
 * that deliver results; the ORDER it sends carries the maestro's MAC and
 * the RESULT it relays the tentacle's, so it can neither forge nor change
 * either (peer.h, ipcmsg.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <time.h>

#include <bsd/string.h>

#include "brain.h"
#include "buf.h"
#include "child.h"
#include "confine.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "pack.h"
#include "peer.h"

/* Connections to tentacles at once: enough to keep a fleet busy, few
 * enough that a burst of orders cannot exhaust descriptors. */
#define COMMANDER_IN_FLIGHT	64
/* Orders and pushes waiting for a slot (about 350 bytes each): several
 * runs on a fleet of 10,000 at once. */
#define ORDERS_WAITING_MAX	65536

/* A push of managed scripts (issue 14): the maestro's signed frames,
 * sent one at a time, each after the SCRIPT_ACK of the one before. */
struct push {
	uint8_t		 signkey;	/* a SIGNKEY first */
	uint8_t		 pub[PROTO_SIGN_PUB_LEN];
	uint8_t		*frames;
	size_t		 len;
	size_t		 off;		/* the next frame */
};

struct order {
	struct ipc_run_order	 o;	/* a push: tentacle, address, ticket */
	struct push		*push;	/* NULL: an order or a keepalive */
	int			 reported;
	/* Acknowledged, the connection kept for the result (issue 18). */
	struct event		*wait;		/* until ORDER_RESULT_WAIT_S */
	int			 awaiting;
	int			 result_asked;	/* relayed to the maestro */
	TAILQ_ENTRY(order)	 entry;
};

/* A run's orders waiting (run 0: the pushes of managed scripts). */
struct runq {
	uint64_t		 run;
	TAILQ_HEAD(, order)	 orders;
	TAILQ_ENTRY(runq)	 entry;
};

static struct child_loop	 loop;
static struct child_env		*env;
static TAILQ_HEAD(, runq)	 runqs = TAILQ_HEAD_INITIALIZER(runqs);
static size_t			 orders_waiting;
static unsigned long		 orders_dropped;
static time_t			 orders_dropped_logged;
static TAILQ_HEAD(, order)	 pings = TAILQ_HEAD_INITIALIZER(pings);
static int			 in_flight, pings_in_flight, pings_waiting;
static int			 awaiting;	/* orders kept for results */
static unsigned long		 pings_dropped;
static time_t			 pings_dropped_logged;

static void	pump(void);
static int	order_wait(struct order *);
static int	result_relay(struct peer *, const struct wire_frame *);

/* A keepalive (job 0) answered: pass its inventory on (may be empty). */
static void
tentacle_seen(struct order *o, const void *inventory, size_t len)
{
	struct ipc_tentacle_seen	m;

	if (o->reported)
		return;
	o->reported = 1;
	m.tentacle = o->o.tentacle;
	m.inventory = inventory;
	m.inventory_len = len;
	if (ipcmsg_send_tentacle_seen(loop.chan, IPC_TENTACLE_SEEN, 0,
	    &m) == -1)
		log_warnx("tentacle %llu: cannot pass its keepalive answer on",
		    (unsigned long long)o->o.tentacle);
}

static void
job_state(struct order *o, enum job_state state, const char *message)
{
	struct ipc_job_state		js;
	struct ipc_tentacle_missed	tm;

	if (o->reported)
		return;
	o->reported = 1;
	if (o->o.job == 0) {
		/* A keepalive that did not get its answer. */
		tm.tentacle = o->o.tentacle;
		ipcmsg_text(tm.reason, sizeof(tm.reason), message);
		ipcmsg_send_tentacle_missed(loop.chan, IPC_TENTACLE_MISSED, 0,
		    &tm);
		return;
	}
	js.job = o->o.job;
	js.state = state;
	ipcmsg_text(js.message, sizeof(js.message), message);
	ipcmsg_send_job_state(loop.chan, IPC_JOB_STATE, 0, &js);
}

/* ---- managed scripts out (issue 14) ---------------------------------- */

/* The push ended: tell the maestro (reason "" when all went). */
static void
push_final(struct order *o, const char *reason)
{
	struct ipc_script_acked	a;

	if (o->reported)
		return;
	o->reported = 1;
	memset(&a, 0, sizeof(a));
	a.tentacle = o->o.tentacle;
	a.final = 1;
	ipcmsg_text(a.reason, sizeof(a.reason), reason);
	ipcmsg_send_script_acked(loop.chan, IPC_SCRIPT_ACKED, 0, &a);
}

/* Send the next frame: 0 (wait for its SCRIPT_ACK), or -1 (all done, or
 * failed: close). */
static int
push_next(struct peer *p, struct order *o)
{
	struct push		*x = o->push;
	struct msg_signkey	 sk;
	struct wire_frame	 f;
	struct buf		 out;
	size_t			 used;
	int			 rc;

	buf_init(&out, WIRE_PAYLOAD_MAX + WIRE_HDR_LEN);
	if (x->signkey) {
		x->signkey = 0;
		memcpy(sk.pub, x->pub, sizeof(sk.pub));
		memcpy(sk.mac, p->order_mac, sizeof(sk.mac));
		rc = proto_encode_signkey(&out, &sk);
	} else if (x->off < x->len && wire_decode(x->frames + x->off,
	    x->len - x->off, &f, &used) == WIRE_OK) {
		rc = buf_append(&out, x->frames + x->off, used);
		x->off += used;
	} else {
		buf_free(&out);
		push_final(o, "");
		return -1;
	}
	if (rc == -1 || peer_send(p, &out) == -1) {
		buf_free(&out);
		push_final(o, "cannot send the script frame");
		return -1;
	}
	buf_free(&out);
	return 0;
}

static int
push_frame(struct peer *p, struct order *o, const struct wire_frame *f)
{
	struct ipc_script_acked	 a;
	char			 reason[PROTO_MESSAGE_MAX];

	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, reason, sizeof(reason));
		push_final(o, reason);
		return -1;
	}
	if (f->type != WIRE_SCRIPT_ACK || f->len > WIRE_PREAUTH_PAYLOAD_MAX) {
		push_final(o, "the tentacle's answer was not a SCRIPT_ACK");
		conn_fail(p->conn, "bad script acknowledgement");
		return -1;
	}
	/* The maestro decodes it. */
	memset(&a, 0, sizeof(a));
	a.tentacle = o->o.tentacle;
	a.ack = f->payload;
	a.ack_len = f->len;
	if (ipcmsg_send_script_acked(loop.chan, IPC_SCRIPT_ACKED, 0, &a) ==
	    -1) {
		push_final(o, "internal error");
		return -1;
	}
	return push_next(p, o);
}

static void
push_free(struct order *o)
{
	if (o->push != NULL) {
		free(o->push->frames);
		free(o->push);
		o->push = NULL;
	}
}

static void
script_push(const struct ipc_msg *msg)
{
	struct ipc_script_push	 ip;
	struct order		*o;
	const char		*why;

	if (ipcmsg_decode_script_push(msg->payload, msg->hdr.len, &ip,
	    &why) == -1) {
		log_warnx("malformed SCRIPT_PUSH from the maestro: %s", why);
		return;
	}
	if ((o = calloc(1, sizeof(*o))) == NULL ||
	    (o->push = calloc(1, sizeof(*o->push))) == NULL ||
	    (ip.frames_len > 0 && (o->push->frames =
	    malloc(ip.frames_len)) == NULL)) {
		if (o != NULL)
			free(o->push);
		free(o);
		log_warnx("out of memory: script push dropped");
		return;
	}
	o->o.tentacle = ip.tentacle;
	o->o.ticket = ip.ticket;
	strlcpy(o->o.address, ip.address, sizeof(o->o.address));
	o->o.port = ip.port;
	strlcpy(o->o.fingerprint, ip.fingerprint, sizeof(o->o.fingerprint));
	o->push->signkey = ip.signkey;
	memcpy(o->push->pub, ip.pub, sizeof(o->push->pub));
	if (ip.frames_len > 0)
		memcpy(o->push->frames, ip.frames, ip.frames_len);
	o->push->len = ip.frames_len;
	if (order_wait(o) == 0)
		pump();
}

/* ---- orders out -------------------------------------------------------- */

static int
order_authenticated(struct peer *p)
{
	struct order		*o = p->data;
	struct msg_order	 m;
	struct buf		 out;
	int			 rc;

	if (o->push != NULL)
		return push_next(p, o);
	if (o->o.job == 0)
		return 0;	/* keepalive: the tentacle answers first */
	/* The MAC came from the maestro with our proof, for this session. */
	memset(&m, 0, sizeof(m));
	m.job = o->o.job;
	strlcpy(m.script, o->o.script, sizeof(m.script));
	strlcpy(m.script_sha256, o->o.script_sha256, sizeof(m.script_sha256));
	memcpy(m.mac, p->order_mac, sizeof(m.mac));
	buf_init(&out, WIRE_PAYLOAD_MAX);
	rc = proto_encode_order(&out, &m) == 0 ? peer_send(p, &out) : -1;
	buf_free(&out);
	log_hop("cmd-order-sent", o->o.job);
	if (rc == -1) {
		job_state(o, JOB_FAILED, "cannot encode the order");
		return -1;
	}
	return 0;		/* wait for ORDER_ACK */
}

/* The wait for the result on the order's connection is over: it comes
 * over 6001 instead, when it comes. */
static void
await_over(evutil_socket_t fd, short events, void *arg)
{
	struct peer	*p = arg;

	conn_shutdown(p->conn);
}

/* The tentacle took the order: keep the connection for the result when
 * there is room (its in-flight slot goes to the next order); 0, or -1
 * (close it: the result comes over 6001). */
static int
await_start(struct peer *p, struct order *o)
{
	struct timeval	tv = { ORDER_RESULT_WAIT_S, 0 };

	/* Before the connection's own read timeout can end it. */
	if (env->conf->io_timeout - 1 < tv.tv_sec)
		tv.tv_sec = (time_t)env->conf->io_timeout - 1;
	/* A quarter of the connection slots at most: results still come
	 * in over 6001. */
	if (tv.tv_sec < 1 || awaiting >= ORDER_AWAIT_MAX ||
	    awaiting >= (long)env->conf->max_tentacles / 4 ||
	    (o->wait = evtimer_new(loop.base, await_over, p)) == NULL)
		return -1;
	if (evtimer_add(o->wait, &tv) == -1) {
		event_free(o->wait);
		o->wait = NULL;
		return -1;
	}
	o->awaiting = 1;
	awaiting++;
	in_flight--;
	pump();
	return 0;
}

/* A frame on a connection kept for its result: the RESULT, once. */
static int
await_frame(struct peer *p, struct order *o, const struct wire_frame *f)
{
	if (o->result_asked || f->type != WIRE_RESULT) {
		conn_fail(p->conn, "unexpected message");
		return -1;
	}
	/* Now the maestro's answer is awaited (the connection's timeouts
	 * bound it), then the RESULT_ACK ends the connection. */
	evtimer_del(o->wait);
	o->result_asked = 1;
	return result_relay(p, f);
}

static int
order_frame(struct peer *p, const struct wire_frame *f)
{
	struct order		*o = p->data;
	struct msg_order_ack	 ack;
	const char		*why;

	if (o->push != NULL)
		return push_frame(p, o, f);
	if (o->awaiting)
		return await_frame(p, o, f);
	if (o->o.job == 0 && (f->type == WIRE_INVENTORY ||
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
		job_state(o, JOB_FAILED, msg);
		return -1;
	}
	if (proto_decode_order_ack(f, &ack, &why) == -1 ||
	    ack.job != o->o.job) {
		job_state(o, JOB_FAILED, "the tentacle's answer was malformed");
		conn_fail(p->conn, "bad order acknowledgement");
		return -1;
	}
	log_hop("cmd-order-acked", o->o.job);
	if (ack.accepted) {
		job_state(o, JOB_RUNNING, "");
		return await_start(p, o);
	}
	job_state(o, JOB_FAILED, ack.message[0] ? ack.message :
	    "the tentacle refused the order");
	return -1;		/* done */
}

static void
order_closed(struct peer *p, const char *reason)
{
	struct order	*o = p->data;
	int		 ping;

	if (o == NULL)
		return;
	ping = o->push == NULL && o->o.job == 0;
	if (o->push != NULL) {
		if (!o->reported)
			log_warnx("tentacle %llu at %s:%u: script push "
			    "ended: %s", (unsigned long long)o->o.tentacle,
			    o->o.address, o->o.port, reason);
		push_final(o, reason[0] ? reason : "closed");
		push_free(o);
	} else if (!o->reported && ping)
		log_debug("tentacle %llu at %s:%u: keepalive missed: %s",
		    (unsigned long long)o->o.tentacle, o->o.address,
		    o->o.port, reason);
	else if (!o->reported)
		log_warnx("job %llu: tentacle %llu at %s:%u unreachable: %s",
		    (unsigned long long)o->o.job,
		    (unsigned long long)o->o.tentacle, o->o.address,
		    o->o.port, reason);
	/* (A push has reported: no job state for it.) */
	job_state(o, JOB_UNREACHABLE, reason);
	if (o->wait != NULL)
		event_free(o->wait);
	if (o->awaiting)
		awaiting--;
	else if (ping)
		pings_in_flight--;
	else
		in_flight--;
	crypto_wipe(o, sizeof(*o));
	free(o);
	p->data = NULL;
	pump();
}

static const struct peer_role order_role = {
	.purposes = (1u << PURPOSE_ORDER) | (1u << PURPOSE_PING) |
	    (1u << PURPOSE_SCRIPT),
	.on_authenticated = order_authenticated,
	.on_frame = order_frame,
	.on_close = order_closed,
};

/* An order, push or ping that goes no further: reported, freed. */
static void
order_fail(struct order *o, const char *why)
{
	if (o->push != NULL) {
		push_final(o, why);
		push_free(o);
	} else
		job_state(o, JOB_UNREACHABLE, why);
	crypto_wipe(o, sizeof(*o));
	free(o);
}

/* Connect for an order, a script push or a ping: 0, or -1 (reported
 * and freed). */
static int
start(struct order *o)
{
	char	err[256];

	if (peer_connect_tentacle(&loop, env, &order_role, o->o.address,
	    (int)o->o.port, o->o.fingerprint, o->o.tentacle, o->o.ticket,
	    o->push ? PURPOSE_SCRIPT : o->o.job ? PURPOSE_ORDER :
	    PURPOSE_PING, o, err, sizeof(err)) == NULL) {
		order_fail(o, err);
		return -1;
	}
	return 0;
}

/* An order (or a push) in its run's queue: 0, or -1 when the queues are
 * full (reported unreachable, freed). The runs with orders waiting are
 * few: a walk finds the run's. */
static int
order_wait(struct order *o)
{
	struct runq	*q;

	if (orders_waiting >= ORDERS_WAITING_MAX) {
		orders_dropped++;
		if (time(NULL) - orders_dropped_logged >= 60) {
			log_warnx("%lu order%s refused: %zu wait already",
			    orders_dropped, orders_dropped == 1 ? "" : "s",
			    orders_waiting);
			orders_dropped_logged = time(NULL);
			orders_dropped = 0;
		}
		order_fail(o, "the commander's order queue is full");
		return -1;
	}
	TAILQ_FOREACH(q, &runqs, entry)
		if (q->run == o->o.run)
			break;
	if (q == NULL) {
		if ((q = calloc(1, sizeof(*q))) == NULL) {
			order_fail(o, "out of memory");
			return -1;
		}
		q->run = o->o.run;
		TAILQ_INIT(&q->orders);
		TAILQ_INSERT_TAIL(&runqs, q, entry);
	}
	TAILQ_INSERT_TAIL(&q->orders, o, entry);
	orders_waiting++;
	return 0;
}

/* Start queued orders while there is room, one of each run in turn,
 * then pings. */
static void
pump(void)
{
	struct runq	*q;
	struct order	*o;

	while (in_flight < COMMANDER_IN_FLIGHT &&
	    (q = TAILQ_FIRST(&runqs)) != NULL) {
		o = TAILQ_FIRST(&q->orders);
		TAILQ_REMOVE(&q->orders, o, entry);
		orders_waiting--;
		TAILQ_REMOVE(&runqs, q, entry);
		if (TAILQ_EMPTY(&q->orders))
			free(q);
		else
			TAILQ_INSERT_TAIL(&runqs, q, entry);
		if (start(o) == 0)
			in_flight++;
	}
	while (pings_in_flight < KEEPALIVE_IN_FLIGHT &&
	    (o = TAILQ_FIRST(&pings)) != NULL) {
		TAILQ_REMOVE(&pings, o, entry);
		pings_waiting--;
		if (start(o) == 0)
			pings_in_flight++;
	}
}

static void
run_order(const struct ipc_msg *msg)
{
	struct order	*o;
	const char	*why;

	if ((o = calloc(1, sizeof(*o))) == NULL) {
		log_warnx("out of memory: order dropped");
		return;
	}
	if (ipcmsg_decode_run_order(msg->payload, msg->hdr.len, &o->o,
	    &why) == -1 || (msg->hdr.type == IPC_KEEPALIVE) !=
	    (o->o.job == 0)) {
		log_warnx("malformed %s from the maestro: %s",
		    ipc_type_str(msg->hdr.type), o->o.job == 0 &&
		    msg->hdr.type == IPC_RUN_ORDER ? "no job" : why);
		free(o);
		return;
	}
	if (o->o.job != 0) {
		log_hop("cmd-order-in", o->o.job);
		if (order_wait(o) == -1)
			return;
	} else if (pings_waiting >= KEEPALIVE_IN_FLIGHT) {
		/* The maestro hands over no more than we take at once: a
		 * miss, so that it can ask again; a line a minute. */
		pings_dropped++;
		if (time(NULL) - pings_dropped_logged >= 60) {
			log_warnx("%lu keepalive ping%s dropped: %d wait "
			    "already", pings_dropped, pings_dropped == 1 ? "" :
			    "s", pings_waiting);
			pings_dropped_logged = time(NULL);
			pings_dropped = 0;
		}
		job_state(o, JOB_UNREACHABLE, "the commander's ping queue is "
		    "full");
		crypto_wipe(o, sizeof(*o));
		free(o);
		return;
	} else {
		TAILQ_INSERT_TAIL(&pings, o, entry);
		pings_waiting++;
	}
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

/* A RESULT from an authenticated tentacle, on 6001 or on its order's
 * connection, to the maestro; 0 (wait for its answer: result_stored),
 * or -1. */
static int
result_relay(struct peer *p, const struct wire_frame *f)
{
	struct msg_result	 r;
	struct unpacker		 u;
	const char		*why;
	uint64_t		 job = 0;
	struct ipc_result_store	 rs;

	if (f->type == WIRE_RESULT && proto_decode_result(f, &r, &why) == -1) {
		/* Sending it again will not mend it. If it names a job, the
		 * maestro refuses it for good and ends that job when it is
		 * this tentacle's. */
		unpack_init(&u, f->payload, f->len);
		unpack_u64(&u, &job);
		if (u.err || job == 0 || job > INT64_MAX) {
			peer_refuse(p, "malformed result");
			return -1;
		}
		log_warnx("%s: tentacle %llu: job %llu: malformed result: %s",
		    conn_peer(p->conn), (unsigned long long)p->id,
		    (unsigned long long)job, why);
	}
	if (f->type != WIRE_RESULT) {
		peer_refuse(p, "malformed result");
		return -1;
	}
	log_hop("cmd-result-in", job);
	/* The maestro decodes it again and checks its MAC before anything
	 * is stored. */
	rs.tentacle = p->id;
	rs.frame = f->payload;
	rs.frame_len = f->len;
	if (ipcmsg_send_result_store(loop.chan, IPC_RESULT_STORE, p->number,
	    &rs) == -1) {
		conn_fail(p->conn, "internal error");
		return -1;
	}
	return 0;
}

static int
inbound_frame(struct peer *p, const struct wire_frame *f)
{
	if (p->data != NULL) {
		peer_refuse(p, "one result per connection");
		return -1;
	}
	p->data = p;		/* asked: wait for the maestro */
	return result_relay(p, f);
}

static void
result_stored(const struct ipc_msg *msg)
{
	struct ipc_result_stored rs;
	struct peer		*p;
	struct msg_result_ack	 ack;
	struct buf		 out;
	const char		*why;
	char			 error[PROTO_MESSAGE_MAX];

	if ((p = peer_find(msg->hdr.id)) == NULL)
		return;		/* it left: it will deliver again */
	if (ipcmsg_decode_result_stored(msg->payload, msg->hdr.len, &rs,
	    &why) == -1) {
		log_warnx("malformed RESULT_STORED from the maestro: %s", why);
		conn_fail(p->conn, "internal error");
		return;
	}
	memset(&ack, 0, sizeof(ack));
	ack.job = rs.job;
	strlcpy(error, rs.error, sizeof(error));
	if (rs.status == STORED_RETRY) {
		/* WIRE_ERROR: the tentacle keeps it and tries again. */
		log_warnx("%s: tentacle %llu: result not stored (%s): it will "
		    "be sent again", conn_peer(p->conn),
		    (unsigned long long)p->id, error);
		conn_fail(p->conn, error[0] ? error : "not stored");
		return;
	}
	if (rs.status == STORED_REFUSED) {
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
	log_hop("cmd-result-acked", ack.job);
}

static const struct peer_role inbound_role = {
	.purposes = (1u << PURPOSE_PING) | (1u << PURPOSE_RESULT),
	.on_authenticated = inbound_authenticated,
	.on_frame = inbound_frame,
};

static void
maestro_says(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	switch (msg->hdr.type) {
	case IPC_PROOF_VERDICT:
	case IPC_PROOF_MADE:
		peer_maestro_reply(msg);
		break;
	case IPC_RUN_ORDER:
	case IPC_KEEPALIVE:
		run_order(msg);
		break;
	case IPC_RESULT_STORED:
		result_stored(msg);
		break;
	case IPC_SCRIPT_PUSH:
		script_push(msg);
		break;
	case IPC_TENTACLE_ADDRESSES:
		peer_tentacle_addresses(msg);
		break;
	default:
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(msg->hdr.type));
	}
}

int
commander_main(struct child_env *e)
{
	char	err[256];

	env = e;
	if (child_loop_init(&loop, env, "commander", maestro_says, NULL) ==
	    -1 || peer_listen(&loop, env, &inbound_role) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->commander_port);
	child_confine(confine_commander(err, sizeof(err)), err);
	return child_loop_run(&loop);
}
