"""Market data in memory (panels) and on disk (Parquet datasets, Qlib folders)."""

from quantlab.engine.data.panel import Panel
from quantlab.engine.data.qlib_bin import read_qlib, write_qlib
from quantlab.engine.data.storage import VersionMeta, load_panel, write_version

__all__ = ["Panel", "VersionMeta", "load_panel", "read_qlib", "write_qlib", "write_version"]
