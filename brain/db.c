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
#include "dbint.h"
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
	DB_ST_LEDGER,			/* db_ledger.c's (dbint.h) */
	DB_ST_MAX = DB_ST_LEDGER + DB_LEDGER_STATEMENTS
};

struct db {
	sqlite3			*h;
	sqlite3_stmt		*cached[DB_ST_MAX];
	db_audit_hook		*audit_hook;	/* export (db_export.c) */
	void			*audit_arg;
};

sqlite3 *
db_handle(struct db *db)
{
	return db->h;
}

/* Whether the text x is a JSON object (json_type fails on what is not
 * JSON: asked only of valid text). */
#define FACTS_OBJECT(x)	"(CASE WHEN json_valid(" x ") THEN json_type(" x \
			") = 'object' ELSE 0 END)"

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

	/* 7: each user's TOTP secret (hex; brain/totp.h), not active until
	 * confirmed by a code; the last step a code was accepted for (each
	 * code counts once) */
	"CREATE TABLE totp ("
	"  user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,"
	"  secret TEXT NOT NULL,"
	"  active INTEGER NOT NULL DEFAULT 0,"
	"  last_step INTEGER NOT NULL DEFAULT 0,"
	"  created_at INTEGER NOT NULL"
	") WITHOUT ROWID;",

	/* 8: jobs may end refused (the host's script is not the one
	 * ordered) or expired (its tentacle did not come back before
	 * expires_at, seconds; 0: never). A CHECK cannot be altered: the
	 * table is rebuilt (migrations run with foreign keys off, and are
	 * checked by db_migrate). */
	"CREATE TABLE jobs_new ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  run_id INTEGER NOT NULL REFERENCES runs(id),"
	"  tentacle_id INTEGER NOT NULL,"
	"  hostname TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('queued','sent','running',"
	"    'done','failed','timeout','unreachable','refused','expired')),"
	"  message TEXT NOT NULL DEFAULT '',"
	"  updated_at INTEGER NOT NULL,"
	"  acked_ms INTEGER NOT NULL DEFAULT 0,"
	"  expires_at INTEGER NOT NULL DEFAULT 0,"
	"  UNIQUE (run_id, tentacle_id)"
	");"
	"INSERT INTO jobs_new (id, run_id, tentacle_id, hostname, state,"
	"  message, updated_at, acked_ms)"
	"  SELECT id, run_id, tentacle_id, hostname, state, message,"
	"  updated_at, acked_ms FROM jobs;"
	"UPDATE sqlite_sequence SET seq = (SELECT seq FROM sqlite_sequence"
	"  WHERE name = 'jobs') WHERE name = 'jobs_new' AND seq <"
	"  (SELECT seq FROM sqlite_sequence WHERE name = 'jobs');"
	"DROP TABLE jobs;"
	"ALTER TABLE jobs_new RENAME TO jobs;"
	"CREATE INDEX jobs_tentacle ON jobs(tentacle_id);",

	/* 9: an audit row may stand for several events of one minute from
	 * one peer (refused handshakes, throttled enrolments: brain/
	 * refusals.c) */
	"ALTER TABLE audit ADD COLUMN count INTEGER NOT NULL DEFAULT 1;",

	/* 10: scripts managed by the brain (issue 14; db_scripts.c): one row
	 * per name, whose `latest` is the last version number given (a
	 * deletion takes one too, so no number is ever given twice, even to
	 * a name created again); its versions with their body, hash and the
	 * maestro's Ed25519 signatures (hex). What each tentacle holds: its
	 * scripts' versions (0: a local script) and whether it takes managed
	 * scripts (-1: not said yet, 0: no, 1: yes) and has pinned the
	 * script-signing key. */
	"CREATE TABLE scripts ("
	"  name TEXT PRIMARY KEY,"
	"  latest INTEGER NOT NULL,"
	"  deleted INTEGER NOT NULL DEFAULT 0,"
	"  deleted_by TEXT NOT NULL DEFAULT '',"
	"  deleted_at INTEGER NOT NULL DEFAULT 0,"
	"  delete_signature TEXT NOT NULL DEFAULT ''"
	");"
	"CREATE TABLE script_versions ("
	"  name TEXT NOT NULL REFERENCES scripts(name),"
	"  version INTEGER NOT NULL,"
	"  body BLOB NOT NULL,"
	"  description TEXT NOT NULL,"
	"  sha256 TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  signature TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (name, version)"
	");"
	"ALTER TABLE tentacle_scripts ADD COLUMN version INTEGER NOT NULL "
	"  DEFAULT 0;"
	"ALTER TABLE tentacles ADD COLUMN managed_scripts INTEGER NOT NULL "
	"  DEFAULT -1;"
	"ALTER TABLE tentacles ADD COLUMN script_key INTEGER NOT NULL "
	"  DEFAULT 0;"
	/* ... and the SHA-256 of the script that ran ('': not told) */
	"ALTER TABLE results ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';",
	/* 11 (export and evidence, issue 17): the brain's event sequence (one
	 * row, never repeated), the bounded queue of events to export, each
	 * target's position in it and its drops (db_export.c); the ledger, a
	 * hash chain over the audit log and the results (db_ledger.c; the
	 * rows already there are chained by its code). */
	"CREATE TABLE export_seq ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  seq INTEGER NOT NULL"
	");"
	"INSERT INTO export_seq (id, seq) VALUES (1, 0);"
	"CREATE TABLE export_queue ("
	"  seq INTEGER PRIMARY KEY,"
	"  body TEXT NOT NULL"
	");"
	"CREATE TABLE export_targets ("
	"  name TEXT PRIMARY KEY,"
	"  active INTEGER NOT NULL DEFAULT 0,"
	"  acked INTEGER NOT NULL DEFAULT 0,"
	"  drops INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE TABLE ledger ("
	"  id INTEGER PRIMARY KEY,"
	"  tbl TEXT NOT NULL CHECK (tbl IN ('audit', 'results')),"
	"  row_id INTEGER NOT NULL,"
	"  content TEXT NOT NULL,"
	"  prev TEXT NOT NULL,"
	"  entry TEXT NOT NULL"
	");"
	"CREATE INDEX ledger_row ON ledger(tbl, row_id);",

	/* 12 (groups and schedules, issue 16; brain/db_labels.c,
	 * db_schedules.c, db_retention.c): each tentacle's labels, accepted
	 * (an admin set them) or proposed (its configuration's `labels`);
	 * schedules (every N seconds or a cron expression; targets: all,
	 * a list of IDs or labels, as text); the index of jobs that wait
	 * for their tentacle (expiry), of results and audit lines by age
	 * (retention). */
	"CREATE TABLE tentacle_labels ("
	"  tentacle_id INTEGER NOT NULL REFERENCES tentacles(id)"
	"    ON DELETE CASCADE,"
	"  label TEXT NOT NULL,"
	"  state TEXT NOT NULL CHECK (state IN ('accepted','proposed')),"
	"  PRIMARY KEY (tentacle_id, label)"
	") WITHOUT ROWID;"
	"CREATE INDEX tentacle_labels_label ON tentacle_labels(label, state);"
	"CREATE TABLE schedules ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  script TEXT NOT NULL,"
	"  target TEXT NOT NULL CHECK (target IN ('all','tentacles','labels')),"
	"  target_list TEXT NOT NULL DEFAULT '',"
	"  every INTEGER NOT NULL DEFAULT 0,"
	"  cron TEXT NOT NULL DEFAULT '',"
	"  enabled INTEGER NOT NULL DEFAULT 1,"
	"  disabled_reason TEXT NOT NULL DEFAULT '',"
	"  next_at INTEGER NOT NULL DEFAULT 0,"
	"  last_at INTEGER NOT NULL DEFAULT 0,"
	"  last_run INTEGER NOT NULL DEFAULT 0,"
	"  created_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL"
	");"
	"CREATE INDEX jobs_waiting ON jobs(tentacle_id, expires_at)"
	"  WHERE state IN ('queued','sent','unreachable');"
	"CREATE INDEX jobs_run ON jobs(run_id);"
	"CREATE INDEX results_received ON results(received_at);",

	/* 13: lists at scale (SPEC "Lists at scale", db_lists.c): the fleet
	 * filtered by enrolment and state (or state alone) and counted from
	 * the first index alone;
	 * sorted by status (the expression of LIST_STATUS in db_lists.c) and
	 * by last contact (never seen: 0); a run's jobs paged by ID, and
	 * whether any is still pending (a waiter of ?wait=). Checked with
	 * EXPLAIN QUERY PLAN in tests/unit/test_brain_lists.c
	 * (IF NOT EXISTS: a test takes the schema back to 5, these stay.) */
	"CREATE INDEX IF NOT EXISTS tentacles_enrolment_state"
	"  ON tentacles(enrolment, state);"
	"CREATE INDEX IF NOT EXISTS tentacles_state ON tentacles(state);"
	"CREATE INDEX IF NOT EXISTS tentacles_status ON tentacles((CASE"
	"  enrolment WHEN 'accepted' THEN state ELSE enrolment END));"
	"CREATE INDEX IF NOT EXISTS tentacles_last_seen"
	"  ON tentacles(ifnull(last_seen, 0));"
	"CREATE INDEX IF NOT EXISTS jobs_run ON jobs(run_id);"
	"CREATE INDEX IF NOT EXISTS jobs_run_state ON jobs(run_id, state);",

	/* 14: compliance (brain/db_compliance.c). verdicts: one row per
	 * result, its tentacle, script, time (received_at) and verdict (0
	 * compliant, 1 findings, 2 error) with its FAIL count, kept by
	 * triggers beside results and findings: the index that finds a
	 * host's latest result of a script as of a date by one seek.
	 * waivers: for a tentacle or a label (exactly one), a script or
	 * one of its checks; deleted ones are kept (deleted_at) so that a
	 * past date shows the waivers of that date. */
	"CREATE TABLE verdicts ("
	"  result_id INTEGER PRIMARY KEY,"
	"  tentacle_id INTEGER NOT NULL,"
	"  script TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  verdict INTEGER NOT NULL CHECK (verdict IN (0, 1, 2)),"
	"  failed INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX verdicts_cell ON verdicts(tentacle_id, script, at);"
	"CREATE INDEX verdicts_at ON verdicts(at);"
	"INSERT INTO verdicts (result_id, tentacle_id, script, at, verdict,"
	"  failed) SELECT r.id, j.tentacle_id, ru.script, r.received_at,"
	"  CASE WHEN r.outcome = 1 AND r.exit_status = 0 THEN 0"
	"  WHEN r.outcome = 1 AND r.exit_status = 1 THEN 1 ELSE 2 END,"
	"  (SELECT count(*) FROM findings f WHERE f.result_id = r.id AND"
	"  f.status = 'FAIL') FROM results r JOIN jobs j ON j.id = r.job_id"
	"  JOIN runs ru ON ru.id = j.run_id;"
	"CREATE TRIGGER verdicts_insert AFTER INSERT ON results BEGIN"
	"  INSERT INTO verdicts (result_id, tentacle_id, script, at, verdict)"
	"  SELECT NEW.id, j.tentacle_id, ru.script, NEW.received_at,"
	"  CASE WHEN NEW.outcome = 1 AND NEW.exit_status = 0 THEN 0"
	"  WHEN NEW.outcome = 1 AND NEW.exit_status = 1 THEN 1 ELSE 2 END"
	"  FROM jobs j JOIN runs ru ON ru.id = j.run_id WHERE j.id ="
	"  NEW.job_id;"
	"END;"
	"CREATE TRIGGER verdicts_failed AFTER INSERT ON findings"
	"  WHEN NEW.status = 'FAIL' BEGIN"
	"  UPDATE verdicts SET failed = failed + 1 WHERE result_id ="
	"  NEW.result_id;"
	"END;"
	"CREATE TRIGGER verdicts_delete AFTER DELETE ON results BEGIN"
	"  DELETE FROM verdicts WHERE result_id = OLD.id;"
	"END;"
	"CREATE TABLE waivers ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  tentacle_id INTEGER,"
	"  label TEXT,"
	"  script TEXT NOT NULL,"
	"  check_id TEXT,"
	"  reason TEXT NOT NULL,"
	"  created_by TEXT NOT NULL,"
	"  created_at INTEGER NOT NULL,"
	"  expires_at INTEGER NOT NULL,"
	"  deleted_at INTEGER,"
	"  deleted_by TEXT,"
	"  CHECK ((tentacle_id IS NULL) <> (label IS NULL))"
	");"
	"CREATE INDEX waivers_script ON waivers(script);",

	/* 15: the compliance matrix of now in one pass (issue 16,
	 * brain/db_compliance.c): verdicts_latest, each cell's latest
	 * verdict (by at, then result ID: the matrix's order), kept by
	 * triggers on verdicts; a result deleted that was a cell's latest
	 * gives the cell its next one. And retention's old final jobs
	 * (db_retention.c) by age, without a walk of the whole table. */
	"CREATE INDEX IF NOT EXISTS jobs_final_age ON jobs(updated_at) WHERE"
	"  state IN"
	"  ('done','failed','timeout','unreachable','refused','expired');"
	"CREATE TABLE verdicts_latest ("
	"  tentacle_id INTEGER NOT NULL,"
	"  script TEXT NOT NULL,"
	"  result_id INTEGER NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  verdict INTEGER NOT NULL,"
	"  failed INTEGER NOT NULL,"
	"  PRIMARY KEY (tentacle_id, script)"
	") WITHOUT ROWID;"
	"INSERT INTO verdicts_latest SELECT v.tentacle_id, v.script,"
	"  v.result_id, v.at, v.verdict, v.failed FROM verdicts v WHERE"
	"  v.result_id = (SELECT x.result_id FROM verdicts x WHERE"
	"  x.tentacle_id = v.tentacle_id AND x.script = v.script ORDER BY"
	"  x.at DESC, x.result_id DESC LIMIT 1);"
	"CREATE TRIGGER verdicts_latest_insert AFTER INSERT ON verdicts BEGIN"
	"  INSERT INTO verdicts_latest VALUES (NEW.tentacle_id, NEW.script,"
	"  NEW.result_id, NEW.at, NEW.verdict, NEW.failed)"
	"  ON CONFLICT (tentacle_id, script) DO UPDATE SET"
	"  result_id = excluded.result_id, at = excluded.at,"
	"  verdict = excluded.verdict, failed = excluded.failed"
	"  WHERE excluded.at > at OR (excluded.at = at AND"
	"  excluded.result_id > result_id);"
	"END;"
	"CREATE TRIGGER verdicts_latest_failed AFTER UPDATE OF failed ON"
	"  verdicts BEGIN"
	"  UPDATE verdicts_latest SET failed = NEW.failed WHERE"
	"  tentacle_id = NEW.tentacle_id AND script = NEW.script AND"
	"  result_id = NEW.result_id;"
	"END;"
	"CREATE TRIGGER verdicts_latest_delete AFTER DELETE ON verdicts"
	"  WHEN EXISTS (SELECT 1 FROM verdicts_latest WHERE tentacle_id ="
	"  OLD.tentacle_id AND script = OLD.script AND result_id ="
	"  OLD.result_id) BEGIN"
	"  DELETE FROM verdicts_latest WHERE tentacle_id = OLD.tentacle_id"
	"  AND script = OLD.script;"
	"  INSERT INTO verdicts_latest SELECT tentacle_id, script, result_id,"
	"  at, verdict, failed FROM verdicts WHERE tentacle_id ="
	"  OLD.tentacle_id AND script = OLD.script ORDER BY at DESC,"
	"  result_id DESC LIMIT 1;"
	"END;",

	/* 16 (the ledger pruned from its start, issue 17; db_ledger.c):
	 * the chain's recorded start, once entries have gone from it: the
	 * first entry kept and its anchor, the hash of the entry before it
	 * that the first one links to (no row: never pruned, entry 1 links
	 * to 64 zeros). */
	"CREATE TABLE ledger_start ("
	"  id INTEGER PRIMARY KEY CHECK (id = 1),"
	"  first INTEGER NOT NULL,"
	"  anchor TEXT NOT NULL,"
	"  pruned_at INTEGER NOT NULL"
	");",

	/* 17 (issue 18): the fleet's counts (SPEC "Lists at scale",
	 * db_lists.c) kept by triggers, so that every page of the fleet
	 * reads a few rows instead of counting 10,000 index entries: the
	 * keepalive's updates change no enrolment or state of an online
	 * tentacle, and the WHEN keeps them from touching the table. (IF
	 * NOT EXISTS and a count again: a test takes the schema back to
	 * 5.) */
	"CREATE TABLE IF NOT EXISTS fleet_counts ("
	"  enrolment TEXT NOT NULL,"
	"  state TEXT NOT NULL,"
	"  n INTEGER NOT NULL,"
	"  PRIMARY KEY (enrolment, state)"
	") WITHOUT ROWID;"
	"DELETE FROM fleet_counts;"
	"INSERT INTO fleet_counts SELECT enrolment, state, count(*) FROM"
	"  tentacles GROUP BY enrolment, state;"
	"CREATE TRIGGER IF NOT EXISTS fleet_counts_insert AFTER INSERT ON"
	"  tentacles BEGIN"
	"  INSERT INTO fleet_counts VALUES (NEW.enrolment, NEW.state, 1)"
	"  ON CONFLICT (enrolment, state) DO UPDATE SET n = n + 1;"
	"END;"
	"CREATE TRIGGER IF NOT EXISTS fleet_counts_delete AFTER DELETE ON"
	"  tentacles BEGIN"
	"  UPDATE fleet_counts SET n = n - 1 WHERE enrolment = OLD.enrolment"
	"  AND state = OLD.state;"
	"END;"
	"CREATE TRIGGER IF NOT EXISTS fleet_counts_update AFTER UPDATE OF"
	"  enrolment, state ON tentacles WHEN OLD.enrolment != NEW.enrolment"
	"  OR OLD.state != NEW.state BEGIN"
	"  UPDATE fleet_counts SET n = n - 1 WHERE enrolment = OLD.enrolment"
	"  AND state = OLD.state;"
	"  INSERT INTO fleet_counts VALUES (NEW.enrolment, NEW.state, 1)"
	"  ON CONFLICT (enrolment, state) DO UPDATE SET n = n + 1;"
	"END;"
	/* ... and the facts always a JSON object: the fleet's pages copy
	 * them as they are (views.c), without reading them. The brain
	 * writes only objects (enrol.c, fleet.c); what else comes (another
	 * writer, an older brain's row) becomes {}. */
	"UPDATE tentacles SET facts = '{}' WHERE NOT " FACTS_OBJECT("facts")
	";"
	"CREATE TRIGGER IF NOT EXISTS tentacles_facts_insert AFTER INSERT ON"
	"  tentacles WHEN NOT " FACTS_OBJECT("NEW.facts") " BEGIN"
	"  UPDATE tentacles SET facts = '{}' WHERE id = NEW.id;"
	"END;"
	"CREATE TRIGGER IF NOT EXISTS tentacles_facts_update AFTER UPDATE OF"
	"  facts ON tentacles WHEN NOT " FACTS_OBJECT("NEW.facts") " BEGIN"
	"  UPDATE tentacles SET facts = '{}' WHERE id = NEW.id;"
	"END;",
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
	{ 11, db_ledger_backfill },	/* export and evidence (issue 17) */
};

static int64_t
now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int
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

sqlite3_stmt *
db_prepare(struct db *db, const char *sql)
{
	sqlite3_stmt	*st;

	if (db_stmt_take(db->h, sql, &st) == 0)
		return st;
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
void
db_release(sqlite3_stmt *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

sqlite3_stmt *
db_cached_ledger(struct db *db, int which, const char *sql)
{
	return db_cached(db, DB_ST_LEDGER + which, sql);
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
int
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
int
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
int
db_step_changed(struct db *db, sqlite3_stmt *st)
{
	if (db_step_done(db, st) == -1)
		return -1;
	return sqlite3_changes(db->h) ? 0 : DB_NOTFOUND;
}

int
db_schema_latest(void)
{
	return SCHEMA_VERSION;
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

/* After a migration (run with foreign keys off, so that a table can be
 * rebuilt): 0 if every reference still holds. */
static int
db_foreign_keys_hold(struct db *db)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "PRAGMA foreign_key_check")) == NULL)
		return -1;
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("database: a migration broke a reference (%s)",
	    rc == SQLITE_ROW ? "foreign_key_check" : sqlite3_errmsg(db->h));
	return -1;
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
		    db_foreign_keys_hold(db) == -1 ||
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
	/* Another process holding a lock (the sqlite3 shell, a backup):
	 * wait for it rather than fail a request. */
	sqlite3_busy_timeout(db->h, 5000);
	sqlite3_extended_result_codes(db->h, 1);
	/*
	 * journal_mode = WAL: readers (the shell, a backup) never block the
	 * maestro, the only writer, nor it them; a commit appends to the
	 * log instead of rewriting pages twice.
	 * synchronous = NORMAL: in WAL mode the file is never corrupted by
	 * a crash or a power cut, but the commits since the log was last
	 * synced (at a checkpoint) may be lost to a power cut; FULL would
	 * sync the log at every commit, once per batch of results. A trade
	 * of the last seconds' durability for the storing rate.
	 * secure_delete = ON: a deleted row (a session, a revoked tentacle's
	 * key, a TOTP secret) is overwritten, not left in free pages.
	 * temp_store = MEMORY: the sorts and groupings of the lists (the
	 * runs' summaries, a fleet sorted by a column without an index)
	 * stay off the disk.
	 * cache_size = -16384: 16 MiB of page cache (the default is 2 MiB):
	 * the fleet's table and indexes at 10,000 tentacles stay in memory
	 * between two requests.
	 * auto_vacuum = INCREMENTAL, before the first table: a new database
	 * gives the pages that retention frees back in small steps
	 * (db_vacuum_step); an older one keeps its mode (no effect until a
	 * VACUUM).
	 * wal_autocheckpoint = 0: SQLite's own checkpoint would run inside
	 * whichever commit crossed its threshold (tens of ms, the loop
	 * waiting); the maestro has a passive one run every second and
	 * between retention's batches by a thread with a connection of its
	 * own (dbcheckpoint.c: the loop never waits for the disk), or runs
	 * it itself (db_checkpoint) if that thread could not start. Without
	 * a maestro (the tests, a tool) the log is written back when the
	 * database is closed.
	 */
	if (db_exec(db, "PRAGMA auto_vacuum = INCREMENTAL") == -1 ||
	    db_exec(db, "PRAGMA journal_mode = WAL") == -1 ||
	    db_exec(db, "PRAGMA synchronous = NORMAL") == -1 ||
	    db_exec(db, "PRAGMA secure_delete = ON") == -1 ||
	    db_exec(db, "PRAGMA temp_store = MEMORY") == -1 ||
	    db_exec(db, "PRAGMA cache_size = -16384") == -1 ||
	    db_exec(db, "PRAGMA wal_autocheckpoint = 0") == -1) {
		snprintf(err, errlen, "%s: cannot configure the database "
		    "(is it a SQLite file?)", path);
		goto fail;
	}
	/* Foreign keys on once migrated: a migration may rebuild a table
	 * others refer to (SQLite's "other kinds of table schema changes"),
	 * and they cannot be switched inside its transaction. */
	if (db_migrate(db, err, errlen) == -1)
		goto fail;
	if (db_exec(db, "PRAGMA foreign_keys = ON") == -1) {
		snprintf(err, errlen, "%s: cannot enforce foreign keys", path);
		goto fail;
	}
	return db;
fail:
	db_stmts_close(db->h);
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
	db_stmts_close(db->h);
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
db_tentacles_pending(struct db *db, long *count)
{
	sqlite3_stmt	*st;
	int		 rc = -1;

	if ((st = db_prepare(db, "SELECT count(*) FROM tentacles WHERE "
	    "enrolment = 'pending'")) == NULL)
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
	    "s.created_at, s.last_active, EXISTS (SELECT 1 FROM totp t "
	    "WHERE t.user = s.user AND t.active = 1) FROM sessions s "
	    "JOIN users u ON u.name = s.user WHERE s.key_hash = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, key_hash, -1, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0) {
		rc = column_copy(st, 0, s->user, sizeof(s->user)) == 0 &&
		    column_copy(st, 1, s->role, sizeof(s->role)) == 0 &&
		    column_copy(st, 2, s->csrf, sizeof(s->csrf)) == 0 ? 0 : -1;
		s->created_at = sqlite3_column_int64(st, 3);
		s->last_active = sqlite3_column_int64(st, 4);
		s->totp = sqlite3_column_int(st, 5) != 0;
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

	int64_t		 id;

	/* The row and its ledger entry together (a savepoint: in the
	 * caller's transaction, or one of its own). */
	if (db_exec(db, "SAVEPOINT audit_row") == -1)
		return -1;
	if ((st = db_prepare(db, "INSERT INTO audit (at, actor, action, peer, "
	    "detail) VALUES (?, ?, ?, ?, ?)")) == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, time(NULL));
	sqlite3_bind_text(st, 2, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, action, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, peer ? peer : "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, detail ? detail : "", -1, SQLITE_STATIC);
	if (db_step_done(db, st) == -1)
		goto fail;
	id = sqlite3_last_insert_rowid(db->h);
	if (db_ledger_append(db, "audit", id) == -1)
		goto fail;
	if (db_exec(db, "RELEASE audit_row") == -1)
		goto fail;
	if (db->audit_hook)
		db->audit_hook(id, actor, action, peer ? peer : "",
		    detail ? detail : "", db->audit_arg);
	return 0;
fail:
	(void)db_exec(db, "ROLLBACK TO audit_row");
	(void)db_exec(db, "RELEASE audit_row");
	return -1;
}

void
db_audit_written(struct db *db, int64_t id, const char *actor,
    const char *action, const char *peer, const char *detail)
{
	if (db->audit_hook)
		db->audit_hook(id, actor, action, peer, detail, db->audit_arg);
}

void
db_set_audit_hook(struct db *db, db_audit_hook *fn, void *arg)
{
	db->audit_hook = fn;
	db->audit_arg = arg;
}

/* A text column; "" for NULL (the schema has few). */
const char *
col_text(sqlite3_stmt *st, int i)
{
	const unsigned char	*t = sqlite3_column_text(st, i);

	return t ? (const char *)t : "";
}

/* Step a query to its end: 0, or -1 on error (logged); then finalize. */
int
db_rows_end(struct db *db, sqlite3_stmt *st, int rc)
{
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("database: %s", sqlite3_errmsg(db->h));
	return -1;
}

int
db_audit_each(struct db *db, const char *actor, const char *action,
    unsigned limit, void (*fn)(const struct db_audit_row *, void *),
    void *arg)
{
	sqlite3_stmt		*st;
	struct db_audit_row	 r;
	int			 rc;

	/* "" matches every actor / action. */
	if ((st = db_prepare(db, "SELECT id, at, actor, action, peer, detail, "
	    "count FROM audit WHERE (?1 = '' OR actor = ?1) AND (?2 = '' OR "
	    "action = ?2) ORDER BY id DESC LIMIT ?3")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, action, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.at = (time_t)sqlite3_column_int64(st, 1);
		r.actor = col_text(st, 2);
		r.action = col_text(st, 3);
		r.peer = col_text(st, 4);
		r.detail = col_text(st, 5);
		r.count = (long)sqlite3_column_int64(st, 6);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
}

/* ---- users ----------------------------------------------------------- */

int
db_users_each(struct db *db, void (*fn)(const struct db_user_row *, void *),
    void *arg)
{
	sqlite3_stmt		*st;
	struct db_user_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT name, role, created_at, EXISTS "
	    "(SELECT 1 FROM totp t WHERE t.user = u.name AND t.active = 1) "
	    "FROM users u ORDER BY name")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.name = col_text(st, 0);
		r.role = col_text(st, 1);
		r.created_at = (time_t)sqlite3_column_int64(st, 2);
		r.totp = sqlite3_column_int(st, 3) != 0;
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
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
	return db_sessions_end(db, name, keep_session);
}

int
db_sessions_end(struct db *db, const char *name, const char *keep_session)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM sessions WHERE user = ? AND "
	    "key_hash != ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, keep_session ? keep_session : "", -1,
	    SQLITE_STATIC);
	return db_step_done(db, st);
}

/* ---- TOTP ------------------------------------------------------------ */

int
db_totp_get(struct db *db, const char *user, struct db_totp *t)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT secret, active, last_step FROM totp "
	    "WHERE user = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	if ((rc = db_step_row(db, st)) == 0) {
		rc = column_copy(st, 0, t->secret_hex, sizeof(t->secret_hex));
		t->active = sqlite3_column_int(st, 1) != 0;
		t->last_step = sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_totp_set_pending(struct db *db, const char *user, const char *secret_hex)
{
	sqlite3_stmt	*st;

	/* A pending secret is replaced; an active one never. */
	if ((st = db_prepare(db, "INSERT INTO totp (user, secret, active, "
	    "last_step, created_at) VALUES (?1, ?2, 0, 0, ?3) "
	    "ON CONFLICT (user) DO UPDATE SET secret = ?2, last_step = 0, "
	    "created_at = ?3 WHERE active = 0")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, secret_hex, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, time(NULL));
	return db_step_changed(db, st);
}

int
db_totp_activate(struct db *db, const char *user, int64_t step)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE totp SET active = 1, last_step = ? "
	    "WHERE user = ? AND active = 0")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, step);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	return db_step_changed(db, st);
}

int
db_totp_use(struct db *db, const char *user, int64_t step)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE totp SET last_step = ?1 WHERE "
	    "user = ?2 AND active = 1 AND last_step < ?1")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, step);
	sqlite3_bind_text(st, 2, user, -1, SQLITE_STATIC);
	return db_step_changed(db, st);
}

int
db_totp_delete(struct db *db, const char *user)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM totp WHERE user = ?")) == NULL)
		return -1;
	sqlite3_bind_text(st, 1, user, -1, SQLITE_STATIC);
	return db_step_changed(db, st);
}

/* ---- tentacles ------------------------------------------------------- */

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

/* The TENTACLE_COLUMNS (dbint.h) from col 0. */
void
db_tentacle_row_read(sqlite3_stmt *st, struct db_tentacle_row *r)
{
	r->id = sqlite3_column_int64(st, 0);
	r->hostname = col_text(st, 1);
	r->address = col_text(st, 2);
	r->port = sqlite3_column_int(st, 3);
	r->fingerprint = col_text(st, 4);
	r->enrolment = col_text(st, 5);
	r->state = col_text(st, 6);
	r->enrolled_at = (time_t)sqlite3_column_int64(st, 7);
	r->seen = sqlite3_column_type(st, 8) != SQLITE_NULL;
	r->last_seen = (time_t)sqlite3_column_int64(st, 8);
	r->facts = (const char *)sqlite3_column_text(st, 9);
	r->duplicate_of = sqlite3_column_int64(st, 10);
}

int
db_tentacles_each(struct db *db, int64_t id,
    void (*fn)(const struct db_tentacle_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_tentacle_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT " TENTACLE_COLUMNS " FROM tentacles "
	    "WHERE ?1 = 0 OR id = ?1 ORDER BY id")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_tentacle_row_read(st, &r);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
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

int
db_tokens_each(struct db *db, void (*fn)(const struct db_token_row *, void *),
    void *arg)
{
	sqlite3_stmt		*st;
	struct db_token_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT id, created_by, created_at, "
	    "expires_at, uses_left FROM tokens ORDER BY id")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.id = sqlite3_column_int64(st, 0);
		r.created_by = col_text(st, 1);
		r.created_at = (time_t)sqlite3_column_int64(st, 2);
		r.expires_at = (time_t)sqlite3_column_int64(st, 3);
		r.uses_left = sqlite3_column_int64(st, 4);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
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
db_savepoint(struct db *db)
{
	return db_exec(db, "SAVEPOINT part");
}

void
db_savepoint_end(struct db *db, int keep)
{
	if (!keep)
		(void)db_exec(db, "ROLLBACK TO part");
	(void)db_exec(db, "RELEASE part");
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

	/* What db_jobs_queued gave: queued jobs of tentacles that are not
	 * offline, not expired (an unreachable job is retried one by one:
	 * db_jobs_waiting). One run's by its index (issue 18: not a walk
	 * of every job, nor of every tentacle). */
	if ((st = db_prepare(db, run != 0 ? "UPDATE jobs SET state = ?3, "
	    "updated_at = ?1 WHERE run_id = ?2 AND instr(?4, ',' || state || "
	    "',') > 0 AND (expires_at = 0 OR expires_at > ?1) AND (SELECT "
	    "state FROM tentacles WHERE id = jobs.tentacle_id) != 'offline' "
	    "AND " JOB_SCRIPT_READY("jobs", "(SELECT script FROM runs WHERE "
	    "id = jobs.run_id)") : "UPDATE jobs SET state = ?3, updated_at "
	    "= ?1 WHERE instr(?4, ',' || state || ',') > 0 AND (?2 = 0 OR "
	    "run_id = ?2) AND (expires_at = 0 OR expires_at > ?1) AND "
	    "tentacle_id IN (SELECT id FROM tentacles WHERE state != "
	    "'offline') AND " JOB_SCRIPT_READY("jobs", "(SELECT script FROM "
	    "runs WHERE id = jobs.run_id)"))) == NULL)
		return -1;
	job_sources(JOB_SENT, JOB_STATE_BIT(JOB_QUEUED), from);
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
	char		 msg[PROTO_MESSAGE_MAX];
	size_t		 msglen;
	sqlite3_stmt	*st;
	enum job_state	 to;
	char		 from[JOB_SOURCES_MAX];
	int64_t		 result;

	/* Exactly once: a result delivered again (its ACK was lost) is
	 * acknowledged again but not stored twice. */
	if ((st = db_cached(db, DB_ST_RESULT_INSERT, "INSERT OR IGNORE INTO "
	    "results (job_id, "
	    "outcome, exit_status, signal, started_at_ms, duration_ms, "
	    "truncated, output, received_at, sha256) VALUES (?, ?, ?, ?, ?, "
	    "?, ?, ?, ?, ?)")) == NULL)
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
	sqlite3_bind_text(st, 10, r->sha256, -1, SQLITE_STATIC);
	if (db_step_cached(db, st) == -1)
		return -1;
	*stored = sqlite3_changes(db->h) > 0;
	if (!*stored)
		return 0;	/* the first result gave the job its state */
	result = sqlite3_last_insert_rowid(db->h);
	if (db_ledger_append(db, "results", result) == -1 ||
	    db_findings_store(db, result, r->output, r->output_len) == -1)
		return -1;
	to = job_state_of_outcome(r->outcome);
	/* Refused (issue 14): the tentacle's reason is the job's message
	 * ("script on the host differs from the one ordered"). */
	msglen = 0;
	if (to == JOB_REFUSED) {
		while (msglen < r->output_len && msglen < sizeof(msg) - 1 &&
		    r->output[msglen] >= 0x20 && r->output[msglen] < 0x7f) {
			msg[msglen] = (char)r->output[msglen];
			msglen++;
		}
	}
	msg[msglen] = '\0';
	if ((st = db_cached(db, DB_ST_JOB_DONE, "UPDATE jobs SET state = ?1, "
	    "message = ?5, updated_at = ?2 WHERE id = ?3 AND instr(?4, ',' "
	    "|| state || ',') > 0")) == NULL)
		return -1;
	job_sources(to, JOB_STATES_ALL, from);
	sqlite3_bind_text(st, 5, msg, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 1, job_state_name(to), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, time(NULL));
	sqlite3_bind_int64(st, 3, job);
	sqlite3_bind_text(st, 4, from, -1, SQLITE_TRANSIENT);
	return db_step_cached(db, st);
}

#define RESULT_COLUMNS "r.id, r.outcome, r.exit_status, r.signal, " \
	"r.started_at_ms, r.duration_ms, r.truncated, r.output, r.sha256"

/* The RESULT_COLUMNS from col. */
static void
result_row(sqlite3_stmt *st, int col, struct db_result_row *r)
{
	memset(r, 0, sizeof(*r));
	r->id = sqlite3_column_int64(st, col);
	r->outcome = sqlite3_column_int(st, col + 1);
	r->exit_status = sqlite3_column_int(st, col + 2);
	r->signal = sqlite3_column_int(st, col + 3);
	r->started_at_ms = sqlite3_column_int64(st, col + 4);
	r->duration_ms = sqlite3_column_int64(st, col + 5);
	r->truncated = sqlite3_column_int(st, col + 6);
	r->output = sqlite3_column_blob(st, col + 7);
	r->output_len = (size_t)sqlite3_column_bytes(st, col + 7);
	r->sha256 = col_text(st, col + 8);
}

/* A state as the database spells it; JOB_STATE_MAX if none (the schema's
 * CHECK allows no other). */
static enum job_state
col_job_state(sqlite3_stmt *st, int i)
{
	enum job_state	s;

	return job_state_parse(col_text(st, i), &s) == 0 ? s : JOB_STATE_MAX;
}

/* The run's columns id, script, created_at, created_by from col. */
static void
run_row(sqlite3_stmt *st, int col, struct db_run_row *r)
{
	r->id = sqlite3_column_int64(st, col);
	r->script = col_text(st, col + 1);
	r->created_at = (time_t)sqlite3_column_int64(st, col + 2);
	r->created_by = col_text(st, col + 3);
}

/*
 * A run's jobs counted: all, per state (in the order of enum job_state),
 * then the scripts that ran and exited 0 (compliant) or 1 (findings). The
 * columns of run_summary_row, over jobs j LEFT JOIN results res.
 */
_Static_assert(JOB_STATE_MAX == 9, "RUN_SUMMARY_COLUMNS counts each job "
    "state, in the order of enum job_state");
#define RUN_SUMMARY_COLUMNS \
	"count(j.id), sum(j.state = 'queued'), sum(j.state = 'sent'), " \
	"sum(j.state = 'running'), sum(j.state = 'done'), " \
	"sum(j.state = 'failed'), sum(j.state = 'timeout'), " \
	"sum(j.state = 'unreachable'), sum(j.state = 'refused'), " \
	"sum(j.state = 'expired'), " \
	"sum(j.state = 'done' AND res.signal = 0 AND res.exit_status = 0), " \
	"sum(j.state = 'done' AND res.signal = 0 AND res.exit_status = 1)"

static void
run_summary_row(sqlite3_stmt *st, int col, struct db_run_summary *sum)
{
	int	i;

	sum->jobs = sqlite3_column_int64(st, col);
	for (i = 0; i < JOB_STATE_MAX; i++)
		sum->states[i] = sqlite3_column_int64(st, col + 1 + i);
	sum->compliant = sqlite3_column_int64(st, col + 1 + JOB_STATE_MAX);
	sum->findings = sqlite3_column_int64(st, col + 2 + JOB_STATE_MAX);
}

int
db_run_get(struct db *db, int64_t id,
    void (*fn)(const struct db_run_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_run_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT id, script, created_at, created_by "
	    "FROM runs WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	if ((rc = db_step_row(db, st)) == 0) {
		run_row(st, 0, &r);
		fn(&r, arg);
	}
	sqlite3_finalize(st);
	return rc;
}

int
db_run_jobs_each(struct db *db, int64_t run,
    void (*fn)(const struct db_job_row *, void *), void *arg)
{
	struct db_page	page = { 0, 0, 0 };

	return db_run_jobs_page(db, run, &page, fn, arg);
}

int
db_run_jobs_page(struct db *db, int64_t run, struct db_page *page,
    void (*fn)(const struct db_job_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_job_row	 j;
	int			 rc = SQLITE_DONE;

	/* One more row than the page: the view knows there is a next. */
	if ((st = db_prepare(db, "SELECT j.id, j.tentacle_id, j.hostname, "
	    "j.state, j.message, j.expires_at, " RESULT_COLUMNS " FROM jobs j "
	    "LEFT JOIN results r ON r.job_id = j.id WHERE j.run_id = ?1 AND "
	    "j.id > ?2 ORDER BY j.id LIMIT ?3")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, page->after);
	sqlite3_bind_int64(st, 3, page->limit ? (int64_t)page->limit + 1 :
	    -1);
	while (!page->full && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		j.id = sqlite3_column_int64(st, 0);
		j.tentacle = sqlite3_column_int64(st, 1);
		j.hostname = col_text(st, 2);
		j.state = col_job_state(st, 3);
		j.message = col_text(st, 4);
		j.expires_at = (time_t)sqlite3_column_int64(st, 5);
		j.has_result = sqlite3_column_type(st, 6) != SQLITE_NULL;
		result_row(st, 6, &j.result);
		fn(&j, arg);
	}
	return db_rows_end(db, st, page->full ? SQLITE_DONE : rc);
}

int
db_run_summary(struct db *db, int64_t run, struct db_run_summary *sum)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(sum, 0, sizeof(*sum));
	if ((st = db_prepare(db, "SELECT " RUN_SUMMARY_COLUMNS " FROM jobs j "
	    "LEFT JOIN results res ON res.job_id = j.id WHERE j.run_id = ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	if ((rc = db_step_row(db, st)) == 0)
		run_summary_row(st, 0, sum);
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}

int
db_runs_page(struct db *db, int64_t tentacle, struct db_page *page,
    void (*fn)(const struct db_runs_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_runs_row	 r;
	int			 rc = SQLITE_DONE, mine = 4 + 3 + JOB_STATE_MAX;

	/* With a tentacle, also its own job in each run: state, result ID,
	 * exit status, signal and outcome (the columns from `mine`). Newest
	 * first: a page after ID has the older runs; one more row than the
	 * page (the view knows there is a next). */
	if ((st = db_prepare(db, "SELECT r.id, r.script, r.created_at, "
	    "r.created_by, " RUN_SUMMARY_COLUMNS ", mine.state, mres.id, "
	    "mres.exit_status, mres.signal, mres.outcome FROM runs r LEFT JOIN "
	    "jobs j ON j.run_id = r.id LEFT JOIN results res ON res.job_id = "
	    "j.id LEFT JOIN jobs mine ON mine.run_id = r.id AND "
	    "mine.tentacle_id = ?1 LEFT JOIN results mres ON mres.job_id = "
	    "mine.id WHERE r.id < ?2 AND (?1 = 0 OR mine.id IS NOT NULL) "
	    "GROUP BY r.id ORDER BY r.id DESC LIMIT ?3")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tentacle);
	sqlite3_bind_int64(st, 2, page->after ? page->after : INT64_MAX);
	sqlite3_bind_int64(st, 3, page->limit ? (int64_t)page->limit + 1 :
	    -1);
	while (!page->full && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		memset(&r, 0, sizeof(r));
		run_row(st, 0, &r.run);
		run_summary_row(st, 4, &r.summary);
		r.mine = col_job_state(st, mine);
		r.mine_has_result = sqlite3_column_type(st, mine + 1) !=
		    SQLITE_NULL;
		r.mine_result.id = sqlite3_column_int64(st, mine + 1);
		r.mine_result.exit_status = sqlite3_column_int(st, mine + 2);
		r.mine_result.signal = sqlite3_column_int(st, mine + 3);
		r.mine_result.outcome = sqlite3_column_int(st, mine + 4);
		fn(&r, arg);
	}
	return db_rows_end(db, st, page->full ? SQLITE_DONE : rc);
}

/* Results with their job's run, tentacle, hostname and script. */
#define RESULT_SELECT "SELECT " RESULT_COLUMNS ", j.run_id, j.tentacle_id, " \
	"j.hostname, ru.script FROM results r JOIN jobs j ON j.id = " \
	"r.job_id JOIN runs ru ON ru.id = j.run_id "

static int
results_each(struct db *db, sqlite3_stmt *st,
    void (*fn)(const struct db_result_row *, void *), void *arg)
{
	struct db_result_row	r;
	int			rc;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		result_row(st, 0, &r);
		r.run = sqlite3_column_int64(st, 9);
		r.tentacle = sqlite3_column_int64(st, 10);
		r.hostname = col_text(st, 11);
		r.script = col_text(st, 12);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
}

int
db_result_read(struct db *db, int64_t id,
    void (*fn)(const struct db_result_row *, void *), void *arg)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, RESULT_SELECT "WHERE r.id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return results_each(db, st, fn, arg);
}

int
db_findings_each(struct db *db, int64_t result,
    void (*fn)(const struct db_finding_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_finding_row	 f;
	int			 rc;

	/* Cached: read once per result of a list. */
	if ((st = db_cached(db, DB_ST_FINDINGS_GET, "SELECT check_id, status, "
	    "text FROM findings WHERE result_id = ? ORDER BY seq")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, result);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		f.check = (const char *)sqlite3_column_text(st, 0);
		f.status = col_text(st, 1);
		f.text = col_text(st, 2);
		fn(&f, arg);
	}
	if (rc != SQLITE_DONE)
		log_warnx("database: %s", sqlite3_errmsg(db->h));
	db_release(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
db_tentacle_results_each(struct db *db, int64_t tentacle,
    void (*fn)(const struct db_result_row *, void *), void *arg)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, RESULT_SELECT "WHERE j.tentacle_id = ? "
	    "ORDER BY r.id DESC LIMIT 500")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tentacle);
	return results_each(db, st, fn, arg);
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
db_order_row(sqlite3_stmt *st, struct db_order *o)
{
	memset(o, 0, sizeof(*o));
	o->job = sqlite3_column_int64(st, 0);
	o->tentacle = sqlite3_column_int64(st, 1);
	o->run = sqlite3_column_int64(st, 8);
	o->port = sqlite3_column_int(st, 3);
	if (column_copy(st, 2, o->address, sizeof(o->address)) == -1 ||
	    column_copy(st, 4, o->fingerprint, sizeof(o->fingerprint)) == -1 ||
	    column_copy(st, 5, o->key_hex, sizeof(o->key_hex)) == -1 ||
	    column_copy(st, 6, o->script, sizeof(o->script)) == -1 ||
	    column_copy(st, 7, o->script_sha256, sizeof(o->script_sha256)) ==
	    -1)
		return -1;
	return 0;
}

/* The jobs ready to go of run (0: any) and tentacle (0: any), in the
 * states from (a list of job_sources): not waiting for a push of their
 * script (issue 14), their tentacle not offline and the job not expired
 * (an offline tentacle's jobs wait for it: db_jobs_waiting). */
static int
jobs_ready(struct db *db, int64_t run, int64_t tentacle, const char *from,
    void (*fn)(const struct db_order *, void *), void *arg)
{
	sqlite3_stmt	*st;
	struct db_order	 o;
	int		 rc;

	/* One run's or one tentacle's jobs by their index (issue 18: not
	 * a walk of every job at each run or keepalive). */
#define JOBS_READY(cond)						\
	"SELECT j.id, j.tentacle_id, t.address, t.port, t.fingerprint, "	\
	"t.key, r.script, " JOB_SCRIPT_SHA256("j", "r.script") ", j.run_id "\
	"FROM jobs "\
	"j JOIN runs r ON r.id = j.run_id JOIN tentacles t ON t.id = "	\
	"j.tentacle_id WHERE " cond " AND instr(?3, ',' || j.state || ',') "\
	"> 0 AND t.state != 'offline' AND (j.expires_at = 0 OR "		\
	"j.expires_at > ?5) AND " JOB_SCRIPT_READY("j", "r.script")	\
	" ORDER BY j.id"
	if ((st = db_prepare(db, run != 0 && tentacle == 0 ?
	    JOBS_READY("j.run_id = ?2") : run == 0 && tentacle != 0 ?
	    JOBS_READY("j.tentacle_id = ?4") : JOBS_READY("(?1 = 0 OR "
	    "j.run_id = ?2) AND (?4 = 0 OR j.tentacle_id = ?4)"))) == NULL)
		return -1;
#undef JOBS_READY
	sqlite3_bind_int64(st, 5, time(NULL));
	sqlite3_bind_int64(st, 1, run);
	sqlite3_bind_int64(st, 2, run);
	sqlite3_bind_text(st, 3, from, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, tentacle);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (db_order_row(st, &o) == 0)
			fn(&o, arg);
		crypto_wipe(o.key_hex, sizeof(o.key_hex));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
db_jobs_queued(struct db *db, int64_t run,
    void (*fn)(const struct db_order *, void *), void *arg)
{
	char	from[JOB_SOURCES_MAX];

	/* Sent (again, after a commander restart) while the tentacle has
	 * not acknowledged it: what may still become running. */
	job_sources(JOB_RUNNING, JOB_STATES_ALL, from);
	return jobs_ready(db, run, 0, from, fn, arg);
}

int
db_jobs_pushed(struct db *db, int64_t tentacle,
    void (*fn)(const struct db_order *, void *), void *arg)
{
	char	from[JOB_SOURCES_MAX];

	job_sources(JOB_RUNNING, JOB_STATE_BIT(JOB_QUEUED), from);
	return jobs_ready(db, 0, tentacle, from, fn, arg);
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
		    "tentacle_scripts (tentacle_id, name, sha256, description, "
		    "version) VALUES (?, ?, ?, ?, ?)")) == NULL)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_text(st, 2, json_string_value(json_object_get(v,
		    "name")), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, json_string_value(json_object_get(v,
		    "sha256")), -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, json_string_value(json_object_get(v,
		    "description")), -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, json_integer_value(json_object_get(v,
		    "version")));
		if (db_step_done(db, st) == -1)
			return -1;
	}
	return 0;
}

int
db_scripts_each(struct db *db, int64_t tentacle,
    void (*fn)(const struct db_script_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_script_row	 r;
	int			 rc;

	if ((st = db_prepare(db, "SELECT s.name, s.sha256, s.description, "
	    "s.tentacle_id, s.version FROM tentacle_scripts s JOIN tentacles t ON t.id = "
	    "s.tentacle_id WHERE (? = 0 OR s.tentacle_id = ?) ORDER BY s.name, "
	    "s.sha256, s.tentacle_id")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tentacle);
	sqlite3_bind_int64(st, 2, tentacle);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		r.name = col_text(st, 0);
		r.sha256 = col_text(st, 1);
		r.description = col_text(st, 2);
		r.tentacle = sqlite3_column_int64(st, 3);
		r.version = sqlite3_column_int64(st, 4);
		fn(&r, arg);
	}
	return db_rows_end(db, st, rc);
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
