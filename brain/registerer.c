/*
 * registerer: listens on 6000 for tentacles that ask to enrol, and (on an
 * admin's request routed by the maestro) connects to a tentacle's 7000 to
 * enrol it by address (report 2.4, 3.2). In both directions the tentacle
 * sends ENROL_REQUEST after the opening message; the maestro decides and
 * makes the ID and key; the registerer answers ENROL_REPLY.
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
#include "log.h"
#include "net.h"
#include "pack.h"
#include "peer.h"

static struct child_loop	 loop;
static struct child_env		*env;

/* Tell the maestro how an offer ended (once). */
static void
offer_done(struct peer *p, int ok, uint32_t status, const char *error)
{
	struct buf	b;
	struct packer	pk;

	if (p->offer == 0)
		return;
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&pk, &b);
	pack_u8(&pk, ok);
	pack_u64(&pk, ok ? p->id : 0);
	pack_u32(&pk, status);
	pack_str(&pk, error ? error : "");
	if (pack_error(&pk) == 0)
		ipc_send(loop.chan, IPC_ENROL_OFFER_DONE, p->offer, b.data,
		    b.len);
	buf_free(&b);
	p->offer = 0;
}

static int
enrol_frame(struct peer *p, const struct wire_frame *f)
{
	struct msg_enrol_request req;
	const char		*why;
	struct buf		 b;
	struct packer		 pk;

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
	/* The maestro decodes the request again from these bytes. */
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&pk, &b);
	pack_u32(&pk, p->offer);
	pack_str(&pk, conn_peer_addr(p->conn));
	pack_str(&pk, conn_peer_fingerprint(p->conn));
	pack_bytes(&pk, f->payload, f->len);
	if (pack_error(&pk) || ipc_send(loop.chan, IPC_ENROL_REQUEST,
	    p->number, b.data, b.len) == -1) {
		buf_free(&b);
		conn_fail(p->conn, "internal error");
		return -1;
	}
	buf_free(&b);
	p->enrolment = ENROLMENT_MAX;	/* asked: nothing more may come */
	log_info("%s: enrolment request from \"%s\"", conn_peer(p->conn),
	    req.hostname);
	return 0;
}

static void
enrol_reply(const struct ipc_msg *msg)
{
	struct unpacker		 u;
	struct peer		*p;
	struct msg_enrol_reply	 reply;
	struct buf		 out;
	const uint8_t		*key;
	size_t			 keylen;
	uint8_t			 ok;
	char			 error[PROTO_MESSAGE_MAX];

	if ((p = peer_find(msg->hdr.id)) == NULL)
		return;
	memset(&reply, 0, sizeof(reply));
	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u8(&u, &ok);
	unpack_str(&u, error, sizeof(error));
	unpack_u8(&u, &reply.status);
	unpack_u64(&u, &reply.id);
	unpack_bytes_ref(&u, &key, &keylen, PROTO_KEY_LEN);
	if (unpack_end(&u) == -1 || keylen != PROTO_KEY_LEN) {
		conn_fail(p->conn, "internal error");
		offer_done(p, 0, 500, "internal error");
		return;
	}
	if (!ok) {
		peer_refuse(p, error);
		offer_done(p, 0, 502, error);
		return;
	}
	memcpy(reply.key, key, sizeof(reply.key));
	strlcpy(reply.brain_fingerprint, peer_brain_fingerprint(),
	    sizeof(reply.brain_fingerprint));
	snprintf(reply.message, sizeof(reply.message), "enrolled as %s",
	    proto_enrolment_str(reply.status));
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
	struct unpacker	u;
	struct peer	*p;
	char		addr[OCTO_ADDR_MAX], err[256];
	uint32_t	port;
	struct buf	b;
	struct packer	pk;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_str(&u, addr, sizeof(addr));
	unpack_u32(&u, &port);
	if (unpack_end(&u) == -1 || port == 0 || port > 65535) {
		log_warnx("malformed enrolment offer from the maestro");
		return;
	}
	log_info("enrolling the host at %s:%u", addr, port);
	p = peer_connect(&loop, env, &registerer_role, addr, (int)port,
	    msg->hdr.id, err, sizeof(err));
	if (p == NULL) {
		buf_init(&b, 1024);
		pack_init(&pk, &b);
		pack_u8(&pk, 0);
		pack_u64(&pk, 0);
		pack_u32(&pk, 502);
		pack_str(&pk, err);
		if (pack_error(&pk) == 0)
			ipc_send(loop.chan, IPC_ENROL_OFFER_DONE, msg->hdr.id,
			    b.data, b.len);
		buf_free(&b);
	}
}

static void
maestro_says(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	switch (msg->hdr.type) {
	case IPC_TENTACLE_KEY:
		peer_key_reply(msg);
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
