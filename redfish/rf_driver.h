/* rf_driver.h - the Redfish driver's one public symbol, registered by
 * daemon/drivers.c.  Everything else of the driver is private to redfish/. */
#ifndef UL_RF_DRIVER_H
#define UL_RF_DRIVER_H

#include "bmc/driver.h"

/* The Redfish driver (libcurl + json-c).  Endpoints redfish://host[:port][/path]
 * and https://... (TLS, port 443 by default), http://host:port[/path] (plain
 * HTTP, for emulators only).  The optional path names one ComputerSystem.
 * Options: ca_file, insecure, auth (session|basic), retries (0-5),
 * timeout_ms. */
extern const struct ul_driver redfish_driver;

#endif
