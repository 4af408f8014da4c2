/* test_jsonv.c - unit tests for common/jsonv.h. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "unit_util.h"

/* ---- jv_parse ---- */

/* Parse s (strlen bytes); the result must be OK and of type t. */
static json_object *parse_ok(const char *s, int max_depth, json_type t)
{
    json_object *o = (json_object *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    ul_err rc = jv_parse(s, strlen(s), max_depth, &o, &em);
    if (rc != UL_OK)
        fail_msg("jv_parse(%s) failed: %s", s, em.text);
    if (t != json_type_null)
        assert_non_null(o);
    assert_true(json_object_is_type(o, t));
    return o;
}

/* Parse len bytes of buf; expect UL_ERR_INVALID, *out NULL, and frag in the
 * message. */
static void parse_err(const char *buf, size_t len, int max_depth, const char *frag)
{
    json_object *o = (json_object *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    ul_err rc = jv_parse(buf, len, max_depth, &o, &em);
    if (rc == UL_OK) {
        json_object_put(o);
        fail_msg("jv_parse(%.*s) succeeded, expected an error", (int)len, buf);
    }
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_null(o);
    if (frag)
        assert_contains(em.text, frag);
}

static void parse_err_s(const char *s, const char *frag)
{
    parse_err(s, strlen(s), 0, frag);
}

static void test_parse_valid(void **state)
{
    (void)state;
    json_object *o =
        parse_ok("{\"name\":\"n1\",\"n\":[1,2,{\"x\":true}],\"z\":null}", 0, json_type_object);
    assert_string_equal(jv_str(o, "name"), "n1");
    json_object *arr;
    assert_true(json_object_object_get_ex(o, "n", &arr));
    assert_int_equal(json_object_array_length(arr), 3);
    json_object_put(o);

    /* surrounding white space is fine */
    o = parse_ok(" \t\r\n{\"a\":1} \n\t\r ", 0, json_type_object);
    json_object_put(o);
    o = parse_ok("[]", 0, json_type_array);
    json_object_put(o);
    o = parse_ok("\"x\"", 0, json_type_string);
    json_object_put(o);
    o = parse_ok("{\"u\":\"\\u00e9\\n\"}", 0, json_type_object);
    assert_string_equal(jv_str(o, "u"), "\xc3\xa9\n");
    json_object_put(o);
}

/* RFC 8259: any value is a JSON text, and the header promises "one JSON
 * value".  A bare number or literal must not be reported as truncated just
 * because no byte follows it. */
static void test_parse_bare_scalars(void **state)
{
    (void)state;
    json_object *o = parse_ok("42", 0, json_type_int);
    assert_int_equal(json_object_get_int(o), 42);
    json_object_put(o);
    o = parse_ok("true", 0, json_type_boolean);
    json_object_put(o);
    o = parse_ok("null", 0, json_type_null);
    json_object_put(o);
    /* with a trailing newline these already work */
    o = parse_ok("42\n", 0, json_type_int);
    json_object_put(o);
}

static void test_parse_len_is_respected(void **state)
{
    (void)state;
    /* only len bytes are parsed: the rest of the buffer is not looked at */
    const char buf[] = "{\"a\":1}GARBAGE";
    json_object *o = NULL;
    ul_errmsg em;
    assert_int_equal(jv_parse(buf, 7, 0, &o, &em), UL_OK);
    assert_true(json_object_is_type(o, json_type_object));
    json_object_put(o);
    /* and the same buffer with its garbage is refused */
    parse_err(buf, strlen(buf), 0, NULL);
}

static void test_parse_malformed(void **state)
{
    (void)state;
    parse_err_s("{\"a\":}", "malformed JSON at offset 5");
    parse_err_s("{\"a\" 1}", "malformed JSON");
    parse_err_s("{a:1}", "malformed JSON");
    parse_err_s("[1,]", "malformed JSON");        /* strict: no trailing comma */
    parse_err_s("{\"a\":1,}", "malformed JSON");  /* strict */
    parse_err_s("{\"a\":01}", "malformed JSON");  /* no leading zeros */
    parse_err_s("{\"a\":'x'}", "malformed JSON"); /* strict: no single quotes */
    parse_err_s("nope", "malformed JSON");
}

static void test_parse_truncated(void **state)
{
    (void)state;
    parse_err_s("{\"a\":1", "truncated");
    parse_err_s("{\"a\":\"unterminated", "truncated");
    parse_err_s("[1,2", "truncated");
    parse_err_s("   ", "malformed JSON");
}

static void test_parse_trailing_garbage(void **state)
{
    (void)state;
    parse_err_s("{\"a\":1} x", "offset 8");
    parse_err_s("{\"a\":1}{}", "offset 7");
    parse_err_s("[1] ]", "offset 4");
    parse_err_s("\"x\"y", "malformed JSON");
    parse_err_s("{}   \n  ,", "malformed JSON");
}

static void test_parse_nul_byte(void **state)
{
    (void)state;
    const char b1[] = "{\"a\":\"b\0c\"}";
    parse_err(b1, sizeof(b1) - 1, 0, "NUL byte");
    /* a NUL after an otherwise complete document counts too */
    const char b2[] = "{\"a\":1}\0";
    parse_err(b2, sizeof(b2) - 1, 0, "NUL byte");
    const char b3[] = "\0{}";
    parse_err(b3, sizeof(b3) - 1, 0, "NUL byte");
}

static void test_parse_empty(void **state)
{
    (void)state;
    parse_err("", 0, 0, "empty body");
    parse_err("{}", 0, 0, "empty body"); /* len 0 means empty whatever buf holds */
}

/* n nested arrays: "[[[...]]]" */
static char *nested(int n)
{
    char *s = malloc((size_t)n * 2 + 1);
    assert_non_null(s);
    for (int i = 0; i < n; i++) {
        s[i] = '[';
        s[2 * n - 1 - i] = ']';
    }
    s[2 * n] = '\0';
    return s;
}

static void test_parse_depth_limit(void **state)
{
    (void)state;
    char *s;
    /* default limit (max_depth 0 means JSONV_MAX_DEPTH) */
    s = nested(JSONV_MAX_DEPTH);
    json_object *o = parse_ok(s, 0, json_type_array);
    json_object_put(o);
    free(s);
    s = nested(JSONV_MAX_DEPTH + 1);
    parse_err(s, strlen(s), 0, "nesting too deep");
    free(s);
    s = nested(1000);
    parse_err(s, strlen(s), 0, "nesting too deep");
    free(s);
    /* objects count as well as arrays */
    const char *deep_obj = "{\"a\":{\"b\":{\"c\":{\"d\":{}}}}}";
    parse_err(deep_obj, strlen(deep_obj), 4, "nesting too deep");
    o = parse_ok(deep_obj, 5, json_type_object);
    json_object_put(o);
    /* an explicit smaller limit */
    s = nested(4);
    o = parse_ok(s, 4, json_type_array);
    json_object_put(o);
    free(s);
    s = nested(5);
    parse_err(s, strlen(s), 4, "nesting too deep");
    free(s);
}

/* ---- jv_check ---- */

/* clang-format off */
static const struct jv_field fields[] = {
    {"name", JV_STRING, true, 8},
    {"count", JV_INT, false, 0},
    {"enabled", JV_BOOL, false, 0},
    {"opts", JV_OBJECT, false, 0},
    {"tags", JV_ARRAY, false, 0},
    {"labels", JV_STRING_MAP, false, 5},
    {"note", JV_STRING, false, 0}, /* default max 1024 */
};
/* clang-format on */
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static json_object *jparse(const char *s)
{
    json_object *o = json_tokener_parse(s);
    if (!o)
        fail_msg("test JSON does not parse: %s", s);
    return o;
}

static void check_ok(const char *s)
{
    json_object *o = jparse(s);
    ul_errmsg em = {{0}};
    ul_err rc = jv_check(o, fields, NFIELDS, &em);
    json_object_put(o);
    if (rc != UL_OK)
        fail_msg("jv_check(%s) failed: %s", s, em.text);
}

static void check_err(const char *s, const char *frag)
{
    json_object *o = jparse(s);
    ul_errmsg em = {{0}};
    ul_err rc = jv_check(o, fields, NFIELDS, &em);
    json_object_put(o);
    if (rc == UL_OK)
        fail_msg("jv_check(%s) accepted", s);
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_contains(em.text, frag);
}

static void test_check_valid(void **state)
{
    (void)state;
    check_ok("{\"name\":\"n1\"}");
    check_ok("{\"name\":\"12345678\",\"count\":-3,\"enabled\":false,\"opts\":{\"x\":[1]},"
             "\"tags\":[\"a\",1],\"labels\":{\"k\":\"v\",\"k2\":\"\"},\"note\":\"\"}");
    check_ok("{\"name\":\"\",\"count\":9007199254740993,\"labels\":{}}");
}

static void test_check_not_object(void **state)
{
    (void)state;
    check_err("[1,2]", "must be a JSON object");
    check_err("\"name\"", "must be a JSON object");
    ul_errmsg em = {{0}};
    assert_int_equal(jv_check(NULL, fields, NFIELDS, &em), UL_ERR_INVALID);
    assert_contains(em.text, "must be a JSON object");
}

static void test_check_unknown_field(void **state)
{
    (void)state;
    check_err("{\"name\":\"a\",\"bogus\":1}", "unknown field 'bogus'");
    /* also when a required field is missing */
    check_err("{\"Name\":\"a\"}", "'Name'");
    /* a very long unknown key is cut short in the message */
    char key[300];
    memset(key, 'k', 200);
    key[200] = '\0';
    char doc[400];
    snprintf(doc, sizeof(doc), "{\"name\":\"a\",\"%s\":1}", key);
    json_object *o = jparse(doc);
    ul_errmsg em = {{0}};
    assert_int_equal(jv_check(o, fields, NFIELDS, &em), UL_ERR_INVALID);
    json_object_put(o);
    key[64] = '\0';
    assert_contains(em.text, key);
    key[64] = 'k';
    key[65] = '\0';
    assert_not_contains(em.text, key);
}

static void test_check_missing_required(void **state)
{
    (void)state;
    check_err("{}", "missing required field 'name'");
    check_err("{\"count\":1}", "missing required field 'name'");
}

static void test_check_wrong_types(void **state)
{
    (void)state;
    check_err("{\"name\":5}", "field 'name': must be a string");
    check_err("{\"name\":[\"a\"]}", "field 'name': must be a string");
    check_err("{\"name\":\"a\",\"count\":\"5\"}", "field 'count': must be an integer");
    check_err("{\"name\":\"a\",\"count\":1.5}", "field 'count': must be an integer");
    check_err("{\"name\":\"a\",\"count\":true}", "field 'count': must be an integer");
    check_err("{\"name\":\"a\",\"enabled\":1}", "field 'enabled': must be true or false");
    check_err("{\"name\":\"a\",\"enabled\":\"true\"}", "field 'enabled'");
    check_err("{\"name\":\"a\",\"opts\":[]}", "field 'opts': must be an object");
    check_err("{\"name\":\"a\",\"tags\":{}}", "field 'tags': must be an array");
    check_err("{\"name\":\"a\",\"labels\":[]}", "field 'labels': must be an object of strings");
    check_err("{\"name\":\"a\",\"labels\":\"k=v\"}", "field 'labels'");
}

static void test_check_null_refused(void **state)
{
    (void)state;
    check_err("{\"name\":null}", "field 'name': must be a string, not null");
    check_err("{\"name\":\"a\",\"opts\":null}", "field 'opts': must be an object, not null");
    check_err("{\"name\":\"a\",\"labels\":null}", "not null");
    check_err("{\"name\":\"a\",\"count\":null}", "field 'count'");
}

static void test_check_string_too_long(void **state)
{
    (void)state;
    check_err("{\"name\":\"123456789\"}", "field 'name': longer than 8 characters");
    /* the default bound is 1024 */
    char doc[1200];
    char val[1100];
    memset(val, 'x', 1024);
    val[1024] = '\0';
    snprintf(doc, sizeof(doc), "{\"name\":\"a\",\"note\":\"%s\"}", val);
    check_ok(doc);
    val[1024] = 'x';
    val[1025] = '\0';
    snprintf(doc, sizeof(doc), "{\"name\":\"a\",\"note\":\"%s\"}", val);
    check_err(doc, "field 'note': longer than 1024 characters");
}

static void test_check_string_map(void **state)
{
    (void)state;
    check_err("{\"name\":\"a\",\"labels\":{\"a\":\"x\",\"b\":1}}",
              "field 'labels.b': must be a string");
    check_err("{\"name\":\"a\",\"labels\":{\"c\":null}}", "field 'labels.c': must be a string");
    check_err("{\"name\":\"a\",\"labels\":{\"d\":{\"e\":\"f\"}}}", "'labels.d'");
    check_err("{\"name\":\"a\",\"labels\":{\"d\":[\"x\"]}}", "'labels.d'");
    check_err("{\"name\":\"a\",\"labels\":{\"k\":\"123456\"}}",
              "field 'labels.k': longer than 5 characters");
    check_ok("{\"name\":\"a\",\"labels\":{\"k\":\"12345\"}}");
}

static void test_check_required_absent_list_empty(void **state)
{
    (void)state;
    /* no fields declared: only an empty object passes */
    json_object *o = jparse("{}");
    ul_errmsg em = {{0}};
    assert_int_equal(jv_check(o, NULL, 0, &em), UL_OK);
    json_object_put(o);
    o = jparse("{\"x\":1}");
    assert_int_equal(jv_check(o, NULL, 0, &em), UL_ERR_INVALID);
    assert_contains(em.text, "unknown field 'x'");
    json_object_put(o);
}

/* ---- jv_str, jv_to_string ---- */

static void test_str_and_to_string(void **state)
{
    (void)state;
    json_object *o = jparse("{\"s\":\"v/w\",\"n\":1,\"z\":null}");
    assert_string_equal(jv_str(o, "s"), "v/w");
    assert_null(jv_str(o, "n"));
    assert_null(jv_str(o, "z"));
    assert_null(jv_str(o, "absent"));
    char *text = jv_to_string(o);
    /* compact, no escaped slash */
    assert_string_equal(text, "{\"s\":\"v/w\",\"n\":1,\"z\":null}");
    free(text);
    json_object_put(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_bare_scalars),
        cmocka_unit_test(test_parse_len_is_respected),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_parse_truncated),
        cmocka_unit_test(test_parse_trailing_garbage),
        cmocka_unit_test(test_parse_nul_byte),
        cmocka_unit_test(test_parse_empty),
        cmocka_unit_test(test_parse_depth_limit),
        cmocka_unit_test(test_check_valid),
        cmocka_unit_test(test_check_not_object),
        cmocka_unit_test(test_check_unknown_field),
        cmocka_unit_test(test_check_missing_required),
        cmocka_unit_test(test_check_wrong_types),
        cmocka_unit_test(test_check_null_refused),
        cmocka_unit_test(test_check_string_too_long),
        cmocka_unit_test(test_check_string_map),
        cmocka_unit_test(test_check_required_absent_list_empty),
        cmocka_unit_test(test_str_and_to_string),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
