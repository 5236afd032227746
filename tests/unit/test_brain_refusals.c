/* Refusals in the audit log (brain/refusals.c) on a real SQLite file: one
 * row per action, peer address and minute with a count; and the
 * enrolment rate limit's table (auth.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "auth.h"
#include "db.h"
#include "refusals.h"
#include "views.h"

static char		 dir[64], path[128];
static struct db	*db;

static int
setup(void **state)
{
	char	err[256];

	strcpy(dir, "/tmp/octo-test-refusals.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/brain.db", dir);
	if ((db = db_open(path, err, sizeof(err))) == NULL)
		return -1;
	refusal_forget();
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[256];

	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* The audit rows of an action, newest first. */
static json_t *
events(const char *action)
{
	json_t	*o = view_audit(db, "", action, 5000), *list;

	assert_non_null(o);
	list = json_incref(json_object_get(o, "events"));
	json_decref(o);
	return list;
}

static long
count_of(json_t *e)
{
	return (long)json_integer_value(json_object_get(e, "count"));
}

static const char *
str_of(json_t *e, const char *key)
{
	return json_string_value(json_object_get(e, key));
}

static void
test_one_row_per_peer_and_minute(void **state)
{
	time_t	t0 = 1700000040;	/* 0 s into a minute */
	json_t	*list;
	char	why[64];
	int	i;

	/* 50 from one address in one minute, 3 from another. */
	for (i = 0; i < 50; i++) {
		snprintf(why, sizeof(why), "wrong proof %d", i);
		assert_int_equal(refusal_audit(db, t0 + i, "commander",
		    "refused_handshake", "192.0.2.7", why), i + 1);
	}
	for (i = 0; i < 3; i++)
		assert_int_equal(refusal_audit(db, t0 + 10, "commander",
		    "refused_handshake", "192.0.2.8", "bad frame"), i + 1);
	/* Another action from the same address has its own row. */
	assert_int_equal(refusal_audit(db, t0 + 5, "system",
	    "enrolment_refused", "192.0.2.7", "too many"), 1);
	list = events("refused_handshake");
	assert_int_equal(json_array_size(list), 2);
	assert_string_equal(str_of(json_array_get(list, 1), "peer"),
	    "192.0.2.7");
	assert_int_equal(count_of(json_array_get(list, 1)), 50);
	/* the detail is the last one's */
	assert_string_equal(str_of(json_array_get(list, 1), "detail"),
	    "wrong proof 49");
	assert_string_equal(str_of(json_array_get(list, 0), "peer"),
	    "192.0.2.8");
	assert_int_equal(count_of(json_array_get(list, 0)), 3);
	json_decref(list);

	/* The next minute: a new row. */
	assert_int_equal(refusal_audit(db, t0 + 60, "commander",
	    "refused_handshake", "192.0.2.7", "wrong proof"), 1);
	list = events("refused_handshake");
	assert_int_equal(json_array_size(list), 3);
	assert_int_equal(count_of(json_array_get(list, 0)), 1);
	json_decref(list);

	/* Other audit rows count 1. */
	assert_int_equal(db_audit(db, "admin", "login", "192.0.2.1", ""), 0);
	list = events("login");
	assert_int_equal(count_of(json_array_get(list, 0)), 1);
	json_decref(list);
}

/* More addresses in a minute than the table follows: the rest share one
 * row (the rows stay bounded whatever the flood). */
static void
test_beyond_the_table(void **state)
{
	time_t	t0 = 1700000100;
	char	peer[32];
	json_t	*list, *last;
	int	i, extra = 10;

	for (i = 0; i < REFUSAL_ROWS_MAX + extra; i++) {
		snprintf(peer, sizeof(peer), "10.%d.%d.1", i / 256, i % 256);
		assert_true(refusal_audit(db, t0, "commander",
		    "refused_handshake", peer, "bad") >= 1);
	}
	list = events("refused_handshake");
	assert_int_equal(json_array_size(list), REFUSAL_ROWS_MAX + 1);
	last = json_array_get(list, 0);
	assert_string_equal(str_of(last, "peer"), "");
	assert_int_equal(count_of(last), extra);
	assert_non_null(strstr(str_of(last, "detail"), "beyond"));
	json_decref(list);
	/* A minute later, the table is free again. */
	assert_int_equal(refusal_audit(db, t0 + 60, "commander",
	    "refused_handshake", "10.99.99.1", "bad"), 1);
}

static void
test_enrol_rate(void **state)
{
	time_t	t0 = 1700000200;
	int	i;

	for (i = 0; i < 5; i++)
		assert_int_equal(ratelimit_enrol_check("192.0.2.20", t0 + i,
		    5), 0);
	assert_true(ratelimit_enrol_check("192.0.2.20", t0 + 10, 5) > 0);
	/* another address is not held up */
	assert_int_equal(ratelimit_enrol_check("192.0.2.21", t0 + 10, 5), 0);
	/* an IPv6 host counts by its /64 */
	for (i = 0; i < 5; i++)
		assert_int_equal(ratelimit_enrol_check(i % 2 ?
		    "2001:db8::1" : "2001:db8::2", t0, 5), 0);
	assert_true(ratelimit_enrol_check("2001:db8::3", t0, 5) > 0);
	/* after the minute, again */
	assert_int_equal(ratelimit_enrol_check("192.0.2.20", t0 + 61, 5), 0);
	/* 0: no limit */
	for (i = 0; i < 100; i++)
		assert_int_equal(ratelimit_enrol_check("192.0.2.22", t0, 0),
		    0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_one_row_per_peer_and_minute, setup, teardown),
		cmocka_unit_test_setup_teardown(test_beyond_the_table, setup,
		    teardown),
		cmocka_unit_test(test_enrol_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
