/*
 * Schedules, and the maestro's other chores on the clock (issue 16): one
 * timer in the maestro's event loop, every CHORES_INTERVAL_S, that
 *   - fires the schedules that are due (a run like any other, by
 *     "schedule:ID"; a brain that was down over one or more firings
 *     fires once on return, then goes on from now),
 *   - expires the jobs whose tentacle did not come back in time,
 *   - starts pruning old results and audit lines (retention_days,
 *     audit_retention_days), then the ledger's entries of the rows
 *     gone, from its start, at start and then every hour: small
 *     batches, one after the other while there is work, each its own
 *     turn of the loop,
 *   - has the WAL written back (a passive checkpoint, by the thread of
 *     dbcheckpoint.c: the loop never waits for the disk; SQLite's
 *     automatic one is off) when retention does not.
 * Each step is bounded, so that a tick never holds the loop for long.
 * And the API's schedules (GET/POST/PUT/DELETE /api/schedules).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "cron.h"
#include "dbcheckpoint.h"
#include "groupbody.h"
#include "log.h"
#include "maestro.h"
#include "turnclock.h"

#define CHORES_INTERVAL_S	1
#define EXPIRE_BATCH		500
/* Schedules fired per tick at most (the rest on the next ones). */
#define FIRE_BATCH		16
#define PRUNE_AGAIN_S		3600
/*
 * Retention's steps are sized by their time: rows per batch (a result
 * goes with its findings, tens of rows, each overwritten:
 * secure_delete) or pages per vacuum step (4 KiB each) start at
 * PRUNE_FIRST, then follow the last batch's time towards PRUNE_AIM_MS
 * (at most doubled or halved at once, within [1, PRUNE_MAX]): whatever
 * the machine, a batch stays some 10-25 ms of SQLite (make bench,
 * tests/bench/retention.py).
 */
#define PRUNE_FIRST		64
#define PRUNE_MAX		4096
#define PRUNE_AIM_MS		12

static struct event	*chores_ev;
static struct event	*prune_ev;
static struct event	*checkpoint_ev;
static time_t		 prune_due;

/* A pass of retention: its steps in order (db_prune's, then the
 * vacuum), a checkpoint of the WAL in a turn of its own after each batch
 * that wrote. */
enum { STEP_VACUUM = PRUNE_LEDGER + 1, STEP_DONE };
static struct {
	int	 step;
	int	 limit[STEP_VACUUM + 1];
	int	 checkpoint;	/* due before the next batch */
	int	 waiting;	/* for the checkpointer's report */
	int	 wrote;		/* some rows went: vacuum */
	int64_t	 pruned;	/* rows, in this pass */
	int64_t	 ledger;	/* of which ledger entries */
} pr;
static const char *const step_names[] = {
	[PRUNE_RESULTS] = "results", [PRUNE_JOBS] = "jobs without a result",
	[PRUNE_RUNS] = "runs", [PRUNE_AUDIT] = "audit lines",
	[PRUNE_LEDGER] = "ledger entries", [STEP_VACUUM] = "free pages",
};

/* ---- when ------------------------------------------------------------ */

/* The firing after `now` of a schedule that was due at s->next_at (or
 * is new: next_at 0); -1 if a cron expression has none. */
static time_t
next_firing(const struct db_schedule *s, time_t now, int fired)
{
	struct cron	c;
	char		why[128];
	time_t		k;

	if (s->every > 0) {
		if (!fired || s->next_at <= 0)
			return now;	/* starts now */
		/* Keep the phase: the first slot after now, once. */
		k = (now - s->next_at) / s->every + 1;
		return s->next_at + (k > 0 ? k : 1) * s->every;
	}
	if (cron_parse(s->cron, &c, why, sizeof(why)) == -1)
		return -1;
	return cron_next(&c, now);
}

/* ---- firing ---------------------------------------------------------- */

/* The tentacles a schedule targets (malloc'd). */
static int
schedule_targets(const struct db_schedule *s, int64_t **ids, size_t *n)
{
	struct proto_labels	 l;
	uint64_t		*v;
	uint32_t		 k, i;
	const char		*why;

	*ids = NULL;
	*n = 0;
	if (strcmp(s->target, "all") == 0)
		return db_tentacles_accepted(m.db, ids, n);
	if (strcmp(s->target, "labels") == 0) {
		if (proto_labels_parse(s->target_list, &l, &why) == -1)
			return -1;
		return db_labels_tentacles(m.db, &l, ids, n);
	}
	if ((v = calloc(SCHEDULE_TENTACLES_MAX, sizeof(*v))) == NULL)
		return -1;
	if (groupbody_ids_parse(s->target_list, v, SCHEDULE_TENTACLES_MAX,
	    &k) == -1 || (*ids = calloc(k ? k : 1, sizeof(**ids))) == NULL) {
		free(v);
		return -1;
	}
	for (i = 0; i < k; i++)
		(*ids)[i] = (int64_t)v[i];
	*n = k;
	free(v);
	return 0;
}

static void
schedule_disable(struct db_schedule *s, const char *reason)
{
	char	detail[256];

	s->enabled = 0;
	strlcpy(s->disabled_reason, reason, sizeof(s->disabled_reason));
	if (db_schedule_update(m.db, s) == -1)
		return;
	snprintf(detail, sizeof(detail), "schedule %lld: %s",
	    (long long)s->id, reason);
	db_audit(m.db, "system", "schedule disabled", "", detail);
	log_warnx("%s: disabled", detail);
}

static void
schedule_fire(int64_t id, time_t now)
{
	struct db_schedule	*s;
	int64_t			*ids = NULL, run = 0;
	size_t			 n = 0;
	time_t			 next;
	char			 by[40], why[160];
	int			 status;

	if ((s = malloc(sizeof(*s))) == NULL ||
	    db_schedule_get(m.db, id, s) != 0) {
		free(s);
		return;
	}
	if (db_script_known(m.db, s->script) == 0) {
		if (db_script_deleted(m.db, s->script) == 1)
			snprintf(why, sizeof(why), "the script %s was deleted",
			    s->script);
		else
			snprintf(why, sizeof(why), "the script %s is on no "
			    "tentacle any more", s->script);
		schedule_disable(s, why);
		free(s);
		return;
	}
	if ((next = next_firing(s, now, 1)) == -1) {
		schedule_disable(s, "its cron expression fires no more");
		free(s);
		return;
	}
	snprintf(by, sizeof(by), "schedule:%lld", (long long)id);
	/* Its jobs wait for offline tentacles until the next firing. */
	if (schedule_targets(s, &ids, &n) == -1)
		log_warnx("%s: cannot read its tentacles", by);
	else if (n == 0)
		log_info("%s: no accepted tentacle to run %s on", by,
		    s->script);
	else if ((status = run_start(s->script, by, "", ids, n, next, 1, &run,
	    why, sizeof(why))) != 0) {
		log_warnx("%s: %s", by, why);
		run = 0;
	}
	free(ids);
	db_schedule_fired(m.db, id, now, next, run);
	free(s);
}

/* The next batch's size after one of `limit` took `ms`. */
static int
prune_size(int limit, int64_t ms)
{
	int64_t	next;

	next = ms > 0 ? (int64_t)limit * PRUNE_AIM_MS / ms : (int64_t)limit * 2;
	if (next > (int64_t)limit * 2)
		next = (int64_t)limit * 2;
	if (next < limit / 2)
		next = limit / 2;
	return next < 1 ? 1 : next > PRUNE_MAX ? PRUNE_MAX : (int)next;
}

/* Entries pruned from the ledger's start in this pass: its new start in
 * the audit log (ledger_pruned, an event when export is on: a collector
 * keeps the anchor) and the log. */
static void
ledger_pruned(int64_t n)
{
	char	anchor[65], detail[200];
	int64_t	first;

	if (db_ledger_start(m.db, &first, anchor) == -1)
		return;
	snprintf(detail, sizeof(detail), "%lld entries pruned from the start, "
	    "start entry %lld, start hash %s", (long long)n, (long long)first,
	    anchor);
	log_info("ledger: %s", detail);
	if (db_audit(m.db, "system", "ledger_pruned", "", detail) == -1)
		log_warnx("ledger: cannot write the audit row");
}

/*
 * One turn of retention: a checkpoint if one is due, else one batch of
 * the current step; while there is work, the next turn is queued at once
 * (a zero timeout: whatever else is ready runs first), so that a large
 * backlog goes at SQLite's pace without holding the loop for more than a
 * batch. Each turn's time is logged (debug): the longest is the loop's
 * longest stall.
 */
static void
prune_batch(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	 zero = { 0, 0 };
	time_t		 now = time(NULL), before;
	int64_t		 t0 = turn_now_ms(), c0 = turn_cpu_ms(), ms, left = 0;
	int		 n = 0, frames, *limit, rc;

	if (pr.checkpoint) {
		pr.checkpoint = 0;
		/* The next batch once the log is written back, so that it
		 * stays small; the loop goes on meanwhile. */
		if (db_checkpointer_kick() >= 0) {
			pr.waiting = 1;
			return;
		}
		if (db_checkpoint(m.db, &frames) == 0)
			log_debug("retention: checkpoint, %d pages written "
			    "back, in %lld ms (CPU %lld ms)", frames,
			    (long long)(turn_now_ms() - t0), (long long)(turn_cpu_ms() -
			    c0));
		evtimer_add(prune_ev, &zero);
		return;
	}
	limit = &pr.limit[pr.step];
	if (*limit <= 0)
		*limit = PRUNE_FIRST;
	if (pr.step < STEP_VACUUM) {
		before = now - (pr.step == PRUNE_AUDIT ?
		    m.conf.audit_retention_days : m.conf.retention_days) *
		    86400;
		rc = db_prune(m.db, pr.step, before, *limit, &n);
		pr.pruned += n;
		if (n > 0)
			pr.wrote = pr.checkpoint = 1;
		ms = turn_now_ms() - t0;
		log_debug("retention: %d %s pruned (batch of %d), in %lld ms "
		    "(CPU %lld ms)", n, step_names[pr.step], *limit,
		    (long long)ms, (long long)(turn_cpu_ms() - c0));
		if (pr.step == PRUNE_LEDGER)
			pr.ledger += n;
		if (rc == -1 || n < *limit) {
			if (pr.step == PRUNE_LEDGER && pr.ledger > 0)
				ledger_pruned(pr.ledger);
			pr.step++;
		} else
			*limit = prune_size(*limit, ms);
	} else if (pr.step == STEP_VACUUM && pr.wrote) {
		rc = db_vacuum_step(m.db, *limit, &left);
		pr.checkpoint = 1;
		ms = turn_now_ms() - t0;
		log_debug("retention: %d free pages given back, %lld left, in "
		    "%lld ms (CPU %lld ms)", *limit, (long long)left,
		    (long long)ms, (long long)(turn_cpu_ms() - c0));
		if (rc == -1 || left == 0)
			pr.step++;
		else
			*limit = prune_size(*limit, ms);
	} else
		pr.step = STEP_DONE;
	if (pr.step < STEP_DONE || pr.checkpoint) {
		evtimer_add(prune_ev, &zero);
		return;
	}
	if (pr.pruned > 0)
		log_info("retention: %lld rows pruned", (long long)pr.pruned);
	pr.step = 0;
	pr.pruned = pr.ledger = 0;
	pr.wrote = 0;
	prune_due = now + PRUNE_AGAIN_S;
}

struct due {
	int64_t	ids[FIRE_BATCH];
	size_t	n;
};

static void
due_one(const struct db_schedule *s, void *arg)
{
	struct due	*d = arg;

	if (d->n < FIRE_BATCH)
		d->ids[d->n++] = s->id;
}

static void
chores(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	zero = { 0, 0 };
	struct due	d;
	time_t		now = time(NULL);
	size_t		i;
	int		n;

	/* Collected first: firing writes to the table being read. */
	d.n = 0;
	if (db_schedules_each(m.db, 1, now, due_one, &d) == 0)
		for (i = 0; i < d.n; i++)
			schedule_fire(d.ids[i], now);

	if (db_jobs_expire(m.db, now, EXPIRE_BATCH, &n) == 0 && n > 0)
		log_info("%d job%s expired waiting for their tentacle", n,
		    n == 1 ? "" : "s");

	if (now >= prune_due && !evtimer_pending(prune_ev, NULL)) {
		/* A pass, from its first step, a turn of its own. */
		prune_due = now + PRUNE_AGAIN_S;
		evtimer_add(prune_ev, &zero);
	} else if (!evtimer_pending(prune_ev, NULL))
		/* The WAL written back (SQLite's automatic checkpoint is
		 * off: db_open), a turn of its own, while retention does
		 * not. */
		evtimer_add(checkpoint_ev, &zero);
}

static void
checkpoint(evutil_socket_t fd, short events, void *arg)
{
	int	frames;

	if (db_checkpointer_kick() == -1)
		db_checkpoint(m.db, &frames);
}

/* A checkpoint's report, from the checkpointer's thread (through its
 * pipe, in the loop); retention goes on if it waited for it. */
static void
checkpoint_done(const struct db_ckpt_report *rep)
{
	struct timeval	zero = { 0, 0 };

	if (rep->rc == -1)
		log_warnx("database: checkpoint: %s", rep->err);
	else if (rep->frames > 0)
		log_debug("database: checkpoint in its own thread, %d pages "
		    "written back in %lld ms", rep->frames,
		    (long long)rep->ms);
	if (pr.waiting) {
		pr.waiting = 0;
		evtimer_add(prune_ev, &zero);
	}
}

void
schedules_start(struct event_base *base)
{
	struct timeval	tv = { CHORES_INTERVAL_S, 0 };
	char		err[256];

	prune_due = time(NULL);
	if (db_checkpointer_start(m.conf.database, base, checkpoint_done, err,
	    sizeof(err)) == -1)
		log_warnx("database: no checkpoint thread (%s): the WAL is "
		    "written back in the loop", err);
	if ((prune_ev = evtimer_new(base, prune_batch, NULL)) == NULL ||
	    (checkpoint_ev = evtimer_new(base, checkpoint, NULL)) == NULL ||
	    (chores_ev = event_new(base, -1, EV_PERSIST, chores, NULL)) ==
	    NULL || event_add(chores_ev, &tv) == -1)
		fatalx("cannot start the schedules' timer");
}

void
schedules_stop(void)
{
	if (chores_ev != NULL)
		event_free(chores_ev);
	if (prune_ev != NULL)
		event_free(prune_ev);
	db_checkpointer_stop();
	if (checkpoint_ev != NULL)
		event_free(checkpoint_ev);
	chores_ev = prune_ev = checkpoint_ev = NULL;
}

/* ---- the API --------------------------------------------------------- */

void
api_schedules(const struct api_req *r)
{
	api_reply_or_error(r, view_schedules(m.db), "schedules");
}

void
api_schedule(const struct api_req *r)
{
	struct db_schedule	*s;
	int			 rc;

	if ((s = malloc(sizeof(*s))) == NULL) {
		api_error(r, 500, "out of memory");
		return;
	}
	if ((rc = db_schedule_get(m.db, api_id(r->a), s)) == 0)
		api_reply_or_error(r, view_schedule(s), NULL);
	else
		api_error(r, rc == DB_NOTFOUND ? 404 : 500, rc == DB_NOTFOUND ?
		    "no such schedule" : "database error");
	free(s);
}

/* What the body says, onto s (whole for a new one); 0, or 400 with why
 * (script, labels and tentacles checked against the database). */
static int
schedule_apply(struct db_schedule *s, const struct schedule_body *b,
    time_t now, char *why, size_t whylen)
{
	struct db_tentacle	t;
	uint32_t		i;
	int			rc, when_changed = 0, enabled_now = 0;

	if (b->has & SB_SCRIPT) {
		if ((rc = db_script_known(m.db, b->script)) == 0) {
			if (db_script_deleted(m.db, b->script) == 1)
				snprintf(why, whylen, "script: the script %s "
				    "was deleted", b->script);
			else
				snprintf(why, whylen, "script: no tentacle has "
				    "a script %s", b->script);
			return 400;
		}
		if (rc == -1)
			return 500;
		strlcpy(s->script, b->script, sizeof(s->script));
		s->disabled_reason[0] = '\0';
	}
	if (b->has & SB_TARGET) {
		s->target_list[0] = '\0';
		switch (b->target) {
		case TARGET_ALL:
			strlcpy(s->target, "all", sizeof(s->target));
			break;
		case TARGET_LABELS:
			for (i = 0; i < b->labels.n; i++)
				if ((rc = db_label_known(m.db,
				    b->labels.v[i])) != 0) {
					if (rc == -1)
						return 500;
					snprintf(why, whylen, "labels: no "
					    "tentacle has the label %s",
					    b->labels.v[i]);
					return 400;
				}
			strlcpy(s->target, "labels", sizeof(s->target));
			proto_labels_join(&b->labels, s->target_list,
			    sizeof(s->target_list));
			break;
		case TARGET_TENTACLES:
			for (i = 0; i < b->ntentacles; i++) {
				rc = db_tentacle_get(m.db,
				    (int64_t)b->tentacles[i], &t);
				explicit_bzero(t.key_hex, sizeof(t.key_hex));
				if (rc == -1)
					return 500;
				if (rc == DB_NOTFOUND) {
					snprintf(why, whylen, "tentacles: "
					    "tentacle %llu does not exist",
					    (unsigned long long)
					    b->tentacles[i]);
					return 400;
				}
			}
			strlcpy(s->target, "tentacles", sizeof(s->target));
			groupbody_ids_join(b->tentacles, b->ntentacles,
			    s->target_list, sizeof(s->target_list));
			break;
		}
	}
	if (b->has & SB_WHEN) {
		s->every = b->every;
		strlcpy(s->cron, b->every ? "" : b->cron, sizeof(s->cron));
		when_changed = 1;
	}
	if (b->has & SB_ENABLED) {
		enabled_now = b->enabled && !s->enabled;
		s->enabled = b->enabled;
		if (b->enabled)
			s->disabled_reason[0] = '\0';
	}
	/* A new schedule, a new rhythm, or enabled again: from now (an
	 * every-N one fires now, then every N seconds). */
	if (when_changed || enabled_now || s->next_at == 0)
		s->next_at = next_firing(s, now, 0);
	return 0;
}

void
api_schedule_create(const struct api_req *r)
{
	struct schedule_body	*b;
	struct db_schedule	*s;
	char			 why[160], detail[256];
	time_t			 now = time(NULL);
	int64_t			 id;
	int			 status;

	b = malloc(sizeof(*b));
	s = calloc(1, sizeof(*s));
	if (b == NULL || s == NULL) {
		api_error(r, 500, "out of memory");
		goto out;
	}
	if (groupbody_schedule_min(r->a->body, r->a->body_len, 1,
	    m.conf.test_schedule_min_every, b, why, sizeof(why)) == -1) {
		api_error(r, 400, why);
		goto out;
	}
	strlcpy(s->created_by, r->s->user, sizeof(s->created_by));
	s->created_at = now;
	s->enabled = 1;
	if ((status = schedule_apply(s, b, now, why, sizeof(why))) != 0) {
		api_error(r, status, status == 500 ? "database error" : why);
		goto out;
	}
	if (db_schedule_add(m.db, s, &id) == -1) {
		api_error(r, 500, "database error");
		goto out;
	}
	if (s->every)
		snprintf(detail, sizeof(detail), "schedule %lld: %s every "
		    "%llds", (long long)id, s->script, (long long)s->every);
	else
		snprintf(detail, sizeof(detail), "schedule %lld: %s cron %s",
		    (long long)id, s->script, s->cron);
	db_audit(m.db, r->s->user, "schedule created", r->client, detail);
	log_info("%s created %s", r->s->user, detail);
	api_reply(r, 201, json_pack("{s:I}", "id", (json_int_t)id));
out:
	free(b);
	free(s);
}

void
api_schedule_update(const struct api_req *r)
{
	struct schedule_body	*b;
	struct db_schedule	*s;
	char			 why[160], detail[64];
	int64_t			 id = api_id(r->a);
	int			 status, rc;

	b = malloc(sizeof(*b));
	s = calloc(1, sizeof(*s));
	if (b == NULL || s == NULL) {
		api_error(r, 500, "out of memory");
		goto out;
	}
	if ((rc = db_schedule_get(m.db, id, s)) != 0) {
		api_error(r, rc == DB_NOTFOUND ? 404 : 500, rc == DB_NOTFOUND ?
		    "no such schedule" : "database error");
		goto out;
	}
	if (groupbody_schedule_min(r->a->body, r->a->body_len, 0,
	    m.conf.test_schedule_min_every, b, why, sizeof(why)) == -1) {
		api_error(r, 400, why);
		goto out;
	}
	if ((status = schedule_apply(s, b, time(NULL), why, sizeof(why))) !=
	    0) {
		api_error(r, status, status == 500 ? "database error" : why);
		goto out;
	}
	if (db_schedule_update(m.db, s) != 0) {
		api_error(r, 500, "database error");
		goto out;
	}
	snprintf(detail, sizeof(detail), "schedule %lld", (long long)id);
	db_audit(m.db, r->s->user, "schedule changed", r->client, detail);
	log_info("%s changed %s", r->s->user, detail);
	api_reply_or_error(r, view_schedule(s), NULL);
out:
	free(b);
	free(s);
}

void
api_schedule_delete(const struct api_req *r)
{
	char	detail[64];
	int64_t	id = api_id(r->a);
	int	rc;

	if ((rc = db_schedule_delete(m.db, id)) != 0) {
		api_error(r, rc == DB_NOTFOUND ? 404 : 500, rc == DB_NOTFOUND ?
		    "no such schedule" : "database error");
		return;
	}
	snprintf(detail, sizeof(detail), "schedule %lld", (long long)id);
	db_audit(m.db, r->s->user, "schedule deleted", r->client, detail);
	log_info("%s deleted %s", r->s->user, detail);
	api_reply(r, 200, json_pack("{s:b}", "ok", 1));
}
