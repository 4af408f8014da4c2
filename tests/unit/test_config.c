/* test_config.c - unit tests for common/ul_config.h. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "ul_config.h"
#include "unit_util.h"

struct fixture {
    char *dir;
    char *path; /* dir/underlayd.conf */
    struct ul_config cfg;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    f->dir = ut_mkdtemp();
    if (!f->dir) {
        free(f);
        return -1;
    }
    f->path = ut_path(f->dir, "underlayd.conf");
    ul_config_defaults(&f->cfg);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    ul_config_free(&f->cfg);
    ut_rmtree(f->dir);
    free(f->path);
    free(f->dir);
    free(f);
    return 0;
}

/* Write text as the config file and load it on top of the defaults. */
static ul_err load_text(struct fixture *f, const char *text, ul_errmsg *em)
{
    assert_int_equal(ut_write_file(f->path, text), 0);
    em->text[0] = '\0';
    return ul_config_load_file(&f->cfg, f->path, em);
}

/* Load text, expect UL_ERR_INVALID naming the file, "line N" and frag. */
static void expect_load_error(struct fixture *f, const char *text, int line, const char *frag)
{
    ul_errmsg em;
    ul_err rc = load_text(f, text, &em);
    if (rc == UL_OK)
        fail_msg("loading \"%s\" succeeded, expected an error", text);
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_contains(em.text, f->path);
    char want[32];
    snprintf(want, sizeof(want), "line %d:", line);
    assert_contains(em.text, want);
    if (frag)
        assert_contains(em.text, frag);
}

static void test_defaults(void **state)
{
    struct fixture *f = *state;
    struct ul_config *c = &f->cfg;
    assert_string_equal(c->data_dir, UL_DEFAULT_DATA_DIR);
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, UL_DEFAULT_PORT);
    assert_int_equal(c->listen_port, 8624);
    assert_int_equal(c->http_threads, 4);
    assert_int_equal(c->log_level, UL_LOG_INFO);
    assert_int_equal(c->log_target, UL_LOG_STDERR);
    assert_int_equal(c->job_workers, 16);
    assert_int_equal(c->job_timeout, 300);
    assert_int_equal(c->job_retain_days, 30);
    assert_int_equal(c->max_body, 1024 * 1024);
    assert_int_equal(c->page_default, 100);
    assert_int_equal(c->page_max, 1000);
    assert_int_equal(c->bmc_timeout, 20);
}

static void test_free_twice_and_null(void **state)
{
    (void)state;
    struct ul_config c;
    ul_config_defaults(&c);
    ul_config_free(&c);
    assert_null(c.data_dir);
    assert_null(c.listen_host);
    ul_config_free(&c); /* pointers were cleared: no double free */
    ul_config_free(NULL);
}

static void test_load_full_file(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em;
    const char *text = "# underlayd test configuration\n"
                       "; a semicolon comment\n"
                       "\n"
                       "   [server]   \n"
                       "  listen   =   0.0.0.0:9000  \n"
                       "data_dir=/srv/underlay\n"
                       "\thttp_threads\t=\t8\t\n"
                       "    # indented comment\n"
                       "[log]\n"
                       "level = debug\n"
                       "target = syslog\n"
                       "[ jobs ]\n"
                       "workers = 32\n"
                       "timeout = 600\n"
                       "retain_days = 7\n"
                       "[api]\n"
                       "max_body = 2048\n"
                       "page_default = 50\n"
                       "page_max = 500\n"
                       "[bmc]\n"
                       "timeout = 5\n";
    ul_err rc = load_text(f, text, &em);
    if (rc != UL_OK)
        fail_msg("load failed: %s", em.text);
    struct ul_config *c = &f->cfg;
    assert_string_equal(c->listen_host, "0.0.0.0");
    assert_int_equal(c->listen_port, 9000);
    assert_string_equal(c->data_dir, "/srv/underlay");
    assert_int_equal(c->http_threads, 8);
    assert_int_equal(c->log_level, UL_LOG_DEBUG);
    assert_int_equal(c->log_target, UL_LOG_SYSLOG);
    assert_int_equal(c->job_workers, 32);
    assert_int_equal(c->job_timeout, 600);
    assert_int_equal(c->job_retain_days, 7);
    assert_int_equal(c->max_body, 2048);
    assert_int_equal(c->page_default, 50);
    assert_int_equal(c->page_max, 500);
    assert_int_equal(c->bmc_timeout, 5);
}

static void test_load_partial_keeps_defaults(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em;
    assert_int_equal(load_text(f, "[jobs]\nworkers = 3\n", &em), UL_OK);
    assert_int_equal(f->cfg.job_workers, 3);
    /* everything else untouched */
    assert_int_equal(f->cfg.job_timeout, 300);
    assert_string_equal(f->cfg.listen_host, "127.0.0.1");
    assert_int_equal(f->cfg.listen_port, 8624);
    assert_string_equal(f->cfg.data_dir, UL_DEFAULT_DATA_DIR);
    /* an empty file and a file of comments are fine */
    assert_int_equal(load_text(f, "", &em), UL_OK);
    assert_int_equal(load_text(f, "# nothing\n\n   \n; here\n", &em), UL_OK);
    assert_int_equal(f->cfg.job_workers, 3);
    /* a last line without newline is read */
    assert_int_equal(load_text(f, "[jobs]\nworkers = 9", &em), UL_OK);
    assert_int_equal(f->cfg.job_workers, 9);
    /* a later value for the same key wins */
    assert_int_equal(load_text(f, "[bmc]\ntimeout = 7\ntimeout = 11\n", &em), UL_OK);
    assert_int_equal(f->cfg.bmc_timeout, 11);
    /* IPv6 listen address */
    assert_int_equal(load_text(f, "[server]\nlisten = [::1]:8700\n", &em), UL_OK);
    assert_string_equal(f->cfg.listen_host, "::1");
    assert_int_equal(f->cfg.listen_port, 8700);
    /* log level names are case-insensitive and "warning" is accepted */
    assert_int_equal(load_text(f, "[log]\nlevel = WARNING\n", &em), UL_OK);
    assert_int_equal(f->cfg.log_level, UL_LOG_WARN);
}

static void test_load_missing_file(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    char *missing = ut_path(f->dir, "no-such.conf");
    ul_err rc = ul_config_load_file(&f->cfg, missing, &em);
    assert_int_equal(rc, UL_ERR_IO);
    assert_contains(em.text, missing);
    free(missing);
}

static void test_err_unknown_section(void **state)
{
    struct fixture *f = *state;
    /* Reported at the section header, so a misspelled section is caught
     * even when it holds no keys. */
    expect_load_error(f, "# c\n[server]\nhttp_threads = 2\n[srever]\nlisten = 1.2.3.4:5\n", 4,
                      "unknown section '[srever]'");
    expect_load_error(f, "[nosuch]\nkey = 1\n", 1, "unknown section '[nosuch]'");
    expect_load_error(f, "[server]\n[srever]\n# only a comment\n", 2, "'[srever]'");
}

static void test_err_unknown_key(void **state)
{
    struct fixture *f = *state;
    expect_load_error(f, "[server]\n\n# comment\nport = 8000\n", 4, "unknown key 'server.port'");
    /* a key that exists in another section */
    expect_load_error(f, "[log]\nworkers = 3\n", 2, "log.workers");
}

static void test_err_bad_number(void **state)
{
    struct fixture *f = *state;
    expect_load_error(f, "[jobs]\nworkers = ten\n", 2, "jobs.workers");
    expect_load_error(f, "[jobs]\nworkers = ten\n", 2, "'ten' is not a whole number");
    expect_load_error(f, "[jobs]\nworkers = 8x\n", 2, "'8x'");
    expect_load_error(f, "[jobs]\nworkers = 1.5\n", 2, "jobs.workers");
    expect_load_error(f, "[jobs]\nworkers =\n", 2, "jobs.workers");
    expect_load_error(f, "[api]\nmax_body = 99999999999999999999999\n", 2, "api.max_body");
    expect_load_error(f, "[log]\nlevel = verbose\n", 2, "log.level");
    expect_load_error(f, "[log]\ntarget = file\n", 2, "log.target");
    expect_load_error(f, "[server]\nlisten = localhost:80\n", 2, "server.listen");
}

static void test_err_out_of_range(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em;
    expect_load_error(f, "[jobs]\nworkers = 0\n", 2, "jobs.workers");
    expect_load_error(f, "[jobs]\nworkers = 0\n", 2, "out of range 1-1024");
    expect_load_error(f, "[jobs]\nworkers = 1025\n", 2, "1025");
    expect_load_error(f, "[jobs]\nworkers = -3\n", 2, "jobs.workers");
    expect_load_error(f, "[server]\nhttp_threads = 65\n", 2, "server.http_threads");
    expect_load_error(f, "[api]\nmax_body = 1023\n", 2, "api.max_body");
    expect_load_error(f, "[api]\nmax_body = 67108865\n", 2, "api.max_body");
    expect_load_error(f, "[bmc]\ntimeout = 3601\n", 2, "bmc.timeout");
    expect_load_error(f, "[jobs]\nretain_days = 0\n", 2, "jobs.retain_days");
    /* the bounds themselves are accepted */
    assert_int_equal(load_text(f, "[jobs]\nworkers = 1\n", &em), UL_OK);
    assert_int_equal(f->cfg.job_workers, 1);
    assert_int_equal(load_text(f, "[jobs]\nworkers = 1024\n", &em), UL_OK);
    assert_int_equal(f->cfg.job_workers, 1024);
    assert_int_equal(load_text(f, "[api]\nmax_body = 67108864\n", &em), UL_OK);
    assert_int_equal(f->cfg.max_body, 67108864L);
    assert_int_equal(load_text(f, "[jobs]\ntimeout = 604800\n", &em), UL_OK);
    assert_int_equal(f->cfg.job_timeout, 604800);
}

static void test_err_key_outside_section(void **state)
{
    struct fixture *f = *state;
    expect_load_error(f, "# top\nworkers = 3\n[jobs]\n", 2, "key 'workers' outside any [section]");
}

static void test_err_malformed_section(void **state)
{
    struct fixture *f = *state;
    expect_load_error(f, "[server\nlisten = 1.2.3.4:5\n", 1, "malformed section header '[server'");
    expect_load_error(f, "[jobs]\nworkers = 2\n[] \n", 3, "malformed section header");
    expect_load_error(f, "[jobs] workers = 2\n", 1, "malformed section header");
    char long_section[200];
    snprintf(long_section, sizeof(long_section), "[%0100d]\n", 0);
    expect_load_error(f, long_section, 1, "malformed section header");
}

static void test_err_no_equals(void **state)
{
    struct fixture *f = *state;
    expect_load_error(f, "[jobs]\nworkers 3\n", 2, "expected 'key = value'");
}

static void test_err_empty_string_value(void **state)
{
    struct fixture *f = *state;
    expect_load_error(f, "[server]\ndata_dir =   \n", 2, "server.data_dir");
    /* the default survives a refused value */
    assert_string_equal(f->cfg.data_dir, UL_DEFAULT_DATA_DIR);
}

static void test_err_line_too_long(void **state)
{
    struct fixture *f = *state;
    size_t len = 5000;
    char *text = malloc(len + 32);
    assert_non_null(text);
    strcpy(text, "[server]\ndata_dir = ");
    size_t n = strlen(text);
    memset(text + n, 'a', len);
    strcpy(text + n + len, "\n");
    expect_load_error(f, text, 2, "too long");
    free(text);
}

static void test_set_arg_overrides(void **state)
{
    struct fixture *f = *state;
    ul_errmsg em = {{0}};
    struct ul_config *c = &f->cfg;
    assert_int_equal(ul_config_set_arg(c, "jobs.workers=8", &em), UL_OK);
    assert_int_equal(c->job_workers, 8);
    assert_int_equal(ul_config_set_arg(c, "server.listen=[::1]:9999", &em), UL_OK);
    assert_string_equal(c->listen_host, "::1");
    assert_int_equal(c->listen_port, 9999);
    /* the value may contain dots and '=' */
    assert_int_equal(ul_config_set_arg(c, "server.data_dir=/srv/a.b=c", &em), UL_OK);
    assert_string_equal(c->data_dir, "/srv/a.b=c");
    assert_int_equal(ul_config_set_arg(c, "log.level=error", &em), UL_OK);
    assert_int_equal(c->log_level, UL_LOG_ERROR);

    /* an override applied after a file wins over it */
    assert_int_equal(load_text(f, "[jobs]\nworkers = 4\ntimeout = 10\n", &em), UL_OK);
    assert_int_equal(ul_config_set_arg(c, "jobs.workers=5", &em), UL_OK);
    assert_int_equal(c->job_workers, 5);
    assert_int_equal(c->job_timeout, 10);

    /* ul_config_set directly */
    assert_int_equal(ul_config_set(c, "api", "page_max", "2000", &em), UL_OK);
    assert_int_equal(c->page_max, 2000);
}

static void expect_set_arg_error(struct ul_config *c, const char *arg, const char *frag)
{
    ul_errmsg em = {{0}};
    ul_err rc = ul_config_set_arg(c, arg, &em);
    if (rc == UL_OK)
        fail_msg("--set '%s' accepted", arg);
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_contains(em.text, frag);
}

static void test_set_arg_errors(void **state)
{
    struct fixture *f = *state;
    struct ul_config *c = &f->cfg;
    expect_set_arg_error(c, "jobsworkers=8", "'jobsworkers=8' is not section.key=value");
    expect_set_arg_error(c, "jobs.workers", "is not section.key=value");
    expect_set_arg_error(c, ".workers=1", "is not section.key=value");
    expect_set_arg_error(c, "jobs.=1", "is not section.key=value");
    expect_set_arg_error(c, "jobs=1.5", "is not section.key=value");
    expect_set_arg_error(c, "", "is not section.key=value");
    expect_set_arg_error(c, "nosuch.key=1", "unknown section 'nosuch'");
    expect_set_arg_error(c, "server.port=1", "unknown key 'server.port'");
    expect_set_arg_error(c, "jobs.workers=0", "jobs.workers");
    expect_set_arg_error(c, "jobs.workers=abc", "jobs.workers");
    expect_set_arg_error(c, "log.level=loud", "log.level");
    expect_set_arg_error(c, "server.listen=example.com:80", "server.listen");
    /* refused values change nothing */
    assert_int_equal(c->job_workers, 16);
    assert_int_equal(c->log_level, UL_LOG_INFO);
    assert_string_equal(c->listen_host, "127.0.0.1");
    assert_int_equal(c->listen_port, 8624);
}

/* ---- ul_parse_listen ---- */

static void expect_listen(const char *s, const char *host, int port)
{
    char *h = NULL;
    int p = -1;
    ul_errmsg em = {{0}};
    ul_err rc = ul_parse_listen(s, &h, &p, &em);
    if (rc != UL_OK)
        fail_msg("ul_parse_listen(\"%s\"): %s", s, em.text);
    assert_non_null(h);
    assert_string_equal(h, host);
    assert_int_equal(p, port);
    free(h);
}

static void expect_listen_error(const char *s, const char *frag)
{
    char *h = NULL;
    int p = -1;
    ul_errmsg em = {{0}};
    ul_err rc = ul_parse_listen(s, &h, &p, &em);
    if (rc == UL_OK) {
        free(h);
        fail_msg("ul_parse_listen(\"%s\") accepted", s);
    }
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_null(h); /* nothing allocated on error */
    assert_int_equal(p, -1);
    if (frag)
        assert_contains(em.text, frag);
}

static void test_listen_ipv4(void **state)
{
    (void)state;
    expect_listen("127.0.0.1:8624", "127.0.0.1", 8624);
    expect_listen("0.0.0.0:1", "0.0.0.0", 1);
    expect_listen("192.0.2.10:65535", "192.0.2.10", 65535);
}

static void test_listen_ipv6(void **state)
{
    (void)state;
    expect_listen("[::1]:8624", "::1", 8624);
    expect_listen("[::]:80", "::", 80);
    expect_listen("[fe80::1:2]:443", "fe80::1:2", 443);
    expect_listen("[2001:db8::42]:9000", "2001:db8::42", 9000);
}

static void test_listen_bare_port(void **state)
{
    (void)state;
    expect_listen("9000", "127.0.0.1", 9000);
    expect_listen("1", "127.0.0.1", 1);
}

static void test_listen_host_names_refused(void **state)
{
    (void)state;
    expect_listen_error("localhost:8624", "'localhost' is not a literal");
    expect_listen_error("example.com:80", "example.com");
    expect_listen_error("[localhost]:80", "localhost");
    expect_listen_error("256.1.1.1:80", "256.1.1.1");
    expect_listen_error("1.2.3:80", "1.2.3");
    expect_listen_error("[]:80", "literal");
    expect_listen_error("[1.2.3.4.5]:80", "literal");
}

static void test_listen_bad_ports(void **state)
{
    (void)state;
    expect_listen_error("127.0.0.1:0", "not a port number");
    expect_listen_error("127.0.0.1:65536", "'65536' is not a port number");
    expect_listen_error("127.0.0.1:", "not a port number");
    expect_listen_error("127.0.0.1:abc", "'abc'");
    expect_listen_error("127.0.0.1:80x", "'80x'");
    expect_listen_error("127.0.0.1:-1", "not a port number");
    expect_listen_error("127.0.0.1:99999999999999999999", "not a port number");
    expect_listen_error("[::1]:0", "not a port number");
    expect_listen_error("[::1]:", "not a port number");
    expect_listen_error("0", "not a port number");
    expect_listen_error("70000", "not a port number");
    expect_listen_error("", NULL);
}

static void test_listen_malformed_ipv6(void **state)
{
    (void)state;
    expect_listen_error("[::1]8624", "is not [ipv6]:port");
    expect_listen_error("[::1", "is not [ipv6]:port");
    expect_listen_error("[::1]", "is not [ipv6]:port");
    char longv6[200];
    snprintf(longv6, sizeof(longv6), "[%0100d]:80", 0);
    expect_listen_error(longv6, "is not [ipv6]:port");
    char longv4[200];
    snprintf(longv4, sizeof(longv4), "%0100d:80", 0);
    expect_listen_error(longv4, "too long");
}

int main(void)
{
    ul_log_init("test_config", UL_LOG_STDERR, UL_LOG_ERROR);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_defaults),
        cmocka_unit_test(test_free_twice_and_null),
        T(test_load_full_file),
        T(test_load_partial_keeps_defaults),
        T(test_load_missing_file),
        T(test_err_unknown_section),
        T(test_err_unknown_key),
        T(test_err_bad_number),
        T(test_err_out_of_range),
        T(test_err_key_outside_section),
        T(test_err_malformed_section),
        T(test_err_no_equals),
        T(test_err_empty_string_value),
        T(test_err_line_too_long),
        T(test_set_arg_overrides),
        T(test_set_arg_errors),
        cmocka_unit_test(test_listen_ipv4),
        cmocka_unit_test(test_listen_ipv6),
        cmocka_unit_test(test_listen_bare_port),
        cmocka_unit_test(test_listen_host_names_refused),
        cmocka_unit_test(test_listen_bad_ports),
        cmocka_unit_test(test_listen_malformed_ipv6),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
