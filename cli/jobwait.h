/* jobwait.h - following jobs until they finish, and reading job objects.
 *
 * Used by `job wait`, `power --wait` and the commands that run a job on a
 * node (nodejob.h).  Jobs are polled one GET at a time over the client's
 * kept-alive connection; the API has no way to watch many jobs in one
 * request.
 */
#ifndef UL_CLI_JOBWAIT_H
#define UL_CLI_JOBWAIT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "client.h"

struct jw_item {
    long long id;
    json_object *job; /* owned: the latest snapshot; NULL until first read */
    char *error_code; /* owned: set when the job could not be read (e.g. 404) */
    char *error;      /* owned: the matching message */
};

/* Free what each of the n items owns (not the array). */
void jw_items_clear(struct jw_item *items, size_t n);

/* True once job is succeeded, failed or canceled. */
bool jw_finished(json_object *job);

/* True when the item needs no more polling: finished or unreadable. */
bool jw_item_done(const struct jw_item *it);

/* True when the item's job succeeded. */
bool jw_item_ok(const struct jw_item *it);

enum jw_outcome {
    JW_DONE,      /* every item is done */
    JW_TIMED_OUT, /* timeout_s passed first */
    JW_LOST,      /* a request got no reply; printed with a resume hint */
};

/* Why the item did not succeed, as an API-style code and a message, both
 * borrowed from the item or buf, valid while they are; outcome and waited_s
 * are jw_wait's.  Returns true when jw_wait has already reported it (lost
 * connection), false when the caller should.  Only for items where
 * jw_item_ok() is false. */
bool jw_item_failure(const struct jw_item *it, enum jw_outcome outcome, double waited_s,
                     const char **code, const char **message, char *buf, size_t buflen);

/* Poll the n items until all are done, timeout_s (0: none) passes, or the
 * server stops answering.  Shows a progress line on stderr when it is a
 * terminal.  Blocks. */
enum jw_outcome jw_wait(struct cl_client *c, struct jw_item *items, size_t n, double timeout_s);

#endif
