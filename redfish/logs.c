/* logs.c - the node's Redfish log services: incremental reads and clear.
 *
 * A node's events live in several LogServices: the system's (the SEL, HPE's
 * IML) and its manager's (the BMC's own log, HPE's IEL).  Services list
 * entries newest-first (HPE iLO) or oldest-first (the DMTF mockups), page
 * them through Members@odata.nextLink, reuse entry Ids after a clear, and
 * wrap when full.  So entries are read from every log, ordered by Created,
 * then log and Id, and the cursor is a position in time, not an Id:
 *
 *     rf1:<T>:<H>
 *
 * T is the Created time (epoch seconds) of the newest entry returned, and H
 * a hash of the keys ("<log>/<Id>") of all entries created at exactly T.
 * The next read returns the entries created after T, and those at T too
 * when the set at T changed (H differs): two entries in the same second are
 * never lost, and the store's key (node, record id, time) drops the ones we
 * had.  When no entry at T remains, the log was cleared (or wrapped past
 * everything we saw) and the read restarts from the oldest entry: a
 * duplicate is better than a lost event.
 *
 * Entries without Created (BMCs whose clock was never set) count as time 0:
 * they are returned while nothing newer has been seen.  A BMC whose clock
 * jumps backwards after a clear is caught by the "no entry at T" rule.
 *
 * Dump and post-code services are skipped: OpenBMC's PostCodes holds
 * thousands of boot-progress codes per boot, its Dump/Crashdump entries are
 * diagnostic files, and its Journal is the BMC's debug log.
 */
#include "config.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "hash.h"
#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

#define RF_MAX_LOG_ENTRIES 4096 /* entries read from one log service */

/* ---- pure parts ---- */

enum ul_severity rf_severity_map(const char *sev)
{
    if (sev && strcasecmp(sev, "Warning") == 0)
        return UL_SEV_WARNING;
    if (sev && strcasecmp(sev, "Critical") == 0)
        return UL_SEV_CRITICAL;
    return UL_SEV_INFO; /* OK, absent, or an OEM word: do not page on it */
}

static bool all_digits(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

/* "<log>/<id>": logs by name, then ids as numbers when both are. */
static int key_cmp(const char *a, const char *b)
{
    const char *sa = strrchr(a, '/'), *sb = strrchr(b, '/');
    size_t la = sa ? (size_t)(sa - a) : 0, lb = sb ? (size_t)(sb - b) : 0;
    int c = strncmp(a, b, la < lb ? la : lb);
    if (c || la != lb)
        return c ? c : (la < lb ? -1 : 1);
    const char *ia = sa ? sa + 1 : a, *ib = sb ? sb + 1 : b;
    size_t na = strlen(ia), nb = strlen(ib);
    if (all_digits(ia, na) && all_digits(ib, nb)) {
        while (na > 1 && *ia == '0')
            ia++, na--;
        while (nb > 1 && *ib == '0')
            ib++, nb--;
        if (na != nb)
            return na < nb ? -1 : 1;
    }
    return strcmp(ia, ib);
}

static int entry_cmp(const void *x, const void *y)
{
    const struct rf_entry *a = x, *b = y;
    if (a->created != b->created)
        return a->created < b->created ? -1 : 1;
    return key_cmp(a->key, b->key);
}

void rf_entries_sort(struct rf_entry *e, size_t n)
{
    if (n > 1)
        qsort(e, n, sizeof(*e), entry_cmp);
}

/* Hash of the keys of entries [lo, hi) (sorted, so order-independent). */
static uint32_t keys_hash(const struct rf_entry *e, size_t lo, size_t hi)
{
    uint32_t h = UL_HASH32_INIT;
    for (size_t i = lo; i < hi; i++) {
        h = ul_hash32_add_str(h, e[i].key);
        h = ul_hash32_add(h, "\n", 1);
    }
    return h;
}

static bool cursor_parse(const char *c, int64_t *t, uint32_t *h)
{
    if (!c || strncmp(c, "rf1:", 4) != 0)
        return false;
    const char *p = c + 4;
    int64_t v = 0;
    int nd = 0;
    while (isdigit((unsigned char)*p) && nd < 18) {
        v = v * 10 + (*p - '0');
        p++;
        nd++;
    }
    if (nd == 0 || *p != ':')
        return false;
    p++;
    uint32_t x = 0;
    int nh = 0;
    for (; *p && nh < 8; p++, nh++) {
        int d = isdigit((unsigned char)*p) ? *p - '0'
                : (*p >= 'a' && *p <= 'f') ? *p - 'a' + 10
                                           : -1;
        if (d < 0)
            return false;
        x = (x << 4) | (uint32_t)d;
    }
    if (nh != 8 || *p)
        return false;
    *t = v;
    *h = x;
    return true;
}

void rf_cursor_apply(const char *cursor, const struct rf_entry *e, size_t n, size_t *first,
                     char cursor_out[UL_CURSOR_LEN])
{
    int64_t t;
    uint32_t h;
    *first = 0;
    if (cursor_parse(cursor, &t, &h)) {
        size_t lo = 0, hi;
        while (lo < n && e[lo].created < t)
            lo++;
        hi = lo;
        while (hi < n && e[hi].created == t)
            hi++;
        if (lo == hi)
            *first = 0; /* nothing left at T: cleared or wrapped; start over */
        else if (keys_hash(e, lo, hi) == h)
            *first = hi; /* the same entries at T: only newer ones are new */
        else
            *first = lo; /* more at T than last time: those again (deduplicated) */
    }
    if (n == 0) {
        cursor_out[0] = '\0';
        return;
    }
    int64_t last = e[n - 1].created;
    size_t lo = n;
    while (lo > 0 && e[lo - 1].created == last)
        lo--;
    snprintf(cursor_out, UL_CURSOR_LEN, "rf1:%" PRId64 ":%08" PRIx32, last, keys_hash(e, lo, n));
}

/* ---- which logs: found once per session ---- */

struct logs {
    struct rf_logsel *items;
    size_t count;
};

static bool skipped_service(const char *id)
{
    static const char *const skip[] = {"Dump",      "Crashdump", "FaultLog",
                                       "PostCodes", "Journal",   "HostLogger"};
    for (size_t i = 0; id && i < sizeof(skip) / sizeof(skip[0]); i++)
        if (strcasecmp(id, skip[i]) == 0)
            return true;
    return false;
}

static ul_err log_service(struct rf_session *s, json_object *obj, const char *path, void *arg,
                          ul_errmsg *em)
{
    struct logs *l = arg;
    const char *id = rf_prop_str(obj, "Id");
    json_object *enabled = rf_prop(obj, "ServiceEnabled");
    if (l->count >= RF_MAX_LOGS || skipped_service(id) ||
        (json_object_is_type(enabled, json_type_boolean) && !json_object_get_boolean(enabled)))
        return UL_OK;
    struct rf_logsel *sel = &l->items[l->count];
    memset(sel, 0, sizeof(*sel));
    const char *entries = rf_prop_link(obj, "Entries");
    if (!entries || !rf_link_resolve(path, entries, sel->entries, sizeof(sel->entries)))
        return UL_OK; /* a log without entries to read */
    rf_copy_text(sel->name, sizeof(sel->name), id ? id : "");
    if (!sel->name[0]) {
        const char *slash = strrchr(path, '/');
        rf_copy_text(sel->name, sizeof(sel->name), slash ? slash + 1 : path);
    }
    const char *clear =
        rf_prop_str(rf_prop(rf_prop(obj, "Actions"), "#LogService.ClearLog"), "target");
    if (clear && !rf_link_resolve(path, clear, sel->clear, sizeof(sel->clear)))
        sel->clear[0] = '\0';
    l->count++;
    return UL_OK;
}

/* The LogServices of the system and of its managers, into s->logs. */
static ul_err find_logs(struct rf_session *s, ul_errmsg *em)
{
    json_object *sys = NULL, *mgr = NULL;
    char(*managers)[RF_PATH_MAX] = xcalloc(RF_MAX_CHASSIS, sizeof(*managers));
    struct rf_visited v = {0};
    struct logs l = {.items = xcalloc(RF_MAX_LOGS, sizeof(*l.items))};
    char path[RF_PATH_MAX];
    size_t nm = 0;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc != UL_OK)
        goto out;
    const char *link = rf_prop_link(sys, "LogServices");
    if (link && rf_link_resolve(s->system_path, link, path, sizeof(path))) {
        rc = rf_collection_walk(s, path, false, RF_MAX_LOGS * 2, &v, log_service, &l, em);
        if (rc != UL_OK && rc != UL_ERR_UNSUPPORTED)
            goto out;
    }
    if ((rc = rf_system_managers(s, sys, managers, RF_MAX_CHASSIS, &nm, em)) != UL_OK)
        goto out;
    for (size_t i = 0; i < nm; i++) {
        if ((rc = rf_get(s, managers[i], &mgr, NULL, em)) != UL_OK)
            goto out;
        link = rf_prop_link(mgr, "LogServices");
        if (link && rf_link_resolve(managers[i], link, path, sizeof(path))) {
            rc = rf_collection_walk(s, path, false, RF_MAX_LOGS * 2, &v, log_service, &l, em);
            if (rc != UL_OK && rc != UL_ERR_UNSUPPORTED)
                goto out;
        }
        json_object_put(mgr);
        mgr = NULL;
    }
    rc = UL_OK;
    if (l.count == 0) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: no LogServices with entries under the system or its "
                           "managers: event log not supported by this BMC",
                           s->node);
        goto out;
    }
    free(s->logs);
    s->logs = l.items;
    s->nlogs = l.count;
    l.items = NULL;
out:
    free(l.items);
    json_object_put(mgr);
    json_object_put(sys);
    rf_visited_free(&v);
    free(managers);
    return rc;
}

static void forget_logs(struct rf_session *s)
{
    ul_debug("node %s: a log service moved; following the links again", s->node);
    free(s->logs);
    s->logs = NULL;
    s->nlogs = 0;
}

/* ---- reading ---- */

struct collect {
    struct rf_logsel *log;
    struct rf_entry *items;
    size_t count, cap;
    bool full;
};

static ul_err log_entry(struct rf_session *s, json_object *obj, const char *path, void *arg,
                        ul_errmsg *em)
{
    struct collect *c = arg;
    if (c->count >= RF_MAX_EVENTS) {
        if (!c->full)
            ul_warn("node %s: more than %d log entries; reading the first %d", s->node,
                    RF_MAX_EVENTS, RF_MAX_EVENTS);
        c->full = true;
        return UL_OK;
    }
    if (c->count == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 64;
        c->items = xrealloc(c->items, c->cap * sizeof(*c->items));
    }
    struct rf_entry *e = &c->items[c->count++];
    memset(e, 0, sizeof(*e));
    char id[40];
    const char *rid = rf_prop_str(obj, "Id");
    if (!rid) {
        const char *slash = strrchr(path, '/');
        rid = slash && slash[1] ? slash + 1 : path;
    }
    rf_copy_text(id, sizeof(id), rid);
    /* name is at most 23 characters and id 39: the key always fits. */
    size_t nl = strlen(c->log->name), il = strlen(id);
    memcpy(e->key, c->log->name, nl);
    e->key[nl] = '/';
    memcpy(e->key + nl + 1, id, il + 1);
    /* The store's record id is shorter; a cut one is still unique with the
     * entry's time, which the store keys on too. */
    size_t kl = strlen(e->key);
    if (kl >= sizeof(e->ev.id))
        kl = sizeof(e->ev.id) - 1;
    memcpy(e->ev.id, e->key, kl);
    e->ev.id[kl] = '\0';
    int64_t t = rf_time_parse(rf_prop_str(obj, "Created"));
    e->created = t > 0 ? t : 0;
    e->ev.time = e->created;
    e->ev.severity = rf_severity_map(rf_prop_str(obj, "Severity"));
    const char *st = rf_prop_str(obj, "SensorType");
    rf_copy_text(e->ev.sensor, sizeof(e->ev.sensor), st ? st : "");
    const char *msg = rf_prop_str(obj, "Message");
    if (!msg)
        msg = rf_prop_str(obj, "MessageId");
    if (!msg)
        msg = rf_prop_str(obj, "EntryCode");
    rf_copy_text(e->ev.message, sizeof(e->ev.message), msg ? msg : "");
    return UL_OK;
}

ul_err rf_events_read(struct ul_bmc_session *bs, const char *cursor, struct ul_event_list *out,
                      char cursor_out[UL_CURSOR_LEN], ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    struct collect c = {0};
    ul_err rc = UL_OK;
    memset(out, 0, sizeof(*out));
    for (int pass = 0; pass < 2; pass++) {
        bool cached = s->logs != NULL;
        if (!cached && (rc = find_logs(s, em)) != UL_OK)
            goto out;
        c.count = 0;
        c.full = false;
        for (size_t i = 0; i < s->nlogs && !c.full && rc == UL_OK; i++) {
            c.log = &s->logs[i];
            rc = rf_collection_walk(s, s->logs[i].entries, false, RF_MAX_LOG_ENTRIES, NULL,
                                    log_entry, &c, em);
        }
        if (rc == UL_ERR_UNSUPPORTED && cached) {
            forget_logs(s);
            rc = UL_OK;
            continue;
        }
        break;
    }
    if (rc != UL_OK)
        goto out;
    rf_entries_sort(c.items, c.count);
    size_t first;
    rf_cursor_apply(cursor, c.items, c.count, &first, cursor_out);
    for (size_t i = first; i < c.count; i++)
        *bmc_event_list_add(out) = c.items[i].ev;
out:
    if (rc != UL_OK)
        bmc_event_list_free(out);
    free(c.items);
    return rc;
}

ul_err rf_events_clear(struct ul_bmc_session *bs, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    struct rf_reply r = {0};
    size_t cleared = 0;
    ul_err rc = UL_OK;
    if (!s->logs && (rc = find_logs(s, em)) != UL_OK)
        return rc;
    for (size_t i = 0; i < s->nlogs; i++) {
        if (!s->logs[i].clear[0])
            continue;
        rc = rf_send(s, "POST", s->logs[i].clear, "{}", NULL, &r, em);
        rf_reply_free(&r);
        if (rc != UL_OK) {
            if (rc == UL_ERR_UNSUPPORTED)
                forget_logs(s); /* moved, or never there: look again next time */
            return rc;
        }
        cleared++;
    }
    if (cleared == 0)
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: no LogService offers #LogService.ClearLog: event log "
                           "clearing not supported by this BMC",
                           s->node);
    return rc;
}
