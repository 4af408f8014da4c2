/* power.c - power state, reset actions and the boot override over Redfish.
 *
 * Reset types differ between services: HPE iLO 5 and the DMTF mockups offer
 * no PowerCycle, some BMCs offer no ForceOn, and what a service takes is
 * listed in ResetType@Redfish.AllowableValues or in a separate ActionInfo
 * resource (@Redfish.ActionInfo, as in the DMTF telemetry mockup).  So the
 * allowed values are read before every reset and our action is mapped onto
 * them; when nothing fits, the error names what the service allows.  A
 * power cycle is never faked as ForceOff followed by On: two requests that
 * the job engine could not resume safely after a crash.
 *
 * The boot override is one PATCH of the system's Boot object, guarded by
 * the resource's ETag (If-Match) where the service gives one; a 412 means
 * someone changed the system in between: read it again and retry once.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

#define RF_MAX_ALLOWED 32

/* ---- pure mappings ---- */

enum ul_power_state rf_power_state_map(const char *st)
{
    if (!st)
        return UL_POWER_UNKNOWN;
    /* Transitional states read as where the host is heading: a host that is
     * PoweringOn counts as on, so "power on" does not send On twice, and
     * "power off" still sends ForceOff; likewise PoweringOff counts as off.
     * Paused (a halted VM or a held CPU) is powered. */
    if (strcasecmp(st, "On") == 0 || strcasecmp(st, "PoweringOn") == 0 ||
        strcasecmp(st, "Paused") == 0)
        return UL_POWER_ON;
    if (strcasecmp(st, "Off") == 0 || strcasecmp(st, "PoweringOff") == 0)
        return UL_POWER_OFF;
    return UL_POWER_UNKNOWN;
}

/* The service's spelling of value if allowed lists it; value itself when
 * the service lists nothing (all standard values may be tried). */
static const char *allowed_as(const char *const *allowed, const char *value)
{
    if (!allowed)
        return value;
    for (size_t i = 0; allowed[i]; i++)
        if (strcasecmp(allowed[i], value) == 0)
            return allowed[i];
    return NULL;
}

const char *rf_reset_choose(enum ul_power_action a, const char *const *allowed,
                            enum ul_power_state host)
{
    const char *v = NULL;
    switch (a) {
    case UL_POWER_ACTION_ON:
        if (!(v = allowed_as(allowed, "On")))
            v = allowed_as(allowed, "ForceOn");
        return v;
    case UL_POWER_ACTION_OFF:
        return allowed_as(allowed, "ForceOff");
    case UL_POWER_ACTION_SOFT:
        return allowed_as(allowed, "GracefulShutdown");
    case UL_POWER_ACTION_CYCLE:
        if ((v = allowed_as(allowed, "PowerCycle")))
            return v;
        /* No PowerCycle: a hard restart of a running host is the nearest
         * thing; a host that is off is simply powered on. */
        if (host != UL_POWER_OFF)
            return allowed_as(allowed, "ForceRestart");
        if (!(v = allowed_as(allowed, "On")))
            v = allowed_as(allowed, "ForceOn");
        return v;
    case UL_POWER_ACTION_RESET:
        if (!(v = allowed_as(allowed, "ForceRestart")))
            v = allowed_as(allowed, "GracefulRestart");
        return v;
    default:
        return NULL;
    }
}

static const struct {
    enum ul_boot_device dev;
    const char *target;
} boot_targets[] = {
    {UL_BOOT_NONE, "None"}, {UL_BOOT_PXE, "Pxe"},        {UL_BOOT_DISK, "Hdd"},
    {UL_BOOT_CDROM, "Cd"},  {UL_BOOT_BIOS, "BiosSetup"},
};
#define N_BOOT_TARGETS (sizeof(boot_targets) / sizeof(boot_targets[0]))

const char *rf_boot_target_name(enum ul_boot_device d)
{
    for (size_t i = 0; i < N_BOOT_TARGETS; i++)
        if (boot_targets[i].dev == d)
            return boot_targets[i].target;
    return NULL;
}

int rf_boot_target_parse(const char *target)
{
    for (size_t i = 0; target && i < N_BOOT_TARGETS; i++)
        if (strcasecmp(boot_targets[i].target, target) == 0)
            return (int)boot_targets[i].dev;
    return -1;
}

/* ---- helpers ---- */

/* Strings of a JSON array into a NULL-ended list (borrowed strings, bounded);
 * false when arr is not an array. */
static bool string_list(json_object *arr, const char *list[RF_MAX_ALLOWED + 1])
{
    size_t n = 0;
    list[0] = NULL;
    if (!json_object_is_type(arr, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr) && n < RF_MAX_ALLOWED; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (json_object_is_type(v, json_type_string))
            list[n++] = json_object_get_string(v);
    }
    list[n] = NULL;
    return true;
}

static void list_text(const char *const *list, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; list && list[i] && used < len; i++) {
        char v[48];
        rf_copy_text(v, sizeof(v), list[i]);
        int w = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", v);
        if (w < 0)
            break;
        used += (size_t)w;
    }
    if (!buf[0])
        snprintf(buf, len, "none");
}

static ul_err missing(struct rf_session *s, const char *path, const char *prop, ul_errmsg *em)
{
    return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: '%s' missing", s->node, path, prop);
}

/* ---- power ---- */

static ul_err power_state_of(struct rf_session *s, json_object *sys, enum ul_power_state *out,
                             ul_errmsg *em)
{
    json_object *v = rf_prop(sys, "PowerState");
    if (!v)
        return missing(s, s->system_path, "PowerState", em);
    if (!json_object_is_type(v, json_type_string))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: 'PowerState' is not a string",
                             s->node, s->system_path);
    *out = rf_power_state_map(json_object_get_string(v));
    if (*out == UL_POWER_UNKNOWN)
        ul_debug("node %s: PowerState '%.32s' read as unknown", s->node, json_object_get_string(v));
    return UL_OK;
}

ul_err rf_power_get(struct ul_bmc_session *bs, enum ul_power_state *out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *sys = NULL;
    *out = UL_POWER_UNKNOWN;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc == UL_OK)
        rc = power_state_of(s, sys, out, em);
    json_object_put(sys);
    return rc;
}

/* The Reset action's allowed values: inline, or in its ActionInfo.  *info
 * keeps the ActionInfo resource alive while the list is in use.  allowed
 * is set to NULL when the service does not say. */
static ul_err reset_allowed(struct rf_session *s, json_object *reset,
                            const char *list[RF_MAX_ALLOWED + 1], const char *const **allowed,
                            json_object **info, ul_errmsg *em)
{
    *allowed = NULL;
    if (string_list(rf_prop(reset, "ResetType@Redfish.AllowableValues"), list)) {
        *allowed = list;
        return UL_OK;
    }
    const char *ai = rf_prop_str(reset, "@Redfish.ActionInfo");
    char path[RF_PATH_MAX];
    if (!ai)
        return UL_OK;
    if (!rf_link_resolve(s->system_path, ai, path, sizeof(path)))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET %s: '@Redfish.ActionInfo' is not a Redfish path",
                             s->node, s->system_path);
    ul_err rc = rf_get(s, path, info, NULL, em);
    if (rc == UL_ERR_UNSUPPORTED)
        return UL_OK; /* a dangling ActionInfo link: fall back to the standard values */
    if (rc != UL_OK)
        return rc;
    json_object *params = rf_prop(*info, "Parameters");
    for (size_t i = 0;
         json_object_is_type(params, json_type_array) && i < json_object_array_length(params);
         i++) {
        json_object *p = json_object_array_get_idx(params, i);
        const char *name = rf_prop_str(p, "Name");
        if (name && strcmp(name, "ResetType") == 0 &&
            string_list(rf_prop(p, "AllowableValues"), list)) {
            *allowed = list;
            break;
        }
    }
    return UL_OK;
}

ul_err rf_power_set(struct ul_bmc_session *bs, enum ul_power_action a, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *sys = NULL, *info = NULL;
    struct rf_reply r = {0};
    const char *list[RF_MAX_ALLOWED + 1];
    const char *const *allowed = NULL;
    char target[RF_PATH_MAX];
    enum ul_power_state host = UL_POWER_UNKNOWN;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc != UL_OK)
        goto out;
    json_object *reset = rf_prop(rf_prop(sys, "Actions"), "#ComputerSystem.Reset");
    if (!reset) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: GET %s: no #ComputerSystem.Reset action: power control not "
                           "supported by this BMC",
                           s->node, s->system_path);
        goto out;
    }
    const char *t = rf_prop_str(reset, "target");
    if (!t) {
        rc = missing(s, s->system_path, "Actions.#ComputerSystem.Reset.target", em);
        goto out;
    }
    if (!rf_link_resolve(s->system_path, t, target, sizeof(target))) {
        rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                           "node %s: GET %s: the Reset target '%.100s' is not a Redfish path",
                           s->node, s->system_path, t);
        goto out;
    }
    if ((rc = reset_allowed(s, reset, list, &allowed, &info, em)) != UL_OK)
        goto out;
    if (a == UL_POWER_ACTION_CYCLE && (rc = power_state_of(s, sys, &host, em)) != UL_OK)
        goto out;
    const char *choice = rf_reset_choose(a, allowed, host);
    if (!choice) {
        char text[256];
        list_text(allowed, text, sizeof(text));
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: power %s not supported by this BMC (its ResetType values: %s)",
                           s->node, bmc_power_action_name(a), text);
        goto out;
    }
    char body[128];
    size_t used = 13;
    memcpy(body, "{\"ResetType\":", 14);
    if (!rf_json_quote(body, sizeof(body) - 1, &used, choice)) {
        rc = ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: ResetType value too long", s->node);
        goto out;
    }
    body[used++] = '}';
    body[used] = '\0';
    ul_debug("node %s: power %s as ResetType %s", s->node, bmc_power_action_name(a), choice);
    rc = rf_send(s, "POST", target, body, NULL, &r, em);
out:
    rf_reply_free(&r);
    json_object_put(info);
    json_object_put(sys);
    return rc;
}

/* ---- boot override ---- */

static ul_err boot_of(struct rf_session *s, json_object *sys, json_object **boot, ul_errmsg *em)
{
    *boot = rf_prop(sys, "Boot");
    if (!json_object_is_type(*boot, json_type_object) ||
        !rf_prop(*boot, "BootSourceOverrideTarget"))
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: GET %s: no Boot.BootSourceOverrideTarget: boot override not "
                             "supported by this BMC",
                             s->node, s->system_path);
    if (!rf_prop_str(*boot, "BootSourceOverrideTarget") &&
        !json_object_is_type(rf_prop(*boot, "BootSourceOverrideTarget"), json_type_null))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "node %s: GET %s: 'Boot.BootSourceOverrideTarget' is not a string",
                             s->node, s->system_path);
    return UL_OK;
}

ul_err rf_boot_get(struct ul_bmc_session *bs, struct ul_boot *out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *sys = NULL, *boot;
    memset(out, 0, sizeof(*out));
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc == UL_OK)
        rc = boot_of(s, sys, &boot, em);
    if (rc != UL_OK)
        goto out;
    const char *target = rf_prop_str(boot, "BootSourceOverrideTarget");
    const char *enabled = rf_prop_str(boot, "BootSourceOverrideEnabled");
    const char *mode = rf_prop_str(boot, "BootSourceOverrideMode");
    int dev = rf_boot_target_parse(target);
    if (dev < 0) {
        /* Usb, UefiTarget, Diags...: an override we have no device for. */
        ul_debug("node %s: boot override target '%.32s' has no underlay device; read as none",
                 s->node, target ? target : "null");
        dev = UL_BOOT_NONE;
    }
    if (enabled && strcasecmp(enabled, "Disabled") == 0)
        dev = UL_BOOT_NONE;
    out->device = (enum ul_boot_device)dev;
    out->persistent = enabled && strcasecmp(enabled, "Continuous") == 0;
    if (mode) {
        out->uefi = strcasecmp(mode, "UEFI") == 0;
    } else {
        /* HPE iLO 5 and others have no BootSourceOverrideMode: the mode
         * follows the BIOS setting, which this object does not say. */
        out->flags_unknown = true;
    }
out:
    json_object_put(sys);
    return rc;
}

/* "k":"v" appended, with a comma before when not first. */
static bool add_pair(char *buf, size_t size, size_t *used, const char *k, const char *v)
{
    if (buf[*used - 1] != '{') {
        if (*used + 1 >= size)
            return false;
        buf[(*used)++] = ',';
    }
    if (!rf_json_quote(buf, size, used, k) || *used + 1 >= size)
        return false;
    buf[(*used)++] = ':';
    return rf_json_quote(buf, size, used, v);
}

static ul_err boot_body(struct rf_session *s, json_object *boot, const struct ul_boot *b,
                        char *body, size_t size, ul_errmsg *em)
{
    const char *list[RF_MAX_ALLOWED + 1];
    char text[256];
    const char *target = rf_boot_target_name(b->device);
    if (!target)
        return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: unknown boot device", s->node);
    /* Validate against what the service allows, in its spelling. */
    if (string_list(rf_prop(boot, "BootSourceOverrideTarget@Redfish.AllowableValues"), list)) {
        const char *as = allowed_as(list, target);
        if (!as && b->device != UL_BOOT_NONE) {
            list_text(list, text, sizeof(text));
            return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                                 "node %s: boot device %s (%s) not supported by this BMC (its "
                                 "BootSourceOverrideTarget values: %s)",
                                 s->node, bmc_boot_device_name(b->device), target, text);
        }
        if (as)
            target = as;
    }
    const char *enabled = b->device == UL_BOOT_NONE ? "Disabled"
                          : b->persistent           ? "Continuous"
                                                    : "Once";
    bool send_enabled = true;
    if (string_list(rf_prop(boot, "BootSourceOverrideEnabled@Redfish.AllowableValues"), list)) {
        const char *as = allowed_as(list, enabled);
        if (!as && b->device != UL_BOOT_NONE) {
            list_text(list, text, sizeof(text));
            return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                                 "node %s: a %s boot override is not supported by this BMC (its "
                                 "BootSourceOverrideEnabled values: %s)",
                                 s->node, b->persistent ? "persistent" : "one-time", text);
        }
        /* Clearing with Target None alone is enough where Disabled is not
         * listed. */
        send_enabled = as != NULL;
        if (as)
            enabled = as;
    }
    const char *mode = NULL;
    if (b->device != UL_BOOT_NONE && rf_prop(boot, "BootSourceOverrideMode")) {
        /* Only where the service has the property: others reject it. */
        mode = b->uefi ? "UEFI" : "Legacy";
        if (string_list(rf_prop(boot, "BootSourceOverrideMode@Redfish.AllowableValues"), list)) {
            const char *as = allowed_as(list, mode);
            if (!as) {
                list_text(list, text, sizeof(text));
                return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                                     "node %s: boot mode %s not supported by this BMC (its "
                                     "BootSourceOverrideMode values: %s)",
                                     s->node, b->uefi ? "uefi" : "legacy", text);
            }
            mode = as;
        }
    }
    size_t used = 9;
    memcpy(body, "{\"Boot\":{", 10);
    bool ok =
        add_pair(body, size - 2, &used, "BootSourceOverrideTarget", target) &&
        (!send_enabled || add_pair(body, size - 2, &used, "BootSourceOverrideEnabled", enabled)) &&
        (!mode || add_pair(body, size - 2, &used, "BootSourceOverrideMode", mode));
    if (!ok)
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: boot values too long", s->node);
    body[used++] = '}';
    body[used++] = '}';
    body[used] = '\0';
    return UL_OK;
}

ul_err rf_boot_set(struct ul_bmc_session *bs, const struct ul_boot *b, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *sys = NULL, *boot;
    struct rf_reply r = {0};
    char etag[160], body[512];
    ul_err rc = UL_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        json_object_put(sys);
        sys = NULL;
        if ((rc = rf_system_get(s, &sys, etag, em)) != UL_OK)
            goto out;
        if ((rc = boot_of(s, sys, &boot, em)) != UL_OK)
            goto out;
        if ((rc = boot_body(s, boot, b, body, sizeof(body), em)) != UL_OK)
            goto out;
        rf_reply_free(&r);
        if ((rc = rf_request(s, "PATCH", s->system_path, body, etag[0] ? etag : NULL, &r, em)) !=
            UL_OK)
            goto out;
        if (r.status == 412 && attempt == 0) {
            ul_debug("node %s: PATCH %s: ETag changed; reading the system again", s->node,
                     s->system_path);
            continue;
        }
        if (r.status < 200 || r.status >= 300)
            rc = rf_status_error(s, "PATCH", s->system_path, &r, em);
        goto out;
    }
out:
    rf_reply_free(&r);
    json_object_put(sys);
    return rc;
}
