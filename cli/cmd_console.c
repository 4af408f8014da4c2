/* cmd_console.c - console NODE: attach to a node's serial console through
 * underlayd (GET /api/v1/nodes/NODE/console, a WebSocket).  The daemon owns
 * the Serial-over-LAN session; this is only its client.
 *
 * The connection is libcurl's (CONNECT_ONLY, so https works as for every
 * other command); the upgrade request and the frames (RFC 6455) are written
 * here.  Typed bytes go out as masked binary frames; "~." at the start of a
 * line leaves (as in ssh and ipmitool), "~~" sends one '~'.  End of input
 * leaves too, so a script can pipe into it.
 */
#include "config.h"

#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <termios.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "jsonv.h"
#include "xalloc.h"

static const char console_usage[] =
    "Usage: underlay console NODE [--view]\n"
    "\n"
    "Attach to NODE's serial console (IPMI Serial-over-LAN) through underlayd.\n"
    "The first client of a node's console types into it (operator role); who\n"
    "comes while it is held watches read-only and is told who holds it.\n"
    "\n"
    "  --view   watch read-only even when the console is free (no session is\n"
    "           started: an interactive client must hold one)\n"
    "\n"
    "Type ~. at the start of a line to leave, ~~ to send a '~'.  End of input\n"
    "leaves too.  Exit status 0 when you left or the session ended normally,\n"
    "1 when it could not be opened or the BMC ended it with an error.\n";

struct ws {
    CURL *curl;
    curl_socket_t sock;
    unsigned char *in;
    size_t in_len, in_cap;
};

/* Wait until the socket is readable/writable (libcurl's sockets are
 * non-blocking); ms < 0 waits forever. */
static int wait_sock(curl_socket_t s, short ev, int ms)
{
    struct pollfd p = {.fd = s, .events = ev};
    int r;
    do
        r = poll(&p, 1, ms);
    while (r < 0 && errno == EINTR);
    return r;
}

static bool ws_write_raw(struct ws *w, const void *data, size_t len)
{
    const char *p = data;
    while (len) {
        size_t n = 0;
        CURLcode cc = curl_easy_send(w->curl, p, len, &n);
        if (cc == CURLE_AGAIN) {
            if (wait_sock(w->sock, POLLOUT, 10000) <= 0)
                return false;
            continue;
        }
        if (cc != CURLE_OK)
            return false;
        p += n;
        len -= n;
    }
    return true;
}

/* Read what is there into w->in; 0 ok (maybe nothing), -1 closed/error. */
static int ws_fill(struct ws *w)
{
    if (w->in_cap - w->in_len < 4096) {
        w->in_cap = w->in_cap * 2 + 8192;
        w->in = xrealloc(w->in, w->in_cap);
    }
    size_t n = 0;
    CURLcode cc = curl_easy_recv(w->curl, w->in + w->in_len, w->in_cap - w->in_len, &n);
    if (cc == CURLE_AGAIN)
        return 0;
    if (cc != CURLE_OK || n == 0)
        return -1;
    w->in_len += n;
    return 0;
}

static bool ws_send(struct ws *w, int opcode, const void *data, size_t len)
{
    unsigned char h[14];
    size_t hl = 2;
    h[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        h[1] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        h[1] = 0x80 | 126;
        h[2] = (unsigned char)(len >> 8);
        h[3] = (unsigned char)len;
        hl = 4;
    } else {
        h[1] = 0x80 | 127;
        for (int i = 0; i < 8; i++)
            h[2 + i] = (unsigned char)((uint64_t)len >> (56 - 8 * i));
        hl = 10;
    }
    unsigned char *key = h + hl;
    if (getrandom(key, 4, 0) != 4)
        memset(key, 0x5a, 4);
    hl += 4;
    unsigned char *buf = xmalloc(hl + len);
    memcpy(buf, h, hl);
    const unsigned char *d = data;
    for (size_t i = 0; i < len; i++)
        buf[hl + i] = d[i] ^ key[i % 4];
    bool ok = ws_write_raw(w, buf, hl + len);
    free(buf);
    return ok;
}

/* ---- the terminal ---- */

static struct termios saved_tio;
static bool raw_on;

static void term_raw(void)
{
    if (!isatty(STDIN_FILENO) || tcgetattr(STDIN_FILENO, &saved_tio) != 0)
        return;
    struct termios t = saved_tio;
    cfmakeraw(&t);
    t.c_oflag |= OPOST | ONLCR; /* our own messages keep their line ends */
    if (tcsetattr(STDIN_FILENO, TCSADRAIN, &t) == 0)
        raw_on = true;
}

static void term_restore(void)
{
    if (raw_on)
        tcsetattr(STDIN_FILENO, TCSADRAIN, &saved_tio);
    raw_on = false;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs(raw_on ? "\r\n[" : "[", stderr);
    vfprintf(stderr, fmt, ap);
    fputs(raw_on ? "]\r\n" : "]\n", stderr);
    va_end(ap);
}

/* ---- the upgrade ---- */

/* Split base into scheme://authority and the path prefix. */
static void split_base(const char *base, char **origin, char **prefix, char **host)
{
    const char *auth = strstr(base, "://");
    auth = auth ? auth + 3 : base;
    const char *slash = strchr(auth, '/');
    size_t ol = slash ? (size_t)(slash - base) : strlen(base);
    *origin = xstrndup(base, ol);
    *prefix = xstrdup(slash ? slash : "");
    *host = xstrndup(auth, slash ? (size_t)(slash - auth) : strlen(auth));
}

/* Send the upgrade and read the answer.  0 on 101; otherwise prints the
 * server's message and returns an exit code. */
static int upgrade(struct ws *w, const char *cmd, const char *path, const char *host,
                   const char *auth_header)
{
    unsigned char rnd[16];
    char key[32];
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
        memset(rnd, 0x42, sizeof(rnd));
    size_t o = 0;
    for (size_t i = 0; i < 16; i += 3) {
        uint32_t v = (uint32_t)rnd[i] << 16;
        if (i + 1 < 16)
            v |= (uint32_t)rnd[i + 1] << 8;
        if (i + 2 < 16)
            v |= rnd[i + 2];
        key[o++] = tab[(v >> 18) & 63];
        key[o++] = tab[(v >> 12) & 63];
        key[o++] = i + 1 < 16 ? tab[(v >> 6) & 63] : '=';
        key[o++] = i + 2 < 16 ? tab[v & 63] : '=';
    }
    key[o] = '\0';
    char *req = xasprintf("GET %s HTTP/1.1\r\nHost: %s\r\n%s%sUpgrade: websocket\r\n"
                          "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\nUser-Agent: underlay/%s\r\n\r\n",
                          path, host, auth_header ? auth_header : "", auth_header ? "\r\n" : "",
                          key, PACKAGE_VERSION);
    bool sent = ws_write_raw(w, req, strlen(req));
    explicit_bzero(req, strlen(req));
    free(req);
    if (!sent) {
        fprintf(stderr, "%s: the connection to underlayd failed while sending the request\n",
                cmd);
        return CLI_EXIT_ERROR;
    }
    /* headers */
    char *end = NULL;
    while (!(end = w->in_len ? memmem(w->in, w->in_len, "\r\n\r\n", 4) : NULL)) {
        if (w->in_len > 65536 || wait_sock(w->sock, POLLIN, 30000) <= 0 || ws_fill(w) < 0) {
            fprintf(stderr, "%s: underlayd gave no answer to the console request\n", cmd);
            return CLI_EXIT_ERROR;
        }
    }
    size_t hlen = (size_t)(end - (char *)w->in) + 4;
    char *head = xstrndup((char *)w->in, hlen);
    memmove(w->in, w->in + hlen, w->in_len - hlen);
    w->in_len -= hlen;
    int status = 0;
    if (sscanf(head, "HTTP/1.%*d %d", &status) != 1)
        status = 0;
    if (status == 101) {
        free(head);
        return 0;
    }
    /* an error: the body is the API's JSON error */
    long clen = 0;
    for (char *l = strstr(head, "\r\n"); l; l = strstr(l + 2, "\r\n"))
        if (strncasecmp(l + 2, "Content-Length:", 15) == 0)
            clen = strtol(l + 17, NULL, 10);
    free(head);
    while ((long)w->in_len < clen && clen < 65536) {
        if (wait_sock(w->sock, POLLIN, 10000) <= 0 || ws_fill(w) < 0)
            break;
    }
    char *body = xstrndup((char *)w->in, w->in_len);
    json_object *jo = json_tokener_parse(body);
    json_object *err = NULL, *msg = NULL;
    if (jo && json_object_object_get_ex(jo, "error", &err) &&
        json_object_object_get_ex(err, "message", &msg))
        fprintf(stderr, "%s: %s (HTTP %d)\n", cmd, json_object_get_string(msg), status);
    else
        fprintf(stderr, "%s: underlayd answered HTTP %d\n", cmd, status);
    json_object_put(jo);
    free(body);
    return status == 400 ? CLI_EXIT_USAGE : CLI_EXIT_ERROR;
}

/* ---- frames from the server ---- */

enum { RUN_ON = -1 };

/* Handle whole frames in w->in; returns RUN_ON or an exit code. */
static int server_frames(struct ws *w, bool *interactive, int *err_rc)
{
    while (w->in_len >= 2) {
        unsigned char *p = w->in;
        int opcode = p[0] & 0x0f;
        uint64_t len = p[1] & 0x7f;
        size_t hl = 2;
        if (len == 126) {
            if (w->in_len < 4)
                return RUN_ON;
            len = (uint64_t)p[2] << 8 | p[3];
            hl = 4;
        } else if (len == 127) {
            if (w->in_len < 10)
                return RUN_ON;
            len = 0;
            for (int i = 0; i < 8; i++)
                len = len << 8 | p[2 + i];
            hl = 10;
        }
        if (len > (1u << 24))
            return CLI_EXIT_ERROR;
        if (w->in_len < hl + len)
            return RUN_ON;
        unsigned char *data = p + hl;
        int rc = RUN_ON;
        if (opcode == 2 || opcode == 0) {
            size_t off = 0;
            while (off < len) {
                ssize_t n = write(STDOUT_FILENO, data + off, (size_t)len - off);
                if (n < 0 && errno == EINTR)
                    continue;
                if (n <= 0)
                    return CLI_EXIT_ERROR;
                off += (size_t)n;
            }
        } else if (opcode == 1) {
            char *txt = xstrndup((char *)data, (size_t)len);
            json_object *o = json_tokener_parse(txt);
            json_object *type = NULL, *msg = NULL, *mode = NULL, *held = NULL;
            if (o && json_object_object_get_ex(o, "type", &type)) {
                json_object_object_get_ex(o, "message", &msg);
                const char *m = msg ? json_object_get_string(msg) : "";
                if (strcmp(json_object_get_string(type), "error") == 0) {
                    note("error: %s", m);
                    *err_rc = CLI_EXIT_ERROR;
                } else {
                    if (json_object_object_get_ex(o, "mode", &mode))
                        *interactive =
                            strcmp(json_object_get_string(mode), "interactive") == 0;
                    json_object_object_get_ex(o, "held_by", &held);
                    const char *h = held ? json_object_get_string(held) : "";
                    if (*h && !*interactive)
                        note("%s; held by %s", m, h);
                    else
                        note("%s%s", m, *interactive ? "; type ~. to leave" : "");
                }
            }
            json_object_put(o);
            free(txt);
        } else if (opcode == 8) {
            unsigned code = len >= 2 ? (unsigned)(data[0] << 8 | data[1]) : 1000;
            if (code != 1000)
                *err_rc = CLI_EXIT_ERROR;
            ws_send(w, 8, data, len >= 2 ? 2 : 0);
            rc = *err_rc ? *err_rc : CLI_EXIT_OK;
        } else if (opcode == 9) {
            ws_send(w, 10, data, (size_t)len);
        }
        size_t used = hl + (size_t)len;
        memmove(w->in, w->in + used, w->in_len - used);
        w->in_len -= used;
        if (rc != RUN_ON)
            return rc;
    }
    return RUN_ON;
}

/* ---- typed input, with the escape ---- */

struct esc {
    bool line_start;
    bool tilde; /* a '~' at the start of a line, held back */
};

/* Filter in[0..n) into out; returns true when "~." was typed. */
static bool escape_filter(struct esc *e, const unsigned char *in, size_t n, unsigned char *out,
                          size_t *outn)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = in[i];
        if (e->tilde) {
            e->tilde = false;
            if (ch == '.') {
                *outn = o;
                return true;
            }
            out[o++] = '~';
            if (ch == '~') {
                e->line_start = false;
                continue;
            }
        } else if (e->line_start && ch == '~') {
            e->tilde = true;
            continue;
        }
        out[o++] = ch;
        e->line_start = ch == '\r' || ch == '\n';
    }
    *outn = o;
    return false;
}

int cmd_console(struct cli *cli, int argc, char **argv)
{
    enum { O_VIEW = 256 };
    static const struct option opts[] = {
        {"view", no_argument, NULL, O_VIEW},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    bool view = false;
    int ch;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_VIEW:
            view = true;
            break;
        case 'h':
            fputs(console_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 1)
        return args_usage(cmd, "expected one node NAME");
    const char *node = argv[optind];
    if (args_node(cmd, node) != 0)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    char *origin, *prefix, *host;
    split_base(cl_base_url(c), &origin, &prefix, &host);
    char *esc = cl_escape(c, node);
    char *path = xasprintf("%s/api/v1/nodes/%s/console%s", prefix, esc,
                           view ? "?mode=view" : "");
    free(esc);
    int rc = CLI_EXIT_ERROR;
    struct ws w = {.sock = CURL_SOCKET_BAD};
    w.curl = curl_easy_init();
    if (!w.curl) {
        fprintf(stderr, "%s: cannot create a connection handle\n", cmd);
        goto out;
    }
    curl_easy_setopt(w.curl, CURLOPT_URL, origin);
    curl_easy_setopt(w.curl, CURLOPT_CONNECT_ONLY, 1L);
    curl_easy_setopt(w.curl, CURLOPT_CONNECTTIMEOUT, 5L);
    CURLcode cc = curl_easy_perform(w.curl);
    if (cc != CURLE_OK) {
        fprintf(stderr, "%s: cannot connect to underlayd at %s: %s\n", cmd, origin,
                curl_easy_strerror(cc));
        goto out;
    }
    if (curl_easy_getinfo(w.curl, CURLINFO_ACTIVESOCKET, &w.sock) != CURLE_OK ||
        w.sock == CURL_SOCKET_BAD) {
        fprintf(stderr, "%s: no socket for %s\n", cmd, origin);
        goto out;
    }
    rc = upgrade(&w, cmd, path, host, cl_auth_header(c));
    if (rc != 0)
        goto out;

    term_raw();
    bool interactive = false, stdin_open = true;
    int err_rc = 0;
    struct esc e = {.line_start = true};
    rc = server_frames(&w, &interactive, &err_rc);
    while (rc == RUN_ON) {
        struct pollfd pf[2] = {{.fd = w.sock, .events = POLLIN},
                               {.fd = stdin_open ? STDIN_FILENO : -1, .events = POLLIN}};
        /* with TLS libcurl may hold decrypted bytes: do not sleep long */
        int pr = poll(pf, 2, 200);
        if (pr < 0 && errno != EINTR) {
            rc = CLI_EXIT_ERROR;
            break;
        }
        if (ws_fill(&w) < 0) {
            rc = server_frames(&w, &interactive, &err_rc);
            if (rc == RUN_ON) {
                note("connection to underlayd lost");
                rc = CLI_EXIT_ERROR;
            }
            break;
        }
        rc = server_frames(&w, &interactive, &err_rc);
        if (rc != RUN_ON)
            break;
        if (stdin_open && (pf[1].revents & (POLLIN | POLLHUP | POLLERR))) {
            unsigned char buf[1024], out[2048];
            ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
            if (n < 0 && errno == EINTR)
                continue;
            size_t on = 0;
            bool quit = n <= 0;
            if (n > 0)
                quit = escape_filter(&e, buf, (size_t)n, out, &on);
            if (on && !ws_send(&w, 2, out, on)) {
                rc = CLI_EXIT_ERROR;
                break;
            }
            if (quit) {
                /* leave: close, then wait (bounded) for the server's close */
                unsigned char code[2] = {0x03, 0xe8};
                ws_send(&w, 8, code, 2);
                stdin_open = false;
                for (int i = 0; i < 50 && rc == RUN_ON; i++) {
                    if (wait_sock(w.sock, POLLIN, 100) > 0 && ws_fill(&w) < 0)
                        break;
                    rc = server_frames(&w, &interactive, &err_rc);
                }
                rc = CLI_EXIT_OK;
                note("detached");
                break;
            }
        }
    }
out:
    term_restore();
    if (w.curl)
        curl_easy_cleanup(w.curl);
    free(w.in);
    free(path);
    free(origin);
    free(prefix);
    free(host);
    return rc;
}
