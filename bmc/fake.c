/* fake.c - an in-process simulated BMC behind the driver table.
 *
 * It lets the job engine, the API and the CLI be tested (and demonstrated)
 * end to end without hardware, the way Ironic's fake-hardware type does.
 * Each fake://NAME endpoint is one simulated BMC whose power and boot state
 * live in this process for its lifetime.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bmc/driver.h"
#include "ultime.h"
#include "xalloc.h"

struct fake_bmc {
    char *host;
    enum ul_power_state power;
    struct ul_boot boot;
    bool identify;             /* the identify LED */
    int64_t identify_until_ms; /* ul_mono_ms when it goes out; 0: stays on */
    int64_t down_until_ms;     /* a reset BMC answers nothing until then */
    struct fake_bmc *next;
};

static pthread_mutex_t fake_lock = PTHREAD_MUTEX_INITIALIZER;
static struct fake_bmc *fake_bmcs; /* guarded by fake_lock; lives until exit */

struct fake_session {
    struct ul_bmc_session base; /* what the table sees (bmc/driver.h) */
    char *node;
    char *host;
    int delay_ms;
    int timeout_ms;
    int sensors; /* simulated sensors; 0: a BMC without any, like before */
    ul_err fail;
};

static struct fake_session *fake_session_of(struct ul_bmc_session *bs)
{
    return bs ? ul_container_of(bs, struct fake_session, base) : NULL;
}

static const struct {
    const char *name;
    ul_err code;
} fail_modes[] = {
    {"auth", UL_ERR_AUTH},
    {"unreachable", UL_ERR_UNREACHABLE},
    {"timeout", UL_ERR_TIMEOUT},
    {"busy", UL_ERR_BUSY},
};

static ul_err fake_check_options(json_object *options, ul_errmsg *em)
{
    json_object_object_foreach(options, key, val)
    {
        if (strcmp(key, "delay_ms") == 0) {
            if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
                json_object_get_int64(val) > 3600000)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'delay_ms': must be an integer from 0 to 3600000");
        } else if (strcmp(key, "fail") == 0) {
            const char *v = json_object_get_string(val);
            bool ok = json_object_is_type(val, json_type_string) && strcmp(v, "none") == 0;
            for (size_t i = 0; !ok && i < sizeof(fail_modes) / sizeof(fail_modes[0]); i++)
                ok = json_object_is_type(val, json_type_string) &&
                     strcmp(v, fail_modes[i].name) == 0;
            if (!ok)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'fail': must be one of none, auth, unreachable, "
                                     "timeout, busy");
        } else if (strcmp(key, "sensors") == 0) {
            if (!json_object_is_type(val, json_type_int) || json_object_get_int64(val) < 0 ||
                json_object_get_int64(val) > 200)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'sensors': must be an integer from 0 to 200");
        } else if (strcmp(key, "chassis") == 0) {
            if (!json_object_is_type(val, json_type_boolean))
                return ul_errmsg_set(em, UL_ERR_INVALID, "option 'chassis': must be true or false");
        } else if (strcmp(key, "power") == 0) {
            const char *v = json_object_get_string(val);
            if (!json_object_is_type(val, json_type_string) ||
                (strcmp(v, "on") != 0 && strcmp(v, "off") != 0))
                return ul_errmsg_set(em, UL_ERR_INVALID, "option 'power': must be on or off");
        } else {
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "unknown option '%.64s' for driver fake (known: chassis, delay_ms, "
                                 "fail, power, sensors)",
                                 key);
        }
    }
    return UL_OK;
}

/* Caller holds fake_lock. */
static struct fake_bmc *bmc_lookup(const char *host, enum ul_power_state initial)
{
    for (struct fake_bmc *b = fake_bmcs; b; b = b->next)
        if (strcmp(b->host, host) == 0)
            return b;
    struct fake_bmc *b = xcalloc(1, sizeof(*b));
    b->host = xstrdup(host);
    b->power = initial;
    b->next = fake_bmcs;
    fake_bmcs = b;
    return b;
}

static ul_err fake_open(const struct ul_bmc_target *t, struct ul_bmc_session **out, ul_errmsg *em)
{
    struct fake_session *s = xcalloc(1, sizeof(*s));
    s->base.driver = &bmc_fake_driver;
    s->node = xstrdup(t->node);
    s->host = xstrdup(t->ep.host);
    s->timeout_ms = t->timeout_ms;
    enum ul_power_state initial = UL_POWER_OFF;
    json_object *v;
    if (t->options && json_object_object_get_ex(t->options, "delay_ms", &v))
        s->delay_ms = json_object_get_int(v);
    if (t->options && json_object_object_get_ex(t->options, "sensors", &v))
        s->sensors = json_object_get_int(v);
    if (t->options && json_object_object_get_ex(t->options, "power", &v) &&
        strcmp(json_object_get_string(v), "on") == 0)
        initial = UL_POWER_ON;
    if (t->options && json_object_object_get_ex(t->options, "fail", &v))
        for (size_t i = 0; i < sizeof(fail_modes) / sizeof(fail_modes[0]); i++)
            if (strcmp(json_object_get_string(v), fail_modes[i].name) == 0)
                s->fail = fail_modes[i].code;
    pthread_mutex_lock(&fake_lock);
    bmc_lookup(s->host, initial);
    pthread_mutex_unlock(&fake_lock);
    if (s->fail == UL_ERR_AUTH) {
        ul_err rc = ul_errmsg_set(em, UL_ERR_AUTH, "node %s: BMC rejected the credentials",
                                  t->node);
        free(s->node);
        free(s->host);
        free(s);
        return rc;
    }
    *out = &s->base;
    return UL_OK;
}

static void fake_close(struct ul_bmc_session *bs)
{
    struct fake_session *s = fake_session_of(bs);
    if (!s)
        return;
    free(s->node);
    free(s->host);
    free(s);
}

/* Every call costs delay_ms, bounded by the call timeout, and fails in the
 * configured way. */
static ul_err fake_call(struct fake_session *s, const char *op, ul_errmsg *em)
{
    pthread_mutex_lock(&fake_lock);
    int64_t down = bmc_lookup(s->host, UL_POWER_OFF)->down_until_ms - ul_mono_ms();
    pthread_mutex_unlock(&fake_lock);
    if (down > 0) {
        /* Like a BMC that is restarting: silence for the call's timeout. */
        ul_sleep_ms(down < s->timeout_ms ? (int)down : s->timeout_ms);
        return ul_errmsg_set(em, UL_ERR_UNREACHABLE,
                             "node %s: %s: BMC does not answer (restarting after a reset, "
                             "simulated)",
                             s->node, op);
    }
    if (s->delay_ms > s->timeout_ms) {
        ul_sleep_ms(s->timeout_ms);
        return ul_errmsg_set(em, UL_ERR_TIMEOUT, "node %s: %s: no reply within %d ms", s->node,
                             op, s->timeout_ms);
    }
    ul_sleep_ms(s->delay_ms);
    if (s->fail != UL_OK)
        return ul_errmsg_set(em, s->fail, "node %s: %s: %s (simulated)", s->node, op,
                             ul_strerror(s->fail));
    return UL_OK;
}

static ul_err fake_power_get(struct ul_bmc_session *bs, enum ul_power_state *out, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, "power status", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    *out = bmc_lookup(s->host, UL_POWER_OFF)->power;
    pthread_mutex_unlock(&fake_lock);
    return UL_OK;
}

static ul_err fake_power_set(struct ul_bmc_session *bs, enum ul_power_action a, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, bmc_power_action_name(a), em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    struct fake_bmc *b = bmc_lookup(s->host, UL_POWER_OFF);
    switch (a) {
    case UL_POWER_ACTION_ON:
    case UL_POWER_ACTION_CYCLE:
        b->power = UL_POWER_ON;
        break;
    case UL_POWER_ACTION_OFF:
    case UL_POWER_ACTION_SOFT:
        b->power = UL_POWER_OFF;
        break;
    case UL_POWER_ACTION_RESET:
        /* Like most BMCs, a warm reset of a powered-off host is refused. */
        if (b->power != UL_POWER_ON)
            rc = ul_errmsg_set(em, UL_ERR_CONFLICT, "node %s: reset: host is powered off",
                               s->node);
        break;
    }
    pthread_mutex_unlock(&fake_lock);
    return rc;
}

static ul_err fake_boot_get(struct ul_bmc_session *bs, struct ul_boot *out, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, "boot get", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    *out = bmc_lookup(s->host, UL_POWER_OFF)->boot;
    pthread_mutex_unlock(&fake_lock);
    return UL_OK;
}

static ul_err fake_boot_set(struct ul_bmc_session *bs, const struct ul_boot *b, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, "boot set", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    bmc_lookup(s->host, UL_POWER_OFF)->boot = *b;
    pthread_mutex_unlock(&fake_lock);
    return UL_OK;
}

/* Simulated readings: temperatures (the first kinds), a fan and the host's
 * power draw, steady per node and sensor with a small drift over time, so a
 * graph of a fake node shows a line and the fleet views have data. */
static ul_err fake_sensors_read(struct ul_bmc_session *bs, struct ul_sensor_list *out,
                                ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    if (s->sensors == 0)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED, "node %s: sensors not supported by this BMC",
                             s->node);
    ul_err rc = fake_call(s, "sensors", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    bool on = bmc_lookup(s->host, UL_POWER_OFF)->power == UL_POWER_ON;
    pthread_mutex_unlock(&fake_lock);
    unsigned seed = 0;
    for (const char *p = s->node; *p; p++)
        seed = seed * 31 + (unsigned char)*p;
    int64_t minute = ul_wall_s() / 60;
    for (int i = 0; i < s->sensors; i++) {
        struct ul_sensor *x = bmc_sensor_list_add(out);
        x->number = i + 1;
        x->has_value = true;
        x->status = UL_SENSOR_OK;
        double drift = (double)((minute + i + seed) % 7) * 0.5;
        if (i == s->sensors - 1 && s->sensors > 2) {
            snprintf(x->name, sizeof(x->name), "PSU Power");
            x->kind = UL_SENSOR_POWER;
            snprintf(x->type, sizeof(x->type), "Power Supply");
            snprintf(x->unit, sizeof(x->unit), "watts");
            x->value = on ? 180.0 + (seed % 60) + drift * 4 : 12.0;
        } else if (i == s->sensors - 2 && s->sensors > 2) {
            snprintf(x->name, sizeof(x->name), "Fan 1");
            x->kind = UL_SENSOR_FAN;
            snprintf(x->type, sizeof(x->type), "Fan");
            snprintf(x->unit, sizeof(x->unit), "rpm");
            x->value = on ? 5400.0 + (seed % 900) + drift * 40 : 0.0;
        } else {
            snprintf(x->name, sizeof(x->name), i == 0 ? "Inlet Temp" : "CPU%d Temp", i);
            x->kind = UL_SENSOR_TEMPERATURE;
            snprintf(x->type, sizeof(x->type), "Temperature");
            snprintf(x->unit, sizeof(x->unit), "celsius");
            x->value = (i == 0 ? 21.0 : on ? 45.0 : 25.0) + (double)((seed + (unsigned)i) % 9) +
                       drift;
            x->thresholds_present = 1u << UL_THR_UPPER_CRITICAL;
            x->thresholds[UL_THR_UPPER_CRITICAL] = i == 0 ? 40.0 : 95.0;
        }
    }
    return UL_OK;
}

/* The identify LED: on for `seconds` (0: until turned off). */
static ul_err fake_identify_set(struct ul_bmc_session *bs, bool on, int seconds, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, on ? "identify on" : "identify off", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    struct fake_bmc *b = bmc_lookup(s->host, UL_POWER_OFF);
    b->identify = on;
    b->identify_until_ms = on && seconds > 0 ? ul_mono_ms() + (int64_t)seconds * 1000 : 0;
    pthread_mutex_unlock(&fake_lock);
    return UL_OK;
}

static ul_err fake_identify_get(struct ul_bmc_session *bs, bool *on, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, "identify status", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    struct fake_bmc *b = bmc_lookup(s->host, UL_POWER_OFF);
    if (b->identify && b->identify_until_ms && ul_mono_ms() >= b->identify_until_ms)
        b->identify = false;
    *on = b->identify;
    pthread_mutex_unlock(&fake_lock);
    return UL_OK;
}

/* A reset BMC is silent for a while (2 s cold, 1 s warm), then answers
 * with its identify LED off; the host's power is untouched. */
#define FAKE_COLD_RESET_MS 2000
#define FAKE_WARM_RESET_MS 1000

static ul_err fake_bmc_reset(struct ul_bmc_session *bs, bool cold, ul_errmsg *em)
{
    struct fake_session *s = fake_session_of(bs);
    ul_err rc = fake_call(s, cold ? "BMC cold reset" : "BMC warm reset", em);
    if (rc != UL_OK)
        return rc;
    pthread_mutex_lock(&fake_lock);
    struct fake_bmc *b = bmc_lookup(s->host, UL_POWER_OFF);
    b->down_until_ms = ul_mono_ms() + (cold ? FAKE_COLD_RESET_MS : FAKE_WARM_RESET_MS);
    b->identify = false;
    b->identify_until_ms = 0;
    pthread_mutex_unlock(&fake_lock);
    return UL_OK;
}

static unsigned fake_node_caps(json_object *options)
{
    json_object *v = NULL;
    bool sensors = options && json_object_object_get_ex(options, "sensors", &v) &&
                   json_object_get_int(v) > 0;
    /* Identify LED and BMC reset only where asked (chassis: true), so a
     * plain fake node keeps the capabilities it always had. */
    bool chassis = options && json_object_object_get_ex(options, "chassis", &v) &&
                   json_object_get_boolean(v);
    return UL_CAP_POWER | UL_CAP_BOOT | (chassis ? UL_CAP_IDENTIFY | UL_CAP_BMC_RESET : 0) |
           (sensors ? UL_CAP_SENSORS : 0);
}

static const char *const fake_schemes[] = {"fake", NULL};

const struct ul_driver bmc_fake_driver = {
    .name = "fake",
    .version = UL_DRIVER_API_VERSION,
    /* Sensors only where a node's option asks for them (sensors: N), the
     * identify LED and BMC reset with chassis: true. */
    .caps = UL_CAP_POWER | UL_CAP_BOOT | UL_CAP_SENSORS | UL_CAP_IDENTIFY | UL_CAP_BMC_RESET,
    .schemes = fake_schemes,
    .check_options = fake_check_options,
    .open = fake_open,
    .close = fake_close,
    .power_get = fake_power_get,
    .power_set = fake_power_set,
    .boot_get = fake_boot_get,
    .boot_set = fake_boot_set,
    .sensors_read = fake_sensors_read,
    .node_caps = fake_node_caps,
    .identify_set = fake_identify_set,
    .identify_get = fake_identify_get,
    .bmc_reset = fake_bmc_reset,
};
