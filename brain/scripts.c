/*
 * Scripts managed by the brain (issue 14): the API's library (create, new
 * versions, delete, reads), each change signed by the maestro's
 * script-signing key (scriptkey.c) and audited with its hash. Pushing
 * them to the tentacles: push.c.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <jansson.h>

#include "crypto.h"
#include "log.h"
#include "maestro.h"
#include "proto.h"

void
api_script_get(const struct api_req *r)
{
	api_reply_or_error(r, view_script(m.db, r->a->script), NULL);
}

void
api_script_version(const struct api_req *r)
{
	api_reply_or_error(r, view_script_version(m.db, r->a->script,
	    (int64_t)r->a->id), NULL);
}

/* The description of the latest version (an update without one keeps
 * it). */
static void
keep_description(const struct db_managed_row *row, void *arg)
{
	strlcpy(arg, row->description, SCRIPT_DESC_MAX + 1);
}

static void
latest_sha(const struct db_managed_row *row, void *arg)
{
	strlcpy(arg, row->sha256, OCTO_FPR_HEX_LEN + 1);
}

/* Add version `version` of a->script in the caller's transaction. */
static int
version_add(const struct api_req *r, int64_t version, const char *desc,
    char sha[OCTO_FPR_HEX_LEN + 1])
{
	const struct api_args	*a = r->a;
	struct db_managed_row	 row;
	uint8_t			 digest[SHA256_LEN];
	char			 sig[SCRIPTKEY_SIG_HEX + 1];

	if (crypto_sha256(a->body, a->body_len, digest) == -1)
		return -1;
	hex_encode(digest, sizeof(digest), sha);
	if (scriptkey_sign_put(a->script, version, sha, a->body, a->body_len,
	    sig) == -1)
		return -1;
	memset(&row, 0, sizeof(row));
	row.name = a->script;
	row.version = version;
	row.description = desc;
	row.sha256 = sha;
	row.created_by = r->s->user;
	row.created_at = time(NULL);
	row.signature = sig;
	row.body = (const uint8_t *)a->body;
	row.body_len = a->body_len;
	return db_script_version_add(m.db, &row);
}

/* Answer and audit a new version: 201 (created) or 200. */
static void
version_done(const struct api_req *r, const char *action, int64_t version,
    const char *sha)
{
	char	detail[PROTO_SCRIPT_NAME_MAX + OCTO_FPR_HEX_LEN + 64];

	snprintf(detail, sizeof(detail), "script %s version %lld sha256 %s",
	    r->a->script, (long long)version, sha);
	db_audit(m.db, r->s->user, action, r->client, detail);
	log_info("%s: %s", r->s->user, detail);
	api_reply(r, r->def->op == API_SCRIPT_CREATE ? 201 : 200,
	    json_pack("{s:s,s:I,s:s}", "name", r->a->script, "version",
	    (json_int_t)version, "sha256", sha));
	push_soon();
}

void
api_script_create(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	int64_t			 next;
	int			 live, local, rc;
	char			 sha[OCTO_FPR_HEX_LEN + 1];

	if (db_begin(m.db) == -1) {
		api_error(r, 500, "database error");
		return;
	}
	if (db_script_next(m.db, a->script, &live, &next) == -1 ||
	    db_script_local_exists(m.db, a->script, &local) == -1)
		goto dberr;
	if (live || local) {
		db_rollback(m.db);
		api_error(r, 409, live ? "a script of that name exists: save "
		    "a new version of it instead" : "a tentacle has a local "
		    "script of that name");
		return;
	}
	if ((rc = version_add(r, next, a->description, sha)) != 0 ||
	    db_commit(m.db) == -1)
		goto dberr;
	version_done(r, "script_create", next, sha);
	return;
dberr:
	db_rollback(m.db);
	api_error(r, 500, "database error");
}

/* A database error in a change: undone, 500. */
static void
change_failed(const struct api_req *r)
{
	db_rollback(m.db);
	api_error(r, 500, "database error");
}

/* Start a change of a live script: 0 with the transaction open and the
 * number it takes in *next, or -1 once answered (404, 500). */
static int
change_begin(const struct api_req *r, int64_t *next)
{
	int	live;

	if (db_begin(m.db) == -1) {
		api_error(r, 500, "database error");
		return -1;
	}
	if (db_script_next(m.db, r->a->script, &live, next) == -1) {
		change_failed(r);
		return -1;
	}
	if (!live) {
		db_rollback(m.db);
		api_error(r, 404, "no such script");
		return -1;
	}
	return 0;
}

void
api_script_update(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	int64_t			 next;
	char			 sha[OCTO_FPR_HEX_LEN + 1];
	char			 desc[SCRIPT_DESC_MAX + 1] = "";

	if (change_begin(r, &next) == -1)
		return;
	if (a->has_description)
		strlcpy(desc, a->description, sizeof(desc));
	else if (db_script_read(m.db, a->script, 0, keep_description,
	    desc) == -1) {
		change_failed(r);
		return;
	}
	if (version_add(r, next, desc, sha) != 0 || db_commit(m.db) == -1) {
		change_failed(r);
		return;
	}
	version_done(r, "script_update", next, sha);
}

void
api_script_delete(const struct api_req *r)
{
	const struct api_args	*a = r->a;
	int64_t			 next;
	char			 sig[SCRIPTKEY_SIG_HEX + 1];
	char			 sha[OCTO_FPR_HEX_LEN + 1] = "";
	char			 detail[PROTO_SCRIPT_NAME_MAX +
				    OCTO_FPR_HEX_LEN + 96];

	if (change_begin(r, &next) == -1)
		return;
	if (db_script_read(m.db, a->script, 0, latest_sha, sha) == -1 ||
	    scriptkey_sign_delete(a->script, next, sig) == -1 ||
	    db_script_mark_deleted(m.db, a->script, next, r->s->user,
	    sig) != 0 || db_commit(m.db) == -1) {
		change_failed(r);
		return;
	}
	snprintf(detail, sizeof(detail), "script %s version %lld: deleted "
	    "(was sha256 %s)", a->script, (long long)next, sha);
	db_audit(m.db, r->s->user, "script_delete", r->client, detail);
	log_info("%s: %s", r->s->user, detail);
	api_reply(r, 200, json_pack("{s:b,s:s,s:I}", "ok", 1, "name",
	    a->script, "version", (json_int_t)next));
	push_soon();
}
