#include "config.h"

#include "sessions.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define FP_LEN 32

struct entry {
    char *node;
    const struct ul_driver *drv;
    struct ul_bmc_session *s;
    unsigned char fp[FP_LEN];
    int64_t last_used_ms;
    struct entry *next;
};

struct bmc_sessions {
    pthread_mutex_t lock; /* guards the list; never held across a BMC call */
    struct entry *head;
    int count;
    int64_t idle_max_ms;
    char *cache_root;
};

bmc_sessions *bmc_sessions_new(int idle_max_s, const char *cache_root)
{
    bmc_sessions *c = xcalloc(1, sizeof(*c));
    c->cache_root = xstrdup(cache_root);
    pthread_mutex_init(&c->lock, NULL);
    c->idle_max_ms = (int64_t)(idle_max_s > 0 ? idle_max_s : 45) * 1000;
    return c;
}

static void entry_close(struct entry *e)
{
    if (e->s)
        e->drv->close(e->s);
    free(e->node);
    free(e);
}

void bmc_sessions_free(bmc_sessions *c)
{
    if (!c)
        return;
    struct entry *e = c->head;
    while (e) {
        struct entry *next = e->next;
        entry_close(e);
        e = next;
    }
    pthread_mutex_destroy(&c->lock);
    free(c->cache_root);
    free(c);
}

/* Hash of everything that, when changed, makes a cached session stale. */
static void fingerprint(const struct ul_node *n, unsigned char out[FP_LEN])
{
    crypto_generichash_state st;
    crypto_generichash_init(&st, NULL, 0, FP_LEN);
    const char *parts[] = {n->driver, n->endpoint, n->username ? n->username : "",
                           n->password ? n->password : "",
                           json_object_to_json_string_ext(n->options, JSON_C_TO_STRING_PLAIN)};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        crypto_generichash_update(&st, (const unsigned char *)parts[i], strlen(parts[i]) + 1);
    crypto_generichash_final(&st, out, FP_LEN);
}

/* Caller holds c->lock.  Unlinks and returns node's entry, or NULL. */
static struct entry *take(bmc_sessions *c, const char *node)
{
    struct entry **pp = &c->head;
    for (struct entry *e = c->head; e; pp = &e->next, e = e->next) {
        if (strcmp(e->node, node) == 0) {
            *pp = e->next;
            c->count--;
            return e;
        }
    }
    return NULL;
}

ul_err bmc_sessions_acquire(bmc_sessions *c, const struct ul_node *node, int timeout_ms,
                            const struct ul_driver **drv, struct ul_bmc_session **s, bool *reused,
                            ul_errmsg *em)
{
    unsigned char fp[FP_LEN];
    fingerprint(node, fp);
    int64_t now = ul_mono_ms();
    *reused = false;

    struct entry *e = NULL;
    if (c) {
        pthread_mutex_lock(&c->lock);
        e = take(c, node->name);
        pthread_mutex_unlock(&c->lock);
    }

    if (e && (memcmp(e->fp, fp, FP_LEN) != 0 || now - e->last_used_ms > c->idle_max_ms)) {
        ul_debug("node %s: closing cached %s session (%s)", node->name, e->drv->name,
                 memcmp(e->fp, fp, FP_LEN) ? "node settings changed" : "idle too long");
        entry_close(e);
        e = NULL;
    }
    if (!e) {
        const struct ul_driver *d = bmc_driver_find(node->driver);
        if (!d)
            return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: unknown driver '%s'", node->name,
                                 node->driver);
        struct ul_bmc_target t = {
            .node = node->name,
            .username = node->username,
            .password = node->password,
            .options = node->options,
            .timeout_ms = timeout_ms,
        };
        ul_err rc = node_endpoint_parse(node->endpoint, &t.ep, em);
        if (rc != UL_OK)
            return rc;
        /* Node names are safe file names (node_name_valid). */
        char *cache_dir = c && c->cache_root ? xasprintf("%s/%s", c->cache_root, node->name) : NULL;
        t.cache_dir = cache_dir;
        struct ul_bmc_session *sess = NULL;
        rc = d->open(&t, &sess, em);
        free(cache_dir);
        if (rc != UL_OK)
            return rc;
        if (!c) {
            *drv = d;
            *s = sess;
            return UL_OK;
        }
        e = xcalloc(1, sizeof(*e));
        e->node = xstrdup(node->name);
        e->drv = d;
        e->s = sess;
        memcpy(e->fp, fp, FP_LEN);
    } else {
        *reused = true;
    }
    e->last_used_ms = now;
    pthread_mutex_lock(&c->lock);
    e->next = c->head;
    c->head = e;
    c->count++;
    pthread_mutex_unlock(&c->lock);
    *drv = e->drv;
    *s = e->s;
    return UL_OK;
}

void bmc_sessions_release(bmc_sessions *c, const char *node, const struct ul_driver *drv,
                          struct ul_bmc_session *s, bool healthy)
{
    if (!c) {
        drv->close(s);
        return;
    }
    struct entry *dead = NULL;
    pthread_mutex_lock(&c->lock);
    for (struct entry *e = c->head; e; e = e->next) {
        if (strcmp(e->node, node) != 0)
            continue;
        e->last_used_ms = ul_mono_ms();
        if (!healthy)
            dead = take(c, node);
        break;
    }
    pthread_mutex_unlock(&c->lock);
    if (dead)
        entry_close(dead); /* logs out: outside the lock, it talks to the BMC */
}

int bmc_sessions_count(bmc_sessions *c)
{
    if (!c)
        return 0;
    pthread_mutex_lock(&c->lock);
    int n = c->count;
    pthread_mutex_unlock(&c->lock);
    return n;
}
