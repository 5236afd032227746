/*
 * The checkpointer (dbcheckpoint.h): one thread, one SQLite connection
 * of its own (the maestro's never leaves the maestro's thread), asked
 * through a flag under a mutex and answering through a pipe that the
 * maestro's loop watches, as the KDF workers do (auth.c). The thread logs
 * nothing and touches nothing of the maestro's: its report says it all.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <sqlite3.h>

#include "dbcheckpoint.h"

static struct {
	sqlite3		*h;
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 mu;		/* asked, stopping */
	pthread_cond_t	 cond;
	int		 asked, stopping;
	/* Held by the thread while it works (SQLite, malloc): fork waits. */
	pthread_mutex_t	 work;
	int		 pipe[2];
	struct event	*ev;
	db_ckpt_done	 done;
	int		 busy;		/* the maestro's thread only */
} ck = {
	.mu = PTHREAD_MUTEX_INITIALIZER,
	.cond = PTHREAD_COND_INITIALIZER,
	.work = PTHREAD_MUTEX_INITIALIZER,
	.pipe = { -1, -1 },
};

static int64_t
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void *
checkpointer(void *arg)
{
	struct db_ckpt_report	rep;
	int64_t			t0;
	int			log, done, rc;

	for (;;) {
		pthread_mutex_lock(&ck.mu);
		while (!ck.asked && !ck.stopping)
			pthread_cond_wait(&ck.cond, &ck.mu);
		if (ck.stopping) {
			pthread_mutex_unlock(&ck.mu);
			return NULL;
		}
		ck.asked = 0;
		pthread_mutex_unlock(&ck.mu);

		pthread_mutex_lock(&ck.work);
		memset(&rep, 0, sizeof(rep));
		log = done = 0;
		t0 = mono_ms();
		rc = sqlite3_wal_checkpoint_v2(ck.h, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log, &done);
		rep.ms = mono_ms() - t0;
		/* BUSY: another checkpointer (the sqlite3 shell) holds it. */
		if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
			rep.rc = -1;
			strlcpy(rep.err, sqlite3_errmsg(ck.h), sizeof(rep.err));
		}
		rep.frames = done > 0 ? done : 0;
		/* Smaller than PIPE_BUF: one atomic write. */
		while (write(ck.pipe[1], &rep, sizeof(rep)) == -1 &&
		    errno == EINTR)
			;
		pthread_mutex_unlock(&ck.work);
	}
}

static void
reported(evutil_socket_t fd, short events, void *arg)
{
	struct db_ckpt_report	rep;

	while (read(fd, &rep, sizeof(rep)) == sizeof(rep)) {
		ck.busy = 0;
		if (ck.done != NULL)
			ck.done(&rep);
	}
}

int
db_checkpointer_start(const char *path, struct event_base *base,
    db_ckpt_done done, char *err, size_t errlen)
{
	sqlite3_stmt	*st = NULL;

	if (sqlite3_open_v2(path, &ck.h, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, ck.h != NULL ?
		    sqlite3_errmsg(ck.h) : "out of memory");
		goto fail;
	}
	/* A short wait for a lock the maestro holds a moment (in this
	 * thread: the loop goes on); past it, the rest at the next ask. */
	sqlite3_busy_timeout(ck.h, 200);
	/* A connection opens the log at its first read: until then its
	 * checkpoints would do nothing. */
	if (sqlite3_prepare_v2(ck.h, "PRAGMA journal_mode", -1, &st, NULL) !=
	    SQLITE_OK || sqlite3_step(st) != SQLITE_ROW ||
	    sqlite3_column_text(st, 0) == NULL ||
	    strcmp((const char *)sqlite3_column_text(st, 0), "wal") != 0) {
		snprintf(err, errlen, "%s: not in WAL mode (%s)", path,
		    sqlite3_errmsg(ck.h));
		sqlite3_finalize(st);
		goto fail;
	}
	sqlite3_finalize(st);
	if (pipe2(ck.pipe, O_CLOEXEC) == -1 ||
	    fcntl(ck.pipe[0], F_SETFL, O_NONBLOCK) == -1) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		goto fail;
	}
	ck.done = done;
	ck.ev = event_new(base, ck.pipe[0], EV_READ | EV_PERSIST, reported,
	    NULL);
	if (ck.ev == NULL || event_add(ck.ev, NULL) == -1) {
		snprintf(err, errlen, "cannot watch its pipe");
		goto fail;
	}
	ck.asked = ck.stopping = ck.busy = 0;
	if ((errno = pthread_create(&ck.thread, NULL, checkpointer,
	    NULL)) != 0) {
		snprintf(err, errlen, "pthread_create: %s", strerror(errno));
		goto fail;
	}
	ck.running = 1;
	return 0;
fail:
	db_checkpointer_stop();
	return -1;
}

int
db_checkpointer_kick(void)
{
	if (!ck.running)
		return -1;
	if (ck.busy)
		return 1;
	ck.busy = 1;
	pthread_mutex_lock(&ck.mu);
	ck.asked = 1;
	pthread_cond_signal(&ck.cond);
	pthread_mutex_unlock(&ck.mu);
	return 0;
}

int
db_checkpointer_busy(void)
{
	return ck.running && ck.busy;
}

void
db_checkpointer_fork_lock(void)
{
	pthread_mutex_lock(&ck.work);
}

void
db_checkpointer_fork_unlock(void)
{
	pthread_mutex_unlock(&ck.work);
}

void
db_checkpointer_stop(void)
{
	if (ck.running) {
		pthread_mutex_lock(&ck.mu);
		ck.stopping = 1;
		pthread_cond_signal(&ck.cond);
		pthread_mutex_unlock(&ck.mu);
		pthread_join(ck.thread, NULL);
		ck.running = 0;
	}
	if (ck.ev != NULL)
		event_free(ck.ev);
	ck.ev = NULL;
	if (ck.h != NULL)
		sqlite3_close(ck.h);
	ck.h = NULL;
	if (ck.pipe[0] != -1)
		close(ck.pipe[0]);
	if (ck.pipe[1] != -1)
		close(ck.pipe[1]);
	ck.pipe[0] = ck.pipe[1] = -1;
	ck.busy = ck.asked = 0;
}
