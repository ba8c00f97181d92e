"""Shared fixtures: real data paths, real databases (SQLite always, PostgreSQL when it
answers), real Redis, and an app + HTTP client per database backend.

``QUANTLAB_REQUIRE_SERVICES=1`` turns a missing PostgreSQL or Redis into a failure
instead of a skip (CI sets it).
"""

from __future__ import annotations

import asyncio
import collections
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
REALDATA = Path(os.environ.get("QUANTLAB_REALDATA", REPO_ROOT.parent / "shared" / "realdata"))
REQUIRE_SERVICES = os.environ.get("QUANTLAB_REQUIRE_SERVICES") == "1"
POSTGRES_URL = os.environ.get(
    "QUANTLAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("QUANTLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

_backend_counts: collections.Counter[str] = collections.Counter()


def service_missing(name: str, reason: str) -> None:
    """Skip, or fail when services are required, because ``name`` does not answer."""
    message = f"{name} unavailable: {reason}"
    if REQUIRE_SERVICES:
        pytest.fail(message + " (QUANTLAB_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def realdata() -> Path:
    """Root of ../shared/realdata (QUANTLAB_REALDATA overrides); skips when absent."""
    if not (REALDATA / "CATALOG.md").exists():
        pytest.skip(f"real market data not found at {REALDATA}")
    return REALDATA


# --- PostgreSQL -----------------------------------------------------------------------


async def _pg_admin(sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A throwaway PostgreSQL database for this test run, dropped afterwards."""
    name = f"quantlab_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(_pg_admin(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        service_missing("PostgreSQL", f"{POSTGRES_URL}: {exc}")
    base = POSTGRES_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    asyncio.run(_pg_admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


# --- Redis ----------------------------------------------------------------------------


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The local Redis URL, when it answers PING."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2).ping()
    except Exception as exc:
        service_missing("Redis", f"{REDIS_URL}: {exc}")
    return REDIS_URL


@pytest.fixture(scope="session")
def redis_prefix() -> Iterator[str]:
    """A key prefix unique to this run; its keys are deleted afterwards."""
    prefix = f"quantlab-test-{uuid.uuid4().hex[:8]}:"
    yield prefix
    try:
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    except Exception:
        pass


# --- Database backends ----------------------------------------------------------------


@pytest.fixture(
    scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def backend(request: pytest.FixtureRequest) -> str:
    """Each database backend in turn: SQLite always, PostgreSQL when it answers."""
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> str:
    """A fresh, migrated database of ``backend`` for the session."""
    from quantlab.platform import migrate
    from quantlab.platform.settings import normalise_db_url

    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'quantlab.db'}"
    else:
        url = normalise_db_url(request.getfixturevalue("postgres_url"))
    migrate.upgrade(url)
    return url


def make_settings(data_dir: Path, database_url: str, **overrides: Any) -> Any:
    """Test settings: isolated data dir, the given database, no .env file."""
    from quantlab.platform.settings import Settings

    values: dict[str, Any] = {
        "env": "test",
        "data_dir": data_dir,
        "database_url": database_url,
        "log_json": True,
        "log_level": "WARNING",
        "seed_demo": False,  # tests that need the demo dataset install it themselves
        # Sandbox executors start on a test app's first run only, and are few.
        "sandbox_pool_size": 2,
        "sandbox_prewarm": False,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
def settings(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """Settings of the session app for the current backend."""
    return make_settings(tmp_path_factory.mktemp("data"), database_url)


@pytest.fixture(scope="session")
async def app(settings: Any) -> AsyncIterator[Any]:
    """A running quantlab app (lifespan entered) on the current backend."""
    from quantlab.api.app import create_app

    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture(scope="session")
async def client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client talking to the session app in-process."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


# --- Accounts (quantlab.auth) -----------------------------------------------------------

TEST_PASSWORD = "correct horse battery staple 42"


class TestUser:
    """A user created for a test, with ready-made ``Authorization`` headers."""

    __test__ = False  # not a test class

    def __init__(self, user: Any, password: str, access: str, refresh: str) -> None:
        self.id: str = user.id
        self.username: str = user.username
        self.role: str = user.role
        self.password = password
        self.access_token = access
        self.refresh_token = refresh
        self.headers = {"Authorization": f"Bearer {access}"}


async def create_test_user(app: Any, role: str = "researcher", **fields: Any) -> TestUser:
    """Create an account through the auth service and open a session for it."""
    from quantlab.auth import service as auth_service
    from quantlab.auth import sessions as auth_sessions

    username = fields.pop("username", None) or f"{role[:4]}-{uuid.uuid4().hex[:12]}"
    password = fields.pop("password", TEST_PASSWORD)
    async with app.state.db.sessionmaker() as session:
        user = await auth_service.create_user(
            session, app.state.settings, username=username, password=password, role=role, **fields
        )
        pair = await auth_sessions.issue_for(session, app.state.token_codec, user)
    return TestUser(user, password, pair.access_token, pair.refresh_token)


@pytest.fixture
def make_user(app: Any) -> Any:
    """Factory: ``await make_user("viewer")`` -> :class:`TestUser` (unique username)."""

    async def _make(role: str = "researcher", **fields: Any) -> TestUser:
        return await create_test_user(app, role, **fields)

    return _make


@pytest.fixture
async def researcher(make_user: Any) -> TestUser:
    """A fresh researcher account."""
    return await make_user("researcher")


@pytest.fixture
async def auth_headers(researcher: TestUser) -> dict[str, str]:
    """``Authorization`` headers of a fresh researcher."""
    return researcher.headers


@pytest.fixture
async def admin_headers(make_user: Any) -> dict[str, str]:
    """``Authorization`` headers of a fresh administrator."""
    return (await make_user("admin")).headers


def client_from(app: Any, address: str) -> httpx.AsyncClient:
    """An in-process client whose requests come from ``address`` (for per-address limits)."""
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False, client=(address, 4000))
    return httpx.AsyncClient(transport=transport, base_url="http://testserver")


# --- Reporting ------------------------------------------------------------------------


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when == "call" and report.passed:
        for name in ("sqlite", "postgres"):
            if (
                f"[{name}" in report.nodeid
                or f"-{name}]" in report.nodeid
                or f"-{name}-" in report.nodeid
            ):
                _backend_counts[name] += 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _backend_counts:
        parts = ", ".join(f"{k}: {v} passed" for k, v in sorted(_backend_counts.items()))
        terminalreporter.write_line(f"database backends exercised: {parts}")
