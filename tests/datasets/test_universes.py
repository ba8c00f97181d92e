"""Dated universes of a dataset: imported with a Qlib folder (csi300.txt), uploaded as CSV
or as a Qlib market file, listed and read back; bad files get a clear 422."""

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

from tests.datasets.conftest import import_files


def _name() -> str:
    return f"uni-{uuid.uuid4().hex[:10]}"


@pytest.mark.realdata
async def test_qlib_import_brings_its_dated_csi300_membership(
    client: httpx.AsyncClient, make_user: Any, realdata: Path
) -> None:
    alice = await make_user()
    root = realdata / "qlib/cn_data_csi300_sample"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for rel in ("calendars/day.txt", "instruments/all.txt", "instruments/csi300.txt"):
            zf.write(root / rel, f"cn_data/{rel}")
        for f in (root / "features/SH600519").iterdir():
            zf.write(f, f"cn_data/features/SH600519/{f.name}")
    done = await import_files(client, alice.headers, [("qlib.zip", buf.getvalue())], name=_name())
    assert done["status"] == "completed", done
    assert done["report"]["universes"] == {"csi300": 789}
    ds = done["dataset_id"]
    listing = (await client.get(f"/api/datasets/{ds}/universes", headers=alice.headers)).json()
    assert [u["name"] for u in listing["data"]] == ["csi300"]
    raw = pd.read_csv(root / "instruments/csi300.txt", sep="\t", names=["symbol", "start", "end"])
    one = (await client.get(f"/api/datasets/{ds}/universes/csi300", headers=alice.headers)).json()
    data = one["data"]
    assert data["symbols_count"] == raw["symbol"].nunique() == 789
    assert data["first_start"] == raw["start"].min() and data["last_end"] == raw["end"].max()
    spans = {(m["symbol"], m["start"], m["end"]) for m in data["members"]}
    # SH600004 left the index and came back: two spans, as in the file
    assert ("SH600004", "2010-01-04", "2011-12-12") in spans
    assert ("SH600004", "2018-12-17", "2021-06-14") in spans


async def test_upload_list_get_and_refuse(
    app: Any, client: httpx.AsyncClient, make_user: Any
) -> None:
    alice, bob = await make_user(), await make_user()
    csv = b"date,symbol,close\n2024-01-02,AAA,1\n2024-01-03,BBB,2\n"
    done = await import_files(client, alice.headers, [("d.csv", csv)], name=_name())
    ds = done["dataset_id"]
    url = f"/api/datasets/{ds}/universes"
    members = b"symbol,start,end\nAAA,2024-01-02,2024-01-02\nBBB,20240103,\n"
    resp = await client.post(
        url, headers=alice.headers, data={"name": "mine"}, files={"file": ("m.csv", members)}
    )
    assert resp.status_code == 201, resp.text
    assert resp.json()["data"]["symbols_count"] == 2 and resp.json()["data"]["open_spans"] == 1
    qlib = b"AAA\t2024-01-02\t2024-01-05\n"
    resp = await client.post(
        url, headers=alice.headers, data={"name": "q"}, files={"file": ("q.txt", qlib)}
    )
    assert resp.status_code == 201 and resp.json()["data"]["source"] == "qlib"
    got = (await client.get(f"{url}/mine", headers=alice.headers)).json()["data"]
    assert got["members"] == [
        {"symbol": "AAA", "start": "2024-01-02", "end": "2024-01-02"},
        {"symbol": "BBB", "start": "2024-01-03", "end": None},
    ]
    from quantlab.datasets import universes
    from quantlab.engine.data.universe import membership_mask
    from tests.helpers.datasets import Owner

    async with app.state.db.sessionmaker() as session:
        membership = await universes.load_membership(session, Owner(alice.id), ds, "mine")
    cal = np.array(["2024-01-02", "2024-01-03"], dtype="datetime64[D]")
    assert membership_mask(membership, cal, ["AAA", "BBB"]).tolist() == [
        [True, False],
        [False, True],
    ]
    names = [u["name"] for u in (await client.get(url, headers=alice.headers)).json()["data"]]
    assert names == ["mine", "q"]
    bad = b"symbol,start,end\nAAA,2024-02-01,2024-01-01\n"
    resp = await client.post(
        url, headers=alice.headers, data={"name": "bad"}, files={"file": ("b.csv", bad)}
    )
    assert resp.status_code == 422 and resp.json()["error"]["code"] == "UNIVERSE_REJECTED"
    assert "before start" in resp.json()["error"]["message"]
    resp = await client.get(f"{url}/nope", headers=alice.headers)
    assert resp.status_code == 404 and resp.json()["error"]["code"] == "UNIVERSE_NOT_FOUND"
    assert (await client.get(url, headers=bob.headers)).status_code == 404
    resp = await client.post(
        url, headers=bob.headers, data={"name": "x"}, files={"file": ("m.csv", members)}
    )
    assert resp.status_code == 404
