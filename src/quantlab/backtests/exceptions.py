"""Errors of the backtests domain (each code is in the catalog)."""

from __future__ import annotations

from typing import Any

from quantlab.engine.expr import ExprError
from quantlab.platform.errors import Conflict, NotFound, ValidationFailed


class BacktestNotFound(NotFound):
    code = "BACKTEST_NOT_FOUND"
    description = "The backtest does not exist or is not yours."


class BacktestNotReady(Conflict):
    code = "BACKTEST_NOT_READY"
    description = "The backtest has no stored results yet (it is pending, running or failed)."


class BacktestRunning(Conflict):
    code = "BACKTEST_RUNNING"
    description = "The backtest's job is still pending, running or paused; cancel it first."


class InvalidStrategyExpression(ValidationFailed):
    code = "INVALID_STRATEGY_EXPRESSION"
    description = (
        "A strategy expression is invalid; details give the spec field, the kind (syntax, "
        "unknown_field, unknown_operator, arity, bad_window, lookahead) and the 0-based position."
    )

    @classmethod
    def from_expr(cls, err: ExprError, field: str, text: str) -> InvalidStrategyExpression:
        """The API error for an engine ``ExprError`` in spec field ``field``."""
        details: dict[str, Any] = {
            "field": field,
            "kind": err.kind,
            "message": err.message,
            "position": err.position,
            "expression": text,
        }
        return cls(f"{field}: invalid expression ({err.kind}): {err.message}", details=details)


class InvalidStrategyCode(ValidationFailed):
    code = "INVALID_STRATEGY_CODE"
    description = "The strategy code does not compile; details give the line and column."


class DatesOutsideData(ValidationFailed):
    code = "BACKTEST_DATES_OUTSIDE_DATA"
    description = "The start/end dates are reversed or fall outside the dataset version's range."


class UnknownBacktestSymbols(ValidationFailed):
    code = "BACKTEST_UNKNOWN_SYMBOLS"
    description = "Universe or benchmark symbols are not in the dataset version; details list them."


class MissingPriceFields(ValidationFailed):
    code = "BACKTEST_MISSING_FIELDS"
    description = "The dataset lacks a price field the configuration needs (close, open, vwap)."


class InvalidBacktestConfig(ValidationFailed):
    code = "BACKTEST_INVALID_CONFIG"
    description = "The engine configuration is inconsistent; the message says which part."
