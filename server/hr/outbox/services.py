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
from server.models.org import Device, User
from server.sync_store import SqlSyncStore
from sync.engine import Policy, apply_tablet_file
from sync.outbox_file import OLD_FORMAT, OutboxFileSchema, push_bodies, signature_is_valid
from sync.schemas import PushEnvelopeSchema
from sync.store import DeviceContext

MAX_FILE_BYTES = 20 * 1024 * 1024
STATUSES = ("accepted", "duplicate", "rejected")

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
    """The parsed document, or OutboxFileRefused("too_large" | "unreadable" | "old_format" |
    "invalid_format").

    Its envelope is also checked as the push path will check it, so that applying the file can
    only reject single events, never stop half way.
    """
    if len(data) > MAX_FILE_BYTES:
        raise OutboxFileRefused("too_large")
    try:
        document = json.loads(data.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as error:
        raise OutboxFileRefused("unreadable") from error
    if isinstance(document, dict) and document.get("format") == OLD_FORMAT:
        raise OutboxFileRefused("old_format")
    try:
        _file_schema.load(document)
        _envelope_schema.load(next(push_bodies(document, now)))
    except ValidationError as error:
        raise OutboxFileRefused("invalid_format", error.messages) from error
    return document


def import_outbox_file(
    actor: User,
    data: bytes,
    *,
    filename: str,
    now: datetime,
    ip: str = "",
    policy: Policy,
) -> OutboxImport:
    """Check the file is a signed export of one of the actor's tablets, then apply its events.

    The engine applies the whole file in one transaction, as pushes of that tablet that do not
    speak for its link (inspectors still see it silent): every event gets the ack a push would
    give it (accepted, duplicate, rejected and kept in quarantine). A revoked tablet's file is
    applied all the same: revoking stops a tablet from syncing, and its records must not be
    lost with it.
    """
    try:
        document = read_outbox_file(data, now)
        device = db.session.scalar(scoped(Device, actor).where(Device.id == document["device_id"]))
        # One answer for another enterprise's tablet and for one that never existed.
        if device is None or device.enterprise_id != document["enterprise_id"]:
            raise OutboxFileRefused("unknown_device")
        if device.public_key is None:
            raise OutboxFileRefused("no_tablet_key")
        if not signature_is_valid(document, device.public_key):
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
    bodies = list(push_bodies(document, now))
    outcomes: list[EventOutcome] = []

    def audit(answers: list[dict[str, Any]]) -> None:
        outcomes.extend(
            EventOutcome(
                event=raw,
                status=ack["status"],
                reason=ack.get("reason"),
                message=ack.get("message", ""),
                message_vi=ack.get("message_vi", ""),
            )
            for body, answer in zip(bodies, answers, strict=True)
            for raw, ack in zip(body["events"], answer["acks"], strict=True)
        )
        counts = {status: sum(o.status == status for o in outcomes) for status in STATUSES}
        record_audit(
            actor,
            "device.outbox_file_imported",
            now=now,
            target_type="device",
            target_id=context.device_id,
            enterprise_id=context.enterprise_id,
            ip=ip,
            details={
                "filename": filename[:200],
                "exported_at": exported_at.isoformat(),
                "events": len(outcomes),
                **counts,
                "device_revoked": revoked,
            },
        )

    answers = apply_tablet_file(
        SqlSyncStore(db.session), context, bodies, now, policy=policy, finish=audit
    )
    return OutboxImport(
        device=db.session.get(Device, context.device_id) or device,
        device_revoked=revoked,
        exported_at=exported_at,
        outcomes=outcomes,
        seq_reset=any(answer["seq_reset"] for answer in answers),
    )
