"""Codes shared by the simulation kernels and their Python API.

Integer enums cross into Numba kernels as plain ``int``; string enums are what the JSON
configuration stores, so they stay readable and stable across versions.
"""

from __future__ import annotations

from enum import IntEnum, StrEnum


class Side(IntEnum):
    """Direction of a trade or a rejected order."""

    BUY = 1
    SELL = -1


class RejectReason(IntEnum):
    """Why an order (or the unfilled part of it) was not executed."""

    SUSPENDED = 1  # zero or missing volume, or no price on the day
    LIMIT_UP = 2  # buy at or above the up limit
    LIMIT_DOWN = 3  # sell at or below the down limit
    T_PLUS_1 = 4  # shares bought today are not sellable until the next trading day
    LOT_SIZE = 5  # the quantity rounds down to zero lots
    LOW_LIQUIDITY = 6  # the bar's volume is below the liquidity floor
    VOLUME_CAP = 7  # the part above the allowed share of the bar's volume
    INSUFFICIENT_CASH = 8  # cannot pay for one lot plus costs
    EXCLUDED_ST = 9  # ST / *ST stock excluded from buying
    EXCLUDED_NEW = 10  # newly listed stock excluded from buying
    MAX_HOLDINGS = 11  # the portfolio already holds the maximum number of names
    NOT_EXISTING = 12  # the instrument does not exist on that day


class PriceMode(StrEnum):
    """Which price fills an order decided on day ``t``."""

    CLOSE = "close"  # day t's close (same bar as the decision)
    NEXT_OPEN = "next_open"  # day t+1's open
    NEXT_VWAP = "next_vwap"  # day t+1's VWAP (falls back to close where VWAP is missing)


class SizingMode(StrEnum):
    """How signal entries turn into an order value."""

    EQUAL = "equal"  # equity / max_holdings, or available cash split across today's entries
    FIXED_FRACTION = "fixed_fraction"  # fraction of equity per position
    FIXED_AMOUNT = "fixed_amount"  # currency amount per position
    VOL_TARGET = "vol_target"  # target annualised volatility / realised volatility


class StopMode(StrEnum):
    """How a stop-loss or take-profit level is set."""

    NONE = "none"
    PERCENT = "percent"  # entry price × (1 ∓ value)
    TRAILING = "trailing"  # highest high since entry × (1 − value); stop-loss only
    ATR = "atr"  # entry price ∓ value × ATR on the entry day


class Rebalance(StrEnum):
    """Which decision days a weight or top-k strategy may trade on."""

    DAILY = "daily"
    WEEKLY = "weekly"  # first trading day of each ISO week
    MONTHLY = "monthly"  # first trading day of each month


class SlippageMode(StrEnum):
    """How the fill price moves against the order."""

    NONE = "none"
    RATIO = "ratio"  # price × (1 ± value)
    TICKS = "ticks"  # price ± value × tick size
    VOLUME = "volume"  # price × (1 ± (value + impact × quantity / bar volume))


class PortfolioMode(StrEnum):
    """How cash is shared between instruments."""

    SHARED = "shared"  # one cash account for the whole portfolio
    PER_COLUMN = "per_column"  # each instrument its own portfolio (vectorbt's from_signals)


# Kernel-side codes for the string enums (index into these tuples).
STOP_CODES = {StopMode.NONE: 0, StopMode.PERCENT: 1, StopMode.TRAILING: 2, StopMode.ATR: 3}
SLIPPAGE_CODES = {
    SlippageMode.NONE: 0,
    SlippageMode.RATIO: 1,
    SlippageMode.TICKS: 2,
    SlippageMode.VOLUME: 3,
}
SIZING_CODES = {
    SizingMode.EQUAL: 0,
    SizingMode.FIXED_FRACTION: 1,
    SizingMode.FIXED_AMOUNT: 2,
    SizingMode.VOL_TARGET: 3,
}

# Strategy kinds understood by the kernel.
KIND_SIGNALS = 0
KIND_WEIGHTS = 1
KIND_TOPK = 2
