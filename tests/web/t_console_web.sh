#!/usr/bin/env bash
# The dashboard's serial console in a real browser (issue 12, item 7): the
# node page's terminal (xterm.js, served by underlayd from web/vendor/xterm)
# over the console WebSocket to ipmi_sim's SOL, whose serial port is
# tests/ipmisim/serial_host.py.  console.mjs opens the console, sees the
# host's output, types to the host, watches read-only from a second browser,
# and leaves.  Screenshots go to $TOP_BUILDDIR/tests/web/screenshots.
#
# Skips (77) when Chromium, node, playwright-core, ipmi_sim or xterm.js
# (scripts/deps.sh installs each) is missing.
. "$TOP_SRCDIR/tests/lib.sh"

CHROMIUM=${UL_CHROMIUM:-/usr/bin/chromium}
NODE_MODULES=${UL_NODE_MODULES:-/var/cache/underlay-test-node/node_modules}
[ -x "$CHROMIUM" ] || ul_skip "Chromium is not installed at $CHROMIUM (scripts/deps.sh installs it)"
command -v node >/dev/null 2>&1 || ul_skip "node is not installed (scripts/deps.sh installs it)"
[ -f "$NODE_MODULES/playwright-core/package.json" ] ||
    ul_skip "playwright-core is not in $NODE_MODULES (scripts/deps.sh installs it)"
[ -f "$TOP_SRCDIR/web/vendor/xterm/xterm.js" ] ||
    ul_skip "xterm.js is not in web/vendor/xterm (scripts/deps.sh installs it)"
SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed"

SIMDIR="$UL_TMP/sims"
RECV="$UL_TMP/received"
HOSTFIFO="$UL_TMP/print"
: >"$RECV"
HOST_PID=""
cleanup_all() {
    local rc=$?
    "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1
    [ -n "$HOST_PID" ] && kill "$HOST_PID" 2>/dev/null
    (exit $rc)
    ul__cleanup
}
trap cleanup_all EXIT

SOLPORT=$(ul_free_port) || ul_fail "no free port for the serial host"
python3 "$TOP_SRCDIR/tests/ipmisim/serial_host.py" "$SOLPORT" "$RECV" "$HOSTFIFO" \
    >"$UL_TMP/host.log" 2>&1 &
HOST_PID=$!
for _ in $(seq 100); do [ -p "$HOSTFIFO" ] && break; sleep 0.1; done
[ -p "$HOSTFIFO" ] || ul_fail "serial_host.py did not start: $(cat "$UL_TMP/host.log")"
SIMCTL_SOL_BASE=$SOLPORT "$SIMCTL" start 1 auto "$SIMDIR" >/dev/null ||
    ul_fail "simulator did not start"
eval "$("$SIMCTL" info "$SIMDIR" 0)"

ul_start -s api.web_dir="$TOP_SRCDIR/web"
OPTS='{"workarounds":["opensesspriv","solchannelsupport","solpayloadsize"]}'
ul_node_add n1 "$(jq -cn --arg e "ipmi://127.0.0.1:$SIM_PORT" --argjson o "$OPTS" \
    '{endpoint: $e, username: "admin", password: "password", options: $o}')"

SHOTS="$TOP_BUILDDIR/tests/web/screenshots"
mkdir -p "$SHOTS"
UL_URL=$UL_URL UL_TOKEN=$UL_TOKEN UL_NODE_MODULES=$NODE_MODULES UL_CHROMIUM=$CHROMIUM \
    SHOTS=$SHOTS NODE_NAME=n1 RECV=$RECV HOSTFIFO=$HOSTFIFO \
    timeout 180 node "$TOP_SRCDIR/tests/web/console.mjs" || ul_fail "the browser steps failed"

# The server's side of it: both browsers' sessions are in the audit trail.
ul_api GET "/api/v1/audit?limit=20"
assert_eq "$(ul_jq '[(.items // .)[] | select(.action == "console.detach")] | length')" 2 \
    "console.detach records for the two browsers"
# and underlayd stops cleanly after them (under ASan: nothing leaked)
ul_stop
