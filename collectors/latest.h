/* latest.h - the latest readings and health of every node, in memory.
 *
 * Fed by the poll scheduler after each sweep; read by the API (latest
 * readings, node health, fleet summary) and rendered into the Prometheus
 * text served at /metrics.  The text is rendered at most once per change
 * and cached, so a scrape never polls a BMC and rarely formats anything
 * (DESIGN: ~4.6k req/s cached vs ~360 req/s rendered for 1 MB).
 *
 * Thread-safe: one mutex (a leaf lock) guards everything; readers get
 * copies.
 */
#ifndef UL_LATEST_H
#define UL_LATEST_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ops/ops.h"

typedef struct latest latest;

enum node_health {
    HEALTH_UNKNOWN = 0, /* not polled yet */
    HEALTH_OK,
    HEALTH_DEGRADED,    /* polls succeed but a sensor is warning/critical, or a
                           poll kind fails transiently */
    HEALTH_UNREACHABLE, /* the BMC does not answer */
    HEALTH_AUTH_FAILED, /* the BMC refuses our credentials */
};
const char *latest_health_name(enum node_health h);

latest *latest_new(void);
void latest_free(latest *l);

/* What an update did to a node's health: from == to when nothing changed.
 * reason names the cause of the new state ("sensor 'CPU Temp' is critical",
 * "sensors poll: <error>"), "" when there is nothing to add.  Returned by the
 * update functions below so the caller can publish it (collectors/stream.h)
 * without this module knowing the stream. */
struct latest_change {
    enum node_health from, to;
    char reason[256];
};

/* A sweep succeeded: take over *sensors (emptied), record the power reading
 * (pr NULL when none) and the poll's duration. */
struct latest_change latest_sensors_ok(latest *l, const char *node,
                                       struct ul_sensor_list *sensors,
                                       const struct ul_power_reading *pr, int64_t t,
                                       double duration_s);
/* Power state from a status poll (UL_POWER_UNKNOWN to leave it). */
void latest_power_state(latest *l, const char *node, enum ul_power_state p);
/* A poll of kind ("sensors", "sel", "inventory") failed. */
struct latest_change latest_poll_failed(latest *l, const char *node, const char *kind,
                                        ul_err rc, const char *message, int64_t t,
                                        double duration_s);
/* A non-sensor poll succeeded. */
struct latest_change latest_poll_ok(latest *l, const char *node, const char *kind, int64_t t,
                                    double duration_s);
/* Forget a node that left the inventory. */
void latest_forget(latest *l, const char *node);

/* JSON views (new references); NULL when the node has no record. */
json_object *latest_sensors_json(latest *l, const char *node);
json_object *latest_health_json(latest *l, const char *node);
/* Fleet summary: nodes by health and power state, total power draw, and per
 * node {"node","health","power","inlet_celsius","power_watts"}.  Each node's
 * element is rendered when that node changes and the whole text is cached
 * until the next change, so a request costs one concatenation at most, and a
 * copy.  latest_fleet_text: the JSON text (allocated, caller frees; *len its
 * length); latest_fleet_json: the same parsed (a new reference). */
char *latest_fleet_text(latest *l, size_t *len);
json_object *latest_fleet_json(latest *l);

/* The Prometheus text exposition (allocated copy; *len its length).  Uses
 * the cached rendering when nothing changed since. */
char *latest_metrics_text(latest *l, size_t *len);

/* What the inventory says about a node, for the info families of /metrics
 * (pulled from the store by the API, see latest_meta_due).  Strings may be
 * NULL (unknown); labels is borrowed (object of string values, may be NULL). */
struct latest_meta {
    const char *driver;       /* "ipmi", "redfish", ...: the collector label */
    json_object *labels;      /* the node's labels: underlay_node_info, ?label= */
    const char *firmware;     /* BMC firmware revision (inventory) */
    const char *manufacturer; /* BMC manufacturer (inventory) */
    bool has_sel_count;
    int64_t sel_count;        /* log entries of the node held in the store */
};
/* Set a node's metadata.  Only nodes already known (polled at least once)
 * are updated: a node the scheduler does not poll gets no series.  The
 * node's info lines are rendered here, and the cached text invalidated only
 * when they changed. */
void latest_node_meta(latest *l, const char *node, const struct latest_meta *m);
/* Is a metadata refresh due?  True when the store's node change counter
 * (changes) differs from the last refresh's, when nodes were added or
 * removed since, or when at least max_age_s seconds passed; marks the
 * refresh as done at now_s. */
bool latest_meta_due(latest *l, uint64_t changes, int64_t now_s, int64_t max_age_s);

/* A node label key as a Prometheus label name: characters outside
 * [A-Za-z0-9_] become '_', a leading digit gets a '_' in front, and the
 * names this module uses itself (node, driver, collector) and names starting
 * "__" get the prefix "label_".  Returns false when out (outlen bytes) is too
 * small. */
bool latest_label_name(const char *key, char *out, size_t outlen);

/* The per-node families of the nodes whose label key has value value
 * (latest_metrics_text when key is NULL).  Rendered from the same per-node
 * fragments, not cached. */
char *latest_metrics_text_filtered(latest *l, const char *key, const char *value, size_t *len);

/* Render metrics for n synthetic nodes of m sensors (benchmarks). */
void latest_fill_synthetic(latest *l, int nodes, int sensors);

#endif
