#!/usr/bin/env bash
# BIOS, storage and firmware reads (read only) against every captured
# service in the shared mockup folder ($TOP_SRCDIR/../shared/redfish-mockups,
# or $REDFISH_MOCKUPS), each served by the project's emulator (--mockup).
# Skipped (77) when the folder is absent: nothing else needs it.
#
# What the driver reports is compared with the mockup's own files, read by
# tests/integration/mockup_read.py independently of the emulator and driver:
#   - bios: the first system's Bios Attributes, the pending changes (the
#     Settings resource's attributes that differ), the registry name; or
#     "not supported" where the system has no Bios
#   - raid: per Storage member its drives (ids, capacities) and volumes (ids,
#     RAID types); or "not supported" where the system has no Storage
#   - firmware: the FirmwareInventory members' ids and versions; or "not
#     supported" where there is no UpdateService
. "$TOP_SRCDIR/tests/lib.sh"

MOCKUPS=${REDFISH_MOCKUPS:-$TOP_SRCDIR/../shared/redfish-mockups}
[ -d "$MOCKUPS" ] || ul_skip "no mockup folder at $MOCKUPS (set REDFISH_MOCKUPS)"
DIRS=()
for d in "$MOCKUPS"/*/; do
    [ -f "$d/index.json" ] && DIRS+=("${d%/}")
done
[ ${#DIRS[@]} -gt 0 ] || ul_skip "no mockups (folders with an index.json) in $MOCKUPS"
. "$TOP_SRCDIR/tests/lib_redfish.sh"

cat >"$UL_TMP/expect.py" <<'PY'
import json, sys
sys.path.insert(0, sys.argv[2])
from mockup_read import Mockup, link, members, absent, last_segment

def text(v):
    """BMC text as the driver passes it on: printable ASCII (others as '?'),
    whitespace runs as one space, trimmed."""
    if not isinstance(v, str):
        return v
    return " ".join("".join(c if 0x20 < ord(c) < 0x7f else "?" for c in w) for w in v.split())

m = Mockup(sys.argv[1])
root = m.load("/redfish/v1/")
systems = members(m.load(link(root, "Systems")))
sysobj = m.load(systems[0]) if systems else {}
out = {"system": systems[0] if systems else None}

bios = m.load(link(sysobj, "Bios"))
if bios is not None:
    attrs = bios.get("Attributes") or {}
    settings = m.load(link(bios.get("@Redfish.Settings") or {}, "SettingsObject")) or {}
    sattrs = settings.get("Attributes") or {}
    out["bios"] = {
        "attributes": attrs,
        "pending": {k: v for k, v in sattrs.items() if k not in attrs or attrs[k] != v},
        "registry": bios.get("AttributeRegistry"),
    }

coll = m.load(link(sysobj, "Storage"))
if coll is not None:
    ctrls = []
    for sp in members(coll):
        st = m.load(sp)
        if st is None:
            continue
        drives = []
        for d in st.get("Drives") or []:
            dobj = m.load(d.get("@odata.id")) if isinstance(d, dict) else None
            if dobj is None or absent(dobj):
                continue
            drives.append({"id": dobj.get("Id") or last_segment(d["@odata.id"]),
                           "capacity_bytes": dobj.get("CapacityBytes")})
        vols = []
        vc = m.load(link(st, "Volumes"))
        for v in members(vc):
            vobj = m.load(v)
            if vobj is not None:
                vols.append({"id": vobj.get("Id") or last_segment(v),
                             "raid_type": vobj.get("RAIDType") or vobj.get("VolumeType")})
        ctrls.append({"id": st.get("Id") or last_segment(sp), "drives": drives,
                      "volumes": vols})
    out["storage"] = ctrls

us = m.load(link(root, "UpdateService"))
fw = m.load(link(us, "FirmwareInventory"))
if fw is not None:
    out["firmware"] = {}
    for f in members(fw):
        fobj = m.load(f)
        if fobj is not None:
            out["firmware"][fobj.get("Id") or last_segment(f)] = text(fobj.get("Version"))
print(json.dumps(out))
PY

ul_start -s bmc.timeout=5

not_supported() { # WHAT
    assert_json .state failed "$1"
    assert_json .error.code not_supported "$1: error code"
    assert_contains "$(ul_jq .error.message)" "not supported by this BMC" "$1: message"
}

check_mockup() { # NODE EXPECT-FILE
    local node=$1 ex
    ex=$(cat "$2")
    run_job "$node" bios '{}' 60
    if jq -e 'has("bios")' <<<"$ex" >/dev/null; then
        assert_json .state succeeded "$node: bios read"
        assert_eq "$(jq -cS .result.attributes <<<"$UL_BODY")" "$(jq -cS .bios.attributes <<<"$ex")" \
            "$node: BIOS attributes = the mockup's"
        assert_eq "$(jq -cS .result.pending <<<"$UL_BODY")" "$(jq -cS .bios.pending <<<"$ex")" \
            "$node: pending = the Settings resource's differing attributes"
        assert_eq "$(jq -c .result.registry <<<"$UL_BODY")" "$(jq -c .bios.registry <<<"$ex")" \
            "$node: registry name"
    else
        not_supported "$node: bios"
    fi

    run_job "$node" raid '{}' 60
    if jq -e 'has("storage")' <<<"$ex" >/dev/null; then
        assert_json .state succeeded "$node: raid read"
        assert_eq "$(jq -cS '[.result.controllers[] | {id, drives: [.drives[] | {id, capacity_bytes}], volumes: [.volumes[] | {id, raid_type}]}]' <<<"$UL_BODY")" \
            "$(jq -cS .storage <<<"$ex")" "$node: controllers, drives and volumes = the mockup's"
    else
        not_supported "$node: raid"
    fi

    run_job "$node" firmware '{}' 60
    if jq -e 'has("firmware")' <<<"$ex" >/dev/null; then
        assert_json .state succeeded "$node: firmware list"
        assert_eq "$(jq -cS '[.result.components[] | {(.id): .version}] | add // {}' <<<"$UL_BODY")" \
            "$(jq -cS .firmware <<<"$ex")" "$node: components and versions = the mockup's"
    else
        not_supported "$node: firmware"
    fi
}

i=0
for dir in "${DIRS[@]}"; do
    i=$((i + 1))
    name=$(basename "$dir")
    python3 "$UL_TMP/expect.py" "$dir" "$TOP_SRCDIR/tests/integration" >"$UL_TMP/expect-$i.json" ||
        ul_fail "$name: cannot read the mockup's files"
    url=$(emu_start "m$i" --mockup "$dir") || ul_fail "$name: emulator did not start"
    system=$(jq -r '.system // ""' "$UL_TMP/expect-$i.json")
    path=$(python3 -c 'import sys, urllib.parse; print(urllib.parse.urlsplit(sys.argv[1]).path)' "$system")
    ul_node_add "m$i" "$(jq -cn --arg e "$url$path" \
        '{endpoint: $e, username: "admin", password: "password"}')"
    ul_log "$name: node m$i at $url$path"
    ul_check check_mockup "m$i" "$UL_TMP/expect-$i.json"
    emuctl stop "$EMUDIR/m$i" >/dev/null 2>&1
done

ul_stop
