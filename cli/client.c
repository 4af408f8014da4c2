#include "config.h"

#include "client.h"

#include <curl/curl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <errno.h>
#include <sys/stat.h>

#include "jsonv.h"
#include "suggest.h"
#include "xalloc.h"

#define CL_CONNECT_TIMEOUT_S 5L
#define CL_TOTAL_TIMEOUT_S 60L
/* A page of 1000 nodes with labels and options is well under 2 MB; a reply
 * past 64 MiB is not one we asked for, and buffering it whole would let a
 * broken or hostile server eat the operator's memory. */
#define CL_MAX_BODY ((size_t)64 * 1024 * 1024)
#define CL_PAGE_MAX 1000 /* the API's largest page */

struct cl_client {
    CURL *curl;
    char *base_url;     /* owned; no trailing slash */
    char *auth_header;  /* owned, secret; NULL without a token */
    char *token_source; /* owned; where the token came from, for messages */
    char **node_names;  /* owned: every node's name, read on the first 404
                         * about a node, for "did you mean" */
    size_t nnode_names;
    bool names_read; /* node_names was fetched (or that failed) */
    char errbuf[CURL_ERROR_SIZE];
};

struct body_buf {
    char *data; /* owned; NUL-terminated when non-NULL */
    size_t len, cap;
    bool too_big;
};

const char *cl_base_url(const struct cl_client *c)
{
    return c->base_url;
}

const char *cl_auth_header(const struct cl_client *c)
{
    return c->auth_header;
}

int cl_global_init(void)
{
    CURLcode cc =
        curl_global_init_mem(CURL_GLOBAL_DEFAULT, xmalloc, free, xrealloc, xstrdup, xcalloc);
    return cc == CURLE_OK ? 0 : -1;
}

void cl_global_cleanup(void)
{
    curl_global_cleanup();
}

static ul_err check_url(const char *url, ul_errmsg *em)
{
    const char *auth;
    if (strncasecmp(url, "http://", 7) == 0)
        auth = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        auth = url + 8;
    else
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "server URL '%.200s' must start with http:// or https://", url);
    size_t auth_len = strcspn(auth, "/");
    if (auth_len == 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "server URL '%.200s' has no host", url);
    /* Not echoed: what precedes '@' may be a password. */
    if (memchr(auth, '@', auth_len))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "credentials in the server URL are not supported; use a token");
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '?' || *p == '#')
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "server URL '%.200s' may not contain spaces, control "
                                 "characters, '?' or '#'",
                                 url);
    return UL_OK;
}

struct cl_client *cl_new(const char *base_url, const char *token, ul_errmsg *em)
{
    if (check_url(base_url, em) != UL_OK)
        return NULL;
    if (token) {
        /* RFC 6750 tokens are printable ASCII; anything else would corrupt
         * the header (CR/LF would even inject new ones).  Never echoed. */
        for (const char *p = token; *p; p++)
            if (*p < 0x21 || *p > 0x7e) {
                ul_errmsg_set(em, UL_ERR_INVALID,
                              "the API token contains characters not allowed in an HTTP "
                              "header (spaces or control characters)");
                return NULL;
            }
    }
    CURL *curl = curl_easy_init();
    if (!curl) {
        ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot initialise libcurl");
        return NULL;
    }
    struct cl_client *c = xcalloc(1, sizeof(*c));
    c->curl = curl;
    c->base_url = xstrdup(base_url);
    size_t n = strlen(c->base_url);
    while (n > 0 && c->base_url[n - 1] == '/')
        c->base_url[--n] = '\0';
    if (token)
        c->auth_header = xasprintf("Authorization: Bearer %s", token);
    return c;
}

void cl_free(struct cl_client *c)
{
    if (!c)
        return;
    curl_easy_cleanup(c->curl);
    free(c->base_url);
    free(c->token_source);
    for (size_t i = 0; i < c->nnode_names; i++)
        free(c->node_names[i]);
    free(c->node_names);
    if (c->auth_header) {
        explicit_bzero(c->auth_header, strlen(c->auth_header));
        free(c->auth_header);
    }
    free(c);
}

void cl_set_token_source(struct cl_client *c, const char *source)
{
    free(c->token_source);
    c->token_source = source ? xstrdup(source) : NULL;
}

void cl_reply_clear(struct cl_reply *reply)
{
    json_object_put(reply->body);
    memset(reply, 0, sizeof(*reply));
}

char *cl_escape(struct cl_client *c, const char *s)
{
    char *e = curl_easy_escape(c->curl, s, 0);
    /* With xalloc installed by cl_global_init, NULL means input over libcurl's
     * 8 MB limit, which the header rules out: a broken invariant, not an
     * operator error. */
    if (!e) {
        fputs("underlay: internal error: cannot escape an over-long string\n", stderr);
        abort();
    }
    char *copy = xstrdup(e);
    curl_free(e);
    return copy;
}

void cl_query_add(struct cl_client *c, char **path, const char *key, const char *value)
{
    char *esc = cl_escape(c, value);
    char *p = xasprintf("%s%c%s=%s", *path, strchr(*path, '?') ? '&' : '?', key, esc);
    free(esc);
    free(*path);
    *path = p;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
    struct body_buf *b = userdata;
    size_t n = size * nmemb;
    if (n > CL_MAX_BODY - b->len) {
        b->too_big = true;
        return 0; /* makes libcurl stop with CURLE_WRITE_ERROR */
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 16384;
        while (cap < b->len + n + 1)
            cap *= 2;
        b->data = xrealloc(b->data, cap);
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Set reply's error code and message.  Long messages are cut: they are for
 * a human, and the API's own messages are bounded well below this. */
static void reply_set(struct cl_reply *reply, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reply_set(struct cl_reply *reply, const char *code, const char *fmt, ...)
{
    va_list ap;
    snprintf(reply->code, sizeof(reply->code), "%.63s", code);
    va_start(ap, fmt);
    vsnprintf(reply->message, sizeof(reply->message), fmt, ap);
    va_end(ap);
}

static bool add_header(struct curl_slist **list, const char *h)
{
    struct curl_slist *n = curl_slist_append(*list, h);
    if (!n)
        return false;
    *list = n;
    return true;
}

static void transport_error(struct cl_client *c, CURLcode cc, const struct body_buf *buf,
                            const char *method, const char *path, struct cl_reply *reply)
{
    const char *detail = c->errbuf[0] ? c->errbuf : curl_easy_strerror(cc);
    if (buf->too_big)
        reply_set(reply, "connection_error", "%s %s%s: reply larger than 64 MiB, refused", method,
                  c->base_url, path);
    else if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
        reply_set(reply, "connection_error", "cannot connect to underlayd at %s: %s", c->base_url,
                  detail);
    else if (cc == CURLE_OPERATION_TIMEDOUT)
        reply_set(reply, "connection_error", "%s %s%s: no reply in time: %s", method, c->base_url,
                  path, detail);
    else
        reply_set(reply, "connection_error", "%s %s%s: %s", method, c->base_url, path, detail);
}

/* Fill reply->code and message from an error reply, which the API shapes as
 * {"error":{"code":...,"message":...}}; anything else (a proxy's HTML page,
 * another service on the port) is described by its status. */
static void api_error(struct cl_client *c, struct cl_reply *reply)
{
    json_object *err = NULL;
    const char *code = NULL, *msg = NULL;
    if (reply->body && json_object_object_get_ex(reply->body, "error", &err) &&
        json_object_is_type(err, json_type_object)) {
        code = jv_str(err, "code");
        msg = jv_str(err, "message");
    }
    /* A refused token is the operator's to fix: say which token it was
     * (flag, variable, file) and which server refused it, since a token
     * valid on one underlayd means nothing to another. */
    char hint[768] = "";
    const char *src = c->token_source ? c->token_source : "an unnamed source";
    if (reply->http_status == 401 && !c->auth_header) {
        /* The server's words are about an HTTP header; the operator's fix
         * is a CLI setting. */
        reply_set(reply, code ? code : "unauthorized",
                  "no API token was sent to %s (%s): give --token-file FILE, or set "
                  "UNDERLAY_TOKEN_FILE, or token_file in the config file",
                  c->base_url, c->token_source ? c->token_source : "none configured");
        return;
    }
    if (reply->http_status == 401)
        snprintf(hint, sizeof(hint), " (the token from %s, refused by %s)", src, c->base_url);
    else if (reply->http_status == 403 && c->auth_header)
        snprintf(hint, sizeof(hint), " (the token from %s, on %s)", src, c->base_url);
    if (code && msg)
        reply_set(reply, code, "%s%s", msg, hint);
    else
        reply_set(reply, "http_error", "HTTP %ld without an API error (is %s an underlayd?)%s",
                  reply->http_status, c->base_url, hint);
}

/* Send the request and collect the reply's body into *buf (caller frees
 * buf->data whatever the outcome).  Returns CL_TRANSPORT_ERROR with reply's
 * code and message set when no reply arrived, else CL_OK with
 * reply->http_status set, whatever the status. */
/* A request body read from a file (a firmware image), streamed. */
struct cl_upload {
    FILE *f;
    curl_off_t size;
};

static size_t on_read(char *dst, size_t size, size_t nmemb, void *arg)
{
    struct cl_upload *up = arg;
    size_t n = fread(dst, size, nmemb, up->f);
    return ferror(up->f) ? CURL_READFUNC_ABORT : n * size;
}

static enum cl_status perform(struct cl_client *c, const char *method, const char *path,
                              json_object *body, struct cl_upload *up, const char *accept,
                              struct body_buf *buf, struct cl_reply *reply)
{
    struct curl_slist *headers = NULL;
    char *url = xasprintf("%s%s", c->base_url, path);
    char *accept_header = xasprintf("Accept: %s", accept);
    enum cl_status st = CL_TRANSPORT_ERROR;

    memset(reply, 0, sizeof(*reply));
    /* Reset drops the previous request's options but keeps the connection
     * cache, so keep-alive survives. */
    curl_easy_reset(c->curl);
    c->errbuf[0] = '\0';
    bool headers_ok =
        add_header(&headers, accept_header) &&
        add_header(&headers, "Expect:") && /* no 100-continue round trip */
        (!body || add_header(&headers, "Content-Type: application/json")) &&
        (!up || add_header(&headers, "Content-Type: application/octet-stream")) &&
        (!c->auth_header || strncmp(path, "/api/", 5) != 0 || add_header(&headers, c->auth_header));
    if (!headers_ok) {
        reply_set(reply, "internal", "cannot build request headers");
        goto out;
    }
    curl_easy_setopt(c->curl, CURLOPT_URL, url);
    curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(c->curl, CURLOPT_USERAGENT, "underlay/" PACKAGE_VERSION);
    curl_easy_setopt(c->curl, CURLOPT_CONNECTTIMEOUT, CL_CONNECT_TIMEOUT_S);
    curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, CL_TOTAL_TIMEOUT_S);
    curl_easy_setopt(c->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, c->errbuf);
    curl_easy_setopt(c->curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, buf);
    if (up) {
        /* No overall time limit for an image of any size; a transfer that
         * stalls below 1 KB/s for a minute is given up instead. */
        curl_easy_setopt(c->curl, CURLOPT_TIMEOUT, 0L);
        curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_LIMIT, 1024L);
        curl_easy_setopt(c->curl, CURLOPT_LOW_SPEED_TIME, 60L);
        curl_easy_setopt(c->curl, CURLOPT_POST, 1L);
        curl_easy_setopt(c->curl, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(c->curl, CURLOPT_READDATA, up);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, up->size);
    } else if (body) {
        const char *json = json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN |
                                                                    JSON_C_TO_STRING_NOSLASHESCAPE);
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(json));
        curl_easy_setopt(c->curl, CURLOPT_COPYPOSTFIELDS, json);
    } else if (strcmp(method, "POST") == 0) {
        curl_easy_setopt(c->curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        curl_easy_setopt(c->curl, CURLOPT_COPYPOSTFIELDS, "");
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "POST") != 0)
        curl_easy_setopt(c->curl, CURLOPT_CUSTOMREQUEST, method);

    CURLcode cc = curl_easy_perform(c->curl);
    if (cc != CURLE_OK) {
        transport_error(c, cc, buf, method, path, reply);
        goto out;
    }
    curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &reply->http_status);
    st = CL_OK;
out:
    /* The header list holds a copy of the token. */
    for (struct curl_slist *h = headers; h; h = h->next)
        explicit_bzero(h->data, strlen(h->data));
    curl_slist_free_all(headers);
    free(accept_header);
    free(url);
    return st;
}

static bool is_2xx(const struct cl_reply *reply)
{
    return reply->http_status >= 200 && reply->http_status < 300;
}

/* Read a performed request's JSON reply into *reply (an API error body or
 * the result) and free buf.  st is perform()'s status. */
static void suggest_nodes(struct cl_client *c, const char *path, struct cl_reply *reply);

static enum cl_status json_reply(struct cl_client *c, const char *path, enum cl_status st,
                                 struct body_buf *buf, struct cl_reply *reply)
{
    ul_errmsg em;
    if (st != CL_OK)
        goto out;
    st = is_2xx(reply) ? CL_OK : CL_API_ERROR;
    if (buf->len > 0 && jv_parse(buf->data, buf->len, 0, &reply->body, &em) != UL_OK &&
        st == CL_OK) {
        st = CL_API_ERROR;
        reply_set(reply, "bad_reply", "unreadable reply from %s: %s", c->base_url, em.text);
        goto out;
    }
    if (st == CL_API_ERROR) {
        api_error(c, reply);
        suggest_nodes(c, path, reply);
    }
out:
    free(buf->data);
    buf->data = NULL;
    return st;
}

enum cl_status cl_request(struct cl_client *c, const char *method, const char *path,
                          json_object *body, struct cl_reply *reply)
{
    struct body_buf buf = {0};

    enum cl_status st = perform(c, method, path, body, NULL, "application/json", &buf, reply);
    return json_reply(c, path, st, &buf, reply);
}

enum cl_status cl_post_file(struct cl_client *c, const char *path, const char *file,
                            struct cl_reply *reply)
{
    struct body_buf buf = {0};
    struct stat sb;
    struct cl_upload up = {.f = fopen(file, "rb")};
    if (!up.f || fstat(fileno(up.f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        memset(reply, 0, sizeof(*reply));
        reply_set(reply, "io_error", "cannot read %s: %s", file,
                  up.f ? "not a regular file" : strerror(errno));
        if (up.f)
            fclose(up.f);
        return CL_TRANSPORT_ERROR;
    }
    up.size = (curl_off_t)sb.st_size;
    enum cl_status st = perform(c, "POST", path, NULL, &up, "application/json", &buf, reply);
    fclose(up.f);
    return json_reply(c, path, st, &buf, reply);
}

enum cl_status cl_get_bytes(struct cl_client *c, const char *path, const char *accept,
                            unsigned char **data, size_t *len, struct cl_reply *reply)
{
    struct body_buf buf = {0};

    *data = NULL;
    *len = 0;
    enum cl_status st = perform(c, "GET", path, NULL, NULL, accept, &buf, reply);
    if (st != CL_OK)
        goto out;
    if (is_2xx(reply)) {
        *data = (unsigned char *)(buf.data ? buf.data : xstrdup(""));
        *len = buf.len;
        buf.data = NULL;
        goto out;
    }
    /* Errors come as the API's JSON; anything else is described by api_error
     * from the status alone. */
    ul_errmsg em;
    if (buf.len > 0 && jv_parse(buf.data, buf.len, 0, &reply->body, &em) != UL_OK)
        reply->body = NULL;
    api_error(c, reply);
    suggest_nodes(c, path, reply);
    st = CL_API_ERROR;
out:
    free(buf.data);
    return st;
}

enum cl_status cl_list(struct cl_client *c, const char *path, long long offset, long long max,
                       json_object **out, struct cl_reply *err)
{
    json_object *items = json_object_new_array();
    long long got = 0, total = 0;
    enum cl_status st = CL_OK;

    *out = NULL;
    memset(err, 0, sizeof(*err));
    for (;;) {
        long long want = CL_PAGE_MAX;
        if (max > 0 && max - got < want)
            want = max - got;
        char num[32];
        char *p = xstrdup(path);
        snprintf(num, sizeof(num), "%lld", want);
        cl_query_add(c, &p, "limit", num);
        snprintf(num, sizeof(num), "%lld", offset + got);
        cl_query_add(c, &p, "offset", num);
        struct cl_reply r;
        st = cl_request(c, "GET", p, NULL, &r);
        free(p);
        if (st != CL_OK) {
            *err = r;
            goto out;
        }
        json_object *page = NULL, *jtotal = NULL;
        if (!r.body || !json_object_object_get_ex(r.body, "items", &page) ||
            !json_object_is_type(page, json_type_array) ||
            !json_object_object_get_ex(r.body, "total", &jtotal) ||
            !json_object_is_type(jtotal, json_type_int)) {
            cl_reply_clear(&r);
            st = CL_API_ERROR;
            reply_set(err, "bad_reply", "list reply from %s lacks \"items\" or \"total\"",
                      c->base_url);
            goto out;
        }
        size_t n = json_object_array_length(page);
        for (size_t i = 0; i < n; i++)
            json_object_array_add(items, json_object_get(json_object_array_get_idx(page, i)));
        got += (long long)n;
        total = json_object_get_int64(jtotal);
        cl_reply_clear(&r);
        /* Stop on the server's count, not on a short page: the server may cap
         * pages below what we asked for.  An empty page ends the loop even if
         * nodes were deleted under us and total went stale. */
        if (n == 0 || offset + got >= total || (max > 0 && got >= max))
            break;
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "items", items);
    json_object_object_add(*out, "total", json_object_new_int64(total));
    json_object_object_add(*out, "limit", json_object_new_int64(max > 0 ? max : got));
    json_object_object_add(*out, "offset", json_object_new_int64(offset));
    items = NULL;
out:
    json_object_put(items);
    return st;
}

/* Read every node's name once per client; failures leave the list empty
 * (no suggestion is better than a second error). */
static void read_node_names(struct cl_client *c)
{
    json_object *list = NULL;
    struct cl_reply err;
    c->names_read = true;
    if (cl_list(c, "/api/v1/nodes", 0, 0, &list, &err) != CL_OK) {
        cl_reply_clear(&err);
        return;
    }
    json_object *items = json_object_object_get(list, "items");
    size_t n = json_object_array_length(items);
    c->node_names = xcalloc(n ? n : 1, sizeof(char *));
    for (size_t i = 0; i < n; i++) {
        const char *name = jv_str(json_object_array_get_idx(items, i), "name");
        if (name)
            c->node_names[c->nnode_names++] = xstrdup(name);
    }
    json_object_put(list);
}

/* On a 404 for /api/v1/nodes/NAME[/...] about a NAME that is not a node,
 * append the closest node names: "node 'rack1-n1' not found (did you mean
 * rack1-n01?)".  One list read per process, however many nodes missed. */
static void suggest_nodes(struct cl_client *c, const char *path, struct cl_reply *reply)
{
    static const char prefix[] = "/api/v1/nodes/";
    if (reply->http_status != 404 || strncmp(path, prefix, sizeof(prefix) - 1) != 0)
        return;
    const char *seg = path + sizeof(prefix) - 1;
    size_t seglen = strcspn(seg, "/?");
    if (seglen == 0)
        return;
    int outlen = 0;
    char *raw = curl_easy_unescape(c->curl, seg, (int)seglen, &outlen);
    if (!raw)
        return;
    char *name = xstrndup(raw, (size_t)outlen);
    curl_free(raw);
    /* The list is read over the same handle, into replies of its own:
     * *reply is left as the caller got it. */
    if (!c->names_read)
        read_node_names(c);
    for (size_t i = 0; i < c->nnode_names; i++)
        if (strcmp(c->node_names[i], name) == 0)
            goto out; /* the node exists: the 404 is about something else */
    size_t idx[3];
    size_t k = sg_closest(name, (const char *const *)c->node_names, c->nnode_names, idx, 3);
    if (k == 0)
        goto out;
    char list[256] = "";
    size_t used = 0;
    for (size_t i = 0; i < k && used < sizeof(list); i++)
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s",
                                 i == 0       ? ""
                                 : i + 1 == k ? " or "
                                              : ", ",
                                 c->node_names[idx[i]]);
    size_t mlen = strlen(reply->message);
    snprintf(reply->message + mlen, sizeof(reply->message) - mlen, " (did you mean %s?)", list);
out:
    free(name);
}

bool cl_node_unknown(struct cl_client *c, const char *name, char *msg, size_t msglen)
{
    struct cl_reply r;
    char *esc = cl_escape(c, name);
    char *path = xasprintf("/api/v1/nodes/%s", esc);
    enum cl_status st = cl_request(c, "GET", path, NULL, &r);
    bool unknown = st == CL_API_ERROR && r.http_status == 404;
    if (unknown)
        snprintf(msg, msglen, "%s", r.message);
    cl_reply_clear(&r);
    free(path);
    free(esc);
    return unknown;
}
