"""The /api/security HTTP layer on both databases, with real bubblewrap executors."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from quantlab.platform.audit import AuditEvent
from quantlab.sandbox import service
from quantlab.sandbox.executor import SandboxConfig
from quantlab.sandbox.executor.isolation import bwrap_works
from quantlab.sandbox.models import SandboxExecution
from quantlab.sandbox.runtime import SandboxRuntime
from tests.conftest import create_test_user, make_settings
from tests.helpers.idor import assert_no_idor

pytestmark = pytest.mark.sandbox

EXECUTE = "/api/security/execute"
HISTORY = "/api/security/executions"


@pytest.fixture(scope="session", autouse=True)
def _needs_bwrap() -> None:
    if not bwrap_works(SandboxConfig().bwrap_path):
        pytest.skip("bubblewrap with user namespaces is not available")


async def run(client: httpx.AsyncClient, headers: dict[str, str], code: str, **body: Any) -> Any:
    return await client.post(EXECUTE, headers=headers, json={"code": code, **body})


def error(resp: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["status"] == "error" and body["error"]["code"] == code, body
    return dict(body["error"])


# --- outcomes -----------------------------------------------------------------------------


async def test_success_returns_output_and_locals_and_is_recorded(
    client: httpx.AsyncClient, app: Any, researcher: Any
) -> None:
    code = "s = pd.Series([1.0, 2.0, 4.0])\nm = float(s.mean() * k)\nprint('mean', m)"
    resp = await run(
        client, researcher.headers, code, globals={"k": 3}, capture_locals=True, timeout=10
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["success"] is True and data["error_type"] is None
    assert data["stdout"] == "mean 7.0\n" and data["stderr"] == ""
    assert data["stdout_truncated"] is False and data["stderr_truncated"] is False
    assert data["locals_dict"]["m"] == 7.0  # (1 + 2 + 4) / 3 * 3
    assert data["locals_dict"]["s"] == "<pandas.core.series.Series>"  # named, never repr()-ed
    assert 0 < data["execution_time"] < 10 and data["memory_used_mb"] >= 0
    assert set(data) == set(
        "success stdout stderr stdout_truncated stderr_truncated error_type error_message "
        "traceback execution_time memory_used_mb locals_dict".split()
    )

    execution_id = resp.headers["X-Execution-ID"]
    detail = await client.get(f"{HISTORY}/{execution_id}", headers=researcher.headers)
    assert detail.status_code == 200, detail.text
    row = detail.json()["data"]
    digest = hashlib.sha256(code.encode()).hexdigest()
    assert row["code"] == code and row["code_retained"] is True
    assert row["code_sha256"] == digest and row["code_size"] == len(code)
    assert row["outcome"] == "success" and row["owner_id"] == researcher.id
    assert row["correlation_id"] == resp.headers["X-Correlation-ID"]

    async with app.state.db.sessionmaker() as session:
        event = await session.scalar(
            select(AuditEvent).where(
                AuditEvent.action == "sandbox.execute", AuditEvent.resource_id == execution_id
            )
        )
    assert event is not None and event.actor_id == researcher.id
    assert event.details["code_sha256"] == digest and event.details["outcome"] == "success"
    assert event.correlation_id == resp.headers["X-Correlation-ID"]


async def test_syntax_error_is_400(client: httpx.AsyncClient, researcher: Any) -> None:
    err = error(await run(client, researcher.headers, "def f(:\n  pass"), 400, "CODE_SYNTAX_ERROR")
    assert err["details"]["error_type"] == "SyntaxError"
    assert err["details"]["success"] is False


async def test_timeout_is_408(client: httpx.AsyncClient, researcher: Any) -> None:
    resp = await run(client, researcher.headers, "while True:\n    pass", timeout=1)
    err = error(resp, 408, "EXECUTION_TIMEOUT")
    assert err["details"]["outcome"] == "timeout"
    assert 1 <= err["details"]["execution_time"] < 4
    assert resp.headers["X-Sandbox-Outcome"] == "timeout"


async def test_memory_limit_is_507(client: httpx.AsyncClient, researcher: Any) -> None:
    resp = await run(client, researcher.headers, "x = np.ones((50_000, 50_000))", max_memory_mb=64)
    err = error(resp, 507, "EXECUTION_MEMORY_LIMIT")
    assert err["details"]["error_type"] == "MemoryError"


async def test_user_exception_is_500_with_user_frames_only(
    client: httpx.AsyncClient, researcher: Any
) -> None:
    code = "print('before')\ndef f(x):\n    return 1 / x\nf(0)"
    resp = await run(client, researcher.headers, code)
    err = error(resp, 500, "EXECUTION_ERROR")
    details = err["details"]
    assert details["stdout"] == "before\n"
    assert details["error_type"] == "ZeroDivisionError"
    assert err["message"] == "ZeroDivisionError: division by zero"
    tb = details["traceback"]
    assert tb.count('File "<user-code>"') == 2 and "return 1 / x" in tb
    for server_part in ("quantlab", "site-packages", "zygote", "child.py", "/usr/lib/python"):
        assert server_part not in tb
    assert resp.headers["X-Sandbox-Outcome"] == "error"
    history = await client.get(f"{HISTORY}?outcome=error", headers=researcher.headers)
    assert [r["id"] for r in history.json()["data"]] == [resp.headers["X-Execution-ID"]]


# --- input validation and access ----------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"code": ""}, "code"),
        ({"code": "  \n\t"}, "code"),
        ({"code": "x" * 50_001}, "code"),
        ({"code": "1", "timeout": 0}, "timeout"),
        ({"code": "1", "timeout": 301}, "timeout"),
        ({"code": "1", "timeout": "soon"}, "timeout"),
        ({"code": "1", "max_memory_mb": 63}, "max_memory_mb"),
        ({"code": "1", "max_memory_mb": 2049}, "max_memory_mb"),
        ({"code": "1", "globals": {"_secret": 1}}, "globals"),
        ({"code": "1", "globals": [1, 2]}, "globals"),
        ({"code": "1", "locals": {"__builtins__": {}}}, "locals"),
        ({"code": "1", "capture_locals": {"a": 1}}, "capture_locals"),
        ({"code": "1", "unknown": True}, "unknown"),
        ({"timeout": 5}, "code"),
    ],
)
async def test_bad_body_fields_are_422(
    client: httpx.AsyncClient, researcher: Any, body: dict[str, Any], field: str
) -> None:
    resp = await client.post(EXECUTE, headers=researcher.headers, json=body)
    err = error(resp, 422, "VALIDATION_ERROR")
    assert field in [f["field"] for f in err["details"]], err
    history = await client.get(HISTORY, headers=researcher.headers)
    assert history.json()["meta"]["total"] == 0  # a refused request writes nothing


async def test_anonymous_callers_get_401_except_on_health(client: httpx.AsyncClient) -> None:
    error(await client.post(EXECUTE, json={"code": "print(1)"}), 401, "UNAUTHORIZED")
    for path in ("/api/security/limits", HISTORY, f"{HISTORY}/{'0' * 32}"):
        error(await client.get(path), 401, "UNAUTHORIZED")
    assert (await client.get("/api/security/health")).status_code == 200


async def test_viewers_cannot_execute_but_can_read(client: httpx.AsyncClient, make_user) -> None:
    viewer = await make_user("viewer")
    resp = await run(client, viewer.headers, "print(1)")
    assert resp.status_code == 403, resp.text
    assert (await client.get("/api/security/limits", headers=viewer.headers)).status_code == 200
    history = await client.get(HISTORY, headers=viewer.headers)
    assert history.status_code == 200 and history.json()["data"] == []


async def test_health_reports_full_isolation(client: httpx.AsyncClient, researcher: Any) -> None:
    assert (await run(client, researcher.headers, "print(1)")).status_code == 200
    resp = await client.get("/api/security/health")
    data = resp.json()["data"]
    assert data["available"] is True and data["state"] == "ready"
    assert data["pool_size"] == 2 and data["alive"] == 2 and data["busy"] == 0
    assert data["isolation"]["level"] == "full" and data["isolation"]["missing"] == []
    assert all(data["isolation"]["layers"].values())
    ready = (await client.get("/api/ready")).json()["data"]["checks"]["sandbox"]
    assert ready["ok"] is True and ready["isolation"] == "full"


async def test_limits(client: httpx.AsyncClient, researcher: Any) -> None:
    data = (await client.get("/api/security/limits", headers=researcher.headers)).json()["data"]
    assert data["timeout_seconds"] == {"min": 1, "max": 300, "default": 30}
    assert data["max_memory_mb"] == {"min": 64, "max": 2048, "default": 512}
    assert data["code_max_chars"] == 50_000
    assert data["stdout_cap_bytes"] == data["stderr_cap_bytes"] == 256 * 1024
    assert data["per_user_concurrency"] == 1 and data["pool_size"] == 2
    assert data["rate_limit"] == "20/minute;200/hour"
    assert data["code_retention_days"] == 30


# --- history --------------------------------------------------------------------------------


async def test_history_is_owner_scoped_and_admins_see_all(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob, admin = await make_user(), await make_user(), await make_user("admin")
    first = await run(client, alice.headers, "print('a')")
    second = await run(client, alice.headers, "def f(:")
    mine = await run(client, bob.headers, "print('b')")
    ids = [r.headers["X-Execution-ID"] for r in (first, second, mine)]

    await assert_no_idor(
        client,
        alice.headers,
        bob.headers,
        read=f"{HISTORY}/{ids[0]}",
        missing=f"{HISTORY}/{'0' * 32}",
    )
    listed = (await client.get(HISTORY, headers=alice.headers)).json()
    assert [r["id"] for r in listed["data"]] == [ids[1], ids[0]]  # newest first
    assert "code" not in listed["data"][0] and listed["meta"]["total"] == 2
    bobs = (await client.get(HISTORY, headers=bob.headers)).json()["data"]
    assert [r["id"] for r in bobs] == [ids[2]]

    everyone = (await client.get(f"{HISTORY}?size=200", headers=admin.headers)).json()["data"]
    assert set(ids) <= {r["id"] for r in everyone}
    other = await client.get(f"{HISTORY}/{ids[0]}", headers=admin.headers)
    assert other.json()["data"]["code"] == "print('a')"

    syntax = await client.get(f"{HISTORY}?outcome=syntax_error", headers=alice.headers)
    assert [r["id"] for r in syntax.json()["data"]] == [ids[1]]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    future = await client.get(HISTORY, headers=alice.headers, params={"created_from": later})
    assert future.json()["data"] == []
    past = await client.get(HISTORY, headers=alice.headers, params={"created_to": later})
    assert past.json()["meta"]["total"] == 2
    page = await client.get(f"{HISTORY}?size=1&page=2", headers=alice.headers)
    assert [r["id"] for r in page.json()["data"]] == [ids[0]]
    error(
        await client.get(f"{HISTORY}?outcome=bogus", headers=alice.headers), 422, "VALIDATION_ERROR"
    )


async def test_expired_code_is_purged_and_the_audit_stays(app: Any, researcher: Any) -> None:
    code = f"print('{uuid.uuid4().hex}')"
    async with app.state.db.sessionmaker() as session:
        row = SandboxExecution(
            owner_id=researcher.id,
            code_sha256=service.code_hash(code),
            code_size=len(code),
            code=code,
            timeout_seconds=30,
            max_memory_mb=512,
            outcome="success",
            duration_seconds=0.01,
            memory_used_mb=1.0,
            created_at=datetime.now(UTC) - timedelta(days=31),
        )
        fresh = SandboxExecution(**{**row_values(row), "created_at": datetime.now(UTC)})
        session.add_all([row, fresh])
        await session.commit()
        purged = await service.purge_expired_code(session, retention_days=30)
        assert purged >= 1
        await session.refresh(row)
        await session.refresh(fresh)
    assert row.code is None and row.code_purged_at is not None
    assert row.code_sha256 == service.code_hash(code)  # hash and size stay
    assert fresh.code == code and fresh.code_purged_at is None


def row_values(row: SandboxExecution) -> dict[str, Any]:
    names = ("owner_id", "code_sha256", "code_size", "code", "timeout_seconds", "max_memory_mb")
    extra = ("outcome", "duration_seconds", "memory_used_mb")
    return {name: getattr(row, name) for name in (*names, *extra)}


# --- hostile code ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        ("print(open('/work/main/pyproject.toml').read())", "FileNotFoundError"),
        (
            "import socket\nsocket.create_connection(('127.0.0.1', 5432), timeout=1)",
            "PermissionError",
        ),
        ("import os\nprint(os.environ['QUANTLAB_DATABASE_URL'])", "KeyError"),
    ],
    ids=["host-file", "postgres-socket", "settings-env"],
)
async def test_hostile_code_fails_and_the_api_keeps_answering(
    client: httpx.AsyncClient, researcher: Any, code: str, error_type: str
) -> None:
    err = error(await run(client, researcher.headers, code), 500, "EXECUTION_ERROR")
    assert err["details"]["error_type"] == error_type
    again = await run(client, researcher.headers, "print(6 * 7)")
    assert again.status_code == 200 and again.json()["data"]["stdout"] == "42\n"
    assert (await client.get("/api/security/health")).json()["data"]["available"] is True


async def test_killing_the_executor_is_survived(client: httpx.AsyncClient, researcher: Any) -> None:
    resp = await run(client, researcher.headers, "import os, signal\nos.kill(1, signal.SIGKILL)")
    assert resp.status_code in (200, 500), resp.text
    again = await run(client, researcher.headers, "print('still here')")
    assert again.status_code == 200 and again.json()["data"]["stdout"] == "still here\n"


# --- limits on a small app: pool of one, three runs a minute --------------------------------


@pytest.fixture(scope="module")
async def small(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
    """Its own SQLite app: these limits concern the pool, not the database."""
    from quantlab.api.app import create_app
    from quantlab.platform import migrate

    data_dir = tmp_path_factory.mktemp("small")
    url = f"sqlite+aiosqlite:///{data_dir / 'quantlab.db'}"
    await migrate.upgrade_async(url)
    settings = make_settings(
        data_dir,
        url,
        rate_limits={"execute": "3/minute"},
        sandbox_pool_size=1,
        sandbox_queue_seconds=0.3,
    )
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        await application.state.sandbox.ready_pool()  # warm, so timings below are the runs'
        transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
            yield application, c


async def test_full_pool_is_503_and_second_own_run_is_429(small: Any) -> None:
    application, c = small
    alice = await create_test_user(application)
    bob = await create_test_user(application)
    slow = asyncio.create_task(run(c, alice.headers, "import time\ntime.sleep(2)", timeout=10))
    for _ in range(100):
        health = (await c.get("/api/security/health")).json()["data"]
        if health["busy"] == 1:
            break
        await asyncio.sleep(0.05)
    assert health["busy"] == 1 and health["pool_size"] == 1

    busy = await run(c, bob.headers, "print(1)")
    err = error(busy, 503, "SANDBOX_BUSY")
    assert int(busy.headers["Retry-After"]) >= 1 and err["details"]["retry_after"] >= 1
    own = await run(c, alice.headers, "print(1)")
    error(own, 429, "SANDBOX_CONCURRENCY_LIMIT")
    assert int(own.headers["Retry-After"]) >= 1

    done = await slow
    assert done.status_code == 200, done.text
    bobs = (await c.get(HISTORY, headers=bob.headers)).json()
    assert bobs["meta"]["total"] == 0  # refused before running: nothing recorded
    assert (await run(c, bob.headers, "print(1)")).status_code == 200


async def test_execute_rate_limit_is_429(small: Any) -> None:
    application, c = small
    carol = await create_test_user(application)
    for _ in range(3):
        assert (await run(c, carol.headers, "print(1)")).status_code == 200
    refused = await run(c, carol.headers, "print(1)")
    error(refused, 429, "RATE_LIMITED")
    assert int(refused.headers["Retry-After"]) >= 1
    # the default group is separate: reading still works
    assert (await c.get(HISTORY, headers=carol.headers)).json()["meta"]["total"] == 3


async def test_production_refuses_degraded_isolation(tmp_path: Any) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'unused.db'}"  # the runtime never opens it
    settings = make_settings(
        tmp_path, url, env="production", secret_key="x" * 40,
        allow_sqlite_in_production=True,
    )  # fmt: skip
    no_bwrap = SandboxConfig(bwrap_path=str(tmp_path / "no-bwrap"))
    with pytest.raises(RuntimeError, match="QUANTLAB_SANDBOX_ALLOW_DEGRADED"):
        await SandboxRuntime(settings, no_bwrap).start()
    allowed = settings.model_copy(update={"sandbox_allow_degraded": True})
    runtime = SandboxRuntime(allowed, no_bwrap)
    await runtime.start()
    health = runtime.health()
    assert health["isolation"]["level"] == "degraded" and health["state"] == "cold"
    assert "namespaces" in health["isolation"]["missing"]
    await runtime.close()
