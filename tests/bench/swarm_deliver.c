/*
 * The swarm's results (as tentacle/commandworker.c and link.c deliver a
 * spooled one): to the brain's commander from the identity's address,
 * the brain's certificate checked, the handshake as client (PURPOSE_
 * RESULT), then RESULT{job, ..., MAC with our key} -> RESULT_ACK. One
 * delivery at a time per identity, oldest job first; a failure is tried
 * again after 1 s, doubling to SWARM_RETRY_MAX_S. Each delivery offers
 * the TLS session of the identity's last one (kept only from a
 * connection that authenticated both ways, dropped when one that offered
 * it failed before), as the real tentacle does.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "conn.h"
#include "crypto.h"
#include "handshake.h"
#include "log.h"
#include "tentacle.h"
#include "swarm.h"

struct delivery {
	struct ident		*id;
	struct job		*job;
	struct handshake	 hs;
	struct buf		 out;
	int			 offered;
	int			 authenticated;
	int			 ok;
};

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	deliver_pump(arg);
}

int
result_send(struct conn *c, struct buf *out, const struct job *j)
{
	struct msg_result	m;

	memset(&m, 0, sizeof(m));
	m.job = j->job;
	m.outcome = OUTCOME_RAN;
	m.exit_status = 0;
	m.started_at_ms = j->started_ms;
	m.duration_ms = (uint64_t)S.conf.delay_ms;
	m.output = (const uint8_t *)S.conf.output;
	m.output_len = strlen(S.conf.output);
	memcpy(m.sha256, S.script_sha, sizeof(m.sha256));
	if (proto_result_mac(j->id->key, j->id->id, &m, m.mac) == -1 ||
	    proto_encode_result(out, &m) == -1)
		return -1;
	return link_send(c, out);
}

void
job_delivered(struct job *j)
{
	struct ident	*id = j->id;

	TAILQ_REMOVE(&id->jobs, j, entry);
	if (j->ev != NULL)
		event_free(j->ev);
	free(j);
	id->retry_s = 1;
	S.st.delivered++;
}

static void
deliver_established(struct conn *c, void *arg)
{
	struct delivery	*d = arg;

	if (conn_resumed(c))
		S.st.resumed++;
	(void)swarm_client_start(c, &d->hs, &d->out, PURPOSE_RESULT, d->id);
}

static int
ack_frame(struct delivery *d, struct conn *c, const struct wire_frame *f)
{
	struct msg_result_ack	 a;
	const char		*why;
	char			 msg[256];

	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		log_warnx("%s: job %" PRIu64 ": the brain could not store the "
		    "result: %s", d->id->name, d->job->job, msg);
		return -1;
	}
	if (proto_decode_result_ack(f, &a, &why) == -1 ||
	    a.job != d->job->job) {
		log_warnx("%s: job %" PRIu64 ": bad RESULT_ACK", d->id->name,
		    d->job->job);
		conn_fail(c, "bad RESULT_ACK");
		return 0;
	}
	if (a.status == RESULT_ACK_REFUSED)
		log_warnx("%s: job %" PRIu64 ": result refused for good: %s",
		    d->id->name, a.job, a.reason);
	/* Counted now, not at the close: a swarm stopped right after the
	 * brain stored the result still counts it. */
	job_delivered(d->job);
	d->job = NULL;
	d->ok = 1;
	/* The session for the next delivery. */
	SSL_SESSION_free(d->id->session);
	d->id->session = conn_session(c);
	return -1;
}

static int
deliver_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct delivery	*d = arg;
	char		 msg[256];

	if (d->authenticated)
		return ack_frame(d, c, f);
	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		log_warnx("%s: delivery refused by the brain: %s", d->id->name,
		    msg);
		return -1;
	}
	switch (hs_input(&d->hs, f, &d->out)) {
	case HS_AGAIN:
		if (link_send(c, &d->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	case HS_DONE:
		d->authenticated = 1;
		conn_authenticated(c);
		hs_wipe(&d->hs);
		if (result_send(c, &d->out, d->job) == -1)
			conn_fail(c, "cannot send RESULT");
		return 0;
	default:
		log_warnx("%s: delivery: handshake failed: %s", d->id->name,
		    d->hs.error ? d->hs.error : "unexpected frame");
		conn_fail(c, d->hs.error ? d->hs.error : "handshake failed");
		return 0;
	}
}

static void
deliver_closed(struct conn *c, const char *reason, void *arg)
{
	struct delivery	*d = arg;
	struct ident	*id = d->id;
	struct timeval	 tv = { 0, 0 };

	id->delivering = 0;
	if (!d->ok) {
		if (d->offered && !d->authenticated) {
			SSL_SESSION_free(id->session);
			id->session = NULL;
		}
		S.st.deliver_failed++;
		log_warnx("%s: job %" PRIu64 ": delivery failed: %s; again in "
		    "%d s", id->name, d->job->job, reason, id->retry_s);
		tv.tv_sec = id->retry_s;
		if (id->retry_s < SWARM_RETRY_MAX_S)
			id->retry_s *= 2;
	}
	hs_wipe(&d->hs);
	buf_free(&d->out);
	free(d);
	if (tv.tv_sec == 0) {
		deliver_pump(id);
		return;
	}
	if (id->ev_retry == NULL &&
	    (id->ev_retry = evtimer_new(S.base, retry_cb, id)) == NULL)
		fatalx("evtimer_new failed");
	evtimer_add(id->ev_retry, &tv);
}

static const struct conn_cbs deliver_cbs = {
	deliver_established,
	deliver_frame,
	deliver_closed,
};

void
deliver_pump(struct ident *id)
{
	struct delivery	*d;
	struct job	*j;
	char		 err[512];

	if (id->delivering || (id->ev_retry != NULL &&
	    evtimer_pending(id->ev_retry, NULL)))
		return;
	TAILQ_FOREACH(j, &id->jobs, entry)
		if (j->ready && j->order == NULL)
			break;
	if (j == NULL)
		return;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		fatalx("out of memory");
	d->id = id;
	d->job = j;
	d->offered = id->session != NULL;
	buf_init(&d->out, WIRE_PAYLOAD_MAX);
	if (conn_connect_resume(S.base, S.client, S.conf.brain,
	    S.conf.commander_port, id->addr, id->session, &deliver_cbs, d,
	    S.conf.io_timeout, err, sizeof(err)) == NULL) {
		struct timeval	tv = { id->retry_s, 0 };

		log_warnx("%s: job %" PRIu64 ": %s", id->name, j->job, err);
		buf_free(&d->out);
		free(d);
		if (id->ev_retry == NULL &&
		    (id->ev_retry = evtimer_new(S.base, retry_cb, id)) == NULL)
			fatalx("evtimer_new failed");
		evtimer_add(id->ev_retry, &tv);
		return;
	}
	id->delivering = 1;
}
