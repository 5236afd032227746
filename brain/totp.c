/*
 * TOTP codes (totp.h): RFC 4226's dynamic truncation of an HMAC-SHA1 that
 * OpenSSL computes, over the step count of RFC 6238.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "crypto.h"
#include "totp.h"

int
totp_code(const uint8_t *key, size_t keylen, uint64_t step, char *out)
{
	uint8_t		msg[8], mac[EVP_MAX_MD_SIZE];
	unsigned	maclen = 0, off;
	uint32_t	bin;
	int		i;

	for (i = 7; i >= 0; i--) {
		msg[i] = step & 0xff;
		step >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), mac,
	    &maclen) == NULL || maclen != 20)
		return -1;
	off = mac[19] & 0x0f;
	bin = ((uint32_t)(mac[off] & 0x7f) << 24) |
	    ((uint32_t)mac[off + 1] << 16) | ((uint32_t)mac[off + 2] << 8) |
	    mac[off + 3];
	snprintf(out, TOTP_DIGITS + 1, "%06u", bin % 1000000);
	crypto_wipe(mac, sizeof(mac));
	return 0;
}

uint64_t
totp_step(time_t now)
{
	return now < 0 ? 0 : (uint64_t)now / TOTP_STEP;
}

int
totp_code_valid(const char *s)
{
	size_t	i;

	for (i = 0; i < TOTP_DIGITS; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return s[i] == '\0';
}

int
totp_verify(const uint8_t *key, size_t keylen, const char *code,
    time_t now, uint64_t last_step, uint64_t *matched)
{
	char		want[TOTP_DIGITS + 1];
	uint64_t	now_step = totp_step(now), step, found = 0;
	int		d, ok = 0;

	if (!totp_code_valid(code))
		return 0;
	for (d = -TOTP_SKEW; d <= TOTP_SKEW; d++) {
		if (d < 0 && now_step < (uint64_t)-d)
			continue;
		step = now_step + d;
		if (totp_code(key, keylen, step, want) == -1)
			return -1;
		/* All candidates compared; the latest match wins. */
		if (crypto_equal(want, code, TOTP_DIGITS) && step > last_step) {
			found = step;
			ok = 1;
		}
	}
	crypto_wipe(want, sizeof(want));
	if (ok)
		*matched = found;
	return ok;
}

int
totp_base32(const uint8_t *in, size_t n, char *out, size_t outlen)
{
	static const char	alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
	uint32_t		acc = 0;
	size_t			i, o = 0;
	int			bits = 0;

	if (outlen < (n * 8 + 4) / 5 + 1)
		return -1;
	for (i = 0; i < n; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = alphabet[(acc >> (bits - 5)) & 0x1f];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = alphabet[(acc << (5 - bits)) & 0x1f];
	out[o] = '\0';
	return 0;
}

int
totp_uri(const char *account, const char *secret_b32, char *out,
    size_t outlen)
{
	const char	*c;
	int		 n;

	if (account[0] == '\0')
		return -1;
	for (c = account; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
		    *c == '-'))
			return -1;
	n = snprintf(out, outlen, "otpauth://totp/%s:%s?secret=%s&issuer=%s"
	    "&algorithm=SHA1&digits=%d&period=%d", TOTP_ISSUER, account,
	    secret_b32, TOTP_ISSUER, TOTP_DIGITS, TOTP_STEP);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}
