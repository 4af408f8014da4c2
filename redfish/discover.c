/* discover.c - the Redfish driver's discover slot: which ComputerSystems a
 * service manages, so a blade enclosure or a multi-node chassis behind one
 * BMC address is enrolled as one node per system in one step
 * (bmc/discover_op.c turns the list into nodes).
 *
 * It reads the service root, logs in (rf_connect_service: a login that
 * answers without an X-Auth-Token falls back to basic authentication, and
 * the result says so), walks the Systems collection (paged, bounded) and
 * reads each member for its Id and Name.  A member that cannot be read or
 * is not a ComputerSystem is reported under "skipped" with the reason; the
 * others are still listed.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

/* Systems one service may list for enrolment: the largest enclosures we
 * know hold 16 blades of up to 4 nodes each; 256 leaves room and bounds the
 * GETs of one discovery. */
#define RF_DISCOVER_MAX 256

static void skip(json_object *skipped, const char *path, const char *why)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "path", json_object_new_string(path));
    json_object_object_add(o, "reason", json_object_new_string(why));
    json_object_array_add(skipped, o);
}

/* The member's Id as a node-name part: its Id, else the path's last
 * segment, as printable text (discover_op.c makes it a valid name). */
static void system_id(json_object *sys, const char *path, char *out, size_t outlen)
{
    const char *id = rf_prop_str(sys, "Id");
    if (!id || !*id) {
        const char *slash = strrchr(path, '/');
        id = slash ? slash + 1 : path;
    }
    rf_copy_text(out, outlen, id);
}

ul_err rf_discover(struct ul_bmc_session *bs, json_object **out, ul_errmsg *em)
{
    struct rf_session *s = rf_session_of(bs);
    char(*paths)[RF_PATH_MAX] = NULL;
    json_object *res = NULL, *sys = NULL;
    size_t n = 0;
    ul_err rc;
    *out = NULL;
    if (s->ep_path && *s->ep_path && strcmp(s->ep_path, "/") != 0)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "node %s: discovery takes the service's address without a path "
                             "(redfish://host[:port]), not %.200s",
                             s->node, s->ep_path);
    if ((rc = rf_connect_service(s, em)) != UL_OK)
        return rc;
    const char *l = rf_prop_link(s->root, "Systems");
    char spath[RF_PATH_MAX];
    if (!l || !rf_link_resolve("/redfish/v1", l, spath, sizeof(spath)))
        return ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                             "node %s: GET /redfish/v1/: the service root links no Systems "
                             "collection: nothing to enrol",
                             s->node);
    paths = xcalloc(RF_DISCOVER_MAX + 1, sizeof(*paths));
    if ((rc = rf_collection_links(s, spath, paths, RF_DISCOVER_MAX + 1, &n, em)) != UL_OK)
        goto out;
    res = json_object_new_object();
    json_object *systems = json_object_new_array();
    json_object *skipped = json_object_new_array();
    json_object *notes = json_object_new_array();
    json_object_object_add(res, "systems", systems);
    json_object_object_add(res, "skipped", skipped);
    json_object_object_add(res, "notes", notes);
    if (n > RF_DISCOVER_MAX) {
        char msg[RF_PATH_MAX + 96];
        snprintf(msg, sizeof(msg), "%s lists more than %d systems; the first %d were read",
                 spath, RF_DISCOVER_MAX, RF_DISCOVER_MAX);
        ul_warn("node %s: %s", s->node, msg);
        json_object_array_add(notes, json_object_new_string(msg));
        n = RF_DISCOVER_MAX;
    }
    for (size_t i = 0; i < n; i++) {
        ul_errmsg gem = {{0}};
        json_object_put(sys);
        sys = NULL;
        rc = rf_get(s, paths[i], &sys, NULL, &gem);
        if (rc == UL_ERR_INTERRUPTED || rc == UL_ERR_TIMEOUT) {
            ul_errmsg_set(em, rc, "%s", gem.text); /* the job's stop or deadline */
            goto out;
        }
        if (rc != UL_OK) {
            skip(skipped, paths[i], gem.text);
            rc = UL_OK;
            continue;
        }
        const char *type = rf_prop_str(sys, "@odata.type");
        if (type && (!strcasestr(type, "ComputerSystem.") ||
                     strcasestr(type, "ComputerSystemCollection"))) {
            char why[160];
            snprintf(why, sizeof(why), "a %.100s, not a ComputerSystem", type);
            skip(skipped, paths[i], why);
            continue;
        }
        char id[128], name[128] = "";
        system_id(sys, paths[i], id, sizeof(id));
        if (rf_prop_str(sys, "Name"))
            rf_copy_text(name, sizeof(name), rf_prop_str(sys, "Name"));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(id));
        json_object_object_add(o, "name", json_object_new_string(name));
        json_object_object_add(o, "path", json_object_new_string(paths[i]));
        json_object_array_add(systems, o);
    }
    json_object_object_add(res, "auth", json_object_new_string(rf_auth_name(s)));
    json_object_object_add(res, "auth_fallback", json_object_new_boolean(s->auth_fallback));
    if (s->auth_fallback)
        json_object_array_add(notes,
                              json_object_new_string("the service's login answered without an "
                                                     "X-Auth-Token: basic authentication is used "
                                                     "instead"));
    *out = res;
    res = NULL;
out:
    json_object_put(sys);
    json_object_put(res);
    free(paths);
    return rc;
}
