/* rrd.c - sensor history in RRD files: archive layouts, file naming and the
 * per-node index, writes (direct librrd, or rrdcached BATCH), fetch, graphs.
 *
 * The contract, the modes and the lock order are in rrd.h; the on-disk layout
 * and the size budget in docs/rrd.md.
 */
#include "config.h"

#include "collectors/rrd.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <rrd.h>
#include <rrd_client.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hash.h"
#include "jsonv.h"
#include "log.h"
#include "ultime.h"
#include "xalloc.h"

/* librrd's process-global state: rrd_graph_v (not reentrant: it keeps parser
 * and font state in globals, and with --daemon uses librrd's one global
 * rrdcached client) and rrd_create_r2 (rare; kept here to be safe).  Lock 4
 * in the order of rrd.h: taken last, held only around those calls.  Updates,
 * creates and fetches through rrdcached use this handle's own connection
 * instead of librrd's rrdc_* client, which has no timeouts, cannot BATCH,
 * and is one connection for the whole process. */
static pthread_mutex_t lib_lock = PTHREAD_MUTEX_INITIALIZER;

#define DS_NAME "value"
#define INDEX_NAME "index.json"
#define INDEX_MAX_BYTES (16u << 20)
#define SENSOR_MAX 255
#define KIND_MAX 31
#define NODE_MAX 253
#define ROOT_MAX 1024
#define ADDR_MAX 255
#define BATCH_MAX 4096
/* Readings before 2000 come from a clock that was never set; rrdcached also
 * refuses to create a file that starts before 1980. */
#define TIME_MIN 946684800
/* Longest range a fetch or graph covers: bounds librrd's allocations. */
#define RANGE_MAX ((time_t)20 * 366 * 86400)
/* Bound for every exchange with rrdcached (librrd's own rrdc_* calls have no
 * timeout at all: a hung daemon would hang them for ever). */
#define DAEMON_TIMEOUT_MS 10000
/* After the daemon could not be reached, fail at once for this long. */
#define DAEMON_RETRY_MS 5000

/* ------------------------------------------------------------------------ */
/* archive layouts                                                           */

static const struct {
    unsigned bit;
    const char *name;
} cf_table[] = {
    {RRDW_CF_AVERAGE, "AVERAGE"},
    {RRDW_CF_MIN, "MIN"},
    {RRDW_CF_MAX, "MAX"},
    {RRDW_CF_LAST, "LAST"},
};
#define NCF (sizeof cf_table / sizeof cf_table[0])
#define CF_ALL (RRDW_CF_AVERAGE | RRDW_CF_MIN | RRDW_CF_MAX | RRDW_CF_LAST)

void rrdw_archives_default(struct rrdw_archives *a)
{
    const unsigned amm = RRDW_CF_AVERAGE | RRDW_CF_MIN | RRDW_CF_MAX;
    memset(a, 0, sizeof *a);
    a->step = 60;
    a->heartbeat = 0;
    a->nlevels = 4;
    a->levels[0] = (struct rrdw_level){1, 1440, RRDW_CF_AVERAGE}; /* 1 day raw */
    a->levels[1] = (struct rrdw_level){5, 2016, amm};             /* 1 week, 5 min */
    a->levels[2] = (struct rrdw_level){60, 2208, amm};            /* 92 days, 1 h */
    a->levels[3] = (struct rrdw_level){1440, 731, RRDW_CF_AVERAGE | RRDW_CF_MAX}; /* 2 years, 1 d */
}

static unsigned popcount_cf(unsigned cfs)
{
    unsigned n = 0;
    for (size_t i = 0; i < NCF; i++)
        n += (cfs & cf_table[i].bit) != 0;
    return n;
}

/* The sizes of librrd's on-disk structures (rrd_format.h, LP64): stat_head
 * 128, live_head 16; per data source ds_def 120 + pdp_prep 112; per archive
 * rra_def 120 + rra_ptr 8 + cdp_prep 80 per data source; 8 bytes per row and
 * data source.  Checked against a created file in tests/unit/test_rrd.c. */
#define RRD_HDR_FIXED (128 + 16 + 120 + 112) /* one data source */
#define RRD_HDR_PER_RRA (120 + 8 + 80)

ul_err rrdw_archives_check(const struct rrdw_archives *a, ul_errmsg *em)
{
    if (!a)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no archive layout");
    if (a->step < 1 || a->step > 86400)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: step %lu s is outside 1..86400", a->step);
    if (a->heartbeat != 0 && (a->heartbeat < a->step || a->heartbeat > 10 * 86400UL))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: heartbeat %lu s must be at least the step (%lu s) and at most "
                             "10 days",
                             a->heartbeat, a->step);
    if (a->nlevels < 1 || a->nlevels > RRDW_MAX_LEVELS)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: %zu archive levels (1..%d allowed)",
                             a->nlevels, RRDW_MAX_LEVELS);
    uint64_t rows = 0;
    for (size_t i = 0; i < a->nlevels; i++) {
        const struct rrdw_level *l = &a->levels[i];
        if (l->steps < 1 || l->steps > 100000000UL / a->step)
            return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: level %zu: %lu steps per row", i + 1,
                                 l->steps);
        if (l->rows < 2 || l->rows > 10000000UL)
            return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: level %zu: %lu rows (2..10000000)",
                                 i + 1, l->rows);
        if (l->cfs == 0 || (l->cfs & ~CF_ALL))
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: level %zu: consolidation functions must be some of "
                                 "AVERAGE, MIN, MAX, LAST",
                                 i + 1);
        rows += (uint64_t)l->rows * popcount_cf(l->cfs);
    }
    if (rows * 8 > (256u << 20))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: %llu rows would make every sensor's file larger than 256 MB",
                             (unsigned long long)rows);
    return UL_OK;
}

uint64_t rrdw_bytes_per_sensor(const struct rrdw_archives *a)
{
    if (rrdw_archives_check(a, NULL) != UL_OK)
        return 0;
    uint64_t narch = 0, rows = 0;
    for (size_t i = 0; i < a->nlevels; i++) {
        unsigned c = popcount_cf(a->levels[i].cfs);
        narch += c;
        rows += (uint64_t)c * a->levels[i].rows;
    }
    return RRD_HDR_FIXED + RRD_HDR_PER_RRA * narch + 8 * rows;
}

/* "90d", "5m", "300" (seconds) -> seconds; 0 when malformed. */
static unsigned long parse_duration(const char *s, size_t len)
{
    unsigned long v = 0;
    size_t i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        if (v > 100000000UL)
            return 0;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (i == 0)
        return 0;
    unsigned long mul = 1;
    if (i < len) {
        if (i + 1 != len)
            return 0;
        switch (s[i]) {
        case 's':
            mul = 1;
            break;
        case 'm':
            mul = 60;
            break;
        case 'h':
            mul = 3600;
            break;
        case 'd':
            mul = 86400;
            break;
        case 'w':
            mul = 7 * 86400;
            break;
        case 'y':
            mul = 365 * 86400;
            break;
        default:
            return 0;
        }
    }
    return v * mul;
}

static unsigned parse_cfs(const char *s, size_t len)
{
    unsigned cfs = 0;
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && s[j] != ',' && s[j] != '+')
            j++;
        unsigned bit = 0;
        for (size_t k = 0; k < NCF; k++)
            if (strlen(cf_table[k].name) == j - i &&
                strncasecmp(s + i, cf_table[k].name, j - i) == 0)
                bit = cf_table[k].bit;
        if (!bit)
            return 0;
        cfs |= bit;
        i = j + 1;
    }
    return cfs;
}

ul_err rrdw_archives_parse(struct rrdw_archives *a, const char *spec, ul_errmsg *em)
{
    if (!a || !spec)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no archive spec");
    struct rrdw_archives out = *a;
    out.nlevels = 0;
    const char *p = spec;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == ';')
            p++;
        if (!*p)
            break;
        const char *end = p;
        while (*end && *end != ' ' && *end != '\t' && *end != ';')
            end++;
        size_t len = (size_t)(end - p);
        const char *c1 = memchr(p, ':', len);
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
        if (!c2)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: archive level '%.*s' is not RESOLUTION:RETENTION:CFS",
                                 (int)len, p);
        if (out.nlevels == RRDW_MAX_LEVELS)
            return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: more than %d archive levels",
                                 RRDW_MAX_LEVELS);
        unsigned long res = parse_duration(p, (size_t)(c1 - p));
        unsigned long ret = parse_duration(c1 + 1, (size_t)(c2 - c1 - 1));
        unsigned cfs = parse_cfs(c2 + 1, (size_t)(end - c2 - 1));
        if (!res || !ret)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: archive level '%.*s': bad duration (use e.g. 5m, 1h, 7d)",
                                 (int)len, p);
        if (!cfs)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: archive level '%.*s': consolidation functions must be "
                                 "some of average, min, max, last",
                                 (int)len, p);
        if (out.step == 0 || res % out.step != 0)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: archive level '%.*s': resolution is not a multiple of the "
                                 "step (%lu s)",
                                 (int)len, p, out.step);
        if (ret % res != 0 || ret / res < 2)
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: archive level '%.*s': retention must be a multiple of the "
                                 "resolution, at least twice it",
                                 (int)len, p);
        out.levels[out.nlevels++] = (struct rrdw_level){res / out.step, ret / res, cfs};
        p = end;
    }
    ul_err rc = rrdw_archives_check(&out, em);
    if (rc == UL_OK)
        *a = out;
    return rc;
}

/* "DS:value:GAUGE:HB:U:U", then one "RRA:CF:0.5:STEPS:ROWS" per level and CF. */
static char **create_args(const struct rrdw_archives *a, int *argc)
{
    size_t n = 1;
    for (size_t i = 0; i < a->nlevels; i++)
        n += popcount_cf(a->levels[i].cfs);
    char **argv = xcalloc(n + 1, sizeof *argv);
    unsigned long hb = a->heartbeat ? a->heartbeat : 3 * a->step;
    size_t k = 0;
    argv[k++] = xasprintf("DS:%s:GAUGE:%lu:U:U", DS_NAME, hb);
    for (size_t i = 0; i < a->nlevels; i++)
        for (size_t c = 0; c < NCF; c++)
            if (a->levels[i].cfs & cf_table[c].bit)
                argv[k++] = xasprintf("RRA:%s:0.5:%lu:%lu", cf_table[c].name, a->levels[i].steps,
                                      a->levels[i].rows);
    *argc = (int)k;
    return argv;
}

/* ------------------------------------------------------------------------ */
/* names                                                                     */

/* Same rule as node_name_valid() in core/node.c (kept local so this module
 * needs only common/): 1-253 of [A-Za-z0-9._-], starting alphanumeric; such
 * a name is a safe directory name. */
static bool node_ok(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > NODE_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (i == 0 ? !alnum : !(alnum || c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

/* [a-z][a-z0-9_]{0,30}: it starts every file name, and '-' separates it. */
static bool kind_ok(const char *s)
{
    size_t len = s ? strlen(s) : 0;
    if (len == 0 || len > KIND_MAX || !(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    return true;
}

static ul_err check_node(const char *node, ul_errmsg *em)
{
    if (!node || !*node)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: empty node name");
    if (!node_ok(node))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: invalid node name '%.64s' (1-253 of A-Z a-z 0-9 . _ -, "
                             "starting with a letter or digit)",
                             node);
    return UL_OK;
}

static ul_err check_sensor(const char *node, const char *sensor, const char *kind, ul_errmsg *em)
{
    if (!sensor || !*sensor)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: node %s: empty sensor name", node);
    if (strlen(sensor) > SENSOR_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: node %s: sensor name '%.40s...' longer than %d bytes", node,
                             sensor, SENSOR_MAX);
    if (!kind || !*kind)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: node %s: sensor '%s': empty kind", node,
                             sensor);
    if (!kind_ok(kind))
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: node %s: sensor '%s': invalid kind '%.40s' (lower-case "
                             "letters, digits and '_', at most %d)",
                             node, sensor, kind, KIND_MAX);
    return UL_OK;
}

char *rrdw_sanitize(const char *name, char *buf)
{
    size_t n = 0;
    bool gap = false; /* an '_' (or a replaced byte) waits to be written */
    for (const unsigned char *p = (const unsigned char *)(name ? name : ""); *p; p++) {
        unsigned char c = *p;
        if (c >= 'A' && c <= 'Z')
            c = (unsigned char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) {
            gap = true;
            continue;
        }
        size_t need = (gap && n > 0) ? 2 : 1;
        if (n + need > RRDW_NAME_MAX)
            break;
        if (gap && n > 0)
            buf[n++] = '_';
        gap = false;
        buf[n++] = (char)c;
    }
    if (n == 0) {
        strcpy(buf, "unnamed");
        return buf;
    }
    buf[n] = '\0';
    return buf;
}

/* KIND-[a-z0-9_-]+.rrd, shorter than RRDW_FILE_MAX. */
static bool file_ok(const char *kind, const char *file)
{
    size_t klen = strlen(kind), len = strlen(file);
    if (len >= RRDW_FILE_MAX || len < klen + 6 || strncmp(file, kind, klen) != 0 ||
        file[klen] != '-' || strcmp(file + len - 4, ".rrd") != 0)
        return false;
    for (size_t i = klen + 1; i < len - 4; i++) {
        char c = file[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------------ */
/* the handle, nodes and their index                                        */

struct entry {
    char *name; /* as the BMC gives it; the sanitized one when recovered */
    char *kind;
    char *file; /* base name in ROOT/NODE */
    int64_t created;
    time_t last; /* last time this process stored; 0 when unknown */
    bool recovered;
    /* Coalesced readings not yet written (direct mode with coalescing):
     * strictly increasing times, written in one rrd_update_r call. */
    time_t *pt;
    double *pv;
    size_t pn;
};

struct node {
    struct node *next; /* hash chain, under rrdw.lock */
    char *name;
    pthread_mutex_t lock; /* lock 1: everything below */
    bool loaded;
    bool dirty; /* entries not yet in index.json */
    struct entry *e;
    size_t n, cap;
    int64_t pend_since; /* monotonic ms of the oldest coalesced reading; 0: none */
};

struct rrdw {
    char *root;   /* absolute, no trailing '/' */
    char *daemon; /* NULL: direct librrd */
    bool daemon_unix;
    char *daemon_path; /* unix socket path */
    struct rrdw_archives a;
    char **cargv; /* DS and RRA definitions for create */
    int cargc;
    /* Coalescing (direct mode): 0 writes every reading at once. */
    unsigned coalesce_s;
    _Atomic int64_t next_age_check; /* monotonic ms: look for stale buffers */

    pthread_mutex_t lock; /* lock 2: the node table */
    struct node **buckets;
    size_t nbuckets, nnodes;

    pthread_mutex_t conn_lock; /* lock 3: everything below */
    int fd;
    char inbuf[8192];
    size_t inlen;
    bool down;          /* the daemon was unreachable at the last attempt */
    int64_t down_until; /* fail at once until then (monotonic ms) */
    char down_msg[UL_ERRMSG_LEN];
};

static char *node_dir(const rrdw *w, const char *node)
{
    return xasprintf("%s/%s", w->root, node);
}

/* The name librrd (direct) or rrdcached should use for a file: absolute
 * locally and over a unix socket; NODE/FILE, relative to the daemon's -b
 * base directory, over TCP (rrdcached refuses absolute names there). */
static char *file_target(const rrdw *w, const char *node, const char *file)
{
    if (w->daemon && !w->daemon_unix)
        return xasprintf("%s/%s", node, file);
    return xasprintf("%s/%s/%s", w->root, node, file);
}

static ul_err ensure_dir(const char *dir, ul_errmsg *em)
{
    if (mkdir(dir, 0755) == 0 || errno == EEXIST)
        return UL_OK;
    return ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot create directory %s: %s", dir,
                         strerror(errno));
}

static ul_err mkdir_p(const char *path, ul_errmsg *em)
{
    char *p = xstrdup(path);
    ul_err rc = UL_OK;
    for (char *s = p + 1; rc == UL_OK; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char saved = *s;
        *s = '\0';
        rc = ensure_dir(p, em);
        *s = saved;
        if (!saved)
            break;
    }
    free(p);
    return rc;
}

static struct node *node_lookup(rrdw *w, const char *name, bool create)
{
    pthread_mutex_lock(&w->lock);
    size_t b = ul_hash32_str(name) & (w->nbuckets - 1);
    struct node *nd = w->buckets[b];
    while (nd && strcmp(nd->name, name) != 0)
        nd = nd->next;
    if (!nd && create) {
        if (w->nnodes >= 2 * w->nbuckets) {
            size_t nb = w->nbuckets * 4;
            struct node **tab = xcalloc(nb, sizeof *tab);
            for (size_t i = 0; i < w->nbuckets; i++)
                while (w->buckets[i]) {
                    struct node *x = w->buckets[i];
                    w->buckets[i] = x->next;
                    size_t j = ul_hash32_str(x->name) & (nb - 1);
                    x->next = tab[j];
                    tab[j] = x;
                }
            free(w->buckets);
            w->buckets = tab;
            w->nbuckets = nb;
            b = ul_hash32_str(name) & (nb - 1);
        }
        nd = xcalloc(1, sizeof *nd);
        nd->name = xstrdup(name);
        pthread_mutex_init(&nd->lock, NULL);
        nd->next = w->buckets[b];
        w->buckets[b] = nd;
        w->nnodes++;
    }
    pthread_mutex_unlock(&w->lock);
    return nd;
}

/* A node for reading: known, or with a directory under ROOT.  Reads of names
 * that never had history do not grow the table (the API passes them through). */
static struct node *node_for_read(rrdw *w, const char *name)
{
    struct node *nd = node_lookup(w, name, false);
    if (nd)
        return nd;
    char *dir = node_dir(w, name);
    struct stat st;
    bool exists = stat(dir, &st) == 0 && S_ISDIR(st.st_mode);
    free(dir);
    return exists ? node_lookup(w, name, true) : NULL;
}

static void entry_free(struct entry *e)
{
    free(e->pt);
    free(e->pv);
    free(e->name);
    free(e->kind);
    free(e->file);
}

static size_t entry_add(struct node *nd, const char *name, const char *kind, const char *file,
                        int64_t created, bool recovered)
{
    if (nd->n == nd->cap) {
        nd->cap = nd->cap ? nd->cap * 2 : 16;
        nd->e = xrealloc(nd->e, nd->cap * sizeof *nd->e);
    }
    struct entry *e = &nd->e[nd->n];
    memset(e, 0, sizeof *e);
    e->name = xstrdup(name);
    e->kind = xstrdup(kind);
    e->file = xstrdup(file);
    e->created = created;
    e->last = 0;
    e->recovered = recovered;
    return nd->n++;
}

static long entry_find(const struct node *nd, const char *kind, const char *name)
{
    for (size_t i = 0; i < nd->n; i++)
        if (strcmp(nd->e[i].name, name) == 0 && strcmp(nd->e[i].kind, kind) == 0)
            return (long)i;
    return -1;
}

static bool file_taken(const struct node *nd, const char *file)
{
    for (size_t i = 0; i < nd->n; i++)
        if (strcmp(nd->e[i].file, file) == 0)
            return true;
    return false;
}

/* KIND-SANITIZED.rrd when free in this node; otherwise KIND-SANITIZED-HASH.rrd
 * (FNV-1a of the original name), with a counter in the unlikely case that is
 * taken too.  Two names never share a file. */
static void choose_file(const struct node *nd, const char *kind, const char *name,
                        char out[RRDW_FILE_MAX])
{
    char base[RRDW_NAME_MAX + 1];
    rrdw_sanitize(name, base);
    snprintf(out, RRDW_FILE_MAX, "%s-%s.rrd", kind, base);
    if (!file_taken(nd, out))
        return;
    uint32_t h = ul_hash32_str(name);
    snprintf(out, RRDW_FILE_MAX, "%s-%s-%08x.rrd", kind, base, h);
    for (unsigned i = 2; file_taken(nd, out); i++)
        snprintf(out, RRDW_FILE_MAX, "%s-%s-%08x-%u.rrd", kind, base, h, i);
}

static int cmp_entry_file(const void *a, const void *b)
{
    return strcmp(((const struct entry *)a)->file, ((const struct entry *)b)->file);
}

/* index.json is missing or unreadable: rebuild the entries from the file
 * names.  The original sensor names are lost; the sanitized name stands in,
 * so a reading under the original name starts a new file rather than mixing
 * into one that may have belonged to another name. */
static void recover_from_dir(rrdw *w, struct node *nd)
{
    char *dir = node_dir(w, nd->name);
    DIR *d = opendir(dir);
    if (!d) {
        free(dir);
        return;
    }
    size_t first = nd->n;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *f = de->d_name;
        const char *dash = strchr(f, '-');
        if (!dash || (size_t)(dash - f) > KIND_MAX)
            continue;
        char kind[KIND_MAX + 1];
        memcpy(kind, f, (size_t)(dash - f));
        kind[dash - f] = '\0';
        if (!kind_ok(kind) || !file_ok(kind, f) || file_taken(nd, f))
            continue;
        char *name = xstrndup(dash + 1, strlen(dash + 1) - 4);
        entry_add(nd, name, kind, f, 0, true);
        free(name);
    }
    closedir(d);
    if (nd->n > first) {
        qsort(nd->e + first, nd->n - first, sizeof *nd->e, cmp_entry_file);
        ul_warn("rrd: node %s: %s missing or unreadable; recovered %zu sensor files by name "
                "(original sensor names are lost; new readings under them start new files)",
                nd->name, INDEX_NAME, nd->n - first);
        nd->dirty = true;
    }
    free(dir);
}

/* Read at most max bytes of path; 0 or an errno (EFBIG when larger). */
static int read_file(const char *path, size_t max, char **buf, size_t *len)
{
    *buf = NULL;
    *len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno;
    struct stat st;
    if (fstat(fd, &st) != 0) {
        int e = errno;
        close(fd);
        return e;
    }
    if (st.st_size < 0 || (size_t)st.st_size > max) {
        close(fd);
        return EFBIG;
    }
    size_t cap = (size_t)st.st_size + 1, n = 0;
    char *b = xmalloc(cap);
    for (;;) {
        ssize_t r = read(fd, b + n, cap - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            int e = errno;
            free(b);
            close(fd);
            return e;
        }
        if (r == 0 || n + (size_t)r == cap - 1) {
            n += (size_t)r;
            break;
        }
        n += (size_t)r;
    }
    close(fd);
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

static bool parse_index(struct node *nd, const char *buf, size_t len, ul_errmsg *em)
{
    json_object *root = NULL;
    if (jv_parse(buf, len, 8, &root, em) != UL_OK)
        return false;
    json_object *sensors = NULL;
    if (!json_object_is_type(root, json_type_object) ||
        !json_object_object_get_ex(root, "sensors", &sensors) ||
        !json_object_is_type(sensors, json_type_array)) {
        ul_errmsg_set(em, UL_ERR_INVALID, "no \"sensors\" array");
        json_object_put(root);
        return false;
    }
    size_t n = json_object_array_length(sensors);
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_array_get_idx(sensors, i);
        const char *name = jv_str(o, "sensor"), *kind = jv_str(o, "kind");
        const char *file = jv_str(o, "file");
        if (!name || !*name || strlen(name) > SENSOR_MAX || !kind || !kind_ok(kind) || !file ||
            !file_ok(kind, file) || entry_find(nd, kind, name) >= 0 || file_taken(nd, file)) {
            ul_warn("rrd: node %s: %s: skipping malformed or duplicate entry %zu", nd->name,
                    INDEX_NAME, i);
            continue;
        }
        json_object *v = NULL;
        int64_t created =
            json_object_object_get_ex(o, "created", &v) ? json_object_get_int64(v) : 0;
        bool recovered =
            json_object_object_get_ex(o, "recovered", &v) && json_object_get_boolean(v);
        entry_add(nd, name, kind, file, created, recovered);
    }
    json_object_put(root);
    return true;
}

static json_object *entry_json(const struct entry *e)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "sensor", json_object_new_string(e->name));
    json_object_object_add(o, "kind", json_object_new_string(e->kind));
    json_object_object_add(o, "file", json_object_new_string(e->file));
    if (e->created)
        json_object_object_add(o, "created", json_object_new_int64(e->created));
    if (e->recovered)
        json_object_object_add(o, "recovered", json_object_new_boolean(1));
    return o;
}

/* Crash-safe: temp file, fsync, rename, fsync of the directory. */
static ul_err index_save(rrdw *w, struct node *nd, ul_errmsg *em)
{
    json_object *root = json_object_new_object();
    json_object_object_add(root, "version", json_object_new_int(1));
    json_object_object_add(root, "node", json_object_new_string(nd->name));
    json_object *arr = json_object_new_array_ext((int)nd->n);
    for (size_t i = 0; i < nd->n; i++)
        json_object_array_add(arr, entry_json(&nd->e[i]));
    json_object_object_add(root, "sensors", arr);
    const char *text = json_object_to_json_string_ext(root, JSON_C_TO_STRING_PRETTY |
                                                                JSON_C_TO_STRING_NOSLASHESCAPE);
    char *dir = node_dir(w, nd->name);
    char *tmp = xasprintf("%s/%s.tmp", dir, INDEX_NAME);
    char *path = xasprintf("%s/%s", dir, INDEX_NAME);
    ul_err rc = ensure_dir(dir, em);
    int fd = -1, dfd = -1;
    if (rc != UL_OK)
        goto out;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    size_t len = strlen(text), off = 0;
    while (off < len) {
        ssize_t r = write(fd, text + off, len - off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot write %s: %s", tmp, strerror(errno));
            goto out;
        }
        off += (size_t)r;
    }
    if (write(fd, "\n", 1) != 1 || fsync(fd) != 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot write %s: %s", tmp, strerror(errno));
        goto out;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot rename %s: %s", tmp, strerror(errno));
        goto out;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0)
        fsync(dfd);
    nd->dirty = false;
out:
    if (fd >= 0) {
        close(fd);
        unlink(tmp);
    }
    if (dfd >= 0)
        close(dfd);
    free(dir);
    free(tmp);
    free(path);
    json_object_put(root);
    return rc;
}

/* Load a node's index once (node lock held). */
static ul_err node_load(rrdw *w, struct node *nd, ul_errmsg *em)
{
    if (nd->loaded)
        return UL_OK;
    char *path = xasprintf("%s/%s/%s", w->root, nd->name, INDEX_NAME);
    char *buf = NULL;
    size_t len = 0;
    int err = read_file(path, INDEX_MAX_BYTES, &buf, &len);
    ul_err rc = UL_OK;
    if (err == ENOENT) {
        recover_from_dir(w, nd);
    } else if (err != 0) {
        rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot read %s: %s", path,
                           err == EFBIG ? "larger than 16 MB" : strerror(err));
        goto out;
    } else {
        ul_errmsg perr;
        if (!parse_index(nd, buf, len, &perr)) {
            /* Keep the bad file for a human; rebuild from the file names. */
            char *bad = xasprintf("%s.corrupt", path);
            ul_error("rrd: node %s: %s is malformed (%s); moved to %s", nd->name, path, perr.text,
                     bad);
            if (rename(path, bad) != 0)
                ul_error("rrd: cannot rename %s: %s", path, strerror(errno));
            free(bad);
            for (size_t i = 0; i < nd->n; i++)
                entry_free(&nd->e[i]);
            nd->n = 0;
            recover_from_dir(w, nd);
        }
    }
    nd->loaded = true;
    if (nd->dirty) {
        ul_errmsg serr;
        if (index_save(w, nd, &serr) != UL_OK)
            ul_warn("%s", serr.text); /* retried with the next new sensor */
    }
out:
    free(buf);
    free(path);
    return rc;
}

rrdw *rrdw_new(const char *root_dir, const char *rrdcached_addr, const struct rrdw_archives *a,
               ul_errmsg *em)
{
    if (!root_dir || !*root_dir) {
        ul_errmsg_set(em, UL_ERR_INVALID, "rrd: empty data directory");
        return NULL;
    }
    if (strlen(root_dir) > ROOT_MAX) {
        ul_errmsg_set(em, UL_ERR_INVALID, "rrd: data directory path longer than %d bytes",
                      ROOT_MAX);
        return NULL;
    }
    for (const char *p = root_dir; *p; p++)
        if ((unsigned char)*p < 0x20) {
            ul_errmsg_set(em, UL_ERR_INVALID, "rrd: control character in data directory path");
            return NULL;
        }
    struct rrdw_archives arch;
    if (a) {
        if (rrdw_archives_check(a, em) != UL_OK)
            return NULL;
        arch = *a;
    } else {
        rrdw_archives_default(&arch);
    }
    const char *addr = rrdcached_addr && *rrdcached_addr ? rrdcached_addr : NULL;
    bool is_unix = false;
    const char *sock_path = NULL;
    if (addr) {
        if (strlen(addr) > ADDR_MAX) {
            ul_errmsg_set(em, UL_ERR_INVALID, "rrd: rrdcached address longer than %d bytes",
                          ADDR_MAX);
            return NULL;
        }
        for (const char *p = addr; *p; p++)
            if ((unsigned char)*p <= 0x20) {
                ul_errmsg_set(em, UL_ERR_INVALID,
                              "rrd: rrdcached address '%s' contains a space or control character",
                              addr);
                return NULL;
            }
        if (strncmp(addr, "unix:", 5) == 0 || addr[0] == '/') {
            is_unix = true;
            sock_path = addr[0] == '/' ? addr : addr + 5;
            if (sock_path[0] != '/' ||
                strlen(sock_path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
                ul_errmsg_set(em, UL_ERR_INVALID,
                              "rrd: rrdcached socket '%s' must be an absolute path shorter "
                              "than 108 bytes",
                              sock_path);
                return NULL;
            }
        }
    }
    if (mkdir_p(root_dir, em) != UL_OK)
        return NULL;
    char *abs = realpath(root_dir, NULL);
    if (!abs) {
        ul_errmsg_set(em, UL_ERR_IO, "rrd: cannot resolve %s: %s", root_dir, strerror(errno));
        return NULL;
    }
    rrdw *w = xcalloc(1, sizeof *w);
    w->root = abs;
    w->daemon = addr ? xstrdup(addr) : NULL;
    w->daemon_unix = is_unix;
    w->daemon_path = sock_path ? xstrdup(sock_path) : NULL;
    w->a = arch;
    w->cargv = create_args(&arch, &w->cargc);
    pthread_mutex_init(&w->lock, NULL);
    pthread_mutex_init(&w->conn_lock, NULL);
    w->nbuckets = 64;
    w->buckets = xcalloc(w->nbuckets, sizeof *w->buckets);
    w->fd = -1;
    ul_info("rrd: history under %s, %s, %llu bytes per sensor", w->root,
            addr ? addr : "direct librrd", (unsigned long long)rrdw_bytes_per_sensor(&arch));
    return w;
}

static void conn_close(rrdw *w);

void rrdw_free(rrdw *w)
{
    if (!w)
        return;
    ul_errmsg em;
    if (rrdw_flush(w, &em) != UL_OK)
        ul_error("%s (at shutdown)", em.text);
    conn_close(w);
    if (w->daemon) {
        pthread_mutex_lock(&lib_lock);
        if (rrdc_is_connected(w->daemon))
            rrdc_disconnect();
        pthread_mutex_unlock(&lib_lock);
    }
    for (size_t b = 0; b < w->nbuckets; b++)
        while (w->buckets[b]) {
            struct node *nd = w->buckets[b];
            w->buckets[b] = nd->next;
            for (size_t i = 0; i < nd->n; i++)
                entry_free(&nd->e[i]);
            free(nd->e);
            free(nd->name);
            pthread_mutex_destroy(&nd->lock);
            free(nd);
        }
    free(w->buckets);
    for (int i = 0; i < w->cargc; i++)
        free(w->cargv[i]);
    free(w->cargv);
    pthread_mutex_destroy(&w->lock);
    pthread_mutex_destroy(&w->conn_lock);
    free(w->root);
    free(w->daemon);
    free(w->daemon_path);
    free(w);
}

/* ------------------------------------------------------------------------ */
/* librrd errors                                                             */

static bool msg_is_conn(const char *m)
{
    return strstr(m, "Unable to connect") || strstr(m, "socket error") ||
           strstr(m, "while talking to rrdcached") || strstr(m, "Cannot connect");
}

static bool msg_not_newer(const char *m)
{
    return strstr(m, "illegal attempt to update using time") != NULL;
}

static bool msg_no_file(const char *m)
{
    return strstr(m, "No such file") != NULL;
}

/* librrd's message for the last failure in this thread (its error context is
 * per thread); status is an rrdc_* return (errno-like when positive).  A
 * failure to reach rrdcached is transient (UL_ERR_UNREACHABLE); a file that
 * is not there is UL_ERR_NOT_FOUND; the rest UL_ERR_IO. */
static ul_err lib_fail(ul_errmsg *em, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static ul_err lib_fail(ul_errmsg *em, int status, const char *fmt, ...)
{
    char msg[400];
    if (rrd_test_error())
        snprintf(msg, sizeof msg, "%s", rrd_get_error());
    else if (status > 0)
        snprintf(msg, sizeof msg, "%s", strerror(status));
    else
        snprintf(msg, sizeof msg, "librrd error %d", status);
    ul_err code = UL_ERR_IO;
    if (msg_is_conn(msg) || status == ENOTCONN || status == ECONNREFUSED || status == ECONNRESET ||
        status == EPIPE)
        code = UL_ERR_UNREACHABLE;
    else if (msg_no_file(msg))
        code = UL_ERR_NOT_FOUND;
    char head[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    return ul_errmsg_set(em, code, "%s: %s", head, msg);
}

/* ------------------------------------------------------------------------ */
/* our own rrdcached connection (lock 3): BATCH, CREATE, FETCH              */

static void conn_close(rrdw *w)
{
    if (w->fd >= 0)
        close(w->fd);
    w->fd = -1;
    w->inlen = 0;
}

static ul_err wait_fd(rrdw *w, short events, int64_t deadline, ul_errmsg *em)
{
    for (;;) {
        int64_t left = deadline - ul_mono_ms();
        if (left <= 0) {
            conn_close(w);
            return ul_errmsg_set(em, UL_ERR_TIMEOUT, "rrd: rrdcached %s: no answer within %d ms",
                                 w->daemon, DAEMON_TIMEOUT_MS);
        }
        struct pollfd p = {.fd = w->fd, .events = events};
        int r = poll(&p, 1, (int)left);
        if (r > 0)
            return UL_OK;
        if (r < 0 && errno != EINTR) {
            int e = errno;
            conn_close(w);
            return ul_errmsg_set(em, UL_ERR_IO, "rrd: poll: %s", strerror(e));
        }
    }
}

static ul_err conn_open(rrdw *w, int64_t deadline, ul_errmsg *em)
{
    if (w->fd >= 0)
        return UL_OK;
    w->inlen = 0;
    if (w->daemon_unix) {
        struct sockaddr_un sa = {.sun_family = AF_UNIX};
        snprintf(sa.sun_path, sizeof sa.sun_path, "%s", w->daemon_path);
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return ul_errmsg_set(em, UL_ERR_IO, "rrd: socket: %s", strerror(errno));
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
            int e = errno;
            close(fd);
            return ul_errmsg_set(em, UL_ERR_UNREACHABLE, "rrd: rrdcached %s: %s", w->daemon,
                                 strerror(e));
        }
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
        w->fd = fd;
        return UL_OK;
    }
    /* host:port, [v6]:port, or host (rrdcached's default port), as librrd. */
    char host[ADDR_MAX + 1];
    snprintf(host, sizeof host, "%s", w->daemon);
    char *h = host, *port = NULL;
    if (*h == '[') {
        h++;
        char *close_br = strchr(h, ']');
        if (!close_br)
            return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: malformed rrdcached address %s",
                                 w->daemon);
        *close_br = '\0';
        if (close_br[1] == ':')
            port = close_br + 2;
    } else if ((port = strrchr(h, ':')) != NULL) {
        *port++ = '\0';
    }
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM};
    struct addrinfo *res = NULL;
    int gai = getaddrinfo(h, port && *port ? port : RRDCACHED_DEFAULT_PORT, &hints, &res);
    if (gai != 0)
        return ul_errmsg_set(em, UL_ERR_UNREACHABLE, "rrd: rrdcached %s: %s", w->daemon,
                             gai_strerror(gai));
    ul_err rc = UL_ERR_UNREACHABLE;
    int last = ECONNREFUSED;
    for (struct addrinfo *ai = res; ai && w->fd < 0; ai = ai->ai_next) {
        int fd =
            socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, ai->ai_protocol);
        if (fd < 0) {
            last = errno;
            continue;
        }
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 && errno != EINPROGRESS) {
            last = errno;
            close(fd);
            continue;
        }
        w->fd = fd;
        ul_errmsg tem;
        if (wait_fd(w, POLLOUT, deadline, &tem) != UL_OK) {
            last = ETIMEDOUT;
            continue; /* wait_fd closed it */
        }
        int soerr = 0;
        socklen_t sl = sizeof soerr;
        if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) != 0 || soerr != 0) {
            last = soerr ? soerr : errno;
            conn_close(w);
            continue;
        }
        rc = UL_OK;
    }
    freeaddrinfo(res);
    if (rc != UL_OK)
        return ul_errmsg_set(em, rc, "rrd: rrdcached %s: %s", w->daemon, strerror(last));
    return UL_OK;
}

static ul_err conn_send(rrdw *w, const char *buf, size_t len, int64_t deadline, ul_errmsg *em)
{
    size_t off = 0;
    while (off < len) {
        ssize_t r = send(w->fd, buf + off, len - off, MSG_NOSIGNAL);
        if (r > 0) {
            off += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            ul_err rc = wait_fd(w, POLLOUT, deadline, em);
            if (rc != UL_OK)
                return rc;
            continue;
        }
        int e = errno;
        conn_close(w);
        return ul_errmsg_set(em, UL_ERR_UNREACHABLE, "rrd: rrdcached %s: send: %s", w->daemon,
                             strerror(e));
    }
    return UL_OK;
}

/* One response line, without its newline, into line (truncated to cap). */
static ul_err conn_line(rrdw *w, char *line, size_t cap, int64_t deadline, ul_errmsg *em)
{
    for (;;) {
        char *nl = memchr(w->inbuf, '\n', w->inlen);
        if (nl) {
            size_t n = (size_t)(nl - w->inbuf);
            size_t c = n < cap - 1 ? n : cap - 1;
            memcpy(line, w->inbuf, c);
            line[c] = '\0';
            memmove(w->inbuf, nl + 1, w->inlen - n - 1);
            w->inlen -= n + 1;
            return UL_OK;
        }
        if (w->inlen == sizeof w->inbuf) {
            conn_close(w);
            return ul_errmsg_set(em, UL_ERR_PROTOCOL, "rrd: rrdcached %s: response line too long",
                                 w->daemon);
        }
        ssize_t r = recv(w->fd, w->inbuf + w->inlen, sizeof w->inbuf - w->inlen, 0);
        if (r > 0) {
            w->inlen += (size_t)r;
            continue;
        }
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
            ul_err rc = wait_fd(w, POLLIN, deadline, em);
            if (rc != UL_OK)
                return rc;
            continue;
        }
        int e = r == 0 ? ECONNRESET : errno;
        conn_close(w);
        return ul_errmsg_set(em, UL_ERR_UNREACHABLE, "rrd: rrdcached %s: %s", w->daemon,
                             r == 0 ? "connection closed" : strerror(e));
    }
}

/* A request: space-separated fields, one command per line. */
struct req {
    char *buf;
    size_t len, cap;
};

static void req_grow(struct req *q, size_t need)
{
    if (q->len + need + 1 > q->cap) {
        q->cap = (q->len + need + 1) * 2;
        q->buf = xrealloc(q->buf, q->cap);
    }
}

/* One field, with ' ' and '\' escaped as rrdcached's parser wants. */
static void req_word(struct req *q, const char *s)
{
    req_grow(q, 2 * strlen(s) + 1);
    if (q->len > 0 && q->buf[q->len - 1] != '\n')
        q->buf[q->len++] = ' ';
    for (; *s; s++) {
        if (*s == ' ' || *s == '\\')
            q->buf[q->len++] = '\\';
        q->buf[q->len++] = *s;
    }
    q->buf[q->len] = '\0';
}

static void req_eol(struct req *q)
{
    req_grow(q, 1);
    q->buf[q->len++] = '\n';
    q->buf[q->len] = '\0';
}

/* One reply: "STATUS text"; when STATUS > 0, that many lines follow. */
struct reply {
    long status;
    char msg[400];
    char **lines;
    size_t n;
};

static void reply_free(struct reply *r)
{
    for (size_t i = 0; i < r->n; i++)
        free(r->lines[i]);
    free(r->lines);
    r->lines = NULL;
    r->n = 0;
}

static ul_err read_reply(rrdw *w, int64_t deadline, size_t max_lines, struct reply *r,
                         ul_errmsg *em)
{
    char line[sizeof w->inbuf];
    memset(r, 0, sizeof *r);
    ul_err rc = conn_line(w, line, sizeof line, deadline, em);
    if (rc != UL_OK)
        return rc;
    char *end;
    r->status = strtol(line, &end, 10);
    if (end == line) {
        conn_close(w);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "rrd: rrdcached %s: unexpected reply '%.80s'",
                             w->daemon, line);
    }
    snprintf(r->msg, sizeof r->msg, "%s", *end == ' ' ? end + 1 : end);
    if (r->status < 0) {
        /* Some errors run over more lines than they announce ("... Did you
         * pass -R to the daemon?"): start afresh rather than misread. */
        conn_close(w);
        return UL_OK;
    }
    if ((size_t)r->status > max_lines) {
        conn_close(w);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL, "rrd: rrdcached %s: reply of %ld lines",
                             w->daemon, r->status);
    }
    if (r->status > 0)
        r->lines = xcalloc((size_t)r->status, sizeof *r->lines);
    for (long i = 0; i < r->status; i++) {
        rc = conn_line(w, line, sizeof line, deadline, em);
        if (rc != UL_OK) {
            reply_free(r);
            return rc;
        }
        r->lines[r->n++] = xstrdup(line);
    }
    return UL_OK;
}

/* Send q and read nrep replies (BATCH gives two: "go ahead" and the error
 * report).  One round trip.  A connection found dead (the daemon restarted,
 * or dropped an idle client) is reopened and the request sent once more;
 * every request here may be repeated (CREATE -O; FETCH; updates already
 * applied come back "not newer", which is a no-op).  After a failure to
 * reach the daemon, calls fail at once for DAEMON_RETRY_MS instead of each
 * waiting out the timeout while a collector holds a node lock; the change
 * is logged once each way. */
static ul_err daemon_exchange(rrdw *w, const struct req *q, struct reply *rep, int nrep,
                              size_t max_lines, ul_errmsg *em)
{
    ul_errmsg tem = {{0}};
    ul_err rc = UL_OK;
    for (int i = 0; i < nrep; i++)
        memset(&rep[i], 0, sizeof rep[i]);
    pthread_mutex_lock(&w->conn_lock);
    int64_t now = ul_mono_ms();
    if (now < w->down_until) {
        rc = ul_errmsg_set(em, UL_ERR_UNREACHABLE, "%s (next attempt in %lld ms)", w->down_msg,
                           (long long)(w->down_until - now));
        pthread_mutex_unlock(&w->conn_lock);
        return rc;
    }
    for (int attempt = 0; attempt < 2; attempt++) {
        bool fresh = w->fd < 0;
        int64_t deadline = ul_mono_ms() + DAEMON_TIMEOUT_MS;
        rc = conn_open(w, deadline, &tem);
        if (rc == UL_OK)
            rc = conn_send(w, q->buf, q->len, deadline, &tem);
        for (int i = 0; rc == UL_OK && i < nrep; i++) {
            rc = read_reply(w, deadline, max_lines, &rep[i], &tem);
            if (rc == UL_OK && rep[i].status < 0)
                break;
        }
        if (rc == UL_OK)
            break;
        for (int i = 0; i < nrep; i++)
            reply_free(&rep[i]);
        if (rc != UL_ERR_UNREACHABLE || fresh)
            break;
    }
    if (rc == UL_ERR_UNREACHABLE || rc == UL_ERR_TIMEOUT) {
        if (!w->down)
            ul_warn("%s; writes and reads fail at once for the next %d s", tem.text,
                    DAEMON_RETRY_MS / 1000);
        w->down = true;
        w->down_until = ul_mono_ms() + DAEMON_RETRY_MS;
        snprintf(w->down_msg, sizeof w->down_msg, "%s", tem.text);
    } else if (w->down) {
        ul_info("rrd: rrdcached %s reachable again", w->daemon);
        w->down = false;
        w->down_until = 0;
    }
    pthread_mutex_unlock(&w->conn_lock);
    if (rc != UL_OK)
        ul_errmsg_set(em, rc, "%s", tem.text);
    return rc;
}

/* CREATE through the daemon, keeping an existing file (-O). */
static ul_err daemon_create(rrdw *w, const char *target, time_t start, ul_errmsg *em)
{
    struct req q = {0};
    char num[32];
    req_word(&q, "CREATE");
    req_word(&q, target);
    snprintf(num, sizeof num, "%lld", (long long)start);
    req_word(&q, "-b");
    req_word(&q, num);
    snprintf(num, sizeof num, "%lu", w->a.step);
    req_word(&q, "-s");
    req_word(&q, num);
    req_word(&q, "-O");
    for (int i = 0; i < w->cargc; i++)
        req_word(&q, w->cargv[i]);
    req_eol(&q);
    struct reply r;
    ul_err rc = daemon_exchange(w, &q, &r, 1, 0, em);
    if (rc == UL_OK && r.status < 0) {
        if (strstr(r.msg, "File exists"))
            ul_debug("rrd: %s exists already; kept", target);
        else
            rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: rrdcached %s cannot create %s: %s", w->daemon,
                               target, r.msg);
    }
    reply_free(&r);
    free(q.buf);
    return rc;
}

/* FETCH through the daemon (it flushes the file first).  The answer:
 * "Key: value" headers (Start, End, Step, DSCount, DSName), then one
 * "TIME: v1 v2 ..." line per step.  *col (caller frees) gets the "value"
 * column. */
#define FETCH_MAX_LINES 2000000
static ul_err daemon_fetch(rrdw *w, const char *target, const char *cf, time_t *start, time_t *end,
                           unsigned long *step, double **col, size_t *rows, ul_errmsg *em)
{
    *col = NULL;
    *rows = 0;
    struct req q = {0};
    char num[32];
    req_word(&q, "FETCH");
    req_word(&q, target);
    req_word(&q, cf);
    snprintf(num, sizeof num, "%lld", (long long)*start);
    req_word(&q, num);
    snprintf(num, sizeof num, "%lld", (long long)*end);
    req_word(&q, num);
    req_eol(&q);
    struct reply r;
    ul_err rc = daemon_exchange(w, &q, &r, 1, FETCH_MAX_LINES, em);
    free(q.buf);
    if (rc != UL_OK)
        return rc;
    if (r.status < 0) {
        rc = ul_errmsg_set(em, msg_no_file(r.msg) ? UL_ERR_NOT_FOUND : UL_ERR_IO,
                           "rrd: rrdcached %s cannot read %s: %s", w->daemon, target, r.msg);
        reply_free(&r);
        return rc;
    }
    long long s = -1, e = -1, st = 0;
    size_t column = 0, ncol = 1;
    double *out = xmalloc((r.n ? r.n : 1) * sizeof *out);
    size_t n = 0;
    for (size_t i = 0; i < r.n && rc == UL_OK; i++) {
        char *l = r.lines[i], *colon = strchr(l, ':');
        if (!colon)
            continue;
        if (l[0] >= '0' && l[0] <= '9') { /* data */
            char *p = colon + 1;
            double v = NAN;
            for (size_t c = 0; c < ncol; c++) {
                char *q2;
                double x = strtod(p, &q2);
                if (q2 == p)
                    break;
                if (c == column)
                    v = x;
                p = q2;
            }
            out[n++] = v;
            continue;
        }
        *colon = '\0';
        const char *val = colon + 1 + strspn(colon + 1, " ");
        if (strcmp(l, "Start") == 0)
            s = atoll(val);
        else if (strcmp(l, "End") == 0)
            e = atoll(val);
        else if (strcmp(l, "Step") == 0)
            st = atoll(val);
        else if (strcmp(l, "DSCount") == 0)
            ncol = (size_t)atol(val);
        else if (strcmp(l, "DSName") == 0) {
            /* the column of our data source among the names */
            size_t c = 0;
            for (const char *p = val; *p; c++) {
                size_t len = strcspn(p, " ");
                if (len == strlen(DS_NAME) && strncmp(p, DS_NAME, len) == 0)
                    column = c;
                p += len;
                p += strspn(p, " ");
            }
        }
    }
    reply_free(&r);
    if (s < 0 || e < s || st <= 0 || ncol < 1 || column >= ncol) {
        free(out);
        return ul_errmsg_set(em, UL_ERR_PROTOCOL,
                             "rrd: rrdcached %s: malformed FETCH answer "
                             "for %s",
                             w->daemon, target);
    }
    *start = (time_t)s;
    *end = (time_t)(s + (long long)n * st);
    *step = (unsigned long)st;
    *col = out;
    *rows = n;
    return UL_OK;
}

/* ------------------------------------------------------------------------ */
/* files                                                                     */

/* Create one sensor's file starting one step before t; an existing file is
 * kept (no overwrite) and counts as success. */
static ul_err file_create(rrdw *w, const char *node, const char *file, time_t t, ul_errmsg *em)
{
    char *dir = node_dir(w, node);
    ul_err rc = ensure_dir(dir, em);
    free(dir);
    if (rc != UL_OK)
        return rc;
    char *target = file_target(w, node, file);
    time_t start = t - (time_t)w->a.step;
    if (w->daemon) {
        rc = daemon_create(w, target, start, em);
    } else {
        pthread_mutex_lock(&lib_lock);
        rrd_clear_error();
        int st = rrd_create_r2(target, w->a.step, start, 1, NULL, NULL, w->cargc,
                               (const char **)w->cargv);
        if (st != 0) {
            if (rrd_test_error() && strstr(rrd_get_error(), "File exists"))
                ul_debug("rrd: %s exists already; kept", target);
            else if ((rc = lib_fail(em, st, "rrd: cannot create %s", target)) == UL_ERR_NOT_FOUND)
                rc = UL_ERR_IO; /* a missing directory */
        }
        pthread_mutex_unlock(&lib_lock);
    }
    if (rc == UL_OK)
        ul_debug("rrd: created %s", target);
    free(target);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* updates                                                                   */

enum item_state { IT_BAD = 0, IT_PENDING, IT_DONE, IT_SKIP, IT_NOFILE };

struct item {
    enum item_state state;
    long idx; /* entry index in the node */
    ul_err err;
    char msg[UL_ERRMSG_LEN];
};

/* "T:V" with the C decimal point whatever LC_NUMERIC says. */
static void format_value(char *buf, size_t len, time_t t, double v)
{
    snprintf(buf, len, "%lld:%.17g", (long long)t, v);
    for (char *p = buf; *p; p++)
        if (*p == ',')
            *p = '.';
}

static void item_fail(struct item *it, ul_err code, const char *msg)
{
    it->state = IT_BAD;
    it->err = code;
    snprintf(it->msg, sizeof it->msg, "%s", msg);
}

/* Classify librrd's or rrdcached's answer to one update. */
static void item_result(const char *node, const struct entry *e, struct item *it, time_t t,
                        const char *msg, ul_err code)
{
    if (!msg) {
        it->state = IT_DONE;
        return;
    }
    if (msg_not_newer(msg)) {
        ul_debug("rrd: node %s sensor '%s': reading at %lld is not after the last update; "
                 "dropped (%s)",
                 node, e->name, (long long)t, msg);
        it->state = IT_SKIP;
        return;
    }
    if (msg_no_file(msg) && code != UL_ERR_UNREACHABLE) {
        it->state = IT_NOFILE;
        snprintf(it->msg, sizeof it->msg, "rrd: node %s sensor '%s': %s", node, e->name, msg);
        return;
    }
    it->state = IT_BAD;
    it->err = code;
    snprintf(it->msg, sizeof it->msg, "rrd: node %s sensor '%s': %s", node, e->name, msg);
}

/* Write every IT_PENDING item (node lock held). */
static void write_items(rrdw *w, struct node *nd, time_t t, const struct rrdw_sample *s,
                        struct item *it, size_t n)
{
    char val[64];
    if (!w->daemon) {
        for (size_t i = 0; i < n; i++) {
            if (it[i].state != IT_PENDING)
                continue;
            struct entry *e = &nd->e[it[i].idx];
            char *path = file_target(w, nd->name, e->file);
            format_value(val, sizeof val, t, s[i].value);
            const char *argv[1] = {val};
            rrd_clear_error();
            int st = rrd_update_r(path, NULL, 1, argv);
            char msg[400] = "";
            if (st != 0)
                snprintf(msg, sizeof msg, "%s", rrd_test_error() ? rrd_get_error() : "failed");
            item_result(nd->name, e, &it[i], t, st ? msg : NULL, UL_ERR_IO);
            free(path);
        }
        return;
    }
    /* rrdcached: one BATCH for the whole sweep, one round trip. */
    struct req q = {0};
    size_t ncmd = 0;
    size_t *cmd_item = xcalloc(n, sizeof *cmd_item);
    req_word(&q, "BATCH");
    req_eol(&q);
    for (size_t i = 0; i < n; i++) {
        if (it[i].state != IT_PENDING)
            continue;
        char *target = file_target(w, nd->name, nd->e[it[i].idx].file);
        format_value(val, sizeof val, t, s[i].value);
        req_word(&q, "UPDATE");
        req_word(&q, target);
        req_word(&q, val);
        req_eol(&q);
        cmd_item[ncmd++] = i;
        free(target);
    }
    req_word(&q, ".");
    req_eol(&q);
    struct reply rep[2];
    ul_errmsg em;
    ul_err rc = ncmd ? daemon_exchange(w, &q, rep, 2, BATCH_MAX, &em) : UL_OK;
    if (ncmd && rc == UL_OK && rep[0].status < 0)
        rc = ul_errmsg_set(&em, UL_ERR_IO, "rrd: rrdcached %s refused BATCH: %s", w->daemon,
                           rep[0].msg);
    for (size_t c = 0; c < ncmd; c++) {
        size_t i = cmd_item[c];
        if (rc != UL_OK) {
            item_fail(&it[i], rc, em.text);
            continue;
        }
        /* the report lists failed commands as "NUMBER message", from 1 */
        const char *msg = NULL;
        for (size_t k = 0; k < rep[1].n && !msg; k++) {
            char *end;
            unsigned long num = strtoul(rep[1].lines[k], &end, 10);
            if (num == c + 1)
                msg = *end == ' ' ? end + 1 : end;
        }
        item_result(nd->name, &nd->e[it[i].idx], &it[i], t, msg, UL_ERR_IO);
    }
    if (ncmd) {
        reply_free(&rep[0]);
        reply_free(&rep[1]);
    }
    free(cmd_item);
    free(q.buf);
}

/* ---- coalescing (direct mode) ----
 *
 * librrd opens, mmaps, reads the header of, writes and munmaps a file on
 * every rrd_update_r; with 16+ threads in the process each munmap is a TLB
 * shootdown on every core.  perf on 20 BMCs: 8 ms of CPU per sweep against
 * 2.9 ms for the sweep itself.  Readings are therefore kept per sensor and
 * written COALESCE_MAX at a time or when the oldest is coalesce_s old, in
 * one rrd_update_r call per file (one open for many readings).  Reads
 * (fetch, graph, list) flush the node first, so the API sees every reading;
 * a crash (not a clean stop, which flushes) loses at most coalesce_s of
 * history. */
#define COALESCE_MAX 32

/* Write e's buffered readings (node lock held).  On failure the readings are
 * dropped (not kept for ever) and em says how many. */
static ul_err entry_flush(rrdw *w, struct node *nd, struct entry *e, ul_errmsg *em)
{
    if (e->pn == 0)
        return UL_OK;
    char *path = file_target(w, nd->name, e->file);
    char(*vals)[64] = xcalloc(e->pn, sizeof(*vals));
    const char **argv = xcalloc(e->pn, sizeof(*argv));
    for (size_t i = 0; i < e->pn; i++) {
        format_value(vals[i], sizeof vals[i], e->pt[i], e->pv[i]);
        argv[i] = vals[i];
    }
    ul_err rc = UL_OK;
    for (int attempt = 0; attempt < 2; attempt++) {
        rrd_clear_error();
        int st = rrd_update_r(path, NULL, (int)e->pn, argv);
        if (st == 0) {
            rc = UL_OK;
            break;
        }
        const char *msg = rrd_test_error() ? rrd_get_error() : "failed";
        if (msg_not_newer(msg)) {
            /* Some were older than the file (another writer, a clock step):
             * librrd stops at the first one; not an error, as for one. */
            ul_debug("rrd: node %s sensor '%s': buffered readings not after the last update; "
                     "dropped (%s)",
                     nd->name, e->name, msg);
            rc = UL_OK;
            break;
        }
        rc = ul_errmsg_set(em, UL_ERR_IO,
                           "rrd: node %s sensor '%s': %zu buffered readings not "
                           "stored: %s",
                           nd->name, e->name, e->pn, msg);
        if (attempt == 0 && msg_no_file(msg)) {
            /* Removed behind our back: create it again, write once more. */
            ul_warn("%s; creating it again", em->text);
            if (file_create(w, nd->name, e->file, e->pt[0], em) != UL_OK)
                break;
            continue;
        }
        break;
    }
    e->pn = 0;
    free(argv);
    free(vals);
    free(path);
    return rc;
}

/* Flush every buffered reading of nd (node lock held); the first failure
 * goes to em. */
static ul_err node_flush(rrdw *w, struct node *nd, ul_errmsg *em)
{
    ul_err rc = UL_OK;
    ul_errmsg tem;
    for (size_t i = 0; i < nd->n; i++) {
        ul_err r = entry_flush(w, nd, &nd->e[i], &tem);
        if (r != UL_OK && rc == UL_OK) {
            rc = r;
            *em = tem;
        }
    }
    nd->pend_since = 0;
    return rc;
}

/* Buffer the IT_PENDING items (node lock held): they count as stored. */
static void buffer_items(struct node *nd, time_t t, const struct rrdw_sample *s, struct item *it,
                         size_t n, bool *full)
{
    for (size_t i = 0; i < n; i++) {
        if (it[i].state != IT_PENDING)
            continue;
        struct entry *e = &nd->e[it[i].idx];
        if (!e->pt) {
            e->pt = xcalloc(COALESCE_MAX, sizeof(*e->pt));
            e->pv = xcalloc(COALESCE_MAX, sizeof(*e->pv));
        }
        e->pt[e->pn] = t;
        e->pv[e->pn] = s[i].value;
        e->pn++;
        if (e->pn == COALESCE_MAX)
            *full = true;
        it[i].state = IT_DONE;
    }
    if (!nd->pend_since)
        nd->pend_since = ul_mono_ms();
}

/* Flush the nodes (other than skip) whose oldest buffered reading is older
 * than coalesce_s: a node that stopped reporting (dead BMC, deleted) does
 * not keep its last readings in memory.  Checked at most every 10 s.  Takes
 * the table lock alone, then each node's lock alone (nodes are never freed
 * before rrdw_free). */
static void flush_stale(rrdw *w, struct node *skip)
{
    int64_t now = ul_mono_ms();
    int64_t due = atomic_load(&w->next_age_check);
    if (now < due || !atomic_compare_exchange_strong(&w->next_age_check, &due, now + 10000))
        return;
    pthread_mutex_lock(&w->lock);
    size_t cnt = 0;
    struct node **list = xcalloc(w->nnodes ? w->nnodes : 1, sizeof(*list));
    for (size_t b = 0; b < w->nbuckets; b++)
        for (struct node *nd = w->buckets[b]; nd && cnt < w->nnodes; nd = nd->next)
            if (nd != skip)
                list[cnt++] = nd;
    pthread_mutex_unlock(&w->lock);
    int64_t age = (int64_t)w->coalesce_s * 1000;
    for (size_t i = 0; i < cnt; i++) {
        struct node *nd = list[i];
        pthread_mutex_lock(&nd->lock);
        ul_errmsg em;
        if (nd->pend_since && now - nd->pend_since >= age && node_flush(w, nd, &em) != UL_OK)
            ul_warn("%s", em.text);
        pthread_mutex_unlock(&nd->lock);
    }
    free(list);
}

void rrdw_set_coalesce(rrdw *w, unsigned seconds)
{
    if (w && !w->daemon)
        w->coalesce_s = seconds;
}

ul_err rrdw_flush(rrdw *w, ul_errmsg *em)
{
    if (!w || !w->coalesce_s)
        return UL_OK;
    pthread_mutex_lock(&w->lock);
    size_t cnt = 0;
    struct node **list = xcalloc(w->nnodes ? w->nnodes : 1, sizeof(*list));
    for (size_t b = 0; b < w->nbuckets; b++)
        for (struct node *nd = w->buckets[b]; nd && cnt < w->nnodes; nd = nd->next)
            list[cnt++] = nd;
    pthread_mutex_unlock(&w->lock);
    ul_err rc = UL_OK;
    for (size_t i = 0; i < cnt; i++) {
        ul_errmsg tem;
        pthread_mutex_lock(&list[i]->lock);
        ul_err r = node_flush(w, list[i], &tem);
        pthread_mutex_unlock(&list[i]->lock);
        if (r != UL_OK && rc == UL_OK) {
            rc = r;
            *em = tem;
        }
    }
    free(list);
    return rc;
}

ul_err rrdw_update_batch(rrdw *w, const char *node, time_t t, const struct rrdw_sample *s, size_t n,
                         size_t *written, ul_errmsg *em)
{
    if (written)
        *written = 0;
    if (!w)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no history store");
    ul_err rc = check_node(node, em);
    if (rc != UL_OK)
        return rc;
    if (n == 0)
        return UL_OK;
    if (!s)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: node %s: no samples", node);
    if (n > BATCH_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: node %s: %zu readings in one batch (at "
                             "most %d)",
                             node, n, BATCH_MAX);
    if (t < TIME_MIN)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: node %s: time %lld is before 2000-01-01 (clock not set?)", node,
                             (long long)t);

    struct node *nd = node_lookup(w, node, true);
    struct item *it = xcalloc(n, sizeof *it);
    pthread_mutex_lock(&nd->lock);
    rc = node_load(w, nd, em);
    if (rc != UL_OK) {
        pthread_mutex_unlock(&nd->lock);
        free(it);
        return rc;
    }
    ul_errmsg tem;
    for (size_t i = 0; i < n; i++) {
        if (check_sensor(node, s[i].sensor, s[i].kind, &tem) != UL_OK) {
            item_fail(&it[i], UL_ERR_INVALID, tem.text);
            continue;
        }
        if (!isfinite(s[i].value)) {
            snprintf(tem.text, sizeof tem.text,
                     "rrd: node %s sensor '%s': value %g is not a finite number", node, s[i].sensor,
                     s[i].value);
            item_fail(&it[i], UL_ERR_INVALID, tem.text);
            continue;
        }
        long idx = entry_find(nd, s[i].kind, s[i].sensor);
        if (idx < 0) {
            char file[RRDW_FILE_MAX];
            choose_file(nd, s[i].kind, s[i].sensor, file);
            ul_err crc = file_create(w, node, file, t, &tem);
            if (crc != UL_OK) {
                item_fail(&it[i], crc, tem.text);
                continue;
            }
            idx = (long)entry_add(nd, s[i].sensor, s[i].kind, file, (int64_t)t, false);
            nd->dirty = true;
            ul_info("rrd: node %s: new sensor '%s' (%s) -> %s", node, s[i].sensor, s[i].kind, file);
        }
        struct entry *e = &nd->e[idx];
        bool dup = false;
        for (size_t j = 0; j < i && !dup; j++)
            dup = it[j].state == IT_PENDING && it[j].idx == idx;
        if (dup || (e->last && t <= e->last)) {
            ul_debug("rrd: node %s sensor '%s': reading at %lld is not after the last update "
                     "(%lld); dropped",
                     node, e->name, (long long)t, (long long)e->last);
            it[i].state = IT_SKIP;
            continue;
        }
        it[i].state = IT_PENDING;
        it[i].idx = idx;
    }
    if (nd->dirty && index_save(w, nd, &tem) != UL_OK)
        ul_error("%s (the new sensors' names are kept in memory; retried with the next new "
                 "sensor)",
                 tem.text);

    ul_err flush_rc = UL_OK;
    ul_errmsg flush_em;
    if (w->coalesce_s) {
        bool full = false;
        buffer_items(nd, t, s, it, n, &full);
        if (full || ul_mono_ms() - nd->pend_since >= (int64_t)w->coalesce_s * 1000)
            flush_rc = node_flush(w, nd, &flush_em);
    } else {
        write_items(w, nd, t, s, it, n);
    }

    /* A file removed behind our back: create it again, write once more. */
    bool retry = false;
    for (size_t i = 0; i < n; i++) {
        if (it[i].state != IT_NOFILE)
            continue;
        ul_warn("%s; creating it again", it[i].msg);
        ul_err crc = file_create(w, node, nd->e[it[i].idx].file, t, &tem);
        if (crc == UL_OK) {
            it[i].state = IT_PENDING;
            retry = true;
        } else {
            item_fail(&it[i], crc, tem.text);
        }
    }
    if (retry)
        write_items(w, nd, t, s, it, n);

    size_t nw = 0, nfail = 0, first = n;
    for (size_t i = 0; i < n; i++) {
        if (it[i].state == IT_NOFILE) { /* still missing after re-creation */
            it[i].state = IT_BAD;
            it[i].err = UL_ERR_IO;
        }
        if (it[i].state == IT_DONE) {
            nd->e[it[i].idx].last = t;
            nw++;
        } else if (it[i].state == IT_BAD) {
            if (first == n)
                first = i;
            nfail++;
        }
    }
    pthread_mutex_unlock(&nd->lock);
    if (w->coalesce_s)
        flush_stale(w, nd);

    if (written)
        *written = nw;
    rc = UL_OK;
    if (flush_rc != UL_OK)
        rc = ul_errmsg_set(em, flush_rc, "%s", flush_em.text);
    if (nfail) {
        rc = it[first].err;
        if (n == 1)
            ul_errmsg_set(em, rc, "%s", it[first].msg);
        else
            ul_errmsg_set(em, rc, "rrd: node %s: %zu of %zu readings not stored; first: %s", node,
                          nfail, n, it[first].msg);
    }
    free(it);
    return rc;
}

ul_err rrdw_update(rrdw *w, const char *node, const char *sensor, const char *kind, time_t t,
                   double value, ul_errmsg *em)
{
    struct rrdw_sample s = {sensor, kind, value};
    return rrdw_update_batch(w, node, t, &s, 1, NULL, em);
}

/* ------------------------------------------------------------------------ */
/* reading                                                                   */

/* Resolve a sensor's file (absolute or daemon-relative name) for reading. */
static ul_err resolve(rrdw *w, const char *node, const char *sensor, const char *kind,
                      char **target, char **name_out, int64_t *created, ul_errmsg *em)
{
    *target = NULL;
    if (created)
        *created = 0;
    ul_err rc = check_node(node, em);
    if (rc == UL_OK)
        rc = check_sensor(node, sensor, kind, em);
    if (rc != UL_OK)
        return rc;
    struct node *nd = node_for_read(w, node);
    if (!nd)
        return ul_errmsg_set(em, UL_ERR_NOT_FOUND, "rrd: node %s has no history", node);
    pthread_mutex_lock(&nd->lock);
    rc = node_load(w, nd, em);
    if (rc == UL_OK) {
        long idx = entry_find(nd, kind, sensor);
        ul_errmsg fem;
        /* Buffered readings first: a read sees everything written. */
        if (idx >= 0 && entry_flush(w, nd, &nd->e[idx], &fem) != UL_OK)
            ul_warn("%s", fem.text);
        if (idx < 0) {
            rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND,
                               "rrd: node %s has no history for %s "
                               "sensor '%s'",
                               node, kind, sensor);
        } else {
            *target = file_target(w, node, nd->e[idx].file);
            if (name_out)
                *name_out = xstrdup(nd->e[idx].name);
            if (created)
                *created = nd->e[idx].created;
        }
    }
    pthread_mutex_unlock(&nd->lock);
    return rc;
}

static const char *cf_canon(const char *cf)
{
    if (!cf)
        return "AVERAGE";
    for (size_t i = 0; i < NCF; i++)
        if (strcasecmp(cf, cf_table[i].name) == 0)
            return cf_table[i].name;
    return NULL;
}

/* Consolidate in[] (points ending at start + (i+1) * step) to res (a multiple
 * of step) with buckets ending on multiples of res, the way an RRA would:
 * more than half of a bucket unknown makes it unknown. */
static double *consolidate(const double *in, size_t nin, time_t start, unsigned long step,
                           unsigned long res, const char *cf, time_t *out_start, size_t *nout)
{
    time_t t_first = start + (time_t)step;
    time_t t_last = start + (time_t)(nin * step);
    time_t b_first = ((t_first + (time_t)res - 1) / (time_t)res) * (time_t)res;
    time_t b_last = ((t_last + (time_t)res - 1) / (time_t)res) * (time_t)res;
    size_t nb = (size_t)((b_last - b_first) / (time_t)res) + 1;
    size_t per = res / step;
    double *out = xmalloc(nb * sizeof *out);
    size_t *known = xcalloc(nb, sizeof *known);
    for (size_t b = 0; b < nb; b++)
        out[b] = NAN;
    bool avg = strcmp(cf, "AVERAGE") == 0, min = strcmp(cf, "MIN") == 0;
    bool max = strcmp(cf, "MAX") == 0;
    for (size_t i = 0; i < nin; i++) {
        if (isnan(in[i]))
            continue;
        time_t t = start + (time_t)((i + 1) * step);
        size_t b =
            (size_t)((((t + (time_t)res - 1) / (time_t)res) * (time_t)res - b_first) / (time_t)res);
        if (known[b] == 0)
            out[b] = in[i];
        else if (avg)
            out[b] += in[i];
        else if (min)
            out[b] = in[i] < out[b] ? in[i] : out[b];
        else if (max)
            out[b] = in[i] > out[b] ? in[i] : out[b];
        else
            out[b] = in[i]; /* LAST */
        known[b]++;
    }
    for (size_t b = 0; b < nb; b++) {
        if (known[b] * 2 < per)
            out[b] = NAN;
        else if (avg)
            out[b] /= (double)known[b];
    }
    free(known);
    *out_start = b_first - (time_t)res;
    *nout = nb;
    return out;
}

ul_err rrdw_fetch(rrdw *w, const char *node, const char *sensor, const char *kind, time_t start,
                  time_t end, unsigned long resolution, const char *cf, json_object **out,
                  ul_errmsg *em)
{
    *out = NULL;
    if (!w)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no history store");
    const char *cfn = cf_canon(cf);
    if (!cfn)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: consolidation function '%.20s' is not AVERAGE, MIN, MAX or "
                             "LAST",
                             cf);
    if (start <= 0 || end <= start)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: time range %lld..%lld is empty or before 1970", (long long)start,
                             (long long)end);
    if (end - start > RANGE_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: time range longer than 20 years");
    if (resolution > 366UL * 86400)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: resolution %lu s is longer than a year",
                             resolution);
    char *target = NULL, *name = NULL;
    ul_err rc = resolve(w, node, sensor, kind, &target, &name, NULL, em);
    if (rc != UL_OK)
        return rc;

    time_t s = start, e = end;
    unsigned long step = resolution ? resolution : 1;
    double *col = NULL;
    size_t rows = 0;
    if (!w->daemon) {
        unsigned long nds = 0;
        char **names = NULL;
        rrd_value_t *data = NULL;
        rrd_clear_error();
        int st = rrd_fetch_r(target, cfn, &s, &e, &step, &nds, &names, &data);
        if (st != 0)
            rc = lib_fail(em, st, "rrd: cannot read %s", target);
        else if (nds < 1 || step == 0 || e < s)
            rc = ul_errmsg_set(em, UL_ERR_IO, "rrd: %s: no data source in the answer", target);
        if (rc == UL_OK) {
            /* our files hold one data source, "value" */
            unsigned long c = 0;
            for (unsigned long i = 0; i < nds; i++)
                if (strcmp(names[i], DS_NAME) == 0)
                    c = i;
            rows = (size_t)((e - s) / (time_t)step);
            col = xmalloc((rows ? rows : 1) * sizeof *col);
            for (size_t i = 0; i < rows; i++)
                col[i] = data[i * nds + c];
        }
        if (names) {
            for (unsigned long i = 0; i < nds; i++)
                rrd_freemem(names[i]);
            rrd_freemem(names);
        }
        rrd_freemem(data);
    } else {
        /* The daemon picks the finest archive covering the range (FETCH
         * takes no resolution); a coarser step is made below. */
        rc = daemon_fetch(w, target, cfn, &s, &e, &step, &col, &rows, em);
    }
    if (rc != UL_OK)
        goto out;

    unsigned long want = resolution > step ? resolution : step;
    unsigned long span = (unsigned long)(e - s);
    if (span / want > RRDW_FETCH_MAX_POINTS)
        want = (span + RRDW_FETCH_MAX_POINTS - 1) / RRDW_FETCH_MAX_POINTS;
    want = (want + step - 1) / step * step;
    if (want > step && rows > 0) {
        time_t ns;
        size_t nn;
        double *c2 = consolidate(col, rows, s, step, want, cfn, &ns, &nn);
        free(col);
        col = c2;
        rows = nn;
        s = ns;
        step = want;
        e = s + (time_t)(rows * step);
    }

    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(node));
    json_object_object_add(o, "sensor", json_object_new_string(name));
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "cf", json_object_new_string(cfn));
    json_object_object_add(o, "step", json_object_new_int64((int64_t)step));
    json_object_object_add(o, "start", json_object_new_int64((int64_t)s));
    json_object_object_add(o, "end", json_object_new_int64((int64_t)e));
    json_object *pts = json_object_new_array_ext((int)rows);
    for (size_t i = 0; i < rows; i++) {
        json_object *p = json_object_new_array_ext(2);
        json_object_array_add(p, json_object_new_int64((int64_t)(s + (time_t)((i + 1) * step))));
        json_object_array_add(p, isnan(col[i]) ? NULL : json_object_new_double(col[i]));
        json_object_array_add(pts, p);
    }
    json_object_object_add(o, "points", pts);
    free(col);
    *out = o;
out:
    free(target);
    free(name);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* graphs                                                                    */

/* The dashboard's dark theme (web/style.css): background, panels, text. */
static const char *const theme[][2] = {
    {"BACK", "0d1117"},  {"CANVAS", "161b22"}, {"SHADEA", "0d1117"}, {"SHADEB", "0d1117"},
    {"GRID", "3d444d"},  {"MGRID", "6e7681"},  {"FONT", "e6edf3"},   {"AXIS", "a3adb8"},
    {"ARROW", "a3adb8"}, {"FRAME", "3d444d"},
};

/* Line colours, distinct from each other and readable on the dark canvas. */
static const char *const palette[] = {"79c0ff", "ffa657", "7ee787", "ff7b72", "d2a8ff", "f2cc60",
                                      "56d4dd", "ff9bce", "a5d6ff", "bdbdbd", "3fb950", "db61a2"};
#define NPALETTE (sizeof palette / sizeof *palette)

/* The unit and legend number format of a kind (units_exponent 0 keeps
 * "5000 RPM" from becoming "5 k"). */
static void kind_unit(const char *kind, const char **unit, const char **fmt)
{
    static const struct {
        const char *kind, *unit, *fmt;
    } units[] = {{"temperature", "°C", "%6.1lf"},
                 {"fan", "RPM", "%6.0lf"},
                 {"voltage", "V", "%6.2lf"},
                 {"current", "A", "%6.2lf"},
                 {"power", "W", "%6.0lf"}};
    *unit = NULL;
    *fmt = "%6.2lf";
    for (size_t i = 0; kind && i < sizeof units / sizeof *units; i++)
        if (strcmp(kind, units[i].kind) == 0) {
            *unit = units[i].unit;
            *fmt = units[i].fmt;
        }
}

const char *rrdw_kind_unit(const char *kind)
{
    const char *unit, *fmt;
    kind_unit(kind, &unit, &fmt);
    return unit;
}

const char *rrdw_graph_color(size_t i)
{
    return palette[i % NPALETTE];
}

time_t rrdw_graph_start(time_t start, time_t end, int64_t oldest)
{
    if (oldest <= 0 || oldest <= start || end - start <= GRAPH_MIN_SPAN)
        return start;
    time_t s = (time_t)oldest;
    if (end - s < GRAPH_MIN_SPAN)
        s = end - GRAPH_MIN_SPAN;
    return s > start ? s : start;
}

/* rrd_graph argument text: ':' separates fields (escaped as "\:"), and a
 * backslash starts a legend code ("\l", "\n"): keep it out. */
static char *graph_escape(const char *s)
{
    char *out = xmalloc(2 * strlen(s) + 1), *p = out;
    for (; *s; s++) {
        if (*s == ':')
            *p++ = '\\';
        *p++ = *s == '\\' ? '/' : *s;
    }
    *p = '\0';
    return out;
}

/* Display width of a UTF-8 string (code points). */
static size_t u8_width(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

void rrdw_graph_args_free(char **argv, int argc)
{
    for (int i = 0; argv && i < argc; i++)
        free(argv[i]);
    free(argv);
}

ul_err rrdw_graph_args(const struct rrdw_graph_line *lines, size_t n, time_t start, time_t end,
                       const char *title, const char *vlabel, unsigned width, unsigned height,
                       const char *daemon, char ***argv_out, int *argc_out, ul_errmsg *em)
{
    *argv_out = NULL;
    *argc_out = 0;
    if (!lines || n < 1 || n > RRDW_GRAPH_MAX_SERIES)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: a graph takes 1..%d series, not %zu",
                             RRDW_GRAPH_MAX_SERIES, n);
    if (start <= 0 || end <= start || end - start > RANGE_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: time range %lld..%lld is empty, before 1970 or longer than 20 "
                             "years",
                             (long long)start, (long long)end);
    if (width == 0 && height == 0) {
        width = 800;
        height = 250;
    }
    if (width < 100 || width > 4000 || height < 50 || height > 2000)
        return ul_errmsg_set(em, UL_ERR_INVALID,
                             "rrd: graph size %ux%u outside 100..4000 x 50..2000", width, height);
    if ((title && strlen(title) > 200) || (vlabel && strlen(vlabel) > 100))
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: graph title or label too long");
    for (size_t i = 0; i < n; i++) {
        if (!lines[i].target || !lines[i].name || !cf_canon(lines[i].cf))
            return ul_errmsg_set(em, UL_ERR_INVALID,
                                 "rrd: series %zu: unknown consolidation function '%.20s'", i + 1,
                                 lines[i].cf ? lines[i].cf : "");
    }
    /* One unit on the axis: the kind's when every line shares it. */
    const char *unit, *fmt;
    kind_unit(lines[0].kind, &unit, &fmt);
    for (size_t i = 1; i < n; i++)
        if (!lines[i].kind || !lines[0].kind || strcmp(lines[i].kind, lines[0].kind) != 0) {
            unit = NULL;
            fmt = "%6.2lf";
        }
    size_t namew = 0;
    for (size_t i = 0; i < n; i++) {
        size_t wd = u8_width(lines[i].name) + (strcmp(cf_canon(lines[i].cf), "AVERAGE") ? 10 : 0);
        if (wd > namew)
            namew = wd;
    }
    if (namew > 40)
        namew = 40;

    size_t cap = 48 + 2 * (sizeof theme / sizeof *theme) + 11 * n;
    char **argv = xcalloc(cap, sizeof *argv);
    int argc = 0;
#define ARG(s) (argv[argc++] = (s))
    ARG(xstrdup("graph"));
    ARG(xstrdup("-"));
    ARG(xstrdup("--imgformat=PNG"));
    ARG(xasprintf("--start=%lld", (long long)start));
    ARG(xasprintf("--end=%lld", (long long)end));
    ARG(xasprintf("--width=%u", width));
    ARG(xasprintf("--height=%u", height));
    ARG(xstrdup("--units-exponent=0"));
    ARG(xstrdup("--alt-y-grid"));
    ARG(xstrdup("--alt-autoscale"));
    ARG(xstrdup("--slope-mode"));
    ARG(xstrdup("--border=0"));
    for (size_t i = 0; i < sizeof theme / sizeof *theme; i++)
        ARG(xasprintf("--color=%s#%s", theme[i][0], theme[i][1]));
    if (title && *title) {
        ARG(xstrdup("--title"));
        ARG(xstrdup(title));
    }
    if (vlabel && *vlabel) {
        ARG(xstrdup("--vertical-label"));
        ARG(xstrdup(vlabel));
    } else if (unit) {
        ARG(xstrdup("--vertical-label"));
        ARG(xstrdup(unit));
    }
    if (daemon)
        ARG(xasprintf("--daemon=%s", daemon));
    /* The column heads over the legend's numbers (the colour box takes
     * about two characters, rrd_graph puts one space between items). */
    ARG(xasprintf("COMMENT:%*s%6s   %6s   %6s   %6s%s%s\\l", (int)namew + 2, "", "min", "avg",
                  "max", "last", unit ? "  " : "", unit ? unit : ""));
    for (size_t i = 0; i < n; i++) {
        const char *cfn = cf_canon(lines[i].cf);
        char *et = graph_escape(lines[i].target), *el = graph_escape(lines[i].name);
        char label[160];
        if (strcmp(cfn, "AVERAGE") == 0)
            snprintf(label, sizeof label, "%s", el);
        else
            snprintf(label, sizeof label, "%s (%s)", el, cfn);
        int pad = (int)namew - (int)u8_width(label);
        ARG(xasprintf("DEF:s%zu=%s:%s:%s", i, et, DS_NAME, cfn));
        ARG(xasprintf("VDEF:s%zumin=s%zu,MINIMUM", i, i));
        ARG(xasprintf("VDEF:s%zuavg=s%zu,AVERAGE", i, i));
        ARG(xasprintf("VDEF:s%zumax=s%zu,MAXIMUM", i, i));
        ARG(xasprintf("VDEF:s%zulast=s%zu,LAST", i, i));
        ARG(xasprintf("LINE2:s%zu#%s:%s%*s", i, palette[i % NPALETTE], label, pad > 0 ? pad : 0,
                      ""));
        ARG(xasprintf("GPRINT:s%zumin:%s", i, fmt));
        ARG(xasprintf("GPRINT:s%zuavg:%s", i, fmt));
        ARG(xasprintf("GPRINT:s%zumax:%s", i, fmt));
        ARG(xasprintf("GPRINT:s%zulast:%s\\l", i, fmt));
        free(et);
        free(el);
    }
#undef ARG
    *argv_out = argv;
    *argc_out = argc;
    return UL_OK;
}

ul_err rrdw_graph_png(rrdw *w, const char *node, const struct rrdw_series *series, size_t n,
                      time_t start, time_t end, const char *title, const char *vlabel,
                      unsigned width, unsigned height, unsigned char **png, size_t *len,
                      ul_errmsg *em)
{
    *png = NULL;
    *len = 0;
    if (!w)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no history store");
    ul_err rc = check_node(node, em);
    if (rc != UL_OK)
        return rc;
    if (!series || n < 1 || n > RRDW_GRAPH_MAX_SERIES)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: a graph takes 1..%d series, not %zu",
                             RRDW_GRAPH_MAX_SERIES, n);
    struct rrdw_graph_line lines[RRDW_GRAPH_MAX_SERIES] = {{0}};
    char *targets[RRDW_GRAPH_MAX_SERIES] = {0}, *names[RRDW_GRAPH_MAX_SERIES] = {0};
    int64_t oldest = 0;
    for (size_t i = 0; i < n && rc == UL_OK; i++) {
        if (!cf_canon(series[i].cf)) {
            rc = ul_errmsg_set(em, UL_ERR_INVALID,
                               "rrd: series %zu: unknown consolidation function '%.20s'", i + 1,
                               series[i].cf);
            break;
        }
        int64_t created = 0;
        rc = resolve(w, node, series[i].sensor, series[i].kind, &targets[i], &names[i], &created,
                     em);
        if (rc != UL_OK)
            break;
        /* Unknown creation (recovered entries): no clipping. */
        if (created <= 0)
            oldest = -1;
        else if (oldest == 0 || (oldest > 0 && created < oldest))
            oldest = created;
        lines[i] = (struct rrdw_graph_line){targets[i], names[i], series[i].kind, series[i].cf};
    }
    char **argv = NULL;
    int argc = 0;
    if (rc == UL_OK)
        rc = rrdw_graph_args(lines, n, rrdw_graph_start(start, end, oldest), end, title, vlabel,
                             width, height, w->daemon, &argv, &argc, em);
    if (rc == UL_OK) {
        /* rrd_graph_v permutes argv: hand it a copy of the pointers. */
        char **av = xcalloc((size_t)argc + 1, sizeof *av);
        memcpy(av, argv, (size_t)argc * sizeof *av);
        pthread_mutex_lock(&lib_lock);
        rrd_clear_error();
        rrd_info_t *info = rrd_graph_v(argc, av);
        if (!info) {
            rc = lib_fail(em, 0, "rrd: graph of node %s failed", node);
        } else {
            for (rrd_info_t *p = info; p; p = p->next)
                if (p->type == RD_I_BLO && strcmp(p->key, "image") == 0 && p->value.u_blo.size) {
                    *len = p->value.u_blo.size;
                    *png = xmalloc(*len);
                    memcpy(*png, p->value.u_blo.ptr, *len);
                }
            rrd_info_free(info);
            if (!*png)
                rc = ul_errmsg_set(em, UL_ERR_INTERNAL, "rrd: graph of node %s: no image", node);
        }
        pthread_mutex_unlock(&lib_lock);
        free(av);
    }
    rrdw_graph_args_free(argv, argc);
    for (size_t i = 0; i < n; i++) {
        free(targets[i]);
        free(names[i]);
    }
    return rc;
}

ul_err rrdw_graph_kind_png(rrdw *w, const char *node, const char *kind, time_t start, time_t end,
                           const char *title, const char *vlabel, unsigned width, unsigned height,
                           unsigned char **png, size_t *len, ul_errmsg *em)
{
    *png = NULL;
    *len = 0;
    if (!w)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no history store");
    ul_err rc = check_node(node, em);
    if (rc != UL_OK)
        return rc;
    if (!kind_ok(kind))
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: invalid kind '%.40s'", kind ? kind : "");
    struct node *nd = node_for_read(w, node);
    if (!nd)
        return ul_errmsg_set(em, UL_ERR_NOT_FOUND, "rrd: node %s has no history", node);
    char *names[RRDW_GRAPH_MAX_SERIES];
    size_t k = 0;
    pthread_mutex_lock(&nd->lock);
    rc = node_load(w, nd, em);
    for (size_t i = 0; rc == UL_OK && i < nd->n && k < RRDW_GRAPH_MAX_SERIES; i++)
        if (strcmp(nd->e[i].kind, kind) == 0)
            names[k++] = xstrdup(nd->e[i].name);
    pthread_mutex_unlock(&nd->lock);
    if (rc == UL_OK && k == 0)
        rc = ul_errmsg_set(em, UL_ERR_NOT_FOUND, "rrd: node %s has no %s history", node, kind);
    if (rc == UL_OK) {
        struct rrdw_series ser[RRDW_GRAPH_MAX_SERIES] = {{0}};
        for (size_t i = 0; i < k; i++)
            ser[i] = (struct rrdw_series){names[i], kind, NULL};
        rc =
            rrdw_graph_png(w, node, ser, k, start, end, title, vlabel, width, height, png, len, em);
    }
    for (size_t i = 0; i < k; i++)
        free(names[i]);
    return rc;
}

/* ------------------------------------------------------------------------ */
/* listing                                                                   */

ul_err rrdw_list(rrdw *w, const char *node, json_object **out, ul_errmsg *em)
{
    *out = NULL;
    if (!w)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: no history store");
    ul_err rc = check_node(node, em);
    if (rc != UL_OK)
        return rc;
    json_object *arr = json_object_new_array();
    struct node *nd = node_for_read(w, node);
    if (nd) {
        pthread_mutex_lock(&nd->lock);
        rc = node_load(w, nd, em);
        ul_errmsg fem;
        if (rc == UL_OK && nd->pend_since && node_flush(w, nd, &fem) != UL_OK)
            ul_warn("%s", fem.text);
        for (size_t i = 0; rc == UL_OK && i < nd->n; i++)
            json_object_array_add(arr, entry_json(&nd->e[i]));
        pthread_mutex_unlock(&nd->lock);
    }
    if (rc != UL_OK) {
        json_object_put(arr);
        return rc;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "node", json_object_new_string(node));
    json_object_object_add(o, "sensors", arr);
    *out = o;
    return UL_OK;
}

ul_err rrdw_file_name(rrdw *w, const char *node, const char *sensor, const char *kind, char *buf,
                      size_t len, ul_errmsg *em)
{
    if (!w || !buf || len < RRDW_FILE_MAX)
        return ul_errmsg_set(em, UL_ERR_INVALID, "rrd: file name buffer too small");
    ul_err rc = check_node(node, em);
    if (rc == UL_OK)
        rc = check_sensor(node, sensor, kind, em);
    if (rc != UL_OK)
        return rc;
    struct node *nd = node_lookup(w, node, true);
    pthread_mutex_lock(&nd->lock);
    rc = node_load(w, nd, em);
    if (rc == UL_OK) {
        long idx = entry_find(nd, kind, sensor);
        if (idx >= 0)
            snprintf(buf, len, "%s", nd->e[idx].file);
        else
            choose_file(nd, kind, sensor, buf);
    }
    pthread_mutex_unlock(&nd->lock);
    return rc;
}
