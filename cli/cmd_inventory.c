/* cmd_inventory.c - inventory NODE: what the BMC says the hardware is (BMC
 * identity, FRU board/chassis/product data, or whatever sections the node's
 * driver gives), read now or as last stored. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "jsonv.h"
#include "nodejob.h"
#include "xalloc.h"

static const char inventory_usage[] =
    "Usage: underlay inventory NODE [--cached] [--timeout SECONDS]\n"
    "\n"
    "Read NODE's hardware inventory from its BMC now (an inventory job, which\n"
    "also stores it) and print it as 'section.key: value' lines, one block per\n"
    "section (for IPMI: bmc, the controller's identity, and fru, the board,\n"
    "chassis and product records).\n"
    "\n"
    "  --cached      print the inventory stored by the last successful job\n"
    "                instead of asking the BMC\n"
    "  --timeout S   the job's deadline in whole seconds (default: the server's)\n"
    "\n"
    "-o json prints {\"node\", \"updated_at\", \"inventory\"} either way.\n";

/* Nesting deeper than this is not an inventory any driver gives; the cap
 * keeps a hostile reply from recursing the stack away (the parser already
 * bounds depth, this makes the printer not depend on it). */
#define INV_MAX_DEPTH 16

/* Flatten value under prefix into keys[]/vals[] (both grown as needed):
 * objects as prefix.key, arrays as prefix.0, prefix.1 ..., an empty object
 * or array as "-", everything else through out_text(). */
struct kv_list {
    char **keys, **vals; /* owned */
    size_t n, cap;
};

static void kv_add(struct kv_list *l, char *key, char *val)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 32;
        l->keys = xrealloc(l->keys, l->cap * sizeof(char *));
        l->vals = xrealloc(l->vals, l->cap * sizeof(char *));
    }
    /* Keys come from the BMC as much as values do: clean both. */
    l->keys[l->n] = out_clean(key);
    l->vals[l->n] = val;
    l->n++;
    free(key);
}

static void kv_clear(struct kv_list *l)
{
    for (size_t i = 0; i < l->n; i++) {
        free(l->keys[i]);
        free(l->vals[i]);
    }
    free(l->keys);
    free(l->vals);
    memset(l, 0, sizeof(*l));
}

static void flatten(struct kv_list *l, const char *prefix, json_object *v, int depth)
{
    bool is_obj = json_object_is_type(v, json_type_object);
    bool is_arr = json_object_is_type(v, json_type_array);
    if (depth >= INV_MAX_DEPTH || (!is_obj && !is_arr) ||
        (is_obj && json_object_object_length(v) == 0) ||
        (is_arr && json_object_array_length(v) == 0)) {
        kv_add(l, xstrdup(prefix), is_obj || is_arr ? xstrdup("-") : out_text(v));
        return;
    }
    if (is_obj) {
        json_object_object_foreach(v, key, val)
        {
            char *p = xasprintf("%s.%s", prefix, key);
            flatten(l, p, val, depth + 1);
            free(p);
        }
        return;
    }
    for (size_t i = 0; i < json_object_array_length(v); i++) {
        char *p = xasprintf("%s.%zu", prefix, i);
        flatten(l, p, json_object_array_get_idx(v, i), depth + 1);
        free(p);
    }
}

/* Print node and updated_at, then each top-level section of inv as a block
 * of aligned "section.key: value" lines. */
static void print_inventory(const char *node, const char *updated_at, json_object *inv)
{
    static const char *const head_keys[] = {"node", "updated_at"};
    const char *head_vals[] = {node, updated_at};
    out_kv(head_keys, head_vals, 2);
    if (!json_object_is_type(inv, json_type_object) || json_object_object_length(inv) == 0) {
        puts("\n(empty: the BMC reported no inventory)");
        return;
    }
    json_object_object_foreach(inv, section, val)
    {
        struct kv_list l = {0};
        flatten(&l, section, val, 0);
        putchar('\n');
        out_kv((const char *const *)l.keys, (const char *const *)l.vals, l.n);
        kv_clear(&l);
    }
}

/* GET the stored inventory: the API's reply (new reference), or NULL after
 * printing why. */
static json_object *get_cached(struct cl_client *c, const char *node)
{
    struct cl_reply r;
    char *esc = cl_escape(c, node);
    char *path = xasprintf("/api/v1/nodes/%s/inventory", esc);
    json_object *body = NULL;
    if (cl_request(c, "GET", path, NULL, &r) == CL_OK)
        body = json_object_get(r.body);
    else /* a 404 says whether the node or its inventory is missing */
        out_err("%s: inventory --cached: %s", node, r.message);
    cl_reply_clear(&r);
    free(path);
    free(esc);
    return body;
}

/* Run the job and shape its outcome like the GET reply. */
static json_object *run_job(struct cl_client *c, const char *node, long long timeout)
{
    json_object *body = nj_body(timeout);
    json_object *job = nj_run(c, node, "inventory", body, "inventory");
    json_object_put(body);
    if (!job)
        return NULL;
    json_object *res = NULL, *fin = NULL;
    json_object_object_get_ex(job, "result", &res);
    json_object_object_get_ex(job, "finished_at", &fin);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(node));
    json_object_object_add(o, "updated_at", json_object_get(fin));
    json_object_object_add(o, "inventory", json_object_get(res));
    json_object_put(job);
    return o;
}

int cmd_inventory(struct cli *cli, int argc, char **argv)
{
    enum { O_CACHED = 256, O_TIMEOUT };
    static const struct option opts[] = {
        {"cached", no_argument, NULL, O_CACHED},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    bool cached = false;
    long long timeout = 0;
    int ch;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_CACHED:
            cached = true;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(inventory_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 1)
        return args_usage(cmd, "expected one node NAME");
    if (cached && timeout > 0)
        return args_usage(cmd, "--timeout applies to a job; --cached runs none");
    const char *node = argv[optind];
    if (args_node(cmd, node) != 0)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    json_object *o = cached ? get_cached(c, node) : run_job(c, node, timeout);
    if (!o)
        return CLI_EXIT_ERROR;
    if (cli->format == OUT_JSON) {
        out_json(o);
    } else {
        json_object *inv = NULL;
        json_object_object_get_ex(o, "inventory", &inv);
        char *updated = out_field(o, "updated_at");
        print_inventory(node, updated, inv);
        free(updated);
    }
    json_object_put(o);
    return CLI_EXIT_OK;
}
