/* chassis.c - the chassis identify LED and a reset of the manager (the BMC),
 * driver API version 5 (bmc/driver.h).
 *
 * Identify: the node's (first) chassis' LocationIndicatorActive (Redfish
 * 2020.3 and later), else the deprecated IndicatorLED ("Lit"/"Off") on
 * older services, PATCHed with the resource's ETag.  Redfish has no
 * identify interval: a request for one is refused rather than ignored.
 *
 * BMC reset: the node's manager's #Manager.Reset with a ResetType the
 * service allows (ResetType@Redfish.AllowableValues inline, or its
 * ActionInfo): cold prefers ForceRestart, warm GracefulRestart, each
 * falling back to the other.  The service ends every session on a reset.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "redfish/redfish.h"
#include "log.h"

#define RF_RESET_ALLOWED_MAX 16

/* The node's first chassis: its path, and the resource (new reference). */
static ul_err first_chassis(struct rf_session *s, char path[RF_PATH_MAX], json_object **chassis,
                            char etag[160], ul_errmsg *em)
{
    json_object *sys = NULL;
    char paths[RF_MAX_CHASSIS][RF_PATH_MAX];
    size_t n = 0;
    *chassis = NULL;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc == UL_OK)
        rc = rf_system_chassis(s, sys, paths, RF_MAX_CHASSIS, &n, em);
    json_object_put(sys);
    if (rc != UL_OK)
        return rc;
    if (n == 0)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: system %s has no chassis: chassis identify not supported "
                             "by this BMC",
                             s->node, s->system_path);
    snprintf(path, RF_PATH_MAX, "%s", paths[0]);
    return rf_get(s, path, chassis, etag, em);
}

ul_err rf_identify_get(struct ul_bmc_session *bs, bool *on, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    char path[RF_PATH_MAX], etag[160] = "";
    json_object *ch = NULL;
    ul_err rc = first_chassis(s, path, &ch, etag, em);
    if (rc != UL_OK)
        return rc;
    json_object *lia = rf_prop(ch, "LocationIndicatorActive");
    const char *led = rf_prop_str(ch, "IndicatorLED");
    if (json_object_is_type(lia, json_type_boolean))
        *on = json_object_get_boolean(lia);
    else if (led)
        *on = strcmp(led, "Off") != 0; /* Lit, Blinking */
    else
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: GET %s: neither LocationIndicatorActive nor IndicatorLED: "
                           "the BMC does not report the identify state",
                           s->node, path);
    json_object_put(ch);
    return rc;
}

ul_err rf_identify_set(struct ul_bmc_session *bs, bool on, int seconds, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    if (on && seconds > 0)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: chassis identify for %d s not supported by this BMC "
                             "(Redfish has no identify interval): omit seconds, turn it off later",
                             s->node, seconds);
    char path[RF_PATH_MAX], etag[160] = "";
    json_object *ch = NULL;
    ul_err rc = first_chassis(s, path, &ch, etag, em);
    if (rc != UL_OK)
        return rc;
    const char *body;
    if (rf_prop(ch, "LocationIndicatorActive"))
        body = on ? "{\"LocationIndicatorActive\":true}" : "{\"LocationIndicatorActive\":false}";
    else if (rf_prop(ch, "IndicatorLED"))
        body = on ? "{\"IndicatorLED\":\"Lit\"}" : "{\"IndicatorLED\":\"Off\"}";
    else
        body = NULL;
    json_object_put(ch);
    if (!body)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: GET %s: neither LocationIndicatorActive nor IndicatorLED: "
                             "chassis identify not supported by this BMC",
                             s->node, path);
    struct rf_reply r = {0};
    rc = rf_send(s, "PATCH", path, body, etag[0] ? etag : NULL, &r, em);
    rf_reply_free(&r);
    return rc;
}

/* Strings of arr into list (at most max); false when arr is not an array. */
static bool allowed_list(json_object *arr, const char **list, size_t max, size_t *n)
{
    *n = 0;
    if (!json_object_is_type(arr, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr) && *n < max; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (json_object_is_type(v, json_type_string))
            list[(*n)++] = json_object_get_string(v);
    }
    return true;
}

static bool in_list(const char *const *list, size_t n, const char *v)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], v) == 0)
            return true;
    return false;
}

ul_err rf_bmc_reset(struct ul_bmc_session *bs, bool cold, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    json_object *sys = NULL, *mgr = NULL, *info = NULL;
    char paths[RF_MAX_CHASSIS][RF_PATH_MAX], target[RF_PATH_MAX];
    size_t n = 0;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc == UL_OK)
        rc = rf_system_managers(s, sys, paths, RF_MAX_CHASSIS, &n, em);
    if (rc != UL_OK)
        goto out;
    if (n == 0) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: system %s names no manager: BMC reset not supported by "
                           "this BMC",
                           s->node, s->system_path);
        goto out;
    }
    if ((rc = rf_get(s, paths[0], &mgr, NULL, em)) != UL_OK)
        goto out;
    json_object *reset = rf_prop(rf_prop(mgr, "Actions"), "#Manager.Reset");
    const char *t = rf_prop_str(reset, "target");
    if (!reset || !t) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: GET %s: no #Manager.Reset action: BMC reset not supported "
                           "by this BMC",
                           s->node, paths[0]);
        goto out;
    }
    if (!rf_link_resolve(paths[0], t, target, sizeof(target))) {
        rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                           "node %s: GET %s: the Reset target '%.100s' is not a Redfish path",
                           s->node, paths[0], t);
        goto out;
    }
    /* What the service allows: inline, else in the ActionInfo. */
    const char *list[RF_RESET_ALLOWED_MAX];
    size_t nl = 0;
    bool said = allowed_list(rf_prop(reset, "ResetType@Redfish.AllowableValues"), list,
                             RF_RESET_ALLOWED_MAX, &nl);
    const char *ai = rf_prop_str(reset, "@Redfish.ActionInfo");
    char aipath[RF_PATH_MAX];
    if (!said && ai && rf_link_resolve(paths[0], ai, aipath, sizeof(aipath))) {
        ul_err r = rf_get(s, aipath, &info, NULL, em);
        if (r != UL_OK && r != UL_ERR_UNSUPPORTED) {
            rc = r;
            goto out;
        }
        json_object *params = rf_prop(info, "Parameters");
        for (size_t i = 0;
             json_object_is_type(params, json_type_array) && i < json_object_array_length(params);
             i++) {
            json_object *p = json_object_array_get_idx(params, i);
            const char *name = rf_prop_str(p, "Name");
            if (name && strcmp(name, "ResetType") == 0)
                said = allowed_list(rf_prop(p, "AllowableValues"), list, RF_RESET_ALLOWED_MAX, &nl);
        }
    }
    const char *first = cold ? "ForceRestart" : "GracefulRestart";
    const char *second = cold ? "GracefulRestart" : "ForceRestart";
    const char *choice = !said || in_list(list, nl, first) ? first
                         : in_list(list, nl, second)       ? second
                                                           : NULL;
    if (!choice) {
        char text[256] = "";
        for (size_t i = 0; i < nl; i++)
            snprintf(text + strlen(text), sizeof(text) - strlen(text), "%s%.40s", i ? ", " : "",
                     list[i]);
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: BMC %s reset not supported by this BMC (its Manager.Reset "
                           "ResetType values: %s)",
                           s->node, cold ? "cold" : "warm", text[0] ? text : "none");
        goto out;
    }
    char body[96];
    snprintf(body, sizeof(body), "{\"ResetType\":\"%s\"}", choice);
    ul_debug("node %s: BMC %s reset as Manager.Reset %s", s->node, cold ? "cold" : "warm", choice);
    struct rf_reply r = {0};
    rc = rf_send(s, "POST", target, body, NULL, &r, em);
    rf_reply_free(&r);
out:
    json_object_put(info);
    json_object_put(mgr);
    json_object_put(sys);
    return rc;
}
