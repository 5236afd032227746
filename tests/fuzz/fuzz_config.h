/*
 * The schema of fuzz_config.c, shared with gen_corpus.c: one key of every
 * configuration type.
 */
#ifndef OCTO_FUZZ_CONFIG_H
#define OCTO_FUZZ_CONFIG_H

#include <stddef.h>
#include <string.h>

#include "config.h"
#include "limits.h"

#define FUZZ_CONF_FILE	"fuzz.conf"	/* in error messages */
#define INT_MIN_V	(-5)
#define INT_MAX_V	100000

struct fconf {
	char		name[OCTO_NAME_MAX];
	char		dir[OCTO_PATH_MAX];
	long long	count;
	int		enabled;
	int		port;
	char		address[OCTO_ADDR_MAX];
};

static const struct config_key fuzz_config_keys[] = {
	{ "name", CONF_STRING, offsetof(struct fconf, name),
	    sizeof(((struct fconf *)0)->name), 0, 0, "a string" },
	{ "dir", CONF_PATH, offsetof(struct fconf, dir),
	    sizeof(((struct fconf *)0)->dir), 0, 0, "a path" },
	{ "count", CONF_INT, offsetof(struct fconf, count), 0,
	    INT_MIN_V, INT_MAX_V, "an integer" },
	{ "enabled", CONF_BOOL, offsetof(struct fconf, enabled), 0, 0, 0,
	    "a boolean" },
	{ "port", CONF_PORT, offsetof(struct fconf, port), 0, 0, 0, "a port" },
	{ "address", CONF_ADDR, offsetof(struct fconf, address),
	    sizeof(((struct fconf *)0)->address), 0, 0, "an address" },
	{ NULL, 0, 0, 0, 0, 0, NULL },
};

static inline void
fuzz_config_defaults(struct fconf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, "default");
	strcpy(c->dir, "/var/lib/octopus");
	c->count = 7;
	c->enabled = 1;
	c->port = 6000;
	strcpy(c->address, "127.0.0.1");
}

#endif
