/* stream.h - the telemetry stream: what the poll scheduler learns, dispatched
 * to every module that wants it.
 *
 * Three kinds of record are published:
 *   STREAM_SWEEP   a node's sensor readings (and DCMI power reading) from one
 *                  successful sensor poll;
 *   STREAM_HEALTH  a node's health changed (ok -> degraded, with the reason);
 *   STREAM_EVENT   new event-log entries (IPMI SEL, Redfish log) were stored
 *                  for a node.
 * A sink is a name, the kinds it wants, a queue length and a callback.  Each
 * sink has its own bounded queue and its own thread: publishing never waits
 * for a sink, so a slow sink (a full disk under RRD, an alert rule posting to
 * a web hook) never slows a poll.  When a sink's queue is full the record is
 * dropped for that sink only, counted (underlay_stream_dropped_total{sink}),
 * and logged once; once more when the sink keeps up again (collectd's
 * utils_complain).  The other sinks still get it.
 *
 * Adding a sink (alert rules, rollout gates, ...):
 *
 *     static void my_deliver(void *arg, const struct stream_rec *r) { ... }
 *     struct stream_sink_def d = {.name = "alerts", .kinds = STREAM_HEALTH |
 *                                 STREAM_EVENT, .queue_len = 1024,
 *                                 .deliver = my_deliver, .arg = me};
 *     stream_add_sink(st, &d, &em);    // before stream_start()
 *
 * Ownership: the record passed to deliver() is borrowed, valid only during
 * the call and shared with the other sinks (do not modify it); copy what you
 * keep.  deliver() runs on the sink's own thread, one record at a time, in
 * publishing order; it may block (that only fills its own queue).
 *
 * Threading: stream_publish_* may be called from any thread at any time
 * (after stream_stop they drop and count).  Locks: each sink's queue lock is
 * a leaf, taken alone; deliver() is called with no stream lock held.
 */
#ifndef UL_COLLECTORS_STREAM_H
#define UL_COLLECTORS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"
#include "collectors/latest.h"
#include "ul_error.h"

enum stream_kind {
    STREAM_SWEEP = 1u << 0,
    STREAM_HEALTH = 1u << 1,
    STREAM_EVENT = 1u << 2,
};
#define STREAM_ALL (STREAM_SWEEP | STREAM_HEALTH | STREAM_EVENT)

/* One published record (immutable once published). */
struct stream_rec {
    enum stream_kind kind;
    const char *node;
    int64_t time; /* wall clock, epoch seconds */
    union {
        struct {
            struct ul_sensor_list sensors;
            int has_power_reading;
            struct ul_power_reading pr;
        } sweep;
        struct {
            enum node_health from, to;
            const char *reason; /* "" when there is nothing to add */
        } health;
        struct {
            const char *source; /* "sel" (IPMI SEL or Redfish log) */
            int new_entries;    /* stored by this collection */
        } event;
    } u;
};

typedef void (*stream_deliver_fn)(void *arg, const struct stream_rec *r);

struct stream_sink_def {
    const char *name;    /* [a-z0-9_]+, at most 31 bytes, unique; copied */
    unsigned kinds;      /* STREAM_* bits it wants, at least one */
    size_t queue_len;    /* 1..1,000,000 records */
    stream_deliver_fn deliver;
    void *arg;
};

typedef struct stream stream;

stream *stream_new(void);

/* Register a sink.  Only before stream_start (the sink table is then fixed,
 * so publishing reads it without a lock).  UL_ERR_INVALID naming the field
 * for a bad name, kinds, queue_len or a missing callback; the stream is left
 * as it was. */
ul_err stream_add_sink(stream *s, const struct stream_sink_def *d, ul_errmsg *em);

/* The "log" sink: each health change at info level ("node X: health ok ->
 * degraded: sensor 'CPU1 Temp' is critical"; a node's first good poll,
 * unknown -> ok, at debug), new event-log entries at debug level.  A bounded queue like any other sink: a log that stalls
 * (syslog) drops lines, never a poll. */
ul_err stream_add_log_sink(stream *s, ul_errmsg *em);

/* Start one thread per sink. */
ul_err stream_start(stream *s, ul_errmsg *em);

/* Publishing: never blocks on a sink.  The stream copies what it needs
 * (sensors are copied once, shared by every sink that wants sweeps); nothing
 * is copied when no sink wants the kind.  NULL s is allowed (no stream). */
void stream_publish_sweep(stream *s, const char *node, int64_t t,
                          const struct ul_sensor_list *sensors, const struct ul_power_reading *pr);
void stream_publish_health(stream *s, const char *node, int64_t t, enum node_health from,
                           enum node_health to, const char *reason);
void stream_publish_event(stream *s, const char *node, int64_t t, const char *source,
                          int new_entries);

/* Stop: refuse new records, let each sink deliver what it has queued for at
 * most drain_ms in all, then drop the rest (counted as dropped and logged
 * with the count), and join the threads.  A deliver() call in progress is
 * waited for.  Idempotent; NULL-safe. */
void stream_stop(stream *s, int drain_ms);
/* Stop (with a 5 s drain) if still running, and free.  NULL-safe. */
void stream_free(stream *s);

struct stream_sink_stats {
    char name[32];
    uint64_t delivered, dropped;
    size_t depth, queue_len;
};
/* Counts of sink i (0 .. stream_sink_count-1); false past the end. */
size_t stream_sink_count(stream *s);
bool stream_sink_stats(stream *s, size_t i, struct stream_sink_stats *out);

/* The stream's Prometheus lines (allocated string, caller frees):
 * underlay_stream_dropped_total, underlay_stream_delivered_total,
 * underlay_stream_queue_depth and underlay_stream_queue_capacity, each with a
 * sink label.  "" for a NULL stream. */
char *stream_metrics_text(stream *s);

#endif
