"""Is this process ready to serve: database reachable, migrations at head, Redis answering."""

from __future__ import annotations

import functools
import logging
from pathlib import Path

import redis
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError

log = logging.getLogger(__name__)

OK = "ok"
# Short enough for a load balancer's probe timeout; a Redis that slow is not ready anyway.
REDIS_TIMEOUT_SECONDS = 1.0


@functools.cache
def _scripts(migrations_dir: str) -> tuple[frozenset[str], frozenset[str]]:
    """The head revisions the code on disk expects, and every revision it knows (read once)."""
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    scripts = ScriptDirectory.from_config(config)
    known = frozenset(script.revision for script in scripts.walk_revisions())
    return frozenset(scripts.get_heads()), known


def migration_state(current: set[str], migrations_dir: Path) -> str:
    """ "ok" at head; "behind" when an upgrade would bring it there; "unknown_revision" when the
    database was migrated by newer code than this (a rolled-back release)."""
    heads, known = _scripts(str(migrations_dir))
    if current == heads:
        return OK
    return "behind" if current <= known else "unknown_revision"


def check_database(engine: Engine, migrations_dir: Path) -> dict[str, str]:
    """The database's state in two words: reachable or not, migrations at head or behind."""
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as error:
        log.warning("readiness: database unreachable: %s", type(error).__name__)
        return {"database": "unreachable", "migrations": "unknown"}
    return {"database": OK, "migrations": migration_state(current, migrations_dir)}


def check_redis(storage_uri: str) -> dict[str, str]:
    """Redis answers a PING, when the rate limits are stored there; nothing to check otherwise."""
    if not storage_uri.startswith(("redis://", "rediss://", "unix://")):
        return {}
    client = redis.Redis.from_url(
        storage_uri,
        socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
        socket_timeout=REDIS_TIMEOUT_SECONDS,
    )
    try:
        client.ping()
    except redis.RedisError as error:
        log.warning("readiness: redis unreachable: %s", type(error).__name__)
        return {"redis": "unreachable"}
    finally:
        client.close()
    return {"redis": OK}
