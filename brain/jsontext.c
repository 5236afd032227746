/*
 * JSON text into a buf (jsontext.h).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "jsontext.h"
#include "utf8.h"
#include "views.h"

int
jtext_raw(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

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

int
jtext_int(struct buf *b, int64_t v)
{
	char	s[24];

	snprintf(s, sizeof(s), "%" PRId64, v);
	return jtext_raw(b, s);
}

int
jtext_time(struct buf *b, time_t t, int nullable)
{
	char	s[40];

	if (t <= 0 && nullable)
		return jtext_raw(b, "null");
	s[0] = '"';
	rfc3339(t, s + 1, sizeof(s) - 2);
	strcat(s, "\"");
	return jtext_raw(b, s);
}
