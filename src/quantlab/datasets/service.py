"""Dataset rules and transactions: ownership, names, versions, preview and summary."""

from __future__ import annotations

import dataclasses
import shutil
import uuid
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.compute as pc
import pyarrow.dataset as pads
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets.exceptions import (
    DataFileError,
    DatasetNameTaken,
    DatasetNotFound,
    DatasetNotReady,
    UnknownSymbols,
    VersionNotFound,
)
from quantlab.datasets.models import Dataset, DatasetUniverse, DatasetVersion
from quantlab.datasets.schemas import DatasetCreate, DatasetUpdate, RowFilter
from quantlab.engine.data.panel import Panel
from quantlab.engine.data.storage import DATA_FILE, VersionMeta, load_panel
from quantlab.platform import audit
from quantlab.platform.db import paginate, utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.jsonsafe import json_safe
from quantlab.platform.ownership import Principal, get_owned, visible

DATASETS_DIR = "datasets"


def new_version_dir(data_dir: Path, dataset_id: str) -> Path:
    """A fresh directory for a version being written (its number is assigned on commit,
    so concurrent writers to one dataset never share a directory)."""
    return data_dir / DATASETS_DIR / dataset_id / uuid.uuid4().hex


async def _name_taken(
    session: AsyncSession, owner_id: str, name: str, exclude_id: str | None = None
) -> bool:
    stmt = select(Dataset.id).where(
        Dataset.owner_id == owner_id, Dataset.name == name, Dataset.deleted_at.is_(None)
    )
    if exclude_id is not None:
        stmt = stmt.where(Dataset.id != exclude_id)
    return (await session.execute(stmt.limit(1))).first() is not None


async def create_dataset(
    session: AsyncSession,
    user: Principal,
    data: DatasetCreate,
    *,
    source: str = "import",
    status: str = "empty",
    client: str | None = None,
    commit: bool = True,
) -> Dataset:
    """Create an empty dataset owned by ``user`` (409 when the name is taken)."""
    if await _name_taken(session, user.id, data.name):
        raise DatasetNameTaken(f"you already have a dataset named {data.name!r}")
    dataset = Dataset(
        owner_id=user.id,
        name=data.name,
        description=data.description,
        tags=data.tags,
        is_public=data.is_public,
        source=source,
        status=status,
    )
    session.add(dataset)
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        raise DatasetNameTaken(f"you already have a dataset named {data.name!r}") from None
    audit.record(
        session,
        "dataset.create",
        actor_id=user.id,
        resource_type="dataset",
        resource_id=dataset.id,
        details={"name": data.name, "source": source},
        client_address=client,
    )
    if commit:
        await session.commit()
    return dataset


async def list_datasets(
    session: AsyncSession,
    user: Principal,
    params: PageParams,
    *,
    q: str | None = None,
    source: str | None = None,
    status: str | None = None,
    frequency: str | None = None,
    mine: bool = False,
) -> tuple[Sequence[Dataset], int]:
    """Datasets ``user`` may read (own, public, or all for admins), newest first."""
    stmt = visible(select(Dataset), Dataset, user, mine_only=mine).where(
        Dataset.deleted_at.is_(None)
    )
    if q:
        pattern = f"%{q.lower()}%"
        stmt = stmt.where(
            or_(
                func.lower(Dataset.name).like(pattern),
                func.lower(Dataset.description).like(pattern),
            )
        )
    for column, value in (
        (Dataset.source, source),
        (Dataset.status, status),
        (Dataset.frequency, frequency),
    ):
        if value is not None:
            stmt = stmt.where(column == value)
    return await paginate(session, stmt, params, Dataset.created_at.desc(), Dataset.id)


async def get_dataset(
    session: AsyncSession, user: Principal, dataset_id: str, *, write: bool = False
) -> Dataset:
    """A live dataset visible to ``user`` (404 otherwise; 403 writing a public one)."""
    dataset = await get_owned(
        session, Dataset, dataset_id, user, write=write, not_found=DatasetNotFound
    )
    if dataset.deleted_at is not None:
        raise DatasetNotFound(f"dataset {dataset_id} not found")
    return dataset


async def update_dataset(
    session: AsyncSession,
    user: Principal,
    dataset_id: str,
    data: DatasetUpdate,
    client: str | None = None,
) -> Dataset:
    """Change name, description, tags or visibility."""
    dataset = await get_dataset(session, user, dataset_id, write=True)
    changes = data.model_dump(exclude_unset=True, exclude_none=True)
    if "name" in changes and await _name_taken(
        session, dataset.owner_id, changes["name"], dataset.id
    ):
        raise DatasetNameTaken(f"you already have a dataset named {changes['name']!r}")
    old = {k: getattr(dataset, k) for k in changes}
    for key, value in changes.items():
        setattr(dataset, key, value)
    audit.record(
        session,
        "dataset.update",
        actor_id=user.id,
        resource_type="dataset",
        resource_id=dataset.id,
        details={"old": old, "new": changes},
        client_address=client,
    )
    await session.commit()
    return dataset


async def delete_dataset(
    session: AsyncSession,
    user: Principal,
    dataset_id: str,
    data_dir: Path,
    *,
    hard: bool = False,
    client: str | None = None,
) -> None:
    """Soft delete (hidden, files kept) or hard delete (rows and files removed)."""
    dataset = await get_owned(
        session, Dataset, dataset_id, user, write=True, not_found=DatasetNotFound
    )
    if dataset.deleted_at is not None and not hard:
        raise DatasetNotFound(f"dataset {dataset_id} not found")
    audit.record(
        session,
        "dataset.delete",
        actor_id=user.id,
        resource_type="dataset",
        resource_id=dataset.id,
        details={"hard": hard, "name": dataset.name},
        client_address=client,
    )
    if hard:
        versions = await session.scalars(
            select(DatasetVersion).where(DatasetVersion.dataset_id == dataset.id)
        )
        for version in versions:
            await session.delete(version)
        universes = await session.scalars(
            select(DatasetUniverse).where(DatasetUniverse.dataset_id == dataset.id)
        )
        for universe in universes:
            await session.delete(universe)
        await session.delete(dataset)
        await session.commit()
        # Files go only after the rows are gone, so a failed commit loses nothing.
        shutil.rmtree(data_dir / DATASETS_DIR / dataset.id, ignore_errors=True)
        return
    dataset.deleted_at = utcnow()
    dataset.status = "deleted"
    await session.commit()


async def list_versions(
    session: AsyncSession, user: Principal, dataset_id: str
) -> Sequence[DatasetVersion]:
    """Every version of a dataset, oldest first."""
    dataset = await get_dataset(session, user, dataset_id)
    rows = await session.scalars(
        select(DatasetVersion)
        .where(DatasetVersion.dataset_id == dataset.id)
        .order_by(DatasetVersion.version)
    )
    return rows.all()


async def get_version(
    session: AsyncSession, dataset: Dataset, version: int | None = None
) -> DatasetVersion:
    """A stored version (the latest when ``version`` is None)."""
    number = version or dataset.latest_version
    if not number:
        raise DatasetNotReady(f"dataset {dataset.name!r} has no data yet (status {dataset.status})")
    row = (
        await session.execute(
            select(DatasetVersion).where(
                DatasetVersion.dataset_id == dataset.id, DatasetVersion.version == number
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise VersionNotFound(
            f"dataset {dataset.name!r} has no version {number} (latest is {dataset.latest_version})"
        )
    return row


async def add_version(
    session: AsyncSession,
    dataset: Dataset,
    meta: VersionMeta,
    path: Path,
    data_dir: Path,
    *,
    parent: int | None = None,
    pipeline: list[dict[str, Any]] | None = None,
    note: str = "",
    adjustment: str = "none",
    units: dict[str, Any] | None = None,
) -> DatasetVersion:
    """Record a version already written to ``path`` and make it the latest."""
    number = dataset.latest_version + 1
    row = DatasetVersion(
        dataset_id=dataset.id,
        version=number,
        parent_version=parent,
        pipeline=pipeline,
        path=str(path.relative_to(data_dir)),
        symbols_count=len(meta.symbols),
        start=meta.start or None,
        end=meta.end or None,
        frequency=meta.frequency,
        fields=meta.fields,
        rows=meta.rows,
        missing=meta.missing,
        adjustment=adjustment,
        units=units or {},
        size_bytes=meta.size_bytes,
        checksum=meta.sha256,
        note=note,
        created_at=utcnow(),
    )
    session.add(row)
    dataset.latest_version = number
    dataset.status = "ready"
    dataset.frequency = meta.frequency
    await session.flush()
    return row


def _scanner(path: Path, flt: RowFilter, known: Sequence[str]) -> Any:
    data = path / DATA_FILE
    if not data.exists():
        raise DataFileError(f"the stored data of this version is missing ({data.name})")
    ds = pads.dataset(str(data), format="parquet")
    expr = None
    if flt.symbols:
        unknown = sorted(set(flt.symbols) - set(known))
        if unknown:
            raise UnknownSymbols(
                f"{len(unknown)} symbol(s) not in this version: {', '.join(unknown[:10])}",
                details={"unknown": unknown[:100]},
            )
        expr = pc.field("symbol").isin(flt.symbols)
    if flt.start is not None:
        e = pc.field("date") >= pd.Timestamp(flt.start).to_datetime64()
        expr = e if expr is None else expr & e
    if flt.end is not None:
        e = pc.field("date") < pd.Timestamp(flt.end + pd.Timedelta(days=1)).to_datetime64()
        expr = e if expr is None else expr & e
    return ds, expr


def read_rows(path: Path, flt: RowFilter, known: Sequence[str]) -> pd.DataFrame:
    """Rows of a stored version matching ``flt``, sorted by symbol then date."""
    ds, expr = _scanner(path, flt, known)
    table = ds.to_table(filter=expr)
    frame = table.to_pandas()
    if len(frame):
        frame["symbol"] = frame["symbol"].astype(str)
    return frame.sort_values(["symbol", "date"], kind="stable").reset_index(drop=True)


def _json_value(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    return json_safe(value)


def frame_records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-safe records (NaN → null, timestamps → ISO dates)."""
    cols = list(frame.columns)
    return [
        {c: _json_value(v) for c, v in zip(cols, row, strict=True)}
        for row in frame.itertuples(index=False, name=None)
    ]


async def preview(
    session: AsyncSession,
    user: Principal,
    dataset_id: str,
    flt: RowFilter,
    params: PageParams,
    data_dir: Path,
) -> tuple[list[dict[str, Any]], int, DatasetVersion]:
    """A page of the real stored rows, filterable by symbols and date range."""
    dataset = await get_dataset(session, user, dataset_id)
    version = await get_version(session, dataset, flt.version)
    known = load_panel_symbols(data_dir / version.path)
    frame = read_rows(data_dir / version.path, flt, known)
    chunk = frame.iloc[params.offset : params.offset + params.size]
    return frame_records(chunk), len(frame), version


def load_panel_symbols(path: Path) -> list[str]:
    """The symbols of a stored version (from its summary file)."""
    from quantlab.engine.data.storage import read_meta

    try:
        return list(read_meta(path).symbols)
    except FileNotFoundError:
        raise DataFileError("the stored summary of this version is missing") from None


def summarise(frame: pd.DataFrame, fields: Sequence[str]) -> dict[str, Any]:
    """Per-field statistics and per-symbol coverage of a long frame."""
    stats: dict[str, Any] = {}
    for name in fields:
        col = frame[name].astype("float64")
        valid = col.dropna()
        q = valid.quantile([0.01, 0.25, 0.5, 0.75, 0.99]) if len(valid) else None
        stats[name] = {
            "count": int(valid.size),
            "missing": int(col.isna().sum()),
            "mean": _json_value(valid.mean()) if len(valid) else None,
            "std": _json_value(valid.std()) if len(valid) > 1 else None,
            "min": _json_value(valid.min()) if len(valid) else None,
            "max": _json_value(valid.max()) if len(valid) else None,
            "quantiles": None
            if q is None
            else {f"p{int(k * 100)}": _json_value(v) for k, v in q.items()},
        }
    calendar = np.sort(frame["date"].unique())
    coverage = []
    for symbol, group in frame.groupby("symbol", sort=True, observed=True):
        dates = group["date"].to_numpy()
        lo, hi = dates.min(), dates.max()
        expected = int(((calendar >= lo) & (calendar <= hi)).sum())
        coverage.append(
            {
                "symbol": str(symbol),
                "first": _json_value(pd.Timestamp(lo)),
                "last": _json_value(pd.Timestamp(hi)),
                "rows": len(group),
                "expected_rows": expected,
                "coverage": round(len(group) / expected, 6) if expected else None,
                "missing_cells": int(group[list(fields)].isna().sum().sum()),
            }
        )
    return {
        "rows": len(frame),
        "symbols": len(coverage),
        "calendar_days": len(calendar),
        "fields": stats,
        "coverage": coverage,
    }


async def summary(
    session: AsyncSession, user: Principal, dataset_id: str, version: int | None, data_dir: Path
) -> dict[str, Any]:
    """Statistics of a stored version (latest by default)."""
    dataset = await get_dataset(session, user, dataset_id)
    row = await get_version(session, dataset, version)
    frame = read_rows(data_dir / row.path, RowFilter(), [])
    return {"version": row.version, **summarise(frame, row.fields)}


async def load_dataset_panel(
    session: AsyncSession,
    user: Principal,
    dataset_id: str,
    data_dir: Path,
    *,
    version: int | None = None,
    fields: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    start: date | None = None,
    end: date | None = None,
) -> tuple[Panel, DatasetVersion]:
    """The panel of a dataset version for the factor and backtest engines."""
    dataset = await get_dataset(session, user, dataset_id)
    row = await get_version(session, dataset, version)
    if symbols:
        unknown = sorted(set(symbols) - set(load_panel_symbols(data_dir / row.path)))
        if unknown:
            raise UnknownSymbols(
                f"{len(unknown)} symbol(s) not in this version: {', '.join(unknown[:10])}",
                details={"unknown": unknown[:100]},
            )
    panel = load_panel(
        data_dir / row.path,
        fields=fields,
        symbols=symbols,
        start=None if start is None else np.datetime64(start, "D"),
        end=None if end is None else np.datetime64(end, "D"),
    )
    return with_price_basis(panel, row), row


def with_price_basis(panel: Panel, row: DatasetVersion) -> Panel:
    """The panel with the price and volume basis its version declares in ``units`` (the
    backtest trades adjusted prices at price / factor); as loaded when it declares none."""
    units = row.units or {}
    if units.get("price_basis") != "adjusted" or "factor" not in panel.fields:
        return panel
    basis = {"price_basis": "adjusted", "volume_basis": str(units.get("volume_basis", "raw"))}
    return dataclasses.replace(panel, meta={**panel.meta, **basis})
