/* http.c - the Redfish driver's HTTP: one libcurl easy handle per session,
 * authentication (a SessionService session, or HTTP basic), bounded retries
 * and the mapping of HTTP and transport failures to project errors.
 *
 * One easy handle per session keeps the TCP/TLS connection alive between
 * requests: BMCs are slow to accept TLS (hundreds of milliseconds on common
 * BMC SoCs), and a sensor sweep is dozens of GETs.
 *
 * Retries: GET, PATCH and DELETE are retried on 5xx, timeouts and dropped
 * connections, with exponential backoff; POST (actions, login) only when the
 * request surely did not reach the service (connection refused) or the
 * service said 503, because a reset POSTed twice resets the host twice.
 * 4xx is never retried, except one new login after a 401 on a session that
 * the BMC forgot (most expire idle sessions after minutes).
 *
 * Secrets: the password and the session token never reach a log line or an
 * error message; the buffers that held them are wiped.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "jsonv.h"
#include "log.h"
#include "redfish/redfish.h"
#include "ultime.h"
#include "xalloc.h"

#define RF_TOKEN_MAX 8192
#define RF_BACKOFF_MS 250
#define RF_BACKOFF_MAX_MS 4000
#define RF_LOGOUT_TIMEOUT_MS 5000
/* ... when the BMC left our last request unanswered (it timed out or was
 * stopped): the daemon's shutdown logs out every cached session one after
 * the other, and a hung BMC must not hold it 5 s per session.  The session
 * expires on the BMC in any case. */
#define RF_LOGOUT_SILENT_MS 1000
/* How long a request that changes the BMC and has already been sent is
 * waited for once the job must stop (see on_progress).  A login takes well
 * under a second on the BMCs we know; long enough to collect most answers,
 * short enough that a cancel during a login still lands within about 1.5 s. */
#define RF_SENT_GRACE_MS 1000
/* How often a transfer looks at its job (run_transfer, on_progress). */
#define RF_WATCH_MS 100

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init_once(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

void rf_http_global_init(void)
{
    pthread_once(&curl_once, curl_init_once);
}

void rf_wipe(void *p, size_t n)
{
    volatile unsigned char *v = p;
    if (!p)
        return;
    while (n--)
        *v++ = 0;
}

static void free_secret(char **p)
{
    if (*p) {
        rf_wipe(*p, strlen(*p));
        free(*p);
        *p = NULL;
    }
}

void rf_reply_free(struct rf_reply *r)
{
    if (!r)
        return;
    free(r->body);
    free_secret(&r->token);
    memset(r, 0, sizeof(*r));
}

bool rf_json_quote(char *buf, size_t size, size_t *used, const char *str)
{
    size_t n = *used;
#define PUT(c)                                                                                     \
    do {                                                                                           \
        if (n + 1 >= size)                                                                         \
            return false;                                                                          \
        buf[n++] = (c);                                                                            \
    } while (0)
    PUT('"');
    for (const unsigned char *p = (const unsigned char *)str; *p; p++) {
        if (*p == '"' || *p == '\\') {
            PUT('\\');
            PUT((char)*p);
        } else if (*p < 0x20) {
            char esc[8];
            snprintf(esc, sizeof(esc), "\\u%04x", *p);
            for (char *e = esc; *e; e++)
                PUT(*e);
        } else {
            PUT((char)*p);
        }
    }
    PUT('"');
#undef PUT
    buf[n] = '\0';
    *used = n;
    return true;
}

/* ---- one transfer ---- */

struct xfer {
    struct rf_reply *r;
    size_t cap;
    bool too_big;
};

static size_t on_body(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;
    if (n > RF_MAX_BODY || x->r->len + n > RF_MAX_BODY) {
        x->too_big = true;
        return 0; /* curl aborts the transfer with CURLE_WRITE_ERROR */
    }
    if (x->r->len + n + 1 > x->cap) {
        size_t cap = x->cap ? x->cap : 16384;
        while (cap < x->r->len + n + 1)
            cap *= 2;
        if (cap > RF_MAX_BODY + 1)
            cap = RF_MAX_BODY + 1;
        x->r->body = xrealloc(x->r->body, cap);
        x->cap = cap;
    }
    memcpy(x->r->body + x->r->len, data, n);
    x->r->len += n;
    x->r->body[x->r->len] = '\0';
    return n;
}

/* Header value of line if its name is name (case-insensitive), trimmed into
 * a new NUL-terminated view; NULL otherwise. */
static const char *header_value(const char *line, size_t len, const char *name, size_t *vlen)
{
    size_t nl = strlen(name);
    if (len <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':')
        return NULL;
    const char *v = line + nl + 1;
    const char *end = line + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *vlen = (size_t)(end - v);
    return v;
}

static size_t on_header(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    struct rf_reply *r = x->r;
    size_t n = size * nmemb;
    size_t vlen;
    const char *v;
    if (n >= 5 && strncmp(data, "HTTP/", 5) == 0) {
        /* A new response (after a 100 Continue): forget the previous one's. */
        r->etag[0] = r->location[0] = '\0';
        free_secret(&r->token);
        r->retry_after_s = 0;
    } else if ((v = header_value(data, n, "ETag", &vlen))) {
        if (vlen < sizeof(r->etag)) {
            memcpy(r->etag, v, vlen);
            r->etag[vlen] = '\0';
        }
    } else if ((v = header_value(data, n, "Location", &vlen))) {
        if (vlen < sizeof(r->location)) {
            memcpy(r->location, v, vlen);
            r->location[vlen] = '\0';
        }
    } else if ((v = header_value(data, n, "X-Auth-Token", &vlen))) {
        free_secret(&r->token);
        if (vlen > 0 && vlen <= RF_TOKEN_MAX)
            r->token = xstrndup(v, vlen);
    } else if ((v = header_value(data, n, "Retry-After", &vlen))) {
        int secs = 0;
        for (size_t i = 0; i < vlen && i < 6 && isdigit((unsigned char)v[i]); i++)
            secs = secs * 10 + (v[i] - '0');
        r->retry_after_s = secs;
    }
    return n;
}

static struct curl_slist *add_header(struct curl_slist *h, const char *line)
{
    struct curl_slist *n = curl_slist_append(h, line);
    if (!n) {
        ul_error("out of memory building HTTP headers");
        abort(); /* like xmalloc: the daemon cannot go on without memory */
    }
    return n;
}

/* Free a header list, wiping each line first (one of them holds the token). */
static void free_headers(struct curl_slist *h)
{
    for (struct curl_slist *p = h; p; p = p->next)
        rf_wipe(p->data, strlen(p->data));
    curl_slist_free_all(h);
}

ul_err rf_http_init(struct rf_session *s, ul_errmsg *em)
{
    rf_http_global_init();
    s->curl = curl_easy_init();
    s->multi = curl_multi_init();
    if (!s->curl || !s->multi)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: cannot create a curl handle", s->node);
    return UL_OK;
}

struct attempt {
    CURLcode cc;
    bool too_big;
    bool connected;         /* the TCP connection was made: the request may have arrived */
    bool by_deadline;       /* the timeout was cut to the job's remaining time */
    bool sent_then_stopped; /* stopped after the request had gone out and the grace ran out */
    int timeout_ms;         /* the timeout it ran with */
    char errbuf[CURL_ERROR_SIZE];
};

void rf_bind_job(struct ul_bmc_session *bs, int64_t deadline_ms, bool (*stop)(void *arg), void *arg)
{
    struct rf_session *s = rf_session_of(bs);
    s->deadline_ms = deadline_ms;
    s->stop = stop;
    s->stop_arg = arg;
}

bool rf_should_stop(struct rf_session *s)
{
    return s->stop && s->stop(s->stop_arg);
}

/* What the progress callback knows about the transfer under way. */
struct watch {
    struct rf_session *s;
    CURL *c;
    bool changes;       /* the request changes the BMC (not a GET) */
    int64_t grace_from; /* stop seen after the request went out: waiting since */
    bool stopped;       /* we aborted the transfer */
};

/* The whole request (headers and body) has been handed to the connection:
 * from here on the BMC may act on it even if we hang up. */
static bool request_sent(CURL *c, curl_off_t ultotal, curl_off_t ulnow)
{
    curl_off_t pre = 0;
    if (curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME_T, &pre) != CURLE_OK || pre <= 0)
        return false;
    return ultotal <= 0 || ulnow >= ultotal;
}

/* curl's progress callback: a non-zero return aborts the transfer.  curl
 * calls it on every turn of run_transfer (every RF_WATCH_MS at the latest)
 * and as data moves, so a stop is seen within about 0.1 s. */
static int on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow;
    struct watch *w = arg;
    struct rf_session *s = w->s;
    int64_t now = ul_mono_ms();
    if (w->grace_from) {
        if (now - w->grace_from < RF_SENT_GRACE_MS)
            return 0;
        w->stopped = true;
        return 1;
    }
    /* Asking the job engine (a lock) ten times a second is plenty. */
    if (now - s->stop_checked_ms < RF_WATCH_MS)
        return 0;
    s->stop_checked_ms = now;
    if (!rf_should_stop(s))
        return 0;
    if (w->changes && request_sent(w->c, ultotal, ulnow)) {
        /* The BMC has the request and may be acting on it (a login making
         * a session, a reset): wait a little for its answer, so that we
         * know what happened and hold the session's token, rather than
         * hang up on it. */
        w->grace_from = now;
        return 0;
    }
    w->stopped = true;
    return 1;
}

/* Run the transfer set up on s->curl to its end.  Through the session's
 * multi handle rather than curl_easy_perform, which waits up to a second
 * between two looks at a silent connection: here curl is asked every
 * RF_WATCH_MS, so the progress callback (on_progress) sees a stop within
 * that.  The multi handle holds the session's connection between requests. */
static CURLcode run_transfer(struct rf_session *s)
{
    CURLcode cc = CURLE_FAILED_INIT; /* unless curl reports the transfer done */
    if (curl_multi_add_handle(s->multi, s->curl) != CURLM_OK)
        return cc;
    for (bool done = false; !done;) {
        int running = 0, queued;
        if (curl_multi_perform(s->multi, &running) != CURLM_OK)
            break;
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(s->multi, &queued))) {
            if (msg->msg == CURLMSG_DONE && msg->easy_handle == s->curl) {
                cc = msg->data.result;
                done = true;
            }
        }
        if (done || !running)
            break;
        if (curl_multi_poll(s->multi, NULL, 0, RF_WATCH_MS, NULL) != CURLM_OK)
            break;
    }
    curl_multi_remove_handle(s->multi, s->curl);
    return cc;
}

static void perform_once(struct rf_session *s, const char *method, const char *path,
                         const char *body, curl_mime *mime, const char *if_match, bool auth,
                         int timeout_ms, struct rf_reply *r, struct attempt *a)
{
    CURL *c = s->curl;
    struct xfer x = {.r = r};
    struct curl_slist *h = NULL;
    char *url = xasprintf("%s%s", s->base_url, path);
    struct watch w = {.s = s, .c = c, .changes = mime || strcmp(method, "GET") != 0};
    rf_reply_free(r);
    memset(a, 0, sizeof(*a));
    curl_easy_reset(c); /* keeps the connection cache: only options go */
    if (s->deadline_ms) {
        /* No call outlives the job (an image push may otherwise run an hour). */
        int64_t left = s->deadline_ms - ul_mono_ms();
        if (left < timeout_ms) {
            timeout_ms = left > 200 ? (int)left : 200;
            a->by_deadline = true;
        }
    }
    a->timeout_ms = timeout_ms;
    /* Every request answers to the job, the first GET and the login too
     * (see on_progress for what is waited for once sent). */
    if (s->stop) {
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    }

    h = add_header(h, "Accept: application/json");
    h = add_header(h, "OData-Version: 4.0");
    h = add_header(h, "Expect:"); /* no 100-continue round trip for small bodies */
    if (body)
        h = add_header(h, "Content-Type: application/json; charset=utf-8");
    if (if_match && *if_match) {
        char *line = xasprintf("If-Match: %s", if_match);
        h = add_header(h, line);
        free(line);
    }
    if (auth && s->token) {
        char *line = xasprintf("X-Auth-Token: %s", s->token);
        h = add_header(h, line);
        rf_wipe(line, strlen(line));
        free(line);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(c, CURLOPT_USERAGENT, "underlay/" PACKAGE_VERSION);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, a->errbuf);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout_ms < 10000 ? timeout_ms : 10000));
    /* Redirects are not followed: a redirect to another host would carry
     * the session token there (curl strips only Authorization). */
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    if (s->opt.insecure) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (s->opt.ca_file) {
        curl_easy_setopt(c, CURLOPT_CAINFO, s->opt.ca_file);
    }
    if (auth && s->basic && s->username) {
        curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        curl_easy_setopt(c, CURLOPT_USERNAME, s->username);
        curl_easy_setopt(c, CURLOPT_PASSWORD, s->password ? s->password : "");
    }
    if (mime) {
        /* multipart/form-data: curl sets the Content-Type with its boundary
         * and streams file parts from disk. */
        curl_easy_setopt(c, CURLOPT_MIMEPOST, mime);
    } else if (strcmp(method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)(body ? strlen(body) : 0));
    } else {
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
        if (body) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
        }
    }
    a->cc = run_transfer(s);
    a->too_big = x.too_big;
    a->sent_then_stopped = w.stopped && w.grace_from != 0;
    s->unanswered = a->cc != CURLE_OK;
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    r->status = a->cc == CURLE_OK ? status : 0;
    curl_off_t connect_us = 0;
    if (curl_easy_getinfo(c, CURLINFO_CONNECT_TIME_T, &connect_us) == CURLE_OK)
        a->connected = connect_us > 0;
    /* The handle must not keep pointers into our stack or freed memory. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    if (mime)
        curl_easy_setopt(c, CURLOPT_MIMEPOST, NULL);
    curl_easy_setopt(c, CURLOPT_PASSWORD, "");
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, NULL);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 1L);
    free_headers(h);
    free(url);
}

/* ---- error mapping ---- */

static bool status_transient(long st)
{
    return st == 500 || st == 502 || st == 503 || st == 504;
}

static bool curl_transient(CURLcode cc)
{
    switch (cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return true;
    default:
        return false;
    }
}

static ul_err curl_error(struct rf_session *s, const char *method, const char *path,
                         const struct attempt *a, int timeout_ms, ul_errmsg *em)
{
    const char *detail = a->errbuf[0] ? a->errbuf : curl_easy_strerror(a->cc);
    switch (a->cc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return ul_errmsg_set(em, UL_ERR_UNREACHABLE, "node %s: %s %s: cannot connect: %s", s->node,
                             method, path, detail);
    case CURLE_OPERATION_TIMEDOUT:
        if (a->by_deadline)
            return ul_errmsg_set(em, UL_ERR_TIMEOUT,
                                 "node %s: %s %s: no reply within %d ms, the time the job had "
                                 "left before its timeout",
                                 s->node, method, path, timeout_ms);
        if (!a->connected)
            return ul_errmsg_set(em, UL_ERR_UNREACHABLE,
                                 "node %s: %s %s: no connection within %d ms", s->node, method,
                                 path, timeout_ms < 10000 ? timeout_ms : 10000);
        return ul_errmsg_set(em, UL_ERR_TIMEOUT, "node %s: %s %s: no reply within %d ms", s->node,
                             method, path, timeout_ms);
    case CURLE_GOT_NOTHING:
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_PARTIAL_FILE:
        return ul_errmsg_set(em, UL_ERR_UNREACHABLE, "node %s: %s %s: connection dropped: %s",
                             s->node, method, path, detail);
    case CURLE_PEER_FAILED_VERIFICATION:
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: %s %s: TLS certificate verification failed (set ca_file "
                             "or insecure): %s",
                             s->node, method, path, detail);
    case CURLE_SSL_CACERT_BADFILE:
        return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: option 'ca_file': cannot load '%s': %s",
                             s->node, s->opt.ca_file ? s->opt.ca_file : "", detail);
    case CURLE_SSL_CONNECT_ERROR:
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: %s %s: TLS handshake failed (is the BMC speaking plain "
                             "HTTP? then use http://host:port): %s",
                             s->node, method, path, detail);
    case CURLE_ABORTED_BY_CALLBACK:
        if (a->sent_then_stopped)
            return ul_errmsg_set(em, UL_ERR_INTERRUPTED,
                                 "node %s: %s %s: stopped (job canceled or daemon stopping) "
                                 "after the request was sent; no reply within %d ms, so whether "
                                 "the BMC acted on it is unknown",
                                 s->node, method, path, RF_SENT_GRACE_MS);
        return ul_errmsg_set(em, UL_ERR_INTERRUPTED,
                             "node %s: %s %s: stopped: the job was canceled or the daemon is "
                             "stopping",
                             s->node, method, path);
    case CURLE_WRITE_ERROR:
        if (a->too_big)
            return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                 "node %s: %s %s: reply larger than %u MiB, refused", s->node,
                                 method, path, RF_MAX_BODY / (1024 * 1024));
        break;
    default:
        break;
    }
    return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: %s %s: %s", s->node, method, path, detail);
}

/* The service's own words from a Redfish error body, printable, or "". */
static void service_message(const char *body, char *out, size_t outlen, char *id, size_t idlen)
{
    json_object *o = NULL;
    ul_errmsg em;
    out[0] = '\0';
    if (id)
        id[0] = '\0';
    if (!body || jv_parse(body, strlen(body), RF_MAX_DEPTH, &o, &em) != UL_OK)
        return;
    json_object *err = rf_prop(o, "error");
    json_object *info = rf_prop(err ? err : o, "@Message.ExtendedInfo");
    json_object *first =
        json_object_is_type(info, json_type_array) && json_object_array_length(info) > 0
            ? json_object_array_get_idx(info, 0)
            : NULL;
    const char *msg = first ? rf_prop_str(first, "Message") : NULL;
    const char *mid = first ? rf_prop_str(first, "MessageId") : NULL;
    if (!msg && err)
        msg = rf_prop_str(err, "message");
    if (!mid && err)
        mid = rf_prop_str(err, "code");
    if (msg)
        rf_copy_text(out, outlen, msg);
    if (id && mid)
        rf_copy_text(id, idlen, mid);
    json_object_put(o);
}

static bool id_has(const char *id, const char *word)
{
    return id && strcasestr(id, word) != NULL;
}

ul_err rf_status_code(long st, const char *body)
{
    char msg[8], id[128];
    if (st >= 200 && st < 300)
        return UL_OK;
    service_message(body, msg, sizeof(msg), id, sizeof(id));
    if (id_has(id, "SessionLimitExceeded") || id_has(id, "ServiceTemporarilyUnavailable"))
        return UL_ERR_BUSY;
    switch (st) {
    case 400:
        if (id_has(id, "NotSupported") || id_has(id, "ValueNotInList") ||
            id_has(id, "NotWritable") || id_has(id, "PropertyUnknown"))
            return UL_ERR_UNSUPPORTED;
        return UL_ERR_PROTOCOL;
    case 401:
    case 403:
        return UL_ERR_AUTH;
    case 404:
    case 405:
    case 501:
        return UL_ERR_UNSUPPORTED;
    case 409:
    case 412:
    case 429:
    case 503:
        return UL_ERR_BUSY;
    case 502:
        return UL_ERR_UNREACHABLE;
    case 504:
        return UL_ERR_TIMEOUT;
    default:
        return UL_ERR_PROTOCOL;
    }
}

ul_err rf_status_error(struct rf_session *s, const char *method, const char *path,
                       const struct rf_reply *r, ul_errmsg *em)
{
    char msg[200], id[128];
    service_message(r->body, msg, sizeof(msg), id, sizeof(id));
    ul_err code = rf_status_code(r->status, r->body);
    const char *what;
    switch (code) {
    case UL_ERR_AUTH:
        what = r->status == 403 ? "forbidden: the account lacks the privilege"
                                : "authentication refused";
        break;
    case UL_ERR_UNSUPPORTED:
        what = "not supported by this BMC";
        break;
    case UL_ERR_BUSY:
        what = id_has(id, "SessionLimitExceeded") ? "BMC busy: session limit reached"
               : r->status == 412                 ? "resource changed under us"
                                                  : "BMC busy";
        break;
    case UL_ERR_TIMEOUT:
        what = "BMC gateway timed out";
        break;
    case UL_ERR_UNREACHABLE:
        what = "BMC gateway failed";
        break;
    default:
        what =
            r->status >= 300 && r->status < 400 ? "redirected, not followed" : "unexpected reply";
        break;
    }
    return ul_errmsg_set(em, code, "node %s: %s %s: %s (HTTP %ld%s%s)", s->node, method, path, what,
                         r->status, msg[0] ? ": " : "", msg);
}

/* ---- requests with retries and re-login ---- */

/* Sleep before a retry; false when the job must stop first (the sleep
 * answers to cancel and shutdown, and never runs past the deadline). */
static bool backoff(struct rf_session *s, int attempt, int retry_after_s, int timeout_ms)
{
    int64_t ms = (int64_t)RF_BACKOFF_MS << attempt;
    if (ms > RF_BACKOFF_MAX_MS)
        ms = RF_BACKOFF_MAX_MS;
    /* Honour a 503's Retry-After, within reason: the job has a deadline,
     * and iDRAC-style services say 5 s when one is often enough. */
    if (retry_after_s > 0) {
        int64_t cap = timeout_ms / 2 < RF_BACKOFF_MAX_MS ? timeout_ms / 2 : RF_BACKOFF_MAX_MS;
        ms = (int64_t)retry_after_s * 1000 < cap ? (int64_t)retry_after_s * 1000 : cap;
    }
    ul_debug("node %s: retrying in %lld ms", s->node, (long long)ms);
    int64_t end = ul_mono_ms() + ms;
    if (s->deadline_ms && end > s->deadline_ms)
        end = s->deadline_ms;
    for (;;) {
        if (rf_should_stop(s))
            return false;
        int64_t left = end - ul_mono_ms();
        if (left <= 0)
            return true;
        ul_sleep_ms(left < 50 ? left : 50);
    }
}

/* Before each attempt: the job may have been stopped since the last one.
 * Nothing is sent then.  (A job out of time still gets its request, with the
 * 200 ms floor of perform_once: a last read says where the BMC stands, "soft
 * off accepted but the host still reads on"; retries stop at the deadline.) */
static ul_err may_send(struct rf_session *s, const char *method, const char *path,
                       ul_errmsg *em)
{
    if (rf_should_stop(s))
        return ul_errmsg_set(em, UL_ERR_INTERRUPTED,
                             "node %s: %s %s: not sent: the job was canceled or the daemon is "
                             "stopping",
                             s->node, method, path);
    return UL_OK;
}

/* The bound job has no time left: no more retries. */
static bool out_of_time(const struct rf_session *s)
{
    return s->deadline_ms && ul_mono_ms() >= s->deadline_ms;
}

static ul_err request_ex(struct rf_session *s, const char *method, const char *path,
                         const char *body, curl_mime *mime, int timeout_ms, const char *if_match,
                         bool auth, bool relogin, struct rf_reply *r, ul_errmsg *em)
{
    bool post = strcmp(method, "POST") == 0;
    bool relogged = false;
    if (timeout_ms <= 0)
        timeout_ms = s->opt.timeout_ms ? s->opt.timeout_ms : s->timeout_ms;
    struct attempt a;
    for (int attempt = 0;;) {
        ul_err rc = may_send(s, method, path, em);
        if (rc != UL_OK) {
            rf_reply_free(r);
            return rc;
        }
        perform_once(s, method, path, body, mime, if_match, auth, timeout_ms, r, &a);
        if (a.cc == CURLE_OK) {
            if (r->status == 401 && auth && relogin && !s->basic && !relogged && s->sessions_path) {
                /* The BMC forgot our session (idle expiry, BMC reboot):
                 * log in once more and repeat the request.  Also when an
                 * earlier login failed and left us without a token: the
                 * BMC may take logins again by now. */
                relogged = true;
                ul_debug("node %s: %s %s: session expired; logging in again", s->node, method,
                         path);
                free_secret(&s->token);
                free(s->session_path);
                s->session_path = NULL;
                rc = rf_login(s, em);
                if (rc != UL_OK) {
                    rf_reply_free(r);
                    return rc;
                }
                continue;
            }
            if (status_transient(r->status) && attempt < s->opt.retries &&
                (!post || r->status == 503) && !out_of_time(s)) {
                ul_debug("node %s: %s %s: HTTP %ld", s->node, method, path, r->status);
                if (!backoff(s, attempt, r->retry_after_s, timeout_ms))
                    continue; /* may_send says why */
                attempt++;
                continue;
            }
            return UL_OK;
        }
        bool not_sent = a.cc == CURLE_COULDNT_CONNECT || a.cc == CURLE_COULDNT_RESOLVE_HOST ||
                        (a.cc == CURLE_OPERATION_TIMEDOUT && !a.connected);
        /* A timeout cut to the job's deadline is the job's timeout: no retry. */
        bool job_out = (a.cc == CURLE_OPERATION_TIMEDOUT && a.by_deadline) || out_of_time(s);
        if (curl_transient(a.cc) && !a.too_big && !job_out && attempt < s->opt.retries &&
            (!post || not_sent)) {
            ul_debug("node %s: %s %s: %s", s->node, method, path,
                     a.errbuf[0] ? a.errbuf : curl_easy_strerror(a.cc));
            if (!backoff(s, attempt, 0, timeout_ms))
                continue; /* may_send says why */
            attempt++;
            continue;
        }
        if (a.sent_then_stopped && !auth)
            ul_warn("node %s: login stopped after it was sent and not answered within %d ms: "
                    "the BMC may keep a session we hold no token for until its own "
                    "SessionTimeout",
                    s->node, RF_SENT_GRACE_MS);
        rc = curl_error(s, method, path, &a, a.timeout_ms, em);
        rf_reply_free(r);
        return rc;
    }
}

ul_err rf_request(struct rf_session *s, const char *method, const char *path, const char *body,
                  const char *if_match, struct rf_reply *r, ul_errmsg *em)
{
    return request_ex(s, method, path, body, NULL, 0, if_match, true, true, r, em);
}

ul_err rf_request_mime(struct rf_session *s, const char *path, curl_mime *mime, int timeout_ms,
                       struct rf_reply *r, ul_errmsg *em)
{
    return request_ex(s, "POST", path, NULL, mime, timeout_ms, NULL, true, true, r, em);
}

void rf_service_messages(const char *body, char *out, size_t outlen)
{
    json_object *o = NULL;
    ul_errmsg em;
    out[0] = '\0';
    if (!body || jv_parse(body, strlen(body), RF_MAX_DEPTH, &o, &em) != UL_OK)
        return;
    json_object *err = rf_prop(o, "error");
    json_object *info = rf_prop(err ? err : o, "@Message.ExtendedInfo");
    size_t used = 0;
    size_t n = json_object_is_type(info, json_type_array) ? json_object_array_length(info) : 0;
    for (size_t i = 0; i < n && used + 4 < outlen; i++) {
        const char *msg = rf_prop_str(json_object_array_get_idx(info, i), "Message");
        if (!msg)
            continue;
        char one[300];
        rf_copy_text(one, sizeof(one), msg);
        int w = snprintf(out + used, outlen - used, "%s%s", used ? "; " : "", one);
        if (w < 0 || (size_t)w >= outlen - used)
            break;
        used += (size_t)w;
    }
    if (!used && err && rf_prop_str(err, "message"))
        rf_copy_text(out, outlen, rf_prop_str(err, "message"));
    json_object_put(o);
}

ul_err rf_parse(struct rf_session *s, const char *method, const char *path, const char *body,
                size_t len, json_object **out, ul_errmsg *em)
{
    ul_errmsg jem;
    *out = NULL;
    if (!body || len == 0)
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: %s %s: empty reply, expected JSON",
                             s->node, method, path);
    json_object *o = NULL;
    if (jv_parse(body, len, RF_MAX_DEPTH, &o, &jem) != UL_OK)
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: %s %s: %s", s->node, method, path,
                             jem.text);
    if (!json_object_is_type(o, json_type_object)) {
        json_object_put(o);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: %s %s: reply is not a JSON object",
                             s->node, method, path);
    }
    *out = o;
    return UL_OK;
}

ul_err rf_get(struct rf_session *s, const char *path, json_object **out, char *etag,
              ul_errmsg *em)
{
    struct rf_reply r = {0};
    *out = NULL;
    if (etag)
        etag[0] = '\0';
    ul_err rc = rf_request(s, "GET", path, NULL, NULL, &r, em);
    if (rc != UL_OK)
        return rc;
    if (r.status < 200 || r.status >= 300) {
        rc = rf_status_error(s, "GET", path, &r, em);
        goto out;
    }
    rc = rf_parse(s, "GET", path, r.body, r.len, out, em);
    if (rc == UL_OK && etag) {
        const char *e = r.etag[0] ? r.etag : rf_prop_str(*out, "@odata.etag");
        if (e && strlen(e) < sizeof(r.etag))
            snprintf(etag, sizeof(r.etag), "%s", e);
    }
out:
    rf_reply_free(&r);
    return rc;
}

ul_err rf_send(struct rf_session *s, const char *method, const char *path, const char *body,
               const char *if_match, struct rf_reply *r, ul_errmsg *em)
{
    ul_err rc = rf_request(s, method, path, body, if_match, r, em);
    if (rc != UL_OK)
        return rc;
    if (r->status < 200 || r->status >= 300)
        return rf_status_error(s, method, path, r, em);
    return UL_OK;
}

/* ---- sessions ---- */

/* Nodes already told about a token-less login (ul_hash_str of the name):
 * the session cache opens a new session after each idle spell, and one
 * warning per node and daemon run is what an operator needs.  Leaf lock. */
#define RF_FALLBACK_SEEN_MAX 1024
static pthread_mutex_t fallback_lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t fallback_seen[RF_FALLBACK_SEEN_MAX];
static size_t fallback_nseen;

static bool fallback_first_time(const char *node)
{
    uint64_t h = ul_hash_str(node);
    bool first = true;
    pthread_mutex_lock(&fallback_lock);
    for (size_t i = 0; i < fallback_nseen && first; i++)
        first = fallback_seen[i] != h;
    if (first && fallback_nseen < RF_FALLBACK_SEEN_MAX)
        fallback_seen[fallback_nseen++] = h;
    pthread_mutex_unlock(&fallback_lock);
    return first;
}

/* The login was accepted but no X-Auth-Token came back (seen on BMCs whose
 * SessionService is a stub, and in the emulator's --login-no-token): a
 * session we cannot use.  Fall back to basic authentication for the rest
 * of the session and record it (s->auth_fallback: the inventory and a
 * discovery job report it); the Session the BMC made is deleted with the
 * basic credentials when it said where, so it does not hold one of the
 * BMC's few session slots until it expires. */
static void token_less_login(struct rf_session *s, const struct rf_reply *r)
{
    s->basic = true;
    s->auth_fallback = true;
    if (fallback_first_time(s->node))
        ul_warn("node %s: POST %s: login accepted but the reply carries no X-Auth-Token; using "
                "basic authentication instead (option auth: basic skips the login)",
                s->node, s->sessions_path);
    else
        ul_debug("node %s: login without X-Auth-Token again; basic authentication", s->node);
    char path[RF_PATH_MAX];
    if (r->location[0] && rf_link_resolve(s->sessions_path, r->location, path, sizeof(path))) {
        struct rf_reply d = {0};
        struct attempt a;
        perform_once(s, "DELETE", path, NULL, NULL, NULL, true, RF_LOGOUT_TIMEOUT_MS, &d, &a);
        if (a.cc != CURLE_OK || d.status >= 300)
            ul_debug("node %s: DELETE %s (the token-less session): %s", s->node, path,
                     a.cc != CURLE_OK ? curl_easy_strerror(a.cc) : "refused");
        rf_reply_free(&d);
    }
}

ul_err rf_login(struct rf_session *s, ul_errmsg *em)
{
    if (!s->username || !*s->username) {
        /* No credentials: an open emulator.  Requests go unauthenticated. */
        s->basic = false;
        return UL_OK;
    }
    if (s->opt.auth == RF_AUTH_BASIC || !s->sessions_path) {
        s->basic = true;
        return UL_OK;
    }
    size_t cap = strlen(s->username) * 6 + (s->password ? strlen(s->password) * 6 : 0) + 64;
    char *body = xmalloc(cap);
    size_t used = 0;
    memcpy(body, "{\"UserName\":", 12);
    used = 12;
    rf_json_quote(body, cap, &used, s->username);
    memcpy(body + used, ",\"Password\":", 12);
    used += 12;
    rf_json_quote(body, cap, &used, s->password ? s->password : "");
    body[used++] = '}';
    body[used] = '\0';
    struct rf_reply r = {0};
    ul_err rc = request_ex(s, "POST", s->sessions_path, body, NULL, 0, NULL, false, false, &r, em);
    rf_wipe(body, cap);
    free(body);
    if (rc != UL_OK) {
        ul_errmsg_prefix(em, "logging in");
        goto out;
    }
    if (r.status >= 200 && r.status < 300) {
        if (!r.token) {
            token_less_login(s, &r);
            goto out;
        }
        free_secret(&s->token);
        s->token = r.token;
        r.token = NULL;
        s->basic = false;
        /* Logout needs our Session's path: Location, else the body's id. */
        char path[RF_PATH_MAX] = "";
        const char *loc = r.location[0] ? r.location : NULL;
        json_object *o = NULL;
        ul_errmsg jem;
        if (!loc && r.body && jv_parse(r.body, r.len, RF_MAX_DEPTH, &o, &jem) == UL_OK)
            loc = rf_prop_str(o, "@odata.id");
        if (loc && rf_link_resolve(s->sessions_path, loc, path, sizeof(path))) {
            free(s->session_path);
            s->session_path = xstrdup(path);
        }
        json_object_put(o);
        ul_debug("node %s: logged in (session %s)", s->node,
                 s->session_path ? s->session_path : "without a path");
        goto out;
    }
    if (r.status == 404 || r.status == 405 || r.status == 501) {
        /* Some BMCs list a SessionService but do not take logins there. */
        ul_info("node %s: POST %s: HTTP %ld; using basic authentication", s->node, s->sessions_path,
                r.status);
        s->basic = true;
        goto out;
    }
    rc = rf_status_error(s, "POST", s->sessions_path, &r, em);
    if (rc == UL_ERR_AUTH) {
        char msg[200];
        service_message(r.body, msg, sizeof(msg), NULL, 0);
        rc = ul_errmsg_set(em, UL_ERR_AUTH,
                           "node %s: login as '%.64s' refused (HTTP %ld): wrong username or "
                           "password%s%s",
                           s->node, s->username, r.status, msg[0] ? ": " : "", msg);
    }
out:
    rf_reply_free(&r);
    return rc;
}

void rf_logout(struct rf_session *s)
{
    if (s->token && s->session_path && s->curl) {
        struct rf_reply r = {0};
        struct attempt a;
        /* Short and without retries: a BMC that went away must not hold up
         * the session cache, and the session expires on its own anyway. */
        perform_once(s, "DELETE", s->session_path, NULL, NULL, NULL, true,
                     s->unanswered ? RF_LOGOUT_SILENT_MS : RF_LOGOUT_TIMEOUT_MS, &r, &a);
        if (a.cc != CURLE_OK || r.status >= 300)
            ul_debug("node %s: logout: %s", s->node,
                     a.cc != CURLE_OK ? curl_easy_strerror(a.cc) : "refused");
        rf_reply_free(&r);
    }
    free_secret(&s->token);
    free(s->session_path);
    s->session_path = NULL;
}
