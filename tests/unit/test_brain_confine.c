/*
 * The children's confinement (brain/confine.c), for real: each test forks
 * a process that confines itself as one role, with a temporary state_dir
 * and web_root, then tries one thing and tells by its exit status how it
 * went; the parent checks that status or the signal (SIGSYS: the seccomp
 * filter killed it). What Landlock enforces is asserted only where the
 * running kernel has the ABI for it (skipped otherwise).
 */
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <linux/openat2.h>
#include <netinet/in.h>
#include <sys/uio.h>
#include <arpa/inet.h>

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

#include "confine.h"

/* What a probe tells the parent. */
#define OK		0	/* as the test expects */
#define ALLOWED		1	/* refused thing done */
#define REFUSED		2	/* needed thing refused */
#define NOT_CONFINED	100	/* confine_ROLE failed */

enum role { WEBSERV, REGISTERER, COMMANDER };

static const char *role_names[] = { "webserv", "registerer", "commander" };

static struct {
	char	dir[64];
	char	state[96];	/* state_dir: brain.db, brain.key */
	char	web[96];	/* web_root: index.html */
	int	abi;		/* the kernel's Landlock ABI */
} F;

/* Made in the child before confinement, used after by the probes: web_root
 * (O_PATH), a listening socket on 127.0.0.1 and a client connected to it,
 * a spare TCP socket, a socketpair (as the channel to the maestro). */
static int	webroot_fd = -1, listen_fd = -1, listen_port, client = -1,
		spare_tcp = -1, peer[2] = { -1, -1 }, unused_port;
static pid_t	parent_pid;

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	path[256];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static int
setup(void **state)
{
	snprintf(F.dir, sizeof(F.dir), "/tmp/octo-confine-XXXXXX");
	if (mkdtemp(F.dir) == NULL)
		return -1;
	snprintf(F.state, sizeof(F.state), "%s/state", F.dir);
	snprintf(F.web, sizeof(F.web), "%s/web", F.dir);
	if (mkdir(F.state, 0700) == -1 || mkdir(F.web, 0755) == -1)
		return -1;
	write_file(F.state, "brain.db", "SQLite format 3");
	write_file(F.state, "brain.key", "-----BEGIN PRIVATE KEY-----");
	write_file(F.web, "index.html", "<!doctype html>dashboard");
	F.abi = confine_landlock_abi(NULL);
	print_message("landlock ABI %d\n", F.abi);
	parent_pid = getpid();
	return 0;
}

static int
teardown(void **state)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", F.dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int
confine_as(enum role r)
{
	char	err[256];
	int	abi;

	switch (r) {
	case WEBSERV:
		abi = confine_webserv(webroot_fd, err, sizeof(err));
		break;
	case REGISTERER:
		abi = confine_registerer(err, sizeof(err));
		break;
	default:
		abi = confine_commander(err, sizeof(err));
	}
	if (abi == -1)
		fprintf(stderr, "confine %s: %s\n", role_names[r], err);
	return abi;
}

static int connect_listener(int);

/* 127.0.0.1:port */
static struct sockaddr_in
loopback(int port)
{
	struct sockaddr_in	sin;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)port);
	return sin;
}

static int
open_sockets(void)
{
	struct sockaddr_in	sin = loopback(0);
	socklen_t		len = sizeof(sin);
	int			fd;

	if ((listen_fd = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    bind(listen_fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    listen(listen_fd, 16) == -1 ||
	    getsockname(listen_fd, (struct sockaddr *)&sin, &len) == -1)
		return -1;
	listen_port = ntohs(sin.sin_port);
	if ((client = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    connect_listener(client) == -1 ||
	    (spare_tcp = socket(AF_INET, SOCK_STREAM, 0)) == -1 ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, peer) == -1)
		return -1;
	/* A port nothing listens on (free a moment ago): binding it is
	 * refused by Landlock, not by EADDRINUSE. */
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	sin = loopback(0);
	len = sizeof(sin);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1) {
		close(fd);
		return -1;
	}
	unused_port = ntohs(sin.sin_port);
	close(fd);
	return 0;
}

/* Fork, open what the probes use, confine as r, run probe; the status.
 * errfd, if not -1, becomes the process's stderr. */
static int
run_confined_err(enum role r, int (*probe)(void), int errfd)
{
	pid_t	pid;
	int	status;

	fflush(NULL);
	assert_true((pid = fork()) != -1);
	if (pid == 0) {
		if (errfd != -1)
			dup2(errfd, STDERR_FILENO);
		webroot_fd = open(F.web, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (webroot_fd == -1 || open_sockets() == -1)
			_exit(REFUSED);
		if (confine_as(r) == -1)
			_exit(NOT_CONFINED);
		_exit(probe());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return status;
}

static int
run_confined(enum role r, int (*probe)(void))
{
	return run_confined_err(r, probe, -1);
}

static void
expect_ok(int status)
{
	if (WIFSIGNALED(status))
		fail_msg("killed by signal %d (%s)", WTERMSIG(status),
		    strsignal(WTERMSIG(status)));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), OK);
}


static void
expect_killed(int status)
{
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSYS);
}

static enum role
role_of(void **state)
{
	return *(enum role *)*state;
}

/* -------------------------------------------------------------- probes */

static int
refused(int r)
{
	return r == -1 && (errno == EACCES || errno == EPERM) ? OK : ALLOWED;
}

static int
p_open_db(void)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/brain.db", F.state);
	return refused(open(path, O_RDONLY));
}

static int
p_open_key(void)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/brain.key", F.state);
	return refused(open(path, O_RDONLY));
}

/* The webserv's only way to open: openat2 from web_root; out of it,
 * without RESOLVE_BENEATH, only Landlock stands in the way. */
static long
openat2_web(const char *rel, int flags, int resolve)
{
	struct open_how	how;

	memset(&how, 0, sizeof(how));
	how.flags = (uint64_t)flags;
	how.mode = flags & O_CREAT ? 0600 : 0;
	how.resolve = (uint64_t)resolve;
	return syscall(SYS_openat2, webroot_fd, rel, &how, sizeof(how));
}

static int
p_escape_web_root(void)
{
	return refused((int)openat2_web("../state/brain.db", O_RDONLY, 0));
}

static int
p_write_state(void)
{
	char	path[256];

	snprintf(path, sizeof(path), "%s/new", F.state);
	return refused(open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600));
}

static int
p_write_state_from_web(void)
{
	return refused((int)openat2_web("../state/new",
	    O_WRONLY | O_CREAT, 0));
}

static int
p_write_web_root(void)
{
	return refused((int)openat2_web("new.html", O_WRONLY | O_CREAT,
	    RESOLVE_BENEATH));
}

static int
p_read_web_root(void)
{
	char	buf[64];
	ssize_t	n;
	int	fd;

	if ((fd = (int)openat2_web("index.html", O_RDONLY | O_CLOEXEC,
	    RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS)) == -1)
		return REFUSED;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return REFUSED;
	buf[n] = '\0';
	return strstr(buf, "dashboard") != NULL ? OK : REFUSED;
}

static int
p_execve(void)
{
	char	*argv[] = { "/bin/true", NULL }, *envp[] = { NULL };

	execve("/bin/true", argv, envp);
	return refused(-1);
}

static int
p_ptrace(void)
{
	return refused((int)ptrace(PTRACE_TRACEME, 0, NULL, NULL));
}

static int
p_raw_socket(void)
{
	return refused(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP));
}

static int
p_bind(void)
{
	struct sockaddr_in	sin = loopback(0);

	return refused(bind(spare_tcp, (struct sockaddr *)&sin, sizeof(sin)));
}

/* A fixed port: the registerer and commander bind only to port 0, the
 * webserv not at all. */
static int
p_bind_fixed(void)
{
	struct sockaddr_in	sin = loopback(unused_port);

	return refused(bind(spare_tcp, (struct sockaddr *)&sin, sizeof(sin)));
}

/* A new AF_UNIX datagram socket and an empty address for it. */
static int
unix_dgram(struct sockaddr_un *sun)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	return socket(AF_UNIX, SOCK_DGRAM, 0);
}

/* A unix socket's name: not an address to connect from. */
static int
p_bind_unix(void)
{
	struct sockaddr_un	sun;
	int			fd;

	if ((fd = unix_dgram(&sun)) == -1)
		return REFUSED;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/bound", F.dir);
	return refused(bind(fd, (struct sockaddr *)&sun, sizeof(sun)));
}

static int connect_listener(int fd);

/* What conn.c does to connect from listen_address: bind the address
 * (port 0, chosen at connect: IP_BIND_ADDRESS_NO_PORT), then connect. */
static int
p_connect_from(void)
{
	struct sockaddr_in	sin = loopback(0);
	socklen_t		len = sizeof(sin);
	int			fd, on = 1;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return REFUSED;
	if (setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &on,
	    sizeof(on)) == -1 ||
	    bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    connect_listener(fd) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
	    sin.sin_addr.s_addr != htonl(INADDR_LOOPBACK) ||
	    sin.sin_port == 0)
		return REFUSED;
	close(fd);
	return OK;
}

/* bound to port 0, it may still not listen (seccomp) */
static int
p_listen(void)
{
	struct sockaddr_in	sin = loopback(0);

	if (bind(spare_tcp, (struct sockaddr *)&sin, sizeof(sin)) == -1)
		return REFUSED;
	return refused(listen(spare_tcp, 1));
}

static int
connect_listener(int fd)
{
	struct sockaddr_in	sin = loopback(listen_port);

	return connect(fd, (struct sockaddr *)&sin, sizeof(sin));
}

/* A socket made before confinement: only Landlock (ABI 4) refuses. */
static int
p_connect_out(void)
{
	return refused(connect_listener(spare_tcp));
}

/* A new socket, connected: what the registerer and commander do. */
static int
p_new_connection(void)
{
	int	fd;

	if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
	    0)) == -1)
		return REFUSED;
	if (connect_listener(fd) == -1 && errno != EINPROGRESS)
		return REFUSED;
	close(fd);
	return OK;
}

/* Accept on its listener (the peer connected before confinement), read
 * and write both ways, shut it down. */
static int
p_accept_read_write(void)
{
	char	buf[8];
	int	c, one = 1;

	if ((c = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC)) == -1 ||
	    setsockopt(c, IPPROTO_TCP, 1 /* TCP_NODELAY */, &one,
	    sizeof(one)) == -1 ||
	    write(c, "ping", 4) != 4 || read(client, buf, 4) != 4 ||
	    memcmp(buf, "ping", 4) != 0 || write(client, "pong", 4) != 4 ||
	    read(c, buf, 4) != 4 || memcmp(buf, "pong", 4) != 0 ||
	    shutdown(c, SHUT_RDWR) == -1)
		return REFUSED;
	close(c);
	return OK;
}

static int
p_socketpair_io(void)
{
	char		buf[8];
	struct iovec	iov = { buf, 4 };
	struct msghdr	mh;

	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (write(peer[0], "ping", 4) != 4 || read(peer[1], buf, 4) != 4 ||
	    memcmp(buf, "ping", 4) != 0 ||
	    send(peer[1], "pong", 4, MSG_NOSIGNAL) != 4 ||
	    recvmsg(peer[0], &mh, 0) != 4 || memcmp(buf, "pong", 4) != 0)
		return REFUSED;
	return OK;
}

static int
p_random_time(void)
{
	struct timespec	ts;
	unsigned char	b[16];

	/* the system calls themselves, not the vDSO */
	if (syscall(SYS_getrandom, b, sizeof(b), 0) != sizeof(b) ||
	    syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts) != 0 ||
	    syscall(SYS_clock_gettime, CLOCK_REALTIME, &ts) != 0 ||
	    time(NULL) == (time_t)-1)
		return REFUSED;
	return OK;
}

static int
p_malloc(void)
{
	void	*p = malloc(64 << 20);	/* mmap, not brk */

	if (p == NULL)
		return REFUSED;
	memset(p, 1, 64 << 20);
	free(p);
	return OK;
}

static int
p_signal_parent(void)
{
	return refused(kill(parent_pid, 0));
}

static int
p_abstract_unix(void)
{
	struct sockaddr_un	sun;
	int			fd;

	if ((fd = unix_dgram(&sun)) == -1)
		return REFUSED;
	memcpy(sun.sun_path + 1, "octo-confine-test", 17);
	return refused(connect(fd, (struct sockaddr *)&sun,
	    offsetof(struct sockaddr_un, sun_path) + 18));
}

/* exit(), not _exit(): libc's, OpenSSL's and the sanitizers' handlers
 * run confined, as in a child whose channel closed. */
static int
p_exit(void)
{
	exit(OK);
}

/* What glibc's syslog() does when it reconnects to /dev/log. */
static int
p_syslog_reconnect(void)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log", F.dir);
	if ((fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    send(fd, "<30>octoBrain: hello", 20, MSG_NOSIGNAL) != 20)
		return REFUSED;
	close(fd);
	return OK;
}

/* --------------------------------------------------------------- tests */

enum expect {
	EXPECT_OK,		/* the probe saw what it expects */
	EXPECT_KILLED,		/* SIGSYS: the seccomp filter */
	EXPECT_KILLED_OR_REFUSED,	/* either (a soft-denied call) */
};

/* One row: a role runs a probe; what must come of it; the Landlock ABI
 * the kernel needs for it to hold (0: seccomp alone). */
struct probe_case {
	enum role	  role;
	int		(*probe)(void);
	enum expect	  expect;
	int		  min_abi;
};

static void
t_case(void **state)
{
	const struct probe_case	*c = *state;
	int			 status;

	if (F.abi < c->min_abi)
		skip();
	status = run_confined(c->role, c->probe);
	switch (c->expect) {
	case EXPECT_OK:
		expect_ok(status);
		break;
	case EXPECT_KILLED:
		expect_killed(status);
		break;
	default:
		if (!WIFSIGNALED(status))
			expect_ok(status);
		else
			expect_killed(status);
	}
}

static void
t_abstract_unix(void **state)
{
	int			fd, status;
	struct sockaddr_un	sun;

	if (F.abi < 6)
		skip();
	/* a listener outside the domain */
	assert_true((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) != -1);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	memcpy(sun.sun_path + 1, "octo-confine-test", 17);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun,
	    offsetof(struct sockaddr_un, sun_path) + 18), 0);
	status = run_confined(role_of(state), p_abstract_unix);
	close(fd);
	expect_ok(status);
}

static void
t_syslog(void **state)
{
	struct sockaddr_un	sun;
	char			buf[64];
	int			fd, status;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/log", F.dir);
	unlink(sun.sun_path);
	assert_true((fd = socket(AF_UNIX, SOCK_DGRAM, 0)) != -1);
	assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	status = run_confined(role_of(state), p_syslog_reconnect);
	expect_ok(status);
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), 20);
	close(fd);
}

#ifdef __SANITIZE_ADDRESS__
static volatile size_t	overflow_at = 16;

static int
p_asan_report(void)
{
	char	*p;

	if ((p = malloc(16)) == NULL)
		return REFUSED;
	p[overflow_at] = 1;	/* heap-buffer-overflow */
	free(p);
	return ALLOWED;
}

/* A confined process keeps its sanitizer reports: the report comes out
 * (unsymbolised) and the process exits as the sanitizer makes it, not by
 * SIGSYS. */
static void
t_asan_report(void **state)
{
	char	buf[65536];
	size_t	len = 0;
	ssize_t	n;
	int	fds[2], status;

	/* read once the process is gone: the report's first 64 KiB (a pipe's
	 * buffer) are enough; a non-blocking pipe never holds it up */
	assert_int_equal(pipe2(fds, O_NONBLOCK), 0);
	status = run_confined_err(role_of(state), p_asan_report, fds[1]);
	close(fds[1]);
	while (len < sizeof(buf) - 1 &&
	    (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	if (WIFSIGNALED(status))
		assert_int_not_equal(WTERMSIG(status), SIGSYS);
	else
		assert_int_not_equal(WEXITSTATUS(status), OK);
	/* UBSan's object-size check may see it first */
	if (strstr(buf, "heap-buffer-overflow") == NULL &&
	    strstr(buf, "runtime error:") == NULL)
		fail_msg("no sanitizer report: %s", buf);
}
#endif

static enum role	R_WEB = WEBSERV, R_REG = REGISTERER, R_CMD = COMMANDER;

#ifdef __SANITIZE_ADDRESS__
#define EXPECT_EXEC	EXPECT_KILLED_OR_REFUSED	/* EPERM: reports */
#else
#define EXPECT_EXEC	EXPECT_KILLED
#endif

/* A row for one role, for each role, and a test of its own. */
#define CASE(r, name, what, probe, expect, abi) \
	{ name ": " what, t_case, NULL, NULL, \
	    &(struct probe_case){ r, probe, expect, abi } }
#define EACH(what, probe, expect, abi) \
	CASE(WEBSERV, "webserv", what, probe, expect, abi), \
	CASE(REGISTERER, "registerer", what, probe, expect, abi), \
	CASE(COMMANDER, "commander", what, probe, expect, abi)
#define TEST_EACH(what, fn) \
	{ "webserv: " what, fn, NULL, NULL, &R_WEB }, \
	{ "registerer: " what, fn, NULL, NULL, &R_REG }, \
	{ "commander: " what, fn, NULL, NULL, &R_CMD }

int
main(void)
{
	const struct CMUnitTest tests[] = {
		/* open(2) refused by seccomp everywhere, and by Landlock */
		EACH("open of brain.db refused", p_open_db, EXPECT_OK, 0),
		EACH("open of the key refused", p_open_key, EXPECT_OK, 0),
		EACH("write under state_dir refused", p_write_state,
		    EXPECT_OK, 0),
		CASE(WEBSERV, "webserv", "way out of web_root refused",
		    p_escape_web_root, EXPECT_OK, 1),
		CASE(WEBSERV, "webserv", "write under state_dir from web_root "
		    "refused", p_write_state_from_web, EXPECT_OK, 1),
		CASE(WEBSERV, "webserv", "write under web_root refused",
		    p_write_web_root, EXPECT_OK, 1),
		EACH("execve killed", p_execve, EXPECT_EXEC, 0),
		EACH("ptrace killed", p_ptrace, EXPECT_KILLED, 0),
		EACH("raw socket killed", p_raw_socket, EXPECT_KILLED, 0),
		CASE(WEBSERV, "webserv", "bind killed", p_bind, EXPECT_KILLED,
		    0),
		CASE(WEBSERV, "webserv", "bind to a fixed port killed",
		    p_bind_fixed, EXPECT_KILLED, 0),
		CASE(REGISTERER, "registerer", "bind to a fixed port refused "
		    "(ABI 4)", p_bind_fixed, EXPECT_OK, 4),
		CASE(COMMANDER, "commander", "bind to a fixed port refused "
		    "(ABI 4)", p_bind_fixed, EXPECT_OK, 4),
		CASE(REGISTERER, "registerer", "bind of a unix socket killed",
		    p_bind_unix, EXPECT_KILLED, 0),
		CASE(COMMANDER, "commander", "bind of a unix socket killed",
		    p_bind_unix, EXPECT_KILLED, 0),
		CASE(REGISTERER, "registerer", "listen killed", p_listen,
		    EXPECT_KILLED, 0),
		CASE(COMMANDER, "commander", "listen killed", p_listen,
		    EXPECT_KILLED, 0),
		EACH("signal to another process killed", p_signal_parent,
		    EXPECT_KILLED, 0),
		TEST_EACH("abstract unix socket refused (ABI 6)",
		    t_abstract_unix),
		CASE(WEBSERV, "webserv", "no new TCP socket", p_new_connection,
		    EXPECT_KILLED, 0),
		CASE(WEBSERV, "webserv", "connects nowhere (ABI 4)",
		    p_connect_out, EXPECT_OK, 4),
		/* controls: what each role needs still works */
		CASE(WEBSERV, "webserv", "reads a file of web_root",
		    p_read_web_root, EXPECT_OK, 0),
		CASE(REGISTERER, "registerer", "connects out (enrolment by "
		    "address)", p_new_connection, EXPECT_OK, 0),
		CASE(COMMANDER, "commander", "connects out (orders, pings)",
		    p_new_connection, EXPECT_OK, 0),
		CASE(REGISTERER, "registerer", "connects out from "
		    "listen_address (bind to port 0)", p_connect_from,
		    EXPECT_OK, 0),
		CASE(COMMANDER, "commander", "connects out from "
		    "listen_address (bind to port 0)", p_connect_from,
		    EXPECT_OK, 0),
		EACH("accepts TCP, reads and writes it", p_accept_read_write,
		    EXPECT_OK, 0),
		EACH("reads and writes its channel", p_socketpair_io,
		    EXPECT_OK, 0),
		EACH("random and clocks", p_random_time, EXPECT_OK, 0),
		EACH("memory", p_malloc, EXPECT_OK, 0),
		TEST_EACH("reconnects to syslog's socket", t_syslog),
		EACH("exits through its atexit handlers", p_exit, EXPECT_OK, 0),
#ifdef __SANITIZE_ADDRESS__
		TEST_EACH("a sanitizer's report survives", t_asan_report),
#endif
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
