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
    /* Quirk "boot-flags-no-valid-bit": the BMC never sets the boot flags
     * valid bit and keeps only the device selector (seen: OpenIPMI
     * ipmi_sim), so trust the selector and report persistence and mode as
     * unknown. */
    bool quirk_boot_no_valid_bit;
};

struct ipmi_sdr_state; /* ipmi_sensors.c */

/* The IPMI driver's session; private to bmc/ipmi*.c. */
struct ipmi_session {
    struct ul_bmc_session base; /* what the table sees (bmc/driver.h) */
    ipmi_ctx_t ctx;
    bool open;
    char *node;
    char *hostname; /* "host:port" as FreeIPMI takes it */
    char *username;
    char *password; /* kept to re-open a dropped session; wiped on close */
    char *cache_dir; /* where the SDR cache lives, or NULL */
    struct ipmi_session_config cfg;
    int timeout_ms;
    struct ipmi_sdr_state *sdr; /* the node's SDR state (kept per node across
                                   sessions), looked up on first use */
    ipmi_sensor_read_ctx_t reader; /* bound to ctx: one per session */
};

/* The IPMI session behind a table session (NULL stays NULL). */
static inline struct ipmi_session *ipmi_session_of(struct ul_bmc_session *bs)
{
    return bs ? ul_container_of(bs, struct ipmi_session, base) : NULL;
}

ul_err ipmi_session_config_parse(json_object *options, struct ipmi_session_config *cfg,
                                 ul_errmsg *em);

/* FreeIPMI error number to a project error (opening: during session setup). */
ul_err ipmi_map_error(int errnum, bool opening);

/* Run fn(ctx, arg) on the session, re-opening it once if the BMC dropped it.
 * fn returns FreeIPMI's convention (< 0 on error). */
typedef int (*ipmi_call_fn)(ipmi_ctx_t ctx, void *arg);
ul_err ipmi_session_call(struct ipmi_session *s, const char *what, ipmi_call_fn fn, void *arg,
                         ul_errmsg *em);
ipmi_ctx_t ipmi_session_ctx(struct ipmi_session *s);
const char *ipmi_session_node(struct ipmi_session *s);

/* Sensors (ipmi_sensors.c). */
ul_err ipmi_sensors_read(struct ul_bmc_session *bs, struct ul_sensor_list *out, ul_errmsg *em);
/* Let go of the session's sensor reader; the node's SDR state stays cached
 * for its next session. */
void ipmi_sdr_state_free(struct ipmi_session *s);
/* FreeIPMI interpretation (ipmi_interpret.c): one context per process.
 * Return IPMI_INTERPRET_STATE_*. */
unsigned ipmi_interpret_sensor_state(uint8_t reading_type, uint8_t sensor_type, uint16_t bitmask);
unsigned ipmi_interpret_sel_state(const void *rec, unsigned len);

/* The node's SDR, loaded (and cached on disk) on first use; borrowed, valid
 * until the session closes. */
ul_err ipmi_session_sdr(struct ipmi_session *s, ipmi_sdr_ctx_t *sdr, ul_errmsg *em);

/* SEL (ipmi_sel.c).  The cursor is "<erase timestamp>:<last record id>" so a
 * cleared SEL (new erase timestamp, record ids reused) restarts from the
 * first record instead of skipping new ones. */
ul_err ipmi_events_read(struct ul_bmc_session *bs, const char *cursor, struct ul_event_list *out,
                        char cursor_out[UL_CURSOR_LEN], ul_errmsg *em);
ul_err ipmi_events_clear(struct ul_bmc_session *bs, ul_errmsg *em);

/* Inventory: Get Device ID and FRU (ipmi_fru.c). */
ul_err ipmi_inventory_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);

/* DCMI power reading (ipmi_fru.c's neighbour, ipmi_dcmi.c). */
ul_err ipmi_power_reading(struct ul_bmc_session *bs, struct ul_power_reading *out,
                          ul_errmsg *em);

#endif
