/*
 * Running scripts (tentacle/run.c): output, exit status, signals, the
 * time limit killing the whole process group, the output cap and its
 * marker, a clean environment, refused names and files.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <event2/event.h>

#include "run.h"

static char	dir[256];

struct got {
	int			 done;
	struct run_result	 res;
	char			 out[OCTO_OUTPUT_MAX + 256];
	size_t			 outlen;
};

static void
on_done(struct run_result *r, void *arg)
{
	struct got	*g = arg;

	g->done++;
	g->res = *r;
	memset(&g->res.output, 0, sizeof(g->res.output));
	g->outlen = r->output.len;
	if (r->output.len > 0)
		memcpy(g->out, r->output.data, r->output.len);
	g->out[g->outlen] = '\0';
}

static void
script(const char *name, const char *body, mode_t mode)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(body, f);
	fclose(f);
	assert_int_equal(chmod(path, mode), 0);
}

static struct got *
run(const char *name, long long timeout_ms, size_t output_max)
{
	static struct got	 g;
	struct event_base	*base;
	struct run_params	 p;
	char			 err[256];

	memset(&g, 0, sizeof(g));
	assert_non_null(base = event_base_new());
	p.scripts_dir = dir;
	p.script = name;
	p.timeout_ms = timeout_ms;
	p.output_max = output_max;
	assert_int_equal(run_start(base, 7, &p, on_done, &g, err,
	    sizeof(err)), 0);
	assert_int_equal(run_active(7), 1);
	while (!g.done)
		event_base_loop(base, EVLOOP_ONCE);
	assert_int_equal(g.done, 1);
	assert_int_equal(run_active(7), 0);
	assert_int_equal(run_count(), 0);
	event_base_free(base);
	assert_int_equal(g.res.job, 7);
	return &g;
}

static void
test_prints(void **state)
{
	struct got	*g;

	script("hello", "#!/bin/sh\necho hello\necho oops >&2\n", 0755);
	g = run("hello", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(g->res.exit_status, 0);
	assert_int_equal(g->res.signal, 0);
	assert_int_equal(g->res.truncated, 0);
	assert_string_equal(g->out, "hello\noops\n");
	assert_true(g->res.started_at_ms > 1600000000000ULL);
	assert_true(g->res.duration_ms < 5000);
}

static void
test_exit_status(void **state)
{
	struct got	*g;

	script("three", "#!/bin/sh\necho bad\nexit 3\n", 0700);
	g = run("three", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(g->res.exit_status, 3);
	assert_int_equal(g->res.signal, 0);
	assert_string_equal(g->out, "bad\n");
}

static void
test_signal(void **state)
{
	struct got	*g;

	script("killed", "#!/bin/sh\necho before\nkill -TERM $$\n"
	    "echo after\n", 0755);
	g = run("killed", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(g->res.exit_status, -1);
	assert_int_equal(g->res.signal, SIGTERM);
	assert_string_equal(g->out, "before\n");
}

static int
pid_dead(pid_t pid)
{
	char	path[64], buf[512], *p;
	FILE	*f;
	size_t	n;

	if (kill(pid, 0) == -1 && errno == ESRCH)
		return 1;
	/* A zombie waiting for a reaper that is not us is dead too. */
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return 1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	if ((p = strrchr(buf, ')')) == NULL)
		return 0;
	return p[1] == ' ' && (p[2] == 'Z' || p[2] == 'X');
}

static void
test_timeout_kills_group(void **state)
{
	struct got	*g;
	char		 body[1024], path[512], line[64];
	FILE		*f;
	pid_t		 grandchild;
	int		 i;

	snprintf(path, sizeof(path), "%s/grandchild.pid", dir);
	snprintf(body, sizeof(body), "#!/bin/sh\necho start\n"
	    "sleep 300 &\necho $! > %s\nsleep 300\n", path);
	script("hangs", body, 0755);
	g = run("hangs", 1000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_TIMEOUT);
	assert_int_equal(g->res.exit_status, -1);
	assert_int_equal(g->res.signal, SIGKILL);
	assert_string_equal(g->out, "start\n");
	assert_true(g->res.duration_ms >= 900);
	assert_true(g->res.duration_ms < 5000);
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	grandchild = (pid_t)atoi(line);
	assert_true(grandchild > 1);
	for (i = 0; i < 100 && !pid_dead(grandchild); i++)
		usleep(20000);
	assert_true(pid_dead(grandchild));
}

static void
test_leftovers_killed_at_exit(void **state)
{
	struct got	*g;
	char		 body[1024], path[512], line[64];
	FILE		*f;
	pid_t		 bg;
	int		 i;

	snprintf(path, sizeof(path), "%s/bg.pid", dir);
	snprintf(body, sizeof(body), "#!/bin/sh\n"
	    "sleep 300 >/dev/null 2>&1 &\necho $! > %s\necho done\n", path);
	script("leaves", body, 0755);
	g = run("leaves", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(g->res.exit_status, 0);
	assert_string_equal(g->out, "done\n");
	assert_non_null(f = fopen(path, "r"));
	assert_non_null(fgets(line, sizeof(line), f));
	fclose(f);
	bg = (pid_t)atoi(line);
	for (i = 0; i < 100 && !pid_dead(bg); i++)
		usleep(20000);
	assert_true(pid_dead(bg));
}

static void
test_truncated(void **state)
{
	struct got	*g;
	char		 marker[64];

	/* 200000 bytes through a 1000-byte cap. */
	script("chatty", "#!/bin/sh\nhead -c 200000 /dev/zero | tr '\\0' x\n"
	    "echo end\n", 0755);
	g = run("chatty", 5000, 1000);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(g->res.exit_status, 0);
	assert_int_equal(g->res.truncated, 1);
	snprintf(marker, sizeof(marker), RUN_MARKER_FMT, (size_t)1000);
	assert_int_equal(g->outlen, 1000 + strlen(marker));
	assert_memory_equal(g->out + 1000, marker, strlen(marker));
	assert_true(strstr(g->out, "[output truncated at 1000 bytes]") !=
	    NULL);
	assert_int_equal(g->out[0], 'x');
	assert_int_equal(g->out[999], 'x');
}

static void
test_exactly_the_cap(void **state)
{
	struct got	*g;

	script("fits", "#!/bin/sh\nprintf 12345\n", 0755);
	g = run("fits", 5000, 5);
	assert_int_equal(g->res.truncated, 0);
	assert_string_equal(g->out, "12345");
}

static void
test_clean_environment(void **state)
{
	struct got	*g;

	setenv("OCTO_SECRET_TEST", "leak", 1);
	script("env", "#!/bin/sh\n/usr/bin/env | LC_ALL=C sort\n"
	    "echo \"argv0=$0 args=$#\"\n"
	    "ls /proc/self/fd | LC_ALL=C sort | tr '\\n' ' '\n"
	    "echo\n"
	    "read x && echo \"stdin:$x\" || echo stdin-empty\n", 0755);
	g = run("env", 5000, OCTO_OUTPUT_MAX);
	unsetenv("OCTO_SECRET_TEST");
	assert_int_equal(g->res.exit_status, 0);
	assert_null(strstr(g->out, "OCTO_SECRET_TEST"));
	assert_non_null(strstr(g->out, "HOME=/\n"));
	assert_non_null(strstr(g->out, "LANG=C\n"));
	assert_non_null(strstr(g->out, "PATH=/usr/sbin:/usr/bin:/sbin:/bin\n"));
	assert_non_null(strstr(g->out, "args=0"));
	assert_non_null(strstr(g->out, "stdin-empty\n"));
	/* ls's own fd (its directory) is the only one beyond 0..2... plus
	 * the pipe to sort, which belong to the pipeline, not to us: at
	 * least no descriptor above 4 was inherited. */
	assert_null(strstr(g->out, " 5 "));
	assert_null(strstr(g->out, " 9 "));
}

static void
test_refused(void **state)
{
	char	err[256], path[512];

	script("notexec", "#!/bin/sh\necho no\n", 0644);
	snprintf(path, sizeof(path), "%s/link", dir);
	assert_int_equal(symlink("hello", path), 0);
	snprintf(path, sizeof(path), "%s/subdir", dir);
	assert_int_equal(mkdir(path, 0755), 0);
	assert_int_equal(run_check_script(dir, "hello", err, sizeof(err)), 0);
	assert_int_equal(run_check_script(dir, "notexec", err, sizeof(err)),
	    -1);
	assert_int_equal(run_check_script(dir, "link", err, sizeof(err)), -1);
	assert_int_equal(run_check_script(dir, "subdir", err, sizeof(err)),
	    -1);
	assert_int_equal(run_check_script(dir, "absent", err, sizeof(err)),
	    -1);
	assert_int_equal(run_check_script(dir, "../hello", err, sizeof(err)),
	    -1);
	assert_int_equal(run_check_script(dir, ".hello", err, sizeof(err)),
	    -1);
	assert_int_equal(run_check_script(dir, "a/b", err, sizeof(err)), -1);
	assert_int_equal(run_check_script(dir, "", err, sizeof(err)), -1);
	assert_int_equal(run_check_script(dir, "..", err, sizeof(err)), -1);
}

static void
test_failed_not_run(void **state)
{
	struct got	*g;

	g = run("notexec", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_FAILED);
	assert_int_equal(g->res.exit_status, -1);
	assert_non_null(strstr(g->out, "cannot run notexec"));
	script("badinterp", "#!/nonexistent/interpreter\n", 0755);
	g = run("badinterp", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->res.outcome, OUTCOME_FAILED);
	assert_non_null(strstr(g->out, "cannot run badinterp"));
}

static void
test_binary_output(void **state)
{
	struct got	*g;

	script("binary", "#!/bin/sh\nprintf 'a\\000b\\377'\n", 0755);
	g = run("binary", 5000, OCTO_OUTPUT_MAX);
	assert_int_equal(g->outlen, 4);
	assert_memory_equal(g->out, "a\0b\377", 4);
}

static void
test_interrupted(void **state)
{
	static struct got	 g;
	struct event_base	*base;
	struct run_params	 p;
	struct timeval		 tv = { 0, 300 * 1000 };
	char			 err[256];

	script("longrun", "#!/bin/sh\necho partial\nsleep 300\n", 0755);
	memset(&g, 0, sizeof(g));
	assert_non_null(base = event_base_new());
	p.scripts_dir = dir;
	p.script = "longrun";
	p.timeout_ms = 60000;
	p.output_max = OCTO_OUTPUT_MAX;
	assert_int_equal(run_start(base, 8, &p, on_done, &g, err,
	    sizeof(err)), 0);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
	assert_int_equal(g.done, 0);
	run_interrupt_all("test stop");
	assert_int_equal(g.done, 1);
	assert_int_equal(run_count(), 0);
	assert_int_equal(g.res.outcome, OUTCOME_FAILED);
	assert_string_equal(g.out, "partial\n\n[interrupted: test stop]\n");
	event_base_free(base);
}

static int
setup(void **state)
{
	strcpy(dir, "/tmp/octo-test-run-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	signal(SIGPIPE, SIG_IGN);	/* as in the daemon */
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A process with the pid (and so the group id) the script's leader had,
 * made once the leader is reaped: root only (ns_last_pid). */
static pid_t
take_pid(pid_t want)
{
	pid_t	pid;
	FILE	*f;
	int	i;

	for (i = 0; i < 500; i++) {
		if ((f = fopen("/proc/sys/kernel/ns_last_pid", "w")) == NULL)
			return -1;
		fprintf(f, "%d", (int)want - 1);
		if (fclose(f) != 0)
			return -1;
		if ((pid = fork()) == 0) {
			setpgid(0, 0);
			pause();
			_exit(0);
		}
		if (pid == want)
			return pid;
		if (pid > 0) {
			kill(pid, SIGKILL);
			waitpid(pid, NULL, 0);
		}
	}
	return -1;
}

static void
test_reaped_group_never_signalled(void **state)
{
	static struct got	 g;
	struct event_base	*base;
	struct run_params	 p;
	char			 err[256], body[2048], path[512], line[64];
	char			 ready[512];
	FILE			*f;
	pid_t			 leader = 0, victim;
	uint64_t		 t0 = run_mono_ms();
	int			 i, st, alive;

	if (geteuid() != 0) {
		print_message("(needs root to reuse a pid: skipped)\n");
		skip();
	}
	/* The leader exits at once; a process it started in a session of its
	 * own keeps the output open past the time limit. */
	snprintf(path, sizeof(path), "%s/leader.pid", dir);
	snprintf(ready, sizeof(ready), "%s/escaped", dir);
	unlink(ready);
	snprintf(body, sizeof(body), "#!/bin/sh\n"
	    "setsid sh -c ': > %s; exec sleep 4' &\n"
	    "while [ ! -e %s ]; do sleep 0.01; done\n"
	    "echo $$ > %s\nexit 0\n", ready, ready, path);
	script("escapes", body, 0755);
	unlink(path);
	memset(&g, 0, sizeof(g));
	assert_non_null(base = event_base_new());
	p.scripts_dir = dir;
	p.script = "escapes";
	p.timeout_ms = 1500;
	p.output_max = OCTO_OUTPUT_MAX;
	assert_int_equal(run_start(base, 8, &p, on_done, &g, err,
	    sizeof(err)), 0);
	for (i = 0; i < 1000; i++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (leader == 0 && (f = fopen(path, "r")) != NULL) {
			if (fgets(line, sizeof(line), f) != NULL &&
			    strchr(line, '\n') != NULL)
				leader = (pid_t)atoi(line);
			fclose(f);
		}
		if (leader > 1 && kill(leader, 0) == -1 && errno == ESRCH)
			break;		/* reaped */
		usleep(5000);
	}
	assert_true(leader > 1);
	assert_false(g.done);
	/* Someone else now has that number, and a process group by it. */
	victim = take_pid(leader);
	if (victim == -1) {
		while (!g.done)
			event_base_loop(base, EVLOOP_ONCE);
		event_base_free(base);
		print_message("(could not reuse pid %d: skipped)\n",
		    (int)leader);
		skip();
	}
	usleep(50000);		/* its setpgid */
	while (!g.done)
		event_base_loop(base, EVLOOP_ONCE);
	event_base_free(base);
	/* The time limit came while the output was held: nothing was sent
	 * to the group id the reaped leader had. */
	alive = 1;
	for (i = 0; i < 30 && alive; i++) {	/* a signal takes a moment */
		alive = waitpid(victim, &st, WNOHANG) == 0;
		usleep(10000);
	}
	if (alive) {
		kill(victim, SIGKILL);
		waitpid(victim, &st, 0);
	}
	assert_int_equal(g.res.outcome, OUTCOME_RAN);
	/* It ended at the time limit, when the held output was closed (a
	 * lower bound: it cannot end sooner). */
	assert_true(run_mono_ms() - t0 >= 1400);
	assert_true(alive);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prints),
		cmocka_unit_test(test_exit_status),
		cmocka_unit_test(test_signal),
		cmocka_unit_test(test_timeout_kills_group),
		cmocka_unit_test(test_leftovers_killed_at_exit),
		cmocka_unit_test(test_reaped_group_never_signalled),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_exactly_the_cap),
		cmocka_unit_test(test_clean_environment),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_failed_not_run),
		cmocka_unit_test(test_binary_output),
		cmocka_unit_test(test_interrupted),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
