"""The factor expression language: Qlib syntax and semantics, evaluated on panels.

Public API::

    parse(text) -> Node                      # syntax only
    validate(text, fields=None, allow_future=False) -> Node
    evaluate(exprs, panel, allow_future=False, cache=DEFAULT_CACHE) -> {text: float32 (T, N)}
    lookback(text) -> int                    # days of history for exact results
    lookahead(text) -> int                   # days of future a label reads
    OPERATORS / list_operators()             # the operator registry
    get_feature_set("Alpha158" | "Alpha360" | ...) -> [(name, expr)]
    available_fields(stored) / stored_fields(names, stored)   # derived $vwap = amount/volume
    ExprError(kind, message, position)

Semantics follow Qlib (``qlib/data/ops.py`` and its Cython rolling): an instrument exists
only on ``[first, last]`` and is computed on that slice alone; rolling windows skip NaN
with ``min_periods=1``; window 0 is expanding; comparisons give 0/1; ``Greater``/``Less``
propagate NaN; ``Corr``/``Rsquare`` are NaN where an input's rolling std is at most 2e-5;
data is float32, windowed arithmetic float64 rounded back to float32; +-inf inside a
window counts as missing (pandas' rolling does this and Qlib inherits it), except in
``Count`` (pandas counts ``notna()``, so +-inf is counted), ``Slope``/``Rsquare``/``Resi``
(Qlib's own Cython loops) and the shifts ``Ref``/``Delta``. ``Skew``/``Kurt`` of a window
whose valid values are all equal are NaN (undefined; older pandas gave 0 / -3).

Deliberate differences from Qlib (each pinned by a test in ``tests/engine/expr``):

* ``IdxMax``/``IdxMin`` skip NaN; Qlib's ``np.argmax`` returns the first NaN's position.
* ``WMA`` is the weighted mean ``sum(w x) / sum(w)`` over valid days; Qlib divides the
  normalised sum by the window length again (``np.nanmean(w * x)``).
* ``If`` and the logical operators treat NaN as false; NumPy (Qlib) treats NaN as true in
  ``np.where``, and Qlib's ``And``/``Or``/``Not`` reject float inputs.
* ``Corr(x, y, 0)`` is an expanding correlation with the flat mask applied; Qlib fails.
* ``Delta(x, n)`` reports ``n`` days of lookback (Qlib's ``n - 1`` is one short).
* Chained comparisons are a syntax error; unary minus on a series is allowed.
* ``Slope``/``Rsquare``/``Resi`` and ``Skew``/``Kurt`` keep running sums of values
  shifted by a reference and rebuild them once per window length (with a two-pass
  fallback for nearly flat windows), so they stay accurate where Qlib's plain running
  sums drift; equal to Qlib within float32 rounding on ordinary data.
* ``Skew``/``Kurt`` of a window whose valid values are all equal are NaN.
* ``Neutralize(x, group, size)`` (not in Qlib): the residual of a daily OLS on group
  dummies and a size regressor; ``$vwap`` is derived as ``amount / volume`` when a panel
  has both and no ``vwap`` (:mod:`quantlab.engine.expr.derived` on units).
"""

from quantlab.engine.expr.analysis import UNBOUNDED
from quantlab.engine.expr.api import lookahead, lookback, parse, validate
from quantlab.engine.expr.ast import Call, Const, Field, Node
from quantlab.engine.expr.cache import ExprCache
from quantlab.engine.expr.derived import DERIVED_FIELDS, available_fields, stored_fields
from quantlab.engine.expr.errors import ERROR_KINDS, ExprError
from quantlab.engine.expr.evaluate import DEFAULT_CACHE, evaluate, evaluate_nodes
from quantlab.engine.expr.features import FEATURE_SETS, get_feature_set
from quantlab.engine.expr.operators import OPERATORS, OpSpec, list_operators

__all__ = [
    "DEFAULT_CACHE",
    "DERIVED_FIELDS",
    "ERROR_KINDS",
    "FEATURE_SETS",
    "OPERATORS",
    "UNBOUNDED",
    "Call",
    "Const",
    "ExprCache",
    "ExprError",
    "Field",
    "Node",
    "OpSpec",
    "available_fields",
    "evaluate",
    "evaluate_nodes",
    "get_feature_set",
    "list_operators",
    "lookahead",
    "lookback",
    "parse",
    "stored_fields",
    "validate",
]
