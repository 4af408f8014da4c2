"""BIOS settings (Bios, Bios/Settings) and their attribute registry.

  /redfish/v1/Systems/N/Bios            #Bios.v1_2_0.Bios: the current
                                        Attributes, @Redfish.Settings
  /redfish/v1/Systems/N/Bios/Settings   the pending Attributes only; PATCH
  /redfish/v1/Systems/N/Bios/Actions/Bios.ResetBios
  /redfish/v1/Registries/BiosAttributeRegistryUL1000.v1_0_0   (file)
  /redfish/v1/Registries/BiosAttributeRegistryUL1000.v1_0_0/Registry
                                        #AttributeRegistry.v1_3_0

A PATCH of Bios/Settings {"Attributes": {...}, "@Redfish.SettingsApplyTime":
{"ApplyTime": "OnReset"|"Immediate"}} is validated attribute by attribute
against the registry (every problem reported, nothing staged on error);
valid values merge into the pending set.  Immediate applies them at once;
OnReset (the default) when the system next reaches On after a reset or a
power-on.  --bios-apply-times limits SupportedApplyTimes (another value is
PropertyValueNotInList); --no-bios-registry hides the registry.  At apply, attributes named in the "bios_reject" fault are
refused: dropped from pending, not applied, one message each in
@Redfish.Settings.Messages.
"""

import copy
import json
import re

from .messages import RedfishError, custom_message, err, message
from .model import Resource, Response, compute_etag, ref
from . import util

V1 = "/redfish/v1"
REGISTRY_ID = "BiosAttributeRegistryUL1000.v1_0_0"
REGISTRY_FILE = V1 + "/Registries/" + REGISTRY_ID
REGISTRY_URI = REGISTRY_FILE + "/Registry"
BIOS_TYPE = "#Bios.v1_2_0.Bios"
APPLY_TIMES = ("Immediate", "OnReset")
REJECT_ID = "UnderlayBios.1.0.SettingsFailed"


def _enum(name, display, help_text, values, default, menu):
    return {"AttributeName": name, "DisplayName": display,
            "HelpText": help_text, "Type": "Enumeration",
            "ReadOnly": False, "ResetRequired": True,
            "DefaultValue": default, "MenuPath": menu,
            "Value": [{"ValueName": v, "ValueDisplayName": d}
                      for v, d in values]}


ENABLED = (("Enabled", "Enabled"), ("Disabled", "Disabled"))

ATTRIBUTES = [
    _enum("BootMode", "Boot Mode",
          "UEFI or legacy BIOS boot.",
          (("Uefi", "UEFI"), ("LegacyBios", "Legacy BIOS")), "Uefi",
          "./BootSettings"),
    {"AttributeName": "SecureBoot", "DisplayName": "Secure Boot",
     "HelpText": "Verify the signatures of UEFI boot loaders.",
     "Type": "Boolean", "ReadOnly": False, "ResetRequired": True,
     "DefaultValue": False, "MenuPath": "./BootSettings"},
    _enum("ProcHyperthreading", "Logical Processor",
          "Two logical processors per core (Hyper-Threading).", ENABLED,
          "Enabled", "./ProcessorSettings"),
    _enum("ProcTurboMode", "Turbo Mode",
          "Let cores run above their base frequency.", ENABLED,
          "Enabled", "./ProcessorSettings"),
    _enum("ProcVirtualization", "Virtualization Technology",
          "Hardware-assisted virtualization (VT-x, VT-d).", ENABLED,
          "Enabled", "./ProcessorSettings"),
    {"AttributeName": "ProcCoreDisable", "DisplayName": "Disabled Cores",
     "HelpText": "Cores disabled per processor (0: all cores enabled).",
     "Type": "Integer", "ReadOnly": False, "ResetRequired": True,
     "DefaultValue": 0, "LowerBound": 0, "UpperBound": 32,
     "ScalarIncrement": 1, "MenuPath": "./ProcessorSettings"},
    {"AttributeName": "NumaNodesPerSocket", "DisplayName": "NUMA Nodes Per "
     "Socket", "HelpText": "Sub-NUMA clustering: NUMA nodes per socket.",
     "Type": "Integer", "ReadOnly": False, "ResetRequired": True,
     "DefaultValue": 1, "LowerBound": 1, "UpperBound": 4,
     "ScalarIncrement": 1, "MenuPath": "./MemorySettings"},
    _enum("SriovGlobalEnable", "SR-IOV Global Enable",
          "Single-root I/O virtualization for every device.", ENABLED,
          "Disabled", "./IntegratedDevices"),
    _enum("PowerProfile", "System Profile",
          "Power and performance profile.",
          (("MaxPerf", "Maximum Performance"), ("Balanced", "Balanced"),
           ("PowerSaver", "Power Saver")), "Balanced",
          "./SystemProfileSettings"),
    _enum("SerialConsole", "Serial Console Redirection",
          "Redirect the console to a serial port.",
          (("Disabled", "Disabled"), ("Com1", "COM1"), ("Com2", "COM2")),
          "Disabled", "./SerialCommSettings"),
    {"AttributeName": "AdminPhone", "DisplayName": "Administrator Phone",
     "HelpText": "Phone number of the administrator (digits, spaces, "
                 "+ - . ( )).",
     "Type": "String", "ReadOnly": False, "ResetRequired": True,
     "DefaultValue": "", "MinLength": 0, "MaxLength": 32,
     "ValueExpression": "^[0-9+(). -]*$", "MenuPath": "./MiscSettings"},
    {"AttributeName": "AdminPassword", "DisplayName": "Setup Password",
     "HelpText": "Password of the BIOS setup (write only; reads as null).",
     "Type": "Password", "ReadOnly": False, "ResetRequired": True,
     "DefaultValue": None, "MinLength": 0, "MaxLength": 32,
     "MenuPath": "./SystemSecurity"},
    {"AttributeName": "SystemServiceTag", "DisplayName": "Service Tag",
     "HelpText": "The system's service tag (its serial number).",
     "Type": "String", "ReadOnly": True, "ResetRequired": False,
     "DefaultValue": None, "MinLength": 0, "MaxLength": 16,
     "MenuPath": "./SystemInformation"},
]

BY_NAME = {a["AttributeName"]: a for a in ATTRIBUTES}


def show(value):
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return "<%s>" % ("object" if isinstance(value, dict) else "array")
    return json.dumps(value)


def validate_attribute(name, value):
    """Messages (empty when valid) for one attribute of a PATCH."""
    related = ["#/Attributes/%s" % name]
    entry = BY_NAME.get(name)
    if entry is None:
        return [message("PropertyUnknown", name, related=related,
                        detail="There is no BIOS attribute %s." % name)]
    if entry.get("ReadOnly"):
        return [message("PropertyNotWritable", name, related=related)]
    kind = entry["Type"]
    shown = show(value)
    if kind == "Enumeration":
        if not isinstance(value, str):
            return [message("PropertyValueTypeError", shown, name,
                            related=related,
                            detail="%s takes a string." % name)]
        names = [v["ValueName"] for v in entry["Value"]]
        if value not in names:
            return [message("PropertyValueNotInList", value, name,
                            related=related,
                            detail="Allowed: %s." % ", ".join(names))]
    elif kind == "Integer":
        if not isinstance(value, int) or isinstance(value, bool):
            return [message("PropertyValueTypeError", shown, name,
                            related=related,
                            detail="%s takes an integer." % name)]
        low, high = entry["LowerBound"], entry["UpperBound"]
        step = entry.get("ScalarIncrement") or 1
        if not low <= value <= high or (value - low) % step:
            return [message("PropertyValueOutOfRange", shown, name,
                            related=related,
                            detail="%s takes %d..%d." % (name, low, high))]
    elif kind == "Boolean":
        if not isinstance(value, bool):
            return [message("PropertyValueTypeError", shown, name,
                            related=related,
                            detail="%s takes true or false." % name)]
    elif kind in ("String", "Password"):
        if not isinstance(value, str):
            return [message("PropertyValueTypeError", shown, name,
                            related=related,
                            detail="%s takes a string." % name)]
        low, high = entry.get("MinLength", 0), entry.get("MaxLength")
        if len(value) < low or (high is not None and len(value) > high):
            shown = "<hidden>" if kind == "Password" else value
            return [message("PropertyValueOutOfRange", shown, name,
                            related=related,
                            detail="%s takes %d to %d characters; %d given."
                            % (name, low, high, len(value)))]
        expr = entry.get("ValueExpression")
        if expr and not re.match(expr, value):
            return [message("PropertyValueFormatError", value, name,
                            related=related,
                            detail="%s must match %s." % (name, expr))]
    return []


def registry_entries():
    out = []
    for entry in ATTRIBUTES:
        e = copy.deepcopy(entry)
        if e["Type"] == "Password":
            e["WriteOnly"] = True
        out.append(e)
    return out


class BiosState:
    """The BIOS settings of one system."""

    def __init__(self, emu, system, path, serial, firmware_path,
                 registry=True, apply_times=APPLY_TIMES):
        self.emu = emu
        self.system = system            # SystemState
        self.path = path
        self.settings_path = path + "/Settings"
        self.reset_path = path + "/Actions/Bios.ResetBios"
        self.firmware_path = firmware_path
        self.registry = registry
        self.apply_times = [t for t in APPLY_TIMES if t in apply_times] \
            or list(APPLY_TIMES)
        self.default_apply = "OnReset" if "OnReset" in self.apply_times \
            else self.apply_times[0]
        self.current = {}
        for entry in ATTRIBUTES:
            self.current[entry["AttributeName"]] = entry["DefaultValue"]
        self.current["SystemServiceTag"] = serial
        self.current["AdminPassword"] = ""
        self.pending = {}
        self.apply_time = "OnReset"
        self.reset_defaults_pending = False
        self.last_time = util.now_iso()
        self.last_messages = []
        self.last_etag = compute_etag(self.settings_view())
        self.history = []               # applies, newest last

    # -- views -----------------------------------------------------------------

    @staticmethod
    def _public(attrs):
        return {k: (None if BY_NAME.get(k, {}).get("Type") == "Password"
                    else v) for k, v in attrs.items()}

    def settings_view(self):
        view = {
            "@odata.id": self.settings_path,
            "@odata.type": BIOS_TYPE,
            "Id": "Settings",
            "Name": "BIOS Pending Settings",
            "Description": "BIOS settings applied at the next reset",
            "Attributes": self._public(self.pending),
        }
        if self.registry:
            view["AttributeRegistry"] = REGISTRY_ID
        if self.pending:
            view["@Redfish.SettingsApplyTime"] = {
                "@odata.type": "#Settings.v1_3_0.PreferredApplyTime",
                "ApplyTime": self.apply_time}
        return view

    def bios_view(self):
        view = {
            "@odata.id": self.path,
            "@odata.type": BIOS_TYPE,
            "Id": "Bios",
            "Name": "BIOS Configuration Current Settings",
            "Description": "BIOS configuration of the system",
            "Attributes": self._public(self.current),
            "ResetBiosToDefaultsPending": self.reset_defaults_pending,
            "@Redfish.Settings": {
                "@odata.type": "#Settings.v1_3_0.Settings",
                "SettingsObject": ref(self.settings_path),
                "SupportedApplyTimes": list(self.apply_times),
                "Time": self.last_time,
                "ETag": self.last_etag,
                "Messages": copy.deepcopy(self.last_messages),
            },
            "Actions": {"#Bios.ResetBios": {"target": self.reset_path}},
        }
        if self.registry:
            view["AttributeRegistry"] = REGISTRY_ID
        if self.firmware_path:
            view["Links"] = {
                "ActiveSoftwareImage": ref(self.firmware_path),
                "SoftwareImages": [ref(self.firmware_path)],
                "SoftwareImages@odata.count": 1,
            }
        return view

    # -- changes -----------------------------------------------------------------

    def stage(self, attrs, apply_time):
        self.pending.update(attrs)
        if apply_time == "Immediate":
            self.apply("Immediate")
        else:
            self.apply_time = apply_time

    def reset_to_defaults(self):
        for entry in ATTRIBUTES:
            name = entry["AttributeName"]
            if entry.get("ReadOnly") or entry["Type"] == "Password":
                continue
            if self.current.get(name) != entry["DefaultValue"] or \
                    name in self.pending:
                self.pending[name] = entry["DefaultValue"]
        self.apply_time = "OnReset"
        self.reset_defaults_pending = True

    def apply(self, trigger):
        """Apply the pending settings (lock held).  False if none."""
        if not self.pending and not self.reset_defaults_pending:
            return False
        etag = compute_etag(self.settings_view())
        reject = self.emu.faults.get("bios_reject") or []
        applied, refused, messages = {}, {}, []
        for name, value in self.pending.items():
            if name in reject:
                refused[name] = value
                shown = "<hidden>" if BY_NAME.get(name, {}).get(
                    "Type") == "Password" else show(value)
                messages.append(custom_message(
                    REJECT_ID,
                    "The BIOS refused %s=%s: the system firmware rejected "
                    "the value when applying the settings." % (name, shown),
                    "Warning", [name, shown],
                    related=["#/Attributes/%s" % name],
                    resolution="Check the value, stage it again and reset "
                               "the system."))
            else:
                self.current[name] = value
                applied[name] = value
        self.pending = {}
        self.reset_defaults_pending = False
        self.apply_time = "OnReset"
        self.last_time = util.now_iso()
        self.last_etag = etag
        self.last_messages = messages
        self.history.append({"time": self.last_time, "trigger": trigger,
                             "applied": self._public(applied),
                             "refused": self._public(refused)})
        del self.history[:-10]
        return True

    def on_boot(self):
        self.apply("Reset")

    def state(self):
        return {
            "current": self._public(self.current),
            "pending": self._public(self.pending),
            "apply_time": self.apply_time if self.pending else None,
            "reset_defaults_pending": self.reset_defaults_pending,
            "last_apply": {"time": self.last_time, "etag": self.last_etag,
                           "messages": [m["Message"]
                                        for m in self.last_messages]},
            "history": copy.deepcopy(self.history),
            "registry": self.registry,
        }


class BiosResource(Resource):
    methods = ("GET",)

    def __init__(self, bios):
        super().__init__(bios.path, {"@odata.type": BIOS_TYPE})
        self.bios = bios

    def view(self, ctx):
        return self.bios.bios_view()

    def reset_bios(self, ctx, data):
        for key in data:
            raise err(400, "ActionParameterUnknown", "Bios.ResetBios", key)
        self.bios.reset_to_defaults()
        return Response(204)


class BiosSettingsResource(Resource):
    methods = ("GET", "PATCH")
    READ_ONLY = ("Id", "Name", "Description", "AttributeRegistry",
                 "@Redfish.Settings", "Actions", "Links",
                 "ResetBiosToDefaultsPending")

    def __init__(self, bios):
        super().__init__(bios.settings_path, {"@odata.type": BIOS_TYPE})
        self.bios = bios

    def view(self, ctx):
        return self.bios.settings_view()

    def apply_patch(self, ctx, data):
        errors = []
        attrs = {}
        supported = self.bios.apply_times
        apply_time = self.bios.default_apply
        for key, value in data.items():
            if key == "Attributes":
                if not isinstance(value, dict):
                    errors.append(message("PropertyValueTypeError",
                                          show(value), key,
                                          related=["#/Attributes"]))
                    continue
                for name, v in value.items():
                    errors += validate_attribute(name, v)
                attrs = value
            elif key == "@Redfish.SettingsApplyTime":
                errors += self._check_apply_time(value, supported)
                if isinstance(value, dict) and \
                        value.get("ApplyTime") in supported:
                    apply_time = value["ApplyTime"]
            elif key in self.READ_ONLY:
                errors.append(message("PropertyNotWritable", key,
                                      related=["#/" + key]))
            else:
                errors.append(message("PropertyUnknown", key,
                                      related=["#/" + key]))
        if errors:
            raise RedfishError(400, errors)
        self.bios.stage(dict(attrs), apply_time)

    @staticmethod
    def _check_apply_time(value, supported):
        key = "@Redfish.SettingsApplyTime"
        if not isinstance(value, dict):
            return [message("PropertyValueTypeError", show(value), key,
                            related=["#/" + key])]
        errors = []
        for k, v in value.items():
            prop = "%s/%s" % (key, k)
            if k == "@odata.type":
                continue
            if k != "ApplyTime":
                errors.append(message("PropertyUnknown", prop,
                                      related=["#/" + prop]))
            elif not isinstance(v, str):
                errors.append(message("PropertyValueTypeError", show(v),
                                      prop, related=["#/" + prop]))
            elif v not in supported:
                errors.append(message(
                    "PropertyValueNotInList", v, prop, related=["#/" + prop],
                    detail="Supported: %s." % ", ".join(supported)))
        return errors


class RegistryFileResource(Resource):
    pass


def add_registry(emu, registries):
    """The BIOS attribute registry file and the registry itself."""
    emu.tree.add(RegistryFileResource(REGISTRY_FILE, {
        "@odata.type": "#MessageRegistryFile.v1_1_3.MessageRegistryFile",
        "Id": REGISTRY_ID,
        "Name": "UL-R1000 BIOS Attribute Registry File",
        "Description": "Attribute registry of the UL-R1000 BIOS",
        "Languages": ["en"],
        "Registry": REGISTRY_ID,
        "Location": [{"Language": "en", "Uri": REGISTRY_URI}],
    }))
    registries.add_member(REGISTRY_FILE)
    emu.tree.add(Resource(REGISTRY_URI, {
        "@odata.type": "#AttributeRegistry.v1_3_0.AttributeRegistry",
        "Id": REGISTRY_ID,
        "Name": "UL-R1000 BIOS Attribute Registry",
        "Description": "The BIOS attributes of the UL-R1000 and their "
                       "allowed values",
        "Language": "en",
        "RegistryVersion": "1.0.0",
        "OwningEntity": "Underlay",
        "SupportedSystems": [{"ProductName": "UL-R1000",
                              "SystemId": "UL1000",
                              "FirmwareVersion": "U46"}],
        "RegistryEntries": {"Attributes": registry_entries()},
    }))


def add_bios(emu, state, serial, firmware_path):
    """Bios, Bios/Settings and the ResetBios action of one system."""
    from .model import ActionTarget
    cfg = emu.config
    bios = BiosState(emu, state, state.path + "/Bios", serial, firmware_path,
                     registry=getattr(cfg, "bios_registry", True),
                     apply_times=getattr(cfg, "bios_apply_times",
                                         APPLY_TIMES))
    res = emu.tree.add(BiosResource(bios))
    emu.tree.add(BiosSettingsResource(bios))
    emu.tree.add(ActionTarget(bios.reset_path, "Bios.ResetBios",
                              res.reset_bios, res))
    state.bios = bios
    state.boot_hooks.append(bios.on_boot)
    return bios
