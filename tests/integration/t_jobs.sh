#!/bin/bash
# The job engine through the API, on fake BMCs: power jobs and their results,
# BMC failures mapped to error codes, the per-job timeout, the per-node lock
# (jobs queue behind a slow one), cancellation of queued, running and finished
# jobs, job list filters, and the audit trail naming the actor.
. "$TOP_SRCDIR/tests/lib.sh"

ul_start

# An operator token, so that actors in jobs and the audit trail are not all
# "admin".
ul_api POST /api/v1/tokens '{"name":"oper1","role":"operator"}'
assert_status 201 "create operator token"
OPER=$(ul_jq .token)

ul_node_add p1
ul_node_add p2 '{"options":{"power":"on"}}'
ul_node_add unreach '{"options":{"fail":"unreachable"}}'
ul_node_add badauth '{"options":{"fail":"auth"},"username":"root","password":"wrong"}'
ul_node_add slow '{"options":{"delay_ms":5000}}'
# Every call to 'lock' takes 5 s: see "the per-node lock" below for why.
ul_node_add lock '{"options":{"delay_ms":5000}}'

# power NODE ACTION: run a power job to its end (as the operator).
power() {
    local body
    body=$(jq -cn --arg a "$2" '{action: $a}')
    ul_api -t "$OPER" POST "/api/v1/nodes/$1/power" "$body"
    assert_status 202 "power $2 on $1"
    assert_json .job.type power
    assert_json .job.node "$1"
    assert_json .job.params.action "$2"
    assert_json '.job.state | IN("queued","running","succeeded")' true
    JOB=$(ul_jq .job.id)
    wait_job "$JOB" 10
}

# ---- power actions on a healthy fake BMC --------------------------------------
power p1 status
assert_json .state succeeded "status"
assert_json .result.power off "initial power of a fake BMC"
assert_json .actor oper1
assert_json .attempts 1
assert_json .error null

power p1 on
assert_json .state succeeded "on"
assert_json .result.power on
assert_json .result.previous off
assert_json .result.changed true
assert_json .progress 100
assert_json '.started_at != null and .finished_at != null' true
ON_JOB=$JOB

power p1 status
assert_json .result.power on "status after on"

# "on" when already on changes nothing and still succeeds.
power p1 on
assert_json .state succeeded "on again"
assert_json .result.power on
assert_json .result.changed false

power p1 off
assert_json .state succeeded "off"
assert_json .result.power off
assert_json .result.previous on
power p1 status
assert_json .result.power off "status after off"

power p1 cycle
assert_json .state succeeded "cycle"
assert_json .result.power on "power after a cycle"
CYCLE_JOB=$JOB
power p1 status
assert_json .result.power on "status after cycle"

# Each fake BMC has its own state: p2 started on, p1's changes are not p2's.
power p2 status
assert_json .result.power on "p2 initial power (option power=on)"
power p2 soft
assert_json .state succeeded "soft off"
assert_json .result.power off

# A reset of a powered-off host is refused by the BMC (like real ones).
power p2 reset
assert_json .state failed "reset while off"
assert_json .error.code conflict

# ---- BMC failures -----------------------------------------------------------------
power unreach on
assert_json .state failed "unreachable BMC"
assert_json .error.code unreachable
assert_contains "$(ul_jq .error.message)" unreach "error message names the node"
assert_json .result null
UNREACH_JOB=$JOB

power badauth status
assert_json .state failed "BMC rejecting credentials"
assert_json .error.code auth_failed
assert_contains "$(ul_jq .error.message)" badauth "error message names the node"
assert_not_contains "$UL_BODY" wrong "the password"

# ---- timeout ------------------------------------------------------------------------
# Every call to this BMC takes 5 s; the job may take 1 s.  The job must end
# failed with "timeout", and well before the 20 s BMC call timeout.
ul_api POST /api/v1/nodes/slow/power '{"action":"on","timeout":1}'
assert_status 202 "power on with timeout 1"
assert_json .job.timeout 1
T_JOB=$(ul_jq .job.id)
t0=$SECONDS
wait_job "$T_JOB" 12
assert_json .state failed "job past its timeout"
assert_json .error.code timeout
[ $((SECONDS - t0)) -le 8 ] || ul_fail "the 1 s job took $((SECONDS - t0)) s to time out"

# ---- the per-node lock, queueing and cancellation -------------------------------------
# A: power on a BMC whose calls take 5 s each (read, set, read back).  A fake
# BMC call cannot be interrupted: a cancel is honoured at the step boundary
# after the call under way.  So the test waits until A is in its first call
# (its progress says so), runs the checks that need a busy node, and cancels
# A while that first call is still under way: the later steps (set, read
# back) must not run, which C's reading of the power state shows.  The only
# time this leans on is a handful of API calls taking less than the 5 s of
# that one BMC call; it says so if they did not.
ul_api -t "$OPER" POST /api/v1/nodes/lock/power '{"action":"on"}'
assert_status 202 "job A"
A=$(ul_jq .job.id)
wait_job_state "$A" running 10
wait_json "/api/v1/jobs/$A" .message "reading power state" 10
A_STEP1=$SECONDS
# B: queued behind A on the same node.
ul_api -t "$OPER" POST /api/v1/nodes/lock/power '{"action":"status"}'
assert_status 202 "job B"
B=$(ul_jq .job.id)
# C: also behind A, left to run after it.
ul_api -t "$OPER" POST /api/v1/nodes/lock/power '{"action":"status"}'
assert_status 202 "job C"
C=$(ul_jq .job.id)
ul_api GET "/api/v1/jobs/$B"
assert_json .state queued "B behind A on the same node"
ul_api GET "/api/v1/jobs/$C"
assert_json .state queued "C behind A on the same node"

# Another node is not held up by the busy one.
power p1 status
assert_json .state succeeded "job on another node while 'lock' is busy"
ul_api GET "/api/v1/jobs/$A"
assert_json .state running "A still running"

# A node with queued or running jobs cannot be deleted.
ul_api DELETE /api/v1/nodes/lock
assert_error 409 conflict lock

# Cancel the queued job: canceled at once, never started.
ul_api -t "$OPER" POST "/api/v1/jobs/$B/cancel"
assert_status 202 "cancel queued B"
assert_json .state canceled
ul_api GET "/api/v1/jobs/$B"
assert_json .state canceled "B after cancel"
assert_json .started_at null "B never started"
assert_json .error.code canceled
assert_json .attempts 0

# Cancel the running job, still in its first BMC call: it stops at the next
# step boundary, before sending the power on.
ul_api -t "$OPER" POST "/api/v1/jobs/$A/cancel"
assert_status 202 "cancel running A"
assert_json '.state | IN("running","canceled")' true
assert_json .message "reading power state" \
    "A still in its first BMC call when canceled ($((SECONDS - A_STEP1)) s after it began; the call takes 5 s)"
wait_job "$A" 15
assert_json .state canceled "A after cancel"
assert_json .error.code canceled
assert_json .message "reading power state" "A went no further than its first step"
assert_json .result null "A has no result"

# C still runs once the node is free, and finds the power as A left it: off,
# the power on was never sent.
wait_job "$C" 20
assert_json .state succeeded "C after A was canceled"
assert_json .result.power off "power after A was canceled before its power on"

# Canceling finished jobs is a conflict and changes nothing.
for id in "$B" "$A" "$C" "$ON_JOB" "$UNREACH_JOB"; do
    ul_api GET "/api/v1/jobs/$id"
    before=$UL_BODY
    ul_api -t "$OPER" POST "/api/v1/jobs/$id/cancel"
    assert_error 409 conflict
    ul_api GET "/api/v1/jobs/$id"
    assert_eq "$UL_BODY" "$before" "job $id after a refused cancel"
done

# Now the node can go: nothing queued or running on it.
ul_node_add gone
ul_api DELETE /api/v1/nodes/gone
assert_status 204 "delete an idle node"

# ---- job list and filters ----------------------------------------------------------------
ul_api GET '/api/v1/jobs?limit=1000'
assert_status 200 "job list"
TOTAL=$(ul_jq .total)
assert_json '.items | length' "$TOTAL"
assert_json '[.items[] | .state | IN("succeeded","failed","canceled")] | all' true \
    "every job has ended"
# Newest first.
assert_json '[.items[].id] == ([.items[].id] | sort | reverse)' true "order"

count() { # QUERY JQ-SELECT: the server's total equals our own count
    local want
    ul_api GET "/api/v1/jobs?limit=1000"
    want=$(ul_jq "[.items[] | select($2)] | length")
    ul_api GET "/api/v1/jobs?$1&limit=1000"
    assert_status 200 "jobs?$1"
    assert_json .total "$want" "jobs?$1 total"
    assert_json "[.items[] | select($2)] | length" "$want" "jobs?$1 items"
    assert_json '.items | length' "$want" "jobs?$1 only matching items"
}
count state=succeeded '.state == "succeeded"'
count state=failed '.state == "failed"'
count state=canceled '.state == "canceled"'
count node=p1 '.node == "p1"'
count node=lock '.node == "lock"'
count 'node=p1&state=succeeded' '.node == "p1" and .state == "succeeded"'
count type=power '.type == "power"'

ul_api GET '/api/v1/jobs?state=canceled'
assert_json '[.items[].id] | sort | map(tostring) | join(",")' "$A,$B" "canceled jobs"
ul_api GET '/api/v1/jobs?node=unreach'
assert_json .total 1 "jobs on 'unreach'"
assert_json .items[0].error.code unreachable
ul_api GET '/api/v1/jobs?node=nosuch'
assert_json .total 0 "jobs on an unknown node"
ul_api GET '/api/v1/jobs?state=failed&node=slow'
assert_json .total 1
assert_json .items[0].error.code timeout
ul_api GET '/api/v1/jobs?limit=2&offset=1'
assert_json .total "$TOTAL" "paged total"
assert_json '.items | length' 2

# ---- the audit trail -------------------------------------------------------------------------
ul_api GET '/api/v1/audit?limit=1000'
assert_status 200 "audit"
AUDIT=$UL_BODY
audit_has() { # JQ-SELECT WHAT
    jq -e "[.items[] | select($1)] | length > 0" <<<"$AUDIT" >/dev/null ||
        ul_fail "audit: no record of $2; audit: $(jq -c '[.items[] | [.actor,.action,.target,.result]]' <<<"$AUDIT")"
}
audit_has '.action == "node.create" and .target == "p1" and .actor == "admin" and .result == "ok"' \
    "node.create p1 by admin"
audit_has '.action == "node.delete" and .target == "gone" and .actor == "admin"' "node.delete"
audit_has ".action == \"power.cycle\" and .target == \"p1\" and .actor == \"oper1\" and .detail.job == $CYCLE_JOB" \
    "power.cycle on p1 by oper1 with the job id"
audit_has '.action == "power.on" and .target == "p1" and .actor == "oper1"' "power.on"
audit_has ".action == \"job.cancel\" and .target == \"job/$B\" and .actor == \"oper1\" and .result == \"ok\"" \
    "job.cancel of B by oper1"
audit_has ".action == \"job.cancel\" and .target == \"job/$A\" and .actor == \"oper1\"" \
    "job.cancel of A by oper1"
audit_has ".action == \"job.cancel\" and .target == \"job/$C\" and .result == \"error\"" \
    "the refused cancel of C"
audit_has '.action == "token.create" and .target == "oper1" and .actor == "admin"' "token.create"
jq -e '[.items[].time | type == "string"] | all' <<<"$AUDIT" >/dev/null ||
    ul_fail "audit records without a time"
# Newest first.
jq -e '[.items[].id] == ([.items[].id] | sort | reverse)' <<<"$AUDIT" >/dev/null ||
    ul_fail "audit is not newest first"

# Filters.
ul_api GET '/api/v1/audit?action=job.cancel&limit=1000'
assert_json '[.items[].action] | unique | join(",")' job.cancel "audit?action="
assert_json '.items | length >= 3' true
ul_api GET '/api/v1/audit?actor=oper1&limit=1000'
assert_json '[.items[].actor] | unique | join(",")' oper1 "audit?actor="
assert_json '[.items[] | select(.action == "power.cycle")] | length' 1

ul_stop
exit 0
