/*
 * Signatures of the scripts the brain manages (issue 14). The brain's
 * maestro holds an Ed25519 key (its children never do) and signs, for
 * each version of a script, the bytes
 *
 *	put:	"octopus-script-put-v1" NUL name NUL version NUL sha256 NUL
 *		body
 *	delete:	"octopus-script-delete-v1" NUL name NUL version NUL
 *
 * where version is the decimal form of the version number (1, 2, ...: no
 * sign, no leading zero), sha256 the 64 lowercase hex digits of the body's
 * SHA-256 and body the script's exact bytes. A tentacle checks a signature
 * with the brain's 32-byte raw public key, pinned at enrolment (or from a
 * SIGNKEY, proto.h), and only then writes or deletes the file. The
 * message is built by one function for both sides, so they cannot
 * disagree on it.
 */
#ifndef OCTO_SCRIPTSIG_H
#define OCTO_SCRIPTSIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <openssl/evp.h>

#include "buf.h"
#include "proto.h"

#define SCRIPTSIG_PUB_LEN	PROTO_SIGN_PUB_LEN	/* Ed25519, raw */
#define SCRIPTSIG_LEN		PROTO_SCRIPT_SIG_LEN	/* Ed25519 */
#define SCRIPTSIG_HEX_LEN	64	/* a body's SHA-256 as hex */
#define SCRIPTSIG_BODY_MAX	PROTO_SCRIPT_BODY_MAX
#define SCRIPTSIG_PUT_LABEL	"octopus-script-put-v1"
#define SCRIPTSIG_DELETE_LABEL	"octopus-script-delete-v1"

/* The signed bytes, appended to out (its limit must allow the body):
 * 0, or -1 if a field is out of shape (a name the protocol refuses,
 * version 0, a hash that is not 64 lowercase hex digits, a body over
 * SCRIPTSIG_BODY_MAX) or out is full. */
int	scriptsig_put_message(struct buf *out, const char *name,
	    uint32_t version, const char *sha256hex, const void *body,
	    size_t bodylen);
int	scriptsig_delete_message(struct buf *out, const char *name,
	    uint32_t version);

/* Ed25519 signature of msg with key (an EVP_PKEY of type ED25519): 0, or
 * -1. */
int	scriptsig_sign(EVP_PKEY *key, const void *msg, size_t len,
	    uint8_t sig[SCRIPTSIG_LEN]);
/* 1 if sig is pub's signature of msg, 0 if not (or pub is no key). */
int	scriptsig_verify(const uint8_t pub[SCRIPTSIG_PUB_LEN],
	    const void *msg, size_t len, const uint8_t sig[SCRIPTSIG_LEN]);

/* The same over a put or a delete, building the message: 0 / -1; 1 / 0. */
int	scriptsig_sign_put(EVP_PKEY *key, const char *name, uint32_t version,
	    const char *sha256hex, const void *body, size_t bodylen,
	    uint8_t sig[SCRIPTSIG_LEN]);
int	scriptsig_verify_put(const uint8_t pub[SCRIPTSIG_PUB_LEN],
	    const char *name, uint32_t version, const char *sha256hex,
	    const void *body, size_t bodylen, const uint8_t sig[SCRIPTSIG_LEN]);
int	scriptsig_sign_delete(EVP_PKEY *key, const char *name,
	    uint32_t version, uint8_t sig[SCRIPTSIG_LEN]);
int	scriptsig_verify_delete(const uint8_t pub[SCRIPTSIG_PUB_LEN],
	    const char *name, uint32_t version,
	    const uint8_t sig[SCRIPTSIG_LEN]);

/* The body's SHA-256 as 64 lowercase hex digits: 0, or -1. */
int	scriptsig_sha256_hex(const void *body, size_t len,
	    char out[SCRIPTSIG_HEX_LEN + 1]);

/* A new Ed25519 key (the brain's, at first start): NULL on failure. Its
 * raw public key: 0, or -1. */
EVP_PKEY *scriptsig_keygen(void);
int	scriptsig_public(EVP_PKEY *key, uint8_t pub[SCRIPTSIG_PUB_LEN]);

#endif
