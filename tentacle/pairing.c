/*
 * The pairing code's file (pairing.h): state_dir/pairing-code, one line
 * "XXXX-XXXX-XXXX", mode 0600, owned by the supervisor; the time it was
 * made is the file's modification time. With privilege separation
 * state_dir is the dropped user's: what lies there is opened without
 * following links, without blocking (a FIFO), and used only if it is a
 * single-link regular file of ours that nobody else may read.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "crypto.h"
#include "pairing.h"

#define PAIRING_FILE_MAX	64	/* bytes read: the code and a newline */

static void
set_err(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s: %s: %s", path, what, strerror(errno));
}

int
pairing_wanted(const struct tentacle_conf *conf)
{
	return strcmp(conf->pairing, "off") != 0 && conf->brain[0] == '\0' &&
	    conf->brain_fingerprint[0] == '\0';
}

static int
pairing_path(const char *state_dir, const char *suffix, char *out,
    size_t outlen)
{
	int	n;

	n = snprintf(out, outlen, "%s/%s%s", state_dir, PAIRING_FILE, suffix);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
pairing_read(const char *state_dir, char code[PROTO_PAIRING_LEN + 1],
    time_t *made, char *err, size_t errlen)
{
	char		path[OCTO_PATH_MAX + 32], buf[PAIRING_FILE_MAX + 1];
	struct stat	st;
	ssize_t		n;
	int		fd, rc = 1;

	if (pairing_path(state_dir, "", path, sizeof(path)) == -1) {
		snprintf(err, errlen, "state_dir too long");
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
	    O_CLOEXEC)) == -1) {
		if (errno == ENOENT || errno == ELOOP)
			return 1;
		set_err(err, errlen, "cannot open", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		set_err(err, errlen, "fstat", path);
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1 ||
	    st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
		close(fd);
		return 1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		set_err(err, errlen, "read", path);
		return -1;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (proto_pairing_parse(buf, code) == 0) {
		*made = st.st_mtime;
		rc = 0;
	}
	crypto_wipe(buf, sizeof(buf));
	return rc;
}

int
pairing_write(const char *state_dir, const char code[PROTO_PAIRING_LEN + 1],
    char *err, size_t errlen)
{
	char	path[OCTO_PATH_MAX + 32], tmp[OCTO_PATH_MAX + 32];
	char	line[PROTO_PAIRING_SHOWN + 2];
	size_t	len;
	int	fd;

	if (pairing_path(state_dir, "", path, sizeof(path)) == -1 ||
	    pairing_path(state_dir, ".new", tmp, sizeof(tmp)) == -1) {
		snprintf(err, errlen, "state_dir too long");
		return -1;
	}
	proto_pairing_show(code, line);
	len = strlen(line);
	line[len++] = '\n';
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, 0600)) == -1) {
		set_err(err, errlen, "cannot create", tmp);
		return -1;
	}
	if (write(fd, line, len) != (ssize_t)len || fsync(fd) == -1) {
		set_err(err, errlen, "cannot write", tmp);
		close(fd);
		(void)unlink(tmp);
		crypto_wipe(line, sizeof(line));
		return -1;
	}
	crypto_wipe(line, sizeof(line));
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		set_err(err, errlen, "cannot replace", path);
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

void
pairing_remove(const char *state_dir)
{
	char	path[OCTO_PATH_MAX + 32];

	if (pairing_path(state_dir, "", path, sizeof(path)) == 0)
		(void)unlink(path);
}
