/*
 * Retention (brain keys retention_days, audit_retention_days): results
 * and jobs older than the limit are deleted, but each host's latest
 * result of each script; then the runs left without a job; audit lines
 * older than theirs. In batches of `limit` rows, each its own short
 * statement, so that the maestro's loop never waits long for the
 * database (schedules.c calls these from a timer).
 */
#include <stdio.h>

#include "dbint.h"

/* The results of one batch: older than `before`, not the latest of
 * their host and script. */
#define OLD_RESULTS \
	"SELECT r.id, r.job_id FROM results r JOIN jobs j ON j.id = r.job_id JOIN " \
	"runs u ON u.id = j.run_id WHERE r.received_at < ?1 AND EXISTS " \
	"(SELECT 1 FROM results r2 JOIN jobs j2 ON j2.id = r2.job_id JOIN " \
	"runs u2 ON u2.id = j2.run_id WHERE j2.tentacle_id = j.tentacle_id " \
	"AND u2.script = u.script AND r2.id > r.id) LIMIT ?2"

static int
run_batch(struct db *db, const char *sql, time_t before, int limit, int *n)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, before);
	sqlite3_bind_int(st, 2, limit);
	if ((rc = db_step_done(db, st)) == 0 && n)
		*n += sqlite3_changes(db_handle(db));
	return rc;
}

int
db_prune_results(struct db *db, time_t before, int limit, int *n)
{
	*n = 0;
	if (db_begin(db) == -1)
		return -1;
	/* The batch in a temporary table: findings, results and jobs of
	 * the same rows. */
	if (db_exec(db, "CREATE TEMP TABLE IF NOT EXISTS prune (id INTEGER "
	    "PRIMARY KEY, job_id INTEGER); DELETE FROM temp.prune") == -1 ||
	    run_batch(db, "INSERT INTO temp.prune " OLD_RESULTS, before,
	    limit, NULL) == -1 ||
	    db_exec(db, "DELETE FROM findings WHERE result_id IN (SELECT id "
	    "FROM temp.prune)") == -1 ||
	    run_batch(db, "DELETE FROM results WHERE id IN (SELECT id FROM "
	    "temp.prune)", before, limit, n) == -1 ||
	    db_exec(db, "DELETE FROM jobs WHERE id IN (SELECT job_id FROM "
	    "temp.prune)") == -1 ||
	    /* Jobs that never had a result (expired, unreachable, failed),
	     * old and final. */
	    run_batch(db, "DELETE FROM jobs WHERE id IN (SELECT j.id FROM jobs "
	    "j WHERE j.updated_at < ?1 AND j.state IN ('done','failed',"
	    "'timeout','unreachable','refused','expired') AND NOT EXISTS "
	    "(SELECT 1 FROM results WHERE job_id = j.id) LIMIT ?2)", before,
	    limit, n) == -1 ||
	    run_batch(db, "DELETE FROM runs WHERE id IN (SELECT u.id FROM runs "
	    "u WHERE u.created_at < ?1 AND NOT EXISTS (SELECT 1 FROM jobs "
	    "WHERE run_id = u.id) LIMIT ?2)", before, limit, n) == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

int
db_prune_audit(struct db *db, time_t before, int limit, int *n)
{
	*n = 0;
	return run_batch(db, "DELETE FROM audit WHERE id IN (SELECT id FROM "
	    "audit WHERE at < ?1 ORDER BY id LIMIT ?2)", before, limit, n);
}

int
db_vacuum_step(struct db *db, int pages, int64_t *left)
{
	sqlite3_stmt	*st;
	char		 sql[64];
	int		 rc;

	*left = 0;
	snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%d)", pages);
	if (db_exec(db, sql) == -1 ||
	    (st = db_prepare(db, "PRAGMA freelist_count")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0)
		*left = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}
