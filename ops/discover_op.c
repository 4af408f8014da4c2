/* discover_op.c - the "node.discover" job: one node per system a service
 * manages (see discover_op.h).  Self-contained: it needs the driver
 * registry (bmc/driver.h), bmc_node_check and the engine's user pointer of
 * bmc/ops.h, and the application layer. */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/discover_op.h"
#include "ops/caps.h"
#include "bmc/driver.h"
#include "ops/ops.h"
#include "core/node.h"
#include "core/secret.h"
#include "core/store.h"
#include "jsonv.h"
#include "log.h"
#include "xalloc.h"

/* ---- the password hold ---- */

struct held {
    char *ref;      /* NULL: free slot */
    char *password; /* wiped when dropped */
};
static pthread_mutex_t hold_lock = PTHREAD_MUTEX_INITIALIZER; /* leaf lock */
static struct held hold[BMC_DISCOVER_HELD_MAX];

static void wipe_free(char *p)
{
    if (!p)
        return;
    volatile char *v = p;
    while (*v)
        *v++ = '\0';
    free(p);
}

/* Keep password; *ref (new string) names it.  UL_ERR_BUSY when full. */
static ul_err hold_put(const char *password, char **ref, ul_errmsg *em)
{
    ul_err rc = ul_errmsg_set(em, UL_ERR_BUSY,
                              "%d discoveries are already waiting to run: try again when they "
                              "have started",
                              BMC_DISCOVER_HELD_MAX);
    pthread_mutex_lock(&hold_lock);
    for (size_t i = 0; i < BMC_DISCOVER_HELD_MAX; i++) {
        if (hold[i].ref)
            continue;
        hold[i].ref = secret_token_new();
        hold[i].password = xstrdup(password);
        *ref = xstrdup(hold[i].ref);
        rc = UL_OK;
        break;
    }
    pthread_mutex_unlock(&hold_lock);
    return rc;
}

/* Remove the password named ref; returns it (caller wipes and frees) or
 * NULL when it is not held. */
static char *hold_take(const char *ref)
{
    char *pw = NULL;
    pthread_mutex_lock(&hold_lock);
    for (size_t i = 0; i < BMC_DISCOVER_HELD_MAX && ref; i++) {
        if (hold[i].ref && strcmp(hold[i].ref, ref) == 0) {
            pw = hold[i].password;
            free(hold[i].ref);
            hold[i].ref = NULL;
            hold[i].password = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&hold_lock);
    return pw;
}

/* ---- names ---- */

ul_err bmc_discover_template_check(const char *tmpl, ul_errmsg *em)
{
    bool varies = false;
    if (!tmpl || !*tmpl || strlen(tmpl) > BMC_DISCOVER_TEMPLATE_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'name_template': must be 1-%d characters",
                             BMC_DISCOVER_TEMPLATE_MAX);
    for (const char *p = tmpl; *p; p++) {
        if (*p == '}')
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'name_template': '}' without '{' in '%s'", tmpl);
        if (*p != '{')
            continue;
        const char *end = strchr(p, '}');
        size_t len = end ? (size_t)(end - p - 1) : 0;
        if (end && len == 2 && strncmp(p + 1, "id", 2) == 0)
            varies = true;
        else if (end && len == 5 && strncmp(p + 1, "index", 5) == 0)
            varies = true;
        else if (!end || len != 6 || strncmp(p + 1, "prefix", 6) != 0)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'name_template': unknown placeholder in '%s' (known: "
                                 "{prefix}, {id}, {index})",
                                 tmpl);
        p = end;
    }
    if (!varies)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'name_template': '%s' has neither {id} nor {index}: every "
                             "system would get the same name",
                             tmpl);
    return UL_OK;
}

static bool name_char(char c)
{
    return isalnum((unsigned char)c) || c == '.' || c == '-' || c == '_';
}

ul_err bmc_discover_name(const char *tmpl, const char *prefix, const char *id, int index,
                         char *out, size_t outlen, ul_errmsg *em)
{
    size_t used = 0;
    char num[16];
    snprintf(num, sizeof(num), "%d", index);
    for (const char *p = tmpl; *p && used < outlen; p++) {
        const char *part = NULL;
        if (*p == '{' && strncmp(p, "{prefix}", 8) == 0)
            part = prefix, p += 7;
        else if (*p == '{' && strncmp(p, "{id}", 4) == 0)
            part = id, p += 3;
        else if (*p == '{' && strncmp(p, "{index}", 7) == 0)
            part = num, p += 6;
        if (!part) {
            out[used++] = name_char(*p) ? *p : '-';
            continue;
        }
        for (; *part && used < outlen; part++)
            out[used++] = name_char(*part) ? *part : '-';
    }
    if (used >= outlen) {
        out[outlen - 1] = '\0';
        return ul_errmsg_set(em, UL_ERR_INVALID, "the name for system '%.64s' is too long",
                             id);
    }
    out[used] = '\0';
    if (!node_name_valid(out))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "the name '%.64s' for system '%.64s' is not a valid node name "
                             "(1-%d letters, digits, '.', '-' or '_', starting with a letter or "
                             "digit)",
                             out, id, NODE_NAME_MAX);
    return UL_OK;
}

/* ---- checks shared by submit and validate ---- */

/* The endpoint must name a driver with a discover slot and no path. */
static ul_err check_target(const char *driver, const char *endpoint, json_object *options,
                           const struct ul_driver **d, ul_errmsg *em)
{
    struct ul_endpoint ep;
    ul_err rc;
    if (!endpoint)
        return ul_errmsg_set(em, UL_ERR_INVALID, "missing required field 'endpoint'");
    if ((rc = bmc_node_check(driver, endpoint, options, d, em)) != UL_OK)
        return rc;
    if ((rc = node_endpoint_parse(endpoint, &ep, em)) != UL_OK)
        return rc;
    if (ep.path[0] && strcmp(ep.path, "/") != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'endpoint': discovery takes the service's address without a "
                             "path (like redfish://host), not '%.200s'",
                             endpoint);
    if (!(*d)->discover)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "driver %s cannot discover the systems behind an endpoint: enrol "
                             "each node with its own endpoint",
                             (*d)->name);
    return UL_OK;
}

static ul_err check_names(const char *prefix, const char *tmpl, ul_errmsg *em)
{
    if (!prefix || !node_name_valid(prefix))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'prefix': '%.64s' must be 1-%d letters, digits, '.', '-' or "
                             "'_', starting with a letter or digit",
                             prefix ? prefix : "", NODE_NAME_MAX);
    return bmc_discover_template_check(tmpl ? tmpl : BMC_DISCOVER_TEMPLATE, em);
}

static ul_err discover_validate(json_object *params, ul_errmsg *em)
{
    const struct ul_driver *d;
    json_object *options = NULL;
    json_object_object_get_ex(params, "options", &options);
    ul_err rc = check_names(jv_str(params, "prefix"), jv_str(params, "name_template"), em);
    if (rc == UL_OK)
        rc = check_target(jv_str(params, "driver"), jv_str(params, "endpoint"), options, &d, em);
    return rc;
}

static void discover_discard(json_object *params)
{
    wipe_free(hold_take(jv_str(params, "secret")));
}

/* ---- submit ---- */

static void put_str(json_object *o, const char *key, const char *v)
{
    if (v)
        json_object_object_add(o, key, json_object_new_string(v));
}

ul_err bmc_discover_submit(ul_app *app, ul_jobs *jobs, const struct bmc_discover_req *r,
                           struct ul_job **job, ul_errmsg *em)
{
    const struct ul_driver *d;
    char *ref = NULL;
    json_object *params = NULL;
    *job = NULL;
    ul_err rc = check_names(r->prefix, r->name_template, em);
    if (rc == UL_OK)
        rc = check_target(r->driver, r->endpoint, r->options, &d, em);
    if (rc == UL_OK && r->labels && (rc = node_labels_check(r->labels, em)) != UL_OK)
        return rc;
    if (rc == UL_OK && r->state && !node_state_valid(r->state))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'state': '%.32s' is not one of enrolled, ready, maintenance, "
                             "provisioning, deployed, retired",
                             r->state);
    if (rc != UL_OK)
        return rc;
    if (r->password && *r->password && (rc = hold_put(r->password, &ref, em)) != UL_OK)
        goto out;
    params = json_object_new_object();
    put_str(params, "prefix", r->prefix);
    put_str(params, "name_template", r->name_template ? r->name_template : BMC_DISCOVER_TEMPLATE);
    put_str(params, "endpoint", r->endpoint);
    put_str(params, "driver", r->driver);
    put_str(params, "username", r->username && *r->username ? r->username : NULL);
    put_str(params, "secret", ref);
    put_str(params, "state", r->state);
    put_str(params, "actor", r->actor);
    if (r->labels)
        json_object_object_add(params, "labels", json_object_get(r->labels));
    if (r->options)
        json_object_object_add(params, "options", json_object_get(r->options));
    rc = jobs_submit(jobs, BMC_DISCOVER_JOB, NULL, params, r->actor, r->timeout_s, job, em);
    if (rc != UL_OK)
        wipe_free(hold_take(ref));
    json_object *detail = json_object_new_object();
    put_str(detail, "endpoint", r->endpoint);
    if (*job)
        json_object_object_add(detail, "job", json_object_new_int64((*job)->id));
    app_audit(app, r->actor, "node.discover", r->prefix, rc, detail);
    json_object_put(detail);
out:
    free(ref);
    json_object_put(params);
    return rc;
}

/* ---- the job ---- */

/* Ask the driver for the service's systems. */
static ul_err list_systems(ul_job_ctx *ctx, json_object *params, const char *password,
                           json_object **found, const char **driver, ul_errmsg *em)
{
    const struct bmc_ops_config *cfg = job_ctx_user(ctx);
    const struct ul_driver *d;
    struct ul_bmc_session *s = NULL;
    json_object *options = NULL;
    json_object_object_get_ex(params, "options", &options);
    ul_err rc = check_target(jv_str(params, "driver"), jv_str(params, "endpoint"), options, &d, em);
    if (rc != UL_OK)
        return rc;
    struct ul_bmc_target t = {
        .node = jv_str(params, "prefix"),
        .username = jv_str(params, "username"),
        .password = password,
        .options = options,
        .timeout_ms = cfg && cfg->call_timeout_ms > 0 ? cfg->call_timeout_ms : 0,
    };
    if ((rc = node_endpoint_parse(jv_str(params, "endpoint"), &t.ep, em)) != UL_OK)
        return rc;
    *driver = d->name;
    if ((rc = d->open(&t, &s, em)) != UL_OK)
        return rc;
    if (d->bind_job)
        d->bind_job(s, job_ctx_deadline(ctx), bmc_op_should_stop, ctx);
    rc = d->discover(s, found, em);
    d->close(s);
    return rc;
}

static void add_skipped(json_object *skipped, const char *name, const char *path,
                        const char *reason)
{
    json_object *o = json_object_new_object();
    put_str(o, "name", name);
    put_str(o, "path", path);
    put_str(o, "reason", reason);
    json_object_array_add(skipped, o);
}

/* The key endpoints are compared by: lower-case, without trailing
 * slashes (a service's links differ in both, never in meaning). */
static char *endpoint_key(const char *ep)
{
    char *k = xstrdup(ep);
    size_t n = strlen(k);
    while (n && k[n - 1] == '/')
        k[--n] = '\0';
    for (char *p = k; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    return k;
}

/* The endpoints of the nodes of driver, mapped to their names: a system
 * already enrolled under another name is skipped, not enrolled twice. */
static ul_err enrolled_endpoints(ul_store *st, const char *driver, json_object **out,
                                 ul_errmsg *em)
{
    json_object *map = json_object_new_object();
    struct ul_node_filter f = {.driver = driver, .limit = 1000};
    ul_err rc = UL_OK;
    for (;;) {
        struct ul_node_list l = {0};
        if ((rc = store_node_list(st, &f, &l, em)) != UL_OK)
            break;
        for (size_t i = 0; i < l.count; i++) {
            if (!l.items[i]->endpoint)
                continue;
            char *k = endpoint_key(l.items[i]->endpoint);
            json_object_object_add(map, k, json_object_new_string(l.items[i]->name));
            free(k);
        }
        size_t got = l.count;
        store_node_list_free(&l);
        if (got < (size_t)f.limit)
            break;
        f.offset += f.limit;
    }
    if (rc != UL_OK) {
        json_object_put(map);
        map = NULL;
    }
    *out = map;
    return rc;
}

/* One node for one system, through the application layer. */
static void create_one(ul_app *app, json_object *params, const char *password, json_object *sys,
                       int index, json_object *enrolled, json_object *created,
                       json_object *skipped)
{
    const char *id = jv_str(sys, "id"), *path = jv_str(sys, "path");
    char name[NODE_NAME_MAX + 1];
    ul_errmsg em;
    if (!id || !path || path[0] != '/') {
        add_skipped(skipped, NULL, path, "the driver gave no id or path");
        return;
    }
    if (bmc_discover_name(jv_str(params, "name_template"), jv_str(params, "prefix"), id, index,
                          name, sizeof(name), &em) != UL_OK) {
        add_skipped(skipped, NULL, path, em.text);
        return;
    }
    /* The service's endpoint (checked: no path) plus the system's path. */
    const char *ep = jv_str(params, "endpoint");
    size_t eplen = strlen(ep);
    while (eplen && ep[eplen - 1] == '/')
        eplen--;
    char *endpoint = xasprintf("%.*s%s", (int)eplen, ep, path);
    char *key = endpoint_key(endpoint);
    json_object *other = NULL;
    bool known = json_object_object_get_ex(enrolled, key, &other);
    free(key);
    if (known) {
        char why[NODE_NAME_MAX + 64];
        snprintf(why, sizeof(why), "already enrolled as node %s", json_object_get_string(other));
        add_skipped(skipped, name, path, why);
        free(endpoint);
        return;
    }
    struct ul_node *n = node_new();
    n->name = xstrdup(name);
    n->endpoint = endpoint;
    const char *v;
    if ((v = jv_str(params, "driver")))
        n->driver = xstrdup(v);
    if ((v = jv_str(params, "username")))
        n->username = xstrdup(v);
    if (password)
        n->password = xstrdup(password);
    if ((v = jv_str(params, "state")))
        n->state = xstrdup(v);
    json_object *labels = NULL, *options = NULL;
    if (json_object_object_get_ex(params, "labels", &labels)) {
        json_object_put(n->labels);
        n->labels = json_object_get(labels);
    }
    if (json_object_object_get_ex(params, "options", &options)) {
        json_object_put(n->options);
        n->options = json_object_get(options);
    }
    const char *actor = jv_str(params, "actor");
    ul_err rc = app_node_create(app, actor ? actor : "?", n, &em);
    if (rc == UL_OK) {
        json_object *o = json_object_new_object();
        put_str(o, "name", n->name);
        put_str(o, "endpoint", n->endpoint);
        put_str(o, "system_id", id);
        put_str(o, "system_name", jv_str(sys, "name"));
        json_object_array_add(created, o);
    } else if (rc == UL_ERR_CONFLICT) {
        add_skipped(skipped, name, path, "a node of that name already exists");
    } else {
        add_skipped(skipped, name, path, em.text);
    }
    if (n->password)
        wipe_free(n->password);
    n->password = NULL;
    node_free(n);
}

static ul_err discover_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                           ul_errmsg *em)
{
    const char *ref = jv_str(params, "secret");
    char *password = hold_take(ref);
    json_object *found = NULL, *enrolled = NULL;
    const char *driver = NULL;
    ul_app *app = NULL;
    ul_err rc;
    if (ref && !password) {
        rc = ul_errmsg_set(em, UL_ERR_INTERRUPTED,
                           "the password of this discovery was held in memory only and is gone "
                           "(the daemon restarted?): submit the discovery again");
        goto out;
    }
    job_ctx_progress(ctx, 10, "listing the systems behind %s", jv_str(params, "endpoint"));
    if ((rc = list_systems(ctx, params, password, &found, &driver, em)) != UL_OK) {
        ul_errmsg_prefix(em, "discovering systems");
        goto out;
    }
    if ((rc = job_ctx_check(ctx, em)) != UL_OK)
        goto out;
    if ((rc = enrolled_endpoints(job_ctx_store(ctx), driver, &enrolled, em)) != UL_OK)
        goto out;
    app = app_new(job_ctx_store(ctx), NULL, &ops_app_hooks);
    json_object *systems = NULL, *skipped_found = NULL;
    json_object_object_get_ex(found, "systems", &systems);
    json_object_object_get_ex(found, "skipped", &skipped_found);
    json_object *res = json_object_new_object();
    json_object *created = json_object_new_array(), *skipped = json_object_new_array();
    json_object_object_add(res, "created", created);
    json_object_object_add(res, "skipped", skipped);
    size_t n = json_object_is_type(systems, json_type_array) ? json_object_array_length(systems) : 0;
    job_ctx_progress(ctx, 50, "enrolling %zu systems", n);
    for (size_t i = 0; i < n; i++)
        create_one(app, params, password, json_object_array_get_idx(systems, i), (int)i + 1,
                   enrolled, created, skipped);
    for (size_t i = 0; json_object_is_type(skipped_found, json_type_array) &&
                       i < json_object_array_length(skipped_found);
         i++) {
        json_object *k = json_object_array_get_idx(skipped_found, i);
        add_skipped(skipped, NULL, jv_str(k, "path"), jv_str(k, "reason"));
    }
    json_object_object_foreach(found, key, val)
    {
        if (strcmp(key, "systems") != 0 && strcmp(key, "skipped") != 0)
            json_object_object_add(res, key, json_object_get(val));
    }
    ul_info("discovery at %s: %zu nodes created, %zu skipped%s", jv_str(params, "endpoint"),
            json_object_array_length(created), json_object_array_length(skipped),
            json_object_get_boolean(json_object_object_get(found, "auth_fallback"))
                ? " (basic authentication: the login gave no token)"
                : "");
    *result = res;
out:
    app_free(app);
    json_object_put(enrolled);
    json_object_put(found);
    wipe_free(password);
    return rc;
}

static const struct ul_job_type discover_type = {
    .name = BMC_DISCOVER_JOB,
    .needs_node = false,
    .validate = discover_validate,
    .resumable = NULL, /* the password is held in memory only */
    .run = discover_run,
    .discard = discover_discard,
};

void bmc_discover_register(ul_jobs *jobs)
{
    jobs_register(jobs, &discover_type);
}
