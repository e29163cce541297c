"""Deterministic worlds of gate records: the demo, and a province for the benchmarks.

One generator writes both: zones, enterprises, gates, tablets, workers and their shifts (day and
night, absences, forgotten exits, unknown visitors), tablets that were offline for hours and sent
late, a tablet that lost a stretch of records, a tablet silent since yesterday. Events are
written day by day in the order they reached the server, by COPY on PostgreSQL and by batched
executemany on SQLite, and each day ends a unit of work (the caller commits), so a province's
30 million events take minutes and memory stays flat. The same seed gives the same world.
"""

from __future__ import annotations

import base64
import hashlib
import random
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, text, update
from sqlalchemy.sql.schema import ScalarElementColumnDefault

from server import last_passage
from server.extensions import Model, db
from server.models import (
    Device,
    Enterprise,
    Gate,
    GateEvent,
    SyncBatch,
    User,
    Visitor,
    VisitorPass,
    Worker,
    Zone,
)
from server.provinces import province_code_for
from server.roster import reserve_roster_versions
from server.sync_store import recount_seqs_stored
from server.text import fold
from server.tokens import hash_secret, new_secret

LOCAL = ZoneInfo("Asia/Ho_Chi_Minh")

SURNAMES = [
    "Nguyễn",
    "Trần",
    "Lê",
    "Phạm",
    "Hoàng",
    "Huỳnh",
    "Phan",
    "Vũ",
    "Võ",
    "Đặng",
    "Bùi",
    "Đỗ",
    "Hồ",
    "Ngô",
    "Dương",
    "Lý",
    "Đinh",
    "Lương",
    "Trịnh",
    "Đoàn",
]
MIDDLE_NAMES = [
    "Văn",
    "Thị",
    "Hữu",
    "Đức",
    "Minh",
    "Thu",
    "Ngọc",
    "Thanh",
    "Quang",
    "Xuân",
    "Thị Thu",
    "Thị Ngọc",
    "Văn Đức",
    "Hoài",
    "Kim",
    "Bảo",
]
GIVEN_NAMES = [
    "An",
    "Bình",
    "Chi",
    "Dũng",
    "Đạt",
    "Giang",
    "Hà",
    "Hải",
    "Hằng",
    "Hiếu",
    "Hoa",
    "Hùng",
    "Hương",
    "Huyền",
    "Khánh",
    "Lan",
    "Linh",
    "Loan",
    "Long",
    "Mai",
    "Nam",
    "Nga",
    "Ngân",
    "Nhung",
    "Phong",
    "Phương",
    "Quân",
    "Quỳnh",
    "Sơn",
    "Tâm",
    "Thảo",
    "Thắng",
    "Thủy",
    "Trang",
    "Trung",
    "Tú",
    "Tuấn",
    "Vân",
    "Việt",
    "Yến",
    "Đông",
]
# Pre-2025 provinces as rosters still write them, weighted towards where zone workers come from.
OLD_PROVINCES = [
    ("Bắc Giang", 18),
    ("Thái Bình", 8),
    ("Nam Định", 7),
    ("Thanh Hóa", 9),
    ("Nghệ An", 8),
    ("Hà Tĩnh", 4),
    ("Hải Dương", 6),
    ("Hưng Yên", 4),
    ("Lạng Sơn", 5),
    ("Phú Thọ", 4),
    ("Hà Giang", 3),
    ("Sơn La", 3),
    ("Cao Bằng", 2),
    ("Tuyên Quang", 3),
    ("Yên Bái", 2),
    ("Thái Nguyên", 3),
    ("Bắc Ninh", 6),
    ("Hà Nội", 3),
    ("Quảng Ninh", 2),
    ("Điện Biên", 1),
    ("Hòa Bình", 2),
    ("Ninh Bình", 2),
    ("Quảng Bình", 1),
    ("Đắk Lắk", 1),
    ("Thừa Thiên Huế", 1),
]
DEPARTMENTS = [
    "May 1",
    "May 2",
    "Cắt",
    "Hoàn thiện",
    "Kiểm phẩm",
    "Kho",
    "Bảo trì",
    "Văn phòng",
]
PHONE_PREFIXES = [
    "090",
    "091",
    "093",
    "096",
    "097",
    "098",
    "086",
    "088",
    "032",
    "033",
    "035",
    "038",
    "070",
    "077",
    "081",
    "083",
    "085",
]


GATE_NAMES = [("G1", "Cổng chính"), ("G2", "Cổng phụ"), ("G3", "Cổng kho"), ("G4", "Cổng sau")]
UNKNOWN_PEOPLE = ["Khách giao hàng", "Thợ sửa điện", "Người nhà công nhân"]
# A tablet's stored records go in day-sized units of work; its late ones may reach the server
# the next morning, so a day is closed only once the next one has begun this long ago.
DAY_CLOSES_AFTER = timedelta(hours=6)
LOST_RECORDS = 20
EPOCH = datetime(1970, 1, 1)
ZONE_NAMES = [
    "Khu công nghiệp Quang Châu",
    "Khu công nghiệp Đình Trám",
    "Khu công nghiệp Vân Trung",
    "Khu công nghiệp Song Khê - Nội Hoàng",
    "Khu công nghiệp Yên Phong",
    "Khu công nghiệp Quế Võ",
    "Khu công nghiệp Tiên Sơn",
    "Khu công nghiệp VSIP Bắc Ninh",
]
TRADES = ["May mặc", "Điện tử", "Bao bì", "Cơ khí", "Da giày", "Nhựa", "Linh kiện", "Thực phẩm"]
EVENT_COLUMNS = (
    "id",
    "enterprise_id",
    "gate_id",
    "device_id",
    "seq",
    "seq_epoch",
    "direction",
    "method",
    "subject_type",
    "subject_value",
    "subject_kind",
    "worker_id",
    "occurred_at",
    "occurred_offset_minutes",
    "corrected_at",
    "received_at",
    "batch_id",
    "content_hash",
    "flags",
)
BATCH_COLUMNS = (
    "id",
    "client_batch_id",
    "device_id",
    "received_at",
    "sent_at",
    "accepted",
    "duplicate",
    "rejected",
    "backlog",
    "skew_seconds",
    "app_version",
    "duration_ms",
    "seq_reset",
)
WORKER_COLUMNS = (
    "id",
    "enterprise_id",
    "employee_code",
    "full_name",
    "search_name",
    "phone",
    "home_province_code",
    "home_province_raw",
    "permanent_address",
    "current_address",
    "department",
    "badge_token",
    "active",
    "roster_version",
    "created_at",
    "updated_at",
)


@dataclass(frozen=True)
class EnterprisePlan:
    tax_code: str
    name: str
    zone: int | None  # index into WorldPlan.zones; None: outside any zone
    share: float  # of the world's workers
    gates: int
    tablets: int  # 0: the enterprise still logs on paper


@dataclass(frozen=True)
class WorldPlan:
    zones: tuple[str, ...]
    enterprises: tuple[EnterprisePlan, ...]
    workers: int
    days: int


def demo_plan(workers: int, days: int) -> WorldPlan:
    """One zone, three enterprises in it (one on paper) and one outside, as `make run` shows."""
    enterprises = (
        EnterprisePlan("2400123456", "Công ty TNHH May mặc Hòa Phát", 0, 0.40, 2, 2),
        EnterprisePlan("2400234567", "Công ty TNHH Điện tử Quang Châu", 0, 0.30, 3, 3),
        EnterprisePlan("2400345678", "Công ty CP Bao bì Việt Hưng", 0, 0.20, 2, 0),
        EnterprisePlan("2400456789", "Công ty TNHH Cơ khí Tân Yên", None, 0.10, 3, 3),
    )
    return WorldPlan(tuple(ZONE_NAMES[:1]), enterprises, workers, days)


def province_plan(workers: int, tablets: int, days: int, *, seed: int = 16) -> WorldPlan:
    """A province's zones: enterprises of very unequal size, about five tablets each."""
    rng = random.Random(seed)
    count = max(4, tablets // 5)
    sizes = [rng.paretovariate(1.3) for _ in range(count)]
    total = sum(sizes)
    enterprises = []
    for number, size in enumerate(sizes):
        on_paper = number % 25 == 24
        enterprises.append(
            EnterprisePlan(
                tax_code=f"23{number:08d}",
                name=f"Công ty TNHH {rng.choice(TRADES)} {_random_name(rng).split()[-1]} {number}",
                zone=None if number % 20 == 19 else number % len(ZONE_NAMES),
                share=size / total,
                gates=2 + number % 3,
                tablets=0 if on_paper else 5,
            )
        )
    return WorldPlan(tuple(ZONE_NAMES), tuple(enterprises), workers, days)


@dataclass
class SeedSummary:
    zones: int = 0
    enterprises: int = 0
    gates: int = 0
    tablets: int = 0
    workers: int = 0
    events: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"Seeded {self.zones} zone(s), {self.enterprises} enterprises, {self.gates} gates, "
            f"{self.tablets} tablets, {self.workers} workers, {self.events} gate events.",
            "Demo logins (username / password):",
        ]
        lines += [
            f"  {role:<10} {username} / {password}" for role, username, password in self.logins
        ]
        return "\n".join(lines)


def seed_demo(
    *,
    seed: int,
    workers: int,
    days: int,
    now: datetime,
    unpredictable: bool = False,
    end_of_unit: Callable[[], None] = lambda: None,
    progress: Callable[[int], None] = lambda _days: None,
) -> SeedSummary:
    """The demo of `make run`; the same seed gives the same data.

    `unpredictable` is for a server people can reach: every token and password then comes from
    the operating system's random source, and the seed is ignored.
    """
    return seed_world(
        demo_plan(workers, days),
        seed=seed,
        now=now,
        unpredictable=unpredictable,
        end_of_unit=end_of_unit,
        progress=progress,
    )


def seed_world(
    plan: WorldPlan,
    *,
    seed: int,
    now: datetime,
    unpredictable: bool = False,
    end_of_unit: Callable[[], None] = lambda: None,
    progress: Callable[[int], None] = lambda _days: None,
) -> SeedSummary:
    """Write `plan` into an empty database; `end_of_unit` is called after each day's records."""
    rng = random.SystemRandom() if unpredictable else random.Random(seed)
    summary = SeedSummary(zones=len(plan.zones))
    zones = [Zone(name=name, province_code=province_code_for("Bắc Ninh")) for name in plan.zones]
    enterprises = []
    for index, spec in enumerate(plan.enterprises):
        enterprise = Enterprise(
            tax_code=spec.tax_code,
            name=spec.name,
            zone=None if spec.zone is None else zones[spec.zone],
            address=f"Lô {chr(65 + index % 26)}{index + 3}, Việt Yên, Bắc Ninh",
            created_at=now,
        )
        enterprise.gates = [
            Gate(code=code, name=name, poster_token=_token(rng))
            for code, name in GATE_NAMES[: spec.gates]
        ]
        enterprises.append(enterprise)
    db.session.add_all(zones)
    db.session.add_all(enterprises)
    db.session.flush()
    summary.enterprises = len(enterprises)
    summary.gates = sum(len(e.gates) for e in enterprises)

    shifts = []
    for enterprise, spec in zip(enterprises, plan.enterprises, strict=True):
        staff = _add_workers(rng, enterprise, round(plan.workers * spec.share), now)
        summary.workers += len(staff)
        if spec.tablets:
            devices = _add_devices(enterprise, spec.tablets, plan.days, now)
            summary.tablets += len(devices)
            shifts.append(_Shifts(rng, enterprise.id, staff, devices, plan.days, now))
        _add_visitors(rng, enterprise, now)
    summary.logins = _add_users(zones, enterprises[:4], random_passwords=unpredictable)
    end_of_unit()

    summary.events = _add_events(rng, shifts, plan.days, now, end_of_unit, progress)
    return summary


def _token(rng: random.Random) -> str:
    """20 base32 characters, the badge tokens' alphabet, from one draw rather than twenty."""
    return base64.b32encode(rng.getrandbits(100).to_bytes(13, "big")).decode()[:20]


def _random_name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"


def _random_phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**7):07d}"


@dataclass(frozen=True)
class _Person:
    id: int
    badge: str
    active: bool
    night: bool
    device: int  # index of the tablet this person usually passes


def _add_workers(
    rng: random.Random, enterprise: Enterprise, count: int, now: datetime
) -> list[_Person]:
    names, weights = zip(*OLD_PROVINCES, strict=True)
    first_id = _reserve_ids(Worker, count)
    versions = reserve_roster_versions(enterprise.id, count) if count else range(0)
    stamp = _stored(now)
    rows = []
    people = []
    for number, version in enumerate(versions):
        full_name = _random_name(rng)
        province = rng.choices(names, weights)[0]
        badge = _token(rng)
        active = rng.random() > 0.03
        rows.append(
            (
                first_id + number,
                enterprise.id,
                f"NV{number + 1:05d}",
                full_name,
                fold(full_name),
                _random_phone(rng),
                province_code_for(province),
                province,
                f"Xã {rng.choice(GIVEN_NAMES)}, {province}",
                "",
                rng.choice(DEPARTMENTS),
                badge,
                active,
                version,
                stamp,
                stamp,
            )
        )
        people.append(
            _Person(first_id + number, badge, active, (first_id + number) % 10 == 0, number)
        )
    _bulk_write(Worker, WORKER_COLUMNS, rows)
    return people


def _add_devices(enterprise: Enterprise, count: int, days: int, now: datetime) -> list[Device]:
    gates = enterprise.gates
    devices = [
        Device(
            enterprise_id=enterprise.id,
            gate_id=gates[number % len(gates)].id,
            label=f"Máy tính bảng {gates[number % len(gates)].code}-{number // len(gates) + 1}",
            token_hash=hash_secret(new_secret()),
            enrolled_at=now - timedelta(days=days + 1),
            app_version="1.0.0",
        )
        for number in range(count)
    ]
    db.session.add_all(devices)
    db.session.flush()
    return devices


@dataclass
class _Tablet:
    device: Device
    # Kept apart from `device`, whose attributes each commit expires.
    device_id: int
    gate_id: int
    seq: int = 0
    stored_seq: int = 0
    last_received: datetime | None = None
    # A tablet pushes its outbox in seq order: nothing it numbered later arrives earlier.
    # (Arrivals out of order would leave gaps the sync engine never believed missing.)
    arrived_until: float = 0.0
    lost: list[list[int]] = field(default_factory=list)
    waiting: int = 0
    oldest_waiting: datetime | None = None
    # When this tablet was cut off (its records then arrive together), as epoch seconds.
    offline: tuple[float, float] = (0.0, 0.0)


class _Shifts:
    """One enterprise's gate life, day by day, with the state its tablets carry over."""

    def __init__(
        self,
        rng: random.Random,
        enterprise_id: int,
        staff: list[_Person],
        devices: list[Device],
        days: int,
        now: datetime,
    ) -> None:
        self.enterprise_id = enterprise_id
        self.staff = staff
        self.tablets = [_Tablet(device, device.id, device.gate_id) for device in devices]
        self.pending: list[tuple[float, int, str, _Person | None, str]] = []
        # One tablet in fifty lost a stretch of records mid-period; one in a hundred has been
        # silent since yesterday, its records still waiting on it.
        self.losing = {i for i in range(len(devices)) if rng.random() < 0.02}
        self.lose_on = days // 2
        self.silent = {i for i in range(len(devices)) if rng.random() < 0.01}
        self.silent_since = _seconds(now) - rng.uniform(26, 40) * 3600

    def capture(self, rng: random.Random, day: date) -> None:
        """Queue the day's entries and exits (night shifts end the next morning)."""
        random_ = rng.random
        tablets = len(self.tablets)
        starts = {
            night: _seconds(datetime.combine(day, time(19 if night else 7, 30), tzinfo=LOCAL))
            for night in (False, True)
        }
        pending = self.pending
        for person in self.staff:
            if not person.active or random_() < 0.06:
                continue
            device = person.device % tablets if random_() < 0.8 else int(random_() * tablets)
            # Three uniforms make a cheap bell: about ±8 minutes around 10 minutes early.
            entered = starts[person.night] + (random_() + random_() + random_() - 1.5) * 960 - 600
            left = entered + 9 * 3600 + (random_() + random_() + random_() - 1.5) * 3000 + 1200
            method = "camera" if random_() < 0.5 else "scanner"
            pending.append((entered, device, "in", person, method))
            # Some exits go unrecorded: the forgotten exits HR must see.
            if random_() > 0.02:
                pending.append((left, device, "out", person, method))
        nine = _seconds(datetime.combine(day, time(9), tzinfo=LOCAL))
        for _ in range(rng.randrange(0, 4)):
            moment = nine + rng.randrange(480) * 60
            pending.append((moment, rng.randrange(tablets), "in", None, "manual"))
        # Now and then a tablet loses its link for hours and sends everything when it is back.
        for tablet in self.tablets:
            if random_() < 0.03:
                cut = nine + rng.uniform(-2, 10) * 3600
                tablet.offline = (cut, cut + rng.uniform(1, 6) * 3600)

    def release(
        self,
        rng: random.Random,
        before: float,
        now: float,
        day_index: int,
        rows: list[tuple[Any, ...]],
        batches: _Batches,
    ) -> None:
        """Number the captures made before `before` and store what reached the server by now."""
        self.pending.sort(key=lambda capture: capture[0])
        cut = next((i for i, c in enumerate(self.pending) if c[0] >= before), len(self.pending))
        ready, self.pending = self.pending[:cut], self.pending[cut:]
        enterprise_id = self.enterprise_id
        for occurred, device_index, direction, person, method in ready:
            if occurred >= now:
                continue
            tablet = self.tablets[device_index]
            tablet.seq += 1
            lag = rng.expovariate(1 / 40)
            went, back = tablet.offline
            received = max(
                (back if went <= occurred < back else occurred) + lag, tablet.arrived_until
            )
            tablet.arrived_until = received
            if (device_index in self.silent and occurred >= self.silent_since) or received >= now:
                tablet.waiting += 1
                if tablet.oldest_waiting is None:
                    tablet.oldest_waiting = EPOCH + timedelta(seconds=occurred)
                continue
            if device_index in self.losing and day_index == self.lose_on:
                lost = tablet.lost
                if not lost:
                    lost.append([tablet.seq, tablet.seq])
                if lost[0][1] - lost[0][0] + 1 < LOST_RECORDS and lost[0][1] >= tablet.seq - 1:
                    lost[0][1] = tablet.seq
                    continue
            event_id = f"{rng.getrandbits(128):032x}"
            at = EPOCH + timedelta(seconds=occurred)
            arrived = EPOCH + timedelta(seconds=received)
            tablet.stored_seq = tablet.seq
            tablet.last_received = max(arrived, tablet.last_received or arrived)
            if person is None:
                kind, value, resolved, worker_id = "text", rng.choice(UNKNOWN_PEOPLE), "", None
            else:
                kind, value, resolved, worker_id = "badge", person.badge, "worker", person.id
            rows.append(
                (
                    event_id,
                    enterprise_id,
                    tablet.gate_id,
                    tablet.device_id,
                    tablet.seq,
                    0,
                    direction,
                    method,
                    kind,
                    value,
                    resolved or "unresolved",
                    worker_id,
                    at,
                    420,
                    at,
                    arrived,
                    batches.batch_for(rng, tablet.device_id, arrived),
                    hashlib.sha256(event_id.encode()).hexdigest(),
                    "[]",
                )
            )

    def settle_devices(self) -> None:
        """The tablets' sync state as the server would know it after these pushes."""
        for tablet in self.tablets:
            device = tablet.device
            device.highest_seq = tablet.stored_seq
            device.missing_seq_ranges = [r for r in tablet.lost if r[1] < tablet.stored_seq]
            if tablet.last_received is not None:
                arrived = tablet.last_received.replace(tzinfo=UTC)
                device.last_sync_at = device.last_seen_at = arrived
            device.last_skew_seconds = 0.0
            device.reported_backlog = tablet.waiting
            if tablet.oldest_waiting is not None:
                device.oldest_pending_at = tablet.oldest_waiting.replace(tzinfo=UTC)


class _Batches:
    """One push per tablet and hour of arrival, numbered as the day's records are written."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, datetime], int] = {}
        self.new: list[tuple[Any, ...]] = []

    def batch_for(self, rng: random.Random, device_id: int, arrived: datetime) -> int:
        key = (device_id, arrived.replace(minute=0, second=0, microsecond=0))
        batch_id = self.ids.get(key)
        if batch_id is None:
            batch_id = self.ids[key] = -len(self.new) - 1
            client_batch_id = f"{rng.getrandbits(128):032x}"
            duration = rng.uniform(20, 120)
            self.new.append(
                (
                    batch_id,
                    client_batch_id,
                    device_id,
                    arrived,
                    arrived,
                    0,
                    0,
                    0,
                    0,
                    0.0,
                    "1.0.0",
                    duration,
                    False,
                )
            )
        return batch_id

    def write(self, rows: list[tuple[Any, ...]], closed_before: datetime) -> None:
        """Store the new batches with real ids, point the rows at them, forget closed hours."""
        first = _reserve_ids(SyncBatch, len(self.new))
        real = {row[0]: first + number for number, row in enumerate(self.new)}
        _bulk_write(SyncBatch, BATCH_COLUMNS, [(real[r[0]], *r[1:]) for r in self.new])
        self.new = []
        self.ids = {
            key: real.get(batch_id, batch_id)
            for key, batch_id in self.ids.items()
            if key[1] >= closed_before
        }
        for number, row in enumerate(rows):
            if row[16] < 0:
                rows[number] = (*row[:16], real[row[16]], *row[17:])


def _add_events(
    rng: random.Random,
    shifts: list[_Shifts],
    days: int,
    now: datetime,
    end_of_unit: Callable[[], None],
    progress: Callable[[int], None],
) -> int:
    today = now.astimezone(LOCAL).date()
    now_seconds = _seconds(now)
    batches = _Batches()
    stored = 0
    for day_index, day_offset in enumerate(range(days, -1, -1)):
        day = today - timedelta(days=day_offset)
        closes = (
            _seconds(datetime.combine(day + timedelta(days=1), time(), tzinfo=LOCAL))
            + DAY_CLOSES_AFTER.total_seconds()
            if day_offset
            else now_seconds
        )
        rows: list[tuple[Any, ...]] = []
        for enterprise in shifts:
            if day.weekday() != 6:
                enterprise.capture(rng, day)
            enterprise.release(rng, closes, now_seconds, day_index, rows, batches)
        # The table fills in the order records reached the server, enterprises interleaved.
        rows.sort(key=lambda row: row[15])
        batches.write(rows, EPOCH + timedelta(seconds=closes - 2 * 86400))
        _bulk_write(GateEvent, EVENT_COLUMNS, rows)
        stored += len(rows)
        end_of_unit()
        progress(1)
    for enterprise in shifts:
        enterprise.settle_devices()
    _count_batch_records()
    recount_seqs_stored(db.session)
    last_passage.recount_all(db.session.connection())
    end_of_unit()
    return stored


def _count_batch_records() -> None:
    counted = (
        select(GateEvent.batch_id, func.count().label("records"))
        .group_by(GateEvent.batch_id)
        .subquery()
    )
    db.session.execute(
        update(SyncBatch)
        .where(SyncBatch.id == counted.c.batch_id)
        .values(accepted=counted.c.records)
    )


def _seconds(moment: datetime) -> float:
    """Seconds since the epoch, for arithmetic on millions of times without datetime objects."""
    return moment.timestamp()


def _stored(moment: datetime) -> datetime:
    """A time as the UTC columns store it: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _reserve_ids(model: type[Worker] | type[SyncBatch], count: int) -> int:
    """The first of `count` consecutive primary keys no one else will be given."""
    table = model.__tablename__
    if db.session.get_bind().dialect.name != "postgresql":
        return (db.session.scalar(select(func.max(model.id))) or 0) + 1
    sequence = text("SELECT pg_get_serial_sequence(:table, 'id')")
    name = db.session.scalar(sequence, {"table": table})
    first = db.session.scalar(text("SELECT nextval(:name)"), {"name": name})
    if count > 1:
        db.session.execute(
            text("SELECT setval(:name, :last)"), {"name": name, "last": first + count - 1}
        )
    return int(first)


def _bulk_write(
    model: type[Model], columns: Sequence[str], rows: Sequence[tuple[Any, ...]]
) -> None:
    """COPY on PostgreSQL, executemany on SQLite, inside the session's transaction.

    Columns the rows leave out get their model's default, as an ORM insert would give them.
    """
    if not rows:
        return
    table = model.__table__.name
    defaults = {
        column.name: column.default.arg
        for column in model.__table__.columns
        if column.name not in columns and isinstance(column.default, ScalarElementColumnDefault)
    }
    if defaults:
        columns = (*columns, *defaults)
        rows = [(*row, *defaults.values()) for row in rows]
    listed = ", ".join(columns)
    raw: Any = db.session.connection().connection.driver_connection
    if db.session.get_bind().dialect.name == "postgresql":
        with raw.cursor() as cursor:
            # The rows point only at ids this transaction just wrote: checking 30 million of
            # them against seven foreign keys would double the load time and prove nothing.
            # Only a superuser may skip them; anyone else pays for the checks.
            if cursor.execute("SHOW is_superuser").fetchone() == ("on",):
                cursor.execute("SET LOCAL session_replication_role = replica")
        with raw.cursor() as cursor, cursor.copy(f"COPY {table} ({listed}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    times = [i for i, value in enumerate(rows[0]) if isinstance(value, datetime)]
    markers = ", ".join("?" * len(columns))
    cursor = raw.cursor()
    for first in range(0, len(rows), 20_000):
        chunk = [list(row) for row in rows[first : first + 20_000]]
        for values in chunk:
            for i in times:
                # SQLAlchemy's own storage format for DateTime on SQLite.
                values[i] = f"{values[i]:%Y-%m-%d %H:%M:%S.%f}"
        cursor.executemany(f"INSERT INTO {table} ({listed}) VALUES ({markers})", chunk)  # noqa: S608
    cursor.close()


def _add_visitors(rng: random.Random, enterprise: Enterprise, now: datetime) -> None:
    for number, version in enumerate(reserve_roster_versions(enterprise.id, 3)):
        visitor = Visitor(
            enterprise_id=enterprise.id,
            full_name=_random_name(rng),
            phone=_random_phone(rng),
            organisation=[
                "Công ty Vận tải Bắc Hà",
                "Điện lực Việt Yên",
                "Đối tác Hàn Quốc",
            ][number],
            created_at=now,
        )
        db.session.add(visitor)
        db.session.add(
            VisitorPass(
                enterprise_id=enterprise.id,
                visitor=visitor,
                token=_token(rng),
                valid_from=now - timedelta(hours=2),
                valid_until=now + timedelta(hours=8),
                purpose="Giao hàng" if number == 0 else "Làm việc",
                host="Phòng hành chính",
                roster_version=version,
                created_at=now,
            )
        )


def _add_users(
    zones: list[Zone], enterprises: list[Enterprise], *, random_passwords: bool
) -> list[tuple[str, str, str]]:
    # The fixed demo passwords are printed in the README: fit for a laptop, never for a server.
    def demo_password(fixed: str) -> str:
        return secrets.token_urlsafe(12) if random_passwords else fixed

    accounts: list[tuple[str, str, str, Enterprise | None]] = [
        ("admin", "admin", demo_password("demo-admin"), None),
        ("inspector", "inspector", demo_password("demo-inspector"), None),
    ]
    accounts += [
        ("hr", f"hr{n}", demo_password(f"demo-hr{n}"), e)
        for n, e in enumerate(enterprises, start=1)
    ]
    for role, username, password, enterprise in accounts:
        user = User(
            username=username,
            role=role,
            enterprise=enterprise,
            full_name={
                "admin": "Quản trị hệ thống",
                "inspector": "Thanh tra Ban quản lý",
            }.get(role, f"Phòng nhân sự {username[2:]}"),
        )
        user.set_password(password)
        if role == "inspector":
            user.zones = zones
        db.session.add(user)
    return [(role, username, password) for role, username, password, _ in accounts]
