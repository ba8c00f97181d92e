"""Dataset jobs: ``datasets.import`` (files → validated Parquet version) and
``datasets.transform`` (a preprocessing pipeline or repair → a new version)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service
from quantlab.datasets.exceptions import DatasetNotFound, ImportNotFound, ImportRejected
from quantlab.datasets.imports import UPLOADS_DIR
from quantlab.datasets.models import DataImport, Dataset
from quantlab.datasets.schemas import RowFilter
from quantlab.engine.data.archive import extract_zip_safely
from quantlab.engine.data.frame import panel_to_frame
from quantlab.engine.data.qlib_bin import read_qlib
from quantlab.engine.data.readers import ImportOptions, read_file
from quantlab.engine.data.storage import write_version
from quantlab.engine.data.validate import REPAIRS, validate_frame
from quantlab.platform.jobs.context import JobContext
from quantlab.platform.jobs.registry import register_job_type

MAX_ZIP_BYTES = 4 << 30


class ImportParams(BaseModel):
    """Parameters of ``datasets.import``: the import row to carry out."""

    import_id: str = Field(min_length=1, max_length=32)


def _file_options(options: dict[str, Any], name: str) -> ImportOptions:
    shared = {k: v for k, v in options.items() if k not in ("files", "repairs")}
    per_file = (options.get("files") or {}).get(name) or {}
    return ImportOptions.from_dict({**shared, **per_file})


def _read_one(
    ctx: JobContext, folder: Path, entry: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """Read one uploaded file (or Qlib folder) into a long frame with its own report."""
    if entry.get("server_path"):
        frame = panel_to_frame(read_qlib(entry["server_path"]))
        return {"name": entry["server_path"], "frame": frame, "format": "qlib", "notes": []}
    name = entry["name"]
    path = folder / name
    if name.lower().endswith(".zip"):
        target = folder / f"{path.stem}__qlib"
        extract_zip_safely(path, target, max_bytes=MAX_ZIP_BYTES)
        root = _qlib_root(target)
        frame = panel_to_frame(read_qlib(root))
        return {"name": name, "frame": frame, "format": "qlib", "notes": []}
    result = read_file(path, _file_options(options, name))
    report = validate_frame(result.frame, unparsable=result.unparsable)
    ctx.log("INFO", f"{name}: {len(result.frame)} rows, mapping {result.mapping}")
    return {
        "name": name,
        "frame": result.frame,
        "format": "table",
        "mapping": result.mapping,
        "layout": result.layout,
        "encoding": result.encoding,
        "notes": result.notes,
        "report": report.to_dict(),
    }


def _qlib_root(folder: Path) -> Path:
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        if (candidate / "calendars").is_dir() and (candidate / "features").is_dir():
            return candidate
    raise ImportRejected("the zip holds no Qlib data folder (calendars/ and features/)")


def run_import(ctx: JobContext, params: ImportParams) -> dict[str, Any]:
    """Read every file of the import, validate, and store version N+1 of the dataset."""
    record = ctx.run_db(lambda s: _load_import(s, params.import_id))
    folder = ctx.data_dir / UPLOADS_DIR / params.import_id
    ctx.run_db(lambda s: _set_import(s, params.import_id, status="running"))
    files = record["files"]
    reads: list[dict[str, Any]] = []
    target: Path | None = None
    try:
        for i, entry in enumerate(files):
            ctx.check()
            label = entry.get("name") or entry.get("server_path")
            ctx.report(0.8 * i / max(len(files), 1), stage="reading", current=label)
            reads.append(_read_one(ctx, folder, entry, record["options"]))
        ctx.report(0.8, stage="validating")
        combined = pd.concat([r["frame"] for r in reads], ignore_index=True, sort=False)
        for name in record["options"].get("repairs") or []:
            before = len(combined)
            combined = REPAIRS[name](combined)
            ctx.log("INFO", f"repair {name}: {before} -> {len(combined)} rows")
        combined_report = validate_frame(combined)
        report: dict[str, Any] = {
            "files": [{k: v for k, v in r.items() if k != "frame"} for r in reads],
            "combined": combined_report.to_dict(),
        }
        repaired = set(record["options"].get("repairs") or [])
        fixed = {"duplicate"} if "drop_duplicates" in repaired else set()
        fatal: bool = combined_report.fatal or any(
            p["severity"] == "fatal" and p["code"] not in fixed
            for r in reads
            for p in r.get("report", {}).get("problems", [])
        )
        report["fatal"] = fatal
        if fatal:
            ctx.run_db(
                lambda s: _fail_import(
                    s, params.import_id, report, "validation found fatal problems"
                )
            )
            raise ImportRejected(
                "the import has fatal problems; see the validation report of import "
                f"{params.import_id}"
            )
        ctx.check()
        ctx.report(0.85, stage="writing")
        target = service.new_version_dir(ctx.data_dir, record["dataset_id"])
        extra = {"source_files": [r["name"] for r in reads]}
        meta = write_version(combined, target, **extra)
        units = {
            k: v
            for k, v in record["options"].items()
            if k in ("volume_multiplier", "amount_multiplier")
        }
        version = ctx.run_db(
            lambda s: _finish_import(
                s,
                params.import_id,
                meta,
                target,
                ctx.data_dir,
                report,
                adjustment=str(record["options"].get("adjust", "none")),
                units=units,
            )
        )
    except ImportRejected:
        raise
    except Exception as exc:
        if target is not None:  # written but never recorded: nothing may point at it
            shutil.rmtree(target, ignore_errors=True)
        message = f"{type(exc).__name__}: {exc}"[:1000]
        ctx.run_db(
            lambda s: _fail_import(s, params.import_id, {"files": [], "error": message}, message)
        )
        raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    ctx.report(1.0, stage="done")
    return {
        "dataset_id": record["dataset_id"],
        "version": version,
        "rows": meta.rows,
        "symbols": len(meta.symbols),
    }


async def _load_import(session: AsyncSession, import_id: str) -> dict[str, Any]:
    record = await session.get(DataImport, import_id)
    if record is None:
        raise ImportNotFound(f"import {import_id} not found")
    dataset = await session.get(Dataset, record.dataset_id) if record.dataset_id else None
    if dataset is None:
        raise DatasetNotFound("the import's dataset was deleted")
    return {
        "files": record.files,
        "options": record.options,
        "dataset_id": dataset.id,
        "latest_version": dataset.latest_version,
    }


async def _set_import(session: AsyncSession, import_id: str, **values: Any) -> None:
    record = await session.get(DataImport, import_id)
    if record is not None:
        for k, v in values.items():
            setattr(record, k, v)
        await session.commit()


async def _fail_import(
    session: AsyncSession, import_id: str, report: dict[str, Any], error: str
) -> None:
    record = await session.get(DataImport, import_id)
    if record is None:
        return
    record.status, record.report, record.error = "failed", report, error
    dataset = await session.get(Dataset, record.dataset_id) if record.dataset_id else None
    if dataset is not None and dataset.latest_version == 0:
        dataset.status = "failed"
    elif dataset is not None:
        dataset.status = "ready"
    await session.commit()


async def _finish_import(
    session: AsyncSession,
    import_id: str,
    meta: Any,
    target: Path,
    data_dir: Path,
    report: dict[str, Any],
    *,
    adjustment: str,
    units: dict[str, Any],
) -> int:
    record = await session.get(DataImport, import_id)
    assert record is not None and record.dataset_id is not None
    dataset = await session.get(Dataset, record.dataset_id, with_for_update=True)
    if dataset is None:
        raise DatasetNotFound("the import's dataset was deleted")
    row = await service.add_version(
        session,
        dataset,
        meta,
        target,
        data_dir,
        note=f"import {import_id}",
        adjustment=adjustment,
        units=units,
    )
    record.status, record.report, record.version = "completed", report, row.version
    await session.commit()
    return row.version


register_job_type(
    name="datasets.import",
    params=ImportParams,
    fn=run_import,
    description="Import uploaded files (CSV/TSV, Excel, Parquet, Qlib) as a new version.",
)


class TransformParams(BaseModel):
    """Parameters of ``datasets.transform``: repairs and/or a preprocessing pipeline."""

    dataset_id: str = Field(min_length=1, max_length=32)
    version: int = Field(ge=1)
    repairs: list[str] = Field(default_factory=list, max_length=3)
    pipeline: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    note: str = Field("", max_length=500)


def run_transform(ctx: JobContext, params: TransformParams) -> dict[str, Any]:
    """Load a version, apply repairs then the pipeline, and store the result as a new version."""
    unknown = [r for r in params.repairs if r not in REPAIRS]
    if unknown:
        raise ImportRejected(f"unknown repair(s) {unknown}; choose from {sorted(REPAIRS)}")
    source = ctx.run_db(lambda s: _load_version(s, params.dataset_id, params.version))
    ctx.report(0.05, stage="loading")
    frame = service.read_rows(ctx.data_dir / source["path"], RowFilter(), [])
    steps: list[dict[str, Any]] = []
    for i, name in enumerate(params.repairs):
        ctx.check()
        before = len(frame)
        frame = REPAIRS[name](frame)
        steps.append({"op": name, "rows_before": before, "rows_after": len(frame)})
        ctx.report(
            0.1 + 0.3 * (i + 1) / max(len(params.repairs), 1), stage="repairing", current=name
        )
    if params.pipeline:
        from quantlab.datasets.preprocessing import apply_pipeline

        ctx.report(0.4, stage="preprocessing")
        frame, stats = apply_pipeline(frame, params.pipeline)
        steps.extend(stats)
    ctx.check()
    ctx.report(0.8, stage="writing")
    target = service.new_version_dir(ctx.data_dir, params.dataset_id)
    try:
        meta = write_version(frame, target, parent_version=params.version)
        lineage = [*({"op": r} for r in params.repairs), *params.pipeline]
        number = ctx.run_db(
            lambda s: _record_transform(
                s,
                params,
                meta,
                target,
                ctx.data_dir,
                lineage,
                source["adjustment"],
                source["units"],
            )
        )
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    ctx.report(1.0, stage="done")
    return {
        "dataset_id": params.dataset_id,
        "version": number,
        "parent_version": params.version,
        "steps": steps,
        "rows": meta.rows,
    }


async def _load_version(session: AsyncSession, dataset_id: str, version: int) -> dict[str, Any]:
    dataset = await session.get(Dataset, dataset_id)
    if dataset is None or dataset.deleted_at is not None:
        raise DatasetNotFound(f"dataset {dataset_id} not found")
    row = await service.get_version(session, dataset, version)
    return {"path": row.path, "adjustment": row.adjustment, "units": row.units}


async def _record_transform(
    session: AsyncSession,
    params: TransformParams,
    meta: Any,
    target: Path,
    data_dir: Path,
    lineage: list[dict[str, Any]],
    adjustment: str,
    units: dict[str, Any],
) -> int:
    dataset = await session.get(Dataset, params.dataset_id, with_for_update=True)
    if dataset is None or dataset.deleted_at is not None:
        raise DatasetNotFound(f"dataset {params.dataset_id} was deleted")
    row = await service.add_version(
        session,
        dataset,
        meta,
        target,
        data_dir,
        parent=params.version,
        pipeline=lineage,
        note=params.note
        or ("repair" if params.repairs and not params.pipeline else "preprocessing"),
        adjustment=adjustment,
        units=units,
    )
    await session.commit()
    return row.version


register_job_type(
    name="datasets.transform",
    params=TransformParams,
    fn=run_transform,
    description="Apply repairs and/or a preprocessing pipeline, producing a new version.",
)
