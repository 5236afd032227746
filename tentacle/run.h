/*
 * Running one script for a job (the command worker, tentacle/run.c):
 * the script's bytes are copied into a sealed memfd (memfd_create,
 * F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL), hashed there,
 * checked (the order's SHA-256; a managed script's signature, managed.h)
 * and exactly those bytes executed: the memfd is the child's descriptor 3
 * and the path executed /proc/self/fd/3 (so a #! interpreter opens it
 * again through that path: $0 is /proc/self/fd/3); no file is opened again
 * between the check and the exec. A mismatch is a REFUSED outcome whose
 * output starts with MANAGED_DIFFERS; nothing runs.
 * posix_spawn without a shell, argv = [name], a fixed clean environment,
 * stdin /dev/null, stdout and stderr into one pipe, its own process group,
 * every other descriptor closed. The output is captured up to a cap (the
 * rest is read and discarded, and a marker line says so), the whole group
 * is killed with SIGKILL at the time limit (outcome TIMEOUT) and when the
 * script itself ends (nothing it started outlives it). Everything runs on
 * the caller's libevent loop: the pipe, the timer, SIGCHLD.
 */
#ifndef OCTO_RUN_H
#define OCTO_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "proto.h"

struct event_base;

/* Default time limit (config script_timeout, tentacle.h), seconds. */
#define RUN_TIMEOUT_DEFAULT	TENTACLE_SCRIPT_TIMEOUT_DEFAULT
/* Scripts running at once: orders beyond are refused (the brain sends
 * one per run; this bounds processes and memory against a flood). */
#define RUN_CONCURRENT_MAX	16
/* The marker appended when the output was cut (printf format, the cap). */
#define RUN_MARKER_FMT		"\n[output truncated at %zu bytes]\n"
/* The environment every script gets, whatever ours is. */
#define RUN_ENV_PATH		"PATH=/usr/sbin:/usr/bin:/sbin:/bin"
#define RUN_ENV_LANG		"LANG=C"
#define RUN_ENV_HOME		"HOME=/"

struct run_params {
	const char	*scripts_dir;
	const char	*script;	/* a name, proto_script_name_valid() */
	/* The SHA-256 (hex) the order names: what runs must have it; NULL
	 * or "" = whatever the file holds. */
	const char	*sha256;
	/* managed_scripts_dir when managed_scripts = yes, else NULL: a
	 * script found there is run only if it matches its signature
	 * (managed.h), and takes precedence over scripts_dir's. */
	const char	*managed_dir;
	/* The pinned script-signing key (NULL: none; then no managed
	 * script runs). */
	const uint8_t	*sign_pub;
	long long	 timeout_ms;	/* > 0 */
	size_t		 output_max;	/* 1..OCTO_OUTPUT_MAX */
};

/* A finished run: msg_result's fields, the output in `output` (captured
 * bytes, then the marker when truncated). Valid during the callback. */
struct run_result {
	uint64_t	job;
	uint8_t		outcome;	/* enum proto_outcome */
	int32_t		exit_status;	/* -1 when killed by a signal */
	int32_t		signal;		/* 0 when it exited */
	uint64_t	started_at_ms;	/* Unix time, ms */
	uint64_t	duration_ms;	/* CLOCK_MONOTONIC */
	uint8_t		truncated;
	struct buf	output;
	/* The SHA-256 (hex) of the bytes that ran (or were refused); "" if
	 * the script could not be read. */
	char		sha256[OCTO_FPR_HEX_LEN + 1];
};

typedef void (*run_done_cb)(struct run_result *, void *arg);

/* The result as the protocol carries it (output points into res). */
void	run_result_msg(const struct run_result *res, struct msg_result *m);

/*
 * 0 if `name` is a script we may run: a valid name, a regular executable
 * file directly in scripts_dir (opened with O_NOFOLLOW: never through a
 * symlink). -1 with the reason in err otherwise.
 */
int	run_check_script(const char *scripts_dir, const char *name, char *err,
	    size_t errlen);

/*
 * Start job `job`. The result always comes through done(), later, from
 * the loop (also when the script cannot be run: outcome FAILED and the
 * reason as output). -1 (err says why) only when nothing was started.
 */
int	run_start(struct event_base *, uint64_t job, const struct run_params *,
	    run_done_cb done, void *arg, char *err, size_t errlen);

/* 1 if job is running now. */
int	run_active(uint64_t job);
/* Scripts running now. */
int	run_count(void);
/* Kill every running script's group and forget them (no callbacks). */
void	run_abort_all(void);
/* Kill every running script's group and finish each now: outcome FAILED,
 * the output so far then RUN_INTERRUPTED_FMT with `why` (callbacks run
 * before this returns). For a clean stop of the command worker. */
#define RUN_INTERRUPTED_FMT	"\n[interrupted: %s]\n"
void	run_interrupt_all(const char *why);

/* The caller watches SIGCHLD itself (the supervisor, on libevent's
 * evsignal) and calls run_sigchld() for each one: run.c then makes no
 * signalfd of its own. Call once, before run_start(). */
void	run_sigchld_external(void);
void	run_sigchld(void);

/* Milliseconds since the epoch (CLOCK_REALTIME) and monotonic. */
uint64_t run_now_ms(void);
uint64_t run_mono_ms(void);

#endif
