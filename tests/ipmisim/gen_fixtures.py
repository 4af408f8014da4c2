#!/usr/bin/env python3
"""gen_fixtures.py - the single source of truth for the simulated server BMC.

One table below describes the sensors, the SEL entries and the FRU of the
"UL-1000" 1U server that OpenIPMI's ipmi_sim emulates for the IPMI tests.
From it this script writes (standard library only):

  emu   [OUT]            the ipmi_sim emulator command file (server.emu):
                         MC, sensors with initial readings, FRU.
  sdr   [OUT]            sdr.20.main: the SDR repository (MC and FRU device
                         locators, full/compact sensor records) in
                         ipmi_sim's persist format, as sdrcomp writes it.
  sel   [OUT]            sel.emu: the SEL entries present at start (sel_add
                         commands; simctl.sh sends them to the console once
                         the SEL clock is set, see README.md).
  fru   OUT [--instance N]
                         the FRU image (IPMI Platform Management FRU
                         Information Storage Definition v1.0, with
                         checksums); serial numbers and asset tag carry the
                         instance number so every simulated BMC differs.
  sensors [OUT]          sensors.tsv: number, raw<->unit conversion and
                         thresholds, read by simctl.sh set-reading.
  table                  the Markdown sensor table used in README.md.
  all                    emu + sdr + sel + sensors, next to this script.
  check                  exit 1 if server.emu / sdr.20.main / sel.emu /
                         sensors.tsv next to this script are not what "all"
                         would write.

Those four files are committed; run `gen_fixtures.py all` after editing the
tables.  The FRU image is made per instance by simctl.sh at start time.
"""

import datetime
import os
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

# ---------------------------------------------------------------------------
# The management controller (answers Get Device ID).
# ---------------------------------------------------------------------------

MC_ADDR = 0x20
MC = {
    "device_id": 0x20,
    "device_rev": 0x01,
    "fw_major": 0x02,           # firmware 2.45 (minor revision is BCD)
    "fw_minor": 0x45,
    # Additional device support: chassis, IPMB event generator and receiver,
    # FRU inventory, SEL, SDR repository, sensor device (no bridge).
    "device_support": 0xBF,
    # IANA enterprise number 32473 is the one RFC 5612 reserves for
    # documentation, so no client applies a real vendor's OEM quirks.
    "manufacturer_id": 32473,
    "product_id": 0x0A21,
}

SEL_MAX_ENTRIES = 1000
# Get SEL Info "operation support": 0x0a = reserve SEL + delete SEL.
SEL_FLAGS = 0x0A

# SDR repository add/erase timestamp (Get SDR Repository Info): fixed, so
# that clients' SDR caches (FreeIPMI's) stay valid when a simulated BMC
# restarts, but derived from the records' contents so that a cache made
# before the tables here were edited is seen as out of date.
SDR_TIMESTAMP_BASE = 1768464000     # 2026-01-15 08:00:00 UTC

FRU_SIZE = 512                  # bytes reported by Get FRU Inventory Area Info

# ---------------------------------------------------------------------------
# Sensors.
# ---------------------------------------------------------------------------

# IPMI sensor types
T_TEMP, T_VOLT, T_CURR, T_FAN = 0x01, 0x02, 0x03, 0x04
T_SECURITY, T_CPU, T_PSU, T_PWR_UNIT = 0x05, 0x07, 0x08, 0x09
T_OTHER_UNITS, T_DRIVE, T_WATCHDOG2 = 0x0B, 0x0D, 0x23

# IPMI base unit codes
U_NONE, U_DEGC, U_VOLTS, U_AMPS, U_WATTS, U_RPM = 0, 1, 4, 5, 6, 18
UNIT_NAME = {U_NONE: "", U_DEGC: "degrees C", U_VOLTS: "V", U_AMPS: "A",
             U_WATTS: "W", U_RPM: "RPM"}

# Entity IDs
E_PROCESSOR, E_DISK_BAY, E_PSU, E_SYSBOARD = 0x03, 0x04, 0x0A, 0x07
E_POWER_UNIT, E_CHASSIS, E_FAN, E_MEMORY = 0x13, 0x17, 0x1D, 0x20
E_AIR_INLET = 0x37

THRESHOLD_KEYS = ("lnr", "lc", "lnc", "unc", "uc", "unr")


class Analog:
    """A threshold-based analog sensor: reading = M * raw * 10^Rexp."""

    def __init__(self, num, name, stype, unit, entity, inst, value,
                 m=1, rexp=0, hyst=1, **thresholds):
        self.num, self.name, self.stype, self.unit = num, name, stype, unit
        self.entity, self.inst, self.m, self.rexp = entity, inst, m, rexp
        self.hyst = hyst
        self.value = value
        unknown = set(thresholds) - set(THRESHOLD_KEYS)
        if unknown:
            raise ValueError("%s: unknown thresholds %s" % (name, unknown))
        self.thresholds = thresholds
        self.raw = self.to_raw(value)
        for k, v in thresholds.items():
            self.to_raw(v)

    def step(self):
        return self.m * 10.0 ** self.rexp

    def to_raw(self, value):
        raw = int(round(value / self.step()))
        if not 0 <= raw <= 255:
            raise ValueError("%s: %s out of range" % (self.name, value))
        if abs(raw * self.step() - value) > 1e-6:
            raise ValueError("%s: %s is not a multiple of %g"
                             % (self.name, value, self.step()))
        return raw

    def fmt(self, value):
        decimals = max(0, -self.rexp)
        return "%.*f" % (decimals, value)


class Discrete:
    """A discrete sensor: `offsets` lists the supported state offsets (with
    their meaning, for the docs), `initial` the offsets asserted at start."""

    def __init__(self, num, name, stype, erc, entity, inst, offsets,
                 initial=()):
        self.num, self.name, self.stype, self.erc = num, name, stype, erc
        self.entity, self.inst = entity, inst
        self.offsets, self.initial = offsets, tuple(initial)


PSU_OFFSETS = {0: "presence detected", 1: "failure detected",
               2: "predictive failure", 3: "AC lost"}
CPU_OFFSETS = {0: "IERR", 1: "thermal trip", 7: "processor presence detected"}
DRIVE_OFFSETS = {0: "drive presence", 1: "drive fault", 2: "predictive failure"}

SENSORS = [
    # --- discrete: watchdog (OpenIPMI uses sensor 0 for watchdog events) ---
    Discrete(0x00, "Watchdog", T_WATCHDOG2, 0x6F, E_SYSBOARD, 1,
             {0: "timer expired", 1: "hard reset", 2: "power down",
              3: "power cycle"}),
    # --- temperatures (degrees C, 1 degree per count) ---
    Analog(0x01, "Inlet Temp", T_TEMP, U_DEGC, E_AIR_INLET, 1, 24, hyst=2,
           lc=3, lnc=8, unc=42, uc=47, unr=50),
    Analog(0x02, "CPU1 Temp", T_TEMP, U_DEGC, E_PROCESSOR, 1, 45, hyst=2,
           unc=85, uc=90, unr=95),
    Analog(0x03, "CPU2 Temp", T_TEMP, U_DEGC, E_PROCESSOR, 2, 47, hyst=2,
           unc=85, uc=90, unr=95),
    Analog(0x04, "DIMM AB Temp", T_TEMP, U_DEGC, E_MEMORY, 1, 38, hyst=2,
           unc=80, uc=85, unr=90),
    Analog(0x05, "DIMM CD Temp", T_TEMP, U_DEGC, E_MEMORY, 2, 37, hyst=2,
           unc=80, uc=85, unr=90),
    Analog(0x06, "PCH Temp", T_TEMP, U_DEGC, E_SYSBOARD, 1, 52, hyst=2,
           unc=90, uc=95, unr=100),
    Analog(0x07, "Exhaust Temp", T_TEMP, U_DEGC, E_CHASSIS, 1, 35, hyst=2,
           lc=3, lnc=5, unc=70, uc=75, unr=80),
    Analog(0x08, "Baseboard Temp", T_TEMP, U_DEGC, E_SYSBOARD, 2, 33, hyst=2,
           unc=75, uc=80, unr=85),
    Analog(0x09, "PSU1 Temp", T_TEMP, U_DEGC, E_PSU, 1, 30, hyst=2,
           unc=60, uc=65, unr=70),
    Analog(0x0A, "PSU2 Temp", T_TEMP, U_DEGC, E_PSU, 2, 31, hyst=2,
           unc=60, uc=65, unr=70),
    # --- voltages ---
    Analog(0x10, "12V", T_VOLT, U_VOLTS, E_SYSBOARD, 1, 12.06, m=6, rexp=-2,
           lnr=10.20, lc=10.80, lnc=11.40, unc=12.60, uc=13.20, unr=13.80),
    Analog(0x11, "5V", T_VOLT, U_VOLTS, E_SYSBOARD, 1, 5.04, m=3, rexp=-2,
           lnr=4.26, lc=4.50, lnc=4.74, unc=5.25, uc=5.49, unr=5.73),
    Analog(0x12, "3.3V", T_VOLT, U_VOLTS, E_SYSBOARD, 1, 3.30, m=2, rexp=-2,
           lnr=2.80, lc=2.96, lnc=3.14, unc=3.46, uc=3.62, unr=3.80),
    Analog(0x13, "5VSB", T_VOLT, U_VOLTS, E_SYSBOARD, 1, 5.01, m=3, rexp=-2,
           lc=4.50, lnc=4.74, unc=5.25, uc=5.49),
    Analog(0x14, "3.3VSB", T_VOLT, U_VOLTS, E_SYSBOARD, 1, 3.28, m=2, rexp=-2,
           lc=2.96, lnc=3.14, unc=3.46, uc=3.62),
    Analog(0x15, "VBAT", T_VOLT, U_VOLTS, E_SYSBOARD, 1, 3.04, m=2, rexp=-2,
           lc=2.50, lnc=2.70, unc=3.40, uc=3.50),
    Analog(0x16, "CPU1 VCORE", T_VOLT, U_VOLTS, E_PROCESSOR, 1, 1.80, m=1,
           rexp=-2, lc=1.62, lnc=1.68, unc=1.92, uc=1.98),
    Analog(0x17, "CPU2 VCORE", T_VOLT, U_VOLTS, E_PROCESSOR, 2, 1.79, m=1,
           rexp=-2, lc=1.62, lnc=1.68, unc=1.92, uc=1.98),
    Analog(0x18, "DIMM AB VDDQ", T_VOLT, U_VOLTS, E_MEMORY, 1, 1.20, m=1,
           rexp=-2, lc=1.08, lnc=1.12, unc=1.28, uc=1.32),
    Analog(0x19, "DIMM CD VDDQ", T_VOLT, U_VOLTS, E_MEMORY, 2, 1.21, m=1,
           rexp=-2, lc=1.08, lnc=1.12, unc=1.28, uc=1.32),
    Analog(0x1A, "PSU1 Vin", T_VOLT, U_VOLTS, E_PSU, 1, 230, m=2,
           lc=180, lnc=190, unc=254, uc=264),
    Analog(0x1B, "PSU2 Vin", T_VOLT, U_VOLTS, E_PSU, 2, 228, m=2,
           lc=180, lnc=190, unc=254, uc=264),
    # --- fans (RPM, 100 RPM per count), lower thresholds only ---
    Analog(0x30, "FAN1", T_FAN, U_RPM, E_FAN, 1, 8400, m=100,
           lnr=300, lc=500, lnc=700),
    Analog(0x31, "FAN2", T_FAN, U_RPM, E_FAN, 2, 8500, m=100,
           lnr=300, lc=500, lnc=700),
    Analog(0x32, "FAN3", T_FAN, U_RPM, E_FAN, 3, 8300, m=100,
           lnr=300, lc=500, lnc=700),
    Analog(0x33, "FAN4", T_FAN, U_RPM, E_FAN, 4, 8600, m=100,
           lnr=300, lc=500, lnc=700),
    Analog(0x34, "FAN5", T_FAN, U_RPM, E_FAN, 5, 8400, m=100,
           lnr=300, lc=500, lnc=700),
    Analog(0x35, "FAN6", T_FAN, U_RPM, E_FAN, 6, 8200, m=100,
           lnr=300, lc=500, lnc=700),
    # --- power and current ---
    Analog(0x40, "PSU1 Input Power", T_OTHER_UNITS, U_WATTS, E_PSU, 1, 184,
           m=4, unc=800, uc=880, unr=960),
    Analog(0x41, "PSU2 Input Power", T_OTHER_UNITS, U_WATTS, E_PSU, 2, 176,
           m=4, unc=800, uc=880, unr=960),
    Analog(0x42, "Sys Power", T_OTHER_UNITS, U_WATTS, E_POWER_UNIT, 1, 360,
           m=8, unc=1400, uc=1600),
    Analog(0x43, "PSU1 Current", T_CURR, U_AMPS, E_PSU, 1, 0.8, m=1, rexp=-1,
           unc=8.0, uc=10.0),
    Analog(0x44, "PSU2 Current", T_CURR, U_AMPS, E_PSU, 2, 0.8, m=1, rexp=-1,
           unc=8.0, uc=10.0),
    # --- discrete ---
    Discrete(0x50, "PSU1 Status", T_PSU, 0x6F, E_PSU, 1, PSU_OFFSETS, [0]),
    Discrete(0x51, "PSU2 Status", T_PSU, 0x6F, E_PSU, 2, PSU_OFFSETS, [0]),
    Discrete(0x52, "PS Redundancy", T_PWR_UNIT, 0x0B, E_POWER_UNIT, 1,
             {0: "fully redundant", 1: "redundancy lost",
              2: "redundancy degraded"}, [0]),
    Discrete(0x53, "Power Unit", T_PWR_UNIT, 0x6F, E_POWER_UNIT, 1,
             {0: "power off/down", 1: "power cycle", 4: "AC lost",
              6: "power unit failure"}),
    Discrete(0x54, "Chassis Intru", T_SECURITY, 0x6F, E_CHASSIS, 1,
             {0: "general chassis intrusion"}),
    Discrete(0x55, "CPU1 Status", T_CPU, 0x6F, E_PROCESSOR, 1, CPU_OFFSETS,
             [7]),
    Discrete(0x56, "CPU2 Status", T_CPU, 0x6F, E_PROCESSOR, 2, CPU_OFFSETS,
             [7]),
    Discrete(0x60, "Drive 0", T_DRIVE, 0x6F, E_DISK_BAY, 1, DRIVE_OFFSETS,
             [0]),
    Discrete(0x61, "Drive 1", T_DRIVE, 0x6F, E_DISK_BAY, 2, DRIVE_OFFSETS,
             [0]),
    Discrete(0x62, "Drive 2", T_DRIVE, 0x6F, E_DISK_BAY, 3, DRIVE_OFFSETS),
    Discrete(0x63, "Drive 3", T_DRIVE, 0x6F, E_DISK_BAY, 4, DRIVE_OFFSETS),
]

# ---------------------------------------------------------------------------
# SEL entries present at start (system event records, type 0x02).
# (sensor number, event dir|type, data1, data2, data3, comment)
# The simulator stamps each entry with the time ipmi_sim started.
# ---------------------------------------------------------------------------

SEL = [
    (0x53, 0x6F, 0x00, 0xFF, 0xFF, "Power Unit: power off/down asserted"),
    (0x51, 0x6F, 0x01, 0xFF, 0xFF, "PSU2 Status: failure detected asserted"),
    (0x52, 0x0B, 0x01, 0xFF, 0xFF, "PS Redundancy: redundancy lost asserted"),
    # 0x57 = trigger reading in data2, threshold in data3, offset 7
    # (upper non-critical going high)
    (0x02, 0x01, 0x57, 87, 85, "CPU1 Temp: upper non-critical going high"),
    (0x02, 0x81, 0x57, 80, 85, "CPU1 Temp: upper non-critical deasserted"),
    (0x54, 0x6F, 0x00, 0xFF, 0xFF, "Chassis Intru: general intrusion asserted"),
]

# ---------------------------------------------------------------------------
# FRU 0 (the system FRU).  %(n)d is replaced by the instance number.
# ---------------------------------------------------------------------------

FRU = {
    "chassis_type": 0x17,                       # rack mount chassis
    "chassis_part": "CSE-UL1000-R",
    "chassis_serial": "CS26%(n)05d",
    "board_mfg_time": datetime.datetime(2026, 1, 15, 8, 0),
    "board_mfg": "Underlay Test Systems",
    "board_product": "UL-X1 Mainboard",
    "board_serial": "BS26%(n)05d",
    "board_part": "BRD-UL-X1-01",
    "board_fru_id": "ul-fru-v1",
    "product_mfg": "Underlay Test Systems",
    "product_name": "UL-1000 1U Server",
    "product_part": "UL-1000-R1",
    "product_version": "1.0",
    "product_serial": "UL1000-%(n)05d",
    "product_asset_tag": "ASSET-%(n)05d",
    "product_fru_id": "ul-fru-v1",
}

# ---------------------------------------------------------------------------
# SDR encoding (IPMI v2.0 section 43).
# ---------------------------------------------------------------------------


def id_string(name):
    data = name.encode("ascii")
    if len(data) > 16:
        raise ValueError("ID string too long: %r" % name)
    return [0xC0 | len(data)] + list(data)


def sdr_record(rtype, body):
    """A record with header; the record ID is assigned by ipmi_sim."""
    return [0x00, 0x00, 0x51, rtype, len(body)] + body


def threshold_masks(s):
    present = {k for k in s.thresholds}
    bits = dict(lnc=0, lc=1, lnr=2, unc=3, uc=4, unr=5)
    readable = 0
    for k in present:
        readable |= 1 << bits[k]
    # Event bits: lower thresholds assert going low, upper going high.
    ev = 0
    for k, b in (("lnc", 0), ("lc", 2), ("lnr", 4),
                 ("unc", 7), ("uc", 9), ("unr", 11)):
        if k in present:
            ev |= 1 << b
    lower_reading = readable & 0x07          # -> assertion mask bits 14:12
    upper_reading = (readable >> 3) & 0x07   # -> deassertion mask bits 14:12
    assert_mask = ev | (lower_reading << 12)
    deassert_mask = ev | (upper_reading << 12)
    return assert_mask, deassert_mask, readable


def full_sensor_sdr(s):
    assert_mask, deassert_mask, readable = threshold_masks(s)
    raw = {k: s.to_raw(v) for k, v in s.thresholds.items()}
    m = s.m
    body = [
        MC_ADDR, 0x00, s.num,
        s.entity, s.inst,
        0x7F,           # init scanning/events/thresholds/hysteresis/type,
                        # events and scanning enabled
        0x58,           # auto re-arm, hysteresis readable, thresholds
                        # readable+settable, per-threshold event control
        s.stype, 0x01,  # threshold-based
        assert_mask & 0xFF, assert_mask >> 8,
        deassert_mask & 0xFF, deassert_mask >> 8,
        readable, readable,      # readable mask, settable mask
        0x00,           # unsigned, no rate, no modifier, not percentage
        s.unit, 0x00,
        0x00,           # linear
        m & 0xFF, ((m >> 8) & 0x03) << 6,
        0x00, 0x00,     # B = 0, accuracy 0
        0x00,           # accuracy exp 0, direction unspecified
        ((s.rexp & 0x0F) << 4) | 0x0,   # R exp, B exp = 0
        0x01,           # nominal reading specified
        s.raw, 0x00, 0x00,
        0xFF, 0x00,     # sensor maximum / minimum reading
        raw.get("unr", 0), raw.get("uc", 0), raw.get("unc", 0),
        raw.get("lnr", 0), raw.get("lc", 0), raw.get("lnc", 0),
        s.hyst, s.hyst,
        0x00, 0x00, 0x00,   # reserved, reserved, OEM
    ] + id_string(s.name)
    return sdr_record(0x01, body)


def compact_sensor_sdr(s):
    mask = 0
    for off in s.offsets:
        mask |= 1 << off
    body = [
        MC_ADDR, 0x00, s.num,
        s.entity, s.inst,
        0x67,           # init scanning/events/type, events+scanning enabled
        0x40,           # auto re-arm, no hysteresis/thresholds, per-state
        s.stype, s.erc,
        mask & 0xFF, mask >> 8,
        mask & 0xFF, mask >> 8,
        mask & 0xFF, mask >> 8,
        0xC0, 0x00, 0x00,   # no analog reading, unitless
        0x01, 0x00,     # record sharing: one sensor
        0x00, 0x00,     # hysteresis
        0x00, 0x00, 0x00, 0x00,   # reserved x3, OEM
    ] + id_string(s.name)
    return sdr_record(0x02, body)


def mc_locator_sdr():
    body = [
        MC_ADDR, 0x00,  # slave address, channel 0
        0x00,           # power state notification / global init
        MC["device_support"],
        0x00, 0x00, 0x00,
        E_SYSBOARD, 0x01,
        0x00,           # OEM
    ] + id_string("BMC")
    return sdr_record(0x12, body)


def fru_locator_sdr():
    body = [
        MC_ADDR, 0x00,  # access address, FRU device ID 0
        0x80,           # logical FRU device, LUN 0, private bus 0
        0x00,           # channel 0
        0x00,           # reserved
        0x10, 0x00,     # FRU inventory device behind management controller
        E_SYSBOARD, 0x01,
        0x00,           # OEM
    ] + id_string("System FRU")
    return sdr_record(0x11, body)


# ---------------------------------------------------------------------------
# FRU encoding (Platform Management FRU Information Storage Definition 1.0).
# ---------------------------------------------------------------------------


def checksum(data):
    return (-sum(data)) & 0xFF


def fru_field(text):
    data = text.encode("ascii")
    if len(data) > 63:
        raise ValueError("FRU field too long: %r" % text)
    return [0xC0 | len(data)] + list(data)


def fru_area(fields_prefix, fields):
    """An area: version 1, length byte, prefix, typed fields, 0xC1 end,
    padding to a multiple of 8 and the zero checksum."""
    data = [0x01, 0x00] + fields_prefix
    for f in fields:
        data += fru_field(f)
    data.append(0xC1)
    while (len(data) + 1) % 8:
        data.append(0x00)
    data[1] = (len(data) + 1) // 8
    data.append(checksum(data))
    return data


def fru_image(instance):
    sub = {"n": instance}
    f = {k: (v % sub if isinstance(v, str) else v) for k, v in FRU.items()}
    chassis = fru_area([f["chassis_type"]],
                       [f["chassis_part"], f["chassis_serial"]])
    minutes = int((f["board_mfg_time"] - datetime.datetime(1996, 1, 1))
                  .total_seconds() // 60)
    board = fru_area([0x00, minutes & 0xFF, (minutes >> 8) & 0xFF,
                      (minutes >> 16) & 0xFF],
                     [f["board_mfg"], f["board_product"], f["board_serial"],
                      f["board_part"], f["board_fru_id"]])
    product = fru_area([0x00],
                       [f["product_mfg"], f["product_name"],
                        f["product_part"], f["product_version"],
                        f["product_serial"], f["product_asset_tag"],
                        f["product_fru_id"]])
    off = 1                      # in units of 8 bytes, after the header
    header = [0x01, 0x00, off, off + len(chassis) // 8,
              off + (len(chassis) + len(board)) // 8, 0x00, 0x00]
    header.append(checksum(header))
    image = header + chassis + board + product
    if len(image) > FRU_SIZE:
        raise ValueError("FRU image larger than FRU_SIZE")
    return bytes(image + [0x00] * (FRU_SIZE - len(image)))


# ---------------------------------------------------------------------------
# Outputs.
# ---------------------------------------------------------------------------


def hexbytes(data):
    return " ".join("0x%02x" % b for b in data)


def emu_text():
    out = []
    w = out.append
    w("# server.emu - ipmi_sim emulator commands for the simulated UL-1000 1U")
    w("# server BMC.  GENERATED by gen_fixtures.py: edit the tables there and")
    w("# run `./gen_fixtures.py all`.  See README.md for the contents.")
    w("#")
    w("# Expects the variable FRU_FILE to name the instance's FRU image:")
    w("# simctl.sh runs ipmi_sim -f on a per-instance file that does")
    w("#   define FRU_FILE \"/path/to/fru.bin\"")
    w("#   include \"/path/to/server.emu\"")
    w("# The SEL entries are in sel.emu (see README.md).")
    w("")
    w("mc_setbmc 0x%02x" % MC_ADDR)
    w("mc_add 0x%02x 0x%02x no-device-sdrs 0x%02x 0x%02x 0x%02x 0x%02x "
      "0x%06x 0x%04x persist_sdr" % (MC_ADDR, MC["device_id"], MC["device_rev"],
                          MC["fw_major"], MC["fw_minor"],
                          MC["device_support"], MC["manufacturer_id"],
                          MC["product_id"]))
    w("sel_enable 0x%02x %d 0x%02x" % (MC_ADDR, SEL_MAX_ENTRIES, SEL_FLAGS))
    w("")
    w("# The SDR repository is not built here: persist_sdr (above) makes")
    w("# ipmi_sim load it from STATEDIR/ipmi_sim/NAME/sdr.20.main, a copy of")
    w("# the sdr.20.main next to this file (simctl.sh puts it there).  Its")
    w("# fixed timestamps keep SDR caches (FreeIPMI's) valid across restarts.")
    w("# It must be loaded before the sensors are added: ipmi_sim sets a")
    w("# sensor's thresholds, hysteresis and event masks from its SDR when the")
    w("# sensor is added.")
    w("")
    w("# Sensors and their initial readings.")
    for s in SENSORS:
        if isinstance(s, Analog):
            w("# 0x%02x %s = %s %s" % (s.num, s.name, s.fmt(s.value),
                                        UNIT_NAME[s.unit]))
            w("sensor_add 0x%02x 0 0x%02x 0x%02x 0x01" % (MC_ADDR, s.num,
                                                          s.stype))
            w("sensor_set_value 0x%02x 0 0x%02x %d 0"
              % (MC_ADDR, s.num, s.raw))
        else:
            w("# 0x%02x %s%s" % (s.num, s.name, "".join(
                ", %s" % s.offsets[off] for off in s.initial)))
            w("sensor_add 0x%02x 0 0x%02x 0x%02x 0x%02x" % (MC_ADDR, s.num,
                                                            s.stype, s.erc))
            w("sensor_set_value 0x%02x 0 0x%02x 0 0" % (MC_ADDR, s.num))
            for off in s.initial:
                w("sensor_set_bit 0x%02x 0 0x%02x %d 1 0"
                  % (MC_ADDR, s.num, off))
    w("")
    w("# FRU 0: the per-instance image written by simctl.sh.")
    w("mc_add_fru_data 0x%02x 0 %d file 0 $FRU_FILE" % (MC_ADDR, FRU_SIZE))
    w("")
    w("mc_enable 0x%02x" % MC_ADDR)
    return "\n".join(out) + "\n"


def sdr_records():
    recs = [mc_locator_sdr(), fru_locator_sdr()]
    for s in SENSORS:
        recs.append(full_sensor_sdr(s) if isinstance(s, Analog)
                    else compact_sensor_sdr(s))
    for i, r in enumerate(recs, 1):      # record IDs 1..N
        r[0], r[1] = i & 0xFF, i >> 8
    return recs


def persist_bytes(data):
    """ipmi_sim's persist encoding: printable bytes as is, others \\xx."""
    out = []
    for b in data:
        c = chr(b)
        if 0x20 <= b < 0x7F and c != "\\":
            out.append(c)
        else:
            out.append("\\%02x" % b)
    return "".join(out)


def sdr_persist_text():
    """The SDR repository in ipmi_sim's persist format (what sdrcomp writes):
    the repository timestamps, then the records, last one first (ipmi_sim
    reads the items back in reverse)."""
    recs = sdr_records()
    stamp = SDR_TIMESTAMP_BASE + zlib.crc32(bytes(sum(recs, []))) % 31536000
    lines = ["last_add_time:i:%d" % stamp,
             "last_erase_time:i:%d" % SDR_TIMESTAMP_BASE]
    for i in range(len(recs), 0, -1):
        lines.append("%d:d:%s" % (i, persist_bytes(recs[i - 1])))
    return "\n".join(lines) + "\n"


def sel_text():
    out = []
    w = out.append
    w("# sel.emu - the SEL entries of the simulated UL-1000 BMC at start.")
    w("# GENERATED by gen_fixtures.py.  simctl.sh sends these commands to the")
    w("# emulator console after setting the SEL clock to the wall clock, so the")
    w("# entries carry real timestamps (ipmi_sim stamps entries itself).")
    bynum = {s.num: s for s in SENSORS}
    for num, evt, d1, d2, d3, comment in SEL:
        s = bynum[num]
        data = [0, 0, 0, 0, MC_ADDR, 0x00, 0x04, s.stype, num, evt, d1, d2, d3]
        w("# %s" % comment)
        w("sel_add 0x%02x 0x02 %s" % (MC_ADDR, hexbytes(data)))
    return "\n".join(out) + "\n"


def sensors_tsv():
    lines = ["# number\tname\ttype\terc\tkind\tm\trexp\tunit\tinitial_raw\t"
             "thresholds   (GENERATED by gen_fixtures.py)"]
    for s in SENSORS:
        if isinstance(s, Analog):
            th = ",".join("%s=%s" % (k, s.fmt(s.thresholds[k]))
                          for k in THRESHOLD_KEYS if k in s.thresholds)
            lines.append("0x%02x\t%s\t0x%02x\t0x01\tanalog\t%d\t%d\t%s\t%d\t%s"
                         % (s.num, s.name, s.stype, s.m, s.rexp,
                            UNIT_NAME[s.unit] or "-", s.raw, th or "-"))
        else:
            lines.append("0x%02x\t%s\t0x%02x\t0x%02x\tdiscrete\t-\t-\t-\t-\t-"
                         % (s.num, s.name, s.stype, s.erc))
    return "\n".join(lines) + "\n"


TYPE_NAME = {T_TEMP: "Temperature", T_VOLT: "Voltage", T_CURR: "Current",
             T_FAN: "Fan", T_SECURITY: "Physical Security",
             T_CPU: "Processor", T_PSU: "Power Supply",
             T_PWR_UNIT: "Power Unit", T_OTHER_UNITS: "Other Units Based",
             T_DRIVE: "Drive Slot", T_WATCHDOG2: "Watchdog 2"}


def table_md():
    rows = ["| # | Rec | Name | Type | Unit (step) | LNR | LC | LNC | UNC | UC "
            "| UNR | Initial (raw) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for rec, s in enumerate(SENSORS, 3):     # records 1-2: MC, FRU locators
        if isinstance(s, Analog):
            th = [s.fmt(s.thresholds[k]) if k in s.thresholds else ""
                  for k in THRESHOLD_KEYS]
            unit = "%s (%g)" % (UNIT_NAME[s.unit], s.step())
            rows.append("| 0x%02x | %d | %s | %s | %s | %s | %s (%d) |"
                        % (s.num, rec, s.name, TYPE_NAME[s.stype], unit,
                           " | ".join(th), s.fmt(s.value), s.raw))
        else:
            states = ", ".join("%d=%s" % (k, v)
                               for k, v in sorted(s.offsets.items()))
            init = ", ".join(str(o) for o in s.initial) or "none"
            rows.append("| 0x%02x | %d | %s | %s (0x%02x) | discrete: %s | | | "
                        "| | | | asserted: %s |"
                        % (s.num, rec, s.name, TYPE_NAME[s.stype], s.erc, states,
                           init))
    return "\n".join(rows) + "\n"


def OUTPUTS():
    return (("server.emu", emu_text()), ("sel.emu", sel_text()),
            ("sdr.20.main", sdr_persist_text()),
            ("sensors.tsv", sensors_tsv()))


def write(path, text):
    if path in (None, "-"):
        sys.stdout.write(text)
        return
    with open(path, "w") as f:
        f.write(text)


def main(argv):
    if len(argv) < 2:
        sys.stderr.write(__doc__)
        return 2
    cmd = argv[1]
    if cmd == "emu":
        write(argv[2] if len(argv) > 2 else os.path.join(HERE, "server.emu"),
              emu_text())
    elif cmd == "sdr":
        write(argv[2] if len(argv) > 2 else os.path.join(HERE, "sdr.20.main"),
              sdr_persist_text())
    elif cmd == "sel":
        write(argv[2] if len(argv) > 2 else os.path.join(HERE, "sel.emu"),
              sel_text())
    elif cmd == "all":
        for name, text in OUTPUTS():
            write(os.path.join(HERE, name), text)
    elif cmd == "sensors":
        write(argv[2] if len(argv) > 2 else os.path.join(HERE, "sensors.tsv"),
              sensors_tsv())
    elif cmd == "table":
        write("-", table_md())
    elif cmd == "fru":
        if len(argv) < 3:
            sys.stderr.write("usage: gen_fixtures.py fru OUT [--instance N]\n")
            return 2
        instance = 0
        if len(argv) >= 5 and argv[3] == "--instance":
            instance = int(argv[4])
        with open(argv[2], "wb") as f:
            f.write(fru_image(instance))
    elif cmd == "check":
        bad = 0
        for name, text in OUTPUTS():
            try:
                with open(os.path.join(HERE, name)) as f:
                    if f.read() == text:
                        continue
            except OSError:
                pass
            sys.stderr.write("%s is out of date: run gen_fixtures.py\n" % name)
            bad = 1
        return bad
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
