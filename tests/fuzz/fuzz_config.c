/*
 * config_parse_buf over a schema with one key of every type.
 *
 * Invariants: it never crashes; an error always reads "fuzz.conf:LINE: "
 * with LINE a line of the input; on success every field holds a value its
 * type allows (strings NUL-terminated within their field, integers within
 * [min, max], booleans 0 or 1, ports 1..65535, addresses numeric or
 * empty), and the configuration written back by config_dump parses again
 * to the very same values.
 */
#include <ctype.h>
#include <string.h>

#include <arpa/inet.h>

#include "fuzz.h"
#include "fuzz_config.h"

static void
check_values(const struct fconf *c)
{
	struct in_addr	a4;
	struct in6_addr	a6;

	FUZZ_CHECK(memchr(c->name, '\0', sizeof(c->name)) != NULL);
	FUZZ_CHECK(memchr(c->dir, '\0', sizeof(c->dir)) != NULL);
	FUZZ_CHECK(memchr(c->address, '\0', sizeof(c->address)) != NULL);
	FUZZ_CHECK(c->count >= INT_MIN_V && c->count <= INT_MAX_V);
	FUZZ_CHECK(c->enabled == 0 || c->enabled == 1);
	FUZZ_CHECK(c->port >= 1 && c->port <= 65535);
	FUZZ_CHECK(c->address[0] == '\0' ||
	    inet_pton(AF_INET, c->address, &a4) == 1 ||
	    inet_pton(AF_INET6, c->address, &a6) == 1);
}

/* "fuzz.conf:LINE: reason", LINE in 1..lines. */
static void
check_error(const char *err, unsigned long lines)
{
	const char	*p;
	unsigned long	 line = 0;

	FUZZ_CHECK(strncmp(err, FUZZ_CONF_FILE ":",
	    strlen(FUZZ_CONF_FILE ":")) == 0);
	p = err + strlen(FUZZ_CONF_FILE ":");
	FUZZ_CHECK(*p >= '1' && *p <= '9');
	while (isdigit((unsigned char)*p)) {
		FUZZ_CHECK(line < 100000000);
		line = line * 10 + (unsigned long)(*p++ - '0');
	}
	FUZZ_CHECK(p[0] == ':' && p[1] == ' ' && p[2] != '\0');
	FUZZ_CHECK(line >= 1 && line <= lines);
}

/* config_dump's lines, gathered into one file. */
static char	dumped[16 * 1024];
static size_t	dumped_len;
static int	dumped_fits;

static void
gather(const char *line)
{
	size_t	n = strlen(line);

	/* A value near its field's size may give a dump line past
	 * CONFIG_LINE_MAX: not something the parser has to read back. */
	if (n > CONFIG_LINE_MAX)
		dumped_fits = 0;
	FUZZ_CHECK(dumped_len + n + 1 <= sizeof(dumped));
	memcpy(dumped + dumped_len, line, n);
	dumped_len += n;
	dumped[dumped_len++] = '\n';
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fconf	*c, *again;
	char		*err;
	unsigned long	 lines = 1;
	size_t		 i, errlen = 256;
	int		 r;

	if (size > CONFIG_FILE_MAX)
		return 0;
	for (i = 0; i < size; i++)
		if (data[i] == '\n')
			lines++;

	/* Exact sizes on the heap: any overflow trips ASan. */
	c = malloc(sizeof(*c));
	again = malloc(sizeof(*again));
	err = malloc(errlen);
	FUZZ_CHECK(c != NULL && again != NULL && err != NULL);
	fuzz_config_defaults(c);
	memset(err, 'J', errlen);
	err[0] = '\0';

	r = config_parse_buf(FUZZ_CONF_FILE, (const char *)data, size,
	    fuzz_config_keys, c, err, errlen);
	FUZZ_CHECK(r == 0 || r == -1);
	if (r == -1) {
		FUZZ_CHECK(memchr(err, '\0', errlen) != NULL);
		check_error(err, lines);
		/* Keys set before the bad line keep checked values. */
		check_values(c);
	} else {
		check_values(c);
		dumped_len = 0;
		dumped_fits = 1;
		config_dump(fuzz_config_keys, c, gather);
		if (dumped_fits) {
			fuzz_config_defaults(again);
			memset(again->name, 'J', sizeof(again->name) - 1);
			r = config_parse_buf("dump", dumped, dumped_len,
			    fuzz_config_keys, again, err, errlen);
			if (r != 0)
				fprintf(stderr, "dump does not parse: %s\n%.*s",
				    err, (int)dumped_len, dumped);
			FUZZ_CHECK(r == 0);
			FUZZ_CHECK(strcmp(c->name, again->name) == 0);
			FUZZ_CHECK(strcmp(c->dir, again->dir) == 0);
			FUZZ_CHECK(c->count == again->count);
			FUZZ_CHECK(c->enabled == again->enabled);
			FUZZ_CHECK(c->port == again->port);
			FUZZ_CHECK(strcmp(c->address, again->address) == 0);
		}
	}
	free(err);
	free(again);
	free(c);
	return 0;
}
