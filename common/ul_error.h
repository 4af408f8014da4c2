/* ul_error.h - the project-wide error codes.
 *
 * Every fallible function returns a ul_err and, where a caller needs to tell
 * an operator what happened, fills a ul_errmsg with the detail (node,
 * operation, field).  Codes say whether a failure is transient, because the
 * scheduler's and the job engine's retry decisions depend on it.
 */
#ifndef UL_ERROR_H
#define UL_ERROR_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    UL_OK = 0,
    UL_ERR_INVALID,     /* bad input from a caller: request, config, argument */
    UL_ERR_NOT_FOUND,   /* no such node, job, token ... */
    UL_ERR_CONFLICT,    /* duplicate name, state does not allow the operation */
    UL_ERR_IO,          /* file system or socket trouble on our side */
    UL_ERR_STORE,       /* the SQLite state store failed */
    UL_ERR_AUTH,        /* BMC or API rejected the credentials (permanent) */
    UL_ERR_UNREACHABLE, /* BMC did not answer at all (transient) */
    UL_ERR_TIMEOUT,     /* an operation ran past its deadline (transient) */
    UL_ERR_BUSY,        /* BMC or resource busy, try later (transient) */
    UL_ERR_UNSUPPORTED, /* not supported by this BMC or driver (permanent) */
    UL_ERR_PROTOCOL,    /* malformed or unexpected reply from a BMC */
    UL_ERR_CANCELED,    /* an operator canceled the operation */
    UL_ERR_INTERRUPTED, /* the daemon stopped or restarted under the operation */
    UL_ERR_INTERNAL,    /* a bug or an impossible state */
    UL_ERR_REJECTED,    /* the BMC refused a change, or accepted it and did not apply it */
    UL_ERR__COUNT
} ul_err;

/* Short, stable, lower-case name of a code ("timeout", "not_found").  Used as
 * the machine-readable error code in API replies. */
const char *ul_err_name(ul_err e);

/* A human sentence fragment for a code ("operation timed out"). */
const char *ul_strerror(ul_err e);

/* True for failures worth retrying later (unreachable, timeout, busy). */
bool ul_err_is_transient(ul_err e);

#define UL_ERRMSG_LEN 512

/* Detail message for the last failure; callers own it (usually on the stack). */
typedef struct {
    char text[UL_ERRMSG_LEN];
} ul_errmsg;

/* Format a detail message into em (NULL-safe) and return code, so callers can
 * write `return ul_errmsg_set(em, UL_ERR_INVALID, "field '%s' ...", f);`. */
ul_err ul_errmsg_set(ul_errmsg *em, ul_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Prefix the existing detail with more context ("node n1: power on: ..."). */
void ul_errmsg_prefix(ul_errmsg *em, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
