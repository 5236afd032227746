/*
 * octoBrain's maestro: the conductor (report 2.2). It reads the
 * configuration, opens the database (it alone ever does), binds every
 * listening socket, loads the TLS contexts, then forks webserv, registerer
 * and commander, each with its own socketpair, and supervises them.
 *
 * It is the single point of access control: children send semantic
 * requests (IPC_API_CALL "health", IPC_AUTH_LOGIN, ...), never SQL; each
 * child may send only the message types in its row of the children table,
 * and a child that sends anything else is killed and restarted.
 */
#include <sys/prctl.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "apibody.h"
#include "apicall.h"
#include "auth.h"
#include "brain.h"
#include "buf.h"
#include "crypto.h"
#include "daemon.h"
#include "db.h"
#include "enrol.h"
#include "ipc.h"
#include "log.h"
#include "net.h"
#include "pack.h"
#include "proto.h"
#include "tls.h"

#define DEFAULT_CONFIG		"/etc/octopus/brain.conf"
#define RESTART_DELAY_MIN_MS	250	/* first restart of a dead child */
#define CHILD_STABLE_SECONDS	60	/* alive that long: backoff resets */
#define SESSION_SWEEP_SECONDS	60	/* how often idle sessions go */
#define SHUTDOWN_WAIT_MS	5000	/* children get this long to exit */
#define ADMIN_PASSWORD_LEN	20	/* [A-Za-z0-9]: about 119 bits */

enum child_state { CHILD_DOWN, CHILD_UP, CHILD_RESTARTING };

struct child {
	const char		*name;
	int			(*entry)(struct child_env *);
	const uint32_t		*allowed;	/* IPC types it may send, 0-ended */
	int			 listen_fd;
	SSL_CTX			*tls;

	pid_t			 pid;
	enum child_state	 state;
	unsigned		 restarts;
	unsigned		 generation;	/* bumped at every fork */
	long			 delay_ms;	/* next restart delay */
	time_t			 started;
	struct ipc_chan		*chan;
	struct event		*restart_ev;
};

static const uint32_t webserv_allowed[] = {
	IPC_AUTH_LOGIN, IPC_API_CALL, IPC_LOG_EVENT, 0
};
static const uint32_t registerer_allowed[] = {
	IPC_LOG_EVENT, IPC_ENROL_REQUEST, IPC_ENROL_OFFER_DONE,
	IPC_TENTACLE_LOOKUP, 0
};
static const uint32_t commander_allowed[] = {
	IPC_LOG_EVENT, IPC_TENTACLE_LOOKUP, IPC_JOB_STATE, IPC_RESULT_STORE,
	IPC_TENTACLE_SEEN, IPC_TENTACLE_MISSED, 0
};

enum { CHILD_WEBSERV, CHILD_REGISTERER, CHILD_COMMANDER, CHILD_COUNT };

static struct child children[CHILD_COUNT] = {
	[CHILD_WEBSERV] = { "webserv", webserv_main, webserv_allowed },
	[CHILD_REGISTERER] = { "registerer", registerer_main,
	    registerer_allowed },
	[CHILD_COMMANDER] = { "commander", commander_main, commander_allowed },
};

/* Roles, weakest first; an API operation names the weakest it allows. */
/* In order of power; an unknown role is below every other. */
enum role { ROLE_INVALID, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

struct api_op_rule {
	const char	*name;
	enum role	 min_role;
	int		 mutating;	/* needs the CSRF token */
};

static const struct api_op_rule api_rules[API_OP_MAX] = {
	[API_SESSION] = { "session", ROLE_VIEWER, 0 },
	[API_HEALTH] = { "health", ROLE_VIEWER, 0 },
	[API_LOGOUT] = { "logout", ROLE_VIEWER, 1 },
	[API_TENTACLES] = { "list tentacles", ROLE_VIEWER, 0 },
	[API_TENTACLE_ENROL] = { "enrol a tentacle", ROLE_ADMIN, 1 },
	[API_TENTACLE_APPROVE] = { "approve a tentacle", ROLE_ADMIN, 1 },
	[API_TENTACLE_REJECT] = { "reject a tentacle", ROLE_ADMIN, 1 },
	[API_TENTACLE_REVOKE] = { "revoke a tentacle", ROLE_ADMIN, 1 },
	[API_TOKENS] = { "list tokens", ROLE_ADMIN, 0 },
	[API_TOKEN_CREATE] = { "create a token", ROLE_ADMIN, 1 },
	[API_TOKEN_REVOKE] = { "revoke a token", ROLE_ADMIN, 1 },
	[API_RUN_CREATE] = { "start a run", ROLE_OPERATOR, 1 },
	[API_RUNS] = { "list runs", ROLE_VIEWER, 0 },
	[API_RUN] = { "read a run", ROLE_VIEWER, 0 },
	[API_TENTACLE_RESULTS] = { "list results", ROLE_VIEWER, 0 },
	[API_RESULT] = { "read a result", ROLE_VIEWER, 0 },
	[API_SCRIPTS] = { "list scripts", ROLE_VIEWER, 0 },
	[API_TENTACLE_SCRIPTS] = { "list a tentacle's scripts", ROLE_VIEWER, 0 },
	[API_USERS] = { "list users", ROLE_ADMIN, 0 },
	[API_USER_CREATE] = { "add a user", ROLE_ADMIN, 1 },
	[API_USER_DELETE] = { "remove a user", ROLE_ADMIN, 1 },
	/* Anyone for their own password; admins for others' (checked). */
	[API_USER_PASSWORD] = { "change a password", ROLE_VIEWER, 1 },
	[API_AUDIT] = { "read the audit log", ROLE_ADMIN, 0 },
};

/* The arguments an API operation may carry (brain.h says which). */

/* Enrolments by address in progress: the webserv request waits for the
 * registerer's IPC_ENROL_OFFER_DONE. */
#define OFFERS_MAX		64
#define OFFER_TIMEOUT_S		120	/* the registerer times out first */

struct offer {
	uint32_t	number;		/* 0 = free */
	uint32_t	reqid;		/* webserv request */
	unsigned	generation;	/* of that webserv */
	char		user[OCTO_NAME_MAX];
	char		client[OCTO_ADDR_MAX];
	char		target[OCTO_ADDR_MAX + 8];	/* "addr:port" */
	time_t		since;
};

static struct {
	struct brain_conf	 conf;
	char			 config_path[OCTO_PATH_MAX];
	int			 config_given;
	int			 foreground;
	int			 verbose;
	struct event_base	*base;
	struct db		*db;
	struct pidfile		 pidfile;
	SSL_CTX			*tls_peer, *tls_client, *tls_web;
	int			 webroot_fd;
	time_t			 started;
	char			 dummy_hash[KDF_HASH_MAX];
	unsigned long		 protocol_errors;
	unsigned long		 refused_handshakes;
	struct event		*sweep_ev;
	struct event		*keepalive_ev;
	struct event		*welcome_ev;	/* ping the newly accepted */
	int			 welcome_round;
	int			 stopping;
	int			 workers_started; /* KDF threads exist between forks */
	char			 pidfile_dir[OCTO_PATH_MAX];	/* if we made it */
	char			 brain_fpr[OCTO_FPR_HEX_LEN + 1];
	struct offer		 offers[OFFERS_MAX];
	uint32_t		 next_offer;
} m = { .webroot_fd = -1 };

static void	child_start(struct child *);
static void	welcome_soon(void);

static enum role
role_parse(const char *s)
{
	if (strcmp(s, "admin") == 0)
		return ROLE_ADMIN;
	if (strcmp(s, "operator") == 0)
		return ROLE_OPERATOR;
	if (strcmp(s, "viewer") == 0)
		return ROLE_VIEWER;
	return ROLE_INVALID;
}

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

static void
print_line(const char *line)
{
	puts(line);
}

/* ---- replies to the webserv ------------------------------------------ */

static void
reply_send(uint32_t id, unsigned generation, int status, json_t *body,
    const char *cookie)
{
	struct child	*ws = &children[CHILD_WEBSERV];
	struct buf	 b;
	struct packer	 p;
	char		*text;

	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL) {
		log_warnx("out of memory encoding a reply");
		return;
	}
	/* The webserv that asked may have died since: drop the reply. */
	if (ws->chan == NULL || ws->generation != generation) {
		free(text);
		return;
	}
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u32(&p, status);
	pack_str(&p, text);
	pack_str(&p, cookie ? cookie : "");
	if (pack_error(&p) == 0)
		ipc_send(ws->chan, IPC_API_REPLY, id, b.data, b.len);
	else
		log_warnx("reply %u too large for IPC", id);
	buf_free(&b);
	free(text);
}

static void
reply_error(uint32_t id, unsigned generation, int status, const char *msg)
{
	reply_send(id, generation, status, json_pack("{s:s}", "error", msg),
	    NULL);
}

/* A child that sends what it may not, or a malformed message, is broken or
 * compromised: it is killed, and restarted fresh (SIGCHLD). */
static void
child_misbehaved(struct child *c, const char *what)
{
	log_warnx("%s (pid %d) %s: killing it", c->name, (int)c->pid, what);
	db_audit(m.db, "system", "child_killed", "", c->name);
	if (c->pid > 0)
		kill(c->pid, SIGKILL);
}

/* ---- login ----------------------------------------------------------- */

static void
login_done(struct kdf_job *job)
{
	char	 key[OCTO_TOKEN_HEX_LEN + 1], csrf[OCTO_TOKEN_HEX_LEN + 1];
	char	 key_hash[SHA256_LEN * 2 + 1];
	uint8_t	 digest[SHA256_LEN];
	char	 cookie[OCTO_TOKEN_HEX_LEN + 1];

	if (job->match != 1 || !job->user_known) {
		if (job->match == -1 && job->user_known)
			log_warnx("user %s: stored password hash is malformed",
			    job->user);
		log_info("login failed for \"%s\" from %s", job->user,
		    job->client);
		db_audit(m.db, job->user, "login_failed", job->client, "");
		reply_error(job->reqid, job->generation, 401,
		    "wrong user name or password");
		goto out;
	}
	if (crypto_random_hex(key, 32) == -1 ||
	    crypto_random_hex(csrf, 32) == -1 ||
	    crypto_sha256(key, strlen(key), digest) == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot create a session");
		goto out;
	}
	hex_encode(digest, sizeof(digest), key_hash);
	if (db_session_add(m.db, key_hash, job->user, csrf, job->client,
	    time(NULL)) == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot store the session");
		goto out;
	}
	log_info("user %s logged in from %s", job->user, job->client);
	db_audit(m.db, job->user, "login", job->client, "");
	strlcpy(cookie, key, sizeof(cookie));
	reply_send(job->reqid, job->generation, 200,
	    json_pack("{s:{s:s,s:s},s:s}", "user", "name", job->user, "role",
	    job->role, "csrf", csrf), cookie);
	crypto_wipe(cookie, sizeof(cookie));
out:
	crypto_wipe(key, sizeof(key));
	crypto_wipe(job, sizeof(*job));
	free(job);
}

static void
handle_login(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker	 u;
	struct kdf_job	*job;
	long		 wait;
	int		 rc;

	if ((job = calloc(1, sizeof(*job))) == NULL) {
		reply_error(msg->hdr.id, c->generation, 500, "out of memory");
		return;
	}
	job->reqid = msg->hdr.id;
	job->generation = c->generation;
	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_str(&u, job->client, sizeof(job->client));
	unpack_str(&u, job->user, sizeof(job->user));
	unpack_str(&u, job->password, sizeof(job->password));
	if (unpack_end(&u) == -1) {
		/* The webserv checks lengths before sending. */
		crypto_wipe(job, sizeof(*job));
		free(job);
		child_misbehaved(c, "sent a malformed login request");
		return;
	}

	wait = ratelimit_check(job->client, time(NULL), m.conf.login_attempts,
	    m.conf.login_window);
	if (wait > 0) {
		log_warnx("login from %s rate-limited (%ld s left)",
		    job->client, wait);
		reply_send(job->reqid, job->generation, 429,
		    json_pack("{s:s,s:I}", "error", "too many login attempts; "
		    "try again later", "retry_after", (json_int_t)wait), NULL);
		crypto_wipe(job, sizeof(*job));
		free(job);
		return;
	}

	rc = db_user_get(m.db, job->user, job->role, sizeof(job->role),
	    job->stored, sizeof(job->stored));
	if (rc == -1) {
		reply_error(job->reqid, job->generation, 500, "database error");
		crypto_wipe(job, sizeof(*job));
		free(job);
		return;
	}
	job->user_known = (rc == 0);
	/* Unknown users cost the same KDF: timing tells nothing. */
	if (!job->user_known)
		strlcpy(job->stored, m.dummy_hash, sizeof(job->stored));
	if (kdf_submit(job) == -1) {
		reply_error(job->reqid, job->generation, 503,
		    "too many logins in progress; try again");
		crypto_wipe(job, sizeof(*job));
		free(job);
	}
}

/* ---- API calls ------------------------------------------------------- */

static json_t *
health_json(void)
{
	json_t		*list = json_array();
	struct child	*c;
	int		 i;

	for (i = 0; i < CHILD_COUNT; i++) {
		c = &children[i];
		json_array_append_new(list, json_pack("{s:s,s:s,s:I,s:I}",
		    "name", c->name,
		    "state", c->state == CHILD_UP ? "up" : "restarting",
		    "pid", (json_int_t)(c->state == CHILD_UP ? c->pid : 0),
		    "restarts", (json_int_t)c->restarts));
	}
	return json_pack("{s:o,s:I,s:I,s:s,s:I}", "children", list,
	    "refused_handshakes", (json_int_t)m.refused_handshakes,
	    "protocol_errors", (json_int_t)m.protocol_errors,
	    "version", OCTO_VERSION,
	    "uptime", (json_int_t)(time(NULL) - m.started));
}

static int64_t
api_id(const struct api_args *a)
{
	return a->id > INT64_MAX ? 0 : (int64_t)a->id;
}

static void	offer_start(struct child *, uint32_t, const struct api_args *,
		    const char *, const char *);
static void	run_create(struct child *, uint32_t, const struct api_args *,
		    const char *, const char *);

/* 200 with j; NULL is "not found", or a database error when the reply
 * wraps a list (member names it). */
static void
reply_json_or_error(struct child *c, uint32_t id, json_t *j,
    const char *member)
{
	if (j == NULL || (member && json_object_get(j, member) == NULL)) {
		json_decref(j);
		reply_error(id, c->generation, member ? 500 : 404, member ?
		    "database error" : "not found");
	} else
		reply_send(id, c->generation, 200, j, NULL);
}

/* Fleet management: tentacles and enrolment tokens. */
static void
api_manage(struct child *c, uint32_t id, uint32_t op,
    const struct api_args *a, const char *user, const char *client)
{
	json_t		*j;
	char		 detail[96];
	int		 rc;
	int64_t		 tid = api_id(a);
	struct db_tentacle t;

	switch (op) {
	case API_TENTACLES:
		if ((j = db_tentacle_list(m.db)) == NULL)
			reply_error(id, c->generation, 500, "database error");
		else
			reply_send(id, c->generation, 200,
			    json_pack("{s:o}", "tentacles", j), NULL);
		return;
	case API_TENTACLE_ENROL:
		offer_start(c, id, a, user, client);
		return;
	case API_TENTACLE_APPROVE:
	case API_TENTACLE_REJECT:
		if ((rc = db_tentacle_get(m.db, tid, &t)) != 0) {
			reply_error(id, c->generation, rc == -1 ? 500 : 404,
			    rc == -1 ? "database error" : "no such tentacle");
			return;
		}
		crypto_wipe(t.key_hex, sizeof(t.key_hex));
		if (op == API_TENTACLE_REJECT &&
		    strcmp(t.enrolment, "pending") != 0) {
			reply_error(id, c->generation, 409, "only a pending "
			    "tentacle can be rejected; revoke it instead");
			return;
		}
		if (db_tentacle_set_enrolment(m.db, tid, op ==
		    API_TENTACLE_APPROVE ? "accepted" : "rejected") != 0) {
			reply_error(id, c->generation, 500, "database error");
			return;
		}
		snprintf(detail, sizeof(detail), "tentacle %lld (%s)",
		    (long long)tid, t.hostname);
		db_audit(m.db, user, op == API_TENTACLE_APPROVE ? "approve" :
		    "reject", client, detail);
		log_info("%s %s %s", user, op == API_TENTACLE_APPROVE ?
		    "approved" : "rejected", detail);
		if (op == API_TENTACLE_APPROVE)
			welcome_soon();
		reply_send(id, c->generation, 200, json_pack("{s:o}",
		    "tentacle", db_tentacle_json(m.db, tid)), NULL);
		return;
	case API_TENTACLE_REVOKE:
		if ((rc = db_tentacle_delete(m.db, tid)) != 0) {
			reply_error(id, c->generation, rc == -1 ? 500 : 404,
			    rc == -1 ? "database error" : "no such tentacle");
			return;
		}
		snprintf(detail, sizeof(detail), "tentacle %lld", (long long)tid);
		db_audit(m.db, user, "revoke", client, detail);
		log_info("%s revoked %s: its key is refused from now on", user,
		    detail);
		reply_send(id, c->generation, 200, json_pack("{s:b}", "ok", 1),
		    NULL);
		return;
	case API_TOKENS:
		if ((j = db_token_list(m.db)) == NULL)
			reply_error(id, c->generation, 500, "database error");
		else
			reply_send(id, c->generation, 200,
			    json_pack("{s:o}", "tokens", j), NULL);
		return;
	case API_TOKEN_CREATE:
		if (a->expires_in < 1 || a->expires_in > TOKEN_EXPIRES_MAX ||
		    a->uses < 1 || a->uses > TOKEN_USES_MAX) {
			reply_error(id, c->generation, 400, "expires_in or uses "
			    "out of range");
			return;
		}
		if ((j = enrol_token_create(m.db, user, (long)a->expires_in,
		    (long)a->uses, m.brain_fpr)) == NULL) {
			reply_error(id, c->generation, 500, "database error");
			return;
		}
		snprintf(detail, sizeof(detail), "token %lld: %u uses, %llu s",
		    (long long)json_integer_value(json_object_get(j, "id")),
		    a->uses, (unsigned long long)a->expires_in);
		db_audit(m.db, user, "token_create", client, detail);
		reply_send(id, c->generation, 201, j, NULL);
		return;
	case API_RUN_CREATE:
		run_create(c, id, a, user, client);
		return;
	case API_RUNS:
		reply_json_or_error(c, id, json_pack("{s:o*}", "runs",
		    db_run_list(m.db, api_id(a))), "runs");
		return;
	case API_RUN:
		reply_json_or_error(c, id, db_run_json(m.db, tid,
		    a->with_output), NULL);
		return;
	case API_TENTACLE_RESULTS:
		reply_json_or_error(c, id, json_pack("{s:o*}", "results",
		    db_tentacle_results(m.db, tid)), "results");
		return;
	case API_RESULT:
		reply_json_or_error(c, id, db_result_json(m.db, tid), NULL);
		return;
	case API_SCRIPTS:
	case API_TENTACLE_SCRIPTS:
		reply_json_or_error(c, id, json_pack("{s:o*}", "scripts",
		    db_scripts_json(m.db, op == API_SCRIPTS ? 0 : tid)),
		    "scripts");
		return;
	case API_TOKEN_REVOKE:
		if ((rc = db_token_delete(m.db, tid)) != 0) {
			reply_error(id, c->generation, rc == -1 ? 500 : 404,
			    rc == -1 ? "database error" : "no such token");
			return;
		}
		snprintf(detail, sizeof(detail), "token %lld", (long long)tid);
		db_audit(m.db, user, "token_revoke", client, detail);
		reply_send(id, c->generation, 200, json_pack("{s:b}", "ok", 1),
		    NULL);
		return;
	}
}

/* ---- runs ------------------------------------------------------------ */

/* Hand a queued job to the commander. Jobs stay "queued" until it says
 * how sending went; if it dies meanwhile they are sent again when it is
 * back (a tentacle runs a job ID once, however often it is ordered). */
static void
dispatch_order(const struct db_order *o, void *arg)
{
	struct child	*cmd = &children[CHILD_COMMANDER];
	uint32_t	 type = arg ? IPC_KEEPALIVE : IPC_RUN_ORDER;
	uint8_t		 key[PROTO_KEY_LEN];
	struct buf	 b;
	struct packer	 p;

	if (cmd->chan == NULL || hex_decode(o->key_hex, key, sizeof(key)))
		return;
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u64(&p, (uint64_t)o->job);
	pack_u64(&p, (uint64_t)o->tentacle);
	pack_str(&p, o->address);
	pack_u32(&p, (uint32_t)o->port);
	pack_str(&p, o->fingerprint);
	pack_bytes(&p, key, sizeof(key));
	pack_str(&p, o->script);
	if (pack_error(&p) == 0)
		ipc_send(cmd->chan, type, 0, b.data, b.len);
	buf_free(&b);
	crypto_wipe(key, sizeof(key));
}

/* Keepalive (report 5.2): ask the commander to ping every accepted
 * tentacle; answers and misses come back as TENTACLE_SEEN/MISSED. */
static void
keepalive(evutil_socket_t fd, short events, void *arg)
{
	if (children[CHILD_COMMANDER].chan != NULL)
		db_tentacles_to_ping(m.db, 0, dispatch_order, (void *)1);
}

/*
 * A tentacle just accepted is pinged within seconds, not at the next
 * keepalive: its facts and scripts are what the admin wants to see next.
 * One timer for all (a thousand enrolments make a few pings each, not a
 * thousand rounds): at 1 s, then 5 s, of those never seen yet; a miss here
 * counts like any other, and the keepalive takes over.
 */
static void
welcome_ping(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 4, 0 };

	if (children[CHILD_COMMANDER].chan != NULL)
		db_tentacles_to_ping(m.db, 1, dispatch_order, (void *)1);
	if (m.welcome_round++ == 0)
		evtimer_add(m.welcome_ev, &tv);
}

static void
welcome_soon(void)
{
	struct timeval	tv = { 1, 0 };

	/* Already due: that ping will do (re-arming it at every call could
	 * put it off for ever while enrolments keep coming). */
	if (m.welcome_ev == NULL || evtimer_pending(m.welcome_ev, NULL))
		return;
	m.welcome_round = 0;
	evtimer_add(m.welcome_ev, &tv);
}

/* The tentacle's own account of its scripts, checked before storing. */
static json_t *
inventory_scripts(const char *text, size_t len)
{
	json_t	*list, *v, *name, *sha, *desc;
	size_t	 i;

	list = json_loadb(text, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_array(list) || json_array_size(list) > 1000)
		goto bad;
	json_array_foreach(list, i, v) {
		name = json_object_get(v, "name");
		sha = json_object_get(v, "sha256");
		desc = json_object_get(v, "description");
		if (!json_is_string(name) || !json_is_string(sha) ||
		    (desc && !json_is_string(desc)) ||
		    !proto_script_name_valid(json_string_value(name)) ||
		    !proto_fingerprint_valid(json_string_value(sha)) ||
		    (desc && json_string_length(desc) > 200))
			goto bad;
		if (desc == NULL)
			json_object_set_new(v, "description", json_string(""));
	}
	return list;
bad:
	json_decref(list);
	return NULL;
}

/*
 * Jobs a tentacle acknowledged but will never report: it went offline, or
 * its command worker restarted since (a kill -9 takes the running script's
 * result with it). Failed, with the reason; a result that was spooled
 * after all still replaces this when it arrives.
 */
static void
jobs_lost(int64_t tentacle, int64_t acked_before_ms, const char *why)
{
	int	n;

	if (db_jobs_lost(m.db, tentacle, acked_before_ms, why, &n) == 0 &&
	    n > 0)
		log_warnx("tentacle %lld: %d running job%s lost: %s",
		    (long long)tentacle, n, n == 1 ? "" : "s", why);
}

static void
handle_tentacle_seen(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker		 u;
	struct wire_frame	 f;
	struct msg_inventory	 inv;
	const uint8_t		*payload;
	size_t			 plen;
	uint64_t		 tid;
	const char		*why, *facts = NULL;
	json_t			*scripts = NULL, *fj = NULL;
	json_int_t		 uptime;
	struct timespec		 now;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &tid);
	unpack_bytes_ref(&u, &payload, &plen, WIRE_PAYLOAD_MAX);
	if (unpack_end(&u) == -1 || tid > INT64_MAX) {
		child_misbehaved(c, "sent a malformed keepalive answer");
		return;
	}
	if (plen > 0) {
		f.type = WIRE_INVENTORY;
		f.len = (uint32_t)plen;
		f.payload = payload;
		if (proto_decode_inventory(&f, &inv, &why) == 0) {
			fj = json_loads(inv.facts, JSON_REJECT_DUPLICATES, NULL);
			if (json_is_object(fj))
				facts = inv.facts;
			scripts = inventory_scripts(inv.scripts,
			    inv.scripts_len);
			if (scripts == NULL)
				log_warnx("tentacle %llu: malformed script "
				    "list ignored", (unsigned long long)tid);
		} else
			log_warnx("tentacle %llu: inventory: %s",
			    (unsigned long long)tid, why);
	}
	/* Its command worker started after it acknowledged these. The
	 * tentacle tells its uptime, not a time: clocks of two hosts may
	 * differ, a duration does not. The margin covers the answer's
	 * journey; a job it wrongly catches is put right by its result. */
	uptime = json_integer_value(json_object_get(fj, "uptime_ms"));
	if (facts && uptime > 0 && uptime < 100LL * 365 * 86400 * 1000) {
		clock_gettime(CLOCK_REALTIME, &now);
		jobs_lost((int64_t)tid, (int64_t)now.tv_sec * 1000 +
		    now.tv_nsec / 1000000 - uptime - 100, "the tentacle "
		    "restarted during the run");
	}
	if (db_begin(m.db) == 0) {
		if (db_tentacle_seen(m.db, (int64_t)tid, facts) == -1 ||
		    (scripts && db_tentacle_scripts_set(m.db, (int64_t)tid,
		    scripts) == -1))
			db_rollback(m.db);
		else
			db_commit(m.db);
	}
	json_decref(fj);
	json_decref(scripts);
}

static void
handle_tentacle_missed(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker	u;
	uint64_t	tid;
	char		reason[256];
	int		offline;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &tid);
	unpack_str(&u, reason, sizeof(reason));
	if (unpack_end(&u) == -1 || tid > INT64_MAX) {
		child_misbehaved(c, "sent a malformed keepalive miss");
		return;
	}
	if (db_tentacle_missed(m.db, (int64_t)tid, m.conf.keepalive_misses,
	    &offline) == 0 && offline) {
		log_warnx("tentacle %llu is offline (%lld pings missed; last: "
		    "%s)", (unsigned long long)tid, m.conf.keepalive_misses,
		    reason);
		jobs_lost((int64_t)tid, INT64_MAX, "the tentacle went "
		    "offline during the run");
	}
}

static void
dispatch_queued(int64_t run)
{
	/* Handed to the commander: "sent" (and sent again if a new
	 * commander starts before the tentacle acknowledged; the tentacle
	 * knows a job it was given). */
	if (children[CHILD_COMMANDER].chan != NULL &&
	    db_jobs_queued(m.db, run, dispatch_order, NULL) == 0)
		db_jobs_sent(m.db, run);
}

static void
run_create(struct child *c, uint32_t reqid, const struct api_args *a,
    const char *user, const char *client)
{
	int64_t			*ids = NULL, run, job;
	size_t			 n, i;
	struct db_tentacle	 t;
	char			 why[96], detail[128];
	int			 rc;

	if (!proto_script_name_valid(a->script)) {
		reply_error(reqid, c->generation, 400, "bad script name");
		return;
	}
	if (a->ntentacles == 0) {
		if (db_tentacles_accepted(m.db, &ids, &n) == -1) {
			reply_error(reqid, c->generation, 500,
			    "database error");
			return;
		}
		if (n == 0) {
			free(ids);
			reply_error(reqid, c->generation, 409,
			    "no accepted tentacle to run it on");
			return;
		}
	} else {
		n = a->ntentacles;
		if ((ids = calloc(n, sizeof(*ids))) == NULL) {
			reply_error(reqid, c->generation, 500, "out of memory");
			return;
		}
		for (i = 0; i < n; i++)
			ids[i] = a->tentacles[i] > INT64_MAX ? 0 :
			    (int64_t)a->tentacles[i];
	}
	if (db_begin(m.db) == -1) {
		free(ids);
		reply_error(reqid, c->generation, 500, "database error");
		return;
	}
	if (db_run_add(m.db, a->script, user, &run) == -1)
		goto dberr;
	for (i = 0; i < n; i++) {
		rc = db_tentacle_get(m.db, ids[i], &t);
		crypto_wipe(t.key_hex, sizeof(t.key_hex));
		if (rc == -1)
			goto dberr;
		if (rc == DB_NOTFOUND || strcmp(t.enrolment, "accepted")) {
			snprintf(why, sizeof(why), "tentacle %lld %s",
			    (long long)ids[i], rc == DB_NOTFOUND ?
			    "does not exist" : "is not accepted");
			db_rollback(m.db);
			free(ids);
			reply_error(reqid, c->generation, 400, why);
			return;
		}
		rc = db_job_add(m.db, run, ids[i], t.hostname, &job);
		if (rc == -1) {
			/* The same ID twice in the list. */
			db_rollback(m.db);
			free(ids);
			reply_error(reqid, c->generation, 400,
			    "a tentacle is listed twice");
			return;
		}
	}
	if (db_commit(m.db) == -1)
		goto dberr;
	free(ids);
	snprintf(detail, sizeof(detail), "run %lld: %s on %zu tentacles",
	    (long long)run, a->script, n);
	db_audit(m.db, user, "run", client, detail);
	log_info("%s started %s", user, detail);
	reply_send(reqid, c->generation, 202, json_pack("{s:I}", "id",
	    (json_int_t)run), NULL);
	dispatch_queued(run);
	return;
dberr:
	db_rollback(m.db);
	free(ids);
	reply_error(reqid, c->generation, 500, "database error");
}

static void
handle_job_state(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker	u;
	uint64_t	job;
	char		state[16], message[PROTO_MESSAGE_MAX + 64];

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &job);
	unpack_str(&u, state, sizeof(state));
	unpack_str(&u, message, sizeof(message));
	if (unpack_end(&u) == -1 || job > INT64_MAX ||
	    (strcmp(state, "running") && strcmp(state, "failed") &&
	    strcmp(state, "unreachable"))) {
		child_misbehaved(c, "sent a malformed job state");
		return;
	}
	if (db_job_set_state(m.db, (int64_t)job, state, message) == 0)
		log_debug("job %llu: %s%s%s", (unsigned long long)job, state,
		    message[0] ? ": " : "", message);
}

/*
 * Results are stored in batches: every result that arrives before the loop
 * comes back here (one read of the channel carries many) goes into one
 * transaction, and then each tentacle gets its answer. A batch is also
 * flushed as soon as it holds RESULT_BATCH_MAX results.
 */
#define RESULT_BATCH_MAX	256

struct pending_result {
	uint32_t		 conn;		/* the commander's connection */
	unsigned		 generation;	/* of that commander */
	uint64_t		 tentacle;
	uint8_t			*payload;	/* the RESULT frame's, copied */
	size_t			 len;
	TAILQ_ENTRY(pending_result) entry;
};

static TAILQ_HEAD(, pending_result) results_pending =
    TAILQ_HEAD_INITIALIZER(results_pending);
static int		 results_npending;
static struct event	*results_ev;

static const char *
result_store_one(struct pending_result *pr, struct msg_result *r)
{
	struct wire_frame	 f;
	const char		*why = NULL;
	int64_t			 owner = 0;
	int			 stored = 0, accepted = 0, rc;

	f.type = WIRE_RESULT;
	f.len = (uint32_t)pr->len;
	f.payload = pr->payload;
	memset(r, 0, sizeof(*r));
	if (proto_decode_result(&f, r, &why) == -1)
		return why;
	rc = db_job_owner(m.db, (int64_t)r->job, &owner, &accepted);
	if (rc == -1)
		return "database error";
	if (rc == DB_NOTFOUND || (uint64_t)owner != pr->tentacle)
		return "a result for a job this tentacle was never given";
	/* The commander may have authenticated it with the key it was
	 * given with the order (peer.h, PEER_KEYS_MAX): whether it is still
	 * accepted is decided here, with the result, in the transaction. */
	if (!accepted)
		return "the tentacle is no longer accepted";
	if (db_result_store(m.db, (int64_t)r->job, r, &stored) == -1)
		return "database error";
	/* Any authenticated contact counts as a sign of life. */
	db_tentacle_seen(m.db, (int64_t)pr->tentacle, NULL);
	if (stored)
		log_debug("job %llu: result stored", (unsigned long long)r->job);
	return NULL;
}

static void
results_flush(evutil_socket_t fd, short events, void *arg)
{
	struct child		*cmd = &children[CHILD_COMMANDER];
	struct pending_result	*pr;
	struct msg_result	 r;
	const char		*why, *whys[RESULT_BATCH_MAX];
	uint64_t		 jobs[RESULT_BATCH_MAX];
	char			 detail[160];
	int			 n = 0, i, in_tx;
	struct buf		 b;
	struct packer		 p;

	in_tx = db_begin(m.db) == 0;
	TAILQ_FOREACH(pr, &results_pending, entry) {
		memset(&r, 0, sizeof(r));
		why = in_tx ? result_store_one(pr, &r) : "database error";
		jobs[n] = r.job;
		whys[n++] = why;
		if (why && strcmp(why, "database error")) {
			snprintf(detail, sizeof(detail), "tentacle %llu: "
			    "result refused: %s",
			    (unsigned long long)pr->tentacle, why);
			log_warnx("%s", detail);
			db_audit(m.db, "system", "result_refused", "", detail);
		}
	}
	if (in_tx && db_commit(m.db) == -1) {
		db_rollback(m.db);
		for (i = 0; i < n; i++)
			whys[i] = "database error";
	}
	/* Stored (committed): now, and only now, acknowledge. */
	i = 0;
	while ((pr = TAILQ_FIRST(&results_pending)) != NULL) {
		TAILQ_REMOVE(&results_pending, pr, entry);
		if (cmd->chan != NULL && cmd->generation == pr->generation) {
			buf_init(&b, 1024);
			pack_init(&p, &b);
			/* 0 stored, 1 try again later, 2 refused for good
			 * (brain.h, IPC_RESULT_STORED). */
			pack_u8(&p, whys[i] == NULL ? 0 :
			    strcmp(whys[i], "database error") == 0 ? 1 : 2);
			pack_u64(&p, jobs[i]);
			pack_str(&p, whys[i] ? whys[i] : "");
			if (pack_error(&p) == 0)
				ipc_send(cmd->chan, IPC_RESULT_STORED, pr->conn,
				    b.data, b.len);
			buf_free(&b);
		}
		free(pr->payload);
		free(pr);
		i++;
	}
	results_npending = 0;
}

static void
handle_result_store(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker		 u;
	struct pending_result	*pr;
	const uint8_t		*payload;
	size_t			 plen;
	uint64_t		 tentacle;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &tentacle);
	unpack_bytes_ref(&u, &payload, &plen, WIRE_PAYLOAD_MAX);
	if (unpack_end(&u) == -1) {
		child_misbehaved(c, "sent a malformed result");
		return;
	}
	if ((pr = calloc(1, sizeof(*pr))) == NULL ||
	    (pr->payload = malloc(plen ? plen : 1)) == NULL) {
		free(pr);
		log_warnx("out of memory: a result waits for its redelivery");
		return;
	}
	memcpy(pr->payload, payload, plen);
	pr->len = plen;
	pr->conn = msg->hdr.id;
	pr->generation = c->generation;
	pr->tentacle = tentacle;
	TAILQ_INSERT_TAIL(&results_pending, pr, entry);
	if (++results_npending >= RESULT_BATCH_MAX)
		results_flush(-1, 0, NULL);
	else
		event_active(results_ev, EV_TIMEOUT, 0);
}

/* ---- enrolment by address -------------------------------------------- */

static void
offer_start(struct child *c, uint32_t reqid, const struct api_args *a,
    const char *user, const char *client)
{
	struct child	*reg = &children[CHILD_REGISTERER];
	struct offer	*o = NULL;
	struct buf	 b;
	struct packer	 p;
	size_t		 i;

	if (!net_addr_valid(a->address) || a->port == 0 || a->port > 65535) {
		reply_error(reqid, c->generation, 400,
		    "address must be a numeric IP address, port 1-65535");
		return;
	}
	if (reg->chan == NULL) {
		reply_error(reqid, c->generation, 503,
		    "the registerer is restarting; try again");
		return;
	}
	for (i = 0; i < OFFERS_MAX; i++)
		if (m.offers[i].number == 0) {
			o = &m.offers[i];
			break;
		}
	if (o == NULL) {
		reply_error(reqid, c->generation, 503,
		    "too many enrolments in progress");
		return;
	}
	if (++m.next_offer == 0)
		m.next_offer = 1;
	o->number = m.next_offer;
	o->reqid = reqid;
	o->generation = c->generation;
	o->since = time(NULL);
	strlcpy(o->user, user, sizeof(o->user));
	strlcpy(o->client, client, sizeof(o->client));
	snprintf(o->target, sizeof(o->target), "%s:%u", a->address, a->port);

	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_str(&p, a->address);
	pack_u32(&p, a->port);
	if (pack_error(&p) || ipc_send(reg->chan, IPC_ENROL_OFFER, o->number,
	    b.data, b.len) == -1) {
		o->number = 0;
		reply_error(reqid, c->generation, 500, "internal error");
	} else
		log_info("%s asked to enrol the host at %s", user, o->target);
	buf_free(&b);
}

static struct offer *
offer_find(uint32_t number)
{
	size_t	i;

	for (i = 0; i < OFFERS_MAX; i++)
		if (number != 0 && m.offers[i].number == number)
			return &m.offers[i];
	return NULL;
}

static void
offer_finish(struct offer *o, int status, json_t *body, const char *error)
{
	char	detail[OCTO_ADDR_MAX + 8 + 200];

	snprintf(detail, sizeof(detail), "%s: %s", o->target,
	    error ? error : "enrolled");
	db_audit(m.db, o->user, error ? "enrol_failed" : "enrol", o->client,
	    detail);
	if (error) {
		log_warnx("enrolment of %s failed: %s", o->target, error);
		json_decref(body);
		reply_error(o->reqid, o->generation, status, error);
	} else
		reply_send(o->reqid, o->generation, status, body, NULL);
	o->number = 0;
}

/* The registerer died or an offer got no answer: fail what waits. */
static void
offers_expire(int all)
{
	time_t	now = time(NULL);
	size_t	i;

	for (i = 0; i < OFFERS_MAX; i++)
		if (m.offers[i].number != 0 && (all ||
		    now - m.offers[i].since > OFFER_TIMEOUT_S))
			offer_finish(&m.offers[i], 504, NULL, all ?
			    "the registerer restarted during the enrolment" :
			    "no answer from the registerer");
}

static void
handle_offer_done(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker	 u;
	struct offer	*o;
	uint8_t		 ok;
	uint64_t	 tid;
	uint32_t	 status;
	char		 error[PROTO_MESSAGE_MAX + NET_PEER_MAX];

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u8(&u, &ok);
	unpack_u64(&u, &tid);
	unpack_u32(&u, &status);
	unpack_str(&u, error, sizeof(error));
	if (unpack_end(&u) == -1 || (!ok && (status < 400 || status > 599))) {
		child_misbehaved(c, "sent a malformed enrolment outcome");
		return;
	}
	if ((o = offer_find(msg->hdr.id)) == NULL)
		return;		/* expired meanwhile */
	if (ok)
		offer_finish(o, 201, json_pack("{s:o*}", "tentacle",
		    db_tentacle_json(m.db, tid > INT64_MAX ? 0 : (int64_t)tid)),
		    NULL);
	else
		offer_finish(o, (int)status, NULL, error);
}

/* ---- enrolment and handshakes: the registerer and commander ask ------ */

static void
handle_enrol_request(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker		 u;
	struct wire_frame	 f;
	struct msg_enrol_request req;
	struct msg_enrol_reply	 reply;
	struct buf		 b;
	struct packer		 p;
	const uint8_t		*payload;
	size_t			 plen;
	uint32_t		 offer;
	char			 source[NET_PEER_MAX], fpr[OCTO_FPR_HEX_LEN + 1];
	char			 detail[OCTO_NAME_MAX + NET_PEER_MAX + 96];
	char			 actor[32];
	const char		*why = NULL;
	int			 ok;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u32(&u, &offer);
	unpack_str(&u, source, sizeof(source));
	unpack_str(&u, fpr, sizeof(fpr));
	unpack_bytes_ref(&u, &payload, &plen, WIRE_PAYLOAD_MAX);
	if (unpack_end(&u) == -1) {
		child_misbehaved(c, "sent a malformed enrolment request");
		return;
	}
	/* The registerer decoded it already; decode again: the maestro
	 * trusts no child with what goes into the database. */
	f.type = WIRE_ENROL_REQUEST;
	f.len = (uint32_t)plen;
	f.payload = payload;
	memset(&reply, 0, sizeof(reply));
	if (proto_decode_enrol_request(&f, &req, &why) == -1)
		ok = 0;
	else if (!crypto_equal(req.fingerprint, fpr, OCTO_FPR_HEX_LEN) ||
	    strlen(fpr) != OCTO_FPR_HEX_LEN) {
		why = "the announced fingerprint is not the TLS certificate's";
		ok = 0;
	} else
		ok = enrol_tentacle(m.db, &req, offer != 0, source, &reply,
		    &why, detail, sizeof(detail)) == 0;
	crypto_wipe(req.token, sizeof(req.token));

	if (ok) {
		snprintf(actor, sizeof(actor), "tentacle:%llu",
		    (unsigned long long)reply.id);
		db_audit(m.db, actor, "enrolled", source, detail);
		log_info("tentacle %llu enrolled: %s",
		    (unsigned long long)reply.id, detail);
		if (reply.status == ENROLMENT_ACCEPTED)
			welcome_soon();
	} else {
		m.refused_handshakes++;
		snprintf(detail, sizeof(detail), "enrolment refused: %s", why);
		db_audit(m.db, "system", "enrolment_refused", source, detail);
		log_warnx("%s: %s", source, detail);
	}
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u8(&p, ok);
	pack_str(&p, ok ? "" : why);
	pack_u8(&p, reply.status);
	pack_u64(&p, reply.id);
	pack_bytes(&p, reply.key, sizeof(reply.key));
	if (pack_error(&p) == 0 && c->chan)
		ipc_send(c->chan, IPC_ENROL_REPLY, msg->hdr.id, b.data, b.len);
	buf_free(&b);
	crypto_wipe(&reply, sizeof(reply));
}

static void
handle_lookup(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker		u;
	struct db_tentacle	t;
	uint8_t			key[PROTO_KEY_LEN];
	uint64_t		tid;
	struct buf		b;
	struct packer		p;
	int			found;

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_u64(&u, &tid);
	if (unpack_end(&u) == -1) {
		child_misbehaved(c, "sent a malformed key lookup");
		return;
	}
	memset(&t, 0, sizeof(t));
	found = tid <= INT64_MAX && db_tentacle_get(m.db, (int64_t)tid, &t) ==
	    0 && hex_decode(t.key_hex, key, sizeof(key)) == 0;
	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_u8(&p, found);
	pack_bytes(&p, key, found ? sizeof(key) : 0);
	pack_str(&p, found ? t.fingerprint : "");
	pack_u8(&p, !found ? 0 : strcmp(t.enrolment, "accepted") == 0 ?
	    ENROLMENT_ACCEPTED : strcmp(t.enrolment, "rejected") == 0 ?
	    ENROLMENT_REJECTED : ENROLMENT_PENDING);
	if (pack_error(&p) == 0 && c->chan)
		ipc_send(c->chan, IPC_TENTACLE_KEY, msg->hdr.id, b.data, b.len);
	/* A pending tentacle polling the registerer learns here that it was
	 * approved: it starts its command worker, ping it soon. */
	if (found && c == &children[CHILD_REGISTERER] &&
	    strcmp(t.enrolment, "accepted") == 0)
		welcome_soon();
	buf_free(&b);
	crypto_wipe(key, sizeof(key));
	crypto_wipe(&t, sizeof(t));
}

/* 0.0.0.0, ::, or none: every address of the host. */
static int
addr_is_any(const char *a)
{
	struct in6_addr	a6;
	struct in_addr	a4;

	if (a[0] == '\0')
		return 1;
	if (inet_pton(AF_INET, a, &a4) == 1)
		return a4.s_addr == htonl(INADDR_ANY);
	if (inet_pton(AF_INET6, a, &a6) == 1)
		return IN6_IS_ADDR_UNSPECIFIED(&a6);
	return 0;
}

/* ---- users and the audit log ----------------------------------------- */

static void
user_kdf_done(struct kdf_job *job)
{
	char	detail[OCTO_NAME_MAX + 32];
	int	rc;

	if (job->match != 1) {
		log_warnx("user %s from %s: wrong current password",
		    job->user, job->client);
		db_audit(m.db, job->user, "password_failed", job->client,
		    job->target);
		reply_error(job->reqid, job->generation, 403,
		    "the current password is wrong");
		goto out;
	}
	if (job->hashed == -1) {
		reply_error(job->reqid, job->generation, 500,
		    "cannot hash the password");
		goto out;
	}
	if (job->op == API_USER_CREATE) {
		rc = db_user_get(m.db, job->target, NULL, 0, NULL, 0);
		if (rc == 0) {
			reply_error(job->reqid, job->generation, 409,
			    "a user with that name exists");
			goto out;
		}
		if (db_user_add(m.db, job->target, job->role,
		    job->new_hash) == -1) {
			reply_error(job->reqid, job->generation, 500,
			    "database error");
			goto out;
		}
		snprintf(detail, sizeof(detail), "%s (%s)", job->target,
		    job->role);
		db_audit(m.db, job->user, "user_add", job->client, detail);
		log_info("%s added user %s (%s)", job->user, job->target,
		    job->role);
		reply_send(job->reqid, job->generation, 201, json_pack(
		    "{s:s,s:s}", "name", job->target, "role", job->role),
		    NULL);
		goto out;
	}
	/* The user's other sessions end; the asking one stays if it is
	 * theirs. */
	rc = db_user_set_password(m.db, job->target, job->new_hash,
	    strcmp(job->user, job->target) == 0 ? job->session : NULL);
	if (rc == DB_NOTFOUND)
		reply_error(job->reqid, job->generation, 404, "no such user");
	else if (rc == -1)
		reply_error(job->reqid, job->generation, 500,
		    "database error");
	else {
		db_audit(m.db, job->user, "password", job->client,
		    job->target);
		log_info("%s changed the password of %s", job->user,
		    job->target);
		reply_send(job->reqid, job->generation, 200, json_object(),
		    NULL);
	}
out:
	crypto_wipe(job, sizeof(*job));
	free(job);
}

static void
api_users(struct child *c, uint32_t id, uint32_t op, struct api_args *a,
    const struct db_session *s, const char *key_hash, const char *client)
{
	struct kdf_job	*job;
	char		 role[16];
	long		 admins, wait;
	int		 self = strcmp(a->name, s->user) == 0, rc;

	switch (op) {
	case API_USERS:
		reply_json_or_error(c, id, db_users_json(m.db), "users");
		return;
	case API_AUDIT:
		reply_json_or_error(c, id, db_audit_json(m.db, a->name,
		    a->action, a->limit), "events");
		return;
	case API_USER_DELETE:
		if (self) {
			reply_error(id, c->generation, 409,
			    "you cannot remove yourself");
			return;
		}
		rc = db_user_get(m.db, a->name, role, sizeof(role), NULL, 0);
		if (rc == DB_NOTFOUND) {
			reply_error(id, c->generation, 404, "no such user");
			return;
		}
		if (rc == -1 || db_user_admins(m.db, &admins) == -1) {
			reply_error(id, c->generation, 500, "database error");
			return;
		}
		if (strcmp(role, "admin") == 0 && admins <= 1) {
			reply_error(id, c->generation, 409,
			    "the last admin cannot be removed");
			return;
		}
		if (db_user_delete(m.db, a->name) != 0) {
			reply_error(id, c->generation, 500, "database error");
			return;
		}
		db_audit(m.db, s->user, "user_delete", client, a->name);
		log_info("%s removed user %s", s->user, a->name);
		reply_send(id, c->generation, 200, json_pack("{s:s}",
		    "deleted", a->name), NULL);
		return;
	}

	/* Creating a user or setting a password: the KDF runs on a worker. */
	if ((job = calloc(1, sizeof(*job))) == NULL) {
		reply_error(id, c->generation, 500, "out of memory");
		return;
	}
	job->reqid = id;
	job->generation = c->generation;
	job->op = op;
	job->done = user_kdf_done;
	job->iterations = (unsigned)m.conf.kdf_iterations;
	strlcpy(job->user, s->user, sizeof(job->user));
	strlcpy(job->client, client, sizeof(job->client));
	strlcpy(job->target, a->name, sizeof(job->target));
	strlcpy(job->session, key_hash, sizeof(job->session));
	strlcpy(job->new_password, a->password, sizeof(job->new_password));
	job->skip_verify = 1;
	if (op == API_USER_CREATE) {
		rc = db_user_get(m.db, a->name, NULL, 0, NULL, 0);
		if (rc != DB_NOTFOUND) {
			reply_error(id, c->generation, rc == 0 ? 409 : 500,
			    rc == 0 ? "a user with that name exists" :
			    "database error");
			goto fail;
		}
		strlcpy(job->role, a->role, sizeof(job->role));
	} else if (self) {
		/* One's own password: prove the current one (rate-limited
		 * like a login: a stolen cookie must not guess it fast). */
		if (a->current[0] == '\0') {
			reply_error(id, c->generation, 400,
			    "current_password is needed to change your own "
			    "password");
			goto fail;
		}
		wait = ratelimit_check(client, time(NULL),
		    m.conf.login_attempts, m.conf.login_window);
		if (wait > 0) {
			reply_error(id, c->generation, 429,
			    "too many attempts; try again later");
			goto fail;
		}
		rc = db_user_get(m.db, s->user, job->role, sizeof(job->role),
		    job->stored, sizeof(job->stored));
		if (rc != 0) {
			reply_error(id, c->generation, 500, "database error");
			goto fail;
		}
		strlcpy(job->password, a->current, sizeof(job->password));
		job->skip_verify = 0;
	} else {
		if (role_parse(s->role) < ROLE_ADMIN) {
			reply_error(id, c->generation, 403,
			    "only an admin can change another user's "
			    "password");
			goto fail;
		}
		rc = db_user_get(m.db, a->name, NULL, 0, NULL, 0);
		if (rc != 0) {
			reply_error(id, c->generation, rc == DB_NOTFOUND ?
			    404 : 500, rc == DB_NOTFOUND ? "no such user" :
			    "database error");
			goto fail;
		}
	}
	if (kdf_submit(job) == 0)
		return;
	reply_error(id, c->generation, 503, "busy; try again");
fail:
	crypto_wipe(job, sizeof(*job));
	free(job);
}

static void
handle_api(struct child *c, const struct ipc_msg *msg)
{
	struct api_call		 call;
	struct db_session	 s;
	const struct api_op_rule *rule;
	struct api_args		*a = &call.args;
	const char		*key = call.session, *csrf = call.csrf;
	const char		*client = call.client, *why;
	char			 key_hash[SHA256_LEN * 2 + 1];
	uint8_t			 digest[SHA256_LEN];
	uint32_t		 op, id = msg->hdr.id;
	time_t			 now = time(NULL);
	int			 rc;

	if (apicall_decode(msg->payload, msg->hdr.len, &call, &why) == -1) {
		log_warnx("webserv: API call: %s", why);
		child_misbehaved(c, "sent a malformed API call");
		return;
	}
	if (api_rules[call.op].name == NULL) {
		apicall_clear(&call);
		child_misbehaved(c, "sent a malformed API call");
		return;
	}
	op = call.op;
	rule = &api_rules[op];

	/* Session: looked up by the hash of its key. */
	if (strlen(key) != OCTO_TOKEN_HEX_LEN ||
	    crypto_sha256(key, strlen(key), digest) == -1) {
		reply_error(id, c->generation, 401, "not logged in");
		goto out;
	}
	crypto_wipe(call.session, sizeof(call.session));
	hex_encode(digest, sizeof(digest), key_hash);
	if ((rc = db_session_get(m.db, key_hash, &s)) == -1) {
		reply_error(id, c->generation, 500, "database error");
		goto out;
	}
	if (rc == DB_NOTFOUND) {
		reply_error(id, c->generation, 401, "not logged in");
		goto out;
	}
	if (now - s.last_active >= m.conf.session_timeout) {
		db_session_delete(m.db, key_hash);
		log_info("session of %s expired", s.user);
		reply_error(id, c->generation, 401,
		    "session expired: please log in again");
		goto out;
	}
	if (role_parse(s.role) < rule->min_role) {
		reply_error(id, c->generation, 403,
		    "your role does not allow this");
		goto out;
	}
	if (rule->mutating && (strlen(csrf) != strlen(s.csrf) ||
	    !crypto_equal(csrf, s.csrf, strlen(s.csrf)))) {
		log_warnx("%s: %s by %s without a valid CSRF token", client,
		    rule->name, s.user);
		reply_error(id, c->generation, 403,
		    "missing or wrong CSRF token");
		goto out;
	}
	/* The page's own refreshes do not keep an idle session alive. */
	if (!call.background && now != s.last_active)
		db_session_touch(m.db, key_hash, now);

	switch (op) {
	case API_SESSION:
		/* brain_address: where tentacles enrol (the page writes the
		 * octoTentacle -b command); null when listening on every
		 * address (the page uses its own host then). */
		reply_send(id, c->generation, 200, json_pack(
		    "{s:{s:s,s:s},s:s,s:I,s:s?,s:I}", "user", "name", s.user,
		    "role", s.role, "csrf", s.csrf, "session_timeout",
		    (json_int_t)m.conf.session_timeout, "brain_address",
		    addr_is_any(m.conf.listen_address) ? NULL :
		    m.conf.listen_address, "registerer_port",
		    (json_int_t)m.conf.registerer_port), NULL);
		break;
	case API_HEALTH:
		reply_send(id, c->generation, 200, health_json(), NULL);
		break;
	case API_LOGOUT:
		db_session_delete(m.db, key_hash);
		db_audit(m.db, s.user, "logout", client, "");
		log_info("user %s logged out", s.user);
		reply_send(id, c->generation, 200, json_pack("{s:b}", "ok", 1),
		    "-");
		break;
	case API_USERS:
	case API_USER_CREATE:
	case API_USER_DELETE:
	case API_USER_PASSWORD:
	case API_AUDIT:
		api_users(c, id, op, a, &s, key_hash, client);
		break;
	default:
		api_manage(c, id, op, a, s.user, client);
	}
out:
	apicall_clear(&call);
}

static void
handle_log_event(struct child *c, const struct ipc_msg *msg)
{
	struct unpacker	u;
	char		kind[32], peer[NET_PEER_MAX], detail[256];

	unpack_init(&u, msg->payload, msg->hdr.len);
	unpack_str(&u, kind, sizeof(kind));
	unpack_str(&u, peer, sizeof(peer));
	unpack_str(&u, detail, sizeof(detail));
	if (unpack_end(&u) == -1) {
		child_misbehaved(c, "sent a malformed event");
		return;
	}
	if (strcmp(kind, "protocol_error") == 0)
		m.protocol_errors++;
	else if (strcmp(kind, "refused_handshake") == 0) {
		m.refused_handshakes++;
		db_audit(m.db, c->name, "refused_handshake", peer, detail);
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

	if (c->chan != chan)
		return;		/* a message from before a kill */
	if (!child_may_send(c, msg->hdr.type)) {
		char	what[64];

		snprintf(what, sizeof(what), "sent %s, which it may not",
		    ipc_type_str(msg->hdr.type));
		child_misbehaved(c, what);
		return;
	}
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
	case IPC_TENTACLE_LOOKUP:
		handle_lookup(c, msg);
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
	}
}

static void
child_chan_closed(struct ipc_chan *chan, const char *reason, void *arg)
{
	struct child	*c = arg;

	if (c->chan != chan || c->pid <= 0)
		return;
	if (strcmp(reason, "closed by peer") != 0)
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

/* Keep only the descriptors the child needs; everything else the maestro
 * holds (database, other children's sockets, pidfile) is closed. */
static void
close_other_fds(const int *keep, int n)
{
	int	i, j, t, lo = 3;

	int	sorted[8];
	for (i = 0; i < n; i++)
		sorted[i] = keep[i];
	for (i = 0; i < n; i++)
		for (j = i + 1; j < n; j++)
			if (sorted[j] < sorted[i]) {
				t = sorted[i];
				sorted[i] = sorted[j];
				sorted[j] = t;
			}
	for (i = 0; i < n; i++) {
		if (sorted[i] < lo)
			continue;
		if (sorted[i] > lo)
			close_range(lo, sorted[i] - 1, 0);
		lo = sorted[i] + 1;
	}
	close_range(lo, ~0U, 0);
}

static void
child_start(struct child *c)
{
	struct child_env	 env;
	int			 sp[2], keep[4], n = 0;
	pid_t			 pid, parent = getpid();

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp) == -1) {
		log_warn("%s: socketpair", c->name);
		goto retry;
	}
	/* No other thread may hold a lock while we fork (see auth.h). The
	 * first children are forked before the workers exist. */
	kdf_threads_join();
	pid = fork();
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
		if (c->chan == NULL) {
			log_warnx("%s: cannot set up its channel", c->name);
			kill(pid, SIGKILL);
		}
		log_debug("started %s (pid %d)", c->name, (int)pid);
		if (c == &children[CHILD_COMMANDER] && m.db)
			dispatch_queued(0);
		return;
	}

	/* Child. Die with the maestro, even if it is killed -9. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (getppid() != parent)
		_exit(0);
	signal(SIGTERM, SIG_DFL);
	signal(SIGINT, SIG_IGN);	/* Ctrl-C reaches the maestro */
	signal(SIGHUP, SIG_IGN);
	signal(SIGCHLD, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	closelog();
	keep[n++] = sp[1];
	keep[n++] = c->listen_fd;
	if (c == &children[CHILD_WEBSERV])
		keep[n++] = m.webroot_fd;
	close_other_fds(keep, n);
	log_procinit(c->name);
	proc_title("octoBrain", c->name);

	memset(&env, 0, sizeof(env));
	env.conf = &m.conf;
	env.ipc_fd = sp[1];
	env.listen_fd = c->listen_fd;
	env.tls = c->tls;
	env.tls_client = m.tls_client;
	env.webroot_fd = c == &children[CHILD_WEBSERV] ? m.webroot_fd : -1;
	exit(c->entry(&env));

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
	char		how[64];

	if (WIFSIGNALED(status))
		snprintf(how, sizeof(how), "killed by signal %d",
		    WTERMSIG(status));
	else
		snprintf(how, sizeof(how), "exited with status %d",
		    WEXITSTATUS(status));
	if (c->chan) {
		ipc_chan_free(c->chan);
		c->chan = NULL;
	}
	c->pid = 0;
	if (c == &children[CHILD_REGISTERER])
		offers_expire(1);
	if (m.stopping) {
		c->state = CHILD_DOWN;
		return;
	}
	c->state = CHILD_RESTARTING;
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

static int	load_config(struct brain_conf *, char *, size_t);

static void
on_sighup(evutil_socket_t sig, short events, void *arg)
{
	struct brain_conf	nc;
	char			err[512];

	log_info("received SIGHUP: reloading %s", m.config_path);
	if (load_config(&nc, err, sizeof(err)) == -1) {
		log_warnx("reload failed, keeping the running configuration: "
		    "%s", err);
		return;
	}
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
	m.conf.login_attempts = nc.login_attempts;
	m.conf.login_window = nc.login_window;
	m.conf.kdf_iterations = nc.kdf_iterations;
	m.conf.io_timeout = nc.io_timeout;	/* children started from now */
	m.conf.restart_delay_max = nc.restart_delay_max;
	m.conf.max_tentacles = nc.max_tentacles;
	m.conf.keepalive_misses = nc.keepalive_misses;
	if (nc.keepalive_interval != m.conf.keepalive_interval) {
		struct timeval	ka = { nc.keepalive_interval, 0 };

		m.conf.keepalive_interval = nc.keepalive_interval;
		event_add(m.keepalive_ev, &ka);
	}
	log_info("configuration reloaded");
}

static void
sweep_sessions(evutil_socket_t fd, short events, void *arg)
{
	db_session_expire(m.db, time(NULL) - m.conf.session_timeout);
	offers_expire(0);
}

/* ---- start-up -------------------------------------------------------- */

static int
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
	return 0;
}

static int
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
static int
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
static int
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

static SSL_CTX *
load_tls(enum tls_role role, const char *cert, const char *key)
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
	return ctx;
}

/* Started as root with a user configured: hand the state to that user,
 * then drop. The database is already open, the keys already loaded. */
static void
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
	if (drop_privileges(m.conf.user, err, sizeof(err)) == -1)
		fatalx("%s", err);
	log_info("running as user %s", m.conf.user);
}

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: octoBrain [-nv] [-c file] [--no-daemon]\n"
	    "  -c, --config FILE  configuration file (default %s)\n"
	    "      --no-daemon    stay in the foreground, log to stderr\n"
	    "  -v, --verbose      also log debug lines; with -n, print the "
	    "configuration\n"
	    "  -n, --check        check the configuration and exit\n"
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
		{ NULL, 0, NULL, 0 }
	};
	struct event	*ev_term, *ev_int, *ev_chld, *ev_hup;
	struct timeval	 sweep = { SESSION_SWEEP_SECONDS, 0 };
	struct timeval	 ka = { 0, 0 };
	char		 err[1024];
	int		 ch, check_only = 0, fd[CHILD_COUNT], i;

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
		case 'V':
			printf("octoBrain %s\n", OCTO_VERSION);
			return 0;
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
	if (load_config(&m.conf, err, sizeof(err)) == -1) {
		fprintf(stderr, "octoBrain: %s\n", err);
		return 2;
	}
	if (check_only) {
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
	signal(SIGPIPE, SIG_IGN);
	umask(077);
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

	if (make_dir(m.conf.state_dir, err, sizeof(err)) == -1)
		fatalx("%s", err);
	m.tls_peer = load_tls(TLS_PEER_SERVER, m.conf.cert, m.conf.key);
	m.tls_client = load_tls(TLS_PEER_CLIENT, m.conf.cert, m.conf.key);
	m.tls_web = load_tls(TLS_WEB_SERVER, m.conf.web_cert, m.conf.web_key);
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
	children[CHILD_WEBSERV].tls = m.tls_web;
	children[CHILD_REGISTERER].tls = m.tls_peer;
	children[CHILD_COMMANDER].tls = m.tls_peer;
	/* Each tentacle may hold a connection to 6001 while delivering and
	 * the commander one to its 7001; leave room for the rest. */
	raise_nofile_limit(m.conf.max_tentacles * 2 + 256);
	drop_root();
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
	results_ev = event_new(m.base, -1, 0, results_flush, NULL);
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

	event_base_dispatch(m.base);

	stop_children();
	kdf_shutdown();
	for (i = 0; i < CHILD_COUNT; i++) {
		event_free(children[i].restart_ev);
		close(fd[i]);
	}
	event_free(m.sweep_ev);
	event_free(m.keepalive_ev);
	event_free(m.welcome_ev);
	if (results_npending)
		results_flush(-1, 0, NULL);
	event_free(results_ev);
	event_free(ev_term);
	event_free(ev_int);
	event_free(ev_chld);
	event_free(ev_hup);
	event_base_free(m.base);
	db_close(m.db);
	close(m.webroot_fd);
	SSL_CTX_free(m.tls_peer);
	SSL_CTX_free(m.tls_client);
	SSL_CTX_free(m.tls_web);
	pidfile_remove(&m.pidfile);
	log_info("stopped");
	return 0;
}
