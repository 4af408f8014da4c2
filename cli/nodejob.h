/* nodejob.h - starting jobs on nodes and following one to its end: what
 * power, boot, sensors, sel and inventory share.
 *
 * A node operation is POST /api/v1/nodes/{name}/{op}, answered 202 with
 * {"job": {...}}; the job is then polled with jobwait.h.  Blocking,
 * single-threaded, like the client underneath.
 */
#ifndef UL_CLI_NODEJOB_H
#define UL_CLI_NODEJOB_H

#include <json-c/json.h>
#include <stdbool.h>

#include "client.h"
#include "fanout.h"
#include "hostlist.h"
#include "jobwait.h"

/* POST body (NULL: an empty body) to /api/v1/nodes/{host}/{op}, where op is
 * a path below the node ("power", "sel/clear").  On success it->id and
 * it->job are set; otherwise it->error_code and it->error, and the failure
 * is printed as "HOST: OPNAME: message".  Returns false when the server
 * could not be reached. */
bool nj_start(struct cl_client *c, const char *host, const char *op, json_object *body,
              const char *opname, struct jw_item *it);

/* nj_start for every host of hl into items (hl->count of them, zeroed);
 * quiet: a failure is not printed (the caller's table shows it).
 * After a connection error the remaining items are marked not_attempted,
 * without a line each, and one line says how many were skipped. */
void nj_start_all(struct cl_client *c, const hostlist *hl, const char *op, json_object *body,
                  const char *opname, struct jw_item *items, bool quiet);

/* Start op on one host and wait for the job, without a time limit of our
 * own: the job's deadline (the server's jobs.timeout, or "timeout" in body)
 * bounds it.  Returns the finished job (new reference) when it succeeded;
 * otherwise NULL, after printing why as "HOST: OPNAME: message" (a BMC that
 * lacks the feature reads "... not supported by this BMC"). */
json_object *nj_run(struct cl_client *c, const char *host, const char *op, json_object *body,
                    const char *opname);

/* Wait for a started job (it, from nj_start or an upload) and report a
 * failure as nj_run does.  Returns the finished job (new reference) whether
 * it succeeded or not (a failed job may carry a result worth showing), or
 * NULL when it never finished; *ok says whether it succeeded. */
json_object *nj_follow(struct cl_client *c, const char *host, const char *opname,
                       struct jw_item *it, bool *ok);

/* Record the outcome of it, host's job after jw_wait, in f: a success with
 * the job as payload "job", or a failure, printed unless jw_wait already
 * reported it.  Returns NULL on success, else the failure message, borrowed
 * from it or buf. */
const char *nj_record(struct fo *f, const char *host, const struct jw_item *it,
                      enum jw_outcome outcome, double waited_s, char *buf, size_t buflen);

/* A request body {} or {"timeout": timeout_s} (0: no timeout); new object. */
json_object *nj_body(long long timeout_s);

#endif
