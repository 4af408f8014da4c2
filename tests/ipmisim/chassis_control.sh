#!/bin/sh
# chassis_control.sh - ipmi_sim "chassis_control" program for the simulated
# BMCs (see lan.conf.in).  ipmi_sim runs it through popen() as
#
#   chassis_control.sh STATEFILE get PARM...          PARM: power | boot
#   chassis_control.sh STATEFILE set PARM VALUE...    PARM: power | reset |
#                                                     boot | shutdown | identify
#
# "get" prints one "PARM:VALUE" line per PARM; "set" prints nothing on
# success.  On error it prints a message and exits non-zero, and ipmi_sim
# answers the IPMI request with completion code 0xff.
#
# State lives in STATEFILE (one instance each), as lines
#   power:0|1   boot:none|pxe|default|cdrom|bios   resets:N   shutdowns:N
#   identify:INTERVAL FORCE
# so a power off / on / cycle is visible to the next Get Chassis Status, and a
# boot device override to the next Get System Boot Options.  Every call is
# also appended to STATEFILE.log (tests can check what the BMC was asked).
#
# Boot values are ipmi_sim's names for the IPMI boot device selector:
#   none = no override (0), pxe = PXE (1), default = hard disk (2),
#   cdrom = CD/DVD (5), bios = BIOS setup (6).  Other selectors (floppy,
#   diagnostic, safe-mode disk...) are rejected by ipmi_sim itself.

state=$1
op=$2
if [ -z "$state" ] || [ -z "$op" ]; then
    echo "usage: $0 STATEFILE get|set|check PARM [VALUE]..."
    exit 1
fi
shift 2

printf '%s %s %s\n' "$(date '+%Y-%m-%dT%H:%M:%S')" "$op" "$*" >>"$state.log" 2>/dev/null

# Initial state: powered on, no boot override.
if [ ! -f "$state" ]; then
    printf 'power:1\nboot:none\nresets:0\nshutdowns:0\n' >"$state" || exit 1
fi

get_val() {
    sed -n "s/^$1://p" "$state" | head -n 1
}

# Rewrite STATEFILE with PARM set to VALUE, atomically (rename).
set_val() {
    tmp="$state.tmp.$$"
    { grep -v "^$1:" "$state"; printf '%s:%s\n' "$1" "$2"; } >"$tmp" &&
        mv -f "$tmp" "$state"
}

case $op in
get)
    for parm in "$@"; do
        case $parm in
        power | boot)
            val=$(get_val "$parm")
            if [ -z "$val" ]; then
                [ "$parm" = power ] && val=1 || val=none
            fi
            echo "$parm:$val"
            ;;
        *)
            echo "Invalid parameter: $parm"
            exit 1
            ;;
        esac
    done
    ;;
set)
    while [ $# -gt 0 ]; do
        parm=$1
        if [ $# -lt 2 ]; then
            echo "No value for parameter $parm"
            exit 1
        fi
        val=$2
        shift 2
        case $parm in
        power)
            case $val in
            0 | 1) set_val power "$val" || exit 1 ;;
            *) echo "Invalid power value: $val"; exit 1 ;;
            esac
            ;;
        reset)
            # A reset pulse: the host restarts, power stays on.
            n=$(get_val resets)
            set_val resets $(( ${n:-0} + 1 )) || exit 1
            ;;
        shutdown)
            # Soft shutdown (ACPI overtemp) request: the "OS" powers off.
            n=$(get_val shutdowns)
            set_val shutdowns $(( ${n:-0} + 1 )) || exit 1
            set_val power 0 || exit 1
            ;;
        boot)
            case $val in
            none | pxe | default | cdrom | bios) set_val boot "$val" || exit 1 ;;
            *) echo "Invalid boot value: $val"; exit 1 ;;
            esac
            ;;
        identify)
            # ipmi_sim passes "INTERVAL FORCE" as one value.
            set_val identify "$val" || exit 1
            ;;
        *)
            echo "Invalid parameter: $parm"
            exit 1
            ;;
        esac
    done
    ;;
check)
    # "check" is only used for LAN configuration programs.
    exit 1
    ;;
*)
    echo "Unknown operation: $op"
    exit 1
    ;;
esac
exit 0
