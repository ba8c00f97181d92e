"""Import batches: uploads streamed to disk, inspection, and the ``datasets.import`` job."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import UploadFile

from quantlab.datasets import service
from quantlab.datasets.exceptions import ImportNotFound, ImportRejected, TooManyFiles
from quantlab.datasets.models import DataImport, Dataset
from quantlab.datasets.schemas import DatasetCreate
from quantlab.engine.data.inspect import TooManyColumns, inspect_file
from quantlab.engine.data.merge import MODES
from quantlab.engine.data.readers import ImportOptions
from quantlab.engine.data.validate import REPAIRS
from quantlab.platform import audit
from quantlab.platform.db import paginate
from quantlab.platform.envelope import PageParams
from quantlab.platform.errors import Forbidden, PayloadTooLarge
from quantlab.platform.jobs import service as job_service
from quantlab.platform.jobs.redact import redact_paths
from quantlab.platform.ownership import Principal, get_owned, visible

UPLOADS_DIR = "uploads"
CHUNK = 1 << 20
ALLOWED_SUFFIXES = {".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet", ".zip"}
_UNSAFE = re.compile(r"[^A-Za-z0-9._\-\u4e00-\u9fff]+")


def safe_filename(name: str | None) -> str:
    """The base name of an uploaded file, stripped of paths and odd characters."""
    base = Path((name or "upload").replace("\\", "/")).name
    base = _UNSAFE.sub("_", base).strip("._") or "upload"
    return base[:120]


async def save_upload(upload: UploadFile, dest_dir: Path, max_bytes: int) -> dict[str, Any]:
    """Stream one upload to ``dest_dir`` in 1 MiB chunks (413 past ``max_bytes``)."""
    name = safe_filename(upload.filename)
    suffix = Path(name).suffix.lower()
    if suffix not in ALLOWED_SUFFIXES:
        raise ImportRejected(
            f"{name}: unsupported file type {suffix or '(none)'}; send CSV/TSV, Excel "
            "(xlsx, xls), Parquet, or a zip of a Qlib data folder",
            details={"file": name},
        )
    target = await asyncio.to_thread(_free_path, dest_dir, name)
    written = 0
    out = await asyncio.to_thread(target.open, "wb")
    try:
        while chunk := await upload.read(CHUNK):
            written += len(chunk)
            if written > max_bytes:
                raise PayloadTooLarge(f"{name} exceeds the per-file limit of {max_bytes} bytes")
            await asyncio.to_thread(out.write, chunk)
        if written == 0:
            raise ImportRejected(f"{name} is empty", details={"file": name})
    except BaseException:
        out.close()
        target.unlink(missing_ok=True)
        raise
    out.close()
    return {"name": target.name, "original_name": upload.filename, "size_bytes": written}


def _free_path(dest_dir: Path, name: str) -> Path:
    """``dest_dir/name``, numbered when two uploads share a name."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    target = dest_dir / name
    stem, suffix, n = target.stem, target.suffix, 1
    while target.exists():
        target = dest_dir / f"{stem}_{n}{suffix}"
        n += 1
    return target


def parse_options(raw: str | None) -> dict[str, Any]:
    """The ``options`` form field: a JSON object of import options (shared or per file)."""
    if not raw:
        return {}
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ImportRejected(f"options is not valid JSON: {exc.msg} at {exc.pos}") from None
    if not isinstance(data, dict):
        raise ImportRejected("options must be a JSON object")
    per_file = data.pop("files", None)
    repairs = data.pop("repairs", None)
    mode = data.pop("mode", None)
    if mode is not None and mode not in MODES:
        raise ImportRejected(
            f"options.mode must be one of {list(MODES)} (default replace), not {mode!r}"
        )
    if repairs is not None:
        if not isinstance(repairs, list) or any(r not in REPAIRS for r in repairs):
            raise ImportRejected(f"options.repairs must be a list drawn from {sorted(REPAIRS)}")
    try:
        ImportOptions.from_dict(data)
        if per_file is not None:
            if not isinstance(per_file, dict):
                raise ValueError("options.files must map file names to option objects")
            for value in per_file.values():
                ImportOptions.from_dict(value)
    except (TypeError, ValueError) as exc:
        raise ImportRejected(f"invalid import options: {exc}") from None
    if per_file is not None:
        data["files"] = per_file
    if repairs:
        data["repairs"] = repairs
    if mode is not None:
        data["mode"] = mode
    return data


async def inspect_upload(
    upload: UploadFile,
    data_dir: Path,
    max_bytes: int,
    *,
    max_columns: int = 5000,
    budget_s: float = 10.0,
) -> dict[str, Any]:
    """Save one file to a scratch folder, inspect it off the event loop (at most
    ``max_columns`` columns, ``budget_s`` seconds), and remove it again."""
    scratch = data_dir / UPLOADS_DIR / f"inspect-{uuid.uuid4().hex}"
    try:
        saved = await save_upload(upload, scratch, max_bytes)
        if saved["name"].lower().endswith(".zip"):
            from quantlab.datasets.archives import MAX_ZIP_BYTES, inspect_zip

            try:
                async with asyncio.timeout(budget_s):
                    found = await asyncio.to_thread(
                        inspect_zip, scratch / saved["name"], scratch, MAX_ZIP_BYTES
                    )
            except TimeoutError:
                raise ImportRejected(
                    f"{saved['name']}: inspection took longer than {budget_s:g} s; "
                    "import it directly or send a smaller sample",
                    details={"file": saved["name"], "budget_seconds": budget_s},
                ) from None
            except Exception as exc:
                raise ImportRejected(
                    redact_paths(f"{saved['name']}: cannot be read: {exc}")
                ) from None
            return {"file": saved, **found}
        path = scratch / saved["name"]
        try:
            async with asyncio.timeout(budget_s):
                result = await asyncio.to_thread(inspect_file, path, 20, max_columns)
        except TimeoutError:
            raise ImportRejected(
                f"{saved['name']}: inspection took longer than {budget_s:g} s; "
                "import it directly or send a smaller sample",
                details={"file": saved["name"], "budget_seconds": budget_s},
            ) from None
        except TooManyColumns as exc:
            raise ImportRejected(
                f"{saved['name']}: {exc}",
                details={"file": saved["name"], "max_columns": max_columns},
            ) from None
        except Exception as exc:
            raise ImportRejected(redact_paths(f"{saved['name']}: cannot be read: {exc}")) from None
        return {"file": saved, **result.to_dict(), "path": saved["name"]}
    finally:
        await asyncio.to_thread(shutil.rmtree, scratch, True)


async def create_import(
    session: AsyncSession,
    user: Principal,
    uploads: Sequence[UploadFile],
    *,
    data_dir: Path,
    max_file_bytes: int,
    max_files: int,
    dataset_id: str | None,
    dataset_name: str | None,
    options: dict[str, Any],
    qlib_path: str | None = None,
    is_admin: bool = False,
    client: str | None = None,
) -> DataImport:
    """Store the uploads, create (or target) the dataset and the import row.

    The caller enqueues the ``datasets.import`` job and commits.
    """
    if len(uploads) > max_files:
        raise TooManyFiles(
            f"{len(uploads)} files sent; an import takes at most {max_files}: send more as "
            "one zip (a zip of per-symbol files counts as one file)",
            details={"sent": len(uploads), "max_files": max_files},
        )
    if qlib_path:
        if not is_admin:
            raise Forbidden("only admins may import from a server-side path")
        if not (Path(qlib_path) / "calendars").is_dir():
            raise ImportRejected(f"{qlib_path} is not a Qlib data folder (no calendars/)")
    elif not uploads:
        raise ImportRejected("send at least one file (form field 'files')")
    if dataset_id:
        dataset = await service.get_dataset(session, user, dataset_id, write=True)
    else:
        name = (dataset_name or "").strip() or _default_name(uploads, qlib_path)
        dataset = await service.create_dataset(
            session,
            user,
            DatasetCreate(name=name),
            source="qlib" if qlib_path else "import",
            status="importing",
            client=client,
            commit=False,
        )
    record = DataImport(owner_id=user.id, dataset_id=dataset.id, options=options)
    session.add(record)
    await session.flush()
    folder = data_dir / UPLOADS_DIR / record.id
    files: list[dict[str, Any]] = []
    try:
        for upload in uploads:
            files.append(await save_upload(upload, folder, max_file_bytes))
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    if qlib_path:
        files.append({"name": None, "server_path": qlib_path, "size_bytes": None})
    record.files = files
    if dataset.status != "importing" and dataset.latest_version == 0:
        dataset.status = "importing"
    audit.record(
        session,
        "import.create",
        actor_id=user.id,
        resource_type="import",
        resource_id=record.id,
        details={"dataset_id": dataset.id, "files": [f.get("name") for f in files]},
        client_address=client,
    )
    return record


def _default_name(uploads: Sequence[UploadFile], qlib_path: str | None) -> str:
    if qlib_path:
        return Path(qlib_path).name[:100] or "qlib data"
    first = Path(safe_filename(uploads[0].filename)).stem
    return (first if len(uploads) == 1 else f"{first} +{len(uploads) - 1}")[:100]


async def get_import(session: AsyncSession, user: Principal, import_id: str) -> DataImport:
    """An import of ``user`` (404 otherwise)."""
    return await get_owned(session, DataImport, import_id, user, not_found=ImportNotFound)


async def list_imports(
    session: AsyncSession, user: Principal, params: PageParams
) -> tuple[Sequence[DataImport], int]:
    """The caller's imports, newest first."""
    stmt = visible(select(DataImport), DataImport, user)
    return await paginate(session, stmt, params, DataImport.created_at.desc())


async def statuses(session: AsyncSession, records: Sequence[DataImport]) -> list[str]:
    """Each import's status: its job's (the row keeps no copy), ``pending`` before it has
    one; a row read before its ended job's outcome was committed is read again."""
    return await job_service.row_statuses(session, records, lambda r: r.report is not None)


async def dataset_of(session: AsyncSession, record: DataImport) -> Dataset | None:
    """The dataset an import writes to."""
    return None if record.dataset_id is None else await session.get(Dataset, record.dataset_id)
