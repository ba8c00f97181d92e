"""The study's overfitting report read page by page (both databases): with pages of two
trials, the streamed CSCV gives exactly the report of the whole returns matrix read at once
from storage, and the one the study's job stored in its summary."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from sqlalchemy import select

from tests.helpers.datasets import store_dataset
from tests.studies.helpers import dual_ma, market_frame, wait_study

pytestmark = pytest.mark.timeout(600)


async def test_paged_report_equals_the_whole_matrix(
    app: Any, client: Any, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from quantlab.engine.optimise import overfitting_report
    from quantlab.studies import analysis
    from quantlab.studies.models import Study, StudyTrial

    alice = await make_user()
    h = alice.headers
    dataset_id = await store_dataset(app, alice.id, market_frame(), "pages")
    resp = await client.post("/api/studies", json=dual_ma(dataset_id, objectives=["sharpe"]),
                             headers=h)  # fmt: skip
    assert resp.status_code == 202, resp.text
    study = await wait_study(client, h, resp.json()["data"]["id"])
    assert study["status"] == "completed", study
    best = study["summary"]["best"]["number"]

    monkeypatch.setattr(analysis, "RETURNS_PAGE", 2)  # 9 trials: five pages
    async with app.state.db.sessionmaker() as session:
        row = await session.get(Study, study["id"])
        paged = await analysis.overfitting(session, row, best)
        stored = (await session.execute(
            select(StudyTrial.number, StudyTrial.returns)
            .where(StudyTrial.study_id == row.id).order_by(StudyTrial.number)
        )).all()  # fmt: skip
    matrix = np.column_stack([np.frombuffer(r.returns, dtype=np.float64) for r in stored])
    whole = overfitting_report(matrix, [r.number for r in stored].index(best))
    assert paged is not None and paged["n_trials"] == 9 == whole["n_trials"]
    assert paged["pbo"] == pytest.approx(whole["pbo"], abs=0)
    assert paged["logits"]["counts"] == whole["logits"]["counts"]
    assert paged["dsr"]["dsr"] == pytest.approx(whole["dsr"]["dsr"], rel=1e-9)
    assert study["summary"]["overfitting"]["pbo"] == pytest.approx(whole["pbo"], abs=0)
