"""Which instruments are in the cross-section on which day: all, a list, or dated membership."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from quantlab.engine.data.panel import Panel

#: Membership spans per symbol, as in Qlib's ``instruments/<market>.txt``: ``[(start, end)]``.
Spans = Mapping[str, Sequence[tuple[object, object]]]
Universe = None | str | Sequence[str] | Spans


def membership_mask(panel: Panel, universe: Universe = None) -> np.ndarray:
    """Boolean ``(T, N)``: True where an instrument is in the universe and exists that day.

    Parameters
    ----------
    panel : Panel
        The data; ``panel.exists()`` bounds every answer.
    universe : None, "all", sequence of str, or mapping of spans
        ``None``/``"all"``: every instrument. A sequence: those symbols (case-insensitive; an
        unknown symbol raises ``KeyError``). A mapping ``symbol -> [(start, end), ...]``:
        dated membership, inclusive at both ends (a name is only in the cross-section while
        it is a member, as Qlib masks market members). A string other than ``"all"`` uses
        ``panel.meta["membership"]`` when the panel was read for that market.

    Returns
    -------
    numpy.ndarray
        ``bool`` array of the panel's shape.
    """
    exists = panel.exists()
    if universe is None or (isinstance(universe, str) and universe.lower() == "all"):
        return exists
    if isinstance(universe, str):
        if str(panel.meta.get("universe", "")).lower() != universe.lower():
            raise KeyError(f"the panel was not read for market {universe!r}")
        return exists & np.asarray(panel.meta["membership"], dtype=bool)
    upper = {str(s).upper(): j for j, s in enumerate(panel.instruments)}
    mask = np.zeros(panel.shape, dtype=bool)
    if isinstance(universe, Mapping):
        for sym, spans in universe.items():
            j = upper.get(str(sym).upper())
            if j is None:
                continue  # a member without data (the sample is survivor-biased)
            for lo, hi in spans:
                i0 = int(np.searchsorted(panel.calendar, np.datetime64(str(lo)[:10], "D")))
                i1 = int(np.searchsorted(panel.calendar, np.datetime64(str(hi)[:10], "D"), "right"))
                mask[i0:i1, j] = True
        return mask & exists
    unknown = [s for s in universe if str(s).upper() not in upper]
    if unknown:
        raise KeyError(f"unknown instruments: {unknown[:10]}")
    for s in universe:
        mask[:, upper[str(s).upper()]] = True
    return mask & exists
