#!/usr/bin/env bash
# Redfish driver, read only, against every captured service in the shared
# mockup folder ($TOP_SRCDIR/../shared/redfish-mockups, or $REDFISH_MOCKUPS),
# each served by the project's emulator (--mockup).  Skipped (77) when the
# folder is absent: nothing in the build or the other tests needs it.
#
# What the driver reports is compared with the mockup's own files, read
# here independently of the emulator and of the driver:
#   - power status = the first system's PowerState
#   - boot override read back = its Boot object
#   - sensors: at least the readings its chassis list (exactly the Sensors
#     collection where it has one), one value spelled out; or a clear
#     "not supported" where the chassis have neither Sensors nor
#     Thermal/Power
#   - inventory: the system's SerialNumber; the firmware entries = the
#     FirmwareInventory members (not Absent) where the service has one
#   - the event log reads (or says "not supported")
# A service with several systems is enrolled with the first one's path; a
# service with one system without a path (the driver finds it).
. "$TOP_SRCDIR/tests/lib.sh"

MOCKUPS=${REDFISH_MOCKUPS:-$TOP_SRCDIR/../shared/redfish-mockups}
[ -d "$MOCKUPS" ] || ul_skip "no mockup folder at $MOCKUPS (set REDFISH_MOCKUPS)"
DIRS=()
for d in "$MOCKUPS"/*/; do
    [ -f "$d/index.json" ] && DIRS+=("${d%/}")
done
[ ${#DIRS[@]} -gt 0 ] || ul_skip "no mockups (folders with an index.json) in $MOCKUPS"
. "$TOP_SRCDIR/tests/lib_redfish.sh"

# ---- what each mockup says, from its files ------------------------------------
# One JSON object per mockup: its systems, the first system's power state,
# serial number and boot override, where its chassis keep readings, and its
# firmware inventory, read from the files by mockup_read.py.
cat >"$UL_TMP/expect.py" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from mockup_read import Mockup, link, members, key, absent

m = Mockup(sys.argv[1])
load = m.load

root = load("/redfish/v1/")
systems = members(load(link(root, "Systems")))
out = {"systems": systems}
sysobj = load(systems[0]) if systems else None
if sysobj is not None:
    out["system"] = systems[0]
    out["power_state"] = sysobj.get("PowerState")
    out["serial"] = sysobj.get("SerialNumber")
    boot = sysobj.get("Boot")
    if isinstance(boot, dict) and "BootSourceOverrideTarget" in boot:
        target = boot.get("BootSourceOverrideTarget")
        dev = {"pxe": "pxe", "hdd": "disk", "cd": "cdrom", "biossetup": "bios"}.get(
            str(target).lower(), "none")
        if str(boot.get("BootSourceOverrideEnabled", "")).lower() == "disabled":
            dev = "none"
        out["boot_device"] = dev
    # The system's chassis: Links.Chassis, else the Chassis collection's
    # members that link back to it, else its only member.
    chassis = [c["@odata.id"] for c in (sysobj.get("Links") or {}).get("Chassis", [])
               if isinstance(c, dict) and "@odata.id" in c]
    if not chassis:
        all_chassis = members(load(link(root, "Chassis")))
        chassis = [c for c in all_chassis
                   if any(key(x.get("@odata.id", "")) == key(systems[0])
                          for x in ((load(c) or {}).get("Links") or {}).get("ComputerSystems", [])
                          if isinstance(x, dict))]
        if not chassis and len(all_chassis) == 1:
            chassis = all_chassis
    sources, minimum, exact, sample = 0, 0, True, None
    for c in chassis:
        cobj = load(c) or {}
        sensors = load(link(cobj, "Sensors"))
        thermal, power = load(link(cobj, "Thermal")), load(link(cobj, "Power"))
        if sensors is not None:
            sources += 1
            ms = members(sensors)
            minimum += len(ms)
            for m in ms:
                s = load(m)
                if sample is None and s and isinstance(s.get("Reading"), (int, float)) \
                        and not isinstance(s.get("Reading"), bool) and s.get("Name"):
                    sample = {"name": s["Name"], "value": s["Reading"]}
        elif thermal is not None or power is not None:
            sources += 1
            exact = False
            for res, arrays in ((thermal, ("Temperatures", "Fans")), (power, ("Voltages",))):
                for a in arrays:
                    for e in (res or {}).get(a) or []:
                        if not isinstance(e, dict):
                            continue
                        minimum += 1
                        v = e.get("ReadingCelsius")
                        if sample is None and a == "Temperatures" and e.get("Name") and \
                                isinstance(v, (int, float)) and not isinstance(v, bool):
                            sample = {"name": e["Name"], "value": v}
    out["sensor_sources"] = sources
    out["sensors_min"] = minimum
    out["sensors_exact"] = exact and sources > 0
    out["sensor_sample"] = sample
fw = load(link(load(link(root, "UpdateService")), "FirmwareInventory"))
if fw is not None:
    out["firmware"] = sum(1 for m in members(fw) if not absent(load(m)))
print(json.dumps(out))
PY

# ---- one emulator per mockup ------------------------------------------------------
ul_start -s bmc.timeout=5
URLS=()

check_mockup() { # NAME EXPECT-FILE
    local node=$1 ex
    ex=$(cat "$2")
    local state
    state=$(jq -r '.power_state // "" | ascii_downcase' <<<"$ex")
    case $state in
    on | poweringon | paused) state=on ;;
    off | poweringoff) state=off ;;
    *) state=unknown ;;
    esac
    run_job "$node" power '{"action":"status"}'
    assert_json .state succeeded "$node: power status"
    assert_json .result.power "$state" "$node: power = the mockup's PowerState"

    if jq -e 'has("boot_device")' <<<"$ex" >/dev/null; then
        run_job "$node" boot '{}'
        assert_json .state succeeded "$node: boot read"
        assert_json .result.device "$(jq -r .boot_device <<<"$ex")" "$node: boot override"
    fi

    run_job "$node" sensors '{}'
    if [ "$(jq .sensor_sources <<<"$ex")" -gt 0 ]; then
        assert_json .state succeeded "$node: sensors"
        local n min
        n=$(ul_jq '.result.sensors | length')
        min=$(jq .sensors_min <<<"$ex")
        [ "$n" -gt 0 ] || ul_fail "$node: no sensors"
        [ "$n" -ge "$min" ] || ul_fail "$node: $n sensors, the mockup lists $min"
        if [ "$(jq .sensors_exact <<<"$ex")" = true ]; then
            assert_eq "$n" "$min" "$node: sensors = the Sensors collection's members"
        fi
        if [ "$(jq .sensor_sample <<<"$ex")" != null ]; then
            local name value
            name=$(jq -r .sensor_sample.name <<<"$ex")
            value=$(jq .sensor_sample.value <<<"$ex")
            assert_eq "$(jq --arg n "$name" --argjson v "$value" \
                '[.result.sensors[] | select(.name == $n and .value == $v)] | length > 0' \
                <<<"$UL_BODY")" true "$node: sensor '$name' reads $value"
        fi
    else
        assert_json .state failed "$node: sensors without Sensors, Thermal or Power"
        assert_json .error.code not_supported "$node: sensors error"
        assert_contains "$(ul_jq .error.message)" "not supported by this BMC"
    fi

    run_job "$node" inventory '{}'
    assert_json .state succeeded "$node: inventory"
    assert_json .result.system.serial_number "$(jq -r .serial <<<"$ex")" "$node: serial number"
    if jq -e 'has("firmware")' <<<"$ex" >/dev/null; then
        assert_json '.result.firmware | length' "$(jq .firmware <<<"$ex")" \
            "$node: firmware entries = FirmwareInventory members"
    else
        assert_json '.result.firmware // [] | length' 0 "$node: no firmware inventory"
    fi

    run_job "$node" sel '{}'
    if [ "$(ul_jq .state)" = failed ]; then
        assert_json .error.code not_supported "$node: event log"
    else
        assert_json .state succeeded "$node: event log"
    fi
}

for dir in "${DIRS[@]}"; do
    name=$(basename "$dir")
    name=$(tr -c 'A-Za-z0-9.\n-' - <<<"$name" | cut -c1-48)
    python3 "$UL_TMP/expect.py" "$dir" "$TOP_SRCDIR/tests/integration" >"$UL_TMP/$name.expect" ||
        ul_fail "$name: cannot read the mockup's files"
    nsys=$(jq '.systems | length' "$UL_TMP/$name.expect")
    if [ "$nsys" -eq 0 ] || [ "$(jq -r '.system // ""' "$UL_TMP/$name.expect")" = "" ]; then
        ul_log "$name: no readable ComputerSystem in the mockup; skipped"
        continue
    fi
    url=$(emu_start "$name" --mockup "$dir") || ul_fail "$name: the emulator did not start"
    endpoint=$url
    if [ "$nsys" -gt 1 ]; then
        endpoint=$url$(jq -r .system "$UL_TMP/$name.expect")
    fi
    ul_node_add "$name" "$(jq -cn --arg e "$endpoint" \
        '{endpoint: $e, username: "admin", password: "password"}')"
    ul_log "$name: $endpoint"
    ul_check check_mockup "$name" "$UL_TMP/$name.expect"
    URLS+=("$url")
done

# A clean stop logs out of every service, whatever its session URIs look
# like (iLO 5: trailing slashes).
ul_stop
for url in "${URLS[@]}"; do
    assert_eq "$(curl -sS --max-time 10 "$url/_emulator/state" | jq .session_count)" 0 \
        "$url: sessions after a clean stop"
done
