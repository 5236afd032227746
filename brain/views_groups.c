/*
 * The API's views of labels and schedules (views.h).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "groupbody.h"
#include "views.h"

/* Tentacle objects by their ID, and the label rows to give them. */
struct attach {
	json_t	*by_id;
};

static void
label_json(const struct db_label_row *r, void *arg)
{
	struct attach	*a = arg;
	char		 key[24];
	json_t		*o;

	snprintf(key, sizeof(key), "%lld", (long long)r->tentacle);
	if ((o = json_object_get(a->by_id, key)) == NULL)
		return;
	json_array_append_new(json_object_get(o, r->accepted ? "labels" :
	    "proposed_labels"), json_string(r->label));
}

int
view_labels_attach(struct db *db, int64_t tentacle, json_t *list)
{
	struct attach	 a;
	json_t		*o;
	size_t		 i;
	char		 key[24];
	int		 rc;

	if ((a.by_id = json_object()) == NULL)
		return -1;
	json_array_foreach(list, i, o) {
		json_object_set_new(o, "labels", json_array());
		json_object_set_new(o, "proposed_labels", json_array());
		snprintf(key, sizeof(key), "%lld", (long long)
		    json_integer_value(json_object_get(o, "id")));
		json_object_set(a.by_id, key, o);
	}
	rc = db_labels_each(db, tentacle, label_json, &a);
	json_decref(a.by_id);
	return rc;
}

json_t *
view_schedule(const struct db_schedule *s)
{
	struct proto_labels	 l;
	uint64_t		 ids[SCHEDULE_TENTACLES_MAX];
	uint32_t		 n, i;
	const char		*why;
	json_t			*o, *list;

	o = json_pack("{s:I,s:s,s:b,s:o,s:o,s:o,s:s,s:o}",
	    "id", (json_int_t)s->id, "script", s->script,
	    "enabled", s->enabled,
	    "next_at", s->enabled ? time_or_null(s->next_at) : json_null(),
	    "last_at", time_or_null(s->last_at),
	    "last_run", s->last_run ? json_integer(s->last_run) : json_null(),
	    "created_by", s->created_by,
	    "created_at", time_or_null(s->created_at));
	if (o == NULL)
		return NULL;
	json_object_set_new(o, "disabled_reason", s->disabled_reason[0] ?
	    json_string(s->disabled_reason) : json_null());
	if (s->every > 0)
		json_object_set_new(o, "every", json_integer(s->every));
	else
		json_object_set_new(o, "cron", json_string(s->cron));
	if (strcmp(s->target, "all") == 0)
		json_object_set_new(o, "tentacles", json_string("all"));
	else if (strcmp(s->target, "labels") == 0) {
		list = json_array();
		if (proto_labels_parse(s->target_list, &l, &why) == 0)
			for (i = 0; i < l.n; i++)
				json_array_append_new(list,
				    json_string(l.v[i]));
		json_object_set_new(o, "labels", list);
	} else {
		list = json_array();
		if (groupbody_ids_parse(s->target_list, ids,
		    SCHEDULE_TENTACLES_MAX, &n) == 0)
			for (i = 0; i < n; i++)
				json_array_append_new(list,
				    json_integer((json_int_t)ids[i]));
		json_object_set_new(o, "tentacles", list);
	}
	return o;
}

static void
schedule_json(const struct db_schedule *s, void *arg)
{
	json_t	*o = view_schedule(s);

	if (o != NULL)
		json_array_append_new(arg, o);
}

json_t *
view_schedules(struct db *db)
{
	json_t		*list = json_array();
	time_t		 now = time(NULL);
	struct tm	 tm;
	char		 zone[64] = "", off[16] = "+0000", at[32], offc[16];

	if (db_schedules_each(db, 0, 0, schedule_json, list) == -1) {
		json_decref(list);
		return NULL;
	}
	/* Cron expressions are the brain's local time: say which. */
	if (localtime_r(&now, &tm) != NULL) {
		strftime(zone, sizeof(zone), "%Z", &tm);
		strftime(off, sizeof(off), "%z", &tm);
	}
	snprintf(offc, sizeof(offc), "%.3s:%.2s", off, off + 3);
	rfc3339(now, at, sizeof(at));
	return json_pack("{s:o,s:s,s:s,s:s}", "schedules", list,
	    "time_zone", zone, "utc_offset", offc, "now", at);
}
