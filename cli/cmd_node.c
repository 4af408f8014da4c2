/* cmd_node.c - node add, list, show, set, rm. */
#include "config.h"

#include <getopt.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "fanout.h"
#include "jobwait.h"
#include "output.h"
#include "xalloc.h"

static const char add_usage[] =
    "Usage: underlay node add HOSTLIST --endpoint URI [OPTIONS]\n"
    "\n"
    "Enrol one node per host of HOSTLIST (pdsh-style: rack1-n[01-40,45]).\n"
    "\n"
    "  --endpoint URI       BMC address, required; {name} is replaced by each host\n"
    "                       name, as in ipmi://{name}-bmc:623\n"
    "  --driver D           ipmi, redfish or fake (default: from the endpoint's scheme)\n"
    "  --user U             BMC user name\n"
    "  --password-file F    read the BMC password from file F\n"
    "  --password-env VAR   take the BMC password from environment variable VAR\n"
    "  --label K=V          set a label (repeatable)\n"
    "  --option K=V         set a driver option (repeatable); integers and true/false\n"
    "                       are sent as JSON numbers and booleans\n"
    "  --state S            enrolled, ready, maintenance, provisioning, deployed or\n"
    "                       retired\n"
    "  --discover           HOSTLIST is one name prefix and the endpoint one service\n"
    "                       without a path (redfish://host): enrol one node per system\n"
    "                       it manages (a blade enclosure), each with the system's path\n"
    "                       in its endpoint; waits for the discovery job and lists the\n"
    "                       nodes created and those skipped, with why\n"
    "  --name-template T    with --discover: the names, from {prefix}, {id} (the\n"
    "                       system's Id) and {index} (1, 2, ...); default {prefix}-{id}\n";

static const char set_usage[] =
    "Usage: underlay node set HOSTLIST [OPTIONS]\n"
    "\n"
    "Change every node of HOSTLIST; only the fields given change.\n"
    "\n"
    "  --endpoint URI       BMC address; {name} is replaced by each host name\n"
    "  --driver D           ipmi, redfish or fake\n"
    "  --user U             BMC user name\n"
    "  --password-file F    read the BMC password from file F\n"
    "  --password-env VAR   take the BMC password from environment variable VAR\n"
    "  --label K=V          set a label, keeping the others (repeatable)\n"
    "  --unlabel K          remove a label (repeatable)\n"
    "  --option K=V         set a driver option, keeping the others (repeatable)\n"
    "  --state S            enrolled, ready, maintenance, provisioning, deployed or\n"
    "                       retired\n";

static const char list_usage[] =
    "Usage: underlay node list [OPTIONS]\n"
    "\n"
    "List nodes.  Without --limit every page is fetched.\n"
    "\n"
    "  --name GLOB      names matching GLOB, e.g. 'rack1-*'\n"
    "  --label K=V      nodes with this label (repeatable; all must match)\n"
    "  --state S        nodes in state S\n"
    "  --driver D       nodes using driver D\n"
    "  --limit N        at most N nodes\n"
    "  --offset N       skip the first N nodes\n";

static const char show_usage[] = "Usage: underlay node show NAME\n\nShow one node.\n";

static const char rm_usage[] =
    "Usage: underlay node rm HOSTLIST\n"
    "\n"
    "Delete every node of HOSTLIST.  A node with queued or running jobs is refused.\n";

static const char *const node_headers[] = {"NAME", "DRIVER", "ENDPOINT", "STATE", "LABELS"};

static void node_row(struct out_table *t, const char *name, json_object *node)
{
    char *driver = out_field(node, "driver");
    char *endpoint = out_field(node, "endpoint");
    char *state = out_field(node, "state");
    json_object *labels = NULL;
    json_object_object_get_ex(node, "labels", &labels);
    char *lab = out_pairs(labels);
    const char *row[] = {name, driver, endpoint, state, lab};
    out_table_add(t, row);
    free(driver);
    free(endpoint);
    free(state);
    free(lab);
}

/* The successful results of f as a node table. */
static void print_result_nodes(const struct fo *f)
{
    struct out_table *t = out_table_new(5, node_headers);
    size_t n = json_object_array_length(f->items);
    for (size_t i = 0; i < n; i++) {
        json_object *r = json_object_array_get_idx(f->items, i), *node = NULL, *name = NULL;
        if (!json_object_object_get_ex(r, "result", &node))
            continue;
        json_object_object_get_ex(r, "node", &name);
        node_row(t, json_object_get_string(name), node);
    }
    if (f->ok)
        out_table_print(t, stdout);
    out_table_free(t);
}

static char *node_path(struct cl_client *c, const char *name)
{
    char *esc = cl_escape(c, name);
    char *p = xasprintf("/api/v1/nodes/%s", esc);
    free(esc);
    return p;
}

/* template with every "{name}" replaced by name; newly allocated. */
static char *subst_name(const char *template, const char *name)
{
    char *acc = xstrdup("");
    const char *p = template, *hit;
    while ((hit = strstr(p, "{name}"))) {
        char *next = xasprintf("%s%.*s%s", acc, (int)(hit - p), p, name);
        free(acc);
        acc = next;
        p = hit + 6;
    }
    char *out = xasprintf("%s%s", acc, p);
    free(acc);
    return out;
}

/* The options shared by add and set, as given. */
struct node_edit {
    const char *endpoint, *driver, *user, *state;
    char *password;       /* owned, secret */
    json_object *labels;  /* owned; for set, removed labels map to JSON null */
    json_object *options; /* owned */
    const char *hostlist;
    bool discover;              /* add --discover */
    const char *name_template;  /* add --name-template */
};

static void edit_free(struct node_edit *e)
{
    settings_secret_free(e->password);
    json_object_put(e->labels);
    json_object_put(e->options);
}

/* Parse add's or set's arguments into e.  Returns -1 to exit with the code
 * in *rc (help printed, or a usage error), 0 to go on. */
static int parse_edit(int argc, char **argv, bool is_set, struct node_edit *e, int *rc)
{
    enum {
        O_ENDPOINT = 256,
        O_DRIVER,
        O_USER,
        O_PWFILE,
        O_PWENV,
        O_LABEL,
        O_UNLABEL,
        O_OPTION,
        O_STATE,
        O_DISCOVER,
        O_TEMPLATE
    };
    /* set takes them all; add every one but the first. */
    static const struct option opts[] = {
        {"unlabel", required_argument, NULL, O_UNLABEL},
        {"endpoint", required_argument, NULL, O_ENDPOINT},
        {"driver", required_argument, NULL, O_DRIVER},
        {"user", required_argument, NULL, O_USER},
        {"password-file", required_argument, NULL, O_PWFILE},
        {"password-env", required_argument, NULL, O_PWENV},
        {"label", required_argument, NULL, O_LABEL},
        {"option", required_argument, NULL, O_OPTION},
        {"state", required_argument, NULL, O_STATE},
        {"discover", no_argument, NULL, O_DISCOVER},
        {"name-template", required_argument, NULL, O_TEMPLATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *pw_file = NULL, *pw_env = NULL;
    char **unlabel = xcalloc((size_t)argc, sizeof(char *));
    size_t nunlabel = 0;
    int ch, ret = -1;

    memset(e, 0, sizeof(*e));
    e->labels = json_object_new_object();
    e->options = json_object_new_object();
    *rc = CLI_EXIT_USAGE;
    while ((ch = args_getopt(argc, argv, "h", is_set ? opts : opts + 1)) != -1) {
        switch (ch) {
        case O_ENDPOINT:
            e->endpoint = optarg;
            break;
        case O_DRIVER:
            e->driver = optarg;
            break;
        case O_USER:
            e->user = optarg;
            break;
        case O_PWFILE:
            pw_file = optarg;
            break;
        case O_PWENV:
            pw_env = optarg;
            break;
        case O_LABEL:
            if (args_label(cmd, "--label", optarg, e->labels) != 0)
                goto out;
            break;
        case O_UNLABEL:
            if (!*optarg || strchr(optarg, '=')) {
                args_usage(cmd, "--unlabel: expected a label key, not '%s'", optarg);
                goto out;
            }
            unlabel[nunlabel++] = optarg;
            break;
        case O_OPTION:
            if (args_option(cmd, optarg, e->options) != 0)
                goto out;
            break;
        case O_STATE:
            if (args_node_state(cmd, optarg) != 0)
                goto out;
            e->state = optarg;
            break;
        case O_DISCOVER:
        case O_TEMPLATE:
            if (is_set) {
                args_usage(cmd, "--%s is for node add only",
                           ch == O_DISCOVER ? "discover" : "name-template");
                goto out;
            }
            if (ch == O_DISCOVER)
                e->discover = true;
            else
                e->name_template = optarg;
            break;
        case 'h':
            fputs(is_set ? set_usage : add_usage, stdout);
            *rc = CLI_EXIT_OK;
            goto out;
        default:
            args_try_help(cmd);
            goto out;
        }
    }
    if (argc - optind < 1) {
        args_usage(cmd, "missing HOSTLIST");
        goto out;
    }
    if (argc - optind > 1) {
        args_usage(cmd, "expected one HOSTLIST, got %d arguments (quote it?)", argc - optind);
        goto out;
    }
    e->hostlist = argv[optind];
    for (size_t i = 0; i < nunlabel; i++) {
        json_object *v;
        if (json_object_object_get_ex(e->labels, unlabel[i], &v) && v) {
            args_usage(cmd, "label '%s' is both set and removed", unlabel[i]);
            goto out;
        }
        json_object_object_add(e->labels, unlabel[i], NULL);
    }
    if (!is_set && !e->endpoint) {
        args_usage(cmd, "--endpoint is required");
        goto out;
    }
    if (e->name_template && !e->discover) {
        args_usage(cmd, "--name-template needs --discover");
        goto out;
    }
    if (args_password(cmd, pw_file, pw_env, &e->password) != 0)
        goto out;
    if (is_set && !e->endpoint && !e->driver && !e->user && !e->password && !e->state &&
        json_object_object_length(e->labels) == 0 && json_object_object_length(e->options) == 0) {
        args_usage(cmd, "nothing to change: give at least one option");
        goto out;
    }
    ret = 0;
out:
    free(unlabel);
    if (ret != 0)
        edit_free(e);
    return ret;
}

/* The request body for host: "name" for add, and options merged over
 * current (the node's options as read, NULL for add) so that a set keeps
 * the options it does not name. */
static json_object *edit_body(const struct node_edit *e, const char *host, bool is_add,
                              json_object *current)
{
    json_object *b = json_object_new_object();
    if (is_add)
        json_object_object_add(b, "name", json_object_new_string(host));
    if (e->endpoint) {
        char *ep = subst_name(e->endpoint, host);
        json_object_object_add(b, "endpoint", json_object_new_string(ep));
        free(ep);
    }
    if (e->driver)
        json_object_object_add(b, "driver", json_object_new_string(e->driver));
    if (e->user)
        json_object_object_add(b, "username", json_object_new_string(e->user));
    if (e->password)
        json_object_object_add(b, "password", json_object_new_string(e->password));
    if (e->state)
        json_object_object_add(b, "state", json_object_new_string(e->state));
    if (json_object_object_length(e->labels) > 0)
        json_object_object_add(b, "labels", json_object_get(e->labels));
    if (json_object_object_length(e->options) > 0) {
        json_object *opts = json_object_new_object();
        if (current && json_object_is_type(current, json_type_object)) {
            json_object_object_foreach(current, ck, cv)
                json_object_object_add(opts, ck, json_object_get(cv));
        }
        json_object_object_foreach(e->options, nk, nv)
            json_object_object_add(opts, nk, json_object_get(nv));
        json_object_object_add(b, "options", opts);
    }
    return b;
}

/* Apply e to one host: POST for add; for set, PATCH, preceded by a GET when
 * options change, since the API replaces "options" whole (only "labels" is
 * merged key by key).  Returns false when the server could not be reached. */
static bool edit_one(struct cl_client *c, const struct node_edit *e, const char *host, bool is_add,
                     struct fo *f)
{
    struct cl_reply cur = {0}, r = {0};
    json_object *current = NULL, *body = NULL;
    char *path = NULL;
    enum cl_status st;

    if (is_add) {
        body = edit_body(e, host, true, NULL);
        st = cl_request(c, "POST", "/api/v1/nodes", body, &r);
    } else {
        path = node_path(c, host);
        if (json_object_object_length(e->options) > 0) {
            st = cl_request(c, "GET", path, NULL, &cur);
            if (st != CL_OK) {
                fo_fail_reply(f, fo_node(host), &cur);
                goto out;
            }
            json_object_object_get_ex(cur.body, "options", &current);
        }
        body = edit_body(e, host, false, current);
        st = cl_request(c, "PATCH", path, body, &r);
    }
    if (st == CL_OK)
        fo_ok(f, fo_node(host), "result", json_object_get(r.body));
    else
        fo_fail_reply(f, fo_node(host), &r);
out:
    cl_reply_clear(&cur);
    cl_reply_clear(&r);
    json_object_put(body);
    free(path);
    return st != CL_TRANSPORT_ERROR;
}

/* After a connection error at hl->hosts[failed]: record every later host as
 * not attempted. */
static void skip_rest(struct fo *f, const hostlist *hl, size_t failed)
{
    if (failed >= hl->count)
        return;
    for (size_t j = failed + 1; j < hl->count; j++)
        fo_skip(f, fo_node(hl->hosts[j]));
    fo_stopped(f->op, hl->count - failed - 1);
}

static const char *const discover_headers[] = {"NAME", "ENDPOINT", "SYSTEM", "RESULT"};

/* Print a discovery's result: a row per node created or skipped, the
 * service's notes on stderr.  Returns the exit code. */
static int discover_report(json_object *job, enum out_format format)
{
    json_object *res = NULL, *created = NULL, *skipped = NULL, *notes = NULL;
    json_object_object_get_ex(job, "result", &res);
    json_object_object_get_ex(res, "created", &created);
    json_object_object_get_ex(res, "skipped", &skipped);
    json_object_object_get_ex(res, "notes", &notes);
    size_t nc = json_object_is_type(created, json_type_array) ? json_object_array_length(created)
                                                               : 0;
    size_t ns = json_object_is_type(skipped, json_type_array) ? json_object_array_length(skipped)
                                                               : 0;
    if (format == OUT_JSON) {
        out_json(res);
    } else {
        struct out_table *t = out_table_new(4, discover_headers);
        for (size_t i = 0; i < nc; i++) {
            json_object *o = json_object_array_get_idx(created, i);
            char *c[3] = {out_field(o, "name"), out_field(o, "endpoint"),
                          out_field(o, "system_id")};
            const char *row[] = {c[0], c[1], c[2], "created"};
            out_table_add(t, row);
            for (int k = 0; k < 3; k++)
                free(c[k]);
        }
        for (size_t i = 0; i < ns; i++) {
            json_object *o = json_object_array_get_idx(skipped, i);
            char *c[3] = {out_field(o, "name"), out_field(o, "path"), out_field(o, "reason")};
            char *why = xasprintf("skipped: %s", c[2]);
            const char *row[] = {c[0], "-", c[1], why};
            out_table_add(t, row);
            free(why);
            for (int k = 0; k < 3; k++)
                free(c[k]);
        }
        out_table_print(t, stdout);
        out_table_free(t);
    }
    for (size_t i = 0; json_object_is_type(notes, json_type_array) &&
                       i < json_object_array_length(notes);
         i++)
        out_err("note: %s", json_object_get_string(json_object_array_get_idx(notes, i)));
    if (nc == 0 && ns == 0) {
        out_err("node add --discover: the service lists no system");
        return CLI_EXIT_ERROR;
    }
    return ns == 0 ? CLI_EXIT_OK : nc == 0 ? CLI_EXIT_ERROR : CLI_EXIT_PARTIAL;
}

/* node add --discover: POST /api/v1/nodes/discover, then follow its job. */
static int node_discover(struct cli *cli, const struct node_edit *e)
{
    struct cl_reply r = {0};
    struct jw_item it = {0};
    int rc = CLI_EXIT_ERROR;
    json_object *body = edit_body(e, e->hostlist, true, NULL);
    json_object_object_del(body, "name");
    json_object_object_add(body, "prefix", json_object_new_string(e->hostlist));
    if (e->name_template)
        json_object_object_add(body, "name_template", json_object_new_string(e->name_template));
    struct cl_client *c = cli_connect(cli);
    if (!c) {
        rc = CLI_EXIT_USAGE;
        goto out;
    }
    if (cl_request(c, "POST", "/api/v1/nodes/discover", body, &r) != CL_OK) {
        out_err("node add --discover %s: %s", e->hostlist, r.message);
        goto out;
    }
    json_object *job = NULL, *id = NULL;
    if (!json_object_object_get_ex(r.body, "job", &job) ||
        !json_object_object_get_ex(job, "id", &id)) {
        out_err("node add --discover %s: the server's reply names no job", e->hostlist);
        goto out;
    }
    it.id = json_object_get_int64(id);
    enum jw_outcome outcome = jw_wait(c, &it, 1, 0);
    if (!jw_item_ok(&it)) {
        const char *code, *msg;
        char buf[512];
        if (!jw_item_failure(&it, outcome, 0, &code, &msg, buf, sizeof(buf)))
            out_err("node add --discover %s: job %lld: %s", e->hostlist, it.id, msg);
        goto out;
    }
    rc = discover_report(it.job, cli->format);
out:
    jw_items_clear(&it, 1);
    cl_reply_clear(&r);
    json_object_put(body);
    return rc;
}

static int node_edit(struct cli *cli, int argc, char **argv, bool is_add)
{
    struct node_edit e;
    hostlist hl = {0};
    struct fo f;
    int rc;

    if (parse_edit(argc, argv, !is_add, &e, &rc) != 0)
        return rc;
    if (e.discover) {
        rc = node_discover(cli, &e);
        edit_free(&e);
        return rc;
    }
    rc = CLI_EXIT_USAGE;
    if (args_hosts(argv[0], e.hostlist, &hl) != 0)
        goto out;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;
    fo_init(&f, is_add ? "node add" : "node set");
    size_t i = 0;
    while (i < hl.count && edit_one(c, &e, hl.hosts[i], is_add, &f))
        i++;
    skip_rest(&f, &hl, i);
    if (cli->format == OUT_TABLE)
        print_result_nodes(&f);
    rc = fo_finish(&f, cli->format);
    fo_free(&f);
out:
    hostlist_free(&hl);
    edit_free(&e);
    return rc;
}

int cmd_node_add(struct cli *cli, int argc, char **argv)
{
    return node_edit(cli, argc, argv, true);
}

int cmd_node_set(struct cli *cli, int argc, char **argv)
{
    return node_edit(cli, argc, argv, false);
}

int cmd_node_list(struct cli *cli, int argc, char **argv)
{
    enum { O_NAME = 256, O_LABEL, O_STATE, O_DRIVER, O_LIMIT, O_OFFSET };
    static const struct option opts[] = {
        {"name", required_argument, NULL, O_NAME},
        {"label", required_argument, NULL, O_LABEL},
        {"state", required_argument, NULL, O_STATE},
        {"driver", required_argument, NULL, O_DRIVER},
        {"limit", required_argument, NULL, O_LIMIT},
        {"offset", required_argument, NULL, O_OFFSET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *name = NULL, *state = NULL, *driver = NULL;
    const char **labels = xcalloc((size_t)argc, sizeof(char *));
    size_t nlabels = 0;
    long long limit = 0, offset = 0;
    char *path = NULL;
    json_object *list = NULL;
    struct cl_reply err = {0};
    int ch, rc = CLI_EXIT_USAGE;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_NAME:
            name = optarg;
            break;
        case O_LABEL:
            if (optarg[0] == '=' || !strchr(optarg, '=')) {
                args_usage(cmd, "--label: expected KEY=VALUE, not '%s'", optarg);
                goto out;
            }
            labels[nlabels++] = optarg;
            break;
        case O_STATE:
            if (args_node_state(cmd, optarg) != 0)
                goto out;
            state = optarg;
            break;
        case O_DRIVER:
            driver = optarg;
            break;
        case O_LIMIT:
            if (args_int(cmd, "--limit", optarg, 1, 1000000000, &limit) != 0)
                goto out;
            break;
        case O_OFFSET:
            if (args_int(cmd, "--offset", optarg, 0, 1000000000, &offset) != 0)
                goto out;
            break;
        case 'h':
            fputs(list_usage, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            args_try_help(cmd);
            goto out;
        }
    }
    if (optind < argc) {
        args_usage(cmd, "unexpected argument '%s'", argv[optind]);
        goto out;
    }
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;
    path = xstrdup("/api/v1/nodes");
    if (name)
        cl_query_add(c, &path, "name", name);
    for (size_t i = 0; i < nlabels; i++)
        cl_query_add(c, &path, "label", labels[i]);
    if (state)
        cl_query_add(c, &path, "state", state);
    if (driver)
        cl_query_add(c, &path, "driver", driver);
    if (cl_list(c, path, offset, limit, &list, &err) != CL_OK) {
        out_err("node list: %s", err.message);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    if (cli->format == OUT_JSON) {
        out_json(list);
    } else {
        json_object *items = json_object_object_get(list, "items");
        struct out_table *t = out_table_new(5, node_headers);
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *node = json_object_array_get_idx(items, i);
            char *nm = out_field(node, "name");
            node_row(t, nm, node);
            free(nm);
        }
        out_table_print(t, stdout);
        out_table_free(t);
    }
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&err);
    json_object_put(list);
    free(path);
    free(labels);
    return rc;
}

int cmd_node_show(struct cli *cli, int argc, char **argv)
{
    struct cl_reply r = {0};
    char *path = NULL;
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, show_usage, &rc);

    if (first < 0)
        return rc;
    if (argc - first != 1)
        return args_usage(argv[0], "expected one node NAME");
    const char *name = argv[first];
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    path = node_path(c, name);
    if (cl_request(c, "GET", path, NULL, &r) != CL_OK) {
        out_err("%s: node show: %s", name, r.message);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    if (cli->format == OUT_JSON) {
        out_json(r.body);
    } else {
        static const char *const keys[] = {"name",  "endpoint", "driver",  "username", "password",
                                           "state", "labels",   "options", "created",  "updated"};
        json_object *labels = NULL, *options = NULL, *hp = NULL;
        json_object_object_get_ex(r.body, "labels", &labels);
        json_object_object_get_ex(r.body, "options", &options);
        json_object_object_get_ex(r.body, "has_password", &hp);
        char *v[] = {
            out_field(r.body, "name"),
            out_field(r.body, "endpoint"),
            out_field(r.body, "driver"),
            out_field(r.body, "username"),
            xstrdup(json_object_get_boolean(hp) ? "set" : "not set"),
            out_field(r.body, "state"),
            out_pairs(labels),
            out_pairs(options),
            out_field(r.body, "created_at"),
            out_field(r.body, "updated_at"),
        };
        out_kv(keys, (const char *const *)v, sizeof(v) / sizeof(v[0]));
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
            free(v[i]);
    }
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&r);
    free(path);
    return rc;
}

/* Delete one node, recording the outcome in f.  Returns false when the
 * server could not be reached. */
static bool rm_one(struct cl_client *c, const char *host, enum out_format format, struct fo *f)
{
    struct cl_reply r;
    char *path = node_path(c, host);
    enum cl_status st = cl_request(c, "DELETE", path, NULL, &r);

    if (st == CL_OK) {
        fo_ok(f, fo_node(host), NULL, NULL);
        if (format == OUT_TABLE)
            printf("deleted %s\n", host);
    } else {
        fo_fail_reply(f, fo_node(host), &r);
    }
    cl_reply_clear(&r);
    free(path);
    return st != CL_TRANSPORT_ERROR;
}

int cmd_node_rm(struct cli *cli, int argc, char **argv)
{
    hostlist hl = {0};
    struct fo f;
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, rm_usage, &rc);

    if (first < 0)
        return rc;
    if (argc - first != 1)
        return args_usage(argv[0], "expected one HOSTLIST");
    if (args_hosts(argv[0], argv[first], &hl) != 0)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;
    fo_init(&f, "node rm");
    size_t i = 0;
    while (i < hl.count && rm_one(c, hl.hosts[i], cli->format, &f))
        i++;
    skip_rest(&f, &hl, i);
    rc = fo_finish(&f, cli->format);
    fo_free(&f);
out:
    hostlist_free(&hl);
    return rc;
}
