/* api_internal.h - shared by the api/ route files only. */
#ifndef UL_API_INTERNAL_H
#define UL_API_INTERNAL_H

#include <json-c/json.h>
#include <microhttpd.h>
#include <stdbool.h>

#include "api/api.h"
#include "core/app.h"
#include "core/job.h"
#include "core/node.h"
#include "core/store.h"
#include "jsonv.h"

enum api_role { API_ROLE_NONE = 0, API_ROLE_VIEWER, API_ROLE_OPERATOR, API_ROLE_ADMIN };

/* -1 when unknown */
int api_role_parse(const char *s);
const char *api_role_name(enum api_role r);

/* The serial console sessions (routes_console.c). */
typedef struct api_consoles api_consoles;
struct api_req;
api_consoles *api_consoles_new(void);
/* A WebSocket upgrade's token, offered by a browser (which cannot set
 * Authorization) as the subprotocol "bearer.TOKEN" beside
 * "underlay.console".  Copies it into buf; false when there is none. */
bool api_ws_bearer(struct api_req *rq, char *buf, size_t len);
/* End every session and wait for their threads (before MHD stops). */
void api_consoles_stop(api_consoles *all);
/* Free what is left (after MHD stopped).  NULL-safe. */
void api_consoles_free(api_consoles *all);

struct api_server {
    const struct ul_config *cfg;
    ul_store *st;
    ul_jobs *jobs;
    latest *latest;
    sched *sched;
    bmc_sessions *sessions;
    rrdw *history;
    ul_app *app; /* node changes and job submission, with their audit */
    api_consoles *consoles;
    struct MHD_Daemon *mhd;
};

/* One request, alive from the first access-handler call to completion. */
struct api_req {
    struct MHD_Connection *conn;
    const char *method;
    char *path;        /* owned copy of the URL path */
    const char *segs[8]; /* path split at '/', after "/api/v1" */
    int nsegs;
    char *body;        /* owned; NUL-terminated */
    size_t body_len;
    bool too_large;
    char *actor;       /* token name, owned */
    enum api_role role;
    /* A firmware image upload streams to a file in the spool instead of
     * body.  The handler that submits the job takes the file (sets
     * upload_path NULL); otherwise it is removed when the request ends. */
    bool upload;
    int upload_fd;     /* -1 once closed */
    char *upload_path; /* owned */
    long long upload_len;
    bool upload_failed; /* a write failed or the caller was refused */
    bool upload_nospace; /* ... because the spool's file system is (nearly) full */
};

/* What a handler answers: a status and a JSON body (owned; NULL for none),
 * or a text body (owned; Prometheus exposition). */
struct api_reply {
    unsigned status;
    json_object *body;
    char *text;
    size_t text_len;
    const char *content_type; /* for text; NULL: Prometheus text */
    char *location; /* owned; sets a Location header */
    char *etag;     /* owned; sets an ETag header */
    const char *cache_control; /* static string; NULL: "no-store" */
    const char *const *headers; /* static NULL-ended name, value pairs; extra headers */
    struct MHD_Response *upgrade; /* owned; a 101 that hands the socket over (console) */
};

/* The /metrics exposition: the latest readings' cached text plus the
 * daemon's own gauges.  Allocated. */
char *api_metrics_text(api_server *srv, size_t *len);

/* The dashboard (static.c): serve the file under cfg->web_dir that the path
 * names, for GET and HEAD; 404 when web_dir is "" or has no such file. */
void api_static(api_server *srv, struct api_req *rq, struct api_reply *rp);

typedef void (*api_handler)(api_server *srv, struct api_req *rq, struct api_reply *rp);

/* Fill rp with an error body {"error":{"code","message"}}. */
void api_error(struct api_reply *rp, unsigned status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Map a ul_err to the HTTP status and error body. */
void api_error_from(struct api_reply *rp, ul_err rc, const char *message);
void api_reply_json(struct api_reply *rp, unsigned status, json_object *body);
/* 202 with {"job": ...} and a Location header naming the job. */
void api_reply_job_accepted(struct api_reply *rp, const struct ul_job *job);

/* Parse the request body as a JSON object and check its fields; on failure rp
 * holds a 400 and NULL is returned.  Returns a new reference. */
json_object *api_body(struct api_req *rq, struct api_reply *rp, const struct jv_field *fields,
                      size_t nfields);

/* Query string helpers.  api_query_int: absent gives def; bad or out of range
 * fills rp with a 400 and returns false. */
const char *api_query(struct api_req *rq, const char *name);
bool api_query_int(struct api_req *rq, struct api_reply *rp, const char *name, long def, long min,
                   long max, long *out);
/* limit/offset with the configured default and cap. */
bool api_query_page(api_server *srv, struct api_req *rq, struct api_reply *rp, int *limit,
                    int *offset);

/* Append an audit record; failures are logged, never hidden from the log. */
void api_audit(api_server *srv, struct api_req *rq, const char *action, const char *target,
               ul_err rc, json_object *detail);

/* JSON views (new references). */
json_object *view_node(const struct ul_node *n);
json_object *view_job(const struct ul_job *j);
json_object *view_time(int64_t t); /* RFC 3339 string, or null for 0 */
json_object *view_page(json_object *items, int64_t total, int limit, int offset);

/* GET/HEAD /metrics with its query (?label=KEY=VALUE: only the nodes with
 * that label, without the daemon-wide metrics); NULL after an error reply
 * (routes_telemetry.c). */
char *api_metrics_text_for(api_server *srv, struct api_req *rq, struct api_reply *rp,
                           size_t *len);

/* Route handlers. */
void route_batch_power(api_server *, struct api_req *, struct api_reply *);
void route_batch_boot(api_server *, struct api_req *, struct api_reply *);
void route_nodes_list(api_server *, struct api_req *, struct api_reply *);
void route_nodes_create(api_server *, struct api_req *, struct api_reply *);
void route_nodes_discover(api_server *, struct api_req *, struct api_reply *);
void route_node_get(api_server *, struct api_req *, struct api_reply *);
void route_node_patch(api_server *, struct api_req *, struct api_reply *);
void route_node_delete(api_server *, struct api_req *, struct api_reply *);
void route_node_power(api_server *, struct api_req *, struct api_reply *);
void route_node_boot(api_server *, struct api_req *, struct api_reply *);
void route_node_sensors(api_server *, struct api_req *, struct api_reply *);
void route_node_sel(api_server *, struct api_req *, struct api_reply *);
void route_node_sel_clear(api_server *, struct api_req *, struct api_reply *);
void route_node_identify(api_server *, struct api_req *, struct api_reply *);
void route_node_bmc_reset(api_server *, struct api_req *, struct api_reply *);
void route_node_inventory_refresh(api_server *, struct api_req *, struct api_reply *);
void route_node_inventory_get(api_server *, struct api_req *, struct api_reply *);
void route_node_bios_read(api_server *, struct api_req *, struct api_reply *);
void route_node_bios_set(api_server *, struct api_req *, struct api_reply *);
void route_node_raid_read(api_server *, struct api_req *, struct api_reply *);
void route_node_volume_create(api_server *, struct api_req *, struct api_reply *);
void route_node_volume_delete(api_server *, struct api_req *, struct api_reply *);
void route_node_firmware_list(api_server *, struct api_req *, struct api_reply *);
void route_node_firmware_update(api_server *, struct api_req *, struct api_reply *);
void route_node_firmware_upload(api_server *, struct api_req *, struct api_reply *);
void route_events_list(api_server *, struct api_req *, struct api_reply *);
void route_node_console(api_server *, struct api_req *, struct api_reply *);
void route_node_sensors_latest(api_server *, struct api_req *, struct api_reply *);
void route_node_health(api_server *, struct api_req *, struct api_reply *);
void route_fleet(api_server *, struct api_req *, struct api_reply *);
void route_node_history(api_server *, struct api_req *, struct api_reply *);
void route_node_series(api_server *, struct api_req *, struct api_reply *);
void route_node_graph(api_server *, struct api_req *, struct api_reply *);
void route_jobs_list(api_server *, struct api_req *, struct api_reply *);
void route_job_get(api_server *, struct api_req *, struct api_reply *);
void route_job_cancel(api_server *, struct api_req *, struct api_reply *);
void route_audit_list(api_server *, struct api_req *, struct api_reply *);
void route_tokens_list(api_server *, struct api_req *, struct api_reply *);
void route_tokens_create(api_server *, struct api_req *, struct api_reply *);
void route_token_delete(api_server *, struct api_req *, struct api_reply *);

#endif
