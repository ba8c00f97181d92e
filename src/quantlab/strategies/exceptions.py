"""Errors of the strategy library (each code is in the catalog)."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed


class StrategyNotFound(NotFound):
    code = "STRATEGY_NOT_FOUND"
    description = "The strategy or template does not exist or is not visible to you."


class StrategyVersionNotFound(NotFound):
    code = "STRATEGY_VERSION_NOT_FOUND"
    description = "The strategy has no such version (only the last 20 are kept)."


class StrategyReadOnly(Forbidden):
    code = "STRATEGY_READ_ONLY"
    description = "Templates and other users' public strategies are read-only; copy one first."


class StrategyNameTaken(Conflict):
    code = "STRATEGY_NAME_TAKEN"
    description = "You already have a strategy with this name."


class InvalidStrategy(ValidationFailed):
    code = "INVALID_STRATEGY"
    description = (
        "The strategy cannot mean what it says: details.problems lists each problem with its "
        "field path, a message and a suggested fix."
    )


class InvalidParameters(ValidationFailed):
    code = "INVALID_STRATEGY_PARAMETERS"
    description = (
        "Parameter values break the strategy's schema (unknown name, type, range, step or a "
        "linked constraint such as fast < slow); details.problems gives each with a fix."
    )


class ExampleUnavailable(ValidationFailed):
    code = "STRATEGY_EXAMPLE_UNAVAILABLE"
    description = "The template cannot run on this dataset (details say which fields it lacks)."
