"""A study's engine objects, rebuilt from its stored row: the run spec, the parameter schema
(which says where each value goes), the space, the goal, and the trial sequence.

Grid and random studies are deterministic sequences: trial ``n`` is the ``n``-th feasible
grid point (row-major) or the ``n``-th seeded random draw, so any job can run any range of
trial numbers without coordination and a re-run of a range gives the same trials.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from quantlab.engine.library import Constraint, ParamSpec
from quantlab.engine.optimise import Goal, Space, space_from_params
from quantlab.engine.optimise.space import Point
from quantlab.engine.spec import RunSpec

TPE_METHODS = ("tpe", "multi_objective")


@dataclass(frozen=True)
class Plan:
    """What a study runs."""

    spec: RunSpec
    params: list[ParamSpec]
    space: Space
    goal: Goal
    method: str
    n_trials: int
    seed: int

    def points(self, first: int = 0, count: int | None = None) -> Iterator[Point]:
        """Trials ``first`` .. ``first + count - 1`` of a grid or random study, lazily."""
        if self.method == "grid":
            seq: Iterator[Point] = self.space.grid()
        else:
            seq = self.space.sample(self.n_trials, self.seed)
        stop = None if count is None else first + count
        return itertools.islice(seq, first, stop)


def build(
    spec: dict[str, Any],
    param_schema: list[dict[str, Any]],
    space: dict[str, Any],
    objectives: list[Any],
    constraints: list[dict[str, Any]],
    method: str,
    n_trials: int,
    seed: int,
) -> Plan:
    """The plan of stored study fields (raises ``SpaceError`` / ``ObjectiveError``)."""
    params = [ParamSpec.model_validate(p) for p in param_schema]
    linked = [Constraint.model_validate(c) for c in space.get("linked", [])]
    built = space_from_params(params, linked, space["ranges"])
    goal = Goal.parse(objectives, constraints)
    return Plan(RunSpec.from_stored(spec), params, built, goal, method, n_trials, seed)


def plan_of(study: Any) -> Plan:
    """The plan of a :class:`~quantlab.studies.models.Study` row."""
    return build(
        study.spec, study.param_schema, study.space, study.objectives, study.constraints,
        study.method, study.n_trials, study.seed,
    )  # fmt: skip
