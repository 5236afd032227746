/*
 * The script inventory (tentacle/inventory.c): descriptions from the
 * second line, and a scan that lists only the scripts the tentacle may
 * run, sorted, with their SHA-256.
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

#include <jansson.h>

#include "inventory.h"

static char	dir[256];

static const char *
desc(const char *text)
{
	static char	out[INVENTORY_DESC_MAX + 1];

	inventory_description(text, strlen(text), out, sizeof(out));
	return out;
}

static void
test_description(void **state)
{
	char	long_line[400];

	assert_string_equal(desc("#!/bin/sh\n# description: Disk usage\n"),
	    "Disk usage");
	assert_string_equal(desc("#!/bin/sh\n# description:   spaced  \t\r\n"
	    "echo\n"), "spaced");
	assert_string_equal(desc("#!/bin/sh\n# description: no newline"),
	    "no newline");
	assert_string_equal(desc("#!/bin/sh\n# description:\n"), "");
	assert_string_equal(desc("#!/bin/sh\n#description: x\n"), "");
	assert_string_equal(desc("#!/bin/sh\necho\n# description: third\n"),
	    "");
	assert_string_equal(desc("# description: first line\n"), "");
	assert_string_equal(desc(""), "");
	assert_string_equal(desc("#!/bin/sh\n# description: tab\there \x01"
	    "\xff\n"), "tab?here ??");
	memset(long_line, 'a', sizeof(long_line));
	memcpy(long_line, "#!/bin/sh\n# description: ", 25);
	long_line[sizeof(long_line) - 1] = '\0';
	assert_int_equal(strlen(desc(long_line)), INVENTORY_DESC_MAX);
}

static void
put(const char *name, const char *body, mode_t mode)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(body, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_scan(void **state)
{
	json_t		*arr, *o;
	json_error_t	 e;
	char		*s, err[256], path[512];

	put("b-script", "#!/bin/sh\n# description: second\necho b\n", 0755);
	put("a_script", "abc", 0700);
	put("notexec", "#!/bin/sh\n", 0644);
	put(".hidden", "#!/bin/sh\n", 0755);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("b-script", path), 0);
	snprintf(path, sizeof(path), "%s/sub", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	put("with space", "#!/bin/sh\n", 0755);

	assert_int_equal(inventory_scan(dir, &s, err, sizeof(err)), 0);
	assert_non_null(arr = json_loads(s, 0, &e));
	assert_int_equal(json_array_size(arr), 2);
	o = json_array_get(arr, 0);
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "a_script");
	/* sha256("abc") */
	assert_string_equal(json_string_value(json_object_get(o, "sha256")),
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_string_equal(json_string_value(json_object_get(o,
	    "description")), "");
	o = json_array_get(arr, 1);
	assert_string_equal(json_string_value(json_object_get(o, "name")),
	    "b-script");
	assert_string_equal(json_string_value(json_object_get(o,
	    "description")), "second");
	json_decref(arr);
	free(s);

	assert_int_equal(inventory_scan("/nonexistent/dir", &s, err,
	    sizeof(err)), -1);
	assert_null(s);
}

static void
test_many_stay_within_the_limit(void **state)
{
	char	 name[128], body[256], *s, err[256];
	json_t	*arr;
	int	 i;

	/* Long names and descriptions full of characters JSON escapes. */
	for (i = 0; i < INVENTORY_SCRIPTS_MAX + 20; i++) {
		snprintf(name, sizeof(name), "%04d%s", i, "-long-name-"
		    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
		snprintf(body, sizeof(body), "#!/bin/sh\n# description: %s\n",
		    "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\"
		    "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\"
		    "\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\\"\\");
		put(name, body, 0755);
	}
	assert_int_equal(inventory_scan(dir, &s, err, sizeof(err)), 0);
	assert_true(strlen(s) <= PROTO_SCRIPTS_MAX);
	assert_non_null(arr = json_loads(s, 0, NULL));
	assert_true(json_array_size(arr) <= INVENTORY_SCRIPTS_MAX);
	assert_true(json_array_size(arr) > 100);
	/* The first ones by name, the same each time. */
	assert_string_equal(json_string_value(json_object_get(
	    json_array_get(arr, 0), "name")), "0000-long-name-"
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	json_decref(arr);
	free(s);
}

static int
setup(void **state)
{
	strcpy(dir, "/tmp/octo-test-inventory-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_description),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_many_stay_within_the_limit),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
