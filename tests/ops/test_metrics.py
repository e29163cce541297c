"""/metrics: counters where the answers are built, gauges read from the database, access kept
to the host itself or to a scraper holding the token."""

from __future__ import annotations

import json
import re
from datetime import timedelta

from flask import Flask
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from server import create_app
from server.extensions import db
from server.models import QuarantinedEvent, utcnow
from tests.api.wire import batch, event, post_json
from tests.e2e.harness import ROOT
from tests.factories import make_device, make_enterprise, make_gate
from tests.support import settings_for_tests


def counter(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def scraped(client, **kwargs) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics", **kwargs)
    assert response.status_code == 200, response.status_code
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.get_data(as_text=True))
        for sample in family.samples
    }


def test_push_counters_follow_the_acks(client) -> None:
    gate = make_gate(make_enterprise())
    other_gate = make_gate(make_enterprise())
    _device, token = make_device(gate)
    auth = {"Authorization": f"Bearer {token}"}
    first, second = event(1, gate.id), event(2, gate.id)
    names = [
        ("gatelog_sync_pushes_total", {"outcome": "applied"}),
        ("gatelog_sync_pushes_total", {"outcome": "validation_error"}),
        ("gatelog_sync_events_total", {"outcome": "accepted", "reason": ""}),
        ("gatelog_sync_events_total", {"outcome": "duplicate", "reason": ""}),
        ("gatelog_sync_events_total", {"outcome": "rejected", "reason": "unknown_gate"}),
    ]
    before = [counter(name, **labels) for name, labels in names]

    post_json(client, "/sync/push", batch(first, second, event(3, other_gate.id)), auth)
    post_json(client, "/sync/push", batch(first), auth)
    post_json(client, "/sync/push", {"events": "not a batch"}, auth)

    after = [counter(name, **labels) for name, labels in names]
    assert [a - b for a, b in zip(after, before, strict=True)] == [2, 1, 2, 1, 1]


def test_gauges_count_quarantine_tablets_and_backlog(client) -> None:
    now = utcnow()
    enterprise = make_enterprise(tax_code="0101234567")
    gate = make_gate(enterprise)
    make_device(gate, last_sync_at=now - timedelta(minutes=1))
    make_device(
        gate,
        last_sync_at=now - timedelta(minutes=2),
        reported_backlog=7,
        oldest_pending_at=now - timedelta(hours=3),
    )
    stale, _token = make_device(gate, last_sync_at=now - timedelta(days=3))
    make_device(gate)
    make_device(gate, revoked_at=now, reported_backlog=50, oldest_pending_at=now)
    for reason in ("unknown_gate", "unknown_gate", "invalid_event"):
        db.session.add(
            QuarantinedEvent(
                enterprise_id=enterprise.id, device_id=stale.id, reason=reason, raw="{}"
            )
        )
    db.session.commit()

    samples = scraped(client)

    tablets = {
        labels[0][1]: count
        for (name, labels), count in samples.items()
        if name == "gatelog_tablets"
    }
    assert tablets == {"ok": 1, "lagging": 1, "stale": 1, "never_synced": 1, "revoked": 1}
    assert samples[("gatelog_quarantine_events", (("reason", "unknown_gate"),))] == 2
    assert samples[("gatelog_quarantine_events", (("reason", "invalid_event"),))] == 1
    key = (("enterprise_id", str(enterprise.id)), ("tax_code", "0101234567"))
    assert samples[("gatelog_unsynced_events", key)] == 7
    age = samples[("gatelog_oldest_unsynced_age_seconds", key)]
    assert 3 * 3600 <= age < 4 * 3600


def test_request_latency_is_recorded_by_endpoint(client) -> None:
    labels = {"endpoint": "ops.healthz", "method": "GET"}
    before = counter("gatelog_http_request_duration_seconds_count", **labels)
    client.get("/healthz")
    assert counter("gatelog_http_request_duration_seconds_count", **labels) == before + 1


def test_the_purge_records_its_duration(app: Flask) -> None:
    before = counter("gatelog_job_duration_seconds_count", job="purge")
    result = app.test_cli_runner().invoke(args=["purge"])
    assert result.exit_code == 0, result.output
    assert counter("gatelog_job_duration_seconds_count", job="purge") == before + 1


def test_without_a_token_only_the_host_itself_may_scrape(client) -> None:
    assert client.get("/metrics").status_code == 200
    remote = client.get("/metrics", environ_base={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    # Relayed by a reverse proxy on the same host: loopback, but not the host asking.
    relayed = client.get("/metrics", headers={"X-Forwarded-For": "10.1.2.3"})
    assert relayed.status_code == 403


def test_with_a_token_a_scrape_must_bring_it(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    guarded = create_app(settings_for_tests(url, metrics_token="scrape-secret-1"))
    client = guarded.test_client()
    assert client.get("/metrics").status_code == 403
    wrong = client.get("/metrics", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 403
    right = client.get(
        "/metrics",
        headers={"Authorization": "Bearer scrape-secret-1"},
        environ_base={"REMOTE_ADDR": "10.1.2.3"},
    )
    assert right.status_code == 200
    assert "gatelog_tablets" in right.get_data(as_text=True)


def test_the_grafana_dashboard_names_only_metrics_the_app_exposes(client) -> None:
    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    queried = {
        name
        for panel in dashboard["panels"]
        for target in panel["targets"]
        for name in re.findall(r"gatelog_[a-z_]+", target["expr"])
    }
    suffixes = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum")}
    text = client.get("/metrics").get_data(as_text=True)
    exposed = {
        family.name + suffix
        for family in text_string_to_metric_families(text)
        for suffix in suffixes.get(family.type, ("",))
    }
    assert queried
    assert queried <= exposed, queried - exposed
