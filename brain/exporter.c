/*
 * The exporter (issue 17; export.h): a child of the maestro with no port
 * and no database. The maestro sends it its targets (IPC_EXPORT_CONF:
 * addresses, CA bundles, credentials: it reads no file) and events, per
 * target, a window at a time (IPC_EXPORT_EVENT); it delivers them in
 * order and acknowledges (IPC_EXPORT_ACK), and the maestro keeps them on
 * disk until then. Confined: it may connect out, never bind, open no
 * file.
 *
 * syslog: one TLS connection (RFC 5425: octet-counting frames of RFC
 * 5424 messages), the collector's certificate checked against syslog_ca
 * and its name (or address). Syslog over TLS has no acknowledgements: an
 * event counts as delivered once it left our buffers and the connection
 * then stayed up for a tick (EXPORT_TICK_MS) without error; the events
 * written since the last such tick are written again after a reconnect
 * (at least once: the collector may see a duplicate `seq`).
 * webhook: one HTTPS POST per event (Connection: close), its body the
 * event's JSON, signed (X-Octopus-Signature); 2xx is delivered; a
 * refusal, a timeout (WEBHOOK_TIMEOUT_S) or a close before the status is
 * retried with backoff, and the event is given up (counted as dropped)
 * after WEBHOOK_ATTEMPTS; a collector that cannot be reached is retried
 * for ever. Both reconnect with backoff (EXPORT_BACKOFF_*).
 */
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "brain.h"
#include "buf.h"
#include "child.h"
#include "confine.h"
#include "crypto.h"
#include "export.h"
#include "ipcmsg.h"
#include "log.h"

#define EXPORT_TICK_MS		1000
#define EXPORT_BACKOFF_MIN_MS	500
#define EXPORT_BACKOFF_MAX_MS	30000
#define EXPORT_IO_TIMEOUT_S	10	/* connect, handshake, a write */
#define WEBHOOK_TIMEOUT_S	10	/* the answer to a POST */
#define WEBHOOK_ATTEMPTS	5	/* refused this often: given up */
#define SYSLOG_OUT_MAX		(1024 * 1024)	/* written ahead at most */
#define HTTP_HEAD_MAX		4096

struct xevent {
	TAILQ_ENTRY(xevent)	 entry;
	uint64_t		 seq;
	size_t			 len;
	char			 json[];
};
TAILQ_HEAD(xevents, xevent);

struct target {
	enum export_target	 kind;
	int			 on;
	SSL_CTX			*ctx;
	char			 host[EXPORT_HOST_MAX];
	char			 addr[OCTO_ADDR_MAX];
	unsigned		 port;
	char			 path[EXPORT_PATH_MAX];
	uint8_t			 secret[EXPORT_SECRET_MAX];
	size_t			 secretlen;

	struct xevents		 q;		/* not yet acknowledged */
	uint64_t		 last;		/* newest seq received */
	uint64_t		 acked;
	uint32_t		 dropped;	/* given up since the last ack */
	struct bufferevent	*bev;
	enum export_state	 state;
	char			 error[IPCMSG_ERROR_MAX];
	struct event		*retry_ev;
	long			 backoff_ms;

	/* syslog */
	uint64_t		 written;	/* on this connection */
	uint64_t		 pending;	/* drained at the last tick */
	/* webhook */
	int			 requested;	/* the POST is out */
	uint64_t		 inflight;	/* of that event */
	int			 attempts;	/* of the first event */
	struct buf		 resp;
};

static struct child_loop	 loop;
static struct target		 targets[EXPORT_TARGETS];
static struct event		*tick_ev;
static int			 configured;

static void	target_connect(struct target *);
static void	webhook_next(struct target *);

/* ---- to the maestro -------------------------------------------------- */

static void
report(struct target *t, uint64_t seq)
{
	struct ipc_export_ack	a;

	memset(&a, 0, sizeof(a));
	a.target = (uint8_t)t->kind;
	a.seq = seq;
	a.dropped = seq ? t->dropped : 0;
	a.state = (uint8_t)t->state;
	ipcmsg_text(a.error, sizeof(a.error), t->error);
	if (ipcmsg_send_export_ack(loop.chan, IPC_EXPORT_ACK, 0, &a) == -1)
		log_warnx("cannot acknowledge to the maestro");
	if (seq)
		t->dropped = 0;
}

static void
set_state(struct target *t, enum export_state s, const char *error)
{
	if (error != NULL)
		strlcpy(t->error, error, sizeof(t->error));
	if (s == t->state)
		return;
	t->state = s;
	log_debug("%s: %s%s%s", export_target_name(t->kind),
	    export_state_name(s), s == EXPORT_DOWN ? ": " : "",
	    s == EXPORT_DOWN ? t->error : "");
	report(t, 0);
}

/* Out of our queue: the events up to seq. */
static void
drop_upto(struct target *t, uint64_t seq)
{
	struct xevent	*e;

	while ((e = TAILQ_FIRST(&t->q)) != NULL && e->seq <= seq) {
		TAILQ_REMOVE(&t->q, e, entry);
		crypto_wipe(e->json, e->len);
		free(e);
	}
}

/* Everything up to seq is done with: out of our queue, and told. */
static void
confirm(struct target *t, uint64_t seq)
{
	drop_upto(t, seq);
	if (seq > t->acked) {
		t->acked = seq;
		report(t, seq);
	}
}

/* ---- connections ----------------------------------------------------- */

static SSL_CTX *
ctx_new(const uint8_t *ca, size_t calen, const uint8_t *cert, size_t certlen,
    const uint8_t *key, size_t keylen, char *err, size_t errlen)
{
	SSL_CTX			*ctx;
	X509_STORE		*store;
	STACK_OF(X509_INFO)	*infos = NULL;
	X509_INFO		*xi;
	X509			*x = NULL;
	EVP_PKEY		*pk = NULL;
	BIO			*b;
	int			 i, n = 0;

	if ((ctx = SSL_CTX_new(TLS_client_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new failed");
		return NULL;
	}
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	store = SSL_CTX_get_cert_store(ctx);
	if ((b = BIO_new_mem_buf(ca, (int)calen)) != NULL)
		infos = PEM_X509_INFO_read_bio(b, NULL, NULL, NULL);
	BIO_free(b);
	for (i = 0; infos && i < sk_X509_INFO_num(infos); i++) {
		xi = sk_X509_INFO_value(infos, i);
		if (xi->x509 && X509_STORE_add_cert(store, xi->x509) == 1)
			n++;
	}
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (n == 0) {
		snprintf(err, errlen, "no CA certificate in the bundle");
		goto fail;
	}
	if (certlen == 0)
		return ctx;
	if ((b = BIO_new_mem_buf(cert, (int)certlen)) != NULL)
		x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	if ((b = BIO_new_mem_buf(key, (int)keylen)) != NULL)
		pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	if (x == NULL || pk == NULL || SSL_CTX_use_certificate(ctx, x) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "the client certificate and key do not "
		    "load or do not match");
		goto fail;
	}
	X509_free(x);
	EVP_PKEY_free(pk);
	return ctx;
fail:
	X509_free(x);
	EVP_PKEY_free(pk);
	SSL_CTX_free(ctx);
	return NULL;
}

static void
retry_later(struct target *t)
{
	struct timeval	tv;

	tv.tv_sec = t->backoff_ms / 1000;
	tv.tv_usec = (t->backoff_ms % 1000) * 1000;
	evtimer_add(t->retry_ev, &tv);
	t->backoff_ms *= 2;
	if (t->backoff_ms > EXPORT_BACKOFF_MAX_MS)
		t->backoff_ms = EXPORT_BACKOFF_MAX_MS;
}

static void
close_bev(struct target *t)
{
	if (t->bev != NULL) {
		bufferevent_free(t->bev);
		t->bev = NULL;
	}
}

/* The connection failed or ended: down, and try again later. */
static void
target_down(struct target *t, const char *why)
{
	close_bev(t);
	if (t->kind == EXPORT_SYSLOG) {
		/* What was not confirmed goes again on the next one. */
		t->written = t->acked;
		t->pending = 0;
	} else if (t->requested) {
		t->requested = 0;
		if (++t->attempts >= WEBHOOK_ATTEMPTS) {
			t->attempts = 0;
			if (t->inflight > t->acked) {
				t->dropped++;
				set_state(t, EXPORT_DOWN, why);
				confirm(t, t->inflight);
			}
		}
	}
	set_state(t, EXPORT_DOWN, why);
	retry_later(t);
}

static void
bev_error_text(struct target *t, short what, char *out, size_t len)
{
	unsigned long	e;
	long		vr;
	SSL		*ssl = bufferevent_openssl_get_ssl(t->bev);

	if (what & BEV_EVENT_TIMEOUT) {
		snprintf(out, len, "timeout (%d s)", t->requested ?
		    WEBHOOK_TIMEOUT_S : EXPORT_IO_TIMEOUT_S);
		return;
	}
	if (ssl != NULL && (vr = SSL_get_verify_result(ssl)) != X509_V_OK) {
		snprintf(out, len, "the collector's certificate: %s",
		    X509_verify_cert_error_string(vr));
		return;
	}
	if ((e = bufferevent_get_openssl_error(t->bev)) != 0) {
		char	s[160];

		ERR_error_string_n(e, s, sizeof(s));
		snprintf(out, len, "TLS: %s", s);
		return;
	}
	if (what & BEV_EVENT_EOF) {
		snprintf(out, len, "closed by the collector");
		return;
	}
	snprintf(out, len, "%s", evutil_socket_error_to_string(
	    EVUTIL_SOCKET_ERROR()));
}

/* ---- syslog ---------------------------------------------------------- */

static void
syslog_write(struct target *t)
{
	struct evbuffer	*out;
	struct xevent	*e;
	struct buf	 b;

	if (t->state != EXPORT_CONNECTED || t->bev == NULL)
		return;
	out = bufferevent_get_output(t->bev);
	buf_init(&b, EXPORT_EVENT_MAX * 6 + 4096);
	TAILQ_FOREACH(e, &t->q, entry) {
		if (e->seq <= t->written)
			continue;
		if (evbuffer_get_length(out) > SYSLOG_OUT_MAX)
			break;
		buf_reset(&b);
		if (export_syslog_frame(&b, e->json, e->len) == -1)
			log_warnx("event %llu: not an event: skipped",
			    (unsigned long long)e->seq);
		else
			evbuffer_add(out, b.data, b.len);
		t->written = e->seq;
	}
	buf_free(&b);
}

static void
tick(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = &targets[EXPORT_SYSLOG];

	if (!t->on || t->state != EXPORT_CONNECTED || t->bev == NULL)
		return;
	if (evbuffer_get_length(bufferevent_get_output(t->bev)) != 0)
		return;
	/* Drained a tick ago, and the connection is still up. */
	if (t->pending > t->acked)
		confirm(t, t->pending);
	t->pending = t->written;
}

/* ---- webhook --------------------------------------------------------- */

static void
webhook_send(struct target *t)
{
	struct xevent	*e = TAILQ_FIRST(&t->q);
	struct timeval	 tv = { WEBHOOK_TIMEOUT_S, 0 };
	struct buf	 req;

	if (e == NULL) {
		close_bev(t);
		return;
	}
	buf_init(&req, EXPORT_EVENT_MAX + 8192);
	if (export_webhook_request(&req, t->host, t->port, t->path, e->json,
	    e->len, t->secret, t->secretlen) == -1) {
		buf_free(&req);
		log_warnx("event %llu: cannot make its request: skipped",
		    (unsigned long long)e->seq);
		close_bev(t);
		t->dropped++;
		confirm(t, e->seq);
		webhook_next(t);
		return;
	}
	bufferevent_set_timeouts(t->bev, &tv, &tv);
	bufferevent_write(t->bev, req.data, req.len);
	buf_free(&req);
	buf_reset(&t->resp);
	t->requested = 1;
	t->inflight = e->seq;
}

static void
webhook_read(struct target *t)
{
	struct evbuffer	*in = bufferevent_get_input(t->bev);
	char		 tmp[512], why[64];
	size_t		 n;
	int		 st;

	while ((n = evbuffer_remove(in, tmp, sizeof(tmp))) > 0 &&
	    n != (size_t)-1)
		if (t->resp.len < HTTP_HEAD_MAX)
			(void)buf_append(&t->resp, tmp, n < HTTP_HEAD_MAX -
			    t->resp.len ? n : HTTP_HEAD_MAX - t->resp.len);
	if (!t->requested)
		return;
	st = export_http_status((const char *)t->resp.data, t->resp.len);
	if (st == 0)
		return;
	if (st < 200 || st > 299) {
		if (st == -1)
			snprintf(why, sizeof(why), "not an HTTP answer");
		else
			snprintf(why, sizeof(why), "HTTP %d", st);
		target_down(t, why);
		return;
	}
	/* Delivered. */
	t->requested = 0;
	t->attempts = 0;
	t->backoff_ms = EXPORT_BACKOFF_MIN_MS;
	close_bev(t);
	set_state(t, EXPORT_CONNECTED, "");
	confirm(t, t->inflight);
	webhook_next(t);
}

static void
webhook_next(struct target *t)
{
	if (t->bev != NULL || evtimer_pending(t->retry_ev, NULL) ||
	    TAILQ_EMPTY(&t->q))
		return;
	target_connect(t);
}

/* ---- both ------------------------------------------------------------ */

static void
on_read(struct bufferevent *bev, void *arg)
{
	struct target	*t = arg;

	if (t->kind == EXPORT_WEBHOOK)
		webhook_read(t);
	else	/* a syslog collector says nothing: drain it */
		evbuffer_drain(bufferevent_get_input(bev),
		    evbuffer_get_length(bufferevent_get_input(bev)));
}

static void
on_write(struct bufferevent *bev, void *arg)
{
	struct target	*t = arg;

	if (t->kind == EXPORT_SYSLOG)
		syslog_write(t);
}

static void
on_event(struct bufferevent *bev, short what, void *arg)
{
	struct target	*t = arg;
	char		 why[IPCMSG_ERROR_MAX];

	if (what & BEV_EVENT_CONNECTED) {
		if (t->kind == EXPORT_SYSLOG) {
			struct timeval	tv = { EXPORT_IO_TIMEOUT_S, 0 };

			/* An idle link: only writes time out. */
			bufferevent_set_timeouts(bev, NULL, &tv);
			t->backoff_ms = EXPORT_BACKOFF_MIN_MS;
			t->written = t->acked;
			t->pending = 0;
			set_state(t, EXPORT_CONNECTED, "");
			syslog_write(t);
		} else
			webhook_send(t);
		return;
	}
	if (t->kind == EXPORT_WEBHOOK && (what & BEV_EVENT_EOF) &&
	    t->requested) {
		webhook_read(t);	/* what came with the close */
		if (!t->requested || t->bev == NULL)
			return;
		target_down(t, "closed before its answer");
		return;
	}
	bev_error_text(t, what, why, sizeof(why));
	target_down(t, why);
}

static int
is_ip(const char *h)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	return inet_pton(AF_INET, h, &a4) == 1 || inet_pton(AF_INET6, h,
	    &a6) == 1;
}

static void
target_connect(struct target *t)
{
	struct sockaddr_storage	 ss;
	struct timeval		 tv = { EXPORT_IO_TIMEOUT_S, 0 };
	char			 ap[OCTO_ADDR_MAX + 16];
	int			 sslen = sizeof(ss);
	SSL			*ssl;

	close_bev(t);
	t->requested = 0;
	snprintf(ap, sizeof(ap), strchr(t->addr, ':') ? "[%s]:%u" : "%s:%u",
	    t->addr, t->port);
	if (evutil_parse_sockaddr_port(ap, (struct sockaddr *)&ss, &sslen) ==
	    -1 || (ssl = SSL_new(t->ctx)) == NULL) {
		target_down(t, "bad address");
		return;
	}
	if (is_ip(t->host))
		X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), t->host);
	else {
		SSL_set_tlsext_host_name(ssl, t->host);
		SSL_set1_host(ssl, t->host);
	}
	t->bev = bufferevent_openssl_socket_new(loop.base, -1, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS);
	if (t->bev == NULL) {
		SSL_free(ssl);
		target_down(t, "out of memory");
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(t->bev, 1);
	bufferevent_setcb(t->bev, on_read, on_write, on_event, t);
	bufferevent_set_timeouts(t->bev, &tv, &tv);
	bufferevent_enable(t->bev, EV_READ | EV_WRITE);
	if (t->state != EXPORT_CONNECTED || t->kind == EXPORT_SYSLOG)
		set_state(t, EXPORT_CONNECTING, NULL);
	if (bufferevent_socket_connect(t->bev, (struct sockaddr *)&ss,
	    sslen) == -1) {
		char	why[IPCMSG_ERROR_MAX];

		snprintf(why, sizeof(why), "connect: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
		target_down(t, why);
	}
}

static void
retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct target	*t = arg;

	if (t->kind == EXPORT_SYSLOG)
		target_connect(t);
	else
		webhook_next(t);
}

/* ---- from the maestro ------------------------------------------------ */

static void
configure(const struct ipc_msg *msg)
{
	struct ipc_export_conf	 c;
	struct target		*t;
	const char		*why;
	char			 err[256];
	int			 i;

	if (configured) {
		/* New targets come with a new exporter (SIGHUP,
		 * child_renew): a second one here is ignored. */
		log_info("a second configuration from the maestro: ignored");
		return;
	}
	if (ipcmsg_decode_export_conf(msg->payload, msg->hdr.len, &c, &why) ==
	    -1)
		fatalx("IPC_EXPORT_CONF: %s", why);
	for (i = 0; i < EXPORT_TARGETS; i++) {
		t = &targets[i];
		t->kind = i;
		TAILQ_INIT(&t->q);
		buf_init(&t->resp, HTTP_HEAD_MAX);
		t->backoff_ms = EXPORT_BACKOFF_MIN_MS;
		t->state = EXPORT_CONNECTING;
		if ((t->retry_ev = evtimer_new(loop.base, retry_cb, t)) ==
		    NULL)
			fatalx("cannot make a timer");
	}
	t = &targets[EXPORT_SYSLOG];
	if ((t->on = c.syslog_on)) {
		strlcpy(t->host, c.syslog_host, sizeof(t->host));
		strlcpy(t->addr, c.syslog_addr, sizeof(t->addr));
		t->port = c.syslog_port;
		if ((t->ctx = ctx_new(c.syslog_ca, c.syslog_ca_len,
		    c.syslog_cert, c.syslog_cert_len, c.syslog_key,
		    c.syslog_key_len, err, sizeof(err))) == NULL)
			fatalx("syslog: %s", err);
	}
	t = &targets[EXPORT_WEBHOOK];
	if ((t->on = c.webhook_on)) {
		strlcpy(t->host, c.webhook_host, sizeof(t->host));
		strlcpy(t->addr, c.webhook_addr, sizeof(t->addr));
		t->port = c.webhook_port;
		strlcpy(t->path, c.webhook_path, sizeof(t->path));
		memcpy(t->secret, c.webhook_secret, c.webhook_secret_len);
		t->secretlen = c.webhook_secret_len;
		if ((t->ctx = ctx_new(c.webhook_ca, c.webhook_ca_len, NULL, 0,
		    NULL, 0, err, sizeof(err))) == NULL)
			fatalx("webhook: %s", err);
	}
	/* The payload held the key and the secret. */
	crypto_wipe((void *)msg->payload, msg->hdr.len);
	configured = 1;
	if (targets[EXPORT_SYSLOG].on)
		target_connect(&targets[EXPORT_SYSLOG]);
}

static void
take_event(const struct ipc_msg *msg)
{
	struct ipc_export_event	 ev;
	struct target		*t;
	struct xevent		*e;
	const char		*why;

	if (ipcmsg_decode_export_event(msg->payload, msg->hdr.len, &ev,
	    &why) == -1)
		fatalx("IPC_EXPORT_EVENT: %s", why);
	t = &targets[ev.target];
	if (!configured || !t->on)
		fatalx("an event for %s, which is not configured",
		    export_target_name(ev.target));
	if (ev.seq <= t->last)
		return;		/* had it */
	if ((e = malloc(sizeof(*e) + ev.json_len + 1)) == NULL)
		fatal("malloc");
	e->seq = ev.seq;
	e->len = ev.json_len;
	memcpy(e->json, ev.json, ev.json_len);
	e->json[ev.json_len] = '\0';
	TAILQ_INSERT_TAIL(&t->q, e, entry);
	t->last = ev.seq;
	if (t->kind == EXPORT_SYSLOG)
		syslog_write(t);
	else
		webhook_next(t);
}

/* The maestro's queue was full: events up to seq are dropped (it counted
 * them); they are not delivered. */
static void
forget(const struct ipc_msg *msg)
{
	struct ipc_export_drop	 d;
	struct target		*t;
	const char		*why;

	if (ipcmsg_decode_export_drop(msg->payload, msg->hdr.len, &d, &why) ==
	    -1)
		fatalx("IPC_EXPORT_DROP: %s", why);
	t = &targets[d.target];
	if (!configured || !t->on)
		return;
	drop_upto(t, d.seq);
	if (t->acked < d.seq)
		t->acked = d.seq;
	if (t->written < t->acked)
		t->written = t->acked;
	if (t->last < t->acked)
		t->last = t->acked;
}

static void
maestro_says(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	switch (msg->hdr.type) {
	case IPC_EXPORT_CONF:
		configure(msg);
		break;
	case IPC_EXPORT_EVENT:
		take_event(msg);
		break;
	case IPC_EXPORT_DROP:
		forget(msg);
		break;
	default:
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(msg->hdr.type));
	}
}

int
exporter_main(struct child_env *env)
{
	struct timeval	tv = { EXPORT_TICK_MS / 1000,
			    (EXPORT_TICK_MS % 1000) * 1000 };
	char		err[512];

	if (child_loop_init(&loop, env, "exporter", maestro_says, NULL) ==
	    -1)
		fatalx("cannot set up the event loop");
	if ((tick_ev = event_new(loop.base, -1, EV_PERSIST, tick, NULL)) ==
	    NULL || event_add(tick_ev, &tv) == -1)
		fatalx("cannot set up the tick");
	child_confine(confine_exporter(err, sizeof(err)), err);
	return child_loop_run(&loop);
}
