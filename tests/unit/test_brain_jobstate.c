/* The job lifecycle's table (brain/jobstate.h): names, transitions, the
 * guards db.c binds into its SQL. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "jobstate.h"
#include "proto.h"

static void
test_names(void **state)
{
	enum job_state	s, t;
	unsigned	i, j;

	for (i = 0; i < JOB_STATE_MAX; i++) {
		assert_int_equal(job_state_parse(job_state_name(i), &s), 0);
		assert_int_equal(s, i);
		for (j = 0; j < i; j++)
			assert_string_not_equal(job_state_name(i),
			    job_state_name(j));
	}
	assert_string_equal(job_state_name(JOB_QUEUED), "queued");
	assert_string_equal(job_state_name(JOB_UNREACHABLE), "unreachable");
	assert_string_equal(job_state_name(JOB_STATE_MAX), "unknown");
	t = JOB_DONE;
	assert_int_equal(job_state_parse("Running", &t), -1);
	assert_int_equal(job_state_parse("", &t), -1);
	assert_int_equal(job_state_parse("unknown", &t), -1);
	assert_int_equal(job_state_parse("running ", &t), -1);
	assert_int_equal(t, JOB_DONE);		/* untouched on failure */
}

static void
test_transitions(void **state)
{
	unsigned	i;

	/* The way a job goes when all is well. */
	assert_true(job_transition_allowed(JOB_QUEUED, JOB_SENT));
	assert_true(job_transition_allowed(JOB_SENT, JOB_RUNNING));
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_DONE));
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_TIMEOUT));
	/* Lost with its tentacle; refused; not reached. */
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_FAILED));
	assert_true(job_transition_allowed(JOB_SENT, JOB_FAILED));
	assert_true(job_transition_allowed(JOB_SENT, JOB_UNREACHABLE));
	/* A result that comes after all replaces a failure. */
	assert_true(job_transition_allowed(JOB_UNREACHABLE, JOB_DONE));
	assert_true(job_transition_allowed(JOB_FAILED, JOB_DONE));
	/* Refused by the tentacle (a script that is not the one ordered),
	 * up to its last check before exec; expired while it waited for
	 * its tentacle, never once the tentacle took it. */
	assert_true(job_transition_allowed(JOB_SENT, JOB_REFUSED));
	assert_true(job_transition_allowed(JOB_RUNNING, JOB_REFUSED));
	assert_true(job_transition_allowed(JOB_QUEUED, JOB_EXPIRED));
	assert_true(job_transition_allowed(JOB_UNREACHABLE, JOB_EXPIRED));
	assert_false(job_transition_allowed(JOB_RUNNING, JOB_EXPIRED));
	assert_false(job_transition_allowed(JOB_DONE, JOB_REFUSED));
	/* Not reached: sent again when its tentacle is back (issue 16),
	 * never put back in the queue. */
	assert_true(job_transition_allowed(JOB_UNREACHABLE, JOB_SENT));
	assert_false(job_transition_allowed(JOB_UNREACHABLE, JOB_QUEUED));

	/* Never back to queued, nor to sent from further on but to retry
	 * an unreachable one; never running again once it ended, nothing
	 * out of done and timeout. */
	for (i = 0; i < JOB_STATE_MAX; i++) {
		assert_false(job_transition_allowed(i, JOB_QUEUED));
		assert_false(job_transition_allowed(JOB_DONE, i));
		assert_false(job_transition_allowed(JOB_TIMEOUT, i));
		assert_false(job_transition_allowed(JOB_REFUSED, i));
		assert_false(job_transition_allowed(JOB_EXPIRED, i));
		if (i != JOB_QUEUED && i != JOB_UNREACHABLE)
			assert_false(job_transition_allowed(i, JOB_SENT));
		if (i != JOB_QUEUED && i != JOB_SENT)
			assert_false(job_transition_allowed(i, JOB_RUNNING));
	}
	assert_false(job_transition_allowed(JOB_RUNNING, JOB_UNREACHABLE));
	assert_false(job_transition_allowed(JOB_FAILED, JOB_UNREACHABLE));
	assert_false(job_transition_allowed(JOB_STATE_MAX, JOB_DONE));
	assert_false(job_transition_allowed(JOB_QUEUED, JOB_STATE_MAX));
	assert_false(job_transition_allowed((enum job_state)-1, JOB_DONE));
}

/* Every state can be reached from queued, in the order of the enum's
 * lifecycle: no state is left without a way in. */
static void
test_reachable(void **state)
{
	unsigned	seen = JOB_STATE_BIT(JOB_QUEUED), before, i, j;

	do {
		before = seen;
		for (i = 0; i < JOB_STATE_MAX; i++)
			for (j = 0; j < JOB_STATE_MAX; j++)
				if ((seen & JOB_STATE_BIT(i)) &&
				    job_transition_allowed(i, j))
					seen |= JOB_STATE_BIT(j);
	} while (seen != before);
	assert_int_equal(seen, JOB_STATES_ALL);
}

static void
test_sources(void **state)
{
	char	out[JOB_SOURCES_MAX];
	char	all[JOB_SOURCES_MAX] = ",";
	unsigned i;

	job_sources(JOB_SENT, JOB_STATES_ALL, out);
	assert_string_equal(out, ",queued,unreachable,");
	job_sources(JOB_SENT, JOB_STATE_BIT(JOB_QUEUED), out);
	assert_string_equal(out, ",queued,");
	job_sources(JOB_RUNNING, JOB_STATES_ALL, out);
	assert_string_equal(out, ",queued,sent,");
	job_sources(JOB_FAILED, JOB_STATE_BIT(JOB_RUNNING), out);
	assert_string_equal(out, ",running,");
	job_sources(JOB_DONE, JOB_STATES_ALL, out);
	assert_string_equal(out, ",queued,sent,running,failed,unreachable,");
	job_sources(JOB_QUEUED, JOB_STATES_ALL, out);
	assert_string_equal(out, ",");
	job_sources(JOB_UNREACHABLE, JOB_STATE_BIT(JOB_DONE), out);
	assert_string_equal(out, ",");
	/* Every name at once fits. */
	for (i = 0; i < JOB_STATE_MAX; i++) {
		strcat(all, job_state_name(i));
		strcat(all, ",");
	}
	assert_true(strlen(all) < JOB_SOURCES_MAX);
}

static void
test_outcomes(void **state)
{
	assert_int_equal(job_state_of_outcome(OUTCOME_RAN), JOB_DONE);
	assert_int_equal(job_state_of_outcome(OUTCOME_TIMEOUT), JOB_TIMEOUT);
	assert_int_equal(job_state_of_outcome(OUTCOME_FAILED), JOB_FAILED);
	/* Issue 14: not the script ordered: the job ends refused. */
	assert_int_equal(job_state_of_outcome(OUTCOME_REFUSED), JOB_REFUSED);
	assert_int_equal(job_state_of_outcome(0), JOB_FAILED);
	assert_int_equal(job_state_of_outcome(OUTCOME_MAX), JOB_FAILED);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_transitions),
		cmocka_unit_test(test_reachable),
		cmocka_unit_test(test_sources),
		cmocka_unit_test(test_outcomes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
