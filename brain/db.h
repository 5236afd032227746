/*
 * The brain's database (the report's DbManager). Only the maestro includes
 * this: children never open the database, they ask the maestro.
 * Every statement is prepared; every function returns 0 on success,
 * DB_NOTFOUND when there is no such row, -1 on a database error (logged).
 * It gives rows (structs, or a callback per row); the API's JSON views of
 * them are views.c's.
 */
#ifndef OCTO_DB_H
#define OCTO_DB_H

#include <stddef.h>
#include <time.h>

#include <stdint.h>

#include <jansson.h>

#include "jobstate.h"
#include "limits.h"
#include "proto.h"

#define DB_NOTFOUND	1

struct db;

struct db_session {
	char	user[OCTO_NAME_MAX];
	char	role[16];
	char	csrf[OCTO_TOKEN_HEX_LEN + 1];
	time_t	created_at;
	time_t	last_active;
	int	totp;		/* the user has an active TOTP */
};

/* Open (creating if needed, mode 0600), switch to WAL, migrate. */
struct db *db_open(const char *path, char *err, size_t errlen);
void	db_close(struct db *);
int	db_schema_version(struct db *);
/* The version this octoBrain migrates to. */
int	db_schema_latest(void);

int	db_user_count(struct db *, long *count);
/* Tentacles waiting for an admin's decision. */
int	db_tentacles_pending(struct db *, long *count);
int	db_user_add(struct db *, const char *name, const char *role,
	    const char *password_hash);
int	db_user_get(struct db *, const char *name, char *role, size_t rolesz,
	    char *hash, size_t hashsz);
int	db_user_admins(struct db *, long *count);
/* 0, DB_NOTFOUND, -1; the user's sessions end with it. */
int	db_user_delete(struct db *, const char *name);
/* 0, DB_NOTFOUND, -1; ends the user's sessions but keep_session (a key
 * hash, or NULL). */
int	db_user_set_password(struct db *, const char *name, const char *hash,
	    const char *keep_session);
/* End the user's sessions but keep_session (a key hash, or NULL). */
int	db_sessions_end(struct db *, const char *name,
	    const char *keep_session);

/* Sessions are stored by the SHA-256 of their key: a copy of the database
 * gives no live session. */
int	db_session_add(struct db *, const char *key_hash, const char *user,
	    const char *csrf, const char *client, time_t now);
int	db_session_get(struct db *, const char *key_hash, struct db_session *);
int	db_session_touch(struct db *, const char *key_hash, time_t now);
int	db_session_delete(struct db *, const char *key_hash);
int	db_session_expire(struct db *, time_t idle_before);

/*
 * TOTP (brain/totp.h): one row per user, pending until confirmed. Only the
 * maestro reads the secret; set_pending replaces a pending one and gives
 * DB_NOTFOUND when an active one exists; activate gives DB_NOTFOUND unless
 * pending; use records the step of an accepted code, DB_NOTFOUND unless
 * it is later than the last (each code counts once); delete gives
 * DB_NOTFOUND when there is none.
 */
struct db_totp {
	char	secret_hex[64 + 1];
	int	active;
	int64_t	last_step;
};

int	db_totp_get(struct db *, const char *user, struct db_totp *);
int	db_totp_set_pending(struct db *, const char *user,
	    const char *secret_hex);
int	db_totp_activate(struct db *, const char *user, int64_t step);
int	db_totp_use(struct db *, const char *user, int64_t step);
int	db_totp_delete(struct db *, const char *user);

struct db_tentacle {
	int64_t	id;
	char	hostname[OCTO_NAME_MAX];
	char	address[OCTO_ADDR_MAX];	/* advertised command address */
	int	port;			/* advertised command port */
	char	key_hex[PROTO_KEY_LEN * 2 + 1];
	char	fingerprint[OCTO_FPR_HEX_LEN + 1];
	char	enrolment[16];		/* pending, accepted, rejected */
	char	facts[PROTO_FACTS_MAX];
	char	source[64];		/* TCP source seen at enrolment */
};

/* Insert; a known hostname sets duplicate_of to its newest ID. */
int	db_tentacle_add(struct db *, const struct db_tentacle *, int64_t *id);
/* Fills id, hostname, address, port, key_hex, fingerprint, enrolment. */
int	db_tentacle_get(struct db *, int64_t id, struct db_tentacle *);
int	db_tentacle_set_enrolment(struct db *, int64_t id, const char *);
int	db_tentacle_delete(struct db *, int64_t id);

int	db_token_add(struct db *, const char *secret_hash,
	    const char *created_by, time_t expires_at, long uses, int64_t *id);
/* Spend one use of the token: 0, or DB_NOTFOUND with *why (unknown,
 * expired, used up). */
int	db_token_use(struct db *, const char *secret_hash, time_t now,
	    const char **why);
int	db_token_delete(struct db *, int64_t id);

/* Transactions, so that storing keeps up when many write at once. */
int	db_begin(struct db *);
int	db_commit(struct db *);
void	db_rollback(struct db *);
/* A part of the open transaction that can be undone alone: kept (1) or
 * undone (0) at its end. */
int	db_savepoint(struct db *);
void	db_savepoint_end(struct db *, int keep);

int	db_run_add(struct db *, const char *script, const char *user,
	    int64_t *id);
int	db_job_add(struct db *, int64_t run, int64_t tentacle,
	    const char *hostname, int64_t *id);
/* No effect (DB_NOTFOUND) once the job has its result, or when its
 * state may not go to state (jobstate.h). */
int	db_job_set_state(struct db *, int64_t job, enum job_state state,
	    const char *message);
/* The tentacle a job was given to; *accepted: 1 if that tentacle is still
 * enrolled and accepted (0 once revoked or rejected). */
int	db_job_owner(struct db *, int64_t job, int64_t *tentacle,
	    int *accepted);
/* The queued jobs of run (0: all) were handed to the commander. */
int	db_jobs_sent(struct db *, int64_t run);
/* Running jobs of a tentacle acknowledged before acked_before_ms (the
 * brain's clock, ms since the epoch), without a result: failed with
 * message; *n of them. */
int	db_jobs_lost(struct db *, int64_t tentacle, int64_t acked_before_ms,
	    const char *message, int *n);
/* Store a job's result once, and the findings of its output (findings.h),
 * in the caller's transaction; *stored = 0 if it was already there. */
int	db_result_store(struct db *, int64_t job, const struct msg_result *,
	    int *stored);

/* IDs of the accepted tentacles (malloc'd; free it). */
int	db_tentacles_accepted(struct db *, int64_t **ids, size_t *n);

/* A queued job with what the commander needs to send it. */
struct db_order {
	int64_t	job;
	int64_t	run;		/* the job's (0: a keepalive ping) */
	int64_t	tentacle;
	char	address[OCTO_ADDR_MAX];
	int	port;
	char	fingerprint[OCTO_FPR_HEX_LEN + 1];
	char	key_hex[PROTO_KEY_LEN * 2 + 1];
	char	script[PROTO_SCRIPT_NAME_MAX];
	/* What the tentacle must hold (issue 14): a managed script's latest
	 * version's, a local script's as its inventory gave it; "" if
	 * none is known. */
	char	script_sha256[OCTO_FPR_HEX_LEN + 1];
};
/* Call fn for each queued job of run (0: of every run). A job of a
 * managed script waits (is not given) until its tentacle holds the
 * latest version (or a later number). */
int	db_jobs_queued(struct db *, int64_t run,
	    void (*fn)(const struct db_order *, void *), void *arg);
/* The queued jobs of a tentacle that are ready to go now (a managed
 * script's, once it holds the version: issue 14). */
int	db_jobs_pushed(struct db *, int64_t tentacle,
	    void (*fn)(const struct db_order *, void *), void *arg);

/* Call fn for each accepted tentacle (job 0, no script): keepalive. */
int	db_tentacles_to_ping(struct db *, int unseen_only,
	    void (*fn)(const struct db_order *, void *), void *arg);
/* Keepalive: an authenticated contact (facts NULL: keep them), or a
 * missed ping (offline after `limit` in a row). */
int	db_tentacle_seen(struct db *, int64_t id, const char *facts);
int	db_tentacle_missed(struct db *, int64_t id, long limit,
	    int *went_offline);
/* Replace a tentacle's scripts with a checked JSON array of
 * {"name","sha256","description"}. */
int	db_tentacle_scripts_set(struct db *, int64_t id, json_t *scripts);

/* One line of the audit log: who (user, "system", "tentacle:ID"), what,
 * from where, details. */
int	db_audit(struct db *, const char *actor, const char *action,
	    const char *peer, const char *detail);

/* The accepted tentacles' command addresses and enrolment sources, each
 * once (brain/db_fleetaddrs.c). */
int	db_tentacle_addresses_each(struct db *,
	    void (*fn)(const char *addr, void *), void *arg);

/* Counted audit rows (brain/db_refusals.c; brain/refusals.h): a row
 * that stands for count events of one minute, from one peer. */
int	db_audit_counted(struct db *, time_t at, const char *actor,
	    const char *action, const char *peer, const char *detail,
	    int64_t *id);
int	db_audit_recount(struct db *, int64_t id, long count,
	    const char *detail);

/*
 * Rows for the API's views (views.c makes the JSON): each *_each function
 * calls fn once per row, in the order the view shows them. Strings and the
 * output point into the database's own memory: valid during the call only.
 */
struct db_user_row {
	const char	*name;
	const char	*role;
	time_t		 created_at;
	int		 totp;		/* an active TOTP */
};
int	db_users_each(struct db *,
	    void (*fn)(const struct db_user_row *, void *), void *arg);

struct db_audit_row {
	int64_t		 id;
	time_t		 at;
	const char	*actor, *action, *peer, *detail;
	long		 count;		/* events the row stands for */
};
/* Newest first, at most limit; "" filters match everything. */
int	db_audit_each(struct db *, const char *actor, const char *action,
	    unsigned limit, void (*fn)(const struct db_audit_row *, void *),
	    void *arg);

struct db_tentacle_row {
	int64_t		 id;
	const char	*hostname;
	const char	*address;
	int		 port;
	const char	*fingerprint;
	const char	*enrolment;	/* pending, accepted, rejected */
	const char	*state;		/* online, offline, unknown */
	time_t		 enrolled_at;
	int		 seen;		/* 0: never seen since enrolment */
	time_t		 last_seen;
	const char	*facts;		/* JSON text, or NULL */
	int64_t		 duplicate_of;	/* 0: none */
};
/* One tentacle (id), or all (0) by ID; no call when there is none. */
int	db_tentacles_each(struct db *, int64_t id,
	    void (*fn)(const struct db_tentacle_row *, void *), void *arg);

struct db_token_row {
	int64_t		 id;
	const char	*created_by;
	time_t		 created_at;
	time_t		 expires_at;
	int64_t		 uses_left;
};
int	db_tokens_each(struct db *,
	    void (*fn)(const struct db_token_row *, void *), void *arg);

struct db_result_row {
	int64_t		 id;
	int		 outcome;	/* enum outcome (proto.h) */
	int		 exit_status;
	int		 signal;
	int64_t		 started_at_ms;
	int64_t		 duration_ms;
	int		 truncated;
	const uint8_t	*output;
	size_t		 output_len;
	const char	*sha256;	/* of the script that ran; "" unknown */
	/* Its job's: */
	int64_t		 run;
	int64_t		 tentacle;
	const char	*hostname;
	const char	*script;
};
/* One result by its ID; no call when there is none. */
int	db_result_read(struct db *, int64_t id,
	    void (*fn)(const struct db_result_row *, void *), void *arg);
/* A tentacle's 500 newest results. */
int	db_tentacle_results_each(struct db *, int64_t tentacle,
	    void (*fn)(const struct db_result_row *, void *), void *arg);

/* One finding of a result (findings.h): a line of its output. */
struct db_finding_row {
	const char	*check;		/* NULL: a line that did not parse */
	const char	*status;	/* OK, FAIL, WARN, INFO, SKIP */
	const char	*text;
};
/* A result's findings, in the order of its output. */
int	db_findings_each(struct db *, int64_t result,
	    void (*fn)(const struct db_finding_row *, void *), void *arg);

struct db_run_row {
	int64_t		 id;
	const char	*script;
	time_t		 created_at;
	const char	*created_by;
};
/* A run's jobs at a glance: per state, and the verdicts of the scripts
 * that ran (compliant: exit 0, findings: exit 1). */
struct db_run_summary {
	int64_t		 jobs;
	int64_t		 states[JOB_STATE_MAX];
	int64_t		 compliant;
	int64_t		 findings;
};
struct db_job_row {
	int64_t			 id;
	int64_t			 tentacle;
	const char		*hostname;
	enum job_state		 state;
	const char		*message;
	time_t			 expires_at;	/* waits until; 0: never */
	int			 has_result;
	struct db_result_row	 result;	/* if has_result */
};
/*
 * A page of a list (SPEC "Lists at scale"): the rows after the row `after`
 * in the list's order (0: from the start), at most limit + 1 of them (0:
 * no limit): the view takes `limit` and knows from the one more whether
 * there is a next page. The view sets `full` to stop the reading early
 * (its reply is as large as it may be).
 */
struct db_page {
	int64_t		 after;
	unsigned	 limit;
	int		 full;
};

/* A run (0, or DB_NOTFOUND), its jobs by ID (all, or a page), its
 * summary. */
int	db_run_get(struct db *, int64_t id,
	    void (*fn)(const struct db_run_row *, void *), void *arg);
int	db_run_jobs_each(struct db *, int64_t run,
	    void (*fn)(const struct db_job_row *, void *), void *arg);
int	db_run_jobs_page(struct db *, int64_t run, struct db_page *,
	    void (*fn)(const struct db_job_row *, void *), void *arg);
int	db_run_summary(struct db *, int64_t run, struct db_run_summary *);

/* A run in the list: with tentacle != 0, also that tentacle's job. */
struct db_runs_row {
	struct db_run_row	 run;
	struct db_run_summary	 summary;
	enum job_state		 mine;		/* tentacle's job's state */
	int			 mine_has_result;
	struct db_result_row	 mine_result;	/* id, outcome, exit, signal */
};
/* A page of the runs, newest first (after an ID come the older runs);
 * tentacle != 0: only the runs that include it. */
int	db_runs_page(struct db *, int64_t tentacle, struct db_page *,
	    void (*fn)(const struct db_runs_row *, void *), void *arg);

struct db_script_row {
	const char	*name;
	const char	*sha256;
	const char	*description;
	int64_t		 tentacle;
	int64_t		 version;	/* a managed script's; 0: local */
};
/* The scripts of the fleet (0) or one tentacle, by name, content and
 * tentacle. */
int	db_scripts_each(struct db *, int64_t tentacle,
	    void (*fn)(const struct db_script_row *, void *), void *arg);

/*
 * Scripts managed by the brain (issue 14; db_scripts.c). A name has
 * versions 1, 2, ...; a deletion takes the next number too, and a name
 * created again after it the one after: no number is given twice, so a
 * tentacle refuses anything older than what it holds. Changes run in the
 * caller's transaction: db_script_next says whether the name is live and
 * which number comes next, the caller signs, then adds or deletes.
 */
#define DB_EXISTS	2

struct db_managed_row {
	const char	*name;
	int64_t		 version;
	const char	*description;
	const char	*sha256;
	const char	*created_by;
	time_t		 created_at;
	const char	*signature;	/* hex, "" if none */
	const uint8_t	*body;		/* NULL in lists */
	size_t		 body_len;
};

/* *live: 1 if the name has a script not deleted; *next: the number its
 * next version (or deletion) takes. */
int	db_script_next(struct db *, const char *name, int *live,
	    int64_t *next);
/* A version (row->version from db_script_next), now the latest. */
int	db_script_version_add(struct db *, const struct db_managed_row *);
/* The name deleted at version (its own number), with its signature. */
int	db_script_mark_deleted(struct db *, const char *name, int64_t version,
	    const char *user, const char *signature_hex);
/* One version (0: the latest) with its body, of a script not deleted:
 * fn once, or DB_NOTFOUND. */
int	db_script_read(struct db *, const char *name, int64_t version,
	    void (*fn)(const struct db_managed_row *, void *), void *arg);
/* A live script's versions, oldest first, without bodies. */
int	db_script_versions_each(struct db *, const char *name,
	    void (*fn)(const struct db_managed_row *, void *), void *arg);
/* Each live script's latest version (without its body), by name. */
int	db_managed_each(struct db *,
	    void (*fn)(const struct db_managed_row *, void *), void *arg);
/* Each deleted script: name, version (of the deletion), signature. */
int	db_managed_deleted_each(struct db *,
	    void (*fn)(const struct db_managed_row *, void *), void *arg);
/* What a tentacle's inventory says it takes: managed_scripts -1 (not
 * said: a tentacle of before), 0, 1; script_key 0 (no key pinned), 1
 * (ours), 2 (another brain's: it refuses ours). */
int	db_tentacle_set_managed(struct db *, int64_t id, int managed,
	    int script_key);
int	db_tentacle_set_script_key(struct db *, int64_t id);
/* A push acknowledged: the tentacle holds version (sha256) of name, or
 * (sha256 NULL) no longer holds it. */
int	db_tentacle_script_held(struct db *, int64_t id, const char *name,
	    int64_t version, const char *sha256);
/* Copies of managed scripts refused at their last run on a tentacle
 * since it got the version it holds (the host's file is not the one
 * signed): fn(name, tentacle, version, sha256 its inventory gave). */
int	db_scripts_refused_each(struct db *,
	    void (*fn)(const char *name, int64_t tentacle, int64_t version,
	    const char *sha256, void *), void *arg);
/* Each accepted tentacle that takes managed scripts, with its facts
 * (JSON text, as its last inventory gave them). */
int	db_tentacles_managed_each(struct db *,
	    void (*fn)(int64_t id, const char *facts, void *), void *arg);
/* What tentacle id said of managed scripts (-1, 0, 1: as above). */
int	db_tentacle_managed(struct db *, int64_t id, int *managed);
/* Whether a tentacle reports a local script (version 0) of that name. */
int	db_script_local_exists(struct db *, const char *name, int *exists);
/* ---- export (issue 17; brain/db_export.c) ---------------------------- */

/* The ledger (brain/db_ledger.c): a hash chain with one entry per audit
 * row and per stored result: the row's table and ID, the SHA-256 of its
 * content, the previous entry's hash. Appended in the writer's
 * transaction (db_audit and db_result_store do). */
int	db_ledger_append(struct db *, const char *tbl, int64_t row);
/* The migration's code: chain the rows already there. */
int	db_ledger_backfill(struct db *);
/* The last entry's hash (64 hex digits; 64 zeros when empty), *len the
 * number of entries (may be NULL). */
int	db_ledger_head(struct db *, char head[65], int64_t *len);
/* Entry n's hash: 0 or DB_NOTFOUND. */
int	db_ledger_entry(struct db *, int64_t n, char hash[65]);
/* The chain's recorded start: its first entry and the anchor, the hash
 * of the entry before it that the first links to (1 and 64 zeros when
 * none was ever pruned): 0, -1. */
int	db_ledger_start(struct db *, int64_t *first, char anchor[65]);
/* Retention of the ledger itself, from the start only (the step
 * PRUNE_LEDGER): at most limit of the oldest entries, each checked as the
 * walk checks it, while their rows are gone as retention deletes them (a
 * result; an audit row older than every one left); never the head. The
 * new start is recorded (now: when) in the same transaction. *n: the
 * entries gone (fewer than limit: no more can go now). */
int	db_ledger_prune(struct db *, int limit, time_t now, int *n);
/* Walk the chain and the tables: 0 intact, 1 with the first entry that is
 * not in why (its number in *bad), -1 on a database error. */
struct db_ledger_report {
	int64_t	entries, audit, results;
	int64_t	pruned;		/* results gone with retention */
	int64_t	audit_pruned;	/* audit rows older than every row left */
	int64_t	bad;		/* the first bad entry (0: a row's) */
	int64_t	start_pruned;	/* entries pruned from the start */
	char	start_hash[65];	/* the anchor the first entry links to */
	char	why[256];
};
int	db_ledger_verify(struct db *, struct db_ledger_report *);
/* The same walk in steps (the maestro's daily check, brain/ledgercheck.c):
 * each step checks up to n entries of the chain, or then up to n IDs of
 * each table for a row without an entry; 2: more to do, else as
 * db_ledger_verify (w->r the report so far). */
struct db_ledger_walk {
	struct db_ledger_report	r;
	int64_t			next;		/* entry */
	char			prev[65];	/* its predecessor's hash */
	int64_t			first;		/* the recorded start */
	int			begun;		/* first read */
	int			phase;		/* 0 chain, 1 audit, 2 results */
	int64_t			row, last;	/* IDs checked, the table's last */
};
void	db_ledger_walk_init(struct db_ledger_walk *);
int	db_ledger_walk_step(struct db *, struct db_ledger_walk *, int n);

/* GET /metrics's counts (db_export.c). */
struct db_metrics {
	int64_t	tentacles[3];		/* accepted: online, offline, unknown */
	int64_t	pending, rejected;
	int64_t	jobs[JOB_STATE_MAX];
	int64_t	results;		/* stored, ever (the last ID) */
	int64_t	runs;			/* made, ever */
	int64_t	ledger;			/* entries */
};
int	db_metrics_get(struct db *, struct db_metrics *);

/* Called after every audit row is written (the events of export). */
typedef void	db_audit_hook(int64_t id, const char *actor,
		    const char *action, const char *peer, const char *detail,
		    void *arg);
void	db_set_audit_hook(struct db *, db_audit_hook *, void *arg);
/* The brain's next event sequence number: persisted, never given twice
 * (in the caller's transaction, if any). */
int	db_export_next_seq(struct db *, int64_t *seq);
/* Queue an event (JSON). Past max events queued the oldest go: counted
 * as drops of each active target that had not delivered them; *dropped
 * (may be NULL) gets how many rows went. */
int	db_export_push(struct db *, int64_t seq, const char *body,
	    int64_t max, int64_t *dropped);
/* The targets configured now ("syslog", "webhook"): a new one starts at
 * the queue's end; the others no longer hold events in the queue. */
int	db_export_targets_set(struct db *, const char *const *names,
	    size_t n);
struct db_export_target {
	int64_t	acked;		/* delivered up to this seq */
	int64_t	drops;		/* events dropped before delivery */
	int64_t	queued;		/* events after acked */
};
int	db_export_target_get(struct db *, const char *name,
	    struct db_export_target *);
/* Only its position (cheap: no count of the queue). */
int	db_export_acked(struct db *, const char *name, int64_t *acked);
/* The target is done with everything up to seq (dropped of those given
 * up: counted); events every active target is done with leave the
 * queue. */
int	db_export_ack(struct db *, const char *name, int64_t seq,
	    int64_t dropped);
/* The queued events after seq, oldest first, at most limit. */
int	db_export_each(struct db *, int64_t after, unsigned limit,
	    void (*fn)(int64_t seq, const char *body, void *), void *arg);
/* A tentacle's hostname and state ("online", ...): 0 or DB_NOTFOUND. */
int	db_export_tentacle(struct db *, int64_t id, char *hostname,
	    size_t hostlen, char *state, size_t statelen);
/* A job's run, tentacle, hostname and script: 0 or DB_NOTFOUND. */
struct db_export_job {
	int64_t	run;
	int64_t	tentacle;
	char	hostname[OCTO_NAME_MAX];
	char	script[PROTO_SCRIPT_NAME_MAX];
};
int	db_export_job(struct db *, int64_t job, struct db_export_job *);
/* The checks whose status changed between job's result and the one
 * before it of the same script on the same tentacle: new (now FAIL or
 * WARN, before neither or absent) or resolved (before FAIL or WARN, now
 * OK, INFO or SKIP). Nothing if there is no earlier result. */
struct db_finding_change {
	int		 resolved;
	const char	*check;
	const char	*status;	/* now */
	const char	*was;		/* before ("" if absent) */
	const char	*text;		/* now */
};
int	db_export_finding_changes(struct db *, int64_t job,
	    void (*fn)(const struct db_finding_change *, void *), void *arg);
/* ---- groups, schedules, jobs for offline hosts, retention (issue 16:
 * db_labels.c, db_schedules.c, db_retention.c) ---------------------- */

/* A tentacle's accepted labels become l (a proposed one in l is accepted
 * with it); 0, DB_NOTFOUND (no such tentacle), -1. In the caller's
 * transaction. */
int	db_labels_set(struct db *, int64_t tentacle, const struct proto_labels *);
/* What its configuration proposes now replaces what it proposed before
 * (an accepted label stays accepted). */
int	db_labels_propose(struct db *, int64_t tentacle,
	    const struct proto_labels *);
struct db_label_row {
	int64_t		 tentacle;
	const char	*label;
	int		 accepted;	/* 0: proposed */
};
/* One tentacle's labels (or every tentacle's: 0), by tentacle and label. */
int	db_labels_each(struct db *, int64_t tentacle,
	    void (*fn)(const struct db_label_row *, void *), void *arg);
/* The accepted tentacles with any of the labels accepted, by ID
 * (malloc'd; free it). */
int	db_labels_tentacles(struct db *, const struct proto_labels *,
	    int64_t **ids, size_t *n);
/* 0 if some tentacle has the label accepted, DB_NOTFOUND, -1. */
int	db_label_known(struct db *, const char *label);

/* Jobs that wait for their tentacle (db_waiting.c). A run's jobs wait
 * until expires_at. */
int	db_run_set_expiry(struct db *, int64_t run, time_t expires_at);
/* The run of a job (issue 18: the ?wait waiters of that run alone): 0,
 * DB_NOTFOUND, -1. */
int	db_job_run(struct db *, int64_t job, int64_t *run);
/* The tentacle answered: fn for each of its jobs that waited (queued, or
 * unreachable and not expired), each then sent. */
int	db_jobs_waiting(struct db *, int64_t tentacle, time_t now,
	    void (*fn)(const struct db_order *, void *), void *arg);
/* At most limit waiting jobs whose expires_at passed: expired; *n. */
int	db_jobs_expire(struct db *, time_t now, int limit, int *n);

/* Schedules (db_schedules.c). target: "all", "tentacles" (target_list
 * "1,2,3") or "labels" ("web,db"); every seconds, or 0 and cron. */
#define SCHEDULE_LIST_TEXT_MAX	(1000 * 17 + 1)
struct db_schedule {
	int64_t	id;
	char	script[PROTO_SCRIPT_NAME_MAX];
	char	target[16];
	char	target_list[SCHEDULE_LIST_TEXT_MAX];
	int64_t	every;
	char	cron[129];
	int	enabled;
	char	disabled_reason[160];
	time_t	next_at;
	time_t	last_at;		/* 0: never fired */
	int64_t	last_run;		/* 0: none */
	char	created_by[OCTO_NAME_MAX];
	time_t	created_at;
};
int	db_schedule_add(struct db *, const struct db_schedule *, int64_t *id);
/* Script, target, when, enabled, reason and next_at of s->id. */
int	db_schedule_update(struct db *, const struct db_schedule *);
int	db_schedule_fired(struct db *, int64_t id, time_t at, time_t next_at,
	    int64_t run);
int	db_schedule_get(struct db *, int64_t id, struct db_schedule *);
int	db_schedule_delete(struct db *, int64_t id);
/* 1 if some tentacle has a script of that name (a local one, or a
 * managed one not deleted on the brain), 0 if none, -1. */
int	db_script_known(struct db *, const char *script);
/* 1 if it is a managed script deleted on the brain, 0 if not, -1. */
int	db_script_deleted(struct db *, const char *script);
/* By ID; due_only: the enabled ones whose next_at <= now. */
int	db_schedules_each(struct db *, int due_only, time_t now,
	    void (*fn)(const struct db_schedule *, void *), void *arg);

/* Retention (db_retention.c), one step of at most limit rows: results
 * (and their jobs and findings) received before `before` but each host's
 * latest per script; old final jobs without a result; runs left without
 * a job; audit lines; then the ledger's entries of the rows gone, from
 * its start (db_ledger_prune; `before` unused). *n: rows deleted (fewer
 * than limit: the step is done). */
enum prune_step { PRUNE_RESULTS, PRUNE_JOBS, PRUNE_RUNS, PRUNE_AUDIT,
	PRUNE_LEDGER };
int	db_prune(struct db *, enum prune_step, time_t before, int limit,
	    int *n);
/* Give at most `pages` free pages back to the file system (a database
 * made with auto_vacuum incremental; else nothing); *left: free pages
 * still in the file. */
int	db_vacuum_step(struct db *, int pages, int64_t *left);
/* A passive checkpoint of the WAL (never waits for a reader; SQLite's
 * automatic one is off, db_open); *frames: the frames written back. */
int	db_checkpoint(struct db *, int *frames);

/* ---- lists at scale (db_lists.c; SPEC "Lists at scale") ---- */

/* The fleet's filters and order (listargs.h); "" filters nothing. */
struct db_fleet_query {
	const char	*state;		/* online, offline, unknown */
	const char	*enrolment;	/* pending, accepted, rejected */
	const char	*like;		/* a LIKE pattern on hostname or
					   address (listargs_like_pattern) */
	const char	*label;		/* an accepted label (issue 16) */
	int		 sort;		/* enum list_sort */
	int		 desc;
};
/* A row of a page of the fleet: the tentacle (its facts a JSON object:
 * the triggers of db.c's migration 17 see to it), its labels accepted
 * and proposed as JSON arrays of strings by name. */
struct db_fleet_row {
	struct db_tentacle_row	 t;
	const char		*labels;
	const char		*proposed_labels;
};
/* A page of the fleet in that order. DB_NOTFOUND when `after` names no
 * tentacle and the order needs its key (revoked since). */
int	db_tentacles_page(struct db *, const struct db_fleet_query *,
	    struct db_page *,
	    void (*fn)(const struct db_fleet_row *, void *), void *arg);
/* The whole fleet counted in one query (of the table the triggers keep:
 * db.c's fleet_counts): accepted tentacles by state, the others by
 * enrolment (the five add up to total). */
struct db_fleet_counts {
	int64_t	online, offline, unknown, pending, rejected, total;
};
int	db_tentacles_count(struct db *, struct db_fleet_counts *);
/* The same counted from the tentacles themselves (what the triggers
 * must agree with). */
int	db_tentacles_count_now(struct db *, struct db_fleet_counts *);
/* What changes whenever a row of the database does (this connection's
 * changes, or another's commit): an answer made from the rows is good
 * while the mark is the same. 0 or -1. */
struct db_mark {
	int64_t	changes;
	int64_t	data_version;
};
int	db_change_mark(struct db *, struct db_mark *);
/* *pending: whether a run has a job still pending (queued, sent,
 * running: job_state_pending); 0 for a run without jobs or none. */
int	db_run_pending(struct db *, int64_t run, int *pending);

/* ---- compliance: the matrix, its history, waivers (db_compliance.c) ---
 * A cell is one accepted tentacle and one column (a script, or a CHECK-ID
 * with by_check) as of a time: the latest stored result of that script on
 * that host received at or before it (SPEC "Groups, schedules,
 * compliance, waivers"). */
enum cell_verdict {
	CELL_COMPLIANT,	/* exit 0 (a check: OK or WARN) */
	CELL_FINDINGS,	/* exit 1 (a check: FAIL) */
	CELL_ERROR,		/* any other exit, a signal, a timeout, not run */
	CELL_WAIVED,		/* findings or error under a waiver */
	CELL_NONE,		/* never run */
	CELL_MAX
};
const char *cell_verdict_name(enum cell_verdict);

struct compliance_counts {
	int64_t	n[CELL_MAX];
};
/* 100 x compliant / (compliant + findings + error), rounded to 0.1; -1
 * when there is nothing to score (pure). */
double	compliance_score(const struct compliance_counts *);

struct compliance_query {
	time_t		 as_of;
	const char	*labels;	/* "a,b": any of them; "" all */
	int		 by_check;
	unsigned	 limit;		/* tentacles of the page */
	int64_t		 after;		/* tentacle ID */
	/* The pieces below: 1 to read each cell's latest from
	 * verdicts_latest (db_compliance_is_now() said so), 0 to seek. */
	int		 latest;
};
struct db_cell {
	int64_t		 tentacle;
	const char	*column;	/* script or CHECK-ID */
	enum cell_verdict	 verdict;
	int64_t		 result;
	time_t		 at;
	int64_t		 failed;	/* FAIL lines */
	int64_t		 waiver;	/* 0: none applies */
	const char	*waiver_reason;
};
struct db_compliance_tentacle {
	int64_t		 id;
	const char	*hostname;
	const char	*labels;	/* "a,b" */
};
/* The columns of the whole (filtered) fleet, by name; by_check, also
 * its cells counted into counts (if not NULL), as db_compliance_counts
 * would (the same pass). */
int	db_compliance_columns(struct db *, const struct compliance_query *,
	    void (*fn)(const char *, void *), void *arg,
	    struct compliance_counts *counts);
/* The cells of the whole (filtered) fleet counted by verdict; the none
 * cells of by_check need ncolumns. */
int	db_compliance_counts(struct db *, const struct compliance_query *,
	    size_t ncolumns, struct compliance_counts *);
/* A page: up to limit tentacles after `after`, by ID (tfn), then their
 * cells that are not none (cfn), by tentacle; *more when tentacles
 * remain past the page. */
int	db_compliance_page(struct db *, const struct compliance_query *,
	    void (*tfn)(const struct db_compliance_tentacle *, void *),
	    void (*cfn)(const struct db_cell *, void *), void *arg, int *more);

/* The same in pieces, for a matrix made over several turns of the
 * maestro's loop (compliance.c), each over the tentacles whose IDs are in
 * (lo, hi]: */
/* 1 if no result came after q->as_of (q->latest may be 1), 0, -1. */
int	db_compliance_is_now(struct db *, const struct compliance_query *);
/* The fleet's tentacles (*n); *last: the ID of the n-th after `after`
 * (or the last one; 0: none left). */
int	db_compliance_fleet_count(struct db *, const struct compliance_query *,
	    int64_t *n);
int	db_compliance_fleet_next(struct db *, const struct compliance_query *,
	    int64_t after, unsigned n, int64_t *last);
/* The columns by script (all at once), or by check with their cells
 * counted (fn: column, verdict, cells; by column). */
int	db_compliance_script_columns(struct db *,
	    const struct compliance_query *, void (*fn)(const char *, void *),
	    void *arg);
int	db_compliance_check_columns(struct db *,
	    const struct compliance_query *, int64_t lo, int64_t hi,
	    void (*fn)(const char *, enum cell_verdict, int64_t, void *),
	    void *arg);
/* The cells counted, added to *out; *seen: those not none (the rest of
 * hosts x columns is). */
int	db_compliance_counts_range(struct db *,
	    const struct compliance_query *, int64_t lo, int64_t hi,
	    struct compliance_counts *out, int64_t *seen);
/* The page's tentacles (up to limit after `after`), and the cells of
 * some of them. */
int	db_compliance_tentacles(struct db *, const struct compliance_query *,
	    void (*tfn)(const struct db_compliance_tentacle *, void *),
	    void *arg, int *more);
int	db_compliance_cells(struct db *, const struct compliance_query *,
	    int64_t lo, int64_t hi, void (*cfn)(const struct db_cell *, void *),
	    void *arg);

/* The state of the fleet at the end of each of the last `days` days
 * (UTC; the last one ends at now), counted: counts[0] is the oldest. */
int	db_compliance_history(struct db *, time_t now, unsigned days,
	    const char *labels, struct compliance_counts *counts);
/* The same over the tentacles whose IDs are in (lo, hi], added to
 * counts (days of them). */
int	db_compliance_history_range(struct db *, time_t now, unsigned days,
	    const char *labels, int64_t lo, int64_t hi,
	    struct compliance_counts *counts);

/* One tentacle's results of one script, newest first, as cells: each
 * waived or not as it stood until the next result (the latest: now). */
int	db_compliance_timeline(struct db *, int64_t tentacle,
	    const char *script, unsigned limit, time_t now,
	    void (*fn)(const struct db_cell *, void *), void *arg);

struct db_waiver {
	int64_t		 id;
	int64_t		 tentacle;	/* 0: label */
	const char	*label;		/* "": tentacle */
	const char	*hostname;	/* the tentacle's, "" */
	const char	*script;
	const char	*check;		/* "": the whole script */
	const char	*reason;
	const char	*created_by;
	time_t		 created_at;
	time_t		 expires_at;
};
/* Adds a waiver (*id); the caller checked its fields. */
int	db_waiver_add(struct db *, const struct db_waiver *, int64_t *id);
/* The waivers not deleted, newest first (expired ones too). */
int	db_waivers_each(struct db *,
	    void (*fn)(const struct db_waiver *, void *), void *arg);
/* Marks one deleted (kept for past dates): 0, DB_NOTFOUND, -1. */
int	db_waiver_delete(struct db *, int64_t id, const char *by, time_t now);
/* Whether a tentacle is accepted: 0, DB_NOTFOUND, -1. */
int	db_tentacle_accepted(struct db *, int64_t id);
/* The text of the statements above, for the unit tests' query plans
 * (parameters: ?1 as_of, ?2 labels, ?3 after, ?4 limit, ?5 last ID;
 * the timeline's: ?1 tentacle, ?2 script, ?3 limit, ?4 now). */
enum compliance_sql {
	CSQL_COLUMNS_SCRIPT, CSQL_COLUMNS_CHECK, CSQL_COUNTS_SCRIPT,
	CSQL_COUNTS_CHECK, CSQL_FLEET_COUNT, CSQL_PAGE_TENTACLES,
	CSQL_PAGE_SCRIPT, CSQL_PAGE_CHECK, CSQL_HISTORY, CSQL_TIMELINE,
	/* As of now (no result after as_of), from verdicts_latest. */
	CSQL_COLUMNS_CHECK_NOW, CSQL_COUNTS_SCRIPT_NOW, CSQL_COUNTS_CHECK_NOW,
	CSQL_PAGE_SCRIPT_NOW, CSQL_PAGE_CHECK_NOW, CSQL_AFTER,
	CSQL_MAX
};
const char *db_compliance_sql(enum compliance_sql);

#endif
