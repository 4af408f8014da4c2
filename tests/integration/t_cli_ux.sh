#!/bin/bash
# What an operator meets in the CLI (issue 12, item 2): global options after
# the command, usage errors caught before any request, a refused token traced
# to its source and server, no silent fall back to another token file, "did
# you mean" for unknown node names, sensors and sel over host lists, each
# per-node error printed once, human wording and counts, hints in CLI terms.
. "$TOP_SRCDIR/tests/lib.sh"

ul_have_cli || ul_skip "the CLI '$UNDERLAY' is not built"
. "$TOP_SRCDIR/tests/lib_redfish.sh"

# Polling on (for the --cached hint), with sweeps far apart: the fake nodes
# have no sensors, so they never have readings, whenever their sweep runs.
ul_start -s poll.enabled=1 -s poll.sensor_interval=3600

cli() {
    OUT=$("$UNDERLAY" "$@" 2>"$UL_TMP/cli.err" </dev/null)
    RC=$?
    ERR=$(cat "$UL_TMP/cli.err")
}
cli_ok() {
    cli "$@"
    [ "$RC" -eq 0 ] || ul_fail "underlay $* exited $RC (expected 0); stderr: $ERR; stdout: $OUT"
}
cli_rc() {
    local want=$1
    shift
    cli "$@"
    [ "$RC" -eq "$want" ] ||
        ul_fail "underlay $* exited $RC (expected $want); stderr: $ERR; stdout: $OUT"
}
# A port nothing listens on: a command that sent a request would fail with
# "cannot connect" (exit 1), so exit 2 with the usage message proves none was.
DEAD="http://127.0.0.1:$(ul_free_port)"

cli_ok node add 'rack1-n[01-03]' --endpoint 'fake://{name}' --label rack=rack1 --option power=on

# ---- global options after the command ---------------------------------------------------
cli_ok node list -o json
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$OUT")" "rack1-n01,rack1-n02,rack1-n03" \
    "node list -o json (option after the command)"
cli_ok node list --output=json --label rack=rack1
assert_eq "$(jq -r .total <<<"$OUT")" 3 "node list --output=json after the command"
cli_ok job list -o json
jq -e '.items | type == "array"' <<<"$OUT" >/dev/null || ul_fail "job list -o json: $OUT"
# --server and --token after the command, too: the bad server is used.
cli_rc 1 node list -s "$DEAD"
assert_contains "$ERR" "cannot connect to underlayd at $DEAD"
cli_rc 2 node list -o yaml
assert_contains "$ERR" "--output: expected 'table' or 'json', not 'yaml'"
cli_rc 2 node list --token abc --token-file /dev/null
assert_contains "$ERR" "give --token or --token-file, not both"
# graph keeps -o for its file.
cli_rc 2 graph rack1-n01 temperature
assert_contains "$ERR" "-o"

# ---- usage errors the client can detect: exit 2, no request -----------------------------
cli_rc 2 -s "$DEAD" job list --state runing
assert_contains "$ERR" "--state: 'runing' is not a job state (queued, running, succeeded, failed, canceled)"
assert_not_contains "$ERR" "cannot connect"
cli_rc 2 -s "$DEAD" node list --state broken
assert_contains "$ERR" "--state: 'broken' is not a node state"
assert_not_contains "$ERR" "cannot connect"
cli_ok job list --state succeeded
cli_rc 2 -s "$DEAD" token create ci --role operater
assert_contains "$ERR" "--role: 'operater' is not a role (admin, operator or viewer)"

# ---- a refused token names its source and the server -------------------------------------
printf 'ul_not-a-real-token\n' >"$UL_TMP/bad.token"
cli_rc 1 node list --token-file "$UL_TMP/bad.token"
assert_contains "$ERR" "the token from --token-file $UL_TMP/bad.token, refused by $UL_URL"
UNDERLAY_TOKEN=ul_wrong cli_rc 1 node list
assert_contains "$ERR" "the token from \$UNDERLAY_TOKEN, refused by $UL_URL"
(
    unset UNDERLAY_TOKEN
    UNDERLAY_TOKEN_FILE="$UL_TMP/bad.token" cli_rc 1 node list
    assert_contains "$ERR" "the token from \$UNDERLAY_TOKEN_FILE ($UL_TMP/bad.token), refused by $UL_URL"
    printf 'token_file = %s\n' "$UL_TMP/bad.token" >"$UL_TMP/cli.conf"
    UNDERLAY_CONFIG="$UL_TMP/cli.conf" cli_rc 1 node list
    assert_contains "$ERR" "$UL_TMP/bad.token ('token_file' in $UL_TMP/cli.conf), refused by $UL_URL"
    cli_rc 1 node list
    assert_contains "$ERR" "no API token was sent to $UL_URL"
    assert_contains "$ERR" "--token-file"
    # Set but empty: no token at all, never the config file's token file.
    printf 'token_file = %s\n' "$UL_DIR/admin.token" >"$UL_TMP/good.conf"
    UNDERLAY_CONFIG="$UL_TMP/good.conf" UNDERLAY_TOKEN_FILE= cli_rc 1 node list
    assert_contains "$ERR" "no API token was sent to $UL_URL (\$UNDERLAY_TOKEN_FILE is set but empty)"
    UNDERLAY_CONFIG="$UL_TMP/good.conf" cli_ok node list
) || UL_FAILED=$((UL_FAILED + 1))
# A viewer token refused an action (403) is named too.
ul_api POST /api/v1/tokens '{"name":"ux-viewer","role":"viewer"}'
assert_status 201 "create a viewer token"
VIEWER=$(ul_jq .token)
UNDERLAY_TOKEN=$VIEWER cli_rc 1 power on rack1-n01
assert_contains "$ERR" "the token from \$UNDERLAY_TOKEN, on $UL_URL"

# ---- "not found" suggests the close node names ---------------------------------------------
cli_rc 1 node show rack1-n1
assert_contains "$ERR" "node 'rack1-n1' not found (did you mean rack1-n01?)"
cli_rc 1 health rakc1-n02
assert_contains "$ERR" "(did you mean rack1-n02?)"
cli_rc 1 node show rack1-n0
assert_contains "$ERR" "(did you mean rack1-n01, rack1-n02 or rack1-n03?)"
cli_rc 1 node show zzz
assert_not_contains "$ERR" "did you mean" "no suggestion when nothing is close"
cli_rc 3 power status 'rack1-n1,rack1-n02'
assert_contains "$OUT" "(did you mean rack1-n01?)" "the power table's ERROR column"
# A --node filter that matches nothing because the node does not exist.
cli_ok job list --node rack1-n2
assert_contains "$ERR" "job list: no jobs: node 'rack1-n2' not found (did you mean rack1-n02?)"
cli_ok job list --node rack1-n02
assert_eq "$ERR" "" "job list --node of a known node"
cli_ok events --node rack1-n3
assert_contains "$ERR" "events: no events: node 'rack1-n3' not found (did you mean rack1-n03?)"

# ---- each per-node error once ------------------------------------------------------------
cli_ok node add 'bad[1-2]' --endpoint 'fake://{name}' --option fail=unreachable
cli_rc 3 power on 'bad[1-2],rack1-n01' --wait
# The table's ERROR column carries each failure; stderr names the failed
# nodes once in its count line, not each error again.
assert_eq "$(grep -c 'BMC unreachable' <<<"$OUT")" 2 "errors in the power table"
assert_not_contains "$ERR" "BMC unreachable" "stderr repeating the table's errors"
assert_contains "$ERR" "power on: 2 of 3 failed: bad1, bad2"
row=$(grep '^bad1 ' <<<"$OUT")
assert_not_contains "$row" "node bad1:" "the node named twice in its own row"
cli_rc 3 boot 'bad1,rack1-n01' pxe
assert_eq "$(grep -c 'BMC unreachable' <<<"$OUT$ERR")" 1 "boot: one line for bad1's error"
assert_contains "$ERR" "boot pxe: 1 of 2 failed: bad1"
# With -o json the errors go to stderr, one line each, without "node bad1:"
# repeating the line's own prefix.
cli_rc 1 -o json power status bad1
assert_eq "$(grep -c 'BMC unreachable' <<<"$ERR")" 1 "-o json: one stderr line for bad1"
assert_not_contains "$ERR" "bad1: power status: node bad1:" "node named twice"
assert_eq "$(jq -r '.[0].error.code' <<<"$OUT")" unreachable "-o json error code"
cli_ok job list --node bad1 --state failed
row=$(sed -n 2p <<<"$OUT")
assert_contains "$row" "BMC unreachable" "job list MESSAGE"
assert_not_contains "$row" "node bad1:" "job list: the node named twice in its row"

# ---- hints in CLI terms ------------------------------------------------------------------
cli_rc 1 sensors rack1-n01 --cached
assert_contains "$ERR" "run 'underlay sensors rack1-n01' to read them now"
assert_contains "$ERR" "'underlay health rack1-n01' for the last poll error"
assert_not_contains "$ERR" "POST" "an API hint in a CLI message"

# ---- sensors and sel over host lists (one table, a NODE column) -------------------------------
url=$(emu_start rf) || ul_fail "cannot start the Redfish emulator"
printf 'password\n' >"$UL_TMP/bmc.pw"
# Two nodes on one emulator: two BMCs as far as the CLI can tell.
cli_ok node add 'rf[1-2]' --endpoint "$url" --user admin --password-file "$UL_TMP/bmc.pw"
cli_rc 3 sensors 'rf[1-2],bad1' --kind temperature
header=$(head -n 1 <<<"$OUT")
[[ $header =~ ^NODE\ +NAME\ +KIND\ +VALUE ]] || ul_fail "sensors HOSTLIST header: $header"
for n in rf1 rf2; do
    grep -Eq "^$n +Inlet Temp +temperature +[0-9.]+ +C +ok" <<<"$OUT" ||
        ul_fail "sensors HOSTLIST: no Inlet Temp row for $n in: $OUT"
    grep -Eq "^$n: [0-9]+ sensors: .*\([0-9]+ shown\)$" <<<"$OUT" ||
        ul_fail "sensors HOSTLIST: no count line for $n in: $OUT"
done
assert_not_contains "$OUT" "bad1" "a failed node in the sensors table"
assert_eq "$(grep -c 'bad1' <<<"$ERR")" 1 "bad1: named once on stderr"
assert_contains "$ERR" "bad1: sensors: sensors not supported by this BMC"
assert_contains "$ERR" "sensors: 1 of 3 failed"
cli_ok -o json sensors 'rf[1-2]' --kind fan
assert_eq "$(jq -r '[.[].node] | join(",")' <<<"$OUT")" rf1,rf2 "sensors -o json nodes, in order"
assert_eq "$(jq -r '[.[].result.sensors[].kind] | unique | join(",")' <<<"$OUT")" fan \
    "sensors -o json: --kind applies"
cli_ok sensors rf1 # one NAME: the single-node table, no NODE column
[[ $(head -n 1 <<<"$OUT") =~ ^NAME ]] || ul_fail "sensors NAME: $(head -n 1 <<<"$OUT")"
cli_rc 3 sel 'rf[1-2],bad1'
grep -Eq '^rf1: [0-9]+ entr(y|ies) \([0-9]+ new\)$' <<<"$OUT" || ul_fail "sel HOSTLIST: $OUT"
grep -Eq '^rf2: [0-9]+ entr(y|ies) \([0-9]+ new\)$' <<<"$OUT" || ul_fail "sel HOSTLIST: $OUT"
assert_contains "$ERR" "bad1: sel: event log reading not supported by this BMC"
assert_contains "$ERR" "sel: 1 of 3 failed"
# An entry from rf1 (a firmware update logs one) shows up with its node.
fw="$UL_TMP/fw.bin"
printf 'UNDERLAY-FIRMWARE component=BIOS version=2.7.0\n' >"$fw"
head -c 4096 /dev/urandom >>"$fw"
cli_ok firmware rf1 upload "$fw"
cli_ok sel 'rf[1-2]'
head -n 1 <<<"$OUT" | grep -Eq '^TIME +NODE +SEVERITY +SENSOR +MESSAGE' || ul_fail "sel HOSTLIST header: $OUT"
grep -Eq '^[0-9T:-]+Z +rf1 +info .*2\.7\.0' <<<"$OUT" || ul_fail "sel HOSTLIST: no rf1 firmware entry: $OUT"
cli_ok -o json sel 'rf[1-2]'
assert_eq "$(jq -r '[.[] | .node + "=" + (.ok|tostring)] | join(",")' <<<"$OUT")" "rf1=true,rf2=true"
jq -e '.[0].sel.events.items | length >= 1' <<<"$OUT" >/dev/null || ul_fail "sel -o json: $OUT"

# ---- human wording and counts --------------------------------------------------------------
cli_ok bios rf2 set ProcTurboMode=Disabled --apply now
assert_eq "$OUT" "rf2: 1 BIOS setting applied and verified"
cli_ok bios rf2 set ProcTurboMode=Disabled --apply now
assert_eq "$OUT" "rf2: the BIOS setting already has this value; nothing written"
cli_ok bios rf2 set ProcTurboMode=Enabled NumaNodesPerSocket=2 --apply on-reset
assert_eq "$OUT" "rf2: 2 BIOS settings staged; they apply at the next reset"
cli_ok bios rf2
grep -Eq '^[0-9]+ attributes, 2 pending; registry ' <<<"$OUT" || ul_fail "bios: $(tail -n 1 <<<"$OUT")"
cli_ok raid rf2
assert_contains "$OUT" "RAID levels: RAID0, RAID1"
assert_not_contains "$OUT" '["' "raw JSON in raid show"
grep -Eq '^[0-9]+ drives, ([0-9]+ not in a volume|all in volumes|none in a volume); [0-9]+ volumes?$' \
    <<<"$OUT" || ul_fail "raid show: no drive and volume count in: $OUT"

exit 0
