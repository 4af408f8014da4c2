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
    f->quiet = false;
}

const char *fo_strip_node(const char *node, const char *msg)
{
    size_t n = strlen(node);
    if (msg && strncmp(msg, "node ", 5) == 0 && strncmp(msg + 5, node, n) == 0 &&
        msg[5 + n] == ':' && msg[6 + n] == ' ')
        return msg + 7 + n;
    return msg;
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
    if (!json_object_is_type(target, json_type_int))
        message = fo_strip_node(json_object_get_string(target), message);
    if (loud && !f->quiet) {
        /* "bad1: power status: power status: BMC unreachable" says the
         * operation twice. */
        size_t n = strlen(f->op);
        const char *m = message;
        if (strncmp(m, f->op, n) == 0 && m[n] == ':' && m[n + 1] == ' ')
            m += n + 2;
        if (json_object_is_type(target, json_type_int))
            out_err("job %s: %s: %s", json_object_get_string(target), f->op, m);
        else
            out_err("%s: %s: %s", json_object_get_string(target), f->op, m);
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
    if (f->failed && f->quiet) {
        /* The table said why; say which, so they can be found in a long
         * table or retried. */
        char *names = xstrdup("");
        size_t shown = 0, n = json_object_array_length(f->items);
        for (size_t i = 0; i < n; i++) {
            json_object *r = json_object_array_get_idx(f->items, i), *ok = NULL, *t = NULL;
            if (!json_object_object_get_ex(r, "ok", &ok) || json_object_get_boolean(ok))
                continue;
            if (++shown > 10)
                break;
            if (!json_object_object_get_ex(r, "node", &t))
                json_object_object_get_ex(r, "id", &t);
            char *next = xasprintf("%s%s%s%s", names, *names ? ", " : "",
                                   json_object_is_type(t, json_type_int) ? "job " : "",
                                   json_object_get_string(t));
            free(names);
            names = next;
        }
        out_err("%s: %zu of %zu failed: %s%s", f->op, f->failed, f->ok + f->failed, names,
                f->failed > 10 ? ", ..." : "");
        free(names);
    } else if (f->failed && f->ok + f->failed > 1) {
        out_err("%s: %zu of %zu failed", f->op, f->failed, f->ok + f->failed);
    }
    if (f->failed == 0)
        return CLI_EXIT_OK;
    return f->ok ? CLI_EXIT_PARTIAL : CLI_EXIT_ERROR;
}
