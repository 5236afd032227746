/*
 * The tentacle's enrolment state file (tentacle/enrolment.c): a valid file
 * round-trips through enrolment_format(); every field missing, given twice
 * or malformed, a truncated or oversized file, junk and NUL bytes are
 * refused with a reason that never shows the key.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "enrolment.h"

#define KEYHEX	"00112233445566778899aabbccddeeff" \
		"00112233445566778899aabbccddeeff"
#define FPR	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

static const char *const good_lines[] = {
	"id = 42\n",
	"key = " KEYHEX "\n",
	"brain_fingerprint = " FPR "\n",
	"brain_address = 127.0.0.1\n",
	"brain_registerer_port = 6000\n",
	"brain_commander_port = 6001\n",
	"status = pending\n",
	"enrolled_at = 1700000000\n",
};
#define NLINES	(sizeof(good_lines) / sizeof(good_lines[0]))

/* The good file with line `skip` left out (-1: none) and line `swap`
 * replaced by `with`. */
static char *
build(int skip, int swap, const char *with)
{
	static char	out[8192];
	size_t		i;

	strcpy(out, "# comment\n\n");
	for (i = 0; i < NLINES; i++) {
		if ((int)i == skip)
			continue;
		strcat(out, (int)i == swap ? with : good_lines[i]);
	}
	return out;
}

static int
parse(const char *s, struct enrolment *e, char *err, size_t errlen)
{
	return enrolment_parse(s, strlen(s), e, err, errlen);
}

static void
test_valid(void **state)
{
	struct enrolment	e, e2;
	char			err[256], text[ENROLMENT_FILE_MAX];
	int			n;

	assert_int_equal(parse(build(-1, -1, NULL), &e, err, sizeof(err)), 0);
	assert_true(e.id == 42);
	assert_int_equal(e.key[0], 0x00);
	assert_int_equal(e.key[1], 0x11);
	assert_int_equal(e.key[31], 0xff);
	assert_string_equal(e.brain_fingerprint, FPR);
	assert_string_equal(e.brain_address, "127.0.0.1");
	assert_int_equal(e.brain_registerer_port, 6000);
	assert_int_equal(e.brain_commander_port, 6001);
	assert_int_equal(e.status, ENROLMENT_PENDING);
	assert_true(e.enrolled_at == 1700000000);

	/* Round trip through the writer, other statuses, IPv6. */
	e.status = ENROLMENT_ACCEPTED;
	memset(e.brain_address, 0, sizeof(e.brain_address));
	strcpy(e.brain_address, "::1");
	n = enrolment_format(&e, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(enrolment_parse(text, (size_t)n, &e2, err,
	    sizeof(err)), 0);
	assert_memory_equal(&e, &e2, sizeof(e));
	e.status = ENROLMENT_REJECTED;
	n = enrolment_format(&e, text, sizeof(text));
	assert_int_equal(enrolment_parse(text, (size_t)n, &e2, err,
	    sizeof(err)), 0);
	assert_int_equal(e2.status, ENROLMENT_REJECTED);

	/* Blanks around '=' and at the end of lines are fine. */
	assert_int_equal(parse(build(-1, 0, "  id\t=   42  \n"), &e, err,
	    sizeof(err)), 0);
	assert_true(e.id == 42);
	/* The largest ID. */
	assert_int_equal(parse(build(-1, 0, "id = 9223372036854775807\n"), &e,
	    err, sizeof(err)), 0);

	/* The writer refuses what the reader would. */
	e.id = 0;
	assert_int_equal(enrolment_format(&e, text, sizeof(text)), -1);
	e.id = 1;
	e.status = 0;
	assert_int_equal(enrolment_format(&e, text, sizeof(text)), -1);
	e.status = ENROLMENT_PENDING;
	assert_int_equal(enrolment_format(&e, text, 10), -1);
}

static void
test_each_field_missing(void **state)
{
	struct enrolment	e;
	char			err[256];
	size_t			i;
	const char		*name;

	for (i = 0; i < NLINES; i++) {
		assert_int_equal(parse(build((int)i, -1, NULL), &e, err,
		    sizeof(err)), -1);
		name = good_lines[i];
		assert_non_null(strstr(err, "missing"));
		assert_memory_equal(strstr(err, "'") + 1, name,
		    strcspn(name, " "));
	}
}

static void
test_malformed_values(void **state)
{
	static const struct {
		int		 line;
		const char	*text;
	} bad[] = {
		{ 0, "id = 0\n" },
		{ 0, "id = -1\n" },
		{ 0, "id = 042\n" },
		{ 0, "id = 9223372036854775808\n" },
		{ 0, "id = 99999999999999999999999\n" },
		{ 0, "id = 12a\n" },
		{ 0, "id =\n" },
		{ 0, "id = 1 2\n" },
		{ 1, "key = " KEYHEX "0\n" },
		{ 1, "key = 00112233\n" },
		{ 1, "key = 00112233445566778899AABBCCDDEEFF"
		    "00112233445566778899aabbccddeeff\n" },
		{ 1, "key = 0011223344556677889gaabbccddeeff"
		    "00112233445566778899aabbccddeeff\n" },
		{ 2, "brain_fingerprint = abc\n" },
		{ 2, "brain_fingerprint = " FPR "00\n" },
		{ 3, "brain_address = localhost\n" },
		{ 3, "brain_address = 1.2.3.4.5\n" },
		{ 3, "brain_address = \n" },
		{ 4, "brain_registerer_port = 0\n" },
		{ 4, "brain_registerer_port = 65536\n" },
		{ 5, "brain_commander_port = x\n" },
		{ 6, "status = approved\n" },
		{ 6, "status = PENDING\n" },
		{ 6, "status = pendingx\n" },
		{ 7, "enrolled_at = -5\n" },
		{ 7, "enrolled_at = soon\n" },
		/* not key = value */
		{ 0, "id 42\n" },
		{ 0, "= 42\n" },
		{ 0, "ID = 42\n" },
		{ 0, "id = 42\nextra = 1\n" },
		{ 0, "id = 42\nid = 42\n" },
	};
	struct enrolment	e;
	char			err[256];
	size_t			i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse(build(-1, bad[i].line, bad[i].text), &e, err,
		    sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].text);
		assert_non_null(strstr(err, "line "));
		/* The key is a secret: never in a message. */
		assert_null(strstr(err, "00112233"));
	}
}

static void
test_truncated_oversized_junk(void **state)
{
	struct enrolment	 e;
	char			 err[256];
	char			*good = strdup(build(-1, -1, NULL));
	char			*big;
	size_t			 len = strlen(good), n;

	/* Every prefix but the whole file fails. */
	for (n = 0; n < len; n++)
		if (enrolment_parse(good, n, &e, err, sizeof(err)) != -1)
			fail_msg("prefix of %zu bytes accepted", n);
	assert_int_equal(enrolment_parse(good, len, &e, err, sizeof(err)), 0);
	/* The last newline missing: truncated. */
	assert_int_equal(enrolment_parse(good, len - 1, &e, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "truncated"));

	/* Oversized: refused before anything is read. */
	big = malloc(ENROLMENT_FILE_MAX + 2);
	memset(big, '#', ENROLMENT_FILE_MAX + 1);
	big[ENROLMENT_FILE_MAX] = '\n';
	assert_int_equal(enrolment_parse(big, ENROLMENT_FILE_MAX + 1, &e, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "too large"));
	/* A long line of valid size is just not a field. */
	memcpy(big, "id = ", 5);
	assert_int_equal(enrolment_parse(big, ENROLMENT_FILE_MAX, &e, err,
	    sizeof(err)), -1);
	free(big);

	/* NUL byte, empty, binary junk. */
	good[10] = '\0';
	assert_int_equal(enrolment_parse(good, len, &e, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "NUL"));
	assert_int_equal(enrolment_parse("", 0, &e, err, sizeof(err)), -1);
	assert_int_equal(parse("\xff\xfe\x01junk\n", &e, err, sizeof(err)), -1);
	assert_int_equal(parse("\n\n\n", &e, err, sizeof(err)), -1);
	assert_int_equal(parse("=\n", &e, err, sizeof(err)), -1);
	free(good);
}

static void
test_store_and_load(void **state)
{
	struct enrolment	e, e2;
	char			dir[] = "/tmp/test_enrolmentXXXXXX";
	char			path[256], err[512], sub[256];

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/private", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(enrolment_path(dir, path, sizeof(path)), 0);
	assert_non_null(strstr(path, "/private/enrolment"));
	assert_int_equal(enrolment_load(path, &e, err, sizeof(err)), 1);
	assert_int_equal(parse(build(-1, -1, NULL), &e, err, sizeof(err)), 0);
	assert_int_equal(enrolment_store(path, &e, err, sizeof(err)), 0);
	assert_int_equal(enrolment_load(path, &e2, err, sizeof(err)), 0);
	assert_memory_equal(&e, &e2, sizeof(e));
	assert_int_equal(access(path, R_OK), 0);
	/* A corrupt file names itself. */
	{
		FILE	*f = fopen(path, "w");

		fputs("id = 1\n", f);
		fclose(f);
	}
	assert_int_equal(enrolment_load(path, &e2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "corrupt"));
	unlink(path);
	rmdir(sub);
	rmdir(dir);
}

/* An older tentacle's state_dir/enrolment (the dropped user could write
 * it) moves into private/ without its script-signing key; one left
 * beside a new enrolment is removed, not read. */
static void
test_migrate(void **state)
{
	struct enrolment	e, e2;
	char			dir[] = "/tmp/test_enrolmentXXXXXX";
	char			old[256], path[256], sub[256], err[512];
	char			buf[8192];
	FILE			*f;

	assert_non_null(mkdtemp(dir));
	snprintf(sub, sizeof(sub), "%s/private", dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	assert_int_equal(enrolment_old_path(dir, old, sizeof(old)), 0);
	assert_int_equal(enrolment_path(dir, path, sizeof(path)), 0);
	/* Nothing to move. */
	assert_int_equal(enrolment_migrate(dir, err, sizeof(err)), 0);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(buf, sizeof(buf), "%sscript_signing_key = %s\n",
	    build(-1, -1, NULL), FPR);
	assert_non_null(f = fopen(old, "w"));
	fputs(buf, f);
	fclose(f);
	assert_int_equal(parse(buf, &e, err, sizeof(err)), 0);
	assert_int_equal(e.has_sign_pub, 1);
	assert_int_equal(enrolment_migrate(dir, err, sizeof(err)), 0);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(enrolment_load(path, &e2, err, sizeof(err)), 0);
	assert_int_equal(e2.has_sign_pub, 0);
	assert_int_equal(e2.id, e.id);
	assert_memory_equal(e2.key, e.key, sizeof(e.key));
	/* Planted beside ours: removed, ours unchanged. */
	assert_non_null(f = fopen(old, "w"));
	fputs(buf, f);
	fclose(f);
	assert_int_equal(enrolment_migrate(dir, err, sizeof(err)), 0);
	assert_int_equal(access(old, F_OK), -1);
	assert_int_equal(enrolment_load(path, &e2, err, sizeof(err)), 0);
	assert_int_equal(e2.has_sign_pub, 0);
	/* A corrupt old one stays, and says why. */
	unlink(path);
	assert_non_null(f = fopen(old, "w"));
	fputs("id = 1\n", f);
	fclose(f);
	assert_int_equal(enrolment_migrate(dir, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "corrupt"));
	assert_int_equal(access(old, F_OK), 0);
	unlink(old);
	rmdir(sub);
	rmdir(dir);
}

/* Issue 14: the brain's script-signing key, optional, once. */
static void
test_sign_pub(void **state)
{
	struct enrolment	e, e2;
	char			buf[8192], text[ENROLMENT_FILE_MAX], err[256];
	int			n;

	assert_int_equal(enrolment_parse(build(-1, -1, NULL),
	    strlen(build(-1, -1, NULL)), &e, err, sizeof(err)), 0);
	assert_int_equal(e.has_sign_pub, 0);
	snprintf(buf, sizeof(buf), "%sscript_signing_key = %s\n",
	    build(-1, -1, NULL), FPR);
	assert_int_equal(enrolment_parse(buf, strlen(buf), &e, err,
	    sizeof(err)), 0);
	assert_int_equal(e.has_sign_pub, 1);
	assert_int_equal(e.sign_pub[0], 0x01);
	assert_int_equal(e.sign_pub[31], 0xef);
	assert_true((n = enrolment_format(&e, text, sizeof(text))) > 0);
	assert_non_null(strstr(text, "script_signing_key = " FPR "\n"));
	assert_int_equal(enrolment_parse(text, (size_t)n, &e2, err,
	    sizeof(err)), 0);
	assert_memory_equal(&e, &e2, sizeof(e));
	snprintf(buf, sizeof(buf), "%sscript_signing_key = %s\n"
	    "script_signing_key = %s\n", build(-1, -1, NULL), FPR, FPR);
	assert_int_equal(enrolment_parse(buf, strlen(buf), &e, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "twice"));
	snprintf(buf, sizeof(buf), "%sscript_signing_key = ABCD\n",
	    build(-1, -1, NULL));
	assert_int_equal(enrolment_parse(buf, strlen(buf), &e, err,
	    sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_each_field_missing),
		cmocka_unit_test(test_malformed_values),
		cmocka_unit_test(test_truncated_oversized_junk),
		cmocka_unit_test(test_store_and_load),
		cmocka_unit_test(test_migrate),
		cmocka_unit_test(test_sign_pub),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
