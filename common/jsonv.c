#include "config.h"

#include "jsonv.h"

#include <string.h>

#include "xalloc.h"

ul_err jv_parse(const char *buf, size_t len, int max_depth, json_object **out, ul_errmsg *em)
{
    *out = NULL;
    if (len == 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "empty body, expected JSON");
    if (len > (size_t)INT32_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID, "JSON document too large");
    if (memchr(buf, '\0', len))
        return ul_errmsg_set(em, UL_ERR_INVALID, "malformed JSON: NUL byte in body");
    json_tokener *tok = json_tokener_new_ex(max_depth > 0 ? max_depth : JSONV_MAX_DEPTH);
    if (!tok)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "cannot allocate JSON parser");
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    json_object *obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    ul_err rc = UL_OK;
    bool scalar_end = false;
    if (jerr == json_tokener_continue) {
        /* A bare number or literal ("42", "true") only ends at a terminator:
         * feed one; a real truncation still asks for more. */
        obj = json_tokener_parse_ex(tok, "", 1);
        scalar_end = json_tokener_get_error(tok) == json_tokener_success;
        /* Otherwise it was an unfinished object, array or string. */
        jerr = scalar_end ? json_tokener_success : json_tokener_continue;
    }
    if (jerr == json_tokener_continue) {
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "malformed JSON: document is truncated");
    } else if (jerr != json_tokener_success) {
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "malformed JSON at offset %zu: %s",
                           json_tokener_get_parse_end(tok), json_tokener_error_desc(jerr));
    } else if (!scalar_end) {
        size_t end = json_tokener_get_parse_end(tok);
        while (end < len && strchr(" \t\r\n", buf[end]))
            end++;
        if (end != len)
            rc = ul_errmsg_set(em, UL_ERR_INVALID, "malformed JSON: trailing data at offset %zu",
                               end);
    }
    json_tokener_free(tok);
    if (rc != UL_OK) {
        json_object_put(obj);
        return rc;
    }
    *out = obj;
    return UL_OK;
}

static const char *type_name(enum jv_type t)
{
    switch (t) {
    case JV_STRING:
        return "a string";
    case JV_INT:
        return "an integer";
    case JV_BOOL:
        return "true or false";
    case JV_OBJECT:
        return "an object";
    case JV_ARRAY:
        return "an array";
    case JV_STRING_MAP:
        return "an object of strings";
    case JV_LIST:
        return "a string or an array";
    }
    return "?";
}

static bool type_ok(json_object *v, const struct jv_field *f, ul_errmsg *em, ul_err *rc)
{
    size_t max_len = f->max_len ? f->max_len : 1024;
    switch (f->type) {
    case JV_STRING:
        if (!json_object_is_type(v, json_type_string))
            return false;
        if (strlen(json_object_get_string(v)) != (size_t)json_object_get_string_len(v)) {
            *rc = ul_errmsg_set(em, UL_ERR_INVALID, "field '%s': contains a NUL character",
                                f->name);
            return true;
        }
        if ((size_t)json_object_get_string_len(v) > max_len) {
            *rc = ul_errmsg_set(em, UL_ERR_INVALID, "field '%s': longer than %zu characters",
                                f->name, max_len);
            return true;
        }
        return true;
    case JV_INT:
        return json_object_is_type(v, json_type_int);
    case JV_BOOL:
        return json_object_is_type(v, json_type_boolean);
    case JV_OBJECT:
        return json_object_is_type(v, json_type_object);
    case JV_ARRAY:
        return json_object_is_type(v, json_type_array);
    case JV_LIST:
        return json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_array);
    case JV_STRING_MAP:
        if (!json_object_is_type(v, json_type_object))
            return false;
        json_object_object_foreach(v, k, val)
        {
            if (!json_object_is_type(val, json_type_string)) {
                *rc = ul_errmsg_set(em, UL_ERR_INVALID, "field '%s.%s': must be a string",
                                    f->name, k);
                return true;
            }
            if ((size_t)json_object_get_string_len(val) > max_len) {
                *rc = ul_errmsg_set(em, UL_ERR_INVALID,
                                    "field '%s.%s': longer than %zu characters", f->name, k,
                                    max_len);
                return true;
            }
        }
        return true;
    }
    return false;
}

ul_err jv_check(json_object *obj, const struct jv_field *fields, size_t nfields, ul_errmsg *em)
{
    if (!json_object_is_type(obj, json_type_object))
        return ul_errmsg_set(em, UL_ERR_INVALID, "request body must be a JSON object");
    json_object_object_foreach(obj, key, val)
    {
        const struct jv_field *f = NULL;
        for (size_t i = 0; i < nfields; i++)
            if (strcmp(fields[i].name, key) == 0)
                f = &fields[i];
        if (!f)
            return ul_errmsg_set(em, UL_ERR_INVALID, "unknown field '%.64s'", key);
        if (!val)
            return ul_errmsg_set(em, UL_ERR_INVALID, "field '%s': must be %s, not null", key,
                                 type_name(f->type));
        ul_err rc = UL_OK;
        if (!type_ok(val, f, em, &rc))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field '%s': must be %s", key,
                                 type_name(f->type));
        if (rc != UL_OK)
            return rc;
    }
    for (size_t i = 0; i < nfields; i++)
        if (fields[i].required && !json_object_object_get_ex(obj, fields[i].name, NULL))
            return ul_errmsg_set(em, UL_ERR_INVALID, "missing required field '%s'",
                                 fields[i].name);
    return UL_OK;
}

const char *jv_str(json_object *obj, const char *name)
{
    json_object *v;
    if (!json_object_object_get_ex(obj, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

char *jv_to_string(json_object *obj)
{
    return xstrdup(json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN |
                                                           JSON_C_TO_STRING_NOSLASHESCAPE));
}
