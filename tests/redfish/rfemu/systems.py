"""ComputerSystem, Chassis and Manager resources (both the generated tree
and mockups use these).

ComputerSystem
  PowerState     from the system's PowerMachine (see power.py)
  Reset          POST {"ResetType"} to the action target: the value must be
                 in ResetType@Redfish.AllowableValues (or the ActionInfo's
                 AllowableValues); else 400 ActionParameterValueNotInList.
                 Missing -> ActionParameterMissing, other parameters ->
                 ActionParameterUnknown.  Answers 204 (or 200 with a
                 Success message, --reset-status 200).
  Boot PATCH     BootSourceOverrideTarget must be in
                 BootSourceOverrideTarget@Redfish.AllowableValues,
                 BootSourceOverrideEnabled in Once/Continuous/Disabled,
                 BootSourceOverrideMode in UEFI/Legacy (or the resource's
                 own @Redfish.AllowableValues).  A service whose Boot has no
                 BootSourceOverrideMode (HPE iLO 5) rejects it as unknown.
                 All errors of one PATCH come back together (400, one
                 message each); nothing is applied unless all are valid.
  Boot "Once"    consumed when the system next reaches On: Enabled goes
                 back to Disabled and Target to None, as real BMCs do; the
                 boot that used it is recorded (GET /_emulator/state).
"""

import copy

from .messages import RedfishError, err, message, success_body
from .model import Resource, Response
from . import util

BOOT_TARGETS = ("None", "Pxe", "Floppy", "Cd", "Usb", "Hdd", "BiosSetup",
                "Utilities", "Diags", "UefiShell", "UefiTarget", "SDCard",
                "UefiHttp", "RemoteDrive", "UefiBootNext", "Recovery")
BOOT_ENABLED = ("Disabled", "Once", "Continuous")
BOOT_MODES = ("Legacy", "UEFI")
INDICATOR_LED = ("Lit", "Blinking", "Off")


def _str(value):
    return isinstance(value, str)


def _bool(value):
    return isinstance(value, bool)


def check_props(resource, data, spec, prefix="", current=None):
    """Validate a PATCH body against spec {name: validator}; a validator is
    a type test function or a tuple of allowed strings.  Returns a list of
    error messages (empty when all are valid)."""
    current = resource.body if current is None else current
    errors = []
    for key, value in data.items():
        prop = prefix + key
        if key not in spec:
            if key in current:
                errors.append(message("PropertyNotWritable", prop,
                                      related=["#/" + prop]))
            else:
                errors.append(message("PropertyUnknown", prop,
                                      related=["#/" + prop]))
            continue
        check = spec[key]
        if isinstance(check, tuple):
            if not isinstance(value, str):
                errors.append(message("PropertyValueTypeError",
                                      _show(value), prop,
                                      related=["#/" + prop]))
            elif value not in check:
                errors.append(message("PropertyValueNotInList", value, prop,
                                      related=["#/" + prop]))
        elif not check(value):
            errors.append(message("PropertyValueTypeError", _show(value),
                                  prop, related=["#/" + prop]))
    return errors


def _show(value):
    if isinstance(value, (dict, list)):
        return "<%s>" % type(value).__name__
    return value


class SystemState:
    """Everything the emulator tracks about one ComputerSystem."""

    def __init__(self, resource, power):
        self.resource = resource
        self.power = power
        self.chassis = []           # ChassisResource
        self.managers = []          # ManagerResource
        self.logs = []              # LogEntryCollection (system logs)
        self.manager_logs = []      # LogEntryCollection (manager logs)
        self.sensors = []           # SensorResource
        self.boots = []             # [{"time", "target", "mode", ...}]
        self.reset_log = []         # [(time, ResetType)]
        self.bios = None            # bios.BiosState (generated tree)
        self.storage = None         # storage.StorageState
        self.boot_hooks = []        # called when the system reaches On

    @property
    def id(self):
        return self.resource.body.get("Id", "")

    @property
    def path(self):
        return self.resource.odata_id

    def state(self):
        boot = self.resource.body.get("Boot", {})
        return {
            "id": self.id,
            "path": self.path,
            "power_state": self.power.state,
            "pending": self.power.pending(),
            "resets": [{"time": t, "type": r} for t, r in self.reset_log],
            "boot": {k: v for k, v in boot.items() if "@" not in k},
            "boots": list(self.boots),
            "reset_values": list(self.resource.reset_values),
        }


class SystemResource(Resource):
    methods = ("GET", "PATCH")
    WRITABLE = {
        "AssetTag": _str,
        "HostName": _str,
        "IndicatorLED": INDICATOR_LED,
        "LocationIndicatorActive": _bool,
        "Boot": lambda v: isinstance(v, dict),
    }

    def __init__(self, path, body, reset_values):
        super().__init__(path, body)
        self.reset_values = list(reset_values)
        self.system = None          # SystemState
        self.reset_target = None

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        view["PowerState"] = self.system.power.state
        return view

    # -- PATCH ---------------------------------------------------------------

    def apply_patch(self, ctx, data):
        errors = check_props(self, data, self.WRITABLE)
        boot = data.get("Boot")
        if isinstance(boot, dict):
            errors += self.check_boot(boot)
        if errors:
            raise RedfishError(400, errors)
        for key, value in data.items():
            if key == "Boot":
                self.body.setdefault("Boot", {}).update(value)
            else:
                self.body[key] = value

    def check_boot(self, boot):
        current = self.body.get("Boot", {})

        def allowed(name, default):
            values = current.get(name + "@Redfish.AllowableValues")
            return tuple(values) if isinstance(values, list) else default

        spec = {
            "BootSourceOverrideTarget": allowed("BootSourceOverrideTarget",
                                                BOOT_TARGETS),
            "BootSourceOverrideEnabled": allowed("BootSourceOverrideEnabled",
                                                 BOOT_ENABLED),
            "UefiTargetBootSourceOverride": _str,
            "BootNext": _str,
            "HttpBootUri": _str,
            "BootOrder": lambda v: isinstance(v, list) and all(
                isinstance(x, str) for x in v),
        }
        if "BootSourceOverrideMode" in current:
            spec["BootSourceOverrideMode"] = allowed("BootSourceOverrideMode",
                                                     BOOT_MODES)
        return check_props(self, boot, spec, prefix="Boot/", current=current)

    # -- Reset ---------------------------------------------------------------

    def reset(self, ctx, data):
        name = "ComputerSystem.Reset"
        for key in data:
            if key != "ResetType":
                raise err(400, "ActionParameterUnknown", name, key)
        if "ResetType" not in data:
            raise err(400, "ActionParameterMissing", name, "ResetType")
        value = data["ResetType"]
        if not isinstance(value, str):
            raise err(400, "ActionParameterValueTypeError", _show(value),
                      "ResetType", name)
        if value not in self.reset_values:
            raise err(400, "ActionParameterValueNotInList", value,
                      "ResetType", name)
        ctx.emu.system_reset(self.system, value)
        if ctx.emu.config.reset_status == 200:
            return Response(200, success_body())
        return Response(204)

    # -- power hooks -----------------------------------------------------------

    def on_power(self, emu, old, new):
        if "LastResetTime" in self.body and new in ("PoweringOn",
                                                    "PoweringOff"):
            self.body["LastResetTime"] = util.now_iso()
        progress = self.body.get("BootProgress")
        if isinstance(progress, dict):
            if new == "On":
                progress["LastState"] = "OSRunning"
            elif new == "Off":
                progress["LastState"] = "None"
            elif new == "PoweringOn":
                progress["LastState"] = "SystemHardwareInitializationComplete"
            progress["LastStateTime"] = util.now_iso()
        if new == "On":
            boot = self.body.get("Boot")
            if isinstance(boot, dict):
                enabled = boot.get("BootSourceOverrideEnabled", "Disabled")
                target = boot.get("BootSourceOverrideTarget", "None")
                used = target if enabled in ("Once", "Continuous") else "None"
                self.system.boots.append({
                    "time": util.now_iso(),
                    "override": used,
                    "enabled": enabled,
                    "mode": boot.get("BootSourceOverrideMode"),
                })
                del self.system.boots[:-20]
                if enabled == "Once":
                    boot["BootSourceOverrideEnabled"] = "Disabled"
                    boot["BootSourceOverrideTarget"] = "None"


class ChassisResource(Resource):
    """A Chassis; PowerState follows the system(s) it contains."""

    methods = ("GET", "PATCH")
    WRITABLE = {
        "AssetTag": _str,
        "IndicatorLED": INDICATOR_LED,
        "LocationIndicatorActive": _bool,
    }

    def __init__(self, path, body):
        super().__init__(path, body)
        self.powers = []            # PowerMachine of contained systems

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        if self.powers and "PowerState" in view:
            states = [p.state for p in self.powers]
            view["PowerState"] = "On" if "On" in states else states[0]
        return view

    def apply_patch(self, ctx, data):
        errors = check_props(self, data, self.WRITABLE)
        if errors:
            raise RedfishError(400, errors)
        self.body.update(data)


class ManagerResource(Resource):
    """A Manager (BMC).  Manager.Reset ends every session (a real BMC
    reboot does) and, with --bmc-reset-downtime S, answers 503 for S
    seconds."""

    methods = ("GET", "PATCH")
    volatile = ("DateTime",)
    RESET_VALUES = ("GracefulRestart", "ForceRestart")

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        if "DateTime" in view:
            view["DateTime"] = util.now_iso()
        return view

    def apply_patch(self, ctx, data):
        errors = check_props(self, data, {"DateTimeLocalOffset": _str})
        if errors:
            raise RedfishError(400, errors)
        self.body.update(data)

    def reset(self, ctx, data):
        name = "Manager.Reset"
        value = data.get("ResetType", "GracefulRestart")
        for key in data:
            if key != "ResetType":
                raise err(400, "ActionParameterUnknown", name, key)
        allowed = self.body.get("Actions", {}).get("#Manager.Reset", {}).get(
            "ResetType@Redfish.AllowableValues", self.RESET_VALUES)
        if not isinstance(value, str) or value not in allowed:
            raise err(400, "ActionParameterValueNotInList", _show(value),
                      "ResetType", name)
        ctx.emu.manager_reset(self, value)
        return Response(204)

