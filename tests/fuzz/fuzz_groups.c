/*
 * Groups and schedules (issue 16): cron expressions (brain/cron.c), the
 * API's label and schedule bodies (brain/groupbody.c), label lists as
 * text (common/proto.c). The first byte picks which; the rest is the
 * input.
 *
 * A cron expression that parses has its next firing strictly after the
 * time asked, on a minute, in its fields (in UTC here); a label list
 * that parses comes back the same when joined and parsed again; a body
 * that parses has a script name, labels and an interval in range.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"
#include "fuzz.h"
#include "groupbody.h"

static void
check_cron(const char *text)
{
	struct cron	c;
	struct tm	tm;
	char		why[160];
	time_t		after = 1767225600, t;	/* 2026-01-01T00:00:00Z */

	if (cron_parse(text, &c, why, sizeof(why)) == -1) {
		FUZZ_CHECK(strncmp(why, "cron: ", 6) == 0);
		return;
	}
	if ((t = cron_next(&c, after)) == -1)
		return;
	FUZZ_CHECK(t > after && t % 60 == 0);
	FUZZ_CHECK(gmtime_r(&t, &tm) != NULL);
	FUZZ_CHECK((c.minutes >> tm.tm_min) & 1);
	FUZZ_CHECK((c.hours >> tm.tm_hour) & 1);
	FUZZ_CHECK((c.months >> (tm.tm_mon + 1)) & 1);
}

static void
check_labels(const char *text)
{
	struct proto_labels	l, again;
	char			joined[PROTO_LABELS_TEXT_MAX];
	const char		*why;
	uint32_t		i;

	if (proto_labels_parse(text, &l, &why) == -1)
		return;
	FUZZ_CHECK(l.n <= PROTO_LABELS_MAX);
	for (i = 0; i < l.n; i++)
		FUZZ_CHECK(proto_label_valid(l.v[i]));
	proto_labels_join(&l, joined, sizeof(joined));
	FUZZ_CHECK(proto_labels_parse(joined, &again, &why) == 0);
	FUZZ_CHECK(again.n == l.n && memcmp(again.v, l.v, sizeof(l.v)) == 0);
}

static void
check_schedule(const char *body, size_t len, int create)
{
	static struct schedule_body	b;
	char				why[160];
	uint32_t			i;

	if (groupbody_schedule(body, len, create, &b, why, sizeof(why)) ==
	    -1) {
		FUZZ_CHECK(why[0] != '\0');
		return;
	}
	FUZZ_CHECK(b.has != 0);
	if (b.has & SB_SCRIPT)
		FUZZ_CHECK(proto_script_name_valid(b.script));
	if ((b.has & SB_WHEN) && b.every)
		FUZZ_CHECK(b.every >= SCHEDULE_EVERY_MIN);
	if ((b.has & SB_TARGET) && b.target == TARGET_LABELS)
		for (i = 0; i < b.labels.n; i++)
			FUZZ_CHECK(proto_label_valid(b.labels.v[i]));
	if ((b.has & SB_TARGET) && b.target == TARGET_TENTACLES)
		FUZZ_CHECK(b.ntentacles >= 1 &&
		    b.ntentacles <= SCHEDULE_TENTACLES_MAX);
	/* A lower minimum (test_schedule_min_every) accepts it too. */
	FUZZ_CHECK(groupbody_schedule_min(body, len, create, 1, &b, why,
	    sizeof(why)) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proto_labels	 l;
	const char		*why;
	char			*text;

	if (size < 1 || (text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	setenv("TZ", "UTC", 1);
	switch (data[0] % 4) {
	case 0:
		check_cron(text);
		break;
	case 1:
		check_labels(text);
		break;
	case 2:
		check_schedule((const char *)data + 1, size - 1, data[0] & 4);
		break;
	case 3:
		if (groupbody_labels_body((const char *)data + 1, size - 1, &l,
		    &why) == 0)
			FUZZ_CHECK(l.n <= PROTO_LABELS_MAX);
		break;
	}
	free(text);
	return 0;
}
