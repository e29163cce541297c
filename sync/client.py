"""Reference gate client: a durable SQLite outbox and the push, heartbeat, roster and enrol calls.

It speaks only the HTTP contract of sync/PROTOCOL.md, through a small `Transport`, so tests can
drive it against an in-process server or a faulty network, and the simulator against a real one.
"""

from __future__ import annotations

import gzip
import http.client
import json
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol, TypeGuard
from urllib.parse import urlencode, urlsplit

API = "/api/v1"
MAX_BATCH = 500
# Small bodies are not worth the CPU; a full 500-event batch shrinks about tenfold on a slow link.
GZIP_MIN_BYTES = 16 * 1024


class TransportError(Exception):
    """The request may or may not have reached the server: no answer came back."""


class SyncError(Exception):
    """The server refused the call in a way retrying cannot fix (revoked device, bad request)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Transport(Protocol):
    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        """Send one request; raise TransportError when no answer arrives."""


class HttpTransport:
    """Standard-library HTTP/1.1 with one kept-alive connection per client."""

    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._conn: http.client.HTTPConnection | None = None

    def send(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        reused = self._conn is not None
        try:
            return self._exchange(method, path, headers, body)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError) as exc:
            if not reused:
                raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc
        # The server closed a kept-alive connection while it sat idle. Sending again on a new one
        # is safe: every call of the protocol is idempotent, and an enrolment code is one-use.
        try:
            return self._exchange(method, path, headers, body)
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}") from exc

    def _exchange(
        self, method: str, path: str, headers: Mapping[str, str], body: bytes | None
    ) -> Response:
        if self._conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            self._conn = cls(self._host, self._port, timeout=self._timeout)
        try:
            self._conn.request(method, self._prefix + path, body=body, headers=dict(headers))
            answer = self._conn.getresponse()
            payload = answer.read()
        except BaseException:
            # A half-used connection cannot carry the next request: start afresh next time.
            self.close()
            raise
        if answer.will_close:
            self.close()
        return Response(answer.status, {k.lower(): v for k, v in answer.getheaders()}, payload)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class Backoff:
    """Exponential backoff with full jitter, so tablets coming back online together spread out."""

    def __init__(self, rng: random.Random, base: float = 0.5, cap: float = 60.0) -> None:
        self._rng = rng
        self._base = base
        self._cap = cap
        self._failures = 0

    def next_delay(self, retry_after: float | None = None) -> float:
        ceiling = min(self._cap, self._base * 2**self._failures)
        self._failures += 1
        delay = self._rng.uniform(0, ceiling)
        return max(delay, retry_after) if retry_after is not None else delay

    def reset(self) -> None:
        self._failures = 0


@dataclass(frozen=True)
class Captured:
    id: str
    seq: int


@dataclass(frozen=True)
class PushResult:
    """What one push call came to: `ok` with the server's answer, or the reason to wait."""

    ok: bool
    status: int | None = None
    retry_after: float | None = None
    # After a 413 the halved batch is tried at once: the server is fine, the batch was big.
    retry_now: bool = False
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    answer: Mapping[str, Any] | None = None
    latency: float = 0.0


@dataclass
class DrainReport:
    pushes: int = 0
    failures: int = 0
    # Failed pushes by HTTP status, or "network" when no answer came: what the status strip shows.
    failed: dict[str, int] = field(default_factory=dict)
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    latencies: list[float] = field(default_factory=list)
    last_answer: Mapping[str, Any] | None = None


class DrainIncomplete(Exception):
    """The outbox was still not empty when the attempts allowed ran out."""

    def __init__(self, report: DrainReport, backlog: int) -> None:
        super().__init__(f"{backlog} events still queued after {report.pushes} pushes")
        self.report = report
        self.backlog = backlog


_SCHEMA = """
CREATE TABLE IF NOT EXISTS device (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    device_id INTEGER,
    token TEXT,
    enrolment TEXT,
    next_seq INTEGER NOT NULL DEFAULT 1,
    roster_cursor INTEGER NOT NULL DEFAULT 0,
    last_answer TEXT
);
INSERT OR IGNORE INTO device (id) VALUES (1);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    occurred_at TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rejected (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    body TEXT NOT NULL,
    reason TEXT NOT NULL,
    message TEXT,
    message_vi TEXT,
    rejected_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS roster_people (
    id INTEGER PRIMARY KEY,
    code TEXT,
    name TEXT,
    department TEXT,
    badge_token TEXT,
    phone_last4 TEXT,
    version INTEGER
);
CREATE INDEX IF NOT EXISTS roster_people_badge ON roster_people (badge_token);
CREATE TABLE IF NOT EXISTS roster_passes (
    id INTEGER PRIMARY KEY,
    token TEXT,
    name TEXT,
    organisation TEXT,
    valid_from TEXT,
    valid_until TEXT,
    version INTEGER
);
CREATE INDEX IF NOT EXISTS roster_passes_token ON roster_passes (token);
"""


_PERSON_DEFAULTS = {"department": None, "badge_token": None, "phone_last4": None}
_PASS_DEFAULTS = {"name": None, "organisation": None, "valid_from": None, "valid_until": None}


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds")


def _local_now() -> datetime:
    return datetime.now(UTC).astimezone()


class SyncClient:
    """One tablet: its outbox file, its credentials and the calls it makes to the server."""

    def __init__(
        self,
        path: str | Path,
        transport: Transport,
        *,
        now: Callable[[], datetime] = _local_now,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
        app_version: str = "1.0.0",
        gzip_min_bytes: int = GZIP_MIN_BYTES,
        batch_size: int = MAX_BATCH,
    ) -> None:
        self.transport = transport
        self._now = now
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - retry jitter, not a secret
        self.app_version = app_version
        self._gzip_min_bytes = gzip_min_bytes
        self._max_batch = min(batch_size, MAX_BATCH)
        self.batch_size = self._max_batch
        self.backoff = Backoff(self._rng)
        self._lock = threading.RLock()
        # Autocommit mode: every write below opens its own explicit transaction.
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        # FULL fsyncs the WAL at each commit: "saved" must survive a power cut at the gate.
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)

    def close(self) -> None:
        self._db.close()

    # -- state -----------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        # The lock lets the guard's capture and a background push share one connection.
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _device(self, column: str) -> Any:
        return self._read(f"SELECT {column} FROM device WHERE id = 1")[0][0]  # noqa: S608 - column is ours

    @property
    def device_id(self) -> int | None:
        return self._device("device_id")

    @property
    def enrolment(self) -> Mapping[str, Any] | None:
        raw = self._device("enrolment")
        return json.loads(raw) if raw else None

    @property
    def last_answer(self) -> Mapping[str, Any] | None:
        """The last push answer (server time, skew, highest seq, missing ranges), for the status."""
        raw = self._device("last_answer")
        return json.loads(raw) if raw else None

    def backlog(self) -> int:
        return self._read("SELECT count(*) FROM outbox")[0][0]

    def pending_events(self) -> list[dict[str, Any]]:
        """The queued events, oldest first, exactly as they will be sent."""
        return [json.loads(row[0]) for row in self._read("SELECT body FROM outbox ORDER BY seq")]

    def rejected(self) -> list[dict[str, Any]]:
        rows = self._read(
            "SELECT seq, id, reason, message, message_vi, body FROM rejected ORDER BY seq"
        )
        keys = ("seq", "id", "reason", "message", "message_vi", "event")
        return [dict(zip(keys, (*row[:5], json.loads(row[5])), strict=True)) for row in rows]

    def use_token(
        self, device_id: int, token: str, enrolment: Mapping[str, Any] | None = None
    ) -> None:
        """Adopt credentials issued elsewhere (the simulator's --tokens), instead of enrolling."""
        with self._transaction() as db:
            db.execute(
                "UPDATE device SET device_id = ?, token = ?, enrolment = ? WHERE id = 1",
                (device_id, token, json.dumps(enrolment) if enrolment else None),
            )

    # -- capture ---------------------------------------------------------------------------

    def capture(
        self,
        *,
        gate_id: int,
        direction: str,
        subject_kind: str,
        subject_value: str,
        method: str,
        note: str | None = None,
        visitor: Mapping[str, str] | None = None,
        occurred_at: datetime | None = None,
    ) -> Captured:
        """Queue one gate event; when this returns the event is on disk and will be sent."""
        moment = occurred_at or self._now()
        if moment.utcoffset() is None:
            raise ValueError("occurred_at needs a UTC offset: the wire refuses naive times")
        event_id = str(uuid.uuid4())
        with self._transaction() as db:
            seq = db.execute(
                "UPDATE device SET next_seq = next_seq + 1 WHERE id = 1 RETURNING next_seq - 1"
            ).fetchone()[0]
            event: dict[str, Any] = {
                "id": event_id,
                "seq": seq,
                "occurred_at": _iso(moment),
                "gate_id": gate_id,
                "direction": direction,
                "subject": {"kind": subject_kind, "value": subject_value},
                "method": method,
            }
            if note is not None:
                event["note"] = note
            if visitor is not None:
                event["visitor"] = dict(visitor)
            db.execute(
                "INSERT INTO outbox (seq, id, occurred_at, body) VALUES (?, ?, ?, ?)",
                (
                    seq,
                    event_id,
                    event["occurred_at"],
                    json.dumps(event, ensure_ascii=False, separators=(",", ":")),
                ),
            )
        return Captured(event_id, seq)

    # -- HTTP ------------------------------------------------------------------------------

    def _headers(self) -> dict[str, str]:
        token = self._device("token")
        headers = {"Accept": "application/json"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        return headers

    def _post_json(self, path: str, payload: bytes, *, auth: bool = True) -> Response:
        headers = self._headers() if auth else {"Accept": "application/json"}
        headers["Content-Type"] = "application/json"
        if len(payload) >= self._gzip_min_bytes:
            # Level 1 already shrinks event JSON several times; higher levels cost tablet CPU.
            payload = gzip.compress(payload, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        return self.transport.send("POST", path, headers, payload)

    @staticmethod
    def _error(response: Response) -> SyncError:
        try:
            error = response.json()["error"]
            return SyncError(response.status, error["code"], error.get("message", ""))
        except (ValueError, TypeError, KeyError):
            return SyncError(
                response.status, "http_error", response.body[:200].decode(errors="replace")
            )

    def enroll(self, code: str, label: str) -> Mapping[str, Any]:
        """Trade a one-use enrolment code (with or without its GL1:E: prefix) for a device token."""
        payload = json.dumps(
            {"code": code, "label": label, "app_version": self.app_version}
        ).encode()
        response = self._post_json(f"{API}/devices/enroll", payload, auth=False)
        if response.status != 201:
            raise self._error(response)
        answer = response.json()
        enrolment = {key: answer[key] for key in ("enterprise", "gate", "gates")}
        self.use_token(answer["device_id"], answer["token"], enrolment)
        return answer

    # -- push ------------------------------------------------------------------------------

    def _batch(self, limit: int) -> list[tuple[int, str, str]]:
        return self._read("SELECT seq, id, body FROM outbox ORDER BY seq LIMIT ?", (limit,))

    def _envelope(self, rows: list[tuple[int, str, str]]) -> bytes:
        last_seq = rows[-1][0] if rows else 0
        backlog, oldest = self._read(
            "SELECT count(*), min(occurred_at) FROM outbox WHERE seq > ?", (last_seq,)
        )[0]
        head = json.dumps(
            {
                "batch_id": str(uuid.uuid4()),
                "sent_at": _iso(self._now()),
                "app_version": self.app_version,
                "backlog": backlog,
                "oldest_pending_at": oldest,
            },
            separators=(",", ":"),
        )
        # The events are sent byte for byte as stored at capture, so a resend is the same content.
        return f'{head[:-1]},"events":[{",".join(row[2] for row in rows)}]}}'.encode()

    def push_once(self) -> PushResult:
        """Send the oldest queued events (or a heartbeat when none) and settle their acks."""
        return self._push(self._batch(self.batch_size))

    def heartbeat(self) -> PushResult:
        """Send an empty push: the server learns the backlog and this tablet's clock skew."""
        return self._push([])

    def _push(self, rows: list[tuple[int, str, str]]) -> PushResult:
        payload = self._envelope(rows)
        started = time.perf_counter()
        try:
            response = self._post_json(f"{API}/sync/push", payload)
        except TransportError:
            return PushResult(ok=False)
        latency = time.perf_counter() - started
        if response.status == 200:
            # A captive portal's page or a proxy's `{}` settles nothing (PROTOCOL.md §7).
            return self._settle(rows, _json_or_none(response), latency)
        if response.status == 413 and len(rows) > 1:
            self.batch_size = len(rows) // 2
            return PushResult(ok=False, status=413, retry_now=True)
        if _worth_retrying(response.status):
            # A 413 on a single event is a proxy's limit, not ours: wait for it to be fixed.
            return PushResult(ok=False, status=response.status, retry_after=_retry_after(response))
        raise self._error(response)

    def _settle(self, rows: list[tuple[int, str, str]], answer: Any, latency: float) -> PushResult:
        acks = answer.get("acks") if isinstance(answer, dict) else None
        if not (_acks_match(acks, rows) and isinstance(answer.get("batch_id"), str)):
            # An answer that does not match the batch settles nothing: every event stays queued.
            return PushResult(ok=False, status=200)
        done: list[tuple[int]] = []
        refused: list[tuple[Any, ...]] = []
        counts = {"accepted": 0, "duplicate": 0, "rejected": 0}
        stamp = _iso(self._now())
        for (seq, event_id, body), ack in zip(rows, acks, strict=True):
            status = ack["status"]
            if status == "rejected":
                refused.append(
                    (
                        seq,
                        event_id,
                        body,
                        ack.get("reason") or "rejected",
                        ack.get("message"),
                        ack.get("message_vi"),
                        stamp,
                    )
                )
            else:
                done.append((seq,))
            counts[status] += 1
        summary = {k: v for k, v in answer.items() if k != "acks"}
        with self._transaction() as db:
            db.executemany("DELETE FROM outbox WHERE seq = ?", done + [(r[0],) for r in refused])
            db.executemany(
                "INSERT OR REPLACE INTO rejected"
                " (seq, id, body, reason, message, message_vi, rejected_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                refused,
            )
            db.execute("UPDATE device SET last_answer = ? WHERE id = 1", (json.dumps(summary),))
        return PushResult(
            ok=True,
            status=200,
            answer=summary,
            latency=latency,
            accepted=counts["accepted"],
            duplicate=counts["duplicate"],
            rejected=counts["rejected"],
        )

    def drain(self, *, max_pushes: int = 10_000) -> DrainReport:
        """Push until the outbox is found empty, backing off after failures, from a full batch."""
        report = DrainReport()
        self.batch_size = self._max_batch
        self.backoff.reset()
        while self.backlog():
            if report.pushes == max_pushes:
                raise DrainIncomplete(report, self.backlog())
            result = self.push_once()
            report.pushes += 1
            if result.ok:
                self.backoff.reset()
                report.accepted += result.accepted
                report.duplicate += result.duplicate
                report.rejected += result.rejected
                report.latencies.append(result.latency)
                report.last_answer = result.answer
            else:
                report.failures += 1
                cause = str(result.status or "network")
                report.failed[cause] = report.failed.get(cause, 0) + 1
                if not result.retry_now:
                    self._sleep(self.backoff.next_delay(result.retry_after))
        return report

    # -- roster ----------------------------------------------------------------------------

    def pull_roster(self, *, limit: int = 1000, max_failures: int = 20) -> int:
        """Bring the local roster up to date from the saved cursor; return the items changed.

        Network errors, overload answers, redirects and answers that are no roster page are
        retried with backoff; TransportError when `max_failures` of them came in a row.
        """
        changed = 0
        failures = 0
        self.backoff.reset()
        while True:
            query = urlencode({"cursor": self._device("roster_cursor"), "limit": limit})
            try:
                response = self.transport.send(
                    "GET", f"{API}/sync/roster?{query}", self._headers(), None
                )
            except TransportError:
                response = None
            page = _json_or_none(response) if response is not None else None
            if response is not None and response.status == 200 and _is_roster_page(page):
                self._store_roster_page(page)
                changed += len(page["people"]) + len(page["passes"])
                failures = 0
                self.backoff.reset()
                if not page["has_more"]:
                    return changed
                continue
            if response is not None and not (
                response.status == 200 or _worth_retrying(response.status)
            ):
                raise self._error(response)
            failures += 1
            if failures >= max_failures:
                raise TransportError(f"roster unavailable after {failures} tries")
            self._sleep(self.backoff.next_delay(_retry_after(response) if response else None))

    def _store_roster_page(self, page: Mapping[str, Any]) -> None:
        people = page["people"]
        passes = page["passes"]
        # A page and its cursor land together, so a crash mid-pull re-fetches, never skips.
        with self._transaction() as db:
            db.executemany(
                "INSERT OR REPLACE INTO roster_people"
                " (id, code, name, department, badge_token, phone_last4, version)"
                " VALUES (:id, :code, :name, :department, :badge_token, :phone_last4, :version)",
                [{**_PERSON_DEFAULTS, **p} for p in people if p["active"]],
            )
            # An inactive item is a tombstone: the gate forgets the person or pass.
            db.executemany(
                "DELETE FROM roster_people WHERE id = ?",
                [(p["id"],) for p in people if not p["active"]],
            )
            db.executemany(
                "INSERT OR REPLACE INTO roster_passes"
                " (id, token, name, organisation, valid_from, valid_until, version)"
                " VALUES (:id, :token, :name, :organisation, :valid_from, :valid_until, :version)",
                [{**_PASS_DEFAULTS, **p} for p in passes if p["active"]],
            )
            db.executemany(
                "DELETE FROM roster_passes WHERE id = ?",
                [(p["id"],) for p in passes if not p["active"]],
            )
            db.execute("UPDATE device SET roster_cursor = ? WHERE id = 1", (page["next_cursor"],))

    def find_badge(self, token: str) -> dict[str, Any] | None:
        rows = self._read(
            "SELECT id, code, name, department FROM roster_people WHERE badge_token = ?", (token,)
        )
        keys = ("id", "code", "name", "department")
        return dict(zip(keys, rows[0], strict=True)) if rows else None

    def roster_people(self) -> list[dict[str, Any]]:
        keys = ("id", "code", "name", "department", "badge_token", "phone_last4", "version")
        rows = self._read(f"SELECT {', '.join(keys)} FROM roster_people ORDER BY id")  # noqa: S608 - fixed columns
        return [dict(zip(keys, row, strict=True)) for row in rows]


def _retry_after(response: Response) -> float | None:
    value = response.header("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _json_or_none(response: Response) -> Any:
    """The body as JSON; None when it is not JSON (a captive portal's login page)."""
    try:
        return response.json()
    except ValueError:
        return None


def _worth_retrying(status: int) -> bool:
    """Whether the same request may succeed later (PROTOCOL.md §7); other answers are final.

    A redirect is a captive portal or a proxy login, never the server: it is not followed (the
    batch must not go elsewhere) and the queue waits and tries again.
    """
    return 300 <= status < 400 or status in (413, 429) or status >= 500


_ACK_STATUSES = frozenset(("accepted", "duplicate", "rejected"))


def _acks_match(acks: Any, rows: list[tuple[int, str, str]]) -> TypeGuard[list[dict[str, Any]]]:
    """One ack per event sent, in order, each naming its event and a known outcome."""
    return (
        isinstance(acks, list)
        and len(acks) == len(rows)
        and all(
            isinstance(ack, dict) and ack.get("id") == row[1] and ack.get("status") in _ACK_STATUSES
            for ack, row in zip(acks, rows, strict=False)
        )
    )


def _is_roster_page(page: Any) -> TypeGuard[dict[str, Any]]:
    return (
        isinstance(page, dict)
        and isinstance(page.get("people"), list)
        and isinstance(page.get("passes"), list)
        and type(page.get("next_cursor")) is int
        and type(page.get("has_more")) is bool
    )
