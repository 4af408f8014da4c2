#include "config.h"

#include "settings.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xalloc.h"

/* A config file is a handful of lines; refusing big ones keeps a wrong path
 * (a log, a binary) from being read at length. */
#define CONF_MAX_BYTES (64 * 1024)
#define CONF_LINE_MAX 4096

/* What the config file said; every string owned. */
struct conf {
    char *url;
    char *token;
    char *token_file;
};

static void conf_free(struct conf *c)
{
    free(c->url);
    settings_secret_free(c->token);
    free(c->token_file);
    memset(c, 0, sizeof(*c));
}

/* An environment variable, with "set but empty" meaning unset: shells make
 * `UNDERLAY_TOKEN= underlay ...` the easy way to switch a source off. */
static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

void settings_secret_free(char *secret)
{
    if (!secret)
        return;
    explicit_bzero(secret, strlen(secret));
    free(secret);
}

ul_err settings_read_secret(const char *path, char **out, ul_errmsg *em)
{
    char buf[SETTINGS_SECRET_MAX + 1];
    size_t len = 0;
    ul_err rc = UL_OK;

    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ul_errmsg_set(em, UL_ERR_IO, "cannot open %s: %s", path, strerror(errno));
    while (len < sizeof(buf)) {
        ssize_t n = read(fd, buf + len, sizeof(buf) - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = ul_errmsg_set(em, UL_ERR_IO, "cannot read %s: %s", path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > SETTINGS_SECRET_MAX) {
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "%s: longer than %d bytes", path,
                           SETTINGS_SECRET_MAX);
        goto out;
    }
    if (memchr(buf, '\0', len)) {
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "%s: contains a NUL byte", path);
        goto out;
    }
    /* Files written by `echo` or an editor end in a newline that is not part
     * of the secret; inner and leading bytes are kept as they are. */
    while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == '\r'))
        len--;
    if (len == 0) {
        rc = ul_errmsg_set(em, UL_ERR_INVALID, "%s: is empty", path);
        goto out;
    }
    *out = xstrndup(buf, len);
out:
    explicit_bzero(buf, sizeof(buf));
    close(fd);
    return rc;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *end = s + strlen(s);
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    return s;
}

/* "~/x" in token_file means $HOME/x, as an operator writing the file expects. */
static char *expand_home(const char *path)
{
    const char *home = env("HOME");
    if (path[0] == '~' && path[1] == '/' && home)
        return xasprintf("%s%s", home, path + 1);
    return xstrdup(path);
}

static ul_err conf_set(struct conf *c, const char *path, int lineno, const char *key,
                       const char *value, ul_errmsg *em)
{
    char **slot;
    if (strcmp(key, "url") == 0)
        slot = &c->url;
    else if (strcmp(key, "token") == 0)
        slot = &c->token;
    else if (strcmp(key, "token_file") == 0)
        slot = &c->token_file;
    else
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "%s:%d: unknown key '%.64s' (known: url, token, token_file)", path,
                             lineno, key);
    if (!*value)
        return ul_errmsg_set(em, UL_ERR_INVALID, "%s:%d: empty value for '%s'", path, lineno, key);
    if (slot == &c->token) {
        settings_secret_free(c->token);
        c->token = xstrdup(value);
    } else {
        free(*slot);
        *slot = slot == &c->token_file ? expand_home(value) : xstrdup(value);
    }
    return UL_OK;
}

/* Parse an open config file.  A file readable by others that holds a token
 * earns a warning, the way ssh treats a private key. */
static ul_err conf_parse(FILE *f, const char *path, struct conf *c, ul_errmsg *em)
{
    char line[CONF_LINE_MAX + 2];
    struct stat st;
    int lineno = 0;

    if (fstat(fileno(f), &st) != 0)
        return ul_errmsg_set(em, UL_ERR_IO, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return ul_errmsg_set(em, UL_ERR_INVALID, "%s: not a regular file", path);
    if (st.st_size > CONF_MAX_BYTES)
        return ul_errmsg_set(em, UL_ERR_INVALID, "%s: larger than %d bytes", path, CONF_MAX_BYTES);
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        size_t len = strlen(line);
        if (len > CONF_LINE_MAX || (len > 0 && line[len - 1] != '\n' && !feof(f)))
            return ul_errmsg_set(em, UL_ERR_INVALID, "%s:%d: line longer than %d characters", path,
                                 lineno, CONF_LINE_MAX);
        char *s = trim(line);
        if (*s == '\0' || *s == '#')
            continue;
        char *eq = strchr(s, '=');
        if (!eq)
            return ul_errmsg_set(em, UL_ERR_INVALID, "%s:%d: expected 'key = value'", path, lineno);
        *eq = '\0';
        ul_err rc = conf_set(c, path, lineno, trim(s), trim(eq + 1), em);
        explicit_bzero(line, sizeof(line));
        if (rc != UL_OK)
            return rc;
    }
    if (ferror(f))
        return ul_errmsg_set(em, UL_ERR_IO, "cannot read %s", path);
    if (c->token && (st.st_mode & 077))
        fprintf(stderr,
                "underlay: warning: %s holds a token and is readable by others "
                "(chmod 600 it)\n",
                path);
    return UL_OK;
}

/* Load the config file into c.  An explicit $UNDERLAY_CONFIG must exist; the
 * default file is optional.  *used_path receives the file's path (caller
 * frees; NULL when there was none). */
static ul_err conf_load(struct conf *c, char **used_path, ul_errmsg *em)
{
    const char *explicit_path = env("UNDERLAY_CONFIG");
    const char *home = env("HOME");
    char *path = NULL;
    FILE *f = NULL;
    ul_err rc = UL_OK;

    if (explicit_path)
        path = xstrdup(explicit_path);
    else if (home)
        path = xasprintf("%s/.config/underlay/cli.conf", home);
    else
        goto out;
    f = fopen(path, "re");
    if (!f) {
        if (errno != ENOENT || explicit_path)
            rc = ul_errmsg_set(em, UL_ERR_IO, "cannot open config file %s: %s", path,
                               strerror(errno));
        goto out;
    }
    rc = conf_parse(f, path, c, em);
out:
    if (f)
        fclose(f);
    if (rc == UL_OK && used_path) {
        *used_path = path;
        path = NULL;
    }
    free(path);
    if (rc != UL_OK)
        conf_free(c);
    return rc;
}

/* A token variable set to the empty string: getenv gives "", env() NULL. */
static bool env_empty(const char *name)
{
    const char *v = getenv(name);
    return v && !*v;
}

ul_err settings_resolve(struct settings *s, const struct settings_flags *flags, ul_errmsg *em)
{
    struct conf conf = {0};
    char *conf_path = NULL;
    const char *v;
    ul_err rc = UL_OK;
    bool have_token = true;

    memset(s, 0, sizeof(*s));
    if (flags->token) {
        s->token = xstrdup(flags->token);
        s->token_source = xstrdup("--token");
    } else if (flags->token_file) {
        rc = settings_read_secret(flags->token_file, &s->token, em);
        s->token_source = xasprintf("--token-file %s", flags->token_file);
    } else if ((v = env("UNDERLAY_TOKEN"))) {
        s->token = xstrdup(v);
        s->token_source = xstrdup("$UNDERLAY_TOKEN");
    } else if ((v = env("UNDERLAY_TOKEN_FILE"))) {
        rc = settings_read_secret(v, &s->token, em);
        s->token_source = xasprintf("$UNDERLAY_TOKEN_FILE (%s)", v);
    } else if (env_empty("UNDERLAY_TOKEN") || env_empty("UNDERLAY_TOKEN_FILE")) {
        /* Set but empty: the operator switched the token off here, or a
         * script expanded an unset variable.  Either way, falling back to
         * the config file's or the default admin token file would act with
         * a token nobody named: send none, and say why on a 401. */
        s->token_source =
            xstrdup(env_empty("UNDERLAY_TOKEN_FILE") ? "$UNDERLAY_TOKEN_FILE is set but empty"
                                                     : "$UNDERLAY_TOKEN is set but empty");
    } else {
        have_token = false;
    }
    if (rc != UL_OK)
        goto out;

    const char *url = flags->url ? flags->url : env("UNDERLAY_URL");
    if (!url || !have_token) {
        rc = conf_load(&conf, &conf_path, em);
        if (rc != UL_OK)
            goto out;
    }
    s->url = xstrdup(url ? url : conf.url ? conf.url : SETTINGS_DEFAULT_URL);
    if (!have_token) {
        if (conf.token) {
            s->token = xstrdup(conf.token);
            s->token_source = xasprintf("'token' in %s", conf_path);
        } else if (conf.token_file) {
            rc = settings_read_secret(conf.token_file, &s->token, em);
            s->token_source = xasprintf("%s ('token_file' in %s)", conf.token_file, conf_path);
        } else if (access(SETTINGS_DEFAULT_TOKEN_FILE, R_OK) == 0) {
            rc = settings_read_secret(SETTINGS_DEFAULT_TOKEN_FILE, &s->token, em);
            s->token_source = xasprintf("%s (the default token file)", SETTINGS_DEFAULT_TOKEN_FILE);
        } else {
            s->token_source = xasprintf("no token option, variable or config file, and %s is "
                                        "not readable",
                                        SETTINGS_DEFAULT_TOKEN_FILE);
        }
    }
out:
    free(conf_path);
    conf_free(&conf);
    if (rc != UL_OK)
        settings_free(s);
    return rc;
}

void settings_free(struct settings *s)
{
    if (!s)
        return;
    free(s->url);
    settings_secret_free(s->token);
    free(s->token_source);
    s->url = NULL;
    s->token = NULL;
    s->token_source = NULL;
}
