/*
 * Cron expressions of schedules (SPEC "Groups, schedules"): five fields
 * "MIN HOUR DOM MON DOW", each a list of items separated by commas, an
 * item `*`, `N` or `N-M`, optionally followed by `/STEP`; months may be
 * named jan..dec and days of the week sun..sat (0 and 7 are Sunday).
 * As in Vixie cron, when both DOM and DOW are restricted (neither starts
 * with `*`) a day matches if either does.
 *
 * Times are the brain's local time. cron_next() walks the wall clock,
 * then asks mktime() for the instant: a wall time that does not exist
 * (the hour skipped when daylight saving time starts) fires at the
 * first minute after the jump; a wall time that exists twice (the hour
 * repeated when it ends) fires once.
 *
 * Pure (but for the time zone database): for the maestro, the unit test
 * and the fuzzer.
 */
#ifndef OCTO_CRON_H
#define OCTO_CRON_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* An expression's text, at most (more is no cron expression). */
#define CRON_TEXT_MAX	128
/* How far ahead cron_next looks (an expression that never matches, such
 * as "0 0 30 2 *", has no next firing). */
#define CRON_HORIZON_DAYS	(5 * 366 + 1)

struct cron {
	uint64_t	minutes;	/* bit n: minute n */
	uint32_t	hours;
	uint32_t	days;		/* bit 1..31 */
	uint32_t	months;		/* bit 1..12 */
	uint32_t	weekdays;	/* bit 0..6, Sunday 0 */
	int		days_star;	/* DOM starts with '*' */
	int		weekdays_star;
};

/* 0, or -1 with why, a message naming the field ("cron: hour: 24 is out
 * of range 0-23"). */
int	cron_parse(const char *text, struct cron *, char *why, size_t whylen);
/* The first firing strictly after `after` (local time), or -1 when there
 * is none within CRON_HORIZON_DAYS. */
time_t	cron_next(const struct cron *, time_t after);

#endif
