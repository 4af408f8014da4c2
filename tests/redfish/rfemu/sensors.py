"""Sensors and the legacy Thermal / Power resources.

A Sensor's Status.Health follows its Thresholds: Critical at or beyond
UpperCritical/LowerCritical (or the Fatal ones), Warning at or beyond
UpperCaution/LowerCaution, OK otherwise.  Sensors in the host's power
domain read null with Status.State "StandbyOffline" while the system is
off (CPU temperatures, fans, the main rails), or a standby value (power
draw); the PSU input readings stay.  POST /_emulator/sensor sets a
reading; when that changes the health, the system's SEL gets an entry
(SensorEvent registry) and subscribers an Alert event.

Thermal (Temperatures[], Fans[]) and Power (PowerControl[], Voltages[],
PowerSupplies[]) are computed from the same sensors, so the deprecated and
the current views always agree, as they do on a real BMC.
"""

import copy

from .model import Resource, ref, join

UPPER = (("UpperFatal", "Critical"), ("UpperCritical", "Critical"),
         ("UpperCaution", "Warning"))
LOWER = (("LowerFatal", "Critical"), ("LowerCritical", "Critical"),
         ("LowerCaution", "Warning"))
KEEP = "keep"


def _num(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def threshold(body, name):
    t = body.get("Thresholds", {}).get(name)
    if isinstance(t, dict) and _num(t.get("Reading")):
        return t["Reading"]
    return None


def health_of(body, reading):
    """(health, threshold name or None) for a reading."""
    if not _num(reading):
        return "OK", None
    for name, health in UPPER:
        limit = threshold(body, name)
        if limit is not None and reading >= limit:
            return health, name
    for name, health in LOWER:
        limit = threshold(body, name)
        if limit is not None and reading <= limit:
            return health, name
    return "OK", None


class SensorResource(Resource):
    """One Sensor.  `power` is the PowerMachine of the system whose power
    domain the sensor is in (None: always powered); `off_reading` is the
    reading while that system is off (None: null/StandbyOffline; KEEP: the
    stored one)."""

    methods = ("GET",)

    def __init__(self, path, body, power=None, off_reading=KEEP,
                 dynamic_health=True):
        super().__init__(path, body)
        self.power = power
        self.off_reading = off_reading
        self.override = None
        self.dynamic_health = dynamic_health
        self.system = None          # SystemState, for the SEL

    @property
    def name(self):
        return self.body.get("Name", self.body.get("Id", ""))

    def powered(self):
        return self.power is None or self.power.is_on

    def reading(self):
        if self.override is not None:
            return self.override
        if not self.powered() and self.off_reading != KEEP:
            return self.off_reading
        return self.body.get("Reading")

    def health(self):
        return health_of(self.body, self.reading())

    def state(self):
        if self.reading() is None and not self.powered():
            return "StandbyOffline"
        return self.body.get("Status", {}).get("State", "Enabled")

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        reading = self.reading()
        view["Reading"] = reading
        if self.dynamic_health or self.override is not None:
            status = view.setdefault("Status", {})
            status["State"] = self.state()
            status["Health"] = self.health()[0]
            status.pop("Conditions", None)
        return view

    def set_reading(self, emu, value):
        before = self.health()
        self.override = value
        after = self.health()
        if before[0] != after[0]:
            emu.sensor_health_changed(self, after, value)


def temperature(chassis, sid, name, reading, context, uc, ucrit, lc=None,
                lcrit=None, rmax=125):
    return _sensor(chassis, sid, name, "Temperature", "Cel", reading,
                   context, uc, ucrit, lc, lcrit, 0, rmax)


def _sensor(chassis, sid, name, rtype, units, reading, context, uc, ucrit,
            lc, lcrit, rmin, rmax):
    thresholds = {}
    for key, value in (("UpperCaution", uc), ("UpperCritical", ucrit),
                       ("LowerCaution", lc), ("LowerCritical", lcrit)):
        if value is not None:
            thresholds[key] = {"Reading": value}
    return {
        "@odata.id": join(chassis, "Sensors", sid),
        "@odata.type": "#Sensor.v1_7_0.Sensor",
        "Id": sid,
        "Name": name,
        "ReadingType": rtype,
        "ReadingUnits": units,
        "Reading": reading,
        "ReadingRangeMin": rmin,
        "ReadingRangeMax": rmax,
        "PhysicalContext": context,
        "Status": {"State": "Enabled", "Health": "OK"},
        "Thresholds": thresholds,
    }


# The sensors of one generated chassis:
# (Id, Name, ReadingType, units, reading, PhysicalContext,
#  UpperCaution, UpperCritical, LowerCaution, LowerCritical, min, max,
#  reading while the host is off (None = StandbyOffline, KEEP = unchanged))
SENSOR_TABLE = (
    ("CPU1Temp", "CPU1 Temp", "Temperature", "Cel", 45, "CPU",
     85, 95, None, None, 0, 125, None),
    ("CPU2Temp", "CPU2 Temp", "Temperature", "Cel", 47, "CPU",
     85, 95, None, None, 0, 125, None),
    ("DIMMTemp", "DIMM Temp", "Temperature", "Cel", 38, "Memory",
     80, 90, None, None, 0, 125, None),
    ("InletTemp", "Inlet Temp", "Temperature", "Cel", 23, "Intake",
     40, 45, 5, 0, -20, 80, KEEP),
    ("ExhaustTemp", "Exhaust Temp", "Temperature", "Cel", 35, "Exhaust",
     70, 80, None, None, 0, 100, KEEP),
    ("Fan1", "Fan 1", "Rotational", "RPM", 5200, "Fan",
     None, None, 1000, 500, 0, 15000, None),
    ("Fan2", "Fan 2", "Rotational", "RPM", 5300, "Fan",
     None, None, 1000, 500, 0, 15000, None),
    ("Fan3", "Fan 3", "Rotational", "RPM", 5150, "Fan",
     None, None, 1000, 500, 0, 15000, None),
    ("Fan4", "Fan 4", "Rotational", "RPM", 5250, "Fan",
     None, None, 1000, 500, 0, 15000, None),
    ("P12V", "12V Rail", "Voltage", "V", 12.02, "VoltageRegulator",
     12.6, 13.2, 11.4, 10.8, 0, 15, None),
    ("P5V", "5V Rail", "Voltage", "V", 5.01, "VoltageRegulator",
     5.25, 5.5, 4.75, 4.5, 0, 7, None),
    ("P3V3", "3.3V Rail", "Voltage", "V", 3.31, "VoltageRegulator",
     3.46, 3.63, 3.14, 2.97, 0, 5, None),
    ("PSU1InputVoltage", "PSU1 Input Voltage", "Voltage", "V", 230,
     "PowerSupply", 250, 264, 200, 180, 0, 300, KEEP),
    ("PSU2InputVoltage", "PSU2 Input Voltage", "Voltage", "V", 231,
     "PowerSupply", 250, 264, 200, 180, 0, 300, KEEP),
    ("PSU1InputCurrent", "PSU1 Input Current", "Current", "A", 0.62,
     "PowerSupply", 4, 5, None, None, 0, 10, 0.03),
    ("PSU2InputCurrent", "PSU2 Input Current", "Current", "A", 0.6,
     "PowerSupply", 4, 5, None, None, 0, 10, 0.03),
    ("PSU1InputPower", "PSU1 Input Power", "Power", "W", 142,
     "PowerSupply", 700, 780, None, None, 0, 800, 6),
    ("PSU2InputPower", "PSU2 Input Power", "Power", "W", 138,
     "PowerSupply", 700, 780, None, None, 0, 800, 6),
    ("TotalPower", "Total Power", "Power", "W", 280, "Chassis",
     900, 1000, None, None, 0, 1600, 12),
)


def make_sensors(chassis_path, power):
    out = []
    for (sid, name, rtype, units, reading, context, uc, ucrit, lc, lcrit,
         rmin, rmax, off) in SENSOR_TABLE:
        body = _sensor(chassis_path, sid, name, rtype, units, reading,
                       context, uc, ucrit, lc, lcrit, rmin, rmax)
        out.append(SensorResource(body["@odata.id"], body, power=power,
                                  off_reading=off))
    return out


def _legacy_status(sensor):
    return {"State": sensor.state(), "Health": sensor.health()[0]}


class ThermalResource(Resource):
    """Legacy Chassis Thermal, computed from the chassis' sensors."""

    def __init__(self, path, sensors):
        super().__init__(path, {
            "@odata.type": "#Thermal.v1_7_1.Thermal",
            "Id": "Thermal",
            "Name": "Thermal",
        })
        self.sensors = sensors

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        temps, fans = [], []
        number = 0
        for s in self.sensors:
            number += 1
            rtype = s.body.get("ReadingType")
            if rtype == "Temperature":
                i = len(temps)
                item = {
                    "@odata.id": "%s#/Temperatures/%d" % (self.odata_id, i),
                    "MemberId": str(i),
                    "Name": s.name,
                    "SensorNumber": number,
                    "ReadingCelsius": s.reading(),
                    "PhysicalContext": s.body.get("PhysicalContext"),
                    "MinReadingRangeTemp": s.body.get("ReadingRangeMin"),
                    "MaxReadingRangeTemp": s.body.get("ReadingRangeMax"),
                    "Status": _legacy_status(s),
                    "RelatedItem": [ref(s.odata_id)],
                }
                _legacy_thresholds(item, s.body)
                temps.append(item)
            elif rtype == "Rotational":
                i = len(fans)
                item = {
                    "@odata.id": "%s#/Fans/%d" % (self.odata_id, i),
                    "MemberId": str(i),
                    "Name": s.name,
                    "Reading": s.reading(),
                    "ReadingUnits": "RPM",
                    "PhysicalContext": "Fan",
                    "MinReadingRange": s.body.get("ReadingRangeMin"),
                    "MaxReadingRange": s.body.get("ReadingRangeMax"),
                    "Status": _legacy_status(s),
                    "RelatedItem": [ref(s.odata_id)],
                }
                _legacy_thresholds(item, s.body)
                fans.append(item)
        view["Temperatures"] = temps
        view["Fans"] = fans
        return view


def _legacy_thresholds(item, body):
    for new, old in (("UpperCaution", "UpperThresholdNonCritical"),
                     ("UpperCritical", "UpperThresholdCritical"),
                     ("UpperFatal", "UpperThresholdFatal"),
                     ("LowerCaution", "LowerThresholdNonCritical"),
                     ("LowerCritical", "LowerThresholdCritical"),
                     ("LowerFatal", "LowerThresholdFatal")):
        value = threshold(body, new)
        if value is not None:
            item[old] = value


class PowerResource(Resource):
    """Legacy Chassis Power, computed from the chassis' sensors."""

    PSU_WATTS = 800

    def __init__(self, path, sensors, serial_prefix):
        super().__init__(path, {
            "@odata.type": "#Power.v1_7_1.Power",
            "Id": "Power",
            "Name": "Power",
        })
        self.sensors = {s.body["Id"]: s for s in sensors}
        self.order = sensors
        self.serial_prefix = serial_prefix

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        total = self.sensors["TotalPower"]
        watts = total.reading()
        view["PowerControl"] = [{
            "@odata.id": "%s#/PowerControl/0" % self.odata_id,
            "MemberId": "0",
            "Name": "System Power Control",
            "PowerConsumedWatts": watts,
            "PowerCapacityWatts": 2 * self.PSU_WATTS,
            "PowerRequestedWatts": watts,
            "PowerAvailableWatts": (2 * self.PSU_WATTS - watts)
            if watts is not None else None,
            "PowerAllocatedWatts": watts,
            "PowerMetrics": {"IntervalInMin": 1,
                             "MinConsumedWatts": watts,
                             "MaxConsumedWatts": watts,
                             "AverageConsumedWatts": watts},
            "PowerLimit": {"LimitInWatts": None,
                           "LimitException": "NoAction"},
            "Status": _legacy_status(total),
            "RelatedItem": [ref(total.odata_id)],
        }]
        volts = []
        number = 0
        for s in self.order:
            number += 1
            if s.body.get("ReadingType") != "Voltage":
                continue
            i = len(volts)
            item = {
                "@odata.id": "%s#/Voltages/%d" % (self.odata_id, i),
                "MemberId": str(i),
                "Name": s.name,
                "SensorNumber": number,
                "ReadingVolts": s.reading(),
                "MinReadingRange": s.body.get("ReadingRangeMin"),
                "MaxReadingRange": s.body.get("ReadingRangeMax"),
                "PhysicalContext": s.body.get("PhysicalContext"),
                "Status": _legacy_status(s),
                "RelatedItem": [ref(s.odata_id)],
            }
            _legacy_thresholds(item, s.body)
            volts.append(item)
        view["Voltages"] = volts
        psus = []
        for n in (1, 2):
            vin = self.sensors["PSU%dInputVoltage" % n]
            pin = self.sensors["PSU%dInputPower" % n]
            worst = max((vin.health()[0], pin.health()[0]),
                        key=("OK", "Warning", "Critical").index)
            psus.append({
                "@odata.id": "%s#/PowerSupplies/%d" % (self.odata_id, n - 1),
                "MemberId": str(n - 1),
                "Name": "PSU%d" % n,
                "PowerSupplyType": "AC",
                "LineInputVoltageType": "ACWideRange",
                "LineInputVoltage": vin.reading(),
                "PowerInputWatts": pin.reading(),
                "LastPowerOutputWatts": (round(pin.reading() * 0.94, 1)
                                         if _num(pin.reading()) else None),
                "PowerCapacityWatts": self.PSU_WATTS,
                "Manufacturer": "Underlay",
                "Model": "UL-PSU-800",
                "SerialNumber": "%sPSU%d" % (self.serial_prefix, n),
                "PartNumber": "UL-800-AC",
                "FirmwareVersion": "1.2.0",
                "Status": {"State": "Enabled", "Health": worst},
                "RelatedItem": [ref(vin.odata_id), ref(pin.odata_id)],
            })
        view["PowerSupplies"] = psus
        return view
