/* cmd_telemetry.c - what underlayd's background poller collected, read
 * without asking a BMC: fleet (every node's health, power and inlet
 * temperature at a glance), health (the daemon's, or nodes'), history (the
 * sensors with stored history, or one sensor's series) and graph (a PNG of
 * one sensor's history, or of every sensor of a kind). */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "args.h"
#include "cli.h"
#include "fanout.h"
#include "jsonv.h"
#include "ultime.h"
#include "xalloc.h"

static const char fleet_usage[] =
    "Usage: underlay fleet [--label K=V]...\n"
    "\n"
    "Summarise every node underlayd's background poller knows: counts by health\n"
    "and by power state, the total power draw, then NODE HEALTH POWER INLET(°C)\n"
    "POWER(W), sorted by name ('-': not reported).  Nothing is asked of the BMCs:\n"
    "this is what the latest polls found.  HEALTH is ok, degraded (a sensor is\n"
    "warning or critical, or a poll fails), unreachable, auth_failed or unknown\n"
    "(not polled yet).\n"
    "\n"
    "  --label K=V   only nodes with this label (repeatable; all must match);\n"
    "                the counts and the total are over those nodes\n"
    "\n"
    "-o json prints the server's summary unchanged ({\"by_health\", \"by_power\",\n"
    "\"total_power_watts\", \"nodes_reporting_power\", \"nodes\"}); with --label, the\n"
    "same shape for the matching nodes.\n";

static const char health_usage[] =
    "Usage: underlay health [HOSTLIST]\n"
    "\n"
    "Without HOSTLIST, check that underlayd answers (no token needed); exit 0\n"
    "when it says ok.\n"
    "\n"
    "With HOSTLIST, show each node's health as underlayd's background poller\n"
    "sees it, without asking the BMCs: NODE HEALTH POWER LAST_SUCCESS LAST_ERROR.\n"
    "HEALTH is ok, degraded, unreachable, auth_failed or unknown (not polled\n"
    "yet); LAST_ERROR is the latest failed poll (TIME KIND: MESSAGE), kept after\n"
    "the node recovers.  The exit status says whether the health could be read\n"
    "(0, 1 when no node's could, 3 when some could), not what it is: use\n"
    "-o json for scripts.\n";

static const char history_usage[] =
    "Usage: underlay history NODE [SENSOR] [--kind K]\n"
    "                        [--range R | --since T [--until T]] [--resolution S] [--cf CF]\n"
    "\n"
    "Without SENSOR, list the sensors of NODE that have stored history (RRD),\n"
    "as SENSOR KIND SINCE, in the order they first appeared.  With SENSOR, print\n"
    "its series as TIME VALUE rows, oldest first ('-': no reading in that step).\n"
    "\n"
    "  --kind K         without SENSOR: only sensors of kind K; with SENSOR: its\n"
    "                   kind, needed only when the name has history under more\n"
    "                   than one kind (temperature, fan, voltage, current, power,\n"
    "                   other)\n"
    "  --range R        the last 1h, 6h, 1d (the default), 1w, 1m or 1y\n"
    "  --since T        from T instead (RFC 3339 UTC, epoch seconds, or an age\n"
    "                   such as 30m, 12h, 7d)\n"
    "  --until T        up to T (default: now); needs --since\n"
    "  --resolution S   seconds per point wanted (default: the finest stored)\n"
    "  --cf CF          how points are consolidated: average (default), min, max\n"
    "                   or last\n"
    "\n"
    "-o json prints the server's reply: {\"node\", \"sensors\": [...]} for the list,\n"
    "{\"node\", \"sensor\", \"kind\", \"cf\", \"step\", \"start\", \"end\", \"points\"} for a\n"
    "series.\n";

static const char graph_usage[] =
    "Usage: underlay graph NODE SENSOR -o FILE [--kind K]\n"
    "                      [--range R | --since T [--until T]] [--width W] [--height H]\n"
    "\n"
    "Draw the stored history of NODE's sensor SENSOR into the PNG image FILE.\n"
    "SENSOR is a sensor name ('Inlet Temp'), or a kind, meaning every sensor of\n"
    "that kind in one graph: temperature, fan, voltage, current or power (fans,\n"
    "temperatures... work too).  'underlay history NODE' lists the sensors.\n"
    "\n"
    "  -o, --output FILE  where to write the image, required; '-' writes it to\n"
    "                     standard output, which must not be a terminal\n"
    "  --kind K           the sensor's kind, needed only when its name has history\n"
    "                     under several kinds, or is itself a kind word\n"
    "  --range R          the last 1h, 6h, 1d (the default), 1w, 1m or 1y\n"
    "  --since T          from T instead (RFC 3339 UTC, epoch seconds, or an age\n"
    "                     such as 30m, 12h, 7d)\n"
    "  --until T          up to T (default: now); needs --since\n"
    "  --width W          plot width in pixels, 100 to 4000 (default 800)\n"
    "  --height H         plot height in pixels, 50 to 2000 (default 250)\n"
    "\n"
    "This -o comes after the command and names the file; the global -o (table or\n"
    "json), before the command, shapes the line that reports what was written.\n"
    "FILE is written only when the server sent a PNG image; on an error it is\n"
    "left as it was.\n";

/* Words an operator may use for a kind that has history (every kind whose
 * sensors give a value).  "other" is missing on purpose: as a SENSOR operand
 * it is likelier a sensor's name than a wish for a graph of every
 * unclassified sensor; --kind takes it. */
static const struct {
    const char *word, *kind;
} kind_words[] = {
    {"temperature", "temperature"},
    {"temperatures", "temperature"},
    {"fan", "fan"},
    {"fans", "fan"},
    {"voltage", "voltage"},
    {"voltages", "voltage"},
    {"current", "current"},
    {"currents", "current"},
    {"power", "power"},
};

static const char *const ranges[] = {"1h", "6h", "1d", "1w", "1m", "1y"};
static const char *const cfs[] = {"average", "min", "max", "last"};

/* The unit a kind's values are in, as `sensors` shows it. */
static const char *kind_unit(const char *kind)
{
    static const char *const map[][2] = {
        {"temperature", "C"}, {"fan", "RPM"}, {"voltage", "V"}, {"current", "A"}, {"power", "W"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(kind, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

/* The kind a word names (kind_words), or NULL. */
static const char *kind_of_word(const char *word)
{
    for (size_t i = 0; i < sizeof(kind_words) / sizeof(kind_words[0]); i++)
        if (strcmp(word, kind_words[i].word) == 0)
            return kind_words[i].kind;
    return NULL;
}

/* --kind: a kind word or "other"; *out the kind. */
static int check_kind(const char *cmd, const char *arg, const char **out)
{
    const char *k = strcmp(arg, "other") == 0 ? "other" : kind_of_word(arg);
    if (!k) {
        args_usage(cmd,
                   "--kind: '%s' is not one of temperature, fan, voltage, current, power, "
                   "other",
                   arg);
        return -1;
    }
    *out = k;
    return 0;
}

/* One of words[n], compared as cmp does; -1 with a usage error otherwise. */
static int check_word(const char *cmd, const char *opt, const char *arg, const char *const *words,
                      size_t n, int (*cmp)(const char *, const char *))
{
    for (size_t i = 0; i < n; i++)
        if (cmp(arg, words[i]) == 0)
            return 0;
    char *all = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *next = xasprintf("%s%s%s", all, i ? ", " : "", words[i]);
        free(all);
        all = next;
    }
    args_usage(cmd, "%s: expected one of %s, not '%s'", opt, all, arg);
    free(all);
    return -1;
}

/* The time window of history and graph, as given. */
struct span {
    const char *range;      /* --range, or NULL */
    long long since, until; /* --since / --until in epoch seconds; -1 when not given */
};

/* The span options' getopt values, above those of the commands' own. */
enum { O_RANGE = 300, O_SINCE, O_UNTIL };

/* Handle the span options; returns 1 when ch was one of them (0: not one),
 * -1 on a usage error. */
static int span_option(const char *cmd, int ch, const char *arg, struct span *sp)
{
    switch (ch) {
    case O_RANGE:
        if (check_word(cmd, "--range", arg, ranges, sizeof(ranges) / sizeof(ranges[0]), strcmp))
            return -1;
        sp->range = arg;
        return 1;
    case O_SINCE:
        return args_time(cmd, "--since", arg, &sp->since) == 0 ? 1 : -1;
    case O_UNTIL:
        return args_time(cmd, "--until", arg, &sp->until) == 0 ? 1 : -1;
    default:
        return 0;
    }
}

/* After parsing: the combinations the API cannot take. */
static int span_check(const char *cmd, const struct span *sp)
{
    if (sp->range && (sp->since >= 0 || sp->until >= 0)) {
        args_usage(cmd, "give --range or --since/--until, not both");
        return -1;
    }
    if (sp->until >= 0 && sp->since < 0) {
        args_usage(cmd, "--until needs --since");
        return -1;
    }
    if (sp->since >= 0 && sp->until >= 0 && sp->since >= sp->until) {
        args_usage(cmd, "--since must be earlier than --until");
        return -1;
    }
    return 0;
}

static bool span_given(const struct span *sp)
{
    return sp->range || sp->since >= 0 || sp->until >= 0;
}

static void span_query(struct cl_client *c, char **path, const struct span *sp)
{
    char num[32];
    if (sp->range)
        cl_query_add(c, path, "range", sp->range);
    if (sp->since >= 0) {
        snprintf(num, sizeof(num), "%lld", sp->since);
        cl_query_add(c, path, "start", num);
    }
    if (sp->until >= 0) {
        snprintf(num, sizeof(num), "%lld", sp->until);
        cl_query_add(c, path, "end", num);
    }
}

/* "/api/v1/nodes/NODE/what"; newly allocated. */
static char *node_path(struct cl_client *c, const char *node, const char *what)
{
    char *esc = cl_escape(c, node);
    char *p = xasprintf("/api/v1/nodes/%s/%s", esc, what);
    free(esc);
    return p;
}

/* GET the node's list of sensors with history: the reply (new reference),
 * or NULL after printing why as "NODE: OP: message". */
static json_object *get_history(struct cl_client *c, const char *node, const char *op)
{
    struct cl_reply r;
    char *path = node_path(c, node, "history");
    json_object *body = NULL;
    if (cl_request(c, "GET", path, NULL, &r) == CL_OK)
        body = json_object_get(r.body);
    else
        out_err("%s: %s: %s", node, op, r.message);
    cl_reply_clear(&r);
    free(path);
    return body;
}

/* The kind of node's sensor from its history: every kind the name has
 * history under.  Returns the kind (newly allocated), or NULL with *rc set
 * after printing why: CLI_EXIT_ERROR when the name has no history (or the
 * request failed), CLI_EXIT_USAGE when it has several kinds. */
static char *sensor_kind(struct cl_client *c, const char *cmd, const char *op, const char *node,
                         const char *sensor, int *rc)
{
    json_object *h = get_history(c, node, op), *list = NULL;
    char *kinds = NULL, *found = NULL;
    size_t nfound = 0;

    *rc = CLI_EXIT_ERROR;
    if (!h)
        return NULL;
    json_object_object_get_ex(h, "sensors", &list);
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i);
        const char *name = jv_str(e, "sensor"), *kind = jv_str(e, "kind");
        if (!name || !kind || strcmp(name, sensor) != 0)
            continue;
        char *next = xasprintf("%s%s%s", kinds ? kinds : "", kinds ? ", " : "", kind);
        free(kinds);
        kinds = next;
        if (!found)
            found = xstrdup(kind);
        nfound++;
    }
    if (nfound == 1) {
        *rc = CLI_EXIT_OK;
    } else if (nfound > 1) {
        args_usage(cmd, "sensor '%s' of node %s has history under several kinds (%s): give --kind",
                   sensor, node, kinds);
        *rc = CLI_EXIT_USAGE;
        free(found);
        found = NULL;
    } else {
        const char *k = kind_of_word(sensor);
        if (k)
            out_err("%s: %s: no sensor named '%s' has history; for every %s sensor: "
                    "'underlay history %s --kind %s'",
                    node, op, sensor, k, node, k);
        else
            out_err("%s: %s: no sensor named '%s' has history (the names are listed by "
                    "'underlay history %s')",
                    node, op, sensor, node);
    }
    free(kinds);
    json_object_put(h);
    return found;
}

/* ---- fleet ---- */

static const char *const health_words[] = {"ok", "degraded", "unreachable", "auth_failed",
                                           "unknown"};
static const char *const power_words[] = {"on", "off", "unknown"};

static int by_node_name(const void *a, const void *b)
{
    const char *x = jv_str(*(json_object *const *)a, "node");
    const char *y = jv_str(*(json_object *const *)b, "node");
    return strcmp(x ? x : "", y ? y : "");
}

/* The fleet summary recomputed over the nodes of fleet that names holds
 * (an array of node objects from GET /api/v1/nodes); new object. */
static json_object *fleet_subset(json_object *fleet, json_object *names)
{
    json_object *nodes = NULL, *kept = json_object_new_array();
    long long by_health[sizeof(health_words) / sizeof(health_words[0])] = {0};
    long long by_power[sizeof(power_words) / sizeof(power_words[0])] = {0};
    double total = 0;
    long long reporting = 0;

    json_object_object_get_ex(fleet, "nodes", &nodes);
    size_t n = json_object_is_type(nodes, json_type_array) ? json_object_array_length(nodes) : 0;
    size_t nnames = json_object_array_length(names);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(nodes, i), *w = NULL;
        const char *name = jv_str(o, "node");
        bool match = false;
        for (size_t k = 0; name && !match && k < nnames; k++) {
            const char *nm = jv_str(json_object_array_get_idx(names, k), "name");
            match = nm && strcmp(nm, name) == 0;
        }
        if (!match)
            continue;
        json_object_array_add(kept, json_object_get(o));
        const char *h = jv_str(o, "health"), *p = jv_str(o, "power");
        for (size_t k = 0; k < sizeof(health_words) / sizeof(health_words[0]); k++)
            by_health[k] += h && strcmp(h, health_words[k]) == 0;
        for (size_t k = 0; k < sizeof(power_words) / sizeof(power_words[0]); k++)
            by_power[k] += p && strcmp(p, power_words[k]) == 0;
        if (json_object_object_get_ex(o, "power_watts", &w) &&
            (json_object_is_type(w, json_type_double) || json_object_is_type(w, json_type_int))) {
            total += json_object_get_double(w);
            reporting++;
        }
    }
    json_object *out = json_object_new_object(), *h = json_object_new_object(),
                *p = json_object_new_object();
    for (size_t k = 0; k < sizeof(health_words) / sizeof(health_words[0]); k++)
        json_object_object_add(h, health_words[k], json_object_new_int64(by_health[k]));
    for (size_t k = 0; k < sizeof(power_words) / sizeof(power_words[0]); k++)
        json_object_object_add(p, power_words[k], json_object_new_int64(by_power[k]));
    json_object_object_add(out, "by_health", h);
    json_object_object_add(out, "by_power", p);
    json_object_object_add(out, "total_power_watts", json_object_new_double(total));
    json_object_object_add(out, "nodes_reporting_power", json_object_new_int64(reporting));
    json_object_object_add(out, "nodes", kept);
    return out;
}

/* "3 nodes: 2 ok, 1 unreachable": the non-zero counts of obj's words, in
 * the order given, after lead. */
static void print_counts(const char *lead, json_object *obj, const char *const *words, size_t n)
{
    fputs(lead, stdout);
    const char *sep = ": ";
    for (size_t k = 0; k < n; k++) {
        json_object *v = NULL;
        long long count = 0;
        if (json_object_object_get_ex(obj, words[k], &v))
            count = json_object_get_int64(v);
        if (count) {
            printf("%s%lld %s", sep, count, words[k]);
            sep = ", ";
        }
    }
    putchar('\n');
}

/* The number under key in obj, formatted; "-" when absent or null. */
static char *number_field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return xstrdup("-");
    return out_number(json_object_get_double(v));
}

static const char *const fleet_headers[] = {"NODE", "HEALTH", "POWER", "INLET(°C)", "POWER(W)"};

static void print_fleet(json_object *fleet)
{
    json_object *nodes = NULL, *bh = NULL, *bp = NULL, *v = NULL;
    json_object_object_get_ex(fleet, "nodes", &nodes);
    json_object_object_get_ex(fleet, "by_health", &bh);
    json_object_object_get_ex(fleet, "by_power", &bp);
    size_t n = json_object_is_type(nodes, json_type_array) ? json_object_array_length(nodes) : 0;

    char *lead = xasprintf("%zu node%s", n, n == 1 ? "" : "s");
    print_counts(lead, bh, health_words, sizeof(health_words) / sizeof(health_words[0]));
    free(lead);
    print_counts("power", bp, power_words, sizeof(power_words) / sizeof(power_words[0]));
    long long reporting = 0;
    if (json_object_object_get_ex(fleet, "nodes_reporting_power", &v))
        reporting = json_object_get_int64(v);
    if (reporting) {
        char *total = number_field(fleet, "total_power_watts");
        printf("power draw: %s W in all, from %lld of %zu node%s\n", total, reporting, n,
               n == 1 ? "" : "s");
        free(total);
    } else {
        puts("power draw: no node reports it");
    }
    putchar('\n');

    if (n)
        json_object_array_sort(nodes, by_node_name);
    struct out_table *t = out_table_new(5, fleet_headers);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(nodes, i);
        char *cells[] = {out_field(o, "node"), out_field(o, "health"), out_field(o, "power"),
                         number_field(o, "inlet_celsius"), number_field(o, "power_watts")};
        out_table_add(t, (const char *const *)cells);
        for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); k++)
            free(cells[k]);
    }
    out_table_print(t, stdout);
    out_table_free(t);
}

int cmd_fleet(struct cli *cli, int argc, char **argv)
{
    enum { O_LABEL = 256 };
    static const struct option opts[] = {
        {"label", required_argument, NULL, O_LABEL},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char **labels = xcalloc((size_t)argc, sizeof(char *));
    size_t nlabels = 0;
    json_object *list = NULL, *subset = NULL;
    struct cl_reply r = {0}, err = {0};
    char *path = NULL;
    int ch, rc = CLI_EXIT_USAGE;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_LABEL:
            if (optarg[0] == '=' || !strchr(optarg, '=')) {
                args_usage(cmd, "--label: expected KEY=VALUE, not '%s'", optarg);
                goto out;
            }
            labels[nlabels++] = optarg;
            break;
        case 'h':
            fputs(fleet_usage, stdout);
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
    rc = CLI_EXIT_ERROR;
    if (cl_request(c, "GET", "/api/v1/fleet", NULL, &r) != CL_OK) {
        out_err("fleet: %s", r.message);
        goto out;
    }
    json_object *fleet = r.body;
    if (nlabels) {
        /* The fleet summary has no filters: the node list has them. */
        path = xstrdup("/api/v1/nodes");
        for (size_t i = 0; i < nlabels; i++)
            cl_query_add(c, &path, "label", labels[i]);
        if (cl_list(c, path, 0, 0, &list, &err) != CL_OK) {
            out_err("fleet: %s", err.message);
            goto out;
        }
        subset = fleet_subset(fleet, json_object_object_get(list, "items"));
        fleet = subset;
    }
    if (cli->format == OUT_JSON)
        out_json(fleet);
    else
        print_fleet(fleet);
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&r);
    cl_reply_clear(&err);
    json_object_put(list);
    json_object_put(subset);
    free(path);
    free(labels);
    return rc;
}

/* ---- health ---- */

/* The daemon's own health: GET /healthz, which needs no token. */
static int daemon_health(struct cli *cli)
{
    struct cl_reply r;
    int rc;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    if (cl_request(c, "GET", "/healthz", NULL, &r) != CL_OK) {
        out_err("health: %s", r.message);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    const char *status = jv_str(r.body, "status");
    if (cli->format == OUT_JSON) {
        out_json(r.body);
    } else {
        char *v[] = {out_field(r.body, "status"), out_field(r.body, "version")};
        static const char *const keys[] = {"status", "version"};
        out_kv(keys, (const char *const *)v, 2);
        free(v[0]);
        free(v[1]);
    }
    rc = status && strcmp(status, "ok") == 0 ? CLI_EXIT_OK : CLI_EXIT_ERROR;
out:
    cl_reply_clear(&r);
    return rc;
}

static const char *const health_headers[] = {"NODE", "HEALTH", "POWER", "LAST_SUCCESS",
                                             "LAST_ERROR"};

static void health_row(struct out_table *t, const char *host, json_object *h)
{
    json_object *le = NULL;
    char *err;
    json_object_object_get_ex(h, "last_error", &le);
    if (json_object_is_type(le, json_type_object))
        err = xasprintf("%s %s: %s", jv_str(le, "time") ? jv_str(le, "time") : "-",
                        jv_str(le, "kind") ? jv_str(le, "kind") : "-",
                        jv_str(le, "message") ? jv_str(le, "message") : "-");
    else
        err = xstrdup("-");
    char *cells[] = {xstrdup(host), out_field(h, "health"), out_field(h, "power"),
                     out_field(h, "last_success"), err};
    out_table_add(t, (const char *const *)cells);
    for (size_t k = 0; k < sizeof(cells) / sizeof(cells[0]); k++)
        free(cells[k]);
}

/* Each node's health: one GET per node, going on past nodes that fail. */
static int nodes_health(struct cli *cli, const char *cmd, const char *expr)
{
    hostlist hl = {0};
    struct fo f;
    int rc = CLI_EXIT_USAGE;

    if (args_hosts(cmd, expr, &hl) != 0)
        return CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;
    fo_init(&f, "health");
    struct out_table *t = out_table_new(5, health_headers);
    bool lost = false;
    for (size_t i = 0; i < hl.count; i++) {
        if (lost) {
            fo_skip(&f, fo_node(hl.hosts[i]));
            continue;
        }
        struct cl_reply r;
        char *path = node_path(c, hl.hosts[i], "health");
        enum cl_status st = cl_request(c, "GET", path, NULL, &r);
        if (st == CL_OK) {
            health_row(t, hl.hosts[i], r.body);
            fo_ok(&f, fo_node(hl.hosts[i]), "health", json_object_get(r.body));
        } else {
            fo_fail_reply(&f, fo_node(hl.hosts[i]), &r);
            if (st == CL_TRANSPORT_ERROR) {
                lost = true;
                fo_stopped(f.op, hl.count - i - 1);
            }
        }
        cl_reply_clear(&r);
        free(path);
    }
    if (cli->format == OUT_TABLE && f.ok)
        out_table_print(t, stdout);
    out_table_free(t);
    rc = fo_finish(&f, cli->format);
    fo_free(&f);
out:
    hostlist_free(&hl);
    return rc;
}

int cmd_health(struct cli *cli, int argc, char **argv)
{
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, health_usage, &rc);

    if (first < 0)
        return rc;
    if (argc - first > 1)
        return args_usage(argv[0], "expected at most one HOSTLIST, got %d arguments (quote it?)",
                          argc - first);
    return first < argc ? nodes_health(cli, argv[0], argv[first]) : daemon_health(cli);
}

/* ---- history ---- */

static const char *const list_headers[] = {"SENSOR", "KIND", "SINCE"};

/* The sensors with history, filtered by kind (NULL: all).  Returns the
 * number of rows. */
static size_t print_history_list(json_object *h, const char *kind)
{
    size_t rows = 0;
    json_object *list = NULL;
    json_object_object_get_ex(h, "sensors", &list);
    size_t n = json_object_is_type(list, json_type_array) ? json_object_array_length(list) : 0;
    struct out_table *t = out_table_new(3, list_headers);
    for (size_t i = 0; i < n; i++) {
        json_object *e = json_object_array_get_idx(list, i), *created = NULL;
        const char *k = jv_str(e, "kind");
        if (kind && (!k || strcmp(k, kind) != 0))
            continue;
        char since[32] = "-";
        if (json_object_object_get_ex(e, "created", &created) &&
            json_object_is_type(created, json_type_int))
            ul_time_rfc3339(json_object_get_int64(created), since, sizeof(since));
        char *cells[] = {out_field(e, "sensor"), out_field(e, "kind"), xstrdup(since)};
        out_table_add(t, (const char *const *)cells);
        for (size_t k2 = 0; k2 < sizeof(cells) / sizeof(cells[0]); k2++)
            free(cells[k2]);
        rows++;
    }
    out_table_print(t, stdout);
    out_table_free(t);
    return rows;
}

/* h with its sensor list cut to kind; new object. */
static json_object *history_of_kind(json_object *h, const char *kind)
{
    json_object *out = json_object_new_object(), *kept = json_object_new_array();
    json_object_object_foreach(h, key, val)
    {
        if (strcmp(key, "sensors") != 0) {
            json_object_object_add(out, key, json_object_get(val));
            continue;
        }
        size_t n = json_object_is_type(val, json_type_array) ? json_object_array_length(val) : 0;
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(val, i);
            const char *k = jv_str(e, "kind");
            if (k && strcmp(k, kind) == 0)
                json_object_array_add(kept, json_object_get(e));
        }
    }
    json_object_object_add(out, "sensors", kept);
    return out;
}

static const char *const series_headers[] = {"TIME", "VALUE"};

/* The value of a series point [t, v], borrowed; NULL when v is null. */
static json_object *point_value(json_object *p)
{
    json_object *v = NULL;
    if (json_object_is_type(p, json_type_array) && json_object_array_length(p) == 2)
        v = json_object_array_get_idx(p, 1);
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int))
        return v;
    return NULL;
}

static void print_series(json_object *s)
{
    json_object *points = NULL, *v = NULL;
    json_object_object_get_ex(s, "points", &points);
    size_t n = json_object_is_type(points, json_type_array) ? json_object_array_length(points) : 0;
    size_t with_value = 0;
    struct out_table *t = out_table_new(2, series_headers);
    /* Rows before the first value say only that the range reaches back past
     * the sensor's history: leave them out (-o json has them). */
    size_t first = 0;
    while (first < n && !point_value(json_object_array_get_idx(points, first)))
        first++;
    for (size_t i = first; i < n; i++) {
        json_object *p = json_object_array_get_idx(points, i);
        json_object *jt = json_object_array_get_idx(p, 0), *jv = point_value(p);
        char when[32] = "-";
        if (json_object_is_type(jt, json_type_int))
            ul_time_rfc3339(json_object_get_int64(jt), when, sizeof(when));
        bool has = jv != NULL;
        char *val = has ? out_number(json_object_get_double(jv)) : xstrdup("-");
        with_value += has;
        const char *row[] = {when, val};
        out_table_add(t, row);
        free(val);
    }
    out_table_print(t, stdout);
    out_table_free(t);

    const char *kind = jv_str(s, "kind");
    const char *unit = kind ? kind_unit(kind) : NULL;
    char *sensor = out_clean(jv_str(s, "sensor")), *cf = out_clean(jv_str(s, "cf"));
    long long step = json_object_object_get_ex(s, "step", &v) ? json_object_get_int64(v) : 0;
    printf("%s (%s%s%s): %zu of %zu point%s with a value, one per %lld s (%s)\n", sensor,
           kind ? kind : "-", unit ? ", " : "", unit ? unit : "", with_value, n, n == 1 ? "" : "s",
           step, cf);
    free(sensor);
    free(cf);
}

int cmd_history(struct cli *cli, int argc, char **argv)
{
    enum { O_KIND = 256, O_RESOLUTION, O_CF };
    static const struct option opts[] = {
        {"kind", required_argument, NULL, O_KIND},
        {"range", required_argument, NULL, O_RANGE},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"resolution", required_argument, NULL, O_RESOLUTION},
        {"cf", required_argument, NULL, O_CF},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *kind_opt = NULL, *cf = NULL;
    struct span sp = {NULL, -1, -1};
    long long resolution = 0;
    json_object *out = NULL;
    char *kind = NULL, *path = NULL;
    struct cl_reply r = {0};
    int ch, rc;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        int s = span_option(cmd, ch, optarg, &sp);
        if (s < 0)
            return CLI_EXIT_USAGE;
        if (s > 0)
            continue;
        switch (ch) {
        case O_KIND:
            if (check_kind(cmd, optarg, &kind_opt) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_RESOLUTION:
            if (args_int(cmd, "--resolution", optarg, 1, 366LL * 86400, &resolution) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_CF:
            if (check_word(cmd, "--cf", optarg, cfs, sizeof(cfs) / sizeof(cfs[0]), strcasecmp))
                return CLI_EXIT_USAGE;
            cf = optarg;
            break;
        case 'h':
            fputs(history_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2)
        return args_usage(cmd, "expected a node NAME and an optional SENSOR (quote a name "
                               "with spaces)");
    const char *node = argv[optind];
    const char *sensor = nargs == 2 ? argv[optind + 1] : NULL;
    if (args_node(cmd, node) != 0 || span_check(cmd, &sp) != 0)
        return CLI_EXIT_USAGE;
    if (sensor && !*sensor)
        return args_usage(cmd, "the SENSOR name is empty");
    if (!sensor && (span_given(&sp) || resolution || cf))
        return args_usage(cmd, "--range, --since, --until, --resolution and --cf apply to a "
                               "SENSOR's series");
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    if (!sensor) {
        json_object *h = get_history(c, node, "history");
        if (!h)
            return CLI_EXIT_ERROR;
        if (cli->format == OUT_JSON) {
            out = kind_opt ? history_of_kind(h, kind_opt) : json_object_get(h);
            out_json(out);
        } else if (print_history_list(h, kind_opt) == 0) {
            out_err("%s: no sensor%s%s has history yet (the background poller records it)", node,
                    kind_opt ? " of kind " : "", kind_opt ? kind_opt : "");
        }
        json_object_put(h);
        json_object_put(out);
        return CLI_EXIT_OK;
    }

    kind = kind_opt ? xstrdup(kind_opt) : sensor_kind(c, cmd, "history", node, sensor, &rc);
    if (!kind)
        return rc;
    rc = CLI_EXIT_ERROR;
    path = node_path(c, node, "series");
    cl_query_add(c, &path, "sensor", sensor);
    cl_query_add(c, &path, "kind", kind);
    span_query(c, &path, &sp);
    if (resolution) {
        char num[32];
        snprintf(num, sizeof(num), "%lld", resolution);
        cl_query_add(c, &path, "resolution", num);
    }
    if (cf)
        cl_query_add(c, &path, "cf", cf);
    if (cl_request(c, "GET", path, NULL, &r) != CL_OK) {
        out_err("%s: history: %s", node, r.message);
        goto out;
    }
    if (cli->format == OUT_JSON)
        out_json(r.body);
    else
        print_series(r.body);
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&r);
    free(path);
    free(kind);
    return rc;
}

/* ---- graph ---- */

static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

/* Write len bytes to fd; 0, or -1 with errno set. */
static int write_all(int fd, const unsigned char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Write the image to path ("-": standard output).  A file that did not
 * exist is removed again when writing fails.  Returns 0, or -1 after
 * printing why. */
static int write_image(const char *node, const char *path, const unsigned char *png, size_t len)
{
    if (strcmp(path, "-") == 0) {
        if (fwrite(png, 1, len, stdout) != len || fflush(stdout) != 0) {
            out_err("%s: graph: cannot write the image to standard output: %s", node,
                    strerror(errno));
            return -1;
        }
        return 0;
    }
    bool created = true;
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
    }
    if (fd < 0) {
        out_err("%s: graph: cannot open '%s': %s", node, path, strerror(errno));
        return -1;
    }
    int rc = write_all(fd, png, len);
    int saved = errno;
    if (close(fd) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        out_err("%s: graph: cannot write '%s': %s", node, path, strerror(saved));
        if (created)
            unlink(path);
    }
    return rc;
}

/* What was written, for the operator (table) or a script (-o json). */
static void print_written(enum out_format format, const char *node, const char *sensor,
                          const char *kind, const struct span *sp, const char *file, size_t len)
{
    if (format == OUT_JSON) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "node", json_object_new_string(node));
        json_object_object_add(o, "sensor", sensor ? json_object_new_string(sensor) : NULL);
        json_object_object_add(o, "kind", json_object_new_string(kind));
        if (sp->range || sp->since < 0)
            json_object_object_add(o, "range",
                                   json_object_new_string(sp->range ? sp->range : "1d"));
        if (sp->since >= 0)
            json_object_object_add(o, "start", json_object_new_int64(sp->since));
        if (sp->until >= 0)
            json_object_object_add(o, "end", json_object_new_int64(sp->until));
        json_object_object_add(o, "file", json_object_new_string(file));
        json_object_object_add(o, "bytes", json_object_new_int64((int64_t)len));
        out_json(o);
        json_object_put(o);
        return;
    }
    char *what = sensor ? xasprintf("%s (%s)", sensor, kind) : xasprintf("every %s sensor", kind);
    char *when;
    if (sp->since >= 0) {
        char a[32], b[32] = "now";
        ul_time_rfc3339(sp->since, a, sizeof(a));
        if (sp->until >= 0)
            ul_time_rfc3339(sp->until, b, sizeof(b));
        when = xasprintf("%s to %s", a, b);
    } else {
        when = xasprintf("the last %s", sp->range ? sp->range : "1d");
    }
    char *line = xasprintf("wrote %s (%zu bytes): %s of %s, %s", file, len, what, node, when);
    char *clean = out_clean(line);
    puts(clean);
    free(clean);
    free(line);
    free(when);
    free(what);
}

int cmd_graph(struct cli *cli, int argc, char **argv)
{
    enum { O_KIND = 256, O_WIDTH, O_HEIGHT };
    static const struct option opts[] = {
        {"output", required_argument, NULL, 'o'},
        {"kind", required_argument, NULL, O_KIND},
        {"range", required_argument, NULL, O_RANGE},
        {"since", required_argument, NULL, O_SINCE},
        {"until", required_argument, NULL, O_UNTIL},
        {"width", required_argument, NULL, O_WIDTH},
        {"height", required_argument, NULL, O_HEIGHT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *file = NULL, *kind_opt = NULL;
    struct span sp = {NULL, -1, -1};
    long long width = 0, height = 0;
    unsigned char *png = NULL;
    size_t len = 0;
    char *kind = NULL, *path = NULL;
    struct cl_reply r = {0};
    int ch, rc;

    while ((ch = args_getopt(argc, argv, "ho:", opts)) != -1) {
        int s = span_option(cmd, ch, optarg, &sp);
        if (s < 0)
            return CLI_EXIT_USAGE;
        if (s > 0)
            continue;
        switch (ch) {
        case 'o':
            if (!*optarg)
                return args_usage(cmd, "--output: the FILE name is empty");
            file = optarg;
            break;
        case O_KIND:
            if (check_kind(cmd, optarg, &kind_opt) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_WIDTH:
            if (args_int(cmd, "--width", optarg, 100, 4000, &width) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_HEIGHT:
            if (args_int(cmd, "--height", optarg, 50, 2000, &height) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(graph_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 2)
        return args_usage(cmd, "expected a node NAME and a SENSOR (a name, quoted if it has "
                               "spaces, or a kind such as temperature)");
    const char *node = argv[optind], *sensor = argv[optind + 1];
    if (args_node(cmd, node) != 0 || span_check(cmd, &sp) != 0)
        return CLI_EXIT_USAGE;
    if (!*sensor)
        return args_usage(cmd, "the SENSOR is empty");
    if (!file)
        return args_usage(cmd, "-o FILE is required (after the command: 'underlay graph NODE "
                               "SENSOR -o FILE.png'; '-o -' for standard output)");
    if (strcmp(file, "-") == 0 && isatty(STDOUT_FILENO))
        return args_usage(cmd, "-o -: standard output is a terminal; redirect it, or give -o "
                               "FILE");
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    if (kind_opt) {
        kind = xstrdup(kind_opt);
    } else if (kind_of_word(sensor)) {
        kind = xstrdup(kind_of_word(sensor));
        sensor = NULL; /* every sensor of the kind */
    } else {
        kind = sensor_kind(c, cmd, "graph", node, sensor, &rc);
        if (!kind)
            return rc;
    }
    rc = CLI_EXIT_ERROR;
    path = node_path(c, node, "graph");
    cl_query_add(c, &path, "kind", kind);
    if (sensor)
        cl_query_add(c, &path, "sensor", sensor);
    span_query(c, &path, &sp);
    char num[32];
    if (width) {
        snprintf(num, sizeof(num), "%lld", width);
        cl_query_add(c, &path, "width", num);
    }
    if (height) {
        snprintf(num, sizeof(num), "%lld", height);
        cl_query_add(c, &path, "height", num);
    }
    if (cl_get_bytes(c, path, "image/png", &png, &len, &r) != CL_OK) {
        out_err("%s: graph: %s", node, r.message);
        goto out;
    }
    /* Never write anything but an image: a proxy's error page or a wrong
     * server must not end up in a file named .png. */
    if (len < sizeof(png_magic) || memcmp(png, png_magic, sizeof(png_magic)) != 0) {
        out_err("%s: graph: the reply is not a PNG image (%zu bytes, HTTP %ld); nothing was "
                "written",
                node, len, r.http_status);
        goto out;
    }
    if (write_image(node, file, png, len) != 0)
        goto out;
    if (strcmp(file, "-") != 0)
        print_written(cli->format, node, sensor, kind, &sp, file, len);
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&r);
    free(png);
    free(path);
    free(kind);
    return rc;
}
