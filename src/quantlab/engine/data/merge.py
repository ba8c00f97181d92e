"""Combining a newly imported long frame with the stored version it extends.

Three modes, chosen per import (``options.mode``):

- ``replace`` (the default, and the only behaviour before modes existed): the new
  version holds exactly the imported rows.
- ``append``: the stored rows stay as they are; imported rows are added only for
  (symbol, date) pairs the stored version lacks (new symbols, later or earlier dates).
- ``upsert``: imported rows win for pairs present in both; a field the import leaves
  empty (or lacks altogether) keeps its stored value; new pairs are added.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from quantlab.engine.data.frame import DATE, SYMBOL

__all__ = ["MODES", "MergeStats", "merge_frames"]

MODES = ("replace", "append", "upsert")


@dataclass(frozen=True, slots=True)
class MergeStats:
    """What a merge did, in rows and symbols (stored in the version's lineage)."""

    mode: str
    rows_before: int
    rows_imported: int
    rows_added: int
    rows_updated: int
    rows_after: int
    symbols_added: list[str]

    def to_dict(self) -> dict[str, object]:
        """Plain dict for JSON."""
        return asdict(self)


def merge_frames(
    old: pd.DataFrame, new: pd.DataFrame, mode: str
) -> tuple[pd.DataFrame, MergeStats]:
    """The frame of the next version, from the stored ``old`` and the imported ``new``.

    Both are long frames (``date``, ``symbol``, fields) with unique (symbol, date) pairs.
    The result is sorted by symbol then date; columns are the union of both.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    old, new = _normalised(old), _normalised(new)
    old_keys = pd.MultiIndex.from_arrays([old[SYMBOL], old[DATE]])
    new_keys = pd.MultiIndex.from_arrays([new[SYMBOL], new[DATE]])
    present = new_keys.isin(old_keys)
    added = int((~present).sum())
    symbols_added = sorted(set(new[SYMBOL]) - set(old[SYMBOL]))
    if mode == "replace":
        out = new
        updated = 0
    elif mode == "append":
        out = pd.concat([old, new[~present]], ignore_index=True, sort=False)
        updated = 0
    else:
        left = new.set_index([SYMBOL, DATE])
        right = old.set_index([SYMBOL, DATE])
        out = left.combine_first(right).reset_index()
        updated = int(present.sum())
    out = _normalised(out).sort_values([SYMBOL, DATE], kind="stable").reset_index(drop=True)
    cols = [DATE, SYMBOL, *[c for c in out.columns if c not in (DATE, SYMBOL)]]
    stats = MergeStats(mode, len(old), len(new), added, updated, len(out), symbols_added)
    return out[cols], stats


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    """Symbols as plain strings and dates as ``datetime64[ns]``: a stored version reads
    back dictionary-encoded and in another time unit than a freshly read file."""
    dates = pd.to_datetime(frame[DATE]).astype("datetime64[ns]")
    return frame.assign(**{SYMBOL: frame[SYMBOL].astype(str).astype(object), DATE: dates})
