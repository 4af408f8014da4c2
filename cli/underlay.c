/* underlay.c - entry point of the underlay CLI: global options, the command
 * table and dispatch.  The commands live in cmd_*.c. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "xalloc.h"

static const char usage_text[] =
    "Usage: underlay [OPTIONS] COMMAND [ARGS]\n"
    "\n"
    "Client of underlayd, the BMC and hardware management daemon.\n"
    "\n"
    "Options (before or after the command; graph keeps -o for its file):\n"
    "  -s, --server URL       underlayd base URL (default http://127.0.0.1:8624)\n"
    "  -t, --token TOKEN      API token (other users can see it in ps: prefer --token-file)\n"
    "      --token-file FILE  read the API token from FILE\n"
    "  -o, --output FORMAT    table (default) or json\n"
    "  -h, --help             show this help\n"
    "      --version          show the version\n"
    "\n"
    "Commands:\n"
    "  node add HOSTLIST --endpoint URI [...]    enrol nodes\n"
    "  node list [--name GLOB] [--label K=V]...  list nodes\n"
    "  node show NAME                            show one node\n"
    "  node set HOSTLIST [...]                   change nodes\n"
    "  node rm HOSTLIST                          delete nodes\n"
    "  job list [--state S] [--node N] [...]     list jobs, newest first\n"
    "  job show ID                               show one job\n"
    "  job wait ID... [--timeout S]              wait until jobs finish\n"
    "  job cancel ID...                          cancel jobs\n"
    "  power ACTION HOSTLIST [--wait]            on, off, soft, cycle, reset, status\n"
    "  boot HOSTLIST [DEVICE] [--persistent]     read, or set and read back, the boot\n"
    "                                            override (pxe, disk, cdrom, bios, none)\n"
    "  identify NODE on|off|status [--seconds N] the chassis identify LED\n"
    "  bmc-reset NODE [--warm]                   reset the node's BMC, wait until it\n"
    "                                            answers again (admin)\n"
    "  sensors HOSTLIST [--cached] [--kind K]    read nodes' sensors and power draw now,\n"
    "                                            or as last polled (--cached)\n"
    "  sel HOSTLIST [--clear]                    collect nodes' BMC event logs, list them\n"
    "  inventory NODE [--cached]                 show a node's hardware inventory (FRU)\n"
    "  bios NODE [get|pending|set K=V... [--apply now|on-reset]]\n"
    "                                            read, stage or apply BIOS settings\n"
    "  raid NODE [show|create ...|delete VOLUME] storage controllers, drives, volumes\n"
    "  firmware NODE [list|update --image URI|upload FILE]\n"
    "                                            firmware versions and updates\n"
    "  console NODE [--view]                     attach to a node's serial console (~. leaves)\n"
    "  events [--node N] [--severity S] [...]    list stored events, newest first\n"
    "  fleet [--label K=V]...                    health, power state and draw of every node\n"
    "  health [HOSTLIST]                         check that underlayd answers; with\n"
    "                                            HOSTLIST, the nodes' health as last polled\n"
    "  history NODE [SENSOR] [--range R]         list sensors with history, or show one's\n"
    "  graph NODE SENSOR -o FILE [--range R]     draw a sensor's (or kind's) history as PNG\n"
    "  audit [--limit N]                         show the audit log, newest first\n"
    "  token list                                list API tokens (admin)\n"
    "  token create NAME --role ROLE             create an API token (admin)\n"
    "  token rm NAME                             delete an API token (admin)\n"
    "\n"
    "HOSTLIST is pdsh-style: rack1-n[01-40,45],db1.  Commands over a HOSTLIST go\n"
    "on past nodes that fail.  'underlay COMMAND --help' shows a command's options.\n"
    "\n"
    "The server and token come from the options, else the environment\n"
    "(UNDERLAY_URL, UNDERLAY_TOKEN, UNDERLAY_TOKEN_FILE), else the config file\n"
    "($UNDERLAY_CONFIG or ~/.config/underlay/cli.conf, lines 'url = ...',\n"
    "'token = ...', 'token_file = ...'), else http://127.0.0.1:8624 and\n"
    "/var/lib/underlay/admin.token when readable.\n"
    "\n"
    "Exit status:\n"
    "  0  success\n"
    "  1  error: the server refused the request or could not be reached, or every\n"
    "     target failed (a job that failed, e.g. 'not supported by this BMC')\n"
    "  2  usage error: bad option, argument or host list, unknown command, or bad\n"
    "     configuration; nothing was sent to the server\n"
    "  3  partial failure: some targets failed, others succeeded\n";

struct command {
    const char *group; /* "node", "job", "token"; NULL for a top-level command */
    const char *name;
    int (*run)(struct cli *cli, int argc, char **argv);
};

static const struct command commands[] = {
    {"node", "add", cmd_node_add},
    {"node", "list", cmd_node_list},
    {"node", "show", cmd_node_show},
    {"node", "set", cmd_node_set},
    {"node", "rm", cmd_node_rm},
    {"job", "list", cmd_job_list},
    {"job", "show", cmd_job_show},
    {"job", "wait", cmd_job_wait},
    {"job", "cancel", cmd_job_cancel},
    {NULL, "power", cmd_power},
    {NULL, "boot", cmd_boot},
    {NULL, "identify", cmd_identify},
    {NULL, "bmc-reset", cmd_bmc_reset},
    {NULL, "sensors", cmd_sensors},
    {NULL, "sel", cmd_sel},
    {NULL, "inventory", cmd_inventory},
    {NULL, "events", cmd_events},
    {NULL, "audit", cmd_audit},
    {"token", "list", cmd_token_list},
    {"token", "create", cmd_token_create},
    {"token", "rm", cmd_token_rm},
    {NULL, "health", cmd_health},
    {NULL, "fleet", cmd_fleet},
    {NULL, "history", cmd_history},
    {NULL, "graph", cmd_graph},
    {NULL, "bios", cmd_bios},
    {NULL, "raid", cmd_raid},
    {NULL, "firmware", cmd_firmware},
    {NULL, "console", cmd_console},
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

struct cl_client *cli_connect(struct cli *cli)
{
    struct settings s;
    ul_errmsg em;

    if (cli->client)
        return cli->client;
    /* Checked here too: either may have come after the command word. */
    if (cli->flags.token && cli->flags.token_file) {
        out_err("give --token or --token-file, not both");
        return NULL;
    }
    if (settings_resolve(&s, &cli->flags, &em) != UL_OK) {
        out_err("%s", em.text);
        return NULL;
    }
    cli->client = cl_new(s.url, s.token, &em);
    if (cli->client)
        cl_set_token_source(cli->client, s.token_source);
    settings_free(&s);
    if (!cli->client)
        out_err("%s", em.text);
    return cli->client;
}

static void group_usage(FILE *f, const char *group)
{
    fprintf(f, "Usage: underlay %s SUBCOMMAND [ARGS]\n\nSubcommands:", group);
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].group && strcmp(commands[i].group, group) == 0)
            fprintf(f, " %s", commands[i].name);
    fprintf(f, "\n'underlay %s SUBCOMMAND --help' shows a subcommand's options.\n", group);
}

static bool is_help(const char *s)
{
    return strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0 || strcmp(s, "help") == 0;
}

/* Run cmd on argv[0..argc), where argv[0] is its last name word.  The command
 * sees argv[0] replaced by its full name, which getopt and our messages
 * print. */
static int run(struct cli *cli, const struct command *cmd, int argc, char **argv)
{
    char *name = cmd->group ? xasprintf("underlay %s %s", cmd->group, cmd->name)
                            : xasprintf("underlay %s", cmd->name);
    char **sub = xcalloc((size_t)argc + 1, sizeof(char *));
    sub[0] = name;
    for (int i = 1; i < argc; i++)
        sub[i] = argv[i];
    /* glibc: optind = 0 re-initialises getopt fully, as a new argv needs. */
    optind = 0;
    int rc = cmd->run(cli, argc, sub);
    free(sub);
    free(name);
    return rc;
}

static int dispatch(struct cli *cli, int argc, char **argv)
{
    const char *word = argv[0];
    bool is_group = false;

    if (strcmp(word, "help") == 0) {
        fputs(usage_text, stdout);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++) {
        if (!commands[i].group && strcmp(commands[i].name, word) == 0)
            return run(cli, &commands[i], argc, argv);
        if (commands[i].group && strcmp(commands[i].group, word) == 0)
            is_group = true;
    }
    if (!is_group) {
        fprintf(stderr, "underlay: unknown command '%s'\nTry 'underlay --help'.\n", word);
        return CLI_EXIT_USAGE;
    }
    if (argc < 2) {
        group_usage(stderr, word);
        return CLI_EXIT_USAGE;
    }
    if (is_help(argv[1])) {
        group_usage(stdout, word);
        return CLI_EXIT_OK;
    }
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].group && strcmp(commands[i].group, word) == 0 &&
            strcmp(commands[i].name, argv[1]) == 0)
            return run(cli, &commands[i], argc - 1, argv + 1);
    fprintf(stderr, "underlay %s: unknown subcommand '%s'\nTry 'underlay %s --help'.\n", word,
            argv[1], word);
    return CLI_EXIT_USAGE;
}

enum { OPT_TOKEN_FILE = 256, OPT_VERSION };

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"server", required_argument, NULL, 's'},
        {"token", required_argument, NULL, 't'},
        {"token-file", required_argument, NULL, OPT_TOKEN_FILE},
        {"output", required_argument, NULL, 'o'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    struct cli cli = {0};
    int rc = CLI_EXIT_USAGE;
    int ch;

    /* '+': stop at the command word, whose options are its own. */
    while ((ch = getopt_long(argc, argv, "+s:t:o:h", opts, NULL)) != -1) {
        switch (ch) {
        case 's':
            cli.flags.url = optarg;
            break;
        case 't':
            settings_secret_free(cli.flags.token);
            cli.flags.token = xstrdup(optarg);
            /* Blank it in argv so later reads of /proc/PID/cmdline do not
             * show it; the window before this point cannot be closed. */
            memset(optarg, 'x', strlen(optarg));
            break;
        case OPT_TOKEN_FILE:
            cli.flags.token_file = optarg;
            break;
        case 'o':
            if (out_parse_format(optarg, &cli.format) != 0) {
                fprintf(stderr, "underlay: --output: expected 'table' or 'json', not '%s'\n",
                        optarg);
                goto out;
            }
            break;
        case 'h':
            fputs(usage_text, stdout);
            rc = CLI_EXIT_OK;
            goto out;
        case OPT_VERSION:
            printf("underlay %s\n", PACKAGE_VERSION);
            rc = CLI_EXIT_OK;
            goto out;
        default:
            fputs("Try 'underlay --help'.\n", stderr);
            goto out;
        }
    }
    if (cli.flags.token && cli.flags.token_file) {
        fputs("underlay: give --token or --token-file, not both\n", stderr);
        goto out;
    }
    if (optind >= argc) {
        fputs(usage_text, stderr);
        goto out;
    }
    if (cl_global_init() != 0) {
        fputs("underlay: cannot initialise libcurl\n", stderr);
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    args_set_cli(&cli);
    rc = dispatch(&cli, argc - optind, argv + optind);
    cl_free(cli.client);
    cl_global_cleanup();
out:
    settings_secret_free(cli.flags.token);
    /* A full disk or a closed pipe must not pass for success. */
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fputs("underlay: error writing to standard output\n", stderr);
        if (rc == CLI_EXIT_OK)
            rc = CLI_EXIT_ERROR;
    }
    return rc;
}
