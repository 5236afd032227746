/* The login rate limit: the keys addresses count under, the per-address
 * and per-user budgets, and the logins' share of the KDF queue. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "auth.h"

static void
test_addr_keys(void **state)
{
	char	k1[80], k2[80];

	ratelimit_addr_key("192.0.2.7", k1, sizeof(k1));
	assert_string_equal(k1, "192.0.2.7");
	/* One host holds a whole /64: all of it is one budget. */
	ratelimit_addr_key("2001:db8:1:2:aaaa::1", k1, sizeof(k1));
	ratelimit_addr_key("2001:db8:1:2:ffff:1:2:3", k2, sizeof(k2));
	assert_string_equal(k1, "2001:db8:1:2::/64");
	assert_string_equal(k1, k2);
	ratelimit_addr_key("2001:db8:1:3::1", k2, sizeof(k2));
	assert_string_not_equal(k1, k2);
	/* Written differently, the same /64. */
	ratelimit_addr_key("2001:0db8:0001:0002:0::9", k2, sizeof(k2));
	assert_string_equal(k1, k2);
	/* An IPv4 client seen through a v6 socket counts as itself. */
	ratelimit_addr_key("::ffff:192.0.2.7", k1, sizeof(k1));
	assert_string_equal(k1, "192.0.2.7");
	/* Not an address: counted as given. */
	ratelimit_addr_key("unix", k1, sizeof(k1));
	assert_string_equal(k1, "unix");
}

static void
test_v6_prefix_shares_a_budget(void **state)
{
	time_t	now = 1000000;
	char	addr[64];
	int	i;

	/* Three attempts from three addresses of one /64: the fourth, from a
	 * fourth address of it, waits. */
	for (i = 1; i <= 3; i++) {
		snprintf(addr, sizeof(addr), "2001:db8:5:5::%d", i);
		assert_int_equal(ratelimit_check(addr, now, 3, 60), 0);
	}
	assert_true(ratelimit_check("2001:db8:5:5::99", now, 3, 60) > 0);
	/* Another /64 has its own. */
	assert_int_equal(ratelimit_check("2001:db8:5:6::1", now, 3, 60), 0);
	/* The window passes. */
	assert_int_equal(ratelimit_check("2001:db8:5:5::99", now + 60, 3, 60),
	    0);
}

static void
test_user_budget(void **state)
{
	time_t	now = 2000000;
	int	i;

	for (i = 0; i < 8; i++)
		assert_int_equal(ratelimit_user_check("alice", now, 8, 60), 0);
	assert_true(ratelimit_user_check("alice", now + 1, 8, 60) > 0);
	assert_int_equal(ratelimit_user_check("bob", now + 1, 8, 60), 0);
	/* Addresses and user names are kept apart: an address spelled like a
	 * user name has its own budget. */
	assert_int_equal(ratelimit_check("alice", now + 1, 8, 60), 0);
}

static void
test_address_flood_keeps_users(void **state)
{
	time_t	now = 3000000;
	char	addr[64];
	int	i;

	assert_int_equal(ratelimit_user_check("carol", now, 2, 600), 0);
	assert_int_equal(ratelimit_user_check("carol", now, 2, 600), 0);
	/* A flood of distinct addresses recycles address entries only. */
	for (i = 0; i < 10000; i++) {
		snprintf(addr, sizeof(addr), "198.51.%d.%d", i / 250, i % 250);
		ratelimit_check(addr, now + 1, 2, 600);
	}
	assert_true(ratelimit_user_check("carol", now + 2, 2, 600) > 0);
}

static void
test_logins_hold_half_the_queue(void **state)
{
	struct kdf_job	*jobs[80];
	int		 logins = 0, others = 0, i;

	/* No threads run: jobs stay queued. */
	for (i = 0; i < 80; i++) {
		jobs[i] = calloc(1, sizeof(*jobs[i]));
		assert_non_null(jobs[i]);
		jobs[i]->login = 1;
		if (kdf_submit(jobs[i]) == 0)
			logins++;
		else
			free(jobs[i]);
	}
	assert_int_equal(logins, 32);	/* KDF_QUEUE_MAX / 2 */
	/* A password change still finds room. */
	for (i = 0; i < 80; i++) {
		struct kdf_job *j = calloc(1, sizeof(*j));

		assert_non_null(j);
		if (kdf_submit(j) == 0)
			others++;
		else
			free(j);
	}
	assert_true(others > 0);
	assert_int_equal(logins + others, 64);
	kdf_shutdown();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_keys),
		cmocka_unit_test(test_v6_prefix_shares_a_budget),
		cmocka_unit_test(test_user_budget),
		cmocka_unit_test(test_address_flood_keeps_users),
		cmocka_unit_test(test_logins_hold_half_the_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
