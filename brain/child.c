/*
 * The part of webserv, registerer and commander that is the same for all
 * three: set up a loop of their own and leave when the maestro does.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <event2/listener.h>

#include "buf.h"
#include "child.h"
#include "confine.h"
#include "log.h"
#include "pack.h"

static void
child_ipc_closed(struct ipc_chan *chan, const char *reason, void *arg)
{
	struct child_loop	*cl = arg;

	log_debug("channel to the maestro closed (%s): exiting", reason);
	event_base_loopexit(cl->base, NULL);
}

static void
child_dispatch(struct ipc_chan *chan, const struct ipc_msg *m, void *arg)
{
	struct child_loop	*cl = arg;

	if (cl->handler)
		cl->handler(chan, m, cl->handler_arg);
	else
		log_debug("ignoring %s from the maestro",
		    ipc_type_str(m->hdr.type));
}

int
child_loop_init(struct child_loop *cl, struct child_env *env,
    const char *role, ipc_handler handler, void *arg)
{
	memset(cl, 0, sizeof(*cl));
	cl->role = role;
	if ((cl->base = event_base_new()) == NULL)
		return -1;
	cl->handler = handler;
	cl->handler_arg = arg;
	cl->chan = ipc_chan_new(cl->base, env->ipc_fd, child_dispatch,
	    child_ipc_closed, cl);
	if (cl->chan == NULL)
		return -1;
	/* No signal events here: libevent lets only one base per process
	 * own signals, and the maestro's base came with the fork. SIGTERM's
	 * default action is what a child needs; the usual way out is the
	 * maestro closing the channel. */
	return 0;
}

int
child_loop_run(struct child_loop *cl)
{
	event_base_dispatch(cl->base);
	log_debug("exiting");
	if (cl->listener)
		evconnlistener_free(cl->listener);
	return 0;
}

void
child_confine(int confine_result, const char *err)
{
	if (confine_result == -1)
		fatalx("cannot confine this process: %s", err);
	if (confine_result > 0)
		log_debug("confined: seccomp, landlock ABI %d", confine_result);
	else
		log_debug("confined: seccomp only (no landlock)");
}

void
child_report(struct child_loop *cl, const char *kind, const char *peer,
    const char *detail)
{
	struct buf	b;
	struct packer	p;

	buf_init(&b, IPC_PAYLOAD_MAX);
	pack_init(&p, &b);
	pack_str(&p, kind);
	pack_str(&p, peer);
	pack_str(&p, detail);
	if (pack_error(&p) == 0)
		ipc_send(cl->chan, IPC_LOG_EVENT, 0, b.data, b.len);
	buf_free(&b);
}
