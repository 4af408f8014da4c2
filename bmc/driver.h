/* driver.h - the interface every BMC protocol implements.
 *
 * One constant table of operations per protocol.  A NULL slot means "not
 * supported by this driver"; callers check the slot (or the capability bits)
 * and report UL_ERR_UNSUPPORTED, so the core never asks which protocol a node
 * speaks.  New slots are only ever appended, and UL_DRIVER_API_VERSION grows
 * with them.
 *
 * Threading: a session belongs to one thread at a time; the job engine's
 * per-node lock guarantees that.  Every call blocks for at most the target's
 * timeout (plus the driver's retransmissions, which it counts inside it).
 */
#ifndef UL_BMC_DRIVER_H
#define UL_BMC_DRIVER_H

#include <json-c/json.h>
#include <stdbool.h>

#include "core/node.h"
#include "ul_error.h"

#define UL_DRIVER_API_VERSION 1

enum ul_power_state { UL_POWER_UNKNOWN = 0, UL_POWER_ON, UL_POWER_OFF };

enum ul_power_action {
    UL_POWER_ACTION_ON = 1,
    UL_POWER_ACTION_OFF,   /* hard off, immediately */
    UL_POWER_ACTION_SOFT,  /* ACPI shutdown request to the OS */
    UL_POWER_ACTION_CYCLE, /* off, then on */
    UL_POWER_ACTION_RESET, /* warm reset */
};

const char *bmc_power_state_name(enum ul_power_state s);
const char *bmc_power_action_name(enum ul_power_action a);
/* 0 when unknown */
enum ul_power_action bmc_power_action_parse(const char *s);

enum ul_boot_device {
    UL_BOOT_NONE = 0, /* no override */
    UL_BOOT_PXE,
    UL_BOOT_DISK,
    UL_BOOT_CDROM,
    UL_BOOT_BIOS,
};

struct ul_boot {
    enum ul_boot_device device;
    bool persistent; /* false: next boot only */
    bool uefi;       /* false: legacy BIOS boot */
};

const char *bmc_boot_device_name(enum ul_boot_device d);
/* -1 when unknown */
int bmc_boot_device_parse(const char *s);

/* Capability bits: what the driver can do in principle.  A given BMC may
 * still answer UL_ERR_UNSUPPORTED at run time. */
#define UL_CAP_POWER (1u << 0)
#define UL_CAP_BOOT (1u << 1)

/* Everything a driver needs to reach one node's BMC.  Borrowed pointers,
 * valid for the duration of the open call only: drivers copy what they keep. */
struct ul_bmc_target {
    const char *node;          /* node name, for messages */
    struct ul_endpoint ep;     /* parsed endpoint URI */
    const char *username;      /* may be NULL */
    const char *password;      /* may be NULL; never log it */
    json_object *options;      /* driver options, already checked */
    int timeout_ms;            /* bound for each call */
};

struct ul_bmc_session; /* driver-private */

struct ul_driver {
    const char *name;
    int version;                 /* UL_DRIVER_API_VERSION it was built against */
    unsigned caps;
    const char *const *schemes;  /* URI schemes that select it by default; NULL-ended */

    /* Check a node's driver options; NULL means the driver takes none. */
    ul_err (*check_options)(json_object *options, ul_errmsg *em);

    /* Open a session (log in).  *out is owned by the caller, released with
     * close. */
    ul_err (*open)(const struct ul_bmc_target *t, struct ul_bmc_session **out, ul_errmsg *em);
    void (*close)(struct ul_bmc_session *s); /* NULL-safe; logs out */

    ul_err (*power_get)(struct ul_bmc_session *s, enum ul_power_state *out, ul_errmsg *em);
    /* Request a power action.  Returns once the BMC accepted it; the state
     * change may lag and is confirmed by reading power_get. */
    ul_err (*power_set)(struct ul_bmc_session *s, enum ul_power_action a, ul_errmsg *em);

    ul_err (*boot_get)(struct ul_bmc_session *s, struct ul_boot *out, ul_errmsg *em);
    ul_err (*boot_set)(struct ul_bmc_session *s, const struct ul_boot *b, ul_errmsg *em);
};

/* Registry of compiled-in drivers. */
const struct ul_driver *bmc_driver_find(const char *name);
const struct ul_driver *bmc_driver_for_scheme(const char *scheme);
/* NULL-ended list of every driver. */
const struct ul_driver *const *bmc_drivers(void);

/* The fake driver: an in-process simulated BMC for tests and demos (like
 * Ironic's fake-hardware).  Endpoint fake://NAME; options delay_ms (each call
 * takes this long), fail (auth|unreachable|timeout|busy: every call fails so),
 * power (initial state on|off). */
extern const struct ul_driver bmc_fake_driver;

#endif
