"""CPU per request of the API itself, in process: load-independent figures for issue 21.

The ASGI apps are driven directly (no sockets, no HTTP parser, no client library), one
request at a time, so ``time.process_time`` over many requests is what the application
spends per request on this machine, whatever else runs on it:

- ``read``: ``GET /api/user/preferences`` with a valid access token on quantlab (production
  settings, PostgreSQL + Redis, cached), and, in the same run, on the minimal app of
  ``benchmarks/api_load.py`` (JWT + one Redis row). Their ratio bounds what the API can
  reach under wrk, where both also pay the same HTTP parsing.
- ``execute``: ``POST /api/security/execute`` of ``print(1)`` (SQLite, full isolation as in
  ``benchmarks/sandbox.py``): the API process's CPU and wall per run, beside the executor's
  own round trip measured on the same pool.

    .venv/bin/python benchmarks/api_cpu.py [--mode read|execute|both] [--n 3000] [--profile]

``--profile`` prints the top cProfile entries of the quantlab side (cumulative time).
Needs PostgreSQL and Redis for ``read`` (same variables as benchmarks/api_load.py).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib
import json
import os
import pstats
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from api_load import POSTGRES_URL, REDIS_URL, pg_execute

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = 10

App = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


async def call(
    app: App, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> tuple[int, bytes]:
    """One request through ``app`` as uvicorn would present it; (status, body)."""
    raw_headers = [(k.lower().encode(), v.encode()) for k, v in headers.items()]
    if body:
        raw_headers.append((b"content-length", str(len(body)).encode()))
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": raw_headers,
        "client": ("127.0.0.1", 40000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0
    chunks: list[bytes] = []
    done = asyncio.Event()

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await done.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                done.set()

    await app(scope, receive, send)
    return status, b"".join(chunks)


async def per_request(
    app: App,
    n: int,
    request: Callable[[int], tuple[str, str, dict[str, str], bytes]],
    profile: cProfile.Profile | None = None,
) -> tuple[float, float]:
    """(CPU, wall) seconds per request over ``n`` requests (after a warm-up)."""
    for i in range(min(200, n)):
        method, path, headers, body = request(i)
        status, text = await call(app, method, path, headers, body)
        if status != 200:
            raise SystemExit(f"{method} {path}: {status} {text[:300]!r}")
    cpu0, wall0 = time.process_time(), time.perf_counter()
    if profile is not None:
        profile.enable()
    for i in range(n):
        method, path, headers, body = request(i)
        status, _ = await call(app, method, path, headers, body)
        if status != 200:
            raise SystemExit(f"{method} {path}: {status}")
    if profile is not None:
        profile.disable()
    return (time.process_time() - cpu0) / n, (time.perf_counter() - wall0) / n


async def _signed_in(app: Any, settings: Any, count: int) -> list[str]:
    from quantlab.auth import service as auth_service
    from quantlab.auth import sessions as auth_sessions
    from quantlab.auth.tokens import TokenCodec

    codec = TokenCodec(settings)
    tokens = []
    for i in range(count):
        async with app.state.db.sessionmaker() as session:
            user = await auth_service.create_user(
                session,
                settings,
                username=f"cpu-{i:03d}",
                password=secrets.token_urlsafe(16),
                role="researcher",
            )
            tokens.append((await auth_sessions.issue_for(session, codec, user)).access_token)
    return tokens


def _report_profile(profile: cProfile.Profile, n: int) -> None:
    profile.dump_stats(Path(tempfile.gettempdir()) / "quantlab-api-cpu.prof")
    stats = pstats.Stats(profile)
    stats.sort_stats("tottime").print_stats(25)


async def bench_read(n: int, profile: bool) -> None:
    """quantlab's cached preferences read vs the minimal app, CPU per request."""
    from quantlab.api.app import create_app
    from quantlab.platform import migrate
    from quantlab.platform.settings import Settings, normalise_db_url

    run_id = uuid.uuid4().hex[:8]
    db_name = f"quantlab_cpu_{run_id}"
    secret = secrets.token_urlsafe(48)
    prefix = f"quantlab-cpu-{run_id}:"
    await pg_execute(f'CREATE DATABASE "{db_name}"')
    work = Path(tempfile.mkdtemp(prefix="quantlab-cpu-"))
    try:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            env="production",
            secret_key=secret,
            data_dir=work,
            database_url=normalise_db_url(f"{POSTGRES_URL.rsplit('/', 1)[0]}/{db_name}"),
            redis_url=REDIS_URL,
            redis_prefix=prefix,
            bootstrap_admin=False,
            seed_demo=False,
            sandbox_prewarm=False,
            log_level="INFO",
        )
        await migrate.upgrade_async(settings.db_url)
        app = create_app(settings)
        # the access log goes to stderr in production; here it goes nowhere, at the same cost
        import logging

        for handler in logging.getLogger("quantlab.access").handlers:
            handler.stream = open(os.devnull, "w")  # type: ignore[attr-defined]
        os.environ.update(
            MINIMAL_SECRET=secret,
            MINIMAL_ROW_KEY=prefix + "minimal-row",
            MINIMAL_REDIS_URL=REDIS_URL,
        )
        import redis

        client = redis.Redis.from_url(REDIS_URL)
        client.set(prefix + "minimal-row", json.dumps({"mode": "beginner", "theme": "light"}))
        sys.path.insert(0, str(ROOT / "benchmarks"))
        minimal = importlib.import_module("minimal_jwt_app")
        async with app.router.lifespan_context(app):
            tokens = await _signed_in(app, settings, 128)

            def request(i: int) -> tuple[str, str, dict[str, str], bytes]:
                auth = {"authorization": f"Bearer {tokens[i % len(tokens)]}"}
                return "GET", "/api/user/preferences", auth, b""

            prof = cProfile.Profile() if profile else None
            # alternate blocks of both apps: a burst of load elsewhere hits both alike
            q_runs, m_runs = [], []
            for _ in range(ROUNDS):
                q_runs.append(await per_request(app, n // ROUNDS, request, prof))
                m_runs.append(await per_request(minimal.app, n // ROUNDS, request))
        await minimal.redis.aclose()
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
    finally:
        await pg_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')

    q_cpu, q_wall = map(statistics.median, zip(*q_runs, strict=True))
    m_cpu, m_wall = map(statistics.median, zip(*m_runs, strict=True))
    print(
        f"GET /api/user/preferences, in process, {ROUNDS} x {n // ROUNDS} requests, one at a time"
    )
    print(
        f"  quantlab  CPU {q_cpu * 1e6:5.0f} us/request   wall {q_wall * 1e6:5.0f} us   (medians)"
    )
    print(f"  minimal   CPU {m_cpu * 1e6:5.0f} us/request   wall {m_wall * 1e6:5.0f} us")
    ratios = sorted(m[0] / q[0] for q, m in zip(q_runs, m_runs, strict=True))
    print(
        f"  CPU ratio minimal / quantlab: {statistics.median(ratios):.2f} "
        f"(median of the {ROUNDS} rounds, range {ratios[0]:.2f}-{ratios[-1]:.2f})"
    )
    if prof is not None:
        _report_profile(prof, n)


async def bench_execute(n: int, profile: bool) -> None:
    """The API's own CPU and wall per sandbox run, beside the executor's round trip."""
    from quantlab.api.app import create_app
    from quantlab.platform import migrate
    from quantlab.platform.settings import Settings
    from quantlab.sandbox.executor import ExecutionRequest, execute

    work = Path(tempfile.mkdtemp(prefix="quantlab-cpu-"))
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=work,
        bootstrap_admin=False,
        seed_demo=False,
        log_level="WARNING",
        rate_limits={"execute": "100000/minute"},
    )
    await migrate.upgrade_async(settings.db_url)
    app = create_app(settings)
    body = json.dumps({"code": "print(1)"}).encode()
    async with app.router.lifespan_context(app):
        (token,) = await _signed_in(app, settings, 1)
        pool = await app.state.sandbox.ready_pool()
        headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}

        def request(i: int) -> tuple[str, str, dict[str, str], bytes]:
            return "POST", "/api/security/execute", headers, body

        prof = cProfile.Profile() if profile else None
        api_cpu, api_wall = await per_request(app, n, request, prof)
        await app.state.sandbox_recorder.flush()

        walls = []
        cpu0 = time.process_time()
        for _ in range(n):
            t0 = time.perf_counter()
            await pool.execute(ExecutionRequest("print(1)"), "bench")
            walls.append(time.perf_counter() - t0)
        pool_cpu = (time.process_time() - cpu0) / n
        direct = []
        async with pool._lease("bench") as executor:
            for _ in range(n):
                t0 = time.perf_counter()
                execute(executor, ExecutionRequest("print(1)"))
                direct.append(time.perf_counter() - t0)

    print(f"POST /api/security/execute print(1), in process, n={n}, one at a time")
    print(f"  through the app   CPU {api_cpu * 1e3:6.2f} ms/run   wall {api_wall * 1e3:6.2f} ms")
    print(
        f"  pool.execute      CPU {pool_cpu * 1e3:6.2f} ms/run   "
        f"wall {statistics.mean(walls) * 1e3:6.2f} ms (p50 {statistics.median(walls) * 1e3:.2f})"
    )
    print(
        f"  executor alone    wall {statistics.mean(direct) * 1e3:6.2f} ms "
        f"(p50 {statistics.median(direct) * 1e3:.2f})"
    )
    if prof is not None:
        _report_profile(prof, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", choices=("read", "execute", "both"), default="both")
    parser.add_argument("--n", type=int, default=3000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")
    cpu0 = time.process_time()
    if args.mode in ("read", "both"):
        asyncio.run(bench_read(args.n, args.profile))
    if args.mode in ("execute", "both"):
        asyncio.run(bench_execute(max(50, args.n // 10), args.profile))
    print(f"CPU seconds in all {time.process_time() - cpu0:.1f}; "
          f"load average {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
