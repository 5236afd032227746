/*
 * The handshake state machine (see handshake.h). Each state accepts exactly
 * one frame type; anything else ends it with a reason for the log.
 */
#include <string.h>

#include "crypto.h"
#include "handshake.h"

enum {
	ST_CLIENT_START,
	ST_CLIENT_WAIT_ACK,
	ST_CLIENT_WAIT_CHALLENGE,
	ST_CLIENT_WAIT_PROOFS,
	ST_CLIENT_WAIT_OK,
	ST_SERVER_WAIT_HELLO,
	ST_SERVER_WAIT_ID,
	ST_SERVER_WAIT_PROOF,
	ST_SERVER_WAIT_CHECK,
	ST_DONE,
	ST_FAILED,
};

#define LABEL_SERVER	"octopus-v2 server"
#define LABEL_CLIENT	"octopus-v2 client"

static enum hs_result
fail(struct handshake *hs, const char *why)
{
	hs->state = ST_FAILED;
	hs->error = why;
	crypto_wipe(hs->key, sizeof(hs->key));
	crypto_wipe(hs->expect, sizeof(hs->expect));
	return HS_FAIL;
}

int
hs_proof(const uint8_t key[PROTO_KEY_LEN], enum hs_role who,
    const struct hs_inputs *in, uint8_t out[PROTO_MAC_LEN])
{
	uint8_t		 msg[32 + 1 + 8 + 2 * PROTO_NONCE_LEN + HS_EXPORTER_LEN];
	const char	*label = who == HS_SERVER ? LABEL_SERVER : LABEL_CLIENT;
	size_t		 n = 0, l = strlen(label);
	int		 i, rc;

	memcpy(msg, label, l);
	n = l;
	msg[n++] = in->purpose;
	for (i = 7; i >= 0; i--)
		msg[n++] = (uint8_t)(in->id >> (8 * i));
	memcpy(msg + n, in->nonce_c, PROTO_NONCE_LEN);
	n += PROTO_NONCE_LEN;
	memcpy(msg + n, in->nonce_s, PROTO_NONCE_LEN);
	n += PROTO_NONCE_LEN;
	memcpy(msg + n, in->exporter, HS_EXPORTER_LEN);
	n += HS_EXPORTER_LEN;
	rc = crypto_hmac_sha256(key, PROTO_KEY_LEN, msg, n, out);
	crypto_wipe(msg, sizeof(msg));
	return rc;
}

void
hs_inputs(const struct handshake *hs, struct hs_inputs *in)
{
	memset(in, 0, sizeof(*in));
	in->purpose = hs->purpose;
	in->id = hs->id;
	memcpy(in->nonce_c, hs->nonce_c, sizeof(in->nonce_c));
	memcpy(in->nonce_s, hs->nonce_s, sizeof(in->nonce_s));
	memcpy(in->exporter, hs->exporter, sizeof(in->exporter));
}

/* This handshake's proof of one side, with the key we hold. */
static int
proof(const struct handshake *hs, enum hs_role who, uint8_t out[PROTO_MAC_LEN])
{
	struct hs_inputs	in;
	int			rc;

	hs_inputs(hs, &in);
	rc = hs_proof(hs->key, who, &in, out);
	crypto_wipe(&in, sizeof(in));
	return rc;
}

void
hs_client_init(struct handshake *hs, uint8_t purpose, uint64_t id,
    const uint8_t key[PROTO_KEY_LEN], const uint8_t exporter[HS_EXPORTER_LEN])
{
	memset(hs, 0, sizeof(*hs));
	hs->role = HS_CLIENT;
	hs->state = ST_CLIENT_START;
	hs->purpose = purpose;
	hs->id = id;
	if (key) {
		memcpy(hs->key, key, sizeof(hs->key));
		hs->has_key = 1;
	}
	memcpy(hs->exporter, exporter, sizeof(hs->exporter));
}

enum hs_result
hs_client_start(struct handshake *hs, struct buf *out)
{
	struct msg_hello	h;

	if (hs->state != ST_CLIENT_START)
		return fail(hs, "handshake already started");
	if (hs->purpose != PURPOSE_ENROL && hs->id == 0)
		return fail(hs, "no tentacle ID");
	memset(&h, 0, sizeof(h));
	h.purpose = hs->purpose;
	strncpy(h.version, OCTO_VERSION, sizeof(h.version) - 1);
	if (proto_encode_hello(out, &h) == -1)
		return fail(hs, "cannot encode HELLO");
	hs->state = ST_CLIENT_WAIT_ACK;
	return HS_AGAIN;
}

void
hs_server_init(struct handshake *hs, const uint8_t exporter[HS_EXPORTER_LEN])
{
	memset(hs, 0, sizeof(*hs));
	hs->role = HS_SERVER;
	hs->state = ST_SERVER_WAIT_HELLO;
	memcpy(hs->exporter, exporter, sizeof(hs->exporter));
}

void
hs_server_nonce(struct handshake *hs, const uint8_t nonce[PROTO_NONCE_LEN])
{
	memcpy(hs->nonce_s, nonce, sizeof(hs->nonce_s));
	hs->nonce_given = 1;
}

/* The server's proof is known to be due (the client's checked). */
static enum hs_result
server_ok(struct handshake *hs, const uint8_t ps[PROTO_MAC_LEN],
    struct buf *out)
{
	struct msg_auth_ok	ok;

	memcpy(ok.proof, ps, sizeof(ok.proof));
	if (proto_encode_auth_ok(out, &ok) == -1)
		return fail(hs, "cannot encode AUTH_OK");
	crypto_wipe(hs->key, sizeof(hs->key));
	hs->state = ST_DONE;
	return HS_DONE;
}

enum hs_result
hs_server_key(struct handshake *hs, const uint8_t key[PROTO_KEY_LEN],
    struct buf *out)
{
	uint8_t	mac[PROTO_MAC_LEN];

	if (hs->state != ST_SERVER_WAIT_CHECK)
		return fail(hs, "no key was asked for");
	if (key == NULL)
		return fail(hs, "unknown tentacle ID");
	memcpy(hs->key, key, sizeof(hs->key));
	if (proof(hs, HS_CLIENT, mac) == -1)
		return fail(hs, "cannot compute the proof");
	if (!crypto_equal(mac, hs->peer_proof, sizeof(mac)))
		return fail(hs, "wrong key");
	if (proof(hs, HS_SERVER, mac) == -1)
		return fail(hs, "cannot compute the proof");
	return server_ok(hs, mac, out);
}

enum hs_result
hs_server_verdict(struct handshake *hs, int ok,
    const uint8_t ps[PROTO_MAC_LEN], const char *why, struct buf *out)
{
	if (hs->state != ST_SERVER_WAIT_CHECK)
		return fail(hs, "no check was asked for");
	if (!ok)
		return fail(hs, why ? why : "wrong key");
	return server_ok(hs, ps, out);
}

enum hs_result
hs_client_proofs(struct handshake *hs, const uint8_t pc[PROTO_MAC_LEN],
    const uint8_t ps[PROTO_MAC_LEN], struct buf *out)
{
	struct msg_auth_proof	p;

	if (hs->state != ST_CLIENT_WAIT_PROOFS)
		return fail(hs, "no proof was asked for");
	memcpy(p.proof, pc, sizeof(p.proof));
	memcpy(hs->expect, ps, sizeof(hs->expect));
	if (proto_encode_auth_proof(out, &p) == -1)
		return fail(hs, "cannot encode AUTH_PROOF");
	hs->state = ST_CLIENT_WAIT_OK;
	return HS_AGAIN;
}

enum hs_result
hs_input(struct handshake *hs, const struct wire_frame *f, struct buf *out)
{
	struct msg_hello		h;
	struct msg_auth_id		id;
	struct msg_auth_challenge	c;
	struct msg_auth_proof		p;
	struct msg_auth_ok		ok;
	uint8_t				pc[PROTO_MAC_LEN], ps[PROTO_MAC_LEN];
	const char			*why = "malformed message";

	if (f->type == WIRE_ERROR)
		return fail(hs, "the peer refused");
	switch (hs->state) {
	case ST_CLIENT_WAIT_ACK:
		if (proto_decode_empty(f, WIRE_HELLO_ACK, &why) == -1)
			return fail(hs, why);
		if (hs->purpose == PURPOSE_ENROL) {
			hs->state = ST_DONE;
			return HS_ENROL;
		}
		id.id = hs->id;
		if (crypto_random(hs->nonce_c, sizeof(hs->nonce_c)) == -1)
			return fail(hs, "no randomness");
		memcpy(id.nonce, hs->nonce_c, sizeof(id.nonce));
		if (proto_encode_auth_id(out, &id) == -1)
			return fail(hs, "cannot encode AUTH_ID");
		hs->state = ST_CLIENT_WAIT_CHALLENGE;
		return HS_AGAIN;

	case ST_CLIENT_WAIT_CHALLENGE:
		if (proto_decode_auth_challenge(f, &c, &why) == -1)
			return fail(hs, why);
		memcpy(hs->nonce_s, c.nonce, sizeof(hs->nonce_s));
		hs->state = ST_CLIENT_WAIT_PROOFS;
		if (!hs->has_key)
			return HS_NEED_PROOF;
		if (proof(hs, HS_CLIENT, pc) == -1 ||
		    proof(hs, HS_SERVER, ps) == -1)
			return fail(hs, "cannot compute the proof");
		crypto_wipe(hs->key, sizeof(hs->key));
		return hs_client_proofs(hs, pc, ps, out);

	case ST_CLIENT_WAIT_OK:
		if (proto_decode_auth_ok(f, &ok, &why) == -1)
			return fail(hs, why);
		if (!crypto_equal(ok.proof, hs->expect, sizeof(ok.proof)))
			return fail(hs, "the peer could not prove the key "
			    "(another brain, a relay, or a revoked key)");
		crypto_wipe(hs->expect, sizeof(hs->expect));
		hs->state = ST_DONE;
		return HS_DONE;

	case ST_SERVER_WAIT_HELLO:
		if (proto_decode_hello(f, &h, &why) == -1)
			return fail(hs, why);
		hs->purpose = h.purpose;
		if (proto_encode_hello_ack(out) == -1)
			return fail(hs, "cannot encode HELLO_ACK");
		if (h.purpose == PURPOSE_ENROL) {
			hs->state = ST_DONE;
			return HS_ENROL;
		}
		hs->state = ST_SERVER_WAIT_ID;
		return HS_AGAIN;

	case ST_SERVER_WAIT_ID:
		if (proto_decode_auth_id(f, &id, &why) == -1)
			return fail(hs, why);
		hs->id = id.id;
		memcpy(hs->nonce_c, id.nonce, sizeof(hs->nonce_c));
		if (!hs->nonce_given && crypto_random(hs->nonce_s,
		    sizeof(hs->nonce_s)) == -1)
			return fail(hs, "no randomness");
		memcpy(c.nonce, hs->nonce_s, sizeof(c.nonce));
		if (proto_encode_auth_challenge(out, &c) == -1)
			return fail(hs, "cannot encode AUTH_CHALLENGE");
		hs->state = ST_SERVER_WAIT_PROOF;
		return HS_AGAIN;

	case ST_SERVER_WAIT_PROOF:
		if (proto_decode_auth_proof(f, &p, &why) == -1)
			return fail(hs, why);
		memcpy(hs->peer_proof, p.proof, sizeof(hs->peer_proof));
		hs->state = ST_SERVER_WAIT_CHECK;
		return HS_NEED_CHECK;

	case ST_SERVER_WAIT_CHECK:
		return fail(hs, "message before the proof was checked");
	case ST_CLIENT_WAIT_PROOFS:
		return fail(hs, "message before our proof was made");
	case ST_DONE:
		return fail(hs, "message after the handshake");
	default:
		return fail(hs, "handshake already failed");
	}
}

void
hs_wipe(struct handshake *hs)
{
	crypto_wipe(hs->key, sizeof(hs->key));
	crypto_wipe(hs->nonce_c, sizeof(hs->nonce_c));
	crypto_wipe(hs->nonce_s, sizeof(hs->nonce_s));
	crypto_wipe(hs->expect, sizeof(hs->expect));
	crypto_wipe(hs->peer_proof, sizeof(hs->peer_proof));
}
