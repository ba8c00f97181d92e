"""Jobs: one persisted model, a registry of job types, a local process-pool runner and a
Celery runner, and the context API job functions use to report progress.

Domains register job types in their ``tasks.py`` (listed in
:data:`quantlab.api.composition.JOB_TYPE_MODULES`) and enqueue jobs with
:func:`quantlab.platform.jobs.service.enqueue`."""

from quantlab.platform.jobs.context import JobCancelled, JobContext, JobPaused
from quantlab.platform.jobs.registry import JobType, get_job_type, register_job_type
from quantlab.platform.jobs.status import JobStatus

__all__ = [
    "JobCancelled",
    "JobContext",
    "JobPaused",
    "JobStatus",
    "JobType",
    "get_job_type",
    "register_job_type",
]
