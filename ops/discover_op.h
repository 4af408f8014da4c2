/* discover_op.h - enrol every machine behind one BMC address in one step
 * (a blade enclosure's systems, a multi-node chassis): the "node.discover"
 * job.
 *
 * The job opens a session on the service through the driver's discover
 * slot (bmc/driver.h, version 4), lists its systems, and creates one node
 * per system through the application layer (app_node_create: validated and
 * audited like any enrolment), each with the service's endpoint plus the
 * system's path.  Its result lists the nodes created and those skipped,
 * with why (already enrolled: a node of the driver has that endpoint; a
 * name already taken; a system that could not be read).
 *
 * The password never reaches the store in the job's parameters: the
 * submitter hands it to an in-memory hold (bounded, BMC_DISCOVER_HELD_MAX)
 * and the parameters carry only a reference to it.  The job takes it when
 * it starts; a job canceled while queued drops it.  So a discovery does not
 * survive a restart (the type is not resumable: the engine fails it with
 * "interrupted by restart", and the operator submits it again).
 *
 * Threading: bmc_discover_submit may be called from any thread (an HTTP
 * handler) and never blocks on a BMC; the hold has its own leaf lock.
 */
#ifndef UL_BMC_DISCOVER_OP_H
#define UL_BMC_DISCOVER_OP_H

#include <json-c/json.h>
#include <stddef.h>

#include "core/app.h"
#include "core/jobs.h"
#include "ul_error.h"

#define BMC_DISCOVER_JOB "node.discover"
#define BMC_DISCOVER_HELD_MAX 64 /* discoveries waiting with a password */
#define BMC_DISCOVER_TEMPLATE "{prefix}-{id}"
#define BMC_DISCOVER_TEMPLATE_MAX 128

/* Register the job type.  It reads the engine's user pointer as the
 * struct bmc_ops_config of bmc/ops.h (its call_timeout_ms). */
void bmc_discover_register(ul_jobs *jobs);

/* A discovery request; what a node takes (endpoint, driver, username,
 * password, labels, options, state) is given to every node created. */
struct bmc_discover_req {
    const char *actor;
    const char *prefix;        /* {prefix} of the names: a valid node name */
    const char *name_template; /* NULL: BMC_DISCOVER_TEMPLATE */
    const char *endpoint;      /* the service's address, without a path */
    const char *driver;        /* NULL: by the endpoint's scheme */
    const char *username;
    const char *password;      /* held in memory only (see above) */
    json_object *labels;       /* borrowed, may be NULL */
    json_object *options;      /* borrowed, may be NULL */
    const char *state;         /* NULL: enrolled */
    int timeout_s;             /* <= 0: the engine's default */
};

/* Check the request (UL_ERR_INVALID naming the field; UL_ERR_UNSUPPORTED
 * when the endpoint's driver cannot discover), submit the job and audit
 * "node.discover".  On success *job is the new record (caller frees). */
ul_err bmc_discover_submit(ul_app *app, ul_jobs *jobs, const struct bmc_discover_req *r,
                           struct ul_job **job, ul_errmsg *em);

/* Check a name template: only {prefix}, {id} and {index} (1-based, in the
 * service's order), and {id} or {index} at least once, so names differ. */
ul_err bmc_discover_template_check(const char *tmpl, ul_errmsg *em);

/* The name of the index-th system (1-based) with Id id: the template filled
 * in, each character a node name may not hold (node_name_valid) replaced by
 * '-'.  UL_ERR_INVALID when the result is not a valid node name (too long,
 * say). */
ul_err bmc_discover_name(const char *tmpl, const char *prefix, const char *id, int index,
                         char *out, size_t outlen, ul_errmsg *em);

#endif
