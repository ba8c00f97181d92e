"""``quantlab.engine.run`` / ``run_batch``: warm-up history, first-day market rules, the
spec's parameters and variants, resumable chunks, and stored-spec migration."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from tests.backtests.conftest import dual_ma, market_frame
from tests.engine.backtest._simkit import make_panel

from quantlab import engine
from quantlab.engine.backtest.enums import RejectReason
from quantlab.engine.backtest.simulator import Simulator
from quantlab.engine.backtest.strategies import Signals
from quantlab.engine.spec import RunSpec, apply_variant, migrate


def _panel_from_frame():  # the synthetic market of the backtest tests, as a panel
    from quantlab.engine.data import Panel

    frame = market_frame()
    wide = frame.pivot(index="date", columns="symbol")
    cal = wide.index.to_numpy().astype("datetime64[D]")
    names = list(wide["close"].columns)
    fields = {f: wide[f].to_numpy(dtype=np.float64) for f in frame.columns[2:]}
    return Panel.from_arrays(cal, names, fields)


def _limit_up_spec(**extra: object) -> RunSpec:
    body = {
        "dataset_id": "d",
        "initial_capital": 100_000,
        "preset": "cn_a_share",
        "execution": {"price": "close"},
        "strategy": {"kind": "signals", "entry": "$close > 0", "exit": "$close < 0"},
        **extra,
    }
    return RunSpec.model_validate(body)


def test_a_buy_at_a_limit_up_close_on_the_first_day_is_refused() -> None:
    # Hand-computed: the close goes 10.00 → 10.00 → 11.00; the 10 % limit over the previous
    # close 10.00 is round(10.00 × 1.10, 2) = 11.00, so a buy at day 3's close of 11.00 sits
    # on the limit and is refused. The run starts on day 3; day 2's close comes from the
    # history before the start. Nothing fills: the 100,000.00 cash stays.
    panel = make_panel([10.0, 10.0, 11.0], codes=("600000.SH",))
    day3 = panel.calendar[2]
    result = engine.run(_limit_up_spec(), panel, start=day3, end=day3)
    assert result.simulation.days_run == 1
    assert len(result.trades) == 0
    assert result.simulation.cash[0, 0] == pytest.approx(100_000.00, abs=1e-9)
    assert result.equity[-1] == pytest.approx(100_000.00, abs=1e-9)
    assert [RejectReason(int(r)) for r in result.rejected.reason] == [RejectReason.LIMIT_UP]
    # the same close one day later (limit 12.10) is an ordinary fill
    later = make_panel([10.0, 10.0, 11.0, 11.0], codes=("600000.SH",))
    filled = engine.run(_limit_up_spec(), later, start=later.calendar[3])
    assert len(filled.trades) == 1 and filled.trades.price[0] == 11.0


def test_the_simulator_reads_warmup_rows_only_for_the_rules() -> None:
    panel = make_panel([10.0, 10.0, 11.0, 11.5])
    strategy = Signals(np.ones((2, 1), bool), np.zeros((2, 1), bool))
    cfg = _limit_up_spec().model_copy()
    from quantlab.engine.backtest.config import from_spec

    sim = Simulator(panel, strategy, from_spec(cfg), warmup=2)
    res = sim.run()
    assert list(res.calendar) == list(panel.calendar[2:])
    assert RejectReason(int(res.rejections.reason[0])) == RejectReason.LIMIT_UP
    assert res.trades.day.tolist() == [1]  # day 4: 11.50 is under the 12.10 limit
    with pytest.raises(ValueError, match="warmup"):
        Simulator(panel, strategy, from_spec(cfg), warmup=4)


def test_run_keeps_only_the_warmup_it_needs_and_matches_a_full_history_run() -> None:
    panel = _panel_from_frame()
    spec = RunSpec.model_validate(dual_ma("d"))
    full = engine.run(spec, panel, start=spec.start, end=None)
    # a panel cut 20 days (the longest window) before the start gives the same run
    first = int(np.searchsorted(panel.calendar, np.datetime64(spec.start)))
    cut = panel.select(start=panel.calendar[first - 20])
    short = engine.run(spec, cut, start=spec.start, end=None)
    assert len(full.trades) > 4
    np.testing.assert_array_equal(full.equity, short.equity)
    assert full.metrics["sharpe_ratio"] == short.metrics["sharpe_ratio"]
    assert str(full.dates[0]) == "2023-03-01"
    assert full.monthly and full.diagnostics and full.drawdown.min() < 0
    assert full.benchmark is not None and full.benchmark[0] == pytest.approx(1_000_000.0)


def test_progress_stop_and_resume_from_a_checkpoint_give_the_same_result() -> None:
    panel = _panel_from_frame()
    spec = RunSpec.model_validate(dual_ma("d"))
    whole = engine.run(spec, panel)
    saved: list[bytes] = []
    stages: list[str] = []

    def stop_after_first(p: engine.RunProgress) -> bool:
        stages.append(p.stage)
        if p.stage == "simulating":
            assert p.state is not None
            saved.append(p.state.to_bytes())
            return True
        return False

    part = engine.run(spec, panel, progress=stop_after_first, chunk_days=50)
    assert part.incomplete and part.simulation.days_run == 50
    assert stages == ["compiling", "simulating", "analysing"]
    rest = engine.run(spec, panel, state=saved[0], chunk_days=50)
    assert not rest.incomplete
    np.testing.assert_array_equal(rest.equity, whole.equity)
    assert len(rest.trades) == len(whole.trades)


def test_parameters_and_run_batch_equal_single_runs() -> None:
    panel = _panel_from_frame()
    body = dual_ma("d")
    body["parameters"] = {"fast": 5, "slow": 20}
    body["strategy"] = {
        **body["strategy"],
        "entry": "Cross(Mean($close, {fast}), Mean($close, {slow}))",
        "exit": "CrossDown(Mean($close, {fast}), Mean($close, {slow}))",
    }
    spec = RunSpec.model_validate(body)
    literal = engine.run(RunSpec.model_validate(dual_ma("d")), panel)
    assert engine.run(spec, panel).metrics == literal.metrics
    variants = [{}, {"fast": 10}, {"fast": 3, "slow": 30}, {"/strategy/max_holdings": 2}]
    batch = list(engine.run_batch(spec, variants, panel))
    assert [r.spec.parameters for r in batch][:3] == [
        {"fast": 5, "slow": 20},
        {"fast": 10, "slow": 20},
        {"fast": 3, "slow": 30},
    ]
    for variant, got in zip(variants, batch, strict=True):
        single = engine.run(apply_variant(spec, variant), panel, diagnostics=False)
        assert got.metrics == single.metrics
        np.testing.assert_array_equal(got.equity, single.equity)
    assert batch[3].spec.strategy.max_holdings == 2  # type: ignore[union-attr]
    assert batch[1].metrics != batch[0].metrics


def test_bad_variants_and_undefined_parameters_are_refused() -> None:
    spec = RunSpec.model_validate(dual_ma("d"))
    with pytest.raises(KeyError, match="not a parameter"):
        apply_variant(spec, {"fast": 3})
    with pytest.raises(KeyError, match="names no field"):
        apply_variant(spec, {"/strategy/nope": 3})
    body = dual_ma("d")
    body["strategy"] = {**body["strategy"], "entry": "Mean($close, {fast}) > $close"}
    with pytest.raises(ValueError, match="undefined parameters"):
        RunSpec.model_validate(body)


def test_unknown_universe_symbols_are_left_out_with_a_warning() -> None:
    panel = _panel_from_frame()
    spec = RunSpec.model_validate(dual_ma("d", universe=["600000", "600001", "SH600930"]))
    result = engine.run(spec, panel)
    assert [str(s) for s in result.simulation.instruments] == ["600000", "600001"]
    assert any("SH600930" in w for w in result.warnings)


def test_presets_resolve_into_the_spec_and_v1_specs_migrate() -> None:
    us = RunSpec.model_validate({**dual_ma("d"), "costs": {"commission_rate": 0.001}})
    assert us.costs.commission_rate == 0.001  # given: kept
    assert us.costs.commission_min == 0.0 and us.costs.stamp_tax == []  # us_equity's
    assert us.rules.price_limits is False and us.rules.lot_size == 1.0
    v1: dict[str, Any] = {
        "schema_version": 1,
        "dataset_id": "d",
        "initial_capital": 100_000.0,
        "preset": "rules_off",
        "costs": {"commission_rate": None, "commission_min": 1.0},
        "rules": {"t_plus_1": None},
        "execution": {"price": None},
        "strategy": {"kind": "scores", "score": "$close", "top_k": 3, "n_drop": 1},
    }
    spec = RunSpec.from_stored(v1)
    assert spec.schema_version == 2
    assert spec.strategy.rebalance == "monthly"  # type: ignore[union-attr]
    assert spec.costs.commission_rate == 0.0 and spec.costs.commission_min == 1.0
    assert spec.execution.price == "close" and spec.rules.t_plus_1 is False
    assert v1["costs"]["commission_rate"] is None  # the input is not modified
    assert migrate(spec.model_dump(mode="json")) == spec.model_dump(mode="json")
    new = RunSpec.model_validate({**v1, "schema_version": 2, "costs": {}, "rules": {},
                                  "execution": {}})  # fmt: skip
    assert new.strategy.rebalance == "daily"  # type: ignore[union-attr]
    with pytest.raises(ValueError, match="newer"):
        migrate({**v1, "schema_version": 99})
