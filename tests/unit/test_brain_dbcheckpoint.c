/* The checkpointer (brain/dbcheckpoint.c, issue 16): the WAL of a real
 * database written back by its thread while another connection writes,
 * its report through the loop, asks while one runs coalesced, and a file
 * it cannot use refused with a reason. */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <event2/event.h>
#include <sqlite3.h>

#include "db.h"
#include "dbcheckpoint.h"

#include "tmpdb.h"

static struct db_ckpt_report	last;
static int			reports;

static void
done(const struct db_ckpt_report *rep)
{
	last = *rep;
	reports++;
}

/* What the maestro does between two checkpoints: commits into the log. */
static void
write_rows(sqlite3 *h, int n)
{
	int	i;

	assert_int_equal(sqlite3_exec(h, "BEGIN", NULL, NULL, NULL),
	    SQLITE_OK);
	for (i = 0; i < n; i++)
		assert_int_equal(sqlite3_exec(h, "INSERT INTO t (v) VALUES "
		    "(randomblob(1000))", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "COMMIT", NULL, NULL, NULL),
	    SQLITE_OK);
}

static void
wait_report(struct event_base *base, int want)
{
	int	i;

	for (i = 0; i < 5000 && reports < want; i++)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(reports, want);
}

static void
test_written_back(void **state)
{
	struct event_base	*base;
	struct db		*db;
	sqlite3			*h;
	struct stat		 sb;
	char			 err[256];
	int			 frames;

	/* The brain's file: migrated, in WAL mode. */
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "PRAGMA wal_autocheckpoint = 0; "
	    "CREATE TABLE t (v BLOB)", NULL, NULL, NULL), SQLITE_OK);
	assert_non_null(base = event_base_new());
	reports = 0;
	assert_int_equal(db_checkpointer_start(path, base, done, err,
	    sizeof(err)), 0);
	assert_false(db_checkpointer_busy());

	write_rows(h, 200);
	assert_int_equal(db_checkpointer_kick(), 0);
	assert_true(db_checkpointer_busy());
	/* Asked again before the report: the same checkpoint answers. */
	assert_int_equal(db_checkpointer_kick(), 1);
	wait_report(base, 1);
	assert_int_equal(last.rc, 0);
	assert_true(last.frames > 200 / 4);	/* 1000-byte rows, 4 KiB pages */
	assert_false(db_checkpointer_busy());
	/* The rows are in the database file itself now, not only in the
	 * log. */
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 200 * 1000);

	/* Writes go on beside it (how much of them it writes back depends on
	 * when it ran: the next one has the rest); fork's lock waits for
	 * nothing when idle. */
	write_rows(h, 50);
	db_checkpointer_fork_lock();
	db_checkpointer_fork_unlock();
	assert_int_equal(db_checkpointer_kick(), 0);
	write_rows(h, 50);
	wait_report(base, 2);
	assert_int_equal(last.rc, 0);
	frames = last.frames;
	assert_int_equal(db_checkpointer_kick(), 0);
	wait_report(base, 3);
	assert_int_equal(last.rc, 0);
	assert_true(frames + last.frames > 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_true(sb.st_size > 300 * 1000);

	db_checkpointer_stop();
	assert_int_equal(db_checkpointer_kick(), -1);
	assert_false(db_checkpointer_busy());
	sqlite3_close(h);
	db_close(db);
	event_base_free(base);
}

static void
test_refused(void **state)
{
	struct event_base	*base;
	sqlite3			*h;
	char			 err[256], other[160];

	assert_non_null(base = event_base_new());
	/* No such file: it does not make one. */
	assert_int_equal(db_checkpointer_start(path, base, done, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_int_equal(db_checkpointer_kick(), -1);

	/* A database in rollback-journal mode has no log to write back. */
	snprintf(other, sizeof(other), "%s/rollback.db", dir);
	assert_int_equal(sqlite3_open(other, &h), SQLITE_OK);
	assert_int_equal(sqlite3_exec(h, "CREATE TABLE t (v)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(h);
	assert_int_equal(db_checkpointer_start(other, base, done, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "not in WAL mode"));
	assert_int_equal(db_checkpointer_kick(), -1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_written_back, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
