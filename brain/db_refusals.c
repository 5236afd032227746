/*
 * The audit log's counted rows (brain/refusals.c: one row per action,
 * peer address and minute, schema 9's audit.count). db.h.
 */
#include "dbint.h"

int
db_audit_counted(struct db *db, time_t at, const char *actor,
    const char *action, const char *peer, const char *detail, int64_t *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "INSERT INTO audit (at, actor, action, peer, "
	    "detail, count) VALUES (?, ?, ?, ?, ?, 1)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)at);
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, peer ? peer : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
	if (db_step_done(db, st) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(db_handle(db));
	return 0;
}

int
db_audit_recount(struct db *db, int64_t id, long count, const char *detail)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE audit SET count = ?, detail = ? "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, count);
	sqlite3_bind_text(st, 2, detail ? detail : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return db_step_changed(db, st) == 0 ? 0 : -1;
}
