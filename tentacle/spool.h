/*
 * The spool (spool_dir, default state_dir/spool, mode 0700): one file per
 * finished job, `job-<id>.result`, written atomically (temporary file
 * 0600, fsync, rename, fsync of the directory; the fsyncs deferred for a
 * result delivered at once, see spool_store_nosync), removed once the
 * brain acknowledged the result. A file is:
 *
 *	"OCTOSPOOL1\n"					magic, 11 bytes
 *	u64 job, u8 outcome, u32 exit_status, u32 signal,
 *	u64 started_at_ms, u64 duration_ms, u8 truncated,
 *	bytes output (u32 length, then the bytes)		pack.h
 *	[str sha256: the script's that ran, 64 hex; only with the magic
 *	 "OCTOSPOOL2\n", which a result that has one is written with]
 *	[or, magic "OCTOSPOOL3\n" (a result made by the root supervisor
 *	 with its MAC, privsep.h): str sha256 (64 hex or ""), bytes mac
 *	 (32, not all zero: proto_result_mac, delivered as it is)]
 *	bytes SHA-256 of everything before (32)
 *
 * The reader is a pure, strict function over a buffer (unit tests and a
 * fuzzer): every field of the shape msg_result allows, nothing after the
 * digest. A file that does not parse is logged and renamed *.corrupt.
 */
#ifndef OCTO_SPOOL_H
#define OCTO_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

#define SPOOL_MAGIC		"OCTOSPOOL1\n"
#define SPOOL_MAGIC2		"OCTOSPOOL2\n"	/* with the script's hash */
#define SPOOL_MAGIC3		"OCTOSPOOL3\n"	/* and the result's MAC */
#define SPOOL_MAGIC_LEN		11
/* Largest file: the magic, the fixed fields, the output, the digest. */
#define SPOOL_FILE_MAX		(PROTO_OUTPUT_MAX + 256)
/* Results one start-up or delivery pass handles; more wait for the next
 * pass (bounds the memory of the listing). */
#define SPOOL_LIST_MAX		4096

struct spool_result {
	struct msg_result	r;	/* r.output points into the buffer */
};

/* Pure. 0, or -1 with the reason in err. */
int	spool_parse(const void *buf, size_t len, struct spool_result *,
	    char *err, size_t errlen);
/* 1 if m->mac is set (not all zero). */
int	spool_has_mac(const struct msg_result *);
/* Append the file's bytes to out; -1 if a field is out of shape. */
int	spool_format(struct buf *out, const struct msg_result *);

/* Create dir (0700) if needed; -1 with err. */
int	spool_init(const char *dir, char *err, size_t errlen);
/* Write job's result atomically; -1 with err. */
int	spool_store(const char *dir, const struct msg_result *, char *err,
	    size_t errlen);
/* The same (atomic: temporary file, rename), without waiting for the
 * disk: for a result delivered at once, whose file is removed a few
 * milliseconds later when the brain acknowledges it. If that delivery
 * fails, spool_sync() makes it durable before the retries. A crash of the
 * process loses nothing (the file is in the page cache); only a power
 * loss within that window could, as it could during the script's run. */
int	spool_store_nosync(const char *dir, const struct msg_result *,
	    char *err, size_t errlen);
/* fsync every spooled result and the directory; -1 with err. */
int	spool_sync(const char *dir, char *err, size_t errlen);
/* 1 if job has a spool file. */
int	spool_exists(const char *dir, uint64_t job);
/* The jobs spooled, oldest first (modification time, then ID), at most
 * max; returns how many, -1 with err. Files of other names are ignored. */
int	spool_list(const char *dir, uint64_t *jobs, size_t max, char *err,
	    size_t errlen);
/* Read and parse job's file into data (which res points into): 0; 1 if
 * it is gone; -1 if corrupt (logged and renamed *.corrupt) or unreadable
 * (err). */
int	spool_load(const char *dir, uint64_t job, struct buf *data,
	    struct spool_result *, char *err, size_t errlen);
/* Results the brain refused for good (a job it never gave this
 * tentacle, a malformed result) go to spool_dir/rejected/ (0700), kept
 * for inspection and never sent again; beyond SPOOL_REJECTED_MAX files
 * there, the oldest are deleted. */
#define SPOOL_REJECTED_DIR	"rejected"
#define SPOOL_REJECTED_MAX	100
/* Move job's file there; -1 with err (the file is then removed, so that
 * it is not sent again either). */
int	spool_reject(const char *dir, uint64_t job, char *err, size_t errlen);

/* Remove job's file (no fsync: a removal lost to a power cut means one
 * more delivery, stored once by the brain); -1 with err. */
int	spool_remove(const char *dir, uint64_t job, char *err, size_t errlen);

#endif
