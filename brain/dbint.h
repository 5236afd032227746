/*
 * What the maestro's database files share (db.c and the db_*.c that
 * keep one concern's tables each). Not for any other file: the rest of
 * the brain uses db.h.
 */
#ifndef OCTO_DBINT_H
#define OCTO_DBINT_H

#include <sqlite3.h>

#include "db.h"

sqlite3		*db_handle(struct db *);
/* Run SQL with no parameters: 0, or -1 (logged). */
int		 db_exec(struct db *, const char *sql);
/* Prepare a statement (finalize it yourself): NULL on error (logged). */
sqlite3_stmt	*db_prepare(struct db *, const char *sql);
/* Step a statement that returns no row, then finalize it: 0 or -1. */
int		 db_step_done(struct db *, sqlite3_stmt *);
/* Step a query for one row: 0 (read its columns, finalize later),
 * DB_NOTFOUND, -1. */
int		 db_step_row(struct db *, sqlite3_stmt *);
/* Step a change of one row by its ID, finalize: 0, DB_NOTFOUND, -1. */
int		 db_step_changed(struct db *, sqlite3_stmt *);
/* After a loop of sqlite3_step that ended with rc: finalize; 0 if it
 * was SQLITE_DONE, else -1 (logged). */
int		 db_rows_end(struct db *, sqlite3_stmt *, int rc);
/* A text column; "" for NULL. */
const char	*col_text(sqlite3_stmt *, int);
/* An order from a row of "job id, tentacle id, address, port,
 * fingerprint, key, script": 0, or -1 if a value does not fit. */
int		 db_order_row(sqlite3_stmt *, struct db_order *);

#endif
