/* hostlist.h - pdsh-style host list expansion.
 *
 * "rack1-n[01-03,07],db1" expands to rack1-n01 rack1-n02 rack1-n03 rack1-n07
 * db1.  Several bracket groups multiply ("r[1-2]n[1-2]" gives four names).
 * Zero padding follows the lower bound ("[08-10]" gives 08 09 10).  Duplicates
 * are dropped, first occurrence kept, order otherwise preserved.
 */
#ifndef UL_HOSTLIST_H
#define UL_HOSTLIST_H

#include <stddef.h>

#include "ul_error.h"

/* Refuse expansions larger than this: a typo like n[1-9999999] must not eat
 * the daemon's memory. */
#define HOSTLIST_MAX_HOSTS 100000

typedef struct {
    char **hosts; /* owned; each string owned */
    size_t count;
} hostlist;

/* Expand expr into out (caller frees with hostlist_free).  On error out is
 * left empty and em names the problem and its position. */
ul_err hostlist_expand(const char *expr, hostlist *out, ul_errmsg *em);
void hostlist_free(hostlist *hl);

/* True if s contains hostlist syntax (brackets or commas) and so names more
 * than one host, or may. */
int hostlist_is_pattern(const char *s);

#endif
