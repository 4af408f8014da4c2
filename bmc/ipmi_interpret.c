/* ipmi_interpret.c - FreeIPMI's sensor and SEL interpretation, shared by the
 * whole process.
 *
 * FreeIPMI reads its interpretation config files (about 60 KB each) one byte
 * per read() call: ~16-18 ms of CPU per load, measured with strace (bench/
 * ipmi).  Loaded per session, that cost dominated every sweep on a fresh
 * session (25 ms against 2 ms warm).  So there is one context per process,
 * loaded once; interp_lock serialises the interpret calls, which write the
 * context's error state.  It is held for microseconds and is a leaf lock.
 * The context lives until exit.
 */
#include "config.h"

#include <pthread.h>

#include "bmc/ipmi.h"
#include "log.h"

static pthread_once_t interp_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t interp_lock = PTHREAD_MUTEX_INITIALIZER;
static ipmi_interpret_ctx_t interp_ctx;

static void interp_init(void)
{
    interp_ctx = ipmi_interpret_ctx_create();
    if (!interp_ctx) {
        ul_warn("IPMI: cannot create FreeIPMI's interpret context; sensor and event states "
                "will be unknown");
        return;
    }
    /* Without the files FreeIPMI falls back to its built-in tables, which
     * are the files' documented defaults. */
    if (ipmi_interpret_load_sensor_config(interp_ctx, NULL) < 0)
        ul_info("IPMI: default sensor interpretation config not loaded (%s); using FreeIPMI's "
                "built-in table",
                ipmi_interpret_ctx_errormsg(interp_ctx));
    if (ipmi_interpret_load_sel_config(interp_ctx, NULL) < 0)
        ul_info("IPMI: default SEL interpretation config not loaded (%s); using FreeIPMI's "
                "built-in severities",
                ipmi_interpret_ctx_errormsg(interp_ctx));
}

unsigned ipmi_interpret_sensor_state(uint8_t reading_type, uint8_t sensor_type, uint16_t bitmask)
{
    unsigned state = IPMI_INTERPRET_STATE_UNKNOWN;
    pthread_once(&interp_once, interp_init);
    if (!interp_ctx)
        return state;
    pthread_mutex_lock(&interp_lock);
    if (ipmi_interpret_sensor(interp_ctx, reading_type, sensor_type, bitmask, &state) < 0)
        state = IPMI_INTERPRET_STATE_UNKNOWN;
    pthread_mutex_unlock(&interp_lock);
    return state;
}

unsigned ipmi_interpret_sel_state(const void *rec, unsigned len)
{
    unsigned state = IPMI_INTERPRET_STATE_UNKNOWN;
    pthread_once(&interp_once, interp_init);
    if (!interp_ctx)
        return state;
    pthread_mutex_lock(&interp_lock);
    if (ipmi_interpret_sel(interp_ctx, rec, len, &state) < 0)
        state = IPMI_INTERPRET_STATE_UNKNOWN;
    pthread_mutex_unlock(&interp_lock);
    return state;
}
