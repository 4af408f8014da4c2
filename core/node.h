/* node.h - the node model: one server and how to reach its BMC.
 *
 * A node record is owned by whoever obtained it (store_node_get and friends
 * return new records); node_free releases it.  Records are not shared between
 * threads.
 */
#ifndef UL_NODE_H
#define UL_NODE_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ul_error.h"

#define NODE_NAME_MAX 253
#define NODE_LABEL_KEY_MAX 63
#define NODE_LABEL_VALUE_MAX 255
#define NODE_MAX_LABELS 64

struct ul_node {
    int64_t id;
    char *name;
    json_object *labels;  /* owned reference: object of string values */
    char *endpoint;       /* BMC URI */
    char *driver;         /* driver name (bmc/driver.h) */
    char *username;       /* may be NULL */
    char *password;       /* plaintext, filled only on request; never logged */
    bool has_password;
    json_object *options; /* owned reference: driver options object */
    char *state;          /* lifecycle state, see node_state_valid */
    char *maintenance_from; /* the state a node in maintenance came from, or NULL */
    int64_t version;      /* bumped by every stored update: the API's ETag */
    int64_t created_at;
    int64_t updated_at;
};

/* Allocate an empty node with empty labels and options objects. */
struct ul_node *node_new(void);
/* Free a node; wipes the plaintext password first.  NULL-safe. */
void node_free(struct ul_node *n);

/* A parsed BMC endpoint URI: scheme://host[:port][/path]. */
struct ul_endpoint {
    char scheme[16];
    char host[256]; /* without IPv6 brackets */
    int port;       /* 0 when the URI gives none: the driver picks its default */
    char path[256]; /* "" or beginning with '/' */
};

/* Parse uri; the scheme is lower-cased.  Host names follow RFC 1123, IPv6
 * literals go in brackets. */
ul_err node_endpoint_parse(const char *uri, struct ul_endpoint *ep, ul_errmsg *em);

/* Node names: 1-253 characters of [A-Za-z0-9._-], starting with an
 * alphanumeric, so they are safe in URLs, file names and hostlists. */
bool node_name_valid(const char *name);

/* Lifecycle states: enrolled, ready, maintenance, provisioning, deployed,
 * retired. */
bool node_state_valid(const char *state);
extern const char *const node_states[];

/* The lifecycle transition table (docs/ARCHITECTURE.md, "Node lifecycle"),
 * modelled on Ironic's provision states and Metal3's BareMetalHost:
 *
 *   enrolled     -> ready | maintenance | retired
 *   ready        -> provisioning | maintenance | retired
 *   provisioning -> deployed | ready | maintenance
 *   deployed     -> ready | maintenance | retired
 *   maintenance  -> the state it came from | ready | retired
 *   retired      -> enrolled
 *
 * Staying in the same state is always allowed (a no-op).  A node in
 * maintenance whose origin is unknown (entered before origins were
 * recorded) may go to enrolled, ready, deployed or retired.
 *
 * node_state_transition_ok: may a node in `from` (maintenance_from: its
 * origin when from is maintenance, else ignored; may be NULL) go to `to`?
 * Both must be valid states. */
bool node_state_transition_ok(const char *from, const char *maintenance_from, const char *to);

/* The states `from` may go to, in node_states order, as "a, b or c" into buf
 * (never the state itself). */
void node_state_allowed_text(const char *from, const char *maintenance_from, char *buf,
                             size_t len);

/* Check and apply a transition on n: on success n->state is `to` and
 * n->maintenance_from follows it (set on entering maintenance, cleared on
 * leaving).  An invalid state is UL_ERR_INVALID naming the field; a state
 * the table forbids is UL_ERR_CONFLICT naming the allowed ones. */
ul_err node_state_change(struct ul_node *n, const char *to, ul_errmsg *em);

/* Whether automation (rollouts, policy, alert actions: anything that is not
 * an operator's own request) may act on a node in this state: not in
 * maintenance (someone is working on it) nor retired. */
bool node_state_automatable(const char *state);

/* Check a labels object: at most NODE_MAX_LABELS string values; keys 1-63 of
 * [A-Za-z0-9._/-]; values up to 255 characters. */
ul_err node_labels_check(json_object *labels, ul_errmsg *em);

#endif
