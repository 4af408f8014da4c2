/* bios_ops.c - BIOS settings as jobs: read, and set with a check against
 * the attribute registry before and a verification after the apply. */
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

ul_err bios_read_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    (void)params;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->bios_read) {
        rc = cfg_unsupported(ctx, "BIOS settings", em);
        goto out;
    }
    job_ctx_progress(ctx, 30, "reading BIOS attributes");
    rc = os.driver->bios_read(os.s, result, em);
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}

ul_err bios_set_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"attributes", JV_OBJECT, true, 0},
        {"apply", JV_STRING, false, 16},
        {"dry_run", JV_BOOL, false, 0},
    };
    ul_err rc = jv_check(params, f, sizeof(f) / sizeof(f[0]), em);
    if (rc != UL_OK)
        return rc;
    const char *apply = jv_str(params, "apply");
    if (apply && strcmp(apply, "now") != 0 && strcmp(apply, "on-reset") != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'apply': must be now or on-reset");
    json_object *checked = NULL;
    json_object *attrs;
    json_object_object_get_ex(params, "attributes", &attrs);
    rc = bios_check_changes(NULL, attrs, &checked, em);
    json_object_put(checked);
    if (rc != UL_OK)
        ul_errmsg_prefix(em, "field 'attributes'");
    return rc;
}

/* Which of the wanted attributes are still staged. */
static int still_pending(json_object *bios, json_object *wanted)
{
    json_object *pending;
    int n = 0;
    if (!json_object_object_get_ex(bios, "pending", &pending))
        return 0;
    json_object_object_foreach(wanted, name, v)
    {
        (void)v;
        if (json_object_object_get_ex(pending, name, NULL))
            n++;
    }
    return n;
}

const char *const bios_set_step_names[BIOS_SET_NSTEPS] = {
    "plan", "checking staged", "reset", "resetting", "waiting for the host", "verifying",
};

/* The attributes written (saved by the plan step; borrowed). */
static json_object *written(ul_job_ctx *ctx)
{
    return cfg_checkpoint_get(ctx, "attributes");
}

/* RESETTING: reset the host so staged settings apply (power it on when it
 * was off).  The step is recorded before the request is sent; a run
 * resumed in it only waits for the host. */
static ul_err bios_resetting(ul_job_ctx *ctx, struct bmc_op *os, ul_errmsg *em)
{
    if (!cfg_send_fresh(ctx)) {
        job_ctx_progress(ctx, 50, "resumed: waiting for the host the last run reset");
        job_ctx_next(ctx, BIOS_SET_HOST_WAIT);
        return UL_OK;
    }
    json_object *was = cfg_checkpoint_get(ctx, "power_before");
    bool off = was && strcmp(json_object_get_string(was), "off") == 0;
    job_ctx_progress(ctx, 50, "%s the host to apply the settings",
                     off ? "powering on" : "resetting");
    ul_err rc = os->driver->power_set(os->s, off ? UL_POWER_ACTION_ON : UL_POWER_ACTION_RESET, em);
    if (rc == UL_OK)
        job_ctx_next(ctx, BIOS_SET_HOST_WAIT);
    return rc;
}

/* HOST_WAIT: until the host is back on. */
static ul_err bios_host_wait(ul_job_ctx *ctx, struct bmc_op *os, ul_errmsg *em)
{
    enum ul_power_state ps = UL_POWER_UNKNOWN;
    for (int64_t interval = 250;;) {
        ul_err rc = os->driver->power_get(os->s, &ps, em);
        if (rc == UL_OK && ps == UL_POWER_ON) {
            job_ctx_next(ctx, BIOS_SET_VERIFY);
            return UL_OK;
        }
        if (rc != UL_OK && !ul_err_is_transient(rc))
            return rc;
        if ((rc = job_ctx_check(ctx, em)) != UL_OK)
            return rc;
        job_ctx_sleep(ctx, interval);
        if (interval < 2000)
            interval *= 2;
    }
}

/* After the apply: wait until none of the wanted attributes is staged any
 * more (the BIOS takes them during POST), then compare. */
static ul_err bios_verify_run(ul_job_ctx *ctx, struct bmc_op *os, json_object *wanted,
                              json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    json_object *bios = NULL;
    ul_err rc;
    job_ctx_progress(ctx, 75, "waiting for the BIOS to apply the settings");
    for (int64_t interval = 500;;) {
        json_object_put(bios);
        bios = NULL;
        rc = os->driver->bios_read(os->s, &bios, em);
        if (rc == UL_OK && still_pending(bios, wanted) == 0)
            break;
        if (rc != UL_OK && !ul_err_is_transient(rc))
            goto out;
        if ((rc = job_ctx_check(ctx, em)) != UL_OK) {
            if (rc == UL_ERR_TIMEOUT)
                ul_errmsg_set(em, UL_ERR_TIMEOUT,
                              "node %s: BIOS settings still pending at the job's deadline "
                              "(the host may not have rebooted through POST)",
                              node);
            goto out;
        }
        job_ctx_sleep(ctx, interval);
        if (interval < 3000)
            interval += 500;
    }
    job_ctx_progress(ctx, 90, "verifying BIOS attributes");
    json_object *current = NULL, *messages = NULL;
    json_object_object_get_ex(bios, "attributes", &current);
    json_object_object_get_ex(bios, "messages", &messages);
    json_object *bad = bios_verify(wanted, current, messages);
    json_object *res = json_object_new_object();
    json_object_object_add(res, "requested", json_object_get(wanted));
    json_object_object_add(res, "not_applied", bad);
    json_object_object_add(res, "messages", json_object_get(messages));
    *result = res;
    int nbad = json_object_object_length(bad);
    if (nbad) {
        char names[300] = "";
        size_t used = 0;
        json_object_object_foreach(bad, name, info)
        {
            json_object *m = NULL;
            json_object_object_get_ex(info, "message", &m);
            int w = snprintf(names + used, sizeof(names) - used, "%s%s%s%s%s", used ? "; " : "",
                             name, m ? " (" : "", m ? json_object_get_string(m) : "", m ? ")" : "");
            if (w < 0 || (size_t)w >= sizeof(names) - used)
                break;
            used += (size_t)w;
        }
        rc = ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: %d of %d BIOS settings did not take: %s",
                           node, nbad, json_object_object_length(wanted), names);
        goto out;
    }
    job_ctx_progress(ctx, 100, "%d BIOS settings applied and verified",
                     json_object_object_length(wanted));
    rc = UL_OK;
out:
    json_object_put(bios);
    return rc;
}

/* PLAN: read the BIOS (and its registry), plan, and write what changes.
 * The write is not a send-once step: writing the same values again after a
 * crash is harmless; the reset, which is not, has a step of its own. */
static ul_err bios_plan_step(ul_job_ctx *ctx, struct bmc_op *os, json_object *params,
                             json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *apply = jv_str(params, "apply");
    bool now = apply && strcmp(apply, "now") == 0;
    json_object *attrs = NULL, *bios = NULL, *registry = NULL, *wanted = NULL, *plan = NULL;
    json_object *to_write = NULL;
    json_object_object_get_ex(params, "attributes", &attrs);
    ul_err rc;
    const char *old = cfg_legacy_phase(ctx);
    if (old && written(ctx)) {
        /* Left by a daemon before steps, after the write. */
        int to = strcmp(old, "resetting") == 0                                ? BIOS_SET_HOST_WAIT
                 : strcmp(old, "reset") == 0 || strcmp(old, "immediate") == 0 ? BIOS_SET_VERIFY
                 : strcmp(old, "staged") == 0 ? (now ? BIOS_SET_RESET : BIOS_SET_STAGED)
                                              : -1;
        if (to >= 0) {
            job_ctx_next(ctx, to);
            return UL_OK;
        }
    }
    job_ctx_progress(ctx, 15, "reading BIOS attributes");
    if ((rc = os->driver->bios_read(os->s, &bios, em)) != UL_OK)
        goto out;
    json_object *reg_name = NULL;
    json_object_object_get_ex(bios, "registry", &reg_name);
    if (reg_name && os->driver->bios_registry) {
        job_ctx_progress(ctx, 25, "reading the attribute registry %s",
                         json_object_get_string(reg_name));
        rc = os->driver->bios_registry(os->s, &registry, em);
        if (rc == UL_ERR_NOT_FOUND || rc == UL_ERR_UNSUPPORTED) {
            ul_info("node %s: %s; BIOS values are checked by the BMC only", node, em->text);
            rc = UL_OK;
        }
        if (rc != UL_OK)
            goto out;
    }
    enum ul_apply_time at = UL_APPLY_DEFAULT;
    plan = plan_bios(bios, registry, attrs, apply, &at);
    if (cfg_dry_run(params)) {
        rc = cfg_dry_run_done(ctx, plan, result);
        plan = NULL;
        goto out;
    }
    /* Refused: the message names every attribute at once, as always. */
    if ((rc = bios_check_changes(registry, attrs, &wanted, em)) != UL_OK) {
        char msg[sizeof(em->text)];
        snprintf(msg, sizeof(msg), "%s", em->text);
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "node %s: %s", node, msg);
        goto out;
    }
    /* Values already in place (and not about to change) need no write: a
     * profile applied twice must not reboot a node for nothing. */
    to_write = json_object_new_object();
    json_object *changes = NULL;
    json_object_object_get_ex(plan, "changes", &changes);
    for (size_t i = 0; i < json_object_array_length(changes); i++) {
        json_object *c = json_object_array_get_idx(changes, i), *to = NULL;
        json_object_object_get_ex(c, "to", &to);
        json_object_object_add(to_write, jv_str(c, "target"), json_object_get(to));
    }
    if (json_object_object_length(to_write) == 0) {
        *result = json_object_new_object();
        json_object_object_add(*result, "requested", json_object_get(wanted));
        json_object_object_add(*result, "not_applied", json_object_new_object());
        json_object_object_add(*result, "unchanged", json_object_new_boolean(true));
        job_ctx_progress(ctx, 100, "all %d BIOS settings already have these values",
                         json_object_object_length(wanted));
        goto out;
    }
    if ((rc = job_ctx_check(ctx, em)) != UL_OK)
        goto out;
    job_ctx_progress(ctx, 35, "writing %d BIOS settings (apply %s)",
                     json_object_object_length(to_write), bmc_apply_time_name(at));
    if ((rc = os->driver->bios_set(os->s, to_write, at, em)) != UL_OK)
        goto out;
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "attributes", json_object_get(to_write));
    rc = cfg_save(ctx, NULL, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
    job_ctx_next(ctx, at == UL_APPLY_IMMEDIATE ? BIOS_SET_VERIFY
                      : now                    ? BIOS_SET_RESET
                                               : BIOS_SET_STAGED);
out:
    json_object_put(plan);
    json_object_put(to_write);
    json_object_put(wanted);
    json_object_put(registry);
    json_object_put(bios);
    return rc;
}

/* STAGED: read back; the service must show our values as pending. */
static ul_err bios_staged_step(ul_job_ctx *ctx, struct bmc_op *os, json_object **result,
                               ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    json_object *wanted = written(ctx), *bios = NULL;
    ul_err rc = os->driver->bios_read(os->s, &bios, em);
    if (rc != UL_OK)
        return rc;
    json_object *pending = NULL, *current = NULL;
    json_object_object_get_ex(bios, "pending", &pending);
    json_object_object_get_ex(bios, "attributes", &current);
    json_object *missing = json_object_new_array();
    json_object_object_foreach(wanted, name, v)
    {
        json_object *p = NULL, *c = NULL;
        bool staged_ok =
            pending && json_object_object_get_ex(pending, name, &p) && json_object_equal(p, v);
        bool already =
            current && json_object_object_get_ex(current, name, &c) && json_object_equal(c, v);
        if (!staged_ok && !already)
            json_object_array_add(missing, json_object_new_string(name));
    }
    json_object *res = json_object_new_object();
    json_object_object_add(res, "staged", json_object_get(wanted));
    json_object_object_add(res, "applies", json_object_new_string("at the next reset"));
    *result = res;
    if (json_object_array_length(missing))
        rc = ul_errmsg_set(em, UL_ERR_REJECTED,
                           "node %s: the BMC accepted the change but does not show %s as "
                           "pending",
                           node, json_object_to_json_string(missing));
    else
        job_ctx_progress(ctx, 100, "%d BIOS settings staged; they apply at the next reset",
                         json_object_object_length(wanted));
    json_object_put(missing);
    json_object_put(bios);
    return rc;
}

/* RESET: the power state decides the request (on when off, else a reset);
 * it is saved, then the send-once step sends it. */
static ul_err bios_reset_step(ul_job_ctx *ctx, struct bmc_op *os, ul_errmsg *em)
{
    enum ul_power_state ps = UL_POWER_UNKNOWN;
    ul_err rc = os->driver->power_get(os->s, &ps, em);
    if (rc != UL_OK)
        return rc;
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "attributes", json_object_get(written(ctx)));
    json_object_object_add(extra, "power_before", json_object_new_string(bmc_power_state_name(ps)));
    rc = cfg_save(ctx, NULL, extra, em);
    json_object_put(extra);
    if (rc == UL_OK && (rc = job_ctx_check(ctx, em)) == UL_OK)
        cfg_enter_send_step(ctx, BIOS_SET_RESETTING);
    return rc;
}

ul_err bios_set_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    int step = job_ctx_step(ctx);
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->bios_read || !os.driver->bios_set) {
        rc = cfg_unsupported(ctx, "BIOS settings", em);
        goto out;
    }
    if (step != BIOS_SET_PLAN && !written(ctx)) {
        rc = ul_errmsg_set(em, UL_ERR_INTERNAL,
                           "node %s: BIOS job at step %d without the "
                           "attributes it wrote",
                           job_ctx_node(ctx), step);
        goto out;
    }
    if ((step == BIOS_SET_RESET || step == BIOS_SET_RESETTING || step == BIOS_SET_HOST_WAIT) &&
        (!os.driver->power_get || !os.driver->power_set)) {
        rc = cfg_unsupported(ctx, "power control (to apply the settings)", em);
        goto out;
    }
    switch (step) {
    case BIOS_SET_PLAN:
        rc = bios_plan_step(ctx, &os, params, result, em);
        break;
    case BIOS_SET_STAGED:
        rc = bios_staged_step(ctx, &os, result, em);
        break;
    case BIOS_SET_RESET:
        rc = bios_reset_step(ctx, &os, em);
        break;
    case BIOS_SET_RESETTING:
        rc = bios_resetting(ctx, &os, em);
        break;
    case BIOS_SET_HOST_WAIT:
        rc = bios_host_wait(ctx, &os, em);
        break;
    case BIOS_SET_VERIFY:
        rc = bios_verify_run(ctx, &os, written(ctx), result, em);
        break;
    default:
        rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: BIOS job at unknown step %d",
                           job_ctx_node(ctx), step);
    }
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}
