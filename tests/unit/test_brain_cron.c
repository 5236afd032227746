/* Cron expressions of schedules (brain/cron.h): the parser's fields,
 * ranges, lists, steps and names, its errors naming the field; the next
 * firing in UTC and across daylight saving time in Europe/Paris; and
 * the schedule bodies around them (brain/groupbody.h). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "cron.h"
#include "groupbody.h"

static void
zone(const char *tz)
{
	setenv("TZ", tz, 1);
	tzset();
}

static struct cron
parsed(const char *text)
{
	struct cron	c;
	char		why[128];

	if (cron_parse(text, &c, why, sizeof(why)) != 0)
		fail_msg("%s: %s", text, why);
	return c;
}

static void
test_fields(void **state)
{
	struct cron	c;
	int		i;

	c = parsed("* * * * *");
	assert_true(c.minutes == (1ULL << 60) - 1);
	assert_int_equal(c.hours, (1u << 24) - 1);
	assert_int_equal(c.days, ((1u << 31) - 1) << 1);
	assert_int_equal(c.months, ((1u << 12) - 1) << 1);
	assert_int_equal(c.weekdays, 0x7f);
	assert_true(c.days_star && c.weekdays_star);

	c = parsed("*/15 0-6,22 1 jan-mar mon-fri");
	assert_true(c.minutes == (1ULL << 0 | 1ULL << 15 | 1ULL << 30 |
	    1ULL << 45));
	assert_int_equal(c.hours, 0x7f | 1u << 22);
	assert_int_equal(c.days, 1u << 1);
	assert_int_equal(c.months, 1u << 1 | 1u << 2 | 1u << 3);
	assert_int_equal(c.weekdays, 0x3e);
	assert_false(c.days_star || c.weekdays_star);

	/* A start with a step runs to the end; ranges with steps. */
	c = parsed("5/20 10-20/5 */10 */5 */2");
	assert_true(c.minutes == (1ULL << 5 | 1ULL << 25 | 1ULL << 45));
	assert_int_equal(c.hours, 1u << 10 | 1u << 15 | 1u << 20);
	assert_int_equal(c.days, 1u << 1 | 1u << 11 | 1u << 21 | 1u << 31);
	assert_int_equal(c.months, 1u << 1 | 1u << 6 | 1u << 11);
	assert_int_equal(c.weekdays, 1u << 0 | 1u << 2 | 1u << 4 | 1u << 6);
	assert_true(c.days_star && c.weekdays_star);

	/* Sunday is 0 and 7; names in any case; tabs and repeated spaces. */
	c = parsed("0 0 * * 7");
	assert_int_equal(c.weekdays, 1);
	c = parsed(" 0\t0  *  DEC  Sun,SAT ");
	assert_int_equal(c.months, 1u << 12);
	assert_int_equal(c.weekdays, 1u | 1u << 6);
	c = parsed("59 23 31 12 0-7");
	assert_int_equal(c.weekdays, 0x7f);
	for (i = 0; i < 60; i++)
		assert_int_equal((parsed("0-59 * * * *").minutes >> i) & 1, 1);
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*text, *says;
	} bad[] = {
		{ "", "5 fields" },
		{ "* * * *", "5 fields" },
		{ "* * * * * *", "5 fields" },
		{ "60 * * * *", "minute: 60 is out of range 0-59" },
		{ "* 24 * * *", "hour: 24 is out of range 0-23" },
		{ "* * 0 * *", "day of month: 0" },
		{ "* * 32 * *", "day of month: 32" },
		{ "* * * 0 *", "month: 0" },
		{ "* * * 13 *", "month: 13" },
		{ "* * * * 8", "day of week: 8" },
		{ "5-1 * * * *", "minute: range 5-1 goes backwards" },
		{ "*/0 * * * *", "minute: step" },
		{ "*/ * * * *", "minute: a step is a number" },
		{ "*/61 * * * *", "minute: step" },
		{ "foo * * * *", "minute: a number expected" },
		{ "* * * xyz *", "month: a number or a name expected" },
		{ "* * * * monday", "day of week: a number or a name" },
		{ "1,,2 * * * *", "minute: a number expected" },
		{ "1, * * * *", "minute: a number expected" },
		{ "-1 * * * *", "minute" },
		{ "1-2-3 * * * *", "minute: unexpected '-'" },
		{ "99999999999999999999 * * * *", "minute" },
		{ "* * * * jan", "day of week" },
		{ "* * * sun *", "month" },
		{ "1.5 * * * *", "minute: unexpected '.'" },
	};
	struct cron	c;
	char		why[128], longer[CRON_TEXT_MAX + 8];
	size_t		i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (cron_parse(bad[i].text, &c, why, sizeof(why)) != -1)
			fail_msg("accepted: \"%s\"", bad[i].text);
		if (strstr(why, bad[i].says) == NULL)
			fail_msg("\"%s\": \"%s\" does not say \"%s\"",
			    bad[i].text, why, bad[i].says);
		assert_int_equal(strncmp(why, "cron: ", 6), 0);
	}
	memset(longer, ' ', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	memcpy(longer, "* * * * *", 9);
	assert_int_equal(cron_parse(longer, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "longer than"));
}

static void
test_next_utc(void **state)
{
	struct cron	c;
	time_t		t;

	zone("UTC");
	/* 2026-01-01T00:00:00Z: strictly after, on the minute. */
	c = parsed("*/15 * * * *");
	assert_int_equal(cron_next(&c, 1767225600), 1767226500);
	assert_int_equal(cron_next(&c, 1767225600 - 1), 1767225600);
	assert_int_equal(cron_next(&c, 1767226500 - 30), 1767226500);
	c = parsed("* * * * *");
	assert_int_equal(cron_next(&c, 1767225600), 1767225660);
	/* The next 29 February, in 2028. */
	c = parsed("0 0 29 2 *");
	assert_int_equal(cron_next(&c, 1767225600), 1835395200);
	/* Never: no 30 February within the horizon. */
	c = parsed("0 0 30 2 *");
	assert_int_equal(cron_next(&c, 1767225600), -1);
	/* Day of month or day of week when both are restricted: after
	 * Friday 2026-12-04 01:00Z, the 13th is a Sunday, the next Friday
	 * 11 December comes first. */
	c = parsed("0 0 13 * fri");
	assert_int_equal(cron_next(&c, 1796346000), 1796947200);
	/* Only Fridays when the day of month is '*'. */
	c = parsed("0 0 * * 5");
	assert_int_equal(cron_next(&c, 1796346000), 1796947200);
	/* New year: 2026-12-31T23:59Z to 2027-01-01T00:00Z. */
	c = parsed("0 0 1 1 *");
	t = cron_next(&c, 1798761540);
	assert_int_equal(t, 1798761600);
	/* Successive firings move forward. */
	c = parsed("7 */5 * * *");
	for (t = 1767225600; t < 1767225600 + 7 * 86400;) {
		time_t n = cron_next(&c, t);
		assert_true(n > t);
		assert_int_equal(n % 3600, 7 * 60);
		assert_int_equal((n / 3600) % 24 % 5, 0);
		t = n;
	}
}

static void
test_next_dst(void **state)
{
	struct cron	c;
	struct tm	tm;
	time_t		t, n;
	int		fired, last_wall, wall;

	zone("Europe/Paris");
	/* 29 March 2026: 02:00 CET becomes 03:00 CEST. 02:30 does not
	 * exist that day: it fires once, at 03:30 CEST (01:30Z). */
	c = parsed("30 2 * * *");
	assert_int_equal(cron_next(&c, 1774738800), 1774747800);
	/* and the day after at 02:30 CEST again. */
	assert_int_equal(cron_next(&c, 1774747800), 1774747800 + 86400 -
	    3600);
	/* 25 October 2026: 03:00 CEST becomes 02:00 CET. 02:30 exists
	 * twice: it fires once that day, then the next day at 02:30 CET. */
	t = cron_next(&c, 1792879200);
	assert_true(t == 1792888200 || t == 1792891800);
	assert_int_equal(cron_next(&c, t), 1792978200);

	/* Every 10 minutes through both nights: strictly forward, and each
	 * wall-clock minute at most once. */
	c = parsed("*/10 * * * *");
	for (t = 1774738800; t < 1774738800 + 6 * 3600; t = n) {
		n = cron_next(&c, t);
		assert_true(n > t && n - t <= 600);
	}
	last_wall = -1;
	for (t = 1792879200, fired = 0; t < 1792879200 + 6 * 3600; t = n) {
		n = cron_next(&c, t);
		assert_true(n > t);
		localtime_r(&n, &tm);
		wall = tm.tm_mday * 1440 + tm.tm_hour * 60 + tm.tm_min;
		assert_true(wall > last_wall);
		last_wall = wall;
		fired++;
	}
	/* 6 hours of instants, one of them repeated on the wall clock. */
	assert_true(fired >= 30 && fired <= 36);
	zone("UTC");
}

static void
test_schedule_bodies(void **state)
{
	static const struct {
		const char	*body, *says;
	} bad[] = {
		{ "{}", "script: required" },
		{ "[]", "JSON object" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\"}", "every or cron" },
		{ "{\"script\":\"x\",\"every\":60}", "tentacles or labels" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"every\":59}",
		    "every: seconds, at least 60" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"every\":\"60\"}",
		    "every" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"every\":60,"
		    "\"cron\":\"* * * * *\"}", "not both" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"cron\":"
		    "\"* 25 * * *\"}", "cron: hour: 25" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"cron\":"
		    "\"0 0 30 2 *\"}", "never fires" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"cron\":5}",
		    "cron: a string" },
		{ "{\"script\":\"../x\",\"tentacles\":\"all\",\"every\":60}",
		    "script must be" },
		{ "{\"script\":\"x\",\"tentacles\":[],\"every\":60}",
		    "tentacles must be" },
		{ "{\"script\":\"x\",\"tentacles\":[0],\"every\":60}",
		    "positive" },
		{ "{\"script\":\"x\",\"labels\":[],\"every\":60}",
		    "at least one label" },
		{ "{\"script\":\"x\",\"labels\":[\"A\"],\"every\":60}",
		    "a-z" },
		{ "{\"script\":\"x\",\"labels\":[\"a\"],\"tentacles\":\"all\","
		    "\"every\":60}", "not both" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"every\":60,"
		    "\"enabled\":1}", "enabled: true or false" },
		{ "{\"script\":\"x\",\"tentacles\":\"all\",\"every\":60,"
		    "\"colour\":1}", "unknown field: colour" },
	};
	struct schedule_body	*b = malloc(sizeof(*b));
	char			 why[160];
	size_t			 i;
	const char		*ok = "{\"script\":\"audit\",\"labels\":[\"web\","
	    "\"db\"],\"cron\":\"0 3 * * mon\",\"enabled\":false}";

	assert_non_null(b);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (groupbody_schedule(bad[i].body, strlen(bad[i].body), 1, b,
		    why, sizeof(why)) != -1)
			fail_msg("accepted: %s", bad[i].body);
		if (strstr(why, bad[i].says) == NULL)
			fail_msg("%s: \"%s\" does not say \"%s\"",
			    bad[i].body, why, bad[i].says);
	}
	assert_int_equal(groupbody_schedule(ok, strlen(ok), 1, b, why,
	    sizeof(why)), 0);
	assert_string_equal(b->script, "audit");
	assert_int_equal(b->target, TARGET_LABELS);
	assert_int_equal(b->labels.n, 2);
	assert_string_equal(b->cron, "0 3 * * mon");
	assert_int_equal(b->every, 0);
	assert_int_equal(b->enabled, 0);
	/* A change gives only some fields; at least one. */
	assert_int_equal(groupbody_schedule("{\"enabled\":true}", 16, 0, b,
	    why, sizeof(why)), 0);
	assert_int_equal(b->has, SB_ENABLED);
	assert_int_equal(groupbody_schedule("{}", 2, 0, b, why, sizeof(why)),
	    -1);
	assert_string_equal(why, "nothing to change");
	assert_int_equal(groupbody_schedule("{\"tentacles\":[3,1]}", 19, 0,
	    b, why, sizeof(why)), 0);
	assert_int_equal(b->target, TARGET_TENTACLES);
	assert_int_equal(b->ntentacles, 2);
	/* The brain's test_schedule_min_every lowers the minimum. */
	assert_int_equal(groupbody_schedule_min("{\"every\":2}", 11, 0, 2, b,
	    why, sizeof(why)), 0);
	assert_int_equal(b->every, 2);
	assert_int_equal(groupbody_schedule_min("{\"every\":1}", 11, 0, 2, b,
	    why, sizeof(why)), -1);
	assert_non_null(strstr(why, "every: seconds, at least 2"));
	assert_int_equal(groupbody_schedule("{\"every\":59}", 12, 0, b, why,
	    sizeof(why)), -1);
	assert_non_null(strstr(why, "at least 60"));
	free(b);
}

static void
test_ids_text(void **state)
{
	uint64_t	ids[4] = { 3, 1, 9007199254740992ULL, 42 }, back[4];
	char		text[128];
	uint32_t	n;

	groupbody_ids_join(ids, 4, text, sizeof(text));
	assert_string_equal(text, "3,1,9007199254740992,42");
	assert_int_equal(groupbody_ids_parse(text, back, 4, &n), 0);
	assert_int_equal(n, 4);
	assert_memory_equal(ids, back, sizeof(ids));
	assert_int_equal(groupbody_ids_parse(text, back, 3, &n), -1);
	assert_int_equal(groupbody_ids_parse("", back, 3, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(groupbody_ids_parse("1,,2", back, 3, &n), -1);
	assert_int_equal(groupbody_ids_parse("0", back, 3, &n), -1);
	assert_int_equal(groupbody_ids_parse("1x", back, 3, &n), -1);
	assert_int_equal(groupbody_ids_parse("9007199254740993", back, 3,
	    &n), -1);
}

static void
test_labels_text(void **state)
{
	struct proto_labels	l;
	const char		*why;
	char			text[PROTO_LABELS_TEXT_MAX];
	char			many[40 * 4];
	int			i;

	assert_int_equal(proto_labels_parse(" web, db ,web,eu-1.a_b", &l,
	    &why), 0);
	assert_int_equal(l.n, 3);
	proto_labels_join(&l, text, sizeof(text));
	assert_string_equal(text, "web,db,eu-1.a_b");
	assert_int_equal(proto_labels_parse("", &l, &why), 0);
	assert_int_equal(l.n, 0);
	assert_int_equal(proto_labels_parse("web,", &l, &why), 0);
	assert_int_equal(l.n, 1);
	assert_int_equal(proto_labels_parse("web,,db", &l, &why), -1);
	assert_int_equal(proto_labels_parse("Web", &l, &why), -1);
	assert_int_equal(proto_labels_parse("web db", &l, &why), -1);
	assert_int_equal(proto_labels_parse(
	    "abcdefghijklmnopqrstuvwxyz0123456", &l, &why), -1);
	assert_int_equal(proto_labels_parse(
	    "abcdefghijklmnopqrstuvwxyz012345", &l, &why), 0);
	many[0] = '\0';
	for (i = 0; i < 33; i++)
		snprintf(many + strlen(many), sizeof(many) - strlen(many),
		    "%sl%d", i ? "," : "", i);
	assert_int_equal(proto_labels_parse(many, &l, &why), -1);
	assert_string_equal(why, "at most 32 labels");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_next_utc),
		cmocka_unit_test(test_next_dst),
		cmocka_unit_test(test_schedule_bodies),
		cmocka_unit_test(test_ids_text),
		cmocka_unit_test(test_labels_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
