/* drivers.h - the concrete BMC drivers, registered in one place.
 *
 * bmc/driver.c holds a registry that knows no driver by itself; this is the
 * one file that names them all (bmc/ knows nothing of redfish/, and nothing
 * above daemon/ names a protocol).  The daemon's main calls it, and so do the
 * unit tests and bench helpers that reach a BMC through the table, so every
 * program sees the same drivers in the same order.
 */
#ifndef UL_DAEMON_DRIVERS_H
#define UL_DAEMON_DRIVERS_H

#include "ul_error.h"

/* Register ipmi, redfish and fake, in that order (the order the API lists
 * them in "unknown driver" errors).  Call once, at start, before any thread
 * looks a driver up (bmc_driver_register is not thread-safe).  On failure
 * em names the driver; drivers registered before it stay registered. */
ul_err daemon_register_drivers(ul_errmsg *em);

#endif
