#include "config.h"

#include "stream.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define SINK_NAME_MAX 31
#define SINKS_MAX 32
#define QUEUE_MAX 1000000

/* A published record and its reference count: one allocation shared by every
 * sink that wants it, freed by the last one done with it. */
struct rec {
    struct stream_rec pub;
    atomic_int refs;
    char *node;
    char *reason;
};

struct sink {
    char name[SINK_NAME_MAX + 1];
    unsigned kinds;
    stream_deliver_fn deliver;
    void *arg;
    stream *owner;

    pthread_mutex_t lock; /* leaf: guards everything below */
    pthread_cond_t cond;
    struct rec **ring;
    size_t cap, head, count;
    bool stopping;   /* no more records accepted */
    bool abandon;    /* drain deadline passed: drop what is left */
    bool complaining; /* a drop was logged and the queue has not recovered */
    uint64_t delivered, dropped, dropped_since_complaint;
    pthread_t thread;
    bool started;
};

struct stream {
    struct sink *sinks[SINKS_MAX];
    size_t nsinks;
    atomic_bool started, stopped;
};

static void rec_unref(struct rec *r)
{
    if (atomic_fetch_sub(&r->refs, 1) != 1)
        return;
    if (r->pub.kind == STREAM_SWEEP)
        bmc_sensor_list_free(&r->pub.u.sweep.sensors);
    free(r->node);
    free(r->reason);
    free(r);
}

stream *stream_new(void)
{
    return xcalloc(1, sizeof(stream));
}

static bool name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > SINK_NAME_MAX)
        return false;
    for (; *n; n++)
        if (!((*n >= 'a' && *n <= 'z') || (*n >= '0' && *n <= '9') || *n == '_'))
            return false;
    return true;
}

ul_err stream_add_sink(stream *s, const struct stream_sink_def *d, ul_errmsg *em)
{
    if (!s || !d)
        return ul_errmsg_set(em, UL_ERR_INVALID, "stream: no stream or sink definition");
    if (!name_ok(d->name))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "stream: sink name '%s': must be 1..%d of [a-z0-9_]",
                             d->name ? d->name : "(null)", SINK_NAME_MAX);
    if (d->kinds == 0 || (d->kinds & ~(unsigned)STREAM_ALL))
        return ul_errmsg_set(em, UL_ERR_INVALID, "stream: sink %s: kinds 0x%x: must be a "
                             "non-empty set of STREAM_SWEEP, STREAM_HEALTH, STREAM_EVENT",
                             d->name, d->kinds);
    if (d->queue_len < 1 || d->queue_len > QUEUE_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID, "stream: sink %s: queue_len %zu: must be 1..%d",
                             d->name, d->queue_len, QUEUE_MAX);
    if (!d->deliver)
        return ul_errmsg_set(em, UL_ERR_INVALID, "stream: sink %s: deliver: no callback",
                             d->name);
    if (atomic_load(&s->started))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "stream: sink %s: sinks are added before the stream starts",
                             d->name);
    if (s->nsinks == SINKS_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID, "stream: sink %s: at most %d sinks", d->name,
                             SINKS_MAX);
    for (size_t i = 0; i < s->nsinks; i++)
        if (strcmp(s->sinks[i]->name, d->name) == 0)
            return ul_errmsg_set(em, UL_ERR_INVALID, "stream: sink name '%s' is taken",
                                 d->name);
    struct sink *k = xcalloc(1, sizeof(*k));
    snprintf(k->name, sizeof(k->name), "%s", d->name);
    k->kinds = d->kinds;
    k->deliver = d->deliver;
    k->arg = d->arg;
    k->owner = s;
    k->cap = d->queue_len;
    k->ring = xcalloc(k->cap, sizeof(*k->ring));
    pthread_mutex_init(&k->lock, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&k->cond, &ca);
    pthread_condattr_destroy(&ca);
    s->sinks[s->nsinks++] = k;
    return UL_OK;
}

static void *sink_main(void *arg)
{
    struct sink *k = arg;
    uint64_t abandoned = 0;
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (k->count == 0 && !k->stopping)
            pthread_cond_wait(&k->cond, &k->lock);
        if (k->count == 0)
            break; /* stopping and drained */
        if (k->abandon) {
            /* Past the drain deadline: drop the rest, counted. */
            while (k->count) {
                struct rec *r = k->ring[k->head];
                k->head = (k->head + 1) % k->cap;
                k->count--;
                k->dropped++;
                abandoned++;
                rec_unref(r);
            }
            break;
        }
        struct rec *r = k->ring[k->head];
        k->head = (k->head + 1) % k->cap;
        k->count--;
        pthread_mutex_unlock(&k->lock);
        k->deliver(k->arg, &r->pub);
        rec_unref(r);
        pthread_mutex_lock(&k->lock);
        k->delivered++;
        pthread_cond_broadcast(&k->cond); /* a drain waiter may be watching */
    }
    pthread_mutex_unlock(&k->lock);
    if (abandoned)
        ul_warn("stream: sink %s: %llu records not delivered at shutdown (dropped)", k->name,
                (unsigned long long)abandoned);
    return NULL;
}

ul_err stream_start(stream *s, ul_errmsg *em)
{
    if (atomic_load(&s->started))
        return ul_errmsg_set(em, UL_ERR_INVALID, "stream: started already");
    for (size_t i = 0; i < s->nsinks; i++) {
        struct sink *k = s->sinks[i];
        if (pthread_create(&k->thread, NULL, sink_main, k) != 0) {
            ul_errmsg_set(em, UL_ERR_INTERNAL, "stream: cannot start the thread of sink %s",
                          k->name);
            stream_stop(s, 0);
            return UL_ERR_INTERNAL;
        }
        k->started = true;
    }
    atomic_store(&s->started, true);
    return UL_OK;
}

/* Queue r on every sink that wants its kind; consumes the caller's reference. */
static void dispatch(stream *s, struct rec *r)
{
    for (size_t i = 0; i < s->nsinks; i++) {
        struct sink *k = s->sinks[i];
        if (!(k->kinds & r->pub.kind))
            continue;
        bool complain = false, recovered = false;
        uint64_t lost = 0;
        pthread_mutex_lock(&k->lock);
        if (k->stopping || k->count == k->cap) {
            k->dropped++;
            k->dropped_since_complaint++;
            if (!k->complaining && !k->stopping) {
                k->complaining = true;
                complain = true;
            }
        } else {
            atomic_fetch_add(&r->refs, 1);
            k->ring[(k->head + k->count) % k->cap] = r;
            k->count++;
            pthread_cond_signal(&k->cond);
            if (k->complaining) {
                k->complaining = false;
                recovered = true;
                lost = k->dropped_since_complaint;
                k->dropped_since_complaint = 0;
            }
        }
        pthread_mutex_unlock(&k->lock);
        if (complain)
            ul_warn("stream: sink %s cannot keep up (queue of %zu full): dropping its records "
                    "until it does (counted in underlay_stream_dropped_total)",
                    k->name, k->cap);
        if (recovered)
            ul_info("stream: sink %s keeps up again; %llu records were dropped meanwhile",
                    k->name, (unsigned long long)lost);
    }
    rec_unref(r);
}

static bool wanted(stream *s, enum stream_kind kind)
{
    if (!s)
        return false;
    for (size_t i = 0; i < s->nsinks; i++)
        if (s->sinks[i]->kinds & kind)
            return true;
    return false;
}

static struct rec *rec_new(enum stream_kind kind, const char *node, int64_t t)
{
    struct rec *r = xcalloc(1, sizeof(*r));
    atomic_init(&r->refs, 1);
    r->node = xstrdup(node);
    r->pub.kind = kind;
    r->pub.node = r->node;
    r->pub.time = t;
    return r;
}

void stream_publish_sweep(stream *s, const char *node, int64_t t,
                          const struct ul_sensor_list *sensors, const struct ul_power_reading *pr)
{
    if (!wanted(s, STREAM_SWEEP))
        return;
    struct rec *r = rec_new(STREAM_SWEEP, node, t);
    if (sensors->count) {
        r->pub.u.sweep.sensors.items = xmalloc(sensors->count * sizeof(*sensors->items));
        memcpy(r->pub.u.sweep.sensors.items, sensors->items,
               sensors->count * sizeof(*sensors->items));
        r->pub.u.sweep.sensors.count = sensors->count;
    }
    if (pr) {
        r->pub.u.sweep.has_power_reading = 1;
        r->pub.u.sweep.pr = *pr;
    }
    dispatch(s, r);
}

void stream_publish_health(stream *s, const char *node, int64_t t, enum node_health from,
                           enum node_health to, const char *reason)
{
    if (!wanted(s, STREAM_HEALTH))
        return;
    struct rec *r = rec_new(STREAM_HEALTH, node, t);
    r->reason = xstrdup(reason ? reason : "");
    r->pub.u.health.from = from;
    r->pub.u.health.to = to;
    r->pub.u.health.reason = r->reason;
    dispatch(s, r);
}

void stream_publish_event(stream *s, const char *node, int64_t t, const char *source,
                          int new_entries)
{
    if (!wanted(s, STREAM_EVENT))
        return;
    struct rec *r = rec_new(STREAM_EVENT, node, t);
    r->reason = xstrdup(source ? source : "sel");
    r->pub.u.event.source = r->reason;
    r->pub.u.event.new_entries = new_entries;
    dispatch(s, r);
}

void stream_stop(stream *s, int drain_ms)
{
    if (!s || atomic_exchange(&s->stopped, true))
        return;
    for (size_t i = 0; i < s->nsinks; i++) {
        struct sink *k = s->sinks[i];
        pthread_mutex_lock(&k->lock);
        k->stopping = true;
        k->abandon = drain_ms <= 0; /* no drain: drop at once what is queued */
        pthread_cond_broadcast(&k->cond);
        pthread_mutex_unlock(&k->lock);
    }
    /* One deadline for all the sinks: they drain in parallel. */
    struct timespec dl;
    clock_gettime(CLOCK_MONOTONIC, &dl);
    int64_t ns = (int64_t)dl.tv_nsec + (int64_t)(drain_ms > 0 ? drain_ms : 0) * 1000000;
    dl.tv_sec += (time_t)(ns / 1000000000);
    dl.tv_nsec = (long)(ns % 1000000000);
    for (size_t i = 0; i < s->nsinks; i++) {
        struct sink *k = s->sinks[i];
        pthread_mutex_lock(&k->lock);
        while (k->count > 0 && k->started &&
               pthread_cond_timedwait(&k->cond, &k->lock, &dl) == 0)
            ;
        k->abandon = true;
        pthread_cond_broadcast(&k->cond);
        pthread_mutex_unlock(&k->lock);
    }
    for (size_t i = 0; i < s->nsinks; i++) {
        struct sink *k = s->sinks[i];
        if (k->started) {
            pthread_join(k->thread, NULL);
            k->started = false;
        }
        /* Never started (a failed start): drop what was queued. */
        pthread_mutex_lock(&k->lock);
        while (k->count) {
            rec_unref(k->ring[k->head]);
            k->head = (k->head + 1) % k->cap;
            k->count--;
            k->dropped++;
        }
        pthread_mutex_unlock(&k->lock);
    }
}

void stream_free(stream *s)
{
    if (!s)
        return;
    stream_stop(s, 5000);
    for (size_t i = 0; i < s->nsinks; i++) {
        struct sink *k = s->sinks[i];
        pthread_mutex_destroy(&k->lock);
        pthread_cond_destroy(&k->cond);
        free(k->ring);
        free(k);
    }
    free(s);
}

size_t stream_sink_count(stream *s)
{
    return s ? s->nsinks : 0;
}

bool stream_sink_stats(stream *s, size_t i, struct stream_sink_stats *out)
{
    if (!s || i >= s->nsinks)
        return false;
    struct sink *k = s->sinks[i];
    memset(out, 0, sizeof(*out));
    snprintf(out->name, sizeof(out->name), "%s", k->name);
    pthread_mutex_lock(&k->lock);
    out->delivered = k->delivered;
    out->dropped = k->dropped;
    out->depth = k->count;
    out->queue_len = k->cap;
    pthread_mutex_unlock(&k->lock);
    return true;
}

char *stream_metrics_text(stream *s)
{
    static const char *const fam[4][3] = {
        {"underlay_stream_dropped_total", "counter",
         "Telemetry stream records a sink's full queue refused."},
        {"underlay_stream_delivered_total", "counter",
         "Telemetry stream records a sink has processed."},
        {"underlay_stream_queue_depth", "gauge", "Records waiting in a sink's queue."},
        {"underlay_stream_queue_capacity", "gauge", "Length of a sink's queue."},
    };
    size_t n = stream_sink_count(s);
    if (n == 0)
        return xstrdup("");
    struct stream_sink_stats *st = xcalloc(n, sizeof(*st));
    for (size_t i = 0; i < n; i++)
        stream_sink_stats(s, i, &st[i]);
    size_t cap = 1024 + n * 4 * 96, len = 0;
    char *out = xmalloc(cap);
    out[0] = '\0';
    for (int f = 0; f < 4; f++) {
        len += (size_t)snprintf(out + len, cap - len, "# HELP %s %s\n# TYPE %s %s\n", fam[f][0],
                                fam[f][2], fam[f][0], fam[f][1]);
        for (size_t i = 0; i < n; i++) {
            unsigned long long v = f == 0   ? st[i].dropped
                                   : f == 1 ? st[i].delivered
                                   : f == 2 ? st[i].depth
                                            : st[i].queue_len;
            len += (size_t)snprintf(out + len, cap - len, "%s{sink=\"%s\"} %llu\n", fam[f][0],
                                    st[i].name, v);
        }
    }
    free(st);
    return out;
}

/* ---- the log sink ---- */

static void log_deliver(void *arg, const struct stream_rec *r)
{
    (void)arg;
    if (r->kind == STREAM_HEALTH) {
        /* A node's first good poll (every node at start-up) is not news. */
        enum ul_log_level lv = r->u.health.from == HEALTH_UNKNOWN && r->u.health.to == HEALTH_OK
                                   ? UL_LOG_DEBUG
                                   : UL_LOG_INFO;
        if (ul_log_enabled(lv))
            ul_log(lv, "node %s: health %s -> %s%s%s", r->node,
                   latest_health_name(r->u.health.from), latest_health_name(r->u.health.to),
                   r->u.health.reason[0] ? ": " : "", r->u.health.reason);
    }
    else if (r->kind == STREAM_EVENT)
        ul_debug("node %s: %d new %s entries stored", r->node, r->u.event.new_entries,
                 r->u.event.source);
}

ul_err stream_add_log_sink(stream *s, ul_errmsg *em)
{
    struct stream_sink_def d = {.name = "log",
                                .kinds = STREAM_HEALTH | STREAM_EVENT,
                                .queue_len = 4096,
                                .deliver = log_deliver,
                                .arg = NULL};
    return stream_add_sink(s, &d, em);
}
