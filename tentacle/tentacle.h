/*
 * What the tentacle's processes share: the configuration and the child
 * roles. The supervisor (tentacle.c) binds the listening socket and loads
 * the TLS context, then forks one child: the register (register.c, TLS on
 * 7000 while not enrolled) or the command worker (commandworker.c, TLS on
 * 7001 once enrolled).
 */
#ifndef OCTO_TENTACLE_H
#define OCTO_TENTACLE_H

#include <time.h>

#include <openssl/ssl.h>

#include "config.h"
#include "limits.h"
#include "proto.h"

#define TENTACLE_PROGNAME	"octoTentacle"
#define TENTACLE_CONFIG_FILE	"/etc/octopus/tentacle.conf"

/* Connections one child serves at once. A brain talks to a tentacle one
 * connection at a time (an enrolment, an order, a ping), so 64 leaves room
 * for retries and half-dead peers while bounding the memory and the
 * descriptors a flood of connections can take. */
#define TENTACLE_CONN_MAX	64
/* Of those, kept for the pinned brain's address (listener_reserve). */
#define TENTACLE_CONN_RESERVED	8

/* An enrolment token as given with -t / --token-file: the bound on what
 * is read. A valid one is TENTACLE_TOKEN_LEN lowercase hex digits: the
 * secret (PROTO_TOKEN_SECRET_LEN) then the brain's certificate
 * fingerprint (OCTO_FPR_HEX_LEN), so that the tentacle knows which brain
 * it may send the secret to. */
#define TENTACLE_TOKEN_MAX	(2 * OCTO_TOKEN_HEX_LEN)
#define TENTACLE_TOKEN_LEN	(PROTO_TOKEN_SECRET_LEN + OCTO_FPR_HEX_LEN)

/* Default seconds between two status polls of a pending tentacle, and
 * between two self-enrolment attempts while the brain is unreachable. */
#define TENTACLE_POLL_DEFAULT	30

/* Default seconds a script may run (script_timeout). */
#define TENTACLE_SCRIPT_TIMEOUT_DEFAULT	300

/* Delivery of a spooled result that the brain did not acknowledge: retry
 * after 1 s, doubling up to retry_max (default 300 s). */
#define TENTACLE_RETRY_MIN		1
#define TENTACLE_RETRY_MAX_DEFAULT	300

/* A child's exit status that stops the whole tentacle with status 1
 * instead of a restart: what a restart cannot fix (a token for another
 * brain, a rejection, a corrupt enrolment file). */
#define TENTACLE_EXIT_STOP	3
/* The register's ends that ask for a new pairing code (pairing.h): too
 * many wrong proofs, or the code's time is up. */
#define TENTACLE_EXIT_PAIRING_WRONG	4
#define TENTACLE_EXIT_PAIRING_EXPIRED	5

/* managed_scripts_dir's default: only root writes there. */
#define TENTACLE_MANAGED_DIR_DEFAULT	"/var/lib/octopus/managed-scripts"

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
	char		user[OCTO_NAME_MAX];	/* "" = no privilege drop */
	char		scripts_dir[OCTO_PATH_MAX];
	char		spool_dir[OCTO_PATH_MAX];	/* "" = state_dir/spool */
	long long	io_timeout;		/* s per TLS step / frame */
	char		brain_fingerprint[OCTO_FPR_HEX_LEN + 1]; /* "" = any */
	long long	poll_interval;		/* s */
	long long	script_timeout;		/* s */
	long long	output_max;		/* bytes, <= OCTO_OUTPUT_MAX */
	long long	retry_max;		/* s, delivery backoff cap */
	char		pairing[16];		/* "required" or "off" */
	int		managed_scripts;	/* take scripts from the brain */
	char		managed_scripts_dir[OCTO_PATH_MAX];	/* root's */
	char		labels[PROTO_LABELS_TEXT_MAX];	/* proposed: "web, db" */

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
	/* Privilege separation (user set, started as root): the client
	 * context made before the drop (NULL: make it), and the command
	 * worker's socketpair to the supervisor (-1: run scripts itself). */
	SSL_CTX				*client;
	int				 priv_fd;
	/* The command worker, with privilege separation: the enrolment
	 * the supervisor read for it, its key zeroed (NULL: read it). */
	struct enrolment		*enrolment;
	/* The register, with privilege separation: the public half of
	 * the key pair the supervisor keeps for its enrolments. */
	int				 has_enrol_pub;
	uint8_t				 enrol_pub[PROTO_PUB_LEN];
	/* The register: the pairing code ("" = none wanted), when it
	 * expires and until when pairing is paused (wall clock). */
	char				 pairing_code[PROTO_PAIRING_LEN + 1];
	time_t				 pairing_expires;
	time_t				 pairing_paused_until;
};

/* Child entry points; each returns only to exit, with the exit status. */
int	register_main(struct tentacle_child *);
int	commandworker_main(struct tentacle_child *);

/*
 * The part both children share (listener.c): accept on the inherited
 * socket, wrap each connection in conn_accept() up to TENTACLE_CONN_MAX,
 * log each connection and how it ended, and hand it to the role's
 * protocol. Runs the event loop; returns the exit status (0, or what
 * listener_exit() asked for).
 */
struct conn;
struct event_base;
struct wire_frame;
struct tentacle_proto {
	/* Once the loop exists, before it runs (may be NULL): 0, or -1 to
	 * give up with status 1 (the reason is logged by the callee). */
	int	(*start)(struct event_base *, void *arg);
	/* TLS is up: the connection's state for the calls below, or NULL
	 * once the callee failed it (conn_fail). */
	void	*(*on_established)(struct conn *, void *arg);
	/* A whole frame: 0 keep reading, -1 close (see conn_cbs.on_frame). */
	int	(*on_frame)(struct conn *, const struct wire_frame *,
		    void *state);
	/* The end, with state NULL if on_established never returned one:
	 * free the state. */
	void	(*on_close)(struct conn *, const char *reason, void *state);
	/* After the loop, before it is freed (may be NULL): close and free
	 * what start() made. */
	void	(*stop)(void *arg);
	void	*arg;
};
int	listener_run(struct tentacle_child *, const struct tentacle_proto *);
/* The address whose connections keep TENTACLE_CONN_RESERVED slots and
 * skip the per-source cap (the pinned brain); "" none. */
void	listener_reserve(const char *addr);
/* End the loop; listener_run() returns status. */
void	listener_exit(struct event_base *, int status);

/* link.c: what both children and --ping need on a connection. */
struct buf;
struct enrolment;
/* Send every whole frame of b (as the handshake machine writes them);
 * empties b. -1 if the connection refused one. */
int	link_send(struct conn *, struct buf *);
/* The local address of the connection (no port); -1 if unknown. */
int	link_local_addr(struct conn *, char *out, size_t outlen);
/* 1 unless addr is "", 0.0.0.0 or :: (listening on every address). */
int	link_addr_specific(const char *addr);
/* The address to connect to `to` from: listen_address if it is specific
 * and of the same family, else NULL (the kernel's choice). */
const char *link_source(const struct tentacle_conf *, const char *to);
/* A TLS_PEER_CLIENT context with the tentacle's certificate. */
SSL_CTX	*link_client_ctx(const struct tentacle_conf *, char *err,
	    size_t errlen);

/*
 * An authenticated request to the brain (link.c), for a pending
 * tentacle's poll (PURPOSE_POLL, registerer port) and --ping
 * (PURPOSE_PING, commander port): connect from listen_address if it is
 * specific, check that the brain's certificate is the pinned one, run the
 * handshake as client with the enrolment's ID and key, then read STATUS.
 * done() runs once: ok with the status, or not with the reason.
 */
typedef void (*brain_request_cb)(int ok, const struct msg_status *,
    const char *why, void *arg);
int	brain_request(struct event_base *, SSL_CTX *,
	    const struct tentacle_conf *, const struct enrolment *,
	    uint8_t purpose, int port, int timeout_s, brain_request_cb,
	    void *arg, char *err, size_t errlen);

/*
 * Deliver one result (link.c): the same connection and handshake to the
 * brain's commander (brain_commander_port of the enrolment) with PURPOSE_
 * RESULT, then RESULT, then wait for the RESULT_ACK naming the same job.
 * done() runs once: ok 1 when the RESULT_ACK says stored, -1 when it says
 * refused for good (the spool sets the file aside, never resends it), 0
 * for anything else (retry with backoff).
 */
typedef void (*brain_deliver_cb)(int ok, const char *why, void *arg);
/* The RESULT frame of m into out, MACed for the brain's maestro with the
 * enrolment's key (brain_deliver's, and the order connection's: issue
 * 18): 0, or -1 (out of shape). */
int	link_result_frame(const struct enrolment *, const struct msg_result *,
	    struct buf *out);
int	brain_deliver(struct event_base *, SSL_CTX *,
	    const struct tentacle_conf *, const struct enrolment *,
	    const struct msg_result *, int timeout_s, brain_deliver_cb,
	    void *arg, char *err, size_t errlen);

/*
 * With privilege separation the command worker has no key: prover(ticket,
 * inputs) asks the supervisor for a client handshake's proofs (0, or -1
 * if it cannot), and link_proofs() brings them back (ok: ours and the
 * server's we must see; not ok: why). Also: results are delivered with
 * the MAC they carry (the supervisor made it), not one made here.
 */
struct hs_inputs;
typedef int (*link_prover)(uint64_t ticket, const struct hs_inputs *,
    void *arg);
void	link_set_prover(link_prover, void *arg);
void	link_proofs(uint64_t ticket, int ok, const uint8_t *proof,
	    const uint8_t *expect, const char *why);

/* Host facts (register.c): the JSON object given at enrolment and in
 * every INVENTORY, always shorter than outlen ("{}" at worst). */
void	tentacle_facts(const struct tentacle_conf *, char *out,
	    size_t outlen);

/* octoTentacle --ping (ping.c): the exit status. */
int	tentacle_ping(const struct tentacle_conf *);

#endif
