/* pingq: the keepalive's queue (one ping per tentacle, bounded, oldest
 * first) and its phases (spread over the interval, stable). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "pingq.h"

static void
test_fifo(void **state)
{
	struct pingq	*q = pingq_new(10);
	uint64_t	 id;

	assert_non_null(q);
	assert_int_equal(pingq_pop(q, &id, 0), -1);
	assert_int_equal(pingq_push(q, 3), PINGQ_QUEUED);
	assert_int_equal(pingq_push(q, 1), PINGQ_QUEUED);
	assert_int_equal(pingq_push(q, 2), PINGQ_QUEUED);
	assert_int_equal(pingq_pop(q, &id, 0), 0);
	assert_int_equal(id, 3);
	assert_int_equal(pingq_pop(q, &id, 0), 0);
	assert_int_equal(id, 1);
	assert_int_equal(pingq_pop(q, &id, 0), 0);
	assert_int_equal(id, 2);
	assert_int_equal(pingq_pop(q, &id, 0), -1);
	assert_int_equal(pingq_push(q, 0), -1);
	pingq_free(q);
}

static void
test_dedup(void **state)
{
	struct pingq		*q = pingq_new(10);
	struct pingq_stats	 st;
	uint64_t		 id;

	/* Waiting: a second one is refused. */
	assert_int_equal(pingq_push(q, 7), PINGQ_QUEUED);
	assert_int_equal(pingq_push(q, 7), PINGQ_DUPLICATE);
	/* In flight: still refused, until it is done. */
	assert_int_equal(pingq_pop(q, &id, 0), 0);
	assert_int_equal(pingq_push(q, 7), PINGQ_DUPLICATE);
	assert_int_equal(pingq_done(q, 8), -1);
	assert_int_equal(pingq_done(q, 7), 0);
	assert_int_equal(pingq_done(q, 7), -1);
	assert_int_equal(pingq_push(q, 7), PINGQ_QUEUED);
	/* done() of a waiting one is refused (it was never sent). */
	assert_int_equal(pingq_done(q, 7), -1);
	pingq_stats(q, &st);
	assert_int_equal(st.waiting, 1);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.queued, 2);
	assert_int_equal(st.deduplicated, 2);
	assert_int_equal(st.sent, 1);
	assert_int_equal(st.dropped, 0);
	pingq_free(q);
}

static void
test_bound(void **state)
{
	struct pingq		*q = pingq_new(100);
	struct pingq_stats	 st;
	uint64_t		 i, id;

	for (i = 1; i <= 100; i++)
		assert_int_equal(pingq_push(q, i), PINGQ_QUEUED);
	assert_int_equal(pingq_push(q, 101), PINGQ_FULL);
	assert_int_equal(pingq_push(q, 50), PINGQ_DUPLICATE);
	/* In flight does not count against the bound: waiting does. */
	assert_int_equal(pingq_pop(q, &id, 0), 0);
	assert_int_equal(id, 1);
	assert_int_equal(pingq_push(q, 101), PINGQ_QUEUED);
	assert_int_equal(pingq_push(q, 102), PINGQ_FULL);
	pingq_stats(q, &st);
	assert_int_equal(st.waiting, 100);
	assert_int_equal(st.in_flight, 1);
	assert_int_equal(st.dropped, 2);
	pingq_free(q);
}

/* Many IDs through growth, wrap-around and removals: every one comes
 * out once, in order, and the set stays consistent. */
static void
test_many(void **state)
{
	struct pingq		*q = pingq_new(5000);
	struct pingq_stats	 st;
	uint64_t		 i, id, round;

	for (round = 0; round < 4; round++) {
		for (i = 1; i <= 5000; i++)
			assert_int_equal(pingq_push(q, i * 977), PINGQ_QUEUED);
		for (i = 1; i <= 5000; i++) {
			assert_int_equal(pingq_pop(q, &id, 0), 0);
			assert_int_equal(id, i * 977);
			/* Half of them answer at once, the rest later. */
			if (i % 2)
				assert_int_equal(pingq_done(q, id), 0);
		}
		for (i = 2; i <= 5000; i += 2)
			assert_int_equal(pingq_push(q, i * 977),
			    PINGQ_DUPLICATE);
		for (i = 2; i <= 5000; i += 2)
			assert_int_equal(pingq_done(q, i * 977), 0);
		pingq_stats(q, &st);
		assert_int_equal(st.waiting, 0);
		assert_int_equal(st.in_flight, 0);
	}
	pingq_free(q);
}

/* The commander went away: every ping in flight is forgotten (the
 * tentacles may be pinged again), the waiting ones stay. */
static void
test_forget(void **state)
{
	struct pingq		*q = pingq_new(3000);
	struct pingq_stats	 st;
	uint64_t		 i, id;

	for (i = 1; i <= 3000; i++)
		assert_int_equal(pingq_push(q, i), PINGQ_QUEUED);
	for (i = 1; i <= 2000; i++)
		assert_int_equal(pingq_pop(q, &id, 0), 0);
	pingq_forget_in_flight(q);
	pingq_stats(q, &st);
	assert_int_equal(st.in_flight, 0);
	assert_int_equal(st.waiting, 1000);
	for (i = 1; i <= 2000; i++)
		assert_int_equal(pingq_push(q, i), PINGQ_QUEUED);
	for (i = 2001; i <= 3000; i++)
		assert_int_equal(pingq_push(q, i), PINGQ_DUPLICATE);
	for (i = 2001; i <= 3000; i++) {
		assert_int_equal(pingq_pop(q, &id, 0), 0);
		assert_int_equal(id, i);
	}
	for (i = 1; i <= 2000; i++) {
		assert_int_equal(pingq_pop(q, &id, 0), 0);
		assert_int_equal(id, i);
	}
	pingq_free(q);
}

/* Pings whose answer never came are forgotten after max_age, the others
 * stay in flight. */
static void
test_expire(void **state)
{
	struct pingq		*q = pingq_new(1000);
	struct pingq_stats	 st;
	uint64_t		 i, id;

	for (i = 1; i <= 600; i++)
		assert_int_equal(pingq_push(q, i), PINGQ_QUEUED);
	for (i = 1; i <= 300; i++)
		assert_int_equal(pingq_pop(q, &id, 1000), 0);
	for (i = 301; i <= 500; i++)
		assert_int_equal(pingq_pop(q, &id, 5000), 0);
	assert_int_equal(pingq_expire(q, 5000, 10000), 0);
	assert_int_equal(pingq_expire(q, 11000, 10000), 0);
	assert_int_equal(pingq_expire(q, 11001, 10000), 300);
	pingq_stats(q, &st);
	assert_int_equal(st.in_flight, 200);
	assert_int_equal(st.waiting, 100);
	assert_int_equal(pingq_push(q, 1), PINGQ_QUEUED);
	assert_int_equal(pingq_push(q, 301), PINGQ_DUPLICATE);
	assert_int_equal(pingq_done(q, 1), -1);
	assert_int_equal(pingq_done(q, 301), 0);
	assert_int_equal(pingq_expire(q, 20000, 10000), 199);
	pingq_stats(q, &st);
	assert_int_equal(st.in_flight, 0);
	pingq_free(q);
}

/* Phases: within the interval, the same at every call, spread (no
 * tenth of the interval gets much more than its share), and a round
 * sorted by them. */
static void
test_phase(void **state)
{
	unsigned	 bins[10] = { 0 };
	uint64_t	 i;
	uint32_t	 p;
	int64_t		 ids[1000];
	struct pingq_slot slots[1000];

	for (i = 1; i <= 10000; i++) {
		p = pingq_phase(i, 30000);
		assert_true(p < 30000);
		assert_int_equal(p, pingq_phase(i, 30000));
		bins[p / 3000]++;
	}
	for (i = 0; i < 10; i++)
		assert_true(bins[i] > 800 && bins[i] < 1200);
	assert_true(pingq_phase(1, 1) == 0);
	assert_true(pingq_phase(UINT64_MAX, 86400000) < 86400000);
	/* Neighbours are far apart: 1, 2, 3 are not pinged together. */
	assert_true(labs((long)pingq_phase(1, 30000) -
	    (long)pingq_phase(2, 30000)) > 1000);

	for (i = 0; i < 1000; i++)
		ids[i] = (int64_t)(1000 - i);
	pingq_round(slots, ids, 1000, 1000);
	for (i = 1; i < 1000; i++) {
		assert_true(slots[i - 1].phase <= slots[i].phase);
		assert_int_equal(slots[i].phase,
		    pingq_phase(slots[i].tentacle, 1000));
	}
	pingq_round(slots, ids, 0, 1000);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fifo),
		cmocka_unit_test(test_dedup),
		cmocka_unit_test(test_bound),
		cmocka_unit_test(test_many),
		cmocka_unit_test(test_forget),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_phase),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
