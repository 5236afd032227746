/*
 * A framed TLS connection between brain and tentacle, on libevent's OpenSSL
 * bufferevents. It owns the TLS handshake, read/write timeouts, frame
 * decoding (wire.h) with the hard size limit, and closing. Protocol code
 * only sees whole, valid frames, and one close callback that says why.
 *
 * Every failure (TLS error, a plain-TCP client, garbage, an oversized or
 * truncated frame, a timeout) ends in on_close with a reason for the log;
 * the conn is freed right after on_close returns.
 */
#ifndef OCTO_CONN_H
#define OCTO_CONN_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "wire.h"

struct conn;

struct conn_cbs {
	/* TLS is up; the peer presented a certificate (fingerprint known). */
	void	(*on_established)(struct conn *, void *arg);
	/* A whole frame. Return 0 to keep reading, -1 to close the
	 * connection (after flushing what was sent). */
	int	(*on_frame)(struct conn *, const struct wire_frame *, void *arg);
	/* The connection is over; reason is for the log ("closed by peer",
	 * "timeout", "TLS handshake failed: ...", "bad frame: bad magic").
	 * Do not touch the conn after this returns. */
	void	(*on_close)(struct conn *, const char *reason, void *arg);
};

/* Take over an accepted socket and start the TLS server handshake. */
struct conn *conn_accept(struct event_base *, SSL_CTX *, int fd,
	    const struct sockaddr *, socklen_t, const struct conn_cbs *,
	    void *arg, int timeout_s);

/* Connect (non-blocking) to addr:port, from source_addr if not NULL/"",
 * and start the TLS client handshake. NULL with err on immediate failure;
 * later failures arrive in on_close. */
struct conn *conn_connect(struct event_base *, SSL_CTX *, const char *addr,
	    int port, const char *source_addr, const struct conn_cbs *,
	    void *arg, int timeout_s, char *err, size_t errlen);

/* The same, offering a TLS session kept from an earlier connection to
 * the same peer (conn_session; NULL: a full handshake). The server may
 * refuse it: then it is a full handshake. Whether it resumed or not, the
 * peer's fingerprint is that of the certificate in the session, checked
 * by the caller as always. */
struct conn *conn_connect_resume(struct event_base *, SSL_CTX *,
	    const char *addr, int port, const char *source_addr,
	    SSL_SESSION *session, const struct conn_cbs *, void *arg,
	    int timeout_s, char *err, size_t errlen);

/* Queue a frame. -1 if too large. */
int	conn_send(struct conn *, uint8_t type, const void *payload,
	    size_t len);
/* Send WIRE_ERROR with reason, then close once it is flushed; on_close
 * runs with `reason`. */
void	conn_fail(struct conn *, const char *reason);
/* Close now; on_close runs with "closed locally".
 * Both are safe inside on_frame/on_established: on_close then runs when
 * that callback returns; elsewhere it runs before conn_close returns. */
void	conn_close(struct conn *);
/* Close once everything queued is sent (a last reply); on_close runs with
 * "closed locally". */
void	conn_shutdown(struct conn *);

/* Change the per-read/write timeout (0 = none), e.g. for an idle link
 * that the protocol keeps alive itself. */
void	conn_set_timeout(struct conn *, int timeout_s);
/* The peer proved who it is (or entered enrolment): frames up to
 * WIRE_PAYLOAD_MAX instead of WIRE_PREAUTH_PAYLOAD_MAX, and an accepted
 * connection's deadline (timeout_s from accept) no longer applies. */
void	conn_authenticated(struct conn *);
/* Before conn_accept(): 0, or -1 when the source address already holds
 * CONN_PREAUTH_PER_SOURCE unauthenticated connections (logged, at most
 * once per address per CONN_REFUSED_LOG_S, with a count). */
int	conn_admit(const struct sockaddr *, socklen_t);
/* Accepted connections of this process not authenticated yet. */
unsigned conn_preauth_count(void);

const char *conn_peer(const struct conn *);		/* "ip:port" */
const char *conn_peer_addr(const struct conn *);	/* "ip" */
const char *conn_peer_fingerprint(const struct conn *);	/* "" before TLS */
SSL	*conn_ssl(struct conn *);
/* 1 if TLS is up on a resumed session (either side). */
int	 conn_resumed(const struct conn *);
/* A client's session for a later conn_connect_resume (a new reference:
 * SSL_SESSION_free it), once the server sent its ticket; NULL if there
 * is none (yet) or it cannot be resumed. */
SSL_SESSION *conn_session(struct conn *);
/* Before the TLS handshake, on a client offering a lean session
 * (tls_session_lean): the fingerprint of the certificate it was made
 * with, the peer's if the server resumes it (then it shows none). */
void	 conn_session_fingerprint(struct conn *, const char *fpr);
/* A server: drop this connection's session from the session cache (no
 * use keeping it: e.g. an enrolment, never resumed). */
void	 conn_forget_session(struct conn *);
/* This TLS session's exporter value for the handshake (handshake.h);
 * -1 before TLS is up. */
int	 conn_exporter(struct conn *, uint8_t *out, size_t len);
void	*conn_arg(struct conn *);
void	 conn_set_arg(struct conn *, void *arg);

#endif
