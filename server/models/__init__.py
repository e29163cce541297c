"""The data model; importing this package registers every table on the metadata."""

from server.models.audit import AuditLog
from server.models.checkin import DeclarationQuestion, GatePoster
from server.models.config import ConfigValue, Letterhead
from server.models.events import (
    DIRECTIONS,
    METHODS,
    DeclarationAnswer,
    GateEvent,
    PersonLastPassage,
    QuarantinedEvent,
    SelfCheckin,
    SyncBatch,
)
from server.models.labour import SentList
from server.models.org import ROLES, Device, EnrolmentCode, Enterprise, Gate, User, Zone
from server.models.pairing import PairingDay, PairingResolution
from server.models.people import Visitor, VisitorPass, Worker
from server.models.retention import DailyGateCount, PurgedSeqRange
from server.models.rollcall import RollCall, RollCallEntry
from server.models.roster_import import RosterImport
from server.models.types import UTCDateTime, utcnow
from server.models.wipe import DeviceWipe

__all__ = [
    "DIRECTIONS",
    "METHODS",
    "ROLES",
    "AuditLog",
    "ConfigValue",
    "DailyGateCount",
    "DeclarationAnswer",
    "DeclarationQuestion",
    "Device",
    "DeviceWipe",
    "EnrolmentCode",
    "Enterprise",
    "Gate",
    "GateEvent",
    "GatePoster",
    "Letterhead",
    "PairingDay",
    "PairingResolution",
    "PersonLastPassage",
    "PurgedSeqRange",
    "QuarantinedEvent",
    "RollCall",
    "RollCallEntry",
    "RosterImport",
    "SelfCheckin",
    "SentList",
    "SyncBatch",
    "UTCDateTime",
    "User",
    "Visitor",
    "VisitorPass",
    "Worker",
    "Zone",
    "utcnow",
]
