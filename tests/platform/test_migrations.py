"""Models and migrations agree on both databases; upgrade → downgrade → upgrade works."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from quantlab.platform import migrate
from quantlab.platform.db import make_engine
from quantlab.platform.models import metadata
from quantlab.platform.settings import normalise_db_url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty_db(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    return normalise_db_url(request.getfixturevalue("postgres_url"))


async def _tables(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_single_head() -> None:
    assert len(migrate.heads()) == 1


async def test_round_trip_and_no_drift(empty_db: str) -> None:
    await migrate.upgrade_async(empty_db)
    assert await migrate.diff(empty_db) == [], "models and migrations disagree"
    assert set(metadata.tables) <= await _tables(empty_db)
    await migrate.downgrade_async(empty_db, "base")
    assert (await _tables(empty_db)) <= {"alembic_version"}
    await migrate.upgrade_async(empty_db)
    assert await migrate.diff(empty_db) == []
