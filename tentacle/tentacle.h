/*
 * What the tentacle's processes share: the configuration and the child
 * roles. The supervisor (tentacle.c) binds the listening socket and loads
 * the TLS context, then forks one child: the register (register.c, TLS on
 * 7000 while not enrolled) or the command worker (commandworker.c, TLS on
 * 7001 once enrolled).
 */
#ifndef OCTO_TENTACLE_H
#define OCTO_TENTACLE_H

#include <openssl/ssl.h>

#include "config.h"
#include "limits.h"

#define TENTACLE_PROGNAME	"octoTentacle"
#define TENTACLE_CONFIG_FILE	"/etc/octopus/tentacle.conf"

/* Connections one child serves at once. A brain talks to a tentacle one
 * connection at a time (an enrolment, an order, a ping), so 64 leaves room
 * for retries and half-dead peers while bounding the memory and the
 * descriptors a flood of connections can take. */
#define TENTACLE_CONN_MAX	64

/* An enrolment token as given with -t / --token-file: the brain makes
 * 256-bit tokens (64 hex digits); the bound leaves room for a prefix. */
#define TENTACLE_TOKEN_MAX	(2 * OCTO_TOKEN_HEX_LEN)

/* The file whose presence says "enrolled" (written by the enrolment). */
#define TENTACLE_ENROLMENT_FILE	"enrolment"

struct tentacle_conf {
	char		name[OCTO_NAME_MAX];		/* "" = hostname */
	char		brain[OCTO_ADDR_MAX];		/* "" = wait to be enrolled */
	int		brain_registerer_port;
	int		brain_commander_port;
	char		listen_address[OCTO_ADDR_MAX];	/* 7000 and 7001 */
	int		register_port;
	int		command_port;
	char		state_dir[OCTO_PATH_MAX];
	char		cert[OCTO_PATH_MAX];	/* "" = state_dir/tentacle.crt */
	char		key[OCTO_PATH_MAX];	/* "" = state_dir/tentacle.key */
	char		pidfile[OCTO_PATH_MAX];
	char		scripts_dir[OCTO_PATH_MAX];
	char		spool_dir[OCTO_PATH_MAX];	/* "" = state_dir/spool */
	long long	io_timeout;		/* s per TLS step / frame */

	/* Command line only, never in the file nor in config_dump(). */
	char		token[TENTACLE_TOKEN_MAX + 1];	/* secret */
	int		reenrol;
};

extern const struct config_key tentacle_config_keys[];
void	tentacle_config_defaults(struct tentacle_conf *);
/* Fill the "" paths from state_dir. */
void	tentacle_config_finish(struct tentacle_conf *);
/* Checks the table cannot express; -1 with the reason in err. */
int	tentacle_config_check(const struct tentacle_conf *, char *err,
	    size_t errlen);

enum tentacle_role {
	ROLE_REGISTER,		/* not enrolled: listen on register_port */
	ROLE_COMMAND,		/* enrolled: listen on command_port */
};

/* What a child gets from the supervisor when it is forked. */
struct tentacle_child {
	const struct tentacle_conf	*conf;
	enum tentacle_role		 role;
	int				 listen_fd;	/* its listening socket */
	SSL_CTX				*tls;		/* TLS_PEER_SERVER */
};

/* Child entry points; each returns only to exit, with the exit status. */
int	register_main(struct tentacle_child *);
int	commandworker_main(struct tentacle_child *);

/*
 * The part both children share (listener.c): accept on the inherited
 * socket, wrap each connection in conn_accept() up to TENTACLE_CONN_MAX,
 * log each connection and how it ended, and hand whole frames to the
 * role's protocol. Runs the event loop; returns the exit status.
 */
struct conn;
struct wire_frame;
struct tentacle_proto {
	/* A whole frame from an established peer: 0 keep reading, -1 close
	 * (see conn_cbs.on_frame). */
	int	(*on_frame)(struct conn *, const struct wire_frame *,
		    void *arg);
	void	*arg;
};
int	listener_run(struct tentacle_child *, const struct tentacle_proto *);

#endif
