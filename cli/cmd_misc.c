/* cmd_misc.c - audit, token list/create/rm.  (health is in cmd_telemetry.c.) */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "cli.h"
#include "jsonv.h"
#include "xalloc.h"

#define AUDIT_DEFAULT 100

static const char audit_usage[] =
    "Usage: underlay audit [OPTIONS]\n"
    "\n"
    "Show the audit log, newest first (the latest 100 unless --limit says\n"
    "otherwise).\n"
    "\n"
    "  --limit N        at most N entries\n"
    "  --offset N       skip the N newest entries\n"
    "  --actor NAME     entries of this actor (token name)\n"
    "  --action A       entries of this action, e.g. node.create, power.cycle\n";

static const char token_list_usage[] =
    "Usage: underlay token list\n\nList API tokens (admin only).  Token values are never shown.\n";

static const char token_create_usage[] =
    "Usage: underlay token create NAME --role ROLE\n"
    "\n"
    "Create an API token (admin only).  ROLE is admin, operator or viewer.\n"
    "The token is printed on standard output this one time: the server keeps\n"
    "no way to show it again.\n";

static const char token_rm_usage[] =
    "Usage: underlay token rm NAME\n\nDelete an API token (admin only).\n";

/* Print the API's error for op and return the exit code for it. */
static int api_failed(const char *op, const struct cl_reply *r)
{
    out_err("%s: %s", op, r->message);
    return CLI_EXIT_ERROR;
}

static const char *const audit_headers[] = {"ID", "TIME", "ACTOR", "ACTION", "TARGET", "RESULT"};

int cmd_audit(struct cli *cli, int argc, char **argv)
{
    enum { O_LIMIT = 256, O_OFFSET, O_ACTOR, O_ACTION };
    static const struct option opts[] = {
        {"limit", required_argument, NULL, O_LIMIT},
        {"offset", required_argument, NULL, O_OFFSET},
        {"actor", required_argument, NULL, O_ACTOR},
        {"action", required_argument, NULL, O_ACTION},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *actor = NULL, *action = NULL;
    long long limit = AUDIT_DEFAULT, offset = 0;
    json_object *list = NULL;
    struct cl_reply err = {0};
    int ch, rc;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case O_LIMIT:
            if (args_int(cmd, "--limit", optarg, 1, 1000000000, &limit) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_OFFSET:
            if (args_int(cmd, "--offset", optarg, 0, 1000000000, &offset) != 0)
                return CLI_EXIT_USAGE;
            break;
        case O_ACTOR:
            actor = optarg;
            break;
        case O_ACTION:
            action = optarg;
            break;
        case 'h':
            fputs(audit_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (optind < argc)
        return args_usage(cmd, "unexpected argument '%s'", argv[optind]);
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    char *path = xstrdup("/api/v1/audit");
    if (actor)
        cl_query_add(c, &path, "actor", actor);
    if (action)
        cl_query_add(c, &path, "action", action);
    if (cl_list(c, path, offset, limit, &list, &err) != CL_OK) {
        rc = api_failed("audit", &err);
        goto out;
    }
    if (cli->format == OUT_JSON) {
        out_json(list);
    } else {
        json_object *items = json_object_object_get(list, "items");
        size_t n = json_object_array_length(items);
        struct out_table *t = out_table_new(6, audit_headers);
        for (size_t i = 0; i < n; i++) {
            json_object *e = json_object_array_get_idx(items, i);
            char *v[] = {out_field(e, "id"),     out_field(e, "time"),   out_field(e, "actor"),
                         out_field(e, "action"), out_field(e, "target"), out_field(e, "result")};
            out_table_add(t, (const char *const *)v);
            for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
                free(v[k]);
        }
        out_table_print(t, stdout);
        out_table_free(t);
        long long total = json_object_get_int64(json_object_object_get(list, "total"));
        if (total > offset + (long long)n)
            out_err("showing %zu of %lld entries; use --limit and --offset for more", n, total);
    }
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&err);
    json_object_put(list);
    free(path);
    return rc;
}

static const char *const token_headers[] = {"NAME", "ROLE", "CREATED", "LAST_USED"};

int cmd_token_list(struct cli *cli, int argc, char **argv)
{
    struct cl_reply r;
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, token_list_usage, &rc);

    if (first < 0)
        return rc;
    if (first < argc)
        return args_usage(argv[0], "unexpected argument '%s'", argv[first]);
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    if (cl_request(c, "GET", "/api/v1/tokens", NULL, &r) != CL_OK) {
        rc = api_failed("token list", &r);
        goto out;
    }
    if (cli->format == OUT_JSON) {
        out_json(r.body);
    } else {
        json_object *items = NULL;
        json_object_object_get_ex(r.body, "items", &items);
        struct out_table *t = out_table_new(4, token_headers);
        for (size_t i = 0; i < json_object_array_length(items); i++) {
            json_object *tok = json_object_array_get_idx(items, i), *used = NULL;
            json_object_object_get_ex(tok, "last_used_at", &used);
            char *v[] = {out_field(tok, "name"), out_field(tok, "role"),
                         out_field(tok, "created_at"), used ? out_text(used) : xstrdup("never")};
            out_table_add(t, (const char *const *)v);
            for (size_t k = 0; k < sizeof(v) / sizeof(v[0]); k++)
                free(v[k]);
        }
        out_table_print(t, stdout);
        out_table_free(t);
    }
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&r);
    return rc;
}

int cmd_token_create(struct cli *cli, int argc, char **argv)
{
    static const struct option opts[] = {
        {"role", required_argument, NULL, 'r'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *cmd = argv[0];
    const char *role = NULL;
    struct cl_reply r;
    int ch, rc;

    while ((ch = args_getopt(argc, argv, "h", opts)) != -1) {
        switch (ch) {
        case 'r':
            role = optarg;
            break;
        case 'h':
            fputs(token_create_usage, stdout);
            return CLI_EXIT_OK;
        default:
            return args_try_help(cmd);
        }
    }
    if (argc - optind != 1)
        return args_usage(cmd, "expected one token NAME");
    if (!role)
        return args_usage(cmd, "--role is required (admin, operator or viewer)");
    /* The API's three roles: a typo is a usage error, caught before asking. */
    if (strcmp(role, "admin") != 0 && strcmp(role, "operator") != 0 &&
        strcmp(role, "viewer") != 0)
        return args_usage(cmd, "--role: '%s' is not a role (admin, operator or viewer)", role);
    const char *name = argv[optind];
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    json_object *body = json_object_new_object();
    json_object_object_add(body, "name", json_object_new_string(name));
    json_object_object_add(body, "role", json_object_new_string(role));
    enum cl_status st = cl_request(c, "POST", "/api/v1/tokens", body, &r);
    json_object_put(body);
    if (st != CL_OK) {
        rc = api_failed("token create", &r);
        goto out;
    }
    const char *token = jv_str(r.body, "token");
    if (cli->format == OUT_JSON) {
        out_json(r.body);
    } else if (token) {
        /* The one place a token is printed: the server shows it only in this
         * reply.  Alone on stdout, so `> file` captures exactly the token. */
        puts(token);
        out_err("token '%s' created with role %s; it is not shown again", name, role);
    } else {
        out_err("token create: the reply carries no token");
        rc = CLI_EXIT_ERROR;
        goto out;
    }
    rc = CLI_EXIT_OK;
out:
    cl_reply_clear(&r);
    return rc;
}

int cmd_token_rm(struct cli *cli, int argc, char **argv)
{
    struct cl_reply r;
    int rc = CLI_EXIT_USAGE;
    int first = args_help_only(argc, argv, token_rm_usage, &rc);

    if (first < 0)
        return rc;
    if (argc - first != 1)
        return args_usage(argv[0], "expected one token NAME");
    struct cl_client *c = cli_connect(cli);
    if (!c)
        return CLI_EXIT_USAGE;
    char *esc = cl_escape(c, argv[first]);
    char *path = xasprintf("/api/v1/tokens/%s", esc);
    if (cl_request(c, "DELETE", path, NULL, &r) != CL_OK) {
        rc = api_failed("token rm", &r);
    } else {
        if (cli->format == OUT_TABLE)
            printf("deleted token %s\n", argv[first]);
        rc = CLI_EXIT_OK;
    }
    cl_reply_clear(&r);
    free(path);
    free(esc);
    return rc;
}
