/* redfish.h - the Redfish driver's pieces shared between its files
 * (the .c files in redfish/) and its unit tests.  Nothing outside redfish/ includes this:
 * the daemon sees only rf_driver.h.
 *
 * Threading: a session is used by one thread at a time (the job engine's
 * per-node lock); nothing here is shared between sessions except libcurl's
 * process-wide initialisation, done once under pthread_once.
 */
#ifndef UL_REDFISH_H
#define UL_REDFISH_H

#include <curl/curl.h>
#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bmc/driver.h"
#include "ul_error.h"

/* Bounds against hostile or broken services. */
#define RF_MAX_BODY (8u * 1024 * 1024) /* bytes in one reply */
#define RF_MAX_DEPTH 32                /* JSON nesting in one reply */
#define RF_MAX_MEMBERS 512             /* members followed in one collection */
#define RF_MAX_PAGES 256               /* Members@odata.nextLink pages in one walk */
#define RF_MAX_VISITED 16384           /* resources seen in one operation */
#define RF_MAX_CHASSIS 8               /* chassis read for one system */
#define RF_MAX_SENSORS 2048            /* sensors in one sweep */
#define RF_MAX_LOGS 8                  /* log services read for one node */
#define RF_MAX_EVENTS 8192             /* log entries read in one poll */
#define RF_PATH_MAX 512                /* a resource path we will request */
#define RF_DEFAULT_TIMEOUT_MS 20000
#define RF_DEFAULT_RETRIES 2

enum rf_auth { RF_AUTH_SESSION = 0, RF_AUTH_BASIC };

/* A node's driver options (check_options validates them, open parses them). */
struct rf_options {
    char *ca_file; /* PEM bundle to verify the BMC's certificate, or NULL */
    bool insecure; /* skip TLS verification: an explicit per-node choice */
    enum rf_auth auth;
    int retries;    /* 0-5: retries of one request on 5xx, timeouts, drops */
    int timeout_ms; /* 0: the daemon's bmc.timeout */
};

ul_err rf_options_parse(json_object *options, struct rf_options *o, ul_errmsg *em);
void rf_options_free(struct rf_options *o);

/* Where one chassis keeps its readings ("" when it has no such link). */
struct rf_source {
    char sensors[RF_PATH_MAX]; /* the Sensors collection */
    char thermal[RF_PATH_MAX]; /* legacy Thermal */
    char power[RF_PATH_MAX];   /* legacy Power */
    char env[RF_PATH_MAX];     /* EnvironmentMetrics */
};

/* One log service the node's events are read from. */
struct rf_logsel {
    char name[24]; /* its Id, for entry keys */
    char entries[RF_PATH_MAX];
    char clear[RF_PATH_MAX]; /* ClearLog target, or "" */
};

/* The Redfish driver's session; private to redfish/. */
struct rf_session {
    struct ul_bmc_session base; /* what the table sees (bmc/driver.h) */
    char *node;
    char *base_url; /* "https://host:port", no path */
    char *username;
    char *password; /* kept to log in again after a 401; wiped on close */
    struct rf_options opt;
    int timeout_ms;
    CURL *curl;          /* one easy handle ... */
    CURLM *multi;        /* ... run through one multi handle: keeps the connection alive */
    char *token;         /* X-Auth-Token; never logged; wiped on close */
    char *session_path;  /* our Session resource, deleted at close */
    char *sessions_path; /* the Sessions collection, to log in again */
    bool basic;          /* HTTP basic authentication instead of a session */
    bool auth_fallback;  /* ... because the login gave no X-Auth-Token (http.c) */
    const char *chassis_rule; /* how the system's chassis were found (static
                               * string, rf_chassis_rule_name), NULL: not yet */
    bool expand;         /* the service takes $expand=. (ExpandQuery.NoLinks) */
    bool expand_levels;  /* ... with ($levels=n) */
    json_object *root;   /* the service root, read on first use (rf_connect) */
    bool need_login;     /* root read, login still to do */
    char *ep_path;       /* the endpoint's path (a system), or NULL */
    char *system_path;   /* the ComputerSystem this node is; set: the session is set up */
    /* Found by following links once per session (links do not move while
     * a BMC runs); NULL until then, and again after a cached path answered
     * 404 (a firmware update moved it). */
    struct rf_source *sources;
    size_t nsources;
    struct rf_logsel *logs;
    size_t nlogs;
    json_object *bios_registry; /* normalised, read once per session, or NULL */
    /* The job using the session now (bind_job): its deadline (ul_mono_ms,
     * 0: none) and whether it must stop. */
    int64_t deadline_ms;
    bool (*stop)(void *arg);
    void *stop_arg;
    int64_t stop_checked_ms; /* when stop was last asked */
    bool unanswered;         /* the last request got no reply (timeout, stop, drop) */
};

/* The Redfish session behind a table session (NULL stays NULL). */
static inline struct rf_session *rf_session_of(struct ul_bmc_session *bs)
{
    return bs ? ul_container_of(bs, struct rf_session, base) : NULL;
}

/* ---- HTTP (http.c) ---- */

struct rf_reply {
    long status; /* HTTP status, 0 when no reply arrived */
    char *body;  /* NUL-terminated, owned; NULL when empty */
    size_t len;
    char etag[160];
    char location[RF_PATH_MAX];
    char *token; /* X-Auth-Token header, owned, or NULL */
    int retry_after_s;
};
void rf_reply_free(struct rf_reply *r);

/* curl's global set-up, once per process. */
void rf_http_global_init(void);

/* Create s->curl with the node's TLS and timeout settings. */
ul_err rf_http_init(struct rf_session *s, ul_errmsg *em);

/* One request with the session's credentials: retries (bounded, exponential
 * backoff) on 5xx, timeouts and dropped connections for idempotent methods,
 * and logs in again once on 401.  Returns UL_OK when any HTTP reply arrived
 * (check r->status); an error when none did.  body may be NULL; if_match
 * may be NULL.  Blocks for at most about (retries + 1) x timeout. */
ul_err rf_request(struct rf_session *s, const char *method, const char *path, const char *body,
                  const char *if_match, struct rf_reply *r, ul_errmsg *em);

/* POST a multipart/form-data body (firmware push); timeout_ms 0: the
 * session's.  Like rf_request: UL_OK when a reply arrived. */
ul_err rf_request_mime(struct rf_session *s, const char *path, curl_mime *mime,
                       int timeout_ms, struct rf_reply *r, ul_errmsg *em);

/* Every @Message.ExtendedInfo Message of an error body, joined with "; "
 * (or error.message); "" when none. */
void rf_service_messages(const char *body, char *out, size_t outlen);

/* Map a non-2xx reply to a project error with a message naming the node,
 * the method and the path, and the service's own message when it gave one. */
ul_err rf_status_error(struct rf_session *s, const char *method, const char *path,
                       const struct rf_reply *r, ul_errmsg *em);
/* The pure part of it: which code a status means. */
ul_err rf_status_code(long status, const char *body);

/* GET path and parse the reply as a JSON object (bounded).  *out is a new
 * reference; etag (optional, 160 bytes) receives the ETag header or
 * @odata.etag. */
ul_err rf_get(struct rf_session *s, const char *path, json_object **out, char *etag,
              ul_errmsg *em);

/* POST/PATCH a JSON body; 2xx is success, anything else is mapped. */
ul_err rf_send(struct rf_session *s, const char *method, const char *path, const char *body,
               const char *if_match, struct rf_reply *r, ul_errmsg *em);

/* Log in (POST Sessions) or fall back to basic authentication. */
ul_err rf_login(struct rf_session *s, ul_errmsg *em);
/* DELETE our session, best effort. */
void rf_logout(struct rf_session *s);

/* Parse a reply body as a JSON object; errors name node, method, path. */
ul_err rf_parse(struct rf_session *s, const char *method, const char *path, const char *body,
                size_t len, json_object **out, ul_errmsg *em);

/* Append s JSON-escaped (with quotes) to buf; false when it does not fit. */
bool rf_json_quote(char *buf, size_t size, size_t *used, const char *str);

/* The driver's bind_job slot (http.c).  Every request after it, the
 * session's first GET and its login included, is bounded by deadline_ms and
 * stopped once stop(arg) says so: a GET at once, a request that changes the
 * BMC and has already been sent after a short grace for its reply (http.c
 * RF_SENT_GRACE_MS).  Stopped requests return UL_ERR_INTERRUPTED, requests
 * cut by the deadline UL_ERR_TIMEOUT. */
void rf_bind_job(struct ul_bmc_session *bs, int64_t deadline_ms, bool (*stop)(void *arg),
                 void *arg);
/* The bound job must stop (canceled, or the daemon is stopping). */
bool rf_should_stop(struct rf_session *s);

/* Set the session up on first use: read the service root, log in, find the
 * node's system (driver.c).  Every driver entry point calls it first; open
 * sends nothing, because it runs before the session is bound to its job. */
ul_err rf_connect(struct rf_session *s, ul_errmsg *em);

/* The service half of rf_connect: read the root and log in (falling back
 * to basic authentication when the login gives no token), without looking
 * for the node's system.  Done once per session. */
ul_err rf_connect_service(struct rf_session *s, ul_errmsg *em);

/* "session", "basic" or "none": how the session authenticates now. */
const char *rf_auth_name(const struct rf_session *s);

/* ---- enrolment (discover.c) ---- */

/* The driver's discover slot: the service's ComputerSystems as
 * {"systems": [{"id", "name", "path"}], "auth": rf_auth_name,
 *  "auth_fallback": bool, "notes": [text]} (new object).  The session's
 * endpoint must name no system. */
ul_err rf_discover(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);

/* Zero memory the compiler may not optimise away; NULL-safe. */
void rf_wipe(void *p, size_t n);

/* ---- links and bounded walks (walk.c) ---- */

/* Resolve a link as a service writes it (absolute URL, absolute path or a
 * path relative to the resource that holds it) into the path we request:
 * scheme and host dropped (we only ever talk to the node's own BMC), the
 * fragment dropped, repeated slashes collapsed.  Refuses "..", control
 * characters and paths outside /redfish/.  base may be NULL. */
bool rf_link_resolve(const char *base, const char *ref, char *out, size_t outlen);

/* The key two links are compared by: lower-case, without a trailing slash,
 * so "/redfish/v1/systems/1/" and "/redfish/v1/Systems/1" are the same. */
void rf_path_key(const char *path, char *out, size_t outlen);
bool rf_path_same(const char *a, const char *b);

/* Loop detection: the resources seen in one operation (a hash set of path
 * keys). */
struct rf_visited {
    char **slots; /* open addressing; NULL is empty */
    size_t count, cap;
};
/* 1 when path is new (and records it), 0 when already seen, -1 when the set
 * is full (RF_MAX_VISITED resources in one operation). */
int rf_visited_add(struct rf_visited *v, const char *path);
void rf_visited_free(struct rf_visited *v);

/* Property lookups tolerant of vendors' letter case: the exact name first,
 * then a case-insensitive match.  Borrowed results. */
json_object *rf_prop(json_object *obj, const char *name);
const char *rf_prop_str(json_object *obj, const char *name); /* NULL unless a string */
bool rf_prop_num(json_object *obj, const char *name, double *out);
bool rf_json_num(json_object *v, double *out);
/* obj[name]["@odata.id"] (a link object), or NULL. */
const char *rf_prop_link(json_object *obj, const char *name);
/* "@odata.id" of a link object, or NULL. */
const char *rf_link_of(json_object *link);

/* Copy text from a BMC into dst as printable ASCII, runs of whitespace as one
 * space, trimmed. */
void rf_copy_text(char *dst, size_t dstlen, const char *src);

/* Called for each member of a collection: obj is the member resource
 * (expanded inline or fetched), path its link.  Return non-OK to stop. */
typedef ul_err (*rf_member_fn)(struct rf_session *s, json_object *obj, const char *path,
                               void *arg, ul_errmsg *em);

/* Walk a collection: page through Members@odata.nextLink, fetch members not
 * expanded inline, stop at max members (RF_MAX_MEMBERS when 0), skip
 * members seen before, stop paging at a nextLink loop.  expand asks for $expand=. when the service
 * supports it.  visited may be NULL (a fresh set is used). */
ul_err rf_collection_walk(struct rf_session *s, const char *path, bool expand, size_t max,
                          struct rf_visited *visited, rf_member_fn fn, void *arg, ul_errmsg *em);

/* The links of a collection's members, without fetching them (paging
 * through nextLink, bounded by max and RF_MAX_PAGES, loops refused).  Fills
 * up to max paths; *n the count. */
ul_err rf_collection_links(struct rf_session *s, const char *path, char (*paths)[RF_PATH_MAX],
                           size_t max, size_t *n, ul_errmsg *em);

/* The node's ComputerSystem resource (a GET each call: state changes). */
ul_err rf_system_get(struct rf_session *s, json_object **out, char *etag, ul_errmsg *em);

/* Find the node's ComputerSystem: the endpoint path if given, else the
 * service's only system.  Sets s->system_path. */
ul_err rf_system_resolve(struct rf_session *s, const char *ep_path, ul_errmsg *em);

/* Chassis paths of the node's system: Links.Chassis, else the Chassis
 * collection's members found by rf_chassis_match.  Fills up to max paths of
 * RF_PATH_MAX bytes; *n the count; s->chassis_rule says which rule matched. */
ul_err rf_system_chassis(struct rf_session *s, json_object *system, char (*paths)[RF_PATH_MAX],
                         size_t max, size_t *n, ul_errmsg *em);

/* How a system's chassis were found, in the order tried: the system's
 * Links.Chassis; a chassis whose Links.ComputerSystems names the system; a
 * chassis with the system's Id; the service's only chassis. */
enum rf_chassis_rule {
    RF_CHASSIS_NONE = 0,
    RF_CHASSIS_SYSTEM_LINKS,
    RF_CHASSIS_BACKLINK,
    RF_CHASSIS_SAME_ID,
    RF_CHASSIS_ONLY,
};
/* "system-links", "chassis-links", "same-id", "only-chassis", "none". */
const char *rf_chassis_rule_name(enum rf_chassis_rule r);

/* The pure part of the fallback rules (a system without Links.Chassis):
 * chassis[i] is the resource at paths[i] (NULL when it could not be read;
 * its Id is then the path's last segment).  Sets pick[i] for the chassis
 * the first matching rule selects and returns the rule (RF_CHASSIS_BACKLINK,
 * RF_CHASSIS_SAME_ID, RF_CHASSIS_ONLY or RF_CHASSIS_NONE). */
enum rf_chassis_rule rf_chassis_match(const char *system_path, const char *system_id,
                                      json_object *const *chassis,
                                      const char (*paths)[RF_PATH_MAX], size_t n, bool *pick);

/* The system's managers: Links.ManagedBy, else the Managers collection when
 * it holds one manager. */
ul_err rf_system_managers(struct rf_session *s, json_object *system, char (*paths)[RF_PATH_MAX],
                          size_t max, size_t *n, ul_errmsg *em);

/* RFC 3339 with offset and optional fraction to epoch seconds; -1 when
 * malformed. */
int64_t rf_time_parse(const char *s);

/* ---- power and boot (power.c) ---- */

enum ul_power_state rf_power_state_map(const char *state);

/* Choose the ResetType for an action from what the service allows.
 * allowed: NULL-ended list, or NULL when the service does not say (then the
 * standard value is used).  host: the current power state (a cycle of a host
 * that is off is a plain power on).  NULL when nothing suitable is allowed. */
const char *rf_reset_choose(enum ul_power_action a, const char *const *allowed,
                            enum ul_power_state host);

const char *rf_boot_target_name(enum ul_boot_device d);
/* -1 for targets we have no device for (Usb, UefiTarget, ...). */
int rf_boot_target_parse(const char *target);

ul_err rf_power_get(struct ul_bmc_session *bs, enum ul_power_state *out, ul_errmsg *em);
/* chassis.c: the identify LED and Manager.Reset (driver API version 5). */
ul_err rf_identify_set(struct ul_bmc_session *bs, bool on, int seconds, ul_errmsg *em);
ul_err rf_identify_get(struct ul_bmc_session *bs, bool *on, ul_errmsg *em);
ul_err rf_bmc_reset(struct ul_bmc_session *bs, bool cold, ul_errmsg *em);
ul_err rf_power_set(struct ul_bmc_session *bs, enum ul_power_action a, ul_errmsg *em);
ul_err rf_boot_get(struct ul_bmc_session *bs, struct ul_boot *out, ul_errmsg *em);
ul_err rf_boot_set(struct ul_bmc_session *bs, const struct ul_boot *b, ul_errmsg *em);

/* ---- sensors and power draw (sensors.c) ---- */

/* Map one Sensor resource (the Sensors collection's shape) into u. */
void rf_sensor_from_resource(json_object *obj, int index, struct ul_sensor *u);
/* Map one legacy Thermal/Power array entry; kind says which array. */
void rf_sensor_from_legacy(json_object *obj, enum ul_sensor_kind kind, int index,
                           struct ul_sensor *u);
enum ul_sensor_status rf_health_map(json_object *status);
/* Fill u->kind and u->unit from ReadingType, ReadingUnits and context. */
void rf_sensor_kind_unit(const char *reading_type, const char *units, const char *context,
                         const char *name, struct ul_sensor *u);
/* PowerControl[0] (legacy Power) into a reading; false when it has none. */
bool rf_power_control_reading(json_object *power, struct ul_power_reading *out);

ul_err rf_sensors_read(struct ul_bmc_session *bs, struct ul_sensor_list *out, ul_errmsg *em);
ul_err rf_power_reading(struct ul_bmc_session *bs, struct ul_power_reading *out, ul_errmsg *em);

/* ---- event logs (logs.c) ---- */

/* One log entry, as read and ordered before the cursor is applied. */
struct rf_entry {
    int64_t created; /* epoch seconds, 0 when absent */
    char key[64];    /* "<log>/<entry id>": unique across the node's logs */
    struct ul_event ev;
};

/* Entries oldest first: by Created, then log and Id (numeric ids as
 * numbers), whatever order the service lists them in. */
void rf_entries_sort(struct rf_entry *e, size_t n);

/* Apply the cursor to sorted entries: *first is the index of the first new
 * entry; cursor_out the cursor after all n.  See logs.c for the format. */
void rf_cursor_apply(const char *cursor, const struct rf_entry *e, size_t n, size_t *first,
                     char cursor_out[UL_CURSOR_LEN]);

enum ul_severity rf_severity_map(const char *severity);

ul_err rf_events_read(struct ul_bmc_session *bs, const char *cursor, struct ul_event_list *out,
                      char cursor_out[UL_CURSOR_LEN], ul_errmsg *em);
ul_err rf_events_clear(struct ul_bmc_session *bs, ul_errmsg *em);

/* ---- inventory (inventory.c) ---- */

/* Copy src[prop] into dst[key] when present and of the right type (text
 * cleaned; integral numbers stay integers). */
void rf_put_str(json_object *dst, const char *key, json_object *src, const char *prop);
void rf_put_num(json_object *dst, const char *key, json_object *src, const char *prop);
void rf_put_bool(json_object *dst, const char *key, json_object *src, const char *prop);
/* Status.State is Absent (an empty slot). */
bool rf_absent(json_object *obj);

/* Each maps one resource to the inventory's normalized object (new). */
json_object *rf_inv_system(json_object *sys);
json_object *rf_inv_processor(json_object *p);
json_object *rf_inv_memory(json_object *m);
json_object *rf_inv_drive(json_object *d);
json_object *rf_inv_nic(json_object *n);
json_object *rf_inv_firmware(json_object *f);

ul_err rf_inventory_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);

/* ---- BIOS (bios.c) ---- */

/* A DMTF AttributeRegistry resource to the normalised form of ops/bios.h
 * (new object). */
json_object *rf_bios_registry_normalise(json_object *reg, const char *name);
/* The pending settings: attributes of the Settings resource whose value
 * differs from the current one (new object). */
json_object *rf_bios_pending(json_object *current, json_object *settings);

ul_err rf_bios_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);
ul_err rf_bios_registry(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);
ul_err rf_bios_set(struct ul_bmc_session *bs, json_object *changes, enum ul_apply_time at,
                   ul_errmsg *em);

/* ---- storage (storage.c) ---- */

json_object *rf_storage_drive(json_object *d);
json_object *rf_storage_volume(json_object *v);

ul_err rf_storage_read(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);
ul_err rf_volume_create(struct ul_bmc_session *bs, const struct ul_volume_spec *v,
                        char volume_id[64], struct ul_task_ref *task, ul_errmsg *em);
ul_err rf_volume_delete(struct ul_bmc_session *bs, const char *controller, const char *volume,
                        struct ul_task_ref *task, ul_errmsg *em);

/* ---- firmware and tasks (update.c) ---- */

/* A Task resource into a status; false when obj is not task-shaped. */
bool rf_task_status_from(json_object *obj, struct ul_task_status *out);
/* Where to follow an operation the service answered 202 to: the Location
 * header (a task monitor) and a Task in the body. */
void rf_task_ref_from_reply(struct rf_session *s, const char *base, const struct rf_reply *r,
                            struct ul_task_ref *task);

ul_err rf_firmware_list(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em);
ul_err rf_firmware_update(struct ul_bmc_session *bs, const struct ul_fw_update *u,
                          struct ul_task_ref *task, ul_errmsg *em);
ul_err rf_task_poll(struct ul_bmc_session *bs, const struct ul_task_ref *t,
                    struct ul_task_status *out, ul_errmsg *em);

#endif
