/* console.h (ops) - what the API may use of a node's serial console: the
 * opener registry of bmc/console.h, re-exported here because api/ reaches
 * bmc/ only through ops/ (tests/check_layout.sh).  The session manager is
 * api/routes_console.c; the IPMI opener is bmc/ipmi_sol.c. */
#ifndef UL_OPS_CONSOLE_H
#define UL_OPS_CONSOLE_H

#include "bmc/console.h"

#endif
