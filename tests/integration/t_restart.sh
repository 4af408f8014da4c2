#!/bin/bash
# State survives a clean restart (SIGTERM, start again on the same data dir):
# 50 nodes with their labels, jobs, tokens; the schema version is kept and no
# migration runs again; the admin token and the secret key are not
# regenerated (BMC passwords stay readable); both files are mode 0600.
. "$TOP_SRCDIR/tests/lib.sh"

ul_start

# ---- 50 nodes -------------------------------------------------------------------
if ul_have_cli; then
    out=$("$UNDERLAY" node add 'rack1-n[01-50]' --endpoint 'fake://{name}' --label rack=rack1 2>&1)
    rc=$?
    [ $rc -eq 0 ] || ul_fail "underlay node add exited $rc: $out"
else
    ul_log "no CLI ($UNDERLAY): creating the nodes over HTTP"
    for i in $(seq -w 1 50); do
        ul_api POST /api/v1/nodes "{\"name\":\"rack1-n$i\",\"endpoint\":\"fake://rack1-n$i\",\"labels\":{\"rack\":\"rack1\"}}"
        assert_status 201 "create rack1-n$i"
    done
fi
ul_api GET '/api/v1/nodes?limit=1000'
assert_json .total 50 "nodes created"
assert_json '[.items[] | select(.labels.rack == "rack1")] | length' 50 "nodes labelled rack=rack1"
assert_json '[.items[] | select(.endpoint == "fake://" + .name)] | length' 50 "endpoints from {name}"
assert_json '.items[0].name + " " + .items[49].name' "rack1-n01 rack1-n50"

# Some variety: more labels, a state, options, a password.
ul_api PATCH /api/v1/nodes/rack1-n07 '{"labels":{"role":"db","rack":null},"state":"maintenance"}'
assert_status 200 "patch rack1-n07"
ul_api PATCH /api/v1/nodes/rack1-n08 '{"password":"restart-secret-pw","username":"root","options":{"power":"on"}}'
assert_status 200 "patch rack1-n08"
ul_api POST /api/v1/tokens '{"name":"watcher","role":"viewer"}'
assert_status 201 "create viewer token"
VIEWER=$(ul_jq .token)
ul_power rack1-n01 on
wait_job "$UL_JOB"
assert_json .state succeeded "power on before restart"
JOB=$UL_JOB

snapshot() {
    ul_api GET '/api/v1/nodes?limit=1000'
    assert_status 200 "node list"
    NODES=$UL_BODY
    ul_api GET '/api/v1/jobs?limit=1000'
    assert_status 200 "job list"
    JOBS=$UL_BODY
    ul_api GET /api/v1/tokens
    assert_status 200 "token list"
    TOKENS=$(jq -c '[.items[] | {name, role, created_at}]' <<<"$UL_BODY")
    assert_contains "$TOKENS" '"watcher"' "token list"
}
snapshot
NODES0=$NODES JOBS0=$JOBS TOKENS0=$TOKENS
TOKEN0=$UL_TOKEN
KEY0=$(cksum <"$UL_DIR/secret.key")
ls "$UL_DIR/underlay.db" >/dev/null || ul_fail "no underlay.db in the data dir"

ul_stop
assert_contains "$(cat "$UL_DIR/daemon.log")" "shutting down" "daemon log"

schema_version() {
    if command -v sqlite3 >/dev/null 2>&1; then
        sqlite3 "$UL_DIR/underlay.db" 'PRAGMA user_version'
    else
        python3 -c 'import sqlite3, sys
print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' \
            "$UL_DIR/underlay.db"
    fi
}
SCHEMA0=$(schema_version) || ul_fail "cannot read the schema version"
[[ $SCHEMA0 =~ ^[1-9][0-9]*$ ]] || ul_fail "schema version '$SCHEMA0'"

# ---- restart ----------------------------------------------------------------------
LOG_LINES=$(wc -l <"$UL_DIR/daemon.log")
ul_restart
assert_eq "$UL_TOKEN" "$TOKEN0" "admin.token after restart"
assert_eq "$(cksum <"$UL_DIR/secret.key")" "$KEY0" "secret.key after restart"
NEWLOG=$(tail -n +"$((LOG_LINES + 1))" "$UL_DIR/daemon.log")
assert_not_contains "$NEWLOG" "migrated" "second start's log"
assert_not_contains "$NEWLOG" "created the admin API token" "second start's log"

# The old admin token still works (the daemon did not make a new one).
ul_api -t "$TOKEN0" GET /api/v1/nodes/rack1-n01
assert_status 200 "old admin token after restart"
ul_api -t "$VIEWER" GET /api/v1/nodes/rack1-n01
assert_status 200 "viewer token after restart"

snapshot
assert_eq "$NODES" "$NODES0" "every node after restart"
assert_eq "$JOBS" "$JOBS0" "every job after restart"
assert_eq "$TOKENS" "$TOKENS0" "tokens after restart"
ul_api GET '/api/v1/nodes?label=rack=rack1'
assert_json .total 49 "label filter after restart"
ul_api GET /api/v1/nodes/rack1-n07
assert_json .labels.role db
assert_json .state maintenance
ul_api GET /api/v1/nodes/rack1-n08
assert_json .has_password true
assert_json .username root
ul_api GET "/api/v1/jobs/$JOB"
assert_json .state succeeded "job from before the restart"
assert_json .result.power on

# The stored password is still readable with the kept key: a job on the node
# (which decrypts it to open the BMC session) works.
ul_power rack1-n08 status
wait_job "$UL_JOB"
assert_json .state succeeded "power status on a node with a password, after restart"

# The daemon keeps working: writes after the restart persist too.
ul_api POST /api/v1/nodes '{"name":"after","endpoint":"fake://after"}'
assert_status 201 "create after restart"

# ---- files ----------------------------------------------------------------------
for f in admin.token secret.key; do
    [ -f "$UL_DIR/$f" ] || ul_fail "no $f in the data dir"
    mode=$(stat -c %a "$UL_DIR/$f")
    assert_eq "$mode" 600 "mode of $f"
done

ul_stop
assert_eq "$(schema_version)" "$SCHEMA0" "schema version after restart"

# And once more, after the daemon's own second shutdown.
ul_restart
ul_api GET /api/v1/nodes
assert_json .total 51 "nodes after a second restart"
ul_stop
exit 0
