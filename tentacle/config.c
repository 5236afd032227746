/*
 * The tentacle's configuration: its keys, their defaults, and the checks
 * that span several keys. Parsing itself is common/config.c.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <bsd/string.h>

#include "keyfile.h"
#include "tentacle.h"

#define STR(f)	offsetof(struct tentacle_conf, f), \
		sizeof(((struct tentacle_conf *)0)->f)
#define NUM(f)	offsetof(struct tentacle_conf, f), 0

const struct config_key tentacle_config_keys[] = {
	{ "name", CONF_STRING, STR(name), 0, 0,
	    "name given to the brain at enrolment (default: the hostname)" },
	{ "brain", CONF_ADDR, STR(brain), 0, 0,
	    "brain address to enrol with (like -b; empty: wait on register_port)" },
	{ "brain_registerer_port", CONF_PORT, NUM(brain_registerer_port), 0, 0,
	    "brain's enrolment port (registerer)" },
	{ "brain_commander_port", CONF_PORT, NUM(brain_commander_port), 0, 0,
	    "brain's port for delivering results (commander)" },
	{ "listen_address", CONF_ADDR, STR(listen_address), 0, 0,
	    "numeric address the register and command worker listen on" },
	{ "register_port", CONF_PORT, NUM(register_port), 0, 0,
	    "TLS port where a brain enrols this tentacle (until enrolled)" },
	{ "command_port", CONF_PORT, NUM(command_port), 0, 0,
	    "TLS port where the brain sends orders (once enrolled)" },
	{ "state_dir", CONF_PATH, STR(state_dir), 0, 0,
	    "directory (0700) for the key, certificate, enrolment and spool" },
	{ "cert", CONF_PATH, STR(cert), 0, 0,
	    "TLS certificate (empty: state_dir/tentacle.crt, made at first start)" },
	{ "key", CONF_PATH, STR(key), 0, 0,
	    "TLS private key (empty: state_dir/private/tentacle.key, made at first start; its directory only the running user may write)" },
	{ "pidfile", CONF_PATH, STR(pidfile), 0, 0,
	    "pidfile, locked while running" },
	{ "user", CONF_STRING, STR(user), 0, 0,
	    "started as root: the register and command worker drop to this user (empty: no drop)" },
	{ "scripts_dir", CONF_PATH, STR(scripts_dir), 0, 0,
	    "the only directory whose scripts the brain may run" },
	{ "spool_dir", CONF_PATH, STR(spool_dir), 0, 0,
	    "results waiting for delivery (empty: state_dir/spool)" },
	{ "io_timeout", CONF_INT, NUM(io_timeout), 1, 3600,
	    "seconds a peer has for the TLS handshake and for each frame" },
	{ "brain_fingerprint", CONF_STRING, STR(brain_fingerprint), 0, 0,
	    "if set, the only brain certificate (SHA-256 SPKI, 64 hex) to enrol with" },
	{ "poll_interval", CONF_INT, NUM(poll_interval), 1, 86400,
	    "seconds between status polls while pending, and enrolment retries" },
	{ "script_timeout", CONF_INT, NUM(script_timeout), 1, 86400,
	    "seconds a script may run before its whole process group is killed" },
	{ "output_max", CONF_INT, NUM(output_max), 1, OCTO_OUTPUT_MAX,
	    "bytes of a script's output kept (stdout and stderr); the rest is cut" },
	{ "retry_max", CONF_INT, NUM(retry_max), 1, 86400,
	    "longest wait in seconds between two deliveries of a spooled result" },
	{ "pairing", CONF_STRING, STR(pairing), 0, 0,
	    "required: a brain enrolling by address must know the pairing code (unless brain or brain_fingerprint is set); off" },
	{ "managed_scripts", CONF_BOOL, NUM(managed_scripts), 0, 0,
	    "yes: take the scripts the brain signs and pushes (default no: refuse them)" },
	{ "managed_scripts_dir", CONF_PATH, STR(managed_scripts_dir), 0, 0,
	    "where they are kept, with their signatures (0700, root's; never inside state_dir)" },
	{ "labels", CONF_STRING, STR(labels), 0, 0,
	    "labels proposed to the brain (\"web, db\"), shown there as proposed until an admin accepts them" },
	{ NULL, 0, 0, 0, 0, 0, NULL }
};

void
tentacle_config_defaults(struct tentacle_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->brain_registerer_port = 6000;
	conf->brain_commander_port = 6001;
	strlcpy(conf->listen_address, "0.0.0.0", sizeof(conf->listen_address));
	conf->register_port = 7000;
	conf->command_port = 7001;
	strlcpy(conf->state_dir, "/var/lib/octopus/tentacle",
	    sizeof(conf->state_dir));
	strlcpy(conf->pidfile, "/run/octopus-tentacle/octoTentacle.pid",
	    sizeof(conf->pidfile));
	strlcpy(conf->scripts_dir, OCTO_SCRIPTS_DIR,
	    sizeof(conf->scripts_dir));
	conf->io_timeout = OCTO_IO_TIMEOUT_DEFAULT;
	conf->poll_interval = TENTACLE_POLL_DEFAULT;
	conf->script_timeout = TENTACLE_SCRIPT_TIMEOUT_DEFAULT;
	conf->output_max = OCTO_OUTPUT_MAX;
	conf->retry_max = TENTACLE_RETRY_MAX_DEFAULT;
	strlcpy(conf->pairing, "required", sizeof(conf->pairing));
	strlcpy(conf->managed_scripts_dir, TENTACLE_MANAGED_DIR_DEFAULT,
	    sizeof(conf->managed_scripts_dir));
}

/* 1 if path is dir or below it (both as written). */
static int
path_within(const char *path, const char *dir)
{
	size_t	n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

static void
default_path(char *dst, size_t size, const char *dir, const char *file)
{
	int	 n;

	if (dst[0] != '\0')
		return;
	n = snprintf(dst, size, "%s/%s", dir, file);
	if (n < 0 || (size_t)n >= size)
		dst[0] = '\0';	/* caught by tentacle_config_check() */
}

void
tentacle_config_finish(struct tentacle_conf *conf)
{
	default_path(conf->cert, sizeof(conf->cert), conf->state_dir,
	    "tentacle.crt");
	default_path(conf->key, sizeof(conf->key), conf->state_dir,
	    KEYFILE_DIR "/" KEYFILE_NAME);
	default_path(conf->spool_dir, sizeof(conf->spool_dir),
	    conf->state_dir, "spool");
}

/* A name is sent to the brain and shown in its dashboard: keep it to what
 * a hostname may contain, so it needs no quoting anywhere. */
static int
name_valid(const char *s)
{
	if (*s == '-' || *s == '.')
		return 0;
	return proto_hostname_valid(s);
}

int
tentacle_config_check(const struct tentacle_conf *conf, char *err,
    size_t errlen)
{
	struct proto_labels	 labels;
	const char		*why;

	if (conf->name[0] != '\0' && !name_valid(conf->name)) {
		snprintf(err, errlen, "name \"%s\": 1 to %d letters, digits, "
		    "'-', '.' and '_', not starting with '-' or '.'",
		    conf->name, OCTO_NAME_MAX - 1);
		return -1;
	}
	if (conf->brain_fingerprint[0] != '\0' &&
	    !proto_fingerprint_valid(conf->brain_fingerprint)) {
		snprintf(err, errlen, "brain_fingerprint: not a fingerprint "
		    "(64 lowercase hex digits, as scripts/mkcerts prints)");
		return -1;
	}
	if (proto_labels_parse(conf->labels, &labels, &why) == -1) {
		snprintf(err, errlen, "labels: %s (a list such as \"web, "
		    "db\")", why);
		return -1;
	}
	if (strcmp(conf->pairing, "required") != 0 &&
	    strcmp(conf->pairing, "off") != 0) {
		snprintf(err, errlen, "pairing: \"required\" or \"off\"");
		return -1;
	}
	if (conf->state_dir[0] == '\0') {
		snprintf(err, errlen, "state_dir must not be empty");
		return -1;
	}
	if (conf->pidfile[0] == '\0') {
		snprintf(err, errlen, "pidfile must not be empty");
		return -1;
	}
	if (conf->cert[0] == '\0' || conf->key[0] == '\0' ||
	    conf->spool_dir[0] == '\0') {
		snprintf(err, errlen, "state_dir is too long");
		return -1;
	}
	if (conf->managed_scripts_dir[0] == '\0') {
		snprintf(err, errlen, "managed_scripts_dir must not be empty");
		return -1;
	}
	if (path_within(conf->managed_scripts_dir, conf->state_dir)) {
		snprintf(err, errlen, "managed_scripts_dir %s is inside "
		    "state_dir %s: it must be where only root writes",
		    conf->managed_scripts_dir, conf->state_dir);
		return -1;
	}
	if (path_within(conf->managed_scripts_dir, conf->scripts_dir) ||
	    path_within(conf->scripts_dir, conf->managed_scripts_dir)) {
		snprintf(err, errlen, "managed_scripts_dir and scripts_dir "
		    "must not contain each other");
		return -1;
	}
	if (conf->register_port == conf->command_port) {
		snprintf(err, errlen, "register_port and command_port are "
		    "both %d", conf->register_port);
		return -1;
	}
	return 0;
}
