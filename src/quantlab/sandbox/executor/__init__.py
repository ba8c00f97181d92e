"""The code sandbox executor: user Python runs in warm, OS-isolated executor processes.

Pure Python, no web or database imports. Layers (see ``isolation.py``): a fresh
interpreter started with an allow-listed environment inside bubblewrap (all namespaces,
no capabilities, uid 65534, read-only interpreter and libraries, size-capped private
/tmp); one forked child per request with resource limits and a seccomp filter; the
wall-clock timeout enforced by SIGKILL from outside the child; JSON and ``.npy`` only.
"""

from quantlab.sandbox.executor.config import (
    ExecutionRequest,
    Limits,
    SandboxConfig,
)
from quantlab.sandbox.executor.isolation import IsolationReport, isolation_report
from quantlab.sandbox.executor.pool import ExecutorPool, PoolBusy, PoolStatus, SandboxUnavailable
from quantlab.sandbox.executor.process import Executor, ExecutorError
from quantlab.sandbox.executor.result import ExecutionResult, Outcome
from quantlab.sandbox.executor.run import (
    SandboxCodeError,
    execute,
    run_array_code,
    run_array_code_on,
)

__all__ = [
    "ExecutionRequest",
    "ExecutionResult",
    "Executor",
    "ExecutorError",
    "ExecutorPool",
    "IsolationReport",
    "Limits",
    "Outcome",
    "PoolBusy",
    "PoolStatus",
    "SandboxCodeError",
    "SandboxConfig",
    "SandboxUnavailable",
    "execute",
    "isolation_report",
    "run_array_code",
    "run_array_code_on",
]
