/* routes_nodes.c - node inventory: create, list, get, update, delete, and
 * power actions (which become jobs). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
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

static bool check_state(json_object *body, struct api_reply *rp)
{
    const char *state = jv_str(body, "state");
    if (state && !node_state_valid(state)) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "field 'state': '%.32s' is not one of enrolled, ready, maintenance, "
                  "provisioning, deployed, retired",
                  state);
        return false;
    }
    return true;
}

void route_nodes_create(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *body = api_body(rq, rp, node_create_fields, NFIELDS(node_create_fields));
    if (!body)
        return;
    struct ul_node *n = NULL;
    ul_errmsg em;
    ul_err rc;
    const char *name = jv_str(body, "name");
    json_object *labels = NULL, *options = NULL;
    json_object_object_get_ex(body, "labels", &labels);
    json_object_object_get_ex(body, "options", &options);
    const struct ul_driver *driver;

    if (!node_name_valid(name)) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "field 'name': '%.64s' must be 1-%d letters, digits, '.', '-' or '_', "
                  "starting with a letter or digit",
                  name, NODE_NAME_MAX);
        goto out;
    }
    if (!jv_str(body, "endpoint")) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument", "missing required field "
                                                                "'endpoint'");
        goto out;
    }
    if (!check_state(body, rp))
        goto out;
    if (labels && (rc = node_labels_check(labels, &em)) != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    rc = bmc_node_check(jv_str(body, "driver"), jv_str(body, "endpoint"), options, &driver, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    n = node_new();
    n->name = xstrdup(name);
    n->endpoint = xstrdup(jv_str(body, "endpoint"));
    n->driver = xstrdup(driver->name);
    const char *user = jv_str(body, "username");
    n->username = user && *user ? xstrdup(user) : NULL;
    const char *pw = jv_str(body, "password");
    n->password = pw && *pw ? xstrdup(pw) : NULL;
    n->state = xstrdup(jv_str(body, "state") ? jv_str(body, "state") : "enrolled");
    if (labels) {
        json_object_put(n->labels);
        n->labels = json_object_get(labels);
    }
    if (options) {
        json_object_put(n->options);
        n->options = json_object_get(options);
    }
    rc = store_node_insert(srv->st, n, &em);
    api_audit(srv, rq, "node.create", name, rc, NULL);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    ul_info("node %s enrolled by %s (driver %s)", n->name, rq->actor, n->driver);
    rp->location = xasprintf("/api/v1/nodes/%s", n->name);
    api_reply_json(rp, MHD_HTTP_CREATED, view_node(n));
out:
    node_free(n);
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
    api_reply_json(rp, MHD_HTTP_OK, view_node(n));
    node_free(n);
}

/* Merge patch labels into n's labels: a null value removes a key. */
static ul_err merge_labels(struct ul_node *n, json_object *patch, ul_errmsg *em)
{
    json_object *merged = json_object_new_object();
    json_object_object_foreach(n->labels, k0, v0)
    {
        json_object_object_add(merged, k0, json_object_get(v0));
    }
    json_object_object_foreach(patch, k, v)
    {
        if (!v)
            json_object_object_del(merged, k);
        else
            json_object_object_add(merged, k, json_object_get(v));
    }
    ul_err rc = node_labels_check(merged, em);
    if (rc != UL_OK) {
        json_object_put(merged);
        return rc;
    }
    json_object_put(n->labels);
    n->labels = merged;
    return UL_OK;
}

/* v may alias *dst: copy before freeing. */
static void replace_str(char **dst, const char *v)
{
    char *copy = v && *v ? xstrdup(v) : NULL;
    free(*dst);
    *dst = copy;
}

void route_node_patch(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = path_node(rq, rp);
    if (!name)
        return;
    json_object *body = api_body(rq, rp, node_patch_fields, NFIELDS(node_patch_fields));
    if (!body)
        return;
    struct ul_node *n = NULL;
    json_object *changed = json_object_new_array();
    ul_errmsg em;
    ul_err rc = store_node_get(srv->st, name, false, &n, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    if (!check_state(body, rp))
        goto out;
    json_object *labels = NULL, *options = NULL;
    if (json_object_object_get_ex(body, "labels", &labels) &&
        (rc = merge_labels(n, labels, &em)) != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    json_object_object_get_ex(body, "options", &options);
    const char *endpoint = jv_str(body, "endpoint") ? jv_str(body, "endpoint") : n->endpoint;
    /* A new endpoint without a driver picks its driver by scheme, as create
     * does: ipmi://... on a fake node must not stay fake. */
    const char *driver_name = jv_str(body, "driver");
    if (!driver_name && !jv_str(body, "endpoint"))
        driver_name = n->driver;
    const struct ul_driver *driver;
    rc = bmc_node_check(driver_name, endpoint, options ? options : n->options, &driver, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    /* Everything is valid: now apply, so a bad field never half-updates. */
    json_object_object_foreach(body, key, val)
    {
        (void)val;
        json_object_array_add(changed, json_object_new_string(key));
    }
    replace_str(&n->endpoint, endpoint);
    replace_str(&n->driver, driver->name);
    if (jv_str(body, "username"))
        replace_str(&n->username, jv_str(body, "username"));
    if (jv_str(body, "state"))
        replace_str(&n->state, jv_str(body, "state"));
    if (options) {
        json_object_put(n->options);
        n->options = json_object_get(options);
    }
    bool set_password = jv_str(body, "password") != NULL;
    if (set_password)
        replace_str(&n->password, jv_str(body, "password"));
    rc = store_node_update(srv->st, n, set_password, &em);
    json_object *detail = json_object_new_object();
    json_object_object_add(detail, "fields", json_object_get(changed));
    api_audit(srv, rq, "node.update", name, rc, detail);
    json_object_put(detail);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    api_reply_json(rp, MHD_HTTP_OK, view_node(n));
out:
    json_object_put(changed);
    node_free(n);
    json_object_put(body);
}

void route_node_delete(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = path_node(rq, rp);
    if (!name)
        return;
    ul_errmsg em;
    ul_err rc = store_node_delete(srv->st, name, &em);
    if (rc != UL_ERR_NOT_FOUND)
        api_audit(srv, rq, "node.delete", name, rc, NULL);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    ul_info("node %s deleted by %s", name, rq->actor);
    rp->status = MHD_HTTP_NO_CONTENT;
}

