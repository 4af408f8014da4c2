/* history.h - writes each sensor sweep into RRD history (collectors/rrd.h):
 * the telemetry stream's "rrd_history" sink (collectors/stream.h). */
#ifndef UL_HISTORY_H
#define UL_HISTORY_H

#include "collectors/rrd.h"
#include "collectors/stream.h"

#include "ops/ops.h"

/* Queue length of the history sink: at 10,000 nodes every 60 s (167 sweeps
 * a second) 2,048 sweeps are 12 s of backlog, and at ~16 KB a 40-sensor
 * sweep at most 32 MB held when the disk stalls; beyond that sweeps are
 * dropped for history only (latest readings and other sinks still get
 * them), counted in underlay_stream_dropped_total{sink="rrd_history"}. */
#define HISTORY_QUEUE_LEN 2048

/* Register the sink on s (before stream_start): every sensor of a sweep
 * with a value is written to w under its kind ("temperature", "fan", ...),
 * one batch per sweep, on the sink's thread.  w must outlive the stream's
 * stop.  Write failures are logged (the first of a run at warning level,
 * recovery at info), never fatal to polling. */
ul_err history_add_sink(stream *s, rrdw *w, ul_errmsg *em);

/* The sink's callback (a stream_deliver_fn; arg is the rrdw handle). */
void history_deliver(void *arg, const struct stream_rec *r);

#endif
