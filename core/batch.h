/* batch.h - one operation over many nodes as a parent job (type "batch",
 * params {"type", "nodes": [...], "params": {...}, "timeout"}): a child job
 * per node, the parent's result their counts by state and the nodes that
 * failed with why.  Rollouts build on the same parent/child machinery. */
#ifndef UL_BATCH_H
#define UL_BATCH_H

#include "core/jobs.h"

/* Most nodes one batch may name. */
#define BATCH_MAX_NODES 20000

void batch_register(ul_jobs *jobs);

#endif
