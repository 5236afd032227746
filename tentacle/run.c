/*
 * Running one script (run.h). The command worker starts the script itself
 * (see run.h) with posix_spawn (glibc: a vfork-like clone, no copy of the
 * worker's page tables, no copy-on-write faults after it); the child:
 *	its own process group (setpgid(0, 0)), default signal dispositions,
 *	an empty signal mask, stdin /dev/null, stdout and stderr the write
 *	end of one pipe, every other descriptor closed, then
 *	execve(dir/name, [name], env); posix_spawn returns the execve error
 *	if there is one (the child is reaped then).
 * The parent reads the pipe (non-blocking, on the loop), keeps up to
 * output_max bytes, and finishes the job once the pipe is at EOF and the
 * script is reaped. The script is watched through a pidfd, and its exit
 * seen with waitid(P_PIDFD, WNOWAIT), so that its group is killed while
 * the leader is still a zombie: its pid, and so the group's id, cannot be
 * reused yet. Once the leader is reaped nothing is ever signalled by that
 * number again (it may name someone else's process group by then).
 */
#include <sys/mman.h>
#include <sys/queue.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>

#include "daemon.h"
#include "log.h"
#include "managed.h"
#include "run.h"
#include "scriptsig.h"

/* Descriptors the child's are placed from are at least this, so that
 * dup2() onto 0..2 never clobbers one still needed. */
#define CHILD_FD_LOW	3
/* The memfd of the script, in the child (execve /proc/self/fd/3). */
#define CHILD_FD_SCRIPT	3
#define CHILD_FD_SCRIPT_PATH	"/proc/self/fd/3"

struct run {
	struct event_base	*base;
	uint64_t		 job;
	pid_t			 pid;
	int			 pidfd;		/* of pid until reaped, or -1 */
	int			 fd;		/* read end, -1 at EOF */
	struct event		*ev_read;
	struct event		*ev_timer;
	struct event		*ev_done;	/* deferred finish */
	size_t			 output_max;
	size_t			 total;		/* bytes the script wrote */
	int			 reaped;
	int			 status;	/* waitpid's */
	int			 timed_out;
	int			 failed;	/* not run: output says why */
	int			 refused;	/* not the script ordered */
	uint64_t		 start_mono;
	struct run_result	 res;
	run_done_cb		 done;
	void			*arg;
	LIST_ENTRY(run)		 entry;
};

static LIST_HEAD(, run)	 runs = LIST_HEAD_INITIALIZER(runs);
static int		 nruns;
static struct event	*ev_sigchld;	/* on sigchld_fd */
static int		 sigchld_fd = -1;
static struct event_base *sigchld_base;
static int		 sigchld_external;

uint64_t
run_now_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
run_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int
run_check_script(const char *dir, const char *name, char *err,
    size_t errlen)
{
	struct stat	st;
	int		dfd, fd;

	if (!proto_script_name_valid(name)) {
		snprintf(err, errlen, "not a script name");
		return -1;
	}
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "scripts_dir %s: %s", dir,
		    strerror(errno));
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC |
	    O_NONBLOCK);
	close(dfd);
	if (fd == -1) {
		snprintf(err, errlen, "%s", errno == ELOOP ? "a symbolic link" :
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		return -1;
	}
	if ((st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
		snprintf(err, errlen, "not executable");
		return -1;
	}
	return 0;
}

int
run_active(uint64_t job)
{
	struct run	*r;

	LIST_FOREACH(r, &runs, entry)
		if (r->job == job)
			return 1;
	return 0;
}

int
run_count(void)
{
	return nruns;
}

static void
run_free(struct run *r)
{
	LIST_REMOVE(r, entry);
	nruns--;
	if (r->ev_read != NULL)
		event_free(r->ev_read);
	if (r->ev_timer != NULL)
		event_free(r->ev_timer);
	if (r->ev_done != NULL)
		event_free(r->ev_done);
	if (r->fd != -1)
		close(r->fd);
	if (r->pidfd != -1)
		close(r->pidfd);
	buf_free(&r->res.output);
	free(r);
	if (nruns == 0 && ev_sigchld != NULL) {
		event_free(ev_sigchld);
		ev_sigchld = NULL;
		close(sigchld_fd);
		sigchld_fd = -1;
		sigchld_base = NULL;
	}
}

/* Append what fits below the cap; count everything. */
static void
keep(struct run *r, const void *p, size_t n)
{
	size_t	room;

	r->total += n;
	room = r->output_max - r->res.output.len;
	if (n > room) {
		r->res.truncated = 1;
		n = room;
	}
	if (n > 0)
		(void)buf_append(&r->res.output, p, n);
}

/* Read what is there; 1 at EOF or error, 0 if more may come. */
static int
drain(struct run *r)
{
	char	 b[16384];
	ssize_t	 n;

	for (;;) {
		n = read(r->fd, b, sizeof(b));
		if (n > 0) {
			keep(r, b, (size_t)n);
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			return 0;
		return 1;
	}
}

static void
close_pipe(struct run *r)
{
	if (r->ev_read != NULL) {
		event_free(r->ev_read);
		r->ev_read = NULL;
	}
	if (r->fd != -1) {
		close(r->fd);
		r->fd = -1;
	}
}

static void
finish(struct run *r)
{
	struct run_result	*res = &r->res;
	char			 marker[64];

	if (r->failed) {
		res->outcome = r->refused ? OUTCOME_REFUSED : OUTCOME_FAILED;
		res->exit_status = -1;
		res->signal = 0;
	} else {
		if (WIFEXITED(r->status)) {
			res->exit_status = WEXITSTATUS(r->status);
			res->signal = 0;
		} else {
			res->exit_status = -1;
			res->signal = WIFSIGNALED(r->status) ?
			    WTERMSIG(r->status) : 0;
		}
		res->outcome = r->timed_out ? OUTCOME_TIMEOUT : OUTCOME_RAN;
	}
	if (res->truncated) {
		snprintf(marker, sizeof(marker), RUN_MARKER_FMT,
		    r->output_max);
		/* The buffer has room for it: max is output_max + 128. */
		(void)buf_append(&res->output, marker, strlen(marker));
	}
	if (res->duration_ms == 0 && r->start_mono != 0)
		res->duration_ms = run_mono_ms() - r->start_mono;
	log_hop("run-ended", (unsigned long long)r->job);
	r->done(res, r->arg);
	run_free(r);
}

static void
maybe_finish(struct run *r)
{
	if (r->reaped && r->fd == -1)
		finish(r);
}

static void
read_cb(evutil_socket_t fd, short events, void *arg)
{
	struct run	*r = arg;

	if (drain(r)) {
		close_pipe(r);
		maybe_finish(r);
	}
}

/* Kill the script's group and reap its leader: the group is signalled
 * only here and only while the leader is not reaped. */
static void
kill_and_reap(struct run *r)
{
	if (r->reaped || r->pid <= 0)
		return;
	kill(-r->pid, SIGKILL);
	while (waitpid(r->pid, &r->status, 0) == -1 && errno == EINTR)
		;
	r->reaped = 1;
	if (r->pidfd != -1) {
		close(r->pidfd);
		r->pidfd = -1;
	}
	r->res.duration_ms = run_mono_ms() - r->start_mono;
}

/* The script ended: kill what it left in its group, then reap it. */
static void
check_exit(struct run *r)
{
	siginfo_t	si;

	if (r->reaped || r->pid <= 0)
		return;
	memset(&si, 0, sizeof(si));
	if (r->pidfd != -1) {
		if (waitid(P_PIDFD, (id_t)r->pidfd, &si,
		    WEXITED | WNOHANG | WNOWAIT) == -1 || si.si_pid == 0)
			return;
	} else if (waitid(P_PID, (id_t)r->pid, &si,
	    WEXITED | WNOHANG | WNOWAIT) == -1 || si.si_pid != r->pid)
		return;
	kill_and_reap(r);
}

void
run_sigchld_external(void)
{
	sigchld_external = 1;
}

static void
sigchld_cb(evutil_socket_t fd, short events, void *arg)
{
	struct signalfd_siginfo	 si;

	while (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		;
	run_sigchld();
}

void
run_sigchld(void)
{
	struct run		*r, *next;

	for (r = LIST_FIRST(&runs); r != NULL; r = next) {
		next = LIST_NEXT(r, entry);
		check_exit(r);
		if (r->reaped && r->fd != -1) {
			/* The group is dead: whatever is in the pipe is
			 * all there will be, unless a process escaped the
			 * group (setsid): the time limit ends that. */
			if (drain(r))
				close_pipe(r);
		}
		maybe_finish(r);
	}
}

static void
timer_cb(evutil_socket_t fd, short events, void *arg)
{
	struct run	*r = arg;

	if (!r->reaped) {
		r->timed_out = 1;
		log_warnx("job %llu: %s still running at the time limit: "
		    "killing its process group", (unsigned long long)r->job,
		    "script");
		/* Reap now: SIGKILL cannot be caught. */
		kill_and_reap(r);
	} else if (r->fd != -1)
		/* The group died with its leader; what still holds the pipe
		 * left the group (setsid) and cannot be told apart safely. */
		log_warnx("job %llu: the script exited but a process it "
		    "started outside its group still holds its output: "
		    "closing it", (unsigned long long)r->job);
	if (r->fd != -1) {
		(void)drain(r);
		close_pipe(r);
	}
	maybe_finish(r);
}

static void
done_cb(evutil_socket_t fd, short events, void *arg)
{
	finish(arg);
}

/* A descriptor of ours at CHILD_FD_LOW or above (close-on-exec). */
static int
high_fd(int *fd)
{
	int	nfd;

	if (*fd >= CHILD_FD_LOW)
		return 0;
	if ((nfd = fcntl(*fd, F_DUPFD_CLOEXEC, CHILD_FD_LOW)) == -1)
		return -1;
	close(*fd);
	*fd = nfd;
	return 0;
}

/* Start path as described at the top; the pid, or 0 with errno set.
 * script: the memfd, made the child's CHILD_FD_SCRIPT (>= CHILD_FD_LOW +
 * 1, so that dup2 is never a no-op that would keep close-on-exec). */
static pid_t
spawn(const char *path, char *const argv[], char *const envp[], int devnull,
    int outw, int script)
{
	posix_spawn_file_actions_t	fa;
	posix_spawnattr_t		at;
	sigset_t			all, none;
	pid_t				pid = 0;
	int				e;

	if ((e = posix_spawn_file_actions_init(&fa)) != 0) {
		errno = e;
		return 0;
	}
	if ((e = posix_spawnattr_init(&at)) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		errno = e;
		return 0;
	}
	sigfillset(&all);
	sigemptyset(&none);
	if ((e = posix_spawnattr_setflags(&at, POSIX_SPAWN_SETPGROUP |
	    POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK)) != 0 ||
	    (e = posix_spawnattr_setpgroup(&at, 0)) != 0 ||
	    (e = posix_spawnattr_setsigdefault(&at, &all)) != 0 ||
	    (e = posix_spawnattr_setsigmask(&at, &none)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, devnull,
	    STDIN_FILENO)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, outw,
	    STDOUT_FILENO)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, outw,
	    STDERR_FILENO)) != 0 ||
	    (e = posix_spawn_file_actions_adddup2(&fa, script,
	    CHILD_FD_SCRIPT)) != 0 ||
	    (e = posix_spawn_file_actions_addclosefrom_np(&fa,
	    CHILD_FD_SCRIPT + 1)) != 0 ||
	    (e = posix_spawn(&pid, path, &fa, &at, argv, envp)) != 0)
		pid = 0;
	posix_spawnattr_destroy(&at);
	posix_spawn_file_actions_destroy(&fa);
	errno = e;
	return pid;
}

/*
 * The script's bytes into a sealed memfd: the descriptor (>= CHILD_FD_LOW
 * + 1, close-on-exec) and the SHA-256 of what the memfd holds, or -1 with
 * err. dir/name is opened once, never through a symlink.
 */
static int
script_memfd(const char *dir, const char *name, int managed, char *sha,
    uint8_t **bodyp, size_t *lenp, char *err, size_t errlen)
{
	struct stat	 st;
	uint8_t		*body = NULL;
	size_t		 got = 0;
	ssize_t		 n;
	int		 dfd, fd = -1, mfd = -1, hfd;

	*bodyp = NULL;
	if ((dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	close(dfd);
	if (fd == -1) {
		snprintf(err, errlen, "%s", errno == ELOOP ?
		    "a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "not a regular file");
		goto fail;
	}
	if (!managed && (st.st_mode & (S_IXUSR | S_IXGRP | S_IXOTH)) == 0) {
		snprintf(err, errlen, "not executable");
		goto fail;
	}
	if (st.st_size > (managed ? PROTO_SCRIPT_BODY_MAX : MANAGED_RUN_MAX)) {
		snprintf(err, errlen, "larger than %d bytes", managed ?
		    PROTO_SCRIPT_BODY_MAX : MANAGED_RUN_MAX);
		goto fail;
	}
	/* One more byte than it should have: a file that grows meanwhile
	 * is seen. */
	if ((body = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (;;) {
		n = read(fd, body + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			goto fail;
		}
		if (n == 0)
			break;
		got += (size_t)n;
		if (got > (size_t)st.st_size) {
			snprintf(err, errlen, "changed while read");
			goto fail;
		}
	}
	close(fd);
	fd = -1;
	if ((mfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING)) ==
	    -1 || fd_write_all(mfd, body, got) == -1 ||
	    fcntl(mfd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_SEAL) == -1) {
		snprintf(err, errlen, "memfd: %s", strerror(errno));
		goto fail;
	}
	/* Hash what the sealed memfd holds: the bytes that will run. */
	memset(body, 0, got);
	if (pread(mfd, body, got, 0) != (ssize_t)got ||
	    scriptsig_sha256_hex(body, got, sha) == -1) {
		snprintf(err, errlen, "memfd: cannot read it back");
		goto fail;
	}
	if (mfd <= CHILD_FD_SCRIPT) {
		if ((hfd = fcntl(mfd, F_DUPFD_CLOEXEC, CHILD_FD_SCRIPT + 1)) ==
		    -1) {
			snprintf(err, errlen, "fcntl: %s", strerror(errno));
			goto fail;
		}
		close(mfd);
		mfd = hfd;
	}
	*bodyp = body;
	*lenp = got;
	return mfd;
 fail:
	if (fd != -1)
		close(fd);
	if (mfd != -1)
		close(mfd);
	free(body);
	return -1;
}

static void
fail_now(struct run *r, const char *name, const char *why)
{
	char	msg[512];

	snprintf(msg, sizeof(msg), "cannot run %s: %s\n", name, why);
	(void)buf_append(&r->res.output, msg, strlen(msg));
	r->failed = 1;
	r->reaped = 1;
	close_pipe(r);
	event_active(r->ev_done, EV_TIMEOUT, 0);
}

/* Not the script ordered: REFUSED, nothing ran; the output's first line
 * is the reason the brain shows. */
static void
refuse_now(struct run *r, const char *name, const char *detail)
{
	char	msg[768];

	log_warnx("job %llu: %s refused: %s (%s)", (unsigned long long)r->job,
	    name, MANAGED_DIFFERS, detail);
	snprintf(msg, sizeof(msg), "%s\n%s: %s\n", MANAGED_DIFFERS, name,
	    detail);
	(void)buf_append(&r->res.output, msg, strlen(msg) < r->res.output.max ?
	    strlen(msg) : r->res.output.max);
	r->failed = 1;
	r->refused = 1;
	r->reaped = 1;
	close_pipe(r);
	event_active(r->ev_done, EV_TIMEOUT, 0);
}

int
run_start(struct event_base *base, uint64_t job, const struct run_params *p,
    run_done_cb done, void *arg, char *err, size_t errlen)
{
	static char	 env_path[] = RUN_ENV_PATH;
	static char	 env_lang[] = RUN_ENV_LANG;
	static char	 env_home[] = RUN_ENV_HOME;
	char		*envp[] = { env_path, env_lang, env_home, NULL };
	char		 name[PROTO_SCRIPT_NAME_MAX];
	char		*argv[] = { name, NULL };
	char		 path[OCTO_PATH_MAX + PROTO_SCRIPT_NAME_MAX + 2];
	char		 why[256];
	struct run	*r;
	struct timeval	 tv;
	uint8_t		*body = NULL;
	size_t		 bodylen = 0;
	uint32_t	 version = 0;
	const char	*dir = p->scripts_dir;
	int		 outp[2] = { -1, -1 };
	int		 devnull = -1, e, mfd = -1, managed = 0, sfd;

	if (p->output_max == 0 || p->output_max > OCTO_OUTPUT_MAX ||
	    p->timeout_ms <= 0 || strlcpy(name, p->script, sizeof(name)) >=
	    sizeof(name)) {
		snprintf(err, errlen, "bad parameters");
		return -1;
	}
	if (!sigchld_external && sigchld_base != NULL &&
	    sigchld_base != base) {
		snprintf(err, errlen, "scripts already run on another loop");
		return -1;
	}
	/* A managed script (managed_scripts = yes) is found first. */
	if (p->managed_dir != NULL && p->managed_dir[0] != '\0' &&
	    proto_script_name_valid(name) && (sfd = open(p->managed_dir,
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		struct stat	st;

		if (fstatat(sfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0) {
			managed = 1;
			dir = p->managed_dir;
		}
		close(sfd);
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >=
	    sizeof(path)) {
		snprintf(err, errlen, "path too long");
		return -1;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	r->base = base;
	r->job = job;
	r->fd = -1;
	r->pidfd = -1;
	r->output_max = p->output_max;
	r->done = done;
	r->arg = arg;
	r->res.job = job;
	buf_init(&r->res.output, p->output_max + 128);
	LIST_INSERT_HEAD(&runs, r, entry);
	nruns++;
	if (!sigchld_external && ev_sigchld == NULL) {
		/* A signalfd, not evsignal: the supervisor's event base,
		 * inherited through fork(), holds libevent's signal slot. */
		sigset_t	chld;

		sigemptyset(&chld);
		sigaddset(&chld, SIGCHLD);
		sigprocmask(SIG_BLOCK, &chld, NULL);
		if ((sigchld_fd = signalfd(-1, &chld, SFD_NONBLOCK |
		    SFD_CLOEXEC)) == -1 || (ev_sigchld = event_new(base,
		    sigchld_fd, EV_READ | EV_PERSIST, sigchld_cb, NULL)) ==
		    NULL || event_add(ev_sigchld, NULL) == -1) {
			snprintf(err, errlen, "cannot watch SIGCHLD");
			if (ev_sigchld != NULL)
				event_free(ev_sigchld);
			ev_sigchld = NULL;
			if (sigchld_fd != -1)
				close(sigchld_fd);
			sigchld_fd = -1;
			goto fail;
		}
		sigchld_base = base;
	}
	if ((r->ev_timer = evtimer_new(base, timer_cb, r)) == NULL ||
	    (r->ev_done = event_new(base, -1, 0, done_cb, r)) == NULL) {
		snprintf(err, errlen, "cannot make events");
		goto fail;
	}
	r->res.started_at_ms = run_now_ms();
	r->start_mono = run_mono_ms();

	/* A script we may not run is a FAILED result, not an error. */
	if (!managed && run_check_script(dir, name, why, sizeof(why)) == -1) {
		fail_now(r, name, why);
		return 0;
	}
	if ((mfd = script_memfd(dir, name, managed, r->res.sha256, &body,
	    &bodylen, why, sizeof(why))) == -1) {
		r->res.sha256[0] = '\0';
		fail_now(r, name, why);
		return 0;
	}
	if (managed && managed_check(dir, p->sign_pub, name, body, bodylen, r->res.sha256,
	    &version, why, sizeof(why)) == -1) {
		free(body);
		close(mfd);
		refuse_now(r, name, why);
		return 0;
	}
	free(body);
	body = NULL;
	if (p->sha256 != NULL && p->sha256[0] != '\0' &&
	    strcmp(p->sha256, r->res.sha256) != 0) {
		close(mfd);
		snprintf(why, sizeof(why), "ordered %.64s, the host has %.64s",
		    p->sha256, r->res.sha256);
		refuse_now(r, name, why);
		return 0;
	}
	if (managed)
		log_debug("job %llu: managed script %s version %u, %s",
		    (unsigned long long)job, name, (unsigned)version,
		    r->res.sha256);
	if (pipe2(outp, O_CLOEXEC) == -1 ||
	    (devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    high_fd(&outp[1]) == -1 || high_fd(&devnull) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	r->pid = spawn(CHILD_FD_SCRIPT_PATH, argv, envp, devnull, outp[1], mfd);
	e = errno;
	close(mfd);
	mfd = -1;
	close(outp[1]);
	outp[1] = -1;
	close(devnull);
	devnull = -1;
	r->fd = outp[0];
	log_hop("run-spawned", (unsigned long long)job);
	if (r->pid == 0) {
		/* The execve failed (the child is reaped), or no child. */
		fail_now(r, name, strerror(e));
		return 0;
	}
	/* A kernel without pidfds (before 5.3): waitid by pid, as safe while
	 * the leader is not reaped, which is all this relies on. */
	r->pidfd = (int)syscall(SYS_pidfd_open, r->pid, 0);	/* cloexec */
	if (fcntl(r->fd, F_SETFL, O_NONBLOCK) == -1 ||
	    (r->ev_read = event_new(base, r->fd, EV_READ | EV_PERSIST,
	    read_cb, r)) == NULL || event_add(r->ev_read, NULL) == -1) {
		snprintf(err, errlen, "cannot watch the output");
		kill_and_reap(r);
		goto fail;
	}
	tv.tv_sec = p->timeout_ms / 1000;
	tv.tv_usec = (p->timeout_ms % 1000) * 1000;
	evtimer_add(r->ev_timer, &tv);
	/* It may have exited before SIGCHLD was watched: look once. */
	check_exit(r);
	return 0;
 fail:
	if (mfd != -1)
		close(mfd);
	if (outp[0] != -1 && r->fd != outp[0])
		close(outp[0]);
	if (r->pid <= 0) {
		if (outp[1] != -1)
			close(outp[1]);
		if (devnull != -1)
			close(devnull);
	}
	run_free(r);
	return -1;
}

void
run_interrupt_all(const char *why)
{
	struct run	*r;
	char		 line[96];

	while ((r = LIST_FIRST(&runs)) != NULL) {
		kill_and_reap(r);
		if (r->fd != -1) {
			(void)drain(r);
			close_pipe(r);
		}
		if (!r->failed) {
			r->failed = 1;
			snprintf(line, sizeof(line), RUN_INTERRUPTED_FMT, why);
			/* Room is kept for the truncation marker: this goes
			 * in only if both fit. */
			if (r->res.output.len + strlen(line) + 64 <=
			    r->res.output.max)
				(void)buf_append(&r->res.output, line,
				    strlen(line));
		}
		finish(r);	/* frees r */
	}
}

void
run_abort_all(void)
{
	struct run	*r;

	while ((r = LIST_FIRST(&runs)) != NULL) {
		kill_and_reap(r);
		run_free(r);
	}
}

void
run_result_msg(const struct run_result *res, struct msg_result *m)
{
	memset(m, 0, sizeof(*m));
	m->job = res->job;
	m->outcome = res->outcome;
	m->exit_status = res->exit_status;
	m->signal = res->signal;
	m->started_at_ms = res->started_at_ms;
	m->duration_ms = res->duration_ms;
	m->truncated = res->truncated;
	m->output = res->output.data;
	m->output_len = res->output.len;
	strlcpy(m->sha256, res->sha256, sizeof(m->sha256));
}
