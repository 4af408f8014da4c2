/* store.h - the SQLite state store: nodes, jobs, audit log, API tokens.
 *
 * One handle per daemon.  Every function is thread-safe: the handle owns one
 * connection serialised by an internal mutex (the store is not on any hot
 * path; BMC calls dominate).  Functions block on disk I/O only.  Returned
 * records and arrays are new allocations owned by the caller and released with
 * the matching _free function.  The database runs in WAL mode with
 * synchronous=NORMAL; the schema is versioned with PRAGMA user_version and
 * migrated forward on open.
 */
#ifndef UL_STORE_H
#define UL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "job.h"
#include "node.h"
#include "secret.h"
#include "ul_error.h"

typedef struct ul_store ul_store;

#define STORE_SCHEMA_VERSION 5

/* Open (creating and migrating as needed) the database at path.  key seals
 * BMC passwords; the store keeps a copy.  A database newer than this build is
 * refused. */
ul_err store_open(const char *path, const unsigned char key[SECRET_KEY_LEN], ul_store **out,
                  ul_errmsg *em);
void store_close(ul_store *st);
int store_schema_version(ul_store *st);

/* ---- nodes ---- */

/* Insert n (name, endpoint, driver, ... ; password sealed if set).  Sets
 * n->id and timestamps.  UL_ERR_CONFLICT when the name exists. */
ul_err store_node_insert(ul_store *st, struct ul_node *n, ul_errmsg *em);

/* Fetch one node by name into a new record; with_secret also decrypts the
 * password into ->password. */
ul_err store_node_get(ul_store *st, const char *name, bool with_secret, struct ul_node **out,
                      ul_errmsg *em);

/* Replace every field of the node with id n->id; the password is replaced
 * only when set_password (NULL password clears it).  Updates updated_at,
 * bumps the version and sets n->version to the new one.  maintenance_from is
 * stored only while the state is maintenance.  Last writer wins: callers that
 * read, change and write use store_node_update_if. */
ul_err store_node_update(ul_store *st, struct ul_node *n, bool set_password, ul_errmsg *em);

/* The same as a compare-and-swap: only when the stored version is still
 * expected_version.  UL_ERR_CONFLICT (and nothing written) when another
 * update came first; UL_ERR_NOT_FOUND when the node is gone.  On success
 * n->version is the new version (expected_version + 1). */
ul_err store_node_update_if(ul_store *st, struct ul_node *n, bool set_password,
                            int64_t expected_version, ul_errmsg *em);

/* Delete by name.  UL_ERR_CONFLICT while it has queued or running jobs. */
ul_err store_node_delete(ul_store *st, const char *name, ul_errmsg *em);

/* A counter bumped by every successful node insert, update and delete of
 * this handle: a reader (the poll scheduler) that sees it change re-reads
 * the node list.  Lock-free; callable from any thread, never blocks. */
uint64_t store_node_changes(ul_store *st);

struct ul_node_filter {
    const char *name_glob;      /* shell glob on the name, or NULL */
    const char *state;          /* or NULL */
    const char *driver;         /* or NULL */
    const char *const *label_keys; /* nlabels key=value pairs, all must match */
    const char *const *label_values;
    size_t nlabels;
    int limit;                  /* > 0 */
    int offset;                 /* >= 0 */
};

struct ul_node_list {
    struct ul_node **items;
    size_t count;
    int64_t total; /* matching nodes ignoring limit/offset */
};

ul_err store_node_list(ul_store *st, const struct ul_node_filter *f, struct ul_node_list *out,
                       ul_errmsg *em);
void store_node_list_free(struct ul_node_list *l);

/* ---- jobs ---- */

/* Insert a queued job; sets j->id and timestamps. */
ul_err store_job_insert(ul_store *st, struct ul_job *j, ul_errmsg *em);
ul_err store_job_get(ul_store *st, int64_t id, struct ul_job **out, ul_errmsg *em);

struct ul_job_filter {
    int state;         /* -1 for any */
    const char *node;  /* or NULL */
    const char *type;  /* or NULL */
    int64_t parent_id; /* 0 for any */
    int limit, offset;
};
struct ul_job_list {
    struct ul_job **items;
    size_t count;
    int64_t total;
};
/* Newest first. */
ul_err store_job_list(ul_store *st, const struct ul_job_filter *f, struct ul_job_list *out,
                      ul_errmsg *em);
/* Every queued or running job, oldest first (recovery at start-up). */
ul_err store_job_list_unfinished(ul_store *st, struct ul_job_list *out, ul_errmsg *em);
void store_job_list_free(struct ul_job_list *l);

/* queued -> running; bumps attempts and sets started_at. */
ul_err store_job_mark_running(ul_store *st, int64_t id, ul_errmsg *em);
/* Record progress (0-100) and a step message. */
ul_err store_job_progress(ul_store *st, int64_t id, int progress, const char *message,
                          ul_errmsg *em);
/* Record where a running job is on the BMC (JSON text; NULL clears it). */
ul_err store_job_checkpoint(ul_store *st, int64_t id, const char *checkpoint, ul_errmsg *em);
/* Put a job back in the queue (resumed after a restart or a shutdown). */
ul_err store_job_requeue(ul_store *st, int64_t id, const char *message, ul_errmsg *em);
/* Final state with result JSON (may be NULL) or error code and detail. */
ul_err store_job_finish(ul_store *st, int64_t id, enum ul_job_state state, const char *result,
                        const char *error_code, const char *error, ul_errmsg *em);
/* ---- claims: the step executor (core/jobs.c) ----
 * A claim names the instance that runs a job and the fence it got; every
 * write made under a claim (the *_as functions with c != NULL) changes the
 * row only while it still carries both, and fails with UL_ERR_CONFLICT
 * otherwise: the instance lost the job to another and must stop.  c == NULL
 * writes unconditionally (tests, administration). */
struct ul_job_claim {
    const char *owner;
    int64_t fence;
};
enum store_claim_result {
    STORE_CLAIMED,          /* *job is the row, now held by owner */
    STORE_CLAIM_NODE_BUSY,  /* another job holds the node */
    STORE_CLAIM_GONE,       /* finished, or held by another live instance */
};
#define UL_JOB_STATES (UL_JOB_CANCELED + 1)
/* Claim a queued job (a new attempt: attempts+1, deadline from now) or a
 * parked one that is ours or whose holder's lease lapsed (continues; with
 * restart, after this daemon restarted or took it over, as a new attempt), and
 * the job's node in node_claims, in one transaction.  The lease runs
 * lease_ms from now.  *job (caller frees) only when *res is STORE_CLAIMED. */
ul_err store_job_claim(ul_store *st, int64_t id, const char *owner, int64_t lease_ms,
                       bool restart, enum store_claim_result *res, struct ul_job **job,
                       ul_errmsg *em);
ul_err store_job_progress_as(ul_store *st, const struct ul_job_claim *c, int64_t id, int progress,
                             const char *message, ul_errmsg *em);
ul_err store_job_checkpoint_as(ul_store *st, const struct ul_job_claim *c, int64_t id,
                               const char *checkpoint, ul_errmsg *em);
/* Back to queued, unowned; its node claim released. */
ul_err store_job_requeue_as(ul_store *st, const struct ul_job_claim *c, int64_t id,
                            const char *message, ul_errmsg *em);
/* Final state; the node claim is released and a parent waiting for its
 * children is made due (*parent: its id, or 0). */
ul_err store_job_finish_as(ul_store *st, const struct ul_job_claim *c, int64_t id,
                           enum ul_job_state state, const char *result, const char *error_code,
                           const char *error, int64_t *parent, ul_errmsg *em);
/* Record the step a running job is at. */
ul_err store_job_step(ul_store *st, const struct ul_job_claim *c, int64_t id, int step,
                      const char *step_name, ul_errmsg *em);
/* Park a running job at step until wake_at (epoch ms; UL_JOB_WAIT_UNTIL) or
 * until a child ends (UL_JOB_WAIT_CHILDREN: *due_now when none is left
 * unfinished).  Its node claim is kept only with hold_node. */
ul_err store_job_park(ul_store *st, const struct ul_job_claim *c, int64_t id, int step,
                      const char *step_name, int wait, int64_t wake_at, bool hold_node,
                      bool *due_now, ul_errmsg *em);
/* A job found on a worker of an instance that is gone (seen: the owner and
 * fence the row showed): queued again, or failed "interrupted" with
 * message; refused (CONFLICT) if the row changed since it was seen. */
ul_err store_job_recover(ul_store *st, const struct ul_job_claim *seen, int64_t id, bool requeue,
                         const char *message, ul_errmsg *em);
/* Extend the lease of every running job and node claim owner holds. */
ul_err store_job_renew(ul_store *st, const char *owner, int64_t lease_until, ul_errmsg *em);
/* A parent's children, counted by state (index: enum ul_job_state). */
ul_err store_job_children_counts(ul_store *st, int64_t parent, int64_t counts[UL_JOB_STATES],
                                 ul_errmsg *em);
/* SQLite's data_version: changes when another connection commits, so an
 * engine rescans the jobs only when someone else wrote. */
ul_err store_job_data_version(ul_store *st, int64_t *version, ul_errmsg *em);

/* Set cancel_requested. */
ul_err store_job_request_cancel(ul_store *st, int64_t id, ul_errmsg *em);
/* Delete finished jobs that ended before cutoff (epoch s); returns the count. */
ul_err store_job_prune(ul_store *st, int64_t cutoff, int *deleted, ul_errmsg *em);

/* ---- audit ---- */

struct ul_audit {
    int64_t id;
    int64_t time;
    char *actor, *action, *target, *result, *detail; /* detail: JSON text */
};
struct ul_audit_list {
    struct ul_audit *items;
    size_t count;
    int64_t total;
};
/* Append an audit record; detail is JSON text or NULL. */
ul_err store_audit_add(ul_store *st, const char *actor, const char *action, const char *target,
                       const char *result, const char *detail, ul_errmsg *em);
/* Newest first; actor/action filters may be NULL. */
ul_err store_audit_list(ul_store *st, const char *actor, const char *action, int limit, int offset,
                        struct ul_audit_list *out, ul_errmsg *em);
void store_audit_list_free(struct ul_audit_list *l);

/* ---- API tokens ---- */

struct ul_token {
    char *name;
    char *role; /* admin, operator, viewer */
    int64_t created_at, last_used_at;
};
struct ul_token_list {
    struct ul_token *items;
    size_t count;
};
ul_err store_token_add(ul_store *st, const char *name, const char *role,
                       const unsigned char hash[SECRET_HASH_LEN], ul_errmsg *em);
/* Look a token up by hash; fills name and role (allocated) and stamps
 * last_used_at at most once a minute.  UL_ERR_NOT_FOUND when unknown. */
ul_err store_token_find(ul_store *st, const unsigned char hash[SECRET_HASH_LEN], char **name,
                        char **role, ul_errmsg *em);
ul_err store_token_delete(ul_store *st, const char *name, ul_errmsg *em);
ul_err store_token_list(ul_store *st, struct ul_token_list *out, ul_errmsg *em);
void store_token_list_free(struct ul_token_list *l);
ul_err store_token_count(ul_store *st, int64_t *count, ul_errmsg *em);

/* ---- events from BMC logs (IPMI SEL, Redfish log entries) ---- */

struct ul_event_rec {
    int64_t id;        /* store's id (filled by list) */
    char *node;
    char *source;      /* "sel", "redfish" ... */
    char *record_id;   /* the BMC's record id */
    int64_t time;      /* epoch s, 0 when the BMC gave none */
    char *severity;    /* info, warning, critical */
    char *sensor;      /* may be "" */
    char *message;
};

/* Insert a batch in one transaction; duplicates (same node, source, record
 * id and time) are ignored.  *inserted counts the new ones. */
ul_err store_events_add(ul_store *st, const struct ul_event_rec *ev, size_t n, int *inserted,
                        ul_errmsg *em);

struct ul_event_filter {
    const char *node, *source, *severity; /* NULL: any */
    int64_t since, until;                 /* epoch s; 0: open */
    int limit, offset;
};
struct ul_event_list_rec {
    struct ul_event_rec *items;
    size_t count;
    int64_t total;
};
/* Newest first. */
ul_err store_events_list(ul_store *st, const struct ul_event_filter *f, struct ul_event_list_rec *out,
                         ul_errmsg *em);
void store_events_list_free(struct ul_event_list_rec *l);

/* Per-node, per-source log cursor ("" when none yet); *cursor allocated. */
ul_err store_cursor_get(ul_store *st, const char *node, const char *source, char **cursor,
                        ul_errmsg *em);
ul_err store_cursor_set(ul_store *st, const char *node, const char *source, const char *cursor,
                        ul_errmsg *em);

/* Latest inventory document of a node (JSON text, allocated). */
ul_err store_inventory_get(ul_store *st, const char *node, char **json, int64_t *updated_at,
                           ul_errmsg *em);
ul_err store_inventory_set(ul_store *st, const char *node, const char *json, ul_errmsg *em);

#endif
