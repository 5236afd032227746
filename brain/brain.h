/*
 * What the brain's processes share: the configuration, the child roles,
 * and the API operations the webserv asks of the maestro.
 */
#ifndef OCTO_BRAIN_H
#define OCTO_BRAIN_H

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "apiops.h"
#include "config.h"
#include "limits.h"

struct brain_conf {
	char		listen_address[OCTO_ADDR_MAX];	/* 6000 and 6001 */
	int		registerer_port;
	int		commander_port;
	char		web_address[OCTO_ADDR_MAX];
	int		web_port;
	char		web_root[OCTO_PATH_MAX];
	char		state_dir[OCTO_PATH_MAX];
	char		database[OCTO_PATH_MAX];	/* "" = state_dir/brain.db */
	char		cert[OCTO_PATH_MAX];		/* "" = state_dir/brain.crt */
	char		key[OCTO_PATH_MAX];		/* "" = state_dir/brain.key */
	char		web_cert[OCTO_PATH_MAX];	/* "" = cert */
	char		web_key[OCTO_PATH_MAX];		/* "" = key */
	char		pidfile[OCTO_PATH_MAX];
	char		user[OCTO_NAME_MAX];		/* "" = no privilege drop */
	long long	session_timeout;		/* s without user request */
	long long	login_attempts;			/* per address and window */
	long long	login_window;			/* s */
	long long	kdf_iterations;
	long long	max_tentacles;			/* sizes RLIMIT_NOFILE */
	long long	io_timeout;			/* s per TLS step / frame */
	long long	restart_delay_max;		/* s, child restart backoff */
	long long	keepalive_interval;		/* s between pings */
	long long	keepalive_misses;		/* in a row: offline */
	char		checks_file[OCTO_PATH_MAX];	/* findings.h */
};

extern const struct config_key brain_config_keys[];
void	brain_config_defaults(struct brain_conf *);
/* Fill the "" paths from state_dir; -1 if one would be too long. */
int	brain_config_finish(struct brain_conf *);

/* What each child gets from the maestro when it is forked. */
struct child_env {
	const struct brain_conf	*conf;
	int			 ipc_fd;	/* socketpair to the maestro */
	int			 listen_fd;	/* its listening socket */
	SSL_CTX			*tls;		/* its server TLS context */
	SSL_CTX			*tls_client;	/* to connect to tentacles */
	int			 webroot_fd;	/* webserv: O_PATH dir of web/ */
};

/* Child entry points; each returns only to exit. */
int	webserv_main(struct child_env *);
int	registerer_main(struct child_env *);
int	commander_main(struct child_env *);

/*
 * IPC_API_CALL payload, built by the webserv after it parsed the HTTP
 * request, checked by the maestro (the single point of access control):
 *	str session, u8 background, str csrf, str client address, u32 op,
 *	then the op's arguments.
 * The maestro answers IPC_API_REPLY with the same id:
 *	u32 http status, str json body, str cookie ("" = leave, "-" = clear)
 */
/* The operations, their routes, roles and arguments: apiops.h. */

/* Bounds the webserv checks before asking, and the maestro again. */
#define TOKEN_EXPIRES_MAX	(365L * 24 * 3600)
#define TOKEN_USES_MAX		100000
#define RUN_TENTACLES_MAX	10000	/* IDs listed in one run request */
#define AUDIT_LIMIT_DEFAULT	200	/* events per GET /api/audit */
#define AUDIT_LIMIT_MAX		1000

/* IPC_AUTH_LOGIN payload: str client address, str user, str password.
 * Reply: IPC_API_REPLY with the session key in the cookie field. */

/*
 * Enrolment between registerer and maestro (id = the registerer's
 * connection number):
 *   IPC_ENROL_REQUEST  u32 offer (0: the tentacle came to 6000), str TCP
 *                      source, str TLS peer fingerprint, bytes the
 *                      ENROL_REQUEST frame's payload (decoded again by the
 *                      maestro with proto_decode_enrol_request)
 *   IPC_ENROL_REPLY    u8 ok, str error, u8 status, u64 id, bytes key
 * Enrolment by address (id = the maestro's offer number):
 *   IPC_ENROL_OFFER       str address, u32 port
 *   IPC_ENROL_OFFER_DONE  u8 ok, u64 tentacle id, u32 http status, str error
 * Handshake key lookup (registerer, commander; id = connection number):
 *   IPC_TENTACLE_LOOKUP   u64 tentacle id
 *   IPC_TENTACLE_KEY      u8 found, bytes key, str fingerprint, u8 enrolment
 * Runs (maestro <-> commander):
 *   IPC_RUN_ORDER      u64 job, u64 tentacle, str address, u32 port,
 *                      str fingerprint, bytes key, str script
 *   IPC_JOB_STATE      u64 job, str state (running|failed|unreachable),
 *                      str message
 *   IPC_RESULT_STORE   (id = connection) u64 tentacle, bytes the RESULT
 *                      frame's payload (decoded again by the maestro)
 *   IPC_RESULT_STORED  (id = connection) u8 status, u64 job, str error;
 *                      status 0 stored (committed), 1 not stored, try
 *                      again later (database error), 2 refused for good
 *                      (malformed, or a job this tentacle was never
 *                      given: error says why)
 * Keepalive (maestro <-> commander):
 *   IPC_KEEPALIVE        as IPC_RUN_ORDER with job 0 and script ""
 *   IPC_TENTACLE_SEEN    u64 tentacle, bytes the INVENTORY frame's payload
 *                        (empty: it answered without one)
 *   IPC_TENTACLE_MISSED  u64 tentacle, str reason
 */

#endif
