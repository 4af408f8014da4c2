#include "config.h"

#include "jobs.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define JOBS_MAX_TYPES 64

struct qitem {
    int64_t id;            /* 0 for a background task */
    char *node;            /* NULL: no node lock needed */
    bool resumed;
    jobs_task_fn task;     /* background task, or NULL for a job */
    void (*drop)(void *);
    void *arg;
    int timeout_s;
    struct qitem *next;
};

struct ul_job_ctx {
    ul_jobs *jobs;
    int64_t id;
    char *node;
    int timeout_s;
    int64_t deadline;
    bool resumed;
    atomic_int cancel;
    json_object *checkpoint; /* saved by an earlier run, or NULL */
};

struct ul_jobs {
    ul_store *st;
    int nworkers;
    int default_timeout;
    void *user;
    const struct ul_job_type *types[JOBS_MAX_TYPES];
    int ntypes;

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;  /* queue changed, a node lock was released, or stopping */
    struct qitem *head, *tail;
    int queued;
    struct qitem *task_head, *task_tail; /* background tasks, after jobs */
    int tasks;
    ul_job_ctx **active;  /* nworkers slots; NULL when idle */
    bool stopping;
    pthread_t *threads;
    int nthreads;
};

ul_jobs *jobs_new(ul_store *st, int workers, int default_timeout_s)
{
    ul_jobs *j = xcalloc(1, sizeof(*j));
    j->st = st;
    j->nworkers = workers > 0 ? workers : 1;
    j->default_timeout = default_timeout_s > 0 ? default_timeout_s : 300;
    j->active = xcalloc((size_t)j->nworkers, sizeof(*j->active));
    pthread_mutex_init(&j->lock, NULL);
    pthread_cond_init(&j->cond, NULL);
    return j;
}

void jobs_register(ul_jobs *jobs, const struct ul_job_type *t)
{
    if (jobs->ntypes < JOBS_MAX_TYPES)
        jobs->types[jobs->ntypes++] = t;
    else
        ul_error("job engine: too many job types, '%s' not registered", t->name);
}

void jobs_set_user(ul_jobs *jobs, void *user)
{
    jobs->user = user;
}

const struct ul_job_type *jobs_find_type(ul_jobs *jobs, const char *name)
{
    for (int i = 0; name && i < jobs->ntypes; i++)
        if (strcmp(jobs->types[i]->name, name) == 0)
            return jobs->types[i];
    return NULL;
}

/* Caller holds jobs->lock. */
static void queue_push(ul_jobs *jobs, int64_t id, const char *node, bool resumed)
{
    struct qitem *q = xcalloc(1, sizeof(*q));
    q->id = id;
    q->node = xstrdup(node);
    q->resumed = resumed;
    if (jobs->tail)
        jobs->tail->next = q;
    else
        jobs->head = q;
    jobs->tail = q;
    jobs->queued++;
    pthread_cond_signal(&jobs->cond);
}

static void qitem_free(struct qitem *q)
{
    free(q->node);
    free(q);
}

/* Caller holds jobs->lock.  Unlinks q (prev is its predecessor or NULL). */
static void list_unlink(struct qitem **head, struct qitem **tail, struct qitem *prev,
                        struct qitem *q)
{
    if (prev)
        prev->next = q->next;
    else
        *head = q->next;
    if (*tail == q)
        *tail = prev;
}

static void queue_unlink(ul_jobs *jobs, struct qitem *prev, struct qitem *q)
{
    list_unlink(&jobs->head, &jobs->tail, prev, q);
    jobs->queued--;
}

/* Caller holds jobs->lock. */
static bool node_busy(ul_jobs *jobs, const char *node)
{
    if (!node)
        return false;
    for (int i = 0; i < jobs->nworkers; i++)
        if (jobs->active[i] && jobs->active[i]->node && strcmp(jobs->active[i]->node, node) == 0)
            return true;
    return false;
}

/* Caller holds jobs->lock.  The first queued job whose node is free: FIFO per
 * node, and a node with a long job never holds up the others.  A linear scan
 * is fine: it skips at most one entry per busy worker's node run. */
static struct qitem *queue_take_runnable(ul_jobs *jobs)
{
    struct qitem *prev = NULL;
    for (struct qitem *q = jobs->head; q; prev = q, q = q->next) {
        if (node_busy(jobs, q->node))
            continue;
        queue_unlink(jobs, prev, q);
        return q;
    }
    /* Operator jobs first; background polls only when no job can run. */
    prev = NULL;
    for (struct qitem *q = jobs->task_head; q; prev = q, q = q->next) {
        if (node_busy(jobs, q->node))
            continue;
        list_unlink(&jobs->task_head, &jobs->task_tail, prev, q);
        jobs->tasks--;
        return q;
    }
    return NULL;
}

static const char *final_message(enum ul_job_state s)
{
    return s == UL_JOB_SUCCEEDED ? "succeeded" : s == UL_JOB_CANCELED ? "canceled" : "failed";
}

static bool stopping(ul_jobs *jobs);

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

static void discard_job(ul_jobs *jobs, int64_t id)
{
    struct ul_job *j = NULL;
    if (store_job_get(jobs->st, id, &j, NULL) == UL_OK)
        discard_params(jobs_find_type(jobs, j->type), j->params);
    job_free(j);
}

/* Run one job to its end and record the outcome.  No engine lock held. */
static void run_job(ul_jobs *jobs, ul_job_ctx *ctx)
{
    ul_errmsg em = {{0}};
    struct ul_job *job = NULL;
    json_object *params = NULL, *result = NULL;
    char *result_text = NULL;
    ul_err rc;

    if (store_job_get(jobs->st, ctx->id, &job, &em) != UL_OK) {
        ul_error("job %lld: %s", (long long)ctx->id, em.text);
        goto out;
    }
    if (job->state != UL_JOB_QUEUED)
        goto out; /* canceled while it waited for a worker */
    if (job->cancel_requested) {
        store_job_finish(jobs->st, job->id, UL_JOB_CANCELED, NULL, ul_err_name(UL_ERR_CANCELED),
                         "canceled before it started", NULL);
        discard_params(jobs_find_type(jobs, job->type), job->params);
        goto out;
    }
    const struct ul_job_type *type = jobs_find_type(jobs, job->type);
    if (!type) {
        store_job_finish(jobs->st, job->id, UL_JOB_FAILED, NULL, ul_err_name(UL_ERR_INTERNAL),
                         "unknown job type", NULL);
        goto out;
    }
    if (jv_parse(job->params, strlen(job->params), 0, &params, &em) != UL_OK) {
        store_job_finish(jobs->st, job->id, UL_JOB_FAILED, NULL, ul_err_name(UL_ERR_INTERNAL),
                         "stored parameters are unreadable", NULL);
        goto out;
    }
    /* Recorded before the handler sends anything to a BMC. */
    if (store_job_mark_running(jobs->st, job->id, &em) != UL_OK)
        goto out;
    ctx->timeout_s = job->timeout_s > 0 ? job->timeout_s : jobs->default_timeout;
    ctx->deadline = ul_mono_ms() + (int64_t)ctx->timeout_s * 1000;
    ul_info("job %lld: %s%s%s started (attempt %d)", (long long)job->id, job->type,
            job->node ? " on node " : "", job->node ? job->node : "", job->attempts + 1);

    json_object_put(ctx->checkpoint);
    ctx->checkpoint = NULL;
    if (job->checkpoint && jv_parse(job->checkpoint, strlen(job->checkpoint), 0,
                                    &ctx->checkpoint, &em) != UL_OK) {
        ul_warn("job %lld: stored checkpoint unreadable, ignored: %s", (long long)job->id,
                em.text);
        ctx->checkpoint = NULL;
    }

    rc = type->run(ctx, params, &result, &em);

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
    } else if (rc == UL_ERR_INTERRUPTED && stopping(jobs)) {
        /* Only a daemon that is stopping puts a job back: a handler that
         * says "interrupted" on its own (an earlier run died mid-request)
         * has ended it. */
        if (type->resumable && type->resumable(params)) {
            store_job_requeue(jobs->st, job->id, "interrupted by shutdown; resumes at next start",
                              NULL);
            ul_info("job %lld: interrupted by shutdown, will resume", (long long)job->id);
            goto out;
        }
        final = UL_JOB_FAILED;
        snprintf(em.text, sizeof(em.text), "interrupted by shutdown");
    } else {
        final = UL_JOB_FAILED;
    }
    ul_errmsg fe;
    if (store_job_finish(jobs->st, job->id, final, result_text,
                         final == UL_JOB_SUCCEEDED ? NULL : ul_err_name(rc),
                         final == UL_JOB_SUCCEEDED ? NULL : em.text, &fe) != UL_OK)
        ul_error("job %lld: cannot record outcome: %s", (long long)job->id, fe.text);
    if (final == UL_JOB_SUCCEEDED)
        ul_info("job %lld: %s%s%s succeeded", (long long)job->id, job->type,
                job->node ? " on node " : "", job->node ? job->node : "");
    else
        ul_warn("job %lld: %s%s%s %s: %s", (long long)job->id, job->type,
                job->node ? " on node " : "", job->node ? job->node : "", final_message(final),
                em.text);
out:
    free(result_text);
    json_object_put(result);
    json_object_put(params);
    job_free(job);
}

static void *worker_main(void *arg)
{
    ul_jobs *jobs = arg;
    pthread_mutex_lock(&jobs->lock);
    int slot = -1;
    while (!jobs->stopping) {
        struct qitem *q = queue_take_runnable(jobs);
        if (!q) {
            pthread_cond_wait(&jobs->cond, &jobs->lock);
            continue;
        }
        for (int i = 0; i < jobs->nworkers; i++)
            if (!jobs->active[i]) {
                slot = i;
                break;
            }
        ul_job_ctx *ctx = xcalloc(1, sizeof(*ctx));
        ctx->jobs = jobs;
        ctx->id = q->id;
        ctx->node = q->node; /* ownership moves to ctx */
        q->node = NULL;
        ctx->resumed = q->resumed;
        jobs->active[slot] = ctx;
        jobs_task_fn task = q->task;
        void *task_arg = q->arg;
        int task_timeout = q->timeout_s;
        qitem_free(q);
        pthread_mutex_unlock(&jobs->lock);

        if (task) {
            ctx->timeout_s = task_timeout;
            ctx->deadline = ul_mono_ms() + (int64_t)task_timeout * 1000;
            task(ctx, task_arg);
        } else {
            run_job(jobs, ctx);
        }

        pthread_mutex_lock(&jobs->lock);
        jobs->active[slot] = NULL;
        free(ctx->node);
        json_object_put(ctx->checkpoint);
        free(ctx);
        /* The node lock is free again: one waiting worker may now take a job
         * that was skipped for it (at most one can, per node released).  A
         * broadcast woke all 16 workers per finished job (bench/ipmi). */
        pthread_cond_signal(&jobs->cond);
    }
    pthread_mutex_unlock(&jobs->lock);
    return NULL;
}

ul_err jobs_start(ul_jobs *jobs, ul_errmsg *em)
{
    struct ul_job_list l;
    ul_err rc = store_job_list_unfinished(jobs->st, &l, em);
    if (rc != UL_OK)
        return rc;
    int resumed = 0, failed = 0, queued = 0;
    pthread_mutex_lock(&jobs->lock);
    for (size_t i = 0; i < l.count; i++) {
        struct ul_job *j = l.items[i];
        const struct ul_job_type *t = jobs_find_type(jobs, j->type);
        if (!t) {
            store_job_finish(jobs->st, j->id, UL_JOB_FAILED, NULL, ul_err_name(UL_ERR_INTERNAL),
                             "unknown job type after restart", NULL);
            failed++;
            continue;
        }
        if (j->cancel_requested) {
            store_job_finish(jobs->st, j->id, UL_JOB_CANCELED, NULL,
                             ul_err_name(UL_ERR_CANCELED), "canceled by request", NULL);
            discard_params(t, j->params);
            continue;
        }
        if (j->state == UL_JOB_QUEUED) {
            /* Put back by a clean shutdown after it had started: a resume. */
            queue_push(jobs, j->id, j->node, j->attempts > 0);
            queued++;
            continue;
        }
        /* Was running when the previous daemon died. */
        json_object *params = NULL;
        bool can_resume = false;
        if (t->resumable && jv_parse(j->params, strlen(j->params), 0, &params, NULL) == UL_OK)
            can_resume = t->resumable(params);
        json_object_put(params);
        if (can_resume) {
            store_job_requeue(jobs->st, j->id, "resumed after restart", NULL);
            queue_push(jobs, j->id, j->node, true);
            resumed++;
            ul_info("job %lld: %s was interrupted by restart; resuming", (long long)j->id,
                    j->type);
        } else {
            store_job_finish(jobs->st, j->id, UL_JOB_FAILED, NULL,
                             ul_err_name(UL_ERR_INTERRUPTED), "interrupted by restart", NULL);
            failed++;
            ul_warn("job %lld: %s was interrupted by restart and cannot resume; failed",
                    (long long)j->id, j->type);
        }
    }
    jobs->threads = xcalloc((size_t)jobs->nworkers, sizeof(pthread_t));
    for (int i = 0; i < jobs->nworkers; i++) {
        if (pthread_create(&jobs->threads[i], NULL, worker_main, jobs) != 0) {
            rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot start job worker %d", i);
            break;
        }
        jobs->nthreads++;
    }
    pthread_mutex_unlock(&jobs->lock);
    store_job_list_free(&l);
    if (rc == UL_OK && (queued || resumed || failed))
        ul_info("job engine: %d queued, %d resumed, %d failed after restart", queued, resumed,
                failed);
    return rc;
}

ul_err jobs_submit(ul_jobs *jobs, const char *type, const char *node, json_object *params,
                   const char *actor, int timeout_s, struct ul_job **out, ul_errmsg *em)
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
    queue_push(jobs, j->id, node, false);
    pthread_mutex_unlock(&jobs->lock);
    *out = j;
    return UL_OK;
}

ul_err jobs_cancel(ul_jobs *jobs, int64_t id, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    pthread_mutex_lock(&jobs->lock);
    struct qitem *prev = NULL;
    for (struct qitem *q = jobs->head; q; prev = q, q = q->next) {
        if (q->id != id)
            continue;
        queue_unlink(jobs, prev, q);
        qitem_free(q);
        rc = store_job_finish(jobs->st, id, UL_JOB_CANCELED, NULL, ul_err_name(UL_ERR_CANCELED),
                              "canceled before it started", em);
        if (rc == UL_OK)
            discard_job(jobs, id);
        goto out;
    }
    for (int i = 0; i < jobs->nworkers; i++) {
        ul_job_ctx *ctx = jobs->active[i];
        if (ctx && ctx->id == id) {
            atomic_store(&ctx->cancel, 1);
            rc = store_job_request_cancel(jobs->st, id, em);
            if (rc == UL_ERR_NOT_FOUND) {
                /* The handler finished between recording its outcome and
                 * giving up its slot: the job is final, not missing. */
                struct ul_job *done = NULL;
                if (store_job_get(jobs->st, id, &done, NULL) == UL_OK &&
                    job_state_final(done->state))
                    rc = ul_errmsg_set(em, UL_ERR_CONFLICT, "job %lld has already %s",
                                       (long long)id, job_state_name(done->state));
                job_free(done);
            }
            goto out;
        }
    }
    /* Not in memory: finished already, or between insert and queue push. */
    struct ul_job *j = NULL;
    rc = store_job_get(jobs->st, id, &j, em);
    if (rc != UL_OK)
        goto out;
    if (job_state_final(j->state))
        rc = ul_errmsg_set(em, UL_ERR_CONFLICT, "job %lld has already %s", (long long)id,
                           job_state_name(j->state));
    else if ((rc = store_job_finish(jobs->st, id, UL_JOB_CANCELED, NULL,
                                    ul_err_name(UL_ERR_CANCELED), "canceled before it started",
                                    em)) == UL_OK)
        discard_params(jobs_find_type(jobs, j->type), j->params);
    job_free(j);
out:
    pthread_mutex_unlock(&jobs->lock);
    return rc;
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
    struct qitem *q = xcalloc(1, sizeof(*q));
    q->node = xstrdup(node);
    q->task = fn;
    q->drop = drop;
    q->arg = arg;
    q->timeout_s = timeout_s > 0 ? timeout_s : jobs->default_timeout;
    if (jobs->task_tail)
        jobs->task_tail->next = q;
    else
        jobs->task_head = q;
    jobs->task_tail = q;
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
    *queued = jobs->queued;
    int r = 0;
    for (int i = 0; i < jobs->nworkers; i++)
        r += jobs->active[i] != NULL;
    *running = r;
    pthread_mutex_unlock(&jobs->lock);
}

void jobs_stop(ul_jobs *jobs)
{
    if (!jobs)
        return;
    pthread_mutex_lock(&jobs->lock);
    jobs->stopping = true;
    pthread_cond_broadcast(&jobs->cond);
    pthread_mutex_unlock(&jobs->lock);
    for (int i = 0; i < jobs->nthreads; i++)
        pthread_join(jobs->threads[i], NULL);
    jobs->nthreads = 0;
}

void jobs_free(ul_jobs *jobs)
{
    if (!jobs)
        return;
    jobs_stop(jobs);
    /* Queued jobs stay queued in the store; the next start picks them up. */
    struct qitem *q = jobs->head;
    while (q) {
        struct qitem *next = q->next;
        qitem_free(q);
        q = next;
    }
    /* Background tasks are not persisted: hand their arguments back. */
    q = jobs->task_head;
    while (q) {
        struct qitem *next = q->next;
        if (q->drop)
            q->drop(q->arg);
        qitem_free(q);
        q = next;
    }
    free(jobs->threads);
    free(jobs->active);
    pthread_mutex_destroy(&jobs->lock);
    pthread_cond_destroy(&jobs->cond);
    free(jobs);
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

json_object *job_ctx_checkpoint(ul_job_ctx *ctx)
{
    return ctx->checkpoint;
}

ul_err job_ctx_save_checkpoint(ul_job_ctx *ctx, json_object *checkpoint, ul_errmsg *em)
{
    if (ctx->id == 0)
        return UL_OK; /* a background task: nothing persisted */
    char *text = checkpoint ? jv_to_string(checkpoint) : NULL;
    ul_err rc = store_job_checkpoint(ctx->jobs->st, ctx->id, text, em);
    free(text);
    if (rc == UL_OK) {
        /* The new reference first: checkpoint may be the one we hold. */
        json_object *old = ctx->checkpoint;
        ctx->checkpoint = checkpoint ? json_object_get(checkpoint) : NULL;
        json_object_put(old);
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
    if (store_job_progress(ctx->jobs->st, ctx->id, pct, msg, &em) != UL_OK)
        ul_warn("job %lld: cannot record progress: %s", (long long)ctx->id, em.text);
}

static bool stopping(ul_jobs *jobs)
{
    pthread_mutex_lock(&jobs->lock);
    bool s = jobs->stopping;
    pthread_mutex_unlock(&jobs->lock);
    return s;
}

ul_err job_ctx_check(ul_job_ctx *ctx, ul_errmsg *em)
{
    if (atomic_load(&ctx->cancel))
        return ul_errmsg_set(em, UL_ERR_CANCELED, "canceled by request");
    if (stopping(ctx->jobs))
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
