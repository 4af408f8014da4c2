/* scheduler.h - the poll scheduler: per-node sensor sweeps, event log
 * collection and inventory refresh at configured intervals.
 *
 * One thread owns a min-heap of absolute due times.  Due polls become
 * background tasks of the job engine, so they share its worker budget and
 * per-node lock with operator jobs, and operator jobs go first.  Start-up
 * is jittered over one interval so a restart does not hit every BMC at once;
 * a failing BMC backs off exponentially to a cap and returns to its interval
 * on the first success; a poll that overruns its interval is logged.
 *
 * Lock order: sched->lock is taken alone (never while holding the engine's
 * or the store's lock, and released before calling into them).
 */
#ifndef UL_SCHEDULER_H
#define UL_SCHEDULER_H

#include "collectors/latest.h"
#include "core/jobs.h"
#include "core/store.h"

struct sched_config {
    int sensor_interval_s;    /* default 60 */
    int sel_interval_s;       /* default 300 */
    int inventory_interval_s; /* default 86400 */
    int max_backoff_s;        /* cap of the failure back-off, default 900 */
    int poll_timeout_s;       /* one poll's time limit */
    int sync_interval_s;      /* how often the node list is re-read, default 30 */
};

/* A node label that overrides the sensor interval, in seconds. */
#define SCHED_LABEL_INTERVAL "underlay/sensor-interval"

/* Hook called after each sensor sweep (RRD writing); may be NULL. */
typedef void (*sched_sweep_hook)(void *arg, const char *node, const struct ul_sensor_list *s,
                                 int64_t t);

typedef struct sched sched;

sched *sched_new(const struct sched_config *cfg, ul_store *st, ul_jobs *jobs, latest *l,
                 sched_sweep_hook hook, void *hook_arg);
ul_err sched_start(sched *s, ul_errmsg *em);
/* Stop the thread; polls already running finish and report.  Call before
 * jobs_free; free the scheduler after it. */
void sched_stop(sched *s);
void sched_free(sched *s);

/* Counts for /metrics. */
void sched_counts(sched *s, int *nodes, int *in_flight, uint64_t *overruns);

#endif
