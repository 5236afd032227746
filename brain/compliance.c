/*
 * The maestro's compliance API (SPEC "Groups, schedules, compliance,
 * waivers"): the matrix as of a time, paged over tentacles with the
 * fleet's score; its daily history; one host's timeline of a script;
 * waivers. The rows come from db_compliance.c; this file makes their
 * JSON (the matrix, its history and timelines as text, in one pass: see
 * below) and checks what the webserv could not (times against now, the
 * tentacle of a waiver).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "buf.h"
#include "log.h"
#include "maestro.h"
#include "turnclock.h"
#include "views.h"

/* ---- GET /api/compliance ------------------------------------------------
 * The answer of 1,000 hosts x 30 scripts is 30,000 cells (3 MB): written
 * as text here, in one pass over the page's rows, rather than built as
 * jansson objects (several times slower, with the maestro's loop waiting).
 * The strings are valid UTF-8 (host names and columns are checked names,
 * reasons came in as JSON): only quotes, backslashes and control
 * characters are escaped.
 */

static void
text_add(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

static void
text_str(struct buf *b, const char *s)
{
	static const char	 special[] = "\"\\"
	    "\001\002\003\004\005\006\007\010\011\012\013\014\015\016\017"
	    "\020\021\022\023\024\025\026\027\030\031\032\033\034\035\036\037";
	char			 esc[16];
	size_t			 n;

	buf_append(b, "\"", 1);
	while (*s) {
		/* The plain run, at once. */
		n = strcspn(s, special);
		buf_append(b, s, n);
		s += n;
		if (*s == '\0')
			break;
		if (*s == '"' || *s == '\\') {
			esc[0] = '\\';
			esc[1] = *s;
			buf_append(b, esc, 2);
		} else {
			snprintf(esc, sizeof(esc), "\\u%04x",
			    (unsigned)(unsigned char)*s);
			buf_append(b, esc, 6);
		}
		s++;
	}
	buf_append(b, "\"", 1);
}

static void
text_int(struct buf *b, int64_t v)
{
	char		 n[24], *p = n + sizeof(n);
	uint64_t	 u = v < 0 ? -(uint64_t)v : (uint64_t)v;

	do
		*--p = (char)('0' + u % 10);
	while ((u /= 10) > 0);
	if (v < 0)
		*--p = '-';
	buf_append(b, p, (size_t)(n + sizeof(n) - p));
}

/* rfc3339() of the cells' times: most of a matrix's cells share a few
 * (one a run), so the last one is kept. */
struct at_memo {
	time_t	at;
	char	text[32];
};

static const char *
at_text(struct at_memo *memo, time_t at)
{
	if (memo->text[0] == '\0' || memo->at != at) {
		rfc3339(at, memo->text, sizeof(memo->text));
		memo->at = at;
	}
	return memo->text;
}

/* A cell: {"verdict", "result", "at", "failed_checks", "waiver"?}; NULL
 * is a none cell. */
static void
text_cell(struct buf *b, const struct db_cell *c, struct at_memo *memo)
{
	if (c == NULL) {
		text_add(b, "{\"verdict\":\"none\",\"result\":null,\"at\":null,"
		    "\"failed_checks\":0}");
		return;
	}
	text_add(b, "{\"verdict\":\"");
	text_add(b, cell_verdict_name(c->verdict));
	text_add(b, "\",\"result\":");
	text_int(b, c->result);
	text_add(b, ",\"at\":\"");
	text_add(b, at_text(memo, c->at));
	text_add(b, "\",\"failed_checks\":");
	text_int(b, c->failed);
	if (c->waiver != 0) {
		text_add(b, ",\"waiver\":{\"id\":");
		text_int(b, c->waiver);
		text_add(b, ",\"reason\":");
		text_str(b, c->waiver_reason);
		text_add(b, c->verdict == CELL_COMPLIANT ? ",\"unused\":true}" :
		    ",\"unused\":false}");
	}
	text_add(b, "}");
}

struct matrix_host {
	int64_t	 id;
	char	*hostname;
	char	*labels;
};

struct matrix {
	char			**cols;
	char			**keys;		/* the columns as "name": */
	size_t			  ncols, capcols;
	struct at_memo		  memo;
	struct compliance_counts  counts;	/* of the cells written */
	struct matrix_host	 *hosts;
	size_t			  nhosts, caphosts;
	struct buf		  out;
	size_t			  host;		/* the one being written */
	size_t			  col;		/* its next column */
	size_t			  done;		/* hosts written whole */
	int			  full;		/* past the byte budget */
	int			  oom;
};

static void
matrix_column(const char *name, void *arg)
{
	struct matrix	*mx = arg;
	char		**v;
	struct buf	  key;

	if (mx->ncols == mx->capcols) {
		if ((v = reallocarray(mx->cols, mx->capcols * 2 + 16,
		    sizeof(*v))) == NULL) {
			mx->oom = 1;
			return;
		}
		mx->cols = v;
		if ((v = reallocarray(mx->keys, mx->capcols * 2 + 16,
		    sizeof(*v))) == NULL) {
			mx->oom = 1;
			return;
		}
		mx->keys = v;
		mx->capcols = mx->capcols * 2 + 16;
	}
	buf_init(&key, 4 * FINDING_CHECK_MAX + 16);
	text_str(&key, name);
	if (buf_append(&key, ":", 2) == -1 ||	/* and the NUL */
	    (mx->cols[mx->ncols] = strdup(name)) == NULL) {
		free(key.data);
		mx->oom = 1;
		return;
	}
	mx->keys[mx->ncols++] = (char *)key.data;
}

static void
matrix_tentacle(const struct db_compliance_tentacle *t, void *arg)
{
	struct matrix		*mx = arg;
	struct matrix_host	*v;

	if (mx->nhosts == mx->caphosts) {
		if ((v = reallocarray(mx->hosts, mx->caphosts * 2 + 64,
		    sizeof(*v))) == NULL) {
			mx->oom = 1;
			return;
		}
		mx->hosts = v;
		mx->caphosts = mx->caphosts * 2 + 64;
	}
	v = &mx->hosts[mx->nhosts];
	v->id = t->id;
	v->hostname = strdup(t->hostname);
	v->labels = strdup(t->labels);
	if (v->hostname == NULL || v->labels == NULL) {
		free(v->hostname);
		free(v->labels);
		mx->oom = 1;
		return;
	}
	mx->nhosts++;
}

/* The cells of the current host up to column `until` (none ones), and
 * its end when until is ncols. */
static void
matrix_fill(struct matrix *mx, size_t until)
{
	for (; mx->col < until; mx->col++) {
		if (mx->col > 0)
			text_add(&mx->out, ",");
		text_add(&mx->out, mx->keys[mx->col]);
		text_cell(&mx->out, NULL, NULL);
		mx->counts.n[CELL_NONE]++;
	}
}

/* Close the current host, open the next (or stop past the budget). */
static int
matrix_next_host(struct matrix *mx)
{
	struct matrix_host	*h;
	const char		*p, *e;

	if (mx->host < mx->nhosts) {
		matrix_fill(mx, mx->ncols);
		text_add(&mx->out, "}}");
		mx->done = mx->host + 1;
		if (mx->out.len > COMPLIANCE_REPLY_MAX) {
			mx->full = 1;
			return -1;
		}
		mx->host++;
	} else if (mx->host > mx->nhosts)
		mx->host = 0;	/* the first */
	if (mx->host >= mx->nhosts)
		return -1;
	h = &mx->hosts[mx->host];
	text_add(&mx->out, mx->host ? ",{\"id\":" : "{\"id\":");
	text_int(&mx->out, h->id);
	text_add(&mx->out, ",\"hostname\":");
	text_str(&mx->out, h->hostname);
	text_add(&mx->out, ",\"labels\":[");
	for (p = h->labels; *p; p = *e ? e + 1 : e) {
		e = p + strcspn(p, ",");
		if (p != h->labels)
			text_add(&mx->out, ",");
		buf_append(&mx->out, "\"", 1);
		buf_append(&mx->out, p, (size_t)(e - p));	/* a-z0-9._- */
		buf_append(&mx->out, "\"", 1);
	}
	text_add(&mx->out, "],\"cells\":{");
	mx->col = 0;
	return 0;
}

static void
matrix_cell(const struct db_cell *c, void *arg)
{
	struct matrix	*mx = arg;
	size_t		 j;

	if (mx->full)
		return;
	while (mx->host >= mx->nhosts || mx->hosts[mx->host].id !=
	    c->tentacle)
		if (matrix_next_host(mx) == -1)
			return;
	/* Columns come in the same order (by name, SQLite's BINARY). */
	for (j = mx->col; j < mx->ncols && strcmp(mx->cols[j], c->column) !=
	    0; j++)
		;
	if (j == mx->ncols)
		return;		/* not a column of this answer */
	matrix_fill(mx, j);
	if (mx->col > 0)
		text_add(&mx->out, ",");
	text_add(&mx->out, mx->keys[j]);
	text_cell(&mx->out, c, &mx->memo);
	mx->counts.n[c->verdict]++;
	mx->col = j + 1;
}

static void
matrix_free(struct matrix *mx)
{
	size_t	i;

	for (i = 0; i < mx->ncols; i++) {
		free(mx->cols[i]);
		free(mx->keys[i]);
	}
	free(mx->cols);
	free(mx->keys);
	for (i = 0; i < mx->nhosts; i++) {
		free(mx->hosts[i].hostname);
		free(mx->hosts[i].labels);
	}
	free(mx->hosts);
	free(mx->out.data);	/* no secret: no need to wipe 3 MB */
}

/* "score":S,"compliant":N,"findings":N,"errors":N,"waived":N,"none":N
 * (score null when nothing is scored); in "counts":{} without the score
 * for the matrix, beside the date for a day of the history. */
static void
text_counts(struct buf *b, const struct compliance_counts *c, int score)
{
	static const struct {
		const char		*name;
		enum cell_verdict	 v;
	} order[] = {
		{ "compliant", CELL_COMPLIANT }, { "findings", CELL_FINDINGS },
		{ "errors", CELL_ERROR }, { "waived", CELL_WAIVED },
		{ "none", CELL_NONE },
	};
	size_t	i;
	double	s;
	char	num[32];

	if (score) {
		text_add(b, "\"score\":");
		if ((s = compliance_score(c)) < 0)
			text_add(b, "null");
		else {
			snprintf(num, sizeof(num), "%.1f", s);
			text_add(b, num);
		}
	}
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		text_add(b, i || score ? ",\"" : "\"");
		text_add(b, order[i].name);
		text_add(b, "\":");
		text_int(b, c->n[order[i].v]);
	}
}

/*
 * The matrix is made over turns of the maestro's loop: each turn does
 * pieces (the columns, the page's tentacles, the cells of some of them,
 * the fleet's counts of some) until MATRIX_TURN_MS have passed, then
 * queues the next turn (a zero timeout: whatever else is ready runs
 * first). A small fleet's answer is made in one turn; 1,000 x 30 in a
 * few; no turn holds the loop for long. Results stored between two turns
 * may be in the cells of one and not in those of an earlier one (as with
 * two pages).
 */
#define MATRIX_TURN_MS		10
/* Cells (tentacles x columns) of one piece: some ms of SQLite. */
#define MATRIX_PIECE_CELLS	2000
#define MATRIX_PIECE_HOSTS	100	/* by check: the fleet's walk */

enum matrix_phase {
	MP_COLUMNS,	/* by check: in pieces over the fleet */
	MP_TENTACLES,	/* the page's */
	MP_CELLS,	/* in pieces over the page's tentacles */
	MP_COUNTS,	/* in pieces over the fleet, if not the page's */
	MP_DONE
};

struct matrix_req {
	uint32_t		 id;		/* the webserv's request */
	unsigned		 generation;
	unsigned		 limit_asked;
	char			 labels[PROTO_LABELS_TEXT_MAX];
	struct compliance_query	 q;
	struct matrix		 mx;
	struct compliance_counts counts;
	int64_t			 seen;		/* counted cells not none */
	enum matrix_phase	 phase;
	int64_t			 cursor;	/* the fleet's walk: last ID */
	size_t			 next_host;	/* the page's: next to read */
	size_t			 piece;		/* tentacles a piece */
	int			 more;
	/* By check: the columns met so far, sorted. */
	char			**checks;
	size_t			 nchecks, capchecks;
	int64_t			 t0, longest;	/* ms */
	int64_t			 cpu;		/* ms, the turns' */
	unsigned		 turns;
	struct event		*ev;
};

static void	matrix_turn(evutil_socket_t, short, void *);

/* A check column of a piece: into the sorted set, its cells counted. */
static void
matrix_check(const char *col, enum cell_verdict v, int64_t n, void *arg)
{
	struct matrix_req	*mr = arg;
	size_t			 lo = 0, hi = mr->nchecks, mid;
	char			**nv;
	int			 c;

	mr->counts.n[v] += n;
	mr->seen += n;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if ((c = strcmp(mr->checks[mid], col)) == 0)
			return;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (mr->nchecks == mr->capchecks) {
		if ((nv = reallocarray(mr->checks, mr->capchecks * 2 + 16,
		    sizeof(*nv))) == NULL) {
			mr->mx.oom = 1;
			return;
		}
		mr->checks = nv;
		mr->capchecks = mr->capchecks * 2 + 16;
	}
	memmove(&mr->checks[lo + 1], &mr->checks[lo], (mr->nchecks - lo) *
	    sizeof(*mr->checks));
	if ((mr->checks[lo] = strdup(col)) == NULL) {
		memmove(&mr->checks[lo], &mr->checks[lo + 1], (mr->nchecks -
		    lo) * sizeof(*mr->checks));
		mr->mx.oom = 1;
		return;
	}
	mr->nchecks++;
}

static void
matrix_req_free(struct matrix_req *mr)
{
	size_t	i;

	for (i = 0; i < mr->nchecks; i++)
		free(mr->checks[i]);
	free(mr->checks);
	matrix_free(&mr->mx);
	if (mr->ev != NULL)
		event_free(mr->ev);
	free(mr);
}

/* The none cells of the fleet: hosts x columns not counted. */
static int
matrix_none(struct matrix_req *mr)
{
	int64_t	hosts, all;

	if (db_compliance_fleet_count(m.db, &mr->q, &hosts) == -1)
		return -1;
	all = hosts * (int64_t)mr->mx.ncols;
	if (all > mr->seen)
		mr->counts.n[CELL_NONE] += all - mr->seen;
	return 0;
}

/* The answer's head, once the columns are known. */
static void
matrix_head(struct matrix_req *mr)
{
	struct matrix	*mx = &mr->mx;
	size_t		 i;
	char		 asof[32];

	/* Fewer tentacles a page when there are many columns. */
	mr->q.limit = mr->limit_asked;
	if (mx->ncols > 0 && mr->q.limit > COMPLIANCE_CELLS_MAX / mx->ncols)
		mr->q.limit = COMPLIANCE_CELLS_MAX / mx->ncols > 0 ?
		    (unsigned)(COMPLIANCE_CELLS_MAX / mx->ncols) : 1;
	mr->piece = mx->ncols > 0 ? MATRIX_PIECE_CELLS / mx->ncols : 1000;
	if (mr->piece == 0)
		mr->piece = 1;
	rfc3339(mr->q.as_of, asof, sizeof(asof));
	text_add(&mx->out, "{\"as_of\":\"");
	text_add(&mx->out, asof);
	text_add(&mx->out, mr->q.by_check ? "\",\"by\":\"check\",\"scripts\":"
	    "[" : "\",\"by\":\"script\",\"scripts\":[");
	for (i = 0; i < mx->ncols; i++) {
		if (i)
			text_add(&mx->out, ",");
		text_str(&mx->out, mx->cols[i]);
	}
	text_add(&mx->out, "],\"tentacles\":[");
	mx->host = SIZE_MAX;	/* none opened yet */
}

/* One piece of the current phase: 0, or -1 (a database error). */
static int
matrix_piece(struct matrix_req *mr)
{
	struct matrix	*mx = &mr->mx;
	int64_t		 last, lo;
	size_t		 i, end;

	switch (mr->phase) {
	case MP_COLUMNS:
		if (!mr->q.by_check) {
			if (db_compliance_script_columns(m.db, &mr->q,
			    matrix_column, mx) == -1)
				return -1;
		} else {
			if (db_compliance_fleet_next(m.db, &mr->q, mr->cursor,
			    MATRIX_PIECE_HOSTS, &last) == -1)
				return -1;
			if (last != 0) {
				if (db_compliance_check_columns(m.db, &mr->q,
				    mr->cursor, last, matrix_check, mr) == -1)
					return -1;
				mr->cursor = last;
				return 0;
			}
			for (i = 0; i < mr->nchecks; i++)
				matrix_column(mr->checks[i], mx);
			if (matrix_none(mr) == -1)
				return -1;
		}
		matrix_head(mr);
		mr->phase = MP_TENTACLES;
		return 0;
	case MP_TENTACLES:
		if (db_compliance_tentacles(m.db, &mr->q, matrix_tentacle, mx,
		    &mr->more) == -1)
			return -1;
		/* Some 100 bytes a cell. */
		buf_reserve(&mx->out, mx->nhosts * (mx->ncols + 1) * 100);
		mr->phase = MP_CELLS;
		return 0;
	case MP_CELLS:
		if (mr->next_host < mx->nhosts && !mx->full) {
			lo = mr->next_host == 0 ? mr->q.after :
			    mx->hosts[mr->next_host - 1].id;
			end = mr->next_host + mr->piece;
			if (end > mx->nhosts)
				end = mx->nhosts;
			if (db_compliance_cells(m.db, &mr->q, lo,
			    mx->hosts[end - 1].id, matrix_cell, mx) == -1)
				return -1;
			mr->next_host = end;
			return 0;
		}
		/* The hosts after the last cell (or all of them, when no
		 * cell). */
		if (mx->host == SIZE_MAX)
			mx->host = mx->nhosts + 1;
		while (!mx->full && matrix_next_host(mx) == 0)
			;
		if (mx->full && mx->done < mx->nhosts)
			mr->more = 1;
		mr->phase = MP_COUNTS;
		mr->cursor = 0;
		/* By check, counted with the columns; by script, the
		 * page's when it is the whole fleet. */
		if (mr->q.by_check)
			mr->phase = MP_DONE;
		else if (mr->q.after == 0 && !mr->more && !mx->full) {
			mr->counts = mx->counts;
			mr->phase = MP_DONE;
		}
		return 0;
	case MP_COUNTS:
		if (db_compliance_fleet_next(m.db, &mr->q, mr->cursor,
		    (unsigned)mr->piece, &last) == -1)
			return -1;
		if (last == 0) {
			if (matrix_none(mr) == -1)
				return -1;
			mr->phase = MP_DONE;
			return 0;
		}
		if (db_compliance_counts_range(m.db, &mr->q, mr->cursor, last,
		    &mr->counts, &mr->seen) == -1)
			return -1;
		mr->cursor = last;
		return 0;
	case MP_DONE:
		break;
	}
	return 0;
}

/* The answer's tail, and the reply. */
static void
matrix_send(struct matrix_req *mr)
{
	struct matrix	*mx = &mr->mx;

	text_add(&mx->out, "],");
	text_counts(&mx->out, &mr->counts, 1);
	text_add(&mx->out, ",\"counts\":{");
	text_counts(&mx->out, &mr->counts, 0);
	text_add(&mx->out, "},\"limit\":");
	text_int(&mx->out, mr->q.limit);
	text_add(&mx->out, ",\"next\":");
	if (mr->more && mx->done > 0)
		text_int(&mx->out, mx->hosts[mx->done - 1].id);
	else
		text_add(&mx->out, "null");
	text_add(&mx->out, "}");
	if (buf_append(&mx->out, "", 1) == -1)	/* the NUL; fits? */
		reply_error(mr->id, mr->generation, 500, "the answer is too "
		    "large");
	else
		reply_send_text(mr->id, mr->generation, 200,
		    (char *)mx->out.data, NULL);
}

/* Pieces until the turn's time is up; then the next turn, or the reply
 * (and the request freed). */
static void
matrix_turn(evutil_socket_t fd, short events, void *arg)
{
	struct matrix_req	*mr = arg;
	struct timeval		 zero = { 0, 0 };
	int64_t			 t0 = turn_now_ms(), c0 = turn_cpu_ms(), ms;
	int			 rc = 0;

	while (mr->phase != MP_DONE && rc == 0 && !mr->mx.oom &&
	    turn_now_ms() - t0 < MATRIX_TURN_MS)
		rc = matrix_piece(mr);
	mr->turns++;
	if (rc == -1 || mr->mx.oom) {
		reply_error(mr->id, mr->generation, 500, rc == -1 ?
		    "database error" : "out of memory");
		matrix_req_free(mr);
		return;
	}
	if (mr->phase != MP_DONE) {
		if (mr->ev == NULL && (mr->ev = evtimer_new(m.base, matrix_turn,
		    mr)) == NULL) {
			reply_error(mr->id, mr->generation, 500, "out of "
			    "memory");
			matrix_req_free(mr);
			return;
		}
		evtimer_add(mr->ev, &zero);
		if ((ms = turn_now_ms() - t0) > mr->longest)
			mr->longest = ms;
		mr->cpu += turn_cpu_ms() - c0;
		return;
	}
	matrix_send(mr);
	ms = turn_now_ms() - t0;
	if (ms > mr->longest)
		mr->longest = ms;
	mr->cpu += turn_cpu_ms() - c0;
	/* The times the loop waited (make bench reads them). */
	log_debug("compliance: %zu hosts x %zu columns, %zu bytes, in %u "
	    "turns, the longest %lld ms, %lld ms in all, CPU %lld ms",
	    mr->mx.done, mr->mx.ncols, mr->mx.out.len, mr->turns,
	    (long long)mr->longest, (long long)(turn_now_ms() - mr->t0),
	    (long long)mr->cpu);
	matrix_req_free(mr);
}

void
api_compliance(const struct api_req *r)
{
	struct matrix_req	*mr;
	time_t			 now = time(NULL);
	int			 rc;

	if ((mr = calloc(1, sizeof(*mr))) == NULL) {
		api_error(r, 500, "out of memory");
		return;
	}
	mr->t0 = turn_now_ms();
	mr->id = r->id;
	mr->generation = r->c->generation;
	mr->q.as_of = r->a->as_of ? (time_t)r->a->as_of : now;
	if (mr->q.as_of > now) {
		free(mr);
		api_error(r, 400, "as_of is in the future");
		return;
	}
	strlcpy(mr->labels, r->a->labels, sizeof(mr->labels));
	mr->q.labels = mr->labels;
	mr->q.by_check = r->a->by_check;
	mr->q.after = (int64_t)r->a->after;
	mr->limit_asked = r->a->limit;
	/* Decided once: every piece reads the cells the same way. */
	if ((rc = db_compliance_is_now(m.db, &mr->q)) == -1) {
		free(mr);
		api_error(r, 500, "database error");
		return;
	}
	mr->q.latest = rc;
	/* Past IPC_PAYLOAD_MAX, reply_send_text answers 500 "too large". */
	buf_init(&mr->mx.out, 16 * IPC_PAYLOAD_MAX);
	mr->phase = MP_COLUMNS;
	matrix_turn(-1, 0, mr);
}

/* ---- GET /api/compliance/history ---------------------------------------- */

/* Made over turns of the loop too: the fleet walked in pieces of
 * HISTORY_PIECE_HOSTS tentacles (each, its cells' results of the window),
 * MATRIX_TURN_MS a turn. */
#define HISTORY_PIECE_HOSTS	50

struct history_req {
	uint32_t		 id;
	unsigned		 generation;
	unsigned		 days;
	time_t			 now;
	char			 labels[PROTO_LABELS_TEXT_MAX];
	struct compliance_query	 q;		/* the fleet's walk */
	int64_t			 cursor;	/* its last ID */
	struct compliance_counts *counts;	/* by day */
	struct event		*ev;
	int64_t			 t0, longest;
	unsigned		 turns;
};

static void
history_free(struct history_req *hr)
{
	if (hr->ev != NULL)
		event_free(hr->ev);
	free(hr->counts);
	free(hr);
}

static void
history_send(struct history_req *hr)
{
	struct buf	out;
	unsigned	d;
	time_t		day;
	struct tm	tm;
	char		date[16];

	buf_init(&out, IPC_PAYLOAD_MAX);
	text_add(&out, "{\"points\":[");
	for (d = 0; d < hr->days; d++) {
		day = hr->now - (time_t)(hr->days - 1 - d) * 86400;
		gmtime_r(&day, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		text_add(&out, d ? ",{\"date\":\"" : "{\"date\":\"");
		text_add(&out, date);
		text_add(&out, "\",");
		text_counts(&out, &hr->counts[d], 1);
		text_add(&out, "}");
	}
	text_add(&out, "]}");
	if (buf_append(&out, "", 1) == -1)
		reply_error(hr->id, hr->generation, 500, "the answer is too "
		    "large");
	else
		reply_send_text(hr->id, hr->generation, 200, (char *)out.data,
		    NULL);
	free(out.data);
}

static void
history_turn(evutil_socket_t fd, short events, void *arg)
{
	struct history_req	*hr = arg;
	struct timeval		 zero = { 0, 0 };
	int64_t			 t0 = turn_now_ms(), last = -1, ms;
	int			 rc = 0;

	while (rc == 0 && last != 0 && turn_now_ms() - t0 < MATRIX_TURN_MS) {
		if ((rc = db_compliance_fleet_next(m.db, &hr->q, hr->cursor,
		    HISTORY_PIECE_HOSTS, &last)) == 0 && last != 0) {
			rc = db_compliance_history_range(m.db, hr->now,
			    hr->days, hr->labels, hr->cursor, last,
			    hr->counts);
			hr->cursor = last;
		}
	}
	if ((ms = turn_now_ms() - t0) > hr->longest)
		hr->longest = ms;
	hr->turns++;
	if (rc == -1) {
		reply_error(hr->id, hr->generation, 500, "database error");
		history_free(hr);
		return;
	}
	if (last != 0) {
		if (hr->ev == NULL && (hr->ev = evtimer_new(m.base,
		    history_turn, hr)) == NULL) {
			reply_error(hr->id, hr->generation, 500, "out of "
			    "memory");
			history_free(hr);
			return;
		}
		evtimer_add(hr->ev, &zero);
		return;
	}
	history_send(hr);
	log_debug("compliance history: %u days, in %u turns, the longest %lld "
	    "ms, %lld ms in all", hr->days, hr->turns, (long long)hr->longest,
	    (long long)(turn_now_ms() - hr->t0));
	history_free(hr);
}

void
api_compliance_history(const struct api_req *r)
{
	struct history_req	*hr;

	if ((hr = calloc(1, sizeof(*hr))) == NULL ||
	    (hr->counts = calloc(r->a->days ? r->a->days : 1,
	    sizeof(*hr->counts))) == NULL) {
		free(hr);
		api_error(r, 500, "out of memory");
		return;
	}
	hr->t0 = turn_now_ms();
	hr->id = r->id;
	hr->generation = r->c->generation;
	hr->days = r->a->days;
	hr->now = time(NULL);
	strlcpy(hr->labels, r->a->labels, sizeof(hr->labels));
	hr->q.as_of = hr->now;
	hr->q.labels = hr->labels;
	history_turn(-1, 0, hr);
}

/* ---- GET /api/compliance/timeline --------------------------------------- */

struct timeline {
	struct buf	out;
	struct at_memo	memo;
	int		n;
};

static void
timeline_point(const struct db_cell *c, void *arg)
{
	struct timeline	*tl = arg;

	if (tl->n++ > 0)
		text_add(&tl->out, ",");
	text_cell(&tl->out, c, &tl->memo);
}

void
api_compliance_timeline(const struct api_req *r)
{
	struct timeline	tl;

	memset(&tl, 0, sizeof(tl));
	buf_init(&tl.out, IPC_PAYLOAD_MAX);
	text_add(&tl.out, "{\"tentacle\":");
	text_int(&tl.out, api_id(r->a));
	text_add(&tl.out, ",\"script\":");
	text_str(&tl.out, r->a->script);
	text_add(&tl.out, ",\"points\":[");
	if (db_compliance_timeline(m.db, api_id(r->a), r->a->script,
	    r->a->limit, time(NULL), timeline_point, &tl) == -1) {
		free(tl.out.data);
		api_error(r, 500, "database error");
		return;
	}
	text_add(&tl.out, "]}");
	if (buf_append(&tl.out, "", 1) == -1)
		api_error(r, 500, "the answer is too large");
	else
		reply_send_text(r->id, r->c->generation, 200,
		    (char *)tl.out.data, NULL);
	free(tl.out.data);
}

/* ---- waivers ------------------------------------------------------------ */

static void
waiver_row(const struct db_waiver *w, void *arg)
{
	json_t	*o;
	char	 created[32], expires[32];

	rfc3339(w->created_at, created, sizeof(created));
	rfc3339(w->expires_at, expires, sizeof(expires));
	o = json_pack("{s:I,s:s,s:s?,s:s,s:s,s:s,s:s,s:b}", "id",
	    (json_int_t)w->id, "script", w->script, "check", w->check[0] ?
	    w->check : NULL, "reason", w->reason, "created_by", w->created_by,
	    "created_at", created, "expires_at", expires, "expired",
	    w->expires_at <= time(NULL));
	if (o == NULL)
		return;
	if (w->tentacle) {
		json_object_set_new(o, "tentacle", json_integer(w->tentacle));
		json_object_set_new(o, "hostname", json_string(w->hostname));
	} else
		json_object_set_new(o, "label", json_string(w->label));
	json_array_append_new(arg, o);
}

void
api_waivers(const struct api_req *r)
{
	json_t	*list = json_array();

	if (db_waivers_each(m.db, waiver_row, list) == -1) {
		json_decref(list);
		api_error(r, 500, "database error");
		return;
	}
	api_reply(r, 200, json_pack("{s:o}", "waivers", list));
}

void
api_waiver_create(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	struct db_waiver	 w;
	const char		*why;
	char			 detail[1024], expires[32];
	time_t			 now = time(NULL);
	int64_t			 id;
	int			 rc;

	if (apibody_waiver_expiry((int64_t)a->expires_at, now, &why) == -1) {
		api_error(r, 400, why);
		return;
	}
	if (a->id != 0 && (rc = db_tentacle_accepted(m.db, api_id(a))) != 0) {
		if (rc == -1)
			api_error(r, 500, "database error");
		else
			api_error(r, 400, "tentacle: no such accepted "
			    "tentacle");
		return;
	}
	memset(&w, 0, sizeof(w));
	w.tentacle = api_id(a);
	w.label = a->label;
	w.script = a->script;
	w.check = a->check;
	w.reason = a->reason;
	w.created_by = r->s->user;
	w.created_at = now;
	w.expires_at = (time_t)a->expires_at;
	if (db_waiver_add(m.db, &w, &id) == -1) {
		api_error(r, 500, "database error");
		return;
	}
	rfc3339(w.expires_at, expires, sizeof(expires));
	if (a->id != 0)
		snprintf(detail, sizeof(detail), "waiver %lld: tentacle %lld "
		    "script %s%s%s until %s: %s", (long long)id,
		    (long long)w.tentacle, w.script, w.check[0] ? " check " :
		    "", w.check, expires, w.reason);
	else
		snprintf(detail, sizeof(detail), "waiver %lld: label %s "
		    "script %s%s%s until %s: %s", (long long)id, w.label,
		    w.script, w.check[0] ? " check " : "", w.check, expires,
		    w.reason);
	db_audit(m.db, r->s->user, "waiver_create", r->client, detail);
	log_info("user %s added %s", r->s->user, detail);
	api_reply(r, 201, json_pack("{s:I}", "id", (json_int_t)id));
}

void
api_waiver_delete(const struct api_req *r)
{
	char	detail[64];
	int	rc;

	rc = db_waiver_delete(m.db, api_id(r->a), r->s->user, time(NULL));
	if (rc != 0) {
		api_error(r, rc == -1 ? 500 : 404, rc == -1 ? "database error" :
		    "no such waiver");
		return;
	}
	snprintf(detail, sizeof(detail), "waiver %lld", (long long)api_id(
	    r->a));
	db_audit(m.db, r->s->user, "waiver_delete", r->client, detail);
	log_info("user %s removed %s", r->s->user, detail);
	api_reply(r, 200, json_pack("{s:b}", "ok", 1));
}
