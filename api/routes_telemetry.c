/* routes_telemetry.c - what the poll scheduler collected: latest readings,
 * node health, the fleet summary and /metrics.  All served from memory;
 * nothing here talks to a BMC. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

/* 404 for unknown nodes, so a typo is not mistaken for "not polled yet". */
static bool known_node(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = rq->segs[3];
    struct ul_node *n = NULL;
    ul_errmsg em;
    ul_err rc = node_name_valid(name) ? store_node_get(srv->st, name, false, &n, &em)
                                      : ul_errmsg_set(&em, UL_ERR_NOT_FOUND,
                                                      "node '%.64s' not found", name);
    node_free(n);
    if (rc != UL_OK)
        api_error_from(rp, rc, em.text);
    return rc == UL_OK;
}

static bool polling(api_server *srv, struct api_reply *rp)
{
    if (srv->latest)
        return true;
    api_error(rp, MHD_HTTP_NOT_FOUND, "not_found",
              "background polling is disabled ([poll] enabled = 0); run a job instead");
    return false;
}

void route_node_sensors_latest(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (!polling(srv, rp) || !known_node(srv, rq, rp))
        return;
    json_object *o = latest_sensors_json(srv->latest, rq->segs[3]);
    if (!o) {
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found",
                  "no sensor readings for node '%s' yet (see its health for the last error, "
                  "or POST .../sensors to read now)",
                  rq->segs[3]);
        return;
    }
    api_reply_json(rp, MHD_HTTP_OK, o);
}

void route_node_health(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (!polling(srv, rp) || !known_node(srv, rq, rp))
        return;
    json_object *o = latest_health_json(srv->latest, rq->segs[3]);
    if (!o) {
        o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(rq->segs[3]));
        json_object_object_add(o, "health", json_object_new_string("unknown"));
        json_object_object_add(o, "last_success", NULL);
        json_object_object_add(o, "last_error", NULL);
    }
    api_reply_json(rp, MHD_HTTP_OK, o);
}

void route_fleet(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (!polling(srv, rp))
        return;
    /* The cached text: no JSON objects built or serialized per request. */
    rp->status = MHD_HTTP_OK;
    rp->text = latest_fleet_text(srv->latest, &rp->text_len);
    rp->content_type = "application/json";
}

/* The firmware revision and manufacturer of a node's BMC from its stored
 * inventory: "bmc" (IPMI's Get Device ID), else the Redfish "system"'s
 * manufacturer.  *firmware and *manufacturer point into inv. */
static void bmc_identity(json_object *inv, const char **firmware, const char **manufacturer)
{
    json_object *bmc, *sys, *v;
    *firmware = *manufacturer = NULL;
    if (json_object_object_get_ex(inv, "bmc", &bmc)) {
        if (json_object_object_get_ex(bmc, "firmware_revision", &v))
            *firmware = json_object_get_string(v);
        if (json_object_object_get_ex(bmc, "manufacturer", &v))
            *manufacturer = json_object_get_string(v);
    }
    if (!*manufacturer && json_object_object_get_ex(inv, "system", &sys) &&
        json_object_object_get_ex(sys, "manufacturer", &v))
        *manufacturer = json_object_get_string(v);
}

/* Bring the nodes' metadata in latest (driver, labels, BMC identity, log
 * entry count) up to date from the store: when a node was enrolled, changed
 * or removed, when newly polled nodes appeared, else at most every
 * META_MAX_AGE_S seconds (inventory and SEL polls do not change the node
 * list).  Only the info lines of nodes whose metadata changed are
 * re-rendered; errors are logged and leave the previous metadata. */
#define META_MAX_AGE_S 30
static void refresh_meta(api_server *srv)
{
    if (!latest_meta_due(srv->latest, store_node_changes(srv->st), ul_wall_s(), META_MAX_AGE_S))
        return;
    for (int offset = 0;; offset += 500) {
        struct ul_node_filter f = {.limit = 500, .offset = offset};
        struct ul_node_list nl = {0};
        ul_errmsg em;
        if (store_node_list(srv->st, &f, &nl, &em) != UL_OK) {
            ul_warn("metrics: listing nodes for their metadata: %s", em.text);
            return;
        }
        for (size_t i = 0; i < nl.count; i++) {
            const struct ul_node *n = nl.items[i];
            struct latest_meta m = {.driver = n->driver, .labels = n->labels};
            char *text = NULL;
            int64_t at = 0;
            json_object *inv = NULL;
            if (store_inventory_get(srv->st, n->name, &text, &at, &em) == UL_OK && text)
                inv = json_tokener_parse(text);
            free(text);
            if (inv)
                bmc_identity(inv, &m.firmware, &m.manufacturer);
            struct ul_event_filter ef = {.node = n->name, .limit = 1};
            struct ul_event_list_rec ev = {0};
            if (store_events_list(srv->st, &ef, &ev, &em) == UL_OK) {
                m.has_sel_count = true;
                m.sel_count = ev.total;
            } else {
                ul_warn("metrics: node %s: counting its log entries: %s", n->name, em.text);
            }
            store_events_list_free(&ev);
            latest_node_meta(srv->latest, n->name, &m);
            json_object_put(inv);
        }
        bool last = nl.count < 500;
        store_node_list_free(&nl);
        if (last)
            return;
    }
}

/* ?label=KEY=VALUE: *key and *value point into a copy the caller frees. */
static bool label_filter(struct api_req *rq, struct api_reply *rp, char **copy, const char **key,
                         const char **value)
{
    const char *q = api_query(rq, "label");
    *copy = NULL;
    *key = *value = NULL;
    if (!q)
        return true;
    const char *eq = strchr(q, '=');
    if (!eq || eq == q) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'label': must be KEY=VALUE (a node label), e.g. rack=r1");
        return false;
    }
    *copy = xstrdup(q);
    (*copy)[eq - q] = '\0';
    *key = *copy;
    *value = *copy + (eq - q) + 1;
    return true;
}

char *api_metrics_text_for(api_server *srv, struct api_req *rq, struct api_reply *rp, size_t *len)
{
    char *copy;
    const char *key, *value;
    if (!label_filter(rq, rp, &copy, &key, &value))
        return NULL;
    if (!key) {
        free(copy);
        return api_metrics_text(srv, len);
    }
    /* A shard: only the matching nodes' families, without the daemon-wide
     * ones (scrape those once, unfiltered or with a label no node has). */
    char *out;
    if (srv->latest) {
        refresh_meta(srv);
        out = latest_metrics_text_filtered(srv->latest, key, value, len);
    } else {
        out = xstrdup("");
        *len = 0;
    }
    free(copy);
    return out;
}

char *api_metrics_text(api_server *srv, size_t *len)
{
    size_t body_len = 0;
    if (srv->latest)
        refresh_meta(srv);
    char *body = srv->latest ? latest_metrics_text(srv->latest, &body_len) : xstrdup("");
    int queued = 0, running = 0, nodes = 0, in_flight = 0, parked = 0, holding = 0;
    uint64_t overruns = 0;
    jobs_counts(srv->jobs, &queued, &running);
    jobs_parked(srv->jobs, &parked, &holding);
    if (srv->sched)
        sched_counts(srv->sched, &nodes, &in_flight, &overruns);
    char tail[2048];
    int n = snprintf(tail, sizeof(tail),
                     "# HELP underlay_jobs_queued Jobs waiting for a worker.\n"
                     "# TYPE underlay_jobs_queued gauge\nunderlay_jobs_queued %d\n"
                     "# HELP underlay_jobs_running Jobs running now.\n"
                     "# TYPE underlay_jobs_running gauge\nunderlay_jobs_running %d\n"
                     "# HELP underlay_jobs_parked Jobs waiting between steps (a BMC task, "
                     "their children), holding no worker.\n"
                     "# TYPE underlay_jobs_parked gauge\nunderlay_jobs_parked %d\n"
                     "# HELP underlay_jobs_parked_holding_node Parked jobs that keep their "
                     "node from other jobs and polls (a firmware flash).\n"
                     "# TYPE underlay_jobs_parked_holding_node gauge\n"
                     "underlay_jobs_parked_holding_node %d\n"
                     "# HELP underlay_poll_tasks_queued Background polls waiting for a worker.\n"
                     "# TYPE underlay_poll_tasks_queued gauge\nunderlay_poll_tasks_queued %d\n"
                     "# HELP underlay_collector_nodes Nodes the poll scheduler polls.\n"
                     "# TYPE underlay_collector_nodes gauge\nunderlay_collector_nodes %d\n"
                     "# HELP underlay_collector_polls_in_flight Polls queued or running.\n"
                     "# TYPE underlay_collector_polls_in_flight gauge\n"
                     "underlay_collector_polls_in_flight %d\n"
                     "# HELP underlay_collector_overruns_total Polls that took longer than "
                     "their interval.\n"
                     "# TYPE underlay_collector_overruns_total counter\n"
                     "underlay_collector_overruns_total %llu\n"
                     "# HELP underlay_bmc_sessions Open cached BMC sessions.\n"
                     "# TYPE underlay_bmc_sessions gauge\nunderlay_bmc_sessions %d\n",
                     queued, running, parked, holding, jobs_tasks_queued(srv->jobs), nodes,
                     in_flight,
                     (unsigned long long)overruns, bmc_sessions_count(srv->sessions));
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(tail))
        n = (int)sizeof(tail) - 1;
    char *st = stream_metrics_text(srv->sched ? sched_stream(srv->sched) : NULL);
    size_t st_len = strlen(st);
    char *out = xmalloc(body_len + (size_t)n + st_len + 1);
    memcpy(out, body, body_len);
    memcpy(out + body_len, tail, (size_t)n);
    memcpy(out + body_len + (size_t)n, st, st_len + 1);
    free(body);
    free(st);
    *len = body_len + (size_t)n + st_len;
    return out;
}

/* ---- history (RRD) ---- */

static bool history_on(api_server *srv, struct api_reply *rp)
{
    if (srv->history)
        return true;
    api_error(rp, MHD_HTTP_NOT_FOUND, "not_found",
              "sensor history is disabled ([rrd] enabled = 0)");
    return false;
}

/* ?start=&end= (RFC 3339 or epoch s) or ?range=1h|1d|1w|1m|1y: the last
 * span ending now.  Default: the last day. */
static bool time_range(struct api_req *rq, struct api_reply *rp, time_t *start, time_t *end)
{
    time_t now = (time_t)ul_wall_s();
    const char *range = api_query(rq, "range");
    const char *s = api_query(rq, "start"), *e = api_query(rq, "end");
    *end = now;
    *start = now - 86400;
    if (range) {
        static const struct {
            const char *name;
            time_t seconds;
        } spans[] = {{"1h", 3600},         {"6h", 6 * 3600},       {"1d", 86400},
                     {"1w", 7 * 86400},    {"1m", 31 * 86400},     {"1y", 366 * 86400}};
        size_t i;
        for (i = 0; i < sizeof(spans) / sizeof(spans[0]); i++)
            if (strcmp(range, spans[i].name) == 0)
                break;
        if (i == sizeof(spans) / sizeof(spans[0])) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                      "query parameter 'range': must be one of 1h, 6h, 1d, 1w, 1m, 1y");
            return false;
        }
        *start = now - spans[i].seconds;
    }
    int64_t v;
    if (s) {
        if ((v = ul_time_parse(s)) < 0) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                      "query parameter 'start': must be RFC 3339 UTC or epoch seconds");
            return false;
        }
        *start = (time_t)v;
    }
    if (e) {
        if ((v = ul_time_parse(e)) < 0) {
            api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                      "query parameter 'end': must be RFC 3339 UTC or epoch seconds");
            return false;
        }
        *end = (time_t)v;
    }
    if (*start >= *end) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument", "'start' must be before 'end'");
        return false;
    }
    return true;
}

void route_node_history(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (!history_on(srv, rp) || !known_node(srv, rq, rp))
        return;
    json_object *o = NULL;
    ul_errmsg em;
    ul_err rc = rrdw_list(srv->history, rq->segs[3], &o, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    api_reply_json(rp, MHD_HTTP_OK, o);
}

void route_node_series(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (!history_on(srv, rp) || !known_node(srv, rq, rp))
        return;
    const char *sensor = api_query(rq, "sensor"), *kind = api_query(rq, "kind");
    if (!sensor || !kind) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameters 'sensor' and 'kind' are required (see .../history)");
        return;
    }
    time_t start, end;
    long resolution;
    if (!time_range(rq, rp, &start, &end) ||
        !api_query_int(rq, rp, "resolution", 0, 0, 366L * 86400, &resolution))
        return;
    json_object *o = NULL;
    ul_errmsg em;
    ul_err rc = rrdw_fetch(srv->history, rq->segs[3], sensor, kind, start, end,
                           (unsigned long)resolution, api_query(rq, "cf"), &o, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    api_reply_json(rp, MHD_HTTP_OK, o);
}

void route_node_graph(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    if (!history_on(srv, rp) || !known_node(srv, rq, rp))
        return;
    const char *sensor = api_query(rq, "sensor"), *kind = api_query(rq, "kind");
    if (!kind) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'kind' is required (temperature, fan, voltage, current, "
                  "power), with 'sensor' for one sensor or without for all of that kind");
        return;
    }
    time_t start, end;
    long width, height;
    if (!time_range(rq, rp, &start, &end) ||
        !api_query_int(rq, rp, "width", 800, 100, 4000, &width) ||
        !api_query_int(rq, rp, "height", 250, 50, 2000, &height))
        return;
    unsigned char *png = NULL;
    size_t len = 0;
    ul_errmsg em;
    char title[160];
    snprintf(title, sizeof(title), "%s: %s", rq->segs[3], sensor ? sensor : kind);
    ul_err rc;
    if (sensor) {
        struct rrdw_series s = {.sensor = sensor, .kind = kind, .cf = api_query(rq, "cf")};
        rc = rrdw_graph_png(srv->history, rq->segs[3], &s, 1, start, end, title, NULL,
                            (unsigned)width, (unsigned)height, &png, &len, &em);
    } else {
        rc = rrdw_graph_kind_png(srv->history, rq->segs[3], kind, start, end, title, NULL,
                                 (unsigned)width, (unsigned)height, &png, &len, &em);
    }
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    rp->status = MHD_HTTP_OK;
    rp->text = (char *)png;
    rp->text_len = len;
    rp->content_type = "image/png";
}
