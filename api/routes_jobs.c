/* routes_jobs.c - job listing, detail and cancellation. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/jobs.h"

/* The job id in /jobs/{id}[/...]; answers 404 for a malformed id. */
static bool path_job(struct api_req *rq, struct api_reply *rp, int64_t *id)
{
    const char *s = rq->segs[3];
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v <= 0) {
        api_error(rp, MHD_HTTP_NOT_FOUND, "not_found", "job '%.32s' not found", s);
        return false;
    }
    *id = v;
    return true;
}

void route_jobs_list(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    struct ul_job_filter f = {.state = -1};
    struct ul_job_list list = {0};
    ul_errmsg em;
    if (!api_query_page(srv, rq, rp, &f.limit, &f.offset))
        return;
    const char *state = api_query(rq, "state");
    if (state && (f.state = job_state_parse(state)) < 0) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "query parameter 'state': '%.32s' is not one of queued, running, succeeded, "
                  "failed, canceled",
                  state);
        return;
    }
    long parent;
    if (!api_query_int(rq, rp, "parent", 0, 0, INT64_MAX, &parent))
        return;
    f.parent_id = parent;
    f.node = api_query(rq, "node");
    f.type = api_query(rq, "type");
    ul_err rc = store_job_list(srv->st, &f, &list, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < list.count; i++)
        json_object_array_add(items, view_job(list.items[i]));
    api_reply_json(rp, MHD_HTTP_OK, view_page(items, list.total, f.limit, f.offset));
    store_job_list_free(&list);
}

void route_job_get(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    int64_t id;
    if (!path_job(rq, rp, &id))
        return;
    struct ul_job *j;
    ul_errmsg em;
    ul_err rc = store_job_get(srv->st, id, &j, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    json_object *o = view_job(j);
    /* A parent's children, counted by state: a batch or a rollout at a
     * glance (?parent=ID lists them). */
    int64_t counts[UL_JOB_STATES], total = 0;
    if (store_job_children_counts(srv->st, id, counts, &em) == UL_OK) {
        for (int s = 0; s < UL_JOB_STATES; s++)
            total += counts[s];
        if (total > 0) {
            json_object *c = json_object_new_object();
            json_object_object_add(c, "total", json_object_new_int64(total));
            for (int s = 0; s < UL_JOB_STATES; s++)
                json_object_object_add(c, job_state_name((enum ul_job_state)s),
                                       json_object_new_int64(counts[s]));
            json_object_object_add(o, "children", c);
        }
    }
    api_reply_json(rp, MHD_HTTP_OK, o);
    job_free(j);
}

void route_job_cancel(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    int64_t id;
    if (!path_job(rq, rp, &id))
        return;
    ul_errmsg em;
    char target[32];
    snprintf(target, sizeof(target), "job/%lld", (long long)id);
    ul_err rc = jobs_cancel(srv->jobs, id, &em);
    if (rc != UL_ERR_NOT_FOUND)
        api_audit(srv, rq, "job.cancel", target, rc, NULL);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    struct ul_job *j;
    rc = store_job_get(srv->st, id, &j, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    api_reply_json(rp, MHD_HTTP_ACCEPTED, view_job(j));
    job_free(j);
}
