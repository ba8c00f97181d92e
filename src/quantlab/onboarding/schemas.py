"""Bodies of the onboarding routes (this API is fixed: clients already use it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, field_validator

from quantlab.onboarding.content import guide_ids

Mode = Literal["beginner", "expert"]
Language = Literal["zh-CN", "en-US"]
Theme = Literal["light", "dark"]
CandleColors = Literal["auto", "red_up", "green_up"]


def _lower_mode(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


class ModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Mode = Field(description="beginner or expert (any case)")

    _lower = field_validator("mode", mode="before")(lambda cls, v: _lower_mode(v))


class ModeOut(BaseModel):
    mode: Mode
    updated_at: datetime


class PreferencesOut(BaseModel):
    mode: Mode
    language: Language
    show_tooltips: bool
    theme: Theme
    candle_colors: CandleColors = Field(
        "auto", description="auto: red up/green down on CN markets, green up elsewhere"
    )
    completed_guides: list[str]
    created_at: datetime
    updated_at: datetime


class PreferencesPatch(BaseModel):
    """A partial update: only the fields sent change; ``null`` is not a value."""

    model_config = ConfigDict(extra="forbid")
    mode: Mode = Field(None, description="beginner or expert (any case)")  # type: ignore[assignment, arg-type]
    language: Language = None  # type: ignore[assignment, arg-type]
    show_tooltips: StrictBool = None  # type: ignore[assignment, arg-type]
    theme: Theme = None  # type: ignore[assignment, arg-type]
    candle_colors: CandleColors = None  # type: ignore[assignment, arg-type]
    completed_guides: list[str] = Field(  # type: ignore[assignment]
        None,  # type: ignore[arg-type]
        max_length=50,
        json_schema_extra=lambda s: s.update(items={"enum": sorted(guide_ids())}),  # type: ignore[dict-item]
    )

    _lower = field_validator("mode", mode="before")(lambda cls, v: _lower_mode(v))

    @field_validator("completed_guides")
    @classmethod
    def _known_guides(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - guide_ids())
        if unknown:
            raise ValueError(f"unknown guide ids: {', '.join(unknown)}")
        return sorted(set(value), key=value.index)

    def changes(self) -> dict[str, Any]:
        """The fields the client actually sent."""
        return {k: getattr(self, k) for k in self.model_fields_set}


class GuideOut(BaseModel):
    id: str
    order: int
    title: str
    description: str
    action: dict[str, str]
    completed: bool


class GuidesOut(BaseModel):
    guides: list[GuideOut]
    completed: int
    total: int
    next_guide: str | None


class FaqItem(BaseModel):
    id: str
    question: str
    answer: str


class FaqOut(BaseModel):
    language: Language
    items: list[FaqItem]
