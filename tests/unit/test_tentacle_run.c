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

#include "managed.h"
#include "run.h"
#include "scriptsig.h"

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

static struct got *run_p(const char *, long long, size_t, const char *,
    const char *);
static const uint8_t *run_pub;	/* the pinned key runs are given */

static struct got *
run(const char *name, long long timeout_ms, size_t output_max)
{
	return run_p(name, timeout_ms, output_max, NULL, NULL);
}

static struct got *
run_p(const char *name, long long timeout_ms, size_t output_max,
    const char *sha256, const char *managed_dir)
{
	static struct got	 g;
	struct event_base	*base;
	struct run_params	 p;
	char			 err[256];

	memset(&g, 0, sizeof(g));
	memset(&p, 0, sizeof(p));
	assert_non_null(base = event_base_new());
	p.scripts_dir = dir;
	p.script = name;
	p.timeout_ms = timeout_ms;
	p.output_max = output_max;
	p.sha256 = sha256;
	p.managed_dir = managed_dir;
	p.sign_pub = run_pub;
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
	memset(&p, 0, sizeof(p));
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
	memset(&p, 0, sizeof(p));
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

/* ---- issue 14: the bytes that run are the bytes checked ---------------- */

static void
sha_of(const char *body, char out[OCTO_FPR_HEX_LEN + 1])
{
	assert_int_equal(scriptsig_sha256_hex(body, strlen(body), out), 0);
}

/* The script runs from a sealed memfd (descriptor 3, /proc/self/fd/3),
 * and the result names the SHA-256 of what ran. */
static void
test_memfd(void **state)
{
	static const char body[] = "#!/bin/sh\n"
	    "echo \"0=$0\"\n"
	    "readlink /proc/$$/fd/3\n"
	    "cat /proc/$$/cmdline | tr '\\0' ' '; echo\n"
	    "echo extra >> /proc/$$/fd/3 2>/dev/null || echo sealed\n";
	char		 sha[OCTO_FPR_HEX_LEN + 1];
	struct got	*g;

	script("self", body, 0755);
	sha_of(body, sha);
	g = run_p("self", 5000, OCTO_OUTPUT_MAX, sha, NULL);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(g->res.exit_status, 0);
	assert_string_equal(g->res.sha256, sha);
	assert_non_null(strstr(g->out, "0=/proc/self/fd/3\n"));
	assert_non_null(strstr(g->out, "/memfd:self (deleted)\n"));
	assert_non_null(strstr(g->out, "/bin/sh /proc/self/fd/3"));
	assert_non_null(strstr(g->out, "sealed\n"));
	/* "" (an order without a hash): today's behaviour, the hash still
	 * reported. */
	g = run_p("self", 5000, OCTO_OUTPUT_MAX, "", NULL);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_string_equal(g->res.sha256, sha);
}

/* Not the bytes ordered: refused, never run. */
static void
test_hash_mismatch(void **state)
{
	char		 body[512], sha[OCTO_FPR_HEX_LEN + 1], mark[300];
	struct got	*g;
	struct stat	 st;

	snprintf(mark, sizeof(mark), "%s/ran", dir);
	snprintf(body, sizeof(body), "#!/bin/sh\ntouch %s\n", mark);
	script("tampered", body, 0755);
	sha_of("#!/bin/sh\necho the one ordered\n", sha);
	g = run_p("tampered", 5000, OCTO_OUTPUT_MAX, sha, NULL);
	assert_int_equal(g->res.outcome, OUTCOME_REFUSED);
	assert_int_equal(g->res.exit_status, -1);
	assert_int_equal(strncmp(g->out, MANAGED_DIFFERS "\n",
	    strlen(MANAGED_DIFFERS) + 1), 0);
	assert_int_equal(stat(mark, &st), -1);
	/* The hash of what is on the host, for the brain's evidence. */
	sha_of(body, sha);
	assert_string_equal(g->res.sha256, sha);
	g = run_p("tampered", 5000, OCTO_OUTPUT_MAX, sha, NULL);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_int_equal(stat(mark, &st), 0);
	unlink(mark);
}

/* A managed script runs only while it matches its signature; it comes
 * before scripts_dir's script of the same name. */
static void
test_managed(void **state)
{
	static const char body[] = "#!/bin/sh\necho managed v2\n";
	char			 mdir[300], path[400], msg[256];
	char			 sha[OCTO_FPR_HEX_LEN + 1];
	uint8_t			 pub[SCRIPTSIG_PUB_LEN];
	struct msg_script_put	 m;
	EVP_PKEY		*k;
	struct got		*g;
	FILE			*f;

	snprintf(mdir, sizeof(mdir), "%s/managed", dir);
	assert_int_equal(managed_dir_init(mdir, msg, sizeof(msg)), 0);
	assert_non_null(k = scriptsig_keygen());
	assert_int_equal(scriptsig_public(k, pub), 0);
	assert_int_equal(managed_pin_store(mdir, pub, msg, sizeof(msg)), 1);
	run_pub = pub;
	memset(&m, 0, sizeof(m));
	strcpy(m.name, "both");
	m.version = 2;
	sha_of(body, m.sha256);
	m.body = (const uint8_t *)body;
	m.body_len = strlen(body);
	assert_int_equal(scriptsig_sign_put(k, m.name, m.version, m.sha256,
	    m.body, m.body_len, m.sig), 0);
	assert_int_equal(managed_put(mdir, pub, &m, msg, sizeof(msg)), 0);
	script("both", "#!/bin/sh\necho local\n", 0755);

	g = run_p("both", 5000, OCTO_OUTPUT_MAX, m.sha256, mdir);
	assert_int_equal(g->res.outcome, OUTCOME_RAN);
	assert_string_equal(g->out, "managed v2\n");
	assert_string_equal(g->res.sha256, m.sha256);
	/* managed_scripts = no: scripts_dir only. */
	g = run_p("both", 5000, OCTO_OUTPUT_MAX, NULL, NULL);
	assert_string_equal(g->out, "local\n");

	/* Edited on the host after the push: refused, even when the order
	 * names no hash (the signature is checked at every run). */
	snprintf(path, sizeof(path), "%s/both", mdir);
	assert_non_null(f = fopen(path, "w"));
	fputs("#!/bin/sh\necho evil\n", f);
	fclose(f);
	g = run_p("both", 5000, OCTO_OUTPUT_MAX, "", mdir);
	assert_int_equal(g->res.outcome, OUTCOME_REFUSED);
	assert_null(strstr(g->out, "evil"));
	assert_int_equal(strncmp(g->out, MANAGED_DIFFERS, strlen(
	    MANAGED_DIFFERS)), 0);
	sha_of("#!/bin/sh\necho evil\n", sha);
	g = run_p("both", 5000, OCTO_OUTPUT_MAX, sha, mdir);
	assert_int_equal(g->res.outcome, OUTCOME_REFUSED);
	/* No key pinned: no managed script runs. */
	run_pub = NULL;
	g = run_p("both", 5000, OCTO_OUTPUT_MAX, "", mdir);
	assert_int_equal(g->res.outcome, OUTCOME_REFUSED);
	EVP_PKEY_free(k);
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
		cmocka_unit_test(test_memfd),
		cmocka_unit_test(test_hash_mismatch),
		cmocka_unit_test(test_managed),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
