/* cmd_chassis.c - identify NODE on|off|status and bmc-reset NODE: the
 * chassis identify LED and a reset of the BMC itself, each one job. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "nodejob.h"
#include "xalloc.h"

static const char identify_usage[] =
    "Usage: underlay identify NODE on|off|status [--seconds N] [--timeout SECONDS]\n"
    "\n"
    "Turn NODE's chassis identify LED on or off (an identify job), then read it\n"
    "back where the BMC reports it; status only reads it.\n"
    "\n"
    "  --seconds N   with on: light it for N seconds (1-255); without, it stays\n"
    "                on until turned off (IPMI: needs an IPMI 2.0 session)\n"
    "  --timeout S   the job's deadline in whole seconds (default: the server's)\n"
    "\n"
    "-o json prints the finished job.\n";

static const char bmc_reset_usage[] =
    "Usage: underlay bmc-reset NODE [--warm] [--timeout SECONDS]\n"
    "\n"
    "Reset NODE's BMC (a bmc.reset job; admin token).  The BMC drops every\n"
    "session, anyone's; the host's power is not touched.  The job waits until\n"
    "the BMC answers again (or its deadline passes) and says how long it took.\n"
    "\n"
    "  --warm        a warm reset (the BMC's firmware only) instead of a cold one\n"
    "  --timeout S   the job's deadline in whole seconds (default: the server's)\n"
    "\n"
    "-o json prints the finished job.\n";

/* Run the job on node and print its result: one line, or the job as JSON. */
static int run_and_print(struct cli *cli, const char *node, const char *op, json_object *body,
                         const char *opname)
{
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    json_object *job = nj_run(c, node, op, body, opname);
    if (!job)
        return CLI_EXIT_ERROR;
    if (cli->format == OUT_JSON) {
        out_json(job);
        json_object_put(job);
        return CLI_EXIT_OK;
    }
    json_object *res = NULL;
    json_object_object_get_ex(job, "result", &res);
    char *identify = out_field(res, "identify");
    char *reset = out_field(res, "reset");
    if (strcmp(op, "identify") == 0) {
        json_object *v = NULL;
        bool unverified =
            json_object_object_get_ex(res, "verified", &v) && !json_object_get_boolean(v);
        char *note = out_field(res, "note"), *requested = out_field(res, "requested");
        if (unverified)
            printf("%s: identify LED set %s (not verified: %s)\n", node, requested, note);
        else
            printf("%s: identify LED %s\n", node, identify);
        free(note);
        free(requested);
    } else {
        json_object *ms = NULL;
        json_object_object_get_ex(res, "answered_after_ms", &ms);
        printf("%s: BMC %s reset done; it answers again after %.1f s\n", node, reset,
               (double)json_object_get_int64(ms) / 1000.0);
    }
    free(identify);
    free(reset);
    json_object_put(job);
    return CLI_EXIT_OK;
}

int cmd_identify(struct cli *cli, int argc, char **argv)
{
    enum { O_SECONDS = 256, O_TIMEOUT };
    static const struct option opts[] = {
        {"seconds", required_argument, NULL, O_SECONDS},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    long long timeout = 0, seconds = 0;
    int ch;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_SECONDS:
            if (args_int(cmd, "--seconds", optarg, 1, 255, &seconds) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(identify_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 2)
        return args_usage(cmd, "expected NODE and on, off or status");
    const char *node = argv[optind], *state = argv[optind + 1];
    if (args_node(cmd, node) != 0)
        return CLI_EXIT_USAGE;
    if (strcmp(state, "on") != 0 && strcmp(state, "off") != 0 && strcmp(state, "status") != 0)
        return args_usage(cmd, "'%s' is not on, off or status", state);
    if (seconds && strcmp(state, "on") != 0)
        return args_usage(cmd, "--seconds goes with on only");
    json_object *body = nj_body(timeout);
    json_object_object_add(body, "state", json_object_new_string(state));
    if (seconds)
        json_object_object_add(body, "seconds", json_object_new_int((int)seconds));
    char opname[32];
    snprintf(opname, sizeof(opname), "identify %s", state);
    int rc = run_and_print(cli, node, "identify", body, opname);
    json_object_put(body);
    return rc;
}

int cmd_bmc_reset(struct cli *cli, int argc, char **argv)
{
    enum { O_WARM = 256, O_TIMEOUT };
    static const struct option opts[] = {
        {"warm", no_argument, NULL, O_WARM},
        {"timeout", required_argument, NULL, O_TIMEOUT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    long long timeout = 0;
    bool warm = false;
    int ch;
    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_WARM:
            warm = true;
            break;
        case O_TIMEOUT:
            if (args_job_timeout(cmd, optarg, &timeout) != 0)
                return CLI_EXIT_USAGE;
            break;
        case 'h':
            fputs(bmc_reset_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 1)
        return args_usage(cmd, "expected one node NAME");
    const char *node = argv[optind];
    if (args_node(cmd, node) != 0)
        return CLI_EXIT_USAGE;
    json_object *body = nj_body(timeout);
    json_object_object_add(body, "type", json_object_new_string(warm ? "warm" : "cold"));
    int rc =
        run_and_print(cli, node, "bmc/reset", body, warm ? "bmc warm reset" : "bmc cold reset");
    json_object_put(body);
    return rc;
}
