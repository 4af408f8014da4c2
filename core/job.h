/* job.h - the persisted job record.  Every mutating operation on a BMC is a
 * job: it is written to the store before any command is sent and after every
 * step, so a crash or restart resumes or fails it with a reason. */
#ifndef UL_JOB_H
#define UL_JOB_H

#include <stdbool.h>
#include <stdint.h>

enum ul_job_state {
    UL_JOB_QUEUED = 0,
    UL_JOB_RUNNING,
    UL_JOB_SUCCEEDED,
    UL_JOB_FAILED,
    UL_JOB_CANCELED,
};

const char *job_state_name(enum ul_job_state s);
/* -1 when unknown */
int job_state_parse(const char *s);
static inline bool job_state_final(enum ul_job_state s)
{
    return s >= UL_JOB_SUCCEEDED;
}

struct ul_job {
    int64_t id;
    int64_t parent_id; /* 0 when none */
    char *type;
    char *node;        /* NULL for fleet-level jobs */
    enum ul_job_state state;
    char *params;      /* JSON text, never NULL */
    char *result;      /* JSON text or NULL */
    int progress;      /* 0-100 */
    char *message;     /* latest step, for operators; may be NULL */
    char *error_code;  /* ul_err_name() of the failure, or NULL */
    char *error;       /* failure detail, or NULL */
    char *actor;       /* token name that asked for it */
    int timeout_s;
    int attempts;      /* times a worker started it */
    bool cancel_requested;
    char *checkpoint;  /* JSON text a handler saved to resume from, or NULL */
    /* The step executor (core/jobs.c).  A claim says which daemon instance
     * runs the job and until when; fence grows by one at every claim, and
     * every write from the holder names it, so an instance that lost its
     * claim cannot overwrite its successor. */
    char *owner;         /* instance holding the claim, or NULL */
    int64_t lease_until; /* epoch ms the claim is good for */
    int64_t fence;
    int step;            /* the type's own step number (0 first) */
    char *step_name;     /* for operators; may be NULL */
    int wait;            /* UL_JOB_WAIT_*: why a running job is parked */
    int64_t wake_at;     /* epoch ms a parked job is due (0: not by time) */
    int64_t deadline_at; /* epoch ms this attempt times out (0: not started) */
    int64_t created_at, started_at, finished_at, updated_at; /* epoch s; 0 = not yet */
};

/* A running job is parked (holds no worker) while it waits: until a time,
 * or until one of its children ends. */
enum ul_job_wait {
    UL_JOB_WAIT_NONE = 0,
    UL_JOB_WAIT_UNTIL,
    UL_JOB_WAIT_CHILDREN,
};
const char *job_wait_name(int w); /* "until", "children", NULL for none */

void job_free(struct ul_job *j); /* NULL-safe */

#endif
