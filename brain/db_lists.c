/*
 * Lists at scale (SPEC "Lists at scale"): the fleet by pages, filtered
 * and sorted on the brain, with keyset pagination (a page starts after a
 * row's sort key and ID, so that no row is skipped or given twice while
 * the fleet changes); the fleet's counts in one query (of the table
 * fleet_counts, kept by triggers); whether a run has
 * a job still pending. The indexes they need are the lists' migration
 * (db.c), checked with EXPLAIN QUERY PLAN in tests/unit/test_brain_lists.c.
 */
#include <stdio.h>
#include <string.h>

#include "dbint.h"
#include "listargs.h"
#include "log.h"

/*
 * The sort keys, as SQL over the table tentacles (no alias: an index on
 * an expression is used only for the same text). LIST_STATUS is the
 * tentacles_status index's expression: the status the dashboard shows.
 */
#define LIST_STATUS	"(CASE enrolment WHEN 'accepted' THEN state ELSE " \
			"enrolment END)"
static const char *const sort_keys[LIST_SORT_MAX] = {
	[LIST_SORT_ID] = NULL,
	[LIST_SORT_HOSTNAME] = "hostname",
	[LIST_SORT_STATE] = LIST_STATUS,
	[LIST_SORT_LAST_SEEN] = "ifnull(last_seen, 0)",
};

/* A tentacle's labels in that state, by name, as a JSON array (SQLite
 * writes it: a search of tentacle_labels' key per row). */
#define LIST_LABELS(state) \
	"(SELECT json_group_array(label) FROM (SELECT label FROM " \
	"tentacle_labels l WHERE l.tentacle_id = tentacles.id AND " \
	"l.state = '" state "' ORDER BY label))"

/* Parameters of the page's statement. */
enum { P_STATE = 1, P_ENROLMENT, P_LIKE, P_KEY, P_AFTER, P_LIMIT, P_LABEL };

/* Append to sql; -1 if it does not fit (a bug: the pieces are ours). */
static int
sql_add(char *sql, size_t len, const char *piece)
{
	size_t	n = strlen(sql);

	return snprintf(sql + n, len - n, "%s", piece) >= (int)(len - n) ?
	    -1 : 0;
}

/*
 * The statement for q: SQL made of this file's fixed pieces only, every
 * value bound (P_*). With after: the rows past (key, id) of that row in
 * the order asked. Without labels (no tentacle has any): none looked
 * for, row by row.
 */
static int
page_sql(const struct db_fleet_query *q, int with_after, int with_labels,
    char *sql, size_t len)
{
	const char	*key = sort_keys[q->sort];
	const char	*cmp = q->desc ? " <" : " >";
	const char	*dir = q->desc ? " DESC" : "";
	char		 piece[256];
	int		 rc = 0;

	sql[0] = '\0';
	rc |= sql_add(sql, len, with_labels ? "SELECT " TENTACLE_COLUMNS ", "
	    LIST_LABELS("accepted") ", " LIST_LABELS("proposed") " FROM "
	    "tentacles WHERE 1" : "SELECT " TENTACLE_COLUMNS ", '[]', '[]' "
	    "FROM tentacles WHERE 1");
	if (q->state[0])
		rc |= sql_add(sql, len, " AND state = ?1");
	if (q->enrolment[0])
		rc |= sql_add(sql, len, " AND enrolment = ?2");
	if (q->like[0])
		rc |= sql_add(sql, len, " AND (hostname LIKE ?3 ESCAPE '\\' "
		    "OR address LIKE ?3 ESCAPE '\\')");
	if (q->label[0])
		rc |= sql_add(sql, len, " AND id IN (SELECT tentacle_id FROM "
		    "tentacle_labels WHERE label = ?7 AND state = 'accepted')");
	if (with_after) {
		if (key == NULL)
			snprintf(piece, sizeof(piece), " AND id%s ?5", cmp);
		else
			/* Not the row value (key, id) > (?4, ?5): SQLite
			 * searches an index on an expression by a range of
			 * the expression only. */
			snprintf(piece, sizeof(piece), " AND %s%s=?4 AND "
			    "(%s%s?4 OR id%s?5)", key, cmp, key, cmp, cmp);
		rc |= sql_add(sql, len, piece);
	}
	if (key == NULL)
		snprintf(piece, sizeof(piece), " ORDER BY id%s", dir);
	else
		snprintf(piece, sizeof(piece), " ORDER BY %s%s, id%s", key, dir,
		    dir);
	rc |= sql_add(sql, len, piece);
	rc |= sql_add(sql, len, " LIMIT ?6");
	return rc ? -1 : 0;
}

/* The sort key of the row after: bound as P_KEY of st. */
static int
bind_after_key(struct db *db, const struct db_fleet_query *q, int64_t after,
    sqlite3_stmt *st)
{
	sqlite3_stmt	*k;
	char		 sql[256];
	int		 rc;

	snprintf(sql, sizeof(sql), "SELECT %s FROM tentacles WHERE id = ?",
	    sort_keys[q->sort]);
	if ((k = db_prepare(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(k, 1, after);
	if ((rc = db_step_row(db, k)) == 0)
		sqlite3_bind_value(st, P_KEY, sqlite3_column_value(k, 0));
	sqlite3_finalize(k);
	return rc;
}

/* Whether any tentacle has a label: 1, 0, -1. */
static int
any_labels(struct db *db)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM "
	    "tentacle_labels)")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0)
		rc = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return rc;
}

int
db_tentacles_page(struct db *db, const struct db_fleet_query *q,
    struct db_page *page,
    void (*fn)(const struct db_fleet_row *, void *), void *arg)
{
	sqlite3_stmt		*st;
	struct db_fleet_row	 r;
	char			 sql[1536];
	int			 rc = SQLITE_DONE, labels;

	if ((labels = any_labels(db)) == -1)
		return -1;
	if (q->sort < 0 || q->sort >= LIST_SORT_MAX ||
	    page_sql(q, page->after > 0, labels, sql, sizeof(sql)) == -1) {
		log_warnx("database: a fleet query out of shape");
		return -1;
	}
	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	sqlite3_bind_text(st, P_STATE, q->state, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, P_ENROLMENT, q->enrolment, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, P_LIKE, q->like, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, P_LABEL, q->label, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, P_AFTER, page->after);
	sqlite3_bind_int64(st, P_LIMIT, page->limit ? (int64_t)page->limit +
	    1 : -1);
	if (page->after > 0 && sort_keys[q->sort] != NULL &&
	    (rc = bind_after_key(db, q, page->after, st)) != 0) {
		sqlite3_finalize(st);
		return rc;
	}
	while (!page->full && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		db_tentacle_row_read(st, &r.t);
		r.labels = col_text(st, 11);
		r.proposed_labels = col_text(st, 12);
		fn(&r, arg);
	}
	return db_rows_end(db, st, page->full ? SQLITE_DONE : rc);
}

/* The counts one query per status would give, from the table the
 * triggers of the fleet_counts migration keep (db.c): a few rows, not
 * 10,000 index entries, whatever the keepalive changes meanwhile. */
static void
counts_add(struct db_fleet_counts *c, const char *enrolment,
    const char *state, int64_t n)
{
	c->total += n;
	if (strcmp(enrolment, "pending") == 0)
		c->pending += n;
	else if (strcmp(enrolment, "rejected") == 0)
		c->rejected += n;
	else if (strcmp(state, "online") == 0)
		c->online += n;
	else if (strcmp(state, "offline") == 0)
		c->offline += n;
	else
		c->unknown += n;
}

static int
counts_of(struct db *db, const char *sql, struct db_fleet_counts *c)
{
	sqlite3_stmt	*st;
	int		 rc;

	memset(c, 0, sizeof(*c));
	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		counts_add(c, col_text(st, 0), col_text(st, 1),
		    sqlite3_column_int64(st, 2));
	return db_rows_end(db, st, rc);
}

int
db_tentacles_count(struct db *db, struct db_fleet_counts *c)
{
	return counts_of(db, "SELECT enrolment, state, n FROM fleet_counts",
	    c);
}

int
db_tentacles_count_now(struct db *db, struct db_fleet_counts *c)
{
	/* From the index tentacles_enrolment_state alone. */
	return counts_of(db, "SELECT enrolment, state, count(*) FROM "
	    "tentacles GROUP BY enrolment, state", c);
}

/* PRAGMA data_version: changes when another connection commits. */
int
db_change_mark(struct db *db, struct db_mark *mark)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "PRAGMA data_version")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0) {
		mark->data_version = sqlite3_column_int64(st, 0);
		mark->changes = sqlite3_total_changes64(db_handle(db));
	}
	sqlite3_finalize(st);
	return rc == 0 ? 0 : -1;
}

int
db_run_pending(struct db *db, int64_t run, int *pending)
{
	sqlite3_stmt	*st;
	int		 rc;

	/* job_state_pending's states, each a SEARCH of jobs_run_state. */
	_Static_assert(JOB_QUEUED == 0 && JOB_SENT == 1 && JOB_RUNNING == 2 &&
	    JOB_DONE == 3, "the pending states are queued, sent, running");
	*pending = 0;
	if ((st = db_prepare(db, "SELECT EXISTS (SELECT 1 FROM jobs WHERE "
	    "run_id = ? AND state IN ('queued', 'sent', 'running'))")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, run);
	if ((rc = db_step_row(db, st)) == 0)
		*pending = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}
