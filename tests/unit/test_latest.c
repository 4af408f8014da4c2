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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fleet_scale),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
