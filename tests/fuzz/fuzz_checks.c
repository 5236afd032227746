/*
 * checks_parse (brain/findings.c): the checks file (brain key
 * checks_file), read by the maestro at start and on SIGHUP.
 *
 * Invariants: a refusal says "fuzz:LINE: " with LINE within the file (or
 * "fuzz: " for the whole file) and leaves no table; an accepted table has
 * at most CHECKS_MAX checks sorted by strictly increasing CHECK-ID (no
 * duplicate), each with a valid CHECK-ID, references of the form the
 * reader accepts (at most CHECK_REFS_MAX), a title and a fix within their
 * limits and valid UTF-8, its line within the file; checks_find finds
 * every one; finding_json gives their references as an array of nrefs
 * strings; written back (fuzz_checks_format) the file parses to the same
 * table. No leak.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "fuzz_findings.h"

static size_t
count_lines(const uint8_t *p, size_t n)
{
	size_t	i, lines = 0;

	for (i = 0; i < n; i++)
		lines += p[i] == '\n';
	return lines + (n > 0 && p[n - 1] != '\n');
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct checks		*c = (struct checks *)1, *d;
	const struct check_info	*ci;
	char			 err[512], *text, *end;
	size_t			 i, len, lines;
	unsigned long		 line;
	json_t			*j;

	if (size > CHECKS_FILE_MAX + 1)
		return 0;
	lines = count_lines(data, size);
	err[0] = '\0';
	if (checks_parse("fuzz", (const char *)data, size, &c, err,
	    sizeof(err)) == -1) {
		FUZZ_CHECK(c == NULL);
		FUZZ_CHECK(strncmp(err, "fuzz", 4) == 0);
		if (strncmp(err, "fuzz: ", 6) != 0) {
			FUZZ_CHECK(err[4] == ':');
			line = strtoul(err + 5, &end, 10);
			FUZZ_CHECK(end != err + 5 && strncmp(end, ": ", 2) == 0);
			FUZZ_CHECK(line >= 1 && line <= lines);
			FUZZ_CHECK(end[2] != '\0');
		}
		return 0;
	}
	FUZZ_CHECK(c != NULL && c->n <= CHECKS_MAX && c->n <= lines);
	for (i = 0; i < c->n; i++) {
		ci = &c->v[i];
		FUZZ_CHECK(finding_check_valid(ci->id, strlen(ci->id)));
		if (i > 0)
			FUZZ_CHECK(strcmp(c->v[i - 1].id, ci->id) < 0);
		FUZZ_CHECK(ci->line >= 1 && ci->line <= lines);
		FUZZ_CHECK(ci->nrefs <= CHECK_REFS_MAX);
		FUZZ_CHECK((ci->nrefs == 0) == (ci->refs[0] == '\0'));
		len = strlen(ci->title);
		FUZZ_CHECK(len >= 1 && len <= CHECK_TITLE_MAX);
		FUZZ_CHECK(strchr(ci->title, '\t') == NULL);
		len = strlen(ci->fix);
		FUZZ_CHECK(len >= 1 && len <= CHECK_FIX_MAX);
		FUZZ_CHECK(checks_find(c, ci->id) == ci);
		j = finding_json(c, ci->id, "FAIL", "x");
		FUZZ_CHECK(j != NULL);
		FUZZ_CHECK(json_array_size(json_object_get(j, "refs")) ==
		    ci->nrefs);
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(j,
		    "title")), ci->title) == 0);
		FUZZ_CHECK(strcmp(json_string_value(json_object_get(j,
		    "fix")), ci->fix) == 0);
		text = json_dumps(j, JSON_COMPACT);
		FUZZ_CHECK(text != NULL);
		FUZZ_CHECK(strlen(text) <= finding_json_size(c, ci->id, "x"));
		free(text);
		json_decref(j);
	}

	/* Written back: the same table. */
	text = fuzz_checks_format(c, "again", &len);
	FUZZ_CHECK(checks_parse("again", text, len, &d, err,
	    sizeof(err)) == 0);
	FUZZ_CHECK(d->n == c->n);
	for (i = 0; i < c->n; i++) {
		FUZZ_CHECK(strcmp(d->v[i].id, c->v[i].id) == 0);
		FUZZ_CHECK(strcmp(d->v[i].refs, c->v[i].refs) == 0);
		FUZZ_CHECK(d->v[i].nrefs == c->v[i].nrefs);
		FUZZ_CHECK(strcmp(d->v[i].title, c->v[i].title) == 0);
		FUZZ_CHECK(strcmp(d->v[i].fix, c->v[i].fix) == 0);
	}
	checks_free(d);
	free(text);
	checks_free(c);
	return 0;
}
