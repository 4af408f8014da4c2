#include "config.h"

#include "ul_error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    const char *name;
    const char *text;
    bool transient;
} err_table[UL_ERR__COUNT] = {
    [UL_OK] = {"ok", "success", false},
    [UL_ERR_INVALID] = {"invalid_argument", "invalid argument", false},
    [UL_ERR_NOT_FOUND] = {"not_found", "not found", false},
    [UL_ERR_CONFLICT] = {"conflict", "conflict", false},
    [UL_ERR_IO] = {"io_error", "input/output error", false},
    [UL_ERR_STORE] = {"store_error", "state store error", false},
    [UL_ERR_AUTH] = {"auth_failed", "authentication failed", false},
    [UL_ERR_UNREACHABLE] = {"unreachable", "BMC unreachable", true},
    [UL_ERR_TIMEOUT] = {"timeout", "operation timed out", true},
    [UL_ERR_BUSY] = {"busy", "BMC busy", true},
    [UL_ERR_UNSUPPORTED] = {"not_supported", "not supported by this BMC", false},
    [UL_ERR_PROTOCOL] = {"protocol_error", "unexpected reply from BMC", true},
    [UL_ERR_CANCELED] = {"canceled", "canceled", false},
    [UL_ERR_INTERRUPTED] = {"interrupted", "interrupted", false},
    [UL_ERR_INTERNAL] = {"internal", "internal error", false},
    [UL_ERR_REJECTED] = {"rejected", "the BMC refused the change", false},
};

const char *ul_err_name(ul_err e)
{
    if ((unsigned)e >= UL_ERR__COUNT)
        return "internal";
    return err_table[e].name;
}

const char *ul_strerror(ul_err e)
{
    if ((unsigned)e >= UL_ERR__COUNT)
        return "unknown error";
    return err_table[e].text;
}

bool ul_err_is_transient(ul_err e)
{
    if ((unsigned)e >= UL_ERR__COUNT)
        return false;
    return err_table[e].transient;
}

ul_err ul_errmsg_set(ul_errmsg *em, ul_err code, const char *fmt, ...)
{
    if (em) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(em->text, sizeof(em->text), fmt, ap);
        va_end(ap);
    }
    return code;
}

void ul_errmsg_prefix(ul_errmsg *em, const char *fmt, ...)
{
    if (!em)
        return;
    char prefix[UL_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    char old[UL_ERRMSG_LEN];
    memcpy(old, em->text, sizeof(old));
    /* Truncation is acceptable: the prefix matters most to an operator. */
    size_t plen = strlen(prefix);
    if (plen > sizeof(em->text) - 3)
        plen = sizeof(em->text) - 3;
    memcpy(em->text, prefix, plen);
    memcpy(em->text + plen, ": ", 2);
    size_t room = sizeof(em->text) - plen - 3;
    size_t olen = strnlen(old, room);
    memcpy(em->text + plen + 2, old, olen);
    em->text[plen + 2 + olen] = '\0';
}
