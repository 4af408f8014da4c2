/* jobs.h - the job engine: a step executor over persisted jobs, with claims
 * and leases in the store, parent and child jobs, and a bounded worker pool
 * shared with background tasks (polls) in two classes.
 *
 * Threading: jobs_submit/jobs_cancel may be called from any thread (HTTP
 * handlers); they write the store and return at once, never waiting on a BMC.
 * A fixed pool of worker threads runs job handlers.  The engine never runs two
 * jobs for the same node at once (BMCs tolerate few sessions and some hang
 * when two clients interleave commands).
 *
 * Lock order: engine->lock, then the store's internal lock.  Handlers run with
 * no engine lock held.
 *
 * Steps: a job type's run() is called once per step.  It reads the step it
 * is at (job_ctx_step, the type's own enum, persisted) and ends by returning
 * an error (the job fails), or UL_OK after at most one of: job_ctx_next (run
 * that step next, at once), job_ctx_wait_until (park until a time) or
 * job_ctx_wait_children (park until a child ends); UL_OK with none of them
 * means done.  A parked job holds no worker thread, and holds its node only
 * when the step asked (hold_node).  Cancel takes effect at the next step
 * boundary (or inside a step that calls job_ctx_check); the deadline counts
 * from the attempt's start, across parks.
 *
 * Claims: a job runs only under a claim in the store (owner = this
 * instance, a lease renewed by a heartbeat, a fence that grows per claim);
 * the per-node exclusion is a claim row too.  Every write a running job makes
 * carries its claim; one refused (the lease lapsed and another instance took
 * the job) stops the job without writing more.
 *
 * Restart semantics: at jobs_start, a job this instance held (or whose lease
 * lapsed) that was on a worker was interrupted by a crash or kill.  A parked
 * job was on no worker: it simply stays parked and continues.  If its type says it is resumable (it re-reads the BMC's
 * actual state before acting) it is queued again; otherwise it fails with
 * "interrupted by restart".  On a clean shutdown (jobs_stop) running handlers
 * are asked to stop; resumable jobs go back to the queue, the others fail with
 * "interrupted by shutdown".  Nothing is silently dropped.
 */
#ifndef UL_JOBS_H
#define UL_JOBS_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "ul_error.h"

typedef struct ul_jobs ul_jobs;
typedef struct ul_job_ctx ul_job_ctx;

struct ul_job_type {
    const char *name;
    bool needs_node;
    /* Check params at submit time (NULL: any object).  The message names the
     * offending field. */
    ul_err (*validate)(json_object *params, ul_errmsg *em);
    /* May this job be run again after a restart interrupted it?  NULL: no. */
    bool (*resumable)(json_object *params);
    /* Do the work.  Blocks.  Sets *result (new reference or NULL) on
     * success; must call job_ctx_check() between steps and return its error. */
    ul_err (*run)(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em);
    /* Release what params hold outside the store (an uploaded file) when
     * the job ends without run being called: canceled while queued.  NULL:
     * nothing to release. */
    void (*discard)(json_object *params);
    /* Names of the type's steps, indexed by its step enum (shown to
     * operators as the job's step); NULL for a type of one step. */
    const char *const *step_names;
    int nsteps;
    /* Steps a cancel or a shutdown must not cut short (bit s for step s):
     * one that has sent a change the BMC is acting on and must see it
     * through, say.  The cancel is kept and takes effect when the step
     * ends; job_ctx_check (and so a driver's stop callback) does not report
     * it meanwhile.  The deadline still applies.  Say why at the type. */
    uint64_t uninterruptible;
};

/* Engine settings beyond the pool size (jobs_configure, before start). */
struct jobs_options {
    const char *instance; /* this daemon's name in claims (default: host name) */
    int lease_s;          /* claim lease; renewed every lease_s / 3 (default 30) */
    int poll_workers;     /* workers operator jobs may never take, so polls
                           * always run (engine default 0, none; the daemon's
                           * jobs.poll_workers); -1 leaves it */
};

/* The [jobs] section's validator (ul_config_add_validator). */
struct ul_config;
ul_err jobs_config_check(const struct ul_config *cfg, ul_errmsg *em);

/* Create an engine over st with the given pool size and default timeout.
 * Register types, then start. */
ul_jobs *jobs_new(ul_store *st, int workers, int default_timeout_s);
/* Register a job type (t must outlive the engine).  Before jobs_start only. */
void jobs_register(ul_jobs *jobs, const struct ul_job_type *t);
/* Register a type with its own context (job_ctx_type_arg). */
void jobs_register_arg(ul_jobs *jobs, const struct ul_job_type *t, void *arg);
void jobs_configure(ul_jobs *jobs, const struct jobs_options *o);
/* Opaque pointer handed to handlers through job_ctx_user (driver registry,
 * session cache ...).  Before jobs_start only. */
void jobs_set_user(ul_jobs *jobs, void *user);
/* This instance's name in claims. */
const char *jobs_instance(ul_jobs *jobs);
const struct ul_job_type *jobs_find_type(ul_jobs *jobs, const char *name);

/* Recover unfinished jobs from the store and start the workers. */
ul_err jobs_start(ul_jobs *jobs, ul_errmsg *em);

/* Persist a new queued job and wake a worker.  timeout_s <= 0 means the
 * default.  On success *job is the new record (caller frees). */
ul_err jobs_submit(ul_jobs *jobs, const char *type, const char *node, json_object *params,
                   const char *actor, int timeout_s, struct ul_job **job, ul_errmsg *em);

/* Cancel: a queued job ends canceled at once; a running one is asked to stop
 * and ends canceled when its handler next checks.  UL_ERR_CONFLICT when the
 * job has already finished. */
ul_err jobs_cancel(ul_jobs *jobs, int64_t id, ul_errmsg *em);

/* Background tasks: unpersisted work (sensor polls) that shares the worker
 * budget and the per-node lock with jobs.  A worker takes a task only when
 * no queued job can run, so operator actions go first.  The task queue is
 * bounded: UL_ERR_BUSY when full.  fn runs on a worker with a context whose
 * job id is 0 (progress is not recorded); drop(arg) is called instead of fn
 * for tasks still queued at shutdown.  Thread-safe. */
typedef void (*jobs_task_fn)(ul_job_ctx *ctx, void *arg);
ul_err jobs_enqueue_task(ul_jobs *jobs, const char *node, int timeout_s, jobs_task_fn fn,
                         void (*drop)(void *arg), void *arg, ul_errmsg *em);
#define JOBS_MAX_TASKS 100000

/* Counts for health and metrics. */
void jobs_counts(ul_jobs *jobs, int *queued, int *running);
/* Jobs parked between steps (no worker), and those keeping their node. */
void jobs_parked(ul_jobs *jobs, int *parked, int *holding);
int jobs_tasks_queued(ul_jobs *jobs);

/* Stop workers (see restart semantics above) and wait for them. */
void jobs_stop(ul_jobs *jobs);
void jobs_free(ul_jobs *jobs);

/* ---- for handlers ---- */

int64_t job_ctx_id(ul_job_ctx *ctx);
const char *job_ctx_node(ul_job_ctx *ctx);
ul_store *job_ctx_store(ul_job_ctx *ctx);
void *job_ctx_user(ul_job_ctx *ctx);
/* The context the job's type was registered with (jobs_register_arg). */
void *job_ctx_type_arg(ul_job_ctx *ctx);

/* ---- steps (see the header comment) ---- */
int job_ctx_step(ul_job_ctx *ctx);
void job_ctx_next(ul_job_ctx *ctx, int step);
/* Park for delay_ms, then run step.  hold_node keeps other jobs and polls
 * off the node meanwhile: say at the call why. */
void job_ctx_wait_until(ul_job_ctx *ctx, int step, int64_t delay_ms, bool hold_node);
/* Park until one of this job's children ends (several ending together wake
 * it once), then run step. */
void job_ctx_wait_children(ul_job_ctx *ctx, int step);
/* True when this call continues the job after it was parked (not a new
 * attempt, not a resume after a restart). */
bool job_ctx_woken(ul_job_ctx *ctx);
/* Submit a child of this job (same actor); *id its id. */
ul_err job_ctx_submit_child(ul_job_ctx *ctx, const char *type, const char *node,
                            json_object *params, int timeout_s, int64_t *id, ul_errmsg *em);
/* Monotonic deadline in ms (ul_mono_ms clock). */
int64_t job_ctx_deadline(ul_job_ctx *ctx);
/* Milliseconds left before the deadline (never negative). */
int64_t job_ctx_remaining_ms(ul_job_ctx *ctx);
/* True when this run continues a job an earlier run started (the daemon
 * stopped or died under it). */
bool job_ctx_resumed(ul_job_ctx *ctx);
/* Checkpoints: where a long job is on the BMC (a task URI), saved in the
 * store so a run after a restart continues from there.  job_ctx_checkpoint
 * is what an earlier run saved (borrowed; NULL when none).  Saving replaces
 * it; the store write happens before the call returns. */
json_object *job_ctx_checkpoint(ul_job_ctx *ctx);
ul_err job_ctx_save_checkpoint(ul_job_ctx *ctx, json_object *checkpoint, ul_errmsg *em);
/* Record progress 0-100 and a step message in the store. */
void job_ctx_progress(ul_job_ctx *ctx, int pct, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* UL_OK to carry on; UL_ERR_CANCELED, UL_ERR_TIMEOUT or UL_ERR_INTERRUPTED
 * (daemon stopping) with em filled otherwise. */
ul_err job_ctx_check(ul_job_ctx *ctx, ul_errmsg *em);
/* Sleep up to ms, waking early when the job is canceled or stopping. */
void job_ctx_sleep(ul_job_ctx *ctx, int64_t ms);

#endif
