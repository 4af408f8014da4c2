/* routes_nodes.c - node inventory: create, list, get, update, delete, and
 * power actions (which become jobs). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "ops/caps.h"
#include "ops/discover_op.h"
#include "ops/ops.h"
#include "core/jobs.h"
#include "log.h"
#include "xalloc.h"

#define NODE_FIELD_LIMITS                                                                          \
    {"endpoint", JV_STRING, false, 512}, {"driver", JV_STRING, false, 32},                         \
        {"username", JV_STRING, false, 64}, {"password", JV_STRING, false, 128},                   \
        {"labels", JV_OBJECT, false, 0}, {"options", JV_OBJECT, false, 0},                         \
        {"state", JV_STRING, false, 32}

static const struct jv_field node_create_fields[] = {
    {"name", JV_STRING, true, NODE_NAME_MAX},
    NODE_FIELD_LIMITS,
};
static const struct jv_field node_patch_fields[] = {NODE_FIELD_LIMITS};

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

/* The node name in /nodes/{name}[/...]; answers 404 for impossible names. */
static const char *path_node(struct api_req *rq, struct api_reply *rp)
{
    const char *name = rq->segs[3];
    if (!node_name_valid(name)) {
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "node '%.64s' not found", name);
        return NULL;
    }
    return name;
}

/* The ETag of a node: its version, quoted. */
static void set_etag(struct api_reply *rp, const struct ul_node *n)
{
    free(rp->etag);
    rp->etag = xasprintf("\"%lld\"", (long long)n->version);
}

void route_nodes_create(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *body = api_body(rq, rp, node_create_fields, NFIELDS(node_create_fields));
    if (!body)
        return;
    ul_errmsg em;
    json_object *labels = NULL, *options = NULL;
    json_object_object_get_ex(body, "labels", &labels);
    json_object_object_get_ex(body, "options", &options);
    struct ul_node *n = node_new();
    const char *v;
    n->name = xstrdup(jv_str(body, "name"));
    if ((v = jv_str(body, "endpoint")))
        n->endpoint = xstrdup(v);
    if ((v = jv_str(body, "driver")))
        n->driver = xstrdup(v);
    if ((v = jv_str(body, "username")) && *v)
        n->username = xstrdup(v);
    if ((v = jv_str(body, "password")) && *v)
        n->password = xstrdup(v);
    if ((v = jv_str(body, "state")))
        n->state = xstrdup(v);
    if (labels) {
        json_object_put(n->labels);
        n->labels = json_object_get(labels);
    }
    if (options) {
        json_object_put(n->options);
        n->options = json_object_get(options);
    }
    ul_err rc = app_node_create(srv->app, rq->actor, n, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    rp->location = xasprintf("/api/v1/nodes/%s", n->name);
    set_etag(rp, n);
    api_reply_json(rp, MHD_HTTP_CREATED, view_node(n));
out:
    node_free(n);
    json_object_put(body);
}

static const struct jv_field node_discover_fields[] = {
    {"prefix", JV_STRING, true, NODE_NAME_MAX},
    {"name_template", JV_STRING, false, BMC_DISCOVER_TEMPLATE_MAX},
    {"timeout_s", JV_INT, false, 0},
    NODE_FIELD_LIMITS,
};

/* POST /api/v1/nodes/discover: one node per system behind an endpoint.  It
 * talks to the BMC, so it is a job (bmc/discover_op.h): 202 with the job,
 * whose result lists the nodes created and those skipped. */
void route_nodes_discover(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *body = api_body(rq, rp, node_discover_fields, NFIELDS(node_discover_fields));
    if (!body)
        return;
    ul_errmsg em;
    struct ul_job *job = NULL;
    json_object *labels = NULL, *options = NULL, *timeout = NULL;
    json_object_object_get_ex(body, "labels", &labels);
    json_object_object_get_ex(body, "options", &options);
    int64_t timeout_s = 0;
    if (json_object_object_get_ex(body, "timeout_s", &timeout)) {
        timeout_s = json_object_get_int64(timeout);
        if (timeout_s < 1 || timeout_s > 86400) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid",
                      "field 'timeout_s': must be 1 to 86400 seconds");
            goto out;
        }
    }
    struct bmc_discover_req r = {
        .actor = rq->actor,
        .prefix = jv_str(body, "prefix"),
        .name_template = jv_str(body, "name_template"),
        .endpoint = jv_str(body, "endpoint"),
        .driver = jv_str(body, "driver"),
        .username = jv_str(body, "username"),
        .password = jv_str(body, "password"),
        .labels = labels,
        .options = options,
        .state = jv_str(body, "state"),
        .timeout_s = (int)timeout_s,
    };
    ul_err rc = bmc_discover_submit(srv->app, srv->jobs, &r, &job, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    api_reply_job_accepted(rp, job);
out:
    job_free(job);
    json_object_put(body);
}

/* Collect repeated ?label=k=v arguments. */
struct label_args {
    const char *keys[16];
    const char *values[16];
    char *owned[16];
    size_t n;
    bool bad;
    bool too_many;
};

static enum MHD_Result collect_label(void *cls, enum MHD_ValueKind kind, const char *key,
                                     const char *value)
{
    struct label_args *la = cls;
    if (strcmp(key, "label") != 0)
        return MHD_YES;
    if (la->n == 16) {
        la->too_many = true;
        return MHD_NO;
    }
    const char *eq = value ? strchr(value, '=') : NULL;
    if (!eq || eq == value) {
        la->bad = true;
        return MHD_NO;
    }
    char *copy = xstrdup(value);
    copy[eq - value] = '\0';
    la->owned[la->n] = copy;
    la->keys[la->n] = copy;
    la->values[la->n] = copy + (eq - value) + 1;
    la->n++;
    return MHD_YES;
}

void route_nodes_list(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    struct ul_node_filter f = {0};
    struct label_args la = {0};
    struct ul_node_list list = {0};
    ul_errmsg em;
    if (!api_query_page(srv, rq, rp, &f.limit, &f.offset))
        return;
    MHD_get_connection_values(rq->conn, MHD_GET_ARGUMENT_KIND, collect_label, &la);
    if (la.bad || la.too_many) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  la.bad ? "query parameter 'label': must be key=value"
                         : "query parameter 'label': at most 16 label filters");
        goto out;
    }
    f.name_glob = api_query(rq, "name");
    f.state = api_query(rq, "state");
    f.driver = api_query(rq, "driver");
    f.label_keys = la.keys;
    f.label_values = la.values;
    f.nlabels = la.n;
    ul_err rc = store_node_list(srv->st, &f, &list, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < list.count; i++)
        json_object_array_add(items, view_node(list.items[i]));
    api_reply_json(rp, MHD_HTTP_OK, view_page(items, list.total, f.limit, f.offset));
out:
    store_node_list_free(&list);
    for (size_t i = 0; i < la.n; i++)
        free(la.owned[i]);
}

void route_node_get(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = path_node(rq, rp);
    if (!name)
        return;
    struct ul_node *n;
    ul_errmsg em;
    ul_err rc = store_node_get(srv->st, name, false, &n, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    set_etag(rp, n);
    api_reply_json(rp, MHD_HTTP_OK, view_node(n));
    node_free(n);
}

/* The If-Match header: 0 when absent or "*" (any current version), else the
 * version it names.  -1 with rp set (400) when it is not an ETag of ours. */
static int64_t if_match(struct api_req *rq, struct api_reply *rp)
{
    const char *h = MHD_lookup_connection_value(rq->conn, MHD_HEADER_KIND, "If-Match");
    if (!h)
        return 0;
    while (*h == ' ' || *h == '\t')
        h++;
    size_t len = strlen(h);
    while (len && (h[len - 1] == ' ' || h[len - 1] == '\t'))
        len--;
    if (len == 1 && h[0] == '*')
        return 0;
    /* A strong ETag "N" as GET gave it; a bare N is taken too. */
    const char *p = h, *end = h + len;
    if (len >= 2 && h[0] == '"' && h[len - 1] == '"') {
        p++;
        end--;
    }
    int64_t v = 0;
    bool ok = p < end && end - p <= 18;
    for (const char *c = p; ok && c < end; c++) {
        if (*c < '0' || *c > '9')
            ok = false;
        else
            v = v * 10 + (*c - '0');
    }
    if (!ok || v < 1) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "header 'If-Match': '%.40s' is not a node ETag; use the ETag header of GET "
                  "/api/v1/nodes/{name}, like \"3\"",
                  h);
        return -1;
    }
    return v;
}

void route_node_patch(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = path_node(rq, rp);
    if (!name)
        return;
    int64_t expected = if_match(rq, rp);
    if (expected < 0)
        return;
    json_object *body = api_body(rq, rp, node_patch_fields, NFIELDS(node_patch_fields));
    if (!body)
        return;
    struct app_node_patch p = {
        .endpoint = jv_str(body, "endpoint"),
        .driver = jv_str(body, "driver"),
        .username = jv_str(body, "username"),
        .password = jv_str(body, "password"),
        .set_password = jv_str(body, "password") != NULL,
        .state = jv_str(body, "state"),
    };
    json_object_object_get_ex(body, "labels", &p.labels);
    json_object_object_get_ex(body, "options", &p.options);
    struct ul_node *n = NULL;
    bool stale = false;
    ul_errmsg em;
    ul_err rc = app_node_update(srv->app, rq->actor, name, &p, expected, &n, &stale, &em);
    if (stale)
        api_error(rp, MHD_HTTP_PRECONDITION_FAILED, "precondition_failed", "%s", em.text);
    else if (rc != UL_OK)
        api_error_from(rp, rc, em.text);
    else {
        set_etag(rp, n);
        api_reply_json(rp, MHD_HTTP_OK, view_node(n));
    }
    node_free(n);
    json_object_put(body);
}

void route_node_delete(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = path_node(rq, rp);
    if (!name)
        return;
    ul_errmsg em;
    ul_err rc = app_node_delete(srv->app, rq->actor, name, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    rp->status = MHD_HTTP_NO_CONTENT;
}
