"""Job statuses and the one table of allowed transitions.

``pending → running → (paused → pending → running) → completed | failed | cancelled``.
Resume goes back through ``pending`` so the dispatcher's limits and priority order apply
to resumed jobs too, and any worker may continue from the checkpoint.
"""

from __future__ import annotations

from enum import StrEnum

from quantlab.platform.errors import Conflict


class JobStatus(StrEnum):
    """Where a job is in its life."""

    PENDING = "pending"
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.CANCELLED})

TRANSITIONS: dict[JobStatus, frozenset[JobStatus]] = {
    JobStatus.PENDING: frozenset(
        {JobStatus.RUNNING, JobStatus.PAUSED, JobStatus.CANCELLED, JobStatus.FAILED}
    ),
    # running → pending: requeued after its worker died (resume from checkpoint)
    JobStatus.RUNNING: frozenset(
        {
            JobStatus.PAUSED,
            JobStatus.COMPLETED,
            JobStatus.FAILED,
            JobStatus.CANCELLED,
            JobStatus.PENDING,
        }
    ),
    JobStatus.PAUSED: frozenset({JobStatus.PENDING, JobStatus.CANCELLED}),
    JobStatus.FAILED: frozenset({JobStatus.PENDING}),  # retry
    JobStatus.CANCELLED: frozenset({JobStatus.PENDING}),  # retry
    JobStatus.COMPLETED: frozenset(),
}


class IllegalTransition(Conflict):
    code = "JOB_ILLEGAL_TRANSITION"
    status = 409
    description = "The job's current status does not allow this action."


def can_transition(source: str, target: str) -> bool:
    """Whether ``source → target`` is an allowed status change."""
    return JobStatus(target) in TRANSITIONS[JobStatus(source)]


def sources_for(target: JobStatus) -> tuple[str, ...]:
    """Every status from which ``target`` may be entered (for guarded ``UPDATE … WHERE``)."""
    return tuple(s.value for s, targets in TRANSITIONS.items() if target in targets)


def require_transition(source: str, target: str, action: str) -> None:
    """Raise :class:`IllegalTransition` (409) unless ``source → target`` is allowed."""
    if not can_transition(source, target):
        raise IllegalTransition(
            f"cannot {action} a job that is {source}",
            details={"status": source, "action": action},
        )
