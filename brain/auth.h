/*
 * Authentication helpers of the maestro: the per-address login rate limit
 * and the password KDF, computed on worker threads so that a flood of
 * logins never stalls the maestro's event loop (and result storage).
 */
#ifndef OCTO_AUTH_H
#define OCTO_AUTH_H

#include <stdint.h>
#include <time.h>

#include <event2/event.h>

#include "crypto.h"
#include "limits.h"

/* Returns 0 if this attempt from addr is allowed (and counts it), else the
 * number of seconds until the next attempt is. Checked before the KDF.
 * IPv6 addresses count by their /64, IPv4-mapped ones as IPv4. */
long	ratelimit_check(const char *addr, time_t now, long attempts,
	    long window);
/* A user name may take this many times an address's login attempts per
 * window, from all addresses together: a guess at one account spread over
 * many addresses is slowed, and its owner is locked out for one window at
 * worst. */
#define LOGIN_USER_FACTOR	4

/* The same per user name (logins only: a guess spread over many
 * addresses still meets this budget). */
long	ratelimit_user_check(const char *user, time_t now, long attempts,
	    long window);
/* Enrolment requests without a valid token: 0 if one more from addr is
 * taken this minute (and counts it), else the seconds until one is; the
 * same keys as ratelimit_check, a table of their own. per_minute 0: no
 * limit. */
long	ratelimit_enrol_check(const char *addr, time_t now, long per_minute);
/* The key an address is counted under (pure; for the tests). */
void	ratelimit_addr_key(const char *addr, char *out, size_t outlen);

struct kdf_job {
	/* in */
	uint32_t	 reqid;
	unsigned	 generation;	/* webserv instance that asked */
	int		 user_known;	/* 0: verify against a dummy hash */
	int		 login;		/* counts against the logins' share */
	char		 user[OCTO_NAME_MAX];
	char		 role[16];
	char		 client[OCTO_ADDR_MAX];
	char		 password[OCTO_PASSWORD_MAX + 1];
	char		 totp[OCTO_TOTP_CODE_MAX + 1];	/* login: "" = none */
	char		 stored[KDF_HASH_MAX];
	/* User management: check password against stored unless
	 * skip_verify, then (if it matched) hash new_password. */
	int		 skip_verify;
	char		 new_password[OCTO_PASSWORD_MAX + 1];	/* "": none */
	unsigned	 iterations;
	uint32_t	 op;		/* enum api_op that asked */
	char		 target[OCTO_NAME_MAX];		/* user changed */
	char		 session[65];	/* key hash of the asking session */
	void		(*done)(struct kdf_job *);	/* NULL: kdf_init's */
	/* out */
	int		 match;		/* kdf_verify() result (1 if skipped) */
	int		 hashed;	/* kdf_hash() result */
	char		 new_hash[KDF_HASH_MAX];
	struct kdf_job	*next;
};

/*
 * The workers are threads, and a process must never fork while another of
 * its threads may hold a lock (OpenSSL's, the allocator's): the child would
 * inherit it held forever. So the maestro joins them before every fork
 * (kdf_threads_join waits at most for the KDF in progress) and starts them
 * again after; queued jobs wait meanwhile.
 */
/* Set up the completion pipe; done() runs on the event loop's thread. */
int	kdf_init(struct event_base *, void (*done)(struct kdf_job *));
int	kdf_threads_start(void);
void	kdf_threads_join(void);
/* Queue a job (ownership passes); -1 if the queue is full, or a login
 * when logins hold their share of it. */
int	kdf_submit(struct kdf_job *);
/* Join the threads, drop queued jobs, close the pipe. */
void	kdf_shutdown(void);

#endif
