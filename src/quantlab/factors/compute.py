"""Loading panels for factor work and shaping results as long rows.

Results must not depend on the query start: the panel is loaded from the dataset's first
day up to ``end`` and then trimmed to ``lookback`` trading days before ``start`` (all of
it for expanding windows, EMA-like memory or Python factors, whose look-back is unknown).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service as dataset_service
from quantlab.datasets.models import DatasetVersion
from quantlab.engine.data.panel import Panel
from quantlab.engine.expr import UNBOUNDED
from quantlab.platform.jsonsafe import json_safe
from quantlab.platform.ownership import Principal


@dataclass(frozen=True, slots=True)
class Window:
    """A panel with its look-back margin; rows ``[lo:]`` are the requested days."""

    panel: Panel
    lo: int
    version: DatasetVersion

    @property
    def dates(self) -> np.ndarray:
        """The requested trading days."""
        return self.panel.calendar[self.lo :]


def trim(panel: Panel, start: date | None, lookback: int | None) -> tuple[Panel, int]:
    """Keep ``lookback`` trading days before ``start`` (everything when ``None``/unbounded);
    returns the panel and the index of the first requested day in it."""
    if start is None:
        return panel, 0
    first = int(np.searchsorted(panel.calendar, np.datetime64(start, "D")))
    if lookback is None or lookback >= UNBOUNDED:
        return panel, first
    lo = max(0, first - lookback)
    if lo == 0:
        return panel, first
    return panel.select(start=panel.calendar[lo]), first - lo


async def load_window(
    session: AsyncSession,
    user: Principal,
    dataset_id: str,
    data_dir: Path,
    *,
    fields: Sequence[str],
    version: int | None = None,
    symbols: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
    lookback: int | None = None,
) -> Window:
    """The panel of ``fields`` for a readable dataset version, with its look-back margin."""
    panel, row = await dataset_service.load_dataset_panel(
        session,
        user,
        dataset_id,
        data_dir,
        version=version,
        fields=list(dict.fromkeys(fields)),
        symbols=symbols,
        end=end,
    )
    panel, lo = trim(panel, start, lookback)
    return Window(panel, lo, row)


def _json_floats(values: np.ndarray) -> list[float | None]:
    if values.dtype == np.float32:
        # shortest text that round-trips in float32, so 10.3 stays 10.3
        return json_safe([float(str(v)) for v in values])
    return json_safe(values.astype(np.float64))


def long_rows(
    window: Window, outputs: Mapping[str, np.ndarray], limit: int, offset: int = 0
) -> tuple[list[dict[str, Any]], int]:
    """Rows ``{date, symbol, <output>...}`` of the requested days where the instrument
    exists, ordered by symbol then date; NaN becomes ``None``. Returns a page and the total."""
    panel, lo = window.panel, window.lo
    exists = panel.exists()[lo:]
    counts = exists.sum(axis=0)
    total = int(counts.sum())
    rows: list[dict[str, Any]] = []
    skip = offset
    for j, symbol in enumerate(panel.instruments):
        if len(rows) >= limit:
            break
        if skip >= counts[j]:
            skip -= int(counts[j])
            continue
        days = np.flatnonzero(exists[:, j])[skip : skip + limit - len(rows)]
        skip = 0
        columns = {name: _json_floats(arr[lo:, j][days]) for name, arr in outputs.items()}
        for k, day in enumerate(days):
            row: dict[str, Any] = {"date": str(panel.calendar[lo + day]), "symbol": str(symbol)}
            row.update({name: values[k] for name, values in columns.items()})
            rows.append(row)
    return rows, total
