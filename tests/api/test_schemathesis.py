"""The device API against its own OpenAPI description, by Schemathesis over real HTTP.

Schemathesis generates requests for every operation of /api/v1/openapi.json (boundary cases,
then random ones) and sends them to the app served on 127.0.0.1, with a token from a real
enrolment. Any 500, any status, content type, header or body the description does not allow,
fails the run. Run it alone (README, "Checking the device API"):

    .venv/bin/python -m pytest -q -p no:cacheprovider -s tests/api/test_schemathesis.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from server.api.openapi import OPERATIONS, openapi_document
from server.devices import issue_enrolment_code
from server.extensions import db, limiter
from server.models import Gate, utcnow
from tests.browser import serve_in_thread

# Test cases per operation in the random phase; with the boundary cases of the coverage phase
# the whole run takes well under a minute per database.
MAX_EXAMPLES = int(os.environ.get("SCHEMATHESIS_MAX_EXAMPLES", "30"))
# Not negative_data_rejection: by design a broken event is answered 200 with its own rejection
# (PROTOCOL.md §5.3), and a body over 1 MiB 413, where that check wants a 400 for the request.
CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "missing_required_header",
        "ignored_auth",
        "unsupported_method",
    )
)
SCHEMATHESIS = Path(sys.executable).with_name("st")


@pytest.fixture
def api_url(app: Flask) -> Iterator[str]:
    """The app on a free port of 127.0.0.1, rate limits off: a limit would answer most cases."""
    limiter.enabled = False
    try:
        with serve_in_thread(app) as url:
            yield url
    finally:
        limiter.enabled = True


def enrolled_token(api_url: str, gate: Gate) -> str:
    issued = issue_enrolment_code(gate, actor=None, now=utcnow())
    db.session.commit()
    body = json.dumps({"code": issued.qr_content, "label": "Schemathesis", "app_version": "1"})
    request = urllib.request.Request(  # noqa: S310 - a fixed http URL on 127.0.0.1
        f"{api_url}/api/v1/devices/enroll",
        data=body.encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310 - as above
        return json.load(answer)["token"]


def test_the_description_covers_every_device_api_route(app: Flask) -> None:
    described = {
        (f"/api/v1{path}", method.upper())
        for path, operations in OPERATIONS.items()
        for method in operations
    }
    served = {
        (rule.rule, method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.startswith("api.")
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }

    assert served == described
    assert set(openapi_document()["paths"]) == set(OPERATIONS)


def test_the_description_is_served_without_a_token(client) -> None:
    response = client.get("/api/v1/openapi.json")

    assert response.status_code == 200
    document = response.get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["device_token"]["scheme"] == "bearer"


def test_schemathesis_finds_no_server_error_and_no_answer_off_the_description(
    api_url: str, gate: Gate, tmp_path: Path
) -> None:
    token = enrolled_token(api_url, gate)
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{api_url}/api/v1/openapi.json",
        f"--url={api_url}/api/v1",
        f"--header=Authorization: Bearer {token}",
        f"--checks={CHECKS}",
        f"--max-examples={MAX_EXAMPLES}",
        "--phases=examples,coverage,fuzzing",
        "--seed=20261202",
        "--workers=1",
        "--generation-database=none",
        "--request-timeout=30",
        "--no-color",
        f"--report-dir={tmp_path}",
    ]

    # In tmp_path: Schemathesis keeps a cache of what it found in its working directory.
    run = subprocess.run(
        command, cwd=tmp_path, capture_output=True, text=True, timeout=600, check=False
    )

    print(run.stdout)  # the run's figures: operations, test cases, failures
    assert run.returncode == 0, run.stdout[-8000:] + run.stderr[-2000:]
