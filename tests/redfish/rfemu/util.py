"""Small helpers shared by the rfemu modules."""

import datetime
import uuid

_NS = uuid.UUID("6f1c2a8e-4b7d-4c1e-9a57-0d3b5e2f7a10")


def now_iso():
    """Current UTC time as Redfish DateTime (ISO 8601 with offset)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime(
        "%Y-%m-%dT%H:%M:%S+00:00")


def stable_uuid(*parts):
    """A UUID derived from parts, so every instance/system differs but a
    restarted instance keeps its identity."""
    return str(uuid.uuid5(_NS, "/".join(str(p) for p in parts)))
