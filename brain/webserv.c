/*
 * webserv: the HTTPS dashboard (report 2.3). evhttp over OpenSSL
 * bufferevents serves the single-page app from web/ and the JSON API.
 *
 * It never decides who may do what: it parses HTTP and JSON, checks sizes
 * and shapes, and sends the maestro a semantic request (IPC_AUTH_LOGIN,
 * IPC_API_CALL) carrying the session key; the maestro checks session, role
 * and CSRF token and answers with a status and a JSON body.
 */
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/http.h>
#include <event2/http_struct.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>

#include "apibody.h"
#include "apicall.h"
#include "brain.h"
#include "crypto.h"
#include "buf.h"
#include "child.h"
#include "confine.h"
#include "ipc.h"
#include "ipcmsg.h"
#include "listargs.h"
#include "log.h"
#include "net.h"
#include "webpath.h"

#define SESSION_COOKIE		"octopus_session"
#define STATIC_FILE_MAX		(8 * 1024 * 1024)	/* web/ holds no more */
#define PENDING_MAX		1024	/* API requests waiting for the
					   maestro; beyond: 503 */
#define MAESTRO_TIMEOUT_S	(RUN_WAIT_MAX + 15) /* the maestro answers
					   in ms, or after a run's wait; this
					   is only for a stuck one */
#define ACCEPT_PAUSE_S		1	/* after accept() ran out of
					   descriptors or memory */
#define CAP_LOG_S		60	/* at most one "limit" line */

#define CSP "default-src 'self'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; object-src 'none'; " \
	"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

struct pending {
	uint32_t		 id;		/* 0 = free slot */
	struct evhttp_request	*req;		/* NULL once the client left */
	struct evhttp_connection *evcon;
	int			 rewrite;	/* status to answer once the
						   session checks out */
	const char		*rewrite_why;
	int			 metrics;	/* GET /metrics: text */
	time_t			 since;
	struct timespec		 start;		/* request parsed */
	int			 route;		/* enum web_route */
};

static struct {
	struct child_loop	 loop;
	struct child_env	*env;
	struct evhttp		*http;
	struct pending		 pending[PENDING_MAX];
	uint32_t		 next_id;
	struct event		*reaper;
	struct evconnlistener	*listener;	/* evhttp's, on listen_fd */
	struct event		*resume;	/* ends an accept pause */
	int			 ssl_index;	/* ex_data: one of ours */
	int			 nconn;		/* open connections */
	int			 at_cap;	/* not accepting: HTTP_CONN_MAX */
	int			 paused;	/* not accepting: accept failed */
	int			 pause_logged;	/* since the last accept */
	time_t			 cap_logged;	/* monotonic seconds */
	/* Latency per route class, request parsed to response written
	 * (GET /metrics sends them to the maestro); the request being
	 * handled, and whether the maestro will answer it. */
	struct histo		 latency[WEB_ROUTES];
	struct timespec		 cur_start;
	int			 cur_route;
	int			 cur_deferred;
} w;

/* ---- responses ------------------------------------------------------- */

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 413: return "Payload Too Large";
	case 415: return "Unsupported Media Type";
	case 417: return "Expectation Failed";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 501: return "Not Implemented";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Status";
	}
}

static void
add_security_headers(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Content-Security-Policy", CSP);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "Strict-Transport-Security",
	    "max-age=31536000");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
}

static void
send_json_text(struct evhttp_request *req, int status, const char *json)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out = evbuffer_new();

	add_security_headers(req);
	evhttp_add_header(h, "Content-Type", "application/json");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (out == NULL) {
		evhttp_send_reply(req, 500, reason_phrase(500), NULL);
		return;
	}
	evbuffer_add(out, json, strlen(json));
	evhttp_send_reply(req, status, reason_phrase(status), out);
	evbuffer_free(out);
}

/* GET /metrics: the Prometheus text exposition format. */
static void
send_metrics_text(struct evhttp_request *req, const char *text)
{
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out = evbuffer_new();

	add_security_headers(req);
	evhttp_add_header(h, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (out == NULL) {
		evhttp_send_reply(req, 500, reason_phrase(500), NULL);
		return;
	}
	evbuffer_add(out, text, strlen(text));
	evhttp_send_reply(req, 200, reason_phrase(200), out);
	evbuffer_free(out);
}

static void
send_error(struct evhttp_request *req, int status, const char *msg)
{
	json_t	*j = json_pack("{s:s}", "error", msg);
	char	*text = j ? json_dumps(j, JSON_COMPACT) : NULL;

	send_json_text(req, status, text ? text : "{\"error\":\"error\"}");
	free(text);
	json_decref(j);
}

/*
 * libevent answers some requests by itself: a request line or headers it
 * cannot parse (400), headers or a body past the limits (413), a method it
 * does not serve (501). Its evhttp_send_error() writes an HTML page without
 * our headers, and 2.1 has no hook to change that (evhttp_set_errorcb came
 * with 2.2). libevent calls it through its PLT, so this definition in the
 * program takes its place, for libevent's calls and ours alike (the
 * dynamic linker binds the program's symbol first; test_webserv_hostile.py
 * fails if a libevent ever stops calling it that way): the same headers
 * and a JSON error as every other answer, then the connection is closed,
 * since what follows a request that could not be framed is not a request.
 */
void
evhttp_send_error(struct evhttp_request *req, int error, const char *reason)
{
	const char	*msg;

	switch (error) {
	case 400: msg = "bad request"; break;
	case 413: msg = "request too large"; break;
	case 501: msg = "method not implemented"; break;
	default: msg = reason_phrase(error); break;
	}
	if (reason != NULL)
		msg = reason;
	/* No request line parsed: answer in HTTP/1.1, as libevent does. */
	if (req->major == 0) {
		req->major = 1;
		req->minor = 1;
	}
	evhttp_clear_headers(evhttp_request_get_output_headers(req));
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Connection", "close");
	send_error(req, error, msg);
}

/* ---- requests to the maestro ----------------------------------------- */

/* A request answered: its latency in its route's histogram. */
static void
latency_done(int route, const struct timespec *start)
{
	histo_add(&w.latency[route], histo_since_us(start));
}

static struct pending *
pending_new(struct evhttp_request *req)
{
	struct pending	*p;
	size_t		 i;

	for (i = 0; i < PENDING_MAX; i++) {
		p = &w.pending[i];
		if (p->id == 0) {
			if (++w.next_id == 0)
				w.next_id = 1;
			p->id = w.next_id;
			p->req = req;
			p->evcon = evhttp_request_get_connection(req);
			p->rewrite = 0;
			p->since = time(NULL);
			return p;
		}
	}
	return NULL;
}

static struct pending *
pending_find(uint32_t id)
{
	size_t	i;

	for (i = 0; i < PENDING_MAX; i++)
		if (w.pending[i].id == id && id != 0)
			return &w.pending[i];
	return NULL;
}

/* The client went away: evhttp frees the request, so forget it. */
static void
connection_closed(struct evhttp_connection *evcon, void *arg)
{
	size_t	i;

	for (i = 0; i < PENDING_MAX; i++)
		if (w.pending[i].id != 0 && w.pending[i].evcon == evcon)
			w.pending[i].req = NULL;
}

static void
pending_reaper(evutil_socket_t fd, short events, void *arg)
{
	time_t	now = time(NULL);
	size_t	i;

	for (i = 0; i < PENDING_MAX; i++) {
		struct pending *p = &w.pending[i];

		if (p->id == 0 || now - p->since < MAESTRO_TIMEOUT_S)
			continue;
		if (p->req) {
			send_error(p->req, 504, "the brain did not answer");
			latency_done(p->route, &p->start);
		}
		p->id = 0;
	}
}

static void
client_address(struct evhttp_request *req, char *out, size_t len)
{
	struct evhttp_connection	*evcon;
	const char			*addr = NULL;
	uint16_t			 port;

	evcon = evhttp_request_get_connection(req);
	if (evcon)
		evhttp_connection_get_peer(evcon, (char **)&addr, &port);
	strlcpy(out, addr ? addr : "unknown", len);
}

static int
send_to_maestro(struct evhttp_request *req, uint32_t type, struct buf *b,
    int rewrite, const char *rewrite_why)
{
	struct pending	*p;

	if ((p = pending_new(req)) == NULL) {
		send_error(req, 503, "too many requests in progress");
		return -1;
	}
	p->rewrite = rewrite;
	p->rewrite_why = rewrite_why;
	p->metrics = type == IPC_METRICS_GET;
	evhttp_connection_set_closecb(p->evcon, connection_closed, NULL);
	if (ipc_send(w.loop.chan, type, p->id, b->data, b->len) == -1) {
		p->id = 0;
		send_error(req, 500, "cannot reach the maestro");
		return -1;
	}
	p->start = w.cur_start;
	p->route = w.cur_route;
	w.cur_deferred = 1;
	return 0;
}

static void	maestro_answer(struct pending *, const struct ipc_msg *);

static void
maestro_reply(struct ipc_chan *chan, const struct ipc_msg *msg, void *arg)
{
	struct pending	*p;

	if (msg->hdr.type != IPC_API_REPLY) {
		log_warnx("unexpected %s from the maestro",
		    ipc_type_str(msg->hdr.type));
		return;
	}
	if ((p = pending_find(msg->hdr.id)) == NULL)
		return;		/* timed out already */
	if (p->req != NULL) {
		struct timespec	start = p->start;
		int		route = p->route;

		maestro_answer(p, msg);
		latency_done(route, &start);
	} else
		maestro_answer(p, msg);
}

static void
maestro_answer(struct pending *p, const struct ipc_msg *msg)
{
	struct ipc_api_reply	 r;
	struct evkeyvalq	*h;
	const char		*why;
	char			 hdr[256];
	char			*text;
	json_t			*body;

	if (ipcmsg_decode_api_reply(msg->payload, msg->hdr.len, &r, &why) ==
	    -1) {
		log_warnx("malformed reply from the maestro: %s", why);
		if (p->req)
			send_error(p->req, 500, "internal error");
		p->id = 0;
		return;
	}
	if (p->req == NULL) {
		explicit_bzero(r.cookie, sizeof(r.cookie));
		p->id = 0;
		return;
	}
	if (p->rewrite && r.status == 200) {
		explicit_bzero(r.cookie, sizeof(r.cookie));
		send_error(p->req, p->rewrite, p->rewrite_why);
		p->id = 0;
		return;
	}
	h = evhttp_request_get_output_headers(p->req);
	if (strcmp(r.cookie, "-") == 0)
		evhttp_add_header(h, "Set-Cookie", SESSION_COOKIE "=; Path=/; "
		    "Max-Age=0; HttpOnly; Secure; SameSite=Strict");
	else if (r.cookie[0] != '\0') {
		snprintf(hdr, sizeof(hdr), SESSION_COOKIE "=%s; Path=/; "
		    "HttpOnly; Secure; SameSite=Strict", r.cookie);
		evhttp_add_header(h, "Set-Cookie", hdr);
		explicit_bzero(hdr, sizeof(hdr));
	}
	explicit_bzero(r.cookie, sizeof(r.cookie));
	if ((text = strndup(r.json, r.json_len)) == NULL) {
		send_error(p->req, 500, "out of memory");
		p->id = 0;
		return;
	}
	if (p->metrics && r.status == 200) {
		send_metrics_text(p->req, text);
		free(text);
		p->id = 0;
		return;
	}
	if (r.status == 429 && (body = json_loads(text, 0, NULL)) != NULL) {
		json_t *ra = json_object_get(body, "retry_after");

		if (json_is_integer(ra)) {
			snprintf(hdr, sizeof(hdr), "%lld",
			    (long long)json_integer_value(ra));
			evhttp_add_header(h, "Retry-After", hdr);
		}
		json_decref(body);
	}
	send_json_text(p->req, (int)r.status, text);
	log_hop("web-out", 0);
	free(text);
	p->id = 0;
}

/* ---- API ------------------------------------------------------------- */

/* The routes are apiops.h's; libevent names the methods its own way. */
static int
method_is(enum evhttp_cmd_type cmd, enum api_method m)
{
	switch (m) {
	case API_METHOD_GET:
		return cmd == EVHTTP_REQ_GET;
	case API_METHOD_POST:
		return cmd == EVHTTP_REQ_POST;
	case API_METHOD_DELETE:
		return cmd == EVHTTP_REQ_DELETE;
	case API_METHOD_PUT:
		return cmd == EVHTTP_REQ_PUT;
	}
	return 0;
}

/* What a pattern's parameter matched. */
struct route_params {
	uint64_t	id;
	char		name[USER_NAME_MAX + 1];
	char		script[PROTO_SCRIPT_NAME_MAX];
};

/* A path segment at *s into out (size len), valid as valid() says: its
 * length (and *s past it), or 0. */
static size_t
route_word(const char **s, char *out, size_t len, int (*valid)(const char *))
{
	size_t	n = strcspn(*s, "/");

	if (n == 0 || n >= len)
		return 0;
	memcpy(out, *s, n);
	out[n] = '\0';
	if (!valid(out))
		return 0;
	*s += n;
	return n;
}

/* Match path against pattern; "{id}" takes a decimal integer from 1 to
 * 2^53 (what JSON clients represent exactly), "{name}" a user name,
 * "{script}" a script name. */
static int
route_match(const char *pattern, const char *path, struct route_params *rp)
{
	const char	*p = pattern, *s = path;
	uint64_t	 v;

	while (*p) {
		if (strncmp(p, "{name}", 6) == 0) {
			if (route_word(&s, rp->name, sizeof(rp->name),
			    apibody_user_name_valid) == 0)
				return 0;
			p += 6;
			continue;
		}
		if (strncmp(p, "{script}", 8) == 0) {
			if (route_word(&s, rp->script, sizeof(rp->script),
			    proto_script_name_valid) == 0)
				return 0;
			p += 8;
			continue;
		}
		if (strncmp(p, "{id}", 4) == 0) {
			if (*s < '1' || *s > '9')
				return 0;
			for (v = 0; *s >= '0' && *s <= '9'; s++) {
				v = v * 10 + (uint64_t)(*s - '0');
				if (v > (1ULL << 53))
					return 0;
			}
			rp->id = v;
			p += 4;
			continue;
		}
		if (*p++ != *s++)
			return 0;
	}
	return *s == '\0';
}

/*
 * The query string's parameters: each of keys[] at most once, nothing
 * else. values[i] points into params (NULL when absent); the caller clears
 * params. -1 with the reason.
 */
static int
query_params(struct evhttp_request *req, const char *const *keys,
    const char **values, size_t nkeys, struct evkeyvalq *params,
    const char **why)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);
	const char		*q = uri ? evhttp_uri_get_query(uri) : NULL;
	struct evkeyval		*kv;
	size_t			 i;

	TAILQ_INIT(params);
	for (i = 0; i < nkeys; i++)
		values[i] = NULL;
	if (q != NULL && evhttp_parse_query_str(q, params) == -1) {
		*why = "bad query string";
		return -1;
	}
	TAILQ_FOREACH(kv, params, next) {
		for (i = 0; i < nkeys; i++)
			if (strcmp(kv->key, keys[i]) == 0)
				break;
		if (i == nkeys || values[i] != NULL) {
			*why = "unknown or repeated query parameter";
			return -1;
		}
		values[i] = kv->value;
	}
	return 0;
}

/* A decimal integer in [min, max], or -1. */
static long long
query_number(const char *v, long long min, long long max)
{
	char		*end;
	long long	 n;

	if (v == NULL || *v < '0' || *v > '9')
		return -1;
	errno = 0;
	n = strtoll(v, &end, 10);
	return errno || *end || n < min || n > max ? -1 : n;
}

/* GET /api/audit?actor=&action=&limit=: the filters, checked. */
static int
audit_query(struct evhttp_request *req, struct api_args *a, const char **why)
{
	static const char *const keys[] = { "actor", "action", "limit" };
	const char		*v[3];
	struct evkeyvalq	 params;
	long long		 n = AUDIT_LIMIT_DEFAULT;
	int			 rc = -1;

	if (query_params(req, keys, v, 3, &params, why) == -1) {
		*why = "the audit log takes actor, action and limit once each";
		goto out;
	}
	if (v[2] != NULL && (n = query_number(v[2], 1, AUDIT_LIMIT_MAX)) ==
	    -1) {
		*why = "limit must be a number from 1 to 1000";
		goto out;
	}
	if ((v[0] && strlen(v[0]) >= OCTO_NAME_MAX) ||
	    (v[1] && strlen(v[1]) >= OCTO_NAME_MAX)) {
		*why = "actor and action are at most 63 characters";
		goto out;
	}
	strlcpy(a->name, v[0] ? v[0] : "", sizeof(a->name));
	strlcpy(a->action, v[1] ? v[1] : "", sizeof(a->action));
	a->limit = (uint32_t)n;
	rc = 0;
out:
	evhttp_clear_headers(&params);
	return rc;
}

/* ---- compliance and waivers (h16b) ---------------------------------- */

/* GET /api/compliance?as_of=&labels=&by=&limit=&after=,
 * /api/compliance/history?days=&labels=,
 * /api/compliance/timeline?tentacle=&script=&limit=: checked. */
static int
compliance_query(struct evhttp_request *req, enum api_args_shape shape,
    struct api_args *a, const char **why)
{
	static const char *const keys[] = { "as_of", "labels", "by", "limit",
	    "after", "days", "tentacle", "script" };
	const char		*v[8];
	struct evkeyvalq	 params;
	long long		 n;
	int64_t			 t;
	size_t			 i;
	int			 rc = -1;

	if (query_params(req, keys, v, 8, &params, why) == -1)
		goto out;
	/* Each route its own parameters. */
	for (i = 0; i < 8; i++) {
		if (v[i] == NULL)
			continue;
		if ((shape == API_ARGS_COMPLIANCE && i > 4) ||
		    (shape == API_ARGS_HISTORY && i != 1 && i != 5) ||
		    (shape == API_ARGS_TIMELINE && i != 3 && i < 6)) {
			*why = shape == API_ARGS_COMPLIANCE ? "the compliance "
			    "matrix takes as_of, labels, by, limit and after" :
			    shape == API_ARGS_HISTORY ? "the compliance "
			    "history takes days and labels" : "a timeline "
			    "takes tentacle, script and limit";
			goto out;
		}
	}
	if (v[0] != NULL) {
		if (apibody_time(v[0], &t) == -1 || t == 0) {
			*why = "as_of must be an RFC 3339 time "
			    "(2026-12-01T00:00:00Z)";
			goto out;
		}
		a->as_of = (uint64_t)t;
	}
	if (v[1] != NULL && (!apibody_labels_valid(v[1]) ||
	    strlcpy(a->labels, v[1], sizeof(a->labels)) >= sizeof(a->labels))) {
		*why = "labels must be a comma-separated list of labels (1 to "
		    "32 of a-z 0-9 . _ -)";
		goto out;
	}
	if (v[2] != NULL && strcmp(v[2], "script") != 0 &&
	    strcmp(v[2], "check") != 0) {
		*why = "by must be script or check";
		goto out;
	}
	a->by_check = v[2] != NULL && strcmp(v[2], "check") == 0;
	n = shape == API_ARGS_TIMELINE ? TIMELINE_LIMIT_DEFAULT :
	    COMPLIANCE_LIMIT_MAX;
	if (v[3] != NULL && (n = query_number(v[3], 1,
	    COMPLIANCE_LIMIT_MAX)) == -1) {
		*why = "limit must be a number from 1 to 1000";
		goto out;
	}
	a->limit = (uint32_t)n;
	if (v[4] != NULL && (n = query_number(v[4], 0, 1LL << 53)) != -1)
		a->after = (uint64_t)n;
	else if (v[4] != NULL) {
		*why = "after must be a tentacle ID";
		goto out;
	}
	if (shape == API_ARGS_HISTORY) {
		n = 30;
		if (v[5] != NULL && (n = query_number(v[5], 1,
		    COMPLIANCE_DAYS_MAX)) == -1) {
			*why = "days must be a number from 1 to 366";
			goto out;
		}
		a->days = (uint32_t)n;
	}
	if (shape == API_ARGS_TIMELINE) {
		if (v[6] == NULL || (n = query_number(v[6], 1, 1LL << 53)) ==
		    -1) {
			*why = "tentacle must be a tentacle ID";
			goto out;
		}
		a->id = (uint64_t)n;
		if (v[7] == NULL || !proto_script_name_valid(v[7])) {
			*why = "script must be the name of a script";
			goto out;
		}
		strlcpy(a->script, v[7], sizeof(a->script));
	}
	rc = 0;
out:
	evhttp_clear_headers(&params);
	return rc;
}

/* A query string of at most one numeric parameter: key=N in [min, max],
 * def when absent. -1 otherwise. */
static long long
query_one_number(struct evhttp_request *req, const char *key,
    long long min, long long max, long long def)
{
	const char		*v[1], *why;
	struct evkeyvalq	 params;
	long long		 n = def;

	if (query_params(req, &key, v, 1, &params, &why) == -1 ||
	    (v[0] != NULL && (n = query_number(v[0], min, max)) == -1))
		n = -1;
	evhttp_clear_headers(&params);
	return n;
}

/* ?limit=N&after=ID of a list (v[0], v[1]; NULL: absent): into a. */
static int
page_query(const char *limit, const char *after, struct api_args *a,
    const char **why)
{
	long long	n = LIST_LIMIT_DEFAULT;

	if (limit != NULL && (n = query_number(limit, 1, LIST_LIMIT_MAX)) ==
	    -1) {
		*why = "limit must be a number from 1 to 1000";
		return -1;
	}
	a->limit = (uint32_t)n;
	n = 0;
	if (after != NULL && (n = query_number(after, 1,
	    (long long)LIST_ID_MAX)) == -1) {
		*why = "after must be an ID (a number from 1 to 2^53)";
		return -1;
	}
	a->after = (uint64_t)n;
	return 0;
}

/* GET /api/tentacles?limit=&after=&sort=&state=&enrolment=&q=&label= */
static int
tentacles_query(struct evhttp_request *req, struct api_args *a,
    const char **why)
{
	static const char *const keys[] = { "limit", "after", "sort",
				    "state", "enrolment", "q", "label" };
	const char		*v[7];
	struct evkeyvalq	 params;
	int			 rc = -1;

	if (query_params(req, keys, v, 7, &params, why) == -1) {
		*why = "the fleet takes limit, after, sort, state, enrolment, "
		    "q and label once each";
		goto out;
	}
	if (page_query(v[0], v[1], a, why) == -1)
		goto out;
	if (v[2] != NULL && listargs_sort_parse(v[2], &a->sort, &a->desc) ==
	    -1) {
		*why = "sort must be id, hostname, state or last_seen "
		    "(- before it: descending)";
		goto out;
	}
	if (v[3] != NULL && !listargs_state_valid(v[3])) {
		*why = "state must be online, offline or unknown";
		goto out;
	}
	if (v[4] != NULL && !listargs_enrolment_valid(v[4])) {
		*why = "enrolment must be pending, accepted or rejected";
		goto out;
	}
	if (v[5] != NULL && v[5][0] != '\0' && !listargs_query_valid(v[5])) {
		*why = "q must be text of at most 64 bytes";
		goto out;
	}
	strlcpy(a->state, v[3] ? v[3] : "", sizeof(a->state));
	strlcpy(a->enrolment, v[4] ? v[4] : "", sizeof(a->enrolment));
	if (v[6] != NULL && !proto_label_valid(v[6])) {
		*why = "label must be 1 to 32 of a-z, 0-9, '.', '_' and '-'";
		goto out;
	}
	strlcpy(a->q, v[5] ? v[5] : "", sizeof(a->q));
	strlcpy(a->labels, v[6] ? v[6] : "", sizeof(a->labels));
	rc = 0;
out:
	evhttp_clear_headers(&params);
	return rc;
}

/* GET /api/runs?tentacle=&limit=&after= */
static int
runs_query(struct evhttp_request *req, struct api_args *a, const char **why)
{
	static const char *const keys[] = { "tentacle", "limit", "after" };
	const char		*v[3];
	struct evkeyvalq	 params;
	long long		 n = 0;
	int			 rc = -1;

	if (query_params(req, keys, v, 3, &params, why) == -1) {
		*why = "runs take tentacle, limit and after once each";
		goto out;
	}
	if (v[0] != NULL && (n = query_number(v[0], 1, 1LL << 53)) == -1) {
		*why = "tentacle must be an ID";
		goto out;
	}
	a->id = (uint64_t)n;
	rc = page_query(v[1], v[2], a, why);
out:
	evhttp_clear_headers(&params);
	return rc;
}

/* GET /api/runs/{id}?output=&limit=&after=&wait= */
static int
run_query(struct evhttp_request *req, struct api_args *a, const char **why)
{
	static const char *const keys[] = { "output", "limit", "after",
				    "wait" };
	const char		*v[4];
	struct evkeyvalq	 params;
	long long		 n = 1;
	int			 rc = -1;

	if (query_params(req, keys, v, 4, &params, why) == -1) {
		*why = "a run takes output, limit, after and wait once each";
		goto out;
	}
	/* ?output=0: without the outputs, for polling. */
	if (v[0] != NULL && (n = query_number(v[0], 0, 1)) == -1) {
		*why = "a run takes output=0 or output=1 only";
		goto out;
	}
	a->with_output = (uint8_t)n;
	if (page_query(v[1], v[2], a, why) == -1)
		goto out;
	n = 0;
	if (v[3] != NULL && (n = query_number(v[3], 1, RUN_WAIT_MAX)) == -1) {
		*why = "wait must be a number of seconds from 1 to 30";
		goto out;
	}
	a->wait = (uint32_t)n;
	rc = 0;
out:
	evhttp_clear_headers(&params);
	return rc;
}

/* The op's arguments from the path, query and body; -1 with the status
 * and message for the client if they are wrong. */
static int
api_args_from(struct evhttp_request *req, const struct api_op_def *r,
    const struct route_params *rp, struct api_args *a, int *status,
    const char **why)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	size_t			 len = evbuffer_get_length(in);
	const char		*body;
	struct enrol_body	 eb;
	struct token_body	 tb;
	struct run_body		 rb;
	struct user_body	 ub;
	struct password_body	 pb;
	struct script_body	 sb;
	struct waiver_body	 wb;
	long long		 n;

	a->id = rp->id;
	/* Only a script's body may be larger than HTTP_BODY_MAX. */
	if (len > HTTP_BODY_MAX && r->args != API_ARGS_SCRIPT_CREATE &&
	    r->args != API_ARGS_SCRIPT_UPDATE) {
		*why = "request body too large";
		*status = 413;
		evbuffer_drain(in, len);
		return -1;
	}
	body = len ? (const char *)evbuffer_pullup(in, len) : "";
	switch (r->args) {
	case API_ARGS_ENROL:
		if (apibody_enrol(body, len, &eb, why) == -1)
			goto bad;
		strlcpy(a->address, eb.address, sizeof(a->address));
		a->port = eb.port;
		memcpy(a->pairing_code, eb.code, sizeof(a->pairing_code));
		crypto_wipe(eb.code, sizeof(eb.code));
		break;
	case API_ARGS_TOKEN:
		if (apibody_token(len ? body : "{}", len ? len : 2, &tb,
		    why) == -1)
			goto bad;
		a->expires_in = tb.expires_in;
		a->uses = tb.uses;
		break;
	case API_ARGS_RUN_CREATE:
		if (apibody_run(body, len, &rb, why) == -1)
			goto bad;
		strlcpy(a->script, rb.script, sizeof(a->script));
		a->ntentacles = rb.ntentacles;
		a->tentacles = rb.tentacles;	/* apicall_clear frees */
		proto_labels_join(&rb.labels, a->labels, sizeof(a->labels));
		a->expires_in = rb.expires_in;
		break;
	case API_ARGS_BODY:
		/* Parsed by the maestro (groupbody.h): only the size here. */
		if (len > HTTP_BODY_MAX) {
			*why = "request body too large";
			goto bad;
		}
		if ((a->body = malloc(len + 1)) == NULL) {
			*why = "out of memory";
			goto bad;
		}
		memcpy(a->body, body, len);
		a->body[len] = '\0';
		a->body_len = len;
		break;
	case API_ARGS_TENTACLES:
		if (tentacles_query(req, a, why) == -1)
			goto bad;
		break;
	case API_ARGS_RUNS:
		/* ?tentacle=ID: the runs that include that tentacle. */
		if (runs_query(req, a, why) == -1)
			goto bad;
		break;
	case API_ARGS_RUN:
		if (run_query(req, a, why) == -1)
			goto bad;
		break;
	case API_ARGS_RESULTS:
		/* ?findings=0: without the findings, for polling. */
		if ((n = query_one_number(req, "findings", 0, 1, 1)) == -1) {
			*why = "results take findings=0 or findings=1 only";
			goto bad;
		}
		a->with_output = (uint8_t)n;
		break;
	case API_ARGS_USER_CREATE:
		if (apibody_user(body, len, &ub, why) == -1)
			goto bad;
		strlcpy(a->name, ub.name, sizeof(a->name));
		strlcpy(a->password, ub.password, sizeof(a->password));
		strlcpy(a->role, ub.role, sizeof(a->role));
		explicit_bzero(&ub, sizeof(ub));
		break;
	case API_ARGS_USER:
		strlcpy(a->name, rp->name, sizeof(a->name));
		break;
	case API_ARGS_PASSWORD:
		if (apibody_password(body, len, &pb, why) == -1)
			goto bad;
		strlcpy(a->name, rp->name, sizeof(a->name));
		strlcpy(a->password, pb.password, sizeof(a->password));
		strlcpy(a->current, pb.current, sizeof(a->current));
		explicit_bzero(&pb, sizeof(pb));
		break;
	case API_ARGS_TOTP_CODE:
		if (apibody_totp_code(body, len, a->code, why) == -1)
			goto bad;
		strlcpy(a->name, rp->name, sizeof(a->name));
		break;
	case API_ARGS_AUDIT:
		if (audit_query(req, a, why) == -1)
			goto bad;
		break;
	case API_ARGS_SCRIPT:
	case API_ARGS_SCRIPT_VERSION:
		strlcpy(a->script, rp->script, sizeof(a->script));
		break;
	case API_ARGS_SCRIPT_CREATE:
	case API_ARGS_SCRIPT_UPDATE:
		if (apibody_script(body, len, r->args ==
		    API_ARGS_SCRIPT_CREATE, &sb, why) == -1)
			goto bad;
		strlcpy(a->script, r->args == API_ARGS_SCRIPT_CREATE ?
		    sb.name : rp->script, sizeof(a->script));
		a->has_description = (uint8_t)sb.has_description;
		strlcpy(a->description, sb.description,
		    sizeof(a->description));
		a->body = sb.body;	/* apicall_clear frees */
		a->body_len = sb.body_len;
		break;
	case API_ARGS_COMPLIANCE:
	case API_ARGS_HISTORY:
	case API_ARGS_TIMELINE:
		if (compliance_query(req, r->args, a, why) == -1)
			goto bad;
		break;
	case API_ARGS_WAIVER:
		if (apibody_waiver(body, len, &wb, why) == -1)
			goto bad;
		a->id = wb.tentacle;
		strlcpy(a->label, wb.label, sizeof(a->label));
		strlcpy(a->script, wb.script, sizeof(a->script));
		strlcpy(a->check, wb.check, sizeof(a->check));
		strlcpy(a->reason, wb.reason, sizeof(a->reason));
		a->expires_at = (uint64_t)wb.expires_at;
		break;
	default:
		break;
	}
	/* A body may hold a password: leave no copy in the buffer. */
	if (len)
		explicit_bzero((void *)body, len);
	return 0;
bad:
	if (len)
		explicit_bzero((void *)body, len);
	*status = len > HTTP_SCRIPT_BODY_MAX ? 413 : 400;
	return -1;
}

/* The session key from the Cookie header, if it has the right shape. */
static int
session_key(struct evhttp_request *req, char *out, size_t outlen)
{
	const char	*c, *v;
	size_t		 n, i;

	c = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Cookie");
	while (c && *c) {
		while (*c == ' ' || *c == ';')
			c++;
		if (strncmp(c, SESSION_COOKIE "=", sizeof(SESSION_COOKIE))
		    == 0) {
			v = c + sizeof(SESSION_COOKIE);
			n = strcspn(v, "; ");
			if (n != OCTO_TOKEN_HEX_LEN || n >= outlen)
				return -1;
			for (i = 0; i < n; i++)
				if (!strchr("0123456789abcdef", v[i]))
					return -1;
			memcpy(out, v, n);
			out[n] = '\0';
			return 0;
		}
		c += strcspn(c, ";");
	}
	return -1;
}

static void
api_login(struct evhttp_request *req)
{
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	size_t			 len = evbuffer_get_length(in);
	char			 client[OCTO_ADDR_MAX];
	struct login_body	 lb;
	struct ipc_auth_login	 al;
	const char		*why;
	struct buf		 b;
	int			 status, rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		send_error(req, 405, "use POST");
		return;
	}
	/* An empty body is "", not NULL: the parser never sees a NULL. */
	if (apibody_login(len ? (const char *)evbuffer_pullup(in, len) : "",
	    len, &lb, &status, &why) == -1) {
		send_error(req, status, why);
		return;
	}
	client_address(req, client, sizeof(client));
	memset(&al, 0, sizeof(al));
	strlcpy(al.client, client, sizeof(al.client));
	strlcpy(al.user, lb.user, sizeof(al.user));
	strlcpy(al.password, lb.password, sizeof(al.password));
	strlcpy(al.totp, lb.totp, sizeof(al.totp));
	crypto_wipe(&lb, sizeof(lb));
	buf_init(&b, IPC_PAYLOAD_MAX);
	rc = ipcmsg_encode_auth_login(&b, &al);
	crypto_wipe(&al, sizeof(al));
	if (rc == 0)
		send_to_maestro(req, IPC_AUTH_LOGIN, &b, 0, NULL);
	else
		send_error(req, 500, "internal error");
	buf_free(&b);
	evbuffer_drain(in, len);
}

static void
api_call(struct evhttp_request *req, const char *path)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	enum evhttp_cmd_type	 method = evhttp_request_get_command(req);
	const struct api_op_def	*r = NULL;
	const char		*csrf, *bg;
	struct api_call		 call;
	struct buf		 b;
	int			 rewrite = 0, path_known = 0;
	size_t			 i;
	struct route_params	 rp = { 0 }, match;
	const char		*rewrite_why = NULL;

	log_hop("web-in", 0);
	memset(&call, 0, sizeof(call));
	if (session_key(req, call.session, sizeof(call.session)) == -1) {
		send_error(req, 401, "not logged in");
		return;
	}
	for (i = 1; i < API_OP_MAX; i++) {
		memset(&match, 0, sizeof(match));
		if (!route_match(api_ops[i].route, path, &match))
			continue;
		path_known = 1;
		if (method_is(method, api_ops[i].method) && r == NULL) {
			r = &api_ops[i];
			rp = match;
		}
	}
	if (r == NULL) {
		/* Check the session anyway (without extending it): an unknown
		 * route must not tell a stranger more than 401. */
		rewrite = path_known ? 405 : 404;
		rewrite_why = path_known ? "method not allowed" :
		    "no such API route";
	} else if (api_args_from(req, r, &rp, &call.args, &rewrite,
	    &rewrite_why) == -1) {
		/* A bad body: answered once the session checks out, like an
		 * unknown route. */
		r = NULL;
	}
	call.op = r ? r->op : API_SESSION;
	if (r == NULL) {
		free(call.args.tentacles);
		free(call.args.body);
		memset(&call.args, 0, sizeof(call.args));
	}
	csrf = evhttp_find_header(h, "X-CSRF-Token");
	bg = evhttp_find_header(h, "X-Octopus-Background");
	call.background = rewrite || (bg && strcmp(bg, "1") == 0);
	if (csrf && strlen(csrf) < sizeof(call.csrf))
		strlcpy(call.csrf, csrf, sizeof(call.csrf));
	client_address(req, call.client, sizeof(call.client));

	buf_init(&b, IPC_PAYLOAD_MAX);
	if (apicall_encode(&b, &call) == 0)
		send_to_maestro(req, IPC_API_CALL, &b, rewrite, rewrite_why);
	else
		send_error(req, 500, "internal error");
	buf_free(&b);
	apicall_clear(&call);
}

/* GET /metrics (issue 17): the bearer token goes to the maestro, which
 * compares it (metrics_token_file) and answers with the text. */
static void
metrics_get(struct evhttp_request *req)
{
	struct ipc_metrics_get	 mg;
	const char		*a;
	struct buf		 b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		send_error(req, 405, "use GET");
		return;
	}
	memset(&mg, 0, sizeof(mg));
	a = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (a != NULL && strncasecmp(a, "Bearer ", 7) == 0 &&
	    strlen(a + 7) <= IPCMSG_TOKEN_MAX)
		ipcmsg_text(mg.token, sizeof(mg.token), a + 7);
	for (a = mg.token; *a; a++)
		if (*a == ' ' || *a == '?') {
			mg.token[0] = '\0';	/* not a token: none */
			break;
		}
	client_address(req, mg.client, sizeof(mg.client));
	memcpy(mg.http, w.latency, sizeof(mg.http));
	buf_init(&b, IPC_PAYLOAD_MAX);
	if (ipcmsg_encode_metrics_get(&b, &mg) == 0)
		send_to_maestro(req, IPC_METRICS_GET, &b, 0, NULL);
	else
		send_error(req, 500, "internal error");
	crypto_wipe(&mg, sizeof(mg));
	buf_free(&b);
}

/* ---- static files ---------------------------------------------------- */

static int
open_beneath(int dirfd, const char *rel)
{
	struct open_how	how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	return syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

static void
serve_static(struct evhttp_request *req, const char *path, size_t len)
{
	enum evhttp_cmd_type	 method = evhttp_request_get_command(req);
	struct evkeyvalq	*h = evhttp_request_get_output_headers(req);
	struct evbuffer		*out;
	const char		*type;
	char			 rel[WEBPATH_MAX + 16];
	struct stat		 st;
	int			 fd, n;

	if (method != EVHTTP_REQ_GET && method != EVHTTP_REQ_HEAD) {
		send_error(req, 405, "method not allowed");
		return;
	}
	if (webpath_resolve(path, len, rel, sizeof(rel)) == -1 ||
	    (type = webpath_content_type(rel)) == NULL) {
		send_error(req, 404, "not found");
		return;
	}
	if ((fd = open_beneath(w.env->webroot_fd, rel)) == -1) {
		if (errno != ENOENT)
			log_debug("web/%s: %s", rel, strerror(errno));
		send_error(req, 404, "not found");
		return;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > STATIC_FILE_MAX || (out = evbuffer_new()) == NULL) {
		close(fd);
		send_error(req, 404, "not found");
		return;
	}
	/* Read it in (sendfile does not apply under TLS); libevent reads at
	 * most 4 KiB a call. */
	while ((off_t)evbuffer_get_length(out) < st.st_size) {
		n = evbuffer_read(out, fd, (int)(st.st_size -
		    (off_t)evbuffer_get_length(out)));
		if (n <= 0) {
			close(fd);
			evbuffer_free(out);
			send_error(req, 500, "cannot read the file");
			return;
		}
	}
	close(fd);
	add_security_headers(req);
	evhttp_add_header(h, "Content-Type", type);
	evhttp_add_header(h, "Cache-Control", "no-cache");
	evhttp_send_reply(req, 200, "OK", out);
	evbuffer_free(out);
}

/* Whether origin (an Origin header) is this server as the client reached
 * it: "https://" and the request's Host. */
static int
same_origin(struct evhttp_request *req, const char *origin)
{
	const char	*host = evhttp_find_header(
			    evhttp_request_get_input_headers(req), "Host");

	if (host == NULL || host[0] == '\0' ||
	    strncasecmp(origin, "https://", 8) != 0)
		return 0;
	return strcasecmp(origin + 8, host) == 0;
}

/*
 * Login CSRF and its kin: a page anywhere can make a browser post a
 * text/plain "form" without asking (no CORS preflight), cookies and all.
 * An API request with a body must say it is JSON, which no form can; one
 * the browser says comes from another site or origin is refused, the
 * login included. 0 if it may go on, else the answer is sent.
 */
static int
api_request_refused(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	const char		*origin = evhttp_find_header(h, "Origin");
	const char		*site = evhttp_find_header(h, "Sec-Fetch-Site");
	const char		*type = evhttp_find_header(h, "Content-Type");
	struct evbuffer		*in = evhttp_request_get_input_buffer(req);
	size_t			 len = evbuffer_get_length(in);

	if ((site && strcasecmp(site, "cross-site") == 0) ||
	    (origin && !same_origin(req, origin))) {
		send_error(req, 403, "cross-origin request refused");
		goto refused;
	}
	if (len > 0 && (type == NULL ||
	    strncasecmp(type, "application/json", 16) != 0 ||
	    (type[16] != '\0' && type[16] != ';' && type[16] != ' '))) {
		send_error(req, 415, "the body must be application/json");
		goto refused;
	}
	return 0;
refused:
	/* It may hold a password: leave no copy in the buffer. */
	if (len > 0)
		explicit_bzero(evbuffer_pullup(in, len), len);
	return 1;
}

/* Whether name is an RFC 9110 token (what a header's name must be). */
static int
header_name_valid(const char *name)
{
	const char	*c;

	if (name[0] == '\0')
		return 0;
	for (c = name; *c; c++)
		if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
		    (*c >= '0' && *c <= '9') || strchr("!#$%&'*+-.^_`|~", *c)))
			return 0;
	return 1;
}

/*
 * A request two parsers could frame two ways (request smuggling): two
 * Content-Length headers, one that is not plain digits, a
 * Transfer-Encoding other than one "chunked" or beside a length, a header
 * name that is not a token ("Transfer-Encoding :"). libevent takes the
 * first length and would read the rest as the next request; the answer is
 * one 400 and a closed connection.
 */
static int
request_ambiguous(struct evhttp_request *req)
{
	struct evkeyvalq	*h = evhttp_request_get_input_headers(req);
	struct evkeyval		*kv;
	int			 ncl = 0, nte = 0;
	size_t			 n;

	TAILQ_FOREACH(kv, h, next) {
		if (!header_name_valid(kv->key))
			return 1;
		if (strcasecmp(kv->key, "Content-Length") == 0) {
			n = strspn(kv->value, "0123456789");
			if (ncl++ || n == 0 || n > 18 || kv->value[n] != '\0')
				return 1;
		} else if (strcasecmp(kv->key, "Transfer-Encoding") == 0) {
			if (nte++ || strcasecmp(kv->value, "chunked") != 0)
				return 1;
		}
	}
	return ncl && nte;
}

static void
handle_path(struct evhttp_request *req, const struct evhttp_uri *uri)
{
	const char		*raw = uri ? evhttp_uri_get_path(uri) : NULL;
	char			*path;
	size_t			 len;

	/* Only when it could not make the TLS state (memory) does evhttp
	 * give a connection without it: never answer in the clear. */
	if (bufferevent_openssl_get_ssl(evhttp_connection_get_bufferevent(
	    evhttp_request_get_connection(req))) == NULL) {
		evhttp_send_error(req, 400, "TLS only");
		return;
	}
	if (request_ambiguous(req)) {
		evhttp_send_error(req, 400, "ambiguous request framing");
		return;
	}
	if (raw == NULL || raw[0] == '\0')
		raw = "/";
	if ((path = evhttp_uridecode(raw, 0, &len)) == NULL) {
		send_error(req, 400, "bad path");
		return;
	}
	if (strlen(path) != len) {
		free(path);
		send_error(req, 400, "bad path");
		return;
	}
	if (strncmp(path, "/api/", 5) == 0 || strcmp(path, "/api") == 0) {
		w.cur_route = WEB_ROUTE_API;
		if (api_request_refused(req))
			;	/* answered */
		else if (strcmp(path, "/api/login") == 0)
			api_login(req);
		else
			api_call(req, path);
	} else if (strcmp(path, "/metrics") == 0) {
		w.cur_route = WEB_ROUTE_METRICS;
		metrics_get(req);
	} else
		serve_static(req, path, len);
	free(path);
}

/* One request: parsed, answered now or by the maestro, timed. */
static void
handle_request(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri	*uri = evhttp_request_get_evhttp_uri(req);

	histo_start(&w.cur_start);
	w.cur_route = WEB_ROUTE_STATIC;
	w.cur_deferred = 0;
	handle_path(req, uri);
	if (!w.cur_deferred)		/* answered already */
		latency_done(w.cur_route, &w.cur_start);
}

/*
 * The connection cap and the pause after a failed accept(). evhttp owns
 * the listener and the connections; what we see of them is the listener,
 * the bufferevent callback (one call per accepted connection) and the SSL
 * of each, freed with its bufferevent when evhttp closes the connection:
 * an ex_data free callback counts the closes.
 */
static time_t
now_mono(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

static void
accept_update(void)
{
	if (w.listener == NULL)
		return;		/* evhttp_free() is closing everything */
	if (w.at_cap || w.paused)
		evconnlistener_disable(w.listener);
	else
		evconnlistener_enable(w.listener);
}

static void
ssl_freed(void *parent, void *ptr, CRYPTO_EX_DATA *ad, int idx, long argl,
    void *argp)
{
	if (ptr == NULL)
		return;		/* not a connection of ours */
	w.nconn--;
	if (w.at_cap && w.nconn < HTTP_CONN_MAX) {
		w.at_cap = 0;
		accept_update();
	}
}

static void
accept_resume(evutil_socket_t fd, short events, void *arg)
{
	w.paused = 0;
	accept_update();
}

/* accept() failed for another reason than a peer gone: descriptors
 * (EMFILE, ENFILE) or memory. The socket stays readable, so libevent would
 * spin on it: stop accepting for a while, say so once. */
static void
accept_failed(struct evconnlistener *lev, void *arg)
{
	struct timeval	tv = { ACCEPT_PAUSE_S, 0 };

	if (!w.pause_logged)
		log_warn("accept (%d connections open): pausing %d s at a "
		    "time until one succeeds", w.nconn, ACCEPT_PAUSE_S);
	w.pause_logged = 1;
	w.paused = 1;
	accept_update();
	evtimer_add(w.resume, &tv);
}

static struct bufferevent *
make_tls_bufferevent(struct event_base *base, void *arg)
{
	SSL			*ssl = SSL_new(w.env->tls);
	struct bufferevent	*bev;
	time_t			 now;

	w.pause_logged = 0;	/* an accept() succeeded */
	if (ssl == NULL)
		return NULL;
	if ((bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE |
	    BEV_OPT_DEFER_CALLBACKS)) == NULL) {
		SSL_free(ssl);
		return NULL;	/* evhttp falls back to plain TCP: refused
				   in handle_request */
	}
	if (SSL_set_ex_data(ssl, w.ssl_index, &w) == 1)
		w.nconn++;
	if (w.nconn >= HTTP_CONN_MAX && !w.at_cap) {
		now = now_mono();
		if (w.cap_logged == 0 || now - w.cap_logged >= CAP_LOG_S) {
			log_warnx("%d connections open (limit): not accepting "
			    "until one closes", w.nconn);
			w.cap_logged = now;
		}
		w.at_cap = 1;
		accept_update();
	}
	return bev;
}

static void
webserv_reloaded(const struct brain_conf *conf)
{
	evhttp_set_timeout(w.http, (int)conf->io_timeout);
}

int
webserv_main(struct child_env *env)
{
	struct timeval			 tick = { 1, 0 };
	struct evhttp_bound_socket	*bound;
	char				 err[256];

	w.env = env;
	if (child_loop_init(&w.loop, env, "webserv", maestro_reply, NULL)
	    == -1)
		fatalx("cannot set up the event loop");
	if ((w.http = evhttp_new(w.loop.base)) == NULL)
		fatalx("evhttp_new");
	w.loop.reloaded = webserv_reloaded;
	evhttp_set_bevcb(w.http, make_tls_bufferevent, NULL);
	/* HTTP_BODY_MAX but for a script's body: api_args_from. */
	evhttp_set_max_body_size(w.http, HTTP_SCRIPT_BODY_MAX);
	evhttp_set_max_headers_size(w.http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(w.http, (int)env->conf->io_timeout);
	evhttp_set_allowed_methods(w.http, EVHTTP_REQ_GET | EVHTTP_REQ_HEAD |
	    EVHTTP_REQ_POST | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
	evhttp_set_gencb(w.http, handle_request, NULL);
	if ((w.ssl_index = SSL_get_ex_new_index(0, NULL, NULL, NULL,
	    ssl_freed)) == -1 ||
	    (w.resume = evtimer_new(w.loop.base, accept_resume, NULL)) ==
	    NULL)
		fatalx("cannot set up the connection count");
	if ((bound = evhttp_accept_socket_with_handle(w.http,
	    env->listen_fd)) == NULL)
		fatalx("cannot accept on the dashboard socket");
	w.listener = evhttp_bound_socket_get_listener(bound);
	evconnlistener_set_error_cb(w.listener, accept_failed);
	w.reaper = event_new(w.loop.base, -1, EV_PERSIST, pending_reaper,
	    NULL);
	event_add(w.reaper, &tick);
	log_debug("serving https on port %d", env->conf->web_port);

	child_confine(confine_webserv(env->webroot_fd, err, sizeof(err)), err);
	child_loop_run(&w.loop);

	event_free(w.reaper);
	w.listener = NULL;
	evhttp_free(w.http);
	event_free(w.resume);
	ipc_chan_free(w.loop.chan);
	event_base_free(w.loop.base);
	return 0;
}
