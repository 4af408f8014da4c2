/* cmd_config.c - bios, raid and firmware NODE ...: a node's configuration
 * through the BMC, each read or change a job whose progress is shown live
 * (on stderr, when it is a terminal) until it ends. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "args.h"
#include "cli.h"
#include "jsonv.h"
#include "nodejob.h"
#include "xalloc.h"

static const char bios_usage[] =
    "Usage: underlay bios NODE [get | pending]\n"
    "       underlay bios NODE set NAME=VALUE... [--apply now|on-reset]\n"
    "\n"
    "Read or change NODE's BIOS settings through its BMC (Redfish Bios).\n"
    "\n"
    "  get        every attribute with its current value (and a pending one)\n"
    "  pending    only the changes staged for the next reset, and the BMC's\n"
    "             report on the last apply\n"
    "  set        stage changes.  Each is checked first against the BMC's\n"
    "             attribute registry when it publishes one (type, allowed\n"
    "             values, range, read-only); a bad change is refused, naming\n"
    "             the attribute, and nothing is written.\n"
    "  --apply on-reset   (default) stage only: the values apply at the next\n"
    "                     reset, which underlay does not cause\n"
    "  --apply now        apply now: Immediate where the BMC offers it, else\n"
    "                     stage and reset the host; then wait for the BIOS to\n"
    "                     take the values and verify each, naming those that\n"
    "                     did not take (exit 1)\n"
    "  --timeout S        the job's deadline (default 1800 s for set)\n"
    "\n"
    "Values: true/false are booleans, integers numbers, anything else text; the\n"
    "registry's type decides where it differs.  -o json prints the job's result.\n";

static const char raid_usage[] =
    "Usage: underlay raid NODE [show]\n"
    "       underlay raid NODE create --name NAME --level RAIDn\n"
    "                                 [--drives ID,ID,...] [--capacity SIZE]\n"
    "                                 [--controller ID]\n"
    "       underlay raid NODE delete VOLUME [--controller ID]\n"
    "\n"
    "Storage controllers, drives and RAID volumes of NODE (Redfish Storage).\n"
    "\n"
    "  show       controllers with the RAID levels they build, drives (capacity,\n"
    "             media, health, volume) and volumes\n"
    "  create     build a volume from the given drives (ids as 'show' lists\n"
    "             them) and/or capacity (bytes, or with K M G T decimal or\n"
    "             Ki Mi Gi Ti binary suffixes), then check it exists as asked\n"
    "  delete     delete VOLUME (its data is lost) and check it is gone\n"
    "  --controller ID   needed when several controllers manage volumes\n"
    "  --timeout S       the job's deadline (default 1800 s for changes)\n"
    "\n"
    "create and delete need an admin token.\n";

static const char firmware_usage[] =
    "Usage: underlay firmware NODE [list]\n"
    "       underlay firmware NODE update --image URI [options]\n"
    "       underlay firmware NODE upload FILE [options]\n"
    "\n"
    "Firmware components of NODE and their updates (Redfish UpdateService).\n"
    "\n"
    "  list       components, versions and whether they can be updated\n"
    "  update     the BMC fetches the image from URI (SimpleUpdate)\n"
    "  upload     send FILE to underlayd, which pushes it to the BMC\n"
    "             (multipart HTTP push)\n"
    "Either way the job follows the BMC's task to its end, shows its progress,\n"
    "fails with the BMC's message when the task fails or stalls, and reports\n"
    "the versions before and after.  A daemon restart meanwhile resumes\n"
    "following the same task.\n"
    "\n"
    "  --target ID          component to update (repeatable; ids from list)\n"
    "  --apply now|on-reset when the BMC applies it (default: the BMC's own)\n"
    "  --stall-timeout S    fail when the task makes no progress for S seconds\n"
    "                       (default 900)\n"
    "  --timeout S          the job's deadline (default 3600 s)\n";

/* Run op on node with body and print failures; the finished job (new
 * reference) whether it succeeded or not, NULL when it never ran. */
static json_object *run_config_job(struct cl_client *c, const char *node, const char *op,
                                   json_object *body, const char *opname, bool *ok)
{
    struct jw_item it = {0};
    json_object *job = NULL;
    *ok = false;
    if (nj_start(c, node, op, body, opname, &it))
        job = nj_follow(c, node, opname, &it, ok);
    jw_items_clear(&it, 1);
    return job;
}

static json_object *job_result(json_object *job)
{
    json_object *r = NULL;
    json_object_object_get_ex(job, "result", &r);
    return r;
}

/* The common tail: JSON output, or the text printer; exit code. */
static int finish(struct cli *cli, json_object *job, bool ok,
                  void (*print)(const char *node, json_object *result), const char *node)
{
    if (!job)
        return CLI_EXIT_ERROR;
    json_object *res = job_result(job);
    if (cli->format == OUT_JSON)
        out_json(res ? res : job);
    else if (res && print)
        print(node, res);
    json_object_put(job);
    return ok ? CLI_EXIT_OK : CLI_EXIT_ERROR;
}

/* After the options: NODE and an optional subcommand (def when absent).
 * Returns 0, or CLI_EXIT_USAGE after saying why. */
static int node_and_sub(const char *cmd, int argc, char **argv, const char *def, const char **node,
                        const char **sub, int *nargs)
{
    *nargs = argc - optind;
    if (*nargs < 1)
        return args_usage(cmd, "expected a node NAME");
    *node = argv[optind];
    *sub = *nargs >= 2 ? argv[optind + 1] : def;
    return args_node(cmd, *node) != 0 ? CLI_EXIT_USAGE : 0;
}

/* A job started by a request of our own (DELETE, an upload): follow it as
 * nj_run does.  r is the request's reply; its status st. */
static json_object *follow_reply(struct cl_client *c, const char *node, const char *opname,
                                 enum cl_status st, struct cl_reply *r, bool *ok)
{
    struct jw_item it = {0};
    json_object *j = NULL, *id = NULL, *job = NULL;
    *ok = false;
    if (st == CL_OK && json_object_object_get_ex(r->body, "job", &j) &&
        json_object_object_get_ex(j, "id", &id)) {
        it.id = json_object_get_int64(id);
        it.job = json_object_get(j);
        job = nj_follow(c, node, opname, &it, ok);
    } else {
        out_err("%s: %s: %s", node, opname, st == CL_OK ? "reply carries no job" : r->message);
    }
    jw_items_clear(&it, 1);
    return job;
}

/* BMC text for printf (control characters out, "-" for none); newly
 * allocated.  Table cells get the same through out_table_add. */
static char *text_of(json_object *o, const char *key)
{
    char *raw = out_field(o, key);
    char *clean = out_clean(raw);
    free(raw);
    return clean;
}

/* ---- bios ---- */

static void print_bios_get(const char *node, json_object *res)
{
    (void)node;
    static const char *const h[] = {"ATTRIBUTE", "VALUE", "PENDING"};
    json_object *attrs = NULL, *pending = NULL;
    json_object_object_get_ex(res, "attributes", &attrs);
    json_object_object_get_ex(res, "pending", &pending);
    struct out_table *t = out_table_new(3, h);
    json_object_object_foreach(attrs, name, val)
    {
        json_object *p = NULL;
        char *v = out_text(val);
        char *pv =
            pending && json_object_object_get_ex(pending, name, &p) ? out_text(p) : xstrdup("");
        const char *row[] = {name, v, pv};
        out_table_add(t, row);
        free(v);
        free(pv);
    }
    out_table_print(t, stdout);
    out_table_free(t);
    char *reg = text_of(res, "registry");
    int na = json_object_object_length(attrs),
        np = pending ? json_object_object_length(pending) : 0;
    char *npend = np ? xasprintf("%d", np) : xstrdup("none");
    printf("\n%d attribute%s, %s pending; registry %s\n", na, na == 1 ? "" : "s", npend, reg);
    free(npend);
    free(reg);
}

static void print_messages(json_object *res)
{
    json_object *msgs = NULL;
    json_object_object_get_ex(res, "messages", &msgs);
    size_t n = msgs ? json_object_array_length(msgs) : 0;
    if (!n)
        return;
    printf("\nThe BMC's report on the last apply:\n");
    for (size_t i = 0; i < n; i++) {
        json_object *msg = json_object_array_get_idx(msgs, i);
        char *m = out_field(msg, "message"), *a = out_field(msg, "attributes");
        char *clean = out_clean(m), *cattrs = out_clean(a);
        printf("  %s (%s)\n", clean, cattrs);
        free(clean);
        free(cattrs);
        free(m);
        free(a);
    }
}

static void print_bios_pending(const char *node, json_object *res)
{
    static const char *const h[] = {"ATTRIBUTE", "CURRENT", "PENDING"};
    json_object *attrs = NULL, *pending = NULL;
    json_object_object_get_ex(res, "attributes", &attrs);
    json_object_object_get_ex(res, "pending", &pending);
    if (!pending || json_object_object_length(pending) == 0) {
        printf("%s: no BIOS changes pending\n", node);
    } else {
        struct out_table *t = out_table_new(3, h);
        json_object_object_foreach(pending, name, val)
        {
            json_object *cur = NULL;
            json_object_object_get_ex(attrs, name, &cur);
            char *c = out_text(cur), *p = out_text(val);
            const char *row[] = {name, c, p};
            out_table_add(t, row);
            free(c);
            free(p);
        }
        out_table_print(t, stdout);
        out_table_free(t);
    }
    print_messages(res);
}

static void print_bios_set(const char *node, json_object *res)
{
    json_object *bad = NULL, *staged = NULL, *req = NULL;
    if (json_object_object_get_ex(res, "staged", &staged)) {
        int n = json_object_object_length(staged);
        printf("%s: %d BIOS setting%s staged; %s at the next reset\n", node, n, n == 1 ? "" : "s",
               n == 1 ? "it applies" : "they apply");
        return;
    }
    json_object_object_get_ex(res, "requested", &req);
    json_object_object_get_ex(res, "not_applied", &bad);
    int n = req ? json_object_object_length(req) : 0;
    if (json_object_object_get_ex(res, "unchanged", NULL)) {
        if (n == 1)
            printf("%s: the BIOS setting already has this value; nothing written\n", node);
        else
            printf("%s: the %d BIOS settings already have these values; nothing written\n", node,
                   n);
        return;
    }
    if (!bad || json_object_object_length(bad) == 0) {
        printf("%s: %d BIOS setting%s applied and verified\n", node, n, n == 1 ? "" : "s");
        return;
    }
    static const char *const h[] = {"ATTRIBUTE", "WANTED", "CURRENT", "BMC MESSAGE"};
    struct out_table *t = out_table_new(4, h);
    json_object_object_foreach(bad, name, info)
    {
        char *w = out_field(info, "wanted"), *c = out_field(info, "current"),
             *m = out_field(info, "message");
        const char *row[] = {name, w, c, m};
        out_table_add(t, row);
        free(w);
        free(c);
        free(m);
    }
    printf("Not applied:\n");
    out_table_print(t, stdout);
    out_table_free(t);
}

int cmd_bios(struct cli *cli, int argc, char **argv)
{
    enum { O_APPLY = 256, O_TIMEOUT };
    static const struct option opts[] = {
        {"apply", required_argument, NULL, O_APPLY},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *apply = NULL;
    long long timeout = 0;
    int ch;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_APPLY:
            if (strcmp(optarg, "now") != 0 && strcmp(optarg, "on-reset") != 0)
                return args_usage(cmd, "--apply: now or on-reset, not '%s'", optarg);
            apply = optarg;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(bios_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    const char *node, *sub;
    int nargs, urc = node_and_sub(cmd, argc, argv, "get", &node, &sub, &nargs);
    if (urc)
        return urc;
    bool set = strcmp(sub, "set") == 0;
    if (!set && strcmp(sub, "get") != 0 && strcmp(sub, "pending") != 0)
        return args_usage(cmd, "unknown subcommand '%s' (get, pending, set)", sub);
    if (!set && nargs > 2)
        return args_usage(cmd, "%s takes no arguments", sub);
    if (!set && apply)
        return args_usage(cmd, "--apply goes with set");
    json_object *body = nj_body(timeout);
    if (set) {
        if (nargs < 3) {
            json_object_put(body);
            return args_usage(cmd, "set: expected NAME=VALUE...");
        }
        json_object *attrs = json_object_new_object();
        for (int i = optind + 2; i < argc; i++) {
            if (args_option(cmd, argv[i], attrs) != 0) {
                json_object_put(attrs);
                json_object_put(body);
                return CLI_EXIT_USAGE;
            }
        }
        json_object_object_add(body, "attributes", attrs);
        if (apply)
            json_object_object_add(body, "apply", json_object_new_string(apply));
    }
    struct cl_client *c = cli_connect(cli);
    if (!c) {
        json_object_put(body);
        return CLI_EXIT_USAGE;
    }
    bool ok;
    json_object *job = run_config_job(c, node, set ? "bios/settings" : "bios", body,
                                      set ? "bios set" : "bios", &ok);
    json_object_put(body);
    return finish(cli, job, ok,
                  set                           ? print_bios_set
                  : strcmp(sub, "pending") == 0 ? print_bios_pending
                                                : print_bios_get,
                  node);
}

/* ---- raid ---- */

static char *human_bytes(json_object *v)
{
    if (!v)
        return xstrdup("-");
    double b = json_object_get_double(v);
    static const char *const units[] = {"B", "KB", "MB", "GB", "TB", "PB"};
    int u = 0;
    while (b >= 1000 && u < 5) {
        b /= 1000;
        u++;
    }
    return xasprintf(u ? "%.2f %s" : "%.0f %s", b, units[u]);
}

/* A JSON array of words or numbers as "a, b, c" ("-" when empty or
 * absent), sanitised; newly allocated. */
static char *word_list(json_object *arr)
{
    size_t n = arr && json_object_is_type(arr, json_type_array) ? json_object_array_length(arr) : 0;
    if (n == 0)
        return xstrdup("-");
    char *acc = xstrdup("");
    for (size_t i = 0; i < n; i++) {
        char *w = out_text(json_object_array_get_idx(arr, i));
        char *next = xasprintf("%s%s%s", acc, i ? ", " : "", w);
        free(w);
        free(acc);
        acc = next;
    }
    char *clean = out_clean(acc);
    free(acc);
    return clean;
}

static void print_raid(const char *node, json_object *res)
{
    (void)node;
    json_object *ctrls = NULL;
    json_object_object_get_ex(res, "controllers", &ctrls);
    size_t n = ctrls ? json_object_array_length(ctrls) : 0;
    if (!n)
        printf("no storage controllers\n");
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_array_get_idx(ctrls, i), *drives = NULL, *vols = NULL;
        json_object *jtypes = NULL;
        json_object_object_get_ex(c, "raid_types", &jtypes);
        char *id = text_of(c, "id"), *name = text_of(c, "name"), *model = text_of(c, "model"),
             *types = word_list(jtypes), *health = text_of(c, "health");
        printf("%sController %s: %s (%s), health %s\n  RAID levels: %s\n", i ? "\n" : "", id, name,
               model, health, types);
        free(id), free(name), free(model), free(types), free(health);
        json_object_object_get_ex(c, "drives", &drives);
        json_object_object_get_ex(c, "volumes", &vols);
        static const char *const dh[] = {"DRIVE", "MODEL", "MEDIA", "CAPACITY", "HEALTH", "VOLUME"};
        struct out_table *t = out_table_new(6, dh);
        size_t spare = 0;
        for (size_t k = 0; drives && k < json_object_array_length(drives); k++) {
            json_object *d = json_object_array_get_idx(drives, k), *cap = NULL, *dv = NULL;
            json_object_object_get_ex(d, "capacity_bytes", &cap);
            json_object_object_get_ex(d, "volumes", &dv);
            if (!dv || json_object_array_length(dv) == 0)
                spare++;
            char *f[] = {out_field(d, "id"), out_field(d, "model"),  out_field(d, "media"),
                         human_bytes(cap),   out_field(d, "health"), word_list(dv)};
            out_table_add(t, (const char *const *)f);
            for (int j = 0; j < 6; j++)
                free(f[j]);
        }
        putchar('\n');
        out_table_print(t, stdout);
        out_table_free(t);
        static const char *const vh[] = {"VOLUME", "NAME", "RAID", "CAPACITY", "DRIVES", "HEALTH"};
        t = out_table_new(6, vh);
        for (size_t k = 0; vols && k < json_object_array_length(vols); k++) {
            json_object *v = json_object_array_get_idx(vols, k), *cap = NULL, *vd = NULL;
            json_object_object_get_ex(v, "capacity_bytes", &cap);
            json_object_object_get_ex(v, "drives", &vd);
            char *dl = xstrdup("");
            for (size_t j = 0; vd && j < json_object_array_length(vd); j++) {
                char *next = xasprintf("%s%s%s", dl, j ? "," : "",
                                       json_object_get_string(json_object_array_get_idx(vd, j)));
                free(dl);
                dl = next;
            }
            char *f[] = {out_field(v, "id"),
                         out_field(v, "name"),
                         out_field(v, "raid_type"),
                         human_bytes(cap),
                         dl,
                         out_field(v, "health")};
            out_table_add(t, (const char *const *)f);
            for (int j = 0; j < 6; j++)
                free(f[j]);
        }
        putchar('\n');
        if (vols && json_object_array_length(vols))
            out_table_print(t, stdout);
        else
            printf("no volumes\n");
        out_table_free(t);
        /* "6 drives, 1 not in a volume; 2 volumes": what is free to use. */
        size_t nd = drives ? json_object_array_length(drives) : 0;
        size_t nv = vols ? json_object_array_length(vols) : 0;
        char *free_part = spare == 0    ? xstrdup("all in volumes")
                          : spare == nd ? xstrdup(nd == 1 ? "not in a volume" : "none in a volume")
                                        : xasprintf("%zu not in a volume", spare);
        printf("\n%zu drive%s, %s; %zu volume%s\n", nd, nd == 1 ? "" : "s",
               nd ? free_part : "none to use", nv, nv == 1 ? "" : "s");
        free(free_part);
    }
}

static void print_raid_change(const char *node, json_object *res)
{
    json_object *vol = NULL, *del = NULL;
    if (json_object_object_get_ex(res, "deleted", &del)) {
        printf("%s: volume %s deleted\n", node, json_object_get_string(del));
    } else if (json_object_object_get_ex(res, "volume", &vol)) {
        json_object *cap = NULL;
        json_object_object_get_ex(vol, "capacity_bytes", &cap);
        char *id = text_of(vol, "id"), *rt = text_of(vol, "raid_type"), *c = human_bytes(cap);
        printf("%s: volume %s created (%s, %s)\n", node, id, rt, c);
        free(id), free(rt), free(c);
    }
}

/* "480G", "1.92T", "512GiB", "1000000" into bytes; -1 when malformed. */
static long long parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || v <= 0)
        return -1;
    static const struct {
        const char *suffix;
        double mult;
    } units[] = {{"", 1},
                 {"B", 1},
                 {"K", 1e3},
                 {"KB", 1e3},
                 {"M", 1e6},
                 {"MB", 1e6},
                 {"G", 1e9},
                 {"GB", 1e9},
                 {"T", 1e12},
                 {"TB", 1e12},
                 {"Ki", 1024.0},
                 {"KiB", 1024.0},
                 {"Mi", 1048576.0},
                 {"MiB", 1048576.0},
                 {"Gi", 1073741824.0},
                 {"GiB", 1073741824.0},
                 {"Ti", 1099511627776.0},
                 {"TiB", 1099511627776.0}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcasecmp(end, units[i].suffix) == 0 && (end[0] != 'k' || i >= 2))
            return v * units[i].mult < 9e18 ? (long long)(v * units[i].mult) : -1;
    return -1;
}

int cmd_raid(struct cli *cli, int argc, char **argv)
{
    enum { O_NAME = 256, O_LEVEL, O_DRIVES, O_CAPACITY, O_CONTROLLER, O_TIMEOUT };
    static const struct option opts[] = {
        {"name", required_argument, NULL, O_NAME},
        {"level", required_argument, NULL, O_LEVEL},
        {"raid", required_argument, NULL, O_LEVEL},
        {"drives", required_argument, NULL, O_DRIVES},
        {"capacity", required_argument, NULL, O_CAPACITY},
        {"controller", required_argument, NULL, O_CONTROLLER},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *name = NULL, *level = NULL, *drives = NULL, *controller = NULL;
    long long capacity = 0, timeout = 0;
    int ch;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_NAME:
            name = optarg;
            break;
        case O_LEVEL:
            level = optarg;
            break;
        case O_DRIVES:
            drives = optarg;
            break;
        case O_CAPACITY:
            if ((capacity = parse_size(optarg)) <= 0)
                return args_usage(cmd, "--capacity: '%s' is not a size (e.g. 480G, 1.5TiB)",
                                  optarg);
            break;
        case O_CONTROLLER:
            controller = optarg;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(raid_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    const char *node, *sub;
    int nargs, urc = node_and_sub(cmd, argc, argv, "show", &node, &sub, &nargs);
    if (urc)
        return urc;
    bool create = strcmp(sub, "create") == 0, del = strcmp(sub, "delete") == 0;
    if (!create && !del && strcmp(sub, "show") != 0)
        return args_usage(cmd, "unknown subcommand '%s' (show, create, delete)", sub);
    if (!create && (name || level || drives || capacity))
        return args_usage(cmd, "--name, --level, --drives and --capacity go with create");
    if (!create && !del && controller)
        return args_usage(cmd, "--controller goes with create or delete");
    if (create && (!name || !level))
        return args_usage(cmd, "create: --name and --level are required");
    if (create && !drives && !capacity)
        return args_usage(cmd, "create: give --drives, --capacity or both");
    if (nargs != (del ? 3 : 2) && !(nargs == 1 && !create && !del))
        return args_usage(cmd, del ? "delete: expected one VOLUME" : "too many arguments");
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    json_object *body = nj_body(timeout), *job = NULL;
    bool ok = false;
    if (create) {
        json_object_object_add(body, "name", json_object_new_string(name));
        json_object_object_add(body, "raid_type", json_object_new_string(level));
        if (controller)
            json_object_object_add(body, "controller", json_object_new_string(controller));
        if (capacity)
            json_object_object_add(body, "capacity_bytes", json_object_new_int64(capacity));
        if (drives) {
            json_object *arr = json_object_new_array();
            char *copy = xstrdup(drives), *save = NULL;
            for (char *d = strtok_r(copy, ",", &save); d; d = strtok_r(NULL, ",", &save))
                json_object_array_add(arr, json_object_new_string(d));
            free(copy);
            json_object_object_add(body, "drives", arr);
        }
        job = run_config_job(c, node, "raid/volumes", body, "raid create", &ok);
    } else if (del) {
        /* DELETE carries no body: the job takes its defaults. */
        char *esc = cl_escape(c, node), *vesc = cl_escape(c, argv[optind + 2]);
        char *path = xasprintf("/api/v1/nodes/%s/raid/volumes/%s", esc, vesc);
        if (controller)
            cl_query_add(c, &path, "controller", controller);
        struct cl_reply r;
        enum cl_status st = cl_request(c, "DELETE", path, NULL, &r);
        job = follow_reply(c, node, "raid delete", st, &r, &ok);
        cl_reply_clear(&r);
        free(path);
        free(vesc);
        free(esc);
    } else {
        job = run_config_job(c, node, "raid", body, "raid", &ok);
    }
    json_object_put(body);
    return finish(cli, job, ok, create || del ? print_raid_change : print_raid, node);
}

/* ---- firmware ---- */

static void print_firmware_list(const char *node, json_object *res)
{
    (void)node;
    static const char *const h[] = {"COMPONENT", "NAME", "VERSION", "UPDATEABLE"};
    json_object *comps = NULL;
    json_object_object_get_ex(res, "components", &comps);
    struct out_table *t = out_table_new(4, h);
    for (size_t i = 0; comps && i < json_object_array_length(comps); i++) {
        json_object *c = json_object_array_get_idx(comps, i);
        char *f[] = {out_field(c, "id"), out_field(c, "name"), out_field(c, "version"),
                     out_field(c, "updateable")};
        out_table_add(t, (const char *const *)f);
        for (int j = 0; j < 4; j++)
            free(f[j]);
    }
    out_table_print(t, stdout);
    out_table_free(t);
}

static void print_firmware_update(const char *node, json_object *res)
{
    json_object *changed = NULL, *applies = NULL, *note = NULL;
    if (json_object_object_get_ex(res, "applies", &applies)) {
        printf("%s: firmware staged; it applies %s\n", node, json_object_get_string(applies));
        return;
    }
    if (json_object_object_get_ex(res, "note", &note) && note) {
        printf("%s: %s\n", node, json_object_get_string(note));
        return;
    }
    json_object_object_get_ex(res, "changed", &changed);
    if (!changed || json_object_object_length(changed) == 0) {
        printf("%s: the task completed; no component reports a new version yet\n", node);
        return;
    }
    json_object_object_foreach(changed, id, c)
    {
        char *from = text_of(c, "from"), *to = text_of(c, "to");
        char *cid = out_clean(id);
        printf("%s: %s %s -> %s\n", node, cid, from, to);
        free(cid);
        free(from);
        free(to);
    }
}

int cmd_firmware(struct cli *cli, int argc, char **argv)
{
    enum { O_IMAGE = 256, O_TARGET, O_APPLY, O_STALL, O_TIMEOUT };
    static const struct option opts[] = {
        {"image", required_argument, NULL, O_IMAGE},
        {"target", required_argument, NULL, O_TARGET},
        {"apply", required_argument, NULL, O_APPLY},
        {"stall-timeout", required_argument, NULL, O_STALL},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *image = NULL, *apply = NULL;
    long long stall = 0, timeout = 0;
    json_object *targets = json_object_new_array();
    int rc = CLI_EXIT_USAGE, ch;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_IMAGE:
            image = optarg;
            break;
        case O_TARGET:
            json_object_array_add(targets, json_object_new_string(optarg));
            break;
        case O_APPLY:
            if (strcmp(optarg, "now") != 0 && strcmp(optarg, "on-reset") != 0) {
                args_usage(cmd, "--apply: now or on-reset, not '%s'", optarg);
                goto out;
            }
            apply = optarg;
            break;
        case O_STALL:
            if (args_job_timeout(cmd, optarg, &stall) != 0)
                goto out;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                goto out;
            break;
        case 'h':
            fputs(firmware_usage, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            rc = args_try_help(cmd);
            goto out;
        }
    }
    const char *node, *sub;
    int nargs;
    if ((rc = node_and_sub(cmd, argc, argv, "list", &node, &sub, &nargs)) != 0)
        goto out;
    rc = CLI_EXIT_USAGE;
    bool update = strcmp(sub, "update") == 0, upload = strcmp(sub, "upload") == 0;
    if (!update && !upload && strcmp(sub, "list") != 0) {
        rc = args_usage(cmd, "unknown subcommand '%s' (list, update, upload)", sub);
        goto out;
    }
    bool changes = update || upload;
    if (!changes && (image || apply || stall || json_object_array_length(targets))) {
        rc = args_usage(cmd, "--image, --target, --apply and --stall-timeout go with update "
                             "or upload");
        goto out;
    }
    if (update && (!image || nargs != 2)) {
        rc = args_usage(cmd, "update: --image URI is required (and no other argument)");
        goto out;
    }
    if (upload && (image || nargs != 3)) {
        rc = args_usage(cmd, "upload: expected one FILE (and no --image)");
        goto out;
    }
    if (!changes && nargs > 2) {
        rc = args_usage(cmd, "list takes no arguments");
        goto out;
    }
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;
    json_object *job = NULL;
    bool ok = false;
    if (upload) {
        char *esc = cl_escape(c, node);
        char *path = xasprintf("/api/v1/nodes/%s/firmware/upload", esc);
        free(esc);
        if (json_object_array_length(targets)) {
            char *list = xstrdup("");
            for (size_t i = 0; i < json_object_array_length(targets); i++) {
                char *next =
                    xasprintf("%s%s%s", list, i ? "," : "",
                              json_object_get_string(json_object_array_get_idx(targets, i)));
                free(list);
                list = next;
            }
            cl_query_add(c, &path, "targets", list);
            free(list);
        }
        /* Its name goes to the BMC with it, where the name is usable. */
        const char *base = strrchr(argv[optind + 2], '/');
        base = base ? base + 1 : argv[optind + 2];
        if (*base && *base != '.' && strlen(base) <= 128 &&
            strspn(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-+") ==
                strlen(base))
            cl_query_add(c, &path, "name", base);
        char num[32];
        if (apply)
            cl_query_add(c, &path, "apply", apply);
        if (stall) {
            snprintf(num, sizeof(num), "%lld", stall);
            cl_query_add(c, &path, "stall_timeout", num);
        }
        if (timeout) {
            snprintf(num, sizeof(num), "%lld", timeout);
            cl_query_add(c, &path, "timeout", num);
        }
        struct cl_reply r;
        enum cl_status st = cl_post_file(c, path, argv[optind + 2], &r);
        job = follow_reply(c, node, "firmware upload", st, &r, &ok);
        cl_reply_clear(&r);
        free(path);
    } else {
        json_object *body = nj_body(timeout);
        if (update) {
            json_object_object_add(body, "image_uri", json_object_new_string(image));
            if (json_object_array_length(targets))
                json_object_object_add(body, "targets", json_object_get(targets));
            if (apply)
                json_object_object_add(body, "apply", json_object_new_string(apply));
            if (stall)
                json_object_object_add(body, "stall_timeout", json_object_new_int64(stall));
        }
        job = run_config_job(c, node, update ? "firmware/update" : "firmware", body,
                             update ? "firmware update" : "firmware", &ok);
        json_object_put(body);
    }
    rc = finish(cli, job, ok, changes ? print_firmware_update : print_firmware_list, node);
out:
    json_object_put(targets);
    return rc;
}
