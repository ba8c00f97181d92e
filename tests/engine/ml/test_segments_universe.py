"""Segments, rolling windows and dated universe membership."""

from __future__ import annotations

import numpy as np
import pytest

from quantlab.engine.data import Panel
from quantlab.engine.ml.segments import Segments, rolling_segments
from quantlab.engine.ml.universe import membership_mask

CAL = np.arange(np.datetime64("2024-01-01"), np.datetime64("2024-01-20"))


def test_segments_refuse_overlap_inversion_and_outside_data() -> None:
    Segments(
        ("2024-01-01", "2024-01-05"), ("2024-01-06", "2024-01-08"), ("2024-01-09", "2024-01-19")
    ).check(CAL)
    with pytest.raises(ValueError, match="overlaps"):
        Segments(
            ("2024-01-01", "2024-01-06"), ("2024-01-06", "2024-01-08"), ("2024-01-09", "2024-01-10")
        ).check()
    with pytest.raises(ValueError, match="starts after it ends"):
        Segments(("2024-01-05", "2024-01-01"), None, ("2024-01-09", "2024-01-10")).check()
    with pytest.raises(ValueError, match="outside the data"):
        Segments(("2023-12-01", "2024-01-05"), None, ("2024-02-09", "2024-02-10")).check(CAL)
    # a span may reach past the data (Qlib's configs start in 2008 on data from 2010)
    Segments(("2023-12-01", "2024-01-05"), None, ("2024-01-09", "2024-01-10")).check(CAL)
    with pytest.raises(ValueError, match="overlaps or precedes"):
        Segments(("2024-01-05", "2024-01-06"), None, ("2024-01-01", "2024-01-02")).check()


def test_rolling_segments_by_hand() -> None:
    base = Segments(
        ("2024-01-01", "2024-01-04"), ("2024-01-05", "2024-01-06"), ("2024-01-07", "2024-01-11")
    )
    slide = rolling_segments(CAL, base, step=2)
    assert [s.test for s in slide] == [
        ("2024-01-07", "2024-01-08"),
        ("2024-01-09", "2024-01-10"),
        ("2024-01-11", "2024-01-11"),
    ]
    assert slide[1].train == ("2024-01-03", "2024-01-06")
    assert slide[1].valid == ("2024-01-07", "2024-01-08")
    grow = rolling_segments(CAL, base, step=2, expanding=True)
    assert grow[2].train == ("2024-01-01", "2024-01-08")
    with pytest.raises(ValueError):
        rolling_segments(CAL, base, step=0)


def test_dated_membership_keeps_a_name_only_while_member() -> None:
    close = np.ones((6, 3))
    close[:2, 2] = np.nan  # C starts trading on day 2
    panel = Panel.from_arrays(CAL[:6], ["A", "B", "C"], {"close": close})
    spans = {
        "A": [("2024-01-02", "2024-01-03"), ("2024-01-06", "2024-01-06")],
        "c": [("2024-01-01", "2024-01-06")],
        "Z": [("2024-01-01", "2024-01-06")],
    }
    mask = membership_mask(panel, spans)
    assert mask[:, 0].tolist() == [False, True, True, False, False, True]
    assert not mask[:, 1].any()
    assert mask[:, 2].tolist() == [False, False, True, True, True, True]
    assert membership_mask(panel, ["b"])[:, 1].all()
    assert membership_mask(panel, None).sum() == 16
    with pytest.raises(KeyError):
        membership_mask(panel, ["Q"])
    with pytest.raises(KeyError):
        membership_mask(panel, "csi300")  # the panel was not read for that market
