/*
 * The maestro's compliance API (SPEC "Groups, schedules, compliance,
 * waivers"): the matrix as of a time, paged over tentacles with the
 * fleet's score; its daily history; one host's timeline of a script;
 * waivers. The rows come from db_compliance.c; this file makes their
 * JSON and checks what the webserv could not (times against now, the
 * tentacle of a waiver).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "log.h"
#include "maestro.h"
#include "views.h"

static json_t *
counts_json(const struct compliance_counts *c)
{
	return json_pack("{s:I,s:I,s:I,s:I,s:I}",
	    "compliant", (json_int_t)c->n[CELL_COMPLIANT],
	    "findings", (json_int_t)c->n[CELL_FINDINGS],
	    "errors", (json_int_t)c->n[CELL_ERROR],
	    "waived", (json_int_t)c->n[CELL_WAIVED],
	    "none", (json_int_t)c->n[CELL_NONE]);
}

static json_t *
score_json(const struct compliance_counts *c)
{
	double	s = compliance_score(c);

	return s < 0 ? json_null() : json_real(s);
}

/* A cell: {"verdict", "result", "at", "failed_checks", "waiver"?}. */
static json_t *
cell_json(const struct db_cell *c)
{
	json_t	*o;
	char	 at[32];

	if (c->result == 0)
		return json_pack("{s:s,s:n,s:n,s:i}", "verdict", "none",
		    "result", "at", "failed_checks", 0);
	rfc3339(c->at, at, sizeof(at));
	o = json_pack("{s:s,s:I,s:s,s:I}", "verdict", cell_verdict_name(
	    c->verdict), "result", (json_int_t)c->result, "at", at,
	    "failed_checks", (json_int_t)c->failed);
	if (o != NULL && c->waiver != 0)
		json_object_set_new(o, "waiver", json_pack("{s:I,s:s,s:b}",
		    "id", (json_int_t)c->waiver, "reason", c->waiver_reason,
		    "unused", c->verdict == CELL_COMPLIANT));
	return o;
}

/* ---- GET /api/compliance ------------------------------------------------ */

struct matrix {
	json_t		*columns;	/* [name] */
	json_t		*none;		/* the cells of a tentacle, all none */
	json_t		*tentacles;	/* [{"id", ..., "cells"}] */
	json_t		*byid;		/* "ID" -> that tentacle's cells */
	size_t		 bytes;		/* of the cells, roughly */
	int64_t		 cut;		/* first tentacle past the budget */
	int64_t		 last;		/* the one before it */
};

static void
matrix_column(const char *name, void *arg)
{
	struct matrix	*mx = arg;

	json_array_append_new(mx->columns, json_string(name));
}

static void
matrix_tentacle(const struct db_compliance_tentacle *t, void *arg)
{
	struct matrix	*mx = arg;
	json_t		*labels = json_array(), *cells;
	const char	*p = t->labels, *e;
	char		 key[24];

	while (*p) {
		e = p + strcspn(p, ",");
		json_array_append_new(labels, json_stringn(p, (size_t)(e - p)));
		p = *e ? e + 1 : e;
	}
	cells = json_deep_copy(mx->none);
	snprintf(key, sizeof(key), "%lld", (long long)t->id);
	json_object_set(mx->byid, key, cells);
	json_array_append_new(mx->tentacles, json_pack("{s:I,s:s,s:o,s:o}",
	    "id", (json_int_t)t->id, "hostname", t->hostname, "labels",
	    labels, "cells", cells));
}

static void
matrix_cell(const struct db_cell *c, void *arg)
{
	struct matrix	*mx = arg;
	json_t		*cells;
	char		 key[24];

	if (mx->cut != 0 && c->tentacle >= mx->cut)
		return;
	mx->bytes += 90 + strlen(c->column) + (c->waiver ?
	    strlen(c->waiver_reason) + 40 : 0);
	if (mx->bytes > COMPLIANCE_REPLY_MAX && c->tentacle != mx->last) {
		/* This tentacle and the ones after go to the next page. */
		mx->cut = c->tentacle;
		return;
	}
	mx->last = c->tentacle;
	snprintf(key, sizeof(key), "%lld", (long long)c->tentacle);
	if ((cells = json_object_get(mx->byid, key)) != NULL)
		json_object_set_new(cells, c->column, cell_json(c));
}

void
api_compliance(const struct api_req *r)
{
	struct compliance_query	 q;
	struct compliance_counts counts;
	struct matrix		 mx;
	json_t			*o, *t;
	size_t			 i, ncols;
	time_t			 now = time(NULL);
	int			 more = 0;
	char			 asof[32];

	memset(&q, 0, sizeof(q));
	q.as_of = r->a->as_of ? (time_t)r->a->as_of : now;
	if (q.as_of > now) {
		api_error(r, 400, "as_of is in the future");
		return;
	}
	q.labels = r->a->labels;
	q.by_check = r->a->by_check;
	q.after = (int64_t)r->a->after;
	memset(&mx, 0, sizeof(mx));
	mx.columns = json_array();
	mx.none = json_object();
	mx.tentacles = json_array();
	mx.byid = json_object();
	if (db_compliance_columns(m.db, &q, matrix_column, &mx) == -1)
		goto fail;
	ncols = json_array_size(mx.columns);
	for (i = 0; i < ncols; i++)
		json_object_set_new(mx.none, json_string_value(json_array_get(
		    mx.columns, i)), json_pack("{s:s,s:n,s:n,s:i}", "verdict",
		    "none", "result", "at", "failed_checks", 0));
	/* Fewer tentacles a page when there are many columns. */
	q.limit = r->a->limit;
	if (ncols > 0 && q.limit > COMPLIANCE_CELLS_MAX / ncols)
		q.limit = COMPLIANCE_CELLS_MAX / ncols > 0 ?
		    (unsigned)(COMPLIANCE_CELLS_MAX / ncols) : 1;
	if (db_compliance_counts(m.db, &q, ncols, &counts) == -1 ||
	    db_compliance_page(m.db, &q, matrix_tentacle, matrix_cell, &mx,
	    &more) == -1)
		goto fail;
	if (mx.cut != 0) {
		/* Past the budget: the page ends before the cut. */
		for (i = json_array_size(mx.tentacles); i-- > 0;) {
			t = json_array_get(mx.tentacles, i);
			if (json_integer_value(json_object_get(t, "id")) <
			    mx.cut)
				break;
			json_array_remove(mx.tentacles, i);
		}
		more = 1;
	}
	t = json_array_get(mx.tentacles, json_array_size(mx.tentacles) - 1);
	rfc3339(q.as_of, asof, sizeof(asof));
	o = json_pack("{s:s,s:s,s:O,s:O,s:o,s:o,s:I}", "as_of", asof, "by",
	    q.by_check ? "check" : "script", "scripts", mx.columns, "tentacles",
	    mx.tentacles, "score", score_json(&counts), "counts",
	    counts_json(&counts), "limit", (json_int_t)q.limit);
	if (o != NULL)
		json_object_set_new(o, "next", more && t != NULL ?
		    json_integer(json_integer_value(json_object_get(t, "id"))) :
		    json_null());
	json_decref(mx.columns);
	json_decref(mx.tentacles);
	json_decref(mx.none);
	json_decref(mx.byid);
	api_reply_or_error(r, o, "tentacles");
	return;
fail:
	json_decref(mx.columns);
	json_decref(mx.tentacles);
	json_decref(mx.none);
	json_decref(mx.byid);
	api_error(r, 500, "database error");
}

/* ---- GET /api/compliance/history ---------------------------------------- */

void
api_compliance_history(const struct api_req *r)
{
	struct compliance_counts *counts;
	json_t			*points, *p;
	unsigned		 d, days = r->a->days;
	time_t			 now = time(NULL), day;
	struct tm		 tm;
	char			 date[16];

	if ((counts = calloc(days, sizeof(*counts))) == NULL) {
		api_error(r, 500, "out of memory");
		return;
	}
	if (db_compliance_history(m.db, now, days, r->a->labels, counts) ==
	    -1) {
		free(counts);
		api_error(r, 500, "database error");
		return;
	}
	points = json_array();
	for (d = 0; d < days; d++) {
		day = now - (time_t)(days - 1 - d) * 86400;
		gmtime_r(&day, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		p = counts_json(&counts[d]);
		json_object_set_new(p, "date", json_string(date));
		json_object_set_new(p, "score", score_json(&counts[d]));
		json_array_append_new(points, p);
	}
	free(counts);
	api_reply(r, 200, json_pack("{s:o}", "points", points));
}

/* ---- GET /api/compliance/timeline --------------------------------------- */

static void
timeline_point(const struct db_cell *c, void *arg)
{
	json_array_append_new(arg, cell_json(c));
}

void
api_compliance_timeline(const struct api_req *r)
{
	json_t	*points = json_array();

	if (db_compliance_timeline(m.db, api_id(r->a), r->a->script,
	    r->a->limit, timeline_point, points) == -1) {
		json_decref(points);
		api_error(r, 500, "database error");
		return;
	}
	api_reply(r, 200, json_pack("{s:I,s:s,s:o}", "tentacle",
	    (json_int_t)api_id(r->a), "script", r->a->script, "points",
	    points));
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
