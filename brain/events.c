/*
 * The brain's events and their export (issue 17; export.h), in the
 * maestro: each event is made where its fact happens (fleet.c, runs.c,
 * results.c, the audit log's hook, maestro.c), numbered with the brain's
 * persisted sequence and queued on disk (db_export.c) in the transaction
 * of its fact, if there is one; the queue is handed to the exporter
 * after that (a deferred event of the loop: never what a rollback will
 * take back), per target and a window at a time, and an event leaves
 * the queue once every target acknowledged it. GET /api/export,
 * POST /api/export/test.
 */
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <openssl/x509.h>

#include "crypto.h"
#include "export.h"
#include "ipcmsg.h"
#include "ledgersig.h"
#include "log.h"
#include "maestro.h"

#define EXPORT_PUMP_BATCH	1024	/* events handed over per turn */

/* The targets as configured (files read, names resolved): what
 * IPC_EXPORT_CONF gives the exporter. */
struct targets {
	int			 on[EXPORT_TARGETS];	/* configured */
	char			 host[EXPORT_TARGETS][EXPORT_HOST_MAX];
	char			 addr[EXPORT_TARGETS][OCTO_ADDR_MAX];
	unsigned		 port[EXPORT_TARGETS];
	char			 path[EXPORT_PATH_MAX];	/* webhook's */
	struct pem		 ca[EXPORT_TARGETS];
	struct pem		 cert, key;		/* syslog client */
	struct pem		 secret;		/* webhook */
};

/* What the maestro knows of the export. */
static struct {
	struct targets		 t;
	int64_t			 sent[EXPORT_TARGETS];	/* to this exporter */
	int64_t			 acked[EXPORT_TARGETS];
	enum export_state	 state[EXPORT_TARGETS];
	char			 error[EXPORT_TARGETS][IPCMSG_ERROR_MAX];
	int			 dropping;	/* logged, until it drains */
	struct event		*pump_ev;
} ex;

int
export_enabled(void)
{
	return ex.t.on[EXPORT_SYSLOG] || ex.t.on[EXPORT_WEBHOOK];
}

int
export_target_on(int t)
{
	return t >= 0 && t < EXPORT_TARGETS && ex.t.on[t];
}

enum export_state
export_target_state(int t)
{
	return children[CHILD_EXPORTER].state == CHILD_UP ? ex.state[t] :
	    EXPORT_DOWN;
}

/* ---- configuration: files and addresses, before root is dropped ------ */

/* Line of key in the configuration file (0: not found), for errors. */
static unsigned long
key_line(const char *key)
{
	FILE		*f;
	char		 line[4096], *p;
	unsigned long	 n = 0;
	size_t		 kl = strlen(key);

	if ((f = fopen(m.config_path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		for (p = line; *p == ' ' || *p == '\t'; p++)
			;
		if (strncmp(p, key, kl) == 0 && (p[kl] == ' ' ||
		    p[kl] == '\t' || p[kl] == '=')) {
			fclose(f);
			return n;
		}
	}
	fclose(f);
	return 0;
}

static int __attribute__((format(printf, 4, 5)))
key_error(char *err, size_t errlen, const char *key, const char *fmt, ...)
{
	va_list	ap;
	size_t	n;

	n = (size_t)snprintf(err, errlen, "%s:%lu: %s: ", m.config_path,
	    key_line(key), key);
	if (n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int
export_config_check(struct brain_conf *c, char *err, size_t errlen)
{
	char		host[EXPORT_HOST_MAX], path[EXPORT_PATH_MAX];
	unsigned	port;
	size_t		i;

	for (i = 0; c->brain_name[i]; i++)
		if (c->brain_name[i] <= 32 || c->brain_name[i] >= 127)
			return key_error(err, errlen, "brain_name", "printable "
			    "ASCII without spaces (it is the syslog HOSTNAME)");
	if (c->syslog_target[0] != '\0') {
		if (export_parse_hostport(c->syslog_target, host, sizeof(host),
		    &port) == -1)
			return key_error(err, errlen, "syslog_target", "must be "
			    "HOST:PORT ([IPv6]:PORT), not %s", c->syslog_target);
		if (c->syslog_ca[0] == '\0')
			return key_error(err, errlen, "syslog_target", "needs "
			    "syslog_ca (the CA the collector's certificate "
			    "must chain to)");
	}
	if ((c->syslog_cert[0] == '\0') != (c->syslog_key[0] == '\0'))
		return key_error(err, errlen, c->syslog_cert[0] ? "syslog_cert" :
		    "syslog_key", "syslog_cert and syslog_key go together");
	if (c->webhook_url[0] != '\0') {
		if (export_parse_url(c->webhook_url, host, sizeof(host), &port,
		    path, sizeof(path)) == -1)
			return key_error(err, errlen, "webhook_url", "must be "
			    "https://HOST[:PORT][/PATH], not %s",
			    c->webhook_url);
		if (c->webhook_secret_file[0] == '\0')
			return key_error(err, errlen, "webhook_url", "needs "
			    "webhook_secret_file (the key of its signature)");
	}
	return 0;
}

/* A whole file (at most max bytes) into p. */
static int
read_file(const char *path, size_t max, struct pem *p, char *err,
    size_t errlen)
{
	struct stat	st;
	ssize_t		r;
	int		fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (size_t)st.st_size > max) {
		snprintf(err, errlen, "%s: not a file of 1 to %zu bytes",
		    path, max);
		close(fd);
		return -1;
	}
	if ((p->data = malloc((size_t)st.st_size)) == NULL)
		fatal("malloc");
	p->len = (size_t)st.st_size;
	r = read(fd, p->data, p->len);
	close(fd);
	if (r != (ssize_t)p->len) {
		snprintf(err, errlen, "%s: cannot read it whole", path);
		pem_free(p);
		return -1;
	}
	return 0;
}

/* The collector's address, numeric (the exporter resolves nothing). */
static int
resolve(const char *host, unsigned port, char *addr, size_t addrlen,
    char *err, size_t errlen)
{
	struct addrinfo	 hints, *res;
	char		 serv[8];
	int		 rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	snprintf(serv, sizeof(serv), "%u", port);
	if ((rc = getaddrinfo(host, serv, &hints, &res)) != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	rc = getnameinfo(res->ai_addr, res->ai_addrlen, addr, (socklen_t)addrlen,
	    NULL, 0, NI_NUMERICHOST);
	freeaddrinfo(res);
	if (rc != 0) {
		snprintf(err, errlen, "%s: %s", host, gai_strerror(rc));
		return -1;
	}
	return 0;
}

/* Empty: the host name (-n -v shows the key as it is set). */
static void
default_brain_name(struct brain_conf *c)
{
	char	*p;

	if (c->brain_name[0] != '\0')
		return;
	if (gethostname(c->brain_name, sizeof(c->brain_name) - 1) == -1 ||
	    c->brain_name[0] == '\0')
		strlcpy(c->brain_name, "octoBrain", sizeof(c->brain_name));
	for (p = c->brain_name; *p; p++)
		if (*p <= 32 || *p >= 127)
			*p = '_';
}

static void
targets_free(struct targets *t)
{
	int	i;

	for (i = 0; i < EXPORT_TARGETS; i++)
		pem_free(&t->ca[i]);
	pem_free(&t->cert);
	pem_free(&t->key);
	pem_free(&t->secret);
}

/* c's targets into t: 0, or -1 with err (naming the key; t freed). */
static int
targets_load(const struct brain_conf *c, struct targets *t, char *err,
    size_t errlen)
{
	char		 e[768];
	const char	*sysca;
	char		*nl;
	int		 i;

	memset(t, 0, sizeof(*t));
	if (c->syslog_target[0] != '\0') {
		t->on[EXPORT_SYSLOG] = 1;
		if (export_parse_hostport(c->syslog_target,
		    t->host[EXPORT_SYSLOG], EXPORT_HOST_MAX,
		    &t->port[EXPORT_SYSLOG]) == -1) {
			snprintf(err, errlen, "syslog_target %.900s",
			    c->syslog_target);
			goto fail;
		}
		if (read_file(c->syslog_ca, EXPORT_CA_MAX,
		    &t->ca[EXPORT_SYSLOG], e, sizeof(e)) == -1) {
			snprintf(err, errlen, "syslog_ca %s", e);
			goto fail;
		}
		if (c->syslog_cert[0] != '\0' &&
		    (read_file(c->syslog_cert, IPCMSG_PEM_MAX, &t->cert,
		    e, sizeof(e)) == -1 || read_file(c->syslog_key,
		    IPCMSG_PEM_MAX, &t->key, e, sizeof(e)) == -1)) {
			snprintf(err, errlen, "syslog_cert/syslog_key %s", e);
			goto fail;
		}
	}
	if (c->webhook_url[0] != '\0') {
		t->on[EXPORT_WEBHOOK] = 1;
		if (export_parse_url(c->webhook_url, t->host[EXPORT_WEBHOOK],
		    EXPORT_HOST_MAX, &t->port[EXPORT_WEBHOOK], t->path,
		    sizeof(t->path)) == -1) {
			snprintf(err, errlen, "webhook_url %.900s",
			    c->webhook_url);
			goto fail;
		}
		sysca = X509_get_default_cert_file();
		if (read_file(c->webhook_ca[0] ? c->webhook_ca : sysca,
		    EXPORT_CA_MAX, &t->ca[EXPORT_WEBHOOK], e, sizeof(e)) ==
		    -1) {
			snprintf(err, errlen, "webhook_ca %s", e);
			goto fail;
		}
		if (read_file(c->webhook_secret_file, EXPORT_SECRET_MAX + 2,
		    &t->secret, e, sizeof(e)) == -1) {
			snprintf(err, errlen, "webhook_secret_file %s", e);
			goto fail;
		}
		/* The key is the first line, as bytes. */
		if ((nl = memchr(t->secret.data, '\n', t->secret.len)) != NULL)
			t->secret.len = (size_t)(nl - (char *)t->secret.data);
		if (t->secret.len > 0 && t->secret.data[t->secret.len - 1] ==
		    '\r')
			t->secret.len--;
		if (t->secret.len == 0 || t->secret.len > EXPORT_SECRET_MAX) {
			snprintf(err, errlen, "webhook_secret_file %.900s: its "
			    "first line must be 1 to %d bytes",
			    c->webhook_secret_file, EXPORT_SECRET_MAX);
			goto fail;
		}
	}
	for (i = 0; i < EXPORT_TARGETS; i++)
		if (t->on[i] && resolve(t->host[i], t->port[i], t->addr[i],
		    sizeof(t->addr[i]), e, sizeof(e)) == -1) {
			snprintf(err, errlen, "%s target: %s",
			    export_target_name(i), e);
			goto fail;
		}
	return 0;
fail:
	targets_free(t);
	return -1;
}

static int
pem_same(const struct pem *a, const struct pem *b)
{
	return a->len == b->len && (a->len == 0 ||
	    memcmp(a->data, b->data, a->len) == 0);
}

static int
targets_same(const struct targets *a, const struct targets *b)
{
	int	i;

	for (i = 0; i < EXPORT_TARGETS; i++)
		if (a->on[i] != b->on[i] || strcmp(a->host[i], b->host[i]) ||
		    strcmp(a->addr[i], b->addr[i]) || a->port[i] != b->port[i] ||
		    !pem_same(&a->ca[i], &b->ca[i]))
			return 0;
	return strcmp(a->path, b->path) == 0 && pem_same(&a->cert, &b->cert) &&
	    pem_same(&a->key, &b->key) && pem_same(&a->secret, &b->secret);
}

/* The targets in the database (their queue positions) and in the log. */
static void
targets_record(void)
{
	const char	*names[EXPORT_TARGETS];
	size_t		 n = 0, i;

	for (i = 0; i < EXPORT_TARGETS; i++)
		if (ex.t.on[i])
			names[n++] = export_target_name(i);
	if (db_export_targets_set(m.db, names, n) == -1)
		fatalx("cannot record the export targets");
	for (i = 0; i < EXPORT_TARGETS; i++) {
		struct db_export_target	t;

		if (ex.t.on[i] && db_export_target_get(m.db,
		    export_target_name(i), &t) == 0)
			ex.acked[i] = ex.sent[i] = t.acked;
	}
	if (export_enabled())
		log_info("export: %s%s%s%s (brain_name %s)",
		    ex.t.on[EXPORT_SYSLOG] ? "syslog " : "",
		    ex.t.on[EXPORT_SYSLOG] ? m.conf.syslog_target : "",
		    ex.t.on[EXPORT_SYSLOG] && ex.t.on[EXPORT_WEBHOOK] ? ", " : "",
		    ex.t.on[EXPORT_WEBHOOK] ? "webhook" : "",
		    m.conf.brain_name);
}

void
export_setup(void)
{
	char	err[1024];

	default_brain_name(&m.conf);
	if (targets_load(&m.conf, &ex.t, err, sizeof(err)) == -1)
		fatalx("%s", err);
	targets_record();
}

static void	ledger_interval(long long);

/*
 * SIGHUP: the export keys again. New targets, CAs, client certificate,
 * webhook secret or brain_name: the exporter is started again with them
 * (it keeps nothing: the queue is on disk, each target goes on from what
 * it acknowledged). Files that cannot be read or names that do not
 * resolve: the running targets stay. Export turned on or off entirely
 * takes effect at the next start (the exporter child, the audit hook and
 * the ledger key come with it).
 */
void
export_reload(struct brain_conf *nc)
{
	struct targets	t;
	char		err[1024];

	m.conf.export_queue_max = nc->export_queue_max;
	if (nc->ledger_checkpoint_interval != m.conf.ledger_checkpoint_interval)
		ledger_interval(nc->ledger_checkpoint_interval);
	default_brain_name(nc);
	if (targets_load(nc, &t, err, sizeof(err)) == -1) {
		log_warnx("reload: export: %s: keeping the running targets",
		    err);
		return;
	}
	if ((t.on[EXPORT_SYSLOG] || t.on[EXPORT_WEBHOOK]) !=
	    export_enabled()) {
		log_warnx("reload: export turned %s: takes effect at the next "
		    "start", export_enabled() ? "off" : "on");
		targets_free(&t);
		return;
	}
	if (targets_same(&t, &ex.t) && strcmp(nc->brain_name,
	    m.conf.brain_name) == 0) {
		targets_free(&t);
		return;
	}
	targets_free(&ex.t);
	ex.t = t;
#define TAKE(key)	strlcpy(m.conf.key, nc->key, sizeof(m.conf.key))
	TAKE(brain_name);
	TAKE(syslog_target);
	TAKE(syslog_ca);
	TAKE(syslog_cert);
	TAKE(syslog_key);
	TAKE(webhook_url);
	TAKE(webhook_ca);
	TAKE(webhook_secret_file);
#undef TAKE
	memset(ex.state, 0, sizeof(ex.state));
	memset(ex.error, 0, sizeof(ex.error));
	targets_record();
	log_info("reload: export: new targets: the exporter starts again "
	    "with them");
	child_renew(&children[CHILD_EXPORTER]);
}

/* ---- the ledger's checkpoints ----------------------------------------- */

static struct {
	uint8_t		 priv[LEDGER_KEY_LEN];
	uint8_t		 pub[LEDGER_KEY_LEN];
	char		 pub_hex[LEDGER_KEY_LEN * 2 + 1];
	int		 have;
	struct event	*ev;
} lk;

/* Refused handshakes' minute (handshake_refused_event). */
static struct event	*refused_ev;

static int
ledger_key_path(char *path, size_t len)
{
	int	n = snprintf(path, len, "%s/ledger.key", m.conf.state_dir);

	return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* The chain's length and head, signed: a ledger.checkpoint event. */
static void
ledger_checkpoint(evutil_socket_t fd, short what, void *arg)
{
	char	head[65], sig[LEDGER_SIG_LEN * 2 + 1];
	int64_t	len;

	if (!lk.have || db_ledger_head(m.db, head, &len) == -1 ||
	    ledger_sign(lk.priv, m.conf.brain_name, len, head, sig) == -1) {
		log_warnx("cannot make a ledger checkpoint");
		return;
	}
	event_emit("ledger.checkpoint", 0, NULL, NULL, json_pack(
	    "{s:I,s:s,s:s,s:s}", "length", (json_int_t)len, "head", head,
	    "signature", sig, "public_key", lk.pub_hex));
}

/* SIGHUP: a new ledger_checkpoint_interval, from now. */
static void
ledger_interval(long long s)
{
	struct timeval	tv = { s, 0 };

	m.conf.ledger_checkpoint_interval = s;
	if (lk.ev)
		event_add(lk.ev, &tv);
}

static void
ledger_setup(struct event_base *base)
{
	struct timeval	tv = { m.conf.ledger_checkpoint_interval, 0 };
	char		path[OCTO_PATH_MAX + 16], err[512];
	int		made;

	if (ledger_key_path(path, sizeof(path)) == -1 ||
	    ledger_key_load(path, 1, lk.priv, lk.pub, &made, err,
	    sizeof(err)) == -1)
		fatalx("ledger key: %s", err);
	hex_encode(lk.pub, sizeof(lk.pub), lk.pub_hex);
	lk.have = 1;
	log_info("%s the ledger key %s: its public key (pin it off the box) "
	    "is %s", made ? "made" : "using", path, lk.pub_hex);
	if ((lk.ev = event_new(base, -1, EV_PERSIST, ledger_checkpoint,
	    NULL)) == NULL || event_add(lk.ev, &tv) == -1)
		fatalx("cannot set up the ledger checkpoints");
}

/* ---- events ---------------------------------------------------------- */

static void	export_pump(evutil_socket_t, short, void *);

/* An audit row is an event named after its action. */
static void
audit_event(int64_t id, const char *actor, const char *action,
    const char *peer, const char *detail, void *arg)
{
	event_emit(action, 0, NULL, actor, json_pack("{s:I,s:s,s:s}",
	    "audit_id", (json_int_t)id, "peer", peer, "detail", detail));
}

void
export_start(struct event_base *base)
{
	if (!export_enabled())
		return;
	if ((ex.pump_ev = event_new(base, -1, 0, export_pump, NULL)) == NULL)
		fatalx("cannot set up the export");
	db_set_audit_hook(m.db, audit_event, NULL);
	ledger_setup(base);
}

void
export_stop(void)
{
	/* The last checkpoint, delivered at the next start if not now. */
	if (lk.have && m.db)
		ledger_checkpoint(-1, 0, NULL);
	if (lk.ev)
		event_free(lk.ev);
	lk.ev = NULL;
	if (refused_ev)
		event_free(refused_ev);
	refused_ev = NULL;
	crypto_wipe(lk.priv, sizeof(lk.priv));
	lk.have = 0;
	if (m.db)
		db_set_audit_hook(m.db, NULL, NULL);
	if (ex.pump_ev)
		event_free(ex.pump_ev);
	ex.pump_ev = NULL;
	targets_free(&ex.t);
}

/* RFC 3339, UTC, milliseconds. */
static void
event_time(char *out, size_t len)
{
	struct timespec	ts;
	struct tm	tm;
	char		s[32];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out, len, "%.20s.%03dZ", s, (int)(ts.tv_nsec / 1000000) % 1000);
}

/* A random UUID (version 4), the event's own ID. */
static void
event_uuid(char out[37])
{
	uint8_t	b[16];
	char	h[33];

	crypto_random(b, sizeof(b));
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	hex_encode(b, sizeof(b), h);
	snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", h, h + 8, h + 12,
	    h + 16, h + 20);
}

int64_t
event_emit(const char *name, int64_t tentacle, const char *hostname,
    const char *actor, json_t *fields)
{
	char	 when[40], id[37];
	char	*body = NULL;
	json_t	*e;
	int64_t	 seq, dropped;

	if (!export_enabled() || m.db == NULL) {
		json_decref(fields);
		return 0;
	}
	if (fields == NULL)
		fields = json_object();
	if (db_export_next_seq(m.db, &seq) == -1) {
		json_decref(fields);
		log_warnx("event %s: no sequence number: not exported", name);
		return 0;
	}
	event_time(when, sizeof(when));
	event_uuid(id);
	e = json_pack("{s:s,s:I,s:s,s:s,s:s}", "id", id, "seq",
	    (json_int_t)seq, "time", when, "brain", m.conf.brain_name,
	    "event", name);
	if (e == NULL)
		goto fail;
	if (tentacle > 0)
		json_object_set_new(e, "tentacle", json_pack("{s:I,s:s}", "id",
		    (json_int_t)tentacle, "hostname", hostname ? hostname : ""));
	if (actor != NULL && actor[0] != '\0')
		json_object_set_new(e, "actor", json_string(actor));
	json_object_set_new(e, "fields", fields);
	fields = NULL;
	{
		char	head[65];

		/* The chain's head, with this fact's row in it. */
		json_object_set_new(e, "ledger_head", db_ledger_head(m.db,
		    head, NULL) == 0 ? json_string(head) : json_null());
	}
	body = json_dumps(e, JSON_COMPACT);
	if (body != NULL && strlen(body) > EXPORT_EVENT_MAX) {
		free(body);
		json_object_set_new(e, "fields", json_pack("{s:b}",
		    "truncated", 1));
		body = json_dumps(e, JSON_COMPACT);
	}
	json_decref(e);
	if (body == NULL)
		goto fail;
	if (db_export_push(m.db, seq, body, m.conf.export_queue_max,
	    &dropped) == -1) {
		free(body);
		goto fail;
	}
	free(body);
	if (dropped > 0 && !ex.dropping) {
		ex.dropping = 1;
		log_warnx("export queue full (export_queue_max %lld): the "
		    "oldest events are dropped", m.conf.export_queue_max);
	}
	if (ex.pump_ev)
		event_active(ex.pump_ev, EV_TIMEOUT, 0);
	return seq;
fail:
	json_decref(fields);
	log_warnx("event %s (seq %lld): cannot queue it", name, (long long)seq);
	return 0;
}

/* ---- the facts -------------------------------------------------------- */

void
tentacle_event(const char *name, int64_t tentacle, json_t *fields)
{
	char	host[OCTO_NAME_MAX] = "", state[16];

	if (!export_enabled()) {
		json_decref(fields);
		return;
	}
	(void)db_export_tentacle(m.db, tentacle, host, sizeof(host), state,
	    sizeof(state));
	event_emit(name, tentacle, host, NULL, fields);
}

void
tentacle_seen_event(int64_t tentacle)
{
	char	host[OCTO_NAME_MAX], state[16];

	if (export_enabled() && db_export_tentacle(m.db, tentacle, host,
	    sizeof(host), state, sizeof(state)) == 0 &&
	    strcmp(state, "offline") == 0)
		event_emit("tentacle.online", tentacle, host, NULL, NULL);
}

void
job_failed_event(int64_t job, const char *message)
{
	struct db_export_job	j;

	if (!export_enabled() || db_export_job(m.db, job, &j) != 0)
		return;
	event_emit("run.failed", j.tentacle, j.hostname, NULL, json_pack(
	    "{s:I,s:I,s:s,s:s}", "run", (json_int_t)j.run, "job",
	    (json_int_t)job, "script", j.script, "message",
	    message ? message : ""));
}

/* Refused handshakes, per source address and minute: the first at once,
 * the rest counted and said once at the minute's end (a flood from one
 * source is one event a minute, not one per connection). */
#define REFUSED_SOURCES		1024
#define REFUSED_WINDOW_S	60

static struct refused_source {
	char	addr[NET_PEER_MAX];	/* "" = free */
	time_t	since;
	long	count;			/* after the first */
	char	reason[IPCMSG_ERROR_MAX];
	char	child[IPCMSG_ROLE_MAX];
} refused[REFUSED_SOURCES];

static void
refused_emit(const char *addr, long count, time_t since, const char *reason,
    const char *child)
{
	event_emit("handshake.refused", 0, NULL, NULL, json_pack(
	    "{s:s,s:I,s:I,s:s,s:s}", "peer", addr, "count", (json_int_t)count,
	    "window_s", (json_int_t)(count > 1 ? time(NULL) - since : 0),
	    "reason", reason, "child", child));
}

static void
refused_flush(evutil_socket_t fd, short what, void *arg)
{
	time_t	now = time(NULL);
	int	i;

	for (i = 0; i < REFUSED_SOURCES; i++) {
		struct refused_source	*r = &refused[i];

		if (r->addr[0] == '\0' || now - r->since < REFUSED_WINDOW_S)
			continue;
		if (r->count > 0) {
			refused_emit(r->addr, r->count, r->since, r->reason,
			    r->child);
			r->count = 0;
			r->since = now;	/* the next minute counts again */
		} else
			r->addr[0] = '\0';
	}
}

void
handshake_refused_event(const char *peer, const char *reason,
    const char *child)
{
	char			 addr[NET_PEER_MAX];
	struct refused_source	*r, *free_slot = NULL;
	char			*p;
	int			 i;

	if (!export_enabled())
		return;
	/* The source address: "ip:port" or "[ip]:port" without the port. */
	strlcpy(addr, peer, sizeof(addr));
	if (addr[0] == '[' && (p = strchr(addr, ']')) != NULL)
		p[1] = '\0';
	else if ((p = strrchr(addr, ':')) != NULL && strchr(addr, ':') == p)
		*p = '\0';
	for (i = 0; i < REFUSED_SOURCES; i++) {
		r = &refused[i];
		if (r->addr[0] == '\0') {
			if (free_slot == NULL)
				free_slot = r;
			continue;
		}
		if (strcmp(r->addr, addr) == 0) {
			r->count++;
			strlcpy(r->reason, reason, sizeof(r->reason));
			strlcpy(r->child, child, sizeof(r->child));
			return;
		}
	}
	refused_emit(addr, 1, time(NULL), reason, child);
	if (free_slot != NULL) {
		strlcpy(free_slot->addr, addr, sizeof(free_slot->addr));
		free_slot->since = time(NULL);
		free_slot->count = 0;
	}
	if (refused_ev == NULL && m.base != NULL) {
		struct timeval	tv = { 5, 0 };

		if ((refused_ev = event_new(m.base, -1, EV_PERSIST,
		    refused_flush, NULL)) != NULL)
			event_add(refused_ev, &tv);
	}
}

struct finding_arg {
	int64_t			 job;
	struct db_export_job	 j;
};

static void
finding_event(const struct db_finding_change *c, void *arg)
{
	struct finding_arg	*fa = arg;

	event_emit(c->resolved ? "finding.resolved" : "finding.new",
	    fa->j.tentacle, fa->j.hostname, NULL, json_pack(
	    "{s:s,s:s,s:s,s:s,s:I,s:I}", "check", c->check, "status",
	    c->status, "was", c->was, "text", c->text, "run",
	    (json_int_t)fa->j.run, "job", (json_int_t)fa->job));
	(void)fa;
}

void
result_events(int64_t job)
{
	struct finding_arg	fa;

	if (!export_enabled() || db_export_job(m.db, job, &fa.j) != 0)
		return;
	fa.job = job;
	(void)db_export_finding_changes(m.db, job, finding_event, &fa);
}

/* ---- the exporter ---------------------------------------------------- */

static struct child *
exporter(void)
{
	struct child	*c = &children[CHILD_EXPORTER];

	return c->chan != NULL && c->state == CHILD_UP ? c : NULL;
}

struct pump_arg {
	struct child	*c;
	int		 target;
	int		 failed;
};

static void
pump_one(int64_t seq, const char *body, void *arg)
{
	struct pump_arg		*pa = arg;
	struct ipc_export_event	 ev;

	if (pa->failed)
		return;
	ev.target = (uint8_t)pa->target;
	ev.seq = (uint64_t)seq;
	ev.json = body;
	ev.json_len = strlen(body);
	if (ipcmsg_send_export_event(pa->c->chan, IPC_EXPORT_EVENT, 0, &ev) ==
	    -1) {
		pa->failed = 1;
		return;
	}
	ex.sent[pa->target] = seq;
}

static void
export_pump(evutil_socket_t fd, short what, void *arg)
{
	struct pump_arg		pa;
	int			i, more = 0;
	int64_t			room, acked, before;

	if ((pa.c = exporter()) == NULL)
		return;
	for (i = 0; i < EXPORT_TARGETS; i++) {
		if (!ex.t.on[i])
			continue;
		/* Drops moved the target's position past what it had. */
		if (db_export_acked(m.db, export_target_name(i), &acked) == 0 &&
		    acked > ex.acked[i]) {
			struct ipc_export_drop	d = { (uint8_t)i,
			    (uint64_t)acked };

			/* What the exporter has of them goes too: drops
			 * are never delivered. */
			if (ex.sent[i] > ex.acked[i])
				(void)ipcmsg_send_export_drop(pa.c->chan,
				    IPC_EXPORT_DROP, 0, &d);
			ex.acked[i] = acked;
			if (ex.sent[i] < acked)
				ex.sent[i] = acked;
		}
		room = EXPORT_WINDOW - (ex.sent[i] - ex.acked[i]);
		if (room <= 0)
			continue;
		/* A batch at a time: the loop serves the rest between. */
		if (room > EXPORT_PUMP_BATCH)
			room = EXPORT_PUMP_BATCH;
		pa.target = i;
		pa.failed = 0;
		before = ex.sent[i];
		db_export_each(m.db, ex.sent[i], (unsigned)room, pump_one, &pa);
		if (!pa.failed && ex.sent[i] - before == room)
			more = 1;
	}
	if (more)
		event_active(ex.pump_ev, EV_TIMEOUT, 0);
}

void
export_child_started(struct child *c)
{
	struct ipc_export_conf	ec;
	int			i;

	memset(&ec, 0, sizeof(ec));
	strlcpy(ec.brain, m.conf.brain_name, sizeof(ec.brain));
	if (ex.t.on[EXPORT_SYSLOG]) {
		ec.syslog_on = 1;
		strlcpy(ec.syslog_host, ex.t.host[EXPORT_SYSLOG],
		    sizeof(ec.syslog_host));
		strlcpy(ec.syslog_addr, ex.t.addr[EXPORT_SYSLOG],
		    sizeof(ec.syslog_addr));
		ec.syslog_port = ex.t.port[EXPORT_SYSLOG];
		ec.syslog_ca = ex.t.ca[EXPORT_SYSLOG].data;
		ec.syslog_ca_len = ex.t.ca[EXPORT_SYSLOG].len;
		ec.syslog_cert = ex.t.cert.data;
		ec.syslog_cert_len = ex.t.cert.len;
		ec.syslog_key = ex.t.key.data;
		ec.syslog_key_len = ex.t.key.len;
	}
	if (ex.t.on[EXPORT_WEBHOOK]) {
		ec.webhook_on = 1;
		strlcpy(ec.webhook_host, ex.t.host[EXPORT_WEBHOOK],
		    sizeof(ec.webhook_host));
		strlcpy(ec.webhook_addr, ex.t.addr[EXPORT_WEBHOOK],
		    sizeof(ec.webhook_addr));
		ec.webhook_port = ex.t.port[EXPORT_WEBHOOK];
		strlcpy(ec.webhook_path, ex.t.path, sizeof(ec.webhook_path));
		ec.webhook_ca = ex.t.ca[EXPORT_WEBHOOK].data;
		ec.webhook_ca_len = ex.t.ca[EXPORT_WEBHOOK].len;
		ec.webhook_secret = ex.t.secret.data;
		ec.webhook_secret_len = ex.t.secret.len;
	}
	if (ipcmsg_send_export_conf(c->chan, IPC_EXPORT_CONF, 0, &ec) == -1) {
		log_warnx("exporter: cannot send it its targets");
		kill(c->pid, SIGKILL);
		return;
	}
	/* A new exporter has nothing: from what was acknowledged. */
	for (i = 0; i < EXPORT_TARGETS; i++) {
		ex.sent[i] = ex.acked[i];
		ex.state[i] = EXPORT_CONNECTING;
	}
	if (ex.pump_ev)
		event_active(ex.pump_ev, EV_TIMEOUT, 0);
}

void
handle_export_ack(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_export_ack	 a;
	const char		*why, *name;
	int			 t;

	if (ipcmsg_decode_export_ack(msg->payload, msg->hdr.len, &a, &why) ==
	    -1 || !ex.t.on[a.target]) {
		child_misbehaved(c, "sent a malformed export acknowledgement");
		return;
	}
	t = a.target;
	name = export_target_name(t);
	if (a.seq > 0) {
		if ((int64_t)a.seq > ex.sent[t]) {
			child_misbehaved(c, "acknowledged an event it was "
			    "never given");
			return;
		}
		if ((int64_t)a.seq > ex.acked[t]) {
			if (db_export_ack(m.db, name, (int64_t)a.seq,
			    a.dropped) == -1)
				return;
			ex.acked[t] = (int64_t)a.seq;
		}
		if (a.dropped)
			log_warnx("export %s: %u events given up after "
			    "repeated refusals (%s)", name, a.dropped, a.error);
	}
	if (a.state != ex.state[t]) {
		if (a.state == EXPORT_CONNECTED)
			log_info("export %s: connected to %s", name,
			    ex.t.host[t]);
		else if (a.state == EXPORT_DOWN)
			log_warnx("export %s: %s is down: %s", name,
			    ex.t.host[t], a.error[0] ? a.error : "?");
		ex.state[t] = a.state;
	}
	if (a.error[0] != '\0')
		strlcpy(ex.error[t], a.error, sizeof(ex.error[t]));
	if (ex.dropping && ex.acked[t] == ex.sent[t])
		ex.dropping = 0;
	if (ex.pump_ev)
		event_active(ex.pump_ev, EV_TIMEOUT, 0);
}

/* ---- API ------------------------------------------------------------- */

void
api_export(const struct api_req *r)
{
	struct db_export_target	 t;
	json_t			*list = json_array();
	int			 i;

	for (i = 0; i < EXPORT_TARGETS; i++) {
		if (!ex.t.on[i])
			continue;
		if (db_export_target_get(m.db, export_target_name(i), &t) != 0) {
			json_decref(list);
			api_error(r, 500, "database error");
			return;
		}
		json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:I,s:I,"
		    "s:I,s:s?}", "name", export_target_name(i), "target",
		    i == EXPORT_SYSLOG ? m.conf.syslog_target :
		    m.conf.webhook_url, "state", exporter() ?
		    export_state_name(ex.state[i]) : "down", "queue",
		    (json_int_t)t.queued, "drops", (json_int_t)t.drops,
		    "delivered", (json_int_t)t.acked, "last_error",
		    ex.error[i][0] ? ex.error[i] : NULL));
	}
	{
		char	head[65] = "";
		int64_t	len = 0;

		(void)db_ledger_head(m.db, head, &len);
		api_reply(r, 200, json_pack("{s:s,s:I,s:o,s:{s:s?,s:I,s:s}}",
		    "brain", m.conf.brain_name, "queue_max",
		    (json_int_t)m.conf.export_queue_max, "targets", list,
		    "ledger", "public_key", lk.have ? lk.pub_hex : NULL,
		    "entries", (json_int_t)len, "head", head));
	}
}

void
api_export_test(const struct api_req *r)
{
	int64_t	seq;

	if (!export_enabled()) {
		api_error(r, 409, "no export target is configured "
		    "(syslog_target, webhook_url)");
		return;
	}
	if ((seq = event_emit("export.test", 0, NULL, r->s->user,
	    json_pack("{s:s}", "client", r->client))) == 0) {
		api_error(r, 500, "cannot queue the test event");
		return;
	}
	api_reply(r, 202, json_pack("{s:I}", "seq", (json_int_t)seq));
}

/* ---- octoBrain --verify-ledger ---------------------------------------- */

/* Each ledger.checkpoint event of file (one JSON object a line, as
 * exported): signed by this brain's ledger key, and its entry still the
 * one it signed. 0, 1 (said on stdout), 2. */
static int
checkpoints_check(const char *file)
{
	uint8_t		 priv[LEDGER_KEY_LEN], pub[LEDGER_KEY_LEN];
	char		 path[OCTO_PATH_MAX + 16], err[512], line[EXPORT_EVENT_MAX + 2];
	char		 entry[65];
	FILE		*f;
	json_t		*e, *fl;
	char		 anchor[65];
	unsigned long	 n = 0, good = 0, older = 0;
	int		 made, rc = 0;
	int64_t		 len, have, first;
	const char	*head, *sig, *brain;

	if (ledger_key_path(path, sizeof(path)) == -1 ||
	    ledger_key_load(path, 0, priv, pub, &made, err, sizeof(err)) == -1) {
		fprintf(stderr, "octoBrain: ledger key: %s\n", err);
		return 2;
	}
	crypto_wipe(priv, sizeof(priv));
	if ((f = fopen(file, "r")) == NULL) {
		fprintf(stderr, "octoBrain: %s: %s\n", file, strerror(errno));
		return 2;
	}
	(void)db_ledger_head(m.db, entry, &have);
	if (db_ledger_start(m.db, &first, anchor) == -1) {
		fclose(f);
		return 2;
	}
	while (rc == 0 && fgets(line, sizeof(line), f) != NULL) {
		n++;
		/* A JSON line, or a syslog line whose MSG is the JSON. */
		if ((e = json_loads(line, 0, NULL)) == NULL &&
		    ((head = strstr(line, "] {")) == NULL ||
		    (e = json_loads(head + 2, 0, NULL)) == NULL))
			continue;	/* not an event: another line */
		fl = json_object_get(e, "fields");
		head = json_string_value(json_object_get(fl, "head"));
		sig = json_string_value(json_object_get(fl, "signature"));
		brain = json_string_value(json_object_get(e, "brain"));
		len = json_integer_value(json_object_get(fl, "length"));
		if (json_is_string(json_object_get(e, "event")) &&
		    strcmp(json_string_value(json_object_get(e, "event")),
		    "ledger.checkpoint") == 0) {
			if (head == NULL || brain == NULL ||
			    !ledger_sig_ok(pub, brain, len, head, sig)) {
				printf("ledger broken: checkpoint at %s:%lu is "
				    "not signed by this brain's ledger key\n",
				    file, n);
				rc = 1;
			} else if (len > have) {
				printf("ledger broken: the checkpoint at %s:%lu "
				    "signed %lld entries, the ledger has %lld "
				    "(its tail was cut)\n", file, n,
				    (long long)len, (long long)have);
				rc = 1;
			} else if (len > 0 && len < first - 1)
				older++;	/* its entry was pruned */
			else if (len > 0 && len == first - 1 &&
			    strcmp(anchor, head) != 0) {
				printf("ledger broken: the recorded start's "
				    "anchor (entry %lld) is not the one the "
				    "checkpoint at %s:%lu signed (the start was "
				    "rewritten)\n", (long long)len, file, n);
				rc = 1;
			} else if (len > 0 && len == first - 1)
				good++;
			else if (len > 0 && (db_ledger_entry(m.db, len,
			    entry) != 0 || strcmp(entry, head) != 0)) {
				printf("ledger broken: entry %lld is not the one "
				    "the checkpoint at %s:%lu signed (the chain "
				    "was rewritten)\n", (long long)len, file, n);
				rc = 1;
			} else
				good++;
		}
		json_decref(e);
	}
	fclose(f);
	hex_encode(pub, sizeof(pub), entry);
	if (rc == 0)
		printf("%lu checkpoints of %s hold (ledger public key %s)\n",
		    good, file, entry);
	if (rc == 0 && older > 0)
		printf("%lu checkpoints of %s are older than the ledger's start "
		    "(entry %lld): their entries were pruned, not checked\n",
		    older, file, (long long)first);
	return rc;
}

static void
intact_line(const struct db_ledger_report *r)
{
	printf("ledger intact: %lld entries (%lld audit rows, %lld results, "
	    "%lld results pruned", (long long)r->entries,
	    (long long)r->audit, (long long)r->results, (long long)r->pruned);
	if (r->audit_pruned > 0)
		printf(", %lld audit rows pruned", (long long)r->audit_pruned);
	printf(")");
	if (r->start_pruned > 0)
		printf(", %lld entries pruned from the start, start hash %s",
		    (long long)r->start_pruned, r->start_hash);
	printf("\n");
}

int
ledger_verify_main(const char *checkpoints)
{
	struct db_ledger_report	r;
	char			msg[256];
	int			rc;

	/* Never a new, empty database. */
	if (access(m.conf.database, F_OK) == -1) {
		fprintf(stderr, "octoBrain: database %s: %s\n",
		    m.conf.database, strerror(errno));
		return 2;
	}
	if ((m.db = db_open(m.conf.database, msg, sizeof(msg))) == NULL) {
		fprintf(stderr, "octoBrain: database: %s\n", msg);
		return 2;
	}
	rc = db_ledger_verify(m.db, &r);
	if (rc == 0 && checkpoints != NULL) {
		intact_line(&r);
		rc = checkpoints_check(checkpoints);
		db_close(m.db);
		m.db = NULL;
		return rc;
	}
	db_close(m.db);
	m.db = NULL;
	if (rc == -1) {
		fprintf(stderr, "octoBrain: %s: cannot read the ledger\n",
		    m.conf.database);
		return 2;
	}
	if (rc == 1) {
		printf("ledger broken: %s\n", r.why);
		return 1;
	}
	intact_line(&r);
	return 0;
}
