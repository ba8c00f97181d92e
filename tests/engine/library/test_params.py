"""Named parameters: resolution against the schema and linked constraints, hand cases."""

from __future__ import annotations

import pytest

from quantlab.engine.library import (
    Constraint,
    ParameterProblem,
    ParamSpec,
    Text,
    apply,
    check_schema,
    resolve,
)

TEXT = Text.model_validate({"zh-CN": "窗口", "en": "window"})
FAST = ParamSpec(name="fast", default=10, min=2, max=60, step=1, description=TEXT)
SLOW = ParamSpec(name="slow", default=30, min=5, max=250, step=1, description=TEXT)
STOP = ParamSpec(
    name="stop",
    type="float",
    default=0.08,
    min=0.01,
    max=0.5,
    step=0.01,
    target="/execution/stop_loss_value",
    description=TEXT,
)
LT = [Constraint(left="fast", op="<", right="slow")]


def problems(overrides: dict) -> list[dict]:
    with pytest.raises(ParameterProblem) as err:
        resolve([FAST, SLOW, STOP], LT, overrides)
    return err.value.problems


def test_defaults_and_overrides() -> None:
    assert resolve([FAST, SLOW, STOP], LT, {}) == {"fast": 10, "slow": 30, "stop": 0.08}
    values = resolve([FAST, SLOW, STOP], LT, {"fast": 5, "slow": 20.0, "stop": 0.1})
    assert values == {"fast": 5, "slow": 20, "stop": 0.1}
    assert isinstance(values["slow"], int)


def test_each_problem_has_a_path_and_a_fix() -> None:
    (p,) = problems({"fast": 30, "slow": 20})
    assert p["path"] == "parameters.fast"
    assert "fast < slow" in p["message"] and "fast < slow" in p["suggestion"]
    (p,) = problems({"fast": 61})
    assert p["message"] == "fast = 61 is outside [2, 60]" and p["suggestion"] == "use 60"
    (p,) = problems({"fast": 5.5})
    assert "whole number" in p["message"] and p["suggestion"] == "use 6"
    (p,) = problems({"stop": 0.105})
    assert "step grid" in p["message"] and p["suggestion"] == "use 0.11"
    (p,) = problems({"speed": 3})
    assert p["path"] == "parameters.speed" and "unknown parameter" in p["message"]
    assert len(problems({"fast": True, "slow": "x"})) == 2  # booleans are not numbers


def test_apply_writes_expression_values_and_targets() -> None:
    body = {"strategy": {"kind": "signals", "entry": "Mean($close, {fast})"}, "parameters": {}}
    out = apply(body, [FAST, SLOW, STOP], {"fast": 5, "slow": 20, "stop": 0.1})
    assert out["parameters"] == {"fast": 5, "slow": 20}
    assert out["execution"] == {"stop_loss_value": 0.1}
    assert body["parameters"] == {}  # the input is not modified


def test_schema_checks() -> None:
    with pytest.raises(ParameterProblem, match="duplicate"):
        check_schema([FAST, FAST], [])
    with pytest.raises(ParameterProblem, match="unknown"):
        check_schema([FAST], LT)
    bad_default = ParamSpec(name="slow", default=5, min=5, max=250, step=1, description=TEXT)
    with pytest.raises(ParameterProblem, match="does not hold"):
        check_schema([FAST, bad_default], LT)
    with pytest.raises(ValueError, match="min"):
        ParamSpec(name="x", default=1, min=3, max=2, description=TEXT)
