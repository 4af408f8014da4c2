"""LogService, log entry collections and entries.

Entries are kept oldest first with increasing numeric Ids; when
MaxNumberOfRecords is reached the oldest is dropped (OverWritePolicy
WrapsWhenFull).  New entries come from --log-interval, from the control
API (POST /_emulator/log), from sensor threshold crossings and from power
changes.  LogService.ClearLog empties the collection.
"""

import copy

from .messages import err
from .model import ActionTarget, Collection, Resource, Response, join, ref
from . import util

SEVERITIES = ("OK", "Warning", "Critical")


class LogServiceResource(Resource):
    methods = ("GET",)
    volatile = ("DateTime",)

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        if "DateTime" in view:
            view["DateTime"] = util.now_iso()
        return view

    def entries(self, emu):
        link = self.body.get("Entries")
        if isinstance(link, dict):
            coll = emu.tree.get(link.get("@odata.id"))
            if isinstance(coll, LogEntryCollection):
                return coll
        return None

    def clear_log(self, ctx, data):
        coll = self.entries(ctx.emu)
        if coll is not None:
            coll.clear(ctx.emu)
        return Response(204)


class LogEntryCollection(Collection):
    methods = ("GET",)

    def __init__(self, path, body=None, max_records=1000, entry_type="Event"):
        super().__init__(path, body)
        self.max_records = max_records
        self.entry_type = entry_type
        self.next_id = 1
        for m in self.members:
            last = m["@odata.id"].rstrip("/").rsplit("/", 1)[-1]
            if last.isdigit():
                self.next_id = max(self.next_id, int(last) + 1)
        self.next_id = max(self.next_id, len(self.members) + 1)

    def add(self, emu, severity, message, message_id, args=(),
            sensor_type=None, sensor_number=None, entry_code=None,
            origin=None, entry_type=None):
        eid = str(self.next_id)
        self.next_id += 1
        path = join(self.odata_id, eid)
        body = {
            "@odata.type": "#LogEntry.v1_15_0.LogEntry",
            "Id": eid,
            "Name": "Log Entry %s" % eid,
            "EntryType": entry_type or self.entry_type,
            "Severity": severity,
            "Created": util.now_iso(),
            "Message": message,
            "MessageId": message_id,
            "MessageArgs": [str(a) for a in args],
        }
        if sensor_type:
            body["SensorType"] = sensor_type
        if sensor_number is not None:
            body["SensorNumber"] = sensor_number
        if entry_code:
            body["EntryCode"] = entry_code
        if origin:
            body["Links"] = {"OriginOfCondition": ref(origin)}
        entry = Resource(path, body)
        emu.tree.add(entry)
        self.add_member(path)
        while self.max_records and len(self.members) > self.max_records:
            old = self.members.pop(0)["@odata.id"]
            emu.tree.remove(old)
        return entry

    def clear(self, emu):
        for m in self.members:
            emu.tree.remove(m["@odata.id"])
        self.members = []


def add_log_service(emu, parent_path, service_id, name, entry_type,
                    description):
    """LogServices collection + one LogService + its Entries (builtin)."""
    coll_path = join(parent_path, "LogServices")
    coll = emu.tree.get(coll_path)
    if coll is None:
        coll = emu.tree.add(Collection(coll_path, {
            "@odata.type": "#LogServiceCollection.LogServiceCollection",
            "Name": "Log Service Collection",
            "Description": "Collection of log services",
        }))
    path = join(coll_path, service_id)
    entries_path = join(path, "Entries")
    clear_path = join(path, "Actions", "LogService.ClearLog")
    service = LogServiceResource(path, {
        "@odata.type": "#LogService.v1_4_0.LogService",
        "Id": service_id,
        "Name": name,
        "Description": description,
        "MaxNumberOfRecords": emu.config.log_max,
        "OverWritePolicy": "WrapsWhenFull",
        "DateTime": util.now_iso(),
        "DateTimeLocalOffset": "+00:00",
        "ServiceEnabled": True,
        "LogEntryType": "SEL" if entry_type == "SEL" else "Event",
        "Status": {"State": "Enabled", "Health": "OK"},
        "Entries": ref(entries_path),
        "Actions": {"#LogService.ClearLog": {"target": clear_path}},
    })
    emu.tree.add(service)
    coll.add_member(path)
    entries = emu.tree.add(LogEntryCollection(entries_path, {
        "@odata.type": "#LogEntryCollection.LogEntryCollection",
        "Name": "%s Entries" % name,
        "Description": "Collection of log entries",
    }, max_records=emu.config.log_max, entry_type=entry_type))
    emu.tree.add(ActionTarget(clear_path, "LogService.ClearLog",
                              service.clear_log, service))
    return service, entries


def validate_severity(value):
    if value not in SEVERITIES:
        raise err(400, "PropertyValueNotInList", value, "Severity")
    return value
