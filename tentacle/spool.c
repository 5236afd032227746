/*
 * The spool of results waiting for delivery (spool.h).
 */
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "crypto.h"
#include "daemon.h"
#include "log.h"
#include "pack.h"
#include "spool.h"

#define SPOOL_PREFIX	"job-"
#define SPOOL_SUFFIX	".result"

static void
set_err(char *err, size_t errlen, const char *what)
{
	if (errlen > 0)
		strlcpy(err, what, errlen);
}

int
spool_parse(const void *buf, size_t len, struct spool_result *res,
    char *err, size_t errlen)
{
	const uint8_t	*p = buf;
	struct unpacker	 u;
	struct msg_result *m = &res->r;
	uint8_t		 digest[SHA256_LEN], want[SHA256_LEN];
	uint32_t	 status, sig;
	size_t		 body;
	const char	*why;
	int		 v2, v3;

	memset(res, 0, sizeof(*res));
	if (len > SPOOL_FILE_MAX) {
		set_err(err, errlen, "file too large");
		return -1;
	}
	if (len < SPOOL_MAGIC_LEN || (memcmp(p, SPOOL_MAGIC,
	    SPOOL_MAGIC_LEN) != 0 && memcmp(p, SPOOL_MAGIC2,
	    SPOOL_MAGIC_LEN) != 0 && memcmp(p, SPOOL_MAGIC3,
	    SPOOL_MAGIC_LEN) != 0)) {
		set_err(err, errlen, "not a spool file (bad magic)");
		return -1;
	}
	/* The digest is the last field: 4 bytes of length, 32 bytes. */
	if (len < SPOOL_MAGIC_LEN + 4 + SHA256_LEN) {
		set_err(err, errlen, "truncated");
		return -1;
	}
	body = len - 4 - SHA256_LEN;
	unpack_init(&u, p, len);
	u.off = SPOOL_MAGIC_LEN;
	unpack_u64(&u, &m->job);
	unpack_u8(&u, &m->outcome);
	unpack_u32(&u, &status);
	unpack_u32(&u, &sig);
	unpack_u64(&u, &m->started_at_ms);
	unpack_u64(&u, &m->duration_ms);
	unpack_u8(&u, &m->truncated);
	unpack_bytes_ref(&u, &m->output, &m->output_len, PROTO_OUTPUT_MAX);
	v2 = memcmp(p, SPOOL_MAGIC2, SPOOL_MAGIC_LEN) == 0;
	v3 = memcmp(p, SPOOL_MAGIC3, SPOOL_MAGIC_LEN) == 0;
	if ((v2 || v3) && (unpack_str(&u, m->sha256, sizeof(m->sha256)) ==
	    -1 || (v2 && m->sha256[0] == '\0'))) {
		set_err(err, errlen, "bad script hash");
		memset(res, 0, sizeof(*res));
		return -1;
	}
	if (v3 && (unpack_fixed(&u, m->mac, sizeof(m->mac)) == -1 ||
	    !spool_has_mac(m))) {
		set_err(err, errlen, "bad MAC field");
		memset(res, 0, sizeof(*res));
		return -1;
	}
	if (u.err || u.off != body) {
		set_err(err, errlen, u.err ? "truncated or bad length" :
		    "bytes between the output and the digest");
		memset(res, 0, sizeof(*res));
		return -1;
	}
	unpack_fixed(&u, want, sizeof(want));
	if (unpack_end(&u) == -1) {
		set_err(err, errlen, "bad digest field");
		memset(res, 0, sizeof(*res));
		return -1;
	}
	if (crypto_sha256(p, body, digest) == -1 ||
	    !crypto_equal(digest, want, SHA256_LEN)) {
		set_err(err, errlen, "digest mismatch");
		memset(res, 0, sizeof(*res));
		return -1;
	}
	m->exit_status = (int32_t)status;
	m->signal = (int32_t)sig;
	if (!proto_result_valid(m, &why)) {
		set_err(err, errlen, why);
		memset(res, 0, sizeof(*res));
		return -1;
	}
	return 0;
}

int
spool_has_mac(const struct msg_result *m)
{
	static const uint8_t	zero[PROTO_MAC_LEN];

	return memcmp(m->mac, zero, sizeof(zero)) != 0;
}

int
spool_format(struct buf *out, const struct msg_result *m)
{
	struct packer	 p;
	uint8_t		 digest[SHA256_LEN];
	size_t		 start = out->len;
	const char	*why;

	if (!proto_result_valid(m, &why) ||
	    (m->output_len > 0 && m->output == NULL))
		return -1;
	if (buf_append(out, spool_has_mac(m) ? SPOOL_MAGIC3 :
	    m->sha256[0] != '\0' ? SPOOL_MAGIC2 : SPOOL_MAGIC,
	    SPOOL_MAGIC_LEN) == -1)
		return -1;
	pack_init(&p, out);
	pack_u64(&p, m->job);
	pack_u8(&p, m->outcome);
	pack_u32(&p, (uint32_t)m->exit_status);
	pack_u32(&p, (uint32_t)m->signal);
	pack_u64(&p, m->started_at_ms);
	pack_u64(&p, m->duration_ms);
	pack_u8(&p, m->truncated);
	pack_bytes(&p, m->output, m->output_len);
	if (spool_has_mac(m)) {
		pack_str(&p, m->sha256);
		pack_bytes(&p, m->mac, sizeof(m->mac));
	} else if (m->sha256[0] != '\0')
		pack_str(&p, m->sha256);
	if (pack_error(&p) || crypto_sha256(out->data + start,
	    out->len - start, digest) == -1)
		goto fail;
	pack_bytes(&p, digest, sizeof(digest));
	if (pack_error(&p))
		goto fail;
	return 0;
 fail:
	out->len = start;
	return -1;
}

static int
job_path(char *out, size_t outlen, const char *dir, uint64_t job,
    const char *extra)
{
	int	n;

	n = snprintf(out, outlen, "%s/" SPOOL_PREFIX "%" PRIu64 SPOOL_SUFFIX
	    "%s", dir, job, extra);
	return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

int
spool_init(const char *dir, char *err, size_t errlen)
{
	struct stat	st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	return 0;
}

static int
sync_dir(const char *dir)
{
	int	fd, rc;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

static int	spool_write(const char *, const struct msg_result *, int,
		    char *, size_t);
static uint64_t	name_job(const char *);

int
spool_store(const char *dir, const struct msg_result *m, char *err,
    size_t errlen)
{
	return spool_write(dir, m, 1, err, errlen);
}

int
spool_store_nosync(const char *dir, const struct msg_result *m, char *err,
    size_t errlen)
{
	return spool_write(dir, m, 0, err, errlen);
}

static int
spool_write(const char *dir, const struct msg_result *m, int durable,
    char *err, size_t errlen)
{
	char		path[OCTO_PATH_MAX + 64], tmp[OCTO_PATH_MAX + 64];
	struct buf	b;
	int		fd, saved;

	if (job_path(path, sizeof(path), dir, m->job, "") == -1 ||
	    job_path(tmp, sizeof(tmp), dir, m->job, ".tmp") == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	buf_init(&b, SPOOL_FILE_MAX);
	if (spool_format(&b, m) == -1) {
		buf_free(&b);
		snprintf(err, errlen, "job %" PRIu64 ": result out of shape",
		    m->job);
		return -1;
	}
	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		buf_free(&b);
		return -1;
	}
	if (fd_write_all(fd, b.data, b.len) == -1 ||
	    (durable && fsync(fd) == -1)) {
		saved = errno;
		close(fd);
		(void)unlink(tmp);
		buf_free(&b);
		snprintf(err, errlen, "%s: %s", tmp, strerror(saved));
		return -1;
	}
	buf_free(&b);
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		(void)unlink(tmp);
		snprintf(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	if (durable && sync_dir(dir) == -1) {
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

int
spool_sync(const char *dir, char *err, size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	int		 fd, rc = 0, saved = 0;

	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		if (name_job(de->d_name) == 0)
			continue;
		if ((fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW |
		    O_CLOEXEC | O_NONBLOCK)) == -1)
			continue;	/* gone meanwhile, or not a file */
		if (fsync(fd) == -1 && rc == 0) {
			saved = errno;
			rc = -1;
		}
		close(fd);
	}
	closedir(d);
	if (sync_dir(dir) == -1 && rc == 0) {
		saved = errno;
		rc = -1;
	}
	if (rc == -1)
		snprintf(err, errlen, "%s: fsync: %s", dir, strerror(saved));
	return rc;
}

int
spool_exists(const char *dir, uint64_t job)
{
	char	path[OCTO_PATH_MAX + 64];

	if (job_path(path, sizeof(path), dir, job, "") == -1)
		return 0;
	return access(path, F_OK) == 0;
}

/* "job-<digits>.result" with a valid job ID: the ID, else 0. */
static uint64_t
name_job(const char *name)
{
	const char		*p;
	unsigned long long	 v = 0;
	size_t			 n = 0;

	if (strncmp(name, SPOOL_PREFIX, strlen(SPOOL_PREFIX)) != 0)
		return 0;
	p = name + strlen(SPOOL_PREFIX);
	if (*p == '0')
		return 0;
	for (; *p >= '0' && *p <= '9'; p++, n++) {
		if (n >= 19)
			return 0;
		v = v * 10 + (unsigned long long)(*p - '0');
	}
	if (n == 0 || strcmp(p, SPOOL_SUFFIX) != 0 || v > INT64_MAX)
		return 0;
	return v;
}

struct entry {
	uint64_t	job;
	struct timespec	mtime;
};

static int
entry_cmp(const void *a, const void *b)
{
	const struct entry	*x = a, *y = b;

	if (x->mtime.tv_sec != y->mtime.tv_sec)
		return x->mtime.tv_sec < y->mtime.tv_sec ? -1 : 1;
	if (x->mtime.tv_nsec != y->mtime.tv_nsec)
		return x->mtime.tv_nsec < y->mtime.tv_nsec ? -1 : 1;
	if (x->job != y->job)
		return x->job < y->job ? -1 : 1;
	return 0;
}

int
spool_list(const char *dir, uint64_t *jobs, size_t max, char *err,
    size_t errlen)
{
	DIR		*d;
	struct dirent	*de;
	struct entry	*ents;
	struct stat	 st;
	size_t		 n = 0, i;
	uint64_t	 job;

	if ((ents = calloc(max ? max : 1, sizeof(*ents))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((d = opendir(dir)) == NULL) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(ents);
		return -1;
	}
	while ((de = readdir(d)) != NULL && n < max) {
		if ((job = name_job(de->d_name)) == 0)
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode))
			continue;
		ents[n].job = job;
		ents[n].mtime = st.st_mtim;
		n++;
	}
	closedir(d);
	qsort(ents, n, sizeof(*ents), entry_cmp);
	for (i = 0; i < n; i++)
		jobs[i] = ents[i].job;
	free(ents);
	return (int)n;
}

static void
move_aside(const char *dir, uint64_t job, const char *why)
{
	char	path[OCTO_PATH_MAX + 64], bad[OCTO_PATH_MAX + 64];

	if (job_path(path, sizeof(path), dir, job, "") == -1 ||
	    job_path(bad, sizeof(bad), dir, job, ".corrupt") == -1)
		return;
	if (rename(path, bad) == -1) {
		log_warn("%s: corrupt (%s), and cannot be moved aside", path,
		    why);
		(void)unlink(path);
		return;
	}
	log_warnx("%s: corrupt (%s): moved aside to %s", path, why, bad);
	(void)sync_dir(dir);
}

int
spool_load(const char *dir, uint64_t job, struct buf *data,
    struct spool_result *res, char *err, size_t errlen)
{
	char		path[OCTO_PATH_MAX + 64], why[128];
	struct stat	st;
	uint8_t		chunk[16384];
	ssize_t		n;
	int		fd;

	buf_reset(data);
	if (job_path(path, sizeof(path), dir, job, "") == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (errno == ELOOP)
			move_aside(dir, job, "a symbolic link");
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > SPOOL_FILE_MAX) {
		close(fd);
		snprintf(err, errlen, "%s: not a regular file of a "
		    "result's size", path);
		move_aside(dir, job, "not a regular file of a result's size");
		return -1;
	}
	for (;;) {
		n = read(fd, chunk, sizeof(chunk));
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (buf_append(data, chunk, (size_t)n) == -1) {
			n = -2;
			break;
		}
	}
	close(fd);
	if (n == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (n == -2 || spool_parse(data->data, data->len, res, why,
	    sizeof(why)) == -1) {
		if (n == -2)
			strlcpy(why, "file too large", sizeof(why));
		snprintf(err, errlen, "%s: corrupt: %s", path, why);
		move_aside(dir, job, why);
		return -1;
	}
	if (res->r.job != job) {
		snprintf(err, errlen, "%s: holds job %" PRIu64, path,
		    res->r.job);
		move_aside(dir, job, "another job's result");
		return -1;
	}
	return 0;
}

int
spool_remove(const char *dir, uint64_t job, char *err, size_t errlen)
{
	char	path[OCTO_PATH_MAX + 64];

	if (job_path(path, sizeof(path), dir, job, "") == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	/* No fsync of the directory: should the removal be lost, the
	 * result is delivered again and the brain stores it only once. */
	if (unlink(path) == -1 && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* Delete the oldest files of the rejected directory beyond the limit. */
static void
prune_rejected(const char *rdir)
{
	struct entry	*ents;
	struct dirent	*de;
	struct stat	 st;
	DIR		*d;
	size_t		 n = 0, max = SPOOL_REJECTED_MAX + 64, i;
	char		 name[64];
	uint64_t	 job;

	if ((ents = calloc(max, sizeof(*ents))) == NULL)
		return;
	if ((d = opendir(rdir)) == NULL) {
		free(ents);
		return;
	}
	while ((de = readdir(d)) != NULL && n < max) {
		if ((job = name_job(de->d_name)) == 0 ||
		    fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) ==
		    -1 || !S_ISREG(st.st_mode))
			continue;
		ents[n].job = job;
		ents[n].mtime = st.st_mtim;
		n++;
	}
	qsort(ents, n, sizeof(*ents), entry_cmp);
	for (i = 0; n > SPOOL_REJECTED_MAX && i < n - SPOOL_REJECTED_MAX;
	    i++) {
		snprintf(name, sizeof(name), SPOOL_PREFIX "%" PRIu64
		    SPOOL_SUFFIX, ents[i].job);
		(void)unlinkat(dirfd(d), name, 0);
	}
	closedir(d);
	free(ents);
}

int
spool_reject(const char *dir, uint64_t job, char *err, size_t errlen)
{
	char		 path[OCTO_PATH_MAX + 64], rdir[OCTO_PATH_MAX + 64];
	char		 to[OCTO_PATH_MAX + 128];
	struct stat	 st;
	int		 n, saved;

	if (job_path(path, sizeof(path), dir, job, "") == -1 ||
	    (n = snprintf(rdir, sizeof(rdir), "%s/" SPOOL_REJECTED_DIR,
	    dir)) < 0 || (size_t)n >= sizeof(rdir) ||
	    job_path(to, sizeof(to), rdir, job, "") == -1) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	if (mkdir(rdir, 0700) == -1 && errno != EEXIST) {
		saved = errno;
		(void)unlink(path);
		snprintf(err, errlen, "%s: %s: %s deleted", rdir,
		    strerror(saved), path);
		return -1;
	}
	if (lstat(rdir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		(void)unlink(path);
		snprintf(err, errlen, "%s: not a directory: %s deleted", rdir,
		    path);
		return -1;
	}
	if (rename(path, to) == -1) {
		saved = errno;
		if (saved == ENOENT)
			return 0;	/* gone meanwhile */
		(void)unlink(path);
		snprintf(err, errlen, "%s: cannot move to %s (%s): deleted",
		    path, rdir, strerror(saved));
		return -1;
	}
	prune_rejected(rdir);
	return 0;
}
