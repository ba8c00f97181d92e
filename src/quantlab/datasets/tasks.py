"""Dataset jobs: ``datasets.import`` (files → validated Parquet version) and
``datasets.transform`` (a preprocessing pipeline or repair → a new version)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import BaseModel, Field, field_validator
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.datasets import service
from quantlab.datasets import universes as universes_service
from quantlab.datasets.archives import MAX_ZIP_BYTES, qlib_universes, read_extracted_zip
from quantlab.datasets.exceptions import DatasetNotFound, ImportNotFound, ImportRejected
from quantlab.datasets.imports import UPLOADS_DIR
from quantlab.datasets.models import DataImport, Dataset, DatasetVersion
from quantlab.datasets.schemas import RowFilter
from quantlab.engine.data.archive import extract_zip_safely
from quantlab.engine.data.frame import panel_to_frame
from quantlab.engine.data.merge import merge_frames
from quantlab.engine.data.preprocess_spec import PreprocessError, parse_pipeline
from quantlab.engine.data.qlib_bin import read_qlib
from quantlab.engine.data.readers import ImportOptions, read_file
from quantlab.engine.data.storage import write_version
from quantlab.engine.data.validate import REPAIRS, validate_frame
from quantlab.platform.jobs.context import JobContext, job_dir
from quantlab.platform.jobs.redact import redact_paths
from quantlab.platform.jobs.registry import OwnedRef, register_job_type

# options of the whole batch, not of reading one file
BATCH_OPTIONS = ("files", "repairs", "mode")
WRITING_MARKER = "writing-version"  # in the job's folder: the version folder being written


class ImportParams(BaseModel):
    """Parameters of ``datasets.import``: the import row to carry out."""

    import_id: str = Field(min_length=1, max_length=32)


def price_basis(options: dict[str, Any], reads: list[dict[str, Any]]) -> tuple[str, dict[str, str]]:
    """The version's adjustment and the price/volume basis its panels declare.

    Qlib folders hold back-adjusted prices (raw x ``$factor``) and, by Qlib's convention,
    volume divided by the factor; adjusted files (``adjust``) keep their volume as traded.
    ``volume_basis`` overrides the volume's basis (a Qlib dump with raw volume)."""
    adjust = str(options.get("adjust", "none"))
    qlib = any(r.get("format") == "qlib" for r in reads)
    if adjust == "none" and qlib:
        adjust = "backward"
    if adjust == "none":
        return adjust, {}
    volume = str(options.get("volume_basis", "auto"))
    if volume == "auto":
        volume = "adjusted" if qlib else "raw"
    return adjust, {"price_basis": "adjusted", "volume_basis": volume}


def _file_options(options: dict[str, Any], name: str) -> ImportOptions:
    shared = {k: v for k, v in options.items() if k not in BATCH_OPTIONS}
    per_file = options.get("files") or {}
    own = per_file.get(name) or per_file.get(Path(name).name) or {}
    return ImportOptions.from_dict({**shared, **own})


def _read_one(
    ctx: JobContext, folder: Path, entry: dict[str, Any], options: dict[str, Any]
) -> dict[str, Any]:
    """Read one uploaded file (or Qlib folder) into a long frame with its own report."""
    if entry.get("server_path"):
        frame = panel_to_frame(read_qlib(entry["server_path"]))
        found = qlib_universes(Path(entry["server_path"]))
        name = entry["server_path"]
        return {"name": name, "frame": frame, "format": "qlib", "notes": [], "universes": found}
    name = entry["name"]
    path = folder / name
    if name.lower().endswith(".zip"):
        target = folder / f"{path.stem}__zip"
        extract_zip_safely(path, target, max_bytes=MAX_ZIP_BYTES)
        return read_extracted_zip(ctx, target, name, lambda m: _file_options(options, m))
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


def run_import(ctx: JobContext, params: ImportParams) -> dict[str, Any]:
    """Read every file of the import, validate, and store version N+1 of the dataset."""
    record = ctx.run_db(lambda s: _load_import(s, params.import_id))
    folder = ctx.data_dir / UPLOADS_DIR / params.import_id
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
        found = {k: v for r in reads for k, v in (r.get("universes") or {}).items()}
        report: dict[str, Any] = {
            "files": [
                {k: v for k, v in r.items() if k not in ("frame", "universes")} for r in reads
            ],
            "combined": combined_report.to_dict(),
        }
        if found:
            report["universes"] = {k: len(v) for k, v in found.items()}
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
        combined, lineage = _merge_with_stored(ctx, record, combined)
        if lineage is not None:
            report["merge"] = lineage
        ctx.report(0.85, stage="writing")
        target = _writing(ctx, service.new_version_dir(ctx.data_dir, record["dataset_id"]))
        extra = {"source_files": [r["name"] for r in reads]}
        meta = write_version(combined, target, **extra)
        units = {
            k: v
            for k, v in record["options"].items()
            if k in ("volume_multiplier", "amount_multiplier")
        }
        adjustment, basis = price_basis(record["options"], reads)
        units.update(basis)
        version = ctx.run_db(
            lambda s: _finish_import(
                s,
                params.import_id,
                meta,
                target,
                ctx.data_dir,
                report,
                adjustment=adjustment,
                units=units,
                lineage=lineage,
                universes=found,
            )
        )
    except ImportRejected as exc:
        message = exc.message
        ctx.run_db(lambda s: _reject_import(s, params.import_id, message))
        raise
    except Exception as exc:
        if target is not None:  # written but never recorded: nothing may point at it
            shutil.rmtree(target, ignore_errors=True)
        message = redact_paths(f"{type(exc).__name__}: {exc}")[:1000]
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


def _merge_with_stored(
    ctx: JobContext, record: dict[str, Any], frame: pd.DataFrame
) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """Apply ``options.mode`` (append/upsert) against the dataset's latest version.

    ``replace`` (the default) and a first import store the imported rows as they are and
    record no lineage; the other modes record the parent version and the merge counts.
    """
    mode = str(record["options"].get("mode") or "replace")
    if mode == "replace" or not record["latest_version"]:
        return frame, None
    stored = ctx.run_db(lambda s: _load_version(s, record["dataset_id"], record["latest_version"]))
    ctx.report(0.82, stage="merging", current=f"version {record['latest_version']}")
    old = service.read_rows(ctx.data_dir / stored["path"], RowFilter(), [])
    merged, stats = merge_frames(old, frame, mode)
    ctx.log("INFO", f"{mode} into version {record['latest_version']}: {stats.to_dict()}")
    return merged, {"parent_version": record["latest_version"], **stats.to_dict()}


async def _reject_import(session: AsyncSession, import_id: str, error: str) -> None:
    """Record why an import was refused (unless the validation already did, with its
    report); its job then ends failed."""
    record = await session.get(DataImport, import_id)
    if record is not None and record.error is None:
        await _fail_import(session, import_id, {"files": [], "error": error}, error)


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


async def _fail_import(
    session: AsyncSession, import_id: str, report: dict[str, Any], error: str
) -> None:
    record = await session.get(DataImport, import_id)
    if record is None:
        return
    record.report, record.error = report, error
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
    lineage: dict[str, Any] | None = None,
    universes: dict[str, Any] | None = None,
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
        parent=None if lineage is None else lineage["parent_version"],
        pipeline=None if lineage is None else [{"op": "import", **lineage}],
        note=f"import {import_id}" + ("" if lineage is None else f" ({lineage['mode']})"),
        adjustment=adjustment,
        units=units,
    )
    if universes:
        await universes_service.save_universes(session, dataset.id, universes, "qlib")
    record.report, record.version = report, row.version
    await session.commit()
    return row.version


def _writing(ctx: JobContext, target: Path) -> Path:
    """Note the version folder this job is about to write, so that whatever ends the job
    (even a ``kill -9`` mid-write) lets :func:`_remove_unrecorded` find what it left."""
    (ctx.workdir() / WRITING_MARKER).write_text(str(target.relative_to(ctx.data_dir)))
    return target


async def _remove_unrecorded(session: AsyncSession, job: Any, data_dir: Path) -> None:
    """Delete the version folder the job was writing unless a version row records it."""
    marker = job_dir(data_dir, job.id) / WRITING_MARKER
    if not marker.is_file():
        return
    relative = marker.read_text().strip()
    target = (data_dir / relative).resolve()
    datasets_root = (data_dir / "datasets").resolve()
    recorded = await session.scalar(
        select(DatasetVersion.id).where(DatasetVersion.path == relative).limit(1)
    )
    if recorded is None and target.is_relative_to(datasets_root) and target != datasets_root:
        shutil.rmtree(target, ignore_errors=True)
    marker.unlink(missing_ok=True)


async def import_final(session: AsyncSession, job: Any, data_dir: Path) -> None:
    """Whatever ended an import job (including a failure found by restart recovery): the
    dataset leaves ``importing``, and no partly written version or upload stays on disk."""
    import_id = (job.params or {}).get("import_id")
    record = await session.get(DataImport, import_id) if import_id else None
    await _remove_unrecorded(session, job, data_dir)
    if import_id:
        shutil.rmtree(data_dir / UPLOADS_DIR / str(import_id), ignore_errors=True)
    if record is None or record.dataset_id is None or job.status == "completed":
        return
    dataset = await session.get(Dataset, record.dataset_id)
    if dataset is not None and dataset.status == "importing":
        dataset.status = "failed" if dataset.latest_version == 0 else "ready"


async def transform_final(session: AsyncSession, job: Any, data_dir: Path) -> None:
    """Whatever ended a transform job: no partly written version stays on disk."""
    await _remove_unrecorded(session, job, data_dir)


register_job_type(
    name="datasets.import",
    params=ImportParams,
    fn=run_import,
    description="Import uploaded files (CSV/TSV, Excel, Parquet, Qlib) as a new version.",
    on_final=import_final,
)


class TransformParams(BaseModel):
    """Parameters of ``datasets.transform``: repairs and/or a preprocessing pipeline."""

    dataset_id: str = Field(min_length=1, max_length=32)
    version: int = Field(ge=1)
    repairs: list[str] = Field(default_factory=list, max_length=3)
    pipeline: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    note: str = Field("", max_length=500)

    @field_validator("repairs")
    @classmethod
    def _known_repairs(cls, value: list[str]) -> list[str]:
        unknown = [r for r in value if r not in REPAIRS]
        if unknown:
            raise ValueError(f"unknown repair(s) {unknown}; choose from {sorted(REPAIRS)}")
        return value

    @field_validator("pipeline")
    @classmethod
    def _valid_pipeline(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        try:
            parse_pipeline(value)
        except PreprocessError as exc:
            raise ValueError(f"invalid pipeline: {exc}") from None
        return value


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
    target = _writing(ctx, service.new_version_dir(ctx.data_dir, params.dataset_id))
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
    submittable=True,
    # it writes a new version: the caller must be allowed to change the dataset
    owned=(OwnedRef("dataset_id", Dataset, write=True, not_found=DatasetNotFound),),
    on_final=transform_final,
)
