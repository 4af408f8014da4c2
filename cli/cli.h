/* cli.h - what the underlay commands share: exit codes, the run context and
 * the command entry points.
 *
 * The CLI is a pure client of the REST API (docs/openapi.yaml).  Every command
 * first parses and checks all of its arguments, so that a usage error exits
 * with CLI_EXIT_USAGE before a single request is sent, then connects with
 * cli_connect() and talks to underlayd.  Single-threaded; commands block on
 * the network.
 */
#ifndef UL_CLI_H
#define UL_CLI_H

#include "client.h"
#include "output.h"
#include "settings.h"

/* Documented in `underlay --help` and docs/cli.md; scripts depend on them. */
enum cli_exit {
    CLI_EXIT_OK = 0,
    CLI_EXIT_ERROR = 1,   /* API, server or connection error; every target failed */
    CLI_EXIT_USAGE = 2,   /* bad command line or configuration; nothing was sent */
    CLI_EXIT_PARTIAL = 3, /* some targets failed, others succeeded */
};

struct cli {
    struct settings_flags flags; /* global options as given; strings borrowed from argv */
    enum out_format format;
    struct cl_client *client; /* owned; NULL until cli_connect() */
};

/* Resolve server and token (settings.h) and open the client on first use.
 * Returns the borrowed client, or NULL after printing why (exit with
 * CLI_EXIT_USAGE: nothing was sent). */
struct cl_client *cli_connect(struct cli *cli);

/* Command entry points.  argv[0] is the command's full name ("underlay node
 * add"), used in messages; the return value is the process exit code. */
int cmd_node_add(struct cli *cli, int argc, char **argv);
int cmd_node_list(struct cli *cli, int argc, char **argv);
int cmd_node_show(struct cli *cli, int argc, char **argv);
int cmd_node_set(struct cli *cli, int argc, char **argv);
int cmd_node_rm(struct cli *cli, int argc, char **argv);
int cmd_job_list(struct cli *cli, int argc, char **argv);
int cmd_job_show(struct cli *cli, int argc, char **argv);
int cmd_job_wait(struct cli *cli, int argc, char **argv);
int cmd_job_cancel(struct cli *cli, int argc, char **argv);
int cmd_power(struct cli *cli, int argc, char **argv);
int cmd_identify(struct cli *cli, int argc, char **argv);
int cmd_bmc_reset(struct cli *cli, int argc, char **argv);
int cmd_boot(struct cli *cli, int argc, char **argv);
int cmd_sensors(struct cli *cli, int argc, char **argv);
int cmd_sel(struct cli *cli, int argc, char **argv);
int cmd_inventory(struct cli *cli, int argc, char **argv);
int cmd_events(struct cli *cli, int argc, char **argv);
int cmd_audit(struct cli *cli, int argc, char **argv);
int cmd_token_list(struct cli *cli, int argc, char **argv);
int cmd_token_create(struct cli *cli, int argc, char **argv);
int cmd_token_rm(struct cli *cli, int argc, char **argv);
int cmd_health(struct cli *cli, int argc, char **argv);
int cmd_fleet(struct cli *cli, int argc, char **argv);
int cmd_history(struct cli *cli, int argc, char **argv);
int cmd_graph(struct cli *cli, int argc, char **argv);
int cmd_bios(struct cli *cli, int argc, char **argv);
int cmd_raid(struct cli *cli, int argc, char **argv);
int cmd_firmware(struct cli *cli, int argc, char **argv);
int cmd_console(struct cli *cli, int argc, char **argv);

#endif
