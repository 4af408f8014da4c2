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
#include <stddef.h>

#include "core/node.h"
#include "ul_error.h"

#define UL_DRIVER_API_VERSION 5

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
    bool flags_unknown; /* read back: the BMC reports the device but not
                           persistence or mode (a known quirk) */
};

const char *bmc_boot_device_name(enum ul_boot_device d);
/* -1 when unknown */
int bmc_boot_device_parse(const char *s);

/* ---- sensors, normalized the same way for every protocol ---- */

enum ul_sensor_kind {
    UL_SENSOR_OTHER = 0,
    UL_SENSOR_TEMPERATURE, /* unit "celsius" */
    UL_SENSOR_FAN,         /* unit "rpm" (or "percent") */
    UL_SENSOR_VOLTAGE,     /* unit "volts" */
    UL_SENSOR_CURRENT,     /* unit "amperes" */
    UL_SENSOR_POWER,       /* unit "watts" */
    UL_SENSOR_DISCRETE,    /* no unit: a state */
};

enum ul_sensor_status {
    UL_SENSOR_UNKNOWN = 0, /* no reading (absent, disabled, unavailable) */
    UL_SENSOR_OK,
    UL_SENSOR_WARNING,
    UL_SENSOR_CRITICAL,
};

/* Threshold slots, in the order IPMI and Redfish both know them. */
enum ul_threshold {
    UL_THR_LOWER_NON_RECOVERABLE = 0,
    UL_THR_LOWER_CRITICAL,
    UL_THR_LOWER_NON_CRITICAL,
    UL_THR_UPPER_NON_CRITICAL,
    UL_THR_UPPER_CRITICAL,
    UL_THR_UPPER_NON_RECOVERABLE,
    UL_THR__COUNT
};

struct ul_sensor {
    char name[64];       /* as the BMC names it */
    int number;          /* IPMI sensor number, or an index */
    enum ul_sensor_kind kind;
    char type[48];       /* protocol's sensor type ("Temperature", "Power Supply") */
    char unit[16];       /* see ul_sensor_kind; "" for discrete */
    bool has_value;
    double value;
    enum ul_sensor_status status;
    unsigned thresholds_present; /* bit i set: thresholds[i] is valid */
    double thresholds[UL_THR__COUNT];
    char state[160];     /* state text: discrete states, or threshold crossing */
};

struct ul_sensor_list {
    struct ul_sensor *items; /* owned */
    size_t count;
};

const char *bmc_sensor_kind_name(enum ul_sensor_kind k);
const char *bmc_sensor_status_name(enum ul_sensor_status s);
const char *bmc_threshold_name(enum ul_threshold t);
void bmc_sensor_list_free(struct ul_sensor_list *l); /* NULL-safe; empties it */
/* Append a zeroed sensor and return it. */
struct ul_sensor *bmc_sensor_list_add(struct ul_sensor_list *l);

/* ---- events (IPMI SEL, Redfish log entries) ---- */

enum ul_severity { UL_SEV_INFO = 0, UL_SEV_WARNING, UL_SEV_CRITICAL };
const char *bmc_severity_name(enum ul_severity s);

struct ul_event {
    char id[32];         /* BMC's record id */
    int64_t time;        /* epoch seconds; 0 when the BMC gives none */
    enum ul_severity severity;
    char sensor[64];     /* sensor name, or "" */
    char message[256];   /* interpreted text */
};

struct ul_event_list {
    struct ul_event *items; /* owned */
    size_t count;
};
void bmc_event_list_free(struct ul_event_list *l);
struct ul_event *bmc_event_list_add(struct ul_event_list *l);

#define UL_CURSOR_LEN 64

/* ---- power draw ---- */

struct ul_power_reading {
    double watts;       /* current */
    double min_watts, max_watts, avg_watts; /* over the sampling period */
    int period_s;       /* sampling period the BMC reports */
    bool active;        /* the BMC says the reading is valid */
};

/* ---- configuration: BIOS, storage, firmware ---- */

/* When the BMC applies a change.  DEFAULT: the service's own default. */
enum ul_apply_time { UL_APPLY_DEFAULT = 0, UL_APPLY_IMMEDIATE, UL_APPLY_ON_RESET };
const char *bmc_apply_time_name(enum ul_apply_time a); /* "immediate", "on-reset", "default" */
/* "now"/"immediate", "on-reset"; -1 when unknown */
int bmc_apply_time_parse(const char *s);

/* A long-running operation the BMC runs (a firmware update, a volume being
 * built): where to follow it.  Opaque to callers, who persist both strings
 * in the job's checkpoint so a restarted daemon follows the same task. */
#define UL_TASK_REF_LEN 512
struct ul_task_ref {
    char task[UL_TASK_REF_LEN];    /* the Task resource, or "" */
    char monitor[UL_TASK_REF_LEN]; /* the task monitor, or "" */
};
static inline bool bmc_task_ref_empty(const struct ul_task_ref *t)
{
    return !t->task[0] && !t->monitor[0];
}

enum ul_task_state {
    UL_TASK_RUNNING = 0, /* new, starting, running, ... */
    UL_TASK_PENDING,     /* staged: waits for a condition (a reset) */
    UL_TASK_DONE,
    UL_TASK_FAILED,      /* exception, killed, cancelled */
};
const char *bmc_task_state_name(enum ul_task_state s);

struct ul_task_status {
    enum ul_task_state state;
    int percent;          /* 0-100, -1 when the service gives none */
    char service_state[24]; /* the service's word ("Running", "Exception") */
    char message[256];    /* its latest message: the step, or why it failed */
    int retry_after_s;    /* the service's hint for the next poll, 0 if none */
};

/* A new RAID volume.  Drives are named by the ids storage_read reports. */
struct ul_volume_spec {
    const char *controller;  /* storage id; NULL: the only one with volumes */
    const char *name;
    const char *raid_type;   /* "RAID0", "RAID1", ... as the service names them */
    const char *const *drives;
    size_t ndrives;
    uint64_t capacity_bytes; /* 0: all the drives give */
};

/* A firmware update: from a URI the BMC fetches, or a local file pushed to
 * it (exactly one of the two). */
struct ul_fw_update {
    const char *image_uri;
    const char *file;
    const char *file_name; /* the name sent with file (the operator's), NULL: its own */
    const char *const *targets; /* component ids from firmware_list; may be empty */
    size_t ntargets;
    enum ul_apply_time apply;
};

/* Capability bits: what the driver can do in principle.  A given BMC may
 * still answer UL_ERR_UNSUPPORTED at run time. */
#define UL_CAP_POWER (1u << 0)
#define UL_CAP_BOOT (1u << 1)
#define UL_CAP_SENSORS (1u << 2)
#define UL_CAP_EVENTS (1u << 3)
#define UL_CAP_INVENTORY (1u << 4)
#define UL_CAP_POWER_READING (1u << 5)
#define UL_CAP_BIOS (1u << 6)
#define UL_CAP_RAID (1u << 7)
#define UL_CAP_FIRMWARE (1u << 8)
#define UL_CAP_IDENTIFY (1u << 9)  /* chassis identify LED */
#define UL_CAP_BMC_RESET (1u << 10) /* reset of the BMC itself */

/* Everything a driver needs to reach one node's BMC.  Borrowed pointers,
 * valid for the duration of the open call only: drivers copy what they keep. */
struct ul_bmc_target {
    const char *node;          /* node name, for messages */
    struct ul_endpoint ep;     /* parsed endpoint URI */
    const char *username;      /* may be NULL */
    const char *password;      /* may be NULL; never log it */
    json_object *options;      /* driver options, already checked */
    int timeout_ms;            /* bound for each call */
    const char *cache_dir;     /* per-node directory for caches (SDR), or NULL */
};

/* A session, as the table sees it: only which driver opened it.  Each driver
 * defines its own session struct with this as a member
 * (struct ipmi_session { struct ul_bmc_session base; ... }), hands out
 * &s->base from open, and gets its struct back with ul_container_of; so this
 * type has one definition in the whole program. */
struct ul_bmc_session {
    const struct ul_driver *driver;
};

/* The struct of type `type` whose member `member` ptr points to. */
#define ul_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

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

    /* Read every sensor; *out is filled (caller frees with
     * bmc_sensor_list_free). */
    ul_err (*sensors_read)(struct ul_bmc_session *s, struct ul_sensor_list *out, ul_errmsg *em);

    /* Events after cursor ("" for all), oldest first; cursor_out receives
     * the cursor to pass next time.  Cursors are opaque to callers. */
    ul_err (*events_read)(struct ul_bmc_session *s, const char *cursor, struct ul_event_list *out,
                          char cursor_out[UL_CURSOR_LEN], ul_errmsg *em);
    /* Clear the BMC's event log. */
    ul_err (*events_clear)(struct ul_bmc_session *s, ul_errmsg *em);

    /* Inventory as a new JSON object (FRU areas, BMC firmware, ...). */
    ul_err (*inventory_read)(struct ul_bmc_session *s, json_object **out, ul_errmsg *em);

    /* Current power draw (IPMI DCMI, Redfish Power). */
    ul_err (*power_reading)(struct ul_bmc_session *s, struct ul_power_reading *out,
                            ul_errmsg *em);

    /* ---- version 2: configuration ----
     * Each answers UL_ERR_UNSUPPORTED when this BMC lacks the service. */

    /* BIOS as a new object: {"attributes": {..}, "pending": {..} (staged,
     * not yet applied), "registry": name or null, "apply_times": [..],
     * "messages": [{"id", "message", "attributes": [..]}] (the service's
     * report on the last apply), "applied_at": time or null}. */
    ul_err (*bios_read)(struct ul_bmc_session *s, json_object **out, ul_errmsg *em);
    /* The BIOS attribute registry, normalised (see ops/bios.h); a new
     * object.  UL_ERR_NOT_FOUND when the service publishes none. */
    ul_err (*bios_registry)(struct ul_bmc_session *s, json_object **out, ul_errmsg *em);
    /* Stage attribute changes (an object of name: value) to apply at `at`. */
    ul_err (*bios_set)(struct ul_bmc_session *s, json_object *changes, enum ul_apply_time at,
                       ul_errmsg *em);

    /* Storage as a new object: {"controllers": [{"id", "name", "model",
     * "firmware", "raid_types": [..], "health", "drives": [{"id", "name",
     * "model", "serial", "capacity_bytes", "media", "protocol", "health",
     * "state", "volumes": [..]}], "volumes": [{"id", "name", "raid_type",
     * "capacity_bytes", "drives": [..], "health", "state"}]}]}. */
    ul_err (*storage_read)(struct ul_bmc_session *s, json_object **out, ul_errmsg *em);
    /* Create a volume.  Done at once: *volume_id set, task empty.  Or the
     * BMC runs a task: task set, *volume_id "" (found after it ends). */
    ul_err (*volume_create)(struct ul_bmc_session *s, const struct ul_volume_spec *v,
                            char volume_id[64], struct ul_task_ref *task, ul_errmsg *em);
    ul_err (*volume_delete)(struct ul_bmc_session *s, const char *controller, const char *volume,
                            struct ul_task_ref *task, ul_errmsg *em);

    /* Firmware components as a new array: [{"id", "name", "version",
     * "updateable", "health"}]. */
    ul_err (*firmware_list)(struct ul_bmc_session *s, json_object **out, ul_errmsg *em);
    /* Start an update; task is where to follow it (empty when the service
     * gave none). */
    ul_err (*firmware_update)(struct ul_bmc_session *s, const struct ul_fw_update *u,
                              struct ul_task_ref *task, ul_errmsg *em);

    /* Read a task's state once. */
    ul_err (*task_poll)(struct ul_bmc_session *s, const struct ul_task_ref *t,
                        struct ul_task_status *out, ul_errmsg *em);

    /* Bind the session's calls to a job: none outlives deadline_ms (the
     * ul_mono_ms clock), and a transfer under way stops (UL_ERR_INTERRUPTED)
     * once stop(arg) returns true: the job was canceled or the daemon is
     * stopping.  deadline_ms 0 and stop NULL unbind.  Optional (NULL: each
     * call is bounded by the BMC timeout only). */
    void (*bind_job)(struct ul_bmc_session *s, int64_t deadline_ms, bool (*stop)(void *arg),
                     void *arg);

    /* ---- version 3: capabilities per node ----
     * Which of caps a node with these driver options has (a subset of
     * caps): a simulated BMC without sensors, say.  Optional (NULL: every
     * node has all of caps).  Called without a session; never blocks. */
    unsigned (*node_caps)(json_object *options);

    /* ---- version 4: enrolment ----
     * The machines a service behind one endpoint manages (a blade
     * enclosure's systems), for enrolling them as nodes in one step:
     * {"systems": [{"id", "name", "path"}], "auth": how the session
     * authenticated, "auth_fallback": bool, "notes": [text]} (new object);
     * each path, put after the endpoint's host, is one node's endpoint.
     * Called on a session opened for an endpoint without a path.
     * Optional (NULL: the driver cannot discover). */
    ul_err (*discover)(struct ul_bmc_session *s, json_object **out, ul_errmsg *em);

    /* ---- version 5: chassis identify, BMC reset ----
     * Turn the chassis identify LED on (for `seconds`, 0: until turned off,
     * where the BMC can; else its own default interval) or off. */
    ul_err (*identify_set)(struct ul_bmc_session *s, bool on, int seconds, ul_errmsg *em);
    /* Read the identify LED back: *on.  UL_ERR_UNSUPPORTED when this BMC
     * does not report it.  Optional (NULL: not readable). */
    ul_err (*identify_get)(struct ul_bmc_session *s, bool *on, ul_errmsg *em);
    /* Reset the BMC (cold: a full restart; warm: its firmware only).  The
     * BMC drops every session: the caller closes this one afterwards and
     * never caches it.  Returns once the BMC accepted the request. */
    ul_err (*bmc_reset)(struct ul_bmc_session *s, bool cold, ul_errmsg *em);
};

/* A node's capabilities: d->caps narrowed by d->node_caps. */
unsigned bmc_driver_node_caps(const struct ul_driver *d, json_object *options);

/* The driver registry.  It starts empty: this folder knows no concrete
 * driver by itself.  daemon/drivers.c registers them (daemon_register_drivers,
 * also what test and bench programs call) at start, before any thread looks
 * one up; the registry is not changed afterwards, so lookups take no lock.
 *
 * bmc_driver_register keeps d (a constant table, never freed) and fails with
 * UL_ERR_INVALID for a table without a name, open or close, or of an API
 * version this build does not know; UL_ERR_CONFLICT when its name or one of
 * its URI schemes is already registered (a scheme picks one driver);
 * UL_ERR_INTERNAL when BMC_DRIVERS_MAX are registered.  The registry is left
 * as it was on failure.  Not thread-safe: start-up only. */
#define BMC_DRIVERS_MAX 16
ul_err bmc_driver_register(const struct ul_driver *d, ul_errmsg *em);
/* Empty the registry (tests of the registry itself). */
void bmc_drivers_clear(void);
/* Lookups: NULL when none matches. */
const struct ul_driver *bmc_driver_find(const char *name);
const struct ul_driver *bmc_driver_for_scheme(const char *scheme);
/* NULL-ended list of every registered driver, in registration order. */
const struct ul_driver *const *bmc_drivers(void);

/* The drivers this folder implements; daemon/drivers.c registers them.
 *
 * IPMI over LAN (libfreeipmi), endpoint ipmi://host[:port]; bmc/ipmi.h. */
extern const struct ul_driver ipmi_driver;
/* The fake driver: an in-process simulated BMC for tests and demos (like
 * Ironic's fake-hardware).  Endpoint fake://NAME; options delay_ms (each call
 * takes this long), fail (auth|unreachable|timeout|busy: every call fails so),
 * power (initial state on|off), sensors (N simulated sensors), chassis
 * (true: an identify LED and BMC reset, see fake.c). */
extern const struct ul_driver bmc_fake_driver;

#endif
