#include "config.h"

#include "suggest.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

size_t sg_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    /* Two rows of the classic table.  Node names are short (the API caps
     * them well below 256), so the rows live on the stack: a host list of
     * 500 unknown names against 10,000 nodes makes 5 million calls. */
    size_t stack[2][256];
    bool heap = lb + 1 > 256;
    size_t *prev = heap ? xcalloc(lb + 1, sizeof(size_t)) : stack[0];
    size_t *cur = heap ? xcalloc(lb + 1, sizeof(size_t)) : stack[1];
    size_t d;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t row_min;
        cur[0] = i;
        row_min = cur[0];
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            size_t v = sub < del ? sub : del;
            cur[j] = v < ins ? v : ins;
            if (cur[j] < row_min)
                row_min = cur[j];
        }
        if (row_min > limit) { /* every later row is at least this far */
            d = limit + 1;
            goto out;
        }
        size_t *t = prev;
        prev = cur;
        cur = t;
    }
    d = prev[lb] <= limit ? prev[lb] : limit + 1;
out:
    if (heap) {
        free(prev);
        free(cur);
    }
    return d;
}

/* s with the leading zeros of each digit run dropped ("rk01-n001" ->
 * "rk1-n1"); newly allocated. */
static char *strip_zeros(const char *s)
{
    char *out = xstrdup(s), *d = out;
    bool in_digits = false;
    for (const char *p = s; *p; p++) {
        bool digit = *p >= '0' && *p <= '9';
        /* A zero that starts a run and has another digit after it goes. */
        if (digit && !in_digits && *p == '0' && p[1] >= '0' && p[1] <= '9')
            continue;
        in_digits = digit;
        *d++ = *p;
    }
    *d = '\0';
    return out;
}

size_t sg_closest(const char *name, const char *const *names, size_t n, size_t *out, size_t max)
{
    size_t len = strlen(name);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    size_t found = 0, best = (size_t)-1;
    char *bare = strip_zeros(name);

    for (size_t i = 0; i < n && max; i++) {
        /* Rank: the same name but for zero padding first (rack1-n1 is
         * rack1-n01, not rack1-n10), then by edit distance. */
        char *cand = strip_zeros(names[i]);
        bool same_bare = strcmp(cand, bare) == 0;
        free(cand);
        size_t d = sg_distance(name, names[i], limit);
        if (d == 0 || (d > limit && !same_bare))
            continue;
        size_t key = same_bare ? 1 : 2 * d;
        if (key < best) {
            best = key;
            found = 0;
        }
        if (key == best && found < max)
            out[found++] = i;
    }
    free(bare);
    return found;
}
