#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "crypto.h"
#include "limits.h"

static void
test_hex(void **state)
{
	uint8_t	in[4] = { 0x00, 0x1f, 0xab, 0xff }, out[4];
	char	hex[9];

	hex_encode(in, 4, hex);
	assert_string_equal(hex, "001fabff");
	assert_int_equal(hex_decode("001fabff", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(hex_decode("001FABFF", out, 4), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(hex_decode("001fab", out, 4), -1);	/* short */
	assert_int_equal(hex_decode("001fabff00", out, 4), -1);	/* long */
	assert_int_equal(hex_decode("001fabfg", out, 4), -1);
	assert_int_equal(hex_decode(" 01fabff", out, 4), -1);
	assert_int_equal(hex_decode("", out, 0), 0);
}

static void
test_random(void **state)
{
	uint8_t	a[32], b[32];
	char	hex[65];

	assert_int_equal(crypto_random(a, sizeof(a)), 0);
	assert_int_equal(crypto_random(b, sizeof(b)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(crypto_random_hex(hex, 32), 0);
	assert_int_equal(strlen(hex), 64);
	assert_int_equal(strspn(hex, "0123456789abcdef"), 64);
}

static void
test_sha256(void **state)
{
	uint8_t	md[SHA256_LEN];
	char	hex[65];

	assert_int_equal(crypto_sha256("abc", 3, md), 0);
	hex_encode(md, sizeof(md), hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
	    "b00361a396177a9cb410ff61f20015ad");
}

/* RFC 4231, test case 2. */
static void
test_hmac(void **state)
{
	uint8_t	mac[SHA256_LEN];
	char	hex[65];

	assert_int_equal(crypto_hmac_sha256("Jefe", 4,
	    "what do ya want for nothing?", 28, mac), 0);
	hex_encode(mac, sizeof(mac), hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

static void
test_equal(void **state)
{
	assert_int_equal(crypto_equal("abcd", "abcd", 4), 1);
	assert_int_equal(crypto_equal("abcd", "abce", 4), 0);
	assert_int_equal(crypto_equal("xbcd", "abcd", 4), 0);
	assert_int_equal(crypto_equal("a", "b", 0), 1);
}

static void
test_kdf(void **state)
{
	char	h[KDF_HASH_MAX], h2[KDF_HASH_MAX], pw[OCTO_PASSWORD_MAX + 2];

	assert_int_equal(kdf_hash("s3cret", KDF_ITERATIONS_MIN, h, sizeof(h)),
	    0);
	assert_non_null(strstr(h, "pbkdf2-sha256$1000$"));
	assert_int_equal(strlen(h), strlen("pbkdf2-sha256$1000$") + 64 + 1 +
	    64);
	assert_int_equal(kdf_verify("s3cret", h), 1);
	assert_int_equal(kdf_verify("s3creT", h), 0);
	assert_int_equal(kdf_verify("", h), 0);
	/* fresh salt every time */
	assert_int_equal(kdf_hash("s3cret", KDF_ITERATIONS_MIN, h2,
	    sizeof(h2)), 0);
	assert_string_not_equal(h, h2);
	/* iteration bounds */
	assert_int_equal(kdf_hash("x", KDF_ITERATIONS_MIN - 1, h2,
	    sizeof(h2)), -1);
	assert_int_equal(kdf_hash("x", 10000001, h2, sizeof(h2)), -1);
	/* output too small */
	assert_int_equal(kdf_hash("x", KDF_ITERATIONS_MIN, h2, 20), -1);
	/* longest password */
	memset(pw, 'p', sizeof(pw));
	pw[OCTO_PASSWORD_MAX] = '\0';
	assert_int_equal(kdf_hash(pw, KDF_ITERATIONS_MIN, h2, sizeof(h2)), 0);
	assert_int_equal(kdf_verify(pw, h2), 1);
	pw[OCTO_PASSWORD_MAX] = 'p';
	pw[OCTO_PASSWORD_MAX + 1] = '\0';
	assert_int_equal(kdf_hash(pw, KDF_ITERATIONS_MIN, h2, sizeof(h2)), -1);
	assert_int_equal(kdf_verify(pw, h), 0);
}

static void
test_kdf_malformed(void **state)
{
	char	h[KDF_HASH_MAX], bad[KDF_HASH_MAX + 16];
	char	*salt;

	assert_int_equal(kdf_hash("pw", KDF_ITERATIONS_MIN, h, sizeof(h)), 0);
	salt = strchr(h + strlen("pbkdf2-sha256$"), '$') + 1;

	assert_int_equal(kdf_verify("pw", ""), -1);
	assert_int_equal(kdf_verify("pw", "pbkdf2-sha256$"), -1);
	assert_int_equal(kdf_verify("pw", "plain"), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha1$1000$%s", salt);
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha256$999$%s", salt);
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha256$01000$%s", salt);
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha256$+1000$%s", salt);
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha256$10000001$%s", salt);
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha256$99999999999$%s", salt);
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "pbkdf2-sha256$1000%s", salt - 1);
	bad[strlen(bad) - 1] = '\0';			/* hash one short */
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "%s0", h);		/* hash one long */
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "%s", h);
	bad[strlen(bad) - 1] = 'g';			/* not hex */
	assert_int_equal(kdf_verify("pw", bad), -1);
	snprintf(bad, sizeof(bad), "%s", h);
	salt = strchr(bad + strlen("pbkdf2-sha256$"), '$') + 1;
	salt[10] = '$';					/* short salt */
	assert_int_equal(kdf_verify("pw", bad), -1);
	assert_int_equal(kdf_verify("pw", NULL), -1);
	assert_int_equal(kdf_verify(NULL, h), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_hmac),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_kdf),
		cmocka_unit_test(test_kdf_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
