"""Imports as vendor data arrives: zips of per-symbol files, append/upsert into a new
version with lineage, failed imports that say so, and unit suggestions on inspect."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest

from tests.datasets.conftest import import_files

TUSHARE = ("600519.SH.csv", "000001.SZ.csv", "000002.SZ.csv", "601318.SH.csv", "000651.SZ.csv")


def _name() -> str:
    return f"zip-{uuid.uuid4().hex[:10]}"


def _zip(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in files.items():
            zf.writestr(name, data)
    return buf.getvalue()


async def _get(client: httpx.AsyncClient, h: dict[str, str], url: str, **params: Any) -> Any:
    resp = await client.get(url, headers=h, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.realdata
async def test_zip_of_tushare_csvs_imports_as_one_dataset(
    client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    folder = realdata / "cn/qbot_tushare_qfq_2010_2020"
    members = {f"thoudsand_stocks/{f}": (folder / f).read_bytes() for f in TUSHARE}
    members["__MACOSX/thoudsand_stocks/._600519.SH.csv"] = b"\x00\x05\x16\x07junk"
    done = await import_files(
        client,
        alice.headers,
        [("tushare.zip", _zip(members))],
        name=_name(),
        options={"volume_multiplier": 100, "amount_multiplier": 1000},
    )
    assert done["status"] == "completed", done
    entry = done["report"]["files"][0]
    assert entry["format"] == "table-zip" and entry["members"] == len(TUSHARE)
    ds = done["dataset_id"]
    versions = (await _get(client, alice.headers, f"/api/datasets/{ds}/versions"))["data"]
    assert [v["symbols_count"] for v in versions] == [len(TUSHARE)]
    total = sum(len(pd.read_csv(folder / f)) for f in TUSHARE)
    assert versions[0]["rows"] == total
    src = pd.read_csv(folder / "601318.SH.csv").sort_values("trade_date")
    body = await _get(
        client, alice.headers, f"/api/datasets/{ds}/preview", symbols="601318.SH", size=3
    )
    first = body["data"][0]
    assert body["meta"]["total"] == len(src)
    assert first["date"] == pd.to_datetime(str(src["trade_date"].iloc[0])).date().isoformat()
    assert first["close"] == pytest.approx(src["close"].iloc[0])
    assert first["volume"] == pytest.approx(src["vol"].iloc[0] * 100)
    assert first["amount"] == pytest.approx(src["amount"].iloc[0] * 1000)


@pytest.mark.realdata
async def test_zip_of_akshare_files_takes_codes_as_text(
    client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    folder = realdata / "cn/akshare_em_qfq_zh"
    names = ("000001.csv", "601318.csv")
    done = await import_files(
        client,
        alice.headers,
        [("ak.zip", _zip({n: (folder / n).read_bytes() for n in names}))],
        name=_name(),
        options={"volume_multiplier": 100},
    )
    assert done["status"] == "completed", done
    listing = await _get(client, alice.headers, f"/api/datasets/{done['dataset_id']}/summary")
    assert {c["symbol"] for c in listing["data"]["coverage"]} == {"000001", "601318"}
    # every problem of a member names the file, and the rows' symbol and date
    problems = done["report"]["files"][0]["report"]["problems"]
    assert problems, "000001 has non-positive qfq prices"
    bad = next(p for p in problems if p["code"] == "non_positive_price")
    assert bad["member"] == "000001.csv" and bad["where"][0]["symbol"] == "000001"
    assert bad["where"][0]["date"] and bad["where"][0]["row"] == bad["rows"][0]


async def test_zip_without_data_fails_the_import_row(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    done = await import_files(
        client, alice.headers, [("notes.zip", _zip({"readme.md": b"no data"}))], name=_name()
    )
    assert done["status"] == "failed"
    assert "holds neither a Qlib data folder" in done["error"] and "nor data files" in done["error"]
    job = (await _get(client, alice.headers, f"/api/tasks/{done['job_id']}"))["data"]
    assert job["status"] == "failed"


def _csv(rows: list[tuple[str, str, float]]) -> bytes:
    lines = ["date,symbol,close"] + [f"{d},{s},{c}" for s, d, c in rows]
    return ("\n".join(lines) + "\n").encode()


async def test_append_and_upsert_make_new_versions_with_lineage(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    v1 = [("AAA", "2024-01-02", 10.0), ("AAA", "2024-01-03", 11.0)]
    done = await import_files(client, alice.headers, [("a.csv", _csv(v1))], name=_name())
    ds = done["dataset_id"]
    more = [("AAA", "2024-01-03", 99.0), ("AAA", "2024-01-04", 12.0), ("BBB", "2024-01-02", 5.0)]
    done = await import_files(
        client, alice.headers, [("b.csv", _csv(more))], dataset_id=ds, options={"mode": "append"}
    )
    assert done["status"] == "completed" and done["version"] == 2, (done["error"], done["report"])
    assert done["report"]["merge"]["rows_added"] == 2
    rows = (await _get(client, alice.headers, f"/api/datasets/{ds}/preview"))["data"]
    assert [(r["symbol"], r["date"], r["close"]) for r in rows] == [
        ("AAA", "2024-01-02", 10.0),
        ("AAA", "2024-01-03", 11.0),  # append keeps the stored value
        ("AAA", "2024-01-04", 12.0),
        ("BBB", "2024-01-02", 5.0),
    ]
    done = await import_files(
        client,
        alice.headers,
        [("c.csv", _csv(more[:1]))],
        dataset_id=ds,
        options={"mode": "upsert"},
    )
    assert done["version"] == 3
    rows = (await _get(client, alice.headers, f"/api/datasets/{ds}/preview"))["data"]
    assert [r["close"] for r in rows] == [10.0, 99.0, 12.0, 5.0]
    versions = (await _get(client, alice.headers, f"/api/datasets/{ds}/versions"))["data"]
    v2, v3 = versions[1], versions[2]
    assert v2["parent_version"] == 1 and v2["pipeline"][0]["mode"] == "append"
    assert v3["parent_version"] == 2 and v3["pipeline"][0]["rows_updated"] == 1
    # the default stays replace: the new version holds only the imported rows
    done = await import_files(client, alice.headers, [("d.csv", _csv(v1[:1]))], dataset_id=ds)
    rows = (await _get(client, alice.headers, f"/api/datasets/{ds}/preview"))["data"]
    assert done["version"] == 4 and len(rows) == 1
    resp = await client.post(
        "/api/imports",
        headers=alice.headers,
        files=[("files", ("e.csv", _csv(v1), "text/csv"))],
        data={"dataset_id": ds, "options": '{"mode": "merge"}'},
    )
    assert resp.status_code == 422 and "mode" in resp.json()["error"]["message"]


@pytest.mark.realdata
async def test_inspect_suggests_tushare_units_and_reads_zips(
    client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    path = realdata / "cn/qbot_tushare_qfq_2010_2020/600519.SH.csv"
    resp = await client.post(
        "/api/imports/inspect",
        headers=alice.headers,
        files={"file": (path.name, path.read_bytes(), "text/csv")},
    )
    assert resp.status_code == 200, resp.text
    units = resp.json()["data"]["units"]
    assert (units["volume_multiplier"], units["amount_multiplier"]) == (100, 1000)
    assert "tushare" in units["reason"]
    blob = _zip({f"d/{n}": (path.parent / n).read_bytes() for n in TUSHARE[:2]})
    resp = await client.post(
        "/api/imports/inspect", headers=alice.headers, files={"file": ("t.zip", blob, "x")}
    )
    data = resp.json()["data"]
    assert data["format"] == "zip of csv" and data["members"] == 2
    assert data["mapping"]["symbol"] == "ts_code" and data["units"]["vendor"] == "tushare"


async def test_too_many_loose_files_say_to_zip(
    client: httpx.AsyncClient, make_user: Any, app: Any
) -> None:
    alice = await make_user()
    limit = app.state.settings.import_max_files
    parts = [
        ("files", (f"f{i}.csv", _csv([("A", "2024-01-02", 1.0)]), "text/csv"))
        for i in range(limit + 1)
    ]
    resp = await client.post(
        "/api/imports", headers=alice.headers, files=parts, data={"dataset_name": _name()}
    )
    assert resp.status_code == 422
    assert "zip" in resp.json()["error"]["message"]
