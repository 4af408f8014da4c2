#!/bin/bash
# Worker classes: a long queue of slow operator jobs never starves telemetry.
# 4 workers with 1 kept for polls; 50 slow power jobs on 12 slow fake BMCs
# keep the other 3 busy for tens of seconds, while 8 quick fake BMCs with
# sensors are polled every 5 s: each must keep being polled within about its
# interval the whole time.  Without the kept worker (jobs.poll_workers=0)
# polls run only when no job can, and the quick nodes go stale for the
# length of the queue.
#
# Also: a parent job over the API (POST /api/v1/power with several nodes)
# shows its children and their counts, and canceling it cancels the
# children still queued.
. "$TOP_SRCDIR/tests/lib.sh"

INTERVAL=5
ul_start -s poll.enabled=1 -s jobs.workers=4 -s jobs.poll_workers=1 \
    -s poll.sensor_interval=$INTERVAL

for i in 01 02 03 04 05 06 07 08; do
    ul_node_add "quick-$i" '{"options":{"sensors":4}}'
done
# Slow BMCs: 400 ms a call; their own sensor polls are rare so they do not
# compete with the quick ones.
for i in 01 02 03 04 05 06 07 08 09 10 11 12; do
    ul_node_add "slow-$i" '{"options":{"delay_ms":400},"labels":{"underlay/sensor-interval":"3600"}}'
done

# last_success of every quick node, as "node epoch" lines.
last_polls() {
    curl -s --max-time 10 "$UL_URL/metrics" |
        sed -n 's/^underlay_last_success_timestamp_seconds{node="\(quick-[0-9]*\)"} \([0-9.e+]*\)$/\1 \2/p'
}

# Every quick node polled at least once (first polls are jittered over one
# interval; the node list is picked up within seconds).
deadline=$((SECONDS + 60))
while :; do
    n=$(last_polls | awk '$2 > 0' | wc -l)
    [ "$n" -eq 8 ] && break
    [ $SECONDS -lt $deadline ] || ul_fail "only $n of 8 quick nodes polled after 60 s"
    sleep 0.5
done

# The queue: 50 power cycles (3 BMC calls each) over the 12 slow nodes, in
# one request (a batch: a child job per entry), so the whole queue exists
# at once, however slow this machine is at sending requests.
list=$(for k in $(seq 1 50); do printf 'slow-%02d\n' $(((k - 1) % 12 + 1)); done | jq -R . | jq -sc .)
ul_api POST /api/v1/power "{\"nodes\":$list,\"action\":\"cycle\"}"
assert_status 202 "50 power cycles"
BACKLOG=$(ul_jq .job.id)
wait_json "/api/v1/jobs/$BACKLOG" '.children.total' 50 60

# While it drains, sample: no quick node may go without a poll for more
# than two intervals plus slack for a busy machine.
limit=$((2 * INTERVAL + 4))
worst=0 samples=0
backlog_start=$SECONDS
deadline=$((SECONDS + 300))
while :; do
    queued=$(curl -s --max-time 10 "$UL_URL/metrics" | sed -n 's/^underlay_jobs_queued \([0-9]*\)$/\1/p')
    [ "${queued:-0}" -gt 0 ] || break
    now=$(date +%s)
    while read -r node t; do
        age=$((now - ${t%.*}))
        [ $age -gt $worst ] && worst=$age
        [ $age -le $limit ] ||
            ul_fail "$node not polled for ${age}s while $queued operator jobs waited (limit ${limit}s)"
    done < <(last_polls)
    samples=$((samples + 1))
    [ $SECONDS -lt $deadline ] || ul_fail "the queue did not drain in 300 s"
    sleep 1
done
backlog=$((SECONDS - backlog_start))
ul_log "queue drained after ${backlog}s ($samples samples); oldest poll seen: ${worst}s (limit ${limit}s)"
# The queue was long enough to matter: several intervals of backlog, and
# sampled often enough to have seen a stale node.
[ $backlog -ge $((2 * INTERVAL)) ] ||
    ul_fail "the backlog lasted only ${backlog}s: too short to show anything"
[ $samples -ge 4 ] || ul_fail "only $samples samples of the backlog"
wait_job "$BACKLOG" 120
assert_json .state succeeded "the 50 power cycles"
assert_json .children.succeeded 50

# ---- a parent job over several nodes ----------------------------------------
ul_api POST /api/v1/power '{"nodes":"quick-[01-04]","action":"on"}'
assert_status 202 "power on over a host list"
assert_json .job.type batch
assert_json .job.params.type power
PARENT=$(ul_jq .job.id)
wait_job "$PARENT" 60
assert_json .state succeeded "the parent"
assert_json .children.total 4
assert_json .children.succeeded 4
assert_json .result.counts.succeeded 4
ul_api GET "/api/v1/jobs?parent=$PARENT"
assert_json .total 4
assert_json '[.items[].parent_id] | unique | length' 1 "one parent"
assert_json '.items[0].parent_id' "$PARENT"
assert_json '[.items[].node] | sort | join(",")' "quick-01,quick-02,quick-03,quick-04"

# Canceling a parent cancels its children still queued: all on one slow node.
ul_api POST /api/v1/power '{"nodes":["slow-01","slow-01","slow-01","slow-01"],"action":"cycle"}'
assert_status 202 "a parent over one node four times"
PARENT=$(ul_jq .job.id)
wait_json "/api/v1/jobs/$PARENT" '.children.running' 1 30
# The parent waits for its children parked, on no worker.
assert_json '.waiting.for' children "the parent is parked"
parked=$(curl -s --max-time 10 "$UL_URL/metrics" | sed -n 's/^underlay_jobs_parked \([0-9]*\)$/\1/p')
[ "${parked:-0}" -ge 1 ] || ul_fail "underlay_jobs_parked is '${parked}' while a batch waits"
ul_api POST "/api/v1/jobs/$PARENT/cancel"
assert_status 202 "cancel the parent"
wait_job "$PARENT" 30
assert_json .state canceled "the canceled parent"
wait_json "/api/v1/jobs/$PARENT" '.children.queued + .children.running' 0 30
assert_json '.children.canceled >= 3' true "queued children canceled with their parent"

# Bad input names the field and queues nothing.
ul_api POST /api/v1/power '{"nodes":"quick-[01-02]","action":"dance"}'
assert_error 400 invalid_argument "action"
ul_api POST /api/v1/power '{"nodes":"nosuch-[1-2]","action":"on"}'
assert_error 404 not_found "nosuch-1"
ul_api POST /api/v1/power '{"nodes":[],"action":"on"}'
assert_error 400 invalid_argument "nodes"
ul_api GET "/api/v1/jobs?type=batch"
assert_json .total 3 "no parent queued for bad requests"

ul_stop
ul_log "ok"
