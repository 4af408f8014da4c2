/* rrd.h - sensor history in RRD files (librrd), optionally through rrdcached.
 *
 * One RRD per node and sensor: ROOT/NODE/KIND-NAME.rrd, one GAUGE data source
 * named "value", archives at raw, 5-minute, hourly and daily resolution
 * (struct rrdw_archives).  Sensor names are sanitized into file names; the
 * original name of every file is kept in ROOT/NODE/index.json, which is also
 * the list of sensors with history (a sensor that vanishes from the BMC keeps
 * its file and its index entry).  See docs/rrd.md for the layout, the size
 * budget and the rrdcached set-up.
 *
 * Modes.  rrdcached_addr NULL: librrd writes and reads the files directly.
 * "unix:/path" (or "/path") or "host:port": every write and read goes through
 * that rrdcached; files are named to it by absolute path (unix socket) or by
 * "NODE/FILE.rrd" relative to its -b base directory (TCP).
 *
 * Threading.  A handle may be used from any number of threads.  Locks, in the
 * order they are taken (never take an upper one while holding a lower one):
 *   1. node lock (one per node): its index, creation of its files, and its
 *      updates; held across that node's file I/O, so two batches for one node
 *      never interleave while other nodes proceed.
 *   2. rrdw.lock: the table of nodes.  Held only to find or add a node.
 *   3. rrdw.conn_lock: this handle's own rrdcached connection, used for
 *      every update (BATCH), create (CREATE) and fetch (FETCH) in rrdcached
 *      mode.  librrd's rrdc_* client is not used for these: it has no
 *      timeouts, cannot send BATCH, and is one connection per process.
 *   4. the process-wide librrd lock (static in rrd.c): rrd_graph_v is not
 *      reentrant in librrd 1.7 (and with --daemon it uses librrd's global
 *      rrdcached client), so every graph, and every direct-mode create, runs
 *      under it.  Direct-mode rrd_update_r and rrd_fetch_r are librrd's
 *      thread-safe entry points and run without it.
 * Every call blocks on file or socket I/O, never on a BMC.  Exchanges with
 * rrdcached time out after 10 s; after a failure to reach it, calls fail at
 * once (UL_ERR_UNREACHABLE) for 5 s instead of each waiting again.
 */
#ifndef UL_COLLECTORS_RRD_H
#define UL_COLLECTORS_RRD_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ul_error.h"

/* Consolidation functions, as bits of rrdw_level.cfs. */
#define RRDW_CF_AVERAGE (1u << 0)
#define RRDW_CF_MIN (1u << 1)
#define RRDW_CF_MAX (1u << 2)
#define RRDW_CF_LAST (1u << 3)

#define RRDW_MAX_LEVELS 8

/* One archive level: each row consolidates `steps` primary data points
 * (of rrdw_archives.step seconds each); `rows` rows are kept, once per CF. */
struct rrdw_level {
    unsigned long steps;
    unsigned long rows;
    unsigned cfs; /* RRDW_CF_* bits, at least one */
};

struct rrdw_archives {
    unsigned long step;      /* seconds per primary data point; default 60 */
    unsigned long heartbeat; /* seconds without an update before a value is
                                unknown; 0 means 3 * step */
    size_t nlevels;
    struct rrdw_level levels[RRDW_MAX_LEVELS];
};

/* The default: step 60 s; raw 1 day AVERAGE; 5-minute 1 week AVERAGE/MIN/MAX;
 * hourly 92 days AVERAGE/MIN/MAX; daily 731 days AVERAGE/MAX.  126,840 bytes
 * per sensor, 5.07 MB for a 40-sensor node. */
void rrdw_archives_default(struct rrdw_archives *a);

/* Check a layout: step 1..86400, heartbeat >= step, 1..RRDW_MAX_LEVELS
 * levels, each with steps >= 1, rows >= 2 and a known CF. */
ul_err rrdw_archives_check(const struct rrdw_archives *a, ul_errmsg *em);

/* Parse an operator's layout, e.g.
 *   "1m:1d:average 5m:1w:average,min,max 1h:92d:average,min,max 1d:731d:average,max"
 * Each level is RESOLUTION:RETENTION:CF[,CF...]; durations take s, m, h, d,
 * w or y (365 d) suffixes; RESOLUTION must be a multiple of step and
 * RETENTION of RESOLUTION.  a->step and a->heartbeat are kept; the levels are
 * replaced only when the whole spec is valid. */
ul_err rrdw_archives_parse(struct rrdw_archives *a, const char *spec, ul_errmsg *em);

/* Size in bytes of one sensor's RRD created with a (64-bit Linux librrd 1.x
 * layout):  bytes = 376 + 208 * R + 8 * sum(rows)  for R archives (one per
 * level and CF) with one data source.  0 when a is invalid. */
uint64_t rrdw_bytes_per_sensor(const struct rrdw_archives *a);

/* The [rrd] section's validator (ul_config_add_validator): rrd.archives
 * parses and rrd.rrdcached has an address's shape.  rrd_config.c. */
struct ul_config;
ul_err rrdw_config_check(const struct ul_config *cfg, ul_errmsg *em);

typedef struct rrdw rrdw;

/* Open the history store under root_dir (created if missing, mode 0755).
 * rrdcached_addr: NULL for direct librrd access, or "unix:/path", "/path",
 * "host:port", "[v6addr]:port".  a: NULL for rrdw_archives_default().  The
 * daemon is not contacted here: a daemon that is down shows up as
 * UL_ERR_UNREACHABLE on the first write.  Returns NULL (em set) on bad
 * arguments.  Free with rrdw_free. */
rrdw *rrdw_new(const char *root_dir, const char *rrdcached_addr, const struct rrdw_archives *a,
               ul_errmsg *em);

/* NULL-safe.  No call on w may be running.  Flushes coalesced readings. */
void rrdw_free(rrdw *w);

/* Coalescing, direct mode only (ignored with rrdcached, which does the same
 * with a journal).  seconds > 0: each sensor's readings are kept in memory
 * and written up to 32 at a time in one rrd_update_r call, at the latest
 * when the oldest is `seconds` old; one file open then serves many sweeps
 * (librrd's open/mmap/munmap per update costs more CPU than the sweep
 * itself: docs/rrd.md).  Every read (rrdw_fetch, rrdw_graph_*, rrdw_list)
 * writes the node's buffered readings first, and rrdw_flush/rrdw_free
 * write them all; a crash loses at most `seconds` of history.  A failed
 * deferred write is reported by the rrdw_update_batch call that triggered
 * it, and its readings are dropped.  0 (the default): every reading is
 * written at once.  Call before the first update; not thread-safe. */
void rrdw_set_coalesce(rrdw *w, unsigned seconds);

/* Write every buffered reading now.  Blocks on file I/O; thread-safe. */
ul_err rrdw_flush(rrdw *w, ul_errmsg *em);

/* Record one reading.  node: a node name ([A-Za-z0-9._-], starting with an
 * alphanumeric); sensor: the name as the BMC gives it (1..255 bytes); kind:
 * "temperature", "fan", ... ([a-z][a-z0-9_]*, at most 31).  The file is
 * created on first use, with its start just before t.  value must be finite.
 * A time not after the sensor's last update is not an error: the reading is
 * dropped with a debug log (librrd refuses it).  Errors: UL_ERR_INVALID (bad
 * argument), UL_ERR_IO (file system, librrd), UL_ERR_UNREACHABLE / _TIMEOUT
 * (rrdcached, transient). */
ul_err rrdw_update(rrdw *w, const char *node, const char *sensor, const char *kind, time_t t,
                   double value, ul_errmsg *em);

struct rrdw_sample {
    const char *sensor;
    const char *kind;
    double value;
};

/* Record one sweep of a node: n readings at time t.  Every valid sample is
 * written even when others are refused; with rrdcached all updates travel in
 * one BATCH request (one round trip).  *written (may be NULL) receives how
 * many readings were stored.  Returns UL_OK when every sample was stored or
 * dropped as not newer; otherwise the first failure's code, with em naming
 * how many failed and the first one's reason. */
ul_err rrdw_update_batch(rrdw *w, const char *node, time_t t, const struct rrdw_sample *s, size_t n,
                         size_t *written, ul_errmsg *em);

/* A time series of one sensor over [start, end] (epoch seconds).  resolution:
 * seconds per point wanted (0: the finest archive that covers the range);
 * coarser archives are chosen, and points are consolidated further when no
 * archive is coarse enough, so the step may be larger than asked; at most
 * RRDW_FETCH_MAX_POINTS points are returned; the range may span at most 20
 * years.  cf: "AVERAGE" (NULL), "MIN", "MAX" or "LAST" (any case).  *out
 * (a new object, the caller puts it):
 *   {"node","sensor","kind","cf","step","start","end",
 *    "points":[[t, value|null], ...]}
 * where each t is the end of its step.  With rrdcached, the daemon flushes
 * the file and serves the data (FETCH).  Errors: UL_ERR_NOT_FOUND (no history
 * for that sensor), UL_ERR_INVALID, UL_ERR_IO, UL_ERR_UNREACHABLE,
 * UL_ERR_TIMEOUT.  Blocks on file or socket I/O; safe from any thread. */
#define RRDW_FETCH_MAX_POINTS 20000
ul_err rrdw_fetch(rrdw *w, const char *node, const char *sensor, const char *kind, time_t start,
                  time_t end, unsigned long resolution, const char *cf, json_object **out,
                  ul_errmsg *em);

/* One line of a graph. */
struct rrdw_series {
    const char *sensor;
    const char *kind;
    const char *cf; /* NULL: AVERAGE */
};

#define RRDW_GRAPH_MAX_SERIES 32

/* Render a PNG of 1..RRDW_GRAPH_MAX_SERIES series of node over [start, end],
 * in the dashboard's dark theme: one line per series in distinct colours,
 * the sensor name with its min/avg/max/last in the legend, the kind's unit
 * on the axis when all series share a kind (vlabel overrides).  width and
 * height are the plot area in pixels (0: 800 x 250; otherwise 100..4000 x
 * 50..2000); the image is larger by its margins and legend.  The start is
 * moved forward to the oldest history of the series shown
 * (rrdw_graph_start), so a new node shows its hour rather than a sliver of
 * a day.  title and vlabel may be NULL.  *png (caller frees) and
 * *len receive the image.  Serialized process-wide (librrd's rrd_graph is
 * not reentrant); with rrdcached, data is read through the daemon. */
ul_err rrdw_graph_png(rrdw *w, const char *node, const struct rrdw_series *series, size_t n,
                      time_t start, time_t end, const char *title, const char *vlabel,
                      unsigned width, unsigned height, unsigned char **png, size_t *len,
                      ul_errmsg *em);

/* The range a graph shows: [start, end] with start moved forward to
 * oldest (the creation time of the oldest series shown; <= 0: unknown, no
 * change), but never to less than GRAPH_MIN_SPAN before end, and never
 * narrowing a range that is already that short.  Pure. */
#define GRAPH_MIN_SPAN 3600
time_t rrdw_graph_start(time_t start, time_t end, int64_t oldest);

/* The unit of a kind ("°C", "RPM", "V", "A", "W"), NULL when unknown. */
const char *rrdw_kind_unit(const char *kind);

/* The colour ("rrggbb") of the i-th line of a graph. */
const char *rrdw_graph_color(size_t i);

/* One line of a graph, resolved: its RRD file and legend name. */
struct rrdw_graph_line {
    const char *target; /* the RRD file (or rrdcached name) */
    const char *name;   /* legend */
    const char *kind;
    const char *cf; /* NULL: AVERAGE */
};

/* The rrd_graph_v argument vector for lines over [start, end] (no range
 * adjustment here), sized, themed and with the legend described above;
 * daemon may be NULL.  Pure: validates like rrdw_graph_png.  Free with
 * rrdw_graph_args_free(*argv, *argc). */
ul_err rrdw_graph_args(const struct rrdw_graph_line *lines, size_t n, time_t start, time_t end,
                       const char *title, const char *vlabel, unsigned width, unsigned height,
                       const char *daemon, char ***argv, int *argc, ul_errmsg *em);
void rrdw_graph_args_free(char **argv, int argc);

/* Every sensor of one kind of node ("temperature", "fan", "power"), in the
 * order they first appeared (at most RRDW_GRAPH_MAX_SERIES).  NOT_FOUND when
 * the node has no history of that kind. */
ul_err rrdw_graph_kind_png(rrdw *w, const char *node, const char *kind, time_t start, time_t end,
                           const char *title, const char *vlabel, unsigned width, unsigned height,
                           unsigned char **png, size_t *len, ul_errmsg *em);

/* The sensors of node that have history, including vanished ones, in the
 * order they first appeared:
 *   {"node","sensors":[{"sensor","kind","file","created"[,"recovered":true]}]}
 * "recovered" marks entries rebuilt from file names after index.json was
 * lost (their sensor name is the sanitized one).  A node without history
 * gives an empty list.  *out is a new object (caller puts). */
ul_err rrdw_list(rrdw *w, const char *node, json_object **out, ul_errmsg *em);

/* The file name (no directory) a sensor's history is, or would be, stored
 * in: "KIND-NAME.rrd", with "-XXXXXXXX" (hash of the original name) before
 * ".rrd" when another name of the node already sanitizes the same.  Into buf
 * (at least RRDW_FILE_MAX bytes).  Mostly for tests and tools. */
#define RRDW_FILE_MAX 128
ul_err rrdw_file_name(rrdw *w, const char *node, const char *sensor, const char *kind, char *buf,
                      size_t len, ul_errmsg *em);

/* Sanitize a sensor name into a file-name fragment: lower case, [a-z0-9_-]
 * only (others become '_'), runs of '_' collapsed, leading and trailing '_'
 * trimmed, at most RRDW_NAME_MAX bytes; "unnamed" when nothing is left.
 * buf must hold RRDW_NAME_MAX + 1 bytes.  Returns buf. */
#define RRDW_NAME_MAX 48
char *rrdw_sanitize(const char *name, char *buf);

#endif
