"""The one settings object (pydantic-settings, env prefix ``QUANTLAB_``, ``.env`` supported)."""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_SECRET = "change-me"  # noqa: S105 - the sentinel production refuses, not a secret
SECRET_FILE = "secret.key"  # noqa: S105 - a file name
DEFAULT_RATE_LIMITS = {
    "default": "1200/minute",
    "login": "10/minute;100/hour",
    "execute": "20/minute;200/hour",
}


class Settings(BaseSettings):
    """Every setting of quantlab; README.md documents each with its default."""

    model_config = SettingsConfigDict(
        env_prefix="QUANTLAB_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    env: Literal["development", "test", "production"] = "development"
    debug: bool = False
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    workers: int = Field(1, ge=1, le=64, description="uvicorn worker processes")
    data_dir: Path = Path("./var")
    database_url: str | None = Field(
        None, description="SQLAlchemy URL; default: SQLite file <data_dir>/quantlab.db"
    )
    allow_sqlite_in_production: bool = False
    secret_key: SecretStr | None = Field(
        None, description="JWT signing secret; generated into <data_dir>/secret.key if unset"
    )
    redis_url: str | None = None
    redis_prefix: str = Field("quantlab:", description="prefix of every Redis key and channel")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = True
    max_json_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    max_upload_bytes: int = Field(100 * 1024 * 1024, ge=1024)
    max_json_depth: int = Field(
        64, ge=2, le=500, description="deepest nesting of arrays/objects in a JSON body"
    )
    body_read_timeout_seconds: float = Field(
        30.0, gt=0, le=3600, description="longest wait for the next part of a request body"
    )
    db_pool_size: int = Field(10, ge=1, le=200)
    cors_origins: list[str] = Field(default_factory=list)
    # market data (quantlab.datasets)
    seed_demo: bool = Field(True, description="install the synthetic demo dataset on first start")
    import_max_files: int = Field(
        50, ge=1, le=1000, description="loose files per import batch; a zip counts as one"
    )
    inspect_max_columns: int = Field(
        5000, ge=10, le=1_000_000, description="columns a file may have to be inspected"
    )
    inspect_seconds: float = Field(
        10.0, gt=0, le=600, description="time budget of one file inspection"
    )
    job_runner: Literal["local", "celery"] = Field(
        "local", description="local process pool in the server, or Celery workers"
    )
    broker_url: str | None = Field(
        None, description="Celery broker; default: QUANTLAB_REDIS_URL or local Redis"
    )
    job_max_running: int | None = Field(
        None, ge=1, le=1024, description="global running-job limit; default: CPU count"
    )
    job_max_running_per_user: int = Field(2, ge=1, le=1024)
    job_workers: int | None = Field(
        None, ge=1, le=256, description="local pool size; default: job_max_running"
    )
    job_log_limit: int = Field(1000, ge=10, le=1_000_000, description="log lines kept per job")
    job_heartbeat_stale_seconds: float = Field(30.0, ge=1.0, le=3600.0)
    ws_ticket_ttl_seconds: int = Field(60, ge=5, le=3600)
    ws_ping_seconds: float = Field(30.0, ge=0.1, le=3600.0)
    # accounts and access (quantlab.auth)
    registration_mode: Literal["open", "admin-only", "disabled"] = "admin-only"
    bootstrap_admin: bool = Field(True, description="create an admin on first start")
    access_token_minutes: int = Field(15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(7, ge=1, le=90)
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    jwt_private_key_file: Path | None = Field(None, description="PEM private key for RS256")
    jwt_public_key_file: Path | None = Field(None, description="PEM public key for RS256")
    jwt_issuer: str = "quantlab"
    jwt_audience: str = "quantlab-api"
    jwt_leeway_seconds: int = Field(30, ge=0, le=300)
    argon2_time_cost: int = Field(2, ge=1, le=20)
    argon2_memory_kib: int = Field(19456, ge=8192, le=1024 * 1024)
    argon2_parallelism: int = Field(1, ge=1, le=16)
    login_free_attempts_account: int = Field(5, ge=1, le=100)
    login_free_attempts_address: int = Field(20, ge=1, le=10000)
    login_max_delay_seconds: int = Field(900, ge=1, le=86400)
    # rate limits and cache (quantlab.platform.ratelimit / .cache)
    rate_limit_enabled: bool = True
    rate_limits: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS),
        description="endpoint group -> limits (limits library syntax, ';'-separated)",
    )
    cache_enabled: bool = True
    cache_ttl_seconds: int = Field(300, ge=1, le=86400)
    # code sandbox (quantlab.sandbox)
    sandbox_pool_size: int | None = Field(
        None, ge=1, le=64, description="warm sandbox executors; default: CPU cores"
    )
    sandbox_per_user_concurrency: int = Field(1, ge=1, le=64)
    sandbox_output_cap_bytes: int = Field(256 * 1024, ge=1024, le=16 * 1024 * 1024)
    sandbox_code_retention_days: int = Field(
        30, ge=0, le=3650, description="days submitted code is kept; 0 = never stored"
    )
    sandbox_allow_degraded: bool = Field(
        False, description="allow production to run the sandbox without every isolation layer"
    )
    sandbox_queue_seconds: float = Field(
        2.0, ge=0.0, le=60.0, description="wait for a free executor before answering 503"
    )
    sandbox_prewarm: bool = Field(
        True, description="start executors with the server (false: on the first run)"
    )

    @field_validator("data_dir")
    @classmethod
    def _absolute_data_dir(cls, value: Path) -> Path:
        return value.expanduser().resolve()

    @field_validator("rate_limits")
    @classmethod
    def _merge_rate_limits(cls, value: dict[str, str]) -> dict[str, str]:
        from limits import parse_many

        merged = {**DEFAULT_RATE_LIMITS, **value}
        for group, spec in merged.items():
            try:
                parse_many(spec)
            except ValueError as exc:
                raise ValueError(f"rate limit of {group!r} is invalid: {spec!r}") from exc
        return merged

    @property
    def is_production(self) -> bool:
        """True when running with ``QUANTLAB_ENV=production``."""
        return self.env == "production"

    @property
    def db_url(self) -> str:
        """The async SQLAlchemy URL in force (drivers filled in)."""
        url = self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'quantlab.db'}"
        return normalise_db_url(url)

    @property
    def max_running_jobs(self) -> int:
        """The global limit of running jobs in force."""
        return self.job_max_running or os.cpu_count() or 1

    @property
    def sandbox_executors(self) -> int:
        """The sandbox pool size in force."""
        return self.sandbox_pool_size or os.cpu_count() or 1

    @property
    def celery_broker_url(self) -> str:
        """The Celery broker URL in force."""
        return self.broker_url or self.redis_url or "redis://127.0.0.1:6379/0"

    @property
    def is_sqlite(self) -> bool:
        """True when the database is SQLite."""
        return self.db_url.startswith("sqlite")

    def secret(self) -> str:
        """The signing secret: the configured one, or the generated development secret."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value()
        return ensure_secret_file(self.data_dir)

    def check_production(self) -> None:
        """Refuse unsafe production configurations (raises ``RuntimeError`` with the reasons)."""
        if not self.is_production:
            return
        problems = []
        key = self.secret_key.get_secret_value() if self.secret_key else ""
        if not key or key == DEFAULT_SECRET or len(key) < 32:
            problems.append("QUANTLAB_SECRET_KEY must be set to a random value of 32+ characters")
        if self.is_sqlite and not self.allow_sqlite_in_production:
            problems.append(
                "SQLite in production needs QUANTLAB_ALLOW_SQLITE_IN_PRODUCTION=1 "
                "(use PostgreSQL via QUANTLAB_DATABASE_URL)"
            )
        if self.debug:
            problems.append("QUANTLAB_DEBUG must be off in production")
        if problems:
            raise RuntimeError("refusing to start in production: " + "; ".join(problems))


def normalise_db_url(url: str) -> str:
    """Give plain ``postgresql://`` and ``sqlite://`` URLs their async drivers."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + url.split("://", 1)[1]
    if url.startswith("sqlite://"):
        return "sqlite+aiosqlite://" + url.split("://", 1)[1]
    return url


def ensure_secret_file(data_dir: Path) -> str:
    """Read, or create with mode 0600, the development secret in the data directory."""
    data_dir.mkdir(parents=True, exist_ok=True)
    path = data_dir / SECRET_FILE
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    value = secrets.token_urlsafe(48)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
    return value


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
