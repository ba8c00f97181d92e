"""Imports of real market files through the API, as jobs, with validation reports."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from tests.datasets.conftest import import_files, upload


def _name() -> str:
    return f"imp-{uuid.uuid4().hex[:10]}"


async def _preview(
    client: httpx.AsyncClient, headers: dict[str, str], ds: str, **params: Any
) -> dict[str, Any]:
    resp = await client.get(f"/api/datasets/{ds}/preview", headers=headers, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.mark.realdata
async def test_tushare_files_with_units_match_the_source(
    client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    files = [
        realdata / "cn/qbot_tushare_qfq_2010_2020" / f for f in ("600519.SH.csv", "000001.SZ.csv")
    ]
    done = await import_files(
        client,
        alice.headers,
        files,
        name=_name(),
        options={"volume_multiplier": 100, "amount_multiplier": 1000},
    )
    assert done["status"] == "completed", done
    ds = done["dataset_id"]
    versions = (await client.get(f"/api/datasets/{ds}/versions", headers=alice.headers)).json()[
        "data"
    ]
    assert versions[0]["version"] == 1 and versions[0]["symbols_count"] == 2
    src = pd.read_csv(files[0])
    body = await _preview(client, alice.headers, ds, symbols="600519.SH", size=5)
    assert body["meta"]["total"] == len(src)
    first = body["data"][0]
    assert first["date"] == "2010-01-04"
    assert first["close"] == pytest.approx(src["close"].iloc[0])
    assert first["volume"] == pytest.approx(src["vol"].iloc[0] * 100)
    assert first["amount"] == pytest.approx(src["amount"].iloc[0] * 1000)
    summary = (await client.get(f"/api/datasets/{ds}/summary", headers=alice.headers)).json()[
        "data"
    ]
    assert summary["fields"]["close"]["max"] == pytest.approx(
        max(pd.read_csv(f)["close"].max() for f in files)
    )
    assert {c["symbol"] for c in summary["coverage"]} == {"600519.SH", "000001.SZ"}


@pytest.mark.realdata
async def test_gbk_newest_first_chinese_headers(
    client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    path = realdata / "cn/index/netease163_000300_gbk.csv"
    done = await import_files(client, alice.headers, [path], name=_name())
    assert done["status"] == "completed", done
    report = done["report"]["files"][0]
    assert report["encoding"].lower() in {"gbk", "gb18030", "cp936"}
    src = pd.read_csv(path, encoding="gbk")
    body = await _preview(client, alice.headers, done["dataset_id"], size=1000)
    assert body["meta"]["total"] == len(src)
    dates = [r["date"] for r in body["data"]]
    assert dates == sorted(dates), "stored ascending although the file is newest first"
    newest = src.iloc[0]
    last = (
        await _preview(client, alice.headers, done["dataset_id"], start=newest["日期"], size=5)
    )["data"][-1]
    assert last["close"] == pytest.approx(newest["收盘价"])


@pytest.mark.realdata
async def test_qlib_folder_zip_round_trip(
    client: httpx.AsyncClient, make_user: Any, realdata: Path, tmp_path: Path
) -> None:
    alice = await make_user()
    root = realdata / "qlib/cn_data_csi300_sample"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(root / "calendars/day.txt", "calendars/day.txt")
        zf.write(root / "instruments/all.txt", "instruments/all.txt")
        for sym in ("SH600519", "SZ000001"):
            for f in (root / "features" / sym).iterdir():
                zf.write(f, f"features/{sym}/{f.name}")
    done = await import_files(client, alice.headers, [("qlib.zip", buf.getvalue())], name=_name())
    assert done["status"] == "completed", done
    ds = done["dataset_id"]
    raw = np.fromfile(root / "features/SH600519/close.day.bin", dtype="<f4")
    cal = (root / "calendars/day.txt").read_text().split()
    start = cal[int(raw[0])]
    body = await _preview(client, alice.headers, ds, symbols="SH600519", start=start, end=start)
    assert body["data"][0]["close"] == pytest.approx(float(raw[1]), rel=1e-6)
    # export as a Qlib folder and read it back with the engine
    resp = await client.get(
        f"/api/datasets/{ds}/export", headers=alice.headers, params={"format": "qlib"}
    )
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(resp.content)) as zf:
        zf.extractall(tmp_path / "q")
    from quantlab.engine.data.qlib_bin import read_qlib

    panel = read_qlib(tmp_path / "q", instruments=["SH600519"], fields=["close"])
    day = np.datetime64(start, "D")
    i = int(np.searchsorted(panel.calendar, day))
    assert panel["close"][i, 0] == pytest.approx(float(raw[1]), rel=1e-6)


async def test_fatal_problems_fail_the_import_with_a_report(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    csv = b"date,symbol,open\n2024-01-02,AAA,1\n2024-01-03,AAA,2\n"
    done = await import_files(client, alice.headers, [("no_close.csv", csv)], name=_name())
    assert done["status"] == "failed"
    codes = {p["code"] for p in done["report"]["combined"]["problems"]}
    assert "missing_column" in codes
    ds = (await client.get(f"/api/datasets/{done['dataset_id']}", headers=alice.headers)).json()[
        "data"
    ]
    assert ds["status"] == "failed" and ds["latest_version"] == 0


async def test_duplicates_are_fatal_unless_repaired(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    csv = (
        b"date,symbol,close,volume\n2024-01-02,AAA,1,10\n2024-01-02,AAA,1,10\n2024-01-03,AAA,2,10\n"
    )
    failed = await import_files(client, alice.headers, [("d.csv", csv)], name=_name())
    assert failed["status"] == "failed"
    ok = await import_files(
        client,
        alice.headers,
        [("d.csv", csv)],
        name=_name(),
        options={"repairs": ["drop_duplicates"]},
    )
    assert ok["status"] == "completed", ok
    body = await _preview(client, alice.headers, ok["dataset_id"])
    assert body["meta"]["total"] == 2


async def test_second_import_makes_version_two_and_repair_makes_three(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    first = await import_files(
        client,
        alice.headers,
        [("a.csv", b"date,symbol,close\n2024-01-02,AAA,1\n2024-01-04,AAA,2\n")],
        name=_name(),
    )
    ds = first["dataset_id"]
    second = await import_files(
        client,
        alice.headers,
        [("b.csv", b"date,symbol,close\n2024-01-02,BBB,5\n2024-01-03,BBB,6\n")],
        dataset_id=ds,
    )
    assert second["status"] == "completed" and second["version"] == 2


async def test_bad_uploads_are_refused_and_write_nothing(
    client: httpx.AsyncClient, make_user: Any, app: Any
) -> None:
    alice = await make_user()
    name = _name()
    resp = await upload(client, alice.headers, [("x.exe", b"MZ")], name=name)
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "IMPORT_REJECTED"
    resp = await upload(
        client,
        alice.headers,
        [(f"f{i}.csv", b"date,close\n") for i in range(app.state.settings.import_max_files + 1)],
        name=name,
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "TOO_MANY_FILES"
    resp = await upload(
        client,
        alice.headers,
        [("a.csv", b"date,close\n2024-01-01,1\n")],
        name=name,
        options={"adjust": "sideways"},
    )
    assert resp.status_code == 422
    resp = await client.post(
        "/api/imports",
        headers=alice.headers,
        data={"dataset_name": name, "options": "{not json"},
        files=[("files", ("a.csv", b"date,close\n", "text/csv"))],
    )
    assert resp.status_code == 422
    listed = (await client.get("/api/datasets", headers=alice.headers, params={"q": name})).json()
    assert listed["meta"]["total"] == 0, "a refused import must not leave a dataset behind"


async def test_path_traversal_file_names_are_neutralised(
    client: httpx.AsyncClient, make_user: Any
) -> None:
    alice = await make_user()
    done = await import_files(
        client,
        alice.headers,
        [("../../etc/passwd.csv", b"date,symbol,close\n2024-01-02,AAA,1\n")],
        name=_name(),
    )
    assert done["status"] == "completed"
    assert done["files"][0]["name"] == "passwd.csv"


async def test_hostile_archive_fails_the_import_and_writes_nothing_outside(
    client: httpx.AsyncClient, make_user: Any, app: Any
) -> None:
    alice = await make_user()
    marker = f"escaped-{uuid.uuid4().hex}.txt"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("calendars/day.txt", "2024-01-02\n")
        zf.writestr(f"../../../{marker}", "pwned")
    done = await import_files(client, alice.headers, [("evil.zip", buf.getvalue())], name=_name())
    assert done["status"] == "failed"
    assert "UnsafeArchive" in done["error"] or "unsafe" in done["error"].lower(), done["error"]
    data_dir = app.state.settings.data_dir
    assert not list(data_dir.parent.rglob(marker)), "an archive entry escaped the upload folder"
    assert not (data_dir / "uploads" / done["id"]).exists(), "uploads of a failed import are kept"
    ds = (await client.get(f"/api/datasets/{done['dataset_id']}", headers=alice.headers)).json()
    assert ds["data"]["latest_version"] == 0 and ds["data"]["status"] == "failed"
    assert (await client.get("/api/health")).status_code == 200


async def test_inspect_proposes_a_mapping(client: httpx.AsyncClient, make_user: Any) -> None:
    alice = await make_user()
    csv = "日期,股票代码,开盘,收盘,最高,最低,成交量\n2024-01-02,600519,1,2,3,0.5,100\n".encode(
        "gbk"
    )
    resp = await client.post(
        "/api/imports/inspect", headers=alice.headers, files={"file": ("t.csv", csv, "text/csv")}
    )
    assert resp.status_code == 200, resp.text
    data = resp.json()["data"]
    assert data["mapping"]["date"] == "日期" and data["mapping"]["close"] == "收盘"


async def test_imports_are_owner_scoped(client: httpx.AsyncClient, make_user: Any) -> None:
    alice, bob = await make_user(), await make_user()
    resp = await upload(
        client, alice.headers, [("a.csv", b"date,symbol,close\n2024-01-02,A,1\n")], name=_name()
    )
    import_id = resp.json()["data"]["id"]
    assert (await client.get(f"/api/imports/{import_id}", headers=bob.headers)).status_code == 404
