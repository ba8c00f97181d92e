"""Indicator catalog: native TDX-style indicators, TA-Lib functions and financial ratios.

Use `list_indicators` / `get_indicator` to discover specs and `compute` to evaluate one
over a `Panel` or a mapping of ``(T, N)`` field arrays. See ``catalog`` for how missing
bars are handled, ``native`` for the shared formula conventions and ``financial`` for
the field names financial indicators expect.
"""

from quantlab.engine.indicators.catalog import (
    availability,
    compute,
    get_indicator,
    list_indicators,
)
from quantlab.engine.indicators.financial import FIELDS as FINANCIAL_FIELDS
from quantlab.engine.indicators.spec import (
    CATEGORIES,
    SOURCES,
    IndicatorError,
    IndicatorParameterError,
    IndicatorSpec,
    IndicatorUnavailableError,
    ParamSpec,
    UnknownIndicatorError,
)

__all__ = [
    "CATEGORIES",
    "FINANCIAL_FIELDS",
    "SOURCES",
    "IndicatorError",
    "IndicatorParameterError",
    "IndicatorSpec",
    "IndicatorUnavailableError",
    "ParamSpec",
    "UnknownIndicatorError",
    "availability",
    "compute",
    "get_indicator",
    "list_indicators",
]
