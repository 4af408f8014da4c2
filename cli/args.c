#include "config.h"

#include "args.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "settings.h"
#include "ultime.h"
#include "xalloc.h"

/* The node states of the API contract.  Checked here because a bad state in
 * `node add n[1-500]` would otherwise cost 500 identical 400 replies. */
static const char *const node_states[] = {
    "enrolled", "ready", "maintenance", "provisioning", "deployed", "retired",
};

/* The job states of the API contract (GET /api/v1/jobs?state=). */
static const char *const job_states[] = {
    "queued", "running", "succeeded", "failed", "canceled",
};

int args_usage(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return args_try_help(cmd);
}

int args_try_help(const char *cmd)
{
    fprintf(stderr, "Try '%s --help'.\n", cmd);
    return CLI_EXIT_USAGE;
}

/* Strict decimal: optional '-', digits, nothing else, no overflow. */
static int parse_ll(const char *s, long long *out)
{
    char *end;
    if (!*s || (*s != '-' && (*s < '0' || *s > '9')))
        return -1;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

int args_int(const char *cmd, const char *opt, const char *s, long long min, long long max,
             long long *out)
{
    long long v;
    if (parse_ll(s, &v) != 0 || v < min || v > max) {
        args_usage(cmd, "%s: expected an integer from %lld to %lld, not '%s'", opt, min, max, s);
        return -1;
    }
    *out = v;
    return 0;
}

int args_seconds(const char *cmd, const char *opt, const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    /* A year bounds it: past that a typo is likelier than intent, and the
     * deadline arithmetic stays far from overflow. */
    if (!*s || *end || errno || !isfinite(v) || v <= 0 || v > 365.0 * 86400) {
        args_usage(cmd, "%s: expected a positive number of seconds, not '%s'", opt, s);
        return -1;
    }
    *out = v;
    return 0;
}

int args_job_id(const char *cmd, const char *s, long long *out)
{
    long long v;
    if (parse_ll(s, &v) != 0 || v < 1) {
        args_usage(cmd, "'%s' is not a job id (a positive integer)", s);
        return -1;
    }
    *out = v;
    return 0;
}

int args_label(const char *cmd, const char *opt, const char *arg, json_object *labels)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        args_usage(cmd, "%s: expected KEY=VALUE, not '%s'", opt, arg);
        return -1;
    }
    char *key = xstrndup(arg, (size_t)(eq - arg));
    json_object_object_add(labels, key, json_object_new_string(eq + 1));
    free(key);
    return 0;
}

int args_option(const char *cmd, const char *arg, json_object *options)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg) {
        args_usage(cmd, "expected KEY=VALUE, not '%s'", arg);
        return -1;
    }
    const char *val = eq + 1;
    char *key = xstrndup(arg, (size_t)(eq - arg));
    long long n;
    json_object *v;
    /* Leading zeros mark an identifier ("007"), not a number. */
    int leading_zero = (val[0] == '0' && val[1]) || (val[0] == '-' && val[1] == '0');
    if (!leading_zero && parse_ll(val, &n) == 0)
        v = json_object_new_int64(n);
    else if (strcmp(val, "true") == 0 || strcmp(val, "false") == 0)
        v = json_object_new_boolean(val[0] == 't');
    else
        v = json_object_new_string(val);
    json_object_object_add(options, key, v);
    free(key);
    return 0;
}

int args_node_state(const char *cmd, const char *state)
{
    for (size_t i = 0; i < sizeof(node_states) / sizeof(node_states[0]); i++)
        if (strcmp(state, node_states[i]) == 0)
            return 0;
    args_usage(cmd,
               "--state: '%s' is not a node state (enrolled, ready, maintenance, provisioning, "
               "deployed, retired)",
               state);
    return -1;
}

int args_job_state(const char *cmd, const char *state)
{
    for (size_t i = 0; i < sizeof(job_states) / sizeof(job_states[0]); i++)
        if (strcmp(state, job_states[i]) == 0)
            return 0;
    args_usage(cmd,
               "--state: '%s' is not a job state (queued, running, succeeded, failed, canceled)",
               state);
    return -1;
}

int args_hosts(const char *cmd, const char *expr, hostlist *out)
{
    ul_errmsg em;
    if (hostlist_expand(expr, out, &em) != UL_OK) {
        args_usage(cmd, "%s", em.text);
        return -1;
    }
    return 0;
}

int args_node(const char *cmd, const char *name)
{
    if (!*name) {
        args_usage(cmd, "the node NAME is empty");
        return -1;
    }
    if (hostlist_is_pattern(name)) {
        args_usage(cmd, "expected one node NAME, not the host list '%s'", name);
        return -1;
    }
    return 0;
}

int args_job_timeout(const char *cmd, const char *s, long long *out)
{
    return args_int(cmd, "--timeout", s, 1, 86400, out);
}

int args_time(const char *cmd, const char *opt, const char *s, long long *out)
{
    static const struct {
        char unit;
        long long seconds;
    } units[] = {{'s', 1}, {'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    size_t len = strlen(s);
    long long n;

    if (len >= 2 && s[len - 1] >= 'a' && s[len - 1] <= 'z') {
        char *digits = xstrndup(s, len - 1);
        int bad = digits[0] == '-' || parse_ll(digits, &n) != 0;
        free(digits);
        for (size_t i = 0; !bad && i < sizeof(units) / sizeof(units[0]); i++) {
            /* Ages past 100 years are typos; the bound also keeps the product
             * far from overflow. */
            if (s[len - 1] == units[i].unit && n <= 3155760000LL / units[i].seconds) {
                *out = (long long)ul_wall_s() - n * units[i].seconds;
                if (*out < 0)
                    *out = 0;
                return 0;
            }
        }
    } else {
        int64_t t = ul_time_parse(s);
        if (t >= 0) {
            *out = (long long)t;
            return 0;
        }
    }
    args_usage(cmd,
               "%s: expected RFC 3339 UTC time (2026-11-24T20:00:00Z), epoch seconds or an age "
               "such as 30m, 12h, 7d; not '%s'",
               opt, s);
    return -1;
}

int args_password(const char *cmd, const char *file, const char *env_var, char **out)
{
    ul_errmsg em;
    *out = NULL;
    if (file && env_var) {
        args_usage(cmd, "give --password-file or --password-env, not both");
        return -1;
    }
    if (file) {
        if (settings_read_secret(file, out, &em) != UL_OK) {
            args_usage(cmd, "--password-file: %s", em.text);
            return -1;
        }
    } else if (env_var) {
        const char *v = getenv(env_var);
        if (!v || !*v) {
            args_usage(cmd, "--password-env: $%s is not set or empty", env_var);
            return -1;
        }
        *out = xstrdup(v);
    }
    return 0;
}

static struct cli *args_cli;

void args_set_cli(struct cli *cli)
{
    args_cli = cli;
}

/* getopt values of the global options, far from the commands' own (letters
 * and 256 up). */
enum { G_OUTPUT = 0x4000, G_SERVER, G_TOKEN, G_TOKEN_FILE };

static const struct option global_opts[] = {
    {"output", required_argument, NULL, G_OUTPUT},
    {"server", required_argument, NULL, G_SERVER},
    {"token", required_argument, NULL, G_TOKEN},
    {"token-file", required_argument, NULL, G_TOKEN_FILE},
};
#define NGLOBAL (sizeof(global_opts) / sizeof(global_opts[0]))
static const struct {
    char letter;
    int val;
} global_short[] = {{'o', G_OUTPUT}, {'s', G_SERVER}, {'t', G_TOKEN}};

/* Apply one global option to the run context; -1 after printing why when
 * its value is bad. */
static int apply_global(const char *cmd, int val, char *arg)
{
    struct cli *cli = args_cli;
    switch (val) {
    case G_OUTPUT:
        if (out_parse_format(arg, &cli->format) != 0) {
            fprintf(stderr, "%s: --output: expected 'table' or 'json', not '%s'\n", cmd, arg);
            return -1;
        }
        break;
    case G_SERVER:
        cli->flags.url = arg;
        break;
    case G_TOKEN:
        settings_secret_free(cli->flags.token);
        cli->flags.token = xstrdup(arg);
        /* As main does: keep it out of later reads of /proc/PID/cmdline. */
        memset(arg, 'x', strlen(arg));
        break;
    case G_TOKEN_FILE:
        cli->flags.token_file = arg;
        break;
    }
    return 0;
}

int args_getopt(int argc, char **argv, const char *shortopts, const struct option *longopts)
{
    /* The command's table and the globals it lacks, rebuilt on each call
     * (getopt reads them afresh each time; a command has a dozen options
     * at most).  Single-threaded, as getopt itself is. */
    static struct option merged[64];
    static char shorts[64];
    size_t n = 0, ns = 0;

    if (!args_cli)
        return getopt_long(argc, argv, shortopts, longopts, NULL);
    for (; longopts[n].name && n < 64 - NGLOBAL - 1; n++)
        merged[n] = longopts[n];
    size_t ncmd = n;
    for (size_t g = 0; g < NGLOBAL; g++) {
        bool taken = false;
        for (size_t i = 0; i < ncmd; i++)
            taken = taken || strcmp(merged[i].name, global_opts[g].name) == 0;
        if (!taken)
            merged[n++] = global_opts[g];
    }
    memset(&merged[n], 0, sizeof(merged[n]));
    ns = (size_t)snprintf(shorts, sizeof(shorts), "%s", shortopts);
    for (size_t g = 0; g < sizeof(global_short) / sizeof(global_short[0]); g++)
        if (!strchr(shortopts, global_short[g].letter) && ns + 2 < sizeof(shorts)) {
            shorts[ns++] = global_short[g].letter;
            shorts[ns++] = ':';
            shorts[ns] = '\0';
        }

    for (;;) {
        int ch = getopt_long(argc, argv, shorts, merged, NULL);
        int val = ch;
        for (size_t g = 0; g < sizeof(global_short) / sizeof(global_short[0]); g++)
            if (ch == global_short[g].letter && !strchr(shortopts, ch))
                val = global_short[g].val;
        if (val < G_OUTPUT || val > G_TOKEN_FILE)
            return ch;
        if (apply_global(argv[0], val, optarg) != 0)
            return '?';
    }
}

int args_help_only(int argc, char **argv, const char *usage, int *rc)
{
    static const struct option opts[] = {
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    /* One call scans (and permutes) all of argv: -1 means no option at all. */
    int ch = args_getopt(argc, argv, "h", opts);
    if (ch == -1)
        return optind;
    if (ch == 'h') {
        fputs(usage, stdout);
        *rc = CLI_EXIT_OK;
    } else {
        *rc = args_try_help(argv[0]);
    }
    return -1;
}
