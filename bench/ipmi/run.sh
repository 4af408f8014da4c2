#!/usr/bin/env bash
# bench/ipmi/run.sh [N...] - IPMI sensor sweeps and power status fan-out:
# underlayd side by side with FreeIPMI's ipmi-sensors and ipmipower and the
# Prometheus IPMI exporter, against N OpenIPMI ipmi_sim BMCs on 127.0.0.1.
#
# For each N (default: 20 100) it starts N simulators, one exporter and, one
# after the other, three underlayd (default settings; bmc.session_idle=1 so
# every sweep finds its session expired; its own poll scheduler every 5 s),
# measures (bench/ipmi/bench.py), prints one table, and stops everything it
# started, by PID, also on error or Ctrl-C.  It prints figures;
# it asserts nothing about speed and is not part of `make check`.  The method
# and the figures of a run are in docs/benchmarks.md.
#
# Environment:
#   UNDERLAY_BUILD   an existing build directory (underlayd, underlay and the
#                    module libraries in it) to use as is; otherwise underlay
#                    is built without sanitizers in bench/build
#   BENCH_ROUNDS     timed rounds over all N BMCs per tool (default 5; more
#                    when N is small, so every figure covers at least
#                    BENCH_MIN_SWEEPS sweeps, default 200)
#   BENCH_COLD_ROUNDS  rounds on expired sessions (default 3)
#   BENCH_PARALLEL   sweeps in flight at once for ipmi-sensors and the
#                    exporter (default 16 = underlayd's jobs.workers)
#   BENCH_LATENCY    one-at-a-time samples for the latency column (default 15)
#   BENCH_POLL_INTERVAL, BENCH_POLL_WINDOW  the poll scheduler's sensor
#                    interval and the measured window (default 5 s, 15 s)
#   BENCH_KEEP=1     keep the temporary directory (logs) for a post-mortem
#
# Installs what is missing when run as root: scripts/deps.sh, and
# prometheus-ipmi-exporter (without it the exporter rows are left out).
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
SIMCTL=$TOP/tests/ipmisim/simctl.sh
ROUNDS=${BENCH_ROUNDS:-5}
MIN_SWEEPS=${BENCH_MIN_SWEEPS:-200}
COLD_ROUNDS=${BENCH_COLD_ROUNDS:-3}
PARALLEL=${BENCH_PARALLEL:-16}
LATENCY=${BENCH_LATENCY:-15}

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

SIZES=("$@")
[ ${#SIZES[@]} -gt 0 ] || SIZES=(20 100)
for n in "${SIZES[@]}"; do
    if ! [[ $n =~ ^[1-9][0-9]*$ ]] || [ "$n" -gt 2000 ]; then
        die "N must be 1..2000, got '$n'"
    fi
done

# ---- cleanup: everything we start is recorded here and stopped by PID ------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ul-bench-ipmi.XXXXXX")
SIMDIRS=()
DAEMON_PID=""
EXPORTER_PID=""

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
    stop_pid "$EXPORTER_PID"
    EXPORTER_PID=""
    local d
    for d in "${SIMDIRS[@]}"; do
        "$SIMCTL" stop "$d" >/dev/null 2>&1 || say "simulators in $d did not all stop"
    done
    SIMDIRS=()
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

"$TOP/scripts/deps.sh" >&2 || die "dependencies missing (run as root to install them)"
if ! command -v prometheus-ipmi-exporter >/dev/null 2>&1; then
    if [ "$(id -u)" -eq 0 ]; then
        say "installing prometheus-ipmi-exporter"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq prometheus-ipmi-exporter >&2 ||
            { apt-get update -qq && apt-get install -y -qq prometheus-ipmi-exporter >&2; } ||
            die "cannot install prometheus-ipmi-exporter"
        say "note: the package enables its own service (all addresses, port 9290);" \
            "'systemctl disable --now prometheus-ipmi-exporter' if you do not want it"
    else
        say "prometheus-ipmi-exporter is not installed (run as root to install it):" \
            "the exporter rows are left out"
    fi
fi
"$SIMCTL" deps >/dev/null || die "ipmi_sim or FreeIPMI tools missing"
for t in ipmi-sensors ipmipower curl python3 pkg-config cc; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed"
done

# ---- build -------------------------------------------------------------------

LIBS=(daemon/libuldaemon.a redfish/libulredfish.a bmc/libulbmc.a core/libulcore.a
    common/libulcommon.a)
have_build() { # DIR
    local f
    for f in underlayd underlay config.h "${LIBS[@]}"; do
        [ -e "$1/$f" ] || return 1
    done
}

if [ -n "${UNDERLAY_BUILD:-}" ]; then
    BUILD=$(cd "$UNDERLAY_BUILD" && pwd) || die "UNDERLAY_BUILD: no such directory"
    SRC=$(sed -n 's/^abs_top_srcdir = //p' "$BUILD/Makefile" 2>/dev/null || true)
    SRC=${SRC:-$TOP}
    if ! have_build "$BUILD"; then
        say "building in $BUILD"
        make -C "$BUILD" -j"$(nproc)" underlayd underlay "${LIBS[@]}" >&2 ||
            die "build failed"
    fi
else
    # A VPATH build in bench/build.  A source tree configured in place
    # refuses VPATH builds, so then a copy of the working tree (tracked and
    # untracked files, .gitignore respected) is built in bench/build/src;
    # tar keeps mtimes, so make rebuilds only what changed.
    if [ -f "$TOP/config.status" ]; then
        if ! git -C "$TOP" rev-parse --git-dir >/dev/null 2>&1; then
            die "$TOP is configured in place and is not a git checkout: set UNDERLAY_BUILD"
        fi
        SRC=$TOP/bench/build/src
        BUILD=$SRC
        mkdir -p "$SRC"
        (cd "$TOP" && git ls-files -z -c -o --exclude-standard | grep -z -v '^bench/build/' |
            tar --null -T - -cf -) | tar -xf - -C "$SRC" || die "cannot copy the source tree"
    else
        SRC=$TOP
        BUILD=$TOP/bench/build
        mkdir -p "$BUILD"
    fi
    if [ ! -x "$SRC/configure" ]; then
        say "autoreconf in $SRC"
        (cd "$SRC" && autoreconf -fi) >&2 || die "autoreconf failed"
    fi
    if [ ! -f "$BUILD/config.status" ]; then
        say "configuring in $BUILD"
        (cd "$BUILD" && "$SRC/configure") >"$BUILD/configure.out" 2>&1 ||
            { tail -n 20 "$BUILD/configure.out" >&2; die "configure failed"; }
    fi
    say "building in $BUILD"
    make -C "$BUILD" -s -j"$(nproc)" underlayd underlay "${LIBS[@]}" >&2 ||
        die "build failed (a tree in the middle of an edit? UNDERLAY_BUILD=DIR uses a build as is)"
fi
if grep -q '^UL_CFLAGS = .*-fsanitize' "$BUILD/Makefile" 2>/dev/null; then
    say "WARNING: $BUILD is built with sanitizers: its CPU figures are inflated"
fi
CFLAGS_USED=$(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile" 2>/dev/null || true)
read -r -a CFLAGS_ARR <<<"${CFLAGS_USED:--O2 -g}"

# The floor helper is built into the temporary directory, so a build tree
# that is not ours is never written to.
FLOOR=$WORK/sweep_floor
# shellcheck disable=SC2046 # pkg-config's output is meant to be split
cc "${CFLAGS_ARR[@]}" -I"$SRC" -I"$SRC/common" -I"$BUILD" -o "$FLOOR" \
    "$HERE/sweep_floor.c" "$BUILD/daemon/libuldaemon.a" "$BUILD/redfish/libulredfish.a" \
    "$BUILD/bmc/libulbmc.a" "$BUILD/core/libulcore.a" "$BUILD/common/libulcommon.a" \
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
    mkdir -p "$dir" && chmod 0700 "$dir"
    for _ in 1 2 3 4 5; do
        port=$(free_port)
        "$BUILD/underlayd" -d "$dir" -l "127.0.0.1:$port" "$@" >>"$dir/daemon.log" 2>&1 \
            </dev/null &
        DAEMON_PID=$!
        mark="API on http://127.0.0.1:$port/api/v1"
        for ((i = 0; i < 150; i++)); do
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            if grep -qF "$mark" "$dir/daemon.log" &&
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

# start_exporter DIR: the Prometheus IPMI exporter in multi-target mode on a
# free 127.0.0.1 port; sets EXPORTER_PID, EXPORTER_URL.
start_exporter() {
    local dir=$1 port i
    mkdir -p "$dir/sdr-cache" "$dir/home" && chmod 0700 "$dir" "$dir/sdr-cache"
    # "bench": the collectors a module gets by default (bmc, ipmi, chassis,
    # dcmi); "sensors": the ipmi collector (ipmimonitoring) alone.  The SDR
    # cache goes to our directory instead of ~/.freeipmi.  FreeIPMI's default
    # cipher suite is 3, which ipmi_sim offers.
    local common="    user: \"admin\"
    pass: \"password\"
    driver: \"LAN_2_0\"
    privilege: \"admin\"
    timeout: 10000
    workaround_flags:
    - opensesspriv
    custom_args:
      ipmi:
      - \"--sdr-cache-directory=$dir/sdr-cache\""
    (
        umask 077
        cat >"$dir/ipmi.yml" <<EOF
modules:
  default:
    collectors: []
  bench:
$common
    collectors: [bmc, ipmi, chassis, dcmi]
  sensors:
$common
    collectors: [ipmi]
EOF
    )
    port=$(free_port)
    HOME=$dir/home prometheus-ipmi-exporter --config.file="$dir/ipmi.yml" \
        --web.listen-address="127.0.0.1:$port" >>"$dir/exporter.log" 2>&1 </dev/null &
    EXPORTER_PID=$!
    for ((i = 0; i < 100; i++)); do
        kill -0 "$EXPORTER_PID" 2>/dev/null || break
        if [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
            "http://127.0.0.1:$port/")" = 200 ]; then
            EXPORTER_URL=http://127.0.0.1:$port
            return 0
        fi
        sleep 0.1
    done
    tail -n 20 "$dir/exporter.log" >&2
    die "prometheus-ipmi-exporter did not start"
}

# A daemon with the background poll scheduler (poll.* keys) polls every node
# by itself: off while we count sweeps we asked for, and measured on its own.
POLL_OFF=()
HAVE_POLLER=0
if "$BUILD/underlayd" --check-config --set poll.enabled=0 >/dev/null 2>&1; then
    POLL_OFF=(--set poll.enabled=0)
    HAVE_POLLER=1
fi
POLL_INTERVAL=${BENCH_POLL_INTERVAL:-5}
POLL_WINDOW=${BENCH_POLL_WINDOW:-15}

# ---- the runs ---------------------------------------------------------------------

{
    echo "underlay IPMI benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
    echo "underlay: $BUILD (CFLAGS ${CFLAGS_USED:-?})"
    echo "peers: $(dpkg-query -W -f '${Package} ${Version}, ' freeipmi-tools openipmi \
        prometheus-ipmi-exporter 2>/dev/null | sed 's/, $//')"
} >"$WORK/header.txt"
cat "$WORK/header.txt"

for n in "${SIZES[@]}"; do
    D=$WORK/n$n
    rounds=$(((MIN_SWEEPS + n - 1) / n))
    [ "$rounds" -ge "$ROUNDS" ] || rounds=$ROUNDS
    mkdir -p "$D"
    say "N=$n: starting $n simulators"
    SIMDIRS+=("$D/sim")
    "$SIMCTL" start "$n" auto "$D/sim" >&2 || die "simulators did not start"
    start_daemon "$D/data" "${POLL_OFF[@]}"
    exporter_args=()
    if command -v prometheus-ipmi-exporter >/dev/null 2>&1; then
        start_exporter "$D/exporter"
        exporter_args=(--exporter-url "$EXPORTER_URL" --exporter-pid "$EXPORTER_PID")
    fi
    python3 "$HERE/bench.py" main --results "$D/results.json" --n "$n" --simdir "$D/sim" \
        --workdir "$D" --url "$DAEMON_URL" --token-file "$D/data/admin.token" \
        --daemon-pid "$DAEMON_PID" --cli "$BUILD/underlay" --floor "$FLOOR" \
        "${exporter_args[@]}" --rounds "$rounds" --parallel "$PARALLEL" \
        --latency-samples "$LATENCY" || die "measurement failed (N=$n)"
    # Sweeps on expired sessions: what every sweep costs when the poll
    # interval is longer than bmc.session_idle (45 s by default).
    stop_pid "$DAEMON_PID"
    DAEMON_PID=""
    start_daemon "$D/data-idle" --set bmc.session_idle=1 "${POLL_OFF[@]}"
    python3 "$HERE/bench.py" cold --results "$D/results.json" --n "$n" --simdir "$D/sim" \
        --workdir "$D" --url "$DAEMON_URL" --token-file "$D/data-idle/admin.token" \
        --daemon-pid "$DAEMON_PID" --rounds "$COLD_ROUNDS" ||
        die "measurement failed (N=$n, expired sessions)"
    stop_pid "$DAEMON_PID"
    DAEMON_PID=""
    if [ "$HAVE_POLLER" = 1 ]; then
        # The same data directory (the N nodes are enrolled, their SDR caches
        # on disk), default session settings, only sensor sweeps due.
        start_daemon "$D/data-idle" --set poll.enabled=1 \
            --set poll.sensor_interval="$POLL_INTERVAL" --set poll.sel_interval=604800 \
            --set poll.inventory_interval=2592000
        python3 "$HERE/bench.py" poller --results "$D/results.json" --n "$n" \
            --simdir "$D/sim" --workdir "$D" --url "$DAEMON_URL" \
            --token-file "$D/data-idle/admin.token" --daemon-pid "$DAEMON_PID" \
            --poll-interval "$POLL_INTERVAL" --poll-window "$POLL_WINDOW" ||
            say "WARNING: the poll scheduler could not be measured (N=$n): row left out"
    fi
    python3 "$HERE/bench.py" table --results "$D/results.json" >"$D/table.txt"
    cat "$D/table.txt"
    echo
    stop_all
done

if [ ${#SIZES[@]} -gt 1 ]; then
    echo "==== all sizes ===="
    cat "$WORK/header.txt"
    for n in "${SIZES[@]}"; do
        cat "$WORK/n$n/table.txt"
        echo
    done
fi
cat <<'EOF'
CPU/sweep: the tool's CPU per sensor sweep of one BMC (underlayd: the daemon's
  whole process, HTTP and job bookkeeping included; ipmi-sensors: the process;
  exporter: exporter + the FreeIPMI tools it forks).  sim CPU: ipmi_sim's.
wall/sweep: wall time of the timed rounds / sweeps, with underlayd's 16 workers
  or BENCH_PARALLEL runs in flight.  latency: median of one sweep at a time.
EOF
