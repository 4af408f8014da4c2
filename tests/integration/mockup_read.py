"""Reading a DMTF-format Redfish mockup directory straight from its files,
independently of the emulator and of the driver: what the integration tests
compare the driver's answers with.

A link is resolved to a folder the way the DMTF layout stores it: the
segments after /redfish/v1, matched ignoring letter case, percent-encoding
and trailing slashes (HPE iLO 5 writes /redfish/v1/systems/1/).
"""
import json
import os
import urllib.parse


class Mockup:
    def __init__(self, root):
        self.root = root

    def folder(self, link):
        path = urllib.parse.urlsplit(link).path
        segs = [urllib.parse.unquote(s) for s in path.split("/") if s]
        if [s.lower() for s in segs[:2]] != ["redfish", "v1"]:
            return None
        d = self.root
        for seg in segs[2:]:
            try:
                names = os.listdir(d)
            except OSError:
                return None
            match = [n for n in names if n == seg] or \
                [n for n in names if urllib.parse.unquote(n).lower() == seg.lower()]
            if not match:
                return None
            d = os.path.join(d, match[0])
        return d

    def load(self, link):
        """The resource at link, or None (absent, or a captured error)."""
        d = self.folder(link) if isinstance(link, str) else None
        f = d and os.path.join(d, "index.json")
        if not f or not os.path.isfile(f):
            return None
        with open(f, encoding="utf-8") as fh:
            data = json.load(fh)
        return data if isinstance(data, dict) and "error" not in data else None


def link(obj, name):
    v = obj.get(name) if isinstance(obj, dict) else None
    return v.get("@odata.id") if isinstance(v, dict) else None


def members(coll):
    m = coll.get("Members") if isinstance(coll, dict) else None
    return [x["@odata.id"] for x in m if isinstance(x, dict) and "@odata.id" in x] \
        if isinstance(m, list) else []


def key(p):
    return urllib.parse.urlsplit(p).path.rstrip("/").lower()


def absent(obj):
    return isinstance(obj, dict) and (obj.get("Status") or {}).get("State") == "Absent"


def last_segment(p):
    return urllib.parse.urlsplit(p).path.rstrip("/").rsplit("/", 1)[-1]
