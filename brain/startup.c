/*
 * The maestro's start-up: configuration, directories, the first admin
 * password, TLS credentials, the children's users, dropping root.
 */
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>

#include <linux/capability.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "config.h"
#include "crypto.h"
#include "findings.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"

#define ADMIN_PASSWORD_LEN	20	/* [A-Za-z0-9]: about 119 bits */

/* Error messages for the caller: a long path may cut the message short,
 * never the path that is used. */
static void __attribute__((format(printf, 3, 4)))
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- start-up -------------------------------------------------------- */

int
load_config(struct brain_conf *c, char *err, size_t errlen)
{
	brain_config_defaults(c);
	if (m.config_given || access(m.config_path, F_OK) == 0) {
		if (config_parse_file(m.config_path, brain_config_keys, c, err,
		    errlen) == -1)
			return -1;
	}
	if (brain_config_finish(c) == -1) {
		seterr(err, errlen, "%s: state_dir is too long", m.config_path);
		return -1;
	}
	if (strcmp(c->enrolment_without_token, "pending") != 0 &&
	    strcmp(c->enrolment_without_token, "refuse") != 0) {
		seterr(err, errlen, "%s: enrolment_without_token must be "
		    "pending or refuse", m.config_path);
		return -1;
	}
	if (strcmp(c->totp_required, "none") != 0 &&
	    strcmp(c->totp_required, "admin") != 0 &&
	    strcmp(c->totp_required, "all") != 0) {
		seterr(err, errlen, "%s: totp_required must be none, admin or "
		    "all", m.config_path);
		return -1;
	}
	return 0;
}

/*
 * The checks file (checks_file): 0, or CHECKS_MISSING with an empty table
 * (the findings then have no references, title or fix: err says why, to
 * be logged as a warning), or -1 when it is unreadable or malformed (err:
 * "FILE:LINE: reason", a configuration error).
 */
int
load_checks(const char *path, struct checks **out, char *err, size_t errlen)
{
	int	rc;

	rc = checks_load(path, out, err, errlen);
	if (rc == CHECKS_MISSING) {
		size_t	n = strlen(err);

		seterr(err + n, errlen - n, ": findings will have no "
		    "references, title or fix");
	}
	return rc;
}

int
make_dir(const char *path, char *err, size_t errlen)
{
	struct stat	st;

	if (mkdir(path, 0700) == -1 && errno != EEXIST) {
		seterr(err, errlen, "cannot create %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (stat(path, &st) == -1 || !S_ISDIR(st.st_mode)) {
		seterr(err, errlen, "%s is not a directory", path);
		return -1;
	}
	return 0;
}

/* The pidfile's directory (/run/octopus-brain) may not exist yet: make it,
 * and remember that we did, so that only a directory of ours is handed to
 * the unprivileged user (who must be able to remove the pidfile). */
int
make_pidfile_dir(char *err, size_t errlen)
{
	char	dir[OCTO_PATH_MAX], *slash;

	strlcpy(dir, m.conf.pidfile, sizeof(dir));
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	if (mkdir(dir, 0755) == 0) {
		strlcpy(m.pidfile_dir, dir, sizeof(m.pidfile_dir));
		return 0;
	}
	if (errno == EEXIST)
		return 0;
	seterr(err, errlen, "cannot create %s for the pidfile: %s", dir,
	    strerror(errno));
	return -1;
}

static int
write_secret_file(const char *path, const char *content, char *err,
    size_t errlen)
{
	char	tmp[OCTO_PATH_MAX + 64];
	int	fd;
	size_t	len = strlen(content);

	if (snprintf(tmp, sizeof(tmp), "%s.tmp", path) >= (int)sizeof(tmp)) {
		seterr(err, errlen, "%s: path too long", path);
		return -1;
	}
	unlink(tmp);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
	    O_NOFOLLOW, 0600)) == -1) {
		seterr(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write(fd, content, len) != (ssize_t)len || fsync(fd) == -1 ||
	    close(fd) == -1 || rename(tmp, path) == -1) {
		seterr(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* On first start, create `admin` with a random password in a 0600 file. */
int
ensure_admin(char *err, size_t errlen)
{
	static const char alphabet[] = "ABCDEFGHJKLMNPQRSTUVWXYZ"
	    "abcdefghijkmnopqrstuvwxyz23456789";
	char		 password[ADMIN_PASSWORD_LEN + 1], line[64];
	char		 hash[KDF_HASH_MAX], path[OCTO_PATH_MAX + 32];
	unsigned char	 rnd[ADMIN_PASSWORD_LEN];
	long		 count;
	size_t		 i;

	if (db_user_count(m.db, &count) == -1) {
		seterr(err, errlen, "cannot count users");
		return -1;
	}
	if (count > 0)
		return 0;
	if (crypto_random(rnd, sizeof(rnd)) == -1) {
		seterr(err, errlen, "no randomness");
		return -1;
	}
	/* 57 symbols without look-alikes; 256 % 57 bias is negligible for
	 * ~116 bits, but reject-sample anyway to keep it exact. */
	for (i = 0; i < ADMIN_PASSWORD_LEN; i++) {
		while (rnd[i] >= 256 - 256 % (sizeof(alphabet) - 1))
			if (crypto_random(&rnd[i], 1) == -1)
				return -1;
		password[i] = alphabet[rnd[i] % (sizeof(alphabet) - 1)];
	}
	password[ADMIN_PASSWORD_LEN] = '\0';
	if (kdf_hash(password, m.conf.kdf_iterations, hash, sizeof(hash))
	    == -1) {
		seterr(err, errlen, "cannot hash the admin password");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/admin.password", m.conf.state_dir);
	snprintf(line, sizeof(line), "%s\n", password);
	if (write_secret_file(path, line, err, errlen) == -1)
		return -1;
	if (db_user_add(m.db, "admin", "admin", hash) == -1) {
		seterr(err, errlen, "cannot create the admin user");
		return -1;
	}
	db_audit(m.db, "system", "user_created", "", "admin");
	log_info("created user admin; its password is in %s", path);
	if (m.foreground) {
		/* The terminal, not the log: secrets are never logged. */
		printf("password: %s\n", password);
		fflush(stdout);
	}
	crypto_wipe(password, sizeof(password));
	crypto_wipe(line, sizeof(line));
	return 0;
}

/* A PEM file as it is, for a child (ipcmsg.h: IPCMSG_PEM_MAX at most). */
static void
read_pem(const char *path, struct pem *out)
{
	struct stat	st;
	ssize_t		r;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1)
		fatal("%s", path);
	if (fstat(fd, &st) == -1)
		fatal("%s", path);
	if (!S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    st.st_size > IPCMSG_PEM_MAX)
		fatalx("%s: not a PEM file of at most %d bytes", path,
		    IPCMSG_PEM_MAX);
	if ((out->data = malloc((size_t)st.st_size)) == NULL)
		fatal("malloc");
	out->len = (size_t)st.st_size;
	if ((r = read(fd, out->data, out->len)) != (ssize_t)out->len)
		fatalx("%s: cannot read it whole", path);
	close(fd);
}

void
pem_free(struct pem *p)
{
	if (p->data != NULL) {
		crypto_wipe(p->data, p->len);
		free(p->data);
	}
	p->data = NULL;
	p->len = 0;
}

/*
 * Make the certificate and key if this is the first start, check that
 * they make a TLS context for role (errors name the files), and read
 * them for the children that serve with them: a child cannot read them.
 */
void
load_tls(enum tls_role role, const char *cert, const char *key,
    struct pem *cert_pem, struct pem *key_pem)
{
	char	err[512];
	int	generated = 0;
	SSL_CTX	*ctx;
	char	host[256] = "octoBrain";

	gethostname(host, sizeof(host) - 1);
	if (tls_ensure_cert(cert, key, host, &generated, err, sizeof(err))
	    == -1)
		fatalx("%s", err);
	if (generated)
		log_info("generated a self-signed certificate %s (key %s)",
		    cert, key);
	if ((ctx = tls_ctx_new(role, cert, key, err, sizeof(err))) == NULL)
		fatalx("%s", err);
	SSL_CTX_free(ctx);
	read_pem(cert, cert_pem);
	read_pem(key, key_pem);
}

/*
 * Started as root with `user` set: each child runs as a user of its own
 * (webserv_user, ...), which cannot read state_dir; one that does not
 * exist falls back to `user`, said once here. The maestro then keeps
 * CAP_SETUID and CAP_SETGID to start them (drop_root).
 */
void
child_users(void)
{
	struct passwd	*pw;
	uid_t		 uid;
	size_t		 i;
	const char	*name;

	if (geteuid() != 0 || m.conf.user[0] == '\0')
		return;
	if ((pw = getpwnam(m.conf.user)) == NULL)
		return;		/* drop_root says so */
	uid = pw->pw_uid;
	for (i = 0; i < CHILD_COUNT; i++) {
		struct child	*c = &children[i];

		name = (const char *)&m.conf + c->user_conf;
		c->own_user = 0;
		if (name[0] == '\0')
			continue;
		if ((pw = getpwnam(name)) == NULL) {
			log_warnx("%s: user %s does not exist: it runs as %s",
			    c->name, name, m.conf.user);
			continue;
		}
		if (pw->pw_uid == 0) {
			log_warnx("%s: user %s is root: it runs as %s",
			    c->name, name, m.conf.user);
			continue;
		}
		if (pw->pw_uid == uid)
			continue;
		c->own_user = 1;
		c->uid = pw->pw_uid;
		c->gid = pw->pw_gid;
		m.child_users = 1;
		log_info("%s runs as user %s", c->name, name);
	}
}

/* Of root, keep only what starting a child as its user needs. */
static void
keep_setuid_caps(void)
{
	struct __user_cap_header_struct	hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (1U << CAP_SETUID) |
	    (1U << CAP_SETGID);
	if (prctl(PR_SET_KEEPCAPS, 0) == -1 ||
	    syscall(SYS_capset, &hdr, data) == -1)
		fatal("cannot keep CAP_SETUID and CAP_SETGID");
}

/* Started as root with a user configured: hand the state to that user,
 * then drop. The database is already open, the keys already loaded. */
void
drop_root(void)
{
	struct passwd	*pw;
	char		 err[512], path[OCTO_PATH_MAX + 16];
	const char	*suffix[] = { "", "-wal", "-shm" };
	size_t		 i;

	if (geteuid() != 0 || m.conf.user[0] == '\0')
		return;
	if ((pw = getpwnam(m.conf.user)) == NULL)
		fatalx("user %s does not exist (set `user` in %s, or leave it "
		    "empty to keep running as root)", m.conf.user,
		    m.config_path);
	if (chown(m.conf.state_dir, pw->pw_uid, pw->pw_gid) == -1)
		fatal("chown %s", m.conf.state_dir);
	if (m.pidfile_dir[0] != '\0' &&
	    chown(m.pidfile_dir, pw->pw_uid, pw->pw_gid) == -1)
		fatal("chown %s", m.pidfile_dir);
	for (i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s%s", m.conf.database,
		    suffix[i]);
		if (chown(path, pw->pw_uid, pw->pw_gid) == -1 &&
		    errno != ENOENT)
			fatal("chown %s", path);
	}
	/* What it made in its state directory at first start (certificate,
	 * key, admin password) must be usable when it is next started as
	 * that user directly (the systemd unit). Files elsewhere are the
	 * administrator's and keep their owner. */
	{
		const char	*mine[] = { m.conf.cert, m.conf.key,
		    m.conf.web_cert, m.conf.web_key, "admin.password" };
		size_t		 dl = strlen(m.conf.state_dir);

		for (i = 0; i < sizeof(mine) / sizeof(mine[0]); i++) {
			if (strchr(mine[i], '/') == NULL)
				snprintf(path, sizeof(path), "%s/%s",
				    m.conf.state_dir, mine[i]);
			else if (strncmp(mine[i], m.conf.state_dir, dl) == 0 &&
			    mine[i][dl] == '/')
				strlcpy(path, mine[i], sizeof(path));
			else
				continue;
			if (lchown(path, pw->pw_uid, pw->pw_gid) == -1 &&
			    errno != ENOENT)
				fatal("chown %s", path);
		}
	}
	/* The children's own users: the permitted capabilities survive the
	 * change of user (the effective ones do not: root cannot be had
	 * back, drop_privileges checks), then only two are taken again. */
	if (m.child_users && prctl(PR_SET_KEEPCAPS, 1) == -1)
		fatal("PR_SET_KEEPCAPS");
	if (drop_privileges(m.conf.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (m.child_users)
		keep_setuid_caps();
	log_info("running as user %s%s", m.conf.user, m.child_users ?
	    " (keeping CAP_SETUID and CAP_SETGID for the children)" : "");
}
