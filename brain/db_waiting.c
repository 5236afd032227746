/*
 * Jobs that wait for their tentacle (issue 16): a job for a tentacle that
 * is offline stays queued, one the commander could not deliver stays
 * unreachable, and either is sent when the tentacle answers the
 * keepalive again, until the job's expires_at; then it is expired. The
 * partial index jobs_waiting holds only such jobs, so that neither the
 * keepalive's look-up nor the expiry scan reads the history.
 */
#include <stdlib.h>
#include <string.h>

#include "crypto.h"
#include "dbint.h"

int
db_job_run(struct db *db, int64_t job, int64_t *run)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT run_id FROM jobs WHERE id = ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, job);
	if ((rc = db_step_row(db, st)) == 0)
		*run = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int
db_run_set_expiry(struct db *db, int64_t run, time_t expires_at)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE jobs SET expires_at = ? WHERE "
	    "run_id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, expires_at);
	sqlite3_bind_int64(st, 2, run);
	return db_step_done(db, st);
}

int
db_jobs_waiting(struct db *db, int64_t tentacle, time_t now,
    void (*fn)(const struct db_order *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct db_order	*o = NULL, *no;
	size_t		 n = 0, cap = 0, i;
	int		 rc;

	/* Queued (never handed out: the tentacle was offline) or
	 * unreachable (retried only when it may expire: a job of before
	 * expires_at stays as it ended). The state list is the index's. */
	/* A managed script's job also waits for its push (issue 14:
	 * dispatch_waiting sends it then). */
	if ((st = db_prepare(db, "SELECT j.id, j.tentacle_id, t.address, "
	    "t.port, t.fingerprint, t.key, r.script, " JOB_SCRIPT_SHA256("j",
	    "r.script") ", j.run_id FROM jobs j JOIN runs r ON "
	    "r.id = j.run_id JOIN tentacles t ON t.id = j.tentacle_id WHERE "
	    "j.tentacle_id = ?1 AND j.state IN ('queued','sent','unreachable') "
	    "AND j.state != 'sent' AND (j.state = 'queued' OR j.expires_at > "
	    "0) AND (j.expires_at = 0 OR j.expires_at > ?2) AND t.enrolment = "
	    "'accepted' AND NOT EXISTS (SELECT 1 FROM results WHERE job_id = "
	    "j.id) AND " JOB_SCRIPT_READY("j", "r.script") " ORDER BY j.id "
	    "LIMIT 1000")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tentacle);
	sqlite3_bind_int64(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			/* Grown by hand: the old copy's keys are wiped. */
			if ((no = calloc(cap ? cap * 2 : 8, sizeof(*o))) ==
			    NULL)
				break;
			if (n) {
				memcpy(no, o, n * sizeof(*o));
				crypto_wipe(o, n * sizeof(*o));
			}
			free(o);
			o = no;
			cap = cap ? cap * 2 : 8;
		}
		if (db_order_row(st, &o[n]) == 0)
			n++;
		else
			crypto_wipe(o[n].key_hex, sizeof(o[n].key_hex));
	}
	if (rc != SQLITE_ROW)
		rc = db_rows_end(db, st, rc);
	else {
		sqlite3_finalize(st);
		rc = -1;
	}
	/* Handed out, then sent: as db_jobs_queued and db_jobs_sent do,
	 * each job through the lifecycle's table. */
	for (i = 0; i < n; i++) {
		fn(&o[i], arg);
		crypto_wipe(o[i].key_hex, sizeof(o[i].key_hex));
		if (db_job_set_state(db, o[i].job, JOB_SENT, "") == -1)
			rc = -1;
	}
	free(o);
	return rc;
}

int
db_jobs_expire(struct db *db, time_t now, int limit, int *n)
{
	sqlite3_stmt	*st;
	char		 from[JOB_SOURCES_MAX];
	int		 rc;

	*n = 0;
	if ((st = db_prepare(db, "UPDATE jobs SET state = 'expired', message "
	    "= 'its tentacle was not reached before the job expired', "
	    "updated_at = ?1 WHERE id IN (SELECT id FROM jobs WHERE state IN "
	    "('queued','sent','unreachable') AND expires_at > 0 AND "
	    "expires_at <= ?1 LIMIT ?2) AND instr(?3, ',' || state || ',') > "
	    "0 AND NOT EXISTS (SELECT 1 FROM results WHERE job_id = "
	    "jobs.id)")) == NULL)
		return -1;
	job_sources(JOB_EXPIRED, JOB_STATES_ALL, from);
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	sqlite3_bind_text(st, 3, from, -1, SQLITE_TRANSIENT);
	if ((rc = db_step_done(db, st)) == 0)
		*n = sqlite3_changes(db_handle(db));
	return rc;
}
