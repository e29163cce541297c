"""Typed settings, read once from the environment and passed into create_app."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

# Flask-Limiter storages (schemes of `limits`) that live inside one process.
PER_PROCESS_STORAGE = frozenset({"memory"})
DEV_SECRET = "dev-only-not-secret"  # noqa: S105 - the marker production refuses to start with
INSTANCE_DIR = Path(__file__).resolve().parent.parent / "instance"


class SettingsError(RuntimeError):
    """The environment does not describe a runnable deployment."""


def _env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError as error:
        raise SettingsError(f"{name} must be a number, got {raw!r}") from error


def _default_database_url() -> str:
    return f"sqlite:///{INSTANCE_DIR / 'gatelog.sqlite3'}"


def _normalise_database_url(url: str) -> str:
    # Hosting platforms hand out postgres:// URLs; SQLAlchemy wants the psycopg 3 dialect named.
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


@dataclass(frozen=True)
class Settings:
    secret_key: str = DEV_SECRET
    database_url: str = field(default_factory=_default_database_url)
    debug: bool = False
    testing: bool = False
    # Limiter storage shared by every gunicorn worker: memory:// only fits one process.
    ratelimit_storage_uri: str = "memory://"
    # Keeps the counts of deployments (or test runs) that share one Redis apart.
    ratelimit_key_prefix: str = "gatelog"
    login_rate_limit: str = "10 per minute"
    session_cookie_secure: bool = True
    trust_proxy: bool = False
    default_language: str = "vi"
    timezone: str = "Asia/Ho_Chi_Minh"
    # Presence: an `in` older than this without an `out` no longer counts as on site.
    shift_hours: float = 12.0
    skew_flag_seconds: float = 120.0
    # Sync-health thresholds for the board console.
    lagging_after_minutes: float = 30.0
    stale_after_hours: float = 24.0
    paper_after_days: float = 7.0
    # Bearer token a Prometheus scrape of /metrics must send; empty: loopback scrapes only.
    metrics_token: str = ""

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        """Build settings from the environment; keyword overrides win."""
        debug = _env_bool("GATELOG_DEBUG", False)
        settings = cls(
            secret_key=os.environ.get("SECRET_KEY", DEV_SECRET),
            database_url=_normalise_database_url(
                os.environ.get("DATABASE_URL") or _default_database_url()
            ),
            debug=debug,
            ratelimit_storage_uri=os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
            ratelimit_key_prefix=os.environ.get("RATELIMIT_KEY_PREFIX", "gatelog"),
            login_rate_limit=os.environ.get("LOGIN_RATE_LIMIT", "10 per minute"),
            session_cookie_secure=_env_bool("SESSION_COOKIE_SECURE", not debug),
            trust_proxy=_env_bool("TRUST_PROXY", False),
            default_language=os.environ.get("DEFAULT_LANGUAGE", "vi"),
            shift_hours=_env_float("SHIFT_HOURS", 12.0),
            skew_flag_seconds=_env_float("SKEW_FLAG_SECONDS", 120.0),
            lagging_after_minutes=_env_float("LAGGING_AFTER_MINUTES", 30.0),
            stale_after_hours=_env_float("STALE_AFTER_HOURS", 24.0),
            paper_after_days=_env_float("PAPER_AFTER_DAYS", 7.0),
            metrics_token=os.environ.get("METRICS_TOKEN", ""),
        )
        return replace(settings, **overrides) if overrides else settings

    @property
    def production(self) -> bool:
        """Serving people: neither local development nor a test run."""
        return not (self.debug or self.testing)

    def check_deployable(self) -> None:
        """Refuse a production start with the development secret."""
        if self.production and self.secret_key == DEV_SECRET:
            raise SettingsError(
                "SECRET_KEY is not set. Set it to a long random value "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or set GATELOG_DEBUG=1 for local development."
            )
        if self.default_language not in {"vi", "en"}:
            raise SettingsError("DEFAULT_LANGUAGE must be 'vi' or 'en'")

    def check_rate_limit_storage(self, *, processes: int) -> None:
        """Refuse a production start where each of several processes would count alone."""
        if not (self.production and processes > 1):
            return
        if self.ratelimit_storage_uri.split(":", 1)[0] in PER_PROCESS_STORAGE:
            raise SettingsError(
                f"RATELIMIT_STORAGE_URI is {self.ratelimit_storage_uri!r}, a store each of the "
                f"{processes} workers keeps alone: the login limit ({self.login_rate_limit}) "
                f"would let {processes} times as many guesses through. Set "
                "RATELIMIT_STORAGE_URI=redis://<host>:6379/0, shared by every worker and host, "
                "or serve from one worker (WEB_CONCURRENCY=1)."
            )
