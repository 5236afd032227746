/*
 * The script-signing key (issue 14): Ed25519, made at first start in
 * state_dir beside the brain's TLS key (SCRIPTKEY_FILE, PKCS#8 PEM, 0600),
 * read by the maestro before it starts any child and held in its memory
 * only (the descriptor is closed at once; children are executed afresh
 * and inherit neither). It signs every version of a managed script and
 * every deletion (common/scriptsig.h fixes the signed bytes).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "crypto.h"
#include "log.h"
#include "maestro.h"
#include "scriptsig.h"

#define SCRIPTKEY_PEM_MAX	4096	/* an Ed25519 PKCS#8 PEM is ~120 */

static EVP_PKEY	*key;
static uint8_t	 pub[SCRIPTSIG_PUB_LEN];

/* Write a new key to path (0600, atomically): 0, or -1 with err. */
static int
scriptkey_make(const char *path, char *err, size_t errlen)
{
	EVP_PKEY	*k;
	BIO		*b = NULL;
	char		 tmp[OCTO_PATH_MAX + 8];
	char		*pem;
	long		 len;
	int		 fd = -1, rc = -1;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((k = scriptsig_keygen()) == NULL ||
	    (b = BIO_new(BIO_s_mem())) == NULL ||
	    PEM_write_bio_PrivateKey(b, k, NULL, NULL, 0, NULL, NULL) != 1 ||
	    (len = BIO_get_mem_data(b, &pem)) <= 0) {
		snprintf(err, errlen, "cannot make a script-signing key");
		goto out;
	}
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1 ||
	    write(fd, pem, (size_t)len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1 || (fd = -1, rename(tmp, path) == -1)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd != -1)
			close(fd);
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	BIO_free(b);		/* a mem BIO: its buffer is cleared on free */
	EVP_PKEY_free(k);
	return rc;
}

int
scriptkey_load(const char *path, char *err, size_t errlen)
{
	struct stat	 st;
	char		 pem[SCRIPTKEY_PEM_MAX];
	ssize_t		 n;
	BIO		*b;
	int		 fd, made = 0;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY)) ==
	    -1 && errno == ENOENT) {
		if (scriptkey_make(path, err, errlen) == -1)
			return -1;
		made = 1;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
	}
	if (fd == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (st.st_mode & 077) != 0 || st.st_size <= 0 ||
	    st.st_size >= (off_t)sizeof(pem)) {
		close(fd);
		snprintf(err, errlen, "%s: not a private key file of mode 0600 "
		    "(the brain's script-signing key)", path);
		return -1;
	}
	n = read(fd, pem, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		snprintf(err, errlen, "%s: cannot read it whole", path);
		return -1;
	}
	b = BIO_new_mem_buf(pem, (int)n);
	key = b ? PEM_read_bio_PrivateKey(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	crypto_wipe(pem, sizeof(pem));
	if (key == NULL || scriptsig_public(key, pub) == -1) {
		scriptkey_free();
		snprintf(err, errlen, "%s: not an Ed25519 private key", path);
		return -1;
	}
	if (made)
		log_info("generated the script-signing key %s", path);
	return 0;
}

void
scriptkey_free(void)
{
	EVP_PKEY_free(key);
	key = NULL;
}

int
scriptkey_public(uint8_t out[SCRIPTSIG_PUB_LEN])
{
	if (key == NULL)
		return -1;
	memcpy(out, pub, SCRIPTSIG_PUB_LEN);
	return 0;
}

int
scriptkey_sign_put(const char *name, int64_t version, const char *sha256hex,
    const void *body, size_t len, char sig[SCRIPTKEY_SIG_HEX + 1])
{
	uint8_t	raw[SCRIPTSIG_LEN];

	if (key == NULL || version < 1 || version > UINT32_MAX ||
	    scriptsig_sign_put(key, name, (uint32_t)version, sha256hex, body,
	    len, raw) == -1) {
		log_warnx("cannot sign version %lld of script %s",
		    (long long)version, name);
		return -1;
	}
	hex_encode(raw, sizeof(raw), sig);
	return 0;
}

int
scriptkey_sign_delete(const char *name, int64_t version,
    char sig[SCRIPTKEY_SIG_HEX + 1])
{
	uint8_t	raw[SCRIPTSIG_LEN];

	if (key == NULL || version < 1 || version > UINT32_MAX ||
	    scriptsig_sign_delete(key, name, (uint32_t)version, raw) == -1) {
		log_warnx("cannot sign the deletion of script %s", name);
		return -1;
	}
	hex_encode(raw, sizeof(raw), sig);
	return 0;
}
