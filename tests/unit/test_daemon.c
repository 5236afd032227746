#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "daemon.h"

static char	dir[] = "/tmp/octo-daemon-XXXXXX";

static int
setup(void **state)
{
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_pidfile(void **state)
{
	struct pidfile	pf;
	char		path[300], err[512], want[512], buf[32];
	pid_t		pid;
	int		status, fd;
	ssize_t		n;

	snprintf(path, sizeof(path), "%s/test.pid", dir);
	assert_int_equal(pidfile_check(path, err, sizeof(err)), 0);
	assert_int_equal(pidfile_lock(&pf, path, err, sizeof(err)), 0);
	assert_true(pf.fd >= 0);
	/* Through the held descriptor: closing any other descriptor of
	 * the file would drop our fcntl lock. */
	n = pread(pf.fd, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	snprintf(want, sizeof(want), "%ld\n", (long)getpid());
	assert_string_equal(buf, want);

	/* another process is refused, and told who runs */
	snprintf(want, sizeof(want), "%s: %s already running (pid %ld)",
	    path, program_invocation_short_name, (long)getpid());
	if ((pid = fork()) == 0) {
		struct pidfile	pf2;

		if (pidfile_lock(&pf2, path, err, sizeof(err)) != -1)
			_exit(2);
		if (strcmp(err, want) != 0)
			_exit(3);
		if (pidfile_check(path, err, sizeof(err)) != -1 ||
		    strcmp(err, want) != 0)
			_exit(4);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);

	pidfile_remove(&pf);
	assert_int_equal(pf.fd, -1);
	assert_int_equal(access(path, F_OK), -1);
	pidfile_remove(&pf);	/* harmless */

	/* a stale pidfile (no lock held) is taken over */
	fd = open(path, O_WRONLY | O_CREAT, 0644);
	assert_int_equal(write(fd, "99999\n", 6), 6);
	close(fd);
	assert_int_equal(pidfile_check(path, err, sizeof(err)), 0);
	assert_int_equal(pidfile_lock(&pf, path, err, sizeof(err)), 0);
	pidfile_forget(&pf);
	assert_int_equal(access(path, F_OK), 0);
	unlink(path);

	snprintf(path, sizeof(path), "%s/no/such/dir.pid", dir);
	assert_int_equal(pidfile_lock(&pf, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
}

static void
run_daemon(int ready, int *status)
{
	pid_t	pid;

	if ((pid = fork()) == 0) {
		daemon_start();
		/* the daemon */
		if (getsid(0) != getpid())
			_exit(5);
		if (ready) {
			daemon_ready();
			/* stdio is /dev/null now */
			if (write(1, "x", 1) != 1)
				_exit(6);
			_exit(0);
		}
		_exit(3);	/* start-up failed */
	}
	waitpid(pid, status, 0);
}

static void
test_daemon_start(void **state)
{
	int	status;

	run_daemon(1, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	run_daemon(0, &status);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
}

static void
test_limits_and_privs(void **state)
{
	struct rlimit	rl;
	char		err[256], name[17];
	long		n;

	assert_int_equal(getrlimit(RLIMIT_NOFILE, &rl), 0);
	n = raise_nofile_limit(64);
	assert_true(n >= 64);
	n = raise_nofile_limit((long)rl.rlim_max);
	assert_true(n >= 64);

	assert_int_equal(drop_privileges(NULL, err, sizeof(err)), 0);
	assert_int_equal(drop_privileges("", err, sizeof(err)), 0);
	assert_int_equal(drop_privileges("no-such-user-octo", err,
	    sizeof(err)), -1);
	assert_non_null(strstr(err, "no-such-user-octo"));

	proc_title("octoBrain", "a-very-long-role-name");
	prctl(PR_GET_NAME, name, 0, 0, 0);
	name[16] = '\0';
	assert_string_equal(name, "a-very-long-rol");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pidfile),
		cmocka_unit_test(test_daemon_start),
		cmocka_unit_test(test_limits_and_privs),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
