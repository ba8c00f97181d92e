"""A migrated SQLite database and settings for runtime tests outside the session app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_settings


@pytest.fixture(scope="module")
def jobs_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data dir and a migrated SQLite URL of this module."""
    from quantlab.platform import migrate

    data_dir = tmp_path_factory.mktemp("jobs")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    migrate.upgrade(url)
    return data_dir, url


def runtime_settings(jobs_db: tuple[Path, str], **overrides: Any) -> Any:
    """Settings on the module database with job overrides."""
    data_dir, url = jobs_db
    return make_settings(data_dir, url, **overrides)
