/* server.c - libmicrohttpd glue: request accumulation with a size limit,
 * authentication, routing and replies. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/statvfs.h>
#include <unistd.h>

/* Free space an upload must leave on the data directory's file system. */
#define UPLOAD_RESERVE (256LL * 1024 * 1024)

#include "api/api_internal.h"
#include "ops/caps.h"
#include "core/secret.h"
#include "jsonv.h"
#include "log.h"
#include "xalloc.h"

struct route {
    const char *method;
    const char *pattern; /* segments after /api/v1; '*' matches one segment */
    enum api_role min_role;
    api_handler fn;
};

/* Reading is for viewers; acting on BMCs and jobs for operators; changing the
 * inventory, tokens and reading the audit trail for admins. */
static const struct route routes[] = {
    {"GET", "nodes", API_ROLE_VIEWER, route_nodes_list},
    {"POST", "nodes", API_ROLE_ADMIN, route_nodes_create},
    {"POST", "nodes/discover", API_ROLE_ADMIN, route_nodes_discover},
    {"GET", "nodes/*", API_ROLE_VIEWER, route_node_get},
    {"PATCH", "nodes/*", API_ROLE_ADMIN, route_node_patch},
    {"DELETE", "nodes/*", API_ROLE_ADMIN, route_node_delete},
    {"POST", "nodes/*/power", API_ROLE_OPERATOR, route_node_power},
    {"POST", "nodes/*/boot", API_ROLE_OPERATOR, route_node_boot},
    {"POST", "nodes/*/identify", API_ROLE_OPERATOR, route_node_identify},
    /* a BMC reset drops every session on the BMC, anyone's: admins only */
    {"POST", "nodes/*/bmc/reset", API_ROLE_ADMIN, route_node_bmc_reset},
    {"POST", "nodes/*/sensors", API_ROLE_VIEWER, route_node_sensors},
    {"POST", "nodes/*/sel", API_ROLE_VIEWER, route_node_sel},
    {"POST", "nodes/*/sel/clear", API_ROLE_ADMIN, route_node_sel_clear},
    {"POST", "nodes/*/inventory", API_ROLE_VIEWER, route_node_inventory_refresh},
    {"GET", "nodes/*/inventory", API_ROLE_VIEWER, route_node_inventory_get},
    {"POST", "nodes/*/bios", API_ROLE_VIEWER, route_node_bios_read},
    {"POST", "nodes/*/bios/settings", API_ROLE_OPERATOR, route_node_bios_set},
    {"POST", "nodes/*/raid", API_ROLE_VIEWER, route_node_raid_read},
    {"POST", "nodes/*/raid/volumes", API_ROLE_ADMIN, route_node_volume_create},
    {"DELETE", "nodes/*/raid/volumes/*", API_ROLE_ADMIN, route_node_volume_delete},
    {"POST", "nodes/*/firmware", API_ROLE_VIEWER, route_node_firmware_list},
    {"POST", "nodes/*/firmware/update", API_ROLE_OPERATOR, route_node_firmware_update},
    {"POST", "nodes/*/firmware/upload", API_ROLE_OPERATOR, route_node_firmware_upload},
    {"GET", "events", API_ROLE_VIEWER, route_events_list},
    {"GET", "nodes/*/sensors", API_ROLE_VIEWER, route_node_sensors_latest},
    {"GET", "nodes/*/health", API_ROLE_VIEWER, route_node_health},
    {"GET", "fleet", API_ROLE_VIEWER, route_fleet},
    {"GET", "nodes/*/history", API_ROLE_VIEWER, route_node_history},
    {"GET", "nodes/*/series", API_ROLE_VIEWER, route_node_series},
    {"GET", "nodes/*/graph", API_ROLE_VIEWER, route_node_graph},
    /* viewers may watch a console an operator opened (routes_console.c) */
    {"GET", "nodes/*/console", API_ROLE_VIEWER, route_node_console},
    {"POST", "power", API_ROLE_OPERATOR, route_batch_power},
    {"POST", "boot", API_ROLE_OPERATOR, route_batch_boot},
    {"GET", "jobs", API_ROLE_VIEWER, route_jobs_list},
    {"GET", "jobs/*", API_ROLE_VIEWER, route_job_get},
    {"POST", "jobs/*/cancel", API_ROLE_OPERATOR, route_job_cancel},
    {"GET", "audit", API_ROLE_ADMIN, route_audit_list},
    {"GET", "tokens", API_ROLE_ADMIN, route_tokens_list},
    {"POST", "tokens", API_ROLE_ADMIN, route_tokens_create},
    {"DELETE", "tokens/*", API_ROLE_ADMIN, route_token_delete},
};

static const char *const role_names[] = {"none", "viewer", "operator", "admin"};

int api_role_parse(const char *s)
{
    for (int i = API_ROLE_VIEWER; s && i <= API_ROLE_ADMIN; i++)
        if (strcmp(s, role_names[i]) == 0)
            return i;
    return -1;
}

const char *api_role_name(enum api_role r)
{
    return (unsigned)r <= API_ROLE_ADMIN ? role_names[r] : "none";
}

/* ---- replies ---- */

void api_reply_json(struct api_reply *rp, unsigned status, json_object *body)
{
    json_object_put(rp->body);
    rp->status = status;
    rp->body = body;
}

void api_error(struct api_reply *rp, unsigned status, const char *code, const char *fmt, ...)
{
    char msg[UL_ERRMSG_LEN];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    json_object *err = json_object_new_object();
    json_object_object_add(err, "code", json_object_new_string(code));
    json_object_object_add(err, "message", json_object_new_string(msg));
    json_object *body = json_object_new_object();
    json_object_object_add(body, "error", err);
    api_reply_json(rp, status, body);
}

void api_error_from(struct api_reply *rp, ul_err rc, const char *message)
{
    unsigned status;
    switch (rc) {
    case UL_ERR_INVALID:
    case UL_ERR_REJECTED:
        status = MHD_HTTP_BAD_REQUEST;
        break;
    case UL_ERR_NOT_FOUND:
        status = MHD_HTTP_NOT_FOUND;
        break;
    case UL_ERR_CONFLICT:
        status = MHD_HTTP_CONFLICT;
        break;
    case UL_ERR_UNSUPPORTED:
        status = MHD_HTTP_NOT_IMPLEMENTED;
        break;
    case UL_ERR_BUSY:
        status = MHD_HTTP_SERVICE_UNAVAILABLE;
        break;
    default:
        status = MHD_HTTP_INTERNAL_SERVER_ERROR;
        break;
    }
    api_error(rp, status, ul_err_name(rc), "%s", message && *message ? message : ul_strerror(rc));
}

json_object *api_body(struct api_req *rq, struct api_reply *rp, const struct jv_field *fields,
                      size_t nfields)
{
    const char *ctype = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                    MHD_HTTP_HEADER_CONTENT_TYPE);
    /* "application/json" optionally followed by parameters (; charset=utf-8) */
    if (ctype && (strncasecmp(ctype, "application/json", 16) != 0 ||
                  (ctype[16] != '\0' && ctype[16] != ';' && ctype[16] != ' '))) {
        api_error(rp, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type",
                  "Content-Type must be application/json, not '%.64s'", ctype);
        return NULL;
    }
    json_object *obj = NULL;
    ul_errmsg em;
    if (jv_parse(rq->body ? rq->body : "", rq->body_len, JSONV_MAX_DEPTH, &obj, &em) != UL_OK ||
        jv_check(obj, fields, nfields, &em) != UL_OK) {
        json_object_put(obj);
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument", "%s", em.text);
        return NULL;
    }
    return obj;
}

const char *api_query(struct api_req *rq, const char *name)
{
    return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, name);
}

bool api_query_int(struct api_req *rq, struct api_reply *rp, const char *name, long def, long min,
                   long max, long *out)
{
    const char *v = api_query(rq, name);
    if (!v) {
        *out = def;
        return true;
    }
    char *end;
    long n = strtol(v, &end, 10);
    if (!*v || *end || n < min || n > max) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter '%s': must be a whole number from %ld to %ld", name, min, max);
        return false;
    }
    *out = n;
    return true;
}

bool api_query_page(api_server *srv, struct api_req *rq, struct api_reply *rp, int *limit,
                    int *offset)
{
    long l, o;
    if (!api_query_int(rq, rp, "limit", srv->cfg->page_default, 1, srv->cfg->page_max, &l) ||
        !api_query_int(rq, rp, "offset", 0, 0, 1000000000L, &o))
        return false;
    *limit = (int)l;
    *offset = (int)o;
    return true;
}

void api_audit(api_server *srv, struct api_req *rq, const char *action, const char *target,
               ul_err rc, json_object *detail)
{
    char *d = detail ? jv_to_string(detail) : NULL;
    ul_errmsg em;
    if (store_audit_add(srv->st, rq->actor, action, target, rc == UL_OK ? "ok" : "error", d,
                        &em) != UL_OK)
        ul_error("audit: cannot record %s on %s by %s: %s", action, target, rq->actor, em.text);
    free(d);
}

/* ---- request life cycle ---- */

static bool authenticate(api_server *srv, struct api_req *rq, struct api_reply *rp);

static void req_free(struct api_req *rq)
{
    if (!rq)
        return;
    if (rq->upload_fd >= 0)
        close(rq->upload_fd);
    if (rq->upload_path) {
        unlink(rq->upload_path);
        free(rq->upload_path);
    }
    free(rq->path);
    free(rq->body);
    free(rq->actor);
    free(rq);
}

/* POST /api/v1/nodes/NAME/firmware/upload: the one body that goes to disk. */
static bool is_upload(const char *method, const char *url)
{
    const char *p = "/api/v1/nodes/";
    if (strcmp(method, "POST") != 0 || strncmp(url, p, strlen(p)) != 0)
        return false;
    const char *name = url + strlen(p);
    const char *slash = strchr(name, '/');
    return slash && slash > name && strcmp(slash, "/firmware/upload") == 0;
}

/* First call of an upload: check the caller and the announced size before
 * a byte is written, then open the spool file. */
static void upload_begin(api_server *srv, struct api_req *rq)
{
    struct api_reply rp = {0};
    rq->upload = true;
    rq->upload_fd = -1;
    bool ok = authenticate(srv, rq, &rp) && rq->role >= API_ROLE_OPERATOR;
    json_object_put(rp.body);
    free(rq->actor);
    rq->actor = NULL;
    if (!ok || rq->too_large) {
        rq->upload_failed = true; /* dispatch answers with the reason */
        return;
    }
    /* The spool shares a file system with the state store: an image that
     * would leave less than UPLOAD_RESERVE free is refused before it is
     * written, not when the store can no longer commit. */
    char *dir = xasprintf("%s/uploads", srv->cfg->data_dir);
    struct statvfs vfs;
    const char *clen = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_CONTENT_LENGTH);
    long long want = clen ? strtoll(clen, NULL, 10) : 0;
    if (statvfs(dir, &vfs) == 0 &&
        (long long)vfs.f_bavail * (long long)vfs.f_frsize < want + UPLOAD_RESERVE) {
        ul_warn("http: refusing a %lld-byte upload: %s has %lld bytes free", want, dir,
                (long long)vfs.f_bavail * (long long)vfs.f_frsize);
        free(dir);
        rq->upload_failed = rq->upload_nospace = true;
        return;
    }
    free(dir);
    char *path = xasprintf("%s/uploads/image-XXXXXX", srv->cfg->data_dir);
    int fd = mkstemp(path);
    if (fd < 0) {
        ul_warn("http: cannot create an upload file under %s/uploads: %s", srv->cfg->data_dir,
                strerror(errno));
        free(path);
        rq->upload_failed = true;
        return;
    }
    rq->upload_fd = fd;
    rq->upload_path = path;
}

static void upload_chunk(api_server *srv, struct api_req *rq, const char *data, size_t len)
{
    if (rq->upload_failed || rq->too_large || rq->upload_fd < 0)
        return;
    if (rq->upload_len + (long long)len > srv->cfg->max_upload) {
        rq->too_large = true;
        return;
    }
    while (len) {
        ssize_t w = write(rq->upload_fd, data, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ul_warn("http: writing upload %s: %s", rq->upload_path, strerror(errno));
            rq->upload_failed = true;
            rq->upload_nospace = errno == ENOSPC || errno == EDQUOT;
            return;
        }
        data += w;
        len -= (size_t)w;
        rq->upload_len += w;
    }
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    req_free(*con_cls);
    *con_cls = NULL;
}

static enum MHD_Result send_reply(struct api_req *rq, struct api_reply *rp)
{
    const char *text = "";
    size_t len;
    struct MHD_Response *resp;
    if (rp->upgrade) {
        enum MHD_Result r = MHD_queue_response(rq->conn, rp->status, rp->upgrade);
        MHD_destroy_response(rp->upgrade);
        rp->upgrade = NULL;
        return r;
    }
    if (rp->text) {
        /* Large (a fleet's /metrics): hand the buffer over instead of copying. */
        resp = MHD_create_response_from_buffer(rp->text_len, rp->text, MHD_RESPMEM_MUST_FREE);
        if (resp)
            rp->text = NULL;
    } else {
        if (rp->body)
            text = json_object_to_json_string_ext(rp->body, JSON_C_TO_STRING_PLAIN |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
        len = strlen(text);
        resp = MHD_create_response_from_buffer(len, (void *)text, MHD_RESPMEM_MUST_COPY);
    }
    if (!resp)
        return MHD_NO;
    if (rp->body) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
    } else if (rp->content_type) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, rp->content_type);
    } else if (rq->nsegs == 1 && strcmp(rq->segs[0], "metrics") == 0) {
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                                "text/plain; version=0.0.4; charset=utf-8");
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL,
                            rp->cache_control ? rp->cache_control : "no-store");
    if (rp->status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
                                "Bearer realm=\"underlay\"");
    if (rp->location)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, rp->location);
    if (rp->etag)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ETAG, rp->etag);
    for (const char *const *h = rp->headers; h && h[0] && h[1]; h += 2)
        MHD_add_response_header(resp, h[0], h[1]);
    enum MHD_Result r = MHD_queue_response(rq->conn, rp->status, resp);
    MHD_destroy_response(resp);
    if (ul_log_enabled(UL_LOG_DEBUG))
        ul_debug("http: %s %s -> %u (%s)", rq->method, rq->path, rp->status,
                 rq->actor ? rq->actor : "-");
    return r;
}

/* Resolve the bearer token to an actor and role.  Returns false with rp set. */
static bool authenticate(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *auth = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND,
                                                   MHD_HTTP_HEADER_AUTHORIZATION);
    char ws_token[300];
    const char *token = NULL;
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0 && auth[7])
        token = auth + 7;
    else if (!auth && api_ws_bearer(rq, ws_token, sizeof(ws_token)))
        token = ws_token; /* a browser's WebSocket cannot send the header */
    if (!token) {
        api_error(rp, MHD_HTTP_UNAUTHORIZED, "unauthorized",
                  "missing bearer token (send 'Authorization: Bearer <token>')");
        return false;
    }
    if (strlen(token) > 256) {
        api_error(rp, MHD_HTTP_UNAUTHORIZED, "unauthorized", "invalid token");
        return false;
    }
    unsigned char hash[SECRET_HASH_LEN];
    secret_token_hash(token, hash);
    char *name = NULL, *role = NULL;
    ul_errmsg em;
    ul_err rc = store_token_find(srv->st, hash, &name, &role, &em);
    if (rc == UL_ERR_NOT_FOUND) {
        api_error(rp, MHD_HTTP_UNAUTHORIZED, "unauthorized", "invalid token");
        return false;
    }
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return false;
    }
    int r = api_role_parse(role);
    rq->actor = name;
    rq->role = r < 0 ? API_ROLE_NONE : (enum api_role)r;
    free(role);
    return true;
}

static int split_path(struct api_req *rq)
{
    rq->nsegs = 0;
    char *save = NULL;
    for (char *tok = strtok_r(rq->path, "/", &save); tok; tok = strtok_r(NULL, "/", &save)) {
        if (rq->nsegs == (int)(sizeof(rq->segs) / sizeof(rq->segs[0])))
            return -1;
        rq->segs[rq->nsegs++] = tok;
    }
    return 0;
}

static bool pattern_match(const char *pattern, struct api_req *rq, int first)
{
    int i = first;
    const char *p = pattern;
    while (*p) {
        size_t len = strcspn(p, "/");
        if (i >= rq->nsegs)
            return false;
        if (!(len == 1 && *p == '*') &&
            (strlen(rq->segs[i]) != len || strncmp(p, rq->segs[i], len) != 0))
            return false;
        i++;
        p += len;
        if (*p == '/')
            p++;
    }
    return i == rq->nsegs;
}

static void dispatch(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (rq->nsegs == 1 && strcmp(rq->segs[0], "healthz") == 0) {
        if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
            api_error(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                      "%s not allowed on /healthz", rq->method);
            return;
        }
        json_object *b = json_object_new_object();
        json_object_object_add(b, "status", json_object_new_string("ok"));
        json_object_object_add(b, "version", json_object_new_string(PACKAGE_VERSION));
        api_reply_json(rp, MHD_HTTP_OK, b);
        return;
    }
    if (rq->nsegs == 1 && strcmp(rq->segs[0], "metrics") == 0) {
        if (srv->cfg->metrics_auth && !authenticate(srv, rq, rp))
            return;
        /* HEAD: the same reply; libmicrohttpd sends no body for it. */
        if (strcmp(rq->method, "GET") != 0 && strcmp(rq->method, "HEAD") != 0) {
            api_error(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                      "%s not allowed on /metrics", rq->method);
            return;
        }
        char *text = api_metrics_text_for(srv, rq, rp, &rp->text_len);
        if (!text)
            return; /* a bad ?label=: the error reply is set */
        rp->status = MHD_HTTP_OK;
        rp->text = text;
        return;
    }
    if (rq->nsegs == 0 || strcmp(rq->segs[0], "api") != 0) {
        /* Everything outside /api, /metrics and /healthz is the dashboard. */
        api_static(srv, rq, rp);
        return;
    }
    if (rq->nsegs < 2 || strcmp(rq->segs[1], "v1") != 0) {
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
        return;
    }
    if (!authenticate(srv, rq, rp))
        return;
    if (rq->too_large) {
        api_error(rp, MHD_HTTP_CONTENT_TOO_LARGE, "payload_too_large",
                  "request body larger than %ld bytes",
                  rq->upload ? srv->cfg->max_upload : srv->cfg->max_body);
        return;
    }
    bool path_known = false;
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        const struct route *r = &routes[i];
        if (!pattern_match(r->pattern, rq, 2))
            continue;
        path_known = true;
        if (strcmp(r->method, rq->method) != 0)
            continue;
        if (rq->role < r->min_role) {
            api_error(rp, MHD_HTTP_FORBIDDEN, "forbidden",
                      "token '%s' has role %s; %s %s needs %s", rq->actor,
                      api_role_name(rq->role), rq->method, r->pattern,
                      api_role_name(r->min_role));
            return;
        }
        r->fn(srv, rq, rp);
        return;
    }
    if (path_known)
        api_error(rp, MHD_HTTP_METHOD_NOT_ALLOWED, "method_not_allowed",
                  "method %s not allowed here", rq->method);
    else
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version,
                                  const char *upload_data, size_t *upload_data_size,
                                  void **con_cls)
{
    api_server *srv = cls;
    struct api_req *rq = *con_cls;
    if (!rq) {
        /* First call: headers only.  Answering later (not here) keeps
         * keep-alive working (DESIGN: 12.6k vs ~100k req/s). */
        rq = xcalloc(1, sizeof(*rq));
        rq->conn = conn;
        rq->method = method;
        rq->path = xstrdup(url);
        rq->upload_fd = -1;
        const char *clen = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
                                                       MHD_HTTP_HEADER_CONTENT_LENGTH);
        long long limit = is_upload(method, url) ? srv->cfg->max_upload : srv->cfg->max_body;
        if (clen && strtoll(clen, NULL, 10) > limit)
            rq->too_large = true;
        if (is_upload(method, url))
            upload_begin(srv, rq);
        *con_cls = rq;
        return MHD_YES;
    }
    if (*upload_data_size && rq->upload) {
        upload_chunk(srv, rq, upload_data, *upload_data_size);
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (*upload_data_size) {
        /* Keep reading to the end but store nothing past the limit, so the
         * client gets a clean 413 rather than a reset connection. */
        if (!rq->too_large && rq->body_len + *upload_data_size <= (size_t)srv->cfg->max_body) {
            rq->body = xrealloc(rq->body, rq->body_len + *upload_data_size + 1);
            memcpy(rq->body + rq->body_len, upload_data, *upload_data_size);
            rq->body_len += *upload_data_size;
            rq->body[rq->body_len] = '\0';
        } else {
            rq->too_large = true;
            free(rq->body);
            rq->body = NULL;
            rq->body_len = 0;
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    struct api_reply rp = {0};
    if (split_path(rq) < 0)
        api_error(&rp, MHD_HTTP_NOT_FOUND, "not_found", "no such endpoint");
    else
        dispatch(srv, rq, &rp);
    if (!rp.status)
        api_error(&rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "internal", "handler gave no reply");
    enum MHD_Result r = send_reply(rq, &rp);
    json_object_put(rp.body);
    free(rp.text);
    free(rp.location);
    free(rp.etag);
    return r;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = '\0';
    ul_warn("http: %s", msg);
}

ul_err api_start(const struct api_deps *deps, api_server **out, ul_errmsg *em)
{
    api_server *srv = xcalloc(1, sizeof(*srv));
    const struct ul_config *cfg = deps->cfg;
    srv->cfg = cfg;
    srv->st = deps->st;
    srv->jobs = deps->jobs;
    srv->latest = deps->latest;
    srv->sched = deps->sched;
    srv->sessions = deps->sessions;
    srv->history = deps->history;
    srv->app = app_new(deps->st, deps->jobs, &ops_app_hooks);
    srv->consoles = api_consoles_new();

    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG |
                     MHD_ALLOW_UPGRADE;
    if (strchr(cfg->listen_host, ':')) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)cfg->listen_port);
        inet_pton(AF_INET6, cfg->listen_host, &a6->sin6_addr);
        flags |= MHD_USE_IPv6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)cfg->listen_port);
        inet_pton(AF_INET, cfg->listen_host, &a4->sin_addr);
    }
    srv->mhd = MHD_start_daemon(
        flags, (uint16_t)cfg->listen_port, NULL, NULL, on_request, srv,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&ss, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->http_threads,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30, MHD_OPTION_CONNECTION_LIMIT, (unsigned)1000,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL, MHD_OPTION_END);
    if (!srv->mhd) {
        api_consoles_free(srv->consoles);
        app_free(srv->app);
        free(srv);
        return ul_errmsg_set(em, UL_ERR_IO,
                             "cannot listen on %s port %d (address in use or not local?)",
                             cfg->listen_host, cfg->listen_port);
    }
    *out = srv;
    return UL_OK;
}

void api_stop(api_server *srv)
{
    if (!srv)
        return;
    api_consoles_stop(srv->consoles); /* closes the upgraded sockets first */
    MHD_stop_daemon(srv->mhd);
    api_consoles_free(srv->consoles);
    app_free(srv->app);
    free(srv);
}
