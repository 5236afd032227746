/*
 * The encoders of fuzz_findings.c and fuzz_checks.c, shared with
 * gen_corpus.c: a finding written back as the line a script prints, and a
 * checks table written back as its file. The brain never writes either,
 * so they live here, beside the targets that check the round trips.
 */
#ifndef OCTO_FUZZ_FINDINGS_H
#define OCTO_FUZZ_FINDINGS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "findings.h"

/* "STATUS CHECK-ID TEXT\n", or "TEXT\n" for a line that did not parse;
 * the length written, or 0 when it does not fit in size. */
static inline size_t
fuzz_finding_line(char *dst, size_t size, const struct finding *f)
{
	int	n;

	if (f->check[0] == '\0')
		n = snprintf(dst, size, "%s\n", f->text);
	else
		n = snprintf(dst, size, "%s %s%s%s\n",
		    finding_status_name(f->status), f->check,
		    f->text[0] ? " " : "", f->text);
	return n >= 0 && (size_t)n < size ? (size_t)n : 0;
}

/* The file of a table, one line per check: malloc'd, *len bytes. */
static inline char *
fuzz_checks_format(const struct checks *c, const char *comment, size_t *len)
{
	size_t	i, cap = 64 + (comment ? strlen(comment) : 0), o = 0;
	char	*s;
	int	 n;

	for (i = 0; i < c->n; i++)
		cap += strlen(c->v[i].id) + strlen(c->v[i].refs) +
		    strlen(c->v[i].title) + strlen(c->v[i].fix) + 5;
	if ((s = malloc(cap)) == NULL)
		abort();
	if (comment != NULL)
		o += (size_t)snprintf(s, cap, "# %s\n", comment);
	for (i = 0; i < c->n; i++) {
		n = snprintf(s + o, cap - o, "%s\t%s\t%s\t%s\n", c->v[i].id,
		    c->v[i].refs, c->v[i].title, c->v[i].fix);
		if (n < 0 || (size_t)n >= cap - o)
			abort();
		o += (size_t)n;
	}
	*len = o;
	return s;
}

#endif
