/* routes_batch.c - one operation over many nodes: POST /api/v1/power and
 * /api/v1/boot with {"nodes": host list or array, ...the per-node fields}.
 * Each becomes one parent job of type "batch" (core/batch.h) with a child
 * job per node, answered 202 at once; GET /api/v1/jobs/{id} then shows the
 * children's counts and ?parent=ID lists them. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/app.h"
#include "core/batch.h"
#include "core/jobs.h"
#include "hostlist.h"
#include "xalloc.h"

/* The node list of a batch request: a host list expression or an array of
 * names, each an existing node whose driver can run type (501 naming the
 * first that cannot).  *names a new array; false with rp set. */
static bool batch_nodes(api_server *srv, json_object *body, const char *type, json_object *cparams,
                        struct api_reply *rp, json_object **names)
{
    json_object *v = NULL;
    *names = NULL;
    json_object_object_get_ex(body, "nodes", &v);
    json_object *out = json_object_new_array();
    ul_errmsg em;
    if (json_object_is_type(v, json_type_string)) {
        hostlist hl = {0};
        if (hostlist_expand(json_object_get_string(v), &hl, &em) != UL_OK) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument", "field 'nodes': %s", em.text);
            json_object_put(out);
            return false;
        }
        for (size_t i = 0; i < hl.count; i++)
            json_object_array_add(out, json_object_new_string(hl.hosts[i]));
        hostlist_free(&hl);
    } else if (json_object_is_type(v, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(v); i++) {
            json_object *e = json_object_array_get_idx(v, i);
            if (!json_object_is_type(e, json_type_string)) {
                api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                          "field 'nodes[%zu]': must be a node name", i);
                json_object_put(out);
                return false;
            }
            json_object_array_add(out, json_object_get(e));
        }
    } else {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "field 'nodes': must be a host list (\"rack1-n[01-08]\") or an array of names");
        json_object_put(out);
        return false;
    }
    size_t n = json_object_array_length(out);
    if (n == 0 || n > BATCH_MAX_NODES) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "field 'nodes': must name 1 to %d nodes", BATCH_MAX_NODES);
        json_object_put(out);
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        const char *name = json_object_get_string(json_object_array_get_idx(out, i));
        ul_err rc = app_job_check(srv->app, name, type, cparams, false, &em);
        if (rc != UL_OK) {
            api_error_from(rp, rc, em.text);
            json_object_put(out);
            return false;
        }
    }
    *names = out;
    return true;
}

/* Check the body, the per-node parameters against the child type's own
 * rules, and submit the parent. */
static void submit_batch(api_server *srv, struct api_req *rq, struct api_reply *rp,
                         const char *type, const struct jv_field *fields, size_t nfields,
                         const char *audit_prefix, const char *audit_field)
{
    json_object *body = api_body(rq, rp, fields, nfields);
    if (!body)
        return;
    json_object *names = NULL, *cparams = json_object_new_object(), *params = NULL;
    struct ul_job *job = NULL;
    ul_errmsg em;
    json_object_object_foreach(body, key, val)
    {
        if (strcmp(key, "nodes") != 0 && strcmp(key, "timeout") != 0)
            json_object_object_add(cparams, key, json_object_get(val));
    }
    if (!batch_nodes(srv, body, type, cparams, rp, &names))
        goto out;
    const struct ul_job_type *t = jobs_find_type(srv->jobs, type);
    if (t && t->validate && t->validate(cparams, &em) != UL_OK) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument", "%s", em.text);
        goto out;
    }
    params = json_object_new_object();
    json_object_object_add(params, "type", json_object_new_string(type));
    json_object_object_add(params, "nodes", json_object_get(names));
    json_object_object_add(params, "params", json_object_get(cparams));
    json_object *to = NULL;
    if (json_object_object_get_ex(body, "timeout", &to)) {
        int64_t v = json_object_get_int64(to);
        if (v < 1 || v > 86400) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                      "field 'timeout': must be 1 to 86400 seconds");
            goto out;
        }
        json_object_object_add(params, "timeout", json_object_new_int64(v));
    }
    /* The parent's own deadline covers the whole fan-out: a day, so a
     * large batch is bounded by its children's timeouts, not by it. */
    ul_err rc = jobs_submit(srv->jobs, "batch", NULL, params, rq->actor, 86400, &job, &em);
    const char *what = audit_field ? jv_str(cparams, audit_field) : NULL;
    if (!what || !audit_field || strcmp(audit_prefix, "power") != 0 || strcmp(what, "status")) {
        char action[64];
        snprintf(action, sizeof(action), "%s%s%s", audit_prefix, what ? "." : "",
                 what ? what : "");
        json_object *detail = json_object_new_object();
        json_object_object_add(detail, "params", json_object_get(cparams));
        json_object_object_add(detail, "nodes",
                               json_object_new_int((int)json_object_array_length(names)));
        if (job)
            json_object_object_add(detail, "job", json_object_new_int64(job->id));
        json_object *expr = NULL;
        json_object_object_get_ex(body, "nodes", &expr);
        api_audit(srv, rq, action,
                  json_object_is_type(expr, json_type_string) ? json_object_get_string(expr)
                                                              : "(node list)",
                  rc, detail);
        json_object_put(detail);
    }
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    api_reply_job_accepted(rp, job);
out:
    job_free(job);
    json_object_put(params);
    json_object_put(cparams);
    json_object_put(names);
    json_object_put(body);
}

void route_batch_power(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    static const struct jv_field f[] = {
        {"nodes", JV_LIST, true, 0},
        {"action", JV_STRING, true, 16},
        {"timeout", JV_INT, false, 0},
    };
    submit_batch(srv, rq, rp, "power", f, sizeof(f) / sizeof(f[0]), "power", "action");
}

void route_batch_boot(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    static const struct jv_field f[] = {
        {"nodes", JV_LIST, true, 0},
        {"device", JV_STRING, false, 16},
        {"persistent", JV_BOOL, false, 0},
        {"mode", JV_STRING, false, 16},
        {"timeout", JV_INT, false, 0},
    };
    submit_batch(srv, rq, rp, "boot", f, sizeof(f) / sizeof(f[0]), "boot.set", NULL);
}
