/* underlayd.c - the daemon's entry point: parse config, open the store,
 * start the job engine and the HTTP server, wait for a signal, shut down.
 * With daemon/drivers.c, the only place that knows every concrete module. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sodium.h>

#include "api/api.h"
#include "bmc/ipmi_sol.h"
#include "ops/discover_op.h"
#include "ops/ops.h"
#include "collectors/history.h"
#include "collectors/latest.h"
#include "collectors/rrd.h"
#include "collectors/scheduler.h"
#include "collectors/stream.h"
#include "core/batch.h"
#include "core/jobs.h"
#include "core/secret.h"
#include "core/store.h"
#include "daemon/drivers.h"
#include "log.h"
#include "ul_config.h"
#include "ultime.h"
#include "xalloc.h"

#if defined(__SANITIZE_ADDRESS__)
/* Under AddressSanitizer (CI runs the daemon so): librrd 1.7's rrd_graph_v
 * never frees a few strings per legend line, and fontconfig keeps its caches
 * for the process's life.  Known and bounded by the graph cache; not ours. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:rrd_graph_v\nleak:libfontconfig.so\nleak:libpango\nleak:libcairo\n";
}

/* librrd is built without frame pointers: only the slow unwinder finds
 * rrd_graph_v on the stack of its leaks for the suppression above. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}
#endif

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: underlayd [OPTION]...\n"
            "Hardware management and telemetry daemon for server fleets.\n"
            "\n"
            "  -c, --config FILE      read configuration from FILE (default: none, embedded\n"
            "                         defaults; see etc/underlayd.conf.example)\n"
            "  -d, --data-dir DIR     state directory (server.data_dir, default %s)\n"
            "  -l, --listen ADDR:PORT HTTP address (server.listen, default 127.0.0.1:%d)\n"
            "  -L, --log-level LEVEL  error, warn, info or debug (log.level)\n"
            "  -T, --log-target T     stderr or syslog (log.target)\n"
            "  -s, --set S.KEY=VALUE  override any configuration key\n"
            "      --check-config     validate the configuration and exit\n"
            "  -V, --version          print the version and exit\n"
            "  -h, --help             print this help and exit\n"
            "\n"
            "Command-line options override the config file, which overrides the defaults.\n"
            "On first start underlayd creates DIR/secret.key (encrypts BMC passwords) and\n"
            "DIR/admin.token (an admin API token), both mode 0600.\n",
            UL_DEFAULT_DATA_DIR, UL_DEFAULT_PORT);
}

struct overrides {
    char **items; /* "section.key=value" */
    size_t n;
};

static void override_add(struct overrides *o, const char *section_key, const char *value)
{
    o->items = xrealloc(o->items, (o->n + 1) * sizeof(char *));
    o->items[o->n++] = value ? xasprintf("%s=%s", section_key, value) : xstrdup(section_key);
}

static void overrides_free(struct overrides *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->items[i]);
    free(o->items);
}

/* Make sure the data directory exists, is a directory we can write, and no
 * other underlayd uses it.  Returns the lock fd (kept open for our life). */
static int prepare_data_dir(const char *dir, ul_errmsg *em)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (errno != ENOENT || mkdir(dir, 0700) != 0) {
            ul_errmsg_set(em, UL_ERR_IO, "data directory '%s': %s", dir, strerror(errno));
            return -1;
        }
    } else if (!S_ISDIR(st.st_mode)) {
        ul_errmsg_set(em, UL_ERR_IO, "data directory '%s' is not a directory", dir);
        return -1;
    }
    if (access(dir, W_OK | X_OK) != 0) {
        ul_errmsg_set(em, UL_ERR_IO, "data directory '%s' is not writable: %s", dir,
                      strerror(errno));
        return -1;
    }
    char *lock_path = xasprintf("%s/underlayd.lock", dir);
    int fd = open(lock_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        ul_errmsg_set(em, UL_ERR_IO, "data directory '%s': cannot create '%s': %s", dir,
                      lock_path, strerror(errno));
        free(lock_path);
        return -1;
    }
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ul_errmsg_set(em, UL_ERR_IO, "data directory '%s' is in use by another underlayd", dir);
        close(fd);
        free(lock_path);
        return -1;
    }
    free(lock_path);
    return fd;
}

/* On first start, create the admin token and write it to a 0600 file. */
static ul_err bootstrap_admin_token(ul_store *st, const char *dir, ul_errmsg *em)
{
    int64_t count = 0;
    ul_err rc = store_token_count(st, &count, em);
    if (rc != UL_OK || count > 0)
        return rc;
    char *token = secret_token_new();
    char *path = xasprintf("%s/admin.token", dir);
    char *content = xasprintf("%s\n", token);
    unsigned char hash[SECRET_HASH_LEN];
    secret_token_hash(token, hash);
    /* File first: a token in the store that nobody can read is useless. */
    rc = secret_write_file(path, content, em);
    if (rc == UL_OK)
        rc = store_token_add(st, "admin", "admin", hash, em);
    if (rc == UL_OK)
        ul_info("created the admin API token in '%s'", path);
    sodium_memzero(token, strlen(token));
    sodium_memzero(content, strlen(content));
    free(token);
    free(content);
    free(path);
    return rc;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"data-dir", required_argument, NULL, 'd'},
        {"listen", required_argument, NULL, 'l'},
        {"log-level", required_argument, NULL, 'L'},
        {"log-target", required_argument, NULL, 'T'},
        {"set", required_argument, NULL, 's'},
        {"check-config", no_argument, NULL, 'C'},
        {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    const char *config_path = NULL;
    struct overrides ov = {0};
    bool check_only = false;
    int opt;
    while ((opt = getopt_long(argc, argv, "c:d:l:L:T:s:Vh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            config_path = optarg;
            break;
        case 'd':
            override_add(&ov, "server.data_dir", optarg);
            break;
        case 'l':
            override_add(&ov, "server.listen", optarg);
            break;
        case 'L':
            override_add(&ov, "log.level", optarg);
            break;
        case 'T':
            override_add(&ov, "log.target", optarg);
            break;
        case 's':
            override_add(&ov, optarg, NULL);
            break;
        case 'C':
            check_only = true;
            break;
        case 'V':
            printf("underlayd %s\n", PACKAGE_VERSION);
            overrides_free(&ov);
            return 0;
        case 'h':
            usage(stdout);
            overrides_free(&ov);
            return 0;
        default:
            usage(stderr);
            overrides_free(&ov);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "underlayd: unexpected argument '%s'\n", argv[optind]);
        overrides_free(&ov);
        return 2;
    }

    int exit_code = 1;
    int lock_fd = -1;
    ul_store *st = NULL;
    ul_jobs *jobs = NULL;
    api_server *api = NULL;
    bmc_sessions *sessions = NULL;
    latest *readings = NULL;
    sched *scheduler = NULL;
    rrdw *history = NULL;
    stream *telemetry = NULL;
    struct ul_config cfg;
    ul_errmsg em = {{0}};
    ul_config_defaults(&cfg);
    if (config_path && ul_config_load_file(&cfg, config_path, &em) != UL_OK) {
        fprintf(stderr, "underlayd: %s\n", em.text);
        goto out;
    }
    for (size_t i = 0; i < ov.n; i++) {
        if (ul_config_set_arg(&cfg, ov.items[i], &em) != UL_OK) {
            fprintf(stderr, "underlayd: command line: %s\n", em.text);
            goto out;
        }
    }
    /* Each module checks its own section (and --check-config runs every
     * check a start would). */
    ul_config_add_validator("jobs", jobs_config_check);
    ul_config_add_validator("rrd", rrdw_config_check);
    if (ul_config_validate(&cfg, &em) != UL_OK) {
        fprintf(stderr, "underlayd: %s%s\n", config_path ? "" : "configuration: ", em.text);
        goto out;
    }
    if (check_only) {
        printf("configuration OK\n");
        exit_code = 0;
        goto out;
    }
    ul_log_init("underlayd", cfg.log_target, cfg.log_level);
    if (daemon_register_drivers(&em) != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }

    /* Signals are taken synchronously by main; every thread created below
     * inherits the blocked mask. */
    sigset_t sigs;
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGINT);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);

    if ((lock_fd = prepare_data_dir(cfg.data_dir, &em)) < 0) {
        ul_error("%s", em.text);
        goto out;
    }
    if (secret_init(&em) != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    unsigned char key[SECRET_KEY_LEN];
    char *key_path = xasprintf("%s/secret.key", cfg.data_dir);
    ul_err rc = secret_key_load_or_create(key_path, key, &em);
    free(key_path);
    if (rc != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }
    char *db_path = xasprintf("%s/underlay.db", cfg.data_dir);
    rc = store_open(db_path, key, &st, &em);
    free(db_path);
    sodium_memzero(key, sizeof(key));
    if (rc != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }
    if (bootstrap_admin_token(st, cfg.data_dir, &em) != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }
    int pruned = 0;
    if (store_job_prune(st, ul_wall_s() - (int64_t)cfg.job_retain_days * 86400, &pruned, &em) !=
        UL_OK)
        ul_warn("%s", em.text);
    else if (pruned)
        ul_info("pruned %d finished jobs older than %d days", pruned, cfg.job_retain_days);

    if (ipmi_sol_register(&em) != UL_OK) { /* serial consoles: engine threads */
        ul_error("%s", em.text);
        goto out;
    }
    char *cache_root = xasprintf("%s/cache", cfg.data_dir);
    sessions = bmc_sessions_new(cfg.bmc_session_idle, cache_root);
    free(cache_root);
    struct bmc_ops_config ops_cfg = {.call_timeout_ms = cfg.bmc_timeout * 1000,
                                     .sessions = sessions};
    jobs = jobs_new(st, cfg.job_workers, cfg.job_timeout);
    {
        /* Polls keep a share of the workers whatever operator jobs are
         * queued: the telemetry that watches a rollout must not wait on it. */
        int reserve = cfg.job_poll_workers;
        if (reserve < 0)
            reserve = cfg.job_workers > 1 ? (cfg.job_workers / 4 > 0 ? cfg.job_workers / 4 : 1) : 0;
        struct jobs_options jo = {.instance = cfg.job_instance,
                                  .lease_s = cfg.job_lease,
                                  .poll_workers = reserve};
        jobs_configure(jobs, &jo);
    }
    bmc_ops_register(jobs, &ops_cfg);
    bmc_discover_register(jobs);
    batch_register(jobs);
    char *upload_dir = xasprintf("%s/uploads", cfg.data_dir);
    if (mkdir(upload_dir, 0700) != 0 && errno != EEXIST)
        ul_warn("cannot create %s (firmware uploads will fail): %s", upload_dir, strerror(errno));
    bmc_config_ops_register(jobs, upload_dir);
    bmc_config_uploads_sweep(st);
    free(upload_dir);
    if (jobs_start(jobs, &em) != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }
    if (cfg.rrd_enabled) {
        struct rrdw_archives arch;
        rrdw_archives_default(&arch);
        if (cfg.rrd_archives[0] && rrdw_archives_parse(&arch, cfg.rrd_archives, &em) != UL_OK) {
            ul_error("key 'rrd.archives': %s", em.text);
            goto out;
        }
        char *rrd_root = xasprintf("%s/rrd", cfg.data_dir);
        history = rrdw_new(rrd_root, cfg.rrd_rrdcached[0] ? cfg.rrd_rrdcached : NULL, &arch, &em);
        free(rrd_root);
        if (!history) {
            ul_error("key 'rrd.rrdcached' or 'rrd.archives': %s", em.text);
            goto out;
        }
        if (!cfg.rrd_rrdcached[0])
            rrdw_set_coalesce(history, (unsigned)cfg.rrd_flush_interval);
        ul_info("sensor history in %s/rrd%s%s (%lu bytes per sensor)", cfg.data_dir,
                cfg.rrd_rrdcached[0] ? " through rrdcached at " : "", cfg.rrd_rrdcached,
                (unsigned long)rrdw_bytes_per_sensor(&arch));
    }
    if (cfg.poll_enabled) {
        readings = latest_new();
        struct sched_config sc = {
            .sensor_interval_s = cfg.poll_sensor_interval,
            .sel_interval_s = cfg.poll_sel_interval,
            .inventory_interval_s = cfg.poll_inventory_interval,
            .max_backoff_s = cfg.poll_max_backoff,
            /* A sweep is a few calls: bound it well inside its interval. */
            .poll_timeout_s = cfg.bmc_timeout * 3,
            .sync_interval_s = 30,
        };
        /* The telemetry stream: its sinks, then the scheduler publishing to it. */
        telemetry = stream_new();
        if (stream_add_log_sink(telemetry, &em) != UL_OK ||
            (history && history_add_sink(telemetry, history, &em) != UL_OK) ||
            stream_start(telemetry, &em) != UL_OK) {
            ul_error("%s", em.text);
            goto out;
        }
        scheduler = sched_new(&sc, st, jobs, readings, telemetry);
        if (sched_start(scheduler, &em) != UL_OK) {
            ul_error("%s", em.text);
            goto out;
        }
    }
    struct api_deps deps = {.cfg = &cfg,
                            .st = st,
                            .jobs = jobs,
                            .latest = readings,
                            .sched = scheduler,
                            .sessions = sessions,
                            .history = history};
    if (api_start(&deps, &api, &em) != UL_OK) {
        ul_error("%s", em.text);
        goto out;
    }
    ul_info("underlayd %s: API on http://%s%s%s:%d/api/v1, data directory '%s', %d job workers",
            PACKAGE_VERSION, strchr(cfg.listen_host, ':') ? "[" : "", cfg.listen_host,
            strchr(cfg.listen_host, ':') ? "]" : "", cfg.listen_port, cfg.data_dir,
            cfg.job_workers);

    for (;;) {
        int sig = 0;
        if (sigwait(&sigs, &sig) != 0)
            continue;
        if (sig == SIGHUP) {
            ul_info("SIGHUP: configuration reload is not supported; restart to apply changes");
            continue;
        }
        ul_info("%s received; shutting down", sig == SIGTERM ? "SIGTERM" : "SIGINT");
        break;
    }
    exit_code = 0;
out:
    /* Order: stop taking requests, then let running jobs stop, then close
     * the store they write to. */
    api_stop(api);
    ipmi_sol_shutdown(); /* after the console sessions ended */
    sched_stop(scheduler);  /* no new polls; running ones report back */
    jobs_free(jobs);
    sched_free(scheduler);
    stream_free(telemetry); /* after the last poll published; drains into history */
    rrdw_free(history); /* after the last write to it */
    latest_free(readings);
    bmc_sessions_free(sessions); /* logs out of every BMC */
    store_close(st);
    if (lock_fd >= 0)
        close(lock_fd);
    curl_global_cleanup();
    if (exit_code == 0 && !check_only)
        ul_info("stopped");
    ul_log_close();
    ul_config_free(&cfg);
    overrides_free(&ov);
    return exit_code;
}
