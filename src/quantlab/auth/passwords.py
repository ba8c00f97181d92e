"""Password hashing (Argon2id) and the password policy.

Policy (OWASP ASVS V2.1): at least 10 characters, at most 256 (hashing cost is bounded),
any characters allowed, no composition rules, refused when it is a well-known breached
password or the account's own name. Hashing runs in a thread so the event loop never
stalls on it.
"""

from __future__ import annotations

import asyncio
import secrets
import string
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from quantlab.auth.exceptions import WeakPassword

MIN_LENGTH = 10
MAX_LENGTH = 256


@cache
def common_passwords() -> frozenset[str]:
    """The shipped breached-password list, lower-cased."""
    text = (files("quantlab.auth") / "data" / "common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and line[0] != "#"
    )


def check_policy(password: str, *, username: str = "", email: str | None = None) -> None:
    """Raise :class:`WeakPassword` with the reason when ``password`` breaks the policy."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"password must have at least {MIN_LENGTH} characters")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"password must have at most {MAX_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(password)) < 3:
        raise WeakPassword("password is too common; choose a longer, less predictable one")
    names = {username.lower(), (email or "").lower(), (email or "").split("@")[0].lower()}
    if lowered in names - {""}:
        raise WeakPassword("password must not be the account name or email")


class Hasher:
    """Argon2id with the configured costs; verifies in constant time (argon2 does)."""

    def __init__(self, time_cost: int = 2, memory_kib: int = 19456, parallelism: int = 1) -> None:
        self._ph = PasswordHasher(
            time_cost=time_cost, memory_cost=memory_kib, parallelism=parallelism
        )
        # Unknown users are checked against this so both paths cost the same time.
        self._dummy = self._ph.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        """An Argon2id hash string of ``password``."""
        return await asyncio.to_thread(self._ph.hash, password)

    async def verify(self, stored_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; an absent hash still costs one verification."""
        return await asyncio.to_thread(self._verify, stored_hash or self._dummy, password)

    def _verify(self, stored_hash: str, password: str) -> bool:
        try:
            return bool(self._ph.verify(stored_hash, password)) and stored_hash != self._dummy
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, stored_hash: str) -> bool:
        """True when the stored hash uses weaker parameters than configured now."""
        try:
            return self._ph.check_needs_rehash(stored_hash)
        except InvalidHashError:
            return True


def generate_password(length: int = 20) -> str:
    """A random password for bootstrap admins and one-time resets."""
    alphabet = string.ascii_letters + string.digits
    while True:
        value = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isdigit() for c in value) and any(c.isalpha() for c in value):
            return value
