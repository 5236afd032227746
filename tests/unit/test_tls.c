#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "limits.h"
#include "tls.h"

static char	dir[] = "/tmp/octo-tls-XXXXXX";
static char	crt[256], key[256], crt2[256], key2[256];

static int
setup(void **state)
{
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(crt, sizeof(crt), "%s/a.crt", dir);
	snprintf(key, sizeof(key), "%s/a.key", dir);
	snprintf(crt2, sizeof(crt2), "%s/b.crt", dir);
	snprintf(key2, sizeof(key2), "%s/b.key", dir);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_generate(void **state)
{
	struct stat	 st;
	char		 err[512];
	int		 gen = -1;
	FILE		*f;
	X509		*x;
	char		 cn[64];

	assert_int_equal(tls_ensure_cert(crt, key, "brain-test", &gen, err,
	    sizeof(err)), 0);
	assert_int_equal(gen, 1);
	assert_int_equal(stat(key, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(stat(crt, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0644);
	/* both there: nothing to do */
	assert_int_equal(tls_ensure_cert(crt, key, "brain-test", &gen, err,
	    sizeof(err)), 0);
	assert_int_equal(gen, 0);

	f = fopen(crt, "r");
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(x);
	X509_NAME_get_text_by_NID(X509_get_subject_name(x), NID_commonName,
	    cn, sizeof(cn));
	assert_string_equal(cn, "brain-test");
	assert_int_equal(X509_check_host(x, "localhost", 0, 0, NULL), 1);
	assert_int_equal(X509_check_ip_asc(x, "127.0.0.1", 0), 1);
	assert_true(X509_cmp_current_time(X509_get0_notBefore(x)) < 0);
	assert_true(X509_cmp_current_time(X509_get0_notAfter(x)) > 0);
	X509_free(x);

	/* a second pair for the mismatch test */
	assert_int_equal(tls_ensure_cert(crt2, key2, "other", &gen, err,
	    sizeof(err)), 0);
}

static void
test_load_roles(void **state)
{
	SSL_CTX	*ctx;
	char	 err[512], f1[OCTO_FPR_HEX_LEN + 1], f2[OCTO_FPR_HEX_LEN + 1];
	int	 role;

	for (role = TLS_PEER_SERVER; role <= TLS_WEB_SERVER; role++) {
		ctx = tls_ctx_new(role, crt, key, err, sizeof(err));
		assert_non_null(ctx);
		if (role == TLS_WEB_SERVER)
			assert_int_equal(SSL_CTX_get_min_proto_version(ctx),
			    TLS1_2_VERSION);
		else {
			assert_int_equal(SSL_CTX_get_min_proto_version(ctx),
			    TLS1_3_VERSION);
			assert_true(SSL_CTX_get_verify_mode(ctx) &
			    SSL_VERIFY_PEER);
		}
		assert_true(SSL_CTX_get_options(ctx) &
		    SSL_OP_IGNORE_UNEXPECTED_EOF);
		if (role == TLS_PEER_SERVER) {
			assert_int_equal(tls_fingerprint_x509(
			    SSL_CTX_get0_certificate(ctx), f1), 0);
			assert_int_equal(tls_fingerprint_file(crt, f2), 0);
			assert_string_equal(f1, f2);
			assert_int_equal(strlen(f1), 64);
			assert_int_equal(strspn(f1, "0123456789abcdef"), 64);
		}
		SSL_CTX_free(ctx);
	}
	assert_int_equal(tls_fingerprint_file(crt2, f2), 0);
	assert_string_not_equal(f1, f2);
}

static void
test_errors(void **state)
{
	char	err[512], path[300], fpr[OCTO_FPR_HEX_LEN + 1];
	FILE	*f;
	int	gen;

	snprintf(path, sizeof(path), "%s/nope.crt", dir);
	assert_null(tls_ctx_new(TLS_PEER_SERVER, path, key, err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read certificate"));
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(tls_fingerprint_file(path, fpr), -1);

	snprintf(path, sizeof(path), "%s/nope.key", dir);
	assert_null(tls_ctx_new(TLS_PEER_CLIENT, crt, path, err, sizeof(err)));
	assert_non_null(strstr(err, path));

	/* mismatched pair */
	assert_null(tls_ctx_new(TLS_PEER_SERVER, crt, key2, err, sizeof(err)));
	assert_non_null(strstr(err, "does not match"));
	assert_non_null(strstr(err, key2));
	assert_non_null(strstr(err, crt));

	/* not PEM */
	snprintf(path, sizeof(path), "%s/garbage.crt", dir);
	f = fopen(path, "w");
	fputs("hello\n", f);
	fclose(f);
	assert_null(tls_ctx_new(TLS_WEB_SERVER, path, key, err, sizeof(err)));
	assert_non_null(strstr(err, "not a PEM certificate"));
	assert_non_null(strstr(err, path));
	/* a key where the certificate should be */
	assert_null(tls_ctx_new(TLS_WEB_SERVER, key, key, err, sizeof(err)));
	assert_non_null(strstr(err, "not a PEM certificate"));
	/* a certificate where the key should be */
	assert_null(tls_ctx_new(TLS_WEB_SERVER, crt, crt, err, sizeof(err)));
	assert_non_null(strstr(err, "not a PEM private key"));

	/* only one of the two exists */
	snprintf(path, sizeof(path), "%s/lonely.key", dir);
	assert_int_equal(tls_ensure_cert(crt, path, "x", &gen, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "missing"));
	snprintf(path, sizeof(path), "%s/lonely.crt", dir);
	assert_int_equal(tls_ensure_cert(path, key, "x", &gen, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "missing"));

	/* a directory that does not exist (not writable) */
	assert_int_equal(tls_ensure_cert("/nonexistent/dir/c.crt",
	    "/nonexistent/dir/c.key", "x", &gen, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "certificate /nonexistent/dir/c.crt not "
	    "found; make one with scripts/mkcerts"));
	assert_int_equal(access("/nonexistent/dir/c.key", F_OK), -1);
}

/* The session's DER without its element [3] (tls_session_lean). */
static void
test_der_drop_peer(void **state)
{
	/* SEQUENCE { INTEGER 1, [3] { 0x05 0x00 }, [4] { 0xaa } } */
	static const unsigned char in[] = { 0x30, 0x0b, 0x02, 0x01, 0x01,
	    0xa3, 0x02, 0x05, 0x00, 0xa4, 0x02, 0x04, 0x00 };
	static const unsigned char want[] = { 0x30, 0x07, 0x02, 0x01, 0x01,
	    0xa4, 0x02, 0x04, 0x00 };
	unsigned char	 out[600], big[600];
	size_t		 n = sizeof(out), i;

	assert_int_equal(tls_der_drop_peer(in, sizeof(in), out, &n), 0);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* Without a [3]: the same bytes. */
	n = sizeof(out);
	assert_int_equal(tls_der_drop_peer(want, sizeof(want), out, &n), 0);
	assert_int_equal(n, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* Long lengths (0x82), and what remains under 256 bytes (0x81). */
	big[0] = 0x30;
	big[1] = 0x82;
	big[2] = 0x01;
	big[3] = 0x2c;			/* 300 */
	big[4] = 0xa3;
	big[5] = 0x82;
	big[6] = 0x00;
	big[7] = 0x64;			/* 100 */
	memset(big + 8, 0x01, 100);
	big[108] = 0x04;
	big[109] = 0x81;
	big[110] = 0xc1;		/* 193 */
	memset(big + 111, 0x02, 193);
	n = sizeof(out);
	assert_int_equal(tls_der_drop_peer(big, 304, out, &n), 0);
	assert_int_equal(n, 3 + 196);
	assert_int_equal(out[0], 0x30);
	assert_int_equal(out[1], 0x81);
	assert_int_equal(out[2], 196);
	assert_memory_equal(out + 3, big + 108, 196);
	/* Not a session: -1, for every truncation and a short out. */
	for (i = 0; i < sizeof(in); i++) {
		n = sizeof(out);
		assert_int_equal(tls_der_drop_peer(in, i, out, &n), -1);
	}
	n = sizeof(out);
	assert_int_equal(tls_der_drop_peer((const unsigned char *)"\x04\x00",
	    2, out, &n), -1);
	n = 4;
	assert_int_equal(tls_der_drop_peer(in, sizeof(in), out, &n), -1);
	assert_null(tls_session_lean(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_der_drop_peer),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_load_roles),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
