/* Lists at scale (SPEC "Lists at scale"): the lists' arguments
 * (listargs.c), the pages of db_lists.c and views.c on a real SQLite
 * file, and the plans of their statements: every statement the lists run
 * is caught as it runs (sqlite3_trace_v2) and its EXPLAIN QUERY PLAN
 * checked, so that a page of the fleet or of a run's jobs is a SEARCH of
 * an index, never a SCAN of the table. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sqlite3.h>

#include "db.h"
#include "dbint.h"
#include "jsontext.h"
#include "listargs.h"
#include "views.h"

#include "tmpdb.h"

/* ---- listargs -------------------------------------------------------- */

static void
test_listargs(void **state)
{
	uint8_t	sort, desc;
	char	like[LIST_LIKE_MAX];
	char	long_q[LIST_QUERY_MAX + 2];

	assert_int_equal(listargs_sort_parse("hostname", &sort, &desc), 0);
	assert_int_equal(sort, LIST_SORT_HOSTNAME);
	assert_int_equal(desc, 0);
	assert_int_equal(listargs_sort_parse("-last_seen", &sort, &desc), 0);
	assert_int_equal(sort, LIST_SORT_LAST_SEEN);
	assert_int_equal(desc, 1);
	assert_int_equal(listargs_sort_parse("id", &sort, &desc), 0);
	assert_int_equal(listargs_sort_parse("state", &sort, &desc), 0);
	assert_int_equal(listargs_sort_parse("--id", &sort, &desc), -1);
	assert_int_equal(listargs_sort_parse("", &sort, &desc), -1);
	assert_int_equal(listargs_sort_parse("-", &sort, &desc), -1);
	assert_int_equal(listargs_sort_parse("address", &sort, &desc), -1);

	assert_true(listargs_state_valid("offline"));
	assert_false(listargs_state_valid("pending"));
	assert_false(listargs_state_valid(""));
	assert_true(listargs_enrolment_valid("rejected"));
	assert_false(listargs_enrolment_valid("online"));

	assert_true(listargs_query_valid("web-01"));
	assert_true(listargs_query_valid("h\xc3\xa9te"));	/* UTF-8 */
	assert_false(listargs_query_valid(""));
	assert_false(listargs_query_valid("a\tb"));
	assert_false(listargs_query_valid("a\x7f"));
	assert_false(listargs_query_valid("\xff"));
	assert_false(listargs_query_valid("\xc3"));		/* cut short */
	memset(long_q, 'a', sizeof(long_q) - 1);
	long_q[sizeof(long_q) - 1] = '\0';
	assert_false(listargs_query_valid(long_q));
	long_q[LIST_QUERY_MAX] = '\0';
	assert_true(listargs_query_valid(long_q));

	/* LIKE's own characters are escaped: q is a plain substring. */
	assert_int_equal(listargs_like_pattern("a%b_c\\d", like,
	    sizeof(like)), 0);
	assert_string_equal(like, "%a\\%b\\_c\\\\d%");
	memset(long_q, '%', LIST_QUERY_MAX);
	long_q[LIST_QUERY_MAX] = '\0';
	assert_int_equal(listargs_like_pattern(long_q, like, sizeof(like)), 0);
	assert_int_equal(strlen(like), 2 * LIST_QUERY_MAX + 2);
	assert_int_equal(listargs_like_pattern("", like, sizeof(like)), -1);
	assert_int_equal(listargs_like_pattern("x", like, 8), -1);
}

/* ---- JSON text ------------------------------------------------------- */

/* jtext_str writes what jansson writes, and U+FFFD where jansson would
 * refuse the bytes. */
static void
test_jtext(void **state)
{
	static const char *const same[] = { "", "plain", "q\"uote",
	    "back\\slash", "ctl\x01\x1f\t\n\r\b\f", "h\xc3\xa9te \xe2\x82\xac",
	    "\xf0\x9f\x90\x99 octopus", "del\x7f", "/slash" };
	struct buf	 b;
	json_t		*j;
	char		*want;
	size_t		 i;

	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		buf_init(&b, 1024);
		assert_int_equal(jtext_str(&b, same[i]), 0);
		assert_non_null(j = json_string(same[i]));
		assert_non_null(want = json_dumps(j, JSON_ENCODE_ANY));
		assert_int_equal(b.len, strlen(want));
		assert_memory_equal(b.data, want, b.len);
		free(want);
		json_decref(j);
		buf_free(&b);
	}
	buf_init(&b, 1024);
#define FFFD	"\xef\xbf\xbd"
	/* A stray byte, a sequence cut short, a surrogate: each byte. */
	assert_int_equal(jtext_str(&b, "a\xff\xc3" "b\xed\xa0\x80"), 0);
	assert_int_equal(b.len, strlen("\"a" FFFD FFFD "b" FFFD FFFD FFFD
	    "\""));
	assert_memory_equal(b.data, "\"a" FFFD FFFD "b" FFFD FFFD FFFD "\"",
	    b.len);
#undef FFFD
	buf_reset(&b);
	assert_int_equal(jtext_time(&b, 0, 1), 0);
	assert_int_equal(jtext_time(&b, 86400, 1), 0);
	assert_int_equal(jtext_int(&b, -42), 0);
	assert_int_equal(b.len, strlen("null\"1970-01-02T00:00:00Z\"-42"));
	assert_memory_equal(b.data, "null\"1970-01-02T00:00:00Z\"-42", b.len);
	/* Times as rfc3339 writes them: leap days, centuries, the last
	 * second of 9999, and a sweep. */
	{
		static const time_t at[] = { 1, 59, 86399, 951782400,
		    951868799, 4107542400, 4102444800, 253402300799,
		    253402300800, 2147483647, 1733270400 };
		char	tw[48];
		time_t	t;

		for (i = 0; i < sizeof(at) / sizeof(at[0]) + 20000; i++) {
			t = i < sizeof(at) / sizeof(at[0]) ? at[i] :
			    (time_t)(i * 7919ULL * 104729ULL % 253402300800ULL);
			buf_reset(&b);
			assert_int_equal(jtext_time(&b, t, 0), 0);
			tw[0] = '"';
			rfc3339(t, tw + 1, sizeof(tw) - 2);
			strcat(tw, "\"");
			assert_int_equal(b.len, strlen(tw));
			assert_memory_equal(b.data, tw, b.len);
		}
		buf_reset(&b);
		assert_int_equal(jtext_int(&b, INT64_MIN), 0);
		assert_int_equal(jtext_int(&b, 0), 0);
		assert_int_equal(jtext_int(&b, INT64_MAX), 0);
		assert_int_equal(b.len, strlen("-9223372036854775808"
		    "09223372036854775807"));
		assert_memory_equal(b.data, "-9223372036854775808"
		    "09223372036854775807", b.len);
	}
	buf_free(&b);
	/* Full: -1, never past max. */
	buf_init(&b, 4);
	assert_int_equal(jtext_str(&b, "abcdef"), -1);
	assert_true(b.len <= 4);
	buf_free(&b);
}

/* ---- a fleet in the database ----------------------------------------- */

#define FLEET	300

static void
fleet_fill(struct db *db)
{
	static const char *const states[] = { "online", "offline", "unknown" };
	char	sql[512];
	int	i;

	assert_int_equal(db_begin(db), 0);
	for (i = 0; i < FLEET; i++) {
		snprintf(sql, sizeof(sql), "INSERT INTO tentacles (hostname, "
		    "address, port, key, fingerprint, enrolment, state, "
		    "enrolled_at, last_seen) VALUES ('h%03d.example.org', "
		    "'192.0.2.%d', 7001, 'k', 'f', '%s', '%s', 1, %s)",
		    (i * 37) % FLEET, i % 250, i % 5 == 3 ? "pending" :
		    i % 5 == 4 ? "rejected" : "accepted", states[i % 3],
		    i % 7 == 0 ? "NULL" : "1000 + (abs(random()) % 1000)");
		assert_int_equal(db_exec(db, sql), 0);
	}
	assert_int_equal(db_commit(db), 0);
}

struct page_ids {
	int64_t	ids[FLEET + 1];
	size_t	n;
};

static void
collect(const struct db_fleet_row *r, void *arg)
{
	struct page_ids	*p = arg;

	assert_true(p->n < FLEET + 1);
	p->ids[p->n++] = r->t.id;
}

/* Walks the fleet in pages through view_tentacles_page: every tentacle
 * once, in the order of sort; returns how many pages. */
static int
walk(struct db *db, int sort, int desc, unsigned limit, const char *state,
    size_t want)
{
	struct db_fleet_query	 q = { state, "", "", "", sort, desc };
	json_t			*j, *list, *next;
	uint64_t		 after = 0;
	size_t			 seen = 0, i;
	int			 pages = 0, notfound;
	int64_t			 ids[FLEET];

	for (;;) {
		j = view_tentacles_page(db, &q, after, limit, &notfound);
		assert_non_null(j);
		pages++;
		list = json_object_get(j, "tentacles");
		assert_true(json_array_size(list) <= limit);
		for (i = 0; i < json_array_size(list); i++) {
			json_t	*row = json_array_get(list, i), *one;

			/* Each row as GET /api/tentacles/ID shows it. */
			one = view_tentacle(db, json_integer_value(
			    json_object_get(row, "id")));
			assert_true(json_equal(row, one));
			json_decref(one);
			assert_true(seen < FLEET);
			ids[seen++] = json_integer_value(json_object_get(
			    json_array_get(list, i), "id"));
		}
		assert_int_equal(json_integer_value(json_object_get(
		    json_object_get(j, "counts"), "total")), FLEET);
		next = json_object_get(j, "next");
		if (json_is_null(next)) {
			json_decref(j);
			break;
		}
		assert_int_equal(json_integer_value(next), ids[seen - 1]);
		after = (uint64_t)json_integer_value(next);
		json_decref(j);
	}
	assert_int_equal(seen, want);
	for (i = 0; i < seen; i++) {
		size_t	k;

		for (k = 0; k < i; k++)
			assert_true(ids[k] != ids[i]);
	}
	if (sort == LIST_SORT_ID)
		for (i = 1; i < seen; i++)
			assert_true(desc ? ids[i] < ids[i - 1] :
			    ids[i] > ids[i - 1]);
	return pages;
}

static void
facts_of(const struct db_tentacle_row *t, void *arg)
{
	strncpy(arg, t->facts, 63);
}

static void
facts_are(struct db *db, int64_t id, const char *want)
{
	char	facts[64] = "";

	assert_int_equal(db_tentacles_each(db, id, facts_of, facts), 0);
	assert_string_equal(facts, want);
}

/* The counts the triggers keep are those of the tentacles. */
static void
counts_agree(struct db *db)
{
	struct db_fleet_counts	kept, now;

	assert_int_equal(db_tentacles_count(db, &kept), 0);
	assert_int_equal(db_tentacles_count_now(db, &now), 0);
	assert_memory_equal(&kept, &now, sizeof(kept));
}

static void
test_pages(void **state)
{
	char			 err[256];
	struct db		*db;
	struct db_fleet_counts	 c;
	int			 sort, desc;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	fleet_fill(db);
	for (sort = 0; sort < LIST_SORT_MAX; sort++)
		for (desc = 0; desc < 2; desc++) {
			assert_int_equal(walk(db, sort, desc, 7, "", FLEET),
			    (FLEET + 6) / 7);
			walk(db, sort, desc, 1000, "offline", FLEET / 3);
		}
	assert_int_equal(db_tentacles_count(db, &c), 0);
	assert_int_equal(c.total, FLEET);
	assert_int_equal(c.online + c.offline + c.unknown + c.pending +
	    c.rejected, FLEET);
	assert_int_equal(c.pending, FLEET / 5);
	counts_agree(db);
	/* The triggers follow every change of enrolment or state. */
	assert_int_equal(db_exec(db, "UPDATE tentacles SET enrolment = "
	    "'accepted' WHERE id = 4"), 0);		/* was pending */
	assert_int_equal(db_tentacles_count(db, &c), 0);
	assert_int_equal(c.pending, FLEET / 5 - 1);
	counts_agree(db);
	assert_int_equal(db_exec(db, "UPDATE tentacles SET state = 'online', "
	    "last_seen = 5"), 0);
	counts_agree(db);
	assert_int_equal(db_exec(db, "UPDATE tentacles SET state = 'offline' "
	    "WHERE id % 3 = 0"), 0);
	counts_agree(db);
	assert_int_equal(db_tentacle_delete(db, 1), 0);
	assert_int_equal(db_tentacles_count(db, &c), 0);
	assert_int_equal(c.total, FLEET - 1);
	counts_agree(db);
	assert_int_equal(db_exec(db, "INSERT INTO tentacles (hostname, "
	    "address, port, key, fingerprint, enrolment, enrolled_at) VALUES "
	    "('new.example.org', '192.0.2.9', 7001, 'k', 'f', 'pending', 1)"),
	    0);
	assert_int_equal(db_tentacles_count(db, &c), 0);
	assert_int_equal(c.total, FLEET);
	counts_agree(db);
	/* Facts that are no JSON object are kept as {} (the pages copy
	 * the facts as stored). */
	assert_int_equal(db_exec(db, "UPDATE tentacles SET facts = '[1]' "
	    "WHERE id = 2"), 0);
	assert_int_equal(db_exec(db, "UPDATE tentacles SET facts = 'no' "
	    "WHERE id = 3"), 0);
	assert_int_equal(db_exec(db, "UPDATE tentacles SET facts = "
	    "'{\"os\": \"x\"}' WHERE id = 5"), 0);
	assert_int_equal(db_exec(db, "INSERT INTO tentacles (hostname, "
	    "address, port, key, fingerprint, enrolment, enrolled_at, facts) "
	    "VALUES ('bad.example.org', '192.0.2.9', 7001, 'k', 'f', "
	    "'accepted', 1, '{\"a\": ')"), 0);
	facts_are(db, 2, "{}");
	facts_are(db, 3, "{}");
	facts_are(db, 5, "{\"os\": \"x\"}");
	facts_are(db, FLEET + 2, "{}");
	db_close(db);
}

/* Rows whose JSON passes LIST_JSON_MAX before the limit: the page ends
 * there and says where the next starts; every row comes once. */
static void
test_page_budget(void **state)
{
	char			 err[256], *sql, *text;
	struct db		*db;
	struct db_fleet_query	 q = { "", "", "", "", LIST_SORT_ID, 0 };
	json_t			*j, *list;
	uint64_t		 after = 0;
	size_t			 seen = 0, n;
	int			 i, pages = 0, notfound;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	assert_int_equal(db_begin(db), 0);
	for (i = 0; i < 900; i++) {
		assert_non_null(sql = sqlite3_mprintf("INSERT INTO tentacles "
		    "(hostname, address, port, key, fingerprint, enrolment, "
		    "enrolled_at, facts) VALUES ('h%d', '192.0.2.1', 7001, "
		    "'k', 'f', 'accepted', 1, '{\"pad\": \"' || "
		    "hex(zeroblob(3000)) || '\", \"n\": "
		    "[1e-7, 1e-7]}')", i));
		assert_int_equal(db_exec(db, sql), 0);
		sqlite3_free(sql);
	}
	assert_int_equal(db_commit(db), 0);
	do {
		/* The reply is this text, written as the rows are read. */
		text = view_tentacles_text(db, &q, after, 1000, &notfound);
		assert_non_null(text);
		assert_true(strlen(text) <= LIST_JSON_MAX + 1024);
		assert_non_null(j = json_loads(text, 0, NULL));
		free(text);
		pages++;
		list = json_object_get(j, "tentacles");
		n = json_array_size(list);
		assert_true(n > 0 && n < 900);
		seen += n;
		after = json_is_null(json_object_get(j, "next")) ? 0 :
		    (uint64_t)json_integer_value(json_object_get(j, "next"));
		if (after)
			assert_int_equal(after, json_integer_value(
			    json_object_get(json_array_get(list, n - 1), "id")));
		json_decref(j);
	} while (after != 0);
	assert_int_equal(seen, 900);
	assert_true(pages >= 2);
	db_close(db);
}

/* ---- the plans ------------------------------------------------------- */

#define TRACED_MAX	64

static struct {
	char	*sql[TRACED_MAX];
	int	 n;
} traced;

static int
trace(unsigned type, void *ctx, void *p, void *x)
{
	char	*sql;

	if (type != SQLITE_TRACE_STMT || traced.n >= TRACED_MAX)
		return 0;
	/* With the values bound: the plan of what ran. */
	if ((sql = sqlite3_expanded_sql(p)) != NULL)
		traced.sql[traced.n++] = sql;
	return 0;
}

static void
traced_clear(void)
{
	int	i;

	for (i = 0; i < traced.n; i++)
		sqlite3_free(traced.sql[i]);
	traced.n = 0;
}

/* The EXPLAIN QUERY PLAN of sql as one line: "detail; detail; ..." */
static void
plan_of(struct db *db, const char *sql, char *out, size_t len)
{
	sqlite3_stmt	*st;
	char		*q;

	out[0] = '\0';
	assert_non_null(q = sqlite3_mprintf("EXPLAIN QUERY PLAN %s", sql));
	assert_int_equal(sqlite3_prepare_v2(db_handle(db), q, -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		strncat(out, (const char *)sqlite3_column_text(st, 3),
		    len - strlen(out) - 3);
		strncat(out, "; ", len - strlen(out) - 1);
	}
	sqlite3_finalize(st);
	sqlite3_free(q);
}

/*
 * Every statement traced since the last call whose text has `which`:
 * its plan must have each of `want` ("|" between them) and no SCAN of
 * tentacles or jobs but those `allowed` names (e.g. "SCAN tentacles
 * USING COVERING INDEX").
 */
static void
plans_are(struct db *db, const char *which, const char *want,
    const char *allowed)
{
	char	 plan[2048], wants[512], *w, *save;
	int	 i, found = 0;

	for (i = 0; i < traced.n; i++) {
		if (strstr(traced.sql[i], which) == NULL)
			continue;
		found++;
		plan_of(db, traced.sql[i], plan, sizeof(plan));
		print_message("%s\n  -> %s\n", traced.sql[i], plan);
		strncpy(wants, want, sizeof(wants) - 1);
		wants[sizeof(wants) - 1] = '\0';
		for (w = strtok_r(wants, "|", &save); w != NULL;
		    w = strtok_r(NULL, "|", &save))
			if (strstr(plan, w) == NULL)
				fail_msg("%s: no \"%s\" in its plan: %s",
				    traced.sql[i], w, plan);
		if ((strstr(plan, "SCAN tentacles") || strstr(plan, "SCAN j") ||
		    strstr(plan, "SCAN jobs") || strstr(plan, "SCAN r ")) &&
		    (allowed == NULL || strstr(plan, allowed) == NULL))
			fail_msg("%s: a SCAN where a SEARCH is expected: %s",
			    traced.sql[i], plan);
	}
	if (found == 0)
		fail_msg("no statement with \"%s\" ran", which);
	traced_clear();
}

/* A page of the fleet (after ID 150) and what its plan must have. */
static const struct fleet_plan {
	int		 sort, desc;
	const char	*state, *enrolment;
	const char	*want;
} fleet_plans[] = {
	{ LIST_SORT_ID, 0, "", "",
	    "SEARCH tentacles USING INTEGER PRIMARY KEY (rowid>?)|"
	    "SEARCH l USING PRIMARY KEY (tentacle_id=?)" },
	{ LIST_SORT_ID, 1, "", "",
	    "SEARCH tentacles USING INTEGER PRIMARY KEY (rowid<?)" },
	{ LIST_SORT_HOSTNAME, 0, "", "",
	    "SEARCH tentacles USING INDEX tentacles_hostname" },
	{ LIST_SORT_STATE, 1, "", "",
	    "SEARCH tentacles USING INDEX tentacles_status" },
	{ LIST_SORT_LAST_SEEN, 1, "", "",
	    "SEARCH tentacles USING INDEX tentacles_last_seen" },
	{ LIST_SORT_ID, 0, "offline", "accepted",
	    "SEARCH tentacles USING INDEX tentacles_enrolment_state "
	    "(enrolment=? AND state=?" },
	{ LIST_SORT_ID, 0, "offline", "",
	    "SEARCH tentacles USING INDEX tentacles_state (state=?" },
	{ LIST_SORT_ID, 0, "", "pending",
	    "SEARCH tentacles USING INDEX tentacles_enrolment_state "
	    "(enrolment=?" },
};

static void
ignore_job(const struct db_job_row *j, void *arg)
{
}

static void
ignore_run(const struct db_runs_row *r, void *arg)
{
}

static void
test_plans(void **state)
{
	char			 err[256];
	struct db		*db;
	struct db_fleet_query	 q = { "", "", "", "", LIST_SORT_ID, 0 };
	struct db_page		 page = { 150, 20, 0 };
	struct db_fleet_counts	 c;
	struct page_ids		 ids;
	int64_t			 run, job;
	int			 i, pending;

	db = db_open(path, err, sizeof(err));
	assert_non_null(db);
	fleet_fill(db);
	/* A run on every tentacle. */
	assert_int_equal(db_run_add(db, "s", "admin", &run), 0);
	for (i = 1; i <= FLEET; i++)
		assert_int_equal(db_job_add(db, run, i, "h", &job), 0);
	/* A label: the pages look for the labels of each row. */
	assert_int_equal(db_exec(db, "INSERT INTO tentacle_labels VALUES "
	    "(160, 'web', 'accepted')"), 0);
	sqlite3_trace_v2(db_handle(db), SQLITE_TRACE_STMT, trace, NULL);

	/* The fleet after an ID: each order and direction, each filter. */
	for (i = 0; i < (int)(sizeof(fleet_plans) / sizeof(fleet_plans[0]));
	    i++) {
		const struct fleet_plan	*fp = &fleet_plans[i];

		q.sort = fp->sort;
		q.desc = fp->desc;
		q.state = fp->state;
		q.enrolment = fp->enrolment;
		ids.n = 0;
		assert_int_equal(db_tentacles_page(db, &q, &page, collect,
		    &ids), 0);
		plans_are(db, "FROM tentacles WHERE 1", fp->want, NULL);
	}

	/* The counts: the few rows the triggers keep, never the fleet's. */
	assert_int_equal(db_tentacles_count(db, &c), 0);
	plans_are(db, "FROM fleet_counts", "SCAN fleet_counts", NULL);
	assert_int_equal(db_tentacles_count_now(db, &c), 0);
	plans_are(db, "GROUP BY enrolment, state",
	    "SCAN tentacles USING COVERING INDEX tentacles_enrolment_state",
	    "USING COVERING INDEX");

	/* A run's jobs after an ID; whether one is pending; its summary. */
	page.after = 100;
	assert_int_equal(db_run_jobs_page(db, run, &page, ignore_job, NULL),
	    0);
	plans_are(db, "FROM jobs j LEFT JOIN results r",
	    "SEARCH j USING INDEX jobs_run (run_id=? AND rowid>?)|"
	    "SEARCH r USING INDEX sqlite_autoindex_results_1 (job_id=?)",
	    NULL);
	assert_int_equal(db_run_pending(db, run, &pending), 0);
	assert_true(pending);
	plans_are(db, "SELECT EXISTS",
	    "SEARCH jobs USING COVERING INDEX jobs_run_state (run_id=? AND "
	    "state=?)", NULL);

	/* The runs after an ID. */
	page.after = run + 1;
	assert_int_equal(db_runs_page(db, 0, &page, ignore_run, NULL), 0);
	plans_are(db, "FROM runs r",
	    "SEARCH r USING INTEGER PRIMARY KEY (rowid<?)", NULL);

	sqlite3_trace_v2(db_handle(db), 0, NULL, NULL);
	db_close(db);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_listargs),
		cmocka_unit_test(test_jtext),
		cmocka_unit_test_setup_teardown(test_pages, setup, teardown),
		cmocka_unit_test_setup_teardown(test_page_budget, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
