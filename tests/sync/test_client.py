"""The reference client against an in-memory server that follows the wire contract."""

from __future__ import annotations

import gzip
import json
import random
import threading
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest

from sync.client import (
    MAX_BATCH,
    DrainIncomplete,
    HttpTransport,
    Response,
    SyncClient,
    SyncError,
    TransportError,
)

GATE = 7
TOKEN = "SECRET-TOKEN"


def _answer(status: int, payload: Any, headers: Mapping[str, str] | None = None) -> Response:
    return Response(
        status, {k.lower(): v for k, v in (headers or {}).items()}, json.dumps(payload).encode()
    )


def _error(status: int, code: str, headers: Mapping[str, str] | None = None) -> Response:
    return _answer(status, {"error": {"code": code, "message": code, "message_vi": code}}, headers)


class FakeServer:
    """Just enough of the device API to pin the client's side of the contract."""

    def __init__(
        self, *, max_events: int = MAX_BATCH, codes: tuple[str, ...] = ("ABCDEFGHJK",)
    ) -> None:
        self.max_events = max_events
        self.codes = set(codes)
        self.stored: dict[str, dict[str, Any]] = {}
        self.quarantine: list[dict[str, Any]] = []
        self.pushes: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, Mapping[str, str]]] = []
        self.roster_changes: list[dict[str, Any]] = []
        self.revoked = False
        self.script: list[Callable[[], Response]] = []

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        self.requests.append((method, path, dict(headers)))
        if self.script:
            return self.script.pop(0)()
        if body is not None and headers.get("Content-Encoding") == "gzip":
            body = gzip.decompress(body)
        url = urlsplit(path)
        if url.path == "/api/v1/devices/enroll":
            return self._enroll(json.loads(body or b"{}"))
        if headers.get("Authorization") != f"Bearer {TOKEN}":
            return _error(401, "unauthorized")
        if self.revoked:
            return _error(401, "device_revoked")
        if url.path == "/api/v1/sync/push":
            return self._push(json.loads(body or b"{}"))
        if url.path == "/api/v1/sync/roster":
            query = parse_qs(url.query)
            return self._roster(int(query["cursor"][0]), int(query["limit"][0]))
        return _error(404, "not_found")

    def _enroll(self, payload: dict[str, Any]) -> Response:
        code = payload["code"].upper().removeprefix("GL1:E:")
        if code not in self.codes:
            return _error(404, "enrolment_code_invalid")
        self.codes.remove(code)
        gate = {"id": GATE, "name": "Cổng 1", "code": "G1"}
        return _answer(
            201,
            {
                "device_id": 12,
                "token": TOKEN,
                "enterprise": {"id": 3, "name": "Công ty May"},
                "gate": gate,
                "gates": [gate],
                "server_time": datetime.now(UTC).isoformat(),
            },
        )

    def _push(self, payload: dict[str, Any]) -> Response:
        events = payload["events"]
        if len(events) > self.max_events:
            return _error(413, "payload_too_large")
        self.pushes.append(payload)
        acks = []
        for event in events:
            known = self.stored.get(event["id"])
            if event["gate_id"] != GATE:
                self.quarantine.append(event)
                acks.append(
                    {
                        "id": event["id"],
                        "status": "rejected",
                        "reason": "unknown_gate",
                        "message": "x",
                        "message_vi": "y",
                    }
                )
            elif known is None:
                self.stored[event["id"]] = event
                acks.append({"id": event["id"], "status": "accepted"})
            else:
                acks.append(
                    {
                        "id": event["id"],
                        "status": "duplicate" if known == event else "rejected",
                        "reason": "conflict",
                    }
                )
        seqs = {event["seq"] for event in self.stored.values()}
        highest = max(seqs, default=0)
        return _answer(
            200,
            {
                "batch_id": payload["batch_id"],
                "server_time": datetime.now(UTC).isoformat(),
                "skew_seconds": 0.0,
                "highest_seq": highest,
                "missing_ranges": [[s, s] for s in range(1, highest) if s not in seqs],
                "seq_reset": False,
                "acks": acks,
            },
        )

    def _roster(self, cursor: int, limit: int) -> Response:
        newer = [change for change in self.roster_changes if change["version"] > cursor]
        page = newer[:limit]
        return _answer(
            200,
            {
                "people": page,
                "passes": [],
                "next_cursor": page[-1]["version"] if page else cursor,
                "has_more": len(newer) > limit,
                "server_time": datetime.now(UTC).isoformat(),
            },
        )


def _refuse() -> Response:
    raise TransportError("connection refused")


class Clock:
    def __init__(self) -> None:
        self.moment = datetime(2026, 11, 23, 8, 0, tzinfo=UTC).astimezone(
            ZoneInfo("Asia/Ho_Chi_Minh")
        )
        self.slept: list[float] = []

    def now(self) -> datetime:
        self.moment += timedelta(seconds=1)
        return self.moment

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)


@pytest.fixture
def server() -> FakeServer:
    """A fresh in-memory device API."""
    return FakeServer()


@pytest.fixture
def clock() -> Clock:
    """A device clock that ticks one second per reading and records sleeps."""
    return Clock()


@pytest.fixture
def make_client(tmp_path, server, clock) -> Callable[..., SyncClient]:
    """Build clients on one outbox file; the first call enrols the tablet."""
    made: list[SyncClient] = []

    def make(**overrides: Any) -> SyncClient:
        options: dict[str, Any] = {"now": clock.now, "sleep": clock.sleep, "rng": random.Random(1)}
        options.update(overrides)
        client = SyncClient(tmp_path / "outbox.sqlite", options.pop("transport", server), **options)
        if client.device_id is None:
            client.enroll("GL1:E:abcdefghjk", "Cổng 1 - máy 1")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()


def capture(client: SyncClient, count: int, *, gate_id: int = GATE) -> list[str]:
    return [
        client.capture(
            gate_id=gate_id,
            direction="in",
            subject_kind="badge",
            subject_value=f"BADGE{i:015d}",
            method="scanner",
        ).id
        for i in range(count)
    ]


def test_capture_numbers_events_from_one_and_keeps_them_across_a_restart(make_client):
    client = make_client()
    first = capture(client, 3)
    client.close()

    reopened = make_client()
    later = reopened.capture(
        gate_id=GATE,
        direction="out",
        subject_kind="text",
        subject_value="Khách lạ",
        method="manual",
    )

    assert [event["seq"] for event in reopened.pending_events()] == [1, 2, 3, 4]
    assert later.seq == 4
    assert len(set(first) | {later.id}) == 4


def test_capture_refuses_a_time_without_offset_and_queues_nothing(make_client):
    client = make_client()

    with pytest.raises(ValueError, match="offset"):
        client.capture(
            gate_id=GATE,
            direction="in",
            subject_kind="text",
            subject_value="Khách",
            method="manual",
            occurred_at=datetime(2026, 11, 23, 8, 0),
        )

    assert client.backlog() == 0


def test_captures_during_a_background_drain_all_reach_the_server(make_client, server):
    client = make_client()
    done = threading.Event()

    def keep_pushing() -> None:
        while not done.is_set():
            client.drain()

    pusher = threading.Thread(target=keep_pushing)
    pusher.start()
    ids = capture(client, 300)
    done.set()
    pusher.join()
    client.drain()

    assert set(server.stored) == set(ids)
    assert sorted(e["seq"] for e in server.stored.values()) == list(range(1, 301))


def test_enrol_stores_token_and_gates_and_later_calls_carry_the_bearer(make_client, server):
    client = make_client()
    client.heartbeat()

    assert client.device_id == 12
    assert client.enrolment["gate"]["id"] == GATE
    assert server.requests[-1][2]["Authorization"] == f"Bearer {TOKEN}"


def test_enrol_with_a_used_code_raises_with_the_server_error_code(tmp_path, server):
    server.codes.clear()
    client = SyncClient(tmp_path / "o.sqlite", server)

    with pytest.raises(SyncError) as raised:
        client.enroll("ABCDEFGHJK", "Cổng 1")

    assert raised.value.code == "enrolment_code_invalid"
    assert client.device_id is None
    client.close()


def test_drain_sends_batches_of_at_most_500_in_seq_order_and_empties_the_outbox(
    make_client, server
):
    client = make_client()
    ids = capture(client, 1200)

    report = client.drain()

    assert [len(p["events"]) for p in server.pushes] == [500, 500, 200]
    assert [p["backlog"] for p in server.pushes] == [700, 200, 0]
    sent = [e["seq"] for p in server.pushes for e in p["events"]]
    assert sent == list(range(1, 1201))
    assert set(server.stored) == set(ids)
    assert report.accepted == 1200
    assert client.backlog() == 0


def test_batch_reports_the_oldest_event_still_queued_after_it(make_client, server):
    client = make_client()
    capture(client, 501)
    client.push_once()

    pending = server.pushes[0]
    assert pending["backlog"] == 1
    assert pending["oldest_pending_at"] == client.pending_events()[0]["occurred_at"]


def test_heartbeat_carries_the_backlog_and_the_oldest_pending_time(make_client, server):
    client = make_client()
    capture(client, 3)
    oldest = client.pending_events()[0]["occurred_at"]

    result = client.heartbeat()

    assert result.ok
    assert server.pushes[-1]["events"] == []
    assert server.pushes[-1]["backlog"] == 3
    assert server.pushes[-1]["oldest_pending_at"] == oldest
    assert client.backlog() == 3


def test_answer_lost_after_commit_is_resent_and_acked_duplicate(make_client, server, clock):
    client = make_client()
    capture(client, 5)
    real_push = server._push
    calls = {"n": 0}

    def lose_first_answer(payload):
        answer = real_push(payload)
        calls["n"] += 1
        if calls["n"] == 1:
            raise TransportError("timed out")
        return answer

    server._push = lose_first_answer
    report = client.drain()

    assert report.duplicate == 5
    assert report.failures == 1
    assert len(server.stored) == 5
    assert len(clock.slept) == 1


def test_rejected_events_are_set_aside_with_their_reason_and_not_resent(make_client, server):
    client = make_client()
    capture(client, 2)
    capture(client, 1, gate_id=999)

    client.drain()
    client.heartbeat()

    assert client.backlog() == 0
    [refused] = client.rejected()
    assert refused["seq"] == 3
    assert refused["reason"] == "unknown_gate"
    assert refused["event"]["gate_id"] == 999
    assert len(server.quarantine) == 1


def test_network_errors_back_off_exponentially_with_jitter_until_the_link_heals(
    make_client, server, clock
):
    client = make_client()
    capture(client, 3)
    for _ in range(6):
        server.script.append(_refuse)

    client.drain()

    assert len(clock.slept) == 6
    ceilings = [0.5 * 2**n for n in range(6)]
    assert all(0 <= slept <= ceiling for slept, ceiling in zip(clock.slept, ceilings, strict=True))
    assert len(set(clock.slept)) == 6
    assert len(server.stored) == 3


def test_overload_answers_wait_at_least_retry_after(make_client, server, clock):
    client = make_client()
    capture(client, 1)
    server.script.append(lambda: _error(503, "unavailable", {"Retry-After": "7"}))
    server.script.append(lambda: _error(429, "rate_limited", {"Retry-After": "3"}))
    server.script.append(lambda: _error(500, "internal_error"))

    client.drain()

    assert clock.slept[0] >= 7
    assert clock.slept[1] >= 3
    assert clock.slept[2] <= 2
    assert client.backlog() == 0


def test_payload_too_large_halves_the_batch_without_waiting(make_client, server, clock):
    server.max_events = 100
    client = make_client()
    capture(client, 300)

    client.drain()

    assert [len(p["events"]) for p in server.pushes] == [75, 75, 75, 75]
    assert clock.slept == []
    assert len(server.stored) == 300


def test_payload_too_large_on_a_single_event_backs_off_instead_of_giving_up(
    make_client, server, clock
):
    client = make_client()
    capture(client, 1)
    server.script.extend([lambda: _error(413, "payload_too_large")] * 2)

    client.drain()

    assert len(clock.slept) == 2
    assert len(server.stored) == 1


def test_large_bodies_are_gzipped_and_small_ones_are_not(make_client, server):
    client = make_client()
    capture(client, 200)
    client.drain()
    client.heartbeat()

    encodings = [
        h.get("Content-Encoding") for method, path, h in server.requests if path.endswith("/push")
    ]
    assert encodings == ["gzip", None]


def test_revoked_device_raises_and_keeps_every_event(make_client, server):
    client = make_client()
    capture(client, 4)
    server.revoked = True

    with pytest.raises(SyncError) as raised:
        client.drain()

    assert raised.value.code == "device_revoked"
    assert client.backlog() == 4


def test_an_answer_that_does_not_match_the_batch_settles_nothing(make_client, server):
    client = make_client()
    capture(client, 2)
    server.script.append(
        lambda: _answer(200, {"acks": [{"id": "someone-else", "status": "accepted"}]})
    )

    result = client.push_once()

    assert not result.ok
    assert client.backlog() == 2


def test_drain_gives_up_after_the_allowed_pushes_and_keeps_the_events(make_client, server):
    client = make_client()
    capture(client, 2)
    server.script.extend([lambda: _error(503, "unavailable")] * 3)

    with pytest.raises(DrainIncomplete) as raised:
        client.drain(max_pushes=3)

    assert raised.value.backlog == 2
    assert client.backlog() == 2


def test_push_answer_is_kept_for_the_status_strip(make_client, server):
    client = make_client()
    capture(client, 3)
    client.drain()

    assert client.last_answer["highest_seq"] == 3
    assert client.last_answer["missing_ranges"] == []


def _person(
    pid: int, version: int, *, active: bool = True, badge: str | None = None
) -> dict[str, Any]:
    return {
        "id": pid,
        "code": f"NV{pid:05d}",
        "name": f"Nguyễn Văn {pid}",
        "department": "May 1",
        "badge_token": badge or f"BADGE{pid:015d}",
        "phone_last4": "4567",
        "active": active,
        "version": version,
    }


def test_roster_pull_pages_with_the_cursor_and_applies_tombstones(make_client, server):
    client = make_client()
    server.roster_changes = [_person(n, n) for n in range(1, 6)]

    assert client.pull_roster(limit=2) == 5
    server.roster_changes += [
        _person(2, 6, active=False),
        _person(3, 7, badge="NEWBADGE00000000000A"),
    ]
    assert client.pull_roster(limit=2) == 2

    cursors = [
        parse_qs(urlsplit(path).query)["cursor"][0]
        for _, path, _ in server.requests
        if "roster" in path
    ]
    assert cursors == ["0", "2", "4", "5"]
    assert [p["id"] for p in client.roster_people()] == [1, 3, 4, 5]
    assert client.find_badge("NEWBADGE00000000000A")["id"] == 3
    assert client.find_badge(f"BADGE{3:015d}") is None


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str | None, bytes, int]]] = []

    def do_POST(self) -> None:
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = gzip.decompress(raw) if self.headers.get("Content-Encoding") == "gzip" else raw
        self.seen.append(
            (self.path, self.headers.get("Content-Encoding"), body, self.client_address[1])
        )
        payload = json.dumps({"echo": len(body)}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


def test_http_transport_keeps_the_connection_alive_and_raises_when_nobody_answers():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/base"
    transport = HttpTransport(url, timeout=5)
    try:
        first = transport.send("POST", "/a", {"Content-Type": "application/json"}, b"{}")
        second = transport.send(
            "POST", "/b", {"Content-Encoding": "gzip"}, gzip.compress(b"x" * 1000)
        )
    finally:
        httpd.shutdown()
        httpd.server_close()
        transport.close()

    assert first.status == 200
    assert second.json() == {"echo": 1000}
    assert [(path, enc) for path, enc, _, _ in _Handler.seen] == [
        ("/base/a", None),
        ("/base/b", "gzip"),
    ]
    assert _Handler.seen[0][3] == _Handler.seen[1][3]
    with pytest.raises(TransportError):
        HttpTransport(url, timeout=2).send("POST", "/a", {}, b"{}")


class _ClosingHandler(_Handler):
    """Answers as if keeping the connection alive, then closes it, as an idle timeout does."""

    seen: ClassVar[list[tuple[str, str | None, bytes, int]]] = []

    def do_POST(self) -> None:
        super().do_POST()
        self.close_connection = True


def test_http_transport_resends_once_on_a_fresh_connection_when_the_idle_one_was_closed():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _ClosingHandler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    transport = HttpTransport(f"http://127.0.0.1:{httpd.server_address[1]}", timeout=5)
    try:
        answers = [transport.send("POST", f"/{n}", {}, b"{}") for n in range(3)]
    finally:
        httpd.shutdown()
        httpd.server_close()
        transport.close()

    assert [answer.status for answer in answers] == [200, 200, 200]
    assert [path for path, _, _, _ in _ClosingHandler.seen] == ["/0", "/1", "/2"]
    assert len({port for _, _, _, port in _ClosingHandler.seen}) == 3


def _raw(status: int, body: bytes, **headers: str) -> Callable[[], Response]:
    return lambda: Response(status, {k.lower(): v for k, v in headers.items()}, body)


# What a captive portal, a proxy or a half-configured gateway answers instead of the server.
ODD_ANSWERS = {
    "302 to a portal": _raw(302, b"", Location="http://portal.example/login"),
    "307": _raw(307, b"", Location="/api/v1/sync/push"),
    "200 html page": _raw(200, b"<html><body>Dang nhap Wi-Fi</body></html>"),
    "200 {}": _raw(200, b"{}"),
    "200 []": _raw(200, b"[]"),
    "200 acks of the wrong shape": _raw(200, b'{"acks": [1, 2]}'),
    "200 not utf-8": _raw(200, b"\xff\xfe<html>"),
}


def test_odd_answers_are_failures_backed_off_with_jitter_and_never_stop_the_queue(
    make_client, server, clock
):
    client = make_client()
    capture(client, 2)
    server.script.extend(ODD_ANSWERS.values())

    report = client.drain()

    assert client.backlog() == 0
    assert len(server.stored) == 2
    assert report.failed == {"302": 1, "307": 1, "200": 5}
    assert len(clock.slept) == len(ODD_ANSWERS)
    ceilings = [0.5 * 2**n for n in range(len(ODD_ANSWERS))]
    assert all(0 <= slept <= ceiling for slept, ceiling in zip(clock.slept, ceilings, strict=True))


def test_an_answer_with_an_unknown_outcome_settles_nothing(make_client, server):
    client = make_client()
    [event_id] = capture(client, 1)
    server.script.append(lambda: _answer(200, {"acks": [{"id": event_id, "status": "stored"}]}))

    result = client.push_once()

    assert (result.ok, result.status) == (False, 200)
    assert client.backlog() == 1
    assert client.rejected() == []


@pytest.mark.parametrize("odd", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
def test_a_heartbeat_given_an_odd_answer_reports_a_failure(make_client, server, odd):
    client = make_client()
    server.script.append(odd)

    result = client.heartbeat()

    assert not result.ok
    assert client.heartbeat().ok


def test_roster_pull_retries_odd_answers_with_backoff(make_client, server, clock):
    client = make_client()
    server.roster_changes = [_person(1, 1)]
    server.script.extend(ODD_ANSWERS.values())

    assert client.pull_roster() == 1
    assert len(clock.slept) == len(ODD_ANSWERS)
    assert [p["id"] for p in client.roster_people()] == [1]


class _PortalHandler(BaseHTTPRequestHandler):
    """A captive portal: the first request is redirected to its login page, later ones get it."""

    protocol_version = "HTTP/1.1"
    seen: ClassVar[list[tuple[str, str]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        self.seen.append((self.command, self.path))
        page = b"<html><body>Wi-Fi login</body></html>"
        self.send_response(302 if len(self.seen) == 1 else 200)
        if len(self.seen) == 1:
            self.send_header("Location", "/login")
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)

    do_GET = do_POST = _answer

    def log_message(self, *args: Any) -> None:
        pass


def test_a_captive_portal_over_http_is_not_followed_and_keeps_every_event(tmp_path, server, clock):
    client = SyncClient(tmp_path / "outbox.sqlite", server, now=clock.now, sleep=clock.sleep)
    client.enroll("GL1:E:abcdefghjk", "Cổng 1 - máy 1")
    capture(client, 3)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _PortalHandler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    client.transport = HttpTransport(f"http://127.0.0.1:{httpd.server_address[1]}", timeout=5)
    try:
        results = [client.push_once(), client.push_once()]
    finally:
        httpd.shutdown()
        httpd.server_close()
        client.close()

    assert [(r.ok, r.status) for r in results] == [(False, 302), (False, 200)]
    assert _PortalHandler.seen == [("POST", "/api/v1/sync/push")] * 2
