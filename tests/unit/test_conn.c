/*
 * conn over loopback: handshake, frames both ways, conn_fail, and the
 * failures a hostile peer can cause (plain TCP, garbage in TLS, oversized
 * frame, silence, no certificate, refused connection), and TLS session
 * resumption.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <cmocka.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>

#include "conn.h"
#include "limits.h"
#include "net.h"
#include "pack.h"
#include "tls.h"

static char	 dir[] = "/tmp/octo-conn-XXXXXX";
static char	 scrt[256], skey[256], ccrt[256], ckey[256];
static SSL_CTX	*sctx, *cctx, *nocert_ctx;

struct side {
	char		 closed[256];
	int		 nclosed;
	int		 established;
	int		 frames;
	uint8_t		 last_type;
	char		 last_payload[256];
	char		 fpr[OCTO_FPR_HEX_LEN + 1];
	int		 fail_on_frame;	/* server: conn_fail in on_frame */
	int		 reply;		/* server: answer HELLO with ACK */
	int		 close_after;	/* client: close after n frames */
	int		 ret_minus1;	/* server: return -1 from on_frame */
	int		 resumed;	/* conn_resumed() when established */
	uint8_t		 exporter[32];
};

struct harness {
	struct event_base	*base;
	struct event		*lev;
	int			 lfd, port, timeout;
	struct side		 srv, cli;
	int			 done_when;	/* closes needed to stop */
	int			 ncloses;
};

static struct harness	H;

static void
maybe_stop(void)
{
	if (++H.ncloses >= H.done_when)
		event_base_loopbreak(H.base);
}

static void
s_established(struct conn *c, void *arg)
{
	struct side	*s = arg;

	s->established++;
	strcpy(s->fpr, conn_peer_fingerprint(c));
	s->resumed = conn_resumed(c);
	assert_int_equal(conn_exporter(c, s->exporter, sizeof(s->exporter)),
	    0);
}

static int
s_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	struct side	*s = arg;
	size_t		 n = f->len < 255 ? f->len : 255;

	s->frames++;
	s->last_type = f->type;
	/* A frame stands for the handshake here: the session stays. */
	conn_authenticated(c);
	memcpy(s->last_payload, f->payload, n);
	s->last_payload[n] = '\0';
	if (s->fail_on_frame) {
		conn_fail(c, "go away");
		/* still usable until we return */
		assert_string_equal(conn_peer_addr(c), "127.0.0.1");
		return 0;
	}
	if (s->reply && f->type == WIRE_HELLO)
		assert_int_equal(conn_send(c, WIRE_HELLO_ACK, "ack", 3), 0);
	if (s->ret_minus1) {
		conn_send(c, WIRE_HELLO_ACK, "bye", 3);
		return -1;
	}
	if (s->close_after && s->frames >= s->close_after)
		conn_close(c);
	return 0;
}

static void
s_close(struct conn *c, const char *reason, void *arg)
{
	struct side	*s = arg;

	strncpy(s->closed, reason, sizeof(s->closed) - 1);
	s->nclosed++;
	maybe_stop();
}

static const struct conn_cbs cbs = { s_established, s_frame, s_close };

static void
accept_cb(evutil_socket_t lfd, short ev, void *arg)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl = sizeof(ss);
	int			 fd;

	if ((fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
	    SOCK_NONBLOCK | SOCK_CLOEXEC)) == -1)
		return;
	assert_non_null(conn_accept(H.base, sctx, fd, (struct sockaddr *)&ss,
	    sl, &cbs, &H.srv, H.timeout));
}

static void
harness_start(int timeout, int done_when)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			err[256];

	memset(&H, 0, sizeof(H));
	H.timeout = timeout;
	H.done_when = done_when;
	H.base = event_base_new();
	H.lfd = net_listen("127.0.0.1", 0, err, sizeof(err));
	assert_true(H.lfd >= 0);
	getsockname(H.lfd, (struct sockaddr *)&ss, &sl);
	H.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	H.lev = event_new(H.base, H.lfd, EV_READ | EV_PERSIST, accept_cb,
	    NULL);
	event_add(H.lev, NULL);
}

static void
harness_run_free(struct bufferevent *raw)
{
	struct timeval	tv = { 10, 0 };

	event_base_loopexit(H.base, &tv);
	event_base_dispatch(H.base);
	if (raw != NULL)
		bufferevent_free(raw);
	/* let libevent finalise what was freed */
	event_base_loop(H.base, EVLOOP_NONBLOCK);
	event_base_loop(H.base, EVLOOP_NONBLOCK);
	event_free(H.lev);
	close(H.lfd);
	event_base_free(H.base);
}

static void
harness_run(void)
{
	harness_run_free(NULL);
}

static int
setup(void **state)
{
	char	err[512];
	int	gen;

	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(scrt, sizeof(scrt), "%s/s.crt", dir);
	snprintf(skey, sizeof(skey), "%s/s.key", dir);
	snprintf(ccrt, sizeof(ccrt), "%s/c.crt", dir);
	snprintf(ckey, sizeof(ckey), "%s/c.key", dir);
	if (tls_ensure_cert(scrt, skey, "srv", &gen, err, sizeof(err)) ||
	    tls_ensure_cert(ccrt, ckey, "cli", &gen, err, sizeof(err)))
		return -1;
	sctx = tls_ctx_new(TLS_PEER_SERVER, scrt, skey, err, sizeof(err));
	cctx = tls_ctx_new(TLS_PEER_CLIENT, ccrt, ckey, err, sizeof(err));
	nocert_ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(nocert_ctx, TLS1_3_VERSION);
	return sctx && cctx && nocert_ctx ? 0 : -1;
}

static int
teardown(void **state)
{
	char	cmd[300];

	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	SSL_CTX_free(nocert_ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
client_hello_cb(struct conn *c, void *arg)
{
	s_established(c, arg);
	assert_int_equal(conn_send(c, WIRE_HELLO, "hi", 2), 0);
}

static const struct conn_cbs hello_cbs = { client_hello_cb, s_frame,
    s_close };

static void
test_happy(void **state)
{
	struct conn	*c;
	char		 err[256], fs[OCTO_FPR_HEX_LEN + 1];
	char		 fc[OCTO_FPR_HEX_LEN + 1];

	harness_start(5, 2);
	H.srv.reply = 1;
	H.cli.close_after = 1;
	c = conn_connect(H.base, cctx, "127.0.0.1", H.port, "127.0.0.1",
	    &hello_cbs, &H.cli, 5, err, sizeof(err));
	assert_non_null(c);
	assert_string_equal(conn_peer_fingerprint(c), "");
	harness_run();
	tls_fingerprint_file(scrt, fs);
	tls_fingerprint_file(ccrt, fc);
	assert_int_equal(H.cli.established, 1);
	assert_int_equal(H.srv.established, 1);
	assert_string_equal(H.cli.fpr, fs);
	assert_string_equal(H.srv.fpr, fc);
	assert_int_equal(H.srv.frames, 1);
	assert_int_equal(H.srv.last_type, WIRE_HELLO);
	assert_string_equal(H.srv.last_payload, "hi");
	assert_int_equal(H.cli.frames, 1);
	assert_int_equal(H.cli.last_type, WIRE_HELLO_ACK);
	assert_string_equal(H.cli.last_payload, "ack");
	assert_int_equal(H.cli.nclosed, 1);
	assert_string_equal(H.cli.closed, "closed locally");
	assert_int_equal(H.srv.nclosed, 1);
	assert_string_equal(H.srv.closed, "closed by peer");
}

static void
test_fail(void **state)
{
	struct unpacker	 u;
	char		 err[256], reason[64];

	harness_start(5, 2);
	H.srv.fail_on_frame = 1;
	assert_non_null(conn_connect(H.base, cctx, "127.0.0.1", H.port, NULL,
	    &hello_cbs, &H.cli, 5, err, sizeof(err)));
	harness_run();
	assert_int_equal(H.srv.nclosed, 1);
	assert_string_equal(H.srv.closed, "go away");
	/* the client got WIRE_ERROR with the reason, then the close */
	assert_int_equal(H.cli.frames, 1);
	assert_int_equal(H.cli.last_type, WIRE_ERROR);
	unpack_init(&u, H.cli.last_payload, 4 + strlen("go away"));
	assert_int_equal(unpack_str(&u, reason, sizeof(reason)), 0);
	assert_string_equal(reason, "go away");
	assert_int_equal(H.cli.nclosed, 1);
	assert_string_equal(H.cli.closed, "closed by peer");
}

static void
test_return_minus1(void **state)
{
	char	err[256];

	harness_start(5, 2);
	H.srv.ret_minus1 = 1;
	assert_non_null(conn_connect(H.base, cctx, "127.0.0.1", H.port, NULL,
	    &hello_cbs, &H.cli, 5, err, sizeof(err)));
	harness_run();
	assert_string_equal(H.srv.closed, "closed locally");
	/* what it sent before -1 arrived */
	assert_int_equal(H.cli.frames, 1);
	assert_string_equal(H.cli.last_payload, "bye");
	assert_string_equal(H.cli.closed, "closed by peer");
}

/* A raw TCP client that writes `data` and then waits. */
static int
raw_client(const void *data, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl;
	int			fd;

	net_sockaddr("127.0.0.1", H.port, &ss, &sl);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, sl), 0);
	if (len > 0)
		assert_int_equal(write(fd, data, len), (ssize_t)len);
	return fd;
}

static void
test_plain_tcp(void **state)
{
	int	fd;

	harness_start(5, 1);
	fd = raw_client("GET / HTTP/1.0\r\n\r\n", 18);
	harness_run();
	close(fd);
	assert_int_equal(H.srv.nclosed, 1);
	assert_int_equal(H.srv.established, 0);
	assert_non_null(strstr(H.srv.closed, "TLS handshake failed: "));
}

static void
test_silent(void **state)
{
	int	fd;

	harness_start(1, 1);
	fd = raw_client(NULL, 0);
	harness_run();
	close(fd);
	assert_int_equal(H.srv.nclosed, 1);
	assert_string_equal(H.srv.closed,
	    "timeout: not authenticated within 1 s");
}

/* A TLS client on a raw libevent bufferevent that writes bad bytes. */
static const void	*raw_data;
static size_t		 raw_len;

static void
raw_event(struct bufferevent *bev, short what, void *arg)
{
	if (what & BEV_EVENT_CONNECTED)
		bufferevent_write(bev, raw_data, raw_len);
	else
		maybe_stop();
}

static void
raw_read(struct bufferevent *bev, void *arg)
{
	struct evbuffer	*in = bufferevent_get_input(bev);

	evbuffer_drain(in, evbuffer_get_length(in));
}

static struct bufferevent *
raw_tls_client(SSL_CTX *ctx, const void *data, size_t len)
{
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct bufferevent	*bev;

	raw_data = data;
	raw_len = len;
	net_sockaddr("127.0.0.1", H.port, &ss, &sl);
	bev = bufferevent_openssl_socket_new(H.base, -1, SSL_new(ctx),
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	bufferevent_setcb(bev, raw_read, NULL, raw_event, NULL);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
	assert_int_equal(bufferevent_socket_connect(bev,
	    (struct sockaddr *)&ss, (int)sl), 0);
	return bev;
}

static void
test_garbage_in_tls(void **state)
{
	struct bufferevent	*bev;

	harness_start(5, 1);
	bev = raw_tls_client(cctx, "GET / HTTP/1.1\r\n\r\n", 18);
	harness_run_free(bev);
	assert_int_equal(H.srv.established, 1);
	assert_string_equal(H.srv.closed, "bad frame: not an Octopus peer");
}

static void
test_oversized(void **state)
{
	struct bufferevent	*bev;
	static const uint8_t	 hdr[8] = { 'O', 'C', WIRE_VERSION, 2, 0xff, 0, 0,
	    0 };
	static const uint8_t	 ver[8] = { 'O', 'C', 9, 2, 0, 0, 0, 0 };

	harness_start(5, 1);
	bev = raw_tls_client(cctx, hdr, sizeof(hdr));
	harness_run_free(bev);
	assert_string_equal(H.srv.closed, "bad frame: frame too long");

	harness_start(5, 1);
	bev = raw_tls_client(cctx, ver, sizeof(ver));
	harness_run_free(bev);
	assert_string_equal(H.srv.closed,
	    "bad frame: unsupported protocol version");
}

static void
test_truncated_frame_timeout(void **state)
{
	struct bufferevent	*bev;
	static const uint8_t	 part[10] = { 'O', 'C', WIRE_VERSION, 2, 0, 0, 0,
	    9,
	    'a', 'b' };

	harness_start(1, 1);
	bev = raw_tls_client(cctx, part, sizeof(part));
	harness_run_free(bev);
	assert_int_equal(H.srv.frames, 0);
	assert_string_equal(H.srv.closed,
	    "timeout: not authenticated within 1 s");
}

static void
test_no_client_cert(void **state)
{
	struct bufferevent	*bev;

	harness_start(5, 1);
	bev = raw_tls_client(nocert_ctx, "x", 1);
	harness_run_free(bev);
	assert_int_equal(H.srv.established, 0);
	assert_non_null(strstr(H.srv.closed, "TLS handshake failed: "));
	assert_non_null(strstr(H.srv.closed, "certificate"));
}

static void
test_refused(void **state)
{
	char	 err[256];
	int	 port;

	harness_start(5, 1);
	port = H.port;
	/* close the listener: nobody on that port now */
	event_del(H.lev);
	close(H.lfd);
	H.lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_non_null(conn_connect(H.base, cctx, "127.0.0.1", port, NULL,
	    &hello_cbs, &H.cli, 5, err, sizeof(err)));
	harness_run();
	assert_int_equal(H.cli.nclosed, 1);
	assert_string_equal(H.cli.closed, "cannot connect: Connection refused");

	/* immediate failures */
	assert_null(conn_connect(H.base, cctx, "nohost", 1, NULL, &hello_cbs,
	    &H.cli, 5, err, sizeof(err)));
	assert_non_null(strstr(err, "not a numeric address"));
}

static void
test_send_limits(void **state)
{
	struct conn	*c;
	char		 err[256];
	static uint8_t	 big[WIRE_PAYLOAD_MAX + 1];

	harness_start(5, 1);
	c = conn_connect(H.base, cctx, "127.0.0.1", H.port, NULL, &cbs,
	    &H.cli, 5, err, sizeof(err));
	assert_int_equal(conn_send(c, WIRE_HELLO, big, sizeof(big)), -1);
	assert_int_equal(conn_send(c, 0, NULL, 0), -1);
	assert_int_equal(conn_send(c, WIRE_TYPE_MAX, NULL, 0), -1);
	/* outside any callback: on_close runs before conn_close returns */
	conn_close(c);
	assert_int_equal(H.cli.nclosed, 1);
	assert_string_equal(H.cli.closed, "closed locally");
	harness_run();
}

/* ---- resumption --------------------------------------------------------- */

static SSL_SESSION	*kept;

static int
keep_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	SSL_SESSION	*s;

	/* The server's ticket came before its answer. */
	if ((s = conn_session(c)) != NULL) {
		SSL_SESSION_free(kept);
		kept = s;
	}
	return s_frame(c, f, arg);
}

static const struct conn_cbs keep_cbs = { client_hello_cb, keep_frame,
    s_close };

/* A connection offering `offer`, made with the certificate `fpr` (NULL:
 * none said), until both ends closed. */
static void
connect_offering(SSL_SESSION *offer, const char *fpr)
{
	struct conn	*c;
	char		 err[256];

	harness_start(5, 2);
	H.srv.reply = 1;
	H.cli.close_after = 1;
	c = conn_connect_resume(H.base, cctx, "127.0.0.1", H.port, NULL,
	    offer, &keep_cbs, &H.cli, 5, err, sizeof(err));
	assert_non_null(c);
	if (fpr != NULL)
		conn_session_fingerprint(c, fpr);
	harness_run();
}

/* One HELLO -> HELLO_ACK exchange offering `offer`. */
static void
exchange(SSL_SESSION *offer)
{
	connect_offering(offer, NULL);
	assert_int_equal(H.cli.established, 1);
	assert_int_equal(H.srv.established, 1);
	assert_int_equal(H.cli.frames, 1);
	assert_string_equal(H.cli.last_payload, "ack");
}

static void
test_resumption(void **state)
{
	char		 fs[OCTO_FPR_HEX_LEN + 1], fc[OCTO_FPR_HEX_LEN + 1];
	char		 fs2[OCTO_FPR_HEX_LEN + 1], err[512];
	char		 crt2[300], key2[300];
	uint8_t		 first[32];
	SSL_SESSION	*offer;
	SSL_CTX		*saved = sctx;
	int		 gen;

	tls_fingerprint_file(scrt, fs);
	tls_fingerprint_file(ccrt, fc);
	kept = NULL;
	/* A full handshake; the client keeps the server's ticket. */
	exchange(NULL);
	assert_int_equal(H.cli.resumed, 0);
	assert_int_equal(H.srv.resumed, 0);
	assert_non_null(kept);
	memcpy(first, H.cli.exporter, sizeof(first));

	/* Offered again: resumed on both sides, each still sees the other's
	 * certificate (from the session), and the exporter is this
	 * connection's own, not the first one's. */
	offer = kept;
	kept = NULL;
	exchange(offer);
	assert_int_equal(H.cli.resumed, 1);
	assert_int_equal(H.srv.resumed, 1);
	assert_string_equal(H.cli.fpr, fs);
	assert_string_equal(H.srv.fpr, fc);
	assert_memory_equal(H.cli.exporter, H.srv.exporter, 32);
	assert_memory_not_equal(H.cli.exporter, first, 32);
	SSL_SESSION_free(offer);
	assert_non_null(kept);	/* a new ticket on a resumed connection */

	/* A server started again with another key (a tentacle enrolled
	 * again): its ticket keys are new, the old session is refused, a
	 * full handshake shows the new certificate. */
	snprintf(crt2, sizeof(crt2), "%s/s2.crt", dir);
	snprintf(key2, sizeof(key2), "%s/s2.key", dir);
	assert_int_equal(tls_ensure_cert(crt2, key2, "srv2", &gen, err,
	    sizeof(err)), 0);
	tls_fingerprint_file(crt2, fs2);
	sctx = tls_ctx_new(TLS_PEER_SERVER, crt2, key2, err, sizeof(err));
	assert_non_null(sctx);
	offer = kept;
	kept = NULL;
	exchange(offer);
	assert_int_equal(H.cli.resumed, 0);
	assert_int_equal(H.srv.resumed, 0);
	assert_string_equal(H.cli.fpr, fs2);
	SSL_SESSION_free(offer);
	SSL_SESSION_free(kept);
	kept = NULL;
	SSL_CTX_free(sctx);
	sctx = saved;
}

/* A lean session (issue 18): no certificate in it, resumed all the
 * same, the peer's fingerprint the one said; none said, no peer. */
static void
test_resumption_lean(void **state)
{
	char		 fs[OCTO_FPR_HEX_LEN + 1];
	SSL_SESSION	*lean;

	tls_fingerprint_file(scrt, fs);
	kept = NULL;
	exchange(NULL);
	assert_non_null(kept);
	assert_non_null(SSL_SESSION_get0_peer(kept));
	lean = tls_session_lean(kept);
	assert_non_null(lean);
	assert_null(SSL_SESSION_get0_peer(lean));
	SSL_SESSION_free(kept);
	kept = NULL;

	connect_offering(lean, fs);
	assert_int_equal(H.cli.established, 1);
	assert_int_equal(H.cli.resumed, 1);
	assert_int_equal(H.srv.resumed, 1);
	assert_string_equal(H.cli.fpr, fs);
	assert_string_equal(H.cli.last_payload, "ack");
	assert_memory_equal(H.cli.exporter, H.srv.exporter, 32);
	SSL_SESSION_free(lean);
	/* Its next ticket, on a session without a certificate, offered
	 * with no fingerprint said: resumed, but no peer to trust. */
	assert_non_null(kept);
	assert_null(SSL_SESSION_get0_peer(kept));
	lean = kept;
	kept = NULL;
	connect_offering(lean, NULL);
	assert_int_equal(H.cli.established, 0);
	assert_string_equal(H.cli.closed, "TLS handshake failed: no peer "
	    "certificate");
	SSL_SESSION_free(lean);
	SSL_SESSION_free(kept);
	kept = NULL;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_happy),
		cmocka_unit_test(test_fail),
		cmocka_unit_test(test_return_minus1),
		cmocka_unit_test(test_plain_tcp),
		cmocka_unit_test(test_silent),
		cmocka_unit_test(test_garbage_in_tls),
		cmocka_unit_test(test_oversized),
		cmocka_unit_test(test_truncated_frame_timeout),
		cmocka_unit_test(test_no_client_cert),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_send_limits),
		cmocka_unit_test(test_resumption),
		cmocka_unit_test(test_resumption_lean),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
