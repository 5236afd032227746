/*
 * Small cryptographic helpers over OpenSSL: random bytes, hex, HMAC-SHA256,
 * SHA-256, constant-time comparison and the password KDF.
 */
#ifndef OCTO_CRYPTO_H
#define OCTO_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN	32

/* Cryptographically secure random bytes; -1 if the RNG failed. */
int	crypto_random(void *, size_t);
/* Random bytes as lowercase hex: out needs 2*n+1 bytes. */
int	crypto_random_hex(char *out, size_t n);

void	hex_encode(const void *in, size_t n, char *out);	/* 2n+1 */
/* Decode exactly 2*n hex digits into n bytes; -1 on any other input. */
int	hex_decode(const char *in, void *out, size_t n);

int	crypto_sha256(const void *, size_t, uint8_t out[SHA256_LEN]);
int	crypto_hmac_sha256(const void *key, size_t keylen, const void *msg,
	    size_t msglen, uint8_t out[SHA256_LEN]);

/* 1 if equal, 0 otherwise; time depends only on n. */
int	crypto_equal(const void *a, const void *b, size_t n);

/*
 * Password hashing: PBKDF2-HMAC-SHA256. The stored form is
 *	"pbkdf2-sha256$<iterations>$<salt hex>$<hash hex>"
 * so the iteration count can rise without breaking old hashes.
 */
#define KDF_ITERATIONS_DEFAULT	600000	/* OWASP 2023 for PBKDF2-SHA256 */
#define KDF_ITERATIONS_MIN	1000	/* lower only makes tests slower to
					   write, never faster to attack */
#define KDF_HASH_MAX		256

int	kdf_hash(const char *password, unsigned iterations, char *out,
	    size_t outlen);
/* 1 if the password matches, 0 if not, -1 if `stored` is malformed. */
int	kdf_verify(const char *password, const char *stored);

/*
 * The enrolment's key wrapping (proto.h, proto_enrol_wrap): X25519 (RFC
 * 7748), HKDF-SHA256 (RFC 5869) and AES-256-GCM, all from OpenSSL's EVP.
 */
#define X25519_LEN	32
#define AEAD_KEY_LEN	32
#define AEAD_NONCE_LEN	12
#define AEAD_TAG_LEN	16

/* A fresh key pair; -1 if the RNG or the library failed. */
int	crypto_x25519_keypair(uint8_t priv[X25519_LEN], uint8_t pub[X25519_LEN]);
/* The shared secret; -1 (and shared wiped) on a bad or low-order public
 * key, whose secret would be all zero. */
int	crypto_x25519(const uint8_t priv[X25519_LEN],
	    const uint8_t peer[X25519_LEN], uint8_t shared[X25519_LEN]);
int	crypto_hkdf_sha256(const void *salt, size_t saltlen, const void *ikm,
	    size_t ikmlen, const void *info, size_t infolen, void *out,
	    size_t outlen);
/* out gets len bytes of ciphertext then the 16-byte tag. */
int	crypto_aead_seal(const uint8_t key[AEAD_KEY_LEN],
	    const uint8_t nonce[AEAD_NONCE_LEN], const void *aad, size_t aadlen,
	    const void *in, size_t len, uint8_t *out);
/* in is ciphertext then tag (len counts both); out gets len - 16 bytes.
 * -1 if the tag does not verify (out wiped). */
int	crypto_aead_open(const uint8_t key[AEAD_KEY_LEN],
	    const uint8_t nonce[AEAD_NONCE_LEN], const void *aad, size_t aadlen,
	    const uint8_t *in, size_t len, uint8_t *out);

/* Wipe secrets (not optimised away). */
void	crypto_wipe(void *, size_t);

#endif
