/*
 * The maestro's own check of the ledger (issue 17): once shortly after the
 * start, then daily, it walks the hash chain as octoBrain --verify-ledger
 * does (from the recorded start, once retention has pruned the chain's
 * start), in steps of LEDGER_CHECK_BATCH entries (or table IDs) with the
 * loop free between two, so that no step stalls it. The last outcome is
 * kept in memory and shown by GET /api/health ("ledger") on the Brain
 * page; a broken chain found is an audit row (ledger_broken, an event
 * when export is on) and a log line.
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "histo.h"
#include "log.h"
#include "maestro.h"

#define LEDGER_CHECK_FIRST_S	60	/* after the start */
#define LEDGER_CHECK_EVERY_S	86400
#define LEDGER_CHECK_BATCH	200	/* entries a step: a few ms */
#define LEDGER_CHECK_PAUSE_US	2000	/* between two steps */

static struct {
	struct event		*ev;
	struct db_ledger_walk	 walk;
	int			 walking;
	time_t			 started;	/* this walk's */
	uint64_t		 longest_us;	/* its longest step */
	/* The last walk done. */
	int			 done;
	time_t			 at, took;
	int			 rc;		/* 0 intact, 1 broken, -1 */
	struct db_ledger_report	 r;
	uint64_t		 last_longest_us;
} lc;

static long long
every_s(void)
{
	return m.conf.test_ledger_verify_interval > 0 ?
	    m.conf.test_ledger_verify_interval : LEDGER_CHECK_EVERY_S;
}

static void
again_in(long long s, long us)
{
	struct timeval	tv = { s, us };

	evtimer_add(lc.ev, &tv);
}

static void
walk_done(int rc)
{
	lc.walking = 0;
	lc.done = 1;
	lc.rc = rc;
	lc.r = lc.walk.r;
	lc.at = time(NULL);
	lc.took = lc.at - lc.started;
	lc.last_longest_us = lc.longest_us;
	if (rc == 0)
		log_info("ledger check: intact, %lld entries (%lld results "
		    "pruned, %lld entries pruned from the start), longest "
		    "step %llu ms", (long long)lc.r.entries,
		    (long long)lc.r.pruned, (long long)lc.r.start_pruned,
		    (unsigned long long)(lc.longest_us / 1000));
	else if (rc == 1) {
		log_warnx("ledger check: broken: %s", lc.r.why);
		if (db_audit(m.db, "system", "ledger_broken", "", lc.r.why) ==
		    -1)
			log_warnx("ledger check: cannot write the audit row");
	} else
		log_warnx("ledger check: database error");
	again_in(every_s(), 0);
}

static void
ledger_check_step(evutil_socket_t fd, short what, void *arg)
{
	struct timespec	t0;
	uint64_t	us;
	int		rc;

	if (!lc.walking) {
		db_ledger_walk_init(&lc.walk);
		lc.walking = 1;
		lc.started = time(NULL);
		lc.longest_us = 0;
	}
	histo_start(&t0);
	rc = db_ledger_walk_step(m.db, &lc.walk, LEDGER_CHECK_BATCH);
	if ((us = histo_since_us(&t0)) > lc.longest_us)
		lc.longest_us = us;
	if (rc == 2)
		again_in(0, LEDGER_CHECK_PAUSE_US);
	else
		walk_done(rc);
}

void
ledger_check_start(struct event_base *base)
{
	long long	first = LEDGER_CHECK_FIRST_S;

	if ((lc.ev = evtimer_new(base, ledger_check_step, NULL)) == NULL)
		fatalx("cannot set up the ledger check");
	if (first > every_s())
		first = every_s();
	again_in(first, 0);
}

void
ledger_check_stop(void)
{
	if (lc.ev)
		event_free(lc.ev);
	lc.ev = NULL;
}

int
ledger_check_last(time_t *at, int *intact)
{
	if (!lc.done)
		return 0;
	*at = lc.at;
	*intact = lc.rc == 0;
	return 1;
}

/* GET /api/health's "ledger": the last check (null fields before one). */
json_t *
ledger_check_json(void)
{
	json_t	*j;

	if (!lc.done)
		return json_pack("{s:n,s:b,s:I}", "checked_at", "checking",
		    lc.walking, "every", (json_int_t)every_s());
	j = json_pack("{s:o,s:I,s:b,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
	    "checked_at", time_or_null(lc.at), "every", (json_int_t)every_s(),
	    "checking", lc.walking, "outcome", lc.rc == 0 ? "intact" :
	    lc.rc == 1 ? "broken" : "error", "entries",
	    (json_int_t)lc.r.entries, "audit", (json_int_t)lc.r.audit,
	    "results", (json_int_t)lc.r.results, "pruned",
	    (json_int_t)lc.r.pruned, "audit_pruned",
	    (json_int_t)lc.r.audit_pruned, "took_s", (json_int_t)lc.took,
	    "longest_step_us", (json_int_t)lc.last_longest_us);
	if (j != NULL && lc.rc == 0) {
		json_object_set_new(j, "start_pruned",
		    json_integer(lc.r.start_pruned));
		json_object_set_new(j, "start_hash",
		    json_string(lc.r.start_hash));
	}
	if (j != NULL && lc.rc == 1) {
		json_object_set_new(j, "broken", json_string(lc.r.why));
		json_object_set_new(j, "bad_entry", json_integer(lc.r.bad));
	}
	return j;
}
