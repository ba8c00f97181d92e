"""Sign-in sessions: password login, refresh-token rotation with reuse detection, logout
and password change. A session is one family of refresh tokens; access JWTs name it in
``sid`` so revoking the session ends its access tokens too."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.auth.exceptions import InvalidCredentials, WeakPassword
from quantlab.auth.models import AuthSession, RefreshToken, User
from quantlab.auth.passwords import MAX_LENGTH, check_policy
from quantlab.auth.principal import session_key, user_key
from quantlab.auth.service import find_by_login, hasher_for, revoke_all_sessions
from quantlab.auth.throttle import LoginThrottle
from quantlab.auth.tokens import REFRESH_PREFIX, TokenCodec, digest, invalid, new_opaque
from quantlab.platform import audit
from quantlab.platform.cache import Cache
from quantlab.platform.db import utcnow


@dataclass(frozen=True, slots=True)
class TokenPair:
    """What a successful sign-in or refresh returns."""

    access_token: str
    refresh_token: str
    expires_in: int
    refresh_expires_at: datetime
    password_change_required: bool

    def as_response(self) -> dict[str, Any]:
        """The OAuth2 token response (RFC 6749 §5.1) plus quantlab's extras."""
        return {
            "access_token": self.access_token,
            "token_type": "bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "refresh_expires_at": self.refresh_expires_at,
            "password_change_required": self.password_change_required,
        }


def _add_refresh(session: AsyncSession, session_id: str, expires_at: datetime) -> str:
    token = new_opaque(REFRESH_PREFIX)
    session.add(
        RefreshToken(session_id=session_id, token_hash=digest(token), expires_at=expires_at)
    )
    return token


async def _open_session(
    session: AsyncSession, codec: TokenCodec, user: User, client_address: str | None
) -> TokenPair:
    expires = utcnow() + timedelta(days=codec.settings.refresh_token_days)
    sess = AuthSession(user_id=user.id, expires_at=expires, client_address=client_address)
    session.add(sess)
    await session.flush()
    refresh = _add_refresh(session, sess.id, expires)
    access, _ = codec.issue(user.id, sess.id, user.session_version)
    return TokenPair(
        access,
        refresh,
        codec.settings.access_token_minutes * 60,
        expires,
        user.must_change_password,
    )


async def issue_for(
    session: AsyncSession, codec: TokenCodec, user: User, client_address: str | None = None
) -> TokenPair:
    """Open a session for ``user`` without a password (CLI tools and test fixtures)."""
    pair = await _open_session(session, codec, user, client_address)
    await session.commit()
    return pair


async def login(
    session: AsyncSession,
    codec: TokenCodec,
    throttle: LoginThrottle,
    *,
    username: str,
    password: str,
    client_address: str,
) -> TokenPair:
    """Check the password (same error and cost for unknown accounts) and open a session."""
    await throttle.check(username, client_address)
    user = await find_by_login(session, username) if len(username) <= 254 else None
    hasher = hasher_for(codec.settings)
    # Over-long input never matches (the policy caps passwords); it still costs a hash.
    candidate = password if len(password) <= MAX_LENGTH else ""
    ok = await hasher.verify(user.password_hash if user else None, candidate) and bool(candidate)
    if user is None or not ok or not user.is_active:
        await throttle.failed(username, client_address)
        audit.record(
            session,
            "auth.login.failed",
            actor_id=user.id if user else None,
            resource_type="user",
            resource_id=user.id if user else None,
            # An unknown "username" is often a mistyped password: it is not recorded.
            details={"known_account": user is not None},
            client_address=client_address,
        )
        await session.commit()
        raise InvalidCredentials("incorrect username or password")
    await throttle.succeeded(username)
    if hasher.needs_rehash(user.password_hash):
        user.password_hash = await hasher.hash(password)
    user.last_login_at = utcnow()
    pair = await _open_session(session, codec, user, client_address)
    audit.record(
        session,
        "auth.login",
        actor_id=user.id,
        resource_type="user",
        resource_id=user.id,
        client_address=client_address,
    )
    await session.commit()
    return pair


async def _revoke_session(session: AsyncSession, session_id: str, reason: str) -> int:
    result = await session.execute(
        update(AuthSession)
        .where(AuthSession.id == session_id, AuthSession.revoked_at.is_(None))
        .values(revoked_at=utcnow(), revoke_reason=reason)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def refresh(
    session: AsyncSession, codec: TokenCodec, cache: Cache, *, token: str, client_address: str
) -> TokenPair:
    """Rotate ``token``: a fresh pair in the same session; a reused token ends the session."""
    row = (
        await session.execute(select(RefreshToken).where(RefreshToken.token_hash == digest(token)))
    ).scalar_one_or_none()
    if row is None:
        raise invalid("refresh token is invalid")
    sess = await session.get(AuthSession, row.session_id)
    assert sess is not None  # FK
    now = utcnow()
    # Claim the token atomically: of two concurrent uses only one updates the row.
    claimed = await session.execute(
        update(RefreshToken)
        .where(RefreshToken.id == row.id, RefreshToken.used_at.is_(None))
        .values(used_at=now)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        await _revoke_session(session, sess.id, "refresh_reuse")
        audit.record(
            session,
            "auth.refresh.reuse",
            actor_id=sess.user_id,
            resource_type="session",
            resource_id=sess.id,
            details={"detail": "an already-used refresh token was presented"},
            client_address=client_address,
        )
        await session.commit()
        await cache.invalidate(session_key(sess.id))
        raise invalid("refresh token was already used; the session has been revoked")
    user = await session.get(User, sess.user_id)
    if sess.revoked_at is not None or row.expires_at <= now or user is None or not user.is_active:
        await session.rollback()
        raise invalid("refresh token is expired or revoked")
    new_refresh = _add_refresh(session, sess.id, sess.expires_at)
    access, _ = codec.issue(user.id, sess.id, user.session_version)
    await session.commit()
    return TokenPair(
        access,
        new_refresh,
        codec.settings.access_token_minutes * 60,
        sess.expires_at,
        user.must_change_password,
    )


async def logout(
    session: AsyncSession,
    cache: Cache,
    *,
    user_id: str,
    session_id: str | None,
    refresh_token: str | None,
    everywhere: bool,
    client_address: str | None,
) -> int:
    """End the caller's session (and the one ``refresh_token`` belongs to, if theirs), or
    every session with ``everywhere``. Returns how many open sessions this ended."""
    ids: set[str] = {session_id} if session_id else set()
    if refresh_token:
        row = (
            await session.execute(
                select(RefreshToken).where(RefreshToken.token_hash == digest(refresh_token))
            )
        ).scalar_one_or_none()
        sess = await session.get(AuthSession, row.session_id) if row else None
        if sess is not None and sess.user_id == user_id:
            ids.add(sess.id)
    user = await session.get(User, user_id)
    ended = 0
    if everywhere and user is not None:
        ended += await revoke_all_sessions(session, user, "logout_all")
    for sid in ids:
        ended += await _revoke_session(session, sid, "logout")
    audit.record(
        session,
        "auth.logout",
        actor_id=user_id,
        resource_type="session",
        resource_id=session_id,
        details={"everywhere": everywhere, "sessions": ended},
        client_address=client_address,
    )
    await session.commit()
    await cache.invalidate(user_key(user_id), *(session_key(s) for s in ids))
    return ended


async def change_password(
    session: AsyncSession,
    codec: TokenCodec,
    cache: Cache,
    *,
    user_id: str,
    current_password: str,
    new_password: str,
    client_address: str | None,
) -> TokenPair:
    """Change the password after re-checking the current one; every session ends and a new
    one is opened for the caller."""
    user = await session.get(User, user_id)
    hasher = hasher_for(codec.settings)
    if user is None or not await hasher.verify(user.password_hash, current_password):
        raise InvalidCredentials("current password is incorrect")
    check_policy(new_password, username=user.username, email=user.email)
    if await hasher.verify(user.password_hash, new_password):
        raise WeakPassword("the new password must differ from the current one")
    user.password_hash = await hasher.hash(new_password)
    user.password_changed_at = utcnow()
    user.must_change_password = False
    await revoke_all_sessions(session, user, "password_change")
    audit.record(
        session,
        "user.password.change",
        actor_id=user.id,
        resource_type="user",
        resource_id=user.id,
        client_address=client_address,
    )
    pair = await _open_session(session, codec, user, client_address)
    await session.commit()
    await cache.invalidate(user_key(user.id))
    return pair
