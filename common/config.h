/*
 * Configuration files: `key = value` lines, `#` starts a comment, blank
 * lines ignored, values may be "double-quoted". Each program describes its
 * keys in a table of struct config_key; the parser fills a struct through
 * the offsets in that table. An unknown key, a duplicate key or a bad value
 * is an error that names file and line; the program then exits with 2.
 */
#ifndef OCTO_CONFIG_H
#define OCTO_CONFIG_H

#include <stddef.h>
#include <stdint.h>

enum config_type {
	CONF_STRING,	/* char[size]; may be empty */
	CONF_PATH,	/* char[size]; absolute, or relative to the cwd */
	CONF_INT,	/* long long, within [min, max] */
	CONF_BOOL,	/* int: yes/no, true/false, on/off, 1/0 */
	CONF_PORT,	/* int: 1..65535 */
	CONF_ADDR,	/* char[size]: a numeric IPv4 or IPv6 address */
};

struct config_key {
	const char		*name;
	enum config_type	 type;
	size_t			 offset;	/* offsetof(struct your_conf, field) */
	size_t			 size;		/* sizeof the field, for strings */
	long long		 min, max;	/* for CONF_INT */
	const char		*help;		/* one line, for docs and -v */
};

/*
 * Parse a whole file held in buf (pure: no I/O). `filename` is only used in
 * messages. On error returns -1 and writes "FILE:LINE: reason" into err.
 * Keys absent from the file keep whatever value *out already holds, so
 * callers fill defaults first.
 */
int	config_parse_buf(const char *filename, const char *buf, size_t len,
	    const struct config_key *keys, void *out, char *err, size_t errlen);

/* Read the file (at most CONFIG_FILE_MAX bytes) and parse it. A missing or
 * unreadable file is an error naming it. */
int	config_parse_file(const char *path, const struct config_key *keys,
	    void *out, char *err, size_t errlen);

/* Set one key from a string as the parser would (for command-line
 * overrides); err gets "option --x: reason". */
int	config_set(const struct config_key *keys, void *out, const char *key,
	    const char *value, char *err, size_t errlen);

/* Write "key = value" for every key (the -v view of the configuration). */
void	config_dump(const struct config_key *keys, const void *conf,
	    void (*emit)(const char *line));

#endif
