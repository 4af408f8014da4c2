/* test_stream.c - unit tests for collectors/stream.h: the telemetry stream.
 *
 * Sinks run on the stream's threads, so their callbacks never call cmocka
 * assertions: they record what they saw under a mutex, and the main thread
 * checks it.  Every wait is on a condition with a generous bound, never a
 * fixed sleep; "publish does not block on a slow sink" is shown by
 * publishing while the slow sink is held inside its callback: a publish that
 * waited for it would never return. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "collectors/stream.h"
#include "ultime.h"
#include "unit_util.h"

#define WAIT_MS 20000

/* A recording sink; when gated, its callback blocks until released. */
struct rec_sink {
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int count;                 /* records delivered */
    int sweeps, healths, events;
    char last_node[64];
    double first_value;        /* first sensor value of the first sweep */
    size_t first_sensors;
    enum node_health last_to;
    char last_reason[128];
    int in_deliver;            /* 1 while blocked in the callback */
    int gated;                 /* 1: block in the callback until ungated */
    int order_ok;              /* records came in publishing order */
    int next_seq;
};

static void rs_init(struct rec_sink *r)
{
    memset(r, 0, sizeof(*r));
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->cond, NULL);
    r->order_ok = 1;
    r->first_value = -1;
}

static void rs_destroy(struct rec_sink *r)
{
    pthread_mutex_destroy(&r->lock);
    pthread_cond_destroy(&r->cond);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    int64_t ns = (int64_t)ts->tv_nsec + (int64_t)ms * 1000000;
    ts->tv_sec += (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
}

static void rs_deliver(void *arg, const struct stream_rec *rec)
{
    struct rec_sink *r = arg;
    pthread_mutex_lock(&r->lock);
    r->count++;
    snprintf(r->last_node, sizeof(r->last_node), "%s", rec->node);
    int seq = atoi(rec->node + strcspn(rec->node, "0123456789"));
    if (seq != r->next_seq)
        r->order_ok = 0;
    r->next_seq = seq + 1;
    switch (rec->kind) {
    case STREAM_SWEEP:
        if (r->sweeps++ == 0) {
            r->first_sensors = rec->u.sweep.sensors.count;
            r->first_value = rec->u.sweep.sensors.count ? rec->u.sweep.sensors.items[0].value : -1;
        }
        break;
    case STREAM_HEALTH:
        r->healths++;
        r->last_to = rec->u.health.to;
        snprintf(r->last_reason, sizeof(r->last_reason), "%s", rec->u.health.reason);
        break;
    case STREAM_EVENT:
        r->events++;
        break;
    }
    r->in_deliver = 1;
    pthread_cond_broadcast(&r->cond);
    while (r->gated)
        pthread_cond_wait(&r->cond, &r->lock);
    r->in_deliver = 0;
    pthread_mutex_unlock(&r->lock);
}

/* Wait until r has delivered at least n records (or is inside the callback
 * when n is 0). */
static int rs_wait(struct rec_sink *r, int n)
{
    struct timespec ts;
    deadline_in(&ts, WAIT_MS);
    pthread_mutex_lock(&r->lock);
    int rc = 0;
    while ((n ? r->count < n : !r->in_deliver) && rc == 0)
        rc = pthread_cond_timedwait(&r->cond, &r->lock, &ts);
    int ok = n ? r->count >= n : r->in_deliver;
    pthread_mutex_unlock(&r->lock);
    return ok;
}

static void rs_ungate(struct rec_sink *r)
{
    pthread_mutex_lock(&r->lock);
    r->gated = 0;
    pthread_cond_broadcast(&r->cond);
    pthread_mutex_unlock(&r->lock);
}

static void add(stream *s, const char *name, unsigned kinds, size_t qlen, struct rec_sink *r)
{
    struct stream_sink_def d = {
        .name = name, .kinds = kinds, .queue_len = qlen, .deliver = rs_deliver, .arg = r};
    ul_errmsg em;
    ul_err rc = stream_add_sink(s, &d, &em);
    if (rc != UL_OK)
        fail_msg("stream_add_sink %s: %s", name, em.text);
}

static struct stream_sink_stats stats_of(stream *s, const char *name)
{
    struct stream_sink_stats st;
    for (size_t i = 0; stream_sink_stats(s, i, &st); i++)
        if (strcmp(st.name, name) == 0)
            return st;
    fail_msg("no sink %s", name);
    return st;
}

/* The stream counts a delivery once the callback has returned: wait for it. */
static struct stream_sink_stats wait_delivered(stream *s, const char *name, uint64_t n)
{
    int64_t until = ul_mono_ms() + WAIT_MS;
    struct stream_sink_stats st = stats_of(s, name);
    while (st.delivered < n && ul_mono_ms() < until)
        st = stats_of(s, name);
    return st;
}

static void publish_sweep(stream *s, int i, double v)
{
    struct ul_sensor_list l = {0};
    for (int k = 0; k < 3; k++) {
        struct ul_sensor *x = bmc_sensor_list_add(&l);
        snprintf(x->name, sizeof(x->name), "Temp %d", k);
        x->kind = UL_SENSOR_TEMPERATURE;
        x->has_value = true;
        x->value = v + k;
    }
    char node[32];
    snprintf(node, sizeof(node), "node%d", i);
    stream_publish_sweep(s, node, ul_wall_s(), &l, NULL);
    /* The stream copied it: changing or freeing ours must not show. */
    l.items[0].value = -999;
    bmc_sensor_list_free(&l);
}

/* A slow sink never slows publishing; its drops are counted; the fast sink
 * beside it still gets every record, in order. */
static void test_slow_sink_does_not_block(void **state)
{
    (void)state;
    struct rec_sink slow, fast;
    rs_init(&slow);
    rs_init(&fast);
    slow.gated = 1;
    stream *s = stream_new();
    add(s, "slow", STREAM_SWEEP, 4, &slow);
    add(s, "fast", STREAM_ALL, 1000, &fast);
    ul_errmsg em;
    assert_int_equal(stream_start(s, &em), UL_OK);

    publish_sweep(s, 0, 20.0);
    assert_true(rs_wait(&slow, 0)); /* held in its callback with record 0 */
    for (int i = 1; i < 100; i++)
        publish_sweep(s, i, 20.0 + i); /* returns although "slow" is stuck */

    struct stream_sink_stats st = stats_of(s, "slow");
    assert_int_equal(st.depth, 4);
    assert_int_equal(st.dropped, 95);
    assert_int_equal(st.queue_len, 4);

    assert_true(rs_wait(&fast, 100));
    st = wait_delivered(s, "fast", 100);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(st.delivered, 100);
    assert_true(fast.order_ok);
    assert_int_equal(fast.first_sensors, 3);
    assert_true(fast.first_value == 20.0); /* a copy: -999 was written after */

    char *m = stream_metrics_text(s);
    assert_contains(m, "underlay_stream_dropped_total{sink=\"slow\"} 95\n");
    assert_contains(m, "underlay_stream_dropped_total{sink=\"fast\"} 0\n");
    assert_contains(m, "underlay_stream_queue_depth{sink=\"slow\"} 4\n");
    assert_contains(m, "# TYPE underlay_stream_dropped_total counter\n");
    free(m);

    /* It keeps up again: the queued four are delivered, new records too. */
    rs_ungate(&slow);
    assert_true(rs_wait(&slow, 5));
    publish_sweep(s, 5, 1.0); /* seq continues after the 5 it got */
    assert_true(rs_wait(&slow, 6));
    assert_true(slow.order_ok);
    stream_stop(s, 5000);
    st = stats_of(s, "slow");
    assert_int_equal(st.delivered, 6);
    assert_int_equal(st.dropped, 95);
    stream_free(s);
    rs_destroy(&slow);
    rs_destroy(&fast);
}

/* Sinks get only the kinds they asked for; health and event records carry
 * their fields. */
static void test_kinds(void **state)
{
    (void)state;
    struct rec_sink h, all;
    rs_init(&h);
    rs_init(&all);
    stream *s = stream_new();
    add(s, "health_only", STREAM_HEALTH, 16, &h);
    add(s, "everything", STREAM_ALL, 16, &all);
    ul_errmsg em;
    assert_int_equal(stream_start(s, &em), UL_OK);
    publish_sweep(s, 0, 1.0);
    stream_publish_health(s, "node1", ul_wall_s(), HEALTH_OK, HEALTH_DEGRADED,
                          "sensor 'CPU Temp' is critical");
    stream_publish_event(s, "node2", ul_wall_s(), "sel", 3);
    assert_true(rs_wait(&all, 3));
    assert_true(rs_wait(&h, 1));
    stream_stop(s, 5000);
    assert_int_equal(h.count, 1);
    assert_int_equal(h.sweeps + h.events, 0);
    assert_int_equal(h.last_to, HEALTH_DEGRADED);
    assert_string_equal(h.last_reason, "sensor 'CPU Temp' is critical");
    assert_int_equal(all.sweeps, 1);
    assert_int_equal(all.healths, 1);
    assert_int_equal(all.events, 1);
    assert_true(all.order_ok);
    stream_free(s);
    rs_destroy(&h);
    rs_destroy(&all);
}

static void *stop_now(void *arg)
{
    stream_stop(arg, 0);
    return NULL;
}

/* Shutdown drains what a sink can take within the bound and drops the rest,
 * counted; records published after the stop are dropped and counted too.
 * Nothing leaks (ASan). */
static void test_shutdown_drains_or_counts(void **state)
{
    (void)state;
    struct rec_sink slow, fast, probe;
    rs_init(&slow);
    rs_init(&fast);
    rs_init(&probe);
    slow.gated = 1;
    stream *s = stream_new();
    add(s, "slow", STREAM_SWEEP, 8, &slow);
    add(s, "fast", STREAM_SWEEP, 8, &fast);
    add(s, "probe", STREAM_HEALTH, 1000, &probe);
    ul_errmsg em;
    assert_int_equal(stream_start(s, &em), UL_OK);
    publish_sweep(s, 0, 1.0);
    assert_true(rs_wait(&slow, 0));
    for (int i = 1; i < 5; i++)
        publish_sweep(s, i, 1.0);
    assert_true(rs_wait(&fast, 5));
    /* Stop with no drain time, from another thread (it waits for the
     * callback "slow" is in).  Once the stop has begun (a probe record is
     * refused), release "slow": the record in its callback completes, the 4
     * queued behind it are dropped. */
    pthread_t stopper;
    assert_int_equal(pthread_create(&stopper, NULL, stop_now, s), 0);
    /* One probe record in flight at a time, so its queue is never full: a
     * drop can only mean the stop has begun (and, with no drain time, has
     * marked "slow" too: sinks are stopped in the order they were added). */
    int64_t until = ul_mono_ms() + WAIT_MS;
    uint64_t seen = 0;
    struct stream_sink_stats ps = {.dropped = 0};
    while (ps.dropped == 0 && ul_mono_ms() < until) {
        stream_publish_health(s, "probe0", 0, HEALTH_OK, HEALTH_OK, "");
        do
            ps = stats_of(s, "probe");
        while (ps.delivered + ps.dropped <= seen && ul_mono_ms() < until);
        seen = ps.delivered + ps.dropped;
    }
    assert_true(ps.dropped > 0);
    rs_ungate(&slow);
    pthread_join(stopper, NULL);
    struct stream_sink_stats st = stats_of(s, "slow");
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.dropped, 4);
    assert_int_equal(st.depth, 0);
    st = stats_of(s, "fast");
    assert_int_equal(st.delivered, 5);
    assert_int_equal(st.dropped, 0);
    publish_sweep(s, 5, 1.0);
    assert_int_equal(stats_of(s, "fast").dropped, 1);
    stream_free(s);
    rs_destroy(&slow);
    rs_destroy(&fast);
    rs_destroy(&probe);

    /* With time to drain, everything queued is delivered. */
    struct rec_sink r;
    rs_init(&r);
    r.gated = 1;
    s = stream_new();
    add(s, "drained", STREAM_SWEEP, 64, &r);
    assert_int_equal(stream_start(s, &em), UL_OK);
    for (int i = 0; i < 50; i++)
        publish_sweep(s, i, 1.0);
    rs_ungate(&r);
    stream_stop(s, WAIT_MS);
    st = stats_of(s, "drained");
    assert_int_equal(st.delivered, 50);
    assert_int_equal(st.dropped, 0);
    assert_true(r.order_ok);
    stream_free(s);
    rs_destroy(&r);
}

/* Bad sink definitions are refused naming the field; the stream is left as
 * it was. */
static void test_bad_sinks(void **state)
{
    (void)state;
    struct rec_sink r;
    rs_init(&r);
    stream *s = stream_new();
    ul_errmsg em;
    struct stream_sink_def ok = {
        .name = "ok", .kinds = STREAM_SWEEP, .queue_len = 4, .deliver = rs_deliver, .arg = &r};
    struct stream_sink_def d = ok;
    d.name = "Bad Name";
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "sink name");
    d = ok;
    d.name = NULL;
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    d = ok;
    d.kinds = 0;
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "kinds");
    d.kinds = 1u << 7;
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    d = ok;
    d.queue_len = 0;
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "queue_len");
    d = ok;
    d.deliver = NULL;
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "deliver");
    assert_int_equal(stream_sink_count(s), 0);
    assert_int_equal(stream_add_sink(s, &ok, &em), UL_OK);
    assert_int_equal(stream_add_sink(s, &ok, &em), UL_ERR_INVALID);
    assert_contains(em.text, "taken");
    assert_int_equal(stream_start(s, &em), UL_OK);
    d = ok;
    d.name = "late";
    assert_int_equal(stream_add_sink(s, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "before the stream starts");
    assert_int_equal(stream_sink_count(s), 1);
    stream_free(s);
    rs_destroy(&r);

    /* No stream, or no sink for a kind: publishing is a no-op. */
    stream_publish_health(NULL, "n", 0, HEALTH_OK, HEALTH_DEGRADED, "x");
    char *m = stream_metrics_text(NULL);
    assert_string_equal(m, "");
    free(m);
    stream_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_slow_sink_does_not_block),
        cmocka_unit_test(test_kinds),
        cmocka_unit_test(test_shutdown_drains_or_counts),
        cmocka_unit_test(test_bad_sinks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
