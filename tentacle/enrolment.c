/*
 * The enrolment state file (enrolment.h): strict reader, writer, atomic
 * store.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "crypto.h"
#include "daemon.h"
#include "enrolment.h"
#include "log.h"
#include "net.h"

enum field {
	F_ID,
	F_KEY,
	F_BRAIN_FPR,
	F_BRAIN_ADDR,
	F_BRAIN_REG_PORT,
	F_BRAIN_CMD_PORT,
	F_STATUS,
	F_ENROLLED_AT,
	F_SIGN_PUB,		/* optional */
	F_MAX
};

static const char *const field_names[F_MAX] = {
	"id",
	"key",
	"brain_fingerprint",
	"brain_address",
	"brain_registerer_port",
	"brain_commander_port",
	"status",
	"enrolled_at",
	"script_signing_key",
};

static const char *const status_names[ENROLMENT_MAX] = {
	NULL, "pending", "accepted", "rejected"
};

static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* A decimal number without sign or leading zero, at most max. */
static int
parse_uint(const char *s, size_t n, uint64_t max, uint64_t *out)
{
	uint64_t	v = 0;
	size_t		i;

	if (n == 0 || n > 20 || (s[0] == '0' && n > 1))
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		if (v > (max - (uint64_t)(s[i] - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return 0;
}

static int
lower_hex(const char *s, size_t n, size_t want)
{
	return n == want && proto_hex_lower(s, n);
}

/* One value into its field; a constant reason on error. */
static const char *
parse_value(enum field f, const char *v, size_t n, struct enrolment *e)
{
	char		tmp[OCTO_ADDR_MAX];
	char		keyhex[2 * PROTO_KEY_LEN + 1];
	uint64_t	u;
	int		i;

	switch (f) {
	case F_ID:
		if (parse_uint(v, n, INT64_MAX, &u) == -1 || u == 0)
			return "not an ID (a positive decimal number)";
		e->id = u;
		return NULL;
	case F_KEY:
		if (!lower_hex(v, n, 2 * PROTO_KEY_LEN))
			return "not a key (64 lowercase hex digits)";
		memcpy(keyhex, v, n);
		keyhex[n] = '\0';
		i = hex_decode(keyhex, e->key, sizeof(e->key));
		crypto_wipe(keyhex, sizeof(keyhex));
		return i == 0 ? NULL : "not a key (64 lowercase hex digits)";
	case F_BRAIN_FPR:
		if (!lower_hex(v, n, OCTO_FPR_HEX_LEN))
			return "not a fingerprint (64 lowercase hex digits)";
		memcpy(e->brain_fingerprint, v, n);
		e->brain_fingerprint[n] = '\0';
		return NULL;
	case F_BRAIN_ADDR:
		if (n == 0 || n >= sizeof(tmp))
			return "not a numeric IPv4 or IPv6 address";
		memcpy(tmp, v, n);
		tmp[n] = '\0';
		if (!net_addr_valid(tmp))
			return "not a numeric IPv4 or IPv6 address";
		memcpy(e->brain_address, tmp, n + 1);
		return NULL;
	case F_BRAIN_REG_PORT:
	case F_BRAIN_CMD_PORT:
		if (parse_uint(v, n, 65535, &u) == -1 || u == 0)
			return "not a port (1 to 65535)";
		if (f == F_BRAIN_REG_PORT)
			e->brain_registerer_port = (int)u;
		else
			e->brain_commander_port = (int)u;
		return NULL;
	case F_STATUS:
		for (i = ENROLMENT_PENDING; i < ENROLMENT_MAX; i++)
			if (strlen(status_names[i]) == n &&
			    memcmp(status_names[i], v, n) == 0) {
				e->status = (uint8_t)i;
				return NULL;
			}
		return "not a status (pending, accepted or rejected)";
	case F_ENROLLED_AT:
		if (parse_uint(v, n, INT64_MAX, &u) == -1)
			return "not a time (seconds since 1970)";
		e->enrolled_at = (int64_t)u;
		return NULL;
	case F_SIGN_PUB:
		if (!lower_hex(v, n, 2 * PROTO_SIGN_PUB_LEN))
			return "not a key (64 lowercase hex digits)";
		memcpy(keyhex, v, n);
		keyhex[n] = '\0';
		if (hex_decode(keyhex, e->sign_pub, sizeof(e->sign_pub)) == -1)
			return "not a key (64 lowercase hex digits)";
		e->has_sign_pub = 1;
		return NULL;
	default:
		return "unknown field";
	}
}

static int
is_blank(char ch)
{
	return ch == ' ' || ch == '\t';
}

int
enrolment_parse(const char *buf, size_t len, struct enrolment *out,
    char *err, size_t errlen)
{
	struct enrolment	 e;
	int			 seen[F_MAX] = { 0 };
	const char		*p = buf, *end = buf + len, *nl, *k, *ke, *v, *ve;
	const char		*why;
	size_t			 lineno = 0;
	int			 f;

	memset(&e, 0, sizeof(e));
	if (len > ENROLMENT_FILE_MAX) {
		set_err(err, errlen, "too large (more than %d bytes)",
		    ENROLMENT_FILE_MAX);
		return -1;
	}
	if (len == 0) {
		set_err(err, errlen, "empty");
		return -1;
	}
	if (memchr(buf, '\0', len) != NULL) {
		set_err(err, errlen, "contains a NUL byte");
		return -1;
	}
	if (buf[len - 1] != '\n') {
		set_err(err, errlen, "truncated (the last line has no "
		    "newline)");
		return -1;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));	/* never NULL */
		k = p;
		p = nl + 1;
		while (k < nl && is_blank(*k))
			k++;
		if (k == nl || *k == '#')
			continue;
		for (ke = k; ke < nl && *ke != '=' && !is_blank(*ke); ke++)
			;
		for (v = ke; v < nl && is_blank(*v); v++)
			;
		if (ke == k || v == nl || *v != '=') {
			set_err(err, errlen, "line %zu: not 'key = value'",
			    lineno);
			goto fail;
		}
		for (v++; v < nl && is_blank(*v); v++)
			;
		for (ve = nl; ve > v && is_blank(ve[-1]); ve--)
			;
		for (f = 0; f < F_MAX; f++)
			if (strlen(field_names[f]) == (size_t)(ke - k) &&
			    memcmp(field_names[f], k, (size_t)(ke - k)) == 0)
				break;
		if (f == F_MAX) {
			set_err(err, errlen, "line %zu: unknown field '%.*s'",
			    lineno, (int)((ke - k) > 40 ? 40 : ke - k), k);
			goto fail;
		}
		if (seen[f]) {
			set_err(err, errlen, "line %zu: '%s' given twice",
			    lineno, field_names[f]);
			goto fail;
		}
		seen[f] = 1;
		if ((why = parse_value(f, v, (size_t)(ve - v), &e)) != NULL) {
			set_err(err, errlen, "line %zu: %s: %s", lineno,
			    field_names[f], why);
			goto fail;
		}
	}
	for (f = 0; f < F_MAX; f++)
		if (!seen[f] && f != F_SIGN_PUB) {
			set_err(err, errlen, "'%s' is missing",
			    field_names[f]);
			goto fail;
		}
	*out = e;
	crypto_wipe(&e, sizeof(e));
	return 0;
 fail:
	crypto_wipe(&e, sizeof(e));
	return -1;
}

int
enrolment_format(const struct enrolment *e, char *out, size_t outlen)
{
	char	keyhex[2 * PROTO_KEY_LEN + 1];
	char	signhex[2 * PROTO_SIGN_PUB_LEN + 1];
	int	n, m;

	if (e->has_sign_pub > 1)
		return -1;
	if (e->id == 0 || e->id > INT64_MAX || e->status == 0 ||
	    e->status >= ENROLMENT_MAX ||
	    !proto_fingerprint_valid(e->brain_fingerprint) ||
	    !net_addr_valid(e->brain_address) ||
	    e->brain_registerer_port < 1 || e->brain_registerer_port > 65535 ||
	    e->brain_commander_port < 1 || e->brain_commander_port > 65535 ||
	    e->enrolled_at < 0)
		return -1;
	hex_encode(e->key, sizeof(e->key), keyhex);
	n = snprintf(out, outlen,
	    "# octoTentacle enrolment: written by octoTentacle, do not edit.\n"
	    "# octoTentacle --reenrol forgets it (and enrols again).\n"
	    "id = %" PRIu64 "\n"
	    "key = %s\n"
	    "brain_fingerprint = %s\n"
	    "brain_address = %s\n"
	    "brain_registerer_port = %d\n"
	    "brain_commander_port = %d\n"
	    "status = %s\n"
	    "enrolled_at = %" PRId64 "\n",
	    e->id, keyhex, e->brain_fingerprint, e->brain_address,
	    e->brain_registerer_port, e->brain_commander_port,
	    status_names[e->status], e->enrolled_at);
	crypto_wipe(keyhex, sizeof(keyhex));
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	if (e->has_sign_pub) {
		hex_encode(e->sign_pub, sizeof(e->sign_pub), signhex);
		m = snprintf(out + n, outlen - (size_t)n,
		    "script_signing_key = %s\n", signhex);
		if (m < 0 || (size_t)m >= outlen - (size_t)n)
			return -1;
		n += m;
	}
	return n;
}

int
enrolment_path(const char *state_dir, char *path, size_t pathlen)
{
	int	n;

	n = snprintf(path, pathlen, "%s/" ENROLMENT_DIR "/" ENROLMENT_NAME,
	    state_dir);
	return n < 0 || (size_t)n >= pathlen ? -1 : 0;
}

int
enrolment_old_path(const char *state_dir, char *path, size_t pathlen)
{
	int	n;

	n = snprintf(path, pathlen, "%s/" ENROLMENT_NAME, state_dir);
	return n < 0 || (size_t)n >= pathlen ? -1 : 0;
}

int
enrolment_migrate(const char *state_dir, char *err, size_t errlen)
{
	struct enrolment	e;
	struct stat		st;
	char			old[OCTO_PATH_MAX + 32], path[OCTO_PATH_MAX + 32];
	char			why[1024];
	int			rc;

	if (enrolment_old_path(state_dir, old, sizeof(old)) == -1 ||
	    enrolment_path(state_dir, path, sizeof(path)) == -1) {
		set_err(err, errlen, "state_dir too long");
		return -1;
	}
	if (lstat(old, &st) == -1)
		return 0;		/* nothing from before */
	if (lstat(path, &st) == 0) {
		/* Ours is the one: whatever is left at the old place may
		 * have been planted by the dropped user. */
		log_warnx("%s: ignored and removed (the enrolment is %s)", old,
		    path);
		if (unlink(old) == -1)
			log_warn("%s", old);
		return 0;
	}
	if ((rc = enrolment_load(old, &e, why, sizeof(why))) == 1)
		return 0;
	if (rc == -1) {
		set_err(err, errlen, "%s; not moved to %s", why, path);
		return -1;
	}
	/* That file was the dropped user's to write: a script-signing key
	 * in it proves nothing. The brain announces its key again
	 * (SIGNKEY, authenticated with the tentacle's key). */
	if (e.has_sign_pub)
		log_warnx("%s: its script_signing_key is not kept (the brain "
		    "announces its key again)", old);
	e.has_sign_pub = 0;
	memset(e.sign_pub, 0, sizeof(e.sign_pub));
	rc = enrolment_store(path, &e, err, errlen);
	enrolment_wipe(&e);
	if (rc == -1)
		return -1;
	if (unlink(old) == -1)
		log_warn("%s: cannot remove it after moving it", old);
	log_info("moved the enrolment %s to %s (only this user writes there)",
	    old, path);
	return 0;
}

int
enrolment_load(const char *path, struct enrolment *e, char *err,
    size_t errlen)
{
	char		buf[ENROLMENT_FILE_MAX + 1];
	char		why[256];
	struct stat	st;
	ssize_t		n;
	size_t		len = 0;
	int		fd, rc;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW |
	    O_NONBLOCK)) == -1) {
		if (errno == ENOENT)
			return 1;
		set_err(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		set_err(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	while (len < sizeof(buf)) {
		n = read(fd, buf + len, sizeof(buf) - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			set_err(err, errlen, "%s: %s", path, strerror(errno));
			close(fd);
			crypto_wipe(buf, sizeof(buf));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	rc = enrolment_parse(buf, len, e, why, sizeof(why));
	crypto_wipe(buf, sizeof(buf));
	if (rc == -1) {
		set_err(err, errlen, "%s: corrupt enrolment file: %s (fix it, "
		    "or run octoTentacle --reenrol to enrol again)", path, why);
		return -1;
	}
	return 0;
}

int
enrolment_store(const char *path, const struct enrolment *e, char *err,
    size_t errlen)
{
	char	 text[ENROLMENT_FILE_MAX];
	char	 tmp[OCTO_PATH_MAX + 32], dir[OCTO_PATH_MAX + 32];
	char	*slash;
	int	 fd, n, saved;

	if ((n = enrolment_format(e, text, sizeof(text))) == -1) {
		set_err(err, errlen, "%s: enrolment out of shape", path);
		return -1;
	}
	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp) ||
	    strlcpy(dir, path, sizeof(dir)) >= sizeof(dir)) {
		set_err(err, errlen, "%s: path too long", path);
		crypto_wipe(text, sizeof(text));
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strlcpy(dir, ".", sizeof(dir));
	else if (slash == dir)
		slash[1] = '\0';
	else
		*slash = '\0';

	(void)unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		set_err(err, errlen, "%s: %s", tmp, strerror(errno));
		crypto_wipe(text, sizeof(text));
		return -1;
	}
	if (fchmod(fd, 0600) == -1 || fd_write_all(fd, text, (size_t)n) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		close(fd);
		(void)unlink(tmp);
		set_err(err, errlen, "%s: %s", tmp, strerror(saved));
		crypto_wipe(text, sizeof(text));
		return -1;
	}
	crypto_wipe(text, sizeof(text));
	if (close(fd) == -1 || rename(tmp, path) == -1) {
		saved = errno;
		(void)unlink(tmp);
		set_err(err, errlen, "%s: %s", path, strerror(saved));
		return -1;
	}
	/* The rename itself must survive a crash. */
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		if (fd != -1)
			close(fd);
		set_err(err, errlen, "%s: fsync: %s", dir, strerror(saved));
		return -1;
	}
	close(fd);
	return 0;
}

void
enrolment_wipe(struct enrolment *e)
{
	crypto_wipe(e, sizeof(*e));
}
