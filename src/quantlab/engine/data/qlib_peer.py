"""Qlib itself as a reference: point its data layer at a folder (tests and benchmarks).

Needs the optional ``pyqlib`` (dev and bench extras). ``qlib.init`` is avoided: it also
sets up Qlib's experiment recorder, whose mlflow import is broken against the protobuf
installed here, and the data layer does not need it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any


def qlib_data_api(provider_uri: str | os.PathLike[str]) -> Any:
    """Configure Qlib's data layer for ``provider_uri`` (caches off) and return ``D``.

    Qlib keeps calendars and instruments in a process-wide memory cache keyed by
    frequency, not by folder, so it is emptied here: a second folder in the same process
    would otherwise be read with the first one's calendar.
    """
    from qlib.config import C
    from qlib.data import data, ops
    from qlib.data.cache import H

    C.set(
        "client",
        provider_uri=str(provider_uri),
        region="cn",
        expression_cache=None,
        dataset_cache=None,
        kernels=1,
        joblib_backend="sequential",
    )
    ops.register_all_ops(C)
    data.register_all_wrappers(C)
    C.__dict__["_registered"] = True  # what C.register() sets after the recorder
    H.clear()
    return data.D


def lowercase_view(src: str | os.PathLike[str], dest: str | os.PathLike[str]) -> Path:
    """A folder of symlinks to ``src`` with lower-case instrument folders, as Qlib expects."""
    src, dest = Path(src), Path(dest)
    (dest / "features").mkdir(parents=True, exist_ok=True)
    for name in ("calendars", "instruments"):
        if not (dest / name).exists():
            os.symlink(src / name, dest / name)
    for folder in (src / "features").iterdir():
        link = dest / "features" / folder.name.lower()
        if not link.exists():
            os.symlink(folder, link)
    return dest
