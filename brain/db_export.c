/*
 * The export's tables (issue 17): the brain's event sequence, the bounded
 * queue of events waiting for the exporter's targets, each target's
 * position and drops; and the reads the maestro's events need (a
 * tentacle, a job, the findings that changed with a result).
 */
#include <string.h>

#include <bsd/string.h>

#include "dbint.h"

int
db_export_next_seq(struct db *db, int64_t *seq)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "UPDATE export_seq SET seq = seq + 1 "
	    "WHERE id = 1 RETURNING seq")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0)
		*seq = sqlite3_column_int64(st, 0);
	/* RETURNING: the update is done once the statement is finalized
	 * after its row. */
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
db_export_push(struct db *db, int64_t seq, const char *body, int64_t max,
    int64_t *dropped)
{
	sqlite3_stmt	*st;
	int64_t		 lo, hi, cutoff;

	if (dropped)
		*dropped = 0;
	if ((st = db_prepare(db, "INSERT INTO export_queue (seq, body) "
	    "VALUES (?, ?)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, body, -1, SQLITE_STATIC);
	if (db_step_done(db, st) == -1)
		return -1;
	if ((st = db_prepare(db, "SELECT min(seq), max(seq), count(*) FROM "
	    "export_queue")) == NULL || db_step_row(db, st) != 0) {
		sqlite3_finalize(st);
		return -1;
	}
	lo = sqlite3_column_int64(st, 0);
	hi = sqlite3_column_int64(st, 1);
	if (sqlite3_column_int64(st, 2) <= max) {
		sqlite3_finalize(st);
		return 0;
	}
	sqlite3_finalize(st);
	cutoff = hi - max;
	/* What each active target had not delivered yet of [lo, cutoff]. */
	if ((st = db_prepare(db, "UPDATE export_targets SET drops = drops + "
	    "max(0, ?1 - max(acked, ?2 - 1)), acked = max(acked, ?1) WHERE "
	    "active")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	sqlite3_bind_int64(st, 2, lo);
	if (db_step_done(db, st) == -1)
		return -1;
	if ((st = db_prepare(db, "DELETE FROM export_queue WHERE seq <= ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cutoff);
	if (db_step_done(db, st) == -1)
		return -1;
	if (dropped)
		*dropped = sqlite3_changes(db_handle(db));
	return 0;
}

int
db_export_targets_set(struct db *db, const char *const *names, size_t n)
{
	sqlite3_stmt	*st;
	size_t		 i;

	if (db_exec(db, "UPDATE export_targets SET active = 0") == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if ((st = db_prepare(db, "INSERT INTO export_targets (name, "
		    "active, acked) VALUES (?1, 1, (SELECT seq FROM "
		    "export_seq)) ON CONFLICT (name) DO UPDATE SET active = "
		    "1")) == NULL)
			return -1;
		sqlite3_bind_text(st, 1, names[i], -1, SQLITE_STATIC);
		if (db_step_done(db, st) == -1)
			return -1;
	}
	/* What no active target still needs. */
	return db_exec(db, "DELETE FROM export_queue WHERE seq <= coalesce("
	    "(SELECT min(acked) FROM export_targets WHERE active), "
	    "(SELECT seq FROM export_seq))");
}

int
db_export_target_get(struct db *db, const char *name,
    struct db_export_target *t)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(t, 0, sizeof(*t));
	if ((st = db_prepare(db, "SELECT t.acked, t.drops, (SELECT count(*) "
	    "FROM export_queue q WHERE q.seq > t.acked) FROM export_targets t "
	    "WHERE t.name = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0) {
		t->acked = sqlite3_column_int64(st, 0);
		t->drops = sqlite3_column_int64(st, 1);
		t->queued = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_export_acked(struct db *db, const char *name, int64_t *acked)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT acked FROM export_targets WHERE "
	    "name = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0)
		*acked = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int
db_export_ack(struct db *db, const char *name, int64_t seq, int64_t dropped)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE export_targets SET acked = "
	    "max(acked, ?1), drops = drops + ?3 WHERE name = ?2")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, dropped);
	if (db_step_done(db, st) == -1)
		return -1;
	return db_exec(db, "DELETE FROM export_queue WHERE seq <= (SELECT "
	    "min(acked) FROM export_targets WHERE active)");
}

int
db_export_each(struct db *db, int64_t after, unsigned limit,
    void (*fn)(int64_t, const char *, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT seq, body FROM export_queue WHERE "
	    "seq > ? ORDER BY seq LIMIT ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, after);
	sqlite3_bind_int64(st, 2, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(sqlite3_column_int64(st, 0), col_text(st, 1), arg);
	return db_rows_end(db, st, rc);
}

int
db_export_tentacle(struct db *db, int64_t id, char *hostname, size_t hostlen,
    char *state, size_t statelen)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT hostname, state FROM tentacles "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0) {
		strlcpy(hostname, col_text(st, 0), hostlen);
		strlcpy(state, col_text(st, 1), statelen);
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_export_job(struct db *db, int64_t job, struct db_export_job *j)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(j, 0, sizeof(*j));
	if ((st = db_prepare(db, "SELECT j.run_id, j.tentacle_id, "
	    "j.hostname, ru.script FROM jobs j JOIN runs ru ON ru.id = "
	    "j.run_id WHERE j.id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, job);
	if ((rc = db_step_row(db, st)) == 0) {
		j->run = sqlite3_column_int64(st, 0);
		j->tentacle = sqlite3_column_int64(st, 1);
		strlcpy(j->hostname, col_text(st, 2), sizeof(j->hostname));
		strlcpy(j->script, col_text(st, 3), sizeof(j->script));
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_export_finding_changes(struct db *db, int64_t job,
    void (*fn)(const struct db_finding_change *, void *), void *arg)
{
	sqlite3_stmt			*st;
	struct db_finding_change	 c;
	int64_t				 cur, prev;
	int				 rc;

	/* The job's result, and the one before it of the same script on
	 * the same tentacle. */
	if ((st = db_prepare(db, "SELECT r.id, (SELECT r2.id FROM results r2 "
	    "JOIN jobs j2 ON j2.id = r2.job_id JOIN runs ru2 ON ru2.id = "
	    "j2.run_id WHERE j2.tentacle_id = j.tentacle_id AND ru2.script = "
	    "ru.script AND r2.id < r.id ORDER BY r2.id DESC LIMIT 1) FROM "
	    "results r JOIN jobs j ON j.id = r.job_id JOIN runs ru ON ru.id = "
	    "j.run_id WHERE r.job_id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, job);
	if ((rc = db_step_row(db, st)) != 0) {
		sqlite3_finalize(st);
		return rc;
	}
	cur = sqlite3_column_int64(st, 0);
	prev = sqlite3_column_int64(st, 1);	/* 0: NULL, none */
	sqlite3_finalize(st);
	if (prev == 0)
		return 0;
	if ((st = db_prepare(db, "SELECT 0, c.check_id, c.status, "
	    "coalesce(p.status, ''), c.text FROM findings c LEFT JOIN "
	    "findings p ON p.result_id = ?2 AND p.check_id = c.check_id "
	    "WHERE c.result_id = ?1 AND c.check_id IS NOT NULL AND c.status "
	    "IN ('FAIL', 'WARN') AND coalesce(p.status, '') NOT IN ('FAIL', "
	    "'WARN') "
	    "UNION ALL "
	    "SELECT 1, c.check_id, c.status, p.status, c.text FROM findings c "
	    "JOIN findings p ON p.result_id = ?2 AND p.check_id = c.check_id "
	    "WHERE c.result_id = ?1 AND c.status NOT IN ('FAIL', 'WARN') AND "
	    "p.status IN ('FAIL', 'WARN')")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, cur);
	sqlite3_bind_int64(st, 2, prev);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		c.resolved = sqlite3_column_int(st, 0);
		c.check = col_text(st, 1);
		c.status = col_text(st, 2);
		c.was = col_text(st, 3);
		c.text = col_text(st, 4);
		fn(&c, arg);
	}
	return db_rows_end(db, st, rc);
}

static int
count_rows(struct db *db, const char *sql, void (*fn)(const char *, int64_t,
    struct db_metrics *), struct db_metrics *out)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(col_text(st, 0), sqlite3_column_int64(st, 1), out);
	return db_rows_end(db, st, rc);
}

static void
tentacle_count(const char *key, int64_t n, struct db_metrics *out)
{
	if (strcmp(key, "accepted:online") == 0)
		out->tentacles[0] = n;
	else if (strcmp(key, "accepted:offline") == 0)
		out->tentacles[1] = n;
	else if (strncmp(key, "accepted:", 9) == 0)
		out->tentacles[2] += n;
	else if (strncmp(key, "pending:", 8) == 0)
		out->pending += n;
	else if (strncmp(key, "rejected:", 9) == 0)
		out->rejected += n;
}

static void
job_count(const char *key, int64_t n, struct db_metrics *out)
{
	int	s;

	for (s = 0; s < JOB_STATE_MAX; s++)
		if (strcmp(key, job_state_name(s)) == 0)
			out->jobs[s] = n;
}

static void
one_value(const char *key, int64_t n, struct db_metrics *out)
{
	if (strcmp(key, "results") == 0)
		out->results = n;
	else if (strcmp(key, "runs") == 0)
		out->runs = n;
	else if (strcmp(key, "ledger") == 0)
		out->ledger = n;
}

int
db_metrics_get(struct db *db, struct db_metrics *out)
{
	memset(out, 0, sizeof(*out));
	if (count_rows(db, "SELECT enrolment || ':' || state, count(*) FROM "
	    "tentacles GROUP BY 1", tentacle_count, out) == -1 ||
	    count_rows(db, "SELECT state, count(*) FROM jobs GROUP BY state",
	    job_count, out) == -1 ||
	    count_rows(db, "SELECT 'results', coalesce(max(id), 0) FROM "
	    "results UNION ALL SELECT 'runs', coalesce(max(id), 0) FROM runs "
	    "UNION ALL SELECT 'ledger', coalesce(max(id), 0) FROM ledger",
	    one_value, out) == -1)
		return -1;
	return 0;
}
