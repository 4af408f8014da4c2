/* raid_ops.c - storage as jobs: read, and volume create/delete, each
 * checked against the controller before and verified after. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

ul_err raid_read_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    (void)params;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read) {
        rc = cfg_unsupported(ctx, "RAID configuration", em);
        goto out;
    }
    job_ctx_progress(ctx, 30, "reading storage controllers, drives and volumes");
    rc = os.driver->storage_read(os.s, result, em);
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}

/* Drives a RAID level needs, as controllers commonly define them; the BMC
 * has the last word, this only catches typing mistakes before a request. */
static const char *raid_drive_rule(const char *type, size_t n)
{
    if (!strcasecmp(type, "RAID0"))
        return n >= 1 ? NULL : "RAID0 needs at least 1 drive";
    if (!strcasecmp(type, "RAID1"))
        return n >= 2 ? NULL : "RAID1 needs at least 2 drives";
    if (!strcasecmp(type, "RAID5"))
        return n >= 3 ? NULL : "RAID5 needs at least 3 drives";
    if (!strcasecmp(type, "RAID6"))
        return n >= 4 ? NULL : "RAID6 needs at least 4 drives";
    if (!strcasecmp(type, "RAID10"))
        return n >= 4 && n % 2 == 0 ? NULL : "RAID10 needs an even number of drives, at least 4";
    return NULL;
}

ul_err raid_create_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"controller", JV_STRING, false, 64}, {"name", JV_STRING, true, 64},
        {"raid_type", JV_STRING, true, 16},   {"drives", JV_ARRAY, false, 0},
        {"capacity_bytes", JV_INT, false, 0}, {"dry_run", JV_BOOL, false, 0},
    };
    ul_err rc = jv_check(params, f, sizeof(f) / sizeof(f[0]), em);
    if (rc != UL_OK)
        return rc;
    const char *name = jv_str(params, "name");
    if (!name[0])
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'name': must not be empty");
    const char *type = jv_str(params, "raid_type");
    if (strncasecmp(type, "RAID", 4) != 0 && strcasecmp(type, "None") != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'raid_type': '%s' is not a RAID type (RAID0, RAID1, RAID5, "
                             "RAID6, RAID10, ...)",
                             type);
    json_object *drives = NULL, *cap = NULL;
    json_object_object_get_ex(params, "drives", &drives);
    json_object_object_get_ex(params, "capacity_bytes", &cap);
    size_t n = drives ? json_object_array_length(drives) : 0;
    if (n > 128)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'drives': more than 128 drives");
    for (size_t i = 0; i < n; i++) {
        json_object *d = json_object_array_get_idx(drives, i);
        if (!json_object_is_type(d, json_type_string) || !json_object_get_string_len(d) ||
            json_object_get_string_len(d) > 64)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'drives': item %zu must be a drive id (1-64 characters)",
                                 i);
        for (size_t k = 0; k < i; k++)
            if (strcmp(json_object_get_string(d),
                       json_object_get_string(json_object_array_get_idx(drives, k))) == 0)
                return ul_errmsg_set(em, UL_ERR_INVALID, "field 'drives': drive '%s' given twice",
                                     json_object_get_string(d));
    }
    if (cap && json_object_get_int64(cap) <= 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'capacity_bytes': must be positive");
    if (!n && !cap)
        return ul_errmsg_set(em, UL_ERR_INVALID, "give 'drives', 'capacity_bytes' or both");
    const char *why = n ? raid_drive_rule(type, n) : NULL;
    if (why)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'drives': %s; %zu given", why, n);
    return UL_OK;
}

static json_object *find_id(json_object *arr, const char *id)
{
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i), *v;
        if (json_object_object_get_ex(x, "id", &v) &&
            strcasecmp(json_object_get_string(v), id) == 0)
            return x;
    }
    return NULL;
}

/* The volume ids a create recorded before it sent its request (borrowed;
 * NULL when none). */
static json_object *before_ids(ul_job_ctx *ctx)
{
    return cfg_checkpoint_get(ctx, "before");
}

static bool id_in(json_object *ids, const char *id)
{
    for (size_t i = 0;
         json_object_is_type(ids, json_type_array) && i < json_object_array_length(ids); i++)
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(ids, i)), id) == 0)
            return true;
    return false;
}

/* A dry run, or the plan's first refusal as the job's error. */
static ul_err raid_plan_verdict(ul_job_ctx *ctx, json_object *params, json_object *plan,
                                json_object **result, bool *done, ul_errmsg *em)
{
    const char *why;
    *done = true;
    if (cfg_dry_run(params))
        return cfg_dry_run_done(ctx, json_object_get(plan), result);
    ul_err code = plan_refusal(plan, &why);
    if (code != UL_OK)
        return ul_errmsg_set(em, code, "node %s: %s", job_ctx_node(ctx), why);
    *done = false;
    return UL_OK;
}

/* PLAN: read storage, check the request against it, and record the
 * volumes there before (the new one is told apart from an older one of the
 * same name when only the name identifies it). */
static ul_err raid_create_plan(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                               json_object **result, ul_errmsg *em)
{
    json_object *storage = NULL, *plan = NULL;
    bool done;
    struct ul_task_ref task;
    const char *old = cfg_legacy_phase(ctx);
    if (old) {
        /* Left by a daemon before steps. */
        if (strcmp(old, "submitting") == 0)
            return cfg_unknown_outcome(ctx, "volume creation", "underlay raid NODE show", em);
        if (cfg_checkpoint_task(ctx, &task) || strcmp(old, "created") == 0) {
            job_ctx_next(ctx, bmc_task_ref_empty(&task) ? RAID_VERIFY : RAID_FOLLOW);
            return UL_OK;
        }
    }
    job_ctx_progress(ctx, 15, "reading storage");
    ul_err rc = os->driver->storage_read(os->s, &storage, em);
    if (rc != UL_OK)
        return rc;
    plan = plan_raid_create(storage, params);
    if ((rc = raid_plan_verdict(ctx, params, plan, result, &done, em)) != UL_OK || done)
        goto out;
    json_object *c = plan_storage_controller(storage, jv_str(params, "controller"));
    json_object *extra = json_object_new_object(), *old_vols = NULL, *ids = json_object_new_array();
    json_object_object_get_ex(c, "volumes", &old_vols);
    for (size_t i = 0; old_vols && i < json_object_array_length(old_vols); i++) {
        const char *id = jv_str(json_object_array_get_idx(old_vols, i), "id");
        if (id)
            json_object_array_add(ids, json_object_new_string(id));
    }
    json_object_object_add(extra, "before", ids);
    if (jv_str(c, "id"))
        json_object_object_add(extra, "controller", json_object_new_string(jv_str(c, "id")));
    rc = cfg_save(ctx, NULL, extra, em);
    json_object_put(extra);
    if (rc == UL_OK && (rc = job_ctx_check(ctx, em)) == UL_OK)
        cfg_enter_send_step(ctx, RAID_SUBMIT);
out:
    json_object_put(plan);
    json_object_put(storage);
    return rc;
}

/* SUBMIT: send the create (never twice). */
static ul_err raid_create_submit(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                                 ul_errmsg *em)
{
    struct ul_task_ref sent;
    if (cfg_checkpoint_task(ctx, &sent) || cfg_checkpoint_get(ctx, "volume")) {
        /* The BMC's answer was saved before the daemon stopped, not yet
         * the step after it: go on from the answer. */
        job_ctx_next(ctx, bmc_task_ref_empty(&sent) ? RAID_VERIFY : RAID_FOLLOW);
        return UL_OK;
    }
    if (!cfg_send_fresh(ctx))
        return cfg_unknown_outcome(ctx, "volume creation", "underlay raid NODE show", em);
    json_object *darr = NULL, *cap = NULL, *cid = cfg_checkpoint_get(ctx, "controller");
    json_object_object_get_ex(params, "drives", &darr);
    json_object_object_get_ex(params, "capacity_bytes", &cap);
    size_t n = darr ? json_object_array_length(darr) : 0;
    const char **drives = xcalloc(n + 1, sizeof(*drives));
    for (size_t i = 0; i < n; i++)
        drives[i] = json_object_get_string(json_object_array_get_idx(darr, i));
    struct ul_volume_spec spec = {
        .controller = cid ? json_object_get_string(cid) : NULL,
        .name = jv_str(params, "name"),
        .raid_type = jv_str(params, "raid_type"),
        .drives = drives,
        .ndrives = n,
        .capacity_bytes = cap ? (uint64_t)json_object_get_int64(cap) : 0,
    };
    char volume_id[64] = "";
    struct ul_task_ref task;
    memset(&task, 0, sizeof(task));
    job_ctx_progress(ctx, 30, "creating %s volume '%s'", spec.raid_type, spec.name);
    ul_err rc = os->driver->volume_create(os->s, &spec, volume_id, &task, em);
    free(drives);
    if (rc != UL_OK)
        return rc;
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "before", json_object_get(before_ids(ctx)));
    /* Saved even when empty: the answer came (see above). */
    json_object_object_add(extra, "volume", json_object_new_string(volume_id));
    rc = cfg_save(ctx, &task, extra, em);
    json_object_put(extra);
    if (rc == UL_OK)
        job_ctx_next(ctx, bmc_task_ref_empty(&task) ? RAID_VERIFY : RAID_FOLLOW);
    return rc;
}

/* FOLLOW: a volume builds (or goes) on the controller by itself: other
 * operations may use the BMC meanwhile, so the node is not held.  The
 * task's last state is kept for the result. */
static ul_err raid_follow(ul_job_ctx *ctx, struct bmc_op *os, const char *what, ul_errmsg *em)
{
    struct ul_task_ref task;
    struct ul_task_status st = {0};
    bool parked = false;
    if (!cfg_checkpoint_task(ctx, &task))
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: %s: no task to follow",
                             job_ctx_node(ctx), what);
    ul_err rc = cfg_follow_task(ctx, os, &task, what, 40, 80, DEFAULT_STALL_S, false, false,
                                &parked, &st, em);
    if (rc != UL_OK || parked)
        return rc;
    json_object *extra = json_object_new_object(), *cp = job_ctx_checkpoint(ctx);
    if (cp) {
        json_object_object_foreach(cp, k, v)
        {
            if (strcmp(k, "task") != 0 && strcmp(k, "monitor") != 0 && strcmp(k, "follow") != 0)
                json_object_object_add(extra, k, json_object_get(v));
        }
    }
    json_object_object_add(extra, "task_done", cfg_task_json(&task, &st));
    rc = cfg_save(ctx, NULL, extra, em);
    json_object_put(extra);
    if (rc == UL_OK)
        job_ctx_next(ctx, RAID_VERIFY);
    return rc;
}

/* VERIFY: the new volume is there, built as asked. */
static ul_err raid_create_verify(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                                 json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx), *name = jv_str(params, "name");
    json_object *after = NULL, *vid_j = cfg_checkpoint_get(ctx, "volume");
    const char *volume_id = vid_j ? json_object_get_string(vid_j) : "";
    job_ctx_progress(ctx, 85, "verifying the new volume");
    ul_err rc = os->driver->storage_read(os->s, &after, em);
    if (rc != UL_OK)
        return rc;
    json_object *ac = plan_storage_controller(after, jv_str(params, "controller")), *vols = NULL,
                *vol = NULL;
    if (ac)
        json_object_object_get_ex(ac, "volumes", &vols);
    if (volume_id[0])
        vol = find_id(vols, volume_id);
    for (size_t i = 0; !vol && vols && i < json_object_array_length(vols); i++) {
        json_object *v = json_object_array_get_idx(vols, i);
        const char *vn = jv_str(v, "name"), *vid = jv_str(v, "id");
        if (vn && strcmp(vn, name) == 0 && !(vid && id_in(before_ids(ctx), vid)))
            vol = v;
    }
    if (!vol) {
        rc = ul_errmsg_set(em, UL_ERR_REJECTED,
                           "node %s: the BMC reported success but volume '%s' is not there", node,
                           volume_id[0] ? volume_id : name);
        goto out;
    }
    if (!jv_str(vol, "id")) {
        rc = ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: the new volume has no id", node);
        goto out;
    }
    const char *got = jv_str(vol, "raid_type");
    if (got && strcasecmp(got, jv_str(params, "raid_type")) != 0) {
        rc = ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: volume %s was built as %s, not %s", node,
                           jv_str(vol, "id"), got, jv_str(params, "raid_type"));
        goto out;
    }
    json_object *want_drives = NULL, *have = NULL;
    json_object_object_get_ex(params, "drives", &want_drives);
    json_object_object_get_ex(vol, "drives", &have);
    for (size_t i = 0; want_drives && have && i < json_object_array_length(want_drives); i++) {
        const char *d = json_object_get_string(json_object_array_get_idx(want_drives, i));
        bool in = false;
        for (size_t k = 0; k < json_object_array_length(have); k++)
            if (strcasecmp(json_object_get_string(json_object_array_get_idx(have, k)), d) == 0)
                in = true;
        if (!in) {
            rc = ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: volume %s does not use drive %s",
                               node, jv_str(vol, "id"), d);
            goto out;
        }
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "volume", json_object_get(vol));
    json_object *task = cfg_checkpoint_get(ctx, "task_done");
    if (task)
        json_object_object_add(*result, "task", json_object_get(task));
    job_ctx_progress(ctx, 100, "volume %s (%s) created and verified", jv_str(vol, "id"),
                     got ? got : jv_str(params, "raid_type"));
out:
    json_object_put(after);
    return rc;
}

ul_err raid_create_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    int step = job_ctx_step(ctx);
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read || !os.driver->volume_create) {
        rc = cfg_unsupported(ctx, "RAID volume creation", em);
        goto out;
    }
    switch (step) {
    case RAID_PLAN:
        rc = raid_create_plan(ctx, &os, params, result, em);
        break;
    case RAID_SUBMIT:
        rc = raid_create_submit(ctx, &os, params, em);
        break;
    case RAID_FOLLOW:
        rc = raid_follow(ctx, &os, "volume creation", em);
        break;
    case RAID_VERIFY:
        rc = raid_create_verify(ctx, &os, params, result, em);
        break;
    default:
        rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: RAID job at unknown step %d",
                           job_ctx_node(ctx), step);
    }
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}
ul_err raid_delete_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"controller", JV_STRING, false, 64},
        {"volume", JV_STRING, true, 64},
        {"dry_run", JV_BOOL, false, 0},
    };
    ul_err rc = jv_check(params, f, sizeof(f) / sizeof(f[0]), em);
    if (rc == UL_OK && !jv_str(params, "volume")[0])
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "field 'volume': must not be empty");
    return rc;
}

/* PLAN: nothing to read for a delete (a dry run reads storage and
 * plans); SUBMIT sends the DELETE.  Deleting twice is harmless: after a run
 * that died while sending, the DELETE goes again, and "no such volume" then
 * means it went through. */
static ul_err raid_delete_submit(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                                 ul_errmsg *em)
{
    const char *volume = jv_str(params, "volume");
    bool again = !cfg_send_fresh(ctx);
    struct ul_task_ref task;
    memset(&task, 0, sizeof(task));
    job_ctx_progress(ctx, 30, "deleting volume %s", volume);
    ul_err rc = os->driver->volume_delete(os->s, jv_str(params, "controller"), volume, &task, em);
    if (rc == UL_ERR_NOT_FOUND && again) {
        job_ctx_next(ctx, RAID_VERIFY);
        return UL_OK;
    }
    if (rc != UL_OK)
        return rc;
    if ((rc = cfg_save(ctx, &task, NULL, em)) == UL_OK)
        job_ctx_next(ctx, bmc_task_ref_empty(&task) ? RAID_VERIFY : RAID_FOLLOW);
    return rc;
}

static ul_err raid_delete_verify(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                                 json_object **result, ul_errmsg *em)
{
    const char *volume = jv_str(params, "volume");
    json_object *after = NULL;
    job_ctx_progress(ctx, 85, "verifying the volume is gone");
    ul_err rc = os->driver->storage_read(os->s, &after, em);
    if (rc != UL_OK)
        return rc;
    json_object *c = plan_storage_controller(after, jv_str(params, "controller")), *vols = NULL;
    if (c)
        json_object_object_get_ex(c, "volumes", &vols);
    if (find_id(vols, volume)) {
        rc = ul_errmsg_set(em, UL_ERR_REJECTED,
                           "node %s: the BMC reported success but volume %s is still there",
                           job_ctx_node(ctx), volume);
    } else {
        *result = json_object_new_object();
        json_object_object_add(*result, "deleted", json_object_new_string(volume));
        job_ctx_progress(ctx, 100, "volume %s deleted", volume);
    }
    json_object_put(after);
    return rc;
}

ul_err raid_delete_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    int step = job_ctx_step(ctx);
    json_object *storage = NULL, *plan = NULL;
    bool done;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read || !os.driver->volume_delete) {
        rc = cfg_unsupported(ctx, "RAID volume deletion", em);
        goto out;
    }
    switch (step) {
    case RAID_PLAN:
        if (cfg_dry_run(params)) {
            job_ctx_progress(ctx, 15, "reading storage");
            if ((rc = os.driver->storage_read(os.s, &storage, em)) != UL_OK)
                break;
            plan = plan_raid_delete(storage, params);
            rc = raid_plan_verdict(ctx, params, plan, result, &done, em);
            break;
        }
        if (cfg_legacy_phase(ctx)) {
            /* Left by a daemon before steps: a DELETE that may have gone
             * goes again (resumed, so "no such volume" means done). */
            struct ul_task_ref task;
            const char *old = cfg_legacy_phase(ctx);
            job_ctx_next(ctx, cfg_checkpoint_task(ctx, &task) ? RAID_FOLLOW
                              : strcmp(old, "deleted") == 0   ? RAID_VERIFY
                                                              : RAID_SUBMIT);
            break;
        }
        if ((rc = job_ctx_check(ctx, em)) == UL_OK)
            cfg_enter_send_step(ctx, RAID_SUBMIT);
        break;
    case RAID_SUBMIT:
        rc = raid_delete_submit(ctx, &os, params, em);
        break;
    case RAID_FOLLOW:
        rc = raid_follow(ctx, &os, "volume deletion", em);
        break;
    case RAID_VERIFY:
        rc = raid_delete_verify(ctx, &os, params, result, em);
        break;
    default:
        rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: RAID job at unknown step %d",
                           job_ctx_node(ctx), step);
    }
out:
    bmc_op_close(ctx, &os, rc);
    json_object_put(plan);
    json_object_put(storage);
    return rc;
}
