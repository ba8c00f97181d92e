"""Seed datasets for tests straight through the datasets service (no import job)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Owner:
    """What the dataset service needs to know about the caller."""

    id: str
    is_admin: bool = False


async def store_dataset(app: Any, owner_id: str, frame: pd.DataFrame, prefix: str = "ds") -> str:
    """Store the long ``frame`` as version 1 of a new dataset of ``owner_id``; returns its id."""
    from quantlab.datasets import service as dataset_service
    from quantlab.datasets.schemas import DatasetCreate
    from quantlab.engine.data.storage import write_version

    data_dir: Path = app.state.settings.data_dir
    async with app.state.db.sessionmaker() as session:
        dataset = await dataset_service.create_dataset(
            session, Owner(owner_id), DatasetCreate(name=f"{prefix}-{uuid.uuid4().hex[:8]}")
        )
        path = dataset_service.new_version_dir(data_dir, dataset.id)
        meta = write_version(frame, path)
        await dataset_service.add_version(session, dataset, meta, path, data_dir)
        await session.commit()
        return str(dataset.id)
