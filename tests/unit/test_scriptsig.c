/*
 * common/scriptsig.c: the signed message of a managed script's put and
 * delete, Ed25519 signatures, the body's hash. The vectors were made with
 * OpenSSL's command line (key = the seed 00 01 .. 1f):
 *	openssl pkeyutl -sign -rawin -inkey k.pem -in put.msg
 * so both sides agree with an independent implementation of the format.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "scriptsig.h"

static const char body[] = "#!/bin/sh\necho hello\n";
static const char body_sha[] =
    "bfdeaeb08cffb6a36438bcd12dda25417e3cdd36f1e7e482a2849d539225288b";
static const char pub_hex[] =
    "03a107bff3ce10be1d70dd18e74bc09967e4d6309ba50d5f1ddc8664125531b8";
/* put of hello.sh version 3 with that body */
static const char put_sig_hex[] =
    "debae0d44388cbec0495f6f339f5b8d74dd5c9567f5ecf6be6936da381f7e5af"
    "828dd45277636a54f7fe5cdcc5c4d9a20f76371e91c3b6b14964ff395ddab705";
/* delete of hello.sh version 4 */
static const char del_sig_hex[] =
    "f43bd6b80ef6c402ec8a8a3a87626e984a3cc1df423f2d243fe465d98340695c"
    "574a5ae525df9c18f08e15a7fad67131ea70cafa0732d13032a06d7a4861170e";

static EVP_PKEY *
test_key(void)
{
	uint8_t		seed[32];
	EVP_PKEY	*k;
	int		i;

	for (i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, seed, 32);
	assert_non_null(k);
	return k;
}

static void
test_message(void **state)
{
	struct buf	b;
	static const char want_del[] =
	    "octopus-script-delete-v1\0hello.sh\0" "4";
	char		sha[SCRIPTSIG_HEX_LEN + 1];

	assert_int_equal(scriptsig_sha256_hex(body, strlen(body), sha), 0);
	assert_string_equal(sha, body_sha);

	buf_init(&b, SCRIPTSIG_BODY_MAX + 256);
	assert_int_equal(scriptsig_put_message(&b, "hello.sh", 3, body_sha,
	    body, strlen(body)), 0);
	assert_int_equal(b.len, sizeof("octopus-script-put-v1") +
	    sizeof("hello.sh") + 2 + 65 + strlen(body));
	assert_memory_equal(b.data, "octopus-script-put-v1\0hello.sh\0" "3\0",
	    sizeof("octopus-script-put-v1") + sizeof("hello.sh") + 2);
	buf_reset(&b);
	assert_int_equal(scriptsig_delete_message(&b, "hello.sh", 4), 0);
	assert_int_equal(b.len, sizeof(want_del));
	assert_memory_equal(b.data, want_del, sizeof(want_del));

	/* Out of shape: nothing is built. */
	buf_reset(&b);
	assert_int_equal(scriptsig_put_message(&b, "../x", 1, body_sha, body,
	    strlen(body)), -1);
	assert_int_equal(scriptsig_put_message(&b, "a", 0, body_sha, body,
	    strlen(body)), -1);
	assert_int_equal(scriptsig_put_message(&b, "a", 1, "ABCD", body,
	    strlen(body)), -1);
	sha[0] = 'B';
	assert_int_equal(scriptsig_put_message(&b, "a", 1, sha, body,
	    strlen(body)), -1);
	assert_int_equal(scriptsig_put_message(&b, "a", 1, body_sha, body,
	    SCRIPTSIG_BODY_MAX + 1), -1);
	assert_int_equal(scriptsig_delete_message(&b, "", 1), -1);
	assert_int_equal(scriptsig_delete_message(&b, "a/b", 1), -1);
	assert_int_equal(scriptsig_delete_message(&b, "a", 0), -1);
	buf_free(&b);
}

static void
test_vectors(void **state)
{
	EVP_PKEY	*k = test_key();
	uint8_t		 pub[SCRIPTSIG_PUB_LEN], want[SCRIPTSIG_PUB_LEN];
	uint8_t		 sig[SCRIPTSIG_LEN], wsig[SCRIPTSIG_LEN];

	assert_int_equal(scriptsig_public(k, pub), 0);
	assert_int_equal(hex_decode(pub_hex, want, sizeof(want)), 0);
	assert_memory_equal(pub, want, sizeof(pub));

	/* Ed25519 is deterministic: the very signature OpenSSL's tool
	 * made. */
	assert_int_equal(scriptsig_sign_put(k, "hello.sh", 3, body_sha, body,
	    strlen(body), sig), 0);
	assert_int_equal(hex_decode(put_sig_hex, wsig, sizeof(wsig)), 0);
	assert_memory_equal(sig, wsig, sizeof(sig));
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 3, body_sha,
	    body, strlen(body), wsig), 1);

	assert_int_equal(scriptsig_sign_delete(k, "hello.sh", 4, sig), 0);
	assert_int_equal(hex_decode(del_sig_hex, wsig, sizeof(wsig)), 0);
	assert_memory_equal(sig, wsig, sizeof(sig));
	assert_int_equal(scriptsig_verify_delete(pub, "hello.sh", 4, wsig), 1);
	EVP_PKEY_free(k);
}

static void
test_refusals(void **state)
{
	EVP_PKEY	*k = test_key(), *other = scriptsig_keygen(), *x;
	uint8_t		 pub[SCRIPTSIG_PUB_LEN], opub[SCRIPTSIG_PUB_LEN];
	uint8_t		 sig[SCRIPTSIG_LEN], bad[SCRIPTSIG_LEN];
	char		 body2[] = "#!/bin/sh\necho hellO\n";
	char		 sha2[SCRIPTSIG_HEX_LEN + 1];

	assert_non_null(other);
	assert_int_equal(scriptsig_public(k, pub), 0);
	assert_int_equal(scriptsig_public(other, opub), 0);
	assert_memory_not_equal(pub, opub, sizeof(pub));
	assert_int_equal(scriptsig_sign_put(k, "hello.sh", 3, body_sha, body,
	    strlen(body), sig), 0);

	/* Another key, name, version, hash or body: refused. */
	assert_int_equal(scriptsig_verify_put(opub, "hello.sh", 3, body_sha,
	    body, strlen(body), sig), 0);
	assert_int_equal(scriptsig_verify_put(pub, "hello.sg", 3, body_sha,
	    body, strlen(body), sig), 0);
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 4, body_sha,
	    body, strlen(body), sig), 0);
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 30, body_sha,
	    body, strlen(body), sig), 0);
	assert_int_equal(scriptsig_sha256_hex(body2, strlen(body2), sha2), 0);
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 3, sha2,
	    body, strlen(body), sig), 0);
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 3, body_sha,
	    body2, strlen(body2), sig), 0);
	/* A flipped bit anywhere in the signature. */
	memcpy(bad, sig, sizeof(bad));
	bad[0] ^= 1;
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 3, body_sha,
	    body, strlen(body), bad), 0);
	memcpy(bad, sig, sizeof(bad));
	bad[63] ^= 0x80;
	assert_int_equal(scriptsig_verify_put(pub, "hello.sh", 3, body_sha,
	    body, strlen(body), bad), 0);
	/* A put's signature is no delete's. */
	assert_int_equal(scriptsig_verify_delete(pub, "hello.sh", 3, sig), 0);
	/* An all-zero key is no key. */
	memset(opub, 0, sizeof(opub));
	assert_int_equal(scriptsig_verify_put(opub, "hello.sh", 3, body_sha,
	    body, strlen(body), sig), 0);
	/* Only Ed25519 signs. */
	x = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, pub, 32);
	assert_non_null(x);
	assert_int_equal(scriptsig_sign_put(x, "hello.sh", 3, body_sha, body,
	    strlen(body), sig), -1);
	assert_int_equal(scriptsig_public(x, opub), -1);
	assert_int_equal(scriptsig_sign(NULL, "a", 1, sig), -1);
	EVP_PKEY_free(x);

	/* The largest body signs and verifies; an empty one too. */
	{
		static char	big[SCRIPTSIG_BODY_MAX];
		char		sh[SCRIPTSIG_HEX_LEN + 1];

		memset(big, 'x', sizeof(big));
		assert_int_equal(scriptsig_sha256_hex(big, sizeof(big), sh),
		    0);
		assert_int_equal(scriptsig_sign_put(other, "big", 1, sh, big,
		    sizeof(big), sig), 0);
		assert_int_equal(scriptsig_public(other, opub), 0);
		assert_int_equal(scriptsig_verify_put(opub, "big", 1, sh, big,
		    sizeof(big), sig), 1);
	}
	EVP_PKEY_free(other);
	EVP_PKEY_free(k);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_message),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
