"""TA-Lib wrappers equal direct TA-Lib calls, and instruments never contaminate each other.

The panel fixture puts 600519.SH (full history), 002415.SZ (listed 2010-05-28, later
than the calendar start) and 000895.SZ (a 255-day suspension in 2010) on their union
calendar, so the later start and the suspension are NaN stretches inside the arrays.
"""

from __future__ import annotations

import numpy as np
import pytest
import talib
from numpy.testing import assert_allclose
from talib import abstract

from quantlab.engine.data import Panel
from quantlab.engine.indicators import compute, list_indicators

pytestmark = pytest.mark.realdata

TALIB_SPECS = list_indicators(source="talib")
NATIVE_SPECS = list_indicators(source="native")


def test_talib_specs_introspected():
    assert len(TALIB_SPECS) >= 40
    for spec in TALIB_SPECS:
        name = spec.name.removeprefix("talib.")
        info = abstract.Function(name).info  # type: ignore[attr-defined]
        assert spec.defaults() == dict(info["parameters"])
        assert spec.outputs == tuple(info["output_names"])


@pytest.mark.parametrize("spec", TALIB_SPECS, ids=lambda s: s.name)
def test_talib_wrapper_equals_direct_call(spec, maotai):
    func = getattr(talib, spec.name.removeprefix("talib."))
    direct = func(*[maotai[f] for f in spec.inputs], **spec.defaults())
    direct = direct if isinstance(direct, tuple | list) else (direct,)
    out = compute(spec.name, maotai)
    for name, expected in zip(spec.outputs, direct, strict=True):
        expected = np.asarray(expected, dtype=np.float64)
        expected[~np.isfinite(expected)] = np.nan
        assert_allclose(out[name], expected, rtol=0, atol=0, equal_nan=True, err_msg=name)


def _alone(spec_name: str, panel: Panel, j: int) -> dict[str, np.ndarray]:
    """The indicator on instrument ``j``'s own valid bars only, placed back on the calendar."""
    spec = next(s for s in [*TALIB_SPECS, *NATIVE_SPECS] if s.name == spec_name)
    cols = {f: panel.fields[f][:, j] for f in spec.inputs}
    rows = np.flatnonzero(np.logical_and.reduce([np.isfinite(a) for a in cols.values()]))
    res = compute(spec_name, {f: a[rows] for f, a in cols.items()})
    out = {}
    for name, values in res.items():
        full = np.full(len(panel.calendar), np.nan)
        full[rows] = values
        out[name] = full
    return out


@pytest.mark.parametrize("spec", [*NATIVE_SPECS, *TALIB_SPECS], ids=lambda s: s.name)
def test_each_instrument_computed_on_its_own_bars(spec, cn_panel):
    out = compute(spec.name, cn_panel)
    for j in range(len(cn_panel.instruments)):
        alone = _alone(spec.name, cn_panel, j)
        for name in spec.outputs:
            assert out[name].shape == cn_panel.shape
            assert_allclose(
                out[name][:, j], alone[name], rtol=1e-12, atol=1e-12, equal_nan=True,
                err_msg=f"{spec.name}.{name} column {j}",
            )  # fmt: skip


def test_later_start_and_suspension_are_nan_and_warmup_restarts_per_instrument(cn_panel):
    out = compute("MA", cn_panel, {"n": 5})["MA"]
    close = cn_panel.fields["close"]
    listed = int(cn_panel.first[1])
    assert listed > 0 and np.isnan(out[: listed + 4, 1]).all()
    # The listed stock's first MA(5) is its own first five closes, nothing borrowed.
    assert out[listed + 4, 1] == pytest.approx(close[listed : listed + 5, 1].mean())
    gap = np.isnan(close[:, 2]) & (np.arange(len(close)) > cn_panel.first[2])
    assert gap.sum() > 100 and np.isnan(out[gap, 2]).all()
    # Right after the suspension the window spans the last bars before it.
    after = int(np.flatnonzero(gap)[-1]) + 1
    traded = np.flatnonzero(np.isfinite(close[: after + 1, 2]))[-5:]
    assert out[after, 2] == pytest.approx(close[traded, 2].mean())


def test_panel_existence_range_masks_values_outside_it():
    close = np.arange(1.0, 11.0)[:, None] * np.ones((1, 2))
    panel = Panel(
        calendar=np.arange(10).astype("datetime64[D]"),
        instruments=np.array(["A", "B"], dtype=object),
        fields={"close": np.asfortranarray(close)},
        first=np.array([0, 4]),
        last=np.array([9, 9]),
    )
    out = compute("MA", panel, {"n": 2})["MA"]
    assert_allclose(out[:, 0], [np.nan, *((close[:-1, 0] + close[1:, 0]) / 2)])
    # B exists from day 4: its first MA(2) is (5 + 6)/2 on day 5, days 0-4 are NaN.
    assert np.isnan(out[:5, 1]).all() and out[5, 1] == 5.5
