#include "config.h"

#include "ops.h"

#include <stdio.h>
#include <string.h>

#include "bmc/driver.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

ul_err bmc_node_check(const char *driver_name, const char *endpoint, json_object *options,
                      const struct ul_driver **driver, ul_errmsg *em)
{
    struct ul_endpoint ep;
    ul_err rc = node_endpoint_parse(endpoint, &ep, em);
    if (rc != UL_OK)
        return rc;
    const struct ul_driver *d;
    if (driver_name) {
        d = bmc_driver_find(driver_name);
        if (!d) {
            char known[256] = "";
            for (const struct ul_driver *const *p = bmc_drivers(); *p; p++)
                snprintf(known + strlen(known), sizeof(known) - strlen(known), "%s%s",
                         known[0] ? ", " : "", (*p)->name);
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'driver': unknown driver '%.64s' (known: %s)", driver_name,
                                 known);
        }
    } else {
        d = bmc_driver_for_scheme(ep.scheme);
        if (!d)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'endpoint': no driver handles scheme '%s' "
                                 "(give 'driver' or use a known scheme)",
                                 ep.scheme);
    }
    if (options && json_object_object_length(options) > 0) {
        if (!d->check_options)
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'options': driver %s takes none",
                                 d->name);
        rc = d->check_options(options, em);
        if (rc != UL_OK) {
            ul_errmsg_prefix(em, "field 'options'");
            return rc;
        }
    }
    *driver = d;
    return UL_OK;
}

/* A node's driver and its (cached) session, for one job. */
struct op_session {
    const struct ul_driver *driver;
    struct ul_bmc_session *s;
    char *node;
};

static ul_err op_open(ul_job_ctx *ctx, struct op_session *os, ul_errmsg *em)
{
    const struct bmc_ops_config *cfg = job_ctx_user(ctx);
    struct ul_node *node = NULL;
    memset(os, 0, sizeof(*os));
    ul_err rc = store_node_get(job_ctx_store(ctx), job_ctx_node(ctx), true, &node, em);
    if (rc != UL_OK)
        return rc;
    int timeout_ms = cfg->call_timeout_ms;
    if (timeout_ms > job_ctx_remaining_ms(ctx))
        timeout_ms = (int)job_ctx_remaining_ms(ctx);
    bool reused;
    job_ctx_progress(ctx, 5, "opening %s session", node->driver);
    rc = bmc_sessions_acquire(cfg->sessions, node, timeout_ms, &os->driver, &os->s, &reused, em);
    if (rc == UL_OK)
        os->node = xstrdup(node->name);
    node_free(node);
    return rc;
}

/* Give the session back; after an error that may mean a broken session
 * (silence, garbage) it is closed rather than cached. */
static void op_close(ul_job_ctx *ctx, struct op_session *os, ul_err rc)
{
    const struct bmc_ops_config *cfg = job_ctx_user(ctx);
    if (os->s) {
        bool healthy = !(rc == UL_ERR_TIMEOUT || rc == UL_ERR_UNREACHABLE ||
                         rc == UL_ERR_PROTOCOL || rc == UL_ERR_AUTH);
        bmc_sessions_release(cfg->sessions, os->node, os->driver, os->s, healthy);
    }
    free(os->node);
    os->s = NULL;
    os->node = NULL;
}

/* ---- power ---- */

static const char *power_param(json_object *params)
{
    json_object *v;
    if (!params || !json_object_object_get_ex(params, "action", &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

static ul_err power_validate(json_object *params, ul_errmsg *em)
{
    const char *a = power_param(params);
    if (!a)
        return ul_errmsg_set(em, UL_ERR_INVALID, "missing required field 'action'");
    if (strcmp(a, "status") != 0 && bmc_power_action_parse(a) == 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'action': '%.32s' is not one of on, off, soft, cycle, reset, "
                             "status",
                             a);
    return UL_OK;
}

/* on, off, soft and status reach the same end state however often they run,
 * and the handler reads the state before acting, so they can resume after a
 * restart.  A second cycle or reset would hit the host twice: those fail. */
static bool power_resumable(json_object *params)
{
    const char *a = power_param(params);
    return a && (strcmp(a, "on") == 0 || strcmp(a, "off") == 0 || strcmp(a, "soft") == 0 ||
                 strcmp(a, "status") == 0);
}

static json_object *power_result(enum ul_power_state now, enum ul_power_state before,
                                 bool changed)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "power", json_object_new_string(bmc_power_state_name(now)));
    if (before != UL_POWER_UNKNOWN || changed)
        json_object_object_add(r, "previous",
                               json_object_new_string(bmc_power_state_name(before)));
    json_object_object_add(r, "changed", json_object_new_boolean(changed));
    return r;
}

static ul_err power_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    const char *aname = power_param(params);
    enum ul_power_action action = bmc_power_action_parse(aname);
    bool status_only = strcmp(aname, "status") == 0;
    struct op_session os;
    enum ul_power_state before = UL_POWER_UNKNOWN, now = UL_POWER_UNKNOWN;
    ul_err rc = op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->power_get || (!status_only && !os.driver->power_set)) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: power control not supported by "
                           "this BMC", job_ctx_node(ctx));
        goto out;
    }
    /* Read the actual state first: after a restart the BMC, not our record,
     * says what happened. */
    job_ctx_progress(ctx, 20, "reading power state");
    rc = os.driver->power_get(os.s, &before, em);
    if (rc != UL_OK)
        goto out;
    if (status_only) {
        *result = power_result(before, UL_POWER_UNKNOWN, false);
        goto out;
    }
    enum ul_power_state want =
        (action == UL_POWER_ACTION_OFF || action == UL_POWER_ACTION_SOFT) ? UL_POWER_OFF
                                                                           : UL_POWER_ON;
    bool idempotent = action == UL_POWER_ACTION_ON || action == UL_POWER_ACTION_OFF ||
                      action == UL_POWER_ACTION_SOFT;
    if (idempotent && before == want) {
        job_ctx_progress(ctx, 100, "already %s", bmc_power_state_name(want));
        *result = power_result(before, before, false);
        goto out;
    }
    if ((rc = job_ctx_check(ctx, em)) != UL_OK)
        goto out;
    job_ctx_progress(ctx, 40, "sending power %s", aname);
    rc = os.driver->power_set(os.s, action, em);
    if (rc != UL_OK)
        goto out;
    /* BMCs accept the command before the host changes state (a soft off
     * waits for the OS): poll until it reads back or the job times out. */
    job_ctx_progress(ctx, 60, "waiting for power %s", bmc_power_state_name(want));
    int64_t interval = 250;
    for (;;) {
        rc = os.driver->power_get(os.s, &now, em);
        if (rc != UL_OK && !ul_err_is_transient(rc))
            goto out;
        if (rc == UL_OK && now == want)
            break;
        if ((rc = job_ctx_check(ctx, em)) != UL_OK) {
            if (rc == UL_ERR_TIMEOUT)
                ul_errmsg_set(em, UL_ERR_TIMEOUT,
                              "node %s: power %s accepted but state still reads %s at the "
                              "job's deadline",
                              job_ctx_node(ctx), aname, bmc_power_state_name(now));
            goto out;
        }
        job_ctx_sleep(ctx, interval);
        if (interval < 2000)
            interval *= 2;
    }
    job_ctx_progress(ctx, 100, "power is %s", bmc_power_state_name(now));
    *result = power_result(now, before, true);
out:
    op_close(ctx, &os, rc);
    if (rc != UL_OK && em->text[0] && !strstr(em->text, job_ctx_node(ctx)))
        ul_errmsg_prefix(em, "node %s: power %s", job_ctx_node(ctx), aname);
    return rc;
}

static const struct ul_job_type power_job = {
    .name = "power",
    .needs_node = true,
    .validate = power_validate,
    .resumable = power_resumable,
    .run = power_run,
};

void bmc_ops_register(ul_jobs *jobs, const struct bmc_ops_config *cfg)
{
    jobs_set_user(jobs, (void *)cfg);
    jobs_register(jobs, &power_job);
}
