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
	ST_CLIENT_WAIT_OK,
	ST_SERVER_WAIT_HELLO,
	ST_SERVER_WAIT_ID,
	ST_SERVER_WAIT_KEY,
	ST_SERVER_WAIT_PROOF,
	ST_DONE,
	ST_FAILED,
};

#define LABEL_SERVER	"octopus-v1 server"
#define LABEL_CLIENT	"octopus-v1 client"

static enum hs_result
fail(struct handshake *hs, const char *why)
{
	hs->state = ST_FAILED;
	hs->error = why;
	crypto_wipe(hs->key, sizeof(hs->key));
	return HS_FAIL;
}

/* The proof of one side over everything both sides contributed. */
static int
proof(const struct handshake *hs, const char *label,
    uint8_t out[PROTO_MAC_LEN])
{
	uint8_t	msg[32 + 1 + 8 + 2 * PROTO_NONCE_LEN + HS_EXPORTER_LEN];
	size_t	n = 0, l = strlen(label);
	int	i;

	memcpy(msg, label, l);
	n = l;
	msg[n++] = hs->purpose;
	for (i = 7; i >= 0; i--)
		msg[n++] = (uint8_t)(hs->id >> (8 * i));
	memcpy(msg + n, hs->nonce_c, PROTO_NONCE_LEN);
	n += PROTO_NONCE_LEN;
	memcpy(msg + n, hs->nonce_s, PROTO_NONCE_LEN);
	n += PROTO_NONCE_LEN;
	memcpy(msg + n, hs->exporter, HS_EXPORTER_LEN);
	n += HS_EXPORTER_LEN;
	return crypto_hmac_sha256(hs->key, sizeof(hs->key), msg, n, out);
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
	if (key)
		memcpy(hs->key, key, sizeof(hs->key));
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

enum hs_result
hs_server_key(struct handshake *hs, const uint8_t key[PROTO_KEY_LEN],
    struct buf *out)
{
	struct msg_auth_challenge	c;

	if (hs->state != ST_SERVER_WAIT_KEY)
		return fail(hs, "no key was asked for");
	if (key == NULL)
		return fail(hs, "unknown tentacle ID");
	memcpy(hs->key, key, sizeof(hs->key));
	if (crypto_random(hs->nonce_s, sizeof(hs->nonce_s)) == -1)
		return fail(hs, "no randomness");
	memcpy(c.nonce, hs->nonce_s, sizeof(c.nonce));
	if (proof(hs, LABEL_SERVER, c.proof) == -1 ||
	    proto_encode_auth_challenge(out, &c) == -1)
		return fail(hs, "cannot compute the proof");
	hs->state = ST_SERVER_WAIT_PROOF;
	return HS_AGAIN;
}

enum hs_result
hs_input(struct handshake *hs, const struct wire_frame *f, struct buf *out)
{
	struct msg_hello		h;
	struct msg_auth_id		id;
	struct msg_auth_challenge	c;
	struct msg_auth_proof		p;
	uint8_t				mac[PROTO_MAC_LEN];
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
		if (proof(hs, LABEL_SERVER, mac) == -1)
			return fail(hs, "cannot compute the proof");
		if (!crypto_equal(mac, c.proof, sizeof(mac)))
			return fail(hs, "the peer could not prove the key "
			    "(another brain, a relay, or a revoked key)");
		if (proof(hs, LABEL_CLIENT, p.proof) == -1 ||
		    proto_encode_auth_proof(out, &p) == -1)
			return fail(hs, "cannot compute the proof");
		hs->state = ST_CLIENT_WAIT_OK;
		return HS_AGAIN;

	case ST_CLIENT_WAIT_OK:
		if (proto_decode_empty(f, WIRE_AUTH_OK, &why) == -1)
			return fail(hs, why);
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
		hs->state = ST_SERVER_WAIT_KEY;
		return HS_NEED_KEY;

	case ST_SERVER_WAIT_PROOF:
		if (proto_decode_auth_proof(f, &p, &why) == -1)
			return fail(hs, why);
		if (proof(hs, LABEL_CLIENT, mac) == -1)
			return fail(hs, "cannot compute the proof");
		if (!crypto_equal(mac, p.proof, sizeof(mac)))
			return fail(hs, "wrong key");
		if (proto_encode_auth_ok(out) == -1)
			return fail(hs, "cannot encode AUTH_OK");
		hs->state = ST_DONE;
		return HS_DONE;

	case ST_SERVER_WAIT_KEY:
		return fail(hs, "message before the key lookup ended");
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
}
