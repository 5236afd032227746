/*
 * Login rate limit and KDF worker threads for the maestro.
 *
 * The rate limit is checked before any password is hashed, per client
 * address, in a fixed-size table: a flood from many addresses recycles the
 * oldest entries instead of growing memory.
 *
 * PBKDF2 with a high count costs a few hundred milliseconds: it runs on
 * KDF_THREADS threads; results come back through a pipe that the event
 * loop watches, so every database access stays on the maestro's thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "auth.h"
#include "log.h"

#define RATE_TABLE_SIZE	4096	/* distinct addresses remembered */
#define KDF_THREADS	2	/* one per core of a small admin server */
#define KDF_QUEUE_MAX	64	/* beyond this, logins get 503 at once */

struct rate_entry {
	char	addr[OCTO_ADDR_MAX];
	time_t	window_start;
	long	count;
};

static struct rate_entry rate_table[RATE_TABLE_SIZE];

long
ratelimit_check(const char *addr, time_t now, long attempts, long window)
{
	struct rate_entry	*e, *oldest = &rate_table[0];
	size_t			 i;

	for (i = 0; i < RATE_TABLE_SIZE; i++) {
		e = &rate_table[i];
		if (strcmp(e->addr, addr) == 0)
			goto found;
		if (e->window_start < oldest->window_start)
			oldest = e;
	}
	e = oldest;
	strlcpy(e->addr, addr, sizeof(e->addr));
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

static pthread_mutex_t	 kdf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 kdf_cond = PTHREAD_COND_INITIALIZER;
static struct kdf_job	*kdf_head, *kdf_tail;
static int		 kdf_queued;
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
	if (kdf_queued >= KDF_QUEUE_MAX) {
		pthread_mutex_unlock(&kdf_lock);
		return -1;
	}
	kdf_queued++;
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
