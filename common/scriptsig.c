/*
 * Signatures of managed scripts (scriptsig.h): Ed25519 through OpenSSL 3
 * (EVP_DigestSign/EVP_DigestVerify with no digest: Ed25519 hashes the
 * message itself).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "proto.h"
#include "scriptsig.h"

/* label NUL name NUL version NUL */
static int
head(struct buf *out, const char *label, const char *name, uint32_t version)
{
	char	v[16];
	int	n;

	if (!proto_script_name_valid(name) || version == 0)
		return -1;
	n = snprintf(v, sizeof(v), "%u", (unsigned)version);
	if (n < 0 || (size_t)n >= sizeof(v))
		return -1;
	if (buf_append(out, label, strlen(label) + 1) == -1 ||
	    buf_append(out, name, strlen(name) + 1) == -1 ||
	    buf_append(out, v, (size_t)n + 1) == -1)
		return -1;
	return 0;
}

int
scriptsig_put_message(struct buf *out, const char *name, uint32_t version,
    const char *sha256hex, const void *body, size_t bodylen)
{
	if (!proto_fingerprint_valid(sha256hex) || bodylen > SCRIPTSIG_BODY_MAX ||
	    (bodylen > 0 && body == NULL))
		return -1;
	if (head(out, SCRIPTSIG_PUT_LABEL, name, version) == -1 ||
	    buf_append(out, sha256hex, SCRIPTSIG_HEX_LEN + 1) == -1 ||
	    (bodylen > 0 && buf_append(out, body, bodylen) == -1))
		return -1;
	return 0;
}

int
scriptsig_delete_message(struct buf *out, const char *name, uint32_t version)
{
	return head(out, SCRIPTSIG_DELETE_LABEL, name, version);
}

int
scriptsig_sign(EVP_PKEY *key, const void *msg, size_t len,
    uint8_t sig[SCRIPTSIG_LEN])
{
	EVP_MD_CTX	*ctx;
	size_t		 siglen = SCRIPTSIG_LEN;
	int		 rc = -1;

	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    (ctx = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, msg, len) == 1 &&
	    siglen == SCRIPTSIG_LEN)
		rc = 0;
	EVP_MD_CTX_free(ctx);
	return rc;
}

int
scriptsig_verify(const uint8_t pub[SCRIPTSIG_PUB_LEN], const void *msg,
    size_t len, const uint8_t sig[SCRIPTSIG_LEN])
{
	EVP_PKEY	*key;
	EVP_MD_CTX	*ctx;
	int		 ok = 0;

	if ((key = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    SCRIPTSIG_PUB_LEN)) == NULL)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) != NULL) {
		if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) == 1 &&
		    EVP_DigestVerify(ctx, sig, SCRIPTSIG_LEN, msg, len) == 1)
			ok = 1;
		EVP_MD_CTX_free(ctx);
	}
	EVP_PKEY_free(key);
	return ok;
}

int
scriptsig_sign_put(EVP_PKEY *key, const char *name, uint32_t version,
    const char *sha256hex, const void *body, size_t bodylen,
    uint8_t sig[SCRIPTSIG_LEN])
{
	struct buf	m;
	int		rc = -1;

	buf_init(&m, SCRIPTSIG_BODY_MAX + 256);
	if (scriptsig_put_message(&m, name, version, sha256hex, body,
	    bodylen) == 0)
		rc = scriptsig_sign(key, m.data, m.len, sig);
	buf_free(&m);
	return rc;
}

int
scriptsig_verify_put(const uint8_t pub[SCRIPTSIG_PUB_LEN], const char *name,
    uint32_t version, const char *sha256hex, const void *body,
    size_t bodylen, const uint8_t sig[SCRIPTSIG_LEN])
{
	struct buf	m;
	int		ok = 0;

	buf_init(&m, SCRIPTSIG_BODY_MAX + 256);
	if (scriptsig_put_message(&m, name, version, sha256hex, body,
	    bodylen) == 0)
		ok = scriptsig_verify(pub, m.data, m.len, sig);
	buf_free(&m);
	return ok;
}

int
scriptsig_sign_delete(EVP_PKEY *key, const char *name, uint32_t version,
    uint8_t sig[SCRIPTSIG_LEN])
{
	struct buf	m;
	int		rc = -1;

	buf_init(&m, 256);
	if (scriptsig_delete_message(&m, name, version) == 0)
		rc = scriptsig_sign(key, m.data, m.len, sig);
	buf_free(&m);
	return rc;
}

int
scriptsig_verify_delete(const uint8_t pub[SCRIPTSIG_PUB_LEN],
    const char *name, uint32_t version, const uint8_t sig[SCRIPTSIG_LEN])
{
	struct buf	m;
	int		ok = 0;

	buf_init(&m, 256);
	if (scriptsig_delete_message(&m, name, version) == 0)
		ok = scriptsig_verify(pub, m.data, m.len, sig);
	buf_free(&m);
	return ok;
}

int
scriptsig_sha256_hex(const void *body, size_t len,
    char out[SCRIPTSIG_HEX_LEN + 1])
{
	uint8_t	d[SHA256_LEN];

	if (crypto_sha256(body, len, d) == -1)
		return -1;
	hex_encode(d, sizeof(d), out);
	return 0;
}

EVP_PKEY *
scriptsig_keygen(void)
{
	EVP_PKEY_CTX	*ctx;
	EVP_PKEY	*key = NULL;

	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL)
		return NULL;
	if (EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &key) != 1)
		key = NULL;
	EVP_PKEY_CTX_free(ctx);
	return key;
}

int
scriptsig_public(EVP_PKEY *key, uint8_t pub[SCRIPTSIG_PUB_LEN])
{
	size_t	len = SCRIPTSIG_PUB_LEN;

	if (key == NULL || EVP_PKEY_get_id(key) != EVP_PKEY_ED25519 ||
	    EVP_PKEY_get_raw_public_key(key, pub, &len) != 1 ||
	    len != SCRIPTSIG_PUB_LEN)
		return -1;
	return 0;
}
