"""Reading an uploaded zip: a Qlib data folder, or the common vendor layout of one CSV
(or Excel/Parquet) file per symbol, which imports as one dataset."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from quantlab.datasets.exceptions import ImportRejected
from quantlab.engine.data.archive import table_files
from quantlab.engine.data.frame import panel_to_frame
from quantlab.engine.data.qlib_bin import read_qlib
from quantlab.engine.data.readers import ImportOptions, read_file
from quantlab.engine.data.universe import Membership, parse_qlib_instruments
from quantlab.engine.data.validate import validate_frame
from quantlab.platform.jobs.context import JobContext

MAX_REPORTED_PROBLEMS = 200
MAX_ZIP_BYTES = 4 << 30  # uncompressed bytes of one uploaded zip


def qlib_root(folder: Path) -> Path | None:
    """The Qlib data folder (``calendars/`` and ``features/``) inside ``folder``, if any."""
    for candidate in [folder, *sorted(p for p in folder.rglob("*") if p.is_dir())]:
        if (candidate / "calendars").is_dir() and (candidate / "features").is_dir():
            return candidate
    return None


def qlib_universes(root: Path) -> dict[str, Membership]:
    """The dated market files of a Qlib folder (``instruments/<market>.txt``) by market.

    ``all`` is skipped: it lists every instrument's data range, not an index membership.
    A file that does not parse is left out (the data import does not depend on it).
    """
    folder = root / "instruments"
    out: dict[str, Membership] = {}
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        market = path.stem.lower()
        if market == "all":
            continue
        try:
            out[market] = parse_qlib_instruments(path.read_text(encoding="utf-8"))
        except (ValueError, UnicodeDecodeError):
            continue
    return out


def read_extracted_zip(
    ctx: JobContext,
    root: Path,
    name: str,
    options_for: Callable[[str], ImportOptions],
    progress: tuple[float, float] = (0.0, 0.8),
) -> dict[str, Any]:
    """The long frame and report of an extracted zip: Qlib folder first, else its tables.

    Every table file is read with the import's options (per-file options are keyed by
    the member's path inside the zip, or its base name); the symbol defaults to the file
    name, as for single uploads. Each problem of a member's validation carries the member's
    name, so the report says which file, symbol and date to look at.
    """
    qlib = qlib_root(root)
    if qlib is not None:
        frame = panel_to_frame(read_qlib(qlib))
        found = qlib_universes(qlib)
        return {"name": name, "frame": frame, "format": "qlib", "notes": [], "universes": found}
    members = table_files(root)
    if not members:
        raise ImportRejected(
            f"{name} holds neither a Qlib data folder (calendars/ and features/) nor data "
            "files (CSV/TSV/TXT, Excel, Parquet)",
            details={"file": name},
        )
    frames: list[pd.DataFrame] = []
    problems: list[dict[str, Any]] = []
    notes: list[str] = []
    mapping: dict[str, str] | None = None
    lo, hi = progress
    for k, path in enumerate(members):
        ctx.check()
        member = path.relative_to(root).as_posix()
        ctx.report(lo + (hi - lo) * k / len(members), stage="reading", current=f"{name}:{member}")
        try:
            result = read_file(path, options_for(member))
        except ValueError as exc:
            raise ImportRejected(f"{name}: {member}: {exc}", details={"file": name}) from None
        mapping = mapping or result.mapping
        report = validate_frame(result.frame, unparsable=result.unparsable)
        for problem in report.to_dict()["problems"]:  # type: ignore[attr-defined]
            if len(problems) < MAX_REPORTED_PROBLEMS or problem["severity"] == "fatal":
                problems.append({"member": member, **problem})
        notes.extend(n for n in result.notes if n not in notes and not n.startswith("symbol "))
        frames.append(result.frame)
    frame = pd.concat(frames, ignore_index=True, sort=False)
    ctx.log("INFO", f"{name}: {len(members)} files, {len(frame)} rows, mapping {mapping}")
    return {
        "name": name,
        "frame": frame,
        "format": "table-zip",
        "members": len(members),
        "mapping": mapping,
        "notes": notes,
        "report": {
            "rows": len(frame),
            "symbols": int(frame["symbol"].nunique()),
            "fatal": any(p["severity"] == "fatal" for p in problems),
            "problems": problems,
        },
    }


def inspect_zip(path: Path, scratch: Path, max_bytes: int) -> dict[str, Any]:
    """What an uploaded zip holds: a Qlib folder, or per-symbol files (the first inspected)."""
    from quantlab.engine.data.archive import extract_zip_safely
    from quantlab.engine.data.inspect import inspect_file

    target = scratch / f"{path.stem}__zip"
    extract_zip_safely(path, target, max_bytes=max_bytes)
    if qlib_root(target) is not None:
        return {"format": "qlib-zip", "problems": [], "mapping": {}}
    members = table_files(target)
    if not members:
        return {
            "format": "zip",
            "members": 0,
            "problems": ["the zip holds neither a Qlib data folder nor data files"],
            "mapping": {},
        }
    first = inspect_file(members[0]).to_dict()
    first.pop("path", None)
    return {
        **first,
        "format": f"zip of {first['format']}",
        "members": len(members),
        "member_names": [m.relative_to(target).as_posix() for m in members[:50]],
        "inspected_member": members[0].relative_to(target).as_posix(),
    }
