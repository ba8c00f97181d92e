"""Request and response bodies of the fixed /api/security API."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from quantlab.platform.envelope import JsonInt
from quantlab.sandbox.executor.config import (
    CODE_MAX_CHARS,
    MEMORY_DEFAULT_MB,
    MEMORY_MAX_MB,
    MEMORY_MIN_MB,
    TIMEOUT_DEFAULT_S,
    TIMEOUT_MAX_S,
    TIMEOUT_MIN_S,
)


def _check_names(value: dict[str, Any] | None) -> dict[str, Any] | None:
    for key in value or {}:
        if key.startswith("_"):
            raise ValueError(f"name {key!r} must not start with '_'")
    return value


class ExecuteRequest(BaseModel):
    """Body of ``POST /api/security/execute``."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(min_length=1, max_length=CODE_MAX_CHARS)
    timeout: float = Field(
        default=TIMEOUT_DEFAULT_S, ge=TIMEOUT_MIN_S, le=TIMEOUT_MAX_S, strict=True
    )
    max_memory_mb: JsonInt = Field(default=MEMORY_DEFAULT_MB, ge=MEMORY_MIN_MB, le=MEMORY_MAX_MB)
    globals: dict[str, Any] | None = None
    locals: dict[str, Any] | None = None
    capture_locals: StrictBool = False

    @field_validator("code")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("code must not be whitespace only")
        return value

    _names = field_validator("globals", "locals")(_check_names)


class ExecuteResult(BaseModel):
    """``data`` of a run (also the ``details`` of a failed one)."""

    success: bool
    stdout: str
    stderr: str
    stdout_truncated: bool
    stderr_truncated: bool
    error_type: str | None
    error_message: str | None
    traceback: str | None
    execution_time: float = Field(description="Wall-clock seconds of the run.")
    memory_used_mb: float = Field(description="Peak resident MiB above an idle executor child.")
    locals_dict: dict[str, Any] | None


class ExecutionOut(BaseModel):
    """One run in the execution history."""

    id: str
    owner_id: str
    code_sha256: str
    code_size: int = Field(description="Characters of code submitted.")
    code_retained: bool
    code_purged_at: datetime | None
    outcome: Literal["success", "syntax_error", "timeout", "memory_limit", "error"]
    error_type: str | None
    execution_time: float = Field(description="Wall-clock seconds of the run.")
    memory_used_mb: float
    timeout: float
    max_memory_mb: int
    correlation_id: str | None
    created_at: datetime


class ExecutionDetail(ExecutionOut):
    """One run with its code (null once the retention has passed)."""

    code: str | None


class IsolationOut(BaseModel):
    """Isolation layers in force; ``level`` is ``full`` only when none is missing."""

    level: Literal["full", "degraded"]
    layers: dict[str, bool]
    missing: list[str]
    notes: list[str]


class SandboxHealth(BaseModel):
    """``data`` of ``GET /api/security/health``."""

    available: bool
    state: Literal["cold", "starting", "ready", "unavailable"]
    pool_size: int
    busy: int
    idle: int
    alive: int
    isolation: IsolationOut


class Range(BaseModel):
    """Allowed values of a request field."""

    min: float
    max: float
    default: float


class SandboxLimits(BaseModel):
    """``data`` of ``GET /api/security/limits``: what a run may ask for and what it gets."""

    timeout_seconds: Range
    max_memory_mb: Range
    code_max_chars: int
    stdout_cap_bytes: int
    stderr_cap_bytes: int
    locals_cap_bytes: int
    per_user_concurrency: int
    pool_size: int
    queue_seconds: float
    rate_limit: str = Field(description="The 'execute' group's limits, e.g. 20/minute;200/hour.")
    code_retention_days: int
