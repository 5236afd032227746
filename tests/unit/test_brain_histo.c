#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "histo.h"

/* Each observation lands in the first bucket whose bound holds it; past
 * the last one only the count (+Inf) has it. */
static void
test_buckets(void **state)
{
	struct histo	h;
	uint64_t	n = 0;
	int		i;

	memset(&h, 0, sizeof(h));
	histo_add(&h, 0);
	histo_add(&h, 50);
	histo_add(&h, 51);
	histo_add(&h, 10000000);
	histo_add(&h, 10000001);
	assert_int_equal(h.count, 5);
	assert_int_equal(h.sum_us, 0 + 50 + 51 + 10000000 + 10000001);
	assert_int_equal(h.bucket[0], 2);
	assert_int_equal(h.bucket[1], 1);
	assert_int_equal(h.bucket[HISTO_BUCKETS - 1], 1);
	for (i = 0; i < HISTO_BUCKETS; i++) {
		n += h.bucket[i];
		if (i > 0)
			assert_true(histo_le_us[i] > histo_le_us[i - 1]);
	}
	assert_int_equal(n, 4);
	assert_true(histo_valid(&h));
}

static void
test_valid(void **state)
{
	struct histo	h;

	memset(&h, 0, sizeof(h));
	assert_true(histo_valid(&h));
	h.bucket[4] = 1;
	assert_false(histo_valid(&h));		/* more in buckets than counted */
	h.count = 1;
	assert_true(histo_valid(&h));
	h.bucket[0] = UINT64_MAX;		/* no wrap-around */
	h.count = UINT64_MAX;
	assert_false(histo_valid(&h));
}

static void
test_since(void **state)
{
	struct timespec	ts;

	histo_start(&ts);
	assert_true(histo_since_us(&ts) < 60 * 1000000ULL);
	ts.tv_sec += 3600;			/* in the future: 0, not huge */
	assert_int_equal(histo_since_us(&ts), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buckets),
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_since),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
