#!/bin/bash
# scripts/demo.sh, the README's Quick start command 1, in its CI mode: with the
# binaries under test (no package install, no build), on a free port and in a
# temporary directory, it starts the simulated fleet, enrols it, prints its
# banner, runs every command the banner suggests (each must exit 0 with the
# output it should have) and stops everything it started.  Checked here: the
# run passed, the banner is the last thing printed and carries no daemon log
# lines, nothing the demo started is left running, and no configure noise
# could have reached the user (the demo ran no configure at all).
. "$TOP_SRCDIR/tests/lib.sh"

ul_have_cli || ul_skip "the CLI '$UNDERLAY' is not built"
bash "$TOP_SRCDIR/tests/ipmisim/simctl.sh" deps >/dev/null 2>&1 ||
    ul_skip "ipmi_sim or FreeIPMI tools not installed"
[ -f "$TOP_SRCDIR/tests/redfish/emulator.py" ] || ul_skip "the Redfish emulator is missing"

state="$UL_TMP/demo"
# Whatever happens, leave nothing running: stop by recorded PID only.
cleanup_demo() {
    bash "$TOP_SRCDIR/tests/ipmisim/simctl.sh" stop "$state/sims" >/dev/null 2>&1
    bash "$TOP_SRCDIR/tests/redfish/emuctl.sh" stop "$state/emus" >/dev/null 2>&1
}
trap 'ul_rc=$?; cleanup_demo; (exit $ul_rc); ul__cleanup' EXIT

# The port is free when chosen; another test may take it first, which the
# daemon reports as "cannot listen": try again with another.
for try in 1 2 3; do
    rm -rf "$state"
    mkdir -p "$state/data"
    port=$(ul_free_port) || ul_fail "no free port"
    t0=$SECONDS
    (cd "$UL_TMP" && exec bash "$TOP_SRCDIR/scripts/demo.sh" --ci --port "$port" \
        --data-dir "$state/data") >"$UL_TMP/demo.out" 2>"$UL_TMP/demo.err" </dev/null
    rc=$?
    took=$((SECONDS - t0))
    grep -q "cannot listen" "$state/underlayd.log" 2>/dev/null || break
    ul_log "port $port was taken, retrying"
done
out=$(<"$UL_TMP/demo.out")
err=$(<"$UL_TMP/demo.err")
ul_log "demo --ci took ${took}s; $(sed -n 's/^demo --ci: banner //p' "$UL_TMP/demo.out")"
if [ "$rc" -ne 0 ]; then
    ul_log "demo stdout:"
    cat "$UL_TMP/demo.out" >&2
    ul_log "demo stderr:"
    cat "$UL_TMP/demo.err" >&2
    tail -n 40 "$state/underlayd.log" >&2
    ul_fail "demo.sh --ci exited $rc"
fi

# Every suggested command ran and passed; there are 14 of them.
assert_contains "$out" "demo --ci: 0 of 14 suggested commands failed"
assert_eq "$(grep -c '^demo --ci: ok: ' <<<"$out")" 14 "commands that passed"
assert_contains "$out" "demo --ci: ok: $UNDERLAY power status 'rack1-n[01-08]'"
assert_contains "$out" "demo --ci: ok: $UNDERLAY sensors redfish-n01 --cached"
[ -s "$state/work/temps.png" ] || ul_fail "the graph command wrote no temps.png"

# The banner: no daemon log line on the terminal, and after the dashboard
# token come the addresses, then the commands, last.
assert_not_contains "$out$err" " info: " "daemon log lines on the terminal"
assert_not_contains "$out$err" "rm: cannot remove" "configure noise"
banner=$(sed -n '/^underlayd is running/,/^demo --ci: /p' <<<"$out" | sed '$d')
assert_contains "$banner" "token      $state/data/admin.token"
assert_contains "$banner" "dashboard  http://127.0.0.1:$port/"
last=$(grep -v '^$' <<<"$banner" | tail -n 1)
assert_contains "$last" "/api/v1/nodes" "the banner's last line (the last command)"
[ "$(grep -n 'token      ' <<<"$banner" | cut -d: -f1)" -lt \
    "$(grep -n "  $UNDERLAY node list" <<<"$banner" | cut -d: -f1)" ] ||
    ul_fail "the commands must come after the addresses: $banner"
# Each command the banner shows is one the CI run checked.
while IFS= read -r line; do
    cmd=${line#  }
    assert_contains "$out" "demo --ci: ok: $cmd" "banner command '$cmd' was run"
done < <(grep -E "^  ($UNDERLAY|curl) " <<<"$banner")

# Nothing the demo started is still running.
pids=$(sed -n "s/^demo --ci: started PIDs://p" <<<"$out")
[ "$(wc -w <<<"$pids")" -eq 7 ] || ul_fail "expected 7 recorded PIDs (4 sims, 2 emulators, underlayd), got: $pids"
for p in $pids; do
    deadline=$((SECONDS + 15))
    while kill -0 "$p" 2>/dev/null; do
        [ $SECONDS -lt $deadline ] || ul_fail "process $p started by the demo still runs"
        sleep 0.1
    done
done
exit 0
