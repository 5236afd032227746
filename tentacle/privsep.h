/*
 * Privilege separation of the tentacle (configuration key `user`, started
 * as root), after OpenSSH's monitor. The supervisor stays root and is the
 * only process that holds the tentacle's key K, writes the enrolment
 * (state_dir/private/enrolment, enrolment.h) and the pinned signing key,
 * and runs scripts; the register and the command worker drop to `user`
 * once they have what they need (their sockets, the TLS contexts, the
 * enrolment without K) and ask the supervisor over a socketpair (ipc.h).
 * Every message is hostile to the supervisor: a type the child's role
 * does not send, a malformed payload, a request its role does not make
 * ends the channel and the child (SIGKILL; it is restarted).
 *
 * The register:
 *	(before the fork the supervisor makes an X25519 key pair; the
 *	 register gets the public half and sends it in ENROL_REQUEST)
 *	IPC_ENROLMENT_SET  register -> supervisor  bytes the enrolment's
 *			file text (K all zero), bytes brain_pub (32), bytes
 *			wrapped_key (48), bytes exporter (32): the
 *			ENROL_REPLY's wrapping of K for our key pair and
 *			that TLS session. The supervisor refuses another
 *			brain than brain_fingerprint / the token's, unwraps
 *			K (which checks ID, status and signing key too),
 *			writes the file (0600) and pins the signing key if
 *			none is pinned.
 *	IPC_ENROLMENT_STORED supervisor -> register  u8 1 stored, 0 not
 *			(the tentacle stops), 2 not wrapped for us (refused:
 *			the register enrols on). The register exits once
 *			stored.
 *
 * The command worker: scripts (the result travels back in the message:
 * root never writes nor reads in the spool, which is the worker's):
 *	IPC_RUN_REQUEST	worker -> supervisor	u64 job, str script,
 *			str sha256 (the order's: "" or 64 lowercase hex),
 *			bytes mac (32: the ORDER's), bytes exporter (32:
 *			its session's)
 *	IPC_RUN_ACCEPTED supervisor -> worker	u64 job, u8 accepted, str
 *			message: the ORDER_ACK to send. Refused (not
 *			hostile: the worker cannot check) when the MAC is
 *			not the brain's for that session, or the session is
 *			not one whose ORDER handshake the supervisor checked
 *			(each carries one order: a recorded one is not run
 *			again).
 *	IPC_RUN_DONE	supervisor -> worker	u64 job, u8 outcome,
 *			u32 exit_status, u32 signal, u64 started_at_ms,
 *			u64 duration_ms, u8 truncated, bytes output,
 *			str sha256 (of what ran, or ""), bytes mac (32:
 *			proto_result_mac, made here: results are
 *			authenticated root -> brain; spooled with it)
 *
 * The command worker: handshakes (handshake.h, proofs "from elsewhere"):
 *	IPC_HS_NONCE_ASK worker -> supervisor	u8 n (1..PRIVSEP_NONCES_MAX)
 *	IPC_HS_NONCES	supervisor -> worker	bytes n nonces of 32: Ns for
 *			the next 7001 handshakes (hs_server_nonce); the
 *			supervisor keeps them, each good once
 *	IPC_HS_PROOF_ASK worker -> supervisor	u64 request, u8 role
 *			(HS_CLIENT, HS_SERVER), u8 purpose, u64 ID, bytes
 *			Nc, Ns, exporter (32 each), bytes the client's proof
 *			(32; as server). As server only for PING, ORDER,
 *			SCRIPT, with a nonce it gave; as client only for
 *			RESULT, and POLL while the enrolment is pending,
 *			with our ID.
 *	IPC_HS_PROOF	supervisor -> worker	u64 request, u8 ok, bytes
 *			our proof (32), bytes the server's we must see (32;
 *			as client), str why (not ok). As server the client's
 *			proof is checked first.
 *	IPC_STATUS_SET	worker -> supervisor	u8 the status a pending
 *			tentacle's poll brought back (only while pending):
 *			the supervisor writes it.
 *
 * Managed scripts (issue 14): the supervisor alone writes
 * managed_scripts_dir and holds the pinned signing key; the worker hands
 * it each frame of a PURPOSE_SCRIPT connection, and asks it for the
 * inventory (the supervisor scans the scripts: the worker may not read
 * the managed directory):
 *	IPC_SCRIPT_REQUEST worker -> supervisor	u64 request, u8 wire type
 *			(SIGNKEY, SCRIPT_PUT, SCRIPT_DELETE), bytes the frame's
 *			payload, bytes exporter (32: the TLS session's, for
 *			SIGNKEY's MAC, checked here with K); refused unless
 *			it is a SCRIPT session whose handshake we checked
 *	IPC_SCRIPT_DONE	supervisor -> worker	u64 request, bytes the
 *			SCRIPT_ACK frame's payload (proto_decode_script_ack)
 *	IPC_INVENTORY_ASK worker -> supervisor	u64 request
 *	IPC_INVENTORY_SET supervisor -> worker	u64 request, u8 managed
 *			(managed_scripts), str signing key (64 hex, "" = none
 *			pinned), bytes scripts (inventory.h's JSON array)
 *
 * Runs: more than RUN_CONCURRENT_MAX at once or a job already running
 * ends the channel too. The script name is checked again
 * (proto_script_name_valid, then run.c: a regular executable file
 * directly in scripts_dir, never through a symlink).
 *
 * What a compromised worker can still do: withhold, delay or drop what
 * passes through it (orders, results, pushes, keepalives), and get the
 * supervisor's client proofs for a RESULT connection (it delivers the
 * results), misreport the inventory, and set a pending enrolment's
 * status; but not forge nor replay an order, forge a result, take a
 * script frame from another session, nor pin a key. A compromised register, before enrolment, can still hand
 * the supervisor an enrolment of its making (trust on first use: the
 * TLS session that names the brain is the register's).
 */
#ifndef OCTO_TENTACLE_PRIVSEP_H
#define OCTO_TENTACLE_PRIVSEP_H

#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

/* Results the supervisor keeps while no command worker listens (it died
 * or is being restarted): given to the next one. Each comes from a run,
 * and runs are at most RUN_CONCURRENT_MAX at once. */
#define PRIVSEP_QUEUE_MAX	64

/* Pure codecs (unit tests). Encoders append the payload to out: 0 or -1.
 * Decoders: 0, or -1 with the reason in *why. */
/* RUN_REQUEST: mac and exporter are the ORDER's MAC and its session's
 * exporter value (PROTO_MAC_LEN, PROTO_EXPORTER_LEN). */
int	privsep_encode_request(struct buf *out, uint64_t job,
	    const char *script, const char *sha256, const uint8_t *mac,
	    const uint8_t *exporter);
int	privsep_decode_request(const uint8_t *p, size_t len, uint64_t *job,
	    char *script, size_t scriptlen, char sha256[OCTO_FPR_HEX_LEN + 1],
	    uint8_t mac[PROTO_MAC_LEN], uint8_t exporter[PROTO_EXPORTER_LEN],
	    const char **why);
/* RUN_ACCEPTED: the ORDER_ACK the worker sends (m->message printable). */
int	privsep_encode_accepted(struct buf *out, const struct msg_order_ack *);
int	privsep_decode_accepted(const uint8_t *p, size_t len,
	    struct msg_order_ack *, const char **why);

/* ENROLMENT_SET: the enrolment's file text (enrolment.h, its key all
 * zero), parsed as strictly as the file, then the ENROL_REPLY's wrapping
 * of the key (brain_pub, wrapped_key) and the session's exporter: the
 * supervisor unwraps it with the key pair it made for the register.
 * ENROLMENT_STORED: u8 1 stored, 0 not (stop), PRIVSEP_STORED_NOT_WRAPPED
 * (refused: the key is not wrapped for us; enrol on). STATUS_SET: u8
 * status (enum proto_enrolment). */
#define PRIVSEP_STORED_NOT_WRAPPED	2
#include "enrolment.h"
struct privsep_enrolment {
	struct enrolment e;
	uint8_t		 brain_pub[PROTO_PUB_LEN];
	uint8_t		 wrapped_key[PROTO_WRAPPED_LEN];
	uint8_t		 exporter[PROTO_EXPORTER_LEN];
};
int	privsep_encode_enrolment(struct buf *out,
	    const struct privsep_enrolment *);
int	privsep_decode_enrolment(const uint8_t *p, size_t len,
	    struct privsep_enrolment *, const char **why);
int	privsep_encode_u8(struct buf *out, uint8_t v, uint8_t max);
int	privsep_decode_u8(const uint8_t *p, size_t len, uint8_t *v,
	    uint8_t max, const char **why);

/* HS_PROOF_ASK: the handshake's public inputs, the role we play in it
 * (HS_CLIENT, HS_SERVER) and, as server, the client's proof. HS_PROOF:
 * ok, then (ok) our proof and, as client, the server's we must see;
 * (not ok) the reason. */
struct privsep_proof_ask {
	uint64_t	 request;
	uint8_t		 role;			/* enum hs_role */
	uint8_t		 purpose;
	uint64_t	 id;
	uint8_t		 nonce_c[PROTO_NONCE_LEN];
	uint8_t		 nonce_s[PROTO_NONCE_LEN];
	uint8_t		 exporter[PROTO_EXPORTER_LEN];
	uint8_t		 peer_proof[PROTO_MAC_LEN];	/* server: Pc */
};
struct privsep_proof {
	uint64_t	 request;
	uint8_t		 ok;
	uint8_t		 proof[PROTO_MAC_LEN];
	uint8_t		 expect[PROTO_MAC_LEN];		/* client: Ps */
	char		 why[PROTO_MESSAGE_MAX];	/* printable */
};
int	privsep_encode_proof_ask(struct buf *out,
	    const struct privsep_proof_ask *);
int	privsep_decode_proof_ask(const uint8_t *p, size_t len,
	    struct privsep_proof_ask *, const char **why);
/* HS_NONCE_ASK: u8 how many (1..PRIVSEP_NONCES_MAX). HS_NONCES: bytes,
 * that many PROTO_NONCE_LEN nonces. */
#define PRIVSEP_NONCES_MAX	16
int	privsep_encode_nonces(struct buf *out, const uint8_t *nonces,
	    size_t count);
int	privsep_decode_nonces(const uint8_t *p, size_t len,
	    const uint8_t **nonces, size_t *count, const char **why);
int	privsep_encode_proof(struct buf *out, const struct privsep_proof *);
int	privsep_decode_proof(const uint8_t *p, size_t len,
	    struct privsep_proof *, const char **why);

struct privsep_script_req {
	uint64_t	 request;
	uint8_t		 type;		/* WIRE_SIGNKEY .. WIRE_SCRIPT_DELETE */
	const uint8_t	*frame;		/* the payload: points into p */
	size_t		 frame_len;	/* <= WIRE_PAYLOAD_MAX */
	uint8_t		 exporter[PROTO_EXPORTER_LEN];
};
int	privsep_encode_script_req(struct buf *out,
	    const struct privsep_script_req *);
int	privsep_decode_script_req(const uint8_t *p, size_t len,
	    struct privsep_script_req *, const char **why);
int	privsep_encode_script_done(struct buf *out, uint64_t request,
	    const struct msg_script_ack *);
int	privsep_decode_script_done(const uint8_t *p, size_t len,
	    uint64_t *request, struct msg_script_ack *, const char **why);

struct privsep_inventory {
	uint64_t	 request;
	uint8_t		 managed;
	char		 signkey[2 * PROTO_SIGN_PUB_LEN + 1];	/* "" = none */
	const char	*scripts;	/* points into p; printable ASCII */
	size_t		 scripts_len;	/* <= PROTO_SCRIPTS_MAX */
};
int	privsep_encode_inventory_ask(struct buf *out, uint64_t request);
int	privsep_decode_inventory_ask(const uint8_t *p, size_t len,
	    uint64_t *request, const char **why);
int	privsep_encode_inventory(struct buf *out,
	    const struct privsep_inventory *);
int	privsep_decode_inventory(const uint8_t *p, size_t len,
	    struct privsep_inventory *, const char **why);
int	privsep_encode_done(struct buf *out, const struct msg_result *);
/* m->output points into p. */
int	privsep_decode_done(const uint8_t *p, size_t len,
	    struct msg_result *m, const char **why);

/* The supervisor's side (privsep.c), on its event loop. */
struct event_base;
struct tentacle_conf;
/* Once, at start-up: scripts are run on base; SIGCHLD comes from the
 * caller (privsep_sigchld). */
void	privsep_init(struct event_base *, const struct tentacle_conf *);
/* The configuration changed (reload): the one new runs use. */
void	privsep_set_conf(const struct tentacle_conf *);
/* A child was started with the other end of fd: serve it (the command
 * worker: what waited in the queue is sent at once; the register: its
 * ENROLMENT_SET). A hostile message gets pid SIGKILL. -1 if the channel
 * cannot be made (fd is closed). */
int	privsep_attach(int fd, pid_t pid, int is_register);
/* In a child just forked: forget the key (before the drop). */
void	privsep_forget(void);
/* Before a register is forked: a fresh X25519 key pair for its
 * enrolments, the private half kept here; pub for the register. -1 if
 * there is no randomness. */
int	privsep_enrol_keypair(uint8_t pub[PROTO_PUB_LEN]);
/* The command worker is being stopped: interrupt the runs (their results
 * go to it, "interrupted"), write everything out, close the channel (it
 * exits at EOF). */
void	privsep_detach(void);
/* 1 while a channel is open. */
int	privsep_attached(void);
/* From the supervisor's SIGCHLD handler. */
void	privsep_sigchld(void);
/* At exit: kill what runs, free everything. */
void	privsep_shutdown(void);

#endif
