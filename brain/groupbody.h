/*
 * The JSON bodies of the API's groups and schedules (SPEC "Groups,
 * schedules, compliance, waivers"), parsed and checked by pure functions:
 * the maestro's handlers call them on the body the webserv passed
 * (API_ARGS_BODY), the unit tests and the fuzzer call the same. Each
 * returns 0, or -1 with a message naming the field in why (whylen bytes
 * where it is a buffer).
 */
#ifndef OCTO_GROUPBODY_H
#define OCTO_GROUPBODY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cron.h"
#include "proto.h"

/* Schedules: every at least SCHEDULE_EVERY_MIN seconds (a minute, like
 * cron's finest step), at most a year; at most SCHEDULE_TENTACLES_MAX
 * listed IDs (more: use a label). */
#define SCHEDULE_EVERY_MIN	60
#define SCHEDULE_EVERY_MAX	(366LL * 86400)
#define SCHEDULE_TENTACLES_MAX	1000

/* A JSON array of labels (strings). */
int	groupbody_labels(json_t *, struct proto_labels *, const char **why);
/* {"labels": [...]} */
int	groupbody_labels_body(const char *, size_t, struct proto_labels *,
	    const char **why);

enum schedule_target { TARGET_ALL, TARGET_TENTACLES, TARGET_LABELS };

/* What a POST gives whole and a PUT in part: has says which. */
#define SB_SCRIPT	0x01
#define SB_TARGET	0x02
#define SB_WHEN		0x04	/* every or cron */
#define SB_ENABLED	0x08
struct schedule_body {
	unsigned		 has;
	char			 script[PROTO_SCRIPT_NAME_MAX];
	enum schedule_target	 target;
	uint32_t		 ntentacles;
	uint64_t		 tentacles[SCHEDULE_TENTACLES_MAX];
	struct proto_labels	 labels;
	int64_t			 every;		/* 0: cron */
	char			 cron[CRON_TEXT_MAX + 1];
	int			 enabled;
};

/* {"script", "tentacles": "all"|[id…] | "labels": [..], "every": s |
 * "cron": "…", "enabled"?}; create: all but enabled required (enabled
 * defaults to true); else any of them, at least one. */
int	groupbody_schedule(const char *, size_t, int create,
	    struct schedule_body *, char *why, size_t whylen);
/* The same with another minimum of every (the brain's key
 * test_schedule_min_every, for the tests). */
int	groupbody_schedule_min(const char *, size_t, int create,
	    long long every_min, struct schedule_body *, char *why,
	    size_t whylen);
/* A schedule's tentacle list as stored ("1,2,3") and back. */
void	groupbody_ids_join(const uint64_t *, uint32_t, char *out,
	    size_t outlen);
int	groupbody_ids_parse(const char *, uint64_t *, uint32_t max,
	    uint32_t *n);

#endif
