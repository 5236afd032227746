/*
 * The API's JSON views of db.c's rows (views.h). Times are RFC 3339 in
 * UTC; a script's output is shown as text (invalid UTF-8 replaced).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "jobstate.h"
#include "jsontext.h"
#include "proto.h"
#include "utf8.h"
#include "views.h"

void
rfc3339(time_t t, char *out, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

json_t *
time_or_null(time_t t)
{
	char	s[32];

	if (t <= 0)
		return json_null();
	rfc3339(t, s, sizeof(s));
	return json_string(s);
}

/* Append o to list; a NULL o (out of memory) is left out. */
static void
append(json_t *list, json_t *o)
{
	if (o != NULL)
		json_array_append_new(list, o);
}

/* The list the rows were appended to, or NULL if reading them failed. */
static json_t *
list_or_null(int rc, json_t *list)
{
	if (rc == 0)
		return list;
	json_decref(list);
	return NULL;
}

/* The one row asked for (the list's first), or NULL. */
static json_t *
first_or_null(int rc, json_t *list)
{
	json_t	*o = rc == 0 ? json_array_get(list, 0) : NULL;

	json_incref(o);
	json_decref(list);
	return o;
}

/*
 * A page of a list being made (SPEC "Lists at scale"): rows are added
 * while fewer than the limit and their JSON within LIST_JSON_MAX (the
 * first always: one row fits IPC_PAYLOAD_MAX); the row past them stops
 * the reading and makes "next" the last row's ID. (The fleet's pages are
 * written as text instead: fleet_text below.)
 */
struct page_acc {
	struct db_page	 page;
	json_t		*list;
	size_t		 bytes;		/* the rows' JSON */
	unsigned	 n;
	int64_t		 last;		/* ID of the last row added */
	int64_t		 next;		/* 0: none */
};

static void
page_init(struct page_acc *p, uint64_t after, unsigned limit)
{
	memset(p, 0, sizeof(*p));
	p->page.after = after > INT64_MAX ? INT64_MAX : (int64_t)after;
	p->page.limit = limit;
	p->list = json_array();
}

/* Whether the row after the last one added may come (else the page is
 * full, and its next is known). */
static int
page_room(struct page_acc *p)
{
	if (p->page.full)
		return 0;
	if (p->page.limit && p->n >= p->page.limit) {
		p->next = p->last;
		p->page.full = 1;
		return 0;
	}
	return 1;
}

/* Add row o of ID id (NULL: out of memory, left out). */
static void
page_add(struct page_acc *p, int64_t id, json_t *o)
{
	size_t	size;

	if (o == NULL)
		return;
	size = json_dumpb(o, NULL, 0, JSON_COMPACT) + 1; /* , */
	if (p->n > 0 && p->bytes + size > LIST_JSON_MAX) {
		json_decref(o);
		p->next = p->last;
		p->page.full = 1;
		return;
	}
	p->bytes += size;
	p->n++;
	p->last = id;
	json_array_append_new(p->list, o);
}

static json_t *
page_next_json(const struct page_acc *p)
{
	return p->next ? json_integer(p->next) : json_null();
}

/* ---- users and the audit log ----------------------------------------- */

static void
user_json(const struct db_user_row *u, void *arg)
{
	char	created[32];

	rfc3339(u->created_at, created, sizeof(created));
	append(arg, json_pack("{s:s,s:s,s:s,s:b}", "name", u->name, "role",
	    u->role, "created_at", created, "totp", u->totp));
}

json_t *
view_users(struct db *db)
{
	json_t	*list = json_array();

	if ((list = list_or_null(db_users_each(db, user_json, list), list)) ==
	    NULL)
		return NULL;
	return json_pack("{s:o}", "users", list);
}

static void
event_json(const struct db_audit_row *e, void *arg)
{
	char	at[32];

	rfc3339(e->at, at, sizeof(at));
	append(arg, json_pack("{s:I,s:s,s:s,s:s,s:s,s:s,s:I}", "id",
	    (json_int_t)e->id, "at", at, "actor", e->actor, "action",
	    e->action, "peer", e->peer, "detail", e->detail, "count",
	    (json_int_t)e->count));
}

json_t *
view_audit(struct db *db, const char *actor, const char *action,
    unsigned limit)
{
	json_t	*list = json_array();

	if ((list = list_or_null(db_audit_each(db, actor, action, limit,
	    event_json, list), list)) == NULL)
		return NULL;
	return json_pack("{s:o}", "events", list);
}

/* ---- tentacles and tokens -------------------------------------------- */

static json_t *
tentacle_obj(const struct db_tentacle_row *t)
{
	char	 enrolled[32], seen[32];
	json_t	*facts, *o;

	rfc3339(t->enrolled_at, enrolled, sizeof(enrolled));
	/* Facts were checked as printable text at enrolment; they must also
	 * be a JSON object to be shown as one. */
	facts = t->facts ? json_loads(t->facts, JSON_REJECT_DUPLICATES, NULL) :
	    NULL;
	if (!json_is_object(facts)) {
		json_decref(facts);
		facts = json_object();
	}
	o = json_pack("{s:I,s:s,s:s,s:i,s:s,s:s,s:s,s:s,s:o}",
	    "id", (json_int_t)t->id,
	    "hostname", t->hostname,
	    "address", t->address,
	    "port", t->port,
	    "fingerprint", t->fingerprint,
	    "enrolment", t->enrolment,
	    "state", t->state,
	    "enrolled_at", enrolled,
	    "facts", facts);
	if (o == NULL)
		return NULL;
	if (t->seen) {
		rfc3339(t->last_seen, seen, sizeof(seen));
		json_object_set_new(o, "last_seen", json_string(seen));
	} else
		json_object_set_new(o, "last_seen", json_null());
	json_object_set_new(o, "duplicate_of", t->duplicate_of ?
	    json_integer(t->duplicate_of) : json_null());
	return o;
}

static void
tentacle_json(const struct db_tentacle_row *t, void *arg)
{
	append(arg, tentacle_obj(t));
}

/*
 * A fleet page is written as JSON text (jsontext.h), row by row from the
 * statement: no json_t per row, the facts copied as stored (always a
 * JSON object: db.c's triggers), the labels as SQLite wrote them. A row that would take the rows past LIST_JSON_MAX is taken back
 * and ends the page (the first always stays: one row fits).
 */
struct fleet_text {
	struct db_page	 page;
	struct buf	*b;
	unsigned	 n;
	int64_t		 last;		/* ID of the last row written */
	int64_t		 next;		/* 0: none */
	int		 failed;
};

static void
fleet_row_text(const struct db_fleet_row *r, void *arg)
{
	struct fleet_text		*f = arg;
	const struct db_tentacle_row	*t = &r->t;
	struct buf			*b = f->b;
	size_t				 mark = b->len;
	int				 rc = 0;

	if (f->page.full)
		return;
	if (f->page.limit && f->n >= f->page.limit) {
		f->next = f->last;
		f->page.full = 1;
		return;
	}
	rc |= jtext_raw(b, f->n ? ",{\"id\":" : "{\"id\":");
	rc |= jtext_int(b, t->id);
	rc |= jtext_raw(b, ",\"hostname\":");
	rc |= jtext_str(b, t->hostname);
	rc |= jtext_raw(b, ",\"address\":");
	rc |= jtext_str(b, t->address);
	rc |= jtext_raw(b, ",\"port\":");
	rc |= jtext_int(b, t->port);
	rc |= jtext_raw(b, ",\"fingerprint\":");
	rc |= jtext_str(b, t->fingerprint);
	rc |= jtext_raw(b, ",\"enrolment\":");
	rc |= jtext_str(b, t->enrolment);
	rc |= jtext_raw(b, ",\"state\":");
	rc |= jtext_str(b, t->state);
	rc |= jtext_raw(b, ",\"enrolled_at\":");
	rc |= jtext_time(b, t->enrolled_at, 0);
	rc |= jtext_raw(b, ",\"facts\":");
	rc |= jtext_raw(b, t->facts ? t->facts : "{}");
	rc |= jtext_raw(b, ",\"last_seen\":");
	if (t->seen)
		rc |= jtext_time(b, t->last_seen, 0);
	else
		rc |= jtext_raw(b, "null");
	rc |= jtext_raw(b, ",\"duplicate_of\":");
	if (t->duplicate_of)
		rc |= jtext_int(b, t->duplicate_of);
	else
		rc |= jtext_raw(b, "null");
	rc |= jtext_raw(b, ",\"labels\":");
	rc |= jtext_raw(b, r->labels[0] ? r->labels : "[]");
	rc |= jtext_raw(b, ",\"proposed_labels\":");
	rc |= jtext_raw(b, r->proposed_labels[0] ? r->proposed_labels : "[]");
	rc |= jtext_raw(b, "}");
	if (rc != 0 || (f->n > 0 && b->len > LIST_JSON_MAX)) {
		b->len = mark;
		if (f->n == 0)
			f->failed = 1;
		f->next = f->last;
		f->page.full = 1;
		return;
	}
	f->n++;
	f->last = t->id;
}

static int
counts_text(struct db *db, struct buf *b)
{
	struct db_fleet_counts	c;
	char			s[256];

	if (db_tentacles_count(db, &c) == -1)
		return -1;
	snprintf(s, sizeof(s), "{\"online\":%lld,\"offline\":%lld,"
	    "\"unknown\":%lld,\"pending\":%lld,\"rejected\":%lld,"
	    "\"total\":%lld}", (long long)c.online, (long long)c.offline,
	    (long long)c.unknown, (long long)c.pending, (long long)c.rejected,
	    (long long)c.total);
	return jtext_raw(b, s);
}

char *
view_tentacles_text(struct db *db, const struct db_fleet_query *q,
    uint64_t after, unsigned limit, int *notfound)
{
	struct fleet_text	f;
	struct buf		b;
	int			rc;

	*notfound = 0;
	memset(&f, 0, sizeof(f));
	f.page.after = after > INT64_MAX ? INT64_MAX : (int64_t)after;
	f.page.limit = limit;
	f.b = &b;
	/* Rows to LIST_JSON_MAX, then the rest of the reply, and its NUL. */
	buf_init(&b, LIST_JSON_MAX + 64 * 1024);
	rc = jtext_raw(&b, "{\"tentacles\":[");
	if (rc == 0 && (rc = db_tentacles_page(db, q, &f.page,
	    fleet_row_text, &f)) == DB_NOTFOUND)
		*notfound = 1;
	if (rc != 0 || f.failed || jtext_raw(&b, "],\"counts\":") == -1 ||
	    counts_text(db, &b) == -1 || jtext_raw(&b, ",\"next\":") == -1 ||
	    (f.next ? jtext_int(&b, f.next) : jtext_raw(&b, "null")) == -1 ||
	    buf_append(&b, "}", 2) == -1) {
		buf_free(&b);
		return NULL;
	}
	return (char *)b.data;		/* the caller frees it */
}

json_t *
view_tentacles_page(struct db *db, const struct db_fleet_query *q,
    uint64_t after, unsigned limit, int *notfound)
{
	char	*text = view_tentacles_text(db, q, after, limit, notfound);
	json_t	*j;

	if (text == NULL)
		return NULL;
	j = json_loads(text, 0, NULL);
	free(text);
	return j;
}

json_t *
view_tentacle(struct db *db, int64_t id)
{
	json_t	*list = json_array();

	if (id <= 0) {
		json_decref(list);
		return NULL;
	}
	if (db_tentacles_each(db, id, tentacle_json, list) == 0 &&
	    view_labels_attach(db, id, list) == -1) {
		json_decref(list);
		return NULL;
	}
	return first_or_null(0, list);
}

static void
token_json(const struct db_token_row *t, void *arg)
{
	char	created[32], expires[32];

	rfc3339(t->created_at, created, sizeof(created));
	rfc3339(t->expires_at, expires, sizeof(expires));
	append(arg, json_pack("{s:I,s:s,s:s,s:s,s:I,s:b}", "id",
	    (json_int_t)t->id, "created_by", t->created_by, "created_at",
	    created, "expires_at", expires, "uses_left",
	    (json_int_t)t->uses_left, "expired", t->expires_at <= time(NULL)));
}

json_t *
view_tokens(struct db *db)
{
	json_t	*list = json_array();

	return list_or_null(db_tokens_each(db, token_json, list), list);
}

/* The rows come by name, content and tentacle: one entry per name and
 * content, with the tentacles that have it. */
static void
script_json(const struct db_script_row *s, void *arg)
{
	json_t	*list = arg, *cur;

	cur = json_array_get(list, json_array_size(list) - 1);
	if (cur == NULL || strcmp(json_string_value(json_object_get(cur,
	    "name")), s->name) || strcmp(json_string_value(json_object_get(cur,
	    "sha256")), s->sha256)) {
		cur = json_pack("{s:s,s:s,s:s,s:b,s:o,s:[]}", "name",
		    s->name, "sha256", s->sha256, "description",
		    s->description, "managed", s->version > 0, "version",
		    s->version > 0 ? json_integer(s->version) : json_null(),
		    "tentacles");
		if (cur == NULL)
			return;
		json_array_append_new(list, cur);
	}
	json_array_append_new(json_object_get(cur, "tentacles"),
	    json_integer(s->tentacle));
}

json_t *
view_scripts(struct db *db, int64_t tentacle)
{
	json_t	*list = json_array();

	return list_or_null(db_scripts_each(db, tentacle, script_json, list),
	    list);
}

/* ---- runs and results ------------------------------------------------ */

/* The output as JSON text: what is not UTF-8 becomes U+FFFD, so that
 * whatever a script prints can be shown (the stored bytes stay as they
 * came). */
static json_t *
output_json(const unsigned char *p, size_t n)
{
	json_t	*j = utf8_json(p, n, UTF8_KEEP_CONTROLS);

	return j ? j : json_string("");
}

/* exit_status is null unless the script ran and exited; signal null
 * unless one killed it. */
static json_t *
exit_status_json(const struct db_result_row *r)
{
	return r->outcome == OUTCOME_RAN && r->signal == 0 ?
	    json_integer(r->exit_status) : json_null();
}

static json_t *
signal_json(const struct db_result_row *r)
{
	return r->signal ? json_integer(r->signal) : json_null();
}

static json_t *
result_json(const struct db_result_row *r, int with_output)
{
	char	 started[40];
	json_t	*o;

	rfc3339((time_t)(r->started_at_ms / 1000), started, sizeof(started));
	o = json_pack("{s:I,s:o,s:o,s:I,s:s,s:b,s:s}",
	    "id", (json_int_t)r->id,
	    "exit_status", exit_status_json(r),
	    "signal", signal_json(r),
	    "duration_ms", (json_int_t)r->duration_ms,
	    "started_at", started,
	    "truncated", r->truncated,
	    "outcome", r->outcome == OUTCOME_RAN ? "ran" :
	    r->outcome == OUTCOME_TIMEOUT ? "timeout" :
	    r->outcome == OUTCOME_REFUSED ? "refused" : "failed");
	/* The script that ran (issue 14); null when the tentacle did not
	 * say (before managed scripts). */
	if (o != NULL)
		json_object_set_new(o, "sha256", r->sha256 && r->sha256[0] ?
		    json_string(r->sha256) : json_null());
	if (o != NULL && with_output)
		json_object_set_new(o, "output", output_json(r->output,
		    r->output_len));
	return o;
}

static json_t *
run_json(const struct db_run_row *r)
{
	char	created[32];

	rfc3339(r->created_at, created, sizeof(created));
	return json_pack("{s:I,s:s,s:s,s:s}", "id", (json_int_t)r->id,
	    "script", r->script, "created_at", created, "created_by",
	    r->created_by);
}

/* Finished: the tentacle has nothing more to say (its result, or it
 * failed, or was not reached); errors: finished without a verdict of
 * the script (neither compliant nor findings). */
static json_t *
run_summary_json(const struct db_run_summary *sum)
{
	json_t		*o = json_object(), *by_state = json_object();
	json_int_t	 finished = 0;
	int		 i;

	for (i = 0; i < JOB_STATE_MAX; i++) {
		json_object_set_new(by_state, job_state_name(i),
		    json_integer(sum->states[i]));
		if (!job_state_pending(i))
			finished += sum->states[i];
	}
	json_object_set_new(o, "jobs", json_integer(sum->jobs));
	json_object_set_new(o, "states", by_state);
	json_object_set_new(o, "finished", json_integer(finished));
	json_object_set_new(o, "compliant", json_integer(sum->compliant));
	json_object_set_new(o, "findings", json_integer(sum->findings));
	json_object_set_new(o, "errors", json_integer(finished -
	    sum->compliant - sum->findings));
	return o;
}

/*
 * Findings of the results of one reply: the table they are joined with,
 * the estimated JSON bytes left (FINDINGS_JSON_MAX per reply).
 */
struct findings_view {
	struct db		*db;
	const struct checks	*checks;
	size_t			 left;
};

struct findings_list {
	struct findings_view	*fv;
	json_t			*list;
	int			 over;	/* past the budget, or out of memory */
};

static void
finding_row_json(const struct db_finding_row *f, void *arg)
{
	struct findings_list	*l = arg;
	const char		*check = f->check ? f->check : "";
	size_t			 size;
	json_t			*o;

	if (l->over)
		return;
	size = finding_json_size(l->fv->checks, check, f->text);
	if (size > l->fv->left ||
	    (o = finding_json(l->fv->checks, check, f->status, f->text)) ==
	    NULL) {
		l->over = 1;
		return;
	}
	l->fv->left -= size;
	append(l->list, o);
}

/* A result's findings, or null: too many for this reply (the budget is
 * then spent: the results after it get null too), or a database error. */
static json_t *
findings_json(struct findings_view *fv, int64_t result)
{
	struct findings_list	l = { fv, json_array(), 0 };

	if (l.list == NULL || db_findings_each(fv->db, result,
	    finding_row_json, &l) == -1 || l.over) {
		json_decref(l.list);
		fv->left = 0;
		return json_null();
	}
	return l.list;
}

struct run_view {
	json_t			*run;
	struct page_acc		 jobs;
	int			 with_output;
	struct findings_view	 fv;
};

static void
run_row_json(const struct db_run_row *r, void *arg)
{
	struct run_view	*v = arg;

	v->run = run_json(r);
}

static void
job_json(const struct db_job_row *j, void *arg)
{
	struct run_view	*v = arg;
	json_t		*o;

	if (!page_room(&v->jobs))
		return;
	o = json_pack("{s:I,s:I,s:s,s:s,s:o}", "id", (json_int_t)j->id,
	    "tentacle", (json_int_t)j->tentacle, "hostname", j->hostname,
	    "state", job_state_name(j->state), "message",
	    utf8_json(j->message, strlen(j->message), 0));
	if (o == NULL)
		return;
	/* Until when it waits for its tentacle (issue 16). */
	json_object_set_new(o, "expires_at", time_or_null(j->expires_at));
	json_object_set_new(o, "result", j->has_result ?
	    result_json(&j->result, v->with_output) : json_null());
	if (j->has_result && v->with_output)
		json_object_set_new(json_object_get(o, "result"), "findings",
		    findings_json(&v->fv, j->result.id));
	page_add(&v->jobs, j->id, o);
}

json_t *
view_run(struct db *db, int64_t id, int with_output,
    const struct checks *checks)
{
	return view_run_page(db, id, with_output, checks, 0, 0);
}

json_t *
view_run_page(struct db *db, int64_t id, int with_output,
    const struct checks *checks, uint64_t after, unsigned limit)
{
	struct run_view		v = { .with_output = with_output,
				    .fv = { db, checks, FINDINGS_JSON_MAX } };
	struct db_run_summary	sum;

	if (db_run_get(db, id, run_row_json, &v) != 0 || v.run == NULL)
		return NULL;
	page_init(&v.jobs, after, limit);
	if (db_run_jobs_page(db, id, &v.jobs.page, job_json, &v) == -1 ||
	    db_run_summary(db, id, &sum) == -1) {
		json_decref(v.jobs.list);
		json_decref(v.run);
		return NULL;
	}
	json_object_set_new(v.run, "jobs", v.jobs.list);
	json_object_set_new(v.run, "summary", run_summary_json(&sum));
	json_object_set_new(v.run, "next", page_next_json(&v.jobs));
	return v.run;
}

/* One tentacle's job in a run: {"state", "result": null | {"id",
 * "exit_status", "signal"}}. */
static json_t *
tentacle_job_json(const struct db_runs_row *r)
{
	const struct db_result_row	*res = &r->mine_result;

	return json_pack("{s:s,s:o}", "state", job_state_name(r->mine),
	    "result", r->mine_has_result ? json_pack("{s:I,s:o,s:o}", "id",
	    (json_int_t)res->id, "exit_status", exit_status_json(res),
	    "signal", signal_json(res)) : json_null());
}

struct runs_view {
	struct page_acc	 p;
	int64_t		 tentacle;
};

static void
runs_row_json(const struct db_runs_row *r, void *arg)
{
	struct runs_view	*v = arg;
	json_t			*run, *sum;

	if (!page_room(&v->p) || (run = run_json(&r->run)) == NULL)
		return;
	if (v->tentacle != 0)
		json_object_set_new(run, "tentacle_job", tentacle_job_json(r));
	sum = run_summary_json(&r->summary);
	/* "jobs" and "finished" as before, beside the summary. */
	json_object_set(run, "jobs", json_object_get(sum, "jobs"));
	json_object_set(run, "finished", json_object_get(sum, "finished"));
	json_object_set_new(run, "summary", sum);
	page_add(&v->p, r->run.id, run);
}

json_t *
view_runs_page(struct db *db, int64_t tentacle, uint64_t after,
    unsigned limit)
{
	struct runs_view	v;

	page_init(&v.p, after, limit);
	v.tentacle = tentacle;
	if (db_runs_page(db, tentacle, &v.p.page, runs_row_json, &v) == -1) {
		json_decref(v.p.list);
		return NULL;
	}
	return json_pack("{s:o,s:o}", "runs", v.p.list, "next",
	    page_next_json(&v.p));
}

struct results_view {
	json_t			*list;
	int			 with_findings;
	struct findings_view	 fv;
};

static void
result_full_json(const struct db_result_row *r, void *arg)
{
	struct results_view	*v = arg;
	json_t			*o;

	if ((o = result_json(r, 1)) == NULL)
		return;
	json_object_set_new(o, "run", json_integer(r->run));
	json_object_set_new(o, "tentacle", json_integer(r->tentacle));
	json_object_set_new(o, "hostname", json_string(r->hostname));
	json_object_set_new(o, "findings", findings_json(&v->fv, r->id));
	append(v->list, o);
}

json_t *
view_result(struct db *db, int64_t id, const struct checks *checks)
{
	struct results_view	v = { json_array(), 1,
				    { db, checks, FINDINGS_JSON_MAX } };

	return first_or_null(db_result_read(db, id, result_full_json, &v),
	    v.list);
}

static void
result_brief_json(const struct db_result_row *r, void *arg)
{
	struct results_view	*v = arg;
	json_t			*o;

	if ((o = result_json(r, 0)) == NULL)
		return;
	json_object_set_new(o, "run", json_integer(r->run));
	json_object_set_new(o, "script", json_string(r->script));
	if (v->with_findings)
		json_object_set_new(o, "findings", findings_json(&v->fv,
		    r->id));
	append(v->list, o);
}

json_t *
view_tentacle_results(struct db *db, int64_t tentacle, int with_findings,
    const struct checks *checks)
{
	struct results_view	v = { json_array(), with_findings,
				    { db, checks, FINDINGS_JSON_MAX } };

	return list_or_null(db_tentacle_results_each(db, tentacle,
	    result_brief_json, &v), v.list);
}
