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

/* "node N: WHAT not supported by this BMC" (UL_ERR_UNSUPPORTED). */
ul_err cfg_unsupported(ul_job_ctx *ctx, const char *what, ul_errmsg *em);

/* Checkpoints: {"phase", "task", "monitor", ...extra}.  The phase an
 * earlier run reached (borrowed, NULL when none); save one (before the step
 * it names is taken, so a resumed job never sends a request twice); the
 * task it recorded (false when none). */
const char *cfg_checkpoint_phase(ul_job_ctx *ctx);
ul_err cfg_save_phase(ul_job_ctx *ctx, const char *phase, const struct ul_task_ref *task,
                      json_object *extra, ul_errmsg *em);
bool cfg_checkpoint_task(ul_job_ctx *ctx, struct ul_task_ref *task);

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
