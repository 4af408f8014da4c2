/* sessions.h - one open BMC session per node, kept and reused across jobs.
 *
 * Opening an IPMI session costs several round trips and crypto, and BMCs
 * allow only a few sessions: reusing one per node is both faster and kinder.
 * Callers must hold the node's lock (the job engine's per-node exclusion)
 * between acquire and release, so a session is never used by two threads.
 *
 * A cached session is replaced when the node's driver, endpoint, credentials
 * or options change (compared by a hash, never by keeping the password
 * around), and closed when it sat idle longer than the BMC is likely to keep
 * it (most drop idle sessions after about a minute; a call on a dead session
 * would otherwise wait out a full timeout).
 *
 * Thread-safe; the internal lock is a leaf lock.
 */
#ifndef UL_BMC_SESSIONS_H
#define UL_BMC_SESSIONS_H

#include <stdbool.h>

#include "bmc/driver.h"
#include "core/node.h"

typedef struct bmc_sessions bmc_sessions;

/* cache_root (may be NULL): per-node driver caches go in cache_root/NODE. */
bmc_sessions *bmc_sessions_new(int idle_max_s, const char *cache_root);
/* Close every session (logging out) and free.  NULL-safe. */
void bmc_sessions_free(bmc_sessions *c);

/* Get node's session, opening one if needed.  With c NULL nothing is cached:
 * every acquire opens a session and every release closes it.  node must carry its password
 * (store_node_get with_secret).  On success *drv and *s are valid until
 * release; *reused tells whether it came from the cache. */
ul_err bmc_sessions_acquire(bmc_sessions *c, const struct ul_node *node, int timeout_ms,
                            const struct ul_driver **drv, struct ul_bmc_session **s, bool *reused,
                            ul_errmsg *em);

/* Give the session back.  healthy=false closes it (after an error that may
 * have left it unusable). */
void bmc_sessions_release(bmc_sessions *c, const char *node, const struct ul_driver *drv,
                          struct ul_bmc_session *s, bool healthy);

/* Number of cached sessions (for metrics). */
int bmc_sessions_count(bmc_sessions *c);

#endif
