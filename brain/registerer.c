/*
 * registerer: listens on 6000 for tentacles that ask to enrol, and (on an
 * admin's request routed by the maestro) connects to a tentacle's 7000 to
 * enrol it by address (report 2.4, 3.2). In both directions the tentacle
 * sends ENROL_REQUEST after the opening message; the maestro decides and
 * makes the ID and key; the registerer answers ENROL_REPLY. The key comes
 * from the maestro wrapped for the tentacle (proto_enrol_wrap, under the
 * tentacle's ephemeral X25519 key and this TLS session's exporter value):
 * it is never in clear here.
 *
 * An offer made with the host's pairing code (SPEC "Enrolment by
 * address") proves the code first, after HELLO_ACK: the maestro, which
 * alone holds the code, makes our proof and the host's for this session
 * (IPC_PAIR_MAKE/MADE); we send PAIR_PROOF and take the host's
 * ENROL_REQUEST only after its PAIR_PROOF is the one expected. A host
 * that asks for a code (PAIR_REQUIRED) when none was given, that proves
 * a wrong one, or that enrols without proving the one given, is refused,
 * and the admin told why.
 *
 * Pending tentacles also come here to ask for their status (POLL), after
 * the full handshake with the key they were given.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "brain.h"
#include "buf.h"
#include "child.h"
#include "confine.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "net.h"
#include "peer.h"

static struct child_loop	 loop;
static struct child_env		*env;

/* An offer's pairing, in its peer's data (offers with a code only). */
enum {
	PAIRING_START,		/* no proofs yet */
	PAIRING_ASKED,		/* IPC_PAIR_MAKE sent */
	PAIRING_SENT,		/* our PAIR_PROOF sent: the host's is due */
	PAIRING_PROVEN,		/* the host proved it: ENROL_REQUEST next */
};

struct pairing {
	int	state;
	uint8_t	expect[PROTO_MAC_LEN];
};

/* Tell the maestro how an offer ended (once). */
static void
send_offer_done(uint32_t offer, int ok, uint64_t id, uint32_t status,
    const char *error)
{
	struct ipc_enrol_offer_done	d;

	d.ok = ok ? 1 : 0;
	d.tentacle = ok ? id : 0;
	d.http_status = status;
	ipcmsg_text(d.error, sizeof(d.error), error);
	if (ipcmsg_send_enrol_offer_done(loop.chan, IPC_ENROL_OFFER_DONE,
	    offer, &d) == -1)
		log_warnx("offer %u: cannot tell the maestro how it went",
		    offer);
}

static void
offer_done(struct peer *p, int ok, uint32_t status, const char *error)
{
	if (p->offer == 0)
		return;
	send_offer_done(p->offer, ok, p->id, status, error);
	p->offer = 0;
}

/* Refuse an offer for a reason about the pairing code: the admin gets
 * 403 and the reason. */
static int
pairing_refuse(struct peer *p, const char *why)
{
	char	msg[IPCMSG_ERROR_MAX];

	snprintf(msg, sizeof(msg), "%s: %s", conn_peer(p->conn), why);
	offer_done(p, 0, 403, msg);
	peer_refuse(p, why);
	return -1;
}

/* HELLO_ACK came back: an offer with a code asks the maestro for the
 * proofs of this session. */
static void
enrol_start(struct peer *p)
{
	struct pairing		*pa = p->data;
	struct ipc_pair_make	 pm;

	if (!p->outgoing || pa == NULL || pa->state != PAIRING_START)
		return;
	memset(&pm, 0, sizeof(pm));
	pm.offer = p->offer;
	if (conn_exporter(p->conn, pm.exporter, sizeof(pm.exporter)) == -1 ||
	    ipcmsg_send_pair_make(loop.chan, IPC_PAIR_MAKE, p->number,
	    &pm) == -1) {
		crypto_wipe(&pm, sizeof(pm));
		conn_fail(p->conn, "internal error");
		offer_done(p, 0, 500, "internal error");
		return;
	}
	crypto_wipe(&pm, sizeof(pm));
	pa->state = PAIRING_ASKED;
}

/* The maestro's proofs: ours goes out, the host's is kept to compare. */
static void
pair_made(const struct ipc_msg *msg)
{
	struct ipc_pair_made	 pm;
	struct msg_pair_proof	 pp;
	struct pairing		*pa;
	struct peer		*p;
	struct buf		 out;
	const char		*why;

	if ((p = peer_find(msg->hdr.id)) == NULL || (pa = p->data) == NULL ||
	    pa->state != PAIRING_ASKED)
		return;		/* gone meanwhile */
	if (ipcmsg_decode_pair_made(msg->payload, msg->hdr.len, &pm,
	    &why) == -1 || !pm.ok) {
		crypto_wipe(&pm, sizeof(pm));
		conn_fail(p->conn, "internal error");
		offer_done(p, 0, 500, "internal error");
		return;
	}
	memcpy(pa->expect, pm.expect, sizeof(pa->expect));
	memcpy(pp.proof, pm.proof, sizeof(pp.proof));
	crypto_wipe(&pm, sizeof(pm));
	buf_init(&out, WIRE_PAYLOAD_MAX);
	if (proto_encode_pair_proof(&out, &pp) == -1 ||
	    peer_send(p, &out) == -1) {
		conn_fail(p->conn, "internal error");
		offer_done(p, 0, 500, "internal error");
	} else
		pa->state = PAIRING_SENT;
	buf_free(&out);
	crypto_wipe(&pp, sizeof(pp));
}

/* A frame of an offer before ENROL_REQUEST may be: 0 if it was one of
 * the pairing's (handled), 1 if it is for enrol_frame, -1 to close. */
static int
pairing_frame(struct peer *p, const struct wire_frame *f)
{
	struct pairing		*pa = p->data;
	struct msg_pair_proof	 pp;
	const char		*why;
	char			 msg[PROTO_MESSAGE_MAX];
	char			 detail[IPCMSG_ERROR_MAX];
	int			 ok;

	switch (f->type) {
	case WIRE_ERROR:
		proto_decode_error(f, msg, sizeof(msg));
		log_warnx("%s: the host refused the enrolment: %s",
		    conn_peer(p->conn), msg);
		snprintf(detail, sizeof(detail), "%s refused: %s",
		    conn_peer(p->conn), msg);
		offer_done(p, 0, strstr(msg, "pairing") != NULL ? 403 : 502,
		    detail);
		conn_shutdown(p->conn);
		return -1;
	case WIRE_PAIR_REQUIRED:
		if (proto_decode_empty(f, WIRE_PAIR_REQUIRED, &why) == -1) {
			peer_refuse(p, why);
			return -1;
		}
		if (pa == NULL)
			return pairing_refuse(p, "this host needs its pairing "
			    "code (octoTentacle --pairing-code on it shows "
			    "it): give it with the address");
		return 0;	/* our proof is on its way */
	case WIRE_PAIR_PROOF:
		if (pa == NULL || pa->state != PAIRING_SENT) {
			peer_refuse(p, "unexpected pairing proof");
			return -1;
		}
		if (proto_decode_pair_proof(f, &pp, &why) == -1) {
			peer_refuse(p, why);
			return -1;
		}
		ok = crypto_equal(pp.proof, pa->expect, sizeof(pp.proof));
		crypto_wipe(&pp, sizeof(pp));
		crypto_wipe(pa->expect, sizeof(pa->expect));
		if (!ok)
			return pairing_refuse(p, "the host could not prove the "
			    "pairing code (another host, or a relay)");
		pa->state = PAIRING_PROVEN;
		log_info("%s: the host proved its pairing code",
		    conn_peer(p->conn));
		return 0;
	default:
		if (pa != NULL && pa->state != PAIRING_PROVEN)
			return pairing_refuse(p, "the host did not prove the "
			    "pairing code (its pairing is off, or it is tied "
			    "to a brain): enrol it without a code");
		return 1;
	}
}

static int
enrol_frame(struct peer *p, const struct wire_frame *f)
{
	struct msg_enrol_request req;
	struct ipc_enrol_request ir;
	const char		*why;
	int			 rc;

	if (p->id != 0 || p->enrolment != 0) {
		peer_refuse(p, "unexpected message during enrolment");
		return -1;
	}
	if (p->outgoing && (rc = pairing_frame(p, f)) != 1)
		return rc;
	if (proto_decode_enrol_request(f, &req, &why) == -1) {
		peer_refuse(p, why);
		return -1;
	}
	crypto_wipe(req.token, sizeof(req.token));
	if (!crypto_equal(req.fingerprint, conn_peer_fingerprint(p->conn),
	    OCTO_FPR_HEX_LEN)) {
		peer_refuse(p, "the announced fingerprint is not the TLS "
		    "certificate's");
		return -1;
	}
	/* The maestro decodes the request again from these bytes, and wraps
	 * the key under the tentacle's X25519 key and this session's
	 * exporter value. */
	memset(&ir, 0, sizeof(ir));
	ir.offer = p->offer;
	ipcmsg_text(ir.source, sizeof(ir.source), conn_peer_addr(p->conn));
	strlcpy(ir.fingerprint, conn_peer_fingerprint(p->conn),
	    sizeof(ir.fingerprint));
	ir.frame = f->payload;
	ir.frame_len = f->len;
	if (conn_exporter(p->conn, ir.exporter, sizeof(ir.exporter)) == -1 ||
	    ipcmsg_send_enrol_request(loop.chan, IPC_ENROL_REQUEST, p->number,
	    &ir) == -1) {
		crypto_wipe(&ir, sizeof(ir));
		conn_fail(p->conn, "internal error");
		return -1;
	}
	crypto_wipe(&ir, sizeof(ir));
	p->enrolment = ENROLMENT_MAX;	/* asked: nothing more may come */
	log_info("%s: enrolment request from \"%s\"", conn_peer(p->conn),
	    req.hostname);
	return 0;
}

static void
enrol_reply(const struct ipc_msg *msg)
{
	struct ipc_enrol_reply	 ir;
	struct peer		*p;
	struct msg_enrol_reply	 reply;
	struct buf		 out;
	const char		*why;

	if ((p = peer_find(msg->hdr.id)) == NULL)
		return;
	if (ipcmsg_decode_enrol_reply(msg->payload, msg->hdr.len, &ir,
	    &why) == -1) {
		log_warnx("malformed ENROL_REPLY from the maestro: %s", why);
		conn_fail(p->conn, "internal error");
		offer_done(p, 0, 500, "internal error");
		return;
	}
	if (!ir.ok) {
		peer_refuse(p, ir.error);
		offer_done(p, 0, 502, ir.error);
		return;
	}
	memset(&reply, 0, sizeof(reply));
	reply.status = ir.status;
	reply.id = ir.id;
	memcpy(reply.brain_pub, ir.brain_pub, sizeof(reply.brain_pub));
	memcpy(reply.wrapped_key, ir.wrapped_key, sizeof(reply.wrapped_key));
	strlcpy(reply.brain_fingerprint, peer_brain_fingerprint(),
	    sizeof(reply.brain_fingerprint));
	snprintf(reply.message, sizeof(reply.message), "enrolled as %s",
	    proto_enrolment_str(reply.status));
	strlcpy(reply.brain_address, env->conf->advertise_address,
	    sizeof(reply.brain_address));
	buf_init(&out, WIRE_PAYLOAD_MAX);
	if (proto_encode_enrol_reply(&out, &reply) == -1 ||
	    peer_send(p, &out) == -1) {
		conn_fail(p->conn, "internal error");
		offer_done(p, 0, 500, "internal error");
	} else {
		p->id = reply.id;
		p->done = 1;
		conn_shutdown(p->conn);
		offer_done(p, 1, 201, NULL);
	}
	buf_free(&out);
	crypto_wipe(&reply, sizeof(reply));
}

/* An offer that ended before its reply: say why, for the admin. */
static void
peer_gone(struct peer *p, const char *reason)
{
	char		 target[NET_PEER_MAX], msg[PROTO_MESSAGE_MAX + 96];
	uint32_t	 status = 502;

	if (p->data != NULL) {
		crypto_wipe(p->data, sizeof(struct pairing));
		free(p->data);
		p->data = NULL;
	}
	if (p->offer == 0)
		return;
	strlcpy(target, conn_peer(p->conn), sizeof(target));
	if (strstr(reason, "Connection refused"))
		snprintf(msg, sizeof(msg), "nothing listening on %s (an "
		    "enrolled tentacle no longer listens on its register "
		    "port)", target);
	else if (strstr(reason, "timeout")) {
		snprintf(msg, sizeof(msg), "%s: %s", target, reason);
		status = 504;
	} else if (strstr(reason, "not an Octopus peer") ||
	    strncmp(reason, "bad frame", 9) == 0)
		snprintf(msg, sizeof(msg), "%s is not a tentacle (%s)", target,
		    reason);
	else if (strncmp(reason, "TLS", 3) == 0)
		snprintf(msg, sizeof(msg), "%s: %s", target, reason);
	else
		snprintf(msg, sizeof(msg), "%s refused the enrolment (%s)",
		    target, reason);
	offer_done(p, 0, status, msg);
}

static const struct peer_role registerer_role = {
	.purposes = (1u << PURPOSE_ENROL) | (1u << PURPOSE_POLL),
	.on_enrol_start = enrol_start,
	.on_enrol_frame = enrol_frame,
	.on_authenticated = peer_send_status,
	.on_frame = NULL,
	.on_close = peer_gone,
};

static void
enrol_offer(const struct ipc_msg *msg)
{
	struct ipc_enrol_offer	 o;
	struct peer		*p;
	const char		*why;
	char			 err[256];

	if (ipcmsg_decode_enrol_offer(msg->payload, msg->hdr.len, &o,
	    &why) == -1) {
		log_warnx("malformed enrolment offer from the maestro: %s",
		    why);
		return;
	}
	log_info("enrolling the host at %s:%u", o.address, o.port);
	p = peer_connect(&loop, env, &registerer_role, o.address,
	    (int)o.port, msg->hdr.id, err, sizeof(err));
	if (p == NULL)
		send_offer_done(msg->hdr.id, 0, 0, 502, err);
	else if (o.pairing && (p->data = calloc(1,
	    sizeof(struct pairing))) == NULL) {
		conn_fail(p->conn, "out of memory");
		offer_done(p, 0, 500, "out of memory");
	}
}

static void
maestro_says(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	switch (msg->hdr.type) {
	case IPC_PROOF_VERDICT:
		peer_maestro_reply(msg);
		break;
	case IPC_ENROL_REPLY:
		enrol_reply(msg);
		break;
	case IPC_ENROL_OFFER:
		enrol_offer(msg);
		break;
	case IPC_PAIR_MADE:
		pair_made(msg);
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
registerer_main(struct child_env *e)
{
	char	err[256];

	env = e;
	if (child_loop_init(&loop, env, "registerer", maestro_says, NULL) ==
	    -1 || peer_listen(&loop, env, &registerer_role) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->registerer_port);
	child_confine(confine_registerer(err, sizeof(err)), err);
	return child_loop_run(&loop);
}
