/* test_bios.c - unit tests for ops/bios.h: BIOS attribute changes checked
 * against a normalised attribute registry (the shape documented in bios.h,
 * written by hand here), and the after-apply comparison bios_verify. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/bios.h"
#include "jsonv.h"
#include "unit_util.h"

static json_object *J(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o)
        fail_msg("test JSON does not parse: %s", text);
    return o;
}

/* A normalised registry with one attribute of each kind. */
static const char registry_text[] =
    "{\"name\":\"BiosAttributeRegistryP89.v1_0_0\",\"attributes\":{"
    "\"BootMode\":{\"type\":\"enumeration\",\"read_only\":false,"
    "  \"values\":[\"Uefi\",\"LegacyBios\"],\"display_name\":\"Boot Mode\"},"
    "\"FreeEnum\":{\"type\":\"enumeration\",\"read_only\":false},"
    "\"ProcCores\":{\"type\":\"integer\",\"read_only\":false,\"min\":0,\"max\":64},"
    "\"MinOnly\":{\"type\":\"integer\",\"read_only\":false,\"min\":10},"
    "\"NoBounds\":{\"type\":\"integer\",\"read_only\":false},"
    "\"SriovEnable\":{\"type\":\"boolean\",\"read_only\":false},"
    "\"AssetTag\":{\"type\":\"string\",\"read_only\":false,\"min_length\":2,\"max_length\":8},"
    "\"AdminPassword\":{\"type\":\"password\",\"read_only\":false,\"max_length\":16},"
    "\"SerialNumber\":{\"type\":\"string\",\"read_only\":true}"
    "}}";

/* Changes accepted: *out must equal want (types included). */
static void check_ok(json_object *reg, const char *changes, const char *want)
{
    json_object *c = J(changes), *w = J(want);
    json_object *out = (json_object *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    ul_err rc = bios_check_changes(reg, c, &out, &em);
    if (rc != UL_OK)
        fail_msg("%s refused (%s): %s", changes, ul_err_name(rc), em.text);
    assert_non_null(out);
    if (!json_object_equal(out, w))
        fail_msg("%s gave %s, expected %s", changes, json_object_to_json_string(out), want);
    json_object_put(out);
    json_object_put(w);
    json_object_put(c);
}

/* Changes refused: UL_ERR_INVALID, *out NULL, em holds every fragment
 * (NULL-ended).  em copied into msg (UL_ERRMSG_LEN bytes) when given. */
static void check_bad_msg(json_object *reg, const char *changes, char *msg, ...)
{
    json_object *c = J(changes);
    json_object *out = (json_object *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    ul_err rc = bios_check_changes(reg, c, &out, &em);
    json_object_put(c);
    if (rc != UL_ERR_INVALID) {
        if (rc == UL_OK) {
            char got[512];
            snprintf(got, sizeof(got), "%s", json_object_to_json_string(out));
            json_object_put(out);
            fail_msg("%s accepted as %s, expected a refusal", changes, got);
        }
        fail_msg("%s: %s (%s), expected invalid", changes, ul_err_name(rc), em.text);
    }
    assert_null(out);
    va_list ap;
    va_start(ap, msg);
    const char *frag;
    while ((frag = va_arg(ap, const char *)) != NULL)
        assert_contains(em.text, frag);
    va_end(ap);
    if (msg)
        snprintf(msg, UL_ERRMSG_LEN, "%s", em.text);
}
#define check_bad(reg, changes, ...) check_bad_msg(reg, changes, NULL, __VA_ARGS__, (char *)NULL)

static void test_enumeration(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    check_ok(reg, "{\"BootMode\":\"Uefi\"}", "{\"BootMode\":\"Uefi\"}");
    check_ok(reg, "{\"BootMode\":\"LegacyBios\"}", "{\"BootMode\":\"LegacyBios\"}");
    /* the message names the attribute, the value and what is allowed */
    char msg[UL_ERRMSG_LEN];
    check_bad_msg(reg, "{\"BootMode\":\"Bios\"}", msg,
                  "BootMode=Bios is not allowed (allowed: Uefi, LegacyBios)", (char *)NULL);
    assert_string_equal(msg, "1 BIOS change refused: BootMode=Bios is not allowed "
                             "(allowed: Uefi, LegacyBios)");
    /* names are compared exactly: a service's enumerations are case-sensitive */
    check_bad(reg, "{\"BootMode\":\"uefi\"}", "BootMode=uefi is not allowed");
    /* a number or a boolean is not a named value */
    check_bad(reg, "{\"BootMode\":1}", "BootMode takes one of its named values, not 1");
    check_bad(reg, "{\"BootMode\":true}", "BootMode takes one of its named values, not true");
    check_bad(reg, "{\"BootMode\":null}", "BootMode needs a value");
    /* an enumeration the registry lists no values for takes any name */
    check_ok(reg, "{\"FreeEnum\":\"Whatever\"}", "{\"FreeEnum\":\"Whatever\"}");
    check_bad(reg, "{\"FreeEnum\":3}", "FreeEnum takes one of its named values, not 3");
    json_object_put(reg);
}

static void test_integer(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    check_ok(reg, "{\"ProcCores\":7}", "{\"ProcCores\":7}");
    /* "7" from a form or the CLI becomes the integer 7 */
    check_ok(reg, "{\"ProcCores\":\"7\"}", "{\"ProcCores\":7}");
    json_object *c = J("{\"ProcCores\":\"12\"}"), *out = NULL, *v;
    ul_errmsg em = {{0}};
    assert_int_equal(bios_check_changes(reg, c, &out, &em), UL_OK);
    assert_true(json_object_object_get_ex(out, "ProcCores", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 12);
    json_object_put(out);
    json_object_put(c);
    /* the bounds are inclusive */
    check_ok(reg, "{\"ProcCores\":0}", "{\"ProcCores\":0}");
    check_ok(reg, "{\"ProcCores\":64}", "{\"ProcCores\":64}");
    check_ok(reg, "{\"ProcCores\":\"64\"}", "{\"ProcCores\":64}");
    check_bad(reg, "{\"ProcCores\":65}", "ProcCores=65 is out of range (0 to 64)");
    check_bad(reg, "{\"ProcCores\":-1}", "ProcCores=-1 is out of range (0 to 64)");
    check_bad(reg, "{\"ProcCores\":\"100\"}", "ProcCores=100 is out of range (0 to 64)");
    /* one bound only: the other side is open */
    check_ok(reg, "{\"MinOnly\":1000000}", "{\"MinOnly\":1000000}");
    check_bad(reg, "{\"MinOnly\":9}", "MinOnly=9 is out of range (10 to +inf)");
    check_ok(reg, "{\"NoBounds\":-123456789012}", "{\"NoBounds\":-123456789012}");
    /* not integers */
    check_bad(reg, "{\"ProcCores\":\"7x\"}", "ProcCores takes an integer, not 7x");
    check_bad(reg, "{\"ProcCores\":\"\"}", "ProcCores takes an integer");
    check_bad(reg, "{\"ProcCores\":7.5}", "ProcCores takes an integer, not 7.5");
    check_bad(reg, "{\"ProcCores\":true}", "ProcCores takes an integer, not true");
    check_bad(reg, "{\"ProcCores\":[7]}", "ProcCores takes an integer");
    check_bad(reg, "{\"ProcCores\":\"99999999999999999999999\"}", "ProcCores takes an integer");
    json_object_put(reg);
}

static void test_boolean(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    check_ok(reg, "{\"SriovEnable\":true}", "{\"SriovEnable\":true}");
    check_ok(reg, "{\"SriovEnable\":false}", "{\"SriovEnable\":false}");
    check_bad(reg, "{\"SriovEnable\":\"true\"}", "SriovEnable takes true or false, not true");
    check_bad(reg, "{\"SriovEnable\":1}", "SriovEnable takes true or false, not 1");
    check_bad(reg, "{\"SriovEnable\":\"Enabled\"}", "SriovEnable takes true or false, not Enabled");
    json_object_put(reg);
}

static void test_string(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    check_ok(reg, "{\"AssetTag\":\"RACK-A12\"}", "{\"AssetTag\":\"RACK-A12\"}"); /* 8: the max */
    check_ok(reg, "{\"AssetTag\":\"AB\"}", "{\"AssetTag\":\"AB\"}");             /* 2: the min */
    check_bad(reg, "{\"AssetTag\":\"RACK-A123\"}", "AssetTag is longer than 8 characters");
    check_bad(reg, "{\"AssetTag\":\"A\"}", "AssetTag is shorter than 2 characters");
    /* any scalar becomes its text */
    check_ok(reg, "{\"AssetTag\":1234}", "{\"AssetTag\":\"1234\"}");
    check_ok(reg, "{\"AssetTag\":true}", "{\"AssetTag\":\"true\"}");
    check_bad(reg, "{\"AssetTag\":123456789}", "AssetTag is longer than 8 characters");
    check_bad(reg, "{\"AssetTag\":{\"a\":1}}", "AssetTag takes a string");
    check_bad(reg, "{\"AssetTag\":[\"ab\"]}", "AssetTag takes a string");
    check_bad(reg, "{\"AssetTag\":null}", "AssetTag needs a value");
    /* a password is checked like a string */
    check_ok(reg, "{\"AdminPassword\":\"s3cret-pw\"}", "{\"AdminPassword\":\"s3cret-pw\"}");
    check_bad(reg, "{\"AdminPassword\":\"0123456789abcdefX\"}",
              "AdminPassword is longer than 16 characters");
    json_object_put(reg);
}

static void test_read_only_and_unknown(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    char msg[UL_ERRMSG_LEN];
    check_bad_msg(reg, "{\"SerialNumber\":\"X1\"}", msg, "SerialNumber is read-only", (char *)NULL);
    assert_string_equal(msg, "1 BIOS change refused: SerialNumber is read-only");
    /* read-only wins even over a value of the wrong type */
    check_bad(reg, "{\"SerialNumber\":{}}", "SerialNumber is read-only");
    check_bad_msg(reg, "{\"NoSuchKnob\":\"On\"}", msg,
                  "NoSuchKnob is not a BIOS attribute of this system", (char *)NULL);
    assert_string_equal(msg,
                        "1 BIOS change refused: NoSuchKnob is not a BIOS attribute of this system");
    /* attribute names are exact */
    check_bad(reg, "{\"bootmode\":\"Uefi\"}", "bootmode is not a BIOS attribute of this system");
    /* names that cannot be an attribute's */
    check_bad(reg, "{\"\":\"x\"}", "is not valid");
    char name[200], changes[300];
    memset(name, 'N', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    snprintf(changes, sizeof(changes), "{\"%s\":1}", name);
    check_bad(reg, changes, "attribute name 'NNNNNNNNNNNNNNNNNNNNNNNNNNNNNNNN...' is not valid");
    json_object_put(reg);
}

static void test_several_problems(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    char msg[UL_ERRMSG_LEN];
    /* one good change among three bad ones: nothing is accepted, every
     * problem is named, in the order given */
    check_bad_msg(reg,
                  "{\"BootMode\":\"Bios\",\"SriovEnable\":true,\"ProcCores\":99,"
                  "\"Turbo\":\"On\"}",
                  msg, "3 BIOS changes refused: ", (char *)NULL);
    assert_string_equal(msg, "3 BIOS changes refused: BootMode=Bios is not allowed "
                             "(allowed: Uefi, LegacyBios); ProcCores=99 is out of range "
                             "(0 to 64); Turbo is not a BIOS attribute of this system");
    assert_not_contains(msg, "SriovEnable");

    /* many problems: the count is exact, the message stays bounded */
    json_object *c = json_object_new_object();
    for (int i = 0; i < 60; i++) {
        char n[48];
        snprintf(n, sizeof(n), "UnknownAttributeNumber%02d", i);
        json_object_object_add(c, n, json_object_new_int(i));
    }
    json_object *out = (json_object *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    assert_int_equal(bios_check_changes(reg, c, &out, &em), UL_ERR_INVALID);
    assert_null(out);
    assert_contains(em.text, "60 BIOS changes refused: UnknownAttributeNumber00 is not");
    assert_true(strlen(em.text) < sizeof(em.text));
    json_object_put(c);
    json_object_put(reg);
}

static void test_no_registry(void **state)
{
    (void)state;
    /* nothing to check against: any scalar passes unchanged */
    check_ok(NULL, "{\"A\":\"x\",\"B\":7,\"C\":true,\"D\":1.5,\"E\":\"7\"}",
             "{\"A\":\"x\",\"B\":7,\"C\":true,\"D\":1.5,\"E\":\"7\"}");
    check_bad(NULL, "{\"A\":{\"x\":1}}", "A: a value must be a string, a number or a boolean");
    check_bad(NULL, "{\"B\":[1]}", "B: a value must be a string, a number or a boolean");
    check_bad(NULL, "{\"C\":null}", "C: a value must be a string, a number or a boolean");
    char msg[UL_ERRMSG_LEN];
    check_bad_msg(NULL, "{\"A\":{},\"ok\":1,\"B\":[],\"C\":null}", msg,
                  "3 BIOS changes refused: ", (char *)NULL);
    assert_not_contains(msg, "ok");
    /* the name check still applies */
    check_bad(NULL, "{\"\":1}", "is not valid");
}

static void test_empty_changes(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    const char *shapes[] = {"{}", "[]", "[{\"BootMode\":\"Uefi\"}]", "\"BootMode\"", "7"};
    for (size_t i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
        for (int with_reg = 0; with_reg < 2; with_reg++) {
            json_object *c = J(shapes[i]);
            json_object *out = (json_object *)(uintptr_t)0x1;
            ul_errmsg em = {{0}};
            assert_int_equal(bios_check_changes(with_reg ? reg : NULL, c, &out, &em),
                             UL_ERR_INVALID);
            assert_null(out);
            assert_string_equal(em.text, "no BIOS attributes to set");
            json_object_put(c);
        }
    }
    json_object *out = (json_object *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    assert_int_equal(bios_check_changes(reg, NULL, &out, &em), UL_ERR_INVALID);
    assert_null(out);
    assert_string_equal(em.text, "no BIOS attributes to set");
    json_object_put(reg);
}

static void test_accepted_set_is_new(void **state)
{
    (void)state;
    json_object *reg = J(registry_text);
    json_object *c = J("{\"BootMode\":\"Uefi\",\"ProcCores\":\"8\",\"SriovEnable\":false,"
                       "\"AssetTag\":42}");
    json_object *out = NULL;
    ul_errmsg em = {{0}};
    assert_int_equal(bios_check_changes(reg, c, &out, &em), UL_OK);
    assert_true(out != c);
    assert_int_equal(json_object_object_length(out), 4);
    json_object *want =
        J("{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"SriovEnable\":false,\"AssetTag\":\"42\"}");
    assert_true(json_object_equal(out, want));
    /* the caller's object is left as it was */
    json_object *orig = J("{\"BootMode\":\"Uefi\",\"ProcCores\":\"8\",\"SriovEnable\":false,"
                          "\"AssetTag\":42}");
    assert_true(json_object_equal(c, orig));
    /* and outlives the input */
    json_object_put(c);
    json_object_put(reg);
    assert_string_equal(jv_str(out, "BootMode"), "Uefi");
    json_object_put(orig);
    json_object_put(want);
    json_object_put(out);
}

/* ---- bios_verify ---- */

static void test_verify_equal(void **state)
{
    (void)state;
    json_object *wanted = J("{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"SriovEnable\":true}");
    json_object *current =
        J("{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"SriovEnable\":true,\"Other\":\"x\"}");
    json_object *msgs = J("[{\"id\":\"Base.1.8.Success\",\"message\":\"done\","
                          "\"attributes\":[\"BootMode\"]}]");
    json_object *bad = bios_verify(wanted, current, msgs);
    assert_non_null(bad);
    assert_true(json_object_is_type(bad, json_type_object));
    assert_int_equal(json_object_object_length(bad), 0);
    json_object_put(bad);
    bad = bios_verify(wanted, current, NULL);
    assert_int_equal(json_object_object_length(bad), 0);
    json_object_put(bad);
    json_object_put(msgs);
    json_object_put(current);
    json_object_put(wanted);
}

static void test_verify_mismatch(void **state)
{
    (void)state;
    json_object *wanted =
        J("{\"BootMode\":\"LegacyBios\",\"ProcCores\":8,\"SriovEnable\":true,\"NewKnob\":3}");
    json_object *current = J("{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"SriovEnable\":false}");
    json_object *msgs =
        J("[{\"id\":\"Base.1.8.PropertyValueNotInList\",\"message\":\"The value LegacyBios for "
          "BootMode is not supported\",\"attributes\":[\"BootMode\"]},"
          "{\"id\":\"Other\",\"message\":\"about something else\","
          "\"attributes\":[\"ProcCores2\",\"Boot\"]},"
          "{\"id\":\"NoAttrs\",\"message\":\"no attributes named\"}]");
    json_object *bad = bios_verify(wanted, current, msgs);
    assert_int_equal(json_object_object_length(bad), 3);
    json_object *o, *v;

    assert_true(json_object_object_get_ex(bad, "BootMode", &o));
    assert_string_equal(jv_str(o, "wanted"), "LegacyBios");
    assert_string_equal(jv_str(o, "current"), "Uefi");
    assert_string_equal(jv_str(o, "message"), "The value LegacyBios for BootMode is not supported");

    /* a mismatch the service said nothing about: no message */
    assert_true(json_object_object_get_ex(bad, "SriovEnable", &o));
    assert_true(json_object_object_get_ex(o, "wanted", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "current", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));
    assert_false(json_object_object_get_ex(o, "message", &v));

    /* missing from the current attributes: current is null */
    assert_true(json_object_object_get_ex(bad, "NewKnob", &o));
    assert_true(json_object_object_get_ex(o, "wanted", &v));
    assert_int_equal(json_object_get_int(v), 3);
    assert_true(json_object_object_get_ex(o, "current", &v));
    assert_null(v);
    assert_false(json_object_object_get_ex(o, "message", &v));

    /* equal values are not reported */
    assert_false(json_object_object_get_ex(bad, "ProcCores", &o));
    json_object_put(bad);

    /* no current attributes at all: every wanted one is reported */
    bad = bios_verify(wanted, NULL, NULL);
    assert_int_equal(json_object_object_length(bad), 4);
    assert_true(json_object_object_get_ex(bad, "ProcCores", &o));
    assert_true(json_object_object_get_ex(o, "current", &v));
    assert_null(v);
    json_object_put(bad);

    json_object_put(msgs);
    json_object_put(current);
    json_object_put(wanted);
}

static void test_verify_type_matters(void **state)
{
    (void)state;
    /* 8 is not "8": a BMC that reports another type did not take the value
     * as requested (bios_check_changes converts to the registry's type) */
    json_object *wanted = J("{\"ProcCores\":8}");
    json_object *current = J("{\"ProcCores\":\"8\"}");
    json_object *bad = bios_verify(wanted, current, NULL);
    assert_int_equal(json_object_object_length(bad), 1);
    json_object *o;
    assert_true(json_object_object_get_ex(bad, "ProcCores", &o));
    assert_string_equal(jv_str(o, "current"), "8");
    json_object_put(bad);
    json_object_put(current);
    json_object_put(wanted);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_enumeration),
        cmocka_unit_test(test_integer),
        cmocka_unit_test(test_boolean),
        cmocka_unit_test(test_string),
        cmocka_unit_test(test_read_only_and_unknown),
        cmocka_unit_test(test_several_problems),
        cmocka_unit_test(test_no_registry),
        cmocka_unit_test(test_empty_changes),
        cmocka_unit_test(test_accepted_set_is_new),
        cmocka_unit_test(test_verify_equal),
        cmocka_unit_test(test_verify_mismatch),
        cmocka_unit_test(test_verify_type_matters),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
