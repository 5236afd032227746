/*
 * Pidfile lock, daemonisation, process titles, descriptor limit and
 * privilege drop.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <bsd/string.h>
#include <bsd/unistd.h>

#include "daemon.h"

extern char **environ;

static int	daemon_pipe = -1;	/* write end, in the child */

/* The pid in a pidfile, or 0. */
static long
pidfile_read(int fd)
{
	char	 buf[32];
	ssize_t	 n;
	char	*ep;
	long	 pid;

	if ((n = pread(fd, buf, sizeof(buf) - 1, 0)) <= 0)
		return 0;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	errno = 0;
	pid = strtol(buf, &ep, 10);
	if (ep == buf || *ep != '\0' || errno != 0 || pid <= 0)
		return 0;
	return pid;
}

static void
pidfile_running(const char *path, long pid, char *err, size_t errlen)
{
	if (pid > 0)
		snprintf(err, errlen, "%s: %s already running (pid %ld)", path,
		    program_invocation_short_name, pid);
	else
		snprintf(err, errlen, "%s: %s already running", path,
		    program_invocation_short_name);
}

int
pidfile_lock(struct pidfile *pf, const char *path, char *err, size_t errlen)
{
	struct flock	fl;
	char		line[32];
	long		pid;
	int		fd, n, saved;

	pf->fd = -1;
	if (strlcpy(pf->path, path, sizeof(pf->path)) >= sizeof(pf->path)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	if ((fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0644)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_SETLK, &fl) == -1) {
		saved = errno;
		if (saved == EAGAIN || saved == EACCES) {
			pid = pidfile_read(fd);
			if (pid <= 0) {
				/* Locked but the pid not written yet. */
				memset(&fl, 0, sizeof(fl));
				fl.l_type = F_WRLCK;
				fl.l_whence = SEEK_SET;
				if (fcntl(fd, F_GETLK, &fl) == 0 &&
				    fl.l_type != F_UNLCK)
					pid = fl.l_pid;
			}
			pidfile_running(path, pid, err, errlen);
		} else
			snprintf(err, errlen, "%s: lock: %s", path,
			    strerror(saved));
		close(fd);
		return -1;
	}
	n = snprintf(line, sizeof(line), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, line, (size_t)n, 0) != n) {
		saved = errno;
		snprintf(err, errlen, "%s: write: %s", path, strerror(saved));
		close(fd);
		return -1;
	}
	pf->fd = fd;
	return 0;
}

int
pidfile_check(const char *path, char *err, size_t errlen)
{
	struct flock	fl;
	long		pid;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	if (fcntl(fd, F_GETLK, &fl) == -1) {
		snprintf(err, errlen, "%s: lock: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (fl.l_type != F_UNLCK) {
		pid = pidfile_read(fd);
		pidfile_running(path, pid > 0 ? pid : (long)fl.l_pid, err,
		    errlen);
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void
pidfile_remove(struct pidfile *pf)
{
	if (pf->fd == -1)
		return;
	/* Unlink while we still hold the lock: no window for a rival. */
	(void)unlink(pf->path);
	close(pf->fd);
	pf->fd = -1;
}

void
pidfile_forget(struct pidfile *pf)
{
	if (pf->fd != -1)
		close(pf->fd);
	pf->fd = -1;
}

void
daemon_start(void)
{
	int	 p[2], status;
	pid_t	 pid;
	char	 buf[2];
	ssize_t	 n;
	size_t	 got = 0;

	if (pipe2(p, O_CLOEXEC) == -1) {
		fprintf(stderr, "%s: pipe: %s\n",
		    program_invocation_short_name, strerror(errno));
		exit(1);
	}
	switch ((pid = fork())) {
	case -1:
		fprintf(stderr, "%s: fork: %s\n",
		    program_invocation_short_name, strerror(errno));
		exit(1);
	case 0:
		close(p[0]);
		daemon_pipe = p[1];
		if (setsid() == -1) {
			fprintf(stderr, "%s: setsid: %s\n",
			    program_invocation_short_name, strerror(errno));
			_exit(1);
		}
		return;
	default:
		break;
	}
	/* Parent: wait for "ok" or for the child's end. */
	close(p[1]);
	while (got < sizeof(buf)) {
		n = read(p[0], buf + got, sizeof(buf) - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (got == 2 && memcmp(buf, "ok", 2) == 0)
		_exit(0);
	/* The child failed and already said why on our stderr. */
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	_exit(1);
}

void
daemon_ready(void)
{
	int	fd;

	if (daemon_pipe != -1) {
		if (write(daemon_pipe, "ok", 2) != 2) {
			/* the parent is gone: nobody to tell */
		}
		close(daemon_pipe);
		daemon_pipe = -1;
	}
	if ((fd = open("/dev/null", O_RDWR)) != -1) {
		(void)dup2(fd, STDIN_FILENO);
		(void)dup2(fd, STDOUT_FILENO);
		(void)dup2(fd, STDERR_FILENO);
		if (fd > STDERR_FILENO)
			close(fd);
	}
}

static int	proc_title_ok;

void
proc_title_init(int argc, char **argv)
{
	setproctitle_init(argc, argv, environ);
	proc_title_ok = 1;
}

void
proc_title(const char *progname, const char *role)
{
	char	name[16];

	if (proc_title_ok)
		setproctitle("-%s: %s", progname, role);
	/* The kernel keeps 15 bytes: the role says most. */
	strlcpy(name, role, sizeof(name));
	(void)prctl(PR_SET_NAME, name, 0, 0, 0);
}

long
raise_nofile_limit(long want)
{
	struct rlimit	rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	if (want <= 0 || (rlim_t)want <= rl.rlim_cur)
		return (long)rl.rlim_cur;
	if ((rlim_t)want > rl.rlim_max) {
		/* Only root can raise the hard limit; try, then cap. */
		struct rlimit	 r2 = { (rlim_t)want, (rlim_t)want };

		if (setrlimit(RLIMIT_NOFILE, &r2) == 0)
			return want;
		rl.rlim_cur = rl.rlim_max;
	} else
		rl.rlim_cur = (rlim_t)want;
	(void)setrlimit(RLIMIT_NOFILE, &rl);
	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return -1;
	return (long)rl.rlim_cur;
}

int
drop_privileges(const char *user, char *err, size_t errlen)
{
	struct passwd	*pw;
	gid_t		 gid;
	uid_t		 uid;

	if (user == NULL || user[0] == '\0')
		return 0;
	errno = 0;
	if ((pw = getpwnam(user)) == NULL) {
		snprintf(err, errlen, "user %s: %s", user,
		    errno ? strerror(errno) : "no such user");
		return -1;
	}
	uid = pw->pw_uid;
	gid = pw->pw_gid;
	/* Already that user (not started as root): nothing to drop. */
	if (getuid() == uid && geteuid() == uid && getgid() == gid &&
	    getegid() == gid && uid != 0)
		return 0;
	if (setgroups(1, &gid) == -1) {
		snprintf(err, errlen, "user %s: setgroups: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setresgid(gid, gid, gid) == -1) {
		snprintf(err, errlen, "user %s: setresgid: %s", user,
		    strerror(errno));
		return -1;
	}
	if (setresuid(uid, uid, uid) == -1) {
		snprintf(err, errlen, "user %s: setresuid: %s", user,
		    strerror(errno));
		return -1;
	}
	/* Paranoia: root must be out of reach now. */
	if (uid != 0 && (setuid(0) != -1 || seteuid(0) != -1)) {
		snprintf(err, errlen, "user %s: could regain root after "
		    "dropping privileges", user);
		return -1;
	}
	return 0;
}

int
fd_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t	*p = buf;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, p, n)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}
