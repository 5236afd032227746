/*
 * The swarm's command port (as tentacle/commandworker.c serves 7001):
 * the brain's certificate must be the token's, then the handshake as
 * server with the identity's ID and key; by purpose:
 *	PING	INVENTORY{facts, the one script}, close
 *	ORDER	ORDER{job, script, hash, MAC} checked (the MAC with our key
 *		over this session's exporter) -> ORDER_ACK, close; the
 *		canned result is ready delay_ms later and goes to the
 *		delivery (swarm_deliver.c). A job ordered again while it
 *		waits is acknowledged, not run twice.
 * Nothing else is served (a SCRIPT push is refused: the facts do not say
 * managed_scripts).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "conn.h"
#include "crypto.h"
#include "handshake.h"
#include "log.h"
#include "run.h"
#include "tentacle.h"
#include "swarm.h"

struct served {
	struct ident		*id;
	struct handshake	 hs;
	struct buf		 out;
	uint8_t			 exporter[HS_EXPORTER_LEN];
	int			 done;		/* authenticated */
	uint8_t			 purpose;
	struct conn		*c;
	struct job		*job;	/* its result may go back here */
	int			 result_sent;	/* RESULT_ACK awaited */
};

static void
refuse(struct conn *c, struct served *x, const char *why)
{
	log_warnx("%s: %s: handshake refused: %s", x->id->name, conn_peer(c),
	    why);
	S.st.refused++;
	conn_fail(c, why);
}

static void
serve_established(struct conn *c, void *arg)
{
	struct served	*x = arg;

	if (!crypto_equal(conn_peer_fingerprint(c), S.conf.brain_fpr,
	    OCTO_FPR_HEX_LEN)) {
		refuse(c, x, "certificate FPR is not our brain's");
		return;
	}
	if (conn_exporter(c, x->exporter, sizeof(x->exporter)) == -1) {
		conn_fail(c, "no TLS exporter");
		return;
	}
	S.st.served++;
	if (conn_resumed(c))
		S.st.served_resumed++;
	hs_server_init(&x->hs, x->exporter);
}

static int
inventory(struct conn *c, struct served *x)
{
	static struct msg_inventory	m;	/* 8 KiB of facts */

	swarm_facts(m.facts, sizeof(m.facts));
	m.scripts = S.scripts_json;
	m.scripts_len = strlen(S.scripts_json);
	if (proto_encode_inventory(&x->out, &m) == -1 ||
	    link_send(c, &x->out) == -1)
		return -1;
	S.st.pings++;
	return 0;
}

static void
job_ready_cb(evutil_socket_t fd, short what, void *arg)
{
	struct job	*j = arg;
	struct served	*x = j->order;

	j->ready = 1;
	event_free(j->ev);
	j->ev = NULL;
	if (x != NULL) {
		/* Back on the order's connection, the brain still holds. */
		if (result_send(x->c, &x->out, j) == 0) {
			x->result_sent = 1;
			return;
		}
		j->order = NULL;
		x->job = NULL;
		conn_shutdown(x->c);
	}
	deliver_pump(j->id);
}

/* The RESULT_ACK of a result sent on the order's connection. */
static int
result_ack(struct conn *c, struct served *x, const struct wire_frame *f)
{
	struct msg_result_ack	 a;
	struct job		*j = x->job;
	const char		*why;

	if (f->type == WIRE_ERROR || proto_decode_result_ack(f, &a, &why) ==
	    -1 || a.job != j->job)
		return -1;	/* delivered over 6001 instead (closed) */
	if (a.status == RESULT_ACK_REFUSED)
		log_warnx("%s: job %" PRIu64 ": result refused for good: %s",
		    x->id->name, a.job, a.reason);
	x->job = NULL;
	S.st.on_order++;
	job_delivered(j);
	return -1;
}

static int
ack(struct conn *c, struct served *x, uint64_t job, int accepted,
    const char *message)
{
	struct msg_order_ack	a;

	memset(&a, 0, sizeof(a));
	a.job = job;
	a.accepted = accepted ? 1 : 0;
	strlcpy(a.message, message, sizeof(a.message));
	if (proto_encode_order_ack(&x->out, &a) == -1 ||
	    link_send(c, &x->out) == -1) {
		conn_fail(c, "cannot send ORDER_ACK");
		return 0;
	}
	return -1;	/* close once flushed */
}

static int
order(struct conn *c, struct served *x, const struct wire_frame *f)
{
	struct ident		*id = x->id;
	struct msg_order	 o;
	struct timeval		 tv;
	struct job		*j;
	const char		*why = "malformed ORDER";

	x->purpose = 0;		/* one order per connection */
	if (proto_decode_order(f, &o, &why) == -1) {
		log_warnx("%s: bad ORDER: %s", id->name, why);
		conn_fail(c, why);
		return 0;
	}
	if (!proto_order_mac_ok(id->key, id->id, &o, x->exporter)) {
		log_warnx("%s: job %" PRIu64 ": ORDER refused: bad MAC",
		    id->name, o.job);
		S.st.refused++;
		conn_fail(c, "bad ORDER MAC");
		return 0;
	}
	TAILQ_FOREACH(j, &id->jobs, entry)
		if (j->job == o.job)
			return ack(c, x, o.job, 1, "already accepted");
	if (strcmp(o.script, S.conf.script) != 0)
		return ack(c, x, o.job, 0, "unknown script");
	if (o.script_sha256[0] != '\0' && strcmp(o.script_sha256,
	    S.script_sha) != 0)
		return ack(c, x, o.job, 0, "not the script ordered");
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->ev = evtimer_new(S.base, job_ready_cb, j)) == NULL) {
		free(j);
		return ack(c, x, o.job, 0, "out of memory");
	}
	j->id = id;
	j->job = o.job;
	j->started_ms = run_now_ms();
	TAILQ_INSERT_TAIL(&id->jobs, j, entry);
	tv.tv_sec = S.conf.delay_ms / 1000;
	tv.tv_usec = (S.conf.delay_ms % 1000) * 1000;
	evtimer_add(j->ev, &tv);
	S.st.orders++;
	log_debug("%s: job %" PRIu64 ": %s, result in %d ms", id->name,
	    o.job, o.script, S.conf.delay_ms);
	if (ack(c, x, o.job, 1, "") == 0)
		return 0;	/* failed */
	if (!S.conf.result_on_order)
		return -1;	/* close once flushed */
	/* Kept open for the result, unless the brain closes it first. */
	x->job = j;
	j->order = x;
	return 0;
}

static int
serve_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct served	*x = arg;
	struct ident	*id = x->id;
	enum hs_result	 r;

	x->c = c;
	if (x->done) {
		if (x->result_sent && x->job != NULL)
			return result_ack(c, x, f);
		if (x->purpose == PURPOSE_ORDER)
			return order(c, x, f);
		conn_fail(c, "unexpected frame");
		return 0;
	}
	r = hs_input(&x->hs, f, &x->out);
	if (r == HS_AGAIN && x->hs.id != 0 && x->hs.id != id->id) {
		refuse(c, x, "unknown tentacle ID");
		return 0;
	}
	if (r == HS_NEED_CHECK)
		r = hs_server_key(&x->hs, x->hs.id == id->id ? id->key : NULL,
		    &x->out);
	switch (r) {
	case HS_AGAIN:
		if (x->hs.purpose != PURPOSE_PING &&
		    x->hs.purpose != PURPOSE_ORDER) {
			refuse(c, x, "purpose not served by a simulated "
			    "tentacle");
			return 0;
		}
		if (link_send(c, &x->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	case HS_DONE:
		break;
	default:
		if (f->type == WIRE_ERROR)
			return -1;
		refuse(c, x, x->hs.error ? x->hs.error : "unexpected "
		    "handshake step");
		return 0;
	}
	x->done = 1;
	conn_authenticated(c);
	x->purpose = x->hs.purpose;
	hs_wipe(&x->hs);
	if (link_send(c, &x->out) == -1) {
		conn_fail(c, "cannot send");
		return 0;
	}
	if (x->purpose == PURPOSE_ORDER)
		return 0;	/* the ORDER follows */
	if (inventory(c, x) == -1) {
		conn_fail(c, "cannot send INVENTORY");
		return 0;
	}
	return -1;	/* close once flushed */
}

static void
serve_closed(struct conn *c, const char *reason, void *arg)
{
	struct served	*x = arg;

	if (!x->done)
		log_debug("%s: %s: closed before the handshake: %s",
		    x->id->name, conn_peer(c), reason);
	/* Its result, not acknowledged here, goes over 6001. */
	if (x->job != NULL) {
		x->job->order = NULL;
		if (x->job->ready)
			deliver_pump(x->job->id);
	}
	hs_wipe(&x->hs);
	buf_free(&x->out);
	free(x);
}

static const struct conn_cbs serve_cbs = {
	serve_established,
	serve_frame,
	serve_closed,
};

void
serve_accept(struct ident *id, int fd, struct sockaddr *sa, int socklen)
{
	struct served	*x;

	/* Even before the ENROL_REPLY is read: the brain's welcome ping
	 * may come first, and its ID is checked only at AUTH_ID. */
	if ((x = calloc(1, sizeof(*x))) == NULL) {
		close(fd);
		return;
	}
	x->id = id;
	buf_init(&x->out, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	if ((x->c = conn_accept(S.base, S.server, fd, sa, (socklen_t)socklen,
	    &serve_cbs, x, S.conf.io_timeout)) == NULL) {
		buf_free(&x->out);
		free(x);
	}
}

void
jobs_free(struct ident *id)
{
	struct job	*j;

	while ((j = TAILQ_FIRST(&id->jobs)) != NULL) {
		TAILQ_REMOVE(&id->jobs, j, entry);
		if (j->ev != NULL)
			event_free(j->ev);
		free(j);
	}
}
