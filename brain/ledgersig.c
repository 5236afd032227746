/*
 * The ledger's checkpoint signatures (ledgersig.h): Ed25519 over
 * OpenSSL's raw keys.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "crypto.h"
#include "ledgersig.h"

static int
message(char *out, size_t len, const char *brain, int64_t length,
    const char *head)
{
	int	n;

	n = snprintf(out, len, "octopus-ledger-checkpoint\n%s\n%lld\n%s",
	    brain, (long long)length, head);
	return n < 0 || (size_t)n >= len ? -1 : n;
}

static int
public_of(const uint8_t priv[LEDGER_KEY_LEN], uint8_t pub[LEDGER_KEY_LEN])
{
	EVP_PKEY	*k;
	size_t		 len = LEDGER_KEY_LEN;
	int		 rc;

	if ((k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    LEDGER_KEY_LEN)) == NULL)
		return -1;
	rc = EVP_PKEY_get_raw_public_key(k, pub, &len) == 1 &&
	    len == LEDGER_KEY_LEN ? 0 : -1;
	EVP_PKEY_free(k);
	return rc;
}

int
ledger_key_load(const char *path, int may_make, uint8_t priv[LEDGER_KEY_LEN],
    uint8_t pub[LEDGER_KEY_LEN], int *made, char *err, size_t errlen)
{
	char	hex[LEDGER_KEY_LEN * 2 + 2];
	ssize_t	n;
	int	fd;

	*made = 0;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno != ENOENT || !may_make) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			return -1;
		}
		if (crypto_random(priv, LEDGER_KEY_LEN) == -1)
			goto bad;
		hex_encode(priv, LEDGER_KEY_LEN, hex);
		hex[LEDGER_KEY_LEN * 2] = '\n';
		if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
		    O_NOFOLLOW, 0600)) == -1 ||
		    write(fd, hex, LEDGER_KEY_LEN * 2 + 1) !=
		    LEDGER_KEY_LEN * 2 + 1 || fsync(fd) == -1) {
			snprintf(err, errlen, "cannot write %s: %s", path,
			    strerror(errno));
			if (fd != -1)
				close(fd);
			crypto_wipe(hex, sizeof(hex));
			return -1;
		}
		close(fd);
		crypto_wipe(hex, sizeof(hex));
		*made = 1;
		return public_of(priv, pub) == -1 ? -1 : 0;
	}
	n = read(fd, hex, sizeof(hex));
	close(fd);
	if (n >= LEDGER_KEY_LEN * 2)
		hex[LEDGER_KEY_LEN * 2] = '\0';	/* its newline */
	if (n < LEDGER_KEY_LEN * 2 || hex_decode(hex, priv, LEDGER_KEY_LEN) ==
	    -1 || public_of(priv, pub) == -1) {
		crypto_wipe(hex, sizeof(hex));
		goto bad;
	}
	crypto_wipe(hex, sizeof(hex));
	return 0;
bad:
	snprintf(err, errlen, "%s: not a ledger key (64 hex digits)", path);
	return -1;
}

int
ledger_sign(const uint8_t priv[LEDGER_KEY_LEN], const char *brain,
    int64_t length, const char *head, char *sig_hex)
{
	EVP_PKEY	*k;
	EVP_MD_CTX	*ctx = NULL;
	uint8_t		 sig[LEDGER_SIG_LEN];
	size_t		 siglen = sizeof(sig);
	char		 msg[512];
	int		 n, rc = -1;

	if ((n = message(msg, sizeof(msg), brain, length, head)) == -1 ||
	    (k = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv,
	    LEDGER_KEY_LEN)) == NULL)
		return -1;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestSignInit(ctx, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestSign(ctx, sig, &siglen, (const uint8_t *)msg,
	    (size_t)n) == 1 && siglen == LEDGER_SIG_LEN) {
		hex_encode(sig, sizeof(sig), sig_hex);
		rc = 0;
	}
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return rc;
}

int
ledger_sig_ok(const uint8_t pub[LEDGER_KEY_LEN], const char *brain,
    int64_t length, const char *head, const char *sig_hex)
{
	EVP_PKEY	*k;
	EVP_MD_CTX	*ctx = NULL;
	uint8_t		 sig[LEDGER_SIG_LEN];
	char		 msg[512];
	int		 n, ok = 0;

	if (sig_hex == NULL || strlen(sig_hex) != LEDGER_SIG_LEN * 2 ||
	    hex_decode(sig_hex, sig, sizeof(sig)) == -1 ||
	    (n = message(msg, sizeof(msg), brain, length, head)) == -1 ||
	    (k = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub,
	    LEDGER_KEY_LEN)) == NULL)
		return 0;
	if ((ctx = EVP_MD_CTX_new()) != NULL &&
	    EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k) == 1 &&
	    EVP_DigestVerify(ctx, sig, sizeof(sig), (const uint8_t *)msg,
	    (size_t)n) == 1)
		ok = 1;
	EVP_MD_CTX_free(ctx);
	EVP_PKEY_free(k);
	return ok;
}
