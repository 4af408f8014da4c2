/* plan.c - what an operation would do, without BMC I/O (see plan.h). */
#include "config.h"

#include "ops/plan.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "jsonv.h"
#include "ops/bios.h"

/* ---- building and reading ---- */

static json_object *arr(json_object *plan, const char *key)
{
    json_object *a = NULL;
    json_object_object_get_ex(plan, key, &a);
    return a;
}

json_object *plan_new(const char *op)
{
    json_object *p = json_object_new_object();
    json_object_object_add(p, "op", json_object_new_string(op));
    json_object_object_add(p, "changes", json_object_new_array());
    json_object_object_add(p, "unchanged", json_object_new_array());
    json_object_object_add(p, "refused", json_object_new_array());
    json_object_object_add(p, "needs_reset", json_object_new_array());
    json_object_object_add(p, "reset", json_object_new_string("none"));
    json_object_object_add(p, "notes", json_object_new_array());
    return p;
}

void plan_change(json_object *plan, const char *target, json_object *from, json_object *to)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "target", json_object_new_string(target));
    json_object_object_add(c, "from", json_object_get(from));
    json_object_object_add(c, "to", json_object_get(to));
    json_object_array_add(arr(plan, "changes"), c);
}

void plan_unchanged(json_object *plan, const char *target, json_object *value)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "target", json_object_new_string(target));
    json_object_object_add(c, "value", json_object_get(value));
    json_object_array_add(arr(plan, "unchanged"), c);
}

void plan_refuse(json_object *plan, const char *target, ul_err code, const char *fmt, ...)
{
    char reason[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof(reason), fmt, ap);
    va_end(ap);
    json_object *c = json_object_new_object();
    json_object_object_add(c, "target", json_object_new_string(target));
    json_object_object_add(c, "code", json_object_new_string(ul_err_name(code)));
    json_object_object_add(c, "reason", json_object_new_string(reason));
    json_object_array_add(arr(plan, "refused"), c);
}

void plan_note(json_object *plan, const char *fmt, ...)
{
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    json_object_array_add(arr(plan, "notes"), json_object_new_string(text));
}

void plan_needs_reset(json_object *plan, const char *target)
{
    json_object_array_add(arr(plan, "needs_reset"), json_object_new_string(target));
}

void plan_set_reset(json_object *plan, const char *how)
{
    json_object_object_add(plan, "reset", json_object_new_string(how));
}

int plan_nchanges(json_object *plan)
{
    return (int)json_object_array_length(arr(plan, "changes"));
}

ul_err plan_refusal(json_object *plan, const char **reason)
{
    json_object *r = arr(plan, "refused");
    *reason = NULL;
    if (!r || json_object_array_length(r) == 0)
        return UL_OK;
    json_object *first = json_object_array_get_idx(r, 0);
    const char *code = jv_str(first, "code");
    *reason = jv_str(first, "reason");
    for (int e = UL_ERR_INVALID; e < UL_ERR__COUNT; e++)
        if (code && strcmp(ul_err_name((ul_err)e), code) == 0)
            return (ul_err)e;
    return UL_ERR_INTERNAL;
}

/* ---- power and boot ---- */

enum ul_power_state plan_power_target(enum ul_power_action action)
{
    return action == UL_POWER_ACTION_OFF || action == UL_POWER_ACTION_SOFT ? UL_POWER_OFF
                                                                           : UL_POWER_ON;
}

json_object *plan_power(enum ul_power_state current, enum ul_power_action action)
{
    json_object *p = plan_new("power");
    enum ul_power_state want = plan_power_target(action);
    json_object *from = json_object_new_string(bmc_power_state_name(current));
    bool idempotent = action == UL_POWER_ACTION_ON || action == UL_POWER_ACTION_OFF ||
                      action == UL_POWER_ACTION_SOFT;
    if (idempotent && current == want) {
        plan_unchanged(p, "power", from);
    } else {
        json_object *to = json_object_new_object();
        json_object_object_add(to, "action", json_object_new_string(bmc_power_action_name(action)));
        json_object_object_add(to, "state", json_object_new_string(bmc_power_state_name(want)));
        plan_change(p, "power", from, to);
        json_object_put(to);
        if (action == UL_POWER_ACTION_CYCLE || action == UL_POWER_ACTION_RESET)
            plan_note(p,
                      "power %s cannot be verified by the power state: it reads on before and "
                      "after",
                      bmc_power_action_name(action));
        else if (action == UL_POWER_ACTION_SOFT)
            plan_note(p, "power soft asks the OS to shut down; it is verified only when the "
                         "host reads off");
    }
    json_object_put(from);
    return p;
}

static json_object *boot_value(const struct ul_boot *b, bool flags)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "device", json_object_new_string(bmc_boot_device_name(b->device)));
    if (flags) {
        json_object_object_add(o, "persistent", json_object_new_boolean(b->persistent));
        json_object_object_add(o, "uefi", json_object_new_boolean(b->uefi));
    }
    return o;
}

json_object *plan_boot(const struct ul_boot *current, const struct ul_boot *wanted)
{
    json_object *p = plan_new("boot");
    bool flags = !current->flags_unknown;
    bool same =
        current->device == wanted->device &&
        (!flags || (current->persistent == wanted->persistent && current->uefi == wanted->uefi));
    json_object *from = boot_value(current, flags), *to = boot_value(wanted, true);
    if (same)
        plan_unchanged(p, "boot", from);
    else
        plan_change(p, "boot", from, to);
    if (!flags)
        plan_note(p, "this BMC does not report the override's persistence and mode: only the "
                     "device is compared");
    json_object_put(from);
    json_object_put(to);
    return p;
}

/* ---- BIOS ---- */

static bool list_has(json_object *o, const char *key, const char *word)
{
    json_object *a;
    if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(a); i++) {
        const char *s = json_object_get_string(json_object_array_get_idx(a, i));
        if (s && strcasecmp(s, word) == 0)
            return true;
    }
    return false;
}

json_object *plan_bios(json_object *bios, json_object *registry, json_object *wanted,
                       const char *apply, enum ul_apply_time *apply_time)
{
    json_object *p = plan_new("bios.set");
    json_object *current = NULL, *pending = NULL;
    if (bios) {
        json_object_object_get_ex(bios, "attributes", &current);
        json_object_object_get_ex(bios, "pending", &pending);
    }
    if (!json_object_is_type(wanted, json_type_object) || json_object_object_length(wanted) == 0)
        plan_refuse(p, "attributes", UL_ERR_INVALID, "no BIOS attributes to set");
    json_object_object_foreach(wanted, name, v)
    {
        /* One attribute at a time, so each refusal names its own reason. */
        json_object *one = json_object_new_object(), *conv = NULL, *cv = NULL, *c = NULL;
        json_object_object_add(one, name, json_object_get(v));
        ul_errmsg em = {0};
        ul_err rc = bios_check_changes(registry, one, &conv, &em);
        json_object_put(one);
        if (rc != UL_OK) {
            const char *why = strstr(em.text, "refused: ");
            plan_refuse(p, name, UL_ERR_INVALID, "%s", why ? why + 9 : em.text);
            continue;
        }
        json_object_object_get_ex(conv, name, &cv);
        bool have = current && json_object_object_get_ex(current, name, &c);
        bool staged = pending && json_object_object_get_ex(pending, name, NULL);
        if (have && json_object_equal(c, cv) && !staged)
            plan_unchanged(p, name, c);
        else
            plan_change(p, name, have ? c : NULL, cv);
        json_object_put(conv);
    }
    bool now = apply && strcmp(apply, "now") == 0;
    enum ul_apply_time at = UL_APPLY_DEFAULT;
    if (now && list_has(bios, "apply_times", "Immediate"))
        at = UL_APPLY_IMMEDIATE;
    else if (list_has(bios, "apply_times", "OnReset"))
        at = UL_APPLY_ON_RESET;
    if (apply_time)
        *apply_time = at;
    json_object *ch = arr(p, "changes");
    if (json_object_array_length(ch) > 0 && at != UL_APPLY_IMMEDIATE) {
        plan_set_reset(p, now ? "by this job" : "at the next reset");
        for (size_t i = 0; i < json_object_array_length(ch); i++)
            plan_needs_reset(p, jv_str(json_object_array_get_idx(ch, i), "target"));
    }
    return p;
}

/* ---- RAID ---- */

static json_object *find_id(json_object *a, const char *id)
{
    for (size_t i = 0;
         a && json_object_is_type(a, json_type_array) && i < json_object_array_length(a); i++) {
        json_object *x = json_object_array_get_idx(a, i);
        const char *xid = jv_str(x, "id");
        if (xid && strcasecmp(xid, id) == 0)
            return x;
    }
    return NULL;
}

json_object *plan_storage_controller(json_object *storage, const char *id)
{
    json_object *ctrls = NULL, *found = NULL;
    if (storage)
        json_object_object_get_ex(storage, "controllers", &ctrls);
    if (id)
        return find_id(ctrls, id);
    for (size_t i = 0; ctrls && i < json_object_array_length(ctrls); i++) {
        json_object *c = json_object_array_get_idx(ctrls, i);
        if (json_object_object_get_ex(c, "volumes_path", NULL)) {
            if (found)
                return NULL;
            found = c;
        }
    }
    return found;
}

/* No controller: refused, with the wording the jobs have always used. */
static json_object *controller_or_refuse(json_object *p, json_object *storage,
                                         const char *controller)
{
    json_object *c = plan_storage_controller(storage, controller);
    if (!c) {
        if (controller)
            plan_refuse(p, "controller", UL_ERR_NOT_FOUND, "no storage controller '%s'",
                        controller);
        else
            plan_refuse(p, "controller", UL_ERR_INVALID,
                        "there is no single controller with volumes; name one");
    }
    return c;
}

json_object *plan_raid_create(json_object *storage, json_object *params)
{
    json_object *p = plan_new("raid.create");
    const char *name = jv_str(params, "name"), *type = jv_str(params, "raid_type");
    json_object *c = controller_or_refuse(p, storage, jv_str(params, "controller"));
    if (!c)
        return p;
    const char *cid = jv_str(c, "id") ? jv_str(c, "id") : "";
    json_object *types = NULL, *known = NULL, *drives = NULL, *cap = NULL;
    json_object_object_get_ex(c, "raid_types", &types);
    json_object_object_get_ex(c, "drives", &known);
    json_object_object_get_ex(params, "drives", &drives);
    json_object_object_get_ex(params, "capacity_bytes", &cap);
    if (types && json_object_is_type(types, json_type_array) &&
        json_object_array_length(types) > 0 && !list_has(c, "raid_types", type ? type : ""))
        plan_refuse(p, "raid_type", UL_ERR_INVALID, "controller %s cannot build %s (it offers %s)",
                    cid, type ? type : "", json_object_to_json_string(types));
    for (size_t i = 0; drives && i < json_object_array_length(drives); i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(drives, i));
        json_object *d = find_id(known, id), *vols = NULL;
        if (!d)
            plan_refuse(p, id, UL_ERR_INVALID, "controller %s has no drive '%s'", cid, id);
        else if (json_object_object_get_ex(d, "volumes", &vols) &&
                 json_object_is_type(vols, json_type_array) && json_object_array_length(vols) > 0)
            plan_refuse(p, id, UL_ERR_CONFLICT, "drive %s already belongs to volume %s", id,
                        json_object_get_string(json_object_array_get_idx(vols, 0)));
    }
    json_object *to = json_object_new_object();
    json_object_object_add(to, "controller", json_object_new_string(cid));
    json_object_object_add(to, "raid_type", json_object_new_string(type ? type : ""));
    json_object_object_add(to, "drives",
                           drives ? json_object_get(drives) : json_object_new_array());
    json_object_object_add(to, "capacity_bytes", cap ? json_object_get(cap) : NULL);
    char target[96];
    snprintf(target, sizeof(target), "volume %s", name ? name : "");
    plan_change(p, target, NULL, to);
    json_object_put(to);
    return p;
}

json_object *plan_raid_delete(json_object *storage, json_object *params)
{
    json_object *p = plan_new("raid.delete");
    const char *volume = jv_str(params, "volume");
    json_object *c = controller_or_refuse(p, storage, jv_str(params, "controller"));
    if (!c)
        return p;
    json_object *vols = NULL;
    json_object_object_get_ex(c, "volumes", &vols);
    json_object *v = find_id(vols, volume ? volume : "");
    char target[96];
    snprintf(target, sizeof(target), "volume %s", volume ? volume : "");
    if (v)
        plan_change(p, target, v, NULL);
    else
        plan_unchanged(p, target, NULL);
    return p;
}

/* ---- firmware ---- */

json_object *plan_firmware(json_object *components, json_object *targets, const char *version)
{
    json_object *p = plan_new("firmware.update");
    json_object *to = version ? json_object_new_string(version) : NULL;
    size_t nt = targets && json_object_is_type(targets, json_type_array)
                    ? json_object_array_length(targets)
                    : 0;
    if (nt == 0) {
        plan_change(p, "image", NULL, to);
        plan_note(p, "no targets: the BMC picks the components the image fits");
    }
    for (size_t i = 0; i < nt; i++) {
        const char *id = json_object_get_string(json_object_array_get_idx(targets, i));
        json_object *comp = find_id(components, id), *ver = NULL, *up = NULL;
        if (!comp) {
            plan_refuse(p, id, UL_ERR_NOT_FOUND, "no firmware component '%s' on this BMC", id);
            continue;
        }
        json_object_object_get_ex(comp, "version", &ver);
        if (version && ver && strcmp(json_object_get_string(ver), version) == 0) {
            plan_unchanged(p, id, ver);
            continue;
        }
        if (json_object_object_get_ex(comp, "updateable", &up) &&
            json_object_is_type(up, json_type_boolean) && !json_object_get_boolean(up)) {
            plan_refuse(p, id, UL_ERR_UNSUPPORTED, "component %s is not updateable", id);
            continue;
        }
        plan_change(p, id, ver, to);
    }
    if (!version && plan_nchanges(p) > 0)
        plan_note(p, "no version given: the new versions are known only after the update");
    json_object_put(to);
    return p;
}
