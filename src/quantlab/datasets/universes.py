"""Dated universes of a dataset: list, get, upload (CSV or a Qlib market file), and the
ones a Qlib import brings along (``instruments/<market>.txt``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service
from quantlab.datasets.exceptions import UniverseNotFound, UniverseRejected
from quantlab.datasets.models import DatasetUniverse
from quantlab.engine.data.universe import (
    Membership,
    membership_from_records,
    membership_records,
    parse_membership_csv,
    parse_qlib_instruments,
)
from quantlab.platform import audit
from quantlab.platform.ownership import Principal

MAX_UNIVERSE_BYTES = 5 * 1024 * 1024


def parse_upload(raw: bytes, filename: str | None) -> tuple[Membership, str]:
    """Membership from an uploaded file: a CSV with a header (symbol,start,end) or a Qlib
    market file (``SYMBOL start end`` per line, no header). Returns it and the format."""
    if len(raw) > MAX_UNIVERSE_BYTES:
        raise UniverseRejected(f"a universe file takes at most {MAX_UNIVERSE_BYTES} bytes")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030", errors="replace")
    first = next((ln for ln in text.splitlines() if ln.strip()), "")
    is_qlib = "," not in first and len(first.split()) >= 3 and first.split()[1][:1].isdigit()
    try:
        if is_qlib:
            return parse_qlib_instruments(text), "qlib"
        return parse_membership_csv(text), "csv"
    except ValueError as exc:
        raise UniverseRejected(f"{filename or 'upload'}: {exc}") from None


async def save_universe(
    session: AsyncSession,
    dataset_id: str,
    name: str,
    membership: Membership,
    source: str,
) -> DatasetUniverse:
    """Create or replace the dataset's universe ``name`` (no commit)."""
    if not membership:
        raise UniverseRejected(f"universe {name!r} has no members")
    row = (
        await session.execute(
            select(DatasetUniverse).where(
                DatasetUniverse.dataset_id == dataset_id, DatasetUniverse.name == name
            )
        )
    ).scalar_one_or_none()
    if row is None:
        row = DatasetUniverse(dataset_id=dataset_id, name=name)
        session.add(row)
    row.source = source
    row.members = membership_records(membership)
    row.symbols_count = len(membership)
    await session.flush()
    return row


async def save_universes(
    session: AsyncSession, dataset_id: str, universes: Mapping[str, Membership], source: str
) -> None:
    """Store several universes at once (a Qlib import's market files)."""
    for name, membership in universes.items():
        if membership:
            await save_universe(session, dataset_id, name, membership, source)


async def upload_universe(
    session: AsyncSession,
    user: Principal,
    dataset_id: str,
    name: str,
    raw: bytes,
    filename: str | None,
    client: str | None = None,
) -> DatasetUniverse:
    """Parse an uploaded membership file and store it as the dataset's universe ``name``."""
    dataset = await service.get_dataset(session, user, dataset_id, write=True)
    membership, fmt = parse_upload(raw, filename)
    row = await save_universe(session, dataset.id, name, membership, fmt)
    audit.record(
        session,
        "dataset.universe",
        actor_id=user.id,
        resource_type="dataset",
        resource_id=dataset.id,
        details={"universe": name, "symbols": row.symbols_count, "format": fmt},
        client_address=client,
    )
    await session.commit()
    return row


async def list_universes(
    session: AsyncSession, user: Principal, dataset_id: str
) -> Sequence[DatasetUniverse]:
    """The dataset's universes by name."""
    dataset = await service.get_dataset(session, user, dataset_id)
    rows = await session.scalars(
        select(DatasetUniverse)
        .where(DatasetUniverse.dataset_id == dataset.id)
        .order_by(DatasetUniverse.name)
    )
    return rows.all()


async def get_universe(
    session: AsyncSession, user: Principal, dataset_id: str, name: str
) -> DatasetUniverse:
    """One universe of a dataset, with its members (404 otherwise)."""
    dataset = await service.get_dataset(session, user, dataset_id)
    row = (
        await session.execute(
            select(DatasetUniverse).where(
                DatasetUniverse.dataset_id == dataset.id, DatasetUniverse.name == name
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise UniverseNotFound(f"dataset {dataset.name!r} has no universe {name!r}")
    return row


async def load_membership(
    session: AsyncSession, user: Principal, dataset_id: str, name: str
) -> Membership:
    """A stored universe as the engine's membership, ready for ``membership_mask``."""
    row = await get_universe(session, user, dataset_id, name)
    return membership_from_records(row.members or [])


def summary(row: DatasetUniverse) -> dict[str, Any]:
    """A universe without its members (for listings)."""
    members = row.members or []
    starts = [m["start"] for m in members]
    ends = [m["end"] for m in members if m["end"]]
    return {
        "name": row.name,
        "source": row.source,
        "symbols_count": row.symbols_count,
        "spans": len(members),
        "first_start": min(starts) if starts else None,
        "last_end": max(ends) if ends else None,
        "open_spans": sum(1 for m in members if not m["end"]),
        "updated_at": row.updated_at,
    }
