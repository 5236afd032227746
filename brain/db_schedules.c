/*
 * Schedules (SPEC "Groups, schedules"): the table schedules. The maestro
 * fires them (schedules.c); this keeps their rows.
 */
#include <string.h>

#include <bsd/string.h>

#include "dbint.h"

#define SCHEDULE_COLUMNS	"id, script, target, target_list, every, cron, " \
	"enabled, disabled_reason, next_at, last_at, last_run, created_by, " \
	"created_at"

static void
schedule_row(sqlite3_stmt *st, struct db_schedule *s)
{
	memset(s, 0, sizeof(*s));
	s->id = sqlite3_column_int64(st, 0);
	strlcpy(s->script, col_text(st, 1), sizeof(s->script));
	strlcpy(s->target, col_text(st, 2), sizeof(s->target));
	strlcpy(s->target_list, col_text(st, 3), sizeof(s->target_list));
	s->every = sqlite3_column_int64(st, 4);
	strlcpy(s->cron, col_text(st, 5), sizeof(s->cron));
	s->enabled = sqlite3_column_int(st, 6);
	strlcpy(s->disabled_reason, col_text(st, 7),
	    sizeof(s->disabled_reason));
	s->next_at = (time_t)sqlite3_column_int64(st, 8);
	s->last_at = (time_t)sqlite3_column_int64(st, 9);
	s->last_run = sqlite3_column_int64(st, 10);
	strlcpy(s->created_by, col_text(st, 11), sizeof(s->created_by));
	s->created_at = (time_t)sqlite3_column_int64(st, 12);
}

/* Bind what a client may set: ?1 script .. ?8 next_at. */
static void
schedule_bind(sqlite3_stmt *st, const struct db_schedule *s)
{
	sqlite3_bind_text(st, 1, s->script, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s->target, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, s->target_list, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, s->every);
	sqlite3_bind_text(st, 5, s->cron, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 6, s->enabled);
	sqlite3_bind_text(st, 7, s->disabled_reason, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, s->next_at);
}

int
db_schedule_add(struct db *db, const struct db_schedule *s, int64_t *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "INSERT INTO schedules (script, target, "
	    "target_list, every, cron, enabled, disabled_reason, next_at, "
	    "created_by, created_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
	    "?9, ?10)")) == NULL)
		return -1;
	schedule_bind(st, s);
	sqlite3_bind_text(st, 9, s->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 10, s->created_at);
	if ((rc = db_step_done(db, st)) == 0)
		*id = sqlite3_last_insert_rowid(db_handle(db));
	return rc;
}

int
db_schedule_update(struct db *db, const struct db_schedule *s)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE schedules SET script = ?1, target = "
	    "?2, target_list = ?3, every = ?4, cron = ?5, enabled = ?6, "
	    "disabled_reason = ?7, next_at = ?8 WHERE id = ?9")) == NULL)
		return -1;
	schedule_bind(st, s);
	sqlite3_bind_int64(st, 9, s->id);
	return db_step_changed(db, st);
}

int
db_schedule_fired(struct db *db, int64_t id, time_t at, time_t next_at,
    int64_t run)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE schedules SET last_at = ?, next_at = "
	    "?, last_run = ? WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, next_at);
	sqlite3_bind_int64(st, 3, run);
	sqlite3_bind_int64(st, 4, id);
	return db_step_changed(db, st);
}

int
db_schedule_get(struct db *db, int64_t id, struct db_schedule *s)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT " SCHEDULE_COLUMNS " FROM schedules "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0)
		schedule_row(st, s);
	sqlite3_finalize(st);
	return rc;
}

int
db_schedule_delete(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM schedules WHERE id = ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_step_changed(db, st);
}

int
db_schedules_each(struct db *db, int due_only, time_t now,
    void (*fn)(const struct db_schedule *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_schedule	 s;
	int			 rc;

	if ((st = db_prepare(db, "SELECT " SCHEDULE_COLUMNS " FROM schedules "
	    "WHERE ?1 = 0 OR (enabled AND next_at <= ?2) ORDER BY id")) ==
	    NULL)
		return -1;
	sqlite3_bind_int(st, 1, due_only);
	sqlite3_bind_int64(st, 2, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		schedule_row(st, &s);
		fn(&s, arg);
	}
	return db_rows_end(db, st, rc);
}

/* Whether the query (one text parameter) gives a row: 1, 0, -1. */
static int
text_exists(struct db *db, const char *sql, const char *text)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
	rc = db_step_row(db, st);
	sqlite3_finalize(st);
	return rc == 0 ? 1 : rc == DB_NOTFOUND ? 0 : -1;
}

int
db_script_known(struct db *db, const char *script)
{
	/* A copy of a managed script deleted on the brain does not count
	 * (its tentacle may not have dropped it yet); a local one does. */
	return text_exists(db, "SELECT 1 FROM tentacle_scripts ts WHERE "
	    "ts.name = ?1 AND (ts.version = 0 OR NOT EXISTS (SELECT 1 FROM "
	    "scripts s WHERE s.name = ?1 AND s.deleted = 1)) LIMIT 1", script);
}

int
db_script_deleted(struct db *db, const char *script)
{
	return text_exists(db, "SELECT 1 FROM scripts WHERE name = ? AND "
	    "deleted = 1", script);
}
