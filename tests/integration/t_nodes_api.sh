#!/bin/bash
# Node inventory over raw HTTP: create, list (with filters and paging), get,
# merge-patch of labels, delete; and the BMC password never leaves the daemon:
# not in a reply, not in the log, not in plaintext anywhere in the data dir.
. "$TOP_SRCDIR/tests/lib.sh"

# Debug logging: the most verbose the daemon gets, so the most chances for a
# secret to slip into the log.
ul_start -L debug

# The labels as compact JSON with sorted keys (the order of keys in an object
# carries no meaning).
LABELS='.labels | to_entries | sort_by(.key) | from_entries | tojson'

PW1="pw-Zq81-$RANDOM-plaintext-secret"
PW2="pw-Kx44-$RANDOM-rotated-secret"
# Every reply body is kept, to search them all for the passwords at the end.
ALL="$UL_TMP/all-replies"
: >"$ALL"
api() {
    ul_api "$@"
    printf '%s\n' "$UL_BODY" >>"$ALL"
}

# ---- create ----------------------------------------------------------------
api POST /api/v1/nodes "$(jq -cn --arg pw "$PW1" '{name: "web1", endpoint: "fake://web1",
    username: "root", password: $pw, labels: {rack: "r1", role: "web", tier: "gold"}}')"
assert_status 201 "create web1"
assert_json .name web1
assert_json .endpoint fake://web1
assert_json .driver fake
assert_json .username root
assert_json .has_password true
assert_json 'has("password")' false "create reply"
assert_json .state enrolled "default state"
assert_json "$LABELS" '{"rack":"r1","role":"web","tier":"gold"}'
assert_json '.created_at | type' string

# A node without credentials says so.
api POST /api/v1/nodes '{"name":"web2","endpoint":"fake://web2","labels":{"rack":"r1","role":"web"}}'
assert_status 201 "create web2"
assert_json .has_password false
assert_json .username ""

api POST /api/v1/nodes '{"name":"web3","endpoint":"fake://web3","labels":{"rack":"r2","role":"web"},"state":"maintenance"}'
assert_status 201 "create web3"
assert_json .state maintenance
api POST /api/v1/nodes '{"name":"db1","endpoint":"fake://db1","labels":{"rack":"r1","role":"db"},"state":"ready"}'
assert_status 201 "create db1"
api POST /api/v1/nodes '{"name":"db2","endpoint":"fake://db2:623","labels":{"rack":"r2","role":"db"},"state":"maintenance"}'
assert_status 201 "create db2"
assert_json .endpoint fake://db2:623

# ---- get -------------------------------------------------------------------
api GET /api/v1/nodes/web1
assert_status 200 "get web1"
assert_json .name web1
assert_json .username root
assert_json .has_password true
assert_json 'has("password")' false "get reply"
assert_json .labels.tier gold

# ---- list and filters -------------------------------------------------------
names() { ul_jq '[.items[].name] | join(",")'; }

api GET /api/v1/nodes
assert_status 200 "list"
assert_json .total 5
assert_eq "$(names)" "db1,db2,web1,web2,web3" "list, ordered by name"
assert_json '[.items[] | has("password")] | any' false "list reply"
assert_json '[.items[] | select(.name=="web1")][0].has_password' true

api GET '/api/v1/nodes?name=web*'
assert_status 200 "name glob"
assert_json .total 3
assert_eq "$(names)" "web1,web2,web3" "name=web*"

api GET '/api/v1/nodes?name=*1'
assert_eq "$(names)" "db1,web1" "name=*1"

api GET '/api/v1/nodes?label=rack=r1'
assert_status 200 "label filter"
assert_json .total 3
assert_eq "$(names)" "db1,web1,web2" "label=rack=r1"

# Repeated label filters are ANDed.
api GET '/api/v1/nodes?label=rack=r1&label=role=web'
assert_status 200 "two label filters"
assert_json .total 2
assert_eq "$(names)" "web1,web2" "label=rack=r1 AND label=role=web"

api GET '/api/v1/nodes?label=rack=r2&label=role=web&label=tier=gold'
assert_json .total 0 "three label filters, none match"
assert_json '.items | length' 0

api GET '/api/v1/nodes?label=rack=r9'
assert_json .total 0 "unknown label value"

api GET '/api/v1/nodes?state=maintenance'
assert_status 200 "state filter"
assert_eq "$(names)" "db2,web3" "state=maintenance"

api GET '/api/v1/nodes?state=maintenance&label=role=db&name=d*'
assert_eq "$(names)" "db2" "state, label and name together"

# Paging: total counts every match, items only the page.
api GET '/api/v1/nodes?limit=2&offset=1'
assert_status 200 "paging"
assert_json .total 5
assert_json .limit 2
assert_json .offset 1
assert_eq "$(names)" "db2,web1" "limit=2 offset=1"

api GET '/api/v1/nodes?limit=2&offset=4'
assert_json .total 5
assert_eq "$(names)" "web3" "last page"

api GET '/api/v1/nodes?limit=2&offset=10'
assert_json .total 5
assert_json '.items | length' 0 "past the end"

api GET '/api/v1/nodes?name=web*&limit=1&offset=1'
assert_json .total 3 "filtered total"
assert_eq "$(names)" "web2" "filtered page"

# ---- patch -----------------------------------------------------------------
# Merge patch: a null value removes a label, others are added or replaced,
# labels not named stay.
api PATCH /api/v1/nodes/web1 '{"labels":{"tier":null,"role":"frontend","os":"linux"}}'
assert_status 200 "patch labels"
assert_json "$LABELS" '{"os":"linux","rack":"r1","role":"frontend"}'
assert_json '.labels | has("tier")' false "removed label"
assert_json .username root "username untouched by a labels patch"
assert_json .has_password true "password untouched by a labels patch"
assert_json .state enrolled "state untouched by a labels patch"

# The change is stored, not only echoed.
api GET /api/v1/nodes/web1
assert_json "$LABELS" '{"os":"linux","rack":"r1","role":"frontend"}' "labels after patch, re-read"

# The label index follows the patch.
api GET '/api/v1/nodes?label=role=web'
assert_eq "$(names)" "web2,web3" "label=role=web after patch"
api GET '/api/v1/nodes?label=role=frontend'
assert_eq "$(names)" "web1" "label=role=frontend after patch"

# Removing a label that is not there is fine; an empty patch changes nothing.
api PATCH /api/v1/nodes/web2 '{"labels":{"nosuch":null}}'
assert_status 200 "remove absent label"
assert_json "$LABELS" '{"rack":"r1","role":"web"}'

api PATCH /api/v1/nodes/web2 '{"state":"ready","endpoint":"fake://web2-new:6230","username":"admin"}'
assert_status 200 "patch state, endpoint, username"
assert_json .state ready
assert_json .endpoint fake://web2-new:6230
assert_json .username admin
assert_json .has_password false
api GET /api/v1/nodes/web2
assert_json .state ready "state re-read"
assert_json .endpoint fake://web2-new:6230 "endpoint re-read"

# Setting a password on a node without one, and rotating another's.
api PATCH /api/v1/nodes/web2 "$(jq -cn --arg pw "$PW2" '{password: $pw}')"
assert_status 200 "set password"
assert_json .has_password true
assert_json 'has("password")' false "patch reply"
api PATCH /api/v1/nodes/web1 "$(jq -cn --arg pw "$PW2" '{password: $pw}')"
assert_status 200 "rotate password"
assert_json .has_password true
api GET /api/v1/nodes/web2
assert_json .has_password true "has_password re-read"

# Options of the fake driver are accepted and shown.
api PATCH /api/v1/nodes/db1 '{"options":{"delay_ms":10,"power":"on"}}'
assert_status 200 "patch options"
assert_json .options.delay_ms 10
assert_json .options.power on

# The BMC password is used by jobs: a power status job on a node with a
# password must work (and not log it).
api POST /api/v1/nodes/web1/power '{"action":"status"}'
assert_status 202 "power status on web1"
JOB=$(ul_jq .job.id)
wait_job "$JOB"
printf '%s\n' "$UL_BODY" >>"$ALL"
assert_json .state succeeded "power status job"

# ---- delete ----------------------------------------------------------------
api DELETE /api/v1/nodes/web3
assert_status 204 "delete web3"
assert_eq "$UL_BODY" "" "204 has no body"
api GET /api/v1/nodes/web3
assert_status 404 "get deleted node"
api DELETE /api/v1/nodes/web3
assert_status 404 "delete twice"
api GET /api/v1/nodes
assert_json .total 4 "after delete"
assert_eq "$(names)" "db1,db2,web1,web2" "after delete"
api GET '/api/v1/nodes?state=maintenance'
assert_eq "$(names)" "db2" "state filter after delete"

# The name can be used again.
api POST /api/v1/nodes '{"name":"web3","endpoint":"fake://web3"}'
assert_status 201 "re-create web3"
assert_json '.labels | length' 0 "re-created node starts without labels"

# Other read paths that show nodes or activity.
api GET /api/v1/audit
assert_status 200 "audit"
api GET /api/v1/jobs
assert_status 200 "jobs"

# ---- the passwords stay secret ------------------------------------------------
# (stop first, so every log line and the WAL are on disk)
ul_stop

for pw in "$PW1" "$PW2"; do
    if grep -qF "$pw" "$ALL"; then
        ul_fail "a BMC password appears in an API reply"
    fi
    if grep -qF "$pw" "$UL_DIR/daemon.log"; then
        ul_fail "a BMC password appears in the daemon log"
    fi
    hits=$(grep -rlaF "$pw" "$UL_DIR" || true)
    [ -z "$hits" ] || ul_fail "a BMC password is stored in plaintext in: $hits"
done
# The check above must be able to find a string in the store: it does find a
# label value we stored.
grep -rqaF "frontend" "$UL_DIR" || ul_fail "self-check: label not found in the data dir"

exit 0
