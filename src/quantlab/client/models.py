"""Typed views of the API's main objects (fields checked against ``/openapi.json`` in tests).

Each keeps the full JSON object in ``raw``, so fields added to the API later stay reachable
before the client learns their names.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, TypeVar

M = TypeVar("M")

TERMINAL_STATUSES = frozenset({"completed", "failed", "cancelled"})


def from_api(cls: type[M], data: dict[str, Any]) -> M:
    """Build ``cls`` from an API object, ignoring unknown fields and keeping the whole in raw."""
    names = {f.name for f in dataclasses.fields(cls) if f.name != "raw"}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in data.items() if k in names}, raw=data)  # type: ignore[call-arg]


@dataclass
class Dataset:
    """A dataset (``GET /api/datasets/{id}``)."""

    id: str
    name: str
    status: str | None = None
    source: str | None = None
    frequency: str | None = None
    latest_version: int | None = None
    is_public: bool = False
    tags: list[str] = field(default_factory=list)
    description: str | None = None
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Job:
    """A job (``GET /api/tasks/{id}``)."""

    id: str
    type: str
    status: str
    progress: float = 0.0
    stage: str | None = None
    message: str | None = None
    eta_seconds: float | None = None
    error: dict[str, Any] | None = None
    result: Any = None
    created_at: str | None = None
    finished_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def done(self) -> bool:
        """Whether the job has finished (completed, failed or cancelled)."""
        return self.status in TERMINAL_STATUSES


@dataclass
class JobLog:
    """One line of a job's log."""

    id: int
    ts: str
    level: str
    message: str
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class Backtest:
    """A backtest run with its metrics (``GET /api/backtests/{id}``)."""

    id: str
    name: str | None = None
    status: str | None = None
    dataset_id: str | None = None
    dataset_version: int | None = None
    job_id: str | None = None
    strategy_kind: str | None = None
    incomplete: bool = False
    final_equity: float | None = None
    metrics: dict[str, Any] | None = None
    error: Any = None
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)


@dataclass
class FactorEvaluation:
    """A factor evaluation (``GET /api/factors/evaluations/{id}``) with its result."""

    id: str
    status: str | None = None
    dataset_id: str | None = None
    dataset_version: int | None = None
    expression: str | None = None
    factor_id: str | None = None
    feature_set: str | None = None
    job_id: str | None = None
    summary: Any = None
    result: dict[str, Any] | None = None
    error: Any = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def ic(self, rank: bool = False) -> Any:
        """Daily IC (or Rank IC) as a DataFrame: one row per date, one column per horizon."""
        from quantlab.client import frames

        return frames.ic_frame(self.result or {}, "rank_ic" if rank else "ic")

    def ic_summary(self, rank: bool = False) -> Any:
        """Mean, std, IR, t-stat per horizon as a DataFrame indexed by horizon."""
        from quantlab.client import frames

        return frames.ic_summary(self.result or {}, "rank_ic_summary" if rank else "ic_summary")


@dataclass(frozen=True)
class Submitted:
    """What starting a job returns: the job and the resource it produces."""

    kind: str  # "backtest", "evaluation", "import" or "job"
    id: str
    job_id: str


def submitted(kind: str, data: dict[str, Any]) -> Submitted:
    """Read a 202 answer; ``id`` with a fallback to the older ``<kind>_id`` spelling."""
    resource_id = data.get("id") or data.get(f"{kind}_id") or data.get("job_id")
    return Submitted(kind=kind, id=str(resource_id), job_id=str(data["job_id"]))
