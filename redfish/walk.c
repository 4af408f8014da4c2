/* walk.c - following links through a Redfish service, defensively.
 *
 * Everything is found from the service root by links, never by guessed
 * paths, and services write links in many styles: absolute paths
 * ("/redfish/v1/Systems/1"), with a trailing slash and in lower case (HPE
 * iLO 5: "/redfish/v1/systems/1/"), as full URLs, or relative to the
 * resource that holds them.  Links are resolved to a path on the node's own
 * BMC (a link naming another host is never followed there), and compared by
 * a key that ignores letter case and trailing slashes.
 *
 * A broken or hostile service must not hang or crash us: walks are bounded
 * in members, pages and resources, and a visited set refuses loops (a
 * nextLink pointing back at a page already read, a member linking to its
 * own collection).
 */
#include "config.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "hash.h"
#include "log.h"
#include "redfish/redfish.h"
#include "xalloc.h"

/* ---- paths ---- */

static bool segment_is_dots(const char *seg, size_t len)
{
    if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
        return true;
    /* Percent-encoded dots reach the BMC's path handling decoded. */
    for (size_t i = 0; i + 2 < len; i++)
        if (seg[i] == '%' && seg[i + 1] == '2' && (seg[i + 2] == 'e' || seg[i + 2] == 'E'))
            return true;
    return false;
}

bool rf_link_resolve(const char *base, const char *ref, char *out, size_t outlen)
{
    char tmp[2 * RF_PATH_MAX];
    if (!ref || !*ref || outlen == 0)
        return false;
    const char *p = ref;
    const char *sep = strstr(ref, "://");
    if (sep && sep < ref + strcspn(ref, "/?#")) {
        /* A full URL: keep only its path, on our own BMC. */
        p = sep + 3;
        p += strcspn(p, "/?#");
        if (*p != '/')
            return false;
    }
    if (*p == '/') {
        if (strlen(p) >= sizeof(tmp))
            return false;
        snprintf(tmp, sizeof(tmp), "%s", p);
    } else {
        /* Relative: Redfish resources are directories of their members
         * (a collection's "1" means its member), so join, do not replace
         * the last segment as a browser would. */
        if (!base || *base != '/')
            return false;
        size_t blen = strcspn(base, "?#");
        while (blen > 1 && base[blen - 1] == '/')
            blen--;
        if (blen + 1 + strlen(p) >= sizeof(tmp))
            return false;
        snprintf(tmp, sizeof(tmp), "%.*s/%s", (int)blen, base, p);
    }
    tmp[strcspn(tmp, "#")] = '\0';
    /* Validate and collapse "//" in the path part. */
    size_t j = 0;
    bool in_query = false;
    for (size_t i = 0; tmp[i]; i++) {
        unsigned char c = (unsigned char)tmp[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\' || c == '"')
            return false;
        if (c == '?')
            in_query = true;
        if (!in_query && c == '/' && j > 0 && tmp[j - 1] == '/')
            continue;
        tmp[j++] = (char)c;
    }
    tmp[j] = '\0';
    /* No "." or ".." segments: a link must not climb out of /redfish. */
    size_t plen = strcspn(tmp, "?");
    for (size_t i = 0; i < plen;) {
        size_t k = i + 1;
        while (k < plen && tmp[k] != '/')
            k++;
        if (segment_is_dots(tmp + i + 1, k - i - 1))
            return false;
        i = k;
    }
    if (strncasecmp(tmp, "/redfish", 8) != 0 || (tmp[8] != '/' && tmp[8] != '\0' && tmp[8] != '?'))
        return false;
    if (j >= outlen)
        return false;
    memcpy(out, tmp, j + 1);
    return true;
}

void rf_path_key(const char *path, char *out, size_t outlen)
{
    size_t plen = strcspn(path, "?");
    size_t end = plen;
    while (end > 1 && path[end - 1] == '/')
        end--;
    size_t j = 0;
    for (size_t i = 0; i < end && j + 1 < outlen; i++)
        out[j++] = (char)tolower((unsigned char)path[i]);
    for (size_t i = plen; path[i] && j + 1 < outlen; i++)
        out[j++] = path[i]; /* the query (page tokens) is case-sensitive */
    out[j] = '\0';
}

bool rf_path_same(const char *a, const char *b)
{
    char ka[RF_PATH_MAX], kb[RF_PATH_MAX];
    if (!a || !b)
        return false;
    rf_path_key(a, ka, sizeof(ka));
    rf_path_key(b, kb, sizeof(kb));
    return strcmp(ka, kb) == 0;
}

/* Insert key (owned) into slots of size cap (a power of two); false when
 * present. */
static bool slot_put(char **slots, size_t cap, char *key)
{
    for (size_t i = (size_t)ul_hash_str(key) & (cap - 1);; i = (i + 1) & (cap - 1)) {
        if (!slots[i]) {
            slots[i] = key;
            return true;
        }
        if (strcmp(slots[i], key) == 0)
            return false;
    }
}

int rf_visited_add(struct rf_visited *v, const char *path)
{
    char key[RF_PATH_MAX];
    rf_path_key(path, key, sizeof(key));
    for (size_t i = v->cap ? (size_t)ul_hash_str(key) & (v->cap - 1) : 0; v->cap;
         i = (i + 1) & (v->cap - 1)) {
        if (!v->slots[i])
            break;
        if (strcmp(v->slots[i], key) == 0)
            return 0;
    }
    if (v->count >= RF_MAX_VISITED)
        return -1;
    if ((v->count + 1) * 10 > v->cap * 7) {
        /* Keep the load under 70%: grow and rehash. */
        size_t cap = v->cap ? v->cap * 2 : 64;
        char **slots = xcalloc(cap, sizeof(*slots));
        for (size_t i = 0; i < v->cap; i++)
            if (v->slots[i])
                slot_put(slots, cap, v->slots[i]);
        free(v->slots);
        v->slots = slots;
        v->cap = cap;
    }
    slot_put(v->slots, v->cap, xstrdup(key));
    v->count++;
    return 1;
}

void rf_visited_free(struct rf_visited *v)
{
    if (!v)
        return;
    for (size_t i = 0; i < v->cap; i++)
        free(v->slots[i]);
    free(v->slots);
    memset(v, 0, sizeof(*v));
}

/* ---- properties ---- */

json_object *rf_prop(json_object *obj, const char *name)
{
    json_object *v;
    if (!obj || !json_object_is_type(obj, json_type_object))
        return NULL;
    if (json_object_object_get_ex(obj, name, &v))
        return v;
    json_object_object_foreach(obj, key, val)
    {
        if (strcasecmp(key, name) == 0)
            return val;
    }
    return NULL;
}

const char *rf_prop_str(json_object *obj, const char *name)
{
    json_object *v = rf_prop(obj, name);
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

bool rf_json_num(json_object *v, double *out)
{
    if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
        return false;
    double d = json_object_get_double(v);
    if (!isfinite(d))
        return false;
    *out = d;
    return true;
}

bool rf_prop_num(json_object *obj, const char *name, double *out)
{
    return rf_json_num(rf_prop(obj, name), out);
}

const char *rf_link_of(json_object *link)
{
    return rf_prop_str(link, "@odata.id");
}

const char *rf_prop_link(json_object *obj, const char *name)
{
    return rf_link_of(rf_prop(obj, name));
}

void rf_copy_text(char *dst, size_t dstlen, const char *src)
{
    size_t j = 0;
    bool space = false;
    if (dstlen == 0)
        return;
    for (size_t i = 0; src && src[i] && j + 1 < dstlen; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = j > 0;
            continue;
        }
        if (space && j + 2 < dstlen)
            dst[j++] = ' ';
        space = false;
        dst[j++] = (c > 0x20 && c < 0x7f) ? (char)c : '?';
    }
    dst[j] = '\0';
}

/* ---- time ---- */

static bool digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

int64_t rf_time_parse(const char *s)
{
    int Y, M, D, h, m, sec;
    if (!s || strlen(s) < 19)
        return -1;
    if (!digits(s, 4, &Y) || s[4] != '-' || !digits(s + 5, 2, &M) || s[7] != '-' ||
        !digits(s + 8, 2, &D) || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        !digits(s + 11, 2, &h) || s[13] != ':' || !digits(s + 14, 2, &m) || s[16] != ':' ||
        !digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    if (*p == '.') {
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p))
            p++;
    }
    int offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!digits(p + 1, 2, &oh) || p[3] != ':' || !digits(p + 4, 2, &om) || oh > 23 || om > 59)
            return -1;
        offset = (oh * 60 + om) * 60 * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p != '\0') {
        return -1;
    } /* no zone at all: some BMCs omit it; read as UTC */
    if (*p != '\0')
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    int64_t t = (int64_t)timegm(&tm) - offset;
    return t < 0 ? 0 : t;
}

/* ---- collections ---- */

static ul_err bad_reply(struct rf_session *s, const char *path, const char *what, ul_errmsg *em)
{
    return ul_errmsg_set(em, UL_ERR_PROTOCOL, "node %s: GET %s: %s", s->node, path, what);
}

/* Read one page: its Members array (borrowed from *page) and the next
 * page's path ("" when none). */
static ul_err read_page(struct rf_session *s, const char *path, bool expand, json_object **page,
                        json_object **members, char next[RF_PATH_MAX], ul_errmsg *em)
{
    char req[RF_PATH_MAX + 32];
    next[0] = '\0';
    if (expand && s->expand)
        snprintf(req, sizeof(req), "%s%s$expand=.%s", path, strchr(path, '?') ? "&" : "?",
                 s->expand_levels ? "($levels=1)" : "");
    else
        snprintf(req, sizeof(req), "%s", path);
    ul_err rc = rf_get(s, req, page, NULL, em);
    if (rc != UL_OK && expand && s->expand && rc != UL_ERR_AUTH && rc != UL_ERR_TIMEOUT &&
        rc != UL_ERR_UNREACHABLE && rc != UL_ERR_BUSY) {
        /* The root claims $expand but this collection refuses it (some
         * services answer 400 or 501 QueryNotSupported): read it plainly,
         * and stop asking for the rest of the session. */
        ul_debug("node %s: GET %s: $expand refused; reading members one by one", s->node, req);
        s->expand = false;
        rc = rf_get(s, path, page, NULL, em);
    }
    if (rc != UL_OK)
        return rc;
    *members = rf_prop(*page, "Members");
    if (!*members)
        return bad_reply(s, path, "'Members' missing: not a collection", em);
    if (!json_object_is_type(*members, json_type_array))
        return bad_reply(s, path, "'Members' is not an array", em);
    const char *nl = rf_prop_str(*page, "Members@odata.nextLink");
    if (!nl)
        nl = rf_prop_str(*page, "@odata.nextLink");
    if (nl && !rf_link_resolve(path, nl, next, RF_PATH_MAX))
        return bad_reply(s, path, "'Members@odata.nextLink' is not a Redfish path", em);
    return UL_OK;
}

/* A member written out in full ($expand, or log entries that services
 * always list inline), as opposed to a bare link. */
static bool member_expanded(json_object *m)
{
    return json_object_object_length(m) > 1 &&
           (rf_prop(m, "Id") || rf_prop(m, "@odata.type") || rf_prop(m, "Name"));
}

ul_err rf_collection_walk(struct rf_session *s, const char *path, bool expand, size_t max,
                          struct rf_visited *visited, rf_member_fn fn, void *arg, ul_errmsg *em)
{
    struct rf_visited local = {0};
    struct rf_visited *v = visited ? visited : &local;
    char page_path[RF_PATH_MAX], next[RF_PATH_MAX];
    json_object *page = NULL, *obj = NULL;
    size_t seen = 0;
    ul_err rc = UL_OK;
    if (max == 0)
        max = RF_MAX_MEMBERS;
    snprintf(page_path, sizeof(page_path), "%s", path);
    for (int pages = 0; page_path[0]; pages++) {
        if (pages >= RF_MAX_PAGES) {
            ul_warn("node %s: %s: more than %d pages; reading the first %d", s->node, path,
                    RF_MAX_PAGES, RF_MAX_PAGES);
            break;
        }
        int added = rf_visited_add(v, page_path);
        if (added == 0 && pages > 0) {
            /* A broken pager (seen with static mockup servers, which ignore
             * $skiptoken): what was read counts, the rest cannot be had. */
            ul_warn("node %s: GET %s: Members@odata.nextLink loops back to a page already read; "
                    "stopped paging",
                    s->node, page_path);
            break;
        }
        if (added < 0) {
            rc = bad_reply(s, page_path, "too many resources in one operation (link loop?)", em);
            goto out;
        }
        json_object *members;
        rc = read_page(s, page_path, expand && pages == 0, &page, &members, next, em);
        if (rc != UL_OK)
            goto out;
        size_t n = json_object_array_length(members);
        for (size_t i = 0; i < n; i++) {
            if (seen >= max) {
                ul_warn("node %s: %s: more than %zu members; reading the first %zu", s->node, path,
                        max, max);
                goto out;
            }
            json_object *m = json_object_array_get_idx(members, i);
            const char *link = rf_link_of(m);
            char mpath[RF_PATH_MAX];
            if (!link) {
                rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                   "node %s: GET %s: Members[%zu] is not a link with @odata.id",
                                   s->node, page_path, i);
                goto out;
            }
            if (!rf_link_resolve(page_path, link, mpath, sizeof(mpath))) {
                rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                   "node %s: GET %s: Members[%zu] '%.100s' is not a Redfish path",
                                   s->node, page_path, i, link);
                goto out;
            }
            int fresh = rf_visited_add(v, mpath);
            if (fresh < 0) {
                rc =
                    bad_reply(s, page_path, "too many resources in one operation (link loop?)", em);
                goto out;
            }
            if (fresh == 0) {
                ul_debug("node %s: %s: member %s listed twice or loops; skipped", s->node,
                         page_path, mpath);
                continue;
            }
            seen++;
            if (member_expanded(m)) {
                rc = fn(s, m, mpath, arg, em);
            } else {
                rc = rf_get(s, mpath, &obj, NULL, em);
                if (rc == UL_ERR_UNSUPPORTED) {
                    /* A stale member link (404): the others still count. */
                    ul_debug("node %s: %s", s->node, em ? em->text : "member gone");
                    rc = UL_OK;
                    continue;
                }
                if (rc == UL_OK)
                    rc = fn(s, obj, mpath, arg, em);
                json_object_put(obj);
                obj = NULL;
            }
            if (rc != UL_OK)
                goto out;
        }
        json_object_put(page);
        page = NULL;
        snprintf(page_path, sizeof(page_path), "%s", next);
    }
out:
    json_object_put(page);
    json_object_put(obj);
    rf_visited_free(&local);
    return rc;
}

ul_err rf_collection_links(struct rf_session *s, const char *path, char (*paths)[RF_PATH_MAX],
                           size_t max, size_t *n, ul_errmsg *em)
{
    struct rf_visited v = {0};
    char page_path[RF_PATH_MAX], next[RF_PATH_MAX];
    json_object *page = NULL;
    ul_err rc = UL_OK;
    *n = 0;
    snprintf(page_path, sizeof(page_path), "%s", path);
    for (int pages = 0; page_path[0] && pages < RF_MAX_PAGES; pages++) {
        if (rf_visited_add(&v, page_path) != 1) {
            ul_warn("node %s: GET %s: Members@odata.nextLink loops back to a page already read; "
                    "stopped paging",
                    s->node, page_path);
            break;
        }
        json_object *members;
        rc = read_page(s, page_path, false, &page, &members, next, em);
        if (rc != UL_OK)
            goto out;
        for (size_t i = 0; i < json_object_array_length(members); i++) {
            const char *link = rf_link_of(json_object_array_get_idx(members, i));
            char mpath[RF_PATH_MAX];
            if (!link || !rf_link_resolve(page_path, link, mpath, sizeof(mpath))) {
                rc = ul_errmsg_set(em, UL_ERR_PROTOCOL,
                                   "node %s: GET %s: Members[%zu] is not a link to a Redfish path",
                                   s->node, page_path, i);
                goto out;
            }
            /* A member that is the collection itself (a hostile or broken
             * service) is a loop, not a member. */
            bool dup = rf_path_same(mpath, path) || rf_path_same(mpath, page_path);
            for (size_t k = 0; k < *n && !dup; k++)
                dup = rf_path_same(paths[k], mpath);
            if (dup)
                continue;
            if (*n >= max)
                goto out;
            snprintf(paths[(*n)++], RF_PATH_MAX, "%s", mpath);
        }
        json_object_put(page);
        page = NULL;
        snprintf(page_path, sizeof(page_path), "%s", next);
    }
out:
    json_object_put(page);
    rf_visited_free(&v);
    return rc;
}

/* ---- the node's system, chassis and managers ---- */

ul_err rf_system_get(struct rf_session *s, json_object **out, char *etag, ul_errmsg *em)
{
    return rf_get(s, s->system_path, out, etag, em);
}

/* True when obj's @odata.type names a ComputerSystem (or says nothing). */
static bool is_computer_system(json_object *obj, const char **type)
{
    *type = rf_prop_str(obj, "@odata.type");
    if (!*type)
        return rf_prop(obj, "Members") == NULL;
    return strcasestr(*type, "ComputerSystem.") != NULL &&
           strcasestr(*type, "ComputerSystemCollection") == NULL;
}

#define RF_MAX_SYSTEMS 64

ul_err rf_system_resolve(struct rf_session *s, const char *ep_path, ul_errmsg *em)
{
    char path[RF_PATH_MAX];
    json_object *obj = NULL;
    char(*paths)[RF_PATH_MAX] = NULL;
    ul_err rc = UL_OK;
    if (ep_path && *ep_path && strcmp(ep_path, "/") != 0) {
        if (!rf_link_resolve(NULL, ep_path, path, sizeof(path)))
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "node %s: endpoint path '%.200s' is not a Redfish resource path "
                                 "(expected like /redfish/v1/Systems/1)",
                                 s->node, ep_path);
        ul_errmsg gem = {{0}};
        if ((rc = rf_get(s, path, &obj, NULL, &gem)) != UL_OK) {
            if (rc == UL_ERR_UNSUPPORTED) /* 404: the operator's path is wrong */
                rc = ul_errmsg_set(em, UL_ERR_INVALID,
                                   "node %s: endpoint path %s: no such resource on the BMC",
                                   s->node, path);
            else
                ul_errmsg_set(em, rc, "%s", gem.text);
            goto out;
        }
        const char *type;
        if (!is_computer_system(obj, &type)) {
            rc = ul_errmsg_set(em, UL_ERR_INVALID,
                               "node %s: endpoint path %s is a %.80s, not a ComputerSystem "
                               "(expected like /redfish/v1/Systems/1)",
                               s->node, path, type ? type : "collection");
            goto out;
        }
        s->system_path = xstrdup(path);
        goto out;
    }
    const char *systems = rf_prop_link(s->root, "Systems");
    char spath[RF_PATH_MAX];
    if (!systems || !rf_link_resolve("/redfish/v1", systems, spath, sizeof(spath))) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: GET /redfish/v1/: the service root links no Systems "
                           "collection: not supported by this BMC",
                           s->node);
        goto out;
    }
    size_t n = 0;
    paths = xcalloc(RF_MAX_SYSTEMS, sizeof(*paths));
    if ((rc = rf_collection_links(s, spath, paths, RF_MAX_SYSTEMS, &n, em)) != UL_OK)
        goto out;
    if (n == 0) {
        rc = ul_errmsg_set(em, UL_ERR_UNSUPPORTED,
                           "node %s: GET %s: the service lists no ComputerSystem", s->node, spath);
        goto out;
    }
    if (n > 1) {
        char list[300] = "";
        size_t used = 0, shown = 0;
        for (size_t i = 0; i < n; i++) {
            int w = snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "", paths[i]);
            if (w < 0 || (size_t)w >= sizeof(list) - used) {
                list[used] = '\0';
                break;
            }
            used += (size_t)w;
            shown++;
        }
        rc = ul_errmsg_set(em, UL_ERR_INVALID,
                           "node %s: the service has %zu systems; enroll each as its own node "
                           "with its path in the endpoint (redfish://host/<path>): %s%s",
                           s->node, n, list, shown < n ? ", ..." : "");
        goto out;
    }
    s->system_path = xstrdup(paths[0]);
out:
    free(paths);
    json_object_put(obj);
    return rc;
}

/* Append the links of array arr (of link objects) to paths, deduplicated. */
static void add_links(json_object *arr, const char *base, char (*paths)[RF_PATH_MAX], size_t max,
                      size_t *n)
{
    if (!json_object_is_type(arr, json_type_array))
        return;
    for (size_t i = 0; i < json_object_array_length(arr) && *n < max; i++) {
        char p[RF_PATH_MAX];
        const char *l = rf_link_of(json_object_array_get_idx(arr, i));
        if (!l || !rf_link_resolve(base, l, p, sizeof(p)))
            continue;
        bool dup = false;
        for (size_t k = 0; k < *n && !dup; k++)
            dup = rf_path_same(paths[k], p);
        if (!dup)
            snprintf(paths[(*n)++], RF_PATH_MAX, "%s", p);
    }
}

static bool links_to(json_object *arr, const char *base, const char *target)
{
    if (!json_object_is_type(arr, json_type_array))
        return false;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        char p[RF_PATH_MAX];
        const char *l = rf_link_of(json_object_array_get_idx(arr, i));
        if (l && rf_link_resolve(base, l, p, sizeof(p)) && rf_path_same(p, target))
            return true;
    }
    return false;
}

#define RF_MAX_SCAN 32

/* Members of the root's collection name that belong to our system: the
 * only member, or those whose Links.<backlink> names the system. */
static ul_err collection_for_system(struct rf_session *s, const char *name,
                                    const char *backlink, char (*paths)[RF_PATH_MAX], size_t max,
                                    size_t *n, ul_errmsg *em)
{
    char cpath[RF_PATH_MAX];
    const char *l = rf_prop_link(s->root, name);
    char(*all)[RF_PATH_MAX] = NULL;
    size_t count = 0;
    ul_err rc = UL_OK;
    if (!l || !rf_link_resolve("/redfish/v1", l, cpath, sizeof(cpath)))
        return UL_OK;
    all = xcalloc(RF_MAX_SCAN, sizeof(*all));
    if ((rc = rf_collection_links(s, cpath, all, RF_MAX_SCAN, &count, em)) != UL_OK)
        goto out;
    if (count == 1) {
        snprintf(paths[(*n)++], RF_PATH_MAX, "%s", all[0]);
        goto out;
    }
    for (size_t i = 0; i < count && *n < max; i++) {
        json_object *o = NULL;
        if (rf_get(s, all[i], &o, NULL, em) != UL_OK)
            continue; /* one unreadable member does not hide the others */
        if (links_to(rf_prop(rf_prop(o, "Links"), backlink), all[i], s->system_path))
            snprintf(paths[(*n)++], RF_PATH_MAX, "%s", all[i]);
        json_object_put(o);
    }
out:
    free(all);
    return rc;
}

const char *rf_chassis_rule_name(enum rf_chassis_rule r)
{
    switch (r) {
    case RF_CHASSIS_SYSTEM_LINKS:
        return "system-links";
    case RF_CHASSIS_BACKLINK:
        return "chassis-links";
    case RF_CHASSIS_SAME_ID:
        return "same-id";
    case RF_CHASSIS_ONLY:
        return "only-chassis";
    case RF_CHASSIS_NONE:
        break;
    }
    return "none";
}

/* The Id of a chassis: its Id property, else its path's last segment. */
static void chassis_id(json_object *ch, const char *path, char *out, size_t outlen)
{
    const char *id = rf_prop_str(ch, "Id");
    if (!id) {
        const char *slash = strrchr(path, '/');
        id = slash ? slash + 1 : path;
    }
    snprintf(out, outlen, "%s", id);
}

enum rf_chassis_rule rf_chassis_match(const char *system_path, const char *system_id,
                                      json_object *const *chassis,
                                      const char (*paths)[RF_PATH_MAX], size_t n, bool *pick)
{
    size_t hits = 0;
    for (size_t i = 0; i < n; i++) {
        pick[i] = chassis[i] && links_to(rf_prop(rf_prop(chassis[i], "Links"), "ComputerSystems"),
                                         paths[i], system_path);
        hits += pick[i];
    }
    if (hits)
        return RF_CHASSIS_BACKLINK;
    for (size_t i = 0; i < n && system_id && *system_id; i++) {
        char id[RF_PATH_MAX];
        chassis_id(chassis[i], paths[i], id, sizeof(id));
        pick[i] = strcmp(id, system_id) == 0;
        hits += pick[i];
    }
    if (hits)
        return RF_CHASSIS_SAME_ID;
    if (n == 1) {
        pick[0] = true;
        return RF_CHASSIS_ONLY;
    }
    return RF_CHASSIS_NONE;
}

/* A system without Links.Chassis (seen on multi-node services that list
 * the link only one way): read the Chassis collection's members (at most
 * RF_MAX_SCAN) and let rf_chassis_match pick.  The only chassis is read too,
 * so the rule reported is the one that really matched. */
static ul_err chassis_for_system(struct rf_session *s, json_object *system,
                                 char (*paths)[RF_PATH_MAX], size_t max, size_t *n,
                                 enum rf_chassis_rule *rule, ul_errmsg *em)
{
    char cpath[RF_PATH_MAX];
    const char *l = rf_prop_link(s->root, "Chassis");
    char(*all)[RF_PATH_MAX] = NULL;
    json_object *objs[RF_MAX_SCAN] = {0};
    bool pick[RF_MAX_SCAN] = {0};
    size_t count = 0;
    ul_err rc = UL_OK;
    *rule = RF_CHASSIS_NONE;
    if (!l || !rf_link_resolve("/redfish/v1", l, cpath, sizeof(cpath)))
        return UL_OK;
    all = xcalloc(RF_MAX_SCAN, sizeof(*all));
    if ((rc = rf_collection_links(s, cpath, all, RF_MAX_SCAN, &count, em)) != UL_OK)
        goto out;
    for (size_t i = 0; i < count; i++) {
        ul_errmsg gem = {{0}};
        ul_err grc = rf_get(s, all[i], &objs[i], NULL, &gem);
        if (grc == UL_ERR_INTERRUPTED || grc == UL_ERR_TIMEOUT) {
            rc = ul_errmsg_set(em, grc, "%s", gem.text); /* the job's stop or deadline */
            goto out;
        }
        if (grc != UL_OK) {
            json_object_put(objs[i]);
            objs[i] = NULL; /* one unreadable member does not hide the others */
            ul_debug("%s", gem.text);
        }
    }
    *rule = rf_chassis_match(s->system_path, rf_prop_str(system, "Id"), objs,
                             (const char(*)[RF_PATH_MAX])all, count, pick);
    for (size_t i = 0; i < count && *n < max; i++)
        if (pick[i])
            snprintf(paths[(*n)++], RF_PATH_MAX, "%s", all[i]);
out:
    for (size_t i = 0; i < count; i++)
        json_object_put(objs[i]);
    free(all);
    return rc;
}

ul_err rf_system_chassis(struct rf_session *s, json_object *system, char (*paths)[RF_PATH_MAX],
                         size_t max, size_t *n, ul_errmsg *em)
{
    enum rf_chassis_rule rule = RF_CHASSIS_SYSTEM_LINKS;
    ul_err rc = UL_OK;
    *n = 0;
    add_links(rf_prop(rf_prop(system, "Links"), "Chassis"), s->system_path, paths, max, n);
    if (*n == 0)
        rc = chassis_for_system(s, system, paths, max, n, &rule, em);
    if (rc == UL_OK) {
        const char *name = rf_chassis_rule_name(rule);
        if (s->chassis_rule != name && rule != RF_CHASSIS_SYSTEM_LINKS)
            ul_info("node %s: system %s carries no Links.Chassis; chassis found by rule %s (%zu)",
                    s->node, s->system_path, name, *n);
        s->chassis_rule = name;
    }
    return rc;
}

ul_err rf_system_managers(struct rf_session *s, json_object *system, char (*paths)[RF_PATH_MAX],
                          size_t max, size_t *n, ul_errmsg *em)
{
    *n = 0;
    add_links(rf_prop(rf_prop(system, "Links"), "ManagedBy"), s->system_path, paths, max, n);
    if (*n == 0)
        return collection_for_system(s, "Managers", "ManagerForServers", paths, max, n, em);
    return UL_OK;
}
