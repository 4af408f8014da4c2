#include "config.h"

#include "driver.h"
#include "ipmi.h"

#include <string.h>

static const struct ul_driver *const drivers[] = {
    &ipmi_driver,
    &bmc_fake_driver,
    NULL,
};

const struct ul_driver *const *bmc_drivers(void)
{
    return drivers;
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
