/*
 * The brain's database (the report's DbManager). Only the maestro includes
 * this: children never open the database, they ask the maestro.
 * Every statement is prepared; every function returns 0 on success,
 * DB_NOTFOUND when there is no such row, -1 on a database error (logged).
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
struct checks;

struct db_session {
	char	user[OCTO_NAME_MAX];
	char	role[16];
	char	csrf[OCTO_TOKEN_HEX_LEN + 1];
	time_t	created_at;
	time_t	last_active;
};

/* Open (creating if needed, mode 0600), switch to WAL, migrate. */
struct db *db_open(const char *path, char *err, size_t errlen);
void	db_close(struct db *);
int	db_schema_version(struct db *);

int	db_user_count(struct db *, long *count);
int	db_user_add(struct db *, const char *name, const char *role,
	    const char *password_hash);
int	db_user_get(struct db *, const char *name, char *role, size_t rolesz,
	    char *hash, size_t hashsz);
/* {"users": [{"name", "role", "created_at"}]} */
json_t	*db_users_json(struct db *);
int	db_user_admins(struct db *, long *count);
/* 0, DB_NOTFOUND, -1; the user's sessions end with it. */
int	db_user_delete(struct db *, const char *name);
/* 0, DB_NOTFOUND, -1; ends the user's sessions but keep_session (a key
 * hash, or NULL). */
int	db_user_set_password(struct db *, const char *name, const char *hash,
	    const char *keep_session);

/* Sessions are stored by the SHA-256 of their key: a copy of the database
 * gives no live session. */
int	db_session_add(struct db *, const char *key_hash, const char *user,
	    const char *csrf, const char *client, time_t now);
int	db_session_get(struct db *, const char *key_hash, struct db_session *);
int	db_session_touch(struct db *, const char *key_hash, time_t now);
int	db_session_delete(struct db *, const char *key_hash);
int	db_session_expire(struct db *, time_t idle_before);

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
/* The API's objects (SPEC Interfaces); NULL on error / not found. */
json_t	*db_tentacle_json(struct db *, int64_t id);
json_t	*db_tentacle_list(struct db *);

int	db_token_add(struct db *, const char *secret_hash,
	    const char *created_by, time_t expires_at, long uses, int64_t *id);
/* Spend one use of the token: 0, or DB_NOTFOUND with *why (unknown,
 * expired, used up). */
int	db_token_use(struct db *, const char *secret_hash, time_t now,
	    const char **why);
json_t	*db_token_list(struct db *);
int	db_token_delete(struct db *, int64_t id);

/* Transactions, so that storing keeps up when many write at once. */
int	db_begin(struct db *);
int	db_commit(struct db *);
void	db_rollback(struct db *);

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
/* A run with its jobs (results without their output and findings unless
 * with_output) and "summary": {"jobs", "states": {state: n}, "finished",
 * "compliant", "findings", "errors"}. Results carry "findings": [...]
 * joined with checks (may be NULL), or null past FINDINGS_JSON_MAX. */
json_t	*db_run_json(struct db *, int64_t id, int with_output,
	    const struct checks *checks);
/* The 500 newest runs, each with its summary; tentacle != 0: only the
 * runs that include it. */
json_t	*db_run_list(struct db *, int64_t tentacle);
json_t	*db_result_json(struct db *, int64_t id, const struct checks *);
/* The 500 newest results of a tentacle, without their output; with their
 * findings if with_findings (null past FINDINGS_JSON_MAX). */
json_t	*db_tentacle_results(struct db *, int64_t tentacle, int with_findings,
	    const struct checks *);

/* IDs of the accepted tentacles (malloc'd; free it). */
int	db_tentacles_accepted(struct db *, int64_t **ids, size_t *n);

/* A queued job with what the commander needs to send it. */
struct db_order {
	int64_t	job;
	int64_t	tentacle;
	char	address[OCTO_ADDR_MAX];
	int	port;
	char	fingerprint[OCTO_FPR_HEX_LEN + 1];
	char	key_hex[PROTO_KEY_LEN * 2 + 1];
	char	script[PROTO_SCRIPT_NAME_MAX];
};
/* Call fn for each queued job of run (0: of every run). */
int	db_jobs_queued(struct db *, int64_t run,
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
/* {"name","description","sha256","tentacles":[ids]} for the fleet (0) or
 * one tentacle. */
json_t	*db_scripts_json(struct db *, int64_t tentacle);

/* One line of the audit log: who (user, "system", "tentacle:ID"), what,
 * from where, details. */
int	db_audit(struct db *, const char *actor, const char *action,
	    const char *peer, const char *detail);
/* {"events": [...]} newest first; "" filters match everything. */
json_t	*db_audit_json(struct db *, const char *actor, const char *action,
	    unsigned limit);

#endif
