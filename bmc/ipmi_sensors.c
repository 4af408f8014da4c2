/* ipmi_sensors.c - IPMI sensor sweeps over a cached SDR.
 *
 * Reading the SDR costs many round trips, so it is read once per node into
 * a FreeIPMI SDR cache file under the node's cache directory, and re-read
 * only when the BMC's SDR repository timestamps move (checked at most once
 * a minute, one command).  The records are parsed once into descriptors
 * (name, kind, unit, thresholds); a sweep then costs one Get Sensor Reading
 * per sensor, all on the node's open session.
 */
#include "config.h"

#include <errno.h>
#include <pthread.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <freeipmi/freeipmi.h>

#include "bmc/ipmi.h"
#include "hash.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

#define SDR_RECHECK_MS 60000

struct sensor_desc {
    uint8_t record[IPMI_SDR_MAX_RECORD_LENGTH];
    unsigned record_len;
    uint8_t shared_offset;
    uint8_t number;
    uint8_t sensor_type;
    uint8_t reading_type;
    bool threshold_based;
    char name[64];
    char type[48];
    enum ul_sensor_kind kind;
    char unit[16];
    unsigned thresholds_present;
    double thresholds[UL_THR__COUNT];
};

/* Per node, kept across sessions: re-opening a session after the BMC's idle
 * timeout (the default schedule: a 60 s poll, sessions closed after 45 s)
 * must not re-read the cache file and re-parse every record (bench/ipmi:
 * 3.8-4.2 ms per sweep with, against ~2.5 without).  Keyed by the node's
 * cache directory; entries live until exit. */
struct ipmi_sdr_state {
    char *key;
    struct ipmi_sdr_state *next;
    ipmi_sdr_ctx_t sdr;
    struct sensor_desc *descs;
    size_t ndescs;
    uint32_t addition_ts, erase_ts;
    int64_t checked_ms; /* last time the SDR timestamps were compared */
};

#define SDR_BUCKETS 4096
static pthread_mutex_t sdr_lock = PTHREAD_MUTEX_INITIALIZER; /* leaf: the table only */
static struct ipmi_sdr_state *sdr_table[SDR_BUCKETS];

/* The node's state, created empty on first use.  One session at a time uses
 * a node's state (the per-node lock), so only the table needs the mutex. */
static struct ipmi_sdr_state *sdr_state_get(const char *key)
{
    size_t h = (size_t)(ul_hash_str(key) % SDR_BUCKETS);
    pthread_mutex_lock(&sdr_lock);
    struct ipmi_sdr_state *st = sdr_table[h];
    while (st && strcmp(st->key, key) != 0)
        st = st->next;
    if (!st) {
        st = xcalloc(1, sizeof(*st));
        st->key = xstrdup(key);
        st->next = sdr_table[h];
        sdr_table[h] = st;
    }
    pthread_mutex_unlock(&sdr_lock);
    return st;
}

void ipmi_sdr_state_free(struct ipmi_session *s)
{
    if (s->reader)
        ipmi_sensor_read_ctx_destroy(s->reader);
    s->reader = NULL;
    s->sdr = NULL;
}

static void kind_and_unit(uint8_t sensor_type, uint8_t base_unit, bool threshold,
                          struct sensor_desc *d)
{
    d->kind = UL_SENSOR_OTHER;
    d->unit[0] = '\0';
    if (!threshold) {
        d->kind = UL_SENSOR_DISCRETE;
        return;
    }
    /* The unit decides, not the sensor type: many BMCs file PSU input power
     * under "Power Supply" or "Other Units-based Sensor". */
    switch (base_unit) {
    case IPMI_SENSOR_UNIT_DEGREES_C:
        d->kind = UL_SENSOR_TEMPERATURE;
        snprintf(d->unit, sizeof(d->unit), "celsius");
        return;
    case IPMI_SENSOR_UNIT_RPM:
        d->kind = UL_SENSOR_FAN;
        snprintf(d->unit, sizeof(d->unit), "rpm");
        return;
    case IPMI_SENSOR_UNIT_VOLTS:
        d->kind = UL_SENSOR_VOLTAGE;
        snprintf(d->unit, sizeof(d->unit), "volts");
        return;
    case IPMI_SENSOR_UNIT_AMPS:
        d->kind = UL_SENSOR_CURRENT;
        snprintf(d->unit, sizeof(d->unit), "amperes");
        return;
    case IPMI_SENSOR_UNIT_WATTS:
        d->kind = UL_SENSOR_POWER;
        snprintf(d->unit, sizeof(d->unit), "watts");
        return;
    default:
        break;
    }
    if (sensor_type == IPMI_SENSOR_TYPE_FAN)
        d->kind = UL_SENSOR_FAN;
    if (ipmi_sensor_units_string(0, 0, 0, base_unit, 0, d->unit, sizeof(d->unit), 0) < 0)
        d->unit[0] = '\0';
}

/* Parse one SDR record into a descriptor; false to skip the record. */
static bool describe(ipmi_sdr_ctx_t sdr, const uint8_t *rec, unsigned len, uint8_t offset,
                     struct sensor_desc *d)
{
    uint16_t record_id;
    uint8_t record_type;
    if (ipmi_sdr_parse_record_id_and_type(sdr, rec, len, &record_id, &record_type) < 0)
        return false;
    if (record_type != IPMI_SDR_FORMAT_FULL_SENSOR_RECORD &&
        record_type != IPMI_SDR_FORMAT_COMPACT_SENSOR_RECORD)
        return false; /* event-only and locator records carry no reading */
    memset(d, 0, sizeof(*d));
    memcpy(d->record, rec, len);
    d->record_len = len;
    d->shared_offset = offset;
    uint8_t number;
    if (ipmi_sdr_parse_sensor_number(sdr, rec, len, &number) < 0 ||
        ipmi_sdr_parse_sensor_type(sdr, rec, len, &d->sensor_type) < 0 ||
        ipmi_sdr_parse_event_reading_type_code(sdr, rec, len, &d->reading_type) < 0)
        return false;
    d->number = (uint8_t)(number + offset);
    if (ipmi_sdr_parse_sensor_name(sdr, rec, len, d->number, IPMI_SDR_SENSOR_NAME_FLAGS_DEFAULT,
                                   d->name, sizeof(d->name)) < 0)
        snprintf(d->name, sizeof(d->name), "sensor %u", d->number);
    const char *type = ipmi_get_sensor_type_string(d->sensor_type);
    snprintf(d->type, sizeof(d->type), "%s", type ? type : "OEM");
    d->threshold_based = IPMI_EVENT_READING_TYPE_CODE_IS_THRESHOLD(d->reading_type);
    uint8_t pct, mod, rate, base = 0, modunit;
    if (ipmi_sdr_parse_sensor_units(sdr, rec, len, &pct, &mod, &rate, &base, &modunit) < 0)
        base = 0;
    kind_and_unit(d->sensor_type, base, d->threshold_based, d);
    if (d->threshold_based && record_type == IPMI_SDR_FORMAT_FULL_SENSOR_RECORD) {
        double *t[UL_THR__COUNT] = {0};
        uint8_t readable[UL_THR__COUNT] = {0};
        /* FreeIPMI converts all six threshold bytes; only those the record
         * marks readable mean anything (the others are often 0). */
        if (ipmi_sdr_parse_threshold_readable(
                sdr, rec, len, &readable[UL_THR_LOWER_NON_CRITICAL],
                &readable[UL_THR_LOWER_CRITICAL], &readable[UL_THR_LOWER_NON_RECOVERABLE],
                &readable[UL_THR_UPPER_NON_CRITICAL], &readable[UL_THR_UPPER_CRITICAL],
                &readable[UL_THR_UPPER_NON_RECOVERABLE]) == 0 &&
            ipmi_sdr_parse_thresholds(sdr, rec, len, &t[UL_THR_LOWER_NON_CRITICAL],
                                      &t[UL_THR_LOWER_CRITICAL],
                                      &t[UL_THR_LOWER_NON_RECOVERABLE],
                                      &t[UL_THR_UPPER_NON_CRITICAL], &t[UL_THR_UPPER_CRITICAL],
                                      &t[UL_THR_UPPER_NON_RECOVERABLE]) == 0) {
            for (int i = 0; i < UL_THR__COUNT; i++) {
                if (t[i] && readable[i]) {
                    d->thresholds[i] = *t[i];
                    d->thresholds_present |= 1u << i;
                }
                free(t[i]);
            }
        }
    }
    return true;
}

static void desc_add(struct ipmi_sdr_state *st, size_t *cap, const struct sensor_desc *d)
{
    if (st->ndescs == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        st->descs = xrealloc(st->descs, *cap * sizeof(*st->descs));
    }
    st->descs[st->ndescs++] = *d;
}

static ul_err build_descs(struct ipmi_session *s, ul_errmsg *em)
{
    struct ipmi_sdr_state *st = s->sdr;
    size_t cap = 0;
    free(st->descs);
    st->descs = NULL;
    st->ndescs = 0;
    if (ipmi_sdr_cache_first(st->sdr) < 0)
        return UL_OK; /* empty repository */
    struct sensor_desc *d = xmalloc(sizeof(*d));
    do {
        uint8_t rec[IPMI_SDR_MAX_RECORD_LENGTH];
        int len = ipmi_sdr_cache_record_read(st->sdr, rec, sizeof(rec));
        if (len <= 0)
            continue;
        uint8_t share_count = 1, mod_type, mod_off, entity_sharing;
        uint16_t rid;
        uint8_t rtype;
        if (ipmi_sdr_parse_record_id_and_type(st->sdr, rec, (unsigned)len, &rid, &rtype) == 0 &&
            rtype == IPMI_SDR_FORMAT_COMPACT_SENSOR_RECORD &&
            ipmi_sdr_parse_sensor_record_sharing(st->sdr, rec, (unsigned)len, &share_count,
                                                 &mod_type, &mod_off, &entity_sharing) < 0)
            share_count = 1;
        if (share_count == 0)
            share_count = 1;
        /* A compact record may stand for several sensors in a row. */
        for (uint8_t off = 0; off < share_count; off++)
            if (describe(st->sdr, rec, (unsigned)len, off, d))
                desc_add(st, &cap, d);
    } while (ipmi_sdr_cache_next(st->sdr) == 1);
    free(d);
    ul_debug("node %s: %zu sensors described from the SDR", s->node, st->ndescs);
    (void)em;
    return UL_OK;
}

static int mkdir_p(const char *dir)
{
    char tmp[512];
    snprintf(tmp, sizeof(tmp), "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    return (mkdir(tmp, 0700) != 0 && errno != EEXIST) ? -1 : 0;
}

struct cache_arg {
    struct ipmi_session *s;
    const char *path;
    ul_errmsg *em;
    ul_err rc;
};

/* Open the SDR cache, (re)creating it when it is missing, corrupt or out of
 * date.  Runs inside ipmi_session_call, so a lost session is retried. */
static int cache_load(ipmi_ctx_t ctx, void *arg)
{
    struct cache_arg *a = arg;
    struct ipmi_sdr_state *st = a->s->sdr;
    ipmi_sdr_cache_close(st->sdr);
    if (ipmi_sdr_cache_open(st->sdr, ctx, a->path) == 0)
        return 0;
    int e = ipmi_sdr_ctx_errnum(st->sdr);
    if (e == IPMI_SDR_ERR_IPMI_ERROR)
        return -1; /* the BMC did not answer: let the caller see ctx's error */
    if (e != IPMI_SDR_ERR_CACHE_READ_CACHE_DOES_NOT_EXIST && e != IPMI_SDR_ERR_CACHE_INVALID &&
        e != IPMI_SDR_ERR_CACHE_OUT_OF_DATE) {
        a->rc = ul_errmsg_set(a->em, UL_ERR_IO, "node %s: SDR cache '%s': %s", a->s->node,
                              a->path, ipmi_sdr_ctx_errormsg(st->sdr));
        return 0;
    }
    if (e == IPMI_SDR_ERR_CACHE_OUT_OF_DATE)
        ul_info("node %s: the BMC's SDR changed; reading it again", a->s->node);
    ipmi_sdr_cache_delete(st->sdr, a->path);
    if (ipmi_sdr_cache_create(st->sdr, ctx, a->path, IPMI_SDR_CACHE_CREATE_FLAGS_OVERWRITE, NULL,
                              NULL) < 0) {
        if (ipmi_sdr_ctx_errnum(st->sdr) == IPMI_SDR_ERR_IPMI_ERROR)
            return -1;
        a->rc = ul_errmsg_set(a->em, UL_ERR_PROTOCOL, "node %s: reading the SDR: %s",
                              a->s->node, ipmi_sdr_ctx_errormsg(st->sdr));
        return 0;
    }
    if (ipmi_sdr_cache_open(st->sdr, ctx, a->path) < 0) {
        if (ipmi_sdr_ctx_errnum(st->sdr) == IPMI_SDR_ERR_IPMI_ERROR)
            return -1;
        a->rc = ul_errmsg_set(a->em, UL_ERR_IO, "node %s: SDR cache '%s': %s", a->s->node,
                              a->path, ipmi_sdr_ctx_errormsg(st->sdr));
    }
    return 0;
}

static ul_err sdr_ensure(struct ipmi_session *s, ul_errmsg *em)
{
    int64_t now = ul_mono_ms();
    if (!s->cache_dir)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: no cache directory for the SDR",
                             s->node);
    if (!s->reader && !(s->reader = ipmi_sensor_read_ctx_create(s->ctx)))
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: cannot set up FreeIPMI's sensor "
                             "reader", s->node);
    if (!s->sdr)
        s->sdr = sdr_state_get(s->cache_dir);
    if (!s->sdr->sdr && !(s->sdr->sdr = ipmi_sdr_ctx_create()))
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: cannot set up FreeIPMI's SDR "
                             "context", s->node);
    if (s->sdr->descs && now - s->sdr->checked_ms < SDR_RECHECK_MS)
        return UL_OK;
    char *dir = xstrdup(s->cache_dir);
    if (mkdir_p(dir) != 0) {
        ul_err rc = ul_errmsg_set(em, UL_ERR_IO, "node %s: cache directory '%s': %s", s->node,
                                  dir, strerror(errno));
        free(dir);
        return rc;
    }
    char *path = xasprintf("%s/sdr.cache", dir);
    free(dir);
    struct cache_arg a = {.s = s, .path = path, .em = em, .rc = UL_OK};
    ul_err rc = ipmi_session_call(s, "SDR cache", cache_load, &a, em);
    free(path);
    if (rc == UL_OK)
        rc = a.rc;
    if (rc != UL_OK)
        return rc;
    uint32_t add = 0, erase = 0;
    ipmi_sdr_cache_most_recent_addition_timestamp(s->sdr->sdr, &add);
    ipmi_sdr_cache_most_recent_erase_timestamp(s->sdr->sdr, &erase);
    if (!s->sdr->descs || add != s->sdr->addition_ts || erase != s->sdr->erase_ts) {
        rc = build_descs(s, em);
        s->sdr->addition_ts = add;
        s->sdr->erase_ts = erase;
    }
    s->sdr->checked_ms = now;
    return rc;
}

static enum ul_sensor_status status_from(unsigned state)
{
    switch (state) {
    case IPMI_INTERPRET_STATE_NOMINAL:
        return UL_SENSOR_OK;
    case IPMI_INTERPRET_STATE_WARNING:
        return UL_SENSOR_WARNING;
    case IPMI_INTERPRET_STATE_CRITICAL:
        return UL_SENSOR_CRITICAL;
    default:
        return UL_SENSOR_UNKNOWN;
    }
}

static void state_text(const struct sensor_desc *d, uint16_t bitmask, char *buf, size_t len)
{
    char **msgs = NULL;
    unsigned count = 0;
    buf[0] = '\0';
    if (ipmi_get_event_messages(d->reading_type, d->sensor_type, d->number, bitmask, 0, 0, &msgs,
                                &count, "OK", IPMI_GET_EVENT_MESSAGES_FLAGS_DEFAULT) < 0)
        return;
    size_t used = 0;
    for (unsigned i = 0; i < count; i++) {
        if (used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "; " : "", msgs[i]);
        free(msgs[i]);
    }
    free(msgs);
}

/* For threshold sensors the reading carries threshold comparison bits (IPMI
 * Get Sensor Reading byte 3), not event offsets: read them directly.  Our
 * status follows the threshold crossed: non-critical is a warning (FreeIPMI's
 * default interpretation calls it nominal, which would hide it), critical and
 * non-recoverable are critical. */
static const struct {
    uint16_t bit;
    const char *text;
    enum ul_sensor_status status;
} threshold_bits[] = {
    {0x20, "at or above upper non-recoverable", UL_SENSOR_CRITICAL},
    {0x04, "at or below lower non-recoverable", UL_SENSOR_CRITICAL},
    {0x10, "at or above upper critical", UL_SENSOR_CRITICAL},
    {0x02, "at or below lower critical", UL_SENSOR_CRITICAL},
    {0x08, "at or above upper non-critical", UL_SENSOR_WARNING},
    {0x01, "at or below lower non-critical", UL_SENSOR_WARNING},
};

static void threshold_state(uint16_t bitmask, enum ul_sensor_status *status, char *buf,
                            size_t len)
{
    *status = UL_SENSOR_OK;
    for (size_t i = 0; i < sizeof(threshold_bits) / sizeof(threshold_bits[0]); i++) {
        if (!(bitmask & threshold_bits[i].bit))
            continue;
        /* The most severe crossing names the state. */
        *status = threshold_bits[i].status;
        snprintf(buf, len, "%s", threshold_bits[i].text);
        return;
    }
    snprintf(buf, len, "OK");
}

struct sweep_arg {
    struct ipmi_session *s;
    struct ul_sensor_list *out;
};

/* Errors of ipmi_sensor_read that concern one sensor, not the session. */
static bool per_sensor_error(int e)
{
    return e == IPMI_SENSOR_READ_ERR_SENSOR_READING_UNAVAILABLE ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_SCANNING_DISABLED ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_READING_CANNOT_BE_OBTAINED ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_NOT_OWNED_BY_BMC ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_IS_SYSTEM_SOFTWARE ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_CANNOT_BE_BRIDGED ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_NON_ANALOG ||
           e == IPMI_SENSOR_READ_ERR_SENSOR_NON_LINEAR || e == IPMI_SENSOR_READ_ERR_NODE_BUSY;
}

static int sweep(ipmi_ctx_t ctx, void *arg)
{
    struct sweep_arg *a = arg;
    struct ipmi_sdr_state *st = a->s->sdr;
    bmc_sensor_list_free(a->out);
    for (size_t i = 0; i < st->ndescs; i++) {
        const struct sensor_desc *d = &st->descs[i];
        struct ul_sensor *u = bmc_sensor_list_add(a->out);
        snprintf(u->name, sizeof(u->name), "%s", d->name);
        snprintf(u->type, sizeof(u->type), "%s", d->type);
        snprintf(u->unit, sizeof(u->unit), "%s", d->unit);
        u->number = d->number;
        u->kind = d->kind;
        u->thresholds_present = d->thresholds_present;
        memcpy(u->thresholds, d->thresholds, sizeof(u->thresholds));

        uint8_t raw = 0;
        double *reading = NULL;
        uint16_t bitmask = 0;
        int r = ipmi_sensor_read(a->s->reader, d->record, d->record_len, d->shared_offset, &raw,
                                 &reading, &bitmask);
        if (r < 0) {
            int e = ipmi_sensor_read_ctx_errnum(a->s->reader);
            if (e == IPMI_SENSOR_READ_ERR_IPMI_ERROR) {
                int ie = ipmi_ctx_errnum(ctx);
                if (ipmi_map_error(ie, false) == UL_ERR_TIMEOUT ||
                    ie == IPMI_ERR_SESSION_TIMEOUT || ie == IPMI_ERR_BAD_RMCPPLUS_STATUS_CODE)
                    return -1; /* the BMC went away: fail or retry the sweep */
            } else if (!per_sensor_error(e)) {
                return -1;
            }
            u->status = UL_SENSOR_UNKNOWN;
            snprintf(u->state, sizeof(u->state), "%s", "reading unavailable");
            continue;
        }
        if (reading && d->threshold_based && isfinite(*reading)) {
            u->has_value = true;
            u->value = *reading;
        }
        free(reading);
        if (d->threshold_based) {
            threshold_state(bitmask, &u->status, u->state, sizeof(u->state));
            continue;
        }
        u->status = status_from(
            ipmi_interpret_sensor_state(d->reading_type, d->sensor_type, bitmask));
        state_text(d, bitmask, u->state, sizeof(u->state));
        u->has_value = false;
    }
    return 0;
}

ul_err ipmi_session_sdr(struct ipmi_session *s, ipmi_sdr_ctx_t *sdr, ul_errmsg *em)
{
    *sdr = NULL;
    ul_err rc = sdr_ensure(s, em);
    if (rc == UL_OK)
        *sdr = s->sdr->sdr;
    return rc;
}

ul_err ipmi_sensors_read(struct ul_bmc_session *bs, struct ul_sensor_list *out, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    memset(out, 0, sizeof(*out));
    ul_err rc = sdr_ensure(s, em);
    if (rc != UL_OK)
        return rc;
    struct sweep_arg a = {.s = s, .out = out};
    rc = ipmi_session_call(s, "sensor sweep", sweep, &a, em);
    if (rc != UL_OK)
        bmc_sensor_list_free(out);
    return rc;
}
