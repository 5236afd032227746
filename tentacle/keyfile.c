/*
 * The tentacle's TLS key where the dropped user cannot write (keyfile.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "crypto.h"
#include "keyfile.h"
#include "log.h"

int
keyfile_refused(const struct stat *st, uid_t owner, char *why, size_t whylen)
{
	if (!S_ISREG(st->st_mode))
		snprintf(why, whylen, "not a regular file");
	else if (st->st_uid != owner)
		snprintf(why, whylen, "owned by uid %u, not %u (the user "
		    "running the tentacle)", (unsigned)st->st_uid,
		    (unsigned)owner);
	else if (st->st_nlink != 1)
		snprintf(why, whylen, "has %u hard links, not 1",
		    (unsigned)st->st_nlink);
	else if ((st->st_mode & 077) != 0)
		snprintf(why, whylen, "mode %04o: must be 0600 (no access for "
		    "group or others)", (unsigned)(st->st_mode & 07777));
	else if (st->st_size > KEYFILE_MAX)
		snprintf(why, whylen, "larger than %d bytes", KEYFILE_MAX);
	else
		return 0;
	return -1;
}

int
keyfile_dir_refused(const struct stat *st, uid_t owner, char *why,
    size_t whylen)
{
	if (!S_ISDIR(st->st_mode))
		snprintf(why, whylen, "not a directory");
	else if (st->st_uid != owner)
		snprintf(why, whylen, "owned by uid %u, not %u (the user "
		    "running the tentacle): the key must lie where only that "
		    "user writes", (unsigned)st->st_uid, (unsigned)owner);
	else if ((st->st_mode & 022) != 0)
		snprintf(why, whylen, "mode %04o: writable by group or others",
		    (unsigned)(st->st_mode & 07777));
	else
		return 0;
	return -1;
}

void
keyfile_free(uint8_t *data, size_t len)
{
	if (data == NULL)
		return;
	crypto_wipe(data, len);
	free(data);
}

int
keyfile_read_at(int dfd, const char *name, const char *shown, int secret,
    uint8_t **data, size_t *len, char *err, size_t errlen)
{
	struct stat	 st;
	char		 why[256];
	uint8_t		*buf = NULL;
	size_t		 n = 0;
	ssize_t		 r;
	int		 fd;

	*data = NULL;
	*len = 0;
	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC | O_NOCTTY)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: refused: %s", shown, errno ==
		    ELOOP ? "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		goto fail;
	}
	if (secret && keyfile_refused(&st, geteuid(), why, sizeof(why))) {
		snprintf(err, errlen, "%s: refused: %s", shown, why);
		goto fail;
	}
	if (!secret && (!S_ISREG(st.st_mode) || st.st_size > KEYFILE_MAX)) {
		snprintf(err, errlen, "%s: refused: %s", shown,
		    !S_ISREG(st.st_mode) ? "not a regular file" :
		    "too large");
		goto fail;
	}
	if ((buf = malloc(KEYFILE_MAX)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", shown);
		goto fail;
	}
	while (n < KEYFILE_MAX) {
		r = read(fd, buf + n, KEYFILE_MAX - n);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s: %s", shown, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	if (n == KEYFILE_MAX) {
		snprintf(err, errlen, "%s: refused: larger than %d bytes",
		    shown, KEYFILE_MAX);
		goto fail;
	}
	close(fd);
	*data = buf;
	*len = n;
	return 0;
 fail:
	keyfile_free(buf, KEYFILE_MAX);
	close(fd);
	return -1;
}

/* dir and base name of path (no trailing slash). */
static int
split(const char *path, char *dir, size_t dirlen, const char **base)
{
	const char	*slash = strrchr(path, '/');

	if (slash == NULL || slash[1] == '\0')
		return -1;
	if (slash == path)
		strlcpy(dir, "/", dirlen);
	else if ((size_t)(slash - path) >= dirlen)
		return -1;
	else
		strlcpy(dir, path, (size_t)(slash - path) + 1);
	*base = slash + 1;
	return 0;
}

/* The key's directory, checked: a descriptor, or -1 with err. With
 * create, made (0700) when it does not exist. */
static int
dir_open(const char *key, int create, const char **base, char *err,
    size_t errlen)
{
	char		dir[OCTO_PATH_MAX], why[256];
	struct stat	st;
	int		fd;

	if (split(key, dir, sizeof(dir), base) == -1) {
		snprintf(err, errlen, "key %s: not a file path", key);
		return -1;
	}
	if (create && mkdir(dir, 0700) == 0)
		log_info("made %s for the TLS key (only this user writes "
		    "there)", dir);
	else if (create && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "TLS key %s: its directory %s is refused: "
		    "%s", key, dir, errno == ELOOP || errno == ENOTDIR ?
		    "not a directory (a symbolic link?)" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 ||
	    keyfile_dir_refused(&st, geteuid(), why, sizeof(why))) {
		snprintf(err, errlen, "TLS key %s: its directory %s is refused: "
		    "%s", key, dir, why);
		close(fd);
		return -1;
	}
	return fd;
}

/* The default layout: key = state_dir/private/tentacle.key. */
static int
is_default(const struct tentacle_conf *conf)
{
	char	want[OCTO_PATH_MAX + 64];

	snprintf(want, sizeof(want), "%s/%s/%s", conf->state_dir, KEYFILE_DIR,
	    KEYFILE_NAME);
	return strcmp(conf->key, want) == 0;
}

/* Write data as name in dfd: a temporary file, fsync, rename. */
static int
write_at(int dfd, const char *name, const uint8_t *data, size_t len,
    const char *shown, char *err, size_t errlen)
{
	char	tmp[OCTO_PATH_MAX];
	size_t	off = 0;
	ssize_t	w;
	int	fd;

	snprintf(tmp, sizeof(tmp), "%s.new", name);
	unlinkat(dfd, tmp, 0);
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		return -1;
	}
	while (off < len) {
		if ((w = write(fd, data + off, len - off)) == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	if (off < len || fsync(fd) == -1 || close(fd) == -1) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		if (off < len)
			close(fd);
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	if (renameat(dfd, tmp, dfd, name) == -1) {
		snprintf(err, errlen, "%s: %s", shown, strerror(errno));
		unlinkat(dfd, tmp, 0);
		return -1;
	}
	fsync(dfd);
	return 0;
}

/*
 * An older tentacle kept its key in state_dir, which the dropped user
 * owns: move it into the key's directory, once it passed the checks (a
 * regular file of ours, one link, 0600: the user cannot make one).
 */
static int
move_old_key(const struct tentacle_conf *conf, int dfd, const char *base,
    char *err, size_t errlen)
{
	char		 old[OCTO_PATH_MAX + 32], shown[OCTO_PATH_MAX + 48];
	char		 why[1024];
	struct stat	 st;
	uint8_t		*data;
	size_t		 len;
	int		 sfd, rc;

	if (fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    errno != ENOENT)
		return 0;	/* there already (checked when read) */
	snprintf(old, sizeof(old), "%s/%s", conf->state_dir, KEYFILE_OLD);
	if ((sfd = open(conf->state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", conf->state_dir,
		    strerror(errno));
		return -1;
	}
	snprintf(shown, sizeof(shown), "TLS key %s", old);
	if ((rc = keyfile_read_at(sfd, KEYFILE_OLD, shown, 1, &data, &len, why,
	    sizeof(why))) == 1) {
		close(sfd);
		return 0;	/* nothing to move: a new tentacle */
	}
	if (rc == -1) {
		snprintf(err, errlen, "%s; not moved to %s: remove it to make "
		    "a new key, or put the right one there", why, conf->key);
		close(sfd);
		return -1;
	}
	rc = write_at(dfd, base, data, len, conf->key, err, errlen);
	keyfile_free(data, len);
	if (rc == 0) {
		if (unlinkat(sfd, KEYFILE_OLD, 0) == -1)
			log_warn("%s: cannot remove it after moving it", old);
		log_info("moved the TLS key %s to %s (only this user writes "
		    "there)", old, conf->key);
	}
	close(sfd);
	return rc;
}

int
keyfile_prepare(const struct tentacle_conf *conf, const char *common_name,
    int *generated, char *err, size_t errlen)
{
	char		 path[64];
	const char	*base;
	struct stat	 st;
	int		 dfd, have_key, have_cert, rc = -1;

	*generated = 0;
	if ((dfd = dir_open(conf->key, is_default(conf), &base, err,
	    errlen)) == -1)
		return -1;
	if (is_default(conf) && move_old_key(conf, dfd, base, err,
	    errlen) == -1)
		goto done;
	have_key = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	have_cert = lstat(conf->cert, &st) == 0;
	if (have_key && have_cert)
		rc = 0;
	else if (have_cert)
		snprintf(err, errlen, "certificate %s exists but its key %s is "
		    "missing", conf->cert, conf->key);
	else if (have_key)
		snprintf(err, errlen, "key %s exists but its certificate %s is "
		    "missing", conf->key, conf->cert);
	else {
		/* Made through the directory checked, whatever happens to
		 * its path meanwhile. */
		snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dfd, base);
		if (strlen(base) > sizeof(path) - 24)
			snprintf(err, errlen, "key %s: name too long",
			    conf->key);
		else
			rc = tls_ensure_cert(conf->cert, path, common_name,
			    generated, err, errlen);
	}
 done:
	close(dfd);
	return rc;
}

SSL_CTX *
keyfile_ctx(const struct tentacle_conf *conf, enum tls_role role, char *err,
    size_t errlen)
{
	const char	*base;
	uint8_t		*cert = NULL, *key = NULL;
	size_t		 certlen = 0, keylen = 0;
	SSL_CTX		*ctx = NULL;
	char		 shown[OCTO_PATH_MAX + 16];
	int		 dfd, rc;

	if ((dfd = dir_open(conf->key, 0, &base, err, errlen)) == -1)
		return NULL;
	snprintf(shown, sizeof(shown), "TLS key %s", conf->key);
	rc = keyfile_read_at(dfd, base, shown, 1, &key, &keylen, err,
	    errlen);
	close(dfd);
	if (rc == 1)
		snprintf(err, errlen, "%s: missing", shown);
	if (rc != 0)
		return NULL;
	snprintf(shown, sizeof(shown), "certificate %s", conf->cert);
	if ((rc = keyfile_read_at(AT_FDCWD, conf->cert, shown, 0, &cert,
	    &certlen, err, errlen)) == 1)
		snprintf(err, errlen, "%s: missing", shown);
	if (rc == 0)
		ctx = tls_ctx_new_pem(role, cert, certlen, key, keylen, err,
		    errlen);
	keyfile_free(cert, certlen);
	keyfile_free(key, keylen);
	return ctx;
}
