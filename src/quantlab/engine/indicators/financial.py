"""Financial (valuation and fundamentals) indicators from daily-aligned statement fields.

Expected field names (lower case, one ``(T, N)`` value per trading day, i.e. report
values already carried forward from their announcement date by the data layer):

=====================  ==========================================================
``close``              price per share
``volume``             traded volume, in shares
``eps``                earnings per share, trailing twelve months (TTM)
``bps``                book value (shareholders' equity) per share
``sps``                revenue per share, TTM
``cfps``               operating cash flow per share, TTM
``dps``                cash dividend per share, TTM
``net_profit``         net profit attributable to shareholders, TTM
``revenue``            operating revenue, TTM
``cost_of_revenue``    operating cost, TTM
``equity``             shareholders' equity
``total_assets``       total assets
``total_liabilities``  total liabilities
``total_shares``       total shares outstanding
``float_shares``       tradable (float) shares
=====================  ==========================================================

Per-share fields must be in the price's currency and share counts in the volume's unit;
the formulas do not convert. Every indicator is elementwise: no warm-up, NaN in any
input gives NaN, and a ratio whose denominator is zero, or negative where the ratio is
meaningless for a negative base (PE of a loss-maker, PB below zero book), is NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from quantlab.engine.indicators.spec import IndicatorSpec

FIELDS: dict[str, str] = {
    "close": "price per share",
    "volume": "traded volume, shares",
    "eps": "earnings per share, TTM",
    "bps": "book value per share",
    "sps": "revenue per share, TTM",
    "cfps": "operating cash flow per share, TTM",
    "dps": "cash dividend per share, TTM",
    "net_profit": "net profit attributable to shareholders, TTM",
    "revenue": "operating revenue, TTM",
    "cost_of_revenue": "operating cost, TTM",
    "equity": "shareholders' equity",
    "total_assets": "total assets",
    "total_liabilities": "total liabilities",
    "total_shares": "total shares outstanding",
    "float_shares": "tradable (float) shares",
}


def _ratio(num: np.ndarray, den: np.ndarray, scale: float = 1.0, positive: bool = False):
    """``scale·num/den``; NaN where ``den`` is zero (or not positive when ``positive``)."""
    ok = den > 0 if positive else den != 0
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, scale * num / np.where(ok, den, 1.0), np.nan)


def _spec(
    name: str,
    zh: str,
    en: str,
    inputs: tuple[str, str],
    formula: str,
    description: str,
    fn: Callable[[np.ndarray, np.ndarray], np.ndarray],
) -> IndicatorSpec:
    def compute(x: Mapping[str, np.ndarray], p: Mapping[str, Any]) -> dict[str, np.ndarray]:
        return {name: np.asfortranarray(fn(x[inputs[0]], x[inputs[1]]))}

    return IndicatorSpec(
        name=name,
        zh_name=zh,
        en_name=en,
        category="financial",
        source="financial",
        inputs=inputs,
        outputs=(name,),
        params=(),
        description=description,
        formula=formula,
        func=compute,
    )


SPECS: list[IndicatorSpec] = [
    _spec("PE", "市盈率(TTM)", "Price to earnings (TTM)", ("close", "eps"),
          "PE = close / eps", "Times earnings; NaN for a loss (eps ≤ 0).",
          lambda c, e: _ratio(c, e, positive=True)),
    _spec("PB", "市净率", "Price to book", ("close", "bps"),
          "PB = close / bps", "Times book value; NaN when book value per share ≤ 0.",
          lambda c, b: _ratio(c, b, positive=True)),
    _spec("PS", "市销率(TTM)", "Price to sales (TTM)", ("close", "sps"),
          "PS = close / sps", "Times revenue; NaN when revenue per share ≤ 0.",
          lambda c, s: _ratio(c, s, positive=True)),
    _spec("PCF", "市现率(TTM)", "Price to operating cash flow (TTM)", ("close", "cfps"),
          "PCF = close / cfps", "Times operating cash flow; NaN when it is ≤ 0.",
          lambda c, f: _ratio(c, f, positive=True)),
    _spec("DY", "股息率(TTM)", "Dividend yield (TTM)", ("dps", "close"),
          "DY = 100 · dps / close", "Percent of price paid as cash dividends.",
          lambda d, c: _ratio(d, c, 100.0, positive=True)),
    _spec("ROE", "净资产收益率", "Return on equity", ("net_profit", "equity"),
          "ROE = 100 · net_profit / equity", "Percent; NaN when equity ≤ 0.",
          lambda n, e: _ratio(n, e, 100.0, positive=True)),
    _spec("ROA", "总资产收益率", "Return on assets", ("net_profit", "total_assets"),
          "ROA = 100 · net_profit / total_assets", "Percent.",
          lambda n, a: _ratio(n, a, 100.0, positive=True)),
    _spec("EPS", "每股收益", "Earnings per share", ("net_profit", "total_shares"),
          "EPS = net_profit / total_shares", "Currency per share.",
          lambda n, s: _ratio(n, s, positive=True)),
    _spec("BPS", "每股净资产", "Book value per share", ("equity", "total_shares"),
          "BPS = equity / total_shares", "Currency per share.",
          lambda e, s: _ratio(e, s, positive=True)),
    _spec("GROSS_MARGIN", "毛利率", "Gross margin", ("revenue", "cost_of_revenue"),
          "GROSS_MARGIN = 100 · (revenue − cost_of_revenue) / revenue",
          "Percent of revenue; NaN when revenue ≤ 0.",
          lambda r, c: _ratio(r - c, r, 100.0, positive=True)),
    _spec("NET_MARGIN", "净利率", "Net margin", ("net_profit", "revenue"),
          "NET_MARGIN = 100 · net_profit / revenue", "Percent of revenue; NaN when revenue ≤ 0.",
          lambda n, r: _ratio(n, r, 100.0, positive=True)),
    _spec("DEBT_RATIO", "资产负债率", "Debt to assets", ("total_liabilities", "total_assets"),
          "DEBT_RATIO = 100 · total_liabilities / total_assets", "Percent.",
          lambda li, a: _ratio(li, a, 100.0, positive=True)),
    _spec("MARKET_CAP", "总市值", "Market capitalisation", ("close", "total_shares"),
          "MARKET_CAP = close · total_shares", "Currency.",
          lambda c, s: c * s),
    _spec("FLOAT_MARKET_CAP", "流通市值", "Float market capitalisation",
          ("close", "float_shares"), "FLOAT_MARKET_CAP = close · float_shares", "Currency.",
          lambda c, s: c * s),
    _spec("TURNOVER", "换手率", "Turnover rate", ("volume", "float_shares"),
          "TURNOVER = 100 · volume / float_shares",
          "Percent of float traded; volume and float_shares in the same unit (shares).",
          lambda v, s: _ratio(v, s, 100.0, positive=True)),
]  # fmt: skip
