"""The one conversion of computed values to strict JSON: NaN and ±inf become ``null``.

Starlette renders JSON with ``allow_nan=False``, and clients (browsers' ``JSON.parse``,
generated TypeScript clients) reject the ``NaN``/``Infinity`` tokens Python would write, so
every numeric payload and stored JSON document passes through :func:`json_safe`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np


def json_safe(obj: Any) -> Any:
    """``obj`` with NaN/inf replaced by ``None``, NumPy scalars and arrays as Python values,
    tuples as lists, and mapping keys as strings (recursively)."""
    if isinstance(obj, Mapping):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return json_safe(obj.tolist())
    if isinstance(obj, np.datetime64):
        return None if np.isnat(obj) else str(obj)
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, datetime | date):
        return obj.isoformat()
    return obj
