/*
 * The payloads of the brain's IPC messages between the maestro and its
 * children (common/ipc.h carries them): one struct, one encoder and one
 * pure decoder per message type, used by both ends. An encoder appends the
 * payload to a buffer (-1 if a field is out of shape or the buffer's limit
 * is hit); a decoder checks every length, that nothing trails and every
 * field's shape, and gives a constant reason for the log in *why. Pointer
 * fields of a decoded message point into the payload.
 *
 * No message carries a tentacle's key: the children get proofs, verdicts
 * and MACs that are good for one connection (handshake.h), and the
 * enrolment's key only wrapped for the tentacle (proto_enrol_wrap).
 *
 * id in the header: the registerer's or commander's connection number for
 * ENROL_*, PROOF_*, RESULT_STORE/STORED; the maestro's offer number for
 * ENROL_OFFER/OFFER_DONE; 0 for the rest.
 */
#ifndef OCTO_IPCMSG_H
#define OCTO_IPCMSG_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "export.h"
#include "handshake.h"
#include "histo.h"
#include "jobstate.h"
#include "limits.h"
#include "net.h"
#include "proto.h"

/* Strings of these messages, for people: the longest a child may send. */
#define IPCMSG_ERROR_MAX	256	/* errors, reasons, job messages */
#define IPCMSG_KIND_MAX		32	/* LOG_EVENT's kind */

/*
 * IPC_AUTH_LOGIN (webserv): POST /api/login's credentials and the client's
 * address; totp "" when the body had none, else at most OCTO_TOTP_CODE_MAX
 * digits (the maestro checks the code). The password is any bytes but NUL.
 */
struct ipc_auth_login {
	char	client[OCTO_ADDR_MAX];
	char	user[OCTO_NAME_MAX];
	char	password[OCTO_PASSWORD_MAX + 1];
	char	totp[OCTO_TOTP_CODE_MAX + 1];
};

/* IPC_LOG_EVENT (any child): something for the audit log and counters. */
struct ipc_log_event {
	char	kind[IPCMSG_KIND_MAX];		/* [a-z_]+ */
	char	peer[NET_PEER_MAX];
	char	detail[IPCMSG_ERROR_MAX];
};

/*
 * IPC_ENROL_REQUEST (registerer): a tentacle's ENROL_REQUEST, the frame's
 * payload as it came (the maestro decodes it again), with what the
 * registerer saw of the connection: its TCP source, the TLS peer's
 * certificate, the session's exporter value (for the key's wrapping).
 */
struct ipc_enrol_request {
	uint32_t	 offer;		/* 0: the tentacle came to 6000 */
	char		 source[NET_PEER_MAX];
	char		 fingerprint[OCTO_FPR_HEX_LEN + 1];
	uint8_t		 exporter[HS_EXPORTER_LEN];
	const uint8_t	*frame;
	size_t		 frame_len;	/* <= WIRE_PAYLOAD_MAX */
};

/* IPC_ENROL_REPLY (maestro): the decision; on ok, what the registerer puts
 * into ENROL_REPLY (the key only wrapped, for the tentacle). */
struct ipc_enrol_reply {
	uint8_t		ok;
	char		error[IPCMSG_ERROR_MAX];	/* "" when ok */
	uint8_t		status;			/* enum proto_enrolment */
	uint64_t	id;
	uint8_t		brain_pub[PROTO_PUB_LEN];
	uint8_t		wrapped_key[PROTO_WRAPPED_LEN];
	/* The script-signing public key (issue 14), which the wrapping
	 * covers: the registerer puts it into ENROL_REPLY as it is. */
	uint8_t		has_sign_pub;
	uint8_t		sign_pub[PROTO_SIGN_PUB_LEN];
};

/* IPC_ENROL_OFFER (maestro): enrol the host at address:port; pairing 1
 * when the admin gave its pairing code (the maestro keeps it: the
 * registerer asks for the proofs with IPC_PAIR_MAKE). */
struct ipc_enrol_offer {
	char		address[OCTO_ADDR_MAX];
	uint32_t	port;
	uint8_t		pairing;
};

/* IPC_PAIR_MAKE (registerer): the proofs of the pairing code for offer,
 * bound to this session's exporter value (proto_pairing_proof); once per
 * offer. */
struct ipc_pair_make {
	uint32_t	offer;
	uint8_t		exporter[HS_EXPORTER_LEN];
};

/* IPC_PAIR_MADE (maestro): the brain's proof and the one the tentacle
 * must show, good for that session only; or not ok with the reason. */
struct ipc_pair_made {
	uint8_t		ok;
	uint8_t		proof[PROTO_MAC_LEN];
	uint8_t		expect[PROTO_MAC_LEN];
	char		error[IPCMSG_ERROR_MAX];
};

/* IPC_ENROL_OFFER_DONE (registerer): how the offer went. */
struct ipc_enrol_offer_done {
	uint8_t		ok;
	uint64_t	tentacle;	/* ok: its ID; else 0 */
	uint32_t	http_status;	/* for the API's answer */
	char		error[IPCMSG_ERROR_MAX];
};

/*
 * IPC_PROOF_CHECK (registerer, commander): a tentacle connected to us and
 * sent its proof (AUTH_PROOF): the handshake's public inputs, its proof,
 * and the certificate it showed. The maestro answers IPC_PROOF_VERDICT:
 * only when the tentacle proved the key bound to its ID, with the
 * certificate it enrolled with, does it make our proof.
 */
struct ipc_proof_check {
	struct hs_inputs	in;
	uint8_t			proof[PROTO_MAC_LEN];	/* the tentacle's */
	char			fingerprint[OCTO_FPR_HEX_LEN + 1];
};

enum ipc_verdict {
	VERDICT_OK = 0,		/* proof: ours, for AUTH_OK */
	VERDICT_UNKNOWN,	/* unknown or revoked tentacle ID */
	VERDICT_CERT,		/* not the certificate enrolled for the ID */
	VERDICT_WRONG,		/* its proof is wrong (wrong key, a relay) */
	VERDICT_REFUSED,	/* nothing we ordered (PROOF_MAKE) */
	VERDICT_ERROR,		/* the database failed: try again later */
	VERDICT_MAX
};

struct ipc_proof_verdict {
	uint8_t		verdict;	/* enum ipc_verdict */
	uint8_t		enrolment;	/* OK: enum proto_enrolment */
	uint8_t		proof[PROTO_MAC_LEN];	/* OK: ours; else zero */
};

/*
 * IPC_PROOF_MAKE (commander): the proof for a connection the maestro
 * ordered, named by the ticket that came with the order or the ping; the
 * ticket is bound to its tentacle and purpose and is good once. The
 * maestro answers IPC_PROOF_MADE with our proof, the one the tentacle must
 * show, and for an order the ORDER's MAC (bound to this session's
 * exporter value: proto_order_mac).
 */
struct ipc_proof_make {
	uint64_t		ticket;
	struct hs_inputs	in;
	char			fingerprint[OCTO_FPR_HEX_LEN + 1];
};

struct ipc_proof_made {
	uint8_t		verdict;	/* VERDICT_OK, or why not */
	uint8_t		proof[PROTO_MAC_LEN];	/* ours (AUTH_PROOF) */
	uint8_t		expect[PROTO_MAC_LEN];	/* its (AUTH_OK) */
	uint8_t		order_mac[PROTO_MAC_LEN];	/* ORDER; else zero */
};

/*
 * IPC_RUN_ORDER (maestro): send this job to its tentacle; IPC_KEEPALIVE:
 * ping it (job 0, script ""). The fingerprint is the one enrolled (pinned,
 * public); the ticket names this order in PROOF_MAKE.
 */
struct ipc_run_order {
	uint64_t	job;
	uint64_t	run;		/* the job's; 0 with job 0 */
	uint64_t	ticket;
	uint64_t	tentacle;
	char		address[OCTO_ADDR_MAX];
	uint32_t	port;
	char		fingerprint[OCTO_FPR_HEX_LEN + 1];
	char		script[PROTO_SCRIPT_NAME_MAX];
	char		script_sha256[OCTO_FPR_HEX_LEN + 1];	/* "" = any */
};

/* IPC_JOB_STATE (commander): how sending a job went: JOB_RUNNING (the
 * tentacle acknowledged it), JOB_FAILED (it refused it: message says
 * why) or JOB_UNREACHABLE (no authenticated answer); jobstate.h. */
struct ipc_job_state {
	uint64_t	job;
	uint8_t		state;		/* enum job_state */
	char		message[IPCMSG_ERROR_MAX];
};

/* IPC_RESULT_STORE (commander): a RESULT frame's payload as the tentacle
 * sent it (its MAC inside), from the tentacle that authenticated. */
struct ipc_result_store {
	uint64_t	 tentacle;
	const uint8_t	*frame;
	size_t		 frame_len;	/* <= WIRE_PAYLOAD_MAX */
};

/* IPC_RESULT_STORED (maestro): what to tell the tentacle. */
enum ipc_stored {
	STORED_OK = 0,		/* committed: RESULT_ACK stored */
	STORED_RETRY,		/* not now (database): WIRE_ERROR */
	STORED_REFUSED,		/* never (error says why): RESULT_ACK refused */
	STORED_MAX
};

struct ipc_result_stored {
	uint8_t		status;		/* enum ipc_stored */
	uint64_t	job;		/* 0 if the frame named none */
	char		error[IPCMSG_ERROR_MAX];
};

/* IPC_TENTACLE_SEEN (commander): a keepalive answered, with the INVENTORY
 * frame's payload (empty: it answered STATUS). */
struct ipc_tentacle_seen {
	uint64_t	 tentacle;
	const uint8_t	*inventory;
	size_t		 inventory_len;	/* <= WIRE_PAYLOAD_MAX */
};

/* IPC_TENTACLE_MISSED (commander): a keepalive not answered. */
struct ipc_tentacle_missed {
	uint64_t	tentacle;
	char		reason[IPCMSG_ERROR_MAX];
};

/*
 * IPC_CHILD_INIT (maestro): the first message on the channel of a child it
 * executed (`octoBrain --child ROLE`), which holds nothing else: what of
 * the configuration that child uses, and the certificate and key of its
 * own port only (the webserv the dashboard's, the registerer and the
 * commander the tentacle-facing ones). The child builds its TLS contexts
 * from them and wipes them; it cannot read state_dir.
 */
#define IPCMSG_ROLE_MAX		16		/* [a-z]+ */
#define IPCMSG_PEM_MAX		(64 * 1024)	/* a certificate chain, a key */

struct ipc_child_init {
	char		 role[IPCMSG_ROLE_MAX];	/* must be the child's */
	char		 address[OCTO_ADDR_MAX];	/* it listens there */
	char		 advertise[OCTO_ADDR_MAX];	/* advertise_address */
	uint32_t	 port;
	uint32_t	 io_timeout;		/* 1..3600 s */
	uint32_t	 max_tentacles;		/* 1..1000000 */
	char		 web_root[OCTO_PATH_MAX];	/* webserv; else "" */
	const uint8_t	*cert_pem;
	size_t		 cert_pem_len;		/* 1..IPCMSG_PEM_MAX */
	const uint8_t	*key_pem;
	size_t		 key_pem_len;		/* 1..IPCMSG_PEM_MAX */
};

/*
 * IPC_API_REPLY (maestro): the answer to an IPC_API_CALL or IPC_AUTH_LOGIN
 * with the same id: the HTTP status, the JSON body (1..IPC_PAYLOAD_MAX
 * bytes, no NUL; not NUL-terminated when decoded: it points into the
 * payload), the cookie: "" = leave it, "-" = clear it, else the new
 * session key (OCTO_TOKEN_HEX_LEN lowercase hex digits; it goes into a
 * Set-Cookie header as it is).
 */
struct ipc_api_reply {
	uint32_t	 status;		/* 200..599 */
	const char	*json;
	size_t		 json_len;
	char		 cookie[OCTO_TOKEN_HEX_LEN + 1];
};

/* IPC_CONFIG_RELOAD (maestro, after SIGHUP): what of the reloaded
 * configuration a running child applies at once. */
struct ipc_config_reload {
	uint32_t	 io_timeout;		/* 1..3600 s */
	uint32_t	 max_tentacles;		/* 1..1000000 */
};

/* ---- export (issue 17; brain/export.h) ---- */

/*
 * IPC_EXPORT_CONF (maestro -> exporter, after IPC_CHILD_INIT and again
 * after a reload): the brain's name and each target configured (*_on),
 * with its collector's numeric address (the exporter resolves nothing),
 * the name its certificate must have (host: a name or the address), the
 * CA bundle it must chain to, and its credentials: the syslog client's
 * certificate and key (optional, both or neither), the webhook's secret.
 */
struct ipc_export_conf {
	char		 brain[OCTO_NAME_MAX];	/* printable, not empty */
	uint8_t		 syslog_on;
	char		 syslog_host[EXPORT_HOST_MAX];
	char		 syslog_addr[OCTO_ADDR_MAX];
	uint32_t	 syslog_port;
	const uint8_t	*syslog_ca;
	size_t		 syslog_ca_len;		/* 1..EXPORT_CA_MAX if on */
	const uint8_t	*syslog_cert;
	size_t		 syslog_cert_len;	/* 0..IPCMSG_PEM_MAX */
	const uint8_t	*syslog_key;
	size_t		 syslog_key_len;	/* 0 exactly when no cert */
	uint8_t		 webhook_on;
	char		 webhook_host[EXPORT_HOST_MAX];
	char		 webhook_addr[OCTO_ADDR_MAX];
	uint32_t	 webhook_port;
	char		 webhook_path[EXPORT_PATH_MAX];	/* starts with / */
	const uint8_t	*webhook_ca;
	size_t		 webhook_ca_len;	/* 1..EXPORT_CA_MAX if on */
	const uint8_t	*webhook_secret;
	size_t		 webhook_secret_len;	/* 1..EXPORT_SECRET_MAX if on */
};

/* IPC_EXPORT_EVENT (maestro): one event for one target, by seq. */
struct ipc_export_event {
	uint8_t		 target;		/* enum export_target */
	uint64_t	 seq;			/* 1..INT64_MAX */
	const char	*json;			/* not NUL-terminated */
	size_t		 json_len;		/* 1..EXPORT_EVENT_MAX, no NUL */
};

/* IPC_EXPORT_ACK (exporter): the target is done with every event up to
 * seq (0: nothing new, a change of state): delivered, or given up after
 * its collector refused it again and again (dropped: how many of those
 * since the last ack), its state, its last error. */
struct ipc_export_ack {
	uint8_t		 target;		/* enum export_target */
	uint64_t	 seq;			/* 0..INT64_MAX */
	uint32_t	 dropped;		/* 0 if seq is 0 */
	uint8_t		 state;			/* enum export_state */
	char		 error[IPCMSG_ERROR_MAX];	/* "" = none */
};

/* IPC_EXPORT_DROP (maestro): the queue was full and dropped every event
 * up to seq for the target (counted): the exporter forgets them. */
struct ipc_export_drop {
	uint8_t		 target;		/* enum export_target */
	uint64_t	 seq;			/* 1..INT64_MAX */
};

/* IPC_METRICS_GET (webserv): GET /metrics with the bearer token it
 * carried ("" = none; the maestro compares it), the client's address and
 * webserv's own latency histograms, one per route class (request parsed
 * to response written; since webserv started). The reply is
 * IPC_API_REPLY, its body the Prometheus text on 200. */
#define IPCMSG_TOKEN_MAX	256
enum web_route {
	WEB_ROUTE_API,		/* /api/... (login too) */
	WEB_ROUTE_METRICS,	/* /metrics */
	WEB_ROUTE_STATIC,	/* the dashboard's files */
	WEB_ROUTES
};
struct ipc_metrics_get {
	char		token[IPCMSG_TOKEN_MAX + 1];	/* printable, no space */
	char		client[OCTO_ADDR_MAX];
	struct histo	http[WEB_ROUTES];		/* histo_valid() */
};
const char	*ipcmsg_web_route_str(int);

/*
 * IPC_SCRIPT_PUSH (maestro): managed scripts for one tentacle (issue 14),
 * over one PURPOSE_SCRIPT connection: a SIGNKEY first if signkey (the
 * commander builds it from pub and the MAC PROOF_MADE gives in its
 * order_mac), then each of frames, whole WIRE_SCRIPT_PUT and
 * WIRE_SCRIPT_DELETE frames as the maestro encoded and signed them (the
 * commander cannot change one unseen), one at a time, each after the
 * SCRIPT_ACK of the one before. At least one of the two.
 */
#define IPCMSG_PUSH_MAX		(IPC_PAYLOAD_MAX - 4096)

struct ipc_script_push {
	uint64_t	 tentacle;
	uint64_t	 ticket;
	char		 address[OCTO_ADDR_MAX];
	uint32_t	 port;
	char		 fingerprint[OCTO_FPR_HEX_LEN + 1];
	uint8_t		 signkey;
	uint8_t		 pub[PROTO_SIGN_PUB_LEN];	/* signkey: the key */
	const uint8_t	*frames;
	size_t		 frames_len;	/* <= IPCMSG_PUSH_MAX */
};

/* IPC_SCRIPT_ACKED (commander): the tentacle's SCRIPT_ACK frame payload
 * as it came (the maestro decodes it), or, final, the end of the push
 * (reason "" when every frame was acknowledged). */
struct ipc_script_acked {
	uint64_t	 tentacle;
	uint8_t		 final;
	char		 reason[IPCMSG_ERROR_MAX];
	const uint8_t	*ack;
	size_t		 ack_len;	/* 0 when final */
};

/*
 * IPC_TENTACLE_ADDRESSES (maestro -> registerer, commander): the addresses
 * of the accepted tentacles (their command address and the source they
 * enrolled from), as net.h's 16-byte keys, for which the child keeps
 * connection slots no stranger can take (peer.c). The whole set goes in
 * one or more messages: the first has ADDRESSES_FIRST (the child starts a
 * new set), the last ADDRESSES_LAST (the new set replaces the old one);
 * one message may have both. Sent when the child starts and when the set
 * changes (enrolment, acceptance, rejection, revocation).
 */
#define IPCMSG_ADDRESSES_MAX	65536	/* keys in one message (1 MiB) */
#define ADDRESSES_FIRST		0x01
#define ADDRESSES_LAST		0x02

struct ipc_tentacle_addresses {
	uint8_t		 flags;		/* ADDRESSES_FIRST | ADDRESSES_LAST */
	const uint8_t	*keys;		/* count * NET_ADDR_KEY_LEN bytes */
	size_t		 count;		/* 0..IPCMSG_ADDRESSES_MAX */
};

/*
 * For each message: ipcmsg_encode_NAME (payload appended to the buffer),
 * ipcmsg_decode_NAME (pure), ipcmsg_send_NAME (encode and ipc_send with
 * the given type and id: 0, or -1 if it does not encode or send).
 */
struct ipc_chan;
#define IPCMSG_CODEC(name)						\
int	ipcmsg_encode_##name(struct buf *, const struct ipc_##name *);	\
int	ipcmsg_decode_##name(const uint8_t *, size_t, struct ipc_##name *, \
	    const char **why);						\
int	ipcmsg_send_##name(struct ipc_chan *, uint32_t type, uint32_t id, \
	    const struct ipc_##name *);

IPCMSG_CODEC(auth_login)
IPCMSG_CODEC(log_event)
IPCMSG_CODEC(enrol_request)
IPCMSG_CODEC(enrol_reply)
IPCMSG_CODEC(enrol_offer)
IPCMSG_CODEC(enrol_offer_done)
IPCMSG_CODEC(pair_make)
IPCMSG_CODEC(pair_made)
IPCMSG_CODEC(proof_check)
IPCMSG_CODEC(proof_verdict)
IPCMSG_CODEC(proof_make)
IPCMSG_CODEC(proof_made)
IPCMSG_CODEC(run_order)
IPCMSG_CODEC(job_state)
IPCMSG_CODEC(result_store)
IPCMSG_CODEC(result_stored)
IPCMSG_CODEC(tentacle_seen)
IPCMSG_CODEC(tentacle_missed)
IPCMSG_CODEC(child_init)
IPCMSG_CODEC(api_reply)
IPCMSG_CODEC(config_reload)
IPCMSG_CODEC(script_push)
IPCMSG_CODEC(script_acked)
IPCMSG_CODEC(export_conf)
IPCMSG_CODEC(export_event)
IPCMSG_CODEC(export_ack)
IPCMSG_CODEC(export_drop)
IPCMSG_CODEC(metrics_get)
IPCMSG_CODEC(tentacle_addresses)

#undef IPCMSG_CODEC

/* Copy text for a message's string field: truncated to fit, and anything
 * but printable ASCII as '?' (the decoders refuse it: it goes to logs). */
void	ipcmsg_text(char *dst, size_t dstsz, const char *src);

const char *ipcmsg_verdict_str(uint8_t);

#endif
