#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <cmocka.h>

#include "config.h"
#include "limits.h"

struct tconf {
	char		name[16];
	char		path[64];
	long long	count;
	int		flag;
	int		port;
	char		addr[OCTO_ADDR_MAX];
};

static const struct config_key keys[] = {
	{ "name", CONF_STRING, offsetof(struct tconf, name),
	    sizeof(((struct tconf *)0)->name), 0, 0, "a name" },
	{ "path", CONF_PATH, offsetof(struct tconf, path),
	    sizeof(((struct tconf *)0)->path), 0, 0, "a path" },
	{ "count", CONF_INT, offsetof(struct tconf, count), 0, 1, 100,
	    "a count" },
	{ "flag", CONF_BOOL, offsetof(struct tconf, flag), 0, 0, 0, "flag" },
	{ "port", CONF_PORT, offsetof(struct tconf, port), 0, 0, 0, "port" },
	{ "addr", CONF_ADDR, offsetof(struct tconf, addr),
	    sizeof(((struct tconf *)0)->addr), 0, 0, "address" },
	{ NULL, 0, 0, 0, 0, 0, NULL }
};

static void
defaults(struct tconf *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->name, "default");
	strcpy(c->path, "/var/lib/x");
	c->count = 5;
	c->flag = 0;
	c->port = 6000;
	strcpy(c->addr, "127.0.0.1");
}

static int
parse(const char *text, struct tconf *c, char *err)
{
	defaults(c);
	err[0] = '\0';
	return config_parse_buf("t.conf", text, strlen(text), keys, c, err,
	    256);
}

static void
test_valid(void **state)
{
	struct tconf	c;
	char		err[256];
	const char	*text =
	    "# a comment\n"
	    "\n"
	    "   name = octo   \n"
	    "path=\"/with space/#not comment\"  # comment\n"
	    "\tcount =  42\t\n"
	    "flag = yes\n"
	    "port = 6001 # trailing comment\n"
	    "addr = ::1\r\n";

	assert_int_equal(parse(text, &c, err), 0);
	assert_string_equal(c.name, "octo");
	assert_string_equal(c.path, "/with space/#not comment");
	assert_int_equal(c.count, 42);
	assert_int_equal(c.flag, 1);
	assert_int_equal(c.port, 6001);
	assert_string_equal(c.addr, "::1");
}

static void
test_defaults_kept(void **state)
{
	struct tconf	c;
	char		err[256];

	assert_int_equal(parse("count = 7", &c, err), 0);	/* no \n */
	assert_int_equal(c.count, 7);
	assert_string_equal(c.name, "default");
	assert_int_equal(c.port, 6000);
	assert_int_equal(parse("", &c, err), 0);
	assert_int_equal(c.count, 5);
}

static void
test_quotes_comments(void **state)
{
	struct tconf	c;
	char		err[256];

	assert_int_equal(parse("name = a#b\n", &c, err), 0);
	assert_string_equal(c.name, "a#b");
	assert_int_equal(parse("name = a #b\n", &c, err), 0);
	assert_string_equal(c.name, "a");
	assert_int_equal(parse("name = \"\"\n", &c, err), 0);
	assert_string_equal(c.name, "");
	assert_int_equal(parse("name =\n", &c, err), 0);
	assert_string_equal(c.name, "");
	assert_int_equal(parse("name = # nothing\n", &c, err), 0);
	assert_string_equal(c.name, "");
	assert_int_equal(parse("name = \"a \\\"q\\\" \\\\\"\n", &c, err), 0);
	assert_string_equal(c.name, "a \"q\" \\");
	assert_int_equal(parse("name = \"x\" junk\n", &c, err), -1);
	assert_string_equal(err, "t.conf:1: junk after quoted value");
	assert_int_equal(parse("name = \"x\\n\"\n", &c, err), -1);
	assert_non_null(strstr(err, "t.conf:1: bad escape"));
}

static void
expect_err(const char *text, const char *want)
{
	struct tconf	c;
	char		err[256];

	assert_int_equal(parse(text, &c, err), -1);
	assert_string_equal(err, want);
}

static void
test_errors(void **state)
{
	char	*big, *p;
	size_t	 n;

	expect_err("\n\nname octo\n", "t.conf:3: missing '=' after 'name'");
	expect_err("name\n", "t.conf:1: missing '=' after 'name'");
	expect_err("= x\n", "t.conf:1: missing key before '='");
	expect_err("# c\nbogus = 1\n", "t.conf:2: unknown key 'bogus'");
	expect_err("name = a\n\n# x\nname = b\n",
	    "t.conf:4: duplicate key 'name' (first set on line 1)");
	expect_err("count = abc\n",
	    "t.conf:1: count: bad integer 'abc': not a number");
	expect_err("count = \n",
	    "t.conf:1: count: bad integer '': not a number");
	expect_err("count = 12ab\n",
	    "t.conf:1: count: bad integer '12ab': trailing junk");
	expect_err("count = 101\n",
	    "t.conf:1: count: bad integer '101': out of range [1, 100]");
	expect_err("count = 0\n",
	    "t.conf:1: count: bad integer '0': out of range [1, 100]");
	expect_err("count = 99999999999999999999999\n",
	    "t.conf:1: count: bad integer '99999999999999999999999': out of "
	    "range [1, 100]");
	expect_err("\nflag = maybe\n", "t.conf:2: flag: bad boolean 'maybe' "
	    "(yes/no, true/false, on/off, 1/0)");
	expect_err("port = 0\n", "t.conf:1: port: bad port '0' (1-65535)");
	expect_err("port = 65536\n",
	    "t.conf:1: port: bad port '65536' (1-65535)");
	expect_err("port = -1\n", "t.conf:1: port: bad port '-1' (1-65535)");
	expect_err("port = 80x\n", "t.conf:1: port: bad port '80x' (1-65535)");
	expect_err("addr = localhost\n",
	    "t.conf:1: addr: not a numeric address: 'localhost'");
	expect_err("addr = 1.2.3.256\n",
	    "t.conf:1: addr: not a numeric address: '1.2.3.256'");
	expect_err("name = 0123456789abcdef\n",
	    "t.conf:1: name: value too long (at most 15 bytes)");
	expect_err("name = \"unterminated\n", "t.conf:1: unterminated quote");

	/* a NUL byte */
	{
		struct tconf	c;
		char		err[256];
		const char	text[] = "name = a\nname2 = b\0c\n";

		defaults(&c);
		assert_int_equal(config_parse_buf("t.conf", text,
		    sizeof(text) - 1, keys, &c, err, sizeof(err)), -1);
		assert_string_equal(err, "t.conf:2: NUL byte in file");
	}

	/* a line longer than CONFIG_LINE_MAX */
	n = CONFIG_LINE_MAX + 100;
	big = malloc(n + 32);
	p = big;
	p += sprintf(p, "name = a\n# ");
	memset(p, 'x', CONFIG_LINE_MAX);
	p[CONFIG_LINE_MAX] = '\0';
	expect_err(big, "t.conf:2: line too long (more than 1024 bytes)");
	/* exactly CONFIG_LINE_MAX is fine */
	p[CONFIG_LINE_MAX - 2] = '\0';
	{
		struct tconf	c;
		char		err[256];

		assert_int_equal(parse(big, &c, err), 0);
	}
	free(big);
}

static void
test_set(void **state)
{
	struct tconf	c;
	char		err[256];

	defaults(&c);
	assert_int_equal(config_set(keys, &c, "count", "9", err, sizeof(err)),
	    0);
	assert_int_equal(c.count, 9);
	assert_int_equal(config_set(keys, &c, "port", "7000", err,
	    sizeof(err)), 0);
	assert_int_equal(c.port, 7000);
	assert_int_equal(config_set(keys, &c, "name", "with space", err,
	    sizeof(err)), 0);
	assert_string_equal(c.name, "with space");
	assert_int_equal(config_set(keys, &c, "flag", "on", err, sizeof(err)),
	    0);
	assert_int_equal(c.flag, 1);
	assert_int_equal(config_set(keys, &c, "port", "x", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "option --port: bad port 'x' "
	    "(1-65535)");
	assert_int_equal(config_set(keys, &c, "nope", "1", err, sizeof(err)),
	    -1);
	assert_string_equal(err, "option --nope: unknown key 'nope'");
	assert_int_equal(config_set(keys, &c, "count", " 5", err,
	    sizeof(err)), -1);
}

static char	dumped[16][256];
static int	ndumped;

static void
emit(const char *line)
{
	if (ndumped < 16)
		strncpy(dumped[ndumped++], line, 255);
}

static void
test_dump(void **state)
{
	struct tconf	c, c2;
	char		err[256], text[4096];
	int		i;

	defaults(&c);
	strcpy(c.name, "");
	strcpy(c.path, "/a b/\"q\"#");
	ndumped = 0;
	config_dump(keys, &c, emit);
	assert_int_equal(ndumped, 6);
	assert_string_equal(dumped[0], "name = \"\"");
	assert_string_equal(dumped[1], "path = \"/a b/\\\"q\\\"#\"");
	assert_string_equal(dumped[2], "count = 5");
	assert_string_equal(dumped[3], "flag = no");
	assert_string_equal(dumped[4], "port = 6000");
	assert_string_equal(dumped[5], "addr = 127.0.0.1");
	/* what it prints reads back the same */
	text[0] = '\0';
	for (i = 0; i < ndumped; i++) {
		strcat(text, dumped[i]);
		strcat(text, "\n");
	}
	memset(&c2, 0x55, sizeof(c2));
	assert_int_equal(config_parse_buf("d", text, strlen(text), keys, &c2,
	    err, sizeof(err)), 0);
	assert_string_equal(c2.path, c.path);
	assert_string_equal(c2.name, "");
	assert_int_equal(c2.count, 5);
}

static void
test_file(void **state)
{
	struct tconf	 c;
	char		 err[512], dir[] = "/tmp/octo-config-XXXXXX";
	char		 path[256];
	FILE		*f;
	long		 i;

	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/missing.conf", dir);
	defaults(&c);
	assert_int_equal(config_parse_file(path, keys, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "missing.conf: cannot read: No such file "
	    "or directory"));

	snprintf(path, sizeof(path), "%s/ok.conf", dir);
	f = fopen(path, "w");
	fputs("count = 3\nport = 1234\n", f);
	fclose(f);
	assert_int_equal(config_parse_file(path, keys, &c, err, sizeof(err)),
	    0);
	assert_int_equal(c.count, 3);
	assert_int_equal(c.port, 1234);

	snprintf(path, sizeof(path), "%s/big.conf", dir);
	f = fopen(path, "w");
	for (i = 0; i < CONFIG_FILE_MAX / 10 + 1; i++)
		fputs("# comment\n", f);
	fclose(f);
	assert_int_equal(config_parse_file(path, keys, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "big.conf: file too large"));
	unlink(path);
	snprintf(path, sizeof(path), "%s/ok.conf", dir);
	unlink(path);
	/* a directory is not readable as a file */
	assert_int_equal(config_parse_file(dir, keys, &c, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "cannot read"));
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_defaults_kept),
		cmocka_unit_test(test_quotes_comments),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_set),
		cmocka_unit_test(test_dump),
		cmocka_unit_test(test_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
