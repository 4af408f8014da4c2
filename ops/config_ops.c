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
 *
 * The handlers live in bios_ops.c, raid_ops.c and firmware_ops.c; this file
 * holds what they share (checkpoints, following a task) and registers them.
 */
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

/* How long a task's BMC may refuse our login before the job gives up. */
#define AUTH_GRACE_MS (5 * 60 * 1000)
/* Malformed task replies in a row before the job gives up. */
#define MAX_GARBLED 5

static char spool_dir[4096]; /* uploaded images live here; set at registration */

const char *cfg_spool_dir(void)
{
    return spool_dir;
}

/* ---- helpers ---- */

bool cfg_dry_run(json_object *params)
{
    json_object *v;
    return json_object_object_get_ex(params, "dry_run", &v) && json_object_get_boolean(v);
}

ul_err cfg_dry_run_done(ul_job_ctx *ctx, json_object *plan, json_object **result)
{
    json_object *refused = NULL;
    json_object_object_get_ex(plan, "refused", &refused);
    json_object_object_add(plan, "dry_run", json_object_new_boolean(true));
    job_ctx_progress(ctx, 100, "dry run: %d change%s, %d refused; nothing was sent",
                     plan_nchanges(plan), plan_nchanges(plan) == 1 ? "" : "s",
                     refused ? (int)json_object_array_length(refused) : 0);
    *result = plan;
    return UL_OK;
}

ul_err cfg_unsupported(ul_job_ctx *ctx, const char *what, ul_errmsg *em)
{
    return ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: %s not supported by this BMC",
                         job_ctx_node(ctx), what);
}

ul_err cfg_save(ul_job_ctx *ctx, const struct ul_task_ref *task, json_object *extra, ul_errmsg *em)
{
    json_object *cp = json_object_new_object();
    if (task && !bmc_task_ref_empty(task)) {
        json_object_object_add(cp, "task", json_object_new_string(task->task));
        json_object_object_add(cp, "monitor", json_object_new_string(task->monitor));
    }
    if (extra) {
        json_object_object_foreach(extra, k, v) json_object_object_add(cp, k, json_object_get(v));
    }
    ul_err rc = job_ctx_save_checkpoint(ctx, cp, em);
    json_object_put(cp);
    return rc;
}

json_object *cfg_checkpoint_get(ul_job_ctx *ctx, const char *key)
{
    json_object *cp = job_ctx_checkpoint(ctx), *v = NULL;
    return cp && json_object_object_get_ex(cp, key, &v) ? v : NULL;
}

const char *cfg_legacy_phase(ul_job_ctx *ctx)
{
    json_object *p = cfg_checkpoint_get(ctx, "phase");
    return job_ctx_step(ctx) == 0 && p && json_object_is_type(p, json_type_string)
               ? json_object_get_string(p)
               : NULL;
}

void cfg_enter_send_step(ul_job_ctx *ctx, int step)
{
    if (job_ctx_resumed(ctx))
        /* Parked due at once, the node kept: the request follows at once
         * and nothing else should come between the plan and it. */
        job_ctx_wait_until(ctx, step, 0, true);
    else
        job_ctx_next(ctx, step);
}

bool cfg_send_fresh(ul_job_ctx *ctx)
{
    return !job_ctx_resumed(ctx);
}

/* The task a checkpoint recorded; false when it holds none. */
bool cfg_checkpoint_task(ul_job_ctx *ctx, struct ul_task_ref *task)
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
ul_err cfg_unknown_outcome(ul_job_ctx *ctx, const char *what, const char *check, ul_errmsg *em)
{
    return ul_errmsg_set(em, UL_ERR_INTERRUPTED,
                         "node %s: the daemon stopped while the %s request was being sent; "
                         "whether the BMC took it is unknown, so it is not sent again: check "
                         "`%s` before retrying",
                         job_ctx_node(ctx), what, check);
}

json_object *cfg_task_json(const struct ul_task_ref *t, const struct ul_task_status *st)
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

/* Where following a task stands, kept in the job's checkpoint ("follow")
 * so that between polls the job is parked (no worker, and the node kept
 * only where the caller asks) and a restart goes on from the same place. */
struct follow_state {
    int last_pct;
    char last_msg[256];
    int64_t changed_at;         /* epoch ms the task last moved (or the BMC was away) */
    int64_t auth_failing_since; /* epoch ms; 0 when logins work */
    int garbled;                /* malformed replies in a row */
    int64_t interval;           /* ms to the next poll */
    int job_pct;
};

static int64_t int_or(json_object *o, const char *key, int64_t dflt)
{
    json_object *v;
    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
               ? json_object_get_int64(v)
               : dflt;
}

static void follow_load(ul_job_ctx *ctx, int lo, struct follow_state *fs)
{
    json_object *cp = job_ctx_checkpoint(ctx), *f = NULL;
    memset(fs, 0, sizeof(*fs));
    fs->last_pct = -2;
    fs->changed_at = ul_wall_ms();
    fs->interval = 500;
    fs->job_pct = lo;
    if (!cp || !json_object_object_get_ex(cp, "follow", &f) ||
        !json_object_is_type(f, json_type_object))
        return;
    fs->last_pct = (int)int_or(f, "last_pct", -2);
    const char *msg = jv_str(f, "last_msg");
    snprintf(fs->last_msg, sizeof(fs->last_msg), "%s", msg ? msg : "");
    fs->garbled = (int)int_or(f, "garbled", 0);
    fs->interval = int_or(f, "interval", 500);
    fs->job_pct = (int)int_or(f, "job_pct", lo);
    fs->auth_failing_since = int_or(f, "auth_failing_since", 0);
    /* After a restart the daemon's own absence is not the task stalling:
     * the stall clock starts again. */
    if (!job_ctx_resumed(ctx))
        fs->changed_at = int_or(f, "changed_at", fs->changed_at);
}

static ul_err follow_save(ul_job_ctx *ctx, const struct follow_state *fs, ul_errmsg *em)
{
    json_object *cp = json_object_new_object(), *old = job_ctx_checkpoint(ctx);
    if (old) {
        json_object_object_foreach(old, k, v) json_object_object_add(cp, k, json_object_get(v));
    }
    json_object *f = json_object_new_object();
    json_object_object_add(f, "last_pct", json_object_new_int(fs->last_pct));
    json_object_object_add(f, "last_msg", json_object_new_string(fs->last_msg));
    json_object_object_add(f, "changed_at", json_object_new_int64(fs->changed_at));
    json_object_object_add(f, "auth_failing_since", json_object_new_int64(fs->auth_failing_since));
    json_object_object_add(f, "garbled", json_object_new_int(fs->garbled));
    json_object_object_add(f, "interval", json_object_new_int64(fs->interval));
    json_object_object_add(f, "job_pct", json_object_new_int(fs->job_pct));
    json_object_object_add(cp, "follow", f);
    ul_err rc = job_ctx_save_checkpoint(ctx, cp, em);
    json_object_put(cp);
    return rc;
}

/* Poll a BMC task once; when it has not ended, park the job until the next
 * poll (*parked) with its percentage mapped into the job's progress between
 * lo and hi.  A task whose percentage and message stay the same for stall_s
 * fails the job; so does one the BMC reports failed (with the BMC's
 * message).  Transient errors (a BMC rebooting itself in the middle of its
 * own update) are waited out until the job's deadline.  PENDING ends the
 * wait when accept_pending (staged for a reset). */
ul_err cfg_follow_task(ul_job_ctx *ctx, struct bmc_op *os, const struct ul_task_ref *task,
                       const char *what, int lo, int hi, int stall_s, bool accept_pending,
                       bool hold_node, bool *parked, struct ul_task_status *st, ul_errmsg *em)
{
    const char *node = job_ctx_node(ctx);
    *parked = false;
    if (!os->driver->task_poll)
        return cfg_unsupported(ctx, "following tasks", em);
    struct follow_state fs;
    follow_load(ctx, lo, &fs);
    int64_t now = ul_wall_ms();
    ul_err rc = os->driver->task_poll(os->s, task, st, em);
    if (rc == UL_ERR_NOT_FOUND) {
        /* The BMC forgot the task (it restarted, as many do at the end
         * of their own update): over, outcome unknown.  The caller
         * reads the BMC back to tell. */
        ul_info("node %s: %s: %s; checking the result", node, what, em->text);
        st->state = UL_TASK_DONE;
        snprintf(st->service_state, sizeof(st->service_state), "Gone");
        snprintf(st->message, sizeof(st->message), "%.200s", em->text);
        return UL_OK;
    }
    if (rc == UL_OK) {
        if (st->state == UL_TASK_DONE)
            return UL_OK;
        if (st->state == UL_TASK_FAILED)
            return ul_errmsg_set(em, UL_ERR_REJECTED,
                                 "node %s: %s failed on the BMC (task "
                                 "%s%s%s)",
                                 node, what, st->service_state, st->message[0] ? ": " : "",
                                 st->message);
        if (st->state == UL_TASK_PENDING && accept_pending)
            return UL_OK;
        int pct = st->percent < 0 ? 0 : st->percent;
        fs.job_pct = lo + (hi - lo) * pct / 100;
        job_ctx_progress(ctx, fs.job_pct, "%s: task %s %d%%%s%s", what, st->service_state, pct,
                         st->message[0] ? ": " : "", st->message);
        if (st->percent != fs.last_pct || strcmp(st->message, fs.last_msg) != 0) {
            fs.last_pct = st->percent;
            snprintf(fs.last_msg, sizeof(fs.last_msg), "%s", st->message);
            fs.changed_at = now;
        } else if (now - fs.changed_at >= (int64_t)stall_s * 1000) {
            return ul_errmsg_set(em, UL_ERR_TIMEOUT,
                                 "node %s: %s stalled: the task stayed at %d%% for %d s "
                                 "(%s%s%s)",
                                 node, what, pct, stall_s, st->service_state,
                                 st->message[0] ? ": " : "", st->message);
        }
    } else if (rc == UL_ERR_INTERRUPTED && job_ctx_check(ctx, NULL) != UL_OK) {
        /* The call was cut short for the job (canceled, deadline,
         * stopping): the check below says which. */
    } else if ((!ul_err_is_transient(rc) && rc != UL_ERR_AUTH) ||
               (rc == UL_ERR_PROTOCOL && ++fs.garbled >= MAX_GARBLED)) {
        /* Garbage once may be a BMC rebooting; every time, it is not
         * a task we can follow. */
        return rc;
    } else if (rc == UL_ERR_AUTH && fs.auth_failing_since &&
               now - fs.auth_failing_since > AUTH_GRACE_MS) {
        /* A BMC rebooting into new firmware may refuse logins for a
         * while; one that still does after this long has other
         * credentials now. */
        return rc;
    } else {
        if (rc == UL_ERR_AUTH && !fs.auth_failing_since)
            fs.auth_failing_since = now;
        job_ctx_progress(ctx, fs.job_pct, "%s: waiting for the BMC (%s)", what, em->text);
        /* A BMC that is away (rebooting into its new firmware) is not a
         * stalled task: the stall clock starts again when it answers. */
        fs.changed_at = now;
        ul_debug("node %s: %s: task poll: %s (waiting)", node, what, em->text);
    }
    if (rc != UL_ERR_AUTH)
        fs.auth_failing_since = 0;
    if (rc != UL_ERR_PROTOCOL)
        fs.garbled = 0;
    if ((rc = job_ctx_check(ctx, em)) != UL_OK) {
        if (rc == UL_ERR_TIMEOUT)
            ul_errmsg_set(em, UL_ERR_TIMEOUT,
                          "node %s: %s: the job's deadline passed while the BMC's task was "
                          "%s at %d%% (the task goes on on the BMC)",
                          node, what, st->service_state, st->percent);
        return rc;
    }
    int64_t wait = st->retry_after_s > 0 ? (int64_t)st->retry_after_s * 1000 : fs.interval;
    if (wait > 5000)
        wait = 5000;
    if (fs.interval < 2000)
        fs.interval += 250;
    if ((rc = follow_save(ctx, &fs, em)) != UL_OK)
        return rc;
    /* Parked between polls: the worker goes back to the pool.  The caller
     * says whether the node stays held meanwhile. */
    job_ctx_wait_until(ctx, job_ctx_step(ctx), wait, hold_node);
    *parked = true;
    return UL_OK;
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

/* Resumable: each handler goes on from its step and checkpoint and never
 * sends a request twice (cfg_send_fresh, cfg_unknown_outcome). */

const char *const raid_step_names[RAID_NSTEPS] = {"plan", "submitting", "following", "verifying"};
#define CONFIG_JOB(n, v, r, d, sn, ns)                                                             \
    {                                                                                              \
        .name = (n), .needs_node = true, .validate = (v), .resumable = yes, .run = (r),            \
        .discard = (d), .step_names = (sn), .nsteps = (ns)                                         \
    }

static const struct ul_job_type config_jobs[] = {
    CONFIG_JOB("bios.read", no_params, bios_read_run, NULL, NULL, 0),
    CONFIG_JOB("bios.set", bios_set_validate, bios_set_run, NULL, bios_set_step_names,
               BIOS_SET_NSTEPS),
    CONFIG_JOB("raid.read", no_params, raid_read_run, NULL, NULL, 0),
    CONFIG_JOB("raid.create", raid_create_validate, raid_create_run, NULL, raid_step_names,
               RAID_NSTEPS),
    CONFIG_JOB("raid.delete", raid_delete_validate, raid_delete_run, NULL, raid_step_names,
               RAID_NSTEPS),
    CONFIG_JOB("firmware.list", no_params, firmware_list_run, NULL, NULL, 0),
    CONFIG_JOB("firmware.update", firmware_update_validate, firmware_update_run,
               firmware_update_discard, firmware_step_names, FW_NSTEPS),
};

void bmc_config_ops_register(ul_jobs *jobs, const char *upload_dir)
{
    snprintf(spool_dir, sizeof(spool_dir), "%s", upload_dir ? upload_dir : "");
    for (size_t i = 0; i < sizeof(config_jobs) / sizeof(config_jobs[0]); i++)
        jobs_register(jobs, &config_jobs[i]);
}
