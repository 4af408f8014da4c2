#!/bin/bash
# Bad requests: each gets the right HTTP status and a JSON error whose message
# names the problem, and none of them changes the stored state.
. "$TOP_SRCDIR/tests/lib.sh"

ul_start

ul_node_add n1 '{"labels":{"rack":"r1"},"username":"u1","state":"ready"}'
ul_node_add n2 '{"labels":{"rack":"r2"}}'

# The whole observable state: every node (with its timestamps) and every job.
# Raw bodies, compared as text: any change shows.
snapshot() {
    local nodes
    ul_api GET '/api/v1/nodes?limit=1000'
    assert_status 200 "snapshot: node list"
    nodes=$UL_BODY
    ul_api GET '/api/v1/jobs?limit=1000'
    assert_status 200 "snapshot: job list"
    STATE="$nodes
$UL_BODY"
}
snapshot
BEFORE=$STATE
assert_contains "$BEFORE" '"total":2,' "initial listing"

# After a bad request: the reply is as expected (checked by the caller) and
# nothing changed.
unchanged() { # WHAT
    local status=$UL_STATUS body=$UL_BODY
    snapshot
    if [ "$STATE" != "$BEFORE" ]; then
        ul_fail "$1 changed the state:
$(diff <(tr ',' '\n' <<<"$BEFORE") <(tr ',' '\n' <<<"$STATE") | grep '^[<>]')"
    fi
    UL_STATUS=$status
    UL_BODY=$body
}

# bad METHOD PATH BODY STATUS CODE NEEDLE...: send, check the error, check
# that nothing changed.  Each case is checked on its own (ul_check): one
# failure does not hide the others.
bad() {
    if ! ul_check bad_one "$@"; then
        # It may have changed the state: compare the next cases with the new one.
        snapshot
        BEFORE=$STATE
    fi
}
bad_one() {
    local method=$1 path=$2 body=$3 status=$4 code=$5
    shift 5
    if [ -n "$body" ]; then
        ul_api "$method" "$path" "$body"
    else
        ul_api "$method" "$path"
    fi
    assert_error "$status" "$code" "$@"
    unchanged "$method $path $body"
}

# ---- malformed bodies ---------------------------------------------------------
bad POST /api/v1/nodes '{"name": "x", endpoint: "fake://x"}' 400 invalid_argument "malformed JSON"
bad POST /api/v1/nodes '{"name": "x", "endpoint": "fake://x"' 400 invalid_argument "truncated"
bad POST /api/v1/nodes '{"name": "x", "endpoint": "fake://x"} {}' 400 invalid_argument "malformed JSON"
bad POST /api/v1/nodes '[{"name": "x", "endpoint": "fake://x"}]' 400 invalid_argument "JSON object"
bad POST /api/v1/nodes '"n3"' 400 invalid_argument "JSON object"
bad POST /api/v1/nodes '' 400 invalid_argument "empty"
bad PATCH /api/v1/nodes/n1 '{"labels": {"a": "b"}' 400 invalid_argument "truncated"
bad PATCH /api/v1/nodes/n1 '[]' 400 invalid_argument "JSON object"

# ---- fields ---------------------------------------------------------------------
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","colour":"red"}' \
    400 invalid_argument "'colour'" "unknown field"
bad POST /api/v1/nodes '{"name":42,"endpoint":"fake://n3"}' 400 invalid_argument "'name'" "string"
bad POST /api/v1/nodes '{"name":"n3","endpoint":["fake://n3"]}' 400 invalid_argument "'endpoint'"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","labels":"rack=r1"}' \
    400 invalid_argument "'labels'"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","password":null}' \
    400 invalid_argument "'password'"
bad POST /api/v1/nodes '{"endpoint":"fake://n3"}' 400 invalid_argument "'name'" "missing"
bad POST /api/v1/nodes '{"name":"n3"}' 400 invalid_argument "'endpoint'"
bad POST /api/v1/nodes '{"name":"-n3","endpoint":"fake://n3"}' 400 invalid_argument "'name'"
bad POST /api/v1/nodes '{"name":"n 3","endpoint":"fake://n3"}' 400 invalid_argument "'name'"
bad POST /api/v1/nodes "$(jq -cn --arg n "$(printf 'n%.0s' {1..300})" '{name:$n,endpoint:"fake://n3"}')" \
    400 invalid_argument "'name'"

# Endpoint URIs.
bad POST /api/v1/nodes '{"name":"n3","endpoint":"not a uri"}' 400 invalid_argument "'endpoint'"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://"}' 400 invalid_argument "'endpoint'"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3:99999"}' 400 invalid_argument "'endpoint'" "port"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://root:pw@n3"}' 400 invalid_argument "'endpoint'" "credentials"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"gopher://n3"}' 400 invalid_argument "'endpoint'" "gopher"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","driver":"nosuch"}' 400 invalid_argument "'driver'" "nosuch"
bad PATCH /api/v1/nodes/n1 '{"endpoint":"gopher://n1"}' 400 invalid_argument "'endpoint'" "gopher"
bad PATCH /api/v1/nodes/n1 '{"endpoint":"n1.example.com"}' 400 invalid_argument "'endpoint'"

# Driver options (the fake driver knows delay_ms, fail and power).
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","options":{"delay_ms":-5}}' \
    400 invalid_argument "'options'" "delay_ms"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","options":{"delay_ms":"fast"}}' \
    400 invalid_argument "delay_ms"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","options":{"fail":"sometimes"}}' \
    400 invalid_argument "'fail'"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","options":{"turbo":true}}' \
    400 invalid_argument "turbo"
bad PATCH /api/v1/nodes/n1 '{"options":{"delay_ms":-1}}' 400 invalid_argument "delay_ms"

# Node state.
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","state":"broken"}' \
    400 invalid_argument "'state'" "broken"
bad PATCH /api/v1/nodes/n1 '{"state":"broken"}' 400 invalid_argument "'state'"
# A patch with one good and one bad field changes neither.
bad PATCH /api/v1/nodes/n1 '{"username":"changed","state":"broken"}' 400 invalid_argument "'state'"
bad PATCH /api/v1/nodes/n1 '{"labels":{"rack":"r9"},"options":{"delay_ms":-1}}' 400 invalid_argument "delay_ms"
# A transition the lifecycle table forbids (ready -> deployed): 409 naming
# the allowed states, and nothing else of the patch is written either.
bad PATCH /api/v1/nodes/n1 '{"state":"deployed"}' 409 conflict "cannot go from ready to deployed" \
    "maintenance, provisioning or retired"
bad PATCH /api/v1/nodes/n1 '{"username":"changed","state":"deployed"}' 409 conflict "ready to deployed"
# If-Match that is not a node ETag (400 naming the header), or a stale one
# (412): nothing changes.
check_if_match() {
    ul_api -H 'If-Match: "nope"' PATCH /api/v1/nodes/n1 '{"username":"changed"}'
    assert_error 400 invalid_argument "header 'If-Match'"
    unchanged "PATCH with a bad If-Match"
    ul_api -H 'If-Match: "999"' PATCH /api/v1/nodes/n1 '{"username":"changed"}'
    assert_error 412 precondition_failed "version 999"
    unchanged "PATCH with a stale If-Match"
}
ul_check check_if_match

# Labels.
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","labels":{"bad key!":"v"}}' \
    400 invalid_argument "'labels'" "bad key!"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","labels":{"":"v"}}' \
    400 invalid_argument "'labels'"
bad POST /api/v1/nodes '{"name":"n3","endpoint":"fake://n3","labels":{"rack":7}}' \
    400 invalid_argument "labels.rack"
bad PATCH /api/v1/nodes/n1 '{"labels":{"bad key!":"v"}}' 400 invalid_argument "'labels'"
bad PATCH /api/v1/nodes/n1 '{"labels":{"rack":{"x":"y"}}}' 400 invalid_argument "labels.rack"
bad PATCH /api/v1/nodes/n1 '{"colour":"red"}' 400 invalid_argument "'colour'"
bad PATCH /api/v1/nodes/n1 '{"name":"renamed"}' 400 invalid_argument "'name'"

# ---- size limit (1 MiB by default) ----------------------------------------------------
python3 - "$UL_TMP/big.json" <<'EOF'
import json, sys
body = {"name": "big", "endpoint": "fake://big", "labels": {"pad": "x" * (1024 * 1024 + 100)}}
open(sys.argv[1], "w").write(json.dumps(body))
EOF
ul_api -f "$UL_TMP/big.json" POST /api/v1/nodes
assert_error 413 payload_too_large
unchanged "oversized body"
# Without a Content-Length (chunked), the limit still holds.
ul_api -f "$UL_TMP/big.json" -H 'Transfer-Encoding: chunked' POST /api/v1/nodes
assert_error 413 payload_too_large
unchanged "oversized chunked body"
ul_api -f "$UL_TMP/big.json" PATCH /api/v1/nodes/n1
assert_error 413 payload_too_large
unchanged "oversized patch"
# The daemon is still fine afterwards.
ul_api GET /api/v1/nodes/n1
assert_status 200 "get after oversized requests"

# ---- duplicate name ----------------------------------------------------------------------
ul_api GET /api/v1/nodes/n1
N1=$UL_BODY
bad POST /api/v1/nodes '{"name":"n1","endpoint":"fake://other","labels":{"rack":"r9"},"state":"retired"}' \
    409 conflict "n1"
ul_api GET /api/v1/nodes/n1
assert_eq "$UL_BODY" "$N1" "n1 after a duplicate create"
assert_json .labels.rack r1 "original node after duplicate create"
assert_json .state ready "original node after duplicate create"

# ---- unknown nodes ----------------------------------------------------------------------
bad GET /api/v1/nodes/nosuch '' 404 not_found nosuch
bad PATCH /api/v1/nodes/nosuch '{"state":"ready"}' 404 not_found nosuch
bad DELETE /api/v1/nodes/nosuch '' 404 not_found nosuch
bad POST /api/v1/nodes/nosuch/power '{"action":"on"}' 404 not_found nosuch
bad GET /api/v1/jobs/999999 '' 404 not_found 999999
bad POST /api/v1/jobs/999999/cancel '' 404 not_found 999999
bad GET /api/v1/jobs/abc '' 404 not_found abc

# ---- power requests -------------------------------------------------------------------------
bad POST /api/v1/nodes/n1/power '{"action":"explode"}' 400 invalid_argument "'action'" explode
bad POST /api/v1/nodes/n1/power '{}' 400 invalid_argument "'action'"
bad POST /api/v1/nodes/n1/power '{"action":"on","timeout":0}' 400 invalid_argument "'timeout'"
bad POST /api/v1/nodes/n1/power '{"action":"on","timeout":"5"}' 400 invalid_argument "'timeout'"
bad POST /api/v1/nodes/n1/power '{"action":"on","force":true}' 400 invalid_argument "'force'"

# ---- authentication and authorisation -------------------------------------------------------
GOOD='{"name":"n3","endpoint":"fake://n3"}'
for t in "wrong-token" "$UL_TOKEN-x" "x$UL_TOKEN"; do
    ul_api -t "$t" POST /api/v1/nodes "$GOOD"
    assert_error 401 unauthorized
    unchanged "POST with a wrong token"
    ul_api -t "$t" DELETE /api/v1/nodes/n1
    assert_error 401 unauthorized
    unchanged "DELETE with a wrong token"
done
ul_api -t "$(printf 't%.0s' {1..300})" GET /api/v1/nodes
assert_error 401 unauthorized
ul_api -n POST /api/v1/nodes "$GOOD"
assert_error 401 unauthorized "token"
unchanged "POST without a token"
ul_api -n GET /api/v1/nodes
assert_error 401 unauthorized "token"
ul_api -n PATCH /api/v1/nodes/n1 '{"state":"retired"}'
assert_error 401 unauthorized
unchanged "PATCH without a token"
ul_api -n POST /api/v1/tokens '{"name":"evil","role":"admin"}'
assert_error 401 unauthorized
unchanged "token create without a token"
# Basic auth is not a bearer token.
ul_api -n -H "Authorization: Basic $(printf 'admin:%s' "$UL_TOKEN" | base64 -w0)" GET /api/v1/nodes
assert_error 401 unauthorized
# The 401 says how to authenticate.
hdr=$(curl -sS -D - -o /dev/null "$UL_URL/api/v1/nodes")
assert_contains "$hdr" "WWW-Authenticate: Bearer" "401 headers"

# A viewer may read but not change anything.
ul_api POST /api/v1/tokens '{"name":"ro","role":"viewer"}'
assert_status 201 "create viewer token"
VIEWER=$(ul_jq .token)
assert_ne "$VIEWER" "" "viewer token"
assert_ne "$VIEWER" null "viewer token"
ul_api POST /api/v1/tokens '{"name":"ops","role":"operator"}'
assert_status 201 "create operator token"
OPERATOR=$(ul_jq .token)
snapshot
BEFORE=$STATE

ul_api -t "$VIEWER" POST /api/v1/nodes "$GOOD"
assert_error 403 forbidden viewer
unchanged "viewer POST /nodes"
ul_api -t "$VIEWER" PATCH /api/v1/nodes/n1 '{"state":"retired"}'
assert_error 403 forbidden
unchanged "viewer PATCH"
ul_api -t "$VIEWER" DELETE /api/v1/nodes/n1
assert_error 403 forbidden
unchanged "viewer DELETE"
ul_api -t "$VIEWER" POST /api/v1/nodes/n1/power '{"action":"on"}'
assert_error 403 forbidden
unchanged "viewer power"
ul_api -t "$VIEWER" POST /api/v1/tokens '{"name":"esc","role":"admin"}'
assert_error 403 forbidden
unchanged "viewer creating a token"
ul_api -t "$VIEWER" GET /api/v1/audit
assert_error 403 forbidden
ul_api GET /api/v1/tokens
assert_json '[.items[].name] | sort | join(",")' "admin,ops,ro" "tokens after refused creations"
ul_api -t "$VIEWER" GET /api/v1/nodes
assert_status 200 "viewer GET /nodes"
assert_json .total 2
ul_api -t "$VIEWER" GET /api/v1/nodes/n1
assert_status 200 "viewer GET /nodes/n1"
ul_api -t "$VIEWER" GET /api/v1/jobs
assert_status 200 "viewer GET /jobs"

# An operator may act on power but not change the inventory.
ul_api -t "$OPERATOR" POST /api/v1/nodes "$GOOD"
assert_error 403 forbidden operator
unchanged "operator POST /nodes"
ul_api -t "$OPERATOR" POST /api/v1/nodes/n1/power '{"action":"status"}'
assert_status 202 "operator power status"
wait_job "$(ul_jq .job.id)"
assert_json .actor ops "job actor"
snapshot
BEFORE=$STATE

# ---- content type, endpoints, methods -----------------------------------------------------
ul_api -c text/plain POST /api/v1/nodes "$GOOD"
assert_error 415 unsupported_media_type "Content-Type"
unchanged "POST text/plain"
ul_api -c application/x-www-form-urlencoded PATCH /api/v1/nodes/n1 'state=retired'
assert_error 415 unsupported_media_type "Content-Type"
unchanged "PATCH form-encoded"

bad GET /api/v1/bogus '' 404 not_found
bad GET /api/v2/nodes '' 404 not_found
bad GET /nope '' 404 not_found
bad GET /api/v1/nodes/n1/bogus '' 404 not_found
bad PUT /api/v1/nodes "$GOOD" 405 method_not_allowed PUT
bad DELETE /api/v1/nodes '' 405 method_not_allowed DELETE
bad GET /api/v1/nodes/n1/power '' 405 method_not_allowed
bad POST /api/v1/nodes/n1 "$GOOD" 405 method_not_allowed
bad POST /healthz '' 405 method_not_allowed

# ---- query parameters -------------------------------------------------------------------------
bad GET '/api/v1/nodes?limit=0' '' 400 invalid_argument "'limit'"
bad GET '/api/v1/nodes?limit=abc' '' 400 invalid_argument "'limit'"
bad GET '/api/v1/nodes?limit=5x' '' 400 invalid_argument "'limit'"
bad GET '/api/v1/nodes?limit=' '' 400 invalid_argument "'limit'"
bad GET '/api/v1/nodes?limit=100000000' '' 400 invalid_argument "'limit'"
bad GET '/api/v1/nodes?offset=-1' '' 400 invalid_argument "'offset'"
bad GET '/api/v1/nodes?label=rack' '' 400 invalid_argument "'label'"
bad GET '/api/v1/nodes?label==r1' '' 400 invalid_argument "'label'"
bad GET '/api/v1/jobs?limit=0' '' 400 invalid_argument "'limit'"
bad GET '/api/v1/jobs?state=sleeping' '' 400 invalid_argument "'state'"
bad GET '/api/v1/audit?limit=abc' '' 400 invalid_argument "'limit'"

# Nothing above reached the inventory.
ul_api GET /api/v1/nodes
assert_json '[.items[].name] | join(",")' "n1,n2" "nodes at the end"

ul_stop
exit 0
