#!/usr/bin/env bash
# The web dashboard in a real browser: underlayd serves web/ at / and runs a
# small simulated fleet (two ipmi_sim BMCs polled every 5 s with RRD
# history, four nodes on the fake driver, one BMC that never answers);
# headless Chromium driven by playwright-core (dashboard.mjs) signs in with a
# wrong token (refused), then the admin token, sees every node as a tile,
# filters, powers a node off and cycles it through the confirmation dialog
# watching the job to its end and the power state change, finds the job in
# the jobs view, configures a Redfish node (the project's emulator) through
# the Configuration section (firmware update from a local image server,
# BIOS change applied now, RAID volume created and deleted; a fake node says
# "Not supported by this BMC"), opens a polled node's sensors and a graph
# drawn from stored data, and takes screenshots of each step into
# $TOP_BUILDDIR/tests/web/screenshots (their paths are printed).  A
# second underlayd (polling off) holds 10,000 fake nodes for the fleet list
# (first render, scrolling and filters timed and printed), a bulk power
# action with its confirmation and per-node progress, enrolment and editing
# (with a stale version: 412).
#
# Skips (77) only when Chromium, node, playwright-core or a simulator
# (ipmi_sim, the Redfish emulator's python3) is missing; scripts/deps.sh
# installs them (playwright-core outside the source tree, in
# /var/cache/underlay-test-node; UL_NODE_MODULES overrides).
. "$TOP_SRCDIR/tests/lib.sh"
# The Redfish emulator (emu_start; stopped at exit, then rf_extra_cleanup).
. "$TOP_SRCDIR/tests/lib_redfish.sh"
# Nothing written into the source tree (distcheck's is read-only).
export PYTHONDONTWRITEBYTECODE=1

CHROMIUM=${UL_CHROMIUM:-/usr/bin/chromium}
NODE_MODULES=${UL_NODE_MODULES:-/var/cache/underlay-test-node/node_modules}
[ -x "$CHROMIUM" ] || ul_skip "Chromium is not installed at $CHROMIUM (scripts/deps.sh installs it)"
command -v node >/dev/null 2>&1 || ul_skip "node is not installed (scripts/deps.sh installs it)"
[ -f "$NODE_MODULES/playwright-core/package.json" ] ||
    ul_skip "playwright-core is not in $NODE_MODULES (scripts/deps.sh installs it)"
[ -f "$TOP_SRCDIR/web/index.html" ] || ul_fail "no dashboard in $TOP_SRCDIR/web"

SIMCTL="$TOP_SRCDIR/tests/ipmisim/simctl.sh"
"$SIMCTL" deps >/dev/null 2>&1 || ul_skip "ipmi_sim or FreeIPMI tools not installed (scripts/deps.sh)"
SIMDIR="$UL_TMP/sims"
IMG_PID=""
rf_extra_cleanup() {
    stop_big
    "$SIMCTL" stop "$SIMDIR" >/dev/null 2>&1
    if [ -n "$IMG_PID" ]; then
        kill "$IMG_PID" 2>/dev/null
        wait "$IMG_PID" 2>/dev/null
        IMG_PID=""
    fi
}
"$SIMCTL" start 2 auto "$SIMDIR" >/dev/null || ul_fail "simulators did not start"
port_of() { "$SIMCTL" info "$SIMDIR" "$1" | sed -n 's/^SIM_PORT=//p'; }

# A Redfish BMC (BIOS, storage, firmware updates run as tasks of 300 ms
# steps), and a local HTTP server for the image its SimpleUpdate fetches.
EMU=$(emu_start rf --power-delay 0.3 --task-step-ms 300) || ul_fail "the Redfish emulator did not start"
IMGDIR="$UL_TMP/images"
mkdir -p "$IMGDIR"
{ printf 'UNDERLAY-FIRMWARE component=BIOS version=2.6.0\n'; head -c 4096 /dev/urandom; } >"$IMGDIR/bios-2.6.bin"
IMG_PORT=$(ul_free_port) || ul_fail "no free port for the image server"
(cd "$IMGDIR" && exec python3 -m http.server --bind 127.0.0.1 "$IMG_PORT") >"$UL_TMP/images.log" 2>&1 &
IMG_PID=$!
for _ in $(seq 50); do
    curl -s -o /dev/null "http://127.0.0.1:$IMG_PORT/" && break
    sleep 0.1
done
curl -sf -o /dev/null "http://127.0.0.1:$IMG_PORT/bios-2.6.bin" || ul_fail "the image server does not answer"

SHOTS="$TOP_BUILDDIR/tests/web/screenshots"
rm -rf "$SHOTS"
mkdir -p "$SHOTS" || ul_fail "cannot create $SHOTS"

# Enrol the fleet first with polling off, then restart with polling on: the
# scheduler reads the node list at start, where nodes added later wait for
# its 30 s sync.
ul_start -s api.web_dir="$TOP_SRCDIR/web"

check_static() {
    local code
    code=$(curl -s -o "$UL_TMP/index.html" -w '%{http_code} %{content_type}' "$UL_URL/")
    assert_eq "$code" "200 text/html; charset=utf-8" "GET /"
    grep -q '<script type="module" src="app.js">' "$UL_TMP/index.html" || ul_fail "/ is not the dashboard"
    curl -s -D "$UL_TMP/h" -o /dev/null "$UL_URL/app.js"
    grep -qi '^content-type: text/javascript' "$UL_TMP/h" || ul_fail "app.js type: $(cat "$UL_TMP/h")"
    grep -qi '^x-content-type-options: nosniff' "$UL_TMP/h" || ul_fail "no nosniff on app.js"
    grep -qi "^content-security-policy: default-src 'none'" "$UL_TMP/h" || ul_fail "no CSP on app.js"
    grep -qi '^cache-control: no-cache' "$UL_TMP/h" || ul_fail "cache-control on app.js"
    assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -I "$UL_URL/style.css")" 200 "HEAD style.css"
    assert_eq "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$UL_URL/index.html")" 405 "POST index.html"
    local p
    for p in /nosuch.html /.hidden.js '/..%2f..%2fetc/passwd' '/../../etc/passwd' /%2e%2e/web/index.html \
        '/a%5cb.js' /README.md; do
        ul_api -n GET "$p"
        assert_error 404 not_found
    done
}
ul_check check_static

OPTS='{"workarounds":"opensesspriv","quirks":"boot-flags-no-valid-bit"}'
for i in 0 1; do
    ul_node_add "bmc-n0$((i + 1))" "$(jq -cn --arg e "ipmi://127.0.0.1:$(port_of "$i")" --argjson o "$OPTS" \
        '{endpoint: $e, username: "admin", password: "password", options: $o, labels: {rack: "ipmi"}}')"
done
# Simulated BMCs that take 300 ms a call, so a job's progress can be seen;
# two start powered on.
for i in 1 2 3 4; do
    ul_node_add "rack1-n0$i" "$(jq -cn --argjson on $((i <= 2)) \
        '{labels: {rack: "rack1"}, options: ({delay_ms: 300} + if $on == 1 then {power: "on"} else {} end)}')"
done
ul_node_add rf-n01 "$(jq -cn --arg e "$EMU" \
    '{endpoint: $e, username: "admin", password: "password", labels: {rack: "redfish"}}')"
# A BMC that never answers: a UDP port nobody listens on.
ul_node_add rack2-n01 "$(jq -cn --arg e "ipmi://127.0.0.1:$(ul_free_port)" --argjson o "$OPTS" \
    '{endpoint: $e, username: "admin", password: "password", options: $o, labels: {rack: "rack2"}}')"

# A fleet of thousands for the list view, on a second underlayd (its own
# data directory and port, background polling off: see docs/dashboard.md
# for why): SCALE_NODES fake nodes fk00001.. (40 a rack r001..; site
# s1..s4), each BMC 300 ms a call (so a bulk action's progress can be seen),
# each its own POST /api/v1/nodes, from one curl with 8 requests in
# flight on keep-alive connections.
SCALE_NODES=${UL_WEB_SCALE_NODES:-10000}
BIG_DIR="$UL_TMP/big"
BIG_PID=""
start_big() {
    mkdir -m 0700 "$BIG_DIR" || ul_fail "cannot create $BIG_DIR"
    BIG_PORT=$(ul_free_port) || ul_fail "no free port for the second underlayd"
    "$UNDERLAYD" -d "$BIG_DIR" -l "127.0.0.1:$BIG_PORT" -s poll.enabled=0 -s api.web_dir="$TOP_SRCDIR/web" \
        >>"$BIG_DIR/daemon.log" 2>&1 </dev/null &
    BIG_PID=$!
    BIG_URL="http://127.0.0.1:$BIG_PORT"
    for _ in $(seq 150); do
        grep -qF "API on $BIG_URL/api/v1" "$BIG_DIR/daemon.log" 2>/dev/null &&
            [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BIG_URL/healthz")" = 200 ] && break
        kill -0 "$BIG_PID" 2>/dev/null || ul_fail "the second underlayd exited: $(tail -n 5 "$BIG_DIR/daemon.log")"
        sleep 0.1
    done
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$BIG_URL/healthz")" = 200 ] ||
        ul_fail "the second underlayd does not answer on $BIG_URL"
    BIG_TOKEN=$(head -n 1 "$BIG_DIR/admin.token")
}
stop_big() {
    if [ -n "$BIG_PID" ]; then
        kill "$BIG_PID" 2>/dev/null
        wait "$BIG_PID" 2>/dev/null
        BIG_PID=""
    fi
}
enrol_many() {
    local cfg="$UL_TMP/enrol.curl" i rack t0 t1 codes
    for i in $(seq 1 "$SCALE_NODES"); do
        rack=$(((i - 1) / 40 + 1))
        printf 'next\nurl = "%s/api/v1/nodes"\nheader = "Authorization: Bearer %s"\nheader = "Content-Type: application/json"\n' \
            "$BIG_URL" "$BIG_TOKEN"
        printf 'data = "{\\"name\\":\\"fk%05d\\",\\"endpoint\\":\\"fake://fk%05d\\",\\"labels\\":{\\"rack\\":\\"r%03d\\",\\"site\\":\\"s%d\\"},\\"options\\":{\\"delay_ms\\":300}}"\n' \
            "$i" "$i" "$rack" $((rack % 4 + 1))
        printf 'output = "/dev/null"\nwrite-out = "%%{http_code}\\n"\nmax-time = 30\n'
    done >"$cfg"
    t0=$(date +%s%N)
    codes=$(curl -s --parallel --parallel-max 8 -K "$cfg" 2>/dev/null | sort | uniq -c | tr -s ' ')
    t1=$(date +%s%N)
    [ "$codes" = " $SCALE_NODES 201" ] || ul_fail "enrolling $SCALE_NODES fake nodes: answers $codes"
    ul_log "enrolled $SCALE_NODES fake nodes (POST /api/v1/nodes each, one curl, 8 in parallel, keep-alive) in $(((t1 - t0) / 1000000)) ms"
}
start_big
enrol_many

UL_ARGS=(-s api.web_dir="$TOP_SRCDIR/web" -s poll.enabled=1 -s poll.sensor_interval=5
    -s poll.sel_interval=5 -s poll.max_backoff=10 -s bmc.timeout=2)
ul_restart

export UL_URL UL_TOKEN SHOTS UL_NODE_MODULES="$NODE_MODULES" UL_CHROMIUM="$CHROMIUM"
export UNDERLAY_BIN="$UNDERLAY" SCALE_NODES BIG_URL BIG_TOKEN
export FLEET_SIZE=8 IPMI_NODE=bmc-n01 FAKE_NODE=rack1-n01 UNREACHABLE_NODE=rack2-n01
export RF_NODE=rf-n01 EMU_URL="$EMU" IMAGE_URL="http://127.0.0.1:$IMG_PORT/bios-2.6.bin"
# The browser test has its own 240 s watchdog; this is the last resort.
timeout -k 5 270 node "$TOP_SRCDIR/tests/web/dashboard.mjs" || ul_fail "the browser test failed (screenshots in $SHOTS)"

stop_big
ul_stop
