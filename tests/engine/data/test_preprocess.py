"""Preprocessing pipelines: every step by hand on 2 symbols x 5 days, scopes, causality,
spec errors, the preview, and a pipeline on real A-share files against plain pandas."""

from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from quantlab.engine.data.preprocess import (
    PreprocessError,
    apply_pipeline,
    parse_pipeline,
    preview_pipeline,
)
from quantlab.engine.data.readers import read_file

NAN = np.nan
DAYS = pd.date_range("2024-01-01", periods=5)
A_CLOSE = [10.0, NAN, 11.0, 100.0, 12.0]  # 100 is the outlier
B_CLOSE = [NAN, 20.0, 21.0, NAN, 22.0]
A_VOL = [100.0, 200.0, NAN, 400.0, 500.0]
B_VOL = [1000.0, NAN, 3000.0, 4000.0, 5000.0]


@pytest.fixture
def frame() -> pd.DataFrame:
    # newest first and interleaved, so sorting is part of what is tested
    f = pd.DataFrame(
        {
            "date": np.tile(DAYS, 2),
            "symbol": ["A"] * 5 + ["B"] * 5,
            "close": A_CLOSE + B_CLOSE,
            "volume": A_VOL + B_VOL,
        }
    )
    return f.iloc[[9, 4, 8, 3, 7, 2, 6, 1, 5, 0]].reset_index(drop=True)


def run(frame: pd.DataFrame, *specs: dict[str, Any]) -> tuple[pd.DataFrame, list[dict[str, Any]]]:
    return apply_pipeline(frame, list(specs))


def col(out: pd.DataFrame, symbol: str, name: str = "close") -> list[float]:
    return out.loc[out["symbol"] == symbol, name].tolist()


def same(got: list[float], want: list[float]) -> None:
    np.testing.assert_allclose(np.array(got, dtype=float), np.array(want, dtype=float), rtol=1e-12)


# --- missing values --------------------------------------------------------------------


def test_result_is_sorted_and_input_untouched(frame: pd.DataFrame) -> None:
    snapshot = frame.copy()
    out, stats = run(frame, {"op": "fill_missing", "method": "constant", "value": 0})
    pd.testing.assert_frame_equal(frame, snapshot)
    assert out["symbol"].tolist() == ["A"] * 5 + ["B"] * 5
    assert out["date"].tolist() == list(DAYS) * 2
    same(col(out, "A"), [10, 0, 11, 100, 12])
    same(col(out, "B", "volume"), [1000, 0, 3000, 4000, 5000])
    assert stats[0]["cells_changed"] == 5 and stats[0]["scope"] == "per_row"


def test_drop_rows(frame: pd.DataFrame) -> None:
    out, stats = run(frame, {"op": "fill_missing", "method": "drop_rows", "columns": ["close"]})
    same(col(out, "A"), [10, 11, 100, 12])
    same(col(out, "B"), [20, 21, 22])
    assert stats[0]["rows_removed"] == 3 and stats[0]["rows_after"] == 7
    out, stats = run(frame, {"op": "fill_missing", "method": "drop_rows"})  # any column
    assert stats[0]["rows_removed"] == 5


def test_ffill_bfill_interpolate(frame: pd.DataFrame) -> None:
    out, stats = run(frame, {"op": "fill_missing", "method": "ffill", "columns": ["close"]})
    same(col(out, "A"), [10, 10, 11, 100, 12])
    same(col(out, "B"), [NAN, 20, 21, 21, 22])  # never filled from symbol A
    assert stats[0]["cells_changed"] == 2
    out, stats = run(frame, {"op": "fill_missing", "method": "bfill", "columns": ["close"]})
    same(col(out, "A"), [10, 11, 11, 100, 12])
    same(col(out, "B"), [20, 20, 21, 22, 22])
    assert stats[0]["cells_changed"] == 3
    out, _ = run(frame, {"op": "fill_missing", "method": "interpolate"})
    same(col(out, "A"), [10, 10.5, 11, 100, 12])
    same(col(out, "B"), [NAN, 20, 21, 21.5, 22])  # no extrapolation before the first value
    same(col(out, "A", "volume"), [100, 200, 300, 400, 500])
    same(col(out, "B", "volume"), [1000, 2000, 3000, 4000, 5000])


def test_fill_limits() -> None:
    f = pd.DataFrame(
        {"date": pd.date_range("2024-01-01", periods=6), "symbol": "A"}
        | {"x": [1.0, NAN, NAN, NAN, 5.0, NAN]}
    )
    out, _ = run(f, {"op": "fill_missing", "method": "ffill", "limit": 2})
    same(out["x"].tolist(), [1, 1, 1, NAN, 5, 5])
    out, _ = run(f, {"op": "fill_missing", "method": "interpolate", "limit": 2})
    want = f["x"].interpolate(limit=2, limit_area="inside")  # pandas as the reference
    same(out["x"].tolist(), want.tolist())
    same(out["x"].tolist(), [1, 2, 3, NAN, 5, NAN])


def test_mean_median_fill_by_scope(frame: pd.DataFrame) -> None:
    spec = {"op": "fill_missing", "columns": ["close"]}
    out, _ = run(frame, spec | {"method": "mean", "scope": "per_symbol_time"})
    same(col(out, "A"), [10, 133 / 4, 11, 100, 12])
    same(col(out, "B"), [21, 20, 21, 21, 22])
    out, _ = run(frame, spec | {"method": "median", "scope": "per_symbol_time"})
    same(col(out, "A"), [10, 11.5, 11, 100, 12])
    out, _ = run(
        frame, spec | {"method": "mean", "scope": "per_symbol_time", "window": "expanding"}
    )
    same(col(out, "A"), [10, 10, 11, 100, 12])  # only the past: mean of day 1
    same(col(out, "B"), [NAN, 20, 21, 20.5, 22])  # nothing before day 1 to use
    out, _ = run(frame, spec | {"method": "mean", "scope": "per_day_cross_section"})
    same(col(out, "A"), [10, 20, 11, 100, 12])
    same(col(out, "B"), [10, 20, 21, 100, 22])
    out, _ = run(frame, spec | {"method": "mean", "scope": "whole_sample"})
    same(col(out, "B"), [196 / 7, 20, 21, 196 / 7, 22])


# --- outliers --------------------------------------------------------------------------

A_VALID = [10.0, 11.0, 100.0, 12.0]
STD_HI = statistics.mean(A_VALID) + statistics.stdev(A_VALID)  # sample std, ddof=1


@pytest.mark.parametrize(
    ("action", "a_close", "rows"),
    [
        ("clip", [10, NAN, 11, STD_HI, 12], 10),
        ("set_nan", [10, NAN, 11, NAN, 12], 10),
        ("replace_mean", [10, NAN, 11, 33.25, 12], 10),
        ("replace_median", [10, NAN, 11, 11.5, 12], 10),
        ("remove_rows", [10, NAN, 11, 12], 9),
    ],
)
def test_outlier_actions(frame: pd.DataFrame, action: str, a_close: list[float], rows: int) -> None:
    spec = {
        "op": "outliers",
        "detect": "std",
        "n_sigma": 1,
        "action": action,
        "scope": "per_symbol_time",
    }
    out, stats = run(frame, spec | {"columns": ["close"]})
    same(col(out, "A"), a_close)
    same(col(out, "B"), B_CLOSE)  # 20 and 22 sit exactly on 21 +- 1 sigma: kept
    assert stats[0]["outliers"] == {"close": 1}
    assert len(out) == rows and stats[0]["rows_removed"] == 10 - rows
    assert stats[0]["cells_changed"] == (0 if action == "remove_rows" else 1)


def test_outlier_detectors(frame: pd.DataFrame) -> None:
    base = {"op": "outliers", "action": "clip", "scope": "per_symbol_time", "columns": ["close"]}
    # MAD: median 11.5, |dev| 1.5 .5 88.5 .5 -> MAD 1 -> 11.5 +- 3 * 1.4826
    out, stats = run(frame, base | {"detect": "mad"})
    same(col(out, "A"), [10, NAN, 11, 11.5 + 3 * 1.4826, 12])
    assert stats[0]["outliers"] == {"close": 1}
    # IQR: Q1 = 10.75, Q3 = 34 (linear) -> upper 34 + 1.5 * 23.25
    out, _ = run(frame, base | {"detect": "iqr"})
    same(col(out, "A"), [10, NAN, 11, 34 + 1.5 * 23.25, 12])
    # quantiles 10% / 90%: 10.3 and 73.6 -> both ends clipped
    out, stats = run(frame, base | {"detect": "quantile", "lower": 0.1, "upper": 0.9})
    same(col(out, "A"), [10.3, NAN, 11, 73.6, 12])
    same(col(out, "B"), [NAN, 20.2, 21, NAN, 21.8])
    assert stats[0]["outliers"] == {"close": 4}
    q = np.quantile(A_VALID, [0.1, 0.9])  # numpy as the independent reference
    same(col(out, "A")[::4], [q[0], 12])
    same([col(out, "A")[3]], [q[1]])


def test_outliers_cross_section_and_whole_sample() -> None:
    f = pd.DataFrame(
        {
            "date": np.repeat(pd.date_range("2024-01-01", periods=2), 5),
            "symbol": list("VWXYZ") * 2,
            "x": [1.0, 2.0, 3.0, 4.0, 50.0, 100.0, 101.0, 102.0, 103.0, 104.0],
        }
    )
    spec = {"op": "outliers", "detect": "iqr", "action": "set_nan"}
    out, stats = run(f, spec | {"scope": "per_day_cross_section"})
    # day 1: Q1 2, Q3 4, upper 7 -> 50 is out; day 2 is evenly spread
    assert stats[0]["outliers"] == {"x": 1}
    assert np.isnan(out["x"]).sum() == 1 and np.isnan(out.loc[out["symbol"] == "Z", "x"].iloc[0])
    _, stats = run(f, spec | {"scope": "whole_sample"})
    assert stats[0]["outliers"] == {"x": 0}  # across both days nothing is extreme


# --- transforms ------------------------------------------------------------------------


def test_minmax_zscore_rank(frame: pd.DataFrame) -> None:
    out, _ = run(
        frame,
        {
            "op": "transform",
            "method": "minmax",
            "scope": "per_symbol_time",
            "feature_range": [-1, 1],
        },
    )
    same(col(out, "A"), [-1, NAN, -1 + 2 / 90, 1, -1 + 4 / 90])
    same(col(out, "B"), [NAN, -1, 0, NAN, 1])
    out, _ = run(frame, {"op": "transform", "method": "zscore", "scope": "per_day_cross_section"})
    # day 3: A 11, B 21 -> mean 16, sample std sqrt(50)
    same(col(out, "A")[2:3] + col(out, "B")[2:3], [-5 / 50**0.5, 5 / 50**0.5])
    same(col(out, "A")[:1], [NAN])  # one value that day: no spread
    out, _ = run(frame, {"op": "transform", "method": "rank", "scope": "per_symbol_time"})
    same(col(out, "A"), [0.25, NAN, 0.5, 1, 0.75])
    out, _ = run(frame, {"op": "transform", "method": "rank", "scope": "per_day_cross_section"})
    same(col(out, "B"), [NAN, 1, 1, NAN, 1])
    same(col(out, "A"), [1, NAN, 0.5, 1, 0.5])
    out, _ = run(
        frame, {"op": "transform", "method": "zscore", "scope": "per_symbol_time", "window": 2}
    )
    # last two rows each: A day 3 has only 11 (NaN before) -> no spread; day 4 (11, 100)
    same(col(out, "A"), [NAN, NAN, NAN, 89 / 2 / (89 / 2**0.5), -88 / 2 / (88 / 2**0.5)])


def test_cellwise_transforms() -> None:
    f = pd.DataFrame(
        {"date": pd.date_range("2024-01-01", periods=5), "symbol": "A"}
        | {"x": [-2.0, -0.5, 0.0, 2.675, NAN]}
    )
    out, stats = run(f, {"op": "transform", "method": "log1p"})
    same(out["x"].tolist(), [NAN, np.log(0.5), 0, np.log(3.675), NAN])
    assert stats[0]["cells_changed"] == 3  # log1p(0) == 0 is no change
    out, _ = run(f, {"op": "transform", "method": "round", "decimals": 1})
    same(out["x"].tolist(), [-2, -0.5, 0, 2.7, NAN])
    out, stats = run(f, {"op": "transform", "method": "cast", "dtype": "int"})
    assert str(out["x"].dtype) == "Int64"
    assert out["x"].tolist()[:4] == [-2, 0, 0, 2] and out["x"].isna().tolist()[4]
    assert stats[0]["cells_changed"] == 2
    # the next step sees the integers as numbers
    out, _ = run(
        f,
        {"op": "transform", "method": "cast", "dtype": "int"},
        {"op": "fill_missing", "method": "constant", "value": 7},
    )
    same(out["x"].tolist(), [-2, 0, 0, 2, 7])


# --- filters ---------------------------------------------------------------------------


def test_filter_tree(frame: pd.DataFrame) -> None:
    where = {
        "or": [
            {
                "and": [
                    {"column": "close", "op": "gt", "value": 15},
                    {"column": "symbol", "op": "eq", "value": "B"},
                ]
            },
            {"column": "date", "op": "between", "value": ["2024-01-02", "2024-01-03"]},
        ]
    }
    out, stats = run(frame, {"op": "filter", "where": where})
    keys = list(zip(out["symbol"], out["date"].dt.day, strict=True))
    assert keys == [("A", 2), ("A", 3), ("B", 2), ("B", 3), ("B", 5)]
    assert stats[0]["rows_removed"] == 5


@pytest.mark.parametrize(
    ("leaf", "n"),
    [
        ({"column": "close", "op": "ne", "value": 10}, 6),  # NaN matches nothing
        ({"column": "close", "op": "ge", "value": 12}, 5),
        ({"column": "close", "op": "lt", "value": 12}, 2),
        ({"column": "close", "op": "le", "value": 12}, 3),
        ({"column": "volume", "op": "in", "value": [100, 5000]}, 2),
        ({"column": "volume", "op": "not_in", "value": [100, 5000]}, 6),
        ({"column": "symbol", "op": "contains", "value": "B"}, 5),
        ({"column": "symbol", "op": "starts_with", "value": "A"}, 5),
        ({"column": "date", "op": "starts_with", "value": "2024-01-0"}, 10),
        ({"column": "date", "op": "in", "value": ["2024-01-05"]}, 2),
        ({"column": "close", "op": "is_null"}, 3),
        ({"column": "close", "op": "not_null"}, 7),
        ({"not": {"column": "close", "op": "is_null"}}, 7),
    ],
)
def test_filter_leaves(frame: pd.DataFrame, leaf: dict[str, Any], n: int) -> None:
    out, _ = run(frame, {"op": "filter", "where": leaf})
    assert len(out) == n


def test_filter_dates_and_symbols(frame: pd.DataFrame) -> None:
    out, _ = run(frame, {"op": "filter", "start": "2024-01-02", "end": "2024-01-03"})
    assert sorted(set(out["date"].dt.day)) == [2, 3] and len(out) == 4
    out, _ = run(frame, {"op": "filter", "symbols": ["B"]})
    assert set(out["symbol"]) == {"B"}
    out, _ = run(frame, {"op": "filter", "exclude_symbols": ["B"], "end": "2024-01-01"})
    assert out["symbol"].tolist() == ["A"] and len(out) == 1


# --- scopes and future information -----------------------------------------------------

PER_SYMBOL = [
    {"op": "fill_missing", "method": "ffill"},
    {"op": "fill_missing", "method": "bfill"},
    {"op": "fill_missing", "method": "interpolate"},
    {"op": "fill_missing", "method": "mean", "scope": "per_symbol_time"},
    {"op": "fill_missing", "method": "median", "scope": "per_symbol_time", "window": "expanding"},
    {"op": "outliers", "detect": "mad", "action": "clip", "scope": "per_symbol_time"},
    {
        "op": "outliers",
        "detect": "iqr",
        "action": "set_nan",
        "scope": "per_symbol_time",
        "window": 3,
    },
    {"op": "transform", "method": "zscore", "scope": "per_symbol_time"},
    {"op": "transform", "method": "rank", "scope": "per_symbol_time", "window": "expanding"},
    {"op": "transform", "method": "minmax", "scope": "per_symbol_time", "window": 2},
]
CROSS_SECTION = [
    {"op": "fill_missing", "method": "median", "scope": "per_day_cross_section"},
    {"op": "outliers", "detect": "std", "action": "replace_mean", "scope": "per_day_cross_section"},
    {"op": "transform", "method": "rank", "scope": "per_day_cross_section"},
    {"op": "transform", "method": "minmax", "scope": "per_day_cross_section"},
]


@pytest.mark.parametrize(
    "spec", PER_SYMBOL, ids=lambda s: f"{s['op']}-{s.get('method', s.get('detect'))}"
)
def test_per_symbol_steps_never_mix_symbols(frame: pd.DataFrame, spec: dict[str, Any]) -> None:
    out, _ = run(frame, spec)
    other = frame.copy()
    b = other["symbol"] == "B"
    other.loc[b, ["close", "volume"]] = other.loc[b, ["close", "volume"]] * 1000 + 7
    out2, _ = run(other, spec)
    pd.testing.assert_frame_equal(out[out["symbol"] == "A"], out2[out2["symbol"] == "A"])


@pytest.mark.parametrize(
    "spec", CROSS_SECTION, ids=lambda s: f"{s['op']}-{s.get('method', s.get('detect'))}"
)
def test_cross_section_steps_never_mix_days(frame: pd.DataFrame, spec: dict[str, Any]) -> None:
    out, _ = run(frame, spec)
    other = frame.copy()
    last = other["date"] == DAYS[-1]
    other.loc[last, ["close", "volume"]] = [[-5e6, 9e9], [3e5, NAN]]
    out2, _ = run(other, spec)
    early = out["date"] < DAYS[-1]
    pd.testing.assert_frame_equal(out[early], out2[out2["date"] < DAYS[-1]])


ALL = (
    PER_SYMBOL
    + CROSS_SECTION
    + [
        {"op": "fill_missing", "method": "mean", "scope": "whole_sample"},
        {"op": "transform", "method": "zscore", "scope": "whole_sample"},
        {"op": "transform", "method": "log1p"},
        {"op": "fill_missing", "method": "constant", "value": 1},
    ]
)
FUTURE = {"bfill", "interpolate", "mean@per_symbol_time", "mad", "zscore@per_symbol_time"}


@pytest.mark.parametrize(
    "spec",
    ALL,
    ids=lambda s: (
        f"{s['op']}-{s.get('method', s.get('detect'))}-{s.get('scope', '')}-{s.get('window', '')}"
    ),
)
def test_future_flag_is_honest(frame: pd.DataFrame, spec: dict[str, Any]) -> None:
    """A step flagged causal must give the same past rows whatever the last day holds."""
    _, stats = run(frame, spec)
    flagged = stats[0]["uses_future_information"]
    expected = spec.get("scope") == "whole_sample" or (
        spec.get("method") in ("bfill", "interpolate")
        or (spec.get("scope") == "per_symbol_time" and spec.get("window", "full") == "full")
    )
    assert flagged is expected
    if flagged:
        return
    other = frame.copy()
    last = other["date"] == DAYS[-1]
    other.loc[last, ["close", "volume"]] = [[-5e6, 9e9], [3e5, NAN]]
    out, _ = run(frame, spec)
    out2, _ = run(other, spec)
    early = out["date"] < DAYS[-1]
    pd.testing.assert_frame_equal(out[early], out2[out2["date"] < DAYS[-1]])


def test_look_ahead_steps_do_change_the_past(frame: pd.DataFrame) -> None:
    spec = {"op": "fill_missing", "method": "bfill", "columns": ["close"]}
    other = frame.copy()
    other.loc[(other["symbol"] == "B") & (other["date"] == DAYS[-1]), "close"] = 99.0
    assert col(run(frame, spec)[0], "B")[3] == 22 and col(run(other, spec)[0], "B")[3] == 99


# --- spec errors -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ({"method": "ffill"}, ["'op'", "fill_missing"]),
        ({"op": "fill_missing"}, ["'method'", "required", "ffill"]),
        ({"op": "fill_missing", "method": "average"}, ["'method'", "'average'", "median"]),
        ({"op": "fill_missing", "method": "mean"}, ["'scope'", "per_day_cross_section"]),
        (
            {"op": "fill_missing", "method": "ffill", "scope": "whole_sample"},
            ["'scope'", "per_symbol_time"],
        ),
        ({"op": "fill_missing", "method": "constant"}, ["'value'", "required"]),
        ({"op": "fill_missing", "method": "ffill", "fill": 1}, ["unknown keys", "'fill'"]),
        (
            {
                "op": "outliers",
                "detect": "std",
                "action": "clip",
                "scope": "whole_sample",
                "n_sigma": 7,
            },
            ["'n_sigma'", "1 and 5"],
        ),
        (
            {
                "op": "outliers",
                "detect": "mad",
                "action": "clip",
                "scope": "per_symbol_time",
                "window": 5,
            },
            ["'window'", "mad"],
        ),
        (
            {
                "op": "outliers",
                "detect": "quantile",
                "action": "clip",
                "scope": "whole_sample",
                "lower": 0.9,
                "upper": 0.1,
            },
            ["'lower'", "below"],
        ),
        (
            {"op": "outliers", "detect": "std", "action": "drop", "scope": "whole_sample"},
            ["'action'", "remove_rows"],
        ),
        (
            {"op": "transform", "method": "zscore", "scope": "per_day_cross_section", "window": 5},
            ["'window'", "per_symbol_time"],
        ),
        (
            {"op": "transform", "method": "zscore", "scope": "per_symbol_time", "window": 1},
            ["'window'", ">= 2"],
        ),
        (
            {"op": "transform", "method": "round", "scope": "whole_sample"},
            ["'scope'", "cell by cell"],
        ),
        (
            {
                "op": "transform",
                "method": "minmax",
                "scope": "whole_sample",
                "feature_range": [1, 0],
            },
            ["'feature_range'", "low < high"],
        ),
        ({"op": "transform", "method": "cast", "dtype": "str"}, ["'dtype'", "float, int"]),
        ({"op": "transform", "method": "log1p", "columns": "close"}, ["'columns'", "list"]),
        ({"op": "filter"}, ["at least one of", "where"]),
        ({"op": "filter", "start": "last year"}, ["'start'", "ISO date"]),
        (
            {"op": "filter", "where": {"column": "close", "op": "bigger", "value": 1}},
            ["where", "'bigger'", "between"],
        ),
        (
            {"op": "filter", "where": {"column": "close", "op": "between", "value": 1}},
            ["where", "[low, high]"],
        ),
        ({"op": "filter", "where": {"and": []}}, ["where.and", "non-empty"]),
        (
            {"op": "filter", "where": {"or": [{"column": "close", "op": "is_null", "value": 1}]}},
            ["where.or[0]", "no 'value'"],
        ),
    ],
)
def test_bad_specs_name_the_problem(spec: dict[str, Any], words: list[str]) -> None:
    with pytest.raises(PreprocessError) as info:
        parse_pipeline([{"op": "fill_missing", "method": "ffill"}, spec])
    message = str(info.value)
    assert message.startswith("step 2")
    for word in words:
        assert word in message, message


def test_frame_dependent_errors(frame: pd.DataFrame) -> None:
    with pytest.raises(PreprocessError, match=r"unknown column\(s\) \['open'\]"):
        run(frame, {"op": "transform", "method": "log1p", "columns": ["open"]})
    with pytest.raises(PreprocessError, match="not numeric"):
        run(frame, {"op": "transform", "method": "log1p", "columns": ["symbol"]})
    with pytest.raises(PreprocessError, match="'close' is numeric"):
        run(frame, {"op": "filter", "where": {"column": "close", "op": "gt", "value": "ten"}})
    with pytest.raises(PreprocessError, match="must be a list"):
        parse_pipeline({"op": "filter"})  # type: ignore[arg-type]
    assert issubclass(PreprocessError, ValueError)


# --- preview ---------------------------------------------------------------------------


def test_preview(frame: pd.DataFrame) -> None:
    specs = [
        {"op": "fill_missing", "method": "ffill", "columns": ["close"]},
        {
            "op": "outliers",
            "detect": "std",
            "n_sigma": 1.5,
            "action": "remove_rows",
            "scope": "per_symbol_time",
            "columns": ["close"],
        },
    ]
    p = preview_pipeline(frame, specs, sample_rows=4, bins=3)
    json.dumps(p, allow_nan=False)  # JSON-safe: no NaN anywhere
    assert (p["rows_before"], p["rows_after"]) == (10, 9)
    assert p["uses_future_information"] is True
    assert [s["op"] for s in p["steps"]] == ["fill_missing", "outliers"]
    assert p["steps"][0]["cells_changed"] == 2 and p["steps"][1]["rows_removed"] == 1
    before, after = p["sample"]["before"], p["sample"]["after"]
    assert len(before) == len(after) == 4
    # changed rows come first: the two filled cells and the removed outlier row
    keys = [(r["symbol"], r["date"]) for r in before]
    assert (
        ("A", "2024-01-04") in keys and ("A", "2024-01-02") in keys and ("B", "2024-01-04") in keys
    )
    for b, a in zip(before, after, strict=True):
        if (b["symbol"], b["date"]) == ("A", "2024-01-04"):
            assert a is None and b["close"] == 100
        else:
            assert (a["symbol"], a["date"]) == (b["symbol"], b["date"])
    filled = next(
        a
        for b, a in zip(before, after, strict=True)
        if (b["symbol"], b["date"]) == ("A", "2024-01-02")
    )
    assert filled["close"] == 10
    hist = p["distributions"]["close"]
    assert hist["edges"] == [10.0, 40.0, 70.0, 100.0]
    assert hist["before"] == [6, 0, 1] and hist["after"] == [8, 0, 0]
    assert (hist["missing_before"], hist["missing_after"], hist["outliers"]) == (3, 1, 1)
    vol = p["distributions"]["volume"]
    assert vol["changed"] == 0 and sum(vol["after"]) == sum(vol["before"]) - 1  # the removed row


# --- real data -------------------------------------------------------------------------

REAL = ["000001.SZ", "600000.SH", "600519.SH"]


def test_real_pipeline_matches_pandas(realdata: Path) -> None:
    folder = realdata / "cn" / "qbot_tushare_qfq_2010_2020"
    frame = pd.concat([read_file(folder / f"{s}.csv").frame for s in REAL], ignore_index=True)
    specs = [
        {
            "op": "filter",
            "start": "2015-01-01",
            "end": "2016-12-31",
            "exclude_symbols": ["600000.SH"],
        },
        {
            "op": "outliers",
            "detect": "iqr",
            "action": "clip",
            "scope": "per_symbol_time",
            "columns": ["pct_chg"],
        },
        {
            "op": "transform",
            "method": "zscore",
            "scope": "per_day_cross_section",
            "columns": ["close"],
        },
        {
            "op": "transform",
            "method": "rank",
            "scope": "per_symbol_time",
            "window": 20,
            "columns": ["volume"],
        },
    ]
    out, stats = apply_pipeline(frame, specs)

    ref = frame[(frame["date"] >= "2015-01-01") & (frame["date"] <= "2016-12-31")]
    ref = ref[ref["symbol"] != "600000.SH"].sort_values(["symbol", "date"]).reset_index(drop=True)
    assert len(out) == len(ref) > 900 and stats[0]["rows_removed"] == len(frame) - len(ref)
    for sym, grp in ref.groupby("symbol"):
        q1, q3 = np.percentile(grp["pct_chg"], [25, 75])
        lo, hi = q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1)
        got = out.loc[out["symbol"] == sym, "pct_chg"].to_numpy()
        np.testing.assert_allclose(got, grp["pct_chg"].clip(lo, hi).to_numpy())
        assert stats[1]["outliers"]["pct_chg"] > 0
        vol = grp["volume"].to_numpy()
        want = [
            (np.sum(w < w[-1]) + (np.sum(w == w[-1]) + 1) / 2) / len(w)
            for w in (vol[max(0, i - 19) : i + 1] for i in range(len(vol)))
        ]
        np.testing.assert_allclose(out.loc[out["symbol"] == sym, "volume"].to_numpy(), want)
    by_day = ref.groupby("date")["close"]
    z = (ref["close"] - by_day.transform("mean")) / by_day.transform("std")
    np.testing.assert_allclose(out["close"].to_numpy(), z.to_numpy(), equal_nan=True)
    assert out["close"].notna().sum() > 900  # most days have both symbols
    assert [s["uses_future_information"] for s in stats] == [False, True, False, False]
