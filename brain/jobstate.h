/*
 * A job's lifecycle: its states and the transitions allowed between them,
 * in one table (jobstate.c). Every change of a job's state in the database
 * is guarded by that table (db.c binds job_sources() into its UPDATEs);
 * the names are for the database and the API only.
 *
 *	queued ──> sent ──> running ──> done | failed | timeout
 *	   │         │         └──────> failed (lost: the tentacle restarted
 *	   │         │                  or went offline)
 *	   └─────────┴──> failed | unreachable ──> done | failed | timeout
 *	                                │         (its result came after all)
 *	                                └──> sent (retried: its tentacle is
 *	                                     back before expires_at)
 *	queued | sent | unreachable ──> expired (expires_at passed)
 *
 * done and timeout are final; a job that has its result keeps the state
 * the result gave it (db.c checks that too).
 */
#ifndef OCTO_JOBSTATE_H
#define OCTO_JOBSTATE_H

#include <stddef.h>

enum job_state {
	JOB_QUEUED,		/* created, not yet handed to the commander */
	JOB_SENT,		/* handed to the commander */
	JOB_RUNNING,		/* the tentacle acknowledged the order */
	JOB_DONE,		/* its result: the script ran */
	JOB_FAILED,		/* refused, lost, or could not be run */
	JOB_TIMEOUT,		/* its result: killed at the time limit */
	JOB_UNREACHABLE,	/* the commander could not reach the tentacle */
	JOB_REFUSED,		/* the tentacle would not run it (e.g. the
				 * script on the host is not the one ordered) */
	JOB_EXPIRED,		/* still waiting for its tentacle at expires_at */
	JOB_STATE_MAX
};

/* Every state's bit, for sets of states. */
#define JOB_STATE_BIT(s)	(1u << (s))
#define JOB_STATES_ALL		(JOB_STATE_BIT(JOB_STATE_MAX) - 1)

/* ",queued,sent,running,done,failed,timeout,unreachable," and its NUL. */
#define JOB_SOURCES_MAX		96

const char	*job_state_name(enum job_state);
/* 0 and *s, or -1 if name is no state. */
int		 job_state_parse(const char *name, enum job_state *s);
int		 job_transition_allowed(enum job_state from, enum job_state to);
/*
 * The states in among (a set of JOB_STATE_BITs) from which a job may
 * go to `to`, as ",name,name," for a guard in SQL
 * (instr(?, ',' || state || ',') > 0); "," when there is none. out has
 * JOB_SOURCES_MAX bytes.
 */
void		 job_sources(enum job_state to, unsigned among, char *out);
/* Queued, sent or running: the tentacle has more to say. */
int		 job_state_pending(enum job_state);
/* The state a result gives its job (enum outcome of proto.h). */
enum job_state	 job_state_of_outcome(int outcome);

#endif
