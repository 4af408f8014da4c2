/* ops.h - node operations as jobs, written once over the driver table.
 *
 * Registers job types with the engine ("power", ...).  Handlers load the
 * node (with its decrypted credentials) from the store, open a session
 * through the node's driver, act, and read the result back from the BMC.
 */
#ifndef UL_OPS_OPS_H
#define UL_OPS_OPS_H

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

/* A node's driver and its (cached) session, for one job. */
struct bmc_op {
    const struct ul_driver *driver;
    struct ul_bmc_session *s;
    char *node;
};

/* A driver's stop callback for a job (arg: its ul_job_ctx): the job was
 * canceled or the daemon is stopping.  The deadline is not a reason: the
 * driver bounds each call by it. */
bool bmc_op_should_stop(void *arg);

/* Load the job's node and take its cached session (or open one). */
ul_err bmc_op_open(ul_job_ctx *ctx, struct bmc_op *os, ul_errmsg *em);
/* Give the session back; after an error that may mean a broken session
 * (silence, garbage) it is closed rather than cached.  NULL-safe. */
void bmc_op_close(ul_job_ctx *ctx, struct bmc_op *os, ul_err rc);

/* Register identify and bmc.reset (chassis_ops.c); bmc_ops_register
 * calls it. */
void bmc_chassis_ops_register(ul_jobs *jobs);

/* Register the configuration job types (bios.*, raid.*, firmware.*;
 * config_ops.c).  spool_dir: where uploaded firmware images wait. */
void bmc_config_ops_register(ul_jobs *jobs, const char *upload_dir);
/* At start, before the jobs run: remove uploaded images no unfinished job
 * names (their job was canceled, or the daemon died mid-upload). */
void bmc_config_uploads_sweep(ul_store *st);

/* ---- the cores of the read jobs, shared with the poll scheduler ----
 * Each runs on a worker holding ctx's node lock (a job or a background task),
 * uses the node's cached session and blocks on the BMC. */

/* Sensors, plus the power reading where the driver has one (*pr_rc says
 * whether *pr is valid; its failure never fails the call), plus the power
 * state when power is not NULL (UL_POWER_UNKNOWN if it cannot be read).  *out is filled
 * (caller frees with bmc_sensor_list_free) even on error. */
ul_err bmc_read_sensors(ul_job_ctx *ctx, struct ul_sensor_list *out,
                        struct ul_power_reading *pr, ul_err *pr_rc, ul_errmsg *pr_em,
                        enum ul_power_state *power, ul_errmsg *em);

/* New log entries into the store (cursor advanced after they are stored);
 * with clear, the BMC's log is then cleared. */
ul_err bmc_collect_events(ul_job_ctx *ctx, bool clear, int *read, int *inserted, ul_errmsg *em);

/* Inventory, stored as the node's latest; *out a new reference. */
ul_err bmc_read_inventory(ul_job_ctx *ctx, json_object **out, ul_errmsg *em);

/* JSON views of readings (new references). */
json_object *bmc_sensor_json(const struct ul_sensor *s);
json_object *bmc_sensors_json(const struct ul_sensor_list *l);
json_object *bmc_power_reading_json(const struct ul_power_reading *p, ul_err rc,
                                    const char *message);

#endif
