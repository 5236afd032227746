/*
 * Messages between the maestro and its children over a socketpair (after
 * OpenBSD's imsg). Header (12 bytes, host order is fine: same host, same
 * binary):
 *
 *	type (u32) | payload length (u32) | id (u32)
 *
 * then the payload, marshalled with pack.h. `id` correlates a request with
 * its reply (the webserv's request number, a connection number, ...).
 * Types are IPC_<AREA>_<VERB>. Each child may send only the types in its
 * row of the maestro's permission table; anything else kills that child.
 */
#ifndef OCTO_IPC_H
#define OCTO_IPC_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define IPC_HDR_LEN	12

enum ipc_type {
	IPC_NONE = 0,

	/* webserv -> maestro */
	IPC_AUTH_LOGIN = 1,	/* brain/ipcmsg.h struct ipc_auth_login */
	IPC_API_CALL,		/* see api_call in brain/brain.h */

	/* maestro -> webserv */
	IPC_API_REPLY,		/* brain/ipcmsg.h struct ipc_api_reply */

	/* maestro -> any child */
	IPC_CONFIG_RELOAD,	/* SIGHUP: the limits now (brain/ipcmsg.h) */

	/* any child -> maestro */
	IPC_LOG_EVENT,		/* audit, counters: struct ipc_log_event */

	/* registerer <-> maestro: enrolment (id = connection number) */
	IPC_ENROL_REQUEST,	/* see brain/brain.h */
	IPC_ENROL_REPLY,
	IPC_ENROL_OFFER,	/* maestro: enrol the host at addr:port */
	IPC_ENROL_OFFER_DONE,	/* registerer: how it went */

	/* registerer, commander <-> maestro: handshake proofs (the keys stay
	 * in the maestro; brain/ipcmsg.h) */
	IPC_PROOF_CHECK,	/* check a tentacle's proof, make ours */
	IPC_PROOF_VERDICT,	/* the verdict, and our proof */
	IPC_PROOF_MAKE,		/* commander: our proof for an order/ping */
	IPC_PROOF_MADE,		/* the proofs (and the order's MAC) */

	/* runs: maestro <-> commander (brain/ipcmsg.h) */
	IPC_RUN_ORDER,		/* send this job to its tentacle */
	IPC_JOB_STATE,		/* how sending it went */
	IPC_RESULT_STORE,	/* a tentacle delivered a result */
	IPC_RESULT_STORED,	/* stored (or refused): answer the tentacle */
	IPC_KEEPALIVE,		/* maestro: ping this tentacle */
	IPC_TENTACLE_SEEN,	/* commander: it answered (inventory) */
	IPC_TENTACLE_MISSED,	/* commander: it did not */

	/* tentacle: command worker <-> supervisor (tentacle/privsep.h) */
	IPC_RUN_REQUEST,	/* worker: run this script for this job */
	IPC_RUN_DONE,		/* supervisor: the job's result */

	/* registerer <-> maestro: the pairing code's proofs of an offer
	 * (brain/ipcmsg.h; the code stays in the maestro) */
	IPC_PAIR_MAKE,		/* registerer: proofs for this session */
	IPC_PAIR_MADE,		/* ours, and the one the tentacle must show */

	/* maestro -> a child it executed: its set-up (brain/ipcmsg.h) */
	IPC_CHILD_INIT,

	/* export (issue 17): maestro <-> exporter (brain/ipcmsg.h) */
	IPC_EXPORT_CONF,	/* maestro: the targets and their credentials */
	IPC_EXPORT_EVENT,	/* maestro: an event for one target */
	IPC_EXPORT_ACK,		/* exporter: delivered up to seq; its state */
	IPC_EXPORT_DROP,	/* maestro: the full queue dropped up to seq */
	IPC_METRICS_GET,	/* webserv: GET /metrics (reply: API_REPLY) */
	/* maestro -> registerer, commander: the accepted tentacles'
	 * addresses, which keep connection slots (brain/ipcmsg.h) */
	IPC_TENTACLE_ADDRESSES,

	/* tentacle: command worker <-> supervisor, managed scripts (issue
	 * 14, tentacle/privsep.h) */
	IPC_SCRIPT_REQUEST,	/* worker: a SIGNKEY/SCRIPT_PUT/_DELETE */
	IPC_SCRIPT_DONE,	/* supervisor: its SCRIPT_ACK */
	IPC_INVENTORY_ASK,	/* worker: the scripts, for a keepalive */
	IPC_INVENTORY_SET,	/* supervisor: them */

	/* managed scripts, maestro <-> commander (issue 14; brain/ipcmsg.h) */
	IPC_SCRIPT_PUSH,	/* maestro: push these signed frames */
	IPC_SCRIPT_ACKED,	/* commander: the tentacle's SCRIPT_ACK, or
				   the end of the push */

	/* tentacle: the supervisor holds the key and writes the enrolment
	 * (tentacle/privsep.h) */
	IPC_ENROLMENT_SET,	/* register: store this enrolment */
	IPC_ENROLMENT_STORED,	/* supervisor: stored (or not) */
	IPC_HS_PROOF_ASK,	/* worker: a handshake's proofs */
	IPC_HS_PROOF,		/* supervisor: them, or the refusal */
	IPC_RUN_ACCEPTED,	/* supervisor: a RUN_REQUEST's verdict */
	IPC_STATUS_SET,		/* worker: the enrolment status polled */
	IPC_HS_NONCE_ASK,	/* worker: server nonces for handshakes */
	IPC_HS_NONCES,		/* supervisor: them (each good once) */
	IPC_TYPE_MAX
};

struct ipc_hdr {
	uint32_t	type;
	uint32_t	len;
	uint32_t	id;
};

struct ipc_msg {
	struct ipc_hdr	 hdr;
	const uint8_t	*payload;	/* points into the decoded buffer */
};

enum ipc_status {
	IPC_OK = 0,
	IPC_NEED_MORE,
	IPC_BAD_TYPE,		/* 0 or >= IPC_TYPE_MAX */
	IPC_TOO_LONG,		/* len > IPC_PAYLOAD_MAX */
};

/* Decode the first message of buf; pure, as wire_decode. */
enum ipc_status ipc_decode(const uint8_t *buf, size_t len,
	    struct ipc_msg *m, size_t *consumed);
/* Append a whole message to out. */
int	ipc_encode(struct buf *out, uint32_t type, uint32_t id,
	    const void *payload, size_t len);

const char *ipc_status_str(enum ipc_status);
const char *ipc_type_str(uint32_t type);

/*
 * A channel over the socketpair, on a libevent bufferevent: whole messages
 * in, queued messages out. A malformed message (unknown type, oversized
 * length) or EOF ends the channel through `closed` with a reason; the
 * channel must then be freed by its owner. The handler and `closed` may
 * call ipc_chan_free() on their own channel: the free waits until the
 * callback returns, and nothing more is delivered after it.
 */
struct event_base;
struct ipc_chan;
typedef void (*ipc_handler)(struct ipc_chan *, const struct ipc_msg *,
	    void *arg);
typedef void (*ipc_closed)(struct ipc_chan *, const char *reason,
	    void *arg);

struct ipc_chan *ipc_chan_new(struct event_base *, int fd, ipc_handler,
	    ipc_closed, void *arg);
void	ipc_chan_free(struct ipc_chan *);	/* closes fd */
/* Read up to n bytes at once (libevent's default: 16 KB), then handle
 * the whole messages read: fewer passes of the loop for large messages,
 * longer batches of small ones. */
void	ipc_chan_read_max(struct ipc_chan *, size_t n);
int	ipc_send(struct ipc_chan *, uint32_t type, uint32_t id,
	    const void *payload, size_t len);
/* Block until everything queued is written (a child about to exit). */
void	ipc_flush(struct ipc_chan *);

#endif
