#include "config.h"

#include "driver.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

/* The registry: filled at start (daemon/drivers.c), read-only once threads
 * run, so lookups take no lock.  NULL-ended; in registration order. */
static const struct ul_driver *drivers[BMC_DRIVERS_MAX + 1];
static size_t ndrivers;

const struct ul_driver *const *bmc_drivers(void)
{
    return drivers;
}

ul_err bmc_driver_register(const struct ul_driver *d, ul_errmsg *em)
{
    if (!d || !d->name || !d->name[0])
        return ul_errmsg_set(em, UL_ERR_INVALID, "register driver: the table has no name");
    if (d->version < 1 || d->version > UL_DRIVER_API_VERSION)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "register driver %s: API version %d, this build takes 1 to %d",
                             d->name, d->version, UL_DRIVER_API_VERSION);
    if (!d->open || !d->close)
        return ul_errmsg_set(em, UL_ERR_INVALID, "register driver %s: no open or close slot",
                             d->name);
    if (bmc_driver_find(d->name))
        return ul_errmsg_set(em, UL_ERR_CONFLICT, "register driver %s: already registered",
                             d->name);
    for (int k = 0; d->schemes && d->schemes[k]; k++) {
        const struct ul_driver *other = bmc_driver_for_scheme(d->schemes[k]);
        if (other)
            return ul_errmsg_set(em, UL_ERR_CONFLICT,
                                 "register driver %s: scheme '%s' is already driver %s's",
                                 d->name, d->schemes[k], other->name);
    }
    if (ndrivers >= BMC_DRIVERS_MAX)
        return ul_errmsg_set(em, UL_ERR_INTERNAL,
                             "register driver %s: the registry is full (%d drivers)", d->name,
                             BMC_DRIVERS_MAX);
    drivers[ndrivers++] = d;
    drivers[ndrivers] = NULL;
    return UL_OK;
}

void bmc_drivers_clear(void)
{
    memset(drivers, 0, sizeof(drivers));
    ndrivers = 0;
}

const struct ul_driver *bmc_driver_find(const char *name)
{
    for (int i = 0; name && drivers[i]; i++)
        if (strcmp(drivers[i]->name, name) == 0)
            return drivers[i];
    return NULL;
}

const struct ul_driver *bmc_driver_for_scheme(const char *scheme)
{
    for (int i = 0; scheme && drivers[i]; i++)
        for (int k = 0; drivers[i]->schemes && drivers[i]->schemes[k]; k++)
            if (strcmp(drivers[i]->schemes[k], scheme) == 0)
                return drivers[i];
    return NULL;
}

static const char *const power_states[] = {"unknown", "on", "off"};
static const char *const power_actions[] = {NULL, "on", "off", "soft", "cycle", "reset"};
static const char *const boot_devices[] = {"none", "pxe", "disk", "cdrom", "bios"};

const char *bmc_power_state_name(enum ul_power_state s)
{
    return (unsigned)s <= UL_POWER_OFF ? power_states[s] : "unknown";
}

const char *bmc_power_action_name(enum ul_power_action a)
{
    return (a >= UL_POWER_ACTION_ON && a <= UL_POWER_ACTION_RESET) ? power_actions[a] : "?";
}

enum ul_power_action bmc_power_action_parse(const char *s)
{
    for (int i = UL_POWER_ACTION_ON; s && i <= UL_POWER_ACTION_RESET; i++)
        if (strcmp(s, power_actions[i]) == 0)
            return (enum ul_power_action)i;
    return 0;
}

const char *bmc_boot_device_name(enum ul_boot_device d)
{
    return (unsigned)d <= UL_BOOT_BIOS ? boot_devices[d] : "?";
}

int bmc_boot_device_parse(const char *s)
{
    for (int i = 0; s && i <= UL_BOOT_BIOS; i++)
        if (strcmp(s, boot_devices[i]) == 0)
            return i;
    return -1;
}

static const char *const sensor_kinds[] = {"other",   "temperature", "fan",     "voltage",
                                           "current", "power",       "discrete"};
static const char *const sensor_statuses[] = {"unknown", "ok", "warning", "critical"};
static const char *const thresholds[] = {"lower_non_recoverable", "lower_critical",
                                         "lower_non_critical",    "upper_non_critical",
                                         "upper_critical",        "upper_non_recoverable"};
static const char *const severities[] = {"info", "warning", "critical"};

const char *bmc_sensor_kind_name(enum ul_sensor_kind k)
{
    return (unsigned)k <= UL_SENSOR_DISCRETE ? sensor_kinds[k] : "other";
}

const char *bmc_sensor_status_name(enum ul_sensor_status s)
{
    return (unsigned)s <= UL_SENSOR_CRITICAL ? sensor_statuses[s] : "unknown";
}

const char *bmc_threshold_name(enum ul_threshold t)
{
    return (unsigned)t < UL_THR__COUNT ? thresholds[t] : "?";
}

const char *bmc_severity_name(enum ul_severity s)
{
    return (unsigned)s <= UL_SEV_CRITICAL ? severities[s] : "info";
}

/* Grow by doubling: sensor lists are rebuilt every sweep. */
static void *list_add(void **items, size_t *count, size_t size)
{
    size_t n = *count;
    if ((n & (n - 1)) == 0) /* 0, 1, 2, 4, ...: capacity is the next power of two */
        *items = xrealloc(*items, (n ? n * 2 : 1) * size);
    void *p = (char *)*items + n * size;
    memset(p, 0, size);
    (*count)++;
    return p;
}

struct ul_sensor *bmc_sensor_list_add(struct ul_sensor_list *l)
{
    return list_add((void **)&l->items, &l->count, sizeof(struct ul_sensor));
}

void bmc_sensor_list_free(struct ul_sensor_list *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

struct ul_event *bmc_event_list_add(struct ul_event_list *l)
{
    return list_add((void **)&l->items, &l->count, sizeof(struct ul_event));
}

void bmc_event_list_free(struct ul_event_list *l)
{
    if (!l)
        return;
    free(l->items);
    l->items = NULL;
    l->count = 0;
}

const char *bmc_apply_time_name(enum ul_apply_time a)
{
    switch (a) {
    case UL_APPLY_IMMEDIATE:
        return "immediate";
    case UL_APPLY_ON_RESET:
        return "on-reset";
    default:
        return "default";
    }
}

int bmc_apply_time_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "now") == 0 || strcmp(s, "immediate") == 0)
        return UL_APPLY_IMMEDIATE;
    if (strcmp(s, "on-reset") == 0)
        return UL_APPLY_ON_RESET;
    if (strcmp(s, "default") == 0)
        return UL_APPLY_DEFAULT;
    return -1;
}

const char *bmc_task_state_name(enum ul_task_state s)
{
    static const char *const names[] = {"running", "pending", "done", "failed"};
    return (unsigned)s <= UL_TASK_FAILED ? names[s] : "unknown";
}

unsigned bmc_driver_node_caps(const struct ul_driver *d, json_object *options)
{
    if (!d)
        return 0;
    return d->node_caps ? d->caps & d->node_caps(options) : d->caps;
}
