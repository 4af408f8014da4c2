/* test_rrd.c - unit tests for collectors/rrd.h against real RRD files in a
 * temporary directory, directly through librrd and through a real rrdcached
 * (unix socket and TCP) started by the test.  Results are also checked with
 * the rrdtool command-line tool where it is installed. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collectors/rrd.h"
#include "log.h"
#include "ultime.h"
#include "unit_util.h"

/* librrd 1.7.2's rrd_graph_v leaks a few small strings per call, and
 * fontconfig, pango and cairo keep font caches for the life of the process
 * (measured and described in docs/rrd.md).  Not ours to fix; keep LSan
 * quiet about them and about nothing else. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:rrd_graph_v\nleak:libfontconfig.so\n";
}

/* librrd is built without frame pointers: ASan's fast unwinder stops inside
 * it, and the suppression above could not see rrd_graph_v on the stack. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
    return "fast_unwind_on_malloc=0";
}

struct fixture {
    char *dir;
    char *root; /* dir/rrd */
    pid_t daemon;
    char addr[160];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    f->dir = ut_mkdtemp();
    if (!f->dir)
        return -1;
    f->root = ut_path(f->dir, "rrd");
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    if (f->daemon > 0) {
        kill(f->daemon, SIGKILL);
        waitpid(f->daemon, NULL, 0);
    }
    ut_rmtree(f->dir);
    free(f->dir);
    free(f->root);
    free(f);
    return 0;
}

/* A start time two days back, on an hour boundary, so hourly buckets align. */
static time_t base_time(void)
{
    time_t now = time(NULL) - 2 * 86400;
    return now - now % 3600;
}

static bool have_prog(const char *name)
{
    const char *path = getenv("PATH");
    char buf[1024];
    if (!path)
        path = "/usr/bin:/bin:/usr/sbin:/sbin";
    while (*path) {
        const char *c = strchr(path, ':');
        size_t n = c ? (size_t)(c - path) : strlen(path);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, name);
        if (access(buf, X_OK) == 0)
            return true;
        path += n + (c ? 1 : 0);
    }
    return false;
}

/* Run a shell command; its stdout, allocated (caller frees). */
static char *run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    FILE *p = popen(cmd, "r");
    if (!p)
        return NULL;
    size_t cap = 4096, n = 0;
    char *out = malloc(cap);
    size_t got;
    while (out && (got = fread(out + n, 1, cap - n - 1, p)) > 0) {
        n += got;
        if (n + 1 == cap) {
            char *o2 = realloc(out, cap * 2);
            if (!o2) {
                free(out);
                out = NULL;
                break;
            }
            out = o2;
            cap *= 2;
        }
    }
    pclose(p);
    if (out)
        out[n] = '\0';
    return out;
}

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The value of point t in a fetch answer; NAN for null, -1e300 if absent. */
static double point_at(json_object *o, time_t t)
{
    json_object *pts;
    assert_true(json_object_object_get_ex(o, "points", &pts));
    for (size_t i = 0; i < json_object_array_length(pts); i++) {
        json_object *p = json_object_array_get_idx(pts, i);
        if (json_object_get_int64(json_object_array_get_idx(p, 0)) == (int64_t)t) {
            json_object *v = json_object_array_get_idx(p, 1);
            return v ? json_object_get_double(v) : NAN;
        }
    }
    return -1e300;
}

static int64_t jint(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_int64(v);
}

static const char *jstr(json_object *o, const char *key)
{
    json_object *v;
    assert_true(json_object_object_get_ex(o, key, &v));
    return json_object_get_string(v);
}

/* ---- rrdcached, started and stopped by the test ---- */

static int free_tcp_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    int port = -1;
    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof sa) == 0 &&
        getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        port = ntohs(sa.sin_port);
    if (fd >= 0)
        close(fd);
    return port;
}

static bool can_connect(const char *addr)
{
    int fd;
    if (strncmp(addr, "unix:", 5) == 0) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", addr + 5);
        fd = socket(AF_UNIX, SOCK_STREAM, 0);
        bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
        if (fd >= 0)
            close(fd);
        return ok;
    }
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    sa.sin_port = htons((uint16_t)atoi(strrchr(addr, ':') + 1));
    fd = socket(AF_INET, SOCK_STREAM, 0);
    bool ok = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

/* rrdcached -l LISTEN -b BASE -B -F -j DIR/journal -p DIR/pid -g, in the
 * background, logging to DIR/rrdcached.log.  f->addr is what rrdw_new takes. */
static bool start_rrdcached(struct fixture *f, bool tcp, const char *base, bool same_addr)
{
    char journal[512], pidf[512], logf[512], listen[200];
    snprintf(journal, sizeof journal, "%s/journal", f->dir);
    snprintf(pidf, sizeof pidf, "%s/rrdcached.pid", f->dir);
    snprintf(logf, sizeof logf, "%s/rrdcached.log", f->dir);
    mkdir(journal, 0755);
    if (same_addr) {
        snprintf(listen, sizeof listen, "%s", f->addr);
    } else if (tcp) {
        int port = free_tcp_port();
        if (port <= 0)
            return false;
        snprintf(f->addr, sizeof f->addr, "127.0.0.1:%d", port);
        snprintf(listen, sizeof listen, "127.0.0.1:%d", port);
    } else {
        snprintf(f->addr, sizeof f->addr, "unix:%s/rrdcached.sock", f->dir);
        snprintf(listen, sizeof listen, "%s", f->addr);
    }
    pid_t pid = fork();
    if (pid < 0)
        return false;
    if (pid == 0) {
        int fd = open(logf, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execlp("rrdcached", "rrdcached", "-l", listen, "-b", base, "-B", "-F", "-j", journal, "-p",
               pidf, "-g", (char *)NULL);
        _exit(127);
    }
    f->daemon = pid;
    for (int i = 0; i < 200; i++) {
        if (can_connect(f->addr))
            return true;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            f->daemon = 0;
            return false;
        }
        ul_sleep_ms(25);
    }
    return false;
}

static void stop_rrdcached(struct fixture *f)
{
    if (f->daemon <= 0)
        return;
    kill(f->daemon, SIGTERM);
    for (int i = 0; i < 200; i++) {
        if (waitpid(f->daemon, NULL, WNOHANG) == f->daemon) {
            f->daemon = 0;
            return;
        }
        ul_sleep_ms(25);
    }
    kill(f->daemon, SIGKILL);
    waitpid(f->daemon, NULL, 0);
    f->daemon = 0;
}

/* ---- naming and layouts ---- */

static void test_sanitize(void **state)
{
    (void)state;
    char b[RRDW_NAME_MAX + 1];
    assert_string_equal(rrdw_sanitize("CPU Temp", b), "cpu_temp");
    assert_string_equal(rrdw_sanitize("  Fan 1A  ", b), "fan_1a");
    assert_string_equal(rrdw_sanitize("PS1 Status", b), "ps1_status");
    assert_string_equal(rrdw_sanitize("__x__y__", b), "x_y");
    assert_string_equal(rrdw_sanitize("A-B", b), "a-b");
    assert_string_equal(rrdw_sanitize("../../etc/passwd", b), "etc_passwd");
    assert_string_equal(rrdw_sanitize("Temp\xc3\xa9rature (\xc2\xb0"
                                      "C)",
                                      b),
                        "temp_rature_c");
    assert_string_equal(rrdw_sanitize("%%%", b), "unnamed");
    assert_string_equal(rrdw_sanitize("", b), "unnamed");
    char longname[200];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(strlen(rrdw_sanitize(longname, b)), RRDW_NAME_MAX);
    /* a separator never lands at the cut */
    memset(longname, 'a', sizeof longname - 1);
    longname[RRDW_NAME_MAX - 1] = ' ';
    rrdw_sanitize(longname, b);
    assert_true(strlen(b) <= RRDW_NAME_MAX && b[strlen(b) - 1] != '_');
}

static void test_archives(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    struct rrdw_archives a, p;
    rrdw_archives_default(&a);
    assert_int_equal(rrdw_archives_check(&a, &em), UL_OK);
    uint64_t per = rrdw_bytes_per_sensor(&a);
    print_message("default archives: %llu bytes per sensor, %llu bytes for 40 sensors\n",
                  (unsigned long long)per, (unsigned long long)per * 40);
    assert_int_equal(per, 126840);
    assert_true(per * 40 <= 5100000);

    rrdw_archives_default(&p);
    assert_int_equal(rrdw_archives_parse(&p,
                                         "1m:1d:average 5m:1w:average,min,max "
                                         "1h:92d:average,min,max; 1d:731d:AVERAGE+MAX",
                                         &em),
                     UL_OK);
    assert_memory_equal(&a, &p, sizeof a);

    const char *bad[][2] = {
        {"5m:1d", "RESOLUTION:RETENTION:CFS"},
        {"90s:1d:average", "multiple of the step"},
        {"1m:1d:median", "consolidation functions"},
        {"1m:90s:average", "multiple of the resolution"},
        {"1x:1d:average", "bad duration"},
        {"", "archive levels"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rrdw_archives_default(&p);
        assert_int_equal(rrdw_archives_parse(&p, bad[i][0], &em), UL_ERR_INVALID);
        assert_contains(em.text, bad[i][1]);
        assert_memory_equal(&a, &p, sizeof a); /* untouched */
    }
    p = a;
    p.step = 0;
    assert_int_equal(rrdw_archives_check(&p, &em), UL_ERR_INVALID);
    assert_int_equal(rrdw_bytes_per_sensor(&p), 0);
    p = a;
    p.levels[1].cfs = 0;
    assert_int_equal(rrdw_archives_check(&p, &em), UL_ERR_INVALID);
    p = a;
    p.heartbeat = 30;
    assert_int_equal(rrdw_archives_check(&p, &em), UL_ERR_INVALID);
    assert_contains(em.text, "heartbeat");
}

/* ---- direct librrd ---- */

static void test_direct_roundtrip(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    time_t t0 = base_time();
    for (int i = 1; i <= 30; i++)
        assert_int_equal(
            rrdw_update(w, "node-1", "CPU Temp", "temperature", t0 + 60 * i, 20 + 0.5 * i, &em),
            UL_OK);

    char *path = ut_path(f->root, "node-1/temperature-cpu_temp.rrd");
    struct rrdw_archives a;
    rrdw_archives_default(&a);
    assert_int_equal(file_size(path), (off_t)rrdw_bytes_per_sensor(&a));

    json_object *o = NULL;
    assert_int_equal(
        rrdw_fetch(w, "node-1", "CPU Temp", "temperature", t0, t0 + 1800, 0, NULL, &o, &em), UL_OK);
    assert_string_equal(jstr(o, "node"), "node-1");
    assert_string_equal(jstr(o, "sensor"), "CPU Temp");
    assert_string_equal(jstr(o, "cf"), "AVERAGE");
    assert_int_equal(jint(o, "step"), 60);
    for (int i = 1; i <= 30; i++)
        assert_true(fabs(point_at(o, t0 + 60 * i) - (20 + 0.5 * i)) < 1e-9);
    json_object_put(o);

    if (have_prog("rrdtool")) {
        char *out = run("rrdtool lastupdate %s", path);
        assert_non_null(out);
        char want[64];
        snprintf(want, sizeof want, "%lld: 35", (long long)(t0 + 1800));
        assert_contains(out, want);
        free(out);
        out = run("rrdtool fetch %s AVERAGE -s %lld -e %lld", path, (long long)t0,
                  (long long)(t0 + 600));
        snprintf(want, sizeof want, "%lld: 2.0500000000e+01", (long long)(t0 + 60));
        assert_contains(out, want);
        free(out);
    } else {
        print_message("rrdtool CLI not installed: CLI cross-checks skipped\n");
    }
    free(path);
    rrdw_free(w);

    /* a custom, smaller layout: the file is exactly the computed size */
    struct rrdw_archives small;
    rrdw_archives_default(&small);
    assert_int_equal(rrdw_archives_parse(&small, "1m:6h:average 1h:7d:min,max", &em), UL_OK);
    assert_int_equal(rrdw_bytes_per_sensor(&small), 376 + 208 * 3 + 8 * (360 + 2 * 168));
    w = rrdw_new(f->root, NULL, &small, &em);
    assert_non_null(w);
    assert_int_equal(rrdw_update(w, "node-2", "Fan 1", "fan", t0 + 60, 4800, &em), UL_OK);
    path = ut_path(f->root, "node-2/fan-fan_1.rrd");
    assert_int_equal(file_size(path), (off_t)rrdw_bytes_per_sensor(&small));
    free(path);
    rrdw_free(w);
}

static void test_collisions(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    time_t t0 = base_time();
    const char *names[] = {"CPU Temp", "cpu_temp", "CPU  temp", "cpu temp"};
    struct rrdw_sample s[5];
    for (int i = 0; i < 4; i++)
        s[i] = (struct rrdw_sample){names[i], "temperature", 10.0 * (i + 1)};
    s[4] = (struct rrdw_sample){"CPU Temp", "power", 99}; /* same name, other kind */
    size_t written = 0;
    assert_int_equal(rrdw_update_batch(w, "n1", t0 + 60, s, 5, &written, &em), UL_OK);
    assert_int_equal(written, 5);

    char files[5][RRDW_FILE_MAX];
    for (int i = 0; i < 5; i++)
        assert_int_equal(
            rrdw_file_name(w, "n1", s[i].sensor, s[i].kind, files[i], sizeof files[i], &em), UL_OK);
    assert_string_equal(files[0], "temperature-cpu_temp.rrd");
    assert_string_equal(files[4], "power-cpu_temp.rrd");
    /* File names are persisted: the suffix is FNV-1a (32 bits) of the original
     * name, pinned so a change of hash is seen (existing files would be lost). */
    assert_string_equal(files[1], "temperature-cpu_temp-b9ed4a98.rrd");
    assert_string_equal(files[2], "temperature-cpu_temp-5082b82b.rrd");
    assert_string_equal(files[3], "temperature-cpu_temp-4487a58d.rrd");
    for (int i = 1; i < 4; i++) {
        assert_true(strncmp(files[i], "temperature-cpu_temp-", 21) == 0);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(files[i], files[j]);
    }
    /* the values did not mix */
    for (int i = 0; i < 5; i++) {
        json_object *o = NULL;
        assert_int_equal(
            rrdw_fetch(w, "n1", s[i].sensor, s[i].kind, t0, t0 + 120, 0, NULL, &o, &em), UL_OK);
        assert_true(fabs(point_at(o, t0 + 60) - s[i].value) < 1e-9);
        json_object_put(o);
    }
    rrdw_free(w);

    /* a new handle reads the persisted map: same files, still unmixed */
    char *idx = ut_path(f->root, "n1/index.json");
    size_t len;
    unsigned char *text = ut_read_file(idx, &len);
    assert_non_null(text);
    assert_true(ut_mem_contains(text, len, "\"CPU  temp\""));
    free(text);
    free(idx);
    w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    for (int i = 0; i < 5; i++) {
        char again[RRDW_FILE_MAX];
        assert_int_equal(rrdw_file_name(w, "n1", s[i].sensor, s[i].kind, again, sizeof again, &em),
                         UL_OK);
        assert_string_equal(again, files[i]);
        s[i].value += 1;
    }
    assert_int_equal(rrdw_update_batch(w, "n1", t0 + 120, s, 5, &written, &em), UL_OK);
    json_object *o = NULL;
    assert_int_equal(
        rrdw_fetch(w, "n1", "CPU  temp", "temperature", t0, t0 + 180, 0, "avg", &o, &em),
        UL_ERR_INVALID); /* "avg" is not a CF name */
    assert_int_equal(
        rrdw_fetch(w, "n1", "CPU  temp", "temperature", t0, t0 + 180, 0, "average", &o, &em),
        UL_OK);
    assert_true(fabs(point_at(o, t0 + 120) - 31) < 1e-9);
    json_object_put(o);
    rrdw_free(w);
}

static void test_new_and_vanished_sensors(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    time_t t0 = base_time();
    struct rrdw_sample s[3] = {
        {"Inlet Temp", "temperature", 21}, {"Fan 1", "fan", 5000}, {"PSU1 Power", "power", 180}};
    assert_int_equal(rrdw_update_batch(w, "n2", t0 + 60, s, 2, NULL, &em), UL_OK);
    assert_int_equal(rrdw_update_batch(w, "n2", t0 + 120, s, 3, NULL, &em), UL_OK); /* new */
    assert_int_equal(rrdw_update_batch(w, "n2", t0 + 180, s, 1, NULL, &em), UL_OK); /* 2 gone */

    json_object *l = NULL;
    assert_int_equal(rrdw_list(w, "n2", &l, &em), UL_OK);
    json_object *arr;
    assert_true(json_object_object_get_ex(l, "sensors", &arr));
    assert_int_equal(json_object_array_length(arr), 3);
    assert_string_equal(jstr(json_object_array_get_idx(arr, 0), "sensor"), "Inlet Temp");
    assert_string_equal(jstr(json_object_array_get_idx(arr, 2), "sensor"), "PSU1 Power");
    assert_string_equal(jstr(json_object_array_get_idx(arr, 2), "file"), "power-psu1_power.rrd");
    assert_int_equal(jint(json_object_array_get_idx(arr, 2), "created"), t0 + 120);
    json_object_put(l);

    json_object *o = NULL;
    assert_int_equal(rrdw_fetch(w, "n2", "PSU1 Power", "power", t0, t0 + 240, 0, "MAX", &o, &em),
                     UL_OK);
    json_object_put(o);
    assert_int_equal(rrdw_fetch(w, "n2", "Fan 1", "fan", t0, t0 + 240, 0, NULL, &o, &em), UL_OK);
    assert_true(fabs(point_at(o, t0 + 120) - 5000) < 1e-9);
    assert_true(isnan(point_at(o, t0 + 240))); /* vanished: unknown, still listed */
    json_object_put(o);
    rrdw_free(w);

    /* kept across restarts */
    w = rrdw_new(f->root, NULL, NULL, &em);
    assert_int_equal(rrdw_list(w, "n2", &l, &em), UL_OK);
    assert_true(json_object_object_get_ex(l, "sensors", &arr));
    assert_int_equal(json_object_array_length(arr), 3);
    json_object_put(l);
    /* a node without history lists empty and is not remembered */
    assert_int_equal(rrdw_list(w, "never-seen", &l, &em), UL_OK);
    assert_true(json_object_object_get_ex(l, "sensors", &arr));
    assert_int_equal(json_object_array_length(arr), 0);
    json_object_put(l);
    char *nd = ut_path(f->root, "never-seen");
    assert_int_equal(access(nd, F_OK), -1);
    free(nd);
    rrdw_free(w);
}

static void test_bad_input(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    assert_null(rrdw_new("", NULL, NULL, &em));
    assert_contains(em.text, "empty data directory");
    assert_null(rrdw_new(f->root, "unix:relative/sock", NULL, &em));
    assert_contains(em.text, "absolute path");
    assert_null(rrdw_new(f->root, "host with space:1", NULL, &em));
    struct rrdw_archives a;
    rrdw_archives_default(&a);
    a.nlevels = 0;
    assert_null(rrdw_new(f->root, NULL, &a, &em));
    assert_contains(em.text, "archive levels");

    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    time_t t0 = base_time();
    struct {
        const char *node, *sensor, *kind;
        double v;
        time_t t;
        const char *msg;
    } cases[] = {
        {"", "s", "temperature", 1, t0, "empty node name"},
        {"../etc", "s", "temperature", 1, t0, "invalid node name"},
        {"a/b", "s", "temperature", 1, t0, "invalid node name"},
        {"n3", "", "temperature", 1, t0, "empty sensor name"},
        {"n3", NULL, "temperature", 1, t0, "empty sensor name"},
        {"n3", "s", "", 1, t0, "empty kind"},
        {"n3", "s", "Temp", 1, t0, "invalid kind"},
        {"n3", "s", "te-mp", 1, t0, "invalid kind"},
        {"n3", "s", "temperature", NAN, t0, "not a finite number"},
        {"n3", "s", "temperature", INFINITY, t0, "not a finite number"},
        {"n3", "s", "temperature", 1, 5, "before 2000"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        em.text[0] = '\0';
        assert_int_equal(rrdw_update(w, cases[i].node, cases[i].sensor, cases[i].kind, cases[i].t,
                                     cases[i].v, &em),
                         UL_ERR_INVALID);
        assert_contains(em.text, cases[i].msg);
    }
    char longname[300];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(rrdw_update(w, "n3", longname, "fan", t0, 1, &em), UL_ERR_INVALID);
    assert_contains(em.text, "longer than 255");

    /* time going backwards (or standing still) is a no-op, not an error */
    assert_int_equal(rrdw_update(w, "n3", "s", "temperature", t0 + 600, 1, &em), UL_OK);
    assert_int_equal(rrdw_update(w, "n3", "s", "temperature", t0 + 60, 99, &em), UL_OK);
    assert_int_equal(rrdw_update(w, "n3", "s", "temperature", t0 + 600, 98, &em), UL_OK);
    rrdw_free(w);
    w = rrdw_new(f->root, NULL, NULL, &em); /* now librrd itself refuses it */
    assert_int_equal(rrdw_update(w, "n3", "s", "temperature", t0 + 300, 97, &em), UL_OK);
    json_object *o = NULL;
    assert_int_equal(rrdw_fetch(w, "n3", "s", "temperature", t0, t0 + 600, 0, NULL, &o, &em),
                     UL_OK);
    assert_true(fabs(point_at(o, t0 + 600) - 1) < 1e-9);
    json_object_put(o);

    /* a batch writes what it can and names what it could not */
    struct rrdw_sample s[3] = {{"ok", "fan", 1}, {"nan", "fan", NAN}, {"", "fan", 2}};
    size_t written = 9;
    assert_int_equal(rrdw_update_batch(w, "n3", t0 + 660, s, 3, &written, &em), UL_ERR_INVALID);
    assert_int_equal(written, 1);
    assert_contains(em.text, "2 of 3 readings not stored");
    assert_contains(em.text, "'nan'");
    assert_int_equal(rrdw_update_batch(w, "n3", t0 + 720, NULL, 0, &written, &em), UL_OK);
    assert_int_equal(written, 0);

    /* reads */
    assert_int_equal(rrdw_fetch(w, "n3", "missing", "fan", t0, t0 + 60, 0, NULL, &o, &em),
                     UL_ERR_NOT_FOUND);
    assert_contains(em.text, "no history for fan sensor 'missing'");
    assert_int_equal(rrdw_fetch(w, "nope", "s", "fan", t0, t0 + 60, 0, NULL, &o, &em),
                     UL_ERR_NOT_FOUND);
    assert_int_equal(rrdw_fetch(w, "n3", "s", "temperature", t0, t0, 0, NULL, &o, &em),
                     UL_ERR_INVALID);
    assert_int_equal(rrdw_fetch(w, "n3", "s", "temperature", t0, t0 + 60, 0, "MEDIAN", &o, &em),
                     UL_ERR_INVALID);
    assert_contains(em.text, "MEDIAN");
    assert_null(o);
    /* the file vanished behind our back: reads say so, writes create it again */
    char *path = ut_path(f->root, "n3/temperature-s.rrd");
    assert_int_equal(unlink(path), 0);
    assert_int_equal(rrdw_fetch(w, "n3", "s", "temperature", t0, t0 + 60, 0, NULL, &o, &em),
                     UL_ERR_NOT_FOUND);
    assert_int_equal(rrdw_update(w, "n3", "s", "temperature", t0 + 3600, 5, &em), UL_OK);
    assert_true(file_size(path) > 0);
    free(path);
    rrdw_free(w);
}

/* Three hours of 0..59 each: hourly AVERAGE 29.5, MIN 0, MAX 59, whichever
 * archive or consolidation produced them. */
static void resolution_checks(rrdw *w, const char *node, time_t t0)
{
    ul_errmsg em = {{0}};
    for (int i = 1; i <= 180; i++)
        assert_int_equal(
            rrdw_update(w, node, "Inlet", "temperature", t0 + 60 * i, (i - 1) % 60, &em), UL_OK);
    const char *cfs[] = {"AVERAGE", "MIN", "MAX"};
    const double want[] = {29.5, 0, 59};
    for (int c = 0; c < 3; c++) {
        json_object *o = NULL;
        assert_int_equal(
            rrdw_fetch(w, node, "Inlet", "temperature", t0, t0 + 3 * 3600, 3600, cfs[c], &o, &em),
            UL_OK);
        assert_int_equal(jint(o, "step"), 3600);
        for (int h = 1; h <= 3; h++)
            assert_true(fabs(point_at(o, t0 + 3600 * h) - want[c]) < 1e-9);
        json_object_put(o);
    }
    json_object *o = NULL;
    assert_int_equal(rrdw_fetch(w, node, "Inlet", "temperature", t0, t0 + 3600, 300, NULL, &o, &em),
                     UL_OK);
    assert_int_equal(jint(o, "step"), 300);
    assert_true(fabs(point_at(o, t0 + 300) - 2) < 1e-9); /* mean of 0..4 */
    json_object_put(o);
    /* a resolution no archive has: consolidated here (2 h) */
    assert_int_equal(
        rrdw_fetch(w, node, "Inlet", "temperature", t0, t0 + 3 * 3600, 7200, "MAX", &o, &em),
        UL_OK);
    assert_int_equal(jint(o, "step"), 7200);
    time_t b = (t0 / 7200 + 1) * 7200; /* buckets end on multiples of the step */
    assert_true(fabs(point_at(o, b) - 59) < 1e-9);
    assert_true(fabs(point_at(o, b + 7200) - 59) < 1e-9);
    json_object_put(o);
}

static void test_fetch_resolution(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    resolution_checks(w, "n4", base_time());
    rrdw_free(w);
}

static bool is_png(const unsigned char *p, size_t len)
{
    return len > 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0;
}

/* The image size from a PNG's IHDR chunk. */
static void png_size(const unsigned char *p, size_t len, unsigned *wd, unsigned *ht)
{
    assert_true(len > 24);
    *wd = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
    *ht = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
}

static void graph_checks(rrdw *w, time_t t0)
{
    ul_errmsg em = {{0}};
    struct rrdw_series ser[3] = {{"CPU1 Temp", "temperature", NULL},
                                 {"CPU2 Temp", "temperature", "max"},
                                 {"Fan: 1", "fan", NULL}};
    unsigned char *png = NULL;
    size_t len = 0;
    assert_int_equal(
        rrdw_graph_png(w, "g1", ser, 3, t0, t0 + 3600, "node g1", "mixed", 0, 0, &png, &len, &em),
        UL_OK);
    assert_true(is_png(png, len));
    assert_true(len > 1000);
    free(png);
    assert_int_equal(rrdw_graph_kind_png(w, "g1", "temperature", t0, t0 + 3600, "Temperatures",
                                         "celsius", 400, 100, &png, &len, &em),
                     UL_OK);
    assert_true(is_png(png, len));
    free(png);
    /* The size asked for is the plot area's: the image grows with it by
     * exactly as much, and a legend line per series adds height. */
    unsigned pw, ph, pw2, ph2;
    assert_int_equal(rrdw_graph_kind_png(w, "g1", "temperature", t0, t0 + 3600, "Temperatures",
                                         NULL, 400, 200, &png, &len, &em),
                     UL_OK);
    png_size(png, len, &pw2, &ph2);
    free(png);
    assert_int_equal(rrdw_graph_kind_png(w, "g1", "temperature", t0, t0 + 3600, "Temperatures",
                                         NULL, 640, 300, &png, &len, &em),
                     UL_OK);
    png_size(png, len, &pw, &ph);
    assert_int_equal(pw - pw2, 240);
    assert_int_equal(ph - ph2, 100);
    assert_true(pw > 640 && pw < 640 + 200);
    assert_true(ph > 300 + 2 * 12 && ph < 300 + 300);
    if (getenv("UL_GRAPH_OUT")) {
        FILE *fp = fopen(getenv("UL_GRAPH_OUT"), "wb");
        assert_non_null(fp);
        assert_int_equal(fwrite(png, 1, len, fp), len);
        assert_int_equal(fclose(fp), 0);
    }
    free(png);
    assert_int_equal(
        rrdw_graph_kind_png(w, "g1", "power", t0, t0 + 3600, NULL, NULL, 0, 0, &png, &len, &em),
        UL_ERR_NOT_FOUND);
    assert_null(png);
    struct rrdw_series missing = {"nope", "fan", NULL};
    assert_int_equal(
        rrdw_graph_png(w, "g1", &missing, 1, t0, t0 + 3600, NULL, NULL, 0, 0, &png, &len, &em),
        UL_ERR_NOT_FOUND);
    assert_int_equal(
        rrdw_graph_png(w, "g1", ser, 1, t0, t0 + 3600, NULL, NULL, 10, 10, &png, &len, &em),
        UL_ERR_INVALID);
    assert_int_equal(
        rrdw_graph_png(w, "g1", ser, 0, t0, t0 + 3600, NULL, NULL, 0, 0, &png, &len, &em),
        UL_ERR_INVALID);
}

static void write_graph_data(rrdw *w, time_t t0)
{
    ul_errmsg em = {{0}};
    for (int i = 1; i <= 60; i++) {
        struct rrdw_sample s[3] = {{"CPU1 Temp", "temperature", 40 + i % 7},
                                   {"CPU2 Temp", "temperature", 45 + i % 5},
                                   {"Fan: 1", "fan", 4000 + 10 * i}};
        assert_int_equal(rrdw_update_batch(w, "g1", t0 + 60 * i, s, 3, NULL, &em), UL_OK);
    }
}

static void test_graph(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    time_t t0 = base_time();
    write_graph_data(w, t0);
    graph_checks(w, t0);
    rrdw_free(w);
}

/* The range shown follows the data: a node with an hour of history shows
 * that hour, not a sliver of a day; older data or short ranges are kept. */
static void test_graph_start(void **state)
{
    (void)state;
    time_t end = 1700000000;
    /* a day asked, data for 20 minutes: the last hour */
    assert_int_equal(rrdw_graph_start(end - 86400, end, end - 1200), end - 3600);
    /* a day asked, data for 5 hours: those 5 hours */
    assert_int_equal(rrdw_graph_start(end - 86400, end, end - 5 * 3600), end - 5 * 3600);
    /* data older than the range: the range */
    assert_int_equal(rrdw_graph_start(end - 86400, end, end - 2 * 86400), end - 86400);
    /* creation unknown: the range */
    assert_int_equal(rrdw_graph_start(end - 86400, end, 0), end - 86400);
    assert_int_equal(rrdw_graph_start(end - 86400, end, -1), end - 86400);
    /* an hour or less asked: never narrowed */
    assert_int_equal(rrdw_graph_start(end - 600, end, end - 60), end - 600);
    assert_int_equal(rrdw_graph_start(end - 3600, end, end - 60), end - 3600);
    /* a range in the past that ends before the data: unchanged start */
    assert_int_equal(rrdw_graph_start(end - 7200, end, end - 5400), end - 5400);
}

static int find_arg(char **argv, int argc, const char *s)
{
    for (int i = 0; i < argc; i++)
        if (strcmp(argv[i], s) == 0)
            return i;
    return -1;
}

static int count_prefix(char **argv, int argc, const char *p)
{
    int n = 0;
    for (int i = 0; i < argc; i++)
        n += strncmp(argv[i], p, strlen(p)) == 0;
    return n;
}

/* The graph arguments built for a range and a kind: pure logic. */
static void test_graph_args(void **state)
{
    (void)state;
    ul_errmsg em = {{0}};
    struct rrdw_graph_line l[3] = {
        {"/r/n/temperature-cpu1.rrd", "CPU1 Temp", "temperature", NULL},
        {"/r/n/temperature-cpu2.rrd", "CPU2: Temp", "temperature", "max"},
        {"/r/n/temperature-inlet.rrd", "Inlet", "temperature", NULL}};
    char **argv = NULL;
    int argc = 0;
    assert_int_equal(
        rrdw_graph_args(l, 3, 1000, 4600, "n: temperature", NULL, 0, 0, NULL, &argv, &argc, &em),
        UL_OK);
    assert_true(find_arg(argv, argc, "--start=1000") > 0);
    assert_true(find_arg(argv, argc, "--end=4600") > 0);
    assert_true(find_arg(argv, argc, "--width=800") > 0);
    assert_true(find_arg(argv, argc, "--height=250") > 0);
    /* ticks: no "k" scaling, a grid that never repeats a label */
    assert_true(find_arg(argv, argc, "--units-exponent=0") > 0);
    assert_true(find_arg(argv, argc, "--alt-y-grid") > 0);
    /* the unit on the axis */
    int vl = find_arg(argv, argc, "--vertical-label");
    assert_true(vl > 0);
    assert_string_equal(argv[vl + 1], "°C");
    /* dark theme from web/style.css */
    assert_true(find_arg(argv, argc, "--color=BACK#0d1117") > 0);
    assert_true(find_arg(argv, argc, "--color=CANVAS#161b22") > 0);
    assert_true(find_arg(argv, argc, "--color=FONT#e6edf3") > 0);
    assert_int_equal(count_prefix(argv, argc, "--daemon"), 0);
    /* one line per series, distinct colours, min/avg/max/last each */
    assert_int_equal(count_prefix(argv, argc, "DEF:"), 3);
    assert_int_equal(count_prefix(argv, argc, "LINE2:"), 3);
    assert_int_equal(count_prefix(argv, argc, "GPRINT:"), 12);
    assert_true(find_arg(argv, argc, "DEF:s1=/r/n/temperature-cpu2.rrd:value:MAX") > 0);
    assert_true(find_arg(argv, argc, "VDEF:s2min=s2,MINIMUM") > 0);
    assert_true(find_arg(argv, argc, "VDEF:s2avg=s2,AVERAGE") > 0);
    assert_true(find_arg(argv, argc, "VDEF:s2max=s2,MAXIMUM") > 0);
    assert_true(find_arg(argv, argc, "VDEF:s2last=s2,LAST") > 0);
    assert_true(find_arg(argv, argc, "GPRINT:s2last:%6.1lf\\l") > 0);
    char want[96];
    for (int i = 0; i < 3; i++) {
        snprintf(want, sizeof want, "LINE2:s%d#%s:", i, rrdw_graph_color((size_t)i));
        assert_int_equal(count_prefix(argv, argc, want), 1);
        for (int j = 0; j < i; j++)
            assert_string_not_equal(rrdw_graph_color((size_t)i), rrdw_graph_color((size_t)j));
    }
    /* ':' in a legend is escaped; names padded to one column */
    int li = -1;
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "LINE2:s1#", 9) == 0)
            li = i;
    assert_non_null(strstr(argv[li], "CPU2\\: Temp (MAX)"));
    for (int i = 0; i < argc; i++)
        if (strncmp(argv[i], "LINE2:", 6) == 0)
            assert_int_equal(strlen(strchr(argv[i] + 9, ':')), strlen(strchr(argv[li] + 9, ':')));
    rrdw_graph_args_free(argv, argc);

    /* sizes, rrdcached, a vlabel override; fans in RPM with no decimals */
    struct rrdw_graph_line fan = {"n/fan-1.rrd", "Fan 1", "fan", NULL};
    assert_int_equal(rrdw_graph_args(&fan, 1, 1000, 2000, NULL, "speed", 400, 120,
                                     "unix:/run/rrdcached.sock", &argv, &argc, &em),
                     UL_OK);
    assert_true(find_arg(argv, argc, "--width=400") > 0);
    assert_true(find_arg(argv, argc, "--height=120") > 0);
    assert_true(find_arg(argv, argc, "--daemon=unix:/run/rrdcached.sock") > 0);
    vl = find_arg(argv, argc, "--vertical-label");
    assert_string_equal(argv[vl + 1], "speed");
    assert_true(find_arg(argv, argc, "GPRINT:s0max:%6.0lf") > 0);
    assert_int_equal(find_arg(argv, argc, "--title"), -1);
    rrdw_graph_args_free(argv, argc);
    assert_string_equal(rrdw_kind_unit("fan"), "RPM");
    assert_string_equal(rrdw_kind_unit("power"), "W");
    assert_null(rrdw_kind_unit("bogus"));

    /* kinds mixed: no unit on the axis */
    struct rrdw_graph_line mix[2] = {l[0], fan};
    assert_int_equal(rrdw_graph_args(mix, 2, 1000, 2000, NULL, NULL, 0, 0, NULL, &argv, &argc, &em),
                     UL_OK);
    assert_int_equal(find_arg(argv, argc, "--vertical-label"), -1);
    rrdw_graph_args_free(argv, argc);

    /* bad input: clear errors, nothing allocated */
    assert_int_equal(rrdw_graph_args(l, 0, 1000, 2000, NULL, NULL, 0, 0, NULL, &argv, &argc, &em),
                     UL_ERR_INVALID);
    assert_null(argv);
    assert_int_equal(rrdw_graph_args(l, 1, 2000, 2000, NULL, NULL, 0, 0, NULL, &argv, &argc, &em),
                     UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "time range"));
    assert_int_equal(
        rrdw_graph_args(l, 1, 1000, 2000, NULL, NULL, 99, 250, NULL, &argv, &argc, &em),
        UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "99x250"));
    struct rrdw_graph_line badcf = {"x.rrd", "x", "fan", "median"};
    assert_int_equal(
        rrdw_graph_args(&badcf, 1, 1000, 2000, NULL, NULL, 0, 0, NULL, &argv, &argc, &em),
        UL_ERR_INVALID);
    assert_non_null(strstr(em.text, "median"));
    assert_null(argv);
}

static void test_index_recovery(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    time_t t0 = base_time();
    struct rrdw_sample s[2] = {{"CPU Temp", "temperature", 50}, {"cpu temp", "temperature", 60}};
    assert_int_equal(rrdw_update_batch(w, "n5", t0 + 60, s, 2, NULL, &em), UL_OK);
    char hashed[RRDW_FILE_MAX];
    assert_int_equal(rrdw_file_name(w, "n5", "cpu temp", "temperature", hashed, sizeof hashed, &em),
                     UL_OK);
    rrdw_free(w);

    /* index lost: entries come back from the file names, flagged */
    char *idx = ut_path(f->root, "n5/index.json");
    assert_int_equal(unlink(idx), 0);
    w = rrdw_new(f->root, NULL, NULL, &em);
    json_object *l = NULL, *arr;
    assert_int_equal(rrdw_list(w, "n5", &l, &em), UL_OK);
    assert_true(json_object_object_get_ex(l, "sensors", &arr));
    assert_int_equal(json_object_array_length(arr), 2);
    json_object *e0 = json_object_array_get_idx(arr, 1); /* sorted by file name */
    assert_string_equal(jstr(e0, "sensor"), "cpu_temp");
    assert_string_equal(jstr(e0, "file"), "temperature-cpu_temp.rrd");
    assert_string_equal(jstr(json_object_array_get_idx(arr, 0), "file"), hashed);
    json_object *rec;
    assert_true(json_object_object_get_ex(e0, "recovered", &rec) && json_object_get_boolean(rec));
    json_object_put(l);
    /* a reading under an original name starts a new file: never mixed */
    assert_int_equal(rrdw_update(w, "n5", "CPU Temp", "temperature", t0 + 120, 51, &em), UL_OK);
    char now_file[RRDW_FILE_MAX];
    assert_int_equal(
        rrdw_file_name(w, "n5", "CPU Temp", "temperature", now_file, sizeof now_file, &em), UL_OK);
    assert_string_not_equal(now_file, "temperature-cpu_temp.rrd");
    assert_string_not_equal(now_file, hashed);
    rrdw_free(w);
    assert_int_equal(access(idx, F_OK), 0); /* rewritten */

    /* a corrupt index is kept aside and rebuilt the same way */
    assert_int_equal(ut_write_file(idx, "{\"sensors\": [ garbage"), 0);
    w = rrdw_new(f->root, NULL, NULL, &em);
    assert_int_equal(rrdw_list(w, "n5", &l, &em), UL_OK);
    assert_true(json_object_object_get_ex(l, "sensors", &arr));
    assert_int_equal(json_object_array_length(arr), 3);
    json_object_put(l);
    char *bad = ut_path(f->root, "n5/index.json.corrupt");
    assert_int_equal(access(bad, F_OK), 0);
    free(bad);
    free(idx);
    rrdw_free(w);
}

/* ---- through rrdcached ---- */

static void daemon_checks(struct fixture *f, bool tcp)
{
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(tcp ? f->dir : f->root, f->addr, NULL, &em);
    assert_non_null(w);
    time_t t0 = base_time();
    for (int i = 1; i <= 10; i++) {
        struct rrdw_sample s[2] = {{"Inlet Temp", "temperature", 20 + i},
                                   {"Fan 1", "fan", 3000 + i}};
        size_t written = 0;
        assert_int_equal(rrdw_update_batch(w, "d1", t0 + 60 * i, s, 2, &written, &em), UL_OK);
        assert_int_equal(written, 2);
    }
    /* backwards through the daemon: still a no-op (after a restart of the
     * handle, when only rrdcached knows the last time) */
    rrdw_free(w);
    w = rrdw_new(tcp ? f->dir : f->root, f->addr, NULL, &em);
    assert_int_equal(rrdw_update(w, "d1", "Fan 1", "fan", t0 + 120, 1, &em), UL_OK);

    char *path = tcp ? ut_path(f->dir, "d1/fan-fan_1.rrd") : ut_path(f->root, "d1/fan-fan_1.rrd");
    assert_true(file_size(path) > 0);
    if (have_prog("rrdtool")) {
        /* the daemon holds the updates: not on disk yet */
        char *out = run("rrdtool lastupdate %s", path);
        char want[64];
        snprintf(want, sizeof want, "%lld: 3010", (long long)(t0 + 600));
        assert_not_contains(out, want);
        free(out);
    }
    json_object *o = NULL;
    assert_int_equal(rrdw_fetch(w, "d1", "Fan 1", "fan", t0, t0 + 600, 0, NULL, &o, &em), UL_OK);
    assert_int_equal(jint(o, "step"), 60);
    for (int i = 1; i <= 10; i++)
        assert_true(fabs(point_at(o, t0 + 60 * i) - (3000 + i)) < 1e-9);
    json_object_put(o);
    assert_int_equal(
        rrdw_fetch(w, "d1", "Inlet Temp", "temperature", t0, t0 + 3600, 600, "MAX", &o, &em),
        UL_OK);
    assert_int_equal(jint(o, "step"), 600);
    assert_true(fabs(point_at(o, t0 + 600) - 30) < 1e-9);
    json_object_put(o);
    if (have_prog("rrdtool")) {
        /* FETCH made the daemon write the file */
        char *out = run("rrdtool lastupdate %s", path);
        char want[64];
        snprintf(want, sizeof want, "%lld: 3010", (long long)(t0 + 600));
        assert_contains(out, want);
        free(out);
    }
    free(path);

    write_graph_data(w, t0 + 3600);
    graph_checks(w, t0 + 3600);
    resolution_checks(w, "d2", t0);

    /* the daemon restarts (flushing on the way down): the handle's idle
     * connection is dead, the next write reconnects on its own */
    stop_rrdcached(f);
    assert_true(start_rrdcached(f, tcp, tcp ? f->dir : f->root, true));
    assert_int_equal(rrdw_update(w, "d1", "Fan 1", "fan", t0 + 7200, 7, &em), UL_OK);
    assert_int_equal(rrdw_update(w, "d1", "Fan 1", "fan", t0 + 7260, 8, &em), UL_OK);
    assert_int_equal(rrdw_fetch(w, "d1", "Fan 1", "fan", t0 + 7140, t0 + 7260, 0, NULL, &o, &em),
                     UL_OK);
    assert_true(isnan(point_at(o, t0 + 7200))); /* after a gap longer than the heartbeat */
    assert_true(fabs(point_at(o, t0 + 7260) - 8) < 1e-9);
    json_object_put(o);
    rrdw_free(w);

    /* the daemon goes away: a transient error, not a crash */
    stop_rrdcached(f);
    w = rrdw_new(tcp ? f->dir : f->root, f->addr, NULL, &em);
    ul_err rc = rrdw_update(w, "d1", "Fan 1", "fan", t0 + 86400, 1, &em);
    assert_int_equal(rc, UL_ERR_UNREACHABLE);
    assert_true(ul_err_is_transient(rc));
    assert_contains(em.text, "rrdcached");
    /* and for a few seconds later calls fail at once instead of waiting */
    int64_t t_start = ul_mono_ms();
    assert_int_equal(rrdw_fetch(w, "d1", "Fan 1", "fan", t0, t0 + 600, 0, NULL, &o, &em),
                     UL_ERR_UNREACHABLE);
    assert_contains(em.text, "next attempt in");
    assert_true(ul_mono_ms() - t_start < 1000);
    rrdw_free(w);
}

static void test_rrdcached_unix(void **state)
{
    struct fixture *f = *state;
    if (!have_prog("rrdcached")) {
        print_message("rrdcached not installed (Debian package rrdcached): skipped\n");
        skip();
    }
    assert_int_equal(mkdir(f->root, 0755), 0);
    assert_true(start_rrdcached(f, false, f->root, false));
    daemon_checks(f, false);
}

static void test_rrdcached_tcp(void **state)
{
    struct fixture *f = *state;
    if (!have_prog("rrdcached")) {
        print_message("rrdcached not installed (Debian package rrdcached): skipped\n");
        skip();
    }
    /* over TCP files are named relative to the daemon's -b directory; here
     * that is the handle's root too */
    assert_true(start_rrdcached(f, true, f->dir, false));
    daemon_checks(f, true);
}

/* ---- threads ---- */

struct thr {
    rrdw *w;
    int id;
    time_t t0;
    int fails;
};

static void *thr_main(void *arg)
{
    struct thr *t = arg;
    char node[32], sensor[32];
    snprintf(node, sizeof node, "t%d", t->id);
    snprintf(sensor, sizeof sensor, "Shared %d", t->id);
    for (int i = 1; i <= 40; i++) {
        ul_errmsg em;
        struct rrdw_sample s[4] = {
            {"A", "temperature", i}, {"B", "fan", i}, {"C", "power", i}, {"D", "voltage", i}};
        size_t written = 0;
        if (rrdw_update_batch(t->w, node, t->t0 + 60 * i, s, 4, &written, &em) != UL_OK ||
            written != 4)
            t->fails++;
        if (rrdw_update(t->w, "shared", sensor, "temperature", t->t0 + 60 * i, i, &em) != UL_OK)
            t->fails++;
        if (i % 10 == 0) {
            json_object *o = NULL;
            if (rrdw_fetch(t->w, node, "A", "temperature", t->t0, t->t0 + 60 * i, 0, NULL, &o,
                           &em) != UL_OK)
                t->fails++;
            json_object_put(o);
        }
    }
    return NULL;
}

static void run_threads(rrdw *w)
{
    pthread_t th[4];
    struct thr t[4];
    time_t t0 = base_time();
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){w, i, t0, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(t[i].fails, 0);
    }
    json_object *l = NULL, *arr;
    ul_errmsg em;
    assert_int_equal(rrdw_list(w, "shared", &l, &em), UL_OK);
    assert_true(json_object_object_get_ex(l, "sensors", &arr));
    assert_int_equal(json_object_array_length(arr), 4);
    json_object_put(l);
}

static void test_threads(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    run_threads(w);
    rrdw_free(w);
    if (!have_prog("rrdcached"))
        return;
    char *root2 = ut_path(f->dir, "cached");
    assert_int_equal(mkdir(root2, 0755), 0);
    assert_true(start_rrdcached(f, false, root2, false));
    w = rrdw_new(root2, f->addr, NULL, &em);
    run_threads(w);
    rrdw_free(w);
    stop_rrdcached(f);
    free(root2);
}

/* last_update of a file, as librrd's header says (rrdtool info). */
static long long file_last_update(const char *path)
{
    char *out = run("rrdtool info %s | sed -n 's/^last_update = //p'", path);
    long long v = out ? atoll(out) : -1;
    free(out);
    return v;
}

/* Coalesced direct writes: readings wait in memory (the file is not touched),
 * are written 32 at a time, and every read and rrdw_free writes them first;
 * a file removed meanwhile is created again. */
static void test_coalesce(void **state)
{
    struct fixture *f = *state;
    if (!have_prog("rrdtool")) {
        print_message("rrdtool CLI not installed: coalescing checks skipped\n");
        return;
    }
    ul_errmsg em = {{0}};
    rrdw *w = rrdw_new(f->root, NULL, NULL, &em);
    assert_non_null(w);
    rrdw_set_coalesce(w, 3600);
    time_t t0 = base_time();
    char *path = ut_path(f->root, "n1/temperature-cpu_temp.rrd");
    for (int i = 1; i <= 10; i++) {
        struct rrdw_sample smp[2] = {{"CPU Temp", "temperature", 20 + i},
                                     {"Fan 1", "fan", 100 * i}};
        size_t written = 0;
        assert_int_equal(rrdw_update_batch(w, "n1", t0 + 60 * i, smp, 2, &written, &em), UL_OK);
        assert_int_equal(written, 2);
    }
    /* Created at the first reading, nothing written yet. */
    assert_int_equal(file_last_update(path), (long long)t0);
    /* A reading not after the last one is refused while buffered too. */
    size_t written = 9;
    assert_int_equal(rrdw_update_batch(w, "n1", t0 + 60 * 10,
                                       &(struct rrdw_sample){"CPU Temp", "temperature", 1}, 1,
                                       &written, &em),
                     UL_OK);
    assert_int_equal(written, 0);
    /* A read writes the buffered readings first. */
    json_object *o = NULL;
    assert_int_equal(rrdw_fetch(w, "n1", "CPU Temp", "temperature", t0, t0 + 600, 0, NULL, &o, &em),
                     UL_OK);
    for (int i = 1; i <= 10; i++)
        assert_true(fabs(point_at(o, t0 + 60 * i) - (20 + i)) < 1e-9);
    json_object_put(o);
    assert_int_equal(file_last_update(path), (long long)(t0 + 600));

    /* 32 buffered readings are written without a read. */
    for (int i = 11; i <= 42; i++)
        assert_int_equal(rrdw_update(w, "n1", "CPU Temp", "temperature", t0 + 60 * i, i, &em),
                         UL_OK);
    assert_int_equal(file_last_update(path), (long long)(t0 + 60 * 42));
    assert_int_equal(rrdw_update(w, "n1", "CPU Temp", "temperature", t0 + 60 * 43, 43, &em), UL_OK);
    assert_int_equal(file_last_update(path), (long long)(t0 + 60 * 42));

    /* Removed behind our back while buffered: created again at the read. */
    assert_int_equal(unlink(path), 0);
    assert_int_equal(
        rrdw_fetch(w, "n1", "CPU Temp", "temperature", t0, t0 + 60 * 43, 0, NULL, &o, &em), UL_OK);
    assert_true(fabs(point_at(o, t0 + 60 * 43) - 43) < 1e-9);
    json_object_put(o);

    /* rrdw_free writes what is buffered (a clean stop loses nothing). */
    assert_int_equal(rrdw_update(w, "n1", "CPU Temp", "temperature", t0 + 60 * 44, 44, &em), UL_OK);
    assert_int_equal(file_last_update(path), (long long)(t0 + 60 * 43));
    rrdw_free(w);
    assert_int_equal(file_last_update(path), (long long)(t0 + 60 * 44));
    char *fan = ut_path(f->root, "n1/fan-fan_1.rrd");
    assert_int_equal(file_last_update(fan), (long long)(t0 + 600));
    free(fan);
    free(path);

    /* Many threads, reads among the writes. */
    w = rrdw_new(f->root, NULL, NULL, &em);
    rrdw_set_coalesce(w, 3600);
    run_threads(w);
    rrdw_free(w);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN); /* as underlayd does */
    ul_log_init("test_rrd", UL_LOG_STDERR, UL_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sanitize),
        cmocka_unit_test(test_graph_start),
        cmocka_unit_test(test_graph_args),
        cmocka_unit_test(test_archives),
        T(test_direct_roundtrip),
        T(test_collisions),
        T(test_new_and_vanished_sensors),
        T(test_bad_input),
        T(test_fetch_resolution),
        T(test_graph),
        T(test_index_recovery),
        T(test_rrdcached_unix),
        T(test_rrdcached_tcp),
        T(test_threads),
        T(test_coalesce),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
