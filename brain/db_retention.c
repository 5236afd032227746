/*
 * Retention (brain keys retention_days, audit_retention_days): results
 * and jobs older than the limit are deleted, but each host's latest
 * result of each script; then the old final jobs left without a result,
 * the runs left without a job; audit lines older than theirs; then the
 * ledger's entries of the rows gone, from its start only (db_ledger.c:
 * db_ledger_prune records the new start). One step
 * (enum prune_step) of at most `limit` rows a call, each its own short
 * transaction, so that the maestro's loop never waits long for the
 * database (schedules.c calls these from a timer, one a turn of its
 * loop, and sizes `limit` by the time the last one took). And the WAL's
 * checkpoint, which the maestro runs itself (db.c turns SQLite's
 * automatic one off: it would run inside whichever write crossed the
 * threshold), and the incremental vacuum.
 */
#include <stdio.h>
#include <time.h>

#include "dbint.h"
#include "log.h"

/* The results of one batch: older than `before`, not the latest of
 * their host and script (the matrix's: verdicts_latest). */
#define OLD_RESULTS \
	"SELECT r.id, r.job_id FROM results r WHERE r.received_at < ?1 AND " \
	"NOT EXISTS (SELECT 1 FROM verdicts v JOIN verdicts_latest l ON " \
	"l.tentacle_id = v.tentacle_id AND l.script = v.script WHERE " \
	"v.result_id = r.id AND l.result_id = r.id) LIMIT ?2"

/* The final states (the partial index jobs_final_age, migration 15). */
#define FINAL_STATES "('done','failed','timeout','unreachable','refused'," \
	"'expired')"

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

/* Old results, their findings and jobs. */
static int
prune_results(struct db *db, time_t before, int limit, int *n)
{
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
	    "temp.prune)") == -1) {
		db_rollback(db);
		return -1;
	}
	return db_commit(db);
}

int
db_prune(struct db *db, enum prune_step step, time_t before, int limit,
    int *n)
{
	*n = 0;
	switch (step) {
	case PRUNE_RESULTS:
		return prune_results(db, before, limit, n);
	case PRUNE_JOBS:
		/* Jobs that never had a result (expired, unreachable,
		 * failed), old and final. */
		return run_batch(db, "DELETE FROM jobs WHERE id IN (SELECT j.id "
		    "FROM jobs j WHERE j.updated_at < ?1 AND j.state IN "
		    FINAL_STATES " AND NOT EXISTS (SELECT 1 FROM results WHERE "
		    "job_id = j.id) LIMIT ?2)", before, limit, n);
	case PRUNE_RUNS:
		return run_batch(db, "DELETE FROM runs WHERE id IN (SELECT u.id "
		    "FROM runs u WHERE u.created_at < ?1 AND NOT EXISTS (SELECT "
		    "1 FROM jobs WHERE run_id = u.id) LIMIT ?2)", before, limit,
		    n);
	case PRUNE_AUDIT:
		return run_batch(db, "DELETE FROM audit WHERE id IN (SELECT id "
		    "FROM audit WHERE at < ?1 ORDER BY id LIMIT ?2)", before,
		    limit, n);
	case PRUNE_LEDGER:
		return db_ledger_prune(db, limit, time(NULL), n);
	}
	return -1;
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

int
db_checkpoint(struct db *db, int *frames)
{
	int	log = 0, done = 0, rc;

	*frames = 0;
	rc = sqlite3_wal_checkpoint_v2(db_handle(db), NULL,
	    SQLITE_CHECKPOINT_PASSIVE, &log, &done);
	if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
		log_warnx("database: checkpoint: %s",
		    sqlite3_errmsg(db_handle(db)));
		return -1;
	}
	*frames = done > 0 ? done : 0;
	(void)log;
	return 0;
}
