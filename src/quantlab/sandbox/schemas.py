"""Request and response bodies of the fixed /api/security API."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

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
    timeout: float = Field(default=TIMEOUT_DEFAULT_S, ge=TIMEOUT_MIN_S, le=TIMEOUT_MAX_S)
    max_memory_mb: int = Field(default=MEMORY_DEFAULT_MB, ge=MEMORY_MIN_MB, le=MEMORY_MAX_MB)
    globals: dict[str, Any] | None = None
    locals: dict[str, Any] | None = None
    capture_locals: bool = False

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
