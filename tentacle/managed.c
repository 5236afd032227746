/*
 * Scripts managed by the brain, on the tentacle (managed.h).
 */
#include <sys/stat.h>

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
#include "managed.h"
#include "scriptsig.h"
#include "tentacle.h"

#define SIG_HEX_LEN	(2 * PROTO_SCRIPT_SIG_LEN)

/* One line "PREFIX VALUE\n" at *p: the value and its length, or NULL. */
static const char *
line(const char **p, const char *end, const char *prefix, size_t *n)
{
	size_t		 l = strlen(prefix);
	const char	*nl, *v;

	if ((size_t)(end - *p) < l || memcmp(*p, prefix, l) != 0)
		return NULL;
	v = *p + l;
	if ((nl = memchr(v, '\n', (size_t)(end - v))) == NULL)
		return NULL;
	*n = (size_t)(nl - v);
	*p = nl + 1;
	return v;
}

int
managed_sig_parse(const char *buf, size_t len, struct managed_sig *s,
    char *err, size_t errlen)
{
	const char	*p = buf, *end = buf + len, *v;
	size_t		 n, i;
	uint64_t	 ver = 0;

	memset(s, 0, sizeof(*s));
	if (len > MANAGED_SIG_MAX || len < strlen(MANAGED_SIG_MAGIC) ||
	    memcmp(p, MANAGED_SIG_MAGIC, strlen(MANAGED_SIG_MAGIC)) != 0) {
		snprintf(err, errlen, "not a managed script's record");
		return -1;
	}
	p += strlen(MANAGED_SIG_MAGIC);
	if ((v = line(&p, end, "version ", &n)) == NULL || n == 0 || n > 10 ||
	    v[0] == '0') {
		snprintf(err, errlen, "bad version line");
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9') {
			snprintf(err, errlen, "bad version line");
			return -1;
		}
		ver = ver * 10 + (uint64_t)(v[i] - '0');
	}
	if (ver > UINT32_MAX) {
		snprintf(err, errlen, "bad version line");
		return -1;
	}
	s->version = (uint32_t)ver;
	if ((size_t)(end - p) >= 8 && memcmp(p, "deleted\n", 8) == 0) {
		s->deleted = 1;
		p += 8;
	} else if ((v = line(&p, end, "sha256 ", &n)) != NULL &&
	    n == OCTO_FPR_HEX_LEN && proto_hex_lower(v, n)) {
		memcpy(s->sha256, v, n);
		s->sha256[n] = '\0';
	} else {
		memset(s, 0, sizeof(*s));
		snprintf(err, errlen, "bad sha256 line");
		return -1;
	}
	if ((v = line(&p, end, "signature ", &n)) == NULL ||
	    n != SIG_HEX_LEN || !proto_hex_lower(v, n)) {
		memset(s, 0, sizeof(*s));
		snprintf(err, errlen, "bad signature line");
		return -1;
	}
	{
		char	hex[SIG_HEX_LEN + 1];

		memcpy(hex, v, n);
		hex[n] = '\0';
		(void)hex_decode(hex, s->sig, sizeof(s->sig));
	}
	if (p != end) {
		memset(s, 0, sizeof(*s));
		snprintf(err, errlen, "trailing bytes");
		return -1;
	}
	return 0;
}

int
managed_sig_format(struct buf *out, const struct managed_sig *s)
{
	char	text[MANAGED_SIG_MAX], hex[SIG_HEX_LEN + 1];
	int	n;

	if (s->version == 0 || (!s->deleted &&
	    !proto_fingerprint_valid(s->sha256)))
		return -1;
	hex_encode(s->sig, sizeof(s->sig), hex);
	if (s->deleted)
		n = snprintf(text, sizeof(text), "%sversion %" PRIu32
		    "\ndeleted\nsignature %s\n", MANAGED_SIG_MAGIC,
		    s->version, hex);
	else
		n = snprintf(text, sizeof(text), "%sversion %" PRIu32
		    "\nsha256 %s\nsignature %s\n", MANAGED_SIG_MAGIC,
		    s->version, s->sha256, hex);
	if (n < 0 || (size_t)n >= sizeof(text))
		return -1;
	return buf_append(out, text, (size_t)n);
}

/* ---- files ------------------------------------------------------------ */

static int
sync_dir(int dfd)
{
	return fsync(dfd);
}

/* Write name in dfd atomically (tmp, fsync, rename): 0, or -1 (errno).
 * noreplace: never over an existing file (EEXIST). */
static int
write_atomic(int dfd, const char *name, const void *data, size_t len,
    mode_t mode, int noreplace)
{
	char	tmp[PROTO_SCRIPT_NAME_MAX + 32];
	int	fd, e;

	if ((size_t)snprintf(tmp, sizeof(tmp), ".%s.tmp", name) >= sizeof(tmp)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	(void)unlinkat(dfd, tmp, 0);	/* left by a crash */
	if ((fd = openat(dfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
	    O_CLOEXEC, mode)) == -1)
		return -1;
	if (fchmod(fd, mode) == -1 || fd_write_all(fd, data, len) == -1 ||
	    fsync(fd) == -1) {
		e = errno;
		close(fd);
		(void)unlinkat(dfd, tmp, 0);
		errno = e;
		return -1;
	}
	close(fd);
	if ((noreplace ? renameat2(dfd, tmp, dfd, name, RENAME_NOREPLACE) :
	    renameat(dfd, tmp, dfd, name)) == -1) {
		e = errno;
		(void)unlinkat(dfd, tmp, 0);
		errno = e;
		return -1;
	}
	return 0;
}

/* Read a small file name in dfd: its length, or -1 (errno; ENOENT). */
static ssize_t
read_small(int dfd, const char *name, char *buf, size_t size)
{
	struct stat	st;
	ssize_t		n, got = 0;
	int		fd;

	if ((fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size >= size) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	for (;;) {
		n = read(fd, buf + got, size - (size_t)got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += n;
		if ((size_t)got == size)
			break;
	}
	close(fd);
	if (n == -1 || (size_t)got >= size) {
		errno = EINVAL;
		return -1;
	}
	return got;
}

static int
open_dir(const char *dir, char *err, size_t errlen)
{
	int	dfd;

	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		snprintf(err, errlen, "managed_scripts_dir %s: %s", dir,
		    strerror(errno));
	return dfd;
}

int
managed_dir_init(const char *dir, char *err, size_t errlen)
{
	struct stat	st;

	if (mkdir(dir, 0700) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "managed_scripts_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		snprintf(err, errlen, "managed_scripts_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "managed_scripts_dir %s: not a "
		    "directory", dir);
		return -1;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "managed_scripts_dir %s: owned by uid "
		    "%ld, not by us (uid %ld)", dir, (long)st.st_uid,
		    (long)geteuid());
		return -1;
	}
	if ((st.st_mode & 077) != 0 && chmod(dir, 0700) == -1) {
		snprintf(err, errlen, "managed_scripts_dir %s: chmod: %s", dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
managed_pin_load(const char *dir, uint8_t pub[PROTO_SIGN_PUB_LEN], char *err,
    size_t errlen)
{
	char	buf[128], hex[2 * PROTO_SIGN_PUB_LEN + 1];
	ssize_t	n;
	int	dfd;

	if ((dfd = open_dir(dir, err, errlen)) == -1)
		return -1;
	n = read_small(dfd, MANAGED_PIN_FILE, buf, sizeof(buf));
	close(dfd);
	if (n == -1 && errno == ENOENT)
		return 0;
	if (n != (ssize_t)(8 + 2 * PROTO_SIGN_PUB_LEN + 1) ||
	    memcmp(buf, "ed25519 ", 8) != 0 || buf[n - 1] != '\n' ||
	    !proto_hex_lower(buf + 8, 2 * PROTO_SIGN_PUB_LEN)) {
		snprintf(err, errlen, "%s/%s: not a pinned signing key", dir,
		    MANAGED_PIN_FILE);
		return -1;
	}
	memcpy(hex, buf + 8, 2 * PROTO_SIGN_PUB_LEN);
	hex[2 * PROTO_SIGN_PUB_LEN] = '\0';
	return hex_decode(hex, pub, PROTO_SIGN_PUB_LEN) == 0 ? 1 : -1;
}

int
managed_pin_store(const char *dir, const uint8_t pub[PROTO_SIGN_PUB_LEN],
    char *err, size_t errlen)
{
	uint8_t	have[PROTO_SIGN_PUB_LEN];
	char	text[8 + 2 * PROTO_SIGN_PUB_LEN + 2];
	int	dfd, rc;

	if ((rc = managed_pin_load(dir, have, err, errlen)) == -1)
		return -1;
	if (rc == 1) {
		if (crypto_equal(have, pub, sizeof(have)))
			return 0;
		snprintf(err, errlen, "another script-signing key is pinned "
		    "already: never replaced");
		return -1;
	}
	memcpy(text, "ed25519 ", 8);
	hex_encode(pub, PROTO_SIGN_PUB_LEN, text + 8);
	text[8 + 2 * PROTO_SIGN_PUB_LEN] = '\n';
	if ((dfd = open_dir(dir, err, errlen)) == -1)
		return -1;
	if (write_atomic(dfd, MANAGED_PIN_FILE, text, sizeof(text) - 1, 0600,
	    1) == -1 || sync_dir(dfd) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, MANAGED_PIN_FILE,
		    errno == EEXIST ? "pinned meanwhile" : strerror(errno));
		close(dfd);
		return -1;
	}
	close(dfd);
	return 1;
}

static int
sig_name(char *out, size_t outlen, const char *name)
{
	return (size_t)snprintf(out, outlen, ".%s.sig", name) < outlen ? 0 :
	    -1;
}

int
managed_sig_load(const char *dir, const char *name, struct managed_sig *s,
    char *err, size_t errlen)
{
	char	buf[MANAGED_SIG_MAX + 1], sn[PROTO_SCRIPT_NAME_MAX + 8];
	char	why[128];
	ssize_t	n;
	int	dfd;

	if (!proto_script_name_valid(name) || sig_name(sn, sizeof(sn), name) ==
	    -1) {
		snprintf(err, errlen, "not a script name");
		return -1;
	}
	if ((dfd = open_dir(dir, err, errlen)) == -1)
		return -1;
	n = read_small(dfd, sn, buf, sizeof(buf));
	close(dfd);
	if (n == -1 && errno == ENOENT)
		return 0;
	if (n == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, sn, strerror(errno));
		return -1;
	}
	if (managed_sig_parse(buf, (size_t)n, s, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "%s/%s: %s", dir, sn, why);
		return -1;
	}
	return 1;
}

/* A pinned key, or -1 with the reason for the brain. */
static int
pinned(const uint8_t *pub, char *msg, size_t msglen)
{
	if (pub != NULL)
		return 0;
	snprintf(msg, msglen, "no script-signing key pinned yet");
	return -1;
}

int
managed_pin_dir(const struct tentacle_conf *conf, char *out, size_t outlen)
{
	char	*slash;

	if (strlcpy(out, conf->key, outlen) >= outlen)
		return -1;
	if ((slash = strrchr(out, '/')) == NULL)
		return strlcpy(out, ".", outlen) < outlen ? 0 : -1;
	if (slash == out)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

int
managed_put(const char *dir, const uint8_t *pub,
    const struct msg_script_put *m, char *msg, size_t msglen)
{
	struct managed_sig	 cur, s;
	struct buf		 rec;
	char			 sha[OCTO_FPR_HEX_LEN + 1], err[512];
	char			 sn[PROTO_SCRIPT_NAME_MAX + 8];
	int			 dfd, rc;

	msg[0] = '\0';
	if (!proto_script_name_valid(m->name) || m->version == 0 ||
	    m->body_len > PROTO_SCRIPT_BODY_MAX) {
		snprintf(msg, msglen, "bad script");
		return -1;
	}
	if (scriptsig_sha256_hex(m->body, m->body_len, sha) == -1 ||
	    strcmp(sha, m->sha256) != 0) {
		snprintf(msg, msglen, "the hash does not match the body");
		return -1;
	}
	if (pinned(pub, msg, msglen) == -1)
		return -1;
	if (!scriptsig_verify_put(pub, m->name, m->version, m->sha256,
	    m->body, m->body_len, m->sig)) {
		snprintf(msg, msglen, "bad signature (not the pinned "
		    "script-signing key's)");
		return -1;
	}
	if ((rc = managed_sig_load(dir, m->name, &cur, err, sizeof(err))) ==
	    -1) {
		/* A record that does not parse is replaced by a signed
		 * one. */
		rc = 0;
	}
	if (rc == 1 && m->version < cur.version) {
		snprintf(msg, msglen, "version %" PRIu32 " is older than the "
		    "one here (%" PRIu32 "%s)", m->version, cur.version,
		    cur.deleted ? ", deleted" : "");
		return -1;
	}
	if (rc == 1 && m->version == cur.version && (cur.deleted ||
	    strcmp(cur.sha256, m->sha256) != 0)) {
		snprintf(msg, msglen, "version %" PRIu32 " is here already "
		    "with other contents", m->version);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.version = m->version;
	strlcpy(s.sha256, m->sha256, sizeof(s.sha256));
	memcpy(s.sig, m->sig, sizeof(s.sig));
	buf_init(&rec, MANAGED_SIG_MAX);
	if (managed_sig_format(&rec, &s) == -1 || sig_name(sn, sizeof(sn),
	    m->name) == -1) {
		buf_free(&rec);
		snprintf(msg, msglen, "cannot make its record");
		return -1;
	}
	if ((dfd = open_dir(dir, err, sizeof(err))) == -1) {
		buf_free(&rec);
		snprintf(msg, msglen, "cannot open managed_scripts_dir");
		return -1;
	}
	/* The record first: a crash between the two leaves a script that
	 * does not verify (refused at its run), never an unsigned one
	 * that does; the brain pushes the same version again. */
	if (write_atomic(dfd, sn, rec.data, rec.len, 0600, 0) == -1 ||
	    write_atomic(dfd, m->name, m->body, m->body_len, 0700, 0) == -1 ||
	    sync_dir(dfd) == -1) {
		snprintf(msg, msglen, "cannot write it: %s", strerror(errno));
		close(dfd);
		buf_free(&rec);
		return -1;
	}
	close(dfd);
	buf_free(&rec);
	if (rc == 1 && m->version == cur.version)
		snprintf(msg, msglen, "version %" PRIu32 " written again",
		    m->version);
	return 0;
}

int
managed_delete(const char *dir, const uint8_t *pub,
    const struct msg_script_delete *m, char *msg, size_t msglen)
{
	struct managed_sig	 cur, s;
	struct buf		 rec;
	char			 err[512], sn[PROTO_SCRIPT_NAME_MAX + 8];
	int			 dfd, rc;

	msg[0] = '\0';
	if (!proto_script_name_valid(m->name) || m->version == 0) {
		snprintf(msg, msglen, "bad script");
		return -1;
	}
	if (pinned(pub, msg, msglen) == -1)
		return -1;
	if (!scriptsig_verify_delete(pub, m->name, m->version, m->sig)) {
		snprintf(msg, msglen, "bad signature (not the pinned "
		    "script-signing key's)");
		return -1;
	}
	if ((rc = managed_sig_load(dir, m->name, &cur, err, sizeof(err))) ==
	    -1)
		rc = 0;
	if (rc == 1 && cur.deleted && m->version == cur.version) {
		snprintf(msg, msglen, "deleted already");
		return 0;
	}
	if (rc == 1 && m->version <= cur.version) {
		snprintf(msg, msglen, "version %" PRIu32 " is not newer than "
		    "the one here (%" PRIu32 ")", m->version, cur.version);
		return -1;
	}
	memset(&s, 0, sizeof(s));
	s.version = m->version;
	s.deleted = 1;
	memcpy(s.sig, m->sig, sizeof(s.sig));
	buf_init(&rec, MANAGED_SIG_MAX);
	if (managed_sig_format(&rec, &s) == -1 || sig_name(sn, sizeof(sn),
	    m->name) == -1 || (dfd = open_dir(dir, err, sizeof(err))) == -1) {
		buf_free(&rec);
		snprintf(msg, msglen, "cannot make its record");
		return -1;
	}
	/* The tombstone first: an older put can never come back. */
	if (write_atomic(dfd, sn, rec.data, rec.len, 0600, 0) == -1 ||
	    (unlinkat(dfd, m->name, 0) == -1 && errno != ENOENT) ||
	    sync_dir(dfd) == -1) {
		snprintf(msg, msglen, "cannot delete it: %s", strerror(errno));
		close(dfd);
		buf_free(&rec);
		return -1;
	}
	close(dfd);
	buf_free(&rec);
	return 0;
}

int
managed_check(const char *dir, const uint8_t *pub, const char *name,
    const void *body, size_t len, const char *sha256hex, uint32_t *version,
    char *err, size_t errlen)
{
	struct managed_sig	s;
	int			rc;

	if ((rc = managed_sig_load(dir, name, &s, err, errlen)) == -1)
		return -1;
	if (rc == 0 || s.deleted) {
		snprintf(err, errlen, "managed script %s has no signature",
		    name);
		return -1;
	}
	if (pub == NULL) {
		snprintf(err, errlen, "no script-signing key pinned");
		return -1;
	}
	if (strcmp(s.sha256, sha256hex) != 0 ||
	    !scriptsig_verify_put(pub, name, s.version, s.sha256, body, len,
	    s.sig)) {
		snprintf(err, errlen, "managed script %s does not match its "
		    "signature", name);
		return -1;
	}
	*version = s.version;
	return 0;
}

/* ---- a PURPOSE_SCRIPT frame -------------------------------------------- */

static void
ack_refused(struct msg_script_ack *ack, const char *why)
{
	ack->status = SCRIPT_ACK_REFUSED;
	strlcpy(ack->message, why[0] != '\0' ? why : "refused",
	    sizeof(ack->message));
}

void
managed_frame(const struct tentacle_conf *conf, const char *peer,
    uint64_t id, const uint8_t key[PROTO_KEY_LEN], const struct wire_frame *f,
    const uint8_t exporter[PROTO_EXPORTER_LEN], struct msg_script_ack *ack)
{
	struct msg_signkey	 sk;
	struct msg_script_put	*put;
	struct msg_script_delete del;
	const char		*why = "malformed";
	char			 msg[PROTO_MESSAGE_MAX], err[512];
	char			 pdir[OCTO_PATH_MAX];
	uint8_t			 pubbuf[PROTO_SIGN_PUB_LEN];
	const uint8_t		*pub = NULL;
	int			 rc;

	memset(ack, 0, sizeof(*ack));
	ack->status = SCRIPT_ACK_OK;
	if (managed_pin_dir(conf, pdir, sizeof(pdir)) == -1) {
		ack_refused(ack, "no directory for the signing key");
		return;
	}
	if ((rc = managed_pin_load(pdir, pubbuf, err, sizeof(err))) == 1)
		pub = pubbuf;
	else if (rc == -1)
		log_warnx("%s", err);
	switch (f->type) {
	case WIRE_SIGNKEY:
		if (proto_decode_signkey(f, &sk, &why) == -1) {
			log_warnx("%s: bad SIGNKEY: %s", peer, why);
			ack_refused(ack, why);
			return;
		}
		if (!conf->managed_scripts) {
			log_warnx("%s: script-signing key not pinned: "
			    "managed_scripts = no", peer);
			ack_refused(ack, "managed_scripts = no on this "
			    "tentacle");
			return;
		}
		if (key == NULL || !proto_signkey_mac_ok(key, id, &sk,
		    exporter)) {
			log_warnx("%s: SIGNKEY refused: bad MAC (not made by the "
			    "brain for this connection, or changed on its way)",
			    peer);
			ack_refused(ack, "bad SIGNKEY MAC");
			return;
		}
		if ((rc = managed_pin_store(pdir, sk.pub, err,
		    sizeof(err))) == -1) {
			log_warnx("%s: SIGNKEY refused: %s", peer, err);
			ack_refused(ack, strstr(err, "never replaced") ?
			    "another script-signing key is pinned" :
			    "cannot pin the key");
			return;
		}
		log_info("%s: script-signing key %s", peer, rc == 1 ?
		    "pinned" : "was pinned already");
		if (rc == 0)
			strlcpy(ack->message, "pinned already",
			    sizeof(ack->message));
		return;
	case WIRE_SCRIPT_PUT:
		if ((put = calloc(1, sizeof(*put))) == NULL) {
			ack_refused(ack, "out of memory");
			return;
		}
		if (proto_decode_script_put(f, put, &why) == -1) {
			log_warnx("%s: bad SCRIPT_PUT: %s", peer, why);
			ack_refused(ack, why);
			free(put);
			return;
		}
		strlcpy(ack->name, put->name, sizeof(ack->name));
		ack->version = put->version;
		if (!conf->managed_scripts) {
			log_warnx("%s: script %s version %u refused: "
			    "managed_scripts = no", peer, put->name,
			    (unsigned)put->version);
			ack_refused(ack, "managed_scripts = no on this "
			    "tentacle");
		} else if (managed_put(conf->managed_scripts_dir, pub, put,
		    msg, sizeof(msg)) == -1) {
			log_warnx("%s: script %s version %u refused: %s", peer,
			    put->name, (unsigned)put->version, msg);
			ack_refused(ack, msg);
		} else {
			log_info("%s: script %s version %u stored (%s)%s%s",
			    peer, put->name, (unsigned)put->version,
			    put->sha256, msg[0] ? ": " : "", msg);
			strlcpy(ack->message, msg, sizeof(ack->message));
		}
		free(put);
		return;
	case WIRE_SCRIPT_DELETE:
		if (proto_decode_script_delete(f, &del, &why) == -1) {
			log_warnx("%s: bad SCRIPT_DELETE: %s", peer, why);
			ack_refused(ack, why);
			return;
		}
		strlcpy(ack->name, del.name, sizeof(ack->name));
		ack->version = del.version;
		if (!conf->managed_scripts) {
			log_warnx("%s: deletion of script %s refused: "
			    "managed_scripts = no", peer, del.name);
			ack_refused(ack, "managed_scripts = no on this "
			    "tentacle");
		} else if (managed_delete(conf->managed_scripts_dir, pub, &del,
		    msg, sizeof(msg)) == -1) {
			log_warnx("%s: deletion of script %s (version %u) "
			    "refused: %s", peer, del.name,
			    (unsigned)del.version, msg);
			ack_refused(ack, msg);
		} else {
			log_info("%s: script %s deleted (version %u)%s%s", peer,
			    del.name, (unsigned)del.version, msg[0] ? ": " :
			    "", msg);
			strlcpy(ack->message, msg, sizeof(ack->message));
		}
		return;
	default:
		ack_refused(ack, "unexpected message");
	}
}
