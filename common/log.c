#include "config.h"

#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

static enum ul_log_target log_target = UL_LOG_STDERR;
static enum ul_log_level log_level = UL_LOG_INFO;
static const char *log_ident = "underlay";

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int ul_log_level_parse(const char *s)
{
    if (!s)
        return -1;
    for (int i = 0; i <= UL_LOG_DEBUG; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return UL_LOG_WARN;
    return -1;
}

const char *ul_log_level_name(enum ul_log_level l)
{
    return (unsigned)l <= UL_LOG_DEBUG ? level_names[l] : "?";
}

int ul_log_target_parse(const char *s)
{
    if (s && strcasecmp(s, "stderr") == 0)
        return UL_LOG_STDERR;
    if (s && strcasecmp(s, "syslog") == 0)
        return UL_LOG_SYSLOG;
    return -1;
}

void ul_log_init(const char *ident, enum ul_log_target target, enum ul_log_level level)
{
    log_ident = ident;
    log_target = target;
    log_level = level;
    if (target == UL_LOG_SYSLOG)
        openlog(ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
}

void ul_log_close(void)
{
    if (log_target == UL_LOG_SYSLOG)
        closelog();
}

bool ul_log_enabled(enum ul_log_level level)
{
    return level <= log_level;
}

void ul_log(enum ul_log_level level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);

    if (log_target == UL_LOG_SYSLOG) {
        static const int prio[] = {LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG};
        syslog(prio[level], "%s", msg);
        return;
    }
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    char line[2200];
    int n = snprintf(line, sizeof(line), "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s[%d] %s: %s\n",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, ts.tv_nsec / 1000000, log_ident, (int)getpid(),
                     level_names[level], msg);
    if (n > (int)sizeof(line) - 1)
        n = sizeof(line) - 1;
    /* One write per message keeps lines from different threads whole. */
    ssize_t rc = write(STDERR_FILENO, line, (size_t)n);
    (void)rc;
}
