"""One warm executor shared by the sandbox tests, with a secret planted in the host env."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from quantlab.sandbox.executor import ExecutionRequest, Executor, Limits, SandboxConfig, execute
from quantlab.sandbox.executor.isolation import bwrap_works

HOST_SECRET = "host-secret-must-not-leak-7f3a"


@pytest.fixture(scope="session")
def sandbox_config() -> SandboxConfig:
    """Default config; skips when bubblewrap cannot isolate on this machine."""
    config = SandboxConfig()
    if not bwrap_works(config.bwrap_path):
        pytest.skip("bubblewrap with user namespaces is not available")
    return config


@pytest.fixture(scope="session")
def executor(sandbox_config: SandboxConfig) -> Iterator[Executor]:
    """A started executor; the API process's env holds a secret while it starts."""
    os.environ["QUANTLAB_SECRET_KEY"] = HOST_SECRET
    try:
        ex = Executor(sandbox_config)
        ex.start()
    finally:
        del os.environ["QUANTLAB_SECRET_KEY"]
    yield ex
    ex.close()


@pytest.fixture
def run(executor: Executor):
    """Run code with short limits; afterwards assert the executor still answers."""

    def _run(code: str, timeout: float = 3, memory_mb: int = 128, **kwargs):
        request = ExecutionRequest(code, Limits(timeout, memory_mb), **kwargs)
        result = execute(executor, request)
        assert executor.alive
        check = execute(executor, ExecutionRequest("print(6 * 7)"))
        assert check.success and check.stdout == "42\n"
        return result

    return _run
