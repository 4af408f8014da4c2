/* api.h - the REST API server (libmicrohttpd).
 *
 * Handlers run on libmicrohttpd's threads and never wait on a BMC: they read
 * the store or submit a job and answer 202 with its id.
 */
#ifndef UL_API_H
#define UL_API_H

#include "ops/ops.h"
#include "collectors/latest.h"
#include "collectors/rrd.h"
#include "collectors/scheduler.h"
#include "core/jobs.h"
#include "core/store.h"
#include "ul_config.h"
#include "ul_error.h"

typedef struct api_server api_server;

/* What the API serves from; everything must outlive the server.  latest,
 * sched and sessions may be NULL (polling disabled). */
struct api_deps {
    const struct ul_config *cfg;
    ul_store *st;
    ul_jobs *jobs;
    latest *latest;
    sched *sched;
    bmc_sessions *sessions;
    rrdw *history; /* NULL when [rrd] enabled = 0 */
};

/* Start listening on cfg's address.  Fails with a message naming the
 * address when it cannot bind. */
ul_err api_start(const struct api_deps *deps, api_server **out, ul_errmsg *em);
/* Stop accepting, finish in-flight requests, free.  NULL-safe. */
void api_stop(api_server *srv);

#endif
