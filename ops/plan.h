/* plan.h - what an operation would do, worked out from the node's current
 * state and the wanted state alone: no BMC I/O, no job, no store.  The job
 * handlers read the BMC, ask the plan, then apply it and verify; a dry run
 * ("dry_run": true in a job's params) stops after the plan and returns it.
 *
 * Every plan is a new JSON object of one shape:
 *   {"op": "power" | "boot" | "bios.set" | "raid.create" | "raid.delete" |
 *           "firmware.update",
 *    "changes":   [{"target": T, "from": X or null, "to": Y}],
 *    "unchanged": [{"target": T, "value": V}],
 *    "refused":   [{"target": T, "code": "invalid_argument" | "conflict" |
 *                   "not_found" | "not_supported", "reason": "..."}],
 *    "needs_reset": [T, ...],   targets whose change takes effect only when
 *                               the host resets
 *    "reset": "none" | "by this job" | "at the next reset",
 *    "notes": ["..."]}          what the plan cannot promise (a change that
 *                               cannot be verified, a version the BMC alone
 *                               knows)
 * A target names what changes: "power", "boot", a BIOS attribute, "volume
 * NAME", a drive id, a firmware component id.  A plan with an entry in
 * "refused" is not applied: the job fails with the first refusal's code and
 * reason (plan_refusal).
 */
#ifndef UL_OPS_PLAN_H
#define UL_OPS_PLAN_H

#include <json-c/json.h>
#include <stdbool.h>

#include "bmc/driver.h"
#include "ul_error.h"

/* ---- building and reading plans ---- */

json_object *plan_new(const char *op);
/* from and to are borrowed (a reference is taken); from may be NULL. */
void plan_change(json_object *plan, const char *target, json_object *from, json_object *to);
void plan_unchanged(json_object *plan, const char *target, json_object *value);
void plan_refuse(json_object *plan, const char *target, ul_err code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void plan_note(json_object *plan, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void plan_needs_reset(json_object *plan, const char *target);
/* "none" (the default), "by this job", "at the next reset". */
void plan_set_reset(json_object *plan, const char *how);
int plan_nchanges(json_object *plan);
/* The first refusal: its code (UL_OK when none) and reason (borrowed). */
ul_err plan_refusal(json_object *plan, const char **reason);

/* ---- the plans ---- */

/* Power: the current state and the wanted action.  A change (target
 * "power") when the action must be sent; unchanged when on/off/soft finds
 * the host already so.  cycle and reset are always sent and cannot be
 * verified by the state (it reads on before and after): a note says so, as
 * it does for soft (the OS may refuse to shut down).  An unknown current
 * state is a change. */
json_object *plan_power(enum ul_power_state current, enum ul_power_action action);
/* The state a power action leaves the host in. */
enum ul_power_state plan_power_target(enum ul_power_action action);

/* Boot override: the BMC's current one and the wanted one.  A change when
 * the device, persistence or mode differ (when the BMC does not report the
 * flags, only the device is compared and a note says so). */
json_object *plan_boot(const struct ul_boot *current, const struct ul_boot *wanted);

/* BIOS: bios is what the driver's bios_read returns ("attributes",
 * "pending", "apply_times"), registry the normalised attribute registry (NULL
 * when the BMC has none), wanted the operator's {name: value}, apply "now",
 * "on-reset" or NULL.  Per attribute: refused (with bios_check_changes'
 * reason), unchanged (the value is in place and no other is staged), or a
 * change from the current to the converted value.  The reset: "none" when
 * nothing changes or the BMC applies at once, "by this job" for apply "now"
 * on a BMC without Immediate, "at the next reset" otherwise; every change
 * then needs a reset.  *apply_time (may be NULL) receives the apply time to
 * send. */
json_object *plan_bios(json_object *bios, json_object *registry, json_object *wanted,
                       const char *apply, enum ul_apply_time *apply_time);

/* The controller of a storage read (driver's storage_read): by id, or the
 * only one with volumes; NULL when none or ambiguous.  Borrowed. */
json_object *plan_storage_controller(json_object *storage, const char *id);

/* RAID create: storage as storage_read returns it, params as raid.create
 * takes them ("controller", "name", "raid_type", "drives",
 * "capacity_bytes").  One change (target "volume NAME", to: {"controller",
 * "raid_type", "drives", "capacity_bytes"}) or refusals: no such controller,
 * a RAID level the controller does not offer, a drive it does not have, a
 * drive already in a volume. */
json_object *plan_raid_create(json_object *storage, json_object *params);

/* RAID delete: a change (target "volume ID", from its description, to
 * null) when the volume exists, unchanged ("value": null) when it does not
 * (deleting what is gone changes nothing), refused when no controller. */
json_object *plan_raid_delete(json_object *storage, json_object *params);

/* Firmware: components as firmware_list returns them ([{"id", "name",
 * "version", "updateable"}]), targets the wanted component ids (NULL or
 * empty: the BMC picks), version the image's version when the operator
 * knows it (NULL otherwise).  Per component: unchanged when already at
 * version, a change (to: version, or null when unknown) when updateable,
 * refused when not updateable or unknown to the BMC (code not_found). */
json_object *plan_firmware(json_object *components, json_object *targets, const char *version);

#endif
