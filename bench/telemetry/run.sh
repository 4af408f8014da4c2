#!/usr/bin/env bash
# bench/telemetry/run.sh [N] - sustained polling and /metrics at fleet scale:
# underlayd's own poll scheduler sweeping N OpenIPMI ipmi_sim BMCs (default
# 100) every few seconds and writing every reading to RRD files, measured in
# windows: the default configuration (direct librrd, writes coalesced);
# direct librrd writing every reading at once; through an rrdcached this
# script starts; through rrdcached with every sweep on a new IPMI session
# (what a 60 s interval costs, bmc.session_idle being 45 s).  CPU per sweep
# of all processes is set against the in-process floor (bench/ipmi/
# sweep_floor.c); after each window, API reads (node, fleet, sensors) are
# timed while polling goes on, and RSS per node.  Then /metrics rendered for
# 10,000 nodes x 40 sensors (bench/telemetry/metrics_render.c), and the
# figures extrapolated to the target: 10,000 BMCs x 40 sensors every 60 s.
#
# It prints figures; it asserts nothing about speed and is not part of
# `make check`.  Everything it starts (simulators, underlayd, rrdcached)
# listens on 127.0.0.1 or a unix socket in its temporary directory and is
# stopped by its PID at the end, on error and on Ctrl-C.  The method and the
# figures of a run are in docs/benchmarks.md ("Telemetry").
#
# Environment:
#   UNDERLAY_BUILD   an existing build directory to use as is; otherwise the
#                    source tree itself when it is configured in place
#                    (`make -s -j2` there), else a build in bench/build
#   BENCH_INTERVAL   poll.sensor_interval (default 5 s)
#   BENCH_WORKERS    jobs.workers (default 16)
#   BENCH_WINDOW     measured seconds per mode (default 55)
#   BENCH_EXPIRED_WINDOW  the same for the new-session mode (default 15; 0
#                    leaves it out)
#   BENCH_RRDCACHED_WINDOW  the same for the rrdcached mode (default
#                    BENCH_WINDOW; 0 leaves out both rrdcached modes)
#   BENCH_API_SECONDS  API reads measured after each window (default 10; 0: none)
#   BENCH_NOHISTORY_WINDOW  the reference mode without history (rrd.enabled=0;
#                    default BENCH_WINDOW; 0 leaves it out)
#   BENCH_FAKE       also enrol this many fake:// nodes (no sensors, every poll
#                    "not supported"): a larger fleet for the API reads
#   BENCH_RENDER_NODES, BENCH_RENDER_SENSORS  /metrics size (10000, 40)
#   BENCH_KEEP=1     keep the temporary directory (logs) for a post-mortem
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SIMCTL=$TOP/tests/ipmisim/simctl.sh
INTERVAL=${BENCH_INTERVAL:-5}
WORKERS=${BENCH_WORKERS:-16}
WINDOW=${BENCH_WINDOW:-55}
EXPIRED_WINDOW=${BENCH_EXPIRED_WINDOW:-15}
RRDCACHED_WINDOW=${BENCH_RRDCACHED_WINDOW:-$WINDOW}
API_SECONDS=${BENCH_API_SECONDS:-10}
NOHISTORY_WINDOW=${BENCH_NOHISTORY_WINDOW:-$WINDOW}
FAKE=${BENCH_FAKE:-0}
RENDER_NODES=${BENCH_RENDER_NODES:-10000}
RENDER_SENSORS=${BENCH_RENDER_SENSORS:-40}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

N=${1:-100}
if ! [[ $N =~ ^[1-9][0-9]*$ ]] || [ "$N" -gt 2000 ]; then
    die "N must be 1..2000, got '$N'"
fi
for v in INTERVAL WORKERS WINDOW EXPIRED_WINDOW RRDCACHED_WINDOW NOHISTORY_WINDOW API_SECONDS FAKE \
    RENDER_NODES \
    RENDER_SENSORS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number"
done
[ "$INTERVAL" -ge 5 ] || die "BENCH_INTERVAL must be at least 5 (the scheduler's minimum)"

# ---- cleanup: everything we start is recorded here and stopped by PID ------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ul-bench-telemetry.XXXXXX")
SIMDIR=""
DAEMON_PID=""
RRDCACHED_PID=""

stop_pid() { # PID: TERM, then KILL after 10 s
    local pid=$1 i
    [ -n "$pid" ] || return 0
    kill -TERM "$pid" 2>/dev/null || return 0
    for ((i = 0; i < 100; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

stop_all() {
    stop_pid "$DAEMON_PID"
    DAEMON_PID=""
    stop_pid "$RRDCACHED_PID"
    RRDCACHED_PID=""
    if [ -n "$SIMDIR" ]; then
        "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1 || say "simulators in $SIMDIR did not all stop"
        SIMDIR=""
    fi
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_all
    if [ "${BENCH_KEEP:-0}" = 1 ] || [ "$rc" -ne 0 ]; then
        say "logs kept in $WORK"
    else
        rm -rf "$WORK"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP

# ---- dependencies ------------------------------------------------------------

"$SIMCTL" deps >/dev/null || die "ipmi_sim or FreeIPMI tools missing (scripts/deps.sh)"
for t in rrdcached rrdtool curl python3 pkg-config cc; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed (Debian: rrdcached, rrdtool, ...)"
done

# ---- build -------------------------------------------------------------------

LIBS=(collectors/libulcollectors.a ops/libulops.a bmc/libulbmc.a redfish/libulredfish.a core/libulcore.a
    common/libulcommon.a)
have_build() { # DIR
    local f
    for f in underlayd config.h "${LIBS[@]}"; do
        [ -e "$1/$f" ] || return 1
    done
}

if [ -n "${UNDERLAY_BUILD:-}" ]; then
    BUILD=$(cd "$UNDERLAY_BUILD" && pwd) || die "UNDERLAY_BUILD: no such directory"
    SRC=$(sed -n 's/^abs_top_srcdir = //p' "$BUILD/Makefile" 2>/dev/null || true)
    SRC=${SRC:-$TOP}
    if ! have_build "$BUILD"; then
        say "building in $BUILD"
        make -C "$BUILD" -s -j"$(nproc)" underlayd "${LIBS[@]}" >&2 || die "build failed"
    fi
elif [ -f "$TOP/config.status" ]; then
    SRC=$TOP
    BUILD=$TOP
    say "building in place in $TOP"
    make -C "$TOP" -s -j"$(nproc)" underlayd "${LIBS[@]}" >&2 ||
        die "build failed (a tree in the middle of an edit? UNDERLAY_BUILD=DIR uses a build as is)"
else
    SRC=$TOP
    BUILD=$TOP/bench/build
    mkdir -p "$BUILD"
    [ -x "$SRC/configure" ] || (cd "$SRC" && autoreconf -fi) >&2 || die "autoreconf failed"
    if [ ! -f "$BUILD/config.status" ]; then
        say "configuring in $BUILD"
        (cd "$BUILD" && "$SRC/configure") >"$BUILD/configure.out" 2>&1 ||
            { tail -n 20 "$BUILD/configure.out" >&2; die "configure failed"; }
    fi
    say "building in $BUILD"
    make -C "$BUILD" -s -j"$(nproc)" underlayd "${LIBS[@]}" >&2 || die "build failed"
fi
if grep -q '^UL_CFLAGS = .*-fsanitize' "$BUILD/Makefile" 2>/dev/null; then
    say "WARNING: $BUILD is built with sanitizers: its CPU figures are inflated"
fi
CFLAGS_USED=$(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile" 2>/dev/null || true)
read -r -a CFLAGS_ARR <<<"${CFLAGS_USED:--O2 -g}"

# The helper is built into the temporary directory (a build tree that is not
# ours is never written to).
RENDER=$WORK/metrics_render
LIBPATHS=()
for l in "${LIBS[@]}"; do LIBPATHS+=("$BUILD/$l"); done
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
cc "${CFLAGS_ARR[@]}" -I"$SRC" -I"$SRC/common" -I"$BUILD" -o "$RENDER" \
    "$HERE/metrics_render.c" "${LIBPATHS[@]}" \
    $(pkg-config --cflags --libs libfreeipmi json-c libsodium sqlite3 libcurl librrd) \
    -pthread -lm || die "cannot build bench/telemetry/metrics_render.c"

# The in-process floor (bench/ipmi/sweep_floor.c), built the same way.
FLOOR=$WORK/sweep_floor
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
cc "${CFLAGS_ARR[@]}" -I"$SRC" -I"$SRC/common" -I"$BUILD" -o "$FLOOR" \
    "$TOP/bench/ipmi/sweep_floor.c" "$BUILD/bmc/libulbmc.a" "$BUILD/redfish/libulredfish.a" \
    "$BUILD/core/libulcore.a" "$BUILD/common/libulcommon.a" \
    $(pkg-config --cflags --libs libfreeipmi libcurl json-c libsodium sqlite3) -pthread -lm ||
    die "cannot build bench/ipmi/sweep_floor.c"

# ---- processes ---------------------------------------------------------------------

free_port() {
    python3 -c 'import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# start_daemon DIR [UNDERLAYD ARGS...]: underlayd on a free 127.0.0.1 port;
# sets DAEMON_PID, DAEMON_URL.
start_daemon() {
    local dir=$1 port mark i _
    shift
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        "$BUILD/underlayd" -d "$dir" -l "127.0.0.1:$port" "$@" >>"$dir/daemon.log" 2>&1 \
            </dev/null &
        DAEMON_PID=$!
        mark="API on http://127.0.0.1:$port/api/v1"
        for ((i = 0; i < 150; i++)); do
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            if grep -qsF "$mark" "$dir/daemon.log" &&
                [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
                    "http://127.0.0.1:$port/healthz")" = 200 ]; then
                DAEMON_URL=http://127.0.0.1:$port
                return 0
            fi
            sleep 0.1
        done
        stop_pid "$DAEMON_PID"
        DAEMON_PID=""
        grep -q "cannot listen" "$dir/daemon.log" || break
    done
    tail -n 20 "$dir/daemon.log" >&2
    die "underlayd did not start"
}

# start_rrdcached: the set-up docs/rrd.md recommends (journal, flush at exit,
# writes spread over 30 min), on a unix socket; sets RRDCACHED_PID.
RRDC_SOCK=$WORK/rrdcached/sock
start_rrdcached() {
    local i
    mkdir -p "$WORK/rrdcached/journal"
    rrdcached -g -l "unix:$RRDC_SOCK" -b "$DATA/rrd" -B -j "$WORK/rrdcached/journal" -F \
        -w 1800 -z 1800 >>"$WORK/rrdcached/log" 2>&1 </dev/null &
    RRDCACHED_PID=$!
    for ((i = 0; i < 100; i++)); do
        kill -0 "$RRDCACHED_PID" 2>/dev/null || break
        [ -S "$RRDC_SOCK" ] && return 0
        sleep 0.1
    done
    tail -n 20 "$WORK/rrdcached/log" >&2
    die "rrdcached did not start"
}

# ---- the run -----------------------------------------------------------------------

T_START=$(date +%s)
RESULTS=$WORK/results.json
{
    echo "underlay telemetry benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "underlay: $BUILD (CFLAGS ${CFLAGS_USED:-?})"
    echo "peers: $(dpkg-query -W -f '${Package} ${Version}, ' openipmi rrdcached librrd8 \
        2>/dev/null | sed 's/, $//')"
} >"$WORK/header.txt"
cat "$WORK/header.txt"

# /metrics rendering first, while nothing else of ours runs.
python3 "$HERE/bench.py" render --results "$RESULTS" --metrics-render "$RENDER" \
    --render-nodes "$RENDER_NODES" --render-sensors "$RENDER_SENSORS" ||
    die "metrics_render failed"

say "starting $N simulators"
SIMDIR=$WORK/sim
"$SIMCTL" start "$N" auto "$SIMDIR" >&2 || die "simulators did not start"

DATA=$WORK/data
mkdir -p "$DATA/rrd" && chmod 0700 "$DATA"
# Enrol with polling off, so the scheduler finds every node at its start.
start_daemon "$DATA" --set poll.enabled=0
python3 "$HERE/bench.py" enroll --results "$RESULTS" --n "$N" --fake "$FAKE" --simdir "$SIMDIR" \
    --url "$DAEMON_URL" --token-file "$DATA/admin.token" || die "enrolment failed"
stop_pid "$DAEMON_PID"
DAEMON_PID=""

POLL=(--set poll.enabled=1 --set poll.sensor_interval="$INTERVAL"
    --set poll.sel_interval=3600 --set poll.inventory_interval=86400 --set jobs.workers="$WORKERS")

measure() { # MODE LABEL WINDOW [UNDERLAYD ARGS...]
    local mode=$1 label=$2 window=$3 rrdc=()
    shift 3
    start_daemon "$DATA" "${POLL[@]}" "$@"
    case $mode in
    rrdcached | expired) rrdc=(--rrdcached-sock "$RRDC_SOCK" --rrdcached-pid "$RRDCACHED_PID") ;;
    esac
    python3 "$HERE/bench.py" poll --results "$RESULTS" --n "$N" --simdir "$SIMDIR" \
        --url "$DAEMON_URL" --token-file "$DATA/admin.token" --daemon-pid "$DAEMON_PID" \
        --mode "$mode" --label "$label" --interval "$INTERVAL" --workers "$WORKERS" \
        --window "$window" --api-seconds "$API_SECONDS" --fake "$FAKE" \
        --rrd-dir "$DATA/rrd" "${rrdc[@]}" || die "measurement failed ($label)"
    stop_pid "$DAEMON_PID"
    DAEMON_PID=""
}

python3 "$HERE/bench.py" floor --results "$RESULTS" --n "$N" --simdir "$SIMDIR" \
    --url "$DAEMON_URL" --token-file "$DATA/admin.token" --floor "$FLOOR" ||
    die "in-process floor failed"

# The default configuration: no rrdcached, direct writes coalesced.  Its
# rrd.flush_interval (600 s) is scaled to this run's interval so each file
# open carries as many readings as at the default 60 s interval (10), and
# the window holds whole flush cycles.
FLUSH=$((INTERVAL * 10))
measure default "default (coalesced, ${FLUSH} s)" "$WINDOW" --set rrd.flush_interval="$FLUSH"
measure direct "direct librrd, no coalescing" "$WINDOW" --set rrd.flush_interval=0
# What the poll path costs without any history: the rest of the gap to the
# floor is not RRD's.
[ "$NOHISTORY_WINDOW" -eq 0 ] ||
    measure nohistory "no history (reference)" "$NOHISTORY_WINDOW" --set rrd.enabled=0
[ "$RRDCACHED_WINDOW" -gt 0 ] || { EXPIRED_WINDOW=0; SKIP_RRDCACHED=1; }
[ -n "${SKIP_RRDCACHED:-}" ] || start_rrdcached
[ -n "${SKIP_RRDCACHED:-}" ] ||
    measure rrdcached "rrdcached" "$RRDCACHED_WINDOW" --set rrd.rrdcached="unix:$RRDC_SOCK"
if [ "$EXPIRED_WINDOW" -gt 0 ]; then
    # bmc.session_idle=1: every sweep finds its session closed, as every
    # sweep does at the default 60 s interval (bmc.session_idle 45 s).
    measure expired "rrdcached, new session/sweep" "$EXPIRED_WINDOW" \
        --set rrd.rrdcached="unix:$RRDC_SOCK" --set bmc.session_idle=1
fi
stop_all

echo
python3 "$HERE/bench.py" table --results "$RESULTS"
echo
echo "($(($(date +%s) - T_START)) s in all)"
cat <<'EOF'
sweeps/s, values/s: sensor sweeps completed (underlay_polls_total) and readings
  accepted for RRD per second of the window.  CPU/sweep: underlayd's whole process
  (scheduler, IPMI, latest readings, RRD writes) per sweep; rrdcd: rrdcached's;
  sim: the simulators' (ipmi_sim, with the chassis_control.sh it runs for every
  Get Chassis Status).  poll: median underlay_poll_duration_seconds.  daemon
  CPU %: of one core, over the window.
EOF
