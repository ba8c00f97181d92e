"""Process-level tuning applied once start-up is complete."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any


@asynccontextmanager
async def freeze_startup_objects(app: Any) -> AsyncIterator[None]:
    """Start-up hook (run last): move every object alive after start-up (modules, numeric
    libraries, routes) out of the garbage collector's reach.

    Otherwise each full collection walks those hundreds of thousands of long-lived objects
    and stalls the event loop for 100+ ms every few seconds under load; that was the
    API's p99 latency.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
