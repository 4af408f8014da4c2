#!/bin/bash
# The underlay CLI against a real daemon: node add/list/show/set/rm over host
# lists, power with --wait, job list/show/wait/cancel, table and JSON output,
# and the documented exit codes (0 ok, 1 error, 2 usage, 3 partial failure).
# What the CLI claims is checked against the API.
. "$TOP_SRCDIR/tests/lib.sh"

ul_have_cli || ul_skip "the CLI '$UNDERLAY' is not built"

ul_start

# cli ARGS...: run the CLI; sets RC, OUT (stdout) and ERR (stderr).
cli() {
    OUT=$("$UNDERLAY" "$@" 2>"$UL_TMP/cli.err" </dev/null)
    RC=$?
    ERR=$(cat "$UL_TMP/cli.err")
}
# cli_ok ARGS...: run the CLI and fail the test unless it exits 0.
cli_ok() {
    cli "$@"
    [ "$RC" -eq 0 ] || ul_fail "underlay $* exited $RC (expected 0); stderr: $ERR; stdout: $OUT"
}
# cli_rc WANT ARGS...
cli_rc() {
    local want=$1
    shift
    cli "$@"
    [ "$RC" -eq "$want" ] ||
        ul_fail "underlay $* exited $RC (expected $want); stderr: $ERR; stdout: $OUT"
}
node_count() {
    ul_api GET '/api/v1/nodes?limit=1000'
    assert_status 200 "node list"
    ul_jq .total
}

# ---- basics ---------------------------------------------------------------------------
cli_ok --help
assert_contains "$OUT" "Usage: underlay"
cli_ok --version
assert_contains "$OUT" "underlay "
cli_ok health

# ---- node add with a host list ----------------------------------------------------------
cli_ok node add 'n[1-3]' --endpoint 'fake://{name}-bmc' --label rack=r1 --label role=web
ul_api GET '/api/v1/nodes?name=n*'
assert_json '[.items[].name] | join(",")' "n1,n2,n3" "nodes added"
assert_json '[.items[].endpoint] | join(",")' "fake://n1-bmc,fake://n2-bmc,fake://n3-bmc" "{name} in the endpoint"
assert_json '[.items[] | .labels.rack == "r1" and .labels.role == "web"] | all' true "labels"
assert_json '[.items[].driver] | unique | join(",")' fake "driver from the scheme"

export UL_TEST_BMC_PW="cli-secret-pw-$RANDOM"
cli_ok node add bad1 --endpoint 'fake://bad1' --option fail=unreachable --user root \
    --password-env UL_TEST_BMC_PW --state ready
ul_api GET /api/v1/nodes/bad1
assert_json .options.fail unreachable "--option"
assert_json .username root "--user"
assert_json .has_password true "--password-env"
assert_json .state ready "--state"
cli_ok node add slow1 --endpoint 'fake://slow1' --option delay_ms=2000
ul_api GET /api/v1/nodes/slow1
assert_json .options.delay_ms 2000 "--option with an integer value"
assert_json '.options.delay_ms | type' number
assert_eq "$(node_count)" 5 "nodes after add"

# Adding an existing node again fails for that node only: partial failure.
cli_rc 3 node add 'n[3-4]' --endpoint 'fake://{name}'
assert_contains "$ERR" "n3"
ul_api GET /api/v1/nodes/n4
assert_status 200 "n4 created although n3 existed"
ul_api GET /api/v1/nodes/n3
assert_json .endpoint fake://n3-bmc "n3 untouched"
cli_ok node rm n4

# ---- node list ------------------------------------------------------------------------
cli_ok node list
header=$(head -n 1 <<<"$OUT")
for col in NAME DRIVER ENDPOINT STATE LABELS; do
    assert_contains "$header" "$col" "node list header"
done
assert_eq "$(($(wc -l <<<"$OUT") - 1))" 5 "node list rows"
row=$(grep '^n2 ' <<<"$OUT") || ul_fail "no row for n2 in: $OUT"
assert_contains "$row" "fake://n2-bmc"
assert_contains "$row" "enrolled"
assert_contains "$row" "rack=r1"
assert_contains "$row" "fake"
assert_not_contains "$OUT" "$UL_TEST_BMC_PW" "node list"

cli_ok -o json node list
assert_eq "$(jq -r '.total' <<<"$OUT")" 5 "node list -o json total"
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$OUT")" "bad1,n1,n2,n3,slow1" "node list -o json"
assert_eq "$(jq -r '[.items[] | select(.name == "bad1")][0].has_password' <<<"$OUT")" true
assert_not_contains "$OUT" "$UL_TEST_BMC_PW" "node list -o json"

cli_ok -o json node list --label rack=r1 --name 'n[12]'
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$OUT")" "n1,n2" "node list filters"
cli_ok -o json node list --state ready
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$OUT")" "bad1" "node list --state"
cli_ok -o json node list --limit 2 --offset 1
assert_eq "$(jq -r '[.items[].name] | join(",")' <<<"$OUT")" "n1,n2" "node list --limit --offset"

# ---- node show -------------------------------------------------------------------------
cli_ok node show n1
assert_contains "$OUT" "n1"
assert_contains "$OUT" "fake://n1-bmc"
assert_contains "$OUT" "rack=r1"
grep -q '^name: *n1$' <<<"$OUT" || ul_fail "node show: no 'name: n1' line in: $OUT"
cli_ok node show bad1
grep -q '^password: *set$' <<<"$OUT" || ul_fail "node show: no 'password: set' line in: $OUT"
assert_not_contains "$OUT" "$UL_TEST_BMC_PW" "node show"
cli_ok -o json node show n1
assert_eq "$(jq -r .name <<<"$OUT")" n1 "node show -o json"
assert_eq "$(jq -r .endpoint <<<"$OUT")" fake://n1-bmc "node show -o json"

# ---- node set ---------------------------------------------------------------------------
cli_ok node set 'n[1-2]' --label tier=gold --unlabel role --state maintenance
for n in n1 n2; do
    ul_api GET "/api/v1/nodes/$n"
    assert_json '.labels | to_entries | sort_by(.key) | from_entries | tojson' \
        '{"rack":"r1","tier":"gold"}' "labels of $n after node set"
    assert_json .state maintenance "state of $n after node set"
    assert_json .endpoint "fake://$n-bmc" "endpoint of $n after node set"
done
ul_api GET /api/v1/nodes/n3
assert_json .labels.role web "n3 untouched by node set n[1-2]"
assert_json .state enrolled "n3 untouched by node set n[1-2]"
cli_ok node set n2 --state ready
ul_api GET /api/v1/nodes/n2
assert_json .state ready "node set --state"
assert_json .labels.tier gold "labels kept by node set --state"

# ---- power -------------------------------------------------------------------------------
cli_ok power cycle 'n[1-3]' --wait
for n in n1 n2 n3; do
    row=$(grep "^$n " <<<"$OUT") || ul_fail "power cycle --wait: no row for $n in: $OUT"
    assert_contains "$row" succeeded "power cycle row for $n"
    [[ $row =~ [[:space:]]on([[:space:]]|$) ]] || ul_fail "power cycle: $n not shown on: $row"
    ul_api GET "/api/v1/jobs?node=$n&limit=1"
    assert_json .items[0].params.action cycle "last job on $n"
    assert_json .items[0].state succeeded "last job on $n"
    assert_json .items[0].result.power on "last job on $n"
done
CYCLE_ID=$(jq -r '.items[0].id' <<<"$UL_BODY")

cli_ok -o json power status 'n[1-3]'
assert_eq "$(jq -r '[.[] | .node + "=" + .job.result.power] | join(",")' <<<"$OUT")" \
    "n1=on,n2=on,n3=on" "power status -o json"

cli_ok power off n2 --wait
ul_api GET '/api/v1/jobs?node=n2&limit=1'
assert_json .items[0].result.power off "power off n2"

# Without --wait: job ids, which job wait then follows.
cli_ok -o json power on 'n[1-2]'
ids=$(jq -r '[.[].job.id] | join(" ")' <<<"$OUT")
[[ $ids =~ ^[0-9]+\ [0-9]+$ ]] || ul_fail "power on without --wait: no job ids in: $OUT"
cli_ok job wait $ids
for id in $ids; do
    ul_api GET "/api/v1/jobs/$id"
    assert_json .state succeeded "job $id after job wait"
done

# ---- jobs ----------------------------------------------------------------------------------
cli_ok job list
assert_contains "$(head -n 1 <<<"$OUT")" "STATE" "job list header"
grep -q "^$CYCLE_ID " <<<"$OUT" || ul_fail "job list: no row for job $CYCLE_ID in: $OUT"
cli_ok -o json job list --node n1
assert_eq "$(jq -r '[.items[].node] | unique | join(",")' <<<"$OUT")" n1 "job list --node"
ul_api GET '/api/v1/jobs?node=n1'
assert_eq "$(jq -r .total <<<"$OUT")" "$(ul_jq .total)" "job list --node total"
cli_ok -o json job list --state succeeded
assert_eq "$(jq -r '[.items[].state] | unique | join(",")' <<<"$OUT")" succeeded "job list --state"

cli_ok job show "$CYCLE_ID"
grep -q '^state: *succeeded$' <<<"$OUT" || ul_fail "job show: no 'state: succeeded' in: $OUT"
assert_contains "$OUT" "power=on" "job show result"
cli_ok -o json job show "$CYCLE_ID"
assert_eq "$(jq -r .id <<<"$OUT")" "$CYCLE_ID" "job show -o json"
assert_eq "$(jq -r .result.power <<<"$OUT")" on "job show -o json"
cli_ok job wait "$CYCLE_ID"
assert_contains "$OUT" "$CYCLE_ID"

# Cancel: A runs on the slow BMC, B queues behind it.
cli_ok -o json power on slow1
A=$(jq -r '.[0].job.id' <<<"$OUT")
wait_job_state "$A" running 5
cli_ok -o json power off slow1
B=$(jq -r '.[0].job.id' <<<"$OUT")
ul_api GET "/api/v1/jobs/$B"
assert_json .state queued "B behind A"
cli_ok job cancel "$B"
ul_api GET "/api/v1/jobs/$B"
assert_json .state canceled "B after job cancel"
cli_rc 1 job cancel "$B"
assert_contains "$ERR" "$B" "cancel of a finished job"
cli_ok job cancel "$A"
cli_rc 1 job wait "$A" --timeout 10
ul_api GET "/api/v1/jobs/$A"
assert_json .state canceled "A after job cancel"

# ---- exit codes ------------------------------------------------------------------------------
before=$(node_count)
cli_rc 2 node add 'n[1-' --endpoint 'fake://{name}'
assert_eq "$(node_count)" "$before" "nodes after a bad host list"
cli_rc 2 node rm 'n[3-1]'
cli_rc 2 node add x1
cli_rc 2 nosuchcommand
cli_rc 2 node frobnicate
cli_rc 2 power explode n1
cli_rc 2 node list --no-such-option
cli_rc 2 job show notanumber
cli_rc 2 -o yaml node list

cli_rc 1 node show nosuch
assert_contains "$ERR" nosuch "node show of an unknown node"
cli_rc 1 job show 999999
cli_rc 1 -t wrong-token node list
cli_rc 1 -s http://127.0.0.1:1 node list
[ -n "$ERR" ] || ul_fail "connection refused: nothing on stderr"

# Partial failure: one node's BMC is unreachable.
cli_rc 3 power on 'n1,bad1' --wait
assert_contains "$ERR" bad1 "partial failure names the failed node"
assert_contains "$OUT$ERR" "unreachable" "partial failure says why"
ul_api GET '/api/v1/jobs?node=n1&limit=1'
assert_json .items[0].state succeeded "n1's job in the partial failure"
# Every target failed: 1.
cli_rc 1 power on bad1 --wait
cli_rc 1 -o json power status bad1
assert_eq "$(jq -r '.[0].ok' <<<"$OUT")" false "-o json of a failed target"

# ---- node rm -----------------------------------------------------------------------------------
cli_ok node rm 'n[1-3]'
ul_api GET '/api/v1/nodes?name=n*'
assert_json .total 0 "nodes after node rm n[1-3]"
cli_rc 1 node rm 'n[1-2]'
cli_rc 3 node rm 'bad1,nosuch'
ul_api GET /api/v1/nodes/bad1
assert_status 404 "bad1 after node rm"
assert_eq "$(node_count)" 1 "nodes at the end"

# The BMC password given to the CLI never reached the daemon's log.
grep -qF "$UL_TEST_BMC_PW" "$UL_DIR/daemon.log" && ul_fail "the BMC password is in the daemon log"

ul_stop
exit 0
