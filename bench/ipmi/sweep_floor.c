/* sweep_floor.c - the in-process floor of one IPMI sensor sweep.
 *
 * Calls the project's IPMI driver directly (registered by
 * daemon_register_drivers, then bmc_driver_find("ipmi")), with
 * no job engine, store or HTTP: open one session, read every sensor once to
 * build the SDR cache and descriptors (not counted), then time K sweeps on
 * that session.  With --reopen each timed sweep opens and closes its own
 * session instead (the SDR cache file stays warm), which shows what session
 * reuse saves.
 *
 * CPU is getrusage(RUSAGE_SELF) user+system; wall is CLOCK_MONOTONIC.  One
 * line on stdout, key=value, for bench/ipmi/run.sh to parse:
 *   floor mode=reuse sweeps=K sensors=S values=V cpu_ms=X wall_ms=Y
 *
 * Usage: sweep_floor [--reopen] [-n K] ENDPOINT USER PASSWORD OPTIONS_JSON CACHE_DIR
 * e.g.   sweep_floor -n 50 ipmi://127.0.0.1:23610 admin password \
 *            '{"workarounds":["opensesspriv"]}' /tmp/floor-cache
 *
 * A benchmark helper, not part of the daemon: it exits on any error.
 */
#include "config.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "bmc/driver.h"
#include "core/node.h"
#include "daemon/drivers.h"
#include "log.h"

static double cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static void die(const char *what, const ul_errmsg *em)
{
    fprintf(stderr, "sweep_floor: %s: %s\n", what, em ? em->text : "");
    exit(1);
}

static void usage(void)
{
    fprintf(stderr, "usage: sweep_floor [--reopen] [-n SWEEPS] ENDPOINT USER PASSWORD "
                    "OPTIONS_JSON CACHE_DIR\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int sweeps = 20;
    int reopen = 0;
    int i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], "--reopen") == 0)
            reopen = 1;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            sweeps = atoi(argv[++i]);
        else
            usage();
    }
    if (argc - i != 5 || sweeps < 1)
        usage();
    const char *endpoint = argv[i], *user = argv[i + 1], *pass = argv[i + 2];
    const char *opts_text = argv[i + 3], *cache_dir = argv[i + 4];

    ul_log_init("sweep_floor", UL_LOG_STDERR, UL_LOG_WARN);
    ul_errmsg em = {{0}};
    if (daemon_register_drivers(&em) != UL_OK)
        die("registering the drivers", &em);
    const struct ul_driver *drv = bmc_driver_find("ipmi");
    if (!drv || !drv->open || !drv->sensors_read)
        die("the ipmi driver is not compiled in", NULL);
    json_object *opts = json_tokener_parse(opts_text);
    if (!opts)
        die("OPTIONS_JSON does not parse", NULL);
    struct ul_bmc_target t = {
        .node = "floor",
        .username = user,
        .password = pass,
        .options = opts,
        .timeout_ms = 10000,
        .cache_dir = cache_dir,
    };
    if (node_endpoint_parse(endpoint, &t.ep, &em) != UL_OK)
        die("endpoint", &em);
    if (drv->check_options && drv->check_options(opts, &em) != UL_OK)
        die("options", &em);

    /* Warm-up: the session, the SDR cache file and the descriptors. */
    struct ul_bmc_session *s = NULL;
    struct ul_sensor_list list = {0};
    if (drv->open(&t, &s, &em) != UL_OK)
        die("open", &em);
    if (drv->sensors_read(s, &list, &em) != UL_OK)
        die("warm-up sweep", &em);
    size_t nsensors = list.count, nvalues = 0;
    for (size_t k = 0; k < list.count; k++)
        nvalues += list.items[k].has_value;
    bmc_sensor_list_free(&list);
    if (reopen) {
        drv->close(s);
        s = NULL;
    }

    double c0 = cpu_ms(), w0 = wall_ms();
    for (int n = 0; n < sweeps; n++) {
        if (reopen && drv->open(&t, &s, &em) != UL_OK)
            die("open", &em);
        if (drv->sensors_read(s, &list, &em) != UL_OK)
            die("sweep", &em);
        if (list.count != nsensors)
            die("a sweep returned a different number of sensors", NULL);
        bmc_sensor_list_free(&list);
        if (reopen) {
            drv->close(s);
            s = NULL;
        }
    }
    double c1 = cpu_ms(), w1 = wall_ms();
    drv->close(s);
    json_object_put(opts);
    printf("floor mode=%s sweeps=%d sensors=%zu values=%zu cpu_ms=%.3f wall_ms=%.3f\n",
           reopen ? "reopen" : "reuse", sweeps, nsensors, nvalues, (c1 - c0) / sweeps,
           (w1 - w0) / sweeps);
    return 0;
}
