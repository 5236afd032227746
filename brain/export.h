/*
 * Export of the brain's events (issue 17; SPEC.md "Alerts, export,
 * evidence"): what the maestro (brain/events.c), the exporter child
 * (brain/exporter.c) and the pure formatting (brain/exportfmt.c) share.
 *
 * The maestro makes each event (one JSON object), numbers it with the
 * brain's persisted sequence, keeps it in its bounded queue on disk
 * (export_queue, db_export.c) and hands it to the exporter over its
 * channel, per target, a window at a time; the exporter delivers it and
 * acknowledges (IPC_EXPORT_ACK); only then does it leave the queue.
 * Delivery is at least once: a collector sees duplicates by `seq`.
 */
#ifndef OCTO_EXPORT_H
#define OCTO_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum export_target {
	EXPORT_SYSLOG,		/* RFC 5424 over TLS, RFC 5425 framing */
	EXPORT_WEBHOOK,		/* HTTPS POST, signed */
	EXPORT_TARGETS
};

enum export_state {
	EXPORT_DOWN,		/* not connected; waiting to retry */
	EXPORT_CONNECTING,
	EXPORT_CONNECTED,
	EXPORT_STATE_MAX
};

/* An event's JSON at most (the maestro cuts long texts to fit). */
#define EXPORT_EVENT_MAX	(16 * 1024)
/* A CA bundle handed to the exporter (the system's is ~200 KiB). */
#define EXPORT_CA_MAX		(1024 * 1024)
#define EXPORT_SECRET_MAX	1024
#define EXPORT_HOST_MAX		256
#define EXPORT_PATH_MAX		1024
/* Events handed to the exporter per target and not yet acknowledged:
 * syslog confirms once a tick (exporter.c), so this bounds its rate
 * (and the exporter's memory: at most this many events a target). */
#define EXPORT_WINDOW		16384
/* The private enterprise number of the structured data: 32473 is the
 * one RFC 5612 reserves for documentation (no number of our own). */
#define EXPORT_SD_ID		"octopus@32473"

const char *export_target_name(enum export_target);	/* "syslog" */
const char *export_state_name(enum export_state);	/* "connected" */

/*
 * One event as an RFC 5424 message in RFC 5425 framing ("LEN SP MSG"),
 * appended to out: PRI (facility 13, log audit; severity by event),
 * TIMESTAMP the event's time, HOSTNAME the brain's name, APP-NAME
 * octoBrain, MSGID the event's name, structured data [octopus@32473
 * event= seq= id= tentacle= hostname= actor= and the scalar fields],
 * then the event's JSON as MSG. -1 if json is not an event.
 */
int	export_syslog_frame(struct buf *out, const char *json, size_t len);
/* An SD-PARAM value with '"', '\' and ']' escaped (RFC 5424 6.3.3),
 * appended to out. */
int	export_sd_value(struct buf *out, const char *v, size_t len);
/* An SD-PARAM name from s: printable US-ASCII but '=', ' ', ']', '"',
 * at most 32 (others become '_'); into dst[33]. */
void	export_sd_name(char dst[33], const char *s);

/*
 * The webhook's request for an event: POST path HTTP/1.1, Host, JSON
 * body, X-Octopus-Signature: sha256=HEX (HMAC-SHA256 of the body with
 * secret), Connection: close. -1 on a bad argument.
 */
int	export_webhook_request(struct buf *out, const char *host,
	    unsigned port, const char *path, const char *body, size_t len,
	    const uint8_t *secret, size_t secretlen);
/* The status of an HTTP response whose first line is in buf: 100..599,
 * 0 if the line is not complete yet, -1 if it is not HTTP. */
int	export_http_status(const char *buf, size_t len);

/* printf onto out (a line of at most 511 bytes): 0, or -1 if it does not
 * fit (out unchanged). */
int	export_printf(struct buf *out, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* "HOST:PORT" ([v6]:PORT) into host and port: 0 or -1. */
int	export_parse_hostport(const char *s, char *host, size_t hostlen,
	    unsigned *port);
/* "https://HOST[:PORT][/PATH]" into host, port (443) and path ("/"):
 * 0 or -1. */
int	export_parse_url(const char *s, char *host, size_t hostlen,
	    unsigned *port, char *path, size_t pathlen);

#endif
