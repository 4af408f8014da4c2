#include "config.h"

#include "output.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

struct out_table {
    size_t ncols;
    const char *const *headers; /* borrowed */
    char **cells;               /* owned: nrows * ncols sanitised strings */
    size_t nrows, cap;
};

int out_parse_format(const char *s, enum out_format *f)
{
    if (strcmp(s, "table") == 0)
        *f = OUT_TABLE;
    else if (strcmp(s, "json") == 0)
        *f = OUT_JSON;
    else
        return -1;
    return 0;
}

void out_json(json_object *obj)
{
    puts(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE));
}

/* A copy of s for display, "-" when empty, with C0 controls, DEL and the UTF-8 encoded C1 controls
 * (U+0080..U+009F, which include the 8-bit CSI) replaced by '?'. */
char *out_clean(const char *s)
{
    char *d = xstrdup(s && *s ? s : "-");
    for (unsigned char *p = (unsigned char *)d; *p; p++) {
        if (*p < 0x20 || *p == 0x7f) {
            *p = '?';
        } else if (*p == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
            p[0] = '?';
            p[1] = '?';
            p++;
        }
    }
    return d;
}

/* Columns as a terminal counts them, near enough: one per UTF-8 code point. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if ((*p & 0xc0) != 0x80)
            w++;
    return w;
}

void out_err(const char *fmt, ...)
{
    va_list ap;
    char *msg = NULL;
    va_start(ap, fmt);
    int rc = vasprintf(&msg, fmt, ap);
    va_end(ap);
    if (rc < 0) {
        fputs("underlay: out of memory\n", stderr);
        return;
    }
    char *clean = out_clean(msg);
    fprintf(stderr, "underlay: %s\n", clean);
    free(clean);
    free(msg);
}

struct out_table *out_table_new(size_t ncols, const char *const *headers)
{
    struct out_table *t = xcalloc(1, sizeof(*t));
    t->ncols = ncols;
    t->headers = headers;
    return t;
}

void out_table_add(struct out_table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        t->cap = t->cap ? t->cap * 2 : 16;
        t->cells = xrealloc(t->cells, t->cap * t->ncols * sizeof(char *));
    }
    for (size_t i = 0; i < t->ncols; i++)
        t->cells[t->nrows * t->ncols + i] = out_clean(cells[i]);
    t->nrows++;
}

static void print_row(FILE *f, const char *const *row, const size_t *widths, size_t ncols)
{
    for (size_t i = 0; i < ncols; i++) {
        if (i + 1 == ncols) {
            fprintf(f, "%s\n", row[i]);
            break;
        }
        fprintf(f, "%s%*s", row[i], (int)(widths[i] - width(row[i]) + 2), "");
    }
}

void out_table_print(const struct out_table *t, FILE *f)
{
    size_t *widths = xcalloc(t->ncols, sizeof(size_t));
    for (size_t i = 0; i < t->ncols; i++)
        widths[i] = width(t->headers[i]);
    for (size_t r = 0; r < t->nrows; r++)
        for (size_t i = 0; i < t->ncols; i++) {
            size_t w = width(t->cells[r * t->ncols + i]);
            if (w > widths[i])
                widths[i] = w;
        }
    print_row(f, t->headers, widths, t->ncols);
    for (size_t r = 0; r < t->nrows; r++)
        print_row(f, (const char *const *)&t->cells[r * t->ncols], widths, t->ncols);
    free(widths);
}

const char *out_table_cell(const struct out_table *t, size_t r, size_t col)
{
    return t->cells[r * t->ncols + col];
}

void out_table_free(struct out_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t);
}

void out_kv(const char *const *keys, const char *const *values, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++)
        if (strlen(keys[i]) > w)
            w = strlen(keys[i]);
    for (size_t i = 0; i < n; i++) {
        char *v = out_clean(values[i]);
        printf("%s:%*s%s\n", keys[i], (int)(w - strlen(keys[i]) + 1), "", v);
        free(v);
    }
}

char *out_text(json_object *v)
{
    if (!v)
        return xstrdup("-");
    if (json_object_is_type(v, json_type_string))
        return xstrdup(json_object_get_string(v));
    return xstrdup(
        json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
}

char *out_field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!obj || !json_object_object_get_ex(obj, key, &v))
        return xstrdup("-");
    return out_text(v);
}

char *out_pairs(json_object *obj)
{
    if (!obj || !json_object_is_type(obj, json_type_object) || json_object_object_length(obj) == 0)
        return xstrdup("-");
    char *acc = xstrdup("");
    json_object_object_foreach(obj, k, v)
    {
        char *val = out_text(v);
        char *next = xasprintf("%s%s%s=%s", acc, *acc ? "," : "", k, val);
        free(val);
        free(acc);
        acc = next;
    }
    return acc;
}

char *out_number(double v)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "%.2f", v);
    char *dot = strchr(buf, '.');
    if (dot) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0')
            *--end = '\0';
        if (end == dot + 1)
            *dot = '\0';
    }
    /* -0.001 rounds to "-0" */
    return xstrdup(strcmp(buf, "-0") == 0 ? "0" : buf);
}
