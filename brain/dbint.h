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
/* Prepare a statement (finalize it yourself): NULL on error (logged).
 * A statement of the same text may come from db_stmts.c's cache. */
sqlite3_stmt	*db_prepare(struct db *, const char *sql);
/*
 * db_stmts.c (issue 18): the kept statements. db_stmt_take: 0 and *out
 * (NULL if it did not prepare: logged), or -1 (not kept: prepare it
 * yourself). db_finalize: reset a kept statement for its next use, or
 * finalize one that is not kept; every sqlite3_finalize() in the db_*.c
 * files is one (the macro below). db_stmts_close: before sqlite3_close.
 */
int		 db_stmt_take(sqlite3 *, const char *sql, sqlite3_stmt **out);
void		 db_finalize(sqlite3_stmt *);
void		 db_stmts_close(sqlite3 *);
#define sqlite3_finalize(st)	db_finalize(st)
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
/* An audit row was written (not by db_audit): the export's hook. */
void		 db_audit_written(struct db *, int64_t id, const char *actor,
		    const char *action, const char *peer, const char *detail);
/* The ledger's statements, run with every row written (db_ledger.c),
 * kept prepared as db.c keeps the per-result ones: prepared on first
 * use; after each, db_release (reset, bindings cleared). */
enum { DB_LEDGER_AUDIT_ROW, DB_LEDGER_RESULT_ROW, DB_LEDGER_HEAD,
	DB_LEDGER_INSERT, DB_LEDGER_STATEMENTS };
sqlite3_stmt	*db_cached_ledger(struct db *, int which, const char *sql);
void		 db_release(sqlite3_stmt *);
/* A text column; "" for NULL. */
const char	*col_text(sqlite3_stmt *, int);
/* An order from a row of "job id, tentacle id, address, port,
 * fingerprint, key, script": 0, or -1 if a value does not fit. */
int		 db_order_row(sqlite3_stmt *, struct db_order *);

/*
 * Managed scripts (issue 14): a job (alias J) of the script named by the
 * SQL expression S is ready to go when S is no live managed script, or
 * its tentacle holds S's latest version (or a later number: a newer one
 * came meanwhile); and the hash its order carries: the latest version's,
 * or the tentacle's own for a local script if it said whether it takes
 * managed scripts (a tentacle of before refuses an order with a hash),
 * or "".
 */
#define JOB_SCRIPT_READY(j, s)						\
	"NOT EXISTS (SELECT 1 FROM scripts s WHERE s.name = " s " AND "	\
	"s.deleted = 0 AND NOT EXISTS (SELECT 1 FROM tentacle_scripts ts "\
	"WHERE ts.tentacle_id = " j ".tentacle_id AND ts.name = s.name "	\
	"AND ts.version >= s.latest))"
#define JOB_SCRIPT_SHA256(j, s)						\
	"coalesce((SELECT v.sha256 FROM scripts s JOIN script_versions v "\
	"ON v.name = s.name AND v.version = s.latest WHERE s.name = " s	\
	" AND s.deleted = 0), (SELECT ts.sha256 FROM tentacle_scripts ts "\
	"JOIN tentacles tt ON tt.id = ts.tentacle_id WHERE ts.tentacle_id "\
	"= " j ".tentacle_id AND ts.name = " s " AND ts.version = 0 AND "	\
	"tt.managed_scripts >= 0), '')"

/* A tentacle's columns for struct db_tentacle_row, in the order
 * db_tentacle_row_read reads them from column 0. */
#define TENTACLE_COLUMNS "id, hostname, address, port, fingerprint, " \
	"enrolment, state, enrolled_at, last_seen, facts, duplicate_of"
void		 db_tentacle_row_read(sqlite3_stmt *, struct db_tentacle_row *);


#endif
