"""Errors of the models domain (each code is in the catalog)."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, NotFound, ValidationFailed


class ModelRunNotFound(NotFound):
    code = "MODEL_RUN_NOT_FOUND"
    description = "The model run does not exist or is not yours."


class ModelRunNotReady(Conflict):
    code = "MODEL_RUN_NOT_READY"
    description = "The model run has no stored results yet (it is pending, running or failed)."


class ModelRunRunning(Conflict):
    code = "MODEL_RUN_RUNNING"
    description = "The model run's job is still pending or running; cancel it first."


class InvalidModelConfig(ValidationFailed):
    code = "INVALID_MODEL_CONFIG"
    description = (
        "The model run cannot start: segments overlap or lie outside the data, the label "
        "does not read the future, a feature reads it, too few rows, or an unknown model, "
        "processor or hyper-parameter; the message says which."
    )


class ModelRunInUse(Conflict):
    code = "MODEL_RUN_IN_USE"
    description = "Factors hold this run's predictions; delete them first."
