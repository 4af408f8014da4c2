#!/usr/bin/env bash
# simctl.sh - start, drive and stop simulated BMCs (OpenIPMI ipmi_sim) for the
# IPMI integration tests and benchmarks.  See README.md in this directory.
#
#   simctl.sh deps                          exit 0 if ipmi_sim, FreeIPMI and
#                                           python3 are installed
#   simctl.sh start N BASEPORT DIR          start bmc0..bmc<N-1> on 127.0.0.1,
#                                           LAN (UDP) ports BASEPORT..+N-1
#                                           (BASEPORT "auto": a free block in
#                                           20000-32767, see "info")
#   simctl.sh stop DIR                      stop every instance recorded in DIR
#   simctl.sh kill DIR INDEX                SIGKILL one instance (dead BMC)
#   simctl.sh restart DIR INDEX             start a killed/stopped instance
#                                           again (same ports, fresh BMC state)
#   simctl.sh status DIR                    one line per instance
#   simctl.sh info DIR INDEX                SIM_PORT=... lines, for eval
#   simctl.sh set-sensor DIR INDEX SENSOR RAW [--event]
#                                           set an analog reading (raw byte)
#   simctl.sh set-reading DIR INDEX SENSOR VALUE [--event]
#                                           same, VALUE in the sensor's unit
#   simctl.sh set-bit DIR INDEX SENSOR OFFSET 0|1 [--event]
#                                           assert/deassert a discrete state
#   simctl.sh add-sel DIR INDEX SENSOR EVTYPE DATA1 [DATA2 [DATA3]]
#                                           append a system event record
#   simctl.sh console DIR INDEX COMMAND...  send one ipmi_sim_cmd(5) command
#
# SENSOR is a sensor number (0x02, 2) or an exact sensor name ("CPU1 Temp").
# --event lets the change log SEL events the way a real BMC would (threshold
# crossings, discrete state changes); without it the SEL is left alone.
#
# Instances are named bmc0, bmc1...  Each has DIR/NAME.pid (its PID) and a
# directory DIR/NAME/ (lan.conf, the FRU image, chassis.state, ipmi_sim's
# state and log).  The emulator console of an instance listens on TCP port
# PORT + SIMCTL_CONSOLE_OFFSET (default 0: the same number as its UDP LAN
# port; TCP and UDP ports are distinct).  Processes are only ever signalled
# through the PIDs recorded in DIR, after checking that the PID still is
# that ipmi_sim.
#
# Environment: SIMCTL_TIMEOUT (seconds to wait for an instance to answer,
# default 15), SIMCTL_CONSOLE_OFFSET (default 0), SIMCTL_SOL_BASE (unset: no
# Serial-over-LAN; a port P: instance i's SOL is the TCP peer 127.0.0.1:P+i,
# which must listen before start, e.g. serial_host.py; see README.md).

set -u
set -o pipefail

SIMDIR=$(cd "$(dirname "$0")" && pwd) || exit 1
PROG=${0##*/}

# Credentials and FreeIPMI options that work against ipmi_sim (README.md).
SIM_USER="admin"
SIM_PASS="password"
FREEIPMI_OPTS=(-D LAN_2_0 -I 3 -W opensesspriv -u "$SIM_USER" -p "$SIM_PASS" -l ADMIN)

TIMEOUT=${SIMCTL_TIMEOUT:-15}
CONSOLE_OFFSET=${SIMCTL_CONSOLE_OFFSET:-0}

die() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 1
}

usage() {
    awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0" >&2
    exit 2
}

is_uint() {
    [[ $1 =~ ^[0-9]+$ ]]
}

# Paths go into lan.conf and through popen(): refuse anything exotic.
check_path() {
    [[ $1 =~ ^[A-Za-z0-9_./+@:,-]+$ ]] ||
        die "unsupported characters in path '$1' (use a plain path)"
}

abs_dir() {
    (cd "$1" 2>/dev/null && pwd) || die "no such directory: $1"
}

now() {
    date +%s.%N
}

# elapsed_ms START: milliseconds since START (a `now` value).
elapsed_ms() {
    local end
    end=$(now)
    awk -v a="$1" -v b="$end" 'BEGIN { printf "%d", (b - a) * 1000 }'
}

# ---- instance bookkeeping -------------------------------------------------

# load_instance DIR INDEX: set NAME, IDIR, PORT, CONSOLE_PORT, PIDFILE.
load_instance() {
    local dir=$1 index=$2
    is_uint "$index" || die "bad instance index '$index'"
    NAME=bmc$index
    IDIR=$dir/$NAME
    PIDFILE=$dir/$NAME.pid
    [ -f "$IDIR/instance.env" ] || die "no instance $index in $dir"
    PORT='' CONSOLE_PORT=''
    # shellcheck disable=SC1091
    . "$IDIR/instance.env"
    if [ -z "$PORT" ] || [ -z "$CONSOLE_PORT" ]; then
        die "corrupt $IDIR/instance.env"
    fi
}

# recorded_pid: the PID in the loaded instance's pid file if that process
# exists and is not a zombie; empty otherwise.
recorded_pid() {
    local pid state
    [ -f "$PIDFILE" ] || return 0
    pid=$(cat "$PIDFILE" 2>/dev/null) || return 0
    is_uint "$pid" || return 0
    state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1) || return 0
    [ -n "$state" ] && [ "$state" != Z ] && printf '%s\n' "$pid"
}

# pid_of: the recorded PID if that process is alive and still our ipmi_sim
# (guards against PID reuse); empty otherwise.
pid_of() {
    local pid cmdline
    pid=$(recorded_pid)
    [ -n "$pid" ] || return 0
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
    case $cmdline in
    *ipmi_sim*"$IDIR/lan.conf"*) printf '%s\n' "$pid" ;;
    esac
}

instances() {
    local dir=$1 f
    for f in "$dir"/bmc*/instance.env; do
        [ -f "$f" ] || continue
        f=${f%/instance.env}
        printf '%s\n' "${f##*/bmc}"
    done | sort -n
}

# ---- the emulator console -------------------------------------------------

# console_send PORT CMD...: send each CMD (one line each) to the ipmi_sim
# console on 127.0.0.1:PORT, wait for every prompt, print the output (without
# echo and prompts).  Fails if the console cannot be reached in time or if a
# command reports an error ("**..." lines).
console_send() {
    local port=$1 fd out='' chunk n=0 want deadline
    shift
    want=$(($# + 1))        # the greeting prompt, then one per command
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" 2>/dev/null || {
        printf '%s: cannot connect to the console on 127.0.0.1:%s\n' "$PROG" "$port" >&2
        return 1
    }
    printf '%s\n' "$@" >&"$fd"
    deadline=$((SECONDS + 5))
    while [ "$n" -lt "$want" ] && [ "$SECONDS" -le "$deadline" ]; do
        if IFS= read -r -d '>' -t 1 -u "$fd" chunk; then
            out+=$chunk
            n=$((n + 1))
        else
            out+=$chunk
        fi
    done
    exec {fd}>&-
    # Drop telnet negotiation bytes and CRs, and the echoed command lines.
    out=$(printf '%s' "$out" | LC_ALL=C tr -d '\r\377\373\375\376\001\003' |
        sed 's/^ //' | LC_ALL=C grep -v -x -F -e '' "${@/#/-e}")
    [ -n "$out" ] && printf '%s\n' "$out"
    if [ "$n" -lt "$want" ]; then
        printf '%s: console on port %s did not answer\n' "$PROG" "$port" >&2
        return 1
    fi
    if printf '%s\n' "$out" | grep -q '^\*\*'; then
        return 1
    fi
    return 0
}

# ---- sensors.tsv lookups --------------------------------------------------

# sensor_row SENSOR: print the sensors.tsv line for a number or a name.
sensor_row() {
    local key=$1 num='' row
    if [[ $key =~ ^(0[xX][0-9a-fA-F]{1,2}|[0-9]{1,3})$ ]]; then
        num=$(printf '0x%02x' "$((key))")
    fi
    row=$(awk -F'\t' -v key="$key" -v num="$num" '
        /^#/ { next }
        (num != "" && $1 == num) || $2 == key { print; exit }
        ' "$SIMDIR/sensors.tsv")
    [ -n "$row" ] || die "unknown sensor '$key' (see $SIMDIR/sensors.tsv)"
    printf '%s\n' "$row"
}

sensor_field() {    # sensor_field ROW N
    printf '%s\n' "$1" | awk -F'\t' -v n="$2" '{ print $n }'
}

# ---- start / stop ---------------------------------------------------------

# launch DIR INDEX: (re)create the instance's BMC state and start ipmi_sim in
# the background; the instance's files must already be prepared.
launch() {
    local dir=$1 index=$2 pid
    load_instance "$dir" "$index"
    # Fresh BMC state (SEL, users...) on every start; the SDR repository is
    # the committed one, loaded by "mc_add ... persist_sdr" in server.emu.
    rm -rf "$IDIR/state"
    mkdir -p "$IDIR/state/ipmi_sim/$NAME" || die "cannot create $IDIR/state"
    cp "$SIMDIR/sdr.20.main" "$IDIR/state/ipmi_sim/$NAME/sdr.20.main" ||
        die "cannot install the SDR repository"
    (
        # Do not hand the caller's descriptors (test harness pipes) to the
        # daemon: it would keep them open.
        for fdpath in "/proc/$BASHPID/fd/"*; do
            fdnum=${fdpath##*/}
            [ "$fdnum" -gt 2 ] 2>/dev/null && eval "exec $fdnum>&-"
        done
        exec ipmi_sim -n -c "$IDIR/lan.conf" -f "$IDIR/instance.emu" \
            -s "$IDIR/state" </dev/null >>"$IDIR/ipmi_sim.log" 2>&1
    ) &
    pid=$!
    printf '%s\n' "$pid" >"$PIDFILE"
}

# wait_ready DIR INDEX: wait until the instance answers Get Device ID through
# FreeIPMI, then set its SEL clock to now and load the initial SEL.
wait_ready() {
    local dir=$1 index=$2 start pid
    load_instance "$dir" "$index"
    start=$SECONDS
    while :; do
        # (recorded_pid: between fork and exec the process is still bash)
        pid=$(recorded_pid)
        if [ -z "$pid" ]; then
            printf '%s: %s (port %s) exited during start-up; log:\n' "$PROG" "$NAME" "$PORT" >&2
            tail -n 20 "$IDIR/ipmi_sim.log" >&2
            return 1
        fi
        if bmc-info -h "127.0.0.1:$PORT" "${FREEIPMI_OPTS[@]}" \
            --session-timeout=1000 --retransmission-timeout=250 \
            --get-device-id >/dev/null 2>&1; then
            break
        fi
        if [ $((SECONDS - start)) -ge "$TIMEOUT" ]; then
            printf '%s: %s (port %s) did not answer within %ss\n' "$PROG" "$NAME" "$PORT" "$TIMEOUT" >&2
            return 1
        fi
        sleep 0.1
    done
    # ipmi_sim's SEL clock starts at "post-init" (seconds since boot); set
    # it like an NTP-synchronised BMC, then add the initial SEL entries.
    bmc-device -h "127.0.0.1:$PORT" "${FREEIPMI_OPTS[@]}" --set-sel-time=now >/dev/null ||
        { printf '%s: %s: setting the SEL time failed\n' "$PROG" "$NAME" >&2; return 1; }
    local cmds=()
    mapfile -t cmds < <(grep -v -e '^#' -e '^[[:space:]]*$' "$SIMDIR/sel.emu")
    console_send "$CONSOLE_PORT" "${cmds[@]}" >/dev/null ||
        { printf '%s: %s: loading the SEL failed\n' "$PROG" "$NAME" >&2; return 1; }
    # Whoever answered, our process must still be alive (a port lost to
    # another program makes ipmi_sim exit right after start-up).
    if [ -z "$(pid_of)" ]; then
        printf '%s: %s (port %s) exited during start-up; log:\n' "$PROG" "$NAME" "$PORT" >&2
        tail -n 20 "$IDIR/ipmi_sim.log" >&2
        return 1
    fi
}

# free_base N: print a base port B in 20000..32767 (below the kernel's ephemeral
# range, 32768-60999, so a killed instance can restart on its ports) such that UDP and TCP
# ports B..B+N-1 (and the console ports) can be bound on 127.0.0.1 now.
# Another process may still take one before ipmi_sim binds: start retries.
free_base() {
    python3 - "$1" "$CONSOLE_OFFSET" <<'PY'
import random, socket, sys
n, off = int(sys.argv[1]), int(sys.argv[2])
def free(port, kind):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randint(20000, 32768 - n - off)
    if all(free(base + i, socket.SOCK_DGRAM) and
           free(base + i + off, socket.SOCK_STREAM) for i in range(n)):
        print(base)
        sys.exit(0)
sys.exit(1)
PY
}

# prepare DIR INDEX PORT N: write the instance's files (lan.conf, FRU...).
prepare() {
    local dir=$1 i=$2 port=$3 n=$4 console guid
    NAME=bmc$i
    IDIR=$dir/$NAME
    PIDFILE=$dir/$NAME.pid
    console=$((port + CONSOLE_OFFSET))
    rm -rf "$IDIR"
    mkdir -p "$IDIR" || die "cannot create $IDIR"
    guid=$(printf '554c534d%04x%04x%04x%012x' "$i" "$((port & 0xffff))" 0x4000 "$n")
    local sol="# no Serial-over-LAN (SIMCTL_SOL_BASE unset)"
    if [ -n "${SIMCTL_SOL_BASE:-}" ]; then
        is_uint "$SIMCTL_SOL_BASE" || die "SIMCTL_SOL_BASE must be a port number"
        sol="sol \"tcp:127.0.0.1:$((SIMCTL_SOL_BASE + i))\" 115200"
    fi
    sed -e "s|@NAME@|$NAME|g" -e "s|@PORT@|$port|g" \
        -e "s|@CONSOLE_PORT@|$console|g" -e "s|@INSTANCE_DIR@|$IDIR|g" \
        -e "s|@CHASSIS_CONTROL@|/bin/sh $SIMDIR/chassis_control.sh|g" \
        -e "s|@GUID@|$guid|g" -e "s|@SOL@|$sol|g" "$SIMDIR/lan.conf.in" >"$IDIR/lan.conf" ||
        die "cannot write $IDIR/lan.conf"
    printf 'define FRU_FILE "%s"\ninclude "%s"\n' "$IDIR/fru.bin" \
        "$SIMDIR/server.emu" >"$IDIR/instance.emu"
    python3 "$SIMDIR/gen_fixtures.py" fru "$IDIR/fru.bin" --instance "$i" ||
        die "cannot write the FRU image"
    printf 'NAME=%s\nINDEX=%s\nPORT=%s\nCONSOLE_PORT=%s\nINSTANCE_DIR=%s\n' \
        "$NAME" "$i" "$port" "$console" "$IDIR" >"$IDIR/instance.env"
}

# try_start N BASEPORT DIR: prepare, launch and wait for N instances; on
# failure stop them again and return 1.
try_start() {
    local n=$1 baseport=$2 dir=$3 i t0 failed=0
    if [ "$baseport" -lt 1024 ] || [ $((baseport + n - 1 + CONSOLE_OFFSET)) -gt 65535 ]; then
        die "ports out of range"
    fi
    for ((i = 0; i < n; i++)); do
        prepare "$dir" "$i" $((baseport + i)) "$n"
    done
    t0=$(now)
    for ((i = 0; i < n; i++)); do
        launch "$dir" "$i"
    done
    for ((i = 0; i < n; i++)); do
        wait_ready "$dir" "$i" || failed=1
    done
    if [ "$failed" -ne 0 ]; then
        cmd_stop "$dir" >/dev/null 2>&1
        return 1
    fi
    printf '%s: %d instance(s) ready on 127.0.0.1:%d-%d in %d ms\n' "$PROG" "$n" \
        "$baseport" "$((baseport + n - 1))" "$(elapsed_ms "$t0")"
}

cmd_start() {
    [ $# -eq 3 ] || usage
    local n=$1 baseport=$2 dir=$3 i attempt
    if ! is_uint "$n" || [ "$n" -lt 1 ]; then
        die "N must be a positive integer"
    fi
    [ "$baseport" = auto ] || is_uint "$baseport" || die "BASEPORT must be a port number or 'auto'"
    is_uint "$CONSOLE_OFFSET" || die "SIMCTL_CONSOLE_OFFSET must be a number"
    cmd_deps >/dev/null || die "prerequisites missing (run '$PROG deps')"
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(abs_dir "$dir")
    check_path "$dir"
    check_path "$SIMDIR"
    mkdir -p "$dir/sdr-cache" && chmod 700 "$dir/sdr-cache"
    for i in $(instances "$dir"); do
        load_instance "$dir" "$i"
        [ -z "$(pid_of)" ] || die "$NAME is already running in $dir (stop it first)"
    done
    # Forget the instances of an earlier run in DIR.
    for i in $(instances "$dir"); do
        rm -rf "${dir:?}/bmc$i" "$dir/bmc$i.pid"
    done

    if [ "$baseport" != auto ]; then
        try_start "$n" "$baseport" "$dir" ||
            die "start failed (logs in $dir/bmc*/ipmi_sim.log)"
        return 0
    fi
    for attempt in 1 2 3 4 5; do
        baseport=$(free_base "$n") || die "no free block of $n ports found"
        try_start "$n" "$baseport" "$dir" && return 0
        printf '%s: attempt %d on ports %d.. failed, retrying\n' "$PROG" "$attempt" "$baseport" >&2
    done
    die "start failed (logs in $dir/bmc*/ipmi_sim.log)"
}

# stop_one: stop the loaded instance (TERM, then KILL after 5 s).
stop_one() {
    local pid i
    pid=$(pid_of)
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        for ((i = 0; i < 50; i++)); do
            [ -z "$(pid_of)" ] && break
            sleep 0.1
        done
        pid=$(pid_of)
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        for ((i = 0; i < 20; i++)); do
            [ -z "$(pid_of)" ] && break
            sleep 0.1
        done
        [ -z "$(pid_of)" ] || { printf '%s: %s (pid %s) did not stop\n' "$PROG" "$NAME" "$pid" >&2; return 1; }
    fi
    rm -f "$PIDFILE"
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir rc=0 i
    [ -d "$1" ] || return 0
    dir=$(abs_dir "$1")
    for i in $(instances "$dir"); do
        load_instance "$dir" "$i"
        stop_one || rc=1
    done
    return $rc
}

cmd_kill() {
    [ $# -eq 2 ] || usage
    local dir pid i
    dir=$(abs_dir "$1")
    load_instance "$dir" "$2"
    pid=$(pid_of)
    [ -n "$pid" ] || die "$NAME is not running"
    kill -KILL "$pid" || die "kill $pid failed"
    for ((i = 0; i < 50; i++)); do
        [ -z "$(pid_of)" ] && break
        sleep 0.1
    done
    rm -f "$PIDFILE"
}

cmd_restart() {
    [ $# -eq 2 ] || usage
    local dir
    dir=$(abs_dir "$1")
    load_instance "$dir" "$2"
    stop_one || exit 1
    launch "$dir" "$2"
    wait_ready "$dir" "$2" || { stop_one; exit 1; }
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local dir i pid
    dir=$(abs_dir "$1")
    for i in $(instances "$dir"); do
        load_instance "$dir" "$i"
        pid=$(pid_of)
        printf '%s\tport=%s\tconsole=%s\tpid=%s\t%s\n' "$NAME" "$PORT" \
            "$CONSOLE_PORT" "${pid:--}" "$([ -n "$pid" ] && echo running || echo dead)"
    done
}

cmd_info() {
    [ $# -eq 2 ] || usage
    local dir pid
    dir=$(abs_dir "$1")
    load_instance "$dir" "$2"
    pid=$(pid_of)
    printf 'SIM_NAME=%s\nSIM_PORT=%s\nSIM_CONSOLE_PORT=%s\nSIM_PID=%s\nSIM_INSTANCE_DIR=%s\nSIM_SDR_CACHE_DIR=%s\nSIM_CHASSIS_STATE=%s\n' \
        "$NAME" "$PORT" "$CONSOLE_PORT" "$pid" "$IDIR" "$dir/sdr-cache" "$IDIR/chassis.state"
}

# ---- runtime changes ------------------------------------------------------

# parse_event_flag ARGS...: sets EVENT=1 if the last argument is --event
# and ARGS to the arguments before it.
parse_event_flag() {
    EVENT=0
    ARGS=("$@")
    if [ $# -gt 0 ] && [ "${!#}" = --event ]; then
        EVENT=1
        ARGS=("${@:1:$(($# - 1))}")
    fi
}

# to_byte X: a decimal or 0x hex byte, normalised to decimal.
to_byte() {
    local v=$1
    [[ $v =~ ^(0[xX][0-9a-fA-F]{1,2}|[0-9]{1,3})$ ]] || die "'$v' is not a byte value"
    v=$((v))
    [ "$v" -le 255 ] || die "'$1' is not a byte value"
    printf '%d\n' "$v"
}

instance_console() {    # instance_console DIR INDEX CMD...
    local dir
    dir=$(abs_dir "$1")
    load_instance "$dir" "$2"
    shift 2
    [ -n "$(pid_of)" ] || die "$NAME is not running"
    console_send "$CONSOLE_PORT" "$@"
}

cmd_set_sensor() {
    parse_event_flag "$@"
    set -- "${ARGS[@]}"
    [ $# -eq 4 ] || usage
    local row num raw
    row=$(sensor_row "$3") || exit 1
    [ "$(sensor_field "$row" 5)" = analog ] || die "sensor '$3' is discrete: use set-bit"
    num=$(sensor_field "$row" 1)
    raw=$(to_byte "$4")
    instance_console "$1" "$2" "sensor_set_value 0x20 0 $num $raw $EVENT" >/dev/null
}

cmd_set_reading() {
    parse_event_flag "$@"
    set -- "${ARGS[@]}"
    [ $# -eq 4 ] || usage
    local row num raw
    row=$(sensor_row "$3") || exit 1
    [ "$(sensor_field "$row" 5)" = analog ] || die "sensor '$3' is discrete: use set-bit"
    [[ $4 =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || die "'$4' is not a number"
    num=$(sensor_field "$row" 1)
    raw=$(printf '%s\n' "$row" | awk -F'\t' -v v="$4" '{
        step = $6 * (10 ^ $7); r = v / step
        r = (r < 0) ? int(r - 0.5) : int(r + 0.5)
        print r }')
    { [ "$raw" -ge 0 ] && [ "$raw" -le 255 ]; } ||
        die "$4 is out of range for '$(sensor_field "$row" 2)' (raw $raw)"
    instance_console "$1" "$2" "sensor_set_value 0x20 0 $num $raw $EVENT" >/dev/null
}

cmd_set_bit() {
    parse_event_flag "$@"
    set -- "${ARGS[@]}"
    [ $# -eq 5 ] || usage
    local row num off val
    row=$(sensor_row "$3") || exit 1
    num=$(sensor_field "$row" 1)
    off=$(to_byte "$4")
    [ "$off" -le 14 ] || die "offset must be 0..14"
    case $5 in 0 | 1) val=$5 ;; *) die "value must be 0 or 1" ;; esac
    instance_console "$1" "$2" "sensor_set_bit 0x20 0 $num $off $val $EVENT" >/dev/null
}

cmd_add_sel() {
    if [ $# -lt 5 ] || [ $# -gt 7 ]; then usage; fi
    local row num type evt d1 d2=255 d3=255 out
    row=$(sensor_row "$3") || exit 1
    num=$(sensor_field "$row" 1)
    type=$(sensor_field "$row" 3)
    evt=$(to_byte "$4")
    d1=$(to_byte "$5")
    [ $# -ge 6 ] && d2=$(to_byte "$6")
    [ $# -ge 7 ] && d3=$(to_byte "$7")
    out=$(instance_console "$1" "$2" \
        "$(printf 'sel_add 0x20 0x02 0 0 0 0 0x20 0 0x04 %s %s 0x%02x 0x%02x 0x%02x 0x%02x' \
            "$type" "$num" "$evt" "$d1" "$d2" "$d3")") || { printf '%s\n' "$out" >&2; exit 1; }
    # "Added record N": print the record ID.
    printf '%s\n' "$out" | sed -n 's/^Added record \([0-9]*\).*/\1/p'
}

cmd_console() {
    [ $# -ge 3 ] || usage
    local dir=$1 index=$2
    shift 2
    instance_console "$dir" "$index" "$*"
}

cmd_deps() {
    local t missing=0
    for t in ipmi_sim bmc-info bmc-device python3; do
        command -v "$t" >/dev/null 2>&1 || { echo "missing: $t" >&2; missing=1; }
    done
    return $missing
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
deps) cmd_deps "$@" ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
kill) cmd_kill "$@" ;;
restart) cmd_restart "$@" ;;
status) cmd_status "$@" ;;
info) cmd_info "$@" ;;
set-sensor) cmd_set_sensor "$@" ;;
set-reading) cmd_set_reading "$@" ;;
set-bit) cmd_set_bit "$@" ;;
add-sel) cmd_add_sel "$@" ;;
console) cmd_console "$@" ;;
-h | --help | help) usage ;;
*) usage ;;
esac
