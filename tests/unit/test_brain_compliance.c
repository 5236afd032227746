/* Compliance (issue 16): the pure parts (verdicts, the score, RFC 3339
 * times, label lists, waiver bodies and expiries) and, on a real SQLite
 * file, the matrix, its history and waivers, and the query plans of
 * db_compliance.c's statements: each cell is a search of an index, never
 * a scan of the results. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "apibody.h"
#include "db.h"

#define S(x)	x, sizeof(x) - 1

#include "tmpdb.h"

static void
test_verdicts_and_score(void **state)
{
	struct compliance_counts	c;

	assert_string_equal(cell_verdict_name(CELL_WAIVED), "waived");
	assert_string_equal(cell_verdict_name(CELL_NONE), "none");
	assert_string_equal(cell_verdict_name(CELL_MAX), "none");

	memset(&c, 0, sizeof(c));
	assert_true(compliance_score(&c) < 0);		/* nothing scored */
	c.n[CELL_WAIVED] = 5;
	c.n[CELL_NONE] = 7;
	assert_true(compliance_score(&c) < 0);		/* apart */
	c.n[CELL_COMPLIANT] = 2;
	c.n[CELL_FINDINGS] = 2;
	c.n[CELL_ERROR] = 1;
	assert_true(compliance_score(&c) == 40.0);
	c.n[CELL_COMPLIANT] = 2;
	c.n[CELL_FINDINGS] = 1;
	c.n[CELL_ERROR] = 0;
	assert_true(compliance_score(&c) == 66.7);	/* rounded half up */
	c.n[CELL_COMPLIANT] = 1;
	c.n[CELL_FINDINGS] = 2;
	assert_true(compliance_score(&c) == 33.3);
	c.n[CELL_FINDINGS] = 0;
	assert_true(compliance_score(&c) == 100.0);
	c.n[CELL_COMPLIANT] = 0;
	c.n[CELL_ERROR] = 3;
	assert_true(compliance_score(&c) == 0.0);
	/* 1 of 8: 12.5 exactly, half up. */
	c.n[CELL_COMPLIANT] = 1;
	c.n[CELL_ERROR] = 7;
	assert_true(compliance_score(&c) == 12.5);
	c.n[CELL_COMPLIANT] = 1;
	c.n[CELL_ERROR] = 1999;		/* 0.05 -> 0.1 */
	assert_true(compliance_score(&c) == 0.1);
}

static void
test_times(void **state)
{
	int64_t	t;

	assert_int_equal(apibody_time("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	assert_int_equal(apibody_time("2026-12-04T01:09:34Z", &t), 0);
	assert_int_equal(t, 1796346574);
	assert_int_equal(apibody_time("2026-12-04t01:09:34z", &t), 0);
	assert_int_equal(t, 1796346574);
	assert_int_equal(apibody_time("2026-12-04T02:09:34+01:00", &t), 0);
	assert_int_equal(t, 1796346574);
	assert_int_equal(apibody_time("2026-12-03T20:39:34-04:30", &t), 0);
	assert_int_equal(t, 1796346574);
	assert_int_equal(apibody_time("2026-12-04T01:09:34.999Z", &t), 0);
	assert_int_equal(t, 1796346574);
	assert_int_equal(apibody_time("2024-02-29T00:00:00Z", &t), 0);
	assert_int_equal(apibody_time("2000-02-29T00:00:00Z", &t), 0);
	assert_int_equal(apibody_time("2016-12-31T23:59:60Z", &t), 0);
	/* Refused. */
	assert_int_equal(apibody_time("2023-02-29T00:00:00Z", &t), -1);
	assert_int_equal(apibody_time("1900-02-29T00:00:00Z", &t), -1);
	assert_int_equal(apibody_time("2026-13-01T00:00:00Z", &t), -1);
	assert_int_equal(apibody_time("2026-00-01T00:00:00Z", &t), -1);
	assert_int_equal(apibody_time("2026-04-31T00:00:00Z", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T24:00:00Z", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T01:60:00Z", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T01:09:34", &t), -1);
	assert_int_equal(apibody_time("2026-12-04 01:09:34Z", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T01:09:34.Z", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T01:09:34Zx", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T01:09:34+0100", &t), -1);
	assert_int_equal(apibody_time("2026-12-04T01:09:34+24:00", &t), -1);
	assert_int_equal(apibody_time("2026-12-04", &t), -1);
	assert_int_equal(apibody_time("+026-12-04T01:09:34Z", &t), -1);
	assert_int_equal(apibody_time("1969-12-31T23:59:59Z", &t), -1);
	assert_int_equal(apibody_time("1970-01-01T00:00:00+01:00", &t), -1);
	assert_int_equal(apibody_time("", &t), -1);
}

static void
test_labels(void **state)
{
	char	many[40 * 3];
	int	i;

	assert_true(apibody_labels_valid(""));
	assert_true(apibody_labels_valid("web"));
	assert_true(apibody_labels_valid("web,db,eu-1,a.b_c"));
	assert_false(apibody_labels_valid("Web"));
	assert_false(apibody_labels_valid("web, db"));
	assert_false(apibody_labels_valid("web,,db"));
	assert_false(apibody_labels_valid(",web"));
	assert_false(apibody_labels_valid("web,"));
	assert_false(apibody_labels_valid("x/y"));
	assert_false(apibody_labels_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));	/* 33 */
	assert_true(apibody_labels_valid(
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));	/* 32 */
	many[0] = '\0';
	for (i = 0; i < 33; i++)
		strcat(many, i ? ",a" : "a");
	assert_false(apibody_labels_valid(many));	/* 33 labels */
	many[strlen(many) - 2] = '\0';
	assert_true(apibody_labels_valid(many));
}

static void
test_waiver_bodies(void **state)
{
	struct waiver_body	 wb;
	const char		*why;
	char			 big[700];

	assert_int_equal(apibody_waiver(S("{\"tentacle\": 3, \"script\": "
	    "\"audit\", \"reason\": \"legacy\", \"expires_at\": "
	    "\"2027-01-01T00:00:00Z\"}"), &wb, &why), 0);
	assert_int_equal(wb.tentacle, 3);
	assert_string_equal(wb.label, "");
	assert_string_equal(wb.script, "audit");
	assert_string_equal(wb.check, "");
	assert_string_equal(wb.reason, "legacy");
	assert_int_equal(wb.expires_at, 1798761600);
	assert_int_equal(apibody_waiver(S("{\"label\": \"web\", \"script\": "
	    "\"audit\", \"check\": \"ssh.PermitRootLogin\", \"reason\": "
	    "\"caf\\u00e9\", \"expires_at\": \"2027-01-01T00:00:00Z\"}"), &wb,
	    &why), 0);
	assert_int_equal(wb.tentacle, 0);
	assert_string_equal(wb.label, "web");
	assert_string_equal(wb.check, "ssh.PermitRootLogin");
	assert_string_equal(wb.reason, "caf\xc3\xa9");

#define BAD(body, word) do {						\
	why = NULL;							\
	assert_int_equal(apibody_waiver(S(body), &wb, &why), -1);	\
	assert_non_null(why);						\
	assert_non_null(strstr(why, word));				\
} while (0)
	BAD("", "JSON object");
	BAD("[]", "JSON object");
	BAD("{\"script\": \"a\", \"reason\": \"r\", \"expires_at\": "
	    "\"2027-01-01T00:00:00Z\"}", "exactly one");
	BAD("{\"tentacle\": 1, \"label\": \"web\", \"script\": \"a\", "
	    "\"reason\": \"r\", \"expires_at\": \"2027-01-01T00:00:00Z\"}",
	    "exactly one");
	BAD("{\"tentacle\": -1, \"script\": \"a\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "tentacle");
	BAD("{\"tentacle\": 1.5, \"script\": \"a\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "tentacle");
	BAD("{\"tentacle\": 9007199254740993, \"script\": \"a\", \"reason\": "
	    "\"r\", \"expires_at\": \"2027-01-01T00:00:00Z\"}", "tentacle");
	BAD("{\"label\": \"\", \"script\": \"a\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "label");
	BAD("{\"label\": null, \"script\": \"a\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "label");
	BAD("{\"tentacle\": 1, \"script\": \".hidden\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "script");
	/* (jansson refuses a NUL in a string: the body is no object) */
	BAD("{\"tentacle\": 1, \"script\": \"a\\u0000b\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "JSON");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"check\": \"1abc\", "
	    "\"reason\": \"r\", \"expires_at\": \"2027-01-01T00:00:00Z\"}",
	    "check");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"check\": \"\", "
	    "\"reason\": \"r\", \"expires_at\": \"2027-01-01T00:00:00Z\"}",
	    "check");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"reason\": \"\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "reason");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"reason\": \"a\\tb\\u001b\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "reason");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"reason\": 1, "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\"}", "reason");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"reason\": \"r\"}",
	    "expires_at");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01\"}", "expires_at");
	BAD("{\"tentacle\": 1, \"script\": \"a\", \"reason\": \"r\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\", \"by\": \"me\"}",
	    "only");
	BAD("{\"tentacle\": 1, \"tentacle\": 2, \"script\": \"a\", "
	    "\"reason\": \"r\", \"expires_at\": \"2027-01-01T00:00:00Z\"}",
	    "JSON object");
#undef BAD
	/* A reason of 501 bytes. */
	snprintf(big, sizeof(big), "{\"tentacle\": 1, \"script\": \"a\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\", \"reason\": \"%0501d\"}",
	    0);
	assert_int_equal(apibody_waiver(big, strlen(big), &wb, &why), -1);
	assert_non_null(strstr(why, "500"));
	snprintf(big, sizeof(big), "{\"tentacle\": 1, \"script\": \"a\", "
	    "\"expires_at\": \"2027-01-01T00:00:00Z\", \"reason\": \"%0500d\"}",
	    0);
	assert_int_equal(apibody_waiver(big, strlen(big), &wb, &why), 0);
	assert_int_equal(strlen(wb.reason), 500);

	/* Expiries: in the future, at most a year (leap or not) ahead. */
	assert_int_equal(apibody_waiver_expiry(1001, 1000, &why), 0);
	assert_int_equal(apibody_waiver_expiry(1000 + 366 * 86400, 1000, &why),
	    0);
	assert_int_equal(apibody_waiver_expiry(1000, 1000, &why), -1);
	assert_non_null(strstr(why, "future"));
	assert_int_equal(apibody_waiver_expiry(5, 1000, &why), -1);
	assert_int_equal(apibody_waiver_expiry(1001 + 366 * 86400, 1000, &why),
	    -1);
	assert_non_null(strstr(why, "year"));
}

/* ---- on a database -------------------------------------------------- */

static sqlite3 *
raw_open(void)
{
	sqlite3	*h;

	assert_int_equal(sqlite3_open(path, &h), SQLITE_OK);
	return h;
}

static void
raw_exec(sqlite3 *h, const char *sql)
{
	char	*msg = NULL;

	if (sqlite3_exec(h, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
}

/* Tentacles 1..3 (3 labelled web); runs of "a" and "b" at times 1000
 * and 2000 (b only at 2000); results: t1 a: findings at 1100, then
 * compliant at 2100; t1 b: error; t2 a: findings at 1100 with two FAIL
 * lines; t3: nothing. */
static void
fleet(void)
{
	sqlite3	*h = raw_open();

	raw_exec(h,
	    "INSERT INTO tentacles (id, hostname, address, port, key, "
	    "fingerprint, enrolment, enrolled_at) VALUES "
	    "(1, 'one.example.org', '192.0.2.1', 7001, 'k', 'f', 'accepted', "
	    "10), (2, 'two.example.org', '192.0.2.2', 7001, 'k', 'f', "
	    "'accepted', 10), (3, 'three.example.org', '192.0.2.3', 7001, 'k', "
	    "'f', 'accepted', 10), (4, 'pending.example.org', '192.0.2.4', "
	    "7001, 'k', 'f', 'pending', 10);"
	    "INSERT INTO tentacle_labels VALUES (3, 'web', 'accepted'), "
	    "(2, 'db', 'proposed');"
	    "INSERT INTO runs (id, script, created_at, created_by) VALUES "
	    "(1, 'a', 1000, 'admin'), (2, 'a', 2000, 'admin'), "
	    "(3, 'b', 2000, 'admin');"
	    "INSERT INTO jobs (id, run_id, tentacle_id, hostname, state, "
	    "updated_at) VALUES (1, 1, 1, 'one', 'done', 0), (2, 1, 2, 'two', "
	    "'done', 0), (3, 2, 1, 'one', 'done', 0), (4, 3, 1, 'one', 'done', "
	    "0), (5, 1, 3, 'three', 'unreachable', 0);"
	    "INSERT INTO results (id, job_id, outcome, exit_status, signal, "
	    "started_at_ms, duration_ms, truncated, output, received_at) "
	    "VALUES (1, 1, 1, 1, 0, 0, 1, 0, x'', 1100), "
	    "(2, 2, 1, 1, 0, 0, 1, 0, x'', 1100), "
	    "(3, 3, 1, 0, 0, 0, 1, 0, x'', 2100), "
	    "(4, 4, 1, 2, 0, 0, 1, 0, x'', 2100);"
	    "INSERT INTO findings (result_id, seq, check_id, status, text) "
	    "VALUES (1, 0, 'x.one', 'FAIL', 't'), (1, 1, 'x.two', 'OK', 't'), "
	    "(2, 0, 'x.one', 'FAIL', 't'), (2, 1, 'x.two', 'FAIL', 't'), "
	    "(2, 2, NULL, 'INFO', 't'), (3, 0, 'x.one', 'OK', 't'), "
	    "(3, 1, 'x.two', 'WARN', 't');");
	sqlite3_close(h);
}

struct page {
	int64_t			tentacles[8];
	int			ntentacles;
	struct db_cell		cells[32];
	char			cols[32][16];
	char			reasons[32][64];
	int			ncells;
};

static void
page_tentacle(const struct db_compliance_tentacle *t, void *arg)
{
	struct page	*p = arg;

	p->tentacles[p->ntentacles++] = t->id;
	if (t->id == 3)
		assert_string_equal(t->labels, "web");
	else
		assert_string_equal(t->labels, "");	/* db: proposed */
}

static void
page_cell(const struct db_cell *c, void *arg)
{
	struct page	*p = arg;

	p->cells[p->ncells] = *c;
	strcpy(p->cols[p->ncells], c->column);
	strcpy(p->reasons[p->ncells], c->waiver_reason);
	p->cells[p->ncells].column = p->cols[p->ncells];
	p->cells[p->ncells].waiver_reason = p->reasons[p->ncells];
	p->ncells++;
}

static const struct db_cell *
cell(struct page *p, int64_t t, const char *col)
{
	int	i;

	for (i = 0; i < p->ncells; i++)
		if (p->cells[i].tentacle == t && strcmp(p->cols[i], col) == 0)
			return &p->cells[i];
	return NULL;
}

static void
count_column(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
}

static void
read_page(struct db *db, struct compliance_query *q, struct page *p,
    int *more)
{
	memset(p, 0, sizeof(*p));
	assert_int_equal(db_compliance_page(db, q, page_tentacle, page_cell,
	    p, more), 0);
}

static void
test_matrix(void **state)
{
	struct compliance_query		q;
	struct compliance_counts	c, c2;
	struct page			p;
	struct db_waiver		w;
	int				ncols;
	char				err[256];
	struct db			*db;
	int64_t				id, cid;
	int				more;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	fleet();
	memset(&q, 0, sizeof(q));
	q.as_of = 5000;
	q.labels = "";
	q.limit = 1000;

	/* Now: t1 a compliant (the later result), b error; t2 a findings;
	 * t3 none: 1 compliant, 1 findings, 1 error, 3 none. */
	assert_int_equal(db_compliance_counts(db, &q, 2, &c), 0);
	assert_int_equal(c.n[CELL_COMPLIANT], 1);
	assert_int_equal(c.n[CELL_FINDINGS], 1);
	assert_int_equal(c.n[CELL_ERROR], 1);
	assert_int_equal(c.n[CELL_NONE], 3);
	read_page(db, &q, &p, &more);
	assert_int_equal(p.ntentacles, 3);	/* not the pending one */
	assert_int_equal(more, 0);
	assert_int_equal(p.ncells, 3);		/* none cells are not rows */
	assert_int_equal(cell(&p, 1, "a")->verdict, CELL_COMPLIANT);
	assert_int_equal(cell(&p, 1, "a")->result, 3);
	assert_int_equal(cell(&p, 1, "b")->verdict, CELL_ERROR);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_FINDINGS);
	assert_int_equal(cell(&p, 2, "a")->failed, 2);
	assert_int_equal(cell(&p, 2, "a")->at, 1100);

	/* As of 1500: t1 a findings (the first result), b no column. */
	q.as_of = 1500;
	assert_int_equal(db_compliance_counts(db, &q, 1, &c), 0);
	assert_int_equal(c.n[CELL_FINDINGS], 2);
	assert_int_equal(c.n[CELL_COMPLIANT], 0);
	assert_int_equal(c.n[CELL_NONE], 1);
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 1, "a")->result, 1);
	assert_null(cell(&p, 1, "b"));
	/* Before any result: nothing. */
	q.as_of = 1099;
	read_page(db, &q, &p, &more);
	assert_int_equal(p.ncells, 0);

	/* Paging: one tentacle a page. */
	q.as_of = 5000;
	q.limit = 1;
	read_page(db, &q, &p, &more);
	assert_int_equal(p.ntentacles, 1);
	assert_int_equal(p.tentacles[0], 1);
	assert_int_equal(more, 1);
	assert_int_equal(p.ncells, 2);
	q.after = 2;
	read_page(db, &q, &p, &more);
	assert_int_equal(p.tentacles[0], 3);
	assert_int_equal(more, 0);
	q.after = 0;
	q.limit = 1000;

	/* Labels: accepted ones only. */
	q.labels = "web";
	read_page(db, &q, &p, &more);
	assert_int_equal(p.ntentacles, 1);
	assert_int_equal(p.tentacles[0], 3);
	q.labels = "db";
	read_page(db, &q, &p, &more);
	assert_int_equal(p.ntentacles, 0);
	q.labels = "";

	/* By check: the checks of each script's latest result. */
	q.by_check = 1;
	ncols = 0;
	assert_int_equal(db_compliance_columns(db, &q, count_column, &ncols,
	    &c2), 0);
	assert_int_equal(ncols, 2);		/* x.one, x.two */
	assert_int_equal(db_compliance_counts(db, &q, 2, &c), 0);
	assert_memory_equal(&c, &c2, sizeof(c));
	/* t1: x.one OK, x.two WARN (compliant); t2: both FAIL; t3: none */
	assert_int_equal(c.n[CELL_COMPLIANT], 2);
	assert_int_equal(c.n[CELL_FINDINGS], 2);
	assert_int_equal(c.n[CELL_NONE], 2);
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "x.two")->verdict, CELL_FINDINGS);
	assert_int_equal(cell(&p, 1, "x.two")->verdict, CELL_COMPLIANT);
	q.by_check = 0;

	/* A waiver on t2's a, one on the label web's a (no result there),
	 * one on t1's a (compliant: unused). */
	memset(&w, 0, sizeof(w));
	w.tentacle = 2;
	w.label = "";
	w.script = "a";
	w.check = "";
	w.reason = "accepted risk";
	w.created_by = "admin";
	w.created_at = 3000;
	w.expires_at = 4000;
	assert_int_equal(db_waiver_add(db, &w, &id), 0);
	w.tentacle = 1;
	w.reason = "unused";
	assert_int_equal(db_waiver_add(db, &w, &id), 0);
	q.as_of = 3500;
	assert_int_equal(db_compliance_counts(db, &q, 2, &c), 0);
	assert_int_equal(c.n[CELL_WAIVED], 1);
	assert_int_equal(c.n[CELL_FINDINGS], 0);
	assert_int_equal(c.n[CELL_COMPLIANT], 1);
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_WAIVED);
	assert_string_equal(cell(&p, 2, "a")->waiver_reason, "accepted risk");
	assert_int_equal(cell(&p, 1, "a")->verdict, CELL_COMPLIANT);
	assert_int_equal(cell(&p, 1, "a")->waiver, id);	/* unused */
	/* The timeline: the latest result as it stands now. */
	memset(&p, 0, sizeof(p));
	assert_int_equal(db_compliance_timeline(db, 2, "a", 10, 3500,
	    page_cell, &p), 0);
	assert_int_equal(p.ncells, 1);
	assert_int_equal(p.cells[0].verdict, CELL_WAIVED);
	memset(&p, 0, sizeof(p));
	assert_int_equal(db_compliance_timeline(db, 2, "a", 10, 4500,
	    page_cell, &p), 0);
	assert_int_equal(p.cells[0].verdict, CELL_FINDINGS);
	/* t1: compliant now, findings before (until its next result). */
	memset(&p, 0, sizeof(p));
	assert_int_equal(db_compliance_timeline(db, 1, "a", 10, 3500,
	    page_cell, &p), 0);
	assert_int_equal(p.ncells, 2);
	assert_int_equal(p.cells[0].result, 3);
	assert_int_equal(p.cells[0].verdict, CELL_COMPLIANT);
	assert_int_equal(p.cells[1].verdict, CELL_FINDINGS);
	memset(&p, 0, sizeof(p));
	assert_int_equal(db_compliance_timeline(db, 1, "a", 1, 3500,
	    page_cell, &p), 0);
	assert_int_equal(p.ncells, 1);
	/* Before it was made, after it expired: not waived. */
	q.as_of = 2999;
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_FINDINGS);
	q.as_of = 4000;
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_FINDINGS);
	/* Check waivers: t2's a has two FAIL lines; one waived is not
	 * enough, both are (the cell then shows the later to expire). */
	w.tentacle = 2;
	w.check = "x.one";
	w.reason = "one";
	w.created_at = 4500;	/* after the others, before 5000 */
	w.expires_at = 9000;
	q.as_of = 5000;
	assert_int_equal(db_waiver_add(db, &w, &cid), 0);
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_FINDINGS);
	assert_int_equal(cell(&p, 2, "a")->waiver, 0);
	w.check = "x.two";
	w.reason = "two";
	w.expires_at = 9500;
	assert_int_equal(db_waiver_add(db, &w, &cid), 0);
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_WAIVED);
	assert_string_equal(cell(&p, 2, "a")->waiver_reason, "two");
	assert_int_equal(db_compliance_counts(db, &q, 2, &c), 0);
	assert_int_equal(c.n[CELL_WAIVED], 1);
	/* By check: each its own. */
	q.by_check = 1;
	read_page(db, &q, &p, &more);
	assert_string_equal(cell(&p, 2, "x.one")->waiver_reason, "one");
	assert_int_equal(cell(&p, 2, "x.two")->verdict, CELL_WAIVED);
	q.by_check = 0;
	assert_int_equal(db_waiver_delete(db, cid, "admin", 5001), 0);
	assert_int_equal(db_waiver_delete(db, cid - 1, "admin", 5001), 0);
	q.as_of = 3500;

	/* Deleted at 3200: gone after, still there before. */
	assert_int_equal(db_waiver_delete(db, id - 1, "admin", 3200), 0);
	assert_int_equal(db_waiver_delete(db, id - 1, "admin", 3300),
	    DB_NOTFOUND);
	q.as_of = 3100;
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_WAIVED);
	q.as_of = 3300;
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 2, "a")->verdict, CELL_FINDINGS);

	/* A result pruned (retention) takes its verdict with it: t1's a is
	 * its earlier result again. */
	{
		sqlite3	*h = raw_open();

		raw_exec(h, "DELETE FROM findings WHERE result_id = 3; "
		    "DELETE FROM results WHERE id = 3;");
		sqlite3_close(h);
	}
	q.as_of = 5000;
	read_page(db, &q, &p, &more);
	assert_int_equal(cell(&p, 1, "a")->result, 1);
	assert_int_equal(cell(&p, 1, "a")->verdict, CELL_FINDINGS);
	db_close(db);
}

static void
test_history(void **state)
{
	struct compliance_counts	 c[3];
	char				 err[256];
	struct db			*db;
	sqlite3				*h;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	/* Days of 86400 s: day 0 = [0, 86400). A tentacle enrolled on day
	 * 0; a run of "a" on day 0 (findings) and one on day 2
	 * (compliant). */
	h = raw_open();
	raw_exec(h,
	    "INSERT INTO tentacles (id, hostname, address, port, key, "
	    "fingerprint, enrolment, enrolled_at) VALUES (1, 'one', "
	    "'192.0.2.1', 7001, 'k', 'f', 'accepted', 100);"
	    "INSERT INTO runs (id, script, created_at, created_by) VALUES "
	    "(1, 'a', 200, 'admin'), (2, 'a', 2 * 86400 + 10, 'admin');"
	    "INSERT INTO jobs (id, run_id, tentacle_id, hostname, state, "
	    "updated_at) VALUES (1, 1, 1, 'one', 'done', 0), (2, 2, 1, 'one', "
	    "'done', 0);"
	    "INSERT INTO results (id, job_id, outcome, exit_status, signal, "
	    "started_at_ms, duration_ms, truncated, output, received_at) "
	    "VALUES (1, 1, 1, 1, 0, 0, 1, 0, x'', 300), "
	    "(2, 2, 1, 0, 0, 0, 1, 0, x'', 2 * 86400 + 20);");
	sqlite3_close(h);
	assert_int_equal(db_compliance_history(db, 2 * 86400 + 100, 3, "", c),
	    0);
	assert_int_equal(c[0].n[CELL_FINDINGS], 1);
	assert_int_equal(c[1].n[CELL_FINDINGS], 1);
	assert_int_equal(c[2].n[CELL_COMPLIANT], 1);
	assert_int_equal(c[2].n[CELL_FINDINGS], 0);
	/* Now within day 2 but before its result: still findings. */
	assert_int_equal(db_compliance_history(db, 2 * 86400 + 15, 3, "", c),
	    0);
	assert_int_equal(c[2].n[CELL_FINDINGS], 1);
	/* A check waiver over day 1 only (the result of day 0 has one FAIL,
	 * x.one), one over all days on another check: day 1 waived. */
	h = raw_open();
	raw_exec(h,
	    "INSERT INTO findings (result_id, seq, check_id, status, text) "
	    "VALUES (1, 0, 'x.one', 'FAIL', 't'), (1, 1, 'x.two', 'OK', 't');"
	    "INSERT INTO waivers (tentacle_id, script, check_id, reason, "
	    "created_by, created_at, expires_at) VALUES (1, 'a', 'x.one', "
	    "'r', 'admin', 86400 + 5, 2 * 86400), (1, 'a', 'x.two', 'r', "
	    "'admin', 0, 9 * 86400);");
	sqlite3_close(h);
	assert_int_equal(db_compliance_history(db, 2 * 86400 + 15, 3, "", c),
	    0);
	assert_int_equal(c[0].n[CELL_FINDINGS], 1);
	assert_int_equal(c[1].n[CELL_WAIVED], 1);
	assert_int_equal(c[1].n[CELL_FINDINGS], 0);
	assert_int_equal(c[2].n[CELL_FINDINGS], 1);	/* expired */
	/* A window of one day, after the findings of day 0 (its latest
	 * before the window) and before the day's result: findings. */
	assert_int_equal(db_compliance_history(db, 2 * 86400 + 15, 1, "", c),
	    0);
	assert_int_equal(c[0].n[CELL_FINDINGS], 1);
	assert_int_equal(c[0].n[CELL_COMPLIANT], 0);
	/* A window before the tentacle: nothing. */
	assert_int_equal(db_compliance_history(db, 2 * 86400 + 100, 1, "web",
	    c), 0);
	assert_int_equal(c[0].n[CELL_COMPLIANT] + c[0].n[CELL_FINDINGS], 0);
	db_close(db);
}

/* The rows of statement `which` as of ?1 = as_of (all tentacles: ?3 0,
 * ?5 a large ID), as one text; the rows whose column `skip` is NULL (a
 * none cell) left out (skip -1: none). */
static char *
rows_text(sqlite3 *h, enum compliance_sql which, int64_t as_of, int skip)
{
	sqlite3_stmt	*st;
	char		*out = strdup(""), *n;
	const char	*v;
	int		 i;

	assert_int_equal(sqlite3_prepare_v2(h, db_compliance_sql(which), -1,
	    &st, NULL), SQLITE_OK);
	sqlite3_bind_int64(st, 1, as_of);
	sqlite3_bind_text(st, 2, "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, 0);
	sqlite3_bind_int64(st, 4, 100);
	sqlite3_bind_int64(st, 5, 1000000);
	while (sqlite3_step(st) == SQLITE_ROW) {
		if (skip >= 0 && sqlite3_column_type(st, skip) == SQLITE_NULL)
			continue;
		for (i = 0; i < sqlite3_column_count(st); i++) {
			v = (const char *)sqlite3_column_text(st, i);
			assert_int_not_equal(asprintf(&n, "%s%s|", out, v ? v :
			    "NULL"), -1);
			free(out);
			out = n;
		}
		assert_int_not_equal(asprintf(&n, "%s\n", out), -1);
		free(out);
		out = n;
	}
	sqlite3_finalize(st);
	return out;
}

/* verdicts_latest (migration 15) follows verdicts: a result that came
 * late with an older time is not a cell's latest; the latest deleted,
 * the next one is; and the statements that read it give the same cells
 * and counts as those that seek in verdicts. */
static void
test_latest(void **state)
{
	static const struct {
		enum compliance_sql	seek, now;
		int			skip;	/* the verdict column */
	} pairs[] = {
		{ CSQL_PAGE_SCRIPT, CSQL_PAGE_SCRIPT_NOW, -1 },
		{ CSQL_PAGE_CHECK, CSQL_PAGE_CHECK_NOW, -1 },
		{ CSQL_COLUMNS_CHECK, CSQL_COLUMNS_CHECK_NOW, -1 },
		{ CSQL_COUNTS_SCRIPT, CSQL_COUNTS_SCRIPT_NOW, 0 },
		{ CSQL_COUNTS_CHECK, CSQL_COUNTS_CHECK_NOW, -1 },
	};
	char		 err[256], *a, *b;
	struct db	*db;
	sqlite3		*h;
	sqlite3_stmt	*st;
	size_t		 i;
	int		 round;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	db_close(db);
	fleet();
	h = raw_open();
	/* Waivers: t2's "a" (findings: waived), t1's "a" (compliant:
	 * unused), t1's check x.two of "a" by label (none of t1's). */
	raw_exec(h,
	    "INSERT INTO waivers (tentacle_id, label, script, check_id, "
	    "reason, created_by, created_at, expires_at) VALUES (2, NULL, 'a', "
	    "NULL, 'r2', 'admin', 0, 9999999999), (1, NULL, 'a', NULL, 'r1', "
	    "'admin', 0, 9999999999), (NULL, 'web', 'a', 'x.two', 'r3', "
	    "'admin', 0, 9999999999)");
	for (round = 0; round < 3; round++) {
		if (round == 1)
			/* Late, with an older time: t1 "a" keeps result 3. */
			raw_exec(h,
			    "INSERT INTO runs (id, script, created_at, "
			    "created_by) VALUES (4, 'a', 1400, 'admin');"
			    "INSERT INTO jobs (id, run_id, tentacle_id, "
			    "hostname, state, updated_at) VALUES (6, 4, 1, "
			    "'one', 'done', 0);"
			    "INSERT INTO results (id, job_id, outcome, "
			    "exit_status, signal, started_at_ms, duration_ms, "
			    "truncated, output, received_at) VALUES (5, 6, 1, "
			    "1, 0, 0, 1, 0, x'', 1500);"
			    "INSERT INTO findings (result_id, seq, check_id, "
			    "status, text) VALUES (5, 0, 'x.one', 'FAIL', "
			    "'t'), (5, 1, 'x.one', 'FAIL', 't')");
		if (round == 2)
			/* The latest gone: result 5 (1500) is. */
			raw_exec(h, "DELETE FROM findings WHERE result_id = 3; "
			    "DELETE FROM results WHERE id = 3");
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT result_id, "
		    "failed FROM verdicts_latest WHERE tentacle_id = 1 AND "
		    "script = 'a'", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), round < 2 ? 3 : 5);
		assert_int_equal(sqlite3_column_int(st, 1), round < 2 ? 0 : 2);
		sqlite3_finalize(st);
		assert_int_equal(sqlite3_prepare_v2(h, "SELECT count(*) FROM "
		    "verdicts_latest", -1, &st, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 3);
		sqlite3_finalize(st);
		for (i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
			a = rows_text(h, pairs[i].seek, 5000, pairs[i].skip);
			b = rows_text(h, pairs[i].now, 5000, pairs[i].skip);
			if (strcmp(a, b) != 0)
				fail_msg("round %d, statements %d and %d:\n%s"
				    "--\n%s", round, pairs[i].seek,
				    pairs[i].now, a, b);
			assert_true(strlen(a) > 0);
			free(a);
			free(b);
		}
	}
	sqlite3_close(h);
}

/* Every statement's plan: verdicts and findings only searched through an
 * index; results never read. */
static void
test_query_plans(void **state)
{
	char		 err[256], *plan;
	struct db	*db;
	sqlite3		*h;
	sqlite3_stmt	*st;
	size_t		 len;
	int		 i;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	db_close(db);
	h = raw_open();
	for (i = 0; i < CSQL_MAX; i++) {
		char	 q[8192];

		snprintf(q, sizeof(q), "EXPLAIN QUERY PLAN %s",
		    db_compliance_sql(i));
		assert_int_equal(sqlite3_prepare_v2(h, q, -1, &st, NULL),
		    SQLITE_OK);
		plan = strdup("\n");
		len = 1;
		while (sqlite3_step(st) == SQLITE_ROW) {
			const char *d = (const char *)sqlite3_column_text(st,
			    3);

			plan = realloc(plan, len + strlen(d) + 2);
			assert_non_null(plan);
			memcpy(plan + len, d, strlen(d));
			len += strlen(d);
			plan[len++] = '\n';
			plan[len] = '\0';
		}
		sqlite3_finalize(st);
		assert_non_null(plan);
		/* No scan of verdicts (v, x), findings (the table, not the
		 * CTE f: "SEARCH f USING PRIMARY KEY" is the table), results. */
		if (strstr(plan, "\nSCAN v\n") || strstr(plan, "\nSCAN v ") ||
		    strstr(plan, "\nSCAN x") || strstr(plan, "SCAN verdicts") ||
		    strstr(plan, "SCAN findings") || strstr(plan, "results"))
			fail_msg("statement %d scans:%s", i, plan);
		if (i == CSQL_COUNTS_SCRIPT || i == CSQL_PAGE_SCRIPT ||
		    i == CSQL_HISTORY)
			assert_non_null(strstr(plan, "verdicts_cell"));
		/* As of now: each cell's latest by its primary key, the
		 * tentacles of a page in ID order. */
		if (i >= CSQL_COLUMNS_CHECK_NOW && i <= CSQL_PAGE_CHECK_NOW &&
		    strstr(plan, "SEARCH l USING PRIMARY KEY (tentacle_id") ==
		    NULL)
			fail_msg("statement %d:%s", i, plan);
		if ((i == CSQL_PAGE_SCRIPT_NOW || i == CSQL_PAGE_CHECK_NOW) &&
		    (strstr(plan, "\nSCAN t\n") || strstr(plan, "\nSCAN t ")))
			fail_msg("statement %d scans the fleet:%s", i, plan);
		free(plan);
	}
	assert_null(db_compliance_sql(CSQL_MAX));
	sqlite3_close(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_verdicts_and_score),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_labels),
		cmocka_unit_test(test_waiver_bodies),
		cmocka_unit_test_setup_teardown(test_matrix, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_query_plans, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
