"""Market data in memory (panels) and on disk (Parquet datasets, Qlib folders)."""

from quantlab.engine.data.panel import Panel
from quantlab.engine.data.qlib_bin import read_qlib, write_qlib

__all__ = ["Panel", "read_qlib", "write_qlib"]
