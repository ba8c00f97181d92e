"""Turn the zygote's raw reply into an ExecutionResult, treating the child's part as untrusted."""

from __future__ import annotations

import json
import signal
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from quantlab.sandbox.executor.process import RawReply

EXIT_OUT_OF_MEMORY = 71  # mirrors inside/child.py
_MAX_TEXT = 10_000


class Outcome(StrEnum):
    """How a run ended; the service maps these to HTTP statuses."""

    SUCCESS = "success"
    SYNTAX_ERROR = "syntax_error"
    TIMEOUT = "timeout"
    MEMORY_LIMIT = "memory_limit"
    ERROR = "error"


@dataclass(frozen=True)
class ExecutionResult:
    """Everything a client sees about one run.

    ``execution_time`` is wall-clock seconds of the child; ``memory_used_mb`` is its peak
    resident memory above an idle child's, in MiB.
    """

    outcome: Outcome
    success: bool
    stdout: str = ""
    stderr: str = ""
    stdout_truncated: bool = False
    stderr_truncated: bool = False
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None
    execution_time: float = 0.0
    memory_used_mb: float = 0.0
    locals_dict: dict[str, Any] | None = None
    outputs: list[dict[str, str]] = field(default_factory=list, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly form (without the internal list of array outputs)."""
        data = asdict(self)
        data.pop("outputs")
        data["outcome"] = str(self.outcome)
        return data


def _text(value: Any) -> str | None:
    return value[:_MAX_TEXT] if isinstance(value, str) else None


def _child_result(raw: RawReply, locals_cap: int) -> dict[str, Any] | None:
    """The child's result.json if it is a well-formed object, else None."""
    try:
        data = json.loads(raw.blobs.get("result", b""))
    except ValueError:
        return None
    if not isinstance(data, dict) or data.get("status") not in {
        "ok", "syntax_error", "exception", "memory",
    }:  # fmt: skip
        return None
    local_values = data.get("locals")
    if not isinstance(local_values, dict) or len(json.dumps(local_values)) > locals_cap:
        data["locals"] = None
    outputs = data.get("outputs")
    if not isinstance(outputs, list) or not all(
        isinstance(o, dict) and isinstance(o.get("name"), str) and isinstance(o.get("file"), str)
        for o in outputs
    ):
        data["outputs"] = []
    return data


def interpret(raw: RawReply, timeout: float, memory_mb: int, locals_cap: int) -> ExecutionResult:
    """Build the result of one run from the zygote's trusted facts and the child's report."""
    head = raw.header
    totals = head.get("totals", {})
    stdout_b, stderr_b = raw.blobs.get("stdout", b""), raw.blobs.get("stderr", b"")
    peak_kb = max(0, int(head.get("maxrss_kb", 0)) - raw.baseline_rss_kb)
    common: dict[str, Any] = {
        "stdout": stdout_b.decode("utf-8", "replace"),
        "stderr": stderr_b.decode("utf-8", "replace"),
        "stdout_truncated": totals.get("stdout", 0) > len(stdout_b),
        "stderr_truncated": totals.get("stderr", 0) > len(stderr_b),
        "execution_time": round(float(head.get("wall_seconds", 0.0)), 6),
        "memory_used_mb": round(peak_kb / 1024, 2),
    }
    if head.get("timed_out") or head.get("signal") == signal.SIGXCPU:
        return ExecutionResult(
            Outcome.TIMEOUT, False, error_type="TimeoutError",
            error_message=f"execution exceeded the {timeout:g} s time limit", **common,
        )  # fmt: skip
    child = _child_result(raw, locals_cap)
    if child is None:
        if head.get("exit_code") == EXIT_OUT_OF_MEMORY or peak_kb >= (memory_mb << 10) * 0.9:
            return ExecutionResult(
                Outcome.MEMORY_LIMIT, False, error_type="MemoryError",
                error_message=f"execution exceeded the {memory_mb} MB memory limit", **common,
            )  # fmt: skip
        if head.get("signal") is not None:
            name = signal.Signals(head["signal"]).name
            message = f"the process was killed by {name}"
            kind = "ProcessKilled"
        else:
            message = f"the process exited with status {head.get('exit_code')} without a result"
            kind = "ProcessExit"
        return ExecutionResult(
            Outcome.ERROR, False, error_type=kind, error_message=message, traceback="", **common
        )
    common["stdout_truncated"] |= bool(child.get("stdout_truncated"))
    common["stderr_truncated"] |= bool(child.get("stderr_truncated"))
    errors: dict[str, Any] = {
        "error_type": _text(child.get("error_type")),
        "error_message": _text(child.get("error_message")),
        "traceback": _text(child.get("traceback")),
    }
    status = child["status"]
    if status == "ok":
        return ExecutionResult(
            Outcome.SUCCESS, True, locals_dict=child.get("locals"),
            outputs=child.get("outputs", []), **common,
        )  # fmt: skip
    outcome = {
        "syntax_error": Outcome.SYNTAX_ERROR,
        "memory": Outcome.MEMORY_LIMIT,
        "exception": Outcome.ERROR,
    }[status]
    return ExecutionResult(outcome, False, **errors, **common)
