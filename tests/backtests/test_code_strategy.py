"""Code strategies end to end on both databases: user Python in the sandbox reproducing
the dual-MA signals spec trade for trade, and a wrong output shape failing the run."""

from __future__ import annotations

from typing import Any

from tests.backtests.conftest import dual_ma, make_dataset, start, wait_done

# The factor language evaluates on float32 with float64 running sums; the code mirrors that
# so both sides compare the same rounded moving averages.
DUAL_MA_CODE = """
c = close.astype(np.float32).astype(np.float64)

def ma(x, w):
    out = np.full(x.shape, np.nan)
    cs = np.cumsum(x, axis=0)
    out[w - 1:] = (cs[w - 1:] - np.vstack([np.zeros((1, x.shape[1])), cs[:-w]])) / w
    return out.astype(np.float32)

fast, slow = ma(c, 5), ma(c, 20)
entries = np.zeros(c.shape, dtype=bool)
exits = np.zeros(c.shape, dtype=bool)
entries[1:] = (fast[1:] > slow[1:]) & (fast[:-1] <= slow[:-1])
exits[1:] = (fast[1:] < slow[1:]) & (fast[:-1] >= slow[:-1])
"""


def _code_spec(code: str) -> dict[str, Any]:
    return {
        "kind": "code",
        "code": code,
        "sizing": {"mode": "fixed_fraction", "fraction": 0.15},
        "max_holdings": 5,
    }


async def _all_trades(client: Any, h: dict[str, str], bid: str) -> list[dict[str, Any]]:
    resp = await client.get(f"/api/backtests/{bid}/trades", params={"size": 200}, headers=h)
    assert resp.status_code == 200, resp.text
    return list(resp.json()["data"])


async def test_code_dual_ma_equals_signals_spec(app: Any, client: Any, make_user: Any) -> None:
    alice = await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)
    signals_id = await start(client, h, dual_ma(dataset_id))
    code_id = await start(client, h, dual_ma(dataset_id, strategy=_code_spec(DUAL_MA_CODE)))
    by_signals = await wait_done(client, h, signals_id)
    by_code = await wait_done(client, h, code_id)
    assert by_signals["status"] == "completed", by_signals
    assert by_code["status"] == "completed", by_code
    assert by_code["strategy_kind"] == "code"
    assert by_code["request"]["strategy"]["code"] == DUAL_MA_CODE  # stored for reproduction

    trades = await _all_trades(client, h, code_id)
    assert len(trades) > 4
    assert trades == await _all_trades(client, h, signals_id)
    assert by_code["final_equity"] == by_signals["final_equity"]
    assert by_code["metrics"] == by_signals["metrics"]


async def test_code_output_with_wrong_shape_fails_naming_it(
    app: Any, client: Any, make_user: Any
) -> None:
    alice = await make_user()
    h = alice.headers
    dataset_id = await make_dataset(app, alice.id)
    code = "entries = np.zeros((3, 2), dtype=bool)\nexits = np.zeros((3, 2), dtype=bool)\n"
    bid = await start(client, h, dual_ma(dataset_id, strategy=_code_spec(code)))
    done = await wait_done(client, h, bid)
    assert done["status"] == "failed", done
    # the whole history up to the data end (300 days) over the 6 traded symbols
    assert "'entries'" in done["error"] and "(300, 6)" in done["error"]
    assert "got bool of shape (3, 2)" in done["error"]
    job = (await client.get(f"/api/tasks/{done['job_id']}", headers=h)).json()["data"]
    assert job["status"] == "failed" and "(3, 2)" in job["error"]["message"]
    missing = await client.get(f"/api/backtests/{bid}/equity", headers=h)
    assert missing.status_code == 409
    assert missing.json()["error"]["code"] == "BACKTEST_NOT_READY"
