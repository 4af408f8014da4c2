"""UpdateService: firmware inventory and firmware updates through tasks.

  /redfish/v1/UpdateService                        #UpdateService.v1_11_0
      /FirmwareInventory/{BMC,BIOS,RAID,NIC}_N     #SoftwareInventory.v1_2_0
      /Actions/UpdateService.SimpleUpdate          POST {"ImageURI", ...}
      /update-multipart                            MultipartHttpPushUri
      /upload                                      HttpPushUri (raw image)

Every update answers 202 with Location: the task monitor, and a Task
(tasks.py) does the work: transfer (SimpleUpdate downloads ImageURI, only
http(s) on 127.0.0.1), verification, flashing, then the component's
Version changes (and the ComputerSystem's BiosVersion, the Manager's
FirmwareVersion or the controller's FirmwareVersion with it) and the BMC
log gets an entry.  With @Redfish.OperationApplyTime "OnReset" the task
waits in TaskState Pending until the system is next reset or powered on
(a BMC image also by Manager.Reset).

An image is any file whose first line is

    UNDERLAY-FIRMWARE component=<Id> version=<version>

where Id is a FirmwareInventory member Id (BIOS_1) or a component name
(BIOS: every BIOS_N, or those among Targets).  Values may be quoted
(version="U46 v2.11").
"""

import base64
import copy
import json
import os
import shlex
import socket
import ssl
import urllib.error
import urllib.parse
import urllib.request

from .messages import RedfishError, custom_message, err, message
from .model import Collection, Resource, canon, ref
from .tasks import TaskFailed, accepted, task_message

V1 = "/redfish/v1"
SERVICE = V1 + "/UpdateService"
INVENTORY = SERVICE + "/FirmwareInventory"
SIMPLE_UPDATE = SERVICE + "/Actions/UpdateService.SimpleUpdate"
MULTIPART_URI = SERVICE + "/update-multipart"
PUSH_URI = SERVICE + "/upload"
HEADER = b"UNDERLAY-FIRMWARE"
APPLY_TIMES = ("Immediate", "OnReset")
PROTOCOLS = ("HTTP", "HTTPS")
UPDATE = "Update.1.0"
STEP_ID = "UnderlayTask.1.0.Step"
DOWNLOAD_TIMEOUT = 10


class FirmwareItem(Resource):
    """A SoftwareInventory member; set_version() also updates the
    properties that mirror it (mirror callbacks)."""

    def __init__(self, path, body, system=None, tokens=()):
        super().__init__(path, body)
        self.system = system            # SystemState
        self.tokens = set(tokens)       # resets that apply a staged image
        self.mirrors = []               # fn(version)

    @property
    def fid(self):
        return self.body["Id"]

    def set_version(self, emu, version, image):
        old = self.body.get("Version")
        self.body["Version"] = version
        for fn in self.mirrors:
            fn(version)
        state = self.system
        if state is not None and state.manager_logs:
            emu.add_log(state.manager_logs[0], "OK",
                        "Firmware %s updated from %s to %s (image %s)."
                        % (self.fid, old, version, image),
                        "%s.UpdateSuccessful" % UPDATE, [self.fid, image],
                        origin=self.odata_id)


def add_firmware(emu, fid, name, version, related, system, software_id,
                 tokens=(), mirror=None):
    item = FirmwareItem(INVENTORY + "/" + fid, {
        "@odata.type": "#SoftwareInventory.v1_2_0.SoftwareInventory",
        "Id": fid,
        "Name": name,
        "Version": version,
        "Updateable": True,
        "SoftwareId": software_id,
        "Manufacturer": "Underlay",
        "RelatedItem": [ref(r) for r in related],
        "RelatedItem@odata.count": len(related),
        "Status": {"State": "Enabled", "Health": "OK"},
    }, system, tokens)
    if mirror is not None:
        item.mirrors.append(mirror)
    emu.tree.add(item)
    emu.tree.get(INVENTORY).add_member(item.path)
    emu.firmware[fid] = item
    return item


# ---------------------------------------------------------------------------
# images
# ---------------------------------------------------------------------------

def parse_header(data):
    """(component, version) of an image; TaskFailed when it has none."""
    first = data[:1024].split(b"\n", 1)[0].rstrip(b"\r")
    if not first.startswith(HEADER):
        raise TaskFailed("image verification failed: no UNDERLAY-FIRMWARE "
                         "header", "%s.VerificationFailed" % UPDATE)
    try:
        tokens = shlex.split(first.decode("utf-8", "replace"))
    except ValueError:
        tokens = []
    fields = {}
    for tok in tokens[1:]:
        if "=" in tok:
            k, v = tok.split("=", 1)
            fields[k.strip().lower()] = v.strip()
    comp, version = fields.get("component"), fields.get("version")
    if not comp or not version:
        raise TaskFailed("image verification failed: the UNDERLAY-FIRMWARE "
                         "header needs component=<Id> and version=<version>",
                         "%s.VerificationFailed" % UPDATE)
    return comp, version


def resolve_targets(emu, component, targets):
    """The FirmwareInventory Ids an image for `component` updates."""
    items = emu.firmware
    comp = component.upper()
    found = [fid for fid in items if fid.upper() == comp]
    if not found:
        found = [fid for fid in items
                 if fid.upper().rsplit("_", 1)[0] == comp]
    if not found:
        raise TaskFailed("image verification failed: unknown component '%s' "
                         "(known: %s)" % (component, ", ".join(items)),
                         "%s.VerificationFailed" % UPDATE)
    if targets:
        keys = set(canon(t) for t in targets)
        chosen = [fid for fid in found if canon(items[fid].path) in keys]
        if not chosen:
            raise TaskFailed(
                "image verification failed: the image is for %s, which is "
                "not among the Targets (%s)"
                % (component, ", ".join(targets)),
                "%s.VerificationFailed" % UPDATE)
        return chosen
    return found


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def download(uri, auth, limit):
    """The image at uri (http or https on 127.0.0.1), or TaskFailed."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    opener = urllib.request.build_opener(
        urllib.request.ProxyHandler({}), _NoRedirect(),
        urllib.request.HTTPSHandler(context=ctx))
    req = urllib.request.Request(uri, headers={
        "User-Agent": "UL-Redfish-Emulator/1.0"})
    if auth:
        token = base64.b64encode(("%s:%s" % auth).encode()).decode()
        req.add_header("Authorization", "Basic " + token)
    try:
        with opener.open(req, timeout=DOWNLOAD_TIMEOUT) as resp:
            data = resp.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise TaskFailed("image transfer failed: %s answered HTTP %d %s"
                         % (uri, exc.code, exc.reason),
                         "%s.TransferFailed" % UPDATE)
    except urllib.error.URLError as exc:
        raise TaskFailed("image transfer failed: cannot reach %s: %s"
                         % (uri, exc.reason), "%s.TransferFailed" % UPDATE)
    except (socket.timeout, OSError, ValueError) as exc:
        raise TaskFailed("image transfer failed: %s: %s"
                         % (uri, exc or type(exc).__name__),
                         "%s.TransferFailed" % UPDATE)
    if len(data) > limit:
        raise TaskFailed("image transfer failed: %s is larger than "
                         "MaxImageSizeBytes (%d)" % (uri, limit),
                         "%s.TransferFailed" % UPDATE)
    return data


def _step(text, args=()):
    return custom_message(STEP_ID, text, "OK", args)


def _update_msg(key, text, args, severity="OK"):
    return custom_message("%s.%s" % (UPDATE, key), text, severity, args)


def update_work(emu, image_name, targets, apply_time, data=None, uri=None,
                auth=None):
    """The task of one update: data (pushed) or uri (to download)."""
    limit = emu.config.max_image_size

    def work(task):
        try:
            result = yield from steps(task)
        except TaskFailed as exc:
            if not exc.args_:
                exc.args_ = [image_name, ", ".join(
                    task.info.get("targets") or ["BMC"])]
            raise
        return result

    def steps(task):
        lock = emu.lock
        yield ("step", "Starting", 0, task_message("TaskStarted", task.id))
        yield ("step", "Running", 10, _update_msg(
            "TransferringToComponent",
            "Image '%s' is being transferred to the BMC." % image_name,
            [image_name, "BMC"]))
        image = data if data is not None else download(uri, auth, limit)
        task.info["image_bytes"] = len(image)
        yield ("step", "Running", 30, _update_msg(
            "VerifyingAtComponent",
            "Image '%s' is being verified (%d bytes)."
            % (image_name, len(image)), [image_name, "BMC"]))
        component, version = parse_header(image)
        with lock:
            chosen = resolve_targets(emu, component, targets)
        names = ", ".join(chosen)
        task.info.update({"component": component, "version": version,
                          "targets": list(chosen)})
        task.check_fail("verify", "image verification",
                        "%s.VerificationFailed" % UPDATE,
                        [image_name, names])

        def apply(t):
            for fid in chosen:
                item = emu.firmware.get(fid)
                if item is not None:
                    item.set_version(emu, version, image_name)
            return _update_msg(
                "UpdateSuccessful", "Device '%s' successfully updated with "
                "image '%s' (version %s)." % (names, image_name, version),
                [names, image_name]), {}

        if apply_time == "OnReset":
            yield ("step", "Running", 40, _step(
                "Staging image '%s' for %s." % (image_name, names),
                [image_name, names]))
            task.check_fail("apply", "staging %s" % names,
                            "%s.ApplyFailed" % UPDATE, [image_name, names])
            with lock:
                for fid in chosen:
                    item = emu.firmware.get(fid)
                    if item is not None:
                        task.systems |= item.tokens
            yield ("pending", 100, _update_msg(
                "AwaitToUpdate", "Update staged; applies at the next system "
                "reset (%s to version %s, image '%s')."
                % (names, version, image_name), [image_name, names]), apply)
            return None
        yield ("step", "Running", 40, _update_msg(
            "InstallingOnComponent", "Image '%s' is being installed on %s."
            % (image_name, names), [image_name, names]))
        task.check_fail("apply", "flashing %s" % names,
                        "%s.ApplyFailed" % UPDATE, [image_name, names])
        for pct in (55, 70):
            yield ("step", "Running", pct, _step(
                "Flashing %s: %d percent written." % (names, pct),
                [names, pct]))
        yield ("step", "Running", 90, _update_msg(
            "ApplyingOnComponent", "Image '%s' is being applied on %s."
            % (image_name, names), [image_name, names]))
        with lock:
            if task.stopped():
                return None
            return apply(task)
    return work


def start_update(ctx, image_name, targets, apply_time, target_uri, body_text,
                 data=None, uri=None, auth=None):
    emu = ctx.emu
    task = emu.tasks.create(
        "Firmware update (%s)" % image_name,
        update_work(emu, image_name, targets, apply_time, data, uri, auth),
        payload={"TargetUri": target_uri, "HttpOperation": "POST",
                 "HttpHeaders": [], "JsonBody": body_text},
        kind="update")
    task.info.update({"image": image_name, "apply_time": apply_time})
    return accepted(task, ctx)


# ---------------------------------------------------------------------------
# requests
# ---------------------------------------------------------------------------

def _check_targets(emu, value, errors, action=None):
    """A Targets list (URIs of FirmwareInventory members) -> [uri]."""
    name = "Targets"

    def bad(key, *args, detail=None):
        if action:
            errors.append(message(key, *args, detail=detail))
        else:
            errors.append(message(key, *args, related=["#/Targets"],
                                  detail=detail))

    if not isinstance(value, list):
        if action:
            bad("ActionParameterValueTypeError", _show(value), name, action)
        else:
            bad("PropertyValueTypeError", _show(value), name)
        return []
    out = []
    for item in value:
        uri = item.get("@odata.id") if isinstance(item, dict) else item
        if not isinstance(uri, str):
            if action:
                bad("ActionParameterValueTypeError", _show(item), name,
                    action)
            else:
                bad("PropertyValueTypeError", _show(item), name)
            continue
        res = emu.tree.get(uri)
        if not isinstance(res, FirmwareItem):
            detail = "%s is not a member of %s." % (uri, INVENTORY)
            if action:
                bad("ActionParameterValueError", name, action, detail=detail)
            else:
                bad("PropertyValueIncorrect", name, uri, detail=detail)
            continue
        out.append(res.path)
    return out


def _show(value):
    if isinstance(value, (dict, list)):
        return "<%s>" % ("object" if isinstance(value, dict) else "array")
    return value


def simple_update(ctx, data):
    action = "UpdateService.SimpleUpdate"
    emu = ctx.emu
    allowed = ("ImageURI", "TransferProtocol", "Targets",
               "@Redfish.OperationApplyTime", "Username", "Password")
    errors = []
    for key in data:
        if key not in allowed:
            errors.append(message("ActionParameterUnknown", action, key))
    if errors:
        raise RedfishError(400, errors)
    if "ImageURI" not in data:
        raise err(400, "ActionParameterMissing", action, "ImageURI")
    uri = data["ImageURI"]
    if not isinstance(uri, str):
        raise err(400, "ActionParameterValueTypeError", _show(uri),
                  "ImageURI", action)
    proto = data.get("TransferProtocol")
    if proto is not None:
        if not isinstance(proto, str):
            errors.append(message("ActionParameterValueTypeError",
                                  _show(proto), "TransferProtocol", action))
            proto = None
        elif proto not in PROTOCOLS:
            errors.append(message("ActionParameterValueNotInList", proto,
                                  "TransferProtocol", action,
                                  detail="Supported: HTTP, HTTPS."))
            proto = None
    if "://" not in uri and proto:
        uri = "%s://%s" % (proto.lower(), uri.lstrip("/"))
    parts = urllib.parse.urlsplit(uri)
    try:
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        port_ok = False
    if parts.scheme not in ("http", "https") or \
            parts.hostname != "127.0.0.1" or not port_ok:
        errors.append(message(
            "ActionParameterValueFormatError", data["ImageURI"], "ImageURI",
            action, detail="Only http:// or https:// URIs on 127.0.0.1 are "
                           "accepted here."))
    elif proto and proto.lower() != parts.scheme:
        errors.append(message(
            "ActionParameterValueFormatError", data["ImageURI"], "ImageURI",
            action, detail="The URI's scheme does not match "
                           "TransferProtocol %s." % proto))
    targets = []
    if "Targets" in data:
        targets = _check_targets(emu, data["Targets"], errors, action)
    apply_time = data.get("@Redfish.OperationApplyTime", "Immediate")
    if apply_time not in APPLY_TIMES:
        errors.append(message("ActionParameterValueNotInList",
                              _show(apply_time),
                              "@Redfish.OperationApplyTime", action,
                              detail="Supported: Immediate, OnReset."))
    auth = None
    if "Username" in data or "Password" in data:
        user, pw = data.get("Username", ""), data.get("Password", "")
        if not isinstance(user, str) or not isinstance(pw, str):
            errors.append(message("ActionParameterValueTypeError", "<value>",
                                  "Username/Password", action))
        else:
            auth = (user, pw)
    if errors:
        raise RedfishError(400, errors)
    name = os.path.basename(parts.path) or "image"
    shown = dict(data)
    if "Password" in shown:
        shown["Password"] = None
    return start_update(ctx, name, targets, apply_time, SIMPLE_UPDATE,
                        json.dumps(shown, sort_keys=True), uri=uri,
                        auth=auth)


def parse_multipart(content_type, body):
    """{name: (headers dict, filename, bytes)} or None if not multipart."""
    ctype = (content_type or "").strip()
    if not ctype.lower().startswith("multipart/form-data"):
        return None
    boundary = None
    for param in ctype.split(";")[1:]:
        if "=" in param:
            k, v = param.split("=", 1)
            if k.strip().lower() == "boundary":
                boundary = v.strip().strip('"')
    if not boundary:
        return None
    delim = b"--" + boundary.encode("latin-1")
    parts = {}
    pos = body.find(delim)
    if pos < 0:
        return {}
    while True:
        pos += len(delim)
        if body[pos:pos + 2] == b"--":
            break
        if body[pos:pos + 2] == b"\r\n":
            pos += 2
        elif body[pos:pos + 1] == b"\n":
            pos += 1
        end = body.find(b"\r\n" + delim, pos)
        sep = 2
        if end < 0:
            end = body.find(b"\n" + delim, pos)
            sep = 1
        if end < 0:
            break
        chunk = body[pos:end]
        head_end = chunk.find(b"\r\n\r\n")
        skip = 4
        if head_end < 0:
            head_end = chunk.find(b"\n\n")
            skip = 2
        if head_end < 0:
            pos = end + sep
            continue
        headers = {}
        for line in chunk[:head_end].decode("latin-1").splitlines():
            if ":" in line:
                k, v = line.split(":", 1)
                headers[k.strip().lower()] = v.strip()
        disp = headers.get("content-disposition", "")
        name = filename = None
        for item in disp.split(";")[1:]:
            if "=" in item:
                k, v = item.split("=", 1)
                k, v = k.strip().lower(), v.strip()
                if len(v) >= 2 and v[0] == v[-1] == '"':
                    v = v[1:-1]
                if k == "name":
                    name = v
                elif k == "filename":
                    filename = v
        if name is not None and name not in parts:
            parts[name] = (headers, filename, chunk[head_end + skip:])
        pos = end + sep
    return parts


class MultipartPushResource(Resource):
    """POST multipart/form-data: UpdateParameters (JSON) + UpdateFile."""

    methods = ("POST",)
    etag_enabled = False

    def __init__(self, path):
        super().__init__(path, {}, odata_id=False)

    def do_POST(self, ctx):
        emu = ctx.emu
        parts = parse_multipart(ctx.header("Content-Type"), ctx.raw_body)
        if parts is None:
            raise err(415, "HeaderInvalid", "Content-Type",
                      detail="Send multipart/form-data with the parts "
                             "UpdateParameters and UpdateFile.")
        missing = [p for p in ("UpdateParameters", "UpdateFile")
                   if p not in parts]
        if missing:
            raise err(400, "MissingOrMalformedPart",
                      detail="Missing part%s: %s." % (
                          "s" if len(missing) > 1 else "",
                          ", ".join(missing)))
        try:
            params = json.loads(parts["UpdateParameters"][2].decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            params = None
        if not isinstance(params, dict):
            raise err(400, "MissingOrMalformedPart",
                      detail="UpdateParameters must be a JSON object.")
        errors = []
        for key in params:
            if key not in ("Targets", "@Redfish.OperationApplyTime",
                           "ForceUpdate", "Oem"):
                errors.append(message("PropertyUnknown", key,
                                      related=["#/" + key]))
        targets = []
        if "Targets" in params:
            targets = _check_targets(emu, params["Targets"], errors)
        apply_time = params.get("@Redfish.OperationApplyTime", "Immediate")
        if apply_time not in APPLY_TIMES:
            errors.append(message(
                "PropertyValueNotInList", _show(apply_time),
                "@Redfish.OperationApplyTime",
                related=["#/@Redfish.OperationApplyTime"],
                detail="Supported: Immediate, OnReset."))
        if errors:
            raise RedfishError(400, errors)
        _, filename, image = parts["UpdateFile"]
        if len(image) > emu.config.max_image_size:
            raise err(413, "PayloadTooLarge",
                      detail="The image has %d bytes; MaxImageSizeBytes is "
                             "%d." % (len(image), emu.config.max_image_size))
        name = os.path.basename(filename or "") or "UpdateFile"
        return start_update(ctx, name, targets, apply_time, self.path,
                            json.dumps(params, sort_keys=True), data=image)


class HttpPushResource(Resource):
    """POST the raw image (legacy HttpPushUri): applied Immediate to the
    component its header names."""

    methods = ("POST",)
    etag_enabled = False

    def __init__(self, path):
        super().__init__(path, {}, odata_id=False)

    def do_POST(self, ctx):
        if not ctx.raw_body:
            raise err(400, "PropertyMissing", "UpdateFile",
                      detail="POST the image as the request body.")
        if len(ctx.raw_body) > ctx.emu.config.max_image_size:
            raise err(413, "PayloadTooLarge")
        return start_update(ctx, "image", [], "Immediate", self.path, "",
                            data=ctx.raw_body)


class UpdateServiceResource(Resource):
    pass


def add_update_service(emu, root_body):
    cfg = emu.config
    tree = emu.tree
    tree.add(UpdateServiceResource(SERVICE, {
        "@odata.type": "#UpdateService.v1_11_0.UpdateService",
        "Id": "UpdateService",
        "Name": "Update Service",
        "Description": "Firmware updates of the BMC, BIOS, RAID controller "
                       "and NICs",
        "Status": {"State": "Enabled", "Health": "OK"},
        "ServiceEnabled": True,
        "HttpPushUri": PUSH_URI,
        "MultipartHttpPushUri": MULTIPART_URI,
        "MaxImageSizeBytes": cfg.max_image_size,
        "FirmwareInventory": ref(INVENTORY),
        "Actions": {"#UpdateService.SimpleUpdate": {
            "target": SIMPLE_UPDATE,
            "TransferProtocol@Redfish.AllowableValues": list(PROTOCOLS),
            "@Redfish.OperationApplyTimeSupport": {
                "@odata.type": "#Settings.v1_3_0.OperationApplyTimeSupport",
                "SupportedValues": list(APPLY_TIMES)},
        }},
    }))
    tree.add(Collection(INVENTORY, {
        "@odata.type":
            "#SoftwareInventoryCollection.SoftwareInventoryCollection",
        "Name": "Firmware Inventory",
    }))
    from .model import ActionTarget
    tree.add(ActionTarget(SIMPLE_UPDATE, "UpdateService.SimpleUpdate",
                          simple_update))
    tree.add(MultipartPushResource(MULTIPART_URI))
    tree.add(HttpPushResource(PUSH_URI))
    emu.upload_paths |= {canon(MULTIPART_URI), canon(PUSH_URI)}
    root_body["UpdateService"] = ref(SERVICE)


def firmware_state(emu):
    return {fid: copy.deepcopy(item.body.get("Version"))
            for fid, item in emu.firmware.items()}
