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
#include <sys/wait.h>
#include <cmocka.h>

#include "log.h"

static char	tmpl[] = "/tmp/octo-log-XXXXXX";
static int	capfd = -1, savedfd = -1;

/* Send stderr to a temporary file. */
static void
capture_start(void)
{
	fflush(stderr);
	capfd = mkstemp(tmpl);
	assert_true(capfd >= 0);
	unlink(tmpl);
	strcpy(tmpl, "/tmp/octo-log-XXXXXX");
	savedfd = dup(2);
	dup2(capfd, 2);
}

static char *
capture_end(void)
{
	static char	out[4096];
	ssize_t		n;

	fflush(stderr);
	dup2(savedfd, 2);
	close(savedfd);
	lseek(capfd, 0, SEEK_SET);
	n = read(capfd, out, sizeof(out) - 1);
	out[n > 0 ? n : 0] = '\0';
	close(capfd);
	return out;
}

static void
test_format(void **state)
{
	char	*out, want[512];
	long	 pid = (long)getpid();

	log_init("octoBrain", 1, 0);
	capture_start();
	log_info("hello %d", 42);
	log_procinit("webserv");
	log_warnx("listening on %s", "127.0.0.1:8443");
	errno = ENOENT;
	log_warn("open %s", "x");
	assert_int_equal(errno, ENOENT);	/* preserved */
	log_debug("not shown");
	log_info("evil\nfake line\x01");
	out = capture_end();
	snprintf(want, sizeof(want),
	    "octoBrain[%ld]: hello 42\n"
	    "octoBrain[%ld] webserv: listening on 127.0.0.1:8443\n"
	    "octoBrain[%ld] webserv: open x: No such file or directory\n"
	    "octoBrain[%ld] webserv: evil\\nfake line\\x01\n",
	    pid, pid, pid, pid);
	assert_string_equal(out, want);
}

static void
test_verbose(void **state)
{
	char	*out, want[256];

	log_init("octoTentacle", 1, 1);
	assert_int_equal(log_verbose(), 1);
	log_procinit("register");
	capture_start();
	log_debug("debug %s", "on");
	out = capture_end();
	snprintf(want, sizeof(want), "octoTentacle[%ld] register: debug on\n",
	    (long)getpid());
	assert_string_equal(out, want);
}

static void
test_fatal(void **state)
{
	pid_t	pid;
	int	status;
	char	*out;

	log_init("octoBrain", 1, 0);
	capture_start();
	if ((pid = fork()) == 0) {
		log_procinit("maestro");
		fatalx("cannot go on: %s", "reason");
	}
	waitpid(pid, &status, 0);
	out = capture_end();
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "] maestro: cannot go on: reason\n"));

	capture_start();
	if ((pid = fork()) == 0) {
		errno = EACCES;
		fatal("open");
	}
	waitpid(pid, &status, 0);
	out = capture_end();
	assert_int_equal(WEXITSTATUS(status), 1);
	assert_non_null(strstr(out, "]: open: Permission denied\n"));
}

static void
test_syslog(void **state)
{
	/* Only that it does not crash and does not write to stderr. */
	char	*out;

	log_init("octoTest", 1, 0);
	capture_start();
	log_to_syslog();
	log_procinit("child");
	log_debug("unit test line (debug, dropped)");
	out = capture_end();
	assert_string_equal(out, "");
	log_init("octoTest", 1, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_verbose),
		cmocka_unit_test(test_fatal),
		cmocka_unit_test(test_syslog),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
