"""Request and response bodies of /api/tasks."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any
from zoneinfo import available_timezones

from pydantic import BaseModel, Field, JsonValue, RootModel, StrictBool, WithJsonSchema

from quantlab.platform.envelope import JsonInt, Priority
from quantlab.platform.jobs.status import JobStatus


def _job_type_enum(schema: dict[str, Any]) -> None:
    # read when the document is built, after every domain registered its job types
    from quantlab.platform.jobs.registry import load_job_types

    schema["enum"] = sorted(load_job_types())


TimeZone = Annotated[
    str,
    Field(max_length=64, examples=["Asia/Shanghai"]),
    WithJsonSchema({"type": "string", "enum": sorted(available_timezones())}),
]
"""An IANA time zone name (the server checks it with ``zoneinfo``)."""
CRON = r"^\S+( \S+){4,5}$"


class JobCreate(BaseModel):
    """Enqueue a job of a registered type."""

    type: str = Field(
        ...,
        min_length=1,
        max_length=100,
        examples=["system.sleep"],
        json_schema_extra=_job_type_enum,
    )
    params: dict[str, Any] = Field(default_factory=dict)
    priority: JsonInt = Field(1, ge=0, le=3, description="0 lowest … 3 highest")


class JobError(BaseModel):
    code: str | None
    message: str | None


class JobOut(BaseModel):
    """A job's state."""

    id: str
    type: str
    owner_id: str
    params: dict[str, Any]
    priority: int
    status: JobStatus
    progress: float
    percentage: float
    stage: str | None
    message: str | None
    current: str | None
    eta_seconds: float | None
    metrics: dict[str, Any] | None
    attempts: int
    error: JobError | None
    result: Any
    result_ref: str | None
    has_checkpoint: bool
    requested: str | None = Field(None, description="a pending pause or cancel request")
    schedule_id: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    updated_at: datetime


class JobTypeOut(BaseModel):
    name: str
    description: str
    checkpointable: bool
    submittable: bool
    params_schema: dict[str, Any]


class JobStats(BaseModel):
    total: int
    by_status: dict[str, int]
    by_type: dict[str, int]


class JobLogOut(BaseModel):
    id: int
    ts: datetime
    level: str
    message: str


class WsTicketOut(BaseModel):
    ticket: str
    expires_at: datetime
    url: str


class ScheduleCreate(BaseModel):
    """A recurring job: ``cron`` (5 fields, or 6 with seconds) in ``timezone``."""

    name: str = Field(..., min_length=1, max_length=200)
    job_type: str = Field(..., min_length=1, max_length=100, json_schema_extra=_job_type_enum)
    params: dict[str, Any] = Field(default_factory=dict)
    priority: JsonInt = Field(1, ge=0, le=3)
    cron: str = Field(..., max_length=120, pattern=CRON, examples=["0 2 * * 1-5"])
    timezone: TimeZone = "UTC"
    enabled: StrictBool = True


class ScheduleUpdate(BaseModel):
    name: str | None = Field(None, min_length=1, max_length=200)
    params: dict[str, Any] | None = None
    priority: Priority | None = None
    cron: str | None = Field(None, max_length=120, pattern=CRON)
    timezone: TimeZone | None = None
    enabled: StrictBool | None = None


class ScheduleOut(BaseModel):
    id: str
    owner_id: str
    name: str
    job_type: str
    params: dict[str, Any]
    priority: int
    cron: str
    timezone: str
    enabled: bool
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_job_id: str | None
    created_at: datetime
    updated_at: datetime


class JobResult(RootModel[JsonValue]):
    """The job type's own JSON result; each domain serves a typed view of its jobs' results."""
