/* unit_util.h - small helpers shared by the cmocka unit tests.
 *
 * Include after cmocka.h.  Everything is static so each test program gets its
 * own copy and -Wmissing-prototypes stays quiet; the attribute keeps programs
 * that use only some helpers free of unused-function warnings.
 */
#ifndef UL_TESTS_UNIT_UTIL_H
#define UL_TESTS_UNIT_UTIL_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define UT_UNUSED __attribute__((unused))

/* Fail with both strings shown when needle is not a substring of hay. */
#define assert_contains(hay, needle)                                                               \
    do {                                                                                           \
        const char *ut_h_ = (hay), *ut_n_ = (needle);                                              \
        if (!ut_h_ || !strstr(ut_h_, ut_n_))                                                       \
            fail_msg("expected \"%s\" to contain \"%s\"", ut_h_ ? ut_h_ : "(null)", ut_n_);        \
    } while (0)

#define assert_not_contains(hay, needle)                                                           \
    do {                                                                                           \
        const char *ut_h_ = (hay), *ut_n_ = (needle);                                              \
        if (ut_h_ && strstr(ut_h_, ut_n_))                                                         \
            fail_msg("expected \"%s\" not to contain \"%s\"", ut_h_, ut_n_);                       \
    } while (0)

/* A fresh directory under /tmp; caller frees the string after ut_rmtree. */
static UT_UNUSED char *ut_mkdtemp(void)
{
    char *dir = strdup("/tmp/ul-unit-XXXXXX");
    if (!dir || !mkdtemp(dir)) {
        free(dir);
        return NULL;
    }
    return dir;
}

static UT_UNUSED int ut_rm_cb(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    return type == FTW_DP ? rmdir(path) : unlink(path);
}

/* rm -rf dir (no symlinks followed). */
static UT_UNUSED void ut_rmtree(const char *dir)
{
    if (dir)
        nftw(dir, ut_rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

/* dir + "/" + name, allocated. */
static UT_UNUSED char *ut_path(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = malloc(len);
    if (p)
        snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* Write text to path (mode 0600); 0 on success. */
static UT_UNUSED int ut_write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -1;
    size_t len = strlen(text);
    int rc = fwrite(text, 1, len, f) == len ? 0 : -1;
    if (fclose(f) != 0)
        rc = -1;
    return rc;
}

/* Whole file into a new buffer (*len set); NULL when it cannot be read. */
static UT_UNUSED unsigned char *ut_read_file(const char *path, size_t *len)
{
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    unsigned char *buf = malloc(cap);
    size_t got;
    while (buf && (got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            unsigned char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
            cap *= 2;
        }
    }
    fclose(f);
    *len = n;
    return buf;
}

/* True when needle occurs anywhere in the first len bytes of hay. */
static UT_UNUSED int ut_mem_contains(const unsigned char *hay, size_t len, const char *needle)
{
    size_t nlen = strlen(needle);
    if (nlen == 0 || len < nlen)
        return 0;
    for (size_t i = 0; i + nlen <= len; i++)
        if (memcmp(hay + i, needle, nlen) == 0)
            return 1;
    return 0;
}

#endif
