/*
 * JSON text written straight into a buf (issue 18): the fleet's pages
 * without a tree of json_t per row, which was most of a page's cost.
 * Each call appends and returns 0, or -1 when the buf is full (the caller
 * ORs the results and looks once). Strings come out as jansson writes
 * them (", \ and controls escaped, the rest as is), except that what is
 * not well-formed UTF-8 becomes U+FFFD (utf8.h) where jansson refuses.
 * Pure.
 */
#ifndef OCTO_JSONTEXT_H
#define OCTO_JSONTEXT_H

#include <stdint.h>
#include <string.h>
#include <time.h>

#include "buf.h"

/* As is: JSON already (inline: a literal's length is known). */
static inline int
jtext_raw(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int	jtext_str(struct buf *, const char *);	/* a JSON string */
int	jtext_int(struct buf *, int64_t);
/* RFC 3339 in UTC, as a JSON string (rfc3339's text, without the C
 * library's time zone machinery); null when t <= 0 and nullable. */
int	jtext_time(struct buf *, time_t, int nullable);

#endif
