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
#include "export.h"
#include "limits.h"

struct brain_conf {
	char		listen_address[OCTO_ADDR_MAX];	/* 6000 and 6001 */
	/* Told to tentacles enrolled by address ("" = none: they use the
	 * address the brain's connection came from). */
	char		advertise_address[OCTO_ADDR_MAX];
	int		registerer_port;
	int		commander_port;
	char		web_address[OCTO_ADDR_MAX];
	int		web_port;
	char		web_root[OCTO_PATH_MAX];
	char		state_dir[OCTO_PATH_MAX];
	char		database[OCTO_PATH_MAX];	/* "" = state_dir/brain.db */
	char		cert[OCTO_PATH_MAX];		/* "" = state_dir/brain.crt */
	char		key[OCTO_PATH_MAX];		/* "" = state_dir/brain.key */
	char		web_cert[OCTO_PATH_MAX];	/* "" = state_dir/web.crt */
	char		web_key[OCTO_PATH_MAX];		/* "" = state_dir/web.key */
	char		pidfile[OCTO_PATH_MAX];
	char		user[OCTO_NAME_MAX];		/* "" = no privilege drop */
	/* Started as root with user set: each child runs as its own user
	 * (if it exists; else as user). */
	char		webserv_user[OCTO_NAME_MAX];
	char		registerer_user[OCTO_NAME_MAX];
	char		commander_user[OCTO_NAME_MAX];
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
	char		enrolment_without_token[16];	/* pending, refuse */
	long long	pending_max;			/* pending tentacles */
	long long	enrolment_rate;			/* token-less requests
							   per address, minute */
	char		totp_required[16];		/* none, admin, all */
	/* export (issue 17; brain/export.h) */
	char		brain_name[OCTO_NAME_MAX];	/* "" = the host name */
	char		exporter_user[OCTO_NAME_MAX];
	char		syslog_target[EXPORT_HOST_MAX + 8];	/* HOST:PORT */
	char		syslog_ca[OCTO_PATH_MAX];
	char		syslog_cert[OCTO_PATH_MAX];
	char		syslog_key[OCTO_PATH_MAX];
	char		webhook_url[EXPORT_HOST_MAX + EXPORT_PATH_MAX + 16];
	char		webhook_ca[OCTO_PATH_MAX];	/* "" = the system's */
	char		webhook_secret_file[OCTO_PATH_MAX];
	long long	export_queue_max;		/* events kept */
	char		metrics_token_file[OCTO_PATH_MAX];	/* GET /metrics */
	long long	ledger_checkpoint_interval;	/* s */
	long long	test_ledger_verify_interval;	/* s; 0: daily */
	long long	retention_days;			/* results, runs */
	long long	audit_retention_days;
};

extern const struct config_key brain_config_keys[];
void	brain_config_defaults(struct brain_conf *);
/* Fill the "" paths from state_dir; -1 if one would be too long. */
int	brain_config_finish(struct brain_conf *);

/*
 * A child is executed afresh (`octoBrain --child ROLE`, its own address
 * space), holding only these descriptors; its configuration and the TLS
 * credentials of its port come as IPC_CHILD_INIT on its channel.
 */
#define CHILD_FD_IPC		3	/* the socketpair to the maestro */
#define CHILD_FD_LISTEN		4	/* its listening socket */
#define CHILD_FD_WEBROOT	5	/* webserv: O_PATH directory web_root */

/* What each child has once set up (child.c: child_exec_main). */
struct child_env {
	const struct brain_conf	*conf;
	int			 ipc_fd;	/* socketpair to the maestro */
	int			 listen_fd;	/* its listening socket */
	SSL_CTX			*tls;		/* its server TLS context */
	SSL_CTX			*tls_client;	/* to connect to tentacles */
	int			 webroot_fd;	/* webserv: O_PATH dir of web/ */
};

/* The executed child's start: read IPC_CHILD_INIT, build its TLS
 * contexts, then run entry (child.c). Returns the exit status. */
int	child_exec_main(const char *role, int (*entry)(struct child_env *),
	    int foreground, int verbose);

/* Child entry points; each returns only to exit. */
int	webserv_main(struct child_env *);
int	registerer_main(struct child_env *);
int	commander_main(struct child_env *);
int	exporter_main(struct child_env *);

/*
 * IPC_API_CALL payload, built by the webserv after it parsed the HTTP
 * request, checked by the maestro (the single point of access control):
 *	str session, u8 background, str csrf, str client address, u32 op,
 *	then the op's arguments.
 * The maestro answers IPC_API_REPLY with the same id (struct
 * ipc_api_reply, brain/ipcmsg.h: status, JSON body, cookie).
 */
/* The operations, their routes, roles and arguments: apiops.h. */

/* Bounds the webserv checks before asking, and the maestro again. */
#define TOKEN_EXPIRES_MAX	(365L * 24 * 3600)
#define TOKEN_USES_MAX		100000
#define RUN_TENTACLES_MAX	10000	/* IDs listed in one run request */
/* How long a job waits for an offline tentacle: a day by default (a
 * host rebooted, a laptop away for the night), at most a year (SPEC
 * "expires_in"). */
#define RUN_EXPIRES_DEFAULT	86400
#define RUN_EXPIRES_MAX		(366LL * 86400)
#define AUDIT_LIMIT_DEFAULT	200	/* events per GET /api/audit */
#define AUDIT_LIMIT_MAX		1000
/* GET /api/compliance: tentacles per page (SPEC "Lists at scale"); days of
 * GET /api/compliance/history (a year, leap or not). */
#define COMPLIANCE_LIMIT_MAX	1000
#define COMPLIANCE_DAYS_MAX	366
#define TIMELINE_LIMIT_DEFAULT	100
/* Cells of one GET /api/compliance answer (about 100 bytes each): a page
 * of many columns has fewer tentacles, so that the answer stays well
 * under IPC_PAYLOAD_MAX; COMPLIANCE_REPLY_MAX bytes of cells end a page
 * early too (long waiver reasons). */
#define COMPLIANCE_CELLS_MAX	32000
#define COMPLIANCE_REPLY_MAX	(3 * 1024 * 1024 + 512 * 1024)

/* IPC_AUTH_LOGIN: struct ipc_auth_login (brain/ipcmsg.h). Reply:
 * IPC_API_REPLY with the session key in the cookie field. */

/*
 * The messages between the maestro and the registerer and commander
 * (enrolment, offers, handshake proofs, runs, results, keepalives): one
 * struct, encoder and pure decoder each in brain/ipcmsg.h. None carries a
 * tentacle's key.
 */

#endif
