#!/usr/bin/env bash
# emuctl.sh - start, inspect and stop Redfish emulator instances
# (tests/redfish/emulator.py) for the Redfish tests.  See README.md here.
#
#   emuctl.sh start N BASEPORT DIR [--https] [EMULATOR OPTIONS...]
#                         start emu0..emu<N-1> on 127.0.0.1 ports
#                         BASEPORT..BASEPORT+N-1 (BASEPORT "auto": a free
#                         block in 10000-19999), HTTP unless --https (then a
#                         self-signed certificate DIR/cert.pem, key
#                         DIR/key.pem, is made with openssl unless --cert is
#                         among the options); waits until each answers
#                         GET /redfish/v1/; prints one line per instance:
#                         NAME URL PID
#   emuctl.sh stop DIR    stop every instance recorded in DIR (TERM, then
#                         KILL after 5 s), by recorded PID only
#   emuctl.sh kill DIR I  SIGKILL instance I (a dead BMC)
#   emuctl.sh restart DIR I
#                         start instance I again (same port and options,
#                         fresh state)
#   emuctl.sh status DIR  one line per instance: NAME URL PID|- running|dead
#   emuctl.sh url DIR I   the base URL of instance I
#
# Files in DIR: emuI.pid (PID), emuI.url, emuI.args (options, one a line),
# emuI.log (stdout/stderr).  A PID is only signalled after checking that
# it is still that instance's emulator.py (guards against PID reuse).
# Environment: EMUCTL_TIMEOUT (seconds to wait for an instance, default 15),
# PYTHON (default python3).

set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd) || exit 1
EMU=$HERE/emulator.py
PROG=${0##*/}
PYTHON=${PYTHON:-python3}
TIMEOUT=${EMUCTL_TIMEOUT:-15}

die() {
    printf '%s: %s\n' "$PROG" "$*" >&2
    exit 1
}

usage() {
    sed -n '2,/^$/s/^# \{0,1\}//p' "$0" >&2
    exit 2
}

is_uint() {
    case $1 in '' | *[!0-9]*) return 1 ;; esac
}

abs_dir() {
    (cd "$1" && pwd) || die "no directory $1"
}

# free_base N: a base port with N free consecutive ports in 10000-19999 (below
# the kernel's ephemeral range, so a restarted instance gets its port back).
free_base() {
    "$PYTHON" - "$1" <<'EOF'
import random, socket, sys
n = int(sys.argv[1])
def free(p):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        return True
    except OSError:
        return False
    finally:
        s.close()
for _ in range(200):
    base = random.randint(10000, 20000 - n - 1)
    if all(free(base + i) for i in range(n)):
        print(base)
        sys.exit(0)
sys.exit(1)
EOF
}

# pid_of DIR I: the recorded PID if it is alive and still our emulator.
pid_of() {
    local dir=$1 i=$2 pid args
    [ -f "$dir/emu$i.pid" ] || return 0
    pid=$(cat "$dir/emu$i.pid" 2>/dev/null) || return 0
    is_uint "$pid" || return 0
    if [ -r "/proc/$pid/cmdline" ]; then
        [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" != Z ] || return 0
        args=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
    else
        args="$(ps -p "$pid" -o args= 2>/dev/null) " || return 0
    fi
    case $args in
    *emulator.py*"--emuctl-tag=$dir/emu$i "*) printf '%s\n' "$pid" ;;
    esac
}

instances() {
    local dir=$1 f
    for f in "$dir"/emu*.url; do
        [ -f "$f" ] || continue
        f=${f##*/emu}
        printf '%s\n' "${f%.url}"
    done | sort -n
}

# probe URL CACERT: exit 0 when GET URL/redfish/v1/ answers 200.
probe() {
    local url=$1 cacert=$2
    if command -v curl >/dev/null 2>&1; then
        local tls=()
        [ -n "$cacert" ] && tls=(--cacert "$cacert")
        [ "$cacert" = insecure ] && tls=(-k)
        [ "$(curl -s -o /dev/null -m 2 -w '%{http_code}' "${tls[@]}" \
            "$url/redfish/v1/" 2>/dev/null)" = 200 ]
    else
        "$PYTHON" - "$url/redfish/v1/" <<'EOF'
import ssl, sys, urllib.request
ctx = ssl._create_unverified_context()
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                     urllib.request.HTTPSHandler(context=ctx))
try:
    sys.exit(0 if opener.open(sys.argv[1], timeout=2).status == 200 else 1)
except Exception:
    sys.exit(1)
EOF
    fi
}

# launch DIR I: start instance I from its recorded files.
launch() {
    local dir=$1 i=$2 args=()
    mapfile -t args <"$dir/emu$i.args"
    "$PYTHON" "$EMU" "${args[@]}" >"$dir/emu$i.log" 2>&1 &
    printf '%s\n' $! >"$dir/emu$i.pid"
}

# starting DIR I: the process we just launched for instance I is alive
# (not a zombie), whatever its command line says yet.
starting() {
    local pid
    pid=$(cat "$1/emu$2.pid" 2>/dev/null) || return 1
    is_uint "$pid" || return 1
    [ -r "/proc/$pid/stat" ] || return 1
    [ "$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)" != Z ]
}

# wait_ready DIR I: until instance I answers (or died / timed out).
wait_ready() {
    local dir=$1 i=$2 url cacert='' t
    url=$(cat "$dir/emu$i.url")
    [ -f "$dir/emu$i.cacert" ] && cacert=$(cat "$dir/emu$i.cacert")
    for ((t = 0; t < TIMEOUT * 10; t++)); do
        # Just launched, the child may still be the shell that is about to
        # exec python (its command line is not the emulator's yet): alive
        # counts as starting.
        if [ -z "$(pid_of "$dir" "$i")" ] && ! starting "$dir" "$i"; then
            printf '%s: emu%d exited; its log:\n' "$PROG" "$i" >&2
            tail -n 5 "$dir/emu$i.log" >&2
            return 1
        fi
        probe "$url" "$cacert" && return 0
        sleep 0.1
    done
    printf '%s: emu%d did not answer at %s within %d s\n' "$PROG" "$i" "$url" "$TIMEOUT" >&2
    return 1
}

stop_one() {
    local dir=$1 i=$2 pid t
    pid=$(pid_of "$dir" "$i")
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null
        for ((t = 0; t < 50; t++)); do
            [ -z "$(pid_of "$dir" "$i")" ] && break
            sleep 0.1
        done
        pid=$(pid_of "$dir" "$i")
        [ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
        for ((t = 0; t < 20; t++)); do
            [ -z "$(pid_of "$dir" "$i")" ] && break
            sleep 0.1
        done
        if [ -n "$(pid_of "$dir" "$i")" ]; then
            printf '%s: emu%d (pid %s) did not stop\n' "$PROG" "$i" "$pid" >&2
            return 1
        fi
    fi
    rm -f "$dir/emu$i.pid"
}

cmd_start() {
    [ $# -ge 3 ] || usage
    local n=$1 baseport=$2 dir=$3 i https=0 has_cert=0 scheme=http port
    shift 3
    if ! is_uint "$n" || [ "$n" -lt 1 ]; then
        die "N must be a positive integer"
    fi
    [ "$baseport" = auto ] || is_uint "$baseport" ||
        die "BASEPORT must be a port number or 'auto'"
    command -v "$PYTHON" >/dev/null 2>&1 || die "$PYTHON not found"
    local opts=()
    for a in "$@"; do
        case $a in
        --https) https=1 ;;
        --cert | --cert=*) has_cert=1; opts+=("$a") ;;
        --port | --port=* | --pidfile | --pidfile=*)
            die "$a is set by $PROG" ;;
        *) opts+=("$a") ;;
        esac
    done
    mkdir -p "$dir" || die "cannot create $dir"
    dir=$(abs_dir "$dir")
    for i in $(instances "$dir"); do
        [ -z "$(pid_of "$dir" "$i")" ] || die "emu$i is already running in $dir (stop it first)"
    done
    for i in $(instances "$dir"); do
        rm -f "$dir/emu$i".{pid,url,args,log,cacert}
    done
    if [ "$https" = 1 ]; then
        scheme=https
        opts=(--https "${opts[@]}")
        if [ "$has_cert" = 0 ]; then
            if [ ! -s "$dir/cert.pem" ] || [ ! -s "$dir/key.pem" ]; then
                command -v openssl >/dev/null 2>&1 || die "--https needs openssl (or --cert/--key)"
                openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
                    -addext subjectAltName=IP:127.0.0.1 -days 2 \
                    -keyout "$dir/key.pem" -out "$dir/cert.pem" >/dev/null 2>&1 ||
                    die "openssl could not make a certificate"
            fi
            opts+=(--cert "$dir/cert.pem" --key "$dir/key.pem")
        fi
    fi
    # With "auto", another test may bind a port between our check and the
    # emulator's bind: start again on a new block when that happens.
    local auto=0 attempt rc
    [ "$baseport" = auto ] && auto=1
    for attempt in 1 2 3; do
        if [ "$auto" = 1 ]; then
            baseport=$(free_base "$n") || die "no free block of $n ports in 10000-19999"
        fi
        for ((i = 0; i < n; i++)); do
            port=$((baseport + i))
            printf '%s://127.0.0.1:%d\n' "$scheme" "$port" >"$dir/emu$i.url"
            if [ "$https" = 1 ]; then
                if [ "$has_cert" = 0 ]; then
                    printf '%s\n' "$dir/cert.pem" >"$dir/emu$i.cacert"
                else
                    printf 'insecure\n' >"$dir/emu$i.cacert"
                fi
            fi
            printf '%s\n' --port "$port" "--emuctl-tag=$dir/emu$i" "${opts[@]}" >"$dir/emu$i.args"
            launch "$dir" "$i"
        done
        rc=0
        for ((i = 0; i < n; i++)); do
            wait_ready "$dir" "$i" || rc=1
        done
        [ "$rc" = 0 ] && break
        cmd_stop "$dir"
        if [ "$auto" = 1 ] && [ "$attempt" -lt 3 ] &&
            grep -qi "address already in use" "$dir"/emu*.log 2>/dev/null; then
            echo "emuctl.sh: a port was taken meanwhile; retrying on another block" >&2
            continue
        fi
        die "start failed (logs in $dir/emu*.log)"
    done
    for ((i = 0; i < n; i++)); do
        printf 'emu%d %s %s\n' "$i" "$(cat "$dir/emu$i.url")" "$(cat "$dir/emu$i.pid")"
    done
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    local dir rc=0 i
    [ -d "$1" ] || return 0
    dir=$(abs_dir "$1")
    for i in $(instances "$dir"); do
        stop_one "$dir" "$i" || rc=1
    done
    return $rc
}

cmd_kill() {
    [ $# -eq 2 ] || usage
    local dir pid
    dir=$(abs_dir "$1")
    [ -f "$dir/emu$2.url" ] || die "no instance $2 in $dir"
    pid=$(pid_of "$dir" "$2")
    [ -n "$pid" ] || die "emu$2 is not running"
    kill -KILL "$pid" || die "kill $pid failed"
    for ((t = 0; t < 50; t++)); do
        [ -z "$(pid_of "$dir" "$2")" ] && return 0
        sleep 0.1
    done
    die "emu$2 (pid $pid) did not die"
}

cmd_restart() {
    [ $# -eq 2 ] || usage
    local dir
    dir=$(abs_dir "$1")
    [ -f "$dir/emu$2.args" ] || die "no instance $2 in $dir"
    stop_one "$dir" "$2" || die "could not stop emu$2"
    launch "$dir" "$2"
    wait_ready "$dir" "$2" || die "emu$2 did not start (log: $dir/emu$2.log)"
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local dir i pid
    dir=$(abs_dir "$1")
    for i in $(instances "$dir"); do
        pid=$(pid_of "$dir" "$i")
        if [ -n "$pid" ]; then
            printf 'emu%d %s %s running\n' "$i" "$(cat "$dir/emu$i.url")" "$pid"
        else
            printf 'emu%d %s - dead\n' "$i" "$(cat "$dir/emu$i.url")"
        fi
    done
}

cmd_url() {
    [ $# -eq 2 ] || usage
    local dir
    dir=$(abs_dir "$1")
    [ -f "$dir/emu$2.url" ] || die "no instance $2 in $dir"
    cat "$dir/emu$2.url"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case $cmd in
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
kill) cmd_kill "$@" ;;
restart) cmd_restart "$@" ;;
status) cmd_status "$@" ;;
url) cmd_url "$@" ;;
*) usage ;;
esac
