"""Ratings (1-5 with a comment, one per user) and favourites of readable strategies."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from quantlab.platform import audit
from quantlab.platform.db import paginate, utcnow
from quantlab.platform.envelope import PageParams
from quantlab.platform.ownership import Principal
from quantlab.strategies.models import StrategyFavourite, StrategyRating
from quantlab.strategies.schemas import RatingBody
from quantlab.strategies.service import get_strategy


async def rate(
    session: AsyncSession, user: Principal, strategy_id: str, body: RatingBody, client: str | None
) -> dict[str, Any]:
    """Set the caller's rating (replacing an earlier one); returns the new summary."""
    row = await get_strategy(session, user, strategy_id)
    rating = await session.get(StrategyRating, (user.id, row.id))
    if rating is None:
        rating = StrategyRating(
            user_id=user.id, strategy_id=row.id, stars=body.stars, comment=body.comment
        )
        session.add(rating)
    else:
        rating.stars, rating.comment, rating.updated_at = body.stars, body.comment, utcnow()
    audit.record(
        session,
        "strategy.rate",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        details={"stars": body.stars},
        client_address=client,
    )
    await session.commit()
    return await summary(session, user, row.id)


async def unrate(
    session: AsyncSession, user: Principal, strategy_id: str, client: str | None
) -> dict[str, Any]:
    """Remove the caller's rating."""
    row = await get_strategy(session, user, strategy_id)
    await session.execute(
        delete(StrategyRating).where(
            StrategyRating.user_id == user.id, StrategyRating.strategy_id == row.id
        )
    )
    audit.record(
        session,
        "strategy.unrate",
        actor_id=user.id,
        resource_type="strategy",
        resource_id=row.id,
        client_address=client,
    )
    await session.commit()
    return await summary(session, user, row.id)


async def summary(session: AsyncSession, user: Principal, strategy_id: str) -> dict[str, Any]:
    """Average, count and the caller's own stars."""
    avg, count = (
        await session.execute(
            select(func.avg(StrategyRating.stars), func.count()).where(
                StrategyRating.strategy_id == strategy_id
            )
        )
    ).one()
    mine = await session.get(StrategyRating, (user.id, strategy_id))
    return {
        "average": None if avg is None else round(float(avg), 2),
        "count": int(count),
        "mine": None if mine is None else mine.stars,
    }


async def list_ratings(
    session: AsyncSession, user: Principal, strategy_id: str, params: PageParams
) -> tuple[list[dict[str, Any]], int]:
    """A page of a strategy's ratings with comments, newest first."""
    row = await get_strategy(session, user, strategy_id)
    stmt = select(StrategyRating).where(StrategyRating.strategy_id == row.id)
    rows, total = await paginate(
        session, stmt, params, StrategyRating.updated_at.desc(), StrategyRating.user_id
    )
    return [
        {"user_id": r.user_id, "stars": r.stars, "comment": r.comment, "updated_at": r.updated_at}
        for r in rows
    ], total


async def set_favourite(
    session: AsyncSession, user: Principal, strategy_id: str, on: bool
) -> dict[str, Any]:
    """Bookmark (or un-bookmark) a readable strategy or template; idempotent."""
    row = await get_strategy(session, user, strategy_id)
    existing = await session.get(StrategyFavourite, (user.id, row.id))
    if on and existing is None:
        session.add(StrategyFavourite(user_id=user.id, strategy_id=row.id))
    elif not on and existing is not None:
        await session.delete(existing)
    await session.commit()
    return {"id": row.id, "favourite": on}
