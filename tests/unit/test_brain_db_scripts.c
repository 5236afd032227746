/* The managed scripts' library (brain/db_scripts.c) on a real SQLite
 * file: versions, numbers never given twice (even after a delete), reads,
 * the fleet's list merged with the tentacles' copies; and the API body's
 * checks (apibody_script). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <jansson.h>

#include "apibody.h"
#include "db.h"
#include "views.h"

static char		 dir[64], path[128];
static struct db	*db;

static int
setup(void **state)
{
	char	err[256];

	strcpy(dir, "/tmp/octo-test-dbs.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/brain.db", dir);
	return (db = db_open(path, err, sizeof(err))) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[256];

	db_close(db);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

/* Add the next version of name as db_script_next says: its number. */
static int64_t
put(const char *name, const char *body, const char *sha)
{
	struct db_managed_row	r;
	int64_t			next;
	int			live;

	assert_int_equal(db_begin(db), 0);
	assert_int_equal(db_script_next(db, name, &live, &next), 0);
	memset(&r, 0, sizeof(r));
	r.name = name;
	r.version = next;
	r.description = "d";
	r.sha256 = sha;
	r.created_by = "admin";
	r.signature = "";
	r.body = (const uint8_t *)body;
	r.body_len = strlen(body);
	assert_int_equal(db_script_version_add(db, &r), 0);
	assert_int_equal(db_commit(db), 0);
	return next;
}

static void
got_body(const struct db_managed_row *r, void *arg)
{
	snprintf(arg, 64, "%lld:%.*s", (long long)r->version,
	    (int)r->body_len, (const char *)r->body);
}

static void
count(const struct db_managed_row *r, void *arg)
{
	(*(int *)arg)++;
}

static void
test_versions(void **state)
{
	char			 got[64];
	int			 live, n = 0;
	int64_t			 next;
	struct db_managed_row	 r;

	assert_int_equal(db_script_next(db, "a", &live, &next), 0);
	assert_int_equal(live, 0);
	assert_int_equal(next, 1);
	assert_int_equal(put("a", "#!1", "11"), 1);
	assert_int_equal(put("a", "#!2", "22"), 2);
	assert_int_equal(db_script_next(db, "a", &live, &next), 0);
	assert_int_equal(live, 1);
	assert_int_equal(next, 3);
	assert_int_equal(db_script_read(db, "a", 0, got_body, got), 0);
	assert_string_equal(got, "2:#!2");
	assert_int_equal(db_script_read(db, "a", 1, got_body, got), 0);
	assert_string_equal(got, "1:#!1");
	assert_int_equal(db_script_read(db, "a", 9, got_body, got),
	    DB_NOTFOUND);
	assert_int_equal(db_script_versions_each(db, "a", count, &n), 0);
	assert_int_equal(n, 2);

	/* A number given already is refused. */
	memset(&r, 0, sizeof(r));
	r.name = "a";
	r.version = 2;
	r.description = r.sha256 = r.created_by = "";
	assert_int_equal(db_script_version_add(db, &r), DB_EXISTS);

	/* Deleted: gone from reads, its number taken; created again after. */
	assert_int_equal(db_script_mark_deleted(db, "a", 3, "admin", "s"), 0);
	assert_int_equal(db_script_mark_deleted(db, "a", 4, "admin", "s"),
	    DB_NOTFOUND);
	assert_int_equal(db_script_read(db, "a", 0, got_body, got),
	    DB_NOTFOUND);
	n = 0;
	assert_int_equal(db_managed_each(db, count, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_managed_deleted_each(db, count, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_script_next(db, "a", &live, &next), 0);
	assert_int_equal(live, 0);
	assert_int_equal(next, 4);
	assert_int_equal(put("a", "#!4", "44"), 4);
	assert_int_equal(db_script_read(db, "a", 0, got_body, got), 0);
	assert_string_equal(got, "4:#!4");
	n = 0;
	assert_int_equal(db_managed_deleted_each(db, count, &n), 0);
	assert_int_equal(n, 0);
}

static void
test_fleet_view(void **state)
{
	struct db_tentacle	 t;
	int64_t			 id;
	json_t			*inv, *list, *s;
	int			 local;

	assert_int_equal(put("m", "#!m1", "aa"), 1);
	assert_int_equal(put("m", "#!m2", "bb"), 2);
	memset(&t, 0, sizeof(t));
	strcpy(t.hostname, "h1");
	strcpy(t.address, "192.0.2.1");
	t.port = 7001;
	strcpy(t.enrolment, "accepted");
	strcpy(t.facts, "{}");
	assert_int_equal(db_tentacle_add(db, &t, &id), 0);
	inv = json_pack("[{s:s,s:s,s:s,s:i},{s:s,s:s,s:s}]", "name", "m",
	    "sha256", "aa", "description", "", "version", 1, "name", "loc",
	    "sha256", "cc", "description", "local one");
	assert_int_equal(db_tentacle_scripts_set(db, id, inv), 0);
	json_decref(inv);
	assert_int_equal(db_script_local_exists(db, "loc", &local), 0);
	assert_int_equal(local, 1);
	assert_int_equal(db_script_local_exists(db, "m", &local), 0);
	assert_int_equal(local, 0);

	list = view_scripts_fleet(db);
	assert_non_null(list);
	assert_int_equal(json_array_size(list), 2);
	s = json_array_get(list, 0);
	assert_string_equal(json_string_value(json_object_get(s, "name")), "m");
	assert_true(json_is_true(json_object_get(s, "managed")));
	assert_int_equal(json_integer_value(json_object_get(s, "version")), 2);
	/* It holds version 1: stale, not one of the latest's. */
	assert_int_equal(json_array_size(json_object_get(s, "tentacles")), 0);
	assert_int_equal(json_array_size(json_object_get(s, "stale")), 1);
	s = json_array_get(list, 1);
	assert_string_equal(json_string_value(json_object_get(s, "name")),
	    "loc");
	assert_true(json_is_false(json_object_get(s, "managed")));
	assert_true(json_is_null(json_object_get(s, "version")));
	assert_int_equal(json_array_size(json_object_get(s, "tentacles")), 1);
	json_decref(list);

	s = view_script(db, "m");
	assert_non_null(s);
	assert_string_equal(json_string_value(json_object_get(s, "body")),
	    "#!m2");
	assert_int_equal(json_array_size(json_object_get(s, "versions")), 2);
	json_decref(s);
	assert_null(view_script(db, "loc"));
}

static void
test_body(void **state)
{
	struct script_body	 sb;
	const char		*why;
	char			*big;
	size_t			 n = SCRIPT_BODY_MAX + 64;
	const char		*bad[] = {
		"{\"name\":\"a/b\",\"body\":\"#!x\"}",
		"{\"name\":\"ok\",\"body\":\"echo\"}",
		"{\"name\":\"ok\",\"body\":\"#!\\u0000x\"}",
		"{\"name\":\"ok\",\"body\":\"#!x\",\"description\":\"a\\tb\"}",
		"{\"name\":\"ok\",\"body\":\"#!x\",\"x\":1}",
		"{\"name\":\"ok\",\"body\":\"#!x\",\"name\":\"ok\"}",
		"{\"body\":\"#!x\"}",
		"[]",
	};
	size_t			 i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_int_equal(apibody_script(bad[i], strlen(bad[i]), 1, &sb,
		    &why), -1);
		assert_non_null(why);
	}
	assert_int_equal(apibody_script("{\"name\":\"ok\",\"body\":\"#!x\"}",
	    27, 0, &sb, &why), -1);
	assert_int_equal(apibody_script("{\"name\":\"ok\",\"body\":\"#!/bin/sh"
	    "\\n\",\"description\":\"d\"}", 52, 1, &sb, &why), 0);
	assert_string_equal(sb.name, "ok");
	assert_string_equal(sb.body, "#!/bin/sh\n");
	assert_int_equal(sb.body_len, 10);
	assert_int_equal(sb.has_description, 1);
	free(sb.body);
	assert_int_equal(apibody_script("{\"body\":\"#!x\"}", 14, 0, &sb,
	    &why), 0);
	assert_int_equal(sb.has_description, 0);
	free(sb.body);

	/* Too large. */
	big = malloc(n + 32);
	assert_non_null(big);
	i = (size_t)snprintf(big, 32, "{\"name\":\"ok\",\"body\":\"#!");
	memset(big + i, 'a', n - i);
	strcpy(big + n, "\"}");
	assert_int_equal(apibody_script(big, strlen(big), 1, &sb, &why), -1);
	assert_non_null(strstr(why, "256 KiB"));
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fleet_view, setup,
		    teardown),
		cmocka_unit_test(test_body),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
