"""Errors of the studies domain (each code is in the catalog)."""

from __future__ import annotations

from quantlab.platform.errors import Conflict, NotFound, ValidationFailed


class StudyNotFound(NotFound):
    code = "STUDY_NOT_FOUND"
    description = "The study does not exist or is not yours."


class StudyNotReady(Conflict):
    code = "STUDY_NOT_READY"
    description = "The study has no result of this kind yet (no trials, or still running)."


class StudyRunning(Conflict):
    code = "STUDY_RUNNING"
    description = "The study's job is still pending, running or paused; cancel it first."


class InvalidStudy(ValidationFailed):
    code = "INVALID_STUDY"
    description = (
        "The study cannot start: an empty, inverted or absurdly large parameter space, an "
        "unknown parameter, metric or method, or constraints no point satisfies; the "
        "message says which. Nothing was run."
    )
