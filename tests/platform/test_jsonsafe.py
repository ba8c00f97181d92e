"""``json_safe``: the one conversion of computed values to strict JSON."""

from __future__ import annotations

import json
import math

import numpy as np

from quantlab.platform.jsonsafe import json_safe


def test_non_finite_floats_become_null_at_any_depth() -> None:
    value = {
        "a": math.nan,
        "b": [math.inf, -math.inf, 1.5, (np.float32("nan"), np.float64(2.25))],
        3: {"c": np.array([1.0, np.nan, np.inf])},
    }
    out = json_safe(value)
    assert out == {"a": None, "b": [None, None, 1.5, [None, 2.25]], "3": {"c": [1.0, None, None]}}
    # strict JSON (what Starlette writes) accepts it
    assert json.loads(json.dumps(out, allow_nan=False)) == out


def test_numpy_scalars_and_arrays_become_python_types() -> None:
    out = json_safe([np.int64(7), np.bool_(True), np.float64(0.5), np.str_("x"), np.zeros((2, 2))])
    assert out == [7, True, 0.5, "x", [[0.0, 0.0], [0.0, 0.0]]]
    assert [type(v) for v in out[:4]] == [int, bool, float, str]
    assert json_safe(np.array(np.nan)) is None  # 0-d array


def test_plain_values_pass_unchanged() -> None:
    assert json_safe(None) is None
    assert json_safe("NaN") == "NaN"  # text is not a number
    assert json_safe(True) is True
    assert json_safe(10**20) == 10**20
