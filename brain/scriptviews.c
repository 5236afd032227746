/*
 * The API's JSON views of the scripts (issue 14; views.h): the fleet's
 * list, managed scripts merged with the local ones the tentacles report;
 * one managed script with its versions; one version with its body.
 * Bodies were checked as UTF-8 text when created (JSON strings).
 */
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "views.h"

/* ---- the fleet's list ------------------------------------------------ */

struct list_state {
	json_t	*managed;	/* name -> entry */
	json_t	*list;		/* the answer's array */
	int	 failed;
};

static void
managed_entry(const struct db_managed_row *r, void *arg)
{
	struct list_state	*ls = arg;
	json_t			*o;

	o = json_pack("{s:s,s:s,s:b,s:I,s:s,s:[],s:[]}", "name", r->name,
	    "description", r->description, "managed", 1, "version",
	    (json_int_t)r->version, "sha256", r->sha256, "tentacles",
	    "stale");
	if (o == NULL) {
		ls->failed = 1;
		return;
	}
	json_object_set(ls->managed, r->name, o);
	json_array_append_new(ls->list, o);
}

/* A copy of a managed script that is not the latest as signed: an older
 * version, or changed on the host (tampered). */
static void
stale_add(json_t *m, int64_t tentacle, int64_t version, const char *sha,
    int tampered)
{
	json_array_append_new(json_object_get(m, "stale"),
	    json_pack("{s:I,s:I,s:s,s:b}", "tentacle", (json_int_t)tentacle,
	    "version", (json_int_t)version, "sha256", sha, "tampered",
	    tampered));
}

/* A tentacle's copy: of a managed script (one of its "tentacles" if it
 * is the latest as signed, else "stale": a fleet at the latest lists
 * only IDs), or a local one (grouped by name and content, as before
 * managed scripts). */
static void
copy_entry(const struct db_script_row *s, void *arg)
{
	struct list_state	*ls = arg;
	json_t			*cur, *m;
	int			 latest, same;

	if ((m = json_object_get(ls->managed, s->name)) != NULL) {
		latest = s->version == json_integer_value(json_object_get(m,
		    "version"));
		same = strcmp(json_string_value(json_object_get(m, "sha256")),
		    s->sha256) == 0;
		if (latest && same)
			json_array_append_new(json_object_get(m, "tentacles"),
			    json_integer(s->tentacle));
		else
			/* At the latest version with another hash: changed
			 * on the host (refused runs say so too). */
			stale_add(m, s->tentacle, s->version, s->sha256,
			    latest);
		return;
	}
	cur = json_array_get(ls->list, json_array_size(ls->list) - 1);
	if (cur == NULL || json_is_true(json_object_get(cur, "managed")) ||
	    strcmp(json_string_value(json_object_get(cur, "name")),
	    s->name) || strcmp(json_string_value(json_object_get(cur,
	    "sha256")), s->sha256)) {
		cur = json_pack("{s:s,s:s,s:s,s:b,s:n,s:[]}", "name", s->name,
		    "sha256", s->sha256, "description", s->description,
		    "managed", 0, "version", "tentacles");
		if (cur == NULL) {
			ls->failed = 1;
			return;
		}
		json_array_append_new(ls->list, cur);
	}
	json_array_append_new(json_object_get(cur, "tentacles"),
	    json_integer(s->tentacle));
}

/* A copy whose last run was refused since it got it: tampered, whatever
 * its inventory says. */
static void
tampered_mark(const char *name, int64_t tentacle, int64_t version,
    const char *sha, void *arg)
{
	struct list_state	*ls = arg;
	json_t			*m, *ids, *h;
	size_t			 i;

	if ((m = json_object_get(ls->managed, name)) == NULL)
		return;
	ids = json_object_get(m, "tentacles");
	for (i = 0; i < json_array_size(ids); i++)
		if (json_integer_value(json_array_get(ids, i)) == tentacle) {
			json_array_remove(ids, i);
			stale_add(m, tentacle, version, sha, 1);
			return;
		}
	json_array_foreach(json_object_get(m, "stale"), i, h)
		if (json_integer_value(json_object_get(h, "tentacle")) ==
		    tentacle)
			json_object_set_new(h, "tampered", json_true());
}

json_t *
view_scripts_fleet(struct db *db)
{
	struct list_state	ls = { json_object(), json_array(), 0 };

	if (ls.managed == NULL || ls.list == NULL ||
	    db_managed_each(db, managed_entry, &ls) == -1 ||
	    db_scripts_each(db, 0, copy_entry, &ls) == -1 ||
	    db_scripts_refused_each(db, tampered_mark, &ls) == -1 ||
	    ls.failed) {
		json_decref(ls.managed);
		json_decref(ls.list);
		return NULL;
	}
	json_decref(ls.managed);
	return ls.list;
}

/* ---- one script ------------------------------------------------------ */

static void
version_entry(const struct db_managed_row *r, void *arg)
{
	char	at[32];

	rfc3339(r->created_at, at, sizeof(at));
	json_array_append_new(arg, json_pack("{s:I,s:s,s:s,s:s,s:s}",
	    "version", (json_int_t)r->version, "sha256", r->sha256,
	    "created_at", at, "created_by", r->created_by, "description",
	    r->description));
}

static void
body_entry(const struct db_managed_row *r, void *arg)
{
	json_t	**out = arg;
	char	  at[32];

	rfc3339(r->created_at, at, sizeof(at));
	*out = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:s,s:s%}", "name",
	    r->name, "version", (json_int_t)r->version, "description",
	    r->description, "sha256", r->sha256, "created_at", at,
	    "created_by", r->created_by, "signature", r->signature, "body",
	    (const char *)r->body, r->body_len);
}

json_t *
view_script_version(struct db *db, const char *name, int64_t version)
{
	json_t	*o = NULL;

	if (db_script_read(db, name, version, body_entry, &o) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* A managed script's "tentacles" and "stale", from the fleet's list. */
static void
script_copies(struct db *db, const char *name, json_t *o)
{
	json_t	*list, *v;
	size_t	 i;

	if ((list = view_scripts_fleet(db)) == NULL)
		return;
	json_array_foreach(list, i, v)
		if (json_is_true(json_object_get(v, "managed")) &&
		    strcmp(json_string_value(json_object_get(v, "name")),
		    name) == 0) {
			json_object_set(o, "tentacles", json_object_get(v,
			    "tentacles"));
			json_object_set(o, "stale", json_object_get(v,
			    "stale"));
		}
	json_decref(list);
}

json_t *
view_script(struct db *db, const char *name)
{
	json_t	*o, *versions;

	if ((o = view_script_version(db, name, 0)) == NULL)
		return NULL;
	if ((versions = json_array()) == NULL ||
	    db_script_versions_each(db, name, version_entry, versions) != 0) {
		json_decref(versions);
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "versions", versions);
	json_object_set_new(o, "managed", json_true());
	json_object_del(o, "created_at");
	json_object_del(o, "created_by");
	json_object_del(o, "signature");
	script_copies(db, name, o);
	return o;
}
