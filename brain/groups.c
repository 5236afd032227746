/*
 * Groups (issue 16): tentacle labels set by an admin (PUT
 * /api/tentacles/{id}/labels) or proposed by the tentacle's own
 * configuration (its facts' "labels"); and the jobs that waited for a
 * tentacle, sent when it answers the keepalive again.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <bsd/string.h>
#include <jansson.h>

#include "groupbody.h"
#include "log.h"
#include "maestro.h"

void
api_tentacle_labels(const struct api_req *r)
{
	struct proto_labels	 l;
	const char		*why;
	char			 text[PROTO_LABELS_TEXT_MAX], detail[1200];
	int64_t			 id = api_id(r->a);
	int			 rc;

	if (groupbody_labels_body(r->a->body, r->a->body_len, &l, &why) ==
	    -1) {
		api_error(r, 400, why);
		return;
	}
	if (db_begin(m.db) == -1) {
		api_error(r, 500, "database error");
		return;
	}
	if ((rc = db_labels_set(m.db, id, &l)) != 0) {
		db_rollback(m.db);
		api_error(r, rc == DB_NOTFOUND ? 404 : 500, rc == DB_NOTFOUND ?
		    "no such tentacle" : "database error");
		return;
	}
	if (db_commit(m.db) == -1) {
		api_error(r, 500, "database error");
		return;
	}
	proto_labels_join(&l, text, sizeof(text));
	snprintf(detail, sizeof(detail), "tentacle %lld: %s", (long long)id,
	    text[0] ? text : "(none)");
	db_audit(m.db, r->s->user, "labels", r->client, detail);
	log_info("%s set the labels of %s", r->s->user, detail);
	api_reply_or_error(r, view_tentacle(m.db, id), NULL);
}

void
groups_propose(int64_t tentacle, json_t *facts)
{
	struct proto_labels	 l;
	json_t			*v = json_object_get(facts, "labels");
	const char		*why;

	memset(&l, 0, sizeof(l));
	if (v != NULL && groupbody_labels(v, &l, &why) == -1) {
		log_warnx("tentacle %lld: proposed labels ignored: %s",
		    (long long)tentacle, why);
		return;
	}
	db_labels_propose(m.db, tentacle, &l);
}

void
groups_tentacle_back(int64_t tentacle)
{
	if (children[CHILD_COMMANDER].chan != NULL)
		db_jobs_waiting(m.db, tentacle, time(NULL), dispatch_order,
		    NULL);
}
