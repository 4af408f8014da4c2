/* test_redfish.c - unit tests for the Redfish driver's pure helpers
 * (redfish/redfish.h): link resolution, loop detection, sensor and
 * threshold mapping, reset-type choice, boot targets, log cursors, option
 * checking, status mapping, and hostile JSON.  The HTTP paths are covered by
 * the integration tests against the project's Redfish emulator. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/node.h"
#include "ops/bios.h"
#include "ops/discover_op.h"
#include "jsonv.h"
#include "redfish/redfish.h"
#include "unit_util.h"

static json_object *J(const char *text)
{
    json_object *o = json_tokener_parse(text);
    if (!o)
        fail_msg("test JSON does not parse: %s", text);
    return o;
}

/* ---- links ---- */

static void resolve_ok(const char *base, const char *ref, const char *want)
{
    char out[RF_PATH_MAX];
    if (!rf_link_resolve(base, ref, out, sizeof(out)))
        fail_msg("rf_link_resolve(%s, %s) refused, expected %s", base ? base : "NULL", ref, want);
    assert_string_equal(out, want);
}

static void resolve_bad(const char *base, const char *ref)
{
    char out[RF_PATH_MAX];
    if (rf_link_resolve(base, ref, out, sizeof(out)))
        fail_msg("rf_link_resolve(%s, %s) gave %s, expected a refusal", base ? base : "NULL",
                 ref ? ref : "NULL", out);
}

static void test_link_resolve(void **state)
{
    (void)state;
    resolve_ok(NULL, "/redfish/v1/Systems/1", "/redfish/v1/Systems/1");
    /* HPE iLO 5 style: lower case and trailing slash kept as given */
    resolve_ok(NULL, "/redfish/v1/systems/1/", "/redfish/v1/systems/1/");
    /* full URLs lose scheme and host: we only talk to our own BMC */
    resolve_ok(NULL, "https://10.0.0.5:8443/redfish/v1/Chassis/1U", "/redfish/v1/Chassis/1U");
    resolve_ok(NULL, "https://evil.example/redfish/v1/Managers/1", "/redfish/v1/Managers/1");
    /* relative links are children of the resource that holds them */
    resolve_ok("/redfish/v1/", "Systems", "/redfish/v1/Systems");
    resolve_ok("/redfish/v1/Systems", "1", "/redfish/v1/Systems/1");
    resolve_ok("/redfish/v1/Systems/", "1/", "/redfish/v1/Systems/1/");
    resolve_ok("/redfish/v1/Systems?$skip=2", "1", "/redfish/v1/Systems/1");
    /* fragments (Thermal#/Fans/0) go, queries stay, "//" collapses */
    resolve_ok(NULL, "/redfish/v1/Chassis/1U/Thermal#/Fans/0", "/redfish/v1/Chassis/1U/Thermal");
    resolve_ok(NULL, "/redfish/v1/X/Entries?$skiptoken=2", "/redfish/v1/X/Entries?$skiptoken=2");
    resolve_ok(NULL, "/redfish//v1///Systems", "/redfish/v1/Systems");
    resolve_ok(NULL, "/redfish", "/redfish");

    resolve_bad(NULL, "");
    resolve_bad(NULL, NULL);
    resolve_bad(NULL, "Systems/1"); /* relative without a base */
    resolve_bad(NULL, "/etc/passwd");
    resolve_bad(NULL, "/redfishy/v1");
    resolve_bad(NULL, "/redfish/v1/../../etc");
    resolve_bad(NULL, "/redfish/v1/Systems/%2e%2e/x");
    resolve_bad(NULL, "/redfish/v1/Sys tems");
    resolve_bad(NULL, "/redfish/v1/Sys\ntems");
    resolve_bad(NULL, "/redfish/v1/Sys\"tems");
    resolve_bad(NULL, "https://host");
    resolve_bad("/redfish/v1", "../x");
    char longp[RF_PATH_MAX + 40] = "/redfish/v1/";
    memset(longp + 12, 'a', sizeof(longp) - 13);
    longp[sizeof(longp) - 1] = '\0';
    resolve_bad(NULL, longp);
}

static void test_path_key(void **state)
{
    (void)state;
    char k[RF_PATH_MAX];
    rf_path_key("/redfish/v1/Systems/1/", k, sizeof(k));
    assert_string_equal(k, "/redfish/v1/systems/1");
    rf_path_key("/redfish/v1/", k, sizeof(k));
    assert_string_equal(k, "/redfish/v1");
    rf_path_key("/redfish/v1/X/Entries?$skipToken=AbC", k, sizeof(k));
    assert_string_equal(k, "/redfish/v1/x/entries?$skipToken=AbC");
    assert_true(rf_path_same("/redfish/v1/Systems/1", "/redfish/v1/systems/1/"));
    assert_false(rf_path_same("/redfish/v1/Systems/1", "/redfish/v1/Systems/10"));
    assert_false(rf_path_same(NULL, "/redfish/v1"));
}

static void test_visited(void **state)
{
    (void)state;
    struct rf_visited v = {0};
    assert_int_equal(rf_visited_add(&v, "/redfish/v1/Systems"), 1);
    assert_int_equal(rf_visited_add(&v, "/redfish/v1/systems/"), 0); /* same resource */
    assert_int_equal(rf_visited_add(&v, "/redfish/v1/Systems?$skiptoken=2"), 1);
    char p[64];
    for (int i = 0; i < 2000; i++) { /* growth and rehashing keep every key */
        snprintf(p, sizeof(p), "/redfish/v1/Chassis/%d", i);
        assert_int_equal(rf_visited_add(&v, p), 1);
    }
    for (int i = 0; i < 2000; i += 97) {
        snprintf(p, sizeof(p), "/redfish/v1/chassis/%d/", i);
        assert_int_equal(rf_visited_add(&v, p), 0);
    }
    /* the set is bounded: a hostile service cannot make it grow for ever */
    int rc = 1;
    for (int i = 0; i < RF_MAX_VISITED + 10 && rc == 1; i++) {
        snprintf(p, sizeof(p), "/redfish/v1/Loop/%d", i);
        rc = rf_visited_add(&v, p);
    }
    assert_int_equal(rc, -1);
    assert_int_equal(v.count, RF_MAX_VISITED);
    rf_visited_free(&v);
    assert_int_equal(v.count, 0);
    rf_visited_free(NULL);
}

static void test_props(void **state)
{
    (void)state;
    json_object *o = J("{\"Systems\":{\"@odata.id\":\"/redfish/v1/Systems\"},"
                       "\"linkS\":{\"sessions\":{\"@odata.id\":\"/x\"}},"
                       "\"N\":3.5,\"S\":\"str\",\"B\":true,\"Big\":1e400}");
    assert_string_equal(rf_prop_link(o, "Systems"), "/redfish/v1/Systems");
    assert_string_equal(rf_prop_link(rf_prop(o, "Links"), "Sessions"), "/x");
    double d;
    assert_true(rf_prop_num(o, "n", &d));
    assert_true(d == 3.5);
    assert_false(rf_prop_num(o, "S", &d));
    assert_false(rf_prop_num(o, "B", &d));
    assert_false(rf_prop_num(o, "Missing", &d));
    assert_null(rf_prop_str(o, "N"));
    assert_string_equal(rf_prop_str(o, "s"), "str");
    assert_null(rf_prop(NULL, "x"));
    assert_null(rf_prop_link(o, "S")); /* not a link object */
    json_object_put(o);
}

static void test_copy_text(void **state)
{
    (void)state;
    char buf[16];
    rf_copy_text(buf, sizeof(buf), "  a\n\tb  c \r\n");
    assert_string_equal(buf, "a b c");
    rf_copy_text(buf, sizeof(buf), "caf\xc3\xa9\x01");
    assert_string_equal(buf, "caf???");
    rf_copy_text(buf, sizeof(buf), "0123456789abcdefghij");
    assert_string_equal(buf, "0123456789abcde");
    rf_copy_text(buf, sizeof(buf), NULL);
    assert_string_equal(buf, "");
}

static void test_json_quote(void **state)
{
    (void)state;
    char buf[64];
    size_t used = 0;
    assert_true(rf_json_quote(buf, sizeof(buf), &used, "a\"b\\c\n\x01"));
    assert_string_equal(buf, "\"a\\\"b\\\\c\\u000a\\u0001\"");
    json_object *o = NULL;
    ul_errmsg em;
    /* what it writes is valid JSON that reads back as the input */
    char doc[80];
    snprintf(doc, sizeof(doc), "[%s]", buf);
    assert_int_equal(jv_parse(doc, strlen(doc), 4, &o, &em), UL_OK);
    assert_string_equal(json_object_get_string(json_object_array_get_idx(o, 0)), "a\"b\\c\n\x01");
    json_object_put(o);
    char small[6];
    used = 0;
    assert_false(rf_json_quote(small, sizeof(small), &used, "abcdef"));
}

/* ---- time ---- */

static void test_time_parse(void **state)
{
    (void)state;
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00Z"), 1331131440);
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00+00:00"), 1331131440);
    assert_int_equal(rf_time_parse("2012-03-07T20:44:00+06:00"), 1331131440);
    assert_int_equal(rf_time_parse("2012-03-07T09:44:00-05:00"), 1331131440);
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00.123456Z"), 1331131440);
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00"), 1331131440); /* no zone: UTC */
    assert_int_equal(rf_time_parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(rf_time_parse("1969-12-31T00:00:00Z"), 0); /* clamped */
    /* HPE iLO writes this for entries made before its clock was set */
    assert_int_equal(rf_time_parse("0000-00-00T00:00:00Z"), -1);
    assert_int_equal(rf_time_parse(NULL), -1);
    assert_int_equal(rf_time_parse(""), -1);
    assert_int_equal(rf_time_parse("2012-03-07"), -1);
    assert_int_equal(rf_time_parse("2012-13-07T14:44:00Z"), -1);
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00Zjunk"), -1);
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00+6"), -1);
    assert_int_equal(rf_time_parse("2012-03-07T14:44:00."), -1);
}

/* ---- power and boot ---- */

static void test_power_state_map(void **state)
{
    (void)state;
    assert_int_equal(rf_power_state_map("On"), UL_POWER_ON);
    assert_int_equal(rf_power_state_map("off"), UL_POWER_OFF);
    assert_int_equal(rf_power_state_map("PoweringOn"), UL_POWER_ON);
    assert_int_equal(rf_power_state_map("PoweringOff"), UL_POWER_OFF);
    assert_int_equal(rf_power_state_map("Paused"), UL_POWER_ON);
    assert_int_equal(rf_power_state_map("Sleeping"), UL_POWER_UNKNOWN);
    assert_int_equal(rf_power_state_map(NULL), UL_POWER_UNKNOWN);
}

static void test_reset_choose(void **state)
{
    (void)state;
    /* the DMTF rack mockup and HPE iLO 5: no PowerCycle */
    const char *dmtf[] = {"On",
                          "ForceOff",
                          "GracefulShutdown",
                          "GracefulRestart",
                          "ForceRestart",
                          "Nmi",
                          "ForceOn",
                          "PushPowerButton",
                          NULL};
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_ON, dmtf, UL_POWER_OFF), "On");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_OFF, dmtf, UL_POWER_ON), "ForceOff");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_SOFT, dmtf, UL_POWER_ON),
                        "GracefulShutdown");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_RESET, dmtf, UL_POWER_ON), "ForceRestart");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, dmtf, UL_POWER_ON), "ForceRestart");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, dmtf, UL_POWER_UNKNOWN),
                        "ForceRestart");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, dmtf, UL_POWER_OFF), "On");

    const char *cycle[] = {"On", "ForceOff", "PowerCycle", "GracefulRestart", NULL};
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, cycle, UL_POWER_ON), "PowerCycle");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, cycle, UL_POWER_OFF), "PowerCycle");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_RESET, cycle, UL_POWER_ON),
                        "GracefulRestart");
    assert_null(rf_reset_choose(UL_POWER_ACTION_SOFT, cycle, UL_POWER_ON));

    const char *forceon[] = {"ForceOn", "ForceOff", NULL};
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_ON, forceon, UL_POWER_OFF), "ForceOn");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, forceon, UL_POWER_OFF), "ForceOn");
    assert_null(rf_reset_choose(UL_POWER_ACTION_CYCLE, forceon, UL_POWER_ON));
    assert_null(rf_reset_choose(UL_POWER_ACTION_RESET, forceon, UL_POWER_ON));

    /* the service's spelling is what we send */
    const char *lower[] = {"forceoff", NULL};
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_OFF, lower, UL_POWER_ON), "forceoff");

    /* a service that lists nothing gets the standard values */
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_CYCLE, NULL, UL_POWER_ON), "PowerCycle");
    assert_string_equal(rf_reset_choose(UL_POWER_ACTION_ON, NULL, UL_POWER_OFF), "On");
    const char *none[] = {NULL};
    assert_null(rf_reset_choose(UL_POWER_ACTION_ON, none, UL_POWER_OFF));
    assert_null(rf_reset_choose((enum ul_power_action)0, NULL, UL_POWER_OFF));
}

static void test_boot_targets(void **state)
{
    (void)state;
    assert_string_equal(rf_boot_target_name(UL_BOOT_PXE), "Pxe");
    assert_string_equal(rf_boot_target_name(UL_BOOT_DISK), "Hdd");
    assert_string_equal(rf_boot_target_name(UL_BOOT_CDROM), "Cd");
    assert_string_equal(rf_boot_target_name(UL_BOOT_BIOS), "BiosSetup");
    assert_string_equal(rf_boot_target_name(UL_BOOT_NONE), "None");
    assert_int_equal(rf_boot_target_parse("Pxe"), UL_BOOT_PXE);
    assert_int_equal(rf_boot_target_parse("hdd"), UL_BOOT_DISK);
    assert_int_equal(rf_boot_target_parse("BiosSetup"), UL_BOOT_BIOS);
    assert_int_equal(rf_boot_target_parse("None"), UL_BOOT_NONE);
    assert_int_equal(rf_boot_target_parse("Usb"), -1);
    assert_int_equal(rf_boot_target_parse("UefiTarget"), -1);
    assert_int_equal(rf_boot_target_parse(NULL), -1);
}

/* ---- sensors ---- */

static void kind_is(const char *rt, const char *units, const char *ctx, const char *name,
                    enum ul_sensor_kind kind, const char *unit)
{
    struct ul_sensor u;
    memset(&u, 0, sizeof(u));
    rf_sensor_kind_unit(rt, units, ctx, name, &u);
    if (u.kind != kind || strcmp(u.unit, unit) != 0)
        fail_msg("(%s, %s, %s, %s): got %s/%s, want %s/%s", rt ? rt : "-", units ? units : "-",
                 ctx ? ctx : "-", name ? name : "-", bmc_sensor_kind_name(u.kind), u.unit,
                 bmc_sensor_kind_name(kind), unit);
}

static void test_sensor_kind_unit(void **state)
{
    (void)state;
    kind_is("Temperature", "Cel", NULL, "CPU", UL_SENSOR_TEMPERATURE, "celsius");
    kind_is(NULL, "Cel", "CPU", "CPU #1 Temperature", UL_SENSOR_TEMPERATURE, "celsius");
    kind_is("Voltage", "V", NULL, "x", UL_SENSOR_VOLTAGE, "volts");
    kind_is("Voltage", NULL, NULL, "PS2 out", UL_SENSOR_VOLTAGE, "volts");
    kind_is("Current", "A", NULL, "x", UL_SENSOR_CURRENT, "amperes");
    kind_is("Power", "W", NULL, "x", UL_SENSOR_POWER, "watts");
    kind_is(NULL, "W", NULL, "x", UL_SENSOR_POWER, "watts");
    kind_is("Rotational", "RPM", "Fan", "x", UL_SENSOR_FAN, "rpm");
    kind_is(NULL, "{rev}/min", NULL, "x", UL_SENSOR_FAN, "rpm");
    kind_is("Percent", "%", "Chassis", "Chassis Fan #1", UL_SENSOR_FAN, "percent");
    kind_is("Percent", "%", "Fan", "Bay 1", UL_SENSOR_FAN, "percent");
    kind_is("Percent", "%", "Battery", "Battery #1 State of Health", UL_SENSOR_OTHER, "percent");
    kind_is("Frequency", "Hz", NULL, "x", UL_SENSOR_OTHER, "hertz");
    kind_is("EnergykWh", "kW.h", NULL, "x", UL_SENSOR_OTHER, "kwh");
    kind_is("Pressure", "Pa", NULL, "x", UL_SENSOR_OTHER, "Pa");
    kind_is(NULL, NULL, NULL, NULL, UL_SENSOR_OTHER, "");
}

static void test_health_map(void **state)
{
    (void)state;
    struct {
        const char *json;
        enum ul_sensor_status want;
    } cases[] = {
        {"{\"State\":\"Enabled\",\"Health\":\"OK\"}", UL_SENSOR_OK},
        {"{\"Health\":\"Warning\"}", UL_SENSOR_WARNING},
        {"{\"State\":\"Enabled\",\"Health\":\"Critical\"}", UL_SENSOR_CRITICAL},
        {"{\"State\":\"Absent\",\"Health\":\"OK\"}", UL_SENSOR_UNKNOWN},
        {"{\"State\":\"Disabled\"}", UL_SENSOR_UNKNOWN},
        {"{\"State\":\"Enabled\"}", UL_SENSOR_UNKNOWN},
        {"{\"Health\":42}", UL_SENSOR_UNKNOWN},
        {"{\"Health\":\"Meh\"}", UL_SENSOR_UNKNOWN},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        json_object *o = J(cases[i].json);
        assert_int_equal(rf_health_map(o), cases[i].want);
        json_object_put(o);
    }
    assert_int_equal(rf_health_map(NULL), UL_SENSOR_UNKNOWN);
}

static void test_sensor_resource(void **state)
{
    (void)state;
    /* the DMTF rack mockup's CPU1Temp, shortened */
    json_object *o = J("{\"Id\":\"CPU1Temp\",\"Name\":\"CPU #1 Temperature\","
                       "\"PhysicalContext\":\"CPU\",\"Status\":{\"State\":\"Enabled\","
                       "\"Health\":\"Warning\",\"Conditions\":[{\"Message\":\"Sensor 'CPU1 "
                       "Temp' reading of 44 (Cel) is above the 42 upper caution threshold.\"}]},"
                       "\"Reading\":44,\"ReadingUnits\":\"Cel\",\"Thresholds\":{"
                       "\"UpperCaution\":{\"Reading\":42},\"UpperCautionUser\":{\"Reading\":40},"
                       "\"UpperCritical\":{\"Reading\":45},\"UpperFatal\":{\"Reading\":50},"
                       "\"LowerCaution\":{\"Reading\":5},\"LowerCritical\":{\"Reading\":2},"
                       "\"LowerFatal\":{\"Reading\":0.5}}}");
    struct ul_sensor u;
    rf_sensor_from_resource(o, 3, &u);
    assert_string_equal(u.name, "CPU #1 Temperature");
    assert_int_equal(u.number, 3);
    assert_int_equal(u.kind, UL_SENSOR_TEMPERATURE);
    assert_string_equal(u.unit, "celsius");
    assert_string_equal(u.type, "Temperature");
    assert_true(u.has_value);
    assert_true(u.value == 44);
    assert_int_equal(u.status, UL_SENSOR_WARNING);
    assert_contains(u.state, "above the 42 upper caution");
    assert_int_equal(u.thresholds_present, 0x3f);
    assert_true(u.thresholds[UL_THR_UPPER_NON_CRITICAL] == 42); /* not the User one */
    assert_true(u.thresholds[UL_THR_UPPER_CRITICAL] == 45);
    assert_true(u.thresholds[UL_THR_UPPER_NON_RECOVERABLE] == 50);
    assert_true(u.thresholds[UL_THR_LOWER_NON_CRITICAL] == 5);
    assert_true(u.thresholds[UL_THR_LOWER_CRITICAL] == 2);
    assert_true(u.thresholds[UL_THR_LOWER_NON_RECOVERABLE] == 0.5);
    json_object_put(o);

    /* an absent PSU sensor: no value, unknown, "Absent" */
    o = J("{\"Id\":\"PS2InputPower\",\"ReadingType\":\"Power\",\"Reading\":null,"
          "\"Status\":{\"State\":\"Absent\"}}");
    rf_sensor_from_resource(o, 0, &u);
    assert_string_equal(u.name, "PS2InputPower");
    assert_int_equal(u.kind, UL_SENSOR_POWER);
    assert_false(u.has_value);
    assert_int_equal(u.status, UL_SENSOR_UNKNOWN);
    assert_string_equal(u.state, "Absent");
    assert_int_equal(u.thresholds_present, 0);
    json_object_put(o);

    /* hostile: wrong types everywhere never crash, only drop the value */
    o = J("{\"Name\":[1],\"Reading\":\"44\",\"ReadingUnits\":7,\"Status\":\"OK\","
          "\"Thresholds\":{\"UpperCritical\":{\"Reading\":\"x\"},\"UpperFatal\":3}}");
    rf_sensor_from_resource(o, 9, &u);
    assert_string_equal(u.name, "sensor 9");
    assert_false(u.has_value);
    assert_int_equal(u.status, UL_SENSOR_UNKNOWN);
    assert_string_equal(u.state, "reading is not a number");
    assert_int_equal(u.thresholds_present, 0);
    json_object_put(o);
}

static void test_sensor_legacy(void **state)
{
    (void)state;
    struct ul_sensor u;
    json_object *o = J("{\"MemberId\":\"2\",\"Name\":\"Chassis Intake Temp\",\"SensorNumber\":9,"
                       "\"Status\":{\"State\":\"Enabled\",\"Health\":\"OK\"},"
                       "\"ReadingCelsius\":25,\"UpperThresholdNonCritical\":30,"
                       "\"UpperThresholdCritical\":40,\"UpperThresholdFatal\":50,"
                       "\"LowerThresholdNonCritical\":10,\"LowerThresholdCritical\":5,"
                       "\"LowerThresholdFatal\":0}");
    rf_sensor_from_legacy(o, UL_SENSOR_TEMPERATURE, 0, &u);
    assert_string_equal(u.name, "Chassis Intake Temp");
    assert_int_equal(u.number, 9);
    assert_int_equal(u.kind, UL_SENSOR_TEMPERATURE);
    assert_string_equal(u.unit, "celsius");
    assert_true(u.has_value && u.value == 25);
    assert_int_equal(u.status, UL_SENSOR_OK);
    assert_int_equal(u.thresholds_present, 0x3f);
    assert_true(u.thresholds[UL_THR_LOWER_NON_RECOVERABLE] == 0);
    assert_true(u.thresholds[UL_THR_LOWER_CRITICAL] == 5);
    assert_true(u.thresholds[UL_THR_LOWER_NON_CRITICAL] == 10);
    assert_true(u.thresholds[UL_THR_UPPER_NON_CRITICAL] == 30);
    assert_true(u.thresholds[UL_THR_UPPER_CRITICAL] == 40);
    assert_true(u.thresholds[UL_THR_UPPER_NON_RECOVERABLE] == 50);
    json_object_put(o);

    o = J("{\"Name\":\"Fan 1\",\"Reading\":2100,\"ReadingUnits\":\"RPM\","
          "\"LowerThresholdFatal\":0,\"Status\":{\"Health\":\"Critical\"}}");
    rf_sensor_from_legacy(o, UL_SENSOR_FAN, 4, &u);
    assert_int_equal(u.number, 4);
    assert_string_equal(u.unit, "rpm");
    assert_true(u.value == 2100);
    assert_int_equal(u.status, UL_SENSOR_CRITICAL);
    assert_int_equal(u.thresholds_present, 1u << UL_THR_LOWER_NON_RECOVERABLE);
    json_object_put(o);

    o = J("{\"Name\":\"Fan 2\",\"Reading\":37,\"ReadingUnits\":\"Percent\"}");
    rf_sensor_from_legacy(o, UL_SENSOR_FAN, 0, &u);
    assert_string_equal(u.unit, "percent");
    json_object_put(o);

    /* Thermal 1.0: FanName and ReadingRPM */
    o = J("{\"FanName\":\"Old Fan\",\"ReadingRPM\":900}");
    rf_sensor_from_legacy(o, UL_SENSOR_FAN, 0, &u);
    assert_string_equal(u.name, "Old Fan");
    assert_true(u.has_value && u.value == 900);
    json_object_put(o);

    o = J("{\"Name\":\"VRM1\",\"ReadingVolts\":12,\"SensorNumber\":-4}");
    rf_sensor_from_legacy(o, UL_SENSOR_VOLTAGE, 6, &u);
    assert_int_equal(u.number, 6); /* a negative SensorNumber is not used */
    assert_string_equal(u.unit, "volts");
    json_object_put(o);

    o = J("{\"Name\":\"System Input Power\",\"PowerConsumedWatts\":344}");
    rf_sensor_from_legacy(o, UL_SENSOR_POWER, 0, &u);
    assert_int_equal(u.kind, UL_SENSOR_POWER);
    assert_true(u.value == 344);
    json_object_put(o);
}

static void test_power_control_reading(void **state)
{
    (void)state;
    struct ul_power_reading p;
    json_object *o = J("{\"PowerControl\":[{\"PowerConsumedWatts\":344,\"PowerMetrics\":{"
                       "\"IntervalInMin\":30,\"MinConsumedWatts\":271,\"MaxConsumedWatts\":489,"
                       "\"AverageConsumedWatts\":319},\"Status\":{\"State\":\"Enabled\"}}]}");
    assert_true(rf_power_control_reading(o, &p));
    assert_true(p.watts == 344 && p.min_watts == 271 && p.max_watts == 489 && p.avg_watts == 319);
    assert_int_equal(p.period_s, 1800);
    assert_true(p.active);
    json_object_put(o);
    /* the first entry with a reading counts; no metrics: all the same */
    o = J("{\"PowerControl\":[{\"PowerConsumedWatts\":null},{\"PowerConsumedWatts\":100.5}]}");
    assert_true(rf_power_control_reading(o, &p));
    assert_true(p.watts == 100.5 && p.min_watts == 100.5 && p.avg_watts == 100.5);
    assert_int_equal(p.period_s, 0);
    json_object_put(o);
    o = J("{\"PowerControl\":{\"PowerConsumedWatts\":1}}");
    assert_false(rf_power_control_reading(o, &p));
    json_object_put(o);
    assert_false(rf_power_control_reading(NULL, &p));
}

/* ---- event log cursor ---- */

static void entry(struct rf_entry *e, int64_t created, const char *key)
{
    memset(e, 0, sizeof(*e));
    e->created = created;
    snprintf(e->key, sizeof(e->key), "%s", key);
    snprintf(e->ev.id, sizeof(e->ev.id), "%s", key);
}

static void test_entries_sort(void **state)
{
    (void)state;
    /* newest first, as HPE iLO lists them, ids numeric */
    struct rf_entry e[5];
    entry(&e[0], 300, "IML/10");
    entry(&e[1], 200, "IML/9");
    entry(&e[2], 200, "IEL/2");
    entry(&e[3], 100, "IML/2");
    entry(&e[4], 200, "IML/10x");
    rf_entries_sort(e, 5);
    assert_string_equal(e[0].key, "IML/2");
    assert_string_equal(e[1].key, "IEL/2");
    /* a non-numeric id compares as text */
    assert_string_equal(e[2].key, "IML/10x");
    assert_string_equal(e[3].key, "IML/9");
    assert_string_equal(e[4].key, "IML/10");
    struct rf_entry f[2];
    entry(&f[0], 5, "Log/10");
    entry(&f[1], 5, "Log/9");
    rf_entries_sort(f, 2);
    assert_string_equal(f[0].key, "Log/9"); /* 9 < 10 as numbers */
    rf_entries_sort(f, 0);
}

static void test_cursor(void **state)
{
    (void)state;
    struct rf_entry e[6];
    char c1[UL_CURSOR_LEN], c2[UL_CURSOR_LEN], c3[UL_CURSOR_LEN];
    size_t first;
    entry(&e[0], 100, "Log/1");
    entry(&e[1], 200, "Log/2");
    entry(&e[2], 200, "Log/3");

    /* no cursor (or another driver's): everything */
    rf_cursor_apply("", e, 3, &first, c1);
    assert_int_equal(first, 0);
    /* The hash is persisted in the cursors table: FNV-1a (32 bits) of the keys
     * at T, each followed by '\n'.  Pinned so a change of hash is seen. */
    assert_string_equal(c1, "rf1:200:32a65a0c");
    rf_cursor_apply(NULL, e, 3, &first, c2);
    assert_int_equal(first, 0);
    assert_string_equal(c1, c2);
    rf_cursor_apply("12345:17", e, 3, &first, c2); /* an IPMI SEL cursor */
    assert_int_equal(first, 0);
    rf_cursor_apply("rf1:200:zzzzzzzz", e, 3, &first, c2);
    assert_int_equal(first, 0);
    rf_cursor_apply("rf1:200:0000000", e, 3, &first, c2);
    assert_int_equal(first, 0);

    /* nothing new: nothing returned, cursor unchanged */
    rf_cursor_apply(c1, e, 3, &first, c2);
    assert_int_equal(first, 3);
    assert_string_equal(c1, c2);

    /* the log grew: only the new entries */
    entry(&e[3], 300, "Log/4");
    rf_cursor_apply(c1, e, 4, &first, c2);
    assert_int_equal(first, 3);
    assert_contains(c2, "rf1:300:");

    /* another entry in the same second as the cursor's: those at T again */
    struct rf_entry g[4];
    memcpy(g, e, sizeof(g));
    entry(&g[3], 200, "Log/5");
    rf_entries_sort(g, 4);
    rf_cursor_apply(c1, g, 4, &first, c3);
    assert_int_equal(first, 1);
    rf_cursor_apply(c3, g, 4, &first, c3);
    assert_int_equal(first, 4); /* and then not again */

    /* cleared: the cursor's entries are gone, ids restart: all of them */
    struct rf_entry h[2];
    entry(&h[0], 400, "Log/1");
    entry(&h[1], 401, "Log/2");
    rf_cursor_apply(c2, h, 2, &first, c3);
    assert_int_equal(first, 0);
    /* cleared, and the BMC's clock went back: still all of them */
    entry(&h[0], 50, "Log/1");
    rf_cursor_apply(c2, h, 1, &first, c3);
    assert_int_equal(first, 0);
    /* cleared and empty: an empty cursor, so the next read takes all */
    rf_cursor_apply(c2, h, 0, &first, c3);
    assert_int_equal(first, 0);
    assert_string_equal(c3, "");
    assert_true(strlen(c2) < UL_CURSOR_LEN);

    /* a BMC without a clock: all at time 0, growth re-reads (deduplicated) */
    struct rf_entry z[3];
    entry(&z[0], 0, "SEL/1");
    entry(&z[1], 0, "SEL/2");
    rf_cursor_apply("", z, 2, &first, c1);
    rf_cursor_apply(c1, z, 2, &first, c2);
    assert_int_equal(first, 2);
    entry(&z[2], 0, "SEL/3");
    rf_cursor_apply(c1, z, 3, &first, c2);
    assert_int_equal(first, 0);
}

static void test_severity_map(void **state)
{
    (void)state;
    assert_int_equal(rf_severity_map("OK"), UL_SEV_INFO);
    assert_int_equal(rf_severity_map("Warning"), UL_SEV_WARNING);
    assert_int_equal(rf_severity_map("critical"), UL_SEV_CRITICAL);
    assert_int_equal(rf_severity_map("Caution"), UL_SEV_INFO);
    assert_int_equal(rf_severity_map(NULL), UL_SEV_INFO);
}

/* ---- options ---- */

static void options_err(const char *json, const char *frag)
{
    json_object *o = J(json);
    struct rf_options opt;
    ul_errmsg em = {{0}};
    ul_err rc = rf_options_parse(o, &opt, &em);
    rf_options_free(&opt);
    json_object_put(o);
    if (rc != UL_ERR_INVALID)
        fail_msg("options %s accepted", json);
    assert_contains(em.text, frag);
}

static void test_options(void **state)
{
    (void)state;
    struct rf_options opt;
    ul_errmsg em = {{0}};
    assert_int_equal(rf_options_parse(NULL, &opt, &em), UL_OK);
    assert_null(opt.ca_file);
    assert_false(opt.insecure); /* TLS verification is on by default */
    assert_int_equal(opt.auth, RF_AUTH_SESSION);
    assert_int_equal(opt.retries, RF_DEFAULT_RETRIES);
    assert_int_equal(opt.timeout_ms, 0);
    rf_options_free(&opt);

    json_object *o = J("{\"ca_file\":\"/etc/ssl/bmc-ca.pem\",\"auth\":\"basic\",\"retries\":0,"
                       "\"timeout_ms\":5000}");
    assert_int_equal(rf_options_parse(o, &opt, &em), UL_OK);
    assert_string_equal(opt.ca_file, "/etc/ssl/bmc-ca.pem");
    assert_int_equal(opt.auth, RF_AUTH_BASIC);
    assert_int_equal(opt.retries, 0);
    assert_int_equal(opt.timeout_ms, 5000);
    rf_options_free(&opt);
    json_object_put(o);
    o = J("{\"insecure\":true,\"retries\":5}");
    assert_int_equal(rf_options_parse(o, &opt, &em), UL_OK);
    assert_true(opt.insecure);
    rf_options_free(&opt);
    json_object_put(o);

    options_err("{\"verify\":false}", "unknown option 'verify'");
    options_err("{\"verify\":false}", "known: ca_file, insecure, auth, retries, timeout_ms");
    options_err("{\"insecure\":\"yes\"}", "option 'insecure'");
    options_err("{\"auth\":\"digest\"}", "option 'auth'");
    options_err("{\"retries\":6}", "option 'retries'");
    options_err("{\"retries\":-1}", "option 'retries'");
    options_err("{\"retries\":\"2\"}", "option 'retries'");
    options_err("{\"timeout_ms\":10}", "option 'timeout_ms'");
    options_err("{\"ca_file\":\"relative.pem\"}", "option 'ca_file'");
    options_err("{\"ca_file\":5}", "option 'ca_file'");
    options_err("{\"ca_file\":\"/a.pem\",\"insecure\":true}", "contradict");
}

/* ---- HTTP status mapping and hostile replies ---- */

static void test_status_code(void **state)
{
    (void)state;
    assert_int_equal(rf_status_code(200, NULL), UL_OK);
    assert_int_equal(rf_status_code(204, NULL), UL_OK);
    assert_int_equal(rf_status_code(401, NULL), UL_ERR_AUTH);
    assert_int_equal(rf_status_code(403, NULL), UL_ERR_AUTH);
    assert_int_equal(rf_status_code(404, NULL), UL_ERR_UNSUPPORTED);
    assert_int_equal(rf_status_code(405, "not json"), UL_ERR_UNSUPPORTED);
    assert_int_equal(rf_status_code(503, NULL), UL_ERR_BUSY);
    assert_int_equal(rf_status_code(429, NULL), UL_ERR_BUSY);
    assert_int_equal(rf_status_code(504, NULL), UL_ERR_TIMEOUT);
    assert_int_equal(rf_status_code(502, NULL), UL_ERR_UNREACHABLE);
    assert_int_equal(rf_status_code(500, NULL), UL_ERR_PROTOCOL);
    assert_int_equal(rf_status_code(302, NULL), UL_ERR_PROTOCOL);
    assert_int_equal(rf_status_code(400, "{\"error\":{\"code\":\"Base.1.8.GeneralError\"}}"),
                     UL_ERR_PROTOCOL);
    assert_int_equal(rf_status_code(400, "{\"error\":{\"@Message.ExtendedInfo\":[{\"MessageId\":"
                                         "\"Base.1.8.PropertyValueNotInList\"}]}}"),
                     UL_ERR_UNSUPPORTED);
    /* session exhaustion, whatever the status */
    assert_int_equal(rf_status_code(400, "{\"error\":{\"@Message.ExtendedInfo\":[{\"MessageId\":"
                                         "\"Base.1.8.SessionLimitExceeded\"}]}}"),
                     UL_ERR_BUSY);
}

static struct rf_session *fake_session(void)
{
    struct rf_session *s = calloc(1, sizeof(*s));
    s->node = strdup("n1");
    return s;
}

static void parse_fails(struct rf_session *s, const char *buf, size_t len, const char *frag)
{
    json_object *o = NULL;
    ul_errmsg em = {{0}};
    ul_err rc = rf_parse(s, "GET", "/redfish/v1/X", buf, len, &o, &em);
    if (rc == UL_OK) {
        json_object_put(o);
        fail_msg("rf_parse accepted %.40s", buf);
    }
    assert_int_equal(rc, UL_ERR_PROTOCOL);
    assert_null(o);
    assert_contains(em.text, "node n1: GET /redfish/v1/X: ");
    assert_contains(em.text, frag);
}

static void test_hostile_json(void **state)
{
    (void)state;
    struct rf_session *s = fake_session();
    parse_fails(s, NULL, 0, "empty reply");
    parse_fails(s, "[1,2]", 5, "not a JSON object");
    parse_fails(s, "\"x\"", 3, "not a JSON object");
    parse_fails(s, "{\"a\":", 5, "truncated");
    parse_fails(s, "{\"a\":1}\0{}", 10, "NUL");
    parse_fails(s, "<html>502</html>", 16, "malformed JSON");
    /* nesting deeper than RF_MAX_DEPTH */
    size_t depth = RF_MAX_DEPTH + 8;
    char *deep = malloc(depth * 6 + 8);
    size_t n = 0;
    for (size_t i = 0; i < depth; i++)
        n += (size_t)sprintf(deep + n, "{\"a\":");
    deep[n++] = '1';
    for (size_t i = 0; i < depth; i++)
        deep[n++] = '}';
    parse_fails(s, deep, n, "nesting too deep");
    free(deep);
    /* a big but well-formed reply parses (the 8 MiB cap is in the transfer) */
    size_t big = 2 * 1024 * 1024;
    char *b = malloc(big + 16);
    memcpy(b, "{\"x\":\"", 6);
    memset(b + 6, 'a', big);
    memcpy(b + 6 + big, "\"}", 2);
    json_object *o = NULL;
    ul_errmsg em;
    assert_int_equal(rf_parse(s, "GET", "/redfish/v1/X", b, big + 8, &o, &em), UL_OK);
    json_object_put(o);
    free(b);
    free(s->node);
    free(s);
}

/* ---- inventory mappings ---- */

static void test_inventory_maps(void **state)
{
    (void)state;
    json_object *sys = J("{\"Manufacturer\":\"Contoso\",\"Model\":\"3500\",\"SerialNumber\":"
                         "\"437XR1138R2\",\"SKU\":\"8675309\",\"BiosVersion\":\"P79 v1.45\","
                         "\"UUID\":\"38947555\",\"PowerState\":\"PoweringOff\","
                         "\"MemorySummary\":{\"TotalSystemMemoryGiB\":96},"
                         "\"ProcessorSummary\":{\"Count\":\"two\"}}");
    json_object *o = rf_inv_system(sys);
    assert_string_equal(jv_str(o, "manufacturer"), "Contoso");
    assert_string_equal(jv_str(o, "power_state"), "off");
    json_object *v;
    assert_true(json_object_object_get_ex(o, "memory_gib", &v));
    assert_int_equal(json_object_get_int(v), 96);
    assert_false(json_object_object_get_ex(o, "processor_count", &v)); /* wrong type: left out */
    json_object_put(o);
    json_object_put(sys);

    json_object *d = J("{\"Id\":\"0\",\"Model\":\"SAS 18000\",\"CapacityBytes\":20266198323167232,"
                       "\"MediaType\":\"HDD\",\"Protocol\":\"SAS\",\"SerialNumber\":\"\","
                       "\"Status\":{\"State\":\"Enabled\",\"Health\":\"Warning\"}}");
    o = rf_inv_drive(d);
    assert_true(json_object_object_get_ex(o, "capacity_bytes", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 20266198323167232LL);
    assert_string_equal(jv_str(o, "health"), "warning");
    assert_false(json_object_object_get_ex(o, "serial_number", &v)); /* empty: left out */
    json_object_put(o);
    json_object_put(d);

    json_object *m = J("{\"Id\":\"DIMM1\",\"CapacityMiB\":32768,\"MemoryDeviceType\":\"DDR4\","
                       "\"OperatingSpeedMhz\":2400,\"PartNumber\":\"X\"}");
    o = rf_inv_memory(m);
    assert_true(json_object_object_get_ex(o, "speed_mhz", &v));
    assert_int_equal(json_object_get_int(v), 2400);
    assert_string_equal(jv_str(o, "type"), "DDR4");
    json_object_put(o);
    json_object_put(m);

    json_object *f =
        J("{\"Id\":\"BMC\",\"Name\":\"BMC\",\"Version\":\"1.45\",\"Updateable\":true}");
    o = rf_inv_firmware(f);
    assert_true(json_object_object_get_ex(o, "updateable", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(o);
    json_object_put(f);

    json_object *n = J("{\"Id\":\"1\",\"PermanentMACAddress\":\"FB:AA:1D:4E:D0:7A\","
                       "\"SpeedMbps\":10000,\"LinkStatus\":\"LinkUp\"}");
    o = rf_inv_nic(n);
    assert_string_equal(jv_str(o, "mac_address"), "FB:AA:1D:4E:D0:7A");
    json_object_put(o);
    json_object_put(n);

    json_object *p = J("{\"Id\":\"CPU1\",\"TotalCores\":16,\"TotalThreads\":32,"
                       "\"OperatingSpeedMHz\":2300}");
    o = rf_inv_processor(p);
    assert_true(json_object_object_get_ex(o, "speed_mhz", &v));
    assert_int_equal(json_object_get_int(v), 2300);
    json_object_put(o);
    json_object_put(p);
}

/* ---- BIOS (bios.c) ---- */

static void test_bios_registry_normalise(void **state)
{
    (void)state;
    json_object *reg =
        J("{\"Id\":\"BiosAttributeRegistryP89.v1_0_0\",\"RegistryEntries\":{\"Attributes\":["
          "{\"AttributeName\":\"BootMode\",\"Type\":\"Enumeration\",\"ReadOnly\":false,"
          " \"DisplayName\":\"Boot Mode\",\"Value\":[{\"ValueName\":\"Uefi\","
          " \"ValueDisplayName\":\"UEFI\"},{\"ValueName\":\"LegacyBios\"},"
          " {\"ValueDisplayName\":\"no name\"}]},"
          "{\"AttributeName\":\"ProcCores\",\"Type\":\"integer\",\"LowerBound\":0,"
          " \"UpperBound\":64},"
          "{\"AttributeName\":\"AssetTag\",\"Type\":\"STRING\",\"MinLength\":1,\"MaxLength\":16},"
          "{\"AttributeName\":\"SerialNumber\",\"Type\":\"String\",\"ReadOnly\":true},"
          "{\"AttributeName\":\"Sriov\",\"Type\":\"bOOLEAN\"},"
          "{\"AttributeName\":\"AdminPw\",\"Type\":\"Password\"},"
          "{\"AttributeName\":\"NoType\"},"
          "{\"AttributeName\":\"OddType\",\"Type\":\"Blob\"},"
          "{\"AttributeName\":\"NumType\",\"Type\":5},"
          "{\"Type\":\"String\"},"
          "\"not an object\""
          "]}}");
    json_object *n = rf_bios_registry_normalise(reg, "BiosAttributeRegistryP89.v1_0_0");
    assert_string_equal(jv_str(n, "name"), "BiosAttributeRegistryP89.v1_0_0");
    json_object *attrs, *a, *v;
    assert_true(json_object_object_get_ex(n, "attributes", &attrs));
    /* entries without a name are left out; a type we do not know is kept
     * as "unknown" (the attribute exists; the BMC judges its values) */
    assert_int_equal(json_object_object_length(attrs), 9);
    assert_true(json_object_object_get_ex(attrs, "NoType", &a));
    assert_string_equal(jv_str(a, "type"), "unknown");
    assert_true(json_object_object_get_ex(attrs, "OddType", &a));
    assert_string_equal(jv_str(a, "type"), "unknown");
    assert_true(json_object_object_get_ex(attrs, "NumType", &a));

    assert_true(json_object_object_get_ex(attrs, "BootMode", &a));
    assert_string_equal(jv_str(a, "type"), "enumeration");
    assert_string_equal(jv_str(a, "display_name"), "Boot Mode");
    assert_true(json_object_object_get_ex(a, "read_only", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_false(json_object_get_boolean(v));
    json_object *want = J("[\"Uefi\",\"LegacyBios\"]");
    assert_true(json_object_object_get_ex(a, "values", &v));
    if (!json_object_equal(v, want))
        fail_msg("values: %s", json_object_to_json_string(v));
    json_object_put(want);

    assert_true(json_object_object_get_ex(attrs, "ProcCores", &a));
    assert_string_equal(jv_str(a, "type"), "integer");
    assert_true(json_object_object_get_ex(a, "min", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), 0);
    assert_true(json_object_object_get_ex(a, "max", &v));
    assert_int_equal(json_object_get_int64(v), 64);
    assert_false(json_object_object_get_ex(a, "values", &v));

    assert_true(json_object_object_get_ex(attrs, "AssetTag", &a));
    assert_string_equal(jv_str(a, "type"), "string");
    assert_true(json_object_object_get_ex(a, "max_length", &v));
    assert_int_equal(json_object_get_int64(v), 16);
    assert_true(json_object_object_get_ex(a, "min_length", &v));
    assert_int_equal(json_object_get_int64(v), 1);
    assert_false(json_object_object_get_ex(a, "min", &v));

    assert_true(json_object_object_get_ex(attrs, "SerialNumber", &a));
    assert_true(json_object_object_get_ex(a, "read_only", &v));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(attrs, "Sriov", &a));
    assert_string_equal(jv_str(a, "type"), "boolean");
    assert_true(json_object_object_get_ex(attrs, "AdminPw", &a));
    assert_string_equal(jv_str(a, "type"), "password");

    /* the normalised form is what bios_check_changes checks against */
    json_object *c = J("{\"BootMode\":\"LegacyBios\",\"ProcCores\":\"12\"}"), *out = NULL;
    ul_errmsg em = {{0}};
    assert_int_equal(bios_check_changes(n, c, &out, &em), UL_OK);
    want = J("{\"BootMode\":\"LegacyBios\",\"ProcCores\":12}");
    assert_true(json_object_equal(out, want));
    json_object_put(want);
    json_object_put(out);
    json_object_put(c);
    c = J("{\"NoType\":1,\"OddType\":\"x\"}");
    assert_int_equal(bios_check_changes(n, c, &out, &em), UL_OK);
    assert_true(json_object_equal(out, c)); /* passed on as given */
    json_object_put(out);
    json_object_put(c);
    c = J("{\"BootMode\":\"Legacy\",\"ProcCores\":65,\"SerialNumber\":\"x\",\"Bogus\":1}");
    assert_int_equal(bios_check_changes(n, c, &out, &em), UL_ERR_INVALID);
    assert_null(out);
    assert_contains(em.text, "4 BIOS changes refused");
    assert_contains(em.text, "(allowed: Uefi, LegacyBios)");
    assert_contains(em.text, "ProcCores=65 is out of range (0 to 64)");
    assert_contains(em.text, "SerialNumber is read-only");
    assert_contains(em.text, "Bogus is not a BIOS attribute of this system");
    json_object_put(c);
    json_object_put(n);
    json_object_put(reg);

    /* nothing usable: an empty registry, name "" */
    n = rf_bios_registry_normalise(NULL, NULL);
    assert_string_equal(jv_str(n, "name"), "");
    assert_true(json_object_object_get_ex(n, "attributes", &attrs));
    assert_int_equal(json_object_object_length(attrs), 0);
    json_object_put(n);
    reg = J("{\"RegistryEntries\":{\"Attributes\":{\"BootMode\":{}}}}");
    n = rf_bios_registry_normalise(reg, "r");
    assert_true(json_object_object_get_ex(n, "attributes", &attrs));
    assert_int_equal(json_object_object_length(attrs), 0);
    json_object_put(n);
    json_object_put(reg);
}

static void test_bios_pending(void **state)
{
    (void)state;
    json_object *cur = J("{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"Sriov\":true}");

    /* a Settings resource holding only the staged attributes */
    json_object *set = J("{\"Attributes\":{\"BootMode\":\"LegacyBios\"}}");
    json_object *p = rf_bios_pending(cur, set);
    json_object *want = J("{\"BootMode\":\"LegacyBios\"}");
    if (!json_object_equal(p, want))
        fail_msg("pending: %s", json_object_to_json_string(p));
    json_object_put(want);
    json_object_put(p);
    json_object_put(set);

    /* a full copy: only what differs is pending; a new attribute is too */
    set = J("{\"attributes\":{\"BootMode\":\"Uefi\",\"ProcCores\":16,\"Sriov\":true,"
            "\"NewKnob\":\"On\"}}");
    p = rf_bios_pending(cur, set);
    want = J("{\"ProcCores\":16,\"NewKnob\":\"On\"}");
    if (!json_object_equal(p, want))
        fail_msg("pending: %s", json_object_to_json_string(p));
    json_object_put(want);
    json_object_put(p);
    json_object_put(set);

    /* a full copy with nothing staged */
    set = J("{\"Attributes\":{\"BootMode\":\"Uefi\",\"ProcCores\":8,\"Sriov\":true}}");
    p = rf_bios_pending(cur, set);
    assert_int_equal(json_object_object_length(p), 0);
    json_object_put(p);
    json_object_put(set);

    /* no Attributes, no Settings resource, Attributes not an object */
    const char *none[] = {"{}", "{\"Attributes\":[1]}", "{\"Attributes\":null}"};
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        set = J(none[i]);
        p = rf_bios_pending(cur, set);
        assert_true(json_object_is_type(p, json_type_object));
        assert_int_equal(json_object_object_length(p), 0);
        json_object_put(p);
        json_object_put(set);
    }
    p = rf_bios_pending(cur, NULL);
    assert_int_equal(json_object_object_length(p), 0);
    json_object_put(p);

    /* no current attributes: everything in Settings is pending */
    set = J("{\"Attributes\":{\"BootMode\":\"Uefi\"}}");
    p = rf_bios_pending(NULL, set);
    assert_string_equal(jv_str(p, "BootMode"), "Uefi");
    json_object_put(p);
    json_object_put(set);
    json_object_put(cur);
}

/* ---- tasks (update.c) ---- */

static void task_is(const char *json, enum ul_task_state state, int percent, const char *message)
{
    json_object *t = J(json);
    struct ul_task_status st;
    memset(&st, 0x5a, sizeof(st));
    if (!rf_task_status_from(t, &st))
        fail_msg("%s: not taken as a task", json);
    if (st.state != state)
        fail_msg("%s: state %s, expected %s", json, bmc_task_state_name(st.state),
                 bmc_task_state_name(state));
    assert_int_equal(st.percent, percent);
    assert_string_equal(st.message, message);
    assert_int_equal(st.retry_after_s, 0);
    json_object_put(t);
}

static void test_task_status(void **state)
{
    (void)state;
    json_object *t = J("{\"TaskState\":\"Running\",\"PercentComplete\":45,\"Messages\":["
                       "{\"Message\":\"Downloading image\"},{\"Message\":\"Flashing  the "
                       "BIOS\"},{\"MessageId\":\"Update.1.0.Progress\"}]}");
    struct ul_task_status st;
    assert_true(rf_task_status_from(t, &st));
    assert_int_equal(st.state, UL_TASK_RUNNING);
    assert_int_equal(st.percent, 45);
    assert_string_equal(st.service_state, "Running");
    /* the latest message that says something */
    assert_string_equal(st.message, "Flashing the BIOS");
    json_object_put(t);

    task_is("{\"TaskState\":\"Completed\",\"TaskStatus\":\"OK\",\"PercentComplete\":100}",
            UL_TASK_DONE, 100, "");
    task_is("{\"TaskState\":\"completed\"}", UL_TASK_DONE, -1, "");
    /* Completed with a Critical status did not do its work */
    task_is("{\"TaskState\":\"Completed\",\"TaskStatus\":\"Critical\",\"Messages\":["
            "{\"Message\":\"Image signature invalid\"}]}",
            UL_TASK_FAILED, -1, "Image signature invalid");
    task_is("{\"TaskState\":\"Completed\",\"TaskStatus\":\"Warning\"}", UL_TASK_DONE, -1, "");
    task_is("{\"TaskState\":\"Exception\",\"PercentComplete\":30,\"Messages\":["
            "{\"Message\":\"Flash write failed\"}]}",
            UL_TASK_FAILED, 30, "Flash write failed");
    task_is("{\"TaskState\":\"Killed\"}", UL_TASK_FAILED, -1, "");
    task_is("{\"TaskState\":\"Cancelled\"}", UL_TASK_FAILED, -1, "");
    task_is("{\"TaskState\":\"Interrupted\"}", UL_TASK_FAILED, -1, "");
    task_is("{\"TaskState\":\"Pending\",\"Messages\":[{\"Message\":\"Waits for a reset\"}]}",
            UL_TASK_PENDING, -1, "Waits for a reset");
    /* states of a task still under way */
    task_is("{\"TaskState\":\"New\"}", UL_TASK_RUNNING, -1, "");
    task_is("{\"TaskState\":\"Starting\",\"PercentComplete\":0}", UL_TASK_RUNNING, 0, "");
    /* PercentComplete out of range or not a number: unknown */
    task_is("{\"TaskState\":\"Running\",\"PercentComplete\":150}", UL_TASK_RUNNING, -1, "");
    task_is("{\"TaskState\":\"Running\",\"PercentComplete\":-5}", UL_TASK_RUNNING, -1, "");
    task_is("{\"TaskState\":\"Running\",\"PercentComplete\":\"50\"}", UL_TASK_RUNNING, -1, "");
    task_is("{\"TaskState\":\"Running\",\"PercentComplete\":99.9}", UL_TASK_RUNNING, 99, "");
    /* vendors' letter case */
    task_is("{\"taskstate\":\"Running\",\"percentcomplete\":7}", UL_TASK_RUNNING, 7, "");

    /* not a task */
    const char *not_task[] = {"{}", "{\"TaskState\":5}", "{\"TaskState\":null}",
                              "{\"Id\":\"1\",\"PercentComplete\":100}", "[]"};
    for (size_t i = 0; i < sizeof(not_task) / sizeof(not_task[0]); i++) {
        t = J(not_task[i]);
        if (rf_task_status_from(t, &st))
            fail_msg("%s taken as a task", not_task[i]);
        json_object_put(t);
    }
    assert_false(rf_task_status_from(NULL, &st));
}

/* ---- storage (storage.c) ---- */

static void test_storage_volume(void **state)
{
    (void)state;
    /* 2^54 + 1: not representable as a double */
    json_object *vol = J(
        "{\"Id\":\"1\",\"Name\":\"OS mirror\",\"RAIDType\":\"RAID1\",\"VolumeType\":\"Mirrored\","
        "\"CapacityBytes\":18014398509481985,\"Status\":{\"Health\":\"OK\",\"State\":\"Enabled\"},"
        "\"Links\":{\"Drives\":["
        "{\"@odata.id\":\"/redfish/v1/Systems/1/Storage/RAID.1/Drives/Disk.Bay.0\"},"
        "{\"@odata.id\":\"/redfish/v1/Systems/1/Storage/RAID.1/Drives/Disk.Bay.1/\"},"
        "{\"NoLink\":true}]}}");
    json_object *o = rf_storage_volume(vol), *v;
    assert_string_equal(jv_str(o, "name"), "OS mirror");
    assert_string_equal(jv_str(o, "raid_type"), "RAID1"); /* not the legacy name */
    assert_true(json_object_object_get_ex(o, "capacity_bytes", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_true(json_object_get_int64(v) == INT64_C(18014398509481985));
    assert_string_equal(jv_str(o, "health"), "OK");
    assert_string_equal(jv_str(o, "state"), "Enabled");
    json_object *want = J("[\"Disk.Bay.0\",\"Disk.Bay.1\"]");
    assert_true(json_object_object_get_ex(o, "drives", &v));
    if (!json_object_equal(v, want))
        fail_msg("drives: %s", json_object_to_json_string(v));
    json_object_put(want);
    json_object_put(o);
    json_object_put(vol);

    /* Volume < 1.3: VolumeType; a capacity written as a whole double */
    vol = J("{\"Name\":\"Data\",\"VolumeType\":\"StripedWithParity\",\"CapacityBytes\":1.5e12}");
    o = rf_storage_volume(vol);
    assert_string_equal(jv_str(o, "raid_type"), "StripedWithParity");
    assert_true(json_object_object_get_ex(o, "capacity_bytes", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_true(json_object_get_int64(v) == INT64_C(1500000000000));
    assert_true(json_object_object_get_ex(o, "drives", &v));
    assert_true(json_object_is_type(v, json_type_array));
    assert_int_equal(json_object_array_length(v), 0);
    assert_null(jv_str(o, "health"));
    assert_false(json_object_object_get_ex(o, "state", &v));
    json_object_put(o);
    json_object_put(vol);

    /* nothing known: no raid_type, no capacity */
    vol = J("{\"CapacityBytes\":\"big\",\"RAIDType\":7}");
    o = rf_storage_volume(vol);
    assert_false(json_object_object_get_ex(o, "raid_type", &v));
    assert_false(json_object_object_get_ex(o, "capacity_bytes", &v));
    json_object_put(o);
    json_object_put(vol);
}

static void test_storage_drive(void **state)
{
    (void)state;
    json_object *d = J(
        "{\"Id\":\"Disk.Bay.0\",\"Name\":\"Solid State Disk 0:1:0\",\"Model\":\"MZ7LH960\","
        "\"SerialNumber\":\" S45NNE0M \",\"CapacityBytes\":960197124096,\"MediaType\":\"SSD\","
        "\"Protocol\":\"SATA\",\"Status\":{\"Health\":\"Warning\",\"State\":\"Enabled\"},"
        "\"Links\":{\"Volumes\":[{\"@odata.id\":\"/redfish/v1/Systems/1/Storage/1/Volumes/2\"}]}}");
    json_object *o = rf_storage_drive(d), *v;
    assert_string_equal(jv_str(o, "name"), "Solid State Disk 0:1:0");
    assert_string_equal(jv_str(o, "model"), "MZ7LH960");
    assert_string_equal(jv_str(o, "serial"), "S45NNE0M");
    assert_string_equal(jv_str(o, "media"), "SSD");
    assert_string_equal(jv_str(o, "protocol"), "SATA");
    assert_string_equal(jv_str(o, "health"), "Warning");
    assert_string_equal(jv_str(o, "state"), "Enabled");
    assert_true(json_object_object_get_ex(o, "capacity_bytes", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_true(json_object_get_int64(v) == INT64_C(960197124096));
    json_object *want = J("[\"2\"]");
    assert_true(json_object_object_get_ex(o, "volumes", &v));
    assert_true(json_object_equal(v, want));
    json_object_put(want);
    json_object_put(o);
    json_object_put(d);

    /* an empty bay: only what is there */
    d = J("{\"Name\":\"Empty\",\"Status\":{\"State\":\"Absent\"}}");
    o = rf_storage_drive(d);
    assert_string_equal(jv_str(o, "state"), "Absent");
    assert_null(jv_str(o, "health"));
    assert_false(json_object_object_get_ex(o, "capacity_bytes", &v));
    assert_false(json_object_object_get_ex(o, "model", &v));
    assert_true(json_object_object_get_ex(o, "volumes", &v));
    assert_int_equal(json_object_array_length(v), 0);
    json_object_put(o);
    json_object_put(d);
}

/* ---- enrolment: chassis rules and discovered names ---- */

static json_object *chassis_obj(const char *id, const char *system)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "Id", json_object_new_string(id));
    if (system) {
        json_object *links = json_object_new_object(), *arr = json_object_new_array();
        json_object *ref = json_object_new_object();
        json_object_object_add(ref, "@odata.id", json_object_new_string(system));
        json_object_array_add(arr, ref);
        json_object_object_add(links, "ComputerSystems", arr);
        json_object_object_add(o, "Links", links);
    }
    return o;
}

static void test_chassis_match(void **state)
{
    (void)state;
    char paths[3][RF_PATH_MAX] = {"/redfish/v1/Chassis/Enclosure", "/redfish/v1/Chassis/Blade2",
                                  "/redfish/v1/Chassis/2"};
    json_object *ch[3];
    bool pick[3];
    const char *sys = "/redfish/v1/Systems/2";

    /* A chassis whose Links name the system wins over one with its Id
     * (letter case and a trailing slash do not matter). */
    ch[0] = chassis_obj("Enclosure", NULL);
    ch[1] = chassis_obj("Blade2", "/redfish/v1/systems/2/");
    ch[2] = chassis_obj("2", NULL);
    assert_int_equal(rf_chassis_match(sys, "2", ch, (const char(*)[RF_PATH_MAX])paths, 3, pick),
                     RF_CHASSIS_BACKLINK);
    assert_false(pick[0]);
    assert_true(pick[1]);
    assert_false(pick[2]);
    assert_string_equal(rf_chassis_rule_name(RF_CHASSIS_BACKLINK), "chassis-links");
    for (int i = 0; i < 3; i++)
        json_object_put(ch[i]);

    /* No backlinks: the chassis with the system's Id; an unreadable one
     * (NULL) is matched by its path's last segment. */
    ch[0] = chassis_obj("Enclosure", NULL);
    ch[1] = chassis_obj("Blade2", "/redfish/v1/Systems/1");
    ch[2] = NULL;
    assert_int_equal(rf_chassis_match(sys, "2", ch, (const char(*)[RF_PATH_MAX])paths, 3, pick),
                     RF_CHASSIS_SAME_ID);
    assert_false(pick[0]);
    assert_false(pick[1]);
    assert_true(pick[2]);
    assert_string_equal(rf_chassis_rule_name(RF_CHASSIS_SAME_ID), "same-id");

    /* Nothing matches among several: none; the only chassis: it. */
    assert_int_equal(rf_chassis_match(sys, "7", ch, (const char(*)[RF_PATH_MAX])paths, 3, pick),
                     RF_CHASSIS_NONE);
    assert_false(pick[0] || pick[1] || pick[2]);
    assert_int_equal(rf_chassis_match(sys, "7", ch, (const char(*)[RF_PATH_MAX])paths, 1, pick),
                     RF_CHASSIS_ONLY);
    assert_true(pick[0]);
    assert_int_equal(rf_chassis_match(sys, NULL, ch, (const char(*)[RF_PATH_MAX])paths, 0, pick),
                     RF_CHASSIS_NONE);
    assert_string_equal(rf_chassis_rule_name(RF_CHASSIS_ONLY), "only-chassis");
    assert_string_equal(rf_chassis_rule_name(RF_CHASSIS_NONE), "none");
    json_object_put(ch[0]);
    json_object_put(ch[1]);
}

static void test_discover_names(void **state)
{
    (void)state;
    char name[NODE_NAME_MAX + 1];
    ul_errmsg em;
    assert_int_equal(bmc_discover_template_check(BMC_DISCOVER_TEMPLATE, &em), UL_OK);
    assert_int_equal(bmc_discover_template_check("{prefix}{index}", &em), UL_OK);
    assert_int_equal(bmc_discover_template_check("{prefix}", &em), UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "name_template"));
    assert_int_equal(bmc_discover_template_check("{prefix}-{serial}", &em), UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "{serial}"));
    assert_int_equal(bmc_discover_template_check("{prefix}-{id", &em), UL_ERR_INVALID);
    assert_int_equal(bmc_discover_template_check("x}{id}", &em), UL_ERR_INVALID);
    assert_int_equal(bmc_discover_template_check("", &em), UL_ERR_INVALID);

    assert_int_equal(bmc_discover_name("{prefix}-{id}", "encl1", "529QB9450R6", 1, name,
                                       sizeof(name), &em),
                     UL_OK);
    assert_string_equal(name, "encl1-529QB9450R6");
    /* Characters a node name may not hold become '-'. */
    assert_int_equal(bmc_discover_name("{prefix}_{id}", "r1", "System Embedded/1", 3, name,
                                       sizeof(name), &em),
                     UL_OK);
    assert_string_equal(name, "r1_System-Embedded-1");
    assert_int_equal(bmc_discover_name("node{index}.{prefix}", "r1", "x", 12, name, sizeof(name),
                                       &em),
                     UL_OK);
    assert_string_equal(name, "node12.r1");
    /* A name must start with a letter or digit; and fit. */
    assert_int_equal(bmc_discover_name("{id}", "p", "-x", 1, name, sizeof(name), &em),
                     UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "not a valid node name"));
    char small[8];
    assert_int_equal(bmc_discover_name("{prefix}-{id}", "prefix", "long-id", 1, small,
                                       sizeof(small), &em),
                     UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "too long"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_link_resolve),
        cmocka_unit_test(test_path_key),
        cmocka_unit_test(test_visited),
        cmocka_unit_test(test_props),
        cmocka_unit_test(test_copy_text),
        cmocka_unit_test(test_json_quote),
        cmocka_unit_test(test_time_parse),
        cmocka_unit_test(test_power_state_map),
        cmocka_unit_test(test_reset_choose),
        cmocka_unit_test(test_boot_targets),
        cmocka_unit_test(test_sensor_kind_unit),
        cmocka_unit_test(test_health_map),
        cmocka_unit_test(test_sensor_resource),
        cmocka_unit_test(test_sensor_legacy),
        cmocka_unit_test(test_power_control_reading),
        cmocka_unit_test(test_entries_sort),
        cmocka_unit_test(test_cursor),
        cmocka_unit_test(test_severity_map),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_status_code),
        cmocka_unit_test(test_hostile_json),
        cmocka_unit_test(test_inventory_maps),
        cmocka_unit_test(test_bios_registry_normalise),
        cmocka_unit_test(test_bios_pending),
        cmocka_unit_test(test_task_status),
        cmocka_unit_test(test_storage_volume),
        cmocka_unit_test(test_storage_drive),
        cmocka_unit_test(test_chassis_match),
        cmocka_unit_test(test_discover_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
