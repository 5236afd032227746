/*
 * The keepalive (report 5.2) and the welcome ping of the newly accepted:
 * which tentacle is pinged when, through the ping queue (pingq.h), handed
 * to the commander a few at a time. What an answer says is fleet.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <jansson.h>

#include "crypto.h"
#include "log.h"
#include "maestro.h"
#include "pingq.h"

/*
 * Keepalive (report 5.2): every accepted tentacle is pinged once per
 * keepalive_interval, at its own phase in it (pingq_phase), so that a
 * fleet is not pinged in one burst; answers and misses come back as
 * TENTACLE_SEEN/MISSED. Pings wait in their own queue (pingq.h: one per
 * tentacle, bounded), apart from run orders, and the commander is handed
 * at most KEEPALIVE_IN_FLIGHT at once: dead tentacles that take
 * io_timeout each to fail make the keepalive late, never a run.
 */
#define KEEPALIVE_TICK_MS	20	/* the round's timer, at the finest */
#define KEEPALIVE_LOG_S		60	/* a full queue: one line a minute */
#define KEEPALIVE_LOST_TIMEOUTS	10	/* io_timeouts: a ping's answer lost */

static struct pingq	*pings;
static struct pingq_slot *round_slots;	/* this round, by phase */
static size_t		 round_n, round_next;
static uint64_t		 round_start;	/* now_ms() */
static struct event	*round_ev;
static uint64_t		 dropped_unlogged;
static time_t		 dropped_logged;

static void	round_tick(evutil_socket_t, short, void *);

static int
keepalive_init(void)
{
	if (pings == NULL && (pings = pingq_new(KEEPALIVE_WAITING_MAX)) ==
	    NULL)
		return -1;
	if (round_ev == NULL && (round_ev = evtimer_new(m.base, round_tick,
	    NULL)) == NULL)
		return -1;
	return 0;
}

/* Queue a ping of tid (none if one is pending already). */
static void
ping_ask(uint64_t tid)
{
	struct pingq_stats	st;
	time_t			now;
	int			rc;

	if (pings == NULL && keepalive_init() == -1)
		return;
	if ((rc = pingq_push(pings, tid)) != PINGQ_FULL && rc != -1)
		return;
	dropped_unlogged++;
	now = time(NULL);
	if (now - dropped_logged < KEEPALIVE_LOG_S)
		return;
	pingq_stats(pings, &st);
	log_warnx("keepalive: %llu ping%s dropped: %zu wait already (at "
	    "most %d), %zu in flight", (unsigned long long)dropped_unlogged,
	    dropped_unlogged == 1 ? "" : "s", st.waiting,
	    KEEPALIVE_WAITING_MAX, st.in_flight);
	dropped_logged = now;
	dropped_unlogged = 0;
}

/* The commander takes what it has room for; a tentacle revoked since it
 * was queued is not pinged. */
static int
ping_send(uint64_t tid)
{
	struct db_tentacle	t;
	struct db_order		o;

	if (tid > INT64_MAX || db_tentacle_get(m.db, (int64_t)tid, &t) != 0)
		return -1;
	crypto_wipe(t.key_hex, sizeof(t.key_hex));
	if (strcmp(t.enrolment, "accepted") != 0)
		return -1;
	memset(&o, 0, sizeof(o));
	o.tentacle = (int64_t)tid;
	strlcpy(o.address, t.address, sizeof(o.address));
	o.port = t.port;
	strlcpy(o.fingerprint, t.fingerprint, sizeof(o.fingerprint));
	return dispatch_ping(&o);
}

static uint64_t
now_ms(void)
{
	struct timespec	now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (uint64_t)now.tv_sec * 1000 + (uint64_t)now.tv_nsec / 1000000;
}

static void
pings_pump(void)
{
	struct pingq_stats	st;
	uint64_t		tid;

	if (pings == NULL)
		return;
	for (;;) {
		pingq_stats(pings, &st);
		if (children[CHILD_COMMANDER].chan == NULL ||
		    st.in_flight >= KEEPALIVE_IN_FLIGHT ||
		    pingq_pop(pings, &tid, now_ms()) == -1)
			break;
		if (ping_send(tid) == -1)
			pingq_done(pings, tid);
	}
}

/* Queue the round's tentacles whose phase has come, and wait for the
 * next one's. */
static void
round_tick(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv;
	long long	elapsed = (long long)(now_ms() - round_start), wait;

	while (round_next < round_n &&
	    (long long)round_slots[round_next].phase <= elapsed)
		ping_ask(round_slots[round_next++].tentacle);
	pings_pump();
	if (round_next < round_n) {
		wait = (long long)round_slots[round_next].phase - elapsed;
		if (wait < KEEPALIVE_TICK_MS)
			wait = KEEPALIVE_TICK_MS;
		tv.tv_sec = wait / 1000;
		tv.tv_usec = (wait % 1000) * 1000;
		evtimer_add(round_ev, &tv);
	}
}

/* Every keepalive_interval: a new round. */
void
keepalive(evutil_socket_t fd, short events, void *arg)
{
	int64_t		*ids = NULL;
	size_t		 n = 0, lost;
	long long	 max_age;

	if (keepalive_init() == -1) {
		log_warnx("keepalive: out of memory");
		return;
	}
	/* Every ping the commander takes comes back, answered or missed,
	 * within a few io_timeouts; one that did not would keep its
	 * tentacle from the keepalive for good. */
	max_age = KEEPALIVE_LOST_TIMEOUTS * m.conf.io_timeout +
	    m.conf.keepalive_interval;
	if ((lost = pingq_expire(pings, now_ms(), (uint64_t)max_age *
	    1000)) > 0)
		log_warnx("keepalive: %zu ping%s without an answer from the "
		    "commander for %lld s: forgotten", lost, lost == 1 ? "" :
		    "s", max_age);
	/* The last round's tail (its timer fires late): due now. */
	while (round_next < round_n)
		ping_ask(round_slots[round_next++].tentacle);
	free(round_slots);
	round_slots = NULL;
	round_n = round_next = 0;
	if (db_tentacles_accepted(m.db, &ids, &n) == -1 || (n > 0 &&
	    (round_slots = calloc(n, sizeof(*round_slots))) == NULL)) {
		log_warnx("keepalive: cannot list the tentacles");
		free(ids);
		pings_pump();
		return;
	}
	pingq_round(round_slots, ids, n,
	    (uint32_t)m.conf.keepalive_interval * 1000);
	free(ids);
	round_n = n;
	round_start = now_ms();
	round_tick(-1, 0, NULL);
}

void
keepalive_commander(int up)
{
	if (pings == NULL)
		return;
	if (!up)
		pingq_forget_in_flight(pings);
	else
		pings_pump();
}

/* The ping queue for GET /api/health. */
json_t *
keepalive_json(void)
{
	struct pingq_stats	st;

	memset(&st, 0, sizeof(st));
	if (pings != NULL)
		pingq_stats(pings, &st);
	return json_pack("{s:I,s:I,s:I,s:I,s:I,s:I}",
	    "waiting", (json_int_t)st.waiting,
	    "waiting_max", (json_int_t)KEEPALIVE_WAITING_MAX,
	    "in_flight", (json_int_t)st.in_flight,
	    "sent", (json_int_t)st.sent,
	    "deduplicated", (json_int_t)st.deduplicated,
	    "dropped", (json_int_t)st.dropped);
}

void
keepalive_stop(void)
{
	if (round_ev != NULL)
		event_free(round_ev);
	round_ev = NULL;
	free(round_slots);
	round_slots = NULL;
	round_n = round_next = 0;
	pingq_free(pings);
	pings = NULL;
}

/* A ping came back (answered or missed): the next may go. */
void
keepalive_answered(uint64_t tid)
{
	if (pings != NULL && pingq_done(pings, tid) == 0)
		pings_pump();
}

static void
welcome_ask(const struct db_order *o, void *arg)
{
	ping_ask((uint64_t)o->tentacle);
}

/*
 * A tentacle just accepted is pinged within seconds, not at the next
 * keepalive: its facts and scripts are what the admin wants to see next.
 * One timer for all (a thousand enrolments make a few pings each, not a
 * thousand rounds): at 1 s, then 5 s, of those never seen yet; a miss here
 * counts like any other, and the keepalive takes over.
 */
void
welcome_ping(evutil_socket_t fd, short events, void *arg)
{
	struct timeval	tv = { 4, 0 };

	if (keepalive_init() == 0 &&
	    db_tentacles_to_ping(m.db, 1, welcome_ask, NULL) == 0)
		pings_pump();
	if (m.welcome_round++ == 0)
		evtimer_add(m.welcome_ev, &tv);
}

void
welcome_soon(void)
{
	struct timeval	tv = { 1, 0 };

	/* Already due: that ping will do (re-arming it at every call could
	 * put it off for ever while enrolments keep coming). */
	if (m.welcome_ev == NULL || evtimer_pending(m.welcome_ev, NULL))
		return;
	m.welcome_round = 0;
	evtimer_add(m.welcome_ev, &tv);
}
