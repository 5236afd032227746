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
#include <event2/event.h>

#include "config.h"
#include "crypto.h"
#include "daemon.h"
#include "findings.h"
#include "ipcmsg.h"
#include "log.h"
#include "limits.h"
#include "maestro.h"
#include "net.h"

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
	if (export_config_check(c, err, errlen) == -1)
		return -1;
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
 * CAP_SETUID and CAP_SETGID to start them, and CAP_KILL to stop them
 * (another uid's processes take no signal from us otherwise: a child
 * that misbehaves could not be killed) (drop_root).
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

/* Of root, keep only what starting and stopping a child as its user
 * needs. */
static void
keep_setuid_caps(void)
{
	struct __user_cap_header_struct	hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct	data[2];

	memset(data, 0, sizeof(data));
	data[0].effective = data[0].permitted = (1U << CAP_SETUID) |
	    (1U << CAP_SETGID) | (1U << CAP_KILL);
	if (prctl(PR_SET_KEEPCAPS, 0) == -1 ||
	    syscall(SYS_capset, &hdr, data) == -1)
		fatal("cannot keep CAP_SETUID, CAP_SETGID and CAP_KILL");
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
		    m.conf.web_cert, m.conf.web_key, "admin.password",
		    SCRIPTKEY_FILE };
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
	 * back, drop_privileges checks), then only three are taken again. */
	if (m.child_users && prctl(PR_SET_KEEPCAPS, 1) == -1)
		fatal("PR_SET_KEEPCAPS");
	if (drop_privileges(m.conf.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (m.child_users)
		keep_setuid_caps();
	log_info("running as user %s%s", m.conf.user, m.child_users ?
	    " (keeping CAP_SETUID, CAP_SETGID and CAP_KILL for the children)" : "");
}

/*
 * SIGHUP: read the configuration again and apply what can change while
 * running (the maestro then tells the children). -1: the file is wrong,
 * nothing changed.
 */
int
startup_reload(void)
{
	struct brain_conf	nc;
	struct checks		*checks;
	char			err[512];
	int			rc;

	if (load_config(&nc, err, sizeof(err)) == -1 ||
	    (rc = load_checks(nc.checks_file, &checks, err, sizeof(err))) ==
	    -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		return -1;
	}
	/* The checks file is read again at once, from its new path too. */
	if (rc == CHECKS_MISSING)
		log_warnx("checks_file %s", err);
	else
		log_info("checks_file %s: %zu checks", nc.checks_file,
		    checks->n);
	checks_free(m.checks);
	m.checks = checks;
	strlcpy(m.conf.checks_file, nc.checks_file, sizeof(m.conf.checks_file));
	if (strcmp(nc.listen_address, m.conf.listen_address) ||
	    nc.registerer_port != m.conf.registerer_port ||
	    nc.commander_port != m.conf.commander_port ||
	    strcmp(nc.web_address, m.conf.web_address) ||
	    nc.web_port != m.conf.web_port ||
	    strcmp(nc.web_root, m.conf.web_root) ||
	    strcmp(nc.state_dir, m.conf.state_dir) ||
	    strcmp(nc.database, m.conf.database) ||
	    strcmp(nc.cert, m.conf.cert) || strcmp(nc.key, m.conf.key) ||
	    strcmp(nc.web_cert, m.conf.web_cert) ||
	    strcmp(nc.web_key, m.conf.web_key) ||
	    strcmp(nc.pidfile, m.conf.pidfile) || strcmp(nc.user, m.conf.user))
		log_warnx("addresses, ports, paths and user take effect at "
		    "the next restart");
	m.conf.session_timeout = nc.session_timeout;
	strlcpy(m.conf.enrolment_without_token, nc.enrolment_without_token,
	    sizeof(m.conf.enrolment_without_token));
	m.conf.pending_max = nc.pending_max;
	m.conf.enrolment_rate = nc.enrolment_rate;
	m.conf.login_attempts = nc.login_attempts;
	m.conf.login_window = nc.login_window;
	strlcpy(m.conf.totp_required, nc.totp_required,
	    sizeof(m.conf.totp_required));
	m.conf.kdf_iterations = nc.kdf_iterations;
	m.conf.io_timeout = nc.io_timeout;
	m.conf.restart_delay_max = nc.restart_delay_max;
	m.conf.max_tentacles = nc.max_tentacles;
	m.conf.keepalive_misses = nc.keepalive_misses;
	m.conf.retention_days = nc.retention_days;
	m.conf.audit_retention_days = nc.audit_retention_days;
	export_reload(&nc);
	metrics_reload(&nc);
	if (nc.keepalive_interval != m.conf.keepalive_interval) {
		struct timeval	ka = { nc.keepalive_interval, 0 };

		m.conf.keepalive_interval = nc.keepalive_interval;
		event_add(m.keepalive_ev, &ka);
	}
	return 0;
}

/* octoBrain --reset-totp USER: on the database, beside a running brain
 * or not (SQLite's locks; WAL), as the user that owns it or root. */
int
startup_reset_totp(const char *user)
{
	char	msg[256];
	int	rc;

	/* Never a new, empty database (it would be root's). */
	if (access(m.conf.database, F_OK) == -1) {
		fprintf(stderr, "octoBrain: database %s: %s\n",
		    m.conf.database, strerror(errno));
		return 1;
	}
	if ((m.db = db_open(m.conf.database, msg, sizeof(msg))) == NULL) {
		fprintf(stderr, "octoBrain: database: %s\n", msg);
		return 1;
	}
	rc = users_reset_totp(user, msg, sizeof(msg));
	db_close(m.db);
	m.db = NULL;
	fprintf(rc == 0 ? stdout : stderr, "%s%s\n", rc == 0 ? "" :
	    "octoBrain: ", msg);
	return rc == 0 ? 0 : 1;
}

/*
 * Everything the maestro holds before it starts its children: state_dir,
 * the TLS credentials (read into memory, for IPC_CHILD_INIT), web_root,
 * the database and its admin, the listening sockets (fd, by child); then
 * the children's users and the drop of root. Fatal on any error.
 */
void
startup_open(int fd[CHILD_COUNT])
{
	char	err[1024] = "", path[OCTO_PATH_MAX + 32];

	if (make_dir(m.conf.state_dir, err, sizeof(err)) == -1)
		fatalx("%s", err);
	load_tls(TLS_PEER_SERVER, m.conf.cert, m.conf.key, &m.peer_cert,
	    &m.peer_key);
	load_tls(TLS_WEB_SERVER, m.conf.web_cert, m.conf.web_key,
	    &m.web_cert, &m.web_key);
	/* Beside the TLS key; the maestro's alone (issue 14). */
	if (snprintf(path, sizeof(path), "%s/%s", m.conf.state_dir,
	    SCRIPTKEY_FILE) >= (int)sizeof(path) ||
	    scriptkey_load(path, err, sizeof(err)) == -1)
		fatalx("%s", err[0] ? err : "state_dir is too long");
	if (tls_fingerprint_file(m.conf.cert, m.brain_fpr) == -1)
		fatalx("cannot read the fingerprint of %s", m.conf.cert);
	log_info("certificate fingerprint for tentacles: %s", m.brain_fpr);
	if ((m.webroot_fd = open(m.conf.web_root, O_PATH | O_DIRECTORY |
	    O_CLOEXEC)) == -1)
		fatal("web_root %s", m.conf.web_root);
	if ((m.db = db_open(m.conf.database, err, sizeof(err))) == NULL)
		fatalx("database: %s", err);
	if (ensure_admin(err, sizeof(err)) == -1)
		fatalx("%s", err);
	/* Unknown users are checked against this, at the same cost. */
	if (kdf_hash("no such user", m.conf.kdf_iterations, m.dummy_hash,
	    sizeof(m.dummy_hash)) == -1)
		fatalx("cannot compute the KDF");

	if ((fd[CHILD_WEBSERV] = net_listen(m.conf.web_address,
	    m.conf.web_port, err, sizeof(err))) == -1 ||
	    (fd[CHILD_REGISTERER] = net_listen(m.conf.listen_address,
	    m.conf.registerer_port, err, sizeof(err))) == -1 ||
	    (fd[CHILD_COMMANDER] = net_listen(m.conf.listen_address,
	    m.conf.commander_port, err, sizeof(err))) == -1)
		fatalx("%s", err);
	fd[CHILD_EXPORTER] = -1;	/* it connects out only */
	export_setup();
	metrics_setup();
	child_users();
	/* Each tentacle may hold a connection to 6001 while delivering and
	 * the commander one to its 7001, the webserv HTTP_CONN_MAX; leave
	 * room for the rest. */
	raise_nofile_limit(m.conf.max_tentacles * 2 + HTTP_CONN_MAX + 256);
	drop_root();
}
