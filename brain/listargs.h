/*
 * The arguments of the API's lists (SPEC "Lists at scale"): pages
 * (?limit=N&after=ID), the fleet's filters and sorting, a run's wait. Pure
 * checks, shared by the webserv (which parses the query string) and the
 * maestro (which checks the decoded IPC_API_CALL again), and the LIKE
 * pattern of a text filter.
 */
#ifndef OCTO_LISTARGS_H
#define OCTO_LISTARGS_H

#include <stddef.h>
#include <stdint.h>

/* Rows of one page: the default and the most (a page of the fleet with
 * its facts stays far below IPC_PAYLOAD_MAX; LIST_JSON_MAX cuts it
 * anyway). */
#define LIST_LIMIT_DEFAULT	1000
#define LIST_LIMIT_MAX		1000
/* IDs are JSON integers: at most 2^53. */
#define LIST_ID_MAX		(1ULL << 53)
/* ?q=: a host name or address substring (both are shorter). */
#define LIST_QUERY_MAX		64
/* ?q= as a LIKE pattern: each byte escaped, and the two %. */
#define LIST_LIKE_MAX		(2 * LIST_QUERY_MAX + 3)
/* GET /api/runs/{id}?wait=S: 1 <= S <= RUN_WAIT_MAX seconds. */
#define RUN_WAIT_MAX		30

/* GET /api/tentacles?sort=: the key of the order (ID breaks ties). */
enum list_sort {
	LIST_SORT_ID,
	LIST_SORT_HOSTNAME,
	LIST_SORT_STATE,	/* the status: online, offline, unknown for
				 * accepted tentacles, else the enrolment */
	LIST_SORT_LAST_SEEN,
	LIST_SORT_MAX
};

/* "id", "hostname", "state", "last_seen", each may start with "-"
 * (descending): 0 with *sort and *desc, or -1. */
int	listargs_sort_parse(const char *, uint8_t *sort, uint8_t *desc);
/* online, offline, unknown */
int	listargs_state_valid(const char *);
/* pending, accepted, rejected */
int	listargs_enrolment_valid(const char *);
/* 1 to LIST_QUERY_MAX bytes of UTF-8 text without control characters. */
int	listargs_query_valid(const char *);
/* "%q%" with q's %, _ and \ escaped by \ (for LIKE ... ESCAPE '\'); out
 * has LIST_LIKE_MAX bytes. 0, or -1 if q is not valid. */
int	listargs_like_pattern(const char *q, char *out, size_t outlen);

#endif
