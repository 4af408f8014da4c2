/* jsonv.h - bounded JSON parsing and field validation for external input.
 *
 * Everything that arrives from outside (API bodies, later BMC replies) goes
 * through here: size and nesting depth are bounded, unknown fields are
 * rejected by name, and each field's type is checked before use.
 */
#ifndef UL_JSONV_H
#define UL_JSONV_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "ul_error.h"

#define JSONV_MAX_DEPTH 32

/* Parse len bytes of buf as one JSON value.  *out is a new reference owned by
 * the caller (json_object_put).  Trailing garbage is an error. */
ul_err jv_parse(const char *buf, size_t len, int max_depth, json_object **out, ul_errmsg *em);

enum jv_type {
    JV_STRING = 1,
    JV_INT,
    JV_BOOL,
    JV_OBJECT,
    JV_ARRAY,
    JV_STRING_MAP, /* object whose values are all strings (labels) */
    JV_LIST,       /* a string (a host list expression) or an array */
};

struct jv_field {
    const char *name;
    enum jv_type type;
    bool required;
    size_t max_len; /* strings: longest accepted; 0 means 1024 */
};

/* Check that obj is an object, has every required field, no unknown field, and
 * every present field has the declared type (JSON null is refused: to clear a
 * value send an empty string or object). */
ul_err jv_check(json_object *obj, const struct jv_field *fields, size_t nfields, ul_errmsg *em);

/* Borrowed string of field name, or NULL when absent. */
const char *jv_str(json_object *obj, const char *name);

/* A json_object to a newly allocated compact string (caller frees). */
char *jv_to_string(json_object *obj);

#endif
