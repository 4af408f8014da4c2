/* ipmi.c - the IPMI-over-LAN driver, on FreeIPMI's libfreeipmi.
 *
 * One FreeIPMI context per session; the session is opened with IPMI 2.0
 * (lanplus) by default, cipher suite and privilege per node, and FreeIPMI's
 * workaround flags per node because real BMCs need them (ipmi_sim itself
 * needs "opensesspriv").  A command that fails because the BMC dropped the
 * session is retried once on a fresh session, so long-lived cached sessions
 * heal themselves.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <freeipmi/freeipmi.h>
#include <sodium.h>

#include "bmc/driver.h"
#include "bmc/ipmi.h"
#include "log.h"
#include "xalloc.h"

#define IPMI_DEFAULT_PORT 623

/* FreeIPMI's names for its workaround flags (as in its tools' -W option). */
static const struct {
    const char *name;
    unsigned lan;   /* IPMI 1.5 flag */
    unsigned lan20; /* IPMI 2.0 flag */
} workarounds[] = {
    {"authcap", IPMI_WORKAROUND_FLAGS_OUTOFBAND_AUTHENTICATION_CAPABILITIES,
     IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_AUTHENTICATION_CAPABILITIES},
    {"idzero", IPMI_WORKAROUND_FLAGS_OUTOFBAND_ACCEPT_SESSION_ID_ZERO, 0},
    {"forcepermsg", IPMI_WORKAROUND_FLAGS_OUTOFBAND_FORCE_PERMSG_AUTHENTICATION, 0},
    {"unexpectedauth", IPMI_WORKAROUND_FLAGS_OUTOFBAND_CHECK_UNEXPECTED_AUTHCODE, 0},
    {"endianseq", IPMI_WORKAROUND_FLAGS_OUTOFBAND_BIG_ENDIAN_SEQUENCE_NUMBER, 0},
    {"noauthcodecheck", IPMI_WORKAROUND_FLAGS_OUTOFBAND_NO_AUTH_CODE_CHECK, 0},
    {"nochecksumcheck", IPMI_WORKAROUND_FLAGS_OUTOFBAND_NO_CHECKSUM_CHECK,
     IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NO_CHECKSUM_CHECK},
    {"intel20", 0, IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_INTEL_2_0_SESSION},
    {"supermicro20", 0, IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUPERMICRO_2_0_SESSION},
    {"sun20", 0, IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_SUN_2_0_SESSION},
    {"opensesspriv", 0, IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_OPEN_SESSION_PRIVILEGE},
    {"integritycheckvalue", 0, IPMI_WORKAROUND_FLAGS_OUTOFBAND_2_0_NON_EMPTY_INTEGRITY_CHECK_VALUE},
    /* Serial-over-LAN only (FreeIPMI's ipmiconsole -W names), read by
     * ipmi_sol.c; nothing for the IPMI session itself. */
    {"solchannelsupport", 0, 0},
    {"solpayloadsize", 0, 0},
    {"solport", 0, 0},
    {"solstatus", 0, 0},
    {"solpacketseq", 0, 0},
    {"serialalertsdeferred", 0, 0},
};
#define N_WORKAROUNDS (sizeof(workarounds) / sizeof(workarounds[0]))

static const int cipher_suites[] = {0, 1, 2, 3, 6, 7, 8, 11, 12, 15, 16, 17};

static bool cipher_suite_valid(int64_t cs)
{
    for (size_t i = 0; i < sizeof(cipher_suites) / sizeof(cipher_suites[0]); i++)
        if (cipher_suites[i] == cs)
            return true;
    return false;
}

static int privilege_parse(const char *s)
{
    if (!s)
        return -1;
    if (strcmp(s, "user") == 0)
        return IPMI_PRIVILEGE_LEVEL_USER;
    if (strcmp(s, "operator") == 0)
        return IPMI_PRIVILEGE_LEVEL_OPERATOR;
    if (strcmp(s, "admin") == 0)
        return IPMI_PRIVILEGE_LEVEL_ADMIN;
    return -1;
}

static bool int_in(json_object *v, int64_t lo, int64_t hi)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    return x >= lo && x <= hi;
}

/* A list option: a JSON array of names, or one string of comma-separated
 * names as FreeIPMI's tools take it ("opensesspriv,intel20").  Calls fn for
 * each name; stops at the first error. */
static ul_err for_each_name(json_object *val, const char *option,
                            ul_err (*fn)(const char *name, struct ipmi_session_config *cfg,
                                         ul_errmsg *em),
                            struct ipmi_session_config *cfg, ul_errmsg *em)
{
    if (json_object_is_type(val, json_type_string)) {
        char *copy = xstrdup(json_object_get_string(val));
        char *save = NULL;
        ul_err rc = UL_OK;
        for (char *t = strtok_r(copy, ", ", &save); t && rc == UL_OK;
             t = strtok_r(NULL, ", ", &save))
            rc = fn(t, cfg, em);
        free(copy);
        return rc;
    }
    if (!json_object_is_type(val, json_type_array))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "option '%s': must be an array of names or a comma-separated "
                             "string",
                             option);
    for (size_t i = 0; i < json_object_array_length(val); i++) {
        json_object *w = json_object_array_get_idx(val, i);
        ul_err rc = fn(json_object_is_type(w, json_type_string) ? json_object_get_string(w) : "",
                       cfg, em);
        if (rc != UL_OK)
            return rc;
    }
    return UL_OK;
}

static ul_err add_workaround(const char *name, struct ipmi_session_config *cfg, ul_errmsg *em)
{
    for (size_t k = 0; k < N_WORKAROUNDS; k++) {
        if (strcmp(name, workarounds[k].name) == 0) {
            cfg->workaround_lan |= workarounds[k].lan;
            cfg->workaround_lan20 |= workarounds[k].lan20;
            return UL_OK;
        }
    }
    return ul_errmsg_set(em, UL_ERR_INVALID,
                         "option 'workarounds': unknown workaround '%.32s' (known: authcap, "
                         "idzero, forcepermsg, unexpectedauth, endianseq, noauthcodecheck, "
                         "nochecksumcheck, intel20, supermicro20, sun20, opensesspriv, "
                         "integritycheckvalue, solchannelsupport, solpayloadsize, solport, "
                         "solstatus, solpacketseq, serialalertsdeferred)",
                         name);
}

static ul_err add_quirk(const char *name, struct ipmi_session_config *cfg, ul_errmsg *em)
{
    if (strcmp(name, "boot-flags-no-valid-bit") == 0) {
        cfg->quirk_boot_no_valid_bit = true;
        return UL_OK;
    }
    return ul_errmsg_set(em, UL_ERR_INVALID,
                         "option 'quirks': unknown quirk '%.32s' (known: boot-flags-no-valid-bit)",
                         name);
}

ul_err ipmi_session_config_parse(json_object *options, struct ipmi_session_config *cfg,
                                 ul_errmsg *em)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->lanplus = true;
    cfg->cipher_suite = 3;
    cfg->privilege = IPMI_PRIVILEGE_LEVEL_ADMIN;
    if (!options)
        return UL_OK;
    json_object_object_foreach(options, key, val)
    {
        if (strcmp(key, "protocol") == 0) {
            const char *p = json_object_is_type(val, json_type_string)
                                ? json_object_get_string(val)
                                : "";
            if (strcmp(p, "lanplus") == 0)
                cfg->lanplus = true;
            else if (strcmp(p, "lan") == 0)
                cfg->lanplus = false;
            else
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'protocol': must be lanplus (IPMI 2.0) or lan "
                                     "(IPMI 1.5)");
        } else if (strcmp(key, "cipher_suite") == 0) {
            if (!json_object_is_type(val, json_type_int) ||
                !cipher_suite_valid(json_object_get_int64(val)))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'cipher_suite': must be one of 0-3, 6-8, 11, 12, "
                                     "15-17");
            cfg->cipher_suite = json_object_get_int(val);
        } else if (strcmp(key, "privilege") == 0) {
            int p = json_object_is_type(val, json_type_string)
                        ? privilege_parse(json_object_get_string(val))
                        : -1;
            if (p < 0)
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'privilege': must be user, operator or admin");
            cfg->privilege = p;
        } else if (strcmp(key, "session_timeout_ms") == 0) {
            if (!int_in(val, 1000, 600000))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'session_timeout_ms': must be 1000 to 600000");
            cfg->session_timeout_ms = json_object_get_int(val);
        } else if (strcmp(key, "retransmission_timeout_ms") == 0) {
            if (!int_in(val, 100, 60000))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'retransmission_timeout_ms': must be 100 to 60000");
            cfg->retransmission_timeout_ms = json_object_get_int(val);
        } else if (strcmp(key, "workarounds") == 0) {
            ul_err rc = for_each_name(val, "workarounds", add_workaround, cfg, em);
            if (rc != UL_OK)
                return rc;
        } else if (strcmp(key, "quirks") == 0) {
            ul_err rc = for_each_name(val, "quirks", add_quirk, cfg, em);
            if (rc != UL_OK)
                return rc;
        } else {
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "unknown option '%.64s' for driver ipmi (known: protocol, "
                                 "cipher_suite, privilege, session_timeout_ms, "
                                 "retransmission_timeout_ms, workarounds, quirks)",
                                 key);
        }
    }
    if (cfg->retransmission_timeout_ms && cfg->session_timeout_ms &&
        cfg->retransmission_timeout_ms >= cfg->session_timeout_ms)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "option 'retransmission_timeout_ms' must be less than "
                             "'session_timeout_ms'");
    return UL_OK;
}

static ul_err ipmi_check_options(json_object *options, ul_errmsg *em)
{
    struct ipmi_session_config cfg;
    return ipmi_session_config_parse(options, &cfg, em);
}

/* Classify a FreeIPMI error for the scheduler: credentials are permanent,
 * silence and busy BMCs are transient. */
ul_err ipmi_map_error(int errnum, bool opening)
{
    switch (errnum) {
    case IPMI_ERR_USERNAME_INVALID:
    case IPMI_ERR_PASSWORD_INVALID:
    case IPMI_ERR_K_G_INVALID:
    case IPMI_ERR_PRIVILEGE_LEVEL_CANNOT_BE_OBTAINED:
    case IPMI_ERR_PRIVILEGE_LEVEL_INSUFFICIENT:
    case IPMI_ERR_PASSWORD_VERIFICATION_TIMEOUT:
        return UL_ERR_AUTH;
    case IPMI_ERR_CONNECTION_TIMEOUT:
    case IPMI_ERR_HOSTNAME_INVALID:
        return UL_ERR_UNREACHABLE;
    case IPMI_ERR_SESSION_TIMEOUT:
    case IPMI_ERR_MESSAGE_TIMEOUT:
    case IPMI_ERR_DRIVER_TIMEOUT:
        return opening ? UL_ERR_UNREACHABLE : UL_ERR_TIMEOUT;
    case IPMI_ERR_BMC_BUSY:
    case IPMI_ERR_DRIVER_BUSY:
        return UL_ERR_BUSY;
    case IPMI_ERR_COMMAND_INVALID_OR_UNSUPPORTED:
    case IPMI_ERR_CIPHER_SUITE_ID_UNAVAILABLE:
    case IPMI_ERR_IPMI_2_0_UNAVAILABLE:
    case IPMI_ERR_AUTHENTICATION_TYPE_UNAVAILABLE:
        return UL_ERR_UNSUPPORTED;
    case IPMI_ERR_OUT_OF_MEMORY:
    case IPMI_ERR_SYSTEM_ERROR:
    case IPMI_ERR_INTERNAL_ERROR:
        return UL_ERR_INTERNAL;
    default:
        return UL_ERR_PROTOCOL;
    }
}

static ul_err session_open(struct ipmi_session *s, ul_errmsg *em)
{
    int session_timeout = s->cfg.session_timeout_ms ? s->cfg.session_timeout_ms : s->timeout_ms;
    int retrans = s->cfg.retransmission_timeout_ms;
    /* FreeIPMI wants the retransmission interval below the session timeout;
     * its default of 1 s suits LAN BMCs. */
    if (!retrans)
        retrans = session_timeout > 2000 ? 1000 : session_timeout / 2;
    if (!s->ctx && !(s->ctx = ipmi_ctx_create()))
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: cannot create IPMI context",
                             s->node);
    int rc;
    if (s->cfg.lanplus)
        rc = ipmi_ctx_open_outofband_2_0(s->ctx, s->hostname, s->username, s->password, NULL, 0,
                                         (uint8_t)s->cfg.privilege, (uint8_t)s->cfg.cipher_suite,
                                         (unsigned)session_timeout, (unsigned)retrans,
                                         s->cfg.workaround_lan20, IPMI_FLAGS_DEFAULT);
    else
        rc = ipmi_ctx_open_outofband(s->ctx, s->hostname, s->username, s->password,
                                     IPMI_AUTHENTICATION_TYPE_MD5, (uint8_t)s->cfg.privilege,
                                     (unsigned)session_timeout, (unsigned)retrans,
                                     s->cfg.workaround_lan, IPMI_FLAGS_DEFAULT);
    if (rc < 0) {
        int e = ipmi_ctx_errnum(s->ctx);
        return ul_errmsg_set(em, ipmi_map_error(e, true), "node %s: IPMI session to %s: %s",
                             s->node, s->hostname, ipmi_ctx_errormsg(s->ctx));
    }
    s->open = true;
    return UL_OK;
}

static void session_drop(struct ipmi_session *s)
{
    if (s->open)
        ipmi_ctx_close(s->ctx);
    s->open = false;
}

static void ipmi_close(struct ul_bmc_session *bs);

static ul_err ipmi_open(const struct ul_bmc_target *t, struct ul_bmc_session **out,
                        ul_errmsg *em)
{
    struct ipmi_session *s = xcalloc(1, sizeof(*s));
    s->base.driver = &ipmi_driver;
    ul_err rc = ipmi_session_config_parse(t->options, &s->cfg, em);
    if (rc != UL_OK) {
        free(s);
        return rc;
    }
    s->node = xstrdup(t->node);
    int port = t->ep.port ? t->ep.port : IPMI_DEFAULT_PORT;
    if (strchr(t->ep.host, ':'))
        s->hostname = xasprintf("[%s]:%d", t->ep.host, port);
    else
        s->hostname = xasprintf("%s:%d", t->ep.host, port);
    s->username = xstrdup(t->username ? t->username : "");
    s->password = xstrdup(t->password ? t->password : "");
    s->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : 20000;
    s->cache_dir = xstrdup(t->cache_dir);
    rc = session_open(s, em);
    if (rc != UL_OK) {
        ipmi_close(&s->base);
        return rc;
    }
    *out = &s->base;
    return UL_OK;
}

static void ipmi_close(struct ul_bmc_session *bs)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    if (!s)
        return;
    ipmi_sdr_state_free(s);
    session_drop(s);
    if (s->ctx)
        ipmi_ctx_destroy(s->ctx);
    if (s->password) {
        sodium_memzero(s->password, strlen(s->password));
        free(s->password);
    }
    free(s->username);
    free(s->cache_dir);
    free(s->hostname);
    free(s->node);
    free(s);
}

ipmi_ctx_t ipmi_session_ctx(struct ipmi_session *s)
{
    return s->ctx;
}

const char *ipmi_session_node(struct ipmi_session *s)
{
    return s->node;
}

/* Errors after which the session is presumed dead on the BMC side. */
static bool session_lost(int errnum)
{
    return errnum == IPMI_ERR_SESSION_TIMEOUT || errnum == IPMI_ERR_MESSAGE_TIMEOUT ||
           errnum == IPMI_ERR_DEVICE_NOT_OPEN || errnum == IPMI_ERR_BAD_RMCPPLUS_STATUS_CODE;
}

ul_err ipmi_session_call(struct ipmi_session *s, const char *what, ipmi_call_fn fn, void *arg,
                         ul_errmsg *em)
{
    for (int attempt = 0;; attempt++) {
        if (!s->open) {
            ul_err rc = session_open(s, em);
            if (rc != UL_OK)
                return rc;
        }
        if (fn(s->ctx, arg) >= 0)
            return UL_OK;
        int e = ipmi_ctx_errnum(s->ctx);
        if (attempt == 0 && session_lost(e)) {
            /* A cached session may have expired on the BMC (most drop idle
             * sessions after about a minute): re-open once and retry. */
            ul_debug("node %s: %s: %s; re-opening the IPMI session", s->node, what,
                     ipmi_ctx_errormsg(s->ctx));
            session_drop(s);
            continue;
        }
        if (session_lost(e))
            session_drop(s);
        return ul_errmsg_set(em, ipmi_map_error(e, false), "node %s: %s: %s", s->node, what,
                             ipmi_ctx_errormsg(s->ctx));
    }
}

/* ---- power ---- */

struct chassis_status_arg {
    fiid_obj_t rs;
};

static int call_chassis_status(ipmi_ctx_t ctx, void *arg)
{
    struct chassis_status_arg *a = arg;
    return ipmi_cmd_get_chassis_status(ctx, a->rs);
}

static ul_err ipmi_power_get(struct ul_bmc_session *bs, enum ul_power_state *out, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct chassis_status_arg a = {.rs = fiid_obj_create(tmpl_cmd_get_chassis_status_rs)};
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, "get chassis status", call_chassis_status, &a, em);
    if (rc == UL_OK) {
        uint64_t on = 0;
        if (FIID_OBJ_GET(a.rs, "current_power_state.power_is_on", &on) < 0)
            rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                               "node %s: get chassis status: reply lacks the power state",
                               s->node);
        else
            *out = on ? UL_POWER_ON : UL_POWER_OFF;
    }
    fiid_obj_destroy(a.rs);
    return rc;
}

struct chassis_control_arg {
    uint8_t control;
    fiid_obj_t rs;
};

static int call_chassis_control(ipmi_ctx_t ctx, void *arg)
{
    struct chassis_control_arg *a = arg;
    return ipmi_cmd_chassis_control(ctx, a->control, a->rs);
}

static ul_err ipmi_power_set(struct ul_bmc_session *bs, enum ul_power_action act, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct chassis_control_arg a;
    switch (act) {
    case UL_POWER_ACTION_ON:
        a.control = IPMI_CHASSIS_CONTROL_POWER_UP;
        break;
    case UL_POWER_ACTION_OFF:
        a.control = IPMI_CHASSIS_CONTROL_POWER_DOWN;
        break;
    case UL_POWER_ACTION_SOFT:
        a.control = IPMI_CHASSIS_CONTROL_INITIATE_SOFT_SHUTDOWN;
        break;
    case UL_POWER_ACTION_CYCLE:
        a.control = IPMI_CHASSIS_CONTROL_POWER_CYCLE;
        break;
    case UL_POWER_ACTION_RESET:
        a.control = IPMI_CHASSIS_CONTROL_HARD_RESET;
        break;
    default:
        return ul_errmsg_set(em, UL_ERR_INVALID, "node %s: unknown power action", s->node);
    }
    a.rs = fiid_obj_create(tmpl_cmd_chassis_control_rs);
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    char what[48];
    snprintf(what, sizeof(what), "chassis control (power %s)", bmc_power_action_name(act));
    ul_err rc = ipmi_session_call(s, what, call_chassis_control, &a, em);
    fiid_obj_destroy(a.rs);
    return rc;
}

/* ---- boot override ---- */

static const struct {
    enum ul_boot_device dev;
    uint8_t ipmi;
} boot_map[] = {
    {UL_BOOT_NONE, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_NO_OVERRIDE},
    {UL_BOOT_PXE, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_PXE},
    {UL_BOOT_DISK, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_HARD_DRIVE},
    {UL_BOOT_CDROM, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_CD_DVD},
    {UL_BOOT_BIOS, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_FORCE_BIOS_SETUP},
};

struct boot_get_arg {
    fiid_obj_t rs;
};

static int call_boot_get(ipmi_ctx_t ctx, void *arg)
{
    struct boot_get_arg *a = arg;
    return ipmi_cmd_get_system_boot_options_boot_flags(ctx, IPMI_SYSTEM_BOOT_OPTIONS_NO_SET_SELECTOR,
                                                       IPMI_SYSTEM_BOOT_OPTIONS_NO_BLOCK_SELECTOR,
                                                       a->rs);
}

static ul_err ipmi_boot_get(struct ul_bmc_session *bs, struct ul_boot *out, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct boot_get_arg a = {.rs = fiid_obj_create(tmpl_cmd_get_system_boot_options_boot_flags_rs)};
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, "get boot flags", call_boot_get, &a, em);
    if (rc == UL_OK) {
        uint64_t valid = 0, persistent = 0, efi = 0, dev = 0;
        if (FIID_OBJ_GET(a.rs, "boot_flags_valid", &valid) < 0 ||
            FIID_OBJ_GET(a.rs, "boot_flags_persistent", &persistent) < 0 ||
            FIID_OBJ_GET(a.rs, "bios_boot_type", &efi) < 0 ||
            FIID_OBJ_GET(a.rs, "boot_device", &dev) < 0) {
            rc = ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: get boot flags: short reply",
                               s->node);
            goto out;
        }
        memset(out, 0, sizeof(*out));
        out->device = UL_BOOT_NONE;
        if (s->cfg.quirk_boot_no_valid_bit) {
            valid = 1;
            out->flags_unknown = true;
        }
        if (valid)
            for (size_t i = 0; i < sizeof(boot_map) / sizeof(boot_map[0]); i++)
                if (boot_map[i].ipmi == dev)
                    out->device = boot_map[i].dev;
        out->persistent = !out->flags_unknown && valid && persistent;
        out->uefi = !out->flags_unknown && efi == IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_EFI;
    }
out:
    fiid_obj_destroy(a.rs);
    return rc;
}

struct boot_set_arg {
    const struct ul_boot *b;
    uint8_t dev;
    fiid_obj_t rs;
};

static int call_boot_set(ipmi_ctx_t ctx, void *arg)
{
    struct boot_set_arg *a = arg;
    uint8_t valid = a->b->device == UL_BOOT_NONE ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_INVALID
                                                 : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID;
    return ipmi_cmd_set_system_boot_options_boot_flags(
        ctx, IPMI_SYSTEM_BOOT_OPTIONS_PARAMETER_VALID_UNLOCKED,
        a->b->uefi ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_EFI
                   : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_TYPE_PC_COMPATIBLE,
        a->b->persistent ? IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_PERSISTENTLY
                         : IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_VALID_FOR_NEXT_BOOT,
        valid, 0, 0, a->dev, 0, 0, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_CONSOLE_REDIRECTION_DEFAULT,
        0, 0, 0, IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_FIRMWARE_BIOS_VERBOSITY_DEFAULT, 0,
        IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAGS_SET_MUX_TO_RECOMENDED_AT_END_OF_POST, 0, 0, a->rs);
}

static ul_err ipmi_boot_set(struct ul_bmc_session *bs, const struct ul_boot *b, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct boot_set_arg a = {.b = b, .dev = IPMI_SYSTEM_BOOT_OPTION_BOOT_FLAG_BOOT_DEVICE_NO_OVERRIDE};
    for (size_t i = 0; i < sizeof(boot_map) / sizeof(boot_map[0]); i++)
        if (boot_map[i].dev == b->device)
            a.dev = boot_map[i].ipmi;
    a.rs = fiid_obj_create(tmpl_cmd_set_system_boot_options_rs);
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, "set boot flags", call_boot_set, &a, em);
    fiid_obj_destroy(a.rs);
    return rc;
}

static const char *const ipmi_schemes[] = {"ipmi", "ipmi+lan", NULL};

/* ---- chassis identify, BMC reset (driver API version 5) ---- */

struct identify_arg {
    uint8_t interval;
    uint8_t force;
    bool with_interval, with_force;
    fiid_obj_t rs;
};

static int call_chassis_identify(ipmi_ctx_t ctx, void *arg)
{
    struct identify_arg *a = arg;
    return ipmi_cmd_chassis_identify(ctx, a->with_interval ? &a->interval : NULL,
                                     a->with_force ? &a->force : NULL, a->rs);
}

/* Off: interval 0.  On for N s: interval N.  On until turned off: "force
 * identify on", an IPMI 2.0 addition (refused on a 1.5 session). */
static ul_err ipmi_identify_set(struct ul_bmc_session *bs, bool on, int seconds, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct identify_arg a = {.with_interval = true};
    if (on && seconds <= 0) {
        if (!s->cfg.lanplus)
            return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                                 "node %s: chassis identify: 'on until turned off' needs IPMI "
                                 "2.0 (this node uses a 1.5 session): give a number of seconds",
                                 s->node);
        a.interval = 0;
        a.force = IPMI_CHASSIS_FORCE_IDENTIFY_ON;
        a.with_force = true;
    } else {
        a.interval = on ? (uint8_t)(seconds > 255 ? 255 : seconds) : 0;
    }
    if (!(a.rs = fiid_obj_create(tmpl_cmd_chassis_identify_rs)))
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, on ? "chassis identify on" : "chassis identify off",
                                  call_chassis_identify, &a, em);
    fiid_obj_destroy(a.rs);
    return rc;
}

/* From Get Chassis Status, where the BMC says it reports the state. */
static ul_err ipmi_identify_get(struct ul_bmc_session *bs, bool *on, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct chassis_status_arg a = {.rs = fiid_obj_create(tmpl_cmd_get_chassis_status_rs)};
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    ul_err rc = ipmi_session_call(s, "get chassis status", call_chassis_status, &a, em);
    if (rc == UL_OK) {
        uint64_t supported = 0, state = 0;
        if (FIID_OBJ_GET(a.rs, "misc_chassis_state.chassis_identify_command_and_state_info_supported",
                         &supported) < 0 ||
            !supported ||
            FIID_OBJ_GET(a.rs, "misc_chassis_state.chassis_identify_state", &state) < 0)
            rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                               "node %s: get chassis status: the BMC does not report the "
                               "identify state",
                               s->node);
        else
            *on = state != IPMI_CHASSIS_IDENTIFY_STATE_OFF;
    }
    fiid_obj_destroy(a.rs);
    return rc;
}

struct reset_arg {
    bool cold;
    fiid_obj_t rs;
};

static int call_bmc_reset(ipmi_ctx_t ctx, void *arg)
{
    struct reset_arg *a = arg;
    return a->cold ? ipmi_cmd_cold_reset(ctx, a->rs) : ipmi_cmd_warm_reset(ctx, a->rs);
}

/* BMC Cold/Warm Reset.  The session is gone afterwards: dropped here (a later
 * call on this handle opens a new one), and the caller closes it. */
static ul_err ipmi_bmc_reset(struct ul_bmc_session *bs, bool cold, ul_errmsg *em)
{
    struct ipmi_session *s = ipmi_session_of(bs);
    struct reset_arg a = {.cold = cold,
                          .rs = fiid_obj_create(cold ? tmpl_cmd_cold_reset_rs
                                                     : tmpl_cmd_warm_reset_rs)};
    if (!a.rs)
        return ul_errmsg_set(em, UL_ERR_INTERNAL, "node %s: out of memory", s->node);
    /* Not through ipmi_session_call: its retry on a lost session would send
     * a second reset to a BMC that may already be restarting. */
    const char *what = cold ? "BMC cold reset" : "BMC warm reset";
    ul_err rc = s->open ? UL_OK : session_open(s, em);
    if (rc == UL_OK && call_bmc_reset(s->ctx, &a) < 0)
        rc = ul_errmsg_set(em, ipmi_map_error(ipmi_ctx_errnum(s->ctx), false),
                           "node %s: %s: %s (the BMC may have reset before it answered)", s->node,
                           what, ipmi_ctx_errormsg(s->ctx));
    fiid_obj_destroy(a.rs);
    if (s->open)
        session_drop(s);
    return rc;
}

const struct ul_driver ipmi_driver = {
    .name = "ipmi",
    .version = UL_DRIVER_API_VERSION,
    .caps = UL_CAP_POWER | UL_CAP_BOOT | UL_CAP_SENSORS | UL_CAP_EVENTS | UL_CAP_INVENTORY |
            UL_CAP_POWER_READING | UL_CAP_IDENTIFY | UL_CAP_BMC_RESET,
    .schemes = ipmi_schemes,
    .check_options = ipmi_check_options,
    .open = ipmi_open,
    .close = ipmi_close,
    .power_get = ipmi_power_get,
    .power_set = ipmi_power_set,
    .boot_get = ipmi_boot_get,
    .boot_set = ipmi_boot_set,
    .sensors_read = ipmi_sensors_read,
    .events_read = ipmi_events_read,
    .events_clear = ipmi_events_clear,
    .inventory_read = ipmi_inventory_read,
    .power_reading = ipmi_power_reading,
    .identify_set = ipmi_identify_set,
    .identify_get = ipmi_identify_get,
    .bmc_reset = ipmi_bmc_reset,
};
