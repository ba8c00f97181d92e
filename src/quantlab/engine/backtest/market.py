"""Market-rule arrays derived from a panel: traded prices, price limits, exclusions, stamp
tax by day.

Price basis (``panel.meta``): ``price_basis="adjusted"`` declares that the price fields
(:data:`PRICE_FIELDS`) are adjusted, ``adjusted = raw x factor`` with the panel's ``factor``
field (Qlib's convention); anything else (or no ``factor`` field) means the prices are the
traded ones. ``volume_basis="adjusted"`` declares volumes divided by the factor (official
Qlib dumps), ``"raw"`` volumes in traded shares. :func:`traded_panel` turns such a panel into
traded prices and shares, which is what orders, lots, limits and fees must use.

Optional panel fields this module reads (all float, NaN = unknown):
``up_limit``/``down_limit`` (limit prices), ``limit_up``/``limit_down`` (1 on days the stock
sits at its limit), ``is_st`` (1 while ST/*ST), ``is_new`` (1 while newly listed).
"""

from __future__ import annotations

import re

import numpy as np

from quantlab.engine.backtest.config import RuleConfig
from quantlab.engine.backtest.enums import RejectReason
from quantlab.engine.backtest.prep_nb import prev_close_nb
from quantlab.engine.data import Panel

_CODE = re.compile(r"(\d{6})")
# ChiNext moved from 10% to 20% limits with the registration reform on this day.
CHINEXT_20PCT_FROM = np.datetime64("2020-08-24", "D")


def _flag(panel: Panel, name: str) -> np.ndarray | None:
    arr = panel.fields.get(name)
    return None if arr is None else np.nan_to_num(arr, nan=0.0) > 0.5


PRICE_FIELDS = ("open", "high", "low", "close", "vwap", "pre_close", "up_limit", "down_limit")


def adjustment_factor(panel: Panel) -> np.ndarray | None:
    """``(T, N)`` factor (adjusted / raw) of a panel that declares adjusted prices, else None.

    Missing or non-positive values take the previous day's factor (the next one before the
    first known value; 1 when an instrument has none), so every cell is usable."""
    if panel.meta.get("price_basis") != "adjusted" or "factor" not in panel.fields:
        return None
    f = np.array(panel["factor"], dtype=np.float64)
    f[~(f > 0.0)] = np.nan
    t_len = f.shape[0]
    idx = np.where(np.isnan(f), 0, np.arange(t_len)[:, None])
    np.maximum.accumulate(idx, axis=0, out=idx)
    f = f[idx, np.arange(f.shape[1])[None, :]]
    back = np.where(np.isnan(f), t_len - 1, np.arange(t_len)[:, None])
    back = np.minimum.accumulate(back[::-1], axis=0)[::-1]
    f = f[back, np.arange(f.shape[1])[None, :]]
    return np.asfortranarray(np.where(np.isnan(f), 1.0, f))


def traded_panel(panel: Panel) -> tuple[Panel, np.ndarray | None]:
    """The panel at traded prices (raw = adjusted / factor) and in traded shares, with the
    factor used; the panel itself and None when its prices are already the traded ones."""
    factor = adjustment_factor(panel)
    if factor is None:
        return panel, None
    fields = dict(panel.fields)
    for name in PRICE_FIELDS:
        if name in fields:
            fields[name] = np.asfortranarray(fields[name] / factor)
    if "volume" in fields and panel.meta.get("volume_basis", "adjusted") == "adjusted":
        fields["volume"] = np.asfortranarray(fields["volume"] * factor)
    meta = {**panel.meta, "price_basis": "raw", "volume_basis": "raw"}
    return Panel(panel.calendar, panel.instruments, fields, panel.first, panel.last, meta), factor


def limit_pct(panel: Panel, rules: RuleConfig) -> np.ndarray:
    """Daily limit as a fraction of the previous close, ``(T, N)``, by board and ST status.

    STAR (688/689) is 20%; ChiNext (300/301) 20% from 2020-08-24 and 10% before; other
    codes ``limit_main``; ST days ``limit_st`` (main board only, as the exchanges rule).
    """
    t_len, n = panel.shape
    pct = np.full((t_len, n), rules.limit_main)
    after = panel.calendar >= CHINEXT_20PCT_FROM
    for j, code in enumerate(panel.instruments):
        m = _CODE.search(str(code))
        digits = m.group(1) if m else ""
        if digits.startswith(("688", "689")):
            pct[:, j] = rules.limit_growth
        elif digits.startswith(("300", "301")):
            pct[after, j] = rules.limit_growth
    st = _flag(panel, "is_st")
    if st is not None:
        pct = np.where(st & (pct == rules.limit_main), rules.limit_st, pct)
    return pct


def price_limits(
    panel: Panel, rules: RuleConfig, factor: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Up and down limit prices ``(T, N)``; ±inf where no limit applies.

    Preference: the ``up_limit``/``down_limit`` fields, then ``limit_up``/``limit_down`` flags
    (a flagged day blocks every buy, resp. sell), then previous close × (1 ± pct) rounded to
    0.01. ``panel`` holds traded prices; with the adjustment ``factor`` of adjusted data
    (see :func:`traded_panel`) the previous close is the ex-rights reference price, the
    previous raw close × previous factor / today's factor, as the exchanges compute it
    after a split or dividend.
    """
    t_len, n = panel.shape
    up = np.full((t_len, n), np.inf)
    down = np.full((t_len, n), -np.inf)
    if not rules.price_limits:
        return up, down
    if "up_limit" in panel.fields and "down_limit" in panel.fields:
        up = np.where(np.isnan(panel["up_limit"]), np.inf, panel["up_limit"])
        down = np.where(np.isnan(panel["down_limit"]), -np.inf, panel["down_limit"])
        return up, down
    flag_up, flag_down = _flag(panel, "limit_up"), _flag(panel, "limit_down")
    if flag_up is not None or flag_down is not None:
        if flag_up is not None:
            up[flag_up] = -np.inf
        if flag_down is not None:
            down[flag_down] = np.inf
        return up, down
    if factor is None:
        prev = prev_close_nb(np.asfortranarray(panel["close"]))
    else:
        prev = prev_close_nb(np.asfortranarray(panel["close"] * factor)) / factor
    pct = limit_pct(panel, rules)
    up = np.where(np.isnan(prev), np.inf, np.round(prev * (1.0 + pct), 2))
    down = np.where(np.isnan(prev), -np.inf, np.round(prev * (1.0 - pct), 2))
    return up, down


def buy_exclusions(panel: Panel, rules: RuleConfig) -> np.ndarray:
    """``int8 (T, N)``: 0 where buying is allowed, else the ``RejectReason`` that forbids it."""
    out = np.zeros(panel.shape, dtype=np.int8)
    st = _flag(panel, "is_st") if rules.exclude_st else None
    new = _flag(panel, "is_new") if rules.exclude_new else None
    if new is not None:
        out[new] = RejectReason.EXCLUDED_NEW
    if st is not None:
        out[st] = RejectReason.EXCLUDED_ST
    return out


def stamp_tax_by_day(calendar: np.ndarray, schedule: tuple[tuple[str, float], ...]) -> np.ndarray:
    """Sell-side tax rate per day ``(T,)``: each ``(date, rate)`` applies from its date on."""
    cal = np.asarray(calendar, dtype="datetime64[D]")
    out = np.zeros(len(cal))
    for start, rate in sorted(schedule):
        out[cal >= np.datetime64(start, "D")] = rate
    return out
