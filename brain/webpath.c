/*
 * URL path -> file under web/. Whitelisting characters and refusing every
 * dot segment means no encoding trick can climb out; the webserv then opens
 * the result with openat2(RESOLVE_BENEATH) as a second wall.
 */
#include <string.h>

#include "webpath.h"

static int
segment_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

int
webpath_resolve(const char *path, size_t len, char *out, size_t outlen)
{
	size_t	i, o = 0, seg_start;

	if (len == 0 || path[0] != '/' || outlen == 0)
		return -1;
	if (len == 1) {
		if (outlen < sizeof("index.html"))
			return -1;
		memcpy(out, "index.html", sizeof("index.html"));
		return 0;
	}
	if (len > WEBPATH_MAX)
		return -1;
	for (i = 1; i <= len; i++) {
		seg_start = i;
		while (i < len && path[i] != '/') {
			if (!segment_char_ok((unsigned char)path[i]))
				return -1;
			i++;
		}
		/* Empty, hidden (".x"), "." and ".." segments all start with
		 * a dot or are empty: refuse them all. A trailing slash is an
		 * empty last segment. */
		if (i == seg_start || path[seg_start] == '.')
			return -1;
		if (o + (i - seg_start) + 2 > outlen)
			return -1;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, path + seg_start, i - seg_start);
		o += i - seg_start;
	}
	out[o] = '\0';
	return 0;
}

const char *
webpath_content_type(const char *name)
{
	static const struct {
		const char	*ext;
		const char	*type;
	} types[] = {
		{ ".html", "text/html; charset=utf-8" },
		{ ".js", "text/javascript; charset=utf-8" },
		{ ".css", "text/css; charset=utf-8" },
		{ ".svg", "image/svg+xml" },
		{ ".png", "image/png" },
		{ ".ico", "image/x-icon" },
		{ ".json", "application/json" },
		{ ".txt", "text/plain; charset=utf-8" },
		{ ".woff2", "font/woff2" },
	};
	const char	*dot = strrchr(name, '.');
	size_t		 i;

	if (dot == NULL)
		return NULL;
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0)
			return types[i].type;
	return NULL;
}
