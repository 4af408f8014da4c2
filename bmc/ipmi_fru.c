/* ipmi_fru.c - inventory over IPMI: the BMC's Get Device ID and FRU 0.
 *
 * FRU data is written at the factory and is the least trustworthy part of a
 * BMC: checksums are wrong, areas are missing, strings are padded with
 * spaces or NULs, or are binary.  So every area is decoded on its own, a bad
 * area is skipped (the others still count), empty fields are left out, and
 * every string is reduced to printable ASCII before it reaches JSON.  A BMC
 * without FRU data gives "fru": {}, not an error.
 *
 * Only FRU device 0 (the one behind the BMC, normally the system board and
 * chassis) is read; FRUs reached through SDR FRU locator records (power
 * supplies, DIMMs) are a later addition.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <freeipmi/freeipmi.h>

#include "bmc/ipmi.h"
#include "log.h"
#include "xalloc.h"

/* 0:00 1 January 1996 UTC, the FRU manufacturing-time epoch, in Unix time. */
#define FRU_EPOCH_UNIX 820454400

/* ---- text ---- */

/* Printable ASCII only, trailing spaces dropped; "" when nothing is left. */
static void copy_printable(char *dst, size_t dstlen, const char *src, size_t srclen)
{
    size_t j = 0;
    for (size_t i = 0; i < srclen && src[i] && j + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[j++] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    while (j > 0 && dst[j - 1] == ' ')
        j--;
    dst[j] = '\0';
    size_t lead = strspn(dst, " ");
    if (lead)
        memmove(dst, dst + lead, j - lead + 1);
}

static void add_string(json_object *obj, const char *key, const char *value)
{
    if (value && *value)
        json_object_object_add(obj, key, json_object_new_string(value));
}

/* ---- Get Device ID ---- */

struct device_id_arg {
    fiid_obj_t rs;
};

static int call_device_id(ipmi_ctx_t ctx, void *arg)
{
    struct device_id_arg *a = arg;
    return ipmi_cmd_get_device_id(ctx, a->rs);
}

static ul_err read_device_id(struct ipmi_session *s, json_object *bmc, ul_errmsg *em)
{
    struct device_id_arg a = {.rs = fiid_obj_create(tmpl_cmd_get_device_id_rs)};
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, "get device ID", call_device_id, &a, em);
    if (rc != UL_OK)
        goto out;
    uint64_t dev = 0, rev = 0, fw_major = 0, fw_minor = 0, ipmi_major = 0, ipmi_minor = 0, mfg = 0,
             product = 0;
    if (FIID_OBJ_GET(a.rs, "device_id", &dev) < 0 ||
        FIID_OBJ_GET(a.rs, "device_revision.revision", &rev) < 0 ||
        FIID_OBJ_GET(a.rs, "firmware_revision1.major_revision", &fw_major) < 0 ||
        FIID_OBJ_GET(a.rs, "firmware_revision2.minor_revision", &fw_minor) < 0 ||
        FIID_OBJ_GET(a.rs, "ipmi_version_major", &ipmi_major) < 0 ||
        FIID_OBJ_GET(a.rs, "ipmi_version_minor", &ipmi_minor) < 0 ||
        FIID_OBJ_GET(a.rs, "manufacturer_id.id", &mfg) < 0 ||
        FIID_OBJ_GET(a.rs, "product_id", &product) < 0) {
        rc = ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: get device ID: short reply", s->node);
        goto out;
    }
    char buf[256];
    json_object_object_add(bmc, "device_id", json_object_new_int((int)dev));
    json_object_object_add(bmc, "device_revision", json_object_new_int((int)rev));
    /* The minor revision is BCD ("2.45" is 0x45), printed as two hex digits
     * the way ipmitool and bmc-info show it. */
    snprintf(buf, sizeof(buf), "%u.%02x", (unsigned)fw_major, (unsigned)fw_minor);
    json_object_object_add(bmc, "firmware_revision", json_object_new_string(buf));
    snprintf(buf, sizeof(buf), "%u.%u", (unsigned)ipmi_major, (unsigned)ipmi_minor);
    json_object_object_add(bmc, "ipmi_version", json_object_new_string(buf));
    json_object_object_add(bmc, "manufacturer_id", json_object_new_int64((int64_t)mfg));
    char name[256];
    int n = ipmi_iana_enterprise_numbers_string((uint32_t)mfg, name, sizeof(name));
    if (n > 0) {
        copy_printable(buf, sizeof(buf), name, (size_t)n < sizeof(name) ? (size_t)n : sizeof(name));
        add_string(bmc, "manufacturer", buf);
    }
    json_object_object_add(bmc, "product_id", json_object_new_int((int)product));
out:
    fiid_obj_destroy(a.rs);
    return rc;
}

/* ---- FRU ---- */

struct fru_arg {
    struct ipmi_session *s;
    json_object *fru; /* filled in; emptied when the read is repeated */
};

/* One type/length field as text; "" when empty or undecodable. */
static void field_text(ipmi_fru_ctx_t fru, const ipmi_fru_field_t *f, uint8_t lang, char *dst,
                       size_t dstlen)
{
    char buf[IPMI_FRU_AREA_STRING_MAX + 1];
    unsigned len = IPMI_FRU_AREA_STRING_MAX;
    dst[0] = '\0';
    if (!f->type_length_field_length)
        return;
    memset(buf, 0, sizeof(buf));
    if (ipmi_fru_type_length_field_to_string(fru, f->type_length_field, f->type_length_field_length,
                                             lang, buf, &len) < 0)
        return;
    copy_printable(dst, dstlen, buf, len);
}

static void add_field(json_object *obj, const char *key, ipmi_fru_ctx_t fru,
                      const ipmi_fru_field_t *f, uint8_t lang)
{
    char text[IPMI_FRU_AREA_STRING_MAX + 1];
    field_text(fru, f, lang, text, sizeof(text));
    add_string(obj, key, text);
}

static json_object *chassis_area(ipmi_fru_ctx_t fru, const uint8_t *buf, unsigned len)
{
    uint8_t type = 0;
    ipmi_fru_field_t part, serial;
    if (ipmi_fru_chassis_info_area(fru, buf, len, &type, &part, &serial, NULL, 0) < 0)
        return NULL;
    json_object *o = json_object_new_object();
    if (IPMI_FRU_CHASSIS_TYPE_VALID(type)) {
        add_string(o, "type", ipmi_fru_chassis_types[type]);
    } else {
        char t[8];
        snprintf(t, sizeof(t), "0x%02x", type);
        add_string(o, "type", t);
    }
    /* The chassis area has no language code: English by definition. */
    add_field(o, "part_number", fru, &part, IPMI_FRU_LANGUAGE_CODE_ENGLISH);
    add_field(o, "serial", fru, &serial, IPMI_FRU_LANGUAGE_CODE_ENGLISH);
    return o;
}

static json_object *board_area(ipmi_fru_ctx_t fru, const uint8_t *buf, unsigned len)
{
    uint8_t lang = 0;
    ipmi_fru_field_t mfg, product, serial, part, file_id;
    if (ipmi_fru_board_info_area(fru, buf, len, &lang, NULL, &mfg, &product, &serial, &part,
                                 &file_id, NULL, 0) < 0)
        return NULL;
    json_object *o = json_object_new_object();
    add_field(o, "manufacturer", fru, &mfg, lang);
    add_field(o, "product", fru, &product, lang);
    add_field(o, "serial", fru, &serial, lang);
    add_field(o, "part_number", fru, &part, lang);
    add_field(o, "fru_file_id", fru, &file_id, lang);
    /* Manufacturing time: minutes since 1996-01-01 00:00 UTC, little endian,
     * after the language byte (the area header is already stripped); 0 is
     * "unspecified".  Decoded here because FreeIPMI converts it with
     * mktime(), i.e. in the daemon's local time zone. */
    if (len >= 4) {
        uint32_t minutes = (uint32_t)buf[1] | (uint32_t)buf[2] << 8 | (uint32_t)buf[3] << 16;
        if (minutes) {
            time_t t = (time_t)FRU_EPOCH_UNIX + (time_t)minutes * 60;
            struct tm tm;
            char date[32];
            if (gmtime_r(&t, &tm) && strftime(date, sizeof(date), "%Y-%m-%dT%H:%M:%SZ", &tm))
                add_string(o, "mfg_date", date);
        }
    }
    return o;
}

static json_object *product_area(ipmi_fru_ctx_t fru, const uint8_t *buf, unsigned len)
{
    uint8_t lang = 0;
    ipmi_fru_field_t mfg, name, part, version, serial, asset, file_id;
    if (ipmi_fru_product_info_area(fru, buf, len, &lang, &mfg, &name, &part, &version, &serial,
                                   &asset, &file_id, NULL, 0) < 0)
        return NULL;
    json_object *o = json_object_new_object();
    add_field(o, "manufacturer", fru, &mfg, lang);
    add_field(o, "name", fru, &name, lang);
    add_field(o, "part_number", fru, &part, lang);
    add_field(o, "version", fru, &version, lang);
    add_field(o, "serial", fru, &serial, lang);
    add_field(o, "asset_tag", fru, &asset, lang);
    return o;
}

/* FRU library errors that mean "this BMC has no (usable) FRU 0": an empty
 * "fru", not a failed inventory. */
static bool fru_absent(ipmi_fru_ctx_t fru, ipmi_ctx_t ctx)
{
    int e = ipmi_fru_ctx_errnum(fru);
    if (e == IPMI_FRU_ERR_IPMI_ERROR) {
        /* The BMC answered, with "no such command" or a completion code
         * such as "FRU device not present" (0xCB). */
        int ie = ipmi_ctx_errnum(ctx);
        return ie == IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED || ie == IPMI_ERR_BAD_COMPLETION_CODE;
    }
    return e != IPMI_FRU_ERR_OUT_OF_MEMORY && e != IPMI_FRU_ERR_SYSTEM_ERROR &&
           e != IPMI_FRU_ERR_INTERNAL_ERROR;
}

static int read_fru(ipmi_ctx_t ctx, void *arg)
{
    struct fru_arg *a = arg;
    const char *node = a->s->node;
    /* A repeat on a fresh session starts from an empty object. */
    json_object_put(a->fru);
    a->fru = json_object_new_object();

    ipmi_fru_ctx_t fru = ipmi_fru_ctx_create(ctx);
    if (!fru) {
        /* Out of memory: the inventory still has the BMC's part. */
        ul_warn("node %s: cannot create a FreeIPMI FRU context; inventory without FRU", node);
        return 0;
    }
    int rv = 0;
    uint8_t *buf = xmalloc(IPMI_FRU_AREA_SIZE_MAX + 1);
    if (ipmi_fru_open_device_id(fru, 0) < 0) {
        if (fru_absent(fru, ctx))
            ul_debug("node %s: no FRU 0: %s", node, ipmi_fru_ctx_errormsg(fru));
        else
            rv = -1;
        goto out;
    }
    int more = ipmi_fru_first(fru);
    while (more >= 0) {
        /* FreeIPMI 1.6 ends the walk with one step that reads nothing and
         * leaves the type as it was: start from no type at all. */
        unsigned type = UINT_MAX, len = 0;
        if (ipmi_fru_read_data_area(fru, &type, &len, buf, IPMI_FRU_AREA_SIZE_MAX) < 0) {
            if (ipmi_fru_ctx_errnum(fru) == IPMI_FRU_ERR_IPMI_ERROR && !fru_absent(fru, ctx)) {
                rv = -1;
                goto out;
            }
            ul_debug("node %s: FRU 0: skipping an area: %s", node, ipmi_fru_ctx_errormsg(fru));
        } else if (len > 0) {
            json_object *o = NULL;
            const char *key = NULL;
            switch (type) {
            case IPMI_FRU_AREA_TYPE_CHASSIS_INFO_AREA:
                key = "chassis";
                o = chassis_area(fru, buf, len);
                break;
            case IPMI_FRU_AREA_TYPE_BOARD_INFO_AREA:
                key = "board";
                o = board_area(fru, buf, len);
                break;
            case IPMI_FRU_AREA_TYPE_PRODUCT_INFO_AREA:
                key = "product";
                o = product_area(fru, buf, len);
                break;
            default:
                break; /* multi-records (PSU ratings, OEM): not reported yet */
            }
            if (key && !o)
                ul_debug("node %s: FRU 0: bad %s area: %s", node, key, ipmi_fru_ctx_errormsg(fru));
            else if (o && json_object_object_length(o) == 0)
                json_object_put(o);
            else if (o)
                json_object_object_add(a->fru, key, o);
        }
        if ((more = ipmi_fru_next(fru)) == 0)
            break;
    }
    if (more < 0) {
        /* A broken common header or area offset ends the walk; what was
         * read stands, unless the session itself failed. */
        if (ipmi_fru_ctx_errnum(fru) == IPMI_FRU_ERR_IPMI_ERROR && !fru_absent(fru, ctx))
            rv = -1;
        else
            ul_debug("node %s: FRU 0: %s", node, ipmi_fru_ctx_errormsg(fru));
    }
out:
    free(buf);
    ipmi_fru_ctx_destroy(fru);
    return rv;
}

ul_err ipmi_inventory_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    *out = NULL;
    json_object *bmc = json_object_new_object();
    ul_err rc = read_device_id(s, bmc, em);
    if (rc != UL_OK) {
        json_object_put(bmc);
        return rc;
    }
    struct fru_arg a = {.s = s, .fru = NULL};
    rc = ipmi_session_call(s, "read FRU", read_fru, &a, em);
    if (rc != UL_OK) {
        json_object_put(a.fru);
        json_object_put(bmc);
        return rc;
    }
    json_object *inv = json_object_new_object();
    json_object_object_add(inv, "bmc", bmc);
    json_object_object_add(inv, "fru", a.fru);
    *out = inv;
    return UL_OK;
}
