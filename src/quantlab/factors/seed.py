"""The seeded catalogs: indicator specs come from the engine registry and the named feature
sets from the expression engine; nothing is stored, so the API and engine never disagree."""

from __future__ import annotations

from functools import cache
from typing import Any

from quantlab.engine import expr
from quantlab.engine import indicators as ind
from quantlab.factors.exceptions import FeatureSetNotFound, IndicatorNotFound


@cache
def indicator_entries() -> dict[str, dict[str, Any]]:
    """Every indicator as JSON, by case-folded name, in catalog order."""
    return {spec.name.casefold(): spec.to_dict() for spec in ind.list_indicators()}


def search_indicators(search: str | None, category: str | None, source: str | None) -> list[str]:
    """Names of indicators matching the search and filters, in catalog order."""
    return [spec.name for spec in ind.list_indicators(search, category, source)]


def indicator_spec(name: str) -> ind.IndicatorSpec:
    """The engine spec called ``name`` (404 ``INDICATOR_NOT_FOUND`` otherwise)."""
    try:
        return ind.get_indicator(name)
    except ind.UnknownIndicatorError:
        raise IndicatorNotFound(f"no indicator named {name!r}", details={"name": name}) from None


def indicator_entry(name: str) -> dict[str, Any]:
    """The JSON spec of one indicator (404 when unknown)."""
    return indicator_entries()[indicator_spec(name).name.casefold()]


def feature_set(name: str) -> list[tuple[str, str]]:
    """``(feature, expression)`` pairs of a named set (404 when unknown)."""
    try:
        return expr.get_feature_set(name)
    except KeyError:
        known = sorted(expr.FEATURE_SETS)
        raise FeatureSetNotFound(
            f"no feature set named {name!r}; known: {', '.join(known)}",
            details={"name": name, "known": known},
        ) from None


def feature_sets() -> list[dict[str, Any]]:
    """Name, size and look-back of every named set."""
    out = []
    for name in expr.FEATURE_SETS:
        items = feature_set(name)
        out.append(
            {
                "name": name,
                "features": len(items),
                "lookback": max(expr.lookback(text) for _, text in items),
            }
        )
    return out
