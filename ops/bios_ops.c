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

/* Reset the host so staged settings apply (power it on when it is off). */
/* The reset is never sent twice: its phase is saved before it is sent, and
 * a run resumed in that phase (send false) only waits for the host. */
static ul_err bios_reset(ul_job_ctx *ctx, struct bmc_op *os, json_object *wanted, bool send,
                         ul_errmsg *em)
{
    enum ul_power_state ps = UL_POWER_UNKNOWN;
    ul_err rc;
    if (!os->driver->power_get || !os->driver->power_set)
        return cfg_unsupported(ctx, "power control (to apply the settings)", em);
    if (send) {
        if ((rc = os->driver->power_get(os->s, &ps, em)) != UL_OK)
            return rc;
        json_object *extra = json_object_new_object();
        json_object_object_add(extra, "attributes", json_object_get(wanted));
        rc = cfg_save_phase(ctx, "resetting", NULL, extra, em);
        json_object_put(extra);
        if (rc != UL_OK)
            return rc;
        job_ctx_progress(ctx, 50, "%s the host to apply the settings",
                         ps == UL_POWER_OFF ? "powering on" : "resetting");
        rc = os->driver->power_set(
            os->s, ps == UL_POWER_OFF ? UL_POWER_ACTION_ON : UL_POWER_ACTION_RESET, em);
        if (rc != UL_OK)
            return rc;
    } else {
        job_ctx_progress(ctx, 50, "resumed: waiting for the host the last run reset");
    }
    /* Wait for the host to come back on. */
    for (int64_t interval = 250;;) {
        rc = os->driver->power_get(os->s, &ps, em);
        if (rc == UL_OK && ps == UL_POWER_ON)
            return UL_OK;
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

static bool list_has(json_object *bios, const char *key, const char *word)
{
    json_object *arr;
    if (!json_object_object_get_ex(bios, key, &arr))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr); i++)
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(arr, i)), word) == 0)
            return true;
    return false;
}

ul_err bios_set_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *apply = jv_str(params, "apply");
    bool now = apply && strcmp(apply, "now") == 0;
    json_object *attrs = NULL, *bios = NULL, *registry = NULL, *wanted = NULL;
    json_object_object_get_ex(params, "attributes", &attrs);
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->bios_read || !os.driver->bios_set) {
        rc = cfg_unsupported(ctx, "BIOS settings", em);
        goto out;
    }
    bool resend = true;
    const char *phase = cfg_checkpoint_phase(ctx);
    json_object *cp = job_ctx_checkpoint(ctx), *cw;
    if (phase && cp && json_object_object_get_ex(cp, "attributes", &cw)) {
        /* Resumed after the settings were written: do not write again. */
        wanted = json_object_get(cw);
        if (strcmp(phase, "reset") == 0 || strcmp(phase, "immediate") == 0)
            goto verify;
        if (strcmp(phase, "resetting") == 0) {
            resend = false;
            goto reset;
        }
        if (strcmp(phase, "staged") == 0 && now)
            goto reset;
        if (strcmp(phase, "staged") == 0)
            goto staged;
    }

    job_ctx_progress(ctx, 15, "reading BIOS attributes");
    if ((rc = os.driver->bios_read(os.s, &bios, em)) != UL_OK)
        goto out;
    json_object *reg_name = NULL;
    json_object_object_get_ex(bios, "registry", &reg_name);
    if (reg_name && os.driver->bios_registry) {
        job_ctx_progress(ctx, 25, "reading the attribute registry %s",
                         json_object_get_string(reg_name));
        rc = os.driver->bios_registry(os.s, &registry, em);
        if (rc == UL_ERR_NOT_FOUND || rc == UL_ERR_UNSUPPORTED) {
            ul_info("node %s: %s; BIOS values are checked by the BMC only", node, em->text);
            rc = UL_OK;
        }
        if (rc != UL_OK)
            goto out;
    }
    if ((rc = bios_check_changes(registry, attrs, &wanted, em)) != UL_OK) {
        char msg[sizeof(em->text)];
        snprintf(msg, sizeof(msg), "%s", em->text);
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "node %s: %s", node, msg);
        goto out;
    }
    /* Values already in place (and not about to change) need no write: a
     * profile applied twice must not reboot a node for nothing. */
    {
        json_object *current = NULL, *pending = NULL, *to_write = json_object_new_object();
        json_object_object_get_ex(bios, "attributes", &current);
        json_object_object_get_ex(bios, "pending", &pending);
        json_object_object_foreach(wanted, name, v)
        {
            json_object *c = NULL;
            bool same =
                current && json_object_object_get_ex(current, name, &c) && json_object_equal(c, v);
            bool changing = pending && json_object_object_get_ex(pending, name, NULL);
            if (!same || changing)
                json_object_object_add(to_write, name, json_object_get(v));
        }
        if (json_object_object_length(to_write) == 0) {
            json_object_put(to_write);
            *result = json_object_new_object();
            json_object_object_add(*result, "requested", json_object_get(wanted));
            json_object_object_add(*result, "not_applied", json_object_new_object());
            json_object_object_add(*result, "unchanged", json_object_new_boolean(true));
            job_ctx_progress(ctx, 100, "all %d BIOS settings already have these values",
                             json_object_object_length(wanted));
            goto out;
        }
        json_object_put(wanted);
        wanted = to_write;
    }
    if ((rc = job_ctx_check(ctx, em)) != UL_OK)
        goto out;
    enum ul_apply_time at = UL_APPLY_DEFAULT;
    bool reset_ourselves = false;
    if (now) {
        if (list_has(bios, "apply_times", "Immediate"))
            at = UL_APPLY_IMMEDIATE;
        else
            reset_ourselves = true; /* the operator asked for it: stage, then reset */
    }
    if (reset_ourselves || !now)
        at = list_has(bios, "apply_times", "OnReset") ? UL_APPLY_ON_RESET : UL_APPLY_DEFAULT;
    job_ctx_progress(ctx, 35, "writing %d BIOS settings (apply %s)",
                     json_object_object_length(wanted), bmc_apply_time_name(at));
    /* Saved after the write: writing the same values again after a crash
     * is harmless; the reset, which is not, has a phase of its own. */
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "attributes", json_object_get(wanted));
    rc = os.driver->bios_set(os.s, wanted, at, em);
    if (rc == UL_OK)
        rc =
            cfg_save_phase(ctx, at == UL_APPLY_IMMEDIATE ? "immediate" : "staged", NULL, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
    if (at == UL_APPLY_IMMEDIATE)
        goto verify;
    if (!now)
        goto staged;
reset:
    if ((rc = bios_reset(ctx, &os, wanted, resend, em)) != UL_OK)
        goto out;
    {
        json_object *extra2 = json_object_new_object();
        json_object_object_add(extra2, "attributes", json_object_get(wanted));
        rc = cfg_save_phase(ctx, "reset", NULL, extra2, em);
        json_object_put(extra2);
        if (rc != UL_OK)
            goto out;
    }
verify:
    rc = bios_verify_run(ctx, &os, wanted, result, em);
    goto out;
staged:
    /* Read back: the service must show our values as pending. */
    json_object_put(bios);
    bios = NULL;
    if ((rc = os.driver->bios_read(os.s, &bios, em)) != UL_OK)
        goto out;
    {
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
        if (json_object_array_length(missing)) {
            rc = ul_errmsg_set(em, UL_ERR_REJECTED,
                               "node %s: the BMC accepted the change but does not show %s as "
                               "pending",
                               node, json_object_to_json_string(missing));
            json_object_put(missing);
            goto out;
        }
        json_object_put(missing);
        job_ctx_progress(ctx, 100, "%d BIOS settings staged; they apply at the next reset",
                         json_object_object_length(wanted));
    }
out:
    bmc_op_close(ctx, &os, rc);
    json_object_put(wanted);
    json_object_put(registry);
    json_object_put(bios);
    return rc;
}
