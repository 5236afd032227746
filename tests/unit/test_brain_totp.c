/* totp: RFC 4226's and RFC 6238's vectors (SHA-1), skew, replay, base32,
 * the otpauth URI. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "totp.h"

static const uint8_t	key[] = "12345678901234567890";
#define KEYLEN		20

static void
test_hotp_vectors(void **state)
{
	static const char *want[] = { "755224", "287082", "359152", "969429",
	    "338314", "254676", "287922", "162583", "399871", "520489" };
	char	code[TOTP_DIGITS + 1];
	size_t	i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		assert_int_equal(totp_code(key, KEYLEN, i, code), 0);
		assert_string_equal(code, want[i]);
	}
}

static void
test_totp_vectors(void **state)
{
	/* RFC 6238 appendix B, SHA-1, the last 6 of the 8 digits. */
	static const struct { time_t t; const char *code; } v[] = {
		{ 59, "287082" }, { 1111111109, "081804" },
		{ 1111111111, "050471" }, { 1234567890, "005924" },
		{ 2000000000, "279037" },
	};
	char	code[TOTP_DIGITS + 1];
	size_t	i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		assert_int_equal(totp_code(key, KEYLEN, totp_step(v[i].t),
		    code), 0);
		assert_string_equal(code, v[i].code);
	}
}

static void
test_verify_skew_and_replay(void **state)
{
	uint64_t	step = 0;
	time_t		t = 1111111109;	/* step 37037036: "081804" */

	assert_int_equal(totp_verify(key, KEYLEN, "081804", t, 0, &step), 1);
	assert_int_equal(step, 37037036);
	/* One step either side is accepted, two are not. */
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t + 30, 0, &step),
	    1);
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t - 30, 0, &step),
	    1);
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t + 60, 0, &step),
	    0);
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t - 60, 0, &step),
	    0);
	/* Used once: that step and earlier ones are refused. */
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t, 37037036,
	    &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t, 37037037,
	    &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "081804", t, 37037035,
	    &step), 1);
	/* Not a code. */
	assert_int_equal(totp_verify(key, KEYLEN, "81804", t, 0, &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "0818040", t, 0, &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "08180a", t, 0, &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "", t, 0, &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "000000", t, 0, &step), 0);
	/* Time 0: no step before the first. */
	assert_int_equal(totp_verify(key, KEYLEN, "755224", 0, 0, &step), 0);
	assert_int_equal(totp_verify(key, KEYLEN, "287082", 0, 0, &step), 1);
	assert_int_equal(step, 1);
}

static void
test_base32(void **state)
{
	char	out[TOTP_SECRET_B32_LEN + 1];

	assert_int_equal(totp_base32(key, KEYLEN, out, sizeof(out)), 0);
	assert_string_equal(out, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	assert_int_equal(totp_base32((const uint8_t *)"f", 1, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "MY");
	assert_int_equal(totp_base32((const uint8_t *)"fooba", 5, out,
	    sizeof(out)), 0);
	assert_string_equal(out, "MZXW6YTB");
	assert_int_equal(totp_base32(key, KEYLEN, out, TOTP_SECRET_B32_LEN),
	    -1);
}

static void
test_uri(void **state)
{
	char	out[TOTP_URI_MAX];

	assert_int_equal(totp_uri("alice", "GEZDGNBV", out, sizeof(out)), 0);
	assert_string_equal(out, "otpauth://totp/Octopus:alice?secret="
	    "GEZDGNBV&issuer=Octopus&algorithm=SHA1&digits=6&period=30");
	assert_int_equal(totp_uri("a&b", "GEZDGNBV", out, sizeof(out)), -1);
	assert_int_equal(totp_uri("a b", "GEZDGNBV", out, sizeof(out)), -1);
	assert_int_equal(totp_uri("", "GEZDGNBV", out, sizeof(out)), -1);
	assert_int_equal(totp_uri("alice", "GEZDGNBV", out, 20), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hotp_vectors),
		cmocka_unit_test(test_totp_vectors),
		cmocka_unit_test(test_verify_skew_and_replay),
		cmocka_unit_test(test_base32),
		cmocka_unit_test(test_uri),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
