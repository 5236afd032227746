/*
 * What the maestro's files share (maestro only: no child includes this).
 *
 *   maestro.c   supervision (the table of children, start, restart,
 *               signals) and main()
 *   api.c       replies to the webserv; session, role and CSRF checks;
 *               the API's dispatch
 *   users.c     login, users, passwords (KDF completions), audit log
 *   fleet.c     tentacles: enrolment (requests, by address), key lookups,
 *               keepalive and welcome pings, inventory
 *   runs.c      runs, orders to the commander, job states
 *   results.c   results: batching, storage, acknowledgements
 *   startup.c   configuration, directories, admin password, TLS, root drop
 */
#ifndef OCTO_MAESTRO_H
#define OCTO_MAESTRO_H

#include <sys/types.h>

#include <stdint.h>
#include <time.h>

#include <event2/event.h>
#include <jansson.h>
#include <openssl/ssl.h>

#include "apicall.h"
#include "auth.h"
#include "brain.h"
#include "daemon.h"
#include "db.h"
#include "ipc.h"
#include "limits.h"
#include "tls.h"

enum child_state { CHILD_DOWN, CHILD_UP, CHILD_RESTARTING };

struct child {
	const char		*name;
	int			(*entry)(struct child_env *);
	const uint32_t		*allowed;	/* IPC types it may send, 0-ended */
	int			 listen_fd;
	SSL_CTX			*tls;

	pid_t			 pid;
	enum child_state	 state;
	unsigned		 restarts;
	unsigned		 generation;	/* bumped at every fork */
	long			 delay_ms;	/* next restart delay */
	time_t			 started;
	struct ipc_chan		*chan;
	struct event		*restart_ev;
};

enum { CHILD_WEBSERV, CHILD_REGISTERER, CHILD_COMMANDER, CHILD_COUNT };

/* Roles, weakest first; an API operation names the weakest it allows.
 * An unknown role is below every other. */
enum role { ROLE_INVALID, ROLE_VIEWER, ROLE_OPERATOR, ROLE_ADMIN };

/* The maestro's state (maestro.c). */
struct maestro {
	struct brain_conf	 conf;
	char			 config_path[OCTO_PATH_MAX];
	int			 config_given;
	int			 foreground;
	int			 verbose;
	struct event_base	*base;
	struct db		*db;
	struct pidfile		 pidfile;
	SSL_CTX			*tls_peer, *tls_client, *tls_web;
	int			 webroot_fd;
	time_t			 started;
	char			 dummy_hash[KDF_HASH_MAX];
	unsigned long		 protocol_errors;
	unsigned long		 refused_handshakes;
	struct event		*sweep_ev;
	struct event		*keepalive_ev;
	struct event		*welcome_ev;	/* ping the newly accepted */
	int			 welcome_round;
	int			 stopping;
	int			 workers_started; /* KDF threads exist between forks */
	char			 pidfile_dir[OCTO_PATH_MAX];	/* if we made it */
	char			 brain_fpr[OCTO_FPR_HEX_LEN + 1];
	struct checks		*checks;	/* checks_file (findings.h) */
};

extern struct maestro	m;
extern struct child	children[CHILD_COUNT];

/* maestro.c */
void	child_misbehaved(struct child *, const char *);

/* api.c */
enum role role_parse(const char *);
void	reply_send(uint32_t, unsigned, int, json_t *, const char *);
void	reply_error(uint32_t, unsigned, int, const char *);
void	reply_json_or_error(struct child *, uint32_t, json_t *, const char *);
void	handle_api(struct child *, const struct ipc_msg *);

/* users.c */
void	login_done(struct kdf_job *);
void	handle_login(struct child *, const struct ipc_msg *);
void	api_users(struct child *, uint32_t, uint32_t, struct api_args *,
	    const struct db_session *, const char *, const char *);

/* fleet.c */
void	keepalive(evutil_socket_t, short, void *);
void	welcome_ping(evutil_socket_t, short, void *);
void	welcome_soon(void);
void	offer_start(struct child *, uint32_t, const struct api_args *,
	    const char *, const char *);
void	offers_expire(int);
void	handle_tentacle_seen(struct child *, const struct ipc_msg *);
void	handle_tentacle_missed(struct child *, const struct ipc_msg *);
void	handle_offer_done(struct child *, const struct ipc_msg *);
void	handle_enrol_request(struct child *, const struct ipc_msg *);
void	handle_lookup(struct child *, const struct ipc_msg *);

/* runs.c */
void	dispatch_order(const struct db_order *, void *);
void	dispatch_queued(int64_t);
void	jobs_lost(int64_t, int64_t, const char *);
void	run_create(struct child *, uint32_t, const struct api_args *,
	    const char *, const char *);
void	handle_job_state(struct child *, const struct ipc_msg *);

/* results.c */
int	results_start(struct event_base *);
void	results_stop(void);
void	handle_result_store(struct child *, const struct ipc_msg *);

/* startup.c */
int	load_config(struct brain_conf *, char *, size_t);
int	load_checks(const char *, struct checks **, char *, size_t);
int	make_dir(const char *, char *, size_t);
int	make_pidfile_dir(char *, size_t);
int	ensure_admin(char *, size_t);
SSL_CTX	*load_tls(enum tls_role, const char *, const char *);
void	drop_root(void);

#endif
