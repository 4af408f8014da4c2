/* args.h - argument checks shared by the commands.
 *
 * cmd is the command's full name ("underlay node add").  Each check prints
 * its complaint as "cmd: ..." with a pointer to --help and returns -1, so the
 * caller can exit with CLI_EXIT_USAGE before sending anything; 0 on success.
 */
#ifndef UL_CLI_ARGS_H
#define UL_CLI_ARGS_H

#include <json-c/json.h>

#include "hostlist.h"

struct cli;
struct option;

/* The run context whose global options (--output, --server, --token,
 * --token-file and -o, -s, -t) args_getopt() fills when they come after the
 * command word.  Set once by main before a command runs; borrowed. */
void args_set_cli(struct cli *cli);

/* getopt_long() for a command: the command's own options as given, plus the
 * global options it does not define itself (graph keeps -o/--output for
 * its file), which are applied to the run context and never returned.  So
 * `underlay node list -o json` means what `underlay -o json node list`
 * does.  A bad global value (-o yaml) is printed and returns '?'.  Not
 * reentrant: one command parses at a time, as with getopt itself. */
int args_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts);

/* Print "cmd: message" and "Try 'cmd --help'."; returns CLI_EXIT_USAGE. */
int args_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* After getopt has printed its own complaint: the --help pointer only;
 * returns CLI_EXIT_USAGE. */
int args_try_help(const char *cmd);

/* getopt for a command whose only option is --help, usage being its text.
 * Returns the index of the first operand, or -1 to exit with *rc (help
 * printed, or a bad option). */
int args_help_only(int argc, char **argv, const char *usage, int *rc);

/* A decimal integer within [min, max]. */
int args_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
             long long *out);

/* A positive number of seconds, fractions allowed. */
int args_seconds(const char *cmd, const char *opt, const char *s, double *out);

/* A job id: a positive integer. */
int args_job_id(const char *cmd, const char *s, long long *out);

/* "key=value" into labels as a string. */
int args_label(const char *cmd, const char *opt, const char *arg, json_object *labels);

/* "key=value" into options: integers and true/false become JSON numbers and
 * booleans, anything else (including "007") a string. */
int args_option(const char *cmd, const char *arg, json_object *options);

/* One of the node states the API accepts. */
int args_node_state(const char *cmd, const char *state);

/* One of the job states the API accepts. */
int args_job_state(const char *cmd, const char *state);

/* Expand a pdsh-style host list; out is filled only on success. */
int args_hosts(const char *cmd, const char *expr, hostlist *out);

/* One node NAME.  A host list pattern ("n[1-4]", "a,b") is refused with a
 * clear message: the command acts on one node, and the server would only
 * answer "not found". */
int args_node(const char *cmd, const char *name);

/* A job's deadline for --timeout: whole seconds, 1 to 86400 as the API
 * accepts. */
int args_job_timeout(const char *cmd, const char *s, long long *out);

/* A point in time for --since/--until, into epoch seconds: RFC 3339 UTC
 * ("2026-11-24T20:00:00Z"), epoch seconds, or an age: digits and one of
 * s, m, h, d, w ("90m": 90 minutes ago). */
int args_time(const char *cmd, const char *opt, const char *s, long long *out);

/* The BMC password from --password-file or --password-env (at most one may
 * be given; *out stays NULL when neither is).  The caller owns *out and
 * frees it with settings_secret_free(). */
int args_password(const char *cmd, const char *file, const char *env_var, char **out);

#endif
