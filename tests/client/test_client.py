"""The sync client against a real server on each database backend: sign-in and refresh,
transparent pagination, real CSVs imported and read back as pandas objects checked against
pandas computations on the same files, backtest outputs and exports, and errors."""

from __future__ import annotations

import dataclasses
import io
import time
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from quantlab.client import Client, QuantlabAPIError, endpoints, ops
from tests.client.conftest import LiveServer, dual_ma_spec

pytestmark = [pytest.mark.slow, pytest.mark.realdata]

SYMBOLS = ["000001.SZ", "000002.SZ", "000063.SZ", "000069.SZ", "000157.SZ", "000338.SZ"]


def _csv(qbot: Path, symbol: str) -> pd.DataFrame:
    frame = pd.read_csv(qbot / f"{symbol}.csv")
    frame["date"] = pd.to_datetime(frame["trade_date"].astype(str), format="%Y%m%d")
    return frame.sort_values("date").set_index("date")


@pytest.fixture(scope="session")
def imported(live: LiveServer, qbot: Path) -> dict[str, str]:
    """Six real A-share files imported once per backend through the client."""
    with Client(live.url, username="admin", password=live.password) as client:
        run = client.import_files(
            [qbot / f"{s}.csv" for s in SYMBOLS], dataset_name=f"qbot six {live.port}"
        )
        job = run.wait(progress=False, timeout=600)
        assert job.status == "completed", job
        record = run.result()
    assert record["status"] == "completed", record
    return {"dataset_id": record["dataset_id"], "import_id": run.id}


def test_password_sign_in_refreshes_and_a_personal_token_works(live: LiveServer) -> None:
    with Client(live.url, username="admin", password=live.password) as client:
        assert client.me()["username"] == "admin"
        auth = client._http.auth
        first = auth._access
        auth._expires_at = 0.0  # expired: renewed through the refresh token before sending
        assert client.me()["username"] == "admin"
        assert auth._access != first and auth._refresh is not None
        auth._access = "not-a-token"  # rejected with 401: renewed and replayed once
        auth._expires_at = time.monotonic() + 600
        assert client.me()["username"] == "admin"
        assert auth._access != "not-a-token"
        secret = client.create_token("client test")["token"]
    with Client(live.url, token=secret) as client:
        assert client.me()["username"] == "admin"
    with Client(live.url, username="admin", password="wrong password") as client:
        with pytest.raises(QuantlabAPIError) as info:
            client.me()
    assert info.value.status == 401 and info.value.code and info.value.correlation_id


def test_expired_token_and_unreachable_server_raise_the_one_error_type(live: LiveServer) -> None:
    with Client(live.url, username="admin", password=live.password) as client:
        soon = (datetime.now(UTC) + timedelta(seconds=2)).isoformat()
        secret = client.create_token("short lived", expires_at=soon)["token"]
    time.sleep(3)
    with Client(live.url, token=secret) as client, pytest.raises(QuantlabAPIError) as info:
        client.list_datasets()
    assert info.value.status == 401
    assert info.value.correlation_id and len(info.value.correlation_id) >= 8
    with Client("http://127.0.0.1:9", token="x", connect_retries=0) as client:
        with pytest.raises(QuantlabAPIError) as info:
            client.list_datasets()
    assert info.value.code == "UNREACHABLE" and info.value.status is None


def test_lists_paginate_transparently(live: LiveServer, imported: dict[str, str]) -> None:
    where = {"dataset_id": imported["dataset_id"]}
    january = {"symbols": "000001.SZ", "end": "2010-01-31"}
    with Client(live.url, username="admin", password=live.password) as client:
        one_page = client.run_flow(ops.paginate(endpoints.DATASET_PREVIEW, where, january))
        assert len(one_page) == 20  # trading days of January 2010
        in_threes = client.run_flow(
            ops.paginate(endpoints.DATASET_PREVIEW, where, january, page_size=3)
        )
        assert in_threes == one_page  # seven pages, the last one short
        first_five = client.run_flow(
            ops.paginate(endpoints.DATASET_PREVIEW, where, january, limit=5, page_size=3)
        )
        assert first_five == one_page[:5]
        assert len(client.list_tasks(limit=1)) == 1
        ids = {d.id for d in client.list_datasets()}
        assert imported["dataset_id"] in ids and live.demo_dataset_id() in ids


def test_preview_and_factor_values_match_pandas_on_the_real_files(
    live: LiveServer, imported: dict[str, str], qbot: Path
) -> None:
    dataset_id = imported["dataset_id"]
    source = _csv(qbot, "000001.SZ")
    with Client(live.url, username="admin", password=live.password) as client:
        # every stored row of one symbol: about 2,500 rows over three 1,000-row pages
        rows = client.preview(dataset_id, symbols=["000001.SZ"], limit=None)
        assert rows.index.names == ["date", "symbol"]
        closes = rows.xs("000001.SZ", level="symbol")["close"]
        assert len(closes) == len(source) > 2000
        np.testing.assert_allclose(closes.to_numpy(), source["close"].to_numpy(), rtol=1e-6)

        values = client.factor_values(
            dataset_id, expression="Mean($close, 5) / $close", symbols=["000001.SZ", "000002.SZ"]
        )
        assert isinstance(values, pd.Series)
        assert values.index.names == ["date", "instrument"]
        ours = values.xs("000001.SZ", level="instrument")
        # windows run over the dataset's trading days (the union of the six files), so a
        # suspended day is a gap inside the window; compare where the window is complete
        calendar = pd.DatetimeIndex(sorted(set().union(*(_csv(qbot, s).index for s in SYMBOLS))))
        close = source["close"].reindex(calendar)
        expected = (close.rolling(5).mean() / close).dropna()
        assert len(expected) > 2000
        np.testing.assert_allclose(ours.loc[expected.index], expected, rtol=1e-5)  # float32
        # hand-computed: the fifth day's value is the mean of the first five closes over it
        first5 = source["close"].iloc[:5]
        assert ours.iloc[4] == pytest.approx(first5.mean() / first5.iloc[4], rel=1e-5)

        bars = client.ohlcv(dataset_id, "000002.SZ", start="2020-01-01", ma=[5])
        assert bars.index.name == "date" and "MA5" in bars.columns
        src2 = _csv(qbot, "000002.SZ").loc["2020-01-01":]
        np.testing.assert_allclose(bars["close"], src2["close"], rtol=1e-6)
        np.testing.assert_allclose(
            bars["MA5"].iloc[10:], src2["close"].rolling(5).mean().iloc[10:], rtol=1e-6
        )


def test_factor_evaluation_ic_series_match_an_independent_pandas_ic(
    live: LiveServer, imported: dict[str, str], qbot: Path
) -> None:
    with Client(live.url, username="admin", password=live.password) as client:
        run = client.evaluate_factor(
            imported["dataset_id"],
            expression="Mean($close, 5) / $close",
            horizons=[1, 5],
            start="2019-01-02",
        )
        job = run.wait(progress=False, timeout=600)
        assert job.status == "completed"
        evaluation = run.result()
    ic = evaluation.ic()
    assert list(ic.columns) == [1, 5] and ic.index.name == "date"
    assert ic.index[0] >= pd.Timestamp("2019-01-02")
    closes = pd.DataFrame({s: _csv(qbot, s)["close"] for s in SYMBOLS})
    factor = closes.rolling(5).mean() / closes
    forward = closes.shift(-1) / closes - 1.0
    expected = factor.corrwith(forward, axis=1).loc[ic.index]
    both = ic[1].notna() & expected.notna()
    assert both.sum() > 300
    # factor values are stored as float32: daily ICs agree to about 1e-5
    np.testing.assert_allclose(ic[1][both], expected[both], rtol=0, atol=5e-5)
    summary = evaluation.ic_summary()
    assert summary.loc[1, "mean"] == pytest.approx(ic[1].mean(), rel=1e-9)
    rank = evaluation.ic(rank=True)
    expected_rank = factor.rank(axis=1).corrwith(forward.rank(axis=1), axis=1).loc[ic.index]
    both = rank[1].notna() & expected_rank.notna()
    np.testing.assert_allclose(rank[1][both], expected_rank[both], rtol=0, atol=5e-5)


def test_backtest_outputs_as_pandas_and_exports_saved(
    live: LiveServer, imported: dict[str, str], tmp_path: Path
) -> None:
    spec = dual_ma_spec(imported["dataset_id"], SYMBOLS[:4], "2019-01-02")
    spec["initial_capital"] = 1_000_000
    with Client(live.url, username="admin", password=live.password) as client:
        run = client.run_backtest(spec)
        job = run.wait(progress=False, timeout=600)
        assert job.status == "completed"
        metrics = client.metrics(run.id)
        equity = client.equity(run.id)
        drawdown = client.drawdown(run.id)
        trades = client.trades(run.id)
        positions = client.positions(run.id)
        pdf = client.export_backtest(run.id, tmp_path / "report.pdf")
        csv_zip = client.export_backtest(run.id, tmp_path / "tables.zip", format="csv")
        listed = client.list_backtests(limit=5)
    assert isinstance(metrics, dict) and "sharpe_ratio" in metrics
    assert equity.index.name == "date" and equity.index.is_monotonic_increasing
    np.testing.assert_allclose(equity["nav"], equity["equity"] / 1_000_000, rtol=1e-9)
    assert metrics["total_return"] == pytest.approx(equity["nav"].iloc[-1] - 1.0, rel=1e-9)
    peak = equity["equity"].cummax()
    np.testing.assert_allclose(drawdown["drawdown"], equity["equity"] / peak - 1.0, atol=1e-9)
    assert metrics["max_drawdown"] == pytest.approx(drawdown["drawdown"].min(), rel=1e-9)
    assert len(trades) > 20  # more than one default page of 20
    assert set(trades["side"]) <= {"BUY", "SELL"} and trades["date"].is_monotonic_increasing
    assert positions.attrs["date"] and (positions["weight"] >= 0).all()
    assert pdf.read_bytes().startswith(b"%PDF") and not (tmp_path / "report.pdf.part").exists()
    with zipfile.ZipFile(io.BytesIO(csv_zip.read_bytes())) as archive:
        assert any(n.endswith(".csv") for n in archive.namelist())
    assert run.id in [b.id for b in listed]
    assert dataclasses.is_dataclass(listed[0])


def test_dataset_export_and_dataframe_upload_round_trip(
    live: LiveServer, imported: dict[str, str], tmp_path: Path
) -> None:
    with Client(live.url, username="admin", password=live.password) as client:
        path = client.export_dataset(imported["dataset_id"], tmp_path / "six.parquet", "parquet")
        exported = pd.read_parquet(path)
        assert set(exported["symbol"]) == set(SYMBOLS)
        part = exported[exported["symbol"].isin(SYMBOLS[:2])]
        part = part[["date", "symbol", "open", "high", "low", "close", "volume"]]
        run = client.import_frame(part.set_index(["date", "symbol"]), dataset_name="from frame")
        assert run.wait(progress=False, timeout=600).status == "completed"
        record = run.result()
        back = client.preview(record["dataset_id"], limit=None).reset_index()
    assert len(back) == len(part)
    merged = back.merge(part.assign(date=pd.to_datetime(part["date"])), on=["date", "symbol"])
    np.testing.assert_allclose(merged["close_x"], merged["close_y"], rtol=1e-9)


def test_errors_carry_the_envelope(live: LiveServer, imported: dict[str, str]) -> None:
    with Client(live.url, username="admin", password=live.password) as client:
        with pytest.raises(QuantlabAPIError) as info:
            client.get_dataset("no-such-dataset")
        assert info.value.status == 404 and info.value.code == "DATASET_NOT_FOUND"
        assert info.value.correlation_id and "DATASET_NOT_FOUND" in str(info.value)
        with pytest.raises(QuantlabAPIError) as info:
            client.run_backtest(dual_ma_spec(imported["dataset_id"], ["NOPE.SZ"], "2019-01-02"))
        assert info.value.status is not None and 400 <= info.value.status < 500
        assert info.value.details
