/* metrics_render.c - the cost of rendering /metrics for a large fleet.
 *
 * Fills collectors/latest.c's store with NODES nodes of SENSORS readings
 * each and times latest_metrics_text(), the function behind GET /metrics:
 *   first     the first rendering (the text is built and cached)
 *   rerender  a rendering after one node's sweep landed (latest_sensors_ok
 *             drops the cached text: with polls arriving every few ms this
 *             is what nearly every scrape of a busy daemon costs)
 *   cached    a call with nothing changed (a copy of the cached text)
 *   blocked   how long a poll worker's latest_sensors_ok waits when it
 *             arrives 1 ms into a rendering (the store's one mutex is held
 *             while rendering)
 * Each is the median of REPEATS runs; CPU is getrusage(RUSAGE_THREAD) of the
 * rendering thread, wall CLOCK_MONOTONIC.
 *
 * Readings: "synthetic" uses latest_fill_synthetic() (names "Sensor K",
 * integral values 20+K, no thresholds); "realistic" cycles through readings
 * shaped like ipmi_sim's and the Redfish emulator's (12.02 V, 0.62 A,
 * 5200 RPM, ...), whose decimal fractions print as 17 significant digits.
 *
 * One line on stdout, key=value, for bench/telemetry/bench.py to parse:
 *   render mode=M nodes=N sensors=S bytes=B lines=L series=V fill_ms=X
 *     first_ms=X first_cpu_ms=X rerender_ms=X rerender_cpu_ms=X cached_ms=X
 *     blocked_ms=X maxrss_mb=X
 *
 * Usage: metrics_render [-n NODES] [-s SENSORS] [-r REPEATS] [--realistic]
 * A benchmark helper, not part of the daemon.
 */
#include "config.h" /* _GNU_SOURCE: RUSAGE_THREAD */

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bmc/driver.h"
#include "collectors/latest.h"
#include "log.h"
#include "ultime.h"

static double wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static double thread_cpu_ms(void)
{
    struct rusage ru;
    getrusage(RUSAGE_THREAD, &ru);
    return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1e3 +
           (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* Readings shaped like the simulators' (name, kind, value, thresholds). */
static const struct {
    const char *name;
    enum ul_sensor_kind kind;
    const char *type, *unit;
    double value, unc, uc;
} shapes[] = {
    {"CPU1 Temp", UL_SENSOR_TEMPERATURE, "Temperature", "celsius", 45, 85, 90},
    {"Inlet Temp", UL_SENSOR_TEMPERATURE, "Temperature", "celsius", 23, 40, 45},
    {"FAN1", UL_SENSOR_FAN, "Fan", "rpm", 5200, 0, 0},
    {"12V", UL_SENSOR_VOLTAGE, "Voltage", "volts", 12.02, 12.6, 13.2},
    {"3.3V", UL_SENSOR_VOLTAGE, "Voltage", "volts", 3.31, 3.47, 3.63},
    {"CPU1 VCORE", UL_SENSOR_VOLTAGE, "Voltage", "volts", 1.79, 1.92, 1.98},
    {"PSU1 Current", UL_SENSOR_CURRENT, "Current", "amperes", 0.62, 8, 10},
    {"PSU1 Input Power", UL_SENSOR_POWER, "Power", "watts", 142, 800, 880},
    {"PSU1 Status", UL_SENSOR_DISCRETE, "Power Supply", "", 0, 0, 0},
    {"Sys Airflow", UL_SENSOR_OTHER, "Other Units Based", "cfm", 41.5, 0, 0},
};
#define NSHAPES (sizeof(shapes) / sizeof(shapes[0]))

static void sweep_list(struct ul_sensor_list *list, int sensors, int node, int round)
{
    memset(list, 0, sizeof(*list));
    for (int s = 0; s < sensors; s++) {
        struct ul_sensor *x = bmc_sensor_list_add(list);
        size_t k = (size_t)s % NSHAPES;
        snprintf(x->name, sizeof(x->name), "%s #%d", shapes[k].name, s / (int)NSHAPES);
        x->number = s;
        x->kind = shapes[k].kind;
        snprintf(x->type, sizeof(x->type), "%s", shapes[k].type);
        snprintf(x->unit, sizeof(x->unit), "%s", shapes[k].unit);
        x->has_value = x->kind != UL_SENSOR_DISCRETE;
        /* a little noise, so values differ between nodes and rounds */
        x->value = shapes[k].value + 0.01 * ((node + round + s) % 7);
        x->status = UL_SENSOR_OK;
        if (shapes[k].uc > 0) {
            x->thresholds_present = (1u << UL_THR_UPPER_NON_CRITICAL) | (1u << UL_THR_UPPER_CRITICAL);
            x->thresholds[UL_THR_UPPER_NON_CRITICAL] = shapes[k].unc;
            x->thresholds[UL_THR_UPPER_CRITICAL] = shapes[k].uc;
        }
        snprintf(x->state, sizeof(x->state), "%s", x->has_value ? "OK" : "presence detected");
    }
}

static void fill_realistic(latest *l, int nodes, int sensors)
{
    for (int n = 0; n < nodes; n++) {
        char name[32];
        snprintf(name, sizeof(name), "node%05d", n);
        struct ul_sensor_list list;
        sweep_list(&list, sensors, n, 0);
        struct ul_power_reading pr = {.watts = 280, .min_watts = 270, .max_watts = 300,
                                      .avg_watts = 281.5, .period_s = 60, .active = true};
        latest_sensors_ok(l, name, &list, &pr, ul_wall_s(), 0.0031);
        latest_power_state(l, name, UL_POWER_ON);
    }
}

/* One sweep of node00000 lands: the cached text is dropped. */
static void one_sweep(latest *l, int sensors, int round)
{
    struct ul_sensor_list list;
    sweep_list(&list, sensors, 0, round);
    latest_sensors_ok(l, "node00000", &list, NULL, ul_wall_s(), 0.0029);
    bmc_sensor_list_free(&list);
}

struct blocker {
    latest *l;
    int sensors;
    double waited_ms;
};

static void *blocker_main(void *arg)
{
    struct blocker *b = arg;
    struct timespec d = {0, 1000000};
    nanosleep(&d, NULL);
    double t0 = wall_ms();
    one_sweep(b->l, b->sensors, 99);
    b->waited_ms = wall_ms() - t0;
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: metrics_render [-n NODES] [-s SENSORS] [-r REPEATS] [--realistic]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int nodes = 10000, sensors = 40, repeats = 5, realistic = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--realistic") == 0)
            realistic = 1;
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            nodes = atoi(argv[++i]);
        else if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            sensors = atoi(argv[++i]);
        else if (strcmp(argv[i], "-r") == 0 && i + 1 < argc)
            repeats = atoi(argv[++i]);
        else
            usage();
    }
    if (nodes < 1 || sensors < 1 || repeats < 1 || repeats > 1000)
        usage();
    ul_log_init("metrics_render", UL_LOG_STDERR, UL_LOG_WARN);

    latest *l = latest_new();
    double t0 = wall_ms();
    if (realistic)
        fill_realistic(l, nodes, sensors);
    else
        latest_fill_synthetic(l, nodes, sensors);
    double fill = wall_ms() - t0;

    size_t len = 0;
    double c0 = thread_cpu_ms();
    t0 = wall_ms();
    char *text = latest_metrics_text(l, &len);
    double first = wall_ms() - t0, first_cpu = thread_cpu_ms() - c0;
    size_t lines = 0, series = 0;
    for (const char *p = text; *p; p++)
        if (*p == '\n') {
            lines++;
            series += p[1] && p[1] != '#';
        }
    if (text[0] && text[0] != '#')
        series++;
    free(text);

    double *rr = calloc((size_t)repeats, sizeof(double));
    double *rc = calloc((size_t)repeats, sizeof(double));
    double *ca = calloc((size_t)repeats, sizeof(double));
    double *bl = calloc((size_t)repeats, sizeof(double));
    if (!rr || !rc || !ca || !bl)
        return 1;
    for (int r = 0; r < repeats; r++) {
        one_sweep(l, sensors, r + 1);
        c0 = thread_cpu_ms();
        t0 = wall_ms();
        free(latest_metrics_text(l, &len));
        rr[r] = wall_ms() - t0;
        rc[r] = thread_cpu_ms() - c0;
        t0 = wall_ms();
        free(latest_metrics_text(l, &len));
        ca[r] = wall_ms() - t0;
    }
    for (int r = 0; r < repeats; r++) {
        /* A worker finishing a sweep while a scrape renders. */
        one_sweep(l, sensors, 1000 + r);
        struct blocker b = {.l = l, .sensors = sensors};
        pthread_t th;
        if (pthread_create(&th, NULL, blocker_main, &b) != 0)
            return 1;
        free(latest_metrics_text(l, &len));
        pthread_join(th, NULL);
        bl[r] = b.waited_ms;
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("render mode=%s nodes=%d sensors=%d bytes=%zu lines=%zu series=%zu fill_ms=%.1f "
           "first_ms=%.2f first_cpu_ms=%.2f rerender_ms=%.2f rerender_cpu_ms=%.2f "
           "cached_ms=%.3f blocked_ms=%.2f maxrss_mb=%.1f\n",
           realistic ? "realistic" : "synthetic", nodes, sensors, len, lines, series, fill,
           first, first_cpu, median(rr, repeats), median(rc, repeats), median(ca, repeats),
           median(bl, repeats), (double)ru.ru_maxrss / 1024.0);
    free(rr);
    free(rc);
    free(ca);
    free(bl);
    latest_free(l);
    return 0;
}
