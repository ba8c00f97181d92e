"""Named strategy parameters: their schema, linked constraints and resolution into a spec.

A strategy (template or saved) is a :class:`~quantlab.engine.spec.RunSpec` body plus a list
of :class:`ParamSpec`. A parameter either feeds the spec's ``parameters`` (expressions read it
as ``{name}``) or, with ``target``, sets one field of the spec by JSON pointer
(``/strategy/top_k``, ``/execution/stop_loss_value``). :func:`resolve` validates overrides
against the schema (type, range, step, choices) and the linked constraints (``fast < slow``)
and returns the concrete values; :func:`apply` writes them into a spec body.
"""

from __future__ import annotations

import copy
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictStr,
    model_validator,
)

from quantlab.engine.spec import PARAMETER_NAME

Number = int | float
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "!=": operator.ne,
}


class Text(BaseModel):
    """A text in both interface languages."""

    model_config = ConfigDict(extra="forbid")

    zh: str = Field(min_length=1, max_length=500, alias="zh-CN")
    en: str = Field(min_length=1, max_length=500)


class ParamSpec(BaseModel):
    """One named parameter: type, default, range and step, bilingual description."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    name: str = Field(pattern=PARAMETER_NAME.pattern)
    type: Literal["int", "float"] = "int"
    default: StrictFloat
    min: StrictFloat
    max: StrictFloat
    step: StrictFloat | None = Field(None, gt=0)
    log: StrictBool = Field(False, description="searched on a log scale by the optimiser")
    target: str | None = Field(
        None,
        pattern=r"^(/[A-Za-z_][A-Za-z0-9_]*)+$",
        description="JSON pointer into the spec; unset: a {name} value of 'parameters'",
    )
    description: Text

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.min > self.max:
            raise ValueError(f"parameter {self.name}: min {self.min} exceeds max {self.max}")
        if not self.min <= self.default <= self.max:
            raise ValueError(f"parameter {self.name}: default outside [{self.min}, {self.max}]")
        if self.type == "int" and any(
            float(v) != int(v) for v in (self.default, self.min, self.max)
        ):
            raise ValueError(f"parameter {self.name}: an int parameter needs whole bounds")
        return self


class Constraint(BaseModel):
    """A linked constraint between two parameters, or a parameter and a number."""

    model_config = ConfigDict(extra="forbid")

    left: str = Field(pattern=PARAMETER_NAME.pattern)
    op: Literal["<", "<=", ">", ">=", "!="]
    right: StrictStr | StrictFloat

    def text(self) -> str:
        """``fast < slow``."""
        return f"{self.left} {self.op} {self.right}"

    def holds(self, values: Mapping[str, float]) -> bool:
        """True when the values satisfy the constraint."""
        right = values[self.right] if isinstance(self.right, str) else self.right
        return _OPS[self.op](values[self.left], right)


class ParameterProblem(ValueError):
    """Overrides that break the schema: each problem has a path, a message and a fix."""

    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("; ".join(p["message"] for p in problems))
        self.problems = problems


def check_schema(params: list[ParamSpec], constraints: list[Constraint]) -> None:
    """Refuse duplicate names and constraints that name unknown parameters or fail on the
    defaults (a template must be runnable as it is)."""
    names = [p.name for p in params]
    dupes = sorted({n for n in names if names.count(n) > 1})
    problems: list[dict[str, Any]] = []
    if dupes:
        problems.append(_problem("parameters", f"duplicate parameter names {dupes}", "rename"))
    known = set(names)
    for i, c in enumerate(constraints):
        unknown = [n for n in (c.left, c.right) if isinstance(n, str) and n not in known]
        if unknown:
            problems.append(
                _problem(f"constraints[{i}]", f"{c.text()} names unknown {unknown}", "fix names")
            )
    if problems:
        raise ParameterProblem(problems)
    resolve(params, constraints, {})


def resolve(
    params: list[ParamSpec], constraints: list[Constraint], overrides: Mapping[str, Any]
) -> dict[str, Number]:
    """The parameters' values: defaults with ``overrides`` applied, each checked.

    Raises
    ------
    ParameterProblem
        Unknown names, wrong types, values out of range or off the step grid, broken
        linked constraints; every problem at once, with a suggested value.
    """
    by_name = {p.name: p for p in params}
    problems: list[dict[str, Any]] = []
    for name in overrides:
        if name not in by_name:
            problems.append(
                _problem(
                    f"parameters.{name}",
                    f"unknown parameter {name!r}",
                    f"use one of {sorted(by_name)}",
                )
            )
    values: dict[str, Number] = {}
    for p in params:
        raw = overrides.get(p.name, p.default)
        value = _coerce(p, raw, problems)
        if value is not None:
            values[p.name] = value
    if not problems:
        for c in constraints:
            if not c.holds(values):
                problems.append(
                    _problem(
                        f"parameters.{c.left}",
                        f"constraint {c.text()} does not hold "
                        f"({c.left} = {values[c.left]}, {c.right} = "
                        f"{values[c.right] if isinstance(c.right, str) else c.right})",
                        f"choose values with {c.text()}",
                    )
                )
    if problems:
        raise ParameterProblem(problems)
    return values


def _coerce(p: ParamSpec, raw: Any, problems: list[dict[str, Any]]) -> Number | None:
    path = f"parameters.{p.name}"
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        problems.append(_problem(path, f"{p.name} must be a number", f"e.g. {p.default:g}"))
        return None
    if p.type == "int" and float(raw) != int(raw):
        problems.append(_problem(path, f"{p.name} must be a whole number", f"use {round(raw):d}"))
        return None
    if not p.min <= raw <= p.max:
        near = min(max(raw, p.min), p.max)
        problems.append(
            _problem(
                path,
                f"{p.name} = {raw:g} is outside [{p.min:g}, {p.max:g}]",
                f"use {near:g}",
            )
        )
        return None
    if p.step is not None:
        k = (raw - p.min) / p.step
        if abs(k - round(k)) > 1e-9:
            snapped = p.min + round(k) * p.step
            problems.append(
                _problem(
                    path,
                    f"{p.name} = {raw:g} is not on the step grid {p.min:g} + k x {p.step:g}",
                    f"use {snapped:g}",
                )
            )
            return None
    return int(raw) if p.type == "int" else float(raw)


def apply(body: dict[str, Any], params: list[ParamSpec], values: Mapping[str, Number]) -> dict:
    """A copy of the spec ``body`` with the values written in: targeted parameters at their
    JSON pointer, the rest into ``parameters``."""
    out = copy.deepcopy(body)
    expr_values = dict(out.get("parameters") or {})
    for p in params:
        value = values[p.name]
        if p.target is None:
            expr_values[p.name] = value
            continue
        parts = p.target[1:].split("/")
        node = out
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    out["parameters"] = expr_values
    return out


def _problem(path: str, message: str, fix: str) -> dict[str, Any]:
    return {"path": path, "message": message, "suggestion": fix}
