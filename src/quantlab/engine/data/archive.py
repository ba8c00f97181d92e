"""Unpacking uploaded archives (Qlib folders arrive zipped) without trusting them."""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path, PurePosixPath

__all__ = ["TABLE_SUFFIXES", "UnsafeArchiveError", "extract_zip_safely", "table_files"]

TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".txt", ".xlsx", ".xls", ".parquet"})


class UnsafeArchiveError(ValueError):
    """The archive tries to escape the destination or to exhaust disk or inodes."""


def _safe_name(name: str) -> PurePosixPath:
    pure = PurePosixPath(name.replace("\\", "/"))
    if pure.is_absolute() or ".." in pure.parts or (pure.parts and ":" in pure.parts[0]):
        raise UnsafeArchiveError(f"entry escapes the destination: {name!r}")
    return pure


def extract_zip_safely(
    zip_path: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    max_bytes: int = 2 << 30,
    max_files: int = 100_000,
) -> list[Path]:
    """Extract a zip into ``dest`` refusing path traversal, links, and bombs.

    Entry names may not be absolute, contain ``..`` or a drive; symbolic links are
    refused; at most ``max_files`` entries; uncompressed bytes are counted while
    streaming (the sizes in the directory can lie) and stop at ``max_bytes``. On any
    refusal the partial output is removed and ``UnsafeArchiveError`` is raised.
    Returns the extracted file paths.
    """
    target = Path(dest)
    target.mkdir(parents=True, exist_ok=True)
    root = target.resolve()
    written: list[Path] = []
    try:
        with zipfile.ZipFile(zip_path) as zf:
            infos = zf.infolist()
            if len(infos) > max_files:
                raise UnsafeArchiveError(f"{len(infos)} entries exceed the limit of {max_files}")
            if sum(i.file_size for i in infos) > max_bytes:
                raise UnsafeArchiveError(f"declared size exceeds {max_bytes} bytes")
            total = 0
            for info in infos:
                rel = _safe_name(info.filename)
                if stat.S_ISLNK(info.external_attr >> 16):
                    raise UnsafeArchiveError(f"symbolic link refused: {info.filename!r}")
                out = (root / rel).resolve()
                if not out.is_relative_to(root):
                    raise UnsafeArchiveError(f"entry escapes the destination: {info.filename!r}")
                if info.is_dir():
                    out.mkdir(parents=True, exist_ok=True)
                    continue
                out.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(info) as src, open(out, "wb") as dst:
                    written.append(out)
                    while chunk := src.read(1 << 20):
                        total += len(chunk)
                        if total > max_bytes:
                            raise UnsafeArchiveError(f"uncompressed data exceeds {max_bytes} bytes")
                        dst.write(chunk)
    except (UnsafeArchiveError, zipfile.BadZipFile):
        for p in written:
            p.unlink(missing_ok=True)
        for d in sorted((p for p in root.rglob("*") if p.is_dir()), reverse=True):
            if not any(d.iterdir()):
                d.rmdir()
        raise
    return written


def table_files(folder: str | os.PathLike[str]) -> list[Path]:
    """Data files (CSV/TSV/TXT, Excel, Parquet) under an extracted folder, sorted by path.

    Hidden files and macOS resource forks (``__MACOSX/``, ``._name``) are skipped: zips
    made on a Mac carry one for every file, and they are not data.
    """
    root = Path(folder)
    found = []
    for p in root.rglob("*"):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") or part == "__MACOSX" for part in rel):
            continue
        if p.is_file() and p.suffix.lower() in TABLE_SUFFIXES:
            found.append(p)
    return sorted(found)
