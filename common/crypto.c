/*
 * Cryptographic helpers over OpenSSL 3.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include "crypto.h"
#include "limits.h"

#define KDF_PREFIX		"pbkdf2-sha256$"
#define KDF_SALT_LEN		32
#define KDF_ITERATIONS_MAX	10000000

int
crypto_random(void *p, size_t n)
{
	unsigned char	*c = p;
	int		 chunk;

	/* RAND_bytes takes an int. */
	while (n > 0) {
		chunk = n > 1 << 20 ? 1 << 20 : (int)n;
		if (RAND_bytes(c, chunk) != 1)
			return -1;
		c += chunk;
		n -= (size_t)chunk;
	}
	return 0;
}

int
crypto_random_hex(char *out, size_t n)
{
	unsigned char	*tmp;

	if ((tmp = malloc(n == 0 ? 1 : n)) == NULL)
		return -1;
	if (crypto_random(tmp, n) == -1) {
		free(tmp);
		return -1;
	}
	hex_encode(tmp, n, out);
	OPENSSL_cleanse(tmp, n);
	free(tmp);
	return 0;
}

void
hex_encode(const void *in, size_t n, char *out)
{
	static const char	 digits[] = "0123456789abcdef";
	const unsigned char	*p = in;
	size_t			 i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[p[i] >> 4];
		out[2 * i + 1] = digits[p[i] & 0xf];
	}
	out[2 * n] = '\0';
}

static int
hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
hex_decode(const char *in, void *out, size_t n)
{
	unsigned char	*o = out;
	size_t		 i;
	int		 hi, lo;

	if (in == NULL || strnlen(in, 2 * n + 1) != 2 * n)
		return -1;
	for (i = 0; i < n; i++) {
		if ((hi = hex_digit(in[2 * i])) == -1 ||
		    (lo = hex_digit(in[2 * i + 1])) == -1)
			return -1;
		o[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

int
crypto_sha256(const void *p, size_t n, uint8_t out[SHA256_LEN])
{
	unsigned int	len = 0;

	if (EVP_Digest(p, n, out, &len, EVP_sha256(), NULL) != 1 ||
	    len != SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
    size_t msglen, uint8_t out[SHA256_LEN])
{
	unsigned int	len = 0;

	if (keylen > INT32_MAX)
		return -1;
	if (HMAC(EVP_sha256(), key, (int)keylen, msg, msglen, out,
	    &len) == NULL || len != SHA256_LEN)
		return -1;
	return 0;
}

int
crypto_equal(const void *a, const void *b, size_t n)
{
	return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
	if (p != NULL)
		OPENSSL_cleanse(p, n);
}

static int
kdf_derive(const char *password, size_t pwlen, const uint8_t *salt,
    unsigned iterations, uint8_t out[SHA256_LEN])
{
	if (PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, KDF_SALT_LEN,
	    (int)iterations, EVP_sha256(), SHA256_LEN, out) != 1)
		return -1;
	return 0;
}

int
kdf_hash(const char *password, unsigned iterations, char *out,
    size_t outlen)
{
	uint8_t	salt[KDF_SALT_LEN], hash[SHA256_LEN];
	char	salthex[2 * KDF_SALT_LEN + 1], hashhex[2 * SHA256_LEN + 1];
	size_t	pwlen;
	int	n, ret = -1;

	if (password == NULL || out == NULL ||
	    iterations < KDF_ITERATIONS_MIN ||
	    iterations > KDF_ITERATIONS_MAX)
		return -1;
	if ((pwlen = strnlen(password, OCTO_PASSWORD_MAX + 1)) >
	    OCTO_PASSWORD_MAX)
		return -1;
	if (crypto_random(salt, sizeof(salt)) == -1 ||
	    kdf_derive(password, pwlen, salt, iterations, hash) == -1)
		goto done;
	hex_encode(salt, sizeof(salt), salthex);
	hex_encode(hash, sizeof(hash), hashhex);
	n = snprintf(out, outlen, KDF_PREFIX "%u$%s$%s", iterations, salthex,
	    hashhex);
	if (n < 0 || (size_t)n >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		goto done;
	}
	ret = 0;
 done:
	OPENSSL_cleanse(hash, sizeof(hash));
	OPENSSL_cleanse(hashhex, sizeof(hashhex));
	return ret;
}

int
kdf_verify(const char *password, const char *stored)
{
	uint8_t		 salt[KDF_SALT_LEN], want[SHA256_LEN];
	uint8_t		 got[SHA256_LEN];
	char		 salthex[2 * KDF_SALT_LEN + 1];
	const char	*p, *d;
	unsigned long	 iter = 0;
	size_t		 pwlen;
	int		 ret;

	if (stored == NULL || strnlen(stored, KDF_HASH_MAX) >= KDF_HASH_MAX)
		return -1;
	if (strncmp(stored, KDF_PREFIX, strlen(KDF_PREFIX)) != 0)
		return -1;
	p = stored + strlen(KDF_PREFIX);
	/* Iterations: decimal digits only, no sign, no leading zero. */
	if (*p < '1' || *p > '9')
		return -1;
	for (d = p; *d >= '0' && *d <= '9'; d++) {
		if (d - p >= 8)		/* more than 10,000,000 */
			return -1;
		iter = iter * 10 + (unsigned long)(*d - '0');
	}
	if (*d != '$' || iter < KDF_ITERATIONS_MIN ||
	    iter > KDF_ITERATIONS_MAX)
		return -1;
	p = d + 1;
	if ((d = strchr(p, '$')) == NULL || d - p != 2 * KDF_SALT_LEN)
		return -1;
	memcpy(salthex, p, 2 * KDF_SALT_LEN);
	salthex[2 * KDF_SALT_LEN] = '\0';
	if (hex_decode(salthex, salt, sizeof(salt)) == -1 ||
	    hex_decode(d + 1, want, sizeof(want)) == -1)
		return -1;

	if (password == NULL)
		return 0;
	if ((pwlen = strnlen(password, OCTO_PASSWORD_MAX + 1)) >
	    OCTO_PASSWORD_MAX)
		return 0;	/* never hashed, so never matches */
	if (kdf_derive(password, pwlen, salt, (unsigned)iter, got) == -1)
		return -1;
	ret = crypto_equal(got, want, sizeof(got));
	OPENSSL_cleanse(got, sizeof(got));
	OPENSSL_cleanse(want, sizeof(want));
	return ret;
}

/* ---- X25519, HKDF, AEAD: the enrolment's key wrapping ---------------- */

int
crypto_x25519_keypair(uint8_t priv[X25519_LEN], uint8_t pub[X25519_LEN])
{
	EVP_PKEY	*k;
	size_t		 n = X25519_LEN;

	if (crypto_random(priv, X25519_LEN) == -1)
		return -1;
	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    X25519_LEN)) == NULL)
		return -1;
	if (EVP_PKEY_get_raw_public_key(k, pub, &n) != 1 || n != X25519_LEN) {
		EVP_PKEY_free(k);
		return -1;
	}
	EVP_PKEY_free(k);
	return 0;
}

int
crypto_x25519(const uint8_t priv[X25519_LEN],
    const uint8_t peer[X25519_LEN], uint8_t shared[X25519_LEN])
{
	static const uint8_t	 zero[X25519_LEN];
	EVP_PKEY		*mine = NULL, *theirs = NULL;
	EVP_PKEY_CTX		*ctx = NULL;
	size_t			 n = X25519_LEN;
	int			 rc = -1;

	if ((mine = EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, NULL, priv,
	    X25519_LEN)) == NULL ||
	    (theirs = EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, NULL, peer,
	    X25519_LEN)) == NULL ||
	    (ctx = EVP_PKEY_CTX_new(mine, NULL)) == NULL ||
	    EVP_PKEY_derive_init(ctx) != 1 ||
	    EVP_PKEY_derive_set_peer(ctx, theirs) != 1 ||
	    EVP_PKEY_derive(ctx, shared, &n) != 1 || n != X25519_LEN)
		goto out;
	/* A low-order public key gives an all-zero secret: refuse it
	 * (RFC 7748 6.1), whatever the library did. */
	if (crypto_equal(shared, zero, X25519_LEN))
		goto out;
	rc = 0;
out:
	if (rc == -1)
		OPENSSL_cleanse(shared, X25519_LEN);
	EVP_PKEY_CTX_free(ctx);
	EVP_PKEY_free(mine);
	EVP_PKEY_free(theirs);
	return rc;
}

int
crypto_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm,
    size_t ikmlen, const void *info, size_t infolen, void *out,
    size_t outlen)
{
	EVP_PKEY_CTX	*ctx;
	size_t		 n = outlen;
	int		 rc = -1;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_HKDF, NULL)) == NULL)
		return -1;
	if (EVP_PKEY_derive_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_hkdf_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_salt(ctx, salt, (int)saltlen) == 1 &&
	    EVP_PKEY_CTX_set1_hkdf_key(ctx, ikm, (int)ikmlen) == 1 &&
	    EVP_PKEY_CTX_add1_hkdf_info(ctx, info, (int)infolen) == 1 &&
	    EVP_PKEY_derive(ctx, out, &n) == 1 && n == outlen)
		rc = 0;
	EVP_PKEY_CTX_free(ctx);
	return rc;
}

int
crypto_aead_seal(const uint8_t key[AEAD_KEY_LEN],
    const uint8_t nonce[AEAD_NONCE_LEN], const void *aad, size_t aadlen,
    const void *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	int		 n, rc = -1;

	if (len > INT32_MAX || aadlen > INT32_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_EncryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1 &&
	    EVP_EncryptUpdate(ctx, out, &n, in, (int)len) == 1 &&
	    (size_t)n == len &&
	    EVP_EncryptFinal_ex(ctx, out + n, &n) == 1 && n == 0 &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, AEAD_TAG_LEN,
	    out + len) == 1)
		rc = 0;
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}

int
crypto_aead_open(const uint8_t key[AEAD_KEY_LEN],
    const uint8_t nonce[AEAD_NONCE_LEN], const void *aad, size_t aadlen,
    const uint8_t *in, size_t len, uint8_t *out)
{
	EVP_CIPHER_CTX	*ctx;
	uint8_t		 tag[AEAD_TAG_LEN];
	int		 n, rc = -1;

	if (len < AEAD_TAG_LEN || len > INT32_MAX || aadlen > INT32_MAX ||
	    (ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	len -= AEAD_TAG_LEN;
	memcpy(tag, in + len, sizeof(tag));
	if (EVP_DecryptInit_ex(ctx, EVP_aes_256_gcm(), NULL, key, nonce) == 1 &&
	    EVP_DecryptUpdate(ctx, NULL, &n, aad, (int)aadlen) == 1 &&
	    EVP_DecryptUpdate(ctx, out, &n, in, (int)len) == 1 &&
	    (size_t)n == len &&
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, AEAD_TAG_LEN,
	    tag) == 1 &&
	    EVP_DecryptFinal_ex(ctx, out + n, &n) == 1)
		rc = 0;
	if (rc == -1)
		OPENSSL_cleanse(out, len);
	EVP_CIPHER_CTX_free(ctx);
	return rc;
}
