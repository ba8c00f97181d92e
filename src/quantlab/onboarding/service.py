"""Mode, preferences and guide progress of the signed-in user.

Reads are cached (``onboarding:prefs:<user id>``); every write is audited with the old and
new values (and, through the audit module, the correlation id) in the same transaction, and
invalidates the cached row after the commit.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from quantlab.onboarding import content
from quantlab.onboarding.exceptions import GuideNotFound
from quantlab.onboarding.models import UserPreferences
from quantlab.platform import audit
from quantlab.platform.cache import Cache

FIELDS = ("mode", "language", "show_tooltips", "theme", "candle_colors", "completed_guides")


def prefs_key(user_id: str) -> str:
    """Cache key of a user's preferences."""
    return f"onboarding:prefs:{user_id}"


def as_dict(row: UserPreferences) -> dict[str, Any]:
    """The client-facing preferences."""
    return {
        "mode": row.mode,
        "language": row.language,
        "show_tooltips": row.show_tooltips,
        "theme": row.theme,
        "candle_colors": row.candle_colors or "auto",
        "completed_guides": list(row.completed_guides or []),
        "created_at": _iso(row.created_at),
        "updated_at": _iso(row.updated_at),
    }


def _iso(value: datetime) -> str:
    # The same text pydantic writes for an aware UTC datetime, so cached reads served
    # as-is look exactly like validated responses.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _row(session: AsyncSession, user_id: str) -> UserPreferences:
    """The user's row, created with the defaults when missing (race-safe)."""
    row = await session.get(UserPreferences, user_id)
    if row is not None:
        return row
    # Called first in its transaction, so a full rollback loses nothing of the caller's.
    row = UserPreferences(user_id=user_id, completed_guides=[])
    session.add(row)
    try:
        await session.commit()
    except IntegrityError:  # a concurrent first read created it
        await session.rollback()
        row = await session.get(UserPreferences, user_id)  # type: ignore[assignment]
        assert row is not None
    return row


async def get_preferences(
    sessionmaker: async_sessionmaker[AsyncSession], cache: Cache, user_id: str
) -> dict[str, Any]:
    """The user's preferences (defaults written on first read). A cache hit touches no
    database connection: this is the hottest read of the API."""

    async def load() -> dict[str, Any]:
        async with sessionmaker() as session:
            row = await _row(session, user_id)
            return as_dict(row)

    result: dict[str, Any] = await cache.get_or_load(prefs_key(user_id), load)
    return result


async def update_preferences(
    session: AsyncSession,
    cache: Cache,
    user_id: str,
    changes: dict[str, Any],
    *,
    action: str = "user.preferences.update",
    client_address: str | None = None,
) -> dict[str, Any]:
    """Apply a partial update; audits the fields that really changed."""
    row = await _row(session, user_id)
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    for key in FIELDS:
        if key in changes and changes[key] != getattr(row, key):
            old[key] = getattr(row, key)
            new[key] = changes[key]
            setattr(row, key, changes[key])
    if new:
        audit.record(
            session,
            action,
            actor_id=user_id,
            resource_type="user_preferences",
            resource_id=user_id,
            details={"old": old, "new": new},
            client_address=client_address,
        )
    await session.commit()
    if new:
        await cache.invalidate(prefs_key(user_id))
    return as_dict(row)


async def complete_guide(
    session: AsyncSession,
    cache: Cache,
    user_id: str,
    guide_id: str,
    client_address: str | None = None,
) -> dict[str, Any]:
    """Mark a guide done (idempotent); 404 for an unknown guide."""
    if guide_id not in content.guide_ids():
        raise GuideNotFound(f"guide {guide_id!r} does not exist")
    row = await _row(session, user_id)
    done = list(row.completed_guides or [])
    if guide_id not in done:
        done.append(guide_id)
    return await update_preferences(
        session,
        cache,
        user_id,
        {"completed_guides": done},
        action="user.guide.complete",
        client_address=client_address,
    )


def guides_view(prefs: dict[str, Any]) -> dict[str, Any]:
    """The quick-start guides in the user's language with their progress."""
    lang = prefs["language"]
    done = set(prefs["completed_guides"])
    items = [
        {
            "id": g["id"],
            "order": g["order"],
            "title": g["title"].get(lang) or g["title"][content.DEFAULT_LANGUAGE],
            "description": g["description"].get(lang) or g["description"][content.DEFAULT_LANGUAGE],
            "action": g["action"],
            "completed": g["id"] in done,
        }
        for g in content.guides()
    ]
    pending = [g["id"] for g in items if not g["completed"]]
    return {
        "guides": items,
        "completed": len(items) - len(pending),
        "total": len(items),
        "next_guide": pending[0] if pending else None,
    }


def faq_view(language: str) -> dict[str, Any]:
    """The FAQ in ``language``."""
    return {"language": language, "items": content.faq()[language]}
