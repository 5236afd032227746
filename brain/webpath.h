/*
 * Mapping a decoded URL path to a file under web/: a pure function, so the
 * unit tests and the fuzzer call exactly what the webserv calls.
 */
#ifndef OCTO_WEBPATH_H
#define OCTO_WEBPATH_H

#include <stddef.h>

#define WEBPATH_MAX	256	/* no file of the dashboard has a longer path */

/*
 * path: the URL path after percent-decoding, len bytes (may contain NUL,
 * which is refused). On success writes a relative path ("index.html",
 * "img/logo.svg") to out and returns 0; -1 if the path is not one we serve:
 * not absolute, "." or ".." or empty segments, hidden files, characters
 * outside [A-Za-z0-9._-/], or too long.
 */
int	webpath_resolve(const char *path, size_t len, char *out, size_t outlen);

/* Content-Type for a file name, by extension; NULL if we don't serve it. */
const char *webpath_content_type(const char *name);

#endif
