"""A byte-bounded LRU for evaluated expressions, keyed by data version and expression."""

from __future__ import annotations

from collections.abc import Hashable

import numpy as np

from quantlab.engine.lru import ByteLRU


class ExprCache(ByteLRU[np.ndarray]):
    """Least-recently-used map of read-only arrays, evicting past ``max_bytes``.

    Parameters
    ----------
    max_bytes : int
        Upper bound on the summed ``nbytes`` of the stored arrays. An array larger than the
        bound is not stored.
    intermediates : bool
        Keep the windowed and cross-sectional sub-expressions too, not only the requested
        ones: for a batch whose expressions differ in their outer operators only (the
        moving averages of a crossover grid are evaluated once, not once per pair).
    """

    def __init__(self, max_bytes: int = 512 * 2**20, intermediates: bool = False) -> None:
        super().__init__(max_bytes)
        self.intermediates = intermediates

    def put(self, key: Hashable, value: np.ndarray) -> None:
        """Store ``value`` read-only under ``key``, evicting the least recently used first."""
        if value.nbytes <= self.max_bytes:
            value.flags.writeable = False  # shared by every caller of the same expression
        super().put(key, value)
