/*
 * Latency histograms with fixed buckets (histo.h).
 */
#include "histo.h"

const uint32_t histo_le_us[HISTO_BUCKETS] = {
	50, 100, 250, 500,
	1000, 2500, 5000, 10000, 25000, 50000,
	100000, 250000, 500000,
	1000000, 2500000, 5000000, 10000000
};

void
histo_add(struct histo *h, uint64_t us)
{
	int	i;

	h->count++;
	h->sum_us += us;
	for (i = 0; i < HISTO_BUCKETS; i++)
		if (us <= histo_le_us[i]) {
			h->bucket[i]++;
			break;
		}
}

int
histo_valid(const struct histo *h)
{
	uint64_t	n = 0;
	int		i;

	for (i = 0; i < HISTO_BUCKETS; i++) {
		if (h->bucket[i] > h->count - n)
			return 0;
		n += h->bucket[i];
	}
	return 1;
}

void
histo_start(struct timespec *ts)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
}

uint64_t
histo_since_us(const struct timespec *start)
{
	struct timespec	now;
	int64_t		us;

	clock_gettime(CLOCK_MONOTONIC, &now);
	us = (int64_t)(now.tv_sec - start->tv_sec) * 1000000 +
	    (now.tv_nsec - start->tv_nsec) / 1000;
	return us > 0 ? (uint64_t)us : 0;
}
