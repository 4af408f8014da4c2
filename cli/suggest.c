#include "config.h"

#include "suggest.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

size_t sg_distance(const char *a, const char *b, size_t limit)
{
    size_t la = strlen(a), lb = strlen(b);
    if ((la > lb ? la - lb : lb - la) > limit)
        return limit + 1;
    /* Two rows of the classic table; names are short (the API caps them). */
    size_t *prev = xcalloc(lb + 1, sizeof(size_t));
    size_t *cur = xcalloc(lb + 1, sizeof(size_t));
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
    free(prev);
    free(cur);
    return d;
}

size_t sg_closest(const char *name, const char *const *names, size_t n, size_t *out, size_t max)
{
    size_t len = strlen(name);
    size_t limit = len <= 4 ? 1 : len <= 8 ? 2 : 3;
    size_t found = 0;
    size_t *dist = xcalloc(max ? max : 1, sizeof(size_t));

    for (size_t i = 0; i < n && max; i++) {
        size_t d = sg_distance(name, names[i], limit);
        if (d == 0 || d > limit)
            continue;
        /* Insertion into the short sorted list; a later name of equal
         * distance goes after the earlier ones. */
        size_t pos = found;
        while (pos > 0 && dist[pos - 1] > d)
            pos--;
        if (pos >= max)
            continue;
        size_t last = found < max ? found : max - 1;
        for (size_t k = last; k > pos; k--) {
            out[k] = out[k - 1];
            dist[k] = dist[k - 1];
        }
        out[pos] = i;
        dist[pos] = d;
        if (found < max)
            found++;
    }
    free(dist);
    return found;
}
