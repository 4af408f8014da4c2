/* caps.c - capability names and the job type -> capability table. */
#include "config.h"

#include "ops/caps.h"

#include "core/app.h"
#include "ops/ops.h"

#include <string.h>

static const char *const cap_names[] = {"power",         "boot", "sensors", "events", "inventory",
                                        "power_reading", "bios", "raid",    "firmware", "identify",
                                        "bmc_reset"};
#define N_CAPS (sizeof(cap_names) / sizeof(cap_names[0]))

const char *bmc_cap_name(unsigned cap)
{
    for (unsigned i = 0; i < N_CAPS; i++)
        if (cap == (1u << i))
            return cap_names[i];
    return NULL;
}

json_object *bmc_caps_json(unsigned caps)
{
    json_object *a = json_object_new_array();
    for (unsigned i = 0; i < N_CAPS; i++)
        if (caps & (1u << i))
            json_object_array_add(a, json_object_new_string(cap_names[i]));
    return a;
}

/* Job types by name, or by prefix when the name ends in '.' ("bios." covers
 * bios.read and bios.set). */
static const struct {
    const char *type;
    unsigned cap;
    const char *what;
} job_caps[] = {
    {"power", UL_CAP_POWER, "power control"},
    {"boot", UL_CAP_BOOT, "boot override"},
    {"sensors", UL_CAP_SENSORS, "sensors"},
    {"sel", UL_CAP_EVENTS, "event log reading"},
    {"inventory", UL_CAP_INVENTORY, "inventory"},
    {"bios.", UL_CAP_BIOS, "BIOS"},
    {"raid.", UL_CAP_RAID, "RAID"},
    {"firmware.", UL_CAP_FIRMWARE, "firmware"},
    {"identify", UL_CAP_IDENTIFY, "chassis identify"},
    {"bmc.reset", UL_CAP_BMC_RESET, "BMC reset"},
};

unsigned bmc_caps_required(const char *type, json_object *params, const char **what)
{
    (void)params; /* no job type's need depends on its parameters yet */
    if (what)
        *what = NULL;
    for (size_t i = 0; type && i < sizeof(job_caps) / sizeof(job_caps[0]); i++) {
        size_t len = strlen(job_caps[i].type);
        bool prefix = job_caps[i].type[len - 1] == '.';
        if (prefix ? strncmp(type, job_caps[i].type, len) == 0
                   : strcmp(type, job_caps[i].type) == 0) {
            if (what)
                *what = job_caps[i].what;
            return job_caps[i].cap;
        }
    }
    return 0;
}

ul_err bmc_caps_check(const struct ul_driver *d, json_object *options, const char *node,
                      const char *type, json_object *params, ul_errmsg *em)
{
    const char *what;
    unsigned need = bmc_caps_required(type, params, &what);
    if (!d)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: %s not supported: its driver is not built into this daemon",
                             node, what ? what : type);
    unsigned have = bmc_driver_node_caps(d, options);
    if ((have & need) == need)
        return UL_OK;
    /* The wording keeps "<what> not supported by this BMC", as the jobs
     * that used to find out at run time said it. */
    if ((d->caps & need) == need)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: %s not supported by this BMC (driver %s lacks capability "
                             "'%s' for this node: its options do not enable it)",
                             node, what, d->name, bmc_cap_name(need));
    return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                         "node %s: %s not supported by this BMC (driver %s lacks capability '%s')",
                         node, what, d->name, bmc_cap_name(need));
}

ul_err bmc_caps_node_check(void *arg, const struct ul_node *n, const char *type,
                           json_object *params, ul_errmsg *em)
{
    (void)arg;
    return bmc_caps_check(bmc_driver_find(n->driver), n->options, n->name, type, params, em);
}

unsigned bmc_caps_of_node(const struct ul_node *n)
{
    return bmc_driver_node_caps(bmc_driver_find(n->driver), n->options);
}

static ul_err hook_node_check(void *arg, const char *driver, const char *endpoint,
                              json_object *options, const char **driver_out, ul_errmsg *em)
{
    (void)arg;
    const struct ul_driver *d;
    ul_err rc = bmc_node_check(driver, endpoint, options, &d, em);
    if (rc == UL_OK)
        *driver_out = d->name;
    return rc;
}

const struct app_hooks ops_app_hooks = {
    .node_check = hook_node_check,
    .job_check = bmc_caps_node_check,
};
