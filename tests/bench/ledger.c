/*
 * make bench, ledger (issue 17): what the ledger costs per stored result
 * with 1 KiB of output, printed, never asserted (target: 20 µs or less).
 *
 * The real code path on a real SQLite file (brain/db*.c, as the maestro
 * opens it: WAL, synchronous = NORMAL): N results stored one transaction
 * each with db_result_store, which appends the result's ledger entry in
 * its transaction (the whole path, timed); then the ledger's part alone,
 * db_ledger_append of each of those rows timed in a transaction of its
 * own as the writer calls it (a second entry per row: the same work, the
 * row hashed again, the head read, the entry inserted); then the
 * maestro's daily check of the chain in its steps: the whole walk and its
 * longest step (a stall of the maestro's loop). Environment: N (default
 * 5000).
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "proto.h"

#define OUTPUT_LEN	1024
#define CHECK_BATCH	200	/* LEDGER_CHECK_BATCH */

static double
now_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

/* This thread's CPU time: what the work costs, whatever else the
 * machine runs. */
static double
cpu_us(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
check(int ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "bench ledger: %s failed\n", what);
		exit(1);
	}
}

int
main(void)
{
	char			 dir[] = "/tmp/octo-bench-ledger-XXXXXX";
	char			 path[128], err[256], cmd[160], label[64];
	uint8_t			 out[OUTPUT_LEN];
	struct db_tentacle	 t;
	struct msg_result	 r;
	struct db		*db;
	int64_t			 tid, run, *jobs, first, n_entries;
	char			 head[65];
	double			 t0, c0, store = 0, ledger = 0, ledger_cpu = 0;
	const char		*e = getenv("N");
	int			 n = e && atoi(e) > 0 ? atoi(e) : 5000;
	struct db_ledger_walk	 w;
	double			 t1, walk, longest = 0;
	int			 i, stored, saved, null = -1, rc;

	check(mkdtemp(dir) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/brain.db", dir);
	/* the migrations' log lines are not the bench's */
	fflush(stderr);
	check((saved = dup(2)) != -1 && (null = open("/dev/null", O_WRONLY)) !=
	    -1 && dup2(null, 2) != -1, "quieting the log");
	db = db_open(path, err, sizeof(err));
	check(dup2(saved, 2) != -1, "restoring stderr");
	close(saved);
	close(null);
	check(db != NULL, err);
	memset(&t, 0, sizeof(t));
	strcpy(t.hostname, "bench.example.org");
	strcpy(t.address, "192.0.2.10");
	t.port = 7001;
	memset(t.key_hex, 'a', sizeof(t.key_hex) - 1);
	memset(t.fingerprint, 'b', sizeof(t.fingerprint) - 1);
	strcpy(t.enrolment, "accepted");
	check(db_tentacle_add(db, &t, &tid) == 0, "db_tentacle_add");
	check((jobs = calloc((size_t)n, sizeof(*jobs))) != NULL, "calloc");
	check(db_begin(db) == 0, "db_begin");
	for (i = 0; i < n; i++)		/* a run each: one job per host */
		check(db_run_add(db, "bench", "admin", &run) == 0 &&
		    db_job_add(db, run, tid, "bench.example.org",
		    &jobs[i]) == 0, "db_job_add");
	check(db_commit(db) == 0, "db_commit");
	/* 1 KiB of lines as a script prints them (no finding lines) */
	for (i = 0; i < OUTPUT_LEN; i++)
		out[i] = i % 64 == 63 ? '\n' : (uint8_t)('a' + i % 26);
	memset(&r, 0, sizeof(r));
	r.outcome = OUTCOME_RAN;
	r.output = out;
	r.output_len = sizeof(out);
	memset(r.sha256, 'c', sizeof(r.sha256) - 1);
	check(db_ledger_head(db, head, &first) == 0, "db_ledger_head");

	for (i = 0; i < n; i++) {
		r.job = (uint64_t)jobs[i];
		r.started_at_ms = 1700000000000ULL + (uint64_t)i;
		r.duration_ms = (uint64_t)i % 100;
		out[0] = (uint8_t)('A' + i % 26);
		t0 = now_us();
		check(db_begin(db) == 0, "db_begin");
		check(db_result_store(db, jobs[i], &r, &stored) == 0 &&
		    stored, "db_result_store");
		check(db_commit(db) == 0, "db_commit");
		store += now_us() - t0;
	}
	/* The results' IDs: 1..n in a new database. */
	for (i = 1; i <= n; i++) {
		check(db_begin(db) == 0, "db_begin");
		t0 = now_us();
		c0 = cpu_us();
		check(db_ledger_append(db, "results", i) == 0,
		    "db_ledger_append");
		ledger_cpu += cpu_us() - c0;
		ledger += now_us() - t0;
		check(db_commit(db) == 0, "db_commit");
	}
	check(db_ledger_head(db, head, &n_entries) == 0, "db_ledger_head");
	check(n_entries == first + 2 * n, "the ledger's length");
	/* The maestro's daily check, in its steps (brain/ledgercheck.c). */
	db_ledger_walk_init(&w);
	t0 = now_us();
	do {
		t1 = now_us();
		rc = db_ledger_walk_step(db, &w, CHECK_BATCH);
		if (now_us() - t1 > longest)
			longest = now_us() - t1;
	} while (rc == 2);
	walk = now_us() - t0;
	check(rc == 0, "the ledger check");
	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench ledger: cannot remove %s\n", dir);
	free(jobs);

	printf("\nOctopus ledger: %d results of %d bytes of output, one "
	    "transaction each\n", n, OUTPUT_LEN);
	printf("%-46s %12s\n", "figure", "value");
	printf("%-46s %12.1f\n", "stored result, the whole path (us)",
	    store / n);
	printf("%-46s %12.1f\n", "  the ledger's entry in it, CPU (us; <= 20)",
	    ledger_cpu / n);
	printf("%-46s %12.1f\n", "  the same, elapsed (us)", ledger / n);
	snprintf(label, sizeof(label), "daily check of its %lld entries (ms)",
	    (long long)n_entries);
	printf("%-46s %12.1f\n", label, walk / 1000);
	printf("%-46s %12.2f\n", "  its longest step of 200 (ms; stall)",
	    longest / 1000);
	return 0;
}
