/* cmd_job.c - job list, show, wait, cancel. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "fanout.h"
#include "jsonv.h"
#include "jobwait.h"
#include "ultime.h"
#include "xalloc.h"

/* Jobs pile up (every power action is one); a list shows the newest page
 * unless asked for more. */
#define JOB_LIST_DEFAULT 100

static const char list_usage[] =
    "Usage: underlay job list [OPTIONS]\n"
    "\n"
    "List jobs, newest first (the latest 100 unless --limit says otherwise).\n"
    "\n"
    "  --state S    queued, running, succeeded, failed or canceled\n"
    "  --node N     jobs of node N\n"
    "  --type T     jobs of type T, e.g. power\n"
    "  --limit N    at most N jobs\n"
    "  --offset N   skip the N newest jobs\n";

static const char show_usage[] = "Usage: underlay job show ID\n\nShow one job.\n";

static const char wait_usage[] =
    "Usage: underlay job wait ID... [--timeout SECONDS]\n"
    "\n"
    "Wait until every job has finished; exit 0 only if all succeeded.\n"
    "\n"
    "  --timeout S   give up waiting after S seconds (the jobs go on)\n";

static const char cancel_usage[] =
    "Usage: underlay job cancel ID...\n"
    "\n"
    "Cancel jobs: a queued job is canceled at once, a running one shortly after.\n";

/* The message worth showing for a job: its error's, else its progress note. */
static char *job_message(json_object *job)
{
    json_object *err = NULL;
    if (json_object_object_get_ex(job, "error", &err) && jv_str(err, "message"))
        return xstrdup(jv_str(err, "message"));
    return out_field(job, "message");
}

static const char *const list_headers[] = {"ID",       "TYPE",    "NODE",   "STATE",
                                           "PROGRESS", "CREATED", "MESSAGE"};

static void list_row(struct out_table *t, json_object *job)
{
    char *v[] = {
        out_field(job, "id"),    out_field(job, "type"),     out_field(job, "node"),
        out_field(job, "state"), out_field(job, "progress"), out_field(job, "created_at"),
        job_message(job),
    };
    char *progress = xasprintf("%s%%", v[4]);
    free(v[4]);
    v[4] = progress;
    /* The NODE column names the node: no "node NAME: " again in MESSAGE. */
    char *msg = xstrdup(fo_strip_node(v[2], v[6]));
    free(v[6]);
    v[6] = msg;
    out_table_add(t, (const char *const *)v);
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        free(v[i]);
}

int cmd_job_list(struct cli *cli, int argc, char **argv)
{
    enum { O_STATE = 256, O_NODE, O_TYPE, O_LIMIT, O_OFFSET };
    static const struct option opts[] = {
        {"state", required_argument, NULL, O_STATE},
        {"node", required_argument, NULL, O_NODE},
        {"type", required_argument, NULL, O_TYPE},
        {"limit", required_argument, NULL, O_LIMIT},
        {"offset", required_argument, NULL, O_OFFSET},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *state = NULL, *node = NULL, *type = NULL;
    long long limit = JOB_LIST_DEFAULT, offset = 0;
    char *path = NULL;
    json_object *list = NULL;
    struct cl_reply err = {0};
    int ch, rc = CLI_EXIT_USAGE;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_STATE:
            /* Checked here, not left to the server's 400: a usage error. */
            if (args_job_state(cmd, optarg) != 0)
                return CLI_EXIT_USAGE;
            state = optarg;
            break;
        case O_NODE:
            node = optarg;
            break;
        case O_TYPE:
            type = optarg;
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
            fputs(list_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (optind < argc)
        return args_usage(cmd, "unexpected argument '%s'", argv[optind]);
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    path = xstrdup("/api/v1/jobs");
    if (state)
        cl_query_add(c, &path, "state", state);
    if (node)
        cl_query_add(c, &path, "node", node);
    if (type)
        cl_query_add(c, &path, "type", type);
    if (cl_list(c, path, offset, limit, &list, &err) != CL_OK) {
        out_err("job list: %s", err.message);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    if (cli->format == OUT_JSON) {
        out_json(list);
    } else {
        json_object *items = json_object_object_get(list, "items");
        size_t n = json_object_array_length(items);
        struct out_table *t = out_table_new(7, list_headers);
        for (size_t i = 0; i < n; i++)
            list_row(t, json_object_array_get_idx(items, i));
        out_table_print(t, stdout);
        out_table_free(t);
        long long total = json_object_get_int64(json_object_object_get(list, "total"));
        if (total > offset + (long long)n)
            out_err("showing %zu of %lld jobs; use --limit and --offset for more", n, total);
    }
    char why[512];
    /* No jobs for --node: a deleted node keeps its jobs, so an empty list
     * more likely means a typo, which the filter alone would not show. */
    if (node && json_object_array_length(json_object_object_get(list, "items")) == 0 &&
        offset == 0 && cl_node_unknown(c, node, why, sizeof(why)))
        out_err("job list: no jobs: %s", why);
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&err);
    json_object_put(list);
    free(path);
    return rc;
}

int cmd_job_show(struct cli *cli, int argc, char **argv)
{
    struct cl_reply r = {0};
    char path[64];
    long long id;
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, show_usage, &rc);

    if (first < 0)
        return rc;
    if (argc - first != 1)
        return args_usage(argv[0], "expected one job ID");
    if (args_job_id(argv[0], argv[first], &id) != 0)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    snprintf(path, sizeof(path), "/api/v1/jobs/%lld", id);
    if (cl_request(c, "GET", path, NULL, &r) != CL_OK) {
        out_err("job %lld: job show: %s", id, r.message);
        cl_reply_clear(&r);
        return CLI_EXIT_ERROR;
    }
    if (cli->format == OUT_JSON) {
        out_json(r.body);
    } else {
        static const char *const keys[] = {
            "id",        "type",   "node",    "state",   "progress", "message",
            "result",    "error",  "params",  "actor",   "attempts", "timeout",
            "canceling", "parent", "created", "started", "finished", "updated",
        };
        json_object *result = NULL, *params = NULL, *err = NULL, *cr = NULL;
        json_object_object_get_ex(r.body, "result", &result);
        json_object_object_get_ex(r.body, "params", &params);
        json_object_object_get_ex(r.body, "error", &err);
        json_object_object_get_ex(r.body, "cancel_requested", &cr);
        char *progress = out_field(r.body, "progress");
        char *timeout = out_field(r.body, "timeout");
        char *v[] = {
            out_field(r.body, "id"),
            out_field(r.body, "type"),
            out_field(r.body, "node"),
            out_field(r.body, "state"),
            xasprintf("%s%%", progress),
            out_field(r.body, "message"),
            out_pairs(result),
            err ? xasprintf("%s: %s", jv_str(err, "code") ? jv_str(err, "code") : "-",
                            jv_str(err, "message") ? jv_str(err, "message") : "-")
                : xstrdup("-"),
            out_pairs(params),
            out_field(r.body, "actor"),
            out_field(r.body, "attempts"),
            xasprintf("%s s", timeout),
            xstrdup(json_object_get_boolean(cr) ? "yes" : "no"),
            out_field(r.body, "parent_id"),
            out_field(r.body, "created_at"),
            out_field(r.body, "started_at"),
            out_field(r.body, "finished_at"),
            out_field(r.body, "updated_at"),
        };
        out_kv(keys, (const char *const *)v, sizeof(v) / sizeof(v[0]));
        for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
            free(v[i]);
        free(progress);
        free(timeout);
    }
    cl_reply_clear(&r);
    return CLI_EXIT_OK;
}

/* Parse operands first..argc-1 as job ids into a new array of *n. */
static long long *parse_ids(int argc, char **argv, int first, size_t *n)
{
    long long *ids = xcalloc((size_t)(argc - first), sizeof(*ids));
    for (int i = first; i < argc; i++) {
        if (args_job_id(argv[0], argv[i], &ids[i - first]) != 0) {
            free(ids);
            return NULL;
        }
    }
    *n = (size_t)(argc - first);
    return ids;
}

/* The ID, TYPE, NODE and STATE cells of a job row, newly allocated. */
static void base_cells(long long id, json_object *job, char *cells[4])
{
    cells[0] = xasprintf("%lld", id);
    cells[1] = out_field(job, "type");
    cells[2] = out_field(job, "node");
    cells[3] = out_field(job, "state");
}

static void free_cells(char **cells, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(cells[i]);
}

static const char *const wait_headers[] = {"ID", "TYPE", "NODE", "STATE", "RESULT", "ERROR"};

static int wait_report(const struct jw_item *items, size_t n, enum jw_outcome outcome,
                       double waited_s, enum out_format format)
{
    struct fo f;
    struct out_table *t = out_table_new(6, wait_headers);

    fo_init(&f, "job wait");
    f.quiet = format == OUT_TABLE; /* the ERROR column shows each failure */
    for (size_t i = 0; i < n; i++) {
        const struct jw_item *it = &items[i];
        const char *code = NULL, *msg = NULL;
        char buf[128];
        if (jw_item_ok(it)) {
            fo_ok(&f, fo_job(it->id), "job", json_object_get(it->job));
        } else {
            bool reported = jw_item_failure(it, outcome, waited_s, &code, &msg, buf, sizeof(buf));
            fo_fail(&f, fo_job(it->id), code, msg, !reported);
            const char *node = it->job ? jv_str(it->job, "node") : NULL;
            if (node) /* the NODE column names it */
                msg = fo_strip_node(node, msg);
        }
        char *cells[5];
        json_object *res = NULL;
        json_object_object_get_ex(it->job, "result", &res);
        base_cells(it->id, it->job, cells);
        cells[4] = out_pairs(res);
        const char *row[] = {cells[0], cells[1], cells[2], cells[3], cells[4], msg};
        out_table_add(t, row);
        free_cells(cells, 5);
    }
    if (format == OUT_TABLE)
        out_table_print(t, stdout);
    out_table_free(t);
    int rc = fo_finish(&f, format);
    fo_free(&f);
    return rc;
}

int cmd_job_wait(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    double timeout = 0;
    size_t n = 0;
    int ch;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case 'T':
            if (args_seconds(cmd, "--timeout", optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(wait_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (optind >= argc)
        return args_usage(cmd, "expected at least one job ID");
    long long *ids = parse_ids(argc, argv, optind, &n);
    if (!ids)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c) {
        free(ids);
        return CLI_EXIT_USAGE;
    }
    struct jw_item *items = xcalloc(n, sizeof(*items));
    for (size_t i = 0; i < n; i++)
        items[i].id = ids[i];
    int64_t start = ul_mono_ms();
    enum jw_outcome outcome = jw_wait(c, items, n, timeout);
    int rc = wait_report(items, n, outcome, (double)(ul_mono_ms() - start) / 1000.0, cli->format);
    jw_items_clear(items, n);
    free(items);
    free(ids);
    return rc;
}

static const char *const cancel_headers[] = {"ID", "TYPE", "NODE", "STATE", "CANCELING"};

/* Cancel job id, recording the outcome in f and t.  Returns false when the
 * server could not be reached. */
static bool cancel_one(struct cl_client *c, long long id, struct fo *f, struct out_table *t)
{
    char path[64];
    struct cl_reply r;

    snprintf(path, sizeof(path), "/api/v1/jobs/%lld/cancel", id);
    enum cl_status st = cl_request(c, "POST", path, NULL, &r);
    if (st == CL_OK) {
        json_object *cr = NULL;
        char *cells[4];
        json_object_object_get_ex(r.body, "cancel_requested", &cr);
        base_cells(id, r.body, cells);
        const char *row[] = {cells[0], cells[1], cells[2], cells[3],
                             json_object_get_boolean(cr) ? "yes" : "no"};
        out_table_add(t, row);
        free_cells(cells, 4);
        fo_ok(f, fo_job(id), "job", json_object_get(r.body));
    } else {
        fo_fail_reply(f, fo_job(id), &r);
    }
    cl_reply_clear(&r);
    return st != CL_TRANSPORT_ERROR;
}

int cmd_job_cancel(struct cli *cli, int argc, char **argv)
{
    size_t n = 0;
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, cancel_usage, &rc);

    if (first < 0)
        return rc;
    if (first >= argc)
        return args_usage(argv[0], "expected at least one job ID");
    long long *ids = parse_ids(argc, argv, first, &n);
    if (!ids)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c) {
        free(ids);
        return CLI_EXIT_USAGE;
    }
    struct fo f;
    struct out_table *t = out_table_new(5, cancel_headers);
    fo_init(&f, "job cancel");
    size_t i = 0;
    while (i < n && cancel_one(c, ids[i], &f, t))
        i++;
    if (i < n) {
        for (size_t j = i + 1; j < n; j++)
            fo_skip(&f, fo_job(ids[j]));
        fo_stopped(f.op, n - i - 1);
    }
    if (cli->format == OUT_TABLE && f.ok)
        out_table_print(t, stdout);
    out_table_free(t);
    rc = fo_finish(&f, cli->format);
    fo_free(&f);
    free(ids);
    return rc;
}
