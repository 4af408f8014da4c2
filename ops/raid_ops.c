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
        {"capacity_bytes", JV_INT, false, 0},
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

/* The controller of a storage read: by id, or the only one with volumes. */
static json_object *storage_controller(json_object *storage, const char *id)
{
    json_object *ctrls = NULL, *found = NULL;
    json_object_object_get_ex(storage, "controllers", &ctrls);
    if (id)
        return find_id(ctrls, id);
    for (size_t i = 0; ctrls && i < json_object_array_length(ctrls); i++) {
        json_object *c = json_object_array_get_idx(ctrls, i);
        if (json_object_object_get_ex(c, "volumes_path", NULL)) {
            if (found)
                return NULL;
            found = c;
        }
    }
    return found;
}

/* The volume ids a create recorded before it sent its request (borrowed;
 * NULL when none). */
static json_object *before_ids(ul_job_ctx *ctx)
{
    json_object *cp = job_ctx_checkpoint(ctx), *ids = NULL;
    return cp && json_object_object_get_ex(cp, "before", &ids) ? ids : NULL;
}

static bool id_in(json_object *ids, const char *id)
{
    for (size_t i = 0;
         json_object_is_type(ids, json_type_array) && i < json_object_array_length(ids); i++)
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(ids, i)), id) == 0)
            return true;
    return false;
}

/* Check the request against what the controller reports, before sending. */
static ul_err raid_precheck(ul_job_ctx *ctx, json_object *c, json_object *params, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *type = jv_str(params, "raid_type");
    json_object *types = NULL, *drives = NULL, *known = NULL;
    json_object_object_get_ex(c, "raid_types", &types);
    json_object_object_get_ex(c, "drives", &known);
    if (types && json_object_array_length(types) > 0) {
        bool ok = false;
        for (size_t i = 0; i < json_object_array_length(types); i++) {
            const char *t = json_object_get_string(json_object_array_get_idx(types, i));
            if (t && strcasecmp(t, type) == 0)
                ok = true;
        }
        if (!ok)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "node %s: controller %s cannot build %s (it offers %s)", node,
                                 jv_str(c, "id"), type, json_object_to_json_string(types));
    }
    json_object_object_get_ex(params, "drives", &drives);
    for (size_t i = 0; drives && i < json_object_array_length(drives); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(drives, i));
        json_object *d = find_id(known, id), *vols = NULL;
        if (!d)
            return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: controller %s has no drive '%s'",
                                 node, jv_str(c, "id"), id);
        if (json_object_object_get_ex(d, "volumes", &vols) && json_object_array_length(vols) > 0)
            return ul_errmsg_set(em, UL_ERR_CONFLICT,
                                 "node %s: drive %s already belongs to volume %s", node, id,
                                 json_object_get_string(json_object_array_get_idx(vols, 0)));
    }
    return UL_OK;
}

ul_err raid_create_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    json_object *storage = NULL, *after = NULL;
    const char **drives = NULL;
    char volume_id[64] = "";
    struct ul_task_ref task;
    struct ul_task_status st = {0};
    bool parked = false;
    const char *controller = jv_str(params, "controller");
    const char *name = jv_str(params, "name");
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read || !os.driver->volume_create) {
        rc = cfg_unsupported(ctx, "RAID volume creation", em);
        goto out;
    }
    const char *phase = cfg_checkpoint_phase(ctx);
    if (phase && strcmp(phase, "submitting") == 0) {
        rc = cfg_unknown_outcome(ctx, "volume creation", "underlay raid NODE show", em);
        goto out;
    }
    if (cfg_checkpoint_task(ctx, &task))
        goto follow;
    if (phase && strcmp(phase, "created") == 0) {
        json_object *cp = job_ctx_checkpoint(ctx), *v;
        if (json_object_object_get_ex(cp, "volume", &v))
            snprintf(volume_id, sizeof(volume_id), "%s", json_object_get_string(v));
        goto verify;
    }
    job_ctx_progress(ctx, 15, "reading storage");
    if ((rc = os.driver->storage_read(os.s, &storage, em)) != UL_OK)
        goto out;
    json_object *c = storage_controller(storage, controller);
    if (!c) {
        rc = ul_errmsg_set(em, controller ? UL_ERR_NOT_FOUND : UL_ERR_INVALID,
                           controller ? "node %s: no storage controller '%s'"
                                      : "node %s: %s no single controller with volumes; name one",
                           node, controller ? controller : "there is");
        goto out;
    }
    if ((rc = raid_precheck(ctx, c, params, em)) != UL_OK)
        goto out;
    json_object *darr = NULL, *cap = NULL;
    json_object_object_get_ex(params, "drives", &darr);
    json_object_object_get_ex(params, "capacity_bytes", &cap);
    size_t n = darr ? json_object_array_length(darr) : 0;
    drives = xcalloc(n + 1, sizeof(*drives));
    for (size_t i = 0; i < n; i++)
        drives[i] = json_object_get_string(json_object_array_get_idx(darr, i));
    struct ul_volume_spec spec = {
        .controller = jv_str(c, "id"),
        .name = name,
        .raid_type = jv_str(params, "raid_type"),
        .drives = drives,
        .ndrives = n,
        .capacity_bytes = cap ? (uint64_t)json_object_get_int64(cap) : 0,
    };
    job_ctx_progress(ctx, 30, "creating %s volume '%s'", spec.raid_type, name);
    /* The volumes there before, so that the new one is told apart from an
     * older one of the same name when only the name identifies it. */
    json_object *extra = json_object_new_object(), *old_vols = NULL, *ids = json_object_new_array();
    json_object_object_get_ex(c, "volumes", &old_vols);
    for (size_t i = 0; old_vols && i < json_object_array_length(old_vols); i++) {
        const char *id = jv_str(json_object_array_get_idx(old_vols, i), "id");
        if (id)
            json_object_array_add(ids, json_object_new_string(id));
    }
    json_object_object_add(extra, "before", ids);
    rc = cfg_save_phase(ctx, "submitting", NULL, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
    rc = os.driver->volume_create(os.s, &spec, volume_id, &task, em);
    if (rc != UL_OK) {
        cfg_save_phase(ctx, "refused", NULL, NULL, NULL);
        goto out;
    }
    if (bmc_task_ref_empty(&task)) {
        extra = json_object_new_object();
        json_object_object_add(extra, "volume", json_object_new_string(volume_id));
        json_object_object_add(extra, "before", json_object_get(before_ids(ctx)));
        rc = cfg_save_phase(ctx, "created", NULL, extra, em);
        json_object_put(extra);
        if (rc != UL_OK)
            goto out;
        goto verify;
    }
    extra = json_object_new_object();
    json_object_object_add(extra, "before", json_object_get(before_ids(ctx)));
    rc = cfg_save_phase(ctx, "following", &task, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
follow:
    /* A volume builds on the controller by itself: other operations may
     * use the BMC meanwhile, so the node is not held. */
    if ((rc = cfg_follow_task(ctx, &os, &task, "volume creation", 40, 80, DEFAULT_STALL_S, false, false,
                              &parked, &st, em)) != UL_OK ||
        parked)
        goto out;
verify:
    job_ctx_progress(ctx, 85, "verifying the new volume");
    if ((rc = os.driver->storage_read(os.s, &after, em)) != UL_OK)
        goto out;
    json_object *ac = storage_controller(after, controller), *vols = NULL, *vol = NULL;
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
    if (!bmc_task_ref_empty(&task))
        json_object_object_add(*result, "task", cfg_task_json(&task, &st));
    job_ctx_progress(ctx, 100, "volume %s (%s) created and verified", jv_str(vol, "id"),
                     got ? got : jv_str(params, "raid_type"));
out:
    bmc_op_close(ctx, &os, rc);
    free(drives);
    json_object_put(storage);
    json_object_put(after);
    return rc;
}

ul_err raid_delete_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"controller", JV_STRING, false, 64},
        {"volume", JV_STRING, true, 64},
    };
    ul_err rc = jv_check(params, f, sizeof(f) / sizeof(f[0]), em);
    if (rc == UL_OK && !jv_str(params, "volume")[0])
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "field 'volume': must not be empty");
    return rc;
}

ul_err raid_delete_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *controller = jv_str(params, "controller");
    const char *volume = jv_str(params, "volume");
    json_object *after = NULL;
    struct ul_task_ref task;
    memset(&task, 0, sizeof(task));
    struct ul_task_status st = {0};
    bool parked = false;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read || !os.driver->volume_delete) {
        rc = cfg_unsupported(ctx, "RAID volume deletion", em);
        goto out;
    }
    const char *phase = cfg_checkpoint_phase(ctx);
    /* Deleting twice is harmless: after a run that died while sending, the
     * DELETE goes again, and "no such volume" then means it went through. */
    bool again = phase && strcmp(phase, "submitting") == 0;
    if (cfg_checkpoint_task(ctx, &task))
        goto follow;
    if (phase && strcmp(phase, "deleted") == 0)
        goto verify;
    job_ctx_progress(ctx, 30, "deleting volume %s", volume);
    if ((rc = cfg_save_phase(ctx, "submitting", NULL, NULL, em)) != UL_OK)
        goto out;
    rc = os.driver->volume_delete(os.s, controller, volume, &task, em);
    if (rc == UL_ERR_NOT_FOUND && again)
        goto verify;
    if (rc != UL_OK)
        goto out;
    if ((rc = cfg_save_phase(ctx, bmc_task_ref_empty(&task) ? "deleted" : "following", &task, NULL,
                             em)) != UL_OK)
        goto out;
    if (bmc_task_ref_empty(&task))
        goto verify;
follow:
    /* A volume builds on the controller by itself: other operations may
     * use the BMC meanwhile, so the node is not held. */
    if ((rc = cfg_follow_task(ctx, &os, &task, "volume deletion", 40, 80, DEFAULT_STALL_S, false, false,
                              &parked, &st, em)) != UL_OK ||
        parked)
        goto out;
verify:
    job_ctx_progress(ctx, 85, "verifying the volume is gone");
    if ((rc = os.driver->storage_read(os.s, &after, em)) != UL_OK)
        goto out;
    json_object *c = storage_controller(after, controller), *vols = NULL;
    if (c)
        json_object_object_get_ex(c, "volumes", &vols);
    if (find_id(vols, volume)) {
        rc = ul_errmsg_set(em, UL_ERR_REJECTED,
                           "node %s: the BMC reported success but volume %s is still there", node,
                           volume);
        goto out;
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "deleted", json_object_new_string(volume));
    job_ctx_progress(ctx, 100, "volume %s deleted", volume);
out:
    bmc_op_close(ctx, &os, rc);
    json_object_put(after);
    return rc;
}
