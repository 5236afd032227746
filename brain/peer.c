/*
 * Tentacle connections for the registerer and the commander (peer.h).
 *
 * Every byte from a tentacle goes through conn (frame limits) and the
 * handshake machine (one expected frame per step); a failure at any step is
 * logged with the peer address, the ID it claimed and the reason, counted
 * by the maestro (refused handshakes) and ends the connection. The proofs
 * come from the maestro, which holds the keys (IPC_PROOF_CHECK for a
 * tentacle that connected to us, IPC_PROOF_MAKE for one we were ordered
 * to reach): no key is ever in this process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>

#include <bsd/string.h>
#include <event2/listener.h>

#include "addrset.h"
#include "buf.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "net.h"
#include "peer.h"
#include "tls.h"

enum {
	PEER_TLS,		/* waiting for the TLS handshake */
	PEER_HANDSHAKE,		/* frames go to the handshake machine */
	PEER_WAIT_MAESTRO,	/* asked the maestro for a proof or verdict */
	PEER_ENROL,		/* enrolment exchange (role) */
	PEER_READY,		/* authenticated (role) */
};

static struct {
	struct child_loop	*cl;
	struct child_env	*env;
	const struct peer_role	*role;
	struct evconnlistener	*listener;
	struct peer		*list;
	uint32_t		 next_number;
	long			 count;
	char			 fingerprint[OCTO_FPR_HEX_LEN + 1];
	/* The accepted tentacles' addresses (IPC_TENTACLE_ADDRESSES), and
	 * the set the maestro is sending. */
	struct addrset		 known, next;
	int			 next_broken;	/* a piece did not fit */
	/* Strangers refused for want of a slot: logged once a minute. */
	unsigned long		 refused;
	time_t			 refused_logged;
} P;

/* ---- kept TLS sessions (outgoing, to enrolled tentacles) ------------- */

struct kept {
	uint64_t		 id;
	int			 port;
	char			 addr[OCTO_ADDR_MAX];
	char			 fpr[OCTO_FPR_HEX_LEN + 1];
	SSL_SESSION		*session;
	TAILQ_ENTRY(kept)	 entry;		/* most recent first */
	struct kept		*next;		/* in its hash bucket */
};

static TAILQ_HEAD(kept_head, kept) kept_list =
    TAILQ_HEAD_INITIALIZER(kept_list);
static int			 kept_count;
/* By tentacle ID: a fleet's keepalive and runs go round all of it, so
 * the one sought is the least recently used, at the list's end. */
static struct kept		*kept_hash[PEER_SESSIONS_BUCKETS];

static struct kept **
kept_bucket(uint64_t id)
{
	return &kept_hash[id % PEER_SESSIONS_BUCKETS];
}

/* One per tentacle of the expected fleet (a smaller LRU would keep
 * none: each round evicts the session the next connection needs). */
static int
kept_max(void)
{
	long	n = P.env != NULL ? (long)P.env->conf->max_tentacles : 0;

	return n > PEER_SESSIONS_MAX ? (int)n : PEER_SESSIONS_MAX;
}

static struct kept *
kept_find(uint64_t id, const char *addr, int port)
{
	struct kept	*k;

	for (k = *kept_bucket(id); k != NULL; k = k->next)
		if (k->id == id && k->port == port &&
		    strcmp(k->addr, addr) == 0)
			return k;
	return NULL;
}

static void
kept_drop(struct kept *k)
{
	struct kept	**kp;

	for (kp = kept_bucket(k->id); *kp != NULL; kp = &(*kp)->next)
		if (*kp == k) {
			*kp = k->next;
			break;
		}
	TAILQ_REMOVE(&kept_list, k, entry);
	kept_count--;
	SSL_SESSION_free(k->session);
	crypto_wipe(k, sizeof(*k));
	free(k);
}

/* The session to offer to tentacle id at addr:port, whose enrolled
 * certificate is fpr; NULL if none (or it was made with another
 * certificate: then it is dropped). */
static SSL_SESSION *
kept_get(uint64_t id, const char *addr, int port, const char *fpr)
{
	struct kept	*k;

	if ((k = kept_find(id, addr, port)) == NULL)
		return NULL;
	if (strlen(fpr) != OCTO_FPR_HEX_LEN ||
	    !crypto_equal(k->fpr, fpr, OCTO_FPR_HEX_LEN)) {
		log_debug("tentacle %llu: certificate changed: TLS session "
		    "dropped", (unsigned long long)id);
		kept_drop(k);
		return NULL;
	}
	return k->session;
}

/* Keep the session of an authenticated outgoing connection. */
static void
kept_put(struct peer *p)
{
	SSL_SESSION	*sess, *lean;
	struct kept	*k;

	if (p->id == 0 || p->purpose == PURPOSE_ENROL ||
	    strlen(p->expect_fpr) != OCTO_FPR_HEX_LEN ||
	    (sess = conn_session(p->conn)) == NULL)
		return;
	/* Without the tentacle's certificate: 1.6 KB, not 6 (issue 18);
	 * the fingerprint kept with it stands for it. (A session resumed
	 * from a lean one is lean already.) */
	if (SSL_SESSION_get0_peer(sess) != NULL &&
	    (lean = tls_session_lean(sess)) != NULL) {
		SSL_SESSION_free(sess);
		sess = lean;
	}
	if ((k = kept_find(p->id, p->addr, p->port)) != NULL) {
		TAILQ_REMOVE(&kept_list, k, entry);
		SSL_SESSION_free(k->session);
	} else {
		if (kept_count >= kept_max())
			kept_drop(TAILQ_LAST(&kept_list, kept_head));
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			SSL_SESSION_free(sess);
			return;
		}
		k->id = p->id;
		k->port = p->port;
		strlcpy(k->addr, p->addr, sizeof(k->addr));
		k->next = *kept_bucket(k->id);
		*kept_bucket(k->id) = k;
		kept_count++;
	}
	strlcpy(k->fpr, p->expect_fpr, sizeof(k->fpr));
	k->session = sess;
	TAILQ_INSERT_HEAD(&kept_list, k, entry);
}

/* An outgoing connection that offered a kept session failed before it
 * authenticated: do not offer it again. */
static void
kept_forget(struct peer *p)
{
	struct kept	*k;

	if (p->outgoing && p->resumed && p->state != PEER_READY &&
	    (k = kept_find(p->id, p->addr, p->port)) != NULL)
		kept_drop(k);
}

static void
peer_unlink(struct peer *p)
{
	struct peer	**pp;

	for (pp = &P.list; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
}

struct peer *
peer_find(uint32_t number)
{
	struct peer	*p;

	for (p = P.list; p; p = p->next)
		if (p->number == number)
			return p;
	return NULL;
}

const char *
peer_brain_fingerprint(void)
{
	return P.fingerprint;
}

int
peer_send(struct peer *p, struct buf *frame)
{
	struct wire_frame	f;
	size_t			used;

	if (frame->len == 0)
		return 0;
	if (wire_decode(frame->data, frame->len, &f, &used) != WIRE_OK ||
	    used != frame->len)
		return -1;
	return conn_send(p->conn, f.type, f.payload, f.len);
}

int
peer_send_status(struct peer *p)
{
	struct msg_status	st;
	struct buf		out;

	memset(&st, 0, sizeof(st));
	st.enrolment = p->enrolment;
	buf_init(&out, WIRE_PAYLOAD_MAX);
	if (proto_encode_status(&out, &st) == 0)
		peer_send(p, &out);
	buf_free(&out);
	return -1;
}

/* How many refusals from addr this minute, this one included (the log
 * lines' budget: REFUSED_LOG_PER_MINUTE). */
static unsigned
refused_this_minute(const char *addr)
{
	static struct {
		char		addr[NET_PEER_MAX];
		long		minute;
		unsigned	n;
	} t[REFUSED_LOG_SOURCES + 1];	/* the last: all the others */
	long	minute = (long)(time(NULL) / 60) + 1;
	int	i, slot = REFUSED_LOG_SOURCES;

	for (i = 0; i < REFUSED_LOG_SOURCES; i++) {
		if (t[i].minute == minute && strcmp(t[i].addr, addr) == 0)
			return ++t[i].n;
		if (t[i].minute != minute && slot == REFUSED_LOG_SOURCES)
			slot = i;
	}
	if (t[slot].minute != minute) {
		t[slot].minute = minute;
		t[slot].n = 0;
		strlcpy(t[slot].addr, addr, sizeof(t[slot].addr));
	}
	return ++t[slot].n;
}

void
peer_refuse(struct peer *p, const char *reason)
{
	char		detail[256];
	unsigned	n;

	if (p->id)
		snprintf(detail, sizeof(detail), "claimed ID %llu: %s",
		    (unsigned long long)p->id, reason);
	else
		snprintf(detail, sizeof(detail), "%s", reason);
	/* Every one goes to the maestro (counted, audited per address and
	 * minute); the log gets the first few of each address a minute. */
	if ((n = refused_this_minute(conn_peer_addr(p->conn))) <=
	    REFUSED_LOG_PER_MINUTE)
		log_warnx("%s: handshake refused: %s%s", conn_peer(p->conn),
		    detail, n == REFUSED_LOG_PER_MINUTE ? " (the next ones "
		    "from this address this minute are in the audit log "
		    "only)" : "");
	/* Audited per address (and minute): the port changes each time. */
	child_report(P.cl, "refused_handshake", conn_peer_addr(p->conn),
	    detail);
	conn_fail(p->conn, reason);
}

/* Ask the maestro what only the key can tell (the handshake waits). */
static void
peer_ask_maestro(struct peer *p, enum hs_result r)
{
	struct ipc_proof_check	ck;
	struct ipc_proof_make	mk;
	int			rc;

	p->state = PEER_WAIT_MAESTRO;
	log_hop(p->outgoing ? "peer-out-ask-proof" : "peer-in-ask-check", 0);
	if (r == HS_NEED_CHECK) {
		memset(&ck, 0, sizeof(ck));
		hs_inputs(&p->hs, &ck.in);
		memcpy(ck.proof, p->hs.peer_proof, sizeof(ck.proof));
		strlcpy(ck.fingerprint, conn_peer_fingerprint(p->conn),
		    sizeof(ck.fingerprint));
		rc = ipcmsg_send_proof_check(P.cl->chan, IPC_PROOF_CHECK,
		    p->number, &ck);
		crypto_wipe(&ck, sizeof(ck));
	} else {
		memset(&mk, 0, sizeof(mk));
		mk.ticket = p->ticket;
		hs_inputs(&p->hs, &mk.in);
		strlcpy(mk.fingerprint, conn_peer_fingerprint(p->conn),
		    sizeof(mk.fingerprint));
		rc = ipcmsg_send_proof_make(P.cl->chan, IPC_PROOF_MAKE,
		    p->number, &mk);
		crypto_wipe(&mk, sizeof(mk));
	}
	if (rc == -1)
		conn_fail(p->conn, "internal error");
}

/* The handshake's answer, from a frame or from the maestro. */
static void
peer_hs_result(struct peer *p, enum hs_result r)
{
	char	why[96];

	/* The purpose is known from the first frame on. */
	if (r != HS_FAIL && p->hs.purpose != 0 &&
	    !(p->role->purposes & (1u << p->hs.purpose))) {
		snprintf(why, sizeof(why), "%s is not served on this port",
		    proto_purpose_str(p->hs.purpose));
		peer_refuse(p, why);
		return;
	}
	switch (r) {
	case HS_AGAIN:
		break;
	case HS_ENROL:
		p->state = PEER_ENROL;
		conn_authenticated(p->conn);	/* enrolment's own limits */
		/* Not an enrolled tentacle yet: nothing to resume. */
		conn_forget_session(p->conn);
		if (p->role->on_enrol_start != NULL)
			p->role->on_enrol_start(p);
		break;
	case HS_NEED_CHECK:
	case HS_NEED_PROOF:
		p->id = p->hs.id;
		peer_ask_maestro(p, r);
		break;
	case HS_DONE:
		log_hop(p->outgoing ? "peer-out-authenticated" :
		    "peer-in-authenticated", 0);
		p->state = PEER_READY;
		conn_authenticated(p->conn);
		hs_wipe(&p->hs);
		if (p->outgoing)
			kept_put(p);
		log_debug("%s: tentacle %llu authenticated (%s)",
		    conn_peer(p->conn), (unsigned long long)p->id,
		    proto_purpose_str(p->hs.purpose));
		if (p->role->on_authenticated(p) == -1)
			p->done = 1;
		break;
	case HS_FAIL:
		peer_refuse(p, p->hs.error);
		break;
	}
}

/* Feed the handshake machine and act on its answer. */
static void
peer_handshake(struct peer *p, const struct wire_frame *f)
{
	struct buf	out;
	enum hs_result	r;

	/* The claimed ID, from AUTH_ID on: for the log of a refusal. */
	buf_init(&out, WIRE_PAYLOAD_MAX);
	r = hs_input(&p->hs, f, &out);
	if (p->hs.id != 0)
		p->id = p->hs.id;
	if (peer_send(p, &out) == -1)
		r = HS_FAIL;
	buf_free(&out);
	peer_hs_result(p, r);
}

/* The maestro checked the tentacle's proof: our proof goes out, or the
 * handshake ends with its reason. */
static void
peer_verdict(struct peer *p, const struct ipc_msg *msg)
{
	struct ipc_proof_verdict	 v;
	struct buf			 out;
	const char			*why;
	enum hs_result			 r;

	if (ipcmsg_decode_proof_verdict(msg->payload, msg->hdr.len, &v,
	    &why) == -1) {
		log_warnx("malformed PROOF_VERDICT from the maestro: %s", why);
		conn_fail(p->conn, "internal error");
		return;
	}
	p->enrolment = v.enrolment;
	p->state = PEER_HANDSHAKE;
	buf_init(&out, WIRE_PAYLOAD_MAX);
	r = hs_server_verdict(&p->hs, v.verdict == VERDICT_OK, v.proof,
	    ipcmsg_verdict_str(v.verdict), &out);
	if (r != HS_FAIL && peer_send(p, &out) == -1)
		r = HS_FAIL;
	buf_free(&out);
	crypto_wipe(&v, sizeof(v));
	peer_hs_result(p, r);
}

/* The maestro made our proof for a connection it ordered. */
static void
peer_made(struct peer *p, const struct ipc_msg *msg)
{
	struct ipc_proof_made	 m;
	struct buf		 out;
	const char		*why;
	enum hs_result		 r;

	if (ipcmsg_decode_proof_made(msg->payload, msg->hdr.len, &m,
	    &why) == -1) {
		log_warnx("malformed PROOF_MADE from the maestro: %s", why);
		conn_fail(p->conn, "internal error");
		return;
	}
	if (m.verdict != VERDICT_OK) {
		peer_refuse(p, ipcmsg_verdict_str(m.verdict));
		return;
	}
	memcpy(p->order_mac, m.order_mac, sizeof(p->order_mac));
	p->state = PEER_HANDSHAKE;
	buf_init(&out, WIRE_PAYLOAD_MAX);
	r = hs_client_proofs(&p->hs, m.proof, m.expect, &out);
	if (r != HS_FAIL && peer_send(p, &out) == -1)
		r = HS_FAIL;
	buf_free(&out);
	crypto_wipe(&m, sizeof(m));
	peer_hs_result(p, r);
}

void
peer_maestro_reply(const struct ipc_msg *msg)
{
	struct peer	*p;

	if ((p = peer_find(msg->hdr.id)) == NULL ||
	    p->state != PEER_WAIT_MAESTRO)
		return;		/* gone meanwhile */
	if (msg->hdr.type == IPC_PROOF_VERDICT && !p->outgoing)
		peer_verdict(p, msg);
	else if (msg->hdr.type == IPC_PROOF_MADE && p->outgoing)
		peer_made(p, msg);
	else
		conn_fail(p->conn, "internal error");
}

/* ---- conn callbacks -------------------------------------------------- */

static void
peer_established(struct conn *c, void *arg)
{
	struct peer	*p = arg;
	uint8_t		 exporter[HS_EXPORTER_LEN];
	struct buf	 out;

	if (conn_exporter(c, exporter, sizeof(exporter)) == -1) {
		conn_fail(c, "no TLS exporter");
		return;
	}
	log_debug("%s: TLS up%s, certificate %s", conn_peer(c),
	    conn_resumed(c) ? " (resumed session)" : "",
	    conn_peer_fingerprint(c));
	p->state = PEER_HANDSHAKE;
	log_hop(p->outgoing ? "peer-out-tls-up" : "peer-in-tls-up", 0);
	if (p->outgoing) {
		/* We are the client: the brain opens (report 4.2, fig. 5).
		 * A tentacle we know must show the certificate it enrolled
		 * with before anything is said. */
		if (p->expect_fpr[0] != '\0' && !crypto_equal(p->expect_fpr,
		    conn_peer_fingerprint(c), OCTO_FPR_HEX_LEN)) {
			crypto_wipe(exporter, sizeof(exporter));
			peer_refuse(p, "certificate is not the one enrolled for "
			    "this tentacle");
			return;
		}
		hs_client_init(&p->hs, p->purpose, p->id, NULL, exporter);
		buf_init(&out, WIRE_PAYLOAD_MAX);
		if (hs_client_start(&p->hs, &out) == HS_FAIL ||
		    peer_send(p, &out) == -1)
			conn_fail(c, "cannot start the handshake");
		buf_free(&out);
	} else
		hs_server_init(&p->hs, exporter);
	crypto_wipe(exporter, sizeof(exporter));
}

static int
peer_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct peer	*p = arg;

	if (p->done) {
		conn_fail(c, "unexpected message");
		return -1;
	}
	switch (p->state) {
	case PEER_HANDSHAKE:
	case PEER_WAIT_MAESTRO:
		peer_handshake(p, f);
		break;
	case PEER_ENROL:
		if (p->role->on_enrol_frame == NULL ||
		    p->role->on_enrol_frame(p, f) == -1)
			p->done = 1;
		break;
	case PEER_READY:
		if (p->role->on_frame == NULL || p->role->on_frame(p, f) == -1)
			p->done = 1;
		break;
	}
	/* Done: close once the last reply is out. */
	return p->done ? -1 : 0;
}

static void
peer_closed(struct conn *c, const char *reason, void *arg)
{
	struct peer	*p = arg;

	/* Bad input is worth a warning and a count; an orderly close is
	 * not. Refusals were logged when they were made. */
	if (strncmp(reason, "bad frame", 9) == 0 ||
	    strncmp(reason, "TLS", 3) == 0 || strncmp(reason, "timeout", 7) == 0) {
		log_warnx("%s: %s", conn_peer(c), reason);
		child_report(P.cl, "protocol_error", conn_peer(c), reason);
	} else
		log_debug("%s: closed: %s", conn_peer(c), reason);
	/* The ticket conn_authenticated() sent an enrolment made a
	 * session of its own after HS_ENROL's forget: never resumed. */
	if (p->state == PEER_ENROL)
		conn_forget_session(c);
	kept_forget(p);
	if (p->role->on_close)
		p->role->on_close(p, reason);
	peer_unlink(p);
	hs_wipe(&p->hs);
	crypto_wipe(p->order_mac, sizeof(p->order_mac));
	free(p);
	P.count--;
}

static const struct conn_cbs peer_cbs = {
	peer_established, peer_frame, peer_closed
};

static struct peer *
peer_new(const struct peer_role *role)
{
	struct peer	*p;

	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	p->role = role;
	if (++P.next_number == 0)
		P.next_number = 1;
	p->number = P.next_number;
	p->next = P.list;
	P.list = p;
	P.count++;
	return p;
}

void
peer_tentacle_addresses(const struct ipc_msg *msg)
{
	struct ipc_tentacle_addresses	 a;
	struct addrset			 old;
	const char			*why;

	if (ipcmsg_decode_tentacle_addresses(msg->payload, msg->hdr.len, &a,
	    &why) == -1) {
		log_warnx("malformed TENTACLE_ADDRESSES from the maestro: %s",
		    why);
		return;
	}
	if (a.flags & ADDRESSES_FIRST) {
		addrset_clear(&P.next);
		P.next_broken = 0;
	}
	if (!P.next_broken && addrset_add(&P.next, a.keys, a.count) == -1) {
		log_warnx("cannot keep the tentacles' addresses: out of "
		    "memory; the previous ones are kept");
		P.next_broken = 1;
	}
	if (!(a.flags & ADDRESSES_LAST))
		return;
	if (P.next_broken) {
		addrset_clear(&P.next);
		return;
	}
	addrset_seal(&P.next);
	old = P.known;
	P.known = P.next;
	memset(&P.next, 0, sizeof(P.next));
	addrset_clear(&old);
	log_debug("%zu tentacle addresses keep their connection slots",
	    P.known.n);
}

/* Refused for want of a free slot: a line a minute at most, with how
 * many. */
static void
refuse_full(const struct sockaddr *sa, socklen_t salen, long limit,
    int known)
{
	char	addr[NET_PEER_MAX];
	time_t	now = time(NULL);

	P.refused++;
	if (P.refused_logged != 0 && now - P.refused_logged <
	    CONN_REFUSED_LOG_S)
		return;
	net_format_peer(sa, salen, addr);
	if (known)
		log_warnx("%s: refused: %ld connections already (limit); "
		    "%lu refused since the last such line", addr, P.count,
		    P.refused);
	else
		log_warnx("%s: refused: %ld connections already (%ld slots "
		    "are kept for the accepted tentacles' addresses); %lu "
		    "refused since the last such line", addr, P.count,
		    (long)P.env->conf->max_tentacles - limit, P.refused);
	P.refused = 0;
	P.refused_logged = now;
}

static void
peer_accepted(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct peer	*p;
	char		 addr[NET_PEER_MAX];
	unsigned char	 key[NET_ADDR_KEY_LEN];
	long		 limit = (long)P.env->conf->max_tentacles;
	int		 known;

	/* An accepted tentacle's address may take the last slots, and is
	 * not held to the per-address cap (a fleet behind one address):
	 * strangers cannot lock the fleet out. */
	known = net_sockaddr_key(sa, (socklen_t)salen, key) == 0 &&
	    addrset_has(&P.known, key);
	if (!known)
		limit -= PEER_SLOTS_KEPT(limit);
	if (P.count >= limit) {
		refuse_full(sa, (socklen_t)salen, limit, known);
		evutil_closesocket(fd);
		return;
	}
	if (!known && conn_admit(sa, (socklen_t)salen) == -1) {
		evutil_closesocket(fd);
		return;
	}
	if ((p = peer_new(P.role)) == NULL) {
		evutil_closesocket(fd);
		return;
	}
	p->conn = conn_accept(P.cl->base, P.env->tls, fd, sa, salen,
	    &peer_cbs, p, (int)P.env->conf->io_timeout);
	if (p->conn == NULL) {
		net_format_peer(sa, salen, addr);
		log_warnx("%s: cannot set up the connection", addr);
		peer_unlink(p);
		free(p);
		P.count--;
	}
}

static int
peer_setup(struct child_loop *cl, struct child_env *env,
    const struct peer_role *role)
{
	X509	*cert;

	P.cl = cl;
	P.env = env;
	P.role = role;
	cert = SSL_CTX_get0_certificate(env->tls);
	return cert && tls_fingerprint_x509(cert, P.fingerprint) == 0 ? 0 : -1;
}

int
peer_listen(struct child_loop *cl, struct child_env *env,
    const struct peer_role *role)
{
	if (peer_setup(cl, env, role) == -1)
		return -1;
	P.listener = evconnlistener_new(cl->base, peer_accepted, NULL,
	    LEV_OPT_CLOSE_ON_FREE, 0, env->listen_fd);
	cl->listener = P.listener;
	return P.listener ? 0 : -1;
}

static struct peer *
connect_out(struct child_loop *cl, struct child_env *env,
    const struct peer_role *role, const char *addr, int port,
    SSL_SESSION *session, char *err, size_t errlen)
{
	struct peer	*p;

	if (P.cl == NULL && peer_setup(cl, env, role) == -1) {
		snprintf(err, errlen, "no certificate");
		return NULL;
	}
	if ((p = peer_new(role)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->outgoing = 1;
	p->port = port;
	p->resumed = session != NULL;
	if (strlcpy(p->addr, addr, sizeof(p->addr)) >= sizeof(p->addr))
		p->addr[0] = '\0';	/* conn_connect refuses it */
	/* From listen_address when it is one address: a tentacle that
	 * takes the brain's address from the connection (enrolment by
	 * address) then finds the brain where it listens. */
	p->conn = conn_connect_resume(cl->base, env->tls_client, addr, port,
	    net_source_for(env->conf->listen_address, addr), session,
	    &peer_cbs, p, (int)env->conf->io_timeout, err, errlen);
	if (p->conn == NULL) {
		peer_unlink(p);
		free(p);
		P.count--;
		return NULL;
	}
	return p;
}

struct peer *
peer_connect(struct child_loop *cl, struct child_env *env,
    const struct peer_role *role, const char *addr, int port, uint32_t offer,
    char *err, size_t errlen)
{
	struct peer	*p;

	if ((p = connect_out(cl, env, role, addr, port, NULL, err,
	    errlen)) != NULL) {
		p->offer = offer;
		p->purpose = PURPOSE_ENROL;
	}
	return p;
}

struct peer *
peer_connect_tentacle(struct child_loop *cl, struct child_env *env,
    const struct peer_role *role, const char *addr, int port,
    const char *fingerprint, uint64_t id, uint64_t ticket, uint8_t purpose,
    void *data, char *err, size_t errlen)
{
	struct peer	*p;

	if ((p = connect_out(cl, env, role, addr, port, kept_get(id, addr,
	    port, fingerprint), err, errlen)) == NULL)
		return NULL;
	/* kept_get gave only a session made with this certificate. */
	if (p->resumed)
		conn_session_fingerprint(p->conn, fingerprint);
	p->purpose = purpose;
	p->id = id;
	p->data = data;
	p->ticket = ticket;
	strlcpy(p->expect_fpr, fingerprint, sizeof(p->expect_fpr));
	return p;
}
