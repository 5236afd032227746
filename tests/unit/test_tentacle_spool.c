/*
 * The spool (tentacle/spool.c): a result round-trips through the file
 * format and the directory; every truncation, a flipped byte anywhere,
 * trailing bytes, fields out of shape and files of other names are
 * refused; a corrupt file is moved aside as *.corrupt.
 */
#include <sys/stat.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <bsd/string.h>

#include "crypto.h"
#include "log.h"
#include "pack.h"
#include "spool.h"

static char	dir[256];

static struct msg_result
sample(uint64_t job, const void *out, size_t len)
{
	struct msg_result	m;

	memset(&m, 0, sizeof(m));
	m.job = job;
	m.outcome = OUTCOME_RAN;
	m.exit_status = 1;
	m.signal = 0;
	m.started_at_ms = 1700000000123ULL;
	m.duration_ms = 42;
	m.truncated = 0;
	m.output = out;
	m.output_len = len;
	return m;
}

static void
test_round_trip(void **state)
{
	static const uint8_t	out[] = { 'a', 0, 'b', 0xff, '\n' };
	struct msg_result	m = sample(12, out, sizeof(out));
	struct spool_result	r;
	struct buf		b;
	char			err[128];

	buf_init(&b, SPOOL_FILE_MAX);
	assert_int_equal(spool_format(&b, &m), 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	assert_int_equal(r.r.job, 12);
	assert_int_equal(r.r.outcome, OUTCOME_RAN);
	assert_int_equal(r.r.exit_status, 1);
	assert_int_equal(r.r.signal, 0);
	assert_int_equal(r.r.started_at_ms, 1700000000123ULL);
	assert_int_equal(r.r.duration_ms, 42);
	assert_int_equal(r.r.output_len, sizeof(out));
	assert_memory_equal(r.r.output, out, sizeof(out));
	buf_free(&b);

	/* Signalled, timed out, truncated, empty output. */
	m = sample(INT64_MAX, NULL, 0);
	m.outcome = OUTCOME_TIMEOUT;
	m.exit_status = -1;
	m.signal = 9;
	m.truncated = 1;
	buf_init(&b, SPOOL_FILE_MAX);
	assert_int_equal(spool_format(&b, &m), 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	assert_int_equal(r.r.job, INT64_MAX);
	assert_int_equal(r.r.exit_status, -1);
	assert_int_equal(r.r.signal, 9);
	assert_int_equal(r.r.truncated, 1);
	assert_int_equal(r.r.output_len, 0);
	buf_free(&b);
}

static void
test_largest(void **state)
{
	static uint8_t		out[PROTO_OUTPUT_MAX + 1];
	struct msg_result	m;
	struct spool_result	r;
	struct buf		b;
	char			err[128];

	memset(out, 'z', sizeof(out));
	m = sample(1, out, PROTO_OUTPUT_MAX);
	buf_init(&b, SPOOL_FILE_MAX);
	assert_int_equal(spool_format(&b, &m), 0);
	assert_true(b.len <= SPOOL_FILE_MAX);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	buf_reset(&b);
	m.output_len = PROTO_OUTPUT_MAX + 1;
	assert_int_equal(spool_format(&b, &m), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_bad_fields_not_formatted(void **state)
{
	struct msg_result	m;
	struct buf		b;

	buf_init(&b, SPOOL_FILE_MAX);
	m = sample(0, NULL, 0);
	assert_int_equal(spool_format(&b, &m), -1);
	m = sample(1, NULL, 0);
	m.outcome = OUTCOME_MAX;
	assert_int_equal(spool_format(&b, &m), -1);
	m = sample(1, NULL, 0);
	m.exit_status = 256;
	assert_int_equal(spool_format(&b, &m), -1);
	m = sample(1, NULL, 0);
	m.signal = 128;
	assert_int_equal(spool_format(&b, &m), -1);
	m = sample(1, NULL, 0);
	m.truncated = 2;
	assert_int_equal(spool_format(&b, &m), -1);
	m = sample(1, NULL, 3);
	assert_int_equal(spool_format(&b, &m), -1);
	assert_int_equal(b.len, 0);
	buf_free(&b);
}

static void
test_every_truncation_and_flip(void **state)
{
	struct msg_result	m = sample(99, "hello\n", 6);
	struct spool_result	r;
	struct buf		b;
	uint8_t			*copy;
	char			 err[128];
	size_t			 i;

	buf_init(&b, SPOOL_FILE_MAX);
	assert_int_equal(spool_format(&b, &m), 0);
	for (i = 0; i < b.len; i++)
		assert_int_equal(spool_parse(b.data, i, &r, err, sizeof(err)),
		    -1);
	assert_non_null(copy = malloc(b.len + 1));
	for (i = 0; i < b.len; i++) {
		memcpy(copy, b.data, b.len);
		copy[i] ^= 0x01;
		assert_int_equal(spool_parse(copy, b.len, &r, err,
		    sizeof(err)), -1);
	}
	memcpy(copy, b.data, b.len);
	copy[b.len] = 0;
	assert_int_equal(spool_parse(copy, b.len + 1, &r, err, sizeof(err)),
	    -1);
	free(copy);
	assert_int_equal(spool_parse(NULL, 0, &r, err, sizeof(err)), -1);
	assert_int_equal(spool_parse("junk", 4, &r, err, sizeof(err)), -1);
	buf_free(&b);
}

/* A file with a valid digest but a field out of shape. */
static void
forge(struct buf *b, uint64_t job, uint8_t outcome, uint32_t status,
    uint32_t sig, uint64_t started, uint8_t truncated, uint32_t outlen)
{
	struct packer	p;
	uint8_t		d[SHA256_LEN];

	buf_reset(b);
	buf_append(b, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	pack_init(&p, b);
	pack_u64(&p, job);
	pack_u8(&p, outcome);
	pack_u32(&p, status);
	pack_u32(&p, sig);
	pack_u64(&p, started);
	pack_u64(&p, 1);
	pack_u8(&p, truncated);
	pack_u32(&p, outlen);
	crypto_sha256(b->data, b->len, d);
	pack_bytes(&p, d, sizeof(d));
}

static void
test_bad_fields_refused(void **state)
{
	struct spool_result	r;
	struct buf		b;
	char			err[128];

	buf_init(&b, SPOOL_FILE_MAX);
	forge(&b, 5, OUTCOME_RAN, 0, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	forge(&b, 0, OUTCOME_RAN, 0, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, (uint64_t)INT64_MAX + 1, OUTCOME_RAN, 0, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, 0, 0, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_MAX, 0, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_RAN, 256, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_RAN, (uint32_t)-2, 0, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_RAN, 0, 128, 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_RAN, 0, 0, (uint64_t)INT64_MAX + 1, 0, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_RAN, 0, 0, 1, 2, 0);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	/* An output length past the end / past the limit. */
	forge(&b, 5, OUTCOME_RAN, 0, 0, 1, 0, 10);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	forge(&b, 5, OUTCOME_RAN, 0, 0, 1, 0, 0xffffffffU);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)),
	    -1);
	/* Oversized input. */
	assert_int_equal(spool_parse(b.data, SPOOL_FILE_MAX + 1, &r, err,
	    sizeof(err)), -1);
	buf_free(&b);
}

static void
write_file(const char *name, const void *p, size_t n)
{
	char	path[512];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_non_null(f = fopen(path, "w"));
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

static int
exists(const char *name)
{
	char	path[512];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return access(path, F_OK) == 0;
}

static void
test_directory(void **state)
{
	struct msg_result	m;
	struct spool_result	r;
	struct buf		data;
	struct stat		st;
	uint64_t		jobs[16];
	char			err[512], path[512];
	struct timespec		ts = { 0, 20 * 1000 * 1000 };

	snprintf(path, sizeof(path), "%s/spool", dir);
	assert_int_equal(spool_init(path, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	strlcpy(dir, path, sizeof(dir));

	m = sample(30, "thirty", 6);
	assert_int_equal(spool_store(dir, &m, err, sizeof(err)), 0);
	nanosleep(&ts, NULL);
	m = sample(4, "four", 4);
	assert_int_equal(spool_store(dir, &m, err, sizeof(err)), 0);
	assert_true(exists("job-30.result"));
	snprintf(path, sizeof(path), "%s/job-4.result", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_true(spool_exists(dir, 30));
	assert_false(spool_exists(dir, 31));

	/* Other names are not ours. */
	write_file("job-007.result", "x", 1);
	write_file("job-8.result.tmp", "x", 1);
	write_file("job-.result", "x", 1);
	write_file("job-99999999999999999999.result", "x", 1);
	write_file("notes", "x", 1);

	/* Oldest first. */
	assert_int_equal(spool_list(dir, jobs, 16, err, sizeof(err)), 2);
	assert_int_equal(jobs[0], 30);
	assert_int_equal(jobs[1], 4);

	buf_init(&data, SPOOL_FILE_MAX);
	assert_int_equal(spool_load(dir, 4, &data, &r, err, sizeof(err)), 0);
	assert_int_equal(r.r.job, 4);
	assert_memory_equal(r.r.output, "four", 4);
	assert_int_equal(spool_load(dir, 5, &data, &r, err, sizeof(err)), 1);

	/* A corrupt file is moved aside, not deleted, never fatal. */
	write_file("job-6.result", "OCTOSPOOL1\ngarbage", 18);
	assert_int_equal(spool_load(dir, 6, &data, &r, err, sizeof(err)), -1);
	assert_false(exists("job-6.result"));
	assert_true(exists("job-6.result.corrupt"));
	/* Another job's file under this job's name. */
	snprintf(path, sizeof(path), "%s/job-4.result", dir);
	{
		char	path2[600];

		snprintf(path2, sizeof(path2), "%s/job-77.result", dir);
		assert_int_equal(link(path, path2), 0);
	}
	assert_int_equal(spool_load(dir, 77, &data, &r, err, sizeof(err)),
	    -1);
	assert_true(exists("job-77.result.corrupt"));

	assert_int_equal(spool_remove(dir, 30, err, sizeof(err)), 0);
	assert_int_equal(spool_remove(dir, 30, err, sizeof(err)), 0);
	assert_false(spool_exists(dir, 30));
	assert_int_equal(spool_list(dir, jobs, 16, err, sizeof(err)), 1);
	assert_int_equal(jobs[0], 4);
	buf_free(&data);
}

static int
setup(void **state)
{
	log_init("test", 1, 0);
	strcpy(dir, "/tmp/octo-test-spool-XXXXXX");
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char	cmd[600], *slash;

	if ((slash = strstr(dir, "/spool")) != NULL)
		*slash = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Issue 14: a result with the script's hash is written OCTOSPOOL2 and
 * read back with it; one without stays OCTOSPOOL1 (read as before). */
static void
test_sha256(void **state)
{
	static const uint8_t	out[] = "ok\n";
	static const char	h[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	struct msg_result	m = sample(5, out, 3);
	struct spool_result	r;
	struct buf		b;
	char			err[128];
	size_t			n;

	m.outcome = OUTCOME_REFUSED;
	m.exit_status = -1;
	strcpy(m.sha256, h);
	buf_init(&b, SPOOL_FILE_MAX);
	assert_int_equal(spool_format(&b, &m), 0);
	assert_memory_equal(b.data, SPOOL_MAGIC2, SPOOL_MAGIC_LEN);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	assert_string_equal(r.r.sha256, h);
	assert_int_equal(r.r.outcome, OUTCOME_REFUSED);
	for (n = 0; n < b.len; n++)
		assert_int_equal(spool_parse(b.data, n, &r, err, sizeof(err)),
		    -1);
	/* The v2 magic on a v1 body: refused (the digest, or the hash). */
	buf_reset(&b);
	m.sha256[0] = '\0';
	assert_int_equal(spool_format(&b, &m), 0);
	assert_memory_equal(b.data, SPOOL_MAGIC, SPOOL_MAGIC_LEN);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	assert_string_equal(r.r.sha256, "");
	memcpy(b.data, SPOOL_MAGIC2, SPOOL_MAGIC_LEN);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), -1);
	m.sha256[0] = 'X';
	buf_reset(&b);
	assert_int_equal(spool_format(&b, &m), -1);
	buf_free(&b);
}

/* A result the root supervisor MACed (privsep.h) is written OCTOSPOOL3,
 * with or without the script's hash, and read back with its MAC. */
static void
test_mac(void **state)
{
	static const uint8_t	out[] = "ok\n";
	static const char	h[] = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	struct msg_result	m = sample(6, out, 3);
	struct spool_result	r;
	struct buf		b;
	char			err[128];
	size_t			n;
	int			with;

	buf_init(&b, SPOOL_FILE_MAX);
	for (with = 0; with <= 1; with++) {
		buf_reset(&b);
		strcpy(m.sha256, with ? h : "");
		memset(m.mac, 0xc3, sizeof(m.mac));
		assert_int_equal(spool_format(&b, &m), 0);
		assert_memory_equal(b.data, SPOOL_MAGIC3, SPOOL_MAGIC_LEN);
		assert_int_equal(spool_parse(b.data, b.len, &r, err,
		    sizeof(err)), 0);
		assert_memory_equal(r.r.mac, m.mac, sizeof(m.mac));
		assert_string_equal(r.r.sha256, m.sha256);
		for (n = 0; n < b.len; n++)
			assert_int_equal(spool_parse(b.data, n, &r, err,
			    sizeof(err)), -1);
	}
	/* Without a MAC: as before (no magic 3). */
	memset(m.mac, 0, sizeof(m.mac));
	buf_reset(&b);
	assert_int_equal(spool_format(&b, &m), 0);
	assert_memory_equal(b.data, SPOOL_MAGIC2, SPOOL_MAGIC_LEN);
	assert_int_equal(spool_parse(b.data, b.len, &r, err, sizeof(err)), 0);
	assert_int_equal(spool_has_mac(&r.r), 0);
	buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_largest),
		cmocka_unit_test(test_bad_fields_not_formatted),
		cmocka_unit_test(test_every_truncation_and_flip),
		cmocka_unit_test(test_bad_fields_refused),
		cmocka_unit_test(test_directory),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_mac),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
