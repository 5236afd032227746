/*
 * The clocks of the maestro's work over turns (turnclock.h).
 */
#include <time.h>

#include "turnclock.h"

static int64_t
ms_of(clockid_t clock)
{
	struct timespec	ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
turn_now_ms(void)
{
	return ms_of(CLOCK_MONOTONIC);
}

int64_t
turn_cpu_ms(void)
{
	return ms_of(CLOCK_THREAD_CPUTIME_ID);
}
