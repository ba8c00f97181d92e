"""Settings: development secret on first start, production refusals."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from quantlab.platform.settings import Settings, normalise_db_url


def make(**kw: object) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg, arg-type]


def test_development_secret_is_generated_once_with_mode_0600(tmp_path: Path) -> None:
    s = make(data_dir=tmp_path)
    first = s.secret()
    assert len(first) >= 32
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode == 0o600
    assert make(data_dir=tmp_path).secret() == first


def test_default_database_is_sqlite_under_data_dir(tmp_path: Path) -> None:
    s = make(data_dir=tmp_path)
    assert s.db_url == f"sqlite+aiosqlite:///{tmp_path / 'quantlab.db'}"
    assert normalise_db_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"


@pytest.mark.parametrize(
    ("overrides", "needle"),
    [
        ({}, "QUANTLAB_SECRET_KEY"),
        ({"secret_key": "change-me"}, "QUANTLAB_SECRET_KEY"),
        ({"secret_key": "x" * 40}, "SQLite"),
        (
            {"secret_key": "x" * 40, "database_url": "postgresql://p@h/d", "debug": True},
            "DEBUG",
        ),
    ],
)
def test_production_refuses_unsafe_configuration(
    tmp_path: Path, overrides: dict[str, object], needle: str
) -> None:
    with pytest.raises(RuntimeError, match=needle):
        make(env="production", data_dir=tmp_path, **overrides).check_production()


def test_production_accepts_safe_configuration(tmp_path: Path) -> None:
    make(
        env="production", data_dir=tmp_path, secret_key="k" * 40, database_url="postgresql://p@h/d"
    ).check_production()
    make(
        env="production", data_dir=tmp_path, secret_key="k" * 40, allow_sqlite_in_production=True
    ).check_production()


def test_env_prefix_is_read(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("QUANTLAB_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("QUANTLAB_MAX_JSON_BODY_BYTES", "4096")
    s = Settings(_env_file=None)  # type: ignore[call-arg]
    assert s.data_dir == tmp_path and s.max_json_body_bytes == 4096
