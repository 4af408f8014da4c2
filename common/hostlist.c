#include "config.h"

#include "hostlist.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

#define HOST_MAX_LEN 255

static ul_err push_host(hostlist *hl, size_t *cap, const char *s, ul_errmsg *em)
{
    if (hl->count >= HOSTLIST_MAX_HOSTS)
        return ul_errmsg_set(em, UL_ERR_INVALID, "host list expands to more than %d hosts",
                             HOSTLIST_MAX_HOSTS);
    if (hl->count == *cap) {
        *cap = *cap ? *cap * 2 : 16;
        hl->hosts = xrealloc(hl->hosts, *cap * sizeof(char *));
    }
    hl->hosts[hl->count++] = xstrdup(s);
    return UL_OK;
}

/* Parse one number of a range at *p; advance *p.  Returns digits consumed. */
static size_t parse_num(const char **p, unsigned long *val)
{
    const char *s = *p;
    size_t n = 0;
    unsigned long v = 0;
    while (isdigit((unsigned char)s[n]) && n < 10) {
        v = v * 10 + (unsigned long)(s[n] - '0');
        n++;
    }
    if (isdigit((unsigned char)s[n]))
        return 0; /* more than 10 digits: refuse rather than overflow */
    *val = v;
    *p = s + n;
    return n;
}

/* Expand pattern (no top-level commas) into hl: prefix is what came before. */
static ul_err expand_one(const char *prefix, const char *pat, const char *whole, hostlist *hl,
                         size_t *cap, ul_errmsg *em)
{
    const char *open = strchr(pat, '[');
    const char *stray = strchr(pat, ']');
    if (stray && (!open || stray < open))
        return ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': unmatched ']'", whole);
    if (!open) {
        if (strlen(prefix) + strlen(pat) > HOST_MAX_LEN)
            return ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': name too long", whole);
        char buf[2 * HOST_MAX_LEN + 2];
        snprintf(buf, sizeof(buf), "%s%s", prefix, pat);
        return push_host(hl, cap, buf, em);
    }
    const char *close = strchr(open, ']');
    if (!close)
        return ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': unmatched '['", whole);
    if (close == open + 1)
        return ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': empty range '[]'", whole);

    size_t plen = strlen(prefix) + (size_t)(open - pat);
    if (plen > HOST_MAX_LEN)
        return ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': name too long", whole);
    char newprefix[HOST_MAX_LEN + 32];
    snprintf(newprefix, sizeof(newprefix), "%s%.*s", prefix, (int)(open - pat), pat);

    const char *p = open + 1;
    while (p < close) {
        unsigned long lo, hi;
        const char *start = p;
        size_t width = parse_num(&p, &lo);
        if (width == 0)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "host list '%s': expected a number at '%.*s'", whole,
                                 (int)(close - start), start);
        hi = lo;
        if (*p == '-') {
            p++;
            if (parse_num(&p, &hi) == 0)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "host list '%s': expected a number after '-'", whole);
            if (hi < lo)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "host list '%s': range %lu-%lu runs backwards", whole, lo, hi);
        }
        if (*p == ',') {
            p++;
            if (p == close)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "host list '%s': empty element before ']'", whole);
        } else if (p != close)
            return ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': unexpected '%c' in range",
                                 whole, *p);
        if (hi - lo >= HOSTLIST_MAX_HOSTS)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "host list '%s': range %lu-%lu expands to more than %d hosts",
                                 whole, lo, hi, HOSTLIST_MAX_HOSTS);
        for (unsigned long v = lo; v <= hi; v++) {
            char withnum[HOST_MAX_LEN + 64];
            snprintf(withnum, sizeof(withnum), "%s%0*lu", newprefix, (int)width, v);
            ul_err rc = expand_one(withnum, close + 1, whole, hl, cap, em);
            if (rc != UL_OK)
                return rc;
        }
    }
    return UL_OK;
}

static int cmp_idx(const void *a, const void *b, void *arg)
{
    char **hosts = arg;
    size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
    int c = strcmp(hosts[ia], hosts[ib]);
    if (c)
        return c;
    return ia < ib ? -1 : ia > ib;
}

/* Drop later duplicates while keeping the original order: sort indices by
 * name (O(n log n), lists reach 100k hosts), mark repeats, compact. */
static void dedupe(hostlist *hl)
{
    if (hl->count < 2)
        return;
    size_t *idx = xmalloc(hl->count * sizeof(size_t));
    char *drop = xcalloc(hl->count, 1);
    for (size_t i = 0; i < hl->count; i++)
        idx[i] = i;
    qsort_r(idx, hl->count, sizeof(size_t), cmp_idx, hl->hosts);
    for (size_t i = 1; i < hl->count; i++)
        if (strcmp(hl->hosts[idx[i]], hl->hosts[idx[i - 1]]) == 0)
            drop[idx[i]] = 1; /* idx sorted by position within equal names */
    size_t out = 0;
    for (size_t i = 0; i < hl->count; i++) {
        if (drop[i])
            free(hl->hosts[i]);
        else
            hl->hosts[out++] = hl->hosts[i];
    }
    hl->count = out;
    free(idx);
    free(drop);
}

ul_err hostlist_expand(const char *expr, hostlist *out, ul_errmsg *em)
{
    out->hosts = NULL;
    out->count = 0;
    if (!expr || !*expr)
        return ul_errmsg_set(em, UL_ERR_INVALID, "empty host list");
    if (strlen(expr) > 4096)
        return ul_errmsg_set(em, UL_ERR_INVALID, "host list longer than 4096 characters");

    size_t cap = 0;
    ul_err rc = UL_OK;
    char *copy = xstrdup(expr);
    char *p = copy;
    while (rc == UL_OK) {
        /* split at commas outside brackets */
        int depth = 0;
        char *q = p;
        while (*q && !(*q == ',' && depth == 0)) {
            if (*q == '[')
                depth++;
            else if (*q == ']' && depth > 0)
                depth--;
            else if (isspace((unsigned char)*q)) {
                rc = ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': unexpected white space",
                                   expr);
                break;
            }
            q++;
        }
        if (rc != UL_OK)
            break;
        if (depth != 0) {
            rc = ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': unmatched '['", expr);
            break;
        }
        int last = (*q == '\0');
        *q = '\0';
        if (*p == '\0') {
            rc = ul_errmsg_set(em, UL_ERR_INVALID, "host list '%s': empty host name", expr);
            break;
        }
        rc = expand_one("", p, expr, out, &cap, em);
        if (last)
            break;
        p = q + 1;
    }
    free(copy);
    if (rc != UL_OK) {
        hostlist_free(out);
        return rc;
    }
    dedupe(out);
    return UL_OK;
}

void hostlist_free(hostlist *hl)
{
    if (!hl)
        return;
    for (size_t i = 0; i < hl->count; i++)
        free(hl->hosts[i]);
    free(hl->hosts);
    hl->hosts = NULL;
    hl->count = 0;
}

int hostlist_is_pattern(const char *s)
{
    return s && strpbrk(s, "[],") != NULL;
}
