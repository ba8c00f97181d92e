"""Run one job in the current worker process: claim it, call its function, record the end.

Shared by the local pool and Celery workers; both hand over only the job id."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

from quantlab.platform.errors import QuantlabError
from quantlab.platform.jobs.access import check_run_access
from quantlab.platform.jobs.context import (
    EventSink,
    JobCancelled,
    JobContext,
    JobPaused,
    job_dir,
    write_atomic,
)
from quantlab.platform.jobs.redact import redact_paths
from quantlab.platform.jobs.registry import JOB_TYPES, JobType, load_job_types
from quantlab.platform.jobs.status import JobStatus
from quantlab.platform.jobs.store import WorkerStore, get_store
from quantlab.platform.settings import Settings

log = logging.getLogger("quantlab.jobs.worker")

MAX_INLINE_RESULT_BYTES = 64 * 1024


def completion_event(job_id: str, status: str, **data: Any) -> dict[str, Any]:
    """The last event of an attempt (completed, failed, cancelled or paused)."""
    return {"type": "completion", "job_id": job_id, "data": {"status": status, **data}}


def execute_job(job_id: str, settings: Settings, sink: EventSink) -> str | None:
    """Run ``job_id`` here; returns its final status, or None if another worker has it."""
    load_job_types()
    store = get_store(settings)
    job = store.claim(job_id)
    if job is None:
        return None
    job_type = JOB_TYPES.get(job["type"])
    if job["attempts"] > job["max_attempts"]:
        return _fail(
            store,
            sink,
            job_id,
            "JOB_TOO_MANY_ATTEMPTS",
            f"gave up after {job['max_attempts']} attempts",
        )
    if job_type is None:
        return _fail(
            store,
            sink,
            job_id,
            "JOB_TYPE_NOT_FOUND",
            f"job type {job['type']!r} is not registered in this worker",
        )
    ctx = JobContext(
        job=job, settings=settings, store=store, sink=sink, checkpointable=job_type.checkpointable
    )
    ctx.emit("started", {"attempt": job["attempts"], "worker": store.me})
    heartbeat = store.start_heartbeat(job_id)
    try:
        return _run(ctx, job_type, job, store, sink, settings)
    finally:
        heartbeat.cancel()


def _run(
    ctx: JobContext,
    job_type: JobType,
    job: dict[str, Any],
    store: WorkerStore,
    sink: EventSink,
    settings: Settings,
) -> str:
    job_id = job["id"]
    try:
        params = job_type.params.model_validate(job["params"] or {})
        if job_type.owned:  # rights may have changed since creation: check them as the owner
            ctx.run_db(lambda s: check_run_access(s, job_type, params, job["owner_id"]))
    except QuantlabError as exc:
        return _fail(store, sink, job_id, exc.code, exc.message, _hooked(job_type))
    try:
        result = job_type.fn(ctx, params)
    except JobPaused:
        if store.finish(job_id, JobStatus.PAUSED, final_hook=False):
            sink(completion_event(job_id, JobStatus.PAUSED.value))
        return JobStatus.PAUSED.value
    except JobCancelled:
        if store.finish(job_id, JobStatus.CANCELLED, final_hook=_hooked(job_type)):
            sink(completion_event(job_id, JobStatus.CANCELLED.value))
        return JobStatus.CANCELLED.value
    except Exception as exc:
        tail = "".join(traceback.format_exception(exc)[-3:])
        log.warning("job_failed", extra={"job_id": job_id, "error": tail})
        store.log(job_id, "ERROR", redact_paths(tail))
        message = f"{type(exc).__name__}: {exc}"[:2000]
        return _fail(store, sink, job_id, "JOB_FAILED", message, _hooked(job_type))
    return _complete(store, sink, settings, job_id, result, _hooked(job_type))


def _hooked(job_type: JobType) -> bool:
    """Whether the type has an ``on_final`` hook (else finishing skips that query)."""
    return job_type.on_final is not None


def _complete(
    store: WorkerStore,
    sink: EventSink,
    settings: Settings,
    job_id: str,
    result: Any,
    final_hook: bool = True,
) -> str:
    encoded = json.dumps(result, default=str)
    values: dict[str, Any] = {"progress": 1.0, "eta_seconds": 0.0}
    if len(encoded) > MAX_INLINE_RESULT_BYTES:
        path = job_dir(settings.data_dir, job_id) / "result.json"
        write_atomic(path, encoded.encode())
        values["result_ref"] = str(path.relative_to(settings.data_dir))
        summary: Any = {"result_ref": values["result_ref"]}
    else:
        values["result"] = json.loads(encoded)
        summary = values["result"]
    if store.finish(job_id, JobStatus.COMPLETED, final_hook=final_hook, **values):
        sink(completion_event(job_id, JobStatus.COMPLETED.value, result=summary))
    return JobStatus.COMPLETED.value


def _fail(
    store: WorkerStore,
    sink: EventSink,
    job_id: str,
    code: str,
    message: str,
    final_hook: bool = True,
) -> str:
    message = redact_paths(message)
    if store.finish(
        job_id, JobStatus.FAILED, final_hook=final_hook, error_code=code, error_message=message
    ):
        sink(
            completion_event(
                job_id, JobStatus.FAILED.value, error={"code": code, "message": message}
            )
        )
    return JobStatus.FAILED.value
