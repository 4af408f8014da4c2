#include "config.h"

#include "latest.h"

#include <math.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ops/ops.h"
#include "hash.h"
#include "ultime.h"
#include "xalloc.h"

#define NODE_MAX_LABELS_SEEN 64 /* core/node.h NODE_MAX_LABELS */
#define NODE_LABEL_NAME_LEN 80  /* "label_" + a 63-character key + '_' */
#define KIND_MAX 3 /* sensors, sel, inventory */
static const char *const kinds[KIND_MAX] = {"sensors", "sel", "inventory"};

struct kind_stats {
    uint64_t polls, errors;
    double last_duration_s;
};

struct lnode {
    char *name;
    struct ul_sensor_list sensors;
    int64_t sensors_time;
    bool has_pr;
    struct ul_power_reading pr;
    enum ul_power_state power;
    enum node_health health;
    char last_error[UL_ERRMSG_LEN];
    char last_error_kind[16];
    int64_t last_error_time, last_success;
    struct kind_stats k[KIND_MAX];
    /* The node's sensor lines of each sensor metric family, rendered when
     * its sweep arrives (outside the lock): a scrape then only concatenates,
     * instead of formatting 400,000 numbers under the lock (bench/telemetry:
     * 400-520 ms at 10,000 x 40, stalling every poll worker). */
    char *frag[12];
    size_t fraglen[12];
    /* The node's element of the fleet summary's "nodes" array, rendered
     * whenever the node changes (fleet_frag), so GET /api/v1/fleet only
     * concatenates (issue 11 item 13: building json-c objects for every node
     * per request answered at p50 173 ms for 1,000 nodes). */
    char fleet[320];
    size_t fleetlen;
    bool has_w;
    double watts;
    /* From the inventory (latest_node_meta): the collector label of ipmi_up
     * and ipmi_scrape_duration_seconds, the labels for ?label= filtering,
     * and the node's underlay_node_info and ipmi_bmc_info lines. */
    char collector[16];
    json_object *labels;
    char *info, *bmcinfo;
    size_t infolen, bmcinfolen;
    bool has_sel;
    int64_t sel_count;
    struct lnode *hnext; /* hash chain */
};

struct latest {
    pthread_mutex_t lock;
    struct lnode **nodes; /* insertion order, for rendering */
    size_t count, cap;
    struct lnode **buckets;
    size_t nbuckets;
    char *text;           /* cached /metrics rendering, NULL when stale */
    size_t text_len;
    char *fleet_text;     /* cached fleet summary (JSON), NULL when stale */
    size_t fleet_len;
    uint64_t meta_changes; /* store_node_changes at the last meta refresh */
    size_t meta_count;     /* nodes known then */
    int64_t meta_time;     /* 0: never */
};

static void fleet_frag(struct lnode *n);

static const char *const health_names[] = {"unknown", "ok", "degraded", "unreachable",
                                           "auth_failed"};

const char *latest_health_name(enum node_health h)
{
    return (unsigned)h <= HEALTH_AUTH_FAILED ? health_names[h] : "unknown";
}

latest *latest_new(void)
{
    latest *l = xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    l->nbuckets = 1024;
    l->buckets = xcalloc(l->nbuckets, sizeof(*l->buckets));
    return l;
}

static void lnode_free(struct lnode *n)
{
    for (int i = 0; i < 12; i++)
        free(n->frag[i]);
    free(n->info);
    free(n->bmcinfo);
    json_object_put(n->labels);
    bmc_sensor_list_free(&n->sensors);
    free(n->name);
    free(n);
}

void latest_free(latest *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->count; i++)
        lnode_free(l->nodes[i]);
    free(l->nodes);
    free(l->buckets);
    free(l->text);
    free(l->fleet_text);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

static size_t hash(const char *s)
{
    return (size_t)ul_hash_str(s);
}

/* Caller holds l->lock. */
static struct lnode *find(latest *l, const char *name)
{
    for (struct lnode *n = l->buckets[hash(name) % l->nbuckets]; n; n = n->hnext)
        if (strcmp(n->name, name) == 0)
            return n;
    return NULL;
}

/* Caller holds l->lock.  Keeps chains short as the fleet grows. */
static void rehash(latest *l)
{
    size_t nb = l->nbuckets * 4;
    struct lnode **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < l->count; i++) {
        struct lnode *n = l->nodes[i];
        size_t h = hash(n->name) % nb;
        n->hnext = b[h];
        b[h] = n;
    }
    free(l->buckets);
    l->buckets = b;
    l->nbuckets = nb;
}

/* Caller holds l->lock. */
static struct lnode *get(latest *l, const char *name)
{
    struct lnode *n = find(l, name);
    if (n)
        return n;
    n = xcalloc(1, sizeof(*n));
    n->name = xstrdup(name);
    fleet_frag(n);
    if (l->count == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        l->nodes = xrealloc(l->nodes, l->cap * sizeof(*l->nodes));
    }
    l->nodes[l->count++] = n;
    /* Chain it first: rehash() re-chains every node in l->nodes, this one
     * included.  Chaining it after a rehash put it in its bucket twice, a
     * self-loop in which find() spun for ever under l->lock: the 1,025th
     * node (and the 4,097th...) froze polling and the API. */
    size_t h = hash(name) % l->nbuckets;
    n->hnext = l->buckets[h];
    l->buckets[h] = n;
    if (l->count > l->nbuckets)
        rehash(l);
    return n;
}

static int kind_index(const char *kind)
{
    for (int i = 0; i < KIND_MAX; i++)
        if (strcmp(kinds[i], kind) == 0)
            return i;
    return 0;
}

/* Caller holds l->lock. */
static void invalidate(latest *l)
{
    free(l->text);
    l->text = NULL;
    l->text_len = 0;
    free(l->fleet_text);
    l->fleet_text = NULL;
    l->fleet_len = 0;
}


/* why (may be NULL) receives the first sensor that makes the node degraded. */
static enum node_health health_from_sensors(const struct ul_sensor_list *s, char *why,
                                            size_t whylen)
{
    for (size_t i = 0; i < s->count; i++)
        if (s->items[i].status == UL_SENSOR_WARNING || s->items[i].status == UL_SENSOR_CRITICAL) {
            if (why)
                snprintf(why, whylen, "sensor '%s' is %s", s->items[i].name,
                         bmc_sensor_status_name(s->items[i].status));
            return HEALTH_DEGRADED;
        }
    return HEALTH_OK;
}

/* Caller holds l->lock; n->health already updated. */
static struct latest_change change_of(enum node_health from, const struct lnode *n)
{
    struct latest_change c = {.from = from, .to = n->health};
    return c;
}

#define NFRAG 12
static void render_frags(const char *node, const struct ul_sensor_list *s, char *frag[NFRAG],
                         size_t len[NFRAG]);

struct latest_change latest_sensors_ok(latest *l, const char *node,
                                       struct ul_sensor_list *sensors,
                                       const struct ul_power_reading *pr, int64_t t,
                                       double duration_s)
{
    char *frag[NFRAG];
    size_t fraglen[NFRAG];
    render_frags(node, sensors, frag, fraglen);
    pthread_mutex_lock(&l->lock);
    struct lnode *n = get(l, node);
    for (int i = 0; i < NFRAG; i++) {
        free(n->frag[i]);
        n->frag[i] = frag[i];
        n->fraglen[i] = fraglen[i];
    }
    bmc_sensor_list_free(&n->sensors);
    n->sensors = *sensors;
    sensors->items = NULL;
    sensors->count = 0;
    n->sensors_time = t;
    n->has_pr = pr != NULL;
    if (pr)
        n->pr = *pr;
    enum node_health from = n->health;
    char why[256] = "";
    n->health = health_from_sensors(&n->sensors, why, sizeof(why));
    n->last_success = t;
    n->k[0].polls++;
    n->k[0].last_duration_s = duration_s;
    fleet_frag(n);

    invalidate(l);
    struct latest_change c = change_of(from, n);
    pthread_mutex_unlock(&l->lock);
    snprintf(c.reason, sizeof(c.reason), "%s",
             c.to == HEALTH_OK ? "sensors poll succeeded, every sensor nominal" : why);
    return c;
}

void latest_power_state(latest *l, const char *node, enum ul_power_state p)
{
    pthread_mutex_lock(&l->lock);
    struct lnode *n = get(l, node);
    if (p != UL_POWER_UNKNOWN && n->power != p) {
        n->power = p;
        fleet_frag(n);

        invalidate(l);
    }
    pthread_mutex_unlock(&l->lock);
}

struct latest_change latest_poll_ok(latest *l, const char *node, const char *kind, int64_t t,
                                    double duration_s)
{
    char why[256] = "";
    pthread_mutex_lock(&l->lock);
    struct lnode *n = get(l, node);
    enum node_health from = n->health;
    struct kind_stats *k = &n->k[kind_index(kind)];
    k->polls++;
    k->last_duration_s = duration_s;
    n->last_success = t;
    if (n->health == HEALTH_UNREACHABLE || n->health == HEALTH_AUTH_FAILED ||
        n->health == HEALTH_UNKNOWN)
        n->health = health_from_sensors(&n->sensors, why, sizeof(why));
    fleet_frag(n);

    invalidate(l);
    struct latest_change c = change_of(from, n);
    pthread_mutex_unlock(&l->lock);
    snprintf(c.reason, sizeof(c.reason), "%s poll succeeded%s%s", kind, why[0] ? "; " : "", why);
    return c;
}

struct latest_change latest_poll_failed(latest *l, const char *node, const char *kind,
                                        ul_err rc, const char *message, int64_t t,
                                        double duration_s)
{
    pthread_mutex_lock(&l->lock);
    struct lnode *n = get(l, node);
    enum node_health from = n->health;
    struct kind_stats *k = &n->k[kind_index(kind)];
    k->polls++;
    k->errors++;
    k->last_duration_s = duration_s;
    snprintf(n->last_error, sizeof(n->last_error), "%s", message);
    snprintf(n->last_error_kind, sizeof(n->last_error_kind), "%s", kind);
    n->last_error_time = t;
    if (rc == UL_ERR_AUTH)
        n->health = HEALTH_AUTH_FAILED;
    else if (rc == UL_ERR_UNREACHABLE || rc == UL_ERR_TIMEOUT)
        n->health = HEALTH_UNREACHABLE;
    else if (rc != UL_ERR_UNSUPPORTED)
        n->health = HEALTH_DEGRADED;
    fleet_frag(n);

    invalidate(l);
    struct latest_change c = change_of(from, n);
    pthread_mutex_unlock(&l->lock);
    snprintf(c.reason, sizeof(c.reason), "%s poll: %s", kind, message ? message : "failed");
    return c;
}

void latest_forget(latest *l, const char *node)
{
    pthread_mutex_lock(&l->lock);
    struct lnode *n = find(l, node);
    if (n) {
        struct lnode **pp = &l->buckets[hash(node) % l->nbuckets];
        while (*pp != n)
            pp = &(*pp)->hnext;
        *pp = n->hnext;
        for (size_t i = 0; i < l->count; i++)
            if (l->nodes[i] == n) {
                l->nodes[i] = l->nodes[--l->count];
                break;
            }
        lnode_free(n);
        invalidate(l);
    }
    pthread_mutex_unlock(&l->lock);
}

/* ---- JSON views ---- */

static json_object *time_json(int64_t t)
{
    if (t <= 0)
        return NULL;
    char buf[32];
    ul_time_rfc3339(t, buf, sizeof(buf));
    return json_object_new_string(buf);
}

json_object *latest_sensors_json(latest *l, const char *node)
{
    json_object *o = NULL;
    pthread_mutex_lock(&l->lock);
    struct lnode *n = find(l, node);
    if (n && n->sensors_time) {
        o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(n->name));
        json_object_object_add(o, "time", time_json(n->sensors_time));
        json_object_object_add(o, "sensors", bmc_sensors_json(&n->sensors));
        json_object *pr = NULL;
        if (n->has_pr) {
            pr = json_object_new_object();
            json_object_object_add(pr, "watts", json_object_new_double(n->pr.watts));
            json_object_object_add(pr, "avg_watts", json_object_new_double(n->pr.avg_watts));
        }
        json_object_object_add(o, "power_reading", pr);
    }
    pthread_mutex_unlock(&l->lock);
    return o;
}

/* Caller holds l->lock. */
static json_object *health_json(const struct lnode *n)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(n->name));
    json_object_object_add(o, "health", json_object_new_string(latest_health_name(n->health)));
    json_object_object_add(o, "power", json_object_new_string(bmc_power_state_name(n->power)));
    json_object_object_add(o, "last_success", time_json(n->last_success));
    json_object *err = NULL;
    if (n->last_error[0]) {
        err = json_object_new_object();
        json_object_object_add(err, "kind", json_object_new_string(n->last_error_kind));
        json_object_object_add(err, "message", json_object_new_string(n->last_error));
        json_object_object_add(err, "time", time_json(n->last_error_time));
    }
    json_object_object_add(o, "last_error", err);
    json_object *polls = json_object_new_object();
    for (int i = 0; i < KIND_MAX; i++) {
        json_object *k = json_object_new_object();
        json_object_object_add(k, "polls", json_object_new_int64((int64_t)n->k[i].polls));
        json_object_object_add(k, "errors", json_object_new_int64((int64_t)n->k[i].errors));
        json_object_object_add(k, "last_duration_s", json_object_new_double(n->k[i].last_duration_s));
        json_object_object_add(polls, kinds[i], k);
    }
    json_object_object_add(o, "polls", polls);
    return o;
}

json_object *latest_health_json(latest *l, const char *node)
{
    pthread_mutex_lock(&l->lock);
    struct lnode *n = find(l, node);
    json_object *o = n ? health_json(n) : NULL;
    pthread_mutex_unlock(&l->lock);
    return o;
}

/* Inlet temperature: the sensor operators watch first on a fleet view. */
static bool inlet_temp(const struct lnode *n, double *v)
{
    for (size_t i = 0; i < n->sensors.count; i++) {
        const struct ul_sensor *s = &n->sensors.items[i];
        if (s->kind == UL_SENSOR_TEMPERATURE && s->has_value &&
            (strcasestr(s->name, "inlet") || strcasestr(s->name, "ambient"))) {
            *v = s->value;
            return true;
        }
    }
    return false;
}

/* Power draw: DCMI when present, else the largest system-level power sensor. */
static bool power_draw(const struct lnode *n, double *w)
{
    if (n->has_pr) {
        *w = n->pr.watts;
        return true;
    }
    bool found = false;
    for (size_t i = 0; i < n->sensors.count; i++) {
        const struct ul_sensor *s = &n->sensors.items[i];
        if (s->kind == UL_SENSOR_POWER && s->has_value && (!found || s->value > *w)) {
            *w = s->value;
            found = true;
        }
    }
    return found;
}

/* A JSON number, or null for a missing or non-finite value. */
static int json_num(char *buf, size_t len, bool has, double v)
{
    if (!has || !isfinite(v))
        return snprintf(buf, len, "null");
    return snprintf(buf, len, "%.10g", v);
}

/* Caller holds l->lock (n is the node just changed).  Node names are
 * [A-Za-z0-9._-] (core/node.h), so they need no escaping in JSON; anything
 * else is escaped anyway rather than trusted. */
static void fleet_frag(struct lnode *n)
{
    char name[160];
    size_t k = 0;
    for (const char *p = n->name; *p && k + 7 < sizeof(name); p++) {
        unsigned char c = (unsigned char)*p;
        if (c == '"' || c == '\\') {
            name[k++] = '\\';
            name[k++] = (char)c;
        } else if (c < 0x20) {
            k += (size_t)snprintf(name + k, sizeof(name) - k, "\\u%04x", c);
        } else {
            name[k++] = (char)c;
        }
    }
    name[k] = '\0';
    double inlet = 0, w = 0;
    bool has_inlet = inlet_temp(n, &inlet);
    n->has_w = power_draw(n, &w);
    n->watts = w;
    char a[32], b[32];
    json_num(a, sizeof(a), has_inlet, inlet);
    json_num(b, sizeof(b), n->has_w, w);
    int len = snprintf(n->fleet, sizeof(n->fleet),
                       "{\"node\":\"%s\",\"health\":\"%s\",\"power\":\"%s\","
                       "\"inlet_celsius\":%s,\"power_watts\":%s}",
                       name, latest_health_name(n->health), bmc_power_state_name(n->power), a, b);
    n->fleetlen = len < 0 ? 0 : (size_t)len < sizeof(n->fleet) ? (size_t)len : sizeof(n->fleet) - 1;
}

/* Caller holds l->lock.  The summary from the per-node fragments. */
static void fleet_render(latest *l)
{
    int by_health[HEALTH_AUTH_FAILED + 1] = {0};
    int by_power[3] = {0};
    double total_w = 0;
    int with_w = 0;
    size_t cap = 512 + 2, len = 0;
    for (size_t i = 0; i < l->count; i++) {
        const struct lnode *n = l->nodes[i];
        by_health[n->health]++;
        by_power[n->power]++;
        if (n->has_w && isfinite(n->watts)) {
            total_w += n->watts;
            with_w++;
        }
        cap += n->fleetlen + 1;
    }
    char *out = xmalloc(cap);
    len += (size_t)snprintf(out + len, cap - len, "{\"by_health\":{");
    for (int i = 0; i <= HEALTH_AUTH_FAILED; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\":%d", i ? "," : "", health_names[i],
                                by_health[i]);
    len += (size_t)snprintf(out + len, cap - len, "},\"by_power\":{");
    for (int i = 0; i < 3; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s\"%s\":%d", i ? "," : "",
                                bmc_power_state_name((enum ul_power_state)i), by_power[i]);
    char tw[32];
    json_num(tw, sizeof(tw), true, total_w);
    len += (size_t)snprintf(out + len, cap - len,
                            "},\"total_power_watts\":%s,\"nodes_reporting_power\":%d,\"nodes\":[",
                            tw, with_w);
    for (size_t i = 0; i < l->count; i++) {
        if (i)
            out[len++] = ',';
        memcpy(out + len, l->nodes[i]->fleet, l->nodes[i]->fleetlen);
        len += l->nodes[i]->fleetlen;
    }
    out[len++] = ']';
    out[len++] = '}';
    out[len] = '\0';
    l->fleet_text = out;
    l->fleet_len = len;
}

char *latest_fleet_text(latest *l, size_t *len)
{
    pthread_mutex_lock(&l->lock);
    if (!l->fleet_text)
        fleet_render(l);
    char *copy = xmalloc(l->fleet_len + 1);
    memcpy(copy, l->fleet_text, l->fleet_len + 1);
    *len = l->fleet_len;
    pthread_mutex_unlock(&l->lock);
    return copy;
}

json_object *latest_fleet_json(latest *l)
{
    size_t len;
    char *text = latest_fleet_text(l, &len);
    json_object *o = json_tokener_parse(text);
    free(text);
    return o;
}

/* ---- Prometheus text ---- */

struct buf {
    char *p;
    size_t len, cap;
};

static void buf_grow(struct buf *b, size_t need)
{
    if (b->len + need + 1 <= b->cap)
        return;
    while (b->len + need + 1 > b->cap)
        b->cap = b->cap ? b->cap * 2 : 65536;
    b->p = xrealloc(b->p, b->cap);
}

static void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    buf_grow(b, 256);
    va_start(ap, fmt);
    int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= b->cap - b->len) {
        buf_grow(b, (size_t)n);
        va_start(ap, fmt);
        n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
        va_end(ap);
    }
    if (n > 0)
        b->len += (size_t)n;
}

/* Label value escaping per the text format: backslash, quote, newline. */
static void buf_label(struct buf *b, const char *v)
{
    buf_grow(b, strlen(v) * 2);
    for (; *v; v++) {
        if (*v == '\\' || *v == '"') {
            b->p[b->len++] = '\\';
            b->p[b->len++] = *v;
        } else if (*v == '\n') {
            b->p[b->len++] = '\\';
            b->p[b->len++] = 'n';
        } else {
            b->p[b->len++] = *v;
        }
    }
    b->p[b->len] = '\0';
}

static void buf_value(struct buf *b, double v)
{
    if (isnan(v))
        buf_printf(b, " NaN\n");
    else
        buf_printf(b, " %.10g\n", v); /* 10 digits: readings and epoch seconds */
}

/* The IPMI exporter's families, so existing dashboards and alert rules keep
 * working; readings carry our node label. */
static const struct family {
    enum ul_sensor_kind kind;
    const char *value_name, *value_help;
    const char *state_name;
} families[] = {
    {UL_SENSOR_TEMPERATURE, "ipmi_temperature_celsius", "Temperature reading in degree Celsius.",
     "ipmi_temperature_state"},
    {UL_SENSOR_FAN, "ipmi_fan_speed_rpm", "Fan speed in rotations per minute.",
     "ipmi_fan_speed_state"},
    {UL_SENSOR_VOLTAGE, "ipmi_voltage_volts", "Voltage reading in Volts.", "ipmi_voltage_state"},
    {UL_SENSOR_CURRENT, "ipmi_current_amperes", "Current reading in Amperes.",
     "ipmi_current_state"},
    {UL_SENSOR_POWER, "ipmi_power_watts", "Power reading in Watts.", "ipmi_power_state"},
};

/* The exporter's state encoding: 0 nominal, 1 warning, 2 critical. */
static bool state_value(enum ul_sensor_status s, double *v)
{
    switch (s) {
    case UL_SENSOR_OK:
        *v = 0;
        return true;
    case UL_SENSOR_WARNING:
        *v = 1;
        return true;
    case UL_SENSOR_CRITICAL:
        *v = 2;
        return true;
    default:
        return false;
    }
}

static void sensor_labels(struct buf *b, const char *node, const struct ul_sensor *s, bool type)
{
    buf_printf(b, "{node=\"");
    buf_label(b, node);
    buf_printf(b, "\",id=\"%d\",name=\"", s->number);
    buf_label(b, s->name);
    if (type) {
        buf_printf(b, "\",type=\"");
        buf_label(b, s->type);
    }
    buf_printf(b, "\"}");
}

/* One node's lines of the 12 sensor families, in render()'s order: value
 * then state for each of the 5 kinds, then the generic value and state. */
static void render_frags(const char *node, const struct ul_sensor_list *s, char *frag[NFRAG],
                         size_t len[NFRAG])
{
    int f = 0;
    for (size_t fam = 0; fam < sizeof(families) / sizeof(families[0]); fam++) {
        for (int pass = 0; pass < 2; pass++, f++) {
            const char *name = pass ? families[fam].state_name : families[fam].value_name;
            struct buf b = {0};
            for (size_t k = 0; k < s->count; k++) {
                const struct ul_sensor *x = &s->items[k];
                double v;
                if (x->kind != families[fam].kind)
                    continue;
                if (pass ? !state_value(x->status, &v) : !x->has_value)
                    continue;
                buf_printf(&b, "%s", name);
                sensor_labels(&b, node, x, false);
                buf_value(&b, pass ? v : x->value);
            }
            frag[f] = b.p;
            len[f] = b.len;
        }
    }
    struct buf b = {0};
    for (size_t k = 0; k < s->count; k++) {
        const struct ul_sensor *x = &s->items[k];
        if (x->kind != UL_SENSOR_OTHER || !x->has_value)
            continue;
        buf_printf(&b, "ipmi_sensor_value");
        sensor_labels(&b, node, x, true);
        buf_value(&b, x->value);
    }
    frag[f] = b.p;
    len[f++] = b.len;
    struct buf c = {0};
    for (size_t k = 0; k < s->count; k++) {
        const struct ul_sensor *x = &s->items[k];
        double v;
        if ((x->kind != UL_SENSOR_OTHER && x->kind != UL_SENSOR_DISCRETE) ||
            !state_value(x->status, &v))
            continue;
        buf_printf(&c, "ipmi_sensor_state");
        sensor_labels(&c, node, x, true);
        buf_value(&c, v);
    }
    frag[f] = c.p;
    len[f] = c.len;
}

static void buf_append(struct buf *b, const char *p, size_t n)
{
    if (!n)
        return;
    buf_grow(b, n);
    memcpy(b->p + b->len, p, n);
    b->len += n;
    b->p[b->len] = '\0';
}

/* Caller holds l->lock. */
static void render(struct lnode *const *nodes, size_t count, struct buf *b)
{
    int f = 0;
    for (size_t fam = 0; fam < sizeof(families) / sizeof(families[0]); fam++) {
        for (int pass = 0; pass < 2; pass++, f++) {
            const char *name = pass ? families[fam].state_name : families[fam].value_name;
            buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", name,
                       pass ? "Reported state of a sensor (0=nominal, 1=warning, 2=critical)."
                            : families[fam].value_help,
                       name);
            for (size_t i = 0; i < count; i++)
                buf_append(b, nodes[i]->frag[f], nodes[i]->fraglen[f]);
        }
    }
    /* Everything else: the exporter's generic families. */
    buf_printf(b, "# HELP ipmi_sensor_value Generic data read from an IPMI sensor of unknown "
                  "type, relying on correct units in the BMC.\n# TYPE ipmi_sensor_value gauge\n");
    for (size_t i = 0; i < count; i++)
        buf_append(b, nodes[i]->frag[f], nodes[i]->fraglen[f]);
    f++;
    buf_printf(b, "# HELP ipmi_sensor_state Indicated state of an IPMI sensor with unknown type "
                  "(0=nominal, 1=warning, 2=critical).\n# TYPE ipmi_sensor_state gauge\n");
    for (size_t i = 0; i < count; i++)
        buf_append(b, nodes[i]->frag[f], nodes[i]->fraglen[f]);
    buf_printf(b, "# HELP ipmi_dcmi_power_consumption_watts Current power consumption in "
                  "Watts.\n# TYPE ipmi_dcmi_power_consumption_watts gauge\n");
    for (size_t i = 0; i < count; i++)
        if (nodes[i]->has_pr) {
            buf_printf(b, "ipmi_dcmi_power_consumption_watts{node=\"");
            buf_label(b, nodes[i]->name);
            buf_printf(b, "\"}");
            buf_value(b, nodes[i]->pr.watts);
        }
    buf_printf(b, "# HELP ipmi_chassis_power_state Current power state (1=on, 0=off).\n"
                  "# TYPE ipmi_chassis_power_state gauge\n");
    for (size_t i = 0; i < count; i++)
        if (nodes[i]->power != UL_POWER_UNKNOWN) {
            buf_printf(b, "ipmi_chassis_power_state{node=\"");
            buf_label(b, nodes[i]->name);
            buf_printf(b, "\"}");
            buf_value(b, nodes[i]->power == UL_POWER_ON ? 1 : 0);
        }
    buf_printf(b, "# HELP ipmi_up '1' if the last sensor poll of the BMC succeeded, '0' "
                  "otherwise.\n# TYPE ipmi_up gauge\n");
    for (size_t i = 0; i < count; i++) {
        const struct lnode *n = nodes[i];
        buf_printf(b, "ipmi_up{node=\"");
        buf_label(b, n->name);
        buf_printf(b, "\",collector=\"");
        buf_label(b, n->collector[0] ? n->collector : "unknown");
        buf_printf(b, "\"}");
        buf_value(b, n->health == HEALTH_OK || n->health == HEALTH_DEGRADED ? 1 : 0);
    }
    buf_printf(b, "# HELP ipmi_scrape_duration_seconds Duration of the node's last sensor "
                  "poll (not of this scrape: /metrics never polls).\n"
                  "# TYPE ipmi_scrape_duration_seconds gauge\n");
    for (size_t i = 0; i < count; i++) {
        const struct lnode *n = nodes[i];
        if (!n->k[0].polls)
            continue;
        buf_printf(b, "ipmi_scrape_duration_seconds{node=\"");
        buf_label(b, n->name);
        buf_printf(b, "\",collector=\"");
        buf_label(b, n->collector[0] ? n->collector : "unknown");
        buf_printf(b, "\"}");
        buf_value(b, n->k[0].last_duration_s);
    }
    buf_printf(b, "# HELP ipmi_bmc_info Constant metric with value '1' providing details about "
                  "the BMC (from the stored inventory).\n# TYPE ipmi_bmc_info gauge\n");
    for (size_t i = 0; i < count; i++)
        buf_append(b, nodes[i]->bmcinfo, nodes[i]->bmcinfolen);
    buf_printf(b, "# HELP ipmi_sel_log_entries Log entries of the node's BMC held by underlay (the "
                  "exporter's ipmi_sel_logs_count, renamed: promtool rejects a _count gauge).\n"
                  "# TYPE ipmi_sel_log_entries gauge\n");
    for (size_t i = 0; i < count; i++)
        if (nodes[i]->has_sel) {
            buf_printf(b, "ipmi_sel_log_entries{node=\"");
            buf_label(b, nodes[i]->name);
            buf_printf(b, "\"}");
            buf_value(b, (double)nodes[i]->sel_count);
        }
    buf_printf(b, "# HELP underlay_node_info Constant '1' carrying a node's driver and labels, "
                  "to join on.\n# TYPE underlay_node_info gauge\n");
    for (size_t i = 0; i < count; i++)
        buf_append(b, nodes[i]->info, nodes[i]->infolen);
    buf_printf(b, "# HELP underlay_node_health Health of a node's BMC (1 for its current "
                  "state).\n# TYPE underlay_node_health gauge\n");
    for (size_t i = 0; i < count; i++)
        for (int h = 0; h <= HEALTH_AUTH_FAILED; h++) {
            buf_printf(b, "underlay_node_health{node=\"");
            buf_label(b, nodes[i]->name);
            buf_printf(b, "\",state=\"%s\"}", health_names[h]);
            buf_value(b, nodes[i]->health == (enum node_health)h ? 1 : 0);
        }
    buf_printf(b, "# HELP underlay_power_on Whether the host is powered on (1), off (0).\n"
                  "# TYPE underlay_power_on gauge\n");
    for (size_t i = 0; i < count; i++)
        if (nodes[i]->power != UL_POWER_UNKNOWN) {
            buf_printf(b, "underlay_power_on{node=\"");
            buf_label(b, nodes[i]->name);
            buf_printf(b, "\"}");
            buf_value(b, nodes[i]->power == UL_POWER_ON ? 1 : 0);
        }
    static const char *const per_kind[3][3] = {
        {"underlay_poll_duration_seconds", "gauge", "Duration of the last poll."},
        {"underlay_polls_total", "counter", "Polls of a node's BMC."},
        {"underlay_poll_errors_total", "counter", "Failed polls of a node's BMC."},
    };
    for (int m = 0; m < 3; m++) {
        buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", per_kind[m][0], per_kind[m][2],
                   per_kind[m][0], per_kind[m][1]);
        for (size_t i = 0; i < count; i++)
            for (int k = 0; k < KIND_MAX; k++) {
                const struct kind_stats *ks = &nodes[i]->k[k];
                if (!ks->polls)
                    continue;
                buf_printf(b, "%s{node=\"", per_kind[m][0]);
                buf_label(b, nodes[i]->name);
                buf_printf(b, "\",kind=\"%s\"}", kinds[k]);
                buf_value(b, m == 0 ? ks->last_duration_s
                                    : (double)(m == 1 ? ks->polls : ks->errors));
            }
    }
    buf_printf(b, "# HELP underlay_last_success_timestamp_seconds Time of the last successful "
                  "poll of a node.\n# TYPE underlay_last_success_timestamp_seconds gauge\n");
    for (size_t i = 0; i < count; i++)
        if (nodes[i]->last_success) {
            buf_printf(b, "underlay_last_success_timestamp_seconds{node=\"");
            buf_label(b, nodes[i]->name);
            buf_printf(b, "\"}");
            buf_value(b, (double)nodes[i]->last_success);
        }
}

char *latest_metrics_text(latest *l, size_t *len)
{
    pthread_mutex_lock(&l->lock);
    if (!l->text) {
        struct buf b = {0};
        render(l->nodes, l->count, &b);
        l->text = b.p ? b.p : xstrdup("");
        l->text_len = b.len;
    }
    char *copy = xmalloc(l->text_len + 1);
    memcpy(copy, l->text, l->text_len + 1);
    *len = l->text_len;
    pthread_mutex_unlock(&l->lock);
    return copy;
}

bool latest_label_name(const char *key, char *out, size_t outlen)
{
    static const char *const reserved[] = {"node", "driver", "collector"};
    size_t k = 0;
    bool prefix = strncmp(key, "__", 2) == 0 || !key[0];
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (strcmp(key, reserved[i]) == 0)
            prefix = true;
    if (prefix) {
        if (outlen < 7)
            return false;
        memcpy(out, "label_", 6);
        k = 6;
    } else if (key[0] >= '0' && key[0] <= '9') {
        if (outlen < 2)
            return false;
        out[k++] = '_';
    }
    for (const char *p = key; *p; p++) {
        if (k + 1 >= outlen)
            return false;
        char c = *p;
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_';
        out[k++] = ok ? c : '_';
    }
    if (k >= outlen)
        return false;
    out[k] = '\0';
    return true;
}

/* The node's underlay_node_info and ipmi_bmc_info lines (outside the lock). */
static void render_meta(const char *node, const struct latest_meta *m, struct buf *info,
                        struct buf *bmc)
{
    buf_printf(info, "underlay_node_info{node=\"");
    buf_label(info, node);
    buf_printf(info, "\",driver=\"");
    buf_label(info, m->driver ? m->driver : "");
    buf_printf(info, "\"");
    if (m->labels && json_object_is_type(m->labels, json_type_object)) {
        /* Sorted would be nicer; keys are unique, and two keys that sanitize
         * to the same name keep the first (a duplicate label is invalid). */
        char seen[NODE_MAX_LABELS_SEEN][NODE_LABEL_NAME_LEN];
        int nseen = 0;
        json_object_object_foreach(m->labels, key, val)
        {
            char name[NODE_LABEL_NAME_LEN];
            if (!latest_label_name(key, name, sizeof(name)) || nseen == NODE_MAX_LABELS_SEEN)
                continue;
            bool dup = false;
            for (int i = 0; i < nseen && !dup; i++)
                dup = strcmp(seen[i], name) == 0;
            if (dup)
                continue;
            memcpy(seen[nseen++], name, sizeof(name));
            buf_printf(info, ",%s=\"", name);
            buf_label(info, json_object_get_string(val) ? json_object_get_string(val) : "");
            buf_printf(info, "\"");
        }
    }
    buf_printf(info, "} 1\n");
    if (m->firmware || m->manufacturer) {
        buf_printf(bmc, "ipmi_bmc_info{node=\"");
        buf_label(bmc, node);
        buf_printf(bmc, "\",firmware_revision=\"");
        buf_label(bmc, m->firmware ? m->firmware : "");
        buf_printf(bmc, "\",manufacturer=\"");
        buf_label(bmc, m->manufacturer ? m->manufacturer : "");
        buf_printf(bmc, "\"} 1\n");
    }
}

static bool same(const char *a, size_t alen, const struct buf *b)
{
    return alen == b->len && (!alen || memcmp(a, b->p, alen) == 0);
}

void latest_node_meta(latest *l, const char *node, const struct latest_meta *m)
{
    struct buf info = {0}, bmc = {0};
    render_meta(node, m, &info, &bmc);
    char collector[16];
    snprintf(collector, sizeof(collector), "%s", m->driver ? m->driver : "");
    pthread_mutex_lock(&l->lock);
    struct lnode *n = find(l, node);
    if (n && (!same(n->info, n->infolen, &info) || !same(n->bmcinfo, n->bmcinfolen, &bmc) ||
              strcmp(n->collector, collector) != 0 || n->has_sel != m->has_sel_count ||
              n->sel_count != m->sel_count)) {
        free(n->info);
        free(n->bmcinfo);
        n->info = info.p;
        n->infolen = info.len;
        n->bmcinfo = bmc.p;
        n->bmcinfolen = bmc.len;
        info.p = bmc.p = NULL;
        memcpy(n->collector, collector, sizeof(collector));
        n->has_sel = m->has_sel_count;
        n->sel_count = m->sel_count;
        invalidate(l);
    }
    if (n) {
        /* Labels do not show in the text unless info changed, but filter on them. */
        json_object_put(n->labels);
        n->labels = m->labels ? json_object_get(m->labels) : NULL;
    }
    pthread_mutex_unlock(&l->lock);
    free(info.p);
    free(bmc.p);
}

bool latest_meta_due(latest *l, uint64_t changes, int64_t now_s, int64_t max_age_s)
{
    pthread_mutex_lock(&l->lock);
    bool due = !l->meta_time || changes != l->meta_changes || l->count != l->meta_count ||
               now_s - l->meta_time >= max_age_s;
    if (due) {
        l->meta_changes = changes;
        l->meta_count = l->count;
        l->meta_time = now_s > 0 ? now_s : 1;
    }
    pthread_mutex_unlock(&l->lock);
    return due;
}

static bool label_matches(const struct lnode *n, const char *key, const char *value)
{
    json_object *v;
    return n->labels && json_object_object_get_ex(n->labels, key, &v) &&
           json_object_get_string(v) && strcmp(json_object_get_string(v), value) == 0;
}

char *latest_metrics_text_filtered(latest *l, const char *key, const char *value, size_t *len)
{
    if (!key)
        return latest_metrics_text(l, len);
    pthread_mutex_lock(&l->lock);
    struct lnode **sel = xmalloc((l->count ? l->count : 1) * sizeof(*sel));
    size_t count = 0;
    for (size_t i = 0; i < l->count; i++)
        if (label_matches(l->nodes[i], key, value))
            sel[count++] = l->nodes[i];
    struct buf b = {0};
    render(sel, count, &b);
    pthread_mutex_unlock(&l->lock);
    free(sel);
    *len = b.len;
    return b.p ? b.p : xstrdup("");
}

void latest_fill_synthetic(latest *l, int nodes, int sensors)
{
    static const enum ul_sensor_kind k[] = {UL_SENSOR_TEMPERATURE, UL_SENSOR_FAN,
                                            UL_SENSOR_VOLTAGE, UL_SENSOR_POWER,
                                            UL_SENSOR_DISCRETE};
    for (int n = 0; n < nodes; n++) {
        char name[32];
        snprintf(name, sizeof(name), "node%05d", n);
        struct ul_sensor_list list = {0};
        for (int s = 0; s < sensors; s++) {
            struct ul_sensor *x = bmc_sensor_list_add(&list);
            snprintf(x->name, sizeof(x->name), "Sensor %d", s);
            x->number = s;
            x->kind = k[s % 5];
            x->has_value = x->kind != UL_SENSOR_DISCRETE;
            x->value = 20.0 + s;
            x->status = UL_SENSOR_OK;
        }
        latest_sensors_ok(l, name, &list, NULL, ul_wall_s(), 0.003);
        latest_power_state(l, name, UL_POWER_ON);
    }
}
