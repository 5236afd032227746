/*
 * The brain's configuration keys: one table drives the parser, -n -v and
 * the documentation. Defaults follow the FHS paths of `make install`.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "brain.h"
#include "crypto.h"
#include "net.h"

#define S(f)	offsetof(struct brain_conf, f), sizeof(((struct brain_conf *)0)->f)
#define I(f)	offsetof(struct brain_conf, f), sizeof(long long)
#define P(f)	offsetof(struct brain_conf, f), sizeof(int)

const struct config_key brain_config_keys[] = {
	{ "listen_address", CONF_ADDR, S(listen_address), 0, 0,
	    "address of the registerer (6000) and commander (6001)" },
	{ "advertise_address", CONF_ADDR, S(advertise_address), 0, 0,
	    "address tentacles deliver to (empty: listen_address unless it "
	    "is a wildcard)" },
	{ "registerer_port", CONF_PORT, P(registerer_port), 0, 0,
	    "port where tentacles ask to enrol" },
	{ "commander_port", CONF_PORT, P(commander_port), 0, 0,
	    "port where tentacles deliver results" },
	{ "web_address", CONF_ADDR, S(web_address), 0, 0,
	    "address of the HTTPS dashboard" },
	{ "web_port", CONF_PORT, P(web_port), 0, 0,
	    "port of the HTTPS dashboard" },
	{ "web_root", CONF_PATH, S(web_root), 0, 0,
	    "directory of the dashboard's static files" },
	{ "state_dir", CONF_PATH, S(state_dir), 0, 0,
	    "database, certificate and admin password live here" },
	{ "database", CONF_PATH, S(database), 0, 0,
	    "SQLite database (empty: state_dir/brain.db)" },
	{ "cert", CONF_PATH, S(cert), 0, 0,
	    "certificate for tentacles (empty: state_dir/brain.crt)" },
	{ "key", CONF_PATH, S(key), 0, 0,
	    "its private key (empty: state_dir/brain.key)" },
	{ "web_cert", CONF_PATH, S(web_cert), 0, 0,
	    "certificate of the dashboard (empty: state_dir/web.crt)" },
	{ "web_key", CONF_PATH, S(web_key), 0, 0,
	    "its private key (empty: state_dir/web.key)" },
	{ "pidfile", CONF_PATH, S(pidfile), 0, 0,
	    "pid file, locked while the brain runs" },
	{ "user", CONF_STRING, S(user), 0, 0,
	    "drop to this user when started as root (empty: no drop)" },
	{ "webserv_user", CONF_STRING, S(webserv_user), 0, 0,
	    "started as root with user set: the webserv's own user" },
	{ "registerer_user", CONF_STRING, S(registerer_user), 0, 0,
	    "started as root with user set: the registerer's own user" },
	{ "commander_user", CONF_STRING, S(commander_user), 0, 0,
	    "started as root with user set: the commander's own user" },
	{ "session_timeout", CONF_INT, I(session_timeout), 1, 86400,
	    "seconds without a user request before a session ends" },
	{ "login_attempts", CONF_INT, I(login_attempts), 1, 100000,
	    "login attempts allowed per client address and window" },
	{ "login_window", CONF_INT, I(login_window), 1, 86400,
	    "seconds of the login rate-limit window" },
	{ "kdf_iterations", CONF_INT, I(kdf_iterations), KDF_ITERATIONS_MIN,
	    10000000, "PBKDF2-SHA256 iterations for new password hashes" },
	{ "max_tentacles", CONF_INT, I(max_tentacles), 1, 1000000,
	    "tentacles expected; sizes the open-files limit" },
	{ "io_timeout", CONF_INT, I(io_timeout), 1, 3600,
	    "seconds a peer has for the TLS handshake and each message" },
	{ "restart_delay_max", CONF_INT, I(restart_delay_max), 1, 3600,
	    "longest wait before restarting a child that died" },
	{ "keepalive_interval", CONF_INT, I(keepalive_interval), 1, 86400,
	    "seconds between the brain's pings of each accepted tentacle" },
	{ "keepalive_misses", CONF_INT, I(keepalive_misses), 1, 1000,
	    "pings missed in a row before a tentacle is offline" },
	{ "checks_file", CONF_PATH, S(checks_file), 0, 0,
	    "references, title and fix of every CHECK-ID (tab-separated)" },
	{ "enrolment_without_token", CONF_STRING,
	    S(enrolment_without_token), 0, 0,
	    "pending: a tentacle without a valid token waits for an admin; "
	    "refuse: it is refused" },
	{ "pending_max", CONF_INT, I(pending_max), 0, 100000,
	    "pending tentacles at most; further requests are refused" },
	{ "enrolment_rate", CONF_INT, I(enrolment_rate), 0, 100000,
	    "enrolment requests without a valid token taken per source "
	    "address and minute (0: no limit)" },
	{ "totp_required", CONF_STRING, S(totp_required), 0, 0,
	    "who must have TOTP: none, admin (admins) or all (every user)" },
	/* export (issue 17) */
	{ "brain_name", CONF_STRING, S(brain_name), 0, 0,
	    "this brain's name in every exported event (empty: the host "
	    "name)" },
	{ "exporter_user", CONF_STRING, S(exporter_user), 0, 0,
	    "started as root with user set: the exporter's own user" },
	{ "syslog_target", CONF_STRING, S(syslog_target), 0, 0,
	    "HOST:PORT of a syslog collector: RFC 5424 over TLS (RFC 5425) "
	    "(empty: none)" },
	{ "syslog_ca", CONF_PATH, S(syslog_ca), 0, 0,
	    "CA certificates the syslog collector's certificate must chain "
	    "to" },
	{ "syslog_cert", CONF_PATH, S(syslog_cert), 0, 0,
	    "client certificate for the syslog collector (optional)" },
	{ "syslog_key", CONF_PATH, S(syslog_key), 0, 0,
	    "its private key" },
	{ "webhook_url", CONF_STRING, S(webhook_url), 0, 0,
	    "https://HOST[:PORT]/PATH each event is POSTed to (empty: none)" },
	{ "webhook_ca", CONF_PATH, S(webhook_ca), 0, 0,
	    "CA certificates the webhook's certificate must chain to "
	    "(empty: the system's)" },
	{ "webhook_secret_file", CONF_PATH, S(webhook_secret_file), 0, 0,
	    "file whose first line is the key of the webhook's "
	    "X-Octopus-Signature (HMAC-SHA256)" },
	{ "export_queue_max", CONF_INT, I(export_queue_max), 1, 10000000,
	    "events kept for targets that are down; past it the oldest are "
	    "dropped (counted)" },
	{ "ledger_checkpoint_interval", CONF_INT,
	    I(ledger_checkpoint_interval), 1, 86400,
	    "seconds between two signed ledger.checkpoint events (export "
	    "on)" },
	{ "test_ledger_verify_interval", CONF_INT,
	    I(test_ledger_verify_interval), 0, 86400,
	    "tests only: seconds between the maestro's checks of the ledger "
	    "instead of a day (0: daily)" },
	{ "metrics_token_file", CONF_PATH, S(metrics_token_file), 0, 0,
	    "file whose first line is the bearer token of GET /metrics "
	    "(empty: no /metrics)" },
	{ "retention_days", CONF_INT, I(retention_days), 1, 36500,
	    "days results and runs are kept (each host's latest result of each script always)" },
	{ "audit_retention_days", CONF_INT, I(audit_retention_days), 1, 36500,
	    "days audit log lines are kept" },
	{ NULL, 0, 0, 0, 0, 0, NULL }
};

void
brain_config_defaults(struct brain_conf *c)
{
	memset(c, 0, sizeof(*c));
	strlcpy(c->listen_address, "0.0.0.0", sizeof(c->listen_address));
	c->registerer_port = 6000;
	c->commander_port = 6001;
	strlcpy(c->web_address, "0.0.0.0", sizeof(c->web_address));
	c->web_port = 8443;
	strlcpy(c->web_root, OCTO_WEB_ROOT, sizeof(c->web_root));
	strlcpy(c->state_dir, "/var/lib/octopus/brain", sizeof(c->state_dir));
	strlcpy(c->pidfile, "/run/octopus-brain/octoBrain.pid",
	    sizeof(c->pidfile));
	strlcpy(c->user, "octopus", sizeof(c->user));
	strlcpy(c->webserv_user, "octopus-web", sizeof(c->webserv_user));
	strlcpy(c->registerer_user, "octopus-reg", sizeof(c->registerer_user));
	strlcpy(c->commander_user, "octopus-cmd", sizeof(c->commander_user));
	c->session_timeout = 300;	/* report 4.3 */
	c->login_attempts = 10;
	c->login_window = 60;
	c->kdf_iterations = KDF_ITERATIONS_DEFAULT;
	c->max_tentacles = 4096;
	c->enrolment_rate = ENROL_RATE_DEFAULT;
	c->io_timeout = OCTO_IO_TIMEOUT_DEFAULT;
	c->restart_delay_max = 30;
	c->keepalive_interval = 30;
	c->keepalive_misses = 3;
	strlcpy(c->checks_file, OCTO_CHECKS_FILE, sizeof(c->checks_file));
	strlcpy(c->enrolment_without_token, "pending",
	    sizeof(c->enrolment_without_token));
	c->pending_max = 100;
	strlcpy(c->totp_required, "none", sizeof(c->totp_required));
	strlcpy(c->exporter_user, "octopus-exp", sizeof(c->exporter_user));
	c->export_queue_max = 100000;
	c->ledger_checkpoint_interval = 3600;
	c->retention_days = 365;
	c->audit_retention_days = 730;
}

/* A path derived from state_dir must fit, or the wrong file is used. */
static int
default_path(char *field, size_t size, const char *dir, const char *name)
{
	int	n;

	if (field[0] != '\0')
		return 0;
	n = snprintf(field, size, "%s/%s", dir, name);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

int
brain_config_finish(struct brain_conf *c)
{
	if (default_path(c->database, sizeof(c->database), c->state_dir,
	    "brain.db") == -1 ||
	    default_path(c->cert, sizeof(c->cert), c->state_dir,
	    "brain.crt") == -1 ||
	    default_path(c->key, sizeof(c->key), c->state_dir,
	    "brain.key") == -1 ||
	    default_path(c->web_cert, sizeof(c->web_cert), c->state_dir,
	    "web.crt") == -1 ||
	    default_path(c->web_key, sizeof(c->web_key), c->state_dir,
	    "web.key") == -1)
		return -1;
	if (c->advertise_address[0] == '\0' &&
	    net_addr_specific(c->listen_address))
		strlcpy(c->advertise_address, c->listen_address,
		    sizeof(c->advertise_address));
	return 0;
}
