"""Element-wise operators on float32 ``(N, T)`` arrays or Python scalars.

NaN rules: arithmetic and ``Greater``/``Less`` propagate NaN; comparisons give 0/1 with
NaN comparing false (IEEE, so ``Ne`` with a NaN side is 1); logical operators treat a value
as true when it is non-zero and not NaN; division by zero and ``Log(0)`` give +-inf.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

Value = np.ndarray | float


def _truthy(x: Value) -> Value:
    if isinstance(x, np.ndarray):
        return (x != 0) & ~np.isnan(x)
    return float(x != 0 and x == x)


def _as_float(x: object) -> Value:
    if isinstance(x, np.ndarray):
        return x.astype(np.float32, copy=False)
    return float(x)  # type: ignore[arg-type]


def _cmp(fn: Callable[[Value, Value], object]) -> Callable[..., Value]:
    return lambda a, b: _as_float(fn(a, b))


ELEMENTWISE: dict[str, Callable[..., Value]] = {
    "Abs": np.abs,
    "Sign": np.sign,
    "Log": np.log,
    "Not": lambda a: _as_float(np.logical_not(_truthy(a))),
    "Power": np.power,
    "Add": np.add,
    "Sub": np.subtract,
    "Mul": np.multiply,
    "Div": np.divide,
    "Greater": np.maximum,
    "Less": np.minimum,
    "Gt": _cmp(np.greater),
    "Ge": _cmp(np.greater_equal),
    "Lt": _cmp(np.less),
    "Le": _cmp(np.less_equal),
    "Eq": _cmp(np.equal),
    "Ne": _cmp(np.not_equal),
    "And": lambda a, b: _as_float(np.logical_and(_truthy(a), _truthy(b))),
    "Or": lambda a, b: _as_float(np.logical_or(_truthy(a), _truthy(b))),
    "If": lambda c, a, b: _as_float(np.where(_truthy(c), a, b)),
}


def apply_elementwise(op: str, args: list[Value]) -> Value:
    """Apply ``op``; arrays stay float32, all-scalar inputs give a Python float."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        out = ELEMENTWISE[op](*args)
    if isinstance(out, np.ndarray) and out.ndim > 0:
        return out.astype(np.float32, copy=False)
    return float(out)
