#!/usr/bin/env bash
# Dry runs ("dry_run": true) of power, boot, bios.set, raid.create,
# raid.delete and firmware.update against the project's Redfish emulator: the job reads the
# BMC, plans (ops/plan.h) and ends succeeded with the plan as its result,
# and the emulator's state is unchanged afterwards, with no request sent
# that changes anything (only GETs and the session login are counted).
#   - BIOS: a change from->to (converted to the registry's type), an
#     attribute already so, a refused one with its reason; the reset it
#     needs by apply time
#   - RAID create: the drives it would use; refusals (drive in use, unknown
#     drive, level not offered) all listed; delete: an existing volume, and
#     one that is not there (unchanged)
#   - firmware: a target already at the version, one that would change, one
#     the BMC does not have
#   - power: the action it would send, or nothing when the host is already
#     so; cycle says it cannot be verified; boot: the override from->to
#   - a non-boolean dry_run is refused at submit
#   - a volume build left by a daemon from before jobs had steps (step 0, a
#     checkpoint with the phase "following" and the task) is followed to
#     its end after the restart, not created again
. "$TOP_SRCDIR/tests/lib.sh"

. "$TOP_SRCDIR/tests/lib_redfish.sh"

EMU=$(emu_start main --power-delay 0.3 --task-step-ms 400) || ul_fail "emulator did not start"

emu_curl() { curl -sS --max-time 10 "$@"; }
emu_state() { emu_curl "$EMU/_emulator/state"; }
# What the BMC holds: power, boot override, resets and boots, BIOS (current
# and pending), storage, firmware, tasks.
emu_holds() {
    emu_state | jq -S -c '{systems: [.systems[] | {power_state, boot, resets, boots}],
        bios, storage, firmware, tasks}'
}
# Requests that could change something: every method but GET, less the
# session logins and logouts.
emu_writes() {
    emu_state | jq '[.requests | to_entries[] | select(.key | test("SessionService|/Sessions") | not)
        | .value | to_entries[] | select(.key != "GET") | .value] | add // 0'
}

ul_start -s bmc.timeout=5
ul_node_add rf1 "$(jq -cn --arg e "$EMU" '{endpoint: $e, username: "admin", password: "password"}')"

# The first job logs in; take the baseline after it.
run_job rf1 raid '{}'
assert_json .state succeeded "raid read"
HOLDS=$(emu_holds)
WRITES=$(emu_writes)
[ "$HOLDS" != "" ] && [ "$HOLDS" != "null" ] || ul_fail "no emulator state"
VOL=$(ul_jq '.result.controllers[0].volumes[0].id // empty')
unchanged() { # WHAT
    assert_eq "$(emu_holds)" "$HOLDS" "$1: the emulator's state unchanged"
    assert_eq "$(emu_writes)" "$WRITES" "$1: no request that changes anything"
}

check_bios() {
    run_job rf1 bios/settings '{"dry_run":true,"attributes":{"ProcTurboMode":"Disabled",
        "ProcHyperthreading":"Enabled","ProcCoreDisable":"2","SystemServiceTag":"X"}}'
    assert_json .state succeeded "bios dry run"
    assert_json .result.dry_run true "marked as a dry run"
    assert_json .result.op bios.set "the plan's op"
    assert_eq "$(jq -c '.result.changes' <<<"$UL_BODY")" \
        '[{"target":"ProcTurboMode","from":"Enabled","to":"Disabled"},{"target":"ProcCoreDisable","from":0,"to":2}]' \
        "changes, converted to the registry's types"
    assert_eq "$(jq -c '.result.unchanged' <<<"$UL_BODY")" \
        '[{"target":"ProcHyperthreading","value":"Enabled"}]' "an attribute already so"
    assert_eq "$(jq -c '[.result.refused[] | [.target, .code, .reason]]' <<<"$UL_BODY")" \
        '[["SystemServiceTag","invalid_argument","SystemServiceTag is read-only"]]' "refused, with why"
    assert_json .result.reset "at the next reset" "staged by default"
    assert_eq "$(jq -c .result.needs_reset <<<"$UL_BODY")" '["ProcTurboMode","ProcCoreDisable"]' \
        "what needs a reset"
    assert_contains "$(ul_jq .message)" "dry run" "the job's message"
    # With apply now on a BMC that takes Immediate: no reset.
    run_job rf1 bios/settings '{"dry_run":true,"apply":"now","attributes":{"ProcTurboMode":"Disabled"}}'
    assert_json .state succeeded "bios dry run, apply now"
    assert_json .result.reset none "Immediate: no reset"
    unchanged "bios dry runs"
}
ul_check check_bios

check_raid() {
    run_job rf1 raid/volumes '{"dry_run":true,"name":"dry","raid_type":"RAID1","drives":["4","5"]}'
    assert_json .state succeeded "raid create dry run"
    assert_eq "$(jq -c '.result.changes' <<<"$UL_BODY")" \
        '[{"target":"volume dry","from":null,"to":{"controller":"'"$(jq -r '.result.changes[0].to.controller' <<<"$UL_BODY")"'","raid_type":"RAID1","drives":["4","5"],"capacity_bytes":null}}]' \
        "the volume it would build, on the drives it would use"
    assert_json '.result.refused | length' 0 "nothing refused"
    # Every refusal at once, each with its reason; still succeeded (a plan).
    local used=""
    if [ -n "$VOL" ]; then
        used=$(jq -r --arg v "$VOL" '.storage | to_entries[0].value.volumes[] | select(.id == $v) | .drives[0]' <<<"$HOLDS")
    fi
    run_job rf1 raid/volumes '{"dry_run":true,"name":"x","raid_type":"RAID50","drives":["99"'"${used:+,\"$used\"}"']}'
    assert_json .state succeeded "a refused plan is still a plan"
    assert_json '.result.refused[0].reason | test("cannot build RAID50")' true "level not offered"
    assert_json '.result.refused[1].reason | test("has no drive .99.")' true "unknown drive"
    if [ -n "$used" ]; then
        assert_json '.result.refused[2].code' conflict "a drive in use"
        assert_json ".result.refused[2].reason | test(\"drive $used already belongs to volume\")" true \
            "which volume"
    fi
    # Delete: one that exists (when the emulator starts with one), one that does not.
    if [ -n "$VOL" ]; then
        ul_api DELETE "/api/v1/nodes/rf1/raid/volumes/$VOL?dry_run=true"
        assert_status 202 "delete dry run"
        UL_JOB=$(ul_jq .job.id)
        wait_job "$UL_JOB" 30
        assert_json .state succeeded "delete dry run"
        assert_json '.result.changes[0].target' "volume $VOL" "the volume it would delete"
        assert_json '.result.changes[0].to' null "to nothing"
        assert_json '.result.changes[0].from.id' "$VOL" "from what is there"
    fi
    ul_api DELETE "/api/v1/nodes/rf1/raid/volumes/NoSuchVolume?dry_run=true"
    UL_JOB=$(ul_jq .job.id)
    wait_job "$UL_JOB" 30
    assert_json .state succeeded "delete dry run of a missing volume"
    assert_eq "$(jq -c .result.unchanged <<<"$UL_BODY")" '[{"target":"volume NoSuchVolume","value":null}]' \
        "nothing to delete"
    assert_json '.result.changes | length' 0 "no change"
    ul_api DELETE "/api/v1/nodes/rf1/raid/volumes/NoSuchVolume?dry_run=maybe"
    assert_error 400 invalid_argument dry_run
    unchanged "raid dry runs"
}
ul_check check_raid

check_firmware() {
    local ver
    ver=$(jq -r '.firmware.BIOS_1' <<<"$HOLDS")
    [ -n "$ver" ] && [ "$ver" != null ] || ul_fail "no BIOS_1 firmware in the emulator"
    run_job rf1 firmware/update '{"dry_run":true,"image_uri":"http://127.0.0.1:1/none.bin",
        "targets":["BIOS_1","NoSuchPart"],"version":"'"$ver"'"}'
    assert_json .state succeeded "firmware dry run"
    assert_eq "$(jq -c .result.unchanged <<<"$UL_BODY")" '[{"target":"BIOS_1","value":"'"$ver"'"}]' \
        "already at the version"
    assert_eq "$(jq -c '[.result.refused[] | [.target, .code]]' <<<"$UL_BODY")" '[["NoSuchPart","not_found"]]' \
        "a component the BMC does not have"
    assert_json '.result.changes | length' 0 "nothing would change"
    run_job rf1 firmware/update '{"dry_run":true,"image_uri":"http://127.0.0.1:1/none.bin",
        "targets":["BIOS_1"],"version":"99.0.0"}'
    assert_eq "$(jq -c .result.changes <<<"$UL_BODY")" '[{"target":"BIOS_1","from":"'"$ver"'","to":"99.0.0"}]' \
        "the change it would make"
    unchanged "firmware dry runs"
}
ul_check check_firmware

check_power_boot() {
    local power
    power=$(jq -r '.systems[0].power_state' <<<"$HOLDS")
    [ "$power" = On ] || ul_fail "the emulator's host is not on ($power)"
    run_job rf1 power '{"action":"on","dry_run":true}'
    assert_json .state succeeded "power on dry run"
    assert_eq "$(jq -c .result.unchanged <<<"$UL_BODY")" '[{"target":"power","value":"on"}]' \
        "already on: nothing to send"
    run_job rf1 power '{"action":"off","dry_run":true}'
    assert_eq "$(jq -c .result.changes <<<"$UL_BODY")" \
        '[{"target":"power","from":"on","to":{"action":"off","state":"off"}}]' "off would be sent"
    run_job rf1 power '{"action":"cycle","dry_run":true}'
    assert_json '.result.changes | length' 1 "cycle would be sent"
    assert_json '.result.notes[0] | test("cannot be verified")' true "and cannot be verified"
    run_job rf1 boot '{"device":"pxe","persistent":true,"dry_run":true}'
    assert_json .state succeeded "boot dry run"
    assert_eq "$(jq -c '.result.changes[0].to' <<<"$UL_BODY")" \
        '{"device":"pxe","persistent":true,"uefi":true}' "the override it would set"
    unchanged "power and boot dry runs"
}
ul_check check_power_boot

check_bad_input() {
    ul_api POST /api/v1/nodes/rf1/bios/settings '{"dry_run":"yes","attributes":{"ProcTurboMode":"Disabled"}}'
    assert_error 400 invalid_argument dry_run
    ul_api POST /api/v1/nodes/rf1/power '{"action":"off","dry_run":"no"}'
    assert_error 400 invalid_argument dry_run
    ul_api POST /api/v1/nodes/rf1/raid/volumes '{"dry_run":1,"name":"d","raid_type":"RAID1","drives":["4","5"]}'
    assert_error 400 invalid_argument dry_run
    unchanged "refused requests"
}
ul_check check_bad_input

# Not a dry run: the plan is applied (the same request changes the BMC).
check_then_apply() {
    run_job rf1 bios/settings '{"attributes":{"ProcTurboMode":"Disabled"}}'
    assert_json .state succeeded "the same change, applied"
    assert_json .result.staged.ProcTurboMode Disabled "staged"
    [ "$(emu_holds)" != "$HOLDS" ] || ul_fail "the real run changed nothing on the emulator"
}
ul_check check_then_apply

# A job a daemon of the version before steps left mid-task: its row is at
# step 0 with the old checkpoint.  Made here from a real one (killed while
# following its task, then rewritten the way that version wrote it).
# Not in ul_check's subshell: the daemon is restarted.
emu_faults() { # JSON: replace the faults
    emu_curl -X POST -H 'Content-Type: application/json' \
        --data-binary "$(jq -c '. + {clear: true}' <<<"$1")" "$EMU/_emulator/faults" >/dev/null
}
emu_faults '{"volume_task":true,"task_step_ms":700}'
TASKS=$(emu_state | jq '.tasks | length')
ul_api POST /api/v1/nodes/rf1/raid/volumes '{"name":"legacy","raid_type":"RAID1","drives":["4","5"]}'
assert_status 202 "volume create before the kill"
LID=$(ul_jq .job.id)
wait_json "/api/v1/jobs/$LID" '.message | test("volume creation: task")' true 30
ul_kill9
CP=$(sqlite3 "$UL_DIR/underlay.db" "SELECT checkpoint FROM jobs WHERE id = $LID")
OLD=$(jq -c '{phase: "following", task, monitor, before}' <<<"$CP")
[ "$(jq -r .task <<<"$OLD")" != null ] || ul_fail "no task in the checkpoint: $CP"
sqlite3 "$UL_DIR/underlay.db" \
    "UPDATE jobs SET step = 0, step_name = NULL, checkpoint = '$OLD' WHERE id = $LID" ||
    ul_fail "cannot rewrite job $LID"
ul_restart
UL_JOB=$LID
wait_job "$LID" 60
assert_json .state succeeded "the old job after the restart"
assert_json .result.volume.name legacy "the volume it built"
assert_eq "$(emu_state | jq '[.storage[].volumes[] | select(.name == "legacy")] | length')" 1 \
    "one volume: the task was followed, the create not sent again"
assert_eq "$(emu_state | jq '.tasks | length')" "$((TASKS + 1))" "one task on the BMC"
emu_faults '{}'

ul_stop
