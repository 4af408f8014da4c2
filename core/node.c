#include "config.h"

#include "node.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "xalloc.h"

const char *const node_states[] = {"enrolled",     "ready",    "maintenance",
                                   "provisioning", "deployed", "retired",
                                   NULL};

struct ul_node *node_new(void)
{
    struct ul_node *n = xcalloc(1, sizeof(*n));
    n->labels = json_object_new_object();
    n->options = json_object_new_object();
    return n;
}

void node_free(struct ul_node *n)
{
    if (!n)
        return;
    if (n->password) {
        sodium_memzero(n->password, strlen(n->password));
        free(n->password);
    }
    free(n->name);
    free(n->endpoint);
    free(n->driver);
    free(n->username);
    free(n->state);
    free(n->maintenance_from);
    json_object_put(n->labels);
    json_object_put(n->options);
    free(n);
}

bool node_name_valid(const char *name)
{
    size_t len = name ? strlen(name) : 0;
    if (len == 0 || len > NODE_NAME_MAX || !isalnum((unsigned char)name[0]))
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return true;
}

bool node_state_valid(const char *state)
{
    for (int i = 0; state && node_states[i]; i++)
        if (strcmp(state, node_states[i]) == 0)
            return true;
    return false;
}

enum { ST_ENROLLED, ST_READY, ST_MAINTENANCE, ST_PROVISIONING, ST_DEPLOYED, ST_RETIRED, ST__COUNT };

#define BIT(s) (1u << (s))

/* Where each state may go (bits of node_states indices).  Maintenance is
 * resolved separately: it returns to where it came from. */
static const unsigned transitions[ST__COUNT] = {
    [ST_ENROLLED] = BIT(ST_READY) | BIT(ST_MAINTENANCE) | BIT(ST_RETIRED),
    [ST_READY] = BIT(ST_PROVISIONING) | BIT(ST_MAINTENANCE) | BIT(ST_RETIRED),
    [ST_MAINTENANCE] = BIT(ST_READY) | BIT(ST_RETIRED),
    [ST_PROVISIONING] = BIT(ST_DEPLOYED) | BIT(ST_READY) | BIT(ST_MAINTENANCE),
    [ST_DEPLOYED] = BIT(ST_READY) | BIT(ST_MAINTENANCE) | BIT(ST_RETIRED),
    [ST_RETIRED] = BIT(ST_ENROLLED),
};

static int state_index(const char *state)
{
    for (int i = 0; state && node_states[i]; i++)
        if (strcmp(state, node_states[i]) == 0)
            return i;
    return -1;
}

static unsigned allowed_from(int from, const char *maintenance_from)
{
    unsigned a = transitions[from];
    if (from == ST_MAINTENANCE) {
        int origin = state_index(maintenance_from);
        if (origin >= 0 && origin != ST_MAINTENANCE)
            a |= BIT(origin);
        else /* origin unknown: whatever it plausibly was, but not mid-provisioning */
            a |= BIT(ST_ENROLLED) | BIT(ST_DEPLOYED);
    }
    return a;
}

bool node_state_transition_ok(const char *from, const char *maintenance_from, const char *to)
{
    int f = state_index(from), t = state_index(to);
    if (f < 0 || t < 0)
        return false;
    return f == t || (allowed_from(f, maintenance_from) & BIT(t)) != 0;
}

void node_state_allowed_text(const char *from, const char *maintenance_from, char *buf,
                             size_t len)
{
    int f = state_index(from);
    unsigned a = f < 0 ? 0 : allowed_from(f, maintenance_from);
    int total = 0, done = 0;
    for (int i = 0; i < ST__COUNT; i++)
        total += (a & BIT(i)) != 0;
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ST__COUNT && used < len; i++) {
        if (!(a & BIT(i)))
            continue;
        const char *sep = done == 0 ? "" : done == total - 1 ? " or " : ", ";
        int w = snprintf(buf + used, len - used, "%s%s", sep, node_states[i]);
        if (w < 0)
            break;
        used += (size_t)w;
        done++;
    }
    if (total == 0)
        snprintf(buf, len, "none");
}

ul_err node_state_change(struct ul_node *n, const char *to, ul_errmsg *em)
{
    if (!node_state_valid(to))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'state': '%.32s' is not one of enrolled, ready, maintenance, "
                             "provisioning, deployed, retired",
                             to ? to : "");
    /* A stored state outside the table (a database edited by hand) may be
     * repaired to any state. */
    if (state_index(n->state) >= 0 && !node_state_transition_ok(n->state, n->maintenance_from, to)) {
        char allowed[128];
        node_state_allowed_text(n->state, n->maintenance_from, allowed, sizeof(allowed));
        return ul_errmsg_set(em, UL_ERR_CONFLICT,
                             "node %s: cannot go from %s to %s; from %s it may go to %s",
                             n->name ? n->name : "?", n->state, to, n->state, allowed);
    }
    if (n->state && strcmp(n->state, to) == 0)
        return UL_OK;
    if (strcmp(to, "maintenance") == 0) {
        free(n->maintenance_from);
        n->maintenance_from = xstrdup(n->state);
    } else {
        free(n->maintenance_from);
        n->maintenance_from = NULL;
    }
    free(n->state);
    n->state = xstrdup(to);
    return UL_OK;
}

bool node_state_automatable(const char *state)
{
    int i = state_index(state);
    return i >= 0 && i != ST_MAINTENANCE && i != ST_RETIRED;
}

static bool label_key_valid(const char *k)
{
    size_t len = strlen(k);
    if (len == 0 || len > NODE_LABEL_KEY_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)k[i];
        if (!isalnum(c) && !strchr("._/-", c))
            return false;
    }
    return true;
}

ul_err node_labels_check(json_object *labels, ul_errmsg *em)
{
    if (!json_object_is_type(labels, json_type_object))
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'labels': must be an object of strings");
    if (json_object_object_length(labels) > NODE_MAX_LABELS)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'labels': more than %d labels",
                             NODE_MAX_LABELS);
    json_object_object_foreach(labels, k, v)
    {
        if (!label_key_valid(k))
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'labels': key '%.64s' must be 1-%d characters of "
                                 "letters, digits and ._/-",
                                 k, NODE_LABEL_KEY_MAX);
        if (!json_object_is_type(v, json_type_string))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'labels.%s': must be a string", k);
        if (json_object_get_string_len(v) > NODE_LABEL_VALUE_MAX)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'labels.%s': longer than %d characters", k,
                                 NODE_LABEL_VALUE_MAX);
    }
    return UL_OK;
}

static bool host_valid(const char *h)
{
    size_t len = strlen(h);
    if (len == 0 || len > 253)
        return false;
    size_t label = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)h[i];
        if (c == '.') {
            if (label == 0)
                return false;
            label = 0;
            continue;
        }
        if (!isalnum(c) && c != '-' && c != '_')
            return false;
        if (++label > 63)
            return false;
    }
    return true;
}

ul_err node_endpoint_parse(const char *uri, struct ul_endpoint *ep, ul_errmsg *em)
{
    memset(ep, 0, sizeof(*ep));
    if (!uri || !*uri)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'endpoint': empty URI");
    if (strlen(uri) > 512)
        return ul_errmsg_set(em, UL_ERR_INVALID, "field 'endpoint': URI longer than 512 bytes");
    const char *sep = strstr(uri, "://");
    if (!sep || sep == uri || (size_t)(sep - uri) >= sizeof(ep->scheme))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'endpoint': '%s' is not a URI like ipmi://host:623 or "
                             "https://host",
                             uri);
    for (const char *p = uri; p < sep; p++) {
        if (!isalpha((unsigned char)*p) && !(p > uri && (isdigit((unsigned char)*p) || *p == '+')))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'endpoint': bad scheme in '%s'",
                                 uri);
        ep->scheme[p - uri] = (char)tolower((unsigned char)*p);
    }
    const char *h = sep + 3;
    const char *at = strchr(h, '@');
    if (at && at < h + strcspn(h, "/?#"))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'endpoint': credentials do not belong in the URI; use "
                             "'username' and 'password'");
    const char *hend;
    if (*h == '[') {
        hend = strchr(h, ']');
        if (!hend || (size_t)(hend - h - 1) >= sizeof(ep->host) || hend == h + 1)
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'endpoint': bad IPv6 literal in '%s'",
                                 uri);
        memcpy(ep->host, h + 1, (size_t)(hend - h - 1));
        struct in6_addr a6;
        if (inet_pton(AF_INET6, ep->host, &a6) != 1)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'endpoint': bad IPv6 literal in '%s'", uri);
        hend++;
    } else {
        hend = h + strcspn(h, ":/?#");
        if ((size_t)(hend - h) >= sizeof(ep->host))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'endpoint': host name too long");
        memcpy(ep->host, h, (size_t)(hend - h));
        if (!host_valid(ep->host))
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'endpoint': '%s' is not a valid host name or address",
                                 ep->host);
    }
    const char *p = hend;
    if (*p == ':') {
        p++;
        long port = 0;
        int digits = 0;
        while (isdigit((unsigned char)*p) && digits < 6) {
            port = port * 10 + (*p - '0');
            p++;
            digits++;
        }
        if (digits == 0 || port < 1 || port > 65535)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "field 'endpoint': port must be a number from 1 to 65535");
        ep->port = (int)port;
    }
    if (*p == '/') {
        size_t plen = strcspn(p, "?#");
        if (plen >= sizeof(ep->path))
            return ul_errmsg_set(em, UL_ERR_INVALID, "field 'endpoint': path too long");
        memcpy(ep->path, p, plen);
        p += plen;
    }
    if (*p != '\0')
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "field 'endpoint': unexpected '%s' after host and port", p);
    return UL_OK;
}
