/*
 * Managed scripts on the tentacle (tentacle/managed.c): the record's
 * strict reader and its writer, the pinned key (never replaced), puts and
 * deletes checked (hash, signature, versions) and written atomically.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "managed.h"
#include "scriptsig.h"

static char	dir[256];
static EVP_PKEY	*key;

#define HEX64	"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define SIG128	HEX64 HEX64

static int
setup(void **state)
{
	char	tmpl[] = "/tmp/test-managed-XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(dir, sizeof(dir), "%s/m", tmpl);
	key = scriptsig_keygen();
	return key == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[600];

	EVP_PKEY_free(key);
	snprintf(cmd, sizeof(cmd), "rm -rf '%.*s'", (int)(strlen(dir) - 2),
	    dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_record(void **state)
{
	static const char good[] = MANAGED_SIG_MAGIC "version 12\nsha256 "
	    HEX64 "\nsignature " SIG128 "\n";
	static const char tomb[] = MANAGED_SIG_MAGIC "version 13\ndeleted\n"
	    "signature " SIG128 "\n";
	static const char *const bad[] = {
		"",
		"octopus-managed-script-v2\nversion 1\ndeleted\nsignature "
		    SIG128 "\n",
		MANAGED_SIG_MAGIC "version 0\ndeleted\nsignature " SIG128 "\n",
		MANAGED_SIG_MAGIC "version 01\ndeleted\nsignature " SIG128 "\n",
		MANAGED_SIG_MAGIC "version 4294967296\ndeleted\nsignature "
		    SIG128 "\n",
		MANAGED_SIG_MAGIC "version -1\ndeleted\nsignature " SIG128 "\n",
		MANAGED_SIG_MAGIC "version 1\nsha256 ABCD\nsignature " SIG128
		    "\n",
		MANAGED_SIG_MAGIC "version 1\ndeleted\nsignature " HEX64 "\n",
		MANAGED_SIG_MAGIC "version 1\ndeleted\nsignature " SIG128,
		MANAGED_SIG_MAGIC "version 1\ndeleted\nsignature " SIG128 "\nx",
		MANAGED_SIG_MAGIC "version 1\nsignature " SIG128 "\n",
	};
	struct managed_sig	 s;
	struct buf		 b;
	char			 err[128];
	size_t			 i;

	assert_int_equal(managed_sig_parse(good, strlen(good), &s, err,
	    sizeof(err)), 0);
	assert_int_equal(s.version, 12);
	assert_false(s.deleted);
	assert_string_equal(s.sha256, HEX64);
	assert_int_equal(s.sig[0], 0x01);
	assert_int_equal(s.sig[63], 0xef);
	buf_init(&b, MANAGED_SIG_MAX);
	assert_int_equal(managed_sig_format(&b, &s), 0);
	assert_int_equal(b.len, strlen(good));
	assert_memory_equal(b.data, good, b.len);
	buf_reset(&b);
	assert_int_equal(managed_sig_parse(tomb, strlen(tomb), &s, err,
	    sizeof(err)), 0);
	assert_true(s.deleted);
	assert_int_equal(s.version, 13);
	assert_int_equal(managed_sig_format(&b, &s), 0);
	assert_memory_equal(b.data, tomb, b.len);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(managed_sig_parse(bad[i], strlen(bad[i]), &s,
		    err, sizeof(err)), -1);
		assert_true(err[0] != '\0');
		assert_int_equal(s.version, 0);
	}
	s.version = 0;
	assert_int_equal(managed_sig_format(&b, &s), -1);
	buf_free(&b);
}

static void
put_of(struct msg_script_put *m, const char *name, uint32_t version,
    const char *body)
{
	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	m->version = version;
	m->body = (const uint8_t *)body;
	m->body_len = strlen(body);
	assert_int_equal(scriptsig_sha256_hex(body, strlen(body), m->sha256),
	    0);
	assert_int_equal(scriptsig_sign_put(key, name, version, m->sha256,
	    m->body, m->body_len, m->sig), 0);
}

static void
test_pin_put_delete(void **state)
{
	static const char	 v1[] = "#!/bin/sh\necho 1\n";
	static const char	 v2[] = "#!/bin/sh\necho 2\n";
	struct msg_script_put	 m;
	struct msg_script_delete d;
	struct managed_sig	 s;
	struct stat		 st;
	uint8_t			 pub[PROTO_SIGN_PUB_LEN], other[PROTO_SIGN_PUB_LEN];
	uint32_t		 ver;
	char			 msg[256], path[400];

	assert_int_equal(managed_dir_init(dir, msg, sizeof(msg)), 0);
	assert_int_equal(stat(dir, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	/* No key yet: nothing is taken. */
	put_of(&m, "s.sh", 1, v1);
	assert_int_equal(managed_put(dir, NULL, &m, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "no script-signing key"));
	assert_int_equal(managed_pin_load(dir, pub, msg, sizeof(msg)), 0);
	assert_int_equal(scriptsig_public(key, pub), 0);
	assert_int_equal(managed_pin_store(dir, pub, msg, sizeof(msg)), 1);
	assert_int_equal(managed_pin_store(dir, pub, msg, sizeof(msg)), 0);
	memcpy(other, pub, sizeof(other));
	other[0] ^= 1;
	assert_int_equal(managed_pin_store(dir, other, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "never replaced"));
	assert_int_equal(managed_pin_load(dir, other, msg, sizeof(msg)), 1);
	assert_memory_equal(other, pub, sizeof(pub));

	/* A hash that is not the body's, a bad signature: refused. */
	put_of(&m, "s.sh", 1, v1);
	m.sha256[0] = m.sha256[0] == 'a' ? 'b' : 'a';
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "hash"));
	put_of(&m, "s.sh", 1, v1);
	m.sig[5] ^= 1;
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "bad signature"));
	snprintf(path, sizeof(path), "%s/s.sh", dir);
	assert_int_equal(stat(path, &st), -1);
	/* Signed for another name: refused. */
	put_of(&m, "t.sh", 1, v1);
	strcpy(m.name, "s.sh");
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), -1);

	put_of(&m, "s.sh", 1, v1);
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(managed_sig_load(dir, "s.sh", &s, msg, sizeof(msg)),
	    1);
	assert_int_equal(s.version, 1);
	assert_int_equal(managed_check(dir, pub, "s.sh", v1, strlen(v1), m.sha256,
	    &ver, msg, sizeof(msg)), 0);
	assert_int_equal(ver, 1);
	/* The same version again: written again; other contents: no. */
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), 0);
	put_of(&m, "s.sh", 1, v2);
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), -1);
	put_of(&m, "s.sh", 2, v2);
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), 0);
	assert_int_equal(managed_check(dir, pub, "s.sh", v1, strlen(v1), m.sha256,
	    &ver, msg, sizeof(msg)), -1);
	assert_int_equal(managed_check(dir, pub, "s.sh", v2, strlen(v2), m.sha256,
	    &ver, msg, sizeof(msg)), 0);
	assert_int_equal(ver, 2);
	put_of(&m, "s.sh", 1, v1);
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), -1);
	assert_non_null(strstr(msg, "older"));

	/* Delete: signed, newer than the put; then gone for good. */
	memset(&d, 0, sizeof(d));
	strcpy(d.name, "s.sh");
	d.version = 2;
	assert_int_equal(scriptsig_sign_delete(key, d.name, d.version, d.sig),
	    0);
	assert_int_equal(managed_delete(dir, pub, &d, msg, sizeof(msg)), -1);
	d.version = 3;
	assert_int_equal(scriptsig_sign_delete(key, d.name, d.version, d.sig),
	    0);
	d.sig[0] ^= 1;
	assert_int_equal(managed_delete(dir, pub, &d, msg, sizeof(msg)), -1);
	d.sig[0] ^= 1;
	assert_int_equal(managed_delete(dir, pub, &d, msg, sizeof(msg)), 0);
	assert_int_equal(stat(path, &st), -1);
	assert_int_equal(managed_delete(dir, pub, &d, msg, sizeof(msg)), 0);
	assert_int_equal(managed_check(dir, pub, "s.sh", v2, strlen(v2), m.sha256,
	    &ver, msg, sizeof(msg)), -1);
	put_of(&m, "s.sh", 2, v2);
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), -1);
	put_of(&m, "s.sh", 4, v2);
	assert_int_equal(managed_put(dir, pub, &m, msg, sizeof(msg)), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record),
		cmocka_unit_test(test_pin_put_delete),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
