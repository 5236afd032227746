/*
 * Configuration files: `key = value` lines checked against a table of
 * keys. Pure parsing in config_parse_buf(); every error names FILE:LINE.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include <bsd/string.h>

#include "config.h"
#include "limits.h"

static const struct config_key *
config_find(const struct config_key *keys, const char *name, size_t *idx)
{
	size_t	i;

	for (i = 0; keys[i].name != NULL; i++) {
		if (strcmp(keys[i].name, name) == 0) {
			if (idx != NULL)
				*idx = i;
			return &keys[i];
		}
	}
	return NULL;
}

static int
config_addr_ok(const char *s)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	return inet_pton(AF_INET, s, &a4) == 1 ||
	    inet_pton(AF_INET6, s, &a6) == 1;
}

/*
 * Parse value for key k into out. On error writes the reason (without
 * location) into why.
 */
static int
config_value(const struct config_key *k, void *out, const char *value,
    char *why, size_t whylen)
{
	char		*ep, *field = (char *)out + k->offset;
	long long	 ll;
	int		 b;

	switch (k->type) {
	case CONF_STRING:
	case CONF_PATH:
	case CONF_ADDR:
		if (k->size == 0 || strlen(value) > k->size - 1) {
			snprintf(why, whylen, "value too long (at most "
			    "%zu bytes)", k->size ? k->size - 1 : 0);
			return -1;
		}
		if (k->type == CONF_ADDR && value[0] != '\0' &&
		    !config_addr_ok(value)) {
			snprintf(why, whylen, "not a numeric address: "
			    "'%s'", value);
			return -1;
		}
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CONF_INT:
		errno = 0;
		if (value[0] == '\0' || isspace((unsigned char)value[0])) {
			snprintf(why, whylen, "bad integer '%s': not a "
			    "number", value);
			return -1;
		}
		ll = strtoll(value, &ep, 10);
		if (ep == value) {
			snprintf(why, whylen, "bad integer '%s': not a "
			    "number", value);
			return -1;
		}
		if (*ep != '\0') {
			snprintf(why, whylen, "bad integer '%s': trailing "
			    "junk", value);
			return -1;
		}
		if (errno == ERANGE || ll < k->min || ll > k->max) {
			snprintf(why, whylen, "bad integer '%s': out of "
			    "range [%lld, %lld]", value, k->min,
			    k->max);
			return -1;
		}
		memcpy(field, &ll, sizeof(ll));
		return 0;
	case CONF_BOOL:
		if (strcasecmp(value, "yes") == 0 ||
		    strcasecmp(value, "true") == 0 ||
		    strcasecmp(value, "on") == 0 || strcmp(value, "1") == 0)
			b = 1;
		else if (strcasecmp(value, "no") == 0 ||
		    strcasecmp(value, "false") == 0 ||
		    strcasecmp(value, "off") == 0 || strcmp(value, "0") == 0)
			b = 0;
		else {
			snprintf(why, whylen, "bad boolean '%s' (yes/no, "
			    "true/false, on/off, 1/0)", value);
			return -1;
		}
		memcpy(field, &b, sizeof(b));
		return 0;
	case CONF_PORT:
		errno = 0;
		if (!isdigit((unsigned char)value[0])) {
			snprintf(why, whylen, "bad port '%s' (1-65535)",
			    value);
			return -1;
		}
		ll = strtoll(value, &ep, 10);
		if (*ep != '\0' || errno == ERANGE || ll < 1 || ll > 65535) {
			snprintf(why, whylen, "bad port '%s' (1-65535)",
			    value);
			return -1;
		}
		b = (int)ll;
		memcpy(field, &b, sizeof(b));
		return 0;
	}
	snprintf(why, whylen, "unknown key type");
	return -1;
}

/*
 * Split one line (NUL-free, without its newline, at most CONFIG_LINE_MAX
 * bytes) into key and value. Returns 1 for a key/value pair, 0 for a blank
 * or comment line, -1 with why.
 */
static int
config_split(char *line, char **key, char **value, char *why, size_t whylen)
{
	char	*p = line, *e, *v, *o;

	while (isspace((unsigned char)*p))
		p++;
	e = p + strlen(p);
	while (e > p && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (*p == '\0' || *p == '#')
		return 0;

	*key = p;
	while (*p != '\0' && *p != '=' && !isspace((unsigned char)*p))
		p++;
	if (p == *key) {
		snprintf(why, whylen, "missing key before '='");
		return -1;
	}
	e = p;
	while (isspace((unsigned char)*p))
		p++;
	if (*p != '=') {
		*e = '\0';
		snprintf(why, whylen, "missing '=' after '%.64s'", *key);
		return -1;
	}
	*e = '\0';
	p++;
	while (isspace((unsigned char)*p))
		p++;

	if (*p == '"') {
		/* Quoted: \" and \\ are the only escapes; unescape in
		 * place (o never passes p). */
		v = o = ++p;
		for (;;) {
			if (*p == '\0') {
				snprintf(why, whylen, "unterminated quote");
				return -1;
			}
			if (*p == '"')
				break;
			if (*p == '\\') {
				if (p[1] != '"' && p[1] != '\\') {
					snprintf(why, whylen, "bad escape in "
					    "quoted value (only \\\" and \\\\)");
					return -1;
				}
				p++;
			}
			*o++ = *p++;
		}
		*o = '\0';
		p++;
		while (isspace((unsigned char)*p))
			p++;
		if (*p != '\0' && *p != '#') {
			snprintf(why, whylen, "junk after quoted value");
			return -1;
		}
		*value = v;
		return 1;
	}

	/* Unquoted: a '#' after whitespace starts a comment. */
	v = p;
	if (*p == '#') {
		/* "key = # comment": the '#' follows whitespace. */
		if (p > line && isspace((unsigned char)p[-1]))
			*p = '\0';
	}
	for (; *p != '\0'; p++) {
		if (*p == '#' && p > v && isspace((unsigned char)p[-1])) {
			*p = '\0';
			break;
		}
	}
	e = v + strlen(v);
	while (e > v && isspace((unsigned char)e[-1]))
		*--e = '\0';
	*value = v;
	return 1;
}

static size_t
config_nkeys(const struct config_key *keys)
{
	size_t	n = 0;

	while (keys[n].name != NULL)
		n++;
	return n;
}

int
config_parse_buf(const char *filename, const char *buf, size_t len,
    const struct config_key *keys, void *out, char *err, size_t errlen)
{
	const struct config_key	*k;
	char			 line[CONFIG_LINE_MAX + 1];
	char			 why[256];
	char			*key, *value;
	const char		*p = buf, *end = buf + len, *nl;
	size_t			 n, idx, nkeys;
	unsigned long		*seen;
	unsigned long		 lineno = 0;
	int			 r, ret = -1;

	nkeys = config_nkeys(keys);
	if ((seen = calloc(nkeys + 1, sizeof(*seen))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", filename);
		return -1;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = (nl != NULL ? nl : end) - p;
		if (memchr(p, '\0', n) != NULL) {
			snprintf(err, errlen, "%s:%lu: NUL byte in file",
			    filename, lineno);
			goto done;
		}
		if (n > CONFIG_LINE_MAX) {
			snprintf(err, errlen, "%s:%lu: line too long (more "
			    "than %d bytes)", filename, lineno,
			    CONFIG_LINE_MAX);
			goto done;
		}
		memcpy(line, p, n);
		line[n] = '\0';
		p = nl != NULL ? nl + 1 : end;

		r = config_split(line, &key, &value, why, sizeof(why));
		if (r == 0)
			continue;
		if (r == -1) {
			snprintf(err, errlen, "%s:%lu: %s", filename, lineno,
			    why);
			goto done;
		}
		if ((k = config_find(keys, key, &idx)) == NULL) {
			snprintf(err, errlen, "%s:%lu: unknown key '%s'",
			    filename, lineno, key);
			goto done;
		}
		if (seen[idx] != 0) {
			snprintf(err, errlen, "%s:%lu: duplicate key '%s' "
			    "(first set on line %lu)", filename, lineno, key,
			    seen[idx]);
			goto done;
		}
		seen[idx] = lineno;
		if (config_value(k, out, value, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%lu: %s: %s", filename,
			    lineno, k->name, why);
			goto done;
		}
	}
	ret = 0;
 done:
	explicit_bzero(line, sizeof(line));
	free(seen);
	return ret;
}

int
config_parse_file(const char *path, const struct config_key *keys,
    void *out, char *err, size_t errlen)
{
	char	*buf;
	size_t	 len = 0;
	ssize_t	 n;
	int	 fd, ret, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		    strerror(errno));
		return -1;
	}
	/* One byte more than allowed tells a too large file. */
	if ((buf = malloc(CONFIG_FILE_MAX + 1)) == NULL) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	while (len < CONFIG_FILE_MAX + 1) {
		n = read(fd, buf + len, CONFIG_FILE_MAX + 1 - len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			saved = errno;
			close(fd);
			free(buf);
			snprintf(err, errlen, "%s: cannot read: %s", path,
			    strerror(saved));
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > CONFIG_FILE_MAX) {
		free(buf);
		snprintf(err, errlen, "%s: file too large (more than %d "
		    "bytes)", path, CONFIG_FILE_MAX);
		return -1;
	}
	ret = config_parse_buf(path, buf, len, keys, out, err, errlen);
	free(buf);
	return ret;
}

int
config_set(const struct config_key *keys, void *out, const char *key,
    const char *value, char *err, size_t errlen)
{
	const struct config_key	*k;
	char			 why[256];

	if ((k = config_find(keys, key, NULL)) == NULL) {
		snprintf(err, errlen, "option --%s: unknown key '%s'", key,
		    key);
		return -1;
	}
	if (value == NULL)
		value = "";
	if (strlen(value) > CONFIG_LINE_MAX) {
		snprintf(err, errlen, "option --%s: value too long", key);
		return -1;
	}
	if (config_value(k, out, value, why, sizeof(why)) == -1) {
		snprintf(err, errlen, "option --%s: %s", key, why);
		return -1;
	}
	return 0;
}

/* Quote a string value when it would not read back as it is. */
static void
config_quote(const char *s, char *out, size_t outsz)
{
	size_t	o = 0;
	int	need = s[0] == '\0';
	const char *p;

	for (p = s; *p != '\0' && !need; p++)
		if (isspace((unsigned char)*p) || *p == '#' || *p == '"' ||
		    *p == '\\')
			need = 1;
	if (!need) {
		strlcpy(out, s, outsz);
		return;
	}
	if (outsz < 3) {
		out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (p = s; *p != '\0'; p++) {
		if (*p == '"' || *p == '\\') {
			if (o + 2 >= outsz - 1)
				break;
			out[o++] = '\\';
		} else if (o + 1 >= outsz - 1)
			break;
		out[o++] = *p;
	}
	out[o++] = '"';
	out[o] = '\0';
}

void
config_dump(const struct config_key *keys, const void *conf,
    void (*emit)(const char *line))
{
	char		 val[2 * CONFIG_LINE_MAX + 3];
	char		 line[sizeof(val) + 128];
	const char	*field;
	long long	 ll;
	int		 i;
	size_t		 n;

	for (n = 0; keys[n].name != NULL; n++) {
		field = (const char *)conf + keys[n].offset;
		switch (keys[n].type) {
		case CONF_STRING:
		case CONF_PATH:
		case CONF_ADDR:
			config_quote(field, val, sizeof(val));
			break;
		case CONF_INT:
			memcpy(&ll, field, sizeof(ll));
			snprintf(val, sizeof(val), "%lld", ll);
			break;
		case CONF_BOOL:
			memcpy(&i, field, sizeof(i));
			strlcpy(val, i ? "yes" : "no", sizeof(val));
			break;
		case CONF_PORT:
			memcpy(&i, field, sizeof(i));
			snprintf(val, sizeof(val), "%d", i);
			break;
		default:
			strlcpy(val, "?", sizeof(val));
			break;
		}
		snprintf(line, sizeof(line), "%s = %s", keys[n].name, val);
		emit(line);
	}
}
