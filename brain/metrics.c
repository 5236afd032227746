/*
 * GET /metrics (issue 17): the brain's state in the Prometheus text
 * exposition format (version 0.0.4), for a scraper holding the bearer
 * token of metrics_token_file (compared in constant time: both sides'
 * SHA-256). Every name starts with octopus_.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bsd/string.h>

#include "buf.h"
#include "crypto.h"
#include "ipcmsg.h"
#include "log.h"
#include "maestro.h"

#define METRICS_TEXT_MAX	(256 * 1024)

/* The token's SHA-256 (the token itself is not kept). */
static uint8_t	token_hash[SHA256_LEN];
static int	token_set;

/* The token of path (its first line) as its SHA-256 into hash: 0, or -1
 * with err. */
static int
token_load(const char *path, uint8_t hash[SHA256_LEN], char *err,
    size_t errlen)
{
	char	buf[IPCMSG_TOKEN_MAX + 3];
	ssize_t	n;
	size_t	len, i;
	int	fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		snprintf(err, errlen, "metrics_token_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0) {
		snprintf(err, errlen, "metrics_token_file %s: %s", path,
		    strerror(errno));
		return -1;
	}
	buf[n] = '\0';
	len = strcspn(buf, "\r\n");
	for (i = 0; i < len; i++)
		if (buf[i] <= 32 || buf[i] >= 127)
			break;
	if (len == 0 || len > IPCMSG_TOKEN_MAX || i != len) {
		crypto_wipe(buf, sizeof(buf));
		snprintf(err, errlen, "metrics_token_file %s: its first line "
		    "must be 1 to %d printable characters without spaces",
		    path, IPCMSG_TOKEN_MAX);
		return -1;
	}
	n = crypto_sha256(buf, len, hash);
	crypto_wipe(buf, sizeof(buf));
	if (n == -1) {
		snprintf(err, errlen, "cannot hash the metrics token");
		return -1;
	}
	return 0;
}

void
metrics_setup(void)
{
	char	err[OCTO_PATH_MAX + 128];

	if (m.conf.metrics_token_file[0] == '\0')
		return;
	if (token_load(m.conf.metrics_token_file, token_hash, err,
	    sizeof(err)) == -1)
		fatalx("%s", err);
	token_set = 1;
}

void
metrics_reload(const struct brain_conf *nc)
{
	uint8_t	h[SHA256_LEN];
	char	err[OCTO_PATH_MAX + 128];

	if (nc->metrics_token_file[0] == '\0') {
		if (token_set)
			log_info("reload: no metrics_token_file: no /metrics");
		token_set = 0;
		crypto_wipe(token_hash, sizeof(token_hash));
	} else if (token_load(nc->metrics_token_file, h, err, sizeof(err)) ==
	    -1) {
		log_warnx("reload: %s: keeping the running token", err);
		return;
	} else {
		memcpy(token_hash, h, sizeof(token_hash));
		crypto_wipe(h, sizeof(h));
		token_set = 1;
	}
	strlcpy(m.conf.metrics_token_file, nc->metrics_token_file,
	    sizeof(m.conf.metrics_token_file));
}

/* A line of the text (export_printf: one that does not fit is left out). */
#define put(...)	(void)export_printf(__VA_ARGS__)

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	put(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A bucket's bound in seconds, as short as it goes ("0.00005", "2.5"). */
static void
le_text(char *out, size_t len, uint32_t us)
{
	size_t	n;

	snprintf(out, len, "%u.%06u", us / 1000000, us % 1000000);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '0')
		out[--n] = '\0';
	if (n > 0 && out[n - 1] == '.')
		out[--n] = '\0';
}

/* One labelled histogram: cumulative buckets, +Inf, sum, count. */
static void
histogram(struct buf *b, const char *name, const char *label,
    const char *value, const struct histo *h)
{
	char		le[32];
	uint64_t	n = 0;
	int		i;

	for (i = 0; i < HISTO_BUCKETS; i++) {
		n += h->bucket[i];
		le_text(le, sizeof(le), histo_le_us[i]);
		put(b, "%s_bucket{%s=\"%s\",le=\"%s\"} %llu\n", name, label,
		    value, le, (unsigned long long)n);
	}
	put(b, "%s_bucket{%s=\"%s\",le=\"+Inf\"} %llu\n", name, label, value,
	    (unsigned long long)h->count);
	put(b, "%s_sum{%s=\"%s\"} %llu.%06llu\n", name, label, value,
	    (unsigned long long)(h->sum_us / 1000000),
	    (unsigned long long)(h->sum_us % 1000000));
	put(b, "%s_count{%s=\"%s\"} %llu\n", name, label, value,
	    (unsigned long long)h->count);
}

static void
latencies(struct buf *b, const struct ipc_metrics_get *mg)
{
	int	i;

	family(b, "octopus_http_request_duration_seconds", "histogram",
	    "Dashboard requests by route class, from the request parsed to "
	    "its response written (since webserv started).");
	for (i = 0; i < WEB_ROUTES; i++)
		histogram(b, "octopus_http_request_duration_seconds", "route",
		    ipcmsg_web_route_str(i), &mg->http[i]);
	family(b, "octopus_ipc_request_duration_seconds", "histogram",
	    "The maestro's time on each message of a child, from the request "
	    "to its answer (since the brain started).");
	for (i = 0; i < CHILD_COUNT; i++)
		if (children[i].generation > 0)
			histogram(b, "octopus_ipc_request_duration_seconds",
			    "role", children[i].name, &children[i].ipc);
}

static int
metrics_text(struct buf *b, const struct ipc_metrics_get *mg)
{
	static const char *const tstates[] = { "online", "offline", "unknown" };
	struct db_metrics		 dm;
	struct db_export_target		 t;
	time_t				 at;
	int				 i, intact;

	if (db_metrics_get(m.db, &dm) == -1)
		return -1;
	family(b, "octopus_tentacles", "gauge",
	    "Accepted tentacles by state, and those pending or rejected.");
	for (i = 0; i < 3; i++)
		put(b, "octopus_tentacles{state=\"%s\"} %lld\n", tstates[i],
		    (long long)dm.tentacles[i]);
	put(b, "octopus_tentacles{state=\"pending\"} %lld\n",
	    (long long)dm.pending);
	put(b, "octopus_tentacles{state=\"rejected\"} %lld\n",
	    (long long)dm.rejected);
	family(b, "octopus_jobs", "gauge", "Jobs by state.");
	for (i = 0; i < JOB_STATE_MAX; i++)
		put(b, "octopus_jobs{state=\"%s\"} %lld\n", job_state_name(i),
		    (long long)dm.jobs[i]);
	family(b, "octopus_results_stored_total", "counter",
	    "Results stored since the database was made.");
	put(b, "octopus_results_stored_total %lld\n", (long long)dm.results);
	family(b, "octopus_runs_total", "counter",
	    "Runs made since the database was made.");
	put(b, "octopus_runs_total %lld\n", (long long)dm.runs);
	family(b, "octopus_refused_handshakes_total", "counter",
	    "Handshakes and enrolments refused since the brain started.");
	put(b, "octopus_refused_handshakes_total %lu\n", m.refused_handshakes);
	family(b, "octopus_protocol_errors_total", "counter",
	    "Peers that broke the protocol since the brain started.");
	put(b, "octopus_protocol_errors_total %lu\n", m.protocol_errors);
	family(b, "octopus_ledger_entries", "gauge",
	    "Entries of the ledger (the hash chain of audit rows and results).");
	put(b, "octopus_ledger_entries %lld\n", (long long)dm.ledger);

	if (ledger_check_last(&at, &intact)) {
		family(b, "octopus_ledger_intact", "gauge",
		    "Whether the maestro's last check found the ledger intact.");
		put(b, "octopus_ledger_intact %d\n", intact);
		family(b, "octopus_ledger_checked_timestamp_seconds", "gauge",
		    "When the maestro last checked the ledger (Unix time).");
		put(b, "octopus_ledger_checked_timestamp_seconds %lld\n",
		    (long long)at);
	}

	family(b, "octopus_child_up", "gauge",
	    "Whether each child process of the brain runs.");
	for (i = 0; i < CHILD_COUNT; i++)
		if (children[i].generation > 0)
			put(b, "octopus_child_up{child=\"%s\"} %d\n",
			    children[i].name, children[i].state == CHILD_UP);
	family(b, "octopus_child_restarts_total", "counter",
	    "Restarts of each child process since the brain started.");
	for (i = 0; i < CHILD_COUNT; i++)
		if (children[i].generation > 0)
			put(b, "octopus_child_restarts_total{child=\"%s\"} %u\n",
			    children[i].name, children[i].restarts);

	if (export_enabled()) {
		family(b, "octopus_export_connected", "gauge",
		    "Whether each export target is connected.");
		for (i = 0; i < EXPORT_TARGETS; i++)
			if (export_target_on(i))
				put(b, "octopus_export_connected{target=\"%s\"} "
				    "%d\n", export_target_name(i),
				    export_target_state(i) == EXPORT_CONNECTED);
		family(b, "octopus_export_queue", "gauge",
		    "Events waiting for each export target.");
		for (i = 0; i < EXPORT_TARGETS; i++)
			if (export_target_on(i) && db_export_target_get(m.db,
			    export_target_name(i), &t) == 0)
				put(b, "octopus_export_queue{target=\"%s\"} "
				    "%lld\n", export_target_name(i),
				    (long long)t.queued);
		family(b, "octopus_export_dropped_total", "counter",
		    "Events dropped before delivery to each export target.");
		for (i = 0; i < EXPORT_TARGETS; i++)
			if (export_target_on(i) && db_export_target_get(m.db,
			    export_target_name(i), &t) == 0)
				put(b, "octopus_export_dropped_total{target="
				    "\"%s\"} %lld\n", export_target_name(i),
				    (long long)t.drops);
	}
	latencies(b, mg);
	family(b, "octopus_uptime_seconds", "gauge",
	    "Seconds since the brain started.");
	put(b, "octopus_uptime_seconds %lld\n",
	    (long long)(time(NULL) - m.started));
	return 0;
}

void
handle_metrics_get(struct child *c, const struct ipc_msg *msg)
{
	struct ipc_metrics_get	 mg;
	struct ipc_api_reply	 r;
	uint8_t			 h[SHA256_LEN];
	const char		*why;
	struct buf		 b;
	int			 ok;

	if (ipcmsg_decode_metrics_get(msg->payload, msg->hdr.len, &mg,
	    &why) == -1) {
		child_misbehaved(c, "sent a malformed metrics request");
		return;
	}
	if (!token_set) {
		reply_error(msg->hdr.id, c->generation, 404, "no /metrics "
		    "(metrics_token_file is not set)");
		return;
	}
	ok = mg.token[0] != '\0' && crypto_sha256(mg.token, strlen(mg.token),
	    h) == 0 && crypto_equal(h, token_hash, sizeof(h));
	crypto_wipe(&mg.token, sizeof(mg.token));
	if (!ok) {
		log_info("%s: GET /metrics without the right bearer token",
		    mg.client);
		reply_error(msg->hdr.id, c->generation, 401, "a bearer token "
		    "is required (Authorization: Bearer TOKEN)");
		return;
	}
	buf_init(&b, METRICS_TEXT_MAX);
	if (metrics_text(&b, &mg) == -1 || buf_append(&b, "", 1) == -1) {
		buf_free(&b);
		reply_error(msg->hdr.id, c->generation, 500, "database error");
		return;
	}
	memset(&r, 0, sizeof(r));
	r.status = 200;
	r.json = (const char *)b.data;
	r.json_len = b.len - 1;
	if (ipcmsg_send_api_reply(c->chan, IPC_API_REPLY, msg->hdr.id, &r) ==
	    -1)
		log_warnx("webserv: cannot send the metrics");
	buf_free(&b);
}
