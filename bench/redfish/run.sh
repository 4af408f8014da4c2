#!/usr/bin/env bash
# bench/redfish/run.sh [N] - Redfish sensor sweeps: one sensors job per node
# on N emulated BMCs (tests/redfish/emulator.py, default N = 20) at once,
# underlayd's wall and CPU side by side with plain curl fetching the same
# resources (one process per BMC with keep-alive; one `curl --parallel`), and
# the emulators' own CPU.
#
# It starts one underlayd (poll scheduler off) and two sets of N emulators,
# one after the other: with TCP_NODELAY (bench/redfish/nodelay: the shipped
# emulator stalls ~40 ms on every request after a connection's first, an
# artefact no real BMC has), then as shipped.  It measures with
# bench/redfish/bench.py, prints one table and stops everything it started,
# by PID, also on error or Ctrl-C.  It prints figures; it asserts nothing
# about speed and is not part of `make check`.  The method and the figures
# of a run are in docs/benchmarks.md ("Redfish").
#
# Environment:
#   UNDERLAY_BUILD   an existing build directory to use as is; otherwise the
#                    source tree itself when it is configured in place
#                    (`make -s -j2` there), else a build in bench/build
#   BENCH_ROUNDS     timed rounds of N sweeps per row (default 30; more when
#                    N is small, so that every figure covers at least 600
#                    sweeps)
#   BENCH_SHIPPED=0  leave out the emulator-as-shipped set
#   BENCH_KEEP=1     keep the temporary directory (logs) for a post-mortem
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$HERE/../.." && pwd)
EMUCTL=$TOP/tests/redfish/emuctl.sh
ROUNDS=${BENCH_ROUNDS:-30}
MIN_SWEEPS=600

say() { printf '%s: %s\n' "$PROG" "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

N=${1:-20}
if ! [[ $N =~ ^[1-9][0-9]*$ ]] || [ "$N" -gt 200 ]; then
    die "N must be 1..200, got '$N'"
fi
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_ROUNDS must be a positive number"
rounds=$(((MIN_SWEEPS + N - 1) / N))
[ "$rounds" -ge "$ROUNDS" ] || rounds=$ROUNDS

# ---- cleanup: everything we start is recorded here and stopped by PID ------

WORK=$(mktemp -d "${TMPDIR:-/tmp}/ul-bench-redfish.XXXXXX")
EMUDIRS=()
DAEMON_PID=""

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

stop_emus() {
    local d
    for d in "${EMUDIRS[@]}"; do
        "$EMUCTL" stop "$d" >/dev/null 2>&1 || say "emulators in $d did not all stop"
    done
    EMUDIRS=()
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM HUP
    stop_pid "$DAEMON_PID"
    stop_emus
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

for t in python3 curl; do
    command -v "$t" >/dev/null 2>&1 || die "'$t' is not installed"
done

# ---- build -------------------------------------------------------------------

if [ -n "${UNDERLAY_BUILD:-}" ]; then
    BUILD=$(cd "$UNDERLAY_BUILD" && pwd) || die "UNDERLAY_BUILD: no such directory"
    [ -x "$BUILD/underlayd" ] || make -C "$BUILD" -s -j"$(nproc)" underlayd >&2 ||
        die "build failed"
elif [ -f "$TOP/config.status" ]; then
    BUILD=$TOP
    say "building in place in $TOP"
    make -C "$TOP" -s -j"$(nproc)" underlayd >&2 ||
        die "build failed (a tree in the middle of an edit? UNDERLAY_BUILD=DIR uses a build as is)"
else
    BUILD=$TOP/bench/build
    mkdir -p "$BUILD"
    [ -x "$TOP/configure" ] || (cd "$TOP" && autoreconf -fi) >&2 || die "autoreconf failed"
    if [ ! -f "$BUILD/config.status" ]; then
        say "configuring in $BUILD"
        (cd "$BUILD" && "$TOP/configure") >"$BUILD/configure.out" 2>&1 ||
            { tail -n 20 "$BUILD/configure.out" >&2; die "configure failed"; }
    fi
    say "building in $BUILD"
    make -C "$BUILD" -s -j"$(nproc)" underlayd >&2 || die "build failed"
fi
if grep -q '^UL_CFLAGS = .*-fsanitize' "$BUILD/Makefile" 2>/dev/null; then
    say "WARNING: $BUILD is built with sanitizers: its CPU figures are inflated"
fi
CFLAGS_USED=$(sed -n 's/^CFLAGS = //p' "$BUILD/Makefile" 2>/dev/null || true)

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

# start_emus DIR [ENV...]: N emulators on a free block of ports.
start_emus() {
    local dir=$1
    shift
    EMUDIRS+=("$dir")
    env "$@" "$EMUCTL" start "$N" auto "$dir" >"$dir.list" || die "emulators did not start"
}

# ---- the run -----------------------------------------------------------------------

T_START=$(date +%s)
RESULTS=$WORK/results.json
{
    echo "underlay Redfish benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
    echo "machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)," \
        "$(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)," \
        "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "underlay: $BUILD (CFLAGS ${CFLAGS_USED:-?}); $(python3 --version 2>&1);" \
        "$(curl --version | head -n 1 | cut -d' ' -f1-2)"
} >"$WORK/header.txt"
cat "$WORK/header.txt"

start_daemon "$WORK/data" --set poll.enabled=0

variant() { # NAME PREFIX LABEL [--fake] [ENV...]
    local name=$1 prefix=$2 label=$3 fake=()
    shift 3
    if [ "${1:-}" = --fake ]; then
        fake=(--fake)
        shift
    fi
    say "$label: starting $N emulators"
    start_emus "$WORK/emu-$name" "$@"
    python3 "$HERE/bench.py" main --results "$RESULTS" --n "$N" --emudir "$WORK/emu-$name" \
        --url "$DAEMON_URL" --token-file "$WORK/data/admin.token" --daemon-pid "$DAEMON_PID" \
        --variant "$name" --prefix "$prefix" --label "$label" --rounds "$rounds" "${fake[@]}" ||
        die "measurement failed ($label)"
    stop_emus
}

variant nodelay nd "emulator with TCP_NODELAY" --fake PYTHONPATH="$HERE/nodelay"
if [ "${BENCH_SHIPPED:-1}" != 0 ]; then
    variant shipped sh "emulator as shipped (Nagle + 40 ms delayed ACK)"
fi
stop_pid "$DAEMON_PID"
DAEMON_PID=""

echo
python3 "$HERE/bench.py" table --results "$RESULTS"
echo
echo "($(($(date +%s) - T_START)) s in all)"
cat <<'EOF'
wall/round: median time for one sweep of every BMC, all at once (underlayd:
  N POSTs, then GET /api/v1/jobs every 5 ms until none is queued or running).
CPU/sweep: underlayd's whole process (HTTP API, job records, driver) / sweeps;
  curl: the curl processes.  emu CPU: the emulators' (Python) per sweep.
latency: median of one sweep of one BMC at a time (underlayd: POST, then GET
  /jobs/ID every 2 ms; curl: one process).
EOF
