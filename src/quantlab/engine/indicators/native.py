"""Native technical indicators with the formulas of Chinese charting software (通达信/同花顺).

Every function takes ``(T, N)`` float64 arrays whose columns hold one instrument's bars
packed to the top (the catalog skips missing bars before calling, see ``catalog``), and
returns a dict of ``(T, N)`` arrays named like the TDX formula's output lines.

Shared conventions (the formula text of each spec uses TDX function names):

* ``MA(X,N)``: simple mean of the last N bars, NaN for the first N−1 bars.
* ``EMA(X,N)``: ``Y = (2·X + (N−1)·Y')/(N+1)`` seeded with the first value
  (``Y_0 = X_0``), so it has a value from the first bar. TA-Lib seeds with the mean of the
  first N values and starts at bar N−1 instead; the two converge as the seed's weight
  ``((N−1)/(N+1))^t`` decays.
* ``SMA(X,N,M)``: ``Y = (M·X + (N−M)·Y')/N``, seeded with the first value unless a
  starting value is stated (KDJ starts K and D at 50). ``SMA(X,N,1)`` is Wilder smoothing.
* ``REF(X,1)``: the previous bar's value (the previous *traded* bar across suspensions).
* ``HHV/LLV``: highest/lowest of the last N bars.
* ``STD``: population (ddof = 0) unless the parameter says otherwise.
* A division by zero gives NaN.

The indicators themselves live in ``native_trend`` (trend, volatility) and
``native_oscillators`` (oscillators, volume); this module holds the shared helpers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from quantlab.engine.indicators import kernels_nb as nb
from quantlab.engine.indicators.spec import Category, IndicatorSpec, ParamSpec

Arrays = Mapping[str, np.ndarray]
Params = Mapping[str, Any]

_MAX_PERIOD = 5000

IndicatorFunc = Callable[[Arrays, Params], dict[str, np.ndarray]]


def period(name: str, default: int, lo: int = 1, desc: str = "") -> ParamSpec:
    """An integer bar-count parameter in ``[lo, 5000]``."""
    return ParamSpec(name, default, lo, _MAX_PERIOD, "int", desc or "bars")


def registrar(
    specs: list[IndicatorSpec],
) -> Callable[..., Callable[[IndicatorFunc], IndicatorFunc]]:
    """A decorator factory appending a native `IndicatorSpec` for the decorated function."""

    def indicator(
        name: str,
        zh: str,
        en: str,
        category: Category,
        inputs: tuple[str, ...],
        outputs: tuple[str, ...],
        params: tuple[ParamSpec, ...],
        formula: str,
        description: str,
    ) -> Callable[[IndicatorFunc], IndicatorFunc]:
        def register(func: IndicatorFunc) -> IndicatorFunc:
            specs.append(
                IndicatorSpec(
                    name=name,
                    zh_name=zh,
                    en_name=en,
                    category=category,
                    source="native",
                    inputs=inputs,
                    outputs=outputs,
                    params=params,
                    description=description,
                    formula=formula,
                    func=func,
                )
            )
            return func

        return register

    return indicator


def div(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a / b`` with NaN where ``b`` is zero."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(b != 0, a / np.where(b != 0, b, 1.0), np.nan)


def ref(x: np.ndarray, k: int = 1) -> np.ndarray:
    """TDX ``REF(X, k)``."""
    return nb.shift_nb(x, k)


def tdx_ema(x: np.ndarray, n: int) -> np.ndarray:
    """TDX ``EMA(X, N)``: alpha 2/(N+1), seeded with the first value."""
    return nb.ema_nb(x, 2.0 / (n + 1), np.nan)


def tdx_sma(x: np.ndarray, n: int, m: int, init: float = np.nan) -> np.ndarray:
    """TDX ``SMA(X, N, M)``: alpha M/N, seeded with the first value or ``init``."""
    return nb.ema_nb(x, m / n, init)


def if_prev(cond: np.ndarray, value: np.ndarray | float, like: np.ndarray) -> np.ndarray:
    """``IF(cond, value, 0)`` that stays NaN where ``like`` is NaN (no previous bar yet)."""
    return np.where(np.isnan(like), np.nan, np.where(cond, value, 0.0))


def true_range(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    """TDX ``MTR``: the largest of H−L, |H−REF(C,1)| and |REF(C,1)−L|; NaN on bar 0."""
    pc = ref(close)
    return np.maximum(np.maximum(high - low, np.abs(high - pc)), np.abs(pc - low))
