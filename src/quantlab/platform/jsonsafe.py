"""The one conversion of computed values to strict JSON: NaN and ±inf become ``null``.

Starlette renders JSON with ``allow_nan=False``, and clients (browsers' ``JSON.parse``,
generated TypeScript clients) reject the ``NaN``/``Infinity`` tokens Python would write, so
every numeric payload passes through :func:`json_safe` before it leaves a service.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np


def json_safe(obj: Any) -> Any:
    """Return ``obj`` with every non-finite float replaced by ``None``.

    Parameters
    ----------
    obj : Any
        A value built of dicts, lists, tuples, Python scalars, NumPy scalars and NumPy arrays.

    Returns
    -------
    Any
        The same structure with plain Python types: floats NaN/+inf/-inf become ``None``,
        NumPy scalars become ``int``/``float``/``bool``/``str``, arrays become (nested) lists,
        tuples become lists and dict keys become strings. Anything else is returned unchanged.
    """
    if isinstance(obj, np.generic):  # first: np.float64 is also a float
        obj = obj.item()
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, bool | int | str) or obj is None:
        return obj
    if isinstance(obj, np.ndarray):
        return [json_safe(v) for v in obj.tolist()] if obj.ndim else json_safe(obj.item())
    if isinstance(obj, dict):
        return {str(k): json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [json_safe(v) for v in obj]
    return obj
