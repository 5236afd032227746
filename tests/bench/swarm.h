/*
 * The swarm (issue 18): many simulated tentacles in one process, for the
 * bench and its system test. Each has its own identity (an ECDSA key and
 * self-signed certificate, the ID and key the brain gives it), its own
 * address 127.NET.X.Y and listening socket; all speak the real protocol
 * over common/ (TLS 1.3 with resumption, the handshake, the enrolment's
 * wrapped key, the orders' and results' MACs). None runs anything: an
 * order is answered with a canned output after a configurable delay.
 *
 *	swarm.c		options, the worker processes, identities, the TLS
 *			contexts (one per role; each connection presents its
 *			identity's certificate, chosen by its local address),
 *			the listening sockets, the event loop
 *	swarm_enrol.c	self-enrolment with the token on the registerer
 *	swarm_serve.c	the command port: keepalive pings (INVENTORY),
 *			orders (ORDER_ACK, then the canned result: on the
 *			order's connection while the brain keeps it, as
 *			octoTentacle since issue 18, or over 6001)
 *	swarm_deliver.c	results to the brain's commander, one at a time per
 *			identity, the session kept for the next
 */
#ifndef OCTO_SWARM_H
#define OCTO_SWARM_H

#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "buf.h"
#include "conn.h"
#include "handshake.h"
#include "limits.h"
#include "proto.h"

/* Addresses: identity i listens on 127.NET.(i / SWARM_PER_NET3).
 * (i % SWARM_PER_NET3 + 1), as bench.py numbers its real tentacles. */
#define SWARM_PER_NET3		250
#define SWARM_MAX		(SWARM_PER_NET3 * 256)
/* Results delivery: retry after 1 s, doubling up to this. */
#define SWARM_RETRY_MAX_S	30
/* Identities not enrolled yet: tried again after this. */
#define SWARM_ENROL_RETRY_S	1

struct swarm_conf {
	char		 brain[OCTO_ADDR_MAX];
	int		 registerer_port;
	int		 commander_port;
	char		 secret[PROTO_TOKEN_SECRET_LEN + 1];
	char		 brain_fpr[OCTO_FPR_HEX_LEN + 1];
	int		 n;		/* identities in all */
	int		 net;		/* second octet of the addresses */
	int		 port;		/* every identity's command port */
	int		 delay_ms;	/* from ORDER to the result */
	int		 procs;		/* worker processes */
	int		 enrol_parallel;	/* enrolments at once */
	int		 io_timeout;
	const char	*script;	/* the one script each has */
	const char	*output;	/* its canned output */
	const char	*name;		/* hostname prefix */
	int		 result_on_order;	/* not --no-result-on-order */
	int		 verbose;
};

/* A job ordered: waiting for its delay, then for its delivery. */
struct job {
	TAILQ_ENTRY(job)	 entry;
	struct ident		*id;
	uint64_t		 job;
	uint64_t		 started_ms;	/* Unix time */
	int			 ready;		/* delay over */
	struct event		*ev;
	/* The order's connection, while it is open (result_on_order). */
	struct served		*order;
};
TAILQ_HEAD(jobq, job);

struct served;

struct ident {
	int			 idx;		/* in 0..n-1 */
	char			 addr[OCTO_ADDR_MAX];
	char			 name[OCTO_NAME_MAX];
	EVP_PKEY		*pk;
	X509			*x;
	char			 fpr[OCTO_FPR_HEX_LEN + 1];
	uint64_t		 id;		/* from the brain; 0 before */
	uint8_t			 key[PROTO_KEY_LEN];
	int			 enrolling;
	struct evconnlistener	*lst;
	/* The session of the last delivery, offered on the next. */
	SSL_SESSION		*session;
	struct jobq		 jobs;		/* in the order given */
	int			 delivering;
	int			 retry_s;
	struct event		*ev_retry;
};

struct swarm_stats {
	uint64_t	enrolled, enrol_failed;
	uint64_t	pings, orders, refused;
	uint64_t	delivered, deliver_failed, resumed;
	uint64_t	on_order;	/* delivered on the order's conn */
	uint64_t	served, served_resumed;	/* the brain's connections */
};

struct swarm {
	struct swarm_conf	 conf;
	struct event_base	*base;
	SSL_CTX			*server;	/* the command port */
	SSL_CTX			*client;	/* to the brain */
	struct ident		*ids;		/* this worker's slice */
	int			 lo, hi;	/* its indexes: [lo, hi) */
	int			 worker;
	char			 script_sha[OCTO_FPR_HEX_LEN + 1];
	char			 facts_head[512];	/* facts but uptime */
	char			 scripts_json[512];	/* the inventory's */
	uint64_t		 start_ms;	/* run_mono_ms() */
	int			 ready_fd;	/* to the parent, or -1 */
	struct swarm_stats	 st;
};

extern struct swarm	S;

/* The facts of a keepalive's INVENTORY and of ENROL_REQUEST. */
void		 swarm_facts(char *out, size_t outlen);
/* An outgoing connection is up: the brain's certificate checked, then
 * HELLO{purpose} with the identity's ID and key (none for ENROL): 0, or
 * -1 (c failed). */
int		 swarm_client_start(struct conn *, struct handshake *,
		    struct buf *, uint8_t purpose, const struct ident *);
struct ident	*swarm_ident(int idx);		/* NULL if not ours */

void		 enrol_start(void);		/* swarm_enrol.c */
void		 serve_accept(struct ident *, int fd, struct sockaddr *,
		    int socklen);		/* swarm_serve.c */
void		 jobs_free(struct ident *);
void		 deliver_pump(struct ident *);	/* swarm_deliver.c */
/* The RESULT frame of job j (its canned output, our MAC) sent on c. */
int		 result_send(struct conn *, struct buf *, const struct job *);
/* Job j stored by the brain: forgotten, counted. */
void		 job_delivered(struct job *);

#endif
