/*
 * TOTP (RFC 6238 over RFC 4226's HOTP): HMAC-SHA1, 6 digits, steps of
 * 30 s, the secret in base32 (RFC 4648) for authenticator apps. Pure code
 * (the maestro checks codes; the secrets never leave it), unit-tested
 * against the RFCs' vectors.
 */
#ifndef OCTO_TOTP_H
#define OCTO_TOTP_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define TOTP_SECRET_LEN		20	/* bytes: SHA-1's size (RFC 4226 4) */
#define TOTP_SECRET_B32_LEN	32	/* 20 bytes in base32, no padding */
#define TOTP_DIGITS		6
#define TOTP_STEP		30	/* seconds */
#define TOTP_SKEW		1	/* steps either side accepted */
#define TOTP_URI_MAX		256
#define TOTP_ISSUER		"Octopus"

/* The code of step (RFC 4226 5.3) into out (TOTP_DIGITS + 1 bytes): 0,
 * or -1 if HMAC fails. */
int	totp_code(const uint8_t *key, size_t keylen, uint64_t step, char *out);
/* The step of a time: floor(now / TOTP_STEP). */
uint64_t totp_step(time_t now);
/*
 * Whether code is the code of a step within TOTP_SKEW of now's that is
 * later than last_step (a code counts once): 1 with the step that matched
 * in *matched, 0 if none, -1 on error. Every candidate is computed and
 * compared in constant time.
 */
int	totp_verify(const uint8_t *key, size_t keylen, const char *code,
	    time_t now, uint64_t last_step, uint64_t *matched);
/* Whether s is TOTP_DIGITS decimal digits. */
int	totp_code_valid(const char *s);
/* Base32 of n bytes without padding into out (outlen > 8n/5 + 1): 0, or
 * -1 if it does not fit. */
int	totp_base32(const uint8_t *in, size_t n, char *out, size_t outlen);
/* otpauth://totp/ISSUER:account?secret=...&issuer=ISSUER&... for an
 * account name of [A-Za-z0-9._-] (a user name: nothing to escape): 0, or
 * -1 if the name has other characters or it does not fit. */
int	totp_uri(const char *account, const char *secret_b32, char *out,
	    size_t outlen);

#endif
