/*
 * The brain's database tests: each test gets a directory of its own under
 * /tmp (setup), removed after it (teardown); path is the database in it.
 * Included once by each test file that opens a brain.db.
 */
#ifndef OCTO_TEST_TMPDB_H
#define OCTO_TEST_TMPDB_H

static char	dir[64], path[128];

static int
setup(void **state)
{
	strcpy(dir, "/tmp/octo-test-db.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/brain.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd);
}

#endif
