/*
 * The API's lists at scale (SPEC "Lists at scale"): the fleet, the runs
 * and a run's jobs by pages, and GET /api/runs/{id}?wait=S.
 *
 * A waiter is a request for a run that is not finished: the maestro keeps
 * it (the webserv keeps its HTTP request open meanwhile) and answers when
 * the run's last job ends, or after S seconds with the run as it is. The
 * places that end jobs call run_waiters_wake() (results stored, job states
 * from the commander, jobs lost); a sweep every second also looks, for any
 * other way a job may end. Nothing blocks: the maestro's loop goes on, and
 * so do the webserv's other requests.
 */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>

#include <event2/event.h>
#include <jansson.h>

#include "listargs.h"
#include "log.h"
#include "maestro.h"
#include "proto.h"

/* Waiters at once: as many as the webserv's requests in progress (its
 * PENDING_MAX); past it a request is answered at once (as a wait that
 * ended), logged at most once a minute with a count. */
#define RUN_WAITERS_MAX		1024
#define RUN_WAITERS_LOG_S	60

struct run_waiter {
	uint32_t		 id;		/* the webserv's request */
	unsigned		 generation;	/* of that webserv */
	int64_t			 run;
	uint8_t			 with_output;
	uint64_t		 after;
	uint32_t		 limit;
	struct event		*timer;		/* its wait is over */
	TAILQ_ENTRY(run_waiter)	 entry;
};

static TAILQ_HEAD(, run_waiter) waiters = TAILQ_HEAD_INITIALIZER(waiters);
static int		 nwaiters;
static struct event	*sweep_ev;
static unsigned long	 waiters_refused;	/* since the last log line */
static time_t		 waiters_logged;

static time_t
mono_now(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* ---- the fleet and the runs ------------------------------------------ */

/*
 * The last answers of GET /api/tentacles, each kept while the database's
 * change mark stays the same (issue 18): a dashboard polls its first page,
 * and every user's the same; 50 clients asking the same page between two
 * changes get the text made once. Only the smaller answers are kept; the
 * least recently used goes first.
 */
#define FLEET_CACHED_N		4
#define FLEET_CACHED_MAX	(256 * 1024)

static struct fleet_cached {
	char		 key[LIST_LIKE_MAX + PROTO_LABELS_TEXT_MAX + 96];
	struct db_mark	 mark;
	char		*text;
	uint64_t	 used;		/* fleet_uses when last used */
} fleet_cached[FLEET_CACHED_N];
static uint64_t		 fleet_uses;

static struct fleet_cached *
fleet_cached_get(const char *key, const struct db_mark *mark)
{
	struct fleet_cached	*c;
	int			 i;

	for (i = 0; i < FLEET_CACHED_N; i++) {
		c = &fleet_cached[i];
		if (c->text != NULL && strcmp(c->key, key) == 0 &&
		    c->mark.changes == mark->changes &&
		    c->mark.data_version == mark->data_version) {
			c->used = ++fleet_uses;
			return c;
		}
	}
	return NULL;
}

/* Keep text (the cache's now, or the caller's to free: 0 or -1). */
static int
fleet_cached_put(const char *key, const struct db_mark *mark, char *text)
{
	struct fleet_cached	*c = &fleet_cached[0];
	int			 i;

	if (strlen(text) > FLEET_CACHED_MAX ||
	    strlen(key) >= sizeof(c->key))
		return -1;
	for (i = 1; i < FLEET_CACHED_N; i++)
		if (fleet_cached[i].used < c->used)
			c = &fleet_cached[i];
	free(c->text);
	strlcpy(c->key, key, sizeof(c->key));
	c->mark = *mark;
	c->text = text;
	c->used = ++fleet_uses;
	return 0;
}

void
fleet_cached_clear(void)
{
	int	i;

	for (i = 0; i < FLEET_CACHED_N; i++) {
		free(fleet_cached[i].text);
		fleet_cached[i].text = NULL;
	}
}

void
api_tentacles(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	struct db_fleet_query	 q;
	struct fleet_cached	*c;
	struct db_mark		 mark;
	char			 like[LIST_LIKE_MAX], *text;
	char			 key[sizeof(fleet_cached[0].key) + 1];
	int			 notfound, marked;

	like[0] = '\0';
	if (a->q[0] && listargs_like_pattern(a->q, like, sizeof(like)) == -1) {
		api_error(r, 400, "q must be text of at most 64 bytes");
		return;
	}
	q.state = a->state;
	q.enrolment = a->enrolment;
	q.like = like;
	q.label = a->labels;
	q.sort = a->sort;
	q.desc = a->desc;
	snprintf(key, sizeof(key), "%s\n%s\n%s\n%s\n%d\n%d\n%llu\n%u",
	    q.state, q.enrolment, q.like, q.label, q.sort, q.desc,
	    (unsigned long long)a->after, (unsigned)a->limit);
	if ((marked = db_change_mark(m.db, &mark) == 0) &&
	    (c = fleet_cached_get(key, &mark)) != NULL) {
		reply_send_text(r->id, r->c->generation, 200, c->text, NULL);
		return;
	}
	if ((text = view_tentacles_text(m.db, &q, a->after, a->limit,
	    &notfound)) == NULL) {
		if (notfound)
			api_error(r, 400, "after names no tentacle (revoked "
			    "since?): list again from the start");
		else
			api_error(r, 500, "database error");
		return;
	}
	reply_send_text(r->id, r->c->generation, 200, text, NULL);
	if (!marked || fleet_cached_put(key, &mark, text) == -1)
		free(text);
}

/* ?tentacle=ID: the runs that include that tentacle; 0: every run. */
void
api_runs(const struct api_req *r)
{
	api_reply_or_error(r, view_runs_page(m.db, api_id(r->a),
	    r->a->after, r->a->limit), "runs");
}

static void
run_reply(uint32_t id, unsigned generation, int64_t run, int with_output,
    uint64_t after, unsigned limit)
{
	json_t	*j = view_run_page(m.db, run, with_output, m.checks, after,
		    limit);

	if (j == NULL)
		reply_error(id, generation, 404, "not found");
	else
		reply_send(id, generation, 200, j, NULL);
}

/* ---- waiters --------------------------------------------------------- */

static void
waiter_answer(struct run_waiter *w)
{
	log_hop("maestro-wait-answer", 0);
	TAILQ_REMOVE(&waiters, w, entry);
	nwaiters--;
	run_reply(w->id, w->generation, w->run, w->with_output, w->after,
	    w->limit);
	event_free(w->timer);
	free(w);
	if (nwaiters == 0 && sweep_ev != NULL)
		event_del(sweep_ev);
}

/* Answer the waiters whose run is finished (or gone; all: at
 * shutdown). */
static void
waiters_check(int all)
{
	struct run_waiter	*w, *next;
	int			 pending;

	for (w = TAILQ_FIRST(&waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (!all && (db_run_pending(m.db, w->run, &pending) == -1 ||
		    pending))
			continue;
		waiter_answer(w);
	}
}

static void
waiter_timeout(evutil_socket_t fd, short events, void *arg)
{
	waiter_answer(arg);
}

static void
waiters_sweep(evutil_socket_t fd, short events, void *arg)
{
	waiters_check(0);
}

void
run_waiters_wake(void)
{
	if (nwaiters > 0)
		waiters_check(0);
}

/* A job ended: only its run's waiters look (issue 18: one query, not one
 * per waiting request, per result). */
void
run_waiters_wake_job(int64_t job)
{
	struct run_waiter	*w, *next;
	int64_t			 run;
	int			 pending, asked = 0;

	if (nwaiters == 0)
		return;
	if (db_job_run(m.db, job, &run) != 0) {
		waiters_check(0);
		return;
	}
	for (w = TAILQ_FIRST(&waiters); w != NULL; w = next) {
		next = TAILQ_NEXT(w, entry);
		if (w->run != run)
			continue;
		if (!asked++ && (db_run_pending(m.db, run, &pending) == -1 ||
		    pending))
			return;
		waiter_answer(w);
	}
}

void
run_waiters_stop(void)
{
	waiters_check(1);
	if (sweep_ev != NULL)
		event_free(sweep_ev);
	sweep_ev = NULL;
}

/* Keep r until its run is finished or its wait is over; 0, or -1 (then
 * the caller answers at once). */
static int
waiter_add(const struct api_req *r)
{
	struct timeval		 second = { 1, 0 }, wait = { r->a->wait, 0 };
	struct run_waiter	*w;
	time_t			 now = mono_now();

	if (nwaiters >= RUN_WAITERS_MAX) {
		waiters_refused++;
		if (now - waiters_logged >= RUN_WAITERS_LOG_S) {
			log_warnx("%d requests already wait for their run: "
			    "%lu answered at once instead", nwaiters,
			    waiters_refused);
			waiters_logged = now;
			waiters_refused = 0;
		}
		return -1;
	}
	if (sweep_ev == NULL && (sweep_ev = event_new(m.base, -1, EV_PERSIST,
	    waiters_sweep, NULL)) == NULL)
		return -1;
	if ((w = calloc(1, sizeof(*w))) == NULL)
		return -1;
	if ((w->timer = evtimer_new(m.base, waiter_timeout, w)) == NULL ||
	    evtimer_add(w->timer, &wait) == -1) {
		if (w->timer)
			event_free(w->timer);
		free(w);
		return -1;
	}
	w->id = r->id;
	w->generation = r->c->generation;
	w->run = api_id(r->a);
	w->with_output = r->a->with_output;
	w->after = r->a->after;
	w->limit = r->a->limit;
	TAILQ_INSERT_TAIL(&waiters, w, entry);
	if (nwaiters++ == 0)
		event_add(sweep_ev, &second);
	return 0;
}

void
api_run(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	int64_t			 run = api_id(a);
	int			 pending = 0;

	if (a->wait > 0 && db_run_pending(m.db, run, &pending) == 0 &&
	    pending && waiter_add(r) == 0)
		return;
	run_reply(r->id, r->c->generation, run, a->with_output, a->after,
	    a->limit);
}
