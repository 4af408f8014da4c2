#!/usr/bin/env bash
# selftest.sh - check the simulator fixtures end to end: start simulated BMCs
# with simctl.sh and drive them with FreeIPMI and ipmitool.
#
#   selftest.sh [BASEPORT [N]]     default: BASEPORT auto (a free block in
#                                  20000-39999, see simctl.sh), N 3
#
# Uses 127.0.0.1 UDP/TCP ports BASEPORT..BASEPORT+N-1 and a temporary
# directory (kept if SIMTEST_KEEP=1).  Prints one line per check; exits 0 if
# all passed, 1 if any failed, 77 if a tool is missing.

# The checks read "[ test ] && pass ... || fail ...": pass never fails.
# shellcheck disable=SC2015,SC2317

set -u
set -o pipefail

HERE=$(cd "$(dirname "$0")" && pwd) || exit 1
SIMCTL=$HERE/simctl.sh
BASEPORT=${1:-auto}
N=${2:-3}

"$SIMCTL" deps || { echo "SKIP: prerequisites missing"; exit 77; }
command -v ipmitool >/dev/null 2>&1 || { echo "SKIP: ipmitool missing"; exit 77; }

DIR=$(mktemp -d "${TMPDIR:-/tmp}/ipmisim-selftest.XXXXXX") || exit 1
cleanup() {
    "$SIMCTL" stop "$DIR"
    if [ "${SIMTEST_KEEP:-0}" = 1 ]; then
        echo "kept $DIR"
    else
        rm -rf "$DIR"
    fi
}
trap cleanup EXIT

FAILED=0
pass() { printf 'PASS: %s\n' "$*"; }
fail() { printf 'FAIL: %s\n' "$*"; FAILED=1; }
# check DESCRIPTION COMMAND...: the command must succeed.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

FI=(-D LAN_2_0 -I 3 -W opensesspriv -u admin -p password -l ADMIN)
CACHE=(--sdr-cache-directory="$DIR/sdr-cache" --quiet-cache)
host() { printf '127.0.0.1:%d' $((BASEPORT + $1)); }
ipmitool_i() {  # ipmitool_i INDEX ARGS...
    local i=$1
    shift
    ipmitool -I lanplus -H 127.0.0.1 -p $((BASEPORT + i)) -U admin -P password -C 3 "$@"
}
# sensor_field INDEX RECORD_NAME FIELD: one field of ipmi-sensors CSV output
# (2 name, 4 reading, 6 event...).
sensor_csv() {
    ipmi-sensors -h "$(host "$1")" "${FI[@]}" "${CACHE[@]}" --no-header-output \
        --comma-separated-output --output-sensor-state "${@:2}"
}
reading() {     # reading INDEX NAME
    sensor_csv "$1" | awk -F, -v n="$2" '$2 == n { print $5 }'
}
state() {       # state INDEX NAME
    sensor_csv "$1" | awk -F, -v n="$2" '$2 == n { print $4 }'
}
sel_count() {
    ipmi-sel -h "$(host "$1")" "${FI[@]}" "${CACHE[@]}" --info |
        awk -F: '/Number of log entries/ { gsub(/ /, "", $2); print $2 }'
}
power() {
    ipmipower -h "$(host "$1")" -D LAN_2_0 -I 3 -W opensesspriv -u admin -p password "${@:2}"
}

check "generated fixtures up to date (gen_fixtures.py check)" \
    python3 "$HERE/gen_fixtures.py" check

# ---- start ------------------------------------------------------------------
t0=$(date +%s%N)
check "simctl start $N instances" "$SIMCTL" start "$N" "$BASEPORT" "$DIR"
echo "      start took $(( ($(date +%s%N) - t0) / 1000000 )) ms"
BASEPORT=$("$SIMCTL" info "$DIR" 0 | sed -n 's/^SIM_PORT=//p')
[ -n "$BASEPORT" ] || { echo "FAIL: no instance"; exit 1; }
"$SIMCTL" status "$DIR"

for ((i = 0; i < N; i++)); do
    h=$(host "$i")
    check "bmc$i: bmc-info answers (manufacturer 32473)" \
        bash -c "bmc-info -h $h ${FI[*]} --get-device-id | grep -q 'Manufacturer ID.*32473'"
    n=$(sensor_csv "$i" | wc -l)
    [ "$n" -eq 45 ] && pass "bmc$i: 45 sensors" || fail "bmc$i: $n sensors, expected 45"
    c=$(sel_count "$i")
    [ "$c" = 6 ] && pass "bmc$i: 6 SEL entries" || fail "bmc$i: $c SEL entries, expected 6"
    s=$(ipmi-fru -h "$h" "${FI[@]}" "${CACHE[@]}" | sed -n 's/.*FRU Product Serial Number: //p')
    [ "$s" = "UL1000-0000$i" ] && pass "bmc$i: FRU product serial $s" ||
        fail "bmc$i: FRU product serial '$s'"
done

# ---- sensors, thresholds ----------------------------------------------------
line=$(ipmi-sensors -h "$(host 0)" "${FI[@]}" "${CACHE[@]}" --output-sensor-thresholds \
    --comma-separated-output --no-header-output | grep ',CPU1 Temp,')
[ "$line" = "5,CPU1 Temp,Temperature,45.00,C,N/A,N/A,N/A,85.00,90.00,95.00,'OK'" ] &&
    pass "CPU1 Temp reading and thresholds: $line" || fail "CPU1 Temp: '$line'"
line=$(ipmi-sensors -h "$(host 0)" "${FI[@]}" "${CACHE[@]}" --output-sensor-thresholds \
    --comma-separated-output --no-header-output | grep ',12V,')
[ "$line" = "14,12V,Voltage,12.06,V,10.20,10.80,11.40,12.60,13.20,13.80,'OK'" ] &&
    pass "12V reading and thresholds: $line" || fail "12V: '$line'"

# ---- runtime sensor changes ---------------------------------------------------
check "set-reading CPU1 Temp 91 on bmc1" "$SIMCTL" set-reading "$DIR" 1 "CPU1 Temp" 91
r=$(reading 1 "CPU1 Temp") st=$(state 1 "CPU1 Temp")
[ "$r" = 91.00 ] && [ "$st" = Critical ] && pass "bmc1 CPU1 Temp now $r ($st)" ||
    fail "bmc1 CPU1 Temp: $r ($st)"
r=$(reading 0 "CPU1 Temp")
[ "$r" = 45.00 ] && pass "bmc0 CPU1 Temp unchanged ($r)" || fail "bmc0 CPU1 Temp: $r"
check "set-sensor FAN2 raw 4 (400 RPM) with --event" "$SIMCTL" set-sensor "$DIR" 1 0x31 4 --event
r=$(reading 1 FAN2) c=$(sel_count 1)
[ "$r" = 400.00 ] && pass "bmc1 FAN2 now $r RPM" || fail "bmc1 FAN2: $r"
[ "$c" = 8 ] && pass "bmc1 SEL grew to $c (LNC + LC going low)" || fail "bmc1 SEL count $c, expected 8"
check "set-bit PSU2 Status offset 1 (failure)" "$SIMCTL" set-bit "$DIR" 1 "PSU2 Status" 1 1
ev=$(sensor_csv 1 | awk -F, '$2 == "PSU2 Status" { print $7 }')
[[ $ev == *"Power Supply Failure detected"* ]] && pass "bmc1 PSU2 Status: $ev" || fail "PSU2 Status: $ev"
id=$("$SIMCTL" add-sel "$DIR" 2 "Drive 1" 0x6f 0x01)
[ "$id" = 7 ] && [ "$(sel_count 2)" = 7 ] && pass "add-sel on bmc2 -> record $id" ||
    fail "add-sel: record '$id', count $(sel_count 2)"

# ---- chassis power -----------------------------------------------------------
p=$(power 0 --stat)
[ "$p" = "127.0.0.1: on" ] && pass "ipmipower --stat: $p" || fail "ipmipower --stat: $p"
power 0 --off >/dev/null
p=$(power 0 --stat)
[ "$p" = "127.0.0.1: off" ] && pass "after --off: $p" || fail "after --off: $p"
cs=$(ipmi-chassis -h "$(host 0)" "${FI[@]}" --get-chassis-status | sed -n 's/^System Power *: //p')
[ "$cs" = off ] && pass "ipmi-chassis System Power: $cs" || fail "ipmi-chassis System Power: $cs"
p=$(ipmitool_i 0 chassis power status)
[ "$p" = "Chassis Power is off" ] && pass "ipmitool: $p" || fail "ipmitool: $p"
power 0 --on >/dev/null
p=$(power 0 --stat)
[ "$p" = "127.0.0.1: on" ] && pass "after --on: $p" || fail "after --on: $p"
power 0 --cycle >/dev/null
p1=$(power 0 --stat)
sleep 1.5
p2=$(power 0 --stat)
[ "$p1" = "127.0.0.1: off" ] && [ "$p2" = "127.0.0.1: on" ] &&
    pass "--cycle: off, then on after ~1 s" || fail "--cycle: '$p1' then '$p2'"
p=$(power 1 --stat)
[ "$p" = "127.0.0.1: on" ] && pass "bmc1 power unaffected: $p" || fail "bmc1: $p"

# ---- boot device -------------------------------------------------------------
ipmi-config -h "$(host 0)" "${FI[@]}" --category=chassis --commit \
    --key-pair="Chassis_Boot_Flags:Boot_Device=PXE" &&
    b=$(ipmi-chassis -h "$(host 0)" "${FI[@]}" --get-boot-flags | sed -n 's/^Boot device selector *: //p')
[ "${b:-}" = "Force PXE" ] && pass "boot device PXE via ipmi-config: $b" || fail "boot device: ${b:-}"
ipmitool_i 0 chassis bootdev cdrom >/dev/null
b=$(ipmi-chassis -h "$(host 0)" "${FI[@]}" --get-boot-flags | sed -n 's/^Boot device selector *: //p')
[ "$b" = "Force boot from default CD/DVD" ] && pass "boot device via ipmitool bootdev cdrom: $b" ||
    fail "boot device after bootdev cdrom: $b"

# ---- ipmitool ------------------------------------------------------------------
n=$(ipmitool_i 2 sensor list | wc -l)
[ "$n" -eq 45 ] && pass "ipmitool sensor list: $n sensors" || fail "ipmitool sensor list: $n"
s=$(ipmitool_i 2 fru print 0 | sed -n 's/^ *Product Serial *: //p')
[ "$s" = UL1000-00002 ] && pass "ipmitool fru print: serial $s" || fail "ipmitool fru: $s"

# ---- DCMI (not implemented by ipmi_sim) ----------------------------------------
if ipmi-dcmi -h "$(host 0)" "${FI[@]}" --get-system-power-statistics >/dev/null 2>&1; then
    fail "ipmi-dcmi power reading unexpectedly works: update README.md"
else
    pass "ipmi-dcmi power reading: unsupported, as documented"
fi

# ---- a dead BMC ------------------------------------------------------------------
check "simctl kill bmc2" "$SIMCTL" kill "$DIR" 2
if bmc-info -h "$(host 2)" "${FI[@]}" --session-timeout=1000 --get-device-id >/dev/null 2>&1; then
    fail "killed bmc2 still answers"
else
    pass "killed bmc2 does not answer"
fi
check "simctl restart bmc2" "$SIMCTL" restart "$DIR" 2
c=$(sel_count 2)
[ "$c" = 6 ] && pass "restarted bmc2 is fresh (6 SEL entries)" || fail "restarted bmc2 SEL $c"
out=$(ipmi-sensors -h "$(host 2)" "${FI[@]}" "${CACHE[@]}" 2>&1 >/dev/null)
[ -z "$out" ] && pass "SDR cache still valid after restart" || fail "after restart: $out"

# ---- timing -----------------------------------------------------------------------
t0=$(date +%s%N)
for ((k = 0; k < 20; k++)); do
    ipmi-sensors -h "$(host 0)" "${FI[@]}" "${CACHE[@]}" >/dev/null
done
echo "      one ipmi-sensors sweep (45 sensors, cached SDR): $(( ($(date +%s%N) - t0) / 20000000 )) ms"

# ---- stop ----------------------------------------------------------------------------
check "simctl stop" "$SIMCTL" stop "$DIR"
left=$(pgrep -f "ipmi_sim .*$DIR/" || true)
[ -z "$left" ] && pass "no ipmi_sim of this test left" || fail "left running: $left"

exit $FAILED
