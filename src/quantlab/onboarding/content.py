"""Bilingual guide and FAQ content shipped as package data."""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

LANGUAGES = ("zh-CN", "en-US")
DEFAULT_LANGUAGE = "zh-CN"


def _load(name: str) -> Any:
    return json.loads((files("quantlab.onboarding") / "content" / name).read_text("utf-8"))


@cache
def guides() -> tuple[dict[str, Any], ...]:
    """The quick-start guides in order (titles and descriptions in every language)."""
    return tuple(sorted(_load("guides.json"), key=lambda g: g["order"]))


@cache
def guide_ids() -> frozenset[str]:
    """Every known guide id."""
    return frozenset(g["id"] for g in guides())


@cache
def faq() -> dict[str, list[dict[str, str]]]:
    """The FAQ per language."""
    data: dict[str, list[dict[str, str]]] = _load("faq.json")
    return data
