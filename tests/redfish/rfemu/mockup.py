"""Serving a DMTF-format mockup directory with state on top.

DIR holds the tree under /redfish/v1: DIR/index.json is the service root,
DIR/Systems/1/index.json is /redfish/v1/Systems/1, and so on (a DIR with
redfish/v1/ inside is accepted too).  Directory names may be
percent-encoded.  Every resource keeps the @odata.id spelling of its
capture (HPE iLO 5 writes lower-case links with trailing slashes); lookups
ignore case, percent-encoding and trailing slashes.

On top of the stored JSON:
  ComputerSystem   live PowerState, Reset (the capture's AllowableValues
                   or ActionInfo), Boot PATCH (the capture's allowable
                   values); chassis linked to it follow its power state
  Sessions         the captured sessions are dropped; the collection is
                   live (login/logout as in the generated tree)
  Subscriptions    captured subscriptions whose Destination is not an
                   http(s) URL on 127.0.0.1 are dropped (listed in
                   GET /_emulator/state); no event ever leaves loopback
  LogEntry colls   can grow (--log-interval, POST /_emulator/log) and be
                   cleared (LogService.ClearLog)
  Sensor           POST /_emulator/sensor sets Reading (health follows)
  other actions    accepted with 204 and recorded, no effect
A file whose body is a captured error response ({"error": ...}) is not a
resource: its URI answers 404.  Unparseable files are skipped with a
warning on stderr.
"""

import json
import os
import sys

from .events import EventServiceResource, SubscriptionCollection, \
    loopback_destination, make_test_event_action
from .logs import LogEntryCollection, LogServiceResource
from .model import ActionTarget, Collection, MetadataResource, \
    PublicResource, Response, StaticResource, canon
from .power import ALL_RESET_TYPES, PowerMachine
from .sensors import SensorResource
from .sessions import SessionCollection, SessionServiceResource
from .systems import ChassisResource, ManagerResource, SystemResource, \
    SystemState

V1 = "/redfish/v1"
MAX_FILE = 32 * 1024 * 1024


class VersionResource(PublicResource):
    etag_enabled = False


def _type(body):
    t = body.get("@odata.type", "")
    return t.lstrip("#").split(".")[0] if isinstance(t, str) else ""


def _link(body, *keys):
    cur = body
    for key in keys:
        if not isinstance(cur, dict):
            return None
        cur = cur.get(key)
    if isinstance(cur, dict):
        return cur.get("@odata.id")
    return None


def _links(body, *keys):
    cur = body
    for key in keys:
        if not isinstance(cur, dict):
            return []
        cur = cur.get(key)
    if isinstance(cur, dict):
        cur = [cur]
    if not isinstance(cur, list):
        return []
    return [x["@odata.id"] for x in cur
            if isinstance(x, dict) and isinstance(x.get("@odata.id"), str)]


def read_dir(directory):
    base = os.path.abspath(directory)
    if os.path.isfile(os.path.join(base, "redfish", "v1", "index.json")):
        base = os.path.join(base, "redfish", "v1")
    if not os.path.isfile(os.path.join(base, "index.json")):
        raise SystemExit("mockup %s: no index.json (service root) found"
                         % directory)
    bodies = {}
    metadata = None
    for dirpath, dirnames, filenames in os.walk(base):
        dirnames.sort()
        rel = os.path.relpath(dirpath, base)
        url = V1 if rel == "." else V1 + "/" + rel.replace(os.sep, "/")
        if "index.json" in filenames:
            path = os.path.join(dirpath, "index.json")
            try:
                if os.path.getsize(path) > MAX_FILE:
                    raise ValueError("file too large")
                with open(path, encoding="utf-8-sig") as fh:
                    body = json.load(fh)
            except (OSError, ValueError) as exc:
                print("warning: skipping %s: %s" % (path, exc),
                      file=sys.stderr)
                continue
            if not isinstance(body, dict):
                continue
            if "error" in body and "@odata.id" not in body:
                continue            # a captured error response
            bodies[url] = body
        if rel == "$metadata" and "index.xml" in filenames:
            with open(os.path.join(dirpath, "index.xml"), "rb") as fh:
                metadata = fh.read(MAX_FILE)
    return bodies, metadata


def make_resource(emu, url, body):
    kind = _type(body)
    if url == V1:
        return PublicResource(url, body)
    if kind == "ComputerSystem":
        return SystemResource(url, body, ())
    if kind == "Chassis":
        return ChassisResource(url, body)
    if kind == "Manager":
        return ManagerResource(url, body)
    if kind == "Sensor":
        return SensorResource(url, body, dynamic_health=False)
    if kind == "LogService":
        return LogServiceResource(url, body)
    if kind == "LogEntryCollection":
        return LogEntryCollection(url, body, max_records=emu.config.log_max)
    if kind == "SessionService":
        return SessionServiceResource(url, body)
    if kind == "SessionCollection":
        return SessionCollection(url, body)
    if kind == "EventService":
        return EventServiceResource(url, body)
    if kind == "EventDestinationCollection":
        return SubscriptionCollection(url, body)
    if kind.endswith("Collection") or "Members" in body:
        return Collection(url, body)
    return StaticResource(url, body)


def load(emu, directory):
    cfg = emu.config
    tree = emu.tree
    bodies, metadata = read_dir(directory)
    captured_subs = []
    for url, body in bodies.items():
        kind = _type(body)
        if kind == "Session":
            continue                # captured sessions are not served
        if kind == "EventDestination":
            captured_subs.append((url, body))
            continue
        res = make_resource(emu, url, body)
        tree.add(res)
        oid = body.get("@odata.id")
        if isinstance(oid, str) and canon(oid) != canon(url) and \
                tree.get(oid) is None:
            tree.add(res, oid)
    root = tree.get(V1)
    tree.add(root, V1 + "/")
    tree.add(VersionResource("/redfish", {"v1": V1 + "/"}, odata_id=False))
    if metadata is not None:
        tree.add(MetadataResource(V1 + "/$metadata", metadata))

    setup_sessions(emu, root)
    setup_events(emu, root, captured_subs)
    setup_systems(emu, root)
    register_actions(emu)
    return root


def setup_sessions(emu, root):
    tree = emu.tree
    service_path = _link(root.body, "SessionService")
    service = tree.get(service_path) if service_path else None
    if not emu.config.session_service:
        root.body.pop("SessionService", None)
        links = root.body.get("Links")
        if isinstance(links, dict):
            links.pop("Sessions", None)
        if service is not None:
            tree.remove_subtree(service.path)
            tree.remove(service.odata_id)
        return
    if not isinstance(service, SessionServiceResource):
        return
    coll_path = _link(service.body, "Sessions") or \
        _link(root.body, "Links", "Sessions")
    if not coll_path:
        return
    coll = tree.get(coll_path)
    if not isinstance(coll, SessionCollection):
        body = dict(coll.body) if coll is not None else {
            "@odata.type": "#SessionCollection.SessionCollection",
            "Name": "Session Collection"}
        body["@odata.id"] = coll_path
        if coll is not None:
            tree.remove(coll.path)
        coll = tree.add(SessionCollection(coll_path, body))
    coll.members = []
    if isinstance(service.body.get("SessionTimeout"), int):
        emu.sessions.timeout = service.body["SessionTimeout"]


def setup_events(emu, root, captured):
    tree = emu.tree
    service = tree.get(_link(root.body, "EventService"))
    if not isinstance(service, EventServiceResource):
        for url, body in captured:
            emu.events.dropped.append({"uri": url, "destination":
                                       body.get("Destination")})
        return
    emu.events.service = service
    coll_path = _link(service.body, "Subscriptions")
    if coll_path:
        coll = tree.get(coll_path)
        if not isinstance(coll, SubscriptionCollection):
            coll = tree.add(SubscriptionCollection(coll_path, {
                "@odata.id": coll_path,
                "@odata.type": "#EventDestinationCollection."
                               "EventDestinationCollection",
                "Name": "Event Subscriptions Collection"}))
        coll.members = []
        emu.events.collection_path = coll.odata_id
    for url, body in captured:
        dest = body.get("Destination")
        if coll_path and loopback_destination(dest) and \
                body.get("Protocol", "Redfish") == "Redfish":
            emu.events.add(coll.odata_id, body)
        else:
            emu.events.dropped.append({"uri": body.get("@odata.id", url),
                                       "destination": dest})
            print("mockup: dropped event subscription %s (destination %r is"
                  " not on 127.0.0.1)" % (body.get("@odata.id", url), dest),
                  file=sys.stderr)
    action = service.body.get("Actions", {}).get(
        "#EventService.SubmitTestEvent", {})
    if isinstance(action, dict) and isinstance(action.get("target"), str):
        tree.add(make_test_event_action(action["target"]))


def reset_values(emu, system):
    action = system.body.get("Actions", {}).get("#ComputerSystem.Reset")
    if not isinstance(action, dict):
        return None, []
    target = action.get("target")
    values = action.get("ResetType@Redfish.AllowableValues")
    if not isinstance(values, list):
        info = emu.tree.get(action.get("@Redfish.ActionInfo"))
        if info is not None:
            for p in info.body.get("Parameters", []):
                if isinstance(p, dict) and p.get("Name") == "ResetType":
                    values = p.get("AllowableValues")
    if not isinstance(values, list):
        values = list(ALL_RESET_TYPES)
    return target, [v for v in values if isinstance(v, str)]


def _log_collections(emu, owner):
    out = []
    coll = emu.tree.get(_link(owner.body, "LogServices"))
    if not isinstance(coll, Collection):
        return out
    for path in coll.member_ids():
        service = emu.tree.get(path)
        if isinstance(service, LogServiceResource):
            entries = service.entries(emu)
            if entries is not None:
                out.append(entries)
    return out


def setup_systems(emu, root):
    tree = emu.tree
    cfg = emu.config
    ordered = []
    coll = tree.get(_link(root.body, "Systems"))
    if isinstance(coll, Collection):
        for path in coll.member_ids():
            res = tree.get(path)
            if isinstance(res, SystemResource) and res not in ordered:
                ordered.append(res)
    for res in tree.resources():
        if isinstance(res, SystemResource) and res not in ordered:
            ordered.append(res)
    for system in ordered:
        initial = system.body.get("PowerState", "On")
        power = PowerMachine(initial if initial in ("On", "Off") else "On",
                             cfg.power_delay)
        state = SystemState(system, power)
        system.system = state
        power.on_change = lambda old, new, s=state: emu.power_changed(
            s, old, new)
        target, values = reset_values(emu, system)
        system.reset_values = values
        if isinstance(target, str):
            system.reset_target = target
            tree.add(ActionTarget(target, "ComputerSystem.Reset",
                                  system.reset, system))
        for path in _links(system.body, "Links", "Chassis"):
            chassis = tree.get(path)
            if isinstance(chassis, ChassisResource):
                chassis.powers.append(power)
                state.chassis.append(chassis)
                sensors = tree.get(_link(chassis.body, "Sensors"))
                if isinstance(sensors, Collection):
                    for spath in sensors.member_ids():
                        s = tree.get(spath)
                        if isinstance(s, SensorResource):
                            s.system = state
                            state.sensors.append(s)
        for path in _links(system.body, "Links", "ManagedBy"):
            manager = tree.get(path)
            if isinstance(manager, ManagerResource):
                state.managers.append(manager)
                state.manager_logs.extend(_log_collections(emu, manager))
        state.logs.extend(_log_collections(emu, system))
        emu.systems.append(state)


def _action_targets(body, found):
    """(name, target) of every action in a body (incl. Oem actions)."""
    actions = body.get("Actions")
    if not isinstance(actions, dict):
        return
    for name, action in actions.items():
        if name == "Oem" and isinstance(action, dict):
            _action_targets({"Actions": action}, found)
            for sub in action.values():
                if isinstance(sub, dict):
                    _action_targets({"Actions": sub}, found)
        elif isinstance(action, dict) and isinstance(action.get("target"),
                                                     str):
            found.append((name.lstrip("#"), action["target"]))


def register_actions(emu):
    tree = emu.tree
    for res in list(tree.resources()):
        found = []
        _action_targets(res.body, found)
        for name, target in found:
            if tree.get(target) is not None:
                continue
            if name == "Manager.Reset" and isinstance(res, ManagerResource):
                tree.add(ActionTarget(target, name, res.reset, res))
            elif name == "LogService.ClearLog" and isinstance(
                    res, LogServiceResource):
                tree.add(ActionTarget(target, name, res.clear_log, res))
            else:
                tree.add(ActionTarget(target, name, _noop(name, res.path),
                                      res))


def _noop(name, owner):
    def handler(ctx, data):
        ctx.emu.noop_actions.append({"action": name, "resource": owner,
                                     "parameters": data})
        del ctx.emu.noop_actions[:-50]
        return Response(204)
    return handler
