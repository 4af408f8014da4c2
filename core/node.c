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
