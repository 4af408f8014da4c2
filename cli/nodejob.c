#include "config.h"

#include "nodejob.h"

#include <stdlib.h>

#include "fanout.h"
#include "output.h"
#include "ultime.h"
#include "xalloc.h"

static bool start_one(struct cl_client *c, const char *host, const char *op, json_object *body,
                      const char *opname, struct jw_item *it, bool quiet)
{
    struct cl_reply r;
    char *esc = cl_escape(c, host);
    char *path = xasprintf("/api/v1/nodes/%s/%s", esc, op);
    enum cl_status st = cl_request(c, "POST", path, body, &r);
    json_object *job = NULL, *id = NULL;

    if (st == CL_OK && json_object_object_get_ex(r.body, "job", &job) &&
        json_object_object_get_ex(job, "id", &id) && json_object_is_type(id, json_type_int) &&
        json_object_get_int64(id) > 0) {
        it->id = json_object_get_int64(id);
        it->job = json_object_get(job);
    } else {
        it->error_code = xstrdup(st == CL_OK ? "bad_reply" : r.code);
        it->error = xstrdup(st == CL_OK ? "reply carries no job" : fo_strip_node(host, r.message));
        if (!quiet)
            out_err("%s: %s: %s", host, opname, it->error);
    }
    cl_reply_clear(&r);
    free(path);
    free(esc);
    return st != CL_TRANSPORT_ERROR;
}

bool nj_start(struct cl_client *c, const char *host, const char *op, json_object *body,
              const char *opname, struct jw_item *it)
{
    return start_one(c, host, op, body, opname, it, false);
}

void nj_start_all(struct cl_client *c, const hostlist *hl, const char *op, json_object *body,
                  const char *opname, struct jw_item *items, bool quiet)
{
    bool lost = false;
    size_t skipped = 0;

    for (size_t i = 0; i < hl->count; i++) {
        if (lost) {
            items[i].error_code = xstrdup("not_attempted");
            items[i].error = xstrdup("not attempted after a connection error");
            skipped++;
        } else if (!start_one(c, hl->hosts[i], op, body, opname, &items[i], quiet)) {
            lost = true;
        }
    }
    fo_stopped(opname, skipped);
}

json_object *nj_follow(struct cl_client *c, const char *host, const char *opname,
                       struct jw_item *it, bool *ok)
{
    json_object *job = NULL;
    *ok = false;
    if (it->error) /* printed by whoever started it */
        return NULL;
    int64_t t0 = ul_mono_ms();
    enum jw_outcome outcome = jw_wait(c, it, 1, 0);
    if (jw_item_ok(it)) {
        *ok = true;
    } else {
        const char *code, *msg;
        char buf[128];
        double waited = (double)(ul_mono_ms() - t0) / 1000.0;
        if (!jw_item_failure(it, outcome, waited, &code, &msg, buf, sizeof(buf)))
            out_err("%s: %s: %s", host, opname, fo_strip_node(host, msg));
    }
    if (it->job && jw_finished(it->job))
        job = json_object_get(it->job);
    return job;
}

json_object *nj_run(struct cl_client *c, const char *host, const char *op, json_object *body,
                    const char *opname)
{
    struct jw_item it = {0};
    json_object *job = NULL;
    bool ok = false;

    if (nj_start(c, host, op, body, opname, &it))
        job = nj_follow(c, host, opname, &it, &ok);
    jw_items_clear(&it, 1);
    if (!ok) {
        json_object_put(job);
        job = NULL;
    }
    return job;
}

const char *nj_record(struct fo *f, const char *host, const struct jw_item *it,
                      enum jw_outcome outcome, double waited_s, char *buf, size_t buflen)
{
    const char *code, *msg;
    if (it->id <= 0) { /* never started; nj_start printed why */
        fo_fail(f, fo_node(host), it->error_code, it->error, false);
        return it->error;
    }
    if (jw_item_ok(it)) {
        fo_ok(f, fo_node(host), "job", json_object_get(it->job));
        return NULL;
    }
    bool reported = jw_item_failure(it, outcome, waited_s, &code, &msg, buf, buflen);
    fo_fail(f, fo_node(host), code, msg, !reported);
    return fo_strip_node(host, msg);
}

json_object *nj_body(long long timeout_s)
{
    json_object *b = json_object_new_object();
    if (timeout_s > 0)
        json_object_object_add(b, "timeout", json_object_new_int64(timeout_s));
    return b;
}
