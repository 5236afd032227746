/*
 * The handshake on every connection after enrolment (report 4.2: opening
 * message and acknowledgement, the tentacle's ID, the key bound to it),
 * made mutual and replay-proof:
 *
 *	client HELLO{purpose}           server HELLO_ACK
 *	client AUTH_ID{id, Nc}          server AUTH_CHALLENGE{Ns}
 *	client AUTH_PROOF{Pc}           server AUTH_OK{Ps}
 *
 *	Pc = HMAC-SHA256(key, "octopus-v2 client" | purpose | id | Nc | Ns | E)
 *	Ps = HMAC-SHA256(key, "octopus-v2 server" | purpose | id | Nc | Ns | E)
 *
 * Nc, Ns are fresh 32-byte nonces from each side; E is a TLS exporter value
 * of this session (RFC 8446 7.5), so the key never crosses the wire, a
 * recorded exchange fails against new nonces, and a relay that terminates
 * TLS on each side sees two different E and fails. Both proofs are
 * compared in constant time. The client proves first and the server only
 * after it checked that proof: the brain's maestro, which alone holds the
 * keys, makes a server proof only for a tentacle that proved itself (and a
 * client proof only for a connection it ordered). A HELLO with purpose
 * ENROL stops after the acknowledgement: there is no key yet (proto.h).
 *
 * A pure state machine: frames in, frames out (appended to `out`), no I/O;
 * the caller sends `out` and closes on HS_FAIL. A side that holds the key
 * gives it (hs_client_init, hs_server_key); a side that does not (the
 * brain's children) takes the public inputs (hs_inputs) to whoever holds
 * it and feeds back the proofs (hs_client_proofs) or the verdict
 * (hs_server_verdict).
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
	HS_NEED_PROOF,	/* client without the key: hs_client_proofs() */
	HS_NEED_CHECK,	/* server: check hs->peer_proof for hs->id, then
			   hs_server_key() or hs_server_verdict() */
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
	uint8_t		 peer_proof[PROTO_MAC_LEN];	/* server: Pc */
	uint8_t		 expect[PROTO_MAC_LEN];		/* client: Ps */
	int		 has_key;
	int		 nonce_given;	/* server: Ns from hs_server_nonce */
	const char	*error;
};

/* The public inputs of both proofs of one handshake. */
struct hs_inputs {
	uint8_t		purpose;
	uint64_t	id;
	uint8_t		nonce_c[PROTO_NONCE_LEN];
	uint8_t		nonce_s[PROTO_NONCE_LEN];
	uint8_t		exporter[HS_EXPORTER_LEN];
};

/* The proof of side `who` (HS_CLIENT: Pc, HS_SERVER: Ps) with key. */
int	hs_proof(const uint8_t key[PROTO_KEY_LEN], enum hs_role who,
	    const struct hs_inputs *, uint8_t out[PROTO_MAC_LEN]);
/* This handshake's inputs (after HS_NEED_PROOF or HS_NEED_CHECK). */
void	hs_inputs(const struct handshake *, struct hs_inputs *);

/* Client: purpose, and for every purpose but ENROL the ID; key NULL if
 * the proofs come from elsewhere (HS_NEED_PROOF). */
void	hs_client_init(struct handshake *, uint8_t purpose, uint64_t id,
	    const uint8_t key[PROTO_KEY_LEN],
	    const uint8_t exporter[HS_EXPORTER_LEN]);
/* Emit HELLO. */
enum hs_result hs_client_start(struct handshake *, struct buf *out);

void	hs_server_init(struct handshake *,
	    const uint8_t exporter[HS_EXPORTER_LEN]);
/* Before AUTH_ID: our nonce Ns given by whoever will check the client's
 * proof (it remembers the nonces it gave, each good once, so that a
 * recorded exchange cannot be played to it again), instead of a random
 * one. */
void	hs_server_nonce(struct handshake *,
	    const uint8_t nonce[PROTO_NONCE_LEN]);
/* After HS_NEED_CHECK: the key bound to hs->id, or NULL if that ID is
 * unknown (or revoked): then HS_FAIL. Checks the client's proof, then
 * sends AUTH_OK with ours: HS_DONE. */
enum hs_result hs_server_key(struct handshake *,
	    const uint8_t key[PROTO_KEY_LEN], struct buf *out);
/* After HS_NEED_CHECK, from whoever holds the key: ok and our proof (the
 * client's was checked there), or not ok with the reason: HS_FAIL. */
enum hs_result hs_server_verdict(struct handshake *, int ok,
	    const uint8_t proof[PROTO_MAC_LEN], const char *why,
	    struct buf *out);
/* After HS_NEED_PROOF: our proof, and the one the server must show. */
enum hs_result hs_client_proofs(struct handshake *,
	    const uint8_t proof[PROTO_MAC_LEN],
	    const uint8_t expect[PROTO_MAC_LEN], struct buf *out);

/* Feed one frame. A frame that is not the one expected at this step, a
 * WIRE_ERROR, or a malformed one fails the handshake. */
enum hs_result hs_input(struct handshake *, const struct wire_frame *,
	    struct buf *out);

/* Wipe the key and nonces. */
void	hs_wipe(struct handshake *);

#endif
