"""Who may create which job: internal types are refused by the generic routes, and the
objects a user-submittable job names are checked at creation and again when it runs."""

from __future__ import annotations

import asyncio
from typing import Any

import pandas as pd
import pytest
from sqlalchemy import update

from quantlab.datasets.models import Dataset
from quantlab.platform.jobs.registry import load_job_types
from tests.helpers.datasets import store_dataset
from tests.helpers.idor import assert_internal_job_type, assert_no_idor_through_jobs
from tests.tasks.helpers import enqueue, wait_for

pytestmark = pytest.mark.timeout(180)

MISSING = "0" * 32


def _frame() -> pd.DataFrame:
    dates = pd.bdate_range("2024-01-02", periods=30)
    return pd.concat(
        [
            pd.DataFrame({"date": dates, "symbol": s, "close": 10.0 + i + pd.RangeIndex(30)})
            for i, s in enumerate(["600000", "600001"])
        ],
        ignore_index=True,
    )


# Valid params of every user-submittable type; ``{id}`` fields name an object of the owner.
SUBMITTABLE_EXAMPLES: dict[str, dict[str, Any]] = {
    "system.noop": {"value": 1},
    "system.sleep": {"steps": 1, "step_seconds": 0},
    "system.busy": {"seconds": 0},
    "datasets.transform": {
        "dataset_id": "{dataset}",
        "version": 1,
        "pipeline": [{"op": "filter", "symbols": ["600000"], "end": "2024-01-20"}],
    },
}
# Params the internal types take (refused anyway, whatever they name).
INTERNAL_EXAMPLES: dict[str, dict[str, Any]] = {
    "datasets.import": {"import_id": MISSING},
    "factors.evaluate": {"evaluation_id": MISSING},
    "backtests.run": {"backtest_id": MISSING},
    "strategies.example": {"example_id": MISSING},
    "models.train": {"run_id": MISSING},
    "builder.quick_test": {"draft_id": MISSING, "spec": {}},
    "studies.run": {"study_id": MISSING},
    "studies.chunk": {"study_id": MISSING},
}


def _fill(params: dict[str, Any], object_id: str) -> dict[str, Any]:
    return {k: (object_id if v == "{dataset}" else v) for k, v in params.items()}


async def test_every_registered_type_is_guarded(app: Any, client: Any, make_user: Any) -> None:
    owner, intruder, other = await make_user(), await make_user(), await make_user()
    private = await store_dataset(app, owner.id, _frame(), "private")
    public = await store_dataset(app, other.id, _frame(), "public")
    async with app.state.db.sessionmaker() as session:
        await session.execute(update(Dataset).where(Dataset.id == public).values(is_public=True))
        await session.commit()
    registry = load_job_types()
    submittable = {name for name, t in registry.items() if t.submittable}
    # a new type must be added to one of the two tables, so this test covers it
    assert submittable == set(SUBMITTABLE_EXAMPLES), submittable
    assert set(registry) - submittable == set(INTERNAL_EXAMPLES)

    for name, entry in sorted(registry.items()):
        if not entry.submittable:
            await assert_internal_job_type(client, owner.headers, name, INTERNAL_EXAMPLES[name])
            continue
        example = SUBMITTABLE_EXAMPLES[name]
        if not entry.owned:
            job = await enqueue(client, intruder.headers, name, **example)
            await wait_for(client, intruder.headers, job["id"], "completed")
            continue
        await assert_no_idor_through_jobs(
            client,
            owner.headers,
            intruder.headers,
            read=f"/api/datasets/{private}",
            job_type=name,
            params=_fill(example, private),
            missing_params=_fill(example, MISSING),
        )
        # someone else's public dataset may be read, not changed: 403
        resp = await client.post(
            "/api/tasks",
            headers=intruder.headers,
            json={"type": name, "params": _fill(example, public)},
        )
        assert resp.status_code == 403, resp.text
        # the owner may
        job = await enqueue(client, owner.headers, name, **_fill(example, private))
        done = await wait_for(client, owner.headers, job["id"], {"completed", "failed"}, 90)
        assert done["status"] == "completed", done
    versions = (await client.get(f"/api/datasets/{public}", headers=other.headers)).json()
    assert versions["data"]["latest_version"] == 1


async def _block(client: Any, headers: dict[str, str]) -> list[str]:
    """Fill the user's running-job quota so the next job of theirs waits."""
    busy = [(await enqueue(client, headers, "system.busy", seconds=60))["id"] for _ in range(2)]
    for job_id in busy:
        await wait_for(client, headers, job_id, "running")
    return busy


async def _release(client: Any, headers: dict[str, str], busy: list[str]) -> None:
    for job_id in busy:
        resp = await client.post(f"/api/tasks/{job_id}/cancel", headers=headers)
        assert resp.status_code == 200, resp.text


async def test_ownership_is_checked_again_when_the_job_runs(
    app: Any, client: Any, make_user: Any
) -> None:
    owner, newcomer = await make_user(), await make_user()
    h = owner.headers
    dataset = await store_dataset(app, owner.id, _frame(), "moving")
    busy = await _block(client, h)
    job = await enqueue(
        client,
        h,
        "datasets.transform",
        **_fill(SUBMITTABLE_EXAMPLES["datasets.transform"], dataset),
    )
    await asyncio.sleep(0.3)
    assert (await client.get(f"/api/tasks/{job['id']}", headers=h)).json()["data"][
        "status"
    ] == "pending"
    async with app.state.db.sessionmaker() as session:  # the dataset changes hands meanwhile
        await session.execute(
            update(Dataset).where(Dataset.id == dataset).values(owner_id=newcomer.id)
        )
        await session.commit()
    await _release(client, h, busy)
    failed = await wait_for(client, h, job["id"], {"completed", "failed"}, 90)
    assert failed["status"] == "failed", failed
    assert failed["error"]["code"] == "DATASET_NOT_FOUND"
    got = await client.get(f"/api/datasets/{dataset}", headers=newcomer.headers)
    assert got.json()["data"]["latest_version"] == 1  # nothing was written


async def test_job_errors_never_show_server_paths(app: Any, client: Any, make_user: Any) -> None:
    user = await make_user()
    h = user.headers
    busy = await _block(client, h)
    csv = b"date,symbol,close\n2024-01-02,600000,10\n2024-01-03,600000,11\n"
    resp = await client.post(
        "/api/imports", headers=h, files=[("files", ("prices.csv", csv, "text/csv"))]
    )
    assert resp.status_code == 202, resp.text
    record = resp.json()["data"]
    uploads = app.state.settings.data_dir / "uploads" / record["id"]
    for path in uploads.iterdir():  # the upload disappears before the job reads it
        path.unlink()
    await _release(client, h, busy)
    job = await wait_for(client, h, record["job_id"], {"completed", "failed"}, 90)
    assert job["status"] == "failed"
    data_dir = str(app.state.settings.data_dir)
    texts = [job["error"]["message"]]
    texts += [
        e["message"]
        for e in (await client.get(f"/api/tasks/{job['id']}/logs", headers=h)).json()["data"]
    ]
    imp = (await client.get(f"/api/imports/{record['id']}", headers=h)).json()["data"]
    texts.append(imp["error"] or "")
    assert "prices.csv" in job["error"]["message"], job["error"]
    for text in texts:
        assert data_dir not in text and "/uploads/" not in text, text
    dataset = (await client.get(f"/api/datasets/{record['dataset_id']}", headers=h)).json()
    assert dataset["data"]["status"] == "failed"
