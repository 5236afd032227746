/*
 * The API's JSON views of db.c's rows (views.h). Times are RFC 3339 in
 * UTC; a script's output is shown as text (invalid UTF-8 replaced).
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "jobstate.h"
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

static void
tentacle_json(const struct db_tentacle_row *t, void *arg)
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
		return;
	if (t->seen) {
		rfc3339(t->last_seen, seen, sizeof(seen));
		json_object_set_new(o, "last_seen", json_string(seen));
	} else
		json_object_set_new(o, "last_seen", json_null());
	json_object_set_new(o, "duplicate_of", t->duplicate_of ?
	    json_integer(t->duplicate_of) : json_null());
	append(arg, o);
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

json_t *
view_tentacles(struct db *db)
{
	json_t	*list = json_array();

	if (db_tentacles_each(db, 0, tentacle_json, list) == -1 ||
	    view_labels_attach(db, 0, list) == -1) {
		json_decref(list);
		return NULL;
	}
	return list_or_null(0, list);
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
		cur = json_pack("{s:s,s:s,s:s,s:[]}", "name", s->name,
		    "sha256", s->sha256, "description", s->description,
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
	json_t			*jobs;
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
	append(v->jobs, o);
}

json_t *
view_run(struct db *db, int64_t id, int with_output,
    const struct checks *checks)
{
	struct run_view		v = { NULL, NULL, with_output,
				    { db, checks, FINDINGS_JSON_MAX } };
	struct db_run_summary	sum;

	if (db_run_get(db, id, run_row_json, &v) != 0 || v.run == NULL)
		return NULL;
	v.jobs = json_array();
	if (db_run_jobs_each(db, id, job_json, &v) == -1 ||
	    db_run_summary(db, id, &sum) == -1) {
		json_decref(v.jobs);
		json_decref(v.run);
		return NULL;
	}
	json_object_set_new(v.run, "jobs", v.jobs);
	json_object_set_new(v.run, "summary", run_summary_json(&sum));
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
	json_t	*list;
	int64_t	 tentacle;
};

static void
runs_row_json(const struct db_runs_row *r, void *arg)
{
	struct runs_view	*v = arg;
	json_t			*run, *sum;

	if ((run = run_json(&r->run)) == NULL)
		return;
	if (v->tentacle != 0)
		json_object_set_new(run, "tentacle_job", tentacle_job_json(r));
	sum = run_summary_json(&r->summary);
	/* "jobs" and "finished" as before, beside the summary. */
	json_object_set(run, "jobs", json_object_get(sum, "jobs"));
	json_object_set(run, "finished", json_object_get(sum, "finished"));
	json_object_set_new(run, "summary", sum);
	append(v->list, run);
}

json_t *
view_runs(struct db *db, int64_t tentacle)
{
	struct runs_view	v = { json_array(), tentacle };

	return list_or_null(db_runs_each(db, tentacle, runs_row_json, &v),
	    v.list);
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
