"""Errors of the factors domain (each code is in the catalog)."""

from __future__ import annotations

from typing import Any

from quantlab.engine.expr import ExprError
from quantlab.platform.errors import Conflict, NotFound, ValidationFailed


class FactorNotFound(NotFound):
    code = "FACTOR_NOT_FOUND"
    description = "The factor does not exist or is not visible to you."


class FactorNameTaken(Conflict):
    code = "FACTOR_NAME_TAKEN"
    description = "You already have a factor with this name."


class FactorInUse(Conflict):
    code = "FACTOR_IN_USE"
    description = "Other factors of yours reference this one by name; change them first."


class InvalidExpression(ValidationFailed):
    code = "INVALID_EXPRESSION"
    description = (
        "The factor expression is invalid; details give the kind (syntax, unknown_field, "
        "unknown_operator, arity, bad_window, lookahead) and the 0-based position."
    )

    @classmethod
    def from_expr(cls, err: ExprError, text: str, position: int | None = None) -> InvalidExpression:
        """The API error for an engine ``ExprError`` (``position`` overrides the engine's)."""
        pos = err.position if position is None else position
        details: dict[str, Any] = {
            "kind": err.kind,
            "message": err.message,
            "position": pos,
            "expression": text,
        }
        return cls(f"invalid expression ({err.kind}): {err.message}", details=details)


class InvalidFactorCode(ValidationFailed):
    code = "INVALID_FACTOR_CODE"
    description = "The Python factor does not compile; details give the line and column."


class FactorDependencyError(ValidationFailed):
    code = "FACTOR_DEPENDENCY_ERROR"
    description = (
        "A $$name reference names no expression factor of yours, or the references form a cycle."
    )


class FeatureSetNotFound(NotFound):
    code = "FEATURE_SET_NOT_FOUND"
    description = "No named feature set of that name (Alpha158, Alpha360)."


class IndicatorNotFound(NotFound):
    code = "INDICATOR_NOT_FOUND"
    description = "No indicator of that name is in the catalog."


class IndicatorParamInvalid(ValidationFailed):
    code = "INDICATOR_PARAM_INVALID"
    description = "An indicator parameter is unknown, of the wrong type or out of its range."


class IndicatorUnavailable(ValidationFailed):
    code = "INDICATOR_UNAVAILABLE"
    description = "The dataset lacks fields the indicator needs; details name them."


class EvaluationNotFound(NotFound):
    code = "EVALUATION_NOT_FOUND"
    description = "The factor evaluation does not exist or is not yours."


class ComputeNotSupported(ValidationFailed):
    code = "COMPUTE_NOT_SUPPORTED"
    description = "Python factors run only as evaluation jobs, not in a synchronous compute."


class PriceFieldMissing(ValidationFailed):
    code = "PRICE_FIELD_MISSING"
    description = "Evaluating a factor needs a 'close' field in the dataset for forward returns."


class NothingToEvaluate(ValidationFailed):
    code = "NOTHING_TO_EVALUATE"
    description = "No feature of the set can be computed from the dataset's fields."


class ModelFactorUnavailable(ValidationFailed):
    code = "MODEL_FACTOR_UNAVAILABLE"
    description = (
        "A model factor holds one run's predictions: it is evaluated on that run's dataset "
        "only, cannot be copied by others, and needs its run to exist."
    )
