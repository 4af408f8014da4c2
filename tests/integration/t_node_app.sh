#!/bin/bash
# The application layer over HTTP: node versions (ETag on GET, If-Match on
# PATCH answering 412 when stale), two concurrent PATCHes of different labels
# that both land, the lifecycle transition table (409 naming the allowed
# states), and the drivers' capabilities (listed on GET; a request the
# driver cannot serve answers 501 at once, no job queued, the refusal of a
# change audited).
. "$TOP_SRCDIR/tests/lib.sh"

ul_start

# get_etag NAME: GET the node, set UL_BODY and ETAG (the header's value).
get_etag() {
    local hdrs="$UL_TMP/headers"
    UL_BODY=$(curl -sS --max-time 30 -D "$hdrs" -H "Authorization: Bearer $UL_TOKEN" \
        "$UL_URL/api/v1/nodes/$1") || ul_fail "GET node $1"
    ETAG=$(sed -n 's/^[Ee][Tt][Aa][Gg]: *\(.*\)\r$/\1/p' "$hdrs")
    grep -q '^HTTP/1.1 200' "$hdrs" || ul_fail "GET node $1: $(head -n 1 "$hdrs")"
}

ul_node_add n1 '{"labels":{"rack":"r1"}}'
assert_json .version 1 "a new node is at version 1"
assert_json '.capabilities | join(",")' "power,boot" "the fake driver's capabilities"

# ---- versions: ETag and If-Match ------------------------------------------------------
check_versions() {
    get_etag n1
    assert_eq "$ETAG" '"1"' "ETag of a new node"
    assert_json .version 1
    ul_api -H 'If-Match: "1"' PATCH /api/v1/nodes/n1 '{"labels":{"role":"db"}}'
    assert_status 200 "PATCH with the current ETag"
    assert_json .version 2
    get_etag n1
    assert_eq "$ETAG" '"2"' "ETag after a PATCH"
    # Stale: refused, nothing written.
    ul_api -H 'If-Match: "1"' PATCH /api/v1/nodes/n1 '{"labels":{"role":"web"}}'
    assert_error 412 precondition_failed "version 1" "it is 2"
    ul_api GET /api/v1/nodes/n1
    assert_json .labels.role db "a stale PATCH changed nothing"
    assert_json .version 2 "a stale PATCH changed nothing"
    # "*" and no If-Match at all: any current version.
    ul_api -H 'If-Match: *' PATCH /api/v1/nodes/n1 '{"labels":{"role":"web"}}'
    assert_status 200 "If-Match: *"
    assert_json .version 3
    # Not an ETag of ours: 400 naming the header, nothing written.
    for bad in '"abc"' 'W/"3"' '"0"' '"3", "4"' '"99999999999999999999"'; do
        ul_api -H "If-Match: $bad" PATCH /api/v1/nodes/n1 '{"labels":{"role":"x"}}'
        assert_error 400 invalid_argument "If-Match"
    done
    ul_api GET /api/v1/nodes/n1
    assert_json .version 3 "bad If-Match headers changed nothing"
    # The refused (stale) update is audited.
    ul_api GET '/api/v1/audit?action=node.update&limit=100'
    assert_json '[.items[] | select(.target == "n1" and .result == "error")] | length' 1 \
        "the stale PATCH is audited"
}
ul_check check_versions

# ---- two concurrent PATCHes of different labels ----------------------------------------
# Two curls, started together, each send a run of PATCHes over one
# connection: request i of writer W adds label W<i> and removes W<i-1>.  A
# lost update (one writer's read-merge-write over the other's) would leave
# the other's W<i-1> behind for good (its next PATCH removes only W<i>), so
# at the end the labels must be exactly a<N> and b<N>, and every PATCH must
# have made one version.  Six rounds of 400 each: with the old
# read-merge-write a single round of 1,000 lost an update in 3 runs of 5 on
# an idle machine, six rounds lost some in every run tried.
patch_config() { # NODE WRITER COUNT: a curl config of COUNT PATCHes
    local node=$1 w=$2 n=$3 i
    for ((i = 1; i <= n; i++)); do
        printf 'url = "%s/api/v1/nodes/%s"\n' "$UL_URL" "$node"
        printf 'request = "PATCH"\n'
        printf 'header = "Authorization: Bearer %s"\n' "$UL_TOKEN"
        printf 'header = "Content-Type: application/json"\n'
        printf 'header = "Expect:"\n'
        printf 'data = "{\\"labels\\":{\\"%s%d\\":\\"1\\",\\"%s%d\\":null}}"\n' "$w" "$i" "$w" $((i - 1))
        printf 'output = "/dev/null"\n'
        printf 'write-out = "%%{http_code}\\n"\n'
        if [ "$i" -lt "$n" ]; then printf 'next\n'; fi
    done
}

# One round on node race$1: two writers of $2 PATCHes each.
patch_round() {
    local node=race$1 n=$2 pa pb
    ul_node_add "$node" '{"labels":{"a0":"1","b0":"1"}}'
    patch_config "$node" a "$n" >"$UL_TMP/a.cfg"
    patch_config "$node" b "$n" >"$UL_TMP/b.cfg"
    curl -sS --max-time 120 -K "$UL_TMP/a.cfg" >"$UL_TMP/a.out" 2>"$UL_TMP/a.err" &
    pa=$!
    curl -sS --max-time 120 -K "$UL_TMP/b.cfg" >"$UL_TMP/b.out" 2>"$UL_TMP/b.err" &
    pb=$!
    wait "$pa" || ul_fail "$node writer a: curl failed: $(<"$UL_TMP/a.err")"
    wait "$pb" || ul_fail "$node writer b: curl failed: $(<"$UL_TMP/b.err")"
    assert_eq "$(sort "$UL_TMP/a.out" "$UL_TMP/b.out" | uniq -c | tr -s ' ')" " $((2 * n)) 200" \
        "$node: every PATCH answered 200"
    ul_api GET "/api/v1/nodes/$node"
    assert_json '.labels | keys | join(",")' "a$n,b$n" "$node: labels after $n concurrent PATCHes each"
    assert_json .version $((1 + 2 * n)) "$node: every PATCH made one version"
}

check_concurrent_patches() {
    local r
    for r in 1 2 3 4 5 6; do
        patch_round "$r" 400
    done
}
ul_check check_concurrent_patches

# ---- the lifecycle transition table ----------------------------------------------------
check_lifecycle() {
    ul_node_add life '{"state":"deployed"}'
    ul_api PATCH /api/v1/nodes/life '{"state":"provisioning"}'
    assert_error 409 conflict "cannot go from deployed to provisioning" \
        "ready, maintenance or retired"
    ul_api GET /api/v1/nodes/life
    assert_json .state deployed "a refused transition changes nothing"
    assert_json .version 1 "a refused transition changes nothing"
    # A refused transition in a PATCH refuses the whole PATCH.
    ul_api PATCH /api/v1/nodes/life '{"state":"enrolled","labels":{"x":"1"}}'
    assert_status 409 "deployed -> enrolled"
    ul_api GET /api/v1/nodes/life
    assert_json '.labels | has("x")' false "nothing of a refused PATCH is written"
    # Maintenance remembers where it came from, and goes back there.
    ul_api PATCH /api/v1/nodes/life '{"state":"maintenance"}'
    assert_status 200 "deployed -> maintenance"
    assert_json .maintenance_from deployed
    ul_api PATCH /api/v1/nodes/life '{"state":"provisioning"}'
    assert_error 409 conflict "ready, deployed or retired"
    ul_api PATCH /api/v1/nodes/life '{"state":"deployed"}'
    assert_status 200 "maintenance -> deployed (where it came from)"
    assert_json .maintenance_from null
    ul_api PATCH /api/v1/nodes/life '{"state":"retired"}'
    assert_status 200 "deployed -> retired"
    ul_api PATCH /api/v1/nodes/life '{"state":"ready"}'
    assert_error 409 conflict "from retired it may go to enrolled"
    ul_api PATCH /api/v1/nodes/life '{"state":"enrolled"}'
    assert_status 200 "retired -> enrolled"
    # Same state: a no-op, allowed.
    ul_api PATCH /api/v1/nodes/life '{"state":"enrolled"}'
    assert_status 200 "enrolled -> enrolled"
    # An operator's power request still runs on a node in maintenance.
    ul_api PATCH /api/v1/nodes/life '{"state":"maintenance"}'
    assert_status 200 "enrolled -> maintenance"
    ul_power life status
    ul_api GET '/api/v1/audit?action=node.update&limit=100'
    assert_json '[.items[] | select(.target == "life" and .result == "error")] | length' 4 \
        "refused transitions are audited"
}
ul_check check_lifecycle

# ---- capabilities: 501 at once, no job -------------------------------------------------
check_capabilities() {
    local path
    for path in bios bios/settings raid raid/volumes firmware firmware/update sensors sel \
        sel/clear inventory; do
        case $path in
        bios/settings) body='{"attributes":{"X":"1"}}' ;;
        raid/volumes) body='{"name":"v","raid_type":"RAID1"}' ;;
        firmware/update) body='{"image_uri":"http://127.0.0.1:1/fw.bin"}' ;;
        *) body='{}' ;;
        esac
        ul_api POST "/api/v1/nodes/n1/$path" "$body"
        assert_error 501 not_supported "node n1:" "not supported by this BMC" \
            "driver fake lacks capability"
    done
    ul_api POST /api/v1/nodes/n1/bios '{}'
    assert_json .error.message \
        "node n1: BIOS not supported by this BMC (driver fake lacks capability 'bios')"
    ul_api GET '/api/v1/jobs?node=n1'
    assert_json .total 0 "no job queued for what the driver cannot do"
    # Refused changes are audited; refused reads are not (as reads never were).
    ul_api GET '/api/v1/audit?action=bios.set'
    assert_json .total 1 "refused bios.set is audited"
    assert_json .items[0].result error
    assert_json .items[0].detail.error not_supported
    ul_api GET '/api/v1/audit?action=sel.clear'
    assert_json .total 1 "refused sel.clear is audited"
    # What the driver can do still queues a job.
    ul_power n1 status
    wait_job "$UL_JOB"
    assert_json .state succeeded "power status on a fake node"
    # Bad input is still 400 first, not 501.
    ul_api POST /api/v1/nodes/n1/bios/settings '{}'
    assert_error 400 invalid_argument "attributes"
}
ul_check check_capabilities

[ "$UL_FAILED" -eq 0 ] || ul_fail "$UL_FAILED check(s) failed"
exit 0
