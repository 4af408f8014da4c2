/* routes_console.c - GET /api/v1/nodes/NAME/console: a node's serial console
 * as a WebSocket (RFC 6455) through libmicrohttpd's connection upgrade.
 *
 * One console session per node.  The first client (operator role or above)
 * starts it and is the only one whose keystrokes reach the node; clients that
 * come while it runs (any role, or ?mode=view) watch read-only, see the last
 * 4 KiB of output first, and are told who holds it.  The session ends when
 * its interactive client leaves (the viewers are told and closed), when the
 * BMC ends the SOL session, or at shutdown.  docs/ARCHITECTURE.md "Serial
 * console" has the picture.
 *
 * Threads: the HTTP handler only checks and answers 101; the BMC session is
 * opened and driven by one thread per console session (console_main), which
 * polls the BMC's descriptor, the clients' sockets and a wake-up pipe.  HTTP
 * threads never wait on a BMC.  Lock order: consoles.mu, then a session's mu.
 *
 * Wire: binary frames carry console bytes both ways; the server also sends
 * text frames holding one JSON object ({"type":"status"|"error",...}); a
 * close frame's reason says why the session ended.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "ops/console.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define CONSOLE_MAX_CLIENTS 16     /* the interactive one and 15 viewers */
#define CONSOLE_BACKLOG 4096       /* output replayed to a client who joins */
#define CONSOLE_FRAME_MAX 65536    /* largest frame a client may send */
#define CONSOLE_JOIN_WAIT_S 15     /* the starter's socket must arrive by then */
#define CONSOLE_SEND_TIMEOUT_S 5   /* a client that takes no output this long is dropped */

struct ws_client {
    int fd;
    struct MHD_UpgradeResponseHandle *urh;
    char *actor;
    bool writer;
    bool told_readonly;
    bool gone;
    char *gone_reason; /* static string */
    int64_t started;
    unsigned char *in; /* partial frame */
    size_t in_len;
};

struct console_session {
    struct api_consoles *all;
    api_server *srv;
    char *node;
    struct ul_node *n;    /* with the password; freed once the BMC session is open */
    pthread_mutex_t mu;   /* pending, npending, ended, refs */
    struct ws_client *pending[CONSOLE_MAX_CLIENTS];
    int npending;
    int nclients;         /* joined or pending; under consoles.mu */
    bool ended;           /* no longer takes clients */
    int refs;             /* the thread and each accepted upgrade not yet joined */
    int wake[2];
    struct console_session *next;
};

struct api_consoles {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct console_session *list; /* every session not yet freed */
    int running;                  /* threads alive */
    bool stopping;
};

/* ---- SHA-1 and base64, for Sec-WebSocket-Accept only (RFC 6455 4.2.2) ---- */

static uint32_t rol(uint32_t v, int s)
{
    return (v << s) | (v >> (32 - s));
}

static void sha1(const unsigned char *msg, size_t len, unsigned char out[20])
{
    uint32_t h[5] = {0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    size_t total = ((len + 8) / 64 + 1) * 64;
    unsigned char *buf = xcalloc(1, total);
    memcpy(buf, msg, len);
    buf[len] = 0x80;
    uint64_t bits = (uint64_t)len * 8;
    for (int i = 0; i < 8; i++)
        buf[total - 1 - i] = (unsigned char)(bits >> (8 * i));
    for (size_t off = 0; off < total; off += 64) {
        uint32_t w[80];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)buf[off + 4 * i] << 24 | (uint32_t)buf[off + 4 * i + 1] << 16 |
                   (uint32_t)buf[off + 4 * i + 2] << 8 | buf[off + 4 * i + 3];
        for (int i = 16; i < 80; i++)
            w[i] = rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; i++) {
            uint32_t f, k;
            if (i < 20) {
                f = (b & c) | (~b & d);
                k = 0x5A827999;
            } else if (i < 40) {
                f = b ^ c ^ d;
                k = 0x6ED9EBA1;
            } else if (i < 60) {
                f = (b & c) | (b & d) | (c & d);
                k = 0x8F1BBCDC;
            } else {
                f = b ^ c ^ d;
                k = 0xCA62C1D6;
            }
            uint32_t t = rol(a, 5) + f + e + k + w[i];
            e = d;
            d = c;
            c = rol(b, 30);
            b = a;
            a = t;
        }
        h[0] += a;
        h[1] += b;
        h[2] += c;
        h[3] += d;
        h[4] += e;
    }
    free(buf);
    for (int i = 0; i < 5; i++)
        for (int j = 0; j < 4; j++)
            out[4 * i + j] = (unsigned char)(h[i] >> (24 - 8 * j));
}

static void base64(const unsigned char *in, size_t len, char *out)
{
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len)
            v |= in[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = i + 1 < len ? tab[(v >> 6) & 63] : '=';
        out[o++] = i + 2 < len ? tab[v & 63] : '=';
    }
    out[o] = '\0';
}

/* ---- frames ---- */

static bool send_all(int fd, const void *p, size_t len)
{
    const char *c = p;
    while (len) {
        ssize_t w = send(fd, c, len, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return false;
        c += w;
        len -= (size_t)w;
    }
    return true;
}

static bool ws_send(struct ws_client *c, int opcode, const void *data, size_t len)
{
    if (c->gone)
        return false;
    unsigned char h[10];
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        h[1] = (unsigned char)len;
    } else if (len < 65536) {
        h[1] = 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    if (!send_all(c->fd, h, hl) || !send_all(c->fd, data, len)) {
        c->gone = true;
        c->gone_reason = "the client stopped reading";
        return false;
    }
    return true;
}

static void ws_send_json(struct ws_client *c, json_object *o)
{
    const char *s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
    ws_send(c, 1, s, strlen(s));
    json_object_put(o);
}

static void ws_status(struct ws_client *c, const char *node, const char *holder,
                      const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("status"));
    json_object_object_add(o, "node", json_object_new_string(node));
    json_object_object_add(o, "mode",
                           json_object_new_string(c->writer ? "interactive" : "read-only"));
    json_object_object_add(o, "held_by", json_object_new_string(holder ? holder : ""));
    json_object_object_add(o, "message", json_object_new_string(message));
    ws_send_json(c, o);
}

static void ws_error(struct ws_client *c, ul_err rc, const char *message)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "type", json_object_new_string("error"));
    json_object_object_add(o, "code", json_object_new_string(ul_err_name(rc)));
    json_object_object_add(o, "message", json_object_new_string(message));
    ws_send_json(c, o);
}

/* Close frame: status code and a reason (truncated to fit 125 bytes). */
static void ws_close(struct ws_client *c, unsigned code, const char *reason)
{
    unsigned char p[125];
    size_t rl = strlen(reason);
    if (rl > sizeof(p) - 2)
        rl = sizeof(p) - 2;
    p[0] = (unsigned char)(code >> 8);
    p[1] = (unsigned char)code;
    memcpy(p + 2, reason, rl);
    ws_send(c, 8, p, rl + 2);
}

/* ---- clients ---- */

static struct ws_client *client_new(int fd, struct MHD_UpgradeResponseHandle *urh,
                                    const char *actor, bool writer, const char *extra,
                                    size_t extra_len)
{
    struct ws_client *c = xcalloc(1, sizeof(*c));
    c->fd = fd;
    c->urh = urh;
    c->actor = xstrdup(actor);
    c->writer = writer;
    c->started = (int64_t)time(NULL);
    c->in = xmalloc(CONSOLE_FRAME_MAX + 14);
    if (extra_len && extra_len <= CONSOLE_FRAME_MAX) {
        memcpy(c->in, extra, extra_len);
        c->in_len = extra_len;
    }
    /* libmicrohttpd hands the socket over non-blocking; output is written
     * whole, with a bound so a stalled client cannot hold the others. */
    int fl = fcntl(fd, F_GETFL);
    if (fl >= 0)
        fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = {.tv_sec = CONSOLE_SEND_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return c;
}

static void client_free(struct ws_client *c)
{
    if (!c)
        return;
    MHD_upgrade_action(c->urh, MHD_UPGRADE_ACTION_CLOSE);
    free(c->actor);
    free(c->in);
    free(c);
}

static void audit(api_server *srv, const char *actor, const char *action, const char *node,
                  ul_err rc, json_object *detail)
{
    char *d = jv_to_string(detail);
    ul_errmsg em;
    if (store_audit_add(srv->st, actor, action, node, rc == UL_OK ? "ok" : "error", d, &em) !=
        UL_OK)
        ul_error("audit: cannot record %s on %s by %s: %s", action, node, actor, em.text);
    free(d);
    json_object_put(detail);
}

static json_object *time_str(int64_t t)
{
    char buf[40];
    ul_time_rfc3339(t, buf, sizeof(buf));
    return json_object_new_string(buf);
}

static void audit_attach(api_server *srv, const char *node, const struct ws_client *c)
{
    json_object *d = json_object_new_object();
    json_object_object_add(d, "mode",
                           json_object_new_string(c->writer ? "interactive" : "read-only"));
    json_object_object_add(d, "started", time_str(c->started));
    audit(srv, c->actor, "console.attach", node, UL_OK, d);
}

static void audit_detach(api_server *srv, const char *node, const struct ws_client *c,
                         const char *reason)
{
    int64_t now = (int64_t)time(NULL);
    json_object *d = json_object_new_object();
    json_object_object_add(d, "mode",
                           json_object_new_string(c->writer ? "interactive" : "read-only"));
    json_object_object_add(d, "started", time_str(c->started));
    json_object_object_add(d, "ended", time_str(now));
    json_object_object_add(d, "duration_s", json_object_new_int64(now - c->started));
    json_object_object_add(d, "reason", json_object_new_string(reason));
    audit(srv, c->actor, "console.detach", node, UL_OK, d);
}

/* ---- the session thread ---- */

struct backlog {
    unsigned char buf[CONSOLE_BACKLOG];
    size_t start, len;
};

static void backlog_add(struct backlog *b, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t at = (b->start + b->len) % CONSOLE_BACKLOG;
        b->buf[at] = p[i];
        if (b->len < CONSOLE_BACKLOG)
            b->len++;
        else
            b->start = (b->start + 1) % CONSOLE_BACKLOG;
    }
}

static void backlog_send(const struct backlog *b, struct ws_client *c)
{
    if (!b->len)
        return;
    unsigned char tmp[CONSOLE_BACKLOG];
    for (size_t i = 0; i < b->len; i++)
        tmp[i] = b->buf[(b->start + i) % CONSOLE_BACKLOG];
    ws_send(c, 2, tmp, b->len);
}

static void session_unref(struct console_session *s);

/* Parse what c sent; data from the interactive client goes to bmc_fd. */
static void client_input(struct console_session *s, struct ws_client *c, int bmc_fd)
{
    ssize_t r = recv(c->fd, c->in + c->in_len, CONSOLE_FRAME_MAX + 14 - c->in_len,
                     MSG_DONTWAIT);
    if (r == 0 || (r < 0 && errno != EAGAIN && errno != EINTR)) {
        c->gone = true;
        c->gone_reason = "the client disconnected";
        return;
    }
    if (r > 0)
        c->in_len += (size_t)r;
    while (c->in_len >= 2 && !c->gone) {
        unsigned char *p = c->in;
        int opcode = p[0] & 0x0f;
        bool masked = p[1] & 0x80;
        uint64_t len = p[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (c->in_len < 4)
                return;
            len = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            if (c->in_len < 10)
                return;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            hl = 10;
        }
        if (!masked) {
            ws_close(c, 1002, "client frames must be masked");
            c->gone = true;
            c->gone_reason = "protocol error (unmasked frame)";
            return;
        }
        if (len > CONSOLE_FRAME_MAX) {
            ws_close(c, 1009, "frame too large");
            c->gone = true;
            c->gone_reason = "protocol error (frame too large)";
            return;
        }
        if (c->in_len < hl + 4 + len)
            return;
        unsigned char *key = p + hl, *data = p + hl + 4;
        for (uint64_t i = 0; i < len; i++)
            data[i] ^= key[i % 4];
        switch (opcode) {
        case 0: /* continuation: bytes like any other */
        case 1:
        case 2:
            if (!len)
                break;
            if (c->writer && bmc_fd >= 0) {
                size_t off = 0;
                while (off < len) {
                    ssize_t w = write(bmc_fd, data + off, (size_t)len - off);
                    if (w < 0 && errno == EINTR)
                        continue;
                    if (w <= 0)
                        break; /* the session's EOF says why */
                    off += (size_t)w;
                }
            } else if (!c->writer && !c->told_readonly) {
                c->told_readonly = true;
                ws_status(c, s->node, NULL, "read-only: your input is not sent to the console");
            }
            break;
        case 8:
            ws_close(c, 1000, "bye");
            c->gone = true;
            c->gone_reason = "detached";
            break;
        case 9:
            ws_send(c, 10, data, (size_t)len);
            break;
        default:
            break;
        }
        size_t used = hl + 4 + (size_t)len;
        memmove(c->in, c->in + used, c->in_len - used);
        c->in_len -= used;
    }
}

static int log_open(api_server *srv, const char *node, const char *actor)
{
    const char *dir = srv->cfg->console_log_dir;
    if (!dir || !*dir)
        return -1;
    char *path = xasprintf("%s/%s.log", dir, node);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0) {
        ul_warn("console: node %s: cannot open the console log %s: %s (logging off for this "
                "session)",
                node, path, strerror(errno));
    } else {
        char ts[40];
        ul_time_rfc3339((int64_t)time(NULL), ts, sizeof(ts));
        dprintf(fd, "\n--- underlay: console of %s opened by %s at %s ---\n", node, actor, ts);
    }
    free(path);
    return fd;
}

static void *console_main(void *arg)
{
    struct console_session *s = arg;
    api_server *srv = s->srv;
    struct ws_client *clients[CONSOLE_MAX_CLIENTS];
    int nclients = 0;
    struct backlog *bl = xcalloc(1, sizeof(*bl));
    bmc_console *con = NULL;
    ul_errmsg em = {{0}};
    ul_err open_rc = bmc_console_open(s->n, &con, &em);
    char *holder = xstrdup("");
    node_free(s->n); /* the password is not kept */
    s->n = NULL;
    int bmc_fd = con ? bmc_console_fd(con) : -1;
    int log_fd = -1;
    const char *end_reason = NULL;
    char why[UL_ERRMSG_LEN] = "";
    bool writer_seen = false;
    time_t t0 = time(NULL);
    if (open_rc != UL_OK)
        ul_warn("console: %s", em.text);

    for (;;) {
        /* take the clients that joined */
        pthread_mutex_lock(&s->mu);
        for (int i = 0; i < s->npending; i++) {
            struct ws_client *c = s->pending[i];
            clients[nclients++] = c;
            if (c->writer) {
                writer_seen = true;
                free(holder);
                holder = xstrdup(c->actor);
            }
            if (open_rc != UL_OK) {
                ws_error(c, open_rc, em.text);
                ws_close(c, 1011, ul_err_name(open_rc));
                c->gone = true;
                c->gone_reason = "the console could not be opened";
                if (c->writer) {
                    json_object *d = json_object_new_object();
                    json_object_object_add(d, "error", json_object_new_string(em.text));
                    audit(srv, c->actor, "console.attach", s->node, open_rc, d);
                }
                continue;
            }
            if (c->writer && log_fd < 0)
                log_fd = log_open(srv, s->node, c->actor);
            audit_attach(srv, s->node, c);
            ws_status(c, s->node, holder,
                      c->writer ? "console open (interactive)"
                                : "console open read-only");
            backlog_send(bl, c);
        }
        s->npending = 0;
        pthread_mutex_unlock(&s->mu);

        /* drop the clients that left */
        for (int i = 0; i < nclients;) {
            struct ws_client *c = clients[i];
            if (!c->gone) {
                i++;
                continue;
            }
            if (open_rc == UL_OK)
                audit_detach(srv, s->node, c, c->gone_reason ? c->gone_reason : "detached");
            if (c->writer && !end_reason)
                end_reason = "the interactive client left";
            client_free(c);
            pthread_mutex_lock(&s->all->mu);
            s->nclients--;
            pthread_mutex_unlock(&s->all->mu);
            clients[i] = clients[--nclients];
        }
        if (open_rc != UL_OK && writer_seen && !end_reason)
            end_reason = "open failed";
        if (!writer_seen && time(NULL) - t0 > CONSOLE_JOIN_WAIT_S && !end_reason)
            end_reason = "the client that started it never connected";
        pthread_mutex_lock(&s->all->mu);
        bool stopping = s->all->stopping;
        pthread_mutex_unlock(&s->all->mu);
        if (stopping && !end_reason)
            end_reason = "the daemon is stopping";
        if (end_reason)
            break;

        struct pollfd pf[CONSOLE_MAX_CLIENTS + 2];
        int np = 0;
        pf[np++] = (struct pollfd){.fd = s->wake[0], .events = POLLIN};
        int bmc_at = -1;
        if (bmc_fd >= 0) {
            bmc_at = np;
            pf[np++] = (struct pollfd){.fd = bmc_fd, .events = POLLIN};
        }
        int first_client = np;
        for (int i = 0; i < nclients; i++)
            pf[np++] = (struct pollfd){.fd = clients[i]->fd, .events = POLLIN};
        int pr = poll(pf, (nfds_t)np, 1000);
        if (pr < 0 && errno != EINTR) {
            snprintf(why, sizeof(why), "poll: %s", strerror(errno));
            end_reason = why;
            break;
        }
        if (pr <= 0)
            continue;
        if (pf[0].revents) {
            char drain[64];
            while (read(s->wake[0], drain, sizeof(drain)) > 0)
                ;
        }
        if (bmc_at >= 0 && pf[bmc_at].revents) {
            unsigned char buf[4096];
            ssize_t r = read(bmc_fd, buf, sizeof(buf));
            if (r <= 0 && !(r < 0 && (errno == EINTR || errno == EAGAIN))) {
                ul_errmsg wm = {{0}};
                bmc_console_why(con, &wm);
                snprintf(why, sizeof(why), "%s", wm.text);
                end_reason = why;
                break;
            }
            if (r > 0) {
                backlog_add(bl, buf, (size_t)r);
                if (log_fd >= 0 && write(log_fd, buf, (size_t)r) != r) {
                    ul_warn("console: node %s: writing the console log: %s (logging off)",
                            s->node, strerror(errno));
                    close(log_fd);
                    log_fd = -1;
                }
                for (int i = 0; i < nclients; i++)
                    ws_send(clients[i], 2, buf, (size_t)r);
            }
        }
        for (int i = 0; i < nclients; i++)
            if (pf[first_client + i].revents && !clients[i]->gone)
                client_input(s, clients[i], clients[i]->writer ? bmc_fd : -1);
    }

    /* no one joins from here on */
    pthread_mutex_lock(&s->all->mu);
    pthread_mutex_lock(&s->mu);
    s->ended = true;
    for (int i = 0; i < s->npending; i++)
        clients[nclients++] = s->pending[i];
    s->npending = 0;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_unlock(&s->all->mu);
    ul_info("console: node %s: session ended: %s", s->node, end_reason);
    for (int i = 0; i < nclients; i++) {
        struct ws_client *c = clients[i];
        if (!c->gone) {
            json_object *o = json_object_new_object();
            json_object_object_add(o, "type", json_object_new_string("status"));
            json_object_object_add(o, "node", json_object_new_string(s->node));
            json_object_object_add(o, "state", json_object_new_string("closed"));
            json_object_object_add(o, "message", json_object_new_string(end_reason));
            ws_send_json(c, o);
            ws_close(c, 1000, end_reason);
        }
        if (open_rc == UL_OK)
            audit_detach(srv, s->node, c, c->gone ? c->gone_reason : end_reason);
        client_free(c);
    }
    if (log_fd >= 0) {
        char ts[40];
        ul_time_rfc3339((int64_t)time(NULL), ts, sizeof(ts));
        dprintf(log_fd, "\n--- underlay: console of %s closed at %s: %s ---\n", s->node, ts,
                end_reason);
        close(log_fd);
    }
    bmc_console_close(con);
    free(holder);
    free(bl);
    struct api_consoles *all = s->all;
    session_unref(s);
    pthread_mutex_lock(&all->mu);
    all->running--;
    pthread_cond_broadcast(&all->cv);
    pthread_mutex_unlock(&all->mu);
    return NULL;
}

static void session_free(struct console_session *s)
{
    node_free(s->n);
    for (int i = 0; i < s->npending; i++)
        client_free(s->pending[i]);
    close(s->wake[0]);
    close(s->wake[1]);
    pthread_mutex_destroy(&s->mu);
    free(s->node);
    free(s);
}

/* Drop a reference; the last one unlinks and frees s. */
static void session_unref(struct console_session *s)
{
    struct api_consoles *all = s->all;
    pthread_mutex_lock(&all->mu);
    bool last = --s->refs == 0;
    if (last)
        for (struct console_session **p = &all->list; *p; p = &(*p)->next)
            if (*p == s) {
                *p = s->next;
                break;
            }
    pthread_mutex_unlock(&all->mu);
    if (last)
        session_free(s);
}

/* ---- the upgrade ---- */

struct join {
    struct console_session *s;
    char *actor;
    bool writer;
};

static void on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls,
                       const char *extra_in, size_t extra_in_size, MHD_socket sock,
                       struct MHD_UpgradeResponseHandle *urh)
{
    (void)conn;
    (void)con_cls;
    struct join *j = cls;
    struct console_session *s = j->s;
    struct ws_client *c = client_new(sock, urh, j->actor, j->writer, extra_in, extra_in_size);
    pthread_mutex_lock(&s->mu);
    bool ended = s->ended;
    if (!ended)
        s->pending[s->npending++] = c;
    pthread_mutex_unlock(&s->mu);
    if (ended) {
        ws_close(c, 1001, "the console session ended");
        client_free(c);
    } else if (write(s->wake[1], "", 1) < 0 && errno != EAGAIN) {
        ul_warn("console: node %s: cannot wake the session: %s", s->node, strerror(errno));
    }
    free(j->actor);
    free(j);
    session_unref(s);
}

api_consoles *api_consoles_new(void)
{
    api_consoles *all = xcalloc(1, sizeof(*all));
    pthread_mutex_init(&all->mu, NULL);
    pthread_cond_init(&all->cv, NULL);
    return all;
}

void api_consoles_stop(api_consoles *all)
{
    if (!all)
        return;
    pthread_mutex_lock(&all->mu);
    all->stopping = true;
    for (struct console_session *s = all->list; s; s = s->next)
        if (write(s->wake[1], "", 1) < 0 && errno != EAGAIN)
            ul_warn("console: node %s: cannot wake the session", s->node);
    while (all->running > 0)
        pthread_cond_wait(&all->cv, &all->mu);
    pthread_mutex_unlock(&all->mu);
}

void api_consoles_free(api_consoles *all)
{
    if (!all)
        return;
    /* after MHD stopped: upgrades that never happened leave references */
    while (all->list) {
        struct console_session *s = all->list;
        all->list = s->next;
        session_free(s);
    }
    pthread_cond_destroy(&all->cv);
    pthread_mutex_destroy(&all->mu);
    free(all);
}

static bool header_has(struct api_req *rq, const char *name, const char *token)
{
    const char *v = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, name);
    if (!v)
        return false;
    size_t tl = strlen(token);
    for (const char *p = v; *p;) {
        p += strspn(p, " \t,");
        size_t l = strcspn(p, ",");
        size_t e = l;
        while (e && (p[e - 1] == ' ' || p[e - 1] == '\t'))
            e--;
        if (e == tl && strncasecmp(p, token, tl) == 0)
            return true;
        p += l;
    }
    return false;
}

bool api_ws_bearer(struct api_req *rq, char *buf, size_t len)
{
    if (!header_has(rq, MHD_HTTP_HEADER_UPGRADE, "websocket"))
        return false;
    const char *v = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                "Sec-WebSocket-Protocol");
    for (const char *p = v; p && *p;) {
        p += strspn(p, " \t,");
        size_t l = strcspn(p, " \t,");
        if (l > 7 && strncmp(p, "bearer.", 7) == 0 && l - 7 < len) {
            memcpy(buf, p + 7, l - 7);
            buf[l - 7] = '\0';
            return true;
        }
        p += l;
    }
    return false;
}

void route_node_console(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = rq->segs[3];
    const char *mode = api_query(rq, "mode");
    if (mode && strcmp(mode, "view") != 0 && strcmp(mode, "interactive") != 0) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid",
                  "field 'mode': must be interactive or view, not '%.32s'", mode);
        return;
    }
    const char *key = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                  "Sec-WebSocket-Key");
    const char *ver = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                  "Sec-WebSocket-Version");
    if (!header_has(rq, MHD_HTTP_HEADER_UPGRADE, "websocket") ||
        !header_has(rq, MHD_HTTP_HEADER_CONNECTION, "upgrade") || !key || strlen(key) != 24) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid",
                  "GET /api/v1/nodes/%s/console is a WebSocket: send Upgrade: websocket, "
                  "Connection: Upgrade and a Sec-WebSocket-Key (use `underlay console %s`)",
                  name, name);
        return;
    }
    if (!ver || strcmp(ver, "13") != 0) {
        static const char *const hv[] = {"Sec-WebSocket-Version", "13", NULL};
        api_error(rp, 426, "invalid", "header 'Sec-WebSocket-Version': only 13 is spoken");
        rp->headers = hv;
        return;
    }
    struct ul_node *n = NULL;
    ul_errmsg em;
    ul_err rc = store_node_get(srv->st, name, true, &n, &em);
    if (rc == UL_ERR_NOT_FOUND) {
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "node %s not found", name);
        return;
    }
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    if (!bmc_console_supported(n->driver)) {
        api_error(rp, MHD_HTTP_NOT_IMPLEMENTED, "not_supported",
                  "node %s: serial console not supported by driver %s (only IPMI "
                  "Serial-over-LAN is implemented)",
                  name, n->driver);
        node_free(n);
        return;
    }
    api_consoles *all = srv->consoles;
    struct console_session *s = NULL;
    bool writer = false;
    pthread_mutex_lock(&all->mu);
    if (all->stopping) {
        pthread_mutex_unlock(&all->mu);
        node_free(n);
        api_error(rp, MHD_HTTP_SERVICE_UNAVAILABLE, "busy", "the daemon is stopping");
        return;
    }
    for (struct console_session *x = all->list; x; x = x->next) {
        pthread_mutex_lock(&x->mu);
        bool live = !x->ended && strcmp(x->node, name) == 0;
        pthread_mutex_unlock(&x->mu);
        if (live) {
            s = x;
            break;
        }
    }
    if (s) {
        if (s->nclients >= CONSOLE_MAX_CLIENTS) {
            pthread_mutex_unlock(&all->mu);
            node_free(n);
            api_error(rp, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                      "node %s: console already has %d clients", name, CONSOLE_MAX_CLIENTS);
            return;
        }
        node_free(n);
        n = NULL;
    } else if (rq->role < API_ROLE_OPERATOR || (mode && strcmp(mode, "view") == 0)) {
        pthread_mutex_unlock(&all->mu);
        node_free(n);
        api_error(rp, MHD_HTTP_CONFLICT, "conflict",
                  "node %s: no console session to watch (starting one needs the operator "
                  "role and mode interactive)",
                  name);
        return;
    } else {
        s = xcalloc(1, sizeof(*s));
        if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
            pthread_mutex_unlock(&all->mu);
            node_free(n);
            free(s);
            api_error(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "io", "node %s: console: pipe: %s",
                      name, strerror(errno));
            return;
        }
        s->all = all;
        s->srv = srv;
        s->node = xstrdup(name);
        s->n = n;
        n = NULL;
        pthread_mutex_init(&s->mu, NULL);
        s->refs = 1; /* the thread */
        pthread_t t;
        pthread_attr_t attr;
        pthread_attr_init(&attr);
        pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&t, &attr, console_main, s) != 0) {
            pthread_attr_destroy(&attr);
            pthread_mutex_unlock(&all->mu);
            session_free(s);
            api_error(rp, MHD_HTTP_SERVICE_UNAVAILABLE, "busy",
                      "node %s: cannot start a console thread", name);
            return;
        }
        pthread_attr_destroy(&attr);
        s->next = all->list;
        all->list = s;
        all->running++;
        writer = true;
    }
    s->nclients++;
    s->refs++; /* the join, until on_upgrade */
    pthread_mutex_unlock(&all->mu);

    struct join *j = xcalloc(1, sizeof(*j));
    j->s = s;
    j->actor = xstrdup(rq->actor);
    j->writer = writer;
    struct MHD_Response *resp = MHD_create_response_for_upgrade(on_upgrade, j);
    if (!resp) {
        free(j->actor);
        free(j);
        session_unref(s);
        api_error(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal",
                  "node %s: cannot make the upgrade response", name);
        return;
    }
    char accept_in[64], accept[32];
    unsigned char digest[20];
    snprintf(accept_in, sizeof(accept_in), "%s258EAFA5-E914-47DA-95CA-C5AB0DC85B11", key);
    sha1((const unsigned char *)accept_in, strlen(accept_in), digest);
    base64(digest, sizeof(digest), accept);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_UPGRADE, "websocket");
    MHD_add_response_header(resp, "Sec-WebSocket-Accept", accept);
    MHD_add_response_header(resp, "X-Underlay-Console-Mode", writer ? "interactive" : "read-only");
    /* a browser offering subprotocols fails the connection unless one is chosen */
    if (header_has(rq, "Sec-WebSocket-Protocol", "underlay.console"))
        MHD_add_response_header(resp, "Sec-WebSocket-Protocol", "underlay.console");
    rp->status = MHD_HTTP_SWITCHING_PROTOCOLS;
    rp->upgrade = resp;
}
