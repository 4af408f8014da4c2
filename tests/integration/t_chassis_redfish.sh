#!/bin/bash
# Chassis identify and BMC reset against the project's Redfish emulator
# (issue 12, item 7): the Chassis' LocationIndicatorActive set and read back
# (checked on the emulator directly), an interval refused (Redfish has none),
# Manager.Reset with an allowed ResetType (checked in the manager's log), the
# job parked until the BMC answers after the emulator's 503 downtime.
. "$TOP_SRCDIR/tests/lib.sh"
. "$TOP_SRCDIR/tests/lib_redfish.sh"

EMU=$(emu_start plain --bmc-reset-downtime 3) || ul_fail "emulator did not start"
rf_get() { # PATH: a Redfish resource, read with Basic authentication
    curl -sS --max-time 10 -u admin:password "$EMU$1"
}
mgr_log() { # the manager's log entries' messages, one a line
    local e
    for e in $(rf_get /redfish/v1/Managers/1/LogServices/EventLog/Entries |
        jq -r '.Members[]."@odata.id"'); do
        rf_get "$e" | jq -r .Message
    done
}

ul_start -s bmc.timeout=5
ul_node_add rf1 "$(jq -cn --arg e "$EMU" '{endpoint: $e, username: "admin", password: "password"}')"
CH=/redfish/v1/Chassis/1

assert_eq "$(rf_get $CH | jq -r .LocationIndicatorActive)" false "LED off at start"
run_job rf1 identify '{"state":"on"}'
assert_json .state succeeded "identify on"
assert_json .result.identify on
assert_json .result.verified true
assert_eq "$(rf_get $CH | jq -r .LocationIndicatorActive)" true "emulator: LED on"
run_job rf1 identify '{"state":"status"}'
assert_json .result.identify on "status reads on"
run_job rf1 identify '{"state":"off"}'
assert_json .result.identify off
assert_eq "$(rf_get $CH | jq -r .LocationIndicatorActive)" false "emulator: LED off"

# Redfish has no identify interval: refused, the LED untouched.
run_job rf1 identify '{"state":"on","seconds":10}'
assert_job_error not_supported rf1 "no identify interval"
assert_eq "$(rf_get $CH | jq -r .LocationIndicatorActive)" false "LED untouched"

# Manager.Reset: ForceRestart is allowed by the emulator, so a cold reset uses
# it; the emulator ends every session and answers 503 for 3 s.
run_job rf1 bmc/reset '{}' 60
assert_json .state succeeded "bmc reset"
assert_json .result.reset cold
assert_json '.result.answered_after_ms >= 2500' true "waited out the 503 downtime"
# (the driver itself retries a 503 that carries Retry-After, so this may be
# one try that waited inside the call)
logs=$(mgr_log)
assert_contains "$logs" "BMC reset requested (ForceRestart)" "emulator got ForceRestart"
run_job rf1 bmc/reset '{"type":"warm"}' 60
assert_json .state succeeded "bmc warm reset"
logs=$(mgr_log)
assert_contains "$logs" "BMC reset requested (GracefulRestart)" "emulator got GracefulRestart"

# After the resets the cached session is gone; the next job logs in afresh.
run_job rf1 power '{"action":"status"}'
assert_json .state succeeded "power status after the resets"
ul_log "ok"
