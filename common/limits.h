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

/* Strings inside messages. */
#define OCTO_NAME_MAX		64	/* user, host, script names */
#define OCTO_PASSWORD_MAX	256	/* longest password we will hash */
#define OCTO_ADDR_MAX		64	/* textual IPv4/IPv6 address */
#define OCTO_TOKEN_HEX_LEN	64	/* 256-bit secrets as hex */
#define OCTO_FPR_HEX_LEN	64	/* SHA-256 fingerprint as hex */
#define OCTO_PATH_MAX		1024	/* paths from configuration */

/* Configuration files: a line longer than this is an error, not data. */
#define CONFIG_LINE_MAX		1024
#define CONFIG_FILE_MAX		(256 * 1024)

/* HTTP: the dashboard's requests are small JSON bodies. */
#define HTTP_BODY_MAX		(64 * 1024)
#define HTTP_HEADERS_MAX	(16 * 1024)

/* Orders and pings the maestro issued whose connection has not asked for
 * its proof yet (brain/proofs.c): more than a run on every tentacle of a
 * large fleet plus its keepalive; the oldest is dropped past it. */
#define PROOF_TICKETS_MAX	65536

/* Listening sockets: a fleet reconnecting at once must not be refused. */
#define OCTO_LISTEN_BACKLOG	1024

/* Seconds a peer has for the TLS handshake and for each frame before it is
 * dropped: slow clients must not hold connections open. */
#define OCTO_IO_TIMEOUT_DEFAULT	10

#endif
