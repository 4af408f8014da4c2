/* fanout.h - the outcome of a command run against many targets (the nodes
 * of a hostlist, a list of job ids).
 *
 * Each target gets one result: for -o json, an object {"node": name} or
 * {"id": n} plus "ok" and either a payload (e.g. "job") or "error":
 * {"code","message"}.  Failures are reported on stderr as they happen, as
 * "underlay: TARGET: OPERATION: message", and the counts decide the exit code.
 */
#ifndef UL_CLI_FANOUT_H
#define UL_CLI_FANOUT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "client.h"
#include "output.h"

struct fo {
    const char *op;     /* operation named in messages, "node add"; borrowed */
    json_object *items; /* owned: the per-target results, in order */
    size_t ok, failed;
    /* Set by commands whose table has an ERROR column: each failure is
     * shown there, once, instead of also as a line on stderr; fo_finish
     * then names the failed targets in its count line. */
    bool quiet;
};

/* msg without a leading "node NODE: ", which job and API messages carry
 * and our "underlay: NODE: OP: " prefix already says; borrowed from msg. */
const char *fo_strip_node(const char *node, const char *msg);

void fo_init(struct fo *f, const char *op);
void fo_free(struct fo *f);

/* The JSON value naming a target: a node name or a job id. */
json_object *fo_node(const char *name);
json_object *fo_job(long long id);

/* Record a success.  target and payload are new references taken over by f;
 * payload may be NULL (nothing beyond "ok"), else it is stored under pkey. */
void fo_ok(struct fo *f, json_object *target, const char *pkey, json_object *payload);

/* Record a failure (target taken over by f).  When loud, also print it. */
void fo_fail(struct fo *f, json_object *target, const char *code, const char *message, bool loud);

/* fo_fail() with the error of a failed request. */
void fo_fail_reply(struct fo *f, json_object *target, const struct cl_reply *reply);

/* After a connection error the remaining targets are not tried: one server
 * that is down would otherwise print the same error for each of them.
 * Records each as failed with code "not_attempted" without printing it;
 * call once per target, then fo_stopped() once. */
void fo_skip(struct fo *f, json_object *target);
void fo_stopped(const char *op, size_t skipped);

/* Print the JSON results when format is OUT_JSON, a count of failures when
 * there were several targets (always when quiet, with the failed targets'
 * names), and return the exit code: 0 all succeeded,
 * 3 some failed, 1 all failed. */
int fo_finish(struct fo *f, enum out_format format);

#endif
