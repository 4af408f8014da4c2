/* views.c - JSON views of the model for API replies.  Secrets never appear:
 * a node shows only whether it has a password. */
#include "config.h"

#include "api/api_internal.h"
#include "ops/caps.h"
#include "ops/console.h"
#include "jsonv.h"
#include <string.h>

#include "ultime.h"
#include "xalloc.h"

json_object *view_time(int64_t t)
{
    if (t <= 0)
        return NULL;
    char buf[32];
    ul_time_rfc3339(t, buf, sizeof(buf));
    return json_object_new_string(buf);
}


static json_object *str_or_null(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

json_object *view_node(const struct ul_node *n)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "name", json_object_new_string(n->name));
    json_object_object_add(o, "endpoint", json_object_new_string(n->endpoint));
    json_object_object_add(o, "driver", json_object_new_string(n->driver));
    json_object_object_add(o, "username", json_object_new_string(n->username ? n->username : ""));
    json_object_object_add(o, "has_password", json_object_new_boolean(n->has_password));
    json_object_object_add(o, "labels", json_object_get(n->labels));
    json_object_object_add(o, "options", json_object_get(n->options));
    json_object_object_add(o, "state", json_object_new_string(n->state));
    json_object_object_add(o, "maintenance_from", str_or_null(n->maintenance_from));
    json_object_object_add(o, "version", json_object_new_int64(n->version));
    /* What the node's driver can do: the dashboard hides the rest, and a
     * request for it answers 501 at once. */
    json_object_object_add(o, "capabilities", bmc_caps_json(bmc_caps_of_node(n)));
    /* a serial console (GET .../console) is there for this node's driver */
    json_object_object_add(o, "console", json_object_new_boolean(bmc_console_supported(n->driver)));
    json_object_object_add(o, "created_at", view_time(n->created_at));
    json_object_object_add(o, "updated_at", view_time(n->updated_at));
    return o;
}

/* Stored JSON text back to an object; unreadable text shows as null rather
 * than failing the whole listing. */
static json_object *parse_stored(const char *text)
{
    json_object *o = NULL;
    if (text && jv_parse(text, strlen(text), 0, &o, NULL) != UL_OK)
        o = NULL;
    return o;
}

json_object *view_job(const struct ul_job *j)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "id", json_object_new_int64(j->id));
    json_object_object_add(o, "parent_id", j->parent_id ? json_object_new_int64(j->parent_id)
                                                        : NULL);
    json_object_object_add(o, "type", json_object_new_string(j->type));
    json_object_object_add(o, "node", str_or_null(j->node));
    json_object_object_add(o, "state", json_object_new_string(job_state_name(j->state)));
    json_object_object_add(o, "params", parse_stored(j->params));
    json_object_object_add(o, "result", parse_stored(j->result));
    json_object_object_add(o, "progress", json_object_new_int(j->progress));
    json_object_object_add(o, "message", json_object_new_string(j->message ? j->message : ""));
    json_object *err = NULL;
    if (j->error_code || j->error) {
        err = json_object_new_object();
        json_object_object_add(err, "code",
                               json_object_new_string(j->error_code ? j->error_code : "internal"));
        json_object_object_add(err, "message", json_object_new_string(j->error ? j->error : ""));
    }
    json_object_object_add(o, "error", err);
    json_object_object_add(o, "actor", json_object_new_string(j->actor ? j->actor : ""));
    json_object_object_add(o, "timeout", json_object_new_int(j->timeout_s));
    json_object_object_add(o, "attempts", json_object_new_int(j->attempts));
    json_object_object_add(o, "cancel_requested", json_object_new_boolean(j->cancel_requested));
    /* The step executor: where the job is, and why it holds no worker. */
    json_object_object_add(o, "step", j->step_name ? json_object_new_string(j->step_name)
                                                   : json_object_new_int(j->step));
    json_object *waiting = NULL;
    if (!job_state_final(j->state) && j->wait != UL_JOB_WAIT_NONE) {
        waiting = json_object_new_object();
        json_object_object_add(waiting, "for", json_object_new_string(job_wait_name(j->wait)));
        json_object_object_add(waiting, "until",
                               j->wake_at ? view_time(j->wake_at / 1000) : NULL);
    }
    json_object_object_add(o, "waiting", waiting);
    json_object *claim = NULL;
    if (!job_state_final(j->state) && j->owner) {
        claim = json_object_new_object();
        json_object_object_add(claim, "instance", json_object_new_string(j->owner));
        json_object_object_add(claim, "lease_until", view_time(j->lease_until / 1000));
    }
    json_object_object_add(o, "claim", claim);
    json_object_object_add(o, "created_at", view_time(j->created_at));
    json_object_object_add(o, "started_at", view_time(j->started_at));
    json_object_object_add(o, "finished_at", view_time(j->finished_at));
    json_object_object_add(o, "updated_at", view_time(j->updated_at));
    return o;
}

json_object *view_page(json_object *items, int64_t total, int limit, int offset)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "items", items);
    json_object_object_add(o, "total", json_object_new_int64(total));
    json_object_object_add(o, "limit", json_object_new_int(limit));
    json_object_object_add(o, "offset", json_object_new_int(offset));
    return o;
}

void api_reply_job_accepted(struct api_reply *rp, const struct ul_job *job)
{
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "job", view_job(job));
    rp->location = xasprintf("/api/v1/jobs/%lld", (long long)job->id);
    api_reply_json(rp, MHD_HTTP_ACCEPTED, reply);
}
