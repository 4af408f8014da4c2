/* caps.h - what a node's driver can do: the capability bits of the driver
 * table (driver.h UL_CAP_*) named, and the capability each job type needs,
 * so a request the driver cannot serve is refused at once (HTTP 501) instead
 * of being learnt by running a job.
 *
 * A capability says what the driver can do in principle; a given BMC may
 * still lack the service (a Redfish BMC without Bios) and its job then fails
 * with UL_ERR_UNSUPPORTED at run time.
 *
 * Pure functions over constant tables: any thread, never blocks.
 */
#ifndef UL_BMC_CAPS_H
#define UL_BMC_CAPS_H

#include <json-c/json.h>

#include "core/node.h"
#include "bmc/driver.h"
#include "ul_error.h"

/* The stable name of one capability bit ("power", "boot", "sensors",
 * "events", "inventory", "power_reading", "bios", "raid", "firmware",
 * "identify", "bmc_reset"), or NULL for an unknown bit. */
const char *bmc_cap_name(unsigned cap);

/* The names of every bit set in caps, in bit order, as a new JSON array. */
json_object *bmc_caps_json(unsigned caps);

/* The capability a job of `type` with `params` (may be NULL) needs, or 0
 * when it needs none this table knows of (unknown types are the job
 * engine's to refuse).  *what (may be NULL) is the operator's word for the
 * operation ("sensors", "BIOS", "the event log"). */
unsigned bmc_caps_required(const char *type, json_object *params, const char **what);

/* UL_OK when driver d can run the job; otherwise UL_ERR_UNSUPPORTED with a
 * message naming the node, the operation, the driver and the capability:
 * "node n1: BIOS not supported by this BMC (driver fake lacks capability
 * 'bios')".  d NULL (a driver this build lacks) is UL_ERR_UNSUPPORTED too. */
ul_err bmc_caps_check(const struct ul_driver *d, json_object *options, const char *node,
                      const char *type,
                      json_object *params, ul_errmsg *em);

/* The same for a stored node, resolving its driver through the registry;
 * the app layer's job_check hook (core/app.h), arg unused. */
ul_err bmc_caps_node_check(void *arg, const struct ul_node *n, const char *type,
                           json_object *params, ul_errmsg *em);

/* The capability bits of node n's driver (0 when this build lacks it). */
unsigned bmc_caps_of_node(const struct ul_node *n);

/* The app layer's hooks into the drivers (core/app.h): node settings checked
 * and the driver named through the registry (bmc_node_check), jobs checked
 * against the node's capabilities (bmc_caps_node_check).  What the API, the
 * discovery job and the tests hand app_new. */
struct app_hooks;
extern const struct app_hooks ops_app_hooks;

#endif
