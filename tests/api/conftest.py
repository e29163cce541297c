"""Fixtures for the device API: an enterprise with a gate, an enrolled device, its headers."""

from __future__ import annotations

from typing import Any

import pytest

from server.models import Device, Enterprise, Gate, Worker
from tests.factories import make_device, make_enterprise, make_gate, make_worker


@pytest.fixture
def enterprise(app: Any) -> Enterprise:
    """An enterprise with nothing in it yet."""
    return make_enterprise()


@pytest.fixture
def gate(enterprise: Enterprise) -> Gate:
    """The enterprise's first gate."""
    return make_gate(enterprise, code="G1", name="Cổng chính")


@pytest.fixture
def worker(enterprise: Enterprise) -> Worker:
    """A worker with a badge."""
    return make_worker(enterprise, full_name="Nguyễn Văn An")


@pytest.fixture
def device(gate: Gate) -> tuple[Device, str]:
    """An enrolled tablet at the gate and its bearer token."""
    return make_device(gate)


@pytest.fixture
def auth(device: tuple[Device, str]) -> dict[str, str]:
    """The device's Authorization header."""
    return {"Authorization": f"Bearer {device[1]}"}
