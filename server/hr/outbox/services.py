"""Ingesting a tablet's waiting-events file through the push path, as that tablet."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from marshmallow import ValidationError

from server.access import scoped
from server.audit import record_audit
from server.extensions import db
from server.models import Device, User
from server.sync_store import SqlSyncStore
from sync.engine import apply_push
from sync.outbox_file import OutboxFileSchema, push_bodies, signature_is_valid
from sync.schemas import PushEnvelopeSchema
from sync.store import DeviceContext, DeviceUpdate

MAX_FILE_BYTES = 20 * 1024 * 1024

_file_schema = OutboxFileSchema()
_envelope_schema = PushEnvelopeSchema()


class OutboxFileRefused(Exception):
    """The file as a whole is refused and nothing from it was stored; `code` says why."""

    def __init__(self, code: str, details: Any = None) -> None:
        super().__init__(code)
        self.code = code
        self.details = details


@dataclass(frozen=True)
class EventOutcome:
    """One event of the file and the ack the push path gave it."""

    event: Any
    status: str
    reason: str | None
    message: str
    message_vi: str

    @property
    def seq(self) -> Any:
        return self.event.get("seq") if isinstance(self.event, dict) else None

    @property
    def occurred_at(self) -> Any:
        return self.event.get("occurred_at") if isinstance(self.event, dict) else None

    @property
    def direction(self) -> Any:
        return self.event.get("direction") if isinstance(self.event, dict) else None


@dataclass(frozen=True)
class OutboxImport:
    device: Device
    device_revoked: bool
    exported_at: datetime
    outcomes: list[EventOutcome]
    seq_reset: bool

    def count(self, status: str) -> int:
        return sum(1 for outcome in self.outcomes if outcome.status == status)


def read_outbox_file(data: bytes, now: datetime) -> dict[str, Any]:
    """The parsed document, or OutboxFileRefused("too_large" | "unreadable" | "invalid_format").

    Its envelope is also checked as the push path will check it, so that applying the file can
    only reject single events, never stop half way.
    """
    if len(data) > MAX_FILE_BYTES:
        raise OutboxFileRefused("too_large")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise OutboxFileRefused("unreadable") from error
    try:
        _file_schema.load(document)
        _envelope_schema.load(next(push_bodies(document, now)))
    except ValidationError as error:
        raise OutboxFileRefused("invalid_format", error.messages) from error
    return document


class OutboxFileStore(SqlSyncStore):
    """The push path for a file HR uploads: its events and seqs are the tablet's, its link is not.

    The tablet itself has not been heard from: inspectors must still see it silent, with the
    backlog and clock it last reported, so only the seq state changes.
    """

    def _seen(self, now: datetime) -> dict[str, Any]:
        # The same row lock as a push, taken by writing the device's own last_seen_at back.
        return {"last_seen_at": Device.last_seen_at}

    def _link(self, changes: DeviceUpdate) -> dict[str, Any]:
        return {}


def import_outbox_file(
    actor: User,
    data: bytes,
    *,
    filename: str,
    now: datetime,
    ip: str = "",
    skew_flag_seconds: float = 120.0,
) -> OutboxImport:
    """Check the file is a signed export of one of the actor's tablets, then apply its events.

    Every event gets the ack a push would give it (accepted, duplicate, rejected and kept in
    quarantine), because this is the push path. A revoked tablet's file is applied all the
    same: revoking stops a tablet from syncing, and its records must not be lost with it.
    """
    try:
        document = read_outbox_file(data, now)
        device = db.session.scalar(scoped(Device, actor).where(Device.id == document["device_id"]))
        # One answer for another enterprise's tablet and for one that never existed.
        if device is None or device.enterprise_id != document["enterprise_id"]:
            raise OutboxFileRefused("unknown_device")
        if not signature_is_valid(document, device.token_hash):
            raise OutboxFileRefused("bad_signature")
    except OutboxFileRefused as refused:
        db.session.rollback()
        record_audit(
            actor,
            "device.outbox_file_refused",
            now=now,
            target_type="device",
            enterprise_id=actor.enterprise_id,
            ip=ip,
            details={"filename": filename[:200], "reason": refused.code},
        )
        raise

    context = DeviceContext(device.id, device.enterprise_id)
    revoked = device.revoked_at is not None
    exported_at = _file_schema.load(document)["exported_at"]
    store = OutboxFileStore(db.session)
    outcomes: list[EventOutcome] = []
    seq_reset = False
    for body in push_bodies(document, now):
        answer = apply_push(store, context, body, now, skew_flag_seconds=skew_flag_seconds)
        seq_reset = seq_reset or answer["seq_reset"]
        outcomes.extend(
            EventOutcome(
                event=raw,
                status=ack["status"],
                reason=ack.get("reason"),
                message=ack.get("message", ""),
                message_vi=ack.get("message_vi", ""),
            )
            for raw, ack in zip(body["events"], answer["acks"], strict=True)
        )
    result = OutboxImport(
        device=db.session.get(Device, device.id) or device,
        device_revoked=revoked,
        exported_at=exported_at,
        outcomes=outcomes,
        seq_reset=seq_reset,
    )
    record_audit(
        actor,
        "device.outbox_file_imported",
        now=now,
        target_type="device",
        target_id=device.id,
        enterprise_id=device.enterprise_id,
        ip=ip,
        details={
            "filename": filename[:200],
            "exported_at": exported_at.isoformat(),
            "events": len(outcomes),
            "accepted": result.count("accepted"),
            "duplicate": result.count("duplicate"),
            "rejected": result.count("rejected"),
            "device_revoked": revoked,
        },
    )
    return result
