/* jobs.c - the step executor.  See jobs.h for the model; here is how it is
 * kept:
 *
 * The store is the truth: a job runs only while its row names this instance
 * as owner with a lease that has not lapsed, and the node it acts on is held
 * by a node_claims row.  Memory holds this instance's view: a record per job
 * it knows (ready to claim, on a worker, or parked), so a worker never asks
 * the store which job to run next.  A clock thread moves parked jobs that are
 * due back to the ready list, renews the leases (a heartbeat), and rescans the
 * store when another connection wrote to it (jobs submitted, canceled or
 * finished by another instance) or a lease may have lapsed.
 *
 * Lock order: engine->lock, then the store's lock (store calls are made with
 * or without engine->lock; the store never calls back).
 */
#include "config.h"

#include "jobs.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "jsonv.h"
#include "ul_config.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define JOBS_MAX_TYPES 64
#define JOBS_BUCKETS 1024
/* A job whose node another instance holds is tried again after this. */
#define NODE_BUSY_RETRY_MS 500
/* The clock thread wakes at least this often (parked jobs' due times are
 * kept to this precision). */
#define CLOCK_TICK_MS 250

enum where { J_READY, J_ACTIVE, J_PARKED };

/* This instance's record of a job. */
struct jrec {
    int64_t id;
    char *node;
    enum where where;
    int64_t wake_at;    /* J_PARKED: epoch ms due (0: waiting for a child) */
    int64_t not_before; /* J_READY: epoch ms before which it is not tried */
    int64_t fence;      /* J_PARKED: the claim it parked under */
    bool hold;          /* J_PARKED: keeps its node */
    bool resumed;       /* its next run continues an interrupted attempt */
    bool woken;         /* its next run continues after a park */
    struct jrec *next;  /* ready list */
    struct jrec *hnext; /* hash chain */
    ul_job_ctx *ctx;    /* J_ACTIVE */
};

struct task {
    char *node;
    jobs_task_fn fn;
    void (*drop)(void *);
    void *arg;
    int timeout_s;
    struct task *next;
};

enum next_kind { NEXT_NONE, NEXT_STEP, NEXT_WAIT_UNTIL, NEXT_WAIT_CHILDREN };

struct ul_job_ctx {
    ul_jobs *jobs;
    int64_t id;
    char *node;
    char *actor;
    const struct ul_job_type *type;
    void *type_arg;
    int timeout_s;
    int64_t deadline; /* mono ms */
    bool resumed, woken;
    atomic_int cancel;
    atomic_int lost; /* a write under our claim was refused */
    struct ul_job_claim claim;
    int step;
    enum next_kind next;
    int next_step;
    int64_t wait_ms;
    bool hold_node;
    json_object *checkpoint; /* saved by an earlier run, or NULL */
};

struct ul_jobs {
    ul_store *st;
    int nworkers;
    int job_limit; /* workers operator jobs may take; the rest are for polls */
    int default_timeout;
    void *user;
    char *instance;
    int64_t lease_ms;
    const struct ul_job_type *types[JOBS_MAX_TYPES];
    void *type_args[JOBS_MAX_TYPES];
    int ntypes;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* ready list or tasks changed, a node freed, or stopping */
    pthread_cond_t clock_cond; /* a job parked, or stopping */
    struct jrec *buckets[JOBS_BUCKETS];
    struct jrec *ready_head, *ready_tail;
    int nready, nparked, nholding, active_jobs;
    struct task *task_head, *task_tail;
    int tasks;
    ul_job_ctx **active; /* nworkers slots (jobs and tasks); NULL when idle */
    bool stopping;
    pthread_t *threads;
    int nthreads;
    pthread_t clock;
    bool clock_started;
    int64_t data_version;
};

/* ---- records ---- */

static struct jrec *rec_find(ul_jobs *jobs, int64_t id)
{
    for (struct jrec *r = jobs->buckets[(uint64_t)id % JOBS_BUCKETS]; r; r = r->hnext)
        if (r->id == id)
            return r;
    return NULL;
}

static struct jrec *rec_add(ul_jobs *jobs, int64_t id, const char *node)
{
    struct jrec *r = xcalloc(1, sizeof(*r));
    r->id = id;
    r->node = xstrdup(node);
    size_t b = (uint64_t)id % JOBS_BUCKETS;
    r->hnext = jobs->buckets[b];
    jobs->buckets[b] = r;
    return r;
}

static void rec_remove(ul_jobs *jobs, struct jrec *r)
{
    struct jrec **pp = &jobs->buckets[(uint64_t)r->id % JOBS_BUCKETS];
    while (*pp && *pp != r)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = r->hnext;
    if (r->where == J_PARKED) {
        jobs->nparked--;
        if (r->hold)
            jobs->nholding--;
    }
    free(r->node);
    free(r);
}

/* Caller holds jobs->lock.  Append r to the ready list. */
static void ready_push(ul_jobs *jobs, struct jrec *r)
{
    if (r->where == J_PARKED) {
        jobs->nparked--;
        if (r->hold)
            jobs->nholding--;
        r->hold = false;
    }
    bool continuing = r->where == J_PARKED; /* a step is due: it goes first */
    r->where = J_READY;
    r->next = NULL;
    if (continuing && jobs->ready_head) {
        r->next = jobs->ready_head;
        jobs->ready_head = r;
    } else {
        if (jobs->ready_tail)
            jobs->ready_tail->next = r;
        else
            jobs->ready_head = r;
        jobs->ready_tail = r;
    }
    jobs->nready++;
    pthread_cond_signal(&jobs->cond);
}

static void ready_unlink(ul_jobs *jobs, struct jrec *prev, struct jrec *r)
{
    if (prev)
        prev->next = r->next;
    else
        jobs->ready_head = r->next;
    if (jobs->ready_tail == r)
        jobs->ready_tail = prev;
    r->next = NULL;
    jobs->nready--;
}

static void park_rec(ul_jobs *jobs, struct jrec *r, int64_t wake_at, bool hold, int64_t fence)
{
    r->where = J_PARKED;
    r->wake_at = wake_at;
    r->hold = hold;
    r->fence = fence;
    r->woken = false;
    jobs->nparked++;
    if (hold)
        jobs->nholding++;
    pthread_cond_signal(&jobs->clock_cond);
}

/* Caller holds jobs->lock.  Is node in use by a job or task on a worker, or
 * kept by a parked job? */
static bool node_busy(ul_jobs *jobs, const char *node)
{
    if (!node)
        return false;
    for (int i = 0; i < jobs->nworkers; i++)
        if (jobs->active[i] && jobs->active[i]->node && strcmp(jobs->active[i]->node, node) == 0)
            return true;
    if (jobs->nholding) {
        for (size_t b = 0; b < JOBS_BUCKETS; b++)
            for (struct jrec *r = jobs->buckets[b]; r; r = r->hnext)
                if (r->where == J_PARKED && r->hold && r->node && strcmp(r->node, node) == 0)
                    return true;
    }
    return false;
}

/* ---- set-up ---- */

ul_jobs *jobs_new(ul_store *st, int workers, int default_timeout_s)
{
    ul_jobs *j = xcalloc(1, sizeof(*j));
    j->st = st;
    j->nworkers = workers > 0 ? workers : 1;
    j->default_timeout = default_timeout_s > 0 ? default_timeout_s : 300;
    j->active = xcalloc((size_t)j->nworkers, sizeof(*j->active));
    j->lease_ms = 30000;
    j->job_limit = j->nworkers; /* no poll reserve until jobs_configure says */
    char host[256] = "";
    if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
        snprintf(host, sizeof(host), "localhost");
    j->instance = xstrdup(host);
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    pthread_cond_init(&j->clock_cond, NULL);
    return j;
}

void jobs_configure(ul_jobs *jobs, const struct jobs_options *o)
{
    if (o->instance && o->instance[0]) {
        free(jobs->instance);
        jobs->instance = xstrdup(o->instance);
    }
    if (o->lease_s > 0)
        jobs->lease_ms = (int64_t)o->lease_s * 1000;
    if (o->poll_workers >= 0) {
        int reserve = o->poll_workers < jobs->nworkers ? o->poll_workers : jobs->nworkers - 1;
        jobs->job_limit = jobs->nworkers - reserve;
    }
}

const char *jobs_instance(ul_jobs *jobs)
{
    return jobs->instance;
}

void jobs_register_arg(ul_jobs *jobs, const struct ul_job_type *t, void *arg)
{
    if (jobs->ntypes < JOBS_MAX_TYPES) {
        jobs->type_args[jobs->ntypes] = arg;
        jobs->types[jobs->ntypes++] = t;
    } else {
        ul_error("job engine: too many job types, '%s' not registered", t->name);
    }
}

void jobs_register(ul_jobs *jobs, const struct ul_job_type *t)
{
    jobs_register_arg(jobs, t, NULL);
}

void jobs_set_user(ul_jobs *jobs, void *user)
{
    jobs->user = user;
}

static int type_index(ul_jobs *jobs, const char *name)
{
    for (int i = 0; name && i < jobs->ntypes; i++)
        if (strcmp(jobs->types[i]->name, name) == 0)
            return i;
    return -1;
}

const struct ul_job_type *jobs_find_type(ul_jobs *jobs, const char *name)
{
    int i = type_index(jobs, name);
    return i < 0 ? NULL : jobs->types[i];
}

/* ---- outcomes ---- */

/* A job that ended without its handler running: let its type release what
 * its parameters hold outside the store. */
static void discard_params(const struct ul_job_type *t, const char *params_text)
{
    json_object *params = NULL;
    if (!t || !t->discard || !params_text ||
        jv_parse(params_text, strlen(params_text), 0, &params, NULL) != UL_OK)
        return;
    t->discard(params);
    json_object_put(params);
}

/* What the job does, for log lines: "power off", "firmware.update". */
static void describe(const struct ul_job *job, char *buf, size_t len)
{
    json_object *params = NULL;
    const char *action = NULL;
    if (jv_parse(job->params, strlen(job->params), 0, &params, NULL) == UL_OK)
        action = jv_str(params, "action");
    if (action)
        snprintf(buf, len, "%s %s", job->type, action);
    else
        snprintf(buf, len, "%s", job->type);
    json_object_put(params);
}

static void wake_parent(ul_jobs *jobs, int64_t parent);

/* Finish a job under claim c (NULL: unconditionally) and tell its parent. */
static ul_err finish(ul_jobs *jobs, const struct ul_job_claim *c, int64_t id,
                     enum ul_job_state state, const char *result, const char *code,
                     const char *error, ul_errmsg *em)
{
    int64_t parent = 0;
    ul_err rc = store_job_finish_as(jobs->st, c, id, state, result, code, error, &parent, em);
    if (rc == UL_OK && parent)
        wake_parent(jobs, parent);
    return rc;
}

/* Caller holds jobs->lock or not (takes it). */
static void wake_parent_locked(ul_jobs *jobs, int64_t parent)
{
    struct jrec *p = rec_find(jobs, parent);
    if (p && p->where == J_PARKED && p->wake_at == 0) {
        p->woken = true;
        ready_push(jobs, p);
    }
}

static void wake_parent(ul_jobs *jobs, int64_t parent)
{
    /* Called from workers without the lock and from cancel with it: a
     * recursive attempt would deadlock, so the cancel path uses the
     * _locked variant directly. */
    pthread_mutex_lock(&jobs->lock);
    wake_parent_locked(jobs, parent);
    pthread_mutex_unlock(&jobs->lock);
}

/* ---- running a job ---- */

static bool is_stopping(ul_jobs *jobs)
{
    pthread_mutex_lock(&jobs->lock);
    bool s = jobs->stopping;
    pthread_mutex_unlock(&jobs->lock);
    return s;
}

enum run_outcome { RUN_DONE, RUN_PARKED, RUN_RETRY };

/* Claim and run one job until it ends or parks.  No engine lock held.
 * *wake_at / *hold / *fence describe the park. */
static enum run_outcome run_job(ul_jobs *jobs, ul_job_ctx *ctx, struct jrec *rec, int64_t *wake_at,
                                bool *hold, int64_t *fence)
{
    ul_errmsg em = {{0}};
    struct ul_job *job = NULL;
    json_object *params = NULL, *result = NULL;
    char *result_text = NULL;
    enum run_outcome outcome = RUN_DONE;
    enum store_claim_result cr;
    char what[160];

    if (store_job_claim(jobs->st, ctx->id, jobs->instance, jobs->lease_ms, rec->resumed, &cr, &job,
                        &em) != UL_OK) {
        ul_error("job %lld: cannot claim: %s", (long long)ctx->id, em.text);
        return RUN_RETRY;
    }
    if (cr == STORE_CLAIM_NODE_BUSY)
        return RUN_RETRY;
    if (cr == STORE_CLAIM_GONE)
        return RUN_DONE; /* canceled, finished, or another instance has it */
    ctx->claim.owner = jobs->instance;
    ctx->claim.fence = job->fence;
    describe(job, what, sizeof(what));
    int ti = type_index(jobs, job->type);
    const struct ul_job_type *type = ti >= 0 ? jobs->types[ti] : NULL;
    if (job->cancel_requested) {
        finish(jobs, &ctx->claim, job->id, UL_JOB_CANCELED, NULL, ul_err_name(UL_ERR_CANCELED),
               job->attempts <= 1 && job->step == 0 && !rec->woken ? "canceled before it started"
                                                                   : "canceled by request",
               NULL);
        if (job->attempts <= 1 && job->step == 0 && !rec->woken)
            discard_params(type, job->params);
        goto out;
    }
    if (!type) {
        finish(jobs, &ctx->claim, job->id, UL_JOB_FAILED, NULL, ul_err_name(UL_ERR_INTERNAL),
               "unknown job type", NULL);
        goto out;
    }
    if (jv_parse(job->params, strlen(job->params), 0, &params, &em) != UL_OK) {
        finish(jobs, &ctx->claim, job->id, UL_JOB_FAILED, NULL, ul_err_name(UL_ERR_INTERNAL),
               "stored parameters are unreadable", NULL);
        goto out;
    }
    ctx->type = type;
    ctx->type_arg = jobs->type_args[ti];
    ctx->actor = xstrdup(job->actor);
    ctx->timeout_s = job->timeout_s > 0 ? job->timeout_s : jobs->default_timeout;
    int64_t left = job->deadline_at - ul_wall_ms();
    ctx->deadline = ul_mono_ms() + (left > 0 ? left : 0);
    ctx->step = job->step;
    ctx->resumed = rec->resumed || (!rec->woken && job->attempts > 1);
    ctx->woken = rec->woken && !rec->resumed;
    if (!ctx->woken)
        ul_info("job %lld: %s%s%s started (attempt %d)", (long long)job->id, what,
                job->node ? " on node " : "", job->node ? job->node : "", job->attempts);
    if (job->checkpoint && jv_parse(job->checkpoint, strlen(job->checkpoint), 0,
                                    &ctx->checkpoint, &em) != UL_OK) {
        ul_warn("job %lld: stored checkpoint unreadable, ignored: %s", (long long)job->id,
                em.text);
        ctx->checkpoint = NULL;
    }

    ul_err rc;
    for (;;) {
        ctx->next = NEXT_NONE;
        json_object_put(result);
        result = NULL;
        em.text[0] = '\0';
        rc = type->run(ctx, params, &result, &em);
        if (atomic_load(&ctx->lost))
            break;
        if (rc != UL_OK || ctx->next == NEXT_NONE)
            break;
        if (atomic_load(&ctx->cancel)) {
            rc = ul_errmsg_set(&em, UL_ERR_CANCELED, "canceled by request");
            break;
        }
        if (ul_mono_ms() >= ctx->deadline) {
            rc = ul_errmsg_set(&em, UL_ERR_TIMEOUT, "job timed out after %d s (before step %d)",
                               ctx->timeout_s, ctx->next_step);
            break;
        }
        const char *name = type->step_names && ctx->next_step >= 0 && ctx->next_step < type->nsteps
                               ? type->step_names[ctx->next_step]
                               : NULL;
        if (ctx->next == NEXT_STEP && !is_stopping(jobs)) {
            if ((rc = store_job_step(jobs->st, &ctx->claim, ctx->id, ctx->next_step, name, &em)) !=
                UL_OK)
                break;
            ctx->step = ctx->next_step;
            ctx->woken = false;
            continue;
        }
        /* Park: until a time, until a child ends, or (a next step while
         * the daemon stops) due at once, so the next start continues at
         * the step boundary instead of redoing the step. */
        int wait = ctx->next == NEXT_WAIT_CHILDREN ? UL_JOB_WAIT_CHILDREN : UL_JOB_WAIT_UNTIL;
        int64_t at = ctx->next == NEXT_WAIT_CHILDREN ? 0
                     : ctx->next == NEXT_STEP      ? ul_wall_ms()
                                                   : ul_wall_ms() + ctx->wait_ms;
        bool due = false;
        bool keep = ctx->next == NEXT_WAIT_UNTIL && ctx->hold_node;
        /* Never sleep past the deadline: the step then runs once more and
         * says what it was waiting for when time ran out. */
        int64_t deadline_wall = ul_wall_ms() + job_ctx_remaining_ms(ctx);
        if (wait == UL_JOB_WAIT_UNTIL && at > deadline_wall)
            at = deadline_wall;
        if ((rc = store_job_park(jobs->st, &ctx->claim, ctx->id, ctx->next_step, name, wait, at,
                                 keep, &due, &em)) != UL_OK)
            break;
        *wake_at = due ? ul_wall_ms() : at;
        *hold = keep;
        *fence = ctx->claim.fence;
        outcome = RUN_PARKED;
        goto out;
    }
    if (atomic_load(&ctx->lost) || (rc == UL_ERR_CONFLICT && strstr(em.text, "no longer holds"))) {
        ul_warn("job %lld: %s%s%s: this instance lost its claim; another continues it",
                (long long)job->id, what, job->node ? " on node " : "",
                job->node ? job->node : "");
        goto out;
    }

    enum ul_job_state final;
    /* A failed job may leave a result too (which BIOS settings did not
     * take): the operator needs both the error and the detail. */
    if (result)
        result_text = jv_to_string(result);
    if (rc == UL_OK) {
        final = UL_JOB_SUCCEEDED;
    } else if (rc == UL_ERR_CANCELED || atomic_load(&ctx->cancel)) {
        final = UL_JOB_CANCELED;
        rc = UL_ERR_CANCELED;
        snprintf(em.text, sizeof(em.text), "canceled by request");
    } else if (rc == UL_ERR_INTERRUPTED && is_stopping(jobs)) {
        /* Only a daemon that is stopping puts a job back: a handler that
         * says "interrupted" on its own (an earlier run died mid-request)
         * has ended it. */
        if (type->resumable && type->resumable(params)) {
            store_job_requeue_as(jobs->st, &ctx->claim, job->id,
                                 "interrupted by shutdown; resumes at next start", NULL);
            ul_info("job %lld: %s interrupted by shutdown, will resume", (long long)job->id,
                    what);
            goto out;
        }
        final = UL_JOB_FAILED;
        snprintf(em.text, sizeof(em.text), "interrupted by shutdown");
    } else {
        final = UL_JOB_FAILED;
    }
    ul_errmsg fe;
    if (finish(jobs, &ctx->claim, job->id, final, result_text,
               final == UL_JOB_SUCCEEDED ? NULL : ul_err_name(rc),
               final == UL_JOB_SUCCEEDED ? NULL : em.text, &fe) != UL_OK)
        ul_error("job %lld: cannot record outcome: %s", (long long)job->id, fe.text);
    else if (final == UL_JOB_SUCCEEDED)
        ul_info("job %lld: %s%s%s succeeded", (long long)job->id, what,
                job->node ? " on node " : "", job->node ? job->node : "");
    else
        ul_warn("job %lld: %s%s%s %s: %s", (long long)job->id, what, job->node ? " on node " : "",
                job->node ? job->node : "",
                final == UL_JOB_CANCELED ? "canceled" : "failed", em.text);
out:
    free(result_text);
    json_object_put(result);
    json_object_put(params);
    job_free(job);
    return outcome;
}

static void ctx_free(ul_job_ctx *ctx)
{
    if (!ctx)
        return;
    free(ctx->node);
    free(ctx->actor);
    json_object_put(ctx->checkpoint);
    free(ctx);
}

/* Caller holds jobs->lock.  The next thing a free worker should run: the
 * first ready job whose node is free while operator jobs are under their
 * share of workers, else the first poll whose node is free. */
static bool take_runnable(ul_jobs *jobs, struct jrec **rec, struct task **task)
{
    *rec = NULL;
    *task = NULL;
    if (jobs->active_jobs < jobs->job_limit) {
        int64_t now = jobs->nready ? ul_wall_ms() : 0;
        struct jrec *prev = NULL;
        for (struct jrec *r = jobs->ready_head; r; prev = r, r = r->next) {
            if (r->not_before > now || node_busy(jobs, r->node))
                continue;
            ready_unlink(jobs, prev, r);
            r->not_before = 0;
            *rec = r;
            return true;
        }
    }
    struct task *prev = NULL;
    for (struct task *t = jobs->task_head; t; prev = t, t = t->next) {
        if (node_busy(jobs, t->node))
            continue;
        if (prev)
            prev->next = t->next;
        else
            jobs->task_head = t->next;
        if (jobs->task_tail == t)
            jobs->task_tail = prev;
        jobs->tasks--;
        *task = t;
        return true;
    }
    return false;
}

static void *worker_main(void *arg)
{
    ul_jobs *jobs = arg;
    pthread_mutex_lock(&jobs->lock);
    while (!jobs->stopping) {
        struct jrec *rec;
        struct task *task;
        if (!take_runnable(jobs, &rec, &task)) {
            pthread_cond_wait(&jobs->cond, &jobs->lock);
            continue;
        }
        int slot = 0;
        while (jobs->active[slot])
            slot++;
        ul_job_ctx *ctx = xcalloc(1, sizeof(*ctx));
        ctx->jobs = jobs;
        if (rec) {
            ctx->id = rec->id;
            ctx->node = xstrdup(rec->node);
            rec->where = J_ACTIVE;
            rec->ctx = ctx;
            jobs->active_jobs++;
        } else {
            ctx->node = task->node; /* ownership moves to ctx */
            task->node = NULL;
        }
        jobs->active[slot] = ctx;
        pthread_mutex_unlock(&jobs->lock);

        enum run_outcome outcome = RUN_DONE;
        int64_t wake_at = 0, fence = 0;
        bool hold = false;
        if (task) {
            ctx->timeout_s = task->timeout_s;
            ctx->deadline = ul_mono_ms() + (int64_t)task->timeout_s * 1000;
            task->fn(ctx, task->arg);
            free(task);
        } else {
            outcome = run_job(jobs, ctx, rec, &wake_at, &hold, &fence);
        }

        pthread_mutex_lock(&jobs->lock);
        jobs->active[slot] = NULL;
        if (rec) {
            jobs->active_jobs--;
            rec->ctx = NULL;
            rec->resumed = false;
            if (outcome == RUN_PARKED) {
                park_rec(jobs, rec, wake_at, hold, fence);
            } else if (outcome == RUN_RETRY && !jobs->stopping) {
                rec->not_before = ul_wall_ms() + NODE_BUSY_RETRY_MS;
                ready_push(jobs, rec);
                pthread_cond_signal(&jobs->clock_cond);
            } else {
                rec_remove(jobs, rec);
            }
        }
        ctx_free(ctx);
        /* The node is free again: one waiting worker may now take a job
         * that was skipped for it.  A broadcast woke all 16 workers per
         * finished job (bench/ipmi). */
        pthread_cond_signal(&jobs->cond);
    }
    pthread_mutex_unlock(&jobs->lock);
    return NULL;
}

/* ---- the store scan: recovery and other instances' writes ---- */

/* Look at every unfinished job in the store and take what is ours to take:
 * queued jobs nobody holds, parked jobs that are ours or whose holder's
 * lease lapsed, and jobs left on a worker by an instance that is gone (at
 * start, that includes this instance's own). */
static void scan_store(ul_jobs *jobs, bool at_start)
{
    struct ul_job_list l;
    ul_errmsg em;
    if (store_job_list_unfinished(jobs->st, &l, &em) != UL_OK) {
        ul_error("job engine: scanning jobs: %s", em.text);
        return;
    }
    int64_t now = ul_wall_ms();
    int resumed = 0, failed = 0, queued = 0, adopted = 0;
    pthread_mutex_lock(&jobs->lock);
    for (size_t i = 0; i < l.count && !jobs->stopping; i++) {
        struct ul_job *j = l.items[i];
        struct jrec *r = rec_find(jobs, j->id);
        bool mine = j->owner && strcmp(j->owner, jobs->instance) == 0;
        bool lapsed = !j->owner || j->lease_until < now;
        if (r) {
            /* Known: a parked parent another instance's child woke, or a
             * cancel asked through another instance. */
            if (r->where == J_PARKED && r->wake_at == 0 && j->wake_at > 0) {
                r->woken = true;
                ready_push(jobs, r);
            } else if (r->where == J_PARKED && j->cancel_requested) {
                r->wake_at = now; /* run now: the claim sees the cancel */
                r->woken = true;
                ready_push(jobs, r);
            } else if (r->where == J_ACTIVE && j->cancel_requested && r->ctx) {
                atomic_store(&r->ctx->cancel, 1);
            }
            continue;
        }
        const struct ul_job_type *t = jobs_find_type(jobs, j->type);
        if (j->state == UL_JOB_QUEUED) {
            if (!j->owner || lapsed || mine) {
                r = rec_add(jobs, j->id, j->node);
                /* Put back by a clean shutdown after it had started: a resume. */
                r->resumed = j->attempts > 0;
                ready_push(jobs, r);
                queued++;
            }
            continue;
        }
        if (!(mine && at_start) && !lapsed)
            continue; /* another live instance runs it */
        if (j->wait != UL_JOB_WAIT_NONE) {
            /* Parked: on no worker when its holder stopped; it goes on. */
            r = rec_add(jobs, j->id, j->node);
            park_rec(jobs, r, j->wait == UL_JOB_WAIT_UNTIL && j->wake_at == 0 ? now : j->wake_at,
                     false, j->fence);
            r->resumed = true; /* a new attempt: this daemon restarted or took it over */
            if (r->wake_at && r->wake_at <= now) {
                r->woken = true;
                ready_push(jobs, r);
            }
            adopted++;
            continue;
        }
        /* Was on a worker of an instance that died (this one, before a
         * restart, or another whose lease lapsed). */
        struct ul_job_claim seen = {j->owner ? j->owner : "", j->fence};
        if (!t) {
            store_job_finish_as(jobs->st, &seen, j->id, UL_JOB_FAILED, NULL,
                                ul_err_name(UL_ERR_INTERNAL), "unknown job type after restart",
                                NULL, NULL);
            failed++;
            continue;
        }
        if (j->cancel_requested) {
            int64_t parent = 0;
            if (store_job_finish_as(jobs->st, &seen, j->id, UL_JOB_CANCELED, NULL,
                                    ul_err_name(UL_ERR_CANCELED), "canceled by request", &parent,
                                    NULL) == UL_OK &&
                parent)
                wake_parent_locked(jobs, parent);
            continue;
        }
        json_object *params = NULL;
        bool can_resume = false;
        if (t->resumable && jv_parse(j->params, strlen(j->params), 0, &params, NULL) == UL_OK)
            can_resume = t->resumable(params);
        json_object_put(params);
        /* No owner: left by a daemon from before claims, i.e. ours. */
        const char *why = mine || !j->owner ? "restart" : "the loss of its instance";
        char msg[128];
        snprintf(msg, sizeof(msg), can_resume ? "resumed after %s" : "interrupted by %s", why);
        if (store_job_recover(jobs->st, &seen, j->id, can_resume, msg, &em) != UL_OK) {
            ul_warn("job %lld: not recovered: %s", (long long)j->id, em.text);
            continue;
        }
        if (can_resume) {
            r = rec_add(jobs, j->id, j->node);
            r->resumed = true;
            ready_push(jobs, r);
            resumed++;
            ul_info("job %lld: %s was interrupted by %s; resuming", (long long)j->id, j->type,
                    why);
        } else {
            failed++;
            ul_warn("job %lld: %s was interrupted by %s and cannot resume; failed",
                    (long long)j->id, j->type, why);
        }
    }
    pthread_mutex_unlock(&jobs->lock);
    store_job_list_free(&l);
    if (at_start && (queued || resumed || failed || adopted))
        ul_info("job engine: %d queued, %d resumed, %d parked, %d failed after restart", queued,
                resumed, adopted, failed);
    else if (resumed || failed || adopted)
        ul_info("job engine: took over %d jobs (%d resumed, %d parked, %d failed)",
                resumed + adopted + failed, resumed, adopted, failed);
}

/* The clock: due parked jobs to the ready list, the heartbeat, rescans. */
static void *clock_main(void *arg)
{
    ul_jobs *jobs = arg;
    /* The heartbeat renews the leases every third of a lease; another
     * instance's writes (a job submitted or canceled through it) are looked
     * for every second, cheaply (SQLite's data_version changes only when
     * another connection commits); a full rescan for lapsed leases runs
     * with the heartbeat. */
    int64_t renew_every = jobs->lease_ms / 3 > 0 ? jobs->lease_ms / 3 : 1;
    int64_t look_every = renew_every < 1000 ? renew_every : 1000;
    int64_t next_renew = ul_wall_ms() + renew_every;
    int64_t next_look = ul_wall_ms() + look_every;
    pthread_mutex_lock(&jobs->lock);
    while (!jobs->stopping) {
        int64_t now = ul_wall_ms();
        int64_t next_due = now + CLOCK_TICK_MS;
        bool retry_pending = false;
        for (size_t b = 0; b < JOBS_BUCKETS && jobs->nparked; b++)
            for (struct jrec *r = jobs->buckets[b]; r; r = r->hnext) {
                if (r->where != J_PARKED || r->wake_at == 0)
                    continue;
                if (r->wake_at <= now) {
                    r->woken = true;
                    ready_push(jobs, r);
                } else if (r->wake_at < next_due) {
                    next_due = r->wake_at;
                }
            }
        for (struct jrec *r = jobs->ready_head; r && !retry_pending; r = r->next)
            retry_pending = r->not_before != 0;
        if (retry_pending)
            pthread_cond_signal(&jobs->cond); /* a node-busy retry may be due by now */
        if (now >= next_look) {
            pthread_mutex_unlock(&jobs->lock);
            ul_errmsg em;
            bool renew = now >= next_renew;
            if (renew &&
                store_job_renew(jobs->st, jobs->instance, now + jobs->lease_ms, &em) != UL_OK)
                ul_error("job engine: renewing leases: %s", em.text);
            int64_t v = 0;
            bool changed = store_job_data_version(jobs->st, &v, &em) == UL_OK &&
                           v != jobs->data_version;
            jobs->data_version = v; /* only this thread writes it once started */
            if (changed || renew)
                scan_store(jobs, false);
            pthread_mutex_lock(&jobs->lock);
            if (renew)
                next_renew = now + renew_every;
            next_look = now + look_every;
        }
        if (jobs->stopping)
            break;
        int64_t until = next_due < next_look ? next_due : next_look;
        int64_t wait = until - ul_wall_ms();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            int64_t ns = ts.tv_nsec + (wait % 1000) * 1000000;
            ts.tv_sec += wait / 1000 + ns / 1000000000;
            ts.tv_nsec = ns % 1000000000;
            pthread_cond_timedwait(&jobs->clock_cond, &jobs->lock, &ts);
        }
    }
    pthread_mutex_unlock(&jobs->lock);
    return NULL;
}

ul_err jobs_start(ul_jobs *jobs, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    store_job_data_version(jobs->st, &jobs->data_version, NULL);
    scan_store(jobs, true);
    pthread_mutex_lock(&jobs->lock);
    jobs->threads = xcalloc((size_t)jobs->nworkers, sizeof(pthread_t));
    for (int i = 0; i < jobs->nworkers; i++) {
        if (pthread_create(&jobs->threads[i], NULL, worker_main, jobs) != 0) {
            rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot start job worker %d", i);
            break;
        }
        jobs->nthreads++;
    }
    if (rc == UL_OK) {
        if (pthread_create(&jobs->clock, NULL, clock_main, jobs) != 0)
            rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot start the job engine's clock");
        else
            jobs->clock_started = true;
    }
    pthread_mutex_unlock(&jobs->lock);
    return rc;
}

static ul_err submit(ul_jobs *jobs, int64_t parent, const char *type, const char *node,
                     json_object *params, const char *actor, int timeout_s, struct ul_job **out,
                     ul_errmsg *em)
{
    *out = NULL;
    const struct ul_job_type *t = jobs_find_type(jobs, type);
    if (!t)
        return ul_errmsg_set(em, UL_ERR_INVALID, "unknown job type '%s'", type ? type : "");
    if (t->needs_node && !node)
        return ul_errmsg_set(em, UL_ERR_INVALID, "job type '%s' needs a node", type);
    if (t->validate) {
        ul_err rc = t->validate(params, em);
        if (rc != UL_OK)
            return rc;
    }
    struct ul_job *j = xcalloc(1, sizeof(*j));
    j->parent_id = parent;
    j->type = xstrdup(type);
    j->node = xstrdup(node);
    j->params = params ? jv_to_string(params) : xstrdup("{}");
    j->actor = xstrdup(actor ? actor : "system");
    j->timeout_s = timeout_s > 0 ? timeout_s : jobs->default_timeout;
    ul_err rc = store_job_insert(jobs->st, j, em);
    if (rc != UL_OK) {
        job_free(j);
        return rc;
    }
    pthread_mutex_lock(&jobs->lock);
    if (!rec_find(jobs, j->id))
        ready_push(jobs, rec_add(jobs, j->id, node));
    pthread_mutex_unlock(&jobs->lock);
    *out = j;
    return UL_OK;
}

ul_err jobs_submit(ul_jobs *jobs, const char *type, const char *node, json_object *params,
                   const char *actor, int timeout_s, struct ul_job **out, ul_errmsg *em)
{
    return submit(jobs, 0, type, node, params, actor, timeout_s, out, em);
}

static ul_err already_final(ul_jobs *jobs, int64_t id, ul_errmsg *em)
{
    struct ul_job *done = NULL;
    ul_err rc = store_job_get(jobs->st, id, &done, em);
    if (rc == UL_OK)
        rc = job_state_final(done->state)
                 ? ul_errmsg_set(em, UL_ERR_CONFLICT, "job %lld has already %s", (long long)id,
                                 job_state_name(done->state))
                 : UL_OK;
    job_free(done);
    return rc;
}

/* Caller holds jobs->lock. */
static ul_err cancel_locked(ul_jobs *jobs, int64_t id, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    struct jrec *r = rec_find(jobs, id);
    if (r && r->where == J_READY && !r->woken && !r->resumed) {
        struct jrec *prev = NULL;
        for (struct jrec *q = jobs->ready_head; q && q != r; q = q->next)
            prev = q;
        ready_unlink(jobs, prev, r);
        int64_t parent = 0;
        rc = store_job_finish_as(jobs->st, NULL, id, UL_JOB_CANCELED, NULL,
                                 ul_err_name(UL_ERR_CANCELED), "canceled before it started",
                                 &parent, em);
        rec_remove(jobs, r);
        if (rc == UL_OK) {
            struct ul_job *j = NULL;
            if (store_job_get(jobs->st, id, &j, NULL) == UL_OK)
                discard_params(jobs_find_type(jobs, j->type), j->params);
            job_free(j);
            if (parent)
                wake_parent_locked(jobs, parent);
        } else if (rc == UL_ERR_NOT_FOUND) {
            rc = already_final(jobs, id, em);
        }
        return rc;
    }
    if (r && r->where == J_ACTIVE && r->ctx) {
        atomic_store(&r->ctx->cancel, 1);
        rc = store_job_request_cancel(jobs->st, id, em);
        if (rc == UL_ERR_NOT_FOUND) /* it recorded its outcome meanwhile */
            rc = already_final(jobs, id, em);
        return rc;
    }
    if (r && (r->where == J_PARKED || r->where == J_READY)) {
        /* Between steps (parked, or due and not yet on a worker): the
         * boundary is now.  The BMC's own task, if any, goes on. */
        struct ul_job_claim c = {jobs->instance, r->fence};
        bool was_ready = r->where == J_READY;
        if (was_ready) {
            struct jrec *prev = NULL;
            for (struct jrec *q = jobs->ready_head; q && q != r; q = q->next)
                prev = q;
            ready_unlink(jobs, prev, r);
            r->where = J_ACTIVE; /* out of every list while we write */
        }
        int64_t parent = 0;
        rc = store_job_finish_as(jobs->st, r->fence ? &c : NULL, id, UL_JOB_CANCELED, NULL,
                                 ul_err_name(UL_ERR_CANCELED), "canceled by request", &parent,
                                 em);
        rec_remove(jobs, r);
        pthread_cond_signal(&jobs->cond); /* a held node is free */
        if (rc == UL_OK && parent)
            wake_parent_locked(jobs, parent);
        if (rc == UL_ERR_NOT_FOUND || rc == UL_ERR_CONFLICT)
            rc = already_final(jobs, id, em) == UL_OK
                     ? store_job_request_cancel(jobs->st, id, em)
                     : UL_ERR_CONFLICT;
        return rc;
    }
    /* Not ours: queued and unclaimed, or held by another instance (whose
     * scan sees the request), or finished. */
    struct ul_job *j = NULL;
    rc = store_job_get(jobs->st, id, &j, em);
    if (rc != UL_OK)
        return rc;
    if (job_state_final(j->state)) {
        rc = ul_errmsg_set(em, UL_ERR_CONFLICT, "job %lld has already %s", (long long)id,
                           job_state_name(j->state));
    } else if (j->state == UL_JOB_QUEUED && !j->owner) {
        struct ul_job_claim seen = {"", j->fence};
        int64_t parent = 0;
        rc = store_job_finish_as(jobs->st, &seen, id, UL_JOB_CANCELED, NULL,
                                 ul_err_name(UL_ERR_CANCELED), "canceled before it started",
                                 &parent, em);
        if (rc == UL_OK)
            discard_params(jobs_find_type(jobs, j->type), j->params);
        else if (rc == UL_ERR_CONFLICT) /* claimed meanwhile */
            rc = store_job_request_cancel(jobs->st, id, em);
        if (rc == UL_OK && parent)
            wake_parent_locked(jobs, parent);
    } else {
        rc = store_job_request_cancel(jobs->st, id, em);
    }
    job_free(j);
    return rc;
}

ul_err jobs_cancel(ul_jobs *jobs, int64_t id, ul_errmsg *em)
{
    pthread_mutex_lock(&jobs->lock);
    ul_err rc = cancel_locked(jobs, id, em);
    pthread_mutex_unlock(&jobs->lock);
    if (rc != UL_OK)
        return rc;
    /* A parent's unfinished children go with it (and theirs). */
    struct ul_job_filter f = {.state = -1, .parent_id = id, .limit = -1};
    struct ul_job_list l;
    if (store_job_list(jobs->st, &f, &l, NULL) == UL_OK) {
        for (size_t i = 0; i < l.count; i++)
            if (!job_state_final(l.items[i]->state))
                jobs_cancel(jobs, l.items[i]->id, NULL);
        store_job_list_free(&l);
    }
    return UL_OK;
}

ul_err jobs_enqueue_task(ul_jobs *jobs, const char *node, int timeout_s, jobs_task_fn fn,
                         void (*drop)(void *arg), void *arg, ul_errmsg *em)
{
    pthread_mutex_lock(&jobs->lock);
    if (jobs->stopping || jobs->tasks >= JOBS_MAX_TASKS) {
        bool stopping = jobs->stopping;
        pthread_mutex_unlock(&jobs->lock);
        return ul_errmsg_set(em, UL_ERR_BUSY, stopping ? "job engine is stopping"
                                                      : "background task queue is full");
    }
    struct task *t = xcalloc(1, sizeof(*t));
    t->node = xstrdup(node);
    t->fn = fn;
    t->drop = drop;
    t->arg = arg;
    t->timeout_s = timeout_s > 0 ? timeout_s : jobs->default_timeout;
    if (jobs->task_tail)
        jobs->task_tail->next = t;
    else
        jobs->task_head = t;
    jobs->task_tail = t;
    jobs->tasks++;
    pthread_cond_signal(&jobs->cond);
    pthread_mutex_unlock(&jobs->lock);
    return UL_OK;
}

int jobs_tasks_queued(ul_jobs *jobs)
{
    pthread_mutex_lock(&jobs->lock);
    int n = jobs->tasks;
    pthread_mutex_unlock(&jobs->lock);
    return n;
}

void jobs_counts(ul_jobs *jobs, int *queued, int *running)
{
    pthread_mutex_lock(&jobs->lock);
    *queued = jobs->nready;
    int r = 0;
    for (int i = 0; i < jobs->nworkers; i++)
        r += jobs->active[i] != NULL;
    *running = r;
    pthread_mutex_unlock(&jobs->lock);
}

void jobs_parked(ul_jobs *jobs, int *parked, int *holding)
{
    pthread_mutex_lock(&jobs->lock);
    *parked = jobs->nparked;
    *holding = jobs->nholding;
    pthread_mutex_unlock(&jobs->lock);
}

void jobs_stop(ul_jobs *jobs)
{
    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->lock);
    jobs->stopping = true;
    pthread_cond_broadcast(&jobs->cond);
    pthread_cond_broadcast(&jobs->clock_cond);
    pthread_mutex_unlock(&jobs->lock);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    jobs->nthreads = 0;
    if (jobs->clock_started)
        pthread_join(jobs->clock, NULL);
    jobs->clock_started = false;
}

void jobs_free(ul_jobs *jobs)
{
    if (!jobs)
        return;
    jobs_stop(jobs);
    /* Queued and parked jobs stay so in the store; the next start (or
     * another instance, once the leases lapse) picks them up. */
    for (size_t b = 0; b < JOBS_BUCKETS; b++) {
        struct jrec *r = jobs->buckets[b];
        while (r) {
            struct jrec *next = r->hnext;
            free(r->node);
            free(r);
            r = next;
        }
    }
    /* Background tasks are not persisted: hand their arguments back. */
    struct task *t = jobs->task_head;
    while (t) {
        struct task *next = t->next;
        if (t->drop)
            t->drop(t->arg);
        free(t->node);
        free(t);
        t = next;
    }
    free(jobs->threads);
    free(jobs->active);
    free(jobs->instance);
    pthread_mutex_destroy(&jobs->lock);
    pthread_cond_destroy(&jobs->cond);
    pthread_cond_destroy(&jobs->clock_cond);
    free(jobs);
}

/* ---- configuration ---- */

ul_err jobs_config_check(const struct ul_config *cfg, ul_errmsg *em)
{
    if (cfg->job_poll_workers >= cfg->job_workers && cfg->job_workers > 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "key 'jobs.poll_workers': %d would leave none of the %d workers to "
                             "operator jobs (at most %d)",
                             cfg->job_poll_workers, cfg->job_workers, cfg->job_workers - 1);
    const char *inst = cfg->job_instance ? cfg->job_instance : "";
    if (strlen(inst) > 64)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "key 'jobs.instance': longer than 64 characters");
    for (const char *p = inst; *p; p++)
        if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && !(*p >= '0' && *p <= '9') &&
            !strchr("._-:", *p))
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "key 'jobs.instance': '%.64s' may hold only letters, digits and "
                                 ". _ - :",
                                 inst);
    /* A lease shorter than a heartbeat's round trip under load would hand
     * running jobs to another instance for nothing. */
    if (cfg->job_lease * 1000 < 3000)
        return ul_errmsg_set(em, UL_ERR_INVALID, "key 'jobs.lease': at least 3 seconds");
    return UL_OK;
}

/* ---- handler context ---- */

int64_t job_ctx_id(ul_job_ctx *ctx)
{
    return ctx->id;
}

const char *job_ctx_node(ul_job_ctx *ctx)
{
    return ctx->node;
}

ul_store *job_ctx_store(ul_job_ctx *ctx)
{
    return ctx->jobs->st;
}

void *job_ctx_user(ul_job_ctx *ctx)
{
    return ctx->jobs->user;
}

void *job_ctx_type_arg(ul_job_ctx *ctx)
{
    return ctx->type_arg;
}

int64_t job_ctx_deadline(ul_job_ctx *ctx)
{
    return ctx->deadline;
}

int64_t job_ctx_remaining_ms(ul_job_ctx *ctx)
{
    int64_t left = ctx->deadline - ul_mono_ms();
    return left > 0 ? left : 0;
}

bool job_ctx_resumed(ul_job_ctx *ctx)
{
    return ctx->resumed;
}

bool job_ctx_woken(ul_job_ctx *ctx)
{
    return ctx->woken;
}

int job_ctx_step(ul_job_ctx *ctx)
{
    return ctx->step;
}

void job_ctx_next(ul_job_ctx *ctx, int step)
{
    ctx->next = NEXT_STEP;
    ctx->next_step = step;
}

void job_ctx_wait_until(ul_job_ctx *ctx, int step, int64_t delay_ms, bool hold_node)
{
    ctx->next = NEXT_WAIT_UNTIL;
    ctx->next_step = step;
    ctx->wait_ms = delay_ms > 0 ? delay_ms : 0;
    ctx->hold_node = hold_node;
}

void job_ctx_wait_children(ul_job_ctx *ctx, int step)
{
    ctx->next = NEXT_WAIT_CHILDREN;
    ctx->next_step = step;
}

ul_err job_ctx_submit_child(ul_job_ctx *ctx, const char *type, const char *node,
                            json_object *params, int timeout_s, int64_t *id, ul_errmsg *em)
{
    struct ul_job *j = NULL;
    ul_err rc = submit(ctx->jobs, ctx->id, type, node, params, ctx->actor, timeout_s, &j, em);
    if (id)
        *id = j ? j->id : 0;
    job_free(j);
    return rc;
}

json_object *job_ctx_checkpoint(ul_job_ctx *ctx)
{
    return ctx->checkpoint;
}

/* A write under our claim was refused: another instance has the job. */
static void claim_write_failed(ul_job_ctx *ctx, ul_err rc, const ul_errmsg *em)
{
    if (rc == UL_ERR_CONFLICT) {
        atomic_store(&ctx->lost, 1);
        ul_warn("job %lld: %s", (long long)ctx->id, em->text);
    }
}

ul_err job_ctx_save_checkpoint(ul_job_ctx *ctx, json_object *checkpoint, ul_errmsg *em)
{
    if (ctx->id == 0)
        return UL_OK; /* a background task: nothing persisted */
    char *text = checkpoint ? jv_to_string(checkpoint) : NULL;
    ul_errmsg local;
    if (!em)
        em = &local;
    ul_err rc = store_job_checkpoint_as(ctx->jobs->st, &ctx->claim, ctx->id, text, em);
    free(text);
    if (rc == UL_OK) {
        /* The new reference first: checkpoint may be the one we hold. */
        json_object *old = ctx->checkpoint;
        ctx->checkpoint = checkpoint ? json_object_get(checkpoint) : NULL;
        json_object_put(old);
    } else {
        claim_write_failed(ctx, rc, em);
    }
    return rc;
}

void job_ctx_progress(ul_job_ctx *ctx, int pct, const char *fmt, ...)
{
    if (ctx->id == 0)
        return; /* a background task: nothing to record */
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ul_errmsg em;
    ul_err rc = store_job_progress_as(ctx->jobs->st, &ctx->claim, ctx->id, pct, msg, &em);
    if (rc != UL_OK) {
        claim_write_failed(ctx, rc, &em);
        if (rc != UL_ERR_CONFLICT)
            ul_warn("job %lld: cannot record progress: %s", (long long)ctx->id, em.text);
    }
}

/* Is the step the job is in one its type says must not be cut short? */
static bool in_uninterruptible_step(const ul_job_ctx *ctx)
{
    return ctx->type && ctx->step >= 0 && ctx->step < 64 &&
           (ctx->type->uninterruptible >> ctx->step) & 1;
}

ul_err job_ctx_check(ul_job_ctx *ctx, ul_errmsg *em)
{
    if (atomic_load(&ctx->lost))
        return ul_errmsg_set(em, UL_ERR_CONFLICT,
                             "job %lld: instance '%s' no longer holds its claim",
                             (long long)ctx->id, ctx->jobs->instance);
    bool hold_on = in_uninterruptible_step(ctx);
    if (atomic_load(&ctx->cancel) && !hold_on)
        return ul_errmsg_set(em, UL_ERR_CANCELED, "canceled by request");
    if (!hold_on && is_stopping(ctx->jobs))
        return ul_errmsg_set(em, UL_ERR_INTERRUPTED, "interrupted by shutdown");
    if (ul_mono_ms() >= ctx->deadline)
        return ul_errmsg_set(em, UL_ERR_TIMEOUT, "job timed out after %d s", ctx->timeout_s);
    return UL_OK;
}

void job_ctx_sleep(ul_job_ctx *ctx, int64_t ms)
{
    int64_t end = ul_mono_ms() + ms;
    if (end > ctx->deadline)
        end = ctx->deadline;
    /* Short slices keep cancel and shutdown responsive without a per-job
     * condition variable. */
    for (;;) {
        int64_t left = end - ul_mono_ms();
        if (left <= 0 || job_ctx_check(ctx, NULL) != UL_OK)
            return;
        ul_sleep_ms(left < 50 ? left : 50);
    }
}
