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
	struct evconnlistener	*listener;	/* freed at the end */
	/* After IPC_CONFIG_RELOAD updated the configuration (may be NULL:
	 * what reads it at each use needs nothing). */
	void			(*reloaded)(const struct brain_conf *);
};

/* handler may be NULL for a child that expects nothing from the maestro
 * but the end of the channel. */
int	child_loop_init(struct child_loop *, struct child_env *,
	    const char *role, ipc_handler handler, void *arg);
/* Run until the maestro goes away or SIGTERM; returns the exit status. */
int	child_loop_run(struct child_loop *);
/* With what confine_ROLE() returned: exit (fatal) if it failed; say at
 * debug what the kernel enforces. */
void	child_confine(int confine_result, const char *err);
/* Tell the maestro about a bad peer (counted, shown in /api/health). */
void	child_report(struct child_loop *, const char *kind, const char *peer,
	    const char *detail);

#endif
