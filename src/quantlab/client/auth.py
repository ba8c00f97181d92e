"""Bearer authentication for the sync and async clients (one ``httpx.Auth`` flow serves both).

A personal access token is sent as it is. A username and password sign in on first use, the
access token is renewed shortly before it expires and after any 401 (through the refresh
token, or by signing in again when the refresh token is spent), and the request is replayed.
"""

from __future__ import annotations

import time
from collections.abc import Generator
from typing import Any

import httpx

from quantlab.client import endpoints

RENEW_BEFORE_S = 30.0  # renew an access token this long before it expires


class BearerAuth(httpx.Auth):
    """Adds ``Authorization: Bearer ...``; signs in and refreshes for password credentials."""

    requires_response_body = True

    def __init__(
        self,
        base_url: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
    ) -> None:
        self._base = base_url.rstrip("/")
        self._static = token
        self._username = username
        self._password = password
        self._access: str | None = None
        self._refresh: str | None = None
        self._expires_at = 0.0

    @property
    def can_renew(self) -> bool:
        """Whether a rejected token can be replaced (password credentials only)."""
        return self._username is not None and self._password is not None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Authenticate ``request``, renewing once on 401 when that is possible."""
        if not self.can_renew:
            if self._static:
                request.headers["Authorization"] = f"Bearer {self._static}"
            yield request
            return
        if self._access is None or time.monotonic() >= self._expires_at - RENEW_BEFORE_S:
            if not (yield from self._renew()):
                return  # the caller gets the refused sign-in (a 429 is retried there)
        request.headers["Authorization"] = f"Bearer {self._access}"
        response = yield request
        if response.status_code == 401:
            self._access = None
            if not (yield from self._renew()):
                return
            request.headers["Authorization"] = f"Bearer {self._access}"
            yield request

    def _renew(self) -> Generator[httpx.Request, httpx.Response, bool]:
        """Get a new access token; False (after yielding the refused answer) when refused."""
        if self._refresh is not None:
            response = yield httpx.Request(
                endpoints.REFRESH.method,
                self._base + endpoints.REFRESH.path,
                json={"refresh_token": self._refresh},
            )
            self._refresh = None
            if response.status_code == 200:
                self._accept(response.json())
                return True
        response = yield httpx.Request(
            endpoints.SIGN_IN.method,
            self._base + endpoints.SIGN_IN.path,
            data={"username": self._username or "", "password": self._password or ""},
        )
        if response.status_code != 200:
            return False
        self._accept(response.json())
        return True

    def _accept(self, body: dict[str, Any]) -> None:
        data: dict[str, Any] = body["data"] if isinstance(body.get("data"), dict) else body
        self._access = str(data["access_token"])
        self._refresh = data.get("refresh_token")
        self._expires_at = time.monotonic() + float(data.get("expires_in") or 900)
