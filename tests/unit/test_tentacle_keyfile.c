/* keyfile: the checks a TLS key and its directory pass before use, and
 * the checked read (no link followed, no FIFO waited on). */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <cmocka.h>

#include "keyfile.h"

static struct stat
file(mode_t mode, uid_t uid, nlink_t links, off_t size)
{
	struct stat	st;

	memset(&st, 0, sizeof(st));
	st.st_mode = mode;
	st.st_uid = uid;
	st.st_nlink = links;
	st.st_size = size;
	return st;
}

typedef int	check_fn(const struct stat *, uid_t, char *, size_t);

/* check refuses st for uid 0 with a reason that says want (NULL: it
 * accepts it). */
static void
expect(check_fn *check, struct stat st, const char *want)
{
	char	why[256];

	if (want == NULL) {
		assert_int_equal(check(&st, 0, why, sizeof(why)), 0);
		return;
	}
	assert_int_equal(check(&st, 0, why, sizeof(why)), -1);
	if (strstr(why, want) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", why, want);
}

static void
test_key_checks(void **state)
{
	check_fn	*k = keyfile_refused;

	expect(k, file(S_IFREG | 0600, 0, 1, 200), NULL);
	expect(k, file(S_IFREG | 0400, 0, 1, 200), NULL);
	expect(k, file(S_IFREG | 0644, 0, 1, 200), "mode 0644: must be 0600");
	expect(k, file(S_IFREG | 0640, 0, 1, 200), "mode 0640");
	expect(k, file(S_IFREG | 0600, 65534, 1, 200), "owned by uid 65534, "
	    "not 0");
	expect(k, file(S_IFREG | 0600, 0, 2, 200), "2 hard links");
	expect(k, file(S_IFIFO | 0600, 0, 1, 0), "not a regular file");
	expect(k, file(S_IFLNK | 0777, 0, 1, 10), "not a regular file");
	expect(k, file(S_IFREG | 0600, 0, 1, KEYFILE_MAX + 1), "larger");
}

static void
test_dir_checks(void **state)
{
	check_fn	*d = keyfile_dir_refused;

	expect(d, file(S_IFDIR | 0700, 0, 2, 0), NULL);
	expect(d, file(S_IFDIR | 0755, 0, 2, 0), NULL);
	expect(d, file(S_IFDIR | 0700, 65534, 2, 0), "owned by uid 65534");
	expect(d, file(S_IFDIR | 0770, 0, 2, 0), "writable by group");
	expect(d, file(S_IFDIR | 01777, 0, 2, 0), "mode 1777");
	expect(d, file(S_IFREG | 0700, 0, 1, 0), "not a directory");
}

/* The checked read on real files in a temporary directory. */
static void
test_read(void **state)
{
	char	 dir[] = "/tmp/keyfile-test-XXXXXX", path[128], err[512];
	uint8_t	*data;
	size_t	 len;
	int	 dfd, fd;

	assert_non_null(mkdtemp(dir));
	assert_true((dfd = open(dir, O_RDONLY | O_DIRECTORY)) >= 0);
	snprintf(path, sizeof(path), "%s/k", dir);
	assert_true((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) >= 0);
	assert_int_equal(write(fd, "PEM\n", 4), 4);
	close(fd);

	assert_int_equal(keyfile_read_at(dfd, "k", "k", 1, &data, &len, err,
	    sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "PEM\n", 4);
	keyfile_free(data, len);
	assert_int_equal(keyfile_read_at(dfd, "none", "none", 1, &data, &len,
	    err, sizeof(err)), 1);
	assert_null(data);

	/* A symbolic link to it: refused, whatever it points to. */
	assert_int_equal(symlinkat("k", dfd, "link"), 0);
	assert_int_equal(keyfile_read_at(dfd, "link", "link", 1, &data, &len,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "link: refused: a symbolic link");
	assert_int_equal(keyfile_read_at(dfd, "link", "link", 0, &data, &len,
	    err, sizeof(err)), -1);

	/* A FIFO: refused at once, not waited on. */
	assert_int_equal(mkfifoat(dfd, "fifo", 0600), 0);
	assert_int_equal(keyfile_read_at(dfd, "fifo", "fifo", 1, &data, &len,
	    err, sizeof(err)), -1);
	assert_string_equal(err, "fifo: refused: not a regular file");
	assert_int_equal(keyfile_read_at(dfd, "fifo", "fifo", 0, &data, &len,
	    err, sizeof(err)), -1);

	/* Readable by others: refused as a key, fine as a certificate. */
	assert_int_equal(fchmodat(dfd, "k", 0644, 0), 0);
	assert_int_equal(keyfile_read_at(dfd, "k", "k", 1, &data, &len, err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "mode 0644: must be 0600"));
	assert_int_equal(keyfile_read_at(dfd, "k", "k", 0, &data, &len, err,
	    sizeof(err)), 0);
	keyfile_free(data, len);

	unlinkat(dfd, "k", 0);
	unlinkat(dfd, "link", 0);
	unlinkat(dfd, "fifo", 0);
	close(dfd);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_key_checks),
		cmocka_unit_test(test_dir_checks),
		cmocka_unit_test(test_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
