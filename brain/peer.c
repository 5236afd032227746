/*
 * Tentacle connections for the registerer and the commander (peer.h).
 *
 * Every byte from a tentacle goes through conn (frame limits) and the
 * handshake machine (one expected frame per step); a failure at any step is
 * logged with the peer address, the ID it claimed and the reason, counted
 * by the maestro (refused handshakes) and ends the connection.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/queue.h>

#include <bsd/string.h>
#include <event2/listener.h>

#include "buf.h"
#include "crypto.h"
#include "log.h"
#include "net.h"
#include "pack.h"
#include "peer.h"
#include "tls.h"

enum {
	PEER_TLS,		/* waiting for the TLS handshake */
	PEER_HANDSHAKE,		/* frames go to the handshake machine */
	PEER_WAIT_KEY,		/* asked the maestro for the key */
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
} P;

/* ---- kept TLS sessions (outgoing, to enrolled tentacles) ------------- */

struct kept {
	uint64_t		 id;
	int			 port;
	char			 addr[OCTO_ADDR_MAX];
	char			 fpr[OCTO_FPR_HEX_LEN + 1];
	SSL_SESSION		*session;
	TAILQ_ENTRY(kept)	 entry;		/* most recent first */
};

static TAILQ_HEAD(kept_head, kept) kept_list =
    TAILQ_HEAD_INITIALIZER(kept_list);
static int			 kept_count;

static struct kept *
kept_find(uint64_t id, const char *addr, int port)
{
	struct kept	*k;

	TAILQ_FOREACH(k, &kept_list, entry)
		if (k->id == id && k->port == port &&
		    strcmp(k->addr, addr) == 0)
			return k;
	return NULL;
}

static void
kept_drop(struct kept *k)
{
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
	SSL_SESSION	*sess;
	struct kept	*k;

	if (p->id == 0 || p->purpose == PURPOSE_ENROL ||
	    strlen(p->expect_fpr) != OCTO_FPR_HEX_LEN ||
	    (sess = conn_session(p->conn)) == NULL)
		return;
	if ((k = kept_find(p->id, p->addr, p->port)) != NULL) {
		TAILQ_REMOVE(&kept_list, k, entry);
		SSL_SESSION_free(k->session);
	} else {
		if (kept_count >= PEER_SESSIONS_MAX)
			kept_drop(TAILQ_LAST(&kept_list, kept_head));
		if ((k = calloc(1, sizeof(*k))) == NULL) {
			SSL_SESSION_free(sess);
			return;
		}
		k->id = p->id;
		k->port = p->port;
		strlcpy(k->addr, p->addr, sizeof(k->addr));
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

/* ---- keys of tentacles just given an order (their results) ------------ */

static void	peer_key_use(struct peer *, const uint8_t *, uint8_t);

struct known {
	uint64_t		 id;
	time_t			 expires;	/* CLOCK_MONOTONIC seconds */
	char			 fpr[OCTO_FPR_HEX_LEN + 1];
	uint8_t			 key[PROTO_KEY_LEN];
	TAILQ_ENTRY(known)	 entry;		/* most recent first */
};

static TAILQ_HEAD(known_head, known) known_list =
    TAILQ_HEAD_INITIALIZER(known_list);
static int			 known_count;

static time_t
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static struct known *
known_find(uint64_t id)
{
	struct known	*k;

	TAILQ_FOREACH(k, &known_list, entry)
		if (k->id == id)
			return k;
	return NULL;
}

static void
known_drop(struct known *k)
{
	TAILQ_REMOVE(&known_list, k, entry);
	known_count--;
	crypto_wipe(k, sizeof(*k));
	free(k);
}

void
peer_key_remember(uint64_t id, const char *fpr,
    const uint8_t key[PROTO_KEY_LEN])
{
	struct known	*k;

	if (id == 0 || strlen(fpr) != OCTO_FPR_HEX_LEN)
		return;
	if ((k = known_find(id)) != NULL)
		TAILQ_REMOVE(&known_list, k, entry);
	else {
		if (known_count >= PEER_KEYS_MAX)
			known_drop(TAILQ_LAST(&known_list, known_head));
		if ((k = calloc(1, sizeof(*k))) == NULL)
			return;
		k->id = id;
		known_count++;
	}
	strlcpy(k->fpr, fpr, sizeof(k->fpr));
	memcpy(k->key, key, sizeof(k->key));
	k->expires = mono_now() + PEER_KEY_TTL;
	TAILQ_INSERT_HEAD(&known_list, k, entry);
}

void
peer_key_forget(uint64_t id)
{
	struct known	*k;

	if ((k = known_find(id)) != NULL)
		known_drop(k);
}

/* The key the maestro gave with the last order for p's claimed ID, if
 * still fresh and p shows the certificate that came with it. */
static struct known *
known_get(struct peer *p)
{
	struct known	*k;

	if (!(p->role->known_purposes & (1u << p->hs.purpose)) ||
	    (k = known_find(p->id)) == NULL)
		return NULL;
	if (k->expires <= mono_now() || !crypto_equal(k->fpr,
	    conn_peer_fingerprint(p->conn), OCTO_FPR_HEX_LEN)) {
		/* Stale, or not the certificate we know: ask the maestro. */
		known_drop(k);
		return NULL;
	}
	return k;
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

void
peer_refuse(struct peer *p, const char *reason)
{
	char	detail[256];

	if (p->id)
		snprintf(detail, sizeof(detail), "claimed ID %llu: %s",
		    (unsigned long long)p->id, reason);
	else
		snprintf(detail, sizeof(detail), "%s", reason);
	log_warnx("%s: handshake refused: %s", conn_peer(p->conn), detail);
	child_report(P.cl, "refused_handshake", conn_peer(p->conn), detail);
	conn_fail(p->conn, reason);
}

/* Feed the handshake machine and act on its answer. */
static void
peer_handshake(struct peer *p, const struct wire_frame *f)
{
	struct buf	out;
	struct buf	b;
	struct packer	pk;
	enum hs_result	r;
	struct known	*k;
	char		why[96];

	buf_init(&out, WIRE_PAYLOAD_MAX);
	r = hs_input(&p->hs, f, &out);
	if (peer_send(p, &out) == -1)
		r = HS_FAIL;
	buf_free(&out);

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
		/* Not an enrolled tentacle yet: nothing to resume. */
		conn_forget_session(p->conn);
		break;
	case HS_NEED_KEY:
		p->id = p->hs.id;
		if ((k = known_get(p)) != NULL) {
			/* Ordered moments ago: the maestro gave its key and
			 * certificate with the order (accepted then; the
			 * maestro checks again when it stores the result). */
			p->known_key = 1;
			peer_key_use(p, k->key, ENROLMENT_ACCEPTED);
			break;
		}
		p->state = PEER_WAIT_KEY;
		buf_init(&b, 64);
		pack_init(&pk, &b);
		pack_u64(&pk, p->id);
		if (pack_error(&pk) || ipc_send(P.cl->chan, IPC_TENTACLE_LOOKUP,
		    p->number, b.data, b.len) == -1)
			conn_fail(p->conn, "internal error");
		buf_free(&b);
		break;
	case HS_DONE:
		p->state = PEER_READY;
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
		/* A key of ours that did not do: ask the maestro next time. */
		if (p->known_key)
			peer_key_forget(p->id);
		peer_refuse(p, p->hs.error);
		break;
	}
}

/* The key of the ID p claimed is known (enrolled with the certificate
 * p showed): the server side of the handshake goes on. */
static void
peer_key_use(struct peer *p, const uint8_t *key, uint8_t enrolment)
{
	struct buf	 out;
	enum hs_result	 r;

	p->enrolment = enrolment;
	p->state = PEER_HANDSHAKE;
	buf_init(&out, WIRE_PAYLOAD_MAX);
	r = hs_server_key(&p->hs, key, &out);
	if (r == HS_FAIL || peer_send(p, &out) == -1)
		peer_refuse(p, p->hs.error ? p->hs.error : "internal error");
	buf_free(&out);
}

void
peer_key_reply(const struct ipc_msg *msg)
{
	struct unpacker	 u;
	struct peer	*p;
	const uint8_t	*key;
	size_t		 keylen;
	uint8_t		 found, enrolment;
	char		 fpr[OCTO_FPR_HEX_LEN + 1];

	if ((p = peer_find(msg->hdr.id)) == NULL || p->state != PEER_WAIT_KEY)
		return;		/* gone meanwhile */
	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u8(&u, &found);
	unpack_bytes_ref(&u, &key, &keylen, PROTO_KEY_LEN);
	unpack_str(&u, fpr, sizeof(fpr));
	unpack_u8(&u, &enrolment);
	if (unpack_end(&u) == -1 || (found && keylen != PROTO_KEY_LEN)) {
		conn_fail(p->conn, "internal error");
		return;
	}
	if (!found) {
		peer_refuse(p, "unknown or revoked tentacle ID");
		return;
	}
	/* The key is not enough: the certificate must be the one it
	 * enrolled with. */
	if (strlen(fpr) != OCTO_FPR_HEX_LEN || !crypto_equal(fpr,
	    conn_peer_fingerprint(p->conn), OCTO_FPR_HEX_LEN)) {
		peer_refuse(p, "certificate is not the one enrolled for this "
		    "ID");
		return;
	}
	peer_key_use(p, key, enrolment);
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
		hs_client_init(&p->hs, p->purpose, p->id, p->purpose ==
		    PURPOSE_ENROL ? NULL : p->key, exporter);
		crypto_wipe(p->key, sizeof(p->key));
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
	case PEER_WAIT_KEY:
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
	    strncmp(reason, "TLS", 3) == 0 || strcmp(reason, "timeout") == 0 ||
	    strncmp(reason, "timeout during", 14) == 0) {
		log_warnx("%s: %s", conn_peer(c), reason);
		child_report(P.cl, "protocol_error", conn_peer(c), reason);
	} else
		log_debug("%s: closed: %s", conn_peer(c), reason);
	kept_forget(p);
	if (p->role->on_close)
		p->role->on_close(p, reason);
	peer_unlink(p);
	hs_wipe(&p->hs);
	crypto_wipe(p->key, sizeof(p->key));
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

static void
peer_accepted(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct peer	*p;
	char		 addr[NET_PEER_MAX];

	if (P.count >= P.env->conf->max_tentacles) {
		net_format_peer(sa, salen, addr);
		log_warnx("%s: refused: %ld connections already", addr,
		    P.count);
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
	    LEV_OPT_CLOSE_ON_FREE, -1, env->listen_fd);
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
	p->conn = conn_connect_resume(cl->base, env->tls_client, addr, port,
	    NULL, session, &peer_cbs, p, (int)env->conf->io_timeout, err,
	    errlen);
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
    const char *fingerprint, uint64_t id, const uint8_t key[PROTO_KEY_LEN],
    uint8_t purpose, void *data, char *err, size_t errlen)
{
	struct peer	*p;

	if ((p = connect_out(cl, env, role, addr, port, kept_get(id, addr,
	    port, fingerprint), err, errlen)) == NULL)
		return NULL;
	p->purpose = purpose;
	p->id = id;
	p->data = data;
	memcpy(p->key, key, sizeof(p->key));
	strlcpy(p->expect_fpr, fingerprint, sizeof(p->expect_fpr));
	return p;
}
