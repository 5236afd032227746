/*
 * Login rate limit and KDF worker threads for the maestro.
 *
 * The rate limit is checked before any password is hashed, per client
 * address (an IPv6 client by its /64: one host holds a whole /64), and per
 * user name, in fixed-size tables: a flood from many addresses recycles the
 * oldest entries instead of growing memory. Logins may hold at most half of
 * the KDF queue, so that a flood from many addresses never keeps a
 * logged-in user from changing a password.
 *
 * PBKDF2 with a high count costs a few hundred milliseconds: it runs on
 * KDF_THREADS threads; results come back through a pipe that the event
 * loop watches, so every database access stays on the maestro's thread.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "auth.h"
#include "log.h"

#define RATE_TABLE_SIZE	4096	/* distinct addresses remembered */
#define KDF_THREADS	2	/* one per core of a small admin server */
#define KDF_QUEUE_MAX	64	/* beyond this, requests get 503 at once */
#define KDF_LOGINS_MAX	(KDF_QUEUE_MAX / 2)	/* the rest for users
						   changing passwords */

struct rate_entry {
	char	key[OCTO_ADDR_MAX + 4];	/* address (with "/64") or user name */
	time_t	window_start;
	long	count;
};

/* Apart, so that a flood of addresses cannot evict the users' entries. */
static struct rate_entry rate_by_addr[RATE_TABLE_SIZE];
static struct rate_entry rate_by_user[RATE_TABLE_SIZE];
static struct rate_entry rate_by_enrol[RATE_TABLE_SIZE];

void
ratelimit_addr_key(const char *addr, char *out, size_t outlen)
{
	struct in6_addr	a6;
	char		buf[INET6_ADDRSTRLEN];

	if (inet_pton(AF_INET6, addr, &a6) != 1) {
		strlcpy(out, addr, outlen);
		return;
	}
	if (IN6_IS_ADDR_V4MAPPED(&a6)) {
		if (inet_ntop(AF_INET, &a6.s6_addr[12], buf, sizeof(buf)))
			strlcpy(out, buf, outlen);
		else
			strlcpy(out, addr, outlen);
		return;
	}
	memset(&a6.s6_addr[8], 0, 8);
	if (inet_ntop(AF_INET6, &a6, buf, sizeof(buf)) == NULL) {
		strlcpy(out, addr, outlen);
		return;
	}
	snprintf(out, outlen, "%s/64", buf);
}

static long
rate_count(struct rate_entry *table, const char *key, time_t now,
    long attempts, long window)
{
	struct rate_entry	*e, *oldest = &table[0];
	size_t			 i;

	for (i = 0; i < RATE_TABLE_SIZE; i++) {
		e = &table[i];
		if (strcmp(e->key, key) == 0)
			goto found;
		if (e->window_start < oldest->window_start)
			oldest = e;
	}
	e = oldest;
	strlcpy(e->key, key, sizeof(e->key));
	e->window_start = now;
	e->count = 0;
found:
	if (now - e->window_start >= window) {
		e->window_start = now;
		e->count = 0;
	}
	if (e->count >= attempts)
		return (long)(e->window_start + window - now) > 0 ?
		    (long)(e->window_start + window - now) : 1;
	e->count++;
	return 0;
}

long
ratelimit_check(const char *addr, time_t now, long attempts, long window)
{
	char	key[OCTO_ADDR_MAX + 4];

	ratelimit_addr_key(addr, key, sizeof(key));
	return rate_count(rate_by_addr, key, now, attempts, window);
}

long
ratelimit_enrol_check(const char *addr, time_t now, long per_minute)
{
	char	key[OCTO_ADDR_MAX + 4];

	if (per_minute <= 0)
		return 0;
	ratelimit_addr_key(addr, key, sizeof(key));
	return rate_count(rate_by_enrol, key, now, per_minute, 60);
}

long
ratelimit_user_check(const char *user, time_t now, long attempts,
    long window)
{
	return rate_count(rate_by_user, user, now, attempts, window);
}

static pthread_mutex_t	 kdf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 kdf_cond = PTHREAD_COND_INITIALIZER;
static struct kdf_job	*kdf_head, *kdf_tail;
static int		 kdf_queued;
static int		 kdf_logins;	/* of kdf_queued, logins */
static int		 kdf_stopping;
static pthread_t	 kdf_threads[KDF_THREADS];
static int		 kdf_nthreads;
static int		 kdf_pipe[2] = { -1, -1 };
static struct event	*kdf_ev;
static void		(*kdf_done)(struct kdf_job *);

static void *
kdf_worker(void *arg)
{
	struct kdf_job	*job;

	for (;;) {
		pthread_mutex_lock(&kdf_lock);
		while (kdf_head == NULL && !kdf_stopping)
			pthread_cond_wait(&kdf_cond, &kdf_lock);
		if (kdf_stopping) {
			/* Joined for a fork: queued jobs wait for the next
			 * threads. */
			pthread_mutex_unlock(&kdf_lock);
			return NULL;
		}
		job = kdf_head;
		kdf_head = job->next;
		if (kdf_head == NULL)
			kdf_tail = NULL;
		pthread_mutex_unlock(&kdf_lock);

		job->match = job->skip_verify ? 1 :
		    kdf_verify(job->password, job->stored);
		job->hashed = -1;
		if (job->match == 1 && job->new_password[0] != '\0')
			job->hashed = kdf_hash(job->new_password,
			    job->iterations, job->new_hash,
			    sizeof(job->new_hash));
		crypto_wipe(job->password, sizeof(job->password));
		crypto_wipe(job->new_password, sizeof(job->new_password));
		/* A pointer is smaller than PIPE_BUF: the write is atomic. */
		while (write(kdf_pipe[1], &job, sizeof(job)) == -1 &&
		    errno == EINTR)
			;
	}
}

static void
kdf_readable(evutil_socket_t fd, short events, void *arg)
{
	struct kdf_job	*job;
	ssize_t		 n;

	while ((n = read(fd, &job, sizeof(job))) == sizeof(job)) {
		pthread_mutex_lock(&kdf_lock);
		kdf_queued--;
		if (job->login)
			kdf_logins--;
		pthread_mutex_unlock(&kdf_lock);
		if (job->done != NULL)
			job->done(job);
		else
			kdf_done(job);
	}
}

int
kdf_init(struct event_base *base, void (*done)(struct kdf_job *))
{
	if (pipe2(kdf_pipe, O_CLOEXEC) == -1)
		return -1;
	if (fcntl(kdf_pipe[0], F_SETFL, O_NONBLOCK) == -1)
		return -1;
	kdf_done = done;
	kdf_ev = event_new(base, kdf_pipe[0], EV_READ | EV_PERSIST,
	    kdf_readable, NULL);
	if (kdf_ev == NULL || event_add(kdf_ev, NULL) == -1)
		return -1;
	return 0;
}

int
kdf_threads_start(void)
{
	kdf_stopping = 0;
	while (kdf_nthreads < KDF_THREADS) {
		if (pthread_create(&kdf_threads[kdf_nthreads], NULL,
		    kdf_worker, NULL))
			return -1;
		kdf_nthreads++;
	}
	return 0;
}

void
kdf_threads_join(void)
{
	int	i;

	pthread_mutex_lock(&kdf_lock);
	kdf_stopping = 1;
	pthread_cond_broadcast(&kdf_cond);
	pthread_mutex_unlock(&kdf_lock);
	for (i = 0; i < kdf_nthreads; i++)
		pthread_join(kdf_threads[i], NULL);
	kdf_nthreads = 0;
}

int
kdf_submit(struct kdf_job *job)
{
	pthread_mutex_lock(&kdf_lock);
	if (kdf_queued >= KDF_QUEUE_MAX ||
	    (job->login && kdf_logins >= KDF_LOGINS_MAX)) {
		pthread_mutex_unlock(&kdf_lock);
		return -1;
	}
	kdf_queued++;
	if (job->login)
		kdf_logins++;
	job->next = NULL;
	if (kdf_tail)
		kdf_tail->next = job;
	else
		kdf_head = job;
	kdf_tail = job;
	pthread_cond_signal(&kdf_cond);
	pthread_mutex_unlock(&kdf_lock);
	return 0;
}

void
kdf_shutdown(void)
{
	struct kdf_job	*job;

	kdf_threads_join();
	/* Jobs still queued or finished but unread are dropped. */
	while ((job = kdf_head) != NULL) {
		kdf_head = job->next;
		crypto_wipe(job, sizeof(*job));
		free(job);
	}
	if (kdf_pipe[0] != -1) {
		while (read(kdf_pipe[0], &job, sizeof(job)) == sizeof(job)) {
			crypto_wipe(job, sizeof(*job));
			free(job);
		}
	}
	if (kdf_ev)
		event_free(kdf_ev);
	kdf_ev = NULL;
	if (kdf_pipe[0] != -1) {
		close(kdf_pipe[0]);
		close(kdf_pipe[1]);
	}
	kdf_pipe[0] = kdf_pipe[1] = -1;
}
