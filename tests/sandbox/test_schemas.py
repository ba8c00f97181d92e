"""Validation of the fixed execute API body and the outcome → error mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from quantlab.sandbox.exceptions import error_for
from quantlab.sandbox.executor import ExecutionResult, Outcome
from quantlab.sandbox.schemas import ExecuteRequest


def test_defaults_and_bounds() -> None:
    body = ExecuteRequest(code="print(1)")
    assert (body.timeout, body.max_memory_mb, body.capture_locals) == (30, 512, False)
    ExecuteRequest(code="x", timeout=1, max_memory_mb=64)
    ExecuteRequest(code="x" * 50_000, timeout=300, max_memory_mb=2048)


@pytest.mark.parametrize(
    "body",
    [
        {"code": ""},
        {"code": "   \n\t"},
        {"code": "x" * 50_001},
        {"code": "x", "timeout": 0.5},
        {"code": "x", "timeout": 301},
        {"code": "x", "max_memory_mb": 63},
        {"code": "x", "max_memory_mb": 2049},
        {"code": "x", "globals": {"_hidden": 1}},
        {"code": "x", "locals": []},
        {"code": "x", "unknown": 1},
    ],
)
def test_invalid_bodies_are_rejected(body) -> None:
    with pytest.raises(ValidationError):
        ExecuteRequest(**body)


@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [
        (Outcome.SYNTAX_ERROR, 400, "CODE_SYNTAX_ERROR"),
        (Outcome.TIMEOUT, 408, "EXECUTION_TIMEOUT"),
        (Outcome.MEMORY_LIMIT, 507, "EXECUTION_MEMORY_LIMIT"),
        (Outcome.ERROR, 500, "EXECUTION_ERROR"),
    ],
)
def test_outcomes_map_to_statuses_with_the_full_result(outcome, status, code) -> None:
    result = ExecutionResult(outcome, False, stdout="out", error_type="E", error_message="m")
    error = error_for(result)
    assert error is not None and (error.status, error.code) == (status, code)
    assert error.details["stdout"] == "out" and error.details["error_type"] == "E"
    assert error_for(ExecutionResult(Outcome.SUCCESS, True)) is None
