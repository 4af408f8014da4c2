/* static.c - the dashboard's files (web/), served at /.
 *
 * The page holds no data (every API call carries the operator's token), so
 * these files need no authentication.  They are still read with care: only
 * GET and HEAD, only plain names (no segment starting with '.', no '\'), no
 * symbolic link anywhere below cfg->web_dir (each segment is opened with
 * O_NOFOLLOW relative to its parent), only regular files of a bounded size,
 * and only the file types the dashboard uses, so a stray editor backup or a
 * FIFO in the folder is never served or waited on. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "log.h"
#include "xalloc.h"

/* The dashboard is a few tens of KiB; anything near this is not ours. */
#define STATIC_MAX_BYTES (4L * 1024 * 1024)

static const struct {
    const char *ext;
    const char *type;
} static_types[] = {
    {"html", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"svg", "image/svg+xml"},
    {"png", "image/png"},
    {"ico", "image/x-icon"},
    {"json", "application/json"},
    {"woff2", "font/woff2"},
    {"txt", "text/plain; charset=utf-8"},
};

/* Same-origin only: the page loads nothing from elsewhere (no CDN) and talks
 * only to this daemon's API; graphs arrive as blob: URLs because the API
 * needs the bearer header an <img src> cannot send.  Styles allow inline
 * <style> because the console's terminal (xterm.js) sizes, colours and draws
 * its cursor through <style> elements it creates; scripts stay 'self' only.
 * Pairs of name, value. */
/* clang-format off */
static const char *const static_headers[] = {
    "Content-Security-Policy",
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' blob: data:; "
    "connect-src 'self'; font-src 'self'; manifest-src 'self'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options", "nosniff",
    "X-Frame-Options", "DENY",
    "Referrer-Policy", "no-referrer",
    NULL,
};
/* clang-format on */

static const char *static_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (!dot || dot == name)
        return NULL;
    for (size_t i = 0; i < sizeof(static_types) / sizeof(static_types[0]); i++)
        if (strcmp(dot + 1, static_types[i].ext) == 0)
            return static_types[i].type;
    return NULL;
}

static bool segment_ok(const char *s)
{
    if (!*s || *s == '.')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p == '\\' || *p < 0x20 || *p == 0x7f)
            return false;
    return true;
}

static void not_found(struct api_reply *rp)
{
    api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "no such page or endpoint");
}

/* Read the whole of fd (a regular file of `size` bytes) into a new buffer. */
static char *read_all(int fd, size_t size, size_t *len)
{
    char *buf = xmalloc(size + 1);
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break; /* shrank meanwhile: serve what is there */
        got += (size_t)n;
    }
    *len = got;
    return buf;
}

void api_static(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
        api_error(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                  "%s not allowed on the dashboard's files (GET or HEAD)", rq->method);
        return;
    }
    const char *root = srv->cfg->web_dir;
    if (!root || !*root) {
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found",
                  "no such endpoint (the dashboard is off: api.web_dir is empty)");
        return;
    }
    static const char *const index_segs[] = {"index.html"};
    const char *const *segs = rq->nsegs ? rq->segs : index_segs;
    int nsegs = rq->nsegs ? rq->nsegs : 1;
    for (int i = 0; i < nsegs; i++)
        if (!segment_ok(segs[i])) {
            not_found(rp);
            return;
        }
    const char *type = static_type(segs[nsegs - 1]);
    if (!type) {
        not_found(rp);
        return;
    }

    /* The root itself may be a link (an operator's choice in the config);
     * nothing below it may. */
    int dir = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        ul_warn("dashboard: cannot open api.web_dir '%s': %s", root, strerror(errno));
        not_found(rp);
        return;
    }
    int fd = -1;
    for (int i = 0; i < nsegs; i++) {
        bool last = i == nsegs - 1;
        /* O_NONBLOCK: opening a FIFO for reading must not hang the thread. */
        int flags = O_RDONLY | O_NOFOLLOW | O_CLOEXEC | (last ? O_NONBLOCK : O_DIRECTORY);
        int next = openat(dir, segs[i], flags);
        close(dir);
        dir = -1;
        if (next < 0) {
            not_found(rp);
            return;
        }
        if (last)
            fd = next;
        else
            dir = next;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > STATIC_MAX_BYTES) {
        close(fd);
        not_found(rp);
        return;
    }
    size_t len = 0;
    char *buf = read_all(fd, (size_t)st.st_size, &len);
    close(fd);
    rp->status = MHD_HTTP_OK;
    rp->text = buf;
    rp->text_len = len;
    rp->content_type = type;
    /* Revalidate each time: an upgraded daemon's page must not mix with a
     * cached older script. */
    rp->cache_control = "no-cache";
    rp->headers = static_headers;
}
