# tests/lib.sh - shared by the integration tests in tests/integration/.
#
# Each test is a bash script that sources this file, starts its own underlayd
# on a free 127.0.0.1 port with a fresh data directory, drives it over raw
# HTTP (curl + jq) or through the CLI, and exits 0 (pass), 1 (fail) or 77
# (skip: an optional prerequisite is genuinely missing).  Tests run in
# parallel under automake's harness, so everything here is per-test: the
# daemon is only ever signalled by the PID we started, never by name.
#
# Environment (from tests/Makefile.inc AM_TESTS_ENVIRONMENT):
#   UNDERLAYD   the daemon binary      UNDERLAY     the CLI binary
#   TOP_SRCDIR  the source tree        TOP_BUILDDIR the build tree
# Optional: UL_KEEP=1 keeps the temporary directory for a post-mortem.
#
# Conventions: helpers set globals rather than print, so that a failed
# assertion runs in the test's own shell (an `exit` inside $(...) would only
# leave the subshell).  ul_api sets UL_STATUS and UL_BODY.

set -u
set -o pipefail

UL_TEST_NAME=${0##*/}
UL_TEST_NAME=${UL_TEST_NAME%.sh}

ul_log() {
    printf '%s: %s\n' "$UL_TEST_NAME" "$*" >&2
}

ul_skip() {
    ul_log "SKIP: $*"
    exit 77
}

# Fail the test with a message and where it happened (the test's lines, from
# the innermost out).
ul_fail() {
    local i where=""
    for ((i = 1; i < ${#BASH_SOURCE[@]}; i++)); do
        [[ ${BASH_SOURCE[$i]} == */lib.sh ]] && continue
        where+="${where:+ <- }${BASH_SOURCE[$i]##*/}:${BASH_LINENO[$((i - 1))]}"
    done
    ul_log "FAIL: ${where:+$where: }$*"
    exit 1
}

# ul_check CMD [ARGS...]: run one self-contained check in a subshell.  If it
# fails, the failure is reported and counted and the test goes on; the test
# still fails at its end.  So that one broken behaviour does not hide the
# others.  (The subshell cannot change the test's variables.)
UL_FAILED=0
ul_check() {
    ("$@") && return 0
    UL_FAILED=$((UL_FAILED + 1))
    return 1
}

# ---- prerequisites ---------------------------------------------------------

for ul__tool in curl jq python3; do
    command -v "$ul__tool" >/dev/null 2>&1 || ul_skip "'$ul__tool' is not installed"
done
unset ul__tool

if [ -z "${UNDERLAYD:-}" ] || [ -z "${TOP_SRCDIR:-}" ]; then
    ul_log "FAIL: UNDERLAYD and TOP_SRCDIR must be set (run through 'make check')"
    exit 1
fi
if [ ! -x "$UNDERLAYD" ]; then
    ul_log "FAIL: daemon binary '$UNDERLAYD' is missing or not executable"
    exit 1
fi
UNDERLAY=${UNDERLAY:-}

# True when the CLI has been built.
ul_have_cli() {
    [ -n "$UNDERLAY" ] && [ -x "$UNDERLAY" ]
}

# ---- temporary space and cleanup -------------------------------------------

UL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/ul-$UL_TEST_NAME.XXXXXX") || {
    ul_log "FAIL: cannot create a temporary directory"
    exit 1
}
UL_DIR=""      # data directory of the daemon
UL_PID=""      # daemon PID while it runs
UL_PORT=""
UL_ARGS=()     # extra arguments of the last ul_start, reused by ul_restart
UL_STATUS=""
UL_BODY=""
# Keep the CLI away from the user's own configuration and admin token.
export HOME="$UL_TMP/home"
mkdir -p "$HOME"
unset UNDERLAY_TOKEN_FILE UNDERLAY_CONFIG

ul__cleanup() {
    local rc=$?
    trap - EXIT
    if [ "$rc" -eq 0 ] && [ "$UL_FAILED" -gt 0 ]; then
        ul_log "FAIL: $UL_FAILED check(s) failed"
        rc=1
    fi
    if [ -n "$UL_PID" ]; then
        kill -KILL "$UL_PID" 2>/dev/null
        wait "$UL_PID" 2>/dev/null
        UL_PID=""
    fi
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
        ul_show_log
    fi
    if [ "${UL_KEEP:-0}" = 1 ]; then
        ul_log "kept $UL_TMP"
    else
        rm -rf "$UL_TMP"
    fi
    exit "$rc"
}
trap ul__cleanup EXIT
trap 'exit 1' INT TERM HUP

# Print the end of the daemon log (on failure).
ul_show_log() {
    if [ -n "$UL_DIR" ] && [ -f "$UL_DIR/daemon.log" ]; then
        echo "---- $UL_DIR/daemon.log (last 200 lines) ----" >&2
        tail -n 200 "$UL_DIR/daemon.log" >&2
        echo "---- end of daemon log ----" >&2
    fi
}

# ---- the daemon ------------------------------------------------------------

# Print a free TCP port on 127.0.0.1.  Another test may take it before our
# daemon binds; ul_start retries with a fresh port when that happens.
ul_free_port() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Start underlayd in the background and wait (bounded) until it answers on
# our port.  Returns 0, or 1 when it exited; does not fail the test itself so
# callers can retry.
ul__launch() {
    local timeout=${UL_START_TIMEOUT:-15} mark lines
    lines=$({ wc -l <"$UL_DIR/daemon.log"; } 2>/dev/null || echo 0)
    # Background polling off unless a test asks for it (-s poll.enabled=1, later
    # arguments win): a poll racing a test's own job would make counts vary.
    "$UNDERLAYD" -d "$UL_DIR" -l "127.0.0.1:$UL_PORT" -s poll.enabled=0 "${UL_ARGS[@]}" \
        >>"$UL_DIR/daemon.log" 2>&1 </dev/null &
    UL_PID=$!
    mark="API on http://127.0.0.1:$UL_PORT/api/v1"
    local deadline=$((SECONDS + timeout))
    while [ $SECONDS -le $deadline ]; do
        if ! kill -0 "$UL_PID" 2>/dev/null; then
            wait "$UL_PID" 2>/dev/null
            UL_PID=""
            return 1
        fi
        # The log line proves that *our* daemon owns the port (another test's
        # daemon could answer /healthz on a port we lost a race for).
        if tail -n +"$((lines + 1))" "$UL_DIR/daemon.log" | grep -qF "$mark" &&
            [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 \
                "http://127.0.0.1:$UL_PORT/healthz")" = 200 ]; then
            return 0
        fi
        sleep 0.1
    done
    ul_fail "underlayd did not answer on 127.0.0.1:$UL_PORT within ${timeout}s"
}

# ul_start [extra underlayd args]: fresh data directory, free port.
ul_start() {
    UL_ARGS=("$@")
    UL_DIR="$UL_TMP/data"
    rm -rf "$UL_DIR"
    mkdir -m 0700 "$UL_DIR" || ul_fail "cannot create $UL_DIR"
    local try
    for try in 1 2 3 4 5; do
        UL_PORT=$(ul_free_port) || ul_fail "cannot find a free port"
        if ul__launch; then
            ul__export
            return 0
        fi
        # Lost the port to another process: try another one.
        if ! tail -n 5 "$UL_DIR/daemon.log" | grep -q "cannot listen"; then
            break
        fi
        ul_log "port $UL_PORT was taken, retrying"
    done
    ul_fail "underlayd failed to start"
}

ul__export() {
    UL_URL="http://127.0.0.1:$UL_PORT"
    [ -s "$UL_DIR/admin.token" ] || ul_fail "no admin token in $UL_DIR/admin.token"
    UL_TOKEN=$(head -n 1 "$UL_DIR/admin.token")
    UNDERLAY_URL=$UL_URL
    UNDERLAY_TOKEN=$UL_TOKEN
    export UL_URL UL_TOKEN UNDERLAY_URL UNDERLAY_TOKEN
}

# Wait (bounded) for our daemon to exit; sets UL_EXIT to its exit status.
ul__reap() {
    local timeout=${1:-30} pid=$UL_PID wd
    # A watchdog, since `wait` itself has no timeout.
    (
        for _ in $(seq $((timeout * 10))); do sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null
    ) &
    wd=$!
    wait "$pid"
    UL_EXIT=$?
    kill "$wd" 2>/dev/null
    wait "$wd" 2>/dev/null
    UL_PID=""
}

# SIGTERM the daemon and fail the test unless it exits 0 (under
# AddressSanitizer a leak makes the exit status non-zero: that fails too).
ul_stop() {
    local sig=${1:-TERM}
    [ -n "$UL_PID" ] || ul_fail "ul_stop: the daemon is not running"
    kill -"$sig" "$UL_PID" || ul_fail "cannot signal daemon $UL_PID"
    ul__reap 30
    if [ "$UL_EXIT" -ne 0 ]; then
        ul_fail "underlayd exited with status $UL_EXIT after SIG$sig (expected 0)"
    fi
}

ul_kill9() {
    [ -n "$UL_PID" ] || ul_fail "ul_kill9: the daemon is not running"
    kill -KILL "$UL_PID" || ul_fail "cannot kill daemon $UL_PID"
    wait "$UL_PID" 2>/dev/null
    UL_PID=""
}

# Stop the daemon if it runs (cleanly, checked) and start it again on the same
# data directory and port.
ul_restart() {
    if [ -n "$UL_PID" ]; then
        ul_stop
    fi
    local try
    for try in 1 2 3 4 5 6 7 8 9 10; do
        if ul__launch; then
            ul__export
            return 0
        fi
        # The port may linger briefly; a different failure is final.
        tail -n 5 "$UL_DIR/daemon.log" | grep -q "cannot listen" || break
        sleep 0.5
    done
    ul_fail "underlayd failed to restart on port $UL_PORT"
}

# ---- HTTP ------------------------------------------------------------------

# ul_api [-t TOKEN | -n] [-c CONTENT_TYPE] [-f BODYFILE] [-H HEADER]...
#        METHOD PATH [JSON]
#   -t TOKEN  authenticate with TOKEN instead of the admin token
#   -n        send no Authorization header
#   -c TYPE   Content-Type to send ("" for none); default application/json
#   -f FILE   send FILE as the body
#   -H HEADER an extra request header
# PATH is relative to the server ("/api/v1/nodes").  Sets UL_STATUS (000 when
# the connection failed) and UL_BODY.  Never fails the test by itself.
ul_api() {
    local token=$UL_TOKEN auth=1 ctype="application/json" file="" opt
    local extra=()
    OPTIND=1
    while getopts "t:nc:f:H:" opt; do
        case $opt in
        H) extra+=(-H "$OPTARG") ;;
        t) token=$OPTARG ;;
        n) auth=0 ;;
        c) ctype=$OPTARG ;;
        f) file=$OPTARG ;;
        *) ul_fail "ul_api: bad option" ;;
        esac
    done
    shift $((OPTIND - 1))
    local method=$1 path=$2
    local args=(-sS --max-time 30 -w '\n%{http_code}' -X "$method" -H 'Expect:' "${extra[@]}")
    [ $auth = 1 ] && args+=(-H "Authorization: Bearer $token")
    if [ -n "$ctype" ]; then
        args+=(-H "Content-Type: $ctype")
    else
        args+=(-H "Content-Type:")
    fi
    if [ -n "$file" ]; then
        args+=(--data-binary "@$file")
    elif [ $# -ge 3 ]; then
        args+=(--data-binary "$3")
    fi
    # One process per request: the status follows the body on its own line.
    local out
    out=$(curl "${args[@]}" "$UL_URL$path" 2>"$UL_TMP/curl.err")
    UL_STATUS=${out##*$'\n'}
    UL_BODY=${out%$'\n'*}
    if [ "$UL_STATUS" = 000 ] || [ -s "$UL_TMP/curl.err" ]; then
        UL_STATUS=000
        ul_log "curl $method $path: $(<"$UL_TMP/curl.err")"
    fi
    return 0
}

# jq over UL_BODY (or over $2); prints the raw result.
ul_jq() {
    jq -r "$1" <<<"${2-$UL_BODY}"
}

# ---- assertions ------------------------------------------------------------

assert_eq() { # ACTUAL EXPECTED [WHAT]
    [ "$1" = "$2" ] || ul_fail "${3:-value}: expected '$2', got '$1'"
}

assert_ne() { # ACTUAL UNEXPECTED [WHAT]
    [ "$1" != "$2" ] || ul_fail "${3:-value}: did not expect '$2'"
}

assert_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ $1 == *"$2"* ]] || ul_fail "${3:-text}: '$2' not found in: $1"
}

assert_not_contains() { # HAYSTACK NEEDLE [WHAT]
    [[ $1 != *"$2"* ]] || ul_fail "${3:-text}: '$2' must not appear in: $1"
}

# The last ul_api answered with this HTTP status.
assert_status() { # EXPECTED [WHAT]
    [ "$UL_STATUS" = "$1" ] ||
        ul_fail "${2:-request}: expected HTTP $1, got $UL_STATUS; body: $UL_BODY"
}

# jq EXPR over UL_BODY gives EXPECTED (raw output: strings unquoted).
assert_json() { # EXPR EXPECTED [WHAT]
    local got
    got=$(jq -r "$1" <<<"$UL_BODY" 2>&1) || ul_fail "${3:-body}: jq '$1' failed on: $UL_BODY"
    [ "$got" = "$2" ] || ul_fail "${3:-body}: $1: expected '$2', got '$got'; body: $UL_BODY"
}

# The last ul_api gave STATUS and a JSON error {"error":{"code","message"}}
# whose message contains each NEEDLE.
assert_error() { # STATUS CODE [NEEDLE...]
    local status=$1 code=$2 got msg needle
    shift 2
    assert_status "$status" "error reply"
    # One jq: the code on the first line, the message after it.
    got=$(jq -r 'if (.error.code|type) == "string" and (.error.message|type) == "string"
                 then .error.code + "\n" + .error.message else error("not an error") end' \
        <<<"$UL_BODY" 2>/dev/null) ||
        ul_fail "HTTP $status reply is not a JSON error object: $UL_BODY"
    msg=${got#*$'\n'}
    [ "${got%%$'\n'*}" = "$code" ] ||
        ul_fail "error code: expected '$code', got '${got%%$'\n'*}'; body: $UL_BODY"
    for needle in "$@"; do
        assert_contains "$msg" "$needle" "error message"
    done
}

# ---- waiting ---------------------------------------------------------------

# Poll GET PATH until jq EXPR gives EXPECTED, bounded; UL_BODY holds the last
# reply.
wait_json() { # PATH EXPR EXPECTED [TIMEOUT_S]
    local deadline=$((SECONDS + ${4:-15}))
    while :; do
        ul_api GET "$1"
        if [ "$UL_STATUS" = 200 ] && [ "$(ul_jq "$2")" = "$3" ]; then
            return 0
        fi
        [ $SECONDS -lt $deadline ] ||
            ul_fail "timed out waiting for $1 $2 == $3; last: HTTP $UL_STATUS $UL_BODY"
        sleep 0.1
    done
}

# Wait until job ID is in a final state; UL_BODY holds the job.
wait_job() { # ID [TIMEOUT_S]
    wait_json "/api/v1/jobs/$1" \
        '.state | IN("succeeded", "failed", "canceled")' true "${2:-15}"
}

# Wait until job ID is in STATE (e.g. running).
wait_job_state() { # ID STATE [TIMEOUT_S]
    wait_json "/api/v1/jobs/$1" .state "$2" "${3:-15}"
}

# ---- small conveniences -----------------------------------------------------

# Create a node over HTTP and fail the test unless it answers 201.
ul_node_add() { # NAME [EXTRA JSON MERGED INTO THE BODY]
    local body
    body=$(jq -cn --arg n "$1" --argjson x "${2:-{\}}" \
        '{name: $n, endpoint: ("fake://" + $n)} + $x') || ul_fail "bad JSON for node $1"
    ul_api POST /api/v1/nodes "$body"
    assert_status 201 "create node $1"
}

# Submit a power job and set UL_JOB to its id.
ul_power() { # NODE ACTION [EXTRA JSON]
    local body
    body=$(jq -cn --arg a "$2" --argjson x "${3:-{\}}" '{action: $a} + $x')
    ul_api POST "/api/v1/nodes/$1/power" "$body"
    assert_status 202 "power $2 on $1"
    UL_JOB=$(ul_jq .job.id)
    [[ $UL_JOB =~ ^[0-9]+$ ]] || ul_fail "power $2 on $1: no job id in $UL_BODY"
}
