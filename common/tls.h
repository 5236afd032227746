/*
 * TLS contexts over OpenSSL 3.
 *  - peer contexts (brain <-> tentacle): TLS 1.3 only, mutual: each side
 *    presents its certificate and requires one from the other. Certificates
 *    are self-signed; trust comes from pinning the fingerprint (SHA-256 of
 *    the SubjectPublicKeyInfo, DER, as 64 lowercase hex digits), which the
 *    protocol layer checks after the TLS handshake.
 *  - web context (dashboard HTTPS): TLS 1.2 and 1.3, no client certificate.
 * Every context sets SSL_OP_IGNORE_UNEXPECTED_EOF: a peer that closes
 * without close_notify is normal, not an error (OpenSSL 3 + libevent 2.1).
 */
#ifndef OCTO_TLS_H
#define OCTO_TLS_H

#include <stddef.h>
#include <openssl/ssl.h>

enum tls_role {
	TLS_PEER_SERVER,	/* 6000, 6001, 7000, 7001 listeners */
	TLS_PEER_CLIENT,	/* connections between brain and tentacles */
	TLS_WEB_SERVER,		/* the dashboard */
};

/*
 * Load certificate and key into a new context for `role`. On failure returns
 * NULL and explains in err: which file is missing, unreadable, not a
 * certificate/key, or whether key and certificate do not match.
 */
SSL_CTX	*tls_ctx_new(enum tls_role role, const char *certfile,
	    const char *keyfile, char *err, size_t errlen);

/* The same from PEM in memory (what the maestro sends a child: it cannot
 * read the files). The caller wipes the buffers after. */
SSL_CTX	*tls_ctx_new_pem(enum tls_role role, const void *cert,
	    size_t certlen, const void *key, size_t keylen, char *err,
	    size_t errlen);
/*
 * Make sure certfile and keyfile exist. If both do: 0. If neither does and
 * their directory is writable: generate an ECDSA P-256 key (0600, written
 * atomically) and a self-signed certificate (CN = common_name, SAN
 * localhost and 127.0.0.1, 10 years), set *generated = 1, return 0.
 * Otherwise -1 with a message naming the missing file and how to make it.
 */
int	tls_ensure_cert(const char *certfile, const char *keyfile,
	    const char *common_name, int *generated, char *err, size_t errlen);

/* A new ECDSA P-256 key and its self-signed certificate (as
 * tls_ensure_cert makes, in memory): 0, or -1 with err. The caller frees
 * both (EVP_PKEY_free, X509_free). */
int	tls_make_pair(const char *common_name, EVP_PKEY **, X509 **,
	    char *err, size_t errlen);
/* The PEM of a key and/or a certificate (NULL: not that one) in a new
 * malloc'ed buffer of *len bytes (not NUL-terminated); NULL on failure.
 * A key's: OPENSSL_cleanse it before free. */
char	*tls_pem(EVP_PKEY *, X509 *, size_t *len);

/*
 * Peer contexts resume TLS 1.3 sessions (tls.c): a server keeps each
 * session it issued a ticket for (only to an authenticated peer,
 * conn_authenticated) in its memory only (stateful tickets, at
 * most TLS_SESSION_CACHE_MAX (the brain's commander: max_tentacles if
 * more),
 * each TLS_TICKET_LIFETIME seconds, used
 * once); clients keep the session themselves (conn_session,
 * conn_connect_resume). Resumption always runs a fresh ECDHE
 * (psk_dhe_ke); no early data.
 */
#define TLS_TICKET_LIFETIME	3600
#define TLS_SESSION_CACHE_MAX	8192
/* The peer's certificate message (one self-signed certificate of a few
 * hundred bytes in practice): a stranger's must not cost 100 KiB (the
 * OpenSSL default) per connection. */
#define TLS_CERT_LIST_MAX	(16 * 1024)

/* Fingerprint of a certificate, of the peer of an SSL, or of a PEM file.
 * out: OCTO_FPR_HEX_LEN + 1 bytes. 0 or -1. */
int	tls_fingerprint_x509(X509 *, char *out);
int	tls_fingerprint_peer(SSL *, char *out);
int	tls_fingerprint_file(const char *certfile, char *out);

/*
 * A client's session without the server's certificate (issue 18: the
 * parsed certificate and its P-256 key are about 4.5 KB of a 6 KB
 * session; the brain's commander keeps one per tentacle): a new
 * reference, or NULL. Offered again, it resumes as before, but the
 * connection then has no peer certificate: the caller tells conn the
 * fingerprint the session was made with (conn_session_fingerprint).
 * tls_der_drop_peer is its pure part: DER of an SSL_SESSION without its
 * element [3] (the peer), into out (outlen: its size in, the length
 * out); 0, or -1 if in is not such a DER or out is too small.
 */
SSL_SESSION *tls_session_lean(SSL_SESSION *);
int	tls_der_drop_peer(const unsigned char *in, size_t len,
	    unsigned char *out, size_t *outlen);

/* The last OpenSSL error as text (for log lines). */
const char *tls_error_str(void);

#endif
