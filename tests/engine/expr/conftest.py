"""Tiny hand-made panels for the expression tests."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from quantlab.engine.data import Panel

NAN = np.nan


def make_panel(fields: dict[str, list[list[float]]], first: list[int], last: list[int]) -> Panel:
    """Panel from per-instrument series (lists over days), with explicit existence ranges."""
    arrays = {k: np.asfortranarray(np.array(v, dtype=np.float64).T) for k, v in fields.items()}
    t, n = next(iter(arrays.values())).shape
    return Panel(
        calendar=np.datetime64("2024-01-01") + np.arange(t),
        instruments=np.array([f"I{i}" for i in range(n)], dtype=object),
        fields=arrays,
        first=np.array(first, dtype=np.int64),
        last=np.array(last, dtype=np.int64),
    )


@pytest.fixture
def panel_of() -> Callable[..., Panel]:
    """:func:`make_panel`, for tests that build their own small panel."""
    return make_panel


@pytest.fixture
def tiny() -> Panel:
    """I0 lives days 0-5 with a suspension (NaN) on day 2; I1 is born on day 2 and is flat.

    I1's values before its birth are 99, which must never be seen (Qlib: it does not exist
    there), and I2 never exists.
    """
    return make_panel(
        {
            "close": [[1, 3, NAN, 2, 2, 5], [99, 99, 4, 4, 4, 4], [7, 7, 7, 7, 7, 7]],
            "open": [[2, 2, 1, 2, 3, 3], [99, 99, 4, 4, 4, 4], [7, 7, 7, 7, 7, 7]],
        },
        first=[0, 2, -1],
        last=[5, 5, -1],
    )
