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
#include "collectors/stream.h"
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

typedef struct sched sched;

/* Publishes to out (may be NULL): every successful sweep (STREAM_SWEEP), every
 * health change of a node (STREAM_HEALTH) and every SEL collection that
 * stored new entries (STREAM_EVENT).  The latest readings (l) are updated
 * inline by the poll itself, before the health change is published: the API
 * reads them right after a poll, and health is derived from them, so they
 * must never lag behind or be dropped by a full queue.
 *
 * New, changed and deleted nodes are noticed within a second through
 * store_node_changes() (and by a full re-read every sync_interval_s); a node
 * enrolled while the daemon runs gets its first polls within about two
 * seconds, not spread over its interval as at start-up. */
sched *sched_new(const struct sched_config *cfg, ul_store *st, ul_jobs *jobs, latest *l,
                 stream *out);
ul_err sched_start(sched *s, ul_errmsg *em);
/* Stop the thread; polls already running finish and report.  Call before
 * jobs_free; free the scheduler after it. */
void sched_stop(sched *s);
void sched_free(sched *s);

/* Counts for /metrics. */
void sched_counts(sched *s, int *nodes, int *in_flight, uint64_t *overruns);
/* The stream given to sched_new (borrowed; NULL when none). */
stream *sched_stream(sched *s);

#endif
