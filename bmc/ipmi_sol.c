/* ipmi_sol.c - IPMI Serial-over-LAN consoles through FreeIPMI's
 * libipmiconsole (the opener behind bmc/console.h for driver "ipmi").
 *
 * libipmiconsole runs its own engine thread (started once by
 * ipmi_sol_register); a session is set up by ipmiconsole_engine_submit_block,
 * which blocks for the RMCP+ handshake and the payload activation (a few round
 * trips; bounded by the session timeout), so it is called on the console's
 * own thread, never an HTTP thread.  The engine then gives a socket: reads are
 * the serial output, writes are typed in.
 *
 * ipmi_sim (OpenIPMI 2.0.33) exits on "Get Channel Payload Support" and
 * reports an invalid SOL payload size, so a node on it needs the workarounds
 * solchannelsupport and solpayloadsize (FreeIPMI's names; the node option
 * "workarounds" carries them beside the session's ones).
 */
#include "config.h"

#include <ipmiconsole.h>
#include <string.h>

#include "bmc/console.h"
#include "bmc/ipmi.h"
#include "bmc/ipmi_sol.h"
#include "log.h"
#include "xalloc.h"

#define SOL_DEFAULT_PORT 623
#define SOL_ENGINE_THREADS 1 /* multiplexes every session (as ipmiconsole uses it) */

struct sol {
    ipmiconsole_ctx_t ctx;
    char *node;
    char *host;
};

/* FreeIPMI's -W names that matter to libipmiconsole. */
static const struct {
    const char *name;
    unsigned flag;
} sol_workarounds[] = {
    {"authcap", IPMICONSOLE_WORKAROUND_AUTHENTICATION_CAPABILITIES},
    {"intel20", IPMICONSOLE_WORKAROUND_INTEL_2_0_SESSION},
    {"supermicro20", IPMICONSOLE_WORKAROUND_SUPERMICRO_2_0_SESSION},
    {"sun20", IPMICONSOLE_WORKAROUND_SUN_2_0_SESSION},
    {"opensesspriv", IPMICONSOLE_WORKAROUND_OPEN_SESSION_PRIVILEGE},
    {"integritycheckvalue", IPMICONSOLE_WORKAROUND_NON_EMPTY_INTEGRITY_CHECK_VALUE},
    {"nochecksumcheck", IPMICONSOLE_WORKAROUND_NO_CHECKSUM_CHECK},
    {"serialalertsdeferred", IPMICONSOLE_WORKAROUND_SERIAL_ALERTS_DEFERRED},
    {"solpacketseq", IPMICONSOLE_WORKAROUND_INCREMENT_SOL_PACKET_SEQUENCE},
    {"solpayloadsize", IPMICONSOLE_WORKAROUND_IGNORE_SOL_PAYLOAD_SIZE},
    {"solport", IPMICONSOLE_WORKAROUND_IGNORE_SOL_PORT},
    {"solstatus", IPMICONSOLE_WORKAROUND_SKIP_SOL_ACTIVATION_STATUS},
    {"solchannelsupport", IPMICONSOLE_WORKAROUND_SKIP_CHANNEL_PAYLOAD_SUPPORT},
};

static unsigned workaround_bit(const char *name)
{
    for (size_t i = 0; i < sizeof(sol_workarounds) / sizeof(sol_workarounds[0]); i++)
        if (strcmp(name, sol_workarounds[i].name) == 0)
            return sol_workarounds[i].flag;
    return 0; /* a session-only workaround (ipmi.c checked the name) */
}

/* The node's "workarounds" option: an array of names or a comma list. */
static unsigned workaround_flags(json_object *options)
{
    json_object *w = NULL;
    unsigned flags = 0;
    if (!options || !json_object_object_get_ex(options, "workarounds", &w))
        return 0;
    if (json_object_is_type(w, json_type_string)) {
        char *copy = xstrdup(json_object_get_string(w)), *save = NULL;
        for (char *t = strtok_r(copy, ", ", &save); t; t = strtok_r(NULL, ", ", &save))
            flags |= workaround_bit(t);
        free(copy);
    } else if (json_object_is_type(w, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(w); i++) {
            json_object *e = json_object_array_get_idx(w, i);
            if (json_object_is_type(e, json_type_string))
                flags |= workaround_bit(json_object_get_string(e));
        }
    }
    return flags;
}

static ul_err map_error(int e)
{
    switch (e) {
    case IPMICONSOLE_ERR_USERNAME_INVALID:
    case IPMICONSOLE_ERR_PASSWORD_INVALID:
    case IPMICONSOLE_ERR_K_G_INVALID:
    case IPMICONSOLE_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
    case IPMICONSOLE_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED:
        return UL_ERR_AUTH;
    case IPMICONSOLE_ERR_HOSTNAME_INVALID:
    case IPMICONSOLE_ERR_CONNECTION_TIMEOUT:
        return UL_ERR_UNREACHABLE;
    case IPMICONSOLE_ERR_SESSION_TIMEOUT:
    case IPMICONSOLE_ERR_EXCESS_RETRANSMISSIONS_SENT:
        return UL_ERR_TIMEOUT;
    case IPMICONSOLE_ERR_SOL_INUSE:
    case IPMICONSOLE_ERR_SOL_STOLEN:
    case IPMICONSOLE_ERR_BMC_BUSY:
        return UL_ERR_BUSY;
    case IPMICONSOLE_ERR_IPMI_2_0_UNAVAILABLE:
    case IPMICONSOLE_ERR_CIPHER_SUITE_ID_UNAVAILABLE:
    case IPMICONSOLE_ERR_SOL_UNAVAILABLE:
    case IPMICONSOLE_ERR_SOL_REQUIRES_ENCRYPTION:
    case IPMICONSOLE_ERR_SOL_REQUIRES_NO_ENCRYPTION:
        return UL_ERR_UNSUPPORTED;
    case IPMICONSOLE_ERR_OUT_OF_MEMORY:
    case IPMICONSOLE_ERR_TOO_MANY_OPEN_FILES:
    case IPMICONSOLE_ERR_SYSTEM_ERROR:
    case IPMICONSOLE_ERR_INTERNAL_ERROR:
        return UL_ERR_INTERNAL;
    default:
        return UL_ERR_PROTOCOL;
    }
}

static int privilege_of(int ipmi_priv)
{
    /* bmc/ipmi.c keeps FreeIPMI's IPMI_PRIVILEGE_LEVEL_* (2 user, 3
     * operator, 4 admin); libipmiconsole numbers them 0-2. */
    switch (ipmi_priv) {
    case 2:
        return IPMICONSOLE_PRIVILEGE_USER;
    case 3:
        return IPMICONSOLE_PRIVILEGE_OPERATOR;
    default:
        return IPMICONSOLE_PRIVILEGE_ADMIN;
    }
}

static void sol_close(void *handle)
{
    struct sol *s = handle;
    if (!s)
        return;
    if (s->ctx)
        ipmiconsole_ctx_destroy(s->ctx); /* deactivates the payload, logs out */
    free(s->node);
    free(s->host);
    free(s);
}

static ul_err sol_open(const struct ul_node *n, void **handle, int *fd, ul_errmsg *em)
{
    struct ipmi_session_config cfg;
    struct ul_endpoint ep;
    ul_err rc = ipmi_session_config_parse(n->options, &cfg, em);
    if (rc != UL_OK) {
        ul_errmsg_prefix(em, "node %s: console", n->name);
        return rc;
    }
    if (!cfg.lanplus)
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: console: Serial-over-LAN needs IPMI 2.0 (option "
                             "protocol is lan)",
                             n->name);
    rc = node_endpoint_parse(n->endpoint, &ep, em);
    if (rc != UL_OK) {
        ul_errmsg_prefix(em, "node %s: console", n->name);
        return rc;
    }
    struct sol *s = xcalloc(1, sizeof(*s));
    s->node = xstrdup(n->name);
    int port = ep.port ? ep.port : SOL_DEFAULT_PORT;
    s->host = strchr(ep.host, ':') ? xasprintf("[%s]:%d", ep.host, port)
                                   : xasprintf("%s:%d", ep.host, port);
    char *user = xstrdup(n->username ? n->username : "");
    char *pass = xstrdup(n->password ? n->password : "");
    struct ipmiconsole_ipmi_config ic = {
        .username = user,
        .password = pass,
        .k_g = NULL,
        .k_g_len = 0,
        .privilege_level = privilege_of(cfg.privilege),
        .cipher_suite_id = cfg.cipher_suite,
        .workaround_flags = workaround_flags(n->options),
    };
    struct ipmiconsole_protocol_config pc = {
        /* libipmiconsole's defaults (60 s session, 20 s keepalive) unless the
         * node sets a session timeout, as FreeIPMI's ipmiconsole does */
        .session_timeout_len = cfg.session_timeout_ms ? cfg.session_timeout_ms : -1,
        .retransmission_timeout_len = cfg.retransmission_timeout_ms
                                          ? cfg.retransmission_timeout_ms
                                          : -1,
        .retransmission_backoff_count = -1,
        .keepalive_timeout_len = -1,
        .retransmission_keepalive_timeout_len = -1,
        .acceptable_packet_errors_count = -1,
        .maximum_retransmission_count = -1,
    };
    /* Another client's SOL session on the BMC is not stolen: the operator
     * hears "in use" and decides. */
    struct ipmiconsole_engine_config ec = {
        .engine_flags = 0,
        .behavior_flags = IPMICONSOLE_BEHAVIOR_ERROR_ON_SOL_INUSE,
        .debug_flags = 0,
    };
    s->ctx = ipmiconsole_ctx_create(s->host, &ic, &pc, &ec);
    /* libipmiconsole copied the credentials */
    explicit_bzero(pass, strlen(pass));
    free(pass);
    free(user);
    if (!s->ctx) {
        sol_close(s);
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: console: cannot create a SOL context",
                             n->name);
    }
    if (ipmiconsole_engine_submit_block(s->ctx) < 0) {
        int e = ipmiconsole_ctx_errnum(s->ctx);
        rc = ul_errmsg_set(em, map_error(e), "node %s: console: SOL session to %s: %s", n->name,
                           s->host, ipmiconsole_ctx_errormsg(s->ctx));
        sol_close(s);
        return rc;
    }
    int f = ipmiconsole_ctx_fd(s->ctx);
    if (f < 0) {
        rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: console: no descriptor for the SOL "
                           "session: %s", n->name, ipmiconsole_ctx_errormsg(s->ctx));
        sol_close(s);
        return rc;
    }
    *fd = f;
    *handle = s;
    return UL_OK;
}

static void sol_why(void *handle, ul_errmsg *em)
{
    struct sol *s = handle;
    int e = ipmiconsole_ctx_errnum(s->ctx);
    ul_errmsg_set(em, map_error(e), "node %s: SOL session to %s ended: %s", s->node, s->host,
                  e == IPMICONSOLE_ERR_SUCCESS ? "closed" : ipmiconsole_ctx_errormsg(s->ctx));
}

static const struct bmc_console_driver sol_driver = {
    .driver = "ipmi",
    .open = sol_open,
    .why = sol_why,
    .close = sol_close,
};

static bool engine_up;

ul_err ipmi_sol_register(ul_errmsg *em)
{
    if (!engine_up) {
        if (ipmiconsole_engine_init(SOL_ENGINE_THREADS, 0) < 0)
            return ul_errmsg_set(em, UL_ERR_INTERNAL,
                                 "cannot start libipmiconsole's engine threads");
        engine_up = true;
    }
    return bmc_console_register(&sol_driver, em);
}

void ipmi_sol_shutdown(void)
{
    if (engine_up)
        ipmiconsole_engine_teardown(1); /* deactivates what is still open */
    engine_up = false;
}
