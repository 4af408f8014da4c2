/* log.h - leveled logging to stderr or syslog.
 *
 * Thread-safe: each message is written with one call.  Callers must never pass
 * a secret (BMC password, API token) in a message.
 */
#ifndef UL_LOG_H
#define UL_LOG_H

#include <stdbool.h>

enum ul_log_level { UL_LOG_ERROR = 0, UL_LOG_WARN, UL_LOG_INFO, UL_LOG_DEBUG };
enum ul_log_target { UL_LOG_STDERR = 0, UL_LOG_SYSLOG };

/* Parse "error", "warn"/"warning", "info", "debug"; -1 when unknown. */
int ul_log_level_parse(const char *s);
const char *ul_log_level_name(enum ul_log_level l);

/* Parse "stderr" or "syslog"; -1 when unknown. */
int ul_log_target_parse(const char *s);

/* Configure logging; ident names the program for syslog. Not thread-safe:
 * call before starting threads. */
void ul_log_init(const char *ident, enum ul_log_target target, enum ul_log_level level);
void ul_log_close(void);

bool ul_log_enabled(enum ul_log_level level);
void ul_log(enum ul_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define ul_error(...) ul_log(UL_LOG_ERROR, __VA_ARGS__)
#define ul_warn(...) ul_log(UL_LOG_WARN, __VA_ARGS__)
#define ul_info(...) ul_log(UL_LOG_INFO, __VA_ARGS__)
#define ul_debug(...)                                                                              \
    do {                                                                                           \
        if (ul_log_enabled(UL_LOG_DEBUG))                                                          \
            ul_log(UL_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
