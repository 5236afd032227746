/*
 * The job lifecycle's table (jobstate.h): pure, for the maestro's
 * database code and the unit tests.
 */
#include <string.h>

#include <bsd/string.h>

#include "jobstate.h"
#include "proto.h"

static const char *const names[JOB_STATE_MAX] = {
	[JOB_QUEUED] = "queued",
	[JOB_SENT] = "sent",
	[JOB_RUNNING] = "running",
	[JOB_DONE] = "done",
	[JOB_FAILED] = "failed",
	[JOB_TIMEOUT] = "timeout",
	[JOB_UNREACHABLE] = "unreachable",
	[JOB_REFUSED] = "refused",
	[JOB_EXPIRED] = "expired",
};

#define Q	JOB_STATE_BIT(JOB_QUEUED)
#define S	JOB_STATE_BIT(JOB_SENT)
#define R	JOB_STATE_BIT(JOB_RUNNING)
#define D	JOB_STATE_BIT(JOB_DONE)
#define F	JOB_STATE_BIT(JOB_FAILED)
#define T	JOB_STATE_BIT(JOB_TIMEOUT)
#define U	JOB_STATE_BIT(JOB_UNREACHABLE)
#define X	JOB_STATE_BIT(JOB_REFUSED)
#define E	JOB_STATE_BIT(JOB_EXPIRED)

/* From each state, the states it may go to. */
static const unsigned next[JOB_STATE_MAX] = {
	/* Sent; or what the commander or a result says (a result may
	 * arrive before "sent" is recorded); or its tentacle never came
	 * back before expires_at. */
	[JOB_QUEUED]	  = S | R | F | U | D | T | X | E,
	/* The tentacle took it, refused it or was not reached; or its
	 * result. */
	[JOB_SENT]	  = R | F | U | D | T | X | E,
	/* Its result; or lost with its tentacle (failed); or refused by
	 * the supervisor at the last check before exec. */
	[JOB_RUNNING]	  = D | F | T | X,
	[JOB_DONE]	  = 0,
	/* A result spooled on the tentacle replaces a failure. */
	[JOB_FAILED]	  = D | F | T,
	[JOB_TIMEOUT]	  = 0,
	/* The order got there after all: its result; or sent again when
	 * its tentacle is back (issue 16: a job waits for an offline or
	 * unreachable tentacle until expires_at, and is retried, not put
	 * back in the queue: "queued" stays "never handed out"); or it
	 * expired waiting for its tentacle. */
	[JOB_UNREACHABLE] = S | D | F | T | X | E,
	[JOB_REFUSED]	  = 0,
	[JOB_EXPIRED]	  = 0,
};

#undef Q
#undef S
#undef R
#undef D
#undef F
#undef T
#undef U
#undef X
#undef E

const char *
job_state_name(enum job_state s)
{
	return (unsigned)s < JOB_STATE_MAX ? names[s] : "unknown";
}

int
job_state_parse(const char *name, enum job_state *s)
{
	unsigned	i;

	for (i = 0; i < JOB_STATE_MAX; i++)
		if (strcmp(name, names[i]) == 0) {
			*s = (enum job_state)i;
			return 0;
		}
	return -1;
}

int
job_transition_allowed(enum job_state from, enum job_state to)
{
	if ((unsigned)from >= JOB_STATE_MAX || (unsigned)to >= JOB_STATE_MAX)
		return 0;
	return (next[from] & JOB_STATE_BIT(to)) != 0;
}

void
job_sources(enum job_state to, unsigned among, char *out)
{
	unsigned	i;

	strlcpy(out, ",", JOB_SOURCES_MAX);
	for (i = 0; i < JOB_STATE_MAX; i++)
		if ((among & JOB_STATE_BIT(i)) &&
		    job_transition_allowed((enum job_state)i, to)) {
			strlcat(out, names[i], JOB_SOURCES_MAX);
			strlcat(out, ",", JOB_SOURCES_MAX);
		}
}

int
job_state_pending(enum job_state s)
{
	return s == JOB_QUEUED || s == JOB_SENT || s == JOB_RUNNING;
}

enum job_state
job_state_of_outcome(int outcome)
{
	switch (outcome) {
	case OUTCOME_RAN:
		return JOB_DONE;
	case OUTCOME_TIMEOUT:
		return JOB_TIMEOUT;
	case OUTCOME_REFUSED:
		/* The supervisor would not run what is on the host. */
		return JOB_REFUSED;
	default:
		return JOB_FAILED;
	}
}
