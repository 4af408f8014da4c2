#include "config.h"

#include "fanout.h"

#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "xalloc.h"

void fo_init(struct fo *f, const char *op)
{
    f->op = op;
    f->items = json_object_new_array();
    f->ok = 0;
    f->failed = 0;
}

void fo_free(struct fo *f)
{
    json_object_put(f->items);
    f->items = NULL;
}

json_object *fo_node(const char *name)
{
    return json_object_new_string(name);
}

json_object *fo_job(long long id)
{
    return json_object_new_int64(id);
}

static json_object *result(json_object *target, bool ok)
{
    json_object *r = json_object_new_object();
    json_object_object_add(r, json_object_is_type(target, json_type_int) ? "id" : "node", target);
    json_object_object_add(r, "ok", json_object_new_boolean(ok));
    return r;
}

void fo_ok(struct fo *f, json_object *target, const char *pkey, json_object *payload)
{
    json_object *r = result(target, true);
    if (payload)
        json_object_object_add(r, pkey, payload);
    json_object_array_add(f->items, r);
    f->ok++;
}

void fo_fail(struct fo *f, json_object *target, const char *code, const char *message, bool loud)
{
    if (loud) {
        if (json_object_is_type(target, json_type_int))
            out_err("job %s: %s: %s", json_object_get_string(target), f->op, message);
        else
            out_err("%s: %s: %s", json_object_get_string(target), f->op, message);
    }
    json_object *r = result(target, false);
    json_object *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_object_add(r, "error", e);
    json_object_array_add(f->items, r);
    f->failed++;
}

void fo_fail_reply(struct fo *f, json_object *target, const struct cl_reply *reply)
{
    fo_fail(f, target, reply->code, reply->message, true);
}

void fo_skip(struct fo *f, json_object *target)
{
    fo_fail(f, target, "not_attempted", "not attempted after a connection error", false);
}

void fo_stopped(const char *op, size_t skipped)
{
    if (skipped)
        out_err("%s: stopped after a connection error, %zu not attempted", op, skipped);
}

int fo_finish(struct fo *f, enum out_format format)
{
    if (format == OUT_JSON)
        out_json(f->items);
    if (f->failed && f->ok + f->failed > 1)
        out_err("%s: %zu of %zu failed", f->op, f->failed, f->ok + f->failed);
    if (f->failed == 0)
        return CLI_EXIT_OK;
    return f->ok ? CLI_EXIT_PARTIAL : CLI_EXIT_ERROR;
}
