/*
 * Compliance (db.h's block): the fleet's matrix as of a time, counted
 * over the whole fleet by aggregate SQL, its daily history, one host's
 * timeline of a script, and waivers. Everything is read from the stored
 * results through the verdicts table (migration 9: one row per result,
 * kept by triggers), whose index (tentacle_id, script, at) finds a cell's
 * latest result by one seek.
 */
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "buf.h"
#include "dbint.h"

/* Parameters of every query here: ?1 as_of, ?2 labels ("a,b" or ""),
 * ?3 after (tentacle ID), ?4 limit. */

/* A tentacle (column tid) has one of the labels ?2 accepted, or ?2 is
 * "". */
#define LABEL_MATCH(tid) "(?2 = '' OR EXISTS (SELECT 1 FROM " \
	"tentacle_labels tl WHERE tl.tentacle_id = " tid " AND tl.state = " \
	"'accepted' AND instr(',' || ?2 || ',', ',' || tl.label || ',') > 0))"
/* A tentacle's accepted labels, "a,b". */
#define LABELS_OF(tid) "(SELECT group_concat(label, ',') FROM (SELECT " \
	"label FROM tentacle_labels WHERE tentacle_id = " tid " AND state = " \
	"'accepted' ORDER BY label))"
/* A waiver w is for the tentacle tid (itself or one of its labels). */
#define WAIVER_HOST(tid) "(w.tentacle_id = " tid " OR w.label IN (SELECT " \
	"label FROM tentacle_labels WHERE tentacle_id = " tid " AND state = " \
	"'accepted'))"

/* The accepted tentacles enrolled by ?1 with the labels. */
#define FLEET "SELECT t.id AS id, t.hostname AS hostname, t.enrolled_at AS " \
	"enrolled_at FROM tentacles t " \
	"WHERE t.enrolment = 'accepted' AND t.enrolled_at <= ?1 AND " \
	LABEL_MATCH("t.id")
/* The same, of a page: IDs after ?3 up to ?5, walked in ID order (the
 * matrix's). */
#define FLEET_RANGE "SELECT t.id AS id, t.hostname AS hostname, " \
	"t.enrolled_at AS enrolled_at FROM tentacles t WHERE t.id > ?3 AND " \
	"t.id <= ?5 AND +t.enrolment = 'accepted' AND t.enrolled_at <= ?1 " \
	"AND " LABEL_MATCH("t.id")
/* The scripts: those of the runs up to ?1 and those the fleet has. */
#define SCRIPTS "SELECT script AS name FROM runs WHERE created_at <= ?1 " \
	"UNION SELECT name FROM tentacle_scripts"
/* A waiver w in force at a time (?1, or a column). */
#define WAIVER_LIVE_AT(at) "w.created_at <= " at " AND w.expires_at > " at \
	" AND (w.deleted_at IS NULL OR w.deleted_at > " at ")"
#define WAIVER_LIVE WAIVER_LIVE_AT("?1")

/*
 * The waiver (its ID, or NULL) that makes the result rid of script col
 * on tentacle tid waived at `at`: one for the whole script, or, for
 * findings (verdict 1), check waivers covering every FAIL line (then the
 * latest to expire of them, for its reason). The second part costs
 * nothing for the scripts without any check waiver.
 */
#define CELL_WAIVER(rid, verdict, col, tid, at) "coalesce((SELECT w.id " \
	"FROM waivers w WHERE w.script = " col " AND w.check_id IS NULL " \
	"AND " WAIVER_LIVE_AT(at) " AND " WAIVER_HOST(tid) " ORDER BY " \
	"w.expires_at DESC LIMIT 1), CASE WHEN " verdict " = 1 AND EXISTS " \
	"(SELECT 1 FROM waivers w WHERE w.script = " col " AND w.check_id " \
	"IS NOT NULL) AND NOT EXISTS (SELECT 1 FROM findings ff WHERE " \
	"ff.result_id = " rid " AND ff.status = 'FAIL' AND NOT EXISTS " \
	"(SELECT 1 FROM waivers w WHERE w.script = " col " AND w.check_id = " \
	"ff.check_id AND " WAIVER_LIVE_AT(at) " AND " WAIVER_HOST(tid) ")) " \
	"THEN (SELECT w.id FROM findings ff JOIN waivers w ON w.script = " \
	col " AND w.check_id = ff.check_id WHERE ff.result_id = " rid " AND " \
	"ff.status = 'FAIL' AND " WAIVER_LIVE_AT(at) " AND " WAIVER_HOST(tid) \
	" ORDER BY w.expires_at DESC LIMIT 1) END)"

/* Cells by script over the tentacles of CTE t: c(tid, col, rid), rid
 * the latest result as of ?1 (NULL: none); waivers looked up only for
 * the scripts that have some (s.hw, once per script). */
#define CELLS_BY_SCRIPT "s(name, hw) AS MATERIALIZED (SELECT name, EXISTS " \
	"(SELECT 1 FROM waivers w WHERE w.script = name) FROM (" SCRIPTS \
	")), c AS (SELECT t.id AS tid, s.name AS col, s.hw AS hw, (SELECT " \
	"x.result_id FROM verdicts x WHERE x.tentacle_id = t.id AND " \
	"x.script = s.name AND x.at <= ?1 ORDER BY x.at DESC, x.result_id " \
	"DESC LIMIT 1) AS rid FROM t CROSS JOIN s), cv AS MATERIALIZED " \
	"(SELECT c.tid, c.col, v.result_id AS rid, v.at, v.verdict, " \
	"v.failed, CASE WHEN v.verdict IS NOT NULL AND c.hw THEN " \
	CELL_WAIVER("v.result_id", "v.verdict", "c.col", "c.tid", "?1") \
	" END AS wid FROM c LEFT JOIN verdicts v ON v.result_id = c.rid)"

/* The same as of now (no result after ?1: db_compliance_now()), from
 * each cell's latest (verdicts_latest, migration 15): one pass over its
 * primary key, the cells without a result left out (none ones, counted
 * apart). */
#define CELLS_BY_SCRIPT_NOW "s(name, hw) AS MATERIALIZED (SELECT name, " \
	"EXISTS (SELECT 1 FROM waivers w WHERE w.script = name) FROM (" \
	SCRIPTS ")), cv AS (SELECT t.id AS tid, l.script AS col, l.result_id " \
	"AS rid, l.at AS at, l.verdict AS verdict, l.failed AS failed, CASE " \
	"WHEN s.hw THEN " CELL_WAIVER("l.result_id", "l.verdict", "l.script", \
	"t.id", "?1") " END AS wid FROM t JOIN verdicts_latest l ON " \
	"l.tentacle_id = t.id JOIN s ON s.name = l.script)"

/* Cells by check over the tentacles of CTE t: the checks of each
 * script's latest result; a check printed by several, the latest (a FAIL
 * first within one result). C_SEEK finds a cell's latest by a seek in
 * verdicts (any as_of), C_NOW reads it from verdicts_latest. */
#define C_SEEK "c AS MATERIALIZED (SELECT t.id AS tid, s.name AS script, " \
	"(SELECT x.result_id FROM verdicts x WHERE x.tentacle_id = t.id AND " \
	"x.script = s.name AND x.at <= ?1 ORDER BY x.at DESC, x.result_id " \
	"DESC LIMIT 1) AS rid FROM t CROSS JOIN s)"
#define C_NOW "c AS MATERIALIZED (SELECT t.id AS tid, l.script AS script, " \
	"l.result_id AS rid FROM t JOIN verdicts_latest l ON l.tentacle_id = " \
	"t.id JOIN s ON s.name = l.script)"
#define CELLS_BY_CHECK_OF(c) "s(name) AS (" SCRIPTS "), " c ", f AS (SELECT c.tid, c.script, f.check_id AS col, c.rid, v.at, " \
	"f.status = 'FAIL' AS failed, max(v.at * 2 + (f.status = 'FAIL')) " \
	"FROM c JOIN verdicts v ON v.result_id = c.rid JOIN findings f ON " \
	"f.result_id = c.rid WHERE f.check_id IS NOT NULL AND f.status IN " \
	"('OK', 'WARN', 'FAIL') GROUP BY c.tid, f.check_id), cv AS " \
	"MATERIALIZED (SELECT " \
	"f.tid, f.col, f.rid, f.at, f.failed AS verdict, f.failed, (SELECT " \
	"w.id FROM waivers w WHERE w.script = " \
	"f.script AND (w.check_id IS NULL OR w.check_id = f.col) AND " \
	WAIVER_LIVE " AND " WAIVER_HOST("f.tid") " ORDER BY w.check_id IS " \
	"NULL, w.expires_at DESC LIMIT 1) AS wid FROM f)"
#define CELLS_BY_CHECK		CELLS_BY_CHECK_OF(C_SEEK)
#define CELLS_BY_CHECK_NOW	CELLS_BY_CHECK_OF(C_NOW)

/* Every statement of this file but the waivers' (db_compliance_sql()
 * gives them to the unit tests, which check their query plans). */
static const char *const sql[CSQL_MAX] = {
	[CSQL_COLUMNS_SCRIPT] =
	    "SELECT name FROM (" SCRIPTS ") ORDER BY name",
	/* The checks, with their cells counted (one pass for both). */
	[CSQL_COLUMNS_CHECK] =
	    "WITH t AS (" FLEET_RANGE "), " CELLS_BY_CHECK " SELECT col, verdict, "
	    "wid, count(*) FROM cv GROUP BY col, verdict, wid IS NULL ORDER "
	    "BY col",
	[CSQL_COLUMNS_CHECK_NOW] =
	    "WITH t AS (" FLEET_RANGE "), " CELLS_BY_CHECK_NOW " SELECT col, "
	    "verdict, wid, count(*) FROM cv GROUP BY col, verdict, wid IS "
	    "NULL ORDER BY col",
	[CSQL_COUNTS_SCRIPT_NOW] =
	    "WITH t AS (" FLEET_RANGE "), " CELLS_BY_SCRIPT_NOW " SELECT verdict, "
	    "wid, count(*) FROM cv GROUP BY verdict, wid IS NULL",
	[CSQL_COUNTS_CHECK_NOW] =
	    "WITH t AS (" FLEET_RANGE "), " CELLS_BY_CHECK_NOW " SELECT verdict, "
	    "wid, count(*) FROM cv GROUP BY verdict, wid IS NULL",
	[CSQL_PAGE_SCRIPT_NOW] =
	    "WITH t AS (" FLEET_RANGE "), "
	    CELLS_BY_SCRIPT_NOW " SELECT cv.tid, cv.col, cv.rid, cv.at, "
	    "cv.verdict, cv.failed, cv.wid, w.reason FROM cv LEFT JOIN "
	    "waivers w ON w.id = cv.wid ORDER BY cv.tid, cv.col",
	[CSQL_PAGE_CHECK_NOW] =
	    "WITH t AS (" FLEET_RANGE "), "
	    CELLS_BY_CHECK_NOW " SELECT cv.tid, cv.col, cv.rid, cv.at, "
	    "cv.verdict, cv.failed, cv.wid, w.reason FROM cv LEFT JOIN "
	    "waivers w ON w.id = cv.wid ORDER BY cv.tid, cv.col",
	/* Whether a result came after ?1 (then verdicts_latest is not the
	 * matrix as of ?1). */
	[CSQL_AFTER] =
	    "SELECT EXISTS (SELECT 1 FROM verdicts WHERE at > ?1)",
	[CSQL_COUNTS_SCRIPT] =
	    "WITH t AS (" FLEET_RANGE "), " CELLS_BY_SCRIPT " SELECT verdict, wid, "
	    "count(*) FROM cv GROUP BY verdict, wid IS NULL",
	[CSQL_COUNTS_CHECK] =
	    "WITH t AS (" FLEET_RANGE "), " CELLS_BY_CHECK " SELECT verdict, wid, "
	    "count(*) FROM cv GROUP BY verdict, wid IS NULL",
	[CSQL_FLEET_COUNT] =
	    "SELECT count(*) FROM (" FLEET ")",
	[CSQL_PAGE_TENTACLES] =
	    "SELECT id, hostname, " LABELS_OF("id") " FROM (" FLEET " AND "
	    "t.id > ?3) ORDER BY id LIMIT ?4 + 1",
	/* The page's tentacles: IDs after ?3 up to ?5, the last listed. */
	[CSQL_PAGE_SCRIPT] =
	    "WITH t AS (" FLEET_RANGE "), "
	    CELLS_BY_SCRIPT " SELECT cv.tid, cv.col, cv.rid, cv.at, "
	    "cv.verdict, cv.failed, cv.wid, w.reason FROM cv LEFT JOIN "
	    "waivers w ON w.id = cv.wid WHERE cv.rid IS NOT NULL ORDER BY "
	    "cv.tid, cv.col",
	[CSQL_PAGE_CHECK] =
	    "WITH t AS (" FLEET_RANGE "), "
	    CELLS_BY_CHECK " SELECT cv.tid, cv.col, cv.rid, cv.at, "
	    "cv.verdict, cv.failed, cv.wid, w.reason FROM cv LEFT JOIN "
	    "waivers w ON w.id = cv.wid ORDER BY cv.tid, cv.col",
	/* Every cell of the fleet as of ?1 (scripts of the runs up to
	 * then, with their first run, and of the inventories), with its
	 * results up to then in order: one walk over the index. */
	[CSQL_HISTORY] =
	    "WITH t AS MATERIALIZED (SELECT id, enrolled_at, ',' || "
	    "coalesce(" LABELS_OF("id") ", '') || ',' AS labels FROM ("
	    FLEET_RANGE ")), s(name, first) AS MATERIALIZED (SELECT name, "
	    "min(first) FROM (SELECT script AS name, created_at AS first "
	    "FROM runs WHERE created_at <= ?1 UNION ALL SELECT name, NULL "
	    "FROM tentacle_scripts) GROUP BY name) SELECT t.id, "
	    "t.enrolled_at, t.labels, s.name, s.first, v.at, v.verdict, "
	    "v.result_id FROM "
	    "t CROSS JOIN s LEFT JOIN verdicts v ON v.tentacle_id = t.id AND "
	    "v.script = s.name AND v.at <= ?1 AND v.at >= coalesce((SELECT "
	    "x.at FROM verdicts x WHERE x.tentacle_id = t.id AND x.script = "
	    "s.name AND x.at < ?6 ORDER BY x.at DESC LIMIT 1), ?6) ORDER BY "
	    "t.id, s.name, v.at, v.result_id",
	/* Each result with the waivers as they stood until the next one
	 * came (the latest: now, ?4): its verdict as the matrix showed it
	 * then. */
	[CSQL_TIMELINE] =
	    "WITH p AS MATERIALIZED (SELECT v.tentacle_id, v.script, "
	    "v.result_id, v.at, v.verdict, v.failed, max(v.at, coalesce(("
	    "SELECT y.at FROM verdicts y WHERE y.tentacle_id = v.tentacle_id "
	    "AND y.script = v.script AND (y.at > v.at OR (y.at = v.at AND "
	    "y.result_id > v.result_id)) ORDER BY y.at, y.result_id LIMIT 1) "
	    "- 1, ?4)) AS until FROM verdicts v WHERE v.tentacle_id = ?1 AND "
	    "v.script = ?2 ORDER BY v.at DESC, v.result_id DESC LIMIT ?3) "
	    "SELECT p.tentacle_id, p.script, p.result_id, p.at, p.verdict, "
	    "p.failed, w.id, w.reason FROM p LEFT JOIN waivers w ON w.id = "
	    "CASE WHEN p.verdict IN (1, 2) THEN " CELL_WAIVER("p.result_id",
	    "p.verdict", "p.script", "p.tentacle_id", "p.until") " END ORDER "
	    "BY p.at DESC, p.result_id DESC",
};

const char *
db_compliance_sql(enum compliance_sql which)
{
	return which < CSQL_MAX ? sql[which] : NULL;
}

static const char *const verdict_names[CELL_MAX] = {
	[CELL_COMPLIANT] = "compliant",
	[CELL_FINDINGS] = "findings",
	[CELL_ERROR] = "error",
	[CELL_WAIVED] = "waived",
	[CELL_NONE] = "none",
};

const char *
cell_verdict_name(enum cell_verdict v)
{
	return v < CELL_MAX ? verdict_names[v] : "none";
}

double
compliance_score(const struct compliance_counts *c)
{
	int64_t	scored = c->n[CELL_COMPLIANT] + c->n[CELL_FINDINGS] +
		    c->n[CELL_ERROR];

	if (scored <= 0)
		return -1;
	/* Rounded half up, in tenths. */
	return (double)((c->n[CELL_COMPLIANT] * 2000 / scored + 1) / 2) /
	    10.0;
}

/* The verdict of a cell's columns verdict (0, 1, 2 or NULL) and wid. */
static enum cell_verdict
cell_verdict(sqlite3_stmt *st, int verdict_col, int wid_col)
{
	int	v;

	if (sqlite3_column_type(st, verdict_col) == SQLITE_NULL)
		return CELL_NONE;
	v = sqlite3_column_int(st, verdict_col);
	if (v == 0)
		return CELL_COMPLIANT;
	if (sqlite3_column_type(st, wid_col) != SQLITE_NULL)
		return CELL_WAIVED;
	return v == 1 ? CELL_FINDINGS : CELL_ERROR;
}

/* A cell from the columns tentacle, column, result, at, verdict, failed,
 * waiver, reason (the pages' and the timeline's). */
static void
cell_row(sqlite3_stmt *st, struct db_cell *c)
{
	memset(c, 0, sizeof(*c));
	c->tentacle = sqlite3_column_int64(st, 0);
	c->column = col_text(st, 1);
	c->result = sqlite3_column_int64(st, 2);
	c->at = (time_t)sqlite3_column_int64(st, 3);
	c->verdict = cell_verdict(st, 4, 6);
	c->failed = sqlite3_column_int64(st, 5);
	c->waiver = sqlite3_column_int64(st, 6);
	c->waiver_reason = col_text(st, 7);
}

/* ?1 as_of, ?2 labels, ?3 lo and ?5 hi (the tentacles' IDs in (lo, hi]),
 * ?4 limit. */
static void
bind_query(sqlite3_stmt *st, const struct compliance_query *q, int64_t lo,
    int64_t hi)
{
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->as_of);
	sqlite3_bind_text(st, 2, q->labels ? q->labels : "", -1,
	    SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, lo);
	sqlite3_bind_int64(st, 4, q->limit);
	sqlite3_bind_int64(st, 5, hi);
}

int
db_compliance_is_now(struct db *db, const struct compliance_query *q)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql[CSQL_AFTER])) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)q->as_of);
	if ((rc = db_step_row(db, st)) == 0)
		rc = sqlite3_column_int(st, 0) == 0;
	else
		rc = -1;
	sqlite3_finalize(st);
	return rc;
}

/* One of the statements by the kind of cells and whether as of now. */
static const char *
pick(const struct compliance_query *q, enum compliance_sql script_seek,
    enum compliance_sql script_now, enum compliance_sql check_seek,
    enum compliance_sql check_now)
{
	if (q->by_check)
		return sql[q->latest ? check_now : check_seek];
	return sql[q->latest ? script_now : script_seek];
}

int
db_compliance_fleet_count(struct db *db, const struct compliance_query *q,
    int64_t *n)
{
	sqlite3_stmt	*st;
	int		 rc;

	*n = 0;
	if ((st = db_prepare(db, sql[CSQL_FLEET_COUNT])) == NULL)
		return -1;
	bind_query(st, q, 0, INT64_MAX);
	if ((rc = db_step_row(db, st)) == 0)
		*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
db_compliance_fleet_next(struct db *db, const struct compliance_query *q,
    int64_t after, unsigned n, int64_t *last)
{
	sqlite3_stmt	*st;
	int		 rc;

	*last = 0;
	if ((st = db_prepare(db, "SELECT max(id) FROM (SELECT id FROM ("
	    FLEET " AND t.id > ?3) ORDER BY id LIMIT ?4)")) == NULL)
		return -1;
	bind_query(st, q, after, INT64_MAX);
	sqlite3_bind_int64(st, 4, n);
	if ((rc = db_step_row(db, st)) == 0)
		*last = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
db_compliance_check_columns(struct db *db, const struct compliance_query *q,
    int64_t lo, int64_t hi,
    void (*fn)(const char *, enum cell_verdict, int64_t, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql[q->latest ? CSQL_COLUMNS_CHECK_NOW :
	    CSQL_COLUMNS_CHECK])) == NULL)
		return -1;
	bind_query(st, q, lo, hi);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(col_text(st, 0), cell_verdict(st, 1, 2),
		    sqlite3_column_int64(st, 3), arg);
	return db_rows_end(db, st, rc);
}

int
db_compliance_script_columns(struct db *db, const struct compliance_query *q,
    void (*fn)(const char *, void *), void *arg)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, sql[CSQL_COLUMNS_SCRIPT])) == NULL)
		return -1;
	bind_query(st, q, 0, INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		fn(col_text(st, 0), arg);
	return db_rows_end(db, st, rc);
}

int
db_compliance_counts_range(struct db *db, const struct compliance_query *q,
    int64_t lo, int64_t hi, struct compliance_counts *out, int64_t *seen)
{
	sqlite3_stmt	*st;
	int64_t		 n;
	int		 rc;

	if ((st = db_prepare(db, pick(q, CSQL_COUNTS_SCRIPT,
	    CSQL_COUNTS_SCRIPT_NOW, CSQL_COUNTS_CHECK,
	    CSQL_COUNTS_CHECK_NOW))) == NULL)
		return -1;
	bind_query(st, q, lo, hi);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* (The seek's cells by script have the none ones too: left
		 * to the caller's hosts x columns - seen.) */
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			continue;
		n = sqlite3_column_int64(st, 2);
		out->n[cell_verdict(st, 0, 1)] += n;
		*seen += n;
	}
	return db_rows_end(db, st, rc);
}

int
db_compliance_tentacles(struct db *db, const struct compliance_query *q,
    void (*tfn)(const struct db_compliance_tentacle *, void *), void *arg,
    int *more)
{
	struct db_compliance_tentacle	 t;
	sqlite3_stmt			*st;
	unsigned			 n = 0;
	int				 rc;

	*more = 0;
	if ((st = db_prepare(db, sql[CSQL_PAGE_TENTACLES])) == NULL)
		return -1;
	bind_query(st, q, q->after, INT64_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n++ == q->limit) {
			*more = 1;
			continue;
		}
		t.id = sqlite3_column_int64(st, 0);
		t.hostname = col_text(st, 1);
		t.labels = col_text(st, 2);
		tfn(&t, arg);
	}
	return db_rows_end(db, st, rc);
}

int
db_compliance_cells(struct db *db, const struct compliance_query *q,
    int64_t lo, int64_t hi, void (*cfn)(const struct db_cell *, void *),
    void *arg)
{
	struct db_cell	 c;
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, pick(q, CSQL_PAGE_SCRIPT, CSQL_PAGE_SCRIPT_NOW,
	    CSQL_PAGE_CHECK, CSQL_PAGE_CHECK_NOW))) == NULL)
		return -1;
	bind_query(st, q, lo, hi);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cell_row(st, &c);
		cfn(&c, arg);
	}
	return db_rows_end(db, st, rc);
}

/* ---- the same in one call each (the whole fleet; the unit tests) ---- */

struct check_cols {
	void			(*fn)(const char *, void *);
	void			 *arg;
	struct compliance_counts  c;
	int64_t			  seen;
	size_t			  n;
	char			  last[FINDING_CHECK_MAX + 1];
};

static void
check_col(const char *col, enum cell_verdict v, int64_t n, void *arg)
{
	struct check_cols	*cc = arg;

	if (cc->n == 0 || strcmp(col, cc->last) != 0) {
		cc->fn(col, cc->arg);
		strlcpy(cc->last, col, sizeof(cc->last));
		cc->n++;
	}
	cc->c.n[v] += n;
	cc->seen += n;
}

/* The none cells: the fleet's cells (hosts x columns) not seen. */
static int
add_none(struct db *db, const struct compliance_query *q, size_t ncolumns,
    int64_t seen, struct compliance_counts *out)
{
	int64_t	hosts;

	if (db_compliance_fleet_count(db, q, &hosts) == -1)
		return -1;
	if (hosts * (int64_t)ncolumns > seen)
		out->n[CELL_NONE] += hosts * (int64_t)ncolumns - seen;
	return 0;
}

int
db_compliance_columns(struct db *db, const struct compliance_query *q0,
    void (*fn)(const char *, void *), void *arg,
    struct compliance_counts *counts)
{
	struct compliance_query	q = *q0;
	struct check_cols	cc;
	int			now;

	if (!q.by_check)
		return db_compliance_script_columns(db, &q, fn, arg);
	if ((now = db_compliance_is_now(db, &q)) == -1)
		return -1;
	q.latest = now;
	memset(&cc, 0, sizeof(cc));
	cc.fn = fn;
	cc.arg = arg;
	if (db_compliance_check_columns(db, &q, 0, INT64_MAX, check_col, &cc) ==
	    -1)
		return -1;
	if (counts == NULL)
		return 0;
	if (add_none(db, &q, cc.n, cc.seen, &cc.c) == -1)
		return -1;
	*counts = cc.c;
	return 0;
}

int
db_compliance_counts(struct db *db, const struct compliance_query *q0,
    size_t ncolumns, struct compliance_counts *out)
{
	struct compliance_query	q = *q0;
	int64_t			seen = 0;
	int			now;

	memset(out, 0, sizeof(*out));
	if ((now = db_compliance_is_now(db, &q)) == -1)
		return -1;
	q.latest = now;
	if (db_compliance_counts_range(db, &q, 0, INT64_MAX, out, &seen) == -1)
		return -1;
	return add_none(db, &q, ncolumns, seen, out);
}

struct page_last {
	void	(*tfn)(const struct db_compliance_tentacle *, void *);
	void	 *arg;
	int64_t	  last;
};

static void
page_last(const struct db_compliance_tentacle *t, void *arg)
{
	struct page_last	*pl = arg;

	pl->last = t->id;
	pl->tfn(t, pl->arg);
}

int
db_compliance_page(struct db *db, const struct compliance_query *q0,
    void (*tfn)(const struct db_compliance_tentacle *, void *),
    void (*cfn)(const struct db_cell *, void *), void *arg, int *more)
{
	struct compliance_query	q = *q0;
	struct page_last	pl = { tfn, arg, 0 };
	int			now;

	if (db_compliance_tentacles(db, &q, page_last, &pl, more) == -1)
		return -1;
	if (pl.last == 0)
		return 0;
	if ((now = db_compliance_is_now(db, &q)) == -1)
		return -1;
	q.latest = now;
	/* The page's tentacles: IDs after `after` up to the last one. */
	return db_compliance_cells(db, &q, q.after, pl.last, cfn, arg);
}

/* ---- history ----------------------------------------------------------
 * One walk over every cell's results up to now (CSQL_HISTORY), counting
 * each day's verdict at its end: the same as the matrix as of that time,
 * waivers included (a script's, or check waivers covering every FAIL of
 * the result, whose FAIL lines are then read, only for such cells).
 */

struct hist_waiver {
	int64_t	 tentacle;	/* 0: label */
	char	 label[PROTO_LABEL_MAX + 3];	/* ",web,"; "" */
	char	 script[PROTO_SCRIPT_NAME_MAX];
	char	 check[FINDING_CHECK_MAX + 1];	/* "": the script */
	time_t	 from, until;	/* in force in [from, until) */
};

struct hist {
	struct db		*db;
	time_t			 start;		/* the first day's midnight */
	time_t			 now;
	unsigned		 days;
	struct compliance_counts *counts;
	struct hist_waiver	*w;
	size_t			 nw;
	/* The cell being walked. */
	int64_t			 tentacle;
	time_t			 enrolled_at;
	char			*labels;	/* ",a,b," */
	char			*script;
	unsigned		 day;		/* first day not counted yet */
	int			 verdict;	/* -1: none yet */
	int64_t			 result;
	/* The FAIL CHECK-IDs of `fails_of`, read when a check waiver may
	 * cover them: "\0a\0b\0" (each between NULs). */
	int64_t			 fails_of;
	struct buf		 fails;
	sqlite3_stmt		*fails_st;
};

/* The end of day d of the window (the last one ends now). */
static time_t
hist_day_end(const struct hist *h, unsigned d)
{
	return d + 1 == h->days ? h->now : h->start + (time_t)(d + 1) * 86400 -
	    1;
}

/* Whether waiver w is for the cell's tentacle and script, at `at`. */
static int
hist_applies(const struct hist *h, const struct hist_waiver *w, time_t at)
{
	return at >= w->from && at < w->until &&
	    strcmp(w->script, h->script) == 0 && (w->tentacle == h->tentacle ||
	    (w->label[0] != '\0' && strstr(h->labels, w->label) != NULL));
}

/* Read the current result's FAIL lines (once per result). */
static int
hist_read_fails(struct hist *h)
{
	const char	*c;
	int		 rc;

	if (h->fails_of == h->result)
		return 0;
	buf_reset(&h->fails);
	if (h->fails_st == NULL && (h->fails_st = db_prepare(h->db,
	    "SELECT check_id FROM findings WHERE result_id = ? AND status = "
	    "'FAIL'")) == NULL)
		return -1;
	sqlite3_bind_int64(h->fails_st, 1, h->result);
	if (buf_append(&h->fails, "", 1) == -1)
		return -1;
	while ((rc = sqlite3_step(h->fails_st)) == SQLITE_ROW) {
		c = col_text(h->fails_st, 0);
		if (buf_append(&h->fails, c, strlen(c) + 1) == -1)
			break;
	}
	sqlite3_reset(h->fails_st);
	if (rc != SQLITE_DONE)
		return -1;
	h->fails_of = h->result;
	return 0;
}

/* Whether the cell's findings are waived at `at`. */
static int
hist_waived(struct hist *h, time_t at)
{
	const char	*p, *end;
	size_t		 i;
	int		 checks = 0, covered;

	for (i = 0; i < h->nw; i++) {
		if (!hist_applies(h, &h->w[i], at))
			continue;
		if (h->w[i].check[0] == '\0')
			return 1;
		checks = 1;
	}
	/* Check waivers: each FAIL line covered by one. */
	if (!checks || h->verdict != 1 || hist_read_fails(h) == -1 ||
	    h->fails.len <= 1)
		return 0;
	end = (const char *)h->fails.data + h->fails.len;
	for (p = (const char *)h->fails.data + 1; p < end; p += strlen(p) + 1) {
		covered = 0;
		for (i = 0; i < h->nw && !covered; i++)
			covered = strcmp(h->w[i].check, p) == 0 &&
			    hist_applies(h, &h->w[i], at);
		if (!covered)
			return 0;
	}
	return 1;
}

/* Count the current cell's verdict for the days before `until`. */
static void
hist_fill(struct hist *h, unsigned until)
{
	enum cell_verdict	v;
	time_t			end;

	for (; h->day < until && h->day < h->days; h->day++) {
		end = hist_day_end(h, h->day);
		if (h->enrolled_at > end)
			continue;
		if (h->verdict < 0)
			v = CELL_NONE;
		else if (h->verdict == 0)
			v = CELL_COMPLIANT;
		else if (hist_waived(h, end))
			v = CELL_WAIVED;
		else
			v = h->verdict == 1 ? CELL_FINDINGS : CELL_ERROR;
		h->counts[h->day].n[v]++;
	}
}

/* The day of the window a result received at `at` first counts on. */
static unsigned
hist_day_of(const struct hist *h, time_t at)
{
	if (at < h->start)
		return 0;
	return (unsigned)((at - h->start) / 86400);
}

static int
hist_load_waivers(struct db *db, struct hist *h)
{
	sqlite3_stmt		*st;
	struct hist_waiver	*nw;
	int			 rc;

	if ((st = db_prepare(db, "SELECT tentacle_id, label, script, "
	    "check_id, created_at, min(expires_at, coalesce(deleted_at, "
	    "expires_at)) FROM waivers")) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if ((nw = reallocarray(h->w, h->nw + 1, sizeof(*h->w))) == NULL)
			break;
		h->w = nw;
		nw = &h->w[h->nw++];
		nw->tentacle = sqlite3_column_int64(st, 0);
		nw->label[0] = '\0';
		if (sqlite3_column_type(st, 1) != SQLITE_NULL)
			snprintf(nw->label, sizeof(nw->label), ",%s,",
			    col_text(st, 1));
		strlcpy(nw->script, col_text(st, 2), sizeof(nw->script));
		strlcpy(nw->check, col_text(st, 3), sizeof(nw->check));
		nw->from = (time_t)sqlite3_column_int64(st, 4);
		nw->until = (time_t)sqlite3_column_int64(st, 5);
	}
	return db_rows_end(db, st, rc == SQLITE_ROW ? SQLITE_NOMEM : rc);
}

int
db_compliance_history(struct db *db, time_t now, unsigned days,
    const char *labels, struct compliance_counts *counts)
{
	memset(counts, 0, sizeof(*counts) * days);
	return db_compliance_history_range(db, now, days, labels, 0,
	    INT64_MAX, counts);
}

int
db_compliance_history_range(struct db *db, time_t now, unsigned days,
    const char *labels, int64_t lo, int64_t hi,
    struct compliance_counts *counts)
{
	struct hist	 h;
	sqlite3_stmt	*st;
	const char	*script;
	int64_t		 tentacle;
	int		 rc, ret = -1;

	memset(&h, 0, sizeof(h));
	if (days == 0)
		return 0;
	h.db = db;
	h.now = now;
	h.days = days;
	h.counts = counts;
	h.fails_of = -1;
	buf_init(&h.fails, 16 * 1024 * 1024);
	h.start = now - now % 86400 - (time_t)(days - 1) * 86400;
	if (hist_load_waivers(db, &h) == -1)
		goto out;
	/* A cell's script that was first run on a later day was no column
	 * before: its none days are left out. */
	if ((st = db_prepare(db, sql[CSQL_HISTORY])) == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_text(st, 2, labels ? labels : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, lo);
	sqlite3_bind_int64(st, 5, hi);
	/* Each cell's results of the window and its latest before. */
	sqlite3_bind_int64(st, 6, (sqlite3_int64)h.start);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		tentacle = sqlite3_column_int64(st, 0);
		script = col_text(st, 3);
		if (h.script == NULL || tentacle != h.tentacle ||
		    strcmp(script, h.script) != 0) {
			if (h.script != NULL)
				hist_fill(&h, days);
			free(h.script);
			free(h.labels);
			h.tentacle = tentacle;
			h.enrolled_at = (time_t)sqlite3_column_int64(st, 1);
			h.labels = strdup(col_text(st, 2));
			h.script = strdup(script);
			if (h.labels == NULL || h.script == NULL) {
				rc = SQLITE_NOMEM;
				break;
			}
			h.verdict = -1;
			/* Before the script's first run: no column. */
			h.day = sqlite3_column_type(st, 4) == SQLITE_NULL ? 0 :
			    hist_day_of(&h, (time_t)sqlite3_column_int64(st,
			    4));
		}
		if (sqlite3_column_type(st, 5) == SQLITE_NULL)
			continue;
		hist_fill(&h, hist_day_of(&h, (time_t)sqlite3_column_int64(st,
		    5)));
		h.verdict = sqlite3_column_int(st, 6);
		h.result = sqlite3_column_int64(st, 7);
	}
	if (rc == SQLITE_DONE && h.script != NULL)
		hist_fill(&h, days);
	ret = db_rows_end(db, st, rc);
out:
	free(h.script);
	free(h.labels);
	free(h.w);
	buf_free(&h.fails);
	sqlite3_finalize(h.fails_st);
	return ret;
}

/* ---- one host's timeline ---------------------------------------------- */

int
db_compliance_timeline(struct db *db, int64_t tentacle, const char *script,
    unsigned limit, time_t now, void (*fn)(const struct db_cell *, void *),
    void *arg)
{
	struct db_cell	 c;
	sqlite3_stmt	*st;
	int		 rc;

	/* The waiver in force when each result came (?1 is its time). */
	if ((st = db_prepare(db, sql[CSQL_TIMELINE])) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, tentacle);
	sqlite3_bind_text(st, 2, script, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, limit);
	sqlite3_bind_int64(st, 4, (sqlite3_int64)now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		cell_row(st, &c);
		fn(&c, arg);
	}
	return db_rows_end(db, st, rc);
}

/* ---- waivers ---------------------------------------------------------- */

int
db_waiver_add(struct db *db, const struct db_waiver *w, int64_t *id)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "INSERT INTO waivers (tentacle_id, label, "
	    "script, check_id, reason, created_by, created_at, expires_at) "
	    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) == NULL)
		return -1;
	if (w->tentacle)
		sqlite3_bind_int64(st, 1, w->tentacle);
	else
		sqlite3_bind_text(st, 2, w->label, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, w->script, -1, SQLITE_STATIC);
	if (w->check[0] != '\0')
		sqlite3_bind_text(st, 4, w->check, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, w->reason, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, w->created_by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, (sqlite3_int64)w->created_at);
	sqlite3_bind_int64(st, 8, (sqlite3_int64)w->expires_at);
	if (db_step_done(db, st) == -1)
		return -1;
	*id = sqlite3_last_insert_rowid(db_handle(db));
	return 0;
}

int
db_waivers_each(struct db *db, void (*fn)(const struct db_waiver *, void *),
    void *arg)
{
	struct db_waiver	 w;
	sqlite3_stmt		*st;
	int			 rc;

	if ((st = db_prepare(db, "SELECT w.id, coalesce(w.tentacle_id, 0), "
	    "coalesce(w.label, ''), coalesce(t.hostname, ''), w.script, "
	    "coalesce(w.check_id, ''), w.reason, w.created_by, w.created_at, "
	    "w.expires_at FROM waivers w LEFT JOIN tentacles t ON t.id = "
	    "w.tentacle_id WHERE w.deleted_at IS NULL ORDER BY w.id DESC")) ==
	    NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		w.id = sqlite3_column_int64(st, 0);
		w.tentacle = sqlite3_column_int64(st, 1);
		w.label = col_text(st, 2);
		w.hostname = col_text(st, 3);
		w.script = col_text(st, 4);
		w.check = col_text(st, 5);
		w.reason = col_text(st, 6);
		w.created_by = col_text(st, 7);
		w.created_at = (time_t)sqlite3_column_int64(st, 8);
		w.expires_at = (time_t)sqlite3_column_int64(st, 9);
		fn(&w, arg);
	}
	return db_rows_end(db, st, rc);
}

int
db_waiver_delete(struct db *db, int64_t id, const char *by, time_t now)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "UPDATE waivers SET deleted_at = ?, "
	    "deleted_by = ? WHERE id = ? AND deleted_at IS NULL")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)now);
	sqlite3_bind_text(st, 2, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, id);
	return db_step_changed(db, st);
}

int
db_tentacle_accepted(struct db *db, int64_t id)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT 1 FROM tentacles WHERE id = ? AND "
	    "enrolment = 'accepted'")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	rc = db_step_row(db, st);
	sqlite3_finalize(st);
	return rc;
}
