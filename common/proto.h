/*
 * The messages of the brain <-> tentacle protocol, one struct each, with a
 * pure encoder (appends a whole frame) and a pure decoder (checks the frame
 * type, every length, every field's shape). Report 4.2 gives the steps:
 *
 * Enrolment (6000: tentacle -> brain; 7000: brain -> tentacle)
 *	client HELLO{ENROL}  ->  server HELLO_ACK
 *	tentacle ENROL_REQUEST{..., ephemeral X25519 public key}
 *	  ->  brain ENROL_REPLY{status, ID, its ephemeral public key, the key
 *	      wrapped (proto_enrol_wrap)}
 *	By address (7000), with a pairing code (proto_pairing_*), between
 *	HELLO_ACK and ENROL_REQUEST:
 *	  tentacle PAIR_REQUIRED (with HELLO_ACK, when it has a code)
 *	  brain PAIR_PROOF{Pb}  ->  tentacle checks Pb, PAIR_PROOF{Pt}
 *	  (wrong: ERROR), then ENROL_REQUEST; the brain checks Pt first.
 *
 * Every later connection (6000 poll, 6001, 7001), handshake.h:
 *	client HELLO{purpose}  ->  server HELLO_ACK
 *	client AUTH_ID{id, nonce}  ->  server AUTH_CHALLENGE{nonce}
 *	client AUTH_PROOF{proof}  ->  server AUTH_OK{proof}
 *	then what the purpose asks:
 *	  POLL (6000)	brain STATUS
 *	  PING (6001)	brain STATUS (octoTentacle --ping)
 *	  PING (7001)	tentacle INVENTORY (the brain's keepalive)
 *	  ORDER (7001)	brain ORDER{job, script, hash, mac} -> tentacle
 *			ORDER_ACK
 *	  RESULT (6001)	tentacle RESULT{job, ..., mac} -> brain RESULT_ACK{job,
 *			status, reason}
 *	  SCRIPT (7001)	brain SIGNKEY{pub, mac} | SCRIPT_PUT{name, version,
 *			description, sha256, body, sig} | SCRIPT_DELETE{name,
 *			version, sig} -> tentacle SCRIPT_ACK{name, version,
 *			status, message}; again, one at a time (the brain
 *			waits for each SCRIPT_ACK), until the brain closes
 *
 * Managed scripts (issue 14): a SCRIPT_PUT or SCRIPT_DELETE is signed by
 * the brain's maestro with its Ed25519 script-signing key (scriptsig.h,
 * which fixes the signed bytes); the tentacle checks it with the public
 * key it pinned: from ENROL_REPLY (sign_pub, covered by the key's
 * wrapping, so the registerer cannot change it), or, for a tentacle
 * enrolled before, from the first SIGNKEY, whose MAC is the maestro's
 * with the tentacle's key bound to the TLS session (proto_signkey_mac,
 * as an order's), so the commander cannot substitute another. A pinned
 * key is never replaced. SIGNKEY's SCRIPT_ACK has name "" and version 0.
 *
 * Compatibility (WIRE_VERSION stays 2): the new frame types and PURPOSE_
 * SCRIPT are additions an older tentacle refuses (it closes: the brain
 * pushes only to a tentacle whose inventory's facts carry
 * "managed_scripts"); ENROL_REPLY's sign_pub and RESULT's sha256 are
 * optional trailing fields (absent: as before), which the new decoders
 * accept with or without. An older decoder refuses them (trailing bytes):
 * upgrade the brain before the tentacles, and do not enrol an older
 * tentacle with a brain that sends sign_pub.
 *
 * Orders and results are authenticated end to end with the tentacle's key
 * (proto_order_mac, proto_result_mac), between the brain's maestro and the
 * tentacle: the commander that carries them can neither forge nor change
 * one. An order's MAC is bound to the TLS session it travels in (its
 * exporter value), so it cannot be replayed either.
 */
#ifndef OCTO_PROTO_H
#define OCTO_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "limits.h"
#include "wire.h"

#define PROTO_NONCE_LEN		32
#define PROTO_KEY_LEN		32	/* the 256-bit key of a tentacle */
#define PROTO_MAC_LEN		32	/* HMAC-SHA256 */
#define PROTO_PUB_LEN		32	/* X25519 public key */
#define PROTO_WRAPPED_LEN	(PROTO_KEY_LEN + 16)	/* AES-256-GCM + tag */
#define PROTO_EXPORTER_LEN	32	/* = HS_EXPORTER_LEN */
#define PROTO_FACTS_MAX		8192	/* JSON object of host facts */
#define PROTO_TOKEN_SECRET_LEN	32	/* hex digits of a token's secret */
#define PROTO_VERSION_MAX	32
#define PROTO_MESSAGE_MAX	200
#define PROTO_SCRIPT_NAME_MAX	64	/* [A-Za-z0-9._-], no leading dot */
#define PROTO_SCRIPTS_MAX	(64 * 1024)	/* JSON array of scripts */
#define PROTO_SIGN_PUB_LEN	32	/* Ed25519 public key (scriptsig.h) */
#define PROTO_SCRIPT_SIG_LEN	64	/* Ed25519 signature */
#define PROTO_SCRIPT_BODY_MAX	(256 * 1024)	/* a managed script */
#define PROTO_SCRIPT_DESC_MAX	256	/* its description, printable */
/* Output on the wire: the captured output plus the truncation marker. */
#define PROTO_OUTPUT_MAX	(OCTO_OUTPUT_MAX + 128)

enum proto_purpose {
	PURPOSE_ENROL = 1,	/* enrolment exchange, no key yet */
	PURPOSE_POLL,		/* pending tentacle asks its status (6000) */
	PURPOSE_PING,		/* authenticated liveness check */
	PURPOSE_ORDER,		/* brain orders a run (7001) */
	PURPOSE_RESULT,		/* tentacle delivers a result (6001) */
	PURPOSE_SCRIPT,		/* brain manages scripts (7001, issue 14) */
	PURPOSE_MAX
};

enum proto_enrolment {
	ENROLMENT_PENDING = 1,
	ENROLMENT_ACCEPTED,
	ENROLMENT_REJECTED,
	ENROLMENT_MAX
};

struct msg_hello {
	uint8_t	purpose;
	char	version[PROTO_VERSION_MAX];
};

struct msg_enrol_request {
	char		hostname[OCTO_NAME_MAX];
	char		facts[PROTO_FACTS_MAX];		/* JSON object text */
	char		fingerprint[OCTO_FPR_HEX_LEN + 1];	/* its cert */
	char		command_address[OCTO_ADDR_MAX];
	uint32_t	command_port;
	char		token[PROTO_TOKEN_SECRET_LEN + 1];	/* "" = none */
	uint8_t		enrol_pub[PROTO_PUB_LEN];	/* ephemeral X25519 */
};

struct msg_enrol_reply {
	uint8_t		status;		/* enum proto_enrolment */
	uint64_t	id;
	uint8_t		brain_pub[PROTO_PUB_LEN];	/* ephemeral X25519 */
	uint8_t		wrapped_key[PROTO_WRAPPED_LEN];
	char		brain_fingerprint[OCTO_FPR_HEX_LEN + 1];
	char		message[PROTO_MESSAGE_MAX];	/* for the log */
	/* Where to deliver results ("" = the address of the connection the
	 * brain made): its advertise_address. */
	char		brain_address[OCTO_ADDR_MAX];
	/* The brain's script-signing public key (issue 14), optional on
	 * the wire (a trailing field); when present, the key's wrapping
	 * covers it. */
	uint8_t		has_sign_pub;
	uint8_t		sign_pub[PROTO_SIGN_PUB_LEN];
};

struct msg_auth_id {
	uint64_t	id;
	uint8_t		nonce[PROTO_NONCE_LEN];
};

struct msg_auth_challenge {
	uint8_t		nonce[PROTO_NONCE_LEN];
};

struct msg_auth_ok {
	uint8_t		proof[PROTO_MAC_LEN];	/* the server's */
};

struct msg_auth_proof {
	uint8_t		proof[PROTO_MAC_LEN];
};

/* PAIR_PROOF: proto_pairing_proof() of the side that sends it. */
struct msg_pair_proof {
	uint8_t		proof[PROTO_MAC_LEN];
};

struct msg_status {
	uint8_t		enrolment;	/* enum proto_enrolment */
	char		message[PROTO_MESSAGE_MAX];
};

struct msg_order {
	uint64_t	job;
	char		script[PROTO_SCRIPT_NAME_MAX];
	/* The script's SHA-256 the tentacle must have, as hex; "" = the
	 * script of that name, whatever it holds (scripts pushed from the
	 * dashboard will pin it). */
	char		script_sha256[OCTO_FPR_HEX_LEN + 1];
	uint8_t		mac[PROTO_MAC_LEN];	/* proto_order_mac */
};

struct msg_order_ack {
	uint64_t	job;
	uint8_t		accepted;	/* 0: will not run it (message says) */
	char		message[PROTO_MESSAGE_MAX];
};

enum proto_outcome {
	OUTCOME_RAN = 1,	/* exit_status or signal tell how */
	OUTCOME_TIMEOUT,	/* killed at the time limit */
	OUTCOME_FAILED,		/* could not be run (message in output) */
	OUTCOME_REFUSED,	/* not run: the script on the host is not the
				   one ordered (message in output) */
	OUTCOME_MAX
};

struct msg_result {
	uint64_t	 job;
	uint8_t		 outcome;	/* enum proto_outcome */
	int32_t		 exit_status;	/* -1 when killed by a signal */
	int32_t		 signal;	/* 0 when it exited */
	uint64_t	 started_at_ms;	/* Unix time */
	uint64_t	 duration_ms;
	uint8_t		 truncated;
	const uint8_t	*output;	/* decoded: points into the frame */
	size_t		 output_len;	/* <= PROTO_OUTPUT_MAX */
	uint8_t		 mac[PROTO_MAC_LEN];	/* proto_result_mac */
	/* The SHA-256 (hex) of the script that ran; "" = none ran, or an
	 * older tentacle. On the wire a trailing field after mac, present
	 * only when not "", and covered by the MAC only then. */
	char		 sha256[OCTO_FPR_HEX_LEN + 1];
};

/* RESULT_ACK: stored (delete your spool file), or refused for good
 * (a result for a job this tentacle was never given, a malformed one:
 * keep it aside, never send it again; reason says why). A brain that
 * cannot store it now answers WIRE_ERROR instead: try again later. */
enum result_ack_status {
	RESULT_ACK_STORED = 0,
	RESULT_ACK_REFUSED = 1,
};

struct msg_result_ack {
	uint64_t	job;
	uint8_t		status;		/* enum result_ack_status */
	/* Refused: why, printable, not empty; stored: empty. */
	char		reason[PROTO_MESSAGE_MAX];
};

struct msg_inventory {
	char		facts[PROTO_FACTS_MAX];	/* JSON object text */
	/* JSON array of {"name","sha256","description"}: the brain parses
	 * and checks it (a list of any length within the limit). */
	const char	*scripts;		/* decoded: into the frame */
	size_t		 scripts_len;
};

/* SIGNKEY: the brain's script-signing public key, for a tentacle that
 * has none pinned yet; mac = proto_signkey_mac. */
struct msg_signkey {
	uint8_t		pub[PROTO_SIGN_PUB_LEN];
	uint8_t		mac[PROTO_MAC_LEN];
};

/* SCRIPT_PUT: version >= 1 of a managed script. sig is the brain's
 * (scriptsig_put_message: name, version, sha256, body); the description
 * is not signed (it is shown, never run). The decoder checks the shapes
 * (a valid script name, version >= 1, printable description, 64
 * lowercase hex, a body of at most PROTO_SCRIPT_BODY_MAX bytes that starts
 * with "#!"), not the hash nor the signature: the tentacle does. */
struct msg_script_put {
	char		 name[PROTO_SCRIPT_NAME_MAX];
	uint32_t	 version;
	char		 description[PROTO_SCRIPT_DESC_MAX];
	char		 sha256[OCTO_FPR_HEX_LEN + 1];
	const uint8_t	*body;		/* decoded: points into the frame */
	size_t		 body_len;
	uint8_t		 sig[PROTO_SCRIPT_SIG_LEN];
};

/* SCRIPT_DELETE: delete the managed script name; version is the one the
 * brain gives its deletion (a new number, never reused: > every put). */
struct msg_script_delete {
	char		name[PROTO_SCRIPT_NAME_MAX];
	uint32_t	version;
	uint8_t		sig[PROTO_SCRIPT_SIG_LEN];	/* scriptsig delete */
};

enum script_ack_status {
	SCRIPT_ACK_OK = 0,
	SCRIPT_ACK_REFUSED = 1,
};

/* SCRIPT_ACK: of a put or delete (its name and version), or of a SIGNKEY
 * (name "", version 0). Refused: message says why (printable, not
 * empty); ok: message may say more ("already at version 3"). */
struct msg_script_ack {
	char		name[PROTO_SCRIPT_NAME_MAX];
	uint32_t	version;
	uint8_t		status;		/* enum script_ack_status */
	char		message[PROTO_MESSAGE_MAX];
};

/* Encoders append one whole frame to out; -1 if a field is out of shape
 * or out's limit is hit. */
int	proto_encode_hello(struct buf *, const struct msg_hello *);
int	proto_encode_hello_ack(struct buf *);
int	proto_encode_enrol_request(struct buf *,
	    const struct msg_enrol_request *);
int	proto_encode_enrol_reply(struct buf *, const struct msg_enrol_reply *);
int	proto_encode_auth_id(struct buf *, const struct msg_auth_id *);
int	proto_encode_auth_challenge(struct buf *,
	    const struct msg_auth_challenge *);
int	proto_encode_auth_proof(struct buf *, const struct msg_auth_proof *);
int	proto_encode_auth_ok(struct buf *, const struct msg_auth_ok *);
int	proto_encode_status(struct buf *, const struct msg_status *);
int	proto_encode_error(struct buf *, const char *reason);
int	proto_encode_pair_required(struct buf *);
int	proto_encode_pair_proof(struct buf *, const struct msg_pair_proof *);

/* Decoders: 0, or -1 with a reason for the log in *why (a constant
 * string): wrong frame type, truncated, trailing bytes, bad field. */
int	proto_decode_hello(const struct wire_frame *, struct msg_hello *,
	    const char **why);
int	proto_decode_empty(const struct wire_frame *, uint8_t type,
	    const char **why);
int	proto_decode_enrol_request(const struct wire_frame *,
	    struct msg_enrol_request *, const char **why);
int	proto_decode_enrol_reply(const struct wire_frame *,
	    struct msg_enrol_reply *, const char **why);
int	proto_decode_auth_id(const struct wire_frame *, struct msg_auth_id *,
	    const char **why);
int	proto_decode_auth_challenge(const struct wire_frame *,
	    struct msg_auth_challenge *, const char **why);
int	proto_decode_auth_proof(const struct wire_frame *,
	    struct msg_auth_proof *, const char **why);
int	proto_decode_auth_ok(const struct wire_frame *, struct msg_auth_ok *,
	    const char **why);
int	proto_decode_status(const struct wire_frame *, struct msg_status *,
	    const char **why);
/* PAIR_REQUIRED: proto_decode_empty(f, WIRE_PAIR_REQUIRED, why). */
int	proto_decode_pair_proof(const struct wire_frame *,
	    struct msg_pair_proof *, const char **why);
int	proto_encode_order(struct buf *, const struct msg_order *);
int	proto_encode_order_ack(struct buf *, const struct msg_order_ack *);
int	proto_encode_result(struct buf *, const struct msg_result *);
int	proto_encode_result_ack(struct buf *, const struct msg_result_ack *);
int	proto_encode_inventory(struct buf *, const struct msg_inventory *);
int	proto_decode_order(const struct wire_frame *, struct msg_order *,
	    const char **why);
int	proto_decode_order_ack(const struct wire_frame *,
	    struct msg_order_ack *, const char **why);
/* output and scripts point into the frame: valid while it is. */
int	proto_decode_result(const struct wire_frame *, struct msg_result *,
	    const char **why);
/* A result's fields in range (what the encoder sends and the decoder,
 * the spool and the tentacle's supervisor accept): 1, or 0 with the
 * reason in *why (why may be NULL). */
int	proto_result_valid(const struct msg_result *, const char **why);
int	proto_decode_result_ack(const struct wire_frame *,
	    struct msg_result_ack *, const char **why);
int	proto_decode_inventory(const struct wire_frame *,
	    struct msg_inventory *, const char **why);
int	proto_encode_signkey(struct buf *, const struct msg_signkey *);
int	proto_encode_script_put(struct buf *, const struct msg_script_put *);
int	proto_encode_script_delete(struct buf *,
	    const struct msg_script_delete *);
int	proto_encode_script_ack(struct buf *, const struct msg_script_ack *);
int	proto_decode_signkey(const struct wire_frame *, struct msg_signkey *,
	    const char **why);
/* body points into the frame: valid while it is. */
int	proto_decode_script_put(const struct wire_frame *,
	    struct msg_script_put *, const char **why);
int	proto_decode_script_delete(const struct wire_frame *,
	    struct msg_script_delete *, const char **why);
int	proto_decode_script_ack(const struct wire_frame *,
	    struct msg_script_ack *, const char **why);
/* A script name a tentacle may run: [A-Za-z0-9._-], 1..63 characters, no
 * leading dot (so no "..", no hidden file, no path). */
int	proto_script_name_valid(const char *);
/* A tentacle label (SPEC "Groups"): 1..PROTO_LABEL_MAX of a-z 0-9 . _ - */
#define PROTO_LABEL_MAX		32
int	proto_label_valid(const char *);
/* Labels of one tentacle, or of one request: at most PROTO_LABELS_MAX,
 * each once, in the order given. As text: "web,db" (a tentacle's
 * configuration may write "web, db"). */
#define PROTO_LABELS_MAX	32
#define PROTO_LABELS_TEXT_MAX	(PROTO_LABELS_MAX * (PROTO_LABEL_MAX + 1) + 1)
struct proto_labels {
	uint32_t	n;
	char		v[PROTO_LABELS_MAX][PROTO_LABEL_MAX + 1];
};
/* Add one (once: a repeat is no error): 0, or -1 with why. */
int	proto_labels_add(struct proto_labels *, const char *,
	    const char **why);
/* Comma-separated, white space around each ignored, "" is none: 0, or
 * -1 with why (what is bad). */
int	proto_labels_parse(const char *text, struct proto_labels *,
	    const char **why);
/* "a,b" into out (PROTO_LABELS_TEXT_MAX bytes). */
void	proto_labels_join(const struct proto_labels *, char *out,
	    size_t outlen);

/* WIRE_ERROR's reason, cleaned to printable ASCII for the log. */
int	proto_decode_error(const struct wire_frame *, char *reason,
	    size_t len);

/* Field shapes, also used on values from configuration and the API. */
int	proto_hostname_valid(const char *);	/* [A-Za-z0-9.-_], 1..63 */
int	proto_fingerprint_valid(const char *);	/* 64 lowercase hex */
int	proto_token_secret_valid(const char *);	/* 32 lowercase hex */
int	proto_printable(const char *);		/* ASCII 0x20..0x7e only */
/* The n bytes at s are lowercase hex digits (no NUL needed). */
int	proto_hex_lower(const char *s, size_t n);

/*
 * The pairing code of a tentacle that waits to be enrolled by address:
 * PROTO_PAIRING_LEN characters of the RFC 4648 base32 alphabet (A-Z, 2-7:
 * 5 bits each, 60 bits), shown as XXXX-XXXX-XXXX. Parsing takes either
 * case, with or without the dashes (and spaces). The key is HKDF-SHA256
 * of the code; each side's proof is
 *	HMAC-SHA256(key, "octopus-v2 pairing brain"|"... tentacle" | E)
 * with E the TLS exporter value of the session (as the handshake's), so a
 * relay that terminates TLS on each side cannot reuse a proof, and a
 * recorded one is good for nothing else.
 */
#define PROTO_PAIRING_LEN	12
#define PROTO_PAIRING_SHOWN	(PROTO_PAIRING_LEN + 2)	/* with dashes */
enum proto_pairing_side { PAIRING_BRAIN, PAIRING_TENTACLE };

int	proto_pairing_new(char code[PROTO_PAIRING_LEN + 1]);
/* 0 and the canonical code (upper case, no dash), or -1. */
int	proto_pairing_parse(const char *in, char code[PROTO_PAIRING_LEN + 1]);
void	proto_pairing_show(const char code[PROTO_PAIRING_LEN + 1],
	    char out[PROTO_PAIRING_SHOWN + 1]);
int	proto_pairing_key(const char code[PROTO_PAIRING_LEN + 1],
	    uint8_t key[PROTO_KEY_LEN]);
int	proto_pairing_proof(const uint8_t key[PROTO_KEY_LEN],
	    enum proto_pairing_side, const uint8_t exporter[PROTO_EXPORTER_LEN],
	    uint8_t proof[PROTO_MAC_LEN]);

/*
 * End-to-end MACs, HMAC-SHA256 with the tentacle's key over a label and
 * the pack.h encoding of every field (so no two messages share an input):
 *	order:  "octopus-v2 order" | tentacle ID | job | script | script hash
 *	        | the exporter value of the TLS session that carries it
 *	result: "octopus-v2 result" | tentacle ID | job | outcome |
 *	        exit status | signal | started | duration | truncated | output
 *	        [| sha256, only when not ""]
 *	signkey: "octopus-v2 signkey" | tentacle ID | pub | the exporter
 *	        value of the TLS session that carries it
 * Each fills mac (0), or -1. proto_*_mac_ok: 1 if m->mac is the right
 * one (constant time), 0 if not.
 */
int	proto_order_mac(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
	    const struct msg_order *, const uint8_t exporter[PROTO_EXPORTER_LEN],
	    uint8_t mac[PROTO_MAC_LEN]);
int	proto_order_mac_ok(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
	    const struct msg_order *,
	    const uint8_t exporter[PROTO_EXPORTER_LEN]);
int	proto_result_mac(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
	    const struct msg_result *, uint8_t mac[PROTO_MAC_LEN]);
int	proto_result_mac_ok(const uint8_t key[PROTO_KEY_LEN],
	    uint64_t tentacle, const struct msg_result *);
int	proto_signkey_mac(const uint8_t key[PROTO_KEY_LEN], uint64_t tentacle,
	    const uint8_t pub[PROTO_SIGN_PUB_LEN],
	    const uint8_t exporter[PROTO_EXPORTER_LEN],
	    uint8_t mac[PROTO_MAC_LEN]);
int	proto_signkey_mac_ok(const uint8_t key[PROTO_KEY_LEN],
	    uint64_t tentacle, const struct msg_signkey *,
	    const uint8_t exporter[PROTO_EXPORTER_LEN]);

/*
 * The enrolment's key, delivered wrapped (only the maestro and the
 * tentacle ever see it in clear; the registerer relays ciphertext):
 *	S   = X25519(brain's ephemeral private key, tentacle's enrol_pub)
 *	K,N = HKDF-SHA256(salt = E, ikm = S, info = "octopus-v2 enrol-wrap" |
 *	      enrol_pub | brain_pub | tentacle ID | status [| sign_pub, when
 *	      has_sign_pub]), 32 + 12 bytes
 *	wrapped_key = AES-256-GCM(K, N, aad = the same info, key)
 * E is the exporter value of the TLS session between the registerer and
 * the tentacle (handshake.h), so the wrapping is bound to that session.
 * The brain's side makes a fresh key pair for each reply and wipes it:
 * fills reply->brain_pub and reply->wrapped_key from reply->id,
 * reply->status, reply->sign_pub if has_sign_pub (set them first) and
 * key. The tentacle's side: 0 and key, or -1 (a wrong
 * wrapping, another session, a changed ID or status).
 */
/* 1 if pub is an X25519 key a wrapping can use (not of low order). */
int	proto_enrol_pub_valid(const uint8_t pub[PROTO_PUB_LEN]);
int	proto_enrol_wrap(const uint8_t enrol_pub[PROTO_PUB_LEN],
	    const uint8_t exporter[PROTO_EXPORTER_LEN],
	    const uint8_t key[PROTO_KEY_LEN], struct msg_enrol_reply *reply);
int	proto_enrol_unwrap(const uint8_t enrol_priv[PROTO_PUB_LEN],
	    const uint8_t enrol_pub[PROTO_PUB_LEN],
	    const uint8_t exporter[PROTO_EXPORTER_LEN],
	    const struct msg_enrol_reply *reply, uint8_t key[PROTO_KEY_LEN]);

const char *proto_purpose_str(uint8_t);
const char *proto_enrolment_str(uint8_t);

#endif
