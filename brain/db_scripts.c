/*
 * The brain's script library (issue 14, db.h "Scripts managed by the
 * brain"): the tables scripts (a name, the last version number given,
 * whether it is deleted) and script_versions (each version's body, hash,
 * description, author, time and the maestro's signature). Maestro only.
 */
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "db.h"
#include "dbint.h"

int
db_script_next(struct db *db, const char *name, int *live, int64_t *next)
{
	sqlite3_stmt	*st;
	int		 rc;

	*live = 0;
	*next = 1;
	if ((st = db_prepare(db, "SELECT latest, deleted FROM scripts WHERE "
	    "name = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0) {
		*next = sqlite3_column_int64(st, 0) + 1;
		*live = sqlite3_column_int(st, 1) == 0;
	}
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}

int
db_script_version_add(struct db *db, const struct db_managed_row *r)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "INSERT INTO scripts (name, latest) VALUES "
	    "(?1, ?2) ON CONFLICT (name) DO UPDATE SET latest = ?2, "
	    "deleted = 0, deleted_by = '', deleted_at = 0, "
	    "delete_signature = '' WHERE latest < ?2")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->version);
	if (db_step_done(db, st) == -1)
		return -1;
	if (sqlite3_changes(db_handle(db)) != 1)
		return DB_EXISTS;	/* that number was given already */
	if ((st = db_prepare(db, "INSERT INTO script_versions (name, version, "
	    "body, description, sha256, created_by, created_at, signature) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, r->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, r->version);
	sqlite3_bind_blob(st, 3, r->body ? (const void *)r->body : "",
	    (int)r->body_len, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, r->description, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, r->sha256, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, r->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, r->created_at ? r->created_at : time(NULL));
	sqlite3_bind_text(st, 8, r->signature ? r->signature : "", -1,
	    SQLITE_STATIC);
	return db_step_done(db, st);
}

int
db_script_mark_deleted(struct db *db, const char *name, int64_t version,
    const char *user, const char *signature_hex)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE scripts SET latest = ?, deleted = 1, "
	    "deleted_by = ?, deleted_at = ?, delete_signature = ? WHERE "
	    "name = ? AND deleted = 0 AND latest < ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, version);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time(NULL));
	sqlite3_bind_text(st, 4, signature_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, name, -1, SQLITE_STATIC);
	return db_step_changed(db, st);
}

/* Columns name, version, description, sha256, created_by, created_at,
 * signature from 0, then the body at 7 if with_body. */
#define VERSION_COLUMNS "v.name, v.version, v.description, v.sha256, " \
	"v.created_by, v.created_at, v.signature"

static void
version_row(sqlite3_stmt *st, int with_body, struct db_managed_row *r)
{
	memset(r, 0, sizeof(*r));
	r->name = col_text(st, 0);
	r->version = sqlite3_column_int64(st, 1);
	r->description = col_text(st, 2);
	r->sha256 = col_text(st, 3);
	r->created_by = col_text(st, 4);
	r->created_at = (time_t)sqlite3_column_int64(st, 5);
	r->signature = col_text(st, 6);
	if (with_body) {
		r->body = sqlite3_column_blob(st, 7);
		r->body_len = (size_t)sqlite3_column_bytes(st, 7);
		if (r->body == NULL)
			r->body = (const uint8_t *)"";
	}
}

int
db_script_read(struct db *db, const char *name, int64_t version,
    void (*fn)(const struct db_managed_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_managed_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT " VERSION_COLUMNS ", v.body FROM "
	    "script_versions v JOIN scripts s ON s.name = v.name WHERE "
	    "v.name = ?1 AND s.deleted = 0 AND v.version = CASE WHEN ?2 = 0 "
	    "THEN (SELECT max(version) FROM script_versions WHERE name = ?1) "
	    "ELSE ?2 END")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, version);
	if ((rc = db_step_row(db, st)) == 0) {
		version_row(st, 1, &r);
		fn(&r, arg);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Every row of a query of VERSION_COLUMNS with name bound to ?1 (or
 * no parameter). */
static int
versions_each(struct db *db, const char *sql, const char *name,
    void (*fn)(const struct db_managed_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_managed_row	 r;
	int			 rc;

	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	if (name != NULL)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		version_row(st, 0, &r);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
}

int
db_script_versions_each(struct db *db, const char *name,
    void (*fn)(const struct db_managed_row *, void *), void *arg)
{
	return versions_each(db, "SELECT " VERSION_COLUMNS " FROM "
	    "script_versions v JOIN scripts s ON s.name = v.name WHERE "
	    "v.name = ?1 AND s.deleted = 0 ORDER BY v.version", name, fn, arg);
}

int
db_managed_each(struct db *db,
    void (*fn)(const struct db_managed_row *, void *), void *arg)
{
	return versions_each(db, "SELECT " VERSION_COLUMNS " FROM "
	    "script_versions v JOIN scripts s ON s.name = v.name AND "
	    "v.version = (SELECT max(version) FROM script_versions WHERE "
	    "name = s.name) WHERE s.deleted = 0 ORDER BY v.name", NULL, fn,
	    arg);
}

int
db_managed_deleted_each(struct db *db,
    void (*fn)(const struct db_managed_row *, void *), void *arg)
{
	/* The same columns: the deletion's number, who and when. */
	return versions_each(db, "SELECT v.name, v.latest, '', '', "
	    "v.deleted_by, v.deleted_at, v.delete_signature FROM scripts v "
	    "WHERE v.deleted = 1 ORDER BY v.name", NULL, fn, arg);
}

int
db_script_local_exists(struct db *db, const char *name, int *exists)
{
	sqlite3_stmt	*st;
	int		 rc;

	*exists = 0;
	if ((st = db_prepare(db, "SELECT 1 FROM tentacle_scripts s JOIN "
	    "tentacles t ON t.id = s.tentacle_id WHERE s.name = ? AND "
	    "s.version = 0 LIMIT 1")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	rc = db_step_row(db, st);
	sqlite3_finalize(st);
	if (rc == -1)
		return -1;
	*exists = rc == 0;
	return 0;
}

int
db_tentacle_set_managed(struct db *db, int64_t id, int managed,
    int script_key)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE tentacles SET managed_scripts = ?, "
	    "script_key = ? WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, managed);
	sqlite3_bind_int(st, 2, script_key);
	sqlite3_bind_int64(st, 3, id);
	return db_step_changed(db, st);
}

int
db_tentacle_set_script_key(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE tentacles SET script_key = 1 WHERE "
	    "id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_step_changed(db, st);
}

int
db_tentacle_script_held(struct db *db, int64_t id, const char *name,
    int64_t version, const char *sha256)
{
	sqlite3_stmt	*st;

	if (sha256 == NULL) {
		if ((st = db_prepare(db, "DELETE FROM tentacle_scripts WHERE "
		    "tentacle_id = ? AND name = ? AND version > 0")) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		return db_step_done(db, st);
	}
	if ((st = db_prepare(db, "INSERT OR REPLACE INTO tentacle_scripts "
	    "(tentacle_id, name, sha256, description, version) SELECT ?1, ?2, "
	    "?3, description, ?4 FROM script_versions WHERE name = ?2 AND "
	    "version = ?4")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, sha256, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, version);
	return db_step_done(db, st);
}

int
db_tentacle_managed(struct db *db, int64_t id, int *managed)
{
	sqlite3_stmt	*st;
	int		 rc;

	*managed = -1;
	if ((st = db_prepare(db, "SELECT managed_scripts FROM tentacles "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0)
		*managed = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int
db_scripts_refused_each(struct db *db,
    void (*fn)(const char *, int64_t, int64_t, const char *, void *),
    void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT ts.name, ts.tentacle_id, ts.version, "
	    "ts.sha256 FROM "
	    "tentacle_scripts ts JOIN scripts s ON s.name = ts.name AND "
	    "s.deleted = 0 JOIN script_versions v ON v.name = ts.name AND "
	    "v.version = ts.version WHERE ts.version > 0 AND EXISTS (SELECT 1 "
	    "FROM jobs j JOIN runs r ON r.id = j.run_id WHERE r.script = "
	    "ts.name AND j.tentacle_id = ts.tentacle_id AND j.state = "
	    "'refused' AND j.updated_at >= v.created_at AND j.id = (SELECT "
	    "max(j2.id) FROM jobs j2 JOIN runs r2 ON r2.id = j2.run_id WHERE "
	    "r2.script = ts.name AND j2.tentacle_id = ts.tentacle_id AND "
	    "j2.state IN ('done', 'refused')))")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(col_text(st, 0), sqlite3_column_int64(st, 1),
		    sqlite3_column_int64(st, 2), col_text(st, 3), arg);
	return db_rows_end(db, st, rc);
}

int
db_tentacles_managed_each(struct db *db,
    void (*fn)(int64_t, const char *, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT id, facts FROM tentacles WHERE "
	    "enrolment = 'accepted' AND managed_scripts = 1 ORDER BY id")) ==
	    NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(sqlite3_column_int64(st, 0), col_text(st, 1), arg);
	return db_rows_end(db, st, rc);
}
