"""Prometheus metrics.

Counters and histograms live in each process; under gunicorn PROMETHEUS_MULTIPROC_DIR makes every
worker write them to files that a scrape sums (deploy/gunicorn.conf.py clears the folder at start
and marks dead workers). Gauges about the data are read from the database at scrape time, one
aggregate query each, by whichever worker answers the scrape.
"""

from __future__ import annotations

import os
from collections import Counter as Tally
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime, timedelta
from time import perf_counter
from typing import Any

from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session, scoped_session

from server.admin.config import Thresholds
from server.board.health import LAGGING, NEVER, OK, REVOKED, STALE
from server.models import Device, Enterprise, QuarantinedEvent

REQUEST_SECONDS = Histogram(
    "gatelog_http_request_duration_seconds",
    "Time to answer a request, by endpoint (the route's name, never its arguments).",
    ["endpoint", "method"],
)
RESPONSES = Counter(
    "gatelog_http_responses",
    "Answers sent, by endpoint and status.",
    ["endpoint", "method", "status"],
)
PUSHES = Counter(
    "gatelog_sync_pushes",
    "Tablet pushes answered: 'applied' (committed, acks sent) or the code it was refused with.",
    ["outcome"],
)
PUSHED_EVENTS = Counter(
    "gatelog_sync_events",
    "Events in applied pushes, by ack: accepted, duplicate, or rejected with its reason.",
    ["outcome", "reason"],
)
JOB_SECONDS = Histogram(
    "gatelog_job_duration_seconds",
    "Duration of the purge and of roster imports.",
    ["job"],
    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, float("inf")),
)


def count_push(acks: Iterable[Mapping[str, Any]]) -> None:
    """One applied push and its events by outcome, as the answer tells the tablet."""
    PUSHES.labels("applied").inc()
    # One increment per outcome, not per event: a child lookup costs more than the count.
    outcomes = Tally((ack["status"], ack.get("reason", "")) for ack in acks)
    for (status, reason), events in outcomes.items():
        PUSHED_EVENTS.labels(status, reason).inc(events)


def count_refused_push(code: str) -> None:
    PUSHES.labels(code).inc()


def observe_request(endpoint: str, method: str, status: int, seconds: float) -> None:
    REQUEST_SECONDS.labels(endpoint, method).observe(seconds)
    RESPONSES.labels(endpoint, method, str(status)).inc()


@contextmanager
def timed_job(job: str) -> Iterator[None]:
    """Record how long the block took (also when it fails: a slow failure is worth seeing)."""
    started = perf_counter()
    try:
        yield
    finally:
        JOB_SECONDS.labels(job).observe(perf_counter() - started)


class DatabaseGauges(Collector):
    """Quarantine size, tablets by sync state, unsynced backlog per enterprise: read at scrape."""

    def __init__(
        self, session: Session | scoped_session[Any], now: datetime, thresholds: Thresholds
    ) -> None:
        self.session = session
        self.now = now
        self.thresholds = thresholds

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield self._quarantine()
        yield self._tablets()
        yield from self._backlog()

    def _quarantine(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "gatelog_quarantine_events",
            "Refused events kept in quarantine, by reason.",
            labels=["reason"],
        )
        query = select(QuarantinedEvent.reason, func.count()).group_by(QuarantinedEvent.reason)
        for reason, count in self.session.execute(query):
            gauge.add_metric([reason], count)
        return gauge

    def _tablets(self) -> GaugeMetricFamily:
        gauge = GaugeMetricFamily(
            "gatelog_tablets",
            "Enrolled tablets by sync state, from the board's thresholds (the board's tablet "
            "page also counts seq gaps as lagging; this gauge does not).",
            labels=["state"],
        )
        lagging_before = self.now - timedelta(minutes=self.thresholds.lagging_after_minutes)
        stale_before = self.now - timedelta(hours=self.thresholds.stale_after_hours)
        state = case(
            (Device.revoked_at.is_not(None), REVOKED),
            (Device.last_sync_at.is_(None), NEVER),
            (Device.last_sync_at < stale_before, STALE),
            (
                or_(
                    Device.last_sync_at < lagging_before,
                    and_(Device.reported_backlog > 0, Device.oldest_pending_at < lagging_before),
                ),
                LAGGING,
            ),
            else_=OK,
        ).label("state")
        counts: dict[str, int] = dict(
            self.session.execute(select(state, func.count()).group_by(state)).all()
        )
        for name in (OK, LAGGING, STALE, NEVER, REVOKED):
            gauge.add_metric([name], counts.get(name, 0))
        return gauge

    def _backlog(self) -> Iterator[GaugeMetricFamily]:
        labels = ["enterprise_id", "tax_code"]
        waiting = GaugeMetricFamily(
            "gatelog_unsynced_events",
            "Events the enterprise's tablets reported still waiting, at their last push.",
            labels=labels,
        )
        oldest = GaugeMetricFamily(
            "gatelog_oldest_unsynced_age_seconds",
            "Age of the oldest event an enterprise's tablets reported still waiting.",
            labels=labels,
        )
        query = (
            select(
                Device.enterprise_id,
                Enterprise.tax_code,
                func.sum(Device.reported_backlog),
                func.min(Device.oldest_pending_at),
            )
            .join(Enterprise, Enterprise.id == Device.enterprise_id)
            .where(Device.revoked_at.is_(None), Device.reported_backlog > 0)
            .group_by(Device.enterprise_id, Enterprise.tax_code)
        )
        for enterprise_id, tax_code, backlog, oldest_at in self.session.execute(query):
            values = [str(enterprise_id), tax_code or ""]
            waiting.add_metric(values, backlog)
            if oldest_at is not None:
                oldest.add_metric(values, max((self.now - oldest_at).total_seconds(), 0.0))
        yield waiting
        yield oldest


def exposition(gauges: DatabaseGauges) -> bytes:
    """The text a scrape gets: every worker's counters summed, then the database gauges."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        processes = CollectorRegistry()
        multiprocess.MultiProcessCollector(processes)  # type: ignore[no-untyped-call]
    else:
        processes = REGISTRY
    data = CollectorRegistry(auto_describe=False)
    data.register(gauges)
    return generate_latest(processes) + generate_latest(data)
