/*
 * JSON text into a buf (jsontext.h).
 */
#include <string.h>

#include "jsontext.h"
#include "utf8.h"
#include "views.h"

int
jtext_str(struct buf *b, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const uint8_t		*p = (const uint8_t *)s, *run;
	char			 esc[7];
	size_t			 len;
	int			 rc = 0;

	rc |= buf_append(b, "\"", 1);
	while (*p) {
		/* The bytes that need nothing, at once. */
		for (run = p; *p >= 0x20 && *p < 0x80 && *p != '"' &&
		    *p != '\\'; p++)
			;
		if (p > run)
			rc |= buf_append(b, run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p == '"' || *p == '\\') {
			esc[0] = '\\';
			esc[1] = (char)*p++;
			rc |= buf_append(b, esc, 2);
		} else if (*p < 0x20) {
			switch (*p) {
			case '\b': rc |= buf_append(b, "\\b", 2); break;
			case '\f': rc |= buf_append(b, "\\f", 2); break;
			case '\n': rc |= buf_append(b, "\\n", 2); break;
			case '\r': rc |= buf_append(b, "\\r", 2); break;
			case '\t': rc |= buf_append(b, "\\t", 2); break;
			default:
				memcpy(esc, "\\u00", 4);
				esc[4] = hex[*p >> 4];
				esc[5] = hex[*p & 0xf];
				rc |= buf_append(b, esc, 6);
			}
			p++;
		} else if ((len = utf8_seq(p, strnlen((const char *)p, 4))) >
		    0) {
			rc |= buf_append(b, p, len);
			p += len;
		} else {
			rc |= buf_append(b, "\xef\xbf\xbd", 3);	/* U+FFFD */
			p++;
		}
	}
	rc |= buf_append(b, "\"", 1);
	return rc ? -1 : 0;
}

/* The digits of v, backwards from end; returns where they start. */
static char *
digits(char *end, uint64_t v)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) > 0);
	return end;
}

int
jtext_int(struct buf *b, int64_t v)
{
	char	s[24], *p;

	p = digits(s + sizeof(s), v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
	if (v < 0)
		*--p = '-';
	return buf_append(b, p, (size_t)(s + sizeof(s) - p));
}

/* n as exactly w digits at p. */
static void
fixed(char *p, int w, long n)
{
	while (w-- > 0) {
		p[w] = (char)('0' + n % 10);
		n /= 10;
	}
}

int
jtext_time(struct buf *b, time_t t, int nullable)
{
	char		 s[] = "\"0000-00-00T00:00:00Z\"";
	long long	 days, secs, z, era, doe, yoe, doy, mp, y, mo, d;

	if (t <= 0 && nullable)
		return jtext_raw(b, "null");
	/* Days since 1970-01-01 to a civil date (proleptic Gregorian:
	 * H. Hinnant's days_from_civil, backwards). */
	days = (long long)t / 86400;
	secs = (long long)t % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	z = days + 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	d = doy - (153 * mp + 2) / 5 + 1;
	mo = mp < 10 ? mp + 3 : mp - 9;
	y = yoe + era * 400 + (mo <= 2);
	if (y < 0 || y > 9999) {
		char	r[40];

		r[0] = '"';
		rfc3339(t, r + 1, sizeof(r) - 2);
		strcat(r, "\"");
		return jtext_raw(b, r);
	}
	fixed(s + 1, 4, (long)y);
	fixed(s + 6, 2, (long)mo);
	fixed(s + 9, 2, (long)d);
	fixed(s + 12, 2, (long)(secs / 3600));
	fixed(s + 15, 2, (long)(secs / 60 % 60));
	fixed(s + 18, 2, (long)(secs % 60));
	return buf_append(b, s, sizeof(s) - 1);
}
