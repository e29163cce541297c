"""Property: whatever the network and the server do, once the link heals and the client drains,
the server holds exactly the device's events, each once, and reports gaps only for events that
were really never sent.

The scenario runs against the engine over the in-memory store here (many examples); the same
scenario runs against the Flask app and its SQL store in test_property_app.py.
"""

from __future__ import annotations

import gzip
import json
import sqlite3
import tempfile
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sync.client import Response, SyncClient, Transport
from sync.engine import PushRefused, apply_push
from sync.memory_store import MemoryStore
from sync.simulate import FAULTS, FaultyTransport
from sync.store import BatchClose, DeviceContext

COMMIT_FAILS = "commit_fails"
"""The server fails inside its transaction, after writing, before commit: it must roll back."""


class World(Protocol):
    """The server under test, seen from the scenario."""

    transport: Transport

    def add_device(self) -> tuple[int, str, int]:
        """Enrol a tablet; return its device id, bearer token and gate id."""
        ...

    def fail_next_commit(self) -> None: ...

    def stored(self, device_id: int) -> list[tuple[str, int]]:
        """(event id, seq) of every event stored for the device, one per stored row."""
        ...


class Recorder:
    """Notes the seqs of every push the server committed (answered 200): what was really sent."""

    def __init__(self, inner: Transport) -> None:
        self.inner = inner
        self.delivered: dict[str, set[int]] = {}

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        answer = self.inner.send(method, path, headers, body)
        if path.endswith("/sync/push") and answer.status == 200 and body is not None:
            raw = gzip.decompress(body) if headers.get("Content-Encoding") == "gzip" else body
            seqs = self.delivered.setdefault(headers["Authorization"], set())
            seqs.update(event["seq"] for event in json.loads(raw)["events"])
        return answer


@dataclass
class TabletUnderTest:
    client: SyncClient
    network: FaultyTransport
    outbox: Path
    token: str
    device_id: int
    gate_id: int
    faults: deque[str | None] = field(default_factory=deque)
    captured: dict[int, str] = field(default_factory=dict)
    lost: set[int] = field(default_factory=set)
    delivered: set[int] = field(default_factory=set)


def _json_error(status: int, code: str) -> Response:
    return Response(status, {}, json.dumps({"error": {"code": code, "message": code}}).encode())


class _CommitFailure(Exception):
    pass


class _FailingAtClose:
    """A store that breaks on the last write of a push, so everything before it must roll back."""

    def __init__(self, store: MemoryStore) -> None:
        self._store = store

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def close_batch(self, batch_ref: int, outcome: BatchClose) -> None:
        raise _CommitFailure("disk full")


class EngineWorld:
    """The engine over the in-memory store, behind an in-process transport."""

    ENTERPRISE = 1
    GATE = 5

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.store.add_gate(self.GATE, self.ENTERPRISE)
        self.tokens: dict[str, DeviceContext] = {}
        self._fail = False
        self.transport = self

    def add_device(self) -> tuple[int, str, int]:
        device_id = len(self.tokens) + 1
        self.store.add_device(device_id, self.ENTERPRISE)
        token = f"token-{device_id}"
        self.tokens[token] = DeviceContext(device_id, self.ENTERPRISE)
        return device_id, token, self.GATE

    def fail_next_commit(self) -> None:
        self._fail = True

    def stored(self, device_id: int) -> list[tuple[str, int]]:
        return [
            (row.id, row.seq)
            for _, row, _ in self.store.events.values()
            if row.device_id == device_id
        ]

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        device = self.tokens.get(headers.get("Authorization", "").removeprefix("Bearer "))
        if device is None:
            return _json_error(401, "unauthorized")
        assert path.endswith("/sync/push")
        assert body is not None
        if headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        store: Any = _FailingAtClose(self.store) if self._fail else self.store
        self._fail = False
        try:
            answer = apply_push(store, device, json.loads(body), datetime.now(UTC))
        except PushRefused as refused:
            return _json_error(413 if refused.code == "payload_too_large" else 400, refused.code)
        except _CommitFailure:
            return _json_error(500, "internal_error")
        return Response(200, {"content-type": "application/json"}, json.dumps(answer).encode())


STEP = st.one_of(
    st.tuples(st.just("capture"), st.integers(0, 1), st.integers(1, 25)),
    st.tuples(st.just("push"), st.integers(0, 1), st.sampled_from((None, COMMIT_FAILS, *FAULTS))),
)
LOSS = st.tuples(st.just("lose"), st.integers(0, 1), st.integers(0, 2**16))


def run_scenario(
    world: World, steps: list[tuple[Any, ...]], batch_size: int, workdir: Path
) -> list[TabletUnderTest]:
    """Play `steps` on two tablets, heal the network, drain, and return the tablets."""
    recorder = Recorder(world.transport)
    tablets = []
    for index in range(2):
        device_id, token, gate_id = world.add_device()
        faults: deque[str | None] = deque()
        network = FaultyTransport(
            recorder, lambda faults=faults: faults.popleft() if faults else None
        )
        outbox = workdir / f"tablet-{index}.sqlite"
        client = SyncClient(outbox, network, sleep=lambda _s: None, batch_size=batch_size)
        client.use_token(device_id, token)
        tablets.append(
            TabletUnderTest(client, network, outbox, f"Bearer {token}", device_id, gate_id, faults)
        )

    for step in steps:
        tablet = tablets[step[1]]
        if step[0] == "capture":
            for n in range(step[2]):
                captured = tablet.client.capture(
                    gate_id=tablet.gate_id,
                    direction="in" if n % 2 else "out",
                    subject_kind="badge",
                    subject_value=f"BADGE{n:015d}",
                    method="scanner",
                )
                tablet.captured[captured.seq] = captured.id
        elif step[0] == "push":
            if step[2] == COMMIT_FAILS:
                world.fail_next_commit()
            else:
                tablet.faults.append(step[2])
            tablet.client.push_once()
        else:
            _lose_from_outbox(tablet, step[2])

    for tablet in tablets:
        tablet.faults.clear()
        tablet.network.release_delayed()
        tablet.client.drain()
        tablet.client.heartbeat()
        tablet.delivered = recorder.delivered.get(tablet.token, set())
    return tablets


def _lose_from_outbox(tablet: TabletUnderTest, pick: int) -> None:
    """Wipe one queued event behind the client's back, as a storage fault would."""
    with sqlite3.connect(tablet.outbox) as db:
        pending = [row[0] for row in db.execute("SELECT seq FROM outbox ORDER BY seq")]
        if pending:
            seq = pending[pick % len(pending)]
            db.execute("DELETE FROM outbox WHERE seq = ?", (seq,))
            tablet.lost.add(seq)


def _ranges(values: set[int]) -> list[list[int]]:
    out: list[list[int]] = []
    for value in sorted(values):
        if out and value == out[-1][1] + 1:
            out[-1][1] = value
        else:
            out.append([value, value])
    return out


def assert_server_holds_exactly_the_events(world: World, tablets: list[TabletUnderTest]) -> None:
    for tablet in tablets:
        stored = world.stored(tablet.device_id)
        never_sent = tablet.lost - tablet.delivered
        expected = {
            seq: event_id for seq, event_id in tablet.captured.items() if seq not in never_sent
        }

        assert len(stored) == len({event_id for event_id, _ in stored}), "an event stored twice"
        assert sorted(stored) == sorted((i, s) for s, i in expected.items())
        assert tablet.client.backlog() == 0
        assert tablet.client.rejected() == []

        answer = tablet.client.last_answer
        assert answer is not None
        highest = max(expected, default=0)
        assert answer["highest_seq"] == highest
        assert answer["missing_ranges"] == _ranges({seq for seq in never_sent if seq < highest})
        assert answer["seq_reset"] is False


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(STEP, max_size=40), batch_size=st.integers(1, 30))
def test_after_any_faults_the_drained_server_holds_each_event_exactly_once(
    steps: list[tuple[Any, ...]], batch_size: int
) -> None:
    world = EngineWorld()
    with tempfile.TemporaryDirectory() as workdir:
        tablets = run_scenario(world, steps, batch_size, Path(workdir))
        assert_server_holds_exactly_the_events(world, tablets)
        for tablet in tablets:
            tablet.client.close()


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=st.lists(st.one_of(STEP, LOSS), max_size=40), batch_size=st.integers(1, 30))
def test_gaps_are_reported_exactly_for_events_lost_before_they_were_sent(
    steps: list[tuple[Any, ...]], batch_size: int
) -> None:
    world = EngineWorld()
    with tempfile.TemporaryDirectory() as workdir:
        tablets = run_scenario(world, steps, batch_size, Path(workdir))
        assert_server_holds_exactly_the_events(world, tablets)
        for tablet in tablets:
            tablet.client.close()


def test_scenario_with_a_lost_event_in_the_middle_reports_that_one_seq(tmp_path: Path) -> None:
    world = EngineWorld()
    steps = [("capture", 0, 5), ("lose", 0, 2), ("push", 0, None)]

    tablets = run_scenario(world, steps, 500, tmp_path)

    assert tablets[0].client.last_answer["missing_ranges"] == [[3, 3]]
    assert sorted(seq for _, seq in world.stored(tablets[0].device_id)) == [1, 2, 4, 5]
    for tablet in tablets:
        tablet.client.close()
