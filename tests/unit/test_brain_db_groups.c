/* The database of issue 16 on a real SQLite file: labels (accepted,
 * proposed), schedules, jobs that wait for their tentacle and expire,
 * retention that keeps each host's latest result per script. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db.h"
#include "listargs.h"
#include "views.h"

static char		 dir[64], path[128];
static struct db	*db;

static int
setup(void **state)
{
	char	err[256];

	strcpy(dir, "/tmp/octo-test-dbg.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/brain.db", dir);
	return (db = db_open(path, err, sizeof(err))) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[256];

	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Raw SQL on the same file, as a test's hand on the clock. */
static void
sql(const char *text)
{
	sqlite3	*h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	sqlite3_busy_timeout(h, 2000);
	assert_int_equal(sqlite3_exec(h, text, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(h);
}

static int64_t
tentacle(const char *host)
{
	struct db_tentacle	t;
	int64_t			id;

	memset(&t, 0, sizeof(t));
	strcpy(t.hostname, host);
	strcpy(t.address, "127.0.0.1");
	t.port = 7001;
	memset(t.key_hex, 'a', sizeof(t.key_hex) - 1);
	memset(t.fingerprint, 'b', sizeof(t.fingerprint) - 1);
	strcpy(t.enrolment, "accepted");
	assert_int_equal(db_tentacle_add(db, &t, &id), 0);
	return id;
}

static struct proto_labels
labels(const char *text)
{
	struct proto_labels	l;
	const char		*why;

	assert_int_equal(proto_labels_parse(text, &l, &why), 0);
	return l;
}

static void
count_label(const struct db_label_row *r, void *arg)
{
	int	*n = arg;

	n[r->accepted]++;
}

static void
test_labels(void **state)
{
	struct proto_labels	l;
	int64_t			a = tentacle("a"), b = tentacle("b"), *ids;
	size_t			n;
	int			counts[2];
	json_t			*list, *t, *page;
	struct db_fleet_query	 q = { "", "", "", "", LIST_SORT_ID, 0 };
	int			 notfound;

	l = labels("web,db");
	assert_int_equal(db_labels_propose(db, a, &l), 0);
	l = labels("web");
	assert_int_equal(db_labels_set(db, a, &l), 0);
	l = labels("db,eu");
	assert_int_equal(db_labels_set(db, b, &l), 0);
	assert_int_equal(db_labels_set(db, b + 100, &l), DB_NOTFOUND);
	assert_int_equal(db_labels_propose(db, b + 100, &l), DB_NOTFOUND);

	/* a: web accepted, db proposed; b: db and eu. */
	counts[0] = counts[1] = 0;
	assert_int_equal(db_labels_each(db, a, count_label, counts), 0);
	assert_int_equal(counts[1], 1);
	assert_int_equal(counts[0], 1);
	page = view_tentacles_page(db, &q, 0, 100, &notfound);
	assert_non_null(page);
	list = json_object_get(page, "tentacles");
	assert_int_equal(json_array_size(list), 2);
	t = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    t, "labels"), 0)), "web");
	assert_string_equal(json_string_value(json_array_get(json_object_get(
	    t, "proposed_labels"), 0)), "db");
	assert_int_equal(json_array_size(json_object_get(json_array_get(
	    list, 1), "labels")), 2);
	json_decref(page);
	/* The fleet filtered by an accepted label (GET ?label=). */
	q.label = "eu";
	page = view_tentacles_page(db, &q, 0, 100, &notfound);
	assert_non_null(page);
	list = json_object_get(page, "tentacles");
	assert_int_equal(json_array_size(list), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(
	    list, 0), "id")), b);
	json_decref(page);
	q.label = "db";		/* proposed on a, accepted on b */
	page = view_tentacles_page(db, &q, 0, 100, &notfound);
	assert_int_equal(json_array_size(json_object_get(page,
	    "tentacles")), 1);
	json_decref(page);

	/* Runs by label: accepted labels only, any of them. */
	l = labels("db");
	assert_int_equal(db_labels_tentacles(db, &l, &ids, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(ids[0], b);
	free(ids);
	l = labels("web,eu");
	assert_int_equal(db_labels_tentacles(db, &l, &ids, &n), 0);
	assert_int_equal(n, 2);
	free(ids);
	l = labels("nope");
	assert_int_equal(db_labels_tentacles(db, &l, &ids, &n), 0);
	assert_int_equal(n, 0);
	free(ids);
	assert_int_equal(db_label_known(db, "eu"), 0);
	assert_int_equal(db_label_known(db, "db"), 0);
	assert_int_equal(db_label_known(db, "nope"), DB_NOTFOUND);

	/* An accepted label is not taken back by a new proposal; a
	 * proposed one goes when the tentacle stops proposing it. */
	l = labels("web");
	assert_int_equal(db_labels_propose(db, a, &l), 0);
	counts[0] = counts[1] = 0;
	db_labels_each(db, a, count_label, counts);
	assert_int_equal(counts[0], 0);
	assert_int_equal(counts[1], 1);
	/* A revoked tentacle's labels go with it. */
	assert_int_equal(db_tentacle_delete(db, b), 0);
	assert_int_equal(db_label_known(db, "eu"), DB_NOTFOUND);
}

static void
test_schedules(void **state)
{
	struct db_schedule	*s = calloc(2, sizeof(*s)), *g = s + 1;
	int64_t			 id;
	time_t			 now = time(NULL);

	strcpy(s->script, "audit");
	strcpy(s->target, "labels");
	strcpy(s->target_list, "web,db");
	s->every = 3600;
	s->enabled = 1;
	s->next_at = now - 10;
	strcpy(s->created_by, "admin");
	s->created_at = now;
	assert_int_equal(db_schedule_add(db, s, &id), 0);
	assert_int_equal(db_schedule_get(db, id, g), 0);
	assert_string_equal(g->target_list, "web,db");
	assert_int_equal(g->every, 3600);
	assert_int_equal(g->last_run, 0);
	assert_int_equal(db_schedule_fired(db, id, now, now + 3600, 7), 0);
	assert_int_equal(db_schedule_get(db, id, g), 0);
	assert_int_equal(g->last_run, 7);
	assert_int_equal(g->next_at, now + 3600);
	g->enabled = 0;
	strcpy(g->disabled_reason, "gone");
	assert_int_equal(db_schedule_update(db, g), 0);
	assert_int_equal(db_schedule_get(db, id, s), 0);
	assert_false(s->enabled);
	assert_string_equal(s->disabled_reason, "gone");
	g->id = id + 1;
	assert_int_equal(db_schedule_update(db, g), DB_NOTFOUND);
	assert_int_equal(db_schedule_get(db, id + 1, g), DB_NOTFOUND);
	assert_int_equal(db_schedule_delete(db, id), 0);
	assert_int_equal(db_schedule_delete(db, id), DB_NOTFOUND);
	assert_int_equal(db_script_known(db, "audit"), 0);
	free(s);
}

static void
count_order(const struct db_order *o, void *arg)
{
	(*(int *)arg)++;
}

/* The state of a run's first job. */
static const char *
job_state(int64_t run)
{
	static char	state[16];
	json_t		*r = view_run(db, run, 0, NULL);

	snprintf(state, sizeof(state), "%s", json_string_value(
	    json_object_get(json_array_get(json_object_get(r, "jobs"), 0),
	    "state")));
	json_decref(r);
	return state;
}

static void
test_waiting_and_expiry(void **state)
{
	int64_t	a = tentacle("a"), run, j1, j2;
	time_t	now = time(NULL);
	int	n;

	assert_int_equal(db_run_add(db, "hello", "admin", &run), 0);
	assert_int_equal(db_job_add(db, run, a, "a", &j1), 0);
	assert_int_equal(db_run_set_expiry(db, run, now + 60), 0);
	/* Offline: nothing to send, it waits. */
	sql("UPDATE tentacles SET state = 'offline'");
	n = 0;
	assert_int_equal(db_jobs_queued(db, 0, count_order, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_jobs_sent(db, 0), 0);
	assert_string_equal(job_state(run), "queued");
	/* Back: sent, once. */
	n = 0;
	assert_int_equal(db_jobs_waiting(db, a, now, count_order, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(job_state(run), "sent");
	n = 0;
	assert_int_equal(db_jobs_waiting(db, a, now, count_order, &n), 0);
	assert_int_equal(n, 0);
	/* Not reached: retried when it answers again. */
	assert_int_equal(db_job_set_state(db, j1, JOB_UNREACHABLE, "no"), 0);
	n = 0;
	assert_int_equal(db_jobs_waiting(db, a, now, count_order, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(job_state(run), "sent");
	assert_int_equal(db_job_set_state(db, j1, JOB_UNREACHABLE, "no"), 0);
	/* Past expires_at: not sent, expired. */
	n = 0;
	assert_int_equal(db_jobs_waiting(db, a, now + 61, count_order, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_jobs_expire(db, now + 59, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_jobs_expire(db, now + 60, 100, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(job_state(run), "expired");
	assert_int_equal(db_job_set_state(db, j1, JOB_SENT, ""), DB_NOTFOUND);
	/* A running job never expires; a job of before (expires_at 0)
	 * never either. */
	assert_int_equal(db_job_add(db, run, tentacle("b"), "b", &j2), 0);
	assert_int_equal(db_job_set_state(db, j2, JOB_RUNNING, ""), 0);
	sql("UPDATE jobs SET expires_at = 1");
	assert_int_equal(db_jobs_expire(db, now, 100, &n), 0);
	assert_int_equal(n, 0);
}

/* One finished job with a result of script on tentacle t, received at. */
static void
result_at(int64_t t, const char *script, time_t at)
{
	struct msg_result	r;
	int64_t			run, job;
	int			stored;
	char			q[256];

	assert_int_equal(db_run_add(db, script, "admin", &run), 0);
	assert_int_equal(db_job_add(db, run, t, "h", &job), 0);
	memset(&r, 0, sizeof(r));
	r.job = (uint64_t)job;
	r.outcome = OUTCOME_RAN;
	r.output = (const uint8_t *)"OK a.b fine\n";
	r.output_len = 12;
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_result_store(db, job, &r, &stored), 0);
	assert_int_equal(db_commit(db), 0);
	snprintf(q, sizeof(q), "UPDATE results SET received_at = %lld WHERE "
	    "job_id = %lld; UPDATE runs SET created_at = %lld WHERE id = "
	    "%lld; UPDATE jobs SET updated_at = %lld WHERE id = %lld",
	    (long long)at, (long long)job, (long long)at, (long long)run,
	    (long long)at, (long long)job);
	sql(q);
}

static void
count_result(const struct db_result_row *r, void *arg)
{
	(*(int *)arg)++;
}

static void
test_retention(void **state)
{
	int64_t	a = tentacle("a"), b = tentacle("b"), run, job, left;
	time_t	now = time(NULL), old = now - 10 * 86400;
	int	n, i, total, ra, rb;

	for (i = 0; i < 5; i++)
		result_at(a, "one", old + i);
	result_at(a, "two", old);
	result_at(b, "one", old);
	result_at(b, "one", now);
	/* A job that never got its result, old and expired. */
	assert_int_equal(db_run_add(db, "one", "admin", &run), 0);
	assert_int_equal(db_job_add(db, run, a, "a", &job), 0);
	assert_int_equal(db_job_set_state(db, job, JOB_EXPIRED, ""), 0);
	sql("UPDATE jobs SET updated_at = 1 WHERE state = 'expired'; "
	    "UPDATE runs SET created_at = 1 WHERE id = (SELECT run_id FROM "
	    "jobs WHERE state = 'expired')");
	/* In batches of 2: a's 4 old "one", b's old "one"; then the
	 * expired job, its run. */
	total = 0;
	do {
		assert_int_equal(db_prune(db, PRUNE_RESULTS, now - 86400, 2,
		    &n), 0);
		total += n;
	} while (n > 0);
	assert_int_equal(total, 5);
	assert_int_equal(db_prune(db, PRUNE_JOBS, now - 86400, 2, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_prune(db, PRUNE_RUNS, now - 86400, 100, &n), 0);
	assert_true(n >= 1);
	ra = rb = 0;
	db_tentacle_results_each(db, a, count_result, &ra);
	db_tentacle_results_each(db, b, count_result, &rb);
	assert_int_equal(ra, 2);	/* latest "one", the only "two" */
	assert_int_equal(rb, 1);	/* the new one */
	assert_null(view_run(db, run, 0, NULL));
	/* The audit log. */
	db_audit(db, "admin", "x", "", "");
	sql("UPDATE audit SET at = 1");
	db_audit(db, "admin", "y", "", "");
	assert_int_equal(db_prune(db, PRUNE_AUDIT, now - 86400, 100, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_vacuum_step(db, 100, &left), 0);
	assert_int_equal(db_checkpoint(db, &n), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_labels, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schedules, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_waiting_and_expiry, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retention, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
