"""Programmatic Alembic: upgrade, downgrade, autogenerate and drift checks."""

from __future__ import annotations

import asyncio
from importlib.resources import files
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection

from quantlab.platform.db import make_engine


def alembic_config(url: str) -> Config:
    """An Alembic config pointing at the packaged migrations and ``url``."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files("quantlab") / "migrations"))
    cfg.set_main_option("sqlalchemy.url", url)
    cfg.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(slug)s")
    return cfg


async def _with_connection(url: str, fn: Any) -> Any:
    engine = make_engine(url)
    try:
        async with engine.begin() as conn:
            return await conn.run_sync(fn)
    finally:
        await engine.dispose()


def _run_command(url: str, action: Any, *args: Any) -> None:
    def _inner(conn: Connection) -> None:
        cfg = alembic_config(url)
        cfg.attributes["connection"] = conn
        action(cfg, *args)

    if _running_loop():
        raise RuntimeError("use the async variants inside an event loop")
    asyncio.run(_with_connection(url, _inner))


def _running_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def upgrade(url: str, revision: str = "head") -> None:
    """Apply migrations up to ``revision``."""
    _run_command(url, command.upgrade, revision)


def downgrade(url: str, revision: str = "base") -> None:
    """Revert migrations down to ``revision``."""
    _run_command(url, command.downgrade, revision)


async def upgrade_async(url: str, revision: str = "head") -> None:
    """Apply migrations from inside an event loop."""
    await asyncio.to_thread(upgrade, url, revision)


async def downgrade_async(url: str, revision: str = "base") -> None:
    """Revert migrations from inside an event loop."""
    await asyncio.to_thread(downgrade, url, revision)


def revision(url: str, message: str) -> None:
    """Autogenerate a new migration against the database at ``url`` (which must be at head)."""
    _run_command(url, lambda cfg: command.revision(cfg, message=message, autogenerate=True))


def current(url: str) -> None:
    """Print the database's current revision."""
    _run_command(url, command.current)


def heads() -> list[str]:
    """The head revisions of the migration scripts (exactly one is healthy)."""
    from alembic.script import ScriptDirectory

    return list(ScriptDirectory.from_config(alembic_config("")).get_heads())


async def diff(url: str) -> list[Any]:
    """Differences between the models and the database (empty when they agree)."""
    from quantlab.platform.models import metadata

    def _compare(conn: Connection) -> list[Any]:
        ctx = MigrationContext.configure(
            conn, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(ctx, metadata))

    result: list[Any] = await _with_connection(url, _compare)
    return result
