/* bios.c - BIOS attribute changes against a registry (see bios.h). */
#include "config.h"

#include "ops/bios.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define BIOS_NAME_MAX 128
#define BIOS_VALUE_MAX 1024

/* Append one problem to the list being built (bounded). */
static void problem(char *buf, size_t size, size_t *used, int *count, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
static void problem(char *buf, size_t size, size_t *used, int *count, const char *fmt, ...)
{
    (*count)++;
    if (*used + 8 >= size)
        return;
    if (*used) {
        int w = snprintf(buf + *used, size - *used, "; ");
        *used += (size_t)w;
    }
    va_list ap;
    va_start(ap, fmt);
    int w = vsnprintf(buf + *used, size - *used, fmt, ap);
    va_end(ap);
    if (w > 0)
        *used = *used + (size_t)w < size ? *used + (size_t)w : size - 1;
}

static bool int_value(json_object *v, int64_t *out)
{
    if (json_object_is_type(v, json_type_int)) {
        *out = json_object_get_int64(v);
        return true;
    }
    if (json_object_is_type(v, json_type_string)) {
        const char *s = json_object_get_string(v);
        char *end;
        errno = 0;
        long long n = strtoll(s, &end, 10);
        if (*s && *end == '\0' && errno == 0) {
            *out = n;
            return true;
        }
    }
    return false;
}

/* Check one value against its registry entry; the converted value (new)
 * on success, NULL with a problem recorded otherwise. */
static json_object *check_one(const char *name, json_object *def, json_object *v, char *buf,
                              size_t size, size_t *used, int *count)
{
    json_object *t;
    const char *type = json_object_object_get_ex(def, "type", &t) ? json_object_get_string(t) : "";
    json_object *ro;
    if (json_object_object_get_ex(def, "read_only", &ro) && json_object_get_boolean(ro)) {
        problem(buf, size, used, count, "%s is read-only", name);
        return NULL;
    }
    if (!v || json_object_is_type(v, json_type_null)) {
        problem(buf, size, used, count, "%s needs a value", name);
        return NULL;
    }
    const char *sv = json_object_get_string(v);
    if (strcmp(type, "enumeration") == 0) {
        json_object *vals;
        if (!json_object_is_type(v, json_type_string)) {
            problem(buf, size, used, count, "%s takes one of its named values, not %s", name, sv);
            return NULL;
        }
        if (json_object_object_get_ex(def, "values", &vals)) {
            char allowed[300] = "";
            size_t au = 0;
            for (size_t i = 0; i < json_object_array_length(vals); i++) {
                const char *a = json_object_get_string(json_object_array_get_idx(vals, i));
                if (a && strcmp(a, sv) == 0)
                    return json_object_get(v);
                if (au + 2 < sizeof(allowed)) {
                    int w = snprintf(allowed + au, sizeof(allowed) - au, "%s%s", au ? ", " : "",
                                     a ? a : "");
                    au = au + (size_t)w < sizeof(allowed) ? au + (size_t)w : sizeof(allowed) - 1;
                }
            }
            problem(buf, size, used, count, "%s=%s is not allowed (allowed: %s)", name, sv,
                    allowed);
            return NULL;
        }
        return json_object_get(v);
    }
    if (strcmp(type, "integer") == 0) {
        int64_t n;
        if (!int_value(v, &n)) {
            problem(buf, size, used, count, "%s takes an integer, not %s", name, sv);
            return NULL;
        }
        json_object *lo, *hi;
        bool has_lo = json_object_object_get_ex(def, "min", &lo);
        bool has_hi = json_object_object_get_ex(def, "max", &hi);
        if ((has_lo && n < json_object_get_int64(lo)) ||
            (has_hi && n > json_object_get_int64(hi))) {
            problem(buf, size, used, count, "%s=%lld is out of range (%s to %s)", name,
                    (long long)n, has_lo ? json_object_get_string(lo) : "-inf",
                    has_hi ? json_object_get_string(hi) : "+inf");
            return NULL;
        }
        return json_object_new_int64(n);
    }
    if (strcmp(type, "boolean") == 0) {
        if (json_object_is_type(v, json_type_boolean))
            return json_object_get(v);
        problem(buf, size, used, count, "%s takes true or false, not %s", name, sv);
        return NULL;
    }
    if (strcmp(type, "string") != 0 && strcmp(type, "password") != 0) {
        /* A type we do not know: any scalar, and the BMC judges it. */
        if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array)) {
            problem(buf, size, used, count, "%s takes a single value", name);
            return NULL;
        }
        return json_object_get(v);
    }
    /* string, password: any scalar becomes its text */
    if (json_object_is_type(v, json_type_object) || json_object_is_type(v, json_type_array) ||
        json_object_is_type(v, json_type_null)) {
        problem(buf, size, used, count, "%s takes a string", name);
        return NULL;
    }
    size_t len = strlen(sv);
    json_object *mn, *mx;
    if (json_object_object_get_ex(def, "max_length", &mx) &&
        (int64_t)len > json_object_get_int64(mx)) {
        problem(buf, size, used, count, "%s is longer than %lld characters", name,
                (long long)json_object_get_int64(mx));
        return NULL;
    }
    if (json_object_object_get_ex(def, "min_length", &mn) &&
        (int64_t)len < json_object_get_int64(mn)) {
        problem(buf, size, used, count, "%s is shorter than %lld characters", name,
                (long long)json_object_get_int64(mn));
        return NULL;
    }
    return json_object_new_string(sv);
}

ul_err bios_check_changes(json_object *registry, json_object *changes, json_object **out,
                          ul_errmsg *em)
{
    *out = NULL;
    if (!json_object_is_type(changes, json_type_object) || json_object_object_length(changes) == 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "no BIOS attributes to set");
    json_object *defs = NULL;
    if (registry)
        json_object_object_get_ex(registry, "attributes", &defs);
    char buf[sizeof(em->text) - 48];
    size_t used = 0;
    int count = 0;
    json_object *res = json_object_new_object();
    json_object_object_foreach(changes, name, v)
    {
        if (strlen(name) > BIOS_NAME_MAX || !name[0]) {
            problem(buf, sizeof(buf), &used, &count, "attribute name '%.32s...' is not valid",
                    name);
            continue;
        }
        json_object *def = NULL;
        if (defs && !json_object_object_get_ex(defs, name, &def)) {
            problem(buf, sizeof(buf), &used, &count, "%s is not a BIOS attribute of this system",
                    name);
            continue;
        }
        json_object *conv;
        if (def) {
            conv = check_one(name, def, v, buf, sizeof(buf), &used, &count);
        } else if (json_object_is_type(v, json_type_object) ||
                   json_object_is_type(v, json_type_array) ||
                   json_object_is_type(v, json_type_null)) {
            problem(buf, sizeof(buf), &used, &count,
                    "%s: a value must be a string, a number "
                    "or a boolean",
                    name);
            conv = NULL;
        } else {
            conv = json_object_get(v);
        }
        if (conv)
            json_object_object_add(res, name, conv);
    }
    if (count) {
        json_object_put(res);
        return ul_errmsg_set(em, UL_ERR_INVALID, "%d BIOS change%s refused: %s", count,
                             count == 1 ? "" : "s", buf);
    }
    *out = res;
    return UL_OK;
}

json_object *bios_verify(json_object *wanted, json_object *current, json_object *messages)
{
    json_object *bad = json_object_new_object();
    json_object_object_foreach(wanted, name, want)
    {
        json_object *cur = NULL;
        if (json_object_is_type(current, json_type_object))
            json_object_object_get_ex(current, name, &cur);
        if (cur && json_object_equal(cur, want))
            continue;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "wanted", json_object_get(want));
        json_object_object_add(o, "current", cur ? json_object_get(cur) : NULL);
        size_t nm =
            json_object_is_type(messages, json_type_array) ? json_object_array_length(messages) : 0;
        for (size_t i = 0; i < nm; i++) {
            json_object *m = json_object_array_get_idx(messages, i);
            json_object *attrs, *text;
            if (!json_object_object_get_ex(m, "attributes", &attrs) ||
                !json_object_object_get_ex(m, "message", &text) ||
                !json_object_is_type(attrs, json_type_array))
                continue;
            for (size_t k = 0; k < json_object_array_length(attrs); k++) {
                json_object *a = json_object_array_get_idx(attrs, k);
                if (json_object_is_type(a, json_type_string) &&
                    strcmp(json_object_get_string(a), name) == 0)
                    json_object_object_add(o, "message", json_object_get(text));
            }
        }
        json_object_object_add(bad, name, o);
    }
    return bad;
}
