/*
 * The WAL written back to the database by a thread of the maestro's with
 * a connection of its own (issue 16): a checkpoint waits for the disk
 * (tens of ms, 108 ms seen in make bench's retention), and the maestro's
 * loop must not. SQLite's passive checkpoint runs beside the maestro's
 * writes on the same file (it takes no writer's lock).
 */
#ifndef OCTO_BRAIN_DBCHECKPOINT_H
#define OCTO_BRAIN_DBCHECKPOINT_H

#include <stdint.h>

struct event_base;

struct db_ckpt_report {
	int		rc;		/* 0, or -1 with err */
	int		frames;		/* WAL frames written back */
	int64_t		ms;		/* the checkpoint's wall time */
	char		err[160];
};

typedef void	(*db_ckpt_done)(const struct db_ckpt_report *);

/* Opens the thread's connection to the database at path (the maestro's,
 * migrated and in WAL mode) and starts the thread; done runs in base's
 * loop with each checkpoint's report. -1 (err said) when it cannot. */
int	db_checkpointer_start(const char *path, struct event_base *base,
	    db_ckpt_done done, char *err, size_t errlen);
/* Asks for a checkpoint: 0 asked, 1 one is already asked or running (its
 * report will come), -1 no thread. Never waits. */
int	db_checkpointer_kick(void);
/* A checkpoint asked and not yet reported. */
int	db_checkpointer_busy(void);
/* Around fork(): no lock of malloc or SQLite may be held by the thread
 * when the process forks (waits for a checkpoint under way to end). */
void	db_checkpointer_fork_lock(void);
void	db_checkpointer_fork_unlock(void);
/* Ends the thread (after the checkpoint under way) and closes its
 * connection: before the maestro closes its own. */
void	db_checkpointer_stop(void);

#endif
