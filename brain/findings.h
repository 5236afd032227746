/*
 * Findings (SPEC "Findings"): what an audit script's output says, one line
 * per check, `STATUS CHECK-ID TEXT`; and the checks file (brain key
 * checks_file, scripts/audit/CHECKS) that gives every CHECK-ID its
 * references, title and fix. The maestro parses an output when it stores
 * the result (db.c) and reads the checks file at start and on SIGHUP; the
 * API joins the two (finding_json). Pure functions over buffers but
 * checks_load, so that unit tests and fuzzers call what the maestro calls.
 */
#ifndef OCTO_FINDINGS_H
#define OCTO_FINDINGS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "limits.h"

enum finding_status {
	FINDING_OK,
	FINDING_FAIL,
	FINDING_WARN,
	FINDING_INFO,
	FINDING_SKIP,
};

struct finding {
	enum finding_status	 status;
	/* "" when the line did not parse: then status is FINDING_INFO and
	 * text is the whole line */
	char			 check[FINDING_CHECK_MAX + 1];
	/* Valid UTF-8 without control characters but tab (a bad byte is
	 * U+FFFD), at most 3 x FINDING_LINE_MAX + 3 bytes; "…" ends a line
	 * cut at FINDING_LINE_MAX. */
	char			*text;
};

struct findings {
	struct finding	*v;
	size_t		 n;		/* <= FINDINGS_MAX */
};

/*
 * Every line of out that is not blank becomes a finding, in order; past
 * FINDINGS_MAX - 1, one last INFO says how many lines were left out.
 * 0, or -1 when out of memory (f is then empty). Free with findings_free.
 */
int	findings_parse(const uint8_t *out, size_t len, struct findings *f);
void	findings_free(struct findings *f);

/* "OK", "FAIL"...; the enum from the exact upper-case word, -1 if not. */
const char *finding_status_name(enum finding_status);
int	finding_status_parse(const char *s, size_t n);

/* A CHECK-ID: 1..FINDING_CHECK_MAX bytes, a letter first, then letters,
 * digits and . _ - / : + = @ (no space, no quote, nothing to escape). */
int	finding_check_valid(const char *s, size_t n);

/* One check of the checks file. refs holds the references separated by
 * single spaces ("BP028:R9 CIS:1.5.2"; "" for none), nrefs of them. */
struct check_info {
	char	 id[FINDING_CHECK_MAX + 1];
	char	*refs;
	size_t	 nrefs;
	char	*title;
	char	*fix;
	size_t	 line;		/* in the file, for messages */
};

struct checks {
	struct check_info	*v;	/* sorted by id */
	size_t			 n;
};

#define CHECKS_MISSING	1

/*
 * Read a checks file held in buf (name is for messages only). Lines: `#`
 * comment, blank, or CHECK-ID TAB references TAB title TAB fix, with
 * references SOURCE:ID separated by spaces (may be empty), title and fix
 * non-empty UTF-8 without control characters. Anything else, a duplicate
 * CHECK-ID or a limit of limits.h passed: -1 and "NAME:LINE: reason" in
 * err. 0 and a table to free with checks_free.
 */
int	checks_parse(const char *name, const char *buf, size_t len,
	    struct checks **out, char *err, size_t errlen);
/* The same from a file: CHECKS_MISSING (and an empty table) when there is
 * no such file, -1 when it cannot be read or is malformed. */
int	checks_load(const char *path, struct checks **out, char *err,
	    size_t errlen);
void	checks_free(struct checks *);
/* The check of that ID, or NULL (also for a NULL table). */
const struct check_info *checks_find(const struct checks *, const char *id);

/*
 * The API's finding: {"check", "status", "text", "refs", "title", "fix"}.
 * check "" (a line that did not parse) is null; refs, title and fix are
 * null for a check the table does not know. NULL if out of memory.
 */
json_t	*finding_json(const struct checks *, const char *check,
	    const char *status, const char *text);
/* An upper bound of its length once encoded, for FINDINGS_JSON_MAX. */
size_t	finding_json_size(const struct checks *, const char *check,
	    const char *text);

#endif
