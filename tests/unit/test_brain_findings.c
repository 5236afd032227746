/* Findings (brain/findings.c): outputs read as `STATUS CHECK-ID TEXT`, the
 * strict reader of the checks file, and the API's JSON of a finding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "findings.h"

#define S(x)	(const uint8_t *)x, sizeof(x) - 1

static void
parse(struct findings *f, const uint8_t *p, size_t n)
{
	assert_int_equal(findings_parse(p, n, f), 0);
}

static void
assert_finding(const struct finding *x, enum finding_status status,
    const char *check, const char *text)
{
	assert_int_equal(x->status, status);
	assert_string_equal(x->check, check);
	assert_string_equal(x->text, text);
}

static void
test_lines(void **state)
{
	struct findings	f;

	parse(&f, S("OK sysctl.kernel.kptr_restrict kptr_restrict = 2\n"
	    "FAIL\tmount./tmp.noexec\t/tmp is mounted without noexec  \r\n"
	    "  WARN   ssh.PermitRootLogin   prohibit-password, want no\n"
	    "\n   \t \n"
	    "SKIP grub.password\n"
	    "INFO x\n"));
	assert_int_equal(f.n, 5);
	assert_finding(&f.v[0], FINDING_OK, "sysctl.kernel.kptr_restrict",
	    "kptr_restrict = 2");
	assert_finding(&f.v[1], FINDING_FAIL, "mount./tmp.noexec",
	    "/tmp is mounted without noexec");
	assert_finding(&f.v[2], FINDING_WARN, "ssh.PermitRootLogin",
	    "prohibit-password, want no");
	assert_finding(&f.v[3], FINDING_SKIP, "grub.password", "");
	assert_finding(&f.v[4], FINDING_INFO, "x", "");
	findings_free(&f);
	assert_null(f.v);

	/* No final newline; nothing at all. */
	parse(&f, S("OK a.b fine"));
	assert_int_equal(f.n, 1);
	assert_finding(&f.v[0], FINDING_OK, "a.b", "fine");
	findings_free(&f);
	parse(&f, S(""));
	assert_int_equal(f.n, 0);
	findings_free(&f);
	parse(&f, S("\n\n \n"));
	assert_int_equal(f.n, 0);
	findings_free(&f);
}

static void
test_unparsed(void **state)
{
	struct findings	f;

	/* Kept as text, counted as INFO, no check. */
	parse(&f, S("3 findings\n"
	    "FAIL: x\n"
	    "ok a.b lower case\n"
	    "OK\n"
	    "OK 1abc starts with a digit\n"
	    "WARN a\"b quote\n"
	    "FAILED a.b\n"
	    "  indented text  \n"));
	assert_int_equal(f.n, 8);
	assert_finding(&f.v[0], FINDING_INFO, "", "3 findings");
	assert_finding(&f.v[1], FINDING_INFO, "", "FAIL: x");
	assert_finding(&f.v[2], FINDING_INFO, "", "ok a.b lower case");
	assert_finding(&f.v[3], FINDING_INFO, "", "OK");
	assert_finding(&f.v[4], FINDING_INFO, "", "OK 1abc starts with a "
	    "digit");
	assert_finding(&f.v[5], FINDING_INFO, "", "WARN a\"b quote");
	assert_finding(&f.v[6], FINDING_INFO, "", "FAILED a.b");
	assert_finding(&f.v[7], FINDING_INFO, "", "indented text");
	findings_free(&f);
}

static void
test_check_ids(void **state)
{
	char	big[FINDING_CHECK_MAX + 2];

	assert_true(finding_check_valid("a", 1));
	assert_true(finding_check_valid("mount./tmp.noexec", 17));
	assert_true(finding_check_valid("svc.getty@tty1:x+y=z_w-v", 24));
	assert_false(finding_check_valid("", 0));
	assert_false(finding_check_valid("_a", 2));
	assert_false(finding_check_valid("/tmp", 4));
	assert_false(finding_check_valid("a b", 3));
	assert_false(finding_check_valid("a<b", 3));
	assert_false(finding_check_valid("a\\b", 3));
	assert_false(finding_check_valid("a\xc3\xa9", 3));
	memset(big, 'a', sizeof(big));
	assert_true(finding_check_valid(big, FINDING_CHECK_MAX));
	assert_false(finding_check_valid(big, FINDING_CHECK_MAX + 1));
	assert_int_equal(finding_status_parse("FAIL", 4), FINDING_FAIL);
	assert_int_equal(finding_status_parse("FAI", 3), -1);
	assert_int_equal(finding_status_parse("fail", 4), -1);
	assert_string_equal(finding_status_name(FINDING_SKIP), "SKIP");
}

static void
test_bad_bytes(void **state)
{
	struct findings	f;

	/* Invalid UTF-8 (a lone continuation, an overlong '/', a surrogate,
	 * past U+10FFFF, a cut sequence) and control characters become
	 * U+FFFD; valid characters and tabs stay. */
	parse(&f, S("FAIL a.b caf\xc3\xa9 \x80 \xc0\xaf \xed\xa0\x80 "
	    "\xf4\x90\x80\x80 \x1b[31m\x7f\tz \xe2\x82\n"
	    "x\0y\n"));
	assert_int_equal(f.n, 2);
	assert_finding(&f.v[0], FINDING_FAIL, "a.b", "caf\xc3\xa9 "
	    "\xef\xbf\xbd \xef\xbf\xbd\xef\xbf\xbd "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
	    "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
	    "\xef\xbf\xbd[31m\xef\xbf\xbd\tz \xef\xbf\xbd\xef\xbf\xbd");
	/* A NUL does not end the text. */
	assert_finding(&f.v[1], FINDING_INFO, "", "x\xef\xbf\xbdy");
	findings_free(&f);
}

static void
test_long_line(void **state)
{
	struct findings	f;
	uint8_t		line[FINDING_LINE_MAX + 100];
	size_t		n;

	memcpy(line, "WARN a.b ", 9);
	memset(line + 9, 'x', sizeof(line) - 9);
	parse(&f, line, sizeof(line));
	assert_int_equal(f.n, 1);
	n = strlen(f.v[0].text);
	assert_int_equal(n, FINDING_LINE_MAX - 9 + 3);
	assert_memory_equal(f.v[0].text + n - 3, "\xe2\x80\xa6", 3);
	findings_free(&f);

	/* Cut before a character, never inside one. */
	memset(line, 'y', sizeof(line));
	memcpy(line + FINDING_LINE_MAX - 1, "\xe2\x82\xac", 3);
	parse(&f, line, sizeof(line));
	assert_int_equal(f.n, 1);
	n = strlen(f.v[0].text);
	assert_int_equal(n, FINDING_LINE_MAX - 1 + 3);
	assert_null(strstr(f.v[0].text, "\xef\xbf\xbd"));
	findings_free(&f);
}

static void
test_too_many(void **state)
{
	struct findings	f;
	char		*out;
	size_t		 i, n = 0;
	char		 want[128];

	out = malloc(8 * (FINDINGS_MAX + 10));
	assert_non_null(out);
	/* Exactly FINDINGS_MAX: all kept. */
	for (i = 0; i < FINDINGS_MAX; i++)
		n += (size_t)sprintf(out + n, "OK c%zu\n", i % 1000);
	parse(&f, (uint8_t *)out, n);
	assert_int_equal(f.n, FINDINGS_MAX);
	assert_string_equal(f.v[FINDINGS_MAX - 1].check, "c999");
	findings_free(&f);
	/* Ten more (and blank lines that do not count). */
	for (i = 0; i < 10; i++)
		n += (size_t)sprintf(out + n, "OK z\n\n");
	parse(&f, (uint8_t *)out, n);
	assert_int_equal(f.n, FINDINGS_MAX);
	snprintf(want, sizeof(want), "11 more lines not kept: at most %d "
	    "findings per result", FINDINGS_MAX);
	assert_finding(&f.v[FINDINGS_MAX - 1], FINDING_INFO, "", want);
	assert_string_equal(f.v[FINDINGS_MAX - 2].check, "c998");
	findings_free(&f);
	free(out);
}

/* ---- checks ---------------------------------------------------------- */

#define CHECKS_OK \
	"# CHECK-ID\treferences\ttitle\tfix\n" \
	"sysctl.kernel.kptr_restrict\tBP028:R9 CIS:1.5.2\tKernel pointers " \
	    "hidden\tSet kernel.kptr_restrict = 2 in /etc/sysctl.d/\n" \
	"\n" \
	"disk.usage\t\tDisk space\tFree some space\n" \
	"mount./tmp.noexec\tBP028:R28\t/tmp noexec\tAdd noexec to /tmp " \
	    "in /etc/fstab (caf\xc3\xa9)"

static void
test_checks_good(void **state)
{
	struct checks		 *c;
	const struct check_info	 *ci;
	char			 err[256];

	assert_int_equal(checks_parse("CHECKS", CHECKS_OK, strlen(CHECKS_OK),
	    &c, err, sizeof(err)), 0);
	assert_int_equal(c->n, 3);
	ci = checks_find(c, "sysctl.kernel.kptr_restrict");
	assert_non_null(ci);
	assert_string_equal(ci->refs, "BP028:R9 CIS:1.5.2");
	assert_int_equal(ci->nrefs, 2);
	assert_string_equal(ci->title, "Kernel pointers hidden");
	assert_string_equal(ci->fix, "Set kernel.kptr_restrict = 2 in "
	    "/etc/sysctl.d/");
	assert_int_equal(ci->line, 2);
	ci = checks_find(c, "disk.usage");
	assert_non_null(ci);
	assert_int_equal(ci->nrefs, 0);
	assert_string_equal(ci->refs, "");
	ci = checks_find(c, "mount./tmp.noexec");
	assert_non_null(ci);
	assert_int_equal(ci->line, 5);
	assert_null(checks_find(c, "mount./tmp"));
	assert_null(checks_find(c, ""));
	assert_null(checks_find(NULL, "disk.usage"));
	checks_free(c);

	/* Empty, comments only. */
	assert_int_equal(checks_parse("CHECKS", "", 0, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c->n, 0);
	assert_null(checks_find(c, "a"));
	checks_free(c);
	assert_int_equal(checks_parse("CHECKS", "#\n#x\ty\n", 7, &c, err,
	    sizeof(err)), 0);
	assert_int_equal(c->n, 0);
	checks_free(c);
}

static void
assert_refused(const char *text, const char *want)
{
	struct checks	*c = (struct checks *)1;
	char		 err[256];

	err[0] = '\0';
	assert_int_equal(checks_parse("F", text, strlen(text), &c, err,
	    sizeof(err)), -1);
	assert_null(c);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
}

static void
test_checks_bad(void **state)
{
	char	*big;
	size_t	 i, n;

	assert_refused("a\tR:1\tt\n", "F:1: 3 fields where 4");
	assert_refused("#\na\tR:1\tt\tf\tx\n", "F:2: more than 4 fields");
	assert_refused("a\n", "F:1: 1 field where 4");
	assert_refused("   \n", "F:1: 1 field where 4");
	assert_refused("\tR:1\tt\tf\n", "F:1: bad CHECK-ID");
	assert_refused("a b\tR:1\tt\tf\n", "F:1: bad CHECK-ID");
	assert_refused("a\"\tR:1\tt\tf\n", "F:1: bad CHECK-ID");
	assert_refused("a\tR9\tt\tf\n", "F:1: a bad reference");
	assert_refused("a\tBP028:\tt\tf\n", "F:1: a bad reference");
	assert_refused("a\t:R9\tt\tf\n", "F:1: a bad reference");
	assert_refused("a\tBP028:R9  CIS:1\tt\tf\n", "F:1: an empty reference");
	assert_refused("a\t BP028:R9\tt\tf\n", "F:1: an empty reference");
	assert_refused("a\tBP028:R9 \tt\tf\n", "F:1: an empty reference");
	assert_refused("a\tA:1 A:2 A:3 A:4 A:5 A:6 A:7 A:8 A:9 A:10 A:11 A:12 "
	    "A:13 A:14 A:15 A:16 A:17\tt\tf\n", "F:1: more than 16 references");
	assert_refused("a\tR:1\t\tf\n", "F:1: the title must have");
	assert_refused("a\tR:1\tt\t\n", "F:1: the fix must have");
	assert_refused("a\tR:1\tt\xff\tf\n", "F:1: the title is not UTF-8");
	assert_refused("a\tR:1\tt\tf\r\n", "F:1: the fix is not UTF-8");
	assert_refused("a\tR:1\tt\tf\x1b\n", "F:1: the fix is not UTF-8");
	assert_refused("a\tR:1\tt\tf\n#\nb\tR:1\tt\tf\na\tR:2\tu\tg\n",
	    "F:4: duplicate CHECK-ID a (first on line 1)");
	/* The first duplicate in the file is named. */
	assert_refused("z\tR:1\tt\tf\nb\tR:1\tt\tf\nz\tR:1\tt\tf\n"
	    "b\tR:1\tt\tf\n", "F:3: duplicate CHECK-ID z (first on line 1)");

	/* NUL, line and file limits. */
	assert_int_equal(checks_parse("F", "a\tR:1\tt\0\tf\n", 11,
	    &(struct checks *){ NULL }, (char[64]){ 0 }, 64), -1);
	n = CHECKS_LINE_MAX + 10;
	big = malloc(CHECKS_FILE_MAX + 2);
	assert_non_null(big);
	memset(big, 'a', n);
	big[n] = '\0';
	assert_refused(big, "F:1: line longer than");
	/* More checks than CHECKS_MAX. */
	for (i = n = 0; i <= CHECKS_MAX; i++)
		n += (size_t)sprintf(big + n, "c%zu\tR:1\tt\tf\n", i);
	assert_refused(big, "F:10001: more than 10000 checks");
	memset(big, '#', CHECKS_FILE_MAX + 1);
	big[CHECKS_FILE_MAX + 1] = '\0';
	assert_refused(big, "F: larger than");
	free(big);
}

static void
test_checks_load(void **state)
{
	char		 dir[] = "/tmp/octo-test-checks-XXXXXX", path[128], err[256];
	struct checks	*c;
	FILE		*fp;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/CHECKS", dir);
	assert_int_equal(checks_load(path, &c, err, sizeof(err)),
	    CHECKS_MISSING);
	assert_non_null(c);
	assert_int_equal(c->n, 0);
	assert_non_null(strstr(err, path));
	checks_free(c);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(CHECKS_OK, fp);
	fclose(fp);
	assert_int_equal(checks_load(path, &c, err, sizeof(err)), 0);
	assert_int_equal(c->n, 3);
	checks_free(c);
	fp = fopen(path, "a");
	fputs("\nbad line\n", fp);
	fclose(fp);
	assert_int_equal(checks_load(path, &c, err, sizeof(err)), -1);
	assert_null(c);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), ":6: ");
	assert_int_equal(strncmp(err, path, strlen(path)), 0);
	*strrchr(path, ':') = '\0';
	*strrchr(path, ':') = '\0';
	/* A directory is not a checks file. */
	assert_int_equal(checks_load(dir, &c, err, sizeof(err)), -1);
	unlink(path);
	rmdir(dir);
}

static void
test_json(void **state)
{
	struct checks	*c;
	char		 err[256], *s;
	json_t		*j;

	assert_int_equal(checks_parse("CHECKS", CHECKS_OK, strlen(CHECKS_OK),
	    &c, err, sizeof(err)), 0);
	j = finding_json(c, "sysctl.kernel.kptr_restrict", "FAIL",
	    "kptr_restrict = 1, want 2");
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_string_equal(s, "{\"check\":\"sysctl.kernel.kptr_restrict\","
	    "\"fix\":\"Set kernel.kptr_restrict = 2 in /etc/sysctl.d/\","
	    "\"refs\":[\"BP028:R9\",\"CIS:1.5.2\"],\"status\":\"FAIL\","
	    "\"text\":\"kptr_restrict = 1, want 2\",\"title\":"
	    "\"Kernel pointers hidden\"}");
	assert_true(strlen(s) <= finding_json_size(c,
	    "sysctl.kernel.kptr_restrict", "kptr_restrict = 1, want 2"));
	free(s);
	json_decref(j);

	j = finding_json(c, "disk.usage", "OK", "");
	assert_int_equal(json_array_size(json_object_get(j, "refs")), 0);
	json_decref(j);

	/* Unknown check; a line that did not parse; text that is not
	 * UTF-8 (not written by this parser) still encodes. */
	j = finding_json(c, "no.such", "WARN", "x");
	assert_true(json_is_null(json_object_get(j, "refs")));
	assert_true(json_is_null(json_object_get(j, "title")));
	assert_true(json_is_null(json_object_get(j, "fix")));
	json_decref(j);
	j = finding_json(NULL, "", "INFO", "caf\xe9\"\\");
	s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	assert_non_null(s);
	assert_string_equal(s, "{\"check\":null,\"fix\":null,\"refs\":null,"
	    "\"status\":\"INFO\",\"text\":\"caf\xef\xbf\xbd\\\"\\\\\","
	    "\"title\":null}");
	free(s);
	json_decref(j);
	checks_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_unparsed),
		cmocka_unit_test(test_check_ids),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_too_many),
		cmocka_unit_test(test_checks_good),
		cmocka_unit_test(test_checks_bad),
		cmocka_unit_test(test_checks_load),
		cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
