"""Sign-in brute-force protection: growing delays per account and per client address.

Failures are counted in the rate-limit storage (memory, or Redis shared by every worker)
for ``WINDOW_S``. Past the free attempts, each further failure locks the key for a delay
that doubles (1 s, 2 s, 4 s, ... up to ``login_max_delay_seconds``). A locked key refuses
even the right password, so guessing cannot continue; unknown usernames are counted the
same way as real ones, so the throttle reveals nothing about which accounts exist.
"""

from __future__ import annotations

import math
import time

from limits.aio.storage import Storage

from quantlab.auth.exceptions import LoginThrottled
from quantlab.platform.settings import Settings

WINDOW_S = 3600


class LoginThrottle:
    """Counts failed sign-ins and imposes the delays."""

    def __init__(self, storage: Storage, settings: Settings) -> None:
        self.storage = storage
        self.settings = settings

    def _keys(self, username: str, address: str) -> list[tuple[str, int]]:
        return [
            (f"login:acct:{username.strip().lower()}", self.settings.login_free_attempts_account),
            (f"login:addr:{address}", self.settings.login_free_attempts_address),
        ]

    async def check(self, username: str, address: str) -> None:
        """Raise :class:`LoginThrottled` while the account or the address is locked."""
        wait = 0.0
        for key, _ in self._keys(username, address):
            if await self.storage.get(key + ":lock"):
                wait = max(wait, await self.storage.get_expiry(key + ":lock") - time.time())
        if wait > 0:
            seconds = max(1, math.ceil(wait))
            raise LoginThrottled(
                f"too many failed sign-ins; retry in {seconds} s",
                details={"retry_after": seconds},
                headers={"Retry-After": str(seconds)},
            )

    async def failed(self, username: str, address: str) -> None:
        """Record a failure and lock the keys that are past their free attempts."""
        for key, free in self._keys(username, address):
            count = await self.storage.incr(key, WINDOW_S)
            if count > free:
                delay = min(2 ** (count - free - 1), self.settings.login_max_delay_seconds)
                await self.storage.clear(key + ":lock")
                await self.storage.incr(key + ":lock", delay)

    async def succeeded(self, username: str) -> None:
        """A correct sign-in resets the account's count (the address keeps its own)."""
        key = self._keys(username, "")[0][0]
        await self.storage.clear(key)
