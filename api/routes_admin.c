/* routes_admin.c - audit trail and API tokens. */
#include "config.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_internal.h"
#include "core/secret.h"
#include "log.h"

void route_audit_list(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    int limit, offset;
    if (!api_query_page(srv, rq, rp, &limit, &offset))
        return;
    struct ul_audit_list list;
    ul_errmsg em;
    ul_err rc = store_audit_list(srv->st, api_query(rq, "actor"), api_query(rq, "action"), limit,
                                 offset, &list, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < list.count; i++) {
        struct ul_audit *a = &list.items[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_int64(a->id));
        json_object_object_add(o, "time", view_time(a->time));
        json_object_object_add(o, "actor", json_object_new_string(a->actor));
        json_object_object_add(o, "action", json_object_new_string(a->action));
        json_object_object_add(o, "target", json_object_new_string(a->target));
        json_object_object_add(o, "result", json_object_new_string(a->result));
        json_object *detail = NULL;
        if (a->detail && jv_parse(a->detail, strlen(a->detail), 0, &detail, NULL) != UL_OK)
            detail = NULL;
        json_object_object_add(o, "detail", detail ? detail : json_object_new_object());
        json_object_array_add(items, o);
    }
    api_reply_json(rp, MHD_HTTP_OK, view_page(items, list.total, limit, offset));
    store_audit_list_free(&list);
}

void route_tokens_list(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    struct ul_token_list list;
    ul_errmsg em;
    ul_err rc = store_token_list(srv->st, &list, &em);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    json_object *items = json_object_new_array();
    for (size_t i = 0; i < list.count; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(list.items[i].name));
        json_object_object_add(o, "role", json_object_new_string(list.items[i].role));
        json_object_object_add(o, "created_at", view_time(list.items[i].created_at));
        json_object_object_add(o, "last_used_at", view_time(list.items[i].last_used_at));
        json_object_array_add(items, o);
    }
    json_object *body = json_object_new_object();
    json_object_object_add(body, "items", items);
    api_reply_json(rp, MHD_HTTP_OK, body);
    store_token_list_free(&list);
}

static const struct jv_field token_fields[] = {
    {"name", JV_STRING, true, 64},
    {"role", JV_STRING, true, 16},
};

void route_tokens_create(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    json_object *body = api_body(rq, rp, token_fields, 2);
    if (!body)
        return;
    const char *name = jv_str(body, "name");
    const char *role = jv_str(body, "role");
    char *token = NULL;
    if (!node_name_valid(name)) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "field 'name': must be letters, digits, '.', '-' or '_'");
        goto out;
    }
    if (api_role_parse(role) < 0) {
        api_error(rp, MHD_HTTP_BAD_REQUEST, "invalid_argument",
                  "field 'role': '%.16s' is not one of admin, operator, viewer", role);
        goto out;
    }
    token = secret_token_new();
    unsigned char hash[SECRET_HASH_LEN];
    secret_token_hash(token, hash);
    ul_errmsg em;
    ul_err rc = store_token_add(srv->st, name, role, hash, &em);
    json_object *detail = json_object_new_object();
    json_object_object_add(detail, "role", json_object_new_string(role));
    api_audit(srv, rq, "token.create", name, rc, detail);
    json_object_put(detail);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        goto out;
    }
    ul_info("API token '%s' (%s) created by %s", name, role, rq->actor);
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "name", json_object_new_string(name));
    json_object_object_add(reply, "role", json_object_new_string(role));
    json_object_object_add(reply, "token", json_object_new_string(token));
    api_reply_json(rp, MHD_HTTP_CREATED, reply);
out:
    if (token) {
        sodium_memzero(token, strlen(token));
        free(token);
    }
    json_object_put(body);
}

void route_token_delete(api_server *srv, struct api_req *rq, struct api_reply *rp)
{
    const char *name = rq->segs[3];
    if (strcmp(name, rq->actor) == 0) {
        api_error(rp, MHD_HTTP_CONFLICT, "conflict",
                  "refusing to delete token '%s': this request authenticates with it", name);
        return;
    }
    ul_errmsg em;
    ul_err rc = store_token_delete(srv->st, name, &em);
    if (rc != UL_ERR_NOT_FOUND)
        api_audit(srv, rq, "token.delete", name, rc, NULL);
    if (rc != UL_OK) {
        api_error_from(rp, rc, em.text);
        return;
    }
    rp->status = MHD_HTTP_NO_CONTENT;
}
