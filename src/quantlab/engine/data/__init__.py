"""Market data in memory (panels) and on disk (Parquet datasets, Qlib folders).

Point-in-time universes: :func:`membership_mask` is the one way to turn a dated membership
into the ``[day x instrument]`` boolean mask consumers apply; :func:`static_universe_bias`
is the diagnostic for a static list chosen at the end of the period.
"""

from quantlab.engine.data.panel import Panel
from quantlab.engine.data.qlib_bin import read_qlib, write_qlib
from quantlab.engine.data.storage import VersionMeta, load_panel, write_version
from quantlab.engine.data.universe import membership_mask, static_universe_bias

__all__ = [
    "Panel",
    "VersionMeta",
    "load_panel",
    "membership_mask",
    "read_qlib",
    "static_universe_bias",
    "write_qlib",
    "write_version",
]
