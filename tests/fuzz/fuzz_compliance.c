/*
 * The compliance API's inputs (issue 16, brain/apibody.c): the first byte
 * picks what the rest goes to. 0: apibody_waiver (POST /api/waivers, the
 * webserv); 1: apibody_time (as_of of GET /api/compliance, a waiver's
 * expires_at); 2: apibody_labels_valid (labels= of the matrix and its
 * history).
 *
 * Invariants: a refused waiver has a reason; an accepted one is for
 * exactly one of a tentacle (1..2^53) and a valid label, a valid script
 * name, a valid CHECK-ID or none, a reason of 1..WAIVER_REASON_MAX bytes
 * that is not blank and has no control character but tab, an expiry at
 * or after 1970; every string NUL-terminated in its field. An accepted
 * time is >= 0, and written back as YYYY-MM-DDTHH:MM:SSZ it parses to the
 * same instant. An accepted label list is at most PROTO_LABELS_MAX
 * labels, each proto_label_valid.
 */
#include <string.h>
#include <time.h>

#include "apibody.h"
#include "findings.h"
#include "fuzz.h"
#include "proto.h"

static void
waiver(const char *body, size_t size)
{
	struct waiver_body	 wb;
	const char		*why = NULL;
	size_t			 i, n;

	memset(&wb, 'J', sizeof(wb));
	if (apibody_waiver(body, size, &wb, &why) == -1) {
		FUZZ_CHECK(why != NULL && why[0] != '\0');
		return;
	}
	FUZZ_CHECK(memchr(wb.label, '\0', sizeof(wb.label)) != NULL);
	FUZZ_CHECK(memchr(wb.script, '\0', sizeof(wb.script)) != NULL);
	FUZZ_CHECK(memchr(wb.check, '\0', sizeof(wb.check)) != NULL);
	FUZZ_CHECK(memchr(wb.reason, '\0', sizeof(wb.reason)) != NULL);
	FUZZ_CHECK((wb.tentacle == 0) != (wb.label[0] == '\0'));
	FUZZ_CHECK(wb.tentacle <= (1ULL << 53));
	FUZZ_CHECK(wb.label[0] == '\0' || proto_label_valid(wb.label));
	FUZZ_CHECK(proto_script_name_valid(wb.script));
	FUZZ_CHECK(wb.check[0] == '\0' ||
	    finding_check_valid(wb.check, strlen(wb.check)));
	n = strlen(wb.reason);
	FUZZ_CHECK(n >= 1 && n <= WAIVER_REASON_MAX);
	FUZZ_CHECK(strspn(wb.reason, " \t\r\n") < n);
	for (i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)wb.reason[i] >= 0x20 ||
		    wb.reason[i] == '\t');
	FUZZ_CHECK(wb.expires_at >= 0);
}

static void
one_time(const char *s)
{
	struct tm	tm;
	time_t		v;
	int64_t		t, again;
	char		out[64];

	if (apibody_time(s, &t) == -1)
		return;
	FUZZ_CHECK(t >= 0);
	v = (time_t)t;
	FUZZ_CHECK(gmtime_r(&v, &tm) != NULL);
	FUZZ_CHECK(strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm) > 0);
	/* Years past 9999 have no 4-digit form: nothing to compare. */
	if (tm.tm_year + 1900 > 9999)
		return;
	FUZZ_CHECK(apibody_time(out, &again) == 0);
	FUZZ_CHECK(again == t);
}

static void
labels(const char *s)
{
	char		 one[PROTO_LABEL_MAX + 1];
	const char	*p = s;
	size_t		 n, count = 0;

	if (!apibody_labels_valid(s))
		return;
	while (*p) {
		n = strcspn(p, ",");
		FUZZ_CHECK(n >= 1 && n <= PROTO_LABEL_MAX);
		memcpy(one, p, n);
		one[n] = '\0';
		FUZZ_CHECK(proto_label_valid(one));
		count++;
		p += n;
		if (*p == ',')
			p++;
	}
	FUZZ_CHECK(count <= PROTO_LABELS_MAX);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	*s;

	if (size == 0)
		return 0;
	if (data[0] % 3 == 0) {
		waiver((const char *)data + 1, size - 1);
		return 0;
	}
	FUZZ_CHECK((s = malloc(size)) != NULL);
	memcpy(s, data + 1, size - 1);
	s[size - 1] = '\0';
	if (data[0] % 3 == 1)
		one_time(s);
	else
		labels(s);
	free(s);
	return 0;
}
