/* routes_telemetry.c - what the poll scheduler collected: latest readings,
 * node health, the fleet summary and /metrics.  All served from memory;
 * nothing here talks to a BMC. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
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
    api_reply_json(rp, MHD_HTTP_OK, latest_fleet_json(srv->latest));
}

char *api_metrics_text(api_server *srv, size_t *len)
{
    size_t body_len = 0;
    char *body = srv->latest ? latest_metrics_text(srv->latest, &body_len) : xstrdup("");
    int queued = 0, running = 0, nodes = 0, in_flight = 0;
    uint64_t overruns = 0;
    jobs_counts(srv->jobs, &queued, &running);
    if (srv->sched)
        sched_counts(srv->sched, &nodes, &in_flight, &overruns);
    char tail[2048];
    int n = snprintf(tail, sizeof(tail),
                     "# HELP underlay_jobs_queued Jobs waiting for a worker.\n"
                     "# TYPE underlay_jobs_queued gauge\nunderlay_jobs_queued %d\n"
                     "# HELP underlay_jobs_running Jobs running now.\n"
                     "# TYPE underlay_jobs_running gauge\nunderlay_jobs_running %d\n"
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
                     queued, running, jobs_tasks_queued(srv->jobs), nodes, in_flight,
                     (unsigned long long)overruns, bmc_sessions_count(srv->sessions));
    if (n < 0)
        n = 0;
    if ((size_t)n >= sizeof(tail))
        n = (int)sizeof(tail) - 1;
    char *out = xmalloc(body_len + (size_t)n + 1);
    memcpy(out, body, body_len);
    memcpy(out + body_len, tail, (size_t)n + 1);
    free(body);
    *len = body_len + (size_t)n;
    return out;
}
