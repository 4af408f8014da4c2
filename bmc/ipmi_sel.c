/* ipmi_sel.c - the IPMI System Event Log: incremental reads and clear.
 *
 * Reading a SEL costs one Get SEL Entry round trip per record, and real SELs
 * hold hundreds to thousands of records, so a poll must not re-read what it
 * has already seen.  The cursor "<erase timestamp>:<last record id>" lets a
 * poll with nothing new cost three commands (Get SEL Info, Reserve SEL, Get
 * SEL Entry of the last record), and a poll that finds new records one Get
 * SEL Entry per new record plus eight (that probe, a check that the cursor's
 * record is still there, the SDR cache's freshness check, a reservation per
 * walk).
 *
 * Record ids are not ordered: the IPMI spec only links each record to the
 * next, and BMCs reuse ids after a clear or when a full SEL wraps.  So "after
 * the cursor" means after the last-seen record in the SEL's own linked order,
 * and a cursor whose record is gone (or whose erase timestamp no longer
 * matches the BMC's) restarts from the first record: a duplicate event is
 * better than a lost one.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <freeipmi/freeipmi.h>
#include <freeipmi/spec/ipmi-timestamp-spec.h>

#include "bmc/ipmi.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

/* Record ids 0x0000 and 0xFFFF are the "first" and "last" selectors of Get
 * SEL Entry, never real records: the cursor uses 0 for "no record seen". */
#define SEL_NO_RECORD 0

/* Long enough for any FreeIPMI-formatted event text; the result is then cut
 * to the ul_event field. */
#define SEL_TEXT_MAX 1024
#define SEL_SEPARATOR " ; "

/* ---- cursor ---- */

struct sel_cursor {
    bool valid;
    uint32_t erase_ts;
    uint16_t last_id; /* SEL_NO_RECORD: nothing seen since that erase */
};

static bool parse_u32(const char *s, const char *end, uint32_t *out)
{
    uint64_t v = 0;
    if (s == end || end - s > 10)
        return false;
    for (const char *p = s; p < end; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (v > UINT32_MAX)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* Parse "<erase>:<last>"; anything else (NULL, "", a cursor written by
 * another driver, a corrupt store) reads as "no cursor": all entries. */
static struct sel_cursor cursor_parse(const char *cursor)
{
    struct sel_cursor c = {0};
    if (!cursor || !*cursor)
        return c;
    const char *colon = strchr(cursor, ':');
    uint32_t erase, last;
    if (!colon || !parse_u32(cursor, colon, &erase) ||
        !parse_u32(colon + 1, colon + 1 + strlen(colon + 1), &last) || last >= 0xFFFF)
        return c;
    c.valid = true;
    c.erase_ts = erase;
    c.last_id = (uint16_t)last;
    return c;
}

static void cursor_format(char out[UL_CURSOR_LEN], uint32_t erase_ts, uint16_t last_id)
{
    snprintf(out, UL_CURSOR_LEN, "%" PRIu32 ":%u", erase_ts, (unsigned)last_id);
}

/* ---- text ---- */

/* BMC-supplied bytes (SDR sensor names, OEM text) reach JSON, logs and
 * terminals: keep printable ASCII only. */
static void copy_printable(char *dst, size_t dstlen, const char *src)
{
    size_t j = 0;
    for (size_t i = 0; src[i] && j + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (j > 0 && dst[j - 1] == ' ')
        j--;
    dst[j] = '\0';
}

/* FreeIPMI's record string, or "" when the field does not apply. */
static void record_string(ipmi_sel_ctx_t sel, const char *fmt, const uint8_t *rec, unsigned len,
                          char *dst, size_t dstlen)
{
    char buf[SEL_TEXT_MAX];
    int n = ipmi_sel_parse_read_record_string(sel, fmt, rec, len, buf, sizeof(buf),
                                              IPMI_SEL_STRING_FLAGS_IGNORE_UNAVAILABLE_FIELD);
    if (n < 0) {
        dst[0] = '\0';
        return;
    }
    /* A result that fills the buffer is not NUL-terminated. */
    buf[(size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1] = '\0';
    copy_printable(dst, dstlen, buf);
}

/* ---- severity ---- */

static enum ul_severity severity_from(unsigned state)
{
    switch (state) {
    case IPMI_INTERPRET_STATE_WARNING:
        return UL_SEV_WARNING;
    case IPMI_INTERPRET_STATE_CRITICAL:
        return UL_SEV_CRITICAL;
    default:
        /* Nominal, and records FreeIPMI cannot judge (mostly OEM records
         * without a known decoder): info, so vendor noise does not page. */
        return UL_SEV_INFO;
    }
}

static enum ul_severity record_severity(const uint8_t *rec, unsigned len)
{
    return severity_from(ipmi_interpret_sel_state(rec, len));
}

/* ---- SDR for sensor names ---- */

/* ---- reading ---- */

struct sel_read_arg {
    struct ipmi_session *s;
    ipmi_sdr_ctx_t sdr; /* the node's SDR (owned by ipmi_sensors.c), or NULL */
    struct sel_cursor cur;
    struct ul_event_list *out;
    /* results */
    uint32_t erase_ts;
    uint16_t last_id;
    ul_err rc; /* set for failures that are not the session's */
    ul_errmsg *em;
};

/* Get SEL Info: the erase timestamp tells whether the SEL was cleared since
 * the cursor was made.  -1: the BMC's error, in ctx. */
static int sel_info(struct sel_read_arg *a, ipmi_ctx_t ctx)
{
    fiid_obj_t rs = fiid_obj_create(tmpl_cmd_get_sel_info_rs);
    uint64_t v = 0;
    int rv = 0;
    if (!rs) {
        a->rc = ul_errmsg_set(a->em, UL_ERR_INTERNAL, "node %s: out of memory", a->s->node);
    } else if (ipmi_cmd_get_sel_info(ctx, rs) < 0) {
        rv = -1;
    } else if (FIID_OBJ_GET(rs, "most_recent_erase_timestamp", &v) < 0) {
        a->rc =
            ul_errmsg_set(a->em, UL_ERR_PROTOCOL, "node %s: get SEL info: short reply", a->s->node);
    }
    a->erase_ts = (uint32_t)v;
    fiid_obj_destroy(rs);
    return rv;
}

/* Turn one raw record into an event; false when it cannot be parsed. */
static bool record_to_event(ipmi_sel_ctx_t sel, const uint8_t *rec, unsigned len, uint16_t id,
                            struct ul_event *ev)
{
    uint8_t type;
    if (ipmi_sel_parse_read_record_type(sel, rec, len, &type) < 0)
        return false;
    memset(ev, 0, sizeof(*ev));
    snprintf(ev->id, sizeof(ev->id), "%u", (unsigned)id);

    uint32_t ts;
    /* Timestamps up to 0x20000000 count seconds since the BMC booted (its
     * clock was not set yet), 0xFFFFFFFF means none: no wall-clock time. */
    if (ipmi_sel_parse_read_timestamp(sel, rec, len, &ts) == 0 &&
        ts != IPMI_TIMESTAMP_UNSPECIFIED && !IPMI_TIMESTAMP_POST_INIT(ts))
        ev->time = ts;

    ev->severity = record_severity(rec, len);

    switch (ipmi_sel_record_type_class(type)) {
    case IPMI_SEL_RECORD_TYPE_CLASS_SYSTEM_EVENT_RECORD: {
        uint8_t dir = IPMI_SEL_RECORD_ASSERTION_EVENT;
        record_string(sel, "%s", rec, len, ev->sensor, sizeof(ev->sensor));
        /* ipmi-sel prints the same text for a threshold crossing and its
         * end; name the deassertion so an alert reads right. */
        if (ipmi_sel_parse_read_event_direction(sel, rec, len, &dir) == 0 &&
            dir == IPMI_SEL_RECORD_DEASSERTION_EVENT)
            record_string(sel, "%E" SEL_SEPARATOR "%k", rec, len, ev->message, sizeof(ev->message));
        else
            record_string(sel, "%E", rec, len, ev->message, sizeof(ev->message));
        if (!ev->message[0])
            return false;
        break;
    }
    case IPMI_SEL_RECORD_TYPE_CLASS_TIMESTAMPED_OEM_RECORD:
        record_string(sel, "%m" SEL_SEPARATOR "%o", rec, len, ev->message, sizeof(ev->message));
        break;
    case IPMI_SEL_RECORD_TYPE_CLASS_NON_TIMESTAMPED_OEM_RECORD:
        record_string(sel, "%o", rec, len, ev->message, sizeof(ev->message));
        break;
    default: {
        /* A record type the spec leaves unassigned: ipmi-sel refuses it,
         * but it is the BMC's record all the same; show its bytes. */
        size_t used = (size_t)snprintf(ev->message, sizeof(ev->message),
                                       "unknown SEL record type %02Xh, data =", type);
        for (unsigned i = 3; i < len && used < sizeof(ev->message); i++)
            used +=
                (size_t)snprintf(ev->message + used, sizeof(ev->message) - used, " %02Xh", rec[i]);
        break;
    }
    }
    return true;
}

/* Turn every record the SEL context holds into events.  A walk that starts
 * at the cursor's record begins with that record again: skip it (only if it
 * is that record; had it vanished meanwhile, FreeIPMI would have started at
 * the next one). */
static void collect(struct sel_read_arg *a, ipmi_sel_ctx_t sel, uint16_t skip_id)
{
    bool first = true;
    if (ipmi_sel_parse_first(sel) < 0)
        return; /* no records */
    do {
        uint8_t rec[IPMI_SEL_RECORD_MAX_RECORD_LENGTH];
        int len = ipmi_sel_parse_read_record(sel, rec, sizeof(rec));
        uint16_t id;
        if (len <= 0 || ipmi_sel_parse_read_record_id(sel, rec, (unsigned)len, &id) < 0) {
            ul_warn("node %s: SEL: skipping a record the BMC returned truncated", a->s->node);
            first = false;
            continue;
        }
        bool skip = first && skip_id != SEL_NO_RECORD && id == skip_id;
        first = false;
        if (skip)
            continue;
        /* Advance past a record even when it cannot be decoded: it would
         * not decode any better on the next poll. */
        a->last_id = id;
        struct ul_event ev;
        if (!record_to_event(sel, rec, (unsigned)len, id, &ev)) {
            char hex[3 * IPMI_SEL_RECORD_MAX_RECORD_LENGTH + 1] = "";
            for (int i = 0; i < len; i++)
                snprintf(hex + 3 * i, sizeof(hex) - 3 * (size_t)i, "%02x ", rec[i]);
            ul_warn("node %s: SEL: skipping record %u that FreeIPMI cannot decode: %s", a->s->node,
                    (unsigned)id, hex);
            continue;
        }
        *bmc_event_list_add(a->out) = ev;
    } while (ipmi_sel_parse_next(sel) == 1);
}

/* A SEL library failure: the BMC's (let ipmi_session_call map and retry it)
 * or the library's own (recorded in a->rc). */
static int sel_failed(struct sel_read_arg *a, ipmi_sel_ctx_t sel, const char *what)
{
    if (ipmi_sel_ctx_errnum(sel) == IPMI_SEL_ERR_IPMI_ERROR)
        return -1;
    a->rc = ul_errmsg_set(a->em, UL_ERR_PROTOCOL, "node %s: reading the SEL (%s): %s", a->s->node,
                          what, ipmi_sel_ctx_errormsg(sel));
    return 0;
}

/* Decide where an incremental read starts, without the SDR (names are not
 * needed to compare record ids).  Sets *from to the record to walk from and
 * returns 1, or returns 0 when there is nothing new; -1 on the BMC's error. */
static int sel_probe(struct sel_read_arg *a, ipmi_ctx_t ctx, uint16_t *from)
{
    ipmi_sel_ctx_t sel = ipmi_sel_ctx_create(ctx, NULL);
    if (!sel) {
        a->rc = ul_errmsg_set(a->em, UL_ERR_INTERNAL, "node %s: cannot create a SEL context",
                              a->s->node);
        return 0;
    }
    int rv = 1;
    uint16_t last, want = a->cur.last_id;
    /* Cheap check first: is the cursor's record still the last one? */
    int n = ipmi_sel_parse(sel, IPMI_SEL_GET_RECORD_ID_LAST_ENTRY,
                           IPMI_SEL_GET_RECORD_ID_LAST_ENTRY, NULL, NULL);
    if (n < 0) {
        rv = sel_failed(a, sel, "last entry");
        goto out;
    }
    if (n == 0) {
        /* Empty, with the erase timestamp unchanged: a BMC that does not
         * stamp its erases.  Nothing new. */
        a->last_id = SEL_NO_RECORD;
        rv = 0;
        goto out;
    }
    if (ipmi_sel_parse_first(sel) == 0 && ipmi_sel_parse_read_record_id(sel, NULL, 0, &last) == 0 &&
        last == a->cur.last_id) {
        rv = 0;
        goto out;
    }
    /* Something new.  ipmi_sel_parse() from a record id that is gone probes
     * id+1, id+2, ... one command each, up to 65534 of them: make sure the
     * cursor's record exists before walking from it. */
    n = ipmi_sel_parse_record_ids(sel, &want, 1, NULL, NULL);
    if (n < 0) {
        rv = sel_failed(a, sel, "cursor entry");
        goto out;
    }
    if (n == 1) {
        *from = a->cur.last_id;
    } else {
        ul_info("node %s: SEL record %u of the cursor is gone; reading the whole SEL", a->s->node,
                (unsigned)a->cur.last_id);
        a->last_id = SEL_NO_RECORD;
    }
out:
    ipmi_sel_ctx_destroy(sel);
    return rv;
}

/* The whole read, as one unit ipmi_session_call may repeat on a fresh
 * session: it starts from scratch every time. */
static int sel_read(ipmi_ctx_t ctx, void *arg)
{
    struct sel_read_arg *a = arg;
    bmc_event_list_free(a->out);
    a->rc = UL_OK;

    if (sel_info(a, ctx) < 0)
        return -1;
    if (a->rc != UL_OK)
        return 0;

    bool incremental = a->cur.valid && a->cur.erase_ts == a->erase_ts;
    a->last_id = incremental ? a->cur.last_id : SEL_NO_RECORD;
    uint16_t from = IPMI_SEL_GET_RECORD_ID_FIRST_ENTRY;
    if (incremental && a->cur.last_id != SEL_NO_RECORD) {
        int r = sel_probe(a, ctx, &from);
        if (r <= 0 || a->rc != UL_OK)
            return r;
    }

    ipmi_sel_ctx_t sel = ipmi_sel_ctx_create(ctx, a->sdr);
    if (!sel) {
        a->rc = ul_errmsg_set(a->em, UL_ERR_INTERNAL, "node %s: cannot create a SEL context",
                              a->s->node);
        return 0;
    }
    /* ipmi-sel's separator, so texts read the same as FreeIPMI's tools. */
    ipmi_sel_ctx_set_separator(sel, SEL_SEPARATOR);
    int rv = 0;
    if (ipmi_sel_parse(sel, from, IPMI_SEL_GET_RECORD_ID_LAST_ENTRY, NULL, NULL) < 0)
        rv = sel_failed(a, sel, "entries");
    else
        collect(a, sel, from);
    ipmi_sel_ctx_destroy(sel);
    if (rv < 0 || a->rc != UL_OK)
        bmc_event_list_free(a->out);
    return rv;
}

ul_err ipmi_events_read(struct ul_bmc_session *bs, const char *cursor, struct ul_event_list *out,
                        char cursor_out[UL_CURSOR_LEN], ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    memset(out, 0, sizeof(*out));
    struct sel_read_arg a = {.s = s, .cur = cursor_parse(cursor), .out = out, .em = em};
    /* The SDR turns a record's sensor number into the sensor's name and raw
     * threshold bytes into units ("Sensor Reading = 91.00 C"); the sensor
     * module keeps it per node.  Without it the SEL still reads, unnamed. */
    ul_errmsg sdr_em;
    ul_err sdr_rc = ipmi_session_sdr(s, &a.sdr, &sdr_em);
    if (sdr_rc == UL_ERR_TIMEOUT || sdr_rc == UL_ERR_UNREACHABLE || sdr_rc == UL_ERR_AUTH) {
        ul_errmsg_set(em, sdr_rc, "%s", sdr_em.text);
        return sdr_rc;
    }
    if (sdr_rc != UL_OK)
        ul_debug("node %s: SEL without sensor names: %s", s->node, sdr_em.text);
    if (cursor && *cursor && !a.cur.valid)
        ul_warn("node %s: SEL cursor '%.32s' is not an IPMI cursor; reading the whole SEL", s->node,
                cursor);
    ul_err rc = ipmi_session_call(s, "read SEL", sel_read, &a, em);
    if (rc == UL_OK)
        rc = a.rc;
    if (rc != UL_OK) {
        bmc_event_list_free(out);
        return rc;
    }
    cursor_format(cursor_out, a.erase_ts, a.last_id);
    ul_debug("node %s: SEL: %zu new event(s), cursor %s", s->node, out->count, cursor_out);
    return UL_OK;
}

/* ---- clearing ---- */

/* Polling Get Erasure Status: flash-backed SELs take a few seconds to erase;
 * start short so a RAM-backed one (and ipmi_sim) answers at once. */
#define SEL_ERASE_POLL_FIRST_MS 50
#define SEL_ERASE_POLL_MAX_MS 500
#define SEL_RESERVE_RETRIES 3

struct sel_clear_arg {
    struct ipmi_session *s;
    int64_t deadline_ms;
    ul_err rc;
    ul_errmsg *em;
};

static int reserve_sel(ipmi_ctx_t ctx, fiid_obj_t rs, uint16_t *reservation)
{
    uint64_t v = 0;
    if (ipmi_cmd_reserve_sel(ctx, rs) < 0) {
        /* A BMC without Reserve SEL takes reservation 0 (IPMI 2.0 31.4). */
        if (ipmi_ctx_errnum(ctx) == IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED) {
            *reservation = 0;
            return 0;
        }
        return -1;
    }
    if (FIID_OBJ_GET(rs, "reservation_id", &v) < 0)
        return -1;
    *reservation = (uint16_t)v;
    return 0;
}

static bool reservation_canceled(ipmi_ctx_t ctx, fiid_obj_t rs)
{
    return ipmi_ctx_errnum(ctx) == IPMI_ERR_BAD_COMPLETION_CODE &&
           ipmi_check_completion_code(rs, IPMI_COMP_CODE_RESERVATION_CANCELLED) == 1;
}


/* Reserve, initiate the erase, poll until the BMC says it is done.  Any
 * SEL change (a new event, another client's reservation) cancels the
 * reservation: reserve again, a few times. */
static int sel_clear(ipmi_ctx_t ctx, void *arg)
{
    struct sel_clear_arg *a = arg;
    int rv = -1;
    fiid_obj_t res_rs = fiid_obj_create(tmpl_cmd_reserve_sel_rs);
    fiid_obj_t clr_rs = fiid_obj_create(tmpl_cmd_clear_sel_rs);
    if (!res_rs || !clr_rs) {
        a->rc = ul_errmsg_set(a->em, UL_ERR_INTERNAL, "node %s: out of memory", a->s->node);
        rv = 0;
        goto out;
    }
    uint16_t reservation;
    uint8_t op = IPMI_SEL_CLEAR_OPERATION_INITIATE_ERASE;
    int retries = 0, wait_ms = SEL_ERASE_POLL_FIRST_MS;
    if (reserve_sel(ctx, res_rs, &reservation) < 0)
        goto out;
    for (;;) {
        if (ipmi_cmd_clear_sel(ctx, reservation, op, clr_rs) < 0) {
            if (!reservation_canceled(ctx, clr_rs) || ++retries > SEL_RESERVE_RETRIES)
                goto out;
            if (reserve_sel(ctx, res_rs, &reservation) < 0)
                goto out;
            continue;
        }
        uint64_t progress = 0;
        if (FIID_OBJ_GET(clr_rs, "erasure_progress", &progress) < 0) {
            a->rc = ul_errmsg_set(a->em, UL_ERR_PROTOCOL, "node %s: clear SEL: short reply",
                                  a->s->node);
            rv = 0;
            goto out;
        }
        if (progress == IPMI_SEL_CLEAR_ERASE_COMPLETED)
            break;
        op = IPMI_SEL_CLEAR_OPERATION_GET_ERASURE_STATUS;
        if (ul_mono_ms() + wait_ms > a->deadline_ms) {
            a->rc = ul_errmsg_set(a->em, UL_ERR_TIMEOUT,
                                  "node %s: clear SEL: the BMC is still erasing after %d ms",
                                  a->s->node, a->s->timeout_ms);
            rv = 0;
            goto out;
        }
        ul_sleep_ms(wait_ms);
        wait_ms = wait_ms * 2 > SEL_ERASE_POLL_MAX_MS ? SEL_ERASE_POLL_MAX_MS : wait_ms * 2;
    }
    rv = 0;
out:
    fiid_obj_destroy(res_rs);
    fiid_obj_destroy(clr_rs);
    return rv;
}

ul_err ipmi_events_clear(struct ul_bmc_session *bs, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct sel_clear_arg a = {.s = s, .deadline_ms = ul_mono_ms() + s->timeout_ms, .em = em};
    ul_err rc = ipmi_session_call(s, "clear SEL", sel_clear, &a, em);
    if (rc == UL_OK)
        rc = a.rc;
    if (rc == UL_OK)
        ul_info("node %s: SEL cleared", s->node);
    return rc;
}
