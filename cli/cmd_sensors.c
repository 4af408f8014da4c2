/* cmd_sensors.c - sensors NODE: read every sensor of a node's BMC now, with
 * its thresholds, and the power reading where the BMC has one; or, with
 * --cached, show what underlayd's background poller read last. */
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

static const char sensors_usage[] =
    "Usage: underlay sensors HOSTLIST [--cached] [--kind K] [--status S] [--timeout SECONDS]\n"
    "\n"
    "Read every sensor of each node's BMC now (a sensors job) and print\n"
    "NAME KIND VALUE UNIT STATUS LC LNC UNC UC STATE, a count by status and the\n"
    "BMC's power reading.  LC, LNC, UNC and UC are the lower critical, lower\n"
    "non-critical, upper non-critical and upper critical thresholds ('-': not\n"
    "set on this sensor); -o json also has the non-recoverable ones.  STATE is\n"
    "the BMC's word for the reading, the only one for discrete sensors.\n"
    "\n"
    "  --kind K      only sensors of kind K: temperature, fan, voltage, current,\n"
    "                power, discrete or other (a comma-separated list for several)\n"
    "  --status S    only sensors whose status is S: ok, warning, critical or\n"
    "                unknown (a comma-separated list for several)\n"
    "  --cached      show the readings of underlayd's latest background poll\n"
    "                instead of asking the BMC (no job; fails when the poller\n"
    "                has no readings for NODE yet), and when they were taken\n"
    "  --timeout S   the job's deadline in whole seconds (default: the server's)\n"
    "\n"
    "The filters apply to the table and to -o json, which prints the job's\n"
    "result (with --cached: {\"node\", \"time\", \"sensors\", \"power_reading\"});\n"
    "the count by status is over all sensors.\n"
    "\n"
    "HOSTLIST (rack1-n[01-08]) reads several nodes, as ipmi-sensors -h does:\n"
    "one table with a NODE column first, then a line per node with its count\n"
    "and power reading; a node that fails is named once on stderr and the\n"
    "others are shown.  -o json then prints [{\"node\", \"ok\", \"result\" or\n"
    "\"error\"}].  Exit status 3 when some nodes failed, 1 when all did.\n";

static const char *const kinds[] = {"temperature", "fan",      "voltage", "current",
                                    "power",       "discrete", "other"};
static const char *const statuses[] = {"ok", "warning", "critical", "unknown"};

/* The threshold columns, lowest to highest, as ipmitool and ipmi-sensors
 * order them.  The non-recoverable ones are left to -o json: they lie past
 * the critical ones, a status of critical already flags them, and two more
 * columns would push the table past 100 characters. */
static const struct {
    const char *header;
    const char *key;
} thresholds[] = {
    {"LC", "lower_critical"},
    {"LNC", "lower_non_critical"},
    {"UNC", "upper_non_critical"},
    {"UC", "upper_critical"},
};
#define NTHRESH (sizeof(thresholds) / sizeof(thresholds[0]))

static const char *const sensor_headers[] = {"NAME", "KIND", "VALUE", "UNIT", "STATUS",
                                             "LC",   "LNC",  "UNC",   "UC",   "STATE"};
#define NCOLS (sizeof(sensor_headers) / sizeof(sensor_headers[0]))

/* The API's unit names in the short form operators know from ipmi-sensors. */
static const char *unit_short(const char *unit)
{
    static const char *const map[][2] = {
        {"celsius", "C"}, {"rpm", "RPM"}, {"volts", "V"}, {"amperes", "A"}, {"watts", "W"},
    };
    if (!unit || !*unit)
        return "-";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(unit, map[i][0]) == 0)
            return map[i][1];
    return unit;
}

/* A --kind or --status argument: a comma-separated list of words from
 * known[].  The list (argv text) is kept as given; matching splits it. */
static int check_list(const char *cmd, const char *opt, const char *arg, const char *const *known,
                      size_t nknown)
{
    const char *p = arg;
    for (;;) {
        size_t len = strcspn(p, ",");
        bool ok = false;
        for (size_t i = 0; i < nknown; i++)
            ok = ok || (strlen(known[i]) == len && strncmp(p, known[i], len) == 0);
        if (!ok) {
            char *all = xstrdup("");
            for (size_t i = 0; i < nknown; i++) {
                char *next = xasprintf("%s%s%s", all, i ? ", " : "", known[i]);
                free(all);
                all = next;
            }
            args_usage(cmd, "%s: '%.*s' is not one of %s", opt, (int)len, p, all);
            free(all);
            return -1;
        }
        if (!p[len])
            return 0;
        p += len + 1;
    }
}

/* True when filter (a checked list, or NULL for none) names word. */
static bool in_list(const char *filter, const char *word)
{
    if (!filter)
        return true;
    if (!word)
        return false;
    size_t wlen = strlen(word);
    for (const char *p = filter;; p++) {
        size_t len = strcspn(p, ",");
        if (len == wlen && strncmp(p, word, len) == 0)
            return true;
        p += len;
        if (!*p)
            return false;
    }
}

/* The number under key in obj, formatted; "-" when absent or not a number. */
static char *number_field(json_object *obj, const char *key)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(obj, key, &v) ||
        !(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)))
        return xstrdup("-");
    return out_number(json_object_get_double(v));
}

static void sensor_row(struct out_table *t, json_object *s)
{
    json_object *thr = NULL;
    json_object_object_get_ex(s, "thresholds", &thr);
    char *cells[NCOLS];
    cells[0] = out_field(s, "name");
    cells[1] = out_field(s, "kind");
    cells[2] = number_field(s, "value");
    cells[3] = xstrdup(unit_short(jv_str(s, "unit")));
    cells[4] = out_field(s, "status");
    for (size_t i = 0; i < NTHRESH; i++)
        cells[5 + i] = number_field(thr, thresholds[i].key);
    cells[5 + NTHRESH] = out_field(s, "state");
    out_table_add(t, (const char *const *)cells);
    for (size_t i = 0; i < NCOLS; i++)
        free(cells[i]);
}

/* "45 sensors: 44 ok, 1 critical (6 shown)": the node's health at a glance,
 * whatever the filters hid. */
static void print_counts(json_object *sensors, size_t shown)
{
    size_t n = json_object_array_length(sensors);
    size_t count[sizeof(statuses) / sizeof(statuses[0])] = {0};
    for (size_t i = 0; i < n; i++) {
        const char *st = jv_str(json_object_array_get_idx(sensors, i), "status");
        for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++)
            if (st && strcmp(st, statuses[k]) == 0)
                count[k]++;
    }
    printf("%zu sensor%s", n, n == 1 ? "" : "s");
    const char *sep = ": ";
    for (size_t k = 0; k < sizeof(statuses) / sizeof(statuses[0]); k++) {
        if (count[k]) {
            printf("%s%zu %s", sep, count[k], statuses[k]);
            sep = ", ";
        }
    }
    if (shown != n)
        printf(" (%zu shown)", shown);
    putchar('\n');
}

static void print_power_reading(json_object *pr)
{
    json_object *sup = NULL;
    if (json_object_is_type(pr, json_type_object) &&
        !json_object_object_get_ex(pr, "supported", &sup) &&
        json_object_object_get_ex(pr, "watts", NULL)) {
        /* The background poller keeps only the draw and its average. */
        char *w = number_field(pr, "watts"), *avg = number_field(pr, "avg_watts");
        printf("power reading: %s W (average %s W)\n", w, avg);
        free(w);
        free(avg);
        return;
    }
    if (!pr) { /* --cached: the latest poll got none */
        puts("power reading: none in the latest poll");
        return;
    }
    if (!sup) {
        puts("power reading: -");
        return;
    }
    if (!json_object_get_boolean(sup)) {
        const char *code = jv_str(pr, "error");
        if (code && strcmp(code, "not_supported") == 0) {
            puts("power reading: not supported by this BMC");
        } else {
            char *msg = out_clean(jv_str(pr, "message"));
            printf("power reading: unavailable: %s\n", msg);
            free(msg);
        }
        return;
    }
    char *v[] = {number_field(pr, "watts"), number_field(pr, "min_watts"),
                 number_field(pr, "max_watts"), number_field(pr, "avg_watts"),
                 number_field(pr, "period_s")};
    json_object *active = NULL;
    json_object_object_get_ex(pr, "active", &active);
    printf("power reading: %s W (min %s W, max %s W, average %s W over %s s)%s\n", v[0], v[1], v[2],
           v[3], v[4],
           active && !json_object_get_boolean(active) ? "; measurement not active" : "");
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        free(v[i]);
}

/* "readings of the background poll at T (N s ago)": how fresh --cached is. */
static void print_poll_time(json_object *res)
{
    const char *when = jv_str(res, "time");
    int64_t t = when ? ul_time_parse(when) : -1;
    char *clean = out_clean(when);
    if (t >= 0) {
        long long age = (long long)(ul_wall_s() - t);
        printf("readings of the background poll at %s (%lld s ago)\n", clean, age < 0 ? 0 : age);
    } else {
        printf("readings of the background poll at %s\n", clean);
    }
    free(clean);
}

/* Run a sensors job: its result (new reference), or NULL after printing why. */
static json_object *read_now(struct cl_client *c, const char *node, long long timeout)
{
    json_object *body = nj_body(timeout);
    json_object *job = nj_run(c, node, "sensors", body, "sensors");
    json_object_put(body);
    if (!job)
        return NULL;
    json_object *res = NULL;
    json_object_object_get_ex(job, "result", &res);
    res = json_object_get(res);
    json_object_put(job);
    return res;
}

/* The server's 404 for a node not polled yet ends with a hint in API terms
 * ("POST .../sensors"): the same hint in CLI terms; newly allocated. */
static char *cached_message(const char *node, const char *msg)
{
    static const char api_hint[] =
        " (see its health for the last error, or POST .../sensors to read now)";
    const char *at = strstr(msg, api_hint);
    if (!at || at[sizeof(api_hint) - 1] != '\0')
        return xstrdup(msg);
    return xasprintf("%.*s: run 'underlay sensors %s' to read them now, 'underlay health %s' "
                     "for the last poll error",
                     (int)(at - msg), msg, node, node);
}

/* The background poller's latest readings (new reference), or NULL after
 * printing why: the 404 says whether the node is unknown or not polled yet. */
static json_object *read_cached(struct cl_client *c, const char *node)
{
    struct cl_reply r;
    char *esc = cl_escape(c, node);
    char *path = xasprintf("/api/v1/nodes/%s/sensors", esc);
    json_object *res = NULL;
    if (cl_request(c, "GET", path, NULL, &r) == CL_OK) {
        res = json_object_get(r.body);
    } else {
        char *msg = cached_message(node, r.message);
        out_err("%s: sensors --cached: %s", node, msg);
        free(msg);
    }
    cl_reply_clear(&r);
    free(path);
    free(esc);
    return res;
}

/* The sensors of res that pass the filters; new array. */
static json_object *filter_sensors(json_object *sensors, const char *kind, const char *status)
{
    json_object *shown = json_object_new_array();
    size_t n = json_object_array_length(sensors);
    for (size_t i = 0; i < n; i++) {
        json_object *s = json_object_array_get_idx(sensors, i);
        if (in_list(kind, jv_str(s, "kind")) && in_list(status, jv_str(s, "status")))
            json_object_array_add(shown, json_object_get(s));
    }
    return shown;
}

/* res with its sensor list replaced by shown; new object. */
static json_object *with_sensors(json_object *res, json_object *shown)
{
    json_object *out = json_object_new_object();
    json_object_object_foreach(res, key, val)
    {
        json_object_object_add(
            out, key, strcmp(key, "sensors") == 0 ? json_object_get(shown) : json_object_get(val));
    }
    return out;
}

static const char *const multi_headers[] = {"NODE", "NAME", "KIND", "VALUE", "UNIT", "STATUS",
                                            "LC",   "LNC",  "UNC",  "UC",    "STATE"};

/* sensors HOSTLIST: every node's readings in one table with a NODE column. */
static int sensors_multi(struct cli *cli, struct cl_client *c, const hostlist *hl, bool cached,
                         long long timeout, const char *kind, const char *status)
{
    struct fo f;
    json_object **results = xcalloc(hl->count, sizeof(*results));
    struct jw_item *items = xcalloc(hl->count, sizeof(*items));
    enum jw_outcome outcome = JW_DONE;
    double waited = 0;

    /* Each node's outcome is recorded in host list order, below; a --cached
     * failure waits in items[i] as a job that could not start would. */
    fo_init(&f, "sensors");
    if (cached) {
        for (size_t i = 0; i < hl->count; i++) {
            struct cl_reply r;
            char *esc = cl_escape(c, hl->hosts[i]);
            char *path = xasprintf("/api/v1/nodes/%s/sensors", esc);
            enum cl_status st = cl_request(c, "GET", path, NULL, &r);
            if (st == CL_OK) {
                results[i] = json_object_get(r.body);
            } else {
                items[i].error_code = xstrdup(r.code);
                items[i].error =
                    cached_message(hl->hosts[i], fo_strip_node(hl->hosts[i], r.message));
                out_err("%s: sensors --cached: %s", hl->hosts[i], items[i].error);
            }
            cl_reply_clear(&r);
            free(path);
            free(esc);
            if (st == CL_TRANSPORT_ERROR) { /* the server is gone: one line */
                for (size_t k = i + 1; k < hl->count; k++) {
                    items[k].error_code = xstrdup("not_attempted");
                    items[k].error = xstrdup("not attempted after a connection error");
                }
                fo_stopped("sensors", hl->count - i - 1);
                break;
            }
        }
    } else {
        json_object *body = nj_body(timeout);
        nj_start_all(c, hl, "sensors", body, "sensors", items, false);
        json_object_put(body);
        int64_t t0 = ul_mono_ms();
        outcome = jw_wait(c, items, hl->count, 0);
        waited = (double)(ul_mono_ms() - t0) / 1000.0;
        for (size_t i = 0; i < hl->count; i++) {
            if (jw_item_ok(&items[i])) {
                json_object *res = NULL;
                json_object_object_get_ex(items[i].job, "result", &res);
                results[i] = json_object_get(res);
            }
        }
    }

    struct out_table *t = out_table_new(NCOLS + 1, multi_headers);
    json_object *summary = json_object_new_array();
    for (size_t i = 0; i < hl->count; i++) {
        json_object *res = results[i], *sensors = NULL;
        if (!res) { /* printed when it failed */
            char buf[128];
            nj_record(&f, hl->hosts[i], &items[i], outcome, waited, buf, sizeof(buf));
            continue;
        }
        if (!json_object_object_get_ex(res, "sensors", &sensors) ||
            !json_object_is_type(sensors, json_type_array)) {
            fo_fail(&f, fo_node(hl->hosts[i]), "bad_reply", "no sensor list in the reply", true);
            continue;
        }
        json_object *shown = filter_sensors(sensors, kind, status);
        json_object *filtered = with_sensors(res, shown);
        size_t nshown = json_object_array_length(shown);
        for (size_t k = 0; k < nshown; k++) {
            struct out_table *one = out_table_new(NCOLS, sensor_headers);
            sensor_row(one, json_object_array_get_idx(shown, k));
            /* Reuse sensor_row's cells with the node in front. */
            const char *row[NCOLS + 1];
            row[0] = hl->hosts[i];
            for (size_t col = 0; col < NCOLS; col++)
                row[col + 1] = out_table_cell(one, 0, col);
            out_table_add(t, row);
            out_table_free(one);
        }
        json_object *line = json_object_new_object();
        json_object_object_add(line, "node", json_object_new_string(hl->hosts[i]));
        json_object_object_add(line, "shown", json_object_new_int64((int64_t)nshown));
        json_object_object_add(line, "result", json_object_get(res));
        json_object_array_add(summary, line);
        fo_ok(&f, fo_node(hl->hosts[i]), "result", filtered);
        json_object_put(shown);
    }
    if (cli->format == OUT_TABLE) {
        if (f.ok) /* no header over nothing when every node failed */
            out_table_print(t, stdout);
        size_t ns = json_object_array_length(summary);
        for (size_t i = 0; i < ns; i++) {
            json_object *line = json_object_array_get_idx(summary, i), *res = NULL, *pr = NULL,
                        *sensors = NULL;
            json_object_object_get_ex(line, "result", &res);
            json_object_object_get_ex(res, "sensors", &sensors);
            json_object_object_get_ex(res, "power_reading", &pr);
            char *node = out_clean(jv_str(line, "node"));
            printf("%s: ", node);
            print_counts(sensors,
                         (size_t)json_object_get_int64(json_object_object_get(line, "shown")));
            printf("%s: ", node);
            print_power_reading(pr);
            free(node);
        }
    }
    out_table_free(t);
    json_object_put(summary);
    int rc = fo_finish(&f, cli->format);
    fo_free(&f);
    for (size_t i = 0; i < hl->count; i++)
        json_object_put(results[i]);
    free(results);
    jw_items_clear(items, hl->count);
    free(items);
    return rc;
}

int cmd_sensors(struct cli *cli, int argc, char **argv)
{
    enum { O_KIND = 256, O_STATUS, O_TIMEOUT, O_CACHED };
    static const struct option opts[] = {
        {"cached", no_argument, NULL, O_CACHED},
        {"kind", required_argument, NULL, O_KIND},
        {"status", required_argument, NULL, O_STATUS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *kind = NULL, *status = NULL;
    long long timeout = 0;
    bool cached = false;
    int ch;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_KIND:
            if (check_list(cmd, "--kind", optarg, kinds, sizeof(kinds) / sizeof(kinds[0])) != 0)
                return CLI_EXIT_USAGE;
            kind = optarg;
            break;
        case O_STATUS:
            if (check_list(cmd, "--status", optarg, statuses,
                           sizeof(statuses) / sizeof(statuses[0])) != 0)
                return CLI_EXIT_USAGE;
            status = optarg;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_CACHED:
            cached = true;
            break;
        case 'h':
            fputs(sensors_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 1)
        return args_usage(cmd, "expected a node NAME or a HOSTLIST");
    if (cached && timeout > 0)
        return args_usage(cmd, "--timeout applies to a job; --cached runs none");
    const char *node = argv[optind];
    if (!*node)
        return args_usage(cmd, "the node NAME is empty");
    if (hostlist_is_pattern(node)) {
        hostlist hl = {0};
        if (args_hosts(cmd, node, &hl) != 0)
            return CLI_EXIT_USAGE;
        struct cl_client *c = cli_connect(cli);
        int rc = c ? sensors_multi(cli, c, &hl, cached, timeout, kind, status) : CLI_EXIT_USAGE;
        hostlist_free(&hl);
        return rc;
    }
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;

    json_object *res = cached ? read_cached(c, node) : read_now(c, node, timeout);
    if (!res)
        return CLI_EXIT_ERROR;
    json_object *sensors = NULL, *pr = NULL;
    if (!json_object_object_get_ex(res, "sensors", &sensors) ||
        !json_object_is_type(sensors, json_type_array)) {
        out_err("%s: sensors: the %s has no sensor list", node,
                cached ? "server's reply" : "job's result");
        json_object_put(res);
        return CLI_EXIT_ERROR;
    }
    json_object_object_get_ex(res, "power_reading", &pr);

    json_object *shown = filter_sensors(sensors, kind, status);
    if (cli->format == OUT_JSON) {
        /* The result (or the cached reply) as the server gave it, but for
         * the filtered list. */
        json_object *out = with_sensors(res, shown);
        out_json(out);
        json_object_put(out);
    } else {
        struct out_table *t = out_table_new(NCOLS, sensor_headers);
        size_t nshown = json_object_array_length(shown);
        for (size_t i = 0; i < nshown; i++)
            sensor_row(t, json_object_array_get_idx(shown, i));
        out_table_print(t, stdout);
        out_table_free(t);
        print_counts(sensors, nshown);
        print_power_reading(pr);
        if (cached)
            print_poll_time(res);
    }
    json_object_put(shown);
    json_object_put(res);
    return CLI_EXIT_OK;
}
