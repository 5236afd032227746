/*
 * The tentacle's TLS private key, kept where the dropped user cannot
 * write: by default state_dir/private/tentacle.key, in a directory the
 * supervisor makes (0700, its own) inside state_dir (which is the user's).
 * Whatever the path, the key is used only when its directory is the
 * running user's (root's) and nobody else may write to it, and the key
 * itself is a regular file of that user, one link, mode 0600 (no access
 * for group or others), opened without following a link or blocking on a
 * FIFO; otherwise it is refused with the reason. A key of an older
 * tentacle found at state_dir/tentacle.key is moved there (the same
 * checks first). The certificate is public and stays in state_dir (the
 * register reads it); it too is read without following links or blocking.
 */
#ifndef OCTO_KEYFILE_H
#define OCTO_KEYFILE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <stddef.h>
#include <stdint.h>

#include "tentacle.h"
#include "tls.h"

#define KEYFILE_DIR		"private"	/* in state_dir */
#define KEYFILE_NAME		"tentacle.key"
#define KEYFILE_OLD		"tentacle.key"	/* in state_dir, before */
/* A PEM key or certificate chain is a few KiB. */
#define KEYFILE_MAX		(64 * 1024)

/* Pure: why a key with this fstat is refused (the reason in why), or 0
 * if it may be used by owner. */
int	keyfile_refused(const struct stat *st, uid_t owner, char *why,
	    size_t whylen);
/* Pure: why the key's directory is refused, or 0. */
int	keyfile_dir_refused(const struct stat *st, uid_t owner, char *why,
	    size_t whylen);

/* Read a file checked as above (secret: the key's checks; else only a
 * regular file) into *data (malloc'd; keyfile_free). 0, 1 if it does not
 * exist, -1 with err naming the path and the reason. */
int	keyfile_read_at(int dfd, const char *name, const char *shown,
	    int secret, uint8_t **data, size_t *len, char *err,
	    size_t errlen);
void	keyfile_free(uint8_t *data, size_t len);

/* The supervisor, at start: the key's directory (made when it is the
 * default), an old key moved in, the key and certificate generated when
 * neither exists (*generated then 1), the key checked. 0 or -1 with err. */
int	keyfile_prepare(const struct tentacle_conf *, const char *common_name,
	    int *generated, char *err, size_t errlen);

/* A TLS context from the certificate and the checked key. */
SSL_CTX	*keyfile_ctx(const struct tentacle_conf *, enum tls_role, char *err,
	    size_t errlen);

#endif
