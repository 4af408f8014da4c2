#include "config.h"

#include "store.h"

#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsonv.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

struct ul_store {
    sqlite3 *db;
    pthread_mutex_t lock; /* serialises every use of db; leaf lock, taken last */
    unsigned char key[SECRET_KEY_LEN];
    atomic_uint_fast64_t node_changes; /* store_node_changes(); bumped under lock */
};

/* Migrations run in order inside one transaction each; index i brings the
 * schema from version i to i+1.  Never edit a shipped step: append one. */
static const char *const migrations[] = {
    /* 0 -> 1: initial schema */
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
    "  last_used_at INTEGER);",
    /* 1 -> 2: events from BMC logs, per-node log cursors, inventory */
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  node TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  record_id TEXT NOT NULL,"
    "  time INTEGER NOT NULL,"
    "  severity TEXT NOT NULL,"
    "  sensor TEXT NOT NULL DEFAULT '',"
    "  message TEXT NOT NULL,"
    "  received_at INTEGER NOT NULL,"
    "  UNIQUE (node, source, record_id, time));"
    "CREATE INDEX events_node_time ON events(node, time);"
    "CREATE INDEX events_time ON events(time);"
    "CREATE TABLE cursors ("
    "  node TEXT NOT NULL,"
    "  source TEXT NOT NULL,"
    "  cursor TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL,"
    "  PRIMARY KEY (node, source));"
    "CREATE TABLE inventory ("
    "  node TEXT PRIMARY KEY,"
    "  data TEXT NOT NULL,"
    "  updated_at INTEGER NOT NULL);",
    /* 2 -> 3: where a long job is on the BMC (a firmware task's URI), so a
     * restarted daemon follows the same task instead of starting again */
    "ALTER TABLE jobs ADD COLUMN checkpoint TEXT;",
    /* 3 -> 4: the step executor.  Claims with leases and fencing on jobs,
     * the step a job is at and why it is parked, and the per-node
     * exclusion in the store (node_claims) instead of in one process's
     * memory, so several daemons can share the rules. */
    "ALTER TABLE jobs ADD COLUMN owner TEXT;"
    "ALTER TABLE jobs ADD COLUMN lease_until INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN fence INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN step INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN step_name TEXT;"
    "ALTER TABLE jobs ADD COLUMN wait INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN wake_at INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN deadline_at INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE node_claims ("
    "  node TEXT PRIMARY KEY,"
    "  job_id INTEGER NOT NULL,"
    "  owner TEXT NOT NULL,"
    "  lease_until INTEGER NOT NULL);",
    /* 4 -> 5: nodes carry a version, bumped by every update (the API's ETag:
     * a PATCH is a compare-and-swap on it, so concurrent updates are never
     * lost), and the state a node in maintenance came from (where the
     * lifecycle table lets it return) */
    "ALTER TABLE nodes ADD COLUMN version INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE nodes ADD COLUMN maintenance_from TEXT;",
};

#define N_MIGRATIONS (int)(sizeof(migrations) / sizeof(migrations[0]))
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION,
               "STORE_SCHEMA_VERSION must count the migrations");

static ul_err db_fail(ul_store *st, ul_errmsg *em, const char *what)
{
    return ul_errmsg_set(em, UL_ERR_STORE, "state store: %s: %s", what, sqlite3_errmsg(st->db));
}

static ul_err exec_sql(ul_store *st, const char *sql, ul_errmsg *em)
{
    char *err = NULL;
    if (sqlite3_exec(st->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        ul_errmsg_set(em, UL_ERR_STORE, "state store: %s", err ? err : "exec failed");
        sqlite3_free(err);
        return UL_ERR_STORE;
    }
    return UL_OK;
}

static int user_version(ul_store *st)
{
    sqlite3_stmt *s;
    int v = -1;
    if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) == SQLITE_OK) {
        if (sqlite3_step(s) == SQLITE_ROW)
            v = sqlite3_column_int(s, 0);
        sqlite3_finalize(s);
    }
    return v;
}

static ul_err migrate(ul_store *st, const char *path, ul_errmsg *em)
{
    int v = user_version(st);
    if (v < 0)
        return db_fail(st, em, "reading schema version");
    if (v > N_MIGRATIONS)
        return ul_errmsg_set(em, UL_ERR_STORE,
                             "database '%s' has schema version %d, newer than this build "
                             "understands (%d); upgrade underlay",
                             path, v, N_MIGRATIONS);
    for (; v < N_MIGRATIONS; v++) {
        ul_err rc = exec_sql(st, "BEGIN IMMEDIATE", em);
        if (rc != UL_OK)
            return rc;
        rc = exec_sql(st, migrations[v], em);
        if (rc == UL_OK) {
            char sql[64];
            snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v + 1);
            rc = exec_sql(st, sql, em);
        }
        if (rc == UL_OK)
            rc = exec_sql(st, "COMMIT", em);
        if (rc != UL_OK) {
            exec_sql(st, "ROLLBACK", NULL);
            ul_errmsg_prefix(em, "migrating '%s' to schema version %d", path, v + 1);
            return rc;
        }
        ul_info("state store '%s' migrated to schema version %d", path, v + 1);
    }
    return UL_OK;
}

ul_err store_open(const char *path, const unsigned char key[SECRET_KEY_LEN], ul_store **out,
                  ul_errmsg *em)
{
    *out = NULL;
    ul_store *st = xcalloc(1, sizeof(*st));
    memcpy(st->key, key, SECRET_KEY_LEN);
    pthread_mutex_init(&st->lock, NULL);
    ul_err rc = UL_OK;
    if (sqlite3_open_v2(path, &st->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX,
                        NULL) != SQLITE_OK) {
        rc = ul_errmsg_set(em, UL_ERR_STORE, "cannot open database '%s': %s", path,
                           st->db ? sqlite3_errmsg(st->db) : "out of memory");
        goto out;
    }
    /* A second underlayd or a backup holding a lock should delay us, not fail
     * a job outright. */
    sqlite3_busy_timeout(st->db, 5000);
    rc = exec_sql(st,
                  "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;",
                  em);
    if (rc != UL_OK) {
        ul_errmsg_prefix(em, "database '%s'", path);
        goto out;
    }
    rc = migrate(st, path, em);
out:
    if (rc != UL_OK) {
        store_close(st);
        return rc;
    }
    *out = st;
    return UL_OK;
}

void store_close(ul_store *st)
{
    if (!st)
        return;
    if (st->db)
        sqlite3_close(st->db);
    pthread_mutex_destroy(&st->lock);
    sodium_memzero(st->key, sizeof(st->key));
    free(st);
}

int store_schema_version(ul_store *st)
{
    pthread_mutex_lock(&st->lock);
    int v = user_version(st);
    pthread_mutex_unlock(&st->lock);
    return v;
}

/* ---- small helpers ---- */

/* A unique or primary key clash, as opposed to any other constraint (a
 * missing NOT NULL value is a bug, not a duplicate). */
static bool is_duplicate(ul_store *st)
{
    int e = sqlite3_extended_errcode(st->db);
    return e == SQLITE_CONSTRAINT_UNIQUE || e == SQLITE_CONSTRAINT_PRIMARYKEY;
}

static char *col_str(sqlite3_stmt *s, int i)
{
    const unsigned char *t = sqlite3_column_text(s, i);
    return t ? xstrdup((const char *)t) : NULL;
}

static json_object *col_json(sqlite3_stmt *s, int i)
{
    const char *t = (const char *)sqlite3_column_text(s, i);
    json_object *o = NULL;
    if (t && jv_parse(t, strlen(t), 0, &o, NULL) == UL_OK &&
        json_object_is_type(o, json_type_object))
        return o;
    json_object_put(o);
    return json_object_new_object();
}

static void bind_text_or_null(sqlite3_stmt *s, int i, const char *v)
{
    if (v)
        sqlite3_bind_text(s, i, v, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(s, i);
}

static const char *json_text(json_object *o)
{
    return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
                                                 JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* ---- nodes ---- */

#define NODE_COLS                                                                                  \
    "id, name, labels, endpoint, driver, username, password, options, state, created_at, "        \
    "updated_at, version, maintenance_from"

static ul_err node_from_row(ul_store *st, sqlite3_stmt *s, bool with_secret, struct ul_node **out,
                            ul_errmsg *em)
{
    struct ul_node *n = xcalloc(1, sizeof(*n));
    n->id = sqlite3_column_int64(s, 0);
    n->name = col_str(s, 1);
    n->labels = col_json(s, 2);
    n->endpoint = col_str(s, 3);
    n->driver = col_str(s, 4);
    n->username = col_str(s, 5);
    n->has_password = sqlite3_column_type(s, 6) != SQLITE_NULL;
    n->options = col_json(s, 7);
    n->state = col_str(s, 8);
    n->created_at = sqlite3_column_int64(s, 9);
    n->updated_at = sqlite3_column_int64(s, 10);
    n->version = sqlite3_column_int64(s, 11);
    n->maintenance_from = col_str(s, 12);
    if (with_secret && n->has_password) {
        ul_err rc = secret_open(st->key, sqlite3_column_blob(s, 6),
                                (size_t)sqlite3_column_bytes(s, 6), &n->password, em);
        if (rc != UL_OK) {
            ul_errmsg_prefix(em, "node %s", n->name);
            node_free(n);
            return rc;
        }
    }
    *out = n;
    return UL_OK;
}

static ul_err bind_password(ul_store *st, sqlite3_stmt *s, int idx, const char *password,
                            ul_errmsg *em)
{
    if (!password) {
        sqlite3_bind_null(s, idx);
        return UL_OK;
    }
    unsigned char *blob;
    size_t len;
    ul_err rc = secret_seal(st->key, password, &blob, &len, em);
    if (rc != UL_OK)
        return rc;
    sqlite3_bind_blob(s, idx, blob, (int)len, free);
    return UL_OK;
}

ul_err store_node_insert(ul_store *st, struct ul_node *n, ul_errmsg *em)
{
    int64_t now = ul_wall_s();
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO nodes (name, labels, endpoint, driver, username, "
                           "password, options, state, created_at, updated_at, version, "
                           "maintenance_from) VALUES (?,?,?,?,?,?,?,?,?,?,1,?)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing node insert");
        goto out;
    }
    sqlite3_bind_text(s, 1, n->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, json_text(n->labels), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, n->endpoint, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, n->driver, -1, SQLITE_TRANSIENT);
    bind_text_or_null(s, 5, n->username);
    rc = bind_password(st, s, 6, n->password, em);
    if (rc != UL_OK)
        goto out;
    sqlite3_bind_text(s, 7, json_text(n->options), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 8, n->state, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 9, now);
    sqlite3_bind_int64(s, 10, now);
    bind_text_or_null(s, 11, strcmp(n->state, "maintenance") == 0 ? n->maintenance_from : NULL);
    int step = sqlite3_step(s);
    if (step != SQLITE_DONE && is_duplicate(st)) {
        rc = ul_errmsg_set(em, UL_ERR_CONFLICT, "node '%s' already exists", n->name);
        goto out;
    }
    if (step != SQLITE_DONE) {
        rc = db_fail(st, em, "inserting node");
        goto out;
    }
    n->id = sqlite3_last_insert_rowid(st->db);
    n->version = 1;
    n->created_at = n->updated_at = now;
    n->has_password = n->password != NULL;
    atomic_fetch_add(&st->node_changes, 1);
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

uint64_t store_node_changes(ul_store *st)
{
    return atomic_load_explicit(&st->node_changes, memory_order_relaxed);
}

ul_err store_node_get(ul_store *st, const char *name, bool with_secret, struct ul_node **out,
                      ul_errmsg *em)
{
    *out = NULL;
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, "SELECT " NODE_COLS " FROM nodes WHERE name = ?", -1, &s,
                           NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing node lookup");
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = node_from_row(st, s, with_secret, out, em);
    else if (step == SQLITE_DONE)
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "node '%s' not found", name);
    else
        rc = db_fail(st, em, "reading node");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* The current version of node id into *version; UL_ERR_NOT_FOUND when it is
 * gone.  Called with st->lock held. */
static ul_err node_version_locked(ul_store *st, const struct ul_node *n, int64_t *version,
                                  ul_errmsg *em)
{
    sqlite3_stmt *s = NULL;
    ul_err rc = UL_OK;
    if (sqlite3_prepare_v2(st->db, "SELECT version FROM nodes WHERE id = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return db_fail(st, em, "preparing node version lookup");
    sqlite3_bind_int64(s, 1, n->id);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *version = sqlite3_column_int64(s, 0);
    else if (step == SQLITE_DONE)
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "node '%s' not found", n->name);
    else
        rc = db_fail(st, em, "reading node version");
    sqlite3_finalize(s);
    return rc;
}

/* expected < 0: whatever the stored version is. */
static ul_err node_update(ul_store *st, struct ul_node *n, bool set_password, int64_t expected,
                          ul_errmsg *em)
{
    int64_t now = ul_wall_s();
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    char sql[320];
    snprintf(sql, sizeof(sql),
             "UPDATE nodes SET labels=?, endpoint=?, driver=?, username=?, options=?, state=?, "
             "maintenance_from=?, updated_at=?, version=version+1%s WHERE id=?%s",
             set_password ? ", password=?" : "", expected >= 0 ? " AND version=?" : "");
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing node update");
        goto out;
    }
    sqlite3_bind_text(s, 1, json_text(n->labels), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, n->endpoint, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, n->driver, -1, SQLITE_TRANSIENT);
    bind_text_or_null(s, 4, n->username);
    sqlite3_bind_text(s, 5, json_text(n->options), -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 6, n->state, -1, SQLITE_TRANSIENT);
    bind_text_or_null(s, 7, strcmp(n->state, "maintenance") == 0 ? n->maintenance_from : NULL);
    sqlite3_bind_int64(s, 8, now);
    int idx = 9;
    if (set_password) {
        rc = bind_password(st, s, idx++, n->password, em);
        if (rc != UL_OK)
            goto out;
    }
    sqlite3_bind_int64(s, idx++, n->id);
    if (expected >= 0)
        sqlite3_bind_int64(s, idx, expected);
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = db_fail(st, em, "updating node");
        goto out;
    }
    int64_t current = 0;
    if (sqlite3_changes(st->db) == 0) {
        rc = node_version_locked(st, n, &current, em);
        if (rc == UL_OK)
            rc = ul_errmsg_set(em, UL_ERR_CONFLICT,
                               "node %s changed meanwhile: version %lld is current, not %lld",
                               n->name, (long long)current, (long long)expected);
        goto out;
    }
    /* Under the lock no other update can have run since ours. */
    if ((rc = node_version_locked(st, n, &current, em)) != UL_OK)
        goto out;
    n->version = current;
    n->updated_at = now;
    if (set_password)
        n->has_password = n->password != NULL;
    atomic_fetch_add(&st->node_changes, 1);
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_node_update(ul_store *st, struct ul_node *n, bool set_password, ul_errmsg *em)
{
    return node_update(st, n, set_password, -1, em);
}

ul_err store_node_update_if(ul_store *st, struct ul_node *n, bool set_password,
                            int64_t expected_version, ul_errmsg *em)
{
    if (expected_version < 0)
        return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: expected version %lld is negative",
                             n->name, (long long)expected_version);
    return node_update(st, n, set_password, expected_version, em);
}

ul_err store_node_delete(ul_store *st, const char *name, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    /* The check and the delete are one statement, so a job queued between
     * them cannot be orphaned. */
    if (sqlite3_prepare_v2(st->db,
                           "DELETE FROM nodes WHERE name = ?1 AND NOT EXISTS (SELECT 1 FROM jobs "
                           "WHERE node = ?1 AND state IN ('queued','running'))",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing node delete");
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = db_fail(st, em, "deleting node");
        goto out;
    }
    if (sqlite3_changes(st->db) > 0) {
        atomic_fetch_add(&st->node_changes, 1);
        /* Events stay as history; per-node collection state goes. */
        sqlite3_finalize(s);
        s = NULL;
        static const char *const cleanup[] = {"DELETE FROM cursors WHERE node = ?",
                                              "DELETE FROM inventory WHERE node = ?"};
        for (size_t i = 0; i < 2; i++) {
            if (sqlite3_prepare_v2(st->db, cleanup[i], -1, &s, NULL) != SQLITE_OK) {
                rc = db_fail(st, em, "preparing node cleanup");
                goto out;
            }
            sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(s) != SQLITE_DONE)
                ul_warn("state store: cleaning up after node %s: %s", name,
                        sqlite3_errmsg(st->db));
            sqlite3_finalize(s);
            s = NULL;
        }
    } else {
        sqlite3_finalize(s);
        s = NULL;
        if (sqlite3_prepare_v2(st->db, "SELECT 1 FROM nodes WHERE name = ?", -1, &s, NULL) !=
            SQLITE_OK) {
            rc = db_fail(st, em, "preparing node lookup");
            goto out;
        }
        sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
        if (sqlite3_step(s) == SQLITE_ROW)
            rc = ul_errmsg_set(em, UL_ERR_CONFLICT,
                               "node '%s' has queued or running jobs; cancel them first", name);
        else
            rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "node '%s' not found", name);
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* Build the WHERE clause shared by the count and the page query. */
static char *node_where(const struct ul_node_filter *f)
{
    char *w = xstrdup("WHERE 1");
    if (f->name_glob) {
        char *t = xasprintf("%s AND name GLOB ?", w);
        free(w);
        w = t;
    }
    if (f->state) {
        char *t = xasprintf("%s AND state = ?", w);
        free(w);
        w = t;
    }
    if (f->driver) {
        char *t = xasprintf("%s AND driver = ?", w);
        free(w);
        w = t;
    }
    for (size_t i = 0; i < f->nlabels; i++) {
        char *t = xasprintf("%s AND EXISTS (SELECT 1 FROM json_each(nodes.labels) "
                            "WHERE key = ? AND value = ?)",
                            w);
        free(w);
        w = t;
    }
    return w;
}

static int node_bind_filter(sqlite3_stmt *s, const struct ul_node_filter *f)
{
    int i = 1;
    if (f->name_glob)
        sqlite3_bind_text(s, i++, f->name_glob, -1, SQLITE_TRANSIENT);
    if (f->state)
        sqlite3_bind_text(s, i++, f->state, -1, SQLITE_TRANSIENT);
    if (f->driver)
        sqlite3_bind_text(s, i++, f->driver, -1, SQLITE_TRANSIENT);
    for (size_t k = 0; k < f->nlabels; k++) {
        sqlite3_bind_text(s, i++, f->label_keys[k], -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, i++, f->label_values[k], -1, SQLITE_TRANSIENT);
    }
    return i;
}

ul_err store_node_list(ul_store *st, const struct ul_node_filter *f, struct ul_node_list *out,
                       ul_errmsg *em)
{
    memset(out, 0, sizeof(*out));
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    char *where = node_where(f);
    char *count_sql = xasprintf("SELECT count(*) FROM nodes %s", where);
    char *page_sql =
        xasprintf("SELECT " NODE_COLS " FROM nodes %s ORDER BY name LIMIT ? OFFSET ?", where);
    size_t cap = 0;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, count_sql, -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing node count");
        goto out;
    }
    node_bind_filter(s, f);
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = db_fail(st, em, "counting nodes");
        goto out;
    }
    out->total = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(st->db, page_sql, -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing node list");
        goto out;
    }
    int i = node_bind_filter(s, f);
    sqlite3_bind_int(s, i++, f->limit);
    sqlite3_bind_int(s, i, f->offset);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 32;
            out->items = xrealloc(out->items, cap * sizeof(*out->items));
        }
        rc = node_from_row(st, s, false, &out->items[out->count], em);
        if (rc != UL_OK)
            goto out;
        out->count++;
    }
    if (step != SQLITE_DONE)
        rc = db_fail(st, em, "listing nodes");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    free(where);
    free(count_sql);
    free(page_sql);
    if (rc != UL_OK)
        store_node_list_free(out);
    return rc;
}

void store_node_list_free(struct ul_node_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        node_free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---- jobs ---- */

#define JOB_COLS                                                                                   \
    "id, parent_id, type, node, state, params, result, progress, message, error_code, error, "    \
    "actor, timeout_s, attempts, cancel_requested, created_at, started_at, finished_at, "         \
    "updated_at, checkpoint, owner, lease_until, fence, step, step_name, wait, wake_at, "       \
    "deadline_at"

static struct ul_job *job_from_row(sqlite3_stmt *s)
{
    struct ul_job *j = xcalloc(1, sizeof(*j));
    j->id = sqlite3_column_int64(s, 0);
    j->parent_id = sqlite3_column_int64(s, 1);
    j->type = col_str(s, 2);
    j->node = col_str(s, 3);
    char *state = col_str(s, 4);
    int st = job_state_parse(state);
    free(state);
    j->state = st < 0 ? UL_JOB_FAILED : (enum ul_job_state)st;
    j->params = col_str(s, 5);
    if (!j->params)
        j->params = xstrdup("{}");
    j->result = col_str(s, 6);
    j->progress = sqlite3_column_int(s, 7);
    j->message = col_str(s, 8);
    j->error_code = col_str(s, 9);
    j->error = col_str(s, 10);
    j->actor = col_str(s, 11);
    j->timeout_s = sqlite3_column_int(s, 12);
    j->attempts = sqlite3_column_int(s, 13);
    j->cancel_requested = sqlite3_column_int(s, 14) != 0;
    j->created_at = sqlite3_column_int64(s, 15);
    j->started_at = sqlite3_column_int64(s, 16);
    j->finished_at = sqlite3_column_int64(s, 17);
    j->updated_at = sqlite3_column_int64(s, 18);
    j->checkpoint = col_str(s, 19);
    j->owner = col_str(s, 20);
    j->lease_until = sqlite3_column_int64(s, 21);
    j->fence = sqlite3_column_int64(s, 22);
    j->step = sqlite3_column_int(s, 23);
    j->step_name = col_str(s, 24);
    j->wait = sqlite3_column_int(s, 25);
    j->wake_at = sqlite3_column_int64(s, 26);
    j->deadline_at = sqlite3_column_int64(s, 27);
    return j;
}

ul_err store_job_insert(ul_store *st, struct ul_job *j, ul_errmsg *em)
{
    int64_t now = ul_wall_s();
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO jobs (parent_id, type, node, state, params, progress, "
                           "message, actor, timeout_s, created_at, updated_at) "
                           "VALUES (?,?,?,'queued',?,0,?,?,?,?,?)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing job insert");
        goto out;
    }
    if (j->parent_id)
        sqlite3_bind_int64(s, 1, j->parent_id);
    else
        sqlite3_bind_null(s, 1);
    sqlite3_bind_text(s, 2, j->type, -1, SQLITE_TRANSIENT);
    bind_text_or_null(s, 3, j->node);
    sqlite3_bind_text(s, 4, j->params ? j->params : "{}", -1, SQLITE_TRANSIENT);
    bind_text_or_null(s, 5, j->message);
    sqlite3_bind_text(s, 6, j->actor ? j->actor : "system", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(s, 7, j->timeout_s);
    sqlite3_bind_int64(s, 8, now);
    sqlite3_bind_int64(s, 9, now);
    if (sqlite3_step(s) != SQLITE_DONE) {
        rc = db_fail(st, em, "inserting job");
        goto out;
    }
    j->id = sqlite3_last_insert_rowid(st->db);
    j->state = UL_JOB_QUEUED;
    j->created_at = j->updated_at = now;
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_job_get(ul_store *st, int64_t id, struct ul_job **out, ul_errmsg *em)
{
    *out = NULL;
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", -1, &s, NULL) !=
        SQLITE_OK) {
        rc = db_fail(st, em, "preparing job lookup");
        goto out;
    }
    sqlite3_bind_int64(s, 1, id);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        *out = job_from_row(s);
    else if (step == SQLITE_DONE)
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "job %lld not found", (long long)id);
    else
        rc = db_fail(st, em, "reading job");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static ul_err job_query(ul_store *st, const char *where, const char *order, int limit, int offset,
                        const struct ul_job_filter *f, struct ul_job_list *out, ul_errmsg *em)
{
    memset(out, 0, sizeof(*out));
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    char *count_sql = xasprintf("SELECT count(*) FROM jobs %s", where);
    char *page_sql =
        xasprintf("SELECT " JOB_COLS " FROM jobs %s ORDER BY %s LIMIT ? OFFSET ?", where, order);
    pthread_mutex_lock(&st->lock);
    for (int pass = 0; pass < 2; pass++) {
        if (sqlite3_prepare_v2(st->db, pass == 0 ? count_sql : page_sql, -1, &s, NULL) !=
            SQLITE_OK) {
            rc = db_fail(st, em, "preparing job query");
            goto out;
        }
        int i = 1;
        if (f) {
            if (f->state >= 0)
                sqlite3_bind_text(s, i++, job_state_name((enum ul_job_state)f->state), -1,
                                  SQLITE_STATIC);
            if (f->node)
                sqlite3_bind_text(s, i++, f->node, -1, SQLITE_TRANSIENT);
            if (f->type)
                sqlite3_bind_text(s, i++, f->type, -1, SQLITE_TRANSIENT);
            if (f->parent_id)
                sqlite3_bind_int64(s, i++, f->parent_id);
        }
        if (pass == 0) {
            if (sqlite3_step(s) != SQLITE_ROW) {
                rc = db_fail(st, em, "counting jobs");
                goto out;
            }
            out->total = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
            s = NULL;
            continue;
        }
        sqlite3_bind_int(s, i++, limit);
        sqlite3_bind_int(s, i, offset);
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            if (out->count == cap) {
                cap = cap ? cap * 2 : 32;
                out->items = xrealloc(out->items, cap * sizeof(*out->items));
            }
            out->items[out->count++] = job_from_row(s);
        }
        if (step != SQLITE_DONE)
            rc = db_fail(st, em, "listing jobs");
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    free(count_sql);
    free(page_sql);
    if (rc != UL_OK)
        store_job_list_free(out);
    return rc;
}

ul_err store_job_list(ul_store *st, const struct ul_job_filter *f, struct ul_job_list *out,
                      ul_errmsg *em)
{
    char where[256] = "WHERE 1";
    if (f->state >= 0)
        strcat(where, " AND state = ?");
    if (f->node)
        strcat(where, " AND node = ?");
    if (f->type)
        strcat(where, " AND type = ?");
    if (f->parent_id)
        strcat(where, " AND parent_id = ?");
    return job_query(st, where, "id DESC", f->limit, f->offset, f, out, em);
}

ul_err store_job_list_unfinished(ul_store *st, struct ul_job_list *out, ul_errmsg *em)
{
    return job_query(st, "WHERE state IN ('queued','running')", "id ASC", -1, 0, NULL, out, em);
}

void store_job_list_free(struct ul_job_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        job_free(l->items[i]);
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* Bind a job statement's named parameters (each statement uses some). */
static void job_bind(sqlite3_stmt *s, int64_t id, const struct ul_job_claim *c, const char *t1,
                     const char *t2, const char *t3, const char *t4, int64_t i1)
{
    int idx;
    if ((idx = sqlite3_bind_parameter_index(s, ":id")))
        sqlite3_bind_int64(s, idx, id);
    if ((idx = sqlite3_bind_parameter_index(s, ":now")))
        sqlite3_bind_int64(s, idx, ul_wall_s());
    if ((idx = sqlite3_bind_parameter_index(s, ":nowms")))
        sqlite3_bind_int64(s, idx, ul_wall_ms());
    if ((idx = sqlite3_bind_parameter_index(s, ":owner")))
        sqlite3_bind_text(s, idx, c && c->owner ? c->owner : "", -1, SQLITE_TRANSIENT);
    if ((idx = sqlite3_bind_parameter_index(s, ":fence")))
        sqlite3_bind_int64(s, idx, c ? c->fence : 0);
    if ((idx = sqlite3_bind_parameter_index(s, ":t1")))
        bind_text_or_null(s, idx, t1);
    if ((idx = sqlite3_bind_parameter_index(s, ":t2")))
        bind_text_or_null(s, idx, t2);
    if ((idx = sqlite3_bind_parameter_index(s, ":t3")))
        bind_text_or_null(s, idx, t3);
    if ((idx = sqlite3_bind_parameter_index(s, ":t4")))
        bind_text_or_null(s, idx, t4);
    if ((idx = sqlite3_bind_parameter_index(s, ":i1")))
        sqlite3_bind_int64(s, idx, i1);
}

/* The condition a claim holder's writes carry: the row still names it and
 * the fence it got.  coalesce: a row nobody claimed has owner NULL, which a
 * claim of "" (a recovery of such a row) must match. */
#define FENCED " AND coalesce(owner,'')=:owner AND fence=:fence"

/* Run one statement in the caller's lock; changes is the rows it touched. */
static ul_err job_exec_locked(ul_store *st, int64_t id, const struct ul_job_claim *c,
                              const char *sql, const char *t1, const char *t2, const char *t3,
                              const char *t4, int64_t i1, int *changes, ul_errmsg *em)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return db_fail(st, em, "preparing job update");
    job_bind(s, id, c, t1, t2, t3, t4, i1);
    ul_err rc = UL_OK;
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(st, em, "updating job");
    else if (changes)
        *changes = sqlite3_changes(st->db);
    sqlite3_finalize(s);
    return rc;
}

/* Run one UPDATE on a job row; fails with NOT_FOUND if no row changed, or
 * with CONFLICT when c is given and the row no longer carries that claim
 * (fenced: another instance took the job over). */
static ul_err job_update_claim(ul_store *st, int64_t id, const struct ul_job_claim *c,
                               const char *sql, const char *t1, const char *t2, const char *t3,
                               const char *t4, int i1, ul_errmsg *em)
{
    char *full = c ? xasprintf("%s" FENCED, sql) : NULL;
    int changes = 0;
    pthread_mutex_lock(&st->lock);
    ul_err rc = job_exec_locked(st, id, c, full ? full : sql, t1, t2, t3, t4, i1, &changes, em);
    pthread_mutex_unlock(&st->lock);
    free(full);
    if (rc == UL_OK && changes == 0)
        rc = c ? ul_errmsg_set(em, UL_ERR_CONFLICT,
                               "job %lld: instance '%s' no longer holds its claim (fence %lld)",
                               (long long)id, c->owner ? c->owner : "", (long long)c->fence)
               : ul_errmsg_set(em, UL_ERR_NOT_FOUND, "job %lld not found or not in that state",
                               (long long)id);
    return rc;
}

/* Run one UPDATE on a job row; fails with NOT_FOUND if no row changed. */
static ul_err job_update(ul_store *st, int64_t id, const char *sql, const char *t1,
                         const char *t2, const char *t3, const char *t4, int i1, ul_errmsg *em)
{
    return job_update_claim(st, id, NULL, sql, t1, t2, t3, t4, i1, em);
}

ul_err store_job_mark_running(ul_store *st, int64_t id, ul_errmsg *em)
{
    return job_update(st, id,
                      "UPDATE jobs SET state='running', attempts=attempts+1, started_at=:now, "
                      "updated_at=:now WHERE id=:id AND state='queued'",
                      NULL, NULL, NULL, NULL, 0, em);
}

ul_err store_job_progress(ul_store *st, int64_t id, int progress, const char *message,
                          ul_errmsg *em)
{
    return store_job_progress_as(st, NULL, id, progress, message, em);
}

ul_err store_job_progress_as(ul_store *st, const struct ul_job_claim *c, int64_t id, int progress,
                             const char *message, ul_errmsg *em)
{
    if (progress < 0)
        progress = 0;
    if (progress > 100)
        progress = 100;
    return job_update_claim(st, id, c,
                            "UPDATE jobs SET progress=:i1, message=:t1, updated_at=:now "
                            "WHERE id=:id AND state='running'",
                            message, NULL, NULL, NULL, progress, em);
}

ul_err store_job_checkpoint(ul_store *st, int64_t id, const char *checkpoint, ul_errmsg *em)
{
    return store_job_checkpoint_as(st, NULL, id, checkpoint, em);
}

ul_err store_job_checkpoint_as(ul_store *st, const struct ul_job_claim *c, int64_t id,
                               const char *checkpoint, ul_errmsg *em)
{
    return job_update_claim(st, id, c,
                            "UPDATE jobs SET checkpoint=:t1, updated_at=:now "
                            "WHERE id=:id AND state='running'",
                            checkpoint, NULL, NULL, NULL, 0, em);
}

/* BEGIN IMMEDIATE ... COMMIT around fn, in the store's lock: the claim and
 * release of a node and a job's state move together or not at all. */
static ul_err job_txn(ul_store *st, ul_err (*fn)(ul_store *st, void *arg, ul_errmsg *em),
                      void *arg, ul_errmsg *em)
{
    pthread_mutex_lock(&st->lock);
    ul_err rc = exec_sql(st, "BEGIN IMMEDIATE", em);
    if (rc == UL_OK) {
        rc = fn(st, arg, em);
        if (rc == UL_OK)
            rc = exec_sql(st, "COMMIT", em);
        if (rc != UL_OK)
            exec_sql(st, "ROLLBACK", NULL);
    }
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static ul_err no_claim(int64_t id, const struct ul_job_claim *c, ul_errmsg *em)
{
    return c ? ul_errmsg_set(em, UL_ERR_CONFLICT,
                             "job %lld: instance '%s' no longer holds its claim (fence %lld)",
                             (long long)id, c->owner ? c->owner : "", (long long)c->fence)
             : ul_errmsg_set(em, UL_ERR_NOT_FOUND, "job %lld not found or not in that state",
                             (long long)id);
}

struct requeue_args {
    const struct ul_job_claim *c;
    int64_t id;
    const char *message;
};

static ul_err requeue_txn(ul_store *st, void *argp, ul_errmsg *em)
{
    struct requeue_args *a = argp;
    char *sql = xasprintf("UPDATE jobs SET state='queued', message=:t1, owner=NULL, "
                          "lease_until=0, wait=0, wake_at=0, updated_at=:now "
                          "WHERE id=:id AND state IN ('queued','running')%s",
                          a->c ? FENCED : "");
    int changes = 0;
    ul_err rc = job_exec_locked(st, a->id, a->c, sql, a->message, NULL, NULL, NULL, 0, &changes,
                                em);
    free(sql);
    if (rc == UL_OK && changes == 0)
        rc = no_claim(a->id, a->c, em);
    if (rc == UL_OK)
        rc = job_exec_locked(st, a->id, NULL, "DELETE FROM node_claims WHERE job_id=:id", NULL,
                             NULL, NULL, NULL, 0, NULL, em);
    return rc;
}

ul_err store_job_requeue(ul_store *st, int64_t id, const char *message, ul_errmsg *em)
{
    return store_job_requeue_as(st, NULL, id, message, em);
}

ul_err store_job_requeue_as(ul_store *st, const struct ul_job_claim *c, int64_t id,
                            const char *message, ul_errmsg *em)
{
    struct requeue_args a = {c, id, message};
    return job_txn(st, requeue_txn, &a, em);
}

struct finish_args {
    const struct ul_job_claim *c;
    int64_t id;
    enum ul_job_state state;
    const char *result, *error_code, *error;
    int64_t parent; /* out */
};

static ul_err finish_txn(ul_store *st, void *argp, ul_errmsg *em)
{
    struct finish_args *a = argp;
    char *sql = xasprintf("UPDATE jobs SET state=:t1, result=:t2, error_code=:t3, error=:t4, "
                          "progress=CASE WHEN :t1='succeeded' THEN 100 ELSE progress END, "
                          "lease_until=0, wait=0, wake_at=0, finished_at=:now, updated_at=:now "
                          "WHERE id=:id AND state IN ('queued','running')%s",
                          a->c ? FENCED : "");
    int changes = 0;
    ul_err rc = job_exec_locked(st, a->id, a->c, sql, job_state_name(a->state), a->result,
                                a->error_code, a->error, 0, &changes, em);
    free(sql);
    if (rc == UL_OK && changes == 0)
        rc = no_claim(a->id, a->c, em);
    if (rc == UL_OK)
        rc = job_exec_locked(st, a->id, NULL, "DELETE FROM node_claims WHERE job_id=:id", NULL,
                             NULL, NULL, NULL, 0, NULL, em);
    if (rc != UL_OK)
        return rc;
    /* Tell a parent that waits for its children: it is due now. */
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT parent_id FROM jobs WHERE id = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return db_fail(st, em, "preparing parent lookup");
    sqlite3_bind_int64(s, 1, a->id);
    if (sqlite3_step(s) == SQLITE_ROW)
        a->parent = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    if (a->parent)
        rc = job_exec_locked(st, a->parent, NULL,
                             "UPDATE jobs SET wake_at=:nowms WHERE id=:id AND state='running' "
                             "AND wait=2" /* UL_JOB_WAIT_CHILDREN */,
                             NULL, NULL, NULL, NULL, 0, NULL, em);
    return rc;
}

ul_err store_job_finish(ul_store *st, int64_t id, enum ul_job_state state, const char *result,
                        const char *error_code, const char *error, ul_errmsg *em)
{
    return store_job_finish_as(st, NULL, id, state, result, error_code, error, NULL, em);
}

ul_err store_job_finish_as(ul_store *st, const struct ul_job_claim *c, int64_t id,
                           enum ul_job_state state, const char *result, const char *error_code,
                           const char *error, int64_t *parent, ul_errmsg *em)
{
    struct finish_args a = {c, id, state, result, error_code, error, 0};
    ul_err rc = job_txn(st, finish_txn, &a, em);
    if (parent)
        *parent = rc == UL_OK ? a.parent : 0;
    return rc;
}

struct claim_args {
    int64_t id;
    bool restart;
    const char *owner;
    int64_t now, lease_until;
    enum store_claim_result res;
    struct ul_job *job; /* out */
};

static ul_err claim_txn(ul_store *st, void *argp, ul_errmsg *em)
{
    struct claim_args *a = argp;
    sqlite3_stmt *s = NULL;
    ul_err rc = UL_OK;
    a->res = STORE_CLAIM_GONE;
    if (sqlite3_prepare_v2(st->db, "SELECT " JOB_COLS " FROM jobs WHERE id = ?", -1, &s, NULL) !=
        SQLITE_OK)
        return db_fail(st, em, "preparing job claim");
    sqlite3_bind_int64(s, 1, a->id);
    struct ul_job *j = sqlite3_step(s) == SQLITE_ROW ? job_from_row(s) : NULL;
    sqlite3_finalize(s);
    s = NULL;
    if (!j)
        return UL_OK;
    bool mine = j->owner && strcmp(j->owner, a->owner) == 0;
    bool lapsed = !j->owner || j->lease_until < a->now;
    /* Claimable: a queued job nobody holds, or a parked one that is ours
     * (due) or whose holder's lease lapsed.  A job on a worker is never
     * taken here: recovery decides about those (store_job_recover). */
    bool fresh = j->state == UL_JOB_QUEUED && (lapsed || mine);
    bool parked = j->state == UL_JOB_RUNNING && j->wait != UL_JOB_WAIT_NONE && (mine || lapsed);
    if (!fresh && !parked) {
        job_free(j);
        return UL_OK;
    }
    /* A parked job continued by a daemon that restarted (or took it over)
     * starts a new attempt, as a requeued one does. */
    bool attempt = fresh || a->restart;
    if (0) {
        job_free(j);
        return UL_OK;
    }
    if (j->node) {
        if (sqlite3_prepare_v2(st->db,
                               "SELECT job_id, lease_until FROM node_claims WHERE node = ?", -1,
                               &s, NULL) != SQLITE_OK) {
            job_free(j);
            return db_fail(st, em, "preparing node claim lookup");
        }
        sqlite3_bind_text(s, 1, j->node, -1, SQLITE_TRANSIENT);
        bool busy = sqlite3_step(s) == SQLITE_ROW && sqlite3_column_int64(s, 0) != j->id &&
                    sqlite3_column_int64(s, 1) >= a->now;
        sqlite3_finalize(s);
        s = NULL;
        if (busy) {
            a->res = STORE_CLAIM_NODE_BUSY;
            job_free(j);
            return UL_OK;
        }
        if (sqlite3_prepare_v2(st->db,
                               "INSERT OR REPLACE INTO node_claims (node, job_id, owner, "
                               "lease_until) VALUES (?,?,?,?)",
                               -1, &s, NULL) != SQLITE_OK) {
            job_free(j);
            return db_fail(st, em, "preparing node claim");
        }
        sqlite3_bind_text(s, 1, j->node, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 2, j->id);
        sqlite3_bind_text(s, 3, a->owner, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, a->lease_until);
        int step = sqlite3_step(s);
        sqlite3_finalize(s);
        if (step != SQLITE_DONE) {
            job_free(j);
            return db_fail(st, em, "claiming node");
        }
    }
    /* A queued job starts an attempt: its deadline counts from here, and
     * does not restart while it is parked between steps. */
    int64_t deadline =
        attempt ? a->now + (int64_t)(j->timeout_s > 0 ? j->timeout_s : 300) * 1000 : j->deadline_at;
    char *sql = attempt ? xasprintf("UPDATE jobs SET state='running', "
                                  "attempts=attempts+1-cancel_requested, started_at=:now, owner=:t1, fence=fence+1, lease_until=:i1, "
                                  "wait=0, wake_at=0, deadline_at=%lld, updated_at=:now "
                                  "WHERE id=:id",
                                  (long long)deadline)
                      : xstrdup("UPDATE jobs SET owner=:t1, fence=fence+1, lease_until=:i1, "
                                "wait=0, wake_at=0, updated_at=:now WHERE id=:id");
    rc = job_exec_locked(st, j->id, NULL, sql, a->owner, NULL, NULL, NULL, a->lease_until, NULL,
                         em);
    free(sql);
    if (rc != UL_OK) {
        job_free(j);
        return rc;
    }
    if (attempt) {
        /* A cancel asked before it started: claimed only to be ended,
         * not an attempt. */
        j->state = UL_JOB_RUNNING;
        j->attempts += j->cancel_requested ? 0 : 1;
        j->deadline_at = deadline;
    }
    free(j->owner);
    j->owner = xstrdup(a->owner);
    j->fence++;
    j->lease_until = a->lease_until;
    j->wait = UL_JOB_WAIT_NONE;
    a->job = j;
    a->res = STORE_CLAIMED;
    return UL_OK;
}

ul_err store_job_claim(ul_store *st, int64_t id, const char *owner, int64_t lease_ms,
                       bool restart, enum store_claim_result *res, struct ul_job **job,
                       ul_errmsg *em)
{
    int64_t now = ul_wall_ms();
    struct claim_args a = {id, restart, owner, now, now + lease_ms, STORE_CLAIM_GONE, NULL};
    *job = NULL;
    ul_err rc = job_txn(st, claim_txn, &a, em);
    *res = a.res;
    if (rc == UL_OK)
        *job = a.job;
    else
        job_free(a.job);
    return rc;
}

struct park_args {
    const struct ul_job_claim *c;
    int64_t id;
    int step;
    const char *step_name;
    int wait;
    int64_t wake_at;
    bool hold_node;
    bool due_now; /* out: a children wait whose children had all ended */
};

static ul_err park_txn(ul_store *st, void *argp, ul_errmsg *em)
{
    struct park_args *a = argp;
    int64_t wake = a->wake_at;
    if (a->wait == UL_JOB_WAIT_CHILDREN) {
        /* Children that ended before the parent parked have told nobody:
         * with none left unfinished, the parent is due at once. */
        sqlite3_stmt *s = NULL;
        if (sqlite3_prepare_v2(st->db,
                               "SELECT count(*) FROM jobs WHERE parent_id = ? "
                               "AND state IN ('queued','running')",
                               -1, &s, NULL) != SQLITE_OK)
            return db_fail(st, em, "preparing child count");
        sqlite3_bind_int64(s, 1, a->id);
        int64_t open = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        sqlite3_finalize(s);
        wake = open == 0 ? ul_wall_ms() : 0;
        a->due_now = open == 0;
    }
    char *sql = xasprintf("UPDATE jobs SET step=%d, step_name=:t1, wait=%d, wake_at=%lld, "
                          "updated_at=:now WHERE id=:id AND state='running'" FENCED,
                          a->step, a->wait, (long long)wake);
    int changes = 0;
    ul_err rc =
        job_exec_locked(st, a->id, a->c, sql, a->step_name, NULL, NULL, NULL, 0, &changes, em);
    free(sql);
    if (rc == UL_OK && changes == 0)
        rc = no_claim(a->id, a->c, em);
    if (rc == UL_OK && !a->hold_node)
        rc = job_exec_locked(st, a->id, NULL, "DELETE FROM node_claims WHERE job_id=:id", NULL,
                             NULL, NULL, NULL, 0, NULL, em);
    return rc;
}

ul_err store_job_park(ul_store *st, const struct ul_job_claim *c, int64_t id, int step,
                      const char *step_name, int wait, int64_t wake_at, bool hold_node,
                      bool *due_now, ul_errmsg *em)
{
    struct park_args a = {c, id, step, step_name, wait, wake_at, hold_node, false};
    ul_err rc = job_txn(st, park_txn, &a, em);
    if (due_now)
        *due_now = a.due_now;
    return rc;
}

ul_err store_job_step(ul_store *st, const struct ul_job_claim *c, int64_t id, int step,
                      const char *step_name, ul_errmsg *em)
{
    return job_update_claim(st, id, c,
                            "UPDATE jobs SET step=:i1, step_name=:t1, updated_at=:now "
                            "WHERE id=:id AND state='running'",
                            step_name, NULL, NULL, NULL, step, em);
}

ul_err store_job_recover(ul_store *st, const struct ul_job_claim *seen, int64_t id, bool requeue,
                         const char *message, ul_errmsg *em)
{
    if (requeue)
        return store_job_requeue_as(st, seen, id, message, em);
    return store_job_finish_as(st, seen, id, UL_JOB_FAILED, NULL, ul_err_name(UL_ERR_INTERRUPTED),
                               message, NULL, em);
}

ul_err store_job_renew(ul_store *st, const char *owner, int64_t lease_until, ul_errmsg *em)
{
    struct ul_job_claim c = {owner, 0};
    pthread_mutex_lock(&st->lock);
    ul_err rc = job_exec_locked(st, 0, &c,
                                "UPDATE jobs SET lease_until=:i1 WHERE owner=:owner "
                                "AND state='running'",
                                NULL, NULL, NULL, NULL, lease_until, NULL, em);
    if (rc == UL_OK)
        rc = job_exec_locked(st, 0, &c,
                             "UPDATE node_claims SET lease_until=:i1 WHERE owner=:owner", NULL,
                             NULL, NULL, NULL, lease_until, NULL, em);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_job_children_counts(ul_store *st, int64_t parent, int64_t counts[UL_JOB_STATES],
                                 ul_errmsg *em)
{
    memset(counts, 0, sizeof(int64_t) * UL_JOB_STATES);
    sqlite3_stmt *s = NULL;
    ul_err rc = UL_OK;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "SELECT state, count(*) FROM jobs WHERE parent_id = ? GROUP BY state",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing child counts");
        goto out;
    }
    sqlite3_bind_int64(s, 1, parent);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        int k = job_state_parse((const char *)sqlite3_column_text(s, 0));
        if (k >= 0)
            counts[k] += sqlite3_column_int64(s, 1);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(st, em, "counting child jobs");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* One integer from a one-row query (a count, a pragma), in the store's lock. */
static ul_err single_int64(ul_store *st, const char *sql, const char *what, int64_t *out,
                           ul_errmsg *em)
{
    sqlite3_stmt *s = NULL;
    ul_err rc = UL_OK;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK || sqlite3_step(s) != SQLITE_ROW)
        rc = db_fail(st, em, what);
    else
        *out = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_job_data_version(ul_store *st, int64_t *version, ul_errmsg *em)
{
    return single_int64(st, "PRAGMA data_version", "reading data_version", version, em);
}

ul_err store_job_request_cancel(ul_store *st, int64_t id, ul_errmsg *em)
{
    return job_update(st, id,
                      "UPDATE jobs SET cancel_requested=1, updated_at=:now "
                      "WHERE id=:id AND state IN ('queued','running')",
                      NULL, NULL, NULL, NULL, 0, em);
}

ul_err store_job_prune(ul_store *st, int64_t cutoff, int *deleted, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    *deleted = 0;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "DELETE FROM jobs WHERE state IN ('succeeded','failed','canceled') "
                           "AND finished_at < ? AND parent_id IS NULL",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing job prune");
        goto out;
    }
    sqlite3_bind_int64(s, 1, cutoff);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(st, em, "pruning jobs");
    else
        *deleted = sqlite3_changes(st->db);
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

/* ---- audit ---- */

ul_err store_audit_add(ul_store *st, const char *actor, const char *action, const char *target,
                       const char *result, const char *detail, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO audit (time, actor, action, target, result, detail) "
                           "VALUES (?,?,?,?,?,?)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing audit insert");
        goto out;
    }
    sqlite3_bind_int64(s, 1, ul_wall_s());
    sqlite3_bind_text(s, 2, actor ? actor : "system", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 3, action, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 4, target ? target : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 5, result ? result : "ok", -1, SQLITE_TRANSIENT);
    bind_text_or_null(s, 6, detail);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(st, em, "writing audit record");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_audit_list(ul_store *st, const char *actor, const char *action, int limit, int offset,
                        struct ul_audit_list *out, ul_errmsg *em)
{
    memset(out, 0, sizeof(*out));
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM audit WHERE (?1 IS NULL OR actor = ?1) "
                                   "AND (?2 IS NULL OR action = ?2)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing audit count");
        goto out;
    }
    bind_text_or_null(s, 1, actor);
    bind_text_or_null(s, 2, action);
    if (sqlite3_step(s) != SQLITE_ROW) {
        rc = db_fail(st, em, "counting audit records");
        goto out;
    }
    out->total = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    s = NULL;
    if (sqlite3_prepare_v2(st->db,
                           "SELECT id, time, actor, action, target, result, detail FROM audit "
                           "WHERE (?1 IS NULL OR actor = ?1) AND (?2 IS NULL OR action = ?2) "
                           "ORDER BY id DESC LIMIT ?3 OFFSET ?4",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing audit list");
        goto out;
    }
    bind_text_or_null(s, 1, actor);
    bind_text_or_null(s, 2, action);
    sqlite3_bind_int(s, 3, limit);
    sqlite3_bind_int(s, 4, offset);
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 32;
            out->items = xrealloc(out->items, cap * sizeof(*out->items));
        }
        struct ul_audit *a = &out->items[out->count++];
        a->id = sqlite3_column_int64(s, 0);
        a->time = sqlite3_column_int64(s, 1);
        a->actor = col_str(s, 2);
        a->action = col_str(s, 3);
        a->target = col_str(s, 4);
        a->result = col_str(s, 5);
        a->detail = col_str(s, 6);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(st, em, "listing audit records");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    if (rc != UL_OK)
        store_audit_list_free(out);
    return rc;
}

void store_audit_list_free(struct ul_audit_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].actor);
        free(l->items[i].action);
        free(l->items[i].target);
        free(l->items[i].result);
        free(l->items[i].detail);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* ---- tokens ---- */

ul_err store_token_add(ul_store *st, const char *name, const char *role,
                       const unsigned char hash[SECRET_HASH_LEN], ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "INSERT INTO tokens (name, role, hash, created_at) VALUES (?,?,?,?)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing token insert");
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, 2, role, -1, SQLITE_TRANSIENT);
    sqlite3_bind_blob(s, 3, hash, SECRET_HASH_LEN, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, 4, ul_wall_s());
    int step = sqlite3_step(s);
    if (step != SQLITE_DONE && is_duplicate(st))
        rc = ul_errmsg_set(em, UL_ERR_CONFLICT, "token '%s' already exists", name);
    else if (step != SQLITE_DONE)
        rc = db_fail(st, em, "inserting token");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_token_find(ul_store *st, const unsigned char hash[SECRET_HASH_LEN], char **name,
                        char **role, ul_errmsg *em)
{
    *name = *role = NULL;
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    int64_t now = ul_wall_s();
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, "SELECT name, role, last_used_at FROM tokens WHERE hash = ?",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing token lookup");
        goto out;
    }
    sqlite3_bind_blob(s, 1, hash, SECRET_HASH_LEN, SQLITE_TRANSIENT);
    int step = sqlite3_step(s);
    if (step == SQLITE_DONE) {
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "unknown token");
        goto out;
    }
    if (step != SQLITE_ROW) {
        rc = db_fail(st, em, "reading token");
        goto out;
    }
    *name = col_str(s, 0);
    *role = col_str(s, 1);
    int64_t last = sqlite3_column_int64(s, 2);
    sqlite3_finalize(s);
    s = NULL;
    /* Stamping every request would turn each GET into a write; a minute's
     * resolution is all an operator needs to spot unused tokens. */
    if (now - last >= 60) {
        if (sqlite3_prepare_v2(st->db, "UPDATE tokens SET last_used_at = ? WHERE name = ?", -1,
                               &s, NULL) == SQLITE_OK) {
            sqlite3_bind_int64(s, 1, now);
            sqlite3_bind_text(s, 2, *name, -1, SQLITE_TRANSIENT);
            if (sqlite3_step(s) != SQLITE_DONE)
                ul_warn("state store: cannot stamp token use: %s", sqlite3_errmsg(st->db));
        }
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_token_delete(ul_store *st, const char *name, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, "DELETE FROM tokens WHERE name = ?", -1, &s, NULL) !=
        SQLITE_OK) {
        rc = db_fail(st, em, "preparing token delete");
        goto out;
    }
    sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(st, em, "deleting token");
    else if (sqlite3_changes(st->db) == 0)
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "token '%s' not found", name);
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_token_list(ul_store *st, struct ul_token_list *out, ul_errmsg *em)
{
    memset(out, 0, sizeof(*out));
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db,
                           "SELECT name, role, created_at, last_used_at FROM tokens ORDER BY name",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing token list");
        goto out;
    }
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (out->count == cap) {
            cap = cap ? cap * 2 : 8;
            out->items = xrealloc(out->items, cap * sizeof(*out->items));
        }
        struct ul_token *t = &out->items[out->count++];
        t->name = col_str(s, 0);
        t->role = col_str(s, 1);
        t->created_at = sqlite3_column_int64(s, 2);
        t->last_used_at = sqlite3_column_int64(s, 3);
    }
    if (step != SQLITE_DONE)
        rc = db_fail(st, em, "listing tokens");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    if (rc != UL_OK)
        store_token_list_free(out);
    return rc;
}

void store_token_list_free(struct ul_token_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].name);
        free(l->items[i].role);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

ul_err store_token_count(ul_store *st, int64_t *count, ul_errmsg *em)
{
    return single_int64(st, "SELECT count(*) FROM tokens", "counting tokens", count, em);
}

/* ---- events, cursors, inventory ---- */

ul_err store_events_add(ul_store *st, const struct ul_event_rec *ev, size_t n, int *inserted,
                        ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    int64_t now = ul_wall_s();
    *inserted = 0;
    pthread_mutex_lock(&st->lock);
    /* One transaction for the batch: a SEL of hundreds of entries is one
     * fsync, not hundreds. */
    if ((rc = exec_sql(st, "BEGIN IMMEDIATE", em)) != UL_OK)
        goto out;
    if (sqlite3_prepare_v2(st->db,
                           "INSERT OR IGNORE INTO events (node, source, record_id, time, severity, "
                           "sensor, message, received_at) VALUES (?,?,?,?,?,?,?,?)",
                           -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing event insert");
        goto rollback;
    }
    for (size_t i = 0; i < n; i++) {
        sqlite3_reset(s);
        sqlite3_bind_text(s, 1, ev[i].node, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 2, ev[i].source, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 3, ev[i].record_id, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 4, ev[i].time);
        sqlite3_bind_text(s, 5, ev[i].severity, -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 6, ev[i].sensor ? ev[i].sensor : "", -1, SQLITE_TRANSIENT);
        sqlite3_bind_text(s, 7, ev[i].message, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(s, 8, now);
        if (sqlite3_step(s) != SQLITE_DONE) {
            rc = db_fail(st, em, "inserting event");
            goto rollback;
        }
        *inserted += sqlite3_changes(st->db);
    }
    sqlite3_finalize(s);
    s = NULL;
    rc = exec_sql(st, "COMMIT", em);
    if (rc == UL_OK)
        goto out;
rollback:
    exec_sql(st, "ROLLBACK", NULL);
    *inserted = 0;
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_events_list(ul_store *st, const struct ul_event_filter *f, struct ul_event_list_rec *out,
                         ul_errmsg *em)
{
    memset(out, 0, sizeof(*out));
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    size_t cap = 0;
    static const char where[] =
        " WHERE (?1 IS NULL OR node = ?1) AND (?2 IS NULL OR source = ?2) AND "
        "(?3 IS NULL OR severity = ?3) AND (?4 IS NULL OR time >= ?4) AND "
        "(?5 IS NULL OR time < ?5)";
    char *count_sql = xasprintf("SELECT count(*) FROM events%s", where);
    char *page_sql = xasprintf("SELECT id, node, source, record_id, time, severity, sensor, "
                               "message FROM events%s ORDER BY time DESC, id DESC "
                               "LIMIT ?6 OFFSET ?7",
                               where);
    pthread_mutex_lock(&st->lock);
    for (int pass = 0; pass < 2; pass++) {
        if (sqlite3_prepare_v2(st->db, pass ? page_sql : count_sql, -1, &s, NULL) != SQLITE_OK) {
            rc = db_fail(st, em, "preparing event query");
            goto out;
        }
        bind_text_or_null(s, 1, f->node);
        bind_text_or_null(s, 2, f->source);
        bind_text_or_null(s, 3, f->severity);
        if (f->since > 0)
            sqlite3_bind_int64(s, 4, f->since);
        if (f->until > 0)
            sqlite3_bind_int64(s, 5, f->until);
        if (pass == 0) {
            if (sqlite3_step(s) != SQLITE_ROW) {
                rc = db_fail(st, em, "counting events");
                goto out;
            }
            out->total = sqlite3_column_int64(s, 0);
            sqlite3_finalize(s);
            s = NULL;
            continue;
        }
        sqlite3_bind_int(s, 6, f->limit);
        sqlite3_bind_int(s, 7, f->offset);
        int step;
        while ((step = sqlite3_step(s)) == SQLITE_ROW) {
            if (out->count == cap) {
                cap = cap ? cap * 2 : 64;
                out->items = xrealloc(out->items, cap * sizeof(*out->items));
            }
            struct ul_event_rec *e = &out->items[out->count++];
            e->id = sqlite3_column_int64(s, 0);
            e->node = col_str(s, 1);
            e->source = col_str(s, 2);
            e->record_id = col_str(s, 3);
            e->time = sqlite3_column_int64(s, 4);
            e->severity = col_str(s, 5);
            e->sensor = col_str(s, 6);
            e->message = col_str(s, 7);
        }
        if (step != SQLITE_DONE)
            rc = db_fail(st, em, "listing events");
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    free(count_sql);
    free(page_sql);
    if (rc != UL_OK)
        store_events_list_free(out);
    return rc;
}

void store_events_list_free(struct ul_event_list_rec *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++) {
        free(l->items[i].node);
        free(l->items[i].source);
        free(l->items[i].record_id);
        free(l->items[i].severity);
        free(l->items[i].sensor);
        free(l->items[i].message);
    }
    free(l->items);
    memset(l, 0, sizeof(*l));
}

/* A small key/value read: one text column by two keys, or NOT_FOUND. */
static ul_err get_text(ul_store *st, const char *sql, const char *k1, const char *k2, char **out,
                       int64_t *updated_at, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    *out = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing lookup");
        goto out;
    }
    sqlite3_bind_text(s, 1, k1, -1, SQLITE_TRANSIENT);
    if (k2)
        sqlite3_bind_text(s, 2, k2, -1, SQLITE_TRANSIENT);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        *out = col_str(s, 0);
        if (updated_at)
            *updated_at = sqlite3_column_int64(s, 1);
    } else if (step == SQLITE_DONE) {
        rc = UL_ERR_NOT_FOUND;
        ul_errmsg_set(em, rc, "nothing stored for %s", k1);
    } else {
        rc = db_fail(st, em, "reading");
    }
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

static ul_err put_text(ul_store *st, const char *sql, const char *k1, const char *k2,
                       const char *value, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    sqlite3_stmt *s = NULL;
    pthread_mutex_lock(&st->lock);
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
        rc = db_fail(st, em, "preparing write");
        goto out;
    }
    int i = 1;
    sqlite3_bind_text(s, i++, k1, -1, SQLITE_TRANSIENT);
    if (k2)
        sqlite3_bind_text(s, i++, k2, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(s, i++, value, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(s, i, ul_wall_s());
    if (sqlite3_step(s) != SQLITE_DONE)
        rc = db_fail(st, em, "writing");
out:
    sqlite3_finalize(s);
    pthread_mutex_unlock(&st->lock);
    return rc;
}

ul_err store_cursor_get(ul_store *st, const char *node, const char *source, char **cursor,
                        ul_errmsg *em)
{
    ul_err rc = get_text(st, "SELECT cursor, updated_at FROM cursors WHERE node = ? AND source = ?",
                         node, source, cursor, NULL, em);
    if (rc == UL_ERR_NOT_FOUND) {
        *cursor = xstrdup("");
        return UL_OK;
    }
    return rc;
}

ul_err store_cursor_set(ul_store *st, const char *node, const char *source, const char *cursor,
                        ul_errmsg *em)
{
    return put_text(st,
                    "INSERT INTO cursors (node, source, cursor, updated_at) VALUES (?,?,?,?) "
                    "ON CONFLICT (node, source) DO UPDATE SET cursor = excluded.cursor, "
                    "updated_at = excluded.updated_at",
                    node, source, cursor, em);
}

ul_err store_inventory_get(ul_store *st, const char *node, char **json, int64_t *updated_at,
                           ul_errmsg *em)
{
    ul_err rc = get_text(st, "SELECT data, updated_at FROM inventory WHERE node = ?", node, NULL,
                         json, updated_at, em);
    if (rc == UL_ERR_NOT_FOUND)
        ul_errmsg_set(em, rc, "no inventory collected yet for node '%s'", node);
    return rc;
}

ul_err store_inventory_set(ul_store *st, const char *node, const char *json, ul_errmsg *em)
{
    return put_text(st,
                    "INSERT INTO inventory (node, data, updated_at) VALUES (?,?,?) "
                    "ON CONFLICT (node) DO UPDATE SET data = excluded.data, "
                    "updated_at = excluded.updated_at",
                    node, NULL, json, em);
}
