"""quantlab's Python client: drive a quantlab server from notebooks and scripts.

>>> from quantlab.client import Client
>>> client = Client("http://127.0.0.1:8000", token="qlp_...")
>>> client.list_datasets()

Importable without the server's dependencies (FastAPI, SQLAlchemy, numba); pandas is
imported only when a DataFrame is asked for. See the README section "Python client and CLI".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from quantlab.client.errors import QuantlabAPIError

if TYPE_CHECKING:
    from quantlab.client.aio import AsyncClient, AsyncRun
    from quantlab.client.sync import Client, Run

__all__ = ["AsyncClient", "AsyncRun", "Client", "QuantlabAPIError", "Run"]

_LAZY = {
    "Client": "quantlab.client.sync",
    "Run": "quantlab.client.sync",
    "AsyncClient": "quantlab.client.aio",
    "AsyncRun": "quantlab.client.aio",
}


def __getattr__(name: str) -> Any:
    """Import the clients (and httpx) on first use, so ``quantlab --help`` stays fast."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(name)
