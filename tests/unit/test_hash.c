/* test_hash.c - unit tests for common/hash.h: the published FNV-1a test
 * vectors (32 and 64 bits), and the chained form that redfish/logs.c uses.
 * The 32-bit values are persisted (RRD file names, Redfish log cursors), so
 * any change here must fail. */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "hash.h"
#include "unit_util.h"

static void test_fnv1a_32_vectors(void **state)
{
    (void)state;
    assert_int_equal(ul_hash32_str(""), 0x811c9dc5u);
    assert_int_equal(ul_hash32_str("a"), 0xe40c292cu);
    assert_int_equal(ul_hash32_str("foobar"), 0xbf9cf968u);
    /* what collectors/rrd.c appends to "temperature-cpu_temp-" */
    assert_int_equal(ul_hash32_str("cpu temp"), 0x4487a58du);
    assert_int_equal(ul_hash32_add(UL_HASH32_INIT, "foobar", 6), 0xbf9cf968u);
    /* bytes past a NUL count in the sized form */
    assert_int_equal(ul_hash32_add(UL_HASH32_INIT, "a\0b", 3), 0x10f3abd2u);
}

static void test_fnv1a_32_chained(void **state)
{
    (void)state;
    /* hashing in pieces is hashing the concatenation */
    uint32_t h = ul_hash32_add_str(UL_HASH32_INIT, "foo");
    h = ul_hash32_add(h, "bar", 3);
    assert_int_equal(h, ul_hash32_str("foobar"));
    assert_int_equal(ul_hash32_add(h, "", 0), h);
}

static void test_fnv1a_64_vectors(void **state)
{
    (void)state;
    assert_true(ul_hash_str("") == 0xcbf29ce484222325ull);
    assert_true(ul_hash_str("a") == 0xaf63dc4c8601ec8cull);
    assert_true(ul_hash_str("foobar") == 0x85944171f73967e8ull);
    assert_true(ul_hash_bytes("foobar", 6) == ul_hash_str("foobar"));
    assert_true(ul_hash_bytes("a\0b", 3) == 0xe5d29919042666b2ull);
    assert_true(ul_hash_bytes(NULL, 0) == UL_HASH64_INIT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fnv1a_32_vectors),
        cmocka_unit_test(test_fnv1a_32_chained),
        cmocka_unit_test(test_fnv1a_64_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
