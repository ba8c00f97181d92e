"""Guessing the units of volume and amount from header names and the values themselves.

Vendors disagree: Tushare's ``daily`` gives ``vol`` in lots (手, 100 shares) and ``amount``
in thousands of CNY; akshare/EastMoney give ``成交量`` in lots and ``成交额`` in CNY; Yahoo
and Qlib give shares and currency. The values settle it: the day's average traded price
``amount / volume`` lies between the low and the high, so ``amount / (volume x close)``
is about 1 when both are in base units, 100 when volume is in lots, 0.1 when volume is in
lots and amount in thousands (Tushare). Forward-adjusted prices move that ratio by the
adjustment factor (0.5-1 for Tushare qfq), so a match within half a decade counts.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["UnitSuggestion", "suggest_units"]

VOLUME_CHOICES = (1.0, 100.0)
AMOUNT_CHOICES = (1.0, 1000.0, 10000.0)
TOLERANCE_DECADES = 0.5
_VOLUME_WORDS = {1.0: "shares", 100.0: "lots of 100 shares"}
_AMOUNT_WORDS = {1.0: "currency units", 1000.0: "thousands", 10000.0: "ten-thousands (万)"}


@dataclass(frozen=True, slots=True)
class UnitSuggestion:
    """Multipliers to apply on import, the evidence behind them, and how sure we are."""

    volume_multiplier: float
    amount_multiplier: float
    vendor: str | None
    ratio: float | None
    confidence: str  # "high": header and values agree; "medium": one of them; "none"
    reason: str

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return asdict(self)


def _vendor(headers: Sequence[str]) -> tuple[str | None, float | None, float | None]:
    """The vendor layout the header names reveal and its (volume, amount) multipliers."""
    keys = {str(h).strip().lower() for h in headers}
    if {"ts_code", "trade_date", "vol"} <= keys or ({"trade_date", "vol", "amount"} <= keys):
        return "tushare", 100.0, 1000.0
    if "成交量" in keys and ("日期" in keys or "股票代码" in keys):
        return "akshare/eastmoney", 100.0, 1.0
    return None, None, None


def _median_ratio(
    volume: np.ndarray | None, amount: np.ndarray | None, close: np.ndarray | None
) -> float | None:
    if volume is None or amount is None or close is None:
        return None
    v, a, c = (np.asarray(x, dtype=float) for x in (volume, amount, close))
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = a / (v * c)
    ratio = ratio[np.isfinite(ratio) & (ratio > 0)]
    return float(np.median(ratio)) if ratio.size else None


def suggest_units(
    headers: Sequence[str],
    volume: np.ndarray | None = None,
    amount: np.ndarray | None = None,
    close: np.ndarray | None = None,
) -> UnitSuggestion:
    """Volume and amount multipliers that bring a file to shares and currency units.

    Parameters
    ----------
    headers : sequence of str
        The file's column names (vendor layouts are recognised by them).
    volume, amount, close : ndarray, optional
        Sample values of those columns (rows aligned); NaN, zero and negative rows are
        ignored. ``close`` may be adjusted.

    Returns
    -------
    UnitSuggestion
        ``ratio`` is the median of ``amount / (volume x close)``; the chosen pair
        ``(vm, am)`` brings ``ratio x am / vm`` closest to 1 (in decades) and must be
        within 0.5 decade of it. When header names name a vendor and the values agree,
        confidence is ``"high"``; either alone gives ``"medium"``; nothing gives 1, 1.
    """
    vendor, v_hint, a_hint = _vendor(headers)
    ratio = _median_ratio(volume, amount, close)
    fit: tuple[float, float] | None = None
    if ratio is not None:
        best = min(
            (
                (abs(math.log10(ratio * am / vm)), vm, am)
                for vm in VOLUME_CHOICES
                for am in AMOUNT_CHOICES
            ),
            key=lambda t: t[0],
        )
        if best[0] <= TOLERANCE_DECADES:
            fit = (best[1], best[2])
    hint = None if v_hint is None or a_hint is None else (v_hint, a_hint)
    if fit is not None and hint is not None and fit == hint:
        chosen, confidence = fit, "high"
        why = f"the headers follow the {vendor} layout and the values agree"
    elif fit is not None:
        chosen, confidence = fit, "medium"
        why = "the values say so" + (
            f" (the {vendor} layout would suggest x{hint[0]:g}/x{hint[1]:g}; check)"
            if hint is not None
            else ""
        )
    elif hint is not None:
        chosen, confidence = hint, "medium"
        why = f"the headers follow the {vendor} layout (the sample values cannot confirm it)"
        if ratio is not None:
            why = f"the headers follow the {vendor} layout; the values are ambiguous"
    else:
        return UnitSuggestion(1.0, 1.0, vendor, ratio, "none", "no evidence of scaled units")
    vm, am = chosen
    detail = f"volume in {_VOLUME_WORDS[vm]}, amount in {_AMOUNT_WORDS[am]}"
    if ratio is not None:
        detail += f"; median amount/(volume x close) = {ratio:.3g}"
    return UnitSuggestion(vm, am, vendor, ratio, confidence, f"{why}: {detail}")
