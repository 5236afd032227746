/* The maestro's kept statements (brain/db_stmts.c, issue 18): the same
 * SQL text gets the statement prepared before once it was finalized (its
 * bindings cleared), a second one while the first is in use, and closing
 * the database finalizes them. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db.h"
#include "dbint.h"

#include "tmpdb.h"

static void
test_kept(void **state)
{
	struct db	*db;
	sqlite3_stmt	*a, *b, *c;
	char		 err[256];

	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_non_null(a = db_prepare(db, "SELECT ?1"));
	sqlite3_bind_int(a, 1, 5);
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 5);
	/* In use: the same text gets a statement of its own. */
	assert_non_null(b = db_prepare(db, "SELECT ?1"));
	assert_ptr_not_equal(a, b);
	sqlite3_finalize(b);
	sqlite3_finalize(a);
	/* Kept, reset, its binding gone. */
	assert_non_null(c = db_prepare(db, "SELECT ?1"));
	assert_true(c == a || c == b);
	assert_int_equal(sqlite3_step(c), SQLITE_ROW);
	assert_int_equal(sqlite3_column_type(c, 0), SQLITE_NULL);
	sqlite3_finalize(c);
	/* Another text, another statement; a text built at run time is
	 * found by its content. */
	{
		char	sql[32];

		assert_non_null(a = db_prepare(db, "SELECT 1"));
		sqlite3_finalize(a);
		snprintf(sql, sizeof(sql), "SELECT %d", 1);
		assert_ptr_equal(db_prepare(db, sql), a);
		sqlite3_finalize(a);
	}
	/* A bad statement is refused as before. */
	assert_null(db_prepare(db, "SELECT FROM nowhere"));
	sqlite3_finalize(NULL);
	db_close(db);
	/* A new connection prepares its own. */
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_non_null(a = db_prepare(db, "SELECT 2"));
	assert_int_equal(sqlite3_step(a), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(a, 0), 2);
	sqlite3_finalize(a);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kept, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
