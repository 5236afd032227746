/*
 * What every child of the maestro does the same way: a fresh event loop,
 * default signal dispositions, the IPC channel to the maestro, and exit
 * when that channel closes (the maestro is gone or dropped us).
 */
#ifndef OCTO_CHILD_H
#define OCTO_CHILD_H

#include "brain.h"
#include "conn.h"
#include "ipc.h"

struct child_loop {
	struct event_base	*base;
	struct ipc_chan		*chan;
	const char		*role;
	ipc_handler		 handler;	/* messages from the maestro */
	void			*handler_arg;
	struct evconnlistener	*listener;
	struct conn_cbs		 peer_cbs;
	long			 peers, peer_limit;
	struct child_env	*env;
};

/* handler may be NULL for a child that expects nothing from the maestro
 * but the end of the channel. */
int	child_loop_init(struct child_loop *, struct child_env *,
	    const char *role, ipc_handler handler, void *arg);
/* Run until the maestro goes away or SIGTERM; returns the exit status. */
int	child_loop_run(struct child_loop *);
/*
 * Accept TLS peers (tentacles) on the inherited listening socket, at most
 * `limit` at once (more are closed at accept, with a log line). Whole
 * frames go to on_frame (arg: the child_loop); failures (TLS errors, bad
 * frames) are logged with the peer and counted by the maestro.
 */
typedef int (*peer_frame_fn)(struct conn *, const struct wire_frame *,
	    void *);
int	child_accept_peers(struct child_loop *, struct child_env *,
	    peer_frame_fn on_frame, long limit);

/* Tell the maestro about a bad peer (counted, shown in /api/health). */
void	child_report(struct child_loop *, const char *kind, const char *peer,
	    const char *detail);

#endif
