/* test_node.c - unit tests for core/node.h. */
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
#include "unit_util.h"

/* ---- node_endpoint_parse ---- */

static void expect_ep(const char *uri, const char *scheme, const char *host, int port,
                      const char *path)
{
    struct ul_endpoint ep;
    ul_errmsg em = {{0}};
    ul_err rc = node_endpoint_parse(uri, &ep, &em);
    if (rc != UL_OK)
        fail_msg("node_endpoint_parse(\"%s\"): %s", uri, em.text);
    assert_string_equal(ep.scheme, scheme);
    assert_string_equal(ep.host, host);
    assert_int_equal(ep.port, port);
    assert_string_equal(ep.path, path);
}

/* Expect UL_ERR_INVALID; the message names the field and contains frag. */
static void expect_ep_error(const char *uri, const char *frag)
{
    struct ul_endpoint ep;
    ul_errmsg em = {{0}};
    ul_err rc = node_endpoint_parse(uri, &ep, &em);
    if (rc == UL_OK)
        fail_msg("node_endpoint_parse(\"%s\") accepted (host '%s' port %d path '%s')",
                 uri ? uri : "(null)", ep.host, ep.port, ep.path);
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_contains(em.text, "field 'endpoint'");
    if (frag)
        assert_contains(em.text, frag);
}

static void test_ep_ipmi(void **state)
{
    (void)state;
    expect_ep("ipmi://host:623", "ipmi", "host", 623, "");
    expect_ep("ipmi://10.0.0.5", "ipmi", "10.0.0.5", 0, "");
    expect_ep("ipmi://bmc-r1n01.mgmt.example.com:6230", "ipmi", "bmc-r1n01.mgmt.example.com", 6230,
              "");
    expect_ep("fake://node_1", "fake", "node_1", 0, "");
}

static void test_ep_https_ipv6(void **state)
{
    (void)state;
    expect_ep("https://[fe80::1]:8443/redfish", "https", "fe80::1", 8443, "/redfish");
    expect_ep("https://[::1]", "https", "::1", 0, "");
    expect_ep("https://[2001:db8::a:b]/redfish/v1/", "https", "2001:db8::a:b", 0, "/redfish/v1/");
    expect_ep("https://[::ffff:192.0.2.1]:443", "https", "::ffff:192.0.2.1", 443, "");
    expect_ep("https://bmc/", "https", "bmc", 0, "/");
}

static void test_ep_scheme_lowered(void **state)
{
    (void)state;
    expect_ep("HTTPS://BMC1:443/Redfish", "https", "BMC1", 443, "/Redfish");
    expect_ep("IpMi://h", "ipmi", "h", 0, "");
    expect_ep("Redfish+HTTPS://h", "redfish+https", "h", 0, "");
    expect_ep("ipmi2://h", "ipmi2", "h", 0, "");
}

static void test_ep_ports(void **state)
{
    (void)state;
    expect_ep("ipmi://h:1", "ipmi", "h", 1, "");
    expect_ep("ipmi://h:65535", "ipmi", "h", 65535, "");
    expect_ep("ipmi://h:00623", "ipmi", "h", 623, "");
    expect_ep_error("ipmi://h:0", "port must be a number from 1 to 65535");
    expect_ep_error("ipmi://h:65536", "port must be a number from 1 to 65535");
    expect_ep_error("ipmi://h:abc", "port must be a number");
    expect_ep_error("ipmi://h:", "port must be a number");
    expect_ep_error("ipmi://h:-1", "port must be a number");
    expect_ep_error("ipmi://h:1234567", NULL);
    expect_ep_error("ipmi://h:99999999999999999999", NULL);
    expect_ep_error("https://[::1]:0/x", "port must be a number");
    expect_ep_error("https://[::1]:70000", "port must be a number");
}

static void test_ep_credentials_refused(void **state)
{
    (void)state;
    struct ul_endpoint ep;
    ul_errmsg em = {{0}};
    /* refused, and the password never reaches the message */
    assert_int_equal(node_endpoint_parse("ipmi://admin:S3cretPw@bmc:623", &ep, &em),
                     UL_ERR_INVALID);
    assert_contains(em.text, "credentials");
    assert_not_contains(em.text, "S3cretPw");
    assert_not_contains(em.text, "admin");
    assert_int_equal(node_endpoint_parse("https://root@[fe80::1]/redfish", &ep, &em),
                     UL_ERR_INVALID);
    assert_contains(em.text, "credentials");
    expect_ep_error("https://:pw@bmc", "credentials");
}

static void test_ep_garbage_after_host(void **state)
{
    (void)state;
    expect_ep_error("ipmi://host:623junk", "unexpected 'junk'");
    expect_ep_error("https://[fe80::1]junk", "unexpected 'junk'");
    expect_ep_error("https://bmc?x=1", "unexpected '?x=1'");
    expect_ep_error("https://bmc/redfish#frag", "unexpected '#frag'");
    expect_ep_error("ipmi://ho st", "'ho st' is not a valid host name");
    expect_ep_error("ipmi://host;rm", "is not a valid host name");
    expect_ep_error("ipmi://a..b", "is not a valid host name");
    expect_ep_error("ipmi://.a", "is not a valid host name");
    expect_ep_error("ipmi://h\xc3\xa9", "is not a valid host name");
}

static void test_ep_bad_host_and_ipv6(void **state)
{
    (void)state;
    expect_ep_error("ipmi://", "is not a valid host name");
    expect_ep_error("ipmi://:623", "is not a valid host name");
    expect_ep_error("ipmi:///path", "is not a valid host name");
    expect_ep_error("https://[]/", "bad IPv6 literal");
    expect_ep_error("https://[fe80::g]/", "bad IPv6 literal");
    expect_ep_error("https://[fe80::1", "bad IPv6 literal");

    /* host label and name length limits */
    char uri[600];
    char label[80];
    memset(label, 'a', 64);
    label[64] = '\0';
    snprintf(uri, sizeof(uri), "ipmi://%s.example.com", label);
    expect_ep_error(uri, "is not a valid host name");
    label[63] = '\0';
    snprintf(uri, sizeof(uri), "ipmi://%s.example.com", label);
    char host[100];
    snprintf(host, sizeof(host), "%s.example.com", label);
    expect_ep(uri, "ipmi", host, 0, "");
    /* 300-character host */
    strcpy(uri, "ipmi://");
    for (int i = 0; i < 50; i++)
        strcat(uri, "abcde.");
    expect_ep_error(uri, NULL);
}

static void test_ep_not_uri(void **state)
{
    (void)state;
    expect_ep_error("", "empty URI");
    expect_ep_error(NULL, "empty URI");
    expect_ep_error("host:623", "is not a URI like");
    expect_ep_error("://host", "is not a URI like");
    expect_ep_error("1pmi://h", "bad scheme");
    expect_ep_error("ip mi://h", "bad scheme");
    expect_ep_error("+ipmi://h", "bad scheme");
    expect_ep_error("averyveryverylongscheme://h", NULL);
    char uri[600];
    memset(uri, 'a', sizeof(uri) - 1);
    memcpy(uri, "ipmi://", 7);
    uri[sizeof(uri) - 1] = '\0';
    expect_ep_error(uri, "longer than 512");
}

static void test_ep_long_path(void **state)
{
    (void)state;
    char uri[400];
    strcpy(uri, "https://bmc/");
    size_t n = strlen(uri);
    memset(uri + n, 'p', 300);
    uri[n + 300] = '\0';
    expect_ep_error(uri, "path too long");
}

/* ---- node_name_valid ---- */

static void test_name_valid(void **state)
{
    (void)state;
    assert_true(node_name_valid("n1"));
    assert_true(node_name_valid("A"));
    assert_true(node_name_valid("0"));
    assert_true(node_name_valid("rack1-n01.dc_2"));
    assert_true(node_name_valid("n-"));

    assert_false(node_name_valid(NULL));
    assert_false(node_name_valid(""));
    assert_false(node_name_valid("-n"));
    assert_false(node_name_valid(".n"));
    assert_false(node_name_valid("_n"));
    assert_false(node_name_valid("n 1"));
    assert_false(node_name_valid("n/1"));
    assert_false(node_name_valid("n[1]"));
    assert_false(node_name_valid("n,1"));
    assert_false(node_name_valid("n:1"));
    assert_false(node_name_valid("n*"));
    assert_false(node_name_valid("n\n"));
    assert_false(node_name_valid("n\xc3\xb6"));

    char name[300];
    memset(name, 'a', NODE_NAME_MAX);
    name[NODE_NAME_MAX] = '\0';
    assert_true(node_name_valid(name));
    name[NODE_NAME_MAX] = 'a';
    name[NODE_NAME_MAX + 1] = '\0';
    assert_false(node_name_valid(name));
}

/* ---- node_state_valid ---- */

static void test_state_valid(void **state)
{
    (void)state;
    const char *want[] = {"enrolled",     "ready",    "maintenance",
                          "provisioning", "deployed", "retired"};
    size_t n = 0;
    while (node_states[n])
        n++;
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(node_states[i], want[i]);
        assert_true(node_state_valid(want[i]));
    }
    assert_false(node_state_valid(NULL));
    assert_false(node_state_valid(""));
    assert_false(node_state_valid("Ready"));
    assert_false(node_state_valid("ready "));
    assert_false(node_state_valid("readyx"));
    assert_false(node_state_valid("read"));
    assert_false(node_state_valid("deleted"));
}

/* ---- node_labels_check ---- */

static void labels_ok(const char *json)
{
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    ul_errmsg em = {{0}};
    ul_err rc = node_labels_check(o, &em);
    json_object_put(o);
    if (rc != UL_OK)
        fail_msg("labels %s refused: %s", json, em.text);
}

static void labels_err_obj(json_object *o, const char *frag)
{
    ul_errmsg em = {{0}};
    ul_err rc = node_labels_check(o, &em);
    if (rc == UL_OK)
        fail_msg("labels %s accepted", json_object_to_json_string(o));
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_contains(em.text, "field 'labels");
    if (frag)
        assert_contains(em.text, frag);
}

static void labels_err(const char *json, const char *frag)
{
    json_object *o = json_tokener_parse(json);
    assert_non_null(o);
    labels_err_obj(o, frag);
    json_object_put(o);
}

static void test_labels_valid(void **state)
{
    (void)state;
    labels_ok("{}");
    labels_ok("{\"rack\":\"r1\",\"team/x\":\"a\",\"k.b-c_d\":\"\"}");
}

static void test_labels_not_object(void **state)
{
    (void)state;
    labels_err("[]", "must be an object of strings");
    labels_err("\"rack=r1\"", "must be an object of strings");
    labels_err_obj(NULL, "must be an object of strings");
}

static void test_labels_count(void **state)
{
    (void)state;
    json_object *o = json_object_new_object();
    char k[16];
    for (int i = 0; i < NODE_MAX_LABELS; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        json_object_object_add(o, k, json_object_new_string("v"));
    }
    ul_errmsg em = {{0}};
    assert_int_equal(node_labels_check(o, &em), UL_OK);
    json_object_object_add(o, "one-more", json_object_new_string("v"));
    labels_err_obj(o, "more than 64 labels");
    json_object_put(o);
}

static void test_labels_keys(void **state)
{
    (void)state;
    labels_err("{\"\":\"v\"}", "key ''");
    labels_err("{\"bad key\":\"v\"}", "key 'bad key'");
    labels_err("{\"k=v\":\"v\"}", "key 'k=v'");
    labels_err("{\"k\\u00e9\":\"v\"}", NULL);
    char doc[200], key[80];
    memset(key, 'k', NODE_LABEL_KEY_MAX);
    key[NODE_LABEL_KEY_MAX] = '\0';
    snprintf(doc, sizeof(doc), "{\"%s\":\"v\"}", key);
    labels_ok(doc);
    key[NODE_LABEL_KEY_MAX] = 'k';
    key[NODE_LABEL_KEY_MAX + 1] = '\0';
    snprintf(doc, sizeof(doc), "{\"%s\":\"v\"}", key);
    labels_err(doc, "1-63 characters");
}

static void test_labels_values(void **state)
{
    (void)state;
    labels_err("{\"rack\":1}", "field 'labels.rack': must be a string");
    labels_err("{\"rack\":null}", "field 'labels.rack': must be a string");
    labels_err("{\"ok\":\"v\",\"rack\":{\"a\":\"b\"}}", "'labels.rack'");
    char doc[400], val[300];
    memset(val, 'v', NODE_LABEL_VALUE_MAX);
    val[NODE_LABEL_VALUE_MAX] = '\0';
    snprintf(doc, sizeof(doc), "{\"k\":\"%s\"}", val);
    labels_ok(doc);
    val[NODE_LABEL_VALUE_MAX] = 'v';
    val[NODE_LABEL_VALUE_MAX + 1] = '\0';
    snprintf(doc, sizeof(doc), "{\"k\":\"%s\"}", val);
    labels_err(doc, "field 'labels.k': longer than 255 characters");
}

static void test_node_new_free(void **state)
{
    (void)state;
    struct ul_node *n = node_new();
    assert_non_null(n);
    assert_true(json_object_is_type(n->labels, json_type_object));
    assert_true(json_object_is_type(n->options, json_type_object));
    assert_int_equal(json_object_object_length(n->labels), 0);
    assert_null(n->name);
    assert_null(n->password);
    assert_false(n->has_password);
    n->name = strdup("n1");
    n->password = strdup("secret");
    node_free(n);
    node_free(NULL);
}

/* ---- the lifecycle transition table ---- */

static void test_transitions_table(void **state)
{
    (void)state;
    static const struct {
        const char *from, *to;
        bool ok;
    } cases[] = {
        {"enrolled", "ready", true},         {"enrolled", "maintenance", true},
        {"enrolled", "retired", true},       {"enrolled", "provisioning", false},
        {"enrolled", "deployed", false},     {"ready", "provisioning", true},
        {"ready", "maintenance", true},      {"ready", "retired", true},
        {"ready", "deployed", false},        {"ready", "enrolled", false},
        {"provisioning", "deployed", true},  {"provisioning", "ready", true},
        {"provisioning", "maintenance", true}, {"provisioning", "retired", false},
        {"deployed", "ready", true},         {"deployed", "maintenance", true},
        {"deployed", "retired", true},       {"deployed", "provisioning", false},
        {"retired", "enrolled", true},       {"retired", "ready", false},
        {"retired", "deployed", false},      {"maintenance", "ready", true},
        {"maintenance", "retired", true},    {"deployed", "deployed", true},
        {"retired", "retired", true},        {"ready", "broken", false},
        {"broken", "ready", false},          {NULL, "ready", false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (node_state_transition_ok(cases[i].from, NULL, cases[i].to) != cases[i].ok)
            fail_msg("%s -> %s: expected %s", cases[i].from ? cases[i].from : "(null)",
                     cases[i].to, cases[i].ok ? "allowed" : "refused");
}

static void test_transitions_maintenance_returns(void **state)
{
    (void)state;
    /* Back to where it came from, and only there besides ready/retired. */
    assert_true(node_state_transition_ok("maintenance", "provisioning", "provisioning"));
    assert_false(node_state_transition_ok("maintenance", "provisioning", "deployed"));
    assert_true(node_state_transition_ok("maintenance", "deployed", "deployed"));
    assert_false(node_state_transition_ok("maintenance", "deployed", "enrolled"));
    /* Origin unknown (entered before origins were recorded). */
    assert_true(node_state_transition_ok("maintenance", NULL, "deployed"));
    assert_true(node_state_transition_ok("maintenance", NULL, "enrolled"));
    assert_false(node_state_transition_ok("maintenance", NULL, "provisioning"));
    char buf[128];
    node_state_allowed_text("maintenance", "deployed", buf, sizeof(buf));
    assert_string_equal(buf, "ready, deployed or retired");
    node_state_allowed_text("retired", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "enrolled");
    node_state_allowed_text("enrolled", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "ready, maintenance or retired");
    node_state_allowed_text("broken", NULL, buf, sizeof(buf));
    assert_string_equal(buf, "none");
}

static void test_state_change(void **state)
{
    (void)state;
    struct ul_node *n = node_new();
    n->name = strdup("n1");
    n->state = strdup("deployed");
    ul_errmsg em = {{0}};
    assert_int_equal(node_state_change(n, "maintenance", &em), UL_OK);
    assert_string_equal(n->state, "maintenance");
    assert_string_equal(n->maintenance_from, "deployed");
    /* maintenance -> maintenance is a no-op that keeps the origin */
    assert_int_equal(node_state_change(n, "maintenance", &em), UL_OK);
    assert_string_equal(n->maintenance_from, "deployed");
    assert_int_equal(node_state_change(n, "provisioning", &em), UL_ERR_CONFLICT);
    assert_string_equal(em.text, "node n1: cannot go from maintenance to provisioning; from "
                                 "maintenance it may go to ready, deployed or retired");
    assert_string_equal(n->state, "maintenance"); /* untouched */
    assert_int_equal(node_state_change(n, "bogus", &em), UL_ERR_INVALID);
    assert_contains(em.text, "field 'state'");
    assert_int_equal(node_state_change(n, "deployed", &em), UL_OK);
    assert_string_equal(n->state, "deployed");
    assert_null(n->maintenance_from);
    node_free(n);
}

static void test_state_automatable(void **state)
{
    (void)state;
    assert_true(node_state_automatable("ready"));
    assert_true(node_state_automatable("deployed"));
    assert_true(node_state_automatable("enrolled"));
    assert_false(node_state_automatable("maintenance"));
    assert_false(node_state_automatable("retired"));
    assert_false(node_state_automatable("bogus"));
    assert_false(node_state_automatable(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ep_ipmi),
        cmocka_unit_test(test_ep_https_ipv6),
        cmocka_unit_test(test_ep_scheme_lowered),
        cmocka_unit_test(test_ep_ports),
        cmocka_unit_test(test_ep_credentials_refused),
        cmocka_unit_test(test_ep_garbage_after_host),
        cmocka_unit_test(test_ep_bad_host_and_ipv6),
        cmocka_unit_test(test_ep_not_uri),
        cmocka_unit_test(test_ep_long_path),
        cmocka_unit_test(test_name_valid),
        cmocka_unit_test(test_state_valid),
        cmocka_unit_test(test_labels_valid),
        cmocka_unit_test(test_labels_not_object),
        cmocka_unit_test(test_labels_count),
        cmocka_unit_test(test_labels_keys),
        cmocka_unit_test(test_labels_values),
        cmocka_unit_test(test_node_new_free),
        cmocka_unit_test(test_transitions_table),
        cmocka_unit_test(test_transitions_maintenance_returns),
        cmocka_unit_test(test_state_change),
        cmocka_unit_test(test_state_automatable),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
