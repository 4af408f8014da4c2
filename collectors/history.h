/* history.h - writes each sensor sweep into RRD history (collectors/rrd.h).
 * The glue between the poll scheduler's sweep hook and the RRD writer. */
#ifndef UL_HISTORY_H
#define UL_HISTORY_H

#include <stdint.h>

#include "ops/ops.h"

/* A sched_sweep_hook: arg is the rrdw handle.  Every sensor with a value is
 * written under its kind ("temperature", "fan", ...); one batch per sweep.
 * Failures are logged (the first of a run of failures at warning level,
 * recovery at info), never fatal to polling.  Thread-safe. */
void history_record_sweep(void *arg, const char *node, const struct ul_sensor_list *s,
                          int64_t t);

#endif
