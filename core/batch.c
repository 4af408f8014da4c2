/* batch.c - the "batch" job type: one operation over many nodes, as a parent
 * job with a child job per node.
 *
 * Steps: SUBMIT puts a child per node in the store (the engine's per-node
 * claims and its worker pool bound how many run at once), then the batch
 * parks until its children end; COLLECT counts them each time one ends and
 * parks again until none is left.  It succeeds when every child did, fails
 * naming the nodes that failed otherwise, and, canceled, takes its queued
 * children with it (jobs_cancel).
 *
 * SUBMIT is safe to run again after a restart: children are inserted in the
 * order of the node list, each in its own transaction, so the number that
 * exist says where to go on. */
#include "config.h"

#include "batch.h"

#include <stdio.h>
#include <string.h>

#include "jsonv.h"
#include "log.h"
#include "xalloc.h"

enum batch_step { BATCH_SUBMIT, BATCH_COLLECT };
static const char *const batch_steps[] = {"submit", "collect"};

/* Most failed nodes a result names one by one. */
#define BATCH_MAX_LISTED 100

static ul_err batch_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"type", JV_STRING, true, 64},
        {"nodes", JV_ARRAY, true, 0},
        {"params", JV_OBJECT, false, 0},
        {"timeout", JV_INT, false, 0},
    };
    ul_err rc = jv_check(params, f, sizeof(f) / sizeof(f[0]), em);
    if (rc != UL_OK)
        return rc;
    json_object *nodes = NULL;
    json_object_object_get_ex(params, "nodes", &nodes);
    size_t n = json_object_array_length(nodes);
    if (n == 0 || n > BATCH_MAX_NODES)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'nodes': must name 1 to %d nodes",
                             BATCH_MAX_NODES);
    for (size_t i = 0; i < n; i++)
        if (!json_object_is_type(json_object_array_get_idx(nodes, i), json_type_string))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'nodes[%zu]': must be a node name",
                                 i);
    if (strcmp(jv_str(params, "type"), "batch") == 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'type': a batch of batches is refused");
    return UL_OK;
}

static bool batch_resumable(json_object *params)
{
    (void)params;
    return true; /* SUBMIT goes on where it stopped; COLLECT only reads */
}

static ul_err batch_submit(ul_job_ctx *ctx, json_object *params, ul_errmsg *em)
{
    json_object *nodes = NULL, *cparams = NULL, *t = NULL;
    json_object_object_get_ex(params, "nodes", &nodes);
    json_object_object_get_ex(params, "params", &cparams);
    int timeout = json_object_object_get_ex(params, "timeout", &t) ? json_object_get_int(t) : 0;
    const char *type = jv_str(params, "type");
    int64_t counts[UL_JOB_STATES];
    ul_err rc = store_job_children_counts(job_ctx_store(ctx), job_ctx_id(ctx), counts, em);
    if (rc != UL_OK)
        return rc;
    size_t have = 0, n = json_object_array_length(nodes);
    for (int s = 0; s < UL_JOB_STATES; s++)
        have += (size_t)counts[s];
    for (size_t i = have; i < n; i++) {
        if ((rc = job_ctx_check(ctx, em)) != UL_OK)
            return rc;
        const char *node = json_object_get_string(json_object_array_get_idx(nodes, i));
        rc = job_ctx_submit_child(ctx, type, node, cparams, timeout, NULL, em);
        if (rc != UL_OK) {
            ul_errmsg_prefix(em, "batch: node %s (%zu of %zu)", node, i + 1, n);
            return rc;
        }
        if (i % 50 == 49 || i + 1 == n)
            job_ctx_progress(ctx, (int)((i + 1) * 10 / n), "%zu of %zu %s jobs submitted", i + 1,
                             n, type);
    }
    job_ctx_wait_children(ctx, BATCH_COLLECT);
    return UL_OK;
}

/* The children's outcome as the batch's result (new). */
static json_object *batch_result(ul_job_ctx *ctx, const int64_t counts[UL_JOB_STATES],
                                 ul_errmsg *em)
{
    json_object *r = json_object_new_object(), *c = json_object_new_object();
    for (int s = 0; s < UL_JOB_STATES; s++)
        json_object_object_add(c, job_state_name((enum ul_job_state)s),
                               json_object_new_int64(counts[s]));
    json_object_object_add(r, "counts", c);
    if (counts[UL_JOB_FAILED] == 0)
        return r;
    json_object *failed = json_object_new_object();
    struct ul_job_filter f = {.state = UL_JOB_FAILED,
                              .parent_id = job_ctx_id(ctx),
                              .limit = BATCH_MAX_LISTED};
    struct ul_job_list l;
    if (store_job_list(job_ctx_store(ctx), &f, &l, em) == UL_OK) {
        for (size_t i = 0; i < l.count; i++)
            json_object_object_add(failed, l.items[i]->node ? l.items[i]->node : "(none)",
                                   json_object_new_string(l.items[i]->error ? l.items[i]->error
                                                                            : "failed"));
        store_job_list_free(&l);
    }
    json_object_object_add(r, "failed", failed);
    return r;
}

static ul_err batch_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                        ul_errmsg *em)
{
    if (job_ctx_step(ctx) == BATCH_SUBMIT)
        return batch_submit(ctx, params, em);
    int64_t counts[UL_JOB_STATES];
    ul_err rc = store_job_children_counts(job_ctx_store(ctx), job_ctx_id(ctx), counts, em);
    if (rc != UL_OK)
        return rc;
    int64_t total = 0, open = counts[UL_JOB_QUEUED] + counts[UL_JOB_RUNNING];
    for (int s = 0; s < UL_JOB_STATES; s++)
        total += counts[s];
    job_ctx_progress(ctx, total ? (int)(10 + 90 * (total - open) / total) : 100,
                     "%lld of %lld ended: %lld succeeded, %lld failed, %lld canceled",
                     (long long)(total - open), (long long)total,
                     (long long)counts[UL_JOB_SUCCEEDED], (long long)counts[UL_JOB_FAILED],
                     (long long)counts[UL_JOB_CANCELED]);
    if (open > 0) {
        job_ctx_wait_children(ctx, BATCH_COLLECT);
        return UL_OK;
    }
    *result = batch_result(ctx, counts, em);
    if (counts[UL_JOB_FAILED] + counts[UL_JOB_CANCELED] > 0)
        return ul_errmsg_set(em, UL_ERR_REJECTED, "%lld of %lld %s jobs did not succeed "
                             "(%lld failed, %lld canceled)",
                             (long long)(counts[UL_JOB_FAILED] + counts[UL_JOB_CANCELED]),
                             (long long)total, jv_str(params, "type"),
                             (long long)counts[UL_JOB_FAILED], (long long)counts[UL_JOB_CANCELED]);
    return UL_OK;
}

static const struct ul_job_type batch_type = {
    .name = "batch",
    .needs_node = false,
    .validate = batch_validate,
    .resumable = batch_resumable,
    .run = batch_run,
    .step_names = batch_steps,
    .nsteps = 2,
};

void batch_register(ul_jobs *jobs)
{
    jobs_register(jobs, &batch_type);
}
