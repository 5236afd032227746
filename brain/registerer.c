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
 * Pending tentacles also come here to ask for their status (POLL), after
 * the full handshake with the key they were given.
 */
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "brain.h"
#include "buf.h"
#include "child.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "net.h"
#include "peer.h"

static struct child_loop	 loop;
static struct child_env		*env;

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

static int
enrol_frame(struct peer *p, const struct wire_frame *f)
{
	struct msg_enrol_request req;
	struct ipc_enrol_request ir;
	const char		*why;

	if (p->id != 0 || p->enrolment != 0) {
		peer_refuse(p, "unexpected message during enrolment");
		return -1;
	}
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
	default:
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(msg->hdr.type));
	}
}

int
registerer_main(struct child_env *e)
{
	env = e;
	if (child_loop_init(&loop, env, "registerer", maestro_says, NULL) ==
	    -1 || peer_listen(&loop, env, &registerer_role) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->registerer_port);
	return child_loop_run(&loop);
}
