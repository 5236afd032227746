/*
 * The command worker: once the tentacle is enrolled, it listens on
 * command_port (7001) for its brain (report 3.3).
 *
 * Every connection: the brain's certificate must be the one pinned at
 * enrolment (before any handshake), then the handshake as server with the
 * enrolment's ID and key (handshake.h). Then, by purpose:
 *	PING	STATUS{our enrolment status}, close
 *	ORDER	refused for now (script runs are the next step)
 *
 * While the enrolment is pending it also asks the brain's registerer,
 * every poll_interval, whether an admin approved or rejected it (PURPOSE_
 * POLL, with the same handshake as client), and rewrites the state file
 * when the answer changes. It never enrols again by itself.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "conn.h"
#include "crypto.h"
#include "enrolment.h"
#include "handshake.h"
#include "log.h"
#include "tentacle.h"

struct cw {
	const struct tentacle_conf	*conf;
	struct event_base		*base;
	struct enrolment		 e;
	char				 path[OCTO_PATH_MAX + 32];
	SSL_CTX				*client;	/* polls */
	struct event			*ev_poll;
	int				 polling;	/* one in flight */
	int				 poll_failed;	/* last one failed */
	char				 brain_peer[OCTO_ADDR_MAX + 16];
};

struct cw_conn {
	struct cw		*cw;
	struct handshake	 hs;
	struct buf		 out;
	int			 done;		/* authenticated */
};

static struct cw	 cw;

/* "ID 42" once the peer claimed one, for the log. */
static const char *
claimed(const struct handshake *hs, char *out, size_t outlen)
{
	if (hs->id == 0)
		strlcpy(out, "no ID yet", outlen);
	else
		snprintf(out, outlen, "ID %" PRIu64, hs->id);
	return out;
}

static void
refuse(struct conn *c, struct cw_conn *x, const char *why)
{
	char	id[32];

	log_warnx("%s: handshake refused (%s): %s", conn_peer(c),
	    claimed(&x->hs, id, sizeof(id)), why);
	conn_fail(c, why);
}

static void *
cw_established(struct conn *c, void *arg)
{
	struct cw	*w = arg;
	struct cw_conn	*x;
	uint8_t		 exp[HS_EXPORTER_LEN];

	if (!crypto_equal(conn_peer_fingerprint(c), w->e.brain_fingerprint,
	    OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: refused: certificate FPR is not our brain's",
		    conn_peer(c));
		conn_fail(c, "certificate FPR is not our brain's");
		return NULL;
	}
	if (conn_exporter(c, exp, sizeof(exp)) == -1 ||
	    (x = calloc(1, sizeof(*x))) == NULL) {
		conn_fail(c, "cannot set up the handshake");
		return NULL;
	}
	x->cw = w;
	buf_init(&x->out, WIRE_PAYLOAD_MAX);
	hs_server_init(&x->hs, exp);
	crypto_wipe(exp, sizeof(exp));
	return x;
}

static int
served(uint8_t purpose)
{
	return purpose == PURPOSE_PING || purpose == PURPOSE_ORDER;
}

static int
cw_frame(struct conn *c, const struct wire_frame *f, void *state)
{
	struct cw_conn		*x = state;
	struct cw		*w = x->cw;
	struct msg_status	 st;
	enum hs_result		 r;
	uint8_t			 purpose;

	if (x->done) {
		conn_fail(c, "unexpected frame");
		return 0;
	}
	r = hs_input(&x->hs, f, &x->out);
	if (r == HS_NEED_KEY)
		r = hs_server_key(&x->hs, x->hs.id == w->e.id ? w->e.key :
		    NULL, &x->out);
	switch (r) {
	case HS_AGAIN:
		if (!served(x->hs.purpose)) {
			refuse(c, x, "purpose not served on the command port");
			return 0;
		}
		if (link_send(c, &x->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	case HS_ENROL:
		refuse(c, x, "already enrolled");
		return 0;
	case HS_FAIL:
		if (f->type == WIRE_ERROR) {
			char	msg[256], id[32];

			proto_decode_error(f, msg, sizeof(msg));
			log_warnx("%s: the brain gave up (%s): %s",
			    conn_peer(c), claimed(&x->hs, id, sizeof(id)),
			    msg);
			return -1;
		}
		refuse(c, x, x->hs.error ? x->hs.error : "handshake failed");
		return 0;
	case HS_DONE:
		break;
	default:
		refuse(c, x, "unexpected handshake step");
		return 0;
	}
	x->done = 1;
	purpose = x->hs.purpose;
	hs_wipe(&x->hs);
	log_info("%s: brain authenticated (%s)", conn_peer(c),
	    proto_purpose_str(purpose));
	if (purpose == PURPOSE_ORDER) {
		(void)link_send(c, &x->out);
		conn_fail(c, "orders are not implemented yet");
		return 0;
	}
	memset(&st, 0, sizeof(st));
	st.enrolment = w->e.status;
	if (proto_encode_status(&x->out, &st) == -1 ||
	    link_send(c, &x->out) == -1) {
		conn_fail(c, "cannot send STATUS");
		return 0;
	}
	return -1;	/* close once flushed */
}

static void
cw_closed(struct conn *c, const char *reason, void *state)
{
	struct cw_conn	*x = state;

	if (x == NULL)
		return;
	hs_wipe(&x->hs);
	buf_free(&x->out);
	free(x);
}

/* ---- polls of a pending tentacle ---------------------------------------- */

static void
poll_schedule(struct cw *w, int delay)
{
	struct timeval	tv = { delay, 0 };

	if (w->ev_poll != NULL)
		evtimer_add(w->ev_poll, &tv);
}

static void
poll_done(int ok, const struct msg_status *st, const char *why, void *arg)
{
	struct cw	*w = arg;
	struct enrolment old;
	char		 err[1024];

	w->polling = 0;
	if (!ok) {
		log_warnx("brain %s: status poll failed (ID %" PRIu64 "): %s; "
		    "next in %lld s", w->brain_peer, w->e.id, why,
		    w->conf->poll_interval);
		w->poll_failed = 1;
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	if (w->poll_failed)
		log_info("brain %s: status poll works again", w->brain_peer);
	w->poll_failed = 0;
	if (st->enrolment == w->e.status) {
		log_debug("brain %s: still %s", w->brain_peer,
		    proto_enrolment_str(st->enrolment));
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	old = w->e;
	w->e.status = st->enrolment;
	if (enrolment_store(w->path, &w->e, err, sizeof(err)) == -1) {
		log_warnx("brain %s: the enrolment is now %s, but it cannot "
		    "be stored: %s", w->brain_peer,
		    proto_enrolment_str(st->enrolment), err);
		w->e.status = old.status;
		enrolment_wipe(&old);
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	enrolment_wipe(&old);
	switch (w->e.status) {
	case ENROLMENT_ACCEPTED:
		log_info("tentacle ID %" PRIu64 " approved by the brain",
		    w->e.id);
		break;
	case ENROLMENT_REJECTED:
		log_warnx("tentacle ID %" PRIu64 " rejected by the brain; run "
		    "octoTentacle --reenrol to enrol again", w->e.id);
		break;
	default:
		log_info("tentacle ID %" PRIu64 " is %s again", w->e.id,
		    proto_enrolment_str(w->e.status));
		poll_schedule(w, (int)w->conf->poll_interval);
	}
}

static void
poll_cb(evutil_socket_t fd, short events, void *arg)
{
	struct cw	*w = arg;
	char		 err[512];

	if (w->polling || w->e.status != ENROLMENT_PENDING)
		return;
	log_debug("brain %s: asking for the enrolment status",
	    w->brain_peer);
	if (brain_request(w->base, w->client, w->conf, &w->e, PURPOSE_POLL,
	    w->e.brain_registerer_port, (int)w->conf->io_timeout, poll_done,
	    w, err, sizeof(err)) == -1) {
		log_warnx("brain %s: status poll failed: %s; next in %lld s",
		    w->brain_peer, err, w->conf->poll_interval);
		poll_schedule(w, (int)w->conf->poll_interval);
		return;
	}
	w->polling = 1;
}

/* ---- the child ------------------------------------------------------------ */

static int
cw_start(struct event_base *base, void *arg)
{
	struct cw	*w = arg;
	char		 err[1024];
	int		 rc;

	w->base = base;
	if (enrolment_path(w->conf->state_dir, w->path, sizeof(w->path)) ==
	    -1) {
		log_warnx("state_dir too long");
		return -1;
	}
	if ((rc = enrolment_load(w->path, &w->e, err, sizeof(err))) != 0) {
		if (rc == 1)
			log_warnx("%s: gone: not enrolled", w->path);
		else
			log_warnx("%s", err);
		return -1;
	}
	snprintf(w->brain_peer, sizeof(w->brain_peer),
	    strchr(w->e.brain_address, ':') ? "[%s]:%d" : "%s:%d",
	    w->e.brain_address, w->e.brain_registerer_port);
	log_info("tentacle ID %" PRIu64 " of brain %s (%s)", w->e.id,
	    w->e.brain_address, proto_enrolment_str(w->e.status));
	if (w->e.status == ENROLMENT_REJECTED)
		log_warnx("tentacle ID %" PRIu64 " was rejected by the brain; "
		    "run octoTentacle --reenrol to enrol again", w->e.id);
	if (w->e.status != ENROLMENT_PENDING)
		return 0;
	if ((w->client = link_client_ctx(w->conf, err, sizeof(err))) == NULL) {
		log_warnx("%s", err);
		return -1;
	}
	if ((w->ev_poll = evtimer_new(base, poll_cb, w)) == NULL) {
		log_warnx("evtimer_new failed");
		return -1;
	}
	poll_schedule(w, 0);
	return 0;
}

static void
cw_stop(void *arg)
{
	struct cw	*w = arg;

	if (w->ev_poll != NULL)
		event_free(w->ev_poll);
	w->ev_poll = NULL;
	SSL_CTX_free(w->client);
	w->client = NULL;
	enrolment_wipe(&w->e);
}

int
commandworker_main(struct tentacle_child *ch)
{
	static const struct tentacle_proto	proto = {
		cw_start,
		cw_established,
		cw_frame,
		cw_closed,
		cw_stop,
		&cw,
	};

	memset(&cw, 0, sizeof(cw));
	cw.conf = ch->conf;
	return listener_run(ch, &proto);
}
