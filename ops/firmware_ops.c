/* firmware_ops.c - firmware as jobs: list, and update by URI or uploaded
 * image, following the BMC's task across daemon restarts. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <dirent.h>
#include <unistd.h>

#include "ops/bios.h"
#include "ops/config_ops.h"
#include "bmc/driver.h"
#include "ops/ops.h"
#include "ops/plan.h"
#include "jsonv.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

ul_err firmware_list_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    (void)params;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->firmware_list) {
        rc = cfg_unsupported(ctx, "firmware inventory", em);
        goto out;
    }
    job_ctx_progress(ctx, 30, "reading firmware inventory");
    json_object *list = NULL;
    if ((rc = os.driver->firmware_list(os.s, &list, em)) == UL_OK) {
        *result = json_object_new_object();
        json_object_object_add(*result, "components", list);
    }
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}

static bool in_spool(const char *path)
{
    const char *spool_dir = cfg_spool_dir();
    size_t n = strlen(spool_dir);
    return n && strncmp(path, spool_dir, n) == 0 && path[n] == '/' && !strstr(path, "/..") &&
           !strchr(path + n + 1, '/');
}

ul_err firmware_update_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"image_uri", JV_STRING, false, 2048}, {"file", JV_STRING, false, 1024},
        {"targets", JV_ARRAY, false, 0},       {"apply", JV_STRING, false, 16},
        {"stall_timeout", JV_INT, false, 0},   {"upload", JV_OBJECT, false, 0},
        {"dry_run", JV_BOOL, false, 0},        {"version", JV_STRING, false, 128},
    };
    ul_err rc = jv_check(params, f, sizeof(f) / sizeof(f[0]), em);
    if (rc != UL_OK)
        return rc;
    const char *uri = jv_str(params, "image_uri");
    const char *file = jv_str(params, "file");
    if (!uri == !file)
        return ul_errmsg_set(em, UL_ERR_INVALID, "give exactly one of 'image_uri' and an upload");
    if (uri && strncasecmp(uri, "http://", 7) != 0 && strncasecmp(uri, "https://", 8) != 0 &&
        strncasecmp(uri, "ftp://", 6) != 0 && strncasecmp(uri, "sftp://", 7) != 0 &&
        strncasecmp(uri, "nfs://", 6) != 0 && strncasecmp(uri, "tftp://", 7) != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'image_uri': must be an http, https, ftp, sftp, tftp or nfs "
                             "URI the BMC can fetch");
    for (const char *p = uri; p && *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'image_uri': spaces and control characters not allowed");
    /* Only the upload endpoint names a file, and only in the spool: a
     * request must not make the daemon send an arbitrary local file. */
    if (file && !in_spool(file))
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'file': not an uploaded image");
    const char *apply = jv_str(params, "apply");
    if (apply && strcmp(apply, "now") != 0 && strcmp(apply, "on-reset") != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'apply': must be now or on-reset");
    json_object *t = NULL, *st = NULL;
    json_object_object_get_ex(params, "targets", &t);
    for (size_t i = 0; t && i < json_object_array_length(t); i++) {
        json_object *x = json_object_array_get_idx(t, i);
        if (i >= 32 || !json_object_is_type(x, json_type_string) ||
            !json_object_get_string_len(x) || json_object_get_string_len(x) > 512)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'targets': item %zu must be a component id", i);
    }
    if (json_object_object_get_ex(params, "stall_timeout", &st) &&
        (json_object_get_int64(st) < 1 || json_object_get_int64(st) > 86400))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'stall_timeout': must be 1 to 86400 seconds");
    return UL_OK;
}

static json_object *versions(json_object *list)
{
    json_object *o = json_object_new_object();
    json_object *comps = NULL;
    json_object_object_get_ex(list, "components", &comps);
    for (size_t i = 0; comps && i < json_object_array_length(comps); i++) {
        json_object *c = json_object_array_get_idx(comps, i), *id, *v;
        if (json_object_object_get_ex(c, "id", &id) && json_object_object_get_ex(c, "version", &v))
            json_object_object_add(o, json_object_get_string(id), json_object_get(v));
    }
    return o;
}

static ul_err read_versions(struct bmc_op *os, json_object **out, ul_errmsg *em)
{
    json_object *list = NULL;
    *out = NULL;
    ul_err rc = os->driver->firmware_list(os->s, &list, em);
    if (rc != UL_OK)
        return rc;
    json_object *wrap = json_object_new_object();
    json_object_object_add(wrap, "components", list);
    *out = versions(wrap);
    json_object_put(wrap);
    return UL_OK;
}

/* The name the operator's file had, as the API recorded it, or NULL. */
static const char *upload_name(json_object *params)
{
    json_object *up = NULL;
    json_object_object_get_ex(params, "upload", &up);
    return up ? jv_str(up, "name") : NULL;
}

static void drop_upload(json_object *params);

void firmware_update_discard(json_object *params)
{
    drop_upload(params);
}

static void drop_upload(json_object *params)
{
    const char *file = jv_str(params, "file");
    if (file && in_spool(file) && unlink(file) == 0)
        ul_debug("removed uploaded image %s", file);
}

const char *const firmware_step_names[FW_NSTEPS] = {"plan", "submitting", "following"};

/* PLAN: the versions before (a dry run plans against the inventory). */
static ul_err fw_plan(ul_job_ctx *ctx, struct bmc_op *os, json_object *params, json_object **result,
                      ul_errmsg *em)
{
    json_object *before = NULL, *tarr = NULL;
    ul_err rc;
    struct ul_task_ref task;
    const char *old = cfg_legacy_phase(ctx);
    if (old && (strcmp(old, "submitting") == 0 || cfg_checkpoint_task(ctx, &task))) {
        /* Left by a daemon before steps, once the update may have gone:
         * the submit step follows the task or says the outcome is
         * unknown, never sending it again. */
        job_ctx_next(ctx, cfg_checkpoint_task(ctx, &task) ? FW_FOLLOW : FW_SUBMIT);
        return UL_OK;
    }
    job_ctx_progress(ctx, 10, "reading firmware versions");
    if (cfg_dry_run(params)) {
        json_object *list = NULL;
        if ((rc = os->driver->firmware_list(os->s, &list, em)) != UL_OK)
            return rc;
        json_object_object_get_ex(params, "targets", &tarr);
        json_object *plan = plan_firmware(list, tarr, jv_str(params, "version"));
        json_object_put(list);
        return cfg_dry_run_done(ctx, plan, result);
    }
    if ((rc = read_versions(os, &before, em)) != UL_OK)
        return rc;
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "before", before);
    rc = cfg_save(ctx, NULL, extra, em);
    json_object_put(extra);
    if (rc == UL_OK && (rc = job_ctx_check(ctx, em)) == UL_OK)
        cfg_enter_send_step(ctx, FW_SUBMIT);
    return rc;
}

/* SUBMIT: send the update (never twice).  *sent: the BMC may have it. */
static ul_err fw_submit(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                        json_object **result, bool *sent, ul_errmsg *em)
{
    const char *apply = jv_str(params, "apply");
    bool on_reset = apply && strcmp(apply, "on-reset") == 0;
    json_object *before = cfg_checkpoint_get(ctx, "before"), *tarr = NULL;
    *sent = true;
    struct ul_task_ref answered;
    if (cfg_checkpoint_task(ctx, &answered)) {
        /* The BMC's task was saved before the daemon stopped, not yet the
         * step after it: follow it. */
        job_ctx_next(ctx, FW_FOLLOW);
        return UL_OK;
    }
    if (!cfg_send_fresh(ctx))
        return cfg_unknown_outcome(ctx, "firmware update", "underlay firmware NODE list", em);
    json_object_object_get_ex(params, "targets", &tarr);
    size_t nt = tarr ? json_object_array_length(tarr) : 0;
    const char **targets = xcalloc(nt + 1, sizeof(*targets));
    for (size_t i = 0; i < nt; i++)
        targets[i] = json_object_get_string(json_object_array_get_idx(tarr, i));
    struct ul_fw_update u = {
        .image_uri = jv_str(params, "image_uri"),
        .file = jv_str(params, "file"),
        .file_name = upload_name(params),
        .targets = targets,
        .ntargets = nt,
        .apply = apply ? (on_reset ? UL_APPLY_ON_RESET : UL_APPLY_IMMEDIATE) : UL_APPLY_DEFAULT,
    };
    struct ul_task_ref task;
    memset(&task, 0, sizeof(task));
    job_ctx_progress(ctx, 15, "%s",
                     u.file ? "uploading the image to the BMC"
                            : "asking the BMC to fetch the image");
    ul_err rc = os->driver->firmware_update(os->s, &u, &task, em);
    free(targets);
    if (rc != UL_OK)
        return rc;
    drop_upload(params); /* the BMC has it now */
    if (bmc_task_ref_empty(&task)) {
        /* An old service that gives no task: nothing to follow, so the
         * result says only what can be known. */
        *result = json_object_new_object();
        json_object_object_add(*result, "before", json_object_get(before));
        json_object_object_add(*result, "task", NULL);
        json_object_object_add(*result, "note",
                               json_object_new_string("the BMC accepted the update without a "
                                                      "task to follow; check the firmware list "
                                                      "once it has finished"));
        job_ctx_progress(ctx, 100, "update accepted (the BMC gives no task to follow)");
        return UL_OK;
    }
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "before", json_object_get(before));
    rc = cfg_save(ctx, &task, extra, em);
    json_object_put(extra);
    if (rc == UL_OK)
        job_ctx_next(ctx, FW_FOLLOW);
    return rc;
}

/* FOLLOW: the BMC's task to its end, then the versions after. */
static ul_err fw_follow(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                        json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *apply = jv_str(params, "apply");
    bool on_reset = apply && strcmp(apply, "on-reset") == 0;
    json_object *before = cfg_checkpoint_get(ctx, "before"), *after = NULL, *tj = NULL;
    struct ul_task_ref task;
    struct ul_task_status st = {0};
    bool parked = false;
    int stall = DEFAULT_STALL_S;
    if (json_object_object_get_ex(params, "stall_timeout", &tj))
        stall = (int)json_object_get_int64(tj);
    if (!cfg_checkpoint_task(ctx, &task))
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: firmware update: no task to follow",
                             node);
    if (job_ctx_resumed(ctx))
        job_ctx_progress(ctx, 20, "resumed: following the BMC's task %s",
                         task.task[0] ? task.task : task.monitor);
    /* The node stays held between polls: a BMC flashing its firmware must
     * see no other operation (a power action or a second session can
     * corrupt the flash on some BMCs), and its telemetry is meaningless
     * until it is back. */
    ul_err rc = cfg_follow_task(ctx, os, &task, "firmware update", 20, 90, stall, on_reset, true,
                                &parked, &st, em);
    if (rc != UL_OK || parked)
        return rc;
    *result = json_object_new_object();
    json_object_object_add(*result, "task", cfg_task_json(&task, &st));
    json_object_object_add(*result, "before", json_object_get(before));
    if (st.state == UL_TASK_PENDING) {
        json_object_object_add(*result, "applies", json_object_new_string("at the next reset"));
        job_ctx_progress(ctx, 100, "firmware staged; it applies at the next reset");
        return UL_OK;
    }
    job_ctx_progress(ctx, 95, "reading firmware versions");
    if ((rc = read_versions(os, &after, em)) != UL_OK)
        return rc;
    json_object *changed = json_object_new_object();
    json_object_object_foreach(after, id, ver)
    {
        json_object *old = NULL;
        if (!before || !json_object_object_get_ex(before, id, &old) ||
            !json_object_equal(old, ver)) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "from", old ? json_object_get(old) : NULL);
            json_object_object_add(c, "to", json_object_get(ver));
            json_object_object_add(changed, id, c);
        }
    }
    json_object_object_add(*result, "after", after);
    json_object_object_add(*result, "changed", changed);
    if (strcmp(st.service_state, "Gone") == 0 && json_object_object_length(changed) == 0)
        return ul_errmsg_set(em, UL_ERR_REJECTED,
                             "node %s: the BMC forgot its update task and no component reports "
                             "a new version; look again with `underlay firmware %s list` (some "
                             "apply at the next reset)",
                             node, node);
    if (json_object_object_length(changed) == 0)
        job_ctx_progress(ctx, 100,
                         "task completed; no component reports a new version yet "
                         "(some apply at the next reset)");
    else
        job_ctx_progress(ctx, 100, "firmware updated: %d component%s changed version",
                         json_object_object_length(changed),
                         json_object_object_length(changed) == 1 ? "" : "s");
    return UL_OK;
}

ul_err firmware_update_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                           ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    int step = job_ctx_step(ctx);
    bool sent = step >= FW_FOLLOW;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->firmware_update || !os.driver->firmware_list) {
        rc = cfg_unsupported(ctx, "firmware updates", em);
        goto out;
    }
    switch (step) {
    case FW_PLAN:
        rc = fw_plan(ctx, &os, params, result, em);
        break;
    case FW_SUBMIT:
        rc = fw_submit(ctx, &os, params, result, &sent, em);
        break;
    case FW_FOLLOW:
        rc = fw_follow(ctx, &os, params, result, em);
        break;
    default:
        rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: firmware job at unknown step %d", node,
                           step);
    }
out:
    /* An upload is dropped once the BMC has it or the job is over; only a
     * job that goes on to send it, or stops before sending, keeps it. */
    if (!(step == FW_PLAN && rc == UL_OK && !*result) && (rc != UL_ERR_INTERRUPTED || sent))
        drop_upload(params);
    bmc_op_close(ctx, &os, rc);
    if (rc != UL_OK && em->text[0] && !strstr(em->text, node))
        ul_errmsg_prefix(em, "node %s: firmware update", node);
    return rc;
}

/* An upload whose job was canceled before it ran, or a spool file left by a
 * crash during an upload, belongs to no unfinished job: remove it. */
void bmc_config_uploads_sweep(ul_store *st)
{
    const char *dir = cfg_spool_dir();
    struct ul_job_list l;
    ul_errmsg em;
    if (!dir[0] || store_job_list_unfinished(st, &l, &em) != UL_OK)
        return;
    DIR *d = opendir(dir);
    if (!d) {
        store_job_list_free(&l);
        return;
    }
    int removed = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.')
            continue;
        char *path = xasprintf("%s/%s", dir, e->d_name);
        bool wanted = false;
        for (size_t i = 0; i < l.count && !wanted; i++) {
            json_object *params = NULL;
            if (strcmp(l.items[i]->type, "firmware.update") != 0 ||
                jv_parse(l.items[i]->params, strlen(l.items[i]->params), 0, &params, &em) != UL_OK)
                continue;
            const char *f = jv_str(params, "file");
            wanted = f && strcmp(f, path) == 0;
            json_object_put(params);
        }
        if (!wanted && unlink(path) == 0)
            removed++;
        free(path);
    }
    closedir(d);
    store_job_list_free(&l);
    if (removed)
        ul_info("removed %d firmware upload%s no job needs from %s", removed,
                removed == 1 ? "" : "s", dir);
}
