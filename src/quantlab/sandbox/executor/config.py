"""Limits and settings of the code sandbox executor (plain dataclasses, no web imports)."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import Any

TIMEOUT_MIN_S, TIMEOUT_MAX_S, TIMEOUT_DEFAULT_S = 1, 300, 30
MEMORY_MIN_MB, MEMORY_MAX_MB, MEMORY_DEFAULT_MB = 64, 2048, 512
CODE_MAX_CHARS = 50_000

# Only these variables reach the sandbox; everything else (settings, secrets, DB URLs,
# tokens) is dropped. The thread counts keep BLAS single-threaded, which the seccomp
# policy relies on (it denies new threads).
SAFE_ENV: dict[str, str] = {
    "PATH": "/usr/bin:/bin",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONIOENCODING": "utf-8",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
    "VECLIB_MAXIMUM_THREADS": "1",
}


@dataclass(frozen=True)
class Limits:
    """Per-request limits: wall-clock seconds and memory in MB above the warm baseline."""

    timeout: float = TIMEOUT_DEFAULT_S
    max_memory_mb: int = MEMORY_DEFAULT_MB

    def __post_init__(self) -> None:
        if not TIMEOUT_MIN_S <= self.timeout <= TIMEOUT_MAX_S:
            raise ValueError(f"timeout must be within [{TIMEOUT_MIN_S}, {TIMEOUT_MAX_S}] s")
        if not MEMORY_MIN_MB <= self.max_memory_mb <= MEMORY_MAX_MB:
            raise ValueError(f"max_memory_mb must be within [{MEMORY_MIN_MB}, {MEMORY_MAX_MB}]")


@dataclass(frozen=True)
class ExecutionRequest:
    """One piece of user code with its JSON inputs and limits."""

    code: str
    limits: Limits = field(default_factory=Limits)
    globals: dict[str, Any] | None = None
    locals: dict[str, Any] | None = None
    capture_locals: bool = False


@dataclass(frozen=True)
class SandboxConfig:
    """How executors are started and what they may return.

    Sizes are bytes unless the name says otherwise.
    """

    bwrap_path: str = "/usr/bin/bwrap"
    use_bwrap: bool = True
    python: str = field(default_factory=lambda: os.path.realpath(sys.executable))
    packages: tuple[str, ...] = ("numpy", "pandas", "dateutil", "pytz", "tzdata", "six")
    preload: tuple[str, ...] = ("numpy", "pandas")
    sandbox_uid: int = 65534
    sandbox_gid: int = 65534
    tmp_size_mb: int = 256
    output_cap: int = 256 * 1024
    locals_cap: int = 64 * 1024
    result_cap: int = 1 << 20
    file_cap: int = 64 << 20
    arrays_cap: int = 128 << 20
    start_timeout: float = 60.0
    grace_seconds: float = 5.0

    def limits_header(self, limits: Limits) -> dict[str, Any]:
        """The limits block sent to the zygote with each request."""
        return {
            "timeout": limits.timeout,
            "memory_mb": limits.max_memory_mb,
            "cpu_seconds": int(limits.timeout) + 2,
            "output_cap": self.output_cap,
            "locals_cap": self.locals_cap,
            "result_cap": self.result_cap,
            "file_cap": self.file_cap,
            "arrays_cap": self.arrays_cap,
        }
