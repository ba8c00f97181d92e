"""Synchronous entry points: run one request on an executor, and the array API."""

from __future__ import annotations

import atexit
import io
import threading
from collections.abc import Mapping, Sequence

import numpy as np

from quantlab.sandbox.executor.config import ExecutionRequest, Limits, SandboxConfig
from quantlab.sandbox.executor.process import Executor
from quantlab.sandbox.executor.result import ExecutionResult, Outcome, interpret


class SandboxCodeError(Exception):
    """User code submitted through the array API did not succeed; ``result`` says why."""

    def __init__(self, result: ExecutionResult) -> None:
        super().__init__(f"{result.outcome}: {result.error_type}: {result.error_message}")
        self.result = result


def execute(executor: Executor, request: ExecutionRequest) -> ExecutionResult:
    """Run ``request`` on a started executor and interpret the reply."""
    config = executor.config
    raw = executor.run(_exec_payload(request), config.limits_header(request.limits), {})
    return interpret(raw, request.limits.timeout, request.limits.max_memory_mb, config.locals_cap)


async def execute_async(executor: Executor, request: ExecutionRequest) -> ExecutionResult:
    """``execute`` awaited on the running event loop (see ``Executor.run_async``)."""
    config = executor.config
    raw = await executor.run_async(_exec_payload(request), config.limits_header(request.limits), {})
    return interpret(raw, request.limits.timeout, request.limits.max_memory_mb, config.locals_cap)


def _exec_payload(request: ExecutionRequest) -> dict[str, object]:
    return {
        "mode": "exec",
        "code": request.code,
        "globals": request.globals,
        "locals": request.locals,
        "capture_locals": request.capture_locals,
    }


def _check_name(name: str) -> None:
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"array name {name!r} must be an identifier not starting with '_'")


def _to_npy(array: np.ndarray) -> bytes:
    if not isinstance(array, np.ndarray) or array.dtype.kind not in "biufcmM":
        raise TypeError("inputs must be numeric, boolean or datetime numpy arrays")
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=False)
    return buffer.getvalue()


def run_array_code_on(
    executor: Executor,
    code: str,
    inputs: Mapping[str, np.ndarray],
    limits: Limits | None = None,
    outputs: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """Run ``code`` with ``inputs`` bound to names; return the named output arrays.

    Arrays cross as ``.npy`` files in the sandbox's private /tmp, never pickled. With
    ``outputs=None`` every new top-level ndarray is returned. Raises SandboxCodeError
    (with the full result) when the code fails, times out or runs out of memory.
    """
    limits = limits or Limits()
    blobs: dict[str, bytes] = {}
    names = []
    for index, (name, array) in enumerate(inputs.items()):
        _check_name(name)
        blobs[f"in/in_{index}.npy"] = _to_npy(array)
        names.append({"name": name, "file": f"in_{index}.npy"})
    for name in outputs or ():
        _check_name(name)
    payload = {
        "mode": "arrays",
        "code": code,
        "inputs": names,
        "outputs": list(outputs) if outputs is not None else None,
    }
    config = executor.config
    raw = executor.run(payload, config.limits_header(limits), blobs)
    result = interpret(raw, limits.timeout, limits.max_memory_mb, config.locals_cap)
    if result.outcome is not Outcome.SUCCESS:
        raise SandboxCodeError(result)
    arrays: dict[str, np.ndarray] = {}
    for item in result.outputs:
        data = raw.blobs.get(item["file"])
        if data is None:
            raise SandboxCodeError(
                ExecutionResult(Outcome.ERROR, False, error_type="OutputTooLarge",
                                error_message="output arrays exceed the transfer cap")
            )  # fmt: skip
        arrays[item["name"]] = np.load(io.BytesIO(data), allow_pickle=False)
    return arrays


_shared_lock = threading.Lock()
_shared: Executor | None = None


def run_array_code(
    code: str,
    inputs: Mapping[str, np.ndarray],
    limits: Limits | None = None,
    outputs: Sequence[str] | None = None,
) -> dict[str, np.ndarray]:
    """``run_array_code_on`` with a process-wide executor, started on first use.

    Calls are serialised on that one executor; services that need parallelism should use
    an ExecutorPool instead.
    """
    global _shared
    with _shared_lock:
        if _shared is None or not _shared.alive:
            if _shared is not None:
                _shared.close()
            _shared = Executor(SandboxConfig())
            _shared.start()
            atexit.register(_shared.close)
        return run_array_code_on(_shared, code, inputs, limits, outputs)
