#!/usr/bin/env bash
# Serial-over-LAN console end to end (issue 12, item 7): `underlay console`
# through underlayd's WebSocket to ipmi_sim's SOL, whose serial port is a TCP
# peer played by tests/ipmisim/serial_host.py (the "host").
#   - text the host prints reaches the console client; typed text reaches the
#     host
#   - a second client while the console is held watches read-only: it sees
#     the output, is told who holds it, and its typing never reaches the host
#   - ~. leaves (exit 0); the viewer is told the session ended
#   - every session is in the audit trail (who, node, start, end), the output
#     in console.log_dir/NODE.log
#   - refusals: a Redfish node (not supported), an unknown node, --view with
#     no session, a viewer token starting one, a plain GET without upgrade
. "$TOP_SRCDIR/tests/lib.sh"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed"
ul_have_cli || ul_skip "the underlay CLI was not built"

SIMDIR="$UL_TMP/sims"
HOSTDIR="$UL_TMP/host"
mkdir -p "$HOSTDIR"
RECV="$HOSTDIR/received"   # what reached the host's serial port
HOSTFIFO="$HOSTDIR/print"  # what the host prints on it
: >"$RECV"
HOST_PID=""
W_PID="" V_PID=""
cleanup_all() {
    local rc=$?
    [ -n "$W_PID" ] && kill "$W_PID" 2>/dev/null
    [ -n "$V_PID" ] && kill "$V_PID" 2>/dev/null
    "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1
    [ -n "$HOST_PID" ] && kill "$HOST_PID" 2>/dev/null
    (exit $rc)
    ul__cleanup
}
trap cleanup_all EXIT

# wait_for FILE NEEDLE [TIMEOUT_S]: until FILE contains NEEDLE (fixed string).
wait_for() {
    local deadline=$((SECONDS + ${3:-20}))
    while [ $SECONDS -le $deadline ]; do
        grep -qF -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    ul_fail "'$2' did not appear in $1 within ${3:-20}s; it holds: $(head -c 600 "$1" 2>/dev/null)"
}

# wait_exit PID [TIMEOUT_S]: until PID ends; sets RC to its exit status.
wait_exit() {
    local deadline=$((SECONDS + ${2:-20}))
    while kill -0 "$1" 2>/dev/null; do
        [ $SECONDS -le $deadline ] || ul_fail "process $1 did not end within ${2:-20}s"
        sleep 0.1
    done
    wait "$1"
    RC=$?
}

# The host's serial port: a TCP peer that must listen before ipmi_sim starts.
SOLPORT=$(ul_free_port) || ul_fail "no free port for the serial host"
python3 "$TOP_SRCDIR/tests/ipmisim/serial_host.py" "$SOLPORT" "$RECV" "$HOSTFIFO" \
    >"$HOSTDIR/log" 2>&1 &
HOST_PID=$!
for _ in $(seq 100); do [ -p "$HOSTFIFO" ] && break; sleep 0.1; done
[ -p "$HOSTFIFO" ] || ul_fail "serial_host.py did not start: $(cat "$HOSTDIR/log")"
exec {HOSTFD}<>"$HOSTFIFO"
host_print() { printf '%s\r\n' "$1" >&"$HOSTFD"; }

SIMCTL_SOL_BASE=$SOLPORT "$SIMCTL" start 1 auto "$SIMDIR" >/dev/null ||
    ul_fail "simulator did not start"
eval "$("$SIMCTL" info "$SIMDIR" 0)"

LOGDIR="$UL_TMP/console-logs"
mkdir -p "$LOGDIR"
ul_start -s "console.log_dir=$LOGDIR"

# ipmi_sim needs its RMCP+ workaround, and two for SOL (tests/ipmisim/README.md).
OPTS='{"workarounds":["opensesspriv","solchannelsupport","solpayloadsize"]}'
ul_node_add n1 "$(jq -cn --arg e "ipmi://127.0.0.1:$SIM_PORT" --argjson o "$OPTS" \
    '{endpoint: $e, username: "admin", password: "password", options: $o}')"
ul_node_add rf '{"endpoint":"redfish://127.0.0.1:1","username":"u","password":"p"}'

# ---- refusals, before any session ----
"$UNDERLAY" console rf >"$UL_TMP/o" 2>"$UL_TMP/e" </dev/null
assert_eq $? 1 "console of a Redfish node: exit status"
assert_contains "$(cat "$UL_TMP/e")" "serial console not supported by driver redfish" \
    "console of a Redfish node"
"$UNDERLAY" console nosuch >"$UL_TMP/o" 2>"$UL_TMP/e" </dev/null
assert_eq $? 1 "console of an unknown node: exit status"
assert_contains "$(cat "$UL_TMP/e")" "node nosuch not found" "console of an unknown node"
"$UNDERLAY" console n1 --view >"$UL_TMP/o" 2>"$UL_TMP/e" </dev/null
assert_eq $? 1 "--view with no session: exit status"
assert_contains "$(cat "$UL_TMP/e")" "no console session to watch" "--view with no session"
"$UNDERLAY" console >"$UL_TMP/o" 2>"$UL_TMP/e" </dev/null
assert_eq $? 2 "console without a node: usage"
ul_api GET /api/v1/nodes/n1/console
assert_error 400 invalid "WebSocket"
ul_api GET "/api/v1/nodes/n1/console?mode=bogus"
assert_error 400 invalid "field 'mode'"
ul_api POST /api/v1/tokens '{"name":"watcher","role":"viewer"}'
assert_status 201 "create viewer token"
VIEWER=$(ul_jq .token)
UNDERLAY_TOKEN=$VIEWER "$UNDERLAY" console n1 >"$UL_TMP/o" 2>"$UL_TMP/e" </dev/null
assert_eq $? 1 "viewer starting a console: exit status"
assert_contains "$(cat "$UL_TMP/e")" "needs the operator role" "viewer starting a console"

# ---- the interactive client ----
mkfifo "$UL_TMP/w.in" "$UL_TMP/v.in"
"$UNDERLAY" console n1 <"$UL_TMP/w.in" >"$UL_TMP/w.out" 2>"$UL_TMP/w.err" &
W_PID=$!
exec {WFD}>"$UL_TMP/w.in"
wait_for "$UL_TMP/w.err" "console open (interactive)"

host_print "host says hello-1"
wait_for "$UL_TMP/w.out" "host says hello-1"
printf 'typed-by-operator-1\r' >&"$WFD"
wait_for "$RECV" "typed-by-operator-1"

# ---- a second client watches read-only ----
UNDERLAY_TOKEN=$VIEWER "$UNDERLAY" console n1 <"$UL_TMP/v.in" >"$UL_TMP/v.out" \
    2>"$UL_TMP/v.err" &
V_PID=$!
exec {VFD}>"$UL_TMP/v.in"
wait_for "$UL_TMP/v.err" "read-only"
assert_contains "$(cat "$UL_TMP/v.err")" "held by admin" "the viewer is told who holds it"
# It sees what came before it (the backlog) and what comes next.
wait_for "$UL_TMP/v.out" "host says hello-1"
host_print "host says hello-2"
wait_for "$UL_TMP/v.out" "host says hello-2"
wait_for "$UL_TMP/w.out" "host says hello-2"
# Its typing goes nowhere; the holder's next line proves the path was open.
printf 'typed-by-viewer\r' >&"$VFD"
wait_for "$UL_TMP/v.err" "your input is not sent"
printf 'typed-by-operator-2\r' >&"$WFD"
wait_for "$RECV" "typed-by-operator-2"
assert_not_contains "$(cat "$RECV")" "typed-by-viewer" "a viewer's typing reached the host"

# ---- ~. leaves; the viewer hears the session ended ----
printf '~.' >&"$WFD"
wait_exit "$W_PID" 20
W_PID=""
assert_eq "$RC" 0 "leaving with ~.: exit status"
assert_contains "$(cat "$UL_TMP/w.err")" "detached" "leaving with ~."
wait_exit "$V_PID" 20
V_PID=""
assert_eq "$RC" 0 "the viewer after the session ended: exit status"
assert_contains "$(cat "$UL_TMP/v.err")" "the interactive client left" "the viewer is told why"
exec {WFD}>&- {VFD}>&-

# "~" not at a line start, and "~~", go through as typed
"$UNDERLAY" console n1 <"$UL_TMP/w.in" >"$UL_TMP/w2.out" 2>"$UL_TMP/w2.err" &
W_PID=$!
exec {WFD}>"$UL_TMP/w.in"
wait_for "$UL_TMP/w2.err" "console open (interactive)"
printf 'a~b\r~~c\r' >&"$WFD"
wait_for "$RECV" "~c"
assert_contains "$(cat "$RECV")" "a~b" "a '~' inside a line"
# End of input leaves too.
exec {WFD}>&-
wait_exit "$W_PID" 20
W_PID=""
assert_eq "$RC" 0 "end of input: exit status"

# ---- the audit trail: who, node, start, end ----
ul_api GET "/api/v1/audit?limit=50"
assert_status 200 "audit"
items='(.items // .)'
assert_eq "$(ul_jq "[$items[] | select(.action == \"console.attach\" and .target == \"n1\")] | length")" 3 \
    "console.attach records"
assert_eq "$(ul_jq "[$items[] | select(.action == \"console.detach\" and .target == \"n1\")] | length")" 3 \
    "console.detach records"
assert_eq "$(ul_jq "[$items[] | select(.action == \"console.detach\" and .actor == \"watcher\")][0].detail.mode")" \
    read-only "the viewer's record"
assert_eq "$(ul_jq "[$items[] | select(.action == \"console.detach\" and .actor == \"admin\")][-1] | (.detail.started != null and .detail.ended != null and .detail.duration_s >= 0)")" \
    true "start and end of the interactive session"

# ---- the output log ----
wait_for "$LOGDIR/n1.log" "host says hello-2"
assert_contains "$(cat "$LOGDIR/n1.log")" "console of n1 opened by admin" "log header"

# The SOL session was given back: a new one opens at once.
"$UNDERLAY" console n1 </dev/null >"$UL_TMP/w3.out" 2>"$UL_TMP/w3.err"
assert_eq $? 0 "a new session after the last one ended"
assert_contains "$(cat "$UL_TMP/w3.err")" "console open (interactive)" "a new session"

# ---- shutdown with a console open: the session ends, the client is told,
# underlayd exits 0 (under AddressSanitizer: nothing leaked) ----
"$UNDERLAY" console n1 <"$UL_TMP/w.in" >"$UL_TMP/w4.out" 2>"$UL_TMP/w4.err" &
W_PID=$!
exec {WFD}>"$UL_TMP/w.in"
wait_for "$UL_TMP/w4.err" "console open (interactive)"
ul_stop
wait_exit "$W_PID" 20
W_PID=""
assert_contains "$(cat "$UL_TMP/w4.err")" "the daemon is stopping" "the client hears why"
exec {WFD}>&-
