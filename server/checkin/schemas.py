"""The JSON bodies the self check-in page sends; a visitor's details use the sync wire format."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from sync.schemas import VisitorSchema, clean_text, timestamp

MAX_ANSWERS = 30
ANSWER_MAX_CHARS = 200


def _typed(low: int, high: int, **kwargs: Any) -> fields.String:
    return fields.String(validate=[validate.Length(min=low, max=high), clean_text], **kwargs)


class WorkerIdentitySchema(Schema):
    employee_code = _typed(1, 40, required=True)
    phone = _typed(6, 20, required=True)


class VisitorIdentitySchema(VisitorSchema):
    """A visitor as the tablets send one, except that name and phone must be given."""

    @validates_schema
    def _name_and_phone_given(self, data: dict[str, Any], **kwargs: Any) -> None:
        for key in ("name", "phone"):
            if not data.get(key, "").strip():
                raise ValidationError("Missing data for required field.", key)


class IdentitySchema(Schema):
    """Exactly one of a worker's code and phone, or a visitor's details."""

    worker = fields.Nested(WorkerIdentitySchema, load_default=None)
    visitor = fields.Nested(VisitorIdentitySchema, load_default=None)
    # The pass a page opened from a gate screen's changing code carries (see checkin/screen.py).
    presence = fields.String(load_default=None, validate=[validate.Length(max=200), clean_text])

    @validates_schema
    def _exactly_one(self, data: dict[str, Any], **kwargs: Any) -> None:
        if (data.get("worker") is None) == (data.get("visitor") is None):
            raise ValidationError("Give either a worker or a visitor.", "worker")


class AnswerSchema(Schema):
    question_id = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**31 - 1)
    )
    answer = _typed(0, ANSWER_MAX_CHARS, required=True)


class CheckinSchema(IdentitySchema):
    id = fields.UUID(required=True)
    occurred_at = timestamp(required=True)
    # The phone's clock when it sent this try: the difference to the server's is its skew.
    sent_at = timestamp(required=True)
    direction = fields.String(required=True, validate=validate.OneOf(("in", "out")))
    answers = fields.List(
        fields.Nested(AnswerSchema), load_default=list, validate=validate.Length(max=MAX_ANSWERS)
    )
