/* console.h - a node's serial console (IPMI Serial-over-LAN and the like) as
 * a byte stream, whatever the protocol.
 *
 * A protocol that can reach a serial console registers an opener for its
 * driver name at start-up (daemon/underlayd.c), before any thread runs; the
 * API asks bmc_console_supported() and bmc_console_open() and never which
 * protocol a node speaks.  Today only the IPMI driver has one (ipmi_sol.c,
 * FreeIPMI's libipmiconsole).
 */
#ifndef UL_BMC_CONSOLE_H
#define UL_BMC_CONSOLE_H

#include <stdbool.h>

#include "core/node.h"
#include "ul_error.h"

typedef struct bmc_console bmc_console;

struct bmc_console_driver {
    const char *driver; /* the node driver this opener serves ("ipmi") */
    /* Open the console of n (password filled).  Blocks up to the BMC's
     * timeouts: call it on the console's own thread, never an HTTP thread.
     * On success *fd is a descriptor whose reads give the serial output and
     * whose writes are typed into the console (EOF: the session ended; the
     * caller owns *fd and closes it before close()).  handle goes to close(). */
    ul_err (*open)(const struct ul_node *n, void **handle, int *fd, ul_errmsg *em);
    /* Why the session behind handle ended, into em (after EOF on the fd). */
    void (*why)(void *handle, ul_errmsg *em);
    void (*close)(void *handle); /* NULL-safe */
};

/* Register before any thread runs; refuses a second opener for one driver.
 * d must outlive the process. */
ul_err bmc_console_register(const struct bmc_console_driver *d, ul_errmsg *em);

/* Does the driver named have a console? */
bool bmc_console_supported(const char *driver);

/* Open n's console (blocks; see above).  UL_ERR_UNSUPPORTED when no opener
 * serves its driver.  *out is owned by the caller: bmc_console_close. */
ul_err bmc_console_open(const struct ul_node *n, bmc_console **out, ul_errmsg *em);
int bmc_console_fd(const bmc_console *c);
/* After EOF on the fd: why the session ended. */
void bmc_console_why(bmc_console *c, ul_errmsg *em);
/* Close the fd and the session.  NULL-safe. */
void bmc_console_close(bmc_console *c);

#endif
