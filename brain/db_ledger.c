/*
 * The ledger (issue 17): a hash chain over the audit log and the stored
 * results, so that an edit of the database behind the brain's back is
 * seen (octoBrain --verify-ledger). Entry n holds its row's table and ID,
 * the SHA-256 of the row's content (its columns, each with its type and
 * length, in a fixed order), the previous entry's hash (64 zeros for the
 * first), and its own hash: SHA-256 of "PREV\nTABLE\nROW\nCONTENT".
 * A result deleted by retention leaves its entry: verified as pruned.
 * A row changed by the brain (an audit row's count, brain/refusals.c) gets
 * a new entry: its row is checked against its newest entry.
 * Entries go only from the start, and only those whose rows retention
 * deleted (db_ledger_prune): the new start is recorded (ledger_start: its
 * first entry and the anchor, the hash of the entry before it, which the
 * first entry left must link to), so that a start cut without it, or an
 * anchor edited, is named.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <openssl/evp.h>

#include "crypto.h"
#include "dbint.h"
#include "log.h"

#define ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

/* The columns of each table, in the order they are hashed: a column
 * added later is not part of an old row's hash. */
static const char *
row_sql(const char *tbl, int *which)
{
	*which = DB_LEDGER_AUDIT_ROW;
	if (strcmp(tbl, "audit") == 0)
		return "SELECT id, at, actor, action, peer, detail, count FROM "
		    "audit WHERE id = ?";
	*which = DB_LEDGER_RESULT_ROW;
	if (strcmp(tbl, "results") == 0)
		return "SELECT id, job_id, outcome, exit_status, signal, "
		    "started_at_ms, duration_ms, truncated, output, "
		    "received_at FROM results WHERE id = ?";
	return NULL;
}

static void
put_u32(EVP_MD_CTX *ctx, uint32_t v)
{
	uint8_t	b[4] = { v >> 24, v >> 16, v >> 8, v };

	EVP_DigestUpdate(ctx, b, 4);
}

/* The SHA-256 of a row as hex: 0, DB_NOTFOUND, -1. */
static int
row_hash(struct db *db, const char *tbl, int64_t row, char hex[65])
{
	sqlite3_stmt	*st;
	EVP_MD_CTX	*ctx;
	uint8_t		 md[SHA256_LEN], b[8];
	unsigned	 mdlen;
	sqlite3_int64	 v;
	int		 i, n, rc, type, k, which;
	const char	*sql = row_sql(tbl, &which);

	if (sql == NULL || (st = db_cached_ledger(db, which, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, row);
	if ((rc = db_step_row(db, st)) != 0) {
		db_release(st);
		return rc;
	}
	if ((ctx = EVP_MD_CTX_new()) == NULL ||
	    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		db_release(st);
		return -1;
	}
	EVP_DigestUpdate(ctx, tbl, strlen(tbl) + 1);
	n = sqlite3_column_count(st);
	for (i = 0; i < n; i++) {
		type = sqlite3_column_type(st, i);
		b[0] = (uint8_t)type;
		EVP_DigestUpdate(ctx, b, 1);
		switch (type) {
		case SQLITE_INTEGER:
			v = sqlite3_column_int64(st, i);
			for (k = 0; k < 8; k++)
				b[k] = (uint8_t)((uint64_t)v >> (56 - 8 * k));
			EVP_DigestUpdate(ctx, b, 8);
			break;
		case SQLITE_NULL:
			break;
		default: {	/* text, blob, float: their bytes */
			const void	*p = sqlite3_column_blob(st, i);
			int		 len = sqlite3_column_bytes(st, i);

			put_u32(ctx, (uint32_t)len);
			if (len > 0)
				EVP_DigestUpdate(ctx, p, (size_t)len);
		}
		}
	}
	db_release(st);
	rc = EVP_DigestFinal_ex(ctx, md, &mdlen) == 1 ? 0 : -1;
	EVP_MD_CTX_free(ctx);
	if (rc == 0)
		hex_encode(md, sizeof(md), hex);
	return rc;
}

static int
entry_hash(const char *prev, const char *tbl, int64_t row,
    const char *content, char hex[65])
{
	char	s[256];
	uint8_t	md[SHA256_LEN];
	int	n;

	n = snprintf(s, sizeof(s), "%s\n%s\n%lld\n%s", prev, tbl,
	    (long long)row, content);
	if (n < 0 || (size_t)n >= sizeof(s) ||
	    crypto_sha256(s, (size_t)n, md) == -1)
		return -1;
	hex_encode(md, sizeof(md), hex);
	return 0;
}

int
db_ledger_head(struct db *db, char head[65], int64_t *len)
{
	sqlite3_stmt	*st;
	int		 rc;

	strlcpy(head, ZERO_HASH, 65);
	if (len)
		*len = 0;
	if ((st = db_cached_ledger(db, DB_LEDGER_HEAD, "SELECT entry, id FROM "
	    "ledger ORDER BY id DESC LIMIT 1")) == NULL)
		return -1;
	rc = db_step_row(db, st);
	if (rc == 0) {
		strlcpy(head, col_text(st, 0), 65);
		if (len)
			*len = sqlite3_column_int64(st, 1);
	}
	db_release(st);
	return rc == -1 ? -1 : 0;
}

int
db_ledger_start(struct db *db, int64_t *first, char anchor[65])
{
	sqlite3_stmt	*st;
	int		 rc;

	*first = 1;
	strlcpy(anchor, ZERO_HASH, 65);
	if ((st = db_prepare(db, "SELECT first, anchor FROM ledger_start "
	    "WHERE id = 1")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0) {
		*first = sqlite3_column_int64(st, 0);
		strlcpy(anchor, col_text(st, 1), 65);
	}
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}

int
db_ledger_entry(struct db *db, int64_t n, char hash[65])
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT entry FROM ledger WHERE id = ?")) ==
	    NULL)
		return -1;
	sqlite3_bind_int64(st, 1, n);
	if ((rc = db_step_row(db, st)) == 0)
		strlcpy(hash, col_text(st, 0), 65);
	sqlite3_finalize(st);
	return rc;
}

int
db_ledger_append(struct db *db, const char *tbl, int64_t row)
{
	sqlite3_stmt	*st;
	char		 content[65], prev[65], entry[65];
	int		 rc;

	if (row_hash(db, tbl, row, content) != 0 ||
	    db_ledger_head(db, prev, NULL) == -1 ||
	    entry_hash(prev, tbl, row, content, entry) == -1)
		return -1;
	if ((st = db_cached_ledger(db, DB_LEDGER_INSERT, "INSERT INTO ledger "
	    "(tbl, row_id, content, prev, entry) VALUES (?, ?, ?, ?, ?)")) ==
	    NULL)
		return -1;
	sqlite3_bind_text(st, 1, tbl, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, row);
	sqlite3_bind_text(st, 3, content, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, prev, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, entry, -1, SQLITE_STATIC);
	if ((rc = sqlite3_step(st)) != SQLITE_DONE)
		log_warnx("database: ledger: %s",
		    sqlite3_errmsg(db_handle(db)));
	db_release(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* Both tables' rows, in the order they were written (by time, then ID):
 * the chain of a brain of before. */
int
db_ledger_backfill(struct db *db)
{
	sqlite3_stmt	*st;
	int64_t		*rows = NULL;
	char		*tbls = NULL;
	size_t		 n = 0, cap = 0, i;
	int		 rc;

	if ((st = db_prepare(db, "SELECT 'a', id, at FROM audit UNION ALL "
	    "SELECT 'r', id, received_at FROM results ORDER BY 3, 1, 2")) ==
	    NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			size_t	 nc = cap ? cap * 2 : 256;
			int64_t	*nr = reallocarray(rows, nc, sizeof(*rows));
			char	*nt = nr ? realloc(tbls, nc) : NULL;

			if (nr)
				rows = nr;
			if (nt == NULL) {
				free(rows);
				free(tbls);
				sqlite3_finalize(st);
				return -1;
			}
			tbls = nt;
			cap = nc;
		}
		tbls[n] = col_text(st, 0)[0];
		rows[n++] = sqlite3_column_int64(st, 1);
	}
	rc = db_rows_end(db, st, rc);
	for (i = 0; rc == 0 && i < n; i++)
		rc = db_ledger_append(db, tbls[i] == 'a' ? "audit" : "results",
		    rows[i]);
	free(rows);
	free(tbls);
	return rc;
}

static int
broken(struct db_ledger_report *r, int64_t entry, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
broken(struct db_ledger_report *r, int64_t entry, const char *fmt, ...)
{
	va_list	ap;

	r->bad = entry;
	va_start(ap, fmt);
	vsnprintf(r->why, sizeof(r->why), fmt, ap);
	va_end(ap);
	return 1;
}

/* A row of tbl with an ID in (lo, hi] that has no entry (inserted
 * behind our back): 0 (*row), DB_NOTFOUND, -1. */
static int
unchained(struct db *db, const char *tbl, int64_t lo, int64_t hi,
    int64_t *row)
{
	sqlite3_stmt	*st;
	char		 sql[200];
	int		 rc;

	snprintf(sql, sizeof(sql), "SELECT id FROM %s t WHERE id > ?1 AND "
	    "id <= ?2 AND NOT EXISTS (SELECT 1 FROM ledger WHERE tbl = '%s' "
	    "AND row_id = t.id) ORDER BY id LIMIT 1", tbl, tbl);
	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, lo);
	sqlite3_bind_int64(st, 2, hi);
	if ((rc = db_step_row(db, st)) == 0)
		*row = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

/* The largest ID of tbl (0: none). */
static int
last_row(struct db *db, const char *tbl, int64_t *last)
{
	sqlite3_stmt	*st;
	char		 sql[64];
	int		 rc;

	snprintf(sql, sizeof(sql), "SELECT coalesce(max(id), 0) FROM %s", tbl);
	if ((st = db_prepare(db, sql)) == NULL)
		return -1;
	rc = db_step_row(db, st);
	*last = rc == 0 ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == -1 ? -1 : 0;
}

/* The oldest audit row left: 0, DB_NOTFOUND (none), -1. */
static int
audit_first(struct db *db, int64_t *first)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, "SELECT min(id) FROM audit")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0) {
		if (sqlite3_column_type(st, 0) == SQLITE_NULL)
			rc = DB_NOTFOUND;
		*first = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc;
}

/* Entries [first, next) go; next is the start, anchor its link. */
static int
prune_to(struct db *db, int64_t first, int64_t next, const char *anchor,
    time_t now)
{
	sqlite3_stmt	*st;

	if ((st = db_prepare(db, "DELETE FROM ledger WHERE id >= ?1 AND "
	    "id < ?2")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, next);
	if (db_step_done(db, st) == -1 ||
	    (st = db_prepare(db, "INSERT INTO ledger_start (id, first, "
	    "anchor, pruned_at) VALUES (1, ?1, ?2, ?3) ON CONFLICT (id) DO "
	    "UPDATE SET first = excluded.first, anchor = excluded.anchor, "
	    "pruned_at = excluded.pruned_at")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, next);
	sqlite3_bind_text(st, 2, anchor, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	return db_step_done(db, st);
}

/* Whether row of tbl is still there: 1, 0, -1. */
static int
row_exists(struct db *db, const char *tbl, int64_t row)
{
	sqlite3_stmt	*st;
	int		 rc;

	if ((st = db_prepare(db, strcmp(tbl, "audit") == 0 ?
	    "SELECT 1 FROM audit WHERE id = ?" :
	    "SELECT 1 FROM results WHERE id = ?")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, row);
	rc = db_step_row(db, st);
	sqlite3_finalize(st);
	return rc == -1 ? -1 : rc == 0;
}

/* Each entry that goes is checked as the walk checks it, and goes only
 * if the walk would call its row pruned: a chain broken, or a row
 * deleted in between, stays for the walk to name. */
int
db_ledger_prune(struct db *db, int limit, time_t now, int *n)
{
	sqlite3_stmt	*st;
	char		 anchor[65], entry[65], tbl[16];
	int64_t		 first, next, head, id, row, afirst = 0;
	int		 rc, hr, which, noaudit;

	*n = 0;
	if (db_begin(db) == -1)
		return -1;
	if (db_ledger_start(db, &first, anchor) == -1 ||
	    db_ledger_head(db, entry, &head) == -1 ||
	    (noaudit = audit_first(db, &afirst)) == -1 ||
	    (st = db_prepare(db, "SELECT id, tbl, row_id, content, prev, "
	    "entry FROM ledger WHERE id >= ?1 AND id < ?2 ORDER BY id "
	    "LIMIT ?3")) == NULL) {
		db_rollback(db);
		return -1;
	}
	/* Never the head: the next entry links to it. */
	sqlite3_bind_int64(st, 1, first);
	sqlite3_bind_int64(st, 2, head);
	sqlite3_bind_int(st, 3, limit);
	next = first;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		id = sqlite3_column_int64(st, 0);
		strlcpy(tbl, col_text(st, 1), sizeof(tbl));
		row = sqlite3_column_int64(st, 2);
		if (id != next || strcmp(col_text(st, 4), anchor) != 0 ||
		    row_sql(tbl, &which) == NULL || entry_hash(anchor, tbl,
		    row, col_text(st, 3), entry) == -1 ||
		    strcmp(entry, col_text(st, 5)) != 0)
			break;
		if ((hr = row_exists(db, tbl, row)) != 0) {
			if (hr == -1)
				rc = SQLITE_ERROR;
			break;
		}
		/* Audit retention deletes the oldest rows. */
		if (strcmp(tbl, "audit") == 0 &&
		    (noaudit == DB_NOTFOUND || row >= afirst))
			break;
		strlcpy(anchor, entry, sizeof(anchor));
		next = id + 1;
	}
	sqlite3_finalize(st);
	if ((rc != SQLITE_ROW && rc != SQLITE_DONE) || (next > first &&
	    (prune_to(db, first, next, anchor, now) == -1))) {
		db_rollback(db);
		return -1;
	}
	*n = (int)(next - first);
	return db_commit(db);
}

/* One entry of the chain (st's row): 0 good, 1 broken, -1. */
static int
check_entry(struct db *db, struct db_ledger_walk *w, sqlite3_stmt *st)
{
	struct db_ledger_report	*r = &w->r;
	char			 content[65], entry[65], tbl[16], gone[64];
	int64_t			 id, row, first = 0;
	int			 hr, which;

	id = sqlite3_column_int64(st, 0);
	strlcpy(tbl, col_text(st, 1), sizeof(tbl));
	row = sqlite3_column_int64(st, 2);
	r->entries++;
	if (id != w->next && w->next == w->first) {
		if (id - 1 > w->next)
			snprintf(gone, sizeof(gone), "entries %lld to %lld were",
			    (long long)w->next, (long long)id - 1);
		else
			snprintf(gone, sizeof(gone), "entry %lld was",
			    (long long)w->next);
		return broken(r, w->next, "%s removed from the start without "
		    "the recorded start (entry %lld) moved: the first entry "
		    "left is %lld (%s row %lld)", gone, (long long)w->first,
		    (long long)id, tbl, (long long)row);
	}
	if (id != w->next)
		return broken(r, w->next, "entry %lld is missing (the next "
		    "one is %lld)", (long long)w->next, (long long)id);
	w->next++;
	if (strcmp(col_text(st, 4), w->prev) != 0 && id == w->first &&
	    w->first > 1)
		return broken(r, id, "entry %lld (%s row %lld) does not link "
		    "to the recorded start's anchor %s: the anchor or the "
		    "entry was edited", (long long)id, tbl, (long long)row,
		    w->prev);
	if (strcmp(col_text(st, 4), w->prev) != 0)
		return broken(r, id, "entry %lld (%s row %lld) does not "
		    "follow entry %lld: entries removed, inserted or "
		    "reordered", (long long)id, tbl, (long long)row,
		    (long long)id - 1);
	if (row_sql(tbl, &which) == NULL || entry_hash(w->prev, tbl, row,
	    col_text(st, 3), entry) == -1 ||
	    strcmp(entry, col_text(st, 5)) != 0)
		return broken(r, id, "entry %lld (%s row %lld) was edited: "
		    "its hash does not match", (long long)id, tbl,
		    (long long)row);
	strlcpy(w->prev, entry, sizeof(w->prev));
	if (!sqlite3_column_int(st, 6))
		return 0;	/* an older state of a row changed since */
	if ((hr = row_hash(db, tbl, row, content)) == -1)
		return -1;
	if (hr == DB_NOTFOUND && strcmp(tbl, "results") == 0)
		r->pruned++;
	else if (hr == DB_NOTFOUND) {
		/* Audit retention deletes the oldest rows: one below every
		 * row left is pruned; one in between was deleted. */
		if ((hr = audit_first(db, &first)) == -1)
			return -1;
		if (hr == DB_NOTFOUND || row >= first)
			return broken(r, id, "entry %lld: %s row %lld was "
			    "deleted", (long long)id, tbl, (long long)row);
		r->audit_pruned++;
		return 0;
	}
	else if (strcmp(content, col_text(st, 3)) != 0)
		return broken(r, id, "entry %lld: %s row %lld was changed",
		    (long long)id, tbl, (long long)row);
	if (strcmp(tbl, "audit") == 0)
		r->audit++;
	else
		r->results++;
	return 0;
}

void
db_ledger_walk_init(struct db_ledger_walk *w)
{
	memset(w, 0, sizeof(*w));
	w->next = w->first = 1;
	strlcpy(w->prev, ZERO_HASH, sizeof(w->prev));
}

/* The recorded start: where the walk begins, what it links to. */
static int
walk_begin(struct db *db, struct db_ledger_walk *w)
{
	sqlite3_stmt	*st;
	int64_t		 lowest = 0;
	int		 rc;

	if (db_ledger_start(db, &w->first, w->prev) == -1 ||
	    (st = db_prepare(db, "SELECT min(id) FROM ledger")) == NULL)
		return -1;
	if ((rc = db_step_row(db, st)) == 0)
		lowest = sqlite3_column_int64(st, 0);	/* 0: none */
	sqlite3_finalize(st);
	if (rc == -1)
		return -1;
	w->next = w->first;
	w->r.start_pruned = w->first - 1;
	strlcpy(w->r.start_hash, w->prev, sizeof(w->r.start_hash));
	if (w->first < 1 || (lowest > 0 && lowest < w->first))
		return broken(&w->r, lowest, "entry %lld is before the "
		    "recorded start (entry %lld): the start was edited",
		    (long long)lowest, (long long)w->first);
	return 0;
}

/* Up to n entries of the chain from w->next. */
static int
walk_chain(struct db *db, struct db_ledger_walk *w, int n, int *more)
{
	sqlite3_stmt	*st;
	int		 rc, got = 0;

	if ((st = db_prepare(db, "SELECT l.id, l.tbl, l.row_id, l.content, "
	    "l.prev, l.entry, NOT EXISTS (SELECT 1 FROM ledger n WHERE "
	    "n.tbl = l.tbl AND n.row_id = l.row_id AND n.id > l.id) FROM "
	    "ledger l WHERE l.id >= ?1 ORDER BY l.id LIMIT ?2")) == NULL)
		return -1;
	sqlite3_bind_int64(st, 1, w->next);
	sqlite3_bind_int(st, 2, n);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		got++;
		if ((rc = check_entry(db, w, st)) != 0) {
			sqlite3_finalize(st);
			return rc;
		}
	}
	*more = got == n;
	return db_rows_end(db, st, rc);
}

int
db_ledger_walk_step(struct db *db, struct db_ledger_walk *w, int n)
{
	static const char *const tbls[] = { "audit", "results" };
	int64_t		 row, hi;
	int		 rc, more;

	if (n < 1)
		n = 1;
	if (w->phase == 0) {
		if (!w->begun) {
			w->begun = 1;
			if ((rc = walk_begin(db, w)) != 0)
				return rc;
		}
		if ((rc = walk_chain(db, w, n, &more)) != 0)
			return rc;
		if (more)
			return 2;
		/* Pruning keeps the head. */
		if (w->r.entries == 0 && w->first > 1)
			return broken(&w->r, w->first, "every entry from the "
			    "recorded start (entry %lld) on was removed",
			    (long long)w->first);
		w->phase = 1;
		w->row = 0;
		if (last_row(db, tbls[0], &w->last) == -1)
			return -1;
		return 2;
	}
	/* Then each table, n IDs a step: a row with no entry. */
	hi = w->row > INT64_MAX - n ? INT64_MAX : w->row + n;
	if ((rc = unchained(db, tbls[w->phase - 1], w->row, hi, &row)) == -1)
		return -1;
	if (rc == 0)
		return broken(&w->r, 0, "%s row %lld has no ledger entry "
		    "(written behind the brain's back)", tbls[w->phase - 1],
		    (long long)row);
	w->row = hi;
	if (w->row < w->last)
		return 2;
	if (w->phase == 2)
		return 0;
	w->phase = 2;
	w->row = 0;
	return last_row(db, tbls[1], &w->last) == -1 ? -1 : 2;
}

int
db_ledger_verify(struct db *db, struct db_ledger_report *r)
{
	struct db_ledger_walk	w;
	int			rc;

	db_ledger_walk_init(&w);
	while ((rc = db_ledger_walk_step(db, &w, 10000)) == 2)
		;
	*r = w.r;
	return rc;
}
