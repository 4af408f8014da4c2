"""SessionService, sessions and accounts.

Login: POST {"UserName", "Password"} to the Sessions collection answers 201
with the Session resource, an X-Auth-Token header and a Location header
naming the session.  DELETE of that URI logs out (204).  Sessions expire
after SessionTimeout seconds without a request.  When --max-sessions are
open, a login answers the configured status (503 by default, as iDRAC does;
400 with --session-limit-status 400) with Base.SessionLimitExceeded.  The
"exhaust_sessions" fault makes every login fail that way while existing
sessions keep working.
"""

import base64
import secrets
import time

from .messages import err
from .model import Collection, Resource, Response, join, ref
from . import util


class Session:
    def __init__(self, sid, token, user, path):
        self.id = sid
        self.token = token
        self.user = user
        self.path = path
        self.created = util.now_iso()
        self.last_used = time.monotonic()


class SessionServiceResource(Resource):
    methods = ("GET", "PATCH")

    def apply_patch(self, ctx, data):
        for key, value in data.items():
            if key == "SessionTimeout":
                if not isinstance(value, int) or isinstance(value, bool):
                    raise err(400, "PropertyValueTypeError", value, key)
                if not 30 <= value <= 86400:
                    raise err(400, "PropertyValueOutOfRange", value, key)
            elif key in self.body:
                raise err(400, "PropertyNotWritable", key)
            else:
                raise err(400, "PropertyUnknown", key)
        self.body.update(data)
        ctx.emu.sessions.timeout = self.body["SessionTimeout"]


class SessionCollection(Collection):
    """The live Sessions collection (its members are the open sessions)."""

    methods = ("GET", "POST")

    def public(self, ctx):
        return ctx.method == "POST"

    def view(self, ctx):
        self.members = [ref(s.path) for s in ctx.emu.sessions.list()]
        return super().view(ctx)

    def do_POST(self, ctx):
        emu = ctx.emu
        data = ctx.json()
        for name in ("UserName", "Password"):
            if name not in data:
                raise err(400, "CreateFailedMissingReqProperties", name)
            if not isinstance(data[name], str):
                raise err(400, "PropertyValueTypeError", data[name], name)
        for name in data:
            if name not in ("UserName", "Password", "Oem", "Context"):
                raise err(400, "PropertyUnknown", name)
        if not emu.accounts.check(data["UserName"], data["Password"]):
            raise err(401, "ResourceAtUriUnauthorized", self.odata_id,
                      "Invalid username or password")
        store = emu.sessions
        if emu.faults.get("exhaust_sessions") or \
                len(store.sessions) >= emu.config.max_sessions:
            status = emu.config.session_limit_status
            headers = {"Retry-After": "30"} if status == 503 else {}
            raise err(status, "SessionLimitExceeded", headers=headers)
        session = store.create(self.odata_id, data["UserName"])
        res = SessionResource(session)
        emu.tree.add(res)
        view = res.full_view(ctx)
        headers = {
            "X-Auth-Token": session.token,
            "Location": session.path,
            "ETag": view["@odata.etag"],
        }
        if getattr(emu.config, "login_no_token", False):
            # A stub SessionService (seen on some BMCs): the session is
            # made but its token is never handed out; Basic still works.
            del headers["X-Auth-Token"]
        return Response(201, view, headers)


class SessionResource(Resource):
    methods = ("GET", "DELETE")

    def __init__(self, session):
        super().__init__(session.path, {
            "@odata.type": "#Session.v1_6_0.Session",
            "Id": session.id,
            "Name": "User Session",
            "Description": "Manager User Session",
            "UserName": session.user,
            "CreatedTime": session.created,
            "SessionType": "Redfish",
            "Password": None,
        })
        self.session = session

    def do_DELETE(self, ctx):
        ctx.emu.end_session(self.session.id)
        return Response(204)


class SessionStore:
    def __init__(self, timeout):
        self.timeout = timeout
        self.sessions = {}          # id -> Session
        self.by_token = {}

    def list(self):
        return list(self.sessions.values())

    def create(self, collection_path, user):
        sid = secrets.token_hex(8)
        token = secrets.token_hex(16)
        path = join(collection_path, sid)
        session = Session(sid, token, user, path)
        self.sessions[sid] = session
        self.by_token[token] = session
        return session

    def remove(self, sid):
        session = self.sessions.pop(sid, None)
        if session is not None:
            self.by_token.pop(session.token, None)
        return session

    def lookup(self, token):
        session = self.by_token.get(token)
        if session is None:
            return None
        if time.monotonic() - session.last_used > self.timeout:
            return None
        session.last_used = time.monotonic()
        return session

    def expired(self):
        now = time.monotonic()
        return [s.id for s in self.sessions.values()
                if now - s.last_used > self.timeout]


class Accounts:
    """User name -> password; the AccountService resources show them."""

    def __init__(self, user, password):
        self.passwords = {user: password}
        self.disabled = set()

    def check(self, user, password):
        if user in self.disabled:
            return False
        expected = self.passwords.get(user)
        return expected is not None and secrets.compare_digest(
            expected.encode(), str(password).encode())

    def basic(self, header):
        """User name for a valid 'Basic ...' Authorization header."""
        try:
            raw = base64.b64decode(header.split(None, 1)[1].strip(),
                                   validate=True).decode("utf-8")
            user, password = raw.split(":", 1)
        except (ValueError, IndexError, UnicodeDecodeError):
            return None
        return user if self.check(user, password) else None


class AccountResource(Resource):
    """A ManagerAccount; PATCH Password / Enabled is honoured."""

    methods = ("GET", "PATCH")

    def apply_patch(self, ctx, data):
        for key, value in data.items():
            if key == "Password":
                if not isinstance(value, str):
                    raise err(400, "PropertyValueTypeError", "****", key)
                if not 8 <= len(value) <= 64:
                    raise err(400, "PropertyValueFormatError", "****", key)
            elif key == "Enabled":
                if not isinstance(value, bool):
                    raise err(400, "PropertyValueTypeError", value, key)
            elif key in self.body:
                raise err(400, "PropertyNotWritable", key)
            else:
                raise err(400, "PropertyUnknown", key)
        user = self.body["UserName"]
        if "Password" in data:
            ctx.emu.accounts.passwords[user] = data["Password"]
        if "Enabled" in data:
            self.body["Enabled"] = data["Enabled"]
            if data["Enabled"]:
                ctx.emu.accounts.disabled.discard(user)
            else:
                ctx.emu.accounts.disabled.add(user)
