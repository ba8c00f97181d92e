"""Catalog look-up, search, parameter validation and availability."""

from __future__ import annotations

import json

import numpy as np
import pytest

from quantlab.engine.indicators import (
    CATEGORIES,
    SOURCES,
    IndicatorParameterError,
    IndicatorUnavailableError,
    UnknownIndicatorError,
    availability,
    compute,
    get_indicator,
    list_indicators,
)

CLOSE = {"close": np.linspace(10.0, 20.0, 50)}


def test_catalog_sizes_and_well_formed_specs():
    by_source = {src: list_indicators(source=src) for src in SOURCES}
    assert len(by_source["native"]) >= 20
    assert len(by_source["talib"]) >= 40
    assert len(by_source["financial"]) >= 10
    for spec in list_indicators():
        assert spec.category in CATEGORIES and spec.source in SOURCES
        assert spec.zh_name and spec.en_name and spec.outputs and spec.inputs
        assert spec.formula and spec.func is not None
        for p in spec.params:
            assert p.minimum <= p.default <= p.maximum, (spec.name, p)
        json.dumps(spec.to_dict(), ensure_ascii=False)


def test_search_and_filters():
    names = {s.name for s in list_indicators(search="布林")}
    assert {"BOLL", "talib.BBANDS"} <= names
    assert {"MACD", "talib.MACD"} <= {s.name for s in list_indicators(search="macd")}
    assert "MTM" in {s.name for s in list_indicators(search="MOM")}
    volume = list_indicators(category="volume")
    assert volume and all(s.category == "volume" for s in volume)
    assert {s.name for s in list_indicators(search="rsi", category="oscillator")} >= {"RSI"}
    with pytest.raises(ValueError, match="category"):
        list_indicators(category="momentum")


def test_get_indicator_is_case_insensitive():
    assert get_indicator("macd").name == "MACD"
    assert get_indicator("TALIB.bbands").name == "talib.BBANDS"
    with pytest.raises(UnknownIndicatorError) as err:
        get_indicator("NOPE")
    assert isinstance(err.value, LookupError) and err.value.name == "NOPE"


@pytest.mark.parametrize(
    ("name", "params", "bad"),
    [
        ("MA", {"n": 0}, "n"),
        ("MA", {"n": 5001}, "n"),
        ("MA", {"n": 2.5}, "n"),
        ("MA", {"n": True}, "n"),
        ("MA", {"n": "5"}, "n"),
        ("MA", {"window": 5}, "window"),
        ("BOLL", {"k": -1.0}, "k"),
        ("BOLL", {"k": float("nan")}, "k"),
        ("talib.RSI", {"timeperiod": 1}, "timeperiod"),
        ("talib.MA", {"matype": 99}, "matype"),
    ],
)
def test_parameter_errors_name_the_parameter_and_range(name, params, bad):
    with pytest.raises(IndicatorParameterError) as err:
        compute(name, CLOSE, params)
    assert err.value.param == bad and err.value.indicator == get_indicator(name).name
    if bad != "window":
        spec = get_indicator(name).param(bad)
        assert (err.value.minimum, err.value.maximum) == (spec.minimum, spec.maximum)
        assert str(spec.minimum) in str(err.value)


def test_integral_floats_are_accepted_for_int_parameters():
    a = compute("MA", CLOSE, {"n": 5.0})["MA"]
    b = compute("MA", CLOSE, {"n": np.int64(5)})["MA"]
    np.testing.assert_array_equal(a, b)


def test_unavailable_names_missing_fields():
    ok, reason = availability("OBV", ["close"])
    assert not ok and "volume" in reason
    assert availability(get_indicator("OBV"), {"close", "volume"}) == (True, "")
    with pytest.raises(IndicatorUnavailableError) as err:
        compute("OBV", CLOSE)
    assert err.value.missing == ("volume",)


def test_shapes_must_agree_and_two_d_output_is_fortran():
    with pytest.raises(ValueError, match="shape"):
        compute("ATR", {"high": np.ones(5), "low": np.ones(4), "close": np.ones(5)})
    out = compute("MACD", {"close": np.ones((30, 3))})
    assert all(v.shape == (30, 3) and v.flags.f_contiguous for v in out.values())
