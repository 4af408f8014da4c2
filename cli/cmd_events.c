/* cmd_events.c - sel NODE (collect a BMC's event log, then show what is
 * stored) and events (search the stored events of every node). */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "jsonv.h"
#include "fanout.h"
#include "hostlist.h"
#include "nodejob.h"
#include "ultime.h"
#include "xalloc.h"

/* Event logs grow without bound; a listing shows the newest page unless
 * asked for more, as job list and audit do. */
#define EVENTS_DEFAULT 100

static const char sel_usage[] =
    "Usage: underlay sel HOSTLIST [--clear] [--limit N] [--timeout SECONDS]\n"
    "\n"
    "Collect the new entries of NODE's BMC event log (SEL) into underlayd's\n"
    "event store (a sel job), then list the node's stored SEL entries, newest\n"
    "first, as TIME SEVERITY SENSOR MESSAGE (the latest 100 unless --limit says\n"
    "otherwise), and a line 'N entries (M new)'.\n"
    "\n"
    "  --clear       after collecting, clear the event log on the BMC (admin\n"
    "                only, audited); the stored entries are kept\n"
    "  --limit N     list at most N entries\n"
    "  --timeout S   the job's deadline in whole seconds (default: the server's)\n"
    "\n"
    "HOSTLIST (rack1-n[01-08]) collects several nodes' logs, as ipmi-sel -h\n"
    "does: one table, TIME NODE SEVERITY SENSOR MESSAGE, newest first (up to\n"
    "--limit entries per node), then 'NODE: N entries (M new)' per node; a\n"
    "node that fails is named once on stderr.  -o json prints\n"
    "[{\"node\", \"ok\", \"result\", \"events\"} or {\"node\", \"ok\", \"error\"}].\n";

static const char events_usage[] =
    "Usage: underlay events [OPTIONS]\n"
    "\n"
    "List the events underlayd has stored (collected from BMC event logs by\n"
    "sel jobs: 'underlay sel NODE'), newest first, as TIME NODE SEVERITY SENSOR\n"
    "MESSAGE (the latest 100 unless --limit says otherwise).\n"
    "\n"
    "  --node N       events of node N\n"
    "  --source S     events from source S, e.g. sel\n"
    "  --severity S   info, warning or critical\n"
    "  --since T      events at or after T\n"
    "  --until T      events before T\n"
    "  --limit N      at most N events\n"
    "  --offset N     skip the N newest matches\n"
    "\n"
    "T is an RFC 3339 UTC time (2026-11-24T20:00:00Z), epoch seconds, or an\n"
    "age: 30m, 12h, 7d (s, m, h, d, w) before now.\n";

static const char *const sel_headers[] = {"TIME", "SEVERITY", "SENSOR", "MESSAGE"};
static const char *const events_headers[] = {"TIME", "NODE", "SEVERITY", "SENSOR", "MESSAGE"};

/* Print the page's events as a table; with_node adds the NODE column.
 * Returns the number of rows. */
static size_t print_events(json_object *page, bool with_node)
{
    json_object *items = NULL;
    json_object_object_get_ex(page, "items", &items);
    size_t n = json_object_array_length(items);
    struct out_table *t =
        with_node ? out_table_new(5, events_headers) : out_table_new(4, sel_headers);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(items, i);
        char *v[] = {out_field(e, "time"), out_field(e, "node"), out_field(e, "severity"),
                     out_field(e, "sensor"), out_field(e, "message")};
        if (with_node) {
            out_table_add(t, (const char *const *)v);
        } else {
            const char *row[] = {v[0], v[2], v[3], v[4]};
            out_table_add(t, row);
        }
        for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
            free(v[k]);
    }
    out_table_print(t, stdout);
    out_table_free(t);
    return n;
}

static long long page_total(json_object *page)
{
    json_object *total = NULL;
    json_object_object_get_ex(page, "total", &total);
    return json_object_get_int64(total);
}

/* Newest first: RFC 3339 UTC times sort as strings. */
static int by_time_desc(const void *a, const void *b)
{
    const char *ta = jv_str(*(json_object *const *)a, "time");
    const char *tb = jv_str(*(json_object *const *)b, "time");
    return strcmp(tb ? tb : "", ta ? ta : "");
}

/* sel HOSTLIST: a sel job per node, then their stored entries in one table. */
static int sel_multi(struct cli *cli, struct cl_client *c, const hostlist *hl, bool clear,
                     long long limit, long long timeout)
{
    struct fo f;
    struct jw_item *items = xcalloc(hl->count, sizeof(*items));
    json_object **pages = xcalloc(hl->count, sizeof(*pages));
    const char *opname = clear ? "sel clear" : "sel";

    fo_init(&f, opname);
    json_object *body = nj_body(timeout);
    nj_start_all(c, hl, clear ? "sel/clear" : "sel", body, opname, items, false);
    json_object_put(body);
    int64_t t0 = ul_mono_ms();
    enum jw_outcome outcome = jw_wait(c, items, hl->count, 0);
    double waited = (double)(ul_mono_ms() - t0) / 1000.0;

    json_object *all = json_object_new_array();
    for (size_t i = 0; i < hl->count; i++) {
        char buf[128];
        const char *host = hl->hosts[i];
        if (!jw_item_ok(&items[i])) {
            nj_record(&f, host, &items[i], outcome, waited, buf, sizeof(buf));
            continue;
        }
        struct cl_reply err;
        char *path = xstrdup("/api/v1/events");
        cl_query_add(c, &path, "node", host);
        cl_query_add(c, &path, "source", "sel");
        enum cl_status st = cl_list(c, path, 0, limit, &pages[i], &err);
        free(path);
        if (st != CL_OK) {
            char *msg =
                xasprintf("collected, but listing the stored entries failed: %s", err.message);
            fo_fail(&f, fo_node(host), err.code, msg, true);
            free(msg);
            cl_reply_clear(&err);
            continue;
        }
        json_object *res = NULL, *evs = NULL;
        json_object_object_get_ex(items[i].job, "result", &res);
        json_object_object_get_ex(pages[i], "items", &evs);
        size_t n = json_object_array_length(evs);
        for (size_t k = 0; k < n; k++)
            json_object_array_add(all, json_object_get(json_object_array_get_idx(evs, k)));
        json_object *o = json_object_new_object();
        json_object_object_add(o, "result", json_object_get(res));
        json_object_object_add(o, "events", json_object_get(pages[i]));
        /* fo_ok stores the payload under one key: merge both into it. */
        fo_ok(&f, fo_node(host), "sel", o);
    }
    if (cli->format == OUT_TABLE) {
        json_object_array_sort(all, by_time_desc);
        json_object *page = json_object_new_object();
        json_object_object_add(page, "items", json_object_get(all));
        if (f.ok)
            print_events(page, true);
        json_object_put(page);
        for (size_t i = 0; i < hl->count; i++) {
            if (!pages[i])
                continue;
            json_object *res = NULL, *fresh = NULL;
            json_object_object_get_ex(items[i].job, "result", &res);
            json_object_object_get_ex(res, "new", &fresh);
            long long total = page_total(pages[i]);
            printf("%s: %lld entr%s (%lld new)%s\n", hl->hosts[i], total, total == 1 ? "y" : "ies",
                   (long long)json_object_get_int64(fresh),
                   clear ? "; the BMC's event log was cleared" : "");
        }
    }
    json_object_put(all);
    int rc = fo_finish(&f, cli->format);
    fo_free(&f);
    for (size_t i = 0; i < hl->count; i++)
        json_object_put(pages[i]);
    free(pages);
    jw_items_clear(items, hl->count);
    free(items);
    return rc;
}

int cmd_sel(struct cli *cli, int argc, char **argv)
{
    enum { O_CLEAR = 256, O_LIMIT, O_TIMEOUT };
    static const struct option opts[] = {
        {"clear", no_argument, NULL, O_CLEAR},
        {"limit", required_argument, NULL, O_LIMIT},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    bool clear = false;
    long long limit = EVENTS_DEFAULT, timeout = 0;
    json_object *job = NULL, *page = NULL;
    struct cl_reply err = {0};
    char *path = NULL;
    int ch, rc = CLI_EXIT_ERROR;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_CLEAR:
            clear = true;
            break;
        case O_LIMIT:
            if (args_int(cmd, "--limit", optarg, 1, 1000000000, &limit) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(sel_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 1)
        return args_usage(cmd, "expected a node NAME or a HOSTLIST");
    const char *node = argv[optind];
    if (!*node)
        return args_usage(cmd, "the node NAME is empty");
    if (hostlist_is_pattern(node)) {
        hostlist hl = {0};
        if (args_hosts(cmd, node, &hl) != 0)
            return CLI_EXIT_USAGE;
        struct cl_client *c = cli_connect(cli);
        rc = c ? sel_multi(cli, c, &hl, clear, limit, timeout) : CLI_EXIT_USAGE;
        hostlist_free(&hl);
        return rc;
    }
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    json_object *body = nj_body(timeout);
    job = nj_run(c, node, clear ? "sel/clear" : "sel", body, clear ? "sel clear" : "sel");
    json_object_put(body);
    if (!job)
        goto out;
    json_object *res = NULL, *fresh = NULL;
    json_object_object_get_ex(job, "result", &res);
    json_object_object_get_ex(res, "new", &fresh);

    path = xstrdup("/api/v1/events");
    cl_query_add(c, &path, "node", node);
    cl_query_add(c, &path, "source", "sel");
    if (cl_list(c, path, 0, limit, &page, &err) != CL_OK) {
        out_err("%s: sel: collected, but listing the stored entries failed: %s", node, err.message);
        goto out;
    }
    if (cli->format == OUT_JSON) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(node));
        json_object_object_add(o, "result", json_object_get(res));
        json_object_object_add(o, "events", json_object_get(page));
        out_json(o);
        json_object_put(o);
    } else {
        size_t shown = print_events(page, false);
        long long total = page_total(page);
        printf("%lld entr%s (%lld new)%s\n", total, total == 1 ? "y" : "ies",
               (long long)json_object_get_int64(fresh),
               clear ? "; the BMC's event log was cleared" : "");
        if (total > (long long)shown)
            out_err("showing the newest %zu of %lld entries; use --limit, or 'underlay events "
                    "--node %s' with --offset, for more",
                    shown, total, node);
    }
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&err);
    json_object_put(page);
    json_object_put(job);
    free(path);
    return rc;
}

static int check_severity(const char *cmd, const char *s)
{
    if (strcmp(s, "info") == 0 || strcmp(s, "warning") == 0 || strcmp(s, "critical") == 0)
        return 0;
    args_usage(cmd, "--severity: expected info, warning or critical, not '%s'", s);
    return -1;
}

int cmd_events(struct cli *cli, int argc, char **argv)
{
    enum { O_NODE = 256, O_SOURCE, O_SEVERITY, O_SINCE, O_UNTIL, O_LIMIT, O_OFFSET };
    static const struct option opts[] = {
        {"node", required_argument, NULL, O_NODE},
        {"source", required_argument, NULL, O_SOURCE},
        {"severity", required_argument, NULL, O_SEVERITY},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"limit", required_argument, NULL, O_LIMIT},
        {"offset", required_argument, NULL, O_OFFSET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *node = NULL, *source = NULL, *severity = NULL;
    long long since = -1, until = -1, limit = EVENTS_DEFAULT, offset = 0;
    json_object *page = NULL;
    struct cl_reply err = {0};
    char *path = NULL;
    int ch, rc = CLI_EXIT_ERROR;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_NODE:
            if (args_node(cmd, optarg) != 0)
                return CLI_EXIT_USAGE;
            node = optarg;
            break;
        case O_SOURCE:
            source = optarg;
            break;
        case O_SEVERITY:
            if (check_severity(cmd, optarg) != 0)
                return CLI_EXIT_USAGE;
            severity = optarg;
            break;
        case O_SINCE:
            if (args_time(cmd, "--since", optarg, &since) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_UNTIL:
            if (args_time(cmd, "--until", optarg, &until) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_LIMIT:
            if (args_int(cmd, "--limit", optarg, 1, 1000000000, &limit) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_OFFSET:
            if (args_int(cmd, "--offset", optarg, 0, 1000000000, &offset) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(events_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (optind < argc)
        return args_usage(cmd, "unexpected argument '%s'", argv[optind]);
    if (since >= 0 && until >= 0 && since >= until)
        return args_usage(cmd, "--since must be earlier than --until");
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    path = xstrdup("/api/v1/events");
    if (node)
        cl_query_add(c, &path, "node", node);
    if (source)
        cl_query_add(c, &path, "source", source);
    if (severity)
        cl_query_add(c, &path, "severity", severity);
    char num[32];
    if (since >= 0) {
        snprintf(num, sizeof(num), "%lld", since);
        cl_query_add(c, &path, "since", num);
    }
    if (until >= 0) {
        snprintf(num, sizeof(num), "%lld", until);
        cl_query_add(c, &path, "until", num);
    }
    if (cl_list(c, path, offset, limit, &page, &err) != CL_OK) {
        out_err("events: %s", err.message);
        goto out;
    }
    if (cli->format == OUT_JSON) {
        out_json(page);
    } else {
        size_t shown = print_events(page, true);
        long long total = page_total(page);
        if (total > offset + (long long)shown)
            out_err("showing %zu of %lld events; use --limit and --offset for more", shown, total);
    }
    char why[512];
    /* As job list does: an empty list for an unknown --node says so. */
    if (node && page_total(page) == 0 && cl_node_unknown(c, node, why, sizeof(why)))
        out_err("events: no events: %s", why);
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&err);
    json_object_put(page);
    free(path);
    return rc;
}
