/*
 * DbManager: the SQLite database, owned by the maestro alone (report 2.2:
 * one writer, one point of access control). WAL mode so that readers such
 * as the sqlite3 shell or a backup never block the writer. The schema is
 * versioned with PRAGMA user_version; each migration runs once, in its own
 * transaction, in order.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>
#include <jansson.h>
#include <sqlite3.h>

#include "db.h"
#include "crypto.h"
#include "findings.h"
#include "log.h"

/*
 * Statements run once per job or per result (creating a job, its state,
 * the key lookup, storing its result), kept prepared for the life of the
 * connection: SQLite parses and plans them once, not once per job (the
 * prepares were half of the maestro's SQLite time in a profile of make
 * bench). Each use binds, steps, then resets and
 * clears its bindings (db_cached / db_release), so that nothing of one
 * result stays bound to the next.
 */
enum {
	DB_ST_JOB_OWNER,
	DB_ST_RESULT_INSERT,
	DB_ST_JOB_DONE,
	DB_ST_TENTACLE_SEEN,
	DB_ST_JOB_ADD,
	DB_ST_JOB_STATE,
	DB_ST_TENTACLE_GET,
	DB_ST_FINDING_INSERT,
	DB_ST_FINDINGS_GET,
	DB_ST_MAX
};

struct db {
	sqlite3		*h;
	sqlite3_stmt	*cached[DB_ST_MAX];
};

/*
 * Migrations, oldest first: migrations[i] takes the schema from version i
 * to version i + 1. Never edit one that has shipped; append a new one.
 */
static const char *const migrations[] = {
	/* 1: users, sessions, audit log */
	"CREATE TABLE users ("
	"  name TEXT PRIMARY KEY,"
	"  role TEXT NOT NULL CHECK (role IN ('admin','operator','viewer')),"
	"  password_hash TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE TABLE sessions ("
	"  key_hash TEXT PRIMARY KEY,"
	"  user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
	"  csrf TEXT NOT NULL,"
	"  client TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  last_active INTEGER NOT NULL"
	");"
	"CREATE INDEX sessions_last_active ON sessions(last_active);"
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  peer TEXT NOT NULL DEFAULT '',"
	"  detail TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX audit_at ON audit(at);",

	/* 2: tentacles and enrolment tokens */
	"CREATE TABLE tentacles ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  hostname TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  port INTEGER NOT NULL,"
	"  key TEXT NOT NULL,"
	"  fingerprint TEXT NOT NULL,"
	"  enrolment TEXT NOT NULL"
	"    CHECK (enrolment IN ('pending','accepted','rejected')),"
	"  state TEXT NOT NULL DEFAULT 'unknown'"
	"    CHECK (state IN ('online','offline','unknown')),"
	"  enrolled_at INTEGER NOT NULL,"
	"  last_seen INTEGER,"
	"  facts TEXT NOT NULL DEFAULT '{}',"
	"  duplicate_of INTEGER,"
	"  source TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE INDEX tentacles_hostname ON tentacles(hostname);"
	"CREATE TABLE tokens ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  secret_hash TEXT NOT NULL UNIQUE,"
	"  created_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  uses_left INTEGER NOT NULL"
	");",

	/* 3: runs, one job per tentacle, one result per job. Jobs keep the
	 * hostname: the history outlives a revoked tentacle. */
	"CREATE TABLE runs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  script TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  created_by TEXT NOT NULL"
	");"
	"CREATE TABLE jobs ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  tentacle_id INTEGER NOT NULL,"
	"  hostname TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('queued','sent','running',"
	"    'done','failed','timeout','unreachable')),"
	"  message TEXT NOT NULL DEFAULT '',"
	"  updated_at INTEGER NOT NULL,"
	"  UNIQUE (run_id, tentacle_id)"
	");"
	"CREATE INDEX jobs_tentacle ON jobs(tentacle_id);"
	"CREATE TABLE results ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  job_id INTEGER NOT NULL UNIQUE REFERENCES jobs(id),"
	"  outcome INTEGER NOT NULL,"
	"  exit_status INTEGER NOT NULL,"
	"  signal INTEGER NOT NULL,"
	"  started_at_ms INTEGER NOT NULL,"
	"  duration_ms INTEGER NOT NULL,"
	"  truncated INTEGER NOT NULL,"
	"  output BLOB NOT NULL,"
	"  received_at INTEGER NOT NULL"
	");",

	/* 4: keepalive (missed pings in a row) and each tentacle's scripts */
	"ALTER TABLE tentacles ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;"
	"CREATE TABLE tentacle_scripts ("
	"  tentacle_id INTEGER NOT NULL,"
	"  name TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  description TEXT NOT NULL,"
	"  PRIMARY KEY (tentacle_id, name)"
	");",

	/* 5: when the tentacle acknowledged the order (ms, the brain's
	 * clock): a command worker started after it has lost the job */
	"ALTER TABLE jobs ADD COLUMN acked_ms INTEGER NOT NULL DEFAULT 0;",

	/* 6: findings, the lines of each output (SPEC "Findings", brain/
	 * findings.h) in their order (seq); check_id NULL for a line that
	 * did not parse. The results stored before are parsed by
	 * db_findings_backfill, in the same transaction. */
	"CREATE TABLE findings ("
	"  result_id INTEGER NOT NULL REFERENCES results(id),"
	"  seq INTEGER NOT NULL,"
	"  check_id TEXT,"
	"  status TEXT NOT NULL"
	"    CHECK (status IN ('OK','FAIL','WARN','INFO','SKIP')),"
	"  text TEXT NOT NULL,"
	"  PRIMARY KEY (result_id, seq)"	/* the index by result */
	") WITHOUT ROWID;"
	"CREATE INDEX findings_check ON findings(check_id);",
};
#define SCHEMA_VERSION	(int)(sizeof(migrations) / sizeof(migrations[0]))

static int	db_findings_backfill(struct db *);

/* Migrations that also need code, run after their SQL (the version they
 * migrate to, the function). */
static const struct {
	int	  version;
	int	(*fn)(struct db *);
} migration_code[] = {
	{ 6, db_findings_backfill },
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int
db_exec(struct db *db, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(db->h, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("database: %s", msg ? msg : sqlite3_errmsg(db->h));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static sqlite3_stmt *
db_prepare(struct db *db, const char *sql)
{
	sqlite3_stmt	*st;

	if (sqlite3_prepare_v2(db->h, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("database: prepare: %s", sqlite3_errmsg(db->h));
		return NULL;
	}
	return st;
}

/* A statement of the per-job path, prepared on first use. */
static sqlite3_stmt *
db_cached(struct db *db, int which, const char *sql)
{
	sqlite3_stmt	*st;

	if ((st = db->cached[which]) != NULL)
		return st;
	if (sqlite3_prepare_v3(db->h, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
	    NULL) != SQLITE_OK) {
		log_warnx("database: prepare: %s", sqlite3_errmsg(db->h));
		return NULL;
	}
	return db->cached[which] = st;
}

/* Done with a cached statement: ready for its next use. */
static void
db_release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

/* Step a cached statement that returns no row, then release it. */
static int
db_step_cached(struct db *db, sqlite3_stmt *st)
{
	int	rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		log_warnx("database: %s", sqlite3_errmsg(db->h));
	db_release(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Step a statement that returns no row, then finalize it. */
static int
db_step_done(struct db *db, sqlite3_stmt *st)
{
	int	rc = sqlite3_step(st);

	if (rc != SQLITE_DONE)
		log_warnx("database: %s", sqlite3_errmsg(db->h));
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Step a query for one row: 0 if there is a row (read its columns), then
 * finalize later; DB_NOTFOUND if none; -1 on error (logged). */
static int
db_step_row(struct db *db, sqlite3_stmt *st)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return 0;
	case SQLITE_DONE:
		return DB_NOTFOUND;
	default:
		log_warnx("database: %s", sqlite3_errmsg(db->h));
		return -1;
	}
}

/* Step a statement that changes one row by its ID: 0, DB_NOTFOUND when
 * no row had that ID, -1 on error. */
static int
db_step_changed(struct db *db, sqlite3_stmt *st)
{
	if (db_step_done(db, st) == -1)
		return -1;
	return sqlite3_changes(db->h) ? 0 : DB_NOTFOUND;
}

int
db_schema_version(struct db *db)
{
	sqlite3_stmt	*st;
	int		 v = -1;

	if ((st = db_prepare(db, "PRAGMA user_version")) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

static int
db_migrate_code(struct db *db, int version)
{
	size_t	i;

	for (i = 0; i < sizeof(migration_code) / sizeof(migration_code[0]);
	    i++)
		if (migration_code[i].version == version &&
		    migration_code[i].fn(db) == -1)
			return -1;
	return 0;
}

static int
db_migrate(struct db *db, char *err, size_t errlen)
{
	char	sql[64];
	int	v;

	if ((v = db_schema_version(db)) < 0) {
		snprintf(err, errlen, "cannot read the schema version");
		return -1;
	}
	if (v > SCHEMA_VERSION) {
		snprintf(err, errlen, "schema version %d is newer than this "
		    "octoBrain knows (%d): refusing to touch it", v,
		    SCHEMA_VERSION);
		return -1;
	}
	for (; v < SCHEMA_VERSION; v++) {
		snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
		if (db_exec(db, "BEGIN IMMEDIATE") == -1)
			goto fail;
		if (db_exec(db, migrations[v]) == -1 ||
		    db_migrate_code(db, v + 1) == -1 ||
		    db_exec(db, sql) == -1) {
			db_exec(db, "ROLLBACK");
			goto fail;
		}
		if (db_exec(db, "COMMIT") == -1)
			goto fail;
		log_info("database schema migrated to version %d", v + 1);
	}
	return 0;
fail:
	snprintf(err, errlen, "migration to schema version %d failed", v + 1);
	return -1;
}

struct db *
db_open(const char *path, char *err, size_t errlen)
{
	struct db	*db;
	int		 fd;

	/* Create the file ourselves so that it is 0600 whatever the umask. */
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	close(fd);

	if ((db = calloc(1, sizeof(*db))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (sqlite3_open_v2(path, &db->h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, db->h ?
		    sqlite3_errmsg(db->h) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(db->h, 5000);
	sqlite3_extended_result_codes(db->h, 1);
	if (db_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL") == -1 ||
	    db_exec(db, "PRAGMA foreign_keys = ON") == -1 ||
	    db_exec(db, "PRAGMA secure_delete = ON") == -1) {
		snprintf(err, errlen, "%s: cannot configure the database "
		    "(is it a SQLite file?)", path);
		goto fail;
	}
	if (db_migrate(db, err, errlen) == -1)
		goto fail;
	return db;
fail:
	sqlite3_close(db->h);
	free(db);
	return NULL;
}

void
db_close(struct db *db)
{
	int	i;

	if (db == NULL)
		return;
	for (i = 0; i < DB_ST_MAX; i++)
		sqlite3_finalize(db->cached[i]);
	sqlite3_close(db->h);
	free(db);
}

int
db_user_count(struct db *db, long *count)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "SELECT count(*) FROM users")) == NULL)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW) {
		*count = sqlite3_column_int64(st, 0);
		rc = 0;
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_user_add(struct db *db, const char *name, const char *role,
    const char *password_hash)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "INSERT INTO users (name, role, "
	    "password_hash, created_at) VALUES (?, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, role, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, password_hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time(NULL));
	return db_step_done(db, st);
}

/* Copy a text column; a value that does not fit is an error, not a
 * truncation (a truncated hash or role would be a different one). */
static int
column_copy(sqlite3_stmt *st, int col, char *dst, size_t dstsz)
{
	const unsigned char	*s = sqlite3_column_text(st, col);

	if (s == NULL)
		s = (const unsigned char *)"";
	return strlcpy(dst, (const char *)s, dstsz) < dstsz ? 0 : -1;
}

int
db_user_get(struct db *db, const char *name, char *role, size_t rolesz,
    char *hash, size_t hashsz)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT role, password_hash FROM users "
	    "WHERE name = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	/* NULL buffers: only whether the user exists. */
	if ((rc = db_step_row(db, st)) == 0 && role != NULL)
		rc = column_copy(st, 0, role, rolesz) == 0 &&
		    (hash == NULL || column_copy(st, 1, hash, hashsz) == 0) ?
		    0 : -1;
	sqlite3_finalize(st);
	return rc;
}

int
db_session_add(struct db *db, const char *key_hash, const char *user,
    const char *csrf, const char *client, time_t now)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "INSERT INTO sessions (key_hash, user, "
	    "csrf, client, created_at, last_active) "
	    "VALUES (?, ?, ?, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, csrf, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, client, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, now);
	sqlite3_bind_int64(st, 6, now);
	return db_step_done(db, st);
}

int
db_session_get(struct db *db, const char *key_hash, struct db_session *s)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT s.user, u.role, s.csrf, "
	    "s.created_at, s.last_active FROM sessions s "
	    "JOIN users u ON u.name = s.user WHERE s.key_hash = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key_hash, -1, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0) {
		rc = column_copy(st, 0, s->user, sizeof(s->user)) == 0 &&
		    column_copy(st, 1, s->role, sizeof(s->role)) == 0 &&
		    column_copy(st, 2, s->csrf, sizeof(s->csrf)) == 0 ? 0 : -1;
		s->created_at = sqlite3_column_int64(st, 3);
		s->last_active = sqlite3_column_int64(st, 4);
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_session_touch(struct db *db, const char *key_hash, time_t now)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE sessions SET last_active = ? "
	    "WHERE key_hash = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_text(st, 2, key_hash, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

int
db_session_delete(struct db *db, const char *key_hash)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM sessions WHERE key_hash = ?"))
	    == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key_hash, -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

int
db_session_expire(struct db *db, time_t idle_before)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM sessions WHERE last_active < ?"))
	    == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, idle_before);
	return db_step_done(db, st);
}

int
db_audit(struct db *db, const char *actor, const char *action,
    const char *peer, const char *detail)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "INSERT INTO audit (at, actor, action, peer, "
	    "detail) VALUES (?, ?, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, peer ? peer : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
	return db_step_done(db, st);
}

static void
rfc3339(time_t t, char *out, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
db_audit_json(struct db *db, const char *actor, const char *action,
    unsigned limit)
{
	sqlite3_stmt	*st;
	json_t		*list;
	char		 at[32];

	/* "" matches every actor / action. */
	if ((st = db_prepare(db, "SELECT id, at, actor, action, peer, detail "
	    "FROM audit WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR "
	    "action = ?2) ORDER BY id DESC LIMIT ?3")) == NULL)
		return NULL;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit);
	list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		rfc3339(sqlite3_column_int64(st, 1), at, sizeof(at));
		json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s,s:s,"
		    "s:s}", "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "at", at,
		    "actor", (const char *)sqlite3_column_text(st, 2),
		    "action", (const char *)sqlite3_column_text(st, 3),
		    "peer", (const char *)sqlite3_column_text(st, 4),
		    "detail", (const char *)sqlite3_column_text(st, 5)));
	}
	sqlite3_finalize(st);
	return json_pack("{s:o}", "events", list);
}

/* ---- users ----------------------------------------------------------- */

json_t *
db_users_json(struct db *db)
{
	sqlite3_stmt	*st;
	json_t		*list;
	char		 created[32];

	if ((st = db_prepare(db, "SELECT name, role, created_at FROM users "
	    "ORDER BY name")) == NULL)
		return NULL;
	list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		rfc3339(sqlite3_column_int64(st, 2), created, sizeof(created));
		json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name",
		    (const char *)sqlite3_column_text(st, 0), "role",
		    (const char *)sqlite3_column_text(st, 1), "created_at",
		    created));
	}
	sqlite3_finalize(st);
	return json_pack("{s:o}", "users", list);
}

int
db_user_admins(struct db *db, long *count)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT count(*) FROM users WHERE role = "
	    "'admin'")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0)
		*count = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
db_user_delete(struct db *db, const char *name)
{
	sqlite3_stmt	*st;

	/* Its sessions go with it (ON DELETE CASCADE). */
	if ((st = db_prepare(db, "DELETE FROM users WHERE name = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	return db_step_changed(db, st);
}

int
db_user_set_password(struct db *db, const char *name, const char *hash,
    const char *keep_session)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "UPDATE users SET password_hash = ? WHERE "
	    "name = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	if ((rc = db_step_changed(db, st)) != 0)
		return rc;
	/* Whoever knew the old password is logged out everywhere else. */
	if ((st = db_prepare(db, "DELETE FROM sessions WHERE user = ? AND "
	    "key_hash != ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, keep_session ? keep_session : "", -1,
	    SQLITE_STATIC);
	return db_step_done(db, st);
}

/* ---- tentacles ------------------------------------------------------- */

/* One row of the SELECT below as the API's JSON object. */
#define TENTACLE_COLUMNS "id, hostname, address, port, fingerprint, " \
	"enrolment, state, enrolled_at, last_seen, facts, duplicate_of"

static json_t *
tentacle_json(sqlite3_stmt *st)
{
	char		 enrolled[32], seen[32];
	json_t		*facts, *o;
	const char	*f = (const char *)sqlite3_column_text(st, 9);

	rfc3339(sqlite3_column_int64(st, 7), enrolled, sizeof(enrolled));
	/* Facts were checked as printable text at enrolment; they must also
	 * be a JSON object to be shown as one. */
	facts = f ? json_loads(f, JSON_REJECT_DUPLICATES, NULL) : NULL;
	if (!json_is_object(facts)) {
		json_decref(facts);
		facts = json_object();
	}
	o = json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "hostname", (const char *)sqlite3_column_text(st, 1),
	    "address", (const char *)sqlite3_column_text(st, 2),
	    "port", sqlite3_column_int(st, 3),
	    "fingerprint", (const char *)sqlite3_column_text(st, 4),
	    "enrolment", (const char *)sqlite3_column_text(st, 5),
	    "state", (const char *)sqlite3_column_text(st, 6),
	    "enrolled_at", enrolled,
	    "facts", facts);
	if (o == NULL)
		return NULL;
	if (sqlite3_column_type(st, 8) == SQLITE_NULL)
		json_object_set_new(o, "last_seen", json_null());
	else {
		rfc3339(sqlite3_column_int64(st, 8), seen, sizeof(seen));
		json_object_set_new(o, "last_seen", json_string(seen));
	}
	json_object_set_new(o, "duplicate_of",
	    sqlite3_column_type(st, 10) == SQLITE_NULL ? json_null() :
	    json_integer(sqlite3_column_int64(st, 10)));
	return o;
}

int
db_tentacle_add(struct db *db, const struct db_tentacle *t, int64_t *id)
{
	sqlite3_stmt	*st;
	int64_t		 dup = 0;
	int		 rc;

	/* A host that enrols again under a known name (a reinstall) gets a
	 * new ID; the newest older row is flagged so the admin can revoke
	 * it. Nothing is replaced silently. */
	if ((st = db_prepare(db, "SELECT max(id) FROM tentacles WHERE "
	    "hostname = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, t->hostname, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) != SQLITE_NULL)
		dup = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);

	if ((st = db_prepare(db, "INSERT INTO tentacles (hostname, address, "
	    "port, key, fingerprint, enrolment, enrolled_at, facts, "
	    "duplicate_of, source) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"))
	    == NULL)
		return -1;
	sqlite3_bind_text(st, 1, t->hostname, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, t->address, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, t->port);
	sqlite3_bind_text(st, 4, t->key_hex, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, t->fingerprint, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, t->enrolment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, time(NULL));
	sqlite3_bind_text(st, 8, t->facts, -1, SQLITE_STATIC);
	if (dup)
		sqlite3_bind_int64(st, 9, dup);
	else
		sqlite3_bind_null(st, 9);
	sqlite3_bind_text(st, 10, t->source, -1, SQLITE_STATIC);
	rc = db_step_done(db, st);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int
db_tentacle_get(struct db *db, int64_t id, struct db_tentacle *t)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_cached(db, DB_ST_TENTACLE_GET, "SELECT hostname, "
	    "address, port, key, fingerprint, enrolment FROM tentacles WHERE "
	    "id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0) {
		memset(t, 0, sizeof(*t));
		t->id = id;
		rc = column_copy(st, 0, t->hostname, sizeof(t->hostname)) == 0 &&
		    column_copy(st, 1, t->address, sizeof(t->address)) == 0 &&
		    column_copy(st, 3, t->key_hex, sizeof(t->key_hex)) == 0 &&
		    column_copy(st, 4, t->fingerprint,
		    sizeof(t->fingerprint)) == 0 &&
		    column_copy(st, 5, t->enrolment, sizeof(t->enrolment)) == 0 ?
		    0 : -1;
		t->port = sqlite3_column_int(st, 2);
	}
	db_release(st);
	return rc;
}

int
db_tentacle_set_enrolment(struct db *db, int64_t id, const char *enrolment)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE tentacles SET enrolment = ? "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, enrolment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return db_step_changed(db, st);
}

int
db_tentacle_delete(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM tentacles WHERE id = ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_step_changed(db, st);
}

json_t *
db_tentacle_json(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;
	json_t		*o = NULL;

	if ((st = db_prepare(db, "SELECT " TENTACLE_COLUMNS " FROM tentacles "
	    "WHERE id = ?")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		o = tentacle_json(st);
	sqlite3_finalize(st);
	return o;
}

json_t *
db_tentacle_list(struct db *db)
{
	sqlite3_stmt	*st;
	json_t		*list, *o;
	int		 rc;

	if ((st = db_prepare(db, "SELECT " TENTACLE_COLUMNS " FROM tentacles "
	    "ORDER BY id")) == NULL)
		return NULL;
	list = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		if ((o = tentacle_json(st)) != NULL)
			json_array_append_new(list, o);
	if (rc != SQLITE_DONE) {
		log_warnx("database: %s", sqlite3_errmsg(db->h));
		json_decref(list);
		list = NULL;
	}
	sqlite3_finalize(st);
	return list;
}

/* ---- enrolment tokens ------------------------------------------------ */

int
db_token_add(struct db *db, const char *secret_hash, const char *created_by,
    time_t expires_at, long uses, int64_t *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "INSERT INTO tokens (secret_hash, "
	    "created_by, created_at, expires_at, uses_left) "
	    "VALUES (?, ?, ?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, secret_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time(NULL));
	sqlite3_bind_int64(st, 4, expires_at);
	sqlite3_bind_int64(st, 5, uses);
	rc = db_step_done(db, st);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int
db_token_use(struct db *db, const char *secret_hash, time_t now,
    const char **why)
{
	sqlite3_stmt	*st;
	int64_t		 id, expires, uses;
	int		 rc;

	/* Looked up by the SHA-256 of the secret: an index lookup on a hash
	 * leaks nothing useful about the secret through timing. */
	if ((st = db_prepare(db, "SELECT id, expires_at, uses_left FROM "
	    "tokens WHERE secret_hash = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, secret_hash, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		sqlite3_finalize(st);
		*why = "unknown token";
		return rc == SQLITE_DONE ? DB_NOTFOUND : -1;
	}
	id = sqlite3_column_int64(st, 0);
	expires = sqlite3_column_int64(st, 1);
	uses = sqlite3_column_int64(st, 2);
	sqlite3_finalize(st);
	if (now >= expires) {
		*why = "expired token";
		return DB_NOTFOUND;
	}
	if (uses <= 0) {
		*why = "used-up token";
		return DB_NOTFOUND;
	}
	if ((st = db_prepare(db, "UPDATE tokens SET uses_left = uses_left - 1 "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_step_done(db, st);
}

json_t *
db_token_list(struct db *db)
{
	sqlite3_stmt	*st;
	json_t		*list;
	char		 created[32], expires[32];
	int		 rc;

	if ((st = db_prepare(db, "SELECT id, created_by, created_at, "
	    "expires_at, uses_left FROM tokens ORDER BY id")) == NULL)
		return NULL;
	list = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		rfc3339(sqlite3_column_int64(st, 2), created, sizeof(created));
		rfc3339(sqlite3_column_int64(st, 3), expires, sizeof(expires));
		json_array_append_new(list, json_pack("{s:I,s:s,s:s,s:s,s:I,"
		    "s:b}", "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "created_by", (const char *)sqlite3_column_text(st, 1),
		    "created_at", created, "expires_at", expires,
		    "uses_left", (json_int_t)sqlite3_column_int64(st, 4),
		    "expired", sqlite3_column_int64(st, 3) <= time(NULL)));
	}
	if (rc != SQLITE_DONE) {
		json_decref(list);
		list = NULL;
	}
	sqlite3_finalize(st);
	return list;
}

int
db_token_delete(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM tokens WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return db_step_changed(db, st);
}


/* ---- runs, jobs, results --------------------------------------------- */

int
db_begin(struct db *db)
{
	return db_exec(db, "BEGIN IMMEDIATE");
}

int
db_commit(struct db *db)
{
	return db_exec(db, "COMMIT");
}

void
db_rollback(struct db *db)
{
	(void)db_exec(db, "ROLLBACK");
}

int
db_run_add(struct db *db, const char *script, const char *user, int64_t *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "INSERT INTO runs (script, created_at, "
	    "created_by) VALUES (?, ?, ?)")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, script, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_text(st, 3, user, -1, SQLITE_STATIC);
	rc = db_step_done(db, st);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int
db_job_add(struct db *db, int64_t run, int64_t tentacle, const char *hostname,
    int64_t *id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_cached(db, DB_ST_JOB_ADD, "INSERT INTO jobs (run_id, "
	    "tentacle_id, hostname, state, updated_at) VALUES (?, ?, ?, "
	    "'queued', ?)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, tentacle);
	sqlite3_bind_text(st, 3, hostname, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, time(NULL));
	rc = db_step_cached(db, st);
	if (rc == 0)
		*id = sqlite3_last_insert_rowid(db->h);
	return rc;
}

int
db_job_set_state(struct db *db, int64_t job, enum job_state state,
    const char *message)
{
	sqlite3_stmt	*st;
	char		 from[JOB_SOURCES_MAX];

	/* A job that has its result keeps the state the result gave it,
	 * whatever comes late; the rest is the lifecycle's table. */
	if ((st = db_cached(db, DB_ST_JOB_STATE, "UPDATE jobs SET state = ?1, "
	    "message = ?2, updated_at = ?3, acked_ms = CASE WHEN ?6 THEN ?5 "
	    "ELSE acked_ms END WHERE id = ?4 AND NOT EXISTS (SELECT 1 FROM "
	    "results WHERE job_id = ?4) AND instr(?7, ',' || state || ',') "
	    "> 0")) == NULL)
		return -1;
	job_sources(state, JOB_STATES_ALL, from);
	sqlite3_bind_text(st, 1, job_state_name(state), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, message ? message : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time(NULL));
	sqlite3_bind_int64(st, 4, job);
	sqlite3_bind_int64(st, 5, now_ms());
	sqlite3_bind_int(st, 6, state == JOB_RUNNING);
	sqlite3_bind_text(st, 7, from, -1, SQLITE_TRANSIENT);
	if (db_step_cached(db, st) == -1)
		return -1;
	return sqlite3_changes(db->h) ? 0 : DB_NOTFOUND;
}

int
db_jobs_sent(struct db *db, int64_t run)
{
	sqlite3_stmt	*st;
	char		 from[JOB_SOURCES_MAX];

	if ((st = db_prepare(db, "UPDATE jobs SET state = ?3, updated_at "
	    "= ?1 WHERE instr(?4, ',' || state || ',') > 0 AND (?2 = 0 OR "
	    "run_id = ?2) AND tentacle_id IN (SELECT id FROM tentacles)")) ==
	    NULL)
		return -1;
	job_sources(JOB_SENT, JOB_STATES_ALL, from);
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_int64(st, 2, run);
	sqlite3_bind_text(st, 3, job_state_name(JOB_SENT), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, from, -1, SQLITE_TRANSIENT);
	return db_step_done(db, st);
}

int
db_jobs_lost(struct db *db, int64_t tentacle, int64_t acked_before_ms,
    const char *message, int *n)
{
	sqlite3_stmt	*st;
	char		 from[JOB_SOURCES_MAX];
	int		 rc;

	*n = 0;
	/* Only running jobs are lost (acknowledged, then no result). */
	if ((st = db_prepare(db, "UPDATE jobs SET state = ?5, message = ?1, "
	    "updated_at = ?2 WHERE tentacle_id = ?3 AND instr(?6, ',' || "
	    "state || ',') > 0 AND acked_ms < ?4 AND NOT EXISTS (SELECT 1 "
	    "FROM results WHERE job_id = jobs.id)")) == NULL)
		return -1;
	job_sources(JOB_FAILED, JOB_STATE_BIT(JOB_RUNNING), from);
	sqlite3_bind_text(st, 1, message, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_int64(st, 3, tentacle);
	sqlite3_bind_int64(st, 4, acked_before_ms);
	sqlite3_bind_text(st, 5, job_state_name(JOB_FAILED), -1,
	    SQLITE_STATIC);
	sqlite3_bind_text(st, 6, from, -1, SQLITE_TRANSIENT);
	if ((rc = db_step_done(db, st)) == 0)
		*n = sqlite3_changes(db->h);
	return rc;
}

int
db_job_owner(struct db *db, int64_t job, int64_t *tentacle, int *accepted)
{
	sqlite3_stmt	*st;
	const char	*e;
	int		 rc;

	/* The owner, and whether it is (still) an accepted tentacle: not
	 * when it was revoked (its row is gone) or rejected since. */
	if ((st = db_cached(db, DB_ST_JOB_OWNER, "SELECT j.tentacle_id, "
	    "t.enrolment FROM jobs j LEFT JOIN tentacles t ON t.id = "
	    "j.tentacle_id WHERE j.id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, job);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*tentacle = sqlite3_column_int64(st, 0);
		e = (const char *)sqlite3_column_text(st, 1);
		*accepted = e != NULL && strcmp(e, "accepted") == 0;
	}
	db_release(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? DB_NOTFOUND : -1;
}

/* The findings of a result's output, in the caller's transaction. */
static int
db_findings_store(struct db *db, int64_t result, const uint8_t *out,
    size_t len)
{
	struct findings	 f;
	sqlite3_stmt	*st;
	size_t		 i;
	int		 rc = 0;

	if (len == 0)
		return 0;
	if (findings_parse(out, len, &f) == -1) {
		log_warnx("out of memory parsing the findings of result %lld",
		    (long long)result);
		return -1;
	}
	if ((st = db_cached(db, DB_ST_FINDING_INSERT, "INSERT INTO findings "
	    "(result_id, seq, check_id, status, text) VALUES (?, ?, ?, ?, "
	    "?)")) == NULL) {
		findings_free(&f);
		return -1;
	}
	for (i = 0; i < f.n && rc == 0; i++) {
		sqlite3_bind_int64(st, 1, result);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
		if (f.v[i].check[0] != '\0')
			sqlite3_bind_text(st, 3, f.v[i].check, -1,
			    SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 3);
		sqlite3_bind_text(st, 4, finding_status_name(f.v[i].status), -1,
		    SQLITE_STATIC);
		sqlite3_bind_text(st, 5, f.v[i].text, -1, SQLITE_STATIC);
		rc = db_step_cached(db, st);
	}
	findings_free(&f);
	return rc;
}

/* Migration 6: the findings of the results stored before it. */
static int
db_findings_backfill(struct db *db)
{
	sqlite3_stmt	*st;
	int		 rc, n = 0;

	if ((st = db_prepare(db, "SELECT id, output FROM results ORDER BY "
	    "id")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_findings_store(db, sqlite3_column_int64(st, 0),
		    sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st,
		    1)) == -1) {
			sqlite3_finalize(st);
			return -1;
		}
		n++;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		log_warnx("database: %s", sqlite3_errmsg(db->h));
		return -1;
	}
	if (n > 0)
		log_info("findings of %d stored results parsed", n);
	return 0;
}

int
db_result_store(struct db *db, int64_t job, const struct msg_result *r,
    int *stored)
{
	sqlite3_stmt	*st;
	enum job_state	 to;
	char		 from[JOB_SOURCES_MAX];

	/* Exactly once: a result delivered again (its ACK was lost) is
	 * acknowledged again but not stored twice. */
	if ((st = db_cached(db, DB_ST_RESULT_INSERT, "INSERT OR IGNORE INTO "
	    "results (job_id, "
	    "outcome, exit_status, signal, started_at_ms, duration_ms, "
	    "truncated, output, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
	    "?)")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, job);
	sqlite3_bind_int(st, 2, r->outcome);
	sqlite3_bind_int(st, 3, r->exit_status);
	sqlite3_bind_int(st, 4, r->signal);
	sqlite3_bind_int64(st, 5, (sqlite3_int64)r->started_at_ms);
	sqlite3_bind_int64(st, 6, (sqlite3_int64)r->duration_ms);
	sqlite3_bind_int(st, 7, r->truncated);
	sqlite3_bind_blob(st, 8, r->output_len ? (const void *)r->output : "",
	    (int)r->output_len, SQLITE_STATIC);
	sqlite3_bind_int64(st, 9, time(NULL));
	if (db_step_cached(db, st) == -1)
		return -1;
	*stored = sqlite3_changes(db->h) > 0;
	if (!*stored)
		return 0;	/* the first result gave the job its state */
	if (db_findings_store(db, sqlite3_last_insert_rowid(db->h), r->output,
	    r->output_len) == -1)
		return -1;
	to = job_state_of_outcome(r->outcome);
	if ((st = db_cached(db, DB_ST_JOB_DONE, "UPDATE jobs SET state = ?1, "
	    "message = '', updated_at = ?2 WHERE id = ?3 AND instr(?4, ',' "
	    "|| state || ',') > 0")) == NULL)
		return -1;
	job_sources(to, JOB_STATES_ALL, from);
	sqlite3_bind_text(st, 1, job_state_name(to), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_int64(st, 3, job);
	sqlite3_bind_text(st, 4, from, -1, SQLITE_TRANSIENT);
	return db_step_cached(db, st);
}

/* The output as JSON text: invalid UTF-8 bytes become U+FFFD, so that
 * whatever a script prints can be shown. */
static json_t *
output_json(const unsigned char *p, size_t n)
{
	char	*s;
	size_t	 i, o = 0;
	json_t	*j;

	if ((s = malloc(n * 3 + 1)) == NULL)
		return json_string("");
	for (i = 0; i < n; i++) {
		unsigned char c = p[i];
		size_t	len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 :
		    (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		size_t	k;

		if (len == 1) {
			s[o++] = (char)c;
			continue;
		}
		for (k = 1; len && k < len; k++)
			if (i + k >= n || (p[i + k] & 0xc0) != 0x80)
				len = 0;
		if (len == 0 || c == 0xc0 || c == 0xc1 || c > 0xf4) {
			memcpy(s + o, "\xef\xbf\xbd", 3);
			o += 3;
			continue;
		}
		memcpy(s + o, p + i, len);
		o += len;
		i += len - 1;
	}
	j = json_stringn_nocheck(s, o);
	free(s);
	return j;
}

/*
 * A result's findings for the API, each with its check's references, title
 * and fix (findings.h, finding_json), in the order of the output; while
 * *budget lasts (estimated bytes of JSON, FINDINGS_JSON_MAX per reply), or
 * null: too many for this reply (GET /api/results/ID has them), or a
 * database error (logged).
 */
static json_t *
result_findings_json(struct db *db, int64_t result,
    const struct checks *checks, size_t *budget)
{
	sqlite3_stmt	*st;
	json_t		*a, *j;
	const char	*check, *status, *text;
	size_t		 left = *budget, size;
	int		 rc, over = 0;

	if ((st = db_cached(db, DB_ST_FINDINGS_GET, "SELECT check_id, status, "
	    "text FROM findings WHERE result_id = ? ORDER BY seq")) == NULL)
		return json_null();
	if ((a = json_array()) == NULL) {
		db_release(st);
		return json_null();
	}
	sqlite3_bind_int64(st, 1, result);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		check = (const char *)sqlite3_column_text(st, 0);
		status = (const char *)sqlite3_column_text(st, 1);
		text = (const char *)sqlite3_column_text(st, 2);
		check = check ? check : "";
		text = text ? text : "";
		size = finding_json_size(checks, check, text);
		if (size > left) {
			over = 1;
			break;
		}
		left -= size;
		if ((j = finding_json(checks, check, status ? status : "INFO",
		    text)) == NULL || json_array_append_new(a, j) == -1) {
			log_warnx("out of memory listing findings");
			over = 1;
			break;
		}
	}
	if (!over && rc != SQLITE_DONE) {
		log_warnx("database: %s", sqlite3_errmsg(db->h));
		over = 1;
	}
	db_release(st);
	if (over) {
		json_decref(a);
		*budget = 0;
		return json_null();
	}
	*budget = left;
	return a;
}

#define RESULT_COLUMNS "r.id, r.outcome, r.exit_status, r.signal, " \
	"r.started_at_ms, r.duration_ms, r.truncated, r.output"

static json_t *
result_json(sqlite3_stmt *st, int col)
{
	char	started[40];
	time_t	t = (time_t)(sqlite3_column_int64(st, col + 4) / 1000);
	struct tm tm;
	int	outcome = sqlite3_column_int(st, col + 1);

	gmtime_r(&t, &tm);
	strftime(started, sizeof(started), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_pack("{s:I,s:o,s:o,s:I,s:s,s:o,s:b,s:s}",
	    "id", (json_int_t)sqlite3_column_int64(st, col),
	    "exit_status", outcome == OUTCOME_RAN &&
	    sqlite3_column_int(st, col + 3) == 0 ?
	    json_integer(sqlite3_column_int(st, col + 2)) : json_null(),
	    "signal", sqlite3_column_int(st, col + 3) ?
	    json_integer(sqlite3_column_int(st, col + 3)) : json_null(),
	    "duration_ms", (json_int_t)sqlite3_column_int64(st, col + 5),
	    "started_at", started,
	    "output", output_json(sqlite3_column_blob(st, col + 7),
	    (size_t)sqlite3_column_bytes(st, col + 7)),
	    "truncated", sqlite3_column_int(st, col + 6),
	    "outcome", outcome == OUTCOME_RAN ? "ran" :
	    outcome == OUTCOME_TIMEOUT ? "timeout" : "failed");
}

static json_t *
run_json(sqlite3_stmt *st)
{
	char	created[32];

	rfc3339(sqlite3_column_int64(st, 2), created, sizeof(created));
	return json_pack("{s:I,s:s,s:s,s:s}",
	    "id", (json_int_t)sqlite3_column_int64(st, 0),
	    "script", (const char *)sqlite3_column_text(st, 1),
	    "created_at", created,
	    "created_by", (const char *)sqlite3_column_text(st, 3));
}

/*
 * A run at a glance: jobs per state, and the verdicts of the scripts that
 * ran: compliant (exit 0), findings (exit 1), error (any other status, a
 * signal; or the job timed out, failed or was unreachable). The columns
 * are those of RUN_SUMMARY_COLUMNS, from col.
 */
_Static_assert(JOB_STATE_MAX == 7, "RUN_SUMMARY_COLUMNS counts each job "
    "state, in the order of enum job_state");
#define RUN_SUMMARY_COLUMNS \
	"count(j.id), sum(j.state = 'queued'), sum(j.state = 'sent'), " \
	"sum(j.state = 'running'), sum(j.state = 'done'), " \
	"sum(j.state = 'failed'), sum(j.state = 'timeout'), " \
	"sum(j.state = 'unreachable'), " \
	"sum(j.state = 'done' AND res.signal = 0 AND res.exit_status = 0), " \
	"sum(j.state = 'done' AND res.signal = 0 AND res.exit_status = 1)"

static json_t *
run_summary_json(sqlite3_stmt *st, int col)
{
	json_t		*o = json_object(), *by_state = json_object();
	long long	 v[10];
	int		 i;

	for (i = 0; i < 10; i++)
		v[i] = sqlite3_column_int64(st, col + i);
	for (i = 0; i < JOB_STATE_MAX; i++)
		json_object_set_new(by_state, job_state_name(i),
		    json_integer(v[1 + i]));
	json_object_set_new(o, "jobs", json_integer(v[0]));
	json_object_set_new(o, "states", by_state);
	json_object_set_new(o, "finished", json_integer(v[4] + v[5] + v[6] +
	    v[7]));
	json_object_set_new(o, "compliant", json_integer(v[8]));
	json_object_set_new(o, "findings", json_integer(v[9]));
	json_object_set_new(o, "errors", json_integer(v[4] - v[8] - v[9] +
	    v[5] + v[6] + v[7]));
	return o;
}

json_t *
db_run_json(struct db *db, int64_t id, int with_output,
    const struct checks *checks)
{
	sqlite3_stmt	*st;
	json_t		*run = NULL, *jobs, *job, *res;
	size_t		 budget = FINDINGS_JSON_MAX;
	int		 rc;

	if ((st = db_prepare(db, "SELECT id, script, created_at, created_by "
	    "FROM runs WHERE id = ?")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		run = run_json(st);
	sqlite3_finalize(st);
	if (run == NULL)
		return NULL;
	if ((st = db_prepare(db, "SELECT j.id, j.tentacle_id, j.hostname, "
	    "j.state, j.message, " RESULT_COLUMNS " FROM jobs j LEFT JOIN "
	    "results r ON r.job_id = j.id WHERE j.run_id = ? ORDER BY j.id"))
	    == NULL) {
		json_decref(run);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	jobs = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		job = json_pack("{s:I,s:I,s:s,s:s,s:s}",
		    "id", (json_int_t)sqlite3_column_int64(st, 0),
		    "tentacle", (json_int_t)sqlite3_column_int64(st, 1),
		    "hostname", (const char *)sqlite3_column_text(st, 2),
		    "state", (const char *)sqlite3_column_text(st, 3),
		    "message", (const char *)sqlite3_column_text(st, 4));
		res = sqlite3_column_type(st, 5) == SQLITE_NULL ? json_null() :
		    result_json(st, 5);
		if (!with_output)
			json_object_del(res, "output");
		else if (json_is_object(res))
			json_object_set_new(res, "findings",
			    result_findings_json(db, sqlite3_column_int64(st,
			    5), checks, &budget));
		json_object_set_new(job, "result", res);
		json_array_append_new(jobs, job);
	}
	sqlite3_finalize(st);
	json_object_set_new(run, "jobs", jobs);
	if ((st = db_prepare(db, "SELECT " RUN_SUMMARY_COLUMNS " FROM jobs j "
	    "LEFT JOIN results res ON res.job_id = j.id WHERE j.run_id = ?")) ==
	    NULL) {
		json_decref(run);
		return NULL;
	}
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW)
		json_object_set_new(run, "summary", run_summary_json(st, 0));
	sqlite3_finalize(st);
	return run;
}

/* One tentacle's job in a run: {"state", "result": null | {"id",
 * "exit_status", "signal"}} (exit_status null unless the script ran and
 * exited; signal null unless one killed it). */
static json_t *
tentacle_job_json(sqlite3_stmt *st, int col)
{
	json_t	*res = json_null();
	int	 ran = sqlite3_column_int(st, col + 4) == OUTCOME_RAN;
	int	 sig = sqlite3_column_int(st, col + 3);

	if (sqlite3_column_type(st, col + 1) != SQLITE_NULL)
		res = json_pack("{s:I,s:o,s:o}", "id", (json_int_t)
		    sqlite3_column_int64(st, col + 1), "exit_status",
		    ran && sig == 0 ? json_integer(sqlite3_column_int(st,
		    col + 2)) : json_null(), "signal", sig ? json_integer(sig) :
		    json_null());
	return json_pack("{s:s,s:o}", "state",
	    (const char *)sqlite3_column_text(st, col), "result", res);
}

json_t *
db_run_list(struct db *db, int64_t tentacle)
{
	sqlite3_stmt	*st;
	json_t		*list, *run, *sum;

	/* With a tentacle, also its own job in each run: state, result ID,
	 * exit status and signal (columns 14 to 17). */
	if ((st = db_prepare(db, "SELECT r.id, r.script, r.created_at, "
	    "r.created_by, " RUN_SUMMARY_COLUMNS ", mine.state, mres.id, "
	    "mres.exit_status, mres.signal, mres.outcome FROM runs r LEFT JOIN "
	    "jobs j ON j.run_id = r.id LEFT JOIN results res ON res.job_id = "
	    "j.id LEFT JOIN jobs mine ON mine.run_id = r.id AND "
	    "mine.tentacle_id = ?1 LEFT JOIN results mres ON mres.job_id = "
	    "mine.id WHERE ?1 = 0 OR mine.id IS NOT NULL GROUP BY r.id ORDER "
	    "BY r.id DESC LIMIT 500")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, tentacle);
	list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		run = run_json(st);
		if (tentacle != 0)
			json_object_set_new(run, "tentacle_job",
			    tentacle_job_json(st, 14));
		sum = run_summary_json(st, 4);
		/* "jobs" and "finished" as before, beside the summary. */
		json_object_set(run, "jobs", json_object_get(sum, "jobs"));
		json_object_set(run, "finished", json_object_get(sum,
		    "finished"));
		json_object_set_new(run, "summary", sum);
		json_array_append_new(list, run);
	}
	sqlite3_finalize(st);
	return list;
}

json_t *
db_result_json(struct db *db, int64_t id, const struct checks *checks)
{
	sqlite3_stmt	*st;
	json_t		*o = NULL;
	size_t		 budget = FINDINGS_JSON_MAX;

	if ((st = db_prepare(db, "SELECT " RESULT_COLUMNS ", j.run_id, "
	    "j.tentacle_id, j.hostname FROM results r JOIN jobs j ON "
	    "j.id = r.job_id WHERE r.id = ?")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, id);
	if (sqlite3_step(st) == SQLITE_ROW) {
		o = result_json(st, 0);
		json_object_set_new(o, "run", json_integer(
		    sqlite3_column_int64(st, 8)));
		json_object_set_new(o, "tentacle", json_integer(
		    sqlite3_column_int64(st, 9)));
		json_object_set_new(o, "hostname", json_string(
		    (const char *)sqlite3_column_text(st, 10)));
		json_object_set_new(o, "findings", result_findings_json(db, id,
		    checks, &budget));
	}
	sqlite3_finalize(st);
	return o;
}

json_t *
db_tentacle_results(struct db *db, int64_t tentacle, int with_findings,
    const struct checks *checks)
{
	sqlite3_stmt	*st;
	json_t		*list, *o;
	size_t		 budget = FINDINGS_JSON_MAX;

	if ((st = db_prepare(db, "SELECT " RESULT_COLUMNS ", j.run_id, "
	    "ru.script FROM results r JOIN jobs j ON j.id = r.job_id JOIN runs "
	    "ru ON ru.id = j.run_id WHERE j.tentacle_id = ? ORDER BY r.id DESC "
	    "LIMIT 500")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, tentacle);
	list = json_array();
	while (sqlite3_step(st) == SQLITE_ROW) {
		o = result_json(st, 0);
		json_object_del(o, "output");
		json_object_set_new(o, "run", json_integer(
		    sqlite3_column_int64(st, 8)));
		json_object_set_new(o, "script", json_string(
		    (const char *)sqlite3_column_text(st, 9)));
		if (with_findings)
			json_object_set_new(o, "findings", result_findings_json(
			    db, sqlite3_column_int64(st, 0), checks, &budget));
		json_array_append_new(list, o);
	}
	sqlite3_finalize(st);
	return list;
}

int
db_tentacles_accepted(struct db *db, int64_t **ids, size_t *n)
{
	sqlite3_stmt	*st;
	int64_t		*v = NULL, *nv;
	size_t		 cap = 0;

	*n = 0;
	if ((st = db_prepare(db, "SELECT id FROM tentacles WHERE enrolment = "
	    "'accepted' ORDER BY id")) == NULL)
		return -1;
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = reallocarray(v, cap, sizeof(*v))) == NULL) {
				free(v);
				sqlite3_finalize(st);
				return -1;
			}
			v = nv;
		}
		v[(*n)++] = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	*ids = v;
	return 0;
}

int
db_jobs_queued(struct db *db, int64_t run,
    void (*fn)(const struct db_order *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct db_order	 o;
	char		 from[JOB_SOURCES_MAX];
	int		 rc;

	if ((st = db_prepare(db, "SELECT j.id, j.tentacle_id, t.address, "
	    "t.port, t.fingerprint, t.key, r.script FROM jobs j JOIN runs r ON "
	    "r.id = j.run_id JOIN tentacles t ON t.id = j.tentacle_id WHERE "
	    "instr(?3, ',' || j.state || ',') > 0 AND (?1 = 0 OR j.run_id = "
	    "?2) ORDER BY j.id")) == NULL)
		return -1;
	/* Sent (again, after a commander restart) while the tentacle has
	 * not acknowledged it: what may still become running. */
	job_sources(JOB_RUNNING, JOB_STATES_ALL, from);
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, run);
	sqlite3_bind_text(st, 3, from, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		o.job = sqlite3_column_int64(st, 0);
		o.tentacle = sqlite3_column_int64(st, 1);
		o.port = sqlite3_column_int(st, 3);
		if (column_copy(st, 2, o.address, sizeof(o.address)) == -1 ||
		    column_copy(st, 4, o.fingerprint, sizeof(o.fingerprint)) ==
		    -1 || column_copy(st, 5, o.key_hex, sizeof(o.key_hex)) ==
		    -1 || column_copy(st, 6, o.script, sizeof(o.script)) == -1)
			continue;
		fn(&o, arg);
		crypto_wipe(o.key_hex, sizeof(o.key_hex));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* ---- keepalive and scripts ------------------------------------------- */

int
db_tentacle_seen(struct db *db, int64_t id, const char *facts)
{
	sqlite3_stmt	*st;

	if ((st = db_cached(db, DB_ST_TENTACLE_SEEN, "UPDATE tentacles SET "
	    "state = 'online', "
	    "misses = 0, last_seen = ?, facts = coalesce(?, facts) "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, time(NULL));
	if (facts)
		sqlite3_bind_text(st, 2, facts, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, id);
	if (db_step_cached(db, st) == -1)
		return -1;
	return sqlite3_changes(db->h) ? 0 : DB_NOTFOUND;
}

int
db_tentacle_missed(struct db *db, int64_t id, long limit, int *went_offline)
{
	sqlite3_stmt	*st;
	int		 rc;

	*went_offline = 0;
	if ((st = db_prepare(db, "UPDATE tentacles SET misses = misses + 1 "
	    "WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_changed(db, st)) != 0)
		return rc;
	if ((st = db_prepare(db, "UPDATE tentacles SET state = 'offline' "
	    "WHERE id = ? AND misses >= ? AND state != 'offline'")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, limit);
	if (db_step_done(db, st) == -1)
		return -1;
	*went_offline = sqlite3_changes(db->h) > 0;
	return 0;
}

int
db_tentacle_scripts_set(struct db *db, int64_t id, json_t *scripts)
{
	sqlite3_stmt	*st;
	json_t		*v;
	size_t		 i;

	if ((st = db_prepare(db, "DELETE FROM tentacle_scripts WHERE "
	    "tentacle_id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if (db_step_done(db, st) == -1)
		return -1;
	json_array_foreach(scripts, i, v) {
		if ((st = db_prepare(db, "INSERT OR REPLACE INTO "
		    "tentacle_scripts (tentacle_id, name, sha256, description) "
		    "VALUES (?, ?, ?, ?)")) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, json_string_value(json_object_get(v,
		    "name")), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, json_string_value(json_object_get(v,
		    "sha256")), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, json_string_value(json_object_get(v,
		    "description")), -1, SQLITE_STATIC);
		if (db_step_done(db, st) == -1)
			return -1;
	}
	return 0;
}

json_t *
db_scripts_json(struct db *db, int64_t tentacle)
{
	sqlite3_stmt	*st;
	json_t		*list, *cur = NULL;
	const char	*name, *sha;
	int		 rc;

	/* The fleet's union: one entry per name and content, with the
	 * tentacles that have it. */
	if ((st = db_prepare(db, "SELECT s.name, s.sha256, s.description, "
	    "s.tentacle_id FROM tentacle_scripts s JOIN tentacles t ON t.id = "
	    "s.tentacle_id WHERE (? = 0 OR s.tentacle_id = ?) ORDER BY s.name, "
	    "s.sha256, s.tentacle_id")) == NULL)
		return NULL;
	sqlite3_bind_int64(st, 1, tentacle);
	sqlite3_bind_int64(st, 2, tentacle);
	list = json_array();
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		name = (const char *)sqlite3_column_text(st, 0);
		sha = (const char *)sqlite3_column_text(st, 1);
		if (cur == NULL || strcmp(json_string_value(json_object_get(cur,
		    "name")), name) || strcmp(json_string_value(
		    json_object_get(cur, "sha256")), sha)) {
			cur = json_pack("{s:s,s:s,s:s,s:[]}", "name", name,
			    "sha256", sha, "description",
			    (const char *)sqlite3_column_text(st, 2),
			    "tentacles");
			json_array_append_new(list, cur);
		}
		json_array_append_new(json_object_get(cur, "tentacles"),
		    json_integer(sqlite3_column_int64(st, 3)));
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE) {
		json_decref(list);
		return NULL;
	}
	return list;
}

int
db_tentacles_to_ping(struct db *db, int unseen_only,
    void (*fn)(const struct db_order *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct db_order	 o;

	if ((st = db_prepare(db, "SELECT id, address, port, fingerprint, key "
	    "FROM tentacles WHERE enrolment = 'accepted' AND (?1 = 0 OR "
	    "last_seen IS NULL) ORDER BY id")) == NULL)
		return -1;
	sqlite3_bind_int(st, 1, unseen_only);
	while (sqlite3_step(st) == SQLITE_ROW) {
		memset(&o, 0, sizeof(o));
		o.tentacle = sqlite3_column_int64(st, 0);
		o.port = sqlite3_column_int(st, 2);
		if (column_copy(st, 1, o.address, sizeof(o.address)) == 0 &&
		    column_copy(st, 3, o.fingerprint, sizeof(o.fingerprint)) ==
		    0 && column_copy(st, 4, o.key_hex, sizeof(o.key_hex)) == 0)
			fn(&o, arg);
		crypto_wipe(o.key_hex, sizeof(o.key_hex));
	}
	sqlite3_finalize(st);
	return 0;
}
