"""Errors of the datasets domain (each code is in the catalog)."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, NotFound, QuantlabError, ValidationFailed


class DatasetNotFound(NotFound):
    code = "DATASET_NOT_FOUND"
    description = "The dataset does not exist or is not visible to you."


class VersionNotFound(NotFound):
    code = "DATASET_VERSION_NOT_FOUND"
    description = "The dataset has no such version."


class DatasetNameTaken(Conflict):
    code = "DATASET_NAME_TAKEN"
    description = "You already have a dataset with this name."


class DatasetNotReady(Conflict):
    code = "DATASET_NOT_READY"
    description = "The dataset has no stored version yet (import still running or failed)."


class ImportNotFound(NotFound):
    code = "IMPORT_NOT_FOUND"
    description = "The import does not exist or is not yours."


class ImportRejected(ValidationFailed):
    code = "IMPORT_REJECTED"
    description = "The uploaded files cannot be imported as sent; the message says why."


class TooManyFiles(ValidationFailed):
    code = "TOO_MANY_FILES"
    description = (
        "An import batch takes at most QUANTLAB_IMPORT_MAX_FILES files (a zip counts as one)."
    )


class UnknownSymbols(ValidationFailed):
    code = "UNKNOWN_SYMBOLS"
    description = "Some requested symbols are not in the dataset version."


class TemplateNotFound(NotFound):
    code = "TEMPLATE_NOT_FOUND"
    description = "The preprocessing template does not exist or is not yours."


class TemplateLimitReached(Conflict):
    code = "TEMPLATE_LIMIT_REACHED"
    description = "You have the maximum number of preprocessing templates (20)."


class ChartItemNotFound(NotFound):
    code = "CHART_ITEM_NOT_FOUND"
    description = "The chart configuration or annotation does not exist or is not yours."


class DataFileError(QuantlabError):
    code = "DATA_FILE_ERROR"
    status = 422
    description = "A stored or uploaded data file could not be read."


class UniverseNotFound(NotFound):
    code = "UNIVERSE_NOT_FOUND"
    description = "The dataset has no universe of that name."


class UniverseRejected(ValidationFailed):
    code = "UNIVERSE_REJECTED"
    description = "The membership file cannot be read as symbol, start and end dates."
