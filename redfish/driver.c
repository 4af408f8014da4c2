/* driver.c - the Redfish driver's table, options, and session open/close.
 *
 * Setting a session up reads the service root (unauthenticated, as the
 * standard allows), logs in through the SessionService (or uses HTTP basic
 * authentication), and finds the node's ComputerSystem; it is done by the
 * first driver call after open (rf_connect), under the job's deadline and
 * stop callback.  The session is cached by bmc/sessions.c and reused across
 * jobs, one thread at a time, so the root and the system's path are read
 * once per session.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redfish/redfish.h"
#include "redfish/rf_driver.h"
#include "xalloc.h"

/* ---- options ---- */

#define RF_KNOWN_OPTIONS "ca_file, insecure, auth, retries, timeout_ms"

static bool int_in(json_object *v, int64_t lo, int64_t hi)
{
    if (!json_object_is_type(v, json_type_int))
        return false;
    int64_t x = json_object_get_int64(v);
    return x >= lo && x <= hi;
}

ul_err rf_options_parse(json_object *options, struct rf_options *o, ul_errmsg *em)
{
    memset(o, 0, sizeof(*o));
    o->auth = RF_AUTH_SESSION;
    o->retries = RF_DEFAULT_RETRIES;
    if (!options)
        return UL_OK;
    if (!json_object_is_type(options, json_type_object))
        return ul_errmsg_set(em, UL_ERR_INVALID, "options must be an object");
    json_object_object_foreach(options, key, val)
    {
        if (strcmp(key, "ca_file") == 0) {
            const char *p =
                json_object_is_type(val, json_type_string) ? json_object_get_string(val) : NULL;
            if (!p || p[0] != '/' || strlen(p) > 1024 ||
                strlen(p) != (size_t)json_object_get_string_len(val))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'ca_file': must be the absolute path of a PEM CA "
                                     "bundle");
            free(o->ca_file);
            o->ca_file = xstrdup(p);
        } else if (strcmp(key, "insecure") == 0) {
            if (!json_object_is_type(val, json_type_boolean))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'insecure': must be true or false");
            o->insecure = json_object_get_boolean(val);
        } else if (strcmp(key, "auth") == 0) {
            const char *a =
                json_object_is_type(val, json_type_string) ? json_object_get_string(val) : "";
            if (strcmp(a, "session") == 0)
                o->auth = RF_AUTH_SESSION;
            else if (strcmp(a, "basic") == 0)
                o->auth = RF_AUTH_BASIC;
            else
                return ul_errmsg_set(em, UL_ERR_INVALID, "option 'auth': must be session or basic");
        } else if (strcmp(key, "retries") == 0) {
            if (!int_in(val, 0, 5))
                return ul_errmsg_set(em, UL_ERR_INVALID, "option 'retries': must be 0 to 5");
            o->retries = json_object_get_int(val);
        } else if (strcmp(key, "timeout_ms") == 0) {
            if (!int_in(val, 1000, 600000))
                return ul_errmsg_set(em, UL_ERR_INVALID,
                                     "option 'timeout_ms': must be 1000 to 600000");
            o->timeout_ms = json_object_get_int(val);
        } else {
            return ul_errmsg_set(
                em, UL_ERR_INVALID,
                "unknown option '%.64s' for driver redfish (known: " RF_KNOWN_OPTIONS ")", key);
        }
    }
    if (o->insecure && o->ca_file)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "options 'ca_file' and 'insecure' contradict each other: give one");
    return UL_OK;
}

void rf_options_free(struct rf_options *o)
{
    if (!o)
        return;
    free(o->ca_file);
    o->ca_file = NULL;
}

static ul_err redfish_check_options(json_object *options, ul_errmsg *em)
{
    struct rf_options o;
    ul_err rc = rf_options_parse(options, &o, em);
    rf_options_free(&o);
    return rc;
}

/* ---- open / close ---- */

static void redfish_close(struct ul_bmc_session *bs)
{
    struct rf_session *s = rf_session_of(bs);
    if (!s)
        return;
    rf_logout(s);
    if (s->curl)
        curl_easy_cleanup(s->curl);
    if (s->multi)
        curl_multi_cleanup(s->multi); /* closes the connection it held */
    if (s->password) {
        rf_wipe(s->password, strlen(s->password));
        free(s->password);
    }
    json_object_put(s->root);
    json_object_put(s->bios_registry);
    free(s->sources);
    free(s->logs);
    rf_options_free(&s->opt);
    free(s->sessions_path);
    free(s->system_path);
    free(s->ep_path);
    free(s->username);
    free(s->base_url);
    free(s->node);
    free(s);
}

static ul_err base_url(struct rf_session *s, const struct ul_endpoint *ep, ul_errmsg *em)
{
    const char *proto;
    int port = ep->port;
    if (strcmp(ep->scheme, "redfish") == 0 || strcmp(ep->scheme, "https") == 0) {
        proto = "https";
        if (!port)
            port = 443;
    } else if (strcmp(ep->scheme, "http") == 0) {
        /* Plain HTTP: for emulators; the password would cross the wire in
         * clear text, so real BMCs use redfish:// or https://. */
        proto = "http";
        if (!port)
            port = 80;
    } else {
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "node %s: the redfish driver takes redfish://, https:// or http:// "
                             "endpoints, not %s://",
                             s->node, ep->scheme);
    }
    bool v6 = strchr(ep->host, ':') != NULL;
    s->base_url = xasprintf("%s://%s%s%s:%d", proto, v6 ? "[" : "", ep->host, v6 ? "]" : "", port);
    return UL_OK;
}

/* Root features we use: $expand and where sessions are made. */
static void read_root(struct rf_session *s)
{
    json_object *eq = rf_prop(rf_prop(s->root, "ProtocolFeaturesSupported"), "ExpandQuery");
    json_object *v = rf_prop(eq, "NoLinks");
    s->expand = json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
    v = rf_prop(eq, "Levels");
    s->expand_levels = json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v);
}

static ul_err find_sessions(struct rf_session *s, ul_errmsg *em)
{
    char p[RF_PATH_MAX];
    const char *l = rf_prop_link(rf_prop(s->root, "Links"), "Sessions");
    if (l && rf_link_resolve("/redfish/v1", l, p, sizeof(p))) {
        s->sessions_path = xstrdup(p);
        return UL_OK;
    }
    l = rf_prop_link(s->root, "SessionService");
    if (!l || !rf_link_resolve("/redfish/v1", l, p, sizeof(p)))
        return UL_OK; /* no SessionService: basic authentication */
    json_object *svc = NULL;
    ul_err rc = rf_get(s, p, &svc, NULL, em);
    if (rc == UL_ERR_AUTH || rc == UL_ERR_UNSUPPORTED) {
        rc = UL_OK; /* unreadable without a session on some BMCs: try basic */
    } else if (rc == UL_OK) {
        l = rf_prop_link(svc, "Sessions");
        char sp[RF_PATH_MAX];
        if (l && rf_link_resolve(p, l, sp, sizeof(sp)))
            s->sessions_path = xstrdup(sp);
    }
    json_object_put(svc);
    return rc;
}

/* No I/O here: bmc/ops.c binds a session to its job (bind_job) only after
 * open returns, and the first GET and the login must answer to the job's
 * cancel, shutdown and deadline like every other call (against a BMC that
 * accepts connections and never answers, an unbound open held a canceled
 * job, or the daemon's shutdown, for a minute).  rf_connect does the
 * talking, from the first driver call. */
static ul_err redfish_open(const struct ul_bmc_target *t, struct ul_bmc_session **out,
                           ul_errmsg *em)
{
    struct rf_session *s = xcalloc(1, sizeof(*s));
    s->base.driver = &redfish_driver;
    ul_err rc;
    *out = NULL;
    s->node = xstrdup(t->node ? t->node : "?");
    if ((rc = rf_options_parse(t->options, &s->opt, em)) != UL_OK)
        goto fail;
    if ((rc = base_url(s, &t->ep, em)) != UL_OK)
        goto fail;
    s->username = t->username ? xstrdup(t->username) : NULL;
    s->password = t->password ? xstrdup(t->password) : NULL;
    s->timeout_ms = t->timeout_ms > 0 ? t->timeout_ms : RF_DEFAULT_TIMEOUT_MS;
    s->ep_path = t->ep.path[0] ? xstrdup(t->ep.path) : NULL;
    if ((rc = rf_http_init(s, em)) != UL_OK)
        goto fail;
    *out = &s->base;
    return UL_OK;
fail:
    redfish_close(&s->base);
    return rc;
}

/* Each step is done once; a step that failed (or was stopped) is done again
 * by the next call, so a session cached after a canceled job picks up where
 * it stopped. */
const char *rf_auth_name(const struct rf_session *s)
{
    return s->token ? "session" : s->basic ? "basic" : "none";
}

ul_err rf_connect_service(struct rf_session *s, ul_errmsg *em)
{
    ul_err rc;
    if (!s->root) {
        rc = rf_get(s, "/redfish/v1/", &s->root, NULL, em);
        if (rc == UL_ERR_AUTH && s->username && !s->basic) {
            /* The standard serves the root without credentials; some BMCs
             * want them anyway.  Basic authentication gets us in. */
            s->basic = true;
            rc = rf_get(s, "/redfish/v1/", &s->root, NULL, em);
        }
        if (rc != UL_OK)
            return rc;
        read_root(s);
        s->need_login = !s->basic;
    }
    if (s->need_login) {
        if (!s->sessions_path && (rc = find_sessions(s, em)) != UL_OK)
            return rc;
        if ((rc = rf_login(s, em)) != UL_OK)
            return rc;
        s->need_login = false;
    }
    return UL_OK;
}

ul_err rf_connect(struct rf_session *s, ul_errmsg *em)
{
    ul_err rc;
    if (s->system_path)
        return UL_OK;
    if ((rc = rf_connect_service(s, em)) != UL_OK)
        return rc;
    if ((rc = rf_system_resolve(s, s->ep_path, em)) != UL_OK) {
        /* The node names no usable system (or the BMC failed us): leave no
         * session open on the BMC for a node that may never work; the next
         * call logs in again.  Not after a stop: the token we hold keeps
         * the session ours, and the session cache logs it out later. */
        if (rc != UL_ERR_INTERRUPTED && s->token) {
            rf_logout(s);
            s->need_login = true;
        }
        return rc;
    }
    ul_debug("node %s: Redfish session to %s (auth %s%s), system %s", s->node, s->base_url,
             rf_auth_name(s), s->auth_fallback ? ", login gave no token" : "", s->system_path);
    return UL_OK;
}

/* The driver's entry points: set the session up first (rf_connect). */
#define RF_ENTRY(name, params, args)                                                               \
    static ul_err entry_##name params                                                              \
    {                                                                                              \
        ul_err rc = rf_connect(rf_session_of(s), em);                                                   \
        return rc != UL_OK ? rc : rf_##name args;                                                  \
    }
RF_ENTRY(power_get, (struct ul_bmc_session * s, enum ul_power_state *out, ul_errmsg *em),
         (s, out, em))
RF_ENTRY(power_set, (struct ul_bmc_session * s, enum ul_power_action a, ul_errmsg *em), (s, a, em))
RF_ENTRY(boot_get, (struct ul_bmc_session * s, struct ul_boot *out, ul_errmsg *em), (s, out, em))
RF_ENTRY(boot_set, (struct ul_bmc_session * s, const struct ul_boot *b, ul_errmsg *em), (s, b, em))
RF_ENTRY(sensors_read, (struct ul_bmc_session * s, struct ul_sensor_list *out, ul_errmsg *em),
         (s, out, em))
RF_ENTRY(events_read,
         (struct ul_bmc_session * s, const char *cursor, struct ul_event_list *out,
          char cursor_out[UL_CURSOR_LEN], ul_errmsg *em),
         (s, cursor, out, cursor_out, em))
RF_ENTRY(events_clear, (struct ul_bmc_session * s, ul_errmsg *em), (s, em))
RF_ENTRY(inventory_read, (struct ul_bmc_session * s, json_object **out, ul_errmsg *em),
         (s, out, em))
RF_ENTRY(power_reading, (struct ul_bmc_session * s, struct ul_power_reading *out, ul_errmsg *em),
         (s, out, em))
RF_ENTRY(bios_read, (struct ul_bmc_session * s, json_object **out, ul_errmsg *em), (s, out, em))
RF_ENTRY(bios_registry, (struct ul_bmc_session * s, json_object **out, ul_errmsg *em), (s, out, em))
RF_ENTRY(bios_set,
         (struct ul_bmc_session * s, json_object *changes, enum ul_apply_time at, ul_errmsg *em),
         (s, changes, at, em))
RF_ENTRY(storage_read, (struct ul_bmc_session * s, json_object **out, ul_errmsg *em), (s, out, em))
RF_ENTRY(volume_create,
         (struct ul_bmc_session * s, const struct ul_volume_spec *v, char volume_id[64],
          struct ul_task_ref *task, ul_errmsg *em),
         (s, v, volume_id, task, em))
RF_ENTRY(volume_delete,
         (struct ul_bmc_session * s, const char *controller, const char *volume,
          struct ul_task_ref *task, ul_errmsg *em),
         (s, controller, volume, task, em))
RF_ENTRY(firmware_list, (struct ul_bmc_session * s, json_object **out, ul_errmsg *em), (s, out, em))
RF_ENTRY(firmware_update,
         (struct ul_bmc_session * s, const struct ul_fw_update *u, struct ul_task_ref *task,
          ul_errmsg *em),
         (s, u, task, em))
RF_ENTRY(task_poll,
         (struct ul_bmc_session * s, const struct ul_task_ref *t, struct ul_task_status *out,
          ul_errmsg *em),
         (s, t, out, em))
RF_ENTRY(identify_set, (struct ul_bmc_session * s, bool on, int seconds, ul_errmsg *em),
         (s, on, seconds, em))
RF_ENTRY(identify_get, (struct ul_bmc_session * s, bool *on, ul_errmsg *em), (s, on, em))
RF_ENTRY(bmc_reset, (struct ul_bmc_session * s, bool cold, ul_errmsg *em), (s, cold, em))
#undef RF_ENTRY

static const char *const redfish_schemes[] = {"redfish", "https", "http", NULL};

const struct ul_driver redfish_driver = {
    .name = "redfish",
    .version = UL_DRIVER_API_VERSION,
    .caps = UL_CAP_POWER | UL_CAP_BOOT | UL_CAP_SENSORS | UL_CAP_EVENTS | UL_CAP_INVENTORY |
            UL_CAP_POWER_READING | UL_CAP_BIOS | UL_CAP_RAID | UL_CAP_FIRMWARE | UL_CAP_IDENTIFY |
            UL_CAP_BMC_RESET,
    .schemes = redfish_schemes,
    .check_options = redfish_check_options,
    .open = redfish_open,
    .close = redfish_close,
    .power_get = entry_power_get,
    .power_set = entry_power_set,
    .boot_get = entry_boot_get,
    .boot_set = entry_boot_set,
    .sensors_read = entry_sensors_read,
    .events_read = entry_events_read,
    .events_clear = entry_events_clear,
    .inventory_read = entry_inventory_read,
    .power_reading = entry_power_reading,
    .bios_read = entry_bios_read,
    .bios_registry = entry_bios_registry,
    .bios_set = entry_bios_set,
    .storage_read = entry_storage_read,
    .volume_create = entry_volume_create,
    .volume_delete = entry_volume_delete,
    .firmware_list = entry_firmware_list,
    .firmware_update = entry_firmware_update,
    .task_poll = entry_task_poll,
    .bind_job = rf_bind_job,
    .discover = rf_discover,
    .identify_set = entry_identify_set,
    .identify_get = entry_identify_get,
    .bmc_reset = entry_bmc_reset,
};
