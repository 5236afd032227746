/*
 * What the maestro's files share (maestro only: no child includes this).
 *
 *   maestro.c   supervision (the table of children, start, restart,
 *               signals) and main()
 *   api.c       replies to the webserv; session, role and CSRF checks;
 *               the API's dispatch through apiops.h's table
 *   users.c     login, users, passwords (KDF completions), audit log
 *   fleet.c     tentacles: enrolment (requests, by address; the key
 *               wrapped for the tentacle), inventory
 *   keepalive.c the keepalive and welcome pings (pingq.h)
 *   fleetaddrs.c the accepted tentacles' addresses to the registerer
 *               and commander
 *   proofs.c    the handshakes' proofs for the registerer and the
 *               commander (the keys stay in the maestro), order tickets
 *   runs.c      runs, orders to the commander, job states
 *   results.c   results: batching, storage, acknowledgements
 *   lists.c     the API's lists by pages (fleet, runs, a run's jobs) and
 *               the waiters of GET /api/runs/{id}?wait=
 *   startup.c   configuration, directories, admin password, TLS, root drop
 *   events.c    events and their export (the exporter's queue)
 */
#ifndef OCTO_MAESTRO_H
#define OCTO_MAESTRO_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "apicall.h"
#include "auth.h"
#include "brain.h"
#include "daemon.h"
#include "db.h"
#include "histo.h"
#include "ipc.h"
#include "limits.h"
#include "tls.h"
#include "views.h"

enum child_state { CHILD_DOWN, CHILD_UP, CHILD_RESTARTING };

/* Which certificate and key a child gets (IPC_CHILD_INIT). */
enum child_creds { CREDS_PEER, CREDS_WEB, CREDS_NONE };

struct child {
	const char		*name;
	int			(*entry)(struct child_env *);
	const uint32_t		*allowed;	/* IPC types it may send, 0-ended */
	enum child_creds	 creds;
	size_t			 user_conf;	/* its user's key in brain_conf */
	int			 listen_fd;
	int			 own_user;	/* runs as uid/gid below */
	uid_t			 uid;
	gid_t			 gid;

	pid_t			 pid;
	enum child_state	 state;
	unsigned		 restarts;
	unsigned		 generation;	/* bumped at every start */
	long			 delay_ms;	/* next restart delay */
	time_t			 started;
	struct ipc_chan		*chan;
	struct event		*restart_ev;
	int			 renew;		/* stopped to start again at
						   once (child_renew) */
	struct histo		 ipc;		/* the maestro's time on each
						   of its messages, request
						   to answer (GET /metrics) */
};

/* The exporter runs only when a target is configured (events.c). */
enum { CHILD_WEBSERV, CHILD_REGISTERER, CHILD_COMMANDER, CHILD_EXPORTER,
	CHILD_COUNT };

/* A PEM file read into memory (a key: wiped when freed). */
struct pem {
	uint8_t		*data;
	size_t		 len;
};

/* The maestro's state (maestro.c). */
struct maestro {
	struct brain_conf	 conf;
	char			 config_path[OCTO_PATH_MAX];
	int			 config_given;
	int			 foreground;
	int			 verbose;
	struct event_base	*base;
	struct db		*db;
	struct pidfile		 pidfile;
	struct pem		 peer_cert, peer_key;	/* tentacle-facing */
	struct pem		 web_cert, web_key;	/* the dashboard's */
	int			 webroot_fd;
	int			 self_fd;	/* /proc/self/exe: children */
	int			 child_users;	/* kept CAP_SETUID/SETGID */
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
	struct checks		*checks;	/* checks_file (findings.h) */
};

extern struct maestro	m;
extern struct child	children[CHILD_COUNT];

/* maestro.c */
void	child_misbehaved(struct child *, const char *);
/* Stop a running child to start it again at once with the configuration
 * as it is now (SIGHUP): not a crash, not counted as a restart. */
void	child_renew(struct child *);

/*
 * One API call, its session checked (api.c): what the operation's handler
 * (apiops.h's last column) gets. It answers with api_reply or api_error,
 * now or later (reply_send with id and the webserv's generation).
 */
struct api_req {
	struct child		*c;		/* the webserv */
	uint32_t		 id;		/* its request */
	const struct api_op_def	*def;		/* the operation's row */
	struct api_args		*a;
	const struct db_session	*s;		/* the caller's session */
	const char		*key_hash;	/* of that session */
	const char		*client;	/* the caller's address */
};
typedef void	api_handler(const struct api_req *);

/* api.c */
void	reply_send(uint32_t, unsigned, int, json_t *, const char *);
void	reply_error(uint32_t, unsigned, int, const char *);
/* The same with the JSON text made by the caller (valid UTF-8). */
void	reply_send_text(uint32_t, unsigned, int, const char *text,
	    const char *cookie);
void	api_reply(const struct api_req *, int, json_t *);
void	api_error(const struct api_req *, int, const char *);
void	api_reply_or_error(const struct api_req *, json_t *, const char *);
int64_t	api_id(const struct api_args *);
void	handle_api(struct child *, const struct ipc_msg *);
api_handler	api_session, api_health, api_logout;

/* users.c */
void	login_done(struct kdf_job *);
void	handle_login(struct child *, const struct ipc_msg *);
api_handler	api_users_list, api_user_create, api_user_delete,
		api_user_password, api_audit, api_totp_enrol, api_totp_confirm,
		api_totp_remove;
/* Whether totp_required asks a user of that role for TOTP; whether a
 * session must set one up before anything else (it has none). */
int	totp_mandatory(const char *role);
int	totp_must_set_up(const struct db_session *);
/* 1 if user has an active TOTP, 0 if not, -1 on a database error. */
int	user_totp_active(const char *user);
/* octoBrain --reset-totp USER: 0 with what was done in msg, or -1 with
 * the error (m.db open). */
int	users_reset_totp(const char *user, char *msg, size_t msglen);

/* keepalive.c */
void	keepalive(evutil_socket_t, short, void *);
/* A ping came back, answered or missed. */
void	keepalive_answered(uint64_t tentacle);
/* The commander went away (0: its pings in flight are lost) or is back
 * (1: hand it pings). */
void	keepalive_commander(int up);
json_t	*keepalive_json(void);
void	keepalive_stop(void);
void	welcome_ping(evutil_socket_t, short, void *);
void	welcome_soon(void);

/* fleet.c */
void	offers_expire(int);
void	handle_tentacle_seen(struct child *, const struct ipc_msg *);
/* The keepalive answers waiting in their batch: stored now (shutdown). */
void	seen_stop(void);
void	handle_tentacle_missed(struct child *, const struct ipc_msg *);
void	handle_offer_done(struct child *, const struct ipc_msg *);
int	offer_pairing_proofs(uint32_t offer,
	    const uint8_t exporter[PROTO_EXPORTER_LEN],
	    uint8_t ours[PROTO_MAC_LEN], uint8_t theirs[PROTO_MAC_LEN]);
void	handle_pair_make(struct child *, const struct ipc_msg *);
void	handle_enrol_request(struct child *, const struct ipc_msg *);

/* fleetaddrs.c: the accepted tentacles' addresses to the registerer and
 * the commander (IPC_TENTACLE_ADDRESSES) */
int	tentacle_addresses_send(struct child *);
void	tentacle_addresses_changed(void);
void	tentacle_addresses_stop(void);
api_handler	api_tentacle_enrol, api_tentacle_decide,
		api_tentacle_revoke, api_tokens, api_token_create,
		api_token_revoke, api_scripts;

/* proofs.c */
uint64_t proofs_ticket(const struct db_order *, uint8_t purpose);
uint64_t proofs_ticket_script(int64_t tentacle, int signkey);
void	handle_proof_check(struct child *, const struct ipc_msg *);
void	handle_proof_make(struct child *, const struct ipc_msg *);

/* runs.c */
void	dispatch_order(const struct db_order *, void *);
int	dispatch_ping(const struct db_order *);
void	dispatch_queued(int64_t);
void	dispatch_waiting(int64_t tentacle);
void	jobs_lost(int64_t, int64_t, const char *);
void	handle_job_state(struct child *, const struct ipc_msg *);
api_handler	api_run_create;
int	run_start(const char *script, const char *by, const char *client,
	    const int64_t *ids, size_t n, time_t expires_at, int lenient,
	    int64_t *run, char *why, size_t whylen);

/* groups.c: labels (issue 16) */
api_handler	api_tentacle_labels;
/* A tentacle's facts (its configuration's "labels"): its proposals, in
 * the caller's transaction. */
void	groups_propose(int64_t tentacle, json_t *facts);
/* The tentacle answered: send the jobs that waited for it. */
void	groups_tentacle_back(int64_t tentacle);

/* schedules.c: schedules, job expiry, retention (issue 16) */
void	schedules_start(struct event_base *);
void	schedules_stop(void);
api_handler	api_schedules, api_schedule, api_schedule_create,
		api_schedule_update, api_schedule_delete;

/* results.c */
int	results_start(struct event_base *);
void	results_stop(void);
void	handle_result_store(struct child *, const struct ipc_msg *);
/* A job's state from the commander (running, failed, unreachable):
 * stored in the results' next transaction, before them. */
void	results_job_state(uint64_t job, enum job_state, const char *message);
api_handler	api_tentacle_results, api_result;

/* scripts.c: the managed scripts' library (issue 14) */
api_handler	api_script_get, api_script_version, api_script_create,
		api_script_update, api_script_delete;

/* scriptkey.c: the script-signing key (Ed25519), made at first start in
 * state_dir, 0600, held by the maestro alone. Signatures as hex. */
#define SCRIPTKEY_FILE		"script-signing.key"
#define SCRIPTKEY_SIG_HEX	128
int	scriptkey_load(const char *path, char *err, size_t errlen);
void	scriptkey_free(void);
/* Its raw public key (what tentacles pin): 0, or -1 if none loaded. */
int	scriptkey_public(uint8_t pub[PROTO_SIGN_PUB_LEN]);
int	scriptkey_sign_put(const char *name, int64_t version,
	    const char *sha256hex, const void *body, size_t len,
	    char sig[SCRIPTKEY_SIG_HEX + 1]);
int	scriptkey_sign_delete(const char *name, int64_t version,
	    char sig[SCRIPTKEY_SIG_HEX + 1]);

/* push.c: managed scripts to the tentacles */
void	push_soon(void);
/* A keepalive's inventory (its facts and checked scripts, either may be
 * NULL): what the tentacle takes, pushed if it lacks anything. */
void	push_reconcile(int64_t tentacle, json_t *facts, json_t *scripts);
void	handle_script_acked(struct child *, const struct ipc_msg *);
void	push_commander_gone(void);
/* lists.c */
api_handler	api_tentacles, api_runs, api_run;
/* A job's state may have changed: answer the waiters whose run is now
 * finished. */
void	run_waiters_wake(void);
void	run_waiters_wake_job(int64_t job);
/* At shutdown: every waiter answered with its run as it is. */
void	run_waiters_stop(void);
/* At shutdown: the fleet's answers kept (lists.c) freed. */
void	fleet_cached_clear(void);
/* compliance.c */
api_handler	api_compliance, api_compliance_history, api_compliance_timeline,
		api_waivers, api_waiver_create, api_waiver_delete;

/* startup.c */
int	load_config(struct brain_conf *, char *, size_t);
int	load_checks(const char *, struct checks **, char *, size_t);
int	make_dir(const char *, char *, size_t);
int	make_pidfile_dir(char *, size_t);
int	ensure_admin(char *, size_t);
void	load_tls(enum tls_role, const char *, const char *, struct pem *,
	    struct pem *);
void	pem_free(struct pem *);
void	child_users(void);
void	drop_root(void);
int	startup_reload(void);
int	startup_reset_totp(const char *);
void	startup_open(int [CHILD_COUNT]);

/* events.c (export, issue 17) */
int	export_enabled(void);
int	export_target_on(int);
enum export_state export_target_state(int);
/* The export keys of c: 0, or -1 with "FILE:LINE: key: reason" in
 * err. */
int	export_config_check(struct brain_conf *, char *, size_t);
/* Read the targets' files, resolve their hosts (fatal on error); before
 * root is dropped, m.db open. */
void	export_setup(void);
void	export_start(struct event_base *);
void	export_stop(void);
/* SIGHUP: the export keys of nc (brain_name filled in when empty). */
void	export_reload(struct brain_conf *nc);
/* The maestro's daily check of the ledger (ledgercheck.c). */
void	ledger_check_start(struct event_base *);
void	ledger_check_stop(void);
json_t	*ledger_check_json(void);
/* The last check's time and outcome: 0 before the first. */
int	ledger_check_last(time_t *at, int *intact);
void	export_child_started(struct child *);
void	handle_export_ack(struct child *, const struct ipc_msg *);
/* Make, number and queue an event (fields: an object, stolen; NULL =
 * {}); tentacle 0 = none, actor NULL = none. Its seq, or 0 when export
 * is off or it could not be queued (logged). */
int64_t	event_emit(const char *name, int64_t tentacle, const char *hostname,
	    const char *actor, json_t *fields);
api_handler	api_export, api_export_test;
/* metrics.c: GET /metrics (issue 17); the token read before root is
 * dropped. */
void	metrics_setup(void);
/* SIGHUP: metrics_token_file again (empty: no /metrics). */
void	metrics_reload(const struct brain_conf *nc);
void	handle_metrics_get(struct child *, const struct ipc_msg *);
/* octoBrain --verify-ledger: 0 intact, 1 broken (the first bad entry on
 * stdout), 2 when the database cannot be read. */
int	ledger_verify_main(const char *checkpoints);
/* The events of facts: a tentacle's (hostname from the database), one
 * seen (tentacle.online if it was offline: before it is marked seen),
 * a job failed (run.failed), a result stored (finding.new/.resolved). */
void	tentacle_event(const char *name, int64_t tentacle, json_t *fields);
void	tentacle_seen_event(int64_t tentacle);
void	job_failed_event(int64_t job, const char *message);
void	result_events(int64_t job);
/* A refused handshake: handshake.refused at once for a source's first
 * in a minute, then one per source and minute with the count. */
void	handshake_refused_event(const char *peer, const char *reason,
	    const char *child);

#endif
