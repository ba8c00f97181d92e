"""HTTP routes of a dataset's dated universes (point-in-time index membership)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Request, UploadFile, status

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.datasets import universes
from quantlab.datasets.schemas import UniverseOut, UniverseSummary
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import ERROR_RESPONSES, Envelope, ok
from quantlab.platform.ratelimit import client_address

router = APIRouter(prefix="/api/datasets", tags=["universes"], responses=ERROR_RESPONSES)

UniverseName = Annotated[str, Path(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.\-]+$")]


def _out(row: Any, members: bool) -> dict[str, Any]:
    data = universes.summary(row)
    if members:
        return UniverseOut.model_validate({**data, "members": row.members}).model_dump(mode="json")
    return UniverseSummary.model_validate(data).model_dump(mode="json")


@router.get(
    "/{dataset_id}/universes",
    summary="The dataset's dated universes",
    response_model=Envelope[list[UniverseSummary]],
)
async def list_universes(dataset_id: str, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    rows = await universes.list_universes(session, user, dataset_id)
    return ok([_out(r, members=False) for r in rows])


@router.get(
    "/{dataset_id}/universes/{name}",
    summary="One universe with its membership spans",
    response_model=Envelope[UniverseOut],
)
async def get_universe(
    dataset_id: str, name: UniverseName, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    return ok(_out(await universes.get_universe(session, user, dataset_id, name), members=True))


@router.post(
    "/{dataset_id}/universes",
    status_code=status.HTTP_201_CREATED,
    summary="Upload a universe: CSV symbol,start,end or a Qlib instruments file",
    response_model=Envelope[UniverseSummary],
)
async def upload_universe(
    dataset_id: str,
    user: WriteUser,
    session: DbSession,
    request: Request,
    name: Annotated[str, Form(min_length=1, max_length=120, pattern=r"^[A-Za-z0-9_.\-]+$")],
    file: Annotated[UploadFile, File(description="CSV with symbol,start,end or csi300.txt")],
) -> dict[str, Any]:
    raw = await file.read(universes.MAX_UNIVERSE_BYTES + 1)
    row = await universes.upload_universe(
        session, user, dataset_id, name, raw, file.filename, client=client_address(request)
    )
    return ok(_out(row, members=False))
