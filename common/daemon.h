/*
 * Daemonisation with a locked pidfile.
 *
 * pidfile_lock() takes an fcntl lock (per process: a forked child never
 * holds it) on the pidfile; a second instance fails with a message naming
 * the running pid. daemon_start() forks; the parent waits on a pipe until
 * the child calls daemon_ready() (then exits 0) or dies / reports failure
 * (then exits 1), so start-up errors reach the terminal and the exit
 * status. The child is a session leader with stdio on /dev/null after
 * daemon_ready().
 */
#ifndef OCTO_DAEMON_H
#define OCTO_DAEMON_H

#include <stddef.h>

struct pidfile {
	char	path[1024];
	int	fd;		/* -1 when not held */
};

/* 0 locked (and pid written), -1 with the reason in err. Call in the process
 * that will keep running (after daemon_start()). */
int	pidfile_lock(struct pidfile *, const char *path, char *err,
	    size_t errlen);
/* Only check: -1 with "already running (pid N)" if another holds it.
 * Never in the process holding the lock: closing its descriptor would
 * release that process's fcntl lock. */
int	pidfile_check(const char *path, char *err, size_t errlen);
/* Unlink and close; in the owner only. */
void	pidfile_remove(struct pidfile *);
/* Close without unlinking (in a forked child). */
void	pidfile_forget(struct pidfile *);

/* Returns in the daemon child only. */
void	daemon_start(void);
/* Tell the waiting parent that start-up succeeded; redirect stdio. */
void	daemon_ready(void);

/* Best effort: give a forked child a process title ("octoBrain: webserv")
 * and a kernel name; needs proc_title_init() from main first. */
void	proc_title_init(int argc, char **argv);
void	proc_title(const char *progname, const char *role);

/* Raise RLIMIT_NOFILE to at least want (capped at the hard limit, or
 * raised with it when privileged). Returns the limit now in force. */
long	raise_nofile_limit(long want);

/* Drop to user (setgroups, setresgid, setresuid) and verify that root
 * cannot be regained. 0 or -1 with err. user NULL/"" = no drop. */
int	drop_privileges(const char *user, char *err, size_t errlen);

/* write(2) all of p (again after EINTR and short writes): 0, or -1 with
 * errno. */
int	fd_write_all(int fd, const void *p, size_t n);

#endif
