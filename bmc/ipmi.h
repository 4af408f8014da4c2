/* ipmi.h - the IPMI driver's pieces shared between its files (bmc/ipmi*.c)
 * and its unit tests.  Nothing outside bmc/ includes this. */
#ifndef UL_BMC_IPMI_H
#define UL_BMC_IPMI_H

#include <freeipmi/freeipmi.h>
#include <json-c/json.h>
#include <stdbool.h>

#include "bmc/driver.h"
#include "ul_error.h"

/* A node's session settings, parsed from its driver options. */
struct ipmi_session_config {
    bool lanplus;                  /* IPMI 2.0 (default) or 1.5 */
    int cipher_suite;              /* default 3 */
    int privilege;                 /* IPMI_PRIVILEGE_LEVEL_*; default admin */
    int session_timeout_ms;        /* 0: the daemon's bmc.timeout */
    int retransmission_timeout_ms; /* 0: FreeIPMI-style default */
    unsigned workaround_lan;       /* IPMI_WORKAROUND_FLAGS_OUTOFBAND_* */
    unsigned workaround_lan20;     /* IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_* */
};

ul_err ipmi_session_config_parse(json_object *options, struct ipmi_session_config *cfg,
                                 ul_errmsg *em);

/* FreeIPMI error number to a project error (opening: during session setup). */
ul_err ipmi_map_error(int errnum, bool opening);

/* Run fn(ctx, arg) on the session, re-opening it once if the BMC dropped it.
 * fn returns FreeIPMI's convention (< 0 on error). */
typedef int (*ipmi_call_fn)(ipmi_ctx_t ctx, void *arg);
ul_err ipmi_session_call(struct ul_bmc_session *s, const char *what, ipmi_call_fn fn, void *arg,
                         ul_errmsg *em);
ipmi_ctx_t ipmi_session_ctx(struct ul_bmc_session *s);
const char *ipmi_session_node(struct ul_bmc_session *s);

extern const struct ul_driver ipmi_driver;

#endif
