/*
 * commander: on an admin's request connects to tentacles' 7001 to order a
 * script run, then disconnects; listens on 6001 for tentacles that deliver
 * results and hands them to the maestro for storage (report 2.4).
 *
 * This version runs the TLS listener with mutual TLS, the frame codec and
 * its limits; orders and results are not implemented yet, so any
 * frame is answered with an error and the connection closed.
 */
#include "brain.h"
#include "child.h"
#include "log.h"

static struct child_loop loop;

static int
peer_frame(struct conn *c, const struct wire_frame *f, void *arg)
{
	log_warnx("%s: %s frame refused: orders and results are not implemented yet",
	    conn_peer(c), wire_type_str(f->type));
	conn_fail(c, "orders and results are not implemented yet");
	return -1;
}

int
commander_main(struct child_env *env)
{
	if (child_loop_init(&loop, env, "commander", NULL, NULL) == -1 ||
	    child_accept_peers(&loop, env, peer_frame,
	    env->conf->max_tentacles) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->commander_port);
	return child_loop_run(&loop);
}
