"""Sandbox errors in the platform catalog, and the mapping from a run's outcome to them.

User-caused outcomes (syntax error, timeout, memory limit, an exception in the code) get
their own codes so logs and metrics keep them apart from real server faults.
"""

from __future__ import annotations

from typing import Any

from quantlab.platform.errors import NotFound, QuantlabError, RateLimited, ServiceUnavailable
from quantlab.sandbox.executor import ExecutionResult, Outcome


class CodeSyntaxError(QuantlabError):
    code = "CODE_SYNTAX_ERROR"
    status = 400
    description = "The submitted code does not compile."


class ExecutionTimeout(QuantlabError):
    code = "EXECUTION_TIMEOUT"
    status = 408
    description = "The code ran past its time limit and was killed."


class ExecutionMemoryLimit(QuantlabError):
    code = "EXECUTION_MEMORY_LIMIT"
    status = 507
    description = "The code exceeded its memory limit."
    server_fault = False


class ExecutionError(QuantlabError):
    code = "EXECUTION_ERROR"
    status = 500
    description = "The submitted code raised an exception; details hold its output."
    server_fault = False


class SandboxBusy(ServiceUnavailable):
    code = "SANDBOX_BUSY"
    description = "Every executor is busy; retry after the Retry-After delay."
    server_fault = False


class SandboxConcurrencyLimit(RateLimited):
    code = "SANDBOX_CONCURRENCY_LIMIT"
    description = "You already have the maximum number of runs in progress."


class SandboxUnavailableError(ServiceUnavailable):
    code = "SANDBOX_UNAVAILABLE"
    description = "The code sandbox is not available (isolation refused or executor lost)."


class ExecutionNotFound(NotFound):
    code = "EXECUTION_NOT_FOUND"
    description = "The sandbox execution does not exist or is not visible to you."


_BY_OUTCOME: dict[Outcome, type[QuantlabError]] = {
    Outcome.SYNTAX_ERROR: CodeSyntaxError,
    Outcome.TIMEOUT: ExecutionTimeout,
    Outcome.MEMORY_LIMIT: ExecutionMemoryLimit,
    Outcome.ERROR: ExecutionError,
}


def error_for(result: ExecutionResult) -> QuantlabError | None:
    """The error to raise for a failed run (full result in ``details``); None on success."""
    if result.outcome is Outcome.SUCCESS:
        return None
    details: dict[str, Any] = result.as_dict()
    message = f"{result.error_type}: {result.error_message}" if result.error_type else None
    return _BY_OUTCOME[result.outcome](message, details=details)
