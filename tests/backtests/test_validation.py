"""Requests refused before any job starts: each error status the create route produces,
with the details a client needs (expression positions, unknown symbols, data range)."""

from __future__ import annotations

from typing import Any

from tests.backtests.conftest import dual_ma, make_dataset


def _signals(dataset_id: str, entry: str) -> dict[str, Any]:
    body = dual_ma(dataset_id)
    body["strategy"] = {**body["strategy"], "entry": entry}
    return body


async def test_validation_errors(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)

    async def post(body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        resp = await client.post("/api/backtests", json=body, headers=h)
        return resp.status_code, resp.json().get("error", {})

    # bad expressions: syntax, unknown field and look-ahead, each with its position
    code, err = await post(_signals(dataset_id, "Mean($close, 5) > > 1"))
    assert code == 422 and err["code"] == "INVALID_STRATEGY_EXPRESSION"
    assert err["details"]["field"] == "strategy.entry" and err["details"]["kind"] == "syntax"
    assert err["details"]["position"] == 18
    code, err = await post(_signals(dataset_id, "Mean($close, 5) > $pe_ratio"))
    assert (code, err["details"]["kind"], err["details"]["position"]) == (422, "unknown_field", 18)
    code, err = await post(_signals(dataset_id, "Ref($close, -1) > $close"))
    assert (code, err["details"]["kind"]) == (422, "lookahead")
    assert err["details"]["position"] == 0
    score = dual_ma(dataset_id, strategy={"kind": "scores", "score": "Mean($close,"})
    code, err = await post(score)
    assert (code, err["details"]["field"]) == (422, "strategy.score")

    # universe and benchmark symbols must exist in the version
    code, err = await post(dual_ma(dataset_id, universe=["600000", "NOPE"], benchmark="GONE"))
    assert code == 422 and err["code"] == "BACKTEST_UNKNOWN_SYMBOLS"
    assert err["details"]["unknown"] == ["GONE", "NOPE"]

    # dates outside the data, or reversed
    code, err = await post(dual_ma(dataset_id, start="2019-01-01"))
    assert code == 422 and err["code"] == "BACKTEST_DATES_OUTSIDE_DATA"
    assert err["details"]["data_start"] == "2023-01-02"
    code, err = await post(dual_ma(dataset_id, start="2023-06-01", end="2023-05-01"))
    assert code == 422 and "start is after end" in err["details"]["problems"]

    # capital range, unknown fields, schema version and spec rules are schema errors
    for capital in (9_999, 1_000_000_001):
        code, err = await post(dual_ma(dataset_id, initial_capital=capital))
        assert code == 422 and err["code"] == "VALIDATION_ERROR"
        assert any(d["field"] == "initial_capital" for d in err["details"])
    code, err = await post(dual_ma(dataset_id, schema_version=99))
    assert code == 422
    code, err = await post(dual_ma(dataset_id, leverage=2))
    assert code == 422 and any(d["field"] == "leverage" for d in err["details"])
    topk = {"kind": "scores", "score": "$close", "top_k": 2, "n_drop": 3}
    assert (await post(dual_ma(dataset_id, strategy=topk)))[0] == 422
    both = {"kind": "weights", "weight": "$close", "static": {"600000": 0.5}}
    assert (await post(dual_ma(dataset_id, strategy=both)))[0] == 422

    # engine configuration and code strategies
    code, err = await post(dual_ma(dataset_id, execution={"take_profit": "trailing"}))
    assert code == 422 and err["code"] == "BACKTEST_INVALID_CONFIG"
    code, err = await post(dual_ma(dataset_id, strategy={"kind": "code", "code": "x = (1,"}))
    assert code == 422 and err["code"] == "INVALID_STRATEGY_CODE"
    assert err["details"]["line"] == 1

    # a dataset without an open field cannot fill at the next open
    frame = _no_open()
    closes_only = await make_dataset(app, alice.id, frame)
    code, err = await post(dual_ma(closes_only, preset="cn_a_share"))
    assert code == 422 and err["code"] == "BACKTEST_MISSING_FIELDS"
    code, _ = await post(dual_ma(closes_only, preset="rules_off"))
    assert code == 202

    # unknown dataset / version, no token, and nothing was written by the refusals
    code, err = await post(dual_ma("0" * 32))
    assert code == 404
    code, err = await post(dual_ma(dataset_id, dataset_version=9))
    assert code == 404
    assert (await client.post("/api/backtests", json=dual_ma(dataset_id))).status_code == 401
    listed = (await client.get("/api/backtests", headers=h)).json()
    assert listed["meta"]["total"] == 1  # only the rules_off run above
    missing = await client.get(f"/api/backtests/{'0' * 32}/equity", headers=h)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "BACKTEST_NOT_FOUND"


def _no_open() -> Any:
    from tests.backtests.conftest import market_frame

    return market_frame().drop(columns=["open"])


async def test_served_schema_and_engine_defaults_agree_field_by_field(
    client: Any, make_user: Any
) -> None:
    """``/api/backtests/schema`` is generated from the engine's spec: every default of
    costs, rules, execution and sizing is the engine configuration's, every preset value
    is the engine preset's, and the capital default and bounds are the engine's."""
    from quantlab.engine.backtest.config import PRESETS, BacktestConfig, CostConfig
    from quantlab.engine.backtest.crossover import ma_crossover

    alice = await make_user()
    resp = await client.get("/api/backtests/schema", headers=alice.headers)
    assert resp.status_code == 200
    schema = resp.json()["data"]
    defs = schema["$defs"]
    engine = BacktestConfig().to_dict()
    sections = {"costs": "Costs", "rules": "Rules", "execution": "Execution", "sizing": "Sizing"}
    compared = 0
    for section, model in sections.items():
        props = defs[model]["properties"]
        own = {k for k in engine[section] if k not in ("init_cash", "max_holdings")}
        assert set(props) == own, section  # no field on one side only
        for name, prop in props.items():
            assert prop["default"] == engine[section][name], (section, name)
            compared += 1
            if section != "sizing":
                for preset, make in PRESETS.items():
                    assert prop["x-presets"][preset] == make().to_dict()[section][name]
    assert compared == 7 + 11 + 7 + 6
    capital = schema["properties"]["initial_capital"]
    assert capital["default"] == engine["execution"]["init_cash"] == 1_000_000.0
    assert capital["maximum"] == 1_000_000_000
    assert defs["SignalsStrategy"]["properties"]["max_holdings"]["default"] == 0
    assert defs["ScoresStrategy"]["properties"]["rebalance"]["default"] == "daily"
    assert schema["x-schema-version"] == schema["properties"]["schema_version"]["default"] == 2
    # the crossover helper's capital default is the same one
    import inspect

    assert inspect.signature(ma_crossover).parameters["init_cash"].default == 1_000_000.0
    assert CostConfig().stamp_tax == tuple(tuple(p) for p in defs["Costs"]["properties"][
        "stamp_tax"]["default"])  # fmt: skip
