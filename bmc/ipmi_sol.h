/* ipmi_sol.h - IPMI Serial-over-LAN consoles (libipmiconsole). */
#ifndef UL_BMC_IPMI_SOL_H
#define UL_BMC_IPMI_SOL_H

#include "ul_error.h"

/* Start libipmiconsole's engine threads and register the "ipmi" console
 * opener (bmc/console.h).  Call once, from main, before other threads run. */
ul_err ipmi_sol_register(ul_errmsg *em);
/* Stop the engine (closing what is still open).  After every console user
 * has stopped. */
void ipmi_sol_shutdown(void);

#endif
