"""Security headers on every response of every route, and pages that work under the CSP.

The sweep walks the whole URL map, so a route added later is checked too.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from werkzeug.routing import AnyConverter, Rule

from server import create_app
from server.extensions import db
from server.headers import HEADERS, STRICT_TRANSPORT_SECURITY
from server.models import Device
from tests.factories import PASSWORD, make_poster, make_user, make_zone
from tests.foundation.test_scoping import make_tenant
from tests.support import settings_for_tests

# Route arguments that are not row ids, with a value that names something real where one exists.
SAMPLE_ARGUMENTS = {
    "day": "2026-01-01",
    "fmt": "csv",
    "format": "csv",
    "province_code": "24",
    "code": "en",
}
STATIC_FILES = {"static": "console.css", "pwa.asset": "js/main.js", "checkin.asset": "checkin.js"}
# What may be cached, because it holds no one's data: code, styles, icons, the app shells.
CACHEABLE_ENDPOINTS = {
    "static",
    "pwa.index",
    "pwa.service_worker",
    "pwa.manifest",
    "pwa.asset",
    "checkin.page",
    "checkin.manifest",
    "checkin.service_worker",
    "checkin.asset",
}


@pytest.fixture
def world(app: Flask) -> dict[str, Any]:
    """One enterprise with a row of every kind, its hr user, a poster, an inspector, an admin."""
    zone = make_zone()
    tenant = make_tenant(zone)
    poster = make_poster(enterprise=tenant["enterprise"], screen_key="SCREENKEY1")
    values = {
        **SAMPLE_ARGUMENTS,
        **tenant["ids"],
        "poster_token": poster.token,
        "screen_key": "SCREENKEY1",
    }
    return {
        "values": values,
        "hr": tenant["hr"].username,
        "inspector": make_user("inspector", zones=(zone,)).username,
        "admin": make_user("admin").username,
    }


def sign_in(client: Any, username: str) -> None:
    response = client.post("/auth/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 302


def url_of(rule: Rule, values: dict[str, Any]) -> str:
    arguments = {name: values.get(name, "x") for name in rule.arguments}
    for name, converter in rule._converters.items():
        if isinstance(converter, AnyConverter):
            arguments[name] = sorted(converter.items)[0]
    if "filename" in rule.arguments:
        arguments["filename"] = STATIC_FILES.get(rule.endpoint, "x.csv")
    return rule.build(arguments, append_unknown=False)[1]  # type: ignore[index]


def every_request(app: Flask, values: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule and method; signing out comes last."""
    requests = []
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            requests.append((rule.endpoint, method, url_of(rule, values)))
    return sorted(requests, key=lambda request: request[0] == "auth.logout")


def assert_secure_headers(response: Any, endpoint: str, where: tuple[str, str, str]) -> None:
    for name, value in HEADERS.items():
        assert response.headers.get(name) == value, (name, where, response.status_code)
    if endpoint not in CACHEABLE_ENDPOINTS:
        assert response.headers.get("Cache-Control") == "no-store", where
    assert "Strict-Transport-Security" not in response.headers, where


@pytest.mark.parametrize("who", ["anonymous", "hr", "inspector", "admin"])
def test_every_route_answers_with_the_security_headers(
    app: Flask, client, world: dict[str, Any], who: str
) -> None:
    if who != "anonymous":
        sign_in(client, world[who])
    for endpoint, method, url in every_request(app, world["values"]):
        response = client.open(url, method=method, data={}, buffered=True)
        assert_secure_headers(response, endpoint, (who, method, url))


def test_production_adds_hsts_to_every_answer(app: Flask) -> None:
    production = create_app(
        settings_for_tests(app.config["SQLALCHEMY_DATABASE_URI"], testing=False)
    )
    client = production.test_client()
    for url in ("/auth/login", "/", "/api/v1/sync/roster", "/static/console.css", "/nowhere"):
        response = client.get(url)
        assert response.headers["Strict-Transport-Security"] == STRICT_TRANSPORT_SECURITY, url
        assert response.headers["Content-Security-Policy"] == HEADERS["Content-Security-Policy"]


# Records every CSP violation a page reports, inline or not, before any of its scripts runs.
REPORT_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (event) => {
  const where = `${event.sourceFile}:${event.lineNumber}`;
  window.__cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${where}`);
});
"""


def open_page(context: Any, url: str) -> tuple[Any, list[str]]:
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda message: messages.append(f"{message.type}: {message.text}"))
    page.on("pageerror", lambda error: messages.append(f"pageerror: {error}"))
    if url != "about:blank":
        visit(page, url)
    return page, messages


def visit(page: Any, url: str) -> None:
    response = page.goto(url)
    assert response is not None, url
    assert response.status != 500, url


def violations(page: Any, messages: list[str]) -> list[str]:
    reported = page.evaluate("window.__cspViolations")
    return reported + [m for m in messages if "Content Security Policy" in m or "pageerror" in m]


def html_pages(app: Flask, world: dict[str, Any]) -> dict[str, list[str]]:
    """Every GET route that answers an HTML page, by the user who may see it."""
    pages: dict[str, list[str]] = {"anonymous": ["/"], "hr": [], "inspector": [], "admin": []}
    for who in pages:
        client = app.test_client()
        if who != "anonymous":
            sign_in(client, world[who])
        for rule in app.url_map.iter_rules():
            blueprint = rule.endpoint.split(".")[0]
            owner = {"hr": "hr", "board": "inspector", "admin": "admin"}.get(blueprint, "anonymous")
            if owner != who or "GET" not in rule.methods or rule.endpoint == "auth.logout":
                continue
            url = url_of(rule, world["values"])
            if client.get(url, buffered=True).mimetype == "text/html":
                pages[who].append(url)
    return pages


def test_console_pages_and_the_gate_app_raise_no_csp_violation_in_chromium(
    app: Flask, browser: Any, live_url: str, world: dict[str, Any]
) -> None:
    pages_by_user = html_pages(app, world)
    assert len(pages_by_user["hr"]) > 20
    found: dict[str, list[str]] = {}
    for who, urls in pages_by_user.items():
        context = browser.new_context()
        context.add_init_script(REPORT_VIOLATIONS)
        if who != "anonymous":
            page, _messages = open_page(context, f"{live_url}/auth/login")
            page.fill("input[name=username]", world[who])
            page.fill("input[name=password]", PASSWORD)
            page.click("form button.primary")
            page.wait_for_load_state()
            page.close()
        page, messages = open_page(context, "about:blank")
        for url in urls:
            messages.clear()
            visit(page, f"{live_url}{url}")
            if problems := violations(page, messages):
                found[url] = problems
        context.close()
    assert found == {}


def test_confirm_print_and_filter_controls_work_without_inline_script(
    browser: Any, live_url: str, world: dict[str, Any]
) -> None:
    context = browser.new_context()
    context.add_init_script(REPORT_VIOLATIONS)
    context.add_init_script("window.print = () => { window.__printed = true; };")
    page, _messages = open_page(context, f"{live_url}/auth/login")
    page.fill("input[name=username]", world["hr"])
    page.fill("input[name=password]", PASSWORD)
    page.click("form button.primary")
    page.wait_for_load_state()
    page, messages = open_page(context, f"{live_url}/hr/tablets")
    asked: list[str] = []

    def dismiss(dialog: Any) -> None:
        asked.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", dismiss)
    page.click("form[data-confirm] button")
    assert len(asked) == 1
    assert page.url.endswith("/hr/tablets")
    device = db.session.get(Device, world["values"]["device_id"])
    db.session.refresh(device)
    assert device.revoked_at is None
    page, messages = open_page(context, f"{live_url}/hr/passes/{world['values']['pass_id']}")
    page.click("[data-print]")
    assert page.evaluate("window.__printed") is True
    assert violations(page, messages) == []
    page, messages = open_page(context, f"{live_url}/hr/checkin/log")
    with page.expect_navigation():
        page.select_option("select[data-submit-on-change]", "1")
    assert "alerts=1" in page.url
    assert violations(page, messages) == []
    context.close()
