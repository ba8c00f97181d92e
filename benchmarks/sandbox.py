"""Sandbox latency: cold start and warm per-request p50/p99 with full isolation.

Measured through the executor API (``quantlab.sandbox.executor``), the layer the HTTP
endpoint calls; the HTTP router is not in the tree yet. There is no peer library to run
side by side: the reference point is a fresh interpreter importing pandas, which is the
cost every request would pay without warm executors.

Run: .venv/bin/python benchmarks/sandbox.py [--n 200]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    args = parser.parse_args()
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
        for _ in range(args.n):
            t0 = time.perf_counter()
            result = execute(executor, ExecutionRequest(code))
            samples.append(time.perf_counter() - t0)
            assert result.success, result.traceback
        print(f"warm {label:<18} n={args.n}  {percentiles(samples)}")
    executor.close()

    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import pandas; print(1)"], check=True,
                   capture_output=True)  # fmt: skip
    print(
        f"reference: fresh interpreter importing pandas {(time.perf_counter() - t0) * 1000:.0f} ms"
    )
    print("floors: print(1) warm p50 < 25 ms, p99 < 60 ms")


if __name__ == "__main__":
    main()
