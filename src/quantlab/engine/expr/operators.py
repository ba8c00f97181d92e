"""The operator registry: every name the expression language knows, for parsing and listing.

Kinds
-----
``elementwise``      day by day, per instrument (``Add``, ``Log``, ``If`` ...)
``rolling``          a trailing window over one input (``Mean($close, 5)``); window 0
                     means expanding from the instrument's first day, as in Qlib
``pair_rolling``     a trailing window over two inputs (``Corr``, ``Cov``)
``cross_sectional``  across the instruments that exist on a day (``CSRank`` ...);
                     ``Neutralize(x, group, size)`` is the residual of that day's OLS
                     of ``x`` on dummies of ``group`` (e.g. an industry code) and on
                     ``size`` (e.g. ``Log($market_cap)``); pass 0 for either to leave it
                     out (a constant adds nothing beyond the intercept)
``signal``           two-day patterns (``Cross``, ``CrossDown``)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

OpKind = Literal["elementwise", "rolling", "pair_rolling", "cross_sectional", "signal"]

#: How a literal parameter is checked:
#: ``window``   integer >= 0 (0 = expanding);
#: ``offset``   any integer (Ref: > 0 past, 0 = first day of life, < 0 future);
#: ``lag``      integer >= 0 (Delta; 0 = change since the first day of life);
#: ``quantile`` number in [0, 1];
#: ``span``     EMA: integer >= 0 (span; 0 = Qlib's expanding EMA) or 0 < alpha < 1.
ParamKind = Literal["window", "offset", "lag", "quantile", "span"]


@dataclass(frozen=True, slots=True)
class OpSpec:
    """One operator: its name, inputs, literal parameters, kind and a one-line description."""

    name: str
    inputs: int
    params: tuple[ParamKind, ...]
    kind: OpKind
    description: str
    commutative: bool = False
    min_window: int = 1

    @property
    def arity(self) -> int:
        """Number of arguments written in a call (inputs plus parameters)."""
        return self.inputs + len(self.params)

    def signature(self) -> str:
        """``Mean(x, window)``-style text for error messages and listings."""
        names = ["x", "y", "z"][: self.inputs] if self.inputs <= 3 else []
        if self.name == "If":
            names = ["cond", "x", "y"]
        if self.name == "Neutralize":
            names = ["x", "group", "size"]
        return f"{self.name}({', '.join(names + list(self.params))})"


def _specs() -> list[OpSpec]:
    e: OpKind = "elementwise"
    r: OpKind = "rolling"
    specs = [
        OpSpec("Abs", 1, (), e, "absolute value"),
        OpSpec("Sign", 1, (), e, "sign: -1, 0 or 1 (NaN stays NaN)"),
        OpSpec("Log", 1, (), e, "natural log; Log(0) = -inf, negative -> NaN"),
        OpSpec("Not", 1, (), e, "1 where x is 0 or NaN, else 0"),
        OpSpec("Power", 2, (), e, "x to the power y"),
        OpSpec("Add", 2, (), e, "x + y", commutative=True),
        OpSpec("Sub", 2, (), e, "x - y"),
        OpSpec("Mul", 2, (), e, "x * y", commutative=True),
        OpSpec("Div", 2, (), e, "x / y; division by zero gives +-inf (0/0 NaN)"),
        OpSpec("Greater", 2, (), e, "element-wise maximum; NaN propagates", commutative=True),
        OpSpec("Less", 2, (), e, "element-wise minimum; NaN propagates", commutative=True),
        OpSpec("Gt", 2, (), e, "1 if x > y else 0 (NaN compares false)"),
        OpSpec("Ge", 2, (), e, "1 if x >= y else 0 (NaN compares false)"),
        OpSpec("Lt", 2, (), e, "1 if x < y else 0 (NaN compares false)"),
        OpSpec("Le", 2, (), e, "1 if x <= y else 0 (NaN compares false)"),
        OpSpec("Eq", 2, (), e, "1 if x == y else 0 (NaN compares false)", commutative=True),
        OpSpec("Ne", 2, (), e, "1 if x != y else 0 (IEEE: NaN != y is 1)", commutative=True),
        OpSpec("And", 2, (), e, "1 if both are non-zero and not NaN", commutative=True),
        OpSpec("Or", 2, (), e, "1 if either is non-zero and not NaN", commutative=True),
        OpSpec("If", 3, (), e, "y where cond is non-zero and not NaN, else z"),
        OpSpec("Ref", 1, ("offset",), r, "value N days ago; N = 0 the first day; N < 0 future"),
        OpSpec("Mean", 1, ("window",), r, "rolling mean of the valid values"),
        OpSpec("Sum", 1, ("window",), r, "rolling sum of the valid values"),
        OpSpec("Std", 1, ("window",), r, "rolling sample std (ddof 1, needs 2 values)"),
        OpSpec("Var", 1, ("window",), r, "rolling sample variance (ddof 1, needs 2 values)"),
        OpSpec("Skew", 1, ("window",), r, "rolling sample skewness (needs 3)", min_window=3),
        OpSpec("Kurt", 1, ("window",), r, "rolling excess kurtosis (needs 4)", min_window=5),
        OpSpec("Max", 1, ("window",), r, "rolling maximum"),
        OpSpec("Min", 1, ("window",), r, "rolling minimum"),
        OpSpec("IdxMax", 1, ("window",), r, "1-based position of the max from window start"),
        OpSpec("IdxMin", 1, ("window",), r, "1-based position of the min from window start"),
        OpSpec("Quantile", 1, ("window", "quantile"), r, "rolling quantile, linear"),
        OpSpec("Med", 1, ("window",), r, "rolling median"),
        OpSpec("Mad", 1, ("window",), r, "rolling mean absolute deviation from the mean"),
        OpSpec("Rank", 1, ("window",), r, "percentile of today within the window, ties averaged"),
        OpSpec("Count", 1, ("window",), r, "number of valid values in the window"),
        OpSpec("Delta", 1, ("lag",), r, "x minus x N days ago"),
        OpSpec("Slope", 1, ("window",), r, "OLS slope of x on day position"),
        OpSpec("Rsquare", 1, ("window",), r, "R^2 of x on day position (NaN if flat)"),
        OpSpec("Resi", 1, ("window",), r, "today's residual of x on day position"),
        OpSpec("WMA", 1, ("window",), r, "linearly weighted mean, newest weighs most"),
        OpSpec("EMA", 1, ("span",), r, "exponential mean: span N (alpha 2/(N+1)) or alpha"),
        OpSpec("Corr", 2, ("window",), "pair_rolling", "rolling Pearson correlation"),
        OpSpec("Cov", 2, ("window",), "pair_rolling", "rolling sample covariance (ddof 1)"),
        OpSpec("CSRank", 1, (), "cross_sectional", "percentile rank across instruments"),
        OpSpec("CSZScore", 1, (), "cross_sectional", "(x - mean) / std across instruments"),
        OpSpec("CSDemean", 1, (), "cross_sectional", "x - mean across instruments"),
        OpSpec(
            "Neutralize",
            3,
            (),
            "cross_sectional",
            "residual of a daily OLS of x on group dummies and size: "
            "Neutralize(x, $industry, Log($mcap)); 0 for either drops it",
        ),
        OpSpec("Cross", 2, (), "signal", "1 where x > y today and x <= y the day before"),
        OpSpec("CrossDown", 2, (), "signal", "1 where x < y today and x >= y the day before"),
    ]
    return specs


OPERATORS: dict[str, OpSpec] = {s.name: s for s in _specs()}

#: Infix operators to registry names, lowest precedence first (Python's order).
BINARY_LEVELS: tuple[dict[str, str], ...] = (
    {">": "Gt", ">=": "Ge", "<": "Lt", "<=": "Le", "==": "Eq", "!=": "Ne"},
    {"|": "Or"},
    {"&": "And"},
    {"+": "Add", "-": "Sub"},
    {"*": "Mul", "/": "Div"},
)


def list_operators() -> list[dict[str, object]]:
    """The registry as plain rows (name, arity, kind, signature, description) for clients."""
    return [
        {
            "name": s.name,
            "arity": s.arity,
            "kind": s.kind,
            "signature": s.signature(),
            "description": s.description,
        }
        for s in OPERATORS.values()
    ]
