"""One preferences row per user, created with defaults on first read."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from quantlab.platform.db import Base, TimestampMixin


class UserPreferences(TimestampMixin, Base):
    """A user's interface mode and preferences."""

    __tablename__ = "user_preferences"

    user_id: Mapped[str] = mapped_column(
        String(32), ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    mode: Mapped[str] = mapped_column(String(16), default="beginner")
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    show_tooltips: Mapped[bool] = mapped_column(Boolean, default=True)
    theme: Mapped[str] = mapped_column(String(8), default="light")
    completed_guides: Mapped[list[str]] = mapped_column(JSON, default=list)
    # candle colours: "auto" follows the market (red up on CN A-shares), or fixed
    candle_colors: Mapped[str] = mapped_column(String(10), default="auto", server_default="auto")
