/*
 * Hard limits shared by every Octopus process. Each limit is a named
 * constant with the reason for its value; decoders reject anything beyond.
 */
#ifndef OCTO_LIMITS_H
#define OCTO_LIMITS_H


/* Script output kept per result: enough for a full audit report, small
 * enough that a hostile tentacle cannot fill the brain's memory. */
#define OCTO_OUTPUT_MAX		(256 * 1024)

/* One wire frame (brain <-> tentacle): a result with its full output plus
 * headers and metadata fits; anything larger is a protocol error. */
#define WIRE_PAYLOAD_MAX	(OCTO_OUTPUT_MAX + 64 * 1024)

/* One maestro <-> child message: the same result travels over IPC, and
 * list replies (JSON for the API) must fit a fleet of thousands. */
#define IPC_PAYLOAD_MAX		(4 * 1024 * 1024)

/* Findings (SPEC "Findings"): the lines of a stored output read as
 * `STATUS CHECK-ID TEXT`. A line is cut at FINDING_LINE_MAX bytes (an
 * audit line says one value found and one expected; longer is noise); a
 * result keeps at most FINDINGS_MAX findings (the pack prints a few
 * hundred at most; a script printing a line per file must not write a
 * million rows per result: the last one kept says how many were left). */
#define FINDING_LINE_MAX	1024
#define FINDING_CHECK_MAX	128	/* CHECK-ID: "sysctl.kernel.kptr_restrict" */
#define FINDINGS_MAX		2000

/* The checks file (scripts/audit/CHECKS, brain key checks_file): one line
 * per check; the pack has a few hundred, room for a site's own. */
#define CHECKS_FILE_MAX		(1024 * 1024)
#define CHECKS_LINE_MAX		2048
#define CHECKS_MAX		10000
#define CHECK_REFS_MAX		16	/* references of one check */
#define CHECK_REF_MAX		64	/* one: "BP028:R9", "CIS:1.5.2" */
#define CHECK_TITLE_MAX		200
#define CHECK_FIX_MAX		1024

/* The findings given in one API reply, as JSON (estimated from above): a
 * reply with a result's output (at most 6 x OCTO_OUTPUT_MAX once
 * escaped) stays well under IPC_PAYLOAD_MAX; a list of results gives its
 * later ones "findings": null (GET /api/results/ID has them). */
#define FINDINGS_JSON_MAX	(2 * 1024 * 1024)

/* The rows of one page of an API list (SPEC "Lists at scale") as JSON:
 * a page stops before this (and says where the next starts), so that a
 * reply never exceeds IPC_PAYLOAD_MAX whatever the rows hold; the rest
 * of the reply (a run, its summary, the fleet's counts) is small. One
 * row always goes in: the largest (a job with its output and findings)
 * fits IPC_PAYLOAD_MAX by FINDINGS_JSON_MAX's reckoning. */
#define LIST_JSON_MAX		(IPC_PAYLOAD_MAX - 512 * 1024)

/* Strings inside messages. */
#define OCTO_NAME_MAX		64	/* user, host, script names */
#define OCTO_PASSWORD_MAX	256	/* longest password we will hash */
#define OCTO_TOTP_CODE_MAX	8	/* a login's TOTP code as typed (6
					   digits are checked; RFC 4226 allows
					   up to 8) */
#define OCTO_ADDR_MAX		64	/* textual IPv4/IPv6 address */
#define OCTO_TOKEN_HEX_LEN	64	/* 256-bit secrets as hex */
#define OCTO_FPR_HEX_LEN	64	/* SHA-256 fingerprint as hex */
#define OCTO_PATH_MAX		1024	/* paths from configuration */

/* Configuration files: a line longer than this is an error, not data. */
#define CONFIG_LINE_MAX		1024
#define CONFIG_FILE_MAX		(256 * 1024)

/* HTTP: the dashboard's requests are small JSON bodies. */
#define HTTP_BODY_MAX		(64 * 1024)

/* Scripts managed by the brain (issue 14): a body as large as the output
 * we keep (an audit script is a few KiB; the pack's largest is 20 KiB),
 * a description as in a tentacle's inventory. The API's request for one
 * is JSON, whose escaping of an ordinary shell script (quotes,
 * backslashes, newlines) stays well under twice its size. libevent 2.1
 * has one body limit for every request before it reads one (no hook per
 * request), so the webserv reads bodies this large for any route and
 * answers 413 past HTTP_BODY_MAX for all but the scripts' (256
 * connections of it are 130 MiB at most). */
#define SCRIPT_BODY_MAX		(256 * 1024)
#define SCRIPT_DESC_MAX		200
#define HTTP_SCRIPT_BODY_MAX	(2 * SCRIPT_BODY_MAX + 4096)
#define HTTP_HEADERS_MAX	(16 * 1024)
/* Connections the webserv holds at once (a few users, each browser opens
 * about six): past it, it stops accepting until one closes and the kernel's
 * backlog holds the rest. Each costs a descriptor and a TLS state. */
#define HTTP_CONN_MAX		256

/* Orders and pings the maestro issued whose connection has not asked for
 * its proof yet (brain/proofs.c): more than a run on every tentacle of a
 * large fleet plus its keepalive; the oldest is dropped past it. */
#define PROOF_TICKETS_MAX	65536

/* The keepalive (brain/pingq.h): pings waiting for the commander, at
 * most one per tentacle and at most this many (past it, dropped, counted
 * and logged), and in flight at once (the commander keeps its other
 * connections for run orders, which go first). */
#define KEEPALIVE_WAITING_MAX	32768
#define KEEPALIVE_IN_FLIGHT	32

/* An order's connection stays open after the ORDER_ACK for the result
 * (issue 18: the round trip without a second connection) for at most
 * ORDER_RESULT_WAIT_S (and less than io_timeout), and for at most
 * ORDER_AWAIT_MAX orders at once, and a quarter of max_tentacles (each
 * holds a descriptor and its TLS buffers, and takes one of max_tentacles'
 * connection slots): a quick script's result
 * comes back on it; a slower one's, as always, over 6001. */
#define ORDER_RESULT_WAIT_S	5

/* SQL texts whose statement the maestro keeps prepared (brain/
 * db_stmts.c): more than the brain has (about 200); past it, statements
 * are prepared at each use, as before. */
#define DB_STMTS_MAX		512
#define ORDER_AWAIT_MAX		256

/* A frame before the peer has authenticated (handshake, pairing and
 * refusal frames are a few hundred bytes): a stranger cannot make us
 * buffer a whole result's worth per connection. */
#define WIRE_PREAUTH_PAYLOAD_MAX	(4 * 1024)

/* Connections one source address may hold before they authenticate
 * (accept to handshake done): a fleet behind one NAT address reconnects
 * a few at a time; a stranger cannot fill the listener. The table of
 * addresses is bounded too (past it, new addresses wait). Refusals are
 * logged once per address per CONN_REFUSED_LOG_S with a count. */
#define CONN_PREAUTH_PER_SOURCE	16
#define CONN_SOURCES_MAX	1024
#define CONN_REFUSED_LOG_S	60

/* Enrolment requests without a valid token taken from one source address
 * per minute (brain key enrolment_rate): a host enrols once and then
 * polls authenticated, a few hosts behind one NAT address enrol a few at
 * a time; one address cannot fill the pending list (pending_max) alone. */
#define ENROL_RATE_DEFAULT	5
/* Refusals a stranger can make at will (refused handshakes, throttled
 * enrolments) go to the audit log as one row per action, address and
 * minute with a count (brain/refusals.c); this many such rows are
 * followed at once, the rest of a minute's addresses share one row. */
#define REFUSAL_ROWS_MAX	1024
/* Log lines of refused handshakes one address gets a minute (the next ones
 * are only counted, in the audit log): a stranger cannot flood the logs;
 * a few refusals, the usual case, are all logged. The table of addresses
 * is small: past it, the lines share one budget. */
#define REFUSED_LOG_PER_MINUTE	10
#define REFUSED_LOG_SOURCES	256

/* Listening sockets: a fleet reconnecting at once must not be refused. */
#define OCTO_LISTEN_BACKLOG	1024

/* Seconds a peer has for the TLS handshake and for each frame before it is
 * dropped: slow clients must not hold connections open. */
#define OCTO_IO_TIMEOUT_DEFAULT	10

#endif
