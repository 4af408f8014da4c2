/* config.h - underlayd configuration: embedded defaults, an INI-style file,
 * and command-line overrides, applied in that order.
 *
 * File format (see etc/underlayd.conf.example):
 *     # comment
 *     [server]
 *     listen = 127.0.0.1:8624
 * Every key is known in advance; an unknown section or key, a bad value or a
 * value out of range is an error that names the file, line and key.
 */
#ifndef UL_UL_CONFIG_H
#define UL_UL_CONFIG_H

#include <stddef.h>

#include "ul_error.h"

#define UL_DEFAULT_PORT 8624
#define UL_DEFAULT_DATA_DIR "/var/lib/underlay"
/* Where `make install` puts web/ (configure sets it); a source or build tree
 * passes -s api.web_dir=... instead. */
#ifndef UL_DEFAULT_WEB_DIR
#define UL_DEFAULT_WEB_DIR ""
#endif

struct ul_config {
    /* [server] */
    char *data_dir;      /* owned */
    char *listen_host;   /* owned; literal IPv4 or IPv6 address */
    int listen_port;
    int http_threads;
    /* [log] */
    int log_level;       /* enum ul_log_level */
    int log_target;      /* enum ul_log_target */
    /* [jobs] */
    int job_workers;     /* worker threads running jobs */
    int job_timeout;     /* seconds, default per-job timeout */
    int job_retain_days; /* finished jobs older than this are pruned */
    int job_poll_workers; /* workers operator jobs never take (-1: a quarter, at least 1) */
    int job_lease;       /* seconds a job claim lasts without a heartbeat */
    char *job_instance;  /* owned; this daemon's name in job claims ("" = host name) */
    /* [api] */
    long max_body;       /* bytes accepted in one request body */
    int page_default;    /* list page size when the client gives none */
    int page_max;        /* largest page size a client may ask for */
    long max_upload;     /* bytes accepted in one firmware image upload */
    char *web_dir;       /* owned; the dashboard's files, "" for none */
    /* [console] */
    char *console_log_dir; /* owned; serial console output, one file per node; "" for none */
    /* [bmc] */
    int bmc_timeout;     /* seconds a single BMC call may take */
    int bmc_session_idle; /* seconds a cached BMC session may sit unused */
    /* [poll] */
    int poll_enabled;         /* 0: no background polling */
    int poll_sensor_interval; /* seconds */
    int poll_sel_interval;
    int poll_inventory_interval;
    int poll_max_backoff;
    /* [rrd] */
    int rrd_enabled;          /* 0: no history */
    char *rrd_rrdcached;      /* owned; "" for direct librrd writes */
    char *rrd_archives;       /* owned; "" for the default layout */
    int rrd_flush_interval;   /* direct mode: coalesce writes up to this many s */
    /* [metrics] */
    int metrics_auth;         /* 1: /metrics needs a token */
};

/* Fill cfg with the embedded defaults. Owned strings are allocated. */
void ul_config_defaults(struct ul_config *cfg);

/* Apply a config file on top of cfg.  On error cfg may be partly updated;
 * callers treat any error as fatal. */
ul_err ul_config_load_file(struct ul_config *cfg, const char *path, ul_errmsg *em);

/* Apply one "section.key=value" override (command line --set). */
ul_err ul_config_set(struct ul_config *cfg, const char *section, const char *key,
                     const char *value, ul_errmsg *em);

/* Apply "section.key=value" as one string. */
ul_err ul_config_set_arg(struct ul_config *cfg, const char *arg, ul_errmsg *em);

void ul_config_free(struct ul_config *cfg);

/* ---- validators: each module checks its own section ----
 * A key's type and range are checked as it is set; what only the module
 * that uses a section understands (an RRD archive layout, how many job
 * workers polls keep) is checked by that module's validator, registered
 * here before the configuration is used.  `underlayd --check-config` and a
 * normal start run the same validators, so a bad value is caught by both.
 * Registration happens in main() before any thread starts. */
typedef ul_err (*ul_config_validator)(const struct ul_config *cfg, ul_errmsg *em);
/* Register fn for section; at most UL_CONFIG_MAX_VALIDATORS. */
#define UL_CONFIG_MAX_VALIDATORS 32
void ul_config_add_validator(const char *section, ul_config_validator fn);
/* Run every registered validator; the first error names its section
 * ("[rrd] key 'rrd.archives': ...") and is returned. */
ul_err ul_config_validate(const struct ul_config *cfg, ul_errmsg *em);
/* The sections with a validator, for --check-config's report. */
size_t ul_config_validators(const char **sections, size_t max);

/* Parse "host:port", "[v6]:port" or a bare port; host must be a literal
 * address.  host_out is allocated. */
ul_err ul_parse_listen(const char *s, char **host_out, int *port_out, ul_errmsg *em);

#endif
