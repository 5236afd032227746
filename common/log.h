/*
 * Logging for every process: stderr when running in the foreground
 * (--no-daemon), syslog once daemonised. Every line names the process role.
 * log_warn* appends strerror(errno); log_warnx does not. fatal* never return.
 */
#ifndef OCTO_LOG_H
#define OCTO_LOG_H

#include <stdarg.h>

/* progname: "octoBrain"/"octoTentacle"; foreground: log to stderr;
 * verbose: show log_debug lines. */
void	log_init(const char *progname, int foreground, int verbose);
/* Name the process role in every later line ("maestro", "webserv", ...). */
void	log_procinit(const char *role);
/* Switch from stderr to syslog (after daemonising). */
void	log_to_syslog(void);
int	log_verbose(void);

void	log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
/* One step of a job's round trip (tests/bench/roundtrip.py), at debug
 * level: "hop NAME job N at SECONDS.MICROSECONDS" on CLOCK_MONOTONIC,
 * which every process of the host shares. job 0: not known there. */
void	log_hop(const char *hop, unsigned long long job);
void	fatal(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
