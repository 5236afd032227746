/*
 * commander: on an admin's request connects to tentacles' 7001 to order a
 * script run, then disconnects; listens on 6001 for tentacles that deliver
 * results and hands them to the maestro for storage (report 2.4, 3.3).
 *
 * This version serves the authenticated PING on 6001 (a tentacle checks
 * that its brain knows it: `octoTentacle --ping`); orders and results come
 * with the next issue and are refused until then.
 */
#include <string.h>

#include "brain.h"
#include "buf.h"
#include "child.h"
#include "log.h"
#include "peer.h"

static struct child_loop loop;

static const struct peer_role commander_role = {
	.purposes = (1u << PURPOSE_PING),
	.on_authenticated = peer_send_status,
};

static void
maestro_says(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	if (msg->hdr.type == IPC_TENTACLE_KEY)
		peer_key_reply(msg);
	else
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(msg->hdr.type));
}

int
commander_main(struct child_env *env)
{
	if (child_loop_init(&loop, env, "commander", maestro_says, NULL) ==
	    -1 || peer_listen(&loop, env, &commander_role) == -1)
		fatalx("cannot set up the event loop");
	log_debug("listening on %s:%d", env->conf->listen_address,
	    env->conf->commander_port);
	return child_loop_run(&loop);
}
