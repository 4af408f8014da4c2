/* ipmi_dcmi.c - power draw through DCMI Get Power Reading.
 *
 * DCMI is an optional group extension of IPMI: many BMCs (and OpenIPMI's
 * ipmi_sim) do not implement it, and say so in different ways -- "invalid
 * command", "command disabled", or a reply that is not DCMI's at all.  All
 * of those are UL_ERR_UNSUPPORTED, a permanent answer the scheduler does
 * not retry.  Some BMCs that do implement it answer only at ADMIN
 * privilege; that is an authentication error naming the privilege.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <freeipmi/freeipmi.h>

#include "bmc/ipmi.h"

struct power_reading_arg {
    fiid_obj_t rs;
    bool unsupported;
    bool privilege;
};

/* Completion codes with which BMCs without DCMI answer a group extension
 * command, beyond those FreeIPMI already maps to "invalid or unsupported". */
static bool dcmi_absent_code(fiid_obj_t rs)
{
    return ipmi_check_completion_code(rs, IPMI_COMP_CODE_INVALID_COMMAND) == 1 ||
           ipmi_check_completion_code(rs, IPMI_COMP_CODE_COMMAND_INVALID_FOR_LUN) == 1 ||
           ipmi_check_completion_code(rs, IPMI_COMP_CODE_REQUEST_PARAMETER_ILLEGAL) == 1;
}

static int call_power_reading(ipmi_ctx_t ctx, void *arg)
{
    struct power_reading_arg *a = arg;
    a->unsupported = a->privilege = false;
    if (ipmi_cmd_dcmi_get_power_reading(ctx, IPMI_DCMI_POWER_READING_MODE_SYSTEM_POWER_STATISTICS,
                                        0, a->rs) == 0)
        return 0;
    int e = ipmi_ctx_errnum(ctx);
    if (e == IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED ||
        (e == IPMI_ERR_BAD_COMPLETION_CODE && dcmi_absent_code(a->rs))) {
        a->unsupported = true;
        return 0;
    }
    if (e == IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT) {
        a->privilege = true;
        return 0;
    }
    return -1; /* the session's trouble: ipmi_session_call maps or retries it */
}

ul_err ipmi_power_reading(struct ul_bmc_session *bs, struct ul_power_reading *out, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct power_reading_arg a = {.rs = fiid_obj_create(tmpl_cmd_dcmi_get_power_reading_rs)};
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, "DCMI power reading", call_power_reading, &a, em);
    if (rc != UL_OK)
        goto out;
    uint64_t group = 0, cur = 0, min = 0, max = 0, avg = 0, period_ms = 0, active = 0;
    if (a.unsupported || (FIID_OBJ_GET(a.rs, "group_extension_identification", &group) == 1 &&
                          group != IPMI_NET_FN_GROUP_EXTENSION_IDENTIFICATION_DCMI)) {
        /* A reply from another group extension is a BMC that routes the
         * netfn but does not speak DCMI. */
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: DCMI power reading not supported by this BMC", s->node);
        goto out;
    }
    if (a.privilege) {
        rc = ul_errmsg_set(em, UL_ERR_AUTH,
                           "node %s: DCMI power reading: this BMC requires a higher privilege "
                           "(set the node's option privilege to admin)",
                           s->node);
        goto out;
    }
    if (FIID_OBJ_GET(a.rs, "current_power", &cur) < 0 ||
        FIID_OBJ_GET(a.rs, "minimum_power_over_sampling_duration", &min) < 0 ||
        FIID_OBJ_GET(a.rs, "maximum_power_over_sampling_duration", &max) < 0 ||
        FIID_OBJ_GET(a.rs, "average_power_over_sampling_duration", &avg) < 0 ||
        FIID_OBJ_GET(a.rs, "statistics_reporting_time_period", &period_ms) < 0 ||
        FIID_OBJ_GET(a.rs, "power_reading_state.power_measurement", &active) < 0) {
        rc =
            ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: DCMI power reading: short reply", s->node);
        goto out;
    }
    memset(out, 0, sizeof(*out));
    out->watts = (double)cur;
    out->min_watts = (double)min;
    out->max_watts = (double)max;
    out->avg_watts = (double)avg;
    /* DCMI reports the statistics period in milliseconds. */
    out->period_s = (int)((period_ms + 500) / 1000);
    out->active = active == IPMI_DCMI_POWER_READING_STATE_POWER_MEASUREMENT_ACTIVE;
out:
    fiid_obj_destroy(a.rs);
    return rc;
}
