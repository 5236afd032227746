/*
 * The lists' arguments (listargs.h): pure checks.
 */
#include <string.h>

#include "listargs.h"
#include "utf8.h"

static const char *const sorts[LIST_SORT_MAX] = {
	[LIST_SORT_ID] = "id",
	[LIST_SORT_HOSTNAME] = "hostname",
	[LIST_SORT_STATE] = "state",
	[LIST_SORT_LAST_SEEN] = "last_seen",
};

int
listargs_sort_parse(const char *s, uint8_t *sort, uint8_t *desc)
{
	uint8_t	i;

	*desc = s[0] == '-';
	s += *desc;
	for (i = 0; i < LIST_SORT_MAX; i++)
		if (strcmp(s, sorts[i]) == 0) {
			*sort = i;
			return 0;
		}
	return -1;
}

int
listargs_state_valid(const char *s)
{
	return strcmp(s, "online") == 0 || strcmp(s, "offline") == 0 ||
	    strcmp(s, "unknown") == 0;
}

int
listargs_enrolment_valid(const char *s)
{
	return strcmp(s, "pending") == 0 || strcmp(s, "accepted") == 0 ||
	    strcmp(s, "rejected") == 0;
}

int
listargs_query_valid(const char *q)
{
	const uint8_t	*p = (const uint8_t *)q;
	size_t		 i, k, n = strlen(q);

	if (n == 0 || n > LIST_QUERY_MAX)
		return 0;
	for (i = 0; i < n; i += k) {
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (k = utf8_seq(p + i, n - i)) == 0)
			return 0;
	}
	return 1;
}

int
listargs_like_pattern(const char *q, char *out, size_t outlen)
{
	size_t	i, o = 0;

	if (!listargs_query_valid(q) || outlen < LIST_LIKE_MAX)
		return -1;
	out[o++] = '%';
	for (i = 0; q[i] != '\0'; i++) {
		if (q[i] == '%' || q[i] == '_' || q[i] == '\\')
			out[o++] = '\\';
		out[o++] = q[i];
	}
	out[o++] = '%';
	out[o] = '\0';
	return 0;
}
