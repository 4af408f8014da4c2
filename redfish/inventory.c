/* inventory.c - a node's hardware inventory over Redfish, as one JSON object:
 *
 *   {"system": {manufacturer, model, serial_number, sku, bios_version, uuid,
 *               power_state, memory_gib, processor_count},
 *    "processors": [{id, model, manufacturer, cores, threads, speed_mhz}],
 *    "memory": [{id, capacity_mib, type, speed_mhz, manufacturer,
 *                part_number, serial_number}],
 *    "storage": [{id, controllers: [{name, model, firmware_version}],
 *                 drives: [{id, model, capacity_bytes, media_type, protocol,
 *                           serial_number, health}]}],
 *    "network_interfaces": [{id, mac_address, speed_mbps, link_status}],
 *    "firmware": [{id, name, version, updateable}]}
 *
 * Every part is found by links from the system and the service root.  What
 * the service lacks is left out (a section whose link is absent or answers
 * 404, a property that is absent or of the wrong type), so one inventory
 * shape serves every vendor; empty slots (State Absent: a DIMM socket with
 * nothing in it) are left out too.  Member counts are bounded.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

#define INV_MAX_PROCESSORS 64
#define INV_MAX_MEMORY 256
#define INV_MAX_STORAGE 32
#define INV_MAX_DRIVES 128
#define INV_MAX_NICS 64
#define INV_MAX_FIRMWARE 256

/* ---- field copies: absent or mistyped values are left out ---- */

void rf_put_str(json_object *dst, const char *key, json_object *src, const char *prop)
{
    char buf[256];
    const char *v = rf_prop_str(src, prop);
    if (!v)
        return;
    rf_copy_text(buf, sizeof(buf), v);
    if (buf[0])
        json_object_object_add(dst, key, json_object_new_string(buf));
}

/* Integers stay integers (drive capacities pass 2^53). */
void rf_put_num(json_object *dst, const char *key, json_object *src, const char *prop)
{
    double d;
    json_object *v = rf_prop(src, prop);
    if (json_object_is_type(v, json_type_int)) {
        json_object_object_add(dst, key, json_object_new_int64(json_object_get_int64(v)));
        return;
    }
    if (!rf_json_num(v, &d))
        return;
    if (d == floor(d) && fabs(d) < 9e15)
        json_object_object_add(dst, key, json_object_new_int64((int64_t)d));
    else
        json_object_object_add(dst, key, json_object_new_double(d));
}

void rf_put_bool(json_object *dst, const char *key, json_object *src, const char *prop)
{
    json_object *v = rf_prop(src, prop);
    if (json_object_is_type(v, json_type_boolean))
        json_object_object_add(dst, key, json_object_new_boolean(json_object_get_boolean(v)));
}

bool rf_absent(json_object *obj)
{
    const char *st = rf_prop_str(rf_prop(obj, "Status"), "State");
    return st && strcasecmp(st, "Absent") == 0;
}

/* ---- pure mappings ---- */

json_object *rf_inv_system(json_object *sys)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "manufacturer", sys, "Manufacturer");
    rf_put_str(o, "model", sys, "Model");
    rf_put_str(o, "serial_number", sys, "SerialNumber");
    rf_put_str(o, "sku", sys, "SKU");
    rf_put_str(o, "bios_version", sys, "BiosVersion");
    rf_put_str(o, "uuid", sys, "UUID");
    const char *ps = rf_prop_str(sys, "PowerState");
    if (ps)
        json_object_object_add(
            o, "power_state", json_object_new_string(bmc_power_state_name(rf_power_state_map(ps))));
    rf_put_num(o, "memory_gib", rf_prop(sys, "MemorySummary"), "TotalSystemMemoryGiB");
    rf_put_num(o, "processor_count", rf_prop(sys, "ProcessorSummary"), "Count");
    return o;
}

json_object *rf_inv_processor(json_object *p)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "id", p, "Id");
    rf_put_str(o, "model", p, "Model");
    rf_put_str(o, "manufacturer", p, "Manufacturer");
    rf_put_num(o, "cores", p, "TotalCores");
    rf_put_num(o, "threads", p, "TotalThreads");
    rf_put_num(o, "speed_mhz", p, rf_prop(p, "MaxSpeedMHz") ? "MaxSpeedMHz" : "OperatingSpeedMHz");
    return o;
}

json_object *rf_inv_memory(json_object *m)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "id", m, "Id");
    rf_put_num(o, "capacity_mib", m, "CapacityMiB");
    rf_put_str(o, "type", m, rf_prop_str(m, "MemoryDeviceType") ? "MemoryDeviceType" : "MemoryType");
    /* The schema spells it OperatingSpeedMhz; rf_prop forgives the case. */
    rf_put_num(o, "speed_mhz", m, "OperatingSpeedMhz");
    rf_put_str(o, "manufacturer", m, "Manufacturer");
    rf_put_str(o, "part_number", m, "PartNumber");
    rf_put_str(o, "serial_number", m, "SerialNumber");
    return o;
}

static void put_health(json_object *o, json_object *src)
{
    json_object *st = rf_prop(src, "Status");
    if (st)
        json_object_object_add(o, "health",
                               json_object_new_string(bmc_sensor_status_name(rf_health_map(st))));
}

json_object *rf_inv_drive(json_object *d)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "id", d, rf_prop_str(d, "Id") ? "Id" : "Name");
    rf_put_str(o, "model", d, "Model");
    rf_put_num(o, "capacity_bytes", d, "CapacityBytes");
    rf_put_str(o, "media_type", d, "MediaType");
    rf_put_str(o, "protocol", d, "Protocol");
    rf_put_str(o, "serial_number", d, "SerialNumber");
    put_health(o, d);
    return o;
}

json_object *rf_inv_nic(json_object *n)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "id", n, "Id");
    rf_put_str(o, "mac_address", n,
            rf_prop_str(n, "MACAddress") ? "MACAddress" : "PermanentMACAddress");
    rf_put_num(o, "speed_mbps", n, "SpeedMbps");
    rf_put_str(o, "link_status", n, "LinkStatus");
    return o;
}

json_object *rf_inv_firmware(json_object *f)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "id", f, "Id");
    rf_put_str(o, "name", f, "Name");
    rf_put_str(o, "version", f, "Version");
    rf_put_bool(o, "updateable", f, "Updateable");
    return o;
}

/* ---- walking ---- */

struct inv {
    struct rf_visited visited;
    json_object *(*map)(json_object *); /* for list_member */
    json_object *list;
};

static ul_err list_member(struct rf_session *s, json_object *obj, const char *path, void *arg,
                          ul_errmsg *em)
{
    struct inv *iv = arg;
    if (!rf_absent(obj))
        json_object_array_add(iv->list, iv->map(obj));
    return UL_OK;
}

/* A collection linked from obj as prop, mapped member by member into a new
 * array added to dst as key.  Absent links and 404s leave the key out. */
static ul_err section(struct rf_session *s, struct inv *iv, json_object *obj, const char *base,
                      const char *prop, size_t max, json_object *(*map)(json_object *),
                      json_object *dst, const char *key, ul_errmsg *em)
{
    char path[RF_PATH_MAX];
    const char *l = rf_prop_link(obj, prop);
    if (!l)
        return UL_OK;
    if (!rf_link_resolve(base, l, path, sizeof(path)))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: '%s' is not a Redfish path",
                             s->node, base, prop);
    iv->map = map;
    iv->list = json_object_new_array();
    ul_err rc = rf_collection_walk(s, path, true, max, &iv->visited, list_member, iv, em);
    if (rc == UL_OK)
        json_object_object_add(dst, key, iv->list);
    else
        json_object_put(iv->list);
    iv->list = NULL;
    return rc == UL_ERR_UNSUPPORTED ? UL_OK : rc;
}

static json_object *controller_map(json_object *c)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "name", c, "Name");
    rf_put_str(o, "model", c, "Model");
    rf_put_str(o, "firmware_version", c, "FirmwareVersion");
    return o;
}

/* Drives linked from a Storage resource, each fetched (bounded). */
static ul_err storage_drives(struct rf_session *s, struct inv *iv, json_object *st,
                             const char *path, json_object *drives, ul_errmsg *em)
{
    json_object *arr = rf_prop(st, "Drives");
    for (size_t i = 0; json_object_is_type(arr, json_type_array) &&
                       i < json_object_array_length(arr) && i < INV_MAX_DRIVES;
         i++) {
        char dpath[RF_PATH_MAX];
        const char *l = rf_link_of(json_object_array_get_idx(arr, i));
        if (!l || !rf_link_resolve(path, l, dpath, sizeof(dpath)))
            return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                 "node %s: GET %s: Drives[%zu] is not a link to a Redfish path",
                                 s->node, path, i);
        int fresh = rf_visited_add(&iv->visited, dpath);
        if (fresh < 0)
            return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                 "node %s: GET %s: too many resources (link loop?)", s->node, path);
        if (fresh == 0)
            continue;
        json_object *d = NULL;
        ul_err rc = rf_get(s, dpath, &d, NULL, em);
        if (rc == UL_ERR_UNSUPPORTED)
            continue; /* a stale drive link */
        if (rc != UL_OK)
            return rc;
        if (!rf_absent(d)) {
            json_object *o = rf_inv_drive(d);
            if (!rf_prop(o, "id")) {
                /* Drives without Id or Name (the DMTF tower's M.2 drives):
                 * the last segment of the link names them. */
                char buf[64];
                size_t end = strlen(dpath);
                while (end > 1 && dpath[end - 1] == '/')
                    end--;
                size_t start = end;
                while (start > 0 && dpath[start - 1] != '/')
                    start--;
                snprintf(buf, sizeof(buf), "%.*s", (int)(end - start), dpath + start);
                json_object_object_add(o, "id", json_object_new_string(buf));
            }
            json_object_array_add(drives, o);
        }
        json_object_put(d);
    }
    return UL_OK;
}

static ul_err storage_member(struct rf_session *s, json_object *st, const char *path, void *arg,
                             ul_errmsg *em)
{
    struct inv *iv = arg;
    json_object *o = json_object_new_object();
    json_object *ctrls = json_object_new_array();
    json_object *drives = json_object_new_array();
    ul_err rc = UL_OK;
    rf_put_str(o, "id", st, "Id");
    json_object *sc = rf_prop(st, "StorageControllers");
    if (json_object_is_type(sc, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(sc) && i < INV_MAX_STORAGE; i++) {
            json_object *c = json_object_array_get_idx(sc, i);
            if (json_object_is_type(c, json_type_object))
                json_object_array_add(ctrls, controller_map(c));
        }
    } else {
        /* Storage 1.15+: a Controllers collection instead of the array. */
        json_object *holder = json_object_new_object();
        json_object *saved = iv->list;
        rc = section(s, iv, st, path, "Controllers", INV_MAX_STORAGE, controller_map, holder, "c",
                     em);
        iv->list = saved;
        json_object *got = rf_prop(holder, "c");
        for (size_t i = 0; got && i < json_object_array_length(got); i++)
            json_object_array_add(ctrls, json_object_get(json_object_array_get_idx(got, i)));
        json_object_put(holder);
        if (rc != UL_OK)
            goto out;
    }
    if ((rc = storage_drives(s, iv, st, path, drives, em)) != UL_OK)
        goto out;
    json_object_object_add(o, "controllers", ctrls);
    json_object_object_add(o, "drives", drives);
    ctrls = drives = NULL;
    json_object_array_add(iv->list, o);
    o = NULL;
out:
    json_object_put(ctrls);
    json_object_put(drives);
    json_object_put(o);
    return rc;
}

/* SimpleStorage (the DMTF rack mockup has no Storage): its Devices array. */
static ul_err simple_storage_member(struct rf_session *s, json_object *st, const char *path,
                                    void *arg, ul_errmsg *em)
{
    struct inv *iv = arg;
    json_object *o = json_object_new_object();
    json_object *ctrls = json_object_new_array();
    json_object *drives = json_object_new_array();
    rf_put_str(o, "id", st, "Id");
    json_object *c = json_object_new_object();
    rf_put_str(c, "name", st, "Name");
    json_object_array_add(ctrls, c);
    json_object *dev = rf_prop(st, "Devices");
    for (size_t i = 0; json_object_is_type(dev, json_type_array) &&
                       i < json_object_array_length(dev) && i < INV_MAX_DRIVES;
         i++) {
        json_object *d = json_object_array_get_idx(dev, i);
        if (json_object_is_type(d, json_type_object) && !rf_absent(d))
            json_object_array_add(drives, rf_inv_drive(d));
    }
    json_object_object_add(o, "controllers", ctrls);
    json_object_object_add(o, "drives", drives);
    json_object_array_add(iv->list, o);
    return UL_OK;
}

static ul_err storage_section(struct rf_session *s, struct inv *iv, json_object *sys,
                              json_object *inv, ul_errmsg *em)
{
    char path[RF_PATH_MAX];
    bool simple = false;
    const char *l = rf_prop_link(sys, "Storage");
    if (!l) {
        l = rf_prop_link(sys, "SimpleStorage");
        simple = true;
    }
    if (!l)
        return UL_OK;
    if (!rf_link_resolve(s->system_path, l, path, sizeof(path)))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET %s: 'Storage' is not a Redfish path", s->node,
                             s->system_path);
    iv->list = json_object_new_array();
    ul_err rc = rf_collection_walk(s, path, true, INV_MAX_STORAGE, &iv->visited,
                                   simple ? simple_storage_member : storage_member, iv, em);
    if (rc == UL_OK)
        json_object_object_add(inv, "storage", iv->list);
    else
        json_object_put(iv->list);
    iv->list = NULL;
    return rc == UL_ERR_UNSUPPORTED ? UL_OK : rc;
}

static ul_err firmware_section(struct rf_session *s, struct inv *iv, json_object *inv,
                               ul_errmsg *em)
{
    char path[RF_PATH_MAX];
    json_object *us = NULL;
    const char *l = rf_prop_link(s->root, "UpdateService");
    if (!l || !rf_link_resolve("/redfish/v1", l, path, sizeof(path)))
        return UL_OK;
    ul_err rc = rf_get(s, path, &us, NULL, em);
    if (rc == UL_OK)
        rc = section(s, iv, us, path, "FirmwareInventory", INV_MAX_FIRMWARE, rf_inv_firmware, inv,
                     "firmware", em);
    json_object_put(us);
    return rc == UL_ERR_UNSUPPORTED ? UL_OK : rc;
}

/* How the driver reaches this node, for the operator: the system's path,
 * how the session authenticates (and whether that is the fallback from a
 * login without a token), and which chassis the sensors come from and by
 * which rule (rf_chassis_match). */
static ul_err session_details(struct rf_session *s, json_object *sys, json_object *inv,
                              ul_errmsg *em)
{
    char(*chassis)[RF_PATH_MAX] = xcalloc(RF_MAX_CHASSIS, sizeof(*chassis));
    size_t n = 0;
    ul_errmsg cem = {{0}};
    ul_err rc = rf_system_chassis(s, sys, chassis, RF_MAX_CHASSIS, &n, &cem);
    if (rc == UL_ERR_INTERRUPTED || rc == UL_ERR_TIMEOUT) {
        ul_errmsg_set(em, rc, "%s", cem.text); /* the job's stop or deadline */
    } else {
        /* A Chassis collection we cannot read does not hide the rest of
         * the inventory: the section says why instead. */
        if (rc != UL_OK) {
            n = 0;
            s->chassis_rule = NULL;
        }
        json_object *d = json_object_new_object();
        json_object_object_add(d, "system_path", json_object_new_string(s->system_path));
        json_object_object_add(d, "auth", json_object_new_string(rf_auth_name(s)));
        json_object_object_add(d, "auth_fallback", json_object_new_boolean(s->auth_fallback));
        json_object *arr = json_object_new_array();
        for (size_t i = 0; i < n; i++)
            json_object_array_add(arr, json_object_new_string(chassis[i]));
        json_object_object_add(d, "chassis", arr);
        json_object_object_add(d, "chassis_rule",
                               json_object_new_string(s->chassis_rule ? s->chassis_rule : "none"));
        if (rc != UL_OK)
            json_object_object_add(d, "chassis_error", json_object_new_string(cem.text));
        json_object_object_add(inv, "redfish", d);
        rc = UL_OK;
    }
    free(chassis);
    return rc;
}

ul_err rf_inventory_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    struct inv iv = {0};
    json_object *sys = NULL;
    json_object *inv = json_object_new_object();
    *out = NULL;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc != UL_OK)
        goto out;
    json_object_object_add(inv, "system", rf_inv_system(sys));
    if ((rc = session_details(s, sys, inv, em)) != UL_OK)
        goto out;
    if ((rc = section(s, &iv, sys, s->system_path, "Processors", INV_MAX_PROCESSORS,
                      rf_inv_processor, inv, "processors", em)) != UL_OK)
        goto out;
    if ((rc = section(s, &iv, sys, s->system_path, "Memory", INV_MAX_MEMORY, rf_inv_memory, inv,
                      "memory", em)) != UL_OK)
        goto out;
    if ((rc = storage_section(s, &iv, sys, inv, em)) != UL_OK)
        goto out;
    if ((rc = section(s, &iv, sys, s->system_path, "EthernetInterfaces", INV_MAX_NICS, rf_inv_nic,
                      inv, "network_interfaces", em)) != UL_OK)
        goto out;
    if ((rc = firmware_section(s, &iv, inv, em)) != UL_OK)
        goto out;
    *out = inv;
    inv = NULL;
out:
    json_object_put(inv);
    json_object_put(sys);
    rf_visited_free(&iv.visited);
    return rc;
}
