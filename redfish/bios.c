/* bios.c - BIOS settings over Redfish.
 *
 * The Bios resource holds the current attributes; its @Redfish.Settings
 * annotation names the Settings resource that takes changes, the apply times
 * the service offers, and its report on the last apply (Messages).  Changes
 * are PATCHed to the Settings resource, never to Bios itself, and apply at
 * the next reset unless the service offers Immediate.  Services differ in
 * what the Settings resource shows: some only the staged attributes, some a
 * full copy; pending changes are therefore the attributes whose value there
 * differs from the current one.
 *
 * The attribute registry the Bios resource names is found through the
 * service root's Registries collection (MessageRegistryFile -> Location),
 * read once per session, and normalised to the shape of ops/bios.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

#define BIOS_MAX_ATTRIBUTES 4096
#define BIOS_MAX_REGISTRIES 256

/* The system's Bios resource and its path. */
static ul_err bios_get(struct rf_session *s, json_object **bios, char path[RF_PATH_MAX],
                       ul_errmsg *em)
{
    json_object *sys = NULL;
    *bios = NULL;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc != UL_OK)
        return rc;
    const char *l = rf_prop_link(sys, "Bios");
    if (!l) {
        json_object_put(sys);
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: BIOS settings not supported by this BMC (the system has "
                             "no Bios resource)",
                             s->node);
    }
    if (!rf_link_resolve(s->system_path, l, path, RF_PATH_MAX)) {
        json_object_put(sys);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: 'Bios' is not a Redfish path",
                             s->node, s->system_path);
    }
    json_object_put(sys);
    return rf_get(s, path, bios, NULL, em);
}

/* The Settings resource's path, or "" when the service has none (then
 * the Bios resource itself is read-only to us). */
static void settings_path(json_object *bios, const char *bios_path, char out[RF_PATH_MAX])
{
    out[0] = '\0';
    json_object *rs = rf_prop(bios, "@Redfish.Settings");
    const char *l = rf_prop_link(rs, "SettingsObject");
    if (l && !rf_link_resolve(bios_path, l, out, RF_PATH_MAX))
        out[0] = '\0';
}

json_object *rf_bios_pending(json_object *current, json_object *settings)
{
    json_object *pending = json_object_new_object();
    json_object *sa = rf_prop(settings, "Attributes");
    if (!json_object_is_type(sa, json_type_object))
        return pending;
    json_object_object_foreach(sa, name, val)
    {
        json_object *cur = NULL;
        if (json_object_is_type(current, json_type_object))
            json_object_object_get_ex(current, name, &cur);
        if (!cur || !json_object_equal(cur, val))
            json_object_object_add(pending, name, json_object_get(val));
    }
    return pending;
}

/* @Redfish.Settings.Messages into [{"id", "message", "attributes": [..]}]. */
static json_object *settings_messages(json_object *rs)
{
    json_object *out = json_object_new_array();
    json_object *msgs = rf_prop(rs, "Messages");
    size_t n = json_object_is_type(msgs, json_type_array) ? json_object_array_length(msgs) : 0;
    for (size_t i = 0; i < n && i < 256; i++) {
        json_object *m = json_object_array_get_idx(msgs, i);
        if (!json_object_is_type(m, json_type_object))
            continue;
        json_object *o = json_object_new_object();
        rf_put_str(o, "id", m, "MessageId");
        rf_put_str(o, "message", m, "Message");
        if (!rf_prop(o, "message") && rf_prop(o, "id"))
            /* Some services give only the registry's message id. */
            json_object_object_add(o, "message", json_object_get(rf_prop(o, "id")));
        rf_put_str(o, "severity", m, "Severity");
        json_object *attrs = json_object_new_array();
        json_object *rel = rf_prop(m, "RelatedProperties");
        size_t nr = json_object_is_type(rel, json_type_array) ? json_object_array_length(rel) : 0;
        for (size_t k = 0; k < nr && k < 64; k++) {
            const char *p = json_object_get_string(json_object_array_get_idx(rel, k));
            /* "#/Attributes/Name" or "/Attributes/Name": keep the name. */
            const char *slash = p ? strrchr(p, '/') : NULL;
            char name[128];
            rf_copy_text(name, sizeof(name), slash ? slash + 1 : (p ? p : ""));
            if (name[0])
                json_object_array_add(attrs, json_object_new_string(name));
        }
        json_object_object_add(o, "attributes", attrs);
        json_object_array_add(out, o);
    }
    return out;
}

ul_err rf_bios_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *bios = NULL, *settings = NULL;
    char path[RF_PATH_MAX], spath[RF_PATH_MAX];
    *out = NULL;
    ul_err rc = bios_get(s, &bios, path, em);
    if (rc != UL_OK)
        return rc;
    json_object *attrs = rf_prop(bios, "Attributes");
    if (!json_object_is_type(attrs, json_type_object)) {
        json_object_put(bios);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: no Attributes object", s->node,
                             path);
    }
    if (json_object_object_length(attrs) > BIOS_MAX_ATTRIBUTES) {
        json_object_put(bios);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: more than %d attributes",
                             s->node, path, BIOS_MAX_ATTRIBUTES);
    }
    settings_path(bios, path, spath);
    if (spath[0] && (rc = rf_get(s, spath, &settings, NULL, em)) != UL_OK) {
        json_object_put(bios);
        return rc;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "attributes", json_object_get(attrs));
    json_object_object_add(o, "pending", rf_bios_pending(attrs, settings));
    const char *reg = rf_prop_str(bios, "AttributeRegistry");
    char regname[128];
    if (reg)
        rf_copy_text(regname, sizeof(regname), reg);
    json_object_object_add(o, "registry", reg ? json_object_new_string(regname) : NULL);
    json_object_object_add(o, "settings", spath[0] ? json_object_new_string(spath) : NULL);
    json_object *rs = rf_prop(bios, "@Redfish.Settings");
    json_object *times = json_object_new_array();
    json_object *sat = rf_prop(rs, "SupportedApplyTimes");
    for (size_t i = 0;
         json_object_is_type(sat, json_type_array) && i < json_object_array_length(sat) && i < 16;
         i++) {
        json_object *t = json_object_array_get_idx(sat, i);
        if (json_object_is_type(t, json_type_string))
            json_object_array_add(times, json_object_get(t));
    }
    json_object_object_add(o, "apply_times", times);
    json_object_object_add(o, "messages", settings_messages(rs));
    const char *when = rf_prop_str(rs, "Time");
    json_object_object_add(o, "applied_at", when ? json_object_new_string(when) : NULL);
    json_object_put(settings);
    json_object_put(bios);
    *out = o;
    return UL_OK;
}

/* ---- the attribute registry ---- */

static const char *type_name(const char *t)
{
    static const char *const known[] = {"Enumeration", "String", "Integer", "Boolean", "Password"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (t && strcasecmp(t, known[i]) == 0)
            return known[i];
    return NULL;
}

json_object *rf_bios_registry_normalise(json_object *reg, const char *name)
{
    json_object *out = json_object_new_object();
    json_object *attrs = json_object_new_object();
    json_object_object_add(out, "name", json_object_new_string(name ? name : ""));
    json_object *list = rf_prop(rf_prop(reg, "RegistryEntries"), "Attributes");
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n && i < BIOS_MAX_ATTRIBUTES; i++) {
        json_object *a = json_object_array_get_idx(list, i);
        const char *an = rf_prop_str(a, "AttributeName");
        const char *t = type_name(rf_prop_str(a, "Type"));
        if (!an)
            continue;
        /* A type we do not know still names a real attribute: it is kept,
         * as "unknown", and its values are left to the BMC to judge. */
        json_object *o = json_object_new_object();
        char lower[16];
        snprintf(lower, sizeof(lower), "%s", t ? t : "unknown");
        for (char *c = lower; *c; c++)
            *c = (char)(*c >= 'A' && *c <= 'Z' ? *c + 32 : *c);
        json_object_object_add(o, "type", json_object_new_string(lower));
        json_object *ro = rf_prop(a, "ReadOnly");
        json_object_object_add(o, "read_only",
                               json_object_new_boolean(json_object_is_type(ro, json_type_boolean) &&
                                                       json_object_get_boolean(ro)));
        rf_put_str(o, "display_name", a, "DisplayName");
        rf_put_num(o, "min", a, "LowerBound");
        rf_put_num(o, "max", a, "UpperBound");
        rf_put_num(o, "min_length", a, "MinLength");
        rf_put_num(o, "max_length", a, "MaxLength");
        json_object *vals = rf_prop(a, "Value");
        if (t && strcmp(t, "Enumeration") == 0 && json_object_is_type(vals, json_type_array)) {
            json_object *names = json_object_new_array();
            for (size_t k = 0; k < json_object_array_length(vals) && k < 1024; k++) {
                const char *vn = rf_prop_str(json_object_array_get_idx(vals, k), "ValueName");
                if (vn)
                    json_object_array_add(names, json_object_new_string(vn));
            }
            json_object_object_add(o, "values", names);
        }
        json_object_object_add(attrs, an, o);
    }
    json_object_object_add(out, "attributes", attrs);
    return out;
}

struct reg_find {
    const char *name;
    char location[RF_PATH_MAX];
};

/* A MessageRegistryFile whose Id or Registry is the name: its Location (the
 * English one, else the first). */
static ul_err reg_member(struct rf_session *s, json_object *obj, const char *path, void *arg,
                         ul_errmsg *em)
{
    (void)s;
    (void)em;
    struct reg_find *f = arg;
    const char *id = rf_prop_str(obj, "Id");
    const char *reg = rf_prop_str(obj, "Registry");
    if (!((id && strcasecmp(id, f->name) == 0) || (reg && strcasecmp(reg, f->name) == 0)))
        return UL_OK;
    json_object *loc = rf_prop(obj, "Location");
    size_t n = json_object_is_type(loc, json_type_array) ? json_object_array_length(loc) : 0;
    const char *pick = NULL;
    for (size_t i = 0; i < n && i < 16; i++) {
        json_object *l = json_object_array_get_idx(loc, i);
        const char *uri = rf_prop_str(l, "Uri");
        const char *lang = rf_prop_str(l, "Language");
        if (!uri)
            continue;
        if (!pick || (lang && strncasecmp(lang, "en", 2) == 0))
            pick = uri;
        if (lang && strncasecmp(lang, "en", 2) == 0)
            break;
    }
    if (pick && rf_link_resolve(path, pick, f->location, sizeof(f->location)))
        return UL_ERR_CONFLICT; /* found: stop the walk */
    return UL_OK;
}

ul_err rf_bios_registry(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    *out = NULL;
    if (s->bios_registry) {
        *out = json_object_get(s->bios_registry);
        return UL_OK;
    }
    json_object *bios = NULL, *reg = NULL;
    char path[RF_PATH_MAX], rpath[RF_PATH_MAX];
    ul_err rc = bios_get(s, &bios, path, em);
    if (rc != UL_OK)
        return rc;
    const char *name = rf_prop_str(bios, "AttributeRegistry");
    const char *l = rf_prop_link(s->root, "Registries");
    if (!name || !l || !rf_link_resolve("/redfish/v1", l, rpath, sizeof(rpath))) {
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND,
                           "node %s: the BMC publishes no BIOS attribute registry", s->node);
        goto out;
    }
    struct reg_find f = {.name = name};
    rc = rf_collection_walk(s, rpath, false, BIOS_MAX_REGISTRIES, NULL, reg_member, &f, em);
    if (rc == UL_ERR_CONFLICT && f.location[0]) {
        rc = rf_get(s, f.location, &reg, NULL, em);
    } else if (rc == UL_OK || rc == UL_ERR_UNSUPPORTED) {
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND,
                           "node %s: BIOS attribute registry '%.80s' not found under %s", s->node,
                           name, rpath);
    }
    if (rc != UL_OK)
        goto out;
    s->bios_registry = rf_bios_registry_normalise(reg, name);
    *out = json_object_get(s->bios_registry);
out:
    json_object_put(reg);
    json_object_put(bios);
    return rc;
}

/* ---- changes ---- */

static bool offered(json_object *bios, const char *apply)
{
    json_object *sat = rf_prop(rf_prop(bios, "@Redfish.Settings"), "SupportedApplyTimes");
    for (size_t i = 0;
         json_object_is_type(sat, json_type_array) && i < json_object_array_length(sat); i++) {
        const char *t = json_object_get_string(json_object_array_get_idx(sat, i));
        if (t && strcasecmp(t, apply) == 0)
            return true;
    }
    return false;
}

ul_err rf_bios_set(struct ul_bmc_session *bs, json_object *changes, enum ul_apply_time at,
                   ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *bios = NULL, *settings = NULL;
    char path[RF_PATH_MAX], spath[RF_PATH_MAX], etag[160] = "";
    struct rf_reply r = {0};
    char *body = NULL;
    ul_err rc = bios_get(s, &bios, path, em);
    if (rc != UL_OK)
        return rc;
    settings_path(bios, path, spath);
    if (!spath[0]) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: BIOS changes not supported by this BMC (no @Redfish.Settings "
                           "on %s)",
                           s->node, path);
        goto out;
    }
    const char *apply = at == UL_APPLY_IMMEDIATE  ? "Immediate"
                        : at == UL_APPLY_ON_RESET ? "OnReset"
                                                  : NULL;
    bool has_times = rf_prop(rf_prop(bios, "@Redfish.Settings"), "SupportedApplyTimes") != NULL;
    if (apply && has_times && !offered(bios, apply)) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: the BMC does not offer apply time %s for BIOS settings",
                           s->node, apply);
        goto out;
    }
    /* Its ETag, so a change made meanwhile by someone else is not silently
     * merged with ours (412 instead). */
    if ((rc = rf_get(s, spath, &settings, etag, em)) != UL_OK)
        goto out;
    json_object *patch = json_object_new_object();
    json_object_object_add(patch, "Attributes", json_object_get(changes));
    /* Only when the service lists apply times: older ones reject the
     * annotation as an unknown property. */
    if (apply && has_times) {
        json_object *t = json_object_new_object();
        json_object_object_add(t, "ApplyTime", json_object_new_string(apply));
        json_object_object_add(patch, "@Redfish.SettingsApplyTime", t);
    }
    body = xstrdup(json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN));
    json_object_put(patch);
    if ((rc = rf_request(s, "PATCH", spath, body, etag[0] ? etag : NULL, &r, em)) != UL_OK)
        goto out;
    if (r.status == 400) {
        char msgs[900];
        rf_service_messages(r.body, msgs, sizeof(msgs));
        rc = ul_errmsg_set(em, UL_ERR_REJECTED, "node %s: the BMC refused the BIOS change: %s",
                           s->node, msgs[0] ? msgs : "HTTP 400 without a message");
        goto out;
    }
    if (r.status < 200 || r.status >= 300)
        rc = rf_status_error(s, "PATCH", spath, &r, em);
out:
    rf_reply_free(&r);
    free(body);
    json_object_put(settings);
    json_object_put(bios);
    return rc;
}
