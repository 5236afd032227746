/*
 * The handshake on every connection after enrolment (report 4.2: opening
 * message and acknowledgement, the tentacle's ID, the key bound to it),
 * made mutual and replay-proof:
 *
 *	client HELLO{purpose}           server HELLO_ACK
 *	client AUTH_ID{id, Nc}          server AUTH_CHALLENGE{Ns, Ps}
 *	client AUTH_PROOF{Pc}           server AUTH_OK
 *
 *	Ps = HMAC-SHA256(key, "octopus-v1 server" | purpose | id | Nc | Ns | E)
 *	Pc = HMAC-SHA256(key, "octopus-v1 client" | purpose | id | Nc | Ns | E)
 *
 * Nc, Ns are fresh 32-byte nonces from each side; E is a TLS exporter value
 * of this session (RFC 8446 7.5), so the key never crosses the wire, a
 * recorded exchange fails against new nonces, and a relay that terminates
 * TLS on each side sees two different E and fails. Both proofs are
 * compared in constant time. A HELLO with purpose ENROL stops after the
 * acknowledgement: there is no key yet (proto.h).
 *
 * A pure state machine: frames in, frames out (appended to `out`), no I/O;
 * the caller sends `out` and closes on HS_FAIL.
 */
#ifndef OCTO_HANDSHAKE_H
#define OCTO_HANDSHAKE_H

#include <stdint.h>

#include "buf.h"
#include "proto.h"
#include "wire.h"

#define HS_EXPORTER_LEN		32
#define HS_EXPORTER_LABEL	"EXPORTER-octopus-handshake"

enum hs_role { HS_CLIENT, HS_SERVER };

enum hs_result {
	HS_AGAIN,	/* sent what was due (if anything): wait for a frame */
	HS_NEED_KEY,	/* server: look up hs->id, then hs_server_key() */
	HS_ENROL,	/* HELLO{ENROL} acknowledged: the enrolment follows */
	HS_DONE,	/* both sides proved the key */
	HS_FAIL,	/* hs->error says why; close the connection */
};

struct handshake {
	enum hs_role	 role;
	int		 state;
	uint8_t		 purpose;
	uint64_t	 id;
	uint8_t		 key[PROTO_KEY_LEN];
	uint8_t		 nonce_c[PROTO_NONCE_LEN];
	uint8_t		 nonce_s[PROTO_NONCE_LEN];
	uint8_t		 exporter[HS_EXPORTER_LEN];
	const char	*error;
};

/* Client: purpose, and for every purpose but ENROL the ID and key. */
void	hs_client_init(struct handshake *, uint8_t purpose, uint64_t id,
	    const uint8_t key[PROTO_KEY_LEN],
	    const uint8_t exporter[HS_EXPORTER_LEN]);
/* Emit HELLO. */
enum hs_result hs_client_start(struct handshake *, struct buf *out);

void	hs_server_init(struct handshake *,
	    const uint8_t exporter[HS_EXPORTER_LEN]);
/* After HS_NEED_KEY: the key bound to hs->id, or NULL if that ID is
 * unknown (or revoked): then HS_FAIL. */
enum hs_result hs_server_key(struct handshake *,
	    const uint8_t key[PROTO_KEY_LEN], struct buf *out);

/* Feed one frame. A frame that is not the one expected at this step, a
 * WIRE_ERROR, or a malformed one fails the handshake. */
enum hs_result hs_input(struct handshake *, const struct wire_frame *,
	    struct buf *out);

/* Wipe the key and nonces. */
void	hs_wipe(struct handshake *);

#endif
