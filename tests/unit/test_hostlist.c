/* test_hostlist.c - unit tests for common/hostlist.h. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostlist.h"
#include "unit_util.h"

/* Expand expr and check the result is exactly the NULL-ended list want. */
static void expect_hosts(const char *expr, const char *const *want)
{
    hostlist hl;
    ul_errmsg em = {{0}};
    ul_err rc = hostlist_expand(expr, &hl, &em);
    if (rc != UL_OK)
        fail_msg("hostlist_expand(\"%s\") failed: %s", expr, em.text);
    size_t n = 0;
    while (want[n])
        n++;
    if (hl.count != n) {
        for (size_t i = 0; i < hl.count; i++)
            print_message("  got[%zu] = %s\n", i, hl.hosts[i]);
        hostlist_free(&hl);
        fail_msg("\"%s\": expected %zu hosts", expr, n);
    }
    for (size_t i = 0; i < n; i++) {
        if (strcmp(hl.hosts[i], want[i]) != 0) {
            char got[300];
            snprintf(got, sizeof(got), "%s", hl.hosts[i]);
            hostlist_free(&hl);
            fail_msg("\"%s\": host %zu is \"%s\", expected \"%s\"", expr, i, got, want[i]);
        }
    }
    hostlist_free(&hl);
    assert_null(hl.hosts);
    assert_int_equal(hl.count, 0);
}

/* Expand expr, expect UL_ERR_INVALID, an empty list, and a message containing
 * each of the NULL-ended fragments. */
static void expect_error(const char *expr, const char *frag1, const char *frag2)
{
    hostlist hl = {(char **)(uintptr_t)0x1, 99}; /* must be reset on error */
    ul_errmsg em = {{0}};
    ul_err rc = hostlist_expand(expr, &hl, &em);
    if (rc == UL_OK) {
        hostlist_free(&hl);
        fail_msg("hostlist_expand(\"%s\") succeeded, expected an error", expr ? expr : "(null)");
    }
    assert_int_equal(rc, UL_ERR_INVALID);
    assert_null(hl.hosts);
    assert_int_equal(hl.count, 0);
    if (frag1)
        assert_contains(em.text, frag1);
    if (frag2)
        assert_contains(em.text, frag2);
}

static void test_single_name(void **state)
{
    (void)state;
    expect_hosts("db1", (const char *const[]){"db1", NULL});
    expect_hosts("a", (const char *const[]){"a", NULL});
}

static void test_simple_range(void **state)
{
    (void)state;
    expect_hosts("n[1-3]", (const char *const[]){"n1", "n2", "n3", NULL});
    expect_hosts("n[5]", (const char *const[]){"n5", NULL});
    expect_hosts("n[7-7]", (const char *const[]){"n7", NULL});
    /* a range with a suffix after the bracket */
    expect_hosts("n[1-2].dc", (const char *const[]){"n1.dc", "n2.dc", NULL});
    /* a bracket group alone */
    expect_hosts("[1-3]", (const char *const[]){"1", "2", "3", NULL});
}

static void test_range_list_in_brackets(void **state)
{
    (void)state;
    expect_hosts(
        "rack1-n[01-03,07],db1",
        (const char *const[]){"rack1-n01", "rack1-n02", "rack1-n03", "rack1-n07", "db1", NULL});
    expect_hosts("n[9,1-2,5]", (const char *const[]){"n9", "n1", "n2", "n5", NULL});
}

static void test_zero_padding(void **state)
{
    (void)state;
    /* padding follows the lower bound and survives the carry into more digits */
    expect_hosts("n[08-10]", (const char *const[]){"n08", "n09", "n10", NULL});
    expect_hosts("n[098-101]", (const char *const[]){"n098", "n099", "n100", "n101", NULL});
    expect_hosts("n[001-003]", (const char *const[]){"n001", "n002", "n003", NULL});
    /* no padding when the lower bound has none */
    expect_hosts("n[8-10]", (const char *const[]){"n8", "n9", "n10", NULL});
    expect_hosts("n[0-2]", (const char *const[]){"n0", "n1", "n2", NULL});
}

static void test_cartesian_product(void **state)
{
    (void)state;
    expect_hosts("r[1-2]n[1-2]", (const char *const[]){"r1n1", "r1n2", "r2n1", "r2n2", NULL});
    expect_hosts("r[1-2]-n[01-03]-p[0,1]x",
                 (const char *const[]){"r1-n01-p0x", "r1-n01-p1x", "r1-n02-p0x", "r1-n02-p1x",
                                       "r1-n03-p0x", "r1-n03-p1x", "r2-n01-p0x", "r2-n01-p1x",
                                       "r2-n02-p0x", "r2-n02-p1x", "r2-n03-p0x", "r2-n03-p1x",
                                       NULL});
    /* cartesian product counts */
    hostlist hl;
    ul_errmsg em;
    assert_int_equal(hostlist_expand("a[1-10]b[1-10]c[1-10]", &hl, &em), UL_OK);
    assert_int_equal(hl.count, 1000);
    assert_string_equal(hl.hosts[0], "a1b1c1");
    assert_string_equal(hl.hosts[999], "a10b10c10");
    hostlist_free(&hl);
}

static void test_top_level_commas(void **state)
{
    (void)state;
    expect_hosts("a,b,c", (const char *const[]){"a", "b", "c", NULL});
    /* commas inside brackets do not split names */
    expect_hosts("x[1,3],y[2,4]", (const char *const[]){"x1", "x3", "y2", "y4", NULL});
    expect_hosts("web[1-2],db[1-2].example.com",
                 (const char *const[]){"web1", "web2", "db1.example.com", "db2.example.com", NULL});
}

static void test_duplicates_removed_order_kept(void **state)
{
    (void)state;
    expect_hosts("c,b,a,b,c", (const char *const[]){"c", "b", "a", NULL});
    expect_hosts("n[1-3],n2,n[2-4]", (const char *const[]){"n1", "n2", "n3", "n4", NULL});
    expect_hosts("n[3,1,3,2,1]", (const char *const[]){"n3", "n1", "n2", NULL});
    expect_hosts("z,z,z", (const char *const[]){"z", NULL});
    /* padded and unpadded names differ */
    expect_hosts("n[1-2],n[01-02]", (const char *const[]){"n1", "n2", "n01", "n02", NULL});

    /* a large list where every later copy is dropped (dedupe is not O(n^2)
     * and keeps the first position) */
    hostlist hl;
    ul_errmsg em;
    assert_int_equal(hostlist_expand("h[0000-4999],h[4999],h[0000-0001],h[2500-2600]", &hl, &em),
                     UL_OK);
    assert_int_equal(hl.count, 5000);
    for (size_t i = 0; i < hl.count; i++) {
        char want[32];
        snprintf(want, sizeof(want), "h%04zu", i);
        assert_string_equal(hl.hosts[i], want);
    }
    hostlist_free(&hl);
}

static void test_max_hosts_boundary(void **state)
{
    (void)state;
    hostlist hl;
    ul_errmsg em;
    /* exactly HOSTLIST_MAX_HOSTS is accepted */
    assert_int_equal(hostlist_expand("n[1-100000]", &hl, &em), UL_OK);
    assert_int_equal(hl.count, HOSTLIST_MAX_HOSTS);
    assert_string_equal(hl.hosts[0], "n1");
    assert_string_equal(hl.hosts[HOSTLIST_MAX_HOSTS - 1], "n100000");
    hostlist_free(&hl);
}

static void test_err_too_large(void **state)
{
    (void)state;
    /* one range past the limit */
    expect_error("n[1-100001]", "more than 100000", "n[1-100001]");
    /* a typo that would eat memory */
    expect_error("n[1-9999999]", "more than 100000", NULL);
    /* a product past the limit, each range small */
    expect_error("a[1-400]b[1-400]", "more than 100000", NULL);
    /* comma-joined lists past the limit */
    expect_error("a[1-60000],b[1-60000]", "more than 100000", NULL);
    /* more than ten digits is refused rather than overflowing */
    expect_error("n[12345678901]", "expected a number", NULL);
}

static void test_err_unmatched_brackets(void **state)
{
    (void)state;
    expect_error("n[1-3", "unmatched '['", "n[1-3");
    expect_error("n1-3]", "unmatched ']'", "n1-3]");
    expect_error("n]1", "unmatched ']'", "n]1");
    expect_error("n]1[", "unmatched", NULL); /* both are wrong; either may be named */
    expect_error("n[1-3]]", "unmatched ']'", NULL);
    expect_error("a,n[1-2,b", "unmatched '['", NULL);
    expect_error("[", "unmatched '['", NULL);
}

static void test_err_backwards_range(void **state)
{
    (void)state;
    expect_error("n[3-1]", "3-1", "backwards");
    expect_error("n[10-09]", "10-9", "backwards");
}

static void test_err_empty_range(void **state)
{
    (void)state;
    expect_error("n[]", "empty range", "n[]");
    expect_error("a,n[]x", "empty range", NULL);
}

static void test_err_white_space(void **state)
{
    (void)state;
    expect_error("n1 n2", "white space", "n1 n2");
    expect_error("n[1- 2]", "white space", NULL);
    expect_error("a,\tb", "white space", NULL);
    expect_error("a\n", "white space", NULL);
    expect_error(" a", "white space", NULL);
}

static void test_err_non_numeric(void **state)
{
    (void)state;
    /* the message points at the offending part of the range */
    expect_error("n[a-b]", "expected a number at 'a-b'", "n[a-b]");
    expect_error("n[1-x]", "expected a number after '-'", NULL);
    expect_error("n[1-2x]", "unexpected 'x'", NULL);
    expect_error("n[-1]", "expected a number", NULL);
    expect_error("n[1--2]", "expected a number after '-'", NULL);
    expect_error("n[,1]", "expected a number at ',1'", NULL);
}

static void test_err_empty(void **state)
{
    (void)state;
    expect_error("", "empty host list", NULL);
    expect_error(NULL, "empty host list", NULL);
    expect_error(",a", "empty host name", NULL);
    expect_error("a,,b", "empty host name", NULL);
    expect_error("a,", "empty host name", NULL);
}

static void test_err_too_long(void **state)
{
    (void)state;
    char name[300];
    memset(name, 'a', 256);
    name[256] = '\0';
    expect_error(name, "name too long", NULL);
    name[255] = '\0';
    expect_hosts(name, (const char *const[]){name, NULL});
    /* prefix plus range digits past the limit */
    memset(name, 'b', 255);
    snprintf(name + 255, sizeof(name) - 255, "[1-2]");
    expect_error(name, "name too long", NULL);

    size_t big = 5000;
    char *expr = malloc(big + 1);
    assert_non_null(expr);
    for (size_t i = 0; i < big; i++)
        expr[i] = (i % 2) ? ',' : 'x';
    expr[big] = '\0';
    expect_error(expr, "longer than 4096", NULL);
    free(expr);
}

static void test_error_leaves_no_partial_list(void **state)
{
    (void)state;
    /* hosts expanded before the error must not leak nor be returned */
    expect_error("good[1-50],bad[2-1]", "backwards", NULL);
    expect_error("good[1-50],n[]", "empty range", NULL);
}

static void test_is_pattern(void **state)
{
    (void)state;
    assert_true(hostlist_is_pattern("n[1-2]"));
    assert_true(hostlist_is_pattern("a,b"));
    assert_true(hostlist_is_pattern("n]"));
    assert_true(hostlist_is_pattern("n["));
    assert_false(hostlist_is_pattern("rack1-n01.example.com"));
    assert_false(hostlist_is_pattern(""));
    assert_false(hostlist_is_pattern(NULL));
}

static void test_free_null_safe(void **state)
{
    (void)state;
    hostlist_free(NULL);
    hostlist hl = {NULL, 0};
    hostlist_free(&hl);
    assert_null(hl.hosts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_single_name),
        cmocka_unit_test(test_simple_range),
        cmocka_unit_test(test_range_list_in_brackets),
        cmocka_unit_test(test_zero_padding),
        cmocka_unit_test(test_cartesian_product),
        cmocka_unit_test(test_top_level_commas),
        cmocka_unit_test(test_duplicates_removed_order_kept),
        cmocka_unit_test(test_max_hosts_boundary),
        cmocka_unit_test(test_err_too_large),
        cmocka_unit_test(test_err_unmatched_brackets),
        cmocka_unit_test(test_err_backwards_range),
        cmocka_unit_test(test_err_empty_range),
        cmocka_unit_test(test_err_white_space),
        cmocka_unit_test(test_err_non_numeric),
        cmocka_unit_test(test_err_empty),
        cmocka_unit_test(test_err_too_long),
        cmocka_unit_test(test_error_leaves_no_partial_list),
        cmocka_unit_test(test_is_pattern),
        cmocka_unit_test(test_free_null_safe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
