/*
 * TLS contexts, certificate generation and fingerprints over OpenSSL 3.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <bsd/string.h>

#include "crypto.h"
#include "limits.h"
#include "tls.h"

#define TLS_CERT_DAYS		3650
#define TLS_WEB_CIPHERS		"ECDHE-ECDSA-AES128-GCM-SHA256:" \
				"ECDHE-RSA-AES128-GCM-SHA256:" \
				"ECDHE-ECDSA-AES256-GCM-SHA384:" \
				"ECDHE-RSA-AES256-GCM-SHA384:" \
				"ECDHE-ECDSA-CHACHA20-POLY1305:" \
				"ECDHE-RSA-CHACHA20-POLY1305"

const char *
tls_error_str(void)
{
	static char	 buf[256];
	unsigned long	 e;
	const char	*r;

	if ((e = ERR_peek_last_error()) == 0) {
		strlcpy(buf, "unknown TLS error", sizeof(buf));
		return buf;
	}
	if ((r = ERR_reason_error_string(e)) != NULL)
		strlcpy(buf, r, sizeof(buf));
	else
		ERR_error_string_n(e, buf, sizeof(buf));
	ERR_clear_error();
	return buf;
}

/*
 * Certificates are self-signed: trust comes from the pinned fingerprint,
 * checked after the handshake. Accept only the errors that mean "issuer
 * not trusted"; anything else (bad signature, expired...) still fails.
 * A certificate is still required: with none, this is never reached and
 * SSL_VERIFY_FAIL_IF_NO_PEER_CERT refuses the handshake.
 */
static int
tls_verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (ok)
		return 1;
	switch (X509_STORE_CTX_get_error(ctx)) {
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		X509_STORE_CTX_set_error(ctx, X509_V_OK);
		return 1;
	default:
		return 0;
	}
}

/* Never prompt on the terminal for a key passphrase. */
static int
tls_no_password(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

/*
 * The certificate (then any chain) and the key, from two BIOs (files, or
 * PEM in memory from the maestro); certname and keyname name them in err.
 */
static int
tls_load_pair(SSL_CTX *ctx, BIO *cb, const char *certname, BIO *kb,
    const char *keyname, char *err, size_t errlen)
{
	X509		*x = NULL, *extra;
	EVP_PKEY	*pk = NULL;
	int		 ret = -1;

	if ((x = PEM_read_bio_X509(cb, NULL, tls_no_password, NULL)) ==
	    NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: not a PEM certificate", certname);
		return -1;
	}
	if (SSL_CTX_use_certificate(ctx, x) != 1) {
		snprintf(err, errlen, "%s: cannot use certificate: %s",
		    certname, tls_error_str());
		goto done;
	}
	/* Any further certificates are the chain (for the web). */
	while ((extra = PEM_read_bio_X509(cb, NULL, tls_no_password, NULL)) !=
	    NULL) {
		if (SSL_CTX_add0_chain_cert(ctx, extra) != 1) {
			X509_free(extra);
			snprintf(err, errlen, "%s: bad chain certificate: %s",
			    certname, tls_error_str());
			goto done;
		}
	}
	ERR_clear_error();	/* the end-of-file "no start line" */

	pk = PEM_read_bio_PrivateKey(kb, NULL, tls_no_password, NULL);
	if (pk == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "%s: not a PEM private key (or "
		    "encrypted)", keyname);
		goto done;
	}
	if (X509_check_private_key(x, pk) != 1) {
		ERR_clear_error();
		snprintf(err, errlen, "key %s does not match certificate %s",
		    keyname, certname);
		goto done;
	}
	if (SSL_CTX_use_PrivateKey(ctx, pk) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "key %s does not match certificate %s",
		    keyname, certname);
		ERR_clear_error();
		goto done;
	}
	ret = 0;
 done:
	EVP_PKEY_free(pk);
	X509_free(x);
	return ret;
}

/*
 * TLS 1.3 session resumption between brain and tentacles (every order and
 * every result is a new connection, and a full handshake costs two
 * certificate signatures and verifications).
 *  - server: stateful tickets (SSL_OP_NO_TICKET in TLS 1.3): the ticket
 *    is only a random name for a session kept in this process's memory,
 *    in OpenSSL's session cache (at most TLS_SESSION_CACHE_MAX sessions,
 *    each good for TLS_TICKET_LIFETIME s, used once). No ticket key
 *    exists that could decrypt a session, nothing is written to disk, and
 *    a restart forgets them all. (Stateless tickets would also cost an
 *    encoding and a decoding of the peer's certificate per connection,
 *    which OpenSSL 3.0 makes slower than the signatures they save.)
 *    The ticket, and so the cached session, comes only once the peer
 *    authenticated (conn_authenticated); a connection that ends before
 *    is removed from the cache (conn.c).
 *  - client: takes the ticket (conn_session, after the handshake); the
 *    caller keeps it and offers it on its next connection to the same
 *    peer (conn_connect_resume).
 * Key exchange on resumption stays psk_dhe_ke (a fresh ECDHE: forward
 * secrecy); psk_ke alone is refused (SSL_OP_ALLOW_NO_DHE_KEX cleared).
 * No early data. A resumed session carries the peer's certificate from
 * the full handshake: the pinned fingerprint is checked on it as on any
 * other, and the app-level handshake still runs over the new
 * connection's own exporter.
 */
static int
tls_peer_resumption(SSL_CTX *ctx, enum tls_role role, char *err,
    size_t errlen)
{
	static const unsigned char	sid_ctx[] = "octopus-peer";

	if (role == TLS_PEER_CLIENT) {
		SSL_CTX_clear_options(ctx, SSL_OP_NO_TICKET);
		/* Nothing kept by OpenSSL: the caller holds the session. */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT |
		    SSL_SESS_CACHE_NO_INTERNAL);
		return 0;
	}
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);	/* stateful */
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, TLS_SESSION_CACHE_MAX);
	/* None at the TLS handshake: one once the peer authenticated
	 * (conn_authenticated), so a stranger is never cached. */
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_timeout(ctx, TLS_TICKET_LIFETIME);
	/* A resumption with SSL_VERIFY_PEER needs a session ID context. */
	if (SSL_CTX_set_session_id_context(ctx, sid_ctx,
	    sizeof(sid_ctx) - 1) != 1) {
		snprintf(err, errlen, "cannot set the session ID context: %s",
		    tls_error_str());
		return -1;
	}
	return 0;
}

/* A context for role, without its certificate and key yet. */
static SSL_CTX *
tls_ctx_base(enum tls_role role, char *err, size_t errlen)
{
	SSL_CTX	*ctx;

	if ((ctx = SSL_CTX_new(TLS_method())) == NULL) {
		snprintf(err, errlen, "SSL_CTX_new: %s", tls_error_str());
		return NULL;
	}
	/* No close_notify is normal; renegotiation is attack surface we do
	 * not need. No 0-RTT data, ever (replayable). */
	SSL_CTX_set_options(ctx, SSL_OP_IGNORE_UNEXPECTED_EOF |
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
	    SSL_OP_NO_COMPRESSION);
	SSL_CTX_clear_options(ctx, SSL_OP_ALLOW_NO_DHE_KEX);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_num_tickets(ctx, 0);
	SSL_CTX_set_max_early_data(ctx, 0);
	SSL_CTX_set_recv_max_early_data(ctx, 0);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);

	switch (role) {
	case TLS_PEER_SERVER:
	case TLS_PEER_CLIENT:
		if (SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) != 1 ||
		    SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION) != 1) {
			snprintf(err, errlen, "cannot require TLS 1.3: %s",
			    tls_error_str());
			goto fail;
		}
		SSL_CTX_set_verify(ctx, role == TLS_PEER_SERVER ?
		    SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT :
		    SSL_VERIFY_PEER, tls_verify_cb);
		SSL_CTX_set_verify_depth(ctx, 4);
		SSL_CTX_set_max_cert_list(ctx, TLS_CERT_LIST_MAX);
		if (tls_peer_resumption(ctx, role, err, errlen) == -1)
			goto fail;
		break;
	case TLS_WEB_SERVER:
		if (SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) != 1 ||
		    SSL_CTX_set_cipher_list(ctx, TLS_WEB_CIPHERS) != 1) {
			snprintf(err, errlen, "cannot set TLS versions or "
			    "ciphers: %s", tls_error_str());
			goto fail;
		}
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		break;
	default:
		snprintf(err, errlen, "unknown TLS role %d", (int)role);
		goto fail;
	}
	return ctx;
 fail:
	SSL_CTX_free(ctx);
	return NULL;
}

/* The context of role with the pair read from cb and kb; frees both BIOs
 * (NULL when they could not be made: err says why already). */
static SSL_CTX *
tls_ctx_from_bios(enum tls_role role, BIO *cb, const char *certname,
    BIO *kb, const char *keyname, char *err, size_t errlen)
{
	SSL_CTX	*ctx = NULL;

	if (cb != NULL && kb != NULL &&
	    (ctx = tls_ctx_base(role, err, errlen)) != NULL &&
	    tls_load_pair(ctx, cb, certname, kb, keyname, err, errlen) == -1) {
		SSL_CTX_free(ctx);
		ctx = NULL;
	}
	BIO_free(cb);
	BIO_free(kb);
	return ctx;
}

SSL_CTX *
tls_ctx_new(enum tls_role role, const char *certfile, const char *keyfile,
    char *err, size_t errlen)
{
	BIO	*cb, *kb = NULL;

	if (certfile == NULL || certfile[0] == '\0' || keyfile == NULL ||
	    keyfile[0] == '\0') {
		snprintf(err, errlen, "no certificate or key file configured");
		return NULL;
	}
	if ((cb = BIO_new_file(certfile, "re")) == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "cannot read certificate %s: %s",
		    certfile, strerror(errno));
	} else if ((kb = BIO_new_file(keyfile, "re")) == NULL) {
		ERR_clear_error();
		snprintf(err, errlen, "cannot read key %s: %s", keyfile,
		    strerror(errno));
	}
	return tls_ctx_from_bios(role, cb, certfile, kb, keyfile, err,
	    errlen);
}

SSL_CTX *
tls_ctx_new_pem(enum tls_role role, const void *cert, size_t certlen,
    const void *key, size_t keylen, char *err, size_t errlen)
{
	BIO	*cb, *kb = NULL;

	if (certlen == 0 || keylen == 0 || certlen > IPC_PAYLOAD_MAX ||
	    keylen > IPC_PAYLOAD_MAX) {
		snprintf(err, errlen, "no certificate or key");
		return NULL;
	}
	if ((cb = BIO_new_mem_buf(cert, (int)certlen)) == NULL ||
	    (kb = BIO_new_mem_buf(key, (int)keylen)) == NULL)
		snprintf(err, errlen, "BIO_new_mem_buf: %s", tls_error_str());
	return tls_ctx_from_bios(role, cb, "the certificate", kb, "the key",
	    err, errlen);
}

int
tls_fingerprint_x509(X509 *x, char *out)
{
	unsigned char	*der = NULL;
	uint8_t		 md[SHA256_LEN];
	X509_PUBKEY	*pub;
	int		 n;

	out[0] = '\0';
	if (x == NULL || (pub = X509_get_X509_PUBKEY(x)) == NULL)
		return -1;
	if ((n = i2d_X509_PUBKEY(pub, &der)) <= 0)
		return -1;
	if (crypto_sha256(der, (size_t)n, md) == -1) {
		OPENSSL_free(der);
		return -1;
	}
	OPENSSL_free(der);
	hex_encode(md, sizeof(md), out);
	return 0;
}

int
tls_fingerprint_peer(SSL *ssl, char *out)
{
	out[0] = '\0';
	if (ssl == NULL)
		return -1;
	return tls_fingerprint_x509(SSL_get0_peer_certificate(ssl), out);
}

/* One DER element at in[0..len): its header's and content's lengths. */
static int
der_element(const unsigned char *in, size_t len, size_t *hdr, size_t *body)
{
	size_t	n, i, k;

	if (len < 2)
		return -1;
	n = in[1];
	*hdr = 2;
	if (n & 0x80) {
		k = n & 0x7f;
		if (k < 1 || k > 4 || len < 2 + k)
			return -1;
		for (n = 0, i = 0; i < k; i++)
			n = n << 8 | in[2 + i];
		*hdr = 2 + k;
	}
	if (n > len - *hdr)
		return -1;
	*body = n;
	return 0;
}

int
tls_der_drop_peer(const unsigned char *in, size_t len, unsigned char *out,
    size_t *outlen)
{
	size_t	hdr, body, h, b, i, n = 0, o;

	/* SEQUENCE { ..., peer [3] EXPLICIT Certificate OPTIONAL, ... }
	 * (OpenSSL's SSL_SESSION_ASN1): the elements but that one. */
	if (der_element(in, len, &hdr, &body) == -1 || in[0] != 0x30 ||
	    hdr + body != len || *outlen < len)
		return -1;
	for (i = hdr; i < len; i += h + b) {
		if (der_element(in + i, len - i, &h, &b) == -1)
			return -1;
		if (in[i] == 0xa3)
			continue;
		n += h + b;
	}
	o = n < 0x80 ? 2 : n < 0x100 ? 3 : n < 0x10000 ? 4 : 5;
	if (o + n > *outlen)
		return -1;
	out[0] = 0x30;
	if (o == 2)
		out[1] = (unsigned char)n;
	else {
		out[1] = (unsigned char)(0x80 | (o - 2));
		for (i = 0; i < o - 2; i++)
			out[2 + i] = (unsigned char)(n >> (8 * (o - 3 - i)));
	}
	for (i = hdr; i < len; i += h + b) {
		(void)der_element(in + i, len - i, &h, &b);
		if (in[i] == 0xa3)
			continue;
		memcpy(out + o, in + i, h + b);
		o += h + b;
	}
	*outlen = o;
	return 0;
}

SSL_SESSION *
tls_session_lean(SSL_SESSION *s)
{
	unsigned char		*der = NULL, *lean;
	const unsigned char	*p;
	SSL_SESSION		*out = NULL;
	size_t			 n;
	int			 len;

	if (s == NULL || (len = i2d_SSL_SESSION(s, &der)) <= 0)
		return NULL;
	n = (size_t)len;	/* the lean one is no longer */
	if ((lean = malloc(n)) != NULL &&
	    tls_der_drop_peer(der, (size_t)len, lean, &n) == 0) {
		p = lean;
		out = d2i_SSL_SESSION(NULL, &p, (long)n);
	}
	/* The session's master secret is in both. */
	crypto_wipe(der, (size_t)len);
	OPENSSL_free(der);
	if (lean != NULL) {
		crypto_wipe(lean, (size_t)len);
		free(lean);
	}
	if (out == NULL)
		ERR_clear_error();
	return out;
}

int
tls_fingerprint_file(const char *certfile, char *out)
{
	FILE	*f;
	X509	*x;
	int	 ret;

	out[0] = '\0';
	if ((f = fopen(certfile, "re")) == NULL)
		return -1;
	x = PEM_read_X509(f, NULL, tls_no_password, NULL);
	fclose(f);
	if (x == NULL) {
		ERR_clear_error();
		return -1;
	}
	ret = tls_fingerprint_x509(x, out);
	X509_free(x);
	return ret;
}

static int
tls_add_ext(X509 *x, X509V3_CTX *v3, int nid, const char *value)
{
	X509_EXTENSION	*ext;
	int		 ok;

	if ((ext = X509V3_EXT_conf_nid(NULL, v3, nid, value)) == NULL)
		return -1;
	ok = X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	return ok == 1 ? 0 : -1;
}

static X509 *
tls_make_cert(EVP_PKEY *pk, const char *cn)
{
	X509		*x;
	X509_NAME	*name;
	X509V3_CTX	 v3;
	BIGNUM		*bn = NULL;
	unsigned char	 serial[16];

	if ((x = X509_new()) == NULL)
		return NULL;
	if (X509_set_version(x, X509_VERSION_3) != 1)
		goto fail;
	/* Random positive 127-bit serial (RFC 5280: at most 20 octets). */
	if (crypto_random(serial, sizeof(serial)) == -1)
		goto fail;
	serial[0] &= 0x7f;
	serial[0] |= 0x01;
	if ((bn = BN_bin2bn(serial, sizeof(serial), NULL)) == NULL ||
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) == NULL)
		goto fail;
	/* An hour back tolerates clocks a little behind ours. */
	if (X509_gmtime_adj(X509_getm_notBefore(x), -3600) == NULL ||
	    X509_time_adj_ex(X509_getm_notAfter(x), TLS_CERT_DAYS, 0,
	    NULL) == NULL)
		goto fail;
	if (X509_set_pubkey(x, pk) != 1)
		goto fail;
	if ((name = X509_get_subject_name(x)) == NULL ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)cn, -1, -1, 0) != 1 ||
	    X509_set_issuer_name(x, name) != 1)
		goto fail;
	X509V3_set_ctx(&v3, x, x, NULL, NULL, 0);
	if (tls_add_ext(x, &v3, NID_basic_constraints, "critical,CA:FALSE")
	    == -1 ||
	    tls_add_ext(x, &v3, NID_key_usage, "critical,digitalSignature")
	    == -1 ||
	    tls_add_ext(x, &v3, NID_ext_key_usage, "serverAuth,clientAuth")
	    == -1 ||
	    tls_add_ext(x, &v3, NID_subject_alt_name,
	    "DNS:localhost,IP:127.0.0.1") == -1 ||
	    tls_add_ext(x, &v3, NID_subject_key_identifier, "hash") == -1)
		goto fail;
	if (X509_sign(x, pk, EVP_sha256()) <= 0)
		goto fail;
	BN_free(bn);
	return x;
 fail:
	BN_free(bn);
	X509_free(x);
	return NULL;
}

int
tls_make_pair(const char *common_name, EVP_PKEY **pk, X509 **x, char *err,
    size_t errlen)
{
	*x = NULL;
	if ((*pk = EVP_EC_gen("P-256")) == NULL) {
		snprintf(err, errlen, "cannot generate a key: %s",
		    tls_error_str());
		return -1;
	}
	if ((*x = tls_make_cert(*pk, common_name)) == NULL) {
		snprintf(err, errlen, "cannot make a certificate: %s",
		    tls_error_str());
		EVP_PKEY_free(*pk);
		*pk = NULL;
		return -1;
	}
	return 0;
}

/* Write data to path atomically: a new temp file (mode), fsync, rename. */
static int
tls_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    char *err, size_t errlen)
{
	char		 tmp[OCTO_PATH_MAX + 32];
	const char	*p = data;
	ssize_t		 n;
	int		 fd, saved;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path,
	    (long)getpid()) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	(void)unlink(tmp);	/* left over by a crash of this pid */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1) {
		saved = errno;
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		errno = saved;
		return -1;
	}
	/* The umask may have narrowed the mode; make it exact. */
	if (fchmod(fd, mode) == -1)
		goto fail;
	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		len -= (size_t)n;
	}
	if (fsync(fd) == -1)
		goto fail;
	if (close(fd) == -1) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) == -1)
		goto fail;
	return 0;
 fail:
	saved = errno;
	if (fd != -1)
		close(fd);
	unlink(tmp);
	snprintf(err, errlen, "%s: %s", path, strerror(saved));
	errno = saved;
	return -1;
}

static void
tls_sync_dir(const char *path)
{
	char	copy[OCTO_PATH_MAX];
	int	fd;

	if (strlcpy(copy, path, sizeof(copy)) >= sizeof(copy))
		return;
	if ((fd = open(dirname(copy), O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		return;
	(void)fsync(fd);
	close(fd);
}

char *
tls_pem(EVP_PKEY *pk, X509 *x, size_t *len)
{
	BIO	*bio;
	char	*data, *copy = NULL;
	long	 n;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return NULL;
	if ((pk != NULL && PEM_write_bio_PrivateKey(bio, pk, NULL, NULL, 0,
	    NULL, NULL) != 1) || (x != NULL && PEM_write_bio_X509(bio, x)
	    != 1))
		goto done;
	if ((n = BIO_get_mem_data(bio, &data)) <= 0)
		goto done;
	if ((copy = malloc((size_t)n)) == NULL)
		goto done;
	memcpy(copy, data, (size_t)n);
	*len = (size_t)n;
 done:
	BIO_free(bio);	/* BIO_s_mem does not wipe: acceptable, our heap */
	return copy;
}

int
tls_ensure_cert(const char *certfile, const char *keyfile,
    const char *common_name, int *generated, char *err, size_t errlen)
{
	struct stat	 st;
	int		 have_cert, have_key, ret = -1, saved;
	EVP_PKEY	*pk = NULL;
	X509		*x = NULL;
	char		*keypem = NULL, *certpem = NULL, why[OCTO_PATH_MAX + 128];
	size_t		 keylen = 0, certlen = 0;

	if (generated != NULL)
		*generated = 0;
	if (certfile == NULL || certfile[0] == '\0' || keyfile == NULL ||
	    keyfile[0] == '\0') {
		snprintf(err, errlen, "no certificate or key file configured");
		return -1;
	}
	have_cert = stat(certfile, &st) == 0;
	have_key = stat(keyfile, &st) == 0;
	if (have_cert && have_key)
		return 0;
	if (have_cert) {
		snprintf(err, errlen, "certificate %s exists but its key %s "
		    "is missing", certfile, keyfile);
		return -1;
	}
	if (have_key) {
		snprintf(err, errlen, "key %s exists but its certificate %s "
		    "is missing", keyfile, certfile);
		return -1;
	}
	if (common_name == NULL || common_name[0] == '\0')
		common_name = "octopus";
	if (strlen(common_name) > 64) {
		snprintf(err, errlen, "common name too long for a "
		    "certificate: %s", common_name);
		return -1;
	}

	if (tls_make_pair(common_name, &pk, &x, err, errlen) == -1)
		goto done;
	if ((keypem = tls_pem(pk, NULL, &keylen)) == NULL ||
	    (certpem = tls_pem(NULL, x, &certlen)) == NULL) {
		snprintf(err, errlen, "cannot encode the certificate: %s",
		    tls_error_str());
		goto done;
	}
	if (tls_write_atomic(keyfile, keypem, keylen, 0600, why,
	    sizeof(why)) == -1) {
		saved = errno;
		if (saved == EACCES || saved == EROFS || saved == ENOENT ||
		    saved == EPERM)
			snprintf(err, errlen, "certificate %s not found; make "
			    "one with scripts/mkcerts or let the daemon create "
			    "it in a writable directory (%s)", certfile, why);
		else
			snprintf(err, errlen, "cannot write key: %s", why);
		goto done;
	}
	if (tls_write_atomic(certfile, certpem, certlen, 0644, why,
	    sizeof(why)) == -1) {
		/* Leave neither file rather than a lone key. */
		unlink(keyfile);
		saved = errno;
		if (saved == EACCES || saved == EROFS || saved == ENOENT ||
		    saved == EPERM)
			snprintf(err, errlen, "certificate %s not found; make "
			    "one with scripts/mkcerts or let the daemon create "
			    "it in a writable directory (%s)", certfile, why);
		else
			snprintf(err, errlen, "cannot write certificate: %s",
			    why);
		goto done;
	}
	tls_sync_dir(keyfile);
	tls_sync_dir(certfile);
	if (generated != NULL)
		*generated = 1;
	ret = 0;
 done:
	if (keypem != NULL) {
		OPENSSL_cleanse(keypem, keylen);
		free(keypem);
	}
	free(certpem);
	X509_free(x);
	EVP_PKEY_free(pk);
	return ret;
}
