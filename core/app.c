/* app.c - the application layer: node changes and job submission with their
 * rules and audit records.  See app.h. */
#include "config.h"

#include "app.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "log.h"
#include "xalloc.h"

/* A compare-and-swap that lost went round again; each round is one read and
 * one write under the store's lock, so only as many writers as are racing
 * can beat it.  The bound turns a bug (a version that never settles) into
 * an error instead of a spin. */
#define APP_UPDATE_ROUNDS 64

struct ul_app {
    ul_store *st;
    ul_jobs *jobs;
    struct app_hooks hooks;
};

ul_app *app_new(ul_store *st, ul_jobs *jobs, const struct app_hooks *hooks)
{
    ul_app *app = xcalloc(1, sizeof(*app));
    app->st = st;
    app->jobs = jobs;
    if (hooks)
        app->hooks = *hooks;
    return app;
}

void app_free(ul_app *app)
{
    free(app);
}

void app_audit(ul_app *app, const char *actor, const char *action, const char *target, ul_err rc,
               json_object *detail)
{
    char *d = detail ? jv_to_string(detail) : NULL;
    ul_errmsg em;
    if (store_audit_add(app->st, actor, action, target, rc == UL_OK ? "ok" : "error", d, &em) !=
        UL_OK)
        ul_error("audit: cannot record %s on %s by %s: %s", action, target, actor, em.text);
    free(d);
}

/* The error code of a refused change, in the audit detail (a new object). */
static json_object *detail_new(ul_err rc)
{
    json_object *d = json_object_new_object();
    if (rc != UL_OK)
        json_object_object_add(d, "error", json_object_new_string(ul_err_name(rc)));
    return d;
}

static ul_err node_check(ul_app *app, const char *driver, const char *endpoint,
                         json_object *options, const char **driver_out, ul_errmsg *em)
{
    if (app->hooks.node_check)
        return app->hooks.node_check(app->hooks.arg, driver, endpoint, options, driver_out, em);
    *driver_out = driver ? driver : "fake";
    return UL_OK;
}

/* ---- nodes ---- */

ul_err app_node_create(ul_app *app, const char *actor, struct ul_node *n, ul_errmsg *em)
{
    if (!node_name_valid(n->name))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'name': '%.64s' must be 1-%d letters, digits, '.', '-' or "
                             "'_', starting with a letter or digit",
                             n->name ? n->name : "", NODE_NAME_MAX);
    if (!n->endpoint)
        return ul_errmsg_set(em, UL_ERR_INVALID, "missing required field 'endpoint'");
    if (n->state && !node_state_valid(n->state))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'state': '%.32s' is not one of enrolled, ready, maintenance, "
                             "provisioning, deployed, retired",
                             n->state);
    ul_err rc = node_labels_check(n->labels, em);
    if (rc != UL_OK)
        return rc;
    const char *driver;
    if ((rc = node_check(app, n->driver, n->endpoint, n->options, &driver, em)) != UL_OK)
        return rc;
    char *d = xstrdup(driver);
    free(n->driver);
    n->driver = d;
    if (!n->state)
        n->state = xstrdup("enrolled");
    /* Enrolled straight into maintenance: where it returns is unknown. */
    free(n->maintenance_from);
    n->maintenance_from = NULL;
    rc = store_node_insert(app->st, n, em);
    app_audit(app, actor, "node.create", n->name, rc, NULL);
    if (rc == UL_OK)
        ul_info("node %s enrolled by %s (driver %s)", n->name, actor, n->driver);
    return rc;
}

/* Merge patch labels into n's labels: a null value removes a key. */
static ul_err merge_labels(struct ul_node *n, json_object *patch, ul_errmsg *em)
{
    if (!json_object_is_type(patch, json_type_object))
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'labels': must be an object of strings");
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

/* v may alias *dst: copy before freeing.  "" stores NULL. */
static void replace_str(char **dst, const char *v)
{
    char *copy = v && *v ? xstrdup(v) : NULL;
    free(*dst);
    *dst = copy;
}

/* Apply p to n (read from the store).  Validates everything before it
 * changes anything, so a bad field never half-applies. */
static ul_err apply_patch(ul_app *app, struct ul_node *n, const struct app_node_patch *p,
                          ul_errmsg *em)
{
    ul_err rc;
    if (p->state && !node_state_valid(p->state))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'state': '%.32s' is not one of enrolled, ready, maintenance, "
                             "provisioning, deployed, retired",
                             p->state);
    if (p->labels && (rc = merge_labels(n, p->labels, em)) != UL_OK)
        return rc;
    const char *endpoint = p->endpoint ? p->endpoint : n->endpoint;
    /* A new endpoint without a driver picks its driver by scheme, as create
     * does: ipmi://... on a fake node must not stay fake. */
    const char *driver_name = p->driver;
    if (!driver_name && !p->endpoint)
        driver_name = n->driver;
    const char *driver;
    rc = node_check(app, driver_name, endpoint, p->options ? p->options : n->options, &driver,
                    em);
    if (rc != UL_OK)
        return rc;
    if (p->state && (rc = node_state_change(n, p->state, em)) != UL_OK)
        return rc;
    replace_str(&n->endpoint, endpoint);
    replace_str(&n->driver, driver);
    if (p->username)
        replace_str(&n->username, p->username);
    if (p->options) {
        json_object_put(n->options);
        n->options = json_object_get(p->options);
    }
    if (p->set_password)
        replace_str(&n->password, p->password);
    return UL_OK;
}

/* The names of the fields p sets, for the audit record. */
static json_object *patch_fields(const struct app_node_patch *p)
{
    json_object *a = json_object_new_array();
    const char *names[] = {"endpoint", "driver", "username", "password", "state", "labels",
                           "options"};
    bool set[] = {p->endpoint != NULL, p->driver != NULL, p->username != NULL, p->set_password,
                  p->state != NULL,    p->labels != NULL, p->options != NULL};
    for (size_t i = 0; i < sizeof(set) / sizeof(set[0]); i++)
        if (set[i])
            json_object_array_add(a, json_object_new_string(names[i]));
    return a;
}

static ul_err node_update(ul_app *app, const char *actor, const char *action, const char *name,
                          const struct app_node_patch *p, int64_t if_match, struct ul_node **out,
                          bool *stale, ul_errmsg *em)
{
    struct ul_node *n = NULL;
    ul_err rc = UL_ERR_INTERNAL;
    bool audit = false;
    char from[32] = "";
    int64_t read_version = 0;
    *stale = false;
    if (out)
        *out = NULL;
    for (int round = 0; round < APP_UPDATE_ROUNDS; round++) {
        node_free(n);
        n = NULL;
        if ((rc = store_node_get(app->st, name, false, &n, em)) != UL_OK)
            goto out; /* not audited: no such node */
        snprintf(from, sizeof(from), "%s", n->state);
        read_version = n->version;
        if (if_match > 0 && n->version != if_match) {
            *stale = true;
            audit = true;
            rc = ul_errmsg_set(em, UL_ERR_CONFLICT,
                               "node %s: version %lld (If-Match) is not current: it is %lld; "
                               "read the node again",
                               name, (long long)if_match, (long long)n->version);
            goto out;
        }
        if ((rc = apply_patch(app, n, p, em)) != UL_OK) {
            /* A refused transition is worth a record; bad input is not. */
            audit = rc != UL_ERR_INVALID && rc != UL_ERR_NOT_FOUND;
            goto out;
        }
        rc = store_node_update_if(app->st, n, p->set_password, read_version, em);
        if (rc == UL_ERR_CONFLICT && if_match == 0) {
            /* Someone else's update came between: merge onto theirs. */
            ul_debug("node %s: version %lld changed under %s's update; merging again (round %d)",
                     name, (long long)read_version, actor, round + 1);
            continue;
        }
        if (rc == UL_ERR_CONFLICT)
            *stale = true;
        audit = rc != UL_ERR_NOT_FOUND;
        goto out;
    }
    rc = ul_errmsg_set(em, UL_ERR_BUSY, "node %s: still changing under %d concurrent updates; "
                                        "try again",
                       name, APP_UPDATE_ROUNDS);
    ul_warn("node %s: update by %s given up after %d rounds of concurrent changes", name, actor,
            APP_UPDATE_ROUNDS);
    audit = true;
out:
    if (audit) {
        json_object *detail = detail_new(rc);
        json_object_object_add(detail, "fields", patch_fields(p));
        if (p->state && rc == UL_OK && strcmp(from, n->state) != 0) {
            json_object_object_add(detail, "from", json_object_new_string(from));
            json_object_object_add(detail, "to", json_object_new_string(n->state));
        }
        if (rc == UL_OK)
            json_object_object_add(detail, "version", json_object_new_int64(n->version));
        app_audit(app, actor, action, name, rc, detail);
        json_object_put(detail);
    }
    if (rc == UL_OK && out) {
        *out = n;
        n = NULL;
    }
    node_free(n);
    return rc;
}

ul_err app_node_update(ul_app *app, const char *actor, const char *name,
                       const struct app_node_patch *patch, int64_t if_match, struct ul_node **out,
                       bool *stale, ul_errmsg *em)
{
    return node_update(app, actor, "node.update", name, patch, if_match, out, stale, em);
}

ul_err app_node_set_state(ul_app *app, const char *actor, const char *name, const char *to,
                          int64_t if_match, struct ul_node **out, bool *stale, ul_errmsg *em)
{
    struct app_node_patch p = {.state = to};
    if (!to)
        return ul_errmsg_set(em, UL_ERR_INVALID, "missing required field 'state'");
    return node_update(app, actor, "node.state", name, &p, if_match, out, stale, em);
}

ul_err app_node_delete(ul_app *app, const char *actor, const char *name, ul_errmsg *em)
{
    ul_err rc = store_node_delete(app->st, name, em);
    if (rc != UL_ERR_NOT_FOUND)
        app_audit(app, actor, "node.delete", name, rc, NULL);
    if (rc == UL_OK)
        ul_info("node %s deleted by %s", name, actor);
    return rc;
}

/* ---- jobs ---- */

ul_err app_job_check(ul_app *app, const char *node, const char *type, json_object *params,
                     bool automated, ul_errmsg *em)
{
    struct ul_node *n = NULL;
    ul_err rc = node_name_valid(node)
                    ? store_node_get(app->st, node, false, &n, em)
                    : ul_errmsg_set(em, UL_ERR_NOT_FOUND, "node '%.64s' not found",
                                    node ? node : "");
    if (rc != UL_OK)
        return rc;
    if (automated && !node_state_automatable(n->state))
        rc = ul_errmsg_set(em, UL_ERR_CONFLICT,
                           "node %s is %s: automated %s jobs are not run on it (an operator's "
                           "own request is)",
                           n->name, n->state, type);
    else if (app->hooks.job_check)
        rc = app->hooks.job_check(app->hooks.arg, n, type, params, em);
    node_free(n);
    return rc;
}

ul_err app_job_submit(ul_app *app, const struct app_job_req *r, struct ul_job **job,
                      ul_errmsg *em)
{
    *job = NULL;
    ul_err rc = app_job_check(app, r->node, r->type, r->params, r->automated, em);
    if (rc == UL_ERR_NOT_FOUND)
        return rc;
    if (rc == UL_OK)
        rc = jobs_submit(app->jobs, r->type, r->node, r->params, r->actor, r->timeout_s, job, em);
    if (r->audit_action && rc != UL_ERR_INVALID) {
        json_object *detail = detail_new(rc);
        json_object_object_add(detail, "params", json_object_get(r->params));
        if (*job)
            json_object_object_add(detail, "job", json_object_new_int64((*job)->id));
        app_audit(app, r->actor, r->audit_action, r->node, rc, detail);
        json_object_put(detail);
    }
    return rc;
}
