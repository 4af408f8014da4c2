/* cmd_power.c - power ACTION HOSTLIST: one power job per node. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "fanout.h"
#include "jobwait.h"
#include "nodejob.h"
#include "ultime.h"
#include "xalloc.h"

static const char power_usage[] =
    "Usage: underlay power ACTION HOSTLIST [--wait] [--timeout SECONDS]\n"
    "\n"
    "Start one power job per node of HOSTLIST and print the job ids.\n"
    "ACTION is on, off, soft (graceful shutdown), cycle, reset or status.\n"
    "\n"
    "  --wait        wait for the jobs and show each node's outcome and power\n"
    "                state (implied by status)\n"
    "  --timeout S   with --wait: stop waiting after S seconds (the jobs go on)\n";

static const char *const actions[] = {"on", "off", "soft", "cycle", "reset", "status"};

static const char *const started_headers[] = {"NODE", "JOB"};
static const char *const waited_headers[] = {"NODE", "JOB", "STATE", "POWER", "ERROR"};

/* One run of the command: the nodes and, per node, its job. */
struct power_run {
    char *op;              /* owned: "power cycle", named in messages */
    hostlist hl;           /* the nodes */
    struct jw_item *items; /* owned: one per node; id 0 when no job was created */
    bool wait;             /* waited for the jobs (--wait, or status) */
    enum out_format format;
    enum jw_outcome outcome;
    double waited_s;
};

/* Create a job per node, stopping at the first connection error. */
static void start_all(struct cl_client *c, struct power_run *pr, const char *action)
{
    json_object *body = json_object_new_object();
    json_object_object_add(body, "action", json_object_new_string(action));
    /* With --wait the table's ERROR column shows each failure. */
    nj_start_all(c, &pr->hl, "power", body, pr->op, pr->items, pr->wait && pr->format == OUT_TABLE);
    json_object_put(body);
}

/* Record node i's outcome in f and its row in t; failures not yet reported
 * are printed. */
static void report_one(const struct power_run *pr, size_t i, struct fo *f, struct out_table *t)
{
    const struct jw_item *it = &pr->items[i];
    const char *host = pr->hl.hosts[i];
    const char *code = NULL, *msg = NULL;
    char buf[128];
    bool started = it->id > 0;
    bool ok = started && (!pr->wait || jw_item_ok(it));

    if (ok) {
        fo_ok(f, fo_node(host), "job", json_object_get(it->job));
    } else if (!started) {
        msg = it->error; /* printed when the POST failed */
        fo_fail(f, fo_node(host), it->error_code, msg, false);
    } else {
        bool reported =
            jw_item_failure(it, pr->outcome, pr->waited_s, &code, &msg, buf, sizeof(buf));
        fo_fail(f, fo_node(host), code, msg, !reported);
        msg = fo_strip_node(host, msg);
    }
    char *id = started ? xasprintf("%lld", it->id) : xstrdup("-");
    if (pr->wait) {
        json_object *res = NULL;
        json_object_object_get_ex(it->job, "result", &res);
        char *state = out_field(it->job, "state");
        char *power = out_field(res, "power");
        const char *row[] = {host, id, state, power, msg};
        out_table_add(t, row);
        free(state);
        free(power);
    } else if (ok) {
        const char *row[] = {host, id};
        out_table_add(t, row);
    }
    free(id);
}

static int report(const struct power_run *pr, enum out_format format)
{
    struct fo f;
    struct out_table *t =
        pr->wait ? out_table_new(5, waited_headers) : out_table_new(2, started_headers);

    fo_init(&f, pr->op);
    f.quiet = pr->wait && format == OUT_TABLE;
    for (size_t i = 0; i < pr->hl.count; i++)
        report_one(pr, i, &f, t);
    if (format == OUT_TABLE && (pr->wait || f.ok))
        out_table_print(t, stdout);
    out_table_free(t);
    int rc = fo_finish(&f, format);
    fo_free(&f);
    return rc;
}

int cmd_power(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"wait", no_argument, NULL, 'w'},
        {"timeout", required_argument, NULL, 'T'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    struct power_run pr = {0};
    double timeout = 0;
    int ch, rc = CLI_EXIT_USAGE;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case 'w':
            pr.wait = true;
            break;
        case 'T':
            if (args_seconds(cmd, "--timeout", optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(power_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 2)
        return args_usage(cmd, "expected ACTION and HOSTLIST");
    const char *action = argv[optind];
    bool known = false;
    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        known = known || strcmp(action, actions[i]) == 0;
    if (!known)
        return args_usage(cmd, "unknown power action '%s' (on, off, soft, cycle, reset, status)",
                          action);
    /* Without waiting, status would only print job ids: the answer is in
     * the job's result. */
    pr.wait = pr.wait || strcmp(action, "status") == 0;
    if (timeout > 0 && !pr.wait)
        return args_usage(cmd, "--timeout needs --wait");
    if (args_hosts(cmd, argv[optind + 1], &pr.hl) != 0)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;

    pr.op = xasprintf("power %s", action);
    pr.format = cli->format;
    pr.items = xcalloc(pr.hl.count, sizeof(*pr.items));
    start_all(c, &pr, action);
    int64_t t0 = ul_mono_ms();
    pr.outcome = pr.wait ? jw_wait(c, pr.items, pr.hl.count, timeout) : JW_DONE;
    pr.waited_s = (double)(ul_mono_ms() - t0) / 1000.0;
    rc = report(&pr, cli->format);
out:
    if (pr.items)
        jw_items_clear(pr.items, pr.hl.count);
    free(pr.items);
    free(pr.op);
    hostlist_free(&pr.hl);
    return rc;
}
