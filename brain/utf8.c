/*
 * Bytes to valid UTF-8 text (utf8.h).
 */
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

static const char	replacement[] = "\xef\xbf\xbd";	/* U+FFFD */

size_t
utf8_seq(const uint8_t *p, size_t n)
{
	uint8_t	c = p[0], lo = 0x80, hi = 0xbf;
	size_t	len, i;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		len = 2;
	else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else
		return 0;
	if (n < len || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < len; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return len;
}

static int
is_control(uint8_t c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

size_t
utf8_sanitize(char *dst, const uint8_t *src, size_t n, int flags)
{
	size_t	i = 0, o = 0, len;

	while (i < n) {
		len = utf8_seq(src + i, n - i);
		if (len == 0 || (len == 1 && !(flags & UTF8_KEEP_CONTROLS) &&
		    is_control(src[i]))) {
			memcpy(dst + o, replacement, 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(dst + o, src + i, len);
		o += len;
		i += len;
	}
	return o;
}

json_t *
utf8_json(const void *src, size_t n, int flags)
{
	char	*d;
	size_t	 o;
	json_t	*j;

	if (n > (SIZE_MAX - 1) / 3 || (d = malloc(n * 3 + 1)) == NULL)
		return NULL;
	o = utf8_sanitize(d, src, n, flags);
	j = json_stringn_nocheck(d, o);
	free(d);
	return j;
}
