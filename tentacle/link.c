/*
 * What the tentacle's connections share: sending the handshake machine's
 * frames, addresses, the client TLS context, and the authenticated
 * request to the brain (a pending tentacle's poll on the registerer,
 * --ping on the commander): pinned certificate, handshake as client with
 * the enrolment's ID and key, then one STATUS.
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "conn.h"
#include "crypto.h"
#include "enrolment.h"
#include "handshake.h"
#include "keyfile.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "tentacle.h"

int
link_send(struct conn *c, struct buf *b)
{
	struct wire_frame	f;
	size_t			used;
	int			rc = 0;

	while (b->len > 0) {
		if (wire_decode(b->data, b->len, &f, &used) != WIRE_OK) {
			rc = -1;
			break;
		}
		if (conn_send(c, f.type, f.payload, f.len) == -1)
			rc = -1;
		buf_consume(b, used);
		if (rc == -1)
			break;
	}
	buf_reset(b);
	return rc;
}

int
link_local_addr(struct conn *c, char *out, size_t outlen)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	char			 addr[NET_PEER_MAX];
	int			 fd;

	if ((fd = SSL_get_fd(conn_ssl(c))) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) == -1)
		return -1;
	net_format_addr((struct sockaddr *)&ss, sl, addr);
	if (!net_addr_valid(addr) || strlcpy(out, addr, outlen) >= outlen)
		return -1;
	return 0;
}

int
link_addr_specific(const char *addr)
{
	return net_addr_specific(addr);
}

const char *
link_source(const struct tentacle_conf *conf, const char *to)
{
	return net_source_for(conf->listen_address, to);
}

SSL_CTX *
link_client_ctx(const struct tentacle_conf *conf, char *err, size_t errlen)
{
	return keyfile_ctx(conf, TLS_PEER_CLIENT, err, errlen);
}

/* ---- kept TLS sessions with the brain ---------------------------------- */

/*
 * The last session with each brain port (registerer, commander), offered
 * on the next connection to it (tls.h): kept only from a connection that
 * authenticated both ways, only for the brain address, port and pinned
 * fingerprint it was made with, and dropped when a connection that
 * offered it fails before authenticating. In this process's memory only.
 */
#define LINK_KEPT_MAX	2

static struct link_kept {
	char		 addr[OCTO_ADDR_MAX];
	int		 port;
	char		 fpr[OCTO_FPR_HEX_LEN + 1];
	SSL_SESSION	*session;
	uint64_t	 used;		/* LRU clock */
} kept[LINK_KEPT_MAX];
static uint64_t	kept_clock;

static struct link_kept *
kept_find(const char *addr, int port, const char *fpr)
{
	int	i;

	for (i = 0; i < LINK_KEPT_MAX; i++)
		if (kept[i].session != NULL && kept[i].port == port &&
		    strcmp(kept[i].addr, addr) == 0 &&
		    strcmp(kept[i].fpr, fpr) == 0)
			return &kept[i];
	return NULL;
}

static void
kept_drop(struct link_kept *k)
{
	SSL_SESSION_free(k->session);
	memset(k, 0, sizeof(*k));
}

static void
kept_put(struct conn *c, const char *addr, int port, const char *fpr)
{
	struct link_kept	*k;
	SSL_SESSION		*sess;
	int			 i;

	if ((sess = conn_session(c)) == NULL)
		return;
	if ((k = kept_find(addr, port, fpr)) == NULL) {
		k = &kept[0];
		for (i = 1; i < LINK_KEPT_MAX; i++)
			if (kept[i].used < k->used)
				k = &kept[i];
	}
	kept_drop(k);
	strlcpy(k->addr, addr, sizeof(k->addr));
	k->port = port;
	strlcpy(k->fpr, fpr, sizeof(k->fpr));
	k->session = sess;
	k->used = ++kept_clock;
}

/* ---- the authenticated request ---------------------------------------- */

/* With privilege separation the key is the supervisor's: the proofs of
 * every client handshake come from prover (link_set_prover). */
static link_prover	 prover;
static void		*prover_arg;
static uint64_t		 next_ticket;

struct brain_req {
	struct handshake	 hs;
	struct buf		 out;
	char			 fpr[OCTO_FPR_HEX_LEN + 1];	/* pinned */
	uint64_t		 id;
	uint8_t			 key[PROTO_KEY_LEN];
	uint8_t			 purpose;
	char			 addr[OCTO_ADDR_MAX];	/* the brain's */
	int			 port;
	int			 offered;	/* a kept session */
	int			 authenticated;
	int			 done;
	brain_request_cb	 cb;
	void			*arg;
	/* A delivery (PURPOSE_RESULT): the RESULT frame to send once
	 * authenticated, and the job the RESULT_ACK must name. */
	struct buf		 req;
	uint64_t		 job;
	brain_deliver_cb	 dcb;
	/* Waiting for the prover's proofs (0: not). */
	uint64_t		 ticket;
	struct conn		*c;
	LIST_ENTRY(brain_req)	 entry;
};

static LIST_HEAD(, brain_req)	reqs = LIST_HEAD_INITIALIZER(reqs);

void
link_set_prover(link_prover p, void *arg)
{
	prover = p;
	prover_arg = arg;
}

static void
req_finish(struct brain_req *r, int ok, const struct msg_status *st,
    const char *why)
{
	if (r->done)
		return;
	r->done = 1;
	if (r->dcb != NULL)
		r->dcb(ok, why, r->arg);
	else
		r->cb(ok, st, why, r->arg);
}

static void
req_established(struct conn *c, void *arg)
{
	struct brain_req	*r = arg;
	uint8_t			 exp[HS_EXPORTER_LEN];

	if (!crypto_equal(conn_peer_fingerprint(c), r->fpr,
	    OCTO_FPR_HEX_LEN)) {
		conn_fail(c, "certificate FPR is not our brain's");
		return;
	}
	if (conn_exporter(c, exp, sizeof(exp)) == -1) {
		conn_fail(c, "no TLS exporter");
		return;
	}
	if (conn_resumed(c))
		log_debug("brain %s: resumed session", conn_peer(c));
	r->c = c;
	hs_client_init(&r->hs, r->purpose, r->id, prover != NULL ? NULL :
	    r->key, exp);
	crypto_wipe(exp, sizeof(exp));
	if (hs_client_start(&r->hs, &r->out) == HS_FAIL ||
	    link_send(c, &r->out) == -1) {
		conn_fail(c, r->hs.error ? r->hs.error : "cannot send HELLO");
		return;
	}
}

static int
req_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct brain_req	*r = arg;
	struct msg_status	 st;
	const char		*why = "malformed STATUS";
	char			 reason[320];
	char			 msg[256];

	if (!r->authenticated) {
		if (f->type == WIRE_ERROR) {
			proto_decode_error(f, msg, sizeof(msg));
			snprintf(reason, sizeof(reason), "refused by the "
			    "brain: %s", msg);
			req_finish(r, 0, NULL, reason);
			return -1;
		}
		switch (hs_input(&r->hs, f, &r->out)) {
		case HS_NEED_PROOF: {
			struct hs_inputs	in;

			if (prover == NULL || r->ticket != 0) {
				req_finish(r, 0, NULL, "no proof to give");
				return -1;
			}
			hs_inputs(&r->hs, &in);
			r->ticket = ++next_ticket;
			if (prover(r->ticket, &in, prover_arg) == -1) {
				r->ticket = 0;
				crypto_wipe(&in, sizeof(in));
				req_finish(r, 0, NULL, "cannot ask the "
				    "supervisor for the proofs");
				return -1;
			}
			crypto_wipe(&in, sizeof(in));
			return 0;
		}
		case HS_AGAIN:
			if (link_send(c, &r->out) == -1) {
				req_finish(r, 0, NULL, "cannot send");
				return -1;
			}
			return 0;
		case HS_DONE:
			r->authenticated = 1;
			conn_authenticated(c);
			hs_wipe(&r->hs);
			kept_put(c, r->addr, r->port, r->fpr);
			if (r->dcb != NULL)
				log_hop("tw-deliver-authenticated", r->job);
			if (r->req.len > 0 && link_send(c, &r->req) == -1) {
				req_finish(r, 0, NULL, "cannot send");
				return -1;
			}
			return 0;
		default:
			snprintf(reason, sizeof(reason), "handshake failed: "
			    "%s", r->hs.error ? r->hs.error : "unexpected");
			req_finish(r, 0, NULL, reason);
			conn_fail(c, r->hs.error ? r->hs.error :
			    "handshake failed");
			return 0;
		}
	}
	if (f->type == WIRE_ERROR) {
		proto_decode_error(f, msg, sizeof(msg));
		snprintf(reason, sizeof(reason), "refused by the brain: %s",
		    msg);
		req_finish(r, 0, NULL, reason);
		return -1;
	}
	if (r->dcb != NULL) {
		struct msg_result_ack	ack;

		why = "malformed RESULT_ACK";
		if (proto_decode_result_ack(f, &ack, &why) == -1) {
			snprintf(reason, sizeof(reason), "bad RESULT_ACK: %s",
			    why);
			req_finish(r, 0, NULL, reason);
			conn_fail(c, why);
			return 0;
		}
		if (ack.job != r->job) {
			snprintf(reason, sizeof(reason), "RESULT_ACK for job "
			    "%llu, not %llu", (unsigned long long)ack.job,
			    (unsigned long long)r->job);
			req_finish(r, 0, NULL, reason);
			conn_fail(c, "RESULT_ACK for another job");
			return 0;
		}
		if (ack.status == RESULT_ACK_REFUSED) {
			/* For good: ok = -1 (brain_deliver). The reason is
			 * printable (the decoder checked it). */
			req_finish(r, -1, NULL, ack.reason);
			return -1;
		}
		req_finish(r, 1, NULL, NULL);
		return -1;
	}
	if (proto_decode_status(f, &st, &why) == -1) {
		snprintf(reason, sizeof(reason), "bad STATUS: %s", why);
		req_finish(r, 0, NULL, reason);
		conn_fail(c, why);
		return 0;
	}
	req_finish(r, 1, &st, NULL);
	return -1;
}

static void
req_closed(struct conn *c, const char *reason, void *arg)
{
	struct brain_req	*r = arg;
	struct link_kept	*k;

	if (r->offered && !r->authenticated &&
	    (k = kept_find(r->addr, r->port, r->fpr)) != NULL)
		kept_drop(k);
	req_finish(r, 0, NULL, reason);
	LIST_REMOVE(r, entry);
	hs_wipe(&r->hs);
	crypto_wipe(r->key, sizeof(r->key));
	buf_free(&r->out);
	buf_free(&r->req);
	free(r);
}

static const struct conn_cbs req_cbs = {
	req_established,
	req_frame,
	req_closed,
};

static struct brain_req *
req_new(const struct enrolment *e, uint8_t purpose, void *arg, char *err,
    size_t errlen)
{
	struct brain_req	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	buf_init(&r->out, WIRE_PAYLOAD_MAX);
	buf_init(&r->req, WIRE_HDR_LEN + WIRE_PAYLOAD_MAX);
	LIST_INSERT_HEAD(&reqs, r, entry);
	strlcpy(r->fpr, e->brain_fingerprint, sizeof(r->fpr));
	r->id = e->id;
	memcpy(r->key, e->key, sizeof(r->key));
	r->purpose = purpose;
	r->arg = arg;
	return r;
}

static int
req_connect(struct brain_req *r, struct event_base *base, SSL_CTX *ctx,
    const struct tentacle_conf *conf, const struct enrolment *e, int port,
    int timeout_s, char *err, size_t errlen)
{
	struct link_kept	*k;

	strlcpy(r->addr, e->brain_address, sizeof(r->addr));
	r->port = port;
	k = kept_find(r->addr, port, r->fpr);
	r->offered = k != NULL;
	if (k != NULL)
		k->used = ++kept_clock;
	if (conn_connect_resume(base, ctx, e->brain_address, port,
	    link_source(conf, e->brain_address), k ? k->session : NULL,
	    &req_cbs, r, timeout_s, err, errlen) == NULL) {
		LIST_REMOVE(r, entry);
		crypto_wipe(r->key, sizeof(r->key));
		buf_free(&r->out);
		buf_free(&r->req);
		free(r);
		return -1;
	}
	return 0;
}

int
brain_request(struct event_base *base, SSL_CTX *ctx,
    const struct tentacle_conf *conf, const struct enrolment *e,
    uint8_t purpose, int port, int timeout_s, brain_request_cb cb, void *arg,
    char *err, size_t errlen)
{
	struct brain_req	*r;

	if ((r = req_new(e, purpose, arg, err, errlen)) == NULL)
		return -1;
	r->cb = cb;
	return req_connect(r, base, ctx, conf, e, port, timeout_s, err,
	    errlen);
}

void
link_proofs(uint64_t ticket, int ok, const uint8_t *proof,
    const uint8_t *expect, const char *why)
{
	struct brain_req	*r;
	char			 reason[320];

	LIST_FOREACH(r, &reqs, entry)
		if (r->ticket == ticket)
			break;
	if (r == NULL || r->done)
		return;		/* closed meanwhile */
	r->ticket = 0;
	if (!ok) {
		snprintf(reason, sizeof(reason), "no proof from the "
		    "supervisor: %s", why);
		req_finish(r, 0, NULL, reason);
		conn_fail(r->c, "no proof");
		return;
	}
	if (hs_client_proofs(&r->hs, proof, expect, &r->out) == HS_FAIL ||
	    link_send(r->c, &r->out) == -1) {
		req_finish(r, 0, NULL, "cannot send AUTH_PROOF");
		conn_fail(r->c, "cannot send AUTH_PROOF");
	}
}

/*
 * done() gets ok = 1 once the brain stored the result, 0 when it should
 * be sent again later (no answer, an error, WIRE_ERROR), -1 when the
 * brain refused it for good (RESULT_ACK refused; why is its reason).
 */
int
link_result_frame(const struct enrolment *e, const struct msg_result *m,
    struct buf *out)
{
	struct msg_result	mm = *m;

	/* Signed for the brain's maestro: its commander only carries it.
	 * With privilege separation the supervisor signed it (m->mac). */
	return (prover == NULL && proto_result_mac(e->key, e->id, m,
	    mm.mac) == -1) || proto_encode_result(out, &mm) == -1 ? -1 : 0;
}

int
brain_deliver(struct event_base *base, SSL_CTX *ctx,
    const struct tentacle_conf *conf, const struct enrolment *e,
    const struct msg_result *m, int timeout_s, brain_deliver_cb cb,
    void *arg, char *err, size_t errlen)
{
	struct brain_req	*r;

	if ((r = req_new(e, PURPOSE_RESULT, arg, err, errlen)) == NULL)
		return -1;
	r->dcb = cb;
	r->job = m->job;
	if (link_result_frame(e, m, &r->req) == -1) {
		snprintf(err, errlen, "job %llu: result out of shape",
		    (unsigned long long)m->job);
		LIST_REMOVE(r, entry);
		crypto_wipe(r->key, sizeof(r->key));
		buf_free(&r->out);
		buf_free(&r->req);
		free(r);
		return -1;
	}
	return req_connect(r, base, ctx, conf, e, e->brain_commander_port,
	    timeout_s, err, errlen);
}
