"""Fields the engine derives when a panel lacks them.

``$vwap`` is ``amount / volume`` when a dataset has both and no ``vwap`` of its own (so
Alpha158's ``VWAP0`` computes instead of being skipped). Days with a volume that is zero,
negative or missing give NaN.

Units: the result is amount units per volume unit, so it is a price only when ``amount``
is in currency and ``volume`` in shares, on the same adjustment basis as the prices:

* Qlib data: ``$volume`` is divided by the adjustment factor and ``$amount`` is raw, so
  ``amount / volume`` is the adjusted VWAP, comparable with the adjusted ``$close``.
* Tushare ``daily``: ``vol`` is in lots (100 shares) and ``amount`` in thousands of CNY,
  so ``amount / vol`` is 10x the VWAP in CNY per share; with forward-adjusted (qfq) prices
  and unadjusted vol/amount it is moreover a raw price. Convert the units when importing
  (amount x 1000, volume x 100) and use raw prices, or write the expression yourself.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping

import numpy as np

#: derived field -> the stored fields it is computed from
DERIVED_FIELDS: dict[str, tuple[str, ...]] = {"vwap": ("amount", "volume")}


def available_fields(stored: Collection[str]) -> list[str]:
    """``stored`` plus every derived field whose sources are all stored (and that is not)."""
    out = list(stored)
    for name, sources in DERIVED_FIELDS.items():
        if name not in stored and all(s in stored for s in sources):
            out.append(name)
    return out


def stored_fields(names: Iterable[str], stored: Collection[str]) -> list[str]:
    """The stored fields to load for ``names``: derived ones are replaced by their sources."""
    out: dict[str, None] = {}
    for name in names:
        if name not in stored and name in DERIVED_FIELDS:
            out.update(dict.fromkeys(DERIVED_FIELDS[name]))
        else:
            out[name] = None
    return list(out)


def derive(name: str, fields: Mapping[str, np.ndarray]) -> np.ndarray:
    """Compute derived field ``name`` from ``fields`` (float64 arrays of equal shape).

    Parameters
    ----------
    name : str
        A key of :data:`DERIVED_FIELDS`.
    fields : mapping of str to numpy.ndarray
        The panel's stored fields, ``(T, N)``.

    Returns
    -------
    numpy.ndarray
        ``(T, N)`` float64; for ``vwap`` amount / volume, NaN where volume is not positive.
    """
    if name != "vwap":
        raise KeyError(name)
    amount, volume = fields["amount"], fields["volume"]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(volume > 0, amount / volume, np.nan)
