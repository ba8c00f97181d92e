"""Qlib's data processors on row arrays: drop-NaN label, cross-sectional label norms,
robust z-score of features fitted on train only, fill NaN.

A processor sees ``x`` ``(R, F)`` float32, ``y`` ``(R,)`` float32 and ``day`` ``(R,)`` (rows
day-major, so a day's cross-section is one block). ``learn_only`` processors touch train and
valid rows only (Qlib's ``learn_processors``); the others run on every segment (Qlib's
``infer_processors``). ``uses_future`` says whether it reads the label, i.e. information
from after the row's day; such a processor can never run at prediction time.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

_EPS = 1e-12


def _starts(day: np.ndarray) -> np.ndarray:
    """First row of each day's block."""
    if len(day) == 0:
        return np.zeros(0, dtype=np.int64)
    return np.concatenate(([0], np.flatnonzero(np.diff(day)) + 1)).astype(np.int64)


def cs_zscore(values: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Per-day ``(v - mean) / std`` (sample std, ddof 1; NaN skipped), as Qlib's ``zscore``.

    Returns float32 ``(R,)``; NaN where the value is NaN or a day has under two values.
    """
    v = values.astype(np.float64)
    starts = _starts(day)
    if not len(starts):
        return values.astype(np.float32)
    ok = ~np.isnan(v)
    n = np.add.reduceat(ok.astype(np.float64), starts)
    s = np.add.reduceat(np.where(ok, v, 0.0), starts)
    sizes = np.diff(np.append(starts, len(v)))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.repeat(s / n, sizes)
        dev = np.where(ok, v - mean, 0.0)
        var = np.add.reduceat(dev * dev, starts) / (n - 1)
        out = (v - mean) / np.repeat(np.sqrt(var), sizes)
    return out.astype(np.float32)


def cs_rank(values: np.ndarray, day: np.ndarray) -> np.ndarray:
    """Per-day ``(pct_rank - 0.5) * 3.46`` with average ranks, NaN kept (Qlib's CSRankNorm)."""
    from scipy.stats import rankdata  # here: scipy.stats costs ~1 s to import, rarely needed

    out = np.full(len(values), np.nan, dtype=np.float64)
    bounds = np.append(_starts(day), len(values))
    for a, b in itertools.pairwise(bounds):
        v = values[a:b].astype(np.float64)
        ok = ~np.isnan(v)
        if ok.any():
            seg = out[a:b]
            seg[ok] = (rankdata(v[ok]) / ok.sum() - 0.5) * 3.46
    return out.astype(np.float32)


class Processor:
    """One step of the pipeline; subclasses set the class flags and override the hooks."""

    name: ClassVar[str]
    learn_only: ClassVar[bool]
    uses_future: ClassVar[bool]
    options: ClassVar[tuple[str, ...]] = ()

    def fit(self, x: np.ndarray, y: np.ndarray, day: np.ndarray) -> None:
        """Learn parameters from the train rows (default: nothing to learn)."""

    def apply(
        self, x: np.ndarray, y: np.ndarray, day: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """Return new ``(x, y, keep)``; ``keep`` is a row mask, or None to keep all rows."""
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """Name, options and flags, JSON-safe."""
        opts = {k: getattr(self, k) for k in self.options}
        return {
            "name": self.name,
            **opts,
            "learn_only": self.learn_only,
            "uses_future": self.uses_future,
        }


@dataclass
class DropnaLabel(Processor):
    """Drop rows whose label is NaN (learn rows only)."""

    name: ClassVar[str] = "DropnaLabel"
    learn_only: ClassVar[bool] = True
    uses_future: ClassVar[bool] = True

    def apply(self, x, y, day):  # type: ignore[no-untyped-def]
        return x, y, ~np.isnan(y)


@dataclass
class CSZScoreNorm(Processor):
    """Cross-sectional z-score of the label per day (Qlib ``CSZScoreNorm`` of the label)."""

    name: ClassVar[str] = "CSZScoreNorm"
    learn_only: ClassVar[bool] = True
    uses_future: ClassVar[bool] = True

    def apply(self, x, y, day):  # type: ignore[no-untyped-def]
        return x, cs_zscore(y, day), None


@dataclass
class CSRankNorm(Processor):
    """Cross-sectional rank of the label per day, centred and scaled to unit std."""

    name: ClassVar[str] = "CSRankNorm"
    learn_only: ClassVar[bool] = True
    uses_future: ClassVar[bool] = True

    def apply(self, x, y, day):  # type: ignore[no-untyped-def]
        return x, cs_rank(y, day), None


@dataclass
class RobustZScoreNorm(Processor):
    """Features minus the train median over ``1.4826 * MAD``, clipped to ±3 (``clip``).

    Medians are per feature over all train rows (NaN skipped), fitted on train only.
    """

    clip: bool = True
    name: ClassVar[str] = "RobustZScoreNorm"
    learn_only: ClassVar[bool] = False
    uses_future: ClassVar[bool] = False
    options: ClassVar[tuple[str, ...]] = ("clip",)

    def __post_init__(self) -> None:
        self.center: np.ndarray | None = None
        self.scale: np.ndarray | None = None

    def fit(self, x, y, day):  # type: ignore[no-untyped-def]
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns stay NaN
            self.center = np.nanmedian(x, axis=0)
            mad = np.nanmedian(np.abs(x - self.center), axis=0)
        self.scale = ((mad + np.float32(_EPS)) * np.float32(1.4826)).astype(np.float32)

    def apply(self, x, y, day):  # type: ignore[no-untyped-def]
        if self.center is None or self.scale is None:
            raise RuntimeError("RobustZScoreNorm must be fitted on the train rows first")
        out = (x - self.center) / self.scale
        if self.clip:
            np.clip(out, -3, 3, out=out)
        return out.astype(np.float32, copy=False), y, None


@dataclass
class Fillna(Processor):
    """Replace NaN features by ``value`` (default 0), on every segment."""

    value: float = 0.0
    name: ClassVar[str] = "Fillna"
    learn_only: ClassVar[bool] = False
    uses_future: ClassVar[bool] = False
    options: ClassVar[tuple[str, ...]] = ("value",)

    def apply(self, x, y, day):  # type: ignore[no-untyped-def]
        return np.where(np.isnan(x), np.float32(self.value), x).astype(np.float32), y, None


PROCESSORS: dict[str, type[Processor]] = {
    p.name: p for p in (DropnaLabel, CSZScoreNorm, CSRankNorm, RobustZScoreNorm, Fillna)
}
#: Qlib's Alpha158 handler defaults (learn: DropnaLabel, CSZScoreNorm of the label).
ALPHA158_PROCESSORS: tuple[dict[str, Any], ...] = (
    {"name": "DropnaLabel"},
    {"name": "CSZScoreNorm"},
)


def make_processors(specs: Sequence[Mapping[str, Any]]) -> list[Processor]:
    """Instantiate ``[{"name": ..., **options}]``; unknown names or options raise ValueError."""
    out: list[Processor] = []
    for spec in specs:
        opts = dict(spec)
        name = opts.pop("name", None)
        cls = PROCESSORS.get(str(name))
        if cls is None:
            raise ValueError(f"unknown processor {name!r}; known: {sorted(PROCESSORS)}")
        extra = set(opts) - set(cls.options)
        if extra:
            raise ValueError(f"processor {name} has no options {sorted(extra)}")
        out.append(cls(**opts))
    return out


class Pipeline:
    """Processors in order: fitted on train, then applied per segment."""

    def __init__(self, processors: Sequence[Processor]) -> None:
        self.processors = list(processors)

    def fit(self, x: np.ndarray, y: np.ndarray, day: np.ndarray) -> None:
        """Fit each all-segment processor on the train rows as transformed by the ones
        before it; learn-only steps are left out, so fits see every train row (as Qlib's
        infer processors are fitted before its learn processors run)."""
        for p in self.processors:
            if p.learn_only:
                continue
            p.fit(x, y, day)
            x, y, keep = p.apply(x, y, day)
            if keep is not None:
                x, y, day = x[keep], y[keep], day[keep]

    def apply(
        self, x: np.ndarray, y: np.ndarray, day: np.ndarray, learn: bool
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Transformed ``(x, y, kept row indices)``; ``learn`` also runs learn-only steps."""
        rows = np.arange(len(y))
        for p in self.processors:
            if p.learn_only and not learn:
                continue
            x, y, keep = p.apply(x, y, day)
            if keep is not None:
                x, y, day, rows = x[keep], y[keep], day[keep], rows[keep]
        return x, y, rows

    @property
    def fills_nan(self) -> bool:
        """True when a Fillna step runs on every segment."""
        return any(isinstance(p, Fillna) for p in self.processors)
