"""Exports of a dataset version: CSV (zip), Parquet, or a Qlib folder (zip) Qlib can read."""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

from starlette.background import BackgroundTask
from starlette.responses import FileResponse

from quantlab.datasets.models import Dataset, DatasetVersion
from quantlab.datasets.schemas import RowFilter
from quantlab.datasets.service import read_rows
from quantlab.engine.data.qlib_bin import write_qlib
from quantlab.engine.data.storage import DATA_FILE, load_panel


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_")[:60] or "dataset"


def build_export(version_path: Path, fmt: str, out_dir: Path, stem: str) -> Path:
    """Write the export file for ``fmt`` into ``out_dir`` and return its path."""
    if fmt == "parquet":
        target = out_dir / f"{stem}.parquet"
        shutil.copyfile(version_path / DATA_FILE, target)
        return target
    if fmt == "csv":
        frame = read_rows(version_path, RowFilter(), [])
        target = out_dir / f"{stem}.csv.zip"
        with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            with zf.open(f"{stem}.csv", "w") as fh:
                frame.to_csv(fh, index=False, date_format="%Y-%m-%d")
        return target
    # A Qlib folder, zipped; written with lower-case instrument folders so Qlib reads it.
    folder = out_dir / "qlib"
    write_qlib(load_panel(version_path, cache=None), folder)
    target = out_dir / f"{stem}.qlib.zip"
    with zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                zf.write(path, path.relative_to(folder).as_posix())
    return target


async def export_response(
    dataset: Dataset, version: DatasetVersion, fmt: str, data_dir: Path
) -> Any:
    """A file download of the export; the temporary files go once it is sent."""
    import asyncio

    out_dir = Path(tempfile.mkdtemp(prefix="export-", dir=data_dir))
    stem = f"{_slug(dataset.name)}_v{version.version}"
    try:
        target = await asyncio.to_thread(build_export, data_dir / version.path, fmt, out_dir, stem)
    except BaseException:
        shutil.rmtree(out_dir, ignore_errors=True)
        raise
    media = "application/zip" if target.suffix == ".zip" else "application/vnd.apache.parquet"
    return FileResponse(
        target,
        media_type=media,
        filename=target.name,
        background=BackgroundTask(shutil.rmtree, out_dir, ignore_errors=True),
    )
