/*
 * Findings: a stored output read line by line as `STATUS CHECK-ID TEXT`,
 * and the strict reader of the checks file (findings.h). Every byte here
 * comes from a script on a tentacle or from a file: nothing is trusted,
 * every length is bounded by limits.h, and what is kept is valid UTF-8 so
 * that the JSON of the API can always be encoded.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <bsd/string.h>

#include "findings.h"
#include "utf8.h"

static const char *const status_names[] = {
	[FINDING_OK] = "OK",
	[FINDING_FAIL] = "FAIL",
	[FINDING_WARN] = "WARN",
	[FINDING_INFO] = "INFO",
	[FINDING_SKIP] = "SKIP",
};
#define NSTATUS	(sizeof(status_names) / sizeof(status_names[0]))

static const char	ellipsis[] = "\xe2\x80\xa6";	/* U+2026 */

const char *
finding_status_name(enum finding_status s)
{
	return (size_t)s < NSTATUS ? status_names[s] : "INFO";
}

int
finding_status_parse(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < NSTATUS; i++)
		if (strlen(status_names[i]) == n &&
		    memcmp(status_names[i], s, n) == 0)
			return (int)i;
	return -1;
}

static int
is_alpha(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int
is_alnum(unsigned char c)
{
	return is_alpha(c) || (c >= '0' && c <= '9');
}

int
finding_check_valid(const char *s, size_t n)
{
	size_t	i;

	if (n == 0 || n > FINDING_CHECK_MAX || !is_alpha((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) &&
		    strchr("._-/:+=@", s[i]) == NULL)
			return 0;
	return 1;
}

/* Whether s[0..n) is valid UTF-8 without control characters (no tab
 * either: the checks file's separator). */
static int
text_clean(const char *s, size_t n)
{
	const uint8_t	*p = (const uint8_t *)s;
	size_t		 i = 0, len;

	while (i < n) {
		if ((len = utf8_seq(p + i, n - i)) == 0 ||
		    (len == 1 && (p[i] < 0x20 || p[i] == 0x7f)))
			return 0;
		i += len;
	}
	return 1;
}

static int
is_blank(uint8_t c)
{
	return c == ' ' || c == '\t';
}

static int
findings_add(struct findings *f, size_t *cap, enum finding_status status,
    const char *check, size_t checklen, const uint8_t *text, size_t textlen,
    int cut)
{
	struct finding	*nv, *x;
	size_t		 o;

	if (f->n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		if (*cap > FINDINGS_MAX)
			*cap = FINDINGS_MAX;
		if ((nv = reallocarray(f->v, *cap, sizeof(*nv))) == NULL)
			return -1;
		f->v = nv;
	}
	x = &f->v[f->n];
	if ((x->text = malloc(textlen * 3 + sizeof(ellipsis))) == NULL)
		return -1;
	o = utf8_sanitize(x->text, text, textlen, 0);
	if (cut) {
		memcpy(x->text + o, ellipsis, 3);
		o += 3;
	}
	x->text[o] = '\0';
	x->status = status;
	memcpy(x->check, check, checklen);
	x->check[checklen] = '\0';
	f->n++;
	return 0;
}

/* One line (without its newline): -1 out of memory, 0 done (a blank line
 * adds nothing). */
static int
parse_line(struct findings *f, size_t *cap, const uint8_t *p, size_t n)
{
	size_t	i = 0, j, k, l, back = 0;
	int	cut = 0, status;

	if (n > FINDING_LINE_MAX) {
		/* Cut before a character, not inside one. */
		n = FINDING_LINE_MAX;
		while (back < 3 && n > 0 && (p[n] & 0xc0) == 0x80) {
			n--;
			back++;
		}
		cut = 1;
	}
	while (n > 0 && (is_blank(p[n - 1]) || p[n - 1] == '\r'))
		n--;
	while (i < n && is_blank(p[i]))
		i++;
	if (i == n)
		return 0;
	for (j = i; j < n && !is_blank(p[j]); j++)
		;
	status = finding_status_parse((const char *)p + i, j - i);
	if (status >= 0 && j < n) {
		for (k = j; k < n && is_blank(p[k]); k++)
			;
		for (l = k; l < n && !is_blank(p[l]); l++)
			;
		if (finding_check_valid((const char *)p + k, l - k)) {
			const char	*check = (const char *)p + k;
			size_t		 checklen = l - k;

			while (l < n && is_blank(p[l]))
				l++;
			return findings_add(f, cap, status, check, checklen,
			    p + l, n - l, cut);
		}
	}
	return findings_add(f, cap, FINDING_INFO, "", 0, p + i, n - i, cut);
}

/* Whether the line has anything but blanks. */
static int
line_blank(const uint8_t *p, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!is_blank(p[i]) && p[i] != '\r')
			return 0;
	return 1;
}

int
findings_parse(const uint8_t *out, size_t len, struct findings *f)
{
	const uint8_t	*p = out, *end = out + len, *nl, *first = NULL;
	size_t		 cap = 0, left = 0, n, firstlen = 0;
	char		 msg[128];
	int		 m;

	f->v = NULL;
	f->n = 0;
	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (f->n < FINDINGS_MAX - 1) {
			if (parse_line(f, &cap, p, n) == -1)
				goto nomem;
		} else if (!line_blank(p, n) && left++ == 0) {
			first = p;
			firstlen = n;
		}
		p += n + (nl != NULL);
	}
	/* Exactly FINDINGS_MAX lines: the last one fits. */
	if (left == 1 && parse_line(f, &cap, first, firstlen) == -1)
		goto nomem;
	if (left > 1) {
		m = snprintf(msg, sizeof(msg), "%zu more line%s not kept: at "
		    "most %d findings per result", left, left == 1 ? "" : "s",
		    FINDINGS_MAX);
		if (findings_add(f, &cap, FINDING_INFO, "", 0,
		    (const uint8_t *)msg, (size_t)m, 0) == -1)
			goto nomem;
	}
	return 0;
nomem:
	findings_free(f);
	return -1;
}

void
findings_free(struct findings *f)
{
	size_t	i;

	for (i = 0; i < f->n; i++)
		free(f->v[i].text);
	free(f->v);
	f->v = NULL;
	f->n = 0;
}

/* ---- the checks file ------------------------------------------------- */

static int
fail_at(char *err, size_t errlen, const char *name, size_t line,
    const char *fmt, ...)
{
	va_list	ap;
	int	n;

	n = snprintf(err, errlen, "%s:%zu: ", name, line);
	if (n >= 0 && (size_t)n < errlen) {
		va_start(ap, fmt);
		vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* A reference: SOURCE:ID, SOURCE letters and digits, ID letters, digits
 * and . _ - / + , (BP028:R9, CIS:1.5.2, BP028:R38-R44). */
static int
ref_valid(const char *s, size_t n)
{
	size_t	i = 0, colon;

	if (n == 0 || n > CHECK_REF_MAX)
		return 0;
	while (i < n && is_alnum((unsigned char)s[i]))
		i++;
	if (i == 0 || i == n || s[i] != ':')
		return 0;
	colon = i++;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) &&
		    strchr("._-/+,", s[i]) == NULL)
			return 0;
	return colon > 0;
}

/* The references field: "" or refs separated by single spaces; *n of
 * them. NULL and a reason when malformed. */
static const char *
refs_check(const char *s, size_t len, size_t *n)
{
	size_t	i = 0, j;

	*n = 0;
	if (len == 0)
		return NULL;
	for (;;) {
		for (j = i; j < len && s[j] != ' '; j++)
			;
		if (j == i)
			return "an empty reference (references are separated "
			    "by single spaces)";
		if (!ref_valid(s + i, j - i))
			return "a bad reference: SOURCE:ID, such as BP028:R9 or "
			    "CIS:1.5.2, at most 64 characters";
		if (++*n > CHECK_REFS_MAX)
			return "more than 16 references";
		if (j == len)
			return NULL;
		i = j + 1;
	}
}

static char *
strndup_checked(const char *s, size_t n)
{
	char	*d;

	if ((d = malloc(n + 1)) == NULL)
		return NULL;
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static int
id_cmp(const void *a, const void *b)
{
	return strcmp(((const struct check_info *)a)->id,
	    ((const struct check_info *)b)->id);
}

static int
check_cmp(const void *a, const void *b)
{
	const struct check_info	*x = a, *y = b;
	int			 c = strcmp(x->id, y->id);

	if (c != 0)
		return c;
	return x->line < y->line ? -1 : x->line > y->line;
}

void
checks_free(struct checks *c)
{
	size_t	i;

	if (c == NULL)
		return;
	for (i = 0; i < c->n; i++) {
		free(c->v[i].refs);
		free(c->v[i].title);
		free(c->v[i].fix);
	}
	free(c->v);
	free(c);
}

/* One line of the checks file into *ci: 0, or -1 with err set. */
static int
check_line(const char *name, size_t lineno, const char *s, size_t n,
    struct check_info *ci, char *err, size_t errlen)
{
	const char	*field[4], *why;
	size_t		 flen[4], nf = 0, i, start = 0;

	for (i = 0; i <= n; i++) {
		if (i < n && s[i] != '\t')
			continue;
		if (nf == 4)
			return fail_at(err, errlen, name, lineno, "more than 4 "
			    "fields (CHECK-ID, references, title, fix, "
			    "separated by tabs)");
		field[nf] = s + start;
		flen[nf++] = i - start;
		start = i + 1;
	}
	if (nf < 4)
		return fail_at(err, errlen, name, lineno, "%zu field%s where 4 "
		    "are due (CHECK-ID, references, title, fix, separated by "
		    "tabs)", nf, nf == 1 ? "" : "s");
	if (!finding_check_valid(field[0], flen[0]))
		return fail_at(err, errlen, name, lineno, "bad CHECK-ID: 1 to "
		    "%d characters, a letter first, then letters, digits and "
		    "._-/:+=@", FINDING_CHECK_MAX);
	if ((why = refs_check(field[1], flen[1], &ci->nrefs)) != NULL)
		return fail_at(err, errlen, name, lineno, "%s", why);
	if (flen[2] == 0 || flen[2] > CHECK_TITLE_MAX)
		return fail_at(err, errlen, name, lineno, "the title must have "
		    "1 to %d bytes", CHECK_TITLE_MAX);
	if (!text_clean(field[2], flen[2]))
		return fail_at(err, errlen, name, lineno, "the title is not "
		    "UTF-8 text (invalid byte or control character)");
	if (flen[3] == 0 || flen[3] > CHECK_FIX_MAX)
		return fail_at(err, errlen, name, lineno, "the fix must have "
		    "1 to %d bytes", CHECK_FIX_MAX);
	if (!text_clean(field[3], flen[3]))
		return fail_at(err, errlen, name, lineno, "the fix is not "
		    "UTF-8 text (invalid byte or control character)");
	memcpy(ci->id, field[0], flen[0]);
	ci->id[flen[0]] = '\0';
	ci->line = lineno;
	if ((ci->refs = strndup_checked(field[1], flen[1])) == NULL ||
	    (ci->title = strndup_checked(field[2], flen[2])) == NULL ||
	    (ci->fix = strndup_checked(field[3], flen[3])) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	return 0;
}

int
checks_parse(const char *name, const char *buf, size_t len,
    struct checks **out, char *err, size_t errlen)
{
	struct checks		*c;
	struct check_info	*nv;
	const char		*p = buf, *end = buf + len, *nl;
	size_t			 lineno = 0, n, cap = 0, i, dup = 0;

	*out = NULL;
	if (len > CHECKS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", name,
		    CHECKS_FILE_MAX);
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	while (p < end) {
		lineno++;
		nl = memchr(p, '\n', (size_t)(end - p));
		n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		if (n > CHECKS_LINE_MAX) {
			fail_at(err, errlen, name, lineno, "line longer than "
			    "%d bytes", CHECKS_LINE_MAX);
			goto fail;
		}
		if (memchr(p, '\0', n) != NULL) {
			fail_at(err, errlen, name, lineno, "NUL byte");
			goto fail;
		}
		if (n > 0 && p[0] != '#') {
			if (c->n == CHECKS_MAX) {
				fail_at(err, errlen, name, lineno, "more than "
				    "%d checks", CHECKS_MAX);
				goto fail;
			}
			if (c->n == cap) {
				cap = cap ? cap * 2 : 64;
				if ((nv = reallocarray(c->v, cap,
				    sizeof(*nv))) == NULL) {
					snprintf(err, errlen, "%s: out of "
					    "memory", name);
					goto fail;
				}
				c->v = nv;
			}
			memset(&c->v[c->n], 0, sizeof(c->v[c->n]));
			/* counted before it is filled: freed if it fails */
			c->n++;
			if (check_line(name, lineno, p, n, &c->v[c->n - 1], err,
			    errlen) == -1)
				goto fail;
		}
		p += n + (nl != NULL);
	}
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), check_cmp);
	/* The duplicate that comes first in the file is the one named. */
	for (i = 1; i < c->n; i++)
		if (strcmp(c->v[i - 1].id, c->v[i].id) == 0 &&
		    (dup == 0 || c->v[i].line < c->v[dup].line))
			dup = i;
	if (dup != 0) {
		fail_at(err, errlen, name, c->v[dup].line, "duplicate CHECK-ID "
		    "%s (first on line %zu)", c->v[dup].id,
		    c->v[dup - 1].line);
		goto fail;
	}
	*out = c;
	return 0;
fail:
	checks_free(c);
	return -1;
}

int
checks_load(const char *path, struct checks **out, char *err, size_t errlen)
{
	struct stat	 st;
	char		*buf;
	size_t		 got = 0;
	ssize_t		 r;
	int		 fd, rc;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (errno != ENOENT)
			return -1;
		if ((*out = calloc(1, sizeof(**out))) == NULL)
			return -1;
		return CHECKS_MISSING;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	if (st.st_size > CHECKS_FILE_MAX) {
		snprintf(err, errlen, "%s: larger than %d bytes", path,
		    CHECKS_FILE_MAX);
		close(fd);
		return -1;
	}
	/* One byte more than the limit: a file that grew is seen. */
	if ((buf = malloc(CHECKS_FILE_MAX + 1)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		close(fd);
		return -1;
	}
	while (got < CHECKS_FILE_MAX + 1 && (r = read(fd, buf + got,
	    CHECKS_FILE_MAX + 1 - got)) != 0) {
		if (r == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			free(buf);
			close(fd);
			return -1;
		}
		got += (size_t)r;
	}
	close(fd);
	rc = checks_parse(path, buf, got, out, err, errlen);
	free(buf);
	return rc;
}

const struct check_info *
checks_find(const struct checks *c, const char *id)
{
	struct check_info	key;

	if (c == NULL || c->n == 0 || strlcpy(key.id, id, sizeof(key.id)) >=
	    sizeof(key.id))
		return NULL;
	key.line = 0;
	return bsearch(&key, c->v, c->n, sizeof(*c->v), id_cmp);
}

/* ---- JSON ------------------------------------------------------------ */

/* A JSON string of s, made valid UTF-8 if it is not (a row written by an
 * older brain, or by hand). */
static json_t *
json_text(const char *s)
{
	json_t	*j;

	if ((j = json_string(s)) != NULL)
		return j;
	return utf8_json(s, strlen(s), 0);
}

static json_t *
refs_json(const struct check_info *ci)
{
	json_t		*a = json_array();
	const char	*s = ci->refs, *sp;

	if (a == NULL)
		return NULL;
	while (*s != '\0') {
		sp = strchr(s, ' ');
		if (json_array_append_new(a, json_stringn(s, sp ? (size_t)(sp -
		    s) : strlen(s))) == -1) {
			json_decref(a);
			return NULL;
		}
		if (sp == NULL)
			break;
		s = sp + 1;
	}
	return a;
}

json_t *
finding_json(const struct checks *c, const char *check, const char *status,
    const char *text)
{
	const struct check_info	*ci = check[0] ? checks_find(c, check) : NULL;

	return json_pack("{s:o,s:s,s:o,s:o,s:o,s:o}",
	    "check", check[0] ? json_text(check) : json_null(),
	    "status", finding_status_parse(status, strlen(status)) >= 0 ?
	    status : "INFO",
	    "text", json_text(text),
	    "refs", ci ? refs_json(ci) : json_null(),
	    "title", ci ? json_string(ci->title) : json_null(),
	    "fix", ci ? json_string(ci->fix) : json_null());
}

size_t
finding_json_size(const struct checks *c, const char *check,
    const char *text)
{
	const struct check_info	*ci = check[0] ? checks_find(c, check) : NULL;
	size_t			 n;

	/* Member names and punctuation, then each string escaped: a quote
	 * or a backslash doubles, nothing else is escaped (no control
	 * character is kept). */
	n = 96 + strlen(check) + 2 * strlen(text);
	if (ci != NULL)
		n += 2 * (strlen(ci->refs) + strlen(ci->title) +
		    strlen(ci->fix)) + 3 * ci->nrefs;
	return n;
}
