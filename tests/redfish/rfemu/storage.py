"""Storage: a RAID controller with six drives and its volumes.

  /redfish/v1/Systems/N/Storage                   StorageCollection
  /redfish/v1/Systems/N/Storage/1                 #Storage.v1_9_0.Storage
      /Drives/0..5                                #Drive.v1_7_0.Drive
      /Volumes                                    VolumeCollection (GET,
                                                  POST: create a volume)
      /Volumes/Capabilities                       what a POST may contain
      /Volumes/<id>                               #Volume.v1_6_0.Volume
                                                  (GET, DELETE)

Drives 0-1 are 480 GB SATA SSDs, 2-5 1.92 TB SAS HDDs; volume 1 ("os") is
a RAID1 over drives 0 and 1.  A POST {"Name", "RAIDType", "Links":
{"Drives": [...]}, "CapacityBytes"?} is checked (allowable RAID type, the
drives exist here, are free, healthy and of one media type, the drive
count suits the RAID type, the capacity fits; without Links.Drives the
fewest free drives that hold CapacityBytes are chosen) and answers 201 with
Location, or 400 with one message per problem.  DELETE frees the drives.
With the "volume_task" fault both answer 202 and a task does the work.
"""

import copy
import json
import zlib

from .messages import RedfishError, custom_message, message
from .model import Collection, Resource, Response, canon, ref
from .tasks import TaskFailed, accepted, task_message

SSD_BYTES = 480103981056
HDD_BYTES = 1920383410176
RAID_TYPES = ["RAID0", "RAID1", "RAID5", "RAID6", "RAID10"]
VOLUME_TYPES = {"RAID0": "NonRedundant", "RAID1": "Mirrored",
                "RAID5": "StripedWithParity", "RAID6": "StripedWithParity",
                "RAID10": "SpannedMirrors"}
REDUNDANCY = {"RAID0": 0, "RAID1": 1, "RAID5": 1, "RAID6": 2, "RAID10": 1}
HEALTH_ORDER = {"OK": 0, "Warning": 1, "Critical": 2}
CONTROLLER_MODEL = "UL-RAID 9460"
CONTROLLER_FIRMWARE = "51.16.0-4076"
STEP_ID = "UnderlayTask.1.0.Step"

# (id, media, protocol, capacity, model)
DRIVES = [
    (0, "SSD", "SATA", SSD_BYTES, "UL-SSD-480"),
    (1, "SSD", "SATA", SSD_BYTES, "UL-SSD-480"),
    (2, "HDD", "SAS", HDD_BYTES, "UL-HDD-1920"),
    (3, "HDD", "SAS", HDD_BYTES, "UL-HDD-1920"),
    (4, "HDD", "SAS", HDD_BYTES, "UL-HDD-1920"),
    (5, "HDD", "SAS", HDD_BYTES, "UL-HDD-1920"),
]


def count_problem(raid, n):
    """Why n drives do not make a `raid` volume (None when they do)."""
    if raid == "RAID0" and n < 1:
        return "RAID0 needs at least 1 drive; %d given." % n
    if raid == "RAID1" and n != 2:
        return "RAID1 needs exactly 2 drives; %d given." % n
    if raid == "RAID5" and n < 3:
        return "RAID5 needs at least 3 drives; %d given." % n
    if raid == "RAID6" and n < 4:
        return "RAID6 needs at least 4 drives; %d given." % n
    if raid == "RAID10" and (n < 4 or n % 2):
        return "RAID10 needs an even number of drives, at least 4; " \
               "%d given." % n
    return None


def usable_bytes(raid, capacities):
    n = len(capacities)
    if not n:
        return 0
    low = min(capacities)
    return {"RAID0": sum(capacities), "RAID1": low,
            "RAID5": (n - 1) * low, "RAID6": (n - 2) * low,
            "RAID10": n // 2 * low}[raid]


def worst(healths):
    out = "OK"
    for h in healths:
        if HEALTH_ORDER.get(h, 0) > HEALTH_ORDER[out]:
            out = h
    return out


class StorageState:
    """The controller, drives and volumes of one system."""

    def __init__(self, emu, system, sys_path, ch_path, serial, n):
        self.emu = emu
        self.system = system
        self.n = n
        self.serial = serial
        self.path = sys_path + "/Storage/1"
        self.volumes_path = self.path + "/Volumes"
        self.caps_path = self.volumes_path + "/Capabilities"
        self.ch_path = ch_path
        self.firmware_id = "RAID_%d" % n
        self.drives = {}                # id -> DriveResource (in order)
        self.volumes = {}               # id -> VolumeResource (in order)
        self.reserved = {}              # drive id -> task id
        self.deleting = {}              # volume id -> Task
        self.next_volume = 1

    # -- lookups -------------------------------------------------------------

    def drive_of(self, uri):
        key = canon(uri) if isinstance(uri, str) else None
        for d in self.drives.values():
            if canon(d.path) == key:
                return d
        return None

    def volume_using(self, drive_id):
        for v in self.volumes.values():
            if drive_id in v.drive_ids:
                return v
        return None

    def controller_firmware(self):
        item = getattr(self.emu, "firmware", {}).get(self.firmware_id)
        return item.body.get("Version") if item is not None \
            else CONTROLLER_FIRMWARE

    def free_drives(self):
        return [d for d in self.drives.values()
                if self.volume_using(d.id) is None
                and d.id not in self.reserved
                and d.health != "Critical"]

    # -- volumes -----------------------------------------------------------------

    def plan(self, data):
        """Validate a volume POST: (name, raid, [drive ids], capacity)
        or RedfishError 400 with every problem."""
        errors = []
        for key in data:
            if key.startswith("@odata.") or key in (
                    "Name", "RAIDType", "CapacityBytes", "Links", "Oem",
                    "Encrypted"):
                continue
            errors.append(message("PropertyUnknown", key,
                                  related=["#/" + key]))
        name = data.get("Name")
        if "Name" not in data:
            errors.append(message("CreateFailedMissingReqProperties", "Name",
                                  related=["#/Name"]))
        elif not isinstance(name, str) or not 1 <= len(name) <= 64:
            errors.append(message(
                "PropertyValueTypeError" if not isinstance(name, str)
                else "PropertyValueOutOfRange", _show(name), "Name",
                related=["#/Name"], detail="Name takes 1 to 64 characters."))
        raid = data.get("RAIDType")
        raid_ok = False
        if "RAIDType" not in data:
            errors.append(message("CreateFailedMissingReqProperties",
                                  "RAIDType", related=["#/RAIDType"]))
        elif not isinstance(raid, str):
            errors.append(message("PropertyValueTypeError", _show(raid),
                                  "RAIDType", related=["#/RAIDType"]))
        elif raid not in RAID_TYPES:
            errors.append(message("PropertyValueNotInList", raid, "RAIDType",
                                  related=["#/RAIDType"],
                                  detail="Supported: %s."
                                  % ", ".join(RAID_TYPES)))
        else:
            raid_ok = True
        if "Encrypted" in data and data["Encrypted"] is not False:
            errors.append(message("PropertyValueNotInList",
                                  _show(data["Encrypted"]), "Encrypted",
                                  related=["#/Encrypted"],
                                  detail="This controller does not encrypt "
                                         "volumes."))
        capacity = data.get("CapacityBytes")
        cap_ok = True
        if "CapacityBytes" in data:
            if not isinstance(capacity, int) or isinstance(capacity, bool):
                errors.append(message("PropertyValueTypeError",
                                      _show(capacity), "CapacityBytes",
                                      related=["#/CapacityBytes"]))
                cap_ok = False
            elif capacity <= 0:
                errors.append(message("PropertyValueOutOfRange",
                                      capacity, "CapacityBytes",
                                      related=["#/CapacityBytes"],
                                      detail="CapacityBytes must be "
                                             "positive."))
                cap_ok = False
        else:
            capacity = None
        drives, drives_ok, given = self._drives_of(data, errors)
        if errors or not raid_ok or not cap_ok or not drives_ok:
            if not errors:      # pragma: no cover (always one by now)
                errors.append(message("GeneralError"))
            raise RedfishError(400, errors)
        if given:
            problem = count_problem(raid, len(drives))
            if problem:
                raise RedfishError(400, [message(
                    "PropertyValueIncorrect", "Links/Drives",
                    "%d drives" % len(drives),
                    related=["#/Links/Drives"], detail=problem)])
            usable = usable_bytes(raid, [d.capacity for d in drives])
            if capacity is not None and capacity > usable:
                raise RedfishError(400, [message(
                    "PropertyValueOutOfRange", capacity, "CapacityBytes",
                    related=["#/CapacityBytes"],
                    detail="%s over drives %s offers at most %d bytes."
                    % (raid, ", ".join(d.id for d in drives), usable))])
            return name, raid, [d.id for d in drives], \
                capacity if capacity is not None else usable
        if capacity is None:
            raise RedfishError(400, [message(
                "CreateFailedMissingReqProperties", "Links/Drives",
                related=["#/Links/Drives"],
                detail="Give Links.Drives, or CapacityBytes to let the "
                       "controller choose the drives.")])
        chosen = self.choose(raid, capacity)
        if chosen is None:
            free = {}
            for d in self.free_drives():
                free.setdefault((d.media, d.capacity), []).append(d.id)
            text = ", ".join("%d x %s %d bytes" % (len(v), m, c)
                             for (m, c), v in sorted(free.items())) or "none"
            raise RedfishError(400, [message(
                "PropertyValueOutOfRange", capacity, "CapacityBytes",
                related=["#/CapacityBytes"],
                detail="No set of free drives of one media type holds %d "
                       "bytes as %s (free drives: %s)."
                       % (capacity, raid, text))])
        return name, raid, [d.id for d in chosen], capacity

    def _drives_of(self, data, errors):
        """(drives, valid, given) from Links.Drives."""
        links = data.get("Links")
        if links is None:
            return [], True, False
        if not isinstance(links, dict):
            errors.append(message("PropertyValueTypeError", _show(links),
                                  "Links", related=["#/Links"]))
            return [], False, True
        for key in links:
            if key != "Drives" and not key.startswith("@odata."):
                errors.append(message("PropertyUnknown", "Links/" + key,
                                      related=["#/Links/" + key]))
        if "Drives" not in links:
            return [], True, False
        items = links["Drives"]
        if not isinstance(items, list):
            errors.append(message("PropertyValueTypeError", _show(items),
                                  "Links/Drives",
                                  related=["#/Links/Drives"]))
            return [], False, True
        drives, ok = [], True
        for i, item in enumerate(items):
            prop = "Links/Drives/%d" % i
            uri = item.get("@odata.id") if isinstance(item, dict) else None
            if not isinstance(uri, str):
                errors.append(message("PropertyValueTypeError", _show(item),
                                      prop, related=["#/" + prop],
                                      detail='Each drive is a link '
                                             '{"@odata.id": URI}.'))
                ok = False
                continue
            d = self.drive_of(uri)
            if d is None:
                errors.append(message(
                    "PropertyValueIncorrect", prop, uri,
                    related=["#/" + prop],
                    detail="%s is not a drive of %s." % (uri, self.path)))
                ok = False
                continue
            if d in drives:
                errors.append(message(
                    "PropertyValueIncorrect", prop, uri,
                    related=["#/" + prop],
                    detail="Drive %s is listed twice." % d.id))
                ok = False
                continue
            used = self.volume_using(d.id)
            if used is not None:
                errors.append(message(
                    "PropertyValueResourceConflict", prop, uri,
                    used.path, related=["#/" + prop],
                    detail="Drive %s already belongs to volume %s (%s)."
                    % (d.id, used.id, used.body.get("Name"))))
                ok = False
            elif d.id in self.reserved:
                errors.append(message(
                    "PropertyValueResourceConflict", prop, uri,
                    "/redfish/v1/TaskService/Tasks/" + self.reserved[d.id],
                    related=["#/" + prop],
                    detail="Drive %s is reserved by the running task %s."
                    % (d.id, self.reserved[d.id])))
                ok = False
            elif d.health == "Critical":
                errors.append(message(
                    "PropertyValueIncorrect", prop, uri,
                    related=["#/" + prop],
                    detail="Drive %s has failed (Health Critical)." % d.id))
                ok = False
            drives.append(d)
        media = sorted(set(d.media for d in drives))
        if ok and len(media) > 1:
            errors.append(message(
                "PropertyValueIncorrect", "Links/Drives",
                "%d drives" % len(drives), related=["#/Links/Drives"],
                detail="The drives of a volume must share one media type; "
                       "given %s." % ", ".join(
                           "%s (%s)" % (d.id, d.media) for d in drives)))
            ok = False
        return drives, ok, True

    def choose(self, raid, capacity):
        """The fewest free drives of one media type holding capacity."""
        groups = {}
        for d in self.free_drives():
            groups.setdefault(d.media, []).append(d)
        best = None
        for media, drives in sorted(groups.items()):
            for n in range(1, len(drives) + 1):
                if count_problem(raid, n):
                    continue
                pick = drives[:n]
                usable = usable_bytes(raid, [d.capacity for d in pick])
                if usable >= capacity:
                    key = (n, usable)
                    if best is None or key < best[0]:
                        best = (key, pick)
                    break
        return best[1] if best else None

    def create_volume(self, name, raid, drive_ids, capacity, vid=None):
        if vid is None:
            vid = str(self.next_volume)
        self.next_volume = max(self.next_volume, int(vid) + 1)
        vol = VolumeResource(self, vid, name, raid, drive_ids, capacity)
        self.volumes[vid] = vol
        self.emu.tree.add(vol)
        return vol

    def delete_volume(self, vid):
        vol = self.volumes.pop(vid, None)
        if vol is not None:
            self.emu.tree.remove(vol.path)
        return vol

    # -- drive health --------------------------------------------------------------

    def set_drive(self, drive_id, health=None, state=None):
        d = self.drives.get(str(drive_id))
        if d is None:
            return None
        old = d.health
        if health is not None:
            d.health = health
        if state is not None:
            d.state = state
        if d.health != old and self.system.logs:
            severity = d.health
            text = "Drive %s (%s, bay %s) health changed from %s to %s." % (
                d.id, d.body.get("Model"), d.id, old, d.health)
            self.emu.add_log(self.system.logs[0], severity, text,
                             "EmulatorEvent.1.0.DriveHealthChanged",
                             [d.id, old, d.health],
                             sensor_type="Drive Slot",
                             entry_code="Drive Fault" if d.health != "OK"
                             else "Drive Present", origin=d.path)
        return d

    def state(self):
        return {
            "path": self.path,
            "controller_firmware": self.controller_firmware(),
            "drives": [{"id": d.id, "media": d.media,
                        "capacity_bytes": d.capacity, "health": d.health,
                        "state": d.state,
                        "volume": (self.volume_using(d.id).id
                                   if self.volume_using(d.id) else None),
                        "reserved_by_task": self.reserved.get(d.id)}
                       for d in self.drives.values()],
            "volumes": [{"id": v.id, "name": v.body.get("Name"),
                         "raid_type": v.body.get("RAIDType"),
                         "drives": list(v.drive_ids),
                         "capacity_bytes": v.body.get("CapacityBytes"),
                         "health": v.health()}
                        for v in self.volumes.values()],
        }


def _show(value):
    if isinstance(value, (dict, list)):
        return "<%s>" % ("object" if isinstance(value, dict) else "array")
    return value


class StorageResource(Resource):
    def __init__(self, storage, body):
        super().__init__(storage.path, body)
        self.storage = storage

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        st = self.storage
        healths = [d.health for d in st.drives.values()] + \
            [v.health() for v in st.volumes.values()]
        view["Status"]["HealthRollup"] = worst(healths)
        view["StorageControllers"][0]["FirmwareVersion"] = \
            st.controller_firmware()
        return view


class DriveResource(Resource):
    def __init__(self, storage, did, media, protocol, capacity, model):
        self.storage = storage
        self.id = str(did)
        self.media = media
        self.capacity = capacity
        self.health = "OK"
        self.state = "Enabled"
        body = {
            "@odata.type": "#Drive.v1_7_0.Drive",
            "Id": self.id,
            "Name": "Drive %s" % did,
            "Manufacturer": "Underlay",
            "Model": model,
            "SerialNumber": "%sD%s" % (storage.serial, did),
            "Revision": "2.1.0" if media == "SSD" else "ST04",
            "MediaType": media,
            "Protocol": protocol,
            "CapacityBytes": capacity,
            "BlockSizeBytes": 512,
            "CapableSpeedGbs": 6 if protocol == "SATA" else 12,
            "HotspareType": "None",
            "PhysicalLocation": {"PartLocation": {
                "LocationType": "Bay", "LocationOrdinalValue": did}},
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"Chassis": ref(storage.ch_path), "Volumes": []},
        }
        if media == "HDD":
            body["RotationSpeedRPM"] = 7200
        else:
            body["PredictedMediaLifeLeftPercent"] = 97
        super().__init__("%s/Drives/%s" % (storage.path, did), body)

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        view["Status"] = {"State": self.state, "Health": self.health}
        vols = [v for v in self.storage.volumes.values()
                if self.id in v.drive_ids]
        view["Links"]["Volumes"] = [ref(v.path) for v in vols]
        view["Links"]["Volumes@odata.count"] = len(vols)
        return view


class VolumeResource(Resource):
    methods = ("GET", "DELETE")

    def __init__(self, storage, vid, name, raid, drive_ids, capacity):
        self.storage = storage
        self.id = vid
        self.drive_ids = list(drive_ids)
        durable = "6%031X" % (zlib.crc32(("%s/%s/%s" % (
            storage.emu.config.port, storage.n, vid)).encode())
            * 0x9E3779B97F4A7C15 % (1 << 124))
        super().__init__("%s/%s" % (storage.volumes_path, vid), {
            "@odata.type": "#Volume.v1_6_0.Volume",
            "Id": vid,
            "Name": name,
            "Description": "%s volume over drives %s" % (
                raid, ", ".join(self.drive_ids)),
            "RAIDType": raid,
            "VolumeType": VOLUME_TYPES[raid],
            "CapacityBytes": capacity,
            "BlockSizeBytes": 512,
            "Encrypted": False,
            "Identifiers": [{"DurableNameFormat": "NAA",
                             "DurableName": durable}],
            "Status": {"State": "Enabled", "Health": "OK"},
            "Links": {"Drives": [ref("%s/Drives/%s" % (storage.path, d))
                                 for d in self.drive_ids],
                      "Drives@odata.count": len(self.drive_ids)},
        })

    def health(self):
        drives = [self.storage.drives[d] for d in self.drive_ids
                  if d in self.storage.drives]
        failed = sum(1 for d in drives if d.health == "Critical")
        if failed > REDUNDANCY.get(self.body.get("RAIDType"), 0):
            return "Critical"
        if failed or any(d.health == "Warning" for d in drives):
            return "Warning"
        return "OK"

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        view["Status"]["Health"] = self.health()
        return view

    def do_DELETE(self, ctx):
        st = self.storage
        emu = ctx.emu
        if self.id in st.deleting and not st.deleting[self.id].finished:
            return accepted(st.deleting[self.id], ctx)
        if emu.faults.get("volume_task"):
            task = emu.tasks.create(
                "Delete volume %s" % self.id, delete_work(st, self.id),
                payload={"TargetUri": self.path, "HttpOperation": "DELETE",
                         "HttpHeaders": [], "JsonBody": ""},
                kind="volume-delete")
            st.deleting[self.id] = task
            task.on_end = lambda t, vid=self.id: st.deleting.pop(vid, None)
            return accepted(task, ctx)
        st.delete_volume(self.id)
        return Response(204)


class VolumeCollection(Collection):
    methods = ("GET", "POST")

    def __init__(self, storage, body):
        super().__init__(storage.volumes_path, body)
        self.storage = storage

    def view(self, ctx):
        self.members = [ref(v.path) for v in self.storage.volumes.values()]
        return super().view(ctx)

    def do_POST(self, ctx):
        st = self.storage
        emu = ctx.emu
        data = ctx.json()
        name, raid, drive_ids, capacity = st.plan(data)
        if emu.faults.get("volume_task"):
            vid = str(st.next_volume)
            st.next_volume += 1
            task = emu.tasks.create(
                "Create volume %s" % name,
                create_work(st, vid, name, raid, drive_ids, capacity),
                payload={"TargetUri": self.odata_id, "HttpOperation": "POST",
                         "HttpHeaders": [],
                         "JsonBody": json.dumps(data, sort_keys=True)},
                kind="volume-create")
            for d in drive_ids:
                st.reserved[d] = task.id
            task.info["volume"] = "%s/%s" % (st.volumes_path, vid)

            def release(t, ids=tuple(drive_ids)):
                for d in ids:
                    if st.reserved.get(d) == t.id:
                        del st.reserved[d]
            task.on_end = release
            return accepted(task, ctx)
        vol = st.create_volume(name, raid, drive_ids, capacity)
        view = vol.full_view(ctx)
        return Response(201, view, {"Location": vol.path,
                                    "ETag": view["@odata.etag"]})


def _step(text, args=()):
    return custom_message(STEP_ID, text, "OK", args)


def create_work(st, vid, name, raid, drive_ids, capacity):
    def work(task):
        lock = task.emu.lock
        drives = ", ".join(drive_ids)
        yield ("step", "Starting", 0, task_message("TaskStarted", task.id))
        yield ("step", "Running", 20, _step(
            "Checking drives %s for volume '%s' (%s)." % (drives, name, raid),
            [drives, name, raid]))
        task.check_fail("verify", "checking the drives")
        yield ("step", "Running", 50, _step(
            "Writing the %s configuration to drives %s." % (raid, drives),
            [raid, drives]))
        task.check_fail("apply", "writing the RAID configuration")
        yield ("step", "Running", 80, _step(
            "Initializing volume '%s'." % name, [name]))
        with lock:
            if task.stopped():
                return None
            for d in drive_ids:
                used = st.volume_using(d)
                if d not in st.drives or used is not None:
                    raise TaskFailed(
                        "creating volume '%s' failed: drive %s is no longer "
                        "free" % (name, d), status=409)
            vol = st.create_volume(name, raid, drive_ids, capacity, vid)
            msg = message("Created", detail="Volume %s ('%s', %s, %d bytes) "
                          "at %s." % (vid, name, raid, capacity, vol.path))
            return msg, {"Location": vol.path}
    return work


def delete_work(st, vid):
    def work(task):
        lock = task.emu.lock
        yield ("step", "Starting", 0, task_message("TaskStarted", task.id))
        yield ("step", "Running", 30, _step(
            "Stopping I/O to volume %s." % vid, [vid]))
        task.check_fail("verify", "stopping I/O to volume %s" % vid)
        yield ("step", "Running", 70, _step(
            "Removing volume %s from the RAID configuration." % vid, [vid]))
        task.check_fail("apply", "removing volume %s" % vid)
        with lock:
            if task.stopped():
                return None
            st.delete_volume(vid)
            return message("Success", detail="Volume %s deleted." % vid), {}
    return work


def add_storage(emu, state, sys_path, ch_path, serial, n):
    st = StorageState(emu, state, sys_path, ch_path, serial, n)
    tree = emu.tree
    for did, media, proto, cap, model in DRIVES:
        d = DriveResource(st, did, media, proto, cap, model)
        st.drives[d.id] = d
        tree.add(d)
    tree.add(StorageResource(st, {
        "@odata.type": "#Storage.v1_9_0.Storage",
        "Id": "1",
        "Name": "RAID Controller",
        "Description": "RAID controller and its drives",
        "Status": {"State": "Enabled", "Health": "OK",
                   "HealthRollup": "OK"},
        "StorageControllers": [{
            "@odata.id": st.path + "#/StorageControllers/0",
            "MemberId": "0",
            "Name": "RAID Controller 0",
            "Manufacturer": "Underlay",
            "Model": CONTROLLER_MODEL,
            "FirmwareVersion": CONTROLLER_FIRMWARE,
            "SerialNumber": "%sRC" % serial,
            "SpeedGbps": 12,
            "SupportedRAIDTypes": list(RAID_TYPES),
            "SupportedControllerProtocols": ["PCIe"],
            "SupportedDeviceProtocols": ["SAS", "SATA"],
            "Status": {"State": "Enabled", "Health": "OK"},
        }],
        "StorageControllers@odata.count": 1,
        "Drives": [ref(d.path) for d in st.drives.values()],
        "Drives@odata.count": len(st.drives),
        "Volumes": ref(st.volumes_path),
    }))
    tree.add(VolumeCollection(st, {
        "@odata.type": "#VolumeCollection.VolumeCollection",
        "Name": "Volume Collection",
        "@Redfish.CollectionCapabilities": {
            "@odata.type":
                "#CollectionCapabilities.v1_2_0.CollectionCapabilities",
            "Capabilities": [{
                "CapabilitiesObject": ref(st.caps_path),
                "Links": {"TargetCollection": ref(st.volumes_path)},
                "UseCase": "VolumeCreation",
            }],
        },
    }))
    tree.add(Resource(st.caps_path, {
        "@odata.type": "#Volume.v1_6_0.Volume",
        "Id": "Capabilities",
        "Name": "Capabilities for the volume collection",
        "Name@Redfish.RequiredOnCreate": True,
        "RAIDType@Redfish.RequiredOnCreate": True,
        "RAIDType@Redfish.AllowableValues": list(RAID_TYPES),
        "CapacityBytes@Redfish.OptionalOnCreate": True,
        "Links": {"Drives@Redfish.RequiredOnCreate": False,
                  "Drives@Redfish.OptionalOnCreate": True},
    }))
    coll = Collection(sys_path + "/Storage", {
        "@odata.type": "#StorageCollection.StorageCollection",
        "Name": "Storage Collection",
    })
    coll.add_member(st.path)
    tree.add(coll)
    st.create_volume("os", "RAID1", ["0", "1"], SSD_BYTES)
    state.storage = st
    return st
