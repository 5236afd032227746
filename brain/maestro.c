/*
 * octoBrain's maestro: the conductor (report 2.2). It reads the
 * configuration, opens the database (it alone ever does), binds every
 * listening socket, checks and reads the TLS credentials, then starts
 * webserv, registerer and commander, each with its own socketpair, and
 * supervises them. A child is forked and at once executes octoBrain
 * again (`--child ROLE`, after OpenBSD's proc_exec): its own address
 * space and ASLR, nothing of the maestro's memory (database, keys), only
 * its descriptors (brain.h: CHILD_FD_*); the maestro then sends it
 * IPC_CHILD_INIT, with the credentials of its port only.
 *
 * It is the single point of access control: children send semantic
 * requests (IPC_API_CALL "health", IPC_AUTH_LOGIN, ...), never SQL; each
 * child may send only the message types in its row of the children table,
 * and a child that sends anything else is killed and restarted.
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
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "confine.h"
#include "crypto.h"
#include "findings.h"
#include "ipcmsg.h"
#include "log.h"
#include "dbcheckpoint.h"
#include "maestro.h"
#include "net.h"
#include "refusals.h"

#define DEFAULT_CONFIG		"/etc/octopus/brain.conf"
#define RESTART_DELAY_MIN_MS	250	/* first restart of a dead child */
#define CHILD_STABLE_SECONDS	60	/* alive that long: backoff resets */
#define SESSION_SWEEP_SECONDS	60	/* how often idle sessions go */
#define SHUTDOWN_WAIT_MS	5000	/* children get this long to exit */

static void	child_start(struct child *);

static const uint32_t webserv_allowed[] = {
	IPC_AUTH_LOGIN, IPC_API_CALL, IPC_LOG_EVENT, IPC_METRICS_GET, 0
};
static const uint32_t registerer_allowed[] = {
	IPC_LOG_EVENT, IPC_ENROL_REQUEST, IPC_ENROL_OFFER_DONE,
	IPC_PROOF_CHECK, IPC_PAIR_MAKE, 0
};
static const uint32_t exporter_allowed[] = {
	IPC_LOG_EVENT, IPC_EXPORT_ACK, 0
};
static const uint32_t commander_allowed[] = {
	IPC_LOG_EVENT, IPC_PROOF_CHECK, IPC_PROOF_MAKE, IPC_JOB_STATE,
	IPC_RESULT_STORE,
	IPC_TENTACLE_SEEN, IPC_TENTACLE_MISSED,
	IPC_SCRIPT_ACKED,	/* issue 14: managed scripts pushed */
	0
};

#define U(f)	offsetof(struct brain_conf, f)

/* The table of children: role, entry, what it may send, the credentials
 * of its port, its own user's configuration key. */
struct child children[CHILD_COUNT] = {
	[CHILD_WEBSERV] = { "webserv", webserv_main, webserv_allowed,
	    CREDS_WEB, U(webserv_user) },
	[CHILD_REGISTERER] = { "registerer", registerer_main,
	    registerer_allowed, CREDS_PEER, U(registerer_user) },
	[CHILD_COMMANDER] = { "commander", commander_main, commander_allowed,
	    CREDS_PEER, U(commander_user) },
	/* No port, no database: the events the maestro hands it. */
	[CHILD_EXPORTER] = { "exporter", exporter_main, exporter_allowed,
	    CREDS_NONE, U(exporter_user) },
};

#undef U

struct maestro m = { .webroot_fd = -1, .self_fd = -1 };

static void
print_line(const char *line)
{
	puts(line);
}

/* A child that sends what it may not, or a malformed message, is broken or
 * compromised: it is killed, and restarted fresh (SIGCHLD). */
void
child_misbehaved(struct child *c, const char *what)
{
	log_warnx("%s (pid %d) %s: killing it", c->name, (int)c->pid, what);
	db_audit(m.db, "system", "child_killed", "", c->name);
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
}

void
child_renew(struct child *c)
{
	if (c->pid > 0) {
		c->renew = 1;
		kill(c->pid, SIGTERM);
	}
}

static void
handle_log_event(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_log_event	e;
	const char		*why;

	if (ipcmsg_decode_log_event(msg->payload, msg->hdr.len, &e, &why) ==
	    -1) {
		log_warnx("%s: log event: %s", c->name, why);
		child_misbehaved(c, "sent a malformed event");
		return;
	}
	if (strcmp(e.kind, "protocol_error") == 0)
		m.protocol_errors++;
	else if (strcmp(e.kind, "refused_handshake") == 0) {
		/* A stranger makes as many as it likes: one row per address
		 * and minute, with a count. */
		m.refused_handshakes++;
		refusal_audit(m.db, time(NULL), c->name, "refused_handshake",
		    e.peer, e.detail);
		handshake_refused_event(e.peer, e.detail, c->name);
	}
}

/* ---- children -------------------------------------------------------- */

static int
child_may_send(const struct child *c, uint32_t type)
{
	const uint32_t	*t;

	for (t = c->allowed; *t; t++)
		if (*t == type)
			return 1;
	return 0;
}

static void
child_dispatch(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	struct child	*c = arg;
	struct timespec	 t0;

	if (c->chan != chan)
		return;		/* a message from before a kill */
	if (!child_may_send(c, msg->hdr.type)) {
		char	what[64];

		snprintf(what, sizeof(what), "sent %s, which it may not",
		    ipc_type_str(msg->hdr.type));
		child_misbehaved(c, what);
		return;
	}
	histo_start(&t0);
	switch (msg->hdr.type) {
	case IPC_AUTH_LOGIN:
		handle_login(c, msg);
		break;
	case IPC_API_CALL:
		handle_api(c, msg);
		break;
	case IPC_LOG_EVENT:
		handle_log_event(c, msg);
		break;
	case IPC_ENROL_REQUEST:
		handle_enrol_request(c, msg);
		break;
	case IPC_ENROL_OFFER_DONE:
		handle_offer_done(c, msg);
		break;
	case IPC_PROOF_CHECK:
		handle_proof_check(c, msg);
		break;
	case IPC_PROOF_MAKE:
		handle_proof_make(c, msg);
		break;
	case IPC_PAIR_MAKE:
		handle_pair_make(c, msg);
		break;
	case IPC_JOB_STATE:
		handle_job_state(c, msg);
		break;
	case IPC_RESULT_STORE:
		handle_result_store(c, msg);
		break;
	case IPC_TENTACLE_SEEN:
		handle_tentacle_seen(c, msg);
		break;
	case IPC_TENTACLE_MISSED:
		handle_tentacle_missed(c, msg);
		break;
	case IPC_SCRIPT_ACKED:
		handle_script_acked(c, msg);
		break;
	case IPC_EXPORT_ACK:
		handle_export_ack(c, msg);
		break;
	case IPC_METRICS_GET:
		handle_metrics_get(c, msg);
		break;
	}
	histo_add(&c->ipc, histo_since_us(&t0));
}

static void
child_chan_closed(struct ipc_chan *chan, const char *reason, void *arg)
{
	struct child	*c = arg;

	if (c->chan != chan || c->pid <= 0)
		return;
	/* One we stopped (child_renew) may close it any way. */
	if (strcmp(reason, "closed by peer") != 0 && !c->renew)
		child_misbehaved(c, reason);
	/* The channel is freed once the child is reaped (SIGCHLD). */
}

static void
child_restart_cb(evutil_socket_t fd, short events, void *arg)
{
	struct child	*c = arg;

	if (!m.stopping)
		child_start(c);
}

/* What the child needs of the configuration, and its port's credentials
 * (the webserv the dashboard's, the others the tentacle-facing ones). */
static int
child_send_init(struct child *c)
{
	struct ipc_child_init	 ci;
	const struct pem	*cert, *key;

	memset(&ci, 0, sizeof(ci));
	strlcpy(ci.role, c->name, sizeof(ci.role));
	ci.io_timeout = (uint32_t)m.conf.io_timeout;
	ci.max_tentacles = (uint32_t)m.conf.max_tentacles;
	if (c->creds == CREDS_NONE)	/* no port, no credentials */
		return ipcmsg_send_child_init(c->chan, IPC_CHILD_INIT, 0, &ci);
	if (c->creds == CREDS_WEB) {
		strlcpy(ci.address, m.conf.web_address, sizeof(ci.address));
		ci.port = (uint32_t)m.conf.web_port;
		strlcpy(ci.web_root, m.conf.web_root, sizeof(ci.web_root));
		cert = &m.web_cert;
		key = &m.web_key;
	} else {
		strlcpy(ci.address, m.conf.listen_address, sizeof(ci.address));
		strlcpy(ci.advertise, m.conf.advertise_address,
		    sizeof(ci.advertise));
		ci.port = (uint32_t)(c == &children[CHILD_REGISTERER] ?
		    m.conf.registerer_port : m.conf.commander_port);
		cert = &m.peer_cert;
		key = &m.peer_key;
	}
	ci.io_timeout = (uint32_t)m.conf.io_timeout;
	ci.max_tentacles = (uint32_t)m.conf.max_tentacles;
	ci.cert_pem = cert->data;
	ci.cert_pem_len = cert->len;
	ci.key_pem = key->data;
	ci.key_pem_len = key->len;
	return ipcmsg_send_child_init(c->chan, IPC_CHILD_INIT, 0, &ci);
}

/*
 * In the forked child: keep only its descriptors, at their fixed numbers
 * (brain.h), take its own user if it has one, and execute octoBrain
 * again as `--child ROLE` (hidden from --help). Only system calls from
 * here to the exec: nothing of the maestro's memory is used after it.
 */
static void __attribute__((noreturn))
child_exec(struct child *c, int ipc_fd, pid_t parent)
{
	char		*argv[6];
	int		 src[4], tmp[4], n = 0, i, self;
	sigset_t	 none;

	src[n++] = ipc_fd;
	if (c->listen_fd != -1)
		src[n++] = c->listen_fd;
	if (c->creds == CREDS_WEB)
		src[n++] = m.webroot_fd;
	src[n++] = m.self_fd;		/* the binary, closed by the exec */
	/* Out of the way of 3.. first, then into place in order: only the
	 * last target (the binary's) can be one of the copies, and those
	 * before it are placed by then. */
	for (i = 0; i < n; i++)
		if ((tmp[i] = fcntl(src[i], F_DUPFD_CLOEXEC,
		    CHILD_FD_IPC + n)) == -1)
			_exit(126);
	for (i = 0; i < n; i++)
		if (dup2(tmp[i], CHILD_FD_IPC + i) == -1)
			_exit(126);
	self = CHILD_FD_IPC + n - 1;
	if (fcntl(self, F_SETFD, FD_CLOEXEC) == -1)
		_exit(126);
	close_range(self + 1, ~0U, 0);

	if (c->own_user && (setgroups(1, &c->gid) == -1 ||
	    setresgid(c->gid, c->gid, c->gid) == -1 ||
	    setresuid(c->uid, c->uid, c->uid) == -1))
		_exit(126);
	/* Die with the maestro, even if it is killed -9 (after the change
	 * of user, which clears it; an exec keeps it). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);	/* Ctrl-C reaches the maestro */
	signal(SIGHUP, SIG_IGN);	/* the maestro reloads */
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	n = 0;
	argv[n++] = "octoBrain";
	argv[n++] = "--child";
	argv[n++] = (char *)c->name;
	if (m.verbose)
		argv[n++] = "-v";
	if (m.foreground)
		argv[n++] = "--no-daemon";	/* log to stderr */
	argv[n] = NULL;
	fexecve(self, argv, environ);
	_exit(127);
}

static void
child_start(struct child *c)
{
	int			 sp[2];
	pid_t			 pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", c->name);
		goto retry;
	}
	/* No other thread may hold a lock while we fork (see auth.h). The
	 * first children are forked before the workers exist. */
	kdf_threads_join();
	db_checkpointer_fork_lock();
	pid = fork();
	if (pid != 0)
		db_checkpointer_fork_unlock();
	if (pid != 0 && m.workers_started && kdf_threads_start() == -1)
		log_warnx("cannot restart the KDF workers");
	switch (pid) {
	case -1:
		log_warn("%s: fork", c->name);
		close(sp[0]);
		close(sp[1]);
		goto retry;
	case 0:
		break;
	default:
		close(sp[1]);
		c->pid = pid;
		c->generation++;
		c->state = CHILD_UP;
		c->started = time(NULL);
		c->chan = ipc_chan_new(m.base, sp[0], child_dispatch,
		    child_chan_closed, c);
		if (c->chan == NULL || child_send_init(c) == -1) {
			log_warnx("%s: cannot set up its channel", c->name);
			kill(pid, SIGKILL);
		} else if (c->creds == CREDS_PEER)
			tentacle_addresses_send(c);
		log_debug("started %s (pid %d)", c->name, (int)pid);
		if (c == &children[CHILD_COMMANDER] && m.db) {
			dispatch_queued(0);
			keepalive_commander(1);
		}
		if (c == &children[CHILD_EXPORTER] && c->chan)
			export_child_started(c);
		return;
	}

	child_exec(c, sp[1], parent);

retry:
	c->state = CHILD_RESTARTING;
	{
		struct timeval tv = { 1, 0 };
		evtimer_add(c->restart_ev, &tv);
	}
}

static void
child_died(struct child *c, int status)
{
	struct timeval	tv;
	char		how[128];
	const char	*sig;

	if (WIFSIGNALED(status)) {
		sig = sigabbrev_np(WTERMSIG(status));
		/* SIGSYS: the seccomp filter (brain/confine.c) killed it. */
		snprintf(how, sizeof(how), "killed by signal %d (SIG%s)%s",
		    WTERMSIG(status), sig ? sig : "?",
		    WTERMSIG(status) == SIGSYS ? ": a system call its "
		    "confinement does not allow" : "");
	} else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	if (c->chan) {
		ipc_chan_free(c->chan);
		c->chan = NULL;
	}
	c->pid = 0;
	if (c == &children[CHILD_REGISTERER])
		offers_expire(1);
	if (c == &children[CHILD_COMMANDER])
		keepalive_commander(0);
	if (c == &children[CHILD_COMMANDER])
		push_commander_gone();
	if (m.stopping) {
		/* SIGTERM is ours; anything else (SIGSYS) is worth a line */
		if (WIFSIGNALED(status) && WTERMSIG(status) != SIGTERM)
			log_warnx("%s %s while stopping", c->name, how);
		c->state = CHILD_DOWN;
		return;
	}
	c->state = CHILD_RESTARTING;
	if (c->renew) {
		c->renew = 0;
		log_info("%s %s: starting it again with the new "
		    "configuration", c->name, how);
		tv.tv_sec = 0;
		tv.tv_usec = 0;
		evtimer_add(c->restart_ev, &tv);
		return;
	}
	c->restarts++;
	if (time(NULL) - c->started >= CHILD_STABLE_SECONDS)
		c->delay_ms = RESTART_DELAY_MIN_MS;
	log_warnx("%s %s; restarting it in %ld ms", c->name, how, c->delay_ms);
	db_audit(m.db, "system", "child_restart", "", c->name);
	tv.tv_sec = c->delay_ms / 1000;
	tv.tv_usec = (c->delay_ms % 1000) * 1000;
	evtimer_add(c->restart_ev, &tv);
	c->delay_ms *= 2;
	if (c->delay_ms > m.conf.restart_delay_max * 1000)
		c->delay_ms = m.conf.restart_delay_max * 1000;
}

static void
reap_children(void)
{
	pid_t	pid;
	int	status, i;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		for (i = 0; i < CHILD_COUNT; i++)
			if (children[i].pid == pid) {
				child_died(&children[i], status);
				break;
			}
	}
}

/* ---- signals and shutdown -------------------------------------------- */

static void
stop_children(void)
{
	struct timespec	ts = { 0, 50 * 1000 * 1000 };
	int		i, waited, alive;

	m.stopping = 1;
	for (i = 0; i < CHILD_COUNT; i++) {
		if (children[i].chan) {
			ipc_chan_free(children[i].chan);
			children[i].chan = NULL;
		}
		if (children[i].pid > 0)
			kill(children[i].pid, SIGTERM);
	}
	for (waited = 0; waited < SHUTDOWN_WAIT_MS; waited += 50) {
		reap_children();
		for (alive = 0, i = 0; i < CHILD_COUNT; i++)
			if (children[i].pid > 0)
				alive++;
		if (alive == 0)
			return;
		nanosleep(&ts, NULL);
	}
	for (i = 0; i < CHILD_COUNT; i++)
		if (children[i].pid > 0) {
			log_warnx("%s did not stop: killing it",
			    children[i].name);
			kill(children[i].pid, SIGKILL);
			waitpid(children[i].pid, NULL, 0);
			children[i].pid = 0;
		}
}

static void
on_sigterm(evutil_socket_t sig, short events, void *arg)
{
	log_info("received %s: stopping", sig == SIGINT ? "SIGINT" :
	    "SIGTERM");
	event_base_loopexit(m.base, NULL);
}

static void
on_sigchld(evutil_socket_t sig, short events, void *arg)
{
	reap_children();
}

static void
on_sighup(evutil_socket_t sig, short events, void *arg)
{
	struct ipc_config_reload	r;
	int				i;

	log_info("received SIGHUP: reloading %s", m.config_path);
	if (startup_reload() == -1)
		return;
	/* The running children apply it at once; those started later get
	 * it in IPC_CHILD_INIT. */
	r.io_timeout = (uint32_t)m.conf.io_timeout;
	r.max_tentacles = (uint32_t)m.conf.max_tentacles;
	for (i = 0; i < CHILD_COUNT; i++)
		if (children[i].chan != NULL &&
		    ipcmsg_send_config_reload(children[i].chan,
		    IPC_CONFIG_RELOAD, 0, &r) == -1)
			log_warnx("%s: cannot send the new configuration",
			    children[i].name);
	log_info("configuration reloaded");
}

static void
sweep_sessions(evutil_socket_t fd, short events, void *arg)
{
	db_session_expire(m.db, time(NULL) - m.conf.session_timeout);
	offers_expire(0);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: octoBrain [-nv] [-c file] [--no-daemon]\n"
	    "       octoBrain [-c file] --reset-totp USER\n"
	    "       octoBrain [-c file] --verify-ledger [--checkpoints file]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "      --no-daemon    stay in the foreground, log to stderr\n"
	    "  -v, --verbose      also log debug lines; with -n, print the "
	    "configuration\n"
	    "  -n, --check        check the configuration and exit\n"
	    "      --reset-totp USER  remove USER's TOTP (a locked-out "
	    "admin) and exit\n"
	    "      --verify-ledger  check the hash chain over the audit log "
	    "and results and exit\n"
	    "      --checkpoints FILE  with --verify-ledger: also against the "
	    "exported checkpoints\n"
	    "      --version      print the version and exit\n"
	    "  -h, --help         print this help and exit\n",
	    DEFAULT_CONFIG);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "check", no_argument, NULL, 'n' },
		{ "no-daemon", no_argument, NULL, 'd' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "reset-totp", required_argument, NULL, 'T' },
		{ "verify-ledger", no_argument, NULL, 'L' },
		{ "checkpoints", required_argument, NULL, 'K' },
		/* Hidden (not in --help): how the maestro starts a child. */
		{ "child", required_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 }
	};
	struct event	*ev_term, *ev_int, *ev_chld, *ev_hup;
	struct timeval	 sweep = { SESSION_SWEEP_SECONDS, 0 };
	struct timeval	 ka = { 0, 0 };
	char		 err[1024];
	const char	*why, *reset_totp = NULL, *role = NULL;
	int		 ch, check_only = 0, fd[CHILD_COUNT], i, rc;
	int		 verify_ledger = 0;
	const char	*checkpoints = NULL;

	proc_title_init(argc, argv);
	strlcpy(m.config_path, DEFAULT_CONFIG, sizeof(m.config_path));
	while ((ch = getopt_long(argc, argv, "c:hnv", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (strlcpy(m.config_path, optarg,
			    sizeof(m.config_path)) >= sizeof(m.config_path)) {
				fprintf(stderr, "octoBrain: -c: path too long\n");
				return 2;
			}
			m.config_given = 1;
			break;
		case 'n':
			check_only = 1;
			break;
		case 'v':
			m.verbose = 1;
			break;
		case 'd':
			m.foreground = 1;
			break;
		case 'T':
			reset_totp = optarg;
			break;
		case 'L':
			verify_ledger = 1;
			break;
		case 'K':
			checkpoints = optarg;
			break;
		case 'V':
			printf("octoBrain %s\n", OCTO_VERSION);
			return 0;
		case 'C':
			role = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "octoBrain: unexpected argument %s\n",
		    argv[optind]);
		usage(stderr);
		return 2;
	}
	if (role != NULL) {
		for (i = 0; i < CHILD_COUNT; i++)
			if (strcmp(role, children[i].name) == 0)
				return child_exec_main(role, children[i].entry,
				    m.foreground, m.verbose);
		fprintf(stderr, "octoBrain: --child: no such role %s\n", role);
		return 2;
	}
	/* The API's table is consistent, or nothing starts. */
	if (api_ops_check(api_ops, API_OP_MAX, &why) == -1) {
		fprintf(stderr, "octoBrain: the API's table: %s\n", why);
		return 1;
	}
	if (load_config(&m.conf, err, sizeof(err)) == -1 ||
	    (rc = load_checks(m.conf.checks_file, &m.checks, err,
	    sizeof(err))) == -1) {
		fprintf(stderr, "octoBrain: %s\n", err);
		return 2;
	}
	if (reset_totp != NULL)
		return startup_reset_totp(reset_totp);
	if (checkpoints != NULL && !verify_ledger) {
		fprintf(stderr, "octoBrain: --checkpoints goes with "
		    "--verify-ledger\n");
		return 2;
	}
	if (verify_ledger)
		return ledger_verify_main(checkpoints);
	if (check_only) {
		if (rc == CHECKS_MISSING)
			fprintf(stderr, "octoBrain: warning: checks_file %s\n",
			    err);
		if (m.verbose)
			config_dump(brain_config_keys, &m.conf,
			    print_line);
		printf("configuration OK\n");
		return 0;
	}

	/* stderr until start-up is over: errors reach the terminal even
	 * when daemonising; syslog after daemon_ready(). */
	log_init("octoBrain", 1, m.verbose);
	log_procinit("maestro");
	if (rc == CHECKS_MISSING)
		log_warnx("checks_file %s", err);
	else
		log_info("checks_file %s: %zu checks", m.conf.checks_file,
		    m.checks->n);
	signal(SIGPIPE, SIG_IGN);
	umask(077);
	/* What each child executes: this very binary, even if it is
	 * replaced on disk while we run. */
	if ((m.self_fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC)) == -1) {
		fprintf(stderr, "octoBrain: /proc/self/exe: %s\n",
		    strerror(errno));
		return 1;
	}
	if (pidfile_check(m.conf.pidfile, err, sizeof(err)) == -1) {
		fprintf(stderr, "octoBrain: %s\n", err);
		return 1;
	}
	if (!m.foreground)
		daemon_start();
	if (make_pidfile_dir(err, sizeof(err)) == -1)
		fatalx("%s", err);
	if (pidfile_lock(&m.pidfile, m.conf.pidfile, err, sizeof(err)) == -1)
		fatalx("%s", err);
	m.started = time(NULL);

	startup_open(fd);
	proc_title("octoBrain", "maestro");

	if ((m.base = event_base_new()) == NULL)
		fatalx("cannot create the event loop");
	if (kdf_init(m.base, login_done) == -1)
		fatalx("cannot set up the KDF workers");
	ev_term = evsignal_new(m.base, SIGTERM, on_sigterm, NULL);
	ev_int = evsignal_new(m.base, SIGINT, on_sigterm, NULL);
	ev_chld = evsignal_new(m.base, SIGCHLD, on_sigchld, NULL);
	ev_hup = evsignal_new(m.base, SIGHUP, on_sighup, NULL);
	if (!ev_term || !ev_int || !ev_chld || !ev_hup ||
	    event_add(ev_term, NULL) || event_add(ev_int, NULL) ||
	    event_add(ev_chld, NULL) || event_add(ev_hup, NULL))
		fatalx("cannot install signal handlers");
	m.sweep_ev = event_new(m.base, -1, EV_PERSIST, sweep_sessions, NULL);
	event_add(m.sweep_ev, &sweep);
	results_start(m.base);
	export_start(m.base);
	ledger_check_start(m.base);
	schedules_start(m.base);
	m.welcome_ev = evtimer_new(m.base, welcome_ping, NULL);
	m.keepalive_ev = event_new(m.base, -1, EV_PERSIST, keepalive, NULL);
	ka.tv_sec = m.conf.keepalive_interval;
	event_add(m.keepalive_ev, &ka);

	/* Every socket is listening (connections queue until a child
	 * accepts): ready. Children forked from here inherit /dev/null and
	 * syslog, not the terminal of whoever started us. */
	if (!m.foreground) {
		daemon_ready();
		log_to_syslog();
	}
	for (i = 0; i < CHILD_COUNT; i++) {
		children[i].listen_fd = fd[i];
		children[i].delay_ms = RESTART_DELAY_MIN_MS;
		children[i].restart_ev = evtimer_new(m.base, child_restart_cb,
		    &children[i]);
		if (i == CHILD_EXPORTER && !export_enabled())
			continue;
		child_start(&children[i]);
	}
	/* Only now: no thread may exist across a fork (see auth.h). */
	if (kdf_threads_start() == -1)
		fatalx("cannot start the KDF workers");
	m.workers_started = 1;
	log_info("octoBrain %s started: dashboard https://%s:%d/, "
	    "registerer %s:%d, commander %s:%d", OCTO_VERSION,
	    m.conf.web_address, m.conf.web_port, m.conf.listen_address,
	    m.conf.registerer_port, m.conf.listen_address,
	    m.conf.commander_port);
	confine_log();

	event_base_dispatch(m.base);

	stop_children();
	kdf_shutdown();
	for (i = 0; i < CHILD_COUNT; i++) {
		event_free(children[i].restart_ev);
		if (fd[i] != -1)
			close(fd[i]);
	}
	event_free(m.sweep_ev);
	event_free(m.keepalive_ev);
	keepalive_stop();
	event_free(m.welcome_ev);
	tentacle_addresses_stop();
	results_stop();
	seen_stop();
	export_stop();
	ledger_check_stop();
	schedules_stop();
	run_waiters_stop();
	fleet_cached_clear();
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_free(ev_hup);
	event_base_free(m.base);
	db_close(m.db);
	close(m.webroot_fd);
	pem_free(&m.peer_cert);
	pem_free(&m.peer_key);
	pem_free(&m.web_cert);
	pem_free(&m.web_key);
	scriptkey_free();
	close(m.self_fd);
	pidfile_remove(&m.pidfile);
	log_info("stopped");
	return 0;
}
