"""A deterministic demo: one zone, four enterprises, ~3,000 workers, two weeks of shifts."""

from __future__ import annotations

import hashlib
import json
import random
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert

from server.extensions import db
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
from server.roster import next_roster_version
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


@dataclass
class SeedSummary:
    zones: int = 0
    enterprises: int = 0
    gates: int = 0
    workers: int = 0
    events: int = 0
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def describe(self) -> str:
        lines = [
            f"Seeded {self.zones} zone, {self.enterprises} enterprises, {self.gates} gates, "
            f"{self.workers} workers, {self.events} gate events.",
            "Demo logins (username / password):",
        ]
        lines += [
            f"  {role:<10} {username} / {password}" for role, username, password in self.logins
        ]
        return "\n".join(lines)


ENTERPRISES = [
    # tax code, name, in the zone, share of workers, has tablets
    ("2400123456", "Công ty TNHH May mặc Hòa Phát", True, 0.40, True),
    ("2400234567", "Công ty TNHH Điện tử Quang Châu", True, 0.30, True),
    ("2400345678", "Công ty CP Bao bì Việt Hưng", True, 0.20, False),
    ("2400456789", "Công ty TNHH Cơ khí Tân Yên", False, 0.10, True),
]
GATES = [("G1", "Cổng chính"), ("G2", "Cổng phụ"), ("G3", "Cổng kho")]


def seed_demo(
    *, seed: int, workers: int, days: int, now: datetime, unpredictable: bool = False
) -> SeedSummary:
    """Write the demo in one transaction; the same seed gives the same data.

    `unpredictable` is for a server people can reach: every token and password then comes from
    the operating system's random source, and the seed is ignored.
    """
    rng = random.SystemRandom() if unpredictable else random.Random(seed)
    summary = SeedSummary(zones=1)
    zone = Zone(name="Khu công nghiệp Quang Châu", province_code=province_code_for("Bắc Ninh"))
    db.session.add(zone)
    enterprises = []
    for index, (tax_code, name, in_zone, _share, _tablets) in enumerate(ENTERPRISES):
        enterprise = Enterprise(
            tax_code=tax_code,
            name=name,
            zone=zone if in_zone else None,
            address=f"Lô {chr(65 + index)}{index + 3}, Việt Yên, Bắc Ninh",
            created_at=now,
        )
        enterprise.gates = [
            Gate(code=code, name=gate_name, poster_token=_token(rng))
            for code, gate_name in GATES[: 2 + index % 2]
        ]
        enterprises.append(enterprise)
    db.session.add_all(enterprises)
    db.session.flush()
    summary.enterprises = len(enterprises)
    summary.gates = sum(len(e.gates) for e in enterprises)

    today = now.astimezone(LOCAL).date()
    for enterprise, (_tax, _name, _zone, share, has_tablets) in zip(
        enterprises, ENTERPRISES, strict=True
    ):
        staff = _add_workers(rng, enterprise, int(workers * share), now)
        summary.workers += len(staff)
        if has_tablets:
            summary.events += _add_events(rng, enterprise, staff, today, days, now)
    summary.logins = _add_users(zone, enterprises, random_passwords=unpredictable)
    db.session.commit()
    return summary


def _token(rng: random.Random, length: int = 20) -> str:
    return "".join(rng.choice("ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") for _ in range(length))


def _random_name(rng: random.Random) -> str:
    return f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE_NAMES)} {rng.choice(GIVEN_NAMES)}"


def _random_phone(rng: random.Random) -> str:
    return rng.choice(PHONE_PREFIXES) + f"{rng.randrange(10**7):07d}"


def _add_workers(
    rng: random.Random, enterprise: Enterprise, count: int, now: datetime
) -> list[dict]:
    names, weights = zip(*OLD_PROVINCES, strict=True)
    rows = []
    for number in range(1, count + 1):
        full_name = _random_name(rng)
        province = rng.choices(names, weights)[0]
        rows.append(
            {
                "enterprise_id": enterprise.id,
                "employee_code": f"NV{number:05d}",
                "full_name": full_name,
                "search_name": fold(full_name),
                "phone": _random_phone(rng),
                "home_province_code": province_code_for(province),
                "home_province_raw": province,
                "permanent_address": f"Xã {rng.choice(GIVEN_NAMES)}, {province}",
                "department": rng.choice(DEPARTMENTS),
                "badge_token": _token(rng),
                "active": rng.random() > 0.03,
                "roster_version": next_roster_version(enterprise.id),
                "created_at": now,
                "updated_at": now,
            }
        )
    result = db.session.execute(
        insert(Worker).returning(Worker.id, sort_by_parameter_order=True), rows
    )
    for row, worker_id in zip(rows, result.scalars(), strict=True):
        row["id"] = worker_id
    return rows


def _add_events(
    rng: random.Random,
    enterprise: Enterprise,
    staff: list[dict],
    today,
    days: int,
    now: datetime,
) -> int:
    devices = [
        Device(
            enterprise_id=enterprise.id,
            gate_id=gate.id,
            label=f"Máy tính bảng {gate.code}",
            token_hash=hash_secret(new_secret()),
            enrolled_at=now - timedelta(days=days + 1),
            app_version="1.0.0",
        )
        for gate in enterprise.gates
    ]
    db.session.add_all(devices)
    db.session.flush()
    captures: list[tuple[datetime, Device, str, dict | None, str]] = []
    main_device = devices[0]
    for day_offset in range(days, -1, -1):
        day = today - timedelta(days=day_offset)
        if day.weekday() == 6:
            continue
        for worker in staff:
            if not worker["active"] or rng.random() < 0.06:
                continue
            device = main_device if rng.random() < 0.8 else rng.choice(devices)
            night = worker["id"] % 10 == 0
            shift_start = time(19, 30) if night else time(7, 30)
            entered = datetime.combine(day, shift_start, tzinfo=LOCAL) + timedelta(
                minutes=rng.gauss(-10, 8)
            )
            left = entered + timedelta(hours=9, minutes=rng.gauss(20, 25))
            captures.append((entered, device, "in", worker, rng.choice(("camera", "scanner"))))
            # Some exits go unrecorded: the forgotten exits HR must see.
            if left < now and rng.random() > 0.02:
                captures.append((left, device, "out", worker, rng.choice(("camera", "scanner"))))
        for _ in range(rng.randrange(0, 4)):
            moment = datetime.combine(day, time(9), tzinfo=LOCAL) + timedelta(
                minutes=rng.randrange(480)
            )
            captures.append((moment, rng.choice(devices), "in", None, "manual"))
    captures = [c for c in captures if c[0] < now]
    captures.sort(key=lambda c: c[0])

    seqs = {device.id: 0 for device in devices}
    batches: dict[tuple[int, datetime], SyncBatch] = {}
    rows: list[dict] = []
    for occurred, device, direction, staff_row, method in captures:
        seqs[device.id] += 1
        # Mostly synced within a minute; now and then a tablet was offline for hours.
        lag = (
            timedelta(seconds=rng.expovariate(1 / 40))
            if rng.random() > 0.03
            else timedelta(hours=rng.uniform(1, 6))
        )
        received = min(occurred + lag, now)
        batch_key = (device.id, received.replace(minute=0, second=0, microsecond=0))
        batch = batches.get(batch_key)
        if batch is None:
            batch = batches[batch_key] = SyncBatch(
                client_batch_id=str(uuid.UUID(int=rng.getrandbits(128))),
                device_id=device.id,
                received_at=received,
                sent_at=received,
                app_version="1.0.0",
                skew_seconds=0.0,
                duration_ms=rng.uniform(20, 120),
                accepted=0,
            )
        batch.accepted += 1
        if staff_row is None:
            subject = (
                "text",
                rng.choice(["Khách giao hàng", "Thợ sửa điện", "Người nhà công nhân"]),
            )
        else:
            subject = ("badge", staff_row["badge_token"])
        rows.append(
            {
                "id": uuid.UUID(int=rng.getrandbits(128), version=4),
                "enterprise_id": enterprise.id,
                "gate_id": device.gate_id,
                "device_id": device.id,
                "seq": seqs[device.id],
                "seq_epoch": 0,
                "direction": direction,
                "method": method,
                "subject_type": subject[0],
                "subject_value": subject[1],
                "subject_kind": "worker" if staff_row else "unresolved",
                "worker_id": staff_row["id"] if staff_row else None,
                "occurred_at": occurred.astimezone(UTC),
                "occurred_offset_minutes": 420,
                "corrected_at": occurred.astimezone(UTC),
                "received_at": received,
                "content_hash": hashlib.sha256(
                    json.dumps([str(occurred), subject, direction]).encode()
                ).hexdigest(),
                "flags": [],
                "batch": batch,
            }
        )
    db.session.add_all(batches.values())
    db.session.flush()
    for row in rows:
        row["batch_id"] = row.pop("batch").id
    for start in range(0, len(rows), 5000):
        db.session.execute(insert(GateEvent), rows[start : start + 5000])
    for device in devices:
        device.highest_seq = seqs[device.id]
        device.last_sync_at = device.last_seen_at = max(
            (b.received_at for (d, _), b in batches.items() if d == device.id),
            default=None,
        )
        device.last_skew_seconds = 0.0
    _add_visitors(rng, enterprise, now)
    return len(rows)


def _add_visitors(rng: random.Random, enterprise: Enterprise, now: datetime) -> None:
    for number in range(3):
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
                roster_version=next_roster_version(enterprise.id),
                created_at=now,
            )
        )


def _add_users(
    zone: Zone, enterprises: list[Enterprise], *, random_passwords: bool
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
            user.zones = [zone]
        db.session.add(user)
    return [(role, username, password) for role, username, password, _ in accounts]
