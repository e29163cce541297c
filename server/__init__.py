"""Gate log server: the composition root."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from server import database, errors, headers, i18n, ops, unit_of_work, views_common
from server.admin import bp as admin_bp
from server.api import bp as api_bp
from server.auth import bp as auth_bp
from server.board import bp as board_bp
from server.checkin import bp as checkin_bp
from server.cli import register_cli
from server.extensions import babel, csrf, db, limiter, login_manager, migrate
from server.hr import bp as hr_bp
from server.ops import requestlog
from server.pwa import bp as pwa_bp
from server.settings import INSTANCE_DIR, Settings

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Above the largest upload a console takes: a tablet's waiting-events file (20 MiB).
MAX_UPLOAD_BYTES = 24 * 1024 * 1024


def create_app(config: Settings | Mapping[str, object] | None = None) -> Flask:
    """Build the app from settings (the environment's, or overrides of them in a mapping)."""
    settings = config if isinstance(config, Settings) else Settings.from_env(**dict(config or {}))
    settings.check_deployable()

    app = Flask(__name__, instance_path=str(INSTANCE_DIR))
    app.config.from_mapping(
        GATELOG=settings,
        SECRET_KEY=settings.secret_key,
        TESTING=settings.testing,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=database.engine_options(settings.database_url),
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        BABEL_DEFAULT_LOCALE=settings.default_language,
        BABEL_DEFAULT_TIMEZONE=settings.timezone,
        BABEL_TRANSLATION_DIRECTORIES=";".join(i18n.translation_directories()),
        RATELIMIT_STORAGE_URI=settings.ratelimit_storage_uri,
        RATELIMIT_KEY_PREFIX=settings.ratelimit_key_prefix,
        RATELIMIT_HEADERS_ENABLED=True,
        WTF_CSRF_TIME_LIMIT=None,
        # Refuse oversized uploads before reading them; the device API keeps its own tighter
        # 1 MiB limit so that its 413 can carry the limits in its JSON body.
        MAX_CONTENT_LENGTH=MAX_UPLOAD_BYTES,
    )
    if settings.trust_proxy:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)  # type: ignore[method-assign]
    INSTANCE_DIR.mkdir(exist_ok=True)
    i18n.compile_catalogs()

    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=str(MIGRATIONS_DIR),
        render_as_batch=True,
        compare_type=True,
        render_item=database.render_migration_item,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app, locale_selector=i18n.select_locale)
    limiter.init_app(app)

    requestlog.register(app)
    register_blueprints(app)
    unit_of_work.commit_after_views(app)
    errors.register(app)
    headers.register(app)
    views_common.register(app)
    register_cli(app)
    return app


def register_blueprints(app: Flask) -> None:
    # The device API authenticates with bearer tokens, never cookies, so CSRF does not apply.
    csrf.exempt(api_bp)
    # The self check-in calls carry no session: the poster token and the person's details are
    # the whole request, so there is no cookie a forged request could ride on.
    csrf.exempt(checkin_bp)
    for blueprint in (auth_bp, hr_bp, board_bp, admin_bp, api_bp, pwa_bp, checkin_bp, ops.bp):
        app.register_blueprint(blueprint)
