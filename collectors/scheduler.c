#include "config.h"

#include "scheduler.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ops/ops.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

enum poll_kind { POLL_SENSORS = 0, POLL_SEL, POLL_INVENTORY, POLL__COUNT };
static const char *const poll_names[POLL__COUNT] = {"sensors", "sel", "inventory"};

struct snode;

struct entry {
    struct snode *owner;
    enum poll_kind kind;
    int64_t due_ms;
    int interval_s;
    int failures;
    bool in_flight;
    int64_t started_ms;
    size_t heap_idx; /* SIZE_MAX when not in the heap */
};

struct snode {
    char *name;
    bool seen;    /* found by the last sync */
    bool removed; /* left the inventory; freed when no poll is in flight */
    struct entry e[POLL__COUNT];
    struct snode *hnext;
};

struct sched {
    struct sched_config cfg;
    ul_store *st;
    ul_jobs *jobs;
    latest *latest;
    stream *out;
    uint64_t node_changes; /* store_node_changes() at the last sync */
    bool synced_once;      /* the start-up sync is done: later nodes join at once */

    pthread_mutex_t lock; /* guards everything below */
    pthread_cond_t cond;
    bool stopping, started;
    pthread_t thread;
    struct entry **heap;
    size_t nheap, capheap;
    struct snode **buckets;
    size_t nbuckets;
    int nnodes, in_flight;
    uint64_t overruns;
    unsigned rand_state;
};

/* ---- heap of due times ---- */

static void heap_swap(sched *s, size_t a, size_t b)
{
    struct entry *t = s->heap[a];
    s->heap[a] = s->heap[b];
    s->heap[b] = t;
    s->heap[a]->heap_idx = a;
    s->heap[b]->heap_idx = b;
}

static void heap_up(sched *s, size_t i)
{
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (s->heap[p]->due_ms <= s->heap[i]->due_ms)
            break;
        heap_swap(s, p, i);
        i = p;
    }
}

static void heap_down(sched *s, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->nheap && s->heap[l]->due_ms < s->heap[m]->due_ms)
            m = l;
        if (r < s->nheap && s->heap[r]->due_ms < s->heap[m]->due_ms)
            m = r;
        if (m == i)
            return;
        heap_swap(s, i, m);
        i = m;
    }
}

static void heap_push(sched *s, struct entry *e)
{
    if (s->nheap == s->capheap) {
        s->capheap = s->capheap ? s->capheap * 2 : 1024;
        s->heap = xrealloc(s->heap, s->capheap * sizeof(*s->heap));
    }
    e->heap_idx = s->nheap;
    s->heap[s->nheap++] = e;
    heap_up(s, e->heap_idx);
}

static struct entry *heap_pop(sched *s)
{
    struct entry *top = s->heap[0];
    heap_swap(s, 0, --s->nheap);
    heap_down(s, 0);
    top->heap_idx = SIZE_MAX;
    return top;
}

static void heap_remove(sched *s, struct entry *e)
{
    size_t i = e->heap_idx;
    if (i == SIZE_MAX)
        return;
    heap_swap(s, i, --s->nheap);
    if (i < s->nheap) {
        heap_down(s, i);
        heap_up(s, i);
    }
    e->heap_idx = SIZE_MAX;
}

/* ---- nodes ---- */

static size_t name_hash(const char *p)
{
    size_t h = 1469598103934665603ULL;
    for (; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

static struct snode *node_find(sched *s, const char *name)
{
    for (struct snode *n = s->buckets[name_hash(name) % s->nbuckets]; n; n = n->hnext)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

static void node_unlink_free(sched *s, struct snode *n)
{
    struct snode **pp = &s->buckets[name_hash(n->name) % s->nbuckets];
    while (*pp != n)
        pp = &(*pp)->hnext;
    *pp = n->hnext;
    for (int k = 0; k < POLL__COUNT; k++)
        heap_remove(s, &n->e[k]);
    s->nnodes--;
    free(n->name);
    free(n);
}

static int interval_for(const struct sched_config *cfg, enum poll_kind k)
{
    return k == POLL_SENSORS ? cfg->sensor_interval_s
           : k == POLL_SEL   ? cfg->sel_interval_s
                             : cfg->inventory_interval_s;
}

/* Spread first polls over one interval (collectd and ipmiseld do the same):
 * a daemon restart must not hit 10,000 BMCs in the same second. */
static int64_t jitter_ms(sched *s, int interval_s)
{
    return (int64_t)(rand_r(&s->rand_state) % ((unsigned)interval_s * 1000u + 1u));
}

/* Caller holds s->lock. */
static void node_add(sched *s, const char *name, int sensor_interval, int64_t now)
{
    struct snode *n = xcalloc(1, sizeof(*n));
    n->name = xstrdup(name);
    n->seen = true;
    for (int k = 0; k < POLL__COUNT; k++) {
        struct entry *e = &n->e[k];
        e->owner = n;
        e->kind = (enum poll_kind)k;
        e->interval_s = k == POLL_SENSORS ? sensor_interval : interval_for(&s->cfg, e->kind);
        /* Sensors and logs soon, inventory within its first hour at most.
         * A node enrolled while we run is polled within ~2 s: the operator
         * who just added it is waiting for its readings. */
        int spread = e->interval_s < 3600 ? e->interval_s : 3600;
        if (s->synced_once && k != POLL_INVENTORY && spread > 2)
            spread = 2;
        e->due_ms = now + jitter_ms(s, spread);
        heap_push(s, e);
    }
    size_t h = name_hash(name) % s->nbuckets;
    n->hnext = s->buckets[h];
    s->buckets[h] = n;
    s->nnodes++;
}

static int node_interval(const struct ul_node *n, int def)
{
    json_object *v;
    if (!json_object_object_get_ex(n->labels, SCHED_LABEL_INTERVAL, &v))
        return def;
    long x = strtol(json_object_get_string(v), NULL, 10);
    return x >= 5 && x <= 86400 ? (int)x : def;
}

/* Re-read the node list: new nodes join with jitter, deleted ones leave,
 * changed interval labels apply from the next poll. */
static void sync_nodes(sched *s)
{
    struct ul_node_filter f = {.limit = 1000};
    int64_t now = ul_mono_ms();
    /* Read before the list: a change made while we read is seen next time. */
    uint64_t changes = store_node_changes(s->st);
    pthread_mutex_lock(&s->lock);
    s->node_changes = changes; /* even when the read fails: no retry loop */
    for (size_t b = 0; b < s->nbuckets; b++)
        for (struct snode *n = s->buckets[b]; n; n = n->hnext)
            n->seen = false;
    pthread_mutex_unlock(&s->lock);
    for (;;) {
        struct ul_node_list list;
        ul_errmsg em;
        if (store_node_list(s->st, &f, &list, &em) != UL_OK) {
            ul_warn("poll scheduler: cannot read the node list: %s", em.text);
            return; /* keep polling what we know */
        }
        pthread_mutex_lock(&s->lock);
        for (size_t i = 0; i < list.count; i++) {
            const struct ul_node *n = list.items[i];
            int iv = node_interval(n, s->cfg.sensor_interval_s);
            struct snode *sn = node_find(s, n->name);
            if (!sn) {
                node_add(s, n->name, iv, now);
                continue;
            }
            sn->seen = true;
            sn->e[POLL_SENSORS].interval_s = iv;
        }
        pthread_mutex_unlock(&s->lock);
        bool last = list.count < (size_t)f.limit;
        f.offset += (int)list.count;
        store_node_list_free(&list);
        if (last)
            break;
    }
    pthread_mutex_lock(&s->lock);
    for (size_t b = 0; b < s->nbuckets; b++) {
        struct snode *n = s->buckets[b];
        while (n) {
            struct snode *next = n->hnext;
            if (!n->seen && !n->removed) {
                n->removed = true;
                latest_forget(s->latest, n->name);
                bool busy = false;
                for (int k = 0; k < POLL__COUNT; k++)
                    busy = busy || n->e[k].in_flight;
                if (!busy)
                    node_unlink_free(s, n);
            }
            n = next;
        }
    }
    s->synced_once = true;
    pthread_mutex_unlock(&s->lock);
}

/* ---- polls ---- */

struct poll_arg {
    sched *s;
    struct entry *e;
    char *node;
};

/* Back on the scheduler: success returns to the interval, failure doubles
 * it up to the cap, "not supported" waits the cap (nothing to gain). */
static void poll_done(sched *s, struct entry *e, ul_err rc)
{
    int64_t now = ul_mono_ms();
    pthread_mutex_lock(&s->lock);
    e->in_flight = false;
    s->in_flight--;
    struct snode *n = e->owner;
    if (n->removed) {
        /* This poll reported after the node left the inventory: its result
         * re-created the node in latest; forget it again. */
        latest_forget(s->latest, n->name);
        bool busy = false;
        for (int k = 0; k < POLL__COUNT; k++)
            busy = busy || n->e[k].in_flight;
        if (!busy)
            node_unlink_free(s, n);
        pthread_mutex_unlock(&s->lock);
        return;
    }
    int64_t took = now - e->started_ms;
    int64_t next;
    if (rc == UL_OK) {
        e->failures = 0;
        next = (int64_t)e->interval_s * 1000;
        if (took > next) {
            s->overruns++;
            ul_warn("node %s: %s poll took %lld ms, longer than its %d s interval", n->name,
                    poll_names[e->kind], (long long)took, e->interval_s);
        }
    } else if (rc == UL_ERR_UNSUPPORTED) {
        next = (int64_t)s->cfg.max_backoff_s * 1000;
    } else {
        if (e->failures < 30)
            e->failures++;
        next = (int64_t)e->interval_s * 1000;
        for (int i = 0; i < e->failures && next < (int64_t)s->cfg.max_backoff_s * 1000; i++)
            next *= 2;
        if (next > (int64_t)s->cfg.max_backoff_s * 1000)
            next = (int64_t)s->cfg.max_backoff_s * 1000;
    }
    /* Measured from the start of this poll, clamped to now. */
    e->due_ms = e->started_ms + next;
    if (e->due_ms < now)
        e->due_ms = now;
    if (!s->stopping) {
        heap_push(s, e);
        pthread_cond_signal(&s->cond);
    }
    pthread_mutex_unlock(&s->lock);
}

static void publish_change(sched *s, const char *node, int64_t t, const struct latest_change *c)
{
    if (c->from == c->to)
        return;
    ul_debug("node %s: health %s -> %s: %s", node, latest_health_name(c->from),
             latest_health_name(c->to), c->reason);
    stream_publish_health(s->out, node, t, c->from, c->to, c->reason);
}

static void poll_task(ul_job_ctx *ctx, void *argp)
{
    struct poll_arg *a = argp;
    sched *s = a->s;
    struct entry *e = a->e;
    ul_errmsg em = {{0}};
    ul_err rc;
    int64_t t0 = ul_mono_ms();
    switch (e->kind) {
    case POLL_SENSORS: {
        struct ul_sensor_list list;
        struct ul_power_reading pr;
        ul_err prc = UL_ERR_UNSUPPORTED;
        ul_errmsg pem;
        enum ul_power_state power = UL_POWER_UNKNOWN;
        rc = bmc_read_sensors(ctx, &list, &pr, &prc, &pem, &power, &em);
        double dur = (double)(ul_mono_ms() - t0) / 1000.0;
        int64_t now = ul_wall_s();
        struct latest_change c;
        if (rc == UL_OK) {
            /* Published first: latest takes the list over. */
            stream_publish_sweep(s->out, a->node, now, &list, prc == UL_OK ? &pr : NULL);
            c = latest_sensors_ok(s->latest, a->node, &list, prc == UL_OK ? &pr : NULL, now,
                                  dur);
            latest_power_state(s->latest, a->node, power);
        } else {
            c = latest_poll_failed(s->latest, a->node, "sensors", rc, em.text, now, dur);
        }
        publish_change(s, a->node, now, &c);
        bmc_sensor_list_free(&list);
        break;
    }
    case POLL_SEL: {
        int read, inserted;
        rc = bmc_collect_events(ctx, false, &read, &inserted, &em);
        double dur = (double)(ul_mono_ms() - t0) / 1000.0;
        int64_t now = ul_wall_s();
        struct latest_change c;
        if (rc == UL_OK) {
            /* After the store has them: a sink may read them back. */
            if (inserted > 0)
                stream_publish_event(s->out, a->node, now, "sel", inserted);
            c = latest_poll_ok(s->latest, a->node, "sel", now, dur);
        } else {
            c = latest_poll_failed(s->latest, a->node, "sel", rc, em.text, now, dur);
        }
        publish_change(s, a->node, now, &c);
        break;
    }
    default: {
        json_object *inv = NULL;
        rc = bmc_read_inventory(ctx, &inv, &em);
        json_object_put(inv);
        double dur = (double)(ul_mono_ms() - t0) / 1000.0;
        int64_t now = ul_wall_s();
        struct latest_change c =
            rc == UL_OK ? latest_poll_ok(s->latest, a->node, "inventory", now, dur)
                        : latest_poll_failed(s->latest, a->node, "inventory", rc, em.text, now,
                                             dur);
        publish_change(s, a->node, now, &c);
        break;
    }
    }
    if (rc != UL_OK && rc != UL_ERR_UNSUPPORTED)
        ul_debug("node %s: %s poll failed: %s", a->node, poll_names[e->kind], em.text);
    poll_done(s, e, rc);
    free(a->node);
    free(a);
}

/* A poll still queued when the engine stops: give its entry back. */
static void poll_drop(void *argp)
{
    struct poll_arg *a = argp;
    pthread_mutex_lock(&a->s->lock);
    a->e->in_flight = false;
    a->s->in_flight--;
    pthread_mutex_unlock(&a->s->lock);
    free(a->node);
    free(a);
}

static void *sched_main(void *arg)
{
    sched *s = arg;
    int64_t next_sync = 0;
    pthread_mutex_lock(&s->lock);
    while (!s->stopping) {
        int64_t now = ul_mono_ms();
        /* One atomic load a second: a node added, changed or deleted
         * through the store is picked up now, not at the next full sync. */
        if (now >= next_sync || store_node_changes(s->st) != s->node_changes) {
            pthread_mutex_unlock(&s->lock);
            sync_nodes(s);
            pthread_mutex_lock(&s->lock);
            next_sync = now + (int64_t)s->cfg.sync_interval_s * 1000;
            continue;
        }
        while (s->nheap && s->heap[0]->due_ms <= now && !s->stopping) {
            struct entry *e = heap_pop(s);
            struct poll_arg *a = xcalloc(1, sizeof(*a));
            a->s = s;
            a->e = e;
            a->node = xstrdup(e->owner->name);
            e->in_flight = true;
            e->started_ms = now;
            s->in_flight++;
            pthread_mutex_unlock(&s->lock);
            ul_errmsg em;
            ul_err rc = jobs_enqueue_task(s->jobs, a->node, s->cfg.poll_timeout_s, poll_task,
                                          poll_drop, a, &em);
            pthread_mutex_lock(&s->lock);
            if (rc != UL_OK) {
                /* The engine is full or stopping: try again shortly. */
                e->in_flight = false;
                s->in_flight--;
                free(a->node);
                free(a);
                e->due_ms = now + 1000;
                heap_push(s, e);
                break;
            }
        }
        int64_t wake = next_sync < now + 1000 ? next_sync : now + 1000;
        if (s->nheap && s->heap[0]->due_ms < wake)
            wake = s->heap[0]->due_ms;
        int64_t wait = wake - ul_mono_ms();
        if (wait > 0) {
            struct timespec ts;
            clock_gettime(CLOCK_MONOTONIC, &ts);
            ts.tv_sec += wait / 1000;
            ts.tv_nsec += (wait % 1000) * 1000000;
            if (ts.tv_nsec >= 1000000000) {
                ts.tv_sec++;
                ts.tv_nsec -= 1000000000;
            }
            pthread_cond_timedwait(&s->cond, &s->lock, &ts);
        }
    }
    pthread_mutex_unlock(&s->lock);
    return NULL;
}

sched *sched_new(const struct sched_config *cfg, ul_store *st, ul_jobs *jobs, latest *l,
                 stream *out)
{
    sched *s = xcalloc(1, sizeof(*s));
    s->cfg = *cfg;
    if (s->cfg.sync_interval_s <= 0)
        s->cfg.sync_interval_s = 30;
    s->st = st;
    s->jobs = jobs;
    s->latest = l;
    s->out = out;
    s->nbuckets = 4096;
    s->buckets = xcalloc(s->nbuckets, sizeof(*s->buckets));
    s->rand_state = (unsigned)time(NULL) ^ (unsigned)(uintptr_t)s;
    pthread_mutex_init(&s->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cond, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

ul_err sched_start(sched *s, ul_errmsg *em)
{
    if (pthread_create(&s->thread, NULL, sched_main, s) != 0)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot start the poll scheduler");
    s->started = true;
    return UL_OK;
}

void sched_stop(sched *s)
{
    if (!s || !s->started)
        return;
    pthread_mutex_lock(&s->lock);
    s->stopping = true;
    pthread_cond_broadcast(&s->cond);
    pthread_mutex_unlock(&s->lock);
    pthread_join(s->thread, NULL);
    s->started = false;
}

void sched_free(sched *s)
{
    if (!s)
        return;
    sched_stop(s);
    for (size_t b = 0; b < s->nbuckets; b++) {
        struct snode *n = s->buckets[b];
        while (n) {
            struct snode *next = n->hnext;
            free(n->name);
            free(n);
            n = next;
        }
    }
    free(s->buckets);
    free(s->heap);
    pthread_mutex_destroy(&s->lock);
    pthread_cond_destroy(&s->cond);
    free(s);
}

void sched_counts(sched *s, int *nodes, int *in_flight, uint64_t *overruns)
{
    pthread_mutex_lock(&s->lock);
    *nodes = s->nnodes;
    *in_flight = s->in_flight;
    *overruns = s->overruns;
    pthread_mutex_unlock(&s->lock);
}

stream *sched_stream(sched *s)
{
    return s ? s->out : NULL;
}
