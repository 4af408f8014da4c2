/* sensors.c - sensor sweeps and power draw over Redfish.
 *
 * Two shapes exist in the field.  Newer services (Redfish 2019.4 and later,
 * the DMTF rack and tower mockups) list every reading in the chassis'
 * Sensors collection, one Sensor resource each; with $expand the whole
 * sweep is one request, without it one GET per sensor (bounded).  Older
 * services (HPE iLO 5, the DMTF blade mockup) only have the chassis'
 * Thermal and Power resources, with readings in arrays.  Both are
 * normalized exactly like IPMI sweeps: kind, unit, value, status from
 * Status.Health, thresholds in the same six slots.
 *
 * One bad sensor (a reading that is a string, a missing name) never fails
 * the sweep: it is reported without a value.  Only the resources that hold
 * the sensors must be well-formed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

/* ---- pure mappings ---- */

static bool fan_like(const char *context, const char *name)
{
    return (context && strcasecmp(context, "Fan") == 0) || (name && strcasestr(name, "fan"));
}

static void set_kind(struct ul_sensor *u, enum ul_sensor_kind k, const char *unit)
{
    u->kind = k;
    snprintf(u->unit, sizeof(u->unit), "%s", unit);
}

void rf_sensor_kind_unit(const char *rt, const char *units, const char *context, const char *name,
                         struct ul_sensor *u)
{
    static const struct {
        const char *type;
        const char *units;
        enum ul_sensor_kind kind;
        const char *unit;
    } map[] = {
        {"Temperature", "Cel", UL_SENSOR_TEMPERATURE, "celsius"},
        {"Voltage", "V", UL_SENSOR_VOLTAGE, "volts"},
        {"Current", "A", UL_SENSOR_CURRENT, "amperes"},
        {"Power", "W", UL_SENSOR_POWER, "watts"},
        {"Rotational", "RPM", UL_SENSOR_FAN, "rpm"},
        {"Rotational", "{rev}/min", UL_SENSOR_FAN, "rpm"},
        {"Frequency", "Hz", UL_SENSOR_OTHER, "hertz"},
        {"EnergykWh", "kW.h", UL_SENSOR_OTHER, "kwh"},
        {"EnergyJoules", "J", UL_SENSOR_OTHER, "joules"},
        {"EnergyWh", "W.h", UL_SENSOR_OTHER, "wh"},
        {"Humidity", NULL, UL_SENSOR_OTHER, "percent"},
        {"AirFlow", "ft3/min", UL_SENSOR_OTHER, "cfm"},
    };
    u->kind = UL_SENSOR_OTHER;
    u->unit[0] = '\0';
    bool percent = (rt && strcasecmp(rt, "Percent") == 0) || (units && strcmp(units, "%") == 0);
    if (percent) {
        /* Many fans report duty in percent (DMTF mockups: ReadingType
         * Percent, PhysicalContext Chassis, "Chassis Fan #1"). */
        set_kind(u, fan_like(context, name) ? UL_SENSOR_FAN : UL_SENSOR_OTHER, "percent");
        return;
    }
    /* ReadingType decides; without it (the DMTF mockups' temperatures have
     * none) the unit does. */
    for (size_t i = 0; rt && i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(rt, map[i].type) == 0) {
            set_kind(u, map[i].kind, map[i].unit);
            return;
        }
    for (size_t i = 0; units && i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].units && strcasecmp(units, map[i].units) == 0) {
            set_kind(u, map[i].kind, map[i].unit);
            return;
        }
    if (units) {
        char clean[sizeof(u->unit)];
        rf_copy_text(clean, sizeof(clean), units);
        snprintf(u->unit, sizeof(u->unit), "%s", clean);
    }
}

static const char *kind_type(enum ul_sensor_kind k)
{
    switch (k) {
    case UL_SENSOR_TEMPERATURE:
        return "Temperature";
    case UL_SENSOR_FAN:
        return "Fan";
    case UL_SENSOR_VOLTAGE:
        return "Voltage";
    case UL_SENSOR_CURRENT:
        return "Current";
    case UL_SENSOR_POWER:
        return "Power";
    default:
        return "Other";
    }
}

enum ul_sensor_status rf_health_map(json_object *status)
{
    const char *state = rf_prop_str(status, "State");
    const char *health = rf_prop_str(status, "Health");
    if (state &&
        (strcasecmp(state, "Absent") == 0 || strcasecmp(state, "Disabled") == 0 ||
         strcasecmp(state, "UnavailableOffline") == 0 || strcasecmp(state, "StandbyOffline") == 0))
        return UL_SENSOR_UNKNOWN;
    if (!health)
        return UL_SENSOR_UNKNOWN;
    if (strcasecmp(health, "OK") == 0)
        return UL_SENSOR_OK;
    if (strcasecmp(health, "Warning") == 0)
        return UL_SENSOR_WARNING;
    if (strcasecmp(health, "Critical") == 0)
        return UL_SENSOR_CRITICAL;
    return UL_SENSOR_UNKNOWN;
}

/* State text: the service's condition messages, else Health, else State. */
static void state_text(json_object *status, char *buf, size_t len)
{
    json_object *conds = rf_prop(status, "Conditions");
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; json_object_is_type(conds, json_type_array) &&
                       i < json_object_array_length(conds) && used + 3 < len;
         i++) {
        const char *m = rf_prop_str(json_object_array_get_idx(conds, i), "Message");
        if (!m)
            continue;
        if (used)
            used += (size_t)snprintf(buf + used, len - used, "; ");
        rf_copy_text(buf + used, len - used, m);
        used = strlen(buf);
    }
    if (used)
        return;
    const char *state = rf_prop_str(status, "State");
    const char *health = rf_prop_str(status, "Health");
    if (state && strcasecmp(state, "Enabled") != 0)
        rf_copy_text(buf, len, state);
    else if (health)
        rf_copy_text(buf, len, health);
}

static void name_of(json_object *obj, const char *alt, int index, struct ul_sensor *u)
{
    const char *n = rf_prop_str(obj, "Name");
    if (!n && alt)
        n = rf_prop_str(obj, alt);
    if (!n)
        n = rf_prop_str(obj, "Id");
    if (!n)
        n = rf_prop_str(obj, "MemberId");
    if (n)
        rf_copy_text(u->name, sizeof(u->name), n);
    if (!u->name[0])
        snprintf(u->name, sizeof(u->name), "sensor %d", index);
}

static void set_value(json_object *obj, const char *prop, struct ul_sensor *u)
{
    json_object *v = rf_prop(obj, prop);
    double d;
    if (rf_json_num(v, &d)) {
        u->has_value = true;
        u->value = d;
    } else if (v && !json_object_is_type(v, json_type_null) && !u->state[0]) {
        snprintf(u->state, sizeof(u->state), "reading is not a number");
    }
}

void rf_sensor_from_resource(json_object *obj, int index, struct ul_sensor *u)
{
    static const struct {
        const char *name;
        enum ul_threshold slot;
    } thr[] = {
        {"LowerFatal", UL_THR_LOWER_NON_RECOVERABLE}, {"LowerCritical", UL_THR_LOWER_CRITICAL},
        {"LowerCaution", UL_THR_LOWER_NON_CRITICAL},  {"UpperCaution", UL_THR_UPPER_NON_CRITICAL},
        {"UpperCritical", UL_THR_UPPER_CRITICAL},     {"UpperFatal", UL_THR_UPPER_NON_RECOVERABLE},
    };
    memset(u, 0, sizeof(*u));
    u->number = index;
    name_of(obj, NULL, index, u);
    const char *rt = rf_prop_str(obj, "ReadingType");
    rf_sensor_kind_unit(rt, rf_prop_str(obj, "ReadingUnits"), rf_prop_str(obj, "PhysicalContext"),
                        u->name, u);
    rf_copy_text(u->type, sizeof(u->type), rt ? rt : kind_type(u->kind));
    json_object *status = rf_prop(obj, "Status");
    u->status = rf_health_map(status);
    state_text(status, u->state, sizeof(u->state));
    set_value(obj, "Reading", u);
    json_object *t = rf_prop(obj, "Thresholds");
    for (size_t i = 0; i < sizeof(thr) / sizeof(thr[0]); i++) {
        double d;
        if (rf_prop_num(rf_prop(t, thr[i].name), "Reading", &d)) {
            u->thresholds[thr[i].slot] = d;
            u->thresholds_present |= 1u << thr[i].slot;
        }
    }
}

void rf_sensor_from_legacy(json_object *obj, enum ul_sensor_kind kind, int index,
                           struct ul_sensor *u)
{
    static const struct {
        const char *name;
        enum ul_threshold slot;
    } thr[] = {
        {"LowerThresholdFatal", UL_THR_LOWER_NON_RECOVERABLE},
        {"LowerThresholdCritical", UL_THR_LOWER_CRITICAL},
        {"LowerThresholdNonCritical", UL_THR_LOWER_NON_CRITICAL},
        {"UpperThresholdNonCritical", UL_THR_UPPER_NON_CRITICAL},
        {"UpperThresholdCritical", UL_THR_UPPER_CRITICAL},
        {"UpperThresholdFatal", UL_THR_UPPER_NON_RECOVERABLE},
    };
    double num;
    memset(u, 0, sizeof(*u));
    u->number = rf_prop_num(obj, "SensorNumber", &num) && num >= 0 && num < 1e6 ? (int)num : index;
    name_of(obj, kind == UL_SENSOR_FAN ? "FanName" : NULL, index, u);
    json_object *status = rf_prop(obj, "Status");
    u->status = rf_health_map(status);
    state_text(status, u->state, sizeof(u->state));
    switch (kind) {
    case UL_SENSOR_TEMPERATURE:
        set_kind(u, kind, "celsius");
        set_value(obj, "ReadingCelsius", u);
        break;
    case UL_SENSOR_FAN: {
        /* Thermal 1.0 had ReadingRPM; later ones Reading + ReadingUnits
         * (RPM or Percent). */
        const char *units = rf_prop_str(obj, "ReadingUnits");
        bool pct = units && strcasecmp(units, "Percent") == 0;
        set_kind(u, kind, pct ? "percent" : "rpm");
        set_value(obj, rf_prop(obj, "Reading") ? "Reading" : "ReadingRPM", u);
        break;
    }
    case UL_SENSOR_VOLTAGE:
        set_kind(u, kind, "volts");
        set_value(obj, "ReadingVolts", u);
        break;
    case UL_SENSOR_POWER:
        set_kind(u, kind, "watts");
        set_value(obj, "PowerConsumedWatts", u);
        break;
    default:
        set_kind(u, UL_SENSOR_OTHER, "");
        set_value(obj, "Reading", u);
        break;
    }
    snprintf(u->type, sizeof(u->type), "%s", kind_type(u->kind));
    for (size_t i = 0; i < sizeof(thr) / sizeof(thr[0]); i++) {
        double d;
        if (rf_prop_num(obj, thr[i].name, &d)) {
            u->thresholds[thr[i].slot] = d;
            u->thresholds_present |= 1u << thr[i].slot;
        }
    }
}

bool rf_power_control_reading(json_object *power, struct ul_power_reading *out)
{
    json_object *pc = rf_prop(power, "PowerControl");
    for (size_t i = 0; json_object_is_type(pc, json_type_array) && i < json_object_array_length(pc);
         i++) {
        json_object *c = json_object_array_get_idx(pc, i);
        double w, v;
        if (!rf_prop_num(c, "PowerConsumedWatts", &w))
            continue;
        memset(out, 0, sizeof(*out));
        out->watts = w;
        out->min_watts = out->max_watts = out->avg_watts = w;
        json_object *m = rf_prop(c, "PowerMetrics");
        if (rf_prop_num(m, "MinConsumedWatts", &v))
            out->min_watts = v;
        if (rf_prop_num(m, "MaxConsumedWatts", &v))
            out->max_watts = v;
        if (rf_prop_num(m, "AverageConsumedWatts", &v))
            out->avg_watts = v;
        if (rf_prop_num(m, "IntervalInMin", &v) && v > 0 && v < 1e6)
            out->period_s = (int)(v * 60);
        const char *state = rf_prop_str(rf_prop(c, "Status"), "State");
        out->active = !state || strcasecmp(state, "Enabled") == 0;
        return true;
    }
    return false;
}

/* ---- the sweep ---- */

struct sweep {
    struct ul_sensor_list *out;
    struct rf_visited visited;
    bool full;
};

static struct ul_sensor *sweep_add(struct rf_session *s, struct sweep *w)
{
    if (w->out->count >= RF_MAX_SENSORS) {
        if (!w->full)
            ul_warn("node %s: more than %d sensors; reading the first %d", s->node, RF_MAX_SENSORS,
                    RF_MAX_SENSORS);
        w->full = true;
        return NULL;
    }
    return bmc_sensor_list_add(w->out);
}

static ul_err sensor_member(struct rf_session *s, json_object *obj, const char *path, void *arg,
                            ul_errmsg *em)
{
    struct sweep *w = arg;
    struct ul_sensor *u = sweep_add(s, w);
    if (u)
        rf_sensor_from_resource(obj, (int)w->out->count - 1, u);
    return UL_OK;
}

static void legacy_array(struct rf_session *s, struct sweep *w, json_object *res,
                         const char *prop, enum ul_sensor_kind kind)
{
    json_object *arr = rf_prop(res, prop);
    if (!json_object_is_type(arr, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(arr) && i < RF_MAX_MEMBERS; i++) {
        json_object *e = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(e, json_type_object))
            continue;
        struct ul_sensor *u = sweep_add(s, w);
        if (!u)
            return;
        rf_sensor_from_legacy(e, kind, (int)w->out->count - 1, u);
    }
}

/* Power supplies: their output power and line input voltage. */
static void legacy_psus(struct rf_session *s, struct sweep *w, json_object *power)
{
    json_object *arr = rf_prop(power, "PowerSupplies");
    if (!json_object_is_type(arr, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(arr) && i < RF_MAX_MEMBERS; i++) {
        json_object *p = json_object_array_get_idx(arr, i);
        static const struct {
            const char *prop, *suffix;
            enum ul_sensor_kind kind;
            const char *unit;
        } f[] = {
            {"LastPowerOutputWatts", "Output Power", UL_SENSOR_POWER, "watts"},
            {"PowerInputWatts", "Input Power", UL_SENSOR_POWER, "watts"},
            {"LineInputVoltage", "Input Voltage", UL_SENSOR_VOLTAGE, "volts"},
        };
        char base[40];
        const char *n = rf_prop_str(p, "Name");
        rf_copy_text(base, sizeof(base), n ? n : "");
        if (!base[0])
            snprintf(base, sizeof(base), "PSU %zu", i);
        for (size_t k = 0; k < sizeof(f) / sizeof(f[0]); k++) {
            json_object *v = rf_prop(p, f[k].prop);
            if (!v)
                continue;
            struct ul_sensor *u = sweep_add(s, w);
            if (!u)
                return;
            u->number = (int)w->out->count - 1;
            snprintf(u->name, sizeof(u->name), "%s %s", base, f[k].suffix);
            set_kind(u, f[k].kind, f[k].unit);
            snprintf(u->type, sizeof(u->type), "Power Supply");
            json_object *status = rf_prop(p, "Status");
            u->status = rf_health_map(status);
            state_text(status, u->state, sizeof(u->state));
            set_value(p, f[k].prop, u);
        }
    }
}

/* ---- where the readings are, found once per session ---- */

/* The path of chassis link name into out ("" when absent). */
static ul_err link_path(struct rf_session *s, json_object *ch, const char *chpath,
                        const char *name, char out[RF_PATH_MAX], ul_errmsg *em)
{
    const char *l = rf_prop_link(ch, name);
    out[0] = '\0';
    if (l && !rf_link_resolve(chpath, l, out, RF_PATH_MAX))
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: '%s' is not a Redfish path",
                             s->node, chpath, name);
    return UL_OK;
}

/* Follow the links once: system -> chassis -> Sensors, Thermal, Power,
 * EnvironmentMetrics.  A sweep from the cache is then one request (the
 * expanded Sensors collection) instead of three. */
static ul_err find_sources(struct rf_session *s, ul_errmsg *em)
{
    json_object *sys = NULL, *ch = NULL;
    char(*chassis)[RF_PATH_MAX] = xcalloc(RF_MAX_CHASSIS, sizeof(*chassis));
    struct rf_source *src = xcalloc(RF_MAX_CHASSIS, sizeof(*src));
    size_t n = 0, used = 0;
    ul_err rc = rf_system_get(s, &sys, NULL, em);
    if (rc != UL_OK)
        goto out;
    if ((rc = rf_system_chassis(s, sys, chassis, RF_MAX_CHASSIS, &n, em)) != UL_OK)
        goto out;
    for (size_t i = 0; i < n; i++) {
        json_object_put(ch);
        ch = NULL;
        if ((rc = rf_get(s, chassis[i], &ch, NULL, em)) != UL_OK)
            goto out;
        struct rf_source *x = &src[used];
        if ((rc = link_path(s, ch, chassis[i], "Sensors", x->sensors, em)) != UL_OK ||
            (rc = link_path(s, ch, chassis[i], "Thermal", x->thermal, em)) != UL_OK ||
            (rc = link_path(s, ch, chassis[i], "Power", x->power, em)) != UL_OK ||
            (rc = link_path(s, ch, chassis[i], "EnvironmentMetrics", x->env, em)) != UL_OK)
            goto out;
        if (x->sensors[0] || x->thermal[0] || x->power[0] || x->env[0])
            used++;
    }
    if (used) {
        free(s->sources);
        s->sources = src;
        s->nsources = used;
        src = NULL;
    }
out:
    free(src);
    free(chassis);
    json_object_put(ch);
    json_object_put(sys);
    return rc;
}

static void forget_sources(struct rf_session *s)
{
    ul_debug("node %s: a sensor resource moved; following the links again", s->node);
    free(s->sources);
    s->sources = NULL;
    s->nsources = 0;
}

/* GET a legacy resource; *out NULL when path is "". */
static ul_err get_opt(struct rf_session *s, const char *path, json_object **out, ul_errmsg *em)
{
    *out = NULL;
    return path[0] ? rf_get(s, path, out, NULL, em) : UL_OK;
}

static ul_err source_sensors(struct rf_session *s, struct sweep *w, const struct rf_source *x,
                             ul_errmsg *em)
{
    json_object *thermal = NULL, *power = NULL;
    ul_err rc = UL_OK;
    if (x->sensors[0]) {
        rc = rf_collection_walk(s, x->sensors, true, RF_MAX_MEMBERS, &w->visited, sensor_member, w,
                                em);
        /* A Sensors link that 404s while legacy ones exist: use those. */
        if (rc != UL_ERR_UNSUPPORTED || (!x->thermal[0] && !x->power[0]))
            return rc;
    }
    if ((rc = get_opt(s, x->thermal, &thermal, em)) != UL_OK)
        goto out;
    if ((rc = get_opt(s, x->power, &power, em)) != UL_OK)
        goto out;
    if (thermal) {
        legacy_array(s, w, thermal, "Temperatures", UL_SENSOR_TEMPERATURE);
        legacy_array(s, w, thermal, "Fans", UL_SENSOR_FAN);
    }
    if (power) {
        legacy_array(s, w, power, "Voltages", UL_SENSOR_VOLTAGE);
        legacy_array(s, w, power, "PowerControl", UL_SENSOR_POWER);
        legacy_psus(s, w, power);
    }
out:
    json_object_put(power);
    json_object_put(thermal);
    return rc;
}

ul_err rf_sensors_read(struct ul_bmc_session *bs, struct ul_sensor_list *out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    struct sweep w = {.out = out};
    ul_err rc = UL_OK;
    memset(out, 0, sizeof(*out));
    for (int pass = 0; pass < 2; pass++) {
        bool cached = s->sources != NULL;
        if (!cached && (rc = find_sources(s, em)) != UL_OK)
            break;
        bool any = false;
        for (size_t i = 0; s->sources && i < s->nsources; i++)
            any = any || s->sources[i].sensors[0] || s->sources[i].thermal[0] ||
                  s->sources[i].power[0];
        if (!any) {
            rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                               "node %s: the system's chassis have no Sensors, Thermal or Power "
                               "resource: sensors not supported by this BMC",
                               s->node);
            break;
        }
        for (size_t i = 0; i < s->nsources && !w.full && rc == UL_OK; i++)
            if (s->sources[i].sensors[0] || s->sources[i].thermal[0] || s->sources[i].power[0])
                rc = source_sensors(s, &w, &s->sources[i], em);
        if (rc == UL_ERR_UNSUPPORTED && cached) {
            forget_sources(s);
            bmc_sensor_list_free(out);
            rf_visited_free(&w.visited);
            w.full = false;
            rc = UL_OK;
            continue;
        }
        break;
    }
    if (rc != UL_OK)
        bmc_sensor_list_free(out);
    rf_visited_free(&w.visited);
    return rc;
}

/* ---- power draw ---- */

static bool environment_reading(json_object *env, struct ul_power_reading *out)
{
    double w;
    if (!rf_prop_num(rf_prop(env, "PowerWatts"), "Reading", &w))
        return false;
    memset(out, 0, sizeof(*out));
    out->watts = out->min_watts = out->max_watts = out->avg_watts = w;
    out->active = true;
    return true;
}

/* The legacy Power resource first (it carries min/max/average), then
 * EnvironmentMetrics' PowerWatts. */
static ul_err source_reading(struct rf_session *s, const struct rf_source *x,
                             struct ul_power_reading *out, bool *got, ul_errmsg *em)
{
    json_object *res = NULL;
    ul_err rc = get_opt(s, x->power, &res, em);
    if (rc == UL_OK && res)
        *got = rf_power_control_reading(res, out);
    json_object_put(res);
    res = NULL;
    if (rc != UL_OK || *got)
        return rc;
    rc = get_opt(s, x->env, &res, em);
    if (rc == UL_OK && res)
        *got = environment_reading(res, out);
    json_object_put(res);
    return rc;
}

ul_err rf_power_reading(struct ul_bmc_session *bs, struct ul_power_reading *out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    bool got = false;
    ul_err rc = UL_OK;
    for (int pass = 0; pass < 2; pass++) {
        bool cached = s->sources != NULL;
        if (!cached && (rc = find_sources(s, em)) != UL_OK)
            return rc;
        for (size_t i = 0; s->sources && i < s->nsources && !got && rc == UL_OK; i++)
            rc = source_reading(s, &s->sources[i], out, &got, em);
        if (rc == UL_ERR_UNSUPPORTED && cached) {
            forget_sources(s);
            rc = UL_OK;
            continue;
        }
        break;
    }
    if (rc == UL_OK && !got)
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: no PowerControl or EnvironmentMetrics power reading: power "
                           "reading not supported by this BMC",
                           s->node);
    return rc;
}
