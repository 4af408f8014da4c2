/* app.h - the application layer: what may be done to the fleet, with its
 * rules and its audit trail, whoever asks (an API handler today; policy,
 * rollouts and alert actions later).
 *
 * Every change here writes one audit record (actor, action, target, result,
 * detail) once the change reached the store or was refused by a rule, so a
 * caller cannot forget it; bad input (UL_ERR_INVALID) and unknown nodes are
 * not audited, as before.
 *
 * core/ does not know the BMC drivers: what needs them (is a driver name
 * known, may this node's driver run this job) comes in through the hooks the
 * daemon hands app_new.
 *
 * Threading: every function may be called from any thread; the handle holds
 * no mutable state of its own (the store and the job engine serialise).  They
 * block on the store's disk I/O only, never on a BMC.  Records returned
 * through out parameters are new allocations owned by the caller.
 */
#ifndef UL_APP_H
#define UL_APP_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stdint.h>

#include "jobs.h"
#include "node.h"
#include "store.h"
#include "ul_error.h"

typedef struct ul_app ul_app;

struct app_hooks {
    /* Check a node's BMC settings and name the driver to record: driver is
     * the requested name (NULL: pick by the endpoint's scheme); *driver_out
     * is a static string.  NULL: every setting is accepted and driver (or
     * "fake" when NULL) is recorded. */
    ul_err (*node_check)(void *arg, const char *driver, const char *endpoint,
                         json_object *options, const char **driver_out, ul_errmsg *em);
    /* Can node n's driver run a job of type with params at all?  UL_OK, or
     * UL_ERR_UNSUPPORTED with a message naming the node, the driver and the
     * missing capability.  NULL: every job is tried. */
    ul_err (*job_check)(void *arg, const struct ul_node *n, const char *type,
                        json_object *params, ul_errmsg *em);
    void *arg;
};

/* st and jobs (jobs may be NULL for callers that submit nothing) must outlive
 * the handle; hooks is copied (NULL: none). */
ul_app *app_new(ul_store *st, ul_jobs *jobs, const struct app_hooks *hooks);
void app_free(ul_app *app); /* NULL-safe */

/* ---- nodes ---- */

/* Enrol a node: n carries name, endpoint, driver (NULL: by scheme), and
 * optionally username, password, labels, options and state (NULL:
 * "enrolled"; any state is accepted here: an adopted machine may already be
 * deployed).  Validates every field, stores it (filling id, version,
 * timestamps, the recorded driver) and audits "node.create".
 * UL_ERR_CONFLICT when the name exists. */
ul_err app_node_create(ul_app *app, const char *actor, struct ul_node *n, ul_errmsg *em);

/* A partial update.  NULL / false members are left as they are. */
struct app_node_patch {
    const char *endpoint;  /* a new endpoint without a driver picks the driver by scheme */
    const char *driver;
    const char *username;  /* "" clears */
    const char *password;  /* with set_password; NULL or "" clears */
    bool set_password;
    const char *state;     /* through the lifecycle table (node.h) */
    json_object *labels;   /* merged key by key: a null value removes the key */
    json_object *options;  /* replaces the options object */
};

/* Apply patch to node `name` and audit "node.update".
 *
 * if_match > 0: only when the node's version is still if_match; otherwise
 * UL_ERR_CONFLICT with *stale set (HTTP 412) and nothing written.
 * if_match == 0: the read-merge-write is a compare-and-swap on the version,
 * retried when another update came between the read and the write, so two
 * concurrent patches of different labels both land.
 *
 * A state change the table forbids is UL_ERR_CONFLICT (HTTP 409, *stale
 * false) naming the allowed states.  On success *out (may be NULL) is the
 * stored node. */
ul_err app_node_update(ul_app *app, const char *actor, const char *name,
                       const struct app_node_patch *patch, int64_t if_match, struct ul_node **out,
                       bool *stale, ul_errmsg *em);

/* Move node `name` to lifecycle state `to` (app_node_update with only a
 * state); audited as "node.state". */
ul_err app_node_set_state(ul_app *app, const char *actor, const char *name, const char *to,
                          int64_t if_match, struct ul_node **out, bool *stale, ul_errmsg *em);

/* Delete node `name` and audit "node.delete".  UL_ERR_CONFLICT while it has
 * queued or running jobs. */
ul_err app_node_delete(ul_app *app, const char *actor, const char *name, ul_errmsg *em);

/* ---- jobs ---- */

struct app_job_req {
    const char *actor;
    const char *node;
    const char *type;
    json_object *params;      /* borrowed */
    int timeout_s;            /* <= 0: the engine's default */
    const char *audit_action; /* NULL: not audited (reads) */
    /* Submitted by a module on its own (a rollout wave, a policy, an alert
     * action) rather than by an operator's request: refused on a node in
     * maintenance or retired (node_state_automatable).  An operator's own
     * request runs in every state. */
    bool automated;
};

/* Does node exist, and may a job of type run on it (its driver's
 * capabilities; automated jobs: its lifecycle state)?  UL_ERR_NOT_FOUND,
 * UL_ERR_UNSUPPORTED or UL_ERR_CONFLICT naming the node otherwise. */
ul_err app_job_check(ul_app *app, const char *node, const char *type, json_object *params,
                     bool automated, ul_errmsg *em);

/* Check the node exists and its driver can do the job (501 otherwise, no
 * job queued), submit it with jobs_submit and audit it.  On success *job is
 * the new record (caller frees). */
ul_err app_job_submit(ul_app *app, const struct app_job_req *r, struct ul_job **job,
                      ul_errmsg *em);

/* ---- audit ---- */

/* Append an audit record: result "ok" or "error" (the code goes into
 * detail as "error"); failures are logged, never hidden.  detail may be
 * NULL and is not consumed. */
void app_audit(ul_app *app, const char *actor, const char *action, const char *target, ul_err rc,
               json_object *detail);

#endif
