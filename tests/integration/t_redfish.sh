#!/usr/bin/env bash
# Redfish driver end to end: underlayd against the project's Redfish emulator
# (tests/redfish), every effect checked independently of the driver: through
# the emulator's own state (GET /_emulator/state) or plain curl GETs of the
# Redfish resources.
#   - power status/on/off/soft/cycle/reset: the ResetType the emulator
#     received and the PowerState it settles in
#   - boot override: the system's Boot object; "Once" consumed by a boot
#   - sensors: every reading, kind, unit, status and threshold against the
#     emulator's Sensors collection; a changed reading; host off
#   - event logs: counts against the emulator's logs, one new entry, clear
#     (admin only), collection after a clear
#   - inventory: serial, processors, memory, drives, NIC MACs, firmware
#   - a service with two systems: one node per system, actions reach only it
#   - TLS: verification on by default, ca_file, insecure (shown by the API)
#   - sessions: wrong password, basic auth, re-login after the BMC forgot
#     the session, no session left open after a clean stop
#   - faults: latency within and beyond the timeout, 503 bursts and a
#     permanent 503 or 500, a Reset answered 500 (never sent twice) or 503
#     (sent again), malformed JSON, dropped connections, session
#     exhaustion, an ignored graceful shutdown
#   - hostile replies from a small server of our own: a 20 MiB body, JSON
#     nested 5,000 deep, wrong types, missing links, link loops, an endless
#     pager, a link naming another host: each a bounded failure (or a bounded
#     success) naming node and resource, and the daemon stays up.  Under
#     ASan, ul_stop's exit status catches a crash or a leak.
. "$TOP_SRCDIR/tests/lib.sh"

. "$TOP_SRCDIR/tests/lib_redfish.sh"

HOSTILE_PID=""
rf_extra_cleanup() {
    if [ -n "$HOSTILE_PID" ]; then
        kill "$HOSTILE_PID" 2>/dev/null
        wait "$HOSTILE_PID" 2>/dev/null
        HOSTILE_PID=""
    fi
}

# Every instance: power transitions of 0.5 s, so waiting for them is short.
PLAIN=$(emu_start plain --power-delay 0.5 --max-sessions 8) || ul_fail "emulator (HTTP) did not start"
MULTI=$(emu_start multi --power-delay 0.5 --systems 2) || ul_fail "emulator (2 systems) did not start"
HAVE_TLS=0
if command -v openssl >/dev/null 2>&1; then
    # emuctl makes DIR/cert.pem (CN and SAN 127.0.0.1) and key.pem.
    TLS=$(emu_start tls --https --power-delay 0.5) || ul_fail "emulator (HTTPS) did not start"
    CA="$EMUDIR/tls/cert.pem"
    HAVE_TLS=1
else
    ul_log "openssl is not installed: the HTTPS checks are skipped"
fi

# ---- independent views of the emulators ------------------------------------

emu_curl() { # URL-BASE ARGS... (TLS: the instance's own certificate)
    local base=$1
    shift
    local tls=()
    [[ $base == https:* ]] && tls=(--cacert "$CA")
    curl -sS --max-time 10 "${tls[@]}" "$@"
}
emu_state() { # BASE -> the control API's state document
    emu_curl "$1" "$1/_emulator/state"
}
emu_post() { # BASE CONTROL-PATH JSON
    emu_curl "$1" -X POST -H 'Content-Type: application/json' --data-binary "$3" "$1$2" >/dev/null
}
emu_faults() { # BASE JSON: replace the faults
    emu_curl "$1" -X POST -H 'Content-Type: application/json' \
        --data-binary "$(jq -c '. + {clear: true}' <<<"$2")" "$1/_emulator/faults" >/dev/null
}
rf_get() { # BASE PATH: a Redfish resource, read with Basic authentication
    emu_curl "$1" -u admin:password "$1$2"
}
# Wait (bounded) until the emulator's system PATH reads PowerState STATE.
wait_power() { # BASE SYSTEM-PATH STATE [TIMEOUT_S]
    local deadline=$((SECONDS + ${4:-5})) got
    while :; do
        got=$(rf_get "$1" "$2" | jq -r .PowerState)
        [ "$got" = "$3" ] && return 0
        [ $SECONDS -lt $deadline ] || ul_fail "$1$2: PowerState '$got', expected '$3'"
        sleep 0.1
    done
}
now_ms() { date +%s%3N; }

# ---- the daemon and the nodes -------------------------------------------------

ul_start -s bmc.timeout=5

rf_node() { # NAME ENDPOINT [EXTRA JSON]: enroll with the emulator's account
    ul_node_add "$1" "$(jq -cn --arg e "$2" --argjson x "${3:-{\}}" \
        '{endpoint: $e, username: "admin", password: "password"} + $x')"
}
rf_node rf1 "$PLAIN"
SYS=/redfish/v1/Systems/1

# ---- power -----------------------------------------------------------------------
check_power() {
    run_job rf1 power '{"action":"status"}'
    assert_json .state succeeded "power status"
    assert_json .result.power \
        "$(rf_get "$PLAIN" $SYS | jq -r '.PowerState | ascii_downcase')" "status = PowerState"
    local spec action reset want resets boots
    # action, the ResetType it must become, where PowerState settles
    for spec in "off ForceOff Off" "on On On" "soft GracefulShutdown Off" "on On On" \
        "cycle PowerCycle On" "reset ForceRestart On"; do
        set -- $spec
        action=$1 reset=$2 want=$3
        boots=$(emu_state "$PLAIN" | jq '.systems[0].boots | length')
        run_job rf1 power "{\"action\":\"$action\"}"
        assert_json .state succeeded "power $action"
        assert_json .result.changed true "power $action changed"
        assert_json .result.power "${want,,}" "power $action result"
        assert_eq "$(emu_state "$PLAIN" | jq -r '.systems[0].resets[-1].type')" "$reset" \
            "ResetType the emulator received for power $action"
        wait_power "$PLAIN" $SYS "$want"
        if [ "$action" = cycle ] || [ "$action" = reset ]; then
            # The host really went down and came back: one more boot.
            assert_eq "$(emu_state "$PLAIN" | jq '.systems[0].boots | length')" \
                "$((boots + 1))" "boots after power $action"
        fi
    done
    # Already on: nothing is sent.
    resets=$(emu_state "$PLAIN" | jq '.systems[0].resets | length')
    run_job rf1 power '{"action":"on"}'
    assert_json .state succeeded "power on when on"
    assert_json .result.changed false "power on when on"
    assert_eq "$(emu_state "$PLAIN" | jq '.systems[0].resets | length')" "$resets" \
        "no Reset sent when already on"
}
ul_check check_power

# ---- boot override ------------------------------------------------------------------
emu_boot() { # -> "Target Enabled Mode" as the emulator holds them
    rf_get "$PLAIN" $SYS | jq -r '.Boot | "\(.BootSourceOverrideTarget) \(.BootSourceOverrideEnabled) \(.BootSourceOverrideMode)"'
}
check_boot() {
    run_job rf1 boot '{"device":"pxe"}'
    assert_json .state succeeded "boot pxe"
    assert_json '.result | "\(.device) \(.persistent) \(.mode)"' "pxe false uefi" "boot pxe result"
    assert_eq "$(emu_boot)" "Pxe Once UEFI" "emulator Boot after boot pxe"

    run_job rf1 boot '{"device":"cdrom","persistent":true,"mode":"legacy"}'
    assert_json .state succeeded "boot cdrom"
    assert_eq "$(emu_boot)" "Cd Continuous Legacy" "emulator Boot after boot cdrom continuous legacy"
    run_job rf1 boot '{}'
    assert_json .state succeeded "boot read"
    assert_json '.result | "\(.device) \(.persistent) \(.mode)"' "cdrom true legacy" "boot read back"

    # "Once" is used by the next boot, then reads back as none.
    run_job rf1 boot '{"device":"pxe"}'
    run_job rf1 power '{"action":"cycle"}'
    assert_json .state succeeded "power cycle after boot pxe once"
    wait_power "$PLAIN" $SYS On
    assert_eq "$(emu_state "$PLAIN" | jq -r '.systems[0].boots[-1] | "\(.override) \(.enabled)"')" \
        "Pxe Once" "the boot used the PXE override"
    run_job rf1 boot '{}'
    assert_json .result.device none "a one-time override is gone after the boot"
    assert_eq "$(emu_boot)" "None Disabled UEFI" "emulator Boot after the boot"

    run_job rf1 boot '{"device":"bios","persistent":true}'
    assert_eq "$(emu_boot)" "BiosSetup Continuous UEFI" "emulator Boot after boot bios"
    run_job rf1 boot '{"device":"none"}'
    assert_json .state succeeded "boot none"
    assert_json .result.device none "boot none result"
    assert_eq "$(rf_get "$PLAIN" $SYS | jq -r .Boot.BootSourceOverrideEnabled)" Disabled \
        "emulator override disabled"
}
ul_check check_boot

# ---- sensors, against the emulator's Sensors collection ----------------------------
# Compare our sensors ($1, a sensors job result) with the expanded Sensors
# collection ($2): same names; per sensor kind, unit, value, status and the
# thresholds, mapped as the driver documents.  Prints the differences.
compare_sensors() {
    python3 - "$1" "$2" <<'PY'
import json, sys
ours = {s["name"]: s for s in json.load(open(sys.argv[1]))["sensors"]}
theirs = {m["Name"]: m for m in json.load(open(sys.argv[2]))["Members"]}
KIND = {"Temperature": ("temperature", "celsius"), "Rotational": ("fan", "rpm"),
        "Voltage": ("voltage", "volts"), "Current": ("current", "amperes"),
        "Power": ("power", "watts")}
THR = {"LowerFatal": "lower_non_recoverable", "LowerCritical": "lower_critical",
       "LowerCaution": "lower_non_critical", "UpperCaution": "upper_non_critical",
       "UpperCritical": "upper_critical", "UpperFatal": "upper_non_recoverable"}
def status(st):
    if st.get("State") in ("Absent", "Disabled", "UnavailableOffline", "StandbyOffline"):
        return "unknown"
    return {"OK": "ok", "Warning": "warning", "Critical": "critical"}.get(st.get("Health"),
                                                                        "unknown")
for name in sorted(set(ours) | set(theirs)):
    a, b = ours.get(name), theirs.get(name)
    if a is None or b is None:
        print("%s: only in %s" % (name, "the emulator" if a is None else "underlay"))
        continue
    kind, unit = KIND[b["ReadingType"]]
    if (a["kind"], a["unit"]) != (kind, unit):
        print("%s: kind/unit %s/%s, expected %s/%s" % (name, a["kind"], a["unit"], kind, unit))
    r = b.get("Reading")
    if (r is None) != (a["value"] is None) or (r is not None and abs(a["value"] - r) > 0.001):
        print("%s: value %s, emulator %s" % (name, a["value"], r))
    if a["status"] != status(b.get("Status", {})):
        print("%s: status %s, emulator %s" % (name, a["status"], b.get("Status")))
    thr = {THR[k]: v["Reading"] for k, v in b.get("Thresholds", {}).items()}
    if {k: float(v) for k, v in a["thresholds"].items()} != {k: float(v) for k, v in thr.items()}:
        print("%s: thresholds %s, emulator %s" % (name, a["thresholds"], thr))
PY
}
sensor_of() { # NAME FIELD (over UL_BODY, a sensors job)
    ul_jq "[.result.sensors[] | select(.name == \"$1\")][0].$2"
}
check_sensors() {
    local ours="$UL_TMP/sensors.ours" theirs="$UL_TMP/sensors.emu" diff
    run_job rf1 sensors '{}'
    assert_json .state succeeded "sensors job"
    ul_jq .result >"$ours"
    rf_get "$PLAIN" '/redfish/v1/Chassis/1/Sensors?$expand=.' >"$theirs"
    [ "$(jq '.Members | length' "$theirs")" -ge 19 ] || ul_fail "emulator lists too few sensors"
    assert_json '.result.sensors | length' "$(jq '.Members | length' "$theirs")" "sensor count"
    diff=$(compare_sensors "$ours" "$theirs")
    assert_eq "$diff" "" "sensors match the emulator's"
    # One value and one threshold spelled out.
    assert_eq "$(sensor_of "CPU1 Temp" value)" \
        "$(jq '.Members[] | select(.Id == "CPU1Temp") | .Reading' "$theirs")" "CPU1 Temp value"
    assert_eq "$(sensor_of "CPU1 Temp" thresholds.upper_critical)" \
        "$(jq '.Members[] | select(.Id == "CPU1Temp") | .Thresholds.UpperCritical.Reading' "$theirs")" \
        "CPU1 Temp upper critical threshold"
    assert_eq "$(sensor_of "Fan 1" kind)/$(sensor_of "Fan 1" unit)" fan/rpm "Fan 1 kind/unit"
    # Power draw: the legacy Power resource's PowerControl.
    assert_json .result.power_reading.supported true "power reading"
    assert_json .result.power_reading.watts \
        "$(rf_get "$PLAIN" /redfish/v1/Chassis/1/Power | jq '.PowerControl[0].PowerConsumedWatts')" \
        "power reading = PowerControl[0].PowerConsumedWatts"

    # Readings past the caution and the critical threshold.
    emu_post "$PLAIN" /_emulator/sensor '{"id":"CPU1Temp","reading":90}'
    run_job rf1 sensors '{}'
    assert_eq "$(sensor_of "CPU1 Temp" value) $(sensor_of "CPU1 Temp" status)" "90 warning" \
        "CPU1 Temp at 90 (caution 85)"
    emu_post "$PLAIN" /_emulator/sensor '{"id":"CPU1Temp","reading":99}'
    run_job rf1 sensors '{}'
    assert_eq "$(sensor_of "CPU1 Temp" value) $(sensor_of "CPU1 Temp" status)" "99 critical" \
        "CPU1 Temp at 99 (critical 95)"
    emu_post "$PLAIN" /_emulator/sensor '{"id":"CPU1Temp","reading":null}'

    # Host off: host-domain sensors have no reading, the inlet still does.
    emu_post "$PLAIN" /_emulator/power '{"state":"Off","system":"1"}'
    run_job rf1 sensors '{}'
    assert_json .state succeeded "sensors with the host off"
    assert_eq "$(sensor_of "CPU1 Temp" value) $(sensor_of "CPU1 Temp" status)" "null unknown" \
        "CPU1 Temp with the host off"
    assert_eq "$(sensor_of "Inlet Temp" value)" 23 "Inlet Temp with the host off"
    emu_post "$PLAIN" /_emulator/power '{"state":"On","system":"1"}'
}
ul_check check_sensors

# ---- event logs -----------------------------------------------------------------------
emu_log_total() { # BASE -> entries in all of the emulator's logs
    emu_state "$1" | jq '[.log_entries[]] | add'
}
check_sel() {
    emu_post "$PLAIN" /_emulator/log \
        '{"message":"Drive 0 predictive failure","severity":"Warning","sensor_type":"Drive Slot"}'
    emu_post "$PLAIN" /_emulator/log '{"message":"BMC firmware updated","service":"manager"}'
    local total
    total=$(emu_log_total "$PLAIN")
    [ "$total" -ge 2 ] || ul_fail "the emulator's logs hold $total entries"
    run_job rf1 sel '{}'
    assert_json .state succeeded "sel job"
    assert_json .result.new "$total" "new entries = the emulator's entries (system and manager)"
    ul_api GET "/api/v1/events?node=rf1&source=sel"
    assert_json .total "$total" "stored events"
    run_job rf1 sel '{}'
    assert_json .result.new 0 "second read finds nothing new"

    emu_post "$PLAIN" /_emulator/log \
        '{"message":"CPU 1 thermal trip","severity":"Critical","sensor_type":"Processor"}'
    run_job rf1 sel '{}'
    assert_json .result.new 1 "one entry added"
    ul_api GET "/api/v1/events?node=rf1&source=sel&limit=1"
    assert_json '.items[0] | "\(.message)|\(.severity)|\(.sensor)"' \
        "CPU 1 thermal trip|critical|Processor" "the newest event"

    # Clearing is for admins: an operator is refused and nothing is cleared.
    ul_api POST /api/v1/tokens '{"name":"ops","role":"operator"}'
    assert_status 201 "operator token"
    local ops
    ops=$(ul_jq .token)
    ul_api -t "$ops" POST /api/v1/nodes/rf1/sel/clear '{}'
    assert_error 403 forbidden
    assert_eq "$(emu_log_total "$PLAIN")" "$((total + 1))" "logs untouched by a refused clear"

    run_job rf1 sel/clear '{}'
    assert_json .state succeeded "sel clear"
    assert_json .result.cleared true
    assert_eq "$(emu_log_total "$PLAIN")" 0 "the emulator's logs after the clear"
    ul_api GET "/api/v1/events?node=rf1&source=sel"
    assert_json .total "$((total + 1))" "stored events survive the clear"
    ul_api GET "/api/v1/audit?action=sel.clear"
    assert_json .total 1 "sel clear is audited once"
    # After a clear, reading starts over: the next entry is new.
    emu_post "$PLAIN" /_emulator/log '{"message":"after the clear","severity":"OK"}'
    run_job rf1 sel '{}'
    assert_json .result.new 1 "first entry after the clear"
}
ul_check check_sel

# ---- inventory ---------------------------------------------------------------------------
check_inventory() {
    run_job rf1 inventory '{}'
    assert_json .state succeeded "inventory job"
    local sys
    sys=$(rf_get "$PLAIN" $SYS)
    assert_json .result.system.serial_number "$(jq -r .SerialNumber <<<"$sys")" "system serial"
    assert_json .result.system.model "$(jq -r .Model <<<"$sys")" "system model"
    assert_json '[.result.processors[].id] | sort | join(",")' \
        "$(rf_get "$PLAIN" "$SYS/Processors?\$expand=." | jq -r '[.Members[].Id] | sort | join(",")')" \
        "processors"
    assert_json '[.result.memory[] | "\(.id):\(.capacity_mib)"] | sort | join(",")' \
        "$(rf_get "$PLAIN" "$SYS/Memory?\$expand=." |
            jq -r '[.Members[] | select(.Status.State != "Absent") | "\(.Id):\(.CapacityMiB)"] | sort | join(",")')" \
        "memory modules"
    assert_json '[.result.storage[].drives[].serial_number] | sort | join(",")' \
        "$(rf_get "$PLAIN" "$SYS/Storage/1" | jq -r '.Drives[]["@odata.id"]' |
            while read -r d; do rf_get "$PLAIN" "$d" | jq -r .SerialNumber; done |
            sort | paste -sd, -)" "drive serial numbers"
    assert_json '[.result.network_interfaces[].mac_address] | sort | join(",")' \
        "$(rf_get "$PLAIN" "$SYS/EthernetInterfaces?\$expand=." |
            jq -r '[.Members[].MACAddress] | sort | join(",")')" "NIC MAC addresses"
    assert_json '[.result.firmware[] | "\(.id)=\(.version)"] | sort | join(",")' \
        "$(rf_get "$PLAIN" "/redfish/v1/UpdateService/FirmwareInventory?\$expand=." |
            jq -r '[.Members[] | "\(.Id)=\(.Version)"] | sort | join(",")')" "firmware versions"
    ul_api GET /api/v1/nodes/rf1/inventory
    assert_status 200 "stored inventory"
    assert_json .inventory.system.serial_number "$(jq -r .SerialNumber <<<"$sys")" "stored serial"
}
ul_check check_inventory

# ---- a service with two systems: one node each -------------------------------------------
rf_node m-any "$MULTI"
rf_node m1 "$MULTI/redfish/v1/Systems/1"
rf_node m2 "$MULTI/redfish/v1/Systems/2"
rf_node m-nosuch "$MULTI/redfish/v1/Systems/9"
rf_node m-chassis "$MULTI/redfish/v1/Chassis/1"
check_multi() {
    run_job m-any power '{"action":"status"}'
    assert_job_error invalid_argument "node m-any" "2 systems" /redfish/v1/Systems/1 \
        /redfish/v1/Systems/2
    run_job m-nosuch power '{"action":"status"}'
    assert_job_error invalid_argument "node m-nosuch" /redfish/v1/Systems/9
    run_job m-chassis power '{"action":"status"}'
    assert_job_error invalid_argument "node m-chassis" /redfish/v1/Chassis/1 "not a ComputerSystem"

    run_job m2 power '{"action":"off"}'
    assert_json .state succeeded "power off system 2"
    wait_power "$MULTI" /redfish/v1/Systems/2 Off
    assert_eq "$(rf_get "$MULTI" /redfish/v1/Systems/1 | jq -r .PowerState)" On \
        "system 1 untouched by system 2's power off"
    run_job m2 power '{"action":"on"}'
    wait_power "$MULTI" /redfish/v1/Systems/2 On
    assert_eq "$(emu_state "$MULTI" | jq -c '[.systems[] | [.id, [.resets[].type]]]')" \
        '[["1",[]],["2",["ForceOff","On"]]]' "resets reached system 2 only"

    run_job m1 inventory '{}'
    assert_json .result.system.serial_number \
        "$(rf_get "$MULTI" /redfish/v1/Systems/1 | jq -r .SerialNumber)" "system 1 serial"
    run_job m2 inventory '{}'
    assert_json .result.system.serial_number \
        "$(rf_get "$MULTI" /redfish/v1/Systems/2 | jq -r .SerialNumber)" "system 2 serial"
    # Each system's sensors come from its own chassis.
    emu_post "$MULTI" /_emulator/sensor '{"id":"CPU1Temp","reading":71,"chassis":"2"}'
    run_job m2 sensors '{}'
    assert_eq "$(sensor_of "CPU1 Temp" value)" 71 "system 2's CPU1 Temp (chassis 2)"
    run_job m1 sensors '{}'
    assert_eq "$(sensor_of "CPU1 Temp" value)" 45 "system 1's CPU1 Temp (chassis 1)"
    emu_post "$MULTI" /_emulator/sensor '{"id":"CPU1Temp","reading":null,"chassis":"2"}'
}
ul_check check_multi

# ---- TLS -----------------------------------------------------------------------------------
check_tls() {
    local port=${TLS##*:}
    # Verification is on by default: a self-signed BMC is refused.
    rf_node tls-default "redfish://127.0.0.1:$port"
    run_job tls-default power '{"action":"status"}'
    assert_job_error protocol_error "node tls-default" "/redfish/v1/" \
        "TLS certificate verification failed"
    # Another CA is no better.
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -days 2 -keyout "$UL_TMP/other.key" \
        -out "$UL_TMP/other.pem" >/dev/null 2>&1 || ul_fail "openssl could not make a certificate"
    rf_node tls-otherca "https://127.0.0.1:$port" "{\"options\":{\"ca_file\":\"$UL_TMP/other.pem\"}}"
    run_job tls-otherca power '{"action":"status"}'
    assert_job_error protocol_error "node tls-otherca" "TLS certificate verification failed"
    rf_node tls-noca "https://127.0.0.1:$port" '{"options":{"ca_file":"/nonexistent/ca.pem"}}'
    run_job tls-noca power '{"action":"status"}'
    assert_job_error invalid_argument "node tls-noca" ca_file /nonexistent/ca.pem

    # The BMC's own certificate as the node's CA file.
    rf_node tls-ca "https://127.0.0.1:$port" "{\"options\":{\"ca_file\":\"$CA\"}}"
    run_job tls-ca power '{"action":"status"}'
    assert_json .state succeeded "HTTPS with ca_file"
    run_job tls-ca sensors '{}'
    assert_json .state succeeded "HTTPS sensors with ca_file"
    # insecure: works, and the API shows the choice.
    rf_node tls-insecure "https://127.0.0.1:$port" '{"options":{"insecure":true}}'
    run_job tls-insecure power '{"action":"status"}'
    assert_json .state succeeded "HTTPS with insecure"
    ul_api GET /api/v1/nodes/tls-insecure
    assert_json .options.insecure true "the API shows options.insecure"
    ul_api GET /api/v1/nodes/tls-default
    assert_json '.options.insecure // false' false "no insecure unless asked"
    # Both at once is refused at enrollment.
    ul_api POST /api/v1/nodes "$(jq -cn --arg e "https://127.0.0.1:$port" --arg ca "$CA" \
        '{name: "tls-both", endpoint: $e, options: {ca_file: $ca, insecure: true}}')"
    assert_error 400 invalid_argument ca_file insecure
    # TLS spoken to a plain HTTP BMC: the message says what is wrong.
    rf_node tls-plain "https://${PLAIN#http://}" '{"options":{"insecure":true}}'
    run_job tls-plain power '{"action":"status"}'
    assert_job_error protocol_error "node tls-plain" "TLS handshake failed"
}
if [ "$HAVE_TLS" = 1 ]; then
    ul_check check_tls
fi

# ---- sessions and credentials ----------------------------------------------------------------
check_credentials() {
    local pw=S3cret-wr0ng-Pw before
    ul_node_add badpw "$(jq -cn --arg e "$PLAIN" --arg p "$pw" \
        '{endpoint: $e, username: "admin", password: $p}')"
    run_job badpw power '{"action":"status"}'
    assert_job_error auth_failed "node badpw" "wrong username or password"
    assert_json .attempts 1 "no retry of a permanent error"
    assert_not_contains "$UL_BODY" "$pw" "job with a wrong password"
    ul_node_add badpw-basic "$(jq -cn --arg e "$PLAIN" --arg p "$pw" \
        '{endpoint: $e, username: "admin", password: $p, options: {auth: "basic"}}')"
    run_job badpw-basic power '{"action":"status"}'
    assert_job_error auth_failed "node badpw-basic"
    # Basic authentication opens no session on the BMC.
    before=$(emu_state "$PLAIN" | jq .session_count)
    rf_node basic "$PLAIN" '{"options":{"auth":"basic"}}'
    run_job basic power '{"action":"status"}'
    assert_json .state succeeded "basic authentication"
    assert_eq "$(emu_state "$PLAIN" | jq .session_count)" "$before" "sessions after a basic-auth job"
    assert_not_contains "$(cat "$UL_DIR/daemon.log")" "$pw" "daemon log"
}
ul_check check_credentials

# ---- injected faults ----------------------------------------------------------------------------
# A node with a 1 s request timeout (and the default 2 retries) for the
# faults that wait: a 5 s bmc.timeout times 3 attempts would be too slow here.
rf_node rf-fast "$PLAIN" '{"options":{"timeout_ms":1000}}'
emu_requests() { # BASE PATH METHOD -> requests the emulator counted
    emu_state "$1" | jq --arg p "$2" --arg m "$3" '.requests[$p][$m] // 0'
}
check_faults() {
    local t0 took n0
    # Warm both nodes' sessions: the faults below hit the system resource.
    run_job rf1 power '{"action":"status"}'
    run_job rf-fast power '{"action":"status"}'
    assert_json .state succeeded "rf-fast before the faults"

    # Latency within the timeout: works, slower.
    emu_faults "$PLAIN" '{"latency_ms":1500,"path_prefix":"/redfish/v1/Systems"}'
    t0=$(now_ms)
    run_job rf1 power '{"action":"status"}'
    took=$(($(now_ms) - t0))
    assert_json .state succeeded "1.5 s latency under a 5 s timeout"
    [ "$took" -ge 1400 ] || ul_fail "a 1.5 s latency answered in $took ms"

    # A burst of two 503s: retried, then fine (three GETs of the system).
    emu_faults "$PLAIN" '{"fail_next":2}'
    n0=$(emu_requests "$PLAIN" $SYS GET)
    run_job rf-fast power '{"action":"status"}'
    assert_json .state succeeded "503 twice, then OK"
    assert_eq "$(($(emu_requests "$PLAIN" $SYS GET) - n0))" 3 "GETs for a 503 burst of 2"

    # 503 for good: busy, after the bounded retries (the session stays).
    emu_faults "$PLAIN" '{"error_rate":1.0,"status":503}'
    n0=$(emu_requests "$PLAIN" $SYS GET)
    run_job rf-fast power '{"action":"status"}'
    assert_job_error busy "node rf-fast" "GET $SYS" "BMC busy" "HTTP 503"
    assert_eq "$(($(emu_requests "$PLAIN" $SYS GET) - n0))" 3 "GETs for a permanent 503"

    # A 500 for good: a protocol error, after the bounded retries.
    emu_faults "$PLAIN" '{"error_rate":1.0,"status":500}'
    run_job rf-fast power '{"action":"status"}'
    assert_job_error protocol_error "node rf-fast" "GET $SYS" "HTTP 500"

    # A Reset answered 500 may have reached the host: never sent twice.
    local reset=$SYS/Actions/ComputerSystem.Reset
    emu_faults "$PLAIN" "{\"fail_next\":1,\"status\":500,\"path_prefix\":\"$reset\"}"
    n0=$(emu_requests "$PLAIN" "$reset" POST)
    run_job rf-fast power '{"action":"off"}'
    assert_job_error protocol_error "node rf-fast" "POST $reset" "HTTP 500"
    assert_eq "$(($(emu_requests "$PLAIN" "$reset" POST) - n0))" 1 "POSTs of a Reset answered 500"
    assert_eq "$(rf_get "$PLAIN" $SYS | jq -r .PowerState)" On "no reset reached the host"
    # A 503 says nothing was done: the Reset is sent again, and works.
    emu_faults "$PLAIN" "{\"fail_next\":1,\"status\":503,\"path_prefix\":\"$reset\"}"
    n0=$(emu_requests "$PLAIN" "$reset" POST)
    run_job rf-fast power '{"action":"off"}'
    assert_json .state succeeded "power off after one 503"
    assert_eq "$(($(emu_requests "$PLAIN" "$reset" POST) - n0))" 2 "POSTs of a Reset answered 503 once"
    wait_power "$PLAIN" $SYS Off
    emu_faults "$PLAIN" '{}'
    run_job rf-fast power '{"action":"on"}'
    wait_power "$PLAIN" $SYS On

    # Latency beyond the timeout: a timeout naming node and resource, bounded
    # by (retries + 1) x timeout_ms plus the backoff.
    emu_faults "$PLAIN" '{"latency_ms":3000,"path_prefix":"/redfish/v1/Systems"}'
    t0=$(now_ms)
    run_job rf-fast power '{"action":"status"}'
    took=$(($(now_ms) - t0))
    assert_job_error timeout "node rf-fast" "GET $SYS" "no reply within 1000 ms"
    [ "$took" -le 7000 ] || ul_fail "timeout took $took ms (3 x 1 s + backoff)"

    # Malformed JSON: a protocol error naming the resource.
    emu_faults "$PLAIN" '{"malformed_json":true,"path_prefix":"/redfish/v1/Systems"}'
    run_job rf1 power '{"action":"status"}'
    assert_job_error protocol_error "node rf1" "GET $SYS" "malformed JSON"

    # Dropped connections: retried, then unreachable.
    emu_faults "$PLAIN" '{"drop_connection":true,"path_prefix":"/redfish/v1/Systems"}'
    run_job rf-fast power '{"action":"status"}'
    assert_job_error unreachable "node rf-fast" "GET" "connection dropped"

    # No session to be had: busy, and a clear word why.
    emu_faults "$PLAIN" '{"exhaust_sessions":true}'
    rf_node rf-nosession "$PLAIN" '{"options":{"timeout_ms":1000}}'
    run_job rf-nosession power '{"action":"status"}'
    assert_job_error busy "node rf-nosession" "session limit reached"

    # An OS that ignores ACPI: soft off accepted, never happens: the job's
    # deadline ends it, and says so.
    emu_faults "$PLAIN" '{"graceful_ignored":true}'
    run_job rf1 power '{"action":"soft","timeout":2}'
    assert_job_error timeout "node rf1" "power soft accepted but state still reads on"
    assert_eq "$(rf_get "$PLAIN" $SYS | jq -r .PowerState)" On "the host stayed on"

    # Faults gone: every node works again (new sessions where the old ones
    # were closed after an error).
    emu_faults "$PLAIN" '{}'
    local n
    for n in rf1 rf-fast rf-nosession; do
        run_job "$n" power '{"action":"status"}'
        assert_json .state succeeded "$n after the faults"
    done

    # The BMC forgets every session (a BMC reboot): one new login, no error.
    emu_post "$PLAIN" /_emulator/reset '{}'
    run_job rf1 sensors '{}'
    assert_json .state succeeded "after the BMC forgot our session"
    assert_eq "$(emu_state "$PLAIN" | jq .session_count)" 1 "one new session after the reset"
}
ul_check check_faults

# ---- hostile replies ----------------------------------------------------------------------------
# A service of our own, since the emulator only serves well-formed documents.
# Two ports: TREE serves systems with hostile parts (enrolled by path),
# SELFLOOP a Systems collection whose only member is itself.
cat >"$UL_TMP/hostile.py" <<'PY'
import json, socket, sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = open(sys.argv[1], "a", buffering=1)
S = "/redfish/v1/Systems/"
SYS_TYPE = "#ComputerSystem.v1_10_0.ComputerSystem"

def coll(path, members, **extra):
    d = {"@odata.id": path, "Name": "collection",
         "Members": [{"@odata.id": m} for m in members], "Members@odata.count": len(members)}
    d.update(extra)
    return d

def system(sid, **extra):
    d = {"@odata.id": S + sid, "@odata.type": SYS_TYPE, "Id": sid, "PowerState": "On",
         "SerialNumber": "H-" + sid,
         "Actions": {"#ComputerSystem.Reset": {"target": S + sid + "/Actions/ComputerSystem.Reset"}},
         "Boot": {"BootSourceOverrideTarget": "None", "BootSourceOverrideEnabled": "Disabled"}}
    d.update(extra)
    return d

TREE = {
    "/redfish/v1": {"@odata.id": "/redfish/v1/", "Systems": {"@odata.id": "/redfish/v1/Systems"},
                    "Chassis": {"@odata.id": "/redfish/v1/Chassis"}},
    "/redfish/v1/Systems": coll("/redfish/v1/Systems",
                                [S + x for x in ("loop", "huge", "deep", "wrongtype", "nolinks")]),
    # The only chassis is gone (404).
    "/redfish/v1/Chassis": coll("/redfish/v1/Chassis", ["/redfish/v1/Chassis/gone"]),
    # loop: every link leads back where it came from.  Its chassis link is a
    # full URL naming another host: it must be requested from this BMC only.
    S + "loop": system("loop", Processors={"@odata.id": S + "loop/Processors"},
                       LogServices={"@odata.id": S + "loop/LogServices"},
                       Links={"Chassis": [{"@odata.id": "http://192.0.2.1:9/redfish/v1/Chassis/loop"}]}),
    S + "loop/Processors": coll(S + "loop/Processors",
                                [S + "loop/Processors", S + "loop/Processors/CPU1",
                                 S + "loop/Processors/CPU1"],
                                **{"Members@odata.nextLink": S + "loop/Processors"}),
    S + "loop/Processors/CPU1": {"@odata.id": S + "loop/Processors/CPU1", "Id": "CPU1",
                                 "Model": "Loop CPU", "TotalCores": 4},
    S + "loop/LogServices": coll(S + "loop/LogServices", [S + "loop/LogServices/SEL"]),
    S + "loop/LogServices/SEL": {"@odata.id": S + "loop/LogServices/SEL", "Id": "SEL",
                                 "Entries": {"@odata.id": S + "loop/LogServices/SEL/Entries"}},
    "/redfish/v1/Chassis/loop": {"@odata.id": "/redfish/v1/Chassis/loop", "Id": "loop",
                                 "Sensors": {"@odata.id": "/redfish/v1/Chassis/loop/Sensors"}},
    "/redfish/v1/Chassis/loop/Sensors/T1": {
        "@odata.id": "/redfish/v1/Chassis/loop/Sensors/T1", "Id": "T1", "Name": "Loop Temp",
        "ReadingType": "Temperature", "ReadingUnits": "Cel", "Reading": 42,
        "Status": {"State": "Enabled", "Health": "OK"}},
    # wrongtype: the right names, the wrong types.
    S + "wrongtype": system("wrongtype", PowerState=1, Boot="Pxe",
                            Processors={"@odata.id": S + "wrongtype/Processors"},
                            Links={"Chassis": "not-a-list"}),
    S + "wrongtype/Processors": {"@odata.id": S + "wrongtype/Processors", "Members": "CPU1"},
    # nolinks: a ComputerSystem with nothing to follow.
    S + "nolinks": {"@odata.id": S + "nolinks", "@odata.type": SYS_TYPE, "Id": "nolinks",
                    "PowerState": "On"},
    # huge and deep: fine systems whose Processors collection is not.
    S + "huge": system("huge", Processors={"@odata.id": S + "huge/Processors"}),
    S + "deep": system("deep", Processors={"@odata.id": S + "deep/Processors"}),
}
SELFLOOP = {
    "/redfish/v1": {"@odata.id": "/redfish/v1/", "Systems": {"@odata.id": "/redfish/v1/Systems"}},
    "/redfish/v1/Systems": coll("/redfish/v1/Systems", ["/redfish/v1/Systems"],
                                **{"Members@odata.nextLink": "/redfish/v1/Systems"}),
}

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def setup(self):
        super().setup()
        # Without it Nagle holds each body back for the client's delayed
        # ACK: 40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def send(self, status, data):
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            self.close_connection = True

    def do_GET(self):
        LOG.write("%s GET %s\n" % (self.server.name, self.path))
        path, _, query = self.path.partition("?")
        key = path.rstrip("/") or "/"
        if key == S + "huge/Processors":
            # 20 MiB of valid JSON.
            size = 20 * 1024 * 1024
            head, tail = b'{"Members": [], "Pad": "', b'"}'
            try:
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(size))
                self.end_headers()
                self.wfile.write(head)
                left, chunk = size - len(head) - len(tail), b"x" * 65536
                while left > 0:
                    self.wfile.write(chunk[:min(left, len(chunk))])
                    left -= len(chunk)
                self.wfile.write(tail)
            except OSError:
                self.close_connection = True
            return
        if key == S + "deep/Processors":
            self.send(200, b'{"Members": ' + b"[" * 5000 + b"1" + b"]" * 5000 + b"}")
            return
        if key == "/redfish/v1/Chassis/loop/Sensors":
            # Two pages linking to each other; page 2 lists the collection.
            if query == "page=2":
                d = coll(key, [key], **{"Members@odata.nextLink": key})
            else:
                d = coll(key, [key + "/T1", key], **{"Members@odata.nextLink": key + "?page=2"})
            self.send(200, json.dumps(d).encode())
            return
        if key == S + "loop/LogServices/SEL/Entries":
            # An endless pager: one entry a page, always a next page.
            n = int(query[5:]) if query.startswith("page=") else 0
            d = {"@odata.id": key,
                 "Members": [{"@odata.id": "%s/%d" % (key, n), "Id": str(n), "Severity": "OK",
                              "Created": "2026-01-01T00:00:00Z", "Message": "entry %d" % n}],
                 "Members@odata.nextLink": "%s?page=%d" % (key, n + 1)}
            self.send(200, json.dumps(d).encode())
            return
        body = self.server.tree.get(key)
        if body is None:
            self.send(404, b'{"error": {"code": "Base.1.0.ResourceMissingAtURI", '
                           b'"message": "no such resource"}}')
        else:
            self.send(200, json.dumps(body).encode())

    def do_POST(self):
        LOG.write("%s %s %s\n" % (self.server.name, self.command, self.path))
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send(204, b"")

    do_PATCH = do_POST
    do_DELETE = do_POST

ports = []
for name, tree in (("tree", TREE), ("selfloop", SELFLOOP)):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.name, srv.tree = name, tree
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    ports.append(str(srv.server_address[1]))
print(" ".join(ports), flush=True)
threading.Event().wait()
PY
python3 "$UL_TMP/hostile.py" "$UL_TMP/hostile.log" >"$UL_TMP/hostile.ports" 2>"$UL_TMP/hostile.err" &
HOSTILE_PID=$!
for _ in $(seq 100); do
    [ -s "$UL_TMP/hostile.ports" ] && break
    kill -0 "$HOSTILE_PID" 2>/dev/null || break
    sleep 0.1
done
read -r HTREE HSELF <"$UL_TMP/hostile.ports" || ul_fail "the hostile server did not start: $(cat "$UL_TMP/hostile.err")"

for s in loop huge deep wrongtype nolinks; do
    rf_node "h-$s" "http://127.0.0.1:$HTREE/redfish/v1/Systems/$s"
done
rf_node h-self "http://127.0.0.1:$HSELF"

healthy() {
    assert_eq "$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$UL_URL/healthz")" 200 \
        "healthz after $1"
}
check_hostile() {
    local t0 took
    # A 20 MiB reply is refused at 8 MiB.
    run_job h-huge inventory '{}'
    assert_job_error protocol_error "node h-huge" /redfish/v1/Systems/huge/Processors \
        "larger than 8 MiB"
    healthy "a 20 MiB reply"
    # JSON nested 5,000 deep.
    run_job h-deep inventory '{}'
    assert_job_error protocol_error "node h-deep" /redfish/v1/Systems/deep/Processors "nesting"
    healthy "JSON nested 5,000 deep"
    # Wrong types: a numeric PowerState, a string Boot, Members not an array.
    run_job h-wrongtype power '{"action":"status"}'
    assert_job_error protocol_error "node h-wrongtype" /redfish/v1/Systems/wrongtype \
        "'PowerState' is not a string"
    run_job h-wrongtype boot '{}'
    assert_job_error not_supported "node h-wrongtype" /redfish/v1/Systems/wrongtype "Boot"
    run_job h-wrongtype inventory '{}'
    assert_job_error protocol_error "node h-wrongtype" /redfish/v1/Systems/wrongtype/Processors \
        "'Members' is not an array"
    healthy "wrong types"
    # Missing links: no Reset action, no Boot, no log, a chassis that is gone.
    run_job h-nolinks power '{"action":"off"}'
    assert_job_error not_supported "node h-nolinks" /redfish/v1/Systems/nolinks "Reset"
    run_job h-nolinks boot '{}'
    assert_job_error not_supported "node h-nolinks" /redfish/v1/Systems/nolinks
    run_job h-nolinks sensors '{}'
    assert_job_error not_supported "node h-nolinks" /redfish/v1/Chassis/gone
    run_job h-nolinks sel '{}'
    assert_job_error not_supported "node h-nolinks" "LogServices"
    run_job h-nolinks inventory '{}'
    assert_json .state succeeded "inventory of a bare system"
    assert_json .result.system.power_state on "bare system's power state"
    healthy "missing links"
    # Loops: members and pages that lead back are not followed again.
    run_job h-loop inventory '{}'
    assert_json .state succeeded "inventory through looping links"
    assert_json '[.result.processors[].id] | join(",")' CPU1 "each processor once"
    run_job h-loop sensors '{}'
    assert_json .state succeeded "sensors through looping pages"
    assert_json '[.result.sensors[].name] | join(",")' "Loop Temp" "each sensor once"
    # The chassis link named another host: only this BMC was asked.
    grep -q "^tree GET /redfish/v1/Chassis/loop" "$UL_TMP/hostile.log" ||
        ul_fail "the chassis was not read from the node's own BMC"
    # An endless pager stops at the page bound, in bounded time.
    t0=$(now_ms)
    run_job h-loop sel '{}' 30
    took=$(($(now_ms) - t0))
    assert_json .state succeeded "sel through an endless pager"
    local read
    read=$(ul_jq .result.read)
    if [ "$read" -lt 1 ] || [ "$read" -gt 256 ]; then
        ul_fail "endless pager: read $read entries (bound: 256 pages)"
    fi
    [ "$took" -le 15000 ] || ul_fail "endless pager took $took ms"
    healthy "link loops"
}
ul_check check_hostile

# A Systems collection whose only member is itself (and whose nextLink is
# itself): whatever is asked, a clear error naming node and resource; never
# an empty success.
check_self_listing() { # OP JSON
    run_job h-self "$1" "$2"
    assert_json .state failed "$1 on a Systems collection that lists itself"
    assert_contains "$(ul_jq .error.message)" "node h-self" "h-self $1 error"
    assert_contains "$(ul_jq .error.message)" "/redfish/v1/Systems" "h-self $1 error"
    healthy "a self-listing Systems collection"
}
ul_check check_self_listing power '{"action":"status"}'
ul_check check_self_listing inventory '{}'
ul_check check_self_listing sensors '{}'

# ---- a clean stop logs out everywhere ---------------------------------------------------------
# One fresh job per emulator first, so that a session is surely open (idle
# ones are closed after bmc.session_idle).
emu_bases=("$PLAIN" "$MULTI")
warm=(rf1 m1)
if [ "$HAVE_TLS" = 1 ]; then
    emu_bases+=("$TLS")
    warm+=(tls-ca)
fi
for n in "${warm[@]}"; do
    run_job "$n" power '{"action":"status"}'
    assert_json .state succeeded "$n before the stop"
done
for base in "${emu_bases[@]}"; do
    n=$(emu_state "$base" | jq .session_count)
    [ "$n" -ge 1 ] || ul_fail "$base: no open session before the stop ($n)"
done
ul_stop
for base in "${emu_bases[@]}"; do
    assert_eq "$(emu_state "$base" | jq .session_count)" 0 "$base: sessions after a clean stop"
done
