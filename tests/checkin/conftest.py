"""An enterprise with a gate, a poster, a worker and a declaration question, for each test."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from server.models import DeclarationQuestion, Enterprise, Gate, GatePoster, Worker
from tests.factories import make_enterprise, make_gate, make_poster, make_question, make_worker


@dataclass
class Premises:
    enterprise: Enterprise
    gate: Gate
    poster: GatePoster
    worker: Worker
    question: DeclarationQuestion

    @property
    def base(self) -> str:
        return f"/c/{self.poster.token}"

    def worker_identity(self) -> dict[str, Any]:
        return {"employee_code": self.worker.employee_code, "phone": self.worker.phone}


@pytest.fixture
def premises(app: Any) -> Premises:
    """One enterprise, its gate and poster, a worker on its roster and a yes/no question."""
    enterprise = make_enterprise(name="Công ty TNHH May Hòa Phát")
    gate = make_gate(enterprise, name="Cổng chính")
    poster = make_poster(enterprise=enterprise, gate=gate, label="Cửa nhà ăn")
    worker = make_worker(enterprise, employee_code="NV00042", phone="0912345678")
    question = make_question(enterprise=enterprise)
    return Premises(enterprise, gate, poster, worker, question)
