"""The system templates: at least 15 in every category, each a valid spec that runs through
``engine.run`` on the synthetic market and on real A-share and US data; structural checks
and plain-language descriptions on hand cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from quantlab import engine
from quantlab.engine.data import Panel
from quantlab.engine.data.demo import demo_frame
from quantlab.engine.data.frame import frame_to_panel
from quantlab.engine.library import CATEGORIES, TEMPLATES, check, describe
from quantlab.engine.library.examples import compute_example, template_spec
from quantlab.engine.spec import RunSpec

CN = [
    "000001.SZ",
    "000002.SZ",
    "300059.SZ",
    "600036.SH",
    "600519.SH",
    "601318.SH",
    "000063.SZ",
    "600000.SH",
]
US = ["AAPL", "MSFT", "XOM", "JPM", "DHR", "AAL", "KO", "PG"]


@pytest.fixture(scope="module")
def demo_panel() -> Panel:
    return frame_to_panel(demo_frame(n_symbols=40, n_days=400))


def _wide(df: pd.DataFrame, date: str, code: str, fields: dict[str, str]) -> Panel:
    wide = {k: df.pivot(index=date, columns=code, values=v).sort_index() for k, v in fields.items()}
    first = next(iter(wide.values()))
    cal = pd.to_datetime(first.index.astype(str)).values.astype("datetime64[D]")
    return Panel.from_arrays(cal, list(first.columns), {k: w.values for k, w in wide.items()})


def test_catalog_size_and_categories() -> None:
    assert len(TEMPLATES) >= 15
    assert {t.category for t in TEMPLATES.values()} == set(CATEGORIES)
    for t in TEMPLATES.values():
        assert t.name.zh and t.name.en and t.description.zh and t.description.en
        for p in t.parameters:
            assert p.description.zh and p.description.en


@pytest.mark.parametrize("key", sorted(TEMPLATES))
def test_each_template_runs_on_the_demo_market(key: str, demo_panel: Panel) -> None:
    template = TEMPLATES[key]
    spec = template_spec(template, "demo")
    assert check(spec) == []
    if template.requires_fields:
        problems = check(spec, demo_panel.fields)
        assert problems and all(f in problems[0]["message"] for f in template.requires_fields)
        return
    example = compute_example(spec, demo_panel, years=1, benchmark="DEMO.IDX")
    result = engine.run(
        spec,
        demo_panel,
        start=example["start"],
        end=example["end"],
        benchmark="DEMO.IDX",
        diagnostics=False,
    )
    # the example is exactly a direct engine run of the same spec
    assert example["metrics"]["total_return"] == pytest.approx(result.metrics["total_return"])
    assert example["curve"][-1][1] == pytest.approx(
        result.equity[-1] / spec.initial_capital, abs=1e-6
    )
    assert len(example["curve"]) <= 121 and example["curve"][-1][0] == example["end"]
    assert np.isfinite(result.equity).all()


@pytest.mark.realdata
def test_templates_on_real_a_shares_and_us_stocks(realdata) -> None:
    cn = pd.concat(
        [pd.read_csv(realdata / "cn/qbot_tushare_qfq_2010_2020" / f"{c}.csv") for c in CN]
    )
    cn["vol"] *= 100  # lots -> shares
    prices = {k: k for k in ("open", "high", "low", "close")}
    cn_panel = _wide(cn, "trade_date", "ts_code", {**prices, "volume": "vol"})
    us = pd.concat([pd.read_csv(realdata / "us/sp500_5yr" / f"{c}_data.csv") for c in US])
    us_panel = _wide(us, "date", "Name", {k: k for k in ("open", "high", "low", "close", "volume")})
    for panel, preset in ((cn_panel, "cn_a_share"), (us_panel, "us_equity")):
        for key, template in TEMPLATES.items():
            if template.requires_fields:
                continue
            spec = template_spec(template, "real", preset=preset)
            result = engine.run(spec, panel, start=panel.calendar[-500], diagnostics=False)
            assert np.isfinite(result.equity).all(), key
            assert (result.simulation.cash >= -1e-6).all(), key
            if preset == "cn_a_share" and len(result.simulation.trades):
                buys = result.simulation.trades.side == 1
                assert (result.simulation.trades.quantity[buys] % 100 == 0).all(), key


def _spec(strategy: dict, **extra) -> RunSpec:
    return RunSpec.model_validate({"dataset_id": "-", "strategy": strategy, **extra})


def test_structural_checks_hand_cases() -> None:
    signals = {"kind": "signals", "entry": "$close > Mean($close, 5)", "exit": "0"}
    (p,) = check(_spec(signals))
    assert p["path"] == "strategy.exit" and "no exit path" in p["message"]
    assert check(_spec(signals, execution={"stop_loss": "percent", "stop_loss_value": 0.1})) == []
    (p,) = check(_spec(signals, execution={"stop_loss": "percent", "stop_loss_value": 0.0}))
    assert p["path"] == "execution.stop_loss_value" and "wrong side" in p["message"]
    weights = {"kind": "weights", "static": {"A": 0.7, "B": 0.6}}
    (p,) = check(_spec(weights))
    assert "130.0%" in p["message"] and p["path"] == "strategy.static"
    future = {"kind": "scores", "score": "Ref($close, -1) / $close"}
    (p,) = check(_spec(future))
    assert "future" in p["message"] and p["path"] == "strategy.score"
    (p,) = check(_spec({"kind": "scores", "score": "$pe"}), fields=["close"])
    assert "$pe" in p["message"]


def test_description_in_both_languages() -> None:
    spec = template_spec(TEMPLATES["dual_moving_average"], "-")
    words = describe(spec)
    assert words["en"].startswith(
        "Buys when 10-day average of the close crosses above 30-day average of the close"
    )
    assert "上穿" in words["zh-CN"] and "下穿" in words["zh-CN"]
    stop = describe(template_spec(TEMPLATES["ma_trend_with_stop"], "-"))
    assert "stop-loss at 0.08 (percent)" in stop["en"]
