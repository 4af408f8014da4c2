/* xalloc.h - allocation wrappers.
 *
 * The one place where running out of memory aborts the process: a daemon that
 * cannot allocate a few hundred bytes cannot do anything useful or safe, and
 * checking every small allocation would bury the real error paths.  Returned
 * memory is owned by the caller and released with free().
 */
#ifndef UL_XALLOC_H
#define UL_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t count, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);                 /* NULL in, NULL out */
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
