"""The panel: the one in-memory shape of market data that every engine works on."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True, slots=True)
class Panel:
    """Dense market data over (trading day, instrument).

    Attributes
    ----------
    calendar : numpy.ndarray
        ``datetime64[D]`` trading days, ascending and unique, shape ``(T,)``.
    instruments : numpy.ndarray
        Instrument codes as ``str`` (object array), sorted and unique, shape ``(N,)``.
    fields : Mapping[str, numpy.ndarray]
        Field name (lower case, e.g. ``"close"``) to a float64 array of shape ``(T, N)``
        in Fortran order, so each instrument's time series is contiguous (time-axis
        kernels run several times faster that way). ``NaN`` marks a missing value.
    first, last : numpy.ndarray
        ``int64`` per instrument: index into ``calendar`` of its first and last existing
        day (Qlib semantics: outside ``[first, last]`` the instrument does not exist,
        which differs from an in-range suspension day). ``-1`` when it has no data.
    """

    calendar: np.ndarray
    instruments: np.ndarray
    fields: Mapping[str, np.ndarray]
    first: np.ndarray
    last: np.ndarray
    meta: Mapping[str, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        t, n = len(self.calendar), len(self.instruments)
        for name, arr in self.fields.items():
            if arr.shape != (t, n):
                raise ValueError(f"field {name!r} has shape {arr.shape}, expected {(t, n)}")
        if self.first.shape != (n,) or self.last.shape != (n,):
            raise ValueError("first/last must have one entry per instrument")

    @property
    def shape(self) -> tuple[int, int]:
        """``(days, instruments)``."""
        return len(self.calendar), len(self.instruments)

    @property
    def nbytes(self) -> int:
        """Bytes held by the field arrays (what an in-process cache should count)."""
        return int(sum(a.nbytes for a in self.fields.values()))

    def __getitem__(self, name: str) -> np.ndarray:
        return self.fields[name]

    def exists(self) -> np.ndarray:
        """Boolean ``(T, N)`` mask: True where the instrument exists on that day."""
        idx = np.arange(len(self.calendar))[:, None]
        return (idx >= self.first[None, :]) & (idx <= self.last[None, :]) & (self.first >= 0)

    def select(
        self,
        instruments: Sequence[str] | None = None,
        start: np.datetime64 | str | None = None,
        end: np.datetime64 | str | None = None,
        fields: Sequence[str] | None = None,
    ) -> Panel:
        """A sub-panel by instruments, inclusive date range and fields."""
        lo = (
            0
            if start is None
            else int(np.searchsorted(self.calendar, np.asarray(start, dtype="datetime64[D]")))
        )
        hi = (
            len(self.calendar)
            if end is None
            else int(
                np.searchsorted(self.calendar, np.asarray(end, dtype="datetime64[D]"), side="right")
            )
        )
        if instruments is None:
            cols = np.arange(len(self.instruments))
        else:
            pos = {s: i for i, s in enumerate(self.instruments)}
            missing = [s for s in instruments if s not in pos]
            if missing:
                raise KeyError(f"unknown instruments: {missing[:10]}")
            cols = np.array([pos[s] for s in instruments], dtype=np.int64)
        names = list(self.fields) if fields is None else list(fields)
        new_fields = {k: np.asfortranarray(self.fields[k][lo:hi][:, cols]) for k in names}
        first = self.first[cols] - lo
        last = self.last[cols] - lo
        empty = (self.first[cols] < 0) | (last < 0) | (first > hi - lo - 1)
        first = np.where(empty, -1, np.clip(first, 0, None))
        last = np.where(empty, -1, np.clip(last, None, hi - lo - 1))
        return Panel(
            calendar=self.calendar[lo:hi],
            instruments=self.instruments[cols],
            fields=new_fields,
            first=first.astype(np.int64),
            last=last.astype(np.int64),
            meta=dict(self.meta),
        )

    @classmethod
    def from_arrays(
        cls,
        calendar: Sequence[object] | np.ndarray,
        instruments: Sequence[str] | np.ndarray,
        fields: Mapping[str, np.ndarray],
        meta: Mapping[str, object] | None = None,
    ) -> Panel:
        """Build a panel from ``(T, N)`` arrays; first/last come from any non-NaN field value."""
        cal = np.asarray(calendar, dtype="datetime64[D]")
        inst = np.asarray(list(instruments), dtype=object)
        arrays = {k: np.asfortranarray(np.asarray(v, dtype=np.float64)) for k, v in fields.items()}
        present = np.zeros((len(cal), len(inst)), dtype=bool)
        for arr in arrays.values():
            present |= ~np.isnan(arr)
        any_row = present.any(axis=0)
        first = np.where(any_row, present.argmax(axis=0), -1).astype(np.int64)
        last = np.where(any_row, len(cal) - 1 - present[::-1].argmax(axis=0), -1).astype(np.int64)
        return cls(cal, inst, arrays, first, last, dict(meta or {}))
