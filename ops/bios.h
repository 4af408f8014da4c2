/* bios.h - BIOS attribute changes checked against an attribute registry,
 * the same way for every driver.
 *
 * The normalised registry a driver's bios_registry returns:
 *   {"name": "...", "attributes": {"NAME": {"type": "enumeration" | "string" |
 *    "integer" | "boolean" | "password", "read_only": bool, "values": [..]
 *    (enumerations), "min"/"max" (integers), "min_length"/"max_length"
 *    (strings), "display_name"}}}
 */
#ifndef UL_OPS_BIOS_H
#define UL_OPS_BIOS_H

#include <json-c/json.h>
#include <stdbool.h>

#include "ul_error.h"

/* Check changes (an object name: value) against registry; registry may be
 * NULL (nothing to check against: only the shape is checked).  On success
 * *out is a new object with values converted to the registry's types ("7"
 * for an integer attribute becomes 7).  On failure em names every attribute
 * that is wrong and why (UL_ERR_INVALID). */
ul_err bios_check_changes(json_object *registry, json_object *changes, json_object **out,
                          ul_errmsg *em);

/* After an apply: the requested attributes whose current value differs,
 * as a new object {name: {"wanted", "current", "message"}}; messages are the
 * service's report (bios_read's "messages"), matched by attribute. */
json_object *bios_verify(json_object *wanted, json_object *current, json_object *messages);

#endif
