"""The quick path of event loading accepts only what EventSchema accepts, and returns the same."""

from __future__ import annotations

from typing import Any

from hypothesis import find, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from sync.schemas import EventSchema, _plain_event, load_event

_schema = EventSchema()

texts = st.one_of(
    st.text(max_size=3),
    st.text(min_size=195, max_size=205),
    st.sampled_from(["", "Nguyễn Văn An", "a\x00b", "tab\there", "\ud800", "x" * 501]),
)
values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-3, max_value=2**54),
    st.floats(allow_nan=False),
    texts,
    st.lists(st.integers(), max_size=2),
)
fields = {
    "id": st.one_of(
        st.uuids().map(str),
        st.uuids().map(lambda u: str(u).upper()),
        st.uuids().map(lambda u: u.hex),
        values,
    ),
    "seq": st.one_of(st.integers(min_value=-2, max_value=2**53 + 2), values),
    "occurred_at": st.one_of(
        st.sampled_from(
            [
                "2026-11-23T07:15:02.120+07:00",
                "2026-11-23T07:15:02Z",
                "2026-11-23T07:15:02",
                "2026-11-23",
                "2026-13-01T00:00:00Z",
                "0001-01-01T00:00:00+01:00",
            ]
        ),
        values,
    ),
    "gate_id": st.one_of(st.integers(min_value=-1, max_value=2**31 + 1), values),
    "direction": st.one_of(st.sampled_from(["in", "out", "IN"]), values),
    "subject": st.one_of(
        st.fixed_dictionaries(
            {"kind": st.sampled_from(["badge", "pass", "worker", "text", "x"]), "value": texts}
        ),
        st.fixed_dictionaries({"kind": st.just("badge")}),
        values,
    ),
    "method": st.one_of(st.sampled_from(["camera", "scanner", "manual", "self", "paper"]), values),
    "note": st.one_of(texts, st.none()),
    "visitor": st.one_of(st.none(), st.fixed_dictionaries({"name": texts})),
    "extra": values,
}


USUAL = {
    "id": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
    "seq": 1,
    "occurred_at": "2026-11-23T07:15:02.120+07:00",
    "gate_id": 7,
    "direction": "in",
    "subject": {"kind": "badge", "value": "ABCDEFGHIJKLMNOPQRST"},
    "method": "scanner",
    "note": None,
}


@st.composite
def raw_events(draw: st.DrawFn) -> Any:
    """The usual event with a few fields changed, dropped or added."""
    raw: dict[str, Any] = dict(USUAL)
    for name in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3)):
        if draw(st.booleans()):
            raw[name] = draw(fields[name])
        else:
            raw.pop(name, None)
    return raw


@settings(max_examples=400, deadline=None)
@given(raw_events())
def test_quick_path_accepts_only_what_the_schema_accepts_and_returns_the_same(raw: Any) -> None:
    quick = _plain_event(raw)

    try:
        loaded = _schema.load(raw)
    except ValidationError:
        assert quick is None
        return
    if quick is not None:
        assert quick == loaded
    assert load_event(raw) == loaded


def test_the_generated_events_reach_both_paths_and_both_answers() -> None:
    """The property above is only as good as its examples: each kind must come up."""

    def refused(raw: Any) -> bool:
        try:
            _schema.load(raw)
        except ValidationError:
            return True
        return False

    find(raw_events(), lambda raw: _plain_event(raw) is not None)
    find(raw_events(), lambda raw: _plain_event(raw) is None and not refused(raw))
    find(raw_events(), refused)


def test_the_usual_event_takes_the_quick_path() -> None:
    assert _plain_event(USUAL) is not None
    assert _plain_event(USUAL) == _schema.load(USUAL)
