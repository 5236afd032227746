/*
 * octoTentacle: the agent on every supervised host.
 *
 * main() is the supervisor. It reads the configuration, locks the pidfile,
 * makes sure the TLS certificate exists, binds the listening socket and
 * builds the TLS context, then forks one child and watches it:
 *	register	TLS on register_port while not enrolled (register.c)
 *	command worker	TLS on command_port once enrolled (commandworker.c)
 * A child that dies is logged and restarted after a backoff; SIGTERM stops
 * everything; SIGHUP re-reads the configuration and restarts the child
 * with it. The child inherits only its listening socket and stderr.
 *
 * With `user` set and started as root (privilege separation, privsep.h),
 * the child makes its TLS client context, then drops to that user
 * (setgroups, setresgid, setresuid: it cannot regain root); the command
 * worker also inherits a socketpair to the supervisor, which stays root,
 * runs the scripts it asks for and sends back their results. State files
 * the children write (state_dir, the spool) are handed to that user at
 * start-up; the private key and the enrolment stay root's, in a directory
 * of root's (keyfile.h, enrolment.h), the children get their TLS contexts
 * ready-made, and the tentacle's key never leaves the supervisor: it
 * makes every proof and MAC for them (privsep.h).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "config.h"
#include "crypto.h"
#include "daemon.h"
#include "enrolment.h"
#include "keyfile.h"
#include "log.h"
#include "managed.h"
#include "net.h"
#include "pairing.h"
#include "privsep.h"
#include "proto.h"
#include "spool.h"
#include "tls.h"
#include "tentacle.h"

/* Restart backoff: 1 s doubling to 30 s, so a child that cannot start
 * neither spins nor stays down long once the cause is gone. A child that
 * ran this long was healthy: its next restart starts over at 1 s. */
#define RESTART_DELAY_MIN	1
#define RESTART_DELAY_MAX	30
#define RESTART_HEALTHY_S	60

/* Seconds a child has to exit on SIGTERM before it gets SIGKILL. */
#define CHILD_STOP_WAIT		5

/* The descriptor numbers a child finds its listening socket at, and
 * (the command worker, with privilege separation) its socketpair. */
#define CHILD_LISTEN_FD		3
#define CHILD_PRIV_FD		4

/* Command-line options that override the file, re-applied on reload. */
#define OVERRIDES_MAX		4
struct override {
	const char	*key;
	char		 value[OCTO_PATH_MAX];
};

struct options {
	char		 config[OCTO_PATH_MAX];
	int		 config_given;
	int		 foreground;
	int		 verbose;
	int		 check;
	int		 reenrol;
	int		 ping;
	int		 pairing_code;
	struct override	 overrides[OVERRIDES_MAX];
	int		 noverrides;
	char		 token[TENTACLE_TOKEN_MAX + 1];
};

struct supervisor {
	struct options		 opts;
	struct tentacle_conf	 conf;
	struct pidfile		 pidfile;
	struct event_base	*base;
	struct event		*ev_sigterm, *ev_sigint, *ev_sighup;
	struct event		*ev_sigchld, *ev_restart;
	SSL_CTX			*tls;
	int			 listen_fd;
	enum tentacle_role	 listen_role;	/* what listen_fd is for */
	pid_t			 child;		/* -1: none running */
	enum tentacle_role	 child_role;
	time_t			 child_started;
	int			 restart_delay;	/* s, next backoff */
	int			 restart_now;	/* we stopped it to reload */
	int			 daemonised;
	int			 exit_status;
	pid_t			 pid;
	/* Privilege separation: `user` set and started as root. */
	int			 privsep;
	uid_t			 uid;
	gid_t			 gid;
	int			 child_priv_fd;	/* the child's end, -1 */
	uint8_t			 enrol_pub[PROTO_PUB_LEN];	/* register's */
	/* The pairing code (pairing.h): "" while none is wanted. */
	char			 pairing_code[PROTO_PAIRING_LEN + 1];
	time_t			 pairing_made;		/* wall clock */
	int			 pairing_renew;	/* the register asked */
	time_t			 pairing_lost[PAIRING_ROTATIONS_MAX];
};

static time_t
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static const char *
role_name(enum tentacle_role role)
{
	return role == ROLE_REGISTER ? "register" : "command worker";
}

static int
role_port(const struct tentacle_conf *conf, enum tentacle_role role)
{
	return role == ROLE_REGISTER ? conf->register_port :
	    conf->command_port;
}

/* An error message for the caller; truncating a long path is fine. */
static void __attribute__((format(printf, 3, 4)))
set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static void __attribute__((noreturn))
usage(FILE *f, int status)
{
	fprintf(f,
"usage: %s [-nv] [-c file] [--no-daemon] [-b brain_ip]\n"
"           [-t token | --token-file file] [--listen addr] [--name name]\n"
"           [--reenrol] [--ping] [--pairing-code]\n"
"  -c, --config FILE     configuration file (default %s;\n"
"                        when absent, run on the built-in defaults)\n"
"      --no-daemon       stay in the foreground, log to stderr\n"
"  -v, --verbose         also log debug lines\n"
"  -n, --check           check the configuration and exit (-v: print it)\n"
"  -b, --brain IP        enrol with the brain at this numeric address\n"
"  -t, --token TOKEN     enrolment token made by the brain ('-': read stdin)\n"
"      --token-file FILE read the enrolment token from FILE\n"
"      --listen ADDR     numeric address to listen on (listen_address)\n"
"      --name NAME       name to enrol under instead of the hostname\n"
"      --reenrol         forget the enrolment (logging its ID) and enrol again\n"
"      --ping            check the handshake with the brain's commander and\n"
"                        print the enrolment status (beside a running daemon)\n"
"      --pairing-code    print the pairing code a brain needs to enrol this\n"
"                        tentacle by address (as root: the file is root's)\n"
"      --version         print the version and exit\n"
"  -h, --help            print this help and exit\n",
	    TENTACLE_PROGNAME, TENTACLE_CONFIG_FILE);
	exit(status);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "%s: ", TENTACLE_PROGNAME);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(2);
}

static void
add_override(struct options *o, const char *opt, const char *key,
    const char *value)
{
	struct tentacle_conf	 scratch;
	char			 err[512];
	int			 i;

	/* Check now, so a bad option fails before anything happens. */
	tentacle_config_defaults(&scratch);
	if (config_set(tentacle_config_keys, &scratch, key, value, err,
	    sizeof(err)) == -1)
		usage_error("%s", err);
	for (i = 0; i < o->noverrides; i++)
		if (strcmp(o->overrides[i].key, key) == 0)
			break;
	if (i == OVERRIDES_MAX)
		usage_error("%s: too many options", opt);
	if (strlcpy(o->overrides[i].value, value,
	    sizeof(o->overrides[i].value)) >= sizeof(o->overrides[i].value))
		usage_error("%s: value too long", opt);
	o->overrides[i].key = key;
	if (i == o->noverrides)
		o->noverrides++;
}

/* A token is a secret made by the brain: printable, no spaces. */
static void
set_token(struct options *o, const char *from, const char *token)
{
	size_t	 len = strlen(token);
	size_t	 i;

	if (len == 0)
		usage_error("%s: empty enrolment token", from);
	if (len > TENTACLE_TOKEN_MAX)
		usage_error("%s: enrolment token too long (at most %d "
		    "characters)", from, TENTACLE_TOKEN_MAX);
	for (i = 0; i < len; i++)
		if (token[i] <= ' ' || token[i] > '~')
			usage_error("%s: enrolment token has a space or a "
			    "control character", from);
	memcpy(o->token, token, len + 1);
}

/* Read a token: its first line, without the newline. */
static void
read_token(struct options *o, const char *from, FILE *f)
{
	char	line[TENTACLE_TOKEN_MAX + 3];
	size_t	len;

	if (fgets(line, sizeof(line), f) == NULL)
		usage_error("%s: no enrolment token to read", from);
	len = strcspn(line, "\r\n");
	if (line[len] == '\0' && len > TENTACLE_TOKEN_MAX)
		usage_error("%s: enrolment token too long (at most %d "
		    "characters)", from, TENTACLE_TOKEN_MAX);
	line[len] = '\0';
	set_token(o, from, line);
	crypto_wipe(line, sizeof(line));
}

enum {
	OPT_NO_DAEMON = 256,
	OPT_VERSION,
	OPT_TOKEN_FILE,
	OPT_LISTEN,
	OPT_NAME,
	OPT_REENROL,
	OPT_PING,
	OPT_PAIRING_CODE,
};

static void
parse_options(int argc, char *argv[], struct options *o)
{
	static const struct option longopts[] = {
		{ "config",	required_argument,	NULL, 'c' },
		{ "no-daemon",	no_argument,		NULL, OPT_NO_DAEMON },
		{ "verbose",	no_argument,		NULL, 'v' },
		{ "check",	no_argument,		NULL, 'n' },
		{ "brain",	required_argument,	NULL, 'b' },
		{ "token",	required_argument,	NULL, 't' },
		{ "token-file",	required_argument,	NULL, OPT_TOKEN_FILE },
		{ "listen",	required_argument,	NULL, OPT_LISTEN },
		{ "name",	required_argument,	NULL, OPT_NAME },
		{ "reenrol",	no_argument,		NULL, OPT_REENROL },
		{ "ping",	no_argument,		NULL, OPT_PING },
		{ "pairing-code", no_argument,		NULL, OPT_PAIRING_CODE },
		{ "version",	no_argument,		NULL, OPT_VERSION },
		{ "help",	no_argument,		NULL, 'h' },
		{ NULL,		0,			NULL, 0 }
	};
	FILE	*f;
	int	 ch, token_opts = 0;

	memset(o, 0, sizeof(*o));
	strlcpy(o->config, TENTACLE_CONFIG_FILE, sizeof(o->config));
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:vnb:t:h", longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (strlcpy(o->config, optarg, sizeof(o->config)) >=
			    sizeof(o->config))
				usage_error("-c: path too long");
			o->config_given = 1;
			break;
		case OPT_NO_DAEMON:
			o->foreground = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'n':
			o->check = 1;
			break;
		case 'b':
			if (!net_addr_valid(optarg))
				usage_error("-b: not a numeric IPv4 or IPv6 "
				    "address: '%s'", optarg);
			add_override(o, "-b", "brain", optarg);
			break;
		case 't':
			token_opts++;
			if (strcmp(optarg, "-") == 0)
				read_token(o, "-t -", stdin);
			else {
				set_token(o, "-t", optarg);
				/* Keep the secret out of ps. */
				explicit_bzero(optarg, strlen(optarg));
			}
			break;
		case OPT_TOKEN_FILE:
			token_opts++;
			if ((f = fopen(optarg, "re")) == NULL)
				usage_error("--token-file: %s: %s", optarg,
				    strerror(errno));
			read_token(o, optarg, f);
			fclose(f);
			break;
		case OPT_LISTEN:
			add_override(o, "--listen", "listen_address", optarg);
			break;
		case OPT_NAME:
			add_override(o, "--name", "name", optarg);
			break;
		case OPT_REENROL:
			o->reenrol = 1;
			break;
		case OPT_PING:
			o->ping = 1;
			break;
		case OPT_PAIRING_CODE:
			o->pairing_code = 1;
			break;
		case OPT_VERSION:
			printf("%s %s\n", TENTACLE_PROGNAME, OCTO_VERSION);
			exit(0);
		case 'h':
			usage(stdout, 0);
		case ':':
			usage_error("option %s needs a value",
			    argv[optind - 1]);
		default:
			if (optopt != 0)
				usage_error("unknown option -%c (see --help)",
				    optopt);
			usage_error("unknown option %s (see --help)",
			    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s' (see --help)",
		    argv[optind]);
	if (token_opts > 1)
		usage_error("give the enrolment token once (-t or "
		    "--token-file)");
}

/*
 * Build a configuration: defaults, the file (if -c was given or the
 * default file exists), then the command-line overrides. The caller
 * finishes it with conf_finish().
 */
static int
conf_read(const struct options *o, struct tentacle_conf *conf, char *err,
    size_t errlen)
{
	int	i;

	tentacle_config_defaults(conf);
	if (o->config_given || access(o->config, F_OK) == 0) {
		if (config_parse_file(o->config, tentacle_config_keys, conf,
		    err, errlen) == -1)
			return -1;
	}
	for (i = 0; i < o->noverrides; i++)
		if (config_set(tentacle_config_keys, conf,
		    o->overrides[i].key, o->overrides[i].value, err,
		    errlen) == -1)
			return -1;
	memcpy(conf->token, o->token, sizeof(conf->token));
	conf->reenrol = o->reenrol;
	return 0;
}

/* Secret then the brain's fingerprint, all lowercase hex. */
static int
token_valid(const char *t)
{
	char	secret[PROTO_TOKEN_SECRET_LEN + 1];
	int	ok;

	if (strlen(t) != TENTACLE_TOKEN_LEN)
		return 0;
	memcpy(secret, t, PROTO_TOKEN_SECRET_LEN);
	secret[PROTO_TOKEN_SECRET_LEN] = '\0';
	ok = proto_token_secret_valid(secret) &&
	    proto_fingerprint_valid(t + PROTO_TOKEN_SECRET_LEN);
	crypto_wipe(secret, sizeof(secret));
	return ok;
}

static int
conf_finish(const struct options *o, struct tentacle_conf *conf, char *err,
    size_t errlen)
{
	char		 why[512];
	const char	*where;

	/* Name the file when there is one: the mistake may be in it. */
	where = o->config_given || access(o->config, F_OK) == 0 ?
	    o->config : TENTACLE_PROGNAME;
	tentacle_config_finish(conf);
	if (tentacle_config_check(conf, why, sizeof(why)) == -1) {
		set_err(err, errlen, "%s: %s", where, why);
		return -1;
	}
	if (conf->token[0] != '\0' && conf->brain[0] == '\0') {
		set_err(err, errlen, "%s: an enrolment token needs a brain "
		    "(-b, or 'brain' in the configuration)", where);
		return -1;
	}
	if (conf->token[0] != '\0' && !token_valid(conf->token)) {
		set_err(err, errlen, "%s: the enrolment token is not one a "
		    "brain makes (%d lowercase hex digits)", TENTACLE_PROGNAME,
		    TENTACLE_TOKEN_LEN);
		return -1;
	}
	return 0;
}

static void
print_line(const char *line)
{
	printf("%s\n", line);
}

static int	make_dir(const char *, mode_t, char *, size_t);

/* The script-signing key the enrolment reply gave (kept in the
 * enrolment, which only this process writes with privilege separation,
 * and which never keeps one from a file the user could write:
 * enrolment_migrate), pinned if none is yet (whatever managed_scripts
 * says): from then on only a key already pinned counts. */
static void
managed_pin_enrolled(const struct tentacle_conf *conf)
{
	struct enrolment	e;
	uint8_t			pub[PROTO_SIGN_PUB_LEN];
	char			path[OCTO_PATH_MAX + 32], err[512];
	char			pdir[OCTO_PATH_MAX];
	int			rc;

	if (managed_pin_dir(conf, pdir, sizeof(pdir)) == -1 ||
	    enrolment_path(conf->state_dir, path, sizeof(path)) == -1 ||
	    enrolment_load(path, &e, err, sizeof(err)) != 0)
		return;
	if (e.has_sign_pub && managed_pin_load(pdir, pub, err, sizeof(err)) ==
	    0) {
		if ((rc = managed_pin_store(pdir, e.sign_pub, err,
		    sizeof(err))) == -1)
			log_warnx("%s", err);
		else if (rc == 1)
			log_info("script-signing key of the enrolment pinned");
	}
	enrolment_wipe(&e);
}

/* managed_scripts = yes: managed_scripts_dir exists, 0700, ours (root's
 * with privilege separation: the supervisor alone writes it). */
static int
managed_prepare(const struct tentacle_conf *conf, char *err, size_t errlen)
{
	managed_pin_enrolled(conf);
	if (!conf->managed_scripts)
		return 0;
	if (make_dir(conf->managed_scripts_dir, 0700, err, errlen) == -1 ||
	    managed_dir_init(conf->managed_scripts_dir, err, errlen) == -1)
		return -1;
	return 0;
}

/* mkdir -p: parents 0755, the last one `mode`. */
static int
make_dir(const char *path, mode_t mode, char *err, size_t errlen)
{
	char		 tmp[OCTO_PATH_MAX];
	struct stat	 st;
	char		*p;

	if (stat(path, &st) == 0) {
		if (!S_ISDIR(st.st_mode)) {
			set_err(err, errlen, "%s: not a directory", path);
			return -1;
		}
		return 0;
	}
	if (strlcpy(tmp, path, sizeof(tmp)) >= sizeof(tmp)) {
		set_err(err, errlen, "%s: path too long", path);
		return -1;
	}
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0755) == -1 && errno != EEXIST) {
			set_err(err, errlen, "%s: cannot create: %s", tmp,
			    strerror(errno));
			return -1;
		}
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST) {
		set_err(err, errlen, "%s: cannot create: %s", tmp,
		    strerror(errno));
		return -1;
	}
	return 0;
}

static int
dir_of(const char *path, char *out, size_t outlen)
{
	char	*slash;

	if (strlcpy(out, path, outlen) >= outlen)
		return -1;
	if ((slash = strrchr(out, '/')) == NULL)
		return -1;
	if (slash == out)
		slash[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

static int
is_enrolled(const struct tentacle_conf *conf)
{
	char	path[OCTO_PATH_MAX + 32];

	return enrolment_path(conf->state_dir, path, sizeof(path)) == 0 &&
	    access(path, F_OK) == 0;
}

static enum tentacle_role
current_role(const struct tentacle_conf *conf)
{
	return is_enrolled(conf) ? ROLE_COMMAND : ROLE_REGISTER;
}

/*
 * At start-up: --reenrol forgets the enrolment (the only way to enrol
 * again); otherwise an enrolment file must be whole, or we stop: a
 * corrupt one is for a person to look at, never a reason to re-enrol.
 */
static int
check_enrolment(const struct tentacle_conf *conf, int reenrol, char *err,
    size_t errlen)
{
	struct enrolment	 e;
	char			 path[OCTO_PATH_MAX + 32], why[1024];
	int			 rc;

	if (enrolment_path(conf->state_dir, path, sizeof(path)) == -1) {
		set_err(err, errlen, "state_dir too long");
		return -1;
	}
	rc = enrolment_load(path, &e, why, sizeof(why));
	if (rc == 1)
		return 0;
	if (!reenrol) {
		if (rc == -1) {
			set_err(err, errlen, "%s", why);
			return -1;
		}
		log_info("enrolled with brain %s as tentacle ID %" PRIu64
		    " (%s)", e.brain_address, e.id,
		    proto_enrolment_str(e.status));
		enrolment_wipe(&e);
		return 0;
	}
	if (rc == 0)
		log_warnx("--reenrol: forgetting the enrolment as tentacle ID "
		    "%" PRIu64 " of brain %s (%s)", e.id, e.brain_address, proto_enrolment_str(e.status));
	else
		log_warnx("--reenrol: removing the unreadable enrolment file: "
		    "%s", why);
	enrolment_wipe(&e);
	if (unlink(path) == -1) {
		set_err(err, errlen, "--reenrol: %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Hand the entry `name` of directory dfd to the user: a regular file with
 * a single link, or a directory; never through a symbolic link (the
 * directory is the user's: what it holds may have been planted there).
 */
static int
give_at(const struct supervisor *sv, int dfd, const char *name, char *err,
    size_t errlen)
{
	struct stat	st;
	int		fd, rc = 0;

	if ((fd = openat(dfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 0;
		set_err(err, errlen, "%s: %s", name, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		set_err(err, errlen, "%s: %s", name, strerror(errno));
		rc = -1;
	} else if (((S_ISREG(st.st_mode) && st.st_nlink == 1) ||
	    S_ISDIR(st.st_mode)) && fchownat(fd, "", sv->uid, sv->gid,
	    AT_EMPTY_PATH) == -1) {
		set_err(err, errlen, "%s: chown to %s: %s", name, sv->conf.user,
		    strerror(errno));
		rc = -1;
	}
	close(fd);
	return rc;
}

/*
 * The directory `name` of dfd (AT_FDCWD: a path), 0700 and the user's;
 * with `entries`, what it holds too, one level, and the entries of its
 * subdirectory `sub`. `follow`: name may be a symbolic link (a path the
 * administrator chose, in a directory of root's); otherwise never.
 */
static int
give_dir(const struct supervisor *sv, int dfd, const char *name,
    int follow, int entries, const char *sub, char *err, size_t errlen)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, dup_fd, rc = 0;

	if ((fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC |
	    (follow ? 0 : O_NOFOLLOW))) == -1) {
		set_err(err, errlen, "%s: %s", name, errno == ELOOP ||
		    errno == ENOTDIR ? "not a directory (a symbolic link?)" :
		    strerror(errno));
		return -1;
	}
	if (fchown(fd, sv->uid, sv->gid) == -1 || fchmod(fd, 0700) == -1) {
		set_err(err, errlen, "%s: chown to %s: %s", name, sv->conf.user,
		    strerror(errno));
		close(fd);
		return -1;
	}
	if (!entries) {
		close(fd);
		return 0;
	}
	if ((dup_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0)) == -1 ||
	    (d = fdopendir(dup_fd)) == NULL) {
		set_err(err, errlen, "%s: %s", name, strerror(errno));
		if (dup_fd != -1)
			close(dup_fd);
		close(fd);
		return -1;
	}
	while (rc == 0 && (de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (sub != NULL && strcmp(de->d_name, sub) == 0 &&
		    de->d_type == DT_DIR)
			rc = give_dir(sv, fd, de->d_name, 0, 1, NULL, err,
			    errlen);
		else
			rc = give_at(sv, fd, de->d_name, err, errlen);
	}
	closedir(d);
	close(fd);
	return rc;
}

/* The part of path below dir when path is directly in it, else NULL. */
static const char *
directly_in(const char *dir, const char *path)
{
	size_t	dl = strlen(dir);

	if (strncmp(path, dir, dl) != 0 || path[dl] != '/' ||
	    path[dl + 1] == '\0' || strchr(path + dl + 1, '/') != NULL)
		return NULL;
	return path + dl + 1;
}

/* 1 if path is anywhere below dir. */
static int
below(const char *dir, const char *path)
{
	size_t	dl = strlen(dir);

	return strncmp(path, dir, dl) == 0 && path[dl] == '/';
}

/* The user privilege separation drops to; 0, or -1 with err. */
static int
privsep_user(struct supervisor *sv, char *err, size_t errlen)
{
	struct passwd	*pw;

	sv->privsep = 0;
	if (sv->conf.user[0] == '\0')
		return 0;
	if (geteuid() != 0) {
		log_debug("not started as root: user %s ignored",
		    sv->conf.user);
		return 0;
	}
	errno = 0;
	if ((pw = getpwnam(sv->conf.user)) == NULL) {
		set_err(err, errlen, "user %s: %s", sv->conf.user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	if (pw->pw_uid == 0) {
		set_err(err, errlen, "user %s: is root: set user to an "
		    "unprivileged user, or leave it empty", sv->conf.user);
		return -1;
	}
	sv->uid = pw->pw_uid;
	sv->gid = pw->pw_gid;
	sv->privsep = 1;
	return 0;
}

/*
 * What the children write is the user's: state_dir (0700), the spool
 * (0700) and what it holds, the certificate when it is in state_dir
 * (public; the register reads its fingerprint). The private key and the
 * enrolment stay root's, in state_dir/private (root's: keyfile.h), never
 * handed over: the children get their TLS contexts made, the command
 * worker the enrolment without its key, and the register hands the
 * enrolment to the supervisor, which writes it (privsep.h).
 * Inside state_dir (the user's) nothing is followed through a symbolic
 * link, so that what a compromised child plants there cannot make root
 * hand it anything else.
 */
static int
own_state(struct supervisor *sv, char *err, size_t errlen)
{
	const char	*spool, *cert;
	int		 sfd, rc = -1;

	if (!sv->privsep)
		return 0;
	spool = directly_in(sv->conf.state_dir, sv->conf.spool_dir);
	if (spool == NULL && below(sv->conf.state_dir, sv->conf.spool_dir)) {
		set_err(err, errlen, "spool_dir %s: with user set, it must be "
		    "directly in state_dir, or outside it", sv->conf.spool_dir);
		return -1;
	}
	if (give_dir(sv, AT_FDCWD, sv->conf.state_dir, 1, 0, NULL, err,
	    errlen) == -1)
		return -1;
	if ((sfd = open(sv->conf.state_dir, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		set_err(err, errlen, "%s: %s", sv->conf.state_dir,
		    strerror(errno));
		return -1;
	}
	if ((cert = directly_in(sv->conf.state_dir, sv->conf.cert)) != NULL &&
	    give_at(sv, sfd, cert, err, errlen) == -1)
		goto done;
	if (spool != NULL) {
		if (mkdirat(sfd, spool, 0700) == -1 && errno != EEXIST) {
			set_err(err, errlen, "%s: cannot create: %s",
			    sv->conf.spool_dir, strerror(errno));
			goto done;
		}
		if (give_dir(sv, sfd, spool, 0, 1, SPOOL_REJECTED_DIR, err,
		    errlen) == -1)
			goto done;
	} else if (make_dir(sv->conf.spool_dir, 0700, err, errlen) == -1 ||
	    give_dir(sv, AT_FDCWD, sv->conf.spool_dir, 1, 1,
	    SPOOL_REJECTED_DIR, err, errlen) == -1)
		goto done;
	rc = 0;
 done:
	close(sfd);
	return rc;
}

/*
 * state_dir/private (keyfile.h: made there for the default key; made
 * here whatever the key's path), which holds the enrolment: ours (root's
 * with privilege separation), 0700. An enrolment of an older tentacle,
 * in state_dir, is moved in (enrolment_migrate).
 */
static int
private_prepare(const struct tentacle_conf *conf, int reenrol, char *err,
    size_t errlen)
{
	char		dir[OCTO_PATH_MAX + 16], why[256];
	struct stat	st;
	int		fd;

	if ((size_t)snprintf(dir, sizeof(dir), "%s/" ENROLMENT_DIR,
	    conf->state_dir) >= sizeof(dir)) {
		set_err(err, errlen, "state_dir too long");
		return -1;
	}
	if (mkdir(dir, 0700) == 0)
		log_info("made %s for the enrolment (only this user writes "
		    "there)", dir);
	else if (errno != EEXIST) {
		set_err(err, errlen, "%s: cannot create: %s", dir,
		    strerror(errno));
		return -1;
	}
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		set_err(err, errlen, "%s: refused: %s", dir, errno == ELOOP ||
		    errno == ENOTDIR ? "not a directory (a symbolic link?)" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || keyfile_dir_refused(&st, geteuid(), why,
	    sizeof(why))) {
		set_err(err, errlen, "%s: refused: %s", dir, why);
		close(fd);
		return -1;
	}
	close(fd);
	if (enrolment_migrate(conf->state_dir, err, errlen) == 0)
		return 0;
	if (!reenrol || enrolment_old_path(conf->state_dir, dir,
	    sizeof(dir)) == -1)
		return -1;
	log_warnx("--reenrol: removing the unreadable enrolment file: %s", err);
	if (unlink(dir) == -1) {
		set_err(err, errlen, "--reenrol: %s: %s", dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* The name the tentacle gives: the configured one or the hostname. */
static void
host_name(const struct tentacle_conf *conf, char *out, size_t outlen)
{
	if (conf->name[0] != '\0') {
		strlcpy(out, conf->name, outlen);
		return;
	}
	if (gethostname(out, outlen) == -1 || out[0] == '\0')
		strlcpy(out, "octoTentacle", outlen);
	out[outlen - 1] = '\0';
}

/* Make the certificate if needed and load it into a server context. */
static SSL_CTX *
load_tls(const struct tentacle_conf *conf, char *err, size_t errlen)
{
	char	 cn[OCTO_NAME_MAX + 256];
	char	 fpr[OCTO_FPR_HEX_LEN + 1];
	int	 generated = 0;
	SSL_CTX	*ctx;

	host_name(conf, cn, sizeof(cn));
	if (keyfile_prepare(conf, cn, &generated, err, errlen) == -1)
		return NULL;
	if (generated) {
		if (tls_fingerprint_file(conf->cert, fpr) == -1)
			strlcpy(fpr, "unknown", sizeof(fpr));
		log_info("generated key %s and certificate %s for %s "
		    "(fingerprint %s)", conf->key, conf->cert, cn, fpr);
	}
	if ((ctx = keyfile_ctx(conf, TLS_PEER_SERVER, err, errlen)) == NULL)
		return NULL;
	return ctx;
}

static int
bind_role(const struct tentacle_conf *conf, enum tentacle_role role,
    char *err, size_t errlen)
{
	return net_listen(conf->listen_address, role_port(conf, role), err,
	    errlen);
}

/* --pairing-code: the code of a tentacle that waits to be enrolled. */
static int
print_pairing_code(const struct tentacle_conf *conf)
{
	char	code[PROTO_PAIRING_LEN + 1], shown[PROTO_PAIRING_SHOWN + 1];
	char	err[1024];
	time_t	made;
	int	rc;

	if (is_enrolled(conf)) {
		fprintf(stderr, "%s: enrolled: no pairing code\n",
		    TENTACLE_PROGNAME);
		return 1;
	}
	if (!pairing_wanted(conf)) {
		fprintf(stderr, "%s: no pairing code: %s\n", TENTACLE_PROGNAME,
		    strcmp(conf->pairing, "off") == 0 ? "pairing = off" :
		    "tied to its brain (brain or brain_fingerprint is set)");
		return 1;
	}
	rc = pairing_read(conf->state_dir, code, &made, err, sizeof(err));
	if (rc == -1) {
		fprintf(stderr, "%s: %s\n", TENTACLE_PROGNAME, err);
		return 1;
	}
	if (rc == 1 || time(NULL) - made >= PAIRING_LIFETIME_S) {
		fprintf(stderr, "%s: no current pairing code: %s makes one "
		    "when it starts\n", TENTACLE_PROGNAME, TENTACLE_PROGNAME);
		crypto_wipe(code, sizeof(code));
		return 1;
	}
	proto_pairing_show(code, shown);
	printf("%s\n", shown);
	crypto_wipe(code, sizeof(code));
	crypto_wipe(shown, sizeof(shown));
	return 0;
}

/*
 * Before the register starts: the pairing code it must check, read from
 * its file or made anew (none yet, too old, or the register asked). A new
 * code goes to the terminal with --no-daemon, never to syslog.
 */
static int
pairing_prepare(struct supervisor *sv)
{
	static int	 shown_once;
	char		 err[1024], shown[PROTO_PAIRING_SHOWN + 1];
	time_t		 now = time(NULL);
	int		 rc, fresh = 0;

	if (!pairing_wanted(&sv->conf)) {
		crypto_wipe(sv->pairing_code, sizeof(sv->pairing_code));
		return 0;
	}
	if (sv->pairing_code[0] == '\0' && !sv->pairing_renew) {
		rc = pairing_read(sv->conf.state_dir, sv->pairing_code,
		    &sv->pairing_made, err, sizeof(err));
		if (rc == -1) {
			log_warnx("%s", err);
			return -1;
		}
		if (rc == 1)
			sv->pairing_code[0] = '\0';
	}
	if (sv->pairing_renew || sv->pairing_code[0] == '\0' ||
	    now - sv->pairing_made >= PAIRING_LIFETIME_S ||
	    sv->pairing_made > now + 60) {
		if (proto_pairing_new(sv->pairing_code) == -1) {
			log_warnx("no randomness for a pairing code");
			return -1;
		}
		if (pairing_write(sv->conf.state_dir, sv->pairing_code, err,
		    sizeof(err)) == -1) {
			log_warnx("%s", err);
			crypto_wipe(sv->pairing_code, sizeof(sv->pairing_code));
			return -1;
		}
		sv->pairing_made = now;
		fresh = 1;
		log_info("new pairing code made (%s --pairing-code shows it)",
		    TENTACLE_PROGNAME);
	}
	sv->pairing_renew = 0;
	if ((fresh || !shown_once) && !sv->daemonised) {
		proto_pairing_show(sv->pairing_code, shown);
		fprintf(stderr, "pairing code: %s\n", shown);
		crypto_wipe(shown, sizeof(shown));
	}
	shown_once = 1;
	return 0;
}

/* Pairing pauses after PAIRING_ROTATIONS_MAX codes lost to wrong proofs
 * within PAIRING_LIFETIME_S: until when (0: it does not). */
static time_t
pairing_paused_until(const struct supervisor *sv)
{
	time_t	now = time(NULL), oldest = 0;
	int	i, n = 0;

	for (i = 0; i < PAIRING_ROTATIONS_MAX; i++) {
		if (sv->pairing_lost[i] == 0 ||
		    now - sv->pairing_lost[i] >= PAIRING_LIFETIME_S)
			continue;
		n++;
		if (oldest == 0 || sv->pairing_lost[i] < oldest)
			oldest = sv->pairing_lost[i];
	}
	return n >= PAIRING_ROTATIONS_MAX ? oldest + PAIRING_LIFETIME_S : 0;
}

static void
pairing_lost(struct supervisor *sv)
{
	int	i, o = 0;

	for (i = 1; i < PAIRING_ROTATIONS_MAX; i++)
		if (sv->pairing_lost[i] < sv->pairing_lost[o])
			o = i;
	sv->pairing_lost[o] = time(NULL);
}

/* In the forked child: become the role's process, never return. */
static void __attribute__((noreturn))
child_run(struct supervisor *sv, enum tentacle_role role,
    const sigset_t *oldmask)
{
	static const int	 sigs[] = { SIGTERM, SIGINT, SIGCHLD };
	struct tentacle_child	 ch;
	size_t			 i;
	int			 fd, status, lfd, pfd;
	char			 err[512];

	/* The supervisor's libevent handlers are not ours (they would wake
	 * its loop through the inherited socketpair): default actions, so
	 * SIGTERM ends us (we hold nothing to clean up); reloads are done
	 * by the supervisor restarting us. Signals stay blocked until then. */
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		signal(sigs[i], SIG_DFL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, oldmask, NULL);

	if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
		fatal("prctl(PR_SET_PDEATHSIG)");
	/* The supervisor may have died before prctl(). */
	if (getppid() != sv->pid)
		_exit(0);

	/* Keep only stdio, the listening socket and the socketpair: no
	 * pidfile lock, no supervisor event loop, no daemon_start() pipe. */
	closelog();
	if (sv->child_priv_fd != -1) {
		/* Above both targets first, so no dup2 clobbers the other. */
		if ((lfd = fcntl(sv->listen_fd, F_DUPFD_CLOEXEC, 16)) == -1 ||
		    (pfd = fcntl(sv->child_priv_fd, F_DUPFD_CLOEXEC, 16)) ==
		    -1 || dup2(lfd, CHILD_LISTEN_FD) == -1 ||
		    dup2(pfd, CHILD_PRIV_FD) == -1)
			fatal("dup2");
		if (close_range(CHILD_PRIV_FD + 1, ~0U, 0) == -1)
			fatal("close_range");
	} else {
		if (sv->listen_fd != CHILD_LISTEN_FD) {
			if (dup2(sv->listen_fd, CHILD_LISTEN_FD) == -1)
				fatal("dup2");
		}
		if (close_range(CHILD_LISTEN_FD + 1, ~0U, 0) == -1)
			fatal("close_range");
	}
	/* stdin and stdout are not ours (the terminal, or the pipe of
	 * whoever started us: the first child is forked before
	 * daemon_ready()); stderr is, for logs in the foreground. */
	if ((fd = open("/dev/null", O_RDWR)) == -1)
		fatal("/dev/null");
	dup2(fd, STDIN_FILENO);
	dup2(fd, STDOUT_FILENO);
	if (sv->daemonised)
		dup2(fd, STDERR_FILENO);
	if (fd > STDERR_FILENO)
		close(fd);
	if (sv->daemonised)
		log_to_syslog();
	log_procinit(role_name(role));
	proc_title(TENTACLE_PROGNAME, role_name(role));

	ch.conf = &sv->conf;
	ch.role = role;
	ch.listen_fd = CHILD_LISTEN_FD;
	ch.tls = sv->tls;
	ch.client = NULL;
	ch.priv_fd = sv->child_priv_fd != -1 ? CHILD_PRIV_FD : -1;
	memset(ch.pairing_code, 0, sizeof(ch.pairing_code));
	ch.pairing_expires = ch.pairing_paused_until = 0;
	if (role == ROLE_REGISTER && sv->pairing_code[0] != '\0') {
		memcpy(ch.pairing_code, sv->pairing_code,
		    sizeof(ch.pairing_code));
		ch.pairing_expires = sv->pairing_made + PAIRING_LIFETIME_S;
		ch.pairing_paused_until = pairing_paused_until(sv);
	}
	crypto_wipe(sv->pairing_code, sizeof(sv->pairing_code));
	/* The supervisor's copy of the tentacle's key is not ours. */
	privsep_forget();
	ch.enrolment = NULL;
	ch.has_enrol_pub = sv->privsep && role == ROLE_REGISTER;
	memcpy(ch.enrol_pub, sv->enrol_pub, sizeof(ch.enrol_pub));
	if (sv->privsep) {
		/* What needs root first: the private key, read now; and
		 * the enrolment (root's file), without its key: the
		 * supervisor makes the proofs and MACs (privsep.h). */
		if ((ch.client = link_client_ctx(&sv->conf, err,
		    sizeof(err))) == NULL)
			fatalx("%s", err);
		if (role == ROLE_COMMAND) {
			static struct enrolment	e;
			char			path[OCTO_PATH_MAX + 32];

			snprintf(err, sizeof(err), "gone: not enrolled");
			if (enrolment_path(sv->conf.state_dir, path,
			    sizeof(path)) == -1 || enrolment_load(path, &e, err,
			    sizeof(err)) != 0) {
				log_warnx("%s: %s", path, err);
				_exit(1);
			}
			crypto_wipe(e.key, sizeof(e.key));
			ch.enrolment = &e;
		}
		if (drop_privileges(sv->conf.user, err, sizeof(err)) == -1)
			fatalx("%s", err);
		/* Nothing it could execute may give privileges back. */
		if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1)
			fatal("prctl(PR_SET_NO_NEW_PRIVS)");
		/* A change of credentials clears the parent-death signal. */
		if (prctl(PR_SET_PDEATHSIG, SIGTERM) == -1)
			fatal("prctl(PR_SET_PDEATHSIG)");
		if (getppid() != sv->pid)
			_exit(0);
		log_debug("running as user %s", sv->conf.user);
	}
	if (role == ROLE_REGISTER)
		status = register_main(&ch);
	else
		status = commandworker_main(&ch);
	exit(status);
}

static int
child_spawn(struct supervisor *sv)
{
	sigset_t	all, old;
	pid_t		pid;
	int		sp[2] = { -1, -1 };

	if (sv->listen_role == ROLE_REGISTER) {
		if (pairing_prepare(sv) == -1)
			return -1;
		if (sv->privsep && privsep_enrol_keypair(sv->enrol_pub) ==
		    -1) {
			log_warnx("no randomness for the enrolment key");
			return -1;
		}
	} else {
		crypto_wipe(sv->pairing_code, sizeof(sv->pairing_code));
		pairing_remove(sv->conf.state_dir);
	}
	if (sv->privsep &&
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("socketpair");
		return -1;
	}
	sv->child_priv_fd = sp[1];
	sigfillset(&all);
	sigprocmask(SIG_SETMASK, &all, &old);
	switch ((pid = fork())) {
	case -1:
		log_warn("fork");
		sigprocmask(SIG_SETMASK, &old, NULL);
		if (sp[0] != -1) {
			close(sp[0]);
			close(sp[1]);
		}
		sv->child_priv_fd = -1;
		return -1;
	case 0:
		if (sp[0] != -1)
			close(sp[0]);
		child_run(sv, sv->listen_role, &old);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	if (sp[0] != -1) {
		close(sp[1]);
		sv->child_priv_fd = -1;
		if (privsep_attach(sp[0], pid, sv->listen_role ==
		    ROLE_REGISTER) == -1)
			log_warnx("cannot watch the %s's channel",
			    role_name(sv->listen_role));
	}
	sv->child = pid;
	sv->child_role = sv->listen_role;
	sv->child_started = now_mono();
	log_info("%s started (pid %ld) on %s:%d", role_name(sv->child_role),
	    (long)pid, sv->conf.listen_address,
	    role_port(&sv->conf, sv->child_role));
	return 0;
}

static void
schedule_restart(struct supervisor *sv, int delay)
{
	struct timeval	tv = { delay, 0 };

	evtimer_add(sv->ev_restart, &tv);
}

/* Backoff after a failure: wait restart_delay, then double it. */
static void
schedule_retry(struct supervisor *sv, const char *what)
{
	log_info("restarting the %s in %d s", what, sv->restart_delay);
	schedule_restart(sv, sv->restart_delay);
	sv->restart_delay *= 2;
	if (sv->restart_delay > RESTART_DELAY_MAX)
		sv->restart_delay = RESTART_DELAY_MAX;
}

/*
 * Start the child for the current state: the register until enrolled,
 * then the command worker. When the role changed (the register finished
 * the enrolment), bind the other port first.
 */
static void
restart_cb(evutil_socket_t fd, short events, void *arg)
{
	struct supervisor	*sv = arg;
	enum tentacle_role	 role;
	char			 err[512];
	int			 lfd;

	if (sv->child != -1)
		return;
	role = current_role(&sv->conf);
	if (role != sv->listen_role) {
		if ((lfd = bind_role(&sv->conf, role, err, sizeof(err))) ==
		    -1) {
			log_warnx("%s", err);
			schedule_retry(sv, role_name(role));
			return;
		}
		log_info("now %s: listening on port %d instead of %d",
		    role == ROLE_COMMAND ? "enrolled" : "not enrolled",
		    role_port(&sv->conf, role),
		    role_port(&sv->conf, sv->listen_role));
		close(sv->listen_fd);
		sv->listen_fd = lfd;
		sv->listen_role = role;
		if (role == ROLE_COMMAND)
			managed_pin_enrolled(&sv->conf);	/* new */
	}
	if (child_spawn(sv) == -1)
		schedule_retry(sv, role_name(role));
}

static void
log_child_end(struct supervisor *sv, pid_t pid, int status)
{
	const char	*name = role_name(sv->child_role);

	if (WIFEXITED(status))
		log_warnx("%s (pid %ld) exited with status %d", name,
		    (long)pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		log_warnx("%s (pid %ld) killed by signal %d (%s)%s", name,
		    (long)pid, WTERMSIG(status), strsignal(WTERMSIG(status)),
		    WCOREDUMP(status) ? ", core dumped" : "");
	else
		log_warnx("%s (pid %ld) ended with status 0x%x", name,
		    (long)pid, status);
}

static void
sigchld_cb(evutil_socket_t sig, short events, void *arg)
{
	struct supervisor	*sv = arg;
	pid_t			 pid;
	int			 status;

	/* With privilege separation the scripts are ours too: reap only the
	 * child here, run.c reaps the scripts. */
	if (sv->privsep)
		privsep_sigchld();
	for (;;) {
		if (sv->privsep && sv->child == -1)
			break;
		pid = waitpid(sv->privsep ? sv->child : -1, &status, WNOHANG);
		if (pid <= 0)
			break;
		if (pid != sv->child)
			continue;
		sv->child = -1;
		if (sv->restart_now) {
			/* Stopped by us to apply a reload. */
			sv->restart_now = 0;
			log_info("%s (pid %ld) stopped for the reload",
			    role_name(sv->child_role), (long)pid);
			schedule_restart(sv, 0);
			continue;
		}
		if (WIFEXITED(status) &&
		    WEXITSTATUS(status) == TENTACLE_EXIT_STOP) {
			log_warnx("%s (pid %ld) cannot go on: stopping %s",
			    role_name(sv->child_role), (long)pid,
			    TENTACLE_PROGNAME);
			sv->exit_status = 1;
			event_base_loopbreak(sv->base);
			continue;
		}
		if (WIFEXITED(status) && sv->child_role == ROLE_REGISTER &&
		    (WEXITSTATUS(status) == TENTACLE_EXIT_PAIRING_WRONG ||
		    WEXITSTATUS(status) == TENTACLE_EXIT_PAIRING_EXPIRED)) {
			if (WEXITSTATUS(status) ==
			    TENTACLE_EXIT_PAIRING_WRONG) {
				log_warnx("%d wrong pairing codes: making a "
				    "new code", PAIRING_WRONG_MAX);
				pairing_lost(sv);
			} else
				log_info("the pairing code is %d s old: "
				    "making a new one", PAIRING_LIFETIME_S);
			sv->pairing_renew = 1;
			schedule_restart(sv, 0);
			continue;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
		    current_role(&sv->conf) != sv->child_role) {
			/* The register's normal end: it enrolled us. */
			log_info("%s (pid %ld) finished", role_name(
			    sv->child_role), (long)pid);
			schedule_restart(sv, 0);
			continue;
		}
		log_child_end(sv, pid, status);
		if (now_mono() - sv->child_started >= RESTART_HEALTHY_S)
			sv->restart_delay = RESTART_DELAY_MIN;
		schedule_retry(sv, role_name(sv->child_role));
	}
}

/* SIGTERM the child, give it CHILD_STOP_WAIT seconds, then SIGKILL. */
static void
child_stop(struct supervisor *sv)
{
	struct timespec	 ts = { 0, 20 * 1000 * 1000 };
	int		 status, i;
	pid_t		 pid;

	if (sv->child == -1)
		return;
	if (privsep_attached())
		/* The command worker gets the results of the scripts
		 * interrupted, then EOF, at which it stops. */
		privsep_detach();
	else
		kill(sv->child, SIGTERM);
	for (i = 0; i < CHILD_STOP_WAIT * 50; i++) {
		pid = waitpid(sv->child, &status, WNOHANG);
		if (pid == sv->child || (pid == -1 && errno != EINTR)) {
			sv->child = -1;
			return;
		}
		nanosleep(&ts, NULL);
	}
	log_warnx("%s (pid %ld) did not stop: killing it",
	    role_name(sv->child_role), (long)sv->child);
	kill(sv->child, SIGKILL);
	while (waitpid(sv->child, &status, 0) == -1 && errno == EINTR)
		;
	sv->child = -1;
}

static void
sigterm_cb(evutil_socket_t sig, short events, void *arg)
{
	struct supervisor	*sv = arg;

	log_info("%s: shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
	child_stop(sv);
	event_base_loopbreak(sv->base);
}

/*
 * SIGHUP: re-read the configuration. On any error keep the running one.
 * pidfile and state_dir cannot change under a running daemon (the lock,
 * the enrolment): those need a restart. The new TLS context and socket are
 * made before anything is replaced, then the child restarts with them.
 */
static void
reload(struct supervisor *sv)
{
	struct tentacle_conf	 nc;
	SSL_CTX			*ctx;
	char			 err[1024];
	int			 lfd = -1;

	log_info("SIGHUP: reloading the configuration");
	if (conf_read(&sv->opts, &nc, err, sizeof(err)) == -1)
		goto fail;
	if (strcmp(nc.pidfile, sv->conf.pidfile) != 0) {
		log_warnx("reload: pidfile changed: restart %s to apply it",
		    TENTACLE_PROGNAME);
		memcpy(nc.pidfile, sv->conf.pidfile, sizeof(nc.pidfile));
	}
	if (strcmp(nc.user, sv->conf.user) != 0) {
		log_warnx("reload: user changed: restart %s to apply it",
		    TENTACLE_PROGNAME);
		memcpy(nc.user, sv->conf.user, sizeof(nc.user));
	}
	if (strcmp(nc.state_dir, sv->conf.state_dir) != 0) {
		log_warnx("reload: state_dir changed: restart %s to apply it",
		    TENTACLE_PROGNAME);
		memcpy(nc.state_dir, sv->conf.state_dir, sizeof(nc.state_dir));
	}
	if (conf_finish(&sv->opts, &nc, err, sizeof(err)) == -1)
		goto fail;
	if ((ctx = load_tls(&nc, err, sizeof(err))) == NULL)
		goto fail;
	if (strcmp(nc.listen_address, sv->conf.listen_address) != 0 ||
	    role_port(&nc, sv->listen_role) !=
	    role_port(&sv->conf, sv->listen_role)) {
		if ((lfd = bind_role(&nc, sv->listen_role, err,
		    sizeof(err))) == -1) {
			SSL_CTX_free(ctx);
			goto fail;
		}
	}

	SSL_CTX_free(sv->tls);
	sv->tls = ctx;
	if (lfd != -1) {
		close(sv->listen_fd);
		sv->listen_fd = lfd;
	}
	crypto_wipe(&sv->conf, sizeof(sv->conf));
	sv->conf = nc;
	crypto_wipe(&nc, sizeof(nc));
	if (own_state(sv, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	if (managed_prepare(&sv->conf, err, sizeof(err)) == -1)
		log_warnx("reload: %s", err);
	log_info("reload: configuration reloaded");
	if (sv->child != -1) {
		sv->restart_now = 1;
		if (privsep_attached())
			privsep_detach();	/* it stops at EOF */
		else
			kill(sv->child, SIGTERM);
	}
	return;
 fail:
	crypto_wipe(&nc, sizeof(nc));
	log_warnx("reload: %s; keeping the current configuration", err);
}

static void
sighup_cb(evutil_socket_t sig, short events, void *arg)
{
	reload(arg);
}

static void __attribute__((noreturn))
startup_fail(struct supervisor *sv, const char *msg)
{
	log_warnx("%s", msg);
	if (sv->pidfile.fd != -1)
		pidfile_remove(&sv->pidfile);
	exit(1);
}

static void
supervisor_free(struct supervisor *sv)
{
	event_free(sv->ev_sigterm);
	event_free(sv->ev_sigint);
	event_free(sv->ev_sighup);
	event_free(sv->ev_sigchld);
	event_free(sv->ev_restart);
	event_base_free(sv->base);
	if (sv->listen_fd != -1)
		close(sv->listen_fd);
	SSL_CTX_free(sv->tls);
	crypto_wipe(&sv->conf, sizeof(sv->conf));
	crypto_wipe(&sv->opts, sizeof(sv->opts));
}

int
main(int argc, char *argv[])
{
	static struct supervisor	 sv;
	char				 err[1024], dir[OCTO_PATH_MAX];

	proc_title_init(argc, argv);
	parse_options(argc, argv, &sv.opts);
	/* Now: it also hides a -t token from ps. */
	proc_title(TENTACLE_PROGNAME, "supervisor");
	if (conf_read(&sv.opts, &sv.conf, err, sizeof(err)) == -1 ||
	    conf_finish(&sv.opts, &sv.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "%s\n", err);
		exit(2);
	}
	if (sv.opts.check) {
		if (sv.opts.verbose)
			config_dump(tentacle_config_keys, &sv.conf,
			    print_line);
		printf("configuration OK\n");
		exit(0);
	}
	if (sv.opts.ping) {
		signal(SIGPIPE, SIG_IGN);
		exit(tentacle_ping(&sv.conf));
	}
	if (sv.opts.pairing_code)
		exit(print_pairing_code(&sv.conf));

	/* Start-up errors go to the terminal (daemon_start() keeps it until
	 * daemon_ready()); syslog takes over once we are ready. */
	log_init(TENTACLE_PROGNAME, 1, sv.opts.verbose);
	log_procinit("supervisor");
	sv.pidfile.fd = -1;
	sv.listen_fd = -1;
	sv.child = -1;
	sv.child_priv_fd = -1;
	sv.restart_delay = RESTART_DELAY_MIN;
	if (privsep_user(&sv, err, sizeof(err)) == -1)
		startup_fail(&sv, err);

	if (dir_of(sv.conf.pidfile, dir, sizeof(dir)) == 0 &&
	    make_dir(dir, 0755, err, sizeof(err)) == -1)
		startup_fail(&sv, err);
	if (pidfile_check(sv.conf.pidfile, err, sizeof(err)) == -1)
		startup_fail(&sv, err);
	if (!sv.opts.foreground) {
		daemon_start();
		sv.daemonised = 1;
	}
	sv.pid = getpid();
	if (pidfile_lock(&sv.pidfile, sv.conf.pidfile, err, sizeof(err)) ==
	    -1)
		startup_fail(&sv, err);
	if (make_dir(sv.conf.state_dir, 0700, err, sizeof(err)) == -1)
		startup_fail(&sv, err);
	if ((sv.tls = load_tls(&sv.conf, err, sizeof(err))) == NULL)
		startup_fail(&sv, err);
	if (private_prepare(&sv.conf, sv.opts.reenrol, err, sizeof(err)) ==
	    -1)
		startup_fail(&sv, err);
	if (check_enrolment(&sv.conf, sv.opts.reenrol, err, sizeof(err)) ==
	    -1)
		startup_fail(&sv, err);

	if (own_state(&sv, err, sizeof(err)) == -1)
		startup_fail(&sv, err);
	if (managed_prepare(&sv.conf, err, sizeof(err)) == -1)
		startup_fail(&sv, err);

	sv.listen_role = current_role(&sv.conf);
	if ((sv.listen_fd = bind_role(&sv.conf, sv.listen_role, err,
	    sizeof(err))) == -1)
		startup_fail(&sv, err);

	signal(SIGPIPE, SIG_IGN);
	if ((sv.base = event_base_new()) == NULL)
		startup_fail(&sv, "event_base_new failed");
	sv.ev_sigterm = evsignal_new(sv.base, SIGTERM, sigterm_cb, &sv);
	sv.ev_sigint = evsignal_new(sv.base, SIGINT, sigterm_cb, &sv);
	sv.ev_sighup = evsignal_new(sv.base, SIGHUP, sighup_cb, &sv);
	sv.ev_sigchld = evsignal_new(sv.base, SIGCHLD, sigchld_cb, &sv);
	sv.ev_restart = evtimer_new(sv.base, restart_cb, &sv);
	if (sv.ev_sigterm == NULL || sv.ev_sigint == NULL ||
	    sv.ev_sighup == NULL || sv.ev_sigchld == NULL ||
	    sv.ev_restart == NULL ||
	    evsignal_add(sv.ev_sigterm, NULL) == -1 ||
	    evsignal_add(sv.ev_sigint, NULL) == -1 ||
	    evsignal_add(sv.ev_sighup, NULL) == -1 ||
	    evsignal_add(sv.ev_sigchld, NULL) == -1)
		startup_fail(&sv, "cannot set up signal handling");

	if (sv.privsep)
		privsep_init(sv.base, &sv.conf);
	if (child_spawn(&sv) == -1)
		startup_fail(&sv, "cannot start the child");
	if (sv.daemonised) {
		daemon_ready();
		log_to_syslog();
	}
	log_info("%s %s running (%s)%s%s", TENTACLE_PROGNAME, OCTO_VERSION,
	    sv.listen_role == ROLE_REGISTER ? "not enrolled" : "enrolled",
	    sv.privsep ? "; register and command worker as user " : "",
	    sv.privsep ? sv.conf.user : "");

	event_base_dispatch(sv.base);

	child_stop(&sv);
	privsep_shutdown();
	pidfile_remove(&sv.pidfile);
	supervisor_free(&sv);
	log_info("stopped");
	return sv.exit_status;
}
