"""TaskService, tasks and task monitors.

A long operation (a firmware update, a volume created or deleted while the
"volume_task" fault is set) answers 202 Accepted with a Location header
naming its task monitor and the Task resource as body.  The task then runs
in its own thread, whatever the client does:

  /redfish/v1/TaskService                     ServiceEnabled, Tasks link
  /redfish/v1/TaskService/Tasks               collection (oldest first)
  /redfish/v1/TaskService/Tasks/<id>          #Task.v1_4_3.Task
  /redfish/v1/TaskService/TaskMonitors/<id>   202 + the Task while it runs,
                                              then the operation's result

TaskState goes New -> Starting -> Running -> Completed | Exception |
Killed, or Running -> Pending for an update staged until the next reset
(then Completed).  Each step lasts task_step_ms (the fault of that name,
default --task-step-ms).  The work itself is a generator function
work(task) that yields its steps:

  ("step", TaskState, PercentComplete, Message)
  ("pending", PercentComplete, Message)      wait for task.release()

runs unlocked between the yields (a download may block there), takes the
emulator lock itself when it changes the model, raises TaskFailed to end
the task in Exception, and returns (Message, headers) or None when done.

Faults read at every step: task_stall (a percent: the task stops there,
Running, until the fault is cleared), task_fail (a text: check_fail()
raises it at the named phase, see task_fail_at).  DELETE of an unfinished
task (or of its monitor) kills it; DELETE of a finished task removes it.
POST /_emulator/reset abandons every task (their threads end).
"""

import copy
import threading
import time
import traceback

from .messages import RedfishError, custom_message, err, error_body, \
    success_body
from .model import Collection, Resource, Response, ref
from . import util

V1 = "/redfish/v1"
TASK_TYPE = "#Task.v1_4_3.Task"
FINISHED = ("Completed", "Exception", "Killed", "Cancelled")
MAX_TASKS = 64
TASK_EVENT = "TaskEvent.1.0"


class TaskFailed(Exception):
    """Raised by a task's work: the task ends in Exception with this
    message; its monitor answers `status` with an error body."""

    def __init__(self, text, message_id=TASK_EVENT + ".TaskAborted",
                 args=(), status=400):
        super().__init__(text)
        self.text = text
        self.message_id = message_id
        self.args_ = [str(a) for a in args]
        self.status = status


def task_message(key, task_id, *extra):
    texts = {
        "TaskStarted": ("The task with Id '%s' has started.", "OK"),
        "TaskCompletedOK": ("The task with Id '%s' has completed.", "OK"),
        "TaskCancelled": ("Work on the task with Id '%s' has been halted "
                          "prior to completion due to an explicit request.",
                          "Warning"),
        "TaskAborted": ("The task with Id '%s' has completed with errors.",
                        "Critical"),
        "TaskProgressChanged": ("The task with Id '%s' has changed to "
                                "progress %s percent complete.", "OK"),
    }
    text, severity = texts[key]
    args = (task_id,) + extra
    return custom_message("%s.%s" % (TASK_EVENT, key), text % args,
                          severity, args)


class Task:
    def __init__(self, service, tid, name, work, payload=None, kind="",
                 systems=()):
        self.service = service
        self.emu = service.emu
        self.id = tid
        self.path = "%s/TaskService/Tasks/%s" % (V1, tid)
        self.monitor = "%s/TaskService/TaskMonitors/%s" % (V1, tid)
        self.name = name
        self.kind = kind                # "update", "volume-create", ...
        self.work = work
        self.payload = payload
        self.systems = set(systems)     # reset tokens that release it
        self.state = "New"
        self.status = "OK"
        self.percent = 0
        self.start_time = util.now_iso()
        self.end_time = None
        self.messages = []
        self.result = None              # (status, body, headers)
        self.killed = False
        self.abandoned = False
        self.wake = threading.Event()
        self.on_release = None          # for Pending: called under lock
        self.on_end = None              # called (under lock) once it ends
        self.info = {}                  # shown in /_emulator/state

    # -- state -------------------------------------------------------------

    @property
    def finished(self):
        return self.state in FINISHED

    def stopped(self):
        return self.killed or self.abandoned or self.finished

    def add_message(self, msg):
        self.messages.append(msg)
        del self.messages[:-32]

    def view(self):
        body = {
            "@odata.id": self.path,
            "@odata.type": TASK_TYPE,
            "Id": self.id,
            "Name": self.name,
            "TaskState": self.state,
            "TaskStatus": self.status,
            "PercentComplete": self.percent,
            "StartTime": self.start_time,
            "TaskMonitor": self.monitor,
            "Messages": copy.deepcopy(self.messages),
            "HidePayload": False,
        }
        if self.end_time:
            body["EndTime"] = self.end_time
        if self.payload:
            body["Payload"] = copy.deepcopy(self.payload)
        return body

    def summary(self):
        out = {"id": self.id, "name": self.name, "kind": self.kind,
               "state": self.state, "status": self.status,
               "percent": self.percent, "uri": self.path,
               "monitor": self.monitor,
               "message": self.messages[-1]["Message"]
               if self.messages else None}
        out.update(self.info)
        return out

    def _end(self, state, status, msg, result):
        self.state = state
        self.status = status
        self.end_time = util.now_iso()
        if msg is not None:
            self.add_message(msg)
        self.result = result
        self.wake.set()
        if self.on_end is not None:
            try:
                self.on_end(self)
            finally:
                self.on_end = None

    def complete(self, msg=None, headers=None):
        """Completed (called with the lock held)."""
        self.percent = 100
        if msg is None:
            msg = task_message("TaskCompletedOK", self.id)
        self._end("Completed", "OK", msg,
                  (200, success_body(), dict(headers or {})))

    def fail(self, exc):
        msg = custom_message(exc.message_id, exc.text, "Critical",
                             exc.args_)
        self._end("Exception", "Critical", msg,
                  (exc.status, error_body([msg]), {}))

    def kill(self):
        """DELETE of an unfinished task (lock held)."""
        self.killed = True
        msg = task_message("TaskCancelled", self.id)
        self._end("Killed", "Warning", msg, (500, error_body([msg]), {}))

    def release(self):
        """A reset reached a Pending task (lock held): finish it now."""
        if self.state != "Pending" or self.on_release is None:
            return
        fn, self.on_release = self.on_release, None
        try:
            done = fn(self)
        except TaskFailed as exc:
            self.fail(exc)
            return
        msg, headers = done if done else (None, None)
        self.complete(msg, headers)

    # -- faults --------------------------------------------------------------

    def check_fail(self, phase, what, message_id=TASK_EVENT + ".TaskAborted",
                   args=()):
        """Raise the task_fail fault at this phase ("verify" or "apply"):
        the failure message is "<what> failed: <fault text>"."""
        faults = self.emu.faults
        text = faults.get("task_fail")
        if not text:
            return
        if (faults.get("task_fail_at") or "apply") == phase:
            raise TaskFailed("%s failed: %s" % (what, text), message_id,
                             args, status=500)

    # -- the thread ------------------------------------------------------------

    def step_seconds(self):
        value = self.emu.faults.get("task_step_ms")
        if value is None:
            value = getattr(self.emu.config, "task_step_ms", 300)
        try:
            return max(0.0, float(value) / 1000.0)
        except (TypeError, ValueError):
            return 0.3

    def sleep(self, seconds):
        """Sleep unless stopped; False when the task was stopped."""
        deadline = time.monotonic() + seconds
        while not self.stopped():
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self.wake.wait(min(left, 0.1))
        return False

    def hold_for_stall(self, percent):
        """task_stall: do not go past that percent while it is set."""
        lock = self.emu.lock
        while True:
            with lock:
                if self.stopped():
                    return False
                stall = self.emu.faults.get("task_stall")
                if stall is None or isinstance(stall, bool) or \
                        percent <= stall:
                    return True
                if self.percent < stall:
                    self.percent = int(stall)
                    if self.state in ("New", "Starting"):
                        self.state = "Running"
                self.info["stalled"] = True
            self.wake.wait(0.1)

    def start(self):
        threading.Thread(target=self.run, name="task-" + self.id,
                         daemon=True).start()

    def run(self):
        lock = self.emu.lock
        gen = self.work(self)
        try:
            if not self.sleep(self.step_seconds()):
                return
            while True:
                try:
                    step = next(gen)
                except StopIteration as stop:
                    with lock:
                        if not self.stopped():
                            msg, headers = stop.value if stop.value else \
                                (None, None)
                            self.complete(msg, headers)
                    return
                kind = step[0]
                if kind == "step":
                    _, state, percent, msg = step
                    if not self.hold_for_stall(percent):
                        return
                    with lock:
                        if self.stopped():
                            return
                        self.info.pop("stalled", None)
                        self.state = state
                        self.percent = max(self.percent, int(percent))
                        if msg is not None:
                            self.add_message(msg)
                    if not self.sleep(self.step_seconds()):
                        return
                elif kind == "pending":
                    _, percent, msg, release = step
                    with lock:
                        if self.stopped():
                            return
                        self.state = "Pending"
                        self.percent = int(percent)
                        self.on_release = release
                        if msg is not None:
                            self.add_message(msg)
                    while not self.stopped():
                        self.wake.wait(0.2)
                    return
                else:
                    raise ValueError("bad task step %r" % (step,))
        except TaskFailed as exc:
            with lock:
                if not self.stopped():
                    self.fail(exc)
        except Exception as exc:        # never leave a task Running
            traceback.print_exc()
            with lock:
                if not self.stopped():
                    self.fail(TaskFailed("internal error: %s" % exc,
                                         status=500))
        finally:
            gen.close()


class TaskService:
    """All tasks of one emulator build."""

    def __init__(self, emu):
        self.emu = emu
        self.tasks = []             # oldest first
        self.next_id = 1
        self.collection = None      # TaskCollection (builtin only)

    def create(self, name, work, payload=None, kind="", systems=()):
        tid = str(self.next_id)
        self.next_id += 1
        task = Task(self, tid, name, work, payload, kind, systems)
        self.tasks.append(task)
        self.emu.tree.add(TaskResource(task))
        self.emu.tree.add(TaskMonitorResource(task))
        self._trim()
        task.start()
        return task

    def _trim(self):
        while len(self.tasks) > MAX_TASKS:
            old = next((t for t in self.tasks if t.finished), None)
            if old is None:
                break
            self.remove(old)

    def remove(self, task):
        if task in self.tasks:
            self.tasks.remove(task)
        self.emu.tree.remove(task.path)
        self.emu.tree.remove(task.monitor)

    def get(self, tid):
        return next((t for t in self.tasks if t.id == tid), None)

    def release_for(self, token):
        """A reset happened ("system:<Id>": the system reached On after a
        reset or power-on; "manager:<Id>": Manager.Reset): finish the
        Pending tasks waiting for it."""
        for task in list(self.tasks):
            if task.state == "Pending" and token in task.systems:
                task.release()

    def shutdown(self):
        for task in self.tasks:
            task.abandoned = True
            task.wake.set()

    def state(self):
        return [t.summary() for t in self.tasks]


def accepted(task, ctx):
    """The 202 answer that starts a task."""
    view = TaskResource(task).full_view(ctx)
    return Response(202, view, {"Location": task.monitor,
                                "Retry-After": "1"})


class TaskResource(Resource):
    methods = ("GET", "DELETE")

    def __init__(self, task):
        super().__init__(task.path, {"@odata.type": TASK_TYPE})
        self.task = task

    def view(self, ctx):
        return self.task.view()

    def do_DELETE(self, ctx):
        task = self.task
        if task.finished:
            ctx.emu.tasks.remove(task)
        else:
            task.kill()
        return Response(204)


class TaskMonitorResource(Resource):
    """GET: 202 + the Task while it runs (Location: this monitor,
    Retry-After: 1); then the operation's result.  DELETE cancels."""

    methods = ("GET", "DELETE")
    etag_enabled = False

    def __init__(self, task):
        super().__init__(task.monitor, {}, odata_id=False)
        self.task = task

    def do_GET(self, ctx):
        task = self.task
        if not task.finished:
            view = TaskResource(task).full_view(ctx)
            return Response(202, view, {"Location": task.monitor,
                                        "Retry-After": "1"})
        status, body, headers = task.result
        if status >= 400:
            raise RedfishError(status, body["error"]["@Message.ExtendedInfo"],
                               headers=headers)
        return Response(status, copy.deepcopy(body), headers)

    def do_DELETE(self, ctx):
        if not self.task.finished:
            self.task.kill()
            return Response(204)
        raise err(405, "OperationNotAllowed", headers={"Allow": "GET, HEAD"})


class TaskCollection(Collection):
    methods = ("GET",)

    def view(self, ctx):
        self.members = [ref(t.path) for t in ctx.emu.tasks.tasks]
        return super().view(ctx)


class TaskServiceResource(Resource):
    volatile = ("DateTime",)

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        view["DateTime"] = util.now_iso()
        return view


def add_task_service(emu, root_body):
    emu.tree.add(TaskServiceResource(V1 + "/TaskService", {
        "@odata.type": "#TaskService.v1_2_0.TaskService",
        "Id": "TaskService",
        "Name": "Task Service",
        "Status": {"State": "Enabled", "Health": "OK"},
        "ServiceEnabled": True,
        "CompletedTaskOverWritePolicy": "Oldest",
        "LifeCycleEventOnTaskStateChange": False,
        "DateTime": util.now_iso(),
        "Tasks": ref(V1 + "/TaskService/Tasks"),
    }))
    emu.tasks.collection = emu.tree.add(TaskCollection(
        V1 + "/TaskService/Tasks", {
            "@odata.type": "#TaskCollection.TaskCollection",
            "Name": "Task Collection",
        }))
    root_body["Tasks"] = ref(V1 + "/TaskService")
