/* test_latest.c - unit tests for collectors/latest.h at fleet size: every
 * node is found again after the hash table grew (1,024 -> 4,096 -> 16,384
 * buckets), the fleet summary's counts and elements follow additions,
 * health changes and removals. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "collectors/latest.h"
#include "unit_util.h"

#define NODES 5000

static int fleet_count(latest *l, const char *health)
{
    size_t len;
    char *text = latest_fleet_text(l, &len);
    assert_int_equal(strlen(text), len);
    json_object *o = json_tokener_parse(text);
    if (!o)
        fail_msg("fleet summary is not JSON: %.200s", text);
    free(text);
    json_object *h, *v;
    assert_true(json_object_object_get_ex(o, "by_health", &h));
    assert_true(json_object_object_get_ex(h, health, &v));
    int n = json_object_get_int(v);
    json_object *nodes;
    assert_true(json_object_object_get_ex(o, "nodes", &nodes));
    int total = 0;
    json_object_object_foreach(h, k, c)
    {
        (void)k;
        total += json_object_get_int(c);
    }
    assert_int_equal(total, (int)json_object_array_length(nodes));
    json_object_put(o);
    return n;
}

static void test_fleet_scale(void **state)
{
    (void)state;
    latest *l = latest_new();
    latest_fill_synthetic(l, NODES, 4); /* node00000 .. node04999 */
    char name[32];
    for (int i = 0; i < NODES; i++) {
        snprintf(name, sizeof(name), "node%05d", i);
        json_object *o = latest_sensors_json(l, name);
        if (!o)
            fail_msg("%s lost after the table grew", name);
        json_object_put(o);
    }
    assert_null(latest_sensors_json(l, "node99999"));
    assert_int_equal(fleet_count(l, "ok"), NODES);

    /* A failure turns one node unreachable, with the change reported. */
    struct latest_change c = latest_poll_failed(l, "node01234", "sensors", UL_ERR_UNREACHABLE,
                                                "no answer", 1800000000, 1.0);
    assert_int_equal(c.from, HEALTH_OK);
    assert_int_equal(c.to, HEALTH_UNREACHABLE);
    assert_contains(c.reason, "no answer");
    assert_int_equal(fleet_count(l, "unreachable"), 1);
    assert_int_equal(fleet_count(l, "ok"), NODES - 1);
    c = latest_poll_failed(l, "node01234", "sensors", UL_ERR_UNREACHABLE, "again", 1800000005,
                           1.0);
    assert_int_equal(c.from, c.to); /* no change: nothing to publish */

    /* The per-node element follows. */
    size_t len;
    char *text = latest_fleet_text(l, &len);
    assert_contains(text, "{\"node\":\"node01234\",\"health\":\"unreachable\"");
    free(text);

    for (int i = 0; i < NODES; i += 2) {
        snprintf(name, sizeof(name), "node%05d", i);
        latest_forget(l, name);
    }
    /* node01234 (even) went with the others: the rest are all ok. */
    assert_int_equal(fleet_count(l, "ok"), NODES / 2);
    assert_int_equal(fleet_count(l, "unreachable"), 0);
    for (int i = 1; i < NODES; i += 2) {
        snprintf(name, sizeof(name), "node%05d", i);
        json_object *o = latest_health_json(l, name);
        if (!o)
            fail_msg("%s lost after removals", name);
        json_object_put(o);
    }
    latest_free(l);
}

static void test_label_name(void **state)
{
    (void)state;
    char out[80];
    assert_true(latest_label_name("rack", out, sizeof(out)));
    assert_string_equal(out, "rack");
    assert_true(latest_label_name("hw.gen-2", out, sizeof(out)));
    assert_string_equal(out, "hw_gen_2");
    assert_true(latest_label_name("9u", out, sizeof(out)));
    assert_string_equal(out, "_9u");
    assert_true(latest_label_name("node", out, sizeof(out)));
    assert_string_equal(out, "label_node");
    assert_true(latest_label_name("__name__", out, sizeof(out)));
    assert_string_equal(out, "label___name__");
    assert_true(latest_label_name("driver", out, sizeof(out)));
    assert_string_equal(out, "label_driver");
    char small[4];
    assert_false(latest_label_name("rack", small, sizeof(small)));
    assert_true(latest_label_name("abc", small, sizeof(small)));
}

static size_t count_of(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = text; (p = strstr(p, needle)); p++)
        n++;
    return n;
}

/* Metadata: the collector label, the info lines, the SEL count, and the
 * ?label= shards picking the matching nodes' fragments; the size per node. */
static void test_meta_and_filter(void **state)
{
    (void)state;
    latest *l = latest_new();
    latest_fill_synthetic(l, 4, 40); /* node00000 .. node00003 */
    size_t len0;
    char *before = latest_metrics_text(l, &len0);
    /* A node's full share at 40 sensors, for docs/operations.md. */
    print_message("metrics: %zu bytes for 4 nodes of 40 sensors (%zu per node)\n", len0,
                  len0 / 4);
    assert_true(len0 / 4 < 8192);
    assert_contains(before, "ipmi_up{node=\"node00000\",collector=\"unknown\"} 1\n");
    free(before);

    for (int i = 0; i < 4; i++) {
        char name[32], rack[8];
        snprintf(name, sizeof(name), "node%05d", i);
        snprintf(rack, sizeof(rack), "r%d", i % 2);
        json_object *labels = json_object_new_object();
        json_object_object_add(labels, "rack", json_object_new_string(rack));
        json_object_object_add(labels, "hw.gen", json_object_new_string("g\"9"));
        json_object_object_add(labels, "hw-gen", json_object_new_string("dup"));
        struct latest_meta m = {.driver = i == 3 ? "redfish" : "ipmi", .labels = labels,
                                .firmware = i == 0 ? "2.45" : NULL,
                                .manufacturer = i == 0 ? "ACME" : NULL,
                                .has_sel_count = i == 1, .sel_count = 17};
        latest_node_meta(l, name, &m);
        json_object_put(labels); /* latest took its own reference */
    }
    /* Unknown nodes get no series. */
    struct latest_meta ghost = {.driver = "ipmi"};
    latest_node_meta(l, "ghost", &ghost);

    size_t len;
    char *t = latest_metrics_text(l, &len);
    assert_int_equal(strlen(t), len);
    assert_contains(t, "ipmi_up{node=\"node00003\",collector=\"redfish\"} 1\n");
    assert_contains(t, "ipmi_up{node=\"node00000\",collector=\"ipmi\"} 1\n");
    assert_contains(t, "ipmi_scrape_duration_seconds{node=\"node00003\",collector=\"redfish\"} "
                       "0.003\n");
    assert_contains(t, "ipmi_bmc_info{node=\"node00000\",firmware_revision=\"2.45\","
                       "manufacturer=\"ACME\"} 1\n");
    assert_int_equal(count_of(t, "ipmi_bmc_info{"), 1);
    assert_contains(t, "ipmi_sel_log_entries{node=\"node00001\"} 17\n");
    assert_int_equal(count_of(t, "ipmi_sel_log_entries{"), 1);
    /* Sanitized, escaped, the duplicate after sanitizing left out. */
    assert_contains(t, "underlay_node_info{node=\"node00002\",driver=\"ipmi\",rack=\"r0\","
                       "hw_gen=\"g\\\"9\"} 1\n");
    assert_null(strstr(t, "ghost"));
    free(t);

    /* A shard: only rack r1's nodes (1 and 3), each family's HELP kept. */
    char *s = latest_metrics_text_filtered(l, "rack", "r1", &len);
    assert_int_equal(strlen(s), len);
    assert_int_equal(count_of(s, "ipmi_up{"), 2);
    assert_contains(s, "ipmi_up{node=\"node00001\"");
    assert_contains(s, "ipmi_up{node=\"node00003\"");
    assert_null(strstr(s, "node00000"));
    assert_null(strstr(s, "node00002"));
    assert_contains(s, "# TYPE ipmi_temperature_celsius gauge\n");
    free(s);
    s = latest_metrics_text_filtered(l, "rack", "nosuch", &len);
    assert_null(strstr(s, "node0000"));
    assert_contains(s, "# TYPE ipmi_up gauge\n");
    free(s);
    s = latest_metrics_text_filtered(l, NULL, NULL, &len);
    assert_int_equal(count_of(s, "ipmi_up{"), 4);
    free(s);

    /* Unchanged metadata keeps the cached text; a refresh is due on a new
     * change counter, on new nodes, or after max_age. */
    assert_true(latest_meta_due(l, 1, 1000, 30));
    assert_false(latest_meta_due(l, 1, 1010, 30));
    assert_true(latest_meta_due(l, 2, 1010, 30));
    assert_true(latest_meta_due(l, 2, 1040, 30));
    latest_fill_synthetic(l, 5, 1); /* node00004 is new */
    assert_true(latest_meta_due(l, 2, 1041, 30));
    assert_false(latest_meta_due(l, 2, 1042, 30));
    latest_free(l);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_scale),
        cmocka_unit_test(test_label_name),
        cmocka_unit_test(test_meta_and_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
