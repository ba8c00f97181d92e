"""Sandbox latency: cold start and warm per-request p50/p99 with full isolation.

``--mode http`` (default) measures what clients see: a real ``quantlab serve`` subprocess
on loopback (fresh SQLite data dir, the execute rate limit raised so it does not throttle
the loop), a signed-in keep-alive client posting to ``/api/security/execute``. The warm
figures are taken once the server is fully ready (its local job workers booted, which takes
seconds of CPU after the API answers); the runs made while they boot get a line of their own.
``--mode executor`` measures the executor API underneath, without HTTP, auth and the DB.
There is no peer library to run side by side: the reference point is a fresh interpreter
importing pandas, the cost every request would pay without warm executors.

Run: .venv/bin/python benchmarks/sandbox.py [--mode http|executor] [--n 200]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from quantlab.sandbox.executor import ExecutionRequest, Executor, SandboxConfig, execute
from quantlab.sandbox.executor.isolation import isolation_report

DESCRIBE = (
    "df = pd.DataFrame(np.random.default_rng(0).normal(size=(500, 4)), columns=list('abcd'))\n"
    "print(df.describe())"
)


def percentiles(samples: list[float]) -> str:
    ms = np.array(samples) * 1000
    return f"p50 {np.percentile(ms, 50):7.2f} ms   p99 {np.percentile(ms, 99):7.2f} ms"


def job_workers_ready(client: Any) -> str:
    """``ready/workers`` of the server's local job pool, from ``/api/ready``."""
    body = client.get("/api/ready").json()
    checks = body["data"]["checks"] if "data" in body else body["error"]["details"]["checks"]
    jobs = checks["jobs"]
    return f"{jobs.get('ready', '?')}/{jobs.get('workers', '?')}"


def workers_all_ready(client: Any) -> bool:
    """Whether every local job worker has finished booting (true when the server reports
    no local pool: nothing boots)."""
    ready, _, workers = job_workers_ready(client).partition("/")
    return ready == workers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def bench_http(n: int) -> None:
    import httpx

    data_dir = Path(tempfile.mkdtemp(prefix="quantlab-bench-"))
    port = free_port()
    env = {
        **os.environ,
        "QUANTLAB_DATA_DIR": str(data_dir),
        "QUANTLAB_PORT": str(port),
        "QUANTLAB_LOG_LEVEL": "WARNING",
        "QUANTLAB_SEED_DEMO": "false",
        "QUANTLAB_RATE_LIMITS": json.dumps({"execute": "100000/minute"}),
    }
    quantlab = Path(sys.executable).with_name("quantlab")
    started = time.perf_counter()
    server = subprocess.Popen(
        [str(quantlab), "serve"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    base = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=base, timeout=120) as client:
            while True:
                try:
                    if client.get("/api/health").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None:
                    raise SystemExit("quantlab serve exited during start-up")
                time.sleep(0.05)
            up = time.perf_counter() - started
            creds = dict(
                line.split(": ", 1)
                for line in (data_dir / "bootstrap-admin.txt").read_text().splitlines()
            )
            tokens = client.post("/api/auth/token", data=creds).json()
            token = tokens.get("data", tokens)["access_token"]
            client.headers["Authorization"] = f"Bearer {token}"

            t0 = time.perf_counter()
            first = client.post("/api/security/execute", json={"code": "print(1)"})
            cold = time.perf_counter() - t0
            assert first.status_code == 200, first.text
            isolation = client.get("/api/security/health").json()["data"]["isolation"]
            missing = ", ".join(isolation["missing"]) or "none"
            print(f"isolation: {isolation['level']} (missing: {missing})")
            print(f"cold: server answers {up * 1000:.0f} ms after launch; first execute "
                  f"{cold * 1000:.0f} ms (waits for the executors to warm)")  # fmt: skip
            # The local job workers start with the server and take seconds of CPU to
            # import numba, scipy and pandas (at niceness +10). The runs made during
            # that boot are printed on their own line; the warm figures are taken once the
            # server is fully ready, as a server that has been up for a while is.
            booting = []
            while not workers_all_ready(client) and time.perf_counter() - started < 180:
                t0 = time.perf_counter()
                client.post("/api/security/execute", json={"code": "print(1)"})
                booting.append(time.perf_counter() - t0)
            ready = time.perf_counter() - started
            print(f"server fully ready (job workers {job_workers_ready(client)}) "
                  f"{ready * 1000:.0f} ms after launch")  # fmt: skip
            if booting:
                print(f"http print(1) while the job workers boot  n={len(booting)}  "
                      f"{percentiles(booting)}")  # fmt: skip
            for label, code in (("print(1)", "print(1)"), ("pandas describe()", DESCRIBE)):
                for _ in range(10):
                    client.post("/api/security/execute", json={"code": code})
                samples = []
                for _ in range(n):
                    t0 = time.perf_counter()
                    resp = client.post("/api/security/execute", json={"code": code})
                    samples.append(time.perf_counter() - t0)
                    assert resp.status_code == 200, resp.text
                print(f"http warm {label:<18} n={n}  {percentiles(samples)}")
    finally:
        server.terminate()
        server.wait(30)


def bench_executor(n: int) -> None:
    config = SandboxConfig()

    started = time.perf_counter()
    executor = Executor(config)
    executor.start()
    spawn = time.perf_counter() - started
    first_started = time.perf_counter()
    assert execute(executor, ExecutionRequest("print(1)")).success
    first = time.perf_counter() - first_started
    report = isolation_report(config, seccomp_in_force=executor.hello["seccomp"])
    print(f"isolation: {report.level} (missing: {', '.join(report.missing) or 'none'})")
    print(f"cold: executor start {spawn * 1000:.0f} ms + first request {first * 1000:.1f} ms")

    for label, code in (("print(1)", "print(1)"), ("pandas describe()", DESCRIBE)):
        for _ in range(10):
            execute(executor, ExecutionRequest(code))
        samples = []
        for _ in range(n):
            t0 = time.perf_counter()
            result = execute(executor, ExecutionRequest(code))
            samples.append(time.perf_counter() - t0)
            assert result.success, result.traceback
        print(f"executor warm {label:<18} n={n}  {percentiles(samples)}")
    executor.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("http", "executor"), default="http")
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
    if args.mode == "http":
        bench_http(args.n)
    else:
        bench_executor(args.n)

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pandas; print(1)"], check=True,
                   capture_output=True)  # fmt: skip
    print(
        f"reference: fresh interpreter importing pandas {(time.perf_counter() - t0) * 1000:.0f} ms"
    )
    print("floors (issue 21, quiet machine): print(1) warm over HTTP p50 <= 18 ms, p99 <= 40 ms")


if __name__ == "__main__":
    main()
