/* test_store.c - unit tests for core/store.h and core/secret.h, against a
 * real SQLite file in a temporary directory. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/secret.h"
#include "core/store.h"
#include "log.h"
#include "ultime.h"
#include "unit_util.h"

#define PLAIN_PW "Plaintext-Hunter2-Pw!"

struct fixture {
    char *dir;
    char *db;      /* dir/underlay.db */
    char *keyfile; /* dir/data.key */
    unsigned char key[SECRET_KEY_LEN];
    ul_store *st;
};

static int setup(void **state)
{
    ul_errmsg em = {{0}};
    if (secret_init(&em) != UL_OK)
        return -1;
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = ut_mkdtemp();
    if (!f->dir)
        return -1;
    f->db = ut_path(f->dir, "underlay.db");
    f->keyfile = ut_path(f->dir, "data.key");
    if (secret_key_load_or_create(f->keyfile, f->key, &em) != UL_OK ||
        store_open(f->db, f->key, &f->st, &em) != UL_OK) {
        print_error("setup: %s\n", em.text);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    store_close(f->st);
    ut_rmtree(f->dir);
    free(f->db);
    free(f->keyfile);
    free(f->dir);
    free(f);
    return 0;
}

/* Close and reopen the store with key. */
static ul_err reopen(struct fixture *f, const unsigned char *key, ul_errmsg *em)
{
    store_close(f->st);
    f->st = NULL;
    return store_open(f->db, key, &f->st, em);
}

static char *xdup(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* A node record ready for insertion; labels is JSON text or NULL. */
static struct ul_node *mk_node(const char *name, const char *state, const char *driver,
                               const char *labels, const char *password)
{
    struct ul_node *n = node_new();
    n->name = xdup(name);
    n->state = xdup(state);
    n->driver = xdup(driver);
    char ep[300];
    snprintf(ep, sizeof(ep), "%s://%s-bmc:623", driver, name);
    n->endpoint = xdup(ep);
    n->username = xdup("admin");
    n->password = xdup(password);
    if (labels) {
        json_object_put(n->labels);
        n->labels = json_tokener_parse(labels);
        assert_non_null(n->labels);
    }
    return n;
}

static void insert_node(ul_store *st, const char *name, const char *state, const char *driver,
                        const char *labels, const char *password)
{
    struct ul_node *n = mk_node(name, state, driver, labels, password);
    ul_errmsg em = {{0}};
    ul_err rc = store_node_insert(st, n, &em);
    node_free(n);
    if (rc != UL_OK)
        fail_msg("insert %s: %s", name, em.text);
}

static struct ul_job *mk_job(const char *type, const char *node, const char *params,
                             const char *actor, int64_t parent)
{
    struct ul_job *j = calloc(1, sizeof(*j));
    assert_non_null(j);
    j->type = xdup(type);
    j->node = xdup(node);
    j->params = xdup(params);
    j->actor = xdup(actor);
    j->timeout_s = 60;
    j->parent_id = parent;
    return j;
}

/* Insert a job and return its id. */
static int64_t insert_job(ul_store *st, const char *type, const char *node, const char *params,
                          int64_t parent)
{
    struct ul_job *j = mk_job(type, node, params, "tester", parent);
    ul_errmsg em = {{0}};
    ul_err rc = store_job_insert(st, j, &em);
    int64_t id = j->id;
    job_free(j);
    if (rc != UL_OK)
        fail_msg("job insert: %s", em.text);
    assert_true(id > 0);
    return id;
}

static struct ul_job *get_job(ul_store *st, int64_t id)
{
    struct ul_job *j = NULL;
    ul_errmsg em = {{0}};
    ul_err rc = store_job_get(st, id, &j, &em);
    if (rc != UL_OK)
        fail_msg("job get %lld: %s", (long long)id, em.text);
    return j;
}

static const char *label(struct ul_node *n, const char *k)
{
    json_object *v;
    if (!json_object_object_get_ex(n->labels, k, &v))
        return NULL;
    return json_object_get_string(v);
}

/* ---- open, schema ---- */

static int64_t sql_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
        sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static void test_open_creates_schema(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
    assert_int_equal(sql_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(sql_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type='table' AND "
                                    "name IN ('nodes','jobs','audit','tokens')"),
                     4);
    /* WAL mode is persistent in the file */
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(f->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(h);

    /* reopening an up-to-date database changes nothing */
    ul_errmsg em = {{0}};
    assert_int_equal(reopen(f, f->key, &em), UL_OK);
    assert_int_equal(store_schema_version(f->st), STORE_SCHEMA_VERSION);
}

/* The first shipped schema, verbatim (store.c: "never edit a shipped step"),
 * to check that a database written by the first release is migrated forward
 * with its data intact. */
static const char schema_v1[] =
    "CREATE TABLE nodes ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  labels TEXT NOT NULL DEFAULT '{}',"
    "  endpoint TEXT NOT NULL,"
    "  driver TEXT NOT NULL,"
    "  username TEXT,"
    "  password BLOB,"
    "  options TEXT NOT NULL DEFAULT '{}',"
    "  state TEXT NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE TABLE jobs ("
    "  id INTEGER PRIMARY KEY,"
    "  parent_id INTEGER REFERENCES jobs(id) ON DELETE CASCADE,"
    "  type TEXT NOT NULL,"
    "  node TEXT,"
    "  state TEXT NOT NULL,"
    "  params TEXT NOT NULL DEFAULT '{}',"
    "  result TEXT,"
    "  progress INTEGER NOT NULL DEFAULT 0,"
    "  message TEXT,"
    "  error_code TEXT,"
    "  error TEXT,"
    "  actor TEXT NOT NULL,"
    "  timeout_s INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  cancel_requested INTEGER NOT NULL DEFAULT 0,"
    "  created_at INTEGER NOT NULL,"
    "  started_at INTEGER,"
    "  finished_at INTEGER,"
    "  updated_at INTEGER NOT NULL);"
    "CREATE INDEX jobs_state ON jobs(state);"
    "CREATE INDEX jobs_node ON jobs(node);"
    "CREATE INDEX jobs_parent ON jobs(parent_id);"
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY,"
    "  time INTEGER NOT NULL,"
    "  actor TEXT NOT NULL,"
    "  action TEXT NOT NULL,"
    "  target TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  detail TEXT);"
    "CREATE TABLE tokens ("
    "  name TEXT PRIMARY KEY,"
    "  role TEXT NOT NULL,"
    "  hash BLOB NOT NULL UNIQUE,"
    "  created_at INTEGER NOT NULL,"
    "  last_used_at INTEGER);"
    "INSERT INTO nodes (name, labels, endpoint, driver, state, created_at, updated_at) "
    "  VALUES ('old1', '{\"rack\":\"r1\"}', 'ipmi://old1:623', 'ipmi', 'ready', 100, 100);"
    "INSERT INTO jobs (type, node, state, params, actor, timeout_s, created_at, updated_at) "
    "  VALUES ('power', 'old1', 'succeeded', '{\"action\":\"on\"}', 'alice', 60, 100, 100);"
    "PRAGMA user_version = 1;";

static void test_open_migrates_v1(void **state)
{
    struct fixture *f = *state;
    char *old = ut_path(f->dir, "v1.db");
    sqlite3 *h;
    assert_int_equal(sqlite3_open(old, &h), SQLITE_OK);
    char *err = NULL;
    int rc = sqlite3_exec(h, schema_v1, NULL, NULL, &err);
    if (rc != SQLITE_OK)
        fail_msg("v1 schema: %s", err ? err : "?");
    sqlite3_close(h);

    ul_store *st = NULL;
    ul_errmsg em = {{0}};
    if (store_open(old, f->key, &st, &em) != UL_OK)
        fail_msg("open v1: %s", em.text);
    assert_int_equal(store_schema_version(st), STORE_SCHEMA_VERSION);
    struct ul_node *n = NULL;
    assert_int_equal(store_node_get(st, "old1", true, &n, &em), UL_OK);
    assert_string_equal(n->endpoint, "ipmi://old1:623");
    assert_string_equal(label(n, "rack"), "r1");
    assert_int_equal(n->created_at, 100);
    assert_false(n->has_password);
    node_free(n);
    struct ul_job_list l;
    struct ul_job_filter flt = {.state = -1, .node = "old1", .limit = 10};
    assert_int_equal(store_job_list(st, &flt, &l, &em), UL_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.items[0]->state, UL_JOB_SUCCEEDED);
    assert_string_equal(l.items[0]->actor, "alice");
    store_job_list_free(&l);
    /* and the upgraded database takes new data */
    insert_node(st, "new1", "ready", "fake", NULL, PLAIN_PW);
    /* nodes from before versions start at version 1 */
    assert_int_equal(store_node_get(st, "old1", false, &n, &em), UL_OK);
    assert_int_equal(n->version, 1);
    assert_null(n->maintenance_from);
    node_free(n);
    store_close(st);
    assert_int_equal(sql_int(old, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    free(old);
}

static void test_open_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    char *newer = ut_path(f->dir, "newer.db");
    sqlite3 *h;
    assert_int_equal(sqlite3_open(newer, &h), SQLITE_OK);
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);

    ul_store *st = (ul_store *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    assert_int_equal(store_open(newer, f->key, &st, &em), UL_ERR_STORE);
    assert_null(st);
    assert_contains(em.text, newer);
    assert_contains(em.text, "newer");
    /* and it was left alone: no tables, same version */
    assert_int_equal(sql_int(newer, "PRAGMA user_version"), STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sql_int(newer, "SELECT count(*) FROM sqlite_master WHERE type='table'"), 0);
    free(newer);
}

static void test_open_not_a_database(void **state)
{
    struct fixture *f = *state;
    char *junk = ut_path(f->dir, "junk.db");
    char text[4096];
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    assert_int_equal(ut_write_file(junk, text), 0);
    ul_store *st = NULL;
    ul_errmsg em = {{0}};
    assert_int_equal(store_open(junk, f->key, &st, &em), UL_ERR_STORE);
    assert_null(st);
    assert_contains(em.text, junk);
    free(junk);

    char *nodir = ut_path(f->dir, "no/such/dir.db");
    assert_int_equal(store_open(nodir, f->key, &st, &em), UL_ERR_STORE);
    assert_null(st);
    free(nodir);
}

/* ---- nodes ---- */

static void test_node_insert_get(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t before = ul_wall_s();
    struct ul_node *n =
        mk_node("n1", "ready", "ipmi", "{\"rack\":\"r1\",\"role\":\"compute\"}", PLAIN_PW);
    json_object_object_add(n->options, "delay_ms", json_object_new_int(5));
    assert_int_equal(store_node_insert(f->st, n, &em), UL_OK);
    assert_true(n->id > 0);
    assert_true(n->created_at >= before);
    assert_int_equal(n->created_at, n->updated_at);
    assert_true(n->has_password);
    int64_t id = n->id;
    node_free(n);

    struct ul_node *g = NULL;
    assert_int_equal(store_node_get(f->st, "n1", false, &g, &em), UL_OK);
    assert_int_equal(g->id, id);
    assert_string_equal(g->name, "n1");
    assert_string_equal(g->endpoint, "ipmi://n1-bmc:623");
    assert_string_equal(g->driver, "ipmi");
    assert_string_equal(g->state, "ready");
    assert_string_equal(g->username, "admin");
    assert_true(g->has_password);
    assert_null(g->password); /* not asked for */
    assert_string_equal(label(g, "rack"), "r1");
    assert_string_equal(label(g, "role"), "compute");
    assert_int_equal(json_object_object_length(g->labels), 2);
    json_object *v;
    assert_true(json_object_object_get_ex(g->options, "delay_ms", &v));
    assert_int_equal(json_object_get_int(v), 5);
    assert_true(g->created_at >= before);
    node_free(g);

    assert_int_equal(store_node_get(f->st, "n1", true, &g, &em), UL_OK);
    assert_non_null(g->password);
    assert_string_equal(g->password, PLAIN_PW);
    node_free(g);

    /* no password, no username */
    struct ul_node *n2 = mk_node("n2", "enrolled", "fake", NULL, NULL);
    free(n2->username);
    n2->username = NULL;
    assert_int_equal(store_node_insert(f->st, n2, &em), UL_OK);
    assert_false(n2->has_password);
    node_free(n2);
    assert_int_equal(store_node_get(f->st, "n2", true, &g, &em), UL_OK);
    assert_false(g->has_password);
    assert_null(g->password);
    assert_null(g->username);
    assert_int_equal(json_object_object_length(g->labels), 0);
    node_free(g);
}

static void test_node_get_not_found(void **state)
{
    struct fixture *f = *state;
    struct ul_node *g = (struct ul_node *)(uintptr_t)0x1;
    ul_errmsg em = {{0}};
    assert_int_equal(store_node_get(f->st, "ghost", false, &g, &em), UL_ERR_NOT_FOUND);
    assert_null(g);
    assert_contains(em.text, "ghost");
    /* names are matched exactly, not as globs or case-insensitively */
    insert_node(f->st, "Node1", "ready", "fake", NULL, NULL);
    assert_int_equal(store_node_get(f->st, "node1", false, &g, &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_node_get(f->st, "Node*", false, &g, &em), UL_ERR_NOT_FOUND);
}

static void test_node_duplicate(void **state)
{
    struct fixture *f = *state;
    insert_node(f->st, "dup", "ready", "ipmi", "{\"a\":\"1\"}", "first-pw");
    struct ul_node *n = mk_node("dup", "retired", "fake", "{\"b\":\"2\"}", "second-pw");
    ul_errmsg em = {{0}};
    assert_int_equal(store_node_insert(f->st, n, &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "'dup'");
    assert_contains(em.text, "already exists");
    node_free(n);

    struct ul_node *g = NULL;
    assert_int_equal(store_node_get(f->st, "dup", true, &g, &em), UL_OK);
    assert_string_equal(g->state, "ready");
    assert_string_equal(g->driver, "ipmi");
    assert_string_equal(g->endpoint, "ipmi://dup-bmc:623");
    assert_string_equal(label(g, "a"), "1");
    assert_null(label(g, "b"));
    assert_string_equal(g->password, "first-pw");
    node_free(g);

    struct ul_node_list l;
    struct ul_node_filter flt = {.limit = 100};
    assert_int_equal(store_node_list(f->st, &flt, &l, &em), UL_OK);
    assert_int_equal(l.total, 1);
    store_node_list_free(&l);
}

static void populate_nodes(ul_store *st)
{
    insert_node(st, "rack2-n02", "ready", "ipmi", "{\"rack\":\"r2\",\"role\":\"r1\"}", NULL);
    insert_node(st, "rack1-n01", "ready", "fake", "{\"rack\":\"r1\",\"role\":\"compute\"}", "pw1");
    insert_node(st, "db1", "enrolled", "redfish", NULL, NULL);
    insert_node(st, "rack1-n02", "ready", "fake", "{\"rack\":\"r1\",\"role\":\"storage\"}", NULL);
    insert_node(st, "rack2-n01", "maintenance", "ipmi", "{\"rack\":\"r2\",\"role\":\"compute\"}",
                NULL);
}

/* List with f and compare names (NULL-ended) and total. */
static void expect_list(ul_store *st, const struct ul_node_filter *flt, int64_t total,
                        const char *const *names)
{
    struct ul_node_list l;
    ul_errmsg em = {{0}};
    ul_err rc = store_node_list(st, flt, &l, &em);
    if (rc != UL_OK)
        fail_msg("list: %s", em.text);
    size_t n = 0;
    while (names[n])
        n++;
    if (l.count != n || l.total != total) {
        for (size_t i = 0; i < l.count; i++)
            print_message("  got %s\n", l.items[i]->name);
        size_t count = l.count;
        int64_t got_total = l.total;
        store_node_list_free(&l);
        fail_msg("expected %zu items / total %lld, got %zu / %lld", n, (long long)total, count,
                 (long long)got_total);
    }
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(l.items[i]->name, names[i]);
        assert_null(l.items[i]->password); /* lists never decrypt */
    }
    store_node_list_free(&l);
}

static void test_node_list_filters(void **state)
{
    struct fixture *f = *state;
    populate_nodes(f->st);
    struct ul_node_filter flt = {.limit = 100};
    expect_list(
        f->st, &flt, 5,
        (const char *const[]){"db1", "rack1-n01", "rack1-n02", "rack2-n01", "rack2-n02", NULL});

    struct ul_node_filter g1 = {.name_glob = "rack1-*", .limit = 100};
    expect_list(f->st, &g1, 2, (const char *const[]){"rack1-n01", "rack1-n02", NULL});
    struct ul_node_filter g2 = {.name_glob = "rack?-n01", .limit = 100};
    expect_list(f->st, &g2, 2, (const char *const[]){"rack1-n01", "rack2-n01", NULL});
    struct ul_node_filter g3 = {.name_glob = "RACK*", .limit = 100};
    expect_list(f->st, &g3, 0, (const char *const[]){NULL});

    struct ul_node_filter s1 = {.state = "ready", .limit = 100};
    expect_list(f->st, &s1, 3, (const char *const[]){"rack1-n01", "rack1-n02", "rack2-n02", NULL});
    struct ul_node_filter d1 = {.driver = "ipmi", .limit = 100};
    expect_list(f->st, &d1, 2, (const char *const[]){"rack2-n01", "rack2-n02", NULL});

    /* labels: key and value both compared */
    const char *k1[] = {"rack"}, *v1[] = {"r1"};
    struct ul_node_filter l1 = {.label_keys = k1, .label_values = v1, .nlabels = 1, .limit = 100};
    expect_list(f->st, &l1, 2, (const char *const[]){"rack1-n01", "rack1-n02", NULL});
    const char *k2[] = {"rack", "role"}, *v2[] = {"r1", "compute"};
    struct ul_node_filter l2 = {.label_keys = k2, .label_values = v2, .nlabels = 2, .limit = 100};
    expect_list(f->st, &l2, 1, (const char *const[]){"rack1-n01", NULL});
    const char *k3[] = {"rack", "role"}, *v3[] = {"r2", "storage"};
    struct ul_node_filter l3 = {.label_keys = k3, .label_values = v3, .nlabels = 2, .limit = 100};
    expect_list(f->st, &l3, 0, (const char *const[]){NULL});
    const char *k4[] = {"role"}, *v4[] = {"r1"};
    struct ul_node_filter l4 = {.label_keys = k4, .label_values = v4, .nlabels = 1, .limit = 100};
    expect_list(f->st, &l4, 1, (const char *const[]){"rack2-n02", NULL});
    const char *k5[] = {"nokey"}, *v5[] = {""};
    struct ul_node_filter l5 = {.label_keys = k5, .label_values = v5, .nlabels = 1, .limit = 100};
    expect_list(f->st, &l5, 0, (const char *const[]){NULL});

    /* every filter at once is AND-ed */
    const char *k6[] = {"role"}, *v6[] = {"compute"};
    struct ul_node_filter all = {.name_glob = "rack*",
                                 .state = "ready",
                                 .driver = "fake",
                                 .label_keys = k6,
                                 .label_values = v6,
                                 .nlabels = 1,
                                 .limit = 100};
    expect_list(f->st, &all, 1, (const char *const[]){"rack1-n01", NULL});
    all.driver = "ipmi";
    expect_list(f->st, &all, 0, (const char *const[]){NULL});
}

static void test_node_list_paging(void **state)
{
    struct fixture *f = *state;
    populate_nodes(f->st);
    struct ul_node_filter p1 = {.limit = 2, .offset = 1};
    expect_list(f->st, &p1, 5, (const char *const[]){"rack1-n01", "rack1-n02", NULL});
    struct ul_node_filter p2 = {.limit = 2, .offset = 4};
    expect_list(f->st, &p2, 5, (const char *const[]){"rack2-n02", NULL});
    struct ul_node_filter p3 = {.limit = 10, .offset = 5};
    expect_list(f->st, &p3, 5, (const char *const[]){NULL});
    /* total reflects the filter, not the table */
    struct ul_node_filter p4 = {.state = "ready", .limit = 1, .offset = 1};
    expect_list(f->st, &p4, 3, (const char *const[]){"rack1-n02", NULL});

    /* has_password is reported in lists */
    struct ul_node_list l;
    ul_errmsg em;
    struct ul_node_filter g = {.name_glob = "rack1-*", .limit = 10};
    assert_int_equal(store_node_list(f->st, &g, &l, &em), UL_OK);
    assert_int_equal(l.count, 2);
    assert_true(l.items[0]->has_password);
    assert_false(l.items[1]->has_password);
    store_node_list_free(&l);
}

static void test_node_update(void **state)
{
    struct fixture *f = *state;
    insert_node(f->st, "up1", "enrolled", "ipmi", "{\"a\":\"1\"}", "old-pw");
    ul_errmsg em = {{0}};
    struct ul_node *n = NULL;
    assert_int_equal(store_node_get(f->st, "up1", false, &n, &em), UL_OK);
    int64_t created = n->created_at;

    free(n->endpoint);
    n->endpoint = strdup("https://[fe80::1]:8443/redfish");
    free(n->driver);
    n->driver = strdup("redfish");
    free(n->state);
    n->state = strdup("maintenance");
    free(n->username);
    n->username = NULL;
    json_object_put(n->labels);
    n->labels = json_tokener_parse("{\"b\":\"2\"}");
    json_object_object_add(n->options, "verify_tls", json_object_new_boolean(0));
    assert_int_equal(store_node_update(f->st, n, false, &em), UL_OK);
    assert_true(n->updated_at >= created);
    node_free(n);

    struct ul_node *g = NULL;
    assert_int_equal(store_node_get(f->st, "up1", true, &g, &em), UL_OK);
    assert_string_equal(g->endpoint, "https://[fe80::1]:8443/redfish");
    assert_string_equal(g->driver, "redfish");
    assert_string_equal(g->state, "maintenance");
    assert_null(g->username);
    assert_null(label(g, "a"));
    assert_string_equal(label(g, "b"), "2");
    json_object *v;
    assert_true(json_object_object_get_ex(g->options, "verify_tls", &v));
    assert_int_equal(g->created_at, created);
    /* the password was not touched */
    assert_string_equal(g->password, "old-pw");

    /* replace the password */
    free(g->password);
    g->password = strdup("new-pw");
    assert_int_equal(store_node_update(f->st, g, true, &em), UL_OK);
    node_free(g);
    assert_int_equal(store_node_get(f->st, "up1", true, &g, &em), UL_OK);
    assert_string_equal(g->password, "new-pw");

    /* clear it */
    free(g->password);
    g->password = NULL;
    assert_int_equal(store_node_update(f->st, g, true, &em), UL_OK);
    assert_false(g->has_password);
    node_free(g);
    assert_int_equal(store_node_get(f->st, "up1", true, &g, &em), UL_OK);
    assert_false(g->has_password);
    assert_null(g->password);

    /* an unknown id */
    g->id = 999999;
    assert_int_equal(store_node_update(f->st, g, false, &em), UL_ERR_NOT_FOUND);
    node_free(g);
}

/* Every update bumps the version; store_node_update_if writes only over
 * the version it read. */
static void test_node_version_cas(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    insert_node(f->st, "v1", "ready", "fake", NULL, NULL);
    struct ul_node *a = NULL, *b = NULL;
    assert_int_equal(store_node_get(f->st, "v1", false, &a, &em), UL_OK);
    assert_int_equal(a->version, 1);
    assert_int_equal(store_node_get(f->st, "v1", false, &b, &em), UL_OK);
    json_object_object_add(a->labels, "from", json_object_new_string("a"));
    assert_int_equal(store_node_update_if(f->st, a, false, 1, &em), UL_OK);
    assert_int_equal(a->version, 2);
    /* b read version 1 too: its write is refused, nothing changes */
    json_object_object_add(b->labels, "from", json_object_new_string("b"));
    assert_int_equal(store_node_update_if(f->st, b, false, 1, &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "version 2 is current, not 1");
    node_free(b);
    assert_int_equal(store_node_get(f->st, "v1", false, &b, &em), UL_OK);
    assert_string_equal(label(b, "from"), "a");
    assert_int_equal(b->version, 2);
    /* the unconditional update bumps it as well */
    assert_int_equal(store_node_update(f->st, b, false, &em), UL_OK);
    assert_int_equal(b->version, 3);
    /* maintenance_from is kept only while in maintenance */
    free(b->state);
    b->state = strdup("maintenance");
    b->maintenance_from = strdup("ready");
    assert_int_equal(store_node_update_if(f->st, b, false, 3, &em), UL_OK);
    node_free(b);
    assert_int_equal(store_node_get(f->st, "v1", false, &b, &em), UL_OK);
    assert_string_equal(b->maintenance_from, "ready");
    free(b->state);
    b->state = strdup("ready");
    assert_int_equal(store_node_update(f->st, b, false, &em), UL_OK);
    node_free(b);
    assert_int_equal(store_node_get(f->st, "v1", false, &b, &em), UL_OK);
    assert_null(b->maintenance_from);
    assert_int_equal(b->version, 5);
    /* a node that is gone */
    b->id = 999999;
    assert_int_equal(store_node_update_if(f->st, b, false, 5, &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_node_update_if(f->st, b, false, -1, &em), UL_ERR_INVALID);
    node_free(b);
    node_free(a);
}

static void test_node_delete(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    insert_node(f->st, "del1", "ready", "fake", NULL, NULL);
    insert_node(f->st, "other", "ready", "fake", NULL, NULL);

    assert_int_equal(store_node_delete(f->st, "ghost", &em), UL_ERR_NOT_FOUND);
    assert_contains(em.text, "ghost");

    /* a queued job blocks the delete */
    int64_t j = insert_job(f->st, "power", "del1", "{\"action\":\"on\"}", 0);
    assert_int_equal(store_node_delete(f->st, "del1", &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "del1");
    assert_contains(em.text, "jobs");
    struct ul_node *g = NULL;
    assert_int_equal(store_node_get(f->st, "del1", false, &g, &em), UL_OK);
    node_free(g);

    /* so does a running one */
    assert_int_equal(store_job_mark_running(f->st, j, &em), UL_OK);
    assert_int_equal(store_node_delete(f->st, "del1", &em), UL_ERR_CONFLICT);

    /* a job on another node does not */
    insert_job(f->st, "power", "del1-x", "{}", 0);
    /* once the job has finished the node can go */
    assert_int_equal(store_job_finish(f->st, j, UL_JOB_FAILED, NULL, "timeout", "t", &em), UL_OK);
    assert_int_equal(store_node_delete(f->st, "del1", &em), UL_OK);
    assert_int_equal(store_node_get(f->st, "del1", false, &g, &em), UL_ERR_NOT_FOUND);
    assert_null(g);
    assert_int_equal(store_node_delete(f->st, "del1", &em), UL_ERR_NOT_FOUND);
    /* the other node is still there */
    assert_int_equal(store_node_get(f->st, "other", false, &g, &em), UL_OK);
    node_free(g);
}

/* ---- credentials at rest ---- */

static void assert_file_lacks(const char *path, const char *needle)
{
    size_t len;
    unsigned char *buf = ut_read_file(path, &len);
    if (!buf)
        return; /* e.g. no -wal file after a clean close */
    int found = ut_mem_contains(buf, len, needle);
    free(buf);
    if (found)
        fail_msg("'%s' found in plaintext in %s", needle, path);
}

/* Positive control for the scan: needle is in path or its -wal file. */
static int db_files_contain(const char *db, const char *needle)
{
    char wal[4096];
    snprintf(wal, sizeof(wal), "%s-wal", db);
    int found = 0;
    const char *paths[] = {db, wal};
    for (int i = 0; i < 2; i++) {
        size_t len;
        unsigned char *buf = ut_read_file(paths[i], &len);
        if (buf)
            found |= ut_mem_contains(buf, len, needle);
        free(buf);
    }
    return found;
}

static void test_password_encrypted_at_rest(void **state)
{
    struct fixture *f = *state;
    insert_node(f->st, "sec1", "ready", "ipmi", NULL, PLAIN_PW);
    insert_node(f->st, "sec2", "ready", "ipmi", NULL, PLAIN_PW);

    /* read the raw column behind the store's back */
    sqlite3 *h;
    assert_int_equal(sqlite3_open_v2(f->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    sqlite3_stmt *s;
    assert_int_equal(
        sqlite3_prepare_v2(h, "SELECT password FROM nodes ORDER BY name", -1, &s, NULL), SQLITE_OK);
    unsigned char blobs[2][128];
    int lens[2];
    for (int i = 0; i < 2; i++) {
        assert_int_equal(sqlite3_step(s), SQLITE_ROW);
        assert_int_equal(sqlite3_column_type(s, 0), SQLITE_BLOB);
        lens[i] = sqlite3_column_bytes(s, 0);
        /* nonce || MAC || ciphertext of the same length as the plaintext */
        assert_int_equal(lens[i], crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES +
                                      strlen(PLAIN_PW));
        memcpy(blobs[i], sqlite3_column_blob(s, 0), (size_t)lens[i]);
        assert_false(ut_mem_contains(blobs[i], (size_t)lens[i], PLAIN_PW));
    }
    sqlite3_finalize(s);
    sqlite3_close(h);
    /* a fresh nonce each time: equal passwords give different blobs */
    assert_memory_not_equal(blobs[0], blobs[1], (size_t)lens[0]);

    /* nowhere in the database files, while open (WAL) and after close */
    char *wal = ut_path(f->dir, "underlay.db-wal");
    /* the scan does see what was written (the endpoint is stored as is) */
    assert_true(db_files_contain(f->db, "ipmi://sec1-bmc:623"));
    assert_file_lacks(f->db, PLAIN_PW);
    assert_file_lacks(wal, PLAIN_PW);
    store_close(f->st);
    f->st = NULL;
    assert_true(db_files_contain(f->db, "ipmi://sec1-bmc:623"));
    assert_file_lacks(f->db, PLAIN_PW);
    assert_file_lacks(wal, PLAIN_PW);
    free(wal);

    /* and it decrypts */
    ul_errmsg em = {{0}};
    assert_int_equal(store_open(f->db, f->key, &f->st, &em), UL_OK);
    struct ul_node *g = NULL;
    assert_int_equal(store_node_get(f->st, "sec2", true, &g, &em), UL_OK);
    assert_string_equal(g->password, PLAIN_PW);
    node_free(g);
}

static void test_wrong_key(void **state)
{
    struct fixture *f = *state;
    insert_node(f->st, "wk1", "ready", "ipmi", NULL, PLAIN_PW);
    insert_node(f->st, "wk2", "ready", "ipmi", NULL, NULL);
    unsigned char other[SECRET_KEY_LEN];
    randombytes_buf(other, sizeof(other));
    ul_errmsg em = {{0}};
    assert_int_equal(reopen(f, other, &em), UL_OK);

    struct ul_node *g = (struct ul_node *)(uintptr_t)0x1;
    assert_int_equal(store_node_get(f->st, "wk1", true, &g, &em), UL_ERR_STORE);
    assert_null(g);
    assert_contains(em.text, "wk1");
    assert_contains(em.text, "decrypt");
    assert_not_contains(em.text, PLAIN_PW);

    /* without the secret the record is still readable */
    assert_int_equal(store_node_get(f->st, "wk1", false, &g, &em), UL_OK);
    assert_true(g->has_password);
    assert_null(g->password);
    assert_string_equal(g->endpoint, "ipmi://wk1-bmc:623");
    node_free(g);
    /* and a node without a password is fine either way */
    assert_int_equal(store_node_get(f->st, "wk2", true, &g, &em), UL_OK);
    node_free(g);
    /* lists never decrypt, so they work */
    struct ul_node_list l;
    struct ul_node_filter flt = {.limit = 10};
    assert_int_equal(store_node_list(f->st, &flt, &l, &em), UL_OK);
    assert_int_equal(l.count, 2);
    store_node_list_free(&l);

    /* the right key still works */
    assert_int_equal(reopen(f, f->key, &em), UL_OK);
    assert_int_equal(store_node_get(f->st, "wk1", true, &g, &em), UL_OK);
    assert_string_equal(g->password, PLAIN_PW);
    node_free(g);
}

static void test_reopen_keeps_data(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    insert_node(f->st, "keep1", "deployed", "ipmi", "{\"rack\":\"r9\"}", PLAIN_PW);
    int64_t j1 = insert_job(f->st, "power", "keep1", "{\"action\":\"on\"}", 0);
    int64_t j2 = insert_job(f->st, "power", "keep1", "{\"action\":\"off\"}", 0);
    assert_int_equal(store_job_mark_running(f->st, j2, &em), UL_OK);
    assert_int_equal(store_job_progress(f->st, j2, 40, "halfway", &em), UL_OK);
    assert_int_equal(store_audit_add(f->st, "alice", "node.create", "keep1", "ok", "{}", &em),
                     UL_OK);
    unsigned char h[SECRET_HASH_LEN];
    secret_token_hash("ul_tok", h);
    assert_int_equal(store_token_add(f->st, "ci", "operator", h, &em), UL_OK);

    assert_int_equal(reopen(f, f->key, &em), UL_OK);

    struct ul_node *g = NULL;
    assert_int_equal(store_node_get(f->st, "keep1", true, &g, &em), UL_OK);
    assert_string_equal(g->state, "deployed");
    assert_string_equal(label(g, "rack"), "r9");
    assert_string_equal(g->password, PLAIN_PW);
    node_free(g);
    struct ul_job *j = get_job(f->st, j1);
    assert_int_equal(j->state, UL_JOB_QUEUED);
    assert_string_equal(j->params, "{\"action\":\"on\"}");
    job_free(j);
    j = get_job(f->st, j2);
    assert_int_equal(j->state, UL_JOB_RUNNING);
    assert_int_equal(j->progress, 40);
    assert_string_equal(j->message, "halfway");
    assert_int_equal(j->attempts, 1);
    job_free(j);
    struct ul_audit_list al;
    assert_int_equal(store_audit_list(f->st, NULL, NULL, 10, 0, &al, &em), UL_OK);
    assert_int_equal(al.count, 1);
    assert_string_equal(al.items[0].target, "keep1");
    store_audit_list_free(&al);
    char *name = NULL, *role = NULL;
    assert_int_equal(store_token_find(f->st, h, &name, &role, &em), UL_OK);
    assert_string_equal(name, "ci");
    assert_string_equal(role, "operator");
    free(name);
    free(role);
}

/* ---- jobs ---- */

static void test_job_insert_get(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t before = ul_wall_s();
    struct ul_job *in = mk_job("power", "n1", "{\"action\":\"on\"}", "alice", 0);
    in->timeout_s = 77;
    in->message = strdup("waiting");
    assert_int_equal(store_job_insert(f->st, in, &em), UL_OK);
    assert_true(in->id > 0);
    assert_int_equal(in->state, UL_JOB_QUEUED);
    assert_true(in->created_at >= before);
    int64_t id = in->id;
    job_free(in);

    struct ul_job *j = get_job(f->st, id);
    assert_int_equal(j->id, id);
    assert_int_equal(j->parent_id, 0);
    assert_string_equal(j->type, "power");
    assert_string_equal(j->node, "n1");
    assert_string_equal(j->params, "{\"action\":\"on\"}");
    assert_string_equal(j->actor, "alice");
    assert_string_equal(j->message, "waiting");
    assert_int_equal(j->timeout_s, 77);
    assert_int_equal(j->state, UL_JOB_QUEUED);
    assert_int_equal(j->progress, 0);
    assert_int_equal(j->attempts, 0);
    assert_false(j->cancel_requested);
    assert_null(j->result);
    assert_null(j->error_code);
    assert_null(j->error);
    assert_true(j->created_at >= before);
    assert_int_equal(j->started_at, 0);
    assert_int_equal(j->finished_at, 0);
    job_free(j);

    /* defaults: no node, no params, no actor */
    struct ul_job *fleet = mk_job("inventory", NULL, NULL, NULL, id);
    assert_int_equal(store_job_insert(f->st, fleet, &em), UL_OK);
    j = get_job(f->st, fleet->id);
    assert_null(j->node);
    assert_string_equal(j->params, "{}");
    assert_string_equal(j->actor, "system");
    assert_int_equal(j->parent_id, id);
    job_free(j);
    job_free(fleet);

    struct ul_job *none = (struct ul_job *)(uintptr_t)0x1;
    assert_int_equal(store_job_get(f->st, 424242, &none, &em), UL_ERR_NOT_FOUND);
    assert_null(none);
    assert_contains(em.text, "424242");
}

static void test_job_lifecycle(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t id = insert_job(f->st, "power", "n1", "{\"action\":\"on\"}", 0);

    /* progress only applies to running jobs */
    assert_int_equal(store_job_progress(f->st, id, 10, "x", &em), UL_ERR_NOT_FOUND);

    assert_int_equal(store_job_mark_running(f->st, id, &em), UL_OK);
    struct ul_job *j = get_job(f->st, id);
    assert_int_equal(j->state, UL_JOB_RUNNING);
    assert_int_equal(j->attempts, 1);
    assert_true(j->started_at > 0);
    job_free(j);
    /* running -> running is refused */
    assert_int_equal(store_job_mark_running(f->st, id, &em), UL_ERR_NOT_FOUND);

    assert_int_equal(store_job_progress(f->st, id, 50, "step two", &em), UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->progress, 50);
    assert_string_equal(j->message, "step two");
    job_free(j);
    /* progress is clamped to 0-100 */
    assert_int_equal(store_job_progress(f->st, id, 150, "over", &em), UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->progress, 100);
    job_free(j);
    assert_int_equal(store_job_progress(f->st, id, -5, "under", &em), UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->progress, 0);
    job_free(j);

    /* requeue keeps attempts; the next start counts again */
    assert_int_equal(store_job_requeue(f->st, id, "resumed after restart", &em), UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->state, UL_JOB_QUEUED);
    assert_string_equal(j->message, "resumed after restart");
    assert_int_equal(j->attempts, 1);
    job_free(j);
    assert_int_equal(store_job_mark_running(f->st, id, &em), UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->attempts, 2);
    job_free(j);

    assert_int_equal(store_job_progress(f->st, id, 30, "partway", &em), UL_OK);
    assert_int_equal(
        store_job_finish(f->st, id, UL_JOB_SUCCEEDED, "{\"power\":\"on\"}", NULL, NULL, &em),
        UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->state, UL_JOB_SUCCEEDED);
    assert_int_equal(j->progress, 100); /* success completes the bar */
    assert_string_equal(j->result, "{\"power\":\"on\"}");
    assert_null(j->error_code);
    assert_null(j->error);
    assert_true(j->finished_at >= j->started_at);
    assert_true(j->finished_at > 0);
    job_free(j);

    /* a finished job is final */
    assert_int_equal(store_job_finish(f->st, id, UL_JOB_FAILED, NULL, "x", "y", &em),
                     UL_ERR_NOT_FOUND);
    assert_int_equal(store_job_mark_running(f->st, id, &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_job_progress(f->st, id, 1, "z", &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_job_requeue(f->st, id, "again", &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_job_request_cancel(f->st, id, &em), UL_ERR_NOT_FOUND);
    j = get_job(f->st, id);
    assert_int_equal(j->state, UL_JOB_SUCCEEDED);
    assert_false(j->cancel_requested);
    job_free(j);

    /* unknown ids */
    assert_int_equal(store_job_mark_running(f->st, 987654, &em), UL_ERR_NOT_FOUND);
    assert_contains(em.text, "987654");
}

static void test_job_fail_and_cancel(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t a = insert_job(f->st, "power", "n1", "{}", 0);
    assert_int_equal(store_job_mark_running(f->st, a, &em), UL_OK);
    assert_int_equal(store_job_progress(f->st, a, 30, "sending", &em), UL_OK);
    assert_int_equal(store_job_finish(f->st, a, UL_JOB_FAILED, NULL, "auth_failed",
                                      "node n1: BMC rejected the credentials", &em),
                     UL_OK);
    struct ul_job *j = get_job(f->st, a);
    assert_int_equal(j->state, UL_JOB_FAILED);
    assert_int_equal(j->progress, 30); /* failure keeps the progress reached */
    assert_string_equal(j->error_code, "auth_failed");
    assert_string_equal(j->error, "node n1: BMC rejected the credentials");
    assert_null(j->result);
    job_free(j);

    /* cancel request on queued and running jobs */
    int64_t b = insert_job(f->st, "power", "n2", "{}", 0);
    assert_int_equal(store_job_request_cancel(f->st, b, &em), UL_OK);
    j = get_job(f->st, b);
    assert_true(j->cancel_requested);
    assert_int_equal(j->state, UL_JOB_QUEUED);
    job_free(j);
    /* a queued job may be finished directly (canceled before start) */
    assert_int_equal(store_job_finish(f->st, b, UL_JOB_CANCELED, NULL, "canceled", "canceled", &em),
                     UL_OK);
    j = get_job(f->st, b);
    assert_int_equal(j->state, UL_JOB_CANCELED);
    assert_int_equal(j->started_at, 0);
    assert_true(j->finished_at > 0);
    job_free(j);
}

static void test_job_list(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t p = insert_job(f->st, "fanout", NULL, "{}", 0); /* queued */
    int64_t c1 = insert_job(f->st, "power", "a", "{}", p);  /* running */
    int64_t c2 = insert_job(f->st, "power", "b", "{}", p);  /* succeeded */
    int64_t x = insert_job(f->st, "boot", "a", "{}", 0);    /* failed */
    int64_t y = insert_job(f->st, "power", "a", "{}", 0);   /* queued */
    assert_int_equal(store_job_mark_running(f->st, c1, &em), UL_OK);
    assert_int_equal(store_job_mark_running(f->st, c2, &em), UL_OK);
    assert_int_equal(store_job_finish(f->st, c2, UL_JOB_SUCCEEDED, NULL, NULL, NULL, &em), UL_OK);
    assert_int_equal(store_job_finish(f->st, x, UL_JOB_FAILED, NULL, "e", "e", &em), UL_OK);

    struct ul_job_list l;
    struct ul_job_filter all = {.state = -1, .limit = 100};
    assert_int_equal(store_job_list(f->st, &all, &l, &em), UL_OK);
    assert_int_equal(l.total, 5);
    assert_int_equal(l.count, 5);
    /* newest first */
    int64_t want[] = {y, x, c2, c1, p};
    for (int i = 0; i < 5; i++)
        assert_int_equal(l.items[i]->id, want[i]);
    store_job_list_free(&l);

    struct ul_job_filter byst = {.state = UL_JOB_QUEUED, .limit = 100};
    assert_int_equal(store_job_list(f->st, &byst, &l, &em), UL_OK);
    assert_int_equal(l.total, 2);
    assert_int_equal(l.items[0]->id, y);
    assert_int_equal(l.items[1]->id, p);
    store_job_list_free(&l);

    struct ul_job_filter bynode = {.state = -1, .node = "a", .limit = 100};
    assert_int_equal(store_job_list(f->st, &bynode, &l, &em), UL_OK);
    assert_int_equal(l.total, 3);
    store_job_list_free(&l);

    struct ul_job_filter combo = {.state = -1, .node = "a", .type = "power", .limit = 100};
    assert_int_equal(store_job_list(f->st, &combo, &l, &em), UL_OK);
    assert_int_equal(l.total, 2);
    assert_int_equal(l.items[0]->id, y);
    assert_int_equal(l.items[1]->id, c1);
    store_job_list_free(&l);

    struct ul_job_filter four = {
        .state = UL_JOB_RUNNING, .node = "a", .type = "power", .parent_id = p, .limit = 100};
    assert_int_equal(store_job_list(f->st, &four, &l, &em), UL_OK);
    assert_int_equal(l.total, 1);
    assert_int_equal(l.items[0]->id, c1);
    store_job_list_free(&l);

    struct ul_job_filter kids = {.state = -1, .parent_id = p, .limit = 100};
    assert_int_equal(store_job_list(f->st, &kids, &l, &em), UL_OK);
    assert_int_equal(l.total, 2);
    assert_int_equal(l.items[0]->id, c2);
    assert_int_equal(l.items[1]->id, c1);
    store_job_list_free(&l);

    struct ul_job_filter page = {.state = -1, .limit = 2, .offset = 2};
    assert_int_equal(store_job_list(f->st, &page, &l, &em), UL_OK);
    assert_int_equal(l.total, 5);
    assert_int_equal(l.count, 2);
    assert_int_equal(l.items[0]->id, c2);
    assert_int_equal(l.items[1]->id, c1);
    store_job_list_free(&l);

    struct ul_job_filter none = {.state = UL_JOB_CANCELED, .limit = 100};
    assert_int_equal(store_job_list(f->st, &none, &l, &em), UL_OK);
    assert_int_equal(l.total, 0);
    assert_int_equal(l.count, 0);
    store_job_list_free(&l);

    /* unfinished: queued and running only, oldest first */
    assert_int_equal(store_job_list_unfinished(f->st, &l, &em), UL_OK);
    assert_int_equal(l.count, 3);
    assert_int_equal(l.items[0]->id, p);
    assert_int_equal(l.items[1]->id, c1);
    assert_int_equal(l.items[2]->id, y);
    assert_int_equal(l.items[1]->state, UL_JOB_RUNNING);
    store_job_list_free(&l);
    store_job_list_free(NULL);
}

static void test_job_prune(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t done = insert_job(f->st, "fanout", NULL, "{}", 0);
    int64_t child = insert_job(f->st, "power", "a", "{}", done);
    int64_t open_job = insert_job(f->st, "power", "b", "{}", 0);
    assert_int_equal(store_job_finish(f->st, child, UL_JOB_SUCCEEDED, NULL, NULL, NULL, &em),
                     UL_OK);
    assert_int_equal(store_job_finish(f->st, done, UL_JOB_SUCCEEDED, NULL, NULL, NULL, &em), UL_OK);
    int deleted = -1;
    /* nothing finished before the epoch */
    assert_int_equal(store_job_prune(f->st, 0, &deleted, &em), UL_OK);
    assert_int_equal(deleted, 0);
    assert_int_equal(store_job_prune(f->st, ul_wall_s() + 10, &deleted, &em), UL_OK);
    assert_int_equal(deleted, 1);
    struct ul_job *j = NULL;
    assert_int_equal(store_job_get(f->st, done, &j, &em), UL_ERR_NOT_FOUND);
    /* the child went with its parent */
    assert_int_equal(store_job_get(f->st, child, &j, &em), UL_ERR_NOT_FOUND);
    /* an unfinished job is never pruned */
    j = get_job(f->st, open_job);
    job_free(j);
}

/* ---- job checkpoints ---- */

static void test_job_checkpoint(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    const char *cp1 = "{\"phase\":\"following\",\"task\":\"/redfish/v1/TaskService/Tasks/7\"}";
    const char *cp2 = "{\"phase\":\"verify\",\"percent\":80}";
    int64_t id = insert_job(f->st, "firmware", "n1", "{}", 0);

    /* a new job has none, and a queued one cannot take one */
    struct ul_job *j = get_job(f->st, id);
    assert_null(j->checkpoint);
    job_free(j);
    assert_int_equal(store_job_checkpoint(f->st, id, cp1, &em), UL_ERR_NOT_FOUND);
    assert_contains(em.text, "not found or not in that state");
    j = get_job(f->st, id);
    assert_null(j->checkpoint);
    job_free(j);

    /* running: saved and read back verbatim, replaced by the next save */
    assert_int_equal(store_job_mark_running(f->st, id, &em), UL_OK);
    assert_int_equal(store_job_checkpoint(f->st, id, cp1, &em), UL_OK);
    j = get_job(f->st, id);
    assert_non_null(j->checkpoint);
    assert_string_equal(j->checkpoint, cp1);
    assert_int_equal(j->state, UL_JOB_RUNNING);
    job_free(j);
    assert_int_equal(store_job_checkpoint(f->st, id, cp2, &em), UL_OK);
    j = get_job(f->st, id);
    assert_string_equal(j->checkpoint, cp2);
    job_free(j);

    /* it survives a requeue (shutdown) and a restart of the store, and
     * the unfinished list carries it (what jobs_start reads) */
    assert_int_equal(store_job_requeue(f->st, id, "interrupted by shutdown", &em), UL_OK);
    assert_int_equal(reopen(f, f->key, &em), UL_OK);
    j = get_job(f->st, id);
    assert_int_equal(j->state, UL_JOB_QUEUED);
    assert_string_equal(j->checkpoint, cp2);
    job_free(j);
    struct ul_job_list l;
    assert_int_equal(store_job_list_unfinished(f->st, &l, &em), UL_OK);
    assert_int_equal(l.count, 1);
    assert_int_equal(l.items[0]->id, id);
    assert_string_equal(l.items[0]->checkpoint, cp2);
    store_job_list_free(&l);
    /* still queued: refused, and the saved one is untouched */
    assert_int_equal(store_job_checkpoint(f->st, id, cp1, &em), UL_ERR_NOT_FOUND);
    j = get_job(f->st, id);
    assert_string_equal(j->checkpoint, cp2);
    job_free(j);

    /* NULL clears it */
    assert_int_equal(store_job_mark_running(f->st, id, &em), UL_OK);
    assert_int_equal(store_job_checkpoint(f->st, id, NULL, &em), UL_OK);
    j = get_job(f->st, id);
    assert_null(j->checkpoint);
    job_free(j);

    /* a finished job keeps its last one and takes no more */
    assert_int_equal(store_job_checkpoint(f->st, id, cp1, &em), UL_OK);
    assert_int_equal(store_job_finish(f->st, id, UL_JOB_FAILED, "{\"done\":false}", "rejected",
                                      "the BMC refused it", &em),
                     UL_OK);
    assert_int_equal(store_job_checkpoint(f->st, id, cp2, &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_job_checkpoint(f->st, id, NULL, &em), UL_ERR_NOT_FOUND);
    j = get_job(f->st, id);
    assert_int_equal(j->state, UL_JOB_FAILED);
    assert_string_equal(j->checkpoint, cp1);
    assert_string_equal(j->result, "{\"done\":false}");
    job_free(j);

    /* unknown ids */
    assert_int_equal(store_job_checkpoint(f->st, 31337, cp1, &em), UL_ERR_NOT_FOUND);
    assert_contains(em.text, "31337");

    /* one job's checkpoint is its own */
    int64_t a = insert_job(f->st, "firmware", "a", "{}", 0);
    int64_t b = insert_job(f->st, "firmware", "b", "{}", 0);
    assert_int_equal(store_job_mark_running(f->st, a, &em), UL_OK);
    assert_int_equal(store_job_mark_running(f->st, b, &em), UL_OK);
    assert_int_equal(store_job_checkpoint(f->st, a, cp1, &em), UL_OK);
    j = get_job(f->st, b);
    assert_null(j->checkpoint);
    job_free(j);
    j = get_job(f->st, a);
    assert_string_equal(j->checkpoint, cp1);
    job_free(j);
}

/* A database written before checkpoints existed: its jobs have none, and
 * a job left running there can take one after the upgrade. */
static void test_job_checkpoint_after_migration(void **state)
{
    struct fixture *f = *state;
    char *old = ut_path(f->dir, "v1-running.db");
    sqlite3 *h;
    assert_int_equal(sqlite3_open(old, &h), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(h, schema_v1, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("v1 schema: %s", err ? err : "?");
    if (sqlite3_exec(h,
                     "INSERT INTO jobs (type, node, state, params, actor, timeout_s, attempts, "
                     "created_at, started_at, updated_at) VALUES ('firmware', 'old1', "
                     "'running', '{}', 'bob', 600, 1, 200, 200, 200);",
                     NULL, NULL, &err) != SQLITE_OK)
        fail_msg("v1 running job: %s", err ? err : "?");
    sqlite3_close(h);

    ul_store *st = NULL;
    ul_errmsg em = {{0}};
    if (store_open(old, f->key, &st, &em) != UL_OK)
        fail_msg("open v1: %s", em.text);
    struct ul_job_list l;
    assert_int_equal(store_job_list_unfinished(st, &l, &em), UL_OK);
    assert_int_equal(l.count, 1);
    int64_t id = l.items[0]->id;
    assert_int_equal(l.items[0]->state, UL_JOB_RUNNING);
    assert_null(l.items[0]->checkpoint);
    store_job_list_free(&l);
    assert_int_equal(store_job_checkpoint(st, id, "{\"phase\":\"x\"}", &em), UL_OK);
    struct ul_job *j = NULL;
    assert_int_equal(store_job_get(st, id, &j, &em), UL_OK);
    assert_string_equal(j->checkpoint, "{\"phase\":\"x\"}");
    assert_string_equal(j->actor, "bob");
    job_free(j);
    store_close(st);
    free(old);
}

/* ---- audit ---- */

static void test_audit(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    int64_t before = ul_wall_s();
    assert_int_equal(
        store_audit_add(f->st, "alice", "node.create", "n1", "ok", "{\"driver\":\"ipmi\"}", &em),
        UL_OK);
    assert_int_equal(store_audit_add(f->st, "bob", "node.delete", "n2", "denied", NULL, &em),
                     UL_OK);
    assert_int_equal(store_audit_add(f->st, "alice", "power", "n1", NULL, NULL, &em), UL_OK);
    assert_int_equal(store_audit_add(f->st, NULL, "token.create", NULL, "ok", NULL, &em), UL_OK);

    struct ul_audit_list l;
    assert_int_equal(store_audit_list(f->st, NULL, NULL, 100, 0, &l, &em), UL_OK);
    assert_int_equal(l.total, 4);
    assert_int_equal(l.count, 4);
    /* newest first */
    assert_string_equal(l.items[0].action, "token.create");
    assert_string_equal(l.items[1].action, "power");
    assert_string_equal(l.items[2].action, "node.delete");
    assert_string_equal(l.items[3].action, "node.create");
    for (size_t i = 1; i < l.count; i++)
        assert_true(l.items[i - 1].id > l.items[i].id);
    /* defaults for missing pieces */
    assert_string_equal(l.items[0].actor, "system");
    assert_string_equal(l.items[0].target, "");
    assert_string_equal(l.items[1].result, "ok");
    assert_null(l.items[1].detail);
    assert_string_equal(l.items[2].result, "denied");
    assert_string_equal(l.items[3].detail, "{\"driver\":\"ipmi\"}");
    assert_string_equal(l.items[3].target, "n1");
    assert_true(l.items[3].time >= before);
    store_audit_list_free(&l);

    assert_int_equal(store_audit_list(f->st, "alice", NULL, 100, 0, &l, &em), UL_OK);
    assert_int_equal(l.total, 2);
    assert_string_equal(l.items[0].action, "power");
    assert_string_equal(l.items[1].action, "node.create");
    store_audit_list_free(&l);

    assert_int_equal(store_audit_list(f->st, NULL, "node.delete", 100, 0, &l, &em), UL_OK);
    assert_int_equal(l.total, 1);
    assert_string_equal(l.items[0].actor, "bob");
    store_audit_list_free(&l);

    assert_int_equal(store_audit_list(f->st, "alice", "node.delete", 100, 0, &l, &em), UL_OK);
    assert_int_equal(l.total, 0);
    assert_int_equal(l.count, 0);
    store_audit_list_free(&l);

    assert_int_equal(store_audit_list(f->st, NULL, NULL, 2, 1, &l, &em), UL_OK);
    assert_int_equal(l.total, 4);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].action, "power");
    assert_string_equal(l.items[1].action, "node.delete");
    store_audit_list_free(&l);
    store_audit_list_free(NULL);
}

/* ---- tokens ---- */

static void test_tokens(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    char *t1 = secret_token_new(), *t2 = secret_token_new(), *t3 = secret_token_new();
    unsigned char h1[SECRET_HASH_LEN], h2[SECRET_HASH_LEN], h3[SECRET_HASH_LEN];
    secret_token_hash(t1, h1);
    secret_token_hash(t2, h2);
    secret_token_hash(t3, h3);

    int64_t count = -1;
    assert_int_equal(store_token_count(f->st, &count, &em), UL_OK);
    assert_int_equal(count, 0);

    assert_int_equal(store_token_add(f->st, "zeta", "admin", h1, &em), UL_OK);
    assert_int_equal(store_token_add(f->st, "alpha", "viewer", h2, &em), UL_OK);
    /* duplicate name, and a duplicate hash under another name */
    assert_int_equal(store_token_add(f->st, "zeta", "viewer", h3, &em), UL_ERR_CONFLICT);
    assert_contains(em.text, "'zeta'");
    assert_int_equal(store_token_add(f->st, "other", "viewer", h1, &em), UL_ERR_CONFLICT);
    assert_int_equal(store_token_count(f->st, &count, &em), UL_OK);
    assert_int_equal(count, 2);

    char *name = NULL, *role = NULL;
    assert_int_equal(store_token_find(f->st, h1, &name, &role, &em), UL_OK);
    assert_string_equal(name, "zeta");
    assert_string_equal(role, "admin"); /* the conflicting add did not change it */
    free(name);
    free(role);
    name = role = (char *)(uintptr_t)0x1;
    assert_int_equal(store_token_find(f->st, h3, &name, &role, &em), UL_ERR_NOT_FOUND);
    assert_null(name);
    assert_null(role);

    struct ul_token_list l;
    assert_int_equal(store_token_list(f->st, &l, &em), UL_OK);
    assert_int_equal(l.count, 2);
    assert_string_equal(l.items[0].name, "alpha"); /* ordered by name */
    assert_string_equal(l.items[0].role, "viewer");
    assert_int_equal(l.items[0].last_used_at, 0); /* never used */
    assert_string_equal(l.items[1].name, "zeta");
    assert_true(l.items[1].last_used_at > 0); /* stamped by the find */
    assert_true(l.items[1].created_at > 0);
    store_token_list_free(&l);

    assert_int_equal(store_token_delete(f->st, "zeta", &em), UL_OK);
    assert_int_equal(store_token_find(f->st, h1, &name, &role, &em), UL_ERR_NOT_FOUND);
    assert_int_equal(store_token_delete(f->st, "zeta", &em), UL_ERR_NOT_FOUND);
    assert_contains(em.text, "zeta");
    assert_int_equal(store_token_count(f->st, &count, &em), UL_OK);
    assert_int_equal(count, 1);
    /* the name can be reused once deleted */
    assert_int_equal(store_token_add(f->st, "zeta", "operator", h3, &em), UL_OK);
    store_token_list_free(NULL);

    free(t1);
    free(t2);
    free(t3);
}

/* ---- secret.h ---- */

static void test_key_file(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    char *path = ut_path(f->dir, "fresh.key");
    unsigned char k1[SECRET_KEY_LEN], k2[SECRET_KEY_LEN];
    assert_int_equal(secret_key_load_or_create(path, k1, &em), UL_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sb.st_size, SECRET_KEY_LEN);
    size_t len;
    unsigned char *raw = ut_read_file(path, &len);
    assert_non_null(raw);
    assert_int_equal(len, SECRET_KEY_LEN);
    assert_memory_equal(raw, k1, SECRET_KEY_LEN);
    free(raw);

    /* loading again gives the same key */
    memset(k2, 0, sizeof(k2));
    assert_int_equal(secret_key_load_or_create(path, k2, &em), UL_OK);
    assert_memory_equal(k1, k2, SECRET_KEY_LEN);

    /* a second new file gets a different key */
    char *path2 = ut_path(f->dir, "fresh2.key");
    assert_int_equal(secret_key_load_or_create(path2, k2, &em), UL_OK);
    assert_memory_not_equal(k1, k2, SECRET_KEY_LEN);
    free(path2);

    /* group- or world-readable is refused */
    assert_int_equal(chmod(path, 0644), 0);
    assert_int_equal(secret_key_load_or_create(path, k2, &em), UL_ERR_IO);
    assert_contains(em.text, path);
    assert_contains(em.text, "644");
    assert_int_equal(chmod(path, 0640), 0);
    assert_int_equal(secret_key_load_or_create(path, k2, &em), UL_ERR_IO);
    assert_int_equal(chmod(path, 0604), 0);
    assert_int_equal(secret_key_load_or_create(path, k2, &em), UL_ERR_IO);
    /* owner-only read is fine */
    assert_int_equal(chmod(path, 0400), 0);
    assert_int_equal(secret_key_load_or_create(path, k2, &em), UL_OK);
    assert_memory_equal(k1, k2, SECRET_KEY_LEN);
    free(path);

    /* wrong size */
    char *shortk = ut_path(f->dir, "short.key");
    assert_int_equal(ut_write_file(shortk, "0123456789abcdef"), 0);
    assert_int_equal(chmod(shortk, 0600), 0);
    assert_int_equal(secret_key_load_or_create(shortk, k2, &em), UL_ERR_IO);
    assert_contains(em.text, "32 bytes");
    free(shortk);

    /* cannot create */
    char *nodir = ut_path(f->dir, "missing/dir.key");
    assert_int_equal(secret_key_load_or_create(nodir, k2, &em), UL_ERR_IO);
    assert_contains(em.text, nodir);
    free(nodir);
}

static void test_seal_open(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    unsigned char *b1 = NULL, *b2 = NULL;
    size_t l1 = 0, l2 = 0;
    assert_int_equal(secret_seal(f->key, "pw", &b1, &l1, &em), UL_OK);
    assert_int_equal(secret_seal(f->key, "pw", &b2, &l2, &em), UL_OK);
    assert_int_equal(l1, crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + 2);
    assert_int_equal(l1, l2);
    assert_memory_not_equal(b1, b2, l1);

    char *pt = NULL;
    assert_int_equal(secret_open(f->key, b1, l1, &pt, &em), UL_OK);
    assert_string_equal(pt, "pw");
    free(pt);

    /* tampering is detected */
    b1[l1 - 1] ^= 0x01;
    pt = NULL;
    assert_int_equal(secret_open(f->key, b1, l1, &pt, &em), UL_ERR_STORE);
    assert_null(pt);
    b1[l1 - 1] ^= 0x01;
    /* wrong key */
    unsigned char other[SECRET_KEY_LEN];
    memcpy(other, f->key, sizeof(other));
    other[0] ^= 0x80;
    assert_int_equal(secret_open(other, b1, l1, &pt, &em), UL_ERR_STORE);
    /* truncated */
    assert_int_equal(secret_open(f->key, b1, crypto_secretbox_NONCEBYTES, &pt, &em), UL_ERR_STORE);
    assert_contains(em.text, "truncated");
    free(b1);
    free(b2);

    /* the empty password round-trips */
    assert_int_equal(secret_seal(f->key, "", &b1, &l1, &em), UL_OK);
    assert_int_equal(secret_open(f->key, b1, l1, &pt, &em), UL_OK);
    assert_string_equal(pt, "");
    free(pt);
    free(b1);
}

static void test_tokens_new_and_hash(void **state)
{
    (void)state;
    char *a = secret_token_new(), *b = secret_token_new();
    assert_int_equal(strlen(a), 3 + 43);
    assert_memory_equal(a, "ul_", 3);
    for (const char *p = a + 3; *p; p++)
        assert_true((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_');
    assert_string_not_equal(a, b);
    unsigned char ha[SECRET_HASH_LEN], ha2[SECRET_HASH_LEN], hb[SECRET_HASH_LEN];
    secret_token_hash(a, ha);
    secret_token_hash(a, ha2);
    secret_token_hash(b, hb);
    assert_memory_equal(ha, ha2, SECRET_HASH_LEN);
    assert_memory_not_equal(ha, hb, SECRET_HASH_LEN);
    free(a);
    free(b);
}

static void test_write_secret_file(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    char *path = ut_path(f->dir, "admin.token");
    assert_int_equal(secret_write_file(path, "ul_abc\n", &em), UL_OK);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    size_t len;
    unsigned char *buf = ut_read_file(path, &len);
    assert_int_equal(len, 7);
    assert_memory_equal(buf, "ul_abc\n", 7);
    free(buf);
    /* no temp file left behind */
    char *tmp = ut_path(f->dir, "admin.token.tmp");
    assert_int_equal(access(tmp, F_OK), -1);
    free(tmp);
    free(path);
}

int main(void)
{
    ul_log_init("test_store", UL_LOG_STDERR, UL_LOG_ERROR);
    if (sodium_init() < 0)
        return 1;
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_open_creates_schema),
        T(test_open_migrates_v1),
        T(test_open_newer_schema_refused),
        T(test_open_not_a_database),
        T(test_node_insert_get),
        T(test_node_get_not_found),
        T(test_node_duplicate),
        T(test_node_list_filters),
        T(test_node_list_paging),
        T(test_node_update),
        T(test_node_version_cas),
        T(test_node_delete),
        T(test_password_encrypted_at_rest),
        T(test_wrong_key),
        T(test_reopen_keeps_data),
        T(test_job_insert_get),
        T(test_job_lifecycle),
        T(test_job_fail_and_cancel),
        T(test_job_list),
        T(test_job_prune),
        T(test_job_checkpoint),
        T(test_job_checkpoint_after_migration),
        T(test_audit),
        T(test_tokens),
        T(test_key_file),
        T(test_seal_open),
        cmocka_unit_test(test_tokens_new_and_hash),
        T(test_write_secret_file),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
