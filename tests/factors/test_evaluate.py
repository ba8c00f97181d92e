"""``factors.evaluate`` end to end through the session app's real job runner, on SQLite and
PostgreSQL: results are checked against a direct call of the analysis engine."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from quantlab.engine import expr
from quantlab.engine.data.storage import load_panel
from quantlab.engine.factors.analysis import analyse_factor
from tests.factors.conftest import market_frame, wait_evaluation

pytestmark = pytest.mark.timeout(180)


def _version_path(app: Any, dataset_id: str) -> Any:
    root = app.state.settings.data_dir / "datasets" / dataset_id
    (path,) = [p for p in root.iterdir() if p.is_dir()]
    return path


async def test_evaluate_a_factor_matches_the_engine(
    client: Any, researcher: Any, make_user: Any, dataset_factory: Any, app: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    text = "($close - Mean($close, 10)) / Std($close, 10)"
    factor = await client.post(
        "/api/factors", headers=h, json={"name": "zscore10", "expression": text}
    )
    fid = factor.json()["data"]["id"]
    start, end = "2024-01-22", "2024-03-15"
    body = {"factor_id": fid, "dataset_id": ds, "start": start, "end": end}
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    assert resp.status_code == 202, resp.text
    ids = resp.json()["data"]
    done = await wait_evaluation(client, h, ids["id"])
    assert done["status"] == "completed", done
    assert done["job"]["id"] == ids["job_id"] and done["job"]["status"] == "completed"
    assert done["job"]["progress"] == 1.0
    assert done["dataset_version"] == 1 and done["params"]["horizons"] == [1, 5, 10, 20]
    result = done["result"]

    # the same analysis straight from the engine, with the look-back loaded before start
    panel = load_panel(_version_path(app, ds), cache=None)
    values = expr.evaluate(text, panel, cache=None)[text]
    lo = int(np.searchsorted(panel.calendar, np.datetime64(start)))
    hi = int(np.searchsorted(panel.calendar, np.datetime64(end), side="right"))
    want = analyse_factor(
        values[lo:hi].astype(np.float64), panel["close"][lo:hi], dates=panel.calendar[lo:hi]
    )
    assert result["dates"][0] == start and result["dates"] == [str(d) for d in want.dates]
    assert result["horizons"] == [1, 5, 10, 20]
    for k, h_ in enumerate(want.horizons):
        got = np.array(result["ic"][str(h_)], dtype=float)
        np.testing.assert_allclose(got, want.ic[:, k], rtol=1e-9, equal_nan=True)
        summary = result["ic_summary"][k]
        assert summary["horizon"] == h_
        assert summary["mean"] == pytest.approx(want.ic_summary[k].mean, rel=1e-9)
        assert summary["ir"] == pytest.approx(want.ic_summary[k].ir, rel=1e-9)
        rank = result["rank_ic_summary"][k]
        assert rank["mean"] == pytest.approx(want.rank_ic_summary[k].mean, rel=1e-9)
    assert len(result["quantile_cumulative"]) == 5  # five quantile portfolios
    assert result["feature"]["ic_ir"] == pytest.approx(want.ic_summary[0].ir, rel=1e-9)
    assert done["summary"]["features"] == 1
    assert done["summary"]["best"]["name"] == "zscore10"

    used = (await client.get(f"/api/factors/{fid}", headers=h)).json()["data"]
    assert used["usage_count"] == 1
    listed = (await client.get(f"/api/factors/evaluations?factor_id={fid}", headers=h)).json()
    assert [e["id"] for e in listed["data"]] == [ids["id"]]
    assert "result" not in listed["data"][0]

    stranger = await make_user()
    hidden = await client.get(f"/api/factors/evaluations/{ids['id']}", headers=stranger.headers)
    assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "EVALUATION_NOT_FOUND"
    theirs = await client.get("/api/factors/evaluations", headers=stranger.headers)
    assert theirs.json()["meta"]["total"] == 0


async def test_evaluate_a_feature_set_ranks_by_ic_ir(
    client: Any, researcher: Any, dataset_factory: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    body = {"feature_set": "Alpha158", "dataset_id": ds, "horizons": [5, 1]}
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    assert resp.status_code == 202, resp.text
    done = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done
    result = done["result"]
    # the synthetic market has no vwap: the four features that need it are skipped
    assert result["skipped"] == ["VWAP0"]
    ranking = result["ranking"]
    assert len(ranking) == 157 and result["ranked_by"]["horizon"] == 1
    irs = [abs(r["ic_ir"]) for r in ranking if r["ic_ir"] is not None]
    assert irs == sorted(irs, reverse=True) and len(irs) > 100
    assert [r["rank"] for r in ranking] == list(range(1, 158))
    assert done["summary"]["top"][0]["name"] == ranking[0]["name"]


async def test_evaluate_rejects_bad_requests(
    client: Any, researcher: Any, make_user: Any, dataset_factory: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    url = "/api/factors/evaluate"

    async def error(body: dict[str, Any], status: int, code: str) -> dict[str, Any]:
        resp = await client.post(url, headers=h, json={"dataset_id": ds, **body})
        assert resp.status_code == status, resp.text
        assert resp.json()["error"]["code"] == code
        return dict(resp.json()["error"])

    await error({"feature_set": "Alpha999"}, 404, "FEATURE_SET_NOT_FOUND")
    await error({"factor_id": "0" * 32}, 404, "FACTOR_NOT_FOUND")
    await error({"expression": "$close", "feature_set": "Alpha158"}, 422, "VALIDATION_ERROR")
    await error({"expression": "$close", "horizons": [0]}, 422, "VALIDATION_ERROR")
    bad = await error({"expression": "Corr($close, $volume"}, 422, "INVALID_EXPRESSION")
    assert bad["details"]["kind"] == "syntax"
    await error({"expression": "$vwap"}, 422, "INVALID_EXPRESSION")
    await error({"expression": "$close", "version": 2}, 404, "DATASET_VERSION_NOT_FOUND")
    stranger = await make_user()
    resp = await client.post(
        url, headers=stranger.headers, json={"dataset_id": ds, "expression": "$close"}
    )
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "DATASET_NOT_FOUND"
    missing = await client.get(f"/api/factors/evaluations/{'0' * 32}", headers=h)
    assert missing.status_code == 404


@pytest.mark.sandbox
async def test_python_factor_runs_in_the_sandbox(
    client: Any, researcher: Any, dataset_factory: Any, app: Any
) -> None:
    from quantlab.sandbox.executor import SandboxConfig
    from quantlab.sandbox.executor.isolation import bwrap_works

    if not bwrap_works(SandboxConfig().bwrap_path):
        pytest.skip("bubblewrap with user namespaces is not available")
    h = researcher.headers
    ds = await dataset_factory(researcher)
    code = "import numpy as np\nfactor = np.log(close / open)"
    created = await client.post(
        "/api/factors", headers=h, json={"name": "gap", "kind": "python", "code": code}
    )
    fid = created.json()["data"]["id"]
    body = {"factor_id": fid, "dataset_id": ds, "horizons": [1, 5]}
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    done = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done

    panel = load_panel(_version_path(app, ds), cache=None)
    with np.errstate(invalid="ignore"):
        values = np.log(panel["close"] / panel["open"])
    want = analyse_factor(values, panel["close"], dates=panel.calendar, horizons=(1, 5))
    got = done["result"]
    np.testing.assert_allclose(
        np.array(got["rank_ic"]["5"], dtype=float), want.rank_ic[:, 1], rtol=1e-9, equal_nan=True
    )
    assert got["feature"]["name"] == "gap"

    # a factor of the wrong shape fails its evaluation with the reason, not the server
    await client.patch(f"/api/factors/{fid}", headers=h, json={"code": "factor = close[0] / 0"})
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    failed = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert failed["status"] == "failed" and "must set 'factor'" in failed["error"]
    assert failed["job"]["status"] == "failed"


async def test_evaluate_against_a_label_that_reads_the_future(
    client: Any, researcher: Any, dataset_factory: Any, app: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)
    text = "($close - Mean($close, 10)) / Std($close, 10)"
    label = "Ref($close, -2) / Ref($close, -1) - 1"  # Qlib's Alpha158 label
    start = "2024-01-22"
    body = {"expression": text, "dataset_id": ds, "start": start, "label": label}
    resp = await client.post("/api/factors/evaluate", headers=h, json={**body, "horizons": [3, 1]})
    assert resp.status_code == 202, resp.text
    done = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done
    assert done["params"]["label"] == label and done["params"]["label_lookahead"] == 2
    assert done["params"]["warnings"] == []
    result = done["result"]
    assert result["label"] == label

    panel = load_panel(_version_path(app, ds), cache=None)
    lo = int(np.searchsorted(panel.calendar, np.datetime64(start)))
    values = expr.evaluate(text, panel, cache=None)[text][lo:].astype(np.float64)
    close = panel["close"][lo:]
    # the label by hand: tomorrow's close to the day after's, NaN past the data's end
    want_label = np.full(close.shape, np.nan)
    want_label[:-2] = close[2:] / close[1:-1] - 1
    engine_label = expr.evaluate(label, panel, allow_future=True, cache=None)[label][lo:]
    np.testing.assert_allclose(engine_label, want_label, atol=3e-7, equal_nan=True)
    target = engine_label.astype(np.float64)  # float32 like every expression result
    want = analyse_factor(values, close, dates=panel.calendar[lo:], horizons=(1, 3), label=target)
    for k, h_ in enumerate((1, 3)):
        got = np.array(result["ic"][str(h_)], dtype=float)
        np.testing.assert_allclose(got, want.ic[:, k], rtol=1e-9, equal_nan=True)
    # horizon 1 on one day, by numpy: the factor's correlation with the label itself
    day = 5
    ok = ~np.isnan(values[day]) & ~np.isnan(target[day])
    r = np.corrcoef(values[day][ok], target[day][ok])[0, 1]
    assert result["ic"]["1"][day] == pytest.approx(r, rel=1e-9)
    # horizon 3 compares with the label two days later, not with a 3-day return
    ok3 = ~np.isnan(values[day]) & ~np.isnan(target[day + 2])
    r3 = np.corrcoef(values[day][ok3], target[day + 2][ok3])[0, 1]
    assert result["ic"]["3"][day] == pytest.approx(r3, rel=1e-9)

    # a label that reads no future runs, with a warning saying what the IC then means
    resp = await client.post(
        "/api/factors/evaluate", headers=h, json={**body, "label": "$close / $open - 1"}
    )
    assert resp.status_code == 202, resp.text
    same_day = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert same_day["params"]["label_lookahead"] == 0
    assert "reads no future day" in same_day["params"]["warnings"][0]


async def test_label_is_validated_and_features_still_may_not_read_the_future(
    client: Any, researcher: Any, dataset_factory: Any
) -> None:
    h = researcher.headers
    ds = await dataset_factory(researcher)

    async def error(body: dict[str, Any]) -> dict[str, Any]:
        resp = await client.post(
            "/api/factors/evaluate", headers=h, json={"dataset_id": ds, **body}
        )
        assert resp.status_code == 422, resp.text
        return dict(resp.json()["error"])

    bad = await error({"expression": "$close", "label": "Ref($close, -1"})
    assert bad["code"] == "INVALID_EXPRESSION"
    assert bad["details"]["kind"] == "syntax" and bad["details"]["field"] == "label"
    unknown = await error({"expression": "$close", "label": "Ref($vwap, -1) / $vwap"})
    assert unknown["details"]["kind"] == "unknown_field"
    assert unknown["details"]["field"] == "label"
    empty = await error({"expression": "$close", "label": ""})
    assert empty["code"] == "VALIDATION_ERROR"
    # the label may read the future; the factor under evaluation may not
    ahead = await error({"expression": "Ref($close, -1)", "label": "Ref($close, -1)"})
    assert ahead["details"]["kind"] == "lookahead" and "field" not in ahead["details"]


async def test_vwap_is_derived_when_a_dataset_has_amount_and_volume(
    client: Any, researcher: Any, dataset_factory: Any, app: Any
) -> None:
    frame = market_frame()
    # amount in currency, volume in shares: amount / volume is a price near the close
    frame["amount"] = frame["close"] * frame["volume"] * 1.002
    ds = await dataset_factory(researcher, frame)
    h = researcher.headers
    body = {"feature_set": "Alpha158", "dataset_id": ds, "horizons": [1]}
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    assert resp.status_code == 202, resp.text
    done = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done
    result = done["result"]
    assert result["skipped"] == []  # VWAP0 computes instead of being skipped
    names = [r["name"] for r in result["ranking"]]
    assert len(names) == 158 and "VWAP0" in names
    # $vwap / $close is 1.002 by construction (hand), so VWAP0 has no cross-section
    vwap0 = expr.evaluate("$vwap/$close", load_panel(_version_path(app, ds), cache=None))
    values = next(iter(vwap0.values()))
    np.testing.assert_allclose(values[~np.isnan(values)], 1.002, rtol=1e-6)


async def test_evaluate_on_a_dated_universe_counts_members_only(
    client: Any, researcher: Any, dataset_factory: Any, app: Any
) -> None:
    """A membership uploaded as CSV: the evaluation's IC is the engine's on the factor
    masked to the members of each day (a name joins, another leaves mid-period)."""
    h = researcher.headers
    ds = await dataset_factory(researcher)
    panel = load_panel(_version_path(app, ds), cache=None)
    names = [str(s) for s in panel.instruments]
    cal = panel.calendar
    mid = str(cal[len(cal) // 2])
    rows = [f"{s},{cal[0]}," for s in names[2:]]
    rows += [f"{names[0]},{cal[0]},{mid}", f"{names[1]},{mid},"]
    csv = ("symbol,start,end\n" + "\n".join(rows) + "\n").encode()
    resp = await client.post(f"/api/datasets/{ds}/universes", headers=h,
                             data={"name": "idx"}, files={"file": ("idx.csv", csv)})  # fmt: skip
    assert resp.status_code == 201, resp.text
    text = "($close - Mean($close, 10)) / Std($close, 10)"
    body = {"expression": text, "dataset_id": ds, "dated_universe": "idx", "horizons": [1, 5]}
    resp = await client.post("/api/factors/evaluate", headers=h, json=body)
    assert resp.status_code == 202, resp.text
    done = await wait_evaluation(client, h, resp.json()["data"]["id"])
    assert done["status"] == "completed", done
    assert done["params"]["dated_universe"] == "idx"
    values = expr.evaluate(text, panel, cache=None)[text]
    member = np.ones(panel.shape, dtype=bool)
    member[cal > np.datetime64(mid), 0] = False
    member[cal < np.datetime64(mid), 1] = False
    want = analyse_factor(np.where(member, values, np.nan), panel["close"], dates=cal,
                          horizons=[1, 5])  # fmt: skip
    free = analyse_factor(values.astype(np.float64), panel["close"], dates=cal, horizons=[1, 5])
    got = np.array(done["result"]["ic"]["1"], dtype=float)
    np.testing.assert_allclose(got, want.ic[:, 0], rtol=1e-9, equal_nan=True)
    assert not np.allclose(got, free.ic[:, 0], equal_nan=True)
    resp = await client.post("/api/factors/evaluate", headers=h,
                             json={**body, "dated_universe": "nope"})  # fmt: skip
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "UNIVERSE_NOT_FOUND"
