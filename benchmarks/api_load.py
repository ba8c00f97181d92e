"""Load benchmark of the accounts path: ``GET /api/user/preferences`` with valid tokens.

wrk (a separate load generator, on loopback) drives 64 connections for 30 s against
``quantlab serve --workers 2`` on PostgreSQL + Redis, and, in the same run, against a
minimal FastAPI app (2 uvicorn workers) that only verifies the JWT and reads one cached row
from Redis: the ceiling for this work on this machine. Prints requests/s, p50/p99 latency
and errors for both, and the ratio, then checks the floors of issue 3:
quantlab >= 75 % of the minimal app (issue 21), >= 1,000 requests/s, p99 < 150 ms, zero
errors.

Both servers stay up and are measured in alternating slices (quantlab, minimal, three times,
a third of the duration each), the other one's whole process tree stopped (SIGSTOP) so it
uses no CPU: this VM's speed drifts by 10-20 % from one minute to the next, and one 30 s
block per server measured that drift as much as the servers. Each server's figures sum its
slices (p50: the median of the slices', p99: the worst slice's); the ratio of each slice
pair is printed too.

    .venv/bin/python benchmarks/api_load.py [--duration 30] [--connections 64]

Needs wrk (/usr/bin/wrk), PostgreSQL (QUANTLAB_TEST_POSTGRES_URL, default
postgresql://postgres@127.0.0.1:5432/postgres) and Redis (QUANTLAB_TEST_REDIS_URL).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
POSTGRES_URL = os.environ.get(
    "QUANTLAB_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
REDIS_URL = os.environ.get("QUANTLAB_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
PATH = "/api/user/preferences"
USERS = 128  # spreads the load so the default per-user limit is not what is measured

WRK_SCRIPT = """
tokens = {}
for line in io.lines(os.getenv("BENCH_TOKENS")) do tokens[#tokens + 1] = line end
counter = 0
request = function()
  counter = counter + 1
  local t = tokens[(counter % #tokens) + 1]
  return wrk.format("GET", wrk.path, {["Authorization"] = "Bearer " .. t})
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early with {proc.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer in {timeout} s")


def settle(proc: subprocess.Popen[bytes], limit: float = 90) -> None:
    """Wait until the server's process tree is idle (start-up work such as worker pools
    or pre-warmed sandboxes finished), so that it does not compete with the measurement."""
    import psutil

    root = psutil.Process(proc.pid)
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        procs = [root, *root.children(recursive=True)]
        for p in procs:
            p.cpu_percent(None)
        time.sleep(1.0)
        busy = 0.0
        for p in procs:
            try:
                busy += p.cpu_percent(None)
            except psutil.NoSuchProcess:
                pass
        if busy < 10.0:
            return


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def parse_wrk(text: str) -> dict[str, float]:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()  # type: ignore[union-attr]
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))  # type: ignore[union-attr]
    p50 = ms(re.search(r"\s50%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    p99 = ms(re.search(r"\s99%\s+(\S+)", text).group(1))  # type: ignore[union-attr]
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", text)
    errors = int(non2xx.group(1)) if non2xx else 0
    if sock:
        errors += sum(int(g) for g in sock.groups())
    total = int(re.search(r"(\d+) requests in", text).group(1))  # type: ignore[union-attr]
    return {"rps": rps, "p50_ms": p50, "p99_ms": p99, "errors": errors, "requests": total}


def run_wrk(port: int, tokens_file: Path, duration: int, connections: int) -> dict[str, float]:
    script = tokens_file.with_suffix(".lua")
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            "/usr/bin/wrk",
            "-t2",
            f"-c{connections}",
            f"-d{duration}s",
            "--timeout",
            "5s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{PATH}",
        ],
        env={**os.environ, "BENCH_TOKENS": str(tokens_file)},
        capture_output=True,
        text=True,
        check=True,
    )
    return parse_wrk(out.stdout)


async def pg_execute(sql: str) -> None:
    """Run one statement on the benchmark's PostgreSQL server (create/drop its database)."""
    import asyncpg

    conn = await asyncpg.connect(POSTGRES_URL, timeout=5)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def prepare(settings: Any) -> list[str]:
    """Migrate, create the benchmark users and sign each in; returns their access tokens."""
    from quantlab.auth import service as auth_service
    from quantlab.auth import sessions as auth_sessions
    from quantlab.auth.tokens import TokenCodec
    from quantlab.platform import migrate
    from quantlab.platform.db import Database

    await migrate.upgrade_async(settings.db_url)
    db = Database(settings.db_url)
    codec = TokenCodec(settings)
    tokens = []
    try:
        for i in range(USERS):
            async with db.sessionmaker() as session:
                user = await auth_service.create_user(
                    session,
                    settings,
                    username=f"bench-{i:03d}",
                    password=secrets.token_urlsafe(16),
                )
                tokens.append((await auth_sessions.issue_for(session, codec, user)).access_token)
    finally:
        await db.dispose()
    return tokens


SLICES = 3


def start_quantlab(env: dict[str, str], tokens_file: Path, log: Path) -> Server:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "quantlab"), "serve", "--workers", "2", "--port", str(port), "--no-migrate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server("quantlab (PostgreSQL + Redis)", proc, port).ready("/api/health", tokens_file)


def start_minimal(env: dict[str, str], tokens_file: Path, log: Path) -> Server:
    port = free_port()
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "uvicorn",
                "minimal_jwt_app:app",
                "--app-dir",
                str(ROOT / "benchmarks"),
                "--workers",
                "2",
                "--port",
                str(port),
                "--no-access-log",
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Server("minimal FastAPI (JWT + Redis row)", proc, port).ready("/docs", tokens_file)


class Server:
    """A started server: its process tree can be paused (SIGSTOP) while the other is measured."""

    def __init__(self, name: str, proc: subprocess.Popen[bytes], port: int) -> None:
        self.name, self.proc, self.port = name, proc, port
        self.slices: list[dict[str, float]] = []

    def ready(self, health_path: str, tokens_file: Path) -> Server:
        """Wait until it answers, warm its caches and let it settle; stopped if it cannot."""
        try:
            wait_healthy(f"http://127.0.0.1:{self.port}{health_path}", self.proc)
            warm(self.port, tokens_file)
            settle(self.proc)
        except BaseException:
            stop(self.proc)
            raise
        return self

    def _signal(self, sig: signal.Signals) -> None:
        import psutil

        root = psutil.Process(self.proc.pid)
        for p in [root, *root.children(recursive=True)]:
            try:
                p.send_signal(sig)
            except psutil.NoSuchProcess:
                pass

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)

    def measure(self, tokens_file: Path, seconds: int, connections: int) -> dict[str, float]:
        """Resume, let it settle, drive it for ``seconds``, pause it again."""
        self._signal(signal.SIGCONT)
        try:
            settle(self.proc)
            result = run_wrk(self.port, tokens_file, seconds, connections)
        finally:
            self.pause()
        self.slices.append(result)
        return result

    def summary(self) -> dict[str, float]:
        """The slices together (they are equally long: requests/s is their mean)."""
        return {
            "rps": statistics.fmean(r["rps"] for r in self.slices),
            "p50_ms": statistics.median(r["p50_ms"] for r in self.slices),
            "p99_ms": max(r["p99_ms"] for r in self.slices),
            "errors": sum(r["errors"] for r in self.slices),
            "requests": sum(r["requests"] for r in self.slices),
        }

    def stop(self) -> None:
        self._signal(signal.SIGCONT)
        stop(self.proc)


def warm(port: int, tokens_file: Path) -> None:
    """One request per token (creates default preferences, fills caches), all must be 200."""
    for token in tokens_file.read_text().split():
        resp = httpx.get(
            f"http://127.0.0.1:{port}{PATH}", headers={"Authorization": f"Bearer {token}"}
        )
        if resp.status_code != 200:
            raise SystemExit(f"warm-up failed: {resp.status_code} {resp.text[:200]}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=30)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--quantlab-only", action="store_true", help="skip the minimal app (profiling runs)"
    )
    args = parser.parse_args()

    from quantlab.platform.settings import Settings, normalise_db_url

    run_id = uuid.uuid4().hex[:8]
    db_name = f"quantlab_bench_{run_id}"
    base = POSTGRES_URL.rsplit("/", 1)[0]
    work = Path(tempfile.mkdtemp(prefix="quantlab-bench-"))
    secret = secrets.token_urlsafe(48)
    env = {
        **os.environ,
        "QUANTLAB_ENV": "production",
        "QUANTLAB_SECRET_KEY": secret,
        "QUANTLAB_DATA_DIR": str(work),
        "QUANTLAB_DATABASE_URL": f"{base}/{db_name}",
        "QUANTLAB_REDIS_URL": REDIS_URL,
        "QUANTLAB_REDIS_PREFIX": f"quantlab-bench-{run_id}:",
        "QUANTLAB_BOOTSTRAP_ADMIN": "false",
        "QUANTLAB_SEED_DEMO": "false",
        # production defaults: the per-user limit (1200/minute) stays in the path
    }
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=work,
        database_url=normalise_db_url(env["QUANTLAB_DATABASE_URL"]),
        secret_key=secret,
        env="test",
    )
    asyncio.run(pg_execute(f'CREATE DATABASE "{db_name}"'))
    try:
        tokens = asyncio.run(prepare(settings))
        tokens_file = work / "tokens.txt"
        tokens_file.write_text("\n".join(tokens) + "\n")
        quantlab = start_quantlab(env, tokens_file, work / "quantlab.log")
        servers = [quantlab]
        client = None
        try:
            if args.quantlab_only:
                print(f"quantlab: {quantlab.measure(tokens_file, args.duration, args.connections)}")
                return 0
            quantlab.pause()
            import redis

            row_key = f"quantlab-bench-{run_id}:minimal-row"
            client = redis.Redis.from_url(REDIS_URL)
            client.set(row_key, json.dumps({"mode": "beginner", "theme": "light"}))
            minimal_env = {
                **env,
                "MINIMAL_SECRET": secret,
                "MINIMAL_ROW_KEY": row_key,
                "MINIMAL_REDIS_URL": REDIS_URL,
            }
            minimal = start_minimal(minimal_env, tokens_file, work / "minimal.log")
            servers.append(minimal)
            minimal.pause()
            seconds = max(1, args.duration // SLICES)
            for i in range(SLICES):
                q = quantlab.measure(tokens_file, seconds, args.connections)
                m = minimal.measure(tokens_file, seconds, args.connections)
                print(
                    f"slice {i + 1}: quantlab {q['rps']:.0f} req/s, minimal {m['rps']:.0f} req/s, "
                    f"ratio {q['rps'] / m['rps']:.2f}"
                )
        finally:
            for server in servers:
                server.stop()
            if client is not None:
                for key in client.scan_iter(match=f"quantlab-bench-{run_id}:*", count=1000):
                    client.delete(key)
    finally:
        asyncio.run(pg_execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)'))

    quantlab_figures, minimal_figures = quantlab.summary(), minimal.summary()
    ratio = quantlab_figures["rps"] / minimal_figures["rps"]
    print(
        f"GET {PATH}: wrk -t2 -c{args.connections}, {SLICES} alternating slices of {seconds} s "
        "per server, 2 workers each"
    )
    print(f"{'server':<34}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'errors':>9}{'requests':>10}")
    for name, r in (
        (quantlab.name, quantlab_figures),
        (minimal.name, minimal_figures),
    ):
        print(
            f"{name:<34}{r['rps']:>10.0f}{r['p50_ms']:>10.1f}{r['p99_ms']:>10.1f}"
            f"{r['errors']:>9.0f}{r['requests']:>10.0f}"
        )
    print(f"ratio quantlab / minimal: {ratio:.2f}")
    floors = {
        ">= 75% of minimal": ratio >= 0.75,
        ">= 1000 req/s": quantlab_figures["rps"] >= 1000,
        "p99 < 150 ms": quantlab_figures["p99_ms"] < 150,
        "zero errors": quantlab_figures["errors"] == 0,
    }
    for name, passed in floors.items():
        print(f"  {'PASS' if passed else 'FAIL'}  {name}")
    return 0 if all(floors.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
