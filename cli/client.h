/* client.h - HTTP client for the underlayd REST API (docs/openapi.yaml).
 *
 * One libcurl easy handle per client, reused for every request so that the
 * hundreds of requests of a hostlist fan-out share one kept-alive connection.
 * Every call blocks until the reply arrives or a timeout fires (connect 5 s,
 * whole request 60 s).  Not thread-safe.  The token is sent only to /api/
 * paths and never appears in a message.
 */
#ifndef UL_CLI_CLIENT_H
#define UL_CLI_CLIENT_H

#include <json-c/json.h>
#include <stdbool.h>
#include <stddef.h>

#include "ul_error.h"

enum cl_status {
    CL_OK = 0,          /* 2xx reply */
    CL_API_ERROR,       /* the server answered with an error, or an unreadable reply */
    CL_TRANSPORT_ERROR, /* no reply: connection refused, timeout, TLS failure ... */
};

struct cl_reply {
    long http_status;  /* 0 when no reply arrived */
    json_object *body; /* owned; NULL for an empty body (204) */
    char code[64];     /* on error: the API's error code, or a client code
                        * ("connection_error", "bad_reply", "http_error") */
    char message[512]; /* on error: text for an operator */
};

struct cl_client;

/* Call once before any client exists / after the last one is freed.  Makes
 * libcurl allocate through xalloc.h, so that running out of memory ends the
 * process in the one place it does for the rest of the program. */
int cl_global_init(void);
void cl_global_cleanup(void);

/* A client for base_url (http:// or https://, optionally with a path prefix;
 * credentials in the URL are refused).  token may be NULL; both are copied.
 * Returns NULL with em set when the URL or token is unusable. */
struct cl_client *cl_new(const char *base_url, const char *token, ul_errmsg *em);
void cl_free(struct cl_client *c);
/* The base URL (no trailing slash) and the "Authorization: Bearer ..."
 * header line (secret; NULL without a token), borrowed: for a connection
 * this client does not make itself (the console's WebSocket). */
const char *cl_base_url(const struct cl_client *c);
const char *cl_auth_header(const struct cl_client *c);

/* Where the token came from ("--token-file /x", "UNDERLAY_TOKEN", ...), or
 * without a token why none was sent; copied.  Error replies 401 and 403
 * name it with the server, so a refused token can be traced to its source. */
void cl_set_token_source(struct cl_client *c, const char *source);

/* Send method to path (starting with '/', already escaped; see cl_escape)
 * with body as JSON when non-NULL.  *reply is overwritten; release it with
 * cl_reply_clear() whatever the status. */
enum cl_status cl_request(struct cl_client *c, const char *method, const char *path,
                          json_object *body, struct cl_reply *reply);
void cl_reply_clear(struct cl_reply *reply);

/* GET path for a body that is not JSON (a graph's PNG), sending accept as
 * the Accept header.  On a 2xx reply *data (caller frees; never NULL then,
 * possibly empty) and *len receive the body as it came, unchecked, and
 * reply->http_status is set.  On an error reply, the API's JSON error is
 * read into *reply as cl_request does, and *data stays NULL.  Release
 * *reply with cl_reply_clear() whatever the status. */
enum cl_status cl_get_bytes(struct cl_client *c, const char *path, const char *accept,
                            unsigned char **data, size_t *len, struct cl_reply *reply);

/* POST the file's bytes as application/octet-stream to path (streamed from
 * disk, no overall time limit), reading the JSON reply as cl_request does.
 * A file that cannot be read is a CL_TRANSPORT_ERROR with reply set. */
enum cl_status cl_post_file(struct cl_client *c, const char *path, const char *file,
                            struct cl_reply *reply);

/* After a filter on node name matched nothing: when no node has that name,
 * the server's "not found" message (with the close names, as for any 404
 * about a node) goes to msg and true is returned; false when the node
 * exists or the check itself failed.  One GET. */
bool cl_node_unknown(struct cl_client *c, const char *name, char *msg, size_t msglen);

/* s percent-encoded for one path segment or query value; caller frees.
 * s must be shorter than 8 MB (libcurl's limit); callers pass argv strings,
 * which the kernel caps at 128 KiB. */
char *cl_escape(struct cl_client *c, const char *s);

/* Append "key=value" to the query string of *path (value escaped), adding
 * '?' or '&' as needed.  *path is reallocated. */
void cl_query_add(struct cl_client *c, char **path, const char *key, const char *value);

/* GET a paginated list (path may carry filters) from offset on, following
 * pages until max items (0: all) or the end.  *out becomes a new object
 * {"items":[...],"total":N,"limit":L,"offset":O} like one API page, where
 * total is the server's count from the last page.  On error *out is NULL
 * and *err holds the failed reply (caller clears it). */
enum cl_status cl_list(struct cl_client *c, const char *path, long long offset, long long max,
                       json_object **out, struct cl_reply *err);

#endif
