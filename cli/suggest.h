/* suggest.h - "did you mean": the known names closest to a mistyped one.
 *
 * Pure functions, no I/O: the client fetches the node names (client.c) and
 * asks here which are close.  Close means a small edit distance
 * (Levenshtein: insertions, deletions, substitutions), the kind of slip
 * that turns rack1-n01 into rack1-n1 or rakc1-n01.
 */
#ifndef UL_CLI_SUGGEST_H
#define UL_CLI_SUGGEST_H

#include <stddef.h>

/* The edit distance between a and b, or limit + 1 when it exceeds limit
 * (computing stops early then). */
size_t sg_distance(const char *a, const char *b, size_t limit);

/* The names of names[0..n) nearest to name, up to max of them, in the
 * order given; their indexes go to out.  Nearest means, first, the same
 * name but for zero padding (rack1-n1 and rack1-n01), else the smallest
 * edit distance within a few edits (1 for names up to 4 characters, 2 up
 * to 8, else 3); only the ties at the best rank are returned.  A name
 * equal to name is not a suggestion.  Returns how many were found. */
size_t sg_closest(const char *name, const char *const *names, size_t n, size_t *out, size_t max);

#endif
