/* config_ops.h - what the configuration jobs (bios_ops.c, raid_ops.c,
 * firmware_ops.c) share; private to ops/.  config_ops.c holds these helpers
 * and registers the job types (bmc_config_ops_register in ops.h). */
#ifndef UL_OPS_CONFIG_OPS_H
#define UL_OPS_CONFIG_OPS_H

#include <json-c/json.h>
#include <stdbool.h>

#include "bmc/driver.h"
#include "ops/ops.h"
#include "core/jobs.h"

/* A BMC task that shows no progress for this long fails its job. */
#define DEFAULT_STALL_S 900

/* Where uploaded firmware images wait ("" when not set). */
const char *cfg_spool_dir(void);

/* "dry_run": true in a job's params: read the BMC, plan, change nothing. */
bool cfg_dry_run(json_object *params);
/* End a dry run: the plan (ops/plan.h, taken) becomes the job's result,
 * with "dry_run": true. */
ul_err cfg_dry_run_done(ul_job_ctx *ctx, json_object *plan, json_object **result);

/* "node N: WHAT not supported by this BMC" (UL_ERR_UNSUPPORTED). */
ul_err cfg_unsupported(ul_job_ctx *ctx, const char *what, ul_errmsg *em);

/* Checkpoints hold data only (where a job is lives in its step, see
 * core/jobs.h): {"task", "monitor", ...extra}, replacing what was there.
 * The task an earlier step recorded (false when none). */
ul_err cfg_save(ul_job_ctx *ctx, const struct ul_task_ref *task, json_object *extra, ul_errmsg *em);
bool cfg_checkpoint_task(ul_job_ctx *ctx, struct ul_task_ref *task);
/* A value an earlier step saved in the checkpoint (borrowed; NULL). */
json_object *cfg_checkpoint_get(ul_job_ctx *ctx, const char *key);

/* The phase a checkpoint written before jobs had steps holds ("submitting",
 * "following", "staged", ...; borrowed), NULL for one of today's.  A job a
 * daemon of that version left unfinished is at step 0 with it: its plan
 * step goes on from the phase, never sending a request twice. */
const char *cfg_legacy_phase(ul_job_ctx *ctx);

/* Steps that send a request the BMC must not get twice (a volume create,
 * a firmware update, a host reset).  Such a step is recorded in the store
 * before its request is sent: the step before it ends with
 * cfg_enter_send_step, and in it cfg_send_fresh says whether this run is
 * the first at it (send) or whether an earlier run, which the daemon's stop
 * or death cut short, may have sent it (never send again).  A resumed
 * attempt enters such a step through a park due at once (the node kept),
 * so the step starts a fresh run; call job_ctx_check just before, so a
 * stopping daemon leaves the job at the step before.  A restart in that
 * instant makes the step look resumed: the job then fails without sending
 * (safe, never twice). */
void cfg_enter_send_step(ul_job_ctx *ctx, int step);
bool cfg_send_fresh(ul_job_ctx *ctx);

/* The failure of a job whose request may have reached the BMC before the
 * daemon died: it is not sent again; check names the command to look. */
ul_err cfg_unknown_outcome(ul_job_ctx *ctx, const char *what, const char *check, ul_errmsg *em);

/* {"uri", "state", "percent", "message"} of a task (new). */
json_object *cfg_task_json(const struct ul_task_ref *t, const struct ul_task_status *st);

/* Follow a BMC task: poll it once; when it has not ended the job is parked
 * until the next poll (*parked; the handler then returns UL_OK at once and
 * the engine calls it again, at the same step, with the checkpoint saying
 * where it was).  Its percentage maps into the job's progress between lo and
 * hi.  Fails the job when the BMC reports the task failed (UL_ERR_REJECTED,
 * with the BMC's message) or it shows no progress for stall_s
 * (UL_ERR_TIMEOUT); transient errors are waited out until the job's
 * deadline.  A Pending task ends the wait when accept_pending.  A task the
 * BMC no longer knows ends it too, as DONE with service_state "Gone": the
 * caller must read the BMC back to tell whether it worked.  hold_node: the
 * node stays claimed while the job is parked (say why at the call). */
ul_err cfg_follow_task(ul_job_ctx *ctx, struct bmc_op *os, const struct ul_task_ref *task,
                       const char *what, int lo, int hi, int stall_s, bool accept_pending,
                       bool hold_node, bool *parked, struct ul_task_status *st, ul_errmsg *em);

/* The steps of the configuration jobs that change something (their names,
 * shown as the job's step, are in the *_step_names arrays). */
enum bios_set_step {
    BIOS_SET_PLAN,      /* read the BIOS and its registry, plan, write */
    BIOS_SET_STAGED,    /* read back: the values must show as pending */
    BIOS_SET_RESET,     /* read the power state before the reset */
    BIOS_SET_RESETTING, /* send the reset (never twice) */
    BIOS_SET_HOST_WAIT, /* wait for the host to come back on */
    BIOS_SET_VERIFY,    /* wait until nothing is pending, compare */
    BIOS_SET_NSTEPS
};
enum raid_step {
    RAID_PLAN,   /* read storage, plan (create: save the volumes there before) */
    RAID_SUBMIT, /* send the create or delete */
    RAID_FOLLOW, /* follow the BMC's task */
    RAID_VERIFY, /* read storage back */
    RAID_NSTEPS
};
enum firmware_step {
    FW_PLAN,   /* read the versions before */
    FW_SUBMIT, /* send the update (never twice) */
    FW_FOLLOW, /* follow the BMC's task, then read the versions after */
    FW_NSTEPS
};
extern const char *const bios_set_step_names[BIOS_SET_NSTEPS];
extern const char *const raid_step_names[RAID_NSTEPS];
extern const char *const firmware_step_names[FW_NSTEPS];

/* The job handlers (validate and run), by file. */
ul_err bios_read_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
ul_err bios_set_validate(json_object *params, ul_errmsg *em);
ul_err bios_set_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
ul_err raid_read_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
ul_err raid_create_validate(json_object *params, ul_errmsg *em);
ul_err raid_create_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
ul_err raid_delete_validate(json_object *params, ul_errmsg *em);
ul_err raid_delete_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
ul_err firmware_list_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
ul_err firmware_update_validate(json_object *params, ul_errmsg *em);
ul_err firmware_update_run(ul_job_ctx *ctx, json_object *params, json_object **result,
                           ul_errmsg *em);
/* A firmware.update that never ran (canceled while queued): its upload goes. */
void firmware_update_discard(json_object *params);

#endif
