/*
 * findings_parse (brain/findings.c): a result's output read line by line
 * when the maestro stores it; the output comes from a script on a
 * tentacle, so any bytes at all.
 *
 * Invariants: at most FINDINGS_MAX findings; each has a known status, a
 * CHECK-ID that finding_check_valid accepts or "" with INFO, a text of at
 * most 3 x FINDING_LINE_MAX + 3 bytes that is valid UTF-8 without control
 * characters but tab (json_string accepts it), not starting or ending
 * with a blank; its JSON encodes within finding_json_size; written back
 * as a line (fuzz_finding_line) it parses to the same finding. No leak.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "fuzz_findings.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct findings	 f, g;
	const struct finding *x;
	json_t		*j, *s;
	char		*text, line[FINDING_LINE_MAX + 1];
	size_t		 i, k, n, len;

	if (size > OCTO_OUTPUT_MAX)
		return 0;
	FUZZ_CHECK(findings_parse(data, size, &f) == 0);
	FUZZ_CHECK(f.n <= FINDINGS_MAX);
	FUZZ_CHECK(f.n <= size);
	for (i = 0; i < f.n; i++) {
		x = &f.v[i];
		FUZZ_CHECK(x->status >= FINDING_OK &&
		    x->status <= FINDING_SKIP);
		n = strlen(x->check);
		if (n == 0)
			FUZZ_CHECK(x->status == FINDING_INFO);
		else
			FUZZ_CHECK(finding_check_valid(x->check, n));
		len = strlen(x->text);
		FUZZ_CHECK(len <= 3 * FINDING_LINE_MAX + 3);
		if (n == 0)
			FUZZ_CHECK(len > 0);
		if (len > 0) {
			FUZZ_CHECK(x->text[0] != ' ' && x->text[0] != '\t');
			FUZZ_CHECK(x->text[len - 1] != ' ' &&
			    x->text[len - 1] != '\t');
		}
		for (k = 0; k < len; k++)
			FUZZ_CHECK((unsigned char)x->text[k] >= 0x20 ||
			    x->text[k] == '\t');
		FUZZ_CHECK(memchr(x->text, 0x7f, len) == NULL);
		s = json_string(x->text);
		FUZZ_CHECK(s != NULL);
		json_decref(s);

		j = finding_json(NULL, x->check, finding_status_name(x->status),
		    x->text);
		FUZZ_CHECK(j != NULL);
		text = json_dumps(j, JSON_COMPACT);
		FUZZ_CHECK(text != NULL);
		FUZZ_CHECK(strlen(text) <= finding_json_size(NULL, x->check,
		    x->text));
		free(text);
		json_decref(j);

		/* The line it would be: the same finding again (when the
		 * line fits; the last of too many is the brain's own). */
		if (i + 1 == FINDINGS_MAX)
			continue;
		n = fuzz_finding_line(line, sizeof(line), x);
		if (n == 0 || n - 1 > FINDING_LINE_MAX)
			continue;
		FUZZ_CHECK(findings_parse((const uint8_t *)line, n, &g) == 0);
		FUZZ_CHECK(g.n == 1);
		FUZZ_CHECK(g.v[0].status == x->status);
		FUZZ_CHECK(strcmp(g.v[0].check, x->check) == 0);
		FUZZ_CHECK(strcmp(g.v[0].text, x->text) == 0);
		findings_free(&g);
	}
	findings_free(&f);
	FUZZ_CHECK(f.v == NULL && f.n == 0);
	return 0;
}
