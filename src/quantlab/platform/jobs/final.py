"""The one place that runs a job type's ``on_final`` hook after a job reached a final state,
whichever route took it there: its function ending in a worker, a crash reported by the
pool, restart recovery, or a cancel of a job that was not running."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform.jobs.models import Job
from quantlab.platform.jobs.registry import JOB_TYPES, load_job_types
from quantlab.platform.jobs.status import TERMINAL
from quantlab.platform.logging import get_logger

log = get_logger("quantlab.jobs.final")


async def run_final_hook(session: AsyncSession, job_id: str, data_dir: Path) -> None:
    """Call the type's hook for ``job_id`` if it is final, then commit. A failing hook is
    logged and rolled back; it never changes the job's own final state."""
    load_job_types()
    job = await session.get(Job, job_id, populate_existing=True)
    if job is None or job.status not in TERMINAL:
        return
    entry = JOB_TYPES.get(job.type)
    if entry is None or entry.on_final is None:
        return
    try:
        await entry.on_final(session, job, data_dir)
        await session.commit()
    except Exception as exc:
        await session.rollback()
        log.error("job_final_hook_failed", job_id=job_id, type=job.type, error=str(exc)[:300])
