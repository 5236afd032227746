/*
 * octoSwarm (tests/bench): N simulated tentacles in one process, or in a
 * few worker processes (--procs) when one core is the limit; see swarm.h.
 *
 *	swarm --token-file FILE -n N [--brain 127.0.0.1] [--registerer-port
 *	    6000] [--commander-port 6001] [--net 2] [--port 7001] [--delay MS]
 *	    [--script NAME] [--output TEXT] [--name PREFIX] [--procs K]
 *	    [--enrol-parallel M] [--io-timeout S] [--no-result-on-order] [-v]
 *
 * Every identity enrols itself with the token (as octoTentacle -b -t
 * does), then answers the brain's keepalive and orders on its own
 * address until SIGTERM or SIGINT. Once every identity is enrolled the
 * swarm prints one line on standard output:
 *	swarm: N simulated tentacles enrolled
 * and at its end one line of counts. Exit 0; 1 when an identity could not
 * be set up or the brain answered an enrolment with anything but
 * accepted; 2 on a usage error.
 *
 * An order's connection is kept open after ORDER_ACK and the result goes
 * back on it if the brain still holds it then (as octoTentacle does since
 * issue 18's round trip); otherwise over the commander's port, as always
 * with --no-result-on-order.
 */
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "conn.h"
#include "crypto.h"
#include "daemon.h"
#include "log.h"
#include "net.h"
#include "tls.h"
#include "handshake.h"
#include "run.h"
#include "tentacle.h"
#include "swarm.h"

struct swarm	S;

void
swarm_facts(char *out, size_t outlen)
{
	snprintf(out, outlen, "%s,\"uptime_ms\":%llu}", S.facts_head,
	    (unsigned long long)(run_mono_ms() - S.start_ms));
}

int
swarm_client_start(struct conn *c, struct handshake *hs, struct buf *out,
    uint8_t purpose, const struct ident *id)
{
	uint8_t	exp[HS_EXPORTER_LEN];

	/* A token is never sent to another brain, nor a result. */
	if (!crypto_equal(conn_peer_fingerprint(c), S.conf.brain_fpr,
	    OCTO_FPR_HEX_LEN)) {
		log_warnx("%s: %s: the brain's certificate is not the token's",
		    id->name, conn_peer(c));
		conn_fail(c, "certificate FPR is not our brain's");
		return -1;
	}
	if (conn_exporter(c, exp, sizeof(exp)) == -1) {
		conn_fail(c, "no TLS exporter");
		return -1;
	}
	if (purpose == PURPOSE_ENROL)
		hs_client_init(hs, purpose, 0, NULL, exp);
	else
		hs_client_init(hs, purpose, id->id, id->key, exp);
	crypto_wipe(exp, sizeof(exp));
	if (hs_client_start(hs, out) == HS_FAIL || link_send(c, out) == -1) {
		conn_fail(c, "cannot send HELLO");
		return -1;
	}
	return 0;
}

struct ident *
swarm_ident(int idx)
{
	if (idx < S.lo || idx >= S.hi)
		return NULL;
	return &S.ids[idx - S.lo];
}

static void
ident_addr(int idx, char *out, size_t outlen)
{
	snprintf(out, outlen, "127.%d.%d.%d", S.conf.net,
	    idx / SWARM_PER_NET3, idx % SWARM_PER_NET3 + 1);
}

/* The identity whose address this connection's socket has here: the
 * listening address of an accepted one, the source of an outgoing one. */
static struct ident *
ident_of_ssl(SSL *ssl)
{
	struct sockaddr_in	 sin;
	socklen_t		 sl = sizeof(sin);
	const uint8_t		*a;
	int			 fd;

	if ((fd = SSL_get_fd(ssl)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sin, &sl) == -1 ||
	    sin.sin_family != AF_INET)
		return NULL;
	a = (const uint8_t *)&sin.sin_addr.s_addr;
	if (a[0] != 127 || a[1] != S.conf.net || a[3] == 0 ||
	    a[3] > SWARM_PER_NET3)
		return NULL;
	return swarm_ident(a[2] * SWARM_PER_NET3 + a[3] - 1);
}

/* OpenSSL asks for our certificate (a server after the ClientHello, a
 * client at the CertificateRequest): the identity's. */
static int
cert_cb(SSL *ssl, void *arg)
{
	struct ident	*id;

	if ((id = ident_of_ssl(ssl)) == NULL) {
		log_warnx("a TLS connection from an address that is none of "
		    "this swarm's");
		return 0;
	}
	if (SSL_use_certificate(ssl, id->x) != 1 ||
	    SSL_use_PrivateKey(ssl, id->pk) != 1)
		return 0;
	return 1;
}

/* Both contexts, made with the first identity's pair (each connection
 * then takes its own in cert_cb). */
static int
contexts_make(void)
{
	struct ident	*id = &S.ids[0];
	char		*cert, *key, err[512];
	size_t		 clen = 0, klen = 0;

	if ((cert = tls_pem(NULL, id->x, &clen)) == NULL ||
	    (key = tls_pem(id->pk, NULL, &klen)) == NULL) {
		free(cert);
		log_warnx("cannot encode a certificate");
		return -1;
	}
	S.server = tls_ctx_new_pem(TLS_PEER_SERVER, cert, clen, key, klen,
	    err, sizeof(err));
	if (S.server != NULL)
		S.client = tls_ctx_new_pem(TLS_PEER_CLIENT, cert, clen, key,
		    klen, err, sizeof(err));
	crypto_wipe(key, klen);
	free(key);
	free(cert);
	if (S.server == NULL || S.client == NULL) {
		log_warnx("TLS: %s", err);
		return -1;
	}
	SSL_CTX_set_cert_cb(S.server, cert_cb, NULL);
	SSL_CTX_set_cert_cb(S.client, cert_cb, NULL);
	/* One session per identity the brain keeps (pings and orders),
	 * and room for the one it replaces. */
	SSL_CTX_sess_set_cache_size(S.server, 2L * (S.hi - S.lo) + 64);
	return 0;
}

static void
accept_cb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int socklen, void *arg)
{
	serve_accept(arg, fd, sa, socklen);
}

static void
accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct ident	*id = arg;

	log_warn("%s:%d: accept", id->addr, S.conf.port);
}

static int
idents_make(void)
{
	struct ident	*id;
	char		 err[512];
	int		 i, fd;

	if ((S.ids = calloc((size_t)(S.hi - S.lo), sizeof(*S.ids))) == NULL) {
		log_warnx("out of memory");
		return -1;
	}
	for (i = S.lo; i < S.hi; i++) {
		id = &S.ids[i - S.lo];
		id->idx = i;
		TAILQ_INIT(&id->jobs);
		id->retry_s = 1;
		ident_addr(i, id->addr, sizeof(id->addr));
		snprintf(id->name, sizeof(id->name), "%s%d", S.conf.name, i);
		if (tls_make_pair(id->name, &id->pk, &id->x, err,
		    sizeof(err)) == -1 ||
		    tls_fingerprint_x509(id->x, id->fpr) == -1) {
			log_warnx("identity %d: %s", i, err);
			return -1;
		}
		if ((fd = net_listen(id->addr, S.conf.port, err,
		    sizeof(err))) == -1) {
			log_warnx("%s", err);
			return -1;
		}
		if ((id->lst = evconnlistener_new(S.base, accept_cb, id,
		    LEV_OPT_CLOSE_ON_FREE, -1, fd)) == NULL) {
			close(fd);
			log_warnx("%s:%d: evconnlistener_new failed",
			    id->addr, S.conf.port);
			return -1;
		}
		evconnlistener_set_error_cb(id->lst, accept_error_cb);
	}
	return 0;
}

/* What every identity's facts and inventory say (but the uptime). */
static void
inventory_make(void)
{
	struct utsname	u;
	uint8_t		md[SHA256_LEN];
	char		body[256];

	/* The script it "has": its hash is of a body that prints the
	 * canned output, so that the inventory is well formed. */
	snprintf(body, sizeof(body), "#!/bin/sh\n# simulated: %s\n",
	    S.conf.script);
	crypto_sha256(body, strlen(body), md);
	hex_encode(md, sizeof(md), S.script_sha);
	snprintf(S.scripts_json, sizeof(S.scripts_json),
	    "[{\"name\":\"%s\",\"sha256\":\"%s\",\"description\":"
	    "\"simulated tentacle: canned output\"}]", S.conf.script,
	    S.script_sha);
	if (uname(&u) == -1)
		strlcpy(u.machine, "unknown", sizeof(u.machine));
	snprintf(S.facts_head, sizeof(S.facts_head),
	    "{\"addresses\":[],\"arch\":\"%s\",\"kernel\":\"swarm\","
	    "\"os\":\"simulated tentacle (octopus swarm)\","
	    "\"simulated\":true", proto_hostname_valid(u.machine) ?
	    u.machine : "unknown");
}

static void
stats_print(void)
{
	printf("swarm%s%.0d: %llu enrolled, %llu pings, %llu orders, %llu "
	    "results delivered (%llu on a resumed session), %llu deliveries "
	    "failed, %llu refused, %llu connections served (%llu on a "
	    "resumed session), %llu results on the order's connection\n",
	    S.conf.procs > 1 ? " worker " : "",
	    S.conf.procs > 1 ? S.worker + 1 : 0,
	    (unsigned long long)S.st.enrolled,
	    (unsigned long long)S.st.pings, (unsigned long long)S.st.orders,
	    (unsigned long long)S.st.delivered,
	    (unsigned long long)S.st.resumed,
	    (unsigned long long)S.st.deliver_failed,
	    (unsigned long long)S.st.refused,
	    (unsigned long long)S.st.served,
	    (unsigned long long)S.st.served_resumed,
	    (unsigned long long)S.st.on_order);
	fflush(stdout);
}

#define SWARM_DRAIN_MS		20	/* how often a stopping swarm looks */
#define SWARM_DRAIN_MAX		250	/* looks, at most (5 s) */

static int
jobs_outstanding(void)
{
	int	i;

	for (i = 0; i < S.hi - S.lo; i++)
		if (!TAILQ_EMPTY(&S.ids[i].jobs))
			return 1;
	return 0;
}

/* A stopping swarm first waits a little for the results in flight: the
 * brain may have stored one whose acknowledgement is still on its way,
 * and the counts printed at the end must say it was delivered. */
static void
drain_cb(evutil_socket_t fd, short what, void *arg)
{
	static int		 looks;
	struct event		*ev = arg;
	struct timeval		 tv = { 0, SWARM_DRAIN_MS * 1000 };

	if (!jobs_outstanding() || ++looks >= SWARM_DRAIN_MAX) {
		event_base_loopbreak(S.base);
		return;
	}
	evtimer_add(ev, &tv);
}

static void
stop_cb(evutil_socket_t sig, short what, void *arg)
{
	static struct event	*drain;

	if (drain != NULL) {		/* a second signal: at once */
		event_base_loopbreak(S.base);
		return;
	}
	if ((drain = evtimer_new(S.base, drain_cb, event_self_cbarg())) ==
	    NULL) {
		event_base_loopbreak(S.base);
		return;
	}
	drain_cb(-1, 0, drain);
}

/* One worker: identities [lo, hi). */
static int
worker_run(int lo, int hi)
{
	struct event	*ev_term, *ev_int;
	char		 role[32];

	S.lo = lo;
	S.hi = hi;
	snprintf(role, sizeof(role), S.conf.procs > 1 ? "swarm %d" : "swarm",
	    S.worker + 1);
	log_procinit(role);
	if ((S.base = event_base_new()) == NULL) {
		log_warnx("event_base_new failed");
		return 1;
	}
	inventory_make();
	if (idents_make() == -1 || contexts_make() == -1)
		return 1;
	log_info("%d simulated tentacles on 127.%d.x.y:%d (%s to %s)",
	    hi - lo, S.conf.net, S.conf.port, S.ids[0].addr,
	    S.ids[hi - lo - 1].addr);
	ev_term = evsignal_new(S.base, SIGTERM, stop_cb, NULL);
	ev_int = evsignal_new(S.base, SIGINT, stop_cb, NULL);
	if (ev_term == NULL || ev_int == NULL || evsignal_add(ev_term, NULL) ==
	    -1 || evsignal_add(ev_int, NULL) == -1) {
		log_warnx("cannot take signals");
		return 1;
	}
	enrol_start();
	event_base_dispatch(S.base);
	stats_print();
	return S.st.enrol_failed > 0 ? 1 : 0;
}

static void
usage(void)
{
	fprintf(stderr, "usage: swarm --token-file FILE -n N [--brain ADDR] "
	    "[--registerer-port P]\n\t[--commander-port P] [--net OCTET] "
	    "[--port P] [--delay MS] [--script NAME]\n\t[--output TEXT] "
	    "[--name PREFIX] [--procs K] [--enrol-parallel M]\n\t"
	    "[--io-timeout S] [--no-result-on-order] [-v]\n");
	exit(2);
}

static int
int_arg(const char *s, int lo, int hi, const char *what)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || end == s || v < lo || v > hi) {
		fprintf(stderr, "swarm: %s: not a number in %d..%d: %s\n",
		    what, lo, hi, s);
		exit(2);
	}
	return (int)v;
}

/* The token as octoTentacle --token-file reads it: the secret, then the
 * brain's fingerprint. */
static void
token_read(const char *path)
{
	char	 line[256];
	FILE	*f;
	size_t	 n;

	if ((f = fopen(path, "re")) == NULL) {
		fprintf(stderr, "swarm: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	n = strcspn(line, "\r\n");
	line[n] = '\0';
	if (n != PROTO_TOKEN_SECRET_LEN + OCTO_FPR_HEX_LEN ||
	    !proto_hex_lower(line, n)) {
		fprintf(stderr, "swarm: %s: not an enrolment token\n", path);
		exit(2);
	}
	memcpy(S.conf.secret, line, PROTO_TOKEN_SECRET_LEN);
	strlcpy(S.conf.brain_fpr, line + PROTO_TOKEN_SECRET_LEN,
	    sizeof(S.conf.brain_fpr));
	crypto_wipe(line, sizeof(line));
}

static void
options(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "brain", required_argument, NULL, 'b' },
		{ "registerer-port", required_argument, NULL, 'R' },
		{ "commander-port", required_argument, NULL, 'C' },
		{ "token-file", required_argument, NULL, 't' },
		{ "net", required_argument, NULL, 'N' },
		{ "port", required_argument, NULL, 'p' },
		{ "delay", required_argument, NULL, 'd' },
		{ "script", required_argument, NULL, 's' },
		{ "output", required_argument, NULL, 'o' },
		{ "name", required_argument, NULL, 'm' },
		{ "procs", required_argument, NULL, 'P' },
		{ "enrol-parallel", required_argument, NULL, 'E' },
		{ "io-timeout", required_argument, NULL, 'T' },
		{ "no-result-on-order", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct swarm_conf	*c = &S.conf;
	const char		*token = NULL;
	int			 ch;

	strlcpy(c->brain, "127.0.0.1", sizeof(c->brain));
	c->registerer_port = 6000;
	c->commander_port = 6001;
	c->net = 2;
	c->port = 7001;
	c->procs = 1;
	c->enrol_parallel = 16;
	c->result_on_order = 1;
	c->io_timeout = OCTO_IO_TIMEOUT_DEFAULT;
	c->script = "one-line";
	c->output = "ok\n";
	c->name = "swarm-";
	while ((ch = getopt_long(argc, argv, "n:v", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (!net_addr_valid(optarg) || strlcpy(c->brain,
			    optarg, sizeof(c->brain)) >= sizeof(c->brain)) {
				fprintf(stderr, "swarm: --brain: not a "
				    "numeric address: %s\n", optarg);
				exit(2);
			}
			break;
		case 'R':
			c->registerer_port = int_arg(optarg, 1, 65535,
			    "--registerer-port");
			break;
		case 'C':
			c->commander_port = int_arg(optarg, 1, 65535,
			    "--commander-port");
			break;
		case 't':
			token = optarg;
			break;
		case 'N':
			c->net = int_arg(optarg, 1, 254, "--net");
			break;
		case 'p':
			c->port = int_arg(optarg, 1, 65535, "--port");
			break;
		case 'd':
			c->delay_ms = int_arg(optarg, 0, 3600000, "--delay");
			break;
		case 's':
			if (!proto_script_name_valid(optarg)) {
				fprintf(stderr, "swarm: --script: not a "
				    "script name: %s\n", optarg);
				exit(2);
			}
			c->script = optarg;
			break;
		case 'o':
			if (strlen(optarg) > 4096) {
				fprintf(stderr, "swarm: --output: at most "
				    "4096 bytes\n");
				exit(2);
			}
			c->output = optarg;
			break;
		case 'm':
			c->name = optarg;
			break;
		case 'P':
			c->procs = int_arg(optarg, 1, 64, "--procs");
			break;
		case 'E':
			c->enrol_parallel = int_arg(optarg, 1, 1024,
			    "--enrol-parallel");
			break;
		case 'T':
			c->io_timeout = int_arg(optarg, 1, 3600,
			    "--io-timeout");
			break;
		case 'r':
			c->result_on_order = 0;
			break;
		case 'n':
			c->n = int_arg(optarg, 1, SWARM_MAX, "-n");
			break;
		case 'v':
			c->verbose = 1;
			break;
		default:
			usage();
		}
	}
	if (optind != argc || token == NULL || c->n == 0)
		usage();
	/* Hostnames: PREFIX then the index must stay a valid name. */
	{
		char	probe[OCTO_NAME_MAX + 16];

		snprintf(probe, sizeof(probe), "%s%d", c->name, c->n - 1);
		if (!proto_hostname_valid(probe)) {
			fprintf(stderr, "swarm: --name: %s%d is not a valid "
			    "host name\n", c->name, c->n - 1);
			exit(2);
		}
	}
	if (c->procs > c->n)
		c->procs = c->n;
	token_read(token);
}

/* The parent of several workers: one line once all have enrolled their
 * slice, SIGTERM passed on, the exit status of the worst. */
static pid_t		 workers[64];
static volatile sig_atomic_t stopping;

static void
parent_signal(int sig)
{
	stopping = 1;
}

static int
parent_run(int ready_rd)
{
	struct sigaction	sa;
	int			i, reported = 0, status, rc = 0, left;
	char			c;
	ssize_t			n;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = parent_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	while (!stopping && reported < S.conf.procs) {
		n = read(ready_rd, &c, 1);
		if (n == 1)
			reported++;
		else if (n == 0 || (n == -1 && errno != EINTR))
			break;
	}
	if (reported == S.conf.procs) {
		printf("swarm: %d simulated tentacles enrolled\n", S.conf.n);
		fflush(stdout);
	}
	while (!stopping)
		if (read(ready_rd, &c, 1) <= 0 && errno != EINTR)
			break;
	for (i = 0; i < S.conf.procs; i++)
		if (workers[i] > 0)
			kill(workers[i], SIGTERM);
	for (left = S.conf.procs; left > 0; left--) {
		if (wait(&status) == -1)
			break;
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			rc = 1;
	}
	return rc;
}

int
main(int argc, char **argv)
{
	int	pfd[2], i, lo, hi, per;
	long	want;

	options(argc, argv);
	log_init("swarm", 1, S.conf.verbose);
	signal(SIGPIPE, SIG_IGN);
	S.start_ms = run_mono_ms();
	/* A listening socket per identity, and its connections. */
	want = (long)S.conf.n + 2L * S.conf.enrol_parallel + 4096;
	if (raise_nofile_limit(want) < want)
		log_warnx("RLIMIT_NOFILE is below %ld: some identities may "
		    "not listen", want);
	if (S.conf.procs == 1) {
		S.ready_fd = -1;
		return worker_run(0, S.conf.n);
	}
	if (pipe(pfd) == -1)
		fatal("pipe");
	per = (S.conf.n + S.conf.procs - 1) / S.conf.procs;
	for (i = 0; i < S.conf.procs; i++) {
		lo = i * per;
		hi = lo + per < S.conf.n ? lo + per : S.conf.n;
		if ((workers[i] = fork()) == -1)
			fatal("fork");
		if (workers[i] == 0) {
			close(pfd[0]);
			S.worker = i;
			S.ready_fd = pfd[1];
			_exit(lo < hi ? worker_run(lo, hi) : 0);
		}
	}
	close(pfd[1]);
	return parent_run(pfd[0]);
}
