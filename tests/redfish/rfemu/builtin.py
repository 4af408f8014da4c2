"""The generated service tree: a 1U rack server ("UL-R1000") per system.

/redfish                                   version document (no auth)
/redfish/v1/                               ServiceRoot (no auth)
/redfish/v1/odata                          OData service document (no auth)
/redfish/v1/$metadata                      CSDL naming the schemas (no auth)
/redfish/v1/Systems[/N]                    ComputerSystem N = 1..--systems
    /Actions/ComputerSystem.Reset          Reset action target
    /ResetActionInfo                       with --action-info
    /Processors/CPU1..2, /Memory/DIMMA1.., /EthernetInterfaces/NIC1..2
    /Bios, /Bios/Settings                  BIOS attributes (bios.py)
    /Storage/1 (+ /Drives/0..5, /Volumes)  RAID controller (storage.py)
    /LogServices/SEL/Entries[/K]           the system event log
/redfish/v1/Chassis[/N]                    Chassis N (RackMount)
    /Sensors[/Id]                          19 sensors (see sensors.py)
    /Thermal, /Power                       legacy views of the same sensors
/redfish/v1/Managers[/N]                   Manager N (BMC)
    /Actions/Manager.Reset
    /NetworkProtocol, /EthernetInterfaces/eth0
    /LogServices/EventLog/Entries[/K]      the BMC's own event log
/redfish/v1/SessionService[/Sessions/ID]   (absent with --no-session-service)
/redfish/v1/AccountService/Accounts/1, /Roles/{Administrator,Operator,ReadOnly}
/redfish/v1/EventService[/Subscriptions/ID]
    /Actions/EventService.SubmitTestEvent
/redfish/v1/Registries[/Id]                Base, BIOS attribute registry
/redfish/v1/TaskService/Tasks[/Id], /TaskMonitors/Id   (tasks.py)
/redfish/v1/UpdateService                  SimpleUpdate, multipart push
    /FirmwareInventory/{BMC,BIOS,RAID,NIC}_N   (update.py)

Serial numbers, UUIDs and MAC addresses derive from the port and the system
number, so instances on one machine never collide.
"""

from . import bios as bios_mod
from .events import EventServiceResource, SubscriptionCollection, \
    EVENT_TYPES, REGISTRY_PREFIXES, make_test_event_action
from .logs import add_log_service
from .model import ActionTarget, Collection, MetadataResource, \
    PublicResource, Resource, metadata_document, ref
from .power import PowerMachine
from .sensors import PowerResource, ThermalResource, make_sensors
from .sessions import AccountResource, SessionCollection, \
    SessionServiceResource
from .storage import add_storage
from .systems import BOOT_MODES, BOOT_ENABLED, ChassisResource, \
    ManagerResource, SystemResource, SystemState
from .tasks import add_task_service
from .update import add_firmware, add_update_service
from . import util

ROOT = "/redfish/v1/"
V1 = "/redfish/v1"
BOOT_TARGETS = ["None", "Pxe", "Cd", "Usb", "Hdd", "BiosSetup", "Diags",
                "UefiShell", "UefiHttp", "UefiTarget"]
BMC_VERSION = "1.42.0"
BIOS_VERSION = "U46 v2.10 (03/12/2025)"
NIC_VERSION = "22.31.6"


class VersionResource(PublicResource):
    etag_enabled = False


def collection(emu, path, odata_type, name, members=()):
    coll = Collection(path, {
        "@odata.type": "#%s.%s" % (odata_type, odata_type),
        "Name": name,
    })
    for m in members:
        coll.add_member(m)
    return emu.tree.add(coll)


def add_common(emu, root_body):
    """SessionService, AccountService, EventService, TaskService,
    UpdateService and the service root links to them."""
    cfg = emu.config
    tree = emu.tree
    if cfg.session_service:
        tree.add(SessionServiceResource(V1 + "/SessionService", {
            "@odata.type": "#SessionService.v1_1_8.SessionService",
            "Id": "SessionService",
            "Name": "Session Service",
            "Description": "Session Service",
            "Status": {"State": "Enabled", "Health": "OK"},
            "ServiceEnabled": True,
            "SessionTimeout": cfg.session_timeout,
            "Sessions": ref(V1 + "/SessionService/Sessions"),
        }))
        tree.add(SessionCollection(V1 + "/SessionService/Sessions", {
            "@odata.type": "#SessionCollection.SessionCollection",
            "Name": "Session Collection",
        }))
        root_body["SessionService"] = ref(V1 + "/SessionService")
        root_body["Links"] = {"Sessions":
                              ref(V1 + "/SessionService/Sessions")}

    tree.add(Resource(V1 + "/AccountService", {
        "@odata.type": "#AccountService.v1_13_0.AccountService",
        "Id": "AccountService",
        "Name": "Account Service",
        "Description": "Account Service",
        "Status": {"State": "Enabled", "Health": "OK"},
        "ServiceEnabled": True,
        "AuthFailureLoggingThreshold": 3,
        "MinPasswordLength": 8,
        "MaxPasswordLength": 64,
        "AccountLockoutThreshold": 0,
        "AccountLockoutDuration": 0,
        "LocalAccountAuth": "Enabled",
        "Accounts": ref(V1 + "/AccountService/Accounts"),
        "Roles": ref(V1 + "/AccountService/Roles"),
    }))
    collection(emu, V1 + "/AccountService/Accounts",
               "ManagerAccountCollection", "Accounts Collection",
               [V1 + "/AccountService/Accounts/1"])
    tree.add(AccountResource(V1 + "/AccountService/Accounts/1", {
        "@odata.type": "#ManagerAccount.v1_10_0.ManagerAccount",
        "Id": "1",
        "Name": "User Account",
        "Description": "User Account",
        "UserName": cfg.user,
        "Password": None,
        "RoleId": "Administrator",
        "Enabled": True,
        "Locked": False,
        "AccountTypes": ["Redfish"],
        "Links": {"Role": ref(V1 + "/AccountService/Roles/Administrator")},
    }))
    privileges = {
        "Administrator": ["Login", "ConfigureManager", "ConfigureUsers",
                          "ConfigureSelf", "ConfigureComponents"],
        "Operator": ["Login", "ConfigureSelf", "ConfigureComponents"],
        "ReadOnly": ["Login", "ConfigureSelf"],
    }
    collection(emu, V1 + "/AccountService/Roles", "RoleCollection",
               "Roles Collection",
               [V1 + "/AccountService/Roles/" + r for r in privileges])
    for role, privs in privileges.items():
        tree.add(Resource(V1 + "/AccountService/Roles/" + role, {
            "@odata.type": "#Role.v1_3_1.Role",
            "Id": role,
            "Name": "User Role",
            "RoleId": role,
            "IsPredefined": True,
            "AssignedPrivileges": privs,
        }))
    root_body["AccountService"] = ref(V1 + "/AccountService")

    es_path = V1 + "/EventService"
    test_path = es_path + "/Actions/EventService.SubmitTestEvent"
    service = tree.add(EventServiceResource(es_path, {
        "@odata.type": "#EventService.v1_10_0.EventService",
        "Id": "EventService",
        "Name": "Event Service",
        "Description": "Event Service",
        "Status": {"State": "Enabled", "Health": "OK"},
        "ServiceEnabled": True,
        "DeliveryRetryAttempts": 3,
        "DeliveryRetryIntervalSeconds": cfg.event_retry_interval,
        "EventFormatTypes": ["Event"],
        "EventTypesForSubscription": list(EVENT_TYPES),
        "RegistryPrefixes": list(REGISTRY_PREFIXES),
        "ResourceTypes": ["ComputerSystem", "Chassis", "Manager",
                          "LogService", "Sensor"],
        "SubordinateResourcesSupported": True,
        "Subscriptions": ref(es_path + "/Subscriptions"),
        "Actions": {"#EventService.SubmitTestEvent": {
            "target": test_path,
            "EventType@Redfish.AllowableValues": list(EVENT_TYPES),
        }},
    }))
    tree.add(SubscriptionCollection(es_path + "/Subscriptions", {
        "@odata.type":
            "#EventDestinationCollection.EventDestinationCollection",
        "Name": "Event Subscriptions Collection",
    }))
    tree.add(make_test_event_action(test_path))
    emu.events.service = service
    emu.events.collection_path = es_path + "/Subscriptions"
    root_body["EventService"] = ref(es_path)

    add_task_service(emu, root_body)
    add_update_service(emu, root_body)

    regs = collection(emu, V1 + "/Registries",
                      "MessageRegistryFileCollection",
                      "Registry File Collection")
    base = V1 + "/Registries/Base.1.16.0"
    tree.add(Resource(base, {
        "@odata.type": "#MessageRegistryFile.v1_1_3.MessageRegistryFile",
        "Id": "Base.1.16.0",
        "Name": "Base Message Registry File",
        "Description": "DMTF Base Message Registry File Locations",
        "Languages": ["en"],
        "Registry": "Base.1.16",
        "Location": [{"Language": "en", "PublicationUri":
                      "https://redfish.dmtf.org/registries/"
                      "Base.1.16.0.json"}],
    }))
    regs.add_member(base)
    if _opt(cfg, "bios") and _opt(cfg, "bios_registry"):
        bios_mod.add_registry(emu, regs)
    root_body["Registries"] = ref(V1 + "/Registries")


def _opt(cfg, name, default=True):
    return getattr(cfg, name, default)


def build(emu):
    cfg = emu.config
    tree = emu.tree
    tree.add(VersionResource("/redfish", {"v1": ROOT}, odata_id=False))
    root_body = {
        "@odata.type": "#ServiceRoot.v1_15_0.ServiceRoot",
        "Id": "RootService",
        "Name": "Root Service",
        "RedfishVersion": "1.17.0",
        "UUID": util.stable_uuid("service", cfg.port),
        "Vendor": "Underlay",
        "Product": "UL-R1000 (underlay Redfish emulator)",
        "ProtocolFeaturesSupported": {
            "ExpandQuery": {"ExpandAll": cfg.expand, "Levels": cfg.expand,
                            "MaxLevels": 3 if cfg.expand else 0,
                            "Links": cfg.expand, "NoLinks": cfg.expand},
            "SelectQuery": False,
            "FilterQuery": False,
            "OnlyMemberQuery": True,
            "TopSkipQuery": True,
            "ExcerptQuery": False,
        },
        "Systems": ref(V1 + "/Systems"),
        "Chassis": ref(V1 + "/Chassis"),
        "Managers": ref(V1 + "/Managers"),
    }
    root = tree.add(PublicResource(ROOT, root_body), V1)
    add_common(emu, root_body)
    systems = collection(emu, V1 + "/Systems",
                         "ComputerSystemCollection",
                         "Computer System Collection")
    chassis_coll = collection(emu, V1 + "/Chassis", "ChassisCollection",
                              "Chassis Collection")
    managers = collection(emu, V1 + "/Managers", "ManagerCollection",
                          "Manager Collection")
    for n in range(1, cfg.systems + 1):
        state = build_system(emu, n)
        systems.add_member(state.path)
        chassis_coll.add_member(state.chassis[0].odata_id)
        managers.add_member(state.managers[0].odata_id)
        emu.systems.append(state)
    tree.add(PublicResource(V1 + "/odata", {
        "@odata.context": V1 + "/$metadata",
        "value": [{"name": k, "kind": "Singleton", "url": v["@odata.id"]}
                  for k, v in root_body.items()
                  if isinstance(v, dict) and "@odata.id" in v],
    }, odata_id=False))
    types = {r.odata_type for r in tree.resources() if r.odata_type}
    types |= {"#Session.v1_6_0.Session",
              "#EventDestination.v1_13_0.EventDestination",
              "#LogEntry.v1_15_0.LogEntry", "#Event.v1_8_0.Event",
              "#Message.v1_1_1.Message", "#Task.v1_4_3.Task"}
    tree.add(MetadataResource(V1 + "/$metadata", metadata_document(types)))
    return root


def build_system(emu, n):
    cfg = emu.config
    tree = emu.tree
    serial = "UL%05d%02d" % (cfg.port % 100000, n)
    sys_path = "%s/Systems/%d" % (V1, n)
    ch_path = "%s/Chassis/%d" % (V1, n)
    mgr_path = "%s/Managers/%d" % (V1, n)
    reset_path = sys_path + "/Actions/ComputerSystem.Reset"
    reset_action = {"target": reset_path}
    if cfg.action_info:
        info_path = sys_path + "/ResetActionInfo"
        reset_action["@Redfish.ActionInfo"] = info_path
        tree.add(Resource(info_path, {
            "@odata.type": "#ActionInfo.v1_3_0.ActionInfo",
            "Id": "ResetActionInfo",
            "Name": "Reset Action Info",
            "Parameters": [{
                "Name": "ResetType",
                "Required": True,
                "DataType": "String",
                "AllowableValues": list(cfg.reset_types),
            }],
        }))
    else:
        reset_action["ResetType@Redfish.AllowableValues"] = \
            list(cfg.reset_types)
    body = {
        "@odata.type": "#ComputerSystem.v1_20_0.ComputerSystem",
        "Id": str(n),
        "Name": "System %d" % n,
        "Description": "UL-R1000 rack server",
        "SystemType": "Physical",
        "Manufacturer": "Underlay",
        "Model": "UL-R1000",
        "SKU": "ULR1000-2S",
        "SerialNumber": serial,
        "PartNumber": "UL-R1000-A01",
        "AssetTag": "",
        "UUID": util.stable_uuid("system", cfg.port, n),
        "HostName": "node%d" % n,
        "IndicatorLED": "Off",
        "LocationIndicatorActive": False,
        "PowerState": "On",
        "Status": {"State": "Enabled", "Health": "OK",
                   "HealthRollup": "OK"},
        "BiosVersion": BIOS_VERSION,
        "LastResetTime": util.now_iso(),
        "BootProgress": {"LastState": "OSRunning",
                         "LastStateTime": util.now_iso()},
        "Boot": {
            "BootSourceOverrideEnabled": "Disabled",
            "BootSourceOverrideTarget": "None",
            "BootSourceOverrideMode": "UEFI",
            "UefiTargetBootSourceOverride": "",
            "BootSourceOverrideTarget@Redfish.AllowableValues":
                list(BOOT_TARGETS),
            "BootSourceOverrideEnabled@Redfish.AllowableValues":
                list(BOOT_ENABLED),
            "BootSourceOverrideMode@Redfish.AllowableValues":
                list(BOOT_MODES),
        },
        "ProcessorSummary": {
            "Count": 2,
            "CoreCount": 56,
            "LogicalProcessorCount": 112,
            "Model": "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz",
            "Status": {"State": "Enabled", "Health": "OK",
                       "HealthRollup": "OK"},
        },
        "MemorySummary": {
            "TotalSystemMemoryGiB": 256,
            "Status": {"State": "Enabled", "Health": "OK",
                       "HealthRollup": "OK"},
        },
        "Processors": ref(sys_path + "/Processors"),
        "Memory": ref(sys_path + "/Memory"),
        "EthernetInterfaces": ref(sys_path + "/EthernetInterfaces"),
        "Storage": ref(sys_path + "/Storage"),
        "Bios": ref(sys_path + "/Bios"),
        "LogServices": ref(sys_path + "/LogServices"),
        "Links": {"Chassis": [ref(ch_path)], "ManagedBy": [ref(mgr_path)]},
        "Actions": {"#ComputerSystem.Reset": reset_action},
    }
    if not _opt(cfg, "system_chassis"):
        del body["Links"]["Chassis"]
    if not _opt(cfg, "storage"):
        del body["Storage"]
    if not _opt(cfg, "bios"):
        del body["Bios"]
    system = SystemResource(sys_path, body, cfg.reset_types)
    power = PowerMachine(cfg.initial_power, cfg.power_delay)
    state = SystemState(system, power)
    system.system = state
    power.on_change = lambda old, new, s=state: emu.power_changed(s, old,
                                                                   new)
    if cfg.initial_power == "Off":
        body["BootProgress"]["LastState"] = "None"
    tree.add(system)
    tree.add(ActionTarget(reset_path, "ComputerSystem.Reset", system.reset,
                          system))
    system.reset_target = reset_path

    add_inventory(emu, sys_path, ch_path, serial, n)
    if _opt(cfg, "storage"):
        add_storage(emu, state, sys_path, ch_path, serial, n)
    _, sel = add_log_service(emu, sys_path, "SEL", "System Event Log",
                             "SEL", "System event log (SEL)")
    state.logs.append(sel)

    # Chassis, sensors, Thermal/Power
    chassis = ChassisResource(ch_path, {
        "@odata.type": "#Chassis.v1_23_0.Chassis",
        "Id": str(n),
        "Name": "Chassis %d" % n,
        "ChassisType": "RackMount",
        "Manufacturer": "Underlay",
        "Model": "UL-R1000",
        "SKU": "ULR1000-2S",
        "SerialNumber": serial,
        "PartNumber": "UL-R1000-CH",
        "AssetTag": "",
        "PowerState": "On",
        "IndicatorLED": "Off",
        "LocationIndicatorActive": False,
        "HeightMm": 44.45,
        "Status": {"State": "Enabled", "Health": "OK",
                   "HealthRollup": "OK"},
        "Sensors": ref(ch_path + "/Sensors"),
        "Thermal": ref(ch_path + "/Thermal"),
        "Power": ref(ch_path + "/Power"),
        "Links": {"ComputerSystems": [ref(sys_path)],
                  "ManagedBy": [ref(mgr_path)],
                  "ManagersInChassis": [ref(mgr_path)]},
    })
    if not _opt(cfg, "chassis_systems"):
        del chassis.body["Links"]["ComputerSystems"]
    chassis.powers.append(power)
    tree.add(chassis)
    state.chassis.append(chassis)
    sensors = make_sensors(ch_path, power)
    coll = collection(emu, ch_path + "/Sensors", "SensorCollection",
                      "Chassis Sensors")
    for s in sensors:
        s.system = state
        tree.add(s)
        coll.add_member(s.odata_id)
    state.sensors.extend(sensors)
    tree.add(ThermalResource(ch_path + "/Thermal", sensors))
    tree.add(PowerResource(ch_path + "/Power", sensors, serial))

    # Manager
    mgr_reset = mgr_path + "/Actions/Manager.Reset"
    manager = ManagerResource(mgr_path, {
        "@odata.type": "#Manager.v1_18_0.Manager",
        "Id": str(n),
        "Name": "Manager %d" % n,
        "Description": "UL-R1000 baseboard management controller",
        "ManagerType": "BMC",
        "Manufacturer": "Underlay",
        "Model": "UL-BMC",
        "FirmwareVersion": BMC_VERSION,
        "UUID": util.stable_uuid("manager", cfg.port, n),
        "ServiceEntryPointUUID": util.stable_uuid("service", cfg.port),
        "DateTime": util.now_iso(),
        "DateTimeLocalOffset": "+00:00",
        "PowerState": "On",
        "Status": {"State": "Enabled", "Health": "OK"},
        "NetworkProtocol": ref(mgr_path + "/NetworkProtocol"),
        "EthernetInterfaces": ref(mgr_path + "/EthernetInterfaces"),
        "LogServices": ref(mgr_path + "/LogServices"),
        "Links": {"ManagerForServers": [ref(sys_path)],
                  "ManagerForChassis": [ref(ch_path)],
                  "ManagerInChassis": ref(ch_path)},
        "Actions": {"#Manager.Reset": {
            "target": mgr_reset,
            "ResetType@Redfish.AllowableValues":
                list(ManagerResource.RESET_VALUES)}},
    })
    tree.add(manager)
    tree.add(ActionTarget(mgr_reset, "Manager.Reset", manager.reset,
                          manager))
    state.managers.append(manager)
    tree.add(Resource(mgr_path + "/NetworkProtocol", {
        "@odata.type": "#ManagerNetworkProtocol.v1_9_0."
                       "ManagerNetworkProtocol",
        "Id": "NetworkProtocol",
        "Name": "Manager Network Protocol",
        "HostName": "bmc%d" % n,
        "FQDN": "bmc%d.localdomain" % n,
        "Status": {"State": "Enabled", "Health": "OK"},
        "HTTP": {"ProtocolEnabled": cfg.scheme == "http",
                 "Port": cfg.port if cfg.scheme == "http" else 80},
        "HTTPS": {"ProtocolEnabled": cfg.scheme == "https",
                  "Port": cfg.port if cfg.scheme == "https" else 443},
        "IPMI": {"ProtocolEnabled": True, "Port": 623},
        "SSH": {"ProtocolEnabled": True, "Port": 22},
    }))
    eth = mgr_path + "/EthernetInterfaces/eth0"
    collection(emu, mgr_path + "/EthernetInterfaces",
               "EthernetInterfaceCollection",
               "Manager Ethernet Interfaces", [eth])
    tree.add(Resource(eth, {
        "@odata.type": "#EthernetInterface.v1_9_0.EthernetInterface",
        "Id": "eth0",
        "Name": "Manager Ethernet Interface",
        "MACAddress": _mac(cfg.port, n, 0xB0),
        "LinkStatus": "LinkUp",
        "SpeedMbps": 1000,
        "InterfaceEnabled": True,
        "HostName": "bmc%d" % n,
        "IPv4Addresses": [{"Address": "127.0.0.1",
                           "SubnetMask": "255.0.0.0",
                           "AddressOrigin": "Static"}],
        "Status": {"State": "Enabled", "Health": "OK"},
    }))
    _, mlog = add_log_service(emu, mgr_path, "EventLog", "BMC Event Log",
                              "Event", "Event log of the BMC")
    state.manager_logs.append(mlog)

    sysn, mgrn = "system:%d" % n, "manager:%d" % n
    add_firmware(emu, "BMC_%d" % n, "BMC Firmware (Manager %d)" % n,
                 BMC_VERSION, [mgr_path], state, "UL-BMC", (sysn, mgrn),
                 mirror=lambda v: manager.body.__setitem__(
                     "FirmwareVersion", v))
    bios_fw = add_firmware(emu, "BIOS_%d" % n, "BIOS (System %d)" % n,
                           BIOS_VERSION, [sys_path], state, "UL-R1000-BIOS",
                           (sysn,), mirror=lambda v: system.body.__setitem__(
                               "BiosVersion", v))
    if _opt(cfg, "storage"):
        add_firmware(emu, "RAID_%d" % n,
                     "RAID Controller Firmware (System %d)" % n,
                     state.storage.controller_firmware(),
                     [state.storage.path], state, "UL-RAID-9460", (sysn,))
    add_firmware(emu, "NIC_%d" % n, "Ethernet Adapter Firmware (System %d)"
                 % n, NIC_VERSION, ["%s/EthernetInterfaces/NIC%d"
                                    % (sys_path, i) for i in (1, 2)],
                 state, "UL-NIC-25G", (sysn,))
    if _opt(cfg, "bios"):
        bios_mod.add_bios(emu, state, serial, bios_fw.path)
    return state


def _mac(port, n, nic):
    return "52:54:%02X:%02X:%02X:%02X" % ((port >> 8) & 0xFF, port & 0xFF,
                                          n & 0xFF, nic & 0xFF)


def add_inventory(emu, sys_path, ch_path, serial, n):
    cfg = emu.config
    tree = emu.tree
    cpus = []
    for c in (1, 2):
        path = "%s/Processors/CPU%d" % (sys_path, c)
        cpus.append(path)
        tree.add(Resource(path, {
            "@odata.type": "#Processor.v1_11_0.Processor",
            "Id": "CPU%d" % c,
            "Name": "Processor %d" % c,
            "Socket": "CPU %d" % c,
            "ProcessorType": "CPU",
            "ProcessorArchitecture": "x86",
            "InstructionSet": "x86-64",
            "Manufacturer": "Intel(R) Corporation",
            "Model": "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz",
            "MaxSpeedMHz": 3100,
            "TotalCores": 28,
            "TotalThreads": 56,
            "Status": {"State": "Enabled", "Health": "OK"},
        }))
    collection(emu, sys_path + "/Processors", "ProcessorCollection",
               "Processors Collection", cpus)
    dimms = []
    for bank in "AB":
        for slot in (1, 2, 3, 4):
            did = "DIMM%s%d" % (bank, slot)
            path = "%s/Memory/%s" % (sys_path, did)
            dimms.append(path)
            tree.add(Resource(path, {
                "@odata.type": "#Memory.v1_14_0.Memory",
                "Id": did,
                "Name": "DIMM %s%d" % (bank, slot),
                "DeviceLocator": "%s%d" % (bank, slot),
                "MemoryDeviceType": "DDR4",
                "MemoryType": "DRAM",
                "CapacityMiB": 32768,
                "OperatingSpeedMhz": 3200,
                "Manufacturer": "Underlay",
                "PartNumber": "UL-32G-3200",
                "SerialNumber": "%sM%s%d" % (serial, bank, slot),
                "Status": {"State": "Enabled", "Health": "OK"},
            }))
    collection(emu, sys_path + "/Memory", "MemoryCollection",
               "Memory Collection", dimms)
    nics = []
    for i in (1, 2):
        path = "%s/EthernetInterfaces/NIC%d" % (sys_path, i)
        nics.append(path)
        tree.add(Resource(path, {
            "@odata.type": "#EthernetInterface.v1_9_0.EthernetInterface",
            "Id": "NIC%d" % i,
            "Name": "Ethernet Interface %d" % i,
            "MACAddress": _mac(cfg.port, n, i),
            "PermanentMACAddress": _mac(cfg.port, n, i),
            "SpeedMbps": 25000,
            "LinkStatus": "LinkUp",
            "InterfaceEnabled": True,
            "Status": {"State": "Enabled", "Health": "OK"},
        }))
    collection(emu, sys_path + "/EthernetInterfaces",
               "EthernetInterfaceCollection",
               "Ethernet Interface Collection", nics)
