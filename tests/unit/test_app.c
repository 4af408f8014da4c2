/* test_app.c - unit tests for core/app.h (node changes and job submission
 * with their audit records, the lifecycle table through the app, versioned
 * updates, concurrent patches) and bmc/caps.h (the capability a job needs),
 * against a real SQLite store in a temporary directory and the real driver
 * registry. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/caps.h"
#include "bmc/driver.h"
#include "ops/ops.h"
#include "core/app.h"
#include "daemon/drivers.h"
#include "core/jobs.h"
#include "core/secret.h"
#include "core/store.h"
#include "jsonv.h"
#include "log.h"
#include "unit_util.h"

struct fixture {
    char *dir;
    char *db;
    unsigned char key[SECRET_KEY_LEN];
    ul_store *st;
    ul_jobs *jobs;
    ul_app *app;
};

/* Job types that never run here (the engine is not started): submissions
 * stay queued in the store, where the tests look for them. */
static ul_err never_run(ul_job_ctx *ctx, json_object *params, json_object **result, ul_errmsg *em)
{
    (void)ctx;
    (void)params;
    *result = NULL;
    return ul_errmsg_set(em, UL_ERR_INTERNAL, "test job types do not run");
}
static const struct ul_job_type power_type = {.name = "power", .needs_node = true, .run = never_run};
static const struct ul_job_type bios_type = {.name = "bios.read", .needs_node = true,
                                             .run = never_run};
static const struct ul_job_type sel_type = {.name = "sel", .needs_node = true, .run = never_run};


static int setup(void **state)
{
    ul_errmsg em = {{0}};
    if (secret_init(&em) != UL_OK)
        return -1;
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || !(f->dir = ut_mkdtemp()))
        return -1;
    f->db = ut_path(f->dir, "underlay.db");
    randombytes_buf(f->key, sizeof(f->key));
    if (store_open(f->db, f->key, &f->st, &em) != UL_OK) {
        print_error("setup: %s\n", em.text);
        return -1;
    }
    f->jobs = jobs_new(f->st, 1, 60);
    jobs_register(f->jobs, &power_type);
    jobs_register(f->jobs, &bios_type);
    jobs_register(f->jobs, &sel_type);
    f->app = app_new(f->st, f->jobs, &ops_app_hooks);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    app_free(f->app);
    jobs_free(f->jobs);
    store_close(f->st);
    ut_rmtree(f->dir);
    free(f->db);
    free(f->dir);
    free(f);
    return 0;
}

/* Enrol name with endpoint (driver by scheme) in state (NULL: default). */
static void enrol(struct fixture *f, const char *name, const char *endpoint, const char *state)
{
    struct ul_node *n = node_new();
    n->name = strdup(name);
    n->endpoint = strdup(endpoint);
    n->state = state ? strdup(state) : NULL;
    ul_errmsg em = {{0}};
    ul_err rc = app_node_create(f->app, "tester", n, &em);
    if (rc != UL_OK)
        fail_msg("enrol %s: %s", name, em.text);
    node_free(n);
}

/* The newest audit record with action, or fail. */
static struct ul_audit_list newest_audit(struct fixture *f, const char *action)
{
    struct ul_audit_list l = {0};
    ul_errmsg em;
    assert_int_equal(store_audit_list(f->st, NULL, action, 1, 0, &l, &em), UL_OK);
    if (l.count != 1)
        fail_msg("no audit record for %s", action);
    return l;
}

static int64_t count_jobs(struct fixture *f, const char *node)
{
    struct ul_job_filter jf = {.state = -1, .node = node, .limit = 100};
    struct ul_job_list jl = {0};
    ul_errmsg em;
    assert_int_equal(store_job_list(f->st, &jf, &jl, &em), UL_OK);
    int64_t total = jl.total;
    store_job_list_free(&jl);
    return total;
}

/* ---- nodes ---- */

static void test_create_audits_and_versions(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", NULL);
    struct ul_node *n;
    ul_errmsg em;
    assert_int_equal(store_node_get(f->st, "n1", false, &n, &em), UL_OK);
    assert_string_equal(n->state, "enrolled");
    assert_string_equal(n->driver, "fake");
    assert_int_equal(n->version, 1);
    node_free(n);
    struct ul_audit_list l = newest_audit(f, "node.create");
    assert_string_equal(l.items[0].actor, "tester");
    assert_string_equal(l.items[0].target, "n1");
    assert_string_equal(l.items[0].result, "ok");
    store_audit_list_free(&l);

    /* A duplicate is refused (and audited as an error), bad input is not
     * audited at all. */
    n = node_new();
    n->name = strdup("n1");
    n->endpoint = strdup("fake://other");
    assert_int_equal(app_node_create(f->app, "tester", n, &em), UL_ERR_CONFLICT);
    node_free(n);
    l = newest_audit(f, "node.create");
    assert_string_equal(l.items[0].result, "error");
    int64_t audits = l.total;
    store_audit_list_free(&l);
    n = node_new();
    n->name = strdup("n2");
    n->endpoint = strdup("fake://n2");
    n->state = strdup("broken");
    assert_int_equal(app_node_create(f->app, "tester", n, &em), UL_ERR_INVALID);
    assert_contains(em.text, "field 'state'");
    node_free(n);
    l = newest_audit(f, "node.create");
    assert_int_equal(l.total, audits);
    store_audit_list_free(&l);
    assert_int_equal(store_node_get(f->st, "n2", false, &n, &em), UL_ERR_NOT_FOUND);
}

static void test_update_merges_and_bumps_version(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", NULL);
    json_object *labels = json_object_new_object();
    json_object_object_add(labels, "rack", json_object_new_string("r1"));
    struct app_node_patch p = {.labels = labels};
    struct ul_node *n = NULL;
    bool stale = true;
    ul_errmsg em;
    assert_int_equal(app_node_update(f->app, "tester", "n1", &p, 0, &n, &stale, &em), UL_OK);
    assert_false(stale);
    assert_int_equal(n->version, 2);
    node_free(n);
    json_object_put(labels);

    /* With the current version: accepted; with the old one: stale (412),
     * nothing written, and the refusal audited. */
    labels = json_object_new_object();
    json_object_object_add(labels, "role", json_object_new_string("db"));
    p.labels = labels;
    assert_int_equal(app_node_update(f->app, "tester", "n1", &p, 2, &n, &stale, &em), UL_OK);
    assert_int_equal(n->version, 3);
    node_free(n);
    json_object_object_add(labels, "role", json_object_new_string("web"));
    assert_int_equal(app_node_update(f->app, "tester", "n1", &p, 2, &n, &stale, &em),
                     UL_ERR_CONFLICT);
    assert_true(stale);
    assert_null(n);
    assert_contains(em.text, "version 2");
    assert_contains(em.text, "it is 3");
    json_object_put(labels);
    assert_int_equal(store_node_get(f->st, "n1", false, &n, &em), UL_OK);
    assert_string_equal(jv_str(n->labels, "rack"), "r1");
    assert_string_equal(jv_str(n->labels, "role"), "db");
    assert_int_equal(n->version, 3);
    node_free(n);
    struct ul_audit_list l = newest_audit(f, "node.update");
    assert_string_equal(l.items[0].result, "error");
    assert_contains(l.items[0].detail, "\"error\":\"conflict\"");
    store_audit_list_free(&l);

    /* A bad label leaves everything as it was. */
    labels = json_object_new_object();
    json_object_object_add(labels, "bad key!", json_object_new_string("x"));
    p.labels = labels;
    assert_int_equal(app_node_update(f->app, "tester", "n1", &p, 0, &n, &stale, &em),
                     UL_ERR_INVALID);
    assert_false(stale);
    json_object_put(labels);
    assert_int_equal(store_node_get(f->st, "n1", false, &n, &em), UL_OK);
    assert_int_equal(n->version, 3);
    node_free(n);
    assert_int_equal(app_node_update(f->app, "tester", "ghost", &p, 0, &n, &stale, &em),
                     UL_ERR_NOT_FOUND);
}

static void test_lifecycle_through_app(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", "deployed");
    struct ul_node *n = NULL;
    bool stale;
    ul_errmsg em;
    /* deployed -> provisioning is not in the table: 409 naming the way out. */
    assert_int_equal(app_node_set_state(f->app, "op", "n1", "provisioning", 0, &n, &stale, &em),
                     UL_ERR_CONFLICT);
    assert_false(stale);
    assert_contains(em.text, "cannot go from deployed to provisioning");
    assert_contains(em.text, "ready, maintenance or retired");
    struct ul_audit_list l = newest_audit(f, "node.state");
    assert_string_equal(l.items[0].result, "error");
    store_audit_list_free(&l);
    /* Into maintenance and back to where it came from. */
    assert_int_equal(app_node_set_state(f->app, "op", "n1", "maintenance", 0, &n, &stale, &em),
                     UL_OK);
    assert_string_equal(n->maintenance_from, "deployed");
    node_free(n);
    assert_int_equal(store_node_get(f->st, "n1", false, &n, &em), UL_OK);
    assert_string_equal(n->maintenance_from, "deployed"); /* stored, not just in memory */
    node_free(n);
    assert_int_equal(app_node_set_state(f->app, "op", "n1", "provisioning", 0, &n, &stale, &em),
                     UL_ERR_CONFLICT);
    assert_contains(em.text, "ready, deployed or retired");
    assert_int_equal(app_node_set_state(f->app, "op", "n1", "deployed", 0, &n, &stale, &em),
                     UL_OK);
    assert_null(n->maintenance_from);
    node_free(n);
    l = newest_audit(f, "node.state");
    assert_string_equal(l.items[0].result, "ok");
    assert_contains(l.items[0].detail, "\"from\":\"maintenance\"");
    assert_contains(l.items[0].detail, "\"to\":\"deployed\"");
    store_audit_list_free(&l);
    /* An unknown state is bad input, not a conflict. */
    assert_int_equal(app_node_set_state(f->app, "op", "n1", "broken", 0, &n, &stale, &em),
                     UL_ERR_INVALID);
    assert_contains(em.text, "field 'state'");
}

static void test_delete_audits(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", NULL);
    ul_errmsg em;
    assert_int_equal(app_node_delete(f->app, "op", "n1", &em), UL_OK);
    struct ul_audit_list l = newest_audit(f, "node.delete");
    assert_string_equal(l.items[0].target, "n1");
    int64_t total = l.total;
    store_audit_list_free(&l);
    assert_int_equal(app_node_delete(f->app, "op", "n1", &em), UL_ERR_NOT_FOUND);
    l = newest_audit(f, "node.delete");
    assert_int_equal(l.total, total); /* an unknown node is not audited */
    store_audit_list_free(&l);
}

/* Two (here: several) writers patching different labels of one node at
 * once: with the old read-modify-write one writer's labels were lost; the
 * compare-and-swap keeps every one. */
#define PATCHERS 4
#define PATCHES 15 /* 60 labels in all, under NODE_MAX_LABELS */

struct patcher {
    struct fixture *f;
    int id;
    int failures;
    char msg[UL_ERRMSG_LEN];
};

static void *patch_thread(void *arg)
{
    struct patcher *p = arg;
    for (int i = 0; i < PATCHES; i++) {
        char key[32];
        snprintf(key, sizeof(key), "t%d-%d", p->id, i);
        json_object *labels = json_object_new_object();
        json_object_object_add(labels, key, json_object_new_string("x"));
        struct app_node_patch patch = {.labels = labels};
        bool stale;
        ul_errmsg em;
        ul_err rc = app_node_update(p->f->app, "tester", "n1", &patch, 0, NULL, &stale, &em);
        json_object_put(labels);
        if (rc != UL_OK) {
            p->failures++;
            snprintf(p->msg, sizeof(p->msg), "%s", em.text);
        }
    }
    return NULL;
}

static void test_concurrent_patches_lose_nothing(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", NULL);
    pthread_t th[PATCHERS];
    struct patcher p[PATCHERS];
    for (int i = 0; i < PATCHERS; i++) {
        p[i] = (struct patcher){.f = f, .id = i};
        assert_int_equal(pthread_create(&th[i], NULL, patch_thread, &p[i]), 0);
    }
    for (int i = 0; i < PATCHERS; i++) {
        pthread_join(th[i], NULL);
        if (p[i].failures)
            fail_msg("patcher %d: %d failures, last: %s", i, p[i].failures, p[i].msg);
    }
    struct ul_node *n;
    ul_errmsg em;
    assert_int_equal(store_node_get(f->st, "n1", false, &n, &em), UL_OK);
    assert_int_equal(json_object_object_length(n->labels), PATCHERS * PATCHES);
    assert_int_equal(n->version, 1 + PATCHERS * PATCHES);
    node_free(n);
}

/* ---- jobs and capabilities ---- */

static void test_caps_table(void **state)
{
    (void)state;
    const char *what;
    assert_int_equal(bmc_caps_required("bios.read", NULL, &what), UL_CAP_BIOS);
    assert_string_equal(what, "BIOS");
    assert_int_equal(bmc_caps_required("bios.set", NULL, NULL), UL_CAP_BIOS);
    assert_int_equal(bmc_caps_required("raid.delete", NULL, NULL), UL_CAP_RAID);
    assert_int_equal(bmc_caps_required("firmware.update", NULL, NULL), UL_CAP_FIRMWARE);
    assert_int_equal(bmc_caps_required("sel", NULL, NULL), UL_CAP_EVENTS);
    assert_int_equal(bmc_caps_required("power", NULL, NULL), UL_CAP_POWER);
    assert_int_equal(bmc_caps_required("nosuch", NULL, &what), 0);
    assert_null(what);
    /* "biosx" is not a bios.* type. */
    assert_int_equal(bmc_caps_required("biosx", NULL, NULL), 0);
    assert_string_equal(bmc_cap_name(UL_CAP_POWER_READING), "power_reading");
    assert_null(bmc_cap_name(UL_CAP_POWER | UL_CAP_BOOT));
    json_object *names = bmc_caps_json(bmc_driver_node_caps(&bmc_fake_driver, NULL));
    assert_string_equal(json_object_to_json_string_ext(names, JSON_C_TO_STRING_PLAIN),
                        "[\"power\",\"boot\"]");
    json_object_put(names);
    ul_errmsg em;
    assert_int_equal(bmc_caps_check(&bmc_fake_driver, NULL, "rack1-n01", "bios.set", NULL, &em),
                     UL_ERR_UNSUPPORTED);
    assert_string_equal(em.text, "node rack1-n01: BIOS not supported by this BMC (driver fake "
                                 "lacks capability 'bios')");
    assert_int_equal(bmc_caps_check(&bmc_fake_driver, NULL, "rack1-n01", "boot", NULL, &em), UL_OK);
    assert_int_equal(bmc_caps_check(bmc_driver_find("redfish"), NULL, "r1", "firmware.list", NULL, &em),
                     UL_OK);
    assert_int_equal(bmc_caps_check(bmc_driver_find("ipmi"), NULL, "i1", "raid.read", NULL, &em),
                     UL_ERR_UNSUPPORTED);
    assert_contains(em.text, "driver ipmi lacks capability 'raid'");
    assert_int_equal(bmc_caps_check(NULL, NULL, "x1", "power", NULL, &em), UL_ERR_UNSUPPORTED);
}

static void test_submit_checks_caps_and_audits(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", NULL);
    json_object *params = json_object_new_object();
    json_object_object_add(params, "action", json_object_new_string("on"));
    struct app_job_req r = {.actor = "op", .node = "n1", .type = "power", .params = params,
                            .audit_action = "power.on"};
    struct ul_job *job = NULL;
    ul_errmsg em;
    assert_int_equal(app_job_submit(f->app, &r, &job, &em), UL_OK);
    assert_non_null(job);
    assert_int_equal(job->state, UL_JOB_QUEUED);
    struct ul_audit_list l = newest_audit(f, "power.on");
    char want[64];
    snprintf(want, sizeof(want), "\"job\":%lld", (long long)job->id);
    assert_contains(l.items[0].detail, want);
    store_audit_list_free(&l);
    job_free(job);
    json_object_put(params);
    assert_int_equal(count_jobs(f, "n1"), 1);

    /* The fake driver has no BIOS: refused at once, nothing queued. */
    params = json_object_new_object();
    r = (struct app_job_req){.actor = "op", .node = "n1", .type = "bios.read", .params = params};
    assert_int_equal(app_job_submit(f->app, &r, &job, &em), UL_ERR_UNSUPPORTED);
    assert_null(job);
    assert_contains(em.text, "capability 'bios'");
    assert_int_equal(count_jobs(f, "n1"), 1);
    /* A refused change is audited all the same. */
    r.type = "sel";
    r.audit_action = "sel.clear";
    assert_int_equal(app_job_submit(f->app, &r, &job, &em), UL_ERR_UNSUPPORTED);
    l = newest_audit(f, "sel.clear");
    assert_string_equal(l.items[0].result, "error");
    assert_contains(l.items[0].detail, "not_supported");
    store_audit_list_free(&l);
    json_object_put(params);
    assert_int_equal(count_jobs(f, "n1"), 1);

    r = (struct app_job_req){.actor = "op", .node = "ghost", .type = "power"};
    assert_int_equal(app_job_submit(f->app, &r, &job, &em), UL_ERR_NOT_FOUND);
}

static void test_maintenance_blocks_automation_only(void **state)
{
    struct fixture *f = *state;
    enrol(f, "n1", "fake://n1", "maintenance");
    json_object *params = json_object_new_object();
    json_object_object_add(params, "action", json_object_new_string("off"));
    struct app_job_req r = {.actor = "rollout", .node = "n1", .type = "power", .params = params,
                            .audit_action = "power.off", .automated = true};
    struct ul_job *job = NULL;
    ul_errmsg em;
    assert_int_equal(app_job_submit(f->app, &r, &job, &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "node n1 is maintenance");
    assert_int_equal(count_jobs(f, "n1"), 0);
    /* The operator's own request runs, as it always did. */
    r.automated = false;
    r.actor = "op";
    assert_int_equal(app_job_submit(f->app, &r, &job, &em), UL_OK);
    job_free(job);
    json_object_put(params);
    assert_int_equal(count_jobs(f, "n1"), 1);
}

int main(void)
{
    ul_log_init("test_app", UL_LOG_STDERR, UL_LOG_ERROR);
    if (sodium_init() < 0)
        return 1;
    ul_errmsg em;
    if (daemon_register_drivers(&em) != UL_OK) {
        fprintf(stderr, "%s\n", em.text);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_audits_and_versions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_merges_and_bumps_version, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_through_app, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete_audits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent_patches_lose_nothing, setup, teardown),
        cmocka_unit_test(test_caps_table),
        cmocka_unit_test_setup_teardown(test_submit_checks_caps_and_audits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_maintenance_blocks_automation_only, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
