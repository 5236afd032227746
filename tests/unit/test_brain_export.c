/*
 * Export (issue 17): the formats of brain/exportfmt.c (RFC 5424 in RFC
 * 5425 framing, SD-PARAM escaping, the webhook's signed request, HTTP
 * status lines, the targets' addresses) and the queue of
 * brain/db_export.c on a real SQLite file (sequence, bounded queue and
 * its drops, acknowledgements, targets).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "crypto.h"
#include "db.h"
#include "export.h"
#include "ledgersig.h"

#include "tmpdb.h"

static char *
text(struct buf *b)
{
	static char	s[70000];

	assert_true(b->len < sizeof(s));
	memcpy(s, b->data, b->len);
	s[b->len] = '\0';
	return s;
}

static void
test_sd_escaping(void **state)
{
	struct buf	b;
	char		n[33];

	buf_init(&b, 1024);
	assert_int_equal(export_sd_value(&b, "a\"b\\c]d", 7), 0);
	assert_string_equal(text(&b), "a\\\"b\\\\c\\]d");
	buf_reset(&b);
	assert_int_equal(export_sd_value(&b, "caf\xc3\xa9 [x]", 10), 0);
	assert_string_equal(text(&b), "caf\xc3\xa9 [x\\]");
	buf_free(&b);

	export_sd_name(n, "check");
	assert_string_equal(n, "check");
	export_sd_name(n, "a b=c]d\"e");
	assert_string_equal(n, "a_b_c_d_e");
	export_sd_name(n, "0123456789012345678901234567890123456789");
	assert_int_equal(strlen(n), 32);
	export_sd_name(n, "");
	assert_string_equal(n, "_");
}

static void
test_syslog_frame(void **state)
{
	static const char ev[] = "{\"id\":\"5f0e\",\"seq\":42,"
	    "\"time\":\"2026-12-04T01:02:03.456Z\",\"brain\":\"b1.example.org\","
	    "\"event\":\"finding.new\",\"tentacle\":{\"id\":7,\"hostname\":"
	    "\"web \\\"1\\\"\"},\"fields\":{\"check\":\"ssh.root]login\","
	    "\"n\":3,\"ok\":false,\"list\":[1]},\"ledger_head\":null}";
	struct buf	 b;
	char		*s, *sp;
	unsigned long	 len;

	buf_init(&b, 65536);
	assert_int_equal(export_syslog_frame(&b, ev, sizeof(ev) - 1), 0);
	s = text(&b);
	/* RFC 5425: MSG-LEN SP SYSLOG-MSG */
	len = strtoul(s, &sp, 10);
	assert_int_equal(*sp, ' ');
	assert_int_equal(len, strlen(sp + 1));
	/* facility 13 (log audit), warning: 13 * 8 + 4 */
	assert_string_equal(sp + 1 + strlen(sp + 1) - (sizeof(ev) - 1), ev);
	assert_non_null(strstr(sp + 1, "<108>1 2026-12-04T01:02:03.456Z "
	    "b1.example.org octoBrain - finding.new [octopus@32473 "
	    "event=\"finding.new\" seq=\"42\" id=\"5f0e\" tentacle=\"7\" "
	    "hostname=\"web \\\"1\\\"\" check=\"ssh.root\\]login\" n=\"3\" "
	    "ok=\"false\"] {"));
	buf_free(&b);

	/* not an event */
	buf_init(&b, 65536);
	assert_int_equal(export_syslog_frame(&b, "[1]", 3), -1);
	assert_int_equal(export_syslog_frame(&b, "{\"event\":\"x\"}", 13), -1);
	assert_int_equal(export_syslog_frame(&b, "{", 1), -1);
	buf_free(&b);
}

static void
test_webhook_request(void **state)
{
	static const char body[] = "{\"seq\":1}";
	static const uint8_t key[] = "k\xc3\xa9y";
	uint8_t		 mac[SHA256_LEN];
	char		 hex[SHA256_LEN * 2 + 1], want[128];
	struct buf	 b;
	char		*s;

	assert_int_equal(crypto_hmac_sha256(key, sizeof(key) - 1, body,
	    sizeof(body) - 1, mac), 0);
	hex_encode(mac, sizeof(mac), hex);
	snprintf(want, sizeof(want), "X-Octopus-Signature: sha256=%s\r\n", hex);
	buf_init(&b, 65536);
	assert_int_equal(export_webhook_request(&b, "hooks.example.org", 8443,
	    "/in?x=1", body, sizeof(body) - 1, key, sizeof(key) - 1), 0);
	s = text(&b);
	assert_true(strncmp(s, "POST /in?x=1 HTTP/1.1\r\nHost: "
	    "hooks.example.org:8443\r\n", 48) == 0);
	assert_non_null(strstr(s, want));
	assert_non_null(strstr(s, "Content-Length: 9\r\n"));
	assert_non_null(strstr(s, "\r\n\r\n{\"seq\":1}"));
	buf_reset(&b);
	assert_int_equal(export_webhook_request(&b, "2001:db8::1", 443, "/",
	    body, 9, key, 3), 0);
	assert_non_null(strstr(text(&b), "Host: [2001:db8::1]\r\n"));
	/* a header cannot be smuggled in */
	assert_int_equal(export_webhook_request(&b, "a.example.org", 443,
	    "/x\r\nX-Evil: 1", body, 9, key, 3), -1);
	assert_int_equal(export_webhook_request(&b, "a b", 443, "/", body, 9,
	    key, 3), -1);
	assert_int_equal(export_webhook_request(&b, "a.example.org", 443, "/",
	    body, 9, key, 0), -1);
	buf_free(&b);
}

static void
test_http_status(void **state)
{
	assert_int_equal(export_http_status("HTTP/1.1 204 No Content\r\n", 25),
	    204);
	assert_int_equal(export_http_status("HTTP/1.0 500\r\n", 14), 500);
	assert_int_equal(export_http_status("HTTP/1.1 200 OK", 15), 0);
	assert_int_equal(export_http_status("SSH-2.0-x\r\n", 11), -1);
	assert_int_equal(export_http_status("HTTP/1.1 2x0 OK\r\n", 17), -1);
	assert_int_equal(export_http_status("HTTP/1.1 600 OK\r\n", 17), -1);
}

static void
test_addresses(void **state)
{
	char		host[EXPORT_HOST_MAX], p[EXPORT_PATH_MAX];
	unsigned	port;

	assert_int_equal(export_parse_hostport("logs.example.org:6514", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "logs.example.org");
	assert_int_equal(port, 6514);
	assert_int_equal(export_parse_hostport("[2001:db8::5]:514", host,
	    sizeof(host), &port), 0);
	assert_string_equal(host, "2001:db8::5");
	assert_int_equal(port, 514);
	assert_int_equal(export_parse_hostport("192.0.2.1", host,
	    sizeof(host), &port), -1);
	assert_int_equal(export_parse_hostport("2001:db8::5:514", host,
	    sizeof(host), &port), -1);
	assert_int_equal(export_parse_hostport("192.0.2.1:0", host,
	    sizeof(host), &port), -1);
	assert_int_equal(export_parse_hostport("192.0.2.1:65536", host,
	    sizeof(host), &port), -1);
	assert_int_equal(export_parse_hostport("a b:1", host, sizeof(host),
	    &port), -1);
	assert_int_equal(export_parse_hostport(":1", host, sizeof(host),
	    &port), -1);

	assert_int_equal(export_parse_url("https://hooks.example.org", host,
	    sizeof(host), &port, p, sizeof(p)), 0);
	assert_string_equal(host, "hooks.example.org");
	assert_int_equal(port, 443);
	assert_string_equal(p, "/");
	assert_int_equal(export_parse_url("https://192.0.2.7:8443/a/b?c=d",
	    host, sizeof(host), &port, p, sizeof(p)), 0);
	assert_string_equal(host, "192.0.2.7");
	assert_int_equal(port, 8443);
	assert_string_equal(p, "/a/b?c=d");
	assert_int_equal(export_parse_url("http://192.0.2.7/", host,
	    sizeof(host), &port, p, sizeof(p)), -1);
	assert_int_equal(export_parse_url("https:///x", host, sizeof(host),
	    &port, p, sizeof(p)), -1);
	assert_int_equal(export_parse_url("https://a.example.org/x y", host,
	    sizeof(host), &port, p, sizeof(p)), -1);
}

static int	seen[64], nseen;

static void
collect(int64_t seq, const char *body, void *arg)
{
	char	want[32];

	snprintf(want, sizeof(want), "{\"seq\":%lld}", (long long)seq);
	assert_string_equal(body, want);
	seen[nseen++] = (int)seq;
}

static void
push(struct db *db, int64_t max, int64_t *dropped)
{
	int64_t	seq;
	char	body[32];

	assert_int_equal(db_export_next_seq(db, &seq), 0);
	snprintf(body, sizeof(body), "{\"seq\":%lld}", (long long)seq);
	assert_int_equal(db_export_push(db, seq, body, max, dropped), 0);
}

static void
test_queue(void **state)
{
	const char		*both[] = { "syslog", "webhook" };
	struct db_export_target	 t;
	struct db		*db;
	char			 err[256];
	int64_t			 seq, dropped;
	int			 i;

	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(db_export_targets_set(db, both, 2), 0);
	for (i = 0; i < 4; i++)
		push(db, 5, &dropped);
	assert_int_equal(dropped, 0);
	nseen = 0;
	assert_int_equal(db_export_each(db, 1, 100, collect, NULL), 0);
	assert_int_equal(nseen, 3);
	assert_int_equal(seen[0], 2);
	assert_int_equal(db_export_target_get(db, "syslog", &t), 0);
	assert_int_equal(t.queued, 4);

	/* syslog delivered 3; the webhook nothing: all 4 stay */
	assert_int_equal(db_export_ack(db, "syslog", 3, 0), 0);
	assert_int_equal(db_export_target_get(db, "syslog", &t), 0);
	assert_int_equal(t.acked, 3);
	assert_int_equal(t.queued, 1);
	nseen = 0;
	assert_int_equal(db_export_each(db, 0, 100, collect, NULL), 0);
	assert_int_equal(nseen, 4);
	/* the webhook gave up one of 2 (dropped): 1 and 2 leave */
	assert_int_equal(db_export_ack(db, "webhook", 2, 1), 0);
	nseen = 0;
	assert_int_equal(db_export_each(db, 0, 100, collect, NULL), 0);
	assert_int_equal(nseen, 2);
	assert_int_equal(seen[0], 3);
	assert_int_equal(db_export_target_get(db, "webhook", &t), 0);
	assert_int_equal(t.drops, 1);

	/* past 5 queued: the oldest go, drops counted per target */
	for (i = 0; i < 6; i++)
		push(db, 5, &dropped);		/* seq 5..10 */
	nseen = 0;
	assert_int_equal(db_export_each(db, 0, 100, collect, NULL), 0);
	assert_int_equal(nseen, 5);
	assert_int_equal(seen[0], 6);
	assert_int_equal(seen[4], 10);
	assert_int_equal(db_export_target_get(db, "syslog", &t), 0);
	/* syslog had delivered 3: 4 and 5 were dropped for it */
	assert_int_equal(t.acked, 5);
	assert_int_equal(t.drops, 2);
	assert_int_equal(t.queued, 5);
	assert_int_equal(db_export_target_get(db, "webhook", &t), 0);
	assert_int_equal(t.drops, 1 + 3);	/* 3, 4, 5 */

	/* a target no longer configured holds nothing; one that is new
	 * starts at the end */
	assert_int_equal(db_export_targets_set(db, both, 1), 0);
	assert_int_equal(db_export_ack(db, "syslog", 10, 0), 0);
	nseen = 0;
	assert_int_equal(db_export_each(db, 0, 100, collect, NULL), 0);
	assert_int_equal(nseen, 0);
	db_close(db);

	/* the sequence survives a restart */
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(db_export_next_seq(db, &seq), 0);
	assert_int_equal(seq, 11);
	assert_int_equal(db_export_targets_set(db, both + 1, 1), 0);
	assert_int_equal(db_export_target_get(db, "webhook", &t), 0);
	assert_int_equal(t.queued, 0);
	db_close(db);
}

static int	hooked;

static void
audit_hook(int64_t id, const char *actor, const char *action,
    const char *peer, const char *detail, void *arg)
{
	assert_true(id > 0);
	assert_string_equal(actor, "alice");
	assert_string_equal(action, "login");
	assert_string_equal(peer, "192.0.2.1");
	assert_string_equal(detail, "");
	assert_ptr_equal(arg, &hooked);
	hooked++;
}

static void
test_audit_hook(void **state)
{
	struct db	*db;
	char		 err[256];

	assert_non_null(db = db_open(path, err, sizeof(err)));
	db_set_audit_hook(db, audit_hook, &hooked);
	assert_int_equal(db_audit(db, "alice", "login", "192.0.2.1", NULL), 0);
	assert_int_equal(hooked, 1);
	db_set_audit_hook(db, NULL, NULL);
	assert_int_equal(db_audit(db, "alice", "login", "192.0.2.1", ""), 0);
	assert_int_equal(hooked, 1);
	db_close(db);
}

/* The ledger of a brain of before: migration 10 chains the rows there. */
static void
test_ledger_backfill(void **state)
{
	struct db_ledger_report	 r;
	struct db		*db;
	char			 err[256], cmd[512], head[65], head2[65];
	int64_t			 len;
	int			 i;

	assert_non_null(db = db_open(path, err, sizeof(err)));
	for (i = 0; i < 5; i++)
		assert_int_equal(db_audit(db, "alice", "login", "192.0.2.1",
		    ""), 0);
	assert_int_equal(db_ledger_verify(db, &r), 0);
	assert_int_equal(r.entries, 5);
	assert_int_equal(db_ledger_head(db, head, &len), 0);
	assert_int_equal(len, 5);
	db_close(db);

	/* The migration's code on a ledger emptied, as a brain of before
	 * had none (called directly: later migrations may follow it). */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'DELETE FROM ledger'", path);
	assert_int_equal(system(cmd), 0);
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(db_ledger_backfill(db), 0);
	assert_int_equal(db_ledger_verify(db, &r), 0);
	assert_int_equal(r.entries, 5);
	assert_int_equal(r.audit, 5);
	/* the same rows, the same chain */
	assert_int_equal(db_ledger_head(db, head2, &len), 0);
	assert_string_equal(head, head2);
	db_close(db);

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"UPDATE audit SET actor = "
	    "'mallory' WHERE id = 4\"", path);
	assert_int_equal(system(cmd), 0);
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(db_ledger_verify(db, &r), 1);
	assert_int_equal(r.bad, 4);
	assert_string_equal(r.why, "entry 4: audit row 4 was changed");
	db_close(db);
}

/* The database edited behind the brain's back, then opened. */
static struct db *
edited(const char *statement)
{
	struct db	*db;
	char		 cmd[512], err[256];

	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"%s\"", path, statement);
	assert_int_equal(system(cmd), 0);
	assert_non_null(db = db_open(path, err, sizeof(err)));
	return db;
}

/* The maestro's walk in steps of one: the same report as the whole walk,
 * rows appended between two steps chained too, and a row written behind
 * the brain's back found in the table's windows. */
static void
test_ledger_walk(void **state)
{
	struct db_ledger_walk	 w;
	struct db		*db;
	char			 err[256];
	int			 i, rc, steps = 0;

	assert_non_null(db = db_open(path, err, sizeof(err)));
	for (i = 0; i < 7; i++)
		assert_int_equal(db_audit(db, "alice", "login", "192.0.2.1",
		    ""), 0);
	db_ledger_walk_init(&w);
	while ((rc = db_ledger_walk_step(db, &w, 2)) == 2)
		if (++steps == 2)
			assert_int_equal(db_audit(db, "bob", "login",
			    "192.0.2.2", ""), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(w.r.entries, 8);
	assert_int_equal(w.r.audit, 8);
	assert_true(steps > 4);
	db_close(db);

	db = edited("INSERT INTO audit (at, actor, action, peer, detail) "
	    "VALUES (1, 'mallory', 'login', '192.0.2.9', '')");
	db_ledger_walk_init(&w);
	while ((rc = db_ledger_walk_step(db, &w, 3)) == 2)
		;
	assert_int_equal(rc, 1);
	assert_int_equal(w.r.bad, 0);
	assert_string_equal(w.r.why, "audit row 9 has no ledger entry "
	    "(written behind the brain's back)");
	db_close(db);

	/* Audit retention deletes the oldest rows: pruned. A row deleted
	 * between two that are left: broken. */
	db = edited("DELETE FROM audit WHERE id IN (1, 2, 9)");
	assert_int_equal(db_ledger_verify(db, &w.r), 0);
	assert_int_equal(w.r.audit_pruned, 2);
	assert_int_equal(w.r.audit, 6);
	db_close(db);
	db = edited("DELETE FROM audit WHERE id = 5");
	assert_int_equal(db_ledger_verify(db, &w.r), 1);
	assert_string_equal(w.r.why, "entry 5: audit row 5 was deleted");
	db_close(db);
}

/* The database closed, audit rows 1 to n made old, opened again and
 * retention's audit step run (db_prune): gone rows deleted. */
static struct db *
audit_retention(struct db *db, int n, int gone)
{
	char	cmd[512], err[256];
	int	k;

	db_close(db);
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' \"UPDATE audit SET at = 1 "
	    "WHERE id <= %d\"", path, n);
	assert_int_equal(system(cmd), 0);
	assert_non_null(db = db_open(path, err, sizeof(err)));
	assert_int_equal(db_prune(db, PRUNE_AUDIT, 2, 100, &k), 0);
	assert_int_equal(k, gone);
	return db;
}

/* A new database with six audit rows (and their entries). */
static struct db *
six_logins(void)
{
	struct db	*db;
	char		 err[256];
	int		 i;

	assert_non_null(db = db_open(path, err, sizeof(err)));
	for (i = 0; i < 6; i++)
		assert_int_equal(db_audit(db, "alice", "login", "192.0.2.1",
		    ""), 0);
	return db;
}

/* The ledger pruned from its start: only entries whose rows retention
 * deleted, never the head, each batch bounded; the new start recorded;
 * the walk starts there, intact, and says so. */
static void
test_ledger_prune_start(void **state)
{
	struct db_ledger_walk	 w;
	struct db		*db;
	char			 anchor[65], e3[65], head[65];
	int64_t			 first, len;
	int			 n, rc;

	db = six_logins();
	/* Nothing gone: nothing to prune. */
	assert_int_equal(db_ledger_prune(db, 10, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ledger_start(db, &first, anchor), 0);
	assert_int_equal(first, 1);
	assert_string_equal(anchor, "000000000000000000000000000000000000"
	    "0000000000000000000000000000");
	assert_int_equal(db_ledger_entry(db, 3, e3), 0);
	db = audit_retention(db, 3, 3);

	/* Batches of 2: entries 1-2, then 3 (row 4 is there: it stops). */
	assert_int_equal(db_prune(db, PRUNE_LEDGER, 0, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(db_ledger_prune(db, 2, 100, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(db_ledger_prune(db, 2, 100, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(db_ledger_start(db, &first, anchor), 0);
	assert_int_equal(first, 4);
	assert_string_equal(anchor, e3);
	assert_int_equal(db_ledger_entry(db, 3, e3), DB_NOTFOUND);
	/* The length stays the number of entries ever made. */
	assert_int_equal(db_ledger_head(db, head, &len), 0);
	assert_int_equal(len, 6);

	assert_int_equal(db_ledger_verify(db, &w.r), 0);
	assert_int_equal(w.r.entries, 3);
	assert_int_equal(w.r.audit, 3);
	assert_int_equal(w.r.audit_pruned, 0);
	assert_int_equal(w.r.start_pruned, 3);
	assert_string_equal(w.r.start_hash, anchor);
	/* In steps of one, and with rows appended after the prune. */
	assert_int_equal(db_audit(db, "bob", "login", "192.0.2.2", ""), 0);
	db_ledger_walk_init(&w);
	while ((rc = db_ledger_walk_step(db, &w, 1)) == 2)
		;
	assert_int_equal(rc, 0);
	assert_int_equal(w.r.entries, 4);
	assert_int_equal(w.r.start_pruned, 3);

	/* A second pass: the start moves on from the recorded one. */
	db = audit_retention(db, 6, 3);
	assert_int_equal(db_ledger_prune(db, 100, 100, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(db_ledger_start(db, &first, anchor), 0);
	assert_int_equal(first, 7);
	assert_int_equal(db_ledger_verify(db, &w.r), 0);
	assert_int_equal(w.r.entries, 1);
	assert_int_equal(w.r.start_pruned, 6);
	/* The length: entries ever made. */
	assert_int_equal(db_ledger_head(db, head, &len), 0);
	assert_int_equal(len, 7);
	db_close(db);
}

/* Six audit rows, the oldest three pruned by retention with their
 * entries (start: entry 4), in a fresh database; then statement, run
 * behind the brain's back; the anchor recorded in anchor. */
static struct db *
tampered(void **state, const char *statement, char anchor[65])
{
	struct db	*db;
	int64_t		 first;
	int		 n;

	assert_int_equal(teardown(state), 0);
	assert_int_equal(setup(state), 0);
	db = audit_retention(six_logins(), 3, 3);
	assert_int_equal(db_ledger_prune(db, 100, 100, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(db_ledger_start(db, &first, anchor), 0);
	assert_int_equal(first, 4);
	db_close(db);
	return edited(statement);
}

static void
broken_as(struct db *db, int64_t bad, const char *why)
{
	struct db_ledger_report	r;

	assert_int_equal(db_ledger_verify(db, &r), 1);
	assert_string_equal(r.why, why);
	assert_int_equal(r.bad, bad);
	db_close(db);
}

/* The start tampered with: entries cut from it without the recorded
 * start moved, the start or its anchor edited, the record deleted. And
 * pruning never takes what the walk would call broken. */
static void
test_ledger_start_tampered(void **state)
{
	struct db	*db;
	char		 anchor[65], why[256];
	int		 n;

	broken_as(tampered(state, "DELETE FROM ledger WHERE id = 4", anchor),
	    4, "entry 4 was removed from the start without the recorded "
	    "start (entry 4) moved: the first entry left is 5 (audit row 5)");
	broken_as(tampered(state, "DELETE FROM ledger_start", anchor), 1,
	    "entries 1 to 3 were removed from the start without the recorded "
	    "start (entry 1) moved: the first entry left is 4 (audit row 4)");
	broken_as(tampered(state, "UPDATE ledger_start SET first = 2", anchor),
	    2, "entries 2 to 3 were removed from the start without the "
	    "recorded start (entry 2) moved: the first entry left is 4 (audit "
	    "row 4)");
	broken_as(tampered(state, "UPDATE ledger_start SET first = 5", anchor),
	    4, "entry 4 is before the recorded start (entry 5): the start was "
	    "edited");
	db = tampered(state, "UPDATE ledger_start SET anchor = '0000000000000"
	    "000000000000000000000000000000000000000000000000001'", anchor);
	broken_as(db, 4, "entry 4 (audit row 4) does not link to the recorded "
	    "start's anchor 0000000000000000000000000000000000000000000000000"
	    "000000000000001: the anchor or the entry was edited");
	/* A prune forged by hand: entry 4 gone, the start moved, but the
	 * anchor is not entry 4's hash. */
	db = tampered(state, "DELETE FROM ledger WHERE id = 4; UPDATE "
	    "ledger_start SET first = 5", anchor);
	snprintf(why, sizeof(why), "entry 5 (audit row 5) does not link to "
	    "the recorded start's anchor %s: the anchor or the entry was "
	    "edited", anchor);
	broken_as(db, 5, why);

	/* An entry edited at the start: pruning stops before it. */
	assert_int_equal(teardown(state), 0);
	assert_int_equal(setup(state), 0);
	db_close(six_logins());
	db = edited("UPDATE ledger SET content = upper(content) WHERE id = 2");
	db = audit_retention(db, 3, 3);
	assert_int_equal(db_ledger_prune(db, 100, 100, &n), 0);
	assert_int_equal(n, 1);
	broken_as(db, 2, "entry 2 (audit row 2) was edited: its hash does not "
	    "match");

	/* A row deleted between two left: pruning stops at the first row
	 * left, the deletion is still named. */
	db = edited("DELETE FROM audit WHERE id IN (4, 6)");
	assert_int_equal(db_ledger_prune(db, 100, 100, &n), 0);
	assert_int_equal(n, 0);
	db_close(db);
}

static void
test_ledger_signature(void **state)
{
	uint8_t	priv[LEDGER_KEY_LEN], pub[LEDGER_KEY_LEN];
	uint8_t	priv2[LEDGER_KEY_LEN], pub2[LEDGER_KEY_LEN];
	char	key[128], err[256], sig[LEDGER_SIG_LEN * 2 + 1];
	char	head[65];
	int	made;

	memset(head, 'a', 64);
	head[64] = '\0';
	snprintf(key, sizeof(key), "%s/ledger.key", dir);
	assert_int_equal(ledger_key_load(key, 0, priv, pub, &made, err,
	    sizeof(err)), -1);
	assert_int_equal(ledger_key_load(key, 1, priv, pub, &made, err,
	    sizeof(err)), 0);
	assert_int_equal(made, 1);
	assert_int_equal(ledger_key_load(key, 1, priv2, pub2, &made, err,
	    sizeof(err)), 0);
	assert_int_equal(made, 0);
	assert_memory_equal(pub, pub2, sizeof(pub));
	assert_int_equal(ledger_sign(priv, "b1.example.org", 42, head, sig), 0);
	assert_true(ledger_sig_ok(pub, "b1.example.org", 42, head, sig));
	assert_false(ledger_sig_ok(pub, "b1.example.org", 41, head, sig));
	assert_false(ledger_sig_ok(pub, "b2.example.org", 42, head, sig));
	head[0] = 'b';
	assert_false(ledger_sig_ok(pub, "b1.example.org", 42, head, sig));
	head[0] = 'a';
	sig[0] = sig[0] == '0' ? '1' : '0';
	assert_false(ledger_sig_ok(pub, "b1.example.org", 42, head, sig));
	assert_false(ledger_sig_ok(pub, "b1.example.org", 42, head, "00"));
	assert_false(ledger_sig_ok(pub, "b1.example.org", 42, head, NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sd_escaping),
		cmocka_unit_test(test_syslog_frame),
		cmocka_unit_test(test_webhook_request),
		cmocka_unit_test(test_http_status),
		cmocka_unit_test(test_addresses),
		cmocka_unit_test_setup_teardown(test_queue, setup, teardown),
		cmocka_unit_test_setup_teardown(test_audit_hook, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_backfill, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_walk, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_prune_start, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_ledger_start_tampered,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_ledger_signature, setup,
		    teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
