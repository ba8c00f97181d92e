"""Built-in job types: ``system.noop`` (trivial, for throughput) and ``system.sleep``
(checkpointable steps with progress, for pause/resume, crash and latency checks)."""

from __future__ import annotations

import ctypes
import os
import time
from typing import Any, Literal

from pydantic import BaseModel, Field

from quantlab.platform.jobs.context import JobContext
from quantlab.platform.jobs.registry import register_job_type


class NoopParams(BaseModel):
    """Parameters of ``system.noop``."""

    value: Any = None


def noop(ctx: JobContext, params: NoopParams) -> dict[str, Any]:
    """Return the given value at once."""
    return {"value": params.value}


class SleepParams(BaseModel):
    """Parameters of ``system.sleep``."""

    steps: int = Field(10, ge=1, le=100_000, description="number of chunks")
    step_seconds: float = Field(0.1, ge=0.0, le=60.0, description="wall time of each chunk")
    fail_at_step: int | None = Field(None, ge=0, description="raise an error at this step")
    crash_at_step: int | None = Field(
        None, ge=0, description="end the process abruptly at this step (not in production)"
    )
    crash_mode: Literal["exit", "segfault"] = "exit"
    log_every: int = Field(0, ge=0, description="log a line every N steps (0: never)")


def sleep(ctx: JobContext, params: SleepParams) -> dict[str, Any]:
    """Sleep in steps, reporting progress and checkpointing after each step."""
    state = ctx.load_checkpoint()
    start = int(state["step"]) if isinstance(state, dict) else 0
    resumed_from = start
    for step in range(start, params.steps):
        ctx.checkpoint({"step": step})
        if params.crash_at_step == step and ctx.attempt == 1:
            _crash(ctx, params.crash_mode)
        if params.fail_at_step == step:
            raise RuntimeError(f"failed at step {step} as asked")
        if params.step_seconds:
            time.sleep(params.step_seconds)
        if params.log_every and (step + 1) % params.log_every == 0:
            ctx.log("INFO", f"step {step + 1} of {params.steps}")
        ctx.report((step + 1) / params.steps, stage="sleeping", current=str(step + 1))
    return {"steps": params.steps, "resumed_from": resumed_from, "attempt": ctx.attempt}


def _crash(ctx: JobContext, mode: str) -> None:
    if ctx.settings.is_production:
        raise RuntimeError("crash_at_step is a diagnostic refused in production")
    if mode == "segfault":
        ctypes.string_at(0)  # reads address 0: SIGSEGV
    os._exit(70)


register_job_type(
    name="system.noop",
    params=NoopParams,
    fn=noop,
    description=noop.__doc__ or "",
    submittable=True,
)
register_job_type(
    name="system.sleep",
    params=SleepParams,
    fn=sleep,
    checkpointable=True,
    description=sleep.__doc__ or "",
    submittable=True,
)


class BusyParams(BaseModel):
    """Parameters of ``system.busy``."""

    seconds: float = Field(1.0, ge=0.0, le=3600.0)


def busy(ctx: JobContext, params: BusyParams) -> dict[str, Any]:
    """Work for a while without checkpoints: can be cancelled, cannot be paused or resumed."""
    deadline = time.monotonic() + params.seconds
    while time.monotonic() < deadline:
        ctx.check()
        time.sleep(min(0.05, max(deadline - time.monotonic(), 0.0)))
    return {"seconds": params.seconds}


register_job_type(
    name="system.busy",
    params=BusyParams,
    fn=busy,
    description=busy.__doc__ or "",
    submittable=True,
)
