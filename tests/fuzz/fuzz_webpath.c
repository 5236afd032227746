/*
 * webpath_resolve (brain/webpath.c): URL path -> file under web/.
 *
 * Each input goes through it three ways: as the decoded path itself (may
 * hold NUL bytes); through evhttp_uridecode first, exactly as the
 * webserv's handle_request does before serve_static; and into an output
 * buffer of a size the input picks (a short one must refuse, never
 * truncate or overflow).
 *
 * Whenever it returns 0 the result must never escape web/: no ".." (nor
 * any dot-first) segment, no leading '/', no empty segment, only
 * [A-Za-z0-9._-/], at most WEBPATH_MAX bytes, NUL-terminated within the
 * buffer, and nothing but the input without its leading '/' ("/" gives
 * "index.html").
 */
#include <string.h>

#include <event2/http.h>

#include "fuzz.h"
#include "webpath.h"

static int
path_char_ok(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-' ||
	    c == '/';
}

static void
check_resolved(const char *path, size_t len, const char *out, size_t outlen)
{
	const char	*seg, *end;
	size_t		 n, i;

	FUZZ_CHECK(memchr(out, '\0', outlen) != NULL);
	n = strlen(out);
	FUZZ_CHECK(n > 0 && n <= WEBPATH_MAX && n < outlen);
	FUZZ_CHECK(out[0] != '/');
	for (i = 0; i < n; i++)
		FUZZ_CHECK(path_char_ok((unsigned char)out[i]));
	/* Every segment: non-empty, not ".", "..", nor hidden. */
	for (seg = out; ; seg = end + 1) {
		end = strchr(seg, '/');
		if (end == NULL)
			end = out + n;
		FUZZ_CHECK(end > seg);
		FUZZ_CHECK(seg[0] != '.');
		FUZZ_CHECK(!(end - seg == 2 && seg[0] == '.' && seg[1] == '.'));
		if (*end == '\0')
			break;
	}
	/* Nothing invented: the input itself, less its leading '/'. */
	FUZZ_CHECK(len >= 1 && path[0] == '/');
	if (len == 1)
		FUZZ_CHECK(strcmp(out, "index.html") == 0);
	else
		FUZZ_CHECK(n == len - 1 && memcmp(out, path + 1, n) == 0);
	(void)webpath_content_type(out);
}

static void
resolve(const char *path, size_t len, size_t outlen)
{
	char	*out;

	/* Exactly outlen bytes of junk: an overflow or a missing NUL
	 * shows. */
	if ((out = malloc(outlen ? outlen : 1)) == NULL)
		return;
	memset(out, 'J', outlen ? outlen : 1);
	if (webpath_resolve(path, len, out, outlen) == 0)
		check_resolved(path, len, out, outlen);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s, *decoded;
	size_t	 dlen;

	/* 1. The decoded path as it is, with the webserv's buffer size. */
	resolve((const char *)data, size, WEBPATH_MAX + 16);

	/* 2. A buffer sized by the input: short ones must refuse. */
	if (size > 0)
		resolve((const char *)data, size, data[size - 1] % 48);

	/* 3. The raw URL path through the webserv's own decoding. */
	if (memchr(data, '\0', size) != NULL || (s = malloc(size + 1)) == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (s[0] == '\0') {
		free(s);
		if ((s = strdup("/")) == NULL)
			return 0;
	}
	if ((decoded = evhttp_uridecode(s, 0, &dlen)) != NULL) {
		/* handle_request refuses a path with a decoded NUL. */
		if (strlen(decoded) == dlen)
			resolve(decoded, dlen, WEBPATH_MAX + 16);
		free(decoded);
	}
	free(s);
	return 0;
}
