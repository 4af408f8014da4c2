/* storage.c - RAID controllers, drives and volumes over Redfish.
 *
 * The system's Storage collection holds one Storage resource per controller
 * (its StorageControllers array, or a Controllers collection in Storage
 * 1.15+), links to its Drives and to a Volumes collection.  A volume is
 * created by POSTing to that collection and deleted with DELETE; either may
 * answer 202 with a task to follow.  What RAID types a controller can build
 * comes from SupportedRAIDTypes, or from the Volumes collection's
 * capabilities object (RAIDType@Redfish.AllowableValues).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

#define ST_MAX_STORAGE 32
#define ST_MAX_DRIVES 128
#define ST_MAX_VOLUMES 256

/* The last segment of a link: what a resource without an Id is called. */
static void last_segment(const char *path, char *out, size_t outlen)
{
    size_t end = strlen(path);
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t start = end;
    while (start > 0 && path[start - 1] != '/')
        start--;
    snprintf(out, outlen, "%.*s", (int)(end - start), path + start);
}

static void put_id(json_object *o, json_object *src, const char *path)
{
    char id[128];
    const char *v = rf_prop_str(src, "Id");
    if (v)
        rf_copy_text(id, sizeof(id), v);
    else
        last_segment(path, id, sizeof(id));
    json_object_object_add(o, "id", json_object_new_string(id));
}

static void put_health(json_object *o, json_object *src)
{
    json_object *st = rf_prop(src, "Status");
    rf_put_str(o, "health", st, "Health");
    rf_put_str(o, "state", st, "State");
}

/* The last segments of the links in src[prop] (an array of links). */
static json_object *link_ids(json_object *arr)
{
    json_object *ids = json_object_new_array();
    size_t n = json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    for (size_t i = 0; i < n && i < ST_MAX_DRIVES; i++) {
        const char *l = rf_link_of(json_object_array_get_idx(arr, i));
        if (!l)
            continue;
        char id[128];
        last_segment(l, id, sizeof(id));
        json_object_array_add(ids, json_object_new_string(id));
    }
    return ids;
}

json_object *rf_storage_drive(json_object *d)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "name", d, "Name");
    rf_put_str(o, "model", d, "Model");
    rf_put_str(o, "serial", d, "SerialNumber");
    rf_put_num(o, "capacity_bytes", d, "CapacityBytes");
    rf_put_str(o, "media", d, "MediaType");
    rf_put_str(o, "protocol", d, "Protocol");
    put_health(o, d);
    json_object_object_add(o, "volumes", link_ids(rf_prop(rf_prop(d, "Links"), "Volumes")));
    return o;
}

json_object *rf_storage_volume(json_object *v)
{
    json_object *o = json_object_new_object();
    rf_put_str(o, "name", v, "Name");
    rf_put_str(o, "raid_type", v, "RAIDType");
    if (!rf_prop(o, "raid_type"))
        rf_put_str(o, "raid_type", v, "VolumeType"); /* Volume < 1.3: legacy names */
    rf_put_num(o, "capacity_bytes", v, "CapacityBytes");
    put_health(o, v);
    json_object_object_add(o, "drives", link_ids(rf_prop(rf_prop(v, "Links"), "Drives")));
    return o;
}

/* ---- reading ---- */

struct st_walk {
    json_object *list;        /* where members go */
    json_object *controllers; /* the result's array */
};

static ul_err volume_member(struct rf_session *s, json_object *v, const char *path, void *arg,
                            ul_errmsg *em)
{
    (void)s;
    (void)em;
    struct st_walk *w = arg;
    json_object *o = rf_storage_volume(v);
    put_id(o, v, path);
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_array_add(w->list, o);
    return UL_OK;
}

/* One RAID type name from the BMC into types: strings only, cleaned. */
static void add_type(json_object *types, json_object *v)
{
    char name[32];
    if (!json_object_is_type(v, json_type_string))
        return;
    rf_copy_text(name, sizeof(name), json_object_get_string(v));
    if (name[0])
        json_object_array_add(types, json_object_new_string(name));
}

/* RAID types from the controllers' SupportedRAIDTypes, else from the
 * Volumes collection's capabilities object. */
static json_object *raid_types(struct rf_session *s, json_object *st, json_object *vols_coll,
                               const char *vols_path)
{
    json_object *types = json_object_new_array();
    json_object *sc = rf_prop(st, "StorageControllers");
    for (size_t i = 0;
         json_object_is_type(sc, json_type_array) && i < json_object_array_length(sc) && i < 8;
         i++) {
        json_object *t = rf_prop(json_object_array_get_idx(sc, i), "SupportedRAIDTypes");
        for (size_t k = 0;
             json_object_is_type(t, json_type_array) && k < json_object_array_length(t) && k < 32;
             k++) {
            add_type(types, json_object_array_get_idx(t, k));
        }
    }
    if (json_object_array_length(types) > 0 || !vols_coll)
        return types;
    json_object *caps =
        rf_prop(rf_prop(vols_coll, "@Redfish.CollectionCapabilities"), "Capabilities");
    const char *l = json_object_is_type(caps, json_type_array) && json_object_array_length(caps)
                        ? rf_prop_link(json_object_array_get_idx(caps, 0), "CapabilitiesObject")
                        : NULL;
    char cpath[RF_PATH_MAX];
    json_object *cap = NULL;
    ul_errmsg em;
    if (l && rf_link_resolve(vols_path, l, cpath, sizeof(cpath)) &&
        rf_get(s, cpath, &cap, NULL, &em) == UL_OK) {
        json_object *allowed = rf_prop(cap, "RAIDType@Redfish.AllowableValues");
        for (size_t k = 0; json_object_is_type(allowed, json_type_array) &&
                           k < json_object_array_length(allowed) && k < 32;
             k++)
            add_type(types, json_object_array_get_idx(allowed, k));
    }
    json_object_put(cap);
    return types;
}

static ul_err storage_member(struct rf_session *s, json_object *st, const char *path, void *arg,
                             ul_errmsg *em)
{
    struct st_walk *w = arg;
    json_object *c = json_object_new_object();
    json_object *drives = json_object_new_array();
    json_object *vols = json_object_new_array();
    json_object *vcoll = NULL;
    ul_err rc = UL_OK;
    put_id(c, st, path);
    json_object_object_add(c, "path", json_object_new_string(path));
    rf_put_str(c, "name", st, "Name");
    json_object *sc = rf_prop(st, "StorageControllers");
    json_object *c0 = json_object_is_type(sc, json_type_array) && json_object_array_length(sc)
                          ? json_object_array_get_idx(sc, 0)
                          : NULL;
    if (c0) {
        rf_put_str(c, "model", c0, "Model");
        rf_put_str(c, "firmware", c0, "FirmwareVersion");
        if (!rf_prop(c, "name"))
            rf_put_str(c, "name", c0, "Name");
    }
    put_health(c, st);

    json_object *arr = rf_prop(st, "Drives");
    for (size_t i = 0; json_object_is_type(arr, json_type_array) &&
                       i < json_object_array_length(arr) && i < ST_MAX_DRIVES;
         i++) {
        char dpath[RF_PATH_MAX];
        const char *l = rf_link_of(json_object_array_get_idx(arr, i));
        if (!l || !rf_link_resolve(path, l, dpath, sizeof(dpath))) {
            rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                               "node %s: GET %s: Drives[%zu] is not a link to a Redfish path",
                               s->node, path, i);
            goto out;
        }
        json_object *d = NULL;
        rc = rf_get(s, dpath, &d, NULL, em);
        if (rc == UL_ERR_UNSUPPORTED) {
            rc = UL_OK; /* a stale link */
            continue;
        }
        if (rc != UL_OK)
            goto out;
        if (!rf_absent(d)) {
            json_object *o = rf_storage_drive(d);
            put_id(o, d, dpath);
            json_object_object_add(o, "path", json_object_new_string(dpath));
            json_object_array_add(drives, o);
        }
        json_object_put(d);
    }

    char vpath[RF_PATH_MAX] = "";
    const char *vl = rf_prop_link(st, "Volumes");
    if (vl && rf_link_resolve(path, vl, vpath, sizeof(vpath))) {
        rc = rf_get(s, vpath, &vcoll, NULL, em);
        if (rc == UL_OK) {
            struct st_walk vw = {.list = vols};
            rc = rf_collection_walk(s, vpath, true, ST_MAX_VOLUMES, NULL, volume_member, &vw, em);
        }
        if (rc == UL_ERR_UNSUPPORTED) {
            rc = UL_OK;
            vpath[0] = '\0';
        }
        if (rc != UL_OK)
            goto out;
        if (vpath[0])
            json_object_object_add(c, "volumes_path", json_object_new_string(vpath));
    }
    json_object_object_add(c, "raid_types", raid_types(s, st, vcoll, vpath));
    json_object_object_add(c, "drives", drives);
    json_object_object_add(c, "volumes", vols);
    drives = vols = NULL;
    json_object_array_add(w->controllers, c);
    c = NULL;
out:
    json_object_put(vcoll);
    json_object_put(drives);
    json_object_put(vols);
    json_object_put(c);
    return rc;
}

ul_err rf_storage_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *sys = NULL;
    char path[RF_PATH_MAX];
    *out = NULL;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc != UL_OK)
        return rc;
    const char *l = rf_prop_link(sys, "Storage");
    if (!l) {
        json_object_put(sys);
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: RAID configuration not supported by this BMC (the system "
                             "has no Storage resource)",
                             s->node);
    }
    if (!rf_link_resolve(s->system_path, l, path, sizeof(path))) {
        json_object_put(sys);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET %s: 'Storage' is not a Redfish path", s->node,
                             s->system_path);
    }
    json_object_put(sys);
    struct st_walk w = {.controllers = json_object_new_array()};
    rc = rf_collection_walk(s, path, true, ST_MAX_STORAGE, NULL, storage_member, &w, em);
    if (rc != UL_OK) {
        json_object_put(w.controllers);
        return rc;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "controllers", w.controllers);
    *out = o;
    return UL_OK;
}

/* ---- changes ---- */

/* The controller a change is for: by id, or the only one with volumes. */
static ul_err pick_controller(struct rf_session *s, json_object *storage, const char *id,
                              json_object **out, ul_errmsg *em)
{
    json_object *ctrls = rf_prop(storage, "controllers");
    json_object *found = NULL;
    int candidates = 0;
    for (size_t i = 0; i < json_object_array_length(ctrls); i++) {
        json_object *c = json_object_array_get_idx(ctrls, i);
        const char *cid = rf_prop_str(c, "id");
        if (id) {
            if (cid && strcasecmp(cid, id) == 0)
                found = c;
        } else if (rf_prop_str(c, "volumes_path") && rf_prop_str(c, "volumes_path")[0]) {
            found = c;
            candidates++;
        }
    }
    if (!id && candidates > 1)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "node %s: %d storage controllers manage volumes; name one "
                             "(--controller)",
                             s->node, candidates);
    if (!found && id)
        return ul_errmsg_set(em, UL_ERR_NOT_FOUND, "node %s: no storage controller '%.64s'",
                             s->node, id);
    if (!found)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: RAID volumes not supported by this BMC (no controller "
                             "has a Volumes collection)",
                             s->node);
    const char *vp = rf_prop_str(found, "volumes_path");
    if (!vp || !vp[0])
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: controller %s: volumes not supported by this BMC", s->node,
                             rf_prop_str(found, "id"));
    *out = found;
    return UL_OK;
}

static json_object *find_by_id(json_object *arr, const char *id)
{
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *x = json_object_array_get_idx(arr, i);
        const char *xid = rf_prop_str(x, "id");
        if (xid && strcasecmp(xid, id) == 0)
            return x;
    }
    return NULL;
}

ul_err rf_volume_create(struct ul_bmc_session *bs, const struct ul_volume_spec *v,
                        char volume_id[64], struct ul_task_ref *task, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *storage = NULL, *c = NULL;
    struct rf_reply r = {0};
    memset(task, 0, sizeof(*task));
    volume_id[0] = '\0';
    ul_err rc = rf_storage_read(&s->base, &storage, em);
    if (rc != UL_OK)
        return rc;
    if ((rc = pick_controller(s, storage, v->controller, &c, em)) != UL_OK)
        goto out;
    const char *vpath = rf_prop_str(c, "volumes_path");
    json_object *body = json_object_new_object();
    json_object_object_add(body, "Name", json_object_new_string(v->name));
    json_object_object_add(body, "RAIDType", json_object_new_string(v->raid_type));
    if (v->capacity_bytes)
        json_object_object_add(body, "CapacityBytes",
                               json_object_new_int64((int64_t)v->capacity_bytes));
    if (v->ndrives) {
        json_object *links = json_object_new_object();
        json_object *drives = json_object_new_array();
        for (size_t i = 0; i < v->ndrives; i++) {
            json_object *d = find_by_id(rf_prop(c, "drives"), v->drives[i]);
            if (!d) {
                json_object_put(drives);
                json_object_put(links);
                json_object_put(body);
                rc =
                    ul_errmsg_set(em, UL_ERR_INVALID, "node %s: controller %s has no drive '%.64s'",
                                  s->node, rf_prop_str(c, "id"), v->drives[i]);
                goto out;
            }
            json_object *ref = json_object_new_object();
            json_object_object_add(ref, "@odata.id",
                                   json_object_new_string(rf_prop_str(d, "path")));
            json_object_array_add(drives, ref);
        }
        json_object_object_add(links, "Drives", drives);
        json_object_object_add(body, "Links", links);
    }
    char *text = xstrdup(json_object_to_json_string_ext(body, JSON_C_TO_STRING_PLAIN));
    json_object_put(body);
    rc = rf_request(s, "POST", vpath, text, NULL, &r, em);
    free(text);
    if (rc != UL_OK)
        goto out;
    if (r.status == 400) {
        char msgs[900];
        rf_service_messages(r.body, msgs, sizeof(msgs));
        rc = ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: the BMC refused the volume: %s", s->node,
                           msgs[0] ? msgs : "HTTP 400 without a message");
        goto out;
    }
    if (r.status < 200 || r.status >= 300) {
        rc = rf_status_error(s, "POST", vpath, &r, em);
        goto out;
    }
    if (r.status == 202) {
        rf_task_ref_from_reply(s, vpath, &r, task);
        goto out;
    }
    /* 201 with Location (or the new volume in the body). */
    json_object *made = NULL;
    ul_errmsg pem;
    if (r.location[0]) {
        char lpath[RF_PATH_MAX];
        if (rf_link_resolve(vpath, r.location, lpath, sizeof(lpath)))
            last_segment(lpath, volume_id, 64);
    } else if (r.body && rf_parse(s, "POST", vpath, r.body, r.len, &made, &pem) == UL_OK) {
        const char *id = rf_prop_str(made, "Id");
        if (id)
            rf_copy_text(volume_id, 64, id);
    }
    json_object_put(made);
out:
    rf_reply_free(&r);
    json_object_put(storage);
    return rc;
}

ul_err rf_volume_delete(struct ul_bmc_session *bs, const char *controller, const char *volume,
                        struct ul_task_ref *task, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *storage = NULL, *c = NULL;
    struct rf_reply r = {0};
    memset(task, 0, sizeof(*task));
    ul_err rc = rf_storage_read(&s->base, &storage, em);
    if (rc != UL_OK)
        return rc;
    if ((rc = pick_controller(s, storage, controller, &c, em)) != UL_OK)
        goto out;
    json_object *vol = find_by_id(rf_prop(c, "volumes"), volume);
    if (!vol) {
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "node %s: controller %s has no volume '%.64s'",
                           s->node, rf_prop_str(c, "id"), volume);
        goto out;
    }
    const char *vpath = rf_prop_str(vol, "path");
    if ((rc = rf_request(s, "DELETE", vpath, NULL, NULL, &r, em)) != UL_OK)
        goto out;
    if (r.status == 400) {
        char msgs[900];
        rf_service_messages(r.body, msgs, sizeof(msgs));
        rc = ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: the BMC refused to delete %s: %s",
                           s->node, volume, msgs[0] ? msgs : "HTTP 400 without a message");
    } else if (r.status < 200 || r.status >= 300) {
        rc = rf_status_error(s, "DELETE", vpath, &r, em);
    } else if (r.status == 202) {
        rf_task_ref_from_reply(s, vpath, &r, task);
    }
out:
    rf_reply_free(&r);
    json_object_put(storage);
    return rc;
}
