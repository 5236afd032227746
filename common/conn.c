/*
 * A framed TLS connection on libevent's OpenSSL bufferevents.
 *
 * Lifetime: every path ends in conn_finish(), which records the reason
 * once. If we are inside one of our own callbacks (possibly inside the
 * user's on_frame / on_established), on_close and the free wait until that
 * callback unwinds; otherwise they happen at once. So conn_close() and
 * conn_fail() are safe from anywhere, including from on_frame.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/util.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <bsd/string.h>

#include "buf.h"
#include "conn.h"
#include "handshake.h"
#include "limits.h"
#include "log.h"
#include "net.h"
#include "pack.h"
#include "tls.h"

/* Seconds a failing connection gets to take our WIRE_ERROR. */
#define CONN_FAIL_TIMEOUT	3
#define CONN_REASON_MAX		256

struct conn {
	struct bufferevent	*bev;
	SSL			*ssl;
	struct conn_cbs		 cbs;
	void			*arg;
	int			 timeout_s;
	int			 client;
	int			 established;
	int			 authenticated;	/* conn_authenticated() */
	size_t			 frame_max;	/* payload cap for now */
	struct event		*deadline;	/* accept to authenticated */
	int			 source;	/* sources[] slot, or -1 */
	int			 closing;	/* waiting for output to drain */
	int			 finished;	/* reason recorded */
	int			 in_cb;		/* depth of our callbacks */
	char			 reason[CONN_REASON_MAX];
	char			 peer[NET_PEER_MAX];
	char			 addr[NET_PEER_MAX];
	char			 fpr[OCTO_FPR_HEX_LEN + 1];
	/* A client's offered lean session: its server's (issue 18). */
	char			 session_fpr[OCTO_FPR_HEX_LEN + 1];
};

/* Unauthenticated accepted connections, per source address. */
struct conn_source {
	char		addr[NET_PEER_MAX];
	unsigned	n;
	unsigned long	refused;	/* since the last log line */
	time_t		logged;
};
static struct conn_source	sources[CONN_SOURCES_MAX];
static unsigned			preauth_total;

static void	conn_readcb(struct bufferevent *, void *);
static void	conn_writecb(struct bufferevent *, void *);
static void	conn_eventcb(struct bufferevent *, short, void *);

static time_t
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static int
source_find(const char *addr, int make)
{
	int	i, free_slot = -1;

	for (i = 0; i < CONN_SOURCES_MAX; i++) {
		if (sources[i].n == 0 && sources[i].refused == 0) {
			if (free_slot == -1)
				free_slot = i;
			continue;
		}
		if (strcmp(sources[i].addr, addr) == 0)
			return i;
	}
	if (!make || free_slot == -1)
		return -1;
	memset(&sources[free_slot], 0, sizeof(sources[free_slot]));
	strlcpy(sources[free_slot].addr, addr, sizeof(sources[0].addr));
	return free_slot;
}

/* The connection authenticated or ended: it no longer counts. */
static void
source_release(struct conn *c)
{
	if (c->source < 0)
		return;
	if (sources[c->source].n > 0)
		sources[c->source].n--;
	if (preauth_total > 0)
		preauth_total--;
	c->source = -1;
}

int
conn_admit(const struct sockaddr *sa, socklen_t slen)
{
	struct conn_source	*s;
	char			 addr[NET_PEER_MAX];
	time_t			 now;
	int			 i;

	net_format_addr(sa, slen, addr);
	if ((i = source_find(addr, 1)) == -1) {
		log_warnx("%s: refused: %d addresses with unauthenticated "
		    "connections already", addr, CONN_SOURCES_MAX);
		return -1;
	}
	s = &sources[i];
	if (s->n < CONN_PREAUTH_PER_SOURCE)
		return 0;
	s->refused++;
	now = mono_now();
	if (s->logged == 0 || now - s->logged >= CONN_REFUSED_LOG_S) {
		log_warnx("%s: refused: %u unauthenticated connections from "
		    "this address already (limit); %lu refused since the last "
		    "such line", addr, s->n, s->refused);
		s->refused = 0;
		s->logged = now;
	}
	return -1;
}

unsigned
conn_preauth_count(void)
{
	return preauth_total;
}

static void
conn_destroy(struct conn *c)
{
	char	junk[4096];
	int	fd, i;

	if (c->bev != NULL) {
		fd = bufferevent_getfd(c->bev);
		/* Read what the peer sent that we did not take, so close()
		 * sends a FIN, not a RST that could discard our last frame. */
		if (c->closing && fd >= 0)
			for (i = 0; i < 16; i++)
				if (recv(fd, junk, sizeof(junk),
				    MSG_DONTWAIT) <= 0)
					break;
		/* An orderly end keeps the session resumable: OpenSSL
		 * forgets the session of a connection freed without a
		 * shutdown. A quiet one: no close_notify is sent, as none is
		 * relied on (every exchange ends with its own acknowledgement
		 * frame, and both sides take an EOF without close_notify,
		 * SSL_OP_IGNORE_UNEXPECTED_EOF); sending it cost a record and
		 * a write on each side, and the peer's wakeup to read it,
		 * on every connection. An error still forgets the session. */
		if (c->established && fd >= 0 &&
		    (strcmp(c->reason, "closed locally") == 0 ||
		    strcmp(c->reason, "closed by peer") == 0)) {
			SSL_set_quiet_shutdown(c->ssl, 1);
			if (SSL_shutdown(c->ssl) < 0)
				SSL_set_shutdown(c->ssl, SSL_SENT_SHUTDOWN |
				    SSL_RECEIVED_SHUTDOWN);
			ERR_clear_error();
		}
		/* A peer that never authenticated leaves nothing behind
		 * for a resumption. */
		if (!c->authenticated && c->ssl != NULL)
			conn_forget_session(c);
		/* Frees the SSL and closes the socket (CLOSE_ON_FREE). */
		bufferevent_free(c->bev);
	}
	if (c->deadline != NULL)
		event_free(c->deadline);
	source_release(c);
	explicit_bzero(c, sizeof(*c));
	free(c);
}

/* Call on_close exactly once, then free. */
static void
conn_done(struct conn *c)
{
	c->in_cb++;	/* on_close may call conn_close(): already finished */
	if (c->cbs.on_close != NULL)
		c->cbs.on_close(c, c->reason, c->arg);
	conn_destroy(c);
}

static void
conn_finish(struct conn *c, const char *reason)
{
	if (c->finished)
		return;
	c->finished = 1;
	strlcpy(c->reason, reason, sizeof(c->reason));
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	bufferevent_setcb(c->bev, NULL, NULL, NULL, NULL);
	if (c->deadline != NULL)
		event_del(c->deadline);
	if (c->in_cb == 0)
		conn_done(c);
}

/* Leave one of our callbacks: run a close decided meanwhile. */
static void
conn_leave(struct conn *c)
{
	if (--c->in_cb == 0 && c->finished)
		conn_done(c);
}

static void
conn_set_timeouts(struct conn *c, int seconds)
{
	struct timeval	tv;

	if (seconds <= 0) {
		bufferevent_set_timeouts(c->bev, NULL, NULL);
		return;
	}
	tv.tv_sec = seconds;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

/* Close once everything queued has been written. */
static void
conn_close_flushed(struct conn *c, const char *reason)
{
	if (c->finished || c->closing)
		return;
	c->closing = 1;
	strlcpy(c->reason, reason, sizeof(c->reason));
	/* A peer that does not read must not hold us for long. */
	conn_set_timeouts(c, c->timeout_s > 0 &&
	    c->timeout_s < CONN_FAIL_TIMEOUT ? c->timeout_s : CONN_FAIL_TIMEOUT);
	if (evbuffer_get_length(bufferevent_get_output(c->bev)) == 0)
		conn_finish(c, c->reason);
}

/* The whole way from accept to an authenticated peer took too long. */
static void
conn_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn	*c = arg;
	char		 why[CONN_REASON_MAX];

	if (c->finished || c->authenticated)
		return;
	c->in_cb++;
	snprintf(why, sizeof(why), "timeout: not authenticated within %d s",
	    c->timeout_s);
	/* Whatever was queued (a refusal) is not waited for either. */
	conn_finish(c, why);
	conn_leave(c);
}

static struct conn *
conn_new(struct event_base *base, SSL_CTX *ctx, int fd, int client,
    SSL_SESSION *session, const struct conn_cbs *cbs, void *arg,
    int timeout_s)
{
	struct conn	*c;
	SSL		*ssl;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((ssl = SSL_new(ctx)) == NULL) {
		free(c);
		return NULL;
	}
	/* Offered to the server; it may take it or do a full handshake. */
	if (session != NULL && SSL_set_session(ssl, session) != 1)
		ERR_clear_error();
	c->bev = bufferevent_openssl_socket_new(base, fd, ssl,
	    client ? BUFFEREVENT_SSL_CONNECTING : BUFFEREVENT_SSL_ACCEPTING,
	    BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		/* libevent freed the SSL (CLOSE_ON_FREE); the fd is ours. */
		free(c);
		return NULL;
	}
	c->ssl = ssl;
	c->cbs = *cbs;
	c->arg = arg;
	c->client = client;
	c->timeout_s = timeout_s;
	c->frame_max = WIRE_PREAUTH_PAYLOAD_MAX;
	c->source = -1;
	/* Peers that close without close_notify are normal. */
	bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	/* Buffer at most one largest frame before we stop reading. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
	    WIRE_HDR_LEN + c->frame_max);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	bufferevent_setcb(c->bev, conn_readcb, conn_writecb, conn_eventcb, c);
	/* Covers the TLS handshake and every later read and write. */
	conn_set_timeouts(c, timeout_s);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	return c;
}

struct conn *
conn_accept(struct event_base *base, SSL_CTX *ctx, int fd,
    const struct sockaddr *sa, socklen_t slen, const struct conn_cbs *cbs,
    void *arg, int timeout_s)
{
	struct conn	*c;
	struct timeval	 tv;

	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (c = conn_new(base, ctx, fd, 0, NULL, cbs, arg, timeout_s)) ==
	    NULL) {
		close(fd);
		return NULL;
	}
	/* One deadline for TLS and the whole handshake: the per-read
	 * timeouts alone let a peer sending a byte now and then stay. */
	if (timeout_s > 0) {
		tv.tv_sec = timeout_s;
		tv.tv_usec = 0;
		if ((c->deadline = evtimer_new(base, conn_deadline_cb, c)) ==
		    NULL || evtimer_add(c->deadline, &tv) == -1) {
			conn_destroy(c);
			return NULL;
		}
		/* The deadline alone until then: one reason, not a race. */
		bufferevent_set_timeouts(c->bev, NULL, NULL);
	}
	net_format_peer(sa, slen, c->peer);
	net_format_addr(sa, slen, c->addr);
	if ((c->source = source_find(c->addr, 1)) != -1) {
		sources[c->source].n++;
		preauth_total++;
	}
	return c;
}

struct conn *
conn_connect(struct event_base *base, SSL_CTX *ctx, const char *addr,
    int port, const char *source_addr, const struct conn_cbs *cbs,
    void *arg, int timeout_s, char *err, size_t errlen)
{
	return conn_connect_resume(base, ctx, addr, port, source_addr, NULL,
	    cbs, arg, timeout_s, err, errlen);
}

struct conn *
conn_connect_resume(struct event_base *base, SSL_CTX *ctx, const char *addr,
    int port, const char *source_addr, SSL_SESSION *session,
    const struct conn_cbs *cbs, void *arg, int timeout_s, char *err,
    size_t errlen)
{
	struct sockaddr_storage	 ss, src;
	socklen_t		 slen, srclen;
	struct conn		*c;
	int			 fd, on = 1, saved;

	if (port < 1 || port > 65535 ||
	    net_sockaddr(addr, port, &ss, &slen) == -1) {
		snprintf(err, errlen, "%s:%d: not a numeric address and port",
		    addr != NULL ? addr : "", port);
		return NULL;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, 0)) == -1) {
		snprintf(err, errlen, "socket: %s", strerror(errno));
		return NULL;
	}
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	if (source_addr != NULL && source_addr[0] != '\0') {
		if (net_sockaddr(source_addr, 0, &src, &srclen) == -1 ||
		    src.ss_family != ss.ss_family) {
			close(fd);
			snprintf(err, errlen, "source address %s: not a "
			    "numeric address of the same family as %s",
			    source_addr, addr);
			return NULL;
		}
		/* The port is chosen at connect(), with the destination:
		 * binding first does not use up the ephemeral ports. */
		(void)setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
		    sizeof(on));
		if (bind(fd, (struct sockaddr *)&src, srclen) == -1) {
			saved = errno;
			close(fd);
			snprintf(err, errlen, "bind to %s: %s", source_addr,
			    strerror(saved));
			return NULL;
		}
	}
	if ((c = conn_new(base, ctx, fd, 1, session, cbs, arg, timeout_s)) ==
	    NULL) {
		close(fd);
		snprintf(err, errlen, "cannot create a TLS connection: %s",
		    tls_error_str());
		return NULL;
	}
	net_format_peer((struct sockaddr *)&ss, slen, c->peer);
	net_format_addr((struct sockaddr *)&ss, slen, c->addr);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss,
	    (int)slen) == -1) {
		saved = errno;
		snprintf(err, errlen, "connect to %s: %s", c->peer,
		    strerror(saved));
		conn_destroy(c);
		return NULL;
	}
	return c;
}

/* Decode and deliver every whole frame in the input buffer. */
static void
conn_process(struct conn *c)
{
	struct evbuffer		*in = bufferevent_get_input(c->bev);
	struct wire_frame	 f;
	enum wire_status	 st;
	uint8_t			 hdr[WIRE_HDR_LEN], *p;
	size_t			 avail, hlen, used;
	uint32_t		 plen;
	char			 why[CONN_REASON_MAX];

	while (!c->finished) {
		avail = evbuffer_get_length(in);
		if (avail == 0)
			break;
		if (c->closing) {
			/* Closing: ignore what still comes in. */
			evbuffer_drain(in, avail);
			break;
		}
		hlen = avail < WIRE_HDR_LEN ? avail : WIRE_HDR_LEN;
		if (evbuffer_copyout(in, hdr, hlen) != (ev_ssize_t)hlen) {
			conn_finish(c, "read error");
			break;
		}
		st = wire_decode(hdr, hlen, &f, &used);
		if ((st == WIRE_OK || st == WIRE_NEED_MORE) &&
		    hlen == WIRE_HDR_LEN) {
			plen = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 |
			    (uint32_t)hdr[6] << 8 | (uint32_t)hdr[7];
			if (plen > c->frame_max) {
				snprintf(why, sizeof(why), "bad frame: %u "
				    "bytes before authentication (limit %zu)",
				    plen, c->frame_max);
				conn_finish(c, why);
				break;
			}
			if (avail - WIRE_HDR_LEN < plen)
				break;		/* wait for the rest */
			/* Contiguous copy of exactly this frame, no more. */
			if ((p = evbuffer_pullup(in, (ev_ssize_t)(WIRE_HDR_LEN
			    + (size_t)plen))) == NULL) {
				conn_finish(c, "out of memory");
				break;
			}
			st = wire_decode(p, WIRE_HDR_LEN + (size_t)plen, &f,
			    &used);
			if (st == WIRE_OK) {
				int r = 0;

				if (c->cbs.on_frame != NULL)
					r = c->cbs.on_frame(c, &f, c->arg);
				evbuffer_drain(in, used);
				if (r == -1)
					conn_close_flushed(c, "closed locally");
				continue;
			}
		}
		if (st == WIRE_NEED_MORE)
			break;
		if (st == WIRE_BAD_MAGIC)
			strlcpy(why, "bad frame: not an Octopus peer",
			    sizeof(why));
		else
			snprintf(why, sizeof(why), "bad frame: %s",
			    wire_status_str(st));
		conn_finish(c, why);
		break;
	}
}

static void
conn_readcb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	c->in_cb++;
	/* Frames wait until the peer is known (on_established). */
	if (c->established)
		conn_process(c);
	conn_leave(c);
}

static void
conn_writecb(struct bufferevent *bev, void *arg)
{
	struct conn	*c = arg;

	c->in_cb++;
	if (c->closing &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0)
		conn_finish(c, c->reason);
	conn_leave(c);
}

/* Append the OpenSSL errors libevent kept for this bufferevent. */
static void
conn_ssl_errors(struct conn *c, char *out, size_t outsz)
{
	unsigned long	 e;
	const char	*r;
	char		 one[128];
	long		 vr;
	int		 n = 0;

	out[0] = '\0';
	while ((e = bufferevent_get_openssl_error(c->bev)) != 0) {
		/* libevent also queues SSL_get_error() codes (1, 5, ...):
		 * they name no library and read as "lib(0)" junk. */
		if (ERR_GET_LIB(e) == 0)
			continue;
		if (n++ >= 3)
			continue;
		if ((r = ERR_reason_error_string(e)) == NULL) {
			ERR_error_string_n(e, one, sizeof(one));
			r = one;
		}
		if (strstr(out, r) != NULL)
			continue;
		if (out[0] != '\0')
			strlcat(out, "; ", outsz);
		strlcat(out, r, outsz);
	}
	if (n > 0 && !c->established &&
	    (vr = SSL_get_verify_result(c->ssl)) != X509_V_OK) {
		snprintf(one, sizeof(one), " (%s)",
		    X509_verify_cert_error_string(vr));
		strlcat(out, one, outsz);
	}
	ERR_clear_error();
}

/*
 * Whether the TCP connection of a client ever came up; if not, *serr gets
 * the socket's pending error when there is one.
 */
static int
conn_connected(struct conn *c, int *serr)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss), el = sizeof(int);
	int			fd, soerr = 0;

	if ((fd = bufferevent_getfd(c->bev)) < 0)
		return 0;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0)
		return 1;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &el) == 0 &&
	    soerr != 0)
		*serr = soerr;
	return 0;
}

static void
conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct conn		*c = arg;
	char			 why[CONN_REASON_MAX], ssl_err[192];
	/* libevent restores errno for deferred callbacks. */
	int			 serr = EVUTIL_SOCKET_ERROR();

	c->in_cb++;
	if (what & BEV_EVENT_CONNECTED) {
		/* A lean session resumed (tls_session_lean) carries no
		 * certificate: the server proved it holds the session,
		 * made with the certificate the caller gave. */
		if (c->client && c->session_fpr[0] != '\0' &&
		    SSL_session_reused(c->ssl) == 1 &&
		    SSL_get0_peer_certificate(c->ssl) == NULL)
			strlcpy(c->fpr, c->session_fpr, sizeof(c->fpr));
		else if (tls_fingerprint_peer(c->ssl, c->fpr) == -1) {
			c->fpr[0] = '\0';
			conn_finish(c, "TLS handshake failed: no peer "
			    "certificate");
			goto out;
		}
		c->established = 1;
		/* From now on a timeout is per frame, not per handshake
		 * (an accepted peer: once it authenticated). */
		if (c->deadline == NULL || c->authenticated)
			conn_set_timeouts(c, c->timeout_s);
		if (!c->closing && c->cbs.on_established != NULL)
			c->cbs.on_established(c, c->arg);
		/* Frames that came with the handshake. */
		if (!c->finished)
			conn_process(c);
		goto out;
	}
	if (c->closing) {
		/* Whatever happens now, the reason is the one given. */
		conn_finish(c, c->reason);
		goto out;
	}
	if (!c->established && c->client && !conn_connected(c, &serr)) {
		/* The TCP connection never came up: say why. */
		(void)conn_ssl_errors(c, ssl_err, sizeof(ssl_err));
		if (what & BEV_EVENT_TIMEOUT)
			strlcpy(why, "cannot connect: timeout", sizeof(why));
		else
			snprintf(why, sizeof(why), "cannot connect: %s",
			    serr ? strerror(serr) : "connection failed");
		conn_finish(c, why);
		goto out;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		conn_finish(c, c->established ? "timeout" :
		    "timeout during TLS handshake");
		goto out;
	}
	if (what & BEV_EVENT_EOF) {
		conn_finish(c, c->established ? "closed by peer" :
		    "closed by peer during TLS handshake");
		goto out;
	}
	if (what & BEV_EVENT_ERROR) {
		conn_ssl_errors(c, ssl_err, sizeof(ssl_err));
		if (ssl_err[0] != '\0')
			snprintf(why, sizeof(why), "%s: %s", c->established ?
			    "TLS error" : "TLS handshake failed", ssl_err);
		else if (c->established)
			snprintf(why, sizeof(why), "connection error: %s",
			    serr ? strerror(serr) : "unknown");
		else
			snprintf(why, sizeof(why), "TLS handshake failed: %s",
			    serr ? strerror(serr) : "connection closed");
		conn_finish(c, why);
		goto out;
	}
 out:
	ERR_clear_error();	/* nothing stale for the next connection */
	conn_leave(c);
}

int
conn_send(struct conn *c, uint8_t type, const void *payload, size_t len)
{
	uint8_t	hdr[WIRE_HDR_LEN];

	if (c == NULL || c->finished || c->closing ||
	    wire_header(hdr, type, len) == -1 || (len > 0 && payload == NULL))
		return -1;
	if (bufferevent_write(c->bev, hdr, sizeof(hdr)) == -1)
		return -1;
	if (len > 0 && bufferevent_write(c->bev, payload, len) == -1)
		return -1;
	return 0;
}

void
conn_fail(struct conn *c, const char *reason)
{
	struct buf	b;
	struct packer	pk;

	if (c == NULL || c->finished || c->closing)
		return;
	if (reason == NULL)
		reason = "protocol error";
	buf_init(&b, 4 + CONN_REASON_MAX);
	pack_init(&pk, &b);
	/* Only what fits: the reason is for a person, not a transcript. */
	pack_bytes(&pk, reason, strnlen(reason, CONN_REASON_MAX - 1));
	if (pack_error(&pk) == 0)
		(void)conn_send(c, WIRE_ERROR, b.data, b.len);
	buf_free(&b);
	conn_close_flushed(c, reason);
}

void
conn_shutdown(struct conn *c)
{
	if (c == NULL || c->finished)
		return;
	conn_close_flushed(c, "closed locally");
}

void
conn_close(struct conn *c)
{
	if (c == NULL || c->finished)
		return;
	if (c->closing) {
		/* Already on its way out: keep the reason it had. */
		conn_finish(c, c->reason);
		return;
	}
	conn_finish(c, "closed locally");
}

void
conn_set_timeout(struct conn *c, int timeout_s)
{
	if (c == NULL || c->finished || c->closing)
		return;
	c->timeout_s = timeout_s;
	conn_set_timeouts(c, timeout_s);
}

void
conn_authenticated(struct conn *c)
{
	if (c == NULL || c->authenticated)
		return;
	c->authenticated = 1;
	c->frame_max = WIRE_PAYLOAD_MAX;
	/* The session ticket (tls.c issues none at the TLS handshake):
	 * it goes out before the next frame we write. */
	if (!c->client && c->established && !c->finished && !c->closing &&
	    SSL_version(c->ssl) == TLS1_3_VERSION &&
	    SSL_new_session_ticket(c->ssl) != 1)
		ERR_clear_error();
	if (c->deadline != NULL)
		event_del(c->deadline);
	source_release(c);
	if (!c->finished && !c->closing) {
		bufferevent_setwatermark(c->bev, EV_READ, 0,
		    WIRE_HDR_LEN + c->frame_max);
		if (c->deadline != NULL)
			conn_set_timeouts(c, c->timeout_s);
	}
}

const char *
conn_peer(const struct conn *c)
{
	return c->peer;
}

const char *
conn_peer_addr(const struct conn *c)
{
	return c->addr;
}

const char *
conn_peer_fingerprint(const struct conn *c)
{
	return c->fpr;
}

int
conn_exporter(struct conn *c, uint8_t *out, size_t len)
{
	if (c == NULL || !c->established)
		return -1;
	return SSL_export_keying_material(c->ssl, out, len,
	    HS_EXPORTER_LABEL, sizeof(HS_EXPORTER_LABEL) - 1, NULL, 0, 0) == 1 ?
	    0 : -1;
}

int
conn_resumed(const struct conn *c)
{
	return c != NULL && c->established && SSL_session_reused(c->ssl) == 1;
}

SSL_SESSION *
conn_session(struct conn *c)
{
	SSL_SESSION	*s, *copy = NULL;

	if (c == NULL || !c->established || !c->client ||
	    (s = SSL_get1_session(c->ssl)) == NULL)
		return NULL;
	/* A copy: OpenSSL marks the connection's own session not
	 * resumable when the connection ends without close_notify. */
	if (SSL_SESSION_is_resumable(s) &&
	    SSL_SESSION_get_protocol_version(s) == TLS1_3_VERSION &&
	    (copy = SSL_SESSION_dup(s)) == NULL)
		ERR_clear_error();
	SSL_SESSION_free(s);
	return copy;
}

void
conn_session_fingerprint(struct conn *c, const char *fpr)
{
	if (c != NULL && c->client && !c->established &&
	    strlen(fpr) == OCTO_FPR_HEX_LEN)
		strlcpy(c->session_fpr, fpr, sizeof(c->session_fpr));
}

void
conn_forget_session(struct conn *c)
{
	SSL_SESSION	*s;

	if (c == NULL || (s = SSL_get_session(c->ssl)) == NULL)
		return;
	if (!c->client)
		(void)SSL_CTX_remove_session(SSL_get_SSL_CTX(c->ssl), s);
	ERR_clear_error();
}

SSL *
conn_ssl(struct conn *c)
{
	return c->ssl;
}

void *
conn_arg(struct conn *c)
{
	return c->arg;
}

void
conn_set_arg(struct conn *c, void *arg)
{
	c->arg = arg;
}
