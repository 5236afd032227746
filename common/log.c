/*
 * Logging: stderr in the foreground, syslog (facility daemon) once
 * daemonised; every line names the process role. Control characters in a
 * message (often from a peer) are escaped so nobody can forge log lines.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <bsd/string.h>

#include <event2/event.h>

#include "log.h"

#define LOG_LINE_MAX	2048

static char	log_progname[64];
static char	log_role[32];
static int	log_foreground = 1;
static int	log_verbosity;
static int	log_syslog_open;

/* libevent's own messages go through our log, with our format. */
static void
log_libevent(int severity, const char *msg)
{
	switch (severity) {
	case EVENT_LOG_DEBUG:
		log_debug("libevent: %s", msg);
		break;
	case EVENT_LOG_MSG:
		log_info("libevent: %s", msg);
		break;
	default:
		log_warnx("libevent: %s", msg);
	}
}

void
log_init(const char *progname, int foreground, int verbose)
{
	event_set_log_callback(log_libevent);
	strlcpy(log_progname, progname != NULL ? progname :
	    program_invocation_short_name, sizeof(log_progname));
	log_role[0] = '\0';
	log_verbosity = verbose;
	if (log_syslog_open) {
		closelog();
		log_syslog_open = 0;
	}
	log_foreground = 1;
	if (!foreground)
		log_to_syslog();
}

void
log_procinit(const char *role)
{
	int	saved = errno;

	strlcpy(log_role, role != NULL ? role : "", sizeof(log_role));
	/* A forked child: reopen so the connection is its own. */
	if (log_syslog_open) {
		closelog();
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	}
	errno = saved;
}

void
log_to_syslog(void)
{
	int	saved = errno;

	if (log_progname[0] == '\0')
		strlcpy(log_progname, program_invocation_short_name,
		    sizeof(log_progname));
	if (log_syslog_open)
		closelog();
	openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	log_syslog_open = 1;
	log_foreground = 0;
	errno = saved;
}

int
log_verbose(void)
{
	return log_verbosity;
}

/* Escape control bytes in place-copy: \n, \r, \t, others as \xNN. */
static void
log_sanitize(const char *in, char *out, size_t outsz)
{
	size_t		 o = 0;
	unsigned char	 c;
	char		 esc[5];
	size_t		 n;

	for (; *in != '\0'; in++) {
		c = (unsigned char)*in;
		if (c >= 0x20 && c != 0x7f) {
			if (o + 1 >= outsz)
				break;
			out[o++] = (char)c;
			continue;
		}
		if (c == '\n')
			memcpy(esc, "\\n", 3);
		else if (c == '\r')
			memcpy(esc, "\\r", 3);
		else if (c == '\t')
			memcpy(esc, "\\t", 3);
		else
			snprintf(esc, sizeof(esc), "\\x%02x", c);
		n = strlen(esc);
		if (o + n >= outsz)
			break;
		memcpy(out + o, esc, n);
		o += n;
	}
	out[o] = '\0';
}

static void
log_vlog(int prio, const char *errstr, const char *fmt, va_list ap)
{
	char	raw[LOG_LINE_MAX], msg[LOG_LINE_MAX];
	size_t	len;

	vsnprintf(raw, sizeof(raw), fmt, ap);
	if (errstr != NULL) {
		len = strlen(raw);
		snprintf(raw + len, sizeof(raw) - len, ": %s", errstr);
	}
	log_sanitize(raw, msg, sizeof(msg));

	if (log_foreground) {
		const char *prog = log_progname[0] != '\0' ? log_progname :
		    program_invocation_short_name;

		if (log_role[0] != '\0')
			fprintf(stderr, "%s[%ld] %s: %s\n", prog,
			    (long)getpid(), log_role, msg);
		else
			fprintf(stderr, "%s[%ld]: %s\n", prog,
			    (long)getpid(), msg);
		fflush(stderr);
	} else {
		if (log_role[0] != '\0')
			syslog(prio, "%s: %s", log_role, msg);
		else
			syslog(prio, "%s", msg);
	}
}

void
log_warn(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, strerror(saved), fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_ERR, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_info(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_INFO, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_debug(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	if (!log_verbosity)
		return;
	va_start(ap, fmt);
	log_vlog(LOG_DEBUG, NULL, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_hop(const char *hop, unsigned long long job)
{
	struct timespec	ts;
	int		saved = errno;

	if (!log_verbosity)
		return;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	log_debug("hop %s job %llu at %lld.%06ld", hop, job,
	    (long long)ts.tv_sec, ts.tv_nsec / 1000);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, saved != 0 ? strerror(saved) : NULL, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	log_vlog(LOG_CRIT, NULL, fmt, ap);
	va_end(ap);
	exit(1);
}
