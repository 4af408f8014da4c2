/* rrd_config.c - the [rrd] section's validator: what only the history
 * writer understands (the archive layout, the rrdcached address), checked
 * by `underlayd --check-config` as well as at start. */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "collectors/rrd.h"
#include "ul_config.h"

ul_err rrdw_config_check(const struct ul_config *cfg, ul_errmsg *em)
{
    if (!cfg->rrd_enabled)
        return UL_OK;
    if (cfg->rrd_archives && cfg->rrd_archives[0]) {
        struct rrdw_archives a;
        rrdw_archives_default(&a);
        ul_err rc = rrdw_archives_parse(&a, cfg->rrd_archives, em);
        if (rc != UL_OK) {
            ul_errmsg_prefix(em, "key 'rrd.archives'");
            return rc;
        }
    }
    const char *addr = cfg->rrd_rrdcached;
    if (!addr || !addr[0] || addr[0] == '/' || strncmp(addr, "unix:/", 6) == 0)
        return UL_OK;
    /* host:port or [v6]:port: a port from 1 to 65535 after the last colon. */
    const char *colon = strrchr(addr, ':');
    char *end = NULL;
    long port = colon ? strtol(colon + 1, &end, 10) : 0;
    if (!colon || colon == addr || !end || *end || port < 1 || port > 65535)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "key 'rrd.rrdcached': '%.200s' is not unix:/PATH, /PATH, HOST:PORT "
                             "or [V6]:PORT",
                             addr);
    return UL_OK;
}
