"""EventService: subscriptions and event delivery.

POST {"Destination", "Protocol": "Redfish", "EventTypes" and/or
"RegistryPrefixes", "Context", "HttpHeaders"...} to the Subscriptions
collection answers 201 with a Location header.  Only destinations on
127.0.0.1 (http or https) are accepted; any other host answers 400.  The
delivery code checks the host again before every POST, connects with
http.client straight to 127.0.0.1 (no proxy, no redirects), and does not
verify certificates (test listeners use self-signed ones).

An event is POSTed as an Event resource:
  {"@odata.type": "#Event.v1_8_0.Event", "Id", "Name": "Event Array",
   "Context", "Events": [{"EventType", "EventId", "EventTimestamp",
   "MessageId", "Message", "MessageArgs", "Severity", "MessageSeverity",
   "OriginOfCondition": {"@odata.id"}, "MemberId"}]}
A subscription receives an event when its EventTypes (if any) include the
event's type, its RegistryPrefixes (if any) include the MessageId's prefix
and its OriginResources (if any) include the origin or a parent of it.
Failed deliveries are retried DeliveryRetryAttempts times,
DeliveryRetryIntervalSeconds apart, then dropped.
"""

import collections
import heapq
import http.client
import itertools
import json
import ssl
import threading
import time
import urllib.parse

from .messages import err
from .model import Collection, Resource, Response, ActionTarget, canon, \
    join, ref
from . import util

EVENT_TYPES = ("StatusChange", "ResourceUpdated", "ResourceAdded",
               "ResourceRemoved", "Alert")
REGISTRY_PREFIXES = ("Base", "ResourceEvent", "SensorEvent",
                     "EmulatorEvent")
SUBSCRIPTION_PROPS = ("Destination", "Protocol", "EventTypes",
                      "RegistryPrefixes", "ResourceTypes", "OriginResources",
                      "Context", "HttpHeaders", "SubscriptionType",
                      "DeliveryRetryPolicy", "EventFormatType",
                      "IncludeOriginOfCondition", "Name", "Oem")


def loopback_destination(url):
    """True for an http(s) URL whose host is exactly 127.0.0.1."""
    if not isinstance(url, str) or len(url) > 2048:
        return False
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    del port
    return (parts.scheme in ("http", "https")
            and parts.hostname == "127.0.0.1"
            and parts.username is None and parts.password is None)


class Subscription:
    def __init__(self, sid, path, data):
        self.id = sid
        self.path = path
        self.destination = data["Destination"]
        self.event_types = list(data.get("EventTypes") or [])
        self.registry_prefixes = list(data.get("RegistryPrefixes") or [])
        self.origin_resources = [o.get("@odata.id", "") for o in
                                 data.get("OriginResources") or []
                                 if isinstance(o, dict)]
        self.context = data.get("Context")
        self.headers = {}
        for item in data.get("HttpHeaders") or []:
            for k, v in item.items():
                self.headers[str(k)] = str(v)
        self.delivered = 0
        self.failed = 0

    def matches(self, record):
        if self.event_types and record.get("EventType") not in \
                self.event_types:
            return False
        prefix = str(record.get("MessageId", "")).split(".", 1)[0]
        if self.registry_prefixes and prefix not in self.registry_prefixes:
            return False
        if self.origin_resources:
            origin = canon(record.get("OriginOfCondition", {})
                           .get("@odata.id", ""))
            if not any(origin == canon(o) or origin.startswith(canon(o) + "/")
                       for o in self.origin_resources):
                return False
        return True


class EventServiceResource(Resource):
    methods = ("GET", "PATCH")

    def apply_patch(self, ctx, data):
        for key, value in data.items():
            if key == "ServiceEnabled":
                if not isinstance(value, bool):
                    raise err(400, "PropertyValueTypeError", value, key)
            elif key in ("DeliveryRetryAttempts",
                         "DeliveryRetryIntervalSeconds"):
                if not isinstance(value, int) or isinstance(value, bool):
                    raise err(400, "PropertyValueTypeError", value, key)
                if not 0 <= value <= 3600:
                    raise err(400, "PropertyValueOutOfRange", value, key)
            elif key in self.body:
                raise err(400, "PropertyNotWritable", key)
            else:
                raise err(400, "PropertyUnknown", key)
        self.body.update(data)

    def settings(self):
        return (self.body.get("ServiceEnabled", True),
                int(self.body.get("DeliveryRetryAttempts", 3)),
                float(self.body.get("DeliveryRetryIntervalSeconds", 2)))


class SubscriptionCollection(Collection):
    methods = ("GET", "POST")

    def view(self, ctx):
        self.members = [ref(s.path) for s in ctx.emu.events.list()]
        return super().view(ctx)

    def do_POST(self, ctx):
        emu = ctx.emu
        data = ctx.json()
        for name in ("Destination", "Protocol"):
            if name not in data:
                raise err(400, "CreateFailedMissingReqProperties", name)
        for name in data:
            if name not in SUBSCRIPTION_PROPS:
                raise err(400, "PropertyUnknown", name)
        dest = data["Destination"]
        if not isinstance(dest, str):
            raise err(400, "PropertyValueTypeError", dest, "Destination")
        if not loopback_destination(dest):
            raise err(400, "PropertyValueFormatError", dest, "Destination")
        if data["Protocol"] != "Redfish":
            raise err(400, "PropertyValueNotInList", data["Protocol"],
                      "Protocol")
        allowed = {
            "EventTypes": emu.events.service_list("EventTypesForSubscription",
                                                  EVENT_TYPES),
            "RegistryPrefixes": emu.events.service_list("RegistryPrefixes",
                                                        REGISTRY_PREFIXES),
            "ResourceTypes": None,
        }
        for name, values in allowed.items():
            if name not in data:
                continue
            items = data[name]
            if not isinstance(items, list) or not all(
                    isinstance(x, str) for x in items):
                raise err(400, "PropertyValueTypeError", items, name)
            for item in items:
                if values is not None and item not in values:
                    raise err(400, "PropertyValueNotInList", item, name)
        for name in ("Context", "SubscriptionType", "EventFormatType",
                     "DeliveryRetryPolicy", "Name"):
            if name in data and not isinstance(data[name], str):
                raise err(400, "PropertyValueTypeError", data[name], name)
        if data.get("SubscriptionType", "RedfishEvent") != "RedfishEvent":
            raise err(400, "PropertyValueNotInList",
                      data["SubscriptionType"], "SubscriptionType")
        headers = data.get("HttpHeaders", [])
        if not isinstance(headers, list) or not all(
                isinstance(h, dict) and all(isinstance(v, str)
                                            for v in h.values())
                for h in headers):
            raise err(400, "PropertyValueTypeError", "HttpHeaders",
                      "HttpHeaders")
        origins = data.get("OriginResources", [])
        if not isinstance(origins, list) or not all(
                isinstance(o, dict) and isinstance(o.get("@odata.id"), str)
                for o in origins):
            raise err(400, "PropertyValueTypeError", "OriginResources",
                      "OriginResources")
        if len(emu.events.subscriptions) >= emu.config.max_subscriptions:
            raise err(400, "EventSubscriptionLimitExceeded")
        sub = emu.events.add(self.odata_id, data)
        res = emu.tree.get(sub.path)
        view = res.full_view(ctx)
        return Response(201, view, {"Location": sub.path,
                                    "ETag": view["@odata.etag"]})


class SubscriptionResource(Resource):
    methods = ("GET", "PATCH", "DELETE")

    def __init__(self, sub, data):
        body = {
            "@odata.type": "#EventDestination.v1_13_0.EventDestination",
            "Id": sub.id,
            "Name": data.get("Name") or "Event Subscription %s" % sub.id,
            "Destination": sub.destination,
            "Protocol": "Redfish",
            "SubscriptionType": "RedfishEvent",
            "EventFormatType": data.get("EventFormatType", "Event"),
            "Context": data.get("Context", ""),
            "DeliveryRetryPolicy": data.get("DeliveryRetryPolicy",
                                            "RetryForever"),
            "HttpHeaders": [],          # never shown (may hold secrets)
            "Status": {"State": "Enabled", "Health": "OK"},
        }
        for name in ("EventTypes", "RegistryPrefixes", "ResourceTypes",
                     "OriginResources"):
            if name in data:
                body[name] = data[name]
        super().__init__(sub.path, body)
        self.sub = sub

    def apply_patch(self, ctx, data):
        for key, value in data.items():
            if key in ("Context", "DeliveryRetryPolicy"):
                if not isinstance(value, str):
                    raise err(400, "PropertyValueTypeError", value, key)
            elif key in self.body:
                raise err(400, "PropertyNotWritable", key)
            else:
                raise err(400, "PropertyUnknown", key)
        self.body.update(data)
        self.sub.context = self.body.get("Context")

    def do_DELETE(self, ctx):
        ctx.emu.events.remove(self.sub.id)
        return Response(204)


def submit_test_event(ctx, data):
    """EventService.SubmitTestEvent."""
    record = {
        "EventType": data.get("EventType", "Alert"),
        "MessageId": data.get("MessageId",
                              "EmulatorEvent.1.0.TestEvent"),
        "Message": data.get("Message", "Test event."),
        "MessageArgs": data.get("MessageArgs", []),
        "Severity": data.get("Severity",
                             data.get("MessageSeverity", "OK")),
    }
    if not isinstance(record["EventType"], str) or \
            record["EventType"] not in EVENT_TYPES:
        raise err(400, "ActionParameterValueNotInList",
                  record["EventType"], "EventType",
                  "EventService.SubmitTestEvent")
    origin = data.get("OriginOfCondition")
    if isinstance(origin, str):
        origin = ref(origin)
    ctx.emu.events.publish(record["EventType"], record["MessageId"],
                           str(record["Message"]),
                           list(record["MessageArgs"]),
                           str(record["Severity"]),
                           origin.get("@odata.id") if isinstance(
                               origin, dict) else None)
    return Response(204)


class EventBus:
    """Subscriptions of one emulator and the delivery thread."""

    def __init__(self, emu, dispatcher):
        self.emu = emu
        self.subscriptions = collections.OrderedDict()
        self.collection_path = None
        self.service = None         # EventServiceResource
        self.next_id = 1
        self.event_ids = itertools.count(1)
        self.dropped = []           # captured subscriptions not served
        self.dispatcher = dispatcher

    def service_list(self, name, default):
        if self.service is not None and isinstance(
                self.service.body.get(name), list):
            return self.service.body[name]
        return default

    def list(self):
        return list(self.subscriptions.values())

    def add(self, collection_path, data):
        while str(self.next_id) in self.subscriptions:
            self.next_id += 1
        sid = str(self.next_id)
        self.next_id += 1
        sub = Subscription(sid, join(collection_path, sid), data)
        self.subscriptions[sid] = sub
        self.emu.tree.add(SubscriptionResource(sub, data))
        return sub

    def remove(self, sid):
        sub = self.subscriptions.pop(sid, None)
        if sub is not None:
            self.emu.tree.remove(sub.path)

    def publish(self, event_type, message_id, message, args, severity,
                origin=None):
        """Queue one event for every matching subscription (call with the
        emulator lock held; delivery happens on the dispatcher thread)."""
        if self.service is not None:
            enabled, attempts, interval = self.service.settings()
        else:
            enabled, attempts, interval = True, 3, 2.0
        if not enabled:
            return 0
        event_id = str(next(self.event_ids))
        record = {
            "MemberId": "0",
            "EventType": event_type,
            "EventId": event_id,
            "EventTimestamp": util.now_iso(),
            "MessageId": message_id,
            "Message": message,
            "MessageArgs": [str(a) for a in args],
            "Severity": severity,
            "MessageSeverity": severity,
        }
        if origin:
            record["OriginOfCondition"] = ref(origin)
        count = 0
        for sub in self.subscriptions.values():
            if not sub.matches(record):
                continue
            payload = {
                "@odata.type": "#Event.v1_8_0.Event",
                "Id": event_id,
                "Name": "Event Array",
                "Context": sub.context or "",
                "Events": [record],
            }
            self.dispatcher.submit(sub, payload, attempts, interval)
            count += 1
        return count

    def state(self):
        with self.dispatcher.cond:
            return self._state()

    def _state(self):
        return {
            "subscriptions": [{"id": s.id, "destination": s.destination,
                               "event_types": s.event_types,
                               "registry_prefixes": s.registry_prefixes,
                               "delivered": s.delivered,
                               "failed": s.failed}
                              for s in self.subscriptions.values()],
            "dropped_subscriptions": list(self.dropped),
            "sent": self.dispatcher.sent,
            "failed": self.dispatcher.failed,
            "pending": self.dispatcher.pending(),
            "recent": list(self.dispatcher.recent),
        }


class Dispatcher(threading.Thread):
    """POSTs queued events to 127.0.0.1 destinations, with retries."""

    TIMEOUT = 3.0
    MAX_QUEUE = 10000

    def __init__(self):
        super().__init__(name="event-dispatcher", daemon=True)
        self.cond = threading.Condition()
        self.heap = []
        self.seq = itertools.count()
        self.sent = 0
        self.failed = 0
        self.recent = collections.deque(maxlen=20)
        self.stopping = False
        self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        self.ssl_ctx.check_hostname = False
        self.ssl_ctx.verify_mode = ssl.CERT_NONE

    def submit(self, sub, payload, attempts, interval):
        with self.cond:
            if len(self.heap) >= self.MAX_QUEUE:
                self.failed += 1
                return
            heapq.heappush(self.heap, (time.monotonic(), next(self.seq), sub,
                                       payload, attempts, interval))
            self.cond.notify()

    def pending(self):
        with self.cond:
            return len(self.heap)

    def clear(self):
        with self.cond:
            self.heap = []

    def stop(self):
        with self.cond:
            self.stopping = True
            self.cond.notify()

    def run(self):
        while True:
            with self.cond:
                while not self.stopping and (
                        not self.heap or self.heap[0][0] > time.monotonic()):
                    timeout = None
                    if self.heap:
                        timeout = max(0.0, self.heap[0][0] - time.monotonic())
                    self.cond.wait(timeout)
                if self.stopping:
                    return
                item = heapq.heappop(self.heap)
            _, _, sub, payload, attempts, interval = item
            ok, detail = self.deliver(sub, payload)
            with self.cond:
                self.recent.append({"subscription": sub.id,
                                    "event": payload["Id"],
                                    "message_id":
                                        payload["Events"][0]["MessageId"],
                                    "ok": ok, "detail": detail})
                if ok:
                    self.sent += 1
                    sub.delivered += 1
                elif attempts > 0:
                    heapq.heappush(self.heap, (
                        time.monotonic() + interval, next(self.seq), sub,
                        payload, attempts - 1, interval))
                else:
                    self.failed += 1
                    sub.failed += 1

    def deliver(self, sub, payload):
        url = sub.destination
        if not loopback_destination(url):       # never leave the machine
            return False, "refused: not 127.0.0.1"
        parts = urllib.parse.urlsplit(url)
        body = json.dumps(payload).encode("utf-8")
        headers = dict(sub.headers)
        headers.update({"Content-Type": "application/json",
                        "Content-Length": str(len(body)),
                        "User-Agent": "underlay-redfish-emulator"})
        path = parts.path or "/"
        if parts.query:
            path += "?" + parts.query
        try:
            if parts.scheme == "https":
                conn = http.client.HTTPSConnection(
                    "127.0.0.1", parts.port or 443, timeout=self.TIMEOUT,
                    context=self.ssl_ctx)
            else:
                conn = http.client.HTTPConnection(
                    "127.0.0.1", parts.port or 80, timeout=self.TIMEOUT)
            try:
                conn.request("POST", path, body=body, headers=headers)
                resp = conn.getresponse()
                resp.read(65536)
                status = resp.status
            finally:
                conn.close()
        except (OSError, http.client.HTTPException) as exc:
            return False, "%s: %s" % (type(exc).__name__, exc)
        return 200 <= status < 300, "HTTP %d" % status


def make_test_event_action(path):
    return ActionTarget(path, "EventService.SubmitTestEvent",
                        submit_test_event)
