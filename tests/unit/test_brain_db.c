/* The database layer on a real SQLite file: migrations, users, sessions,
 * the per-result path, and the login rate limit of auth.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "auth.h"
#include "db.h"
#include "findings.h"
#include "log.h"
#include "views.h"

#include "tmpdb.h"

static void
test_open_migrate_reopen(void **state)
{
	char		 err[256];
	struct db	*db;
	struct stat	 st;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_true(db_schema_version(db) >= 1);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	db_close(db);
	/* A second open finds the schema current and changes nothing. */
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	db_close(db);
}

static void
test_refuses_newer_schema_and_garbage(void **state)
{
	char		 err[256], cmd[256], junk[128];
	struct db	*db;
	FILE		*f;

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version=999'",
	    path);
	assert_int_equal(system(cmd), 0);
	db = db_open(path, err, sizeof(err));
	assert_null(db);
	assert_non_null(strstr(err, "newer"));

	snprintf(junk, sizeof(junk), "%s/junk.db", dir);
	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("this is not a database, it is a text file of some length "
	    "that SQLite will not mistake for one", f);
	fclose(f);
	assert_null(db_open(junk, err, sizeof(err)));
}

static void
test_users_and_sessions(void **state)
{
	char			 err[256], role[16], hash[256];
	struct db		*db;
	struct db_session	 s;
	long			 n;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_user_count(db, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_user_add(db, "alice", "operator", "h1"), 0);
	assert_int_equal(db_user_add(db, "alice", "admin", "h2"), -1);
	assert_int_equal(db_user_add(db, "bob", "king", "h3"), -1);
	assert_int_equal(db_user_get(db, "alice", role, sizeof(role), hash,
	    sizeof(hash)), 0);
	assert_string_equal(role, "operator");
	assert_string_equal(hash, "h1");
	assert_int_equal(db_user_get(db, "nobody", role, sizeof(role), hash,
	    sizeof(hash)), DB_NOTFOUND);
	/* A value that does not fit is an error, never truncated. */
	assert_int_equal(db_user_get(db, "alice", role, sizeof(role), hash,
	    2), -1);

	assert_int_equal(db_session_add(db, "k1", "alice", "c1", "127.0.0.1",
	    1000), 0);
	assert_int_equal(db_session_get(db, "k1", &s), 0);
	assert_string_equal(s.user, "alice");
	assert_string_equal(s.role, "operator");
	assert_string_equal(s.csrf, "c1");
	assert_int_equal(s.last_active, 1000);
	assert_int_equal(db_session_touch(db, "k1", 1100), 0);
	assert_int_equal(db_session_get(db, "k1", &s), 0);
	assert_int_equal(s.last_active, 1100);
	assert_int_equal(db_session_expire(db, 1050), 0);
	assert_int_equal(db_session_get(db, "k1", &s), 0);
	assert_int_equal(db_session_expire(db, 1101), 0);
	assert_int_equal(db_session_get(db, "k1", &s), DB_NOTFOUND);
	assert_int_equal(db_audit(db, "alice", "login", "127.0.0.1", ""), 0);
	db_close(db);
}

/* TOTP rows: pending until activated, an active one never replaced, each
 * step used once, gone with the user. */
static void
test_totp(void **state)
{
	char		 err[256];
	struct db	*db;
	struct db_totp	 t;
	struct db_session s;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_user_add(db, "alice", "viewer", "h"), 0);
	assert_int_equal(db_totp_get(db, "alice", &t), DB_NOTFOUND);
	assert_int_equal(db_totp_activate(db, "alice", 5), DB_NOTFOUND);
	assert_int_equal(db_totp_set_pending(db, "alice", "aa"), 0);
	assert_int_equal(db_totp_set_pending(db, "alice", "bb"), 0);
	assert_int_equal(db_totp_get(db, "alice", &t), 0);
	assert_string_equal(t.secret_hex, "bb");
	assert_false(t.active);
	assert_int_equal(db_totp_use(db, "alice", 5), DB_NOTFOUND);
	assert_int_equal(db_session_add(db, "k", "alice", "c", "::1", 1), 0);
	assert_int_equal(db_session_get(db, "k", &s), 0);
	assert_false(s.totp);
	assert_int_equal(db_totp_activate(db, "alice", 5), 0);
	assert_int_equal(db_session_get(db, "k", &s), 0);
	assert_true(s.totp);
	assert_int_equal(db_totp_set_pending(db, "alice", "cc"), DB_NOTFOUND);
	assert_int_equal(db_totp_use(db, "alice", 5), DB_NOTFOUND);
	assert_int_equal(db_totp_use(db, "alice", 4), DB_NOTFOUND);
	assert_int_equal(db_totp_use(db, "alice", 6), 0);
	assert_int_equal(db_totp_get(db, "alice", &t), 0);
	assert_string_equal(t.secret_hex, "bb");
	assert_int_equal(t.last_step, 6);
	assert_int_equal(db_totp_delete(db, "alice"), 0);
	assert_int_equal(db_totp_delete(db, "alice"), DB_NOTFOUND);
	assert_int_equal(db_totp_set_pending(db, "alice", "dd"), 0);
	assert_int_equal(db_user_delete(db, "alice"), 0);
	assert_int_equal(db_totp_get(db, "alice", &t), DB_NOTFOUND);
	db_close(db);
}

static void
test_ratelimit(void **state)
{
	int	i;

	for (i = 0; i < 3; i++)
		assert_int_equal(ratelimit_check("10.0.0.1", 100, 3, 60), 0);
	assert_int_equal(ratelimit_check("10.0.0.1", 110, 3, 60), 50);
	/* Another address has its own budget. */
	assert_int_equal(ratelimit_check("10.0.0.2", 110, 3, 60), 0);
	/* The window passes. */
	assert_int_equal(ratelimit_check("10.0.0.1", 160, 3, 60), 0);
}

/* An accepted tentacle of that name, to add. */
static void
accepted_tentacle(struct db_tentacle *t, const char *host)
{
	memset(t, 0, sizeof(*t));
	strcpy(t->hostname, host);
	strcpy(t->address, "127.0.0.1");
	t->port = 7001;
	memset(t->key_hex, 'a', sizeof(t->key_hex) - 1);
	memset(t->fingerprint, 'b', sizeof(t->fingerprint) - 1);
	strcpy(t->enrolment, "accepted");
}

/* Two accepted tentacles, "a" and "b". */
static void
add_two_tentacles(struct db *db, int64_t *a, int64_t *b)
{
	struct db_tentacle	t;

	accepted_tentacle(&t, "a");
	assert_int_equal(db_tentacle_add(db, &t, a), 0);
	strcpy(t.hostname, "b");
	assert_int_equal(db_tentacle_add(db, &t, b), 0);
}

/* The statements of the per-result path are kept prepared: each use
 * must see its own bindings, none of the last one's. */
static void
test_result_path(void **state)
{
	char			 err[256];
	struct db		*db;
	struct db_tentacle	 t;
	struct msg_result	 r;
	int64_t			 a, b, run, ja, jb, owner;
	int			 accepted, stored, i;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	add_two_tentacles(db, &a, &b);
	assert_int_equal(db_run_add(db, "one-line", "admin", &run), 0);
	assert_int_equal(db_job_add(db, run, a, "a", &ja), 0);
	assert_int_equal(db_job_add(db, run, b, "b", &jb), 0);
	assert_int_not_equal(ja, jb);
	assert_int_equal(db_job_set_state(db, ja, JOB_RUNNING, ""), 0);
	assert_int_equal(db_job_set_state(db, jb + 100, JOB_RUNNING, ""),
	    DB_NOTFOUND);

	for (i = 0; i < 3; i++) {
		assert_int_equal(db_tentacle_get(db, b, &t), 0);
		assert_string_equal(t.hostname, "b");
		assert_int_equal(db_tentacle_get(db, a, &t), 0);
		assert_string_equal(t.hostname, "a");
		assert_string_equal(t.enrolment, "accepted");
		assert_int_equal(db_tentacle_get(db, b + 100, &t),
		    DB_NOTFOUND);
		assert_int_equal(db_job_owner(db, ja, &owner, &accepted), 0);
		assert_int_equal(owner, a);
		assert_int_equal(accepted, 1);
		assert_int_equal(db_job_owner(db, jb, &owner, &accepted), 0);
		assert_int_equal(owner, b);
		assert_int_equal(db_job_owner(db, jb + 100, &owner, &accepted),
		    DB_NOTFOUND);
	}
	memset(&r, 0, sizeof(r));
	r.job = (uint64_t)ja;
	r.outcome = OUTCOME_RAN;
	r.output = (const uint8_t *)"ok\n";
	r.output_len = 3;
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_result_store(db, ja, &r, &stored), 0);
	assert_int_equal(stored, 1);
	/* Delivered again: acknowledged, not stored twice. */
	assert_int_equal(db_result_store(db, ja, &r, &stored), 0);
	assert_int_equal(stored, 0);
	r.job = (uint64_t)jb;
	r.output_len = 0;
	assert_int_equal(db_result_store(db, jb, &r, &stored), 0);
	assert_int_equal(stored, 1);
	assert_int_equal(db_tentacle_seen(db, a, NULL), 0);
	assert_int_equal(db_tentacle_seen(db, b + 100, NULL), DB_NOTFOUND);
	assert_int_equal(db_commit(db), 0);
	/* A state that comes after the result does not replace it. */
	assert_int_equal(db_job_set_state(db, ja, JOB_FAILED, "late"),
	    DB_NOTFOUND);

	/* Rejected, then revoked: the job is still its, but not accepted. */
	assert_int_equal(db_tentacle_set_enrolment(db, b, "rejected"), 0);
	assert_int_equal(db_job_owner(db, jb, &owner, &accepted), 0);
	assert_int_equal(owner, b);
	assert_int_equal(accepted, 0);
	assert_int_equal(db_tentacle_delete(db, a), 0);
	assert_int_equal(db_job_owner(db, ja, &owner, &accepted), 0);
	assert_int_equal(owner, a);
	assert_int_equal(accepted, 0);
	db_close(db);
}


/* A tentacle, a run and a job of it: the job's ID. */
static int64_t
one_job(struct db *db, const char *host)
{
	struct db_tentacle	t;
	int64_t			tid, run, job;

	accepted_tentacle(&t, host);
	assert_int_equal(db_tentacle_add(db, &t, &tid), 0);
	assert_int_equal(db_run_add(db, "audit", "admin", &run), 0);
	assert_int_equal(db_job_add(db, run, tid, host, &job), 0);
	return job;
}

#define OUTPUT	"FAIL sysctl.kernel.kptr_restrict kptr_restrict = 1, want 2\n" \
		"OK mount./tmp.noexec /tmp noexec\n" \
		"\n" \
		"bad \xff line\n" \
		"1 finding\n"
#define CHECKS	"sysctl.kernel.kptr_restrict\tBP028:R9 CIS:1.5.2\tKernel " \
		"pointers\tkernel.kptr_restrict = 2 in /etc/sysctl.d/\n"

static void
assert_findings(json_t *f, int with_checks)
{
	json_t	*x;

	assert_true(json_is_array(f));
	assert_int_equal(json_array_size(f), 4);
	x = json_array_get(f, 0);
	assert_string_equal(json_string_value(json_object_get(x, "check")),
	    "sysctl.kernel.kptr_restrict");
	assert_string_equal(json_string_value(json_object_get(x, "status")),
	    "FAIL");
	assert_string_equal(json_string_value(json_object_get(x, "text")),
	    "kptr_restrict = 1, want 2");
	if (with_checks) {
		assert_int_equal(json_array_size(json_object_get(x, "refs")),
		    2);
		assert_string_equal(json_string_value(json_object_get(x,
		    "fix")), "kernel.kptr_restrict = 2 in /etc/sysctl.d/");
	} else
		assert_true(json_is_null(json_object_get(x, "refs")));
	x = json_array_get(f, 1);
	assert_string_equal(json_string_value(json_object_get(x, "check")),
	    "mount./tmp.noexec");
	assert_true(json_is_null(json_object_get(x, "title")));
	x = json_array_get(f, 2);
	assert_true(json_is_null(json_object_get(x, "check")));
	assert_string_equal(json_string_value(json_object_get(x, "status")),
	    "INFO");
	assert_string_equal(json_string_value(json_object_get(x, "text")),
	    "bad \xef\xbf\xbd line");
}

/* Findings are stored with their result, in its transaction, and given
 * with it; the results stored before schema 6 are parsed by its
 * migration. */
static void
test_findings(void **state)
{
	char		 err[256], cmd[1024];
	struct db	*db;
	struct checks	*checks;
	struct msg_result r;
	int64_t		 job, job2;
	int		 stored;
	json_t		*o, *list;

	assert_int_equal(checks_parse("CHECKS", CHECKS, strlen(CHECKS),
	    &checks, err, sizeof(err)), 0);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_schema_version(db), db_schema_latest());
	job = one_job(db, "a");
	memset(&r, 0, sizeof(r));
	r.job = (uint64_t)job;
	r.outcome = OUTCOME_RAN;
	r.exit_status = 1;
	r.output = (const uint8_t *)OUTPUT;
	r.output_len = strlen(OUTPUT);
	/* Rolled back: neither the result nor its findings. */
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_result_store(db, job, &r, &stored), 0);
	db_rollback(db);
	assert_null(view_result(db, 1, checks));
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_result_store(db, job, &r, &stored), 0);
	assert_int_equal(stored, 1);
	/* Again: not stored, no findings twice. */
	assert_int_equal(db_result_store(db, job, &r, &stored), 0);
	assert_int_equal(stored, 0);
	assert_int_equal(db_commit(db), 0);

	o = view_result(db, 1, checks);
	assert_non_null(o);
	assert_findings(json_object_get(o, "findings"), 1);
	json_decref(o);
	o = view_result(db, 1, NULL);
	assert_findings(json_object_get(o, "findings"), 0);
	json_decref(o);
	list = view_tentacle_results(db, 1, 0, checks);
	assert_null(json_object_get(json_array_get(list, 0), "findings"));
	json_decref(list);
	list = view_tentacle_results(db, 1, 1, checks);
	assert_int_equal(json_array_size(list), 1);
	assert_findings(json_object_get(json_array_get(list, 0), "findings"),
	    1);
	json_decref(list);
	o = view_run(db, 1, 1, checks);
	assert_findings(json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "jobs"), 0), "result"), "findings"), 1);
	json_decref(o);
	/* Without the outputs, without the findings. */
	o = view_run(db, 1, 0, checks);
	assert_null(json_object_get(json_object_get(json_array_get(
	    json_object_get(o, "jobs"), 0), "result"), "findings"));
	json_decref(o);

	/* An empty output: no finding. */
	job2 = one_job(db, "b");
	r.job = (uint64_t)job2;
	r.output_len = 0;
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_result_store(db, job2, &r, &stored), 0);
	assert_int_equal(db_commit(db), 0);
	o = view_result(db, 2, checks);
	assert_int_equal(json_array_size(json_object_get(o, "findings")), 0);
	json_decref(o);
	db_close(db);

	/* Back to schema 5, as a brain of before: the migration parses the
	 * stored results. Every table a later migration creates is dropped
	 * here too. */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'DROP TABLE findings; "
	    "DROP TABLE totp; ALTER TABLE audit DROP COLUMN count; "
	    "DROP TABLE script_versions; DROP TABLE scripts; "
	    "ALTER TABLE tentacle_scripts DROP COLUMN version; "
	    "ALTER TABLE tentacles DROP COLUMN managed_scripts; "
	    "ALTER TABLE tentacles DROP COLUMN script_key; "
	    "ALTER TABLE results DROP COLUMN sha256; "
	    "DROP TABLE export_seq; DROP TABLE export_queue; "
	    "DROP TABLE export_targets; DROP TABLE ledger; "
	    "DROP TABLE ledger_start; "
	    "DROP TABLE tentacle_labels; DROP TABLE schedules; "
	    "DROP INDEX results_received; DROP TRIGGER verdicts_insert; "
	    "DROP TRIGGER verdicts_delete; DROP TABLE verdicts; "
	    "DROP TABLE waivers; DROP TABLE verdicts_latest; "
	    "PRAGMA user_version = 5'", path);
	assert_int_equal(system(cmd), 0);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_schema_version(db), db_schema_latest());
	o = view_result(db, 1, checks);
	assert_findings(json_object_get(o, "findings"), 1);
	json_decref(o);
	db_close(db);
	checks_free(checks);
}

/* A reply carries at most FINDINGS_JSON_MAX of findings: the later
 * results of a list get null, GET /api/results/ID has them. */
static void
test_findings_budget(void **state)
{
	char		 err[256], *out;
	struct db	*db;
	struct msg_result r;
	int64_t		 job, run;
	int		 stored, i;
	size_t		 n = 0, per, fit;
	json_t		*list, *o;

	/* Lines of quotes: each doubles once escaped. */
	out = malloc(OCTO_OUTPUT_MAX);
	assert_non_null(out);
	while (n + FINDING_LINE_MAX + 1 <= OCTO_OUTPUT_MAX) {
		memset(out + n, '"', FINDING_LINE_MAX);
		out[n + FINDING_LINE_MAX] = '\n';
		n += FINDING_LINE_MAX + 1;
	}
	out[FINDING_LINE_MAX] = '\0';
	per = (n / (FINDING_LINE_MAX + 1)) * finding_json_size(NULL, "", out);
	out[FINDING_LINE_MAX] = '\n';
	fit = FINDINGS_JSON_MAX / per;
	assert_true(fit >= 1 && fit < 6);
	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	job = one_job(db, "a");
	for (i = 0; i < 6; i++) {
		if (i > 0) {
			assert_int_equal(db_run_add(db, "audit", "admin", &run),
			    0);
			assert_int_equal(db_job_add(db, run, 1, "a", &job), 0);
		}
		memset(&r, 0, sizeof(r));
		r.job = (uint64_t)job;
		r.outcome = OUTCOME_RAN;
		r.output = (const uint8_t *)out;
		r.output_len = n;
		assert_int_equal(db_begin(db), 0);
		assert_int_equal(db_result_store(db, job, &r, &stored), 0);
		assert_int_equal(db_commit(db), 0);
	}
	list = view_tentacle_results(db, 1, 1, NULL);
	assert_int_equal(json_array_size(list), 6);
	for (i = 0; i < 6; i++) {
		o = json_object_get(json_array_get(list, (size_t)i),
		    "findings");
		if ((size_t)i < fit)
			assert_int_equal(json_array_size(o),
			    n / (FINDING_LINE_MAX + 1));
		else
			assert_true(json_is_null(o));
	}
	json_decref(list);
	/* One result alone has them all. */
	o = view_result(db, 6, NULL);
	assert_int_equal(json_array_size(json_object_get(o, "findings")),
	    n / (FINDING_LINE_MAX + 1));
	json_decref(o);
	db_close(db);
	free(out);
}

/* The state of job number i (from 0) of run, as the API shows it. */
static void
assert_job_state(struct db *db, int64_t run, size_t i, const char *want)
{
	json_t	*j = view_run(db, run, 0, NULL);

	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(json_array_get(
	    json_object_get(j, "jobs"), i), "state")), want);
	json_decref(j);
}

static void
count_order(const struct db_order *o, void *arg)
{
	(*(int *)arg)++;
}

/* The run of test_job_lifecycle in the API's views: j1 timed out, j2 ran
 * (exit 0) and printed a byte that is not UTF-8. */
static void
assert_run_summary(struct db *db, int64_t run)
{
	json_t		*j = view_run(db, run, 1, NULL), *sum, *res;
	json_int_t	 id;

	assert_non_null(j);
	sum = json_object_get(j, "summary");
	assert_int_equal(json_integer_value(json_object_get(sum, "jobs")), 2);
	assert_int_equal(json_integer_value(json_object_get(sum, "finished")),
	    2);
	assert_int_equal(json_integer_value(json_object_get(sum,
	    "compliant")), 1);
	assert_int_equal(json_integer_value(json_object_get(sum, "errors")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    sum, "states"), "timeout")), 1);
	assert_int_equal(json_integer_value(json_object_get(json_object_get(
	    sum, "states"), "queued")), 0);
	id = json_integer_value(json_object_get(json_object_get(
	    json_array_get(json_object_get(j, "jobs"), 1), "result"), "id"));
	json_decref(j);

	res = view_result(db, id, NULL);
	assert_non_null(res);
	assert_string_equal(json_string_value(json_object_get(res, "output")),
	    "ok \xef\xbf\xbd\n");
	assert_string_equal(json_string_value(json_object_get(res,
	    "outcome")), "ran");
	assert_int_equal(json_integer_value(json_object_get(res,
	    "exit_status")), 0);
	assert_true(json_is_null(json_object_get(res, "signal")));
	json_decref(res);
	assert_null(view_result(db, id + 100, NULL));
	assert_null(view_run(db, run + 100, 0, NULL));
	assert_null(view_tentacle(db, 0));
}

/* Every UPDATE of a job's state follows jobstate.c's table. */
static void
test_job_lifecycle(void **state)
{
	char			 err[256];
	struct db		*db;
	struct msg_result	 r;
	int64_t			 a, b, run, j1, j2, j3;
	int			 n, stored;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	add_two_tentacles(db, &a, &b);
	assert_int_equal(db_run_add(db, "one-line", "admin", &run), 0);
	assert_int_equal(db_job_add(db, run, a, "a", &j1), 0);
	assert_int_equal(db_job_add(db, run, b, "b", &j2), 0);
	assert_int_equal(db_job_add(db, run, a, "a", &j3), -1); /* twice */
	assert_job_state(db, run, 0, "queued");

	/* j1: sent, running; nothing takes it back or elsewhere. */
	assert_int_equal(db_jobs_sent(db, run), 0);
	assert_job_state(db, run, 0, "sent");
	assert_job_state(db, run, 1, "sent");
	assert_int_equal(db_job_set_state(db, j1, JOB_QUEUED, ""),
	    DB_NOTFOUND);
	assert_int_equal(db_job_set_state(db, j1, JOB_RUNNING, ""), 0);
	assert_int_equal(db_job_set_state(db, j1, JOB_SENT, ""), DB_NOTFOUND);
	assert_int_equal(db_job_set_state(db, j1, JOB_UNREACHABLE, "x"),
	    DB_NOTFOUND);
	assert_job_state(db, run, 0, "running");
	/* Only what waits for an acknowledgement is sent again. */
	n = 0;
	assert_int_equal(db_jobs_queued(db, run, count_order, &n), 0);
	assert_int_equal(n, 1);

	/* j2: unreachable; never running after that. */
	assert_int_equal(db_job_set_state(db, j2, JOB_UNREACHABLE, "no"), 0);
	assert_int_equal(db_job_set_state(db, j2, JOB_RUNNING, ""),
	    DB_NOTFOUND);
	assert_job_state(db, run, 1, "unreachable");
	n = 0;
	assert_int_equal(db_jobs_queued(db, run, count_order, &n), 0);
	assert_int_equal(n, 0);

	/* Lost: running jobs only. */
	assert_int_equal(db_jobs_lost(db, a, INT64_MAX, "gone", &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_jobs_lost(db, b, INT64_MAX, "gone", &n), 0);
	assert_int_equal(n, 0);
	assert_job_state(db, run, 0, "failed");
	assert_job_state(db, run, 1, "unreachable");
	assert_int_equal(db_job_set_state(db, j1, JOB_RUNNING, ""),
	    DB_NOTFOUND);

	/* Results come after all: they replace both; a second one of the
	 * same job changes nothing. */
	memset(&r, 0, sizeof(r));
	r.job = (uint64_t)j1;
	r.outcome = OUTCOME_TIMEOUT;
	assert_int_equal(db_result_store(db, j1, &r, &stored), 0);
	assert_int_equal(stored, 1);
	r.outcome = OUTCOME_RAN;
	assert_int_equal(db_result_store(db, j1, &r, &stored), 0);
	assert_int_equal(stored, 0);
	assert_job_state(db, run, 0, "timeout");
	r.job = (uint64_t)j2;
	r.output = (const uint8_t *)"ok \xff\n";
	r.output_len = 5;
	assert_int_equal(db_result_store(db, j2, &r, &stored), 0);
	assert_job_state(db, run, 1, "done");
	assert_int_equal(db_job_set_state(db, j2, JOB_FAILED, "late"),
	    DB_NOTFOUND);
	assert_job_state(db, run, 1, "done");
	assert_run_summary(db, run);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_migrate_reopen,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_refuses_newer_schema_and_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users_and_sessions,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_result_path, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_findings, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_findings_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_job_lifecycle, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_totp, setup, teardown),
		cmocka_unit_test(test_ratelimit),
	};

	log_init("test", 1, 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
