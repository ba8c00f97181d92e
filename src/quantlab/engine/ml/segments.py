"""Train / valid / test date segments and rolling retraining windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Span = tuple[str, str]


def _day(value: object) -> np.datetime64:
    return np.datetime64(str(value)[:10], "D")


@dataclass(frozen=True, slots=True)
class Segments:
    """Inclusive ``(start, end)`` ISO dates of the train, valid and test spans.

    They must be ordered train < valid < test without overlap (valid may be left out with
    ``None``: early stopping then watches the training set, as Qlib does without valid).
    """

    train: Span
    valid: Span | None
    test: Span

    def spans(self) -> dict[str, Span]:
        """Name to span, the present ones only, in time order."""
        out = {"train": self.train}
        if self.valid is not None:
            out["valid"] = self.valid
        out["test"] = self.test
        return out

    @property
    def start(self) -> str:
        """First day of the train span."""
        return self.train[0]

    @property
    def end(self) -> str:
        """Last day of the test span."""
        return self.test[1]

    def check(self, calendar: np.ndarray | None = None) -> None:
        """Raise ``ValueError`` for inverted, overlapping or out-of-data spans.

        Parameters
        ----------
        calendar : numpy.ndarray, optional
            ``datetime64[D]`` trading days of the data; every span must hold at least one
            of them (a span may reach past the data, as Qlib's default 2008 start does).
        """
        prev: tuple[str, np.datetime64] | None = None
        for name, (a, b) in self.spans().items():
            lo, hi = _day(a), _day(b)
            if lo > hi:
                raise ValueError(f"segment {name} starts after it ends ({a} > {b})")
            if prev is not None and lo <= prev[1]:
                raise ValueError(f"segment {name} overlaps or precedes segment {prev[0]}")
            prev = (name, hi)
            if calendar is not None and len(calendar):
                if hi < calendar[0] or lo > calendar[-1]:
                    raise ValueError(
                        f"segment {name} [{a}, {b}] is outside the data "
                        f"[{calendar[0]}, {calendar[-1]}]"
                    )
                n_days = int(np.searchsorted(calendar, hi, "right") - np.searchsorted(calendar, lo))
                if n_days == 0:
                    raise ValueError(f"segment {name} holds no trading day")


def rolling_segments(
    calendar: np.ndarray, base: Segments, step: int, expanding: bool = False
) -> list[Segments]:
    """Qlib's ``RollingGen``: shift every span by ``step`` trading days until the test span
    is covered; each run tests on ``step`` days of the original test span.

    Parameters
    ----------
    calendar : numpy.ndarray
        ``datetime64[D]`` trading days covering ``base``.
    base : Segments
        The first window; its test span is the whole span to predict.
    step : int
        Trading days between retrainings (``>= 1``).
    expanding : bool
        Keep the train start fixed (expanding window) instead of sliding it.

    Returns
    -------
    list of Segments
        Non-overlapping test spans that together cover ``base.test``.
    """
    if step < 1:
        raise ValueError("step must be at least 1 trading day")
    base.check(calendar)

    def idx(d: str, side: str = "left") -> int:
        return int(np.searchsorted(calendar, _day(d), side))  # type: ignore[call-overload]

    t0, t1 = idx(base.test[0]), idx(base.test[1], "right") - 1
    spans = base.spans()
    pos = {k: (idx(a), idx(b, "right") - 1) for k, (a, b) in spans.items()}
    out: list[Segments] = []
    k = 0
    while t0 + k * step <= t1:
        shift = k * step
        moved: dict[str, Span] = {}
        for name, (a, b) in pos.items():
            if name == "test":
                a2, b2 = t0 + shift, min(t0 + shift + step - 1, t1)
            else:
                a2 = a if (expanding and name == "train") else a + shift
                b2 = b + shift
            moved[name] = (str(calendar[a2]), str(calendar[b2]))
        out.append(Segments(moved["train"], moved.get("valid"), moved["test"]))
        k += 1
    return out
