/* hash.h - the project's one string hash: FNV-1a (Fowler/Noll/Vo), 32 and 64
 * bits, with the standard offset bases and primes.
 *
 * Not a cryptographic hash: use it for hash tables and for short
 * disambiguating suffixes, never where an attacker's collisions matter
 * (secrets and credentials go through libsodium, core/secret.h).
 *
 * Two uses persist the 32-bit value, so ul_hash32_* must never change: RRD
 * file names (collectors/rrd.c, "KIND-NAME-%08x.rrd") and Redfish log cursors
 * (redfish/logs.c, "rf1:T:%08x").  tests/unit/test_hash pins both variants on
 * the published FNV test vectors, test_rrd and test_redfish pin those uses.
 *
 * Pure functions, no state: callable from any thread.
 */
#ifndef UL_HASH_H
#define UL_HASH_H

#include <stddef.h>
#include <stdint.h>

#define UL_HASH32_INIT 2166136261u              /* FNV-1a 32 offset basis */
#define UL_HASH64_INIT 14695981039346656037ull  /* FNV-1a 64 offset basis */

/* Continue the 32-bit hash h (UL_HASH32_INIT to start) over n bytes, or over
 * the bytes of the NUL-terminated s.  Chain calls to hash several pieces. */
static inline uint32_t ul_hash32_add(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static inline uint32_t ul_hash32_add_str(uint32_t h, const char *s)
{
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return h;
}

static inline uint32_t ul_hash32_str(const char *s)
{
    return ul_hash32_add_str(UL_HASH32_INIT, s);
}

/* The same in 64 bits, for hash tables (fewer collisions in large ones). */
static inline uint64_t ul_hash_bytes(const void *p, size_t n)
{
    const unsigned char *b = p;
    uint64_t h = UL_HASH64_INIT;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static inline uint64_t ul_hash_str(const char *s)
{
    uint64_t h = UL_HASH64_INIT;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

#endif
