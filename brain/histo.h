/*
 * Latency histograms for GET /metrics (issue 17): fixed buckets, counted
 * in the process that measures (webserv's HTTP requests, the maestro's
 * handling of each child's messages) and printed by brain/metrics.c in the
 * Prometheus histogram form (_bucket{le=...}, _sum, _count).
 */
#ifndef OCTO_HISTO_H
#define OCTO_HISTO_H

#include <stdint.h>
#include <time.h>

#define HISTO_BUCKETS	17	/* finite ones; +Inf is the count */

/* Each bucket's upper bound, in microseconds (50 µs to 10 s). */
extern const uint32_t histo_le_us[HISTO_BUCKETS];

struct histo {
	uint64_t	count;			/* observations */
	uint64_t	sum_us;			/* their sum, µs */
	uint64_t	bucket[HISTO_BUCKETS];	/* observations in (le[i-1],
						   le[i]]: not cumulative */
};

void		histo_add(struct histo *, uint64_t us);
/* 1 if the buckets hold no more than count (a decoded one). */
int		histo_valid(const struct histo *);
/* CLOCK_MONOTONIC now, and the microseconds since such a time. */
void		histo_start(struct timespec *);
uint64_t	histo_since_us(const struct timespec *);

#endif
