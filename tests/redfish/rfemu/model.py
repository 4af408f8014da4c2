"""The resource-tree model.

The service is a Tree: a dict from a normalised URI key to a Resource
object.  A Resource keeps its JSON body (its state) and answers the HTTP
methods it lists in `methods` through do_GET / do_PATCH / do_POST /
do_DELETE; subclasses add behaviour (a ComputerSystem validates Boot
PATCHes, a session collection creates sessions on POST, ...).  Actions are
ActionTarget resources registered at their "target" URI.

To add a resource kind (Bios with @Redfish.Settings, Storage Volumes,
firmware update tasks...): subclass Resource (or Collection), override
view() for dynamic properties and apply_patch()/do_POST()/do_DELETE() for
writes, and add instances to the tree from builtin.py (and, for mockups,
map its @odata.type in mockup.py).  All handlers run with the emulator's
lock held, so they may read and change any state freely.

URI matching is tolerant, as the driver must be with real BMCs: keys are
percent-decoded, lower-cased, with repeated and trailing slashes removed,
so "/redfish/v1/systems/1/" finds "/redfish/v1/Systems/1".  Resources keep
their own "@odata.id" spelling (vendor style) in what they return.
"""

import copy
import json
import re
import urllib.parse
import zlib

from .messages import err, RedfishError

JSON_TYPE = "application/json; charset=utf-8"


def canon(path):
    """The tree key of a URI path."""
    p = urllib.parse.unquote(path or "/")
    p = re.sub("/+", "/", p)
    if len(p) > 1:
        p = p.rstrip("/")
    return p.lower()


def ref(path):
    return {"@odata.id": path}


def join(base, *parts):
    """Append path segments to a URI, keeping a trailing slash style."""
    trailing = base.endswith("/") and len(base) > 1
    out = base.rstrip("/")
    for part in parts:
        out += "/" + str(part).strip("/")
    return out + "/" if trailing else out


def compute_etag(view, volatile=()):
    data = {k: v for k, v in view.items()
            if k != "@odata.etag" and k not in volatile}
    text = json.dumps(data, sort_keys=True, separators=(",", ":"),
                      default=str)
    return 'W/"%08X"' % (zlib.crc32(text.encode("utf-8")) & 0xFFFFFFFF)


def _opaque(tag):
    tag = tag.strip()
    if tag.startswith("W/"):
        tag = tag[2:]
    return tag.strip()


def etag_matches(header, etag):
    """If-Match / If-None-Match comparison.  Weak validators compare by
    their opaque part, as Redfish services do in practice."""
    want = _opaque(etag)
    for item in header.split(","):
        item = item.strip()
        if item == "*" or (item and _opaque(item) == want):
            return True
    return False


class Response:
    def __init__(self, status=200, body=None, headers=None,
                 content_type=JSON_TYPE):
        self.status = status
        self.body = body            # dict/list (JSON), bytes, or None
        self.headers = dict(headers or {})
        self.content_type = content_type


class Ctx:
    """One request, as the handlers see it."""

    def __init__(self, emu, method, path, query, headers, body):
        self.emu = emu
        self.method = method
        self.path = path            # percent-encoded path, no query
        self.query = query          # list of (name, value or None)
        self.headers = headers      # case-insensitive .get()
        self.raw_body = body or b""
        self.user = None
        self.session = None
        self._json = None

    def header(self, name, default=None):
        value = self.headers.get(name)
        return default if value is None else value

    def json(self, required=True):
        """The request body as a JSON object (400 MalformedJSON if not)."""
        if self._json is not None:
            return self._json
        if not self.raw_body.strip():
            if required:
                raise err(400, "MalformedJSON")
            self._json = {}
            return self._json
        try:
            data = json.loads(self.raw_body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            raise err(400, "MalformedJSON")
        if not isinstance(data, dict):
            raise err(400, "MalformedJSON")
        self._json = data
        return data

    def param(self, name):
        for k, v in self.query:
            if k == name:
                return v if v is not None else ""
        return None

    def has_param(self, name):
        return any(k == name for k, _ in self.query)

    def with_query(self, query):
        other = copy.copy(self)
        other.query = list(query)
        return other

    def check_if_match(self, resource):
        header = self.header("If-Match")
        if header is not None and not etag_matches(header,
                                                   resource.etag(self)):
            raise err(412, "PreconditionFailed")


class Resource:
    """A resource at one URI.  `body` is its JSON state."""

    methods = ("GET",)
    volatile = ()           # top-level keys left out of the ETag
    etag_enabled = True

    def __init__(self, path, body=None, odata_id=True):
        self.path = path
        self.body = body if body is not None else {}
        if odata_id:
            self.body.setdefault("@odata.id", path)
        self.body.pop("@odata.etag", None)

    def __repr__(self):
        return "<%s %s>" % (type(self).__name__, self.path)

    @property
    def odata_id(self):
        return self.body.get("@odata.id") or self.path

    @property
    def odata_type(self):
        return self.body.get("@odata.type", "")

    def type_name(self):
        """'ComputerSystem' for '#ComputerSystem.v1_20_0.ComputerSystem'."""
        t = self.odata_type.lstrip("#")
        return t.split(".")[0] if t else ""

    # -- representation -------------------------------------------------

    def view(self, ctx):
        """The JSON representation without @odata.etag (override to add
        dynamic state)."""
        return copy.deepcopy(self.body)

    def etag(self, ctx):
        return compute_etag(self.view(ctx), self.volatile)

    def full_view(self, ctx):
        view = self.view(ctx)
        if self.etag_enabled and isinstance(view, dict):
            view["@odata.etag"] = compute_etag(view, self.volatile)
        return view

    def render(self, ctx, status=200, headers=None):
        """A GET-style response, with the query options applied."""
        view = self.full_view(ctx)
        hdrs = {"Allow": allow_header(self.methods)}
        if self.etag_enabled and isinstance(view, dict):
            hdrs["ETag"] = view["@odata.etag"]
        view = apply_query(self, view, ctx)
        hdrs.update(headers or {})
        return Response(status, view, hdrs)

    # -- methods ---------------------------------------------------------

    def handle(self, ctx):
        method = "GET" if ctx.method == "HEAD" else ctx.method
        if method == "OPTIONS":
            return Response(204, None, {"Allow": allow_header(self.methods)})
        if method not in self.methods:
            raise err(405, "OperationNotAllowed",
                      headers={"Allow": allow_header(self.methods)})
        return getattr(self, "do_" + method)(ctx)

    def do_GET(self, ctx):
        header = ctx.header("If-None-Match")
        if header is not None and self.etag_enabled and etag_matches(
                header, self.etag(ctx)):
            return Response(304, None, {"ETag": self.etag(ctx)})
        return self.render(ctx)

    def do_PATCH(self, ctx):
        ctx.check_if_match(self)
        data = ctx.json()
        data = {k: v for k, v in data.items() if not k.startswith("@odata.")}
        if not data:
            raise err(400, "EmptyJSON")
        self.apply_patch(ctx, data)
        return self.render(ctx)

    def apply_patch(self, ctx, data):
        raise err(405, "OperationNotAllowed",
                  headers={"Allow": allow_header(self.methods)})

    def do_POST(self, ctx):
        raise err(405, "OperationNotAllowed",
                  headers={"Allow": allow_header(self.methods)})

    def do_DELETE(self, ctx):
        raise err(405, "ResourceCannotBeDeleted",
                  headers={"Allow": allow_header(self.methods)})

    # -- hooks -------------------------------------------------------------

    def public(self, ctx):
        """True when GET needs no authentication (service root...)."""
        return False


def allow_header(methods):
    out = []
    for m in methods:
        out.append(m)
        if m == "GET":
            out.append("HEAD")
    return ", ".join(out)


class StaticResource(Resource):
    """A resource served as stored (mockups), GET only."""


class PublicResource(Resource):
    """Readable without authentication: /redfish, the service root, the
    OData service document."""

    def public(self, ctx):
        return ctx.method in ("GET", "HEAD", "OPTIONS")


class MetadataResource(PublicResource):
    """/redfish/v1/$metadata: an OData CSDL document (XML), no auth."""

    etag_enabled = False

    def __init__(self, path, data):
        super().__init__(path, {}, odata_id=False)
        self.data = data

    def render(self, ctx, status=200, headers=None):
        return Response(status, self.data, {"Allow": "GET, HEAD"},
                        content_type="application/xml")


def metadata_document(types):
    """A minimal CSDL $metadata naming the DMTF schemas of `types` (a set
    of "#Namespace.vX_Y_Z.Type" / "#XCollection.XCollection" strings)."""
    refs = {}
    for t in sorted(types):
        parts = t.lstrip("#").split(".")
        if not parts or not re.match(r"^[A-Za-z]+$", parts[0]):
            continue
        includes = refs.setdefault(parts[0], set([parts[0]]))
        if len(parts) == 3 and re.match(r"^v\d+_\d+_\d+$", parts[1]):
            includes.add("%s.%s" % (parts[0], parts[1]))
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"'
             ' Version="4.0">']
    for ns in sorted(refs):
        lines.append('  <edmx:Reference Uri="http://redfish.dmtf.org/schemas/'
                     'v1/%s_v1.xml">' % ns)
        for inc in sorted(refs[ns]):
            lines.append('    <edmx:Include Namespace="%s"/>' % inc)
        lines.append('  </edmx:Reference>')
    root = [i for i in refs.get("ServiceRoot", ()) if "." in i]
    lines += ['  <edmx:DataServices>',
              '    <Schema xmlns="http://docs.oasis-open.org/odata/ns/edm"'
              ' Namespace="Service">',
              '      <EntityContainer Name="Service" Extends="%s.'
              'ServiceContainer"/>' % (root[0] if root else "ServiceRoot"),
              '    </Schema>',
              '  </edmx:DataServices>',
              '</edmx:Edmx>', '']
    return "\n".join(lines).encode("utf-8")


class Collection(Resource):
    """A resource collection: Members and Members@odata.count are computed
    from self.members (a list of member objects, normally just
    {"@odata.id": ...}).  $top/$skip and the emulator's page size apply."""

    def __init__(self, path, body=None, odata_id=True):
        super().__init__(path, body, odata_id)
        members = self.body.pop("Members", None) or []
        self.body.pop("Members@odata.count", None)
        self.body.pop("Members@odata.nextLink", None)
        self.members = [m for m in members if isinstance(m, dict)
                        and isinstance(m.get("@odata.id"), str)]
        # A collection captured with its members inline (some mockups)
        # keeps rendering them inline.
        self.inline = any(len(m) > 1 for m in self.members)

    def member_ids(self):
        return [m["@odata.id"] for m in self.members]

    def add_member(self, path):
        self.members.append(ref(path))

    def remove_member(self, path):
        key = canon(path)
        self.members = [m for m in self.members
                        if canon(m["@odata.id"]) != key]

    def has_member(self, path):
        key = canon(path)
        return any(canon(m["@odata.id"]) == key for m in self.members)

    def member_views(self, ctx):
        out = []
        for m in self.members:
            if self.inline:
                res = ctx.emu.tree.get(m["@odata.id"])
                if res is not None and res is not self:
                    out.append(res.full_view(ctx))
                    continue
            out.append(copy.deepcopy(m))
        return out

    def view(self, ctx):
        view = copy.deepcopy(self.body)
        members = self.member_views(ctx)
        view["Members"] = members
        view["Members@odata.count"] = len(members)
        return view


class ActionTarget(Resource):
    """The target URI of an action; POST calls handler(ctx, data)."""

    methods = ("POST",)
    etag_enabled = False

    def __init__(self, path, name, handler, owner=None):
        super().__init__(path, {}, odata_id=False)
        self.name = name            # e.g. "ComputerSystem.Reset"
        self.handler = handler
        self.owner = owner

    def do_POST(self, ctx):
        data = ctx.json(required=False)
        return self.handler(ctx, data)


class Tree:
    """URI key -> Resource."""

    def __init__(self):
        self.by_key = {}

    def add(self, resource, *aliases):
        self.by_key[canon(resource.path)] = resource
        for alias in aliases:
            self.by_key.setdefault(canon(alias), resource)
        return resource

    def get(self, path):
        if not isinstance(path, str):
            return None
        return self.by_key.get(canon(path.split("#", 1)[0]))

    def remove(self, path):
        res = self.by_key.pop(canon(path), None)
        if res is not None:
            for k in [k for k, v in self.by_key.items() if v is res]:
                del self.by_key[k]
        return res

    def remove_subtree(self, path):
        prefix = canon(path)
        for k in [k for k in self.by_key
                  if k == prefix or k.startswith(prefix + "/")]:
            del self.by_key[k]

    def resources(self):
        seen = set()
        for res in list(self.by_key.values()):
            if id(res) not in seen:
                seen.add(id(res))
                yield res

    def __len__(self):
        return len(self.by_key)


# ---------------------------------------------------------------------------
# Query options: $expand, $top, $skip, only.
# ---------------------------------------------------------------------------

MAX_EXPAND_LEVELS = 3
_EXPAND_RE = re.compile(r"^([.*~])(?:\(\$levels=(\d+)\))?$")


def parse_query(qs):
    """'a=b&c' -> [('a','b'), ('c', None)] (percent-decoded)."""
    out = []
    if not qs:
        return out
    for part in qs.split("&"):
        if not part:
            continue
        if "=" in part:
            k, v = part.split("=", 1)
            out.append((urllib.parse.unquote_plus(k),
                        urllib.parse.unquote_plus(v)))
        else:
            out.append((urllib.parse.unquote_plus(part), None))
    return out


def parse_expand(value):
    m = _EXPAND_RE.match(value or "")
    if not m:
        raise err(400, "QueryParameterValueFormatError", value, "$expand")
    levels = int(m.group(2)) if m.group(2) is not None else 1
    if levels < 1 or levels > MAX_EXPAND_LEVELS:
        raise err(400, "QueryParameterOutOfRange", str(levels), "$levels",
                  "1-%d" % MAX_EXPAND_LEVELS)
    return m.group(1), levels


def _int_param(ctx, name):
    value = ctx.param(name)
    if value is None:
        return None
    if not value.isdigit():
        raise err(400, "QueryParameterValueFormatError", value, name)
    return int(value)


def apply_query(resource, view, ctx):
    """Apply the query options of a GET to a resource's full view."""
    if ctx.method not in ("GET", "HEAD"):
        return view
    emu = ctx.emu
    for name, _ in ctx.query:
        if name in ("$select", "$filter"):
            raise err(501, "QueryNotSupported")
    if isinstance(resource, Collection):
        if ctx.has_param("only") and len(view["Members"]) == 1:
            member = ctx.emu.tree.get(view["Members"][0]["@odata.id"])
            if member is not None:
                return apply_query(member, member.full_view(ctx),
                                   ctx.with_query([(k, v) for k, v in
                                                   ctx.query if k != "only"]))
        skip = _int_param(ctx, "$skip")
        top = _int_param(ctx, "$top")
        page = emu.config.page_size
        if skip is not None or top is not None or (
                page and len(view["Members"]) > page):
            skip = skip or 0
            limit = top if top is not None else (page or None)
            members = view["Members"]
            chunk = members[skip:skip + limit] if limit is not None \
                else members[skip:]
            view["Members"] = chunk
            if limit is not None and skip + limit < len(members):
                base = resource.odata_id
                nxt = "%s?$skip=%d" % (base, skip + limit)
                if top is not None:
                    nxt += "&$top=%d" % top
                view["Members@odata.nextLink"] = nxt
    elif ctx.has_param("$skip") or ctx.has_param("$top"):
        raise err(400, "QueryNotSupportedOnResource")
    expand = ctx.param("$expand")
    if expand is not None:
        if not emu.config.expand:
            if emu.config.no_expand_status:
                raise RedfishError(emu.config.no_expand_status,
                                   [_query_not_supported()])
            return view     # ignored, as many BMCs do
        mode, levels = parse_expand(expand)
        view = _expand(view, ctx, mode, levels, False, {canon(
            resource.path)})
    return view


def _query_not_supported():
    from .messages import message
    return message("QueryNotSupported")


def _expand(value, ctx, mode, levels, in_links, seen):
    if isinstance(value, dict):
        if len(value) == 1 and "@odata.id" in value:
            oid = value["@odata.id"]
            want = (mode == "*" or (mode == "." and not in_links)
                    or (mode == "~" and in_links))
            if want and isinstance(oid, str) and "#" not in oid \
                    and canon(oid) not in seen:
                res = ctx.emu.tree.get(oid)
                if res is not None and "GET" in res.methods:
                    view = res.full_view(ctx)
                    if levels > 1:
                        view = _expand(view, ctx, mode, levels - 1, False,
                                       seen | {canon(oid)})
                    return view
            return value
        return {k: _expand(v, ctx, mode, levels, in_links or k == "Links",
                           seen)
                for k, v in value.items()}
    if isinstance(value, list):
        return [_expand(v, ctx, mode, levels, in_links, seen) for v in value]
    return value
