/*
 * Cron expressions: parser and next firing (cron.h).
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"

struct field {
	const char		*name;
	int			 min, max;
	const char *const	*names;	/* index + names_base = value */
	int			 names_base;
};

static const char *const month_names[] = { "jan", "feb", "mar", "apr",
    "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec", NULL };
static const char *const day_names[] = { "sun", "mon", "tue", "wed", "thu",
    "fri", "sat", NULL };

static const struct field fields[5] = {
	{ "minute", 0, 59, NULL, 0 },
	{ "hour", 0, 23, NULL, 0 },
	{ "day of month", 1, 31, NULL, 0 },
	{ "month", 1, 12, month_names, 1 },
	{ "day of week", 0, 7, day_names, 0 },
};

/* A number or a name at *p: its value and p past it; -1 if neither. */
static int
value_at(const struct field *f, const char **p, int *v, char *why,
    size_t whylen)
{
	const char	*s = *p;
	long		 n;
	int		 i;

	if (isdigit((unsigned char)*s)) {
		n = 0;
		while (isdigit((unsigned char)*s)) {
			n = n * 10 + (*s++ - '0');
			if (n > 1000)
				break;
		}
		if (n < f->min || n > f->max) {
			snprintf(why, whylen, "cron: %s: %ld is out of range "
			    "%d-%d", f->name, n, f->min, f->max);
			return -1;
		}
		*v = (int)n;
		*p = s;
		return 0;
	}
	for (i = 0; f->names && f->names[i]; i++)
		if (strncasecmp(s, f->names[i], 3) == 0 &&
		    !isalpha((unsigned char)s[3])) {
			*v = i + f->names_base;
			*p = s + 3;
			return 0;
		}
	snprintf(why, whylen, "cron: %s: a number%s expected", f->name,
	    f->names ? " or a name" : "");
	return -1;
}

/* One field's text (no white space in it) into bits. */
static int
field_parse(const struct field *f, const char *s, uint64_t *bits, int *star,
    char *why, size_t whylen)
{
	int	lo, hi, step, v, any;

	*bits = 0;
	*star = *s == '*';
	for (;;) {
		step = 1;
		if ((any = *s == '*')) {
			lo = f->min;
			hi = f->max;
			s++;
		} else {
			if (value_at(f, &s, &lo, why, whylen) == -1)
				return -1;
			hi = lo;
			if (*s == '-') {
				s++;
				if (value_at(f, &s, &hi, why, whylen) == -1)
					return -1;
				if (hi < lo) {
					snprintf(why, whylen, "cron: %s: range "
					    "%d-%d goes backwards", f->name,
					    lo, hi);
					return -1;
				}
			}
		}
		if (*s == '/') {
			s++;
			if (!isdigit((unsigned char)*s)) {
				snprintf(why, whylen, "cron: %s: a step is a "
				    "number", f->name);
				return -1;
			}
			for (step = 0; isdigit((unsigned char)*s); s++)
				if ((step = step * 10 + (*s - '0')) > 1000)
					break;
			if (step < 1 || step > f->max) {
				snprintf(why, whylen, "cron: %s: step out of "
				    "range 1-%d", f->name, f->max);
				return -1;
			}
			if (lo == hi && !any)
				hi = f->max;	/* "5/15": from 5 on */
		}
		for (v = lo; v <= hi; v += step)
			*bits |= 1ULL << v;
		if (*s == '\0')
			return 0;
		if (*s != ',') {
			snprintf(why, whylen, "cron: %s: unexpected '%c'",
			    f->name, isprint((unsigned char)*s) ? *s : '?');
			return -1;
		}
		s++;
		*star = 0;
	}
}

int
cron_parse(const char *text, struct cron *c, char *why, size_t whylen)
{
	char		 buf[CRON_TEXT_MAX + 1], *tok[6], *p;
	uint64_t	 bits[5];
	int		 n = 0, stars[5], i;

	memset(c, 0, sizeof(*c));
	if (strlen(text) > CRON_TEXT_MAX) {
		snprintf(why, whylen, "cron: longer than %d characters",
		    CRON_TEXT_MAX);
		return -1;
	}
	strcpy(buf, text);
	for (p = strtok(buf, " \t"); p != NULL; p = strtok(NULL, " \t"))
		if (n < 6)
			tok[n++] = p;
		else
			n++;
	if (n != 5) {
		snprintf(why, whylen, "cron: 5 fields (MIN HOUR DOM MON DOW) "
		    "expected, %d given", n);
		return -1;
	}
	for (i = 0; i < 5; i++)
		if (field_parse(&fields[i], tok[i], &bits[i], &stars[i], why,
		    whylen) == -1)
			return -1;
	c->minutes = bits[0];
	c->hours = (uint32_t)bits[1];
	c->days = (uint32_t)bits[2];
	c->months = (uint32_t)bits[3];
	/* 7 is Sunday too. */
	c->weekdays = (uint32_t)((bits[4] | (bits[4] >> 7)) & 0x7f);
	c->days_star = stars[2];
	c->weekdays_star = stars[4];
	return 0;
}

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
month_days(int y, int m)
{
	static const int d[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	return m == 2 && leap(y) ? 29 : d[m - 1];
}

/* Day of the week of a date, Sunday 0 (Sakamoto). */
static int
weekday(int y, int m, int d)
{
	static const int t[12] = { 0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4 };

	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + t[m - 1] + d) % 7;
}

static int
day_matches(const struct cron *c, int y, int m, int d)
{
	int	dom = (c->days >> d) & 1;
	int	dow = (c->weekdays >> weekday(y, m, d)) & 1;

	if (!((c->months >> m) & 1))
		return 0;
	if (c->days_star || c->weekdays_star)
		return dom && dow;
	return dom || dow;
}

/* The instant of a local wall time (mktime moves a time in a DST gap
 * past the gap). */
static time_t
instant(int y, int mo, int d, int h, int mi)
{
	struct tm	tm;

	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_isdst = -1;
	return mktime(&tm);
}

time_t
cron_next(const struct cron *c, time_t after)
{
	struct tm	now;
	int		y, mo, d, h, mi, h0, mi0, days;
	time_t		t;

	if (localtime_r(&after, &now) == NULL)
		return -1;
	y = now.tm_year + 1900;
	mo = now.tm_mon + 1;
	d = now.tm_mday;
	/* Strictly after: from the next minute of the wall clock. */
	h0 = now.tm_hour;
	mi0 = now.tm_min + 1;
	for (days = 0; days < CRON_HORIZON_DAYS; days++) {
		if (day_matches(c, y, mo, d))
			for (h = h0; h < 24; h++) {
				if (!((c->hours >> h) & 1))
					continue;
				for (mi = h == h0 ? mi0 : 0; mi < 60; mi++) {
					if (!((c->minutes >> mi) & 1))
						continue;
					t = instant(y, mo, d, h, mi);
					/* Not after: the wall clock went
					 * back over it (or a DST gap sent
					 * it back): seen already. */
					if (t != -1 && t > after)
						return t;
				}
			}
		h0 = 0;
		mi0 = 0;
		if (++d > month_days(y, mo)) {
			d = 1;
			if (++mo > 12) {
				mo = 1;
				y++;
			}
		}
	}
	return -1;
}
