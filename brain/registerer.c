/*
 * registerer: listens on 6000 for tentacles that ask to enrol, and (on an
 * admin's request routed by the maestro) connects to a tentacle's 7000 to
 * enrol it by address (report 2.4).
 *
 * This version runs the TLS listener with mutual TLS, the frame codec and
 * its limits; the enrolment exchange itself is not implemented yet, so any
 * frame is answered with an error and the connection closed.
 */
#include "brain.h"
#include "child.h"
#include "log.h"

static struct child_loop loop;

static int
peer_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	log_warnx("%s: %s frame refused: enrolment is not implemented yet",
	    conn_peer(c), wire_type_str(f->type));
	conn_fail(c, "enrolment is not implemented yet");
	return -1;
}

int
registerer_main(struct child_env *env)
{
	if (child_loop_init(&loop, env, "registerer", NULL, NULL) == -1 ||
	    child_accept_peers(&loop, env, peer_frame,
	    env->conf->max_tentacles) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->registerer_port);
	return child_loop_run(&loop);
}
