/* test_plan.c - unit tests for ops/plan.h: what power, boot, BIOS, RAID and
 * firmware operations would do, from a current state written by hand in the
 * drivers' normalised shapes (bmc/driver.h, ops/bios.h).  Each plan is
 * compared whole with the expected JSON, so a missing or extra entry fails. */
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
#include "ops/plan.h"
#include "unit_util.h"

static json_object *J(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o)
        fail_msg("test JSON does not parse: %s", text);
    return o;
}

/* The plan equals want, where want gives only the non-empty keys of the
 * plan's shape (the others must be empty, "reset" "none"). */
static void expect_plan(json_object *plan, const char *want_text)
{
    json_object *want = J(want_text);
    json_object *full = json_object_new_object();
    static const char *arrays[] = {"changes", "unchanged", "refused", "needs_reset", "notes"};
    json_object_object_add(full, "op", json_object_get(json_object_object_get(want, "op")));
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++) {
        json_object *v = json_object_object_get(want, arrays[i]);
        json_object_object_add(full, arrays[i], v ? json_object_get(v) : json_object_new_array());
    }
    json_object *reset = json_object_object_get(want, "reset");
    json_object_object_add(full, "reset",
                           reset ? json_object_get(reset) : json_object_new_string("none"));
    if (!json_object_equal(plan, full))
        fail_msg("plan\n  %s\nexpected\n  %s", json_object_to_json_string(plan),
                 json_object_to_json_string(full));
    json_object_put(full);
    json_object_put(want);
    json_object_put(plan);
}

/* ---- power ---- */

static void test_power_already(void **state)
{
    (void)state;
    expect_plan(plan_power(UL_POWER_ON, UL_POWER_ACTION_ON),
                "{\"op\":\"power\",\"unchanged\":[{\"target\":\"power\",\"value\":\"on\"}]}");
    expect_plan(plan_power(UL_POWER_OFF, UL_POWER_ACTION_SOFT),
                "{\"op\":\"power\",\"unchanged\":[{\"target\":\"power\",\"value\":\"off\"}]}");
    expect_plan(plan_power(UL_POWER_OFF, UL_POWER_ACTION_OFF),
                "{\"op\":\"power\",\"unchanged\":[{\"target\":\"power\",\"value\":\"off\"}]}");
}

static void test_power_send(void **state)
{
    (void)state;
    expect_plan(plan_power(UL_POWER_OFF, UL_POWER_ACTION_ON),
                "{\"op\":\"power\",\"changes\":[{\"target\":\"power\",\"from\":\"off\","
                "\"to\":{\"action\":\"on\",\"state\":\"on\"}}]}");
    /* Unknown state: sent, never assumed to be there already. */
    json_object *p = plan_power(UL_POWER_UNKNOWN, UL_POWER_ACTION_OFF);
    assert_int_equal(plan_nchanges(p), 1);
    json_object_put(p);
}

static void test_power_unverifiable(void **state)
{
    (void)state;
    /* cycle and reset are sent whatever the state, and say they cannot be
     * verified by it. */
    json_object *p = plan_power(UL_POWER_ON, UL_POWER_ACTION_CYCLE);
    assert_int_equal(plan_nchanges(p), 1);
    assert_contains(json_object_to_json_string(json_object_object_get(p, "notes")),
                    "cannot be verified");
    json_object_put(p);
    p = plan_power(UL_POWER_ON, UL_POWER_ACTION_RESET);
    assert_contains(json_object_to_json_string(json_object_object_get(p, "notes")),
                    "power reset cannot be verified");
    json_object_put(p);
    p = plan_power(UL_POWER_ON, UL_POWER_ACTION_SOFT);
    assert_contains(json_object_to_json_string(json_object_object_get(p, "notes")), "the OS");
    json_object_put(p);
    assert_int_equal(plan_power_target(UL_POWER_ACTION_SOFT), UL_POWER_OFF);
    assert_int_equal(plan_power_target(UL_POWER_ACTION_CYCLE), UL_POWER_ON);
}

/* ---- boot ---- */

static void test_boot(void **state)
{
    (void)state;
    struct ul_boot cur = {.device = UL_BOOT_PXE, .persistent = false, .uefi = true};
    struct ul_boot want = cur;
    expect_plan(plan_boot(&cur, &want),
                "{\"op\":\"boot\",\"unchanged\":[{\"target\":\"boot\",\"value\":"
                "{\"device\":\"pxe\",\"persistent\":false,\"uefi\":true}}]}");
    want.persistent = true;
    expect_plan(plan_boot(&cur, &want),
                "{\"op\":\"boot\",\"changes\":[{\"target\":\"boot\","
                "\"from\":{\"device\":\"pxe\",\"persistent\":false,\"uefi\":true},"
                "\"to\":{\"device\":\"pxe\",\"persistent\":true,\"uefi\":true}}]}");
    /* A BMC that does not report the flags: the device alone decides. */
    cur.flags_unknown = true;
    json_object *p = plan_boot(&cur, &want);
    assert_int_equal(plan_nchanges(p), 0);
    assert_contains(json_object_to_json_string(p), "only the device is compared");
    json_object_put(p);
    want.device = UL_BOOT_DISK;
    p = plan_boot(&cur, &want);
    assert_int_equal(plan_nchanges(p), 1);
    json_object_put(p);
}

/* ---- BIOS ---- */

static const char bios_text[] =
    "{\"attributes\":{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"SriovEnable\":false,"
    "\"SerialNumber\":\"X1\"},"
    "\"pending\":{\"SriovEnable\":true},"
    "\"apply_times\":[\"OnReset\"]}";

static const char registry_text[] =
    "{\"name\":\"R\",\"attributes\":{"
    "\"BootMode\":{\"type\":\"enumeration\",\"values\":[\"Uefi\",\"LegacyBios\"]},"
    "\"ProcCores\":{\"type\":\"integer\",\"min\":0,\"max\":64},"
    "\"SriovEnable\":{\"type\":\"boolean\"},"
    "\"SerialNumber\":{\"type\":\"string\",\"read_only\":true}}}";

static void test_bios_mixed(void **state)
{
    (void)state;
    json_object *bios = J(bios_text), *reg = J(registry_text);
    json_object *want = J("{\"BootMode\":\"LegacyBios\",\"ProcCores\":\"8\",\"SriovEnable\":false,"
                          "\"SerialNumber\":\"Y\",\"Nope\":1}");
    enum ul_apply_time at = UL_APPLY_IMMEDIATE;
    /* ProcCores "8" converts to 8, the value in place: unchanged.
     * SriovEnable false is current but true is staged: a change (it would
     * otherwise flip at the next reset).  SerialNumber is read-only, Nope
     * unknown: refused, each with its own reason. */
    expect_plan(plan_bios(bios, reg, want, NULL, &at),
                "{\"op\":\"bios.set\","
                "\"changes\":[{\"target\":\"BootMode\",\"from\":\"Uefi\",\"to\":\"LegacyBios\"},"
                "{\"target\":\"SriovEnable\",\"from\":false,\"to\":false}],"
                "\"unchanged\":[{\"target\":\"ProcCores\",\"value\":8}],"
                "\"refused\":[{\"target\":\"SerialNumber\",\"code\":\"invalid_argument\","
                "\"reason\":\"SerialNumber is read-only\"},"
                "{\"target\":\"Nope\",\"code\":\"invalid_argument\","
                "\"reason\":\"Nope is not a BIOS attribute of this system\"}],"
                "\"needs_reset\":[\"BootMode\",\"SriovEnable\"],"
                "\"reset\":\"at the next reset\"}");
    assert_int_equal(at, UL_APPLY_ON_RESET);
    json_object_put(want);
    json_object_put(reg);
    json_object_put(bios);
}

static void test_bios_apply_times(void **state)
{
    (void)state;
    json_object *bios = J(bios_text), *want = J("{\"BootMode\":\"LegacyBios\"}");
    enum ul_apply_time at;
    /* now, without Immediate: staged, then this job resets the host. */
    json_object *p = plan_bios(bios, NULL, want, "now", &at);
    assert_string_equal(jv_str(p, "reset"), "by this job");
    assert_int_equal(at, UL_APPLY_ON_RESET);
    json_object_put(p);
    /* now, with Immediate: no reset at all. */
    json_object_object_add(bios, "apply_times", J("[\"Immediate\",\"OnReset\"]"));
    p = plan_bios(bios, NULL, want, "now", &at);
    assert_string_equal(jv_str(p, "reset"), "none");
    assert_int_equal(json_object_array_length(json_object_object_get(p, "needs_reset")), 0);
    assert_int_equal(at, UL_APPLY_IMMEDIATE);
    json_object_put(p);
    /* Nothing to change: no reset either. */
    json_object_put(want);
    want = J("{\"BootMode\":\"Uefi\"}");
    p = plan_bios(bios, NULL, want, NULL, &at);
    assert_int_equal(plan_nchanges(p), 0);
    assert_string_equal(jv_str(p, "reset"), "none");
    json_object_put(p);
    /* No apply times advertised: the BMC's default. */
    json_object_object_del(bios, "apply_times");
    json_object *none = J("{}");
    p = plan_bios(bios, NULL, none, NULL, &at);
    assert_int_equal(at, UL_APPLY_DEFAULT);
    const char *why;
    assert_int_equal(plan_refusal(p, &why), UL_ERR_INVALID);
    assert_string_equal(why, "no BIOS attributes to set");
    json_object_put(p);
    json_object_put(none);
    json_object_put(want);
    json_object_put(bios);
}

/* ---- RAID ---- */

static const char storage_text[] =
    "{\"controllers\":[{\"id\":\"RAID.1\",\"volumes_path\":\"/v\","
    "\"raid_types\":[\"RAID0\",\"RAID1\"],"
    "\"drives\":[{\"id\":\"D0\",\"volumes\":[\"V1\"]},{\"id\":\"D1\",\"volumes\":[]},"
    "{\"id\":\"D2\"}],"
    "\"volumes\":[{\"id\":\"V1\",\"name\":\"os\",\"raid_type\":\"RAID0\",\"drives\":[\"D0\"]}]},"
    "{\"id\":\"AHCI.1\",\"drives\":[]}]}";

static void test_raid_create_ok(void **state)
{
    (void)state;
    json_object *st = J(storage_text);
    json_object *params =
        J("{\"name\":\"data\",\"raid_type\":\"RAID1\",\"drives\":[\"D1\",\"D2\"]}");
    expect_plan(plan_raid_create(st, params),
                "{\"op\":\"raid.create\",\"changes\":[{\"target\":\"volume data\",\"from\":null,"
                "\"to\":{\"controller\":\"RAID.1\",\"raid_type\":\"RAID1\","
                "\"drives\":[\"D1\",\"D2\"],\"capacity_bytes\":null}}]}");
    json_object_put(params);
    json_object_put(st);
}

static void test_raid_create_refused(void **state)
{
    (void)state;
    json_object *st = J(storage_text);
    /* Every reason at once: a level not offered, a drive in use, one unknown. */
    json_object *params =
        J("{\"name\":\"d\",\"raid_type\":\"RAID5\",\"drives\":[\"D0\",\"D9\",\"D1\"]}");
    json_object *p = plan_raid_create(st, params);
    json_object *ref = json_object_object_get(p, "refused");
    assert_int_equal(json_object_array_length(ref), 3);
    const char *why;
    assert_int_equal(plan_refusal(p, &why), UL_ERR_INVALID);
    assert_string_equal(why, "controller RAID.1 cannot build RAID5 (it offers [ \"RAID0\", "
                             "\"RAID1\" ])");
    assert_string_equal(jv_str(json_object_array_get_idx(ref, 1), "reason"),
                        "drive D0 already belongs to volume V1");
    assert_string_equal(jv_str(json_object_array_get_idx(ref, 1), "code"), "conflict");
    assert_string_equal(jv_str(json_object_array_get_idx(ref, 2), "reason"),
                        "controller RAID.1 has no drive 'D9'");
    json_object_put(p);
    json_object_put(params);
    /* A controller that is not there. */
    params = J("{\"controller\":\"X\",\"name\":\"d\",\"raid_type\":\"RAID0\",\"drives\":[\"D1\"]}");
    p = plan_raid_create(st, params);
    assert_int_equal(plan_refusal(p, &why), UL_ERR_NOT_FOUND);
    assert_string_equal(why, "no storage controller 'X'");
    assert_int_equal(plan_nchanges(p), 0);
    json_object_put(p);
    json_object_put(params);
    json_object_put(st);
}

static void test_raid_delete(void **state)
{
    (void)state;
    json_object *st = J(storage_text);
    json_object *params = J("{\"volume\":\"V1\"}");
    expect_plan(plan_raid_delete(st, params),
                "{\"op\":\"raid.delete\",\"changes\":[{\"target\":\"volume V1\",\"from\":"
                "{\"id\":\"V1\",\"name\":\"os\",\"raid_type\":\"RAID0\",\"drives\":[\"D0\"]},"
                "\"to\":null}]}");
    json_object_put(params);
    params = J("{\"volume\":\"V7\"}");
    expect_plan(
        plan_raid_delete(st, params),
        "{\"op\":\"raid.delete\",\"unchanged\":[{\"target\":\"volume V7\",\"value\":null}]}");
    json_object_put(params);
    json_object_put(st);
}

/* ---- firmware ---- */

static const char fw_text[] = "[{\"id\":\"BMC\",\"version\":\"1.0\",\"updateable\":true},"
                              "{\"id\":\"BIOS\",\"version\":\"2.1\",\"updateable\":true},"
                              "{\"id\":\"CPLD\",\"version\":\"0.3\",\"updateable\":false}]";

static void test_firmware(void **state)
{
    (void)state;
    json_object *fw = J(fw_text), *targets = J("[\"BMC\",\"BIOS\",\"CPLD\",\"NIC9\"]");
    expect_plan(plan_firmware(fw, targets, "2.1"),
                "{\"op\":\"firmware.update\","
                "\"changes\":[{\"target\":\"BMC\",\"from\":\"1.0\",\"to\":\"2.1\"}],"
                "\"unchanged\":[{\"target\":\"BIOS\",\"value\":\"2.1\"}],"
                "\"refused\":[{\"target\":\"CPLD\",\"code\":\"not_supported\","
                "\"reason\":\"component CPLD is not updateable\"},"
                "{\"target\":\"NIC9\",\"code\":\"not_found\","
                "\"reason\":\"no firmware component 'NIC9' on this BMC\"}]}");
    /* No version: every updateable target changes, to a version unknown yet. */
    json_object_put(targets);
    targets = J("[\"BMC\",\"BIOS\"]");
    json_object *p = plan_firmware(fw, targets, NULL);
    assert_int_equal(plan_nchanges(p), 2);
    assert_contains(json_object_to_json_string(p), "known only after the update");
    json_object_put(p);
    /* No targets: the BMC picks. */
    p = plan_firmware(fw, NULL, "3.0");
    assert_int_equal(plan_nchanges(p), 1);
    assert_contains(json_object_to_json_string(p), "the BMC picks");
    json_object_put(p);
    json_object_put(targets);
    json_object_put(fw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_power_already),      cmocka_unit_test(test_power_send),
        cmocka_unit_test(test_power_unverifiable), cmocka_unit_test(test_boot),
        cmocka_unit_test(test_bios_mixed),         cmocka_unit_test(test_bios_apply_times),
        cmocka_unit_test(test_raid_create_ok),     cmocka_unit_test(test_raid_create_refused),
        cmocka_unit_test(test_raid_delete),        cmocka_unit_test(test_firmware),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
