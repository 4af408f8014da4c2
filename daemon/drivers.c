/* drivers.c - register the concrete BMC drivers (daemon/drivers.h). */
#include "config.h"

#include "daemon/drivers.h"

#include "bmc/driver.h"
#include "redfish/rf_driver.h"

ul_err daemon_register_drivers(ul_errmsg *em)
{
    static const struct ul_driver *const all[] = {&ipmi_driver, &redfish_driver,
                                                  &bmc_fake_driver};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        ul_err rc = bmc_driver_register(all[i], em);
        if (rc != UL_OK)
            return rc;
    }
    return UL_OK;
}
