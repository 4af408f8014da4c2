#include "config.h"

#include "history.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "log.h"
#include "xalloc.h"

/* Say so once when history writes start failing (a full disk, rrdcached
 * down), and once when they recover, rather than once per node per sweep. */
static atomic_int failing;

void history_deliver(void *arg, const struct stream_rec *r)
{
    rrdw *w = arg;
    if (r->kind != STREAM_SWEEP)
        return;
    const struct ul_sensor_list *s = &r->u.sweep.sensors;
    const char *node = r->node;
    struct rrdw_sample *samples = xcalloc(s->count ? s->count : 1, sizeof(*samples));
    size_t n = 0;
    for (size_t i = 0; i < s->count; i++) {
        const struct ul_sensor *x = &s->items[i];
        if (!x->has_value)
            continue; /* discrete states live in the event log and /metrics */
        samples[n].sensor = x->name;
        samples[n].kind = bmc_sensor_kind_name(x->kind);
        samples[n].value = x->value;
        n++;
    }
    ul_errmsg em;
    size_t written = 0;
    ul_err rc = n ? rrdw_update_batch(w, node, (time_t)r->time, samples, n, &written, &em) : UL_OK;
    if (rc != UL_OK) {
        if (atomic_exchange(&failing, 1) == 0)
            ul_warn("history: node %s: %s (further failures logged at debug level)", node,
                    em.text);
        else
            ul_debug("history: node %s: %s", node, em.text);
    } else if (atomic_exchange(&failing, 0) == 1) {
        ul_info("history: writes succeed again");
    }
    free(samples);
}

ul_err history_add_sink(stream *s, rrdw *w, ul_errmsg *em)
{
    struct stream_sink_def d = {.name = "rrd_history",
                                .kinds = STREAM_SWEEP,
                                .queue_len = HISTORY_QUEUE_LEN,
                                .deliver = history_deliver,
                                .arg = w};
    return stream_add_sink(s, &d, em);
}
