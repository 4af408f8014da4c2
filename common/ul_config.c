#include "config.h"

#include "ul_config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "xalloc.h"

enum opt_type { OPT_STR, OPT_STR_EMPTY, OPT_INT, OPT_LONG, OPT_LEVEL, OPT_TARGET, OPT_LISTEN };

struct opt {
    const char *section;
    const char *key;
    enum opt_type type;
    size_t offset;
    long min, max;
    const char *help;
};

#define OFF(f) offsetof(struct ul_config, f)

static const struct opt options[] = {
    {"server", "data_dir", OPT_STR, OFF(data_dir), 0, 0, "state directory"},
    {"server", "listen", OPT_LISTEN, 0, 0, 0, "HTTP address:port"},
    {"server", "http_threads", OPT_INT, OFF(http_threads), 1, 64, "HTTP threads"},
    {"log", "level", OPT_LEVEL, OFF(log_level), 0, 0, "error|warn|info|debug"},
    {"log", "target", OPT_TARGET, OFF(log_target), 0, 0, "stderr|syslog"},
    {"jobs", "workers", OPT_INT, OFF(job_workers), 1, 1024, "job worker threads"},
    {"jobs", "timeout", OPT_INT, OFF(job_timeout), 1, 86400 * 7, "default job timeout (s)"},
    {"jobs", "retain_days", OPT_INT, OFF(job_retain_days), 1, 3650, "days to keep finished jobs"},
    {"jobs", "poll_workers", OPT_INT, OFF(job_poll_workers), -1, 1023,
     "workers kept for polls (-1: a quarter)"},
    {"jobs", "lease", OPT_INT, OFF(job_lease), 3, 3600, "job claim lease (s)"},
    {"jobs", "instance", OPT_STR_EMPTY, OFF(job_instance), 0, 0, "name in job claims"},
    {"api", "max_body", OPT_LONG, OFF(max_body), 1024, 64L * 1024 * 1024, "max request body"},
    {"api", "page_default", OPT_INT, OFF(page_default), 1, 100000, "default page size"},
    {"api", "page_max", OPT_INT, OFF(page_max), 1, 100000, "largest page size"},
    {"api", "max_upload", OPT_LONG, OFF(max_upload), 1024, 8L * 1024 * 1024 * 1024,
     "largest firmware image upload"},
    {"api", "web_dir", OPT_STR_EMPTY, OFF(web_dir), 0, 0, "dashboard files"},
    {"console", "log_dir", OPT_STR_EMPTY, OFF(console_log_dir), 0, 0, "console logs"},
    {"bmc", "timeout", OPT_INT, OFF(bmc_timeout), 1, 3600, "BMC call timeout (s)"},
    {"bmc", "session_idle", OPT_INT, OFF(bmc_session_idle), 1, 3600, "idle session close (s)"},
    {"poll", "enabled", OPT_INT, OFF(poll_enabled), 0, 1, "background polling on (1) or off"},
    {"poll", "sensor_interval", OPT_INT, OFF(poll_sensor_interval), 5, 86400, "sensor sweep (s)"},
    {"poll", "sel_interval", OPT_INT, OFF(poll_sel_interval), 5, 86400 * 7, "SEL collection (s)"},
    {"poll", "inventory_interval", OPT_INT, OFF(poll_inventory_interval), 60, 86400 * 30,
     "inventory refresh (s)"},
    {"poll", "max_backoff", OPT_INT, OFF(poll_max_backoff), 10, 86400, "failure back-off cap (s)"},
    {"metrics", "auth", OPT_INT, OFF(metrics_auth), 0, 1, "require a token for /metrics"},
    {"rrd", "enabled", OPT_INT, OFF(rrd_enabled), 0, 1, "keep sensor history in RRD files"},
    {"rrd", "rrdcached", OPT_STR_EMPTY, OFF(rrd_rrdcached), 0, 0, "rrdcached address"},
    {"rrd", "archives", OPT_STR_EMPTY, OFF(rrd_archives), 0, 0, "archive layout"},
    {"rrd", "flush_interval", OPT_INT, OFF(rrd_flush_interval), 0, 3600,
     "seconds a sensor's readings may wait in memory to be written together"},
};

void ul_config_defaults(struct ul_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->data_dir = xstrdup(UL_DEFAULT_DATA_DIR);
    cfg->listen_host = xstrdup("127.0.0.1");
    cfg->listen_port = UL_DEFAULT_PORT;
    cfg->http_threads = 4;
    cfg->log_level = UL_LOG_INFO;
    cfg->log_target = UL_LOG_STDERR;
    /* BMC work is mostly waiting on the network, so far more workers than
     * cores pay off; 16 keeps a small install from opening too many sessions. */
    cfg->job_workers = 16;
    cfg->job_timeout = 300;
    cfg->job_retain_days = 30;
    cfg->job_poll_workers = -1;
    cfg->job_lease = 30;
    cfg->job_instance = xstrdup("");
    cfg->max_body = 1024 * 1024;
    cfg->page_default = 100;
    cfg->page_max = 1000;
    /* BMC firmware bundles run to a few hundred MB (HPE SPP components,
     * Dell DUPs); the file is spooled to disk, never held in memory. */
    cfg->max_upload = 1024L * 1024 * 1024;
    cfg->web_dir = xstrdup(UL_DEFAULT_WEB_DIR);
    cfg->console_log_dir = xstrdup("");
    cfg->bmc_timeout = 20;
    /* Most BMCs drop a session after about 60 s without traffic; closing ours
     * first avoids waiting out a timeout on a session the BMC forgot. */
    cfg->bmc_session_idle = 45;
    cfg->poll_enabled = 1;
    cfg->poll_sensor_interval = 60;
    cfg->poll_sel_interval = 300;
    cfg->poll_inventory_interval = 86400;
    cfg->poll_max_backoff = 900;
    /* Like the Prometheus exporters it replaces, and on loopback by default. */
    cfg->metrics_auth = 0;
    cfg->rrd_enabled = 1;
    cfg->rrd_rrdcached = xstrdup("");
    cfg->rrd_archives = xstrdup("");
    cfg->rrd_flush_interval = 600;
}

void ul_config_free(struct ul_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->data_dir);
    free(cfg->listen_host);
    free(cfg->rrd_rrdcached);
    free(cfg->rrd_archives);
    free(cfg->web_dir);
    free(cfg->console_log_dir);
    cfg->console_log_dir = NULL;
    free(cfg->job_instance);
    cfg->web_dir = cfg->job_instance = NULL;
    cfg->data_dir = cfg->listen_host = cfg->rrd_rrdcached = cfg->rrd_archives = NULL;
}

ul_err ul_parse_listen(const char *s, char **host_out, int *port_out, ul_errmsg *em)
{
    char host[INET6_ADDRSTRLEN + 1] = "127.0.0.1";
    const char *portstr = s;
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not [ipv6]:port", s);
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        portstr = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon) {
            if ((size_t)(colon - s) >= sizeof(host))
                return ul_errmsg_set(em, UL_ERR_INVALID, "'%s': address too long", s);
            memcpy(host, s, (size_t)(colon - s));
            host[colon - s] = '\0';
            portstr = colon + 1;
        }
    }
    unsigned char buf[sizeof(struct in6_addr)];
    if (inet_pton(AF_INET, host, buf) != 1 && inet_pton(AF_INET6, host, buf) != 1)
        return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not a literal IPv4 or IPv6 address",
                             host);
    char *end;
    errno = 0;
    long port = strtol(portstr, &end, 10);
    if (!isdigit((unsigned char)portstr[0]) || errno || end == portstr || *end || port < 1 || port > 65535)
        return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not a port number (1-65535)", portstr);
    *host_out = xstrdup(host);
    *port_out = (int)port;
    return UL_OK;
}

static ul_err apply(struct ul_config *cfg, const struct opt *o, const char *value, ul_errmsg *em)
{
    char *base = (char *)cfg;
    switch (o->type) {
    case OPT_STR: {
        char **dst = (char **)(base + o->offset);
        if (!*value)
            return ul_errmsg_set(em, UL_ERR_INVALID, "empty value");
        free(*dst);
        *dst = xstrdup(value);
        return UL_OK;
    }
    case OPT_STR_EMPTY: {
        char **dst = (char **)(base + o->offset);
        free(*dst);
        *dst = xstrdup(value);
        return UL_OK;
    }
    case OPT_INT:
    case OPT_LONG: {
        char *end;
        errno = 0;
        long v = strtol(value, &end, 10);
        if (errno || end == value || *end)
            return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not a whole number", value);
        if (v < o->min || v > o->max)
            return ul_errmsg_set(em, UL_ERR_INVALID, "%ld is out of range %ld-%ld", v, o->min,
                                 o->max);
        if (o->type == OPT_INT)
            *(int *)(base + o->offset) = (int)v;
        else
            *(long *)(base + o->offset) = v;
        return UL_OK;
    }
    case OPT_LEVEL: {
        int l = ul_log_level_parse(value);
        if (l < 0)
            return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not one of error, warn, info, debug",
                                 value);
        *(int *)(base + o->offset) = l;
        return UL_OK;
    }
    case OPT_TARGET: {
        int t = ul_log_target_parse(value);
        if (t < 0)
            return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not one of stderr, syslog", value);
        *(int *)(base + o->offset) = t;
        return UL_OK;
    }
    case OPT_LISTEN: {
        char *host;
        int port;
        ul_err rc = ul_parse_listen(value, &host, &port, em);
        if (rc != UL_OK)
            return rc;
        free(cfg->listen_host);
        cfg->listen_host = host;
        cfg->listen_port = port;
        return UL_OK;
    }
    }
    return ul_errmsg_set(em, UL_ERR_INTERNAL, "unknown option type");
}

ul_err ul_config_set(struct ul_config *cfg, const char *section, const char *key,
                     const char *value, ul_errmsg *em)
{
    int section_known = 0;
    for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++) {
        const struct opt *o = &options[i];
        if (strcmp(o->section, section) != 0)
            continue;
        section_known = 1;
        if (strcmp(o->key, key) != 0)
            continue;
        ul_err rc = apply(cfg, o, value, em);
        if (rc != UL_OK)
            ul_errmsg_prefix(em, "key '%s.%s'", section, key);
        return rc;
    }
    if (!section_known)
        return ul_errmsg_set(em, UL_ERR_INVALID, "unknown section '%s' (key '%s.%s')", section,
                             section, key);
    return ul_errmsg_set(em, UL_ERR_INVALID, "unknown key '%s.%s'", section, key);
}

ul_err ul_config_set_arg(struct ul_config *cfg, const char *arg, ul_errmsg *em)
{
    const char *dot = strchr(arg, '.');
    const char *eq = strchr(arg, '=');
    if (!dot || !eq || dot > eq || dot == arg || eq == dot + 1)
        return ul_errmsg_set(em, UL_ERR_INVALID, "'%s' is not section.key=value", arg);
    char *section = xstrndup(arg, (size_t)(dot - arg));
    char *key = xstrndup(dot + 1, (size_t)(eq - dot - 1));
    ul_err rc = ul_config_set(cfg, section, key, eq + 1, em);
    free(section);
    free(key);
    return rc;
}

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

ul_err ul_config_load_file(struct ul_config *cfg, const char *path, ul_errmsg *em)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return ul_errmsg_set(em, UL_ERR_IO, "config file '%s': %s", path, strerror(errno));
    char line[4096];
    char section[64] = "";
    int lineno = 0;
    ul_err rc = UL_OK;
    while (fgets(line, sizeof(line), f)) {
        lineno++;
        if (!strchr(line, '\n') && !feof(f)) {
            rc = ul_errmsg_set(em, UL_ERR_INVALID, "config file '%s' line %d: line too long",
                               path, lineno);
            break;
        }
        char *s = trim(line);
        if (*s == '\0' || *s == '#' || *s == ';')
            continue;
        if (*s == '[') {
            char *close = strchr(s, ']');
            if (!close || close[1] != '\0' || close == s + 1 ||
                (size_t)(close - s - 1) >= sizeof(section)) {
                rc = ul_errmsg_set(em, UL_ERR_INVALID,
                                   "config file '%s' line %d: malformed section header '%s'",
                                   path, lineno, s);
                break;
            }
            *close = '\0';
            snprintf(section, sizeof(section), "%s", trim(s + 1));
            bool known = false;
            for (size_t i = 0; i < sizeof(options) / sizeof(options[0]); i++)
                known = known || strcmp(options[i].section, section) == 0;
            if (!known) {
                rc = ul_errmsg_set(em, UL_ERR_INVALID,
                                   "config file '%s' line %d: unknown section '[%s]'", path,
                                   lineno, section);
                break;
            }
            continue;
        }
        char *eq = strchr(s, '=');
        if (!eq) {
            rc = ul_errmsg_set(em, UL_ERR_INVALID,
                               "config file '%s' line %d: expected 'key = value', got '%s'", path,
                               lineno, s);
            break;
        }
        *eq = '\0';
        char *key = trim(s);
        char *value = trim(eq + 1);
        if (!section[0]) {
            rc = ul_errmsg_set(em, UL_ERR_INVALID,
                               "config file '%s' line %d: key '%s' outside any [section]", path,
                               lineno, key);
            break;
        }
        ul_errmsg sub;
        rc = ul_config_set(cfg, section, key, value, &sub);
        if (rc != UL_OK) {
            ul_errmsg_set(em, rc, "config file '%s' line %d: %s", path, lineno, sub.text);
            break;
        }
    }
    if (rc == UL_OK && ferror(f))
        rc = ul_errmsg_set(em, UL_ERR_IO, "config file '%s': read error", path);
    fclose(f);
    return rc;
}

/* ---- validators ---- */

static struct {
    const char *section;
    ul_config_validator fn;
} validators[UL_CONFIG_MAX_VALIDATORS];
static size_t nvalidators;

void ul_config_add_validator(const char *section, ul_config_validator fn)
{
    for (size_t i = 0; i < nvalidators; i++)
        if (validators[i].fn == fn)
            return; /* registered twice (a test that starts twice): once is enough */
    if (nvalidators < UL_CONFIG_MAX_VALIDATORS) {
        validators[nvalidators].section = section;
        validators[nvalidators++].fn = fn;
    }
}

ul_err ul_config_validate(const struct ul_config *cfg, ul_errmsg *em)
{
    for (size_t i = 0; i < nvalidators; i++) {
        ul_err rc = validators[i].fn(cfg, em);
        if (rc != UL_OK) {
            ul_errmsg_prefix(em, "[%s]", validators[i].section);
            return rc;
        }
    }
    return UL_OK;
}

size_t ul_config_validators(const char **sections, size_t max)
{
    size_t n = 0;
    for (size_t i = 0; i < nvalidators && n < max; i++)
        sections[n++] = validators[i].section;
    return n;
}
