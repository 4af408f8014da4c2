"""The Emulator (state, lock, faults, ticker) and its HTTP(S) server.

Every request handler takes the emulator lock (an RLock) around the model;
the ticker thread takes it to advance power transitions, add periodic log
entries and expire sessions.  Events are queued under the lock and POSTed
by the dispatcher thread without it.  Latency faults sleep without the
lock, so a slow path does not slow the others.

The control API lives under /_emulator on the same port, needs no
authentication and is never subject to faults (see README.md).
"""

import copy
import json
import random
import ssl
import sys
import threading
import time
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import builtin, mockup
from .events import Dispatcher, EventBus
from .logs import SEVERITIES
from .messages import RedfishError, err, event_message, message, error_body
from .model import Ctx, Response, Tree, canon, parse_query, JSON_TYPE
from .sensors import SensorResource
from .sessions import Accounts, SessionStore
from .tasks import TaskService
from .update import firmware_state
from . import util

FAULT_DEFAULTS = {
    "latency_ms": 0,            # delay before answering
    "error_rate": 0.0,          # probability of an injected error
    "status": 503,              # status of injected errors
    "fail_next": 0,             # the next N requests get an injected error
    "malformed_json": False,    # true or a probability: corrupt JSON bodies
    "drop_connection": False,   # true or a probability: close, no answer
    "exhaust_sessions": False,  # every login: SessionLimitExceeded
    "graceful_ignored": False,  # GracefulShutdown/Restart do nothing
    "path_prefix": "",          # faults only for paths under this prefix
    # These act on operations, never on the HTTP exchange itself:
    "bios_reject": [],          # BIOS attributes refused when applied
    "volume_task": False,       # volume POST/DELETE answer 202 + a task
    "task_fail": "",            # tasks end in Exception with this text
    "task_fail_at": "apply",    # ... at "verify" or "apply" (flashing)
    "task_stall": None,         # tasks stop advancing at this percent
    "task_step_ms": 300,        # duration of one task step
}
TASK_FAIL_AT = {"verify": "verify", "verifying": "verify",
                "apply": "apply", "flashing": "apply"}

MAX_COUNTED_PATHS = 2000

# (Severity, MessageId, Message format, SensorType, EntryCode) of the
# entries --log-interval adds, in turn.
PERIODIC = (
    ("OK", "EmulatorEvent.1.0.PeriodicEntry",
     "Periodic log entry %d.", None, None),
    ("Warning", "EmulatorEvent.1.0.CorrectableMemoryError",
     "Correctable ECC memory error logging limit reached (entry %d).",
     "Memory", "Correctable ECC"),
    ("OK", "EmulatorEvent.1.0.PeriodicEntry",
     "Periodic log entry %d.", None, None),
    ("Critical", "EmulatorEvent.1.0.ProcessorThermalTrip",
     "Processor thermal trip asserted (entry %d).",
     "Processor", "Thermal Trip"),
)

SENSOR_TYPES = {"Temperature": "Temperature", "Voltage": "Voltage",
                "Current": "Current", "Rotational": "Fan",
                "Power": "Power Supply"}


class Config:
    """Settings (from the command line); see emulator.py."""

    def __init__(self, **kw):
        self.__dict__.update(kw)


def _truthy(value):
    if isinstance(value, bool):
        return 1.0 if value else 0.0
    return float(value)


class Emulator:
    def __init__(self, config):
        self.config = config
        self.lock = threading.RLock()
        self.rng = random.Random(config.seed)
        self.start_faults = self.default_faults()
        self.start_faults.update(copy.deepcopy(config.faults))
        self.dispatcher = Dispatcher()
        self.stopping = threading.Event()
        self.tasks = None
        self.build()

    def default_faults(self):
        """The faults when cleared (task_step_ms: --task-step-ms)."""
        out = copy.deepcopy(FAULT_DEFAULTS)
        out["task_step_ms"] = getattr(self.config, "task_step_ms", 300)
        return out

    # -- life cycle --------------------------------------------------------

    def build(self):
        """(Re)create the whole service in its start-up state."""
        cfg = self.config
        with self.lock:
            self.dispatcher.clear()
            if self.tasks is not None:
                self.tasks.shutdown()
            self.tasks = TaskService(self)
            self.firmware = {}          # FirmwareInventory Id -> FirmwareItem
            self.upload_paths = set()   # canon paths taking image bodies
            self.tree = Tree()
            self.systems = []
            self.sessions = SessionStore(cfg.session_timeout)
            self.accounts = Accounts(cfg.user, cfg.password)
            self.events = EventBus(self, self.dispatcher)
            self.faults = copy.deepcopy(self.start_faults)
            self.requests = {}
            self.requests_total = 0
            self.noop_actions = []
            self.unavailable_until = 0.0
            self.log_seq = 0
            self.next_log = time.monotonic() + (cfg.log_interval or 0)
            self.started = util.now_iso()
            if cfg.mockup:
                mockup.load(self, cfg.mockup)
            else:
                builtin.build(self)

    def start(self):
        self.dispatcher.start()
        threading.Thread(target=self._ticker, name="ticker",
                         daemon=True).start()

    def stop(self):
        self.stopping.set()
        self.dispatcher.stop()

    def _ticker(self):
        last_expiry = 0.0
        while not self.stopping.wait(0.05):
            try:
                with self.lock:
                    now = time.monotonic()
                    for s in self.systems:
                        s.power.tick()
                    if self.config.log_interval and now >= self.next_log:
                        self.next_log = now + self.config.log_interval
                        self.periodic_log()
                    if now - last_expiry >= 1.0:
                        last_expiry = now
                        for sid in self.sessions.expired():
                            self.end_session(sid)
            except Exception:           # never let the ticker die
                traceback.print_exc()

    # -- requests ------------------------------------------------------------

    def count(self, method, path):
        with self.lock:
            self.requests_total += 1
            if path not in self.requests and \
                    len(self.requests) >= MAX_COUNTED_PATHS:
                path = "(other)"
            per = self.requests.setdefault(path, {})
            per[method] = per.get(method, 0) + 1

    def fault_plan(self, path):
        """What faults hit this request: (latency_s, drop, error_status,
        malformed).  Consumes fail_next."""
        with self.lock:
            f = self.faults
            prefix = f.get("path_prefix") or ""
            if prefix and not canon(path).startswith(canon(prefix)):
                return 0.0, False, None, False
            latency = max(0.0, float(f.get("latency_ms") or 0)) / 1000.0
            drop = self.rng.random() < _truthy(f.get("drop_connection"))
            status = None
            if f.get("fail_next", 0) > 0:
                f["fail_next"] -= 1
                status = int(f.get("status") or 503)
            elif self.rng.random() < float(f.get("error_rate") or 0):
                status = int(f.get("status") or 503)
            malformed = self.rng.random() < _truthy(f.get("malformed_json"))
            if self.unavailable_until > time.monotonic() and status is None:
                status = 503
            return latency, drop, status, malformed

    def authenticate(self, ctx):
        token = ctx.header("X-Auth-Token")
        if token is not None:
            session = self.sessions.lookup(token.strip())
            if session is not None:
                ctx.session = session
                ctx.user = session.user
                return
            raise self._unauthorized()
        auth = ctx.header("Authorization")
        if auth is not None and self.config.basic and \
                auth.split(None, 1)[0].lower() == "basic":
            user = self.accounts.basic(auth)
            if user is not None:
                ctx.user = user
                return
        raise self._unauthorized()

    def _unauthorized(self):
        headers = {}
        if self.config.basic:
            headers["WWW-Authenticate"] = 'Basic realm="Redfish"'
        return err(401, "NoValidSession", headers=headers)

    def dispatch(self, ctx):
        """Answer one /redfish request (called with the lock held)."""
        res = self.tree.get(ctx.path)
        if res is None or not res.public(ctx):
            self.authenticate(ctx)
        if res is None:
            last = urllib.parse.unquote(ctx.path.rstrip("/").rsplit("/", 1)[-1])
            raise err(404, "ResourceNotFound", "Resource", last)
        return res.handle(ctx)

    # -- hooks called by resources ------------------------------------------

    def end_session(self, sid):
        session = self.sessions.remove(sid)
        if session is not None:
            self.tree.remove(session.path)

    def add_log(self, coll, severity, text, message_id, args=(),
                publish=True, **kw):
        entry = coll.add(self, severity, text, message_id, args, **kw)
        if publish:
            self.events.publish("Alert", message_id, text, list(args),
                                severity, origin=entry.odata_id)
        return entry

    def power_changed(self, state, old, new):
        state.resource.on_power(self, old, new)
        if new == "On" and old != "On":
            # a boot: pending BIOS settings and staged firmware apply
            for hook in list(state.boot_hooks):
                hook()
            self.tasks.release_for("system:%s" % state.id)
        if new not in ("On", "Off"):
            return
        mid = "ResourceEvent.1.3.ResourcePowered" + new
        text, severity = event_message(mid, state.path)
        self.events.publish("StatusChange", mid, text, [state.path],
                            severity, origin=state.path)
        if state.logs:
            self.add_log(state.logs[0], "OK", text, mid, [state.path],
                         publish=False, sensor_type="Power Unit",
                         entry_code="Power " + new.lower(),
                         origin=state.path)

    def system_reset(self, state, reset_type):
        state.reset_log.append((util.now_iso(), reset_type))
        del state.reset_log[:-20]
        if reset_type == "Nmi" and state.logs:
            self.add_log(state.logs[0], "Critical",
                         "Diagnostic interrupt (NMI) asserted.",
                         "EmulatorEvent.1.0.DiagnosticInterrupt",
                         sensor_type="Critical Interrupt",
                         entry_code="Front Panel NMI / Diagnostic Interrupt",
                         origin=state.path)
        state.power.reset(reset_type,
                          graceful_ignored=bool(
                              self.faults.get("graceful_ignored")))

    def manager_reset(self, manager, reset_type):
        for sid in list(self.sessions.sessions):
            self.end_session(sid)
        self.tasks.release_for("manager:%s" % manager.body.get("Id"))
        self.unavailable_until = time.monotonic() + \
            self.config.bmc_reset_downtime
        for state in self.systems:
            if manager in state.managers and state.manager_logs:
                self.add_log(state.manager_logs[0], "OK",
                             "BMC reset requested (%s)." % reset_type,
                             "EmulatorEvent.1.0.ManagerReset", [reset_type],
                             origin=manager.odata_id)
                break

    def sensor_health_changed(self, sensor, health, value):
        level, name = health
        units = sensor.body.get("ReadingUnits", "")
        if level == "OK" or name is None:
            mid = "SensorEvent.1.0.SensorReadingNormalRange"
            args = [sensor.name, value, units]
        else:
            where = "Above" if name.startswith("Upper") else "Below"
            bound = "Upper" if where == "Above" else "Lower"
            kind = "Caution" if level == "Warning" else "Critical"
            mid = "SensorEvent.1.0.Reading%s%s%sThreshold" % (where, bound,
                                                              kind)
            limit = sensor.body["Thresholds"][name]["Reading"]
            args = [sensor.name, value, units, limit]
        text, severity = event_message(mid, *args)
        state = sensor.system
        if state is not None and state.logs:
            self.add_log(state.logs[0], severity, text, mid, args,
                         sensor_type=SENSOR_TYPES.get(
                             sensor.body.get("ReadingType"), "Other"),
                         entry_code="Assert" if level != "OK" else "Deassert",
                         origin=sensor.odata_id)
        else:
            self.events.publish("Alert", mid, text, args, severity,
                                origin=sensor.odata_id)

    def periodic_log(self):
        self.log_seq += 1
        severity, mid, template, stype, code = \
            PERIODIC[(self.log_seq - 1) % len(PERIODIC)]
        text = template % self.log_seq
        for state in self.systems:
            for coll in state.logs[:1]:
                self.add_log(coll, severity, text, mid, [self.log_seq],
                             sensor_type=stype, entry_code=code,
                             origin=state.path)
            for coll in state.manager_logs[:1]:
                self.add_log(coll, "OK",
                             "BMC periodic event %d." % self.log_seq,
                             "EmulatorEvent.1.0.PeriodicEntry",
                             [self.log_seq], origin=state.managers[0].odata_id
                             if state.managers else None)

    # -- control API -----------------------------------------------------------

    def state(self, base_url):
        with self.lock:
            logs = {}
            for s in self.systems:
                for coll in s.logs + s.manager_logs:
                    logs[coll.odata_id] = len(coll.members)
            return {
                "url": base_url,
                "mode": "mockup" if self.config.mockup else "builtin",
                "mockup": self.config.mockup,
                "started": self.started,
                "systems": [s.state() for s in self.systems],
                "sessions": [{"id": x.id, "user": x.user, "path": x.path,
                              "created": x.created,
                              "idle_seconds": round(
                                  time.monotonic() - x.last_used, 1)}
                             for x in self.sessions.list()],
                "session_count": len(self.sessions.sessions),
                "max_sessions": self.config.max_sessions,
                "events": self.events.state(),
                "log_entries": logs,
                "faults": dict(self.faults),
                "requests_total": self.requests_total,
                "requests": {k: dict(v) for k, v in self.requests.items()},
                "noop_actions": list(self.noop_actions),
                "resources": len(list(self.tree.resources())),
                "bios": {s.id: s.bios.state() for s in self.systems
                         if s.bios is not None},
                "storage": {s.id: s.storage.state() for s in self.systems
                            if s.storage is not None},
                "firmware": firmware_state(self),
                "tasks": self.tasks.state(),
            }

    def control(self, method, path, data, base_url):
        """(status, body) for /_emulator/..."""
        name = path[len("/_emulator"):].strip("/")
        if (method, name) == ("GET", "state"):
            return 200, self.state(base_url)
        if name == "faults":
            with self.lock:
                if method == "GET":
                    return 200, dict(self.faults)
                if method == "DELETE":
                    self.faults = self.default_faults()
                    return 200, dict(self.faults)
                if method == "POST":
                    new = {k: v for k, v in data.items() if k != "clear"}
                    problem = check_faults(new)
                    if problem:
                        return 400, {"error": problem}
                    if data.get("clear"):
                        self.faults = self.default_faults()
                    if "task_fail_at" in new:
                        new["task_fail_at"] = TASK_FAIL_AT[
                            new["task_fail_at"]]
                    if "task_fail" in new and new["task_fail"] is None:
                        new["task_fail"] = ""
                    self.faults.update(new)
                    return 200, dict(self.faults)
        if (method, name) == ("POST", "reset"):
            self.build()
            return 200, {"reset": True}
        if (method, name) == ("POST", "sensor"):
            return self.control_sensor(data)
        if (method, name) == ("POST", "log"):
            return self.control_log(data)
        if (method, name) == ("POST", "power"):
            return self.control_power(data)
        if (method, name) == ("POST", "event"):
            return self.control_event(data)
        if (method, name) == ("POST", "drive"):
            return self.control_drive(data)
        return 404, {"error": "unknown control request %s /_emulator/%s"
                     % (method, name)}

    def _systems_for(self, key):
        if key is None:
            return self.systems[:1]
        if key == "all":
            return list(self.systems)
        key = str(key)
        return [s for s in self.systems
                if s.id.lower() == key.lower() or canon(s.path) == canon(key)]

    def control_sensor(self, data):
        sid = data.get("id")
        reading = data.get("reading", "missing")
        if not isinstance(sid, str) or reading == "missing" or not (
                reading is None or (isinstance(reading, (int, float))
                                    and not isinstance(reading, bool))):
            return 400, {"error": 'need {"id": SENSOR_ID, "reading": NUMBER '
                                  'or null [, "chassis": ID|"all"]}'}
        chassis = data.get("chassis")
        with self.lock:
            found = []
            for res in self.tree.resources():
                if not isinstance(res, SensorResource):
                    continue
                if str(res.body.get("Id", "")).lower() != sid.lower():
                    continue
                found.append(res)
            if chassis != "all":
                chassis_paths = []
                for s in self.systems:
                    for c in s.chassis:
                        if chassis is None or \
                                str(c.body.get("Id", "")).lower() == \
                                str(chassis).lower():
                            chassis_paths.append(canon(c.odata_id))
                if chassis is None:
                    chassis_paths = chassis_paths[:1]
                in_chassis = [r for r in found if any(
                    canon(r.odata_id).startswith(p + "/")
                    for p in chassis_paths)]
                if in_chassis or chassis is not None:
                    found = in_chassis
                else:
                    found = found[:1]
            if not found:
                return 404, {"error": "no sensor %r" % sid}
            for res in found:
                res.set_reading(self, reading)
            return 200, {"updated": [r.odata_id for r in found],
                         "health": [r.health()[0] for r in found]}

    def control_log(self, data):
        text = data.get("message")
        severity = data.get("severity", "OK")
        if not isinstance(text, str) or severity not in SEVERITIES:
            return 400, {"error": 'need {"message": TEXT, "severity": '
                                  'OK|Warning|Critical [, "message_id", '
                                  '"system", "service": system|manager, '
                                  '"sensor_type", "entry_code", '
                                  '"publish": true]}'}
        with self.lock:
            systems = self._systems_for(data.get("system"))
            if not systems:
                return 404, {"error": "no such system"}
            state = systems[0]
            service = data.get("service", "system")
            colls = state.manager_logs if service == "manager" else state.logs
            if not colls:
                return 404, {"error": "system %s has no %s log" % (state.id,
                                                                   service)}
            entry = self.add_log(
                colls[0], severity, text,
                str(data.get("message_id", "EmulatorEvent.1.0.Message")),
                [str(a) for a in data.get("message_args", [])]
                if isinstance(data.get("message_args"), list) else [],
                publish=bool(data.get("publish", True)),
                sensor_type=data.get("sensor_type"),
                entry_code=data.get("entry_code"),
                origin=state.path if service != "manager" or
                not state.managers else state.managers[0].odata_id)
            return 200, {"entry": entry.odata_id, "id": entry.body["Id"],
                         "count": len(colls[0].members)}

    def control_power(self, data):
        target = data.get("state")
        if target not in ("On", "Off"):
            return 400, {"error": 'need {"state": "On"|"Off" [, "system": '
                                  'ID|"all"]}'}
        with self.lock:
            systems = self._systems_for(data.get("system", "all"))
            if not systems:
                return 404, {"error": "no such system"}
            for s in systems:
                s.power.force(target)
            return 200, {"systems": [s.id for s in systems],
                         "power_state": target}

    def control_drive(self, data):
        health = data.get("health")
        state = data.get("state")
        if "drive" not in data or (health is None and state is None) or \
                health not in (None, "OK", "Warning", "Critical") or \
                state not in (None, "Enabled", "Disabled", "Absent",
                              "StandbyOffline", "UnavailableOffline"):
            return 400, {"error": 'need {"drive": ID, "health": '
                                  'OK|Warning|Critical [, "state": '
                                  'Enabled|Disabled|Absent|...] '
                                  '[, "system": ID]}'}
        with self.lock:
            systems = self._systems_for(data.get("system"))
            if not systems or systems[0].storage is None:
                return 404, {"error": "no such system, or it has no "
                                      "storage"}
            st = systems[0].storage
            d = st.set_drive(str(data["drive"]), health, state)
            if d is None:
                return 404, {"error": "no drive %r (drives: %s)" % (
                    data["drive"], ", ".join(st.drives))}
            return 200, {"drive": d.path, "health": d.health,
                         "state": d.state}

    def control_event(self, data):
        etype = data.get("event_type", "Alert")
        mid = data.get("message_id", "EmulatorEvent.1.0.TestEvent")
        text = data.get("message", "Test event.")
        severity = data.get("severity", "OK")
        if not all(isinstance(x, str) for x in (etype, mid, text, severity)):
            return 400, {"error": "event_type, message_id, message, "
                                  "severity must be strings"}
        with self.lock:
            n = self.events.publish(etype, mid, text, [], severity,
                                    origin=data.get("origin"))
        return 200, {"queued": n}


def check_faults(new):
    for key, value in new.items():
        if key not in FAULT_DEFAULTS:
            return "unknown fault %r (known: %s)" % (
                key, ", ".join(sorted(FAULT_DEFAULTS)))
        if key == "path_prefix":
            if not isinstance(value, str):
                return "path_prefix must be a string"
        elif key == "bios_reject":
            if not isinstance(value, list) or not all(
                    isinstance(x, str) for x in value):
                return "bios_reject must be a list of attribute names"
        elif key == "volume_task":
            if not isinstance(value, bool):
                return "volume_task must be true or false"
        elif key == "task_fail":
            if value is not None and not isinstance(value, str):
                return "task_fail must be a string (\"\": off)"
        elif key == "task_fail_at":
            if value not in TASK_FAIL_AT:
                return "task_fail_at must be one of %s" % ", ".join(
                    TASK_FAIL_AT)
        elif key == "task_stall":
            if value is not None and (isinstance(value, bool) or
                                      not isinstance(value, int) or
                                      not 0 <= value <= 100):
                return "task_stall must be a percent (0..100) or null"
        elif key in ("malformed_json", "drop_connection"):
            if not isinstance(value, (bool, int, float)) or not \
                    0 <= float(value) <= 1:
                return "%s must be true/false or a probability" % key
        elif key in ("exhaust_sessions", "graceful_ignored"):
            if not isinstance(value, bool):
                return "%s must be true or false" % key
        elif key == "error_rate":
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or not 0 <= value <= 1:
                return "error_rate must be a number in 0..1"
        elif key == "status":
            if isinstance(value, bool) or not isinstance(value, int) or \
                    not 400 <= value <= 599:
                return "status must be an HTTP error status (400-599)"
        else:
            if isinstance(value, bool) or not isinstance(
                    value, (int, float)) or value < 0:
                return "%s must be a non-negative number" % key
    return None


# ---------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in separate writes: with Nagle's algorithm and
    # the client's delayed ACK every kept-alive request stalled ~40 ms.
    disable_nagle_algorithm = True
    server_version = "UL-Redfish-Emulator/1.0"
    sys_version = ""
    timeout = 60                    # idle keep-alive connections

    def version_string(self):
        return self.server_version

    def log_message(self, fmt, *args):
        if self.server.emu.config.verbose:
            sys.stderr.write("%s %s\n" % (self.address_string(), fmt % args))

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    def send_error(self, code, message_text=None, explain=None):
        """http.server's own errors (bad request line, unsupported method,
        headers too long...) answered as Redfish errors."""
        self.close_connection = True
        key = {404: "ResourceNotFound", 405: "OperationNotAllowed",
               501: "OperationNotAllowed"}.get(code, "GeneralError")
        body = error_body([message(key, "Resource",
                                   getattr(self, "path", None) or "")
                           if key == "ResourceNotFound" else message(key)])
        self.reply(Response(code, body), "GET")

    def base_url(self):
        return "%s://127.0.0.1:%d" % (self.server.scheme,
                                      self.server.server_address[1])

    def read_body(self, limit):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            data = b""
            while True:
                line = self.rfile.readline(1024)
                if not line:
                    raise ConnectionError("eof in chunked body")
                try:
                    size = int(line.split(b";", 1)[0].strip() or b"x", 16)
                except ValueError:
                    self.close_connection = True
                    raise err(400, "HeaderInvalid", "Transfer-Encoding")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n",
                                                            b""):
                        pass
                    return data
                if len(data) + size > limit:
                    self.close_connection = True
                    raise err(413, "PayloadTooLarge")
                data += self.rfile.read(size)
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if length is None:
            return b""
        length = length.strip()
        if not length.isdigit():
            self.close_connection = True
            raise err(400, "HeaderInvalid", "Content-Length")
        length = int(length)
        if length > limit:
            self.close_connection = True
            raise err(413, "PayloadTooLarge")
        data = self.rfile.read(length)
        if len(data) < length:
            raise ConnectionError("short body")
        return data

    def dispatch(self, method):
        emu = self.server.emu
        try:
            split = urllib.parse.urlsplit(self.path)
            path = split.path or "/"
            query = parse_query(split.query)
        except ValueError:
            self.close_connection = True
            self.reply(Response(400, error_body([message("GeneralError")])),
                       method)
            return
        limit = emu.config.max_body
        if canon(path) in emu.upload_paths:
            # an image plus the multipart framing
            limit = getattr(emu.config, "max_image_size", limit) + 65536
        try:
            body = self.read_body(limit)
        except RedfishError as exc:
            self.reply(Response(exc.status, exc.body(), exc.headers), method)
            return
        except (ConnectionError, OSError):
            self.close_connection = True
            return
        if path == "/_emulator" or path.startswith("/_emulator/"):
            self.control(method, path, body)
            return
        emu.count(method, path)
        latency, drop, status, malformed = emu.fault_plan(path)
        if latency:
            time.sleep(latency)
        if drop:
            self.close_connection = True
            return
        if status is not None:
            hdrs = {"Retry-After": "5"} if status == 503 else {}
            msg = message("ServiceTemporarilyUnavailable", "5") \
                if status == 503 else message("InternalError")
            self.reply(Response(status, error_body([msg]), hdrs), method,
                       malformed)
            return
        ctx = Ctx(emu, method, path, query, self.headers, body)
        try:
            with emu.lock:
                resp = emu.dispatch(ctx)
        except RedfishError as exc:
            resp = Response(exc.status, exc.body(), exc.headers)
        except Exception:
            traceback.print_exc()
            resp = Response(500, error_body([message("InternalError")]))
        self.reply(resp, method, malformed)

    def control(self, method, path, body):
        emu = self.server.emu
        data = {}
        if body.strip():
            try:
                data = json.loads(body.decode("utf-8"))
            except (ValueError, UnicodeDecodeError):
                data = None
        if not isinstance(data, dict):
            self.reply(Response(400, {"error": "body must be a JSON object"}),
                       method)
            return
        try:
            status, out = emu.control(method, path, data, self.base_url())
        except Exception as exc:
            traceback.print_exc()
            status, out = 500, {"error": "%s: %s" % (type(exc).__name__, exc)}
        self.reply(Response(status, out), method)

    def reply(self, resp, method, malformed=False):
        if resp.body is None:
            data = b""
        elif isinstance(resp.body, bytes):
            data = resp.body
        else:
            data = json.dumps(resp.body, indent=2).encode("utf-8")
        if malformed and data and resp.content_type == JSON_TYPE:
            data = data[:max(1, len(data) // 2)] + b'\n,"\x00 <html>'
        if resp.status in (204, 304):
            data = b""
        try:
            self.send_response(resp.status)
            if data or resp.status not in (204, 304):
                self.send_header("Content-Type", resp.content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("OData-Version", "4.0")
            self.send_header("Cache-Control", "no-cache")
            for k, v in resp.headers.items():
                self.send_header(k, v)
            if self.close_connection:
                self.send_header("Connection", "close")
            self.end_headers()
            if method != "HEAD" and data:
                self.wfile.write(data)
        except (OSError, ssl.SSLError):
            self.close_connection = True


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, emu, port, ssl_ctx=None):
        self.emu = emu
        self.ssl_ctx = ssl_ctx
        self.scheme = "https" if ssl_ctx else "http"
        super().__init__(("127.0.0.1", port), Handler)

    def finish_request(self, request, client_address):
        if self.ssl_ctx is None:
            self.RequestHandlerClass(request, client_address, self)
            return
        try:
            request.settimeout(10)
            conn = self.ssl_ctx.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            try:
                conn.close()
            except OSError:
                pass

    def handle_error(self, request, client_address):
        if self.emu.config.verbose:
            super().handle_error(request, client_address)


def make_ssl_context(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key)
    return ctx
