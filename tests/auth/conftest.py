"""Fixtures of the auth tests."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import client_from


@pytest.fixture
async def fresh_client(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client from an address of its own, so per-address limits start from zero."""
    address = "10.{}.{}.{}".format(*(random.randint(1, 254) for _ in range(3)))
    async with client_from(app, address) as c:
        yield c
