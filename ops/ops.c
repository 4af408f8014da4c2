#include "config.h"

#include "ops.h"

#include <stdio.h>
#include <string.h>

#include "bmc/driver.h"
#include "ops/config_ops.h"
#include "ops/plan.h"
#include "jsonv.h"
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

/* For a driver's transfers: stop when the job is canceled or the daemon
 * stops.  The deadline is not a reason to cut a call short: the driver
 * bounds each call by it, and the handler then says what timed out. */
bool bmc_op_should_stop(void *arg)
{
    ul_err rc = job_ctx_check(arg, NULL);
    return rc == UL_ERR_CANCELED || rc == UL_ERR_INTERRUPTED;
}

ul_err bmc_op_open(ul_job_ctx *ctx, struct bmc_op *os, ul_errmsg *em)
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
    if (rc == UL_OK) {
        os->node = xstrdup(node->name);
        if (os->driver->bind_job)
            os->driver->bind_job(os->s, job_ctx_deadline(ctx), bmc_op_should_stop, ctx);
    }
    node_free(node);
    return rc;
}

/* Give the session back; after an error that may mean a broken session
 * (silence, garbage) it is closed rather than cached. */
void bmc_op_close(ul_job_ctx *ctx, struct bmc_op *os, ul_err rc)
{
    const struct bmc_ops_config *cfg = job_ctx_user(ctx);
    if (os->s) {
        if (os->driver->bind_job)
            os->driver->bind_job(os->s, 0, NULL, NULL); /* the session outlives the job */
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
    json_object *dry;
    if (json_object_object_get_ex(params, "dry_run", &dry) &&
        !json_object_is_type(dry, json_type_boolean))
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'dry_run': must be true or false");
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

static json_object *power_result(enum ul_power_state now, enum ul_power_state before, bool changed)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "power", json_object_new_string(bmc_power_state_name(now)));
    if (before != UL_POWER_UNKNOWN || changed)
        json_object_object_add(r, "previous", json_object_new_string(bmc_power_state_name(before)));
    json_object_object_add(r, "changed", json_object_new_boolean(changed));
    return r;
}

static ul_err power_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    const char *aname = power_param(params);
    enum ul_power_action action = bmc_power_action_parse(aname);
    bool status_only = strcmp(aname, "status") == 0;
    struct bmc_op os;
    enum ul_power_state before = UL_POWER_UNKNOWN, now = UL_POWER_UNKNOWN;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->power_get || (!status_only && !os.driver->power_set)) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: power control not supported by "
                           "this BMC",
                           job_ctx_node(ctx));
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
    enum ul_power_state want = plan_power_target(action);
    json_object *plan = plan_power(before, action);
    if (cfg_dry_run(params)) {
        cfg_dry_run_done(ctx, plan, result);
        goto out;
    }
    bool already = plan_nchanges(plan) == 0;
    json_object_put(plan);
    if (already) {
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
    bmc_op_close(ctx, &os, rc);
    if (rc != UL_OK && em->text[0] && !strstr(em->text, job_ctx_node(ctx)))
        ul_errmsg_prefix(em, "node %s: power %s", job_ctx_node(ctx), aname);
    return rc;
}

/* Jobs that read the BMC and change nothing on it can always run again. */
static bool always_resumable(json_object *params)
{
    (void)params;
    return true;
}

/* ---- boot override ---- */

static ul_err boot_parse(json_object *params, bool *set, struct ul_boot *b, ul_errmsg *em)
{
    json_object *v;
    memset(b, 0, sizeof(*b));
    b->uefi = true;
    *set = false;
    json_object_object_foreach(params, key, val)
    {
        if (strcmp(key, "device") == 0) {
            int d = json_object_is_type(val, json_type_string)
                        ? bmc_boot_device_parse(json_object_get_string(val))
                        : -1;
            if (d < 0)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "field 'device': must be one of none, pxe, disk, cdrom, "
                                     "bios");
            b->device = (enum ul_boot_device)d;
            *set = true;
        } else if (strcmp(key, "persistent") == 0) {
            if (!json_object_is_type(val, json_type_boolean))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "field 'persistent': must be true or "
                                     "false");
            b->persistent = json_object_get_boolean(val);
        } else if (strcmp(key, "dry_run") == 0) {
            if (!json_object_is_type(val, json_type_boolean))
                return ul_errmsg_set(em, UL_ERR_INVALID, "field 'dry_run': must be true or false");
        } else if (strcmp(key, "mode") == 0) {
            const char *m =
                json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
            if (strcmp(m, "uefi") == 0)
                b->uefi = true;
            else if (strcmp(m, "legacy") == 0)
                b->uefi = false;
            else
                return ul_errmsg_set(em, UL_ERR_INVALID, "field 'mode': must be uefi or legacy");
        } else {
            return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
        }
    }
    if (!*set && (json_object_object_get_ex(params, "persistent", &v) ||
                  json_object_object_get_ex(params, "mode", &v)))
        return ul_errmsg_set(em, UL_ERR_INVALID, "fields 'persistent' and 'mode' need 'device'");
    return UL_OK;
}

static ul_err boot_validate(json_object *params, ul_errmsg *em)
{
    bool set;
    struct ul_boot b;
    return boot_parse(params, &set, &b, em);
}

static json_object *boot_json(const struct ul_boot *b)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, "device", json_object_new_string(bmc_boot_device_name(b->device)));
    json_object_object_add(r, "persistent",
                           b->flags_unknown ? NULL : json_object_new_boolean(b->persistent));
    json_object_object_add(
        r, "mode", b->flags_unknown ? NULL : json_object_new_string(b->uefi ? "uefi" : "legacy"));
    return r;
}

static ul_err boot_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    bool set;
    struct ul_boot want, got;
    ul_err rc = boot_parse(params, &set, &want, em);
    if (rc != UL_OK)
        return rc;
    struct bmc_op os;
    rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        return rc;
    if (!os.driver->boot_get || (set && !os.driver->boot_set)) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: boot override not supported by this BMC", job_ctx_node(ctx));
        goto out;
    }
    if (set && cfg_dry_run(params)) {
        job_ctx_progress(ctx, 30, "reading the boot override");
        if ((rc = os.driver->boot_get(os.s, &got, em)) == UL_OK)
            cfg_dry_run_done(ctx, plan_boot(&got, &want), result);
        goto out;
    }
    if (set) {
        job_ctx_progress(ctx, 30, "setting boot device %s", bmc_boot_device_name(want.device));
        if ((rc = os.driver->boot_set(os.s, &want, em)) != UL_OK)
            goto out;
    }
    job_ctx_progress(ctx, 70, "reading boot override back");
    if ((rc = os.driver->boot_get(os.s, &got, em)) != UL_OK)
        goto out;
    /* Trust the BMC's read-back, not our request: some BMCs accept a boot
     * device they then ignore. */
    if (set && (got.device != want.device ||
                (want.device != UL_BOOT_NONE && !got.flags_unknown &&
                 (got.persistent != want.persistent || got.uefi != want.uefi)))) {
        rc = ul_errmsg_set(
            em, UL_ERR_PROTOCOL,
            "node %s: asked for boot device %s (%s) but the BMC reports %s (%s)", job_ctx_node(ctx),
            bmc_boot_device_name(want.device), want.persistent ? "persistent" : "once",
            bmc_boot_device_name(got.device), got.persistent ? "persistent" : "once");
        goto out;
    }
    *result = boot_json(&got);
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}

/* ---- sensors (and power draw where the BMC reports it) ---- */

json_object *bmc_sensors_json(const struct ul_sensor_list *l)
{
    json_object *arr = json_object_new_array_ext((int)l->count);
    for (size_t i = 0; i < l->count; i++)
        json_object_array_add(arr, bmc_sensor_json(&l->items[i]));
    return arr;
}

json_object *bmc_sensor_json(const struct ul_sensor *x)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(x->name));
    json_object_object_add(o, "number", json_object_new_int(x->number));
    json_object_object_add(o, "kind", json_object_new_string(bmc_sensor_kind_name(x->kind)));
    json_object_object_add(o, "type", json_object_new_string(x->type));
    json_object_object_add(o, "unit", json_object_new_string(x->unit));
    json_object_object_add(o, "value", x->has_value ? json_object_new_double(x->value) : NULL);
    json_object_object_add(o, "status", json_object_new_string(bmc_sensor_status_name(x->status)));
    json_object_object_add(o, "state", json_object_new_string(x->state));
    json_object *t = json_object_new_object();
    for (int i = 0; i < UL_THR__COUNT; i++)
        if (x->thresholds_present & (1u << i))
            json_object_object_add(t, bmc_threshold_name((enum ul_threshold)i),
                                   json_object_new_double(x->thresholds[i]));
    json_object_object_add(o, "thresholds", t);
    return o;
}

ul_err bmc_read_sensors(ul_job_ctx *ctx, struct ul_sensor_list *out, struct ul_power_reading *pr,
                        ul_err *pr_rc, ul_errmsg *pr_em, enum ul_power_state *power, ul_errmsg *em)
{
    struct bmc_op os;
    memset(out, 0, sizeof(*out));
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        return rc;
    if (!os.driver->sensors_read) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: sensors not supported by this BMC",
                           job_ctx_node(ctx));
        goto out;
    }
    job_ctx_progress(ctx, 30, "reading sensors");
    if ((rc = os.driver->sensors_read(os.s, out, em)) != UL_OK)
        goto out;
    /* Power draw rides along: DCMI where the BMC has it, a clear word where
     * it does not.  Its failure never fails the sensor read. */
    *pr_rc =
        os.driver->power_reading
            ? os.driver->power_reading(os.s, pr, pr_em)
            : ul_errmsg_set(pr_em, UL_ERR_UNSUPPORTED,
                            "node %s: power reading not supported by this BMC", job_ctx_node(ctx));
    if (power) {
        ul_errmsg ignored;
        *power = UL_POWER_UNKNOWN;
        if (os.driver->power_get && os.driver->power_get(os.s, power, &ignored) != UL_OK)
            *power = UL_POWER_UNKNOWN;
    }
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}

json_object *bmc_power_reading_json(const struct ul_power_reading *p, ul_err rc,
                                    const char *message)
{
    json_object *pr = json_object_new_object();
    json_object_object_add(pr, "supported", json_object_new_boolean(rc == UL_OK));
    if (rc == UL_OK) {
        json_object_object_add(pr, "watts", json_object_new_double(p->watts));
        json_object_object_add(pr, "min_watts", json_object_new_double(p->min_watts));
        json_object_object_add(pr, "max_watts", json_object_new_double(p->max_watts));
        json_object_object_add(pr, "avg_watts", json_object_new_double(p->avg_watts));
        json_object_object_add(pr, "period_s", json_object_new_int(p->period_s));
        json_object_object_add(pr, "active", json_object_new_boolean(p->active));
    } else {
        json_object_object_add(pr, "error", json_object_new_string(ul_err_name(rc)));
        json_object_object_add(pr, "message", json_object_new_string(message));
    }
    return pr;
}

static ul_err sensors_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    struct ul_sensor_list list;
    struct ul_power_reading p;
    ul_err prc = UL_ERR_UNSUPPORTED;
    ul_errmsg pem = {{0}};
    ul_err rc = bmc_read_sensors(ctx, &list, &p, &prc, &pem, NULL, em);
    if (rc == UL_OK) {
        json_object *r = json_object_new_object();
        json_object_object_add(r, "sensors", bmc_sensors_json(&list));
        json_object_object_add(r, "power_reading", bmc_power_reading_json(&p, prc, pem.text));
        *result = r;
    }
    bmc_sensor_list_free(&list);
    return rc;
}

/* ---- SEL / event log ---- */

static ul_err sel_validate(json_object *params, ul_errmsg *em)
{
    json_object_object_foreach(params, key, val)
    {
        if (strcmp(key, "clear") != 0)
            return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
        if (!json_object_is_type(val, json_type_boolean))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'clear': must be true or false");
    }
    return UL_OK;
}

ul_err bmc_collect_events(ul_job_ctx *ctx, bool clear, int *read, int *inserted, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    ul_store *st = job_ctx_store(ctx);
    struct bmc_op os;
    struct ul_event_list list = {0};
    struct ul_event_rec *recs = NULL;
    char *cursor = NULL;
    char next[UL_CURSOR_LEN] = "";
    *read = *inserted = 0;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        return rc;
    if (!os.driver->events_read || (clear && !os.driver->events_clear)) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: event log %s not supported by this "
                           "BMC",
                           node, clear ? "clearing" : "reading");
        goto out;
    }
    if ((rc = store_cursor_get(st, node, "sel", &cursor, em)) != UL_OK)
        goto out;
    job_ctx_progress(ctx, 20, "reading event log");
    if ((rc = os.driver->events_read(os.s, cursor, &list, next, em)) != UL_OK)
        goto out;
    recs = xcalloc(list.count ? list.count : 1, sizeof(*recs));
    for (size_t i = 0; i < list.count; i++) {
        recs[i].node = (char *)node;
        recs[i].source = "sel";
        recs[i].record_id = list.items[i].id;
        recs[i].time = list.items[i].time;
        recs[i].severity = (char *)bmc_severity_name(list.items[i].severity);
        recs[i].sensor = list.items[i].sensor;
        recs[i].message = list.items[i].message;
    }
    job_ctx_progress(ctx, 60, "storing %zu entries", list.count);
    if ((rc = store_events_add(st, recs, list.count, inserted, em)) != UL_OK)
        goto out;
    *read = (int)list.count;
    /* The cursor moves only after the entries are safely stored. */
    if ((rc = store_cursor_set(st, node, "sel", next, em)) != UL_OK)
        goto out;
    if (clear) {
        if ((rc = job_ctx_check(ctx, em)) != UL_OK)
            goto out;
        job_ctx_progress(ctx, 80, "clearing the event log");
        rc = os.driver->events_clear(os.s, em);
    }
out:
    free(recs);
    free(cursor);
    bmc_event_list_free(&list);
    bmc_op_close(ctx, &os, rc);
    return rc;
}

/* Collect new log entries into the store and advance the cursor; then, if
 * asked, clear the BMC's log.  Collecting first means a clear never loses an
 * entry we had not stored. */
static ul_err sel_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    json_object *v;
    bool clear = json_object_object_get_ex(params, "clear", &v) && json_object_get_boolean(v);
    int read, inserted;
    ul_err rc = bmc_collect_events(ctx, clear, &read, &inserted, em);
    if (rc != UL_OK)
        return rc;
    json_object *r = json_object_new_object();
    json_object_object_add(r, "read", json_object_new_int(read));
    json_object_object_add(r, "new", json_object_new_int(inserted));
    json_object_object_add(r, "cleared", json_object_new_boolean(clear));
    *result = r;
    return UL_OK;
}

/* ---- inventory ---- */

ul_err bmc_read_inventory(ul_job_ctx *ctx, json_object **out, ul_errmsg *em)
{
    struct bmc_op os;
    json_object *inv = NULL;
    *out = NULL;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        return rc;
    if (!os.driver->inventory_read) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: inventory not supported by this BMC",
                           job_ctx_node(ctx));
        goto out;
    }
    job_ctx_progress(ctx, 30, "reading inventory");
    if ((rc = os.driver->inventory_read(os.s, &inv, em)) != UL_OK)
        goto out;
    char *text = jv_to_string(inv);
    rc = store_inventory_set(job_ctx_store(ctx), job_ctx_node(ctx), text, em);
    free(text);
    if (rc != UL_OK)
        goto out;
    *out = inv;
    inv = NULL;
out:
    json_object_put(inv);
    bmc_op_close(ctx, &os, rc);
    return rc;
}

static ul_err inventory_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                            ul_errmsg *em)
{
    return bmc_read_inventory(ctx, result, em);
}

static ul_err empty_params(json_object *params, ul_errmsg *em)
{
    json_object_object_foreach(params, key, val)
    {
        (void)val;
        return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
    }
    return UL_OK;
}

static const struct ul_job_type power_job = {
    .name = "power",
    .needs_node = true,
    .validate = power_validate,
    .resumable = power_resumable,
    .run = power_run,
};

static const struct ul_job_type boot_job = {
    .name = "boot",
    .needs_node = true,
    .validate = boot_validate,
    .resumable = always_resumable, /* setting the same override twice is harmless */
    .run = boot_run,
};

static const struct ul_job_type sensors_job = {
    .name = "sensors",
    .needs_node = true,
    .validate = empty_params,
    .resumable = always_resumable,
    .run = sensors_run,
};

static const struct ul_job_type sel_job = {
    .name = "sel",
    .needs_node = true,
    .validate = sel_validate,
    .resumable = always_resumable, /* collect-then-clear is safe to repeat */
    .run = sel_run,
};

static const struct ul_job_type inventory_job = {
    .name = "inventory",
    .needs_node = true,
    .validate = empty_params,
    .resumable = always_resumable,
    .run = inventory_run,
};

void bmc_ops_register(ul_jobs *jobs, const struct bmc_ops_config *cfg)
{
    jobs_set_user(jobs, (void *)cfg);
    jobs_register(jobs, &power_job);
    jobs_register(jobs, &boot_job);
    jobs_register(jobs, &sensors_job);
    jobs_register(jobs, &sel_job);
    jobs_register(jobs, &inventory_job);
    bmc_chassis_ops_register(jobs);
}
