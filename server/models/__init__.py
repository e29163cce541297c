"""The data model; importing this package registers every table on the metadata."""

from server.models.audit import AuditLog
from server.models.events import DIRECTIONS, METHODS, GateEvent, QuarantinedEvent, SyncBatch
from server.models.org import ROLES, Device, EnrolmentCode, Enterprise, Gate, User, Zone
from server.models.people import Visitor, VisitorPass, Worker
from server.models.types import UTCDateTime, utcnow

__all__ = [
    "DIRECTIONS",
    "METHODS",
    "ROLES",
    "AuditLog",
    "Device",
    "EnrolmentCode",
    "Enterprise",
    "Gate",
    "GateEvent",
    "QuarantinedEvent",
    "SyncBatch",
    "UTCDateTime",
    "User",
    "Visitor",
    "VisitorPass",
    "Worker",
    "Zone",
    "utcnow",
]
