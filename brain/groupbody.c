/*
 * Groups and schedules: the API's JSON bodies (groupbody.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>

#include "groupbody.h"
#include "limits.h"

static json_t *
load_object(const char *body, size_t len)
{
	json_t	*j;

	if (len > HTTP_BODY_MAX)
		return NULL;
	j = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j)) {
		json_decref(j);
		return NULL;
	}
	return j;
}

int
groupbody_labels(json_t *a, struct proto_labels *l, const char **why)
{
	json_t		*v;
	size_t		 i;
	const char	*s;

	memset(l, 0, sizeof(*l));
	if (!json_is_array(a)) {
		*why = "labels must be a list of labels";
		return -1;
	}
	json_array_foreach(a, i, v) {
		s = json_string_value(v);
		if (s == NULL || strlen(s) != json_string_length(v)) {
			*why = "labels must be a list of labels";
			return -1;
		}
		if (proto_labels_add(l, s, why) == -1)
			return -1;
	}
	return 0;
}

int
groupbody_labels_body(const char *body, size_t len, struct proto_labels *l,
    const char **why)
{
	json_t	*j;
	int	 rc;

	memset(l, 0, sizeof(*l));
	if ((j = load_object(body, len)) == NULL) {
		*why = "the body must be a JSON object";
		return -1;
	}
	if ((rc = groupbody_labels(json_object_get(j, "labels"), l, why)) ==
	    -1 && json_object_get(j, "labels") == NULL)
		*why = "labels: a list of labels is required";
	json_decref(j);
	return rc;
}

static int
fail(char *why, size_t whylen, const char *msg)
{
	strlcpy(why, msg, whylen);
	return -1;
}

/* "tentacles" and "labels": which tentacles. */
static int
schedule_target(json_t *j, struct schedule_body *b, char *why,
    size_t whylen)
{
	json_t		*t = json_object_get(j, "tentacles");
	json_t		*l = json_object_get(j, "labels");
	json_t		*v;
	const char	*w;
	size_t		 i;

	if (t && l)
		return fail(why, whylen, "tentacles or labels: give one, not "
		    "both");
	if (l) {
		if (groupbody_labels(l, &b->labels, &w) == -1)
			return fail(why, whylen, w);
		if (b->labels.n == 0)
			return fail(why, whylen, "labels: at least one label");
		b->target = TARGET_LABELS;
		return 0;
	}
	if (json_is_string(t) && strcmp(json_string_value(t), "all") == 0) {
		b->target = TARGET_ALL;
		return 0;
	}
	if (!json_is_array(t) || json_array_size(t) == 0 ||
	    json_array_size(t) > SCHEDULE_TENTACLES_MAX)
		return fail(why, whylen, "tentacles must be \"all\" or a list "
		    "of 1 to 1000 tentacle IDs");
	json_array_foreach(t, i, v) {
		if (!json_is_integer(v) || json_integer_value(v) < 1 ||
		    json_integer_value(v) > (1LL << 53))
			return fail(why, whylen, "tentacles: IDs are positive "
			    "integers");
		b->tentacles[i] = (uint64_t)json_integer_value(v);
	}
	b->ntentacles = (uint32_t)json_array_size(t);
	b->target = TARGET_TENTACLES;
	return 0;
}

/* "every" or "cron". */
static int
schedule_when(json_t *j, long long every_min, struct schedule_body *b,
    char *why, size_t whylen)
{
	json_t		*e = json_object_get(j, "every");
	json_t		*c = json_object_get(j, "cron");
	struct cron	 cr;
	const char	*s;

	if (e && c)
		return fail(why, whylen, "every or cron: give one, not both");
	if (e) {
		if (!json_is_integer(e) || json_integer_value(e) < every_min ||
		    json_integer_value(e) > SCHEDULE_EVERY_MAX) {
			snprintf(why, whylen, "every: seconds, at least %lld "
			    "and at most a year", every_min);
			return -1;
		}
		b->every = json_integer_value(e);
		return 0;
	}
	s = json_string_value(c);
	if (s == NULL || strlen(s) != json_string_length(c))
		return fail(why, whylen, "cron: a string \"MIN HOUR DOM MON "
		    "DOW\"");
	if (cron_parse(s, &cr, why, whylen) == -1)
		return -1;
	if (cron_next(&cr, time(NULL)) == -1)
		return fail(why, whylen, "cron: the expression never fires");
	strlcpy(b->cron, s, sizeof(b->cron));
	b->every = 0;
	return 0;
}

int
groupbody_schedule(const char *body, size_t len, int create,
    struct schedule_body *b, char *why, size_t whylen)
{
	return groupbody_schedule_min(body, len, create, SCHEDULE_EVERY_MIN, b,
	    why, whylen);
}

int
groupbody_schedule_min(const char *body, size_t len, int create,
    long long every_min, struct schedule_body *b, char *why, size_t whylen)
{
	static const char *const known[] = { "script", "tentacles", "labels",
	    "every", "cron", "enabled", NULL };
	json_t		*j, *v;
	const char	*key, *s;
	int		 rc = -1, i;

	memset(b, 0, sizeof(*b));
	b->enabled = 1;
	if ((j = load_object(body, len)) == NULL)
		return fail(why, whylen, "the body must be a JSON object");
	json_object_foreach(j, key, v) {
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (known[i] == NULL) {
			snprintf(why, whylen, "unknown field: %.40s", key);
			goto out;
		}
	}
	if ((v = json_object_get(j, "script")) != NULL) {
		s = json_string_value(v);
		if (s == NULL || strlen(s) != json_string_length(v) ||
		    !proto_script_name_valid(s)) {
			fail(why, whylen, "script must be the name of a script "
			    "(letters, digits, . _ -)");
			goto out;
		}
		strlcpy(b->script, s, sizeof(b->script));
		b->has |= SB_SCRIPT;
	}
	if (json_object_get(j, "tentacles") || json_object_get(j, "labels")) {
		if (schedule_target(j, b, why, whylen) == -1)
			goto out;
		b->has |= SB_TARGET;
	}
	if (json_object_get(j, "every") || json_object_get(j, "cron")) {
		if (schedule_when(j, every_min, b, why, whylen) == -1)
			goto out;
		b->has |= SB_WHEN;
	}
	if ((v = json_object_get(j, "enabled")) != NULL) {
		if (!json_is_boolean(v)) {
			fail(why, whylen, "enabled: true or false");
			goto out;
		}
		b->enabled = json_is_true(v);
		b->has |= SB_ENABLED;
	}
	if (create && !(b->has & SB_SCRIPT))
		fail(why, whylen, "script: required");
	else if (create && !(b->has & SB_TARGET))
		fail(why, whylen, "tentacles or labels: required");
	else if (create && !(b->has & SB_WHEN))
		fail(why, whylen, "every or cron: required");
	else if (b->has == 0)
		fail(why, whylen, "nothing to change");
	else
		rc = 0;
out:
	json_decref(j);
	return rc;
}

void
groupbody_ids_join(const uint64_t *ids, uint32_t n, char *out,
    size_t outlen)
{
	char		one[24];
	uint32_t	i;

	if (outlen)
		out[0] = '\0';
	for (i = 0; i < n; i++) {
		snprintf(one, sizeof(one), "%s%llu", i ? "," : "",
		    (unsigned long long)ids[i]);
		strlcat(out, one, outlen);
	}
}

int
groupbody_ids_parse(const char *s, uint64_t *ids, uint32_t max,
    uint32_t *n)
{
	char			*end;
	unsigned long long	 v;

	*n = 0;
	while (*s) {
		if (*s < '1' || *s > '9' || *n >= max)
			return -1;
		v = strtoull(s, &end, 10);
		if (v > (1ULL << 53) || (*end != ',' && *end != '\0'))
			return -1;
		ids[(*n)++] = v;
		s = *end ? end + 1 : end;
	}
	return 0;
}
