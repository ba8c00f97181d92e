"""HTTP routes of datasets and imports (thin: parse, call the service, wrap)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Path, Query, Request, Response, UploadFile, status

from quantlab.auth.dependencies import CurrentUser, WriteUser
from quantlab.datasets import exports, imports, service
from quantlab.datasets.schemas import (
    DatasetCreate,
    DatasetDeleted,
    DatasetOut,
    DatasetSummary,
    DatasetUpdate,
    ImportOut,
    InspectOut,
    RepairRequest,
    RowFilter,
    RowsPage,
    VersionOut,
)
from quantlab.platform.db import DbSession
from quantlab.platform.envelope import (
    ERROR_RESPONSES,
    Envelope,
    IsoDate,
    JobAccepted,
    Page,
    Pagination,
    file_responses,
    ok,
    page,
)
from quantlab.platform.jobs import service as job_service
from quantlab.platform.ratelimit import client_address

router = APIRouter(prefix="/api/datasets", tags=["datasets"], responses=ERROR_RESPONSES)
imports_router = APIRouter(prefix="/api/imports", tags=["imports"], responses=ERROR_RESPONSES)

SymbolsQuery = Annotated[
    str | None,
    Query(
        max_length=4000,
        pattern=r"^[\x20-\x7e]*$",
        description="comma-separated symbols (printable ASCII codes; a URL stays under the "
        "server's 16 KB request-head limit)",
        examples=["600519.SH"],
    ),
]


def _symbols(raw: str | None) -> list[str] | None:
    if not raw:
        return None
    return [s.strip() for s in raw.split(",") if s.strip()] or None


def _dataset(d: Any) -> Any:
    return DatasetOut.model_validate(d).model_dump(mode="json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Create an empty dataset",
    response_model=Envelope[DatasetOut],
)
async def create_dataset(
    body: DatasetCreate, user: WriteUser, session: DbSession, request: Request
) -> Any:
    dataset = await service.create_dataset(session, user, body, client=client_address(request))
    return ok(_dataset(dataset))


@router.get("", summary="List datasets you can read", response_model=Page[DatasetOut])
async def list_datasets(
    user: CurrentUser,
    session: DbSession,
    params: Pagination,
    q: Annotated[str | None, Query(max_length=120, description="search name/description")] = None,
    source: Annotated[str | None, Query(max_length=20)] = None,
    status_: Annotated[str | None, Query(alias="status", max_length=20)] = None,
    frequency: Annotated[str | None, Query(max_length=10)] = None,
    mine: bool = False,
) -> Any:
    rows, total = await service.list_datasets(
        session, user, params, q=q, source=source, status=status_, frequency=frequency, mine=mine
    )
    return page([_dataset(d) for d in rows], total, params)


@router.get("/{dataset_id}", summary="Get a dataset", response_model=Envelope[DatasetOut])
async def get_dataset(dataset_id: str, user: CurrentUser, session: DbSession) -> Any:
    return ok(_dataset(await service.get_dataset(session, user, dataset_id)))


@router.patch(
    "/{dataset_id}",
    summary="Rename, describe, tag or publish a dataset",
    response_model=Envelope[DatasetOut],
)
async def update_dataset(
    dataset_id: str, body: DatasetUpdate, user: WriteUser, session: DbSession, request: Request
) -> Any:
    dataset = await service.update_dataset(
        session, user, dataset_id, body, client=client_address(request)
    )
    return ok(_dataset(dataset))


@router.delete(
    "/{dataset_id}",
    summary="Soft delete (default) or hard delete (?hard=true)",
    response_model=Envelope[DatasetDeleted],
)
async def delete_dataset(
    dataset_id: str, user: WriteUser, session: DbSession, request: Request, hard: bool = False
) -> Any:
    await service.delete_dataset(
        session,
        user,
        dataset_id,
        request.app.state.settings.data_dir,
        hard=hard,
        client=client_address(request),
    )
    return ok({"id": dataset_id, "deleted": "hard" if hard else "soft"})


@router.get(
    "/{dataset_id}/versions",
    summary="Versions with lineage and metadata",
    response_model=Envelope[list[VersionOut]],
)
async def list_versions(dataset_id: str, user: CurrentUser, session: DbSession) -> Any:
    rows = await service.list_versions(session, user, dataset_id)
    return ok([VersionOut.model_validate(v).model_dump(mode="json") for v in rows])


@router.get(
    "/{dataset_id}/versions/{version}",
    summary="One version's metadata",
    response_model=Envelope[VersionOut],
)
async def get_version(
    dataset_id: str, version: Annotated[int, Path(ge=1)], user: CurrentUser, session: DbSession
) -> Any:
    dataset = await service.get_dataset(session, user, dataset_id)
    row = await service.get_version(session, dataset, version)
    return ok(VersionOut.model_validate(row).model_dump(mode="json"))


@router.get(
    "/{dataset_id}/preview", summary="Paged rows of the stored data", response_model=RowsPage
)
async def preview(
    dataset_id: str,
    user: CurrentUser,
    session: DbSession,
    request: Request,
    version: Annotated[int | None, Query(ge=1)] = None,
    symbols: SymbolsQuery = None,
    start: IsoDate | None = None,
    end: IsoDate | None = None,
    page_no: Annotated[int, Query(alias="page", ge=1, le=1_000_000)] = 1,
    size: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Any:
    from quantlab.platform.envelope import PageParams

    params = PageParams.model_construct(page=page_no, size=size)
    flt = RowFilter(version=version, symbols=_symbols(symbols), start=start, end=end)
    rows, total, row = await service.preview(
        session, user, dataset_id, flt, params, request.app.state.settings.data_dir
    )
    result = page(rows, total, params)
    result["meta"]["version"] = row.version
    return result


@router.get(
    "/{dataset_id}/summary",
    summary="Per-field statistics and per-symbol coverage",
    response_model=Envelope[DatasetSummary],
)
async def summary(
    dataset_id: str,
    user: CurrentUser,
    session: DbSession,
    request: Request,
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    return ok(
        await service.summary(
            session, user, dataset_id, version, request.app.state.settings.data_dir
        )
    )


@router.post(
    "/{dataset_id}/repair",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Apply one-click repairs as a job producing a new version",
    response_model=Envelope[JobAccepted],
)
async def repair(
    dataset_id: str, body: RepairRequest, user: WriteUser, session: DbSession, request: Request
) -> Any:
    dataset = await service.get_dataset(session, user, dataset_id, write=True)
    version = await service.get_version(session, dataset, body.version)
    job = await job_service.enqueue(
        session,
        job_type="datasets.transform",
        params={"dataset_id": dataset.id, "version": version.version, "repairs": body.actions},
        owner_id=user.id,
    )
    await session.commit()
    request.app.state.jobs.wake()
    return ok({"job_id": job.id, "dataset_id": dataset.id, "from_version": version.version})


@router.get(
    "/{dataset_id}/export",
    summary="Download a version as CSV (zip), Parquet or a Qlib folder (zip)",
    response_class=Response,
    responses=file_responses(
        "csv and qlib: a zip archive; parquet: one Parquet file",
        "application/zip",
        "application/vnd.apache.parquet",
    ),
)
async def export(
    dataset_id: str,
    user: CurrentUser,
    session: DbSession,
    request: Request,
    fmt: Annotated[str, Query(alias="format", pattern="^(csv|parquet|qlib)$")] = "csv",
    version: Annotated[int | None, Query(ge=1)] = None,
) -> Any:
    dataset = await service.get_dataset(session, user, dataset_id)
    row = await service.get_version(session, dataset, version)
    return await exports.export_response(dataset, row, fmt, request.app.state.settings.data_dir)


# --- imports ----------------------------------------------------------------------------


@imports_router.post(
    "/inspect",
    summary="Inspect a file: encoding, first rows, types, mapping",
    response_model=Envelope[InspectOut],
)
async def inspect(
    user: WriteUser,
    request: Request,
    file: Annotated[UploadFile, File(description="one data file")],
) -> Any:
    settings = request.app.state.settings
    return ok(
        await imports.inspect_upload(
            file,
            settings.data_dir,
            settings.max_upload_bytes,
            max_columns=settings.inspect_max_columns,
            budget_s=settings.inspect_seconds,
        )
    )


@imports_router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    summary="Import files (or zips of them) as a job",
    response_model=Envelope[ImportOut],
)
async def create_import(
    user: WriteUser,
    session: DbSession,
    request: Request,
    files: Annotated[
        list[UploadFile], File(description="up to QUANTLAB_IMPORT_MAX_FILES files")
    ] = [],  # noqa: B006
    dataset_id: Annotated[str | None, Form(max_length=32)] = None,
    dataset_name: Annotated[str | None, Form(max_length=120)] = None,
    options: Annotated[
        str | None, Form(max_length=100_000, description="JSON import options")
    ] = None,
    qlib_path: Annotated[
        str | None, Form(max_length=1000, description="admins: server-side Qlib folder")
    ] = None,
) -> Any:
    settings = request.app.state.settings
    record = await imports.create_import(
        session,
        user,
        files,
        data_dir=settings.data_dir,
        max_file_bytes=settings.max_upload_bytes,
        max_files=settings.import_max_files,
        dataset_id=dataset_id,
        dataset_name=dataset_name,
        options=imports.parse_options(options),
        qlib_path=qlib_path,
        is_admin=user.is_admin,
        client=client_address(request),
    )
    job = await job_service.enqueue(
        session, job_type="datasets.import", params={"import_id": record.id}, owner_id=user.id
    )
    record.job_id = job.id
    await session.commit()
    request.app.state.jobs.wake()
    return ok(_import(record, job.status))


def _import(record: Any, status: str) -> Any:
    return {
        "id": record.id,
        "dataset_id": record.dataset_id,
        "job_id": record.job_id,
        "status": status,
        "files": record.files,
        "options": record.options,
        "report": record.report,
        "error": record.error,
        "version": record.version,
        "created_at": record.created_at.isoformat() if record.created_at else None,
        "updated_at": record.updated_at.isoformat() if record.updated_at else None,
    }


@imports_router.get("", summary="Your imports", response_model=Page[ImportOut])
async def list_imports(user: CurrentUser, session: DbSession, params: Pagination) -> Any:
    rows, total = await imports.list_imports(session, user, params)
    found = await imports.statuses(session, rows)
    return page([_import(r, s) for r, s in zip(rows, found, strict=True)], total, params)


@imports_router.get(
    "/{import_id}",
    summary="An import's status and validation report",
    response_model=Envelope[ImportOut],
)
async def get_import(import_id: str, user: CurrentUser, session: DbSession) -> Any:
    record = await imports.get_import(session, user, import_id)
    return ok(_import(record, (await imports.statuses(session, [record]))[0]))
