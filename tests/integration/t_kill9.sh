#!/bin/bash
# Crash recovery: kill -9 the daemon while jobs run on slow fake BMCs, start it
# again on the same data dir.  A resumable job (power on) runs again and
# succeeds on its second attempt; a non-resumable one (power cycle: a second
# cycle would hit the host twice) fails with "interrupted by restart"; a
# queued job is still queued and runs; no job or node is lost.
. "$TOP_SRCDIR/tests/lib.sh"

ul_start

# Every BMC call takes 2 s, so a power job (read, set, read back) runs ~6 s:
# long enough to be caught running, short enough to keep the test quick.
ul_node_add k1 '{"options":{"delay_ms":2000}}'
ul_node_add k2 '{"options":{"delay_ms":2000}}'
ul_node_add k3

ul_power k3 on
wait_job "$UL_JOB"
assert_json .state succeeded "job finished before the crash"
DONE=$UL_JOB
DONE_BODY=$UL_BODY

ul_power k1 on
ON=$UL_JOB
ul_power k2 cycle
CYCLE=$UL_JOB
ul_power k1 status
QUEUED=$UL_JOB
wait_job_state "$ON" running 5
wait_job_state "$CYCLE" running 5
ul_api GET "/api/v1/jobs/$QUEUED"
assert_json .state queued "status job behind 'on' on k1"

ul_api GET '/api/v1/jobs?limit=1000'
JOBS_TOTAL=$(ul_jq .total)
assert_eq "$JOBS_TOTAL" 4 "jobs before the crash"
ul_api GET '/api/v1/nodes?limit=1000'
NODES0=$UL_BODY

ul_kill9
ul_restart

# Nothing lost.
ul_api GET '/api/v1/jobs?limit=1000'
assert_json .total "$JOBS_TOTAL" "jobs after the restart"
ul_api GET '/api/v1/nodes?limit=1000'
assert_eq "$UL_BODY" "$NODES0" "nodes after the restart"
ul_api GET "/api/v1/jobs/$DONE"
assert_eq "$UL_BODY" "$DONE_BODY" "finished job after the restart"

# The cycle cannot be resumed safely: it failed, and says why.
ul_api GET "/api/v1/jobs/$CYCLE"
assert_json .state failed "cycle job after kill -9"
assert_json .error.code interrupted
assert_contains "$(ul_jq .error.message)" "interrupted by restart" "cycle job error"

# The "on" job resumes (it re-reads the power state first) and succeeds.
wait_job "$ON" 15
assert_json .state succeeded "resumed power on"
assert_json .attempts 2 "attempts of the resumed job"
assert_json .result.power on
# The queued job was kept and runs after it.
wait_job "$QUEUED" 10
assert_json .state succeeded "queued job after the restart"
assert_json .attempts 1
assert_json .result.power on "status after the resumed on"

ul_api GET '/api/v1/jobs?limit=1000'
assert_json .total "$JOBS_TOTAL" "jobs at the end"
assert_json '[.items[] | select(.state == "queued" or .state == "running")] | length' 0

assert_contains "$(cat "$UL_DIR/daemon.log")" "resum" "daemon log mentions the resumed job"

ul_stop
exit 0
