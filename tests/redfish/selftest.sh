#!/usr/bin/env bash
# selftest.sh - check the Redfish emulator (emulator.py, emuctl.sh) end to
# end with curl and jq: service root, sessions and their limit, Basic auth,
# Reset and PowerState transitions, boot override, ETags, Sensors $expand,
# Thermal/Power, growing logs, event delivery to a local listener, every
# fault mode, BIOS settings (registry, validation, apply at reset, refused
# values), storage volumes (create, reject, delete, tasks), firmware updates
# (SimpleUpdate from a local http.server, multipart push, task states,
# failures, stalls, OnReset), HTTPS, emuctl, and every DMTF-format mockup
# found in ../shared/redfish-mockups (that part is skipped when the folder is
# absent).
#
#   selftest.sh            exit 0 all passed, 1 a check failed,
#                          77 python3 / curl / jq missing
#
# Environment: REDFISH_MOCKUPS (mockup folder, default the shared one beside
# the repository), RFTEST_KEEP=1 keeps the temporary directory.
# Uses 127.0.0.1 ports in 10000-19999 only; stops everything it starts by
# PID.  Takes about 30 s.

# The checks read "[ test ] && pass ... || fail ...": pass never fails.
# shellcheck disable=SC2015,SC2317

set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd) || exit 1
EMU=$HERE/emulator.py
EMUCTL=$HERE/emuctl.sh
MOCKUPS=${REDFISH_MOCKUPS:-$HERE/../../../shared/redfish-mockups}

for tool in python3 curl jq; do
    command -v "$tool" >/dev/null 2>&1 || { echo "SKIP: $tool missing"; exit 77; }
done

DIR=$(mktemp -d "${TMPDIR:-/tmp}/rfemu-selftest.XXXXXX") || exit 1
PIDS=()
CTLDIRS=()
cleanup() {
    local pid d
    for d in "${CTLDIRS[@]}"; do
        "$EMUCTL" stop "$d" >/dev/null 2>&1
    done
    for pid in "${PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null
    done
    if [ "${RFTEST_KEEP:-0}" = 1 ]; then
        echo "kept $DIR"
    else
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT

PASSED=0
FAILED=0
SKIPPED=0
pass() { printf 'PASS: %s\n' "$*"; PASSED=$((PASSED + 1)); }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=$((FAILED + 1)); }
skip() { printf 'SKIP: %s\n' "$*"; SKIPPED=$((SKIPPED + 1)); }
check() {   # check DESCRIPTION COMMAND...
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}
# eventually SECONDS DESCRIPTION COMMAND...: retry for up to SECONDS.
eventually() {
    local limit=$1 what=$2 t
    shift 2
    for ((t = 0; t < limit * 10; t++)); do
        if "$@"; then pass "$what"; return 0; fi
        sleep 0.1
    done
    fail "$what"
}

USED_PORTS=" "
free_port() {
    local p
    p=$(python3 - "$USED_PORTS" <<'EOF'
import random, socket, sys
used = set(int(x) for x in sys.argv[1].split())
for _ in range(500):
    p = random.randint(10000, 19999)
    if p in used:
        continue
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
        print(p)
        break
    except OSError:
        pass
    finally:
        s.close()
EOF
    ) || return 1
    [ -n "$p" ] || return 1
    USED_PORTS="$USED_PORTS$p "
    printf '%s\n' "$p"
}

# start_emu NAME [OPTIONS...]: start an emulator; sets URL and EPID.
start_emu() {
    local name=$1 port t
    shift
    URL='' EPID=''
    for _ in 1 2 3; do
        port=$(free_port) || return 1
        python3 "$EMU" --port "$port" "$@" >"$DIR/$name.log" 2>&1 &
        EPID=$!
        PIDS+=("$EPID")
        for ((t = 0; t < 150; t++)); do
            if grep -q "^listening on " "$DIR/$name.log" 2>/dev/null; then
                URL=$(sed -n 's/^listening on //p' "$DIR/$name.log" | head -n 1)
                return 0
            fi
            kill -0 "$EPID" 2>/dev/null || break
            sleep 0.1
        done
        kill -TERM "$EPID" 2>/dev/null
        wait "$EPID" 2>/dev/null
    done
    echo "could not start emulator $name; log:" >&2
    tail -n 5 "$DIR/$name.log" >&2
    return 1
}

stop_emu() {    # stop_emu PID
    kill -TERM "$1" 2>/dev/null
    wait "$1" 2>/dev/null
}

# rf METHOD URL [CURL ARGS...]: one request; body in $DIR/body, headers in
# $DIR/hdr; prints the status code.
rf() {
    local method=$1 url=$2
    shift 2
    curl -s -m 10 -X "$method" -o "$DIR/body" -D "$DIR/hdr" \
        -w '%{http_code}' "$@" "$url" 2>/dev/null
}
body() { jq -r "$1" "$DIR/body" 2>/dev/null; }
hdr() { sed -n "s/^$1: *//Ip" "$DIR/hdr" | tr -d '\r' | head -n 1; }
is() { [ "$1" = "$2" ] || { printf '   got %q, want %q\n' "$1" "$2"; return 1; }; }
json_true() { jq -e "$1" "$DIR/body" >/dev/null 2>&1; }
# get_true URL JQ [CURL ARGS...]: GET URL (Basic auth) and test JQ on it.
get_true() {
    local url=$1 expr=$2
    shift 2
    [ "$(rf GET "$url" "${AUTH[@]}" "$@")" = 200 ] && json_true "$expr"
}

AUTH=(-u admin:password)
JSON=(-H "Content-Type: application/json")

# ---- the generated tree --------------------------------------------------
start_emu main --systems 2 --max-sessions 3 --power-delay 1 \
    --log-interval 0.5 --event-retry-interval 1 ||
    { fail "start emulator"; echo "redfish-selftest: $PASSED passed, $FAILED failed"; exit 1; }
pass "emulator started ($URL)"
B=$URL
V1=$B/redfish/v1

check "GET /redfish names v1" is "$(rf GET "$B/redfish")/$(body .v1)" "200//redfish/v1/"
code=$(rf GET "$V1/")
check "service root readable without auth" is "$code" 200
for link in Systems Chassis Managers SessionService AccountService EventService UpdateService Tasks; do
    check "service root links $link" json_true ".${link}[\"@odata.id\"] | startswith(\"/redfish/v1/\")"
done
check "service root Links.Sessions" is "$(body '.Links.Sessions["@odata.id"]')" /redfish/v1/SessionService/Sessions
check "service root has an ETag" test -n "$(hdr ETag)"

# authentication
code=$(rf GET "$V1/Systems")
check "401 without credentials" is "$code" 401
check "401 body is a Redfish error (NoValidSession)" json_true '.error.code | test("^Base\\.1\\.[0-9]+\\.NoValidSession$")'
check "401 body has @Message.ExtendedInfo" json_true '.error["@Message.ExtendedInfo"] | length >= 1'
check "401 advertises Basic" test -n "$(hdr WWW-Authenticate)"
check "401 with a wrong Basic password" is "$(rf GET "$V1/Systems" -u admin:wrong)" 401
check "401 with an unknown token" is "$(rf GET "$V1/Systems" -H "X-Auth-Token: nope")" 401
check "Basic auth accepted" is "$(rf GET "$V1/Systems" "${AUTH[@]}")" 200
check "two systems" is "$(body '."Members@odata.count"')" 2

SESS=$V1/SessionService/Sessions
# login USER PASSWORD [CURL ARGS...]: POST to $SESS; status in CODE, token
# in TOKEN, session URI in LOC.
login() {
    local user=$1 password=$2
    shift 2
    CODE=$(rf POST "$SESS" "${JSON[@]}" "$@" -d "{\"UserName\":\"$user\",\"Password\":\"$password\"}")
    TOKEN=$(hdr X-Auth-Token)
    LOC=$(hdr Location)
}
login admin wrong
check "login with a wrong password: 401" is "$CODE" 401
login admin password
check "login: 201" is "$CODE" 201
check "login: X-Auth-Token header" test -n "$TOKEN"
check "login: Location names the session" json_true "(.\"@odata.id\" == \"$LOC\") and (\"$LOC\" | startswith(\"/redfish/v1/SessionService/Sessions/\"))"
T1=$TOKEN L1=$LOC
check "token: authenticated GET" is "$(rf GET "$V1/Systems/1" -H "X-Auth-Token: $T1")" 200
check "token: session resource shows the user" is "$(rf GET "$B$L1" -H "X-Auth-Token: $T1")/$(body .UserName)" 200/admin
check "login with a missing Password: 400" is "$(rf POST "$SESS" -d '{"UserName":"admin"}')" 400

# session limit (--max-sessions 3, one open)
login admin password
T2=$TOKEN L2=$LOC
login admin password
T3=$TOKEN L3=$LOC
login admin password
check "session limit: 4th login refused with 503" is "$CODE" 503
check "session limit: SessionLimitExceeded" json_true '.error["@Message.ExtendedInfo"][0].MessageId | endswith(".SessionLimitExceeded")'
check "session collection lists 3" is "$(rf GET "$SESS" -H "X-Auth-Token: $T1" >/dev/null; body '."Members@odata.count"')" 3
check "logout: DELETE session 204" is "$(rf DELETE "$B$L3" -H "X-Auth-Token: $T3")" 204
check "logout: token no longer valid" is "$(rf GET "$V1/Systems" -H "X-Auth-Token: $T3")" 401
login admin password
check "login possible again after a logout" is "$CODE" 201
rf DELETE "$B$LOC" -H "X-Auth-Token: $TOKEN" >/dev/null
rf DELETE "$B$L2" -H "X-Auth-Token: $T2" >/dev/null

# ---- Reset and PowerState ------------------------------------------------
S1=$V1/Systems/1
RESET=$S1/Actions/ComputerSystem.Reset
power() { rf GET "$1" "${AUTH[@]}" >/dev/null; body .PowerState; }
power_is() { [ "$(power "$1")" = "$2" ]; }
rf GET "$S1" "${AUTH[@]}" >/dev/null
check "Reset AllowableValues published" json_true '.Actions["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] | index("ForceOff") != null'
check "system starts On" is "$(body .PowerState)" On
check "Reset ForceOff: 204" is "$(rf POST "$RESET" "${AUTH[@]}" "${JSON[@]}" -d '{"ResetType":"ForceOff"}')" 204
check "PowerState PoweringOff during the delay" is "$(power "$S1")" PoweringOff
eventually 4 "PowerState Off after the delay" power_is "$S1" Off
check "chassis PowerState follows" is "$(power "$V1/Chassis/1")" Off
check "Reset with a value not allowed: 400" is "$(rf POST "$RESET" "${AUTH[@]}" -d '{"ResetType":"Bogus"}')" 400
check "... ActionParameterValueNotInList" json_true '.error.code | endswith(".ActionParameterValueNotInList")'
check "Reset ForceOn (not in the configured subset): 400" is "$(rf POST "$RESET" "${AUTH[@]}" -d '{"ResetType":"ForceOn"}')" 400
check "Reset without ResetType: 400 ActionParameterMissing" is "$(rf POST "$RESET" "${AUTH[@]}" -d '{}')/$(body .error.code | sed 's/.*\.//')" 400/ActionParameterMissing
check "Reset with malformed JSON: 400 MalformedJSON" is "$(rf POST "$RESET" "${AUTH[@]}" -d '{"ResetType":')/$(body .error.code | sed 's/.*\.//')" 400/MalformedJSON
check "Reset On: 204" is "$(rf POST "$RESET" "${AUTH[@]}" -d '{"ResetType":"On"}')" 204
check "PowerState PoweringOn during the delay" is "$(power "$S1")" PoweringOn
eventually 4 "PowerState On after the delay" power_is "$S1" On

# ---- boot override ---------------------------------------------------------
code=$(rf PATCH "$S1" "${AUTH[@]}" "${JSON[@]}" -d '{"Boot":{"BootSourceOverrideTarget":"Pxe","BootSourceOverrideEnabled":"Once","BootSourceOverrideMode":"Legacy"}}')
check "boot PATCH valid: 200" is "$code" 200
check "boot PATCH applied" is "$(body '.Boot | [.BootSourceOverrideTarget, .BootSourceOverrideEnabled, .BootSourceOverrideMode] | join(",")')" Pxe,Once,Legacy
code=$(rf PATCH "$S1" "${AUTH[@]}" -d '{"Boot":{"BootSourceOverrideTarget":"Floppy"}}')
check "boot PATCH target not allowed: 400" is "$code" 400
check "... PropertyValueNotInList in @Message.ExtendedInfo" json_true '.error["@Message.ExtendedInfo"][0].MessageId | test("^Base\\.1\\.[0-9]+\\.PropertyValueNotInList$")'
check "boot PATCH Enabled=Sometimes: 400" is "$(rf PATCH "$S1" "${AUTH[@]}" -d '{"Boot":{"BootSourceOverrideEnabled":"Sometimes"}}')" 400
check "boot PATCH Mode=BIOS: 400" is "$(rf PATCH "$S1" "${AUTH[@]}" -d '{"Boot":{"BootSourceOverrideMode":"BIOS"}}')" 400
check "PATCH of read-only PowerState: 400 PropertyNotWritable" is "$(rf PATCH "$S1" "${AUTH[@]}" -d '{"PowerState":"Off"}')/$(body .error.code | sed 's/.*\.//')" 400/PropertyNotWritable
rf GET "$S1" "${AUTH[@]}" >/dev/null
check "rejected PATCHes changed nothing" is "$(body .Boot.BootSourceOverrideTarget)" Pxe
check "ForceRestart: 204" is "$(rf POST "$RESET" "${AUTH[@]}" -d '{"ResetType":"ForceRestart"}')" 204
eventually 4 "boot override Once consumed by the next boot" get_true "$S1" \
    '.PowerState == "On" and .Boot.BootSourceOverrideEnabled == "Disabled" and .Boot.BootSourceOverrideTarget == "None"'
check "the boot used the Pxe override (control state)" is "$(curl -s "$B/_emulator/state" | jq -r '.systems[0].boots[-1].override')" Pxe

# ---- ETags -----------------------------------------------------------------
rf GET "$S1" "${AUTH[@]}" >/dev/null
ETAG=$(hdr ETag)
check "ETag header equals @odata.etag" is "$ETAG" "$(body '."@odata.etag"')"
check "If-Match mismatch: 412" is "$(rf PATCH "$S1" "${AUTH[@]}" -H 'If-Match: W/"00000000"' -d '{"AssetTag":"rack7"}')" 412
check "... PreconditionFailed" json_true '.error.code | endswith(".PreconditionFailed")'
check "If-Match current ETag: 200" is "$(rf PATCH "$S1" "${AUTH[@]}" -H "If-Match: $ETAG" -d '{"AssetTag":"rack7"}')" 200
check "ETag changed with the resource" test "$(hdr ETag)" != "$ETAG"
check "old ETag now refused: 412" is "$(rf PATCH "$S1" "${AUTH[@]}" -H "If-Match: $ETAG" -d '{"AssetTag":"rack8"}')" 412
check "If-None-Match current ETag: 304" is "$(rf GET "$S1" "${AUTH[@]}" -H "If-None-Match: $(rf GET "$S1" "${AUTH[@]}" >/dev/null; hdr ETag)")" 304

# ---- sensors, Thermal, Power ------------------------------------------------
SENS=$V1/Chassis/1/Sensors
rf GET "$SENS" "${AUTH[@]}" >/dev/null
check "Sensors collection without \$expand: links only" json_true '(.Members | length) >= 15 and all(.Members[]; keys == ["@odata.id"])'
NSENS=$(body '.Members | length')
rf GET "$SENS?\$expand=." "${AUTH[@]}" >/dev/null
check "Sensors \$expand=. expands every member" json_true "(.Members | length) == $NSENS and all(.Members[]; has(\"Reading\") and has(\"Status\"))"
check "sensor kinds: Temperature Rotational Voltage Power Current" is "$(body '[.Members[].ReadingType] | unique | join(",")')" "Current,Power,Rotational,Temperature,Voltage"
check "thresholds: UpperCaution UpperCritical on temperatures" json_true 'all(.Members[] | select(.ReadingType == "Temperature"); .Thresholds.UpperCaution.Reading < .Thresholds.UpperCritical.Reading)'
check "thresholds: LowerCaution LowerCritical on fans" json_true 'all(.Members[] | select(.ReadingType == "Rotational"); .Thresholds.LowerCaution.Reading > .Thresholds.LowerCritical.Reading)'
check "sensors report Status.Health" json_true 'all(.Members[]; .Status.Health == "OK")'
rf GET "$SENS?\$expand=*(\$levels=1)" "${AUTH[@]}" >/dev/null
check "Sensors \$expand=*(\$levels=1)" json_true "all(.Members[]; has(\"Reading\"))"
check "\$expand with a bad value: 400" is "$(rf GET "$SENS?\$expand=x" "${AUTH[@]}")" 400
rf GET "$V1/Chassis/1/Thermal" "${AUTH[@]}" >/dev/null
check "Thermal: Temperatures[] and Fans[] with readings" json_true '(.Temperatures | length) == 5 and (.Fans | length) == 4 and (.Temperatures[0].ReadingCelsius | type) == "number" and .Fans[0].ReadingUnits == "RPM"'
check "Thermal: thresholds" json_true '.Temperatures[0].UpperThresholdCritical == 95 and .Fans[0].LowerThresholdCritical == 500'
rf GET "$V1/Chassis/1/Power" "${AUTH[@]}" >/dev/null
check "Power: PowerControl[0].PowerConsumedWatts" json_true '(.PowerControl[0].PowerConsumedWatts | type) == "number"'
check "Power: Voltages[] and PowerSupplies[]" json_true '(.Voltages | length) == 5 and (.PowerSupplies | length) == 2 and .PowerSupplies[0].LineInputVoltage == 230'
r=$(curl -s -X POST "$B/_emulator/sensor" -d '{"id":"CPU1Temp","reading":99}' | jq -r '.health[0]')
check "control: set CPU1Temp to 99 -> Critical" is "$r" Critical
rf GET "$SENS/CPU1Temp" "${AUTH[@]}" >/dev/null
check "sensor shows the reading and Health Critical" is "$(body '"\(.Reading) \(.Status.Health)"')" "99 Critical"
check "Thermal agrees" is "$(rf GET "$V1/Chassis/1/Thermal" "${AUTH[@]}" >/dev/null; body '.Temperatures[0].ReadingCelsius')" 99
rf GET "$S1/LogServices/SEL/Entries?\$expand=." "${AUTH[@]}" >/dev/null
check "threshold crossing logged in the SEL" json_true 'any(.Members[]; .MessageId == "SensorEvent.1.0.ReadingAboveUpperCriticalThreshold" and .Severity == "Critical" and .SensorType == "Temperature")'
curl -s -X POST "$B/_emulator/sensor" -d '{"id":"CPU1Temp","reading":null}' >/dev/null

# ---- logs ------------------------------------------------------------------
entries() { rf GET "$1" "${AUTH[@]}" >/dev/null; body '."Members@odata.count"'; }
SEL=$S1/LogServices/SEL/Entries
MLOG=$V1/Managers/1/LogServices/EventLog/Entries
n1=$(entries "$SEL")
m1=$(entries "$MLOG")
grows() { [ "$(entries "$1")" -gt "$2" ]; }
eventually 3 "SEL entries grow over time (--log-interval)" grows "$SEL" "$n1"
eventually 3 "BMC EventLog entries grow over time" grows "$MLOG" "$m1"
rf GET "$SEL/1" "${AUTH[@]}" >/dev/null
check "log entry: Id Created Severity Message MessageId" json_true '.Id == "1" and (.Created | test("^[0-9]{4}-")) and (.Severity | IN("OK","Warning","Critical")) and (.Message | length > 0) and (.MessageId | length > 0)'
r=$(curl -s -X POST "$B/_emulator/log" -d '{"message":"selftest entry","severity":"Warning","sensor_type":"Memory"}' | jq -r .entry)
rf GET "$B$r" "${AUTH[@]}" >/dev/null
check "control: POST /_emulator/log adds an entry" is "$(body '"\(.Message)/\(.Severity)/\(.SensorType)"')" "selftest entry/Warning/Memory"
check "LogService.ClearLog" is "$(rf POST "$S1/LogServices/SEL/Actions/LogService.ClearLog" "${AUTH[@]}" -d '{}')" 204
rf GET "$SEL?\$top=1" "${AUTH[@]}" >/dev/null
check "\$top pages with Members@odata.nextLink" json_true '(.Members | length) <= 1'

# ---- events ----------------------------------------------------------------
LPORT=$(free_port)
cat >"$DIR/listener.py" <<'PYEOF'
import http.server, sys
out = sys.argv[2]
class H(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        data = self.rfile.read(n)
        with open(out, "ab") as fh:
            fh.write(data.replace(b"\n", b" ") + b"\n")
        self.send_response(204)
        self.end_headers()
    def log_message(self, *args):
        pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
PYEOF
python3 "$DIR/listener.py" "$LPORT" "$DIR/events.jsonl" >"$DIR/listener.log" 2>&1 &
LPID=$!
PIDS+=("$LPID")
SUBS=$V1/EventService/Subscriptions
code=$(rf POST "$SUBS" "${AUTH[@]}" "${JSON[@]}" -d "{\"Destination\":\"http://127.0.0.1:$LPORT/redfish-events\",\"Protocol\":\"Redfish\",\"EventTypes\":[\"StatusChange\"],\"Context\":\"selftest\"}")
SUBLOC=$(hdr Location)
check "subscription POST: 201 with Location" is "$code/${SUBLOC:0:39}" "201//redfish/v1/EventService/Subscriptions/"
check "subscription to a non-loopback destination: 400" is "$(rf POST "$SUBS" "${AUTH[@]}" -d '{"Destination":"http://192.0.2.1/events","Protocol":"Redfish"}')" 400
check "subscription to localhost by name: 400 (127.0.0.1 only)" is "$(rf POST "$SUBS" "${AUTH[@]}" -d '{"Destination":"http://localhost:1/x","Protocol":"Redfish"}')" 400
check "subscription with a bad EventType: 400" is "$(rf POST "$SUBS" "${AUTH[@]}" -d "{\"Destination\":\"http://127.0.0.1:$LPORT/\",\"Protocol\":\"Redfish\",\"EventTypes\":[\"Nope\"]}")" 400
rf POST "$V1/Systems/2/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"ForceOff"}' >/dev/null
got_event() {
    [ -s "$DIR/events.jsonl" ] && jq -se 'any(.[]; .Context == "selftest" and .Events[0].MessageId == "ResourceEvent.1.3.ResourcePoweredOff" and .Events[0].OriginOfCondition["@odata.id"] == "/redfish/v1/Systems/2")' "$DIR/events.jsonl" >/dev/null 2>&1
}
eventually 5 "listener received the power-off event (Event with Events[])" got_event
only_status_change() {
    jq -se 'all(.[]; all(.Events[]; .EventType == "StatusChange"))' "$DIR/events.jsonl" >/dev/null
}
check "only subscribed EventTypes delivered" only_status_change
check "subscription DELETE: 204" is "$(rf DELETE "$B$SUBLOC" "${AUTH[@]}")" 204
check "deleted subscription: 404" is "$(rf GET "$B$SUBLOC" "${AUTH[@]}")" 404
stop_emu "$LPID"

# ---- faults ----------------------------------------------------------------
fault() { curl -s -o /dev/null -w '%{http_code}' -X POST "$B/_emulator/faults" -d "$1"; }
check "control: set a fault" is "$(fault '{"latency_ms":400}')" 200
t=$(curl -s -o /dev/null -w '%{time_total}' "${AUTH[@]}" "$V1/Systems")
check "latency fault delays answers (${t}s)" python3 -c "import sys; sys.exit(float('$t') < 0.39)"
fault '{"clear":true,"error_rate":1,"status":503}' >/dev/null
check "error fault: 503" is "$(rf GET "$V1/Systems" "${AUTH[@]}")" 503
check "... with a Redfish error body and Retry-After" json_true '.error.code | endswith(".ServiceTemporarilyUnavailable")'
fault '{"clear":true,"fail_next":1,"status":500}' >/dev/null
check "fail_next: next request 500, then OK" is "$(rf GET "$V1/Systems" "${AUTH[@]}") $(rf GET "$V1/Systems" "${AUTH[@]}")" "500 200"
fault '{"clear":true,"malformed_json":true}' >/dev/null
rf GET "$V1/Systems" "${AUTH[@]}" >/dev/null
check "malformed_json: body is not JSON" bash -c "! jq . '$DIR/body' >/dev/null 2>&1"
fault '{"clear":true,"drop_connection":true}' >/dev/null
curl -s -m 5 "${AUTH[@]}" "$V1/Systems" >/dev/null 2>&1
rc=$?
check "drop_connection: no reply (curl exit $rc)" test "$rc" = 52 -o "$rc" = 56
fault '{"clear":true,"exhaust_sessions":true}' >/dev/null
login admin password
check "exhaust_sessions: login 503 SessionLimitExceeded" is "$CODE/$(body '.error["@Message.ExtendedInfo"][0].MessageId' | sed 's/.*\.//')" 503/SessionLimitExceeded
check "exhaust_sessions: Basic still works" is "$(rf GET "$V1/Systems" "${AUTH[@]}")" 200
fault '{"clear":true,"error_rate":1,"path_prefix":"/redfish/v1/Chassis"}' >/dev/null
check "path_prefix limits faults to a subtree" is "$(rf GET "$V1/Chassis/1" "${AUTH[@]}") $(rf GET "$V1/Systems/1" "${AUTH[@]}")" "503 200"
fault '{"clear":true,"graceful_ignored":true}' >/dev/null
rf POST "$V1/Systems/2/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"On"}' >/dev/null
sleep 1.3
rf POST "$V1/Systems/2/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"GracefulShutdown"}' >/dev/null
sleep 1.3
check "graceful_ignored: GracefulShutdown accepted, system stays On" is "$(power "$V1/Systems/2")" On
check "control: unknown fault refused" is "$(fault '{"nonsense":1}')" 400
check "control: DELETE faults clears them" is "$(curl -s -X DELETE "$B/_emulator/faults" | jq -r '.error_rate')" 0
code=$(curl -s -o /dev/null -w '%{http_code}' -X POST "$V1/Systems" "${AUTH[@]}" --data-binary @<(head -c 1100000 /dev/zero | tr '\0' 'x'))
check "oversized body: 413" is "$code" 413
check "PUT: 405" is "$(rf PUT "$S1" "${AUTH[@]}" -d '{}')" 405
check "unknown resource: 404 ResourceNotFound" is "$(rf GET "$V1/Nowhere" "${AUTH[@]}")/$(body .error.code | sed 's/.*\.//')" 404/ResourceNotFound
printf 'GARBAGE\r\n\r\n' | python3 -c "
import socket, sys
s = socket.create_connection(('127.0.0.1', int(sys.argv[1])), timeout=5)
s.sendall(sys.stdin.buffer.read()); s.recv(4096); s.close()" "${B##*:}" 2>/dev/null
check "still answering after a garbage request line" is "$(rf GET "$V1/" )" 200
check "paths are matched case- and slash-insensitively" is "$(rf GET "$B/redfish/v1/systems/1/" "${AUTH[@]}")/$(body .Id)" 200/1
curl -s "$B/_emulator/state" >"$DIR/body"
check "control state: request counts per path" json_true '.requests["/redfish/v1/Systems"].GET >= 5 and .requests_total > 50'
check "control state: power and sessions" json_true '(.systems | length) == 2 and .systems[0].power_state == "On" and (.session_count | type) == "number"'
curl -s -X POST "$B/_emulator/reset" >/dev/null
curl -s "$B/_emulator/state" >"$DIR/body"
check "control reset: start-up state again" json_true '.systems[1].power_state == "On" and .session_count == 0 and (.events.subscriptions | length) == 0'
stop_emu "$EPID"

# ---- BIOS settings, storage volumes, firmware updates, tasks ---------------
# task_wait MONITOR [SECONDS]: poll a task monitor (Basic auth) until it
# stops answering 202; the final status in CODE, the TaskStates seen in
# STATES (comma list), the last body in $DIR/body.
task_wait() {
    local mon=$1 limit=${2:-10} t st
    STATES=''
    for ((t = 0; t < limit * 20; t++)); do
        CODE=$(rf GET "$B$mon" "${AUTH[@]}")
        [ "$CODE" = 202 ] || return 0
        st=$(body .TaskState)
        case ",$STATES," in *",$st,"*) ;; *) STATES=$STATES${STATES:+,}$st ;; esac
        sleep 0.05
    done
    return 1
}
# monitor: the Location header of the last answer.
monitor() { hdr Location; }

if start_emu ops --power-delay 0.3 --task-step-ms 100; then
    B=$URL
    V1=$B/redfish/v1
    S1=$V1/Systems/1
    ctl() { curl -s -o /dev/null -w '%{http_code}' -X POST "$B/_emulator/$1" -d "$2"; }

    # -- BIOS: found by following links
    rf GET "$S1" "${AUTH[@]}" >/dev/null
    BIOS=$(body '.Bios["@odata.id"]')
    check "system links its Bios" is "$BIOS" /redfish/v1/Systems/1/Bios
    rf GET "$B$BIOS" "${AUTH[@]}" >/dev/null
    check "Bios: type, Attributes, @Redfish.Settings" json_true '."@odata.type" == "#Bios.v1_2_0.Bios" and .Attributes.ProcTurboMode == "Enabled" and ."@Redfish.Settings".SupportedApplyTimes == ["Immediate","OnReset"] and (."@Redfish.Settings".Messages | length) == 0'
    SETTINGS=$(body '."@Redfish.Settings".SettingsObject["@odata.id"]')
    REG=$(body .AttributeRegistry)
    # The apply's ETag, not its Time: Time has whole seconds, and an apply
    # within the emulator's first second would look like none.
    APPLY0=$(body '."@Redfish.Settings".ETag | @json') # a jq string literal
    check "Bios names its AttributeRegistry" is "$REG" BiosAttributeRegistryUL1000.v1_0_0
    rf GET "$V1/" >/dev/null
    regs=$(body '.Registries["@odata.id"]')
    rf GET "$B$regs" "${AUTH[@]}" >/dev/null
    check "Registries lists Base and the BIOS registry" json_true "[.Members[][\"@odata.id\"] | split(\"/\") | last] | index(\"$REG\") != null and index(\"Base.1.16.0\") != null"
    rf GET "$B$regs/$REG" "${AUTH[@]}" >/dev/null
    check "registry file names the registry" is "$(body .Registry)" "$REG"
    reguri=$(body '.Location[] | select(.Language == "en") | .Uri')
    rf GET "$B$reguri" "${AUTH[@]}" >/dev/null
    check "AttributeRegistry reachable from the file" json_true '."@odata.type" == "#AttributeRegistry.v1_3_0.AttributeRegistry" and (.RegistryEntries.Attributes | length) >= 12'
    check "registry: enumeration, integer bounds, string length, read-only" json_true '(.RegistryEntries.Attributes | map({(.AttributeName): .}) | add) as $a | ([$a.ProcTurboMode.Value[].ValueName] == ["Enabled","Disabled"]) and $a.ProcCoreDisable.UpperBound == 32 and $a.AdminPhone.MaxLength == 32 and $a.SystemServiceTag.ReadOnly == true and $a.SecureBoot.Type == "Boolean"'

    # -- BIOS: invalid values rejected, each named
    code=$(rf PATCH "$B$SETTINGS" "${AUTH[@]}" "${JSON[@]}" -d '{"Attributes":{"ProcTurboMode":"Maybe","ProcCoreDisable":99,"Bogus":1,"SystemServiceTag":"x","SecureBoot":"yes","AdminPhone":"0123456789012345678901234567890123"}}')
    check "BIOS PATCH with bad values: 400" is "$code" 400
    check "... one message per bad attribute" is "$(body '[.error["@Message.ExtendedInfo"][].MessageId | sub("^Base\\.1\\.[0-9]+\\."; "")] | sort | join(",")')" \
        "PropertyNotWritable,PropertyUnknown,PropertyValueNotInList,PropertyValueOutOfRange,PropertyValueOutOfRange,PropertyValueTypeError"
    check "... RelatedProperties name each attribute" is "$(body '[.error["@Message.ExtendedInfo"][].RelatedProperties[0]] | sort | join(",")')" \
        "#/Attributes/AdminPhone,#/Attributes/Bogus,#/Attributes/ProcCoreDisable,#/Attributes/ProcTurboMode,#/Attributes/SecureBoot,#/Attributes/SystemServiceTag"
    check "... the message names attribute and value" json_true 'any(.error["@Message.ExtendedInfo"][]; .Message | test("Maybe") and test("ProcTurboMode"))'
    check "bad apply time: 400 PropertyValueNotInList" is "$(rf PATCH "$B$SETTINGS" "${AUTH[@]}" -d '{"Attributes":{"ProcTurboMode":"Disabled"},"@Redfish.SettingsApplyTime":{"ApplyTime":"AtMaintenanceWindowStart"}}')/$(body '.error.code | sub(".*\\."; "")')" 400/PropertyValueNotInList
    check "nothing staged by rejected PATCHes" get_true "$B$SETTINGS" '.Attributes == {}'

    # -- BIOS: staged OnReset, applied by a reset
    ETAG=$(hdr ETag)
    check "If-Match mismatch on Bios/Settings: 412" is "$(rf PATCH "$B$SETTINGS" "${AUTH[@]}" -H 'If-Match: W/"0"' -d '{"Attributes":{"ProcTurboMode":"Disabled"}}')" 412
    code=$(rf PATCH "$B$SETTINGS" "${AUTH[@]}" "${JSON[@]}" -H "If-Match: $ETAG" -d '{"Attributes":{"ProcTurboMode":"Disabled","ProcCoreDisable":4,"AdminPhone":"+1 555 0100"}}')
    check "BIOS PATCH valid (If-Match current): 200" is "$code" 200
    check "Settings: the pending attributes and ApplyTime OnReset" get_true "$B$SETTINGS" '.Attributes == {"ProcTurboMode":"Disabled","ProcCoreDisable":4,"AdminPhone":"+1 555 0100"} and ."@Redfish.SettingsApplyTime".ApplyTime == "OnReset"'
    check "Bios: current values unchanged before the reset" get_true "$B$BIOS" '.Attributes.ProcTurboMode == "Enabled"'
    rf POST "$S1/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"ForceRestart"}' >/dev/null
    eventually 3 "reset: pending BIOS settings applied" get_true "$B$BIOS" \
        ".Attributes.ProcTurboMode == \"Disabled\" and .Attributes.ProcCoreDisable == 4 and .\"@Redfish.Settings\".ETag != $APPLY0"
    check "... and no longer pending" get_true "$B$SETTINGS" '.Attributes == {} and (has("@Redfish.SettingsApplyTime") | not)'
    code=$(rf PATCH "$B$SETTINGS" "${AUTH[@]}" -d '{"Attributes":{"PowerProfile":"MaxPerf"},"@Redfish.SettingsApplyTime":{"ApplyTime":"Immediate"}}')
    check "BIOS PATCH Immediate: 200, applied at once" get_true "$B$BIOS" '.Attributes.PowerProfile == "MaxPerf"'

    # -- BIOS: values refused at apply time (bios_reject)
    check "control: bios_reject fault" is "$(ctl faults '{"bios_reject":["ProcTurboMode"]}')" 200
    rf PATCH "$B$SETTINGS" "${AUTH[@]}" -d '{"Attributes":{"ProcTurboMode":"Enabled","SriovGlobalEnable":"Enabled"}}' >/dev/null
    rf POST "$S1/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"PowerCycle"}' >/dev/null
    eventually 3 "bios_reject: the other attribute applied" get_true "$B$BIOS" '.Attributes.SriovGlobalEnable == "Enabled"'
    check "bios_reject: ProcTurboMode not applied" is "$(body .Attributes.ProcTurboMode)" Disabled
    check "bios_reject: one Warning message naming it" json_true '."@Redfish.Settings".Messages | length == 1 and .[0].Severity == "Warning" and .[0].RelatedProperties == ["#/Attributes/ProcTurboMode"] and (.[0].Message | test("ProcTurboMode=Enabled"))'
    check "bios_reject: dropped from pending" get_true "$B$SETTINGS" '.Attributes == {}'
    ctl faults '{"clear":true}' >/dev/null
    check "Bios.ResetBios stages the defaults" is "$(rf POST "$B$BIOS/Actions/Bios.ResetBios" "${AUTH[@]}" -d '{}')/$(rf GET "$B$SETTINGS" "${AUTH[@]}" >/dev/null; body '.Attributes.ProcTurboMode')" 204/Enabled
    check "control state: bios section" is "$(curl -s "$B/_emulator/state" | jq -r '.bios["1"] | "\(.current.SriovGlobalEnable) \(.pending.PowerProfile) \(.last_apply.messages | length)"')" "Enabled Balanced 1"

    # -- storage
    ST=$S1/Storage/1
    rf GET "$ST" "${AUTH[@]}" >/dev/null
    check "Storage: controller with RAID types, 6 drives, Volumes link" json_true '.StorageControllers[0].SupportedRAIDTypes == ["RAID0","RAID1","RAID5","RAID6","RAID10"] and (.Drives | length) == 6 and .Volumes["@odata.id"] == "/redfish/v1/Systems/1/Storage/1/Volumes"'
    check "drives: 2 SSD of 480 GB, 4 HDD of 1.92 TB" is "$(for i in 0 1 2 3 4 5; do rf GET "$ST/Drives/$i" "${AUTH[@]}" >/dev/null; body '"\(.MediaType):\(.CapacityBytes)"'; done | sort | uniq -c | awk '{print $1 "x" $2}' | paste -sd' ')" \
        "4xHDD:1920383410176 2xSSD:480103981056"
    check "drive 0 is in volume 1" get_true "$ST/Drives/0" '.Links.Volumes == [{"@odata.id":"/redfish/v1/Systems/1/Storage/1/Volumes/1"}]'
    rf GET "$ST/Volumes" "${AUTH[@]}" >/dev/null
    caps=$(body '."@Redfish.CollectionCapabilities".Capabilities[0].CapabilitiesObject["@odata.id"]')
    check "Volumes: one volume, CollectionCapabilities" is "$(body '."Members@odata.count"')/$caps" "1/${ST#"$B"}/Volumes/Capabilities"
    check "Capabilities: RAIDType allowable values, required Name" get_true "$B$caps" '."RAIDType@Redfish.AllowableValues" | length == 5'
    check "volume 1: RAID1 os over drives 0 and 1" get_true "$ST/Volumes/1" '.Name == "os" and .RAIDType == "RAID1" and .CapacityBytes == 480103981056 and (.Links.Drives | length) == 2'
    d() { printf '{"@odata.id":"/redfish/v1/Systems/1/Storage/1/Drives/%s"}' "$1"; }
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" "${JSON[@]}" -d "{\"Name\":\"data\",\"RAIDType\":\"RAID5\",\"Links\":{\"Drives\":[$(d 2),$(d 3),$(d 4)]}}")
    VOL=$(hdr Location)
    check "create RAID5 over drives 2-4: 201 + Location" is "$code/$VOL" "201/${ST#"$B"}/Volumes/2"
    check "... capacity (n-1) x the drive size" json_true '.CapacityBytes == 3840766820352 and .RAIDType == "RAID5"'
    check "... drives link the volume" get_true "$ST/Drives/3" ".Links.Volumes == [{\"@odata.id\":\"$VOL\"}]"
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d "{\"Name\":\"x\",\"RAIDType\":\"RAID6\",\"Links\":{\"Drives\":[$(d 5)]}}")
    check "RAID6 with 1 drive: 400 saying why" is "$code/$(body '.error["@Message.ExtendedInfo"][0].Message | test("RAID6 needs at least 4 drives; 1 given")')" 400/true
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d "{\"Name\":\"x\",\"RAIDType\":\"RAID1\",\"Links\":{\"Drives\":[$(d 5)]}}")
    check "RAID1 with 1 drive: 400" is "$code/$(body '.error["@Message.ExtendedInfo"][0].RelatedProperties[0]')" "400/#/Links/Drives"
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d "{\"Name\":\"x\",\"RAIDType\":\"RAID7\",\"Links\":{\"Drives\":[$(d 5)]}}")
    check "bad RAIDType: 400 PropertyValueNotInList" is "$code/$(body '.error.code | sub(".*\\."; "")')" 400/PropertyValueNotInList
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d "{\"Name\":\"x\",\"RAIDType\":\"RAID0\",\"Links\":{\"Drives\":[$(d 4)]}}")
    check "drive already in a volume: 400" is "$code/$(body '.error["@Message.ExtendedInfo"][0].Message | test("already belongs to volume 2")')" 400/true
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d '{"Name":"x","RAIDType":"RAID0","CapacityBytes":99999999999999}')
    check "capacity no drives can hold: 400" is "$code" 400
    check "missing Name: 400" is "$(rf POST "$ST/Volumes" "${AUTH[@]}" -d "{\"RAIDType\":\"RAID0\",\"Links\":{\"Drives\":[$(d 5)]}}")" 400
    check "delete volume: 204" is "$(rf DELETE "$B$VOL" "${AUTH[@]}")" 204
    check "... gone (404), drives free" is "$(rf GET "$B$VOL" "${AUTH[@]}")/$(rf GET "$ST/Drives/3" "${AUTH[@]}" >/dev/null; body '.Links.Volumes | length')" 404/0
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d '{"Name":"auto","RAIDType":"RAID1","CapacityBytes":1000000000000}')
    check "drives chosen for a capacity (RAID1: 2 HDD)" is "$code/$(body '[.Links.Drives[]["@odata.id"] | split("/") | last] | join(",")')" 201/2,3
    check "control: drive 1 Critical" is "$(ctl drive '{"system":"1","drive":"1","health":"Critical"}')" 200
    check "... drive health, degraded mirror, storage rollup" is "$(rf GET "$ST/Drives/1" "${AUTH[@]}" >/dev/null; body .Status.Health)/$(rf GET "$ST/Volumes/1" "${AUTH[@]}" >/dev/null; body .Status.Health)/$(rf GET "$ST" "${AUTH[@]}" >/dev/null; body .Status.HealthRollup)" Critical/Warning/Critical
    ctl faults '{"volume_task":true}' >/dev/null
    code=$(rf POST "$ST/Volumes" "${AUTH[@]}" -d "{\"Name\":\"slow\",\"RAIDType\":\"RAID1\",\"Links\":{\"Drives\":[$(d 4),$(d 5)]}}")
    MON=$(monitor)
    check "volume_task: POST answers 202 + a task monitor" is "$code/${MON%/*}/$(body .TaskState)" 202//redfish/v1/TaskService/TaskMonitors/New
    check "... volume not there yet" get_true "$ST/Volumes" '."Members@odata.count" == 2'
    task_wait "$MON"
    check "... task completes (200), volume created" is "$CODE/$(rf GET "$ST/Volumes" "${AUTH[@]}" >/dev/null; body '."Members@odata.count"')" 200/3
    code=$(rf DELETE "$ST/Volumes/4" "${AUTH[@]}")
    MON=$(monitor)
    task_wait "$MON"
    check "volume_task: DELETE 202, then gone" is "$code/$CODE/$(rf GET "$ST/Volumes/4" "${AUTH[@]}")" 202/200/404
    ctl faults '{"clear":true}' >/dev/null

    # -- firmware updates
    FW=$V1/UpdateService/FirmwareInventory
    SU=$V1/UpdateService/Actions/UpdateService.SimpleUpdate
    rf GET "$V1/UpdateService" "${AUTH[@]}" >/dev/null
    check "UpdateService: SimpleUpdate, MultipartHttpPushUri" json_true '.Actions["#UpdateService.SimpleUpdate"]["TransferProtocol@Redfish.AllowableValues"] == ["HTTP","HTTPS"] and .MultipartHttpPushUri == "/redfish/v1/UpdateService/update-multipart" and .ServiceEnabled'
    MPU=$B$(body .MultipartHttpPushUri)
    rf GET "$FW?\$expand=." "${AUTH[@]}" >/dev/null
    check "FirmwareInventory: BMC, BIOS, RAID, NIC" is "$(body '[.Members[].Id] | sort | join(",")')" BIOS_1,BMC_1,NIC_1,RAID_1
    mkdir -p "$DIR/fw"
    printf 'UNDERLAY-FIRMWARE component=BIOS_1 version="U46 v2.11"\n\001\002binary' >"$DIR/fw/bios.bin"
    printf 'UNDERLAY-FIRMWARE component=BMC version=1.50.0\n' >"$DIR/fw/bmc.bin"
    head -c 200000 /dev/zero >>"$DIR/fw/bmc.bin"
    printf 'UNDERLAY-FIRMWARE component=RAID_1 version=52.0.1\n' >"$DIR/fw/raid.bin"
    printf 'UNDERLAY-FIRMWARE component=NIC version=23.0.0\n' >"$DIR/fw/nic.bin"
    printf 'just some bytes\n' >"$DIR/fw/noheader.bin"
    HPORT=$(free_port)
    python3 -m http.server --bind 127.0.0.1 --directory "$DIR/fw" "$HPORT" >"$DIR/http.log" 2>&1 &
    HPID=$!
    PIDS+=("$HPID")
    http_up() { curl -s -o /dev/null -m 2 "http://127.0.0.1:$HPORT/bios.bin"; }
    eventually 5 "local image server (http.server) answers" http_up
    IMG=http://127.0.0.1:$HPORT

    code=$(rf POST "$SU" "${AUTH[@]}" "${JSON[@]}" -d "{\"ImageURI\":\"$IMG/bios.bin\",\"TransferProtocol\":\"HTTP\"}")
    MON=$(monitor)
    check "SimpleUpdate: 202, Location a task monitor, body a Task" is "$code/${MON%/*}/$(body '."@odata.type"')" "202//redfish/v1/TaskService/TaskMonitors/#Task.v1_4_3.Task"
    TASK=$(body '."@odata.id"')
    task_wait "$MON"
    check "... monitor: 202 while running, then 200 (states $STATES)" is "$CODE/$(body '.["@Message.ExtendedInfo"][0].MessageId | sub(".*\\."; "")')" 200/Success
    check "... states went through Running" test "${STATES#*Running}" != "$STATES"
    check "... Task Completed 100 with EndTime" get_true "$B$TASK" '.TaskState == "Completed" and .TaskStatus == "OK" and .PercentComplete == 100 and (.EndTime | length) > 0 and (.Messages[-1].Message | test("BIOS_1"))'
    check "... BIOS_1 version changed (and the system's BiosVersion)" is "$(rf GET "$FW/BIOS_1" "${AUTH[@]}" >/dev/null; body .Version)/$(rf GET "$S1" "${AUTH[@]}" >/dev/null; body .BiosVersion)" "U46 v2.11/U46 v2.11"
    check "Tasks collection lists the task" get_true "$V1/TaskService/Tasks" ".Members | any(.[\"@odata.id\"] == \"$TASK\")"

    code=$(rf POST "$MPU" "${AUTH[@]}" -F 'UpdateParameters={"Targets":["/redfish/v1/UpdateService/FirmwareInventory/BMC_1"],"@Redfish.OperationApplyTime":"Immediate"};type=application/json' -F "UpdateFile=@$DIR/fw/bmc.bin")
    MON=$(monitor)
    task_wait "$MON"
    check "multipart push: 202, task completes" is "$code/$CODE" 202/200
    check "... BMC_1 and the manager's FirmwareVersion changed" is "$(rf GET "$FW/BMC_1" "${AUTH[@]}" >/dev/null; body .Version)/$(rf GET "$V1/Managers/1" "${AUTH[@]}" >/dev/null; body .FirmwareVersion)" 1.50.0/1.50.0
    check "multipart push without UpdateFile: 400" is "$(rf POST "$MPU" "${AUTH[@]}" -F 'UpdateParameters={};type=application/json')/$(body '.error.code | sub(".*\\."; "")')" 400/MissingOrMalformedPart
    check "multipart push that is not multipart: 415" is "$(rf POST "$MPU" "${AUTH[@]}" "${JSON[@]}" -d '{}')" 415

    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/noheader.bin\"}" >/dev/null
    task_wait "$(monitor)"
    check "image without header: task Exception, monitor 4xx with the reason" is "$CODE/$(body .error.message)" "400/image verification failed: no UNDERLAY-FIRMWARE header"
    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/bios.bin\",\"Targets\":[\"/redfish/v1/UpdateService/FirmwareInventory/BMC_1\"]}" >/dev/null
    task_wait "$(monitor)"
    check "image for a component outside Targets: Exception" json_true '.error.message | test("not among the Targets")'
    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/missing.bin\"}" >/dev/null
    task_wait "$(monitor)"
    check "image URI answering 404: Exception (transfer failed)" json_true '.error.message | test("image transfer failed.*404")'
    check "SimpleUpdate from another host: 400" is "$(rf POST "$SU" "${AUTH[@]}" -d '{"ImageURI":"http://192.0.2.1/x.bin"}')/$(body '.error.code | sub(".*\\."; "")')" 400/ActionParameterValueFormatError
    check "SimpleUpdate without ImageURI: 400 ActionParameterMissing" is "$(rf POST "$SU" "${AUTH[@]}" -d '{}')/$(body '.error.code | sub(".*\\."; "")')" 400/ActionParameterMissing
    check "SimpleUpdate with an unknown parameter: 400" is "$(rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/bios.bin\",\"Force\":true}")/$(body '.error.code | sub(".*\\."; "")')" 400/ActionParameterUnknown

    ctl faults '{"task_fail":"flash write error at block 7"}' >/dev/null
    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/raid.bin\"}" >/dev/null
    MON=$(monitor) TASK=$(body '."@odata.id"')
    task_wait "$MON"
    check "task_fail: monitor 500 with the text" is "$CODE/$(body '.error.message | test("flash write error at block 7")')" 500/true
    check "task_fail: Task Exception, Critical, message kept" get_true "$B$TASK" '.TaskState == "Exception" and .TaskStatus == "Critical" and (.Messages[-1].Message | test("flash write error"))'
    check "task_fail: version unchanged" get_true "$FW/RAID_1" '.Version != "52.0.1"'
    ctl faults '{"clear":true,"task_stall":40}' >/dev/null
    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/nic.bin\"}" >/dev/null
    MON=$(monitor) TASK=$(body '."@odata.id"')
    sleep 1.2
    check "task_stall 40: still Running at 40" get_true "$B$TASK" '.TaskState == "Running" and .PercentComplete == 40'
    check "... monitor still 202 with Retry-After" is "$(rf GET "$B$MON" "${AUTH[@]}")/$(hdr Retry-After)" 202/1
    check "DELETE of a running task: 204" is "$(rf DELETE "$B$TASK" "${AUTH[@]}")" 204
    check "... Killed, version unchanged" is "$(rf GET "$B$TASK" "${AUTH[@]}" >/dev/null; body .TaskState)/$(rf GET "$FW/NIC_1" "${AUTH[@]}" >/dev/null; body .Version)" Killed/22.31.6
    ctl faults '{"clear":true}' >/dev/null

    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/nic.bin\",\"@Redfish.OperationApplyTime\":\"OnReset\"}" >/dev/null
    MON=$(monitor) TASK=$(body '."@odata.id"')
    pending() { get_true "$B$TASK" '.TaskState == "Pending"'; }
    eventually 3 "OnReset: task staged, TaskState Pending" pending
    check "... message says it applies at the next reset" json_true '.Messages[-1].Message | test("applies at the next system reset")'
    check "... monitor 202, version unchanged" is "$(rf GET "$B$MON" "${AUTH[@]}")/$(rf GET "$FW/NIC_1" "${AUTH[@]}" >/dev/null; body .Version)" 202/22.31.6
    rf POST "$S1/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"GracefulRestart"}' >/dev/null
    task_wait "$MON"
    check "... after a reset: Completed, version changed" is "$CODE/$(rf GET "$B$TASK" "${AUTH[@]}" >/dev/null; body .TaskState)/$(rf GET "$FW/NIC_1" "${AUTH[@]}" >/dev/null; body .Version)" 200/Completed/23.0.0
    stop_emu "$HPID"
    rf POST "$SU" "${AUTH[@]}" -d "{\"ImageURI\":\"$IMG/bios.bin\"}" >/dev/null
    task_wait "$(monitor)"
    check "image server gone: Exception naming the failure" json_true '.error.message | test("image transfer failed: cannot reach")'
    curl -s "$B/_emulator/state" >"$DIR/body"
    check "control state: firmware, tasks, storage" json_true '.firmware.NIC_1 == "23.0.0" and (.tasks | length) >= 10 and (.tasks | all(has("id") and has("state") and has("percent"))) and (.storage["1"].volumes | length) == 2'
    stop_emu "$EPID"
else
    fail "start the BIOS/storage/update instance"
fi

# ---- variants ----------------------------------------------------------------
if start_emu nosess --no-session-service --action-info --no-expand --power-delay 0 \
    --no-bios --no-storage; then
    rf GET "$URL/redfish/v1/" >/dev/null
    check "--no-session-service: no SessionService link" json_true '(has("SessionService") | not) and (.Links.Sessions == null)'
    check "--no-session-service: Basic works" is "$(rf GET "$URL/redfish/v1/Systems/1" "${AUTH[@]}")" 200
    check "--action-info: Reset names an ActionInfo" json_true '.Actions["#ComputerSystem.Reset"]["@Redfish.ActionInfo"] == "/redfish/v1/Systems/1/ResetActionInfo"'
    rf GET "$URL/redfish/v1/Systems/1/ResetActionInfo" "${AUTH[@]}" >/dev/null
    check "--action-info: AllowableValues in the ActionInfo" json_true '.Parameters[0].Name == "ResetType" and (.Parameters[0].AllowableValues | index("GracefulShutdown") != null)'
    check "--action-info: value outside it refused" is "$(rf POST "$URL/redfish/v1/Systems/1/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"PushPowerButton"}')" 400
    check "--power-delay 0: Reset takes effect at once" is "$(rf POST "$URL/redfish/v1/Systems/1/Actions/ComputerSystem.Reset" "${AUTH[@]}" -d '{"ResetType":"GracefulShutdown"}')/$(power "$URL/redfish/v1/Systems/1")" 204/Off
    rf GET "$URL/redfish/v1/Chassis/1/Sensors?\$expand=." "${AUTH[@]}" >/dev/null
    check "--no-expand: \$expand ignored" json_true 'all(.Members[]; keys == ["@odata.id"])'
    rf GET "$URL/redfish/v1/Systems/1" "${AUTH[@]}" >/dev/null
    check "--no-bios --no-storage: no Bios or Storage link" json_true '(has("Bios") or has("Storage")) | not'
    check "--no-bios --no-storage: resources absent (404)" is "$(rf GET "$URL/redfish/v1/Systems/1/Bios" "${AUTH[@]}")/$(rf GET "$URL/redfish/v1/Systems/1/Storage" "${AUTH[@]}")" 404/404
    stop_emu "$EPID"
else
    fail "start --no-session-service instance"
fi
if start_emu nobasic --no-basic --session-limit-status 400 --max-sessions 1 --page-size 5 \
    --no-bios-registry --bios-apply-times OnReset; then
    check "--no-basic: Basic refused" is "$(rf GET "$URL/redfish/v1/Systems" "${AUTH[@]}")" 401
    SESS=$URL/redfish/v1/SessionService/Sessions
    login admin password
    T1=$TOKEN
    check "--no-basic: token works" is "$(rf GET "$URL/redfish/v1/Systems" -H "X-Auth-Token: $T1")" 200
    login admin password
    check "--session-limit-status 400" is "$CODE" 400
    rf GET "$URL/redfish/v1/Chassis/1/Sensors" -H "X-Auth-Token: $T1" >/dev/null
    next=$(body '."Members@odata.nextLink"')
    check "--page-size 5: first page and nextLink" json_true '(.Members | length) == 5 and ."Members@odata.count" == 19'
    rf GET "$URL$next" -H "X-Auth-Token: $T1" >/dev/null
    check "--page-size 5: nextLink gives the next page" is "$(body '.Members[0]["@odata.id"]')" /redfish/v1/Chassis/1/Sensors/Fan1
    rf GET "$URL/redfish/v1/Systems/1/Bios" -H "X-Auth-Token: $T1" >/dev/null
    check "--no-bios-registry: Bios without AttributeRegistry" json_true '(has("AttributeRegistry") | not) and .Attributes.BootMode == "Uefi"'
    check "--bios-apply-times OnReset: SupportedApplyTimes" json_true '."@Redfish.Settings".SupportedApplyTimes == ["OnReset"]'
    check "--bios-apply-times OnReset: Immediate refused (400)" is "$(rf PATCH "$URL/redfish/v1/Systems/1/Bios/Settings" -H "X-Auth-Token: $T1" -d '{"Attributes":{"ProcTurboMode":"Disabled"},"@Redfish.SettingsApplyTime":{"ApplyTime":"Immediate"}}')" 400
    check "--no-bios-registry: the BMC still refuses bad values" is "$(rf PATCH "$URL/redfish/v1/Systems/1/Bios/Settings" -H "X-Auth-Token: $T1" -d '{"Attributes":{"ProcTurboMode":"Bogus"}}')/$(body '.error["@Message.ExtendedInfo"][0].RelatedProperties[0]')" "400/#/Attributes/ProcTurboMode"
    rf GET "$URL/redfish/v1/Registries" -H "X-Auth-Token: $T1" >/dev/null
    check "--no-bios-registry: no registry file" json_true '[.Members[]["@odata.id"]] == ["/redfish/v1/Registries/Base.1.16.0"]'
    stop_emu "$EPID"
else
    fail "start --no-basic instance"
fi
if start_emu linkless --systems 2 --login-no-token --no-system-chassis --no-chassis-systems \
    --power-delay 0; then
    SESS=$URL/redfish/v1/SessionService/Sessions
    login admin password
    check "--login-no-token: 201 with Location, no X-Auth-Token" is "$CODE/${LOC:+loc}/${TOKEN:-none}" 201/loc/none
    check "--login-no-token: Basic works" is "$(rf GET "$URL/redfish/v1/Systems/2" "${AUTH[@]}")" 200
    check "--no-system-chassis: no Links.Chassis" json_true '(.Links | has("Chassis") | not) and .Links.ManagedBy != null'
    rf GET "$URL/redfish/v1/Chassis/2" "${AUTH[@]}" >/dev/null
    check "--no-chassis-systems: no Links.ComputerSystems" json_true '(.Links | has("ComputerSystems") | not) and .Id == "2" and .Sensors != null'
    stop_emu "$EPID"
else
    fail "start --login-no-token instance"
fi

# ---- HTTPS -------------------------------------------------------------------
if command -v openssl >/dev/null 2>&1; then
    if openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 \
        -addext subjectAltName=IP:127.0.0.1 -days 2 \
        -keyout "$DIR/key.pem" -out "$DIR/cert.pem" >/dev/null 2>&1 &&
        start_emu https --https --cert "$DIR/cert.pem" --key "$DIR/key.pem"; then
        check "HTTPS: prints an https URL" is "${URL%%:*}" https
        check "HTTPS: service root with --cacert" is "$(rf GET "$URL/redfish/v1/" --cacert "$DIR/cert.pem")" 200
        SESS=$URL/redfish/v1/SessionService/Sessions
        login admin password --cacert "$DIR/cert.pem"
        check "HTTPS: login" is "$CODE" 201
        check "HTTPS: token works" is "$(rf GET "$URL/redfish/v1/Systems" --cacert "$DIR/cert.pem" -H "X-Auth-Token: $TOKEN")" 200
        check "HTTPS: untrusted without --cacert" test "$(curl -s -o /dev/null -w '%{http_code}' "$URL/redfish/v1/")" = 000
        stop_emu "$EPID"
    else
        fail "HTTPS instance"
    fi
else
    skip "HTTPS (openssl missing)"
fi

# ---- emuctl ------------------------------------------------------------------
CTL=$DIR/ctl
CTLDIRS+=("$CTL")
if "$EMUCTL" start 2 auto "$CTL" --systems 1 >"$DIR/emuctl.out" 2>&1; then
    pass "emuctl start 2 instances"
    ok=1
    for i in 0 1; do
        u=$("$EMUCTL" url "$CTL" "$i")
        [ "$(rf GET "$u/redfish/v1/")" = 200 ] || ok=0
    done
    check "emuctl: both instances answer" test "$ok" = 1
    pids=$(awk '{print $3}' "$DIR/emuctl.out")
    check "emuctl stop" "$EMUCTL" stop "$CTL"
    alive=0
    for p in $pids; do
        # a zombie (not yet reaped by init) counts as gone
        st=$(sed 's/^.*) //' "/proc/$p/stat" 2>/dev/null | cut -d' ' -f1)
        [ -n "$st" ] && [ "$st" != Z ] && alive=1
    done
    check "emuctl: recorded PIDs are gone" test "$alive" = 0
else
    fail "emuctl start"
    cat "$DIR/emuctl.out"
fi

# ---- mockups -----------------------------------------------------------------
if [ -d "$MOCKUPS" ]; then
    for m in "$MOCKUPS"/*/; do
        [ -f "$m/index.json" ] || continue
        name=$(basename "$m")
        if ! start_emu "mockup-$name" --mockup "$m" --power-delay 0.3; then
            fail "mockup $name: start"
            continue
        fi
        V=$URL/redfish/v1
        check "mockup $name: service root" is "$(rf GET "$V/")/$(body '.Systems["@odata.id"] != null')" 200/true
        sys_coll=$(body '.Systems["@odata.id"]')
        rf GET "$URL$sys_coll" "${AUTH[@]}" >/dev/null
        check "mockup $name: Systems collection" json_true '(.Members | length) >= 1'
        sp=$(body '.Members[0]["@odata.id"]')
        rf GET "$URL$sp" "${AUTH[@]}" >/dev/null
        state=$(body .PowerState)
        check "mockup $name: $sp PowerState ($state)" test "$state" = On -o "$state" = Off
        target=$(body '.Actions["#ComputerSystem.Reset"].target')
        allowed=$(body '.Actions["#ComputerSystem.Reset"]["ResetType@Redfish.AllowableValues"] // [] | join(" ")')
        info=$(body '.Actions["#ComputerSystem.Reset"]["@Redfish.ActionInfo"] // empty')
        if [ -z "$allowed" ] && [ -n "$info" ]; then
            rf GET "$URL$info" "${AUTH[@]}" >/dev/null
            allowed=$(body '[.Parameters[] | select(.Name == "ResetType") | .AllowableValues[]] | join(" ")')
        fi
        if [ "$state" = On ]; then want=Off; pick=ForceOff; else want=On; pick=On; fi
        case " $allowed " in
        *" $pick "*) ;;
        *) [ "$want" = Off ] && pick=GracefulShutdown ;;
        esac
        code=$(rf POST "$URL$target" "${AUTH[@]}" "${JSON[@]}" -d "{\"ResetType\":\"$pick\"}")
        check "mockup $name: Reset $pick accepted ($code)" test "${code:0:1}" = 2
        eventually 4 "mockup $name: PowerState becomes $want" power_is "$URL$sp" "$want"
        low=$(printf '%s' "$sp" | tr '[:upper:]' '[:lower:]')
        check "mockup $name: lower-case path with trailing slash" is "$(rf GET "$URL${low%/}/" "${AUTH[@]}")" 200
        SESS=$URL$(rf GET "$V/" >/dev/null; body '.Links.Sessions["@odata.id"] // empty')
        if [ "$SESS" != "$URL" ]; then
            login admin password
            check "mockup $name: login" is "$CODE" 201
            check "mockup $name: token works" is "$(rf GET "$URL$sp" -H "X-Auth-Token: $TOKEN")" 200
        fi
        curl -s "$URL/_emulator/state" >"$DIR/body"
        check "mockup $name: no subscription outside 127.0.0.1" json_true 'all(.events.subscriptions[]; .destination | test("^https?://127\\.0\\.0\\.1[:/]"))'
        stop_emu "$EPID"
    done
else
    skip "mockups ($MOCKUPS not present)"
fi

echo "redfish-selftest: $PASSED passed, $FAILED failed, $SKIPPED skipped"
[ "$FAILED" = 0 ]
