/* routes_ops.c - operations on a node's BMC.  Each becomes a job: the
 * handler checks the request, persists the job and answers 202 with it; a
 * worker talks to the BMC.  Also the stored results those jobs leave behind
 * (events, inventory). */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "core/jobs.h"
#include "ultime.h"
#include "xalloc.h"

#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))

/* Submit job `type` for the node in the path with params through the app
 * layer: a node whose driver lacks the capability is answered 501 at once
 * and no job is queued.  audit_action (NULL for reads) names the audit
 * record. */
static void submit_node_job(api_server *srv, struct api_req *rq, struct api_reply *rp,
                            const char *type, json_object *params, int timeout_s,
                            const char *audit_action)
{
    struct ul_job *job = NULL;
    ul_errmsg em;
    struct app_job_req r = {
        .actor = rq->actor,
        .node = rq->segs[3],
        .type = type,
        .params = params,
        .timeout_s = timeout_s,
        .audit_action = audit_action,
    };
    ul_err rc = app_job_submit(srv->app, &r, &job, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    api_reply_job_accepted(rp, job);
    job_free(job);
}

/* Split the optional "timeout" off a request body; the rest are the job's
 * parameters (a new object).  Returns false with rp set on a bad timeout. */
static bool take_timeout(json_object *body, struct api_reply *rp, int *timeout_s,
                         json_object **params)
{
    json_object *t;
    *timeout_s = 0;
    if (json_object_object_get_ex(body, "timeout", &t)) {
        int64_t v = json_object_get_int64(t);
        if (v < 1 || v > 86400) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                      "field 'timeout': must be 1 to 86400 seconds");
            return false;
        }
        *timeout_s = (int)v;
    }
    *params = json_object_new_object();
    json_object_object_foreach(body, key, val)
    {
        if (strcmp(key, "timeout") != 0)
            json_object_object_add(*params, key, json_object_get(val));
    }
    return true;
}

/* Parse the body against fields (an empty body counts as {}) into the job's
 * params (new object) and timeout.  False with rp set on bad input. */
static bool body_params(struct api_req *rq, struct api_reply *rp, const struct jv_field *fields,
                        size_t nfields, json_object **params, int *timeout_s)
{
    json_object *body;
    *params = NULL;
    if (rq->body_len == 0) {
        body = json_object_new_object();
        ul_errmsg em;
        if (jv_check(body, fields, nfields, &em) != UL_OK) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument", "%s", em.text);
            json_object_put(body);
            return false;
        }
    } else if (!(body = api_body(rq, rp, fields, nfields))) {
        return false;
    }
    bool ok = take_timeout(body, rp, timeout_s, params);
    json_object_put(body);
    return ok;
}

/* A job whose parameters are its request body. */
static void body_job(api_server *srv, struct api_req *rq, struct api_reply *rp,
                     const struct jv_field *fields, size_t nfields, const char *type,
                     const char *audit_action)
{
    json_object *params;
    int timeout_s;
    if (body_params(rq, rp, fields, nfields, &params, &timeout_s))
        submit_node_job(srv, rq, rp, type, params, timeout_s, audit_action);
    json_object_put(params);
}

static const struct jv_field power_fields[] = {
    {"action", JV_STRING, true, 16},
    {"timeout", JV_INT, false, 0},
    {"dry_run", JV_BOOL, false, 0},
};

void route_node_power(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *params;
    int timeout_s;
    if (body_params(rq, rp, power_fields, NFIELDS(power_fields), &params, &timeout_s)) {
        const char *action = jv_str(params, "action");
        char audit[32];
        snprintf(audit, sizeof(audit), "power.%s", action);
        submit_node_job(srv, rq, rp, "power", params, timeout_s,
                        strcmp(action, "status") == 0 ? NULL : audit);
    }
    json_object_put(params);
}

static const struct jv_field boot_fields[] = {
    {"device", JV_STRING, false, 16},
    {"persistent", JV_BOOL, false, 0},
    {"mode", JV_STRING, false, 16},
    {"dry_run", JV_BOOL, false, 0},
    {"timeout", JV_INT, false, 0},
};

void route_node_boot(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *params;
    int timeout_s;
    if (body_params(rq, rp, boot_fields, NFIELDS(boot_fields), &params, &timeout_s)) {
        /* Reading the override is not worth an audit record; changing it is. */
        bool sets = json_object_object_get_ex(params, "device", NULL);
        submit_node_job(srv, rq, rp, "boot", params, timeout_s, sets ? "boot.set" : NULL);
    }
    json_object_put(params);
}

static const struct jv_field identify_fields[] = {
    {"state", JV_STRING, true, 8},
    {"seconds", JV_INT, false, 0},
    {"timeout", JV_INT, false, 0},
};

void route_node_identify(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *params;
    int timeout_s;
    if (body_params(rq, rp, identify_fields, NFIELDS(identify_fields), &params, &timeout_s)) {
        const char *state = jv_str(params, "state");
        /* reading the LED is not worth an audit record; changing it is */
        const char *audit = !state || strcmp(state, "status") == 0 ? NULL
                            : strcmp(state, "on") == 0          ? "identify.on"
                                                                : "identify.off";
        submit_node_job(srv, rq, rp, "identify", params, timeout_s, audit);
    }
    json_object_put(params);
}

static const struct jv_field bmc_reset_fields[] = {
    {"type", JV_STRING, false, 8},
    {"timeout", JV_INT, false, 0},
};

/* Drops every session on the BMC (admin only, always audited). */
void route_node_bmc_reset(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, bmc_reset_fields, NFIELDS(bmc_reset_fields), "bmc.reset", "bmc.reset");
}

static const struct jv_field timeout_only[] = {
    {"timeout", JV_INT, false, 0},
};

void route_node_sensors(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, timeout_only, NFIELDS(timeout_only), "sensors", NULL);
}

void route_node_inventory_refresh(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, timeout_only, NFIELDS(timeout_only), "inventory", NULL);
}

void route_node_sel(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, timeout_only, NFIELDS(timeout_only), "sel", NULL);
}

/* Clearing a BMC's log destroys evidence: admin only, always audited. */
void route_node_sel_clear(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *params;
    int timeout_s;
    if (body_params(rq, rp, timeout_only, NFIELDS(timeout_only), &params, &timeout_s)) {
        json_object_object_add(params, "clear", json_object_new_boolean(true));
        submit_node_job(srv, rq, rp, "sel", params, timeout_s, "sel.clear");
    }
    json_object_put(params);
}

void route_node_inventory_get(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = rq->segs[3];
    char *text = NULL;
    int64_t updated = 0;
    ul_errmsg em;
    struct ul_node *n = NULL;
    ul_err rc = node_name_valid(name)
                    ? store_node_get(srv->st, name, false, &n, &em)
                    : ul_errmsg_set(&em, UL_ERR_NOT_FOUND, "node '%.64s' not found", name);
    if (rc == UL_OK)
        rc = store_inventory_get(srv->st, name, &text, &updated, &em);
    node_free(n);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    json_object *inv = NULL;
    if (jv_parse(text, strlen(text), 0, &inv, &em) != UL_OK)
        inv = json_object_new_object();
    free(text);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "node", json_object_new_string(name));
    json_object_object_add(body, "updated_at", view_time(updated));
    json_object_object_add(body, "inventory", inv);
    api_reply_json(rp, MHD_HTTP_OK, body);
}

void route_events_list(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    struct ul_event_filter f = {0};
    if (!api_query_page(srv, rq, rp, &f.limit, &f.offset))
        return;
    f.node = api_query(rq, "node");
    f.source = api_query(rq, "source");
    f.severity = api_query(rq, "severity");
    if (f.severity && strcmp(f.severity, "info") != 0 && strcmp(f.severity, "warning") != 0 &&
        strcmp(f.severity, "critical") != 0) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'severity': must be info, warning or critical");
        return;
    }
    const char *names[2] = {"since", "until"};
    int64_t *dst[2] = {&f.since, &f.until};
    for (int i = 0; i < 2; i++) {
        const char *v = api_query(rq, names[i]);
        if (!v)
            continue;
        if ((*dst[i] = ul_time_parse(v)) < 0) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                      "query parameter '%s': must be RFC 3339 UTC (2026-11-24T20:00:00Z) or "
                      "epoch seconds",
                      names[i]);
            return;
        }
    }
    struct ul_event_list_rec list;
    ul_errmsg em;
    ul_err rc = store_events_list(srv->st, &f, &list, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < list.count; i++) {
        struct ul_event_rec *e = &list.items[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(e->id));
        json_object_object_add(o, "node", json_object_new_string(e->node));
        json_object_object_add(o, "source", json_object_new_string(e->source));
        json_object_object_add(o, "record_id", json_object_new_string(e->record_id));
        json_object_object_add(o, "time", view_time(e->time));
        json_object_object_add(o, "severity", json_object_new_string(e->severity));
        json_object_object_add(o, "sensor", json_object_new_string(e->sensor));
        json_object_object_add(o, "message", json_object_new_string(e->message));
        json_object_array_add(items, o);
    }
    api_reply_json(rp, MHD_HTTP_OK, view_page(items, list.total, f.limit, f.offset));
    store_events_list_free(&list);
}

/* ---- configuration: BIOS, RAID, firmware ----
 * Changes that take a reboot or a long BMC task get a longer default job
 * timeout than the daemon's: a BIOS apply goes through POST, a firmware
 * task can take most of an hour on real BMCs. */

#define CONFIG_TIMEOUT_S 1800
#define FIRMWARE_TIMEOUT_S 3600

static void config_job(api_server *srv, struct api_req *rq, struct api_reply *rp,
                       const struct jv_field *fields, size_t nfields, const char *type,
                       int default_timeout_s, const char *audit_action)
{
    json_object *params;
    int timeout_s;
    if (body_params(rq, rp, fields, nfields, &params, &timeout_s))
        submit_node_job(srv, rq, rp, type, params, timeout_s ? timeout_s : default_timeout_s,
                        audit_action);
    json_object_put(params);
}

void route_node_bios_read(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, timeout_only, NFIELDS(timeout_only), "bios.read", NULL);
}

static const struct jv_field bios_set_fields[] = {
    {"attributes", JV_OBJECT, true, 0},
    {"apply", JV_STRING, false, 16},
    {"timeout", JV_INT, false, 0},
    {"dry_run", JV_BOOL, false, 0},
};

void route_node_bios_set(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    config_job(srv, rq, rp, bios_set_fields, NFIELDS(bios_set_fields), "bios.set", CONFIG_TIMEOUT_S,
               "bios.set");
}

void route_node_raid_read(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, timeout_only, NFIELDS(timeout_only), "raid.read", NULL);
}

static const struct jv_field volume_fields[] = {
    {"controller", JV_STRING, false, 64}, {"name", JV_STRING, true, 64},
    {"raid_type", JV_STRING, true, 16},   {"drives", JV_ARRAY, false, 0},
    {"capacity_bytes", JV_INT, false, 0}, {"timeout", JV_INT, false, 0},
    {"dry_run", JV_BOOL, false, 0},
};

void route_node_volume_create(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    config_job(srv, rq, rp, volume_fields, NFIELDS(volume_fields), "raid.create", CONFIG_TIMEOUT_S,
               "raid.create");
}

/* DELETE /nodes/NAME/raid/volumes/ID[?controller=C] */
void route_node_volume_delete(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *controller = api_query(rq, "controller");
    if (controller && (!*controller || strlen(controller) > 64)) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'controller': 1 to 64 characters");
        return;
    }
    json_object *params = json_object_new_object();
    json_object_object_add(params, "volume", json_object_new_string(rq->segs[6]));
    if (controller)
        json_object_object_add(params, "controller", json_object_new_string(controller));
    const char *dry = api_query(rq, "dry_run");
    if (dry && strcmp(dry, "true") != 0 && strcmp(dry, "false") != 0) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'dry_run': true or false");
        json_object_put(params);
        return;
    }
    if (dry && strcmp(dry, "true") == 0)
        json_object_object_add(params, "dry_run", json_object_new_boolean(true));
    submit_node_job(srv, rq, rp, "raid.delete", params, CONFIG_TIMEOUT_S, "raid.delete");
    json_object_put(params);
}

void route_node_firmware_list(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    body_job(srv, rq, rp, timeout_only, NFIELDS(timeout_only), "firmware.list", NULL);
}

static const struct jv_field fw_update_fields[] = {
    {"image_uri", JV_STRING, true, 2048}, {"targets", JV_ARRAY, false, 0},
    {"apply", JV_STRING, false, 16},      {"stall_timeout", JV_INT, false, 0},
    {"timeout", JV_INT, false, 0},        {"dry_run", JV_BOOL, false, 0},
    {"version", JV_STRING, false, 128},
};

void route_node_firmware_update(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    config_job(srv, rq, rp, fw_update_fields, NFIELDS(fw_update_fields), "firmware.update",
               FIRMWARE_TIMEOUT_S, "firmware.update");
}

/* POST /nodes/NAME/firmware/upload?targets=A,B&apply=now|on-reset&timeout=S
 * &stall_timeout=S with the image as the body (server.c spooled it to
 * disk).  The job takes the file over and removes it once the BMC has it. */
void route_node_firmware_upload(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (rq->upload_nospace) {
        api_error(rp, MHD_HTTP_INSUFFICIENT_STORAGE, "io_error",
                  "not enough free space under the daemon's data directory for this image");
        return;
    }
    if (rq->upload_failed || !rq->upload_path) {
        api_error(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "io_error",
                  "the uploaded image could not be stored (see the daemon's log)");
        return;
    }
    if (rq->upload_len == 0) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "empty body: send the firmware image as the request body");
        return;
    }
    long timeout_s, stall_s;
    if (!api_query_int(rq, rp, "timeout", FIRMWARE_TIMEOUT_S, 1, 86400, &timeout_s) ||
        !api_query_int(rq, rp, "stall_timeout", 0, 0, 86400, &stall_s))
        return;
    /* The file's own name, passed on to the BMC (it shows in its logs). */
    const char *name = api_query(rq, "name");
    if (name && (!*name || strlen(name) > 128 || name[0] == '.' ||
                 strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                              "0123456789._-+") != strlen(name))) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'name': 1 to 128 of A-Z a-z 0-9 . _ - +, not starting "
                  "with '.'");
        return;
    }
    /* Durable before the job that names it is. */
    int synced = fsync(rq->upload_fd), closed = close(rq->upload_fd);
    if (synced != 0 || closed != 0) {
        rq->upload_fd = -1;
        api_error(rp, MHD_HTTP_INTERNAL_SERVER_ERROR, "io_error",
                  "the uploaded image could not be written to disk");
        return;
    }
    rq->upload_fd = -1;
    json_object *params = json_object_new_object();
    json_object_object_add(params, "file", json_object_new_string(rq->upload_path));
    const char *targets = api_query(rq, "targets");
    if (targets && *targets) {
        json_object *arr = json_object_new_array();
        char *copy = xstrdup(targets), *save = NULL;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
            json_object_array_add(arr, json_object_new_string(t));
        free(copy);
        json_object_object_add(params, "targets", arr);
    }
    const char *apply = api_query(rq, "apply");
    if (apply)
        json_object_object_add(params, "apply", json_object_new_string(apply));
    if (stall_s)
        json_object_object_add(params, "stall_timeout", json_object_new_int64(stall_s));
    json_object *up = json_object_new_object();
    json_object_object_add(up, "bytes", json_object_new_int64(rq->upload_len));
    if (name)
        json_object_object_add(up, "name", json_object_new_string(name));
    json_object_object_add(params, "upload", up);
    submit_node_job(srv, rq, rp, "firmware.update", params, (int)timeout_s, "firmware.upload");
    if (rp->status == MHD_HTTP_ACCEPTED) {
        free(rq->upload_path); /* the job owns the file now */
        rq->upload_path = NULL;
    }
    json_object_put(params);
}
