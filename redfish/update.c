/* update.c - firmware inventory, updates and task following over Redfish.
 *
 * An update is started either with UpdateService.SimpleUpdate (the BMC
 * fetches ImageURI itself) or by pushing the image as multipart/form-data
 * to MultipartHttpPushUri (UpdateParameters JSON + UpdateFile).  The service
 * answers 202 Accepted with a task monitor in Location, usually with the
 * Task resource in the body.  We prefer polling the Task (it keeps its
 * state, messages and percentage after the end) and fall back to the
 * monitor (202 while running, then the operation's own reply).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

#define FW_MAX_COMPONENTS 256

/* ---- inventory ---- */

static ul_err fw_member(struct rf_session *s, json_object *f, const char *path, void *arg,
                        ul_errmsg *em)
{
    (void)s;
    (void)em;
    json_object *list = arg;
    json_object *o = rf_inv_firmware(f);
    rf_put_str(o, "software_id", f, "SoftwareId");
    rf_put_str(o, "health", rf_prop(f, "Status"), "Health");
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_array_add(list, o);
    return UL_OK;
}

/* The UpdateService resource and its path. */
static ul_err update_service(struct rf_session *s, json_object **us, char path[RF_PATH_MAX],
                             ul_errmsg *em)
{
    *us = NULL;
    const char *l = rf_prop_link(s->root, "UpdateService");
    if (!l)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: firmware updates not supported by this BMC (no "
                             "UpdateService)",
                             s->node);
    if (!rf_link_resolve("/redfish/v1", l, path, RF_PATH_MAX))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET /redfish/v1: 'UpdateService' is not a Redfish path",
                             s->node);
    return rf_get(s, path, us, NULL, em);
}

ul_err rf_firmware_list(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *us = NULL;
    char path[RF_PATH_MAX], fpath[RF_PATH_MAX];
    *out = NULL;
    ul_err rc = update_service(s, &us, path, em);
    if (rc != UL_OK)
        return rc;
    const char *l = rf_prop_link(us, "FirmwareInventory");
    if (!l || !rf_link_resolve(path, l, fpath, sizeof(fpath))) {
        json_object_put(us);
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: firmware inventory not supported by this BMC", s->node);
    }
    json_object_put(us);
    json_object *list = json_object_new_array();
    rc = rf_collection_walk(s, fpath, true, FW_MAX_COMPONENTS, NULL, fw_member, list, em);
    if (rc != UL_OK) {
        json_object_put(list);
        return rc;
    }
    *out = list;
    return UL_OK;
}

/* ---- tasks ---- */

bool rf_task_status_from(json_object *obj, struct ul_task_status *out)
{
    const char *state = rf_prop_str(obj, "TaskState");
    if (!state)
        return false;
    memset(out, 0, sizeof(*out));
    rf_copy_text(out->service_state, sizeof(out->service_state), state);
    static const char *const failed[] = {"Exception", "Killed", "Cancelled", "Interrupted"};
    out->state = UL_TASK_RUNNING;
    if (strcasecmp(state, "Completed") == 0)
        out->state = UL_TASK_DONE;
    else if (strcasecmp(state, "Pending") == 0)
        out->state = UL_TASK_PENDING;
    for (size_t i = 0; i < sizeof(failed) / sizeof(failed[0]); i++)
        if (strcasecmp(state, failed[i]) == 0)
            out->state = UL_TASK_FAILED;
    /* "Completed" with a Critical status is how some services end a task
     * that did not do its work. */
    const char *ts = rf_prop_str(obj, "TaskStatus");
    if (out->state == UL_TASK_DONE && ts && strcasecmp(ts, "Critical") == 0)
        out->state = UL_TASK_FAILED;
    double pct;
    out->percent =
        rf_prop_num(obj, "PercentComplete", &pct) && pct >= 0 && pct <= 100 ? (int)pct : -1;
    json_object *msgs = rf_prop(obj, "Messages");
    size_t n = json_object_is_type(msgs, json_type_array) ? json_object_array_length(msgs) : 0;
    /* The latest message says the current step, or why it failed. */
    for (size_t i = n; i > 0; i--) {
        const char *m = rf_prop_str(json_object_array_get_idx(msgs, i - 1), "Message");
        if (m && *m) {
            rf_copy_text(out->message, sizeof(out->message), m);
            break;
        }
    }
    return true;
}

void rf_task_ref_from_reply(struct rf_session *s, const char *base, const struct rf_reply *r,
                            struct ul_task_ref *task)
{
    memset(task, 0, sizeof(*task));
    char p[RF_PATH_MAX];
    if (r->location[0] && rf_link_resolve(base, r->location, p, sizeof(p)))
        snprintf(task->monitor, sizeof(task->monitor), "%s", p);
    json_object *body = NULL;
    ul_errmsg em;
    if (r->body && r->len && rf_parse(s, "POST", base, r->body, r->len, &body, &em) == UL_OK) {
        const char *id = rf_prop_str(body, "@odata.id");
        if (rf_prop(body, "TaskState") && id && rf_link_resolve(base, id, p, sizeof(p)))
            snprintf(task->task, sizeof(task->task), "%s", p);
        const char *mon = rf_prop_str(body, "TaskMonitor");
        if (!task->monitor[0] && mon && rf_link_resolve(base, mon, p, sizeof(p)))
            snprintf(task->monitor, sizeof(task->monitor), "%s", p);
    }
    json_object_put(body);
    /* A Location that is the Task itself (some services) is not a monitor. */
    if (task->monitor[0] && task->task[0] && rf_path_same(task->monitor, task->task))
        task->monitor[0] = '\0';
}

/* Follow the monitor once: 202 while running, then the operation's reply. */
static ul_err poll_monitor(struct rf_session *s, const char *path, struct ul_task_status *out,
                           ul_errmsg *em)
{
    struct rf_reply r = {0};
    ul_err rc = rf_request(s, "GET", path, NULL, NULL, &r, em);
    if (rc != UL_OK)
        return rc;
    json_object *body = NULL;
    ul_errmsg pem;
    if (r.body && r.len)
        rf_parse(s, "GET", path, r.body, r.len, &body, &pem);
    memset(out, 0, sizeof(*out));
    out->percent = -1;
    out->retry_after_s = r.retry_after_s;
    if (body && rf_task_status_from(body, out)) {
        out->retry_after_s = r.retry_after_s;
        if (r.status == 202 && out->state == UL_TASK_DONE)
            out->state = UL_TASK_RUNNING; /* "Completed" said while still 202 */
    } else if (r.status == 202) {
        out->state = UL_TASK_RUNNING;
        snprintf(out->service_state, sizeof(out->service_state), "Running");
    } else if (r.status >= 200 && r.status < 300) {
        out->state = UL_TASK_DONE;
        out->percent = 100;
        snprintf(out->service_state, sizeof(out->service_state), "Completed");
    } else if (r.status == 404) {
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND,
                           "node %s: task monitor %s is gone (the BMC forgot the task)", s->node,
                           path);
    } else if (r.status >= 500 && r.status != 500 && r.status != 501) {
        rc = rf_status_error(s, "GET", path, &r, em); /* 502-504: the BMC is busy */
    } else {
        /* The operation's own failure. */
        out->state = UL_TASK_FAILED;
        snprintf(out->service_state, sizeof(out->service_state), "Exception");
        rf_service_messages(r.body, out->message, sizeof(out->message));
        if (!out->message[0])
            snprintf(out->message, sizeof(out->message), "HTTP %ld from the task monitor",
                     r.status);
    }
    json_object_put(body);
    rf_reply_free(&r);
    return rc;
}

ul_err rf_task_poll(struct ul_bmc_session *bs, const struct ul_task_ref *t,
                    struct ul_task_status *out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    memset(out, 0, sizeof(*out));
    if (t->task[0]) {
        struct rf_reply r = {0};
        json_object *obj = NULL;
        ul_err rc = rf_request(s, "GET", t->task, NULL, NULL, &r, em);
        if (rc != UL_OK)
            return rc;
        if (r.status == 404 && !t->monitor[0]) {
            /* BMCs often forget their tasks when they restart at the end
             * of their own update: the caller checks what happened. */
            rf_reply_free(&r);
            return ul_errmsg_set(em, UL_ERR_NOT_FOUND,
                                 "node %s: task %s is gone (the BMC no longer knows it)", s->node,
                                 t->task);
        }
        if (r.status != 404 || !t->monitor[0]) {
            if (r.status < 200 || r.status >= 300)
                rc = rf_status_error(s, "GET", t->task, &r, em);
            else
                rc = rf_parse(s, "GET", t->task, r.body, r.len, &obj, em);
            rf_reply_free(&r);
            if (rc != UL_OK)
                return rc;
            bool ok = rf_task_status_from(obj, out);
            json_object_put(obj);
            if (ok)
                return UL_OK;
            if (!t->monitor[0])
                return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                     "node %s: GET %s: not a Task (no TaskState)", s->node,
                                     t->task);
        }
        rf_reply_free(&r);
    }
    if (!t->monitor[0])
        return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: no task to follow", s->node);
    return poll_monitor(s, t->monitor, out, em);
}

/* ---- starting an update ---- */

static const char *apply_name(enum ul_apply_time a)
{
    return a == UL_APPLY_IMMEDIATE ? "Immediate" : a == UL_APPLY_ON_RESET ? "OnReset" : NULL;
}

/* Targets as FirmwareInventory links: ids from firmware_list resolved to
 * their paths (an id that already is a path is taken as it is). */
static ul_err targets_json(struct rf_session *s, const struct ul_fw_update *u,
                           json_object **out, ul_errmsg *em)
{
    *out = NULL;
    if (!u->ntargets)
        return UL_OK;
    json_object *inv = NULL;
    ul_err rc = rf_firmware_list(&s->base, &inv, em);
    if (rc != UL_OK)
        return rc;
    json_object *arr = json_object_new_array();
    for (size_t i = 0; i < u->ntargets; i++) {
        const char *path = NULL;
        for (size_t k = 0; k < json_object_array_length(inv); k++) {
            json_object *c = json_object_array_get_idx(inv, k);
            const char *id = rf_prop_str(c, "id");
            const char *p = rf_prop_str(c, "path");
            if ((id && strcasecmp(id, u->targets[i]) == 0) || (p && rf_path_same(p, u->targets[i])))
                path = p;
        }
        if (!path) {
            json_object_put(arr);
            json_object_put(inv);
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "node %s: no firmware component '%.64s' (see firmware list)",
                                 s->node, u->targets[i]);
        }
        json_object_array_add(arr, json_object_new_string(path));
    }
    json_object_put(inv);
    *out = arr;
    return UL_OK;
}

/* The reply to a request that starts an update. */
static ul_err started(struct rf_session *s, const char *what, const char *path,
                      const struct rf_reply *r, struct ul_task_ref *task, ul_errmsg *em)
{
    if (r->status == 400) {
        char msgs[900];
        rf_service_messages(r->body, msgs, sizeof(msgs));
        return ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: the BMC refused the %s: %s", s->node,
                             what, msgs[0] ? msgs : "HTTP 400 without a message");
    }
    if (r->status < 200 || r->status >= 300)
        return rf_status_error(s, "POST", path, r, em);
    rf_task_ref_from_reply(s, path, r, task);
    return UL_OK;
}

static ul_err simple_update(struct rf_session *s, json_object *us, const char *uspath,
                            const struct ul_fw_update *u, json_object *targets,
                            struct ul_task_ref *task, ul_errmsg *em)
{
    json_object *act = rf_prop(rf_prop(us, "Actions"), "#UpdateService.SimpleUpdate");
    const char *target = rf_prop_str(act, "target");
    char path[RF_PATH_MAX];
    if (!target)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: update by image URI not supported by this BMC (no "
                             "SimpleUpdate action)",
                             s->node);
    if (!rf_link_resolve(uspath, target, path, sizeof(path)))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET %s: SimpleUpdate target is not a Redfish path", s->node,
                             uspath);
    json_object *body = json_object_new_object();
    json_object_object_add(body, "ImageURI", json_object_new_string(u->image_uri));
    /* TransferProtocol only when the service lists it: newer services take
     * the scheme from the URI and some reject the parameter. */
    json_object *allowed = rf_prop(act, "TransferProtocol@Redfish.AllowableValues");
    if (json_object_is_type(allowed, json_type_array)) {
        char scheme[16] = "";
        const char *colon = strchr(u->image_uri, ':');
        if (colon && (size_t)(colon - u->image_uri) < sizeof(scheme)) {
            for (size_t i = 0; u->image_uri + i < colon; i++)
                scheme[i] =
                    (char)(u->image_uri[i] >= 'a' && u->image_uri[i] <= 'z' ? u->image_uri[i] - 32
                                                                            : u->image_uri[i]);
        }
        for (size_t i = 0; i < json_object_array_length(allowed); i++) {
            const char *p = json_object_get_string(json_object_array_get_idx(allowed, i));
            if (p && strcasecmp(p, scheme) == 0)
                json_object_object_add(body, "TransferProtocol", json_object_new_string(p));
        }
    }
    if (targets)
        json_object_object_add(body, "Targets", json_object_get(targets));
    if (apply_name(u->apply))
        json_object_object_add(body, "@Redfish.OperationApplyTime",
                               json_object_new_string(apply_name(u->apply)));
    char *text = xstrdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
    json_object_put(body);
    struct rf_reply r = {0};
    ul_err rc = rf_request(s, "POST", path, text, NULL, &r, em);
    free(text);
    if (rc == UL_OK)
        rc = started(s, "update", path, &r, task, em);
    rf_reply_free(&r);
    return rc;
}

static ul_err push_update(struct rf_session *s, json_object *us, const char *uspath,
                          const struct ul_fw_update *u, json_object *targets,
                          struct ul_task_ref *task, ul_errmsg *em)
{
    const char *uri = rf_prop_str(us, "MultipartHttpPushUri");
    char path[RF_PATH_MAX];
    if (!uri)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: image upload not supported by this BMC (no "
                             "MultipartHttpPushUri)",
                             s->node);
    if (!rf_link_resolve(uspath, uri, path, sizeof(path)))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET %s: MultipartHttpPushUri is not a Redfish path", s->node,
                             uspath);
    struct stat sb;
    if (stat(u->file, &sb) != 0 || !S_ISREG(sb.st_mode))
        return ul_errmsg_set(em, UL_ERR_IO, "node %s: image file %s is gone", s->node, u->file);
    double max;
    if (rf_prop_num(us, "MaxImageSizeBytes", &max) && max > 0 && (double)sb.st_size > max)
        return ul_errmsg_set(em, UL_ERR_REJECTED,
                             "node %s: the image is %lld bytes; the BMC takes at most %.0f",
                             s->node, (long long)sb.st_size, max);
    json_object *params = json_object_new_object();
    json_object_object_add(params, "Targets",
                           targets ? json_object_get(targets) : json_object_new_array());
    if (apply_name(u->apply))
        json_object_object_add(params, "@Redfish.OperationApplyTime",
                               json_object_new_string(apply_name(u->apply)));
    curl_mime *mime = curl_mime_init(s->curl);
    curl_mimepart *part = curl_mime_addpart(mime);
    curl_mime_name(part, "UpdateParameters");
    curl_mime_data(part, json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN),
                   CURL_ZERO_TERMINATED);
    curl_mime_type(part, "application/json");
    part = curl_mime_addpart(mime);
    curl_mime_name(part, "UpdateFile");
    ul_err rc = UL_OK;
    if (curl_mime_filedata(part, u->file) != CURLE_OK) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "node %s: cannot read image file %s", s->node, u->file);
        goto out;
    }
    curl_mime_type(part, "application/octet-stream");
    if (u->file_name)
        curl_mime_filename(part, u->file_name);
    /* Room to send the image at a slow 1 MB/s on top of the usual bound. */
    int timeout_ms = s->opt.timeout_ms ? s->opt.timeout_ms : s->timeout_ms;
    long long need = (long long)timeout_ms + (long long)(sb.st_size / 1000);
    struct rf_reply r = {0};
    rc = rf_request_mime(s, path, mime, need > 3600000 ? 3600000 : (int)need, &r, em);
    if (rc == UL_OK)
        rc = started(s, "upload", path, &r, task, em);
    rf_reply_free(&r);
out:
    curl_mime_free(mime);
    json_object_put(params);
    return rc;
}

ul_err rf_firmware_update(struct ul_bmc_session *bs, const struct ul_fw_update *u,
                          struct ul_task_ref *task, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *us = NULL, *targets = NULL;
    char path[RF_PATH_MAX];
    memset(task, 0, sizeof(*task));
    ul_err rc = update_service(s, &us, path, em);
    if (rc != UL_OK)
        return rc;
    json_object *enabled = rf_prop(us, "ServiceEnabled");
    if (json_object_is_type(enabled, json_type_boolean) && !json_object_get_boolean(enabled)) {
        rc = ul_errmsg_set(em, UL_ERR_CONFLICT,
                           "node %s: the BMC's update service is disabled (ServiceEnabled false)",
                           s->node);
        goto out;
    }
    if ((rc = targets_json(s, u, &targets, em)) != UL_OK)
        goto out;
    rc = u->image_uri ? simple_update(s, us, path, u, targets, task, em)
                      : push_update(s, us, path, u, targets, task, em);
out:
    json_object_put(targets);
    json_object_put(us);
    return rc;
}
