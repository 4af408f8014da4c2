/* test_driver.c - unit tests for the driver registry (bmc/driver.c) and the
 * one place that fills it (daemon/drivers.c): what registering accepts and
 * refuses, that a refusal leaves the registry as it was, lookups by name and
 * scheme, and the session base every driver hands out. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "bmc/driver.h"
#include "ops/ops.h"
#include "daemon/drivers.h"
#include "unit_util.h"

static ul_err t_open(const struct ul_bmc_target *t, struct ul_bmc_session **out, ul_errmsg *em)
{
    (void)t;
    (void)out;
    return ul_errmsg_set(em, UL_ERR_INTERNAL, "not for opening");
}

static void t_close(struct ul_bmc_session *s)
{
    (void)s;
}

static size_t registered(void)
{
    size_t n = 0;
    for (const struct ul_driver *const *p = bmc_drivers(); *p; p++)
        n++;
    return n;
}

static int setup(void **state)
{
    (void)state;
    bmc_drivers_clear();
    return 0;
}

static void test_empty_registry(void **state)
{
    (void)state;
    assert_int_equal(registered(), 0);
    assert_null(bmc_driver_find("fake"));
    assert_null(bmc_driver_for_scheme("fake"));
    ul_errmsg em = {{0}};
    const struct ul_driver *d = NULL;
    assert_int_equal(bmc_node_check(NULL, "fake://n1", NULL, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "no driver handles scheme 'fake'");
}

static void test_register_and_find(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    assert_int_equal(bmc_driver_register(&bmc_fake_driver, &em), UL_OK);
    assert_ptr_equal(bmc_driver_find("fake"), &bmc_fake_driver);
    assert_ptr_equal(bmc_driver_for_scheme("fake"), &bmc_fake_driver);
    assert_null(bmc_driver_find("ipmi"));
    assert_null(bmc_driver_find(NULL));
    assert_null(bmc_driver_for_scheme(NULL));
    assert_int_equal(registered(), 1);
}

static void test_conflicts_leave_registry(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    assert_int_equal(bmc_driver_register(&bmc_fake_driver, &em), UL_OK);
    assert_int_equal(bmc_driver_register(&bmc_fake_driver, &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "register driver fake: already registered");

    static const char *const schemes[] = {"other", "fake", NULL};
    struct ul_driver twin = {.name = "twin",
                             .version = UL_DRIVER_API_VERSION,
                             .schemes = schemes,
                             .open = t_open,
                             .close = t_close};
    assert_int_equal(bmc_driver_register(&twin, &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "register driver twin: scheme 'fake' is already driver fake's");
    assert_int_equal(registered(), 1);
    assert_null(bmc_driver_find("twin"));
    assert_null(bmc_driver_for_scheme("other"));
}

static void test_bad_tables(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    assert_int_equal(bmc_driver_register(NULL, &em), UL_ERR_INVALID);
    assert_contains(em.text, "has no name");
    struct ul_driver d = {.name = "", .version = UL_DRIVER_API_VERSION, .open = t_open,
                          .close = t_close};
    assert_int_equal(bmc_driver_register(&d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "has no name");
    d.name = "future";
    d.version = UL_DRIVER_API_VERSION + 1;
    assert_int_equal(bmc_driver_register(&d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "register driver future: API version");
    d.version = 0;
    assert_int_equal(bmc_driver_register(&d, &em), UL_ERR_INVALID);
    d.version = UL_DRIVER_API_VERSION;
    d.open = NULL;
    assert_int_equal(bmc_driver_register(&d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "register driver future: no open or close slot");
    assert_int_equal(registered(), 0);
}

static void test_registry_full(void **state)
{
    (void)state;
    static struct ul_driver many[BMC_DRIVERS_MAX + 1];
    static char names[BMC_DRIVERS_MAX + 1][16];
    ul_errmsg em = {{0}};
    for (int i = 0; i <= BMC_DRIVERS_MAX; i++) {
        snprintf(names[i], sizeof(names[i]), "d%d", i);
        many[i] = (struct ul_driver){.name = names[i],
                                     .version = UL_DRIVER_API_VERSION,
                                     .open = t_open,
                                     .close = t_close};
    }
    for (int i = 0; i < BMC_DRIVERS_MAX; i++)
        assert_int_equal(bmc_driver_register(&many[i], &em), UL_OK);
    assert_int_equal(bmc_driver_register(&many[BMC_DRIVERS_MAX], &em), UL_ERR_INTERNAL);
    assert_contains(em.text, "the registry is full");
    assert_int_equal(registered(), BMC_DRIVERS_MAX);
    assert_ptr_equal(bmc_driver_find("d15"), &many[15]);
    bmc_drivers_clear();
    assert_int_equal(registered(), 0);
}

/* What the daemon registers, in the order the API names them. */
static void test_daemon_drivers(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    assert_int_equal(daemon_register_drivers(&em), UL_OK);
    const struct ul_driver *const *all = bmc_drivers();
    assert_string_equal(all[0]->name, "ipmi");
    assert_string_equal(all[1]->name, "redfish");
    assert_string_equal(all[2]->name, "fake");
    assert_null(all[3]);
    assert_string_equal(bmc_driver_for_scheme("ipmi")->name, "ipmi");
    assert_string_equal(bmc_driver_for_scheme("https")->name, "redfish");
    assert_string_equal(bmc_driver_for_scheme("http")->name, "redfish");
    assert_string_equal(bmc_driver_for_scheme("redfish")->name, "redfish");

    const struct ul_driver *d = NULL;
    assert_int_equal(bmc_node_check("nope", "fake://n1", NULL, &d, &em), UL_ERR_INVALID);
    assert_contains(em.text, "unknown driver 'nope' (known: ipmi, redfish, fake)");

    /* twice is a conflict, named */
    assert_int_equal(daemon_register_drivers(&em), UL_ERR_CONFLICT);
    assert_contains(em.text, "register driver ipmi: already registered");
    assert_int_equal(registered(), 3);
}

/* A session carries the driver that opened it (the one common base). */
static void test_session_base(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    assert_int_equal(daemon_register_drivers(&em), UL_OK);
    struct ul_bmc_target t = {.node = "n1", .timeout_ms = 1000};
    assert_int_equal(node_endpoint_parse("fake://unit-base", &t.ep, &em), UL_OK);
    const struct ul_driver *d = bmc_driver_for_scheme(t.ep.scheme);
    assert_ptr_equal(d, &bmc_fake_driver);
    struct ul_bmc_session *s = NULL;
    assert_int_equal(d->open(&t, &s, &em), UL_OK);
    assert_non_null(s);
    assert_ptr_equal(s->driver, &bmc_fake_driver);
    enum ul_power_state p = UL_POWER_UNKNOWN;
    assert_int_equal(s->driver->power_get(s, &p, &em), UL_OK);
    assert_int_equal(p, UL_POWER_OFF);
    s->driver->close(s);
    d->close(NULL); /* NULL-safe */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty_registry, setup),
        cmocka_unit_test_setup(test_register_and_find, setup),
        cmocka_unit_test_setup(test_conflicts_leave_registry, setup),
        cmocka_unit_test_setup(test_bad_tables, setup),
        cmocka_unit_test_setup(test_registry_full, setup),
        cmocka_unit_test_setup(test_daemon_drivers, setup),
        cmocka_unit_test_setup(test_session_base, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
