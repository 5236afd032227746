/*
 * The swarm's self-enrolment (as octoTentacle -b BRAIN -t TOKEN does,
 * tentacle/register.c): to the brain's registerer from the identity's
 * address, the brain's certificate checked against the token's
 * fingerprint before the secret is sent,
 *	HELLO{ENROL} -> HELLO_ACK
 *	ENROL_REQUEST{hostname, facts, fingerprint, command address and
 *	    port, token secret, an ephemeral X25519 key} -> ENROL_REPLY
 * and the key unwrapped for this exchange's key pair and TLS session.
 * At most enrol_parallel at once; a failure is tried again after
 * SWARM_ENROL_RETRY_S; a reply that is not "accepted" (a spent token)
 * stops the swarm with status 1.
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
#include "tentacle.h"
#include "swarm.h"

struct enrol {
	struct ident		*id;
	struct handshake	 hs;
	struct buf		 out;
	int			 requested;
	int			 done;
	uint8_t			 priv[PROTO_PUB_LEN];
	uint8_t			 pub[PROTO_PUB_LEN];
};

static int		 in_flight, next_idx, left;
static struct event	*ev_retry;

static void	enrol_pump(void);

static void
all_enrolled(void)
{
	char	c = 'E';

	log_info("%d simulated tentacles enrolled", S.hi - S.lo);
	if (S.ready_fd == -1) {
		printf("swarm: %d simulated tentacles enrolled\n",
		    S.hi - S.lo);
		fflush(stdout);
	} else if (write(S.ready_fd, &c, 1) != 1)
		log_warn("cannot tell the parent");
}

static int
send_request(struct enrol *x, struct conn *c)
{
	struct msg_enrol_request	*m;
	int				 rc = -1;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return -1;
	strlcpy(m->hostname, x->id->name, sizeof(m->hostname));
	swarm_facts(m->facts, sizeof(m->facts));
	strlcpy(m->fingerprint, x->id->fpr, sizeof(m->fingerprint));
	strlcpy(m->command_address, x->id->addr, sizeof(m->command_address));
	m->command_port = (uint32_t)S.conf.port;
	strlcpy(m->token, S.conf.secret, sizeof(m->token));
	if (crypto_x25519_keypair(x->priv, x->pub) == 0) {
		memcpy(m->enrol_pub, x->pub, sizeof(m->enrol_pub));
		if (proto_encode_enrol_request(&x->out, m) == 0 &&
		    link_send(c, &x->out) == 0)
			rc = 0;
	}
	crypto_wipe(m, sizeof(*m));
	free(m);
	x->requested = 1;
	return rc;
}

static int
reply(struct enrol *x, struct conn *c, const struct wire_frame *f)
{
	struct msg_enrol_reply	 m;
	const char		*why;
	char			 msg[256];

	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		log_warnx("%s: enrolment refused by the brain: %s", x->id->name,
		    msg);
		return -1;
	}
	if (proto_decode_enrol_reply(f, &m, &why) == -1) {
		log_warnx("%s: bad enrolment reply: %s", x->id->name, why);
		conn_fail(c, why);
		return 0;
	}
	if (!crypto_equal(m.brain_fingerprint, conn_peer_fingerprint(c),
	    OCTO_FPR_HEX_LEN))
		why = "the brain fingerprint it gives is not its certificate's";
	else if (m.status != ENROLMENT_ACCEPTED)
		why = "not accepted (a spent or expired token?)";
	else if (proto_enrol_unwrap(x->priv, x->pub, x->hs.exporter, &m,
	    x->id->key) == -1)
		why = "its key is not wrapped for this connection";
	else
		why = NULL;
	crypto_wipe(&m.wrapped_key, sizeof(m.wrapped_key));
	if (why != NULL) {
		log_warnx("%s: enrolment reply refused: %s (%s)", x->id->name,
		    why, m.message);
		if (m.status != ENROLMENT_ACCEPTED)
			fatalx("%s: enrolment %s: stopping", x->id->name,
			    proto_enrolment_str(m.status));
		conn_fail(c, why);
		return 0;
	}
	x->id->id = m.id;
	x->done = 1;
	S.st.enrolled++;
	log_debug("%s: enrolled as tentacle ID %" PRIu64, x->id->name, m.id);
	return -1;
}

static void
enrol_established(struct conn *c, void *arg)
{
	struct enrol	*x = arg;

	(void)swarm_client_start(c, &x->hs, &x->out, PURPOSE_ENROL, x->id);
}

static int
enrol_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct enrol	*x = arg;
	char		 msg[256];

	if (x->requested)
		return reply(x, c, f);
	switch (hs_input(&x->hs, f, &x->out)) {
	case HS_ENROL:
		conn_authenticated(c);
		if (link_send(c, &x->out) == -1 || send_request(x, c) == -1)
			conn_fail(c, "cannot send the enrolment request");
		return 0;
	case HS_AGAIN:
		if (link_send(c, &x->out) == -1)
			conn_fail(c, "cannot send");
		return 0;
	default:
		if (f->type == WIRE_ERROR) {
			proto_decode_error(f, msg, sizeof(msg));
			log_warnx("%s: enrolment refused by the brain: %s",
			    x->id->name, msg);
			return -1;
		}
		log_warnx("%s: enrolment failed: %s", x->id->name,
		    x->hs.error ? x->hs.error : "unexpected frame");
		conn_fail(c, x->hs.error ? x->hs.error : "unexpected frame");
		return 0;
	}
}

static void
enrol_closed(struct conn *c, const char *reason, void *arg)
{
	struct enrol	*x = arg;
	struct timeval	 tv = { SWARM_ENROL_RETRY_S, 0 };

	in_flight--;
	x->id->enrolling = 0;
	if (x->done) {
		if (--left == 0)
			all_enrolled();
	} else {
		S.st.enrol_failed++;
		log_warnx("%s: enrolment failed: %s; again in %d s",
		    x->id->name, reason, SWARM_ENROL_RETRY_S);
		evtimer_add(ev_retry, &tv);
	}
	hs_wipe(&x->hs);
	crypto_wipe(x->priv, sizeof(x->priv));
	buf_free(&x->out);
	free(x);
	enrol_pump();
}

static const struct conn_cbs enrol_cbs = {
	enrol_established,
	enrol_frame,
	enrol_closed,
};

static int
enrol_one(struct ident *id)
{
	struct enrol	*x;
	char		 err[512];

	if ((x = calloc(1, sizeof(*x))) == NULL)
		return -1;
	x->id = id;
	buf_init(&x->out, WIRE_PAYLOAD_MAX);
	if (conn_connect(S.base, S.client, S.conf.brain,
	    S.conf.registerer_port, id->addr, &enrol_cbs, x,
	    S.conf.io_timeout, err, sizeof(err)) == NULL) {
		log_warnx("%s: %s", id->name, err);
		buf_free(&x->out);
		free(x);
		return -1;
	}
	id->enrolling = 1;
	in_flight++;
	return 0;
}

/* Start enrolments up to enrol_parallel, from where the last stopped;
 * after a failure the scan starts again from the first. */
static void
enrol_pump(void)
{
	struct ident	*id;
	int		 n = S.hi - S.lo, scanned;

	for (scanned = 0; in_flight < S.conf.enrol_parallel && scanned < n;
	    scanned++) {
		id = &S.ids[next_idx];
		next_idx = (next_idx + 1) % n;
		if (id->id != 0 || id->enrolling)
			continue;
		if (enrol_one(id) == -1) {
			struct timeval	tv = { SWARM_ENROL_RETRY_S, 0 };

			evtimer_add(ev_retry, &tv);
			break;
		}
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	enrol_pump();
}

void
enrol_start(void)
{
	left = S.hi - S.lo;
	if ((ev_retry = evtimer_new(S.base, retry_cb, NULL)) == NULL)
		fatalx("evtimer_new failed");
	enrol_pump();
}
