/* settings.h - where the CLI finds its server URL and API token.
 *
 * Each setting is taken from the first source that has it:
 *   1. the global flags (--server, --token, --token-file);
 *   2. the environment (UNDERLAY_URL, UNDERLAY_TOKEN, UNDERLAY_TOKEN_FILE);
 *   3. the config file: $UNDERLAY_CONFIG, else ~/.config/underlay/cli.conf,
 *      lines "url = ...", "token = ...", "token_file = ...", '#' comments;
 *   4. defaults: http://127.0.0.1:8624, and the token in
 *      /var/lib/underlay/admin.token when this user can read it.
 * Within one source an inline token beats a token file.  The config file is
 * read only when the flags and the environment leave something unset.
 * UNDERLAY_TOKEN or UNDERLAY_TOKEN_FILE set to the empty string means no
 * token at all: never a silent fall back to another token file.
 */
#ifndef UL_CLI_SETTINGS_H
#define UL_CLI_SETTINGS_H

#include <stddef.h>

#include "ul_error.h"

#define SETTINGS_DEFAULT_URL "http://127.0.0.1:8624"
#define SETTINGS_DEFAULT_TOKEN_FILE "/var/lib/underlay/admin.token"

/* Secrets longer than this are refused: a token or a BMC password is far
 * shorter, and a bigger file is almost surely the wrong file. */
#define SETTINGS_SECRET_MAX 4096

struct settings_flags {
    const char *url;        /* --server; borrowed, NULL when not given */
    char *token;            /* --token; owned copy (argv is scrubbed), NULL when not given */
    const char *token_file; /* --token-file; borrowed, NULL when not given */
};

struct settings {
    char *url;          /* owned */
    char *token;        /* owned, secret; NULL when no source has one */
    char *token_source; /* owned: where the token came from ("--token-file
                         * /x", "$UNDERLAY_TOKEN", "/x ('token_file' in
                         * CONF)"), or why there is none; for messages */
};

/* Resolve s from flags, environment, config file and defaults.  On error s
 * holds nothing and em names the file (and line) at fault. */
ul_err settings_resolve(struct settings *s, const struct settings_flags *flags, ul_errmsg *em);

/* Free s, wiping the token first. */
void settings_free(struct settings *s);

/* Read a one-line secret (token, password) from path into a new string:
 * trailing CR/LF removed, NUL bytes and empty content refused.  The caller
 * owns *out and should release it with settings_secret_free(). */
ul_err settings_read_secret(const char *path, char **out, ul_errmsg *em);

/* Wipe and free a secret; NULL is fine. */
void settings_secret_free(char *secret);

#endif
