/*
 * The export's formats (export.h), pure: an event as an RFC 5424 message
 * in RFC 5425 framing, the webhook's signed request, an HTTP status
 * line, the targets' addresses.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bsd/string.h>
#include <jansson.h>

#include "crypto.h"
#include "export.h"

const char *
export_target_name(enum export_target t)
{
	switch (t) {
	case EXPORT_SYSLOG:	return "syslog";
	case EXPORT_WEBHOOK:	return "webhook";
	default:		return "?";
	}
}

const char *
export_state_name(enum export_state s)
{
	switch (s) {
	case EXPORT_DOWN:	return "down";
	case EXPORT_CONNECTING:	return "connecting";
	case EXPORT_CONNECTED:	return "connected";
	default:		return "?";
	}
}

int
export_printf(struct buf *out, const char *fmt, ...)
{
	char	tmp[512];
	va_list	ap;
	int	n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(tmp))
		return -1;
	return buf_append(out, tmp, (size_t)n);
}

int
export_sd_value(struct buf *out, const char *v, size_t len)
{
	size_t	i, from = 0;

	for (i = 0; i < len; i++)
		if (v[i] == '"' || v[i] == '\\' || v[i] == ']') {
			if (buf_append(out, v + from, i - from) == -1 ||
			    buf_append(out, "\\", 1) == -1)
				return -1;
			from = i;
		}
	return buf_append(out, v + from, len - from);
}

void
export_sd_name(char dst[33], const char *s)
{
	size_t	i;

	for (i = 0; i < 32 && s[i]; i++)
		dst[i] = (s[i] > 32 && s[i] < 127 && s[i] != '=' &&
		    s[i] != ']' && s[i] != '"') ? s[i] : '_';
	if (i == 0)
		dst[i++] = '_';
	dst[i] = '\0';
}

/* A header field: printable US-ASCII, no space, at most max; "-" if
 * empty. */
static int
header_field(struct buf *out, const char *s, size_t max)
{
	char	f[256];
	size_t	i;

	for (i = 0; s && s[i] && i < max && i < sizeof(f) - 1; i++)
		f[i] = (s[i] > 32 && s[i] < 127) ? s[i] : '_';
	if (i == 0)
		f[i++] = '-';
	f[i] = '\0';
	return export_printf(out, "%s ", f);
}

static int
sd_param(struct buf *out, const char *name, json_t *v)
{
	char	n[33], num[64];

	export_sd_name(n, name);
	if (json_is_string(v)) {
		if (export_printf(out, " %s=\"", n) == -1 ||
		    export_sd_value(out, json_string_value(v),
		    json_string_length(v)) == -1)
			return -1;
		return buf_append(out, "\"", 1);
	}
	if (json_is_integer(v))
		snprintf(num, sizeof(num), "%lld",
		    (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(num, sizeof(num), "%g", json_real_value(v));
	else if (json_is_boolean(v))
		strlcpy(num, json_is_true(v) ? "true" : "false", sizeof(num));
	else
		return 0;	/* objects, arrays, null: in the JSON only */
	return export_printf(out, " %s=\"%s\"", n, num);
}

static int
severity(const char *event)
{
	static const char *const warnings[] = { "tentacle.offline",
	    "finding.new", "run.failed", "handshake.refused" };
	static const char *const notices[] = { "tentacle.online",
	    "tentacle.enrolled", "finding.resolved", "ledger.checkpoint" };
	size_t	i;

	for (i = 0; i < sizeof(warnings) / sizeof(warnings[0]); i++)
		if (strcmp(event, warnings[i]) == 0)
			return 4;
	for (i = 0; i < sizeof(notices) / sizeof(notices[0]); i++)
		if (strcmp(event, notices[i]) == 0)
			return 5;
	return 6;
}

#define FACILITY_LOG_AUDIT	13

int
export_syslog_frame(struct buf *out, const char *json, size_t len)
{
	struct buf	 msg;
	json_t		*e, *t, *fields, *v;
	const char	*event, *k;
	int		 rc = -1;

	if ((e = json_loadb(json, len, JSON_REJECT_DUPLICATES, NULL)) == NULL)
		return -1;
	buf_init(&msg, EXPORT_EVENT_MAX * 4 + 4096);
	event = json_string_value(json_object_get(e, "event"));
	if (event == NULL || !json_is_integer(json_object_get(e, "seq")) ||
	    !json_is_string(json_object_get(e, "time")))
		goto done;
	if (export_printf(&msg, "<%d>1 ", FACILITY_LOG_AUDIT * 8 +
	    severity(event)) == -1 ||
	    header_field(&msg, json_string_value(json_object_get(e, "time")),
	    32) == -1 ||
	    header_field(&msg, json_string_value(json_object_get(e, "brain")),
	    255) == -1 ||
	    export_printf(&msg, "octoBrain - ") == -1 ||
	    header_field(&msg, event, 32) == -1 ||
	    export_printf(&msg, "[%s", EXPORT_SD_ID) == -1 ||
	    sd_param(&msg, "event", json_object_get(e, "event")) == -1 ||
	    sd_param(&msg, "seq", json_object_get(e, "seq")) == -1 ||
	    sd_param(&msg, "id", json_object_get(e, "id")) == -1)
		goto done;
	if ((t = json_object_get(e, "tentacle")) != NULL &&
	    (sd_param(&msg, "tentacle", json_object_get(t, "id")) == -1 ||
	    sd_param(&msg, "hostname", json_object_get(t, "hostname")) == -1))
		goto done;
	if (sd_param(&msg, "actor", json_object_get(e, "actor")) == -1)
		goto done;
	fields = json_object_get(e, "fields");
	json_object_foreach(fields, k, v)
		if (sd_param(&msg, k, v) == -1)
			goto done;
	if (buf_append(&msg, "] ", 2) == -1 ||
	    buf_append(&msg, json, len) == -1 ||
	    export_printf(out, "%zu ", msg.len) == -1 ||
	    buf_append(out, msg.data, msg.len) == -1)
		goto done;
	rc = 0;
done:
	buf_free(&msg);
	json_decref(e);
	return rc;
}

int
export_webhook_request(struct buf *out, const char *host, unsigned port,
    const char *path, const char *body, size_t len, const uint8_t *secret,
    size_t secretlen)
{
	uint8_t	mac[SHA256_LEN];
	char	hex[SHA256_LEN * 2 + 1];
	char	hostport[EXPORT_HOST_MAX + 16];
	size_t	i;

	for (i = 0; path[i]; i++)
		if (path[i] <= 32 || path[i] >= 127)
			return -1;
	for (i = 0; host[i]; i++)
		if (host[i] <= 32 || host[i] >= 127)
			return -1;
	if (path[0] != '/' || host[0] == '\0' || secretlen == 0 ||
	    crypto_hmac_sha256(secret, secretlen, body, len, mac) == -1)
		return -1;
	hex_encode(mac, sizeof(mac), hex);
	if (strchr(host, ':') != NULL)
		snprintf(hostport, sizeof(hostport), "[%s]", host);
	else
		strlcpy(hostport, host, sizeof(hostport));
	if (port != 443) {
		i = strlen(hostport);
		snprintf(hostport + i, sizeof(hostport) - i, ":%u", port);
	}
	if (buf_append(out, "POST ", 5) == -1 ||
	    buf_append(out, path, strlen(path)) == -1 ||
	    export_printf(out, " HTTP/1.1\r\nHost: %s\r\n"
	    "User-Agent: octoBrain\r\n"
	    "Content-Type: application/json\r\n"
	    "Content-Length: %zu\r\n"
	    "X-Octopus-Signature: sha256=%s\r\n"
	    "Connection: close\r\n\r\n", hostport, len, hex) == -1 ||
	    buf_append(out, body, len) == -1)
		return -1;
	return 0;
}

int
export_http_status(const char *buf, size_t len)
{
	const char	*eol;
	int		 st;

	if ((eol = memchr(buf, '\n', len)) == NULL)
		return len > 1024 ? -1 : 0;
	if (eol - buf < 12 || strncmp(buf, "HTTP/1.", 7) != 0 ||
	    (buf[7] != '0' && buf[7] != '1') || buf[8] != ' ' ||
	    buf[9] < '1' || buf[9] > '5' || buf[10] < '0' || buf[10] > '9' ||
	    buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r' && buf[12] != '\n'))
		return -1;
	st = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	return st;
}

static int
parse_port(const char *s, unsigned *port)
{
	char		*end;
	unsigned long	 p;

	if (*s < '0' || *s > '9')
		return -1;
	p = strtoul(s, &end, 10);
	if (*end != '\0' || p == 0 || p > 65535)
		return -1;
	*port = (unsigned)p;
	return 0;
}

/* host[:port] (or [v6][:port]); *port untouched when there is none
 * unless need_port. */
static int
split_host(const char *s, size_t n, char *host, size_t hostlen,
    unsigned *port, int need_port)
{
	char		 tmp[EXPORT_HOST_MAX + 16];
	const char	*h, *colon = NULL;
	size_t		 hl, i;

	if (n == 0 || n >= sizeof(tmp))
		return -1;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (tmp[0] == '[') {
		char *close = strchr(tmp, ']');

		if (close == NULL)
			return -1;
		h = tmp + 1;
		hl = (size_t)(close - h);
		if (close[1] == ':')
			colon = close + 1;
		else if (close[1] != '\0')
			return -1;
	} else {
		h = tmp;
		colon = strrchr(tmp, ':');
		if (colon != NULL && strchr(tmp, ':') != colon)
			return -1;	/* a bare IPv6 address */
		hl = colon ? (size_t)(colon - tmp) : n;
	}
	if (hl == 0 || hl >= hostlen)
		return -1;
	for (i = 0; i < hl; i++)
		if (!((h[i] >= 'a' && h[i] <= 'z') ||
		    (h[i] >= 'A' && h[i] <= 'Z') ||
		    (h[i] >= '0' && h[i] <= '9') || h[i] == '.' ||
		    h[i] == '-' || h[i] == ':' || h[i] == '_'))
			return -1;
	if (colon == NULL && need_port)
		return -1;
	if (colon != NULL && parse_port(colon + 1, port) == -1)
		return -1;
	memcpy(host, h, hl);
	host[hl] = '\0';
	return 0;
}

int
export_parse_hostport(const char *s, char *host, size_t hostlen,
    unsigned *port)
{
	return split_host(s, strlen(s), host, hostlen, port, 1);
}

int
export_parse_url(const char *s, char *host, size_t hostlen, unsigned *port,
    char *path, size_t pathlen)
{
	const char	*rest, *slash;
	size_t		 i;

	if (strncmp(s, "https://", 8) != 0)
		return -1;
	rest = s + 8;
	slash = strchr(rest, '/');
	*port = 443;
	if (split_host(rest, slash ? (size_t)(slash - rest) : strlen(rest),
	    host, hostlen, port, 0) == -1)
		return -1;
	if (slash == NULL)
		slash = "/";
	for (i = 0; slash[i]; i++)
		if (slash[i] <= 32 || slash[i] >= 127 || slash[i] == '#')
			return -1;
	if (strlcpy(path, slash, pathlen) >= pathlen)
		return -1;
	return 0;
}
