/*
 * The WAL written back off the maestro's loop (issue 18). With SQLite's
 * own checkpoint off (db_open), the maestro asked for a passive one every
 * second on its loop's thread: at 10,000 tentacles kept alive (333
 * updates a second) that was 50 to 100 ms each second of copying pages
 * and two fdatasync, every API call waiting meanwhile (the lists' p99
 * under 50 clients: 100 ms against a p50 of 18).
 *
 * Now one thread with a connection of its own runs them: a passive
 * checkpoint takes no lock the maestro's writes need (WAL), so the loop
 * goes on. The thread touches nothing else: no other state, no log (it
 * counts what failed; db_walsync_ask says). As the KDF workers
 * (auth.h), it is joined before every fork and started again after.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "dbint.h"
#include "log.h"

static pthread_mutex_t	ws_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	ws_cond = PTHREAD_COND_INITIALIZER;

static struct {
	pthread_t	 thread;
	sqlite3		*h;		/* the thread's connection */
	int		 running;
	int		 stopping;
	int		 asked;
	unsigned long	 done, failed;	/* checkpoints */
	unsigned long	 failed_told;
} ws;

static void *
walsync_main(void *arg)
{
	int	log_frames, done_frames, rc;

	pthread_mutex_lock(&ws_lock);
	for (;;) {
		while (!ws.asked && !ws.stopping)
			pthread_cond_wait(&ws_cond, &ws_lock);
		if (ws.stopping)
			break;
		ws.asked = 0;
		pthread_mutex_unlock(&ws_lock);
		rc = sqlite3_wal_checkpoint_v2(ws.h, NULL,
		    SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done_frames);
		pthread_mutex_lock(&ws_lock);
		ws.done++;
		if (rc != SQLITE_OK && rc != SQLITE_BUSY)
			ws.failed++;
	}
	pthread_mutex_unlock(&ws_lock);
	return NULL;
}

int
db_walsync_start(struct db *db)
{
	const char	*path;
	sigset_t	 all, old;
	int		 rc;

	if (ws.running)
		return 0;
	if (ws.h == NULL) {
		if ((path = sqlite3_db_filename(db_handle(db), "main")) ==
		    NULL || path[0] == '\0')
			return -1;
		if (sqlite3_open_v2(path, &ws.h, SQLITE_OPEN_READWRITE |
		    SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK ||
		    sqlite3_exec(ws.h, "PRAGMA synchronous = NORMAL; "
		    "PRAGMA wal_autocheckpoint = 0", NULL, NULL, NULL) !=
		    SQLITE_OK) {
			log_warnx("database: the checkpoints' connection: %s",
			    ws.h ? sqlite3_errmsg(ws.h) : "cannot open");
			sqlite3_close(ws.h);
			ws.h = NULL;
			return -1;
		}
	}
	ws.stopping = 0;
	/* No signal for it: the maestro's loop takes them all. */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&ws.thread, NULL, walsync_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -1;
	ws.running = 1;
	return 0;
}

int
db_walsync_ask(void)
{
	unsigned long	failed;

	if (!ws.running)
		return -1;
	pthread_mutex_lock(&ws_lock);
	ws.asked = 1;
	failed = ws.failed;
	pthread_cond_signal(&ws_cond);
	pthread_mutex_unlock(&ws_lock);
	if (failed != ws.failed_told) {
		log_warnx("database: %lu checkpoints failed",
		    failed - ws.failed_told);
		ws.failed_told = failed;
	}
	return 0;
}

unsigned long
db_walsync_done(void)
{
	unsigned long	done;

	pthread_mutex_lock(&ws_lock);
	done = ws.done;
	pthread_mutex_unlock(&ws_lock);
	return done;
}

void
db_walsync_join(void)
{
	if (!ws.running)
		return;
	pthread_mutex_lock(&ws_lock);
	ws.stopping = 1;
	pthread_cond_signal(&ws_cond);
	pthread_mutex_unlock(&ws_lock);
	pthread_join(ws.thread, NULL);
	ws.running = 0;
}

void
db_walsync_stop(void)
{
	db_walsync_join();
	if (ws.h != NULL)
		sqlite3_close(ws.h);
	ws.h = NULL;
}
