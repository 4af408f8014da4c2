/* config_ops.c - BIOS, RAID and firmware operations as jobs, written once
 * over the driver table (bios_*, storage_read, volume_*, firmware_*,
 * task_poll).
 *
 * Every change is verified by reading the BMC back: BIOS values after the
 * reset that applies them, a volume after it is built, firmware versions
 * after the update's task ends.  Long operations run as a task on the BMC;
 * the job saves where that task is (its checkpoint) before following it, so
 * a daemon restart follows the same task instead of starting the operation
 * again.  A request that may or may not have reached the BMC when the
 * daemon died is never sent twice: that job fails and says what to check.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "bmc/bios.h"
#include "bmc/driver.h"
#include "bmc/ops.h"
#include "jsonv.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define DEFAULT_STALL_S 900

static char spool_dir[4096]; /* uploaded images live here; set at registration */

/* ---- helpers ---- */

static ul_err unsupported(ul_job_ctx *ctx, const char *what, ul_errmsg *em)
{
    return ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: %s not supported by this BMC",
                         job_ctx_node(ctx), what);
}

static const char *checkpoint_phase(ul_job_ctx *ctx)
{
    json_object *cp = job_ctx_checkpoint(ctx), *p;
    return cp && json_object_object_get_ex(cp, "phase", &p) ? json_object_get_string(p) : NULL;
}

static ul_err save_phase(ul_job_ctx *ctx, const char *phase, const struct ul_task_ref *task,
                         json_object *extra, ul_errmsg *em)
{
    json_object *cp = json_object_new_object();
    json_object_object_add(cp, "phase", json_object_new_string(phase));
    if (task && !bmc_task_ref_empty(task)) {
        json_object_object_add(cp, "task", json_object_new_string(task->task));
        json_object_object_add(cp, "monitor", json_object_new_string(task->monitor));
    }
    if (extra) {
        json_object_object_foreach(extra, k, v)
            json_object_object_add(cp, k, json_object_get(v));
    }
    ul_err rc = job_ctx_save_checkpoint(ctx, cp, em);
    json_object_put(cp);
    return rc;
}

/* The task a checkpoint recorded; false when it holds none. */
static bool checkpoint_task(ul_job_ctx *ctx, struct ul_task_ref *task)
{
    json_object *cp = job_ctx_checkpoint(ctx), *t, *m;
    memset(task, 0, sizeof(*task));
    if (!cp)
        return false;
    if (json_object_object_get_ex(cp, "task", &t))
        snprintf(task->task, sizeof(task->task), "%s", json_object_get_string(t));
    if (json_object_object_get_ex(cp, "monitor", &m))
        snprintf(task->monitor, sizeof(task->monitor), "%s", json_object_get_string(m));
    return !bmc_task_ref_empty(task);
}

/* A job whose request may have reached the BMC before the daemon died. */
static ul_err unknown_outcome(ul_job_ctx *ctx, const char *what, const char *check,
                              ul_errmsg *em)
{
    return ul_errmsg_set(em, UL_ERR_INTERRUPTED,
                         "node %s: the daemon stopped while the %s request was being sent; "
                         "whether the BMC took it is unknown, so it is not sent again: check "
                         "`%s` before retrying",
                         job_ctx_node(ctx), what, check);
}

static json_object *task_json(const struct ul_task_ref *t, const struct ul_task_status *st)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "uri", json_object_new_string(t->task[0] ? t->task : t->monitor));
    if (st) {
        json_object_object_add(o, "state", json_object_new_string(st->service_state));
        json_object_object_add(o, "percent", json_object_new_int(st->percent));
        json_object_object_add(o, "message", json_object_new_string(st->message));
    }
    return o;
}

/* Follow a BMC task to its end, mapping its percentage into the job's
 * progress between lo and hi.  A task whose percentage and message stay
 * the same for stall_s fails the job; so does one the BMC reports failed
 * (with the BMC's message).  Transient errors (a BMC rebooting itself in
 * the middle of its own update) are waited out until the job's deadline.
 * PENDING ends the wait when accept_pending (staged for a reset). */
static ul_err follow_task(ul_job_ctx *ctx, struct bmc_op *os, const struct ul_task_ref *task,
                          const char *what, int lo, int hi, int stall_s, bool accept_pending,
                          struct ul_task_status *st, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    if (!os->driver->task_poll)
        return unsupported(ctx, "following tasks", em);
    int last_pct = -2;
    char last_msg[sizeof(st->message)] = "";
    int64_t changed_at = ul_mono_ms();
    int64_t interval = 500;
    for (;;) {
        ul_err rc = os->driver->task_poll(os->s, task, st, em);
        if (rc == UL_OK) {
            if (st->state == UL_TASK_DONE)
                return UL_OK;
            if (st->state == UL_TASK_FAILED)
                return ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: %s failed on the BMC (task "
                                     "%s%s%s)",
                                     node, what, st->service_state, st->message[0] ? ": " : "",
                                     st->message);
            if (st->state == UL_TASK_PENDING && accept_pending)
                return UL_OK;
            int pct = st->percent < 0 ? 0 : st->percent;
            job_ctx_progress(ctx, lo + (hi - lo) * pct / 100, "%s: task %s %d%%%s%s", what,
                             st->service_state, pct, st->message[0] ? ": " : "", st->message);
            if (st->percent != last_pct || strcmp(st->message, last_msg) != 0) {
                last_pct = st->percent;
                snprintf(last_msg, sizeof(last_msg), "%s", st->message);
                changed_at = ul_mono_ms();
            } else if (ul_mono_ms() - changed_at >= (int64_t)stall_s * 1000) {
                return ul_errmsg_set(em, UL_ERR_TIMEOUT,
                                     "node %s: %s stalled: the task stayed at %d%% for %d s "
                                     "(%s%s%s)",
                                     node, what, pct, stall_s, st->service_state,
                                     st->message[0] ? ": " : "", st->message);
            }
        } else if (!ul_err_is_transient(rc) && rc != UL_ERR_AUTH) {
            return rc;
        } else {
            ul_debug("node %s: %s: task poll: %s (waiting)", node, what, em->text);
        }
        if ((rc = job_ctx_check(ctx, em)) != UL_OK) {
            if (rc == UL_ERR_TIMEOUT)
                ul_errmsg_set(em, UL_ERR_TIMEOUT,
                              "node %s: %s: the job's deadline passed while the BMC's task was "
                              "%s at %d%% (the task goes on on the BMC)",
                              node, what, st->service_state, st->percent);
            return rc;
        }
        int64_t wait = st->retry_after_s > 0 ? (int64_t)st->retry_after_s * 1000 : interval;
        if (wait > 5000)
            wait = 5000;
        job_ctx_sleep(ctx, wait);
        if (interval < 2000)
            interval += 250;
    }
}

/* ---- BIOS ---- */

static ul_err bios_read_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                            ul_errmsg *em)
{
    (void)params;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->bios_read) {
        rc = unsupported(ctx, "BIOS settings", em);
        goto out;
    }
    job_ctx_progress(ctx, 30, "reading BIOS attributes");
    rc = os.driver->bios_read(os.s, result, em);
out:
    bmc_op_close(ctx, &os, rc);
    return rc;
}

static ul_err bios_set_validate(json_object *params, ul_errmsg *em)
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
static ul_err bios_reset(ul_job_ctx *ctx, struct bmc_op *os, ul_errmsg *em)
{
    enum ul_power_state ps = UL_POWER_UNKNOWN;
    if (!os->driver->power_get || !os->driver->power_set)
        return unsupported(ctx, "power control (to apply the settings)", em);
    ul_err rc = os->driver->power_get(os->s, &ps, em);
    if (rc != UL_OK)
        return rc;
    job_ctx_progress(ctx, 50, "%s the host to apply the settings",
                     ps == UL_POWER_OFF ? "powering on" : "resetting");
    rc = os->driver->power_set(os->s, ps == UL_POWER_OFF ? UL_POWER_ACTION_ON
                                                          : UL_POWER_ACTION_RESET, em);
    if (rc != UL_OK)
        return rc;
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

static ul_err bios_set_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                           ul_errmsg *em)
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
        rc = unsupported(ctx, "BIOS settings", em);
        goto out;
    }
    const char *phase = checkpoint_phase(ctx);
    json_object *cp = job_ctx_checkpoint(ctx), *cw;
    if (phase && cp && json_object_object_get_ex(cp, "attributes", &cw)) {
        /* Resumed after the settings were written: do not write again. */
        wanted = json_object_get(cw);
        if (strcmp(phase, "reset") == 0 || strcmp(phase, "immediate") == 0)
            goto verify;
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
        json_object *current = NULL, *pending = NULL, *todo = json_object_new_object();
        json_object_object_get_ex(bios, "attributes", &current);
        json_object_object_get_ex(bios, "pending", &pending);
        json_object_object_foreach(wanted, name, v)
        {
            json_object *c = NULL;
            bool same = current && json_object_object_get_ex(current, name, &c) &&
                        json_object_equal(c, v);
            bool changing = pending && json_object_object_get_ex(pending, name, NULL);
            if (!same || changing)
                json_object_object_add(todo, name, json_object_get(v));
        }
        if (json_object_object_length(todo) == 0) {
            json_object_put(todo);
            *result = json_object_new_object();
            json_object_object_add(*result, "requested", json_object_get(wanted));
            json_object_object_add(*result, "not_applied", json_object_new_object());
            json_object_object_add(*result, "unchanged", json_object_new_boolean(true));
            job_ctx_progress(ctx, 100, "all %d BIOS settings already have these values",
                             json_object_object_length(wanted));
            goto out;
        }
        json_object_put(wanted);
        wanted = todo;
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
    /* Saved first: a resumed job never writes twice. */
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "attributes", json_object_get(wanted));
    rc = os.driver->bios_set(os.s, wanted, at, em);
    if (rc == UL_OK)
        rc = save_phase(ctx, at == UL_APPLY_IMMEDIATE ? "immediate" : "staged", NULL, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
    if (at == UL_APPLY_IMMEDIATE)
        goto verify;
    if (!now)
        goto staged;
reset:
    if ((rc = bios_reset(ctx, &os, em)) != UL_OK)
        goto out;
    {
        json_object *extra2 = json_object_new_object();
        json_object_object_add(extra2, "attributes", json_object_get(wanted));
        rc = save_phase(ctx, "reset", NULL, extra2, em);
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
            bool staged_ok = pending && json_object_object_get_ex(pending, name, &p) &&
                             json_object_equal(p, v);
            bool already = current && json_object_object_get_ex(current, name, &c) &&
                           json_object_equal(c, v);
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

/* ---- RAID ---- */

static ul_err raid_read_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                            ul_errmsg *em)
{
    (void)params;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read) {
        rc = unsupported(ctx, "RAID configuration", em);
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

static ul_err raid_create_validate(json_object *params, ul_errmsg *em)
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
        for (size_t i = 0; i < json_object_array_length(types); i++)
            if (strcasecmp(json_object_get_string(json_object_array_get_idx(types, i)), type) == 0)
                ok = true;
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

static ul_err raid_create_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                              ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    json_object *storage = NULL, *after = NULL;
    const char **drives = NULL;
    char volume_id[64] = "";
    struct ul_task_ref task;
    struct ul_task_status st = {0};
    const char *controller = jv_str(params, "controller");
    const char *name = jv_str(params, "name");
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read || !os.driver->volume_create) {
        rc = unsupported(ctx, "RAID volume creation", em);
        goto out;
    }
    const char *phase = checkpoint_phase(ctx);
    if (phase && strcmp(phase, "submitting") == 0) {
        rc = unknown_outcome(ctx, "volume creation", "underlay raid NODE show", em);
        goto out;
    }
    if (checkpoint_task(ctx, &task))
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
    if ((rc = save_phase(ctx, "submitting", NULL, NULL, em)) != UL_OK)
        goto out;
    rc = os.driver->volume_create(os.s, &spec, volume_id, &task, em);
    if (rc != UL_OK) {
        save_phase(ctx, "refused", NULL, NULL, NULL);
        goto out;
    }
    if (bmc_task_ref_empty(&task)) {
        json_object *extra = json_object_new_object();
        json_object_object_add(extra, "volume", json_object_new_string(volume_id));
        rc = save_phase(ctx, "created", NULL, extra, em);
        json_object_put(extra);
        if (rc != UL_OK)
            goto out;
        goto verify;
    }
    if ((rc = save_phase(ctx, "following", &task, NULL, em)) != UL_OK)
        goto out;
follow:
    if ((rc = follow_task(ctx, &os, &task, "volume creation", 40, 80, DEFAULT_STALL_S, false, &st,
                          em)) != UL_OK)
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
        json_object *v = json_object_array_get_idx(vols, i), *vn;
        if (json_object_object_get_ex(v, "name", &vn) &&
            strcmp(json_object_get_string(vn), name) == 0)
            vol = v;
    }
    if (!vol) {
        rc = ul_errmsg_set(em, UL_ERR_REJECTED,
                           "node %s: the BMC reported success but volume '%s' is not there", node,
                           volume_id[0] ? volume_id : name);
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
        json_object_object_add(*result, "task", task_json(&task, &st));
    job_ctx_progress(ctx, 100, "volume %s (%s) created and verified", jv_str(vol, "id"),
                     jv_str(vol, "raid_type"));
out:
    bmc_op_close(ctx, &os, rc);
    free(drives);
    json_object_put(storage);
    json_object_put(after);
    return rc;
}

static ul_err raid_delete_validate(json_object *params, ul_errmsg *em)
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

static ul_err raid_delete_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                              ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *controller = jv_str(params, "controller");
    const char *volume = jv_str(params, "volume");
    json_object *after = NULL;
    struct ul_task_ref task;
    memset(&task, 0, sizeof(task));
    struct ul_task_status st = {0};
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->storage_read || !os.driver->volume_delete) {
        rc = unsupported(ctx, "RAID volume deletion", em);
        goto out;
    }
    const char *phase = checkpoint_phase(ctx);
    /* Deleting twice is harmless (the second finds nothing and the verify
     * passes), so an unknown outcome simply goes on to verify. */
    if (checkpoint_task(ctx, &task))
        goto follow;
    if (phase && (strcmp(phase, "submitting") == 0 || strcmp(phase, "deleted") == 0))
        goto verify;
    job_ctx_progress(ctx, 30, "deleting volume %s", volume);
    if ((rc = save_phase(ctx, "submitting", NULL, NULL, em)) != UL_OK)
        goto out;
    if ((rc = os.driver->volume_delete(os.s, controller, volume, &task, em)) != UL_OK)
        goto out;
    if ((rc = save_phase(ctx, bmc_task_ref_empty(&task) ? "deleted" : "following", &task, NULL,
                         em)) != UL_OK)
        goto out;
    if (bmc_task_ref_empty(&task))
        goto verify;
follow:
    if ((rc = follow_task(ctx, &os, &task, "volume deletion", 40, 80, DEFAULT_STALL_S, false, &st,
                          em)) != UL_OK)
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
                           "node %s: the BMC reported success but volume %s is still there",
                           node, volume);
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

/* ---- firmware ---- */

static ul_err firmware_list_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                                ul_errmsg *em)
{
    (void)params;
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->firmware_list) {
        rc = unsupported(ctx, "firmware inventory", em);
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
    size_t n = strlen(spool_dir);
    return n && strncmp(path, spool_dir, n) == 0 && path[n] == '/' && !strstr(path, "/..") &&
           !strchr(path + n + 1, '/');
}

static ul_err firmware_update_validate(json_object *params, ul_errmsg *em)
{
    static const struct jv_field f[] = {
        {"image_uri", JV_STRING, false, 2048}, {"file", JV_STRING, false, 1024},
        {"targets", JV_ARRAY, false, 0},       {"apply", JV_STRING, false, 16},
        {"stall_timeout", JV_INT, false, 0},   {"upload", JV_OBJECT, false, 0},
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

static void drop_upload(json_object *params)
{
    const char *file = jv_str(params, "file");
    if (file && in_spool(file) && unlink(file) == 0)
        ul_debug("removed uploaded image %s", file);
}

static ul_err firmware_update_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                                  ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    const char *apply = jv_str(params, "apply");
    bool on_reset = apply && strcmp(apply, "on-reset") == 0;
    json_object *before = NULL, *after = NULL, *tj = NULL;
    const char **targets = NULL;
    struct ul_task_ref task;
    struct ul_task_status st = {0};
    bool submitted = false;
    int stall = DEFAULT_STALL_S;
    if (json_object_object_get_ex(params, "stall_timeout", &tj))
        stall = (int)json_object_get_int64(tj);
    struct bmc_op os;
    ul_err rc = bmc_op_open(ctx, &os, em);
    if (rc != UL_OK)
        goto out;
    if (!os.driver->firmware_update || !os.driver->firmware_list) {
        rc = unsupported(ctx, "firmware updates", em);
        goto out;
    }
    const char *phase = checkpoint_phase(ctx);
    if (phase && strcmp(phase, "submitting") == 0) {
        submitted = true;
        rc = unknown_outcome(ctx, "firmware update", "underlay firmware NODE list", em);
        goto out;
    }
    if (checkpoint_task(ctx, &task)) {
        submitted = true;
        json_object *cp = job_ctx_checkpoint(ctx), *b;
        if (json_object_object_get_ex(cp, "before", &b))
            before = json_object_get(b);
        job_ctx_progress(ctx, 20, "resumed: following the BMC's task %s",
                         task.task[0] ? task.task : task.monitor);
        goto follow;
    }
    job_ctx_progress(ctx, 10, "reading firmware versions");
    if ((rc = read_versions(&os, &before, em)) != UL_OK)
        goto out;
    json_object *tarr = NULL;
    json_object_object_get_ex(params, "targets", &tarr);
    size_t nt = tarr ? json_object_array_length(tarr) : 0;
    targets = xcalloc(nt + 1, sizeof(*targets));
    for (size_t i = 0; i < nt; i++)
        targets[i] = json_object_get_string(json_object_array_get_idx(tarr, i));
    struct ul_fw_update u = {
        .image_uri = jv_str(params, "image_uri"),
        .file = jv_str(params, "file"),
        .targets = targets,
        .ntargets = nt,
        .apply = apply ? (on_reset ? UL_APPLY_ON_RESET : UL_APPLY_IMMEDIATE) : UL_APPLY_DEFAULT,
    };
    if ((rc = job_ctx_check(ctx, em)) != UL_OK)
        goto out;
    job_ctx_progress(ctx, 15, "%s", u.file ? "uploading the image to the BMC"
                                           : "asking the BMC to fetch the image");
    json_object *extra = json_object_new_object();
    json_object_object_add(extra, "before", json_object_get(before));
    rc = save_phase(ctx, "submitting", NULL, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
    submitted = true;
    rc = os.driver->firmware_update(os.s, &u, &task, em);
    if (rc != UL_OK) {
        save_phase(ctx, "refused", NULL, NULL, NULL);
        goto out;
    }
    drop_upload(params); /* the BMC has it now */
    if (bmc_task_ref_empty(&task)) {
        /* An old service that gives no task: nothing to follow, so the
         * result says only what can be known. */
        save_phase(ctx, "accepted", NULL, NULL, NULL);
        *result = json_object_new_object();
        json_object_object_add(*result, "before", json_object_get(before));
        json_object_object_add(*result, "task", NULL);
        json_object_object_add(*result, "note",
                               json_object_new_string("the BMC accepted the update without a "
                                                      "task to follow; check the firmware list "
                                                      "once it has finished"));
        job_ctx_progress(ctx, 100, "update accepted (the BMC gives no task to follow)");
        goto out;
    }
    extra = json_object_new_object();
    json_object_object_add(extra, "before", json_object_get(before));
    rc = save_phase(ctx, "following", &task, extra, em);
    json_object_put(extra);
    if (rc != UL_OK)
        goto out;
follow:
    rc = follow_task(ctx, &os, &task, "firmware update", 20, 90, stall, on_reset, &st, em);
    if (rc != UL_OK)
        goto out;
    *result = json_object_new_object();
    json_object_object_add(*result, "task", task_json(&task, &st));
    json_object_object_add(*result, "before", json_object_get(before));
    if (st.state == UL_TASK_PENDING) {
        json_object_object_add(*result, "applies", json_object_new_string("at the next reset"));
        job_ctx_progress(ctx, 100, "firmware staged; it applies at the next reset");
        goto out;
    }
    job_ctx_progress(ctx, 95, "reading firmware versions");
    if ((rc = read_versions(&os, &after, em)) != UL_OK)
        goto out;
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
    json_object_object_add(*result, "after", json_object_get(after));
    json_object_object_add(*result, "changed", changed);
    if (json_object_object_length(changed) == 0)
        job_ctx_progress(ctx, 100, "task completed; no component reports a new version yet "
                                   "(some apply at the next reset)");
    else
        job_ctx_progress(ctx, 100, "firmware updated: %d component%s changed version",
                         json_object_object_length(changed),
                         json_object_object_length(changed) == 1 ? "" : "s");
out:
    /* An upload is dropped once the BMC has it or the job is over; only a
     * job that stops before sending keeps it to resume with. */
    if (rc != UL_ERR_INTERRUPTED || submitted)
        drop_upload(params);
    bmc_op_close(ctx, &os, rc);
    if (rc != UL_OK && em->text[0] && !strstr(em->text, node))
        ul_errmsg_prefix(em, "node %s: firmware update", node);
    free(targets);
    json_object_put(before);
    json_object_put(after);
    return rc;
}

/* ---- registration ---- */

static ul_err no_params(json_object *params, ul_errmsg *em)
{
    json_object_object_foreach(params, key, val)
    {
        (void)val;
        return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
    }
    return UL_OK;
}

static bool yes(json_object *params)
{
    (void)params;
    return true;
}

/* Resumable: each handler reads its checkpoint and never sends a request
 * twice (see unknown_outcome). */
static const struct ul_job_type config_jobs[] = {
    {"bios.read", true, no_params, yes, bios_read_run},
    {"bios.set", true, bios_set_validate, yes, bios_set_run},
    {"raid.read", true, no_params, yes, raid_read_run},
    {"raid.create", true, raid_create_validate, yes, raid_create_run},
    {"raid.delete", true, raid_delete_validate, yes, raid_delete_run},
    {"firmware.list", true, no_params, yes, firmware_list_run},
    {"firmware.update", true, firmware_update_validate, yes, firmware_update_run},
};

void bmc_config_ops_register(ul_jobs *jobs, const char *upload_dir)
{
    snprintf(spool_dir, sizeof(spool_dir), "%s", upload_dir ? upload_dir : "");
    for (size_t i = 0; i < sizeof(config_jobs) / sizeof(config_jobs[0]); i++)
        jobs_register(jobs, &config_jobs[i]);
}
