/* ops.h - node operations as jobs, written once over the driver table.
 *
 * Registers job types with the engine ("power", ...).  Handlers load the
 * node (with its decrypted credentials) from the store, open a session
 * through the node's driver, act, and read the result back from the BMC.
 */
#ifndef UL_BMC_OPS_H
#define UL_BMC_OPS_H

#include "bmc/driver.h"
#include "bmc/sessions.h"
#include "core/jobs.h"

struct bmc_ops_config {
    int call_timeout_ms;    /* bound on each BMC call */
    bmc_sessions *sessions; /* per-node session cache, owned by the caller;
                             * NULL: a session per job, nothing cached */
};

/* Register the operation job types.  cfg must outlive the engine and is
 * installed as the engine's user pointer. */
void bmc_ops_register(ul_jobs *jobs, const struct bmc_ops_config *cfg);

/* Resolve a node's driver and check its endpoint and options; used by the API
 * before a node is stored so bad input never reaches the store.  *driver_name
 * may be NULL (pick by scheme); on success *driver is the chosen driver. */
ul_err bmc_node_check(const char *driver_name, const char *endpoint, json_object *options,
                      const struct ul_driver **driver, ul_errmsg *em);

#endif
