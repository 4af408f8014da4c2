#!/bin/bash
# What an operator meets in the CLI (issue 12, item 2): global options after
# the command, usage errors caught before any request, a refused token traced
# to its source and server, no silent fall back to another token file, "did
# you mean" for unknown node names, sensors and sel over host lists, each
# per-node error printed once, human wording and counts, hints in CLI terms.
. "$TOP_SRCDIR/tests/lib.sh"

ul_have_cli || ul_skip "the CLI '$UNDERLAY' is not built"

ul_start

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

exit 0
