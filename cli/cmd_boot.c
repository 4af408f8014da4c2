/* cmd_boot.c - boot HOSTLIST [DEVICE]: set and read back, or read, the boot
 * override of each node, one boot job per node. */
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

static const char boot_usage[] =
    "Usage: underlay boot HOSTLIST [DEVICE] [--persistent] [--uefi|--legacy]\n"
    "                     [--timeout SECONDS]\n"
    "\n"
    "Without DEVICE, read each node's boot override.  With DEVICE, set it and\n"
    "read it back: the BMC's answer is shown, not our request.  One boot job\n"
    "per node, all waited for; prints NODE DEVICE PERSISTENT MODE ERROR ('-':\n"
    "the BMC does not say).\n"
    "\n"
    "DEVICE is pxe, disk, cdrom, bios (firmware setup) or none (clear the\n"
    "override: boot by the firmware's own order).\n"
    "\n"
    "  --persistent  keep the override for every boot, not only the next one\n"
    "  --uefi        boot in UEFI mode (the default)\n"
    "  --legacy      boot in legacy BIOS mode\n"
    "  --timeout S   each job's deadline in whole seconds (default: the\n"
    "                server's jobs.timeout)\n";

static const char *const devices[] = {"none", "pxe", "disk", "cdrom", "bios"};

static const char *const boot_headers[] = {"NODE", "DEVICE", "PERSISTENT", "MODE", "ERROR"};

/* What the command was asked to do. */
struct boot_req {
    const char *device; /* NULL: read only */
    bool persistent;
    const char *mode; /* "uefi", "legacy" or NULL: the server's default */
    long long timeout_s;
};

static json_object *boot_body(const struct boot_req *b)
{
    json_object *body = nj_body(b->timeout_s);
    if (b->device) {
        json_object_object_add(body, "device", json_object_new_string(b->device));
        json_object_object_add(body, "persistent", json_object_new_boolean(b->persistent));
        if (b->mode)
            json_object_object_add(body, "mode", json_object_new_string(b->mode));
    }
    return body;
}

/* One table row for a node: the job's result, or dashes and the error. */
static void boot_row(struct out_table *t, const char *host, const struct jw_item *it,
                     const char *error)
{
    json_object *res = NULL, *pers = NULL;
    if (!error)
        json_object_object_get_ex(it->job, "result", &res);
    char *device = out_field(res, "device");
    char *mode = out_field(res, "mode");
    const char *persistent = "-";
    if (json_object_object_get_ex(res, "persistent", &pers) &&
        json_object_is_type(pers, json_type_boolean))
        persistent = json_object_get_boolean(pers) ? "yes" : "no";
    const char *row[] = {host, device, persistent, mode, error};
    out_table_add(t, row);
    free(device);
    free(mode);
}

static int parse_args(int argc, char **argv, struct boot_req *b, hostlist *hl, int *rc)
{
    enum { O_PERSISTENT = 256, O_UEFI, O_LEGACY, O_TIMEOUT };
    static const struct option opts[] = {
        {"persistent", no_argument, NULL, O_PERSISTENT},
        {"uefi", no_argument, NULL, O_UEFI},
        {"legacy", no_argument, NULL, O_LEGACY},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    bool persistent_given = false;
    int ch;

    *rc = CLI_EXIT_USAGE;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_PERSISTENT:
            b->persistent = persistent_given = true;
            break;
        case O_UEFI:
        case O_LEGACY:
            if (b->mode && strcmp(b->mode, ch == O_UEFI ? "uefi" : "legacy") != 0) {
                args_usage(cmd, "give --uefi or --legacy, not both");
                return -1;
            }
            b->mode = ch == O_UEFI ? "uefi" : "legacy";
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &b->timeout_s) != 0)
                return -1;
            break;
        case 'h':
            fputs(boot_usage, stdout);
            *rc = CLI_EXIT_OK;
            return -1;
        default:
            args_try_help(cmd);
            return -1;
        }
    }
    int nargs = argc - optind;
    if (nargs < 1 || nargs > 2) {
        args_usage(cmd, "expected HOSTLIST and an optional DEVICE");
        return -1;
    }
    if (nargs == 2) {
        b->device = argv[optind + 1];
        bool known = false;
        for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++)
            known = known || strcmp(b->device, devices[i]) == 0;
        if (!known) {
            args_usage(cmd, "unknown boot device '%s' (none, pxe, disk, cdrom, bios)", b->device);
            return -1;
        }
    } else if (persistent_given || b->mode) {
        /* The API refuses them without a device: say so before 500 nodes
         * each get a 400. */
        args_usage(cmd, "--persistent, --uefi and --legacy need a DEVICE to set");
        return -1;
    }
    if (args_hosts(cmd, argv[optind], hl) != 0)
        return -1;
    return 0;
}

int cmd_boot(struct cli *cli, int argc, char **argv)
{
    struct boot_req b = {0};
    hostlist hl = {0};
    struct jw_item *items = NULL;
    char *op = NULL;
    int rc;

    if (parse_args(argc, argv, &b, &hl, &rc) != 0)
        return rc;
    rc = CLI_EXIT_USAGE;
    struct cl_client *c = cli_connect(cli);
    if (!c)
        goto out;

    op = b.device ? xasprintf("boot %s", b.device) : xstrdup("boot");
    items = xcalloc(hl.count, sizeof(*items));
    json_object *body = boot_body(&b);
    /* The table's ERROR column shows each failure, once. */
    nj_start_all(c, &hl, "boot", body, op, items, cli->format == OUT_TABLE);
    json_object_put(body);
    int64_t t0 = ul_mono_ms();
    enum jw_outcome outcome = jw_wait(c, items, hl.count, 0);
    double waited = (double)(ul_mono_ms() - t0) / 1000.0;

    struct fo f;
    struct out_table *t = out_table_new(5, boot_headers);
    fo_init(&f, op);
    f.quiet = cli->format == OUT_TABLE;
    for (size_t i = 0; i < hl.count; i++) {
        char buf[128];
        const char *err = nj_record(&f, hl.hosts[i], &items[i], outcome, waited, buf, sizeof(buf));
        boot_row(t, hl.hosts[i], &items[i], err);
    }
    if (cli->format == OUT_TABLE)
        out_table_print(t, stdout);
    out_table_free(t);
    rc = fo_finish(&f, cli->format);
    fo_free(&f);
out:
    if (items)
        jw_items_clear(items, hl.count);
    free(items);
    free(op);
    hostlist_free(&hl);
    return rc;
}
